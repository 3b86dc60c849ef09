"""SBML import: one small hand-written SBML document per feature, plus the benchmark model.

Most checks are symbolic or use the SciPy reference solver (no numba compile); one test
compiles a model with every printable math construct through the batched solver.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("libsbml")

from oncotwin.errors import ModelError
from oncotwin.io import SbmlUnsupportedError, read_sbml, sbml_info
from oncotwin.models.base import TIME
from oncotwin.solvers import BOLUS, MULTIPLY, SET, EventTable, SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

MATHML = 'xmlns="http://www.w3.org/1998/Math/MathML"'
TIME_CS = (
    '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol>'
)


def sbml(body: str, *, level: int = 3, version: int = 2, functions: str = "") -> str:
    ns = f"http://www.sbml.org/sbml/level{level}/version{version}/core"
    if level == 2:
        ns = f"http://www.sbml.org/sbml/level2/version{version}"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="{ns}" level="{level}" '
        f'version="{version}"><model id="m">{functions}{body}</model></sbml>'
    )


def math(x: str) -> str:
    return f"<math {MATHML}>{x}</math>"


def comp(size: float = 1.0, cid: str = "c") -> str:
    return (
        f'<listOfCompartments><compartment id="{cid}" size="{size}" constant="true"/>'
        "</listOfCompartments>"
    )


def species(sid: str, init: float, *, hosu: bool = False, amount: bool = False, **kw) -> str:
    attrs = f'initialAmount="{init}"' if amount else f'initialConcentration="{init}"'
    bc = "true" if kw.get("bc") else "false"
    return (
        f'<species id="{sid}" compartment="c" {attrs} hasOnlySubstanceUnits='
        f'"{"true" if hosu else "false"}" boundaryCondition="{bc}" constant="false"/>'
    )


def params(**values: float) -> str:
    out = "".join(f'<parameter id="{k}" value="{v}" constant="true"/>' for k, v in values.items())
    return f"<listOfParameters>{out}</listOfParameters>"


def rate_rule(var: str, x: str) -> str:
    return f'<rateRule variable="{var}">{math(x)}</rateRule>'


def ci(name: str) -> str:
    return f"<ci>{name}</ci>"


def cn(v: float) -> str:
    return f"<cn>{v}</cn>"


def apply(op: str, *args: str) -> str:
    return f"<apply><{op}/>{''.join(args)}</apply>"


def event(eid: str, trigger: str, *assigns: tuple[str, str], extra: str = "") -> str:
    a = "".join(f'<eventAssignment variable="{v}">{math(x)}</eventAssignment>' for v, x in assigns)
    return (
        f'<event id="{eid}" useValuesFromTriggerTime="true">'
        f'<trigger initialValue="true" persistent="true">{math(trigger)}</trigger>{extra}'
        f"<listOfEventAssignments>{a}</listOfEventAssignments></event>"
    )


def one_state(rule: str, extra: str = "", events: str = "", **p: float) -> str:
    """A model with one species ``X`` (concentration 1 in a unit compartment) and rules."""
    return sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + params(**p)
        + f"<listOfRules>{rule_rule(rule)}{extra}</listOfRules>"
        + (f"<listOfEvents>{events}</listOfEvents>" if events else "")
    )


def rule_rule(x: str) -> str:
    return rate_rule("X", x) if x else ""


# ------------------------------------------------------------------------------ structure
def test_reactions_with_compartments_concentration_and_amount() -> None:
    """A -> B with V = 2: [A] is a concentration (rate/V), B an amount (rate)."""
    rx = (
        '<listOfReactions><reaction id="r1" reversible="false">'
        '<listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/>'
        "</listOfReactants>"
        '<listOfProducts><speciesReference species="B" stoichiometry="2" constant="true"/>'
        "</listOfProducts>"
        f"<kineticLaw>{math(apply('times', ci('k'), ci('A'), ci('c')))}"
        '<listOfLocalParameters><localParameter id="k" value="0.5"/></listOfLocalParameters>'
        "</kineticLaw></reaction></listOfReactions>"
    )
    doc = sbml(
        comp(2.0)
        + "<listOfSpecies>"
        + species("A", 1.0)
        + species("B", 0.0, hosu=True, amount=True)
        + "</listOfSpecies>"
        + params(k=99.0)
        + rx
    )
    imp = read_sbml(doc)
    m = imp.model
    assert m.state_names == ("A", "B")
    assert "r1_k" in m.parameter_names  # local parameter, prefixed, shadows global k
    assert m.parameters["r1_k"].value == 0.5
    assert m.parameters["k"].source is not None
    y = reference_solve(m, m.default_parameters(), [0.0, 1.0, 3.0])
    a = np.exp(-0.5 * np.array([0.0, 1.0, 3.0]))
    np.testing.assert_allclose(y[:, 0], a, rtol=1e-8)
    np.testing.assert_allclose(y[:, 1], 2 * 2.0 * (1 - a), rtol=1e-8)  # stoich 2, V = 2
    assert imp.info()["mapping"]["r1"].startswith("expression")


def test_assignment_rules_in_dependency_order() -> None:
    rules = (
        f'<assignmentRule variable="z">{math(apply("plus", ci("y"), cn(1)))}</assignmentRule>'
        f'<assignmentRule variable="y">{math(apply("times", cn(2), ci("X")))}</assignmentRule>'
    )
    doc = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + "<listOfParameters>"
        + '<parameter id="k" value="0.1" constant="true"/>'
        + '<parameter id="y" constant="false"/><parameter id="z" constant="false"/>'
        + "</listOfParameters>"
        + f"<listOfRules>{rate_rule('X', apply('times', apply('minus', ci('k')), ci('z')))}"
        + rules
        + "</listOfRules>"
    )
    m = read_sbml(doc).model
    X, k = sp.symbols("X k", real=True)
    assert sp.simplify(m.rates[0] - (-k * (2 * X + 1))) == 0
    assert list(m.expressions) == ["y", "z"]


def test_rate_rule_on_parameter_makes_a_state() -> None:
    doc = sbml(
        comp()
        + "<listOfParameters>"
        + '<parameter id="p" value="3" constant="false"/><parameter id="r" value="2" '
        'constant="true"/></listOfParameters>'
        + f"<listOfRules>{rate_rule('p', ci('r'))}</listOfRules>"
    )
    imp = read_sbml(doc)
    m = imp.model
    assert m.state_names == ("p",)
    assert m.parameters["p_0"].value == 3.0
    y = reference_solve(m, m.default_parameters(), [0.0, 2.0])
    np.testing.assert_allclose(y[:, 0], [3.0, 7.0])


def test_function_definitions_are_inlined() -> None:
    fdef = (
        '<listOfFunctionDefinitions><functionDefinition id="f">'
        + math(
            "<lambda><bvar><ci>a</ci></bvar><bvar><ci>b</ci></bvar>"
            + apply("times", ci("a"), apply("power", ci("b"), cn(2)))
            + "</lambda>"
        )
        + "</functionDefinition></listOfFunctionDefinitions>"
    )
    doc = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + params(k=0.5)
        + f"<listOfRules>{rate_rule('X', '<apply><ci>f</ci><ci>k</ci><ci>X</ci></apply>')}"
        + "</listOfRules>",
        functions=fdef,
    )
    m = read_sbml(doc).model
    X, k = sp.symbols("X k", real=True)
    assert sp.simplify(m.rates[0] - k * X**2) == 0


def test_piecewise_in_time() -> None:
    pw = (
        "<piecewise><piece>"
        + cn(1)
        + apply("lt", TIME_CS, cn(5))
        + "</piece><otherwise>"
        + cn(0)
        + "</otherwise></piecewise>"
    )
    imp = read_sbml(one_state(pw))
    m = imp.model
    assert m.rates[0].has(sp.Piecewise) and TIME in m.rates[0].free_symbols
    assert any("switches with time" in w for w in imp.warnings)
    y = reference_solve(m, m.default_parameters(), [0.0, 10.0])
    np.testing.assert_allclose(y[-1, 0], 6.0, rtol=1e-6)


def test_id_t_is_renamed() -> None:
    doc = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + params(t=0.25)
        + f"<listOfRules>{rate_rule('X', apply('times', ci('t'), TIME_CS))}</listOfRules>"
    )
    imp = read_sbml(doc)
    assert imp.renamed == {"t": "t_"}
    assert "t_" in imp.model.parameter_names
    tt = sp.Symbol("t_", real=True)
    assert sp.simplify(imp.model.rates[0] - tt * TIME) == 0


def test_math_constructs_compile_and_match_the_reference() -> None:
    """Everything the MathML walker emits prints to numba-compatible code."""
    x = ci("X")
    terms = [
        apply("max", x, cn(0.5)),
        apply("min", x, cn(2)),
        apply("floor", apply("times", cn(3), x)),
        apply("ceiling", x),
        apply("abs", apply("minus", x, cn(1))),
        apply("log", "<logbase><cn>10</cn></logbase>", apply("plus", x, cn(1))),
        apply("root", "<degree><cn>3</cn></degree>", apply("plus", x, cn(1))),
        apply("sin", x),
        apply("exp", apply("minus", x)),
        apply("ln", apply("plus", x, cn(2))),
        "<piecewise><piece>"
        + cn(1)
        + apply("and", apply("gt", x, cn(0)), apply("not", apply("gt", TIME_CS, cn(3))))
        + "</piece><piece>"
        + cn(2)
        + apply("xor", apply("lt", x, cn(0)), "<true/>")
        + "</piece><otherwise>"
        + cn(0)
        + "</otherwise></piecewise>",
        apply("times", "<pi/>", "<exponentiale/>", cn(0.01)),
    ]
    rate = apply("times", cn(-0.05), apply("plus", *terms))
    imp = read_sbml(one_state(rate))
    m = imp.model
    t = np.linspace(0.0, 5.0, 11)
    sol = solve(m, m.default_parameters()[None, :], t, options=SolverOptions(rtol=1e-9, atol=1e-12))
    assert sol.status[0] == 0
    ref = reference_solve(m, m.default_parameters(), t)
    np.testing.assert_allclose(sol.y[0, :, 0], ref[:, 0], rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------- events
def test_time_events_bolus_multiply_set() -> None:
    evs = (
        event("add", apply("geq", TIME_CS, cn(2)), ("X", apply("plus", ci("X"), ci("dose"))))
        + event("mul", apply("gt", TIME_CS, cn(4)), ("X", apply("times", ci("X"), cn(0.5))))
        + event(
            "grow",
            apply("geq", TIME_CS, cn(5)),
            ("X", apply("plus", ci("X"), apply("times", cn(0.5), ci("X")))),
        )
        + event("set", apply("eq", TIME_CS, cn(6)), ("X", cn(7)))
    )
    imp = read_sbml(one_state(cn(0), events=evs, dose=3.0))
    ev = imp.events(2, 10.0)
    np.testing.assert_array_equal(ev.time, [2.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(ev.kind, [BOLUS, MULTIPLY, MULTIPLY, SET])
    np.testing.assert_array_equal(ev.value[1], [3.0, 0.5, 1.5, 7.0])
    # per-patient values follow the dose parameter
    p = imp.model.parameter_array(2, dose=np.array([3.0, 5.0]))
    assert imp.events(2, 10.0, params=p).value[1, 0] == 5.0
    # an event after t_end is not in the table
    assert imp.events(1, 4.5).n_events == 2


def test_initial_value_false_fires_at_t0_and_l2_does_not() -> None:
    trig = apply("geq", TIME_CS, cn(0))
    ev3 = event("e", trig, ("X", apply("plus", ci("X"), cn(1)))).replace(
        'initialValue="true"', 'initialValue="false"'
    )
    imp = read_sbml(one_state(cn(0), events=ev3))
    np.testing.assert_array_equal(imp.events(1, 5.0).time, [0.0])
    l2 = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + '<listOfEvents><event id="e"><trigger>'
        + math(trig)
        + '</trigger><listOfEventAssignments><eventAssignment variable="X">'
        + math(apply("plus", ci("X"), cn(1)))
        + "</eventAssignment></listOfEventAssignments></event></listOfEvents>",
        level=2,
        version=4,
    )
    assert read_sbml(l2).events(1, 5.0).n_events == 0


def test_periodic_dosing_pattern() -> None:
    trig = apply(
        "and",
        apply("geq", TIME_CS, ci("next_dose")),
        apply("leq", ci("next_dose"), ci("last_dose")),
    )
    evs = event(
        "dosing",
        trig,
        ("X", apply("plus", ci("X"), ci("dose"))),
        ("next_dose", apply("plus", ci("next_dose"), ci("tau"))),
    )
    doc = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 0.0)}</listOfSpecies>"
        + "<listOfParameters>"
        + '<parameter id="dose" value="2" constant="true"/>'
        + '<parameter id="tau" value="7" constant="true"/>'
        + '<parameter id="last_dose" value="30" constant="true"/>'
        + '<parameter id="next_dose" value="7" constant="false"/>'
        + "</listOfParameters>"
        + f"<listOfRules>{rate_rule('X', apply('times', cn(-0.1), ci('X')))}</listOfRules>"
        + f"<listOfEvents>{evs}</listOfEvents>"
    )
    imp = read_sbml(doc)
    ev = imp.events(1, 100.0)
    np.testing.assert_array_equal(ev.time, [7.0, 14.0, 21.0, 28.0])
    assert set(ev.kind.tolist()) == {BOLUS}
    np.testing.assert_array_equal(imp.events(1, 20.0).time, [7.0, 14.0])
    assert set(imp.info()["event_time_parameters"]) == {"tau", "last_dose", "next_dose_0"}
    p = imp.model.parameter_array(1, tau=5.0)
    with pytest.raises(ModelError, match="tau"):
        imp.events(1, 100.0, params=p)


def test_parameter_changed_by_events_is_a_state_with_set_events() -> None:
    evs = event("on", apply("geq", TIME_CS, cn(3)), ("F", cn(0.5))) + event(
        "off", apply("geq", TIME_CS, cn(6)), ("F", apply("minus", ci("F"), cn(0.5)))
    )
    doc = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + '<listOfParameters><parameter id="F" value="0" constant="false"/></listOfParameters>'
        + f"<listOfRules>{rate_rule('X', apply('times', apply('minus', ci('F')), ci('X')))}"
        + "</listOfRules>"
        + f"<listOfEvents>{evs}</listOfEvents>"
    )
    imp = read_sbml(doc)
    m = imp.model
    assert set(m.state_names) == {"X", "F"}
    ev = imp.events(1, 10.0)
    np.testing.assert_array_equal(ev.kind, [SET, SET])
    np.testing.assert_array_equal(ev.value[0], [0.5, 0.0])
    y = reference_solve(m, m.default_parameters(), [0.0, 10.0], events=ev)
    np.testing.assert_allclose(y[-1, m.state_index("X")], np.exp(-1.5), rtol=1e-7)


# ------------------------------------------------------------------------------ refusals
def _refused(doc: str, match: str) -> None:
    with pytest.raises(SbmlUnsupportedError, match=match):
        read_sbml(doc)


def test_refuses_state_dependent_trigger() -> None:
    evs = event("e", apply("gt", ci("X"), cn(2)), ("X", cn(1)))
    _refused(one_state(cn(1), events=evs), r"event 'e'.*depends on the model state \(X\)")


def test_refuses_delayed_event() -> None:
    evs = event(
        "e",
        apply("gt", TIME_CS, cn(2)),
        ("X", cn(1)),
        extra=f"<delay>{math(cn(1))}</delay>",
    )
    _refused(one_state(cn(1), events=evs), "event 'e': a delayed event")


def test_refuses_algebraic_rule() -> None:
    doc = one_state(
        cn(1), extra=f"<algebraicRule>{math(apply('minus', ci('X'), cn(1)))}</algebraicRule>"
    )
    _refused(doc, "algebraic rule")


def test_refuses_fast_reaction() -> None:
    doc = sbml(
        comp()
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + '<listOfReactions><reaction id="r1" reversible="false" fast="true">'
        + '<listOfReactants><speciesReference species="X" stoichiometry="1" constant="true"/>'
        + f"</listOfReactants><kineticLaw>{math(ci('X'))}</kineticLaw></reaction>"
        + "</listOfReactions>",
        version=1,
    )
    _refused(doc, "reaction 'r1': a fast reaction")


def test_refuses_delay_function() -> None:
    d = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">d</csymbol>'
    _refused(one_state(f"<apply>{d}<ci>X</ci><cn>1</cn></apply>"), r"rateRule 'X'.*delay")


def test_refuses_rate_of() -> None:
    r = (
        '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/rateOf">'
        "rateOf</csymbol>"
    )
    _refused(one_state(f"<apply>{r}<ci>X</ci></apply>"), "rateOf")


def test_refuses_varying_compartment_with_species() -> None:
    doc = sbml(
        '<listOfCompartments><compartment id="c" size="1" constant="false"/>'
        "</listOfCompartments>"
        + f"<listOfSpecies>{species('X', 1.0)}</listOfSpecies>"
        + f"<listOfRules>{rate_rule('c', cn(0.1))}</listOfRules>"
    )
    _refused(doc, "compartment 'c': a compartment whose size changes")


def test_refuses_interacting_simultaneous_events() -> None:
    evs = event("a", apply("geq", TIME_CS, cn(2)), ("X", cn(1))) + event(
        "b", apply("geq", TIME_CS, cn(2)), ("X", apply("times", ci("X"), cn(2)))
    )
    imp = read_sbml(one_state(cn(0), events=evs))
    with pytest.raises(SbmlUnsupportedError, match="fire together at time 2"):
        imp.events(1, 10.0)


def test_refuses_non_affine_and_negative_assignments() -> None:
    evs = event("e", apply("geq", TIME_CS, cn(2)), ("X", apply("power", ci("X"), cn(2))))
    _refused(one_state(cn(0), events=evs), "non-affine assignment")
    evs = event("e", apply("geq", TIME_CS, cn(2)), ("X", apply("minus", ci("X"), cn(1))))
    _refused(one_state(cn(0), events=evs), "negative increment")


def test_refuses_trigger_nonlinear_in_time() -> None:
    evs = event("e", apply("gt", apply("sin", TIME_CS), cn(0.5)), ("X", cn(1)))
    _refused(one_state(cn(0), events=evs), "not linear in time")


def test_invalid_sbml_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="does not parse"):
        read_sbml("<sbml><model")
    with pytest.raises(ModelError, match="not found"):
        read_sbml("no/such/file.xml")


# ------------------------------------------------------------------ the benchmark model
def test_anchor_model_matches_bench_anchor(shared_file) -> None:
    import oncotwin

    imp = read_sbml(shared_file("bench/anchor_model.xml"))
    m = imp.model
    assert set(oncotwin.get_model("bench_anchor").state_names) == set(m.state_names)
    ev = imp.events(1, 200.0)
    np.testing.assert_array_equal(ev.time, np.arange(21.0, 200.0, 21.0))
    t = np.linspace(0.0, 200.0, 41)
    opts = SolverOptions(rtol=1e-9, atol=1e-12)
    ours = solve(m, m.default_parameters()[None, :], t, events=ev, options=opts)
    ref_m = oncotwin.get_model("bench_anchor")
    times = np.arange(0.0, 200.0, 21.0)
    ref_ev = EventTable.build(
        times,
        np.full(times.size, ref_m.state_index("Ac")),
        np.full(times.size, BOLUS),
        np.full((1, times.size), 200.0),
    )
    ref = solve(ref_m, ref_m.default_parameters()[None, :], t, events=ref_ev, options=opts)
    for name in ref_m.state_names:
        a, b = ours[name][0], ref[name][0]
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9 * np.abs(b).max())
    text = sbml_info(shared_file("bench/anchor_model.xml"))
    assert "8 states" in text and "1 events" in text
