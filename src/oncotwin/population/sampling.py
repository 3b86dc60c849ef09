"""Sample virtual patients from a model's default between-patient variability.

Each patient's random numbers derive from the run seed and the patient's index alone (blocks
of :data:`BLOCK` patients, each drawn from its own ``numpy`` generator seeded with
``[seed, block]``), so patient ``i`` is the same whatever the population size, the chunking or
the machine that draws it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from oncotwin._random import BLOCK, check_seed, patient_normals
from oncotwin.errors import ParameterError
from oncotwin.parameters import Parameter
from oncotwin.units import bsa_mosteller

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["BLOCK", "BODY_SIZE", "Population", "patient_normals", "sample_population"]


#: Adult body size of a default virtual patient. Log-normal weight and normal height.
BODY_SIZE: dict[str, Parameter] = {
    "weight_median": Parameter(
        75.0,
        "kg",
        assumption=True,
        reason="typical adult oncology trial patient (pembrolizumab/nivolumab popPK cohorts "
        "report median weights of 73-77 kg); placeholder until covariates come from cohorts",
    ),
    "weight_log_sd": Parameter(
        0.2,
        "1",
        assumption=True,
        reason="gives a 5-95% weight range of ~54-104 kg, as in adult oncology cohorts",
    ),
    "height_mean": Parameter(170.0, "cm", assumption=True, reason="adult mean height, mixed sexes"),
    "height_sd": Parameter(9.0, "cm", assumption=True, reason="adult height SD, mixed sexes"),
}


@dataclass(frozen=True, eq=False)
class Population:
    """A virtual population of one model: parameters and body size, one row per patient."""

    model: Model
    params: np.ndarray
    weight_kg: np.ndarray
    height_cm: np.ndarray
    bsa_m2: np.ndarray
    seed: int
    varied: Mapping[str, float] = field(default_factory=dict)
    #: Cockcroft-Gault creatinine clearance [mL/min] of each patient (uncapped), from age,
    #: weight, sex and serum creatinine: what a prescriber uses to dose by AUC (Calvert);
    #: ``None`` when the population has no renal covariates
    crcl_ml_min: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.params.shape[0])

    def parameter(self, name: str) -> np.ndarray:
        """One parameter's values across patients."""
        return self.params[:, self.model.parameter_index(name)]

    def take(self, rows: slice | np.ndarray) -> Population:
        """A sub-population (same seed and variability)."""
        return Population(
            self.model,
            self.params[rows],
            self.weight_kg[rows],
            self.height_cm[rows],
            self.bsa_m2[rows],
            self.seed,
            self.varied,
            None if self.crcl_ml_min is None else self.crcl_ml_min[rows],
        )


def sample_population(
    model: Model,
    n: int,
    *,
    seed: int = 0,
    vary: Mapping[str, float] | None = None,
    first: int = 0,
) -> Population:
    """Sample ``n`` virtual patients of ``model``.

    Each parameter with ``log_sd > 0`` (or named in ``vary``, name -> SD of the log) is drawn
    log-normally around its default: ``value * exp(log_sd * z)``. Body weight and height follow
    :data:`BODY_SIZE`; BSA is Mosteller's. Each patient also gets a Cockcroft-Gault creatinine
    clearance (:attr:`Population.crcl_ml_min`) from an *assumed* default renal distribution
    (age ~62 +/- 10 yr, 45% women, serum creatinine as in trial populations; records
    ``default_*`` and ``scr_*`` of ``population/data/covariate_parameters.toml``), and a model
    with the parameter ``gfr_ml_min`` (metastatic_io) gets the patient's true GFR, which the
    Cockcroft-Gault estimate misses by its published error (unless ``vary`` names it).

    Parameters
    ----------
    model
        The model.
    n
        Number of patients (>= 1).
    seed
        Run seed: the same seed gives the same patients.
    vary
        Overrides of the between-patient SD of log(parameter); 0 fixes a parameter.
    first
        Index of the first patient (to draw patients ``first..first+n-1`` of a larger run).

    Examples
    --------
    >>> import oncotwin as ot
    >>> pop = sample_population(ot.get_model("kuznetsov1994"), 4, seed=1)
    >>> pop.params.shape
    (4, 10)
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ParameterError(f"patients={n!r}; give a whole number of patients >= 1")
    seed = check_seed(seed)
    sds = {name: p.log_sd for name, p in model.parameters.items()}
    for name, sd in (vary or {}).items():
        model.parameter_index(name)  # unknown names raise with "did you mean"
        if not (isinstance(sd, int | float) and math.isfinite(sd) and sd >= 0):
            raise ParameterError(
                f"variability of {name!r} is {sd!r}; give the SD of log({name}) as a number >= 0"
            )
        sds[name] = float(sd)
    names = list(model.parameter_names)
    log_sd = np.array([sds[k] for k in names])
    z = patient_normals(seed, first, first + int(n), len(names) + 2)
    params = model.default_parameters()[None, :] * np.exp(log_sd[None, :] * z[:, : len(names)])
    b = {k: p.value for k, p in BODY_SIZE.items()}
    weight = b["weight_median"] * np.exp(b["weight_log_sd"] * z[:, -2])
    height = b["height_mean"] + b["height_sd"] * z[:, -1]
    crcl, gfr = _default_renal(seed, first, int(n), weight)
    if "gfr_ml_min" in model.parameters and "gfr_ml_min" not in (vary or {}):
        params[:, model.parameter_index("gfr_ml_min")] = gfr
    params = model.check_parameters(params)
    return Population(
        model,
        params,
        weight,
        height,
        bsa_mosteller(weight, height),
        int(seed),
        {k: v for k, v in sds.items() if v > 0},
        crcl,
    )


def _default_renal(seed: int, first: int, n: int, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cockcroft-Gault CrCl and true GFR [mL/min] of plain virtual patients, from an assumed
    default renal distribution: age normal (``default_age_mean``/``default_age_sd``, clipped
    to 18-90 yr), female with probability ``default_female``, serum creatinine and the
    Cockcroft-Gault error as for trial patients (:mod:`oncotwin.population._renal`). Each
    quantity has its own counter-based stream, so the parameter draws above do not change."""
    from scipy.special import ndtri

    from oncotwin._random import Stream, patient_uniforms
    from oncotwin.population._renal import (
        cockcroft_gault,
        renal_parameters,
        serum_creatinine,
        true_gfr,
    )

    p = renal_parameters()
    ids = np.arange(first, first + n, dtype=np.int64)

    def normals(stream: Stream) -> np.ndarray:
        return ndtri(patient_uniforms(seed, ids, stream))

    age = np.clip(p["default_age_mean"] + p["default_age_sd"] * normals(Stream.RENAL_AGE), 18, 90)
    female = patient_uniforms(seed, ids, Stream.RENAL_SEX) < p["default_female"]
    scr = serum_creatinine(age, female, normals(Stream.RENAL_CREATININE))
    crcl = cockcroft_gault(age, weight, scr, female=female)
    return crcl, true_gfr(crcl, normals(Stream.RENAL_GFR))
