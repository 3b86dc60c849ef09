"""SBML export: the documents validate and libRoadRunner reproduces oncotwin's trajectories."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import oncotwin
import oncotwin.population
import oncotwin.regimens
import oncotwin.simulation
from oncotwin.errors import ModelError, ParameterError, RegimenError
from oncotwin.io.sbml_export import sympy_to_ast, to_sbml, write_sbml
from oncotwin.models.base import TIME, ModelBuilder
from oncotwin.parameters import Parameter
from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, SET, EventTable
from oncotwin.solvers.reference import reference_solve

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

#: Warnings libsbml gives for the exported files: all about undeclared units (oncotwin's unit
#: strings such as "1e9 cell" or "a.u." are kept in notes/annotations, not as SBML units).
UNIT_WARNINGS = {
    10501,  # units of an expression may be inconsistent (a literal number, e.g. a factor)
    20513,  # no units on the 3-D compartment
    20616,  # no substance units on a species
    20702,  # no units on a parameter
    80701,  # best practice: declare parameter units
    99505,  # undeclared units in an expression
    99508,  # an entity with no declared units
}

RTOL = 1e-6  # relative to each state's scale (max |value|)


def _validate(xml: str) -> list[tuple[int, str]]:
    """Read and check the document; fail on any error, return the warnings (id, message)."""
    doc = libsbml.readSBMLFromString(xml)
    doc.checkConsistency()
    errors, warnings = [], []
    for i in range(doc.getNumErrors()):
        e = doc.getError(i)
        item = (e.getErrorId(), e.getShortMessage())
        (errors if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR else warnings).append(item)
    assert not errors, errors
    return warnings


def _roadrunner(xml: str, names: tuple[str, ...], t: np.ndarray) -> np.ndarray:
    rr = roadrunner.RoadRunner(xml)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    rr.timeCourseSelections = ["time", *names]
    res = np.asarray(rr.simulate(times=list(t)))
    np.testing.assert_allclose(res[:, 0], t, rtol=0, atol=1e-12)
    return res[:, 1:]


#: Absolute differences at or below oncotwin's absolute tolerance in these comparisons are
#: round-off, whatever the state's scale (metastatic_io's antigen-negative subclones start at
#: ~1e-11 of 1e9 cells, a hundredth of a cell, and differ by ~1e-17 between the solvers).
ATOL = 1e-14


def _rel_err(y: np.ndarray, y_ref: np.ndarray) -> np.ndarray:
    """Per-state max error relative to the state's scale (max |value|, floor 1e-12),
    differences within :data:`ATOL` counting as none."""
    scale = np.maximum(np.abs(y_ref).max(axis=0), 1e-12)
    diff = np.abs(y - y_ref)
    return (np.where(diff <= ATOL, 0.0, diff) / scale).max(axis=0)


def _compare(model, params, events, t) -> np.ndarray:
    """Export, simulate in libRoadRunner and with oncotwin.solve (rtol 1e-9); check."""
    xml = to_sbml(model, params=params, events=events)
    _validate(xml)
    y_rr = _roadrunner(xml, model.state_names, t)
    opts = oncotwin.SolverOptions(rtol=1e-9, atol=ATOL)
    sol = oncotwin.solve(model, np.atleast_2d(params), t, events=events, options=opts)
    assert sol.status[0] == 0
    err = _rel_err(y_rr, sol.y[0])
    assert np.all(err < RTOL), dict(zip(model.state_names, err, strict=True))
    return err


def _bench_events(model) -> EventTable:
    idx = model.state_index("Ac")
    return EventTable.build(np.arange(0, 715, 21.0), [idx] * 35, [0] * 35, [[200.0] * 35])


def _pembro():
    model = oncotwin.get_model("pk:pembrolizumab")
    pop = oncotwin.population.sample_population(model, 1)
    regimen = oncotwin.regimens.parse_regimen("pembrolizumab 200 mg IV over 30 min q3w x4")
    events = oncotwin.simulation.regimen_events(model, regimen, pop, 100.0)
    return model, pop.params[0], events


# --------------------------------------------------------------------- shipped models
LIBRARY = [k for k in oncotwin.list_models() if not k.startswith("pk:")]


@pytest.mark.parametrize(
    ("name", "horizon"),
    [(k, {"kuznetsov1994": 300.0, "iwata2000": 700.0}.get(k, 150.0)) for k in LIBRARY],
)
def test_untreated_models_match_roadrunner(name: str, horizon: float) -> None:
    """Every library model, exported with its default parameters, runs in libRoadRunner with
    the trajectories of oncotwin.solve (within 1e-6 of each state's scale)."""
    model = oncotwin.get_model(name)
    _compare(model, model.default_parameters(), None, np.linspace(0.0, horizon, 61))


def test_nikolopoulou_with_continuous_drug_and_boluses() -> None:
    model = oncotwin.get_model("nikolopoulou2018")
    p = model.parameter_array(1, gamma_A=1e-10)[0]
    a = model.state_index("A")
    events = EventTable.build([0.0, 10.0, 20.0], [a] * 3, [BOLUS] * 3, [[1e-8, 2e-8, 1e-8]])
    t = np.unique(np.concatenate([np.linspace(0.0, 60.0, 61), events.time + 1e-6]))
    _compare(model, p, events, t)


def test_bench_anchor_35_doses_match_roadrunner() -> None:
    model = oncotwin.get_model("bench_anchor")
    events = _bench_events(model)
    # 1e-6 day after each dose (past the jump) and a grid in between
    t = np.unique(np.concatenate([np.linspace(0.0, 730.0, 74), events.time + 1e-6]))
    _compare(model, model.default_parameters(), events, t)


def test_outputs_at_event_times_are_post_event_in_both() -> None:
    # libRoadRunner 2.10 fires `time >= t_i` exactly at t_i and reports the state after the
    # event at an output time equal to t_i, as oncotwin.solve does.
    model = oncotwin.get_model("bench_anchor")
    events = _bench_events(model)
    t = np.unique(np.concatenate([np.linspace(0.0, 730.0, 16), events.time]))
    _compare(model, model.default_parameters(), events, t)


def test_pembrolizumab_infusions_match_roadrunner() -> None:
    model, p, events = _pembro()
    assert set(events.kind.tolist()) == {INFUSION_RATE}
    t = np.unique(
        np.concatenate([np.linspace(0.0, 100.0, 51), events.time + 1e-6, events.time - 1e-6])
    )
    t = t[t >= 0]
    _compare(model, p, events, t)
    xml = to_sbml(model, params=p, events=events)
    doc = libsbml.readSBMLFromString(xml)
    u = doc.getModel().getParameter("u_central")
    assert u is not None and not u.getConstant()
    assert u.getValue() == pytest.approx(events.value[0, 0])  # the t = 0 start is folded in
    assert doc.getModel().getNumEvents() == events.n_events - 1


# ---------------------------------------------------------------------- the document
def test_document_validates_and_carries_metadata(tmp_path) -> None:
    model = oncotwin.get_model("bench_anchor")
    events = _bench_events(model)
    path = write_sbml(model, tmp_path / "bench.xml", events=events)
    xml = path.read_text(encoding="utf-8")
    warnings = _validate(xml)
    assert {w for w, _ in warnings} <= UNIT_WARNINGS, warnings
    doc = libsbml.readSBMLFromString(xml)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    m = doc.getModel()
    assert m.getId() == "bench_anchor"
    assert m.getNumCompartments() == 1 and m.getCompartment(0).getSize() == 1.0
    assert m.getNumSpecies() == model.n_states
    assert m.getNumEvents() == 34  # the day-0 dose is folded into Ac's initial value
    assert m.getInitialAssignmentBySymbol("Ac") is None
    assert m.getSpecies("Ac").getInitialAmount() == 200.0
    t0 = libsbml.formulaToL3String(m.getInitialAssignmentBySymbol("T").getMath())
    assert t0 == "T_0"
    for name in model.parameter_names:
        par = m.getParameter(name)
        assert par.getConstant()
        assert model.parameters[name].unit in par.getNotesString()
    for name in model.expressions:
        assert m.getAssignmentRuleByVariable(name) is not None
    ev = m.getEvent(0)
    assert ev.getTrigger().getPersistent() and not ev.getTrigger().getInitialValue()
    assert libsbml.formulaToL3String(ev.getTrigger().getMath()) == "time >= 21"
    assert libsbml.formulaToL3String(ev.getEventAssignment(0).getMath()) == "Ac + 200"


def test_model_notes_cite_the_papers() -> None:
    model = oncotwin.get_model("kuznetsov1994")
    doc = libsbml.readSBMLFromString(to_sbml(model))
    notes = doc.getModel().getNotesString()
    for key in model.citations:
        assert key in notes
    assert "10.1007/BF02460644" in notes
    assert doc.getModel().getTimeUnits() == "day"


def test_parameter_override_changes_the_exported_value() -> None:
    model = oncotwin.get_model("kuznetsov1994")
    p = model.parameter_array(1, T_0=1.0e7, a=0.2)[0]
    xml = to_sbml(model, params=p)
    m = libsbml.readSBMLFromString(xml).getModel()
    assert m.getParameter("T_0").getValue() == 1.0e7
    assert m.getParameter("a").getValue() == 0.2
    assert m.getParameter("n").getValue() == model.parameters["n"].value
    rr = roadrunner.RoadRunner(xml)
    assert rr["T"] == pytest.approx(1.0e7)
    # a 2-D array takes row `patient`
    two = np.vstack([model.default_parameters(), p])
    m2 = libsbml.readSBMLFromString(to_sbml(model, params=two, patient=1)).getModel()
    assert m2.getParameter("T_0").getValue() == 1.0e7


def test_bad_inputs_raise() -> None:
    model = oncotwin.get_model("kuznetsov1994")
    with pytest.raises(ParameterError, match="outside its valid range"):
        to_sbml(model, params=model.default_parameters() * -1)
    with pytest.raises(ParameterError, match="shape"):
        to_sbml(model, params=np.zeros(3))
    with pytest.raises(ModelError, match="level 2"):
        to_sbml(model, level=2, version=4)
    events = EventTable.build([-1.0], [0], [BOLUS], [[1.0]])
    with pytest.raises(RegimenError, match="before the SBML model's start"):
        to_sbml(model, events=events)
    with pytest.raises(RegimenError, match="patient=3"):
        to_sbml(model, events=events, patient=3)


# ---------------------------------------------------- math constructs and event kinds
def _p(v: float) -> Parameter:
    return Parameter(v, "1", assumption=True, reason="test")


def _construct_model():
    b = ModelBuilder("constructs")
    x = b.state("x", "1", initial=_p(2.0))
    y = b.state("y", "1", initial=1.5)
    z = b.state("z", "1", initial=_p(0.5), nonnegative=False)
    k = b.parameter("k", _p(0.3))
    gamma = b.parameter("gamma", _p(0.7))  # an MathML-ish name stays a plain identifier
    b.add_rate(
        x,
        -k * x
        + sp.Piecewise((0.1, x > 3), (0.05 * sp.log(1 + y), True))
        + sp.Min(x, y, 1) / 10
        - sp.Max(x - 2, 0) ** 2 / 5,
    )
    b.add_rate(
        y,
        sp.exp(-TIME / 10) * sp.sqrt(x)
        - gamma * y / (1 + y**2)
        + sp.Heaviside(TIME - 5) / 20
        + sp.Rational(1, 3) * sp.Abs(z) / 10,
    )
    b.add_rate(z, sp.sin(TIME) / 10 - x ** sp.Rational(3, 2) / 50 + k**-2 / 100)
    b.expression("obs", x * y / (k + z**2))
    return b.build()


@pytest.mark.parametrize("version", [2, 1])
def test_math_constructs_and_every_event_kind(version: int) -> None:
    model = _construct_model()
    p = model.default_parameters()
    # at t = 0: bolus x, multiply x (composed in table order), infusion into y, a masked SET
    events = EventTable.build(
        [0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 4.0, 4.0, 6.0, 8.0, 8.0],
        [0, 0, 1, 2, 0, 0, 1, 1, 2, 2, 0, 1],
        [
            BOLUS,
            MULTIPLY,
            INFUSION_RATE,
            SET,
            MULTIPLY,
            BOLUS,
            INFUSION_RATE,
            INFUSION_RATE,
            SET,
            BOLUS,
            SET,
            MULTIPLY,
        ],
        [[1.0, 0.5, 0.2, np.nan, 0.5, 0.25, -0.2, 0.3, -0.4, 0.0, 1.25, 1.0]],
    )
    xml = to_sbml(model, params=p, events=events, level=3, version=version)
    warnings = _validate(xml)
    assert {w for w, _ in warnings} <= UNIT_WARNINGS, warnings
    doc = libsbml.readSBMLFromString(xml)
    m = doc.getModel()
    assert doc.getVersion() == version
    # 0-valued bolus at 6 and factor 1 at 8 are dropped; time 6 has nothing left
    assert m.getNumEvents() == 3
    e2 = m.getEvent(0)
    assert libsbml.formulaToL3String(e2.getEventAssignment(0).getMath()) == "x * 0.5 + 0.25"
    x0 = libsbml.formulaToL3String(m.getInitialAssignmentBySymbol("x").getMath())
    assert x0 == "(x_0 + 1) * 0.5"
    rate = libsbml.formulaToL3String(m.getRateRule("y").getMath())
    assert "u_y" in rate and "time" in rate
    t = np.unique(np.concatenate([np.linspace(0.0, 12.0, 61), events.time + 1e-6]))
    y_rr = _roadrunner(xml, model.state_names, t)
    y_ref = reference_solve(model, p, t, events, rtol=1e-11, atol=1e-13, method="Radau")
    err = _rel_err(y_rr, y_ref)
    assert np.all(err < RTOL), err


def test_unsupported_construct_names_state_and_construct() -> None:
    b = ModelBuilder("bad")
    x = b.state("x", "1", initial=1.0)
    b.add_rate(x, -sp.gamma(x))
    with pytest.raises(ModelError, match=r"rate of state 'x' uses .*gamma"):
        to_sbml(b.build())
    with pytest.raises(ModelError, match="zoo"):
        sympy_to_ast(sp.zoo)


def test_invalid_sbml_id_is_refused() -> None:
    b = ModelBuilder("unicode")
    x = b.state("xé", "1", initial=1.0)
    b.add_rate(x, -x)
    with pytest.raises(ModelError, match="not a valid SBML id"):
        to_sbml(b.build())
