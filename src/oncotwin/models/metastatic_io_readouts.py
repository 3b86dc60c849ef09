"""Clinical readouts of ``metastatic_io`` trajectories (:data:`READOUTS`).

From a solved population this module reads what a clinic measures: the diameter of each
site's index lesion, the day a new lesion becomes detectable, toxicity grades (CTCAE for
irAEs, capillary leak and neutropenia; ASTCT for CRS and ICANS) and the day of death. The
dosing stops that react to them (toxicity, progression) are applied by the simulation
layer for any model (:func:`oncotwin.simulation.solve_with_rules`); :func:`simulate_io` is
kept as the ``metastatic_io`` shortcut to it.

Thresholds are flagged assumptions (see :data:`GRADE_THRESHOLDS`) pending calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from oncotwin._random import Stream, patient_uniforms
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
    "IOReadouts",
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
    """Day of death: tumour death (cumulative hazard reaches an Exp(1) draw) or, given ages,
    background mortality (:func:`oncotwin.models.readouts.background_death_days`);
    ``inf`` if alive at the end."""
    names = list(sol.names)
    u = -np.log(patient_uniforms(seed, patient_ids, stream=Stream.DEATH_TUMOUR))
    tumour = first_crossing(sol.t, sol.y[:, :, names.index("death_hazard_cum")], u)
    if age_yr is None:
        return tumour
    return np.minimum(tumour, background_death_days(seed, patient_ids, age_yr))


def _grade(values: np.ndarray, thresholds: tuple[float, ...], *, falling: bool = False):
    g = np.zeros(values.shape, dtype=np.int64)
    for th in thresholds:
        g += (values <= th) if falling else (values >= th)
    return g


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
