"""Toxicity grades and their dates from ``metastatic_io`` trajectories.

Grade thresholds, irAE organ shares and the irAE resolution time are parameters of the
model (records in ``metastatic_io/default``), read here per patient from the solved
parameters. CRS, ICANS, capillary leak and neutropenia are graded from the running peak
(or nadir) of their markers and dated by the model's clocks (``<kind>_since_onset``,
``<kind>_days``: exact whatever the output times). The grade >= 3 irAE is the day the
cumulative irAE hazard reaches an Exp(1) draw; it resolves after a log-normal time around
the median resolution with steroids (Tang 2021), except endocrine irAEs, which need lifelong
hormone replacement (Weber 2017) and are reported as unresolved. Private to
:mod:`oncotwin.models.metastatic_io_readouts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from oncotwin._random import Stream, patient_uniforms
from oncotwin.models._metastatic_io_toxicity import EPISODES
from oncotwin.models.readouts import Toxicity, first_crossing

if TYPE_CHECKING:
    from oncotwin.solvers import Solution

__all__ = ["GRADE_THRESHOLDS", "IRAE_ORGANS", "toxicity"]

#: Parameters holding the marker level at which each grade (1..4) starts, per toxicity:
#: the IL-6-like cytokine for CRS (ASTCT, Lee 2019), the lagged ICANS marker, the 0-1
#: capillary-leak index for IL-2 and the ANC [1e9/L] for neutropenia (CTCAE v5).
GRADE_THRESHOLDS: dict[str, tuple[str, str, str, str]] = {
    kind: (f"{prefix}1", f"{prefix}2", f"{prefix}3", f"{prefix}4")
    for kind, _, _, prefix, _ in EPISODES
}

#: Organs of grade >= 3 immune-related adverse events and the parameters of their shares.
IRAE_ORGANS: dict[str, str] = {
    organ: f"irae_share_{organ}"
    for organ in ("colitis", "hepatitis", "skin", "endocrine", "pneumonitis")
}

#: Organs whose grade >= 3 irAEs do not resolve (hormone replacement for life).
_UNRESOLVED_ORGANS = frozenset({"endocrine"})


def _param(sol: Solution, name: str) -> np.ndarray:
    """Per-patient value of parameter ``name`` in the solve."""
    return np.asarray(sol.params[:, sol.model.parameter_index(name)], dtype=float)


def _thresholds(sol: Solution, kind: str) -> list[np.ndarray]:
    """Grade 1..4 thresholds of ``kind`` per patient, in the marker's unit."""
    th = [_param(sol, p) for p in GRADE_THRESHOLDS[kind]]
    if kind == "neutropenia" and _state_unit(sol, "neutrophils") == "1":
        ref = _param(sol, "neutropenia_reference_anc")
        th = [x / ref for x in th]
    return th


def _state_unit(sol: Solution, name: str) -> str:
    model = sol.model
    return model.states[model.state_index(name)].unit if name in model.state_names else ""


def _grade_of(x: np.ndarray, th: list[np.ndarray], falling: bool) -> np.ndarray:
    g = np.zeros(x.shape, dtype=np.int64)
    for level in th:
        g += (x <= level) if falling else (x >= level)
    return g


def _graded_episode(sol: Solution, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(worst grade, onset day, resolution day) of a marker-graded toxicity.

    An adverse event is a worsening from baseline (CTCAE): a patient whose marker is
    already at grade >= 1 at the start (e.g. a low baseline ANC) counts only if it worsens
    beyond that grade, dated on the output times when it does (its resolution undated)."""
    _, marker, extremum, _, falling = next(e for e in EPISODES if e[0] == kind)
    n = sol.y.shape[0]
    if marker not in sol.names or f"{kind}_days" not in sol.names:
        zero = np.zeros(n, dtype=np.int64)
        return zero, np.full(n, np.inf), np.full(n, np.inf)
    th = _thresholds(sol, kind)
    ext, x = sol[extremum], sol[marker]
    worst = np.nanmin(ext, axis=1) if falling else np.nanmax(ext, axis=1)
    base = _grade_of(x[:, 0], th, falling)
    grade = _grade_of(worst, th, falling)
    grade = np.where(grade > base, grade, 0)
    since = sol[f"{kind}_since_onset"][:, -1]
    onset = np.where(grade > 0, sol.t[-1] - since, np.inf)
    ongoing = _grade_of(x[:, -1], th, falling) > base
    resolved = np.where((grade > 0) & ~ongoing, onset + sol[f"{kind}_days"][:, -1], np.inf)
    worse = (grade > 0) & (base > 0)  # dated from the output times
    if worse.any():
        sign = -1.0 if falling else 1.0
        nxt = np.choose(np.minimum(base, 3), th)  # threshold of the grade above baseline
        onset = np.where(worse, first_crossing(sol.t, sign * ext, sign * nxt), onset)
        resolved = np.where(worse, np.inf, resolved)  # not dated back to baseline
    return grade, onset, resolved


def _irae(sol: Solution, seed: int, ids: np.ndarray):
    """Grade >= 3 day, worst grade, organ, onset and resolution of each patient's irAE."""
    u3 = -np.log(patient_uniforms(seed, ids, stream=Stream.IRAE))
    H = sol["irae_hazard"]
    day3 = first_crossing(sol.t, H, u3)
    any_day = first_crossing(sol.t, H, u3 / _param(sol, "irae_any_grade_factor"))
    g4 = patient_uniforms(seed, ids, stream=Stream.IRAE_GRADE4) < _param(sol, "irae_grade4_share")
    grade = np.where(np.isfinite(day3), np.where(g4, 4, 3), np.where(np.isfinite(any_day), 2, 0))
    shares = np.column_stack([_param(sol, p) for p in IRAE_ORGANS.values()])
    cum = np.cumsum(shares, axis=1)
    u_organ = patient_uniforms(seed, ids, stream=Stream.IRAE_ORGAN)[:, None] * cum[:, -1:]
    k = np.minimum((cum < u_organ).sum(axis=1), len(IRAE_ORGANS) - 1)
    organs = np.array(list(IRAE_ORGANS))[k]
    organ = np.where(grade > 0, organs, "")
    onset = np.where(np.isfinite(day3), day3, any_day)
    z = ndtri(patient_uniforms(seed, ids, stream=Stream.IRAE_RESOLUTION))
    duration = _param(sol, "irae_resolution_median") * np.exp(
        _param(sol, "irae_resolution_log_sd") * z
    )
    chronic = np.isin(organs, list(_UNRESOLVED_ORGANS))
    resolved = np.where((grade > 0) & ~chronic, onset + duration, np.inf)
    resolved = np.where(resolved <= sol.t[-1], resolved, np.inf)
    return day3, grade.astype(np.int64), organ, onset, resolved


def toxicity(sol: Solution, seed: int, patient_ids: np.ndarray) -> Toxicity:
    """Worst grades of every toxicity, the first grade >= 3 irAE day, and the onset and
    resolution day of each toxicity (``inf``: none, or unresolved at the end)."""
    ids = np.asarray(patient_ids)
    day3, grade, organ, irae_on, irae_off = _irae(sol, seed, ids)
    grades, onset, resolved = {}, {"irae": irae_on}, {"irae": irae_off}
    for kind, *_ in EPISODES:
        grades[kind], onset[kind], resolved[kind] = _graded_episode(sol, kind)
    return Toxicity(
        irae_day=day3,
        irae_grade=grade,
        irae_organ=organ,
        crs_grade=grades["crs"],
        icans_grade=grades["icans"],
        capillary_leak_grade=grades["capillary_leak"],
        neutropenia_grade=grades["neutropenia"],
        onset_day=onset,
        resolved_day=resolved,
    )
