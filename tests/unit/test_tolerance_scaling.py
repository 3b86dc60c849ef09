"""Per-state absolute tolerances: a state that lives near 1e-8 is solved to its own precision.

With one absolute tolerance of 1e-8 for every state, a species of scale 1e-8 is solved to
noise (the library issue found an SBML species at +8.1e-9 in libRoadRunner and -4.7e-9 here).
``SolverOptions(scale_atol=True)`` (the default) tightens each state's ``atol`` to ``rtol``
times its scale: its initial value at the model's default parameters (CVODE users set
per-state tolerances the same way). The scale belongs to the model, not to the population, so
results stay identical however patients are split.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import oncotwin as ot
from oncotwin.cli.main import app
from oncotwin.models.base import ModelBuilder
from oncotwin.parameters import Parameter
from oncotwin.solvers.population import state_atol

A0, B0, W = 1e-8, 1e-9, 2.0  # amplitude [mol], second state [mol], angular rate [1/day]


def _p(value: float, unit: str) -> Parameter:
    return Parameter(value, unit, assumption=True, reason="test model of tiny scale")


@pytest.fixture(scope="module")
def tiny():
    """dX/dt = w Y, dY/dt = -w X from X0 = 1e-8, Y0 = 1e-9 mol: X(t) = X0 cos wt + Y0 sin wt."""
    b = ModelBuilder("tiny_scale_oscillator")
    x = b.state("X", "mol", nonnegative=False, initial=_p(A0, "mol"))
    y = b.state("Y", "mol", nonnegative=False, initial=_p(B0, "mol"))
    w = b.parameter("w", _p(W, "1/day"))
    b.add_rate(x, w * y)
    b.add_rate(y, -w * x)
    return b.build()


T = np.array([0.0, 10.0, 20.0, 30.0])
EXACT = A0 * np.cos(W * T) + B0 * np.sin(W * T)


def test_tiny_state_is_solved_to_its_own_precision(tiny):
    """Closed form (computed here): error <= 1e-4 of the amplitude with per-state tolerances;
    with the one global atol of 1e-8 the same solve is off by more than its own amplitude."""
    sol = ot.solve(tiny, tiny.default_parameters()[None, :], T)
    assert np.max(np.abs(sol["X"][0] - EXACT)) / A0 < 1e-4
    loose = ot.solve(tiny, tiny.default_parameters()[None, :], T, options=ot.SolverOptions(
        scale_atol=False))  # fmt: skip
    assert np.max(np.abs(loose["X"][0] - EXACT)) / A0 > 1.0


def test_state_atol_is_rtol_times_the_model_scale(tiny):
    opts = ot.SolverOptions(rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(state_atol(tiny, opts), [1e-14, 1e-15])
    assert list(state_atol(tiny, ot.SolverOptions(scale_atol=False))) == [1e-8, 1e-8]
    kuz = ot.get_model("kuznetsov1994")  # states of order 1: atol unchanged
    assert np.all(state_atol(kuz, opts) == 1e-8)


def test_scaling_does_not_depend_on_the_population(tiny):
    """Patients of very different size: each row solved alone equals the batch (bit-exact)."""
    params = np.repeat(tiny.default_parameters()[None, :], 9, axis=0)
    params[:, tiny.parameter_index("w")] = np.linspace(0.5, 3.0, 9)
    whole = ot.solve(tiny, params, T)
    for i in (0, 4, 8):
        alone = ot.solve(tiny, params[i : i + 1], T)
        assert np.array_equal(alone.y[0], whole.y[i])


def test_tiny_sbml_species_matches_libroadrunner(tmp_path):
    """A species of scale 1e-8 in an SBML file (rate rules of the same oscillator) matches a
    tight libRoadRunner solve (CVODE, atol 1e-20, rtol 1e-10) within 1e-4 of its amplitude."""
    libsbml = pytest.importorskip("libsbml")
    roadrunner = pytest.importorskip("roadrunner")
    from oncotwin.io import read_sbml

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("tiny_osc")
    c = m.createCompartment()
    c.setId("c"), c.setSize(1.0), c.setConstant(True)
    for sid, v in (("X", A0), ("Y", B0)):
        s = m.createSpecies()
        s.setId(sid), s.setCompartment("c"), s.setInitialAmount(v)
        s.setHasOnlySubstanceUnits(True), s.setBoundaryCondition(False), s.setConstant(False)
    w = m.createParameter()
    w.setId("w"), w.setValue(W), w.setConstant(True)
    for var, formula in (("X", "w * Y"), ("Y", "-w * X")):
        rule = m.createRateRule()
        rule.setVariable(var), rule.setMath(libsbml.parseL3Formula(formula))
    text = libsbml.writeSBMLToString(doc)
    path = tmp_path / "tiny.xml"
    path.write_text(text)
    model = read_sbml(path).model
    ours = ot.solve(model, model.default_parameters()[None, :], T)["X"][0]
    rr = roadrunner.RoadRunner(text)
    rr.integrator.absolute_tolerance = 1e-20
    rr.integrator.relative_tolerance = 1e-10
    theirs = rr.simulate(0.0, 30.0, 4, ["time", "X"])[:, 1]
    np.testing.assert_allclose(theirs, EXACT, atol=1e-4 * A0)
    np.testing.assert_allclose(ours, theirs, atol=1e-4 * A0)


def test_cli_takes_atol(tmp_path):
    out = tmp_path / "k.parquet"
    r = CliRunner().invoke(app, ["simulate", "--model", "kuznetsov1994", "--patients", "2",
                                 "--days", "5", "--atol", "1e-10", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    bad = CliRunner().invoke(app, ["simulate", "--model", "kuznetsov1994", "--atol", "-1"])
    assert bad.exit_code == 2
    assert "--atol -1: a tolerance is a positive finite number" in bad.output
