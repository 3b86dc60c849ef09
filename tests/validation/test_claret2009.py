"""Validation of the Claret et al. 2009 tumour growth inhibition model.

Sources, precisely: Claret L et al. (2009) J Clin Oncol 27:4103-4108,
doi:10.1200/JCO.2008.21.0807, was **not read beyond its abstract**
(shared/data/papers/Claret2009.md). The values are those of BioModels MODEL1708310001
(K_L = 0.021, K_D0 = 0.025, lambda = 0.053, read as per week; y0 = 200 mm), probably the
capecitabine phase II estimates (an inference); the fluorouracil phase III set comes from one
reimplementation (a Pumas exercise). What each check is: the SBML values and the closed form
under constant exposure are **identities**; the time to tumour growth, the K-PD input against
the daily-dose step covariate, the week-7 ratio of the typical capecitabine regimen (0.720,
i.e. -28 %) and the dose ordering are **computed here from the model**. None is compared with
a published number: the paper's week-7 change, parameter table and survival coefficients
were not reached, so its abstract results (OS 431 days predicted vs 401 observed for
capecitabine) cannot be checked here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.models.library import claret2009
from oncotwin.solvers import BOLUS, EventTable, SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

SBML = "data/external/biomodels-tumor-immune-sbml/sbml/MODEL1708310001.xml"
KL, KD0, LAM = 0.021 / 7, 0.025 / 7, 0.053 / 7
OPTS = SolverOptions(rtol=1e-11, atol=1e-12)


@pytest.fixture(scope="module")
def model():
    return claret2009.build()


def _capecitabine(model, mg_per_dose, cycles: int = 3) -> EventTable:
    """1250 mg/m^2 twice daily, days 1-14 of 21-day cycles (BSA 1.8 m^2: 2250 mg a dose)."""
    mg = np.atleast_1d(np.asarray(mg_per_dose, dtype=float))
    times = np.array(
        [21.0 * c + d + h for c in range(cycles) for d in range(14) for h in (0.0, 0.5)]
    )
    target = model.dose_target("chemotherapy")
    return EventTable.build(
        times,
        np.full(times.size, model.state_index(target.state)),
        np.full(times.size, BOLUS),
        np.outer(mg * target.scale, np.ones(times.size)),
    )


def test_parameters_match_sbml(model, shared_file) -> None:
    """Identity with the source: K_L, K_D0 and lambda are the file's values read as per week
    (divided by 7); y0 equal."""
    libsbml = pytest.importorskip("libsbml")
    m = libsbml.readSBMLFromFile(str(shared_file(SBML))).getModel()
    for ours, theirs in (("K_L", "K_L"), ("K_D0", "K_D_0"), ("lambda", "lamda")):
        assert model.parameters[ours].value * 7.0 == pytest.approx(
            m.getParameter(theirs).getValue(), rel=1e-14
        )
    assert model.parameters["y_0"].value == m.getParameter("y0").getValue()


def test_closed_form_constant_exposure(model) -> None:
    """Identity (the closed form): y(t) = y0 exp(K_L t - K_D0 E (1 - exp(-lambda t))/lambda) for
    constant exposure E (0, 1, 4.5, 10 g/day), batched solver within rtol 1e-8 over a year."""
    E = np.array([0.0, 1.0, 4.5, 10.0])
    params = model.parameter_array(len(E), E_const=E)
    t = np.linspace(0.0, 365.0, 366)
    sol = solve(model, params, t, options=OPTS)
    assert np.all(sol.status == 0)
    exact = 200.0 * np.exp(KL * t - KD0 * E[:, None] * (1.0 - np.exp(-LAM * t)) / LAM)
    np.testing.assert_allclose(sol["y"], exact, rtol=1e-8)


def test_time_to_tumour_growth(model) -> None:
    """Computed here from the model: the nadir of y under constant exposure is at log(K_D0
    E/K_L)/lambda (to the 0.1-day grid): 221.7 d at 4.5 g/day, 76.6 d at 1.5 g/day; no nadir when
    K_D0 E <= K_L."""
    E = np.array([1.5, 4.5])
    params = model.parameter_array(len(E), E_const=E)
    t = np.linspace(0.0, 400.0, 4001)
    sol = solve(model, params, t, options=OPTS)
    for i, e in enumerate(E):
        ttg = claret2009.time_to_growth(KL, KD0, LAM, e)
        assert ttg == pytest.approx(math.log(KD0 * e / KL) / LAM, rel=1e-12)
        assert t[np.argmin(sol["y"][i])] == pytest.approx(ttg, abs=0.1)
    assert claret2009.time_to_growth(KL, KD0, LAM, 4.5) == pytest.approx(221.7, abs=0.1)
    assert claret2009.time_to_growth(KL, KD0, LAM, 1.5) == pytest.approx(76.6, abs=0.1)
    assert claret2009.time_to_growth(KL, KD0, LAM, 0.5) == 0.0


def test_kpd_doses_match_daily_dose_covariate(model) -> None:
    """Computed here from the model (not published): capecitabine 2250 mg twice daily (4.5 g/day),
    days 1-14 every 21 days: the K-PD dose input gives the tumour size of the paper's step covariate
    (E = 4.5 g/day on treatment days, integrated in closed form) within 0.2 % at week 7; the ratio
    y(49)/y0 is 0.720."""
    t = np.linspace(0.0, 63.0, 631)
    sol = solve(model, model.parameter_array(1), t, events=_capecitabine(model, 2250.0))
    assert np.all(sol.status == 0)
    log_ratio = KL * 49.0
    for c in range(3):
        a, b = 21.0 * c, min(21.0 * c + 14.0, 49.0)
        log_ratio -= KD0 * 4.5 * (np.exp(-LAM * a) - np.exp(-LAM * b)) / LAM
    ratio = sol["y"][0, 490] / 200.0
    assert ratio == pytest.approx(np.exp(log_ratio), rel=2e-3)
    assert ratio == pytest.approx(0.720, abs=0.002)


def test_higher_dose_shrinks_more(model) -> None:
    """Computed here from the model: doses 0 < 1000 < 2250 < 3000 mg: larger exposure (AUC of the
    dosed amount), smaller tumour at week 7; the untreated tumour grows as exp(K_L t)."""
    doses = np.array([0.0, 1000.0, 2250.0, 3000.0])
    t = np.linspace(0.0, 49.0, 491)
    sol = solve(
        model,
        model.parameter_array(len(doses)),
        t,
        events=_capecitabine(model, doses),
        options=OPTS,
    )
    auc = np.trapezoid(sol["A"], t, axis=1)
    assert np.all(np.diff(auc) > 0)
    assert np.all(np.diff(sol["y"][:, -1]) < 0)
    assert sol["y"][0, -1] == pytest.approx(200.0 * np.exp(KL * 49.0), rel=1e-8)


def test_batched_matches_scipy_reference(model) -> None:
    """Computed here: batched solver (rtol 1e-10) vs SciPy LSODA (rtol 1e-11) within rtol 1e-5 on
    four patients (varied K_L, K_D0, lambda, baseline and dose); all states stay non-negative."""
    n = 4
    params = model.parameter_array(
        n,
        K_L=KL * np.array([0.5, 1.0, 2.0, 1.0]),
        K_D0=KD0 * np.array([1.0, 2.0, 0.5, 1.0]),
        **{"lambda": LAM * np.array([1.0, 0.5, 2.0, 0.0])},
        y_0=np.array([50.0, 200.0, 120.0, 300.0]),
    )
    ev = _capecitabine(model, np.array([1500.0, 2250.0, 3000.0, 2250.0]), cycles=2)
    t = np.linspace(0.0, 84.0, 85)
    sol = solve(model, params, t, events=ev, options=SolverOptions(rtol=1e-10, atol=1e-12))
    assert np.all(sol.status == 0)
    assert np.all(sol.y >= 0)
    for i in range(n):
        ref = reference_solve(model, params[i], t, ev, patient=i, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-5, atol=1e-9)


def test_fluorouracil_set_is_the_reimplementations(model) -> None:
    """Identity with its single source (the Pumas exercise): the fluorouracil phase III set
    holds K_L = 0.015, K_D0 = 0.058 and lambda = 0.042 per week (here /7 per day), log-SDs the
    square roots of the exercise's IIV variances 0.556, 0.540, 0.450; each record says it is
    single-source and that the paper's table was not read."""
    from oncotwin.parameters import ParameterSet

    fu = ParameterSet.load("claret2009/fluorouracil_phase3")
    for name, per_week, omega2 in (
        ("K_L", 0.015, 0.556),
        ("K_D0", 0.058, 0.540),
        ("lambda", 0.042, 0.450),
    ):
        assert fu[name].value == per_week / 7.0
        assert fu[name].log_sd == pytest.approx(math.sqrt(omega2), rel=1e-15)
        assert "SINGLE SOURCE" in fu[name].source.where
    assert fu["y_0"].value == model.parameters["y_0"].value
    assert len(fu.vector(model)) == len(model.parameter_symbols)
