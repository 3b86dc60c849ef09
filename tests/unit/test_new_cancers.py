"""The cancers of issue 12 (colorectal all-comers, follicular lymphoma, hepatocellular, head and
neck, gastric, small-cell lung, triple-negative breast): names and aliases, covariates against
their sources, the parameter sets, and the covariate -> parameter mapping of the new target and
mutation covariates."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import UnknownNameError
from oncotwin.population.covariates import (
    ASSUMPTIONS,
    CANCER_TYPES,
    Eligibility,
    covariate_data,
    resolve_cancer,
    sample_covariates,
    sample_eligible,
)

NEW = (
    "colorectal",
    "follicular_lymphoma",
    "hepatocellular",
    "head_and_neck",
    "gastric",
    "small_cell_lung",
    "triple_negative_breast",
)
LORIS = "data/external/loris-chang2024-icb-cohorts/Chowell_train.csv"
SAMSTEIN = "data/external/samstein2019-msk-tmb-icb/tmb_mskcc_2018_clinical_data.tsv"


@pytest.fixture(scope="module")
def samples() -> dict[str, pd.DataFrame]:
    return {c: sample_covariates(c, 20_000, seed=7) for c in NEW}


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("colorectal", "colorectal"),
        ("CRC", "colorectal"),
        ("mCRC", "colorectal"),
        ("MSS colorectal", "colorectal"),
        ("MSI-H colorectal", "colorectal_msi_high"),
        ("dMMR colorectal", "colorectal_msi_high"),
        ("FL", "follicular_lymphoma"),
        ("HCC", "hepatocellular"),
        ("liver cancer", "hepatocellular"),
        ("HNSCC", "head_and_neck"),
        ("SCCHN", "head_and_neck"),
        ("gastric cancer", "gastric"),
        ("GEJ", "gastric"),
        ("SCLC", "small_cell_lung"),
        ("ES-SCLC", "small_cell_lung"),
        ("TNBC", "triple_negative_breast"),
    ],
)
def test_aliases_resolve(alias: str, canonical: str) -> None:
    assert resolve_cancer(alias) == canonical


def test_unknown_cancer_says_did_you_mean() -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown cancer type 'hepatocelular'.*did you mean"
    ):
        resolve_cancer("hepatocelular")


def test_every_cancer_has_a_set_and_covariates() -> None:
    from oncotwin.models.metastatic_io_cancers import CANCER_SETS

    assert set(NEW) <= set(CANCER_TYPES)
    assert set(CANCER_SETS) == set(CANCER_TYPES)
    assert set(covariate_data()["cancers"]) == set(CANCER_TYPES)
    fl = CANCER_SETS["follicular_lymphoma"]
    assert (fl.assessment, fl.haematologic) == ("lugano", True)
    assert {"CD19", "CD20"} <= set(fl.antigens)
    for c in NEW:
        if c != "follicular_lymphoma":
            assert CANCER_SETS[c].assessment == "recist", c
    assert "HER2" in CANCER_SETS["gastric"].antigens


def test_new_sets_state_provenance_and_ranges() -> None:
    """Every value of a new set is a record with a reason and, where calibration may move it,
    a basis and a range that holds the value."""
    from oncotwin.models.metastatic_io_cancers import CANCER_SETS

    for c in NEW:
        for name, p in CANCER_SETS[c].parameters.items():
            assert p.reason or p.source is not None, (c, name)
            assert p.basis, (c, name)
            lo, hi = p.prior_range
            assert lo <= p.value <= hi, (c, name)


def test_indolent_and_fast_kinetics_are_ordered() -> None:
    """Follicular lymphoma grows slowest, small-cell lung fastest of the new solid tumours; the
    growth constants are 0.23/VDT of the cited doubling times (SCLC 53 d, Lenhard 1981; HCC
    ~140 d, Rich 2021; HNSCC 99 d, Jensen 2007; TNBC 103 d, Ryu 2014)."""
    from oncotwin.models.metastatic_io_cancers import CANCER_SETS

    g = {c: CANCER_SETS[c].parameters["growth_rate"].value for c in NEW}
    assert g["follicular_lymphoma"] == min(g.values())
    assert g["small_cell_lung"] == max(g.values())
    for c, vdt in {
        "small_cell_lung": 53,
        "hepatocellular": 140,
        "head_and_neck": 99,
        "triple_negative_breast": 103,
    }.items():
        assert 0.23 / g[c] == pytest.approx(vdt, rel=1e-9), c
    assert 0.23 / g["follicular_lymphoma"] >= 150  # before immune control (see below)
    sclc = CANCER_SETS["small_cell_lung"].parameters
    assert sclc["chemo_sensitivity"].value > 1.0  # chemo-sensitive ...
    assert sclc["chemo_resistance_rate"].value > 0.126  # ... then resistant, faster than default


# ----------------------------------------------------------------------------- covariates
def test_colorectal_is_mss_majority(samples) -> None:
    """All-comers colorectal: MSI-high 4.5% (binomial SE of 20,000 draws 0.15 pp; tolerance
    0.6 pp), nearly all MSI-high hypermutated (TMB >= 20; ~89% at rho_msi_tmb 0.99) and about
    1% of MSS tumours (POLE-mutant hypermutation); RAS wild type
    ~48%, BRAF V600 ~8% and inside the RAS wild type."""
    df = samples["colorectal"]
    assert df.msi_high.mean() == pytest.approx(0.045, abs=0.006)
    hyper = df.tmb_mut_per_mb >= 20
    assert hyper[df.msi_high].mean() > 0.85
    assert hyper[~df.msi_high].mean() < 0.015
    assert df.ras_wild_type.mean() == pytest.approx(0.48, abs=0.015)
    assert df.braf_v600_mutant.mean() == pytest.approx(0.08, abs=0.01)
    assert not (df.braf_v600_mutant & ~df.ras_wild_type).any()
    assert sample_covariates("colorectal_msi_high", 500, seed=1).msi_high.all()


def test_cohort_medians_reproduce_the_shared_data(shared_file, samples) -> None:
    """Sampled medians against the cohort rows they were fitted to (3% relative for TMB/NLR,
    0.05 g/dL albumin, 1 yr age, as for the older cancers)."""
    loris = pd.read_csv(shared_file(LORIS))
    sam = pd.read_csv(shared_file(SAMSTEIN), sep="\t")
    rows = {
        "head_and_neck": "Head & Neck",
        "gastric": "Gastric",
        "small_cell_lung": "SCLC",
        "hepatocellular": "Hepatobiliary",
    }
    for c, ctype in rows.items():
        r = loris[loris.CancerType == ctype]
        df = samples[c]
        assert df.nlr.median() == pytest.approx(r.NLR.median(), rel=0.03), c
        assert df.albumin_g_dl.median() == pytest.approx(r.Albumin.median(), abs=0.05), c
        assert df.age_yr.median() == pytest.approx(r.Age.median(), abs=1.0), c
    hn = sam[
        (sam["Cancer Type"] == "Head and Neck Cancer")
        & sam["Cancer Type Detailed"].str.contains("Squamous", na=False)
    ]
    assert samples["head_and_neck"].tmb_mut_per_mb.median() == pytest.approx(
        hn["TMB Score"].median(), rel=0.03
    )
    sclc = loris[loris.CancerType == "SCLC"]
    assert samples["small_cell_lung"].tmb_mut_per_mb.median() == pytest.approx(
        sclc.TMB.median(), rel=0.03
    )


@pytest.mark.parametrize(
    ("cancer", "threshold", "share"),
    [
        ("head_and_neck", 1, 0.85),
        ("head_and_neck", 20, 0.43),
        ("gastric", 1, 0.82),
        ("gastric", 5, 0.60),
        ("triple_negative_breast", 1, 0.75),
        ("triple_negative_breast", 10, 0.38),
    ],
)
def test_pdl1_cps_matches_its_anchors(samples, cancer, threshold, share) -> None:
    """CPS subgroup shares of the pivotal trials within 1.5 pp (the TPS floor may only add a
    little above the anchors); CPS is never below TPS; no CPS where the cancer has none."""
    df = samples[cancer]
    assert (df.pdl1_cps >= threshold).mean() == pytest.approx(share, abs=0.015)
    assert (df.pdl1_cps >= df.pdl1_tps_pct).all()
    assert df.pdl1_cps.max() <= 100.0
    assert samples["small_cell_lung"].pdl1_cps.isna().all()


def test_target_and_driver_shares(samples) -> None:
    """HER2 in gastric ~18%, HPV in head and neck ~20%, HLA-A*02:01 ~47% everywhere, BRAF in
    melanoma ~45%, EGFR in NSCLC ~12%, EGFR and BRAF never together (binomial SE <= 0.4 pp)."""
    assert samples["gastric"].her2_positive.mean() == pytest.approx(0.18, abs=0.012)
    assert samples["head_and_neck"].hpv_positive.mean() == pytest.approx(0.2, abs=0.012)
    for c in NEW:
        assert samples[c].hla_a0201_positive.mean() == pytest.approx(0.47, abs=0.015), c
    mel = sample_covariates("melanoma", 20_000, seed=7)
    assert mel.braf_v600_mutant.mean() == pytest.approx(0.45, abs=0.015)
    lung = sample_covariates("nsclc", 20_000, seed=7)
    assert lung.egfr_mutant.mean() == pytest.approx(0.12, abs=0.01)
    assert not (lung.egfr_mutant & lung.braf_v600_mutant).any()
    assert not samples["triple_negative_breast"].her2_positive.any()
    assert (samples["triple_negative_breast"].sex == "F").all()


def test_site_frequencies_follow_the_assumptions(samples) -> None:
    """Organ involvement matches site_probability: never 2 pp below, and above only by the
    share of patients with no sampled site, who get their likeliest organ (a metastatic
    patient has disease somewhere)."""
    for c in NEW:
        p = ASSUMPTIONS[c].site_probability
        df = samples[c]
        none = float(np.prod([1.0 - q for q in p.values()]))  # independent-sites estimate
        for organ, prob in p.items():
            got = (df[f"site_{organ}"] > 0).mean()
            assert prob - 0.02 <= got <= prob + none + 0.02, (c, organ, got, prob, none)


def test_follicular_lymphoma_is_haematologic(samples) -> None:
    df = samples["follicular_lymphoma"]
    assert df.pdl1_tps_pct.isna().all() and df.immune_phenotype.isna().all()
    assert (df.site_lymph_node > 0).mean() > 0.95
    assert df.cd19_positive.mean() > 0.95


def test_eligibility_new_fields() -> None:
    e = Eligibility(pdl1_cps_min=20, hpv_positive=False, crcl_min=60)
    df = sample_eligible("hnscc", 200, e, seed=2)
    assert (df.pdl1_cps >= 20).all() and not df.hpv_positive.any()
    assert (df.crcl_ml_min >= 60).all()
    assert "PD-L1 CPS >= 20" in e.describe() and "not HPV-positive" in e.describe()
    df = sample_eligible("nsclc", 50, {"egfr_mutant": False}, seed=2)
    assert not df.egfr_mutant.any()
    with pytest.raises(UnknownNameError, match="did you mean 'pdl1_cps_min'"):
        Eligibility.from_dict({"pdl1_cps_mn": 1})


def test_determinism_under_a_seed() -> None:
    for c in NEW:
        a = sample_covariates(c, 64, seed=5)
        b = pd.concat(
            [sample_covariates(c, 30, seed=5), sample_covariates(c, 34, seed=5, start=30)],
            ignore_index=True,
        )
        pd.testing.assert_frame_equal(a, b)
        assert not a.equals(sample_covariates(c, 64, seed=6))


# ----------------------------------------------------------------------------- parameters
@pytest.fixture(scope="module")
def model():
    import oncotwin as ot

    return ot.get_model("metastatic_io")


@pytest.mark.parametrize("cancer", NEW)
def test_every_new_cancer_builds_a_population(model, cancer) -> None:
    from oncotwin.models.metastatic_io_cancers import io_population

    pop, cov = io_population(cancer, 40, seed=4, model=model)
    assert pop.n == 40 and len(cov) == 40
    assert np.isfinite(pop.params).all()
    assert pop.crcl_ml_min is not None and np.isfinite(pop.crcl_ml_min).all()
    np.testing.assert_allclose(pop.parameter("gfr_ml_min"), np.maximum(cov.gfr_ml_min, 1.0))
    again, _ = io_population(cancer, 40, seed=4, model=model)
    assert np.array_equal(pop.params, again.params)


def test_target_flags_follow_the_covariates(model) -> None:
    """expresses_<antigen> from the covariates: HER2 in gastric per patient, EGFR in
    colorectal only in RAS wild type, mutations and HLA-restricted gp100 where the model has
    those antigens (whether or not the mechanism modules have added them yet)."""
    from oncotwin.models.metastatic_io import TARGET_ANTIGENS
    from oncotwin.models.metastatic_io_cancers import io_population

    pop, cov = io_population("gastric", 200, seed=1, model=model)
    np.testing.assert_array_equal(pop.parameter("expresses_HER2"), cov.her2_positive)
    pop, cov = io_population("colorectal", 200, seed=1, model=model)
    np.testing.assert_array_equal(pop.parameter("expresses_EGFR"), cov.ras_wild_type)
    assert 0 < pop.parameter("expresses_EGFR").mean() < 1
    pop, cov = io_population("melanoma", 200, seed=1, model=model)
    if "gp100" in TARGET_ANTIGENS:
        np.testing.assert_array_equal(pop.parameter("expresses_gp100"), cov.hla_a0201_positive)
    if "BRAFV600" in TARGET_ANTIGENS:
        np.testing.assert_array_equal(pop.parameter("expresses_BRAFV600"), cov.braf_v600_mutant)
    if "EGFRm" in TARGET_ANTIGENS:
        pop, cov = io_population("nsclc", 200, seed=1, model=model)
        np.testing.assert_array_equal(pop.parameter("expresses_EGFRm"), cov.egfr_mutant)


def test_trial_spec_accepts_a_new_cancer(model) -> None:
    """A trial spec with a new cancer alias and the new eligibility keys parses, and its
    population is drawn from that cancer with those criteria applied."""
    from oncotwin.population.virtual import VirtualPopulation
    from oncotwin.trials.spec import example_path, parse_spec

    text = example_path("keynote024").read_text()
    text = text.replace('cancer = "nsclc"', 'cancer = "TNBC"')
    text = re.sub(
        r"^eligibility = .*$",
        "eligibility = { pdl1_cps_min = 10, crcl_min = 45, measurable_disease = true }",
        text,
        count=1,
        flags=re.M,
    )
    spec = parse_spec(text, source="tnbc.toml")
    assert resolve_cancer(spec.trial.cancer) == "triple_negative_breast"
    vp = VirtualPopulation.for_trial(
        model, spec.trial.cancer, np.arange(20), seed=1, eligibility=spec.population.eligibility
    )
    cov = vp.covariates
    assert (cov.cancer_type == "triple_negative_breast").all()
    assert (cov.pdl1_cps >= 10).all() and (cov.crcl_ml_min >= 45).all()
    np.testing.assert_array_equal(vp.population.crcl_ml_min, cov.crcl_ml_min)


@pytest.mark.slow
def test_untreated_kinetics_indolent_vs_fast(model) -> None:
    """Measured untreated growth over 8 weeks (net of immune control): small-cell lung doubles
    within months (Lenhard 1981: median 53 d, range 12-209) and nearly every patient grows;
    follicular lymphoma's net doubling takes over half a year, most patients growing slowly
    (the rest waxing and waning). 40 patients: a growing share has a binomial SE of ~7 pp."""
    from oncotwin.population.virtual import VirtualPopulation
    from oncotwin.simulation import simulate

    def net_vdt(cancer: str) -> tuple[float, float]:
        vp = VirtualPopulation.for_trial(model, cancer, np.arange(40), seed=3)
        sol = simulate(model, None, patients=vp, days=56, every=28, seed=3).solution
        names = [s for s in model.state_names if s.startswith(("T_", "U_"))]
        tot = sum(np.asarray(sol[s], float) for s in names)
        g = np.log(tot[:, -1] / tot[:, 0]) / 56.0
        vdt = np.where(g > 0, np.log(2) / np.where(g > 0, g, 1.0), np.inf)
        return float(np.median(vdt)), float((g > 0).mean())

    sclc, sclc_growing = net_vdt("small_cell_lung")
    fl, fl_growing = net_vdt("follicular_lymphoma")
    assert 20 <= sclc <= 209 and sclc_growing >= 0.9
    assert fl > 180 and fl_growing >= 0.5


@pytest.mark.parametrize(
    "name",
    ["crc", "follicular_lymphoma", "HCC", "head_and_neck", "GEJ", "sclc", "TNBC"],
)
def test_simulate_cli_accepts_the_new_cancers(tmp_path, name) -> None:
    """``oncotwin simulate --cancer NAME`` with 20 patients of every new cancer (aliases too)."""
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from oncotwin.cli.main import app

    out = tmp_path / "sim.parquet"
    args = ["simulate", "--cancer", name, "--patients", "20", "--days", "56", "--every", "28"]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    t = pq.read_table(out)
    assert t.num_rows == 20 * 3
    assert "not medical advice" in r.stdout


def test_simulate_cli_unknown_cancer_says_did_you_mean() -> None:
    from typer.testing import CliRunner

    from oncotwin.cli.main import app

    r = CliRunner().invoke(app, ["simulate", "--cancer", "hepatocelular", "--patients", "2"])
    assert r.exit_code != 0
    assert "did you mean 'hepatocellular'" in r.output
