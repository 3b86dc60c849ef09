"""Biomarker analysis: statistics with known answers, the LORIS formula, errors, real cohort."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oncotwin.biomarkers import (
    BiomarkerError,
    analyse,
    auc_delong,
    baseline_frame,
    cox_hazard_ratio,
    cv_logistic_score,
    get_marker,
    logistic_fit,
    loris_nsclc,
    loris_pan_cancer,
    youden_cutpoint,
)
from oncotwin.biomarkers.cohort import chowell_cohort

LORIS_DIR = "data/external/loris-chang2024-icb-cohorts"


# ------------------------------------------------------------------------------------ AUC
def test_auc_perfect_separation_is_one_and_reversed_is_zero():
    x = np.arange(20.0)
    y = x >= 10
    a = auc_delong(x, y)
    assert a.auc == 1.0 and a.ci_low == 1.0 and a.ci_high == 1.0
    assert auc_delong(-x, y).auc == 0.0


def test_auc_ties_count_half():
    # one responder and one non-responder tied, the rest separated: AUC = (3 + 0.5) / 4
    a = auc_delong(np.array([0.0, 1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]))
    assert a.auc == pytest.approx(3.5 / 4)


def test_auc_independent_marker_is_half_within_ci():
    rng = np.random.default_rng(1)
    x = rng.normal(size=3000)
    y = rng.random(3000) < 0.3
    a = auc_delong(x, y)
    assert a.ci_low < 0.5 < a.ci_high
    assert abs(a.auc - 0.5) < 0.04


def test_auc_binormal_matches_theory_and_delong_se_matches_bootstrap():
    rng = np.random.default_rng(2)
    d = 1.0
    y = np.r_[np.ones(600, bool), np.zeros(900, bool)]
    x = np.where(y, rng.normal(d, 1.0, y.size), rng.normal(0.0, 1.0, y.size))
    a = auc_delong(x, y)
    theory = stats.norm.cdf(d / math.sqrt(2.0))  # 0.760
    assert a.ci_low < theory < a.ci_high
    boot = []
    for _ in range(300):
        i = rng.integers(0, y.size, y.size)
        boot.append(auc_delong(x[i], y[i]).auc)
    assert a.se == pytest.approx(np.std(boot), rel=0.2)


# ------------------------------------------------------------------------ odds ratios
def test_logistic_odds_ratio_recovers_the_true_coefficient():
    rng = np.random.default_rng(3)
    x = rng.normal(size=6000)
    p = 1.0 / (1.0 + np.exp(-(-1.0 + 0.8 * x)))
    y = rng.random(x.size) < p
    fit = logistic_fit(x, y)
    or_, lo, hi, pval = fit.odds_ratio(1)
    assert lo < math.exp(0.8) < hi
    assert abs(fit.coef[1] - 0.8) < 3 * fit.se[1]
    assert pval < 1e-10
    # per 2 units: the square of the per-unit OR
    assert fit.odds_ratio(1, 2.0)[0] == pytest.approx(or_**2)


def test_logistic_separation_is_reported_not_estimated():
    x = np.arange(30.0)
    fit = logistic_fit(x, x > 14.5)
    assert fit.separated
    assert all(math.isnan(v) for v in fit.odds_ratio(1))


# ------------------------------------------------------------------------ hazard ratios
def test_cox_hazard_ratio_recovers_a_known_hazard_ratio():
    rng = np.random.default_rng(4)
    x = rng.normal(size=2000)
    t = rng.exponential(1.0 / (0.01 * np.exp(0.5 * x)))
    censor = rng.exponential(200.0, x.size)
    fit = cox_hazard_ratio(x, np.minimum(t, censor), t <= censor)
    assert fit.ci_low < math.exp(0.5) < fit.ci_high
    hr2 = fit.per(2.0)[0]
    assert hr2 == pytest.approx(fit.hr**2)


def test_cox_matches_lifelines_with_tied_times():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(8)
    x = rng.normal(size=300)
    t = np.ceil(rng.exponential(1.0 / (0.02 * np.exp(-0.4 * x))) / 42.0) * 42.0  # scan days
    e = rng.random(300) < 0.8
    mine = cox_hazard_ratio(x, t, e)
    ref = CoxPHFitter().fit(pd.DataFrame({"T": t, "E": e, "x": x}), "T", "E")
    assert mine.beta == pytest.approx(float(ref.params_["x"]), abs=1e-6)
    assert mine.se == pytest.approx(float(ref.standard_errors_["x"]), rel=1e-4)


def test_cox_without_events_says_why():
    fit = cox_hazard_ratio(np.arange(10.0), np.ones(10), np.zeros(10, bool))
    assert math.isnan(fit.hr) and "too few events" in fit.note


# ------------------------------------------------------------------------------ cut-point
def test_youden_cutpoint_of_two_equal_variance_normals_is_the_midpoint():
    rng = np.random.default_rng(5)
    y = np.r_[np.ones(2000, bool), np.zeros(2000, bool)]
    x = np.where(y, rng.normal(2.0, 1.0, y.size), rng.normal(0.0, 1.0, y.size))
    cp = youden_cutpoint(x, y, n_boot=50)
    assert cp.direction == 1
    assert cp.cut == pytest.approx(1.0, abs=0.25)
    # J at the midpoint: 2 Phi(1) - 1 = 0.683
    assert cp.j_apparent == pytest.approx(2 * stats.norm.cdf(1.0) - 1, abs=0.04)
    assert cp.cut_ci_low < 1.0 < cp.cut_ci_high
    assert abs(cp.optimism) < 0.02


def test_youden_optimism_of_a_useless_marker_eats_its_apparent_j():
    rng = np.random.default_rng(6)
    x = rng.normal(size=80)
    y = rng.random(80) < 0.4
    cp = youden_cutpoint(x, y, n_boot=200)
    assert cp.j_apparent > 0.1  # found by chance
    assert cp.optimism > 0.05
    assert cp.j_corrected < cp.j_apparent - 0.05


def test_cv_logistic_score_is_honest_about_noise():
    rng = np.random.default_rng(7)
    n = 300
    signal = rng.normal(size=n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-1.5 * signal))
    noise = rng.normal(size=(n, 20))
    oof, insample = cv_logistic_score(noise, y, ridge=0.0)
    assert auc_delong(insample, y).auc > auc_delong(oof, y).auc  # optimism of fitting noise
    assert abs(auc_delong(oof, y).auc - 0.5) < 0.1
    oof2, _ = cv_logistic_score(np.column_stack([signal, noise[:, :3]]), y)
    assert auc_delong(oof2, y).auc > 0.75


# ------------------------------------------------------------------------------------ LORIS
def test_loris_pan_cancer_hand_computed():
    # TMB 20 mut/Mb, prior therapy, albumin 3.5 g/dL, NLR 8, age 70, NSCLC:
    s = 0.0371 * 20 - 0.8775 * 1 + 0.5382 * 3.5 - 0.033 * 8 + 0.0049 * 70 + 0.0008 - 2.0886
    assert s == pytest.approx(-0.2606, abs=1e-9)
    expected = 1.0 / (1.0 + math.exp(-s))  # 0.43522
    got = loris_pan_cancer(20.0, 1, 3.5, 8.0, 70.0, "NSCLC")[0]
    assert got == pytest.approx(expected, abs=1e-12)
    assert loris_pan_cancer(20.0, 1, 3.5, 8.0, 70.0, "nsclc")[0] == got  # oncotwin name


def test_loris_clips_tmb_nlr_and_age_and_refuses_unknown_cancers():
    a = loris_pan_cancer([50.0, 120.0], 0, 4.0, [25.0, 80.0], [85.0, 95.0], "Renal")
    assert a[0] == a[1]
    assert math.isnan(loris_pan_cancer(5.0, 0, 4.0, 3.0, 60.0, "multiple_myeloma")[0])
    # the cancer term moves the score: renal (+0.5451) above pancreatic (-1.1169)
    r = loris_pan_cancer(5.0, 0, 4.0, 3.0, 60.0, ["Renal", "Pancreatic"])
    assert r[0] > r[1]


def test_loris_nsclc_hand_computed():
    s = 0.0353 * 10 + 0.0111 * 50 - 0.375 * 0 + 0.2924 * 4.0 - 0.0103 * 3.0 - 1.5593
    assert loris_nsclc(10.0, 50.0, 0, 4.0, 3.0)[0] == pytest.approx(1 / (1 + math.exp(-s)))


def test_loris_formula_reproduces_the_published_scores(shared_file):
    path = shared_file(f"{LORIS_DIR}/MSK_nonICB.csv")
    d = pd.read_csv(path)
    from oncotwin.biomarkers.loris import CANCER_TERMS

    types = np.array(list(CANCER_TERMS))
    onehot = d[[f"CancerType{i}" for i in range(1, 17)]].to_numpy()
    cancer = types[onehot.argmax(axis=1)]
    got = loris_pan_cancer(
        d["TMB"], d["Systemic_therapy_history"], d["Albumin"], d["NLR"], d["Age"], cancer
    )
    # the published coefficients are rounded to 4 decimals
    assert np.max(np.abs(got - d["LORIS"].to_numpy())) < 2e-3


# ------------------------------------------------------------------------------ real cohort
def test_chowell_cohort_aucs_match_the_published_analysis(shared_file):
    folder = shared_file(f"{LORIS_DIR}/Chowell_train.csv").parent
    frame = chowell_cohort(folder)
    assert len(frame) == 964 and int(frame["response"].sum()) == 282
    a = analyse(frame, by=(), n_boot=20, markers=["tmb", "albumin", "nlr", "loris"])
    nsclc = analyse(frame[frame["cancer_type"] == "nsclc"], by=(), n_boot=20, markers=["pdl1_tps"])
    # issue 18 / Chang 2024: TMB ~0.61, albumin 0.61, NLR 0.43, LORIS 0.74 (in sample)
    assert a.auc("tmb") == pytest.approx(0.609, abs=0.005)
    assert a.auc("albumin") == pytest.approx(0.606, abs=0.005)
    assert a.auc("nlr") == pytest.approx(0.426, abs=0.005)
    assert a.auc("loris") == pytest.approx(0.741, abs=0.005)
    assert nsclc.auc("pdl1_tps") == pytest.approx(0.66, abs=0.01)


# ----------------------------------------------------------------------------------- errors
def _frame(n: int = 60, responders: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    resp = np.zeros(n, bool)
    resp[:responders] = True
    return pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "arm": "a",
            "cancer_type": "melanoma",
            "response": resp,
            "pfs_days": rng.exponential(200, n),
            "pfs_event": True,
            "os_days": rng.exponential(400, n),
            "os_event": True,
            "tmb": rng.lognormal(1.5, 1.0, n) + 5.0 * resp,
            "nlr": rng.lognormal(1.3, 0.5, n),
        }
    )


def test_unknown_marker_is_refused_with_suggestions():
    with pytest.raises(BiomarkerError, match="unknown marker 'tbm'; did you mean 'tmb'"):
        get_marker("tbm")
    with pytest.raises(BiomarkerError, match="unknown marker"):
        analyse(_frame(), markers=["tbm"])


def test_too_few_responders_is_refused():
    with pytest.raises(BiomarkerError, match=r"2 responders .* at least 5 of each"):
        analyse(_frame(responders=2))


def test_frame_without_outcomes_is_refused():
    with pytest.raises(BiomarkerError, match=r"outcome columns \['response'"):
        analyse(_frame().drop(columns=["response"]))


def test_run_without_patients_is_refused():
    with pytest.raises(BiomarkerError, match="no patients table"):
        baseline_frame(pd.DataFrame(), pd.DataFrame({"best_response": []}))


def test_analysis_on_a_synthetic_frame_finds_the_informative_marker():
    a = analyse(_frame(n=200, responders=70), n_boot=30)
    assert a.auc("tmb") > 0.75
    assert a.auc("nlr") == pytest.approx(0.5, abs=0.12)
    tmb = a.table.set_index("marker").loc["tmb"]
    assert tmb["or_unit"] > 1 and tmb["or_unit_low"] > 1
    assert tmb["youden_j_corrected"] <= tmb["youden_j"]
    s = a.strata[a.strata["marker"] == "tmb"]
    assert list(s["stratum"]) == ["< 10", ">= 10"] and s["odds_ratio"].iloc[1] > 1
    assert "logistic_score" in set(a.table["marker"])
