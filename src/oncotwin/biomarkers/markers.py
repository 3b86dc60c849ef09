"""The markers a biomarker analysis knows, and the analysis frame built from a trial's tables.

A marker is a column of the *analysis frame*: one row per patient with ``patient_id``, the
grouping columns (``arm``, ``cancer_type``, ``drug_class``), the outcome columns
(``response`` bool: confirmed CR or PR, as the ORR counts it; ``pfs_days``, ``pfs_event``,
``os_days``, ``os_event``) and one column per marker. :data:`MARKERS` describes each one
(unit, kind, the strata its per-stratum odds ratios use and, for on-treatment markers, the
landmark day).

Baseline markers are read from the run's ``patients`` table; on-treatment markers
(:data:`ON_TREATMENT`) are derived from the model trajectory by
:func:`oncotwin.biomarkers.ontreatment.on_treatment_markers`.

Research simulations only: not medical advice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotwin.biomarkers._stats import BiomarkerError
from oncotwin.errors import did_you_mean

__all__ = [
    "BASELINE",
    "COMBINATIONS",
    "MARKERS",
    "ON_TREATMENT",
    "OUTCOME_COLUMNS",
    "Marker",
    "baseline_frame",
    "get_marker",
]

#: Outcome columns of an analysis frame.
OUTCOME_COLUMNS = ("response", "pfs_days", "pfs_event", "os_days", "os_event")


@dataclass(frozen=True)
class Marker:
    """One marker.

    ``cuts``: stratum edges for the per-stratum odds ratios (stratum k holds values in
    ``[cuts[k-1], cuts[k])``; the lowest stratum is the reference); empty: tertiles of the
    data. ``categories``: the levels of a categorical marker, reference first (coded 0, 1, ...
    for the AUC, the odds ratio per level step and the hazard ratio). ``landmark_day``: an
    on-treatment marker is analysed only in patients alive and progression-free at that day,
    with survival counted from it.
    """

    name: str
    label: str
    unit: str
    kind: str  # baseline | on-treatment | combination
    column: str = ""
    cuts: tuple[float, ...] = ()
    cut_source: str = ""
    categories: tuple[str, ...] = ()
    landmark_day: float = 0.0

    @property
    def source_column(self) -> str:
        return self.column or self.name


BASELINE: tuple[Marker, ...] = (
    Marker(
        "tmb",
        "TMB",
        "mut/Mb",
        "baseline",
        "tmb_mut_per_mb",
        (10.0,),
        "TMB-high >= 10 mut/Mb (FDA tumour-agnostic pembrolizumab label, KEYNOTE-158)",
    ),
    Marker(
        "pdl1_tps",
        "PD-L1 TPS",
        "%",
        "baseline",
        "pdl1_tps_pct",
        (1.0, 50.0),
        "TPS 1% and 50% (pembrolizumab NSCLC label)",
    ),
    Marker("nlr", "NLR", "ratio", "baseline", "nlr", (), "tertiles"),
    Marker(
        "albumin",
        "albumin",
        "g/dL",
        "baseline",
        "albumin_g_dl",
        (3.5,),
        "3.5 g/dL: hypoalbuminaemia (common laboratory lower limit; assumption)",
    ),
    Marker(
        "ldh",
        "LDH",
        "x ULN",
        "baseline",
        "ldh_ratio_uln",
        (1.0,),
        "upper limit of normal (AJCC 8 melanoma M-category suffix)",
    ),
    Marker("cd8_density", "CD8 density", "cells/mm2", "baseline", "cd8_density_per_mm2"),
    Marker(
        "immune_phenotype",
        "immune phenotype",
        "level",
        "baseline",
        "immune_phenotype",
        categories=("desert", "excluded", "inflamed"),
    ),
    Marker(
        "n_metastatic_sites",
        "metastatic sites",
        "sites",
        "baseline",
        "n_metastatic_sites",
        (2.0, 3.0),
        "1, 2, >= 3 organs",
    ),
    Marker(
        "liver_metastasis",
        "liver metastasis",
        "yes/no",
        "baseline",
        "liver_metastasis",
        (0.5,),
        "present vs absent",
    ),
    Marker(
        "baseline_tumour_size",
        "baseline tumour size",
        "mm",
        "baseline",
        "sum_lesion_diameter_mm",
    ),
    Marker("age", "age", "years", "baseline", "age_yr"),
    Marker("ecog", "ECOG", "points", "baseline", "ecog", (1.0,), "ECOG 0 vs >= 1"),
    Marker(
        "prior_systemic_therapy",
        "prior systemic therapy",
        "yes/no",
        "baseline",
        "prior_systemic_therapy",
        (0.5,),
        "yes vs no",
    ),
)

#: Weeks at which the on-treatment markers are read.
ON_TREATMENT_WEEKS = (3, 6, 9)

ON_TREATMENT: tuple[Marker, ...] = (
    *(
        Marker(
            f"size_change_w{w}",
            f"tumour size change wk {w}",
            "%",
            "on-treatment",
            "",
            (-30.0, 20.0),
            "-30% and +20% (RECIST 1.1 PR and PD thresholds)",
            landmark_day=7.0 * w,
        )
        for w in ON_TREATMENT_WEEKS
    ),
    *(
        Marker(
            f"ctdna_change_w{w}",
            f"ctDNA-like burden change wk {w}",
            "log10 fold",
            "on-treatment",
            "",
            (),
            "tertiles",
            landmark_day=7.0 * w,
        )
        for w in ON_TREATMENT_WEEKS
    ),
    *(
        Marker(
            f"effector_expansion_w{w}",
            f"CD8 effector expansion wk {w}",
            "log2 fold",
            "on-treatment",
            "",
            (),
            "tertiles",
            landmark_day=7.0 * w,
        )
        for w in ON_TREATMENT_WEEKS
    ),
)

COMBINATIONS: tuple[Marker, ...] = (
    Marker("loris", "LORIS (pan-cancer)", "probability", "combination"),
    Marker("loris_nsclc", "LORIS (NSCLC)", "probability", "combination"),
    Marker("logistic_score", "logistic score (5-fold CV)", "logit", "combination"),
)

#: Every marker by name.
MARKERS: dict[str, Marker] = {m.name: m for m in (*BASELINE, *ON_TREATMENT, *COMBINATIONS)}


def get_marker(name: str) -> Marker:
    """The marker ``name``; an unknown name fails with the known ones."""
    try:
        return MARKERS[name]
    except KeyError:
        raise BiomarkerError(
            "markers: " + did_you_mean(name, list(MARKERS), what="marker")
        ) from None


def marker_values(frame: pd.DataFrame, marker: Marker) -> np.ndarray:
    """The marker's values as floats (categories coded 0, 1, ...; unknown levels NaN)."""
    col = frame[marker.name]
    if marker.categories:
        codes = {c: float(i) for i, c in enumerate(marker.categories)}
        return col.astype(object).map(codes).to_numpy(dtype=float)
    if col.dtype == bool or str(col.dtype) == "boolean":
        return col.astype(float).to_numpy()
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def responders(outcomes: pd.DataFrame) -> np.ndarray:
    """Confirmed CR or PR, as the ORR counts it (unconfirmed when there is no
    ``confirmed`` column)."""
    best = outcomes["best_response"].astype(str).to_numpy()
    ok = outcomes["confirmed"].to_numpy(bool) if "confirmed" in outcomes else True
    return np.isin(best, ("CR", "PR")) & ok


def baseline_frame(patients: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The analysis frame of a trial's ``patients`` and ``outcomes`` tables (baseline markers
    only; the combinations are added by the analysis)."""
    if patients is None or len(patients) == 0:
        raise BiomarkerError(
            "patients: the run has no patients table (or it is empty); give the folder of a "
            "finished `oncotwin trial run`"
        )
    need = {"patient_id", "arm"}
    if not need <= set(patients.columns) or "best_response" not in outcomes:
        raise BiomarkerError(
            "patients/outcomes: patient_id, arm and best_response are needed; give the tables "
            "of an oncotwin trial run"
        )
    p = patients.drop_duplicates("patient_id").set_index("patient_id")
    o = outcomes.drop_duplicates("patient_id").set_index("patient_id")
    ids = o.index.intersection(p.index)
    p, o = p.loc[ids], o.loc[ids]
    frame = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "arm": o["arm"].astype(str).to_numpy(),
            "cancer_type": (
                p["cancer_type"].astype(str).to_numpy() if "cancer_type" in p else "unknown"
            ),
            "response": responders(o.reset_index()),
            "pfs_days": o["pfs_days"].to_numpy(dtype=float),
            "pfs_event": o["pfs_event"].to_numpy(dtype=bool),
            "os_days": o["os_days"].to_numpy(dtype=float),
            "os_event": o["os_event"].to_numpy(dtype=bool),
        }
    )
    if "site_liver" in p:
        p = p.assign(liver_metastasis=p["site_liver"].to_numpy(dtype=float) > 0)
    for m in BASELINE:
        if m.source_column in p:
            frame[m.name] = p[m.source_column].to_numpy()
    for extra in (
        "prior_systemic_therapy",
        "tmb_mut_per_mb",
        "albumin_g_dl",
        "nlr",
        "age_yr",
        "pdl1_tps_pct",
    ):
        if extra in p and extra not in frame:
            frame[extra] = p[extra].to_numpy()
    return frame
