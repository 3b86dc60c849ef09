"""Clinical readouts of ``metastatic_io`` trajectories (:data:`READOUTS`).

From a solved population this module reads what a clinic measures: the diameter of each
site's index lesion, the day a new lesion becomes detectable, toxicity grades (CTCAE for
irAEs, capillary leak and neutropenia; ASTCT for CRS and ICANS) and the day of death. The
dosing stops that react to them (toxicity, progression) are applied by the simulation
layer for any model (:func:`oncotwin.simulation.solve_with_rules`); :func:`simulate_io` is
kept as the ``metastatic_io`` shortcut to it.

Grade thresholds are parameters of the model (:data:`GRADE_THRESHOLDS` names them); grades
and the days toxicities start and resolve are read in
:mod:`oncotwin.models._metastatic_io_grading`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from oncotwin._random import Stream, patient_uniforms
from oncotwin.models._metastatic_io_grading import GRADE_THRESHOLDS, IRAE_ORGANS, toxicity
from oncotwin.models.readouts import (
    Toxicity,
    background_death_days,
    first_crossing,
)

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.population import Population
    from oncotwin.regimens import Regimen
    from oncotwin.simulation import DosedSolution
    from oncotwin.solvers import EventTable, Solution, SolverOptions

__all__ = [
    "DETECTABLE_LOG_CELLS",
    "GRADE_THRESHOLDS",
    "IRAE_ORGANS",
    "READOUTS",
    "ClinicalCourse",
    "IOReadouts",
    "Toxicity",
    "clinical_progression_days",
    "death_days",
    "first_crossing",
    "lesion_diameters",
    "new_lesion_days",
    "patient_uniforms",
    "simulate_io",
    "subsequent_therapy_hazard_ratio",
    "toxicity",
]

#: A new lesion is detectable at ~10 mm (RECIST measurability): 524 mm^3 ~ 5.2e8 cells.
DETECTABLE_LOG_CELLS = float(np.log(5.2e8))


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


def _value_at(t: np.ndarray, y: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Each row of ``y`` (n, len(t)) linearly interpolated at its own ``day`` (clipped to
    the output times)."""
    d = np.clip(np.asarray(day, dtype=float), t[0], t[-1])
    j = np.clip(np.searchsorted(t, d, side="right"), 1, len(t) - 1)
    rows = np.arange(y.shape[0])
    t0, t1 = t[j - 1], t[j]
    w = np.where(t1 > t0, (d - t0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0)
    return y[rows, j - 1] + w * (y[rows, j] - y[rows, j - 1])


def _fatal_hazard(seed: int, patient_ids: np.ndarray) -> np.ndarray:
    """Each patient's Exp(1) level of cumulative tumour-death hazard at which they die."""
    return -np.log(patient_uniforms(seed, patient_ids, stream=Stream.DEATH_TUMOUR))


def death_days(
    sol: Solution,
    seed: int,
    patient_ids: np.ndarray,
    age_yr: np.ndarray | None = None,
    *,
    progression_day: np.ndarray | None = None,
    hazard_ratio: np.ndarray | None = None,
) -> np.ndarray:
    """Day of death: tumour death (cumulative hazard reaches an Exp(1) draw) or, given ages,
    background mortality (:func:`oncotwin.models.readouts.background_death_days`);
    ``inf`` if alive at the end.

    Given ``progression_day`` and ``hazard_ratio`` (per patient), the tumour-death hazard
    after a patient's progression is multiplied by their ratio (subsequent lines of
    therapy, :func:`subsequent_therapy_hazard_ratio`); before it, nothing changes, so the
    day of a death before progression is the same either way.
    """
    names = list(sol.names)
    u = _fatal_hazard(seed, patient_ids)
    H = sol.y[:, :, names.index("death_hazard_cum")]
    if progression_day is not None and hazard_ratio is not None:
        prog = np.asarray(progression_day, dtype=float)
        hr = np.asarray(hazard_ratio, dtype=float)[:, None]
        at_prog = _value_at(sol.t, H, np.where(np.isfinite(prog), prog, sol.t[-1]))[:, None]
        after = np.isfinite(prog)[:, None] & (sol.t[None, :] > prog[:, None])
        H = np.where(after, at_prog + hr * (H - at_prog), H)
    tumour = first_crossing(sol.t, H, u)
    if age_yr is None:
        return tumour
    return np.minimum(tumour, background_death_days(seed, patient_ids, age_yr))


def subsequent_therapy_hazard_ratio(
    seed: int, patient_ids: np.ndarray, fraction: np.ndarray, hazard_ratio: np.ndarray
) -> np.ndarray:
    """Per patient: ``hazard_ratio`` for those drawn (with probability ``fraction``) to
    receive a subsequent line of therapy after progression, 1 for the others."""
    u = patient_uniforms(seed, np.asarray(patient_ids), stream=Stream.SUBSEQUENT_THERAPY)
    return np.where(u < np.asarray(fraction, dtype=float), hazard_ratio, 1.0)


def clinical_progression_days(
    sol: Solution, seed: int, patient_ids: np.ndarray, fraction: np.ndarray
) -> np.ndarray:
    """Day of clinical (symptomatic) deterioration: the cumulative tumour-death hazard
    reaches ``fraction`` of the level at which the patient dies (the same Exp(1) draw as
    :func:`death_days`), so deterioration comes before tumour death and follows the growth
    of the burden; ``inf`` if never."""
    names = list(sol.names)
    H = sol.y[:, :, names.index("death_hazard_cum")]
    level = np.asarray(fraction, dtype=float) * _fatal_hazard(seed, patient_ids)
    return first_crossing(sol.t, H, level)


@dataclass(frozen=True)
class ClinicalCourse:
    """What happens to patients besides their scans: the day of clinical deterioration
    (a progression without a scan; ``inf``: none) and the tumour-death hazard ratio after
    progression (subsequent therapy; 1: none)."""

    clinical_progression_day: np.ndarray
    post_progression_hr: np.ndarray


@dataclass(frozen=True)
class IOReadouts:
    """:class:`~oncotwin.models.readouts.ClinicalReadouts` of ``metastatic_io``: one index
    lesion per site (baseline sizes from the patient's covariates), new lesions from the
    micrometastatic compartments, tumour death from the cumulative death hazard, toxicity
    from the hazard and marker states, steroids into the ``steroid`` state."""

    steroid_state: str | None = "steroid"

    @property
    def site_names(self) -> tuple[str, ...]:
        from oncotwin.models.metastatic_io import SITES

        return SITES

    def baseline_diameters(self, population: Any) -> np.ndarray:
        """Index-lesion diameters from the patients' covariates (a VirtualPopulation); for a
        plain parameter population, each site's burden read as one spherical lesion (an
        approximation: the covariates that split it into lesions are not there)."""
        from oncotwin.models.metastatic_io import SITES
        from oncotwin.models.metastatic_io_cancers import LESION_CELLS_PER_MM3, lesion_table

        covariates = getattr(population, "covariates", None)
        if covariates is not None and getattr(population, "cancer", None):
            return lesion_table(covariates, population.cancer)[0]
        burden = np.column_stack([population.parameter(f"burden_{s}") for s in SITES])
        volume_mm3 = np.maximum(burden, 0.0) / LESION_CELLS_PER_MM3
        return np.cbrt(6.0 * volume_mm3 / np.pi)

    def lesion_diameters(self, sol: Solution, baseline_mm: np.ndarray) -> np.ndarray:
        return lesion_diameters(sol, baseline_mm)

    def new_lesion_days(self, sol: Solution) -> np.ndarray:
        return new_lesion_days(sol)

    def death_days(self, sol: Solution, seed: int, patient_ids: np.ndarray) -> np.ndarray:
        return death_days(sol, seed, patient_ids)

    def toxicity(self, sol: Solution, seed: int, patient_ids: np.ndarray) -> Toxicity:
        return toxicity(sol, seed, patient_ids)

    def grade_series(
        self, sol: Solution, seed: int, patient_ids: np.ndarray, kind: str, *, worst: bool = False
    ) -> np.ndarray:
        """Grade of toxicity ``kind`` at every output time (``worst``: the worst so far),
        ``(n, n_times)``; read by dosing rules."""
        from oncotwin.models._metastatic_io_grade_series import grade_series

        return grade_series(sol, seed, patient_ids, kind, worst=worst)

    def clinical_course(
        self, sol: Solution, seed: int, patient_ids: np.ndarray, parameters: Any
    ) -> ClinicalCourse:
        """Clinical deterioration and the effect of subsequent therapy after progression,
        from the patients' parameters (``parameters(name) -> per-patient values``)."""
        return ClinicalCourse(
            clinical_progression_day=clinical_progression_days(
                sol, seed, patient_ids, parameters("deterioration_fraction")
            ),
            post_progression_hr=subsequent_therapy_hazard_ratio(
                seed,
                patient_ids,
                parameters("subsequent_therapy_fraction"),
                parameters("subsequent_therapy_hr"),
            ),
        )

    def death_days_after(
        self,
        sol: Solution,
        seed: int,
        patient_ids: np.ndarray,
        progression_day: np.ndarray,
        hazard_ratio: np.ndarray,
    ) -> np.ndarray:
        """:meth:`death_days` with the tumour-death hazard after progression scaled by
        each patient's ``hazard_ratio``."""
        return death_days(
            sol, seed, patient_ids, progression_day=progression_day, hazard_ratio=hazard_ratio
        )

    def tumour_burden(self, sol: Solution) -> np.ndarray:
        """Total viable tumour cells [1e9 cell] over all sites, ``(n, n_times)``."""
        from oncotwin.models.metastatic_io import SITES

        names = list(sol.names)
        k = [names.index(f"{p}_{s}") for s in SITES for p in ("T", "U")]
        return sol.y[:, :, k].sum(axis=2)

    def marrow_blast_fraction(self, sol: Solution) -> np.ndarray:
        """Marrow blast fraction (0-1) from the bone site, ``(n, n_times)``."""
        from oncotwin.models.metastatic_io_cancers import MARROW_CELLS

        names = list(sol.names)
        k = [names.index("T_bone"), names.index("U_bone")]
        return np.clip(sol.y[:, :, k].sum(axis=2) / MARROW_CELLS, 0.0, 1.0)


#: The readouts of ``metastatic_io`` (registered in :mod:`oncotwin.models.readouts`).
READOUTS = IOReadouts()


def __getattr__(name: str) -> Any:
    """``IOSimulation``: the former name of :class:`oncotwin.simulation.DosedSolution`."""
    if name == "IOSimulation":
        from oncotwin.simulation import DosedSolution

        return DosedSolution
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
) -> DosedSolution:
    """Simulate ``metastatic_io`` with dosing stopped at a grade >= 3 irAE (with a steroid
    course) and at ``stop_day`` / ``stop_rule`` (see
    :func:`oncotwin.simulation.solve_with_rules`, which this calls)."""
    from oncotwin.regimens import DosingRules
    from oncotwin.simulation import output_times, solve_with_rules

    t = output_times(days, every) if t_out is None else np.asarray(t_out, dtype=float)
    rules = DosingRules(stop_on_toxicity=stop_on_toxicity)
    return solve_with_rules(
        model or population.model,
        regimen,
        population,
        t,
        rules=rules,
        horizon=days,
        seed=seed,
        patient_ids=patient_ids,
        stop_day=stop_day,
        progression=stop_rule,
        after_stop=after_stop,
        options=options,
    )
