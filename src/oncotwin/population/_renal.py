"""Renal covariates: serum creatinine, the Cockcroft-Gault creatinine clearance, the true GFR.

A prescriber doses carboplatin by the Calvert formula from an *estimate* of the glomerular
filtration rate, usually the Cockcroft-Gault creatinine clearance; the drug is cleared at the
patient's *true* GFR. Each virtual patient therefore gets

* a serum creatinine [mg/dL], log-normal around a sex-specific median that rises with age above
  a knee (``scr_*`` records of ``covariate_parameters.toml``: Pottel 2008, NHANES III);
* the Cockcroft-Gault creatinine clearance [mL/min], uncapped::

      CrCl = (140 - age) x weight / (72 x SCr) x (0.85 if female)

* the true GFR [mL/min] = CrCl x exp(bias + sd z), with the bias and spread of Cockcroft-Gault
  against measured GFR in cancer patients (``cg_log_bias``, ``cg_log_sd``).

The records are read from ``population/data/covariate_parameters.toml`` on first use; this module
imports nothing heavy, so :func:`oncotwin.population.sample_population` can use it.

Examples
--------
>>> round(float(cockcroft_gault(60.0, 70.0, 1.0, female=False)), 1)
77.8
>>> round(float(cockcroft_gault(60.0, 70.0, 1.0, female=True)), 1)
66.1
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

__all__ = [
    "RENAL_RECORDS",
    "cockcroft_gault",
    "renal_parameters",
    "serum_creatinine",
    "true_gfr",
]

#: The records of ``covariate_parameters.toml`` this module uses.
RENAL_RECORDS: tuple[str, ...] = (
    "scr_median_male",
    "scr_median_female",
    "scr_log_sd",
    "scr_age_knee",
    "scr_age_slope",
    "cg_log_bias",
    "cg_log_sd",
    "default_age_mean",
    "default_age_sd",
    "default_female",
)


@cache
def renal_parameters() -> dict[str, float]:
    """Values of :data:`RENAL_RECORDS` (read once from the package data)."""
    from oncotwin.population._cancers import COVARIATE_PARAMETERS

    return {k: float(COVARIATE_PARAMETERS[k].value) for k in RENAL_RECORDS}


def serum_creatinine(age_yr: Any, female: Any, z: Any) -> np.ndarray:
    """Serum creatinine [mg/dL] of patients of ``age_yr`` and sex with standard normals ``z``:
    ``median(sex) x exp(slope x max(age - knee, 0) + sd x z)``."""
    p = renal_parameters()
    age = np.asarray(age_yr, dtype=float)
    med = np.where(np.asarray(female, dtype=bool), p["scr_median_female"], p["scr_median_male"])
    rise = p["scr_age_slope"] * np.maximum(age - p["scr_age_knee"], 0.0)
    return med * np.exp(rise + p["scr_log_sd"] * np.asarray(z, dtype=float))


def cockcroft_gault(age_yr: Any, weight_kg: Any, scr_mg_dl: Any, *, female: Any) -> np.ndarray:
    """Cockcroft-Gault creatinine clearance [mL/min], uncapped (actual body weight):
    ``(140 - age) x weight / (72 x SCr) x (0.85 if female)``. The formula is for adults; for
    children it is formal only. Never below 1 mL/min (ages above 139 give no clearance)."""
    age = np.asarray(age_yr, dtype=float)
    crcl = (140.0 - age) * np.asarray(weight_kg, float) / (72.0 * np.asarray(scr_mg_dl, float))
    crcl = np.where(np.asarray(female, dtype=bool), 0.85 * crcl, crcl)
    return np.maximum(crcl, 1.0)


def true_gfr(crcl_ml_min: Any, z: Any) -> np.ndarray:
    """The patient's true (measured) GFR [mL/min]: ``CrCl x exp(cg_log_bias + cg_log_sd z)``."""
    p = renal_parameters()
    return np.asarray(crcl_ml_min, float) * np.exp(
        p["cg_log_bias"] + p["cg_log_sd"] * np.asarray(z, dtype=float)
    )
