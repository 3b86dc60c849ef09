"""Validation of the de Pillis, Radunskaya & Wiseman 2005 model (mouse and human sets).

Sources, precisely: de Pillis LG, Radunskaya AE, Wiseman CL (2005) Cancer Res 65:7950-7958,
doi:10.1158/0008-5472.CAN-05-0564, was **not read beyond its abstract**
(shared/data/papers/dePillis2005.md). The equations and mouse values are those of BioModels
MODEL1907260001 (two further reimplementations agree); the human patient 9 and 10 sets are
those of the reimplementations S-Ng/Immune-Response-to-Tumor-Growth and an-do/MeFAST (patient
10's d, l, s: one source only). Checks against the SBML are identities. Every dynamical number
(the tumour-free growth rate 0.412/day, the large-tumour equilibrium T* = 9.773e8 cells) is
**computed here from the model**; none is published.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from oncotwin.models.components import ratio_dependent_kill
from oncotwin.models.library import depillis2005 as dp
from oncotwin.parameters import ParameterSet
from oncotwin.solvers import SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

SBML = "data/external/biomodels-tumor-immune-sbml/sbml/MODEL1907260001.xml"
ATOL = [1e-6, 1e-6, 1e-6]
#: SBML names of the values used by the CD8+ kill rule.
RULE_NAMES = {"ModelValue_3_0": "d", "ModelValue_4_0": "l", "ModelValue_5_0": "s"}


@pytest.fixture(scope="module")
def model():
    return dp.build()


def test_parameters_match_sbml(model, shared_file) -> None:
    """Identity with the source: every constant of MODEL1907260001 (and the initial state
    T=100, N=1000, L=0) is used unchanged; ``lambda`` of the file is ``l`` here."""
    libsbml = pytest.importorskip("libsbml")
    m = libsbml.readSBMLFromFile(str(shared_file(SBML))).getModel()
    rename = {"lambda": "l"} | RULE_NAMES
    skip = {"Tumor_Killing_CD8_Term", "Tumor_Cell_Surface_Area", "Mean_Tumor_Surface"}
    skip |= {"ModelValue_17_0"}  # surface-area bookkeeping, used by no rate
    for p in m.getListOfParameters():
        if p.getId() in skip:
            continue
        assert model.parameters[rename.get(p.getId(), p.getId())].value == p.getValue()
    for s in m.getListOfSpecies():
        assert model.parameters[f"{s.getId()}_0"].value == s.getInitialConcentration()


def test_rates_match_sbml(model, shared_file) -> None:
    """Identity with the source: the SBML kinetic laws (functions inlined, kill rule
    substituted) equal the model's rates at 50 random positive states (rel. 1e-12)."""
    libsbml = pytest.importorskip("libsbml")
    doc = libsbml.readSBMLFromFile(str(shared_file(SBML)))
    conv = libsbml.SBMLFunctionDefinitionConverter()
    conv.setDocument(doc)
    assert conv.convert() == libsbml.LIBSBML_OPERATION_SUCCESS
    m = doc.getModel()
    names = {"lambda": "l"} | RULE_NAMES
    syms = {
        p.getId(): sp.Symbol(names.get(p.getId(), p.getId()), real=True)
        for p in m.getListOfParameters()
    }
    syms |= {s: sp.Symbol(s, real=True) for s in ("T", "N", "L")}
    syms["compartment"] = sp.Integer(1)
    rule = m.getRule("Tumor_Killing_CD8_Term")
    syms["Tumor_Killing_CD8_Term"] = sp.sympify(
        libsbml.formulaToL3String(rule.getMath()).replace("^", "**"), locals=syms
    )
    rates = dict.fromkeys(("T", "N", "L"), sp.Integer(0))
    for r in m.getListOfReactions():
        law = sp.sympify(
            libsbml.formulaToL3String(r.getKineticLaw().getMath()).replace("^", "**"),
            locals=syms,
        )
        for sr in r.getListOfReactants():
            rates[sr.getSpecies()] -= law
        for sr in r.getListOfProducts():
            rates[sr.getSpecies()] += law
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    args = (*model.state_symbols,)
    ours = sp.lambdify(args, [r.subs(vals) for r in model.rates])
    theirs = sp.lambdify(args, [rates[n].subs(vals) for n in model.state_names])
    rng = np.random.default_rng(1)
    for y in 10.0 ** rng.uniform(1, 9, size=(50, 3)):
        np.testing.assert_allclose(ours(*y), theirs(*y), rtol=1e-12)


def test_cd8_kill_is_the_ratio_dependent_component(model) -> None:
    """Identity: the lysis term is ratio_dependent_kill(d, L, T, s, l) =
    d (L/T)^l/(s + (L/T)^l) T: it saturates at d T for L >> T and is half-maximal at
    (L/T)^l = s (rel. 1e-12)."""
    T, _N, L = model.state_symbols
    d, s, l_ = sp.symbols("d s l", real=True)
    assert model.expressions["cd8_kill"] == ratio_dependent_kill(d, L, T, s, l_)
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    f = sp.lambdify((L, T), model.expressions["cd8_kill"].subs(vals))
    assert f(1e12, 1.0) == pytest.approx(1.43, rel=1e-6)
    ratio = 2.73 ** (1 / 0.58)
    assert f(ratio * 1e6, 1e6) == pytest.approx(0.5 * 1.43 * 1e6, rel=1e-12)


def test_nk_alone_cannot_hold_a_tumour(model) -> None:
    """Computed here from the model: at the tumour-free state (T, N, L) = (0, sigma/f, 0) the
    tumour grows at a - c sigma/f = 0.412/day > 0 (CD8+ lysis vanishes with L = 0), so small
    tumours are not eliminated by NK cells (rel. 1e-3)."""
    v = {k: r.value for k, r in model.parameters.items()}
    growth = v["a"] - v["c"] * v["sigma"] / v["f"]
    assert growth == pytest.approx(0.412, rel=1e-3)
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    T, N, L = model.state_symbols
    f_t = sp.lambdify((T, N, L), model.rates[0].subs(vals))
    eps = 1e-3
    assert f_t(eps, v["sigma"] / v["f"], 0.0) / eps == pytest.approx(growth, rel=1e-3)


def test_large_tumour_equilibrium_stable_and_reached(model) -> None:
    """Computed here from the model (no published value): challenges of 1e2 to 1e8 cells (N
    at its tumour-free level) all reach the same stable large-tumour equilibrium T* = 9.773e8,
    N* = 133.0, L* = 4.514e4 (rel. 1e-3;
    sympy nsolve confirms it is a root, Jacobian eigenvalues all negative). SciPy reference."""
    y_end = []
    for t0 in (1e2, 1e4, 1e6, 1e8):
        p = model.parameter_array(1, T_0=t0, N_0=1.3e4 / 0.0412)[0]
        y_end.append(reference_solve(model, p, [0.0, 1000.0], rtol=1e-9, atol=ATOL)[-1])
    y_end = np.array(y_end)
    np.testing.assert_allclose(y_end, np.tile(y_end[0], (4, 1)), rtol=1e-6)
    np.testing.assert_allclose(y_end[0], [9.773e8, 133.0, 4.514e4], rtol=1e-3)
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    root = sp.nsolve(
        [r.subs(vals) for r in model.rates], model.state_symbols, list(y_end[0]), prec=30
    )
    y = np.array([float(v) for v in root])
    np.testing.assert_allclose(y, y_end[0], rtol=1e-6)
    J = np.array(
        model.jacobian.subs(vals).subs(dict(zip(model.state_symbols, y, strict=True))), float
    )
    assert np.all(np.linalg.eigvals(J).real < 0)


def test_batched_matches_scipy_reference(model) -> None:
    """Computed here: batched solver (auto, rtol 1e-9) vs SciPy LSODA (rtol 1e-10) within
    rtol 1e-5 on four animals (different challenges, growth and lysis); all states stay
    non-negative."""
    n = 4
    params = model.parameter_array(
        n,
        T_0=np.array([1e2, 1e4, 1e6, 1e7]),
        a=np.array([0.514, 0.45, 0.6, 0.514]),
        d=np.array([1.43, 2.0, 1.0, 3.0]),
    )
    t = np.linspace(0.0, 60.0, 61)
    sol = solve(model, params, t, options=SolverOptions(rtol=1e-9, atol=1e-6))
    assert np.all(sol.status == 0)
    assert np.all(sol.y >= 0)
    for i in range(n):
        ref = reference_solve(model, params[i], t, rtol=1e-10, atol=ATOL)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-5, atol=1e-6)


#: Patient-specific CD8+ lysis values of the human sets, as the reimplementations give them.
HUMAN = {"patient9": (5.80, 1.36, 0.25), "patient10": (4.23, 1.43, 0.36)}


@pytest.mark.parametrize("name", sorted(HUMAN))
def test_human_sets_are_sourced_as_their_reimplementations(model, name: str) -> None:
    """Identity with the sources (shared/data/papers/dePillis2005.md): the set's d, l, s are
    the reimplementations' values; every record names where it comes from and says the
    paper's table was not read; patient 10's d, l, s say they have a single source, patient
    9's that two agree; human c = 3.23e-7 and k = 2.0e7; the rest equals the mouse set."""
    pset = ParameterSet.load(f"depillis2005/{name}")
    assert (pset["d"].value, pset["l"].value, pset["s"].value) == HUMAN[name]
    assert pset["c"].value == 3.23e-7 and pset["k"].value == 2.0e7
    for key in ("d", "l", "s"):
        where = pset[key].source.where
        assert "not read" in where
        assert ("SINGLE SOURCE" in where) == (name == "patient10")
        assert ("two independent" in where) == (name == "patient9")
    for key in set(dp._MOUSE) - {"c", "d", "l", "s", "k"}:
        assert pset[key].value == model.parameters[key].value, key
        assert "S-Ng" in pset[key].source.where and "MeFAST" in pset[key].source.where
    assert len(pset.vector(model)) == len(model.parameter_symbols)


def test_human_sets_solve_and_lysis_orders(model) -> None:
    """Computed here from the model (no published comparison was reached): with the human
    sets, patient 9's CD8+ lysis D(L/T) exceeds patient 10's at every effector:target ratio
    from 1e-3 to 1e3, and a 1e6-cell tumour given 1e5 CD8+ cells on day 0 is smaller on day 30
    for patient 9; both solves finish and match SciPy (within 1e-5 of each state's scale)."""
    L, T = sp.symbols("L T", positive=True)
    ratio = np.logspace(-3, 3, 61)
    lysis = {}
    for name, (d, l_, s) in HUMAN.items():
        f = sp.lambdify((L, T), ratio_dependent_kill(d, L, T, s, l_) / T)
        lysis[name] = f(ratio, 1.0)
    assert np.all(lysis["patient9"] > lysis["patient10"])
    params = np.array([ParameterSet.load(f"depillis2005/{n}").vector(model) for n in HUMAN])
    i_t, i_l = model.parameter_index("T_0"), model.parameter_index("L_0")
    params[:, i_t], params[:, i_l] = 1e6, 1e5
    t = np.linspace(0.0, 30.0, 31)
    sol = solve(model, params, t, options=SolverOptions(rtol=1e-9, atol=1e-6))
    assert np.all(sol.status == 0)
    assert sol["T"][0, -1] < sol["T"][1, -1]
    for i in range(2):
        ref = reference_solve(model, params[i], t, rtol=1e-10, atol=ATOL)
        scale = np.abs(ref).max(axis=0)
        assert (np.abs(sol.y[i] - ref) / scale).max() < 1e-5
