"""Virtual-patient covariates from real ICI cohorts, trial eligibility and baseline matching.

One line: ``sample_covariates(cancer, n, seed=...)`` -> ``Eligibility(...).apply(df)`` ->
``match_baseline(df, {"age_yr": 61, "liver mets": 0.2})``.

Where the numbers come from
---------------------------
* TMB, NLR, albumin, age, BMI (and NSCLC PD-L1 TPS) follow a Gaussian copula fitted by
  ``scripts/fit_covariates.py`` to two public MSK cohorts of ICI-treated patients (Chang 2024
  LORIS / Chowell 2022: 964 patients; Samstein 2019: 1,661 patients, used for the TMB marginals of
  melanoma, NSCLC, renal cell, urothelial, colorectal and breast where it has more patients). The
  shipped file ``population/data/covariates.json`` holds summary statistics only (41 quantiles per
  column, normal-scores correlations, proportions, response rates by group), each with its source
  and licence note; the cohorts are not needed at run time.
* Prostate, large B-cell lymphoma, B-ALL and multiple myeloma are in neither cohort: their TMB and
  age distributions are literature-based assumptions (flagged in the JSON).
* Covariates the cohorts lack (PD-L1 outside NSCLC, ECOG, LDH, metastatic sites and lesion sizes,
  immune phenotype, CD8 density, HER2/CD19/BCMA, height) come from :data:`ASSUMPTIONS` and
  :data:`COVARIATE_PARAMETERS`, every value flagged ``assumption=True`` with the reason. They are
  tied to the copula through shared latent normals (e.g. immune phenotype to TMB and PD-L1, tumour
  burden to NLR and albumin).

Each patient's row depends only on ``(seed, patient index)``: all randomness comes from
:func:`oncotwin.population.sampling.patient_normals`, so drawing patients 0..999 at once or as
0..499 and 500..999 gives the same patients.

Outputs are research simulations, not medical advice.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from oncotwin._random import patient_normals, selection_uniforms
from oncotwin.citations import Citation, get_citation, register_citation
from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError, did_you_mean
from oncotwin.parameters import Parameter, Source
from oncotwin.units import bsa_mosteller

__all__ = [
    "ASSUMPTIONS",
    "CANCER_TYPES",
    "COLUMNS",
    "COVARIATE_PARAMETERS",
    "ELIGIBILITY_KEYS",
    "ORGANS",
    "BaselineMatch",
    "BaselineTarget",
    "CancerAssumptions",
    "Eligibility",
    "baseline_table",
    "cancer_aliases",
    "covariate_data",
    "match_baseline",
    "resolve_cancer",
    "sample_covariates",
    "sample_eligible",
]

# --------------------------------------------------------------------------------------------
# Citations
# --------------------------------------------------------------------------------------------
_CITATIONS = (
    Citation(
        "Chang2024",
        "Chang T-G, Cao Y, Sfreddo HJ, et al., Ruppin E",
        2024,
        "LORIS robustly predicts patient outcomes with immune checkpoint blockade therapy using "
        "common clinical, pathologic, and genomic features",
        "Nature Cancer",
    ),
    Citation(
        "Chowell2022",
        "Chowell D, Yoo S-K, Valero C, et al., Morris LGT",
        2022,
        "Improved prediction of immune checkpoint blockade efficacy across multiple cancer types",
        "Nat Biotechnol 40:499-506",
    ),
    Citation(
        "Samstein2019",
        "Samstein RM, Lee C-H, Shoushtari AN, et al., Chan TA, Morris LGT",
        2019,
        "Tumor mutational load predicts survival after immunotherapy across multiple cancer types",
        "Nat Genet 51:202-206",
        "10.1038/s41588-018-0312-8",
    ),
    Citation(
        "Hegde2016",
        "Hegde PS, Karanikas V, Evers S",
        2016,
        "The where, the when, and the how of immune monitoring for cancer immunotherapies in "
        "the era of checkpoint inhibition",
        "Clin Cancer Res 22(8):1865-1874",
    ),
    Citation(
        "Chen2017",
        "Chen DS, Mellman I",
        2017,
        "Elements of cancer immunity and the cancer-immune set point",
        "Nature 541:321-330",
        "10.1038/nature21349",
    ),
)
for _c in _CITATIONS:
    try:
        get_citation(_c.key)
    except UnknownNameError:
        register_citation(_c)

# --------------------------------------------------------------------------------------------
# Cancer types
# --------------------------------------------------------------------------------------------
#: Canonical cancer-type names (the keys of the shipped covariate file).
CANCER_TYPES: tuple[str, ...] = (
    "melanoma",
    "nsclc",
    "renal_cell",
    "urothelial",
    "colorectal_msi_high",
    "breast_her2",
    "prostate",
    "large_b_cell_lymphoma",
    "b_all",
    "multiple_myeloma",
)
_ALIASES: dict[str, str] = {
    "cutaneous_melanoma": "melanoma",
    "lung": "nsclc",
    "lung_cancer": "nsclc",
    "non_small_cell_lung_cancer": "nsclc",
    "non_small_cell_lung": "nsclc",
    "rcc": "renal_cell",
    "renal": "renal_cell",
    "kidney": "renal_cell",
    "renal_cell_carcinoma": "renal_cell",
    "ccrcc": "renal_cell",
    "bladder": "urothelial",
    "urothelial_carcinoma": "urothelial",
    "uc": "urothelial",
    "crc": "colorectal_msi_high",
    "colorectal": "colorectal_msi_high",
    "msi_h_colorectal": "colorectal_msi_high",
    "msi_high_colorectal": "colorectal_msi_high",
    "colorectal_msi_h": "colorectal_msi_high",
    "breast": "breast_her2",
    "her2_breast": "breast_her2",
    "her2_positive_breast": "breast_her2",
    "breast_cancer": "breast_her2",
    "prostate_cancer": "prostate",
    "mcrpc": "prostate",
    "crpc": "prostate",
    "lbcl": "large_b_cell_lymphoma",
    "dlbcl": "large_b_cell_lymphoma",
    "large_b_cell": "large_b_cell_lymphoma",
    "b_cell_all": "b_all",
    "all": "b_all",
    "b_cell_acute_lymphoblastic_leukemia": "b_all",
    "b_cell_acute_lymphoblastic_leukaemia": "b_all",
    "mm": "multiple_myeloma",
    "myeloma": "multiple_myeloma",
}
_HAEMATOLOGIC = frozenset({"large_b_cell_lymphoma", "b_all", "multiple_myeloma"})


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def cancer_aliases() -> dict[str, str]:
    """Accepted aliases (normalised: lower case, ``_`` for any run of other characters)."""
    return dict(_ALIASES)


def resolve_cancer(name: str) -> str:
    """The canonical cancer-type name of ``name`` (canonical name or alias, any case).

    Examples
    --------
    >>> resolve_cancer("NSCLC"), resolve_cancer("RCC"), resolve_cancer("HER2+ breast")
    ('nsclc', 'renal_cell', 'breast_her2')
    """
    if not isinstance(name, str):
        raise UnknownNameError(f"cancer type must be a string such as 'nsclc', got {name!r}")
    key = _norm_name(name)
    if key in CANCER_TYPES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise UnknownNameError(
        did_you_mean(name, (*CANCER_TYPES, *_ALIASES), what="cancer type")
        + f"; canonical names: {', '.join(CANCER_TYPES)}"
    )


# --------------------------------------------------------------------------------------------
# Literature-based assumptions (everything the cohorts lack)
# --------------------------------------------------------------------------------------------
#: Organs with a metastatic-site column ``site_<organ>`` (lesion count) and ``largest_<organ>_mm``.
ORGANS: tuple[str, ...] = (
    "lung",
    "liver",
    "bone",
    "brain",
    "lymph_node",
    "adrenal",
    "peritoneum",
    "skin",
)


@dataclass(frozen=True, kw_only=True)
class CancerAssumptions:
    """Per-cancer covariate distributions that the cohorts do not provide (all assumptions).

    Attributes
    ----------
    site_probability
        Probability that each organ of :data:`ORGANS` has disease at baseline (primary included).
    pdl1
        ``(P(TPS < 1%), P(TPS >= 50%))`` where the cohort has no PD-L1 data; ``None`` when the
        cohort provides it or the score does not apply (haematologic cancers: NaN).
    phenotype
        ``(inflamed, excluded, desert)`` frequencies, or ``None`` (not applicable: NaN).
    ecog
        ``(P(ECOG 0), P(ECOG 1), P(ECOG 2))`` in trial populations.
    ldh_median_uln
        Median LDH as a multiple of the upper limit of normal (log-normal, SD of log in
        :data:`COVARIATE_PARAMETERS`).
    her2, cd19, bcma
        Probability of target-antigen positivity.
    msi_high
        Probability of MSI-high; ``None`` takes the cohort proportion from the JSON.
    height_cm
        ``(male mean, female mean, SD)``.
    reason
        Why these values; ``assumption`` is always true.
    """

    site_probability: Mapping[str, float]
    pdl1: tuple[float, float] | None
    phenotype: tuple[float, float, float] | None
    ecog: tuple[float, float, float] = (0.5, 0.48, 0.02)
    ldh_median_uln: float = 0.85
    her2: float = 0.0
    cd19: float = 0.0
    bcma: float = 0.0
    msi_high: float | None = None
    height_cm: tuple[float, float, float] = (176.0, 163.0, 7.0)
    reason: str = ""
    assumption: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.site_probability) - set(ORGANS)
        if unknown:
            raise ParameterError(f"site_probability has unknown organs {sorted(unknown)}")
        if self.phenotype is not None and not math.isclose(sum(self.phenotype), 1.0):
            raise ParameterError(f"phenotype frequencies {self.phenotype} must sum to 1")
        if not math.isclose(sum(self.ecog), 1.0):
            raise ParameterError(f"ECOG frequencies {self.ecog} must sum to 1")


def _sites(**p: float) -> dict[str, float]:
    return {o: float(p.get(o, 0.0)) for o in ORGANS}


_SITE_REASON = (
    "metastatic-site frequencies are rounded from the usual ranges reported in pivotal-trial "
    "baseline tables and published series (e.g. melanoma: lung ~35-40%, liver ~15-20%, "
    "brain ~10% with most active brain metastases excluded); not fitted to one table: "
    "assumption, to be matched per trial with match_baseline"
)
_PDL1_REASON = (
    "PD-L1 tumour-cell score (TPS-like) outside the NSCLC cohort: P(<1%) and P(>=50%) "
    "rounded from the PD-L1 subgroups of pivotal trials (e.g. CheckMate 214 RCC ~25% >=1%); "
    "log-linear between 1 and 50%, linear 50-100%"
)
_PHENO_REASON = (
    "immune phenotype frequencies: inflamed 30-40% / excluded 30-40% / desert 20-30% across "
    "solid tumours, shifted by how immunogenic the cancer is; qualitative reading of "
    "Hegde 2016 (Clin Cancer Res) and Chen & Mellman 2017 (Nature)"
)

#: Per-cancer assumptions for covariates the cohorts lack (all flagged as assumptions).
ASSUMPTIONS: dict[str, CancerAssumptions] = {
    "melanoma": CancerAssumptions(
        site_probability=_sites(
            lung=0.40,
            liver=0.20,
            bone=0.12,
            brain=0.08,
            lymph_node=0.60,
            adrenal=0.08,
            peritoneum=0.05,
            skin=0.30,
        ),
        pdl1=(0.50, 0.08),
        phenotype=(0.40, 0.35, 0.25),
        ecog=(0.72, 0.28, 0.0),
        ldh_median_uln=0.85,
        reason=f"{_SITE_REASON}; {_PDL1_REASON}; {_PHENO_REASON}; ECOG 0 ~72% and LDH > ULN "
        "~36% as in CheckMate 067 (approximate)",
    ),
    "nsclc": CancerAssumptions(
        site_probability=_sites(
            lung=0.95,
            liver=0.15,
            bone=0.30,
            brain=0.15,
            lymph_node=0.70,
            adrenal=0.15,
            peritoneum=0.03,
            skin=0.02,
        ),
        pdl1=None,
        phenotype=(0.35, 0.35, 0.30),
        ecog=(0.38, 0.61, 0.01),
        reason=f"{_SITE_REASON}; {_PHENO_REASON}; ECOG ~35-40% 0 as in KEYNOTE-024/189 "
        "(approximate)",
    ),
    "renal_cell": CancerAssumptions(
        site_probability=_sites(
            lung=0.70,
            liver=0.18,
            bone=0.25,
            brain=0.03,
            lymph_node=0.45,
            adrenal=0.10,
            peritoneum=0.03,
            skin=0.02,
        ),
        pdl1=(0.75, 0.03),
        phenotype=(0.40, 0.30, 0.30),
        reason=f"{_SITE_REASON}; {_PDL1_REASON}; {_PHENO_REASON}",
    ),
    "urothelial": CancerAssumptions(
        site_probability=_sites(
            lung=0.35,
            liver=0.25,
            bone=0.25,
            brain=0.02,
            lymph_node=0.75,
            adrenal=0.05,
            peritoneum=0.08,
            skin=0.02,
        ),
        pdl1=(0.65, 0.08),
        phenotype=(0.25, 0.45, 0.30),
        reason=f"{_SITE_REASON}; {_PDL1_REASON}; {_PHENO_REASON} (excluded phenotype common in "
        "urothelial cancer)",
    ),
    "colorectal_msi_high": CancerAssumptions(
        site_probability=_sites(
            lung=0.25,
            liver=0.40,
            bone=0.05,
            brain=0.01,
            lymph_node=0.50,
            adrenal=0.03,
            peritoneum=0.30,
            skin=0.01,
        ),
        pdl1=(0.70, 0.05),
        phenotype=(0.60, 0.25, 0.15),
        msi_high=1.0,
        reason=f"{_SITE_REASON} (peritoneal disease frequent in MSI-high CRC); {_PDL1_REASON}; "
        f"{_PHENO_REASON} (MSI-high: mostly inflamed); every patient MSI-high by definition",
    ),
    "breast_her2": CancerAssumptions(
        site_probability=_sites(
            lung=0.35,
            liver=0.40,
            bone=0.45,
            brain=0.10,
            lymph_node=0.50,
            adrenal=0.03,
            peritoneum=0.03,
            skin=0.10,
        ),
        pdl1=(0.75, 0.02),
        phenotype=(0.25, 0.35, 0.40),
        her2=1.0,
        reason=f"{_SITE_REASON}; {_PDL1_REASON}; {_PHENO_REASON}; every patient HER2-positive "
        "by definition",
    ),
    "prostate": CancerAssumptions(
        site_probability=_sites(
            lung=0.10,
            liver=0.08,
            bone=0.90,
            brain=0.01,
            lymph_node=0.50,
            adrenal=0.02,
            peritoneum=0.01,
        ),
        pdl1=(0.85, 0.01),
        phenotype=(0.10, 0.30, 0.60),
        ecog=(0.55, 0.45, 0.0),
        reason=f"{_SITE_REASON} (mCRPC: bone-dominant); {_PDL1_REASON}; {_PHENO_REASON} "
        "(prostate: mostly immune desert)",
    ),
    "large_b_cell_lymphoma": CancerAssumptions(
        site_probability=_sites(
            lung=0.15,
            liver=0.15,
            bone=0.25,
            lymph_node=0.95,
            adrenal=0.05,
            peritoneum=0.10,
            skin=0.05,
        ),
        pdl1=None,
        phenotype=None,
        ecog=(0.42, 0.58, 0.0),
        ldh_median_uln=1.15,
        cd19=0.97,
        reason="lymphoma sites: nodal in nearly all, extranodal sites rounded from CAR-T trial "
        "populations; ECOG 0-1 only (ZUMA-1/JULIET eligibility); elevated LDH in ~60%; CD19 "
        "expressed in nearly all LBCL; all assumptions",
    ),
    "b_all": CancerAssumptions(
        site_probability=_sites(),
        pdl1=None,
        phenotype=None,
        ecog=(0.6, 0.4, 0.0),
        ldh_median_uln=1.0,
        cd19=0.98,
        height_cm=(145.0, 142.0, 22.0),
        reason="B-ALL is a marrow/blood disease without RECIST lesions (no site involvement); "
        "CD19 required in ELIANA (~98% positive assumed); paediatric heights (ages 3-23); "
        "all assumptions",
    ),
    "multiple_myeloma": CancerAssumptions(
        site_probability=_sites(bone=0.80, lymph_node=0.05, liver=0.03, lung=0.03, skin=0.03),
        pdl1=None,
        phenotype=None,
        ecog=(0.45, 0.53, 0.02),
        bcma=0.98,
        reason="myeloma: lytic bone disease in ~80%, extramedullary soft-tissue sites rare; "
        "BCMA expressed in nearly all myeloma; all assumptions",
    ),
}


def _a(
    value: float,
    unit: str,
    reason: str,
    *,
    lower: float = 0.0,
    upper: float = math.inf,
    source: Source | None = None,
) -> Parameter:
    return Parameter(
        value,
        unit,
        source=source,
        assumption=source is None,
        reason=reason,
        lower=lower,
        upper=upper,
    )


_LATENT = "latent normal-score correlation (Gaussian copula), assumption: "
#: Scalar assumptions shared across cancers: latent correlations, lesion sizes, CD8 densities.
COVARIATE_PARAMETERS: dict[str, Parameter] = {
    "rho_burden_nlr": _a(
        0.25, "1", _LATENT + "higher tumour burden, higher systemic inflammation", lower=-1, upper=1
    ),
    "rho_burden_albumin": _a(
        -0.20, "1", _LATENT + "higher burden, lower albumin", lower=-1, upper=1
    ),
    "rho_ecog_nlr": _a(
        0.20, "1", _LATENT + "worse performance status with inflammation", lower=-1, upper=1
    ),
    "rho_ecog_albumin": _a(
        -0.25, "1", _LATENT + "worse performance status with low albumin", lower=-1, upper=1
    ),
    "rho_ecog_burden": _a(
        0.20, "1", _LATENT + "worse performance status with more disease", lower=-1, upper=1
    ),
    "rho_ldh_burden": _a(0.45, "1", _LATENT + "LDH tracks tumour burden", lower=-1, upper=1),
    "rho_ldh_nlr": _a(
        0.20, "1", _LATENT + "LDH and NLR both rise with aggressive disease", lower=-1, upper=1
    ),
    "rho_phenotype_tmb": _a(
        0.25,
        "1",
        _LATENT + "more neoantigens, more T-cell infiltration (qualitative, Chen & Mellman 2017)",
        lower=-1,
        upper=1,
    ),
    "rho_phenotype_pdl1": _a(
        0.35,
        "1",
        _LATENT + "PD-L1 is induced by IFN-gamma of infiltrating T cells (adaptive resistance)",
        lower=-1,
        upper=1,
    ),
    "rho_msi_tmb": _a(0.60, "1", _LATENT + "MSI-high tumours are hypermutated", lower=-1, upper=1),
    "site_burden_loading": _a(
        0.30,
        "1",
        "loading of organ involvement on the burden latent: "
        "more burden, more organs involved; assumption",
        upper=1,
    ),
    "size_burden_loading": _a(
        0.40, "1", "loading of lesion size and count on the burden latent; assumption", upper=1
    ),
    "lesion_size_log_sd": _a(
        0.50,
        "1",
        "between-patient SD of log(largest lesion diameter); "
        "gives a 5-95% range of ~0.45-2.3x the median; assumption",
    ),
    "ldh_log_sd": _a(
        0.45,
        "1",
        "SD of log(LDH/ULN): with median 0.85 x ULN, ~36% of patients "
        "above ULN as in melanoma trials; assumption",
    ),
    "cd8_inflamed": _a(
        500.0,
        "1/mm**2",
        "median intratumoral CD8+ density of inflamed tumours; "
        "order of magnitude from IHC series, qualitative (Hegde 2016); "
        "assumption",
    ),
    "cd8_excluded": _a(
        100.0,
        "1/mm**2",
        "median intratumoral CD8+ density of excluded tumours "
        "(T cells held at the margin); assumption",
    ),
    "cd8_desert": _a(
        20.0, "1/mm**2", "median intratumoral CD8+ density of desert tumours; assumption"
    ),
    "cd8_log_sd": _a(0.70, "1", "SD of log(CD8 density) within a phenotype; assumption"),
    "second_lesion_ratio": _a(
        0.6,
        "1",
        "second target lesion of an organ as a fraction of its largest (RECIST allows two per "
        "organ); assumption",
        upper=1,
    ),
    "measurable_mm": _a(
        10.0,
        "mm",
        "RECIST 1.1 measurable non-nodal lesion: longest diameter "
        ">= 10 mm (Eisenhauer 2009); bone without soft tissue is non-measurable",
    ),
    "measurable_node_mm": _a(
        15.0, "mm", "RECIST 1.1 measurable lymph node: short axis >= 15 mm (Eisenhauer 2009)"
    ),
}

#: Per organ: (mean extra lesions beyond the first, Poisson; median largest diameter [mm]).
#: Assumption: rounded typical values of metastatic trial populations (lymph node: short axis).
LESIONS: dict[str, tuple[float, float]] = {
    "lung": (1.5, 22.0),
    "liver": (1.5, 30.0),
    "bone": (2.0, 25.0),
    "brain": (0.5, 12.0),
    "lymph_node": (1.5, 22.0),
    "adrenal": (0.2, 25.0),
    "peritoneum": (1.0, 25.0),
    "skin": (1.0, 18.0),
}

#: Output columns of :func:`sample_covariates`, in order.
COLUMNS: tuple[str, ...] = (
    "patient_id",
    "cancer_type",
    "tmb_mut_per_mb",
    "pdl1_tps_pct",
    "nlr",
    "albumin_g_dl",
    "age_yr",
    "bmi_kg_m2",
    "height_cm",
    "weight_kg",
    "bsa_m2",
    "sex",
    "prior_systemic_therapy",
    "ecog",
    "ldh_ratio_uln",
    "immune_phenotype",
    "cd8_density_per_mm2",
    "msi_high",
    "her2_positive",
    "cd19_positive",
    "bcma_positive",
    "n_metastatic_sites",
    *(f"site_{o}" for o in ORGANS),
    *(f"largest_{o}_mm" for o in ORGANS),
    "sum_lesion_diameter_mm",
    "measurable_disease",
)

# Latent layout: column j of patient_normals(seed, lo, hi, N_LATENT) always feeds the same
# covariate, so adding a covariate later (in the reserved columns) changes no existing draw.
_COPULA_Z = slice(0, 6)
_Z_SEX, _Z_PRIOR, _Z_HEIGHT, _Z_ECOG, _Z_LDH, _Z_BURDEN = 6, 7, 8, 9, 10, 11
_Z_PHENO, _Z_CD8, _Z_MSI, _Z_HER2, _Z_CD19, _Z_BCMA = 12, 13, 14, 15, 16, 17
_Z_SITE, _Z_COUNT, _Z_SIZE = 18, 26, 34
_N_LATENT = 48
_PHENOTYPES = ("desert", "excluded", "inflamed")


# --------------------------------------------------------------------------------------------
# The shipped fitted distributions
# --------------------------------------------------------------------------------------------
@cache
def covariate_data() -> dict[str, Any]:
    """The shipped JSON of fitted covariate distributions (read once; treat as read-only)."""
    text = resources.files("oncotwin.population").joinpath("data/covariates.json").read_text()
    return json.loads(text)


@dataclass(frozen=True, eq=False)
class _Spec:
    """Arrays prepared from the JSON + assumptions for one cancer type."""

    name: str
    z_knots: np.ndarray
    marginals: dict[str, tuple[str, np.ndarray]]
    pdl1: tuple[float, np.ndarray] | None
    chol: np.ndarray
    p_male: float
    p_prior: float
    p_msi: float
    lit: CancerAssumptions


def _pdl1_from_anchors(p_lt1: float, p_ge50: float, probs: np.ndarray) -> np.ndarray:
    """Quantiles of the positive part (TPS >= 1) from P(<1%) and P(>=50%): log-linear 1-50%."""
    r = p_ge50 / (1.0 - p_lt1)
    v = np.asarray(probs)
    low = np.exp(np.log(50.0) * np.clip(v / (1.0 - r), 0, 1))
    high = 50.0 + 50.0 * np.clip((v - (1.0 - r)) / r, 0, 1) if r > 0 else low
    return np.where(v <= 1.0 - r, low, high)


def _transform(kind: str, x: np.ndarray) -> np.ndarray:
    return {"log1p": np.log1p, "log": np.log, "identity": np.asarray}[kind](x)


def _inverse(kind: str, y: np.ndarray) -> np.ndarray:
    return {"log1p": np.expm1, "log": np.exp, "identity": np.asarray}[kind](y)


@cache
def _spec(name: str) -> _Spec:
    doc = covariate_data()
    entry = doc["cancers"][name]
    probs = np.asarray(doc["probabilities"])
    cols = doc["copula_columns"]
    lit = ASSUMPTIONS[name]
    marg = {}
    for c in cols:
        m = entry["columns"].get(c)
        if c == "pdl1_tps_pct":
            continue
        t = m["transform"]
        marg[c] = (t, _transform(t, np.asarray(m["quantiles"], float)))
    p = entry["columns"].get("pdl1_tps_pct")
    if p is not None:
        pdl1 = (float(p["p_zero"]), np.asarray(p["positive_quantiles"], float))
    elif lit.pdl1 is not None:
        pdl1 = (lit.pdl1[0], _pdl1_from_anchors(*lit.pdl1, probs))
    else:
        pdl1 = None
    # Extended latent correlation: copula (6) + burden, ecog, ldh, phenotype, msi.
    k = len(cols)
    r = np.eye(k + 5)
    r[:k, :k] = np.asarray(entry["correlation"]["matrix"], float)
    ix = {c: i for i, c in enumerate(cols)}
    B, E, L, P, M = k, k + 1, k + 2, k + 3, k + 4
    cp = {key: v.value for key, v in COVARIATE_PARAMETERS.items()}
    pairs = [
        (B, ix["nlr"], cp["rho_burden_nlr"]),
        (B, ix["albumin_g_dl"], cp["rho_burden_albumin"]),
        (E, ix["nlr"], cp["rho_ecog_nlr"]),
        (E, ix["albumin_g_dl"], cp["rho_ecog_albumin"]),
        (E, B, cp["rho_ecog_burden"]),
        (L, B, cp["rho_ldh_burden"]),
        (L, ix["nlr"], cp["rho_ldh_nlr"]),
        (P, ix["tmb_mut_per_mb"], cp["rho_phenotype_tmb"]),
        (P, ix["pdl1_tps_pct"], cp["rho_phenotype_pdl1"]),
        (M, ix["tmb_mut_per_mb"], cp["rho_msi_tmb"]),
    ]
    for i, j, v in pairs:
        r[i, j] = r[j, i] = v
    w, vec = np.linalg.eigh(r)
    if w.min() < 1e-6:  # the assumed links clash with the fitted block: nearest valid matrix
        r = (vec * np.maximum(w, 1e-6)) @ vec.T
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
    props = entry["proportions"]
    msi = props.get("msi_high")
    p_msi = lit.msi_high if lit.msi_high is not None else (msi["value"] if msi else 0.0)
    return _Spec(
        name=name,
        z_knots=stats.norm.ppf(probs),
        marginals=marg,
        pdl1=pdl1,
        chol=np.linalg.cholesky(r),
        p_male=float(props["male"]["value"]),
        p_prior=float(props["prior_systemic_therapy"]["value"]),
        p_msi=float(p_msi),
        lit=lit,
    )


def _check_count(value: Any, what: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ParameterError(f"{what}={value!r}; give a whole number >= {minimum}")
    return int(value)


def _above(z: np.ndarray, p: float) -> np.ndarray:
    """True with probability ``p`` for standard-normal ``z`` (monotone in ``z``)."""
    if p <= 0:
        return np.zeros(z.shape, bool)
    if p >= 1:
        return np.ones(z.shape, bool)
    return z > stats.norm.ppf(1.0 - p)


def sample_covariates(cancer: str, n: int, *, seed: int, start: int = 0) -> pd.DataFrame:
    """Sample baseline covariates of ``n`` virtual patients with ``cancer``.

    Parameters
    ----------
    cancer
        Cancer type: a name of :data:`CANCER_TYPES` or an alias ("NSCLC", "RCC", "lung", ...).
    n
        Number of patients (>= 0).
    seed
        Run seed (>= 0).
    start
        Index of the first patient: rows are patients ``start .. start + n - 1`` of the run.

    Returns
    -------
    pandas.DataFrame
        One row per patient with the columns of :data:`COLUMNS`: ``tmb_mut_per_mb``,
        ``pdl1_tps_pct`` (0 means < 1%; NaN for haematologic cancers), ``nlr``,
        ``albumin_g_dl``, ``age_yr``, ``bmi_kg_m2``, ``height_cm``, ``weight_kg``, ``bsa_m2``
        (Mosteller), ``sex`` ("M"/"F"), ``prior_systemic_therapy``, ``ecog`` (0-2),
        ``ldh_ratio_uln``, ``immune_phenotype`` (desert/excluded/inflamed; NaN for haematologic),
        ``cd8_density_per_mm2`` (intratumoral CD8+ cells/mm²), ``msi_high``, ``her2_positive``,
        ``cd19_positive``, ``bcma_positive``, ``n_metastatic_sites`` (organs with disease),
        ``site_<organ>`` (lesion count), ``largest_<organ>_mm`` (0 without disease; lymph nodes:
        short axis), ``sum_lesion_diameter_mm`` (RECIST-like: up to two measurable lesions
        per organ, five in all) and ``measurable_disease`` (one lesion >= 10 mm, node
        >= 15 mm; bone does not count).

    Examples
    --------
    >>> df = sample_covariates("NSCLC", 3, seed=1)
    >>> df.patient_id.tolist(), df.cancer_type.iloc[0]
    ([0, 1, 2], 'nsclc')
    >>> bool((sample_covariates("nsclc", 5, seed=1, start=1).tmb_mut_per_mb.to_numpy()[:2]
    ...       == df.tmb_mut_per_mb.to_numpy()[1:]).all())
    True
    """
    name = resolve_cancer(cancer)
    n = _check_count(n, "n", minimum=0)
    start = _check_count(start, "start", minimum=0)
    seed = _check_count(seed, "seed", minimum=0)
    sp = _spec(name)
    lit = sp.lit
    z = patient_normals(seed, start, start + n, _N_LATENT)
    base = np.column_stack([z[:, _COPULA_Z], z[:, [_Z_BURDEN, _Z_ECOG, _Z_LDH, _Z_PHENO, _Z_MSI]]])
    x = base @ sp.chol.T
    (x_tmb, x_pdl1, x_nlr, x_alb, x_age, x_bmi, x_bur, x_ecog, x_ldh, x_phen, x_msi) = x.T

    def marginal(col: str, xx: np.ndarray) -> np.ndarray:
        t, knots = sp.marginals[col]
        return _inverse(t, np.interp(xx, sp.z_knots, knots))

    out: dict[str, Any] = {
        "patient_id": np.arange(start, start + n, dtype=np.int64),
        "cancer_type": np.full(n, name, dtype=object),
        "tmb_mut_per_mb": np.maximum(marginal("tmb_mut_per_mb", x_tmb), 0.0),
    }
    if sp.pdl1 is None:
        out["pdl1_tps_pct"] = np.full(n, np.nan)
    else:
        p0, posq = sp.pdl1
        u = special.ndtr(x_pdl1)
        v = np.clip((u - p0) / (1.0 - p0), 0.0, 1.0)
        probs = special.ndtr(sp.z_knots)
        out["pdl1_tps_pct"] = np.where(u < p0, 0.0, np.interp(v, probs, posq))
    out["nlr"] = marginal("nlr", x_nlr)
    out["albumin_g_dl"] = marginal("albumin_g_dl", x_alb)
    out["age_yr"] = marginal("age_yr", x_age)
    out["bmi_kg_m2"] = marginal("bmi_kg_m2", x_bmi)
    male = _above(-z[:, _Z_SEX], sp.p_male)
    hm, hf, hsd = lit.height_cm
    height = np.clip(np.where(male, hm, hf) + hsd * z[:, _Z_HEIGHT], 90.0, 210.0)
    weight = out["bmi_kg_m2"] * (height / 100.0) ** 2
    out["height_cm"] = height
    out["weight_kg"] = weight
    out["bsa_m2"] = bsa_mosteller(weight, height) if n else np.empty(0)
    out["sex"] = np.where(male, "M", "F").astype(object)
    out["prior_systemic_therapy"] = _above(z[:, _Z_PRIOR], sp.p_prior)
    e0, e1, _ = lit.ecog
    u_e = special.ndtr(x_ecog)
    out["ecog"] = (u_e > e0).astype(np.int64) + (u_e > e0 + e1)
    cp = {k: v.value for k, v in COVARIATE_PARAMETERS.items()}
    out["ldh_ratio_uln"] = lit.ldh_median_uln * np.exp(cp["ldh_log_sd"] * x_ldh)
    if lit.phenotype is None:
        out["immune_phenotype"] = pd.Categorical([None] * n, categories=_PHENOTYPES)
        out["cd8_density_per_mm2"] = np.full(n, np.nan)
    else:
        _, excluded, desert = lit.phenotype
        u_p = special.ndtr(x_phen)
        code = (u_p > desert).astype(np.int64) + (u_p > desert + excluded)
        out["immune_phenotype"] = pd.Categorical.from_codes(code, categories=_PHENOTYPES)
        med = np.array([cp["cd8_desert"], cp["cd8_excluded"], cp["cd8_inflamed"]])[code]
        out["cd8_density_per_mm2"] = med * np.exp(cp["cd8_log_sd"] * z[:, _Z_CD8])
    out["msi_high"] = _above(x_msi, sp.p_msi)
    out["her2_positive"] = _above(z[:, _Z_HER2], lit.her2)
    out["cd19_positive"] = _above(z[:, _Z_CD19], lit.cd19)
    out["bcma_positive"] = _above(z[:, _Z_BCMA], lit.bcma)
    out.update(_lesions(z, x_bur, lit, cp=cp))
    return pd.DataFrame(out, columns=list(COLUMNS))


def _lesions(
    z: np.ndarray, burden: np.ndarray, lit: CancerAssumptions, *, cp: dict
) -> dict[str, np.ndarray]:
    """Metastatic sites, lesion counts and largest diameters (vectorised over patients)."""
    k = len(ORGANS)
    p = np.array([lit.site_probability[o] for o in ORGANS])
    a = cp["site_burden_loading"]
    s = a * burden[:, None] + math.sqrt(1 - a * a) * z[:, _Z_SITE : _Z_SITE + k]
    thr = stats.norm.ppf(1.0 - np.clip(p, 1e-12, 1 - 1e-12))
    involved = (s > thr) & (p > 0)
    if p.max() > 0:  # a metastatic patient has disease somewhere: the likeliest organ
        none = ~involved.any(axis=1)
        margin = np.where(p > 0, s - thr, -np.inf)
        involved[none, np.argmax(margin[none], axis=1)] = True
    b = cp["size_burden_loading"]
    zc = b * burden[:, None] + math.sqrt(1 - b * b) * z[:, _Z_COUNT : _Z_COUNT + k]
    zs = b * burden[:, None] + math.sqrt(1 - b * b) * z[:, _Z_SIZE : _Z_SIZE + k]
    extra_mean = np.array([LESIONS[o][0] for o in ORGANS])
    size_med = np.array([LESIONS[o][1] for o in ORGANS])
    # Poisson quantile by a CDF table per organ (scipy's vectorised ppf is ~50x slower).
    u = special.ndtr(zc)
    ks = np.arange(20)
    extra = np.empty(u.shape, np.int64)
    for j, mu in enumerate(extra_mean):  # a loop over organs, not patients
        extra[:, j] = np.searchsorted(stats.poisson.cdf(ks, mu), u[:, j], side="left")
    counts = np.where(involved, 1 + np.minimum(extra, 19), 0).astype(np.int64)
    largest = np.maximum(size_med * np.exp(cp["lesion_size_log_sd"] * zs), 5.0)
    largest = np.where(involved, largest, 0.0)
    limit = np.array(
        [cp["measurable_node_mm"] if o == "lymph_node" else cp["measurable_mm"] for o in ORGANS]
    )
    measurable_organ = (largest >= limit) & (np.array(ORGANS) != "bone")
    # RECIST-like targets: up to two lesions per organ (the second a fixed fraction of the
    # largest when the organ has >= 2 lesions and it is still measurable), five in all.
    second = largest * cp["second_lesion_ratio"]
    second_ok = measurable_organ & (counts >= 2) & (second >= limit)
    cand = np.concatenate(
        [np.where(measurable_organ, largest, 0.0), np.where(second_ok, second, 0.0)], axis=1
    )
    target = -np.sort(-cand, axis=1)[:, :5]
    out: dict[str, np.ndarray] = {"n_metastatic_sites": involved.sum(axis=1).astype(np.int64)}
    for j, o in enumerate(ORGANS):
        out[f"site_{o}"] = counts[:, j]
    for j, o in enumerate(ORGANS):
        out[f"largest_{o}_mm"] = largest[:, j]
    out["sum_lesion_diameter_mm"] = target.sum(axis=1)
    out["measurable_disease"] = measurable_organ.any(axis=1)
    return out


# --------------------------------------------------------------------------------------------
# Eligibility
# --------------------------------------------------------------------------------------------
def _opt_number(name: str, value: Any, lo: float, hi: float, example: str) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (lo <= float(value) <= hi)
    ):
        raise ParameterError(
            f"Eligibility {name}={value!r} is invalid; give a number in [{lo:g}, {hi:g}] "
            f"(e.g. {name}={example}) or None for no limit"
        )


@dataclass(frozen=True, kw_only=True)
class Eligibility:
    """Trial eligibility criteria; ``None`` (or ``False`` for the flags) means no criterion.

    Examples
    --------
    >>> e = Eligibility(pdl1_tps_min=50, ecog_max=1, no_brain_mets=True)
    >>> e.describe()
    'PD-L1 TPS >= 50%; ECOG <= 1; no brain metastases'
    >>> df = sample_covariates("nsclc", 200, seed=3)
    >>> bool((df[e.apply(df)].pdl1_tps_pct >= 50).all())
    True
    """

    pdl1_tps_min: float | None = None
    pdl1_tps_max: float | None = None
    tmb_min: float | None = None
    ecog_max: int | None = None
    measurable_disease: bool = False
    no_brain_mets: bool = False
    her2_positive: bool | None = None
    msi_high: bool | None = None
    cd19_positive: bool | None = None
    bcma_positive: bool | None = None
    age_min: float | None = None
    age_max: float | None = None

    def __post_init__(self) -> None:
        _opt_number("pdl1_tps_min", self.pdl1_tps_min, 0, 100, "50")
        _opt_number("pdl1_tps_max", self.pdl1_tps_max, 0, 100, "49")
        _opt_number("tmb_min", self.tmb_min, 0, 1e4, "10")
        _opt_number("age_min", self.age_min, 0, 120, "18")
        _opt_number("age_max", self.age_max, 0, 120, "75")
        if self.ecog_max is not None and (
            isinstance(self.ecog_max, bool)
            or not isinstance(self.ecog_max, int | np.integer)
            or not 0 <= self.ecog_max <= 4
        ):
            raise ParameterError(
                f"Eligibility ecog_max={self.ecog_max!r} is invalid; give a whole number 0-4 "
                "(e.g. ecog_max=1) or None for no limit"
            )
        for f in ("measurable_disease", "no_brain_mets"):
            if not isinstance(getattr(self, f), bool | np.bool_):
                raise ParameterError(
                    f"Eligibility {f}={getattr(self, f)!r} is invalid; give True or False"
                )
        for f in ("her2_positive", "msi_high", "cd19_positive", "bcma_positive"):
            v = getattr(self, f)
            if v is not None and not isinstance(v, bool | np.bool_):
                raise ParameterError(
                    f"Eligibility {f}={v!r} is invalid; give True (required), False (excluded) "
                    "or None (either)"
                )
        for lo, hi in (("pdl1_tps_min", "pdl1_tps_max"), ("age_min", "age_max")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ParameterError(
                    f"Eligibility {lo}={a!r} is above {hi}={b!r}; no patient could qualify; "
                    f"give {lo} <= {hi}"
                )

    @classmethod
    def from_dict(cls, criteria: Mapping[str, Any]) -> Eligibility:
        """Build from a mapping (e.g. a spec file's ``[population] eligibility`` table).

        Examples
        --------
        >>> Eligibility.from_dict({"pdl1_tps_min": 50}).pdl1_tps_min
        50
        """
        for key in criteria:
            if key not in ELIGIBILITY_KEYS:
                raise UnknownNameError(
                    did_you_mean(str(key), ELIGIBILITY_KEYS, what="eligibility field")
                )
        return cls(**dict(criteria))

    def apply(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the eligible rows of a :func:`sample_covariates` frame.

        Missing values (e.g. PD-L1 of haematologic cancers) fail any criterion on them.
        """
        _require(df, ("pdl1_tps_pct", "tmb_mut_per_mb", "ecog", "age_yr"))
        ok = np.ones(len(df), bool)
        pdl1 = df["pdl1_tps_pct"].to_numpy(float)
        if self.pdl1_tps_min is not None:
            ok &= pdl1 >= self.pdl1_tps_min
        if self.pdl1_tps_max is not None:
            ok &= pdl1 <= self.pdl1_tps_max
        if self.tmb_min is not None:
            ok &= df["tmb_mut_per_mb"].to_numpy(float) >= self.tmb_min
        if self.ecog_max is not None:
            ok &= df["ecog"].to_numpy() <= self.ecog_max
        if self.measurable_disease:
            ok &= df["measurable_disease"].to_numpy(bool)
        if self.no_brain_mets:
            ok &= df["site_brain"].to_numpy() == 0
        for f in ("her2_positive", "msi_high", "cd19_positive", "bcma_positive"):
            want = getattr(self, f)
            if want is not None:
                ok &= df[f].to_numpy(bool) == bool(want)
        age = df["age_yr"].to_numpy(float)
        if self.age_min is not None:
            ok &= age >= self.age_min
        if self.age_max is not None:
            ok &= age <= self.age_max
        return ok

    def describe(self) -> str:
        """The criteria in words (``"all patients"`` when none)."""
        parts = []
        if self.pdl1_tps_min is not None:
            parts.append(f"PD-L1 TPS >= {self.pdl1_tps_min:g}%")
        if self.pdl1_tps_max is not None:
            parts.append(f"PD-L1 TPS <= {self.pdl1_tps_max:g}%")
        if self.tmb_min is not None:
            parts.append(f"TMB >= {self.tmb_min:g} mut/Mb")
        if self.ecog_max is not None:
            parts.append(f"ECOG <= {self.ecog_max}")
        if self.measurable_disease:
            parts.append("measurable disease (a lesion >= 10 mm, node >= 15 mm)")
        if self.no_brain_mets:
            parts.append("no brain metastases")
        for f, label in (
            ("her2_positive", "HER2-positive"),
            ("msi_high", "MSI-high"),
            ("cd19_positive", "CD19-positive"),
            ("bcma_positive", "BCMA-positive"),
        ):
            v = getattr(self, f)
            if v is not None:
                parts.append(label if v else f"not {label}")
        if self.age_min is not None or self.age_max is not None:
            lo = "" if self.age_min is None else f"{self.age_min:g}"
            hi = "" if self.age_max is None else f"{self.age_max:g}"
            parts.append(
                f"age {lo}-{hi} yr" if lo and hi else f"age {'>= ' + lo if lo else '<= ' + hi} yr"
            )
        return "; ".join(parts) if parts else "all patients"


#: The fields of :class:`Eligibility` (for spec-file validation).
ELIGIBILITY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Eligibility))


def _require(df: pd.DataFrame, cols: Iterable[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ParameterError(
            f"the frame lacks columns {missing}; pass a frame from sample_covariates()"
        )


def sample_eligible(
    cancer: str,
    n: int,
    eligibility: Eligibility | Mapping[str, Any] | None = None,
    *,
    seed: int,
    block: int = 4096,
    max_screened: int = 2_000_000,
) -> pd.DataFrame:
    """The first ``n`` eligible patients (by patient index) of run ``seed``.

    Patients are drawn in blocks of ``block`` and screened; as each patient depends only on
    ``(seed, index)``, the result does not depend on ``block``. ``df.attrs["screened"]`` is the
    number of patients screened to find them (index of the last one + 1).

    Examples
    --------
    >>> df = sample_eligible("nsclc", 10, Eligibility(pdl1_tps_min=50), seed=0)
    >>> len(df), bool((df.pdl1_tps_pct >= 50).all())
    (10, True)
    """
    n = _check_count(n, "n", minimum=1)
    block = _check_count(block, "block", minimum=1)
    if eligibility is None:
        elig = Eligibility()
    elif isinstance(eligibility, Eligibility):
        elig = eligibility
    else:
        elig = Eligibility.from_dict(eligibility)
    chunks: list[pd.DataFrame] = []
    found, start = 0, 0
    while found < n:
        if start >= max_screened:
            raise OncotwinError(
                f"only {found} of {n} patients with {resolve_cancer(cancer)!r} met "
                f"'{elig.describe()}' among {start} screened; loosen the eligibility or raise "
                "max_screened"
            )
        df = sample_covariates(cancer, min(block, max_screened - start), seed=seed, start=start)
        keep = df[elig.apply(df)]
        chunks.append(keep)
        found += len(keep)
        start += len(df)
    out = pd.concat(chunks, ignore_index=True).iloc[:n].reset_index(drop=True)
    out.attrs["screened"] = int(out.patient_id.iloc[-1]) + 1
    out.attrs["eligibility"] = elig.describe()
    return out


# --------------------------------------------------------------------------------------------
# Matching a published baseline table
# --------------------------------------------------------------------------------------------
_OPS = {
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
}
_TARGET_RE = re.compile(r"^\s*(?P<col>[A-Za-z_][\w]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<val>\S+)\s*$")
_METS_RE = re.compile(r"^\s*(?P<organ>[a-z_ ]+?)\s+(?:mets|metastases)\s*$", re.I)
_TARGET_EXAMPLES = '"age_yr", "pdl1_tps_pct>=50", "ecog==0", "sex==M", "liver mets"'


@dataclass(frozen=True, kw_only=True)
class BaselineTarget:
    """One row of a published baseline table: a column's mean or a proportion.

    ``column`` alone targets the mean (a bool column: its proportion); ``op`` + ``threshold``
    target the proportion of patients with ``column op threshold``.

    Examples
    --------
    >>> t = BaselineTarget.parse("pdl1_tps_pct>=50", 0.3)
    >>> t.column, t.op, t.threshold, t.value
    ('pdl1_tps_pct', '>=', 50.0, 0.3)
    >>> BaselineTarget.parse("liver mets", 0.2).column, BaselineTarget.parse("male", 0.6).op
    ('site_liver', '==')
    """

    key: str
    column: str
    op: str | None = None
    threshold: float | str | None = None
    value: float

    @property
    def is_proportion(self) -> bool:
        return self.op is not None

    @classmethod
    def parse(cls, key: str, value: float) -> BaselineTarget:
        """Read a key such as ``"age_yr"``, ``"pdl1_tps_pct>=50"``, ``"liver mets"``."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ParameterError(f"baseline target {key!r} = {value!r}; give a finite number")
        k = key.strip()
        m = _METS_RE.match(k)
        if m and _norm_name(m.group("organ")) in (*ORGANS, "lymph_nodes", "nodal", "nodes"):
            organ = _norm_name(m.group("organ"))
            organ = "lymph_node" if organ in ("lymph_nodes", "nodal", "nodes") else organ
            return cls(
                key=key,
                column=f"site_{organ}",
                op=">",
                threshold=0.0,
                value=_proportion(key, value),
            )
        if k.lower() in ("male", "female"):
            return cls(
                key=key,
                column="sex",
                op="==",
                threshold="M" if k.lower() == "male" else "F",
                value=_proportion(key, value),
            )
        m = _TARGET_RE.match(k)
        if m:
            raw = m.group("val")
            try:
                thr: float | str = float(raw)
            except ValueError:
                thr = raw.strip("'\"")
            return cls(
                key=key,
                column=m.group("col"),
                op=m.group("op"),
                threshold=thr,
                value=_proportion(key, value),
            )
        if re.fullmatch(r"[A-Za-z_]\w*", k):
            return cls(key=key, column=k, value=float(value))
        raise ParameterError(
            f"cannot read baseline target {key!r}; write a column, a comparison or '<organ> "
            f"mets', e.g. {_TARGET_EXAMPLES}"
        )

    def values(self, df: pd.DataFrame) -> np.ndarray:
        """Per-patient values whose (weighted) mean is compared with :attr:`value`."""
        if self.column not in df.columns:
            raise UnknownNameError(
                did_you_mean(self.column, df.columns, what="covariate column")
                + f" (baseline target {self.key!r})"
            )
        col = df[self.column]
        if self.op is None:
            if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
                raise ParameterError(
                    f"baseline target {self.key!r}: column {self.column!r} is not numeric; "
                    f"target a proportion instead, e.g. '{self.column}=={col.iloc[0]}'"
                )
            return col.to_numpy(float)
        if isinstance(self.threshold, str):
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                raise ParameterError(
                    f"baseline target {self.key!r}: compare {self.column!r} with a number"
                )
            if self.op not in ("==", "!="):
                raise ParameterError(f"baseline target {self.key!r}: use == or != with text")
            return _OPS[self.op](col.astype(str).to_numpy(), self.threshold).astype(float)
        v = col.to_numpy(float)
        return np.where(np.isnan(v), np.nan, _OPS[self.op](v, self.threshold).astype(float))


def _proportion(key: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ParameterError(
            f"baseline target {key!r} = {value!r} is a proportion; give it as a fraction in "
            f"[0, 1] (e.g. 0.30 for 30%)"
        )
    return float(value)


def _targets(targets: Mapping[str, float] | Iterable[BaselineTarget]) -> list[BaselineTarget]:
    if isinstance(targets, Mapping):
        return [BaselineTarget.parse(k, v) for k, v in targets.items()]
    return list(targets)


_DEFAULT_ROWS = {
    "age_yr": 0.0,
    "male": 0.0,
    "ecog==0": 0.0,
    "pdl1_tps_pct>=50": 0.0,
    "tmb_mut_per_mb>=10": 0.0,
    "ldh_ratio_uln>1": 0.0,
    "liver mets": 0.0,
    "brain mets": 0.0,
    "sum_lesion_diameter_mm": 0.0,
}


def baseline_table(
    df: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    targets: Mapping[str, float] | Iterable[BaselineTarget] | None = None,
) -> pd.DataFrame:
    """Weighted baseline table: achieved (weighted) vs unweighted vs target.

    Without ``targets``, a standard set of rows (age, sex, ECOG 0, PD-L1 >= 50%, TMB >= 10,
    LDH > ULN, liver and brain metastases, sum of diameters) with NaN targets.

    Returns
    -------
    pandas.DataFrame
        Columns ``covariate, kind, target, unweighted, achieved, difference`` (proportions as
        fractions).
    """
    tg = _targets(targets) if targets is not None else _targets(_DEFAULT_ROWS)
    w = _weights(df, weights)
    rows = []
    for t in tg:
        v = t.values(df)
        ok = ~np.isnan(v)
        unw = float(v[ok].mean()) if ok.any() else math.nan
        ach = float(np.sum(w[ok] * v[ok]) / np.sum(w[ok])) if ok.any() else math.nan
        tv = t.value if targets is not None else math.nan
        rows.append((t.key, "proportion" if t.is_proportion else "mean", tv, unw, ach, ach - tv))
    return pd.DataFrame(
        rows, columns=["covariate", "kind", "target", "unweighted", "achieved", "difference"]
    )


def _weights(df: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(df))
    w = np.asarray(weights, float)
    if w.shape != (len(df),) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ParameterError(
            f"weights must be {len(df)} finite numbers >= 0 with a positive sum (one per row), "
            f"got shape {w.shape}"
        )
    return w


@dataclass(frozen=True, eq=False)
class BaselineMatch:
    """Result of :func:`match_baseline`.

    Attributes
    ----------
    weights
        One weight per row of the input frame (sum 1; exponential tilting).
    table
        Achieved vs target (:func:`baseline_table`); for ``"select"`` the unweighted table of
        the selected patients.
    selected
        Row positions of the selected patients (``"select"``), else ``None``.
    frame
        The selected patients (``"select"``), else the input frame.
    ess
        Kish effective sample size of the weights.
    """

    weights: np.ndarray
    table: pd.DataFrame
    selected: np.ndarray | None
    frame: pd.DataFrame
    ess: float
    method: str = "weights"
    targets: tuple[BaselineTarget, ...] = field(default=())


def match_baseline(
    df: pd.DataFrame,
    targets: Mapping[str, float] | Iterable[BaselineTarget],
    *,
    method: Literal["weights", "select"] = "weights",
    n: int | None = None,
    seed: int = 0,
    tol: float = 1e-9,
) -> BaselineMatch:
    """Reweight (or subsample) virtual patients to match a published baseline table.

    ``"weights"``: exponential tilting, the minimum-KL weights ``w_i ∝ exp(λ·x_i)`` whose
    weighted means hit every target exactly (solved by Newton's method on the convex dual;
    equivalent to raking for proportions). ``"select"``: a deterministic weighted subsample of
    ``n`` patients without replacement (Efraimidis-Spirakis keys from ``seed``) with those
    weights; its table matches within sampling error (~1/sqrt(n)), best when the pool is several
    times larger than ``n``.

    Parameters
    ----------
    df
        A covariate frame (e.g. from :func:`sample_eligible`).
    targets
        ``{key: value}`` (keys as in :meth:`BaselineTarget.parse`, proportions as fractions) or
        :class:`BaselineTarget` objects.
    method
        ``"weights"`` or ``"select"``.
    n
        Size of the subsample (``"select"`` only).
    seed
        Seed of the subsample.
    tol
        Convergence tolerance on the standardised moment gaps.

    Examples
    --------
    >>> df = sample_covariates("melanoma", 4000, seed=2)
    >>> m = match_baseline(df, {"age_yr": 61, "liver mets": 0.3})
    >>> bool(m.table.difference.abs().max() < 1e-6)
    True
    """
    if method not in ("weights", "select"):
        raise ParameterError(f"method={method!r}; give 'weights' or 'select'")
    tg = _targets(targets)
    if not tg:
        raise ParameterError("no baseline targets given; pass e.g. {'age_yr': 61}")
    if len(df) < 2:
        raise ParameterError(f"the frame has {len(df)} rows; give at least 2 patients")
    cols = [t.values(df) for t in tg]
    x = np.column_stack(cols)
    if np.isnan(x).any():
        bad = [t.key for t, c in zip(tg, cols, strict=True) if np.isnan(c).any()]
        raise ParameterError(
            f"baseline targets {bad} have missing values in the frame; drop them or the patients"
        )
    for t, c in zip(tg, cols, strict=True):
        lo, hi = c.min(), c.max()
        if not lo < t.value < hi and not (lo == hi == t.value):
            raise ParameterError(
                f"baseline target {t.key!r} = {t.value:g} is outside what the patients span "
                f"({lo:g} to {hi:g}); no weighting can reach it: check the target or sample "
                "a population that covers it"
            )
    w = _tilt(x, np.array([t.value for t in tg]), tol=tol, keys=[t.key for t in tg])
    ess = float(1.0 / np.sum(w**2))
    if method == "weights":
        return BaselineMatch(
            w, baseline_table(df, w, targets=tg), None, df, ess, "weights", tuple(tg)
        )
    if n is None:
        raise ParameterError("method='select' needs n, the number of patients to keep")
    n = _check_count(n, "n", minimum=1)
    if n > len(df):
        raise ParameterError(
            f"n={n} is more than the {len(df)} patients given; give n <= "
            f"{len(df)} (best several times fewer)"
        )
    u = selection_uniforms(_check_count(seed, "seed", minimum=0), len(df))
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(u) / w, -np.inf)
    chosen = np.sort(np.argsort(-keys, kind="stable")[:n])
    sub = df.iloc[chosen].reset_index(drop=True)
    return BaselineMatch(
        w, baseline_table(sub, None, targets=tg), chosen, sub, ess, "select", tuple(tg)
    )


def _tilt(x: np.ndarray, target: np.ndarray, *, tol: float, keys: list[str]) -> np.ndarray:
    """Minimum-KL weights with weighted column means ``target`` (Newton on the dual)."""
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    xs = (x - target) / sd
    lam = np.zeros(x.shape[1])
    for _ in range(200):
        eta = xs @ lam
        w = np.exp(eta - eta.max())
        w /= w.sum()
        g = w @ xs
        if np.max(np.abs(g)) < tol:
            return w
        h = (xs * w[:, None]).T @ xs - np.outer(g, g)
        step = np.linalg.lstsq(h + 1e-12 * np.eye(len(lam)), g, rcond=None)[0]
        f0 = np.log(np.sum(np.exp(eta - eta.max()))) + eta.max()
        t = 1.0
        while t > 1e-10:  # backtracking on the convex dual log-sum-exp
            e1 = xs @ (lam - t * step)
            if np.log(np.sum(np.exp(e1 - e1.max()))) + e1.max() <= f0 - 1e-4 * t * g @ step:
                break
            t /= 2
        lam = lam - t * step
    raise OncotwinError(
        f"the baseline targets {keys} cannot all be met at once by reweighting these patients "
        "(the tilting did not converge); drop or relax a target, or sample more patients"
    )
