"""The exposure view of `oncotwin optimize` against published model-based exposure comparisons.

Published values (all geometric-mean comparisons of population-PK simulations):

* Lala et al. 2020 (Eur J Cancer 131:68, abstract; PMID 32305010): pembrolizumab 400 mg Q6W
  vs 200 mg Q3W: Cavg,ss geometric mean ~1% higher; Cmax,ss of 400 mg Q6W ~65% lower than
  that of 10 mg/kg Q2W. The paper's trough and peak ratios of Q6W vs Q3W (its Table 2) could not
  be retrieved here: for those the test asserts their direction and that they stay within the
  bounds Lala's conclusion needs (trough above 2 mg/kg Q3W's, peak below 10 mg/kg Q2W's).
* Zhao et al. 2020 (Ann Oncol 31:302, abstract): nivolumab 480 mg Q4W vs 3 mg/kg Q2W with the
  time-varying clearance of Bajaj et al. 2017: Cavg over the first 28 days +26.8%, Cavg at
  steady state +5.2%, Cmax after the first dose +110.4%, trough at day 28 -22.1%.
* Elassaiss-Schaap et al. 2017 (CPT Pharmacometrics Syst Pharmacol 6:21, abstract) and Patnaik
  et al. 2015 (Clin Cancer Res 21:4286, abstract): blood target engagement of pembrolizumab
  saturates from troughs of >= 1 mg/kg Q3W; 95% at 2 mg/kg Q3W (the EC50 is derived from the
  latter, so the test checks the former and the labelled dose).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from oncotwin.optimize.exposure import (
    exposure_ratios,
    pk_inputs,
    simulate_exposure,
)
from oncotwin.trials.spec import example_path, load_spec

#: Relative tolerance on a published ratio: the virtual NSCLC population's covariates (weight,
#: albumin, tumour size, sex) differ from the papers' pooled populations.
REL_TOL = 0.04


@pytest.fixture(scope="module")
def inputs():
    return pk_inputs(load_spec(example_path("keynote024")), 600, seed=1)


def _ex(drug, regimen, inputs):
    return simulate_exposure(drug, regimen, inputs)


def test_lala_pembrolizumab_q6w(inputs):
    q3 = _ex("pembrolizumab", "pembrolizumab 200 mg IV q3w", inputs)
    q6 = _ex("pembrolizumab", "pembrolizumab 400 mg IV q6w", inputs)
    hi = _ex("pembrolizumab", "pembrolizumab 10 mg/kg IV q2w", inputs)
    kg2 = _ex("pembrolizumab", "pembrolizumab 2 mg/kg IV q3w", inputs)
    r = exposure_ratios(q6, q3)
    assert r["Cavg_ss"] == pytest.approx(1.01, abs=0.03)  # Lala: ~1% higher
    # Lala: Cmax,ss of 400 mg Q6W ~65% lower than 10 mg/kg Q2W
    assert exposure_ratios(q6, hi)["Cmax_ss"] == pytest.approx(0.35, abs=0.05)
    # a longer interval at the same average: lower trough, higher peak (Lala, Table 2)
    assert 0.6 < r["Cmin_ss"] < 0.95
    assert 1.2 < r["Cmax_ss"] < 1.8
    # trough of 400 mg Q6W stays above that of 2 mg/kg Q3W (Lala's efficacy bridge)
    assert exposure_ratios(q6, kg2)["Cmin_ss"] > 1.0


def test_zhao_nivolumab_q4w_with_time_varying_clearance(inputs):
    q2 = _ex("nivolumab", "nivolumab 3 mg/kg IV q2w", inputs)
    q4 = _ex("nivolumab", "nivolumab 480 mg IV q4w", inputs)
    r = exposure_ratios(q4, q2)
    assert r["Cavg_early"] == pytest.approx(1.268, rel=REL_TOL)
    assert r["Cavg_ss"] == pytest.approx(1.052, rel=REL_TOL)
    assert r["Cmax_1"] == pytest.approx(2.104, rel=REL_TOL)
    assert r["Cmin_early"] == pytest.approx(0.779, rel=REL_TOL)
    # flat doses: 480 mg Q4W and 240 mg Q2W have the same Cavg,ss under linear PK
    flat = exposure_ratios(q4, _ex("nivolumab", "nivolumab 240 mg IV q2w", inputs))
    assert flat["Cavg_ss"] == pytest.approx(1.0, abs=0.005)


def test_time_varying_clearance_reaches_its_steady_state(inputs):
    """At steady state each patient's Cavg is dose / (tau x CL exp(Emax_i)) (Bajaj 2017)."""
    from oncotwin.pharmacology.poppk import PatientCovariates, antibody_pk, individual_pk

    ex = _ex("nivolumab", "nivolumab 240 mg IV q2w", inputs)
    pk = antibody_pk("nivolumab")
    cov = PatientCovariates(
        inputs.weight_kg, inputs.albumin_g_dl, inputs.tumour_mm, inputs.female, inputs.ecog
    )
    ind = individual_pk(pk, cov, inputs.eta_cl, inputs.eta_v1, inputs.eta_emax)
    cl_ss = ind["CL"] * np.exp(ind["CL_Emax"])
    expected = 240.0 / (14.0 * cl_ss)
    np.testing.assert_allclose(ex["Cavg_ss"], expected, rtol=0.01)
    # clearance falls over time: the steady-state average is above the first-dose one
    first = 240.0 / (14.0 * ind["CL"])
    assert np.median(ex["Cavg_ss"] / first) > 1.2


def test_receptor_occupancy_saturates_below_labelled_dose(inputs):
    low = _ex("pembrolizumab", "pembrolizumab 1 mg/kg IV q3w", inputs)
    half = _ex("pembrolizumab", "pembrolizumab 100 mg IV q3w", inputs)
    label = _ex("pembrolizumab", "pembrolizumab 200 mg IV q3w", inputs)
    assert np.median(low["RO_min_ss"]) >= 0.88  # Patnaik 2015: saturation from 1 mg/kg Q3W
    assert np.median(half["RO_min_ss"]) >= 0.90  # half the labelled dose already > 90%
    assert np.median(label["RO_min_ss"]) >= 0.95
    # exposure doubles from 100 to 200 mg; occupancy moves by a few points only
    assert np.median(label["RO_min_ss"] - half["RO_min_ss"]) < 0.05


@pytest.mark.parametrize(
    ("drug", "template"),
    [("pembrolizumab", "pembrolizumab {} mg IV q3w"), ("nivolumab", "nivolumab {} mg/kg IV q2w")],
)
def test_higher_dose_never_lowers_exposure(inputs, drug, template):
    doses = (0.5, 1, 3, 10) if "kg" in template else (50, 100, 200, 400, 800)
    runs = [_ex(drug, template.format(d), inputs) for d in doses]
    for a, b in itertools.pairwise(runs):
        for m in ("Cavg_ss", "Cmin_ss", "Cmax_ss", "Cavg_early", "Cmin_early", "Cmax_1"):
            assert np.all(b[m].to_numpy() >= a[m].to_numpy() * (1 - 1e-12)), m
        assert np.all(b["RO_min_ss"].fillna(0) >= a["RO_min_ss"].fillna(0))


def test_bad_exposure_input(inputs):
    from oncotwin.errors import OncotwinError, RegimenError

    with pytest.raises(RegimenError, match="gives no nivolumab"):
        simulate_exposure("nivolumab", "pembrolizumab 200 mg IV q3w", inputs)
    with pytest.raises(RegimenError, match="fewer than 2 doses"):
        simulate_exposure("nivolumab", "nivolumab 240 mg IV once", inputs)
    with pytest.raises(OncotwinError, match="dt="):
        simulate_exposure("nivolumab", "nivolumab 240 mg IV q2w", inputs, dt=0.0)
