"""Validation of the Kirschner & Panetta 1998 model against its published statements.

Sources, precisely: Kirschner D, Panetta JC (1998) J Math Biol 37:235-252,
doi:10.1007/s002850050127, with the Table 1 values as encoded in BioModels BIOMD0000000732
(identity checks below). The paper's text is not among shared/data/papers: the section 3 and 4
statements below are the library's reading of it, and the ACI threshold 540 is as quoted by a
secondary source (Sarv Ahrabi 2018, arXiv:1806.04752, section 2). Statements checked:

* section 3 (no treatment): the tumour-free state is unstable for every antigenicity ``c``;
  weakly antigenic tumours grow to a large steady state near the carrying capacity, while for
  larger ``c`` the tumour settles at (or oscillates around) a small equilibrium;
* section 4 (ACI alone): the tumour-free state ``(s1/mu2, 0, 0)`` is stable for
  ``s1 > r2 mu2 g2/a = 540`` for any ``c`` (the threshold is an identity of the parameters;
  its stability is checked on the model's Jacobian), and tumours of low antigenicity must be
  treated early;
* IL-2 alone: no dose gives a stable tumour-free state; above ``s2 = mu2 mu3 g1/(p1 - mu2)``
  the effector population grows without bound (the paper's toxicity argument).

Every equilibrium value (T* = 9.981e8, 1.82e4 cells; the Hopf point between c = 0.03 and
0.035) is **computed here from the model** (the T- and I_L-nullclines reduce the system to one
equation in T; stability from ``model.jacobian``), not quoted from the paper.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

from oncotwin.models.library import kirschner_panetta1998 as kp
from oncotwin.solvers import BOLUS, INFUSION_RATE, EventTable, SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

SBML = "data/external/biomodels-tumor-immune-sbml/sbml/BIOMD0000000732.xml"
SBML_NAMES = {"Immune_cells": "E", "Tumor": "T", "IL2": "I_L"}
ATOL = [1e-6, 1e-6, 1e-6]


@pytest.fixture(scope="module")
def model():
    return kp.build()


def _values(model, **overrides):
    p = model.parameter_array(1, **overrides)[0]
    return dict(zip(model.parameter_symbols, p, strict=True)), {
        n: float(v) for n, v in zip(model.parameter_names, p, strict=True)
    }


def _tumour_equilibria(model, **overrides):
    """Positive-tumour equilibria (E, T, I_L) and the Jacobian's eigenvalues at each."""
    vals, P = _values(model, **overrides)
    E, T, IL = model.state_symbols

    def e_of(t):  # T-nullcline with T > 0
        return P["r2"] * (1 - P["b"] * t) * (P["g2"] + t) / P["a"]

    def i_of(t):  # I_L-nullcline
        return (P["p2"] * e_of(t) * t / (P["g3"] + t) + P["s2"]) / P["mu3"]

    f_e = sp.lambdify((E, T, IL), model.rates[0].subs(vals))
    g = np.vectorize(lambda t: f_e(e_of(t), t, i_of(t)))
    grid = np.logspace(-3, np.log10(1 / P["b"]) - 1e-9, 20000)
    vals_g = g(grid)
    idx = np.flatnonzero(np.sign(vals_g[:-1]) != np.sign(vals_g[1:]))
    jac = sp.lambdify((E, T, IL), model.jacobian.subs(vals))
    out = []
    for i in idx:
        t = brentq(g, grid[i], grid[i + 1], xtol=1e-12, rtol=1e-14)
        y = (e_of(t), t, i_of(t))
        out.append((y, np.linalg.eigvals(np.array(jac(*y), float))))
    return out


def _jacobian_at(model, y, **overrides):
    vals, _ = _values(model, **overrides)
    subs = dict(zip(model.state_symbols, y, strict=True))
    return np.array(model.jacobian.subs(vals).subs(subs), float)


def _sbml_rates(path):
    """Net rate of each SBML species (function definitions inlined), as sympy expressions."""
    import libsbml

    doc = libsbml.readSBMLFromFile(str(path))
    conv = libsbml.SBMLFunctionDefinitionConverter()
    conv.setDocument(doc)
    assert conv.convert() == libsbml.LIBSBML_OPERATION_SUCCESS
    m = doc.getModel()
    syms = {p.getId(): sp.Symbol(p.getId(), real=True) for p in m.getListOfParameters()}
    syms |= {s: sp.Symbol(n, real=True) for s, n in SBML_NAMES.items()}
    syms |= {"COMpartment": sp.Integer(1)}
    rates = dict.fromkeys(SBML_NAMES.values(), sp.Integer(0))
    for r in m.getListOfReactions():
        law = sp.sympify(libsbml.formulaToL3String(r.getKineticLaw().getMath()), locals=syms)
        for sr in r.getListOfReactants():
            if sr.getSpecies() in SBML_NAMES:
                rates[SBML_NAMES[sr.getSpecies()]] -= sr.getStoichiometry() * law
        for sr in r.getListOfProducts():
            if sr.getSpecies() in SBML_NAMES:
                rates[SBML_NAMES[sr.getSpecies()]] += sr.getStoichiometry() * law
    return rates


def test_parameters_match_sbml(model, shared_file) -> None:
    """Identity with the source: every constant and initial value equals BIOMD0000000732 (exactly;
    ``a`` is the paper's ``alpha``; ``s1 = s2 = 0`` untreated as in the file)."""
    libsbml = pytest.importorskip("libsbml")
    m = libsbml.readSBMLFromFile(str(shared_file(SBML))).getModel()
    for p in m.getListOfParameters():
        if p.getId() == "tau":  # unused by every rate of the file
            continue
        assert model.parameters[p.getId()].value == p.getValue(), p.getId()
    for sid, name in SBML_NAMES.items():
        assert model.parameters[f"{name}_0"].value == m.getSpecies(sid).getInitialConcentration()


def test_rates_match_sbml_and_document_the_difference(shared_file) -> None:
    """Identity with the source: the ``biomodels`` variant equals the SBML kinetic laws exactly; the
    ``paper`` variant differs only in effector stimulation: p1 E I_L/(g1 + I_L) (paper) vs p1 E
    I_L/g1 (file). IL-2 production keeps its g3 + T denominator in both."""
    pytest.importorskip("libsbml")
    sbml = _sbml_rates(shared_file(SBML))
    bio, paper = kp.build("biomodels"), kp.build("paper")
    for name, rate in zip(bio.state_names, bio.rates, strict=True):
        assert sp.simplify(rate - sbml[name]) == 0, name
    E, _T, IL = paper.state_symbols
    p1, g1 = sp.symbols("p1 g1", real=True)
    diff = [sp.simplify(a - b) for a, b in zip(paper.rates, bio.rates, strict=True)]
    assert sp.simplify(diff[0] - (p1 * E * IL / (g1 + IL) - p1 * E * IL / g1)) == 0
    assert diff[1] == 0 and diff[2] == 0


def test_untreated_tumour_free_state_unstable(model) -> None:
    """Section 3: without treatment (0, 0, 0) has the eigenvalue r2 = 0.18 > 0 for every
    antigenicity 0 <= c <= 0.05 (exact), so the immune system alone never clears a tumour
    seeded at low numbers."""
    for c in (0.0, 0.01, 0.035, 0.05):
        ev = np.linalg.eigvals(_jacobian_at(model, (0.0, 0.0, 0.0), c=c))
        assert ev.real.max() == pytest.approx(0.18, rel=1e-12)


def test_low_antigenicity_large_tumour_persists(model) -> None:
    """Section 3: for weakly antigenic tumours the untreated tumour grows to a stable large
    state near the carrying capacity 1/b = 1e9. With c = 1e-5 the computed stable
    equilibrium is T* = 9.981e8 (rel. 1e-3); a simulation from T0 = 1e5 reaches it."""
    eqs = _tumour_equilibria(model, c=1e-5)
    stable = [(y, ev) for y, ev in eqs if ev.real.max() < 0]
    assert len(stable) == 1
    (y, _) = stable[0]
    assert y[1] == pytest.approx(9.981e8, rel=1e-3)
    p = model.parameter_array(1, c=1e-5, T_0=1e5)[0]
    ys = reference_solve(model, p, [0.0, 1500.0], rtol=1e-9, atol=ATOL)
    assert ys[-1, 1] == pytest.approx(y[1], rel=1e-4)


def test_antigenicity_controls_small_tumour_equilibrium(model) -> None:
    """Section 3 (tumour oscillations vs control): the small-tumour equilibrium is an unstable
    focus (sustained oscillations, relapse) for c = 0.02-0.03 and a stable focus for
    c = 0.035-0.05 (computed Hopf point between 0.03 and 0.035). With c = 0.035 it is
    T* = 1.82e4 cells (computed, rel. 1e-3) and complex eigenvalues give oscillations."""
    for c, stable in ((0.02, False), (0.03, False), (0.035, True), (0.05, True)):
        eqs = _tumour_equilibria(model, c=c)
        assert len(eqs) == 1
        y, ev = eqs[0]
        assert np.any(np.abs(ev.imag) > 0)
        assert bool(ev.real.max() < 0) is stable, c
    ((y, _),) = _tumour_equilibria(model, c=0.035)
    assert y[1] == pytest.approx(1.82e4, rel=1e-3)


@pytest.mark.parametrize("c", [0.0, 0.02, 0.04])
def test_aci_threshold_540(model, c) -> None:
    """Section 4 (ACI; identity of the parameters, stability computed here): the tumour-free state
    (s1/mu2, 0, 0) is stable iff s1 > r2 mu2 g2/a = 540, for any c; checked at s1 = 530 (unstable)
    and 550 (stable), and the tumour eigenvalue r2 - a s1/(mu2 g2) at s1 = 540 is 0 (abs. 1e-12)."""
    _, P = _values(model)
    assert kp.ACI_THRESHOLD == pytest.approx(P["r2"] * P["mu2"] * P["g2"] / P["a"], rel=1e-12)
    for s1, stable in ((530.0, False), (550.0, True)):
        ev = np.linalg.eigvals(_jacobian_at(model, (s1 / 0.03, 0.0, 0.0), c=c, s1=s1))
        assert bool(ev.real.max() < 0) is stable
    ev = np.linalg.eigvals(_jacobian_at(model, (540.0 / 0.03, 0.0, 0.0), c=c, s1=540.0))
    assert ev.real.max() == pytest.approx(0.0, abs=1e-12)


def test_il2_alone_has_no_safe_cure(model) -> None:
    """IL-2 alone (s1 = 0): below s2* = mu2 mu3 g1/(p1 - mu2) = 6.349e7 the tumour-free state
    (0, 0, s2/mu3) is unstable (eigenvalue r2); above it the effector eigenvalue
    p1 I*/(g1 + I*) - mu2 is positive, i.e. E grows without bound (toxicity). So no IL-2 dose
    gives a bounded, tumour-free steady state (rel. 1e-9 on s2*)."""
    _, P = _values(model)
    s2_star = P["mu2"] * P["mu3"] * P["g1"] / (P["p1"] - P["mu2"])
    assert s2_star == pytest.approx(6.349e7, rel=1e-3)
    for s2 in (1e6, 0.99 * s2_star):
        ev = np.linalg.eigvals(_jacobian_at(model, (0.0, 0.0, s2 / 10.0), s2=s2))
        assert ev.real.max() == pytest.approx(P["r2"], rel=1e-9)
    for s2 in (1.01 * s2_star, 1e8):
        i_star = s2 / 10.0
        ev = np.linalg.eigvals(_jacobian_at(model, (0.0, 0.0, i_star), s2=s2))
        growth = P["p1"] * i_star / (P["g1"] + i_star) - P["mu2"]
        assert growth > 0
        assert np.any(np.isclose(ev.real, growth, rtol=1e-9))


def test_biomodels_variant_lowers_il2_toxicity_threshold() -> None:
    """Documented difference: with the SBML's non-saturating stimulation p1 E I_L/g1 the
    effector blow-up threshold of IL-2 alone is s2 = mu2 mu3 g1/p1 = 4.819e7 (vs 6.349e7 in
    the paper's form): at s2 = 5.5e7 E grows in the BioModels form only (exact eigenvalues)."""
    bio, paper = kp.build("biomodels"), kp.build("paper")
    s2 = 5.5e7
    for m, grows in ((bio, True), (paper, False)):
        ev = np.linalg.eigvals(_jacobian_at(m, (0.0, 0.0, s2 / 10.0), s2=s2))
        e_rate = sorted(ev.real)[1]  # the three eigenvalues are -mu3, E-growth, r2
        assert bool(e_rate > 0) is grows
    assert 0.03 * 10.0 * 2e7 / 0.1245 == pytest.approx(4.819e7, rel=1e-3)


def test_treatment_scenarios_batched(model) -> None:
    """Batched solver (rtol 1e-8), 1000 days, T0 = 1e5, E0 = 1:
    * c = 0.035, s1 = 550: tumour cleared (T < 1e-6 after day 300), E -> s1/mu2 (rel. 1e-6);
    * c = 0 (non-antigenic), s1 = 550: treatment started too late, the tumour persists near
      1e9 (paper: low-antigenicity tumours need early ACI);
    * c = 0.035, s2 = 1e8 (above the IL-2 threshold): T cleared but E grows without bound
      (x > 50 between days 600 and 1000, rate p1 I*/(g1 + I*) - mu2 = 0.0115/day, rel. 2%).
    All states stay non-negative."""
    params = model.parameter_array(
        3,
        c=np.array([0.035, 0.0, 0.035]),
        s1=np.array([550.0, 550.0, 0.0]),
        s2=np.array([0.0, 0.0, 1e8]),
        T_0=1e5,
        E_0=1.0,
    )
    t = np.linspace(0.0, 1000.0, 1001)
    sol = solve(model, params, t, options=SolverOptions(rtol=1e-8, atol=1e-6))
    assert np.all(sol.status == 0)
    assert np.all(sol.y >= 0)
    E, T = sol["E"], sol["T"]
    assert T[0, 300:].max() < 1e-6
    assert E[0, -1] == pytest.approx(550.0 / 0.03, rel=1e-6)
    assert T[1, -1] > 9.9e8
    assert T[2, 300:].max() < 1e-6
    assert E[2, 1000] / E[2, 600] > 50
    rate = np.log(E[2, 1000] / E[2, 600]) / 400.0
    assert rate == pytest.approx(0.1245 * 1e7 / (2e7 + 1e7) - 0.03, rel=0.02)


def test_constant_input_equals_infusion_and_dose_monotone(model) -> None:
    """An INFUSION_RATE event of 550 cells/day on E from day 0 equals the constant input
    s1 = 550 (rel. 1e-7). A larger bolus on day 10 of ACI (dose target "adoptive cell
    transfer") or IL-2 ("aldesleukin") never lowers the exposure of the dosed state over the
    10 days after the dose, and never raises the tumour burden (AUC of T over 200 days).
    (Over 200 days the AUC of E itself is not monotone: a small ACI dose lowers the tumour
    that recruits endogenous effectors.) SciPy reference, c = 0.035, T0 = 1e5."""
    t = np.linspace(0.0, 200.0, 201)
    e_idx = model.state_index(model.dose_target("adoptive cell transfer").state)
    il_idx = model.state_index(model.dose_target(kp.IL2_DOSE_KEY).state)
    assert model.dose_target(kp.IL2_DOSE_KEY).state == "I_L"
    p = model.parameter_array(1, T_0=1e5, E_0=1.0)[0]
    ev = EventTable.build([0.0], [e_idx], [INFUSION_RATE], [[550.0]])
    y_inf = reference_solve(model, p, t, ev, rtol=1e-10, atol=ATOL)
    p_s1 = model.parameter_array(1, T_0=1e5, E_0=1.0, s1=550.0)[0]
    y_s1 = reference_solve(model, p_s1, t, rtol=1e-10, atol=ATOL)
    np.testing.assert_allclose(y_inf, y_s1, rtol=1e-7, atol=1e-6)
    t = np.linspace(0.0, 200.0, 2001)
    window = (t >= 10.0) & (t <= 20.0)
    for idx in (e_idx, il_idx):
        exposure, burden = [], []
        for dose in (0.0, 1e4, 1e5, 1e6, 1e7):
            evb = EventTable.build([10.0], [idx], [BOLUS], [[dose]])
            y = reference_solve(model, p, t, evb, rtol=1e-10, atol=1e-9)
            exposure.append(np.trapezoid(y[window, idx], t[window]))
            burden.append(np.trapezoid(y[:, 1], t))
        assert np.all(np.diff(exposure) > 0)
        assert np.all(np.diff(burden) < 0)


def test_batched_matches_scipy_reference(model) -> None:
    """Computed here: batched solver (auto, rtol 1e-9) vs SciPy LSODA (rtol 1e-10) within rtol 1e-5
    on four patients (untreated, ACI, IL-2, weekly ACI boluses); all states non-negative."""
    n = 4
    params = model.parameter_array(
        n,
        c=np.array([0.035, 0.04, 0.035, 0.03]),
        s1=np.array([0.0, 550.0, 0.0, 0.0]),
        s2=np.array([0.0, 0.0, 1e6, 0.0]),
        r2=np.array([0.18, 0.17, 0.19, 0.18]),
        T_0=np.array([1e5, 1e6, 1e4, 1e5]),
        E_0=1.0,
    )
    days = np.arange(0.0, 100.0, 7.0)
    ev = EventTable.build(
        days,
        np.zeros(days.size, dtype=int),
        np.full(days.size, BOLUS),
        np.vstack([np.zeros((3, days.size)), np.full((1, days.size), 5e3)]),
    )
    t = np.linspace(0.0, 300.0, 61)
    sol = solve(model, params, t, events=ev, options=SolverOptions(rtol=1e-9, atol=1e-10))
    assert np.all(sol.status == 0)
    assert np.all(sol.y >= 0)
    for i in range(n):
        ref = reference_solve(model, params[i], t, ev, patient=i, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-5, atol=1e-6)
