"""Renal covariates: serum creatinine by sex and age, the Cockcroft-Gault creatinine clearance
(Population.crcl_ml_min) and the true GFR it misses by its published error (metastatic_io's
gfr_ml_min), in trial populations and in plain parameter samples."""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin._random import patient_normals
from oncotwin.population import sample_population
from oncotwin.population._renal import cockcroft_gault, renal_parameters, serum_creatinine
from oncotwin.population.covariates import Eligibility, sample_covariates, sample_eligible


@pytest.fixture(scope="module")
def nsclc():
    return sample_covariates("nsclc", 20_000, seed=3)


def test_cockcroft_gault_formula() -> None:
    # (140 - 60) x 70 / (72 x 1.0) = 77.8 mL/min; x 0.85 for a woman
    assert cockcroft_gault(60, 70, 1.0, female=False) == pytest.approx(77.78, abs=0.01)
    assert cockcroft_gault(60, 70, 1.0, female=True) == pytest.approx(0.85 * 77.78, abs=0.01)
    # uncapped: a young heavy man with low creatinine is far above the FDA's 125 cap
    assert cockcroft_gault(30, 110, 0.6, female=False) > 250


def test_columns_follow_the_formula(nsclc) -> None:
    female = nsclc.sex == "F"
    want = cockcroft_gault(
        nsclc.age_yr, nsclc.weight_kg, nsclc.serum_creatinine_mg_dl, female=female
    )
    np.testing.assert_allclose(nsclc.crcl_ml_min, want, rtol=1e-12)
    assert (nsclc.gfr_ml_min > 0).all() and np.isfinite(nsclc.gfr_ml_min).all()


def test_creatinine_by_sex_matches_pottel_2008(nsclc) -> None:
    """Below the age knee the medians are Pottel 2008's IDMS means (men 0.90, women 0.70
    mg/dL) within 0.02 mg/dL (sampling SE of the median ~0.005)."""
    young = nsclc[nsclc.age_yr < 60]
    assert young[young.sex == "M"].serum_creatinine_mg_dl.median() == pytest.approx(0.90, abs=0.02)
    assert young[young.sex == "F"].serum_creatinine_mg_dl.median() == pytest.approx(0.70, abs=0.02)


def test_creatinine_rises_with_age(nsclc) -> None:
    """Medians of men aged 75-85 over men under 60: exp(0.01 x ~19 yr) ~ 1.2 (NHANES III: the
    oldest group's mean ~25-29% above the youngest's), within 0.06."""
    men = nsclc[nsclc.sex == "M"]
    old = men[(men.age_yr >= 75) & (men.age_yr <= 85)]
    ratio = (
        old.serum_creatinine_mg_dl.median() / men[men.age_yr < 60].serum_creatinine_mg_dl.median()
    )
    expect = np.exp(0.01 * (old.age_yr.median() - 60.0))
    assert ratio == pytest.approx(expect, abs=0.06)
    assert ratio > 1.1


def test_crcl_lower_in_women_and_plausible(nsclc) -> None:
    """CrCl: women below men (the 0.85 factor and lower weight outweigh women's lower
    creatinine: 0.85 x ~0.86 weight / 0.78 creatinine ~ 0.94); the population median within the
    measured-GFR range of cancer cohorts once CG's overestimate is allowed for (Poole 2002:
    mean measured GFR 87 mL/min), i.e. 70-110 mL/min; CrCl falls with age."""
    m = nsclc[nsclc.sex == "M"].crcl_ml_min.median()
    f = nsclc[nsclc.sex == "F"].crcl_ml_min.median()
    assert 0.85 * m <= f < 0.99 * m
    assert 70 <= nsclc.crcl_ml_min.median() <= 110
    assert np.corrcoef(nsclc.age_yr, np.log(nsclc.crcl_ml_min))[0, 1] < -0.3


def test_true_gfr_error_is_as_parameterised(nsclc) -> None:
    """log(true GFR / CrCl) has the mean (cg_log_bias = -0.09: CG overestimates by ~9%, Craig
    2012, Quinton 2013) and SD (cg_log_sd = 0.22: mean absolute percentage error ~19%, within
    the 16-21% of Quinton 2013 and Poole 2002) of the records, within 0.01."""
    p = renal_parameters()
    err = np.log(nsclc.gfr_ml_min / nsclc.crcl_ml_min)
    assert err.mean() == pytest.approx(p["cg_log_bias"], abs=0.01)
    assert err.std() == pytest.approx(p["cg_log_sd"], abs=0.01)
    mape = np.mean(np.abs(nsclc.crcl_ml_min / nsclc.gfr_ml_min - 1.0))
    assert 0.16 <= mape <= 0.24


def test_calvert_dosing_scatters_achieved_auc(nsclc) -> None:
    """Dosed by Calvert from the capped CrCl, carboplatin cleared at the true GFR: achieved /
    target AUC = (min(CrCl, 125) + 25) / (GFR + 25): a median overdose of a few percent and
    a wide scatter, as CG-based dosing shows against measured GFR (Craig 2012: CG overdosed
    66% of patients)."""
    ratio = (np.minimum(nsclc.crcl_ml_min, 125.0) + 25.0) / (nsclc.gfr_ml_min + 25.0)
    assert 1.0 < np.median(ratio) < 1.12
    assert 0.55 <= (ratio > 1).mean() <= 0.75
    assert 0.15 <= (np.abs(ratio - 1) > 0.2).mean() <= 0.45


def test_crcl_eligibility(nsclc) -> None:
    df = sample_eligible("nsclc", 300, Eligibility(crcl_min=60), seed=3)
    assert (df.crcl_ml_min >= 60).all()
    assert df.attrs["screened"] > 300  # some patients were screened out
    assert (
        "creatinine clearance (Cockcroft-Gault) >= 60 mL/min" in Eligibility(crcl_min=60).describe()
    )
    with pytest.raises(ot.errors.ParameterError, match="crcl_min"):
        Eligibility(crcl_min=-5)


def test_trial_population_carries_crcl_and_true_gfr() -> None:
    from oncotwin.population.virtual import VirtualPopulation

    m = ot.get_model("metastatic_io")
    vp = VirtualPopulation.for_trial(m, "nsclc", np.arange(30), seed=2)
    np.testing.assert_array_equal(vp.population.crcl_ml_min, vp.covariates.crcl_ml_min)
    np.testing.assert_allclose(vp.parameter("gfr_ml_min"), vp.covariates.gfr_ml_min)
    sub = vp.take(np.array([3, 7]))
    np.testing.assert_array_equal(sub.population.crcl_ml_min, vp.population.crcl_ml_min[[3, 7]])


def test_plain_sample_population_has_renal_values() -> None:
    """sample_population: CrCl from the assumed default renal distribution, metastatic_io's
    gfr_ml_min set per patient, chunk-independent; the parameter draws themselves unchanged
    (the renal draws use separate counter streams)."""
    kuz = ot.get_model("kuznetsov1994")
    pop = sample_population(kuz, 400, seed=9)
    assert pop.crcl_ml_min is not None and pop.crcl_ml_min.shape == (400,)
    assert 65 <= np.median(pop.crcl_ml_min) <= 115
    names = list(kuz.parameter_names)
    log_sd = np.array([kuz.parameters[k].log_sd for k in names])
    z = patient_normals(9, 0, 400, len(names) + 2)
    expect = kuz.default_parameters()[None, :] * np.exp(log_sd[None, :] * z[:, : len(names)])
    np.testing.assert_allclose(pop.params, expect, rtol=1e-12)
    part = sample_population(kuz, 100, seed=9, first=300)
    np.testing.assert_array_equal(part.crcl_ml_min, pop.crcl_ml_min[300:])
    io = ot.get_model("metastatic_io")
    ipop = sample_population(io, 200, seed=9)
    gfr = ipop.parameter("gfr_ml_min")
    assert np.std(np.log(gfr / ipop.crcl_ml_min)) == pytest.approx(0.22, abs=0.04)
    fixed = sample_population(io, 5, seed=9, vary={"gfr_ml_min": 0.0})
    assert np.all(fixed.parameter("gfr_ml_min") == io.parameters["gfr_ml_min"].value)


def test_serum_creatinine_vectorised_and_deterministic() -> None:
    z = np.array([-1.0, 0.0, 1.0])
    a = serum_creatinine([50, 50, 50], [False, False, False], z)
    assert a[1] == pytest.approx(0.9) and a[0] < a[1] < a[2]
    np.testing.assert_array_equal(a, serum_creatinine([50, 50, 50], [False] * 3, z))
