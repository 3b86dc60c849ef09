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
* Head and neck, gastric, small-cell lung and hepatobiliary (standing for hepatocellular) rows of
  LORIS, and Samstein's head and neck squamous and oesophagogastric adenocarcinoma TMB, give those
  cancers' copulas; all-comers colorectal cancer reweights Samstein's colorectal TMB to the
  population's 4.5% MSI-high share; triple-negative breast uses Samstein's breast TMB.
* Prostate, large B-cell lymphoma, B-ALL, multiple myeloma and follicular lymphoma are in neither
  cohort: their TMB and age distributions are literature-based assumptions (flagged in the JSON).
* Renal function (:mod:`oncotwin.population._renal`): serum creatinine by sex, rising with age
  (Pottel 2008; NHANES III), the Cockcroft-Gault creatinine clearance (uncapped) and the true
  GFR, which the estimate misses by its published error in cancer patients.
* Covariates the cohorts lack (PD-L1 outside NSCLC and the combined positive score, ECOG, LDH,
  metastatic sites and lesion sizes, immune phenotype, CD8 density, HER2/CD19/BCMA, RAS, BRAF
  V600 and EGFR mutations, HLA-A*02:01, HPV, height) come from :data:`ASSUMPTIONS`,
  :data:`COVARIATE_PARAMETERS` and :data:`LESIONS`, every value flagged ``assumption=True`` with
  the reason; they are package data (``population/data/cancers.toml``,
  ``covariate_parameters.toml``, ``lesions.toml``). They are tied to the copula through shared
  latent normals (e.g. immune phenotype to TMB and PD-L1, tumour burden to NLR and albumin).

Each patient's row depends only on ``(seed, patient index)``: all randomness comes from
:func:`oncotwin.population.sampling.patient_normals`, so drawing patients 0..999 at once or as
0..499 and 500..999 gives the same patients.

Outputs are research simulations, not medical advice.

Layout: this module re-exports the public names of the private modules that implement them:
``_cancers`` (cancer types, aliases and the assumptions, loaded from the data files),
``_copula`` (:func:`sample_covariates`), ``_eligibility`` (:class:`Eligibility`,
:func:`sample_eligible`) and ``_baseline`` (:func:`match_baseline`, :func:`baseline_table`).
"""

from __future__ import annotations

from oncotwin.population._baseline import (
    BaselineMatch,
    BaselineTarget,
    baseline_table,
    match_baseline,
)
from oncotwin.population._cancers import (
    ASSUMPTIONS,
    CANCER_TYPES,
    COVARIATE_PARAMETERS,
    LESIONS,
    ORGANS,
    CancerAssumptions,
    cancer_aliases,
    resolve_cancer,
)
from oncotwin.population._copula import COLUMNS, covariate_data, sample_covariates
from oncotwin.population._eligibility import ELIGIBILITY_KEYS, Eligibility, sample_eligible

__all__ = [
    "ASSUMPTIONS",
    "CANCER_TYPES",
    "COLUMNS",
    "COVARIATE_PARAMETERS",
    "ELIGIBILITY_KEYS",
    "LESIONS",
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
