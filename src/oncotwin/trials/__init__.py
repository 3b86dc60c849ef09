"""Virtual trials: response assessment (RECIST 1.1, iRECIST, Lugano, IMWG, marrow) and endpoints.

Outputs are research simulations, not medical advice.
"""

from oncotwin.trials.endpoints import (
    KMSummary,
    Rate,
    clopper_pearson,
    compare_arms,
    km,
    response_rates,
    safety_rates,
    subgroup_analysis,
    summarise,
)
from oncotwin.trials.recist import (
    ORGANS,
    RESPONSE_CODES,
    RecistResult,
    assess_imwg,
    assess_lugano,
    assess_marrow,
    assess_recist,
    select_target_lesions,
)

__all__ = [
    "ORGANS",
    "RESPONSE_CODES",
    "KMSummary",
    "Rate",
    "RecistResult",
    "assess_imwg",
    "assess_lugano",
    "assess_marrow",
    "assess_recist",
    "clopper_pearson",
    "compare_arms",
    "km",
    "response_rates",
    "safety_rates",
    "select_target_lesions",
    "subgroup_analysis",
    "summarise",
]
