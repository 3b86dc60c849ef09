"""Validation of the Nikolopoulou et al. 2018 anti-PD-1 model.

Source: Nikolopoulou E et al. (2018) Tumour-immune dynamics with an immune checkpoint
inhibitor, Lett Biomath 5:S137-S159, doi:10.1080/23737867.2018.1440978 (abstract and
simulation section: "treatment with anti-PD-1 alone may not be sufficient to eradicate tumour
cells"), with the values of BioModels MODEL1908270001. Steady states are computed from the
model's own sympy rates (sympy ``nsolve`` started from a long tight simulation) and their
stability from ``model.jacobian``.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from oncotwin.models.library import nikolopoulou2018 as nk
from oncotwin.solvers import BOLUS, EventTable, SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

SBML = "data/external/biomodels-tumor-immune-sbml/sbml/MODEL1908270001.xml"
ATOL = [1e-12, 1e-14, 1e-22]  # C, T ~ 1e-3..1 g/cm^3; A ~ 1e-10 g/cm^3


@pytest.fixture(scope="module")
def model():
    return nk.build()


def _steady_state(model, gamma_a: float) -> tuple[np.ndarray, np.ndarray]:
    """Steady state reached from the SBML initial state, and the Jacobian's eigenvalues."""
    p = model.parameter_array(1, gamma_A=gamma_a)[0]
    y_sim = reference_solve(model, p, [0.0, 3000.0], atol=ATOL)[-1]
    vals = dict(zip(model.parameter_symbols, p, strict=True))
    root = sp.nsolve([r.subs(vals) for r in model.rates], model.state_symbols, list(y_sim), prec=40)
    y = np.array([float(v) for v in root])
    np.testing.assert_allclose(y, y_sim, rtol=1e-6, atol=1e-25)  # simulation converged
    J = np.array(
        model.jacobian.subs(vals).subs(dict(zip(model.state_symbols, y, strict=True))), float
    )
    return y, np.linalg.eigvals(J)


@pytest.fixture(scope="module")
def steady(model):
    return {
        "untreated": _steady_state(model, 0.0),
        "treated": _steady_state(model, nk.GAMMA_A_PAPER),
    }


def test_parameters_match_sbml(model, shared_file) -> None:
    """Every constant of MODEL1908270001 (and its initial state) is used unchanged."""
    libsbml = pytest.importorskip("libsbml")
    path = shared_file(SBML)
    m = libsbml.readSBMLFromFile(str(path)).getModel()
    rename = {
        "K_I_12": "K_I12",
        "K_I_2": "K_I2",
        "lambda_TI_12": "lambda_TI12",
        "lambda_TI_2": "lambda_TI2",
    }
    # assignment rules, the input rate (default 0 here), and two constants no SBML rate uses
    skip = {"kappa", "Q", "P", "F_1_Q", "gamma_A", "alpha_PL", "d_Q"}
    for p in m.getListOfParameters():
        pid = p.getId()
        if pid in skip or pid.startswith("ModelValue"):
            continue
        assert model.parameters[rename.get(pid, pid)].value == p.getValue(), pid
    assert m.getParameter("gamma_A").getValue() == nk.GAMMA_A_PAPER
    for s in m.getListOfSpecies():
        assert model.parameters[f"{s.getId()}_0"].value == s.getInitialConcentration()


def test_untreated_tumour_steady_state_is_stable(steady) -> None:
    """Untreated: a stable tumorous equilibrium, C* = 0.6415 g/cm^3 (computed, rel. 1e-3)."""
    y, ev = steady["untreated"]
    assert y[0] == pytest.approx(0.64147, rel=1e-3)
    assert y[1] == pytest.approx(1.9572e-3, rel=1e-3)
    assert y[2] == 0.0
    assert np.all(ev.real < 0)


def test_anti_pd1_lowers_but_does_not_eradicate(steady) -> None:
    """Continuous anti-PD-1 at the SBML rate gamma_A = 1e-10 g/cm^3/day: the stable tumour
    steady state is lower and T cells higher, but the tumour persists (paper's abstract:
    anti-PD-1 alone does not eradicate). The reduction reproduced here is 0.0496 % (checked to
    0.04-0.06 %), far below the ~6 % the brief attributes to the paper: see the xfail test."""
    (y0, _), (y1, ev1) = steady["untreated"], steady["treated"]
    reduction = 1.0 - y1[0] / y0[0]
    assert 4.0e-4 < reduction < 6.0e-4
    assert y1[1] > y0[1]
    assert y1[0] > 0.5 * y0[0]
    assert np.all(ev1.real < 0)


@pytest.mark.xfail(
    strict=True,
    reason="not reproduced: with gamma_A = 1e-10 (MODEL1908270001) the tumour steady state "
    "drops by 0.05 %, not the 3-9 % expected; a ~6 % drop needs gamma_A ~ 1e-8",
)
def test_reduction_about_six_percent(steady) -> None:
    """Expected (brief, from the paper's continuous-treatment simulation): ~6 % (3-9 %)."""
    (y0, _), (y1, _) = steady["untreated"], steady["treated"]
    assert 0.03 < 1.0 - y1[0] / y0[0] < 0.09


def test_weekly_dosing_matches_continuous(model, steady) -> None:
    """Weekly boluses of 7 gamma_A for two years (same average input as the continuous
    treatment): the tumour stays within 0.1 % of the continuous steady state, never cleared."""
    p = model.parameter_array(1)[0]
    days = np.arange(0.0, 735.0, 7.0)
    a_idx = model.state_index(model.dose_target(nk.DOSE_KEY).state)
    ev = EventTable.build(
        days,
        np.full(days.size, a_idx),
        np.full(days.size, BOLUS),
        np.full((1, days.size), 7.0 * nk.GAMMA_A_PAPER),
    )
    t = np.linspace(0.0, 735.0, 736)
    y0 = steady["untreated"][0]
    y = reference_solve(model, p, t, ev, atol=ATOL, y0=y0)
    c_treated = steady["treated"][0][0]
    assert y[-30:, 0].mean() == pytest.approx(c_treated, rel=1e-3)
    assert y[:, 0].min() > 0.5 * y0[0]


def test_batched_matches_scipy_reference(model) -> None:
    """Batched solver (auto, rtol 1e-9) vs SciPy LSODA (rtol 1e-10) within rtol 1e-5 on four
    patients with weekly anti-PD-1 boluses; every state stays non-negative."""
    n = 4
    params = model.parameter_array(
        n, C_0=np.array([0.05, 0.2, 0.3968, 0.8]), lambda_C=np.array([0.3, 0.425, 0.5, 0.425])
    )
    days = np.arange(0.0, 200.0, 7.0)
    a_idx = model.state_index("A")
    ev = EventTable.build(
        days,
        np.full(days.size, a_idx),
        np.full(days.size, BOLUS),
        np.tile(np.array([[5e-9], [1e-8], [2e-8], [0.0]]), (1, days.size)),
    )
    t = np.linspace(0.0, 300.0, 151)
    sol = solve(model, params, t, events=ev, options=SolverOptions(rtol=1e-9, atol=ATOL))
    assert np.all(sol.status == 0)
    assert np.all(sol.y >= 0)
    for i in range(n):
        ref = reference_solve(model, params[i], t, ev, patient=i, atol=ATOL)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-5, atol=1e-20)
