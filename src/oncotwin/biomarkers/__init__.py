"""Biomarker analysis of virtual trials, checked against a real immunotherapy cohort.

Who responds, and which markers say so: for every baseline covariate of a trial's patients
(TMB, PD-L1, NLR, albumin, LDH, immune phenotype, CD8 density, metastatic sites, ...) and the
on-treatment markers derived from the model trajectories (tumour size change at weeks 3, 6 and
9, a ctDNA-like circulating tumour burden, CD8 effector expansion), :func:`analyse_result`
(``TrialResult.biomarkers()``, ``oncotwin biomarkers RUN_DIR``) gives the ROC AUC with its
DeLong CI, odds ratios per unit, per SD and per stratum, Cox hazard ratios for PFS and OS, the
Youden cut-point with its bootstrap optimism, and two combinations: a cross-validated
logistic score and the published LORIS of Chang et al. 2024 (:mod:`oncotwin.biomarkers.loris`).

The same :func:`analyse` runs on the real Chowell 2022 training cohort
(:func:`chowell_cohort`), so the virtual and real AUCs can be set side by side
(``benchmarks/biomarkers_real_vs_virtual.py``).

Examples
--------
>>> from oncotwin.biomarkers import loris_pan_cancer
>>> round(float(loris_pan_cancer(20.0, 1, 3.5, 8.0, 70.0, "NSCLC")[0]), 3)
0.435

Research simulations only: not medical advice.
"""

from __future__ import annotations

from oncotwin.biomarkers._stats import (
    AUC,
    BiomarkerError,
    auc_delong,
    cox_hazard_ratio,
    cv_logistic_score,
    logistic_fit,
    youden_cutpoint,
)
from oncotwin.biomarkers.analysis import BiomarkerAnalysis, analyse, analyse_result
from oncotwin.biomarkers.cohort import chowell_cohort
from oncotwin.biomarkers.loris import loris_nsclc, loris_pan_cancer, loris_score
from oncotwin.biomarkers.markers import MARKERS, Marker, baseline_frame, get_marker

__all__ = [
    "AUC",
    "MARKERS",
    "BiomarkerAnalysis",
    "BiomarkerError",
    "Marker",
    "analyse",
    "analyse_result",
    "auc_delong",
    "baseline_frame",
    "chowell_cohort",
    "cox_hazard_ratio",
    "cv_logistic_score",
    "get_marker",
    "logistic_fit",
    "loris_nsclc",
    "loris_pan_cancer",
    "loris_score",
    "youden_cutpoint",
]
