"""Validation of the Kuznetsov et al. 1994 effector-tumour model.

Sources, precisely: Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS (1994) Bull Math Biol
56:295-321, doi:10.1007/BF02460644, for the equations and the qualitative picture (a dormant
state, a saddle and an escape state; "sneaking through"); the values are those of BioModels
BIOMD0000000762 (identity check below). The paper's text was not read for these tests, so
**every number below is computed here from the model** with those values: the equilibria
T = 8.19e6, 2.68e8, 4.47e8 cells and the ~99-day period of the damped oscillations are
regression values of this model (sympy roots of its own rates, eigenvalues of its Jacobian),
not values quoted from the paper.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from oncotwin.models.library import kuznetsov1994
from oncotwin.solvers import SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

SBML = "data/external/biomodels-tumor-immune-sbml/sbml/BIOMD0000000762.xml"


@pytest.fixture(scope="module")
def model():
    return kuznetsov1994.build()


@pytest.fixture(scope="module")
def equilibria(model):
    """Positive equilibria from the model's own rates: T-nullcline E(T), then roots in T."""
    E, T = model.state_symbols
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    fE, fT = (sp.nsimplify(r.subs(vals), rational=True) for r in model.rates)
    e_null = sp.solve(sp.cancel(fT / T), E)[0]  # tumour present: dT/dt / T = 0
    num = sp.numer(sp.together(fE.subs(E, e_null)))
    roots = np.roots([float(c) for c in sp.Poly(num, T).all_coeffs()])
    roots = np.sort(roots[(np.abs(roots.imag) < 1e-6) & (roots.real > 0)].real)
    jac = sp.lambdify((E, T), model.jacobian.subs(vals), "numpy")
    out = []
    for t_star in roots:
        e_star = float(e_null.subs(T, t_star))
        out.append((e_star, t_star, np.linalg.eigvals(np.array(jac(e_star, t_star), float))))
    return out


def test_parameters_match_sbml(model, shared_file) -> None:
    """Identity with the source: every rate constant and initial value equals the
    BIOMD0000000762 file (exactly)."""
    libsbml = pytest.importorskip("libsbml")
    path = shared_file(SBML)
    m = libsbml.readSBMLFromFile(str(path)).getModel()
    for p in m.getListOfParameters():
        assert model.parameters[p.getId()].value == p.getValue()
    for s in m.getListOfSpecies():
        assert model.parameters[f"{s.getId()}_0"].value == s.getInitialConcentration()


def test_three_tumour_equilibria(equilibria) -> None:
    """Computed here from the model (not quoted from the paper): dormant focus T = 8.19e6,
    saddle T = 2.68e8, escape node T = 4.47e8 cells (rel. 1 %)."""
    t_stars = [eq[1] for eq in equilibria]
    assert len(t_stars) == 3
    np.testing.assert_allclose(t_stars, [8.19e6, 2.68e8, 4.47e8], rtol=0.01)


def test_stability_and_period(equilibria) -> None:
    """Computed here from the model's Jacobian: stable focus (period 2 pi/Im(lambda) ~ 99
    days, rel. 2 %; not a published period), saddle, stable node."""
    (_, _, ev_dormant), (_, _, ev_saddle), (_, _, ev_escape) = equilibria
    assert np.all(ev_dormant.real < 0) and np.all(np.abs(ev_dormant.imag) > 0)
    period = 2 * np.pi / np.abs(ev_dormant.imag).max()
    assert period == pytest.approx(99.0, rel=0.02)
    assert np.all(np.abs(ev_saddle.imag) == 0)
    assert ev_saddle.real.min() < 0 < ev_saddle.real.max()
    assert np.all(np.abs(ev_escape.imag) == 0) and np.all(ev_escape.real < 0)


def test_tumour_free_state_is_unstable(model) -> None:
    """Computed here from the model's Jacobian: the tumour-free state T = 0, E = s/d is
    unstable (its condition a < n s/d fails with these values), so no immune clearance."""
    E, T = model.state_symbols
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    e0 = vals[sp.Symbol("s", real=True)] / vals[sp.Symbol("d", real=True)]
    J = np.array(model.jacobian.subs(vals).subs({E: e0, T: 0}), float)
    assert np.linalg.eigvals(J).max() > 0


def test_simulations_converge_and_escape(model, equilibria) -> None:
    """Computed here from the model: near the dormant state, damped oscillations (period ~99
    d, 5 %) converging to it (1 %); above the saddle, escape to the node T = 4.47e8 (1 %).
    Batched solver, rtol 1e-8."""
    e_d, t_d, _ = equilibria[0]
    e_s, t_s, _ = equilibria[1]
    params = model.parameter_array(
        2, E_0=np.array([1.2 * e_d, e_s]), T_0=np.array([0.7 * t_d, 1.05 * t_s])
    )
    t = np.arange(0.0, 4001.0, 1.0)
    sol = solve(model, params, t, options=SolverOptions(rtol=1e-8, atol=1e-4))
    assert np.all(sol.status == 0)
    tum = sol["T"]
    assert tum[0, -1] == pytest.approx(t_d, rel=0.01)
    assert tum[1, -1] == pytest.approx(equilibria[2][1], rel=0.01)
    # damped oscillations: successive maxima of T(t) decrease, spaced by ~99 days
    x = tum[0, :1500]
    peaks = np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1
    assert len(peaks) >= 4
    assert np.all(np.diff(x[peaks]) < 0)
    assert np.mean(np.diff(t[peaks])) == pytest.approx(99.0, rel=0.05)


def test_batched_matches_scipy_reference(model) -> None:
    """Computed here: batched solver (auto, rtol 1e-9) vs SciPy LSODA (rtol 1e-10) within
    rtol 1e-5 on five patients spanning dormancy and escape; all states stay non-negative."""
    rng = np.random.default_rng(7)
    n = 5
    params = model.parameter_array(
        n,
        T_0=np.array([1e5, 5e6, 5e7, 2.5e8, 4e8]),
        a=0.18 * np.exp(0.1 * rng.standard_normal(n)),
        n=1.101e-7 * np.exp(0.1 * rng.standard_normal(n)),
    )
    t = np.linspace(0.0, 600.0, 61)
    sol = solve(model, params, t, options=SolverOptions(rtol=1e-9, atol=1e-6))
    assert np.all(sol.status == 0)
    for i in range(n):
        ref = reference_solve(model, params[i], t, rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-5)
    assert np.all(sol.y >= 0)
