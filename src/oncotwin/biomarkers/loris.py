"""The LORIS score (LOgistic Regression-based Immunotherapy-response Score) of Chang et al. 2024.

Chang T-G, Cao Y, Sfreddo HJ, ... Chowell D, Morris LGT, Ruppin E. *LORIS robustly predicts
patient outcomes with immune checkpoint blockade therapy using common clinical, pathologic, and
genomic features.* Nature Cancer 5:1158-1175 (2024); citation key ``Chang2024``.

Where the coefficients come from: the published formulas printed in the README of the authors'
repository (GitHub ``rootchang/LORIS``, README sections "Pan-cancer LORIS" and "NSCLC-specific
LORIS", commit ``37d286519644e585c376e5b34b1f81df5e8c7ed7``), which the repository's script
``code/12.Formula_LORIS.py`` derives from the fitted, standardised LLR6 model
(``03.Results/6features/PanCancer/PanCancer_LLR6_10k_ParamCalculate.txt``: coefficient / scale
of the StandardScaler; checked here, e.g. TMB 0.41980 / 11.3287 = 0.0371, bladder
-0.08329 / 0.25067 = -0.3323). The pan-cancer formula reproduces the LORIS column published
with the MSK non-ICB cohort (``MSK_nonICB.csv`` of the same repository's ``AllData.xlsx``)
within 1e-3 (the coefficients are rounded to 4 decimals); ``tests/test_biomarkers.py`` checks
this where the data are present.

Pan-cancer::

    LORIS = 1 / (1 + exp(-S))
    S = 0.0371 min(TMB, 50) - 0.8775 PSTH + 0.5382 albumin - 0.033 min(NLR, 25)
        + 0.0049 min(age, 85) + CTCT - 2.0886

with TMB in mut/Mb (panel sequencing), albumin in g/dL, NLR the neutrophil-to-lymphocyte
ratio, age in years, PSTH 1 if the patient received chemotherapy or targeted therapy before
ICB, and CTCT the cancer-type term (:data:`CANCER_TERMS`). NSCLC-specific::

    S = 0.0353 min(TMB, 50) + 0.0111 PD-L1 TPS[%] - 0.375 PSTH + 0.2924 albumin
        - 0.0103 min(NLR, 25) - 1.5593

Research simulations only: not medical advice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotwin.biomarkers._stats import BiomarkerError

__all__ = [
    "CANCER_TERMS",
    "LORIS_SOURCE",
    "ONCOTWIN_TO_LORIS",
    "loris_nsclc",
    "loris_pan_cancer",
    "loris_score",
]

#: Where the coefficients are printed (see the module docstring).
LORIS_SOURCE = (
    "Chang et al. 2024 Nat Cancer 5:1158 (Chang2024); formulas of the README of "
    "github.com/rootchang/LORIS (commit 37d2865), derived there by code/12.Formula_LORIS.py "
    "from PanCancer_LLR6_10k_ParamCalculate.txt"
)

#: Pan-cancer coefficients (per unit, on the clipped features) and intercept.
PAN_CANCER = {
    "tmb": 0.0371,
    "psth": -0.8775,
    "albumin": 0.5382,
    "nlr": -0.033,
    "age": 0.0049,
    "intercept": -2.0886,
}

#: NSCLC-specific coefficients and intercept.
NSCLC = {
    "tmb": 0.0353,
    "pdl1": 0.0111,
    "psth": -0.375,
    "albumin": 0.2924,
    "nlr": -0.0103,
    "intercept": -1.5593,
}

#: Cancer-type calibration term (CTCT) of the pan-cancer formula; the 16 types of the LORIS
#: training cohort (``CancerType1..16`` of the data, in this order).
CANCER_TERMS: dict[str, float] = {
    "Bladder": -0.3323,
    "Breast": -0.3323,
    "Colorectal": -0.102,
    "Endometrial": -0.0079,
    "Esophageal": 0.55,
    "Gastric": 0.2306,
    "Head & Neck": 0.0678,
    "Hepatobiliary": -0.1189,
    "Melanoma": -0.0086,
    "Mesothelioma": 0.1255,
    "NSCLC": 0.0008,
    "Ovarian": -0.052,
    "Pancreatic": -1.1169,
    "Renal": 0.5451,
    "Sarcoma": 0.0542,
    "SCLC": -0.0033,
}

#: oncotwin cancer names -> LORIS cancer types (cancers LORIS was not trained on are absent:
#: their score is NaN, not a guess).
ONCOTWIN_TO_LORIS: dict[str, str] = {
    "melanoma": "Melanoma",
    "nsclc": "NSCLC",
    "renal_cell": "Renal",
    "urothelial": "Bladder",
    "colorectal": "Colorectal",
    "colorectal_msi_high": "Colorectal",
    "breast_her2": "Breast",
    "triple_negative_breast": "Breast",
    "hepatocellular": "Hepatobiliary",
    "head_and_neck": "Head & Neck",
    "gastric": "Gastric",
    "small_cell_lung": "SCLC",
}


def _expit(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


def _arr(x: object) -> np.ndarray:
    """``x`` as a 1-d float array (a scalar becomes one element, broadcast later)."""
    return np.asarray(x, dtype=float).reshape(-1)


def loris_pan_cancer(
    tmb: object,
    prior_systemic_therapy: object,
    albumin_g_dl: object,
    nlr: object,
    age_yr: object,
    cancer_type: object,
) -> np.ndarray:
    """Pan-cancer LORIS (probability scale, 0-1) per patient.

    ``cancer_type`` takes LORIS names (``"NSCLC"``, ``"Melanoma"``, ...) or oncotwin cancer
    names (``"nsclc"``, ``"renal_cell"``, ...); a cancer LORIS was not trained on gives NaN.

    Examples
    --------
    >>> round(float(loris_pan_cancer(10.0, 0, 4.0, 3.0, 60.0, "Melanoma")[0]), 4)
    0.6506
    """
    t, p, a, r, g, k = np.broadcast_arrays(
        _arr(tmb),
        _arr(prior_systemic_therapy).astype(float),
        _arr(albumin_g_dl),
        _arr(nlr),
        _arr(age_yr),
        np.asarray(cancer_type, dtype=object).reshape(-1),
    )
    term = np.array([_cancer_term(c) for c in k], dtype=float)
    c = PAN_CANCER
    s = (
        c["tmb"] * np.minimum(t, 50.0)
        + c["psth"] * p
        + c["albumin"] * a
        + c["nlr"] * np.minimum(r, 25.0)
        + c["age"] * np.minimum(g, 85.0)
        + term
        + c["intercept"]
    )
    return _expit(s)


def _cancer_term(name: object) -> float:
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return np.nan
    key = str(name)
    if key in CANCER_TERMS:
        return CANCER_TERMS[key]
    if key in ONCOTWIN_TO_LORIS:
        return CANCER_TERMS[ONCOTWIN_TO_LORIS[key]]
    return np.nan


def loris_nsclc(
    tmb: object,
    pdl1_tps_pct: object,
    prior_systemic_therapy: object,
    albumin_g_dl: object,
    nlr: object,
) -> np.ndarray:
    """NSCLC-specific LORIS (probability scale) per patient (PD-L1 TPS in %, 0-100).

    Examples
    --------
    >>> round(float(loris_nsclc(10.0, 50.0, 0, 4.0, 3.0)[0]), 4)
    0.6195
    """
    t, d, p, a, r = np.broadcast_arrays(
        _arr(tmb),
        _arr(pdl1_tps_pct),
        _arr(prior_systemic_therapy).astype(float),
        _arr(albumin_g_dl),
        _arr(nlr),
    )
    c = NSCLC
    s = (
        c["tmb"] * np.minimum(t, 50.0)
        + c["pdl1"] * d
        + c["psth"] * p
        + c["albumin"] * a
        + c["nlr"] * np.minimum(r, 25.0)
        + c["intercept"]
    )
    return _expit(s)


#: Columns :func:`loris_score` reads from a patients table.
LORIS_COLUMNS = (
    "tmb_mut_per_mb",
    "prior_systemic_therapy",
    "albumin_g_dl",
    "nlr",
    "age_yr",
    "cancer_type",
)


def loris_score(patients: pd.DataFrame, *, kind: str = "pan_cancer") -> np.ndarray:
    """LORIS of every row of an oncotwin ``patients`` table (or the cohort frame of
    :func:`oncotwin.biomarkers.chowell_cohort`): ``kind`` ``"pan_cancer"`` or ``"nsclc"``."""
    need = list(LORIS_COLUMNS) + (["pdl1_tps_pct"] if kind == "nsclc" else [])
    missing = [c for c in need if c not in patients.columns]
    if missing:
        raise BiomarkerError(
            f"patients: LORIS needs the columns {missing} (have {list(patients.columns)[:12]}"
            "...); give a patients table with TMB, prior therapy, albumin, NLR, age and cancer"
        )
    psth = patients["prior_systemic_therapy"].astype(float).to_numpy()
    if kind == "pan_cancer":
        return loris_pan_cancer(
            patients["tmb_mut_per_mb"].to_numpy(dtype=float),
            psth,
            patients["albumin_g_dl"].to_numpy(dtype=float),
            patients["nlr"].to_numpy(dtype=float),
            patients["age_yr"].to_numpy(dtype=float),
            patients["cancer_type"].astype(object).to_numpy(),
        )
    if kind == "nsclc":
        return loris_nsclc(
            patients["tmb_mut_per_mb"].to_numpy(dtype=float),
            patients["pdl1_tps_pct"].to_numpy(dtype=float),
            psth,
            patients["albumin_g_dl"].to_numpy(dtype=float),
            patients["nlr"].to_numpy(dtype=float),
        )
    raise BiomarkerError(f"kind: {kind!r} is not a LORIS formula; use 'pan_cancer' or 'nsclc'")
