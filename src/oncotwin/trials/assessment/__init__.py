"""Response assessment: criteria as a registry, readouts in, one typed :class:`Assessment` out.

A model fills :class:`Readouts` (scan days, death and follow-up, lesion diameters and organs,
tumour burden, marrow blasts: whichever it can measure); :func:`assess` looks the criterion
up in :data:`CRITERIA`, checks that the readouts it needs are there and returns an
:class:`Assessment` with the same arrays and tables for every criterion, so the endpoints work
unchanged for solid tumours, lymphoma, myeloma and leukaemia.

Built-in criteria: ``"recist"`` (RECIST 1.1, Eisenhauer 2009; ``irecist=True`` as an option),
``"irecist"`` (Seymour 2017), ``"lugano"`` (Cheson 2014, CT-based, simplified), ``"imwg"``
(Kumar 2016, simplified) and ``"marrow"`` (B-ALL blasts). :func:`register_criterion` adds one.

Examples
--------
>>> import numpy as np
>>> from oncotwin.trials.assessment import Readouts, assess
>>> r = Readouts(scan_days=np.array([0.0, 42.0, 84.0]), death_day=np.array([np.inf]),
...              end_day=np.array([100.0]), new_lesion_day=np.array([np.inf]),
...              lesion_diameter_mm=np.array([[[50.0], [30.0], [30.0]]]),
...              lesion_organ=np.array([[2]]))
>>> a = assess("recist", r, seed=1, patient_ids=np.array([0]), noise_cv=0.0)
>>> a.best_response_names.tolist(), bool(a.confirmed[0]), float(a.best_pct_change[0])
(['PR'], True, -40.0)
"""

from oncotwin.trials.assessment._common import ORGANS, reader_normals
from oncotwin.trials.assessment._lugano import assess_lugano
from oncotwin.trials.assessment._readouts import READOUT_NAMES, Readouts
from oncotwin.trials.assessment._recist import assess_recist, select_target_lesions
from oncotwin.trials.assessment._registry import (
    CRITERIA,
    Criterion,
    assess,
    get_criterion,
    register_criterion,
)
from oncotwin.trials.assessment._result import (
    CR,
    NE,
    PD,
    PR,
    RESPONSE_CODES,
    SD,
    Assessment,
    RecistResult,
)
from oncotwin.trials.assessment._series import assess_imwg, assess_marrow

__all__ = [
    "CR",
    "CRITERIA",
    "NE",
    "ORGANS",
    "PD",
    "PR",
    "READOUT_NAMES",
    "RESPONSE_CODES",
    "SD",
    "Assessment",
    "Criterion",
    "Readouts",
    "RecistResult",
    "assess",
    "assess_imwg",
    "assess_lugano",
    "assess_marrow",
    "assess_recist",
    "get_criterion",
    "reader_normals",
    "register_criterion",
    "select_target_lesions",
]
