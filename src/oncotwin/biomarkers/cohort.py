"""The real development cohort: the Chowell MSK pan-cancer ICB training cohort (LORIS).

Chowell D et al., *Improved prediction of immune checkpoint blockade efficacy across multiple
cancer types*, Nat Biotechnol 40:499-506 (2022) (``Chowell2022``), as distributed with Chang
et al. 2024 Nat Cancer 5:1158 (``Chang2024``): sheet ``Chowell_train`` of ``02.Input/
AllData.xlsx`` of GitHub ``rootchang/LORIS`` (commit ``eb87300f``), exported to
``Chowell_train.csv`` with values unchanged (see ``PROVENANCE.md`` beside it). 964 patients
treated with immune checkpoint blockade, 282 responders (RECIST CR/PR). The repository is
GPL-3.0 and the data derive from published supplementary tables, so the file is *not* shipped
with oncotwin: it is read from ``$ONCOTWIN_LORIS_DATA`` or the project's shared data folder
(``shared/data/external/loris-chang2024-icb-cohorts``).

:func:`chowell_cohort` turns it into an analysis frame with the same column names as a virtual
trial's, so that :func:`oncotwin.biomarkers.analyse` runs on both through the same code. The
cohort is the training set of LORIS, so LORIS's AUC in it is in-sample.

Research simulations only: not medical advice.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.biomarkers._stats import BiomarkerError

__all__ = [
    "CHOWELL_FILE",
    "COHORT_SOURCE",
    "DRUG_CLASSES",
    "LORIS_TO_ONCOTWIN",
    "chowell_cohort",
    "find_loris_data",
]

#: File name of the training cohort.
CHOWELL_FILE = "Chowell_train.csv"

#: Environment variable naming the folder that holds it.
ENV = "ONCOTWIN_LORIS_DATA"

#: What the frame is, for tables and plots.
COHORT_SOURCE = (
    "real: Chowell 2022 MSK ICB training cohort (n=964; Chowell_train of rootchang/LORIS "
    "AllData.xlsx, commit eb87300f)"
)

#: ``Drug`` coding of the cohort (Chowell 2022): 0 anti-PD-1/PD-L1, 1 combination with
#: anti-CTLA-4, 2 anti-CTLA-4 alone.
DRUG_CLASSES = {0: "PD-1/PD-L1", 1: "PD-(L)1 + CTLA-4", 2: "CTLA-4"}

#: LORIS cancer types -> oncotwin cancer names (types without an oncotwin cancer keep theirs).
LORIS_TO_ONCOTWIN = {
    "Melanoma": "melanoma",
    "NSCLC": "nsclc",
    "Renal": "renal_cell",
    "Bladder": "urothelial",
    "Colorectal": "colorectal",
    "Head & Neck": "head_and_neck",
    "Gastric": "gastric",
    "Hepatobiliary": "hepatocellular",
    "SCLC": "small_cell_lung",
}

_SUBDIR = "data/external/loris-chang2024-icb-cohorts"
_CANDIDATES = (
    "../shared/data/external/loris-chang2024-icb-cohorts",
    "shared/data/external/loris-chang2024-icb-cohorts",
    "/work/shared/data/external/loris-chang2024-icb-cohorts",
)


def find_loris_data(path: str | Path | None = None) -> Path:
    """The folder holding :data:`CHOWELL_FILE`: ``path``, ``$ONCOTWIN_LORIS_DATA``,
    ``$ONCOTWIN_SHARED/data/external/...``, or the shared data folder next to the working
    directory or the repository."""
    tried: list[str] = []
    options: list[Path] = []
    if path is not None:
        options.append(Path(path))
    elif os.environ.get(ENV):
        options.append(Path(os.environ[ENV]))
    else:
        if os.environ.get("ONCOTWIN_SHARED"):
            options.append(Path(os.environ["ONCOTWIN_SHARED"]) / _SUBDIR)
        repo = Path(__file__).resolve().parents[3]
        options += [Path(c) for c in _CANDIDATES] + [repo / c for c in _CANDIDATES[:2]]
    for p in options:
        folder = p.parent if p.is_file() else p
        tried.append(str(folder))
        if (folder / CHOWELL_FILE).is_file():
            return folder
    raise BiomarkerError(
        f"cohort: {CHOWELL_FILE} not found (looked in {tried}); set ${ENV} to the folder of "
        "the LORIS / Chowell data (shared/data/external/loris-chang2024-icb-cohorts)"
    )


def chowell_cohort(path: str | Path | None = None) -> pd.DataFrame:
    """The Chowell training cohort as an analysis frame.

    Columns: ``patient_id``, ``arm`` (the drug class), ``drug_class``, ``cancer_type``
    (oncotwin names where one exists), ``loris_cancer`` (the cohort's own), the outcomes
    (``response``; ``pfs_days`` and ``os_days`` from months x DAYS_PER_MONTH) and the markers the
    cohort has: ``tmb``, ``pdl1_tps`` (NSCLC mostly; missing elsewhere), ``nlr``,
    ``albumin``, ``age``, ``prior_systemic_therapy``, plus the LORIS input columns.
    """
    folder = find_loris_data(path)
    df = pd.read_csv(folder / CHOWELL_FILE)
    need = [
        "TMB",
        "Albumin",
        "NLR",
        "Age",
        "CancerType",
        "Drug",
        "Response",
        "Systemic_therapy_history",
        "PFS_Months",
        "PFS_Event",
        "OS_Months",
        "OS_Event",
    ]
    missing = [c for c in need if c not in df]
    if missing:
        raise BiomarkerError(f"cohort: {folder / CHOWELL_FILE} lacks the columns {missing}")
    drug = df["Drug"].map(DRUG_CLASSES).fillna("unknown").astype(str)
    loris_cancer = df["CancerType"].astype(str)
    psth = df["Systemic_therapy_history"].astype(int).astype(bool)
    pdl1 = (
        pd.to_numeric(df.get("PDL1_TPS(%)"), errors="coerce")
        if "PDL1_TPS(%)" in df
        else (pd.Series(np.nan, index=df.index))
    )
    return pd.DataFrame(
        {
            "patient_id": df["SAMPLE_ID"].to_numpy() if "SAMPLE_ID" in df else np.arange(len(df)),
            "arm": drug.to_numpy(),
            "drug_class": drug.to_numpy(),
            "cancer_type": loris_cancer.map(lambda c: LORIS_TO_ONCOTWIN.get(c, c)).to_numpy(),
            "loris_cancer": loris_cancer.to_numpy(),
            "response": df["Response"].astype(int).astype(bool).to_numpy(),
            "pfs_days": df["PFS_Months"].to_numpy(dtype=float) * DAYS_PER_MONTH,
            "pfs_event": df["PFS_Event"].astype(int).astype(bool).to_numpy(),
            "os_days": df["OS_Months"].to_numpy(dtype=float) * DAYS_PER_MONTH,
            "os_event": df["OS_Event"].astype(int).astype(bool).to_numpy(),
            "tmb": df["TMB"].to_numpy(dtype=float),
            "pdl1_tps": pdl1.to_numpy(dtype=float),
            "nlr": df["NLR"].to_numpy(dtype=float),
            "albumin": df["Albumin"].to_numpy(dtype=float),
            "age": df["Age"].to_numpy(dtype=float),
            "prior_systemic_therapy": psth.to_numpy(),
            "tmb_mut_per_mb": df["TMB"].to_numpy(dtype=float),
            "pdl1_tps_pct": pdl1.to_numpy(dtype=float),
            "albumin_g_dl": df["Albumin"].to_numpy(dtype=float),
            "age_yr": df["Age"].to_numpy(dtype=float),
        }
    )
