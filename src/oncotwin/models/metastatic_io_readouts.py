"""Clinical readouts of ``metastatic_io`` trajectories, and dosing stops with feedback.

From a solved population this module reads what a clinic measures: the diameter of each
site's index lesion, the day a new lesion becomes detectable, toxicity grades (CTCAE for
irAEs, capillary leak and neutropenia; ASTCT for CRS and ICANS) and the day of death.

:func:`simulate_io` adds the feedback of toxicity on treatment without root-finding: a
first solve gives each patient's first grade >= 3 irAE (or any other stop day given by the
caller, e.g. progression read from scans); a second solve masks that patient's doses from
then on and starts a steroid course. The trajectory before the stop is the same in both
solves (causality), so the stop day is exact, and all later dynamics respond to it.

Thresholds are flagged assumptions (see :data:`GRADE_THRESHOLDS`) pending calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from oncotwin._constants import DAYS_PER_YEAR
from oncotwin._random import Stream, patient_uniforms
from oncotwin.errors import OncotwinError

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.population import Population
    from oncotwin.regimens import Regimen
    from oncotwin.solvers import EventTable, Solution, SolverOptions

__all__ = [
    "DETECTABLE_LOG_CELLS",
    "GRADE_THRESHOLDS",
    "IRAE_ORGANS",
    "IOSimulation",
    "Toxicity",
    "death_days",
    "first_crossing",
    "lesion_diameters",
    "new_lesion_days",
    "patient_uniforms",
    "simulate_io",
    "toxicity",
]

#: A new lesion is detectable at ~10 mm (RECIST measurability): 524 mm^3 ~ 5.2e8 cells.
DETECTABLE_LOG_CELLS = float(np.log(5.2e8))

#: Peak (or nadir) marker values at which each grade starts (grades 1..4), assumptions:
#: cytokine units of the model for CRS/ICANS (ASTCT grading, Lee et al. 2019), the 0-1
#: capillary-leak index for IL-2 (grade 3 = hypotension needing pressors: set so that most
#: high-dose IL-2 courses reach it, as in Atkins et al. 1999), neutrophils relative to a
#: baseline of 4e9/L for CTCAE neutropenia (grade 1 < 2.0, 2 < 1.5, 3 < 1.0, 4 < 0.5 x 1e9/L).
GRADE_THRESHOLDS: dict[str, tuple[float, float, float, float]] = {
    "crs": (5.0, 20.0, 60.0, 150.0),
    "icans": (15.0, 40.0, 90.0, 200.0),
    "capillary_leak": (0.25, 0.5, 0.7, 0.9),
    "neutropenia": (0.5, 0.375, 0.25, 0.125),
}

#: Organs of grade >= 3 immune-related adverse events and their shares (assumption:
#: approximates the distribution of grade 3-4 TRAEs under nivolumab/ipilimumab in CheckMate
#: 067, where colitis/diarrhoea and hepatitis dominate).
IRAE_ORGANS: dict[str, float] = {
    "colitis": 0.35,
    "hepatitis": 0.25,
    "skin": 0.15,
    "endocrine": 0.15,
    "pneumonitis": 0.10,
}


def first_crossing(t: np.ndarray, y: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """First time each row of ``y`` (n, len(t)) reaches ``level`` (linear interpolation
    between output times); ``inf`` if never."""
    y = np.asarray(y, dtype=float)
    lev = np.broadcast_to(np.asarray(level, dtype=float), (y.shape[0],))[:, None]
    above = y >= lev
    hit = above.any(axis=1)
    k = np.argmax(above, axis=1)
    out = np.full(y.shape[0], np.inf)
    rows = np.nonzero(hit)[0]
    kk = k[rows]
    first = kk == 0
    out[rows[first]] = t[0]
    r, j = rows[~first], kk[~first]
    y0, y1 = y[r, j - 1], y[r, j]
    frac = np.where(y1 > y0, (lev[r, 0] - y0) / np.where(y1 > y0, y1 - y0, 1.0), 1.0)
    out[r] = t[j - 1] + np.clip(frac, 0.0, 1.0) * (t[j] - t[j - 1])
    return out


def _site_volumes(sol: Solution) -> np.ndarray:
    from oncotwin.models.metastatic_io import SITES

    names = list(sol.names)
    out = np.empty((sol.y.shape[0], sol.y.shape[1], len(SITES)))
    for k, s in enumerate(SITES):
        out[:, :, k] = sol.y[:, :, names.index(f"T_{s}")] + sol.y[:, :, names.index(f"U_{s}")]
    return out


def lesion_diameters(sol: Solution, baseline_diameter_mm: np.ndarray) -> np.ndarray:
    """True longest diameter [mm] of each site's index lesion, ``(n, n_times, n_sites)``.

    The index lesion keeps its share of the site's viable cells, so its diameter scales as
    the cube root of the site burden; NaN for sites without a baseline lesion.
    """
    vol = _site_volumes(sol)
    v0 = vol[:, :1, :]
    d0 = np.asarray(baseline_diameter_mm, dtype=float)[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(v0 > 0, np.maximum(vol, 0.0) / v0, np.nan)
    return np.where(d0 > 0, d0 * np.cbrt(ratio), np.nan)


def new_lesion_days(sol: Solution) -> np.ndarray:
    """Day a micrometastasis first reaches :data:`DETECTABLE_LOG_CELLS` in any organ."""
    from oncotwin.models.metastatic_io import METASTATIC_SITES

    names = list(sol.names)
    idx = [names.index(f"micromet_{s}") for s in METASTATIC_SITES]
    return first_crossing(sol.t, sol.y[:, :, idx].max(axis=2), DETECTABLE_LOG_CELLS)


def death_days(
    sol: Solution, seed: int, patient_ids: np.ndarray, age_yr: np.ndarray | None = None
) -> np.ndarray:
    """Day of death: tumour death (cumulative hazard reaches an Exp(1) draw) or background
    mortality (Gompertz in age: 1%/year at 60, doubling every ~8 years, an assumption
    approximating life tables); ``inf`` if alive at the end."""
    names = list(sol.names)
    u = -np.log(patient_uniforms(seed, patient_ids, stream=Stream.DEATH_TUMOUR))
    tumour = first_crossing(sol.t, sol.y[:, :, names.index("death_hazard_cum")], u)
    if age_yr is None:
        return tumour
    rate = 0.01 / DAYS_PER_YEAR * np.exp(0.085 * (np.asarray(age_yr, dtype=float) - 60.0))
    background = -np.log(patient_uniforms(seed, patient_ids, stream=Stream.DEATH_BACKGROUND)) / rate
    return np.minimum(tumour, background)


def _grade(values: np.ndarray, thresholds: tuple[float, ...], *, falling: bool = False):
    g = np.zeros(values.shape, dtype=np.int64)
    for th in thresholds:
        g += (values <= th) if falling else (values >= th)
    return g


@dataclass(frozen=True)
class Toxicity:
    """Per-patient toxicity readouts (arrays of length n)."""

    irae_day: np.ndarray  # first grade >= 3 irAE [day] (inf: none)
    irae_grade: np.ndarray  # worst irAE grade (0-4)
    irae_organ: np.ndarray  # organ of the worst irAE ('' if none)
    crs_grade: np.ndarray
    icans_grade: np.ndarray
    capillary_leak_grade: np.ndarray
    neutropenia_grade: np.ndarray

    @property
    def g3plus(self) -> np.ndarray:
        """Any grade >= 3 adverse event of the model."""
        worst = np.maximum.reduce(
            [
                self.irae_grade,
                self.crs_grade,
                self.icans_grade,
                self.capillary_leak_grade,
                self.neutropenia_grade,
            ]
        )
        return worst >= 3


def toxicity(sol: Solution, seed: int, patient_ids: np.ndarray) -> Toxicity:
    """Grades and the first grade >= 3 irAE day of every patient."""
    names = list(sol.names)
    t = sol.t
    ids = np.asarray(patient_ids)
    u3 = -np.log(patient_uniforms(seed, ids, stream=Stream.IRAE))
    H = sol.y[:, :, names.index("irae_hazard")]
    day3 = first_crossing(t, H, u3)
    # lower grades: the hazard of any-grade irAEs is ~4x that of grade >= 3 (assumption)
    any_day = first_crossing(t, H, u3 / 4.0)
    g4 = patient_uniforms(seed, ids, stream=Stream.IRAE_GRADE4) < 0.15
    grade = np.where(np.isfinite(day3), np.where(g4, 4, 3), np.where(np.isfinite(any_day), 2, 0))
    cum = np.cumsum(list(IRAE_ORGANS.values()))
    organ_idx = np.searchsorted(
        cum, patient_uniforms(seed, ids, stream=Stream.IRAE_ORGAN) * cum[-1]
    )
    organs = np.array(list(IRAE_ORGANS))[np.minimum(organ_idx, len(cum) - 1)]
    organ = np.where(grade > 0, organs, "")
    # running extrema tracked inside the model catch peaks between output times
    peak = np.nanmax(sol.y[:, :, names.index("cytokine_peak")], axis=1)
    leak = np.nanmax(sol.y[:, :, names.index("capillary_leak_peak")], axis=1)
    anc = np.nanmin(sol.y[:, :, names.index("neutrophil_nadir")], axis=1)
    return Toxicity(
        irae_day=day3,
        irae_grade=grade.astype(np.int64),
        irae_organ=organ,
        crs_grade=_grade(peak, GRADE_THRESHOLDS["crs"]),
        icans_grade=_grade(peak, GRADE_THRESHOLDS["icans"]),
        capillary_leak_grade=_grade(leak, GRADE_THRESHOLDS["capillary_leak"]),
        neutropenia_grade=_grade(anc, GRADE_THRESHOLDS["neutropenia"], falling=True),
    )


@dataclass(frozen=True, eq=False)
class IOSimulation:
    """A ``metastatic_io`` population solved with dosing stops applied."""

    solution: Solution
    population: Population
    stop_day: np.ndarray  # day dosing stopped (inf: never)
    stop_reason: np.ndarray  # '' | 'toxicity' | 'given'
    toxicity: Toxicity


def simulate_io(
    regimen: Regimen | str | None,
    population: Population,
    *,
    days: float,
    every: float = 7.0,
    seed: int = 0,
    patient_ids: np.ndarray | None = None,
    stop_on_toxicity: bool = True,
    stop_day: np.ndarray | None = None,
    stop_rule: Callable[[Solution], np.ndarray] | None = None,
    t_out: np.ndarray | None = None,
    after_stop: Callable[[np.ndarray, np.ndarray], EventTable | None] | None = None,
    options: SolverOptions | None = None,
    model: Model | None = None,
) -> IOSimulation:
    """Simulate with dosing stopped at a grade >= 3 irAE (and at ``stop_day`` if given).

    A patient whose first grade >= 3 irAE happens on day ``d`` gets no dose that starts
    after ``d`` and a high-dose steroid course on ``d`` (which damps priming and killing).
    ``stop_day`` (per patient, e.g. a maximal treatment duration) and ``stop_rule`` (a
    function of the first solve giving a stop day per patient, e.g. progression read from
    its scans) stop doses without steroids. ``t_out`` overrides the output grid
    ``0, every, ..., days``. ``after_stop(stop_day, reason)`` may return events for the
    second solve that follow a stop (e.g. crossover to another arm's regimen at progression).
    """
    from oncotwin.regimens import parse_regimen
    from oncotwin.simulation import _prepare_regimen, output_times
    from oncotwin.solvers import BOLUS, EventTable, SolverOptions, solve

    if isinstance(regimen, str):
        regimen = parse_regimen(regimen)
    model = model or population.model
    n = population.n
    ids = np.arange(n) if patient_ids is None else np.asarray(patient_ids)
    if ids.shape != (n,):
        raise OncotwinError(f"patient_ids has shape {ids.shape}; give one id per patient ({n})")
    opts = options or SolverOptions(rtol=1e-5, atol=1e-9)
    t = output_times(days, every) if t_out is None else np.asarray(t_out, dtype=float)
    if regimen is None:  # untreated (placebo) arm
        pop, events, origin = population, EventTable.empty(n), np.zeros(0)
    else:
        pop, events, origin = _prepare_regimen(model, regimen, population, days)
    sol = solve(model, pop.params, t, events=events, options=opts)
    tox = toxicity(sol, seed, ids)
    given = np.full(n, np.inf) if stop_day is None else np.asarray(stop_day, dtype=float)
    if stop_rule is not None:
        given = np.minimum(given, np.asarray(stop_rule(sol), dtype=float))
    tox_stop = tox.irae_day if stop_on_toxicity else np.full(n, np.inf)
    stop = np.minimum(given, tox_stop)
    reason = np.where(
        np.isfinite(stop), np.where(tox_stop <= given, "toxicity", "given"), ""
    ).astype(object)
    if np.isfinite(stop).any():
        keep = origin[None, :] <= stop[:, None]
        events2 = events.masked(keep)
        steroid = np.where(reason == "toxicity", 1.0, 0.0)
        st_times = np.where(np.isfinite(stop), stop, 0.0)
        # one steroid bolus per patient at its own day: events are shared in time, so add
        # one event per distinct stop day (patients elsewhere get 0)
        uniq = np.unique(st_times[steroid > 0])
        if uniq.size:
            vals = (st_times[:, None] == uniq[None, :]) * steroid[:, None]
            st = EventTable.build(
                uniq,
                np.full(uniq.size, model.state_index("steroid")),
                np.full(uniq.size, BOLUS),
                vals,
            )
            events2 = events2.concat(st)
        if after_stop is not None:
            post = after_stop(stop, np.asarray(reason, dtype=str))
            if post is not None and post.n_events:
                events2 = events2.concat(post)
        sol = solve(model, pop.params, t, events=events2, options=opts)
        tox2 = toxicity(sol, seed, ids)
        # the irAE that stopped treatment keeps its day; later grades come from the 2nd solve
        tox = Toxicity(
            irae_day=np.minimum(tox.irae_day, tox2.irae_day),
            irae_grade=np.maximum(tox.irae_grade, tox2.irae_grade),
            irae_organ=np.where(tox.irae_grade > 0, tox.irae_organ, tox2.irae_organ),
            crs_grade=tox2.crs_grade,
            icans_grade=tox2.icans_grade,
            capillary_leak_grade=tox2.capillary_leak_grade,
            neutropenia_grade=tox2.neutropenia_grade,
        )
    return IOSimulation(sol, pop, stop, np.asarray(reason, dtype=str), tox)
