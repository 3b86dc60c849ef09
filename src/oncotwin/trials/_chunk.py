"""One chunk of a trial: patients -> dosed solves per arm -> assessment -> contract tables.

A pure function of (plan, chunk id), safe to run on any worker: patient ``i``'s covariates,
arm and every random number derive from the run seed and ``i`` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._random import Stream, patient_uniforms
from oncotwin.models.readouts import background_death_days, clinical_readouts
from oncotwin.population.virtual import VirtualPopulation
from oncotwin.simulation import TRIAL_OPTIONS, regimen_dose_events, solve_with_rules
from oncotwin.solvers import EventTable
from oncotwin.trials.assessment import Assessment, Readouts, assess, get_criterion

if TYPE_CHECKING:
    from oncotwin.models.readouts import ClinicalReadouts, Toxicity
    from oncotwin.population import Population
    from oncotwin.simulation import DosedSolution
    from oncotwin.solvers import Solution
    from oncotwin.trials._plan import ArmPlan, TrialPlan

__all__ = ["PATIENT_PARAMETERS", "TABLES", "simulate_chunk"]

#: The per-patient tables of a chunk, as the store holds them.
TABLES = ("patients", "outcomes", "visits", "events")

#: Parameters copied into the ``patients`` table (those the model has): the patient-level
#: drivers of response, and ``pk_eta_CL``, the patient's standard-normal deviation of antibody
#: clearance (exposure-response confounding can be analysed from it).
PATIENT_PARAMETERS = (
    "growth_rate",
    "immunogenicity",
    "infiltration",
    "pdl1_baseline",
    "mdsc_suppression",
    "emt",
    "pk_eta_CL",
    "chemo_sensitivity",
    "antigen_negative_fraction",
)


#: Criteria whose confirmation interval is the spec's ``confirm_response_weeks`` (IMWG and
#: marrow responses are confirmed by the next assessment, whatever its interval).
_SPEC_CONFIRMATION = frozenset({"recist", "irecist", "lugano"})


@dataclass(frozen=True)
class _ArmContext:
    """What assessing one arm of a chunk needs besides the solution."""

    plan: TrialPlan
    readouts: ClinicalReadouts
    ids: np.ndarray
    baseline_mm: np.ndarray
    age: np.ndarray
    population: Population

    def course(self, sol: Solution, crossing: np.ndarray | None = None) -> Any:
        """The patients' clinical course besides scans (clinical deterioration, subsequent
        therapy after progression), for readouts that describe one, else ``None``.
        Patients who cross over get their subsequent therapy simulated, not as a hazard
        ratio."""
        course_fn = getattr(self.readouts, "clinical_course", None)
        if course_fn is None:
            return None
        course = course_fn(sol, self.plan.seed, self.ids, self.population.parameter)
        if crossing is not None and crossing.any():
            hr = np.where(crossing, 1.0, course.post_progression_hr)
            course = replace(course, post_progression_hr=hr)
        return course

    def death(
        self, sol: Solution, progression_day: np.ndarray | None = None, course: Any = None
    ) -> np.ndarray:
        """Day of death (disease or background); given the progression day and the course,
        with the hazard after progression scaled by subsequent therapy."""
        if progression_day is not None and course is not None:
            disease = self.readouts.death_days_after(  # type: ignore[attr-defined]
                sol, self.plan.seed, self.ids, progression_day, course.post_progression_hr
            )
        else:
            disease = self.readouts.death_days(sol, self.plan.seed, self.ids)
        return np.minimum(disease, background_death_days(self.plan.seed, self.ids, self.age))

    def assess(
        self, sol: Solution, death: np.ndarray | None = None, course: Any = None
    ) -> Assessment:
        """Response by the plan's criterion at the scan days (clinical deterioration
        counted as progression when ``course`` has it)."""
        plan = self.plan
        idx = np.searchsorted(sol.t, plan.scan_days)
        n = len(self.ids)
        fields: dict[str, np.ndarray] = {}
        needs = set(get_criterion(plan.criterion).needs)
        if "lesion_diameter_mm" in needs:
            diam = self.readouts.lesion_diameters(sol, self.baseline_mm)[:, idx, :]
            fields["lesion_diameter_mm"] = diam
            fields["lesion_organ"] = np.tile(np.arange(diam.shape[2]), (n, 1))
        for name in ("tumour_burden", "marrow_blast_fraction"):
            if name in needs:
                fields[name] = getattr(self.readouts, name)(sol)[:, idx]
        if plan.criterion != "marrow":
            fields["new_lesion_day"] = self.readouts.new_lesion_days(sol)
        if course is not None:
            fields["clinical_progression_day"] = course.clinical_progression_day
        readouts = Readouts(
            scan_days=plan.scan_days,
            death_day=self.death(sol) if death is None else death,
            end_day=np.full(n, plan.horizon),
            **fields,
        )
        options = {}
        if plan.criterion in _SPEC_CONFIRMATION:
            options["confirm_min_days"] = plan.confirm_min_days
        return assess(plan.criterion, readouts, seed=plan.seed, patient_ids=self.ids, **options)


AfterStop = Callable[[np.ndarray, np.ndarray], EventTable | None]


def _crossing(arm: ArmPlan, seed: int, ids: np.ndarray) -> np.ndarray:
    """Which patients cross over at progression (drawn from (seed, patient) alone)."""
    return patient_uniforms(seed, ids, stream=Stream.CROSSOVER) < arm.crossover_fraction


def _crossover_events(
    arm: ArmPlan, vp: VirtualPopulation, plan: TrialPlan
) -> tuple[Population | None, AfterStop | None]:
    """The population prepared for the crossover regimen and the events that start it at
    each crossing patient's progression, or Nones for an arm without crossover."""
    if arm.crossover_regimen is None:
        return None, None
    crossing = _crossing(arm, plan.seed, vp.patient_ids)
    base = regimen_dose_events(vp.model, arm.crossover_regimen, vp.population, plan.horizon)
    ev = base.events

    def after_stop(stop: np.ndarray, reason: np.ndarray) -> EventTable | None:
        """The crossover regimen from each crossing patient's progression day (one copy of
        its events per distinct day, zero for everyone else), built in one table."""
        go = crossing & (reason == "progression") & np.isfinite(stop) & (stop < plan.horizon)
        times, states, kinds, values = [], [], [], []
        for d in np.unique(stop[go]):
            keep = ev.time + d <= plan.horizon
            if keep.any():
                times.append(ev.time[keep] + d)
                states.append(ev.state[keep])
                kinds.append(ev.kind[keep])
                values.append(np.where((go & (stop == d))[:, None], ev.value[:, keep], 0.0))
        if not times:
            return None
        return EventTable.build(
            np.concatenate(times),
            np.concatenate(states),
            np.concatenate(kinds),
            np.concatenate(values, axis=1),
        )

    return base.population, after_stop


def _solve_arm(arm: ArmPlan, vp: VirtualPopulation, ctx: _ArmContext) -> DosedSolution:
    plan = ctx.plan
    cross_pop, after_stop = _crossover_events(arm, vp, plan)
    pop = vp.population if cross_pop is None else cross_pop
    prepared = None
    if arm.regimen is not None:
        prepared = regimen_dose_events(vp.model, arm.regimen, pop, plan.horizon)

    def progression(sol: Solution) -> np.ndarray:
        return np.asarray(ctx.assess(sol, course=ctx.course(sol)).progression_day, dtype=float)

    rules = plan.rules
    if after_stop is not None:  # crossing over at progression ends the arm's own treatment
        rules = replace(rules, stop_on_progression=True)
    return solve_with_rules(
        vp.model,
        arm.regimen,
        pop,
        plan.t_out,
        rules=rules,
        horizon=plan.horizon,
        seed=plan.seed,
        patient_ids=ctx.ids,
        progression=progression,
        after_stop=after_stop,
        options=TRIAL_OPTIONS,
        readouts=ctx.readouts,
        prepared=prepared,
    )


def _discontinued(
    dosed: DosedSolution, assessed: Assessment, death: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Treatment end day and why treatment ended (toxicity, progression, death, completed):
    the stop, death or last scheduled dose (after the per-class caps), whichever comes first."""
    stop = dosed.stop_day
    tend = np.minimum(np.minimum(stop, death), dosed.last_dose_day)
    prog_day = np.asarray(assessed.progression_day, dtype=float)
    reason = np.where(
        dosed.stop_reason == "toxicity",
        "toxicity",
        np.where(
            np.isfinite(stop) & (prog_day <= stop + 1e-9),
            "progression",
            np.where(death <= tend, "death", "completed"),
        ),
    )
    return tend, reason


def _outcomes(
    arm: ArmPlan,
    vp: VirtualPopulation,
    dosed: DosedSolution,
    assessed: Assessment,
    ended: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame:
    outcomes, _ = assessed.to_frames(arm.name, vp.patient_ids)
    tox = dosed.toxicity
    treated = arm.regimen is not None
    outcomes["max_irae_grade"] = tox.irae_grade
    outcomes["max_crs_grade"] = tox.crs_grade
    outcomes["max_icans_grade"] = tox.icans_grade
    outcomes["g3plus_ae"] = tox.g3plus
    outcomes["treatment_end_day"] = ended[0] if treated else 0.0
    outcomes["discontinued"] = ended[1] if treated else "completed"
    for k, v in _groups(vp.covariates).items():
        outcomes[k] = v
    return outcomes


def _groups(cov: pd.DataFrame) -> dict[str, np.ndarray]:
    """Subgroup labels: PD-L1 TPS, TMB and immune phenotype."""
    tps = cov["pdl1_tps_pct"].to_numpy(dtype=float)
    pdl1 = np.where(
        np.isnan(tps), "unknown", np.where(tps >= 50, ">=50%", np.where(tps >= 1, "1-49%", "<1%"))
    )
    tmb = cov["tmb_mut_per_mb"].to_numpy(dtype=float)
    tmbg = np.where(np.isnan(tmb), "unknown", np.where(tmb >= 10, ">=10", "<10"))
    phen = cov["immune_phenotype"].astype(object).fillna("n/a").to_numpy(dtype=str)
    return {"pdl1_group": pdl1, "tmb_group": tmbg, "immune_phenotype": phen}


def _death_and_assessment(
    arm: ArmPlan, ctx: _ArmContext, sol: Solution
) -> tuple[np.ndarray, Assessment]:
    """Death days and the assessment of one arm. Death before progression does not depend
    on what follows progression, so the progression day is read first; then the death
    hazard after it is scaled for subsequent therapy and the arm is assessed again with
    those deaths (PFS unchanged, OS longer for those treated further)."""
    crossing = None if arm.crossover_regimen is None else _crossing(arm, ctx.plan.seed, ctx.ids)
    course = ctx.course(sol, crossing)
    death = ctx.death(sol)
    assessed = ctx.assess(sol, death, course)
    if course is None:
        return death, assessed
    later = ctx.death(sol, np.asarray(assessed.progression_day, dtype=float), course)
    if np.array_equal(later, death):
        return death, assessed
    return later, ctx.assess(sol, later, course)


def _arm_tables(arm: ArmPlan, vp: VirtualPopulation, plan: TrialPlan) -> dict[str, pd.DataFrame]:
    """Simulate and assess the patients ``vp`` of one arm -> the contract tables."""
    readouts = clinical_readouts(vp.model)
    ctx = _ArmContext(
        plan,
        readouts,
        vp.patient_ids,
        readouts.baseline_diameters(vp),
        vp.covariates["age_yr"].to_numpy(dtype=float),
        vp.population,
    )
    dosed = _solve_arm(arm, vp, ctx)
    death, assessed = _death_and_assessment(arm, ctx, dosed.solution)
    dosed = replace(dosed, toxicity=dosed.toxicity.censored(death))  # none after death
    ended = _discontinued(dosed, assessed, death)
    _, visits = assessed.to_frames(arm.name, vp.patient_ids)
    patients = vp.covariates.copy()
    patients.insert(1, "arm", arm.name)
    for name in PATIENT_PARAMETERS:
        if name in vp.model.parameter_names:
            patients[name] = dosed.population.parameter(name)
    return {
        "patients": patients,
        "outcomes": _outcomes(arm, vp, dosed, assessed, ended),
        "visits": visits,
        "events": _events(arm, vp.patient_ids, assessed, death, dosed, ended[1]),
    }


def simulate_chunk(plan: TrialPlan, chunk_id: int) -> dict[str, pd.DataFrame]:
    """Simulate trial patients of chunk ``chunk_id`` (all arms) -> contract tables."""
    ids = plan.chunk_ids(chunk_id)
    vp = VirtualPopulation.for_trial(
        plan.model(),
        plan.cancer,
        ids,
        seed=plan.seed,
        eligibility=plan.eligibility,
        baseline=plan.baseline,
    )
    if plan.parameters:  # new typical values: scale each patient's value
        params = vp.population.params.copy()
        model = vp.model
        for col, factor in plan.parameter_factors().items():
            params[:, col] *= factor
            # the log-normal tail of a scaled parameter is truncated at its physical bound
            rec = model.parameters[model.parameter_names[col]]
            params[:, col] = np.clip(params[:, col], rec.lower, rec.upper)
        vp = vp.with_population(replace(vp.population, params=params))
    arm_idx = np.asarray(plan.spec.arm_of(ids))
    out: dict[str, list[pd.DataFrame]] = {
        "patients": [],
        "outcomes": [],
        "visits": [],
        "events": [],
    }
    chosen = any(arm.choices for arm in plan.arms)
    for arm in plan.arms:
        rows = np.nonzero(arm_idx == arm.index)[0]
        if not rows.size:
            continue
        if not arm.choices:
            parts = [(arm, rows, "")]
        else:  # investigator's choice: each option's patients are solved with its regimen
            pick = arm.choice_of(plan.seed, ids[rows])
            parts = [
                (arm.option(k), rows[pick == k], arm.choices[k][0])
                for k in range(len(arm.choices))
                if (pick == k).any()
            ]
        for sub, sub_rows, label in parts:
            for name, table in _arm_tables(sub, vp.take(sub_rows), plan).items():
                if chosen and name == "patients":
                    table.insert(2, "regimen_choice", label)
                out[name].append(table)
    tables = {k: pd.concat(v, ignore_index=True) for k, v in out.items() if v}
    return {
        k: t.sort_values("patient_id", kind="stable").reset_index(drop=True)
        for k, t in tables.items()
    }


#: Toxicities written to the ``events`` table and their ``detail`` (irAEs: the organ).
_TOXICITY_LABELS = {
    "irae": "",
    "crs": "CRS",
    "icans": "ICANS",
    "capillary_leak": "capillary leak",
    "neutropenia": "neutropenia",
}

_EVENT_COLUMNS = {
    "patient_id": np.int64,
    "arm": str,
    "day": float,
    "kind": str,
    "grade": np.int64,
    "detail": str,
}


def _events(
    arm: ArmPlan,
    pid: np.ndarray,
    assessed: Assessment,
    death: np.ndarray,
    dosed: DosedSolution,
    discontinued: np.ndarray,
) -> pd.DataFrame:
    """The ``events`` table: progression, response, death, toxicity, discontinuation."""
    rows: list[pd.DataFrame] = []

    def add(mask, day, kind, grade, detail) -> None:
        m = np.asarray(mask, dtype=bool)
        if m.any():
            rows.append(
                pd.DataFrame(
                    {
                        "patient_id": pid[m],
                        "arm": arm.name,
                        "day": np.broadcast_to(np.asarray(day, dtype=float), m.shape)[m],
                        "kind": kind,
                        "grade": np.broadcast_to(np.asarray(grade), m.shape)[m].astype(np.int64),
                        "detail": np.broadcast_to(np.asarray(detail, dtype=object), m.shape)[m],
                    }
                )
            )

    tox: Toxicity = dosed.toxicity
    prog = np.asarray(assessed.progression_day, dtype=float)
    resp = np.asarray(assessed.response_day, dtype=float)
    add(np.isfinite(prog), prog, "progression", 0, "")
    add(np.isfinite(resp), resp, "response", 0, np.asarray(assessed.best_response).astype(str))
    add(np.isfinite(death), death, "death", 5, "")
    for kind, label in _TOXICITY_LABELS.items():
        grade, onset, resolved = tox.episode(kind)
        if kind == "irae":  # undated readouts: the grade >= 3 day
            onset = np.where(np.isfinite(onset), onset, tox.irae_day)
        detail = tox.irae_organ if kind == "irae" else label
        add((grade > 0) & np.isfinite(onset), onset, "toxicity", grade, detail)
        add((grade > 0) & np.isfinite(resolved), resolved, "toxicity_resolved", grade, detail)
    if arm.regimen is not None:
        add(np.isfinite(dosed.stop_day), dosed.stop_day, "discontinuation", 0, discontinued)
    if not rows:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in _EVENT_COLUMNS.items()})
    ev = pd.concat(rows, ignore_index=True)
    ev["detail"] = ev["detail"].astype(str)
    # nothing happens after death (toxicity is censored there already: a safety net)
    died = pd.Series(death, index=pid).reindex(ev["patient_id"]).to_numpy(dtype=float)
    ev = ev[~(ev["day"].to_numpy(dtype=float) > died)]
    return ev.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
