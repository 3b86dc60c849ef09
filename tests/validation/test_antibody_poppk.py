"""Antibody PK over time: time-varying clearance, mass balance, dose proportionality, and
exposures of virtual patients against the published population-PK analyses."""

from __future__ import annotations

import math

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.models.metastatic_io_cancers import io_parameters
from oncotwin.population import Population
from oncotwin.population.covariates import sample_eligible
from oncotwin.regimens import parse_regimen
from oncotwin.simulation import simulate
from oncotwin.solvers import SolverOptions

OPTS = SolverOptions(rtol=1e-7, atol=1e-9)


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


def _one(model, **params) -> Population:
    p = model.parameter_array(1, **params)
    return Population(model, p, np.full(1, 80.0), np.full(1, 175.0), np.full(1, 1.95), 0, {})


def test_nivolumab_clearance_falls_by_the_published_emax(model):
    """Bajaj 2017: CL(t) = CL0 exp(-0.295 t^3.15 / (58.75^3.15 + t^3.15)), t since the first
    dose: at one year CL is exp(-0.295 f) of the first day's (f = 0.997), and the clock starts
    at the first dose, not at time 0."""
    reg = "nivolumab 240 mg IV q2w starting d29"
    sol = simulate(model, reg, patients=_one(model), days=393, every=1.0, options=OPTS).solution
    names = list(sol.names)
    cl = sol.expression("aPD1_clearance")[0]
    clock = sol.y[0, :, names.index("aPD1_clock")]
    t = sol.t
    assert clock[t == 27.0][0] == 0.0
    np.testing.assert_allclose(clock[t == 128.0][0], 100.0, rtol=1e-3)

    def f(x):
        return x**3.15 / (58.75**3.15 + x**3.15)

    ratio = cl[t == 393.0][0] / cl[t == 29.0][0]
    assert ratio == pytest.approx(math.exp(-0.295 * (f(365.0) - f(1.0))), rel=2e-3)
    assert ratio < 0.76  # a ~25% fall at steady state


def test_antibody_mass_balance_with_time_varying_clearance():
    """central + peripheral + eliminated = dosed, for nivolumab's time-varying CL."""
    pk = ot.get_model("pk:nivolumab")
    fixed = {name: 0.0 for name in pk.parameter_names}
    reg = "nivolumab 480 mg IV q4w x8"
    sol = simulate(pk, reg, patients=1, days=300, every=1.0, vary=fixed, options=OPTS).solution
    names = list(sol.names)
    total = sum(sol.y[0, :, names.index(k)] for k in ("central", "peripheral", "eliminated"))
    dosed = 480.0 * np.minimum(np.floor(sol.t / 28.0) + 1, 8)
    np.testing.assert_allclose(total, dosed, rtol=1e-6)


def test_metastatic_io_antibody_matches_the_mass_balanced_pk_model(model):
    """metastatic_io's anti-PD-1 amounts (with time-varying CL) equal pk:nivolumab's for the
    paper's reference patient (80 kg woman, ECOG 0, no between-patient draw)."""
    reg = "nivolumab 240 mg IV q2w x10"
    ref_patient = {"pk_weight": 80.0, "pk_female": 1.0, "pk_ecog": 0.0}
    sol = simulate(
        model, reg, patients=_one(model, **ref_patient), days=200, every=1.0, options=OPTS
    ).solution
    pk = ot.get_model("pk:nivolumab")
    fixed = {name: 0.0 for name in pk.parameter_names}
    ref = simulate(pk, reg, patients=1, days=200, every=1.0, vary=fixed, options=OPTS).solution
    np.testing.assert_allclose(
        sol.y[0, :, list(sol.names).index("aPD1_c")],
        ref.y[0, :, list(ref.names).index("central")],
        rtol=1e-5,
        atol=1e-6,
    )


def _auc(pk, pop, reg, t0, t1):
    sol = simulate(pk, reg, patients=pop, days=t1, every=0.25, options=OPTS).solution
    v1 = pop.params[:, [pk.parameter_index("V1")]]
    c = sol.y[:, :, list(sol.names).index("central")] / v1
    w = (sol.t >= t0) & (sol.t <= t1)
    return np.trapezoid(c[:, w], sol.t[w], axis=1)


def _virtual_pk(model, drug, reg, n, cancer="melanoma", seed=5, time_varying=True):
    """A pk:<drug> population of virtual patients with their individual PK of ``reg``."""
    cov = sample_eligible(cancer, n, None, seed=seed)
    params = io_parameters(model, cov, cancer, seed=seed)
    p, _ = model.regimen_adapter.prepare(model, parse_regimen(reg), params, 700.0)
    pk = ot.get_model(f"pk:{drug}")
    q = pk.parameter_array(n)
    for k in ("CL", "V1", "Q", "V2", "CL_Emax", "CL_T50", "CL_hill"):
        q[:, pk.parameter_index(k)] = p[:, model.parameter_index(f"aPD1_{k}")]
    if not time_varying:
        q[:, pk.parameter_index("CL_Emax")] = 0.0
    body = [cov[k].to_numpy(float) for k in ("weight_kg", "height_cm", "bsa_m2")]
    return pk, Population(pk, q, *body, seed, {})


def test_a_higher_dose_never_lowers_exposure(model):
    """Linear PK: each patient's AUC scales with the dose (and never falls)."""
    pk, pop = _virtual_pk(model, "pembrolizumab", "pembrolizumab 200 mg IV q3w", 40)
    aucs = [_auc(pk, pop, f"pembrolizumab {d} mg IV q3w x6", 0, 126) for d in (100, 200, 400)]
    assert np.all(aucs[1] > aucs[0]) and np.all(aucs[2] > aucs[1])
    np.testing.assert_allclose(aucs[2] / aucs[1], 2.0, rtol=1e-3)


def test_pembrolizumab_exposure_matches_the_published_population_pk(model):
    """Benchmark (tolerance 15%): virtual melanoma patients on pembrolizumab 200 mg q3w.

    * baseline CL, geometric mean: label 252 mL/day after the first dose; at steady state
      195 mL/day (KeytrudaLabel, section 12.3);
    * AUCss over 6 weeks of the time-invariant model (as Freshwater 2017 computed it from
      Ahamadi 2017): mean 1.87 mg*day/mL at 200 mg q3w (Freshwater 2017, J Immunother
      Cancer 5:43, Results).
    """
    reg = "pembrolizumab 200 mg IV q3w x30"
    pk, pop = _virtual_pk(model, "pembrolizumab", reg, 400, time_varying=False)
    cl0 = pop.params[:, pk.parameter_index("CL")]
    p_emax = _virtual_pk(model, "pembrolizumab", reg, 400)[1].params
    clss = cl0 * np.exp(p_emax[:, pk.parameter_index("CL_Emax")])
    gm = float(np.exp(np.log(cl0).mean()))
    assert gm == pytest.approx(0.252, rel=0.15)
    assert float(np.exp(np.log(clss).mean())) == pytest.approx(0.195, rel=0.15)
    auc6 = _auc(pk, pop, reg, 420, 462) / 1000.0  # mg*day/mL
    assert auc6.mean() == pytest.approx(1.87, rel=0.15)
