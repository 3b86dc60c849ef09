"""Virtual populations: patients as rows of a parameter array, with body sizes and covariates.

:mod:`~oncotwin.population.sampling` draws parameter populations; the covariate model of
:mod:`~oncotwin.population.covariates` (cancer types, eligibility screening, baseline-table
matching) is re-exported here and imported on first use, so ``import oncotwin.population``
does not load pandas and SciPy's statistics.

Examples
--------
>>> from oncotwin.population import resolve_cancer
>>> resolve_cancer("NSCLC")
'nsclc'
"""

from __future__ import annotations

import importlib
from typing import Any

from oncotwin.population.sampling import BODY_SIZE, Population, patient_normals, sample_population

#: Names of :mod:`oncotwin.population.covariates` re-exported here (imported on first use).
_COVARIATE_EXPORTS: tuple[str, ...] = (
    "CANCER_TYPES",
    "ELIGIBILITY_KEYS",
    "BaselineMatch",
    "BaselineTarget",
    "Eligibility",
    "baseline_table",
    "match_baseline",
    "resolve_cancer",
    "sample_covariates",
    "sample_eligible",
)

__all__ = [
    "BODY_SIZE",
    "CANCER_TYPES",
    "ELIGIBILITY_KEYS",
    "BaselineMatch",
    "BaselineTarget",
    "Eligibility",
    "Population",
    "baseline_table",
    "match_baseline",
    "patient_normals",
    "resolve_cancer",
    "sample_covariates",
    "sample_eligible",
    "sample_population",
]


def __getattr__(name: str) -> Any:
    """Import a covariate-model name the first time it is used."""
    if name not in _COVARIATE_EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.covariates"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
