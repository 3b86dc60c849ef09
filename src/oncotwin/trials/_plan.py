"""A trial spec resolved once into what every chunk needs (picklable, sent to workers).

The regimen strings are parsed here, once; the eligibility is split into applied and
recorded-only criteria; scan days, output grid, dosing rules and the response criterion are
fixed. :meth:`TrialPlan.citations` lists every paper a run of the plan uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from oncotwin._constants import DAYS_PER_WEEK
from oncotwin.regimens import DosingRules, Regimen, parse_regimen
from oncotwin.trials._spec_models import PLACEBO
from oncotwin.trials._spec_population import _ELIGIBILITY_ALIASES, DESCRIPTIVE_CRITERIA

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.parameters import ParameterSet
    from oncotwin.trials.spec import TrialSpec

__all__ = [
    "DESCRIPTIVE_CRITERIA",
    "ArmPlan",
    "TrialPlan",
    "eligibility_from_spec",
]

#: Output grid step of trial solves [day] (scan days are added to it).
OUTPUT_EVERY_DAYS = DAYS_PER_WEEK


def eligibility_from_spec(spec: TrialSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the spec's eligibility into applied criteria and recorded-only ones."""
    from oncotwin.population.covariates import ELIGIBILITY_KEYS

    applied: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    for key, value in dict(spec.population.eligibility).items():
        k = _ELIGIBILITY_ALIASES.get(key, key)
        if k in ELIGIBILITY_KEYS:
            applied[k] = value
        else:
            recorded[key] = value
    return applied, recorded


def _regimen_of(texts: tuple[str, ...]) -> Regimen | None:
    parts = [r for r in texts if r.strip().lower() not in PLACEBO]
    return parse_regimen(" with ".join(parts)) if parts else None


@dataclass(frozen=True)
class ArmPlan:
    """One arm: its regimen (``None``: placebo / untreated) and crossover at progression.

    An investigator's-choice arm has ``regimen`` None and ``choices``: (name, regimen, share)
    of each option; a chunk splits its patients among them (:func:`choice_of`).
    """

    name: str
    index: int
    regimen: Regimen | None
    crossover_regimen: Regimen | None = None
    crossover_fraction: float = 0.0
    choices: tuple[tuple[str, Regimen | None, float], ...] = ()

    def choice_of(self, seed: int, ids: np.ndarray) -> np.ndarray:
        """Index of the option each patient of an investigator's-choice arm gets, drawn from
        (seed, patient id) alone (stream ``REGIMEN_CHOICE``)."""
        from oncotwin._random import Stream, patient_uniforms

        u = patient_uniforms(seed, ids, stream=Stream.REGIMEN_CHOICE)
        edges = np.cumsum([share for _, _, share in self.choices])
        return np.minimum(np.searchsorted(edges, u, side="right"), len(self.choices) - 1)

    def option(self, k: int) -> ArmPlan:
        """The arm as option ``k`` of its choices alone (same name, index and crossover)."""
        return replace(self, regimen=self.choices[k][1], choices=())

    @property
    def regimens(self) -> tuple[Regimen, ...]:
        """Every regimen the arm may give (its own or its options'), crossover excluded."""
        found = [self.regimen, *(r for _, r, _ in self.choices)]
        return tuple(r for r in found if r is not None)


def _arm_plans(spec: TrialSpec) -> tuple[ArmPlan, ...]:
    regimens = {arm.name: _regimen_of(arm.regimen) for arm in spec.arms}
    plans = []
    for i, arm in enumerate(spec.arms):
        x = arm.crossover
        cross: Regimen | None = None
        if x is not None:
            cross = parse_regimen(x.regimen) if x.regimen else regimens.get(x.to_arm or "")
        fraction = float(x.fraction) if (x is not None and cross is not None) else 0.0
        choices = tuple((c.name, _regimen_of(c.regimen), c.share) for c in arm.choices)
        plans.append(ArmPlan(arm.name, i, regimens[arm.name], cross, fraction, choices))
    return tuple(plans)


@dataclass(frozen=True, eq=False)
class TrialPlan:
    """Everything a chunk of a trial needs, resolved once from the spec."""

    spec: TrialSpec
    model_name: str
    cancer: str
    seed: int
    n_total: int
    chunk_size: int
    arms: tuple[ArmPlan, ...]
    eligibility: Mapping[str, Any]
    recorded_criteria: Mapping[str, Any]
    baseline: Mapping[str, Any]
    horizon: float
    scan_days: np.ndarray
    t_out: np.ndarray
    rules: DosingRules
    criterion: str
    confirm_min_days: float
    #: typical values that replace the parameter set's for this run (calibration, sensitivity):
    #: each patient's value is scaled by new / typical, so covariate effects and
    #: between-patient variability are kept
    parameters: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_spec(
        cls,
        spec: TrialSpec,
        *,
        patients: int,
        seed: int,
        chunk_size: int,
        parameters: Mapping[str, float] | None = None,
    ) -> TrialPlan:
        """Resolve ``spec`` (unknown cancer or model names fail here, before any work)."""
        from oncotwin.models.metastatic_io_cancers import cancer_set
        from oncotwin.population.covariates import resolve_cancer

        cancer = resolve_cancer(spec.trial.cancer)
        applied, recorded = eligibility_from_spec(spec)
        horizon = float(spec.horizon_days)
        scans = np.asarray(spec.scan_days(horizon), dtype=float)
        scans = scans[scans <= horizon]
        grid = np.append(np.arange(0.0, horizon, OUTPUT_EVERY_DAYS), horizon)
        treatment = spec.treatment
        return cls(
            spec=spec,
            model_name=spec.trial.model,
            cancer=cancer,
            seed=int(seed),
            n_total=int(patients),
            chunk_size=int(chunk_size),
            arms=_arm_plans(spec),
            eligibility=applied,
            recorded_criteria=recorded,
            baseline=dict(getattr(spec.population, "baseline", {}) or {}),
            horizon=horizon,
            scan_days=scans,
            t_out=np.union1d(grid, scans),
            rules=DosingRules.from_treatment(
                treatment.discontinue_on,
                max_duration_months=treatment.max_duration_months,
                max_months_by_class=treatment.max_months_by_class,
            ),
            criterion=cancer_set(cancer).assessment,
            confirm_min_days=float(spec.schedule.confirm_response_weeks) * DAYS_PER_WEEK,
            parameters=dict(parameters or {}),
        )._checked()

    def _checked(self) -> TrialPlan:
        """Refuse overrides of unknown parameters, non-finite or negative values and
        parameters whose typical value is 0 (a switch cannot be scaled)."""
        if self.parameters:
            self.parameter_factors()
        return self

    def parameter_factors(self) -> dict[int, float]:
        """Column -> factor (new typical value / the set's typical value) of the overrides."""
        from oncotwin.errors import ParameterError, did_you_mean

        model = self.model()
        typical = self.parameter_set()
        out: dict[int, float] = {}
        for name, value in self.parameters.items():
            if name not in model.parameters:
                raise ParameterError(
                    "parameters: " + did_you_mean(name, list(model.parameters), what="parameter")
                )
            v = float(value)
            if not math.isfinite(v) or v < 0:
                raise ParameterError(
                    f"parameters: {name}={value!r}; give a finite typical value >= 0"
                )
            base = typical[name].value if name in typical else model.parameters[name].value
            if base == 0:
                raise ParameterError(
                    f"parameters: {name} is 0 in {typical.name}, so it cannot be scaled to "
                    f"{v:g}; change it in a parameter set instead"
                )
            out[model.parameter_index(name)] = v / base
        return out

    def parameters_hash(self) -> str:
        """The parameter set's values hash, combined with the overrides (if any)."""
        import hashlib

        base = self.parameter_set().values_hash()
        if not self.parameters:
            return base
        pairs = sorted(self.parameters.items())
        text = base + ";" + ";".join(f"{k}={float(v)!r}" for k, v in pairs)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def n_chunks(self) -> int:
        return (self.n_total + self.chunk_size - 1) // self.chunk_size

    def chunk_ids(self, chunk_id: int) -> np.ndarray:
        """Patient ids of chunk ``chunk_id``."""
        lo = chunk_id * self.chunk_size
        hi = min(self.n_total, (chunk_id + 1) * self.chunk_size)
        return np.arange(lo, hi, dtype=np.int64)

    def model(self) -> Model:
        from oncotwin.models.registry import get_model

        return get_model(self.model_name)

    def parameter_set(self) -> ParameterSet:
        """The model's parameter set for this trial: the cancer's set where the model has one
        (``<model>/<cancer>``, over the defaults), else the model's defaults."""
        from oncotwin.parameters import ParameterSet, list_parameter_sets

        name = f"{self.model_name}/{self.cancer}"
        if name in list_parameter_sets(self.model_name):
            return ParameterSet.load(name)
        return ParameterSet.load(f"{self.model_name}/default")

    def citations(self) -> tuple[str, ...]:
        """Keys of every paper a run of this plan uses: the model and its parameter sources,
        the drugs dosed (PK and mechanism), the covariate cohorts and the response criterion.
        The trial's own publications are :meth:`publications`."""
        from oncotwin.pharmacology import get_drug
        from oncotwin.population.virtual import COVARIATE_CITATIONS
        from oncotwin.trials.assessment import get_criterion

        model = self.model()
        keys: list[str] = [*model.citations, *model.parameters.citation_keys()]
        keys += self.parameter_set().citations
        for arm in self.arms:
            for regimen in (*arm.regimens, arm.crossover_regimen):
                if regimen is not None:
                    for drug in regimen.drugs:
                        keys += get_drug(drug).citations
        keys += COVARIATE_CITATIONS
        keys.append(get_criterion(self.criterion).citation)
        return tuple(sorted({k for k in keys if k}))

    def publications(self) -> dict[str, str]:
        """The trial's own publications: published arm id -> its source."""
        from oncotwin.trials.targets import published

        out: dict[str, str] = {}
        for arm in self.spec.arms:
            if arm.published is not None:
                out[arm.published.arm_id] = published(arm.published.arm_id).source
        return out
