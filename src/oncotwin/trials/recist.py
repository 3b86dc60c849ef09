"""Tumor response assessment of simulated scans: RECIST 1.1, iRECIST, Lugano-like, IMWG-like.

Compatibility module: the implementation lives in :mod:`oncotwin.trials.assessment` (the
criteria registry, :class:`~oncotwin.trials.assessment.Readouts` and the typed
:class:`~oncotwin.trials.assessment.Assessment`); every name this module had is re-exported
here unchanged, so existing imports keep working. ``RecistResult`` is ``Assessment``.

Examples
--------
>>> import numpy as np
>>> from oncotwin.trials.recist import assess_recist, RESPONSE_CODES
>>> days = np.array([0.0, 42.0, 84.0])
>>> d = np.array([[[50.0], [30.0], [30.0]]])          # one patient, one liver lesion
>>> r = assess_recist(days, d, np.array([[2]]), np.array([np.inf]), np.array([np.inf]),
...                   np.array([100.0]), noise_cv=0.0, seed=1, patient_ids=np.array([0]))
>>> RESPONSE_CODES[r.best_response[0]], bool(r.confirmed[0]), float(r.best_pct_change[0])
('PR', True, -40.0)
"""

from __future__ import annotations

from oncotwin.trials.assessment import (
    CR,
    NE,
    ORGANS,
    PD,
    PR,
    RESPONSE_CODES,
    SD,
    RecistResult,
    assess_imwg,
    assess_lugano,
    assess_marrow,
    assess_recist,
    reader_normals,
    select_target_lesions,
)

__all__ = [
    "CR",
    "NE",
    "ORGANS",
    "PD",
    "PR",
    "RESPONSE_CODES",
    "SD",
    "RecistResult",
    "assess_imwg",
    "assess_lugano",
    "assess_marrow",
    "assess_recist",
    "reader_normals",
    "select_target_lesions",
]
