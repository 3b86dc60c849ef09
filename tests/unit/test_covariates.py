"""Tests of oncotwin.population.covariates: fitted copula, eligibility, baseline matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError
from oncotwin.population.covariates import (
    ASSUMPTIONS,
    CANCER_TYPES,
    COLUMNS,
    ELIGIBILITY_KEYS,
    ORGANS,
    BaselineTarget,
    CancerAssumptions,
    Eligibility,
    baseline_table,
    covariate_data,
    match_baseline,
    resolve_cancer,
    sample_covariates,
    sample_eligible,
)

LORIS = "data/external/loris-chang2024-icb-cohorts/Chowell_train.csv"
SAMSTEIN = "data/external/samstein2019-msk-tmb-icb/tmb_mskcc_2018_clinical_data.tsv"
#: cancer -> (LORIS CancerType, Samstein rows for the TMB marginal)
COHORT_ROWS = {
    "melanoma": (
        "Melanoma",
        lambda s: (
            (s["Cancer Type"] == "Melanoma") & (s["Cancer Type Detailed"] != "Uveal Melanoma")
        ),
    ),
    "nsclc": ("NSCLC", lambda s: s["Cancer Type"] == "Non-Small Cell Lung Cancer"),
    "renal_cell": ("Renal", lambda s: s["Cancer Type"] == "Renal Cell Carcinoma"),
    "urothelial": ("Bladder", lambda s: s["Cancer Type"] == "Bladder Cancer"),
    "colorectal_msi_high": (
        "Colorectal",
        lambda s: (s["Cancer Type"] == "Colorectal Cancer") & (s["TMB Score"] >= 20),
    ),
}


@pytest.fixture(scope="module")
def melanoma() -> pd.DataFrame:
    return sample_covariates("melanoma", 20_000, seed=11)


# ----------------------------------------------------------------------------- fitted marginals
@pytest.mark.parametrize("cancer", sorted(COHORT_ROWS))
def test_marginal_medians_reproduce_cohorts(shared_file, cancer):
    """Sampled medians match the cohort medians (Samstein 2019 TMB; LORIS/Chowell 2022 NLR,
    albumin, age). Tolerance: 3% relative for TMB and NLR, 0.05 g/dL albumin, 1 yr age: the
    median is one of the 41 shipped quantile knots, so only the sampling error of 20,000 draws
    (~1% of the median) remains.
    """
    loris = pd.read_csv(shared_file(LORIS))
    sam = pd.read_csv(shared_file(SAMSTEIN), sep="\t")
    ctype, sam_rows = COHORT_ROWS[cancer]
    rows = loris[loris.CancerType == ctype]
    df = sample_covariates(cancer, 20_000, seed=5)
    tmb = sam.loc[sam_rows(sam), "TMB Score"].median()
    assert df.tmb_mut_per_mb.median() == pytest.approx(tmb, rel=0.03)
    assert df.nlr.median() == pytest.approx(rows.NLR.median(), rel=0.03)
    assert df.albumin_g_dl.median() == pytest.approx(rows.Albumin.median(), abs=0.05)
    assert df.age_yr.median() == pytest.approx(rows.Age.median(), abs=1.0)


def test_nsclc_pdl1_reproduces_cohort(shared_file):
    """NSCLC PD-L1 TPS: P(<1%) and P(>=50%) of the LORIS NSCLC rows with PD-L1 (n=169) within
    1.5 percentage points (binomial SE of 20,000 draws ~0.35 pp)."""
    loris = pd.read_csv(shared_file(LORIS))
    p = loris.loc[loris.CancerType == "NSCLC", "PDL1_TPS(%)"].dropna()
    df = sample_covariates("nsclc", 20_000, seed=5)
    assert (df.pdl1_tps_pct == 0).mean() == pytest.approx((p == 0).mean(), abs=0.015)
    assert (df.pdl1_tps_pct >= 50).mean() == pytest.approx((p >= 50).mean(), abs=0.015)


def test_copula_keeps_observed_correlation_signs(shared_file):
    """Every copula pair with a clear observed Spearman correlation (|rho| > 0.15) in the LORIS
    cancer-specific rows keeps its sign in 20,000 samples."""
    loris = pd.read_csv(shared_file(LORIS))
    cols = {"NLR": "nlr", "Albumin": "albumin_g_dl", "Age": "age_yr", "BMI": "bmi_kg_m2"}
    checked = 0
    for cancer in ("melanoma", "nsclc", "renal_cell", "urothelial"):
        rows = loris[loris.CancerType == COHORT_ROWS[cancer][0]]
        df = sample_covariates(cancer, 20_000, seed=3)
        for a in cols:
            for b in cols:
                if a >= b:
                    continue
                obs = stats.spearmanr(rows[a], rows[b]).statistic
                if abs(obs) > 0.15:
                    sim = stats.spearmanr(df[cols[a]], df[cols[b]]).statistic
                    assert np.sign(sim) == np.sign(obs), (cancer, a, b, obs, sim)
                    checked += 1
    assert checked >= 4


def test_nlr_albumin_negative_without_shared_data(melanoma):
    rho = stats.spearmanr(melanoma.nlr, melanoma.albumin_g_dl).statistic
    assert rho < -0.2


# ----------------------------------------------------------------------------- shipped JSON
def test_shipped_json_is_summary_statistics_with_sources():
    doc = covariate_data()
    assert set(doc["cancers"]) == set(CANCER_TYPES)
    assert "not a copy" in doc["licence_note"]
    for key in ("Chang2024", "Samstein2019", "assumption"):
        assert doc["sources"][key]["licence"]
    n_probs = len(doc["probabilities"])
    assert n_probs == 41
    for name, entry in doc["cancers"].items():
        assert entry["notes"] or entry["source_keys"], name
        for col, m in entry["columns"].items():
            if m is None:
                continue
            assert m["source"] in doc["sources"], (name, col)
            q = m.get("quantiles", m.get("positive_quantiles"))
            assert len(q) == n_probs and np.all(np.diff(q) >= 0), (name, col)
            assert m["source"] != "assumption" or m["reason"], (name, col)


@pytest.mark.parametrize("cancer", CANCER_TYPES)
def test_every_cancer_samples_from_the_json_alone(cancer):
    df = sample_covariates(cancer, 300, seed=1)
    assert tuple(df.columns) == COLUMNS and len(df) == 300
    assert (df.tmb_mut_per_mb >= 0).all() and (df.nlr > 0).all() and (df.weight_kg > 0).all()
    assert np.isfinite(df.bsa_m2).all() and df.ecog.isin([0, 1, 2]).all()
    site = df[[f"site_{o}" for o in ORGANS]].to_numpy()
    assert (df.n_metastatic_sites == (site > 0).sum(axis=1)).all()
    if cancer == "b_all":
        assert (df.n_metastatic_sites == 0).all() and not df.measurable_disease.any()
    else:
        assert (df.n_metastatic_sites >= 1).all()


def test_definitional_covariates():
    assert sample_covariates("breast", 200, seed=0).her2_positive.all()
    assert sample_covariates("MSI-H colorectal", 200, seed=0).msi_high.all()
    assert (sample_covariates("breast", 200, seed=0).sex == "F").all()
    assert (sample_covariates("prostate", 200, seed=0).sex == "M").all()
    lbcl = sample_covariates("DLBCL", 200, seed=0)
    assert lbcl.pdl1_tps_pct.isna().all() and lbcl.immune_phenotype.isna().all()
    assert lbcl.cd19_positive.mean() > 0.9
    assert sample_covariates("myeloma", 200, seed=0).bcma_positive.mean() > 0.9


def test_phenotype_frequencies_and_tmb_link(melanoma):
    freq = melanoma.immune_phenotype.value_counts(normalize=True)
    inflamed, _, desert = ASSUMPTIONS["melanoma"].phenotype
    assert freq["inflamed"] == pytest.approx(inflamed, abs=0.015)
    assert freq["desert"] == pytest.approx(desert, abs=0.015)
    med = melanoma.groupby("immune_phenotype", observed=True).tmb_mut_per_mb.median()
    assert med["inflamed"] > med["desert"]
    cd8 = melanoma.groupby("immune_phenotype", observed=True).cd8_density_per_mm2.median()
    assert cd8["inflamed"] > cd8["excluded"] > cd8["desert"]


def test_site_frequencies_follow_assumptions(melanoma):
    """Organ involvement matches the assumed frequencies (raised a little by the rule that every
    solid-tumour patient has disease in at least one organ)."""
    for organ, p in ASSUMPTIONS["melanoma"].site_probability.items():
        got = (melanoma[f"site_{organ}"] > 0).mean()
        assert p - 0.015 <= got <= p + 0.06, (organ, p, got)


# ----------------------------------------------------------------------------- determinism
def test_chunks_give_identical_patients():
    whole = sample_covariates("nsclc", 1000, seed=7)
    parts = pd.concat(
        [
            sample_covariates("nsclc", 500, seed=7),
            sample_covariates("nsclc", 500, seed=7, start=500),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, parts)
    other = sample_covariates("nsclc", 1000, seed=8)
    assert not np.allclose(whole.tmb_mut_per_mb, other.tmb_mut_per_mb)


def test_sample_eligible_independent_of_block_size():
    e = Eligibility(pdl1_tps_min=50, no_brain_mets=True)
    a = sample_eligible("nsclc", 120, e, seed=4, block=64)
    b = sample_eligible("nsclc", 120, e, seed=4, block=5000)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["screened"] == b.attrs["screened"] > 120
    assert a.patient_id.is_monotonic_increasing


# ----------------------------------------------------------------------------- eligibility
def test_eligibility_pdl1_50_gives_only_50_and_more():
    e = Eligibility(pdl1_tps_min=50, ecog_max=1, measurable_disease=True, no_brain_mets=True)
    df = sample_eligible("nsclc", 500, e, seed=2)
    assert len(df) == 500
    assert (df.pdl1_tps_pct >= 50).all() and (df.ecog <= 1).all()
    assert df.measurable_disease.all() and (df.site_brain == 0).all()
    pool = sample_covariates("nsclc", 2000, seed=2)
    assert e.apply(pool).sum() < len(pool)
    assert e.describe() == (
        "PD-L1 TPS >= 50%; ECOG <= 1; measurable disease (a lesion >= 10 mm, node >= 15 mm); "
        "no brain metastases"
    )


def test_eligibility_other_criteria():
    pool = sample_covariates("melanoma", 3000, seed=9)
    e = Eligibility(tmb_min=10, age_min=18, age_max=75, pdl1_tps_max=49)
    m = e.apply(pool)
    sel = pool[m]
    assert (sel.tmb_mut_per_mb >= 10).all() and sel.age_yr.between(18, 75).all()
    assert (sel.pdl1_tps_pct <= 49).all()
    assert "age 18-75 yr" in e.describe() and Eligibility().describe() == "all patients"
    assert Eligibility(cd19_positive=True).apply(pool).sum() == 0
    assert Eligibility(her2_positive=False).describe() == "not HER2-positive"
    assert set(ELIGIBILITY_KEYS) >= {"pdl1_tps_min", "no_brain_mets", "ecog_max"}


def test_eligibility_from_dict_unknown_field_did_you_mean():
    assert Eligibility.from_dict({"pdl1_tps_min": 50}).pdl1_tps_min == 50
    with pytest.raises(UnknownNameError, match="unknown eligibility field 'pdl1_min'; did you"):
        Eligibility.from_dict({"pdl1_min": 50})
    with pytest.raises(UnknownNameError, match="did you mean 'pdl1_tps_min'"):
        sample_eligible("nsclc", 5, {"pdl1_tps_mn": 50}, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pdl1_tps_min": 150}, r"pdl1_tps_min=150 is invalid; give a number in \[0, 100\]"),
        ({"tmb_min": -1}, r"tmb_min=-1 is invalid"),
        ({"age_max": "old"}, r"age_max='old' is invalid"),
        ({"ecog_max": 1.5}, r"ecog_max=1.5 is invalid; give a whole number 0-4"),
        ({"measurable_disease": "yes"}, r"measurable_disease='yes' is invalid; give True or"),
        ({"her2_positive": 1}, r"her2_positive=1 is invalid; give True \(required\)"),
        ({"age_min": 70, "age_max": 60}, r"age_min=70 is above age_max=60"),
    ],
)
def test_bad_eligibility_values(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        Eligibility(**kwargs)


def test_sample_eligible_gives_up_with_reason():
    with pytest.raises(OncotwinError, match=r"only 0 of 5 patients with 'b_all' met 'PD-L1"):
        sample_eligible("b_all", 5, Eligibility(pdl1_tps_min=1), seed=0, max_screened=500)


def test_apply_needs_a_covariate_frame():
    with pytest.raises(ParameterError, match="the frame lacks columns"):
        Eligibility().apply(pd.DataFrame({"x": [1]}))


# ----------------------------------------------------------------------------- names
def test_resolve_cancer_aliases():
    assert resolve_cancer("NSCLC") == resolve_cancer("lung") == "nsclc"
    assert resolve_cancer("RCC") == "renal_cell"
    assert resolve_cancer("HER2+ breast") == "breast_her2"
    assert resolve_cancer("B-ALL") == "b_all"


def test_unknown_cancer_did_you_mean():
    with pytest.raises(UnknownNameError, match="unknown cancer type 'melanom'; did you mean"):
        sample_covariates("melanom", 3, seed=0)
    with pytest.raises(UnknownNameError, match="'melanoma'"):
        resolve_cancer("Melanomma")
    with pytest.raises(UnknownNameError, match="cancer type must be a string"):
        resolve_cancer(3)


def test_bad_counts():
    with pytest.raises(ParameterError, match=r"n=-1; give a whole number >= 0"):
        sample_covariates("nsclc", -1, seed=0)
    with pytest.raises(ParameterError, match=r"seed=1.5; give a whole number >= 0"):
        sample_covariates("nsclc", 2, seed=1.5)
    assert len(sample_covariates("nsclc", 0, seed=0)) == 0


def test_cancer_assumptions_validate():
    with pytest.raises(ParameterError, match="unknown organs"):
        CancerAssumptions(site_probability={"spleen": 0.1}, pdl1=None, phenotype=None)
    with pytest.raises(ParameterError, match=r"phenotype frequencies .* must sum to 1"):
        CancerAssumptions(site_probability={}, pdl1=None, phenotype=(0.5, 0.5, 0.5))
    with pytest.raises(ParameterError, match=r"ECOG frequencies .* must sum to 1"):
        CancerAssumptions(site_probability={}, pdl1=None, phenotype=None, ecog=(1, 1, 0))


# ----------------------------------------------------------------------------- baseline matching
TARGETS = {"pdl1_tps_pct>=50": 0.30, "age_yr": 61.0, "liver mets": 0.20, "male": 0.60}


@pytest.fixture(scope="module")
def nsclc_pool() -> pd.DataFrame:
    return sample_covariates("nsclc", 20_000, seed=21)


def test_match_baseline_weights_hit_targets(nsclc_pool):
    m = match_baseline(nsclc_pool, TARGETS)
    assert m.method == "weights" and m.selected is None
    assert m.weights.sum() == pytest.approx(1.0) and (m.weights > 0).all()
    t = m.table.set_index("covariate")
    assert (t.difference.abs() < 0.01).all()  # within 1 percentage point (and 0.01 yr)
    assert t.loc["age_yr", "kind"] == "mean" and t.loc["male", "kind"] == "proportion"
    assert abs(t.loc["age_yr", "unweighted"] - 61.0) > 1.0  # the tilt did something
    assert 1000 < m.ess < len(nsclc_pool)


def test_match_baseline_select_is_deterministic_and_close(nsclc_pool):
    """A 1,000-patient weighted subsample of a 20,000 pool: each proportion within 4 binomial SEs
    (~6 pp at p=0.5) and age within 1.5 yr."""
    a = match_baseline(nsclc_pool, TARGETS, method="select", n=1000, seed=3)
    b = match_baseline(nsclc_pool, TARGETS, method="select", n=1000, seed=3)
    np.testing.assert_array_equal(a.selected, b.selected)
    assert len(a.frame) == 1000 and len(set(a.selected)) == 1000
    t = a.table.set_index("covariate")
    for key, target in TARGETS.items():
        tol = 1.5 if key == "age_yr" else 4 * np.sqrt(target * (1 - target) / 1000)
        assert abs(t.loc[key, "achieved"] - target) < tol, key


def test_baseline_table_default_rows(nsclc_pool):
    t = baseline_table(nsclc_pool)
    assert "pdl1_tps_pct>=50" in set(t.covariate) and t.target.isna().all()
    assert np.allclose(t.achieved, t.unweighted)
    with pytest.raises(ParameterError, match="weights must be 20000 finite numbers"):
        baseline_table(nsclc_pool, np.ones(3))


def test_baseline_target_parse():
    t = BaselineTarget.parse("ecog==0", 0.5)
    assert (t.column, t.op, t.threshold) == ("ecog", "==", 0.0)
    assert BaselineTarget.parse("lymph nodes mets", 0.5).column == "site_lymph_node"
    ph = BaselineTarget.parse("immune_phenotype==inflamed", 0.4)
    df = sample_covariates("melanoma", 50, seed=0)
    assert ph.values(df).mean() == (df.immune_phenotype == "inflamed").mean()


@pytest.mark.parametrize(
    ("targets", "match", "exc"),
    [
        ({"pdl1_tps_pct>=50": 30}, r"is a proportion; give it as a fraction in \[0, 1\]", None),
        ({"age_yr": 200.0}, r"'age_yr' = 200 is outside what the patients span", None),
        ({"age yr!": 60}, r"cannot read baseline target 'age yr!'", None),
        ({"age_y": 60}, r"unknown covariate column 'age_y'; did you mean 'age_yr'", "name"),
        ({"sex": 0.5}, r"column 'sex' is not numeric; target a proportion instead", None),
        ({"age_yr==old": 0.5}, r"compare 'age_yr' with a number", None),
        ({"sex>=M": 0.5}, r"use == or != with text", None),
        ({"age_yr": float("nan")}, r"give a finite number", None),
        ({}, r"no baseline targets given", None),
        (
            {"age_yr>=60": 0.9, "age_yr<60": 0.9},
            r"cannot all be met at once by reweighting",
            "oncotwin",
        ),
    ],
)
def test_match_baseline_errors(nsclc_pool, targets, match, exc):
    kind = {None: ParameterError, "name": UnknownNameError, "oncotwin": OncotwinError}[exc]
    with pytest.raises(kind, match=match):
        match_baseline(nsclc_pool.iloc[:3000], targets)


def test_match_baseline_argument_errors(nsclc_pool):
    small = nsclc_pool.iloc[:500]
    with pytest.raises(ParameterError, match="method='rake'; give 'weights' or 'select'"):
        match_baseline(small, {"age_yr": 62}, method="rake")
    with pytest.raises(ParameterError, match="method='select' needs n"):
        match_baseline(small, {"age_yr": 62}, method="select")
    with pytest.raises(ParameterError, match="n=600 is more than the 500 patients given"):
        match_baseline(small, {"age_yr": 62}, method="select", n=600)
    with pytest.raises(ParameterError, match="the frame has 1 rows"):
        match_baseline(small.iloc[:1], {"age_yr": 62})
    lbcl = sample_covariates("lbcl", 50, seed=0)
    with pytest.raises(ParameterError, match=r"\['pdl1_tps_pct>=1'\] have missing values"):
        match_baseline(lbcl, {"pdl1_tps_pct>=1": 0.5})
