"""Virtual populations: covariates, the model parameters they map to, patient ids and seed.

A :class:`VirtualPopulation` is what a trial arm or a simulation solves: one row per patient,
never a list of patient objects. It is sampled in one of two ways:

- :meth:`VirtualPopulation.sample`: parameters drawn around a model's defaults (log-normal
  between-patient variability), body size from :data:`~oncotwin.population.BODY_SIZE`;
- :meth:`VirtualPopulation.for_trial`: patients of a cancer type from the covariate model
  (Gaussian copula of published ICI cohorts), screened by a trial's eligibility and, with a
  published baseline table, matched to it by exponential tilting; each covariate row maps to
  the model's parameters (``metastatic_io``: :func:`~oncotwin.models.metastatic_io_cancers.
  io_parameters`; any other model: its defaults with variability drawn per patient).

Whether patient ``i`` is in a trial population, and everything drawn for it, depends on
(seed, i) alone, so chunks of any size give the same patients.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._random import Stream, check_seed, patient_uniforms
from oncotwin.errors import ParameterError
from oncotwin.population.sampling import Population, sample_population

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["COVARIATE_CITATIONS", "PILOT", "VirtualPopulation", "eligible_patients"]

#: Papers behind the covariate model: the cohorts of the Gaussian copula (LORIS / Chowell
#: training set, Samstein 2019 MSK-IMPACT ICI cohort) and the immune-phenotype assumptions.
COVARIATE_CITATIONS: tuple[str, ...] = (
    "Chang2024",
    "Chowell2022",
    "Samstein2019",
    "Hegde2016",
    "Chen2017",
)

#: Eligible patients drawn to fit the baseline-matching tilt (deterministic pilot sample).
PILOT = 4096

#: Model name -> "module:function" mapping covariate rows to parameters
#: ``f(model, covariates, cancer, *, seed) -> (n, n_parameters)``.
_COVARIATE_MAPS: dict[str, str] = {
    "metastatic_io": "oncotwin.models.metastatic_io_cancers:io_parameters",
}


@dataclass(frozen=True, eq=False)
class VirtualPopulation:
    """Virtual patients of one model.

    Attributes
    ----------
    population
        Parameters ``(n, n_parameters)`` and body size, as the solver takes them.
    covariates
        One row per patient: ``patient_id`` (the run's id), ``screen_id`` (index in the
        eligible stream, trials only) and the covariate columns (age, sex, TMB, PD-L1, ...).
    cancer
        Cancer type of the covariates (``None`` for a plain parameter sample).
    """

    population: Population
    covariates: pd.DataFrame
    cancer: str | None = None

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        return self.population.n

    @property
    def model(self) -> Model:
        return self.population.model

    @property
    def params(self) -> np.ndarray:
        return self.population.params

    @property
    def seed(self) -> int:
        return self.population.seed

    @property
    def weight_kg(self) -> np.ndarray:
        return self.population.weight_kg

    @property
    def bsa_m2(self) -> np.ndarray:
        return self.population.bsa_m2

    @property
    def patient_ids(self) -> np.ndarray:
        return self.covariates["patient_id"].to_numpy(dtype=np.int64)

    def parameter(self, name: str) -> np.ndarray:
        """One parameter's values across patients."""
        return self.population.parameter(name)

    def take(self, rows: np.ndarray | slice) -> VirtualPopulation:
        """The patients ``rows`` (positions), same seed and cancer."""
        cov = self.covariates.iloc[rows].reset_index(drop=True)
        return VirtualPopulation(self.population.take(rows), cov, self.cancer)

    def with_population(self, population: Population) -> VirtualPopulation:
        """The same patients with other parameters (e.g. adjusted for a regimen)."""
        if population.n != self.n:
            raise ParameterError(f"population has {population.n} patients, not {self.n}")
        return replace(self, population=population)

    # ------------------------------------------------------------------ construction
    @classmethod
    def sample(
        cls,
        model: Model,
        n: int,
        *,
        seed: int = 0,
        vary: Mapping[str, float] | None = None,
        first: int = 0,
    ) -> VirtualPopulation:
        """``n`` patients with parameters around ``model``'s defaults (no covariate model).

        Examples
        --------
        >>> import oncotwin as ot
        >>> vp = VirtualPopulation.sample(ot.get_model("kuznetsov1994"), 3, seed=1)
        >>> vp.n, vp.patient_ids.tolist()
        (3, [0, 1, 2])
        """
        pop = sample_population(model, n, seed=seed, vary=vary, first=first)
        ids = np.arange(first, first + pop.n, dtype=np.int64)
        cov = pd.DataFrame(
            {"patient_id": ids, "weight_kg": pop.weight_kg, "height_cm": pop.height_cm}
        )
        return cls(pop, cov, None)

    @classmethod
    def from_covariates(
        cls, model: Model, covariates: pd.DataFrame, cancer: str, *, seed: int
    ) -> VirtualPopulation:
        """Patients whose parameters follow from their covariate rows (``patient_id`` keys
        every random draw, so a patient gets the same parameters in any batch)."""
        ids = covariates["patient_id"].to_numpy(dtype=np.int64)
        target = _COVARIATE_MAPS.get(model.name)
        if target is not None:
            module, fn = target.split(":")
            params = getattr(importlib.import_module(module), fn)(
                model, covariates, cancer, seed=seed
            )
        else:
            params = _default_parameters(model, ids, seed)
        pop = Population(
            model,
            params,
            covariates["weight_kg"].to_numpy(dtype=float),
            covariates["height_cm"].to_numpy(dtype=float),
            covariates["bsa_m2"].to_numpy(dtype=float),
            int(seed),
            {},
            covariates["crcl_ml_min"].to_numpy(dtype=float)
            if "crcl_ml_min" in covariates
            else None,
        )
        return cls(pop, covariates.reset_index(drop=True), cancer)

    @classmethod
    def for_trial(
        cls,
        model: Model,
        cancer: str,
        patient_ids: np.ndarray,
        *,
        seed: int,
        eligibility: Mapping[str, Any] | None = None,
        baseline: Mapping[str, Any] | None = None,
    ) -> VirtualPopulation:
        """Trial patients ``patient_ids`` (positions in the run's eligible, baseline-matched
        stream, see :func:`eligible_patients`)."""
        seed = check_seed(seed)
        ids = np.asarray(patient_ids, dtype=np.int64)
        if ids.size and int(ids.min()) < 0:
            raise ParameterError("patient_ids: give indices >= 0 of the run's patient stream")
        n = int(ids.max()) + 1 if ids.size else 0
        stream = eligible_patients(cancer, n, seed=seed, eligibility=eligibility, baseline=baseline)
        cov = stream.iloc[ids].reset_index(drop=True)
        cov.insert(1, "screen_id", cov["patient_id"].to_numpy())
        cov["patient_id"] = ids
        return cls.from_covariates(model, cov, cancer, seed=seed)


def _default_parameters(model: Model, ids: np.ndarray, seed: int) -> np.ndarray:
    """A model without a covariate map: its defaults with per-patient variability, drawn
    for each patient id from the run's stream (chunk-independent)."""
    if ids.size == 0:
        return np.zeros((0, model.n_parameters))
    lo, hi = int(ids.min()), int(ids.max()) + 1
    block = sample_population(model, hi - lo, seed=seed, first=lo)
    return block.params[ids - lo]


def _tilt(
    cancer: str, eligibility: Mapping[str, Any] | None, baseline: Mapping[str, Any], seed: int
) -> tuple[Sequence[Any], np.ndarray, float]:
    """Exponential tilting fitted on a pilot sample so that the weighted baseline matches
    the published baseline table: (targets, coefficients, log-weight cap)."""
    from oncotwin.population.covariates import BaselineTarget, match_baseline, sample_eligible

    targets = [BaselineTarget.parse(k, v) for k, v in baseline.items()]
    pilot = sample_eligible(cancer, PILOT, eligibility or None, seed=seed)
    w = np.asarray(match_baseline(pilot, targets, method="weights").weights, dtype=float)
    X = np.column_stack([np.asarray(t.values(pilot), dtype=float) for t in targets])
    A = np.column_stack([np.ones(len(pilot)), X])
    coef, *_ = np.linalg.lstsq(A, np.log(np.maximum(w, 1e-300)), rcond=None)
    return targets, coef, float(np.max(A @ coef))


def eligible_patients(
    cancer: str,
    n: int,
    *,
    seed: int,
    eligibility: Mapping[str, Any] | None = None,
    baseline: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The first ``n`` patients of the run's eligible (and, with a published ``baseline``
    table, baseline-matched) covariate stream.

    Matching is rejection sampling with a pilot-fitted tilt: eligible patient ``i`` is kept
    when its own uniform number is below ``w(x_i) / max w``, so whether a patient is in the
    population depends on (seed, i) alone, whatever the chunk.
    """
    from oncotwin.population.covariates import sample_eligible

    if not baseline:
        return sample_eligible(cancer, n, eligibility or None, seed=seed)
    targets, coef, cap = _tilt(cancer, eligibility, baseline, seed)
    want = max(2 * n, 64)
    while True:
        pool = sample_eligible(cancer, want, eligibility or None, seed=seed)
        X = np.column_stack([np.asarray(t.values(pool), dtype=float) for t in targets])
        logw = coef[0] + X @ coef[1:]
        u = patient_uniforms(seed, pool["patient_id"].to_numpy(), stream=Stream.BASELINE_MATCH)
        keep = np.log(u) < np.minimum(logw - cap, 0.0)
        if keep.sum() >= n:
            return pool[keep].iloc[:n].reset_index(drop=True)
        want *= 2
