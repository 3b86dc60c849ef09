"""The grade of each ``metastatic_io`` toxicity at every output time (for dosing rules).

:func:`oncotwin.models._metastatic_io_grading.toxicity` gives each toxicity's worst grade
and the days it started and resolved; a dosing rule (``hold if irAE >= 2 until irAE <= 1``)
needs the grade *at* a dose day. This reads it from the same states, parameters and random
draws, so the two agree: the worst grade over the output times is the worst grade there.

* irAE: grade 2 from the day the cumulative irAE hazard reaches the any-grade level, 3 or 4
  from the day it reaches the grade-3 level; each lasts the patient's resolution time (the
  log-normal draw of the readouts) from its start; endocrine irAEs never resolve (lifelong
  hormone replacement), as in the readouts.
* CRS, ICANS, capillary leak, neutropenia: the CTCAE/ASTCT grade of the marker itself at
  that time, counted only where it is worse than the patient's baseline grade (an adverse
  event is a worsening).

Private to :mod:`oncotwin.models.metastatic_io_readouts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from oncotwin._random import Stream, patient_uniforms
from oncotwin.models._metastatic_io_grading import (
    _UNRESOLVED_ORGANS,
    IRAE_ORGANS,
    _grade_of,
    _param,
    _thresholds,
)
from oncotwin.models._metastatic_io_toxicity import EPISODES
from oncotwin.models.readouts import first_crossing

if TYPE_CHECKING:
    from oncotwin.solvers import Solution

__all__ = ["grade_series"]


def _irae_series(sol: Solution, seed: int, ids: np.ndarray, worst: bool) -> np.ndarray:
    """irAE grade (0, 2, 3 or 4) per patient and output time (``worst``: the worst so far)."""
    u3 = -np.log(patient_uniforms(seed, ids, stream=Stream.IRAE))
    H = sol["irae_hazard"]
    day3 = first_crossing(sol.t, H, u3)
    any_day = first_crossing(sol.t, H, u3 / _param(sol, "irae_any_grade_factor"))
    g4 = patient_uniforms(seed, ids, stream=Stream.IRAE_GRADE4) < _param(sol, "irae_grade4_share")
    shares = np.column_stack([_param(sol, p) for p in IRAE_ORGANS.values()])
    cum = np.cumsum(shares, axis=1)
    u_organ = patient_uniforms(seed, ids, stream=Stream.IRAE_ORGAN)[:, None] * cum[:, -1:]
    k = np.minimum((cum < u_organ).sum(axis=1), len(IRAE_ORGANS) - 1)
    chronic = np.isin(np.array(list(IRAE_ORGANS))[k], list(_UNRESOLVED_ORGANS))
    z = ndtri(patient_uniforms(seed, ids, stream=Stream.IRAE_RESOLUTION))
    duration = _param(sol, "irae_resolution_median") * np.exp(
        _param(sol, "irae_resolution_log_sd") * z
    )
    duration = np.where(chronic | worst, np.inf, duration)[:, None]
    t = sol.t[None, :]
    severe = (t >= day3[:, None]) & (t < day3[:, None] + duration)
    mild = (t >= any_day[:, None]) & (t < any_day[:, None] + duration)
    return np.where(severe, np.where(g4, 4, 3)[:, None], np.where(mild, 2, 0)).astype(np.int64)


def _marker_series(sol: Solution, kind: str, worst: bool) -> np.ndarray:
    """Grade of a marker-graded toxicity per patient and output time (0 where no worse than
    the patient's baseline grade); ``worst``: the grade of the running peak (or nadir), so
    an excursion between output times counts from the next one, as in the readouts."""
    _, marker, extremum, _, falling = next(e for e in EPISODES if e[0] == kind)
    n = sol.y.shape[0]
    if marker not in sol.names or extremum not in sol.names:
        return np.zeros((n, sol.t.size), dtype=np.int64)
    levels = [level[:, None] for level in _thresholds(sol, kind)]
    base = _grade_of(sol[marker][:, :1], levels, falling)
    g = _grade_of(sol[extremum] if worst else sol[marker], levels, falling)
    return np.where(g > base, g, 0).astype(np.int64)


def grade_series(
    sol: Solution, seed: int, patient_ids: np.ndarray, kind: str, *, worst: bool = False
) -> np.ndarray:
    """Grade of toxicity ``kind`` (``"irae"``, ``"crs"``, ``"icans"``, ``"capillary_leak"``,
    ``"neutropenia"``) per patient and output time, ``(n, n_times)`` integers 0-4;
    ``worst``: the worst grade up to each time (non-decreasing; its last column is the
    readouts' worst grade)."""
    if kind == "irae":
        return _irae_series(sol, seed, np.asarray(patient_ids), worst)
    return _marker_series(sol, kind, worst)
