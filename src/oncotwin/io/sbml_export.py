"""Export a model, one patient's parameters and its dose events as an SBML Level 3 document.

:func:`to_sbml` writes one SBML L3V2 (or L3V1) model that any SBML simulator (libRoadRunner,
COPASI, AMICI, ...) integrates to the trajectories :func:`oncotwin.solve` gives:

* one compartment ``default_compartment`` of size 1 (dimensionless bookkeeping only);
* each state a ``species`` with ``hasOnlySubstanceUnits="true"`` (its symbol in the math is
  the amount, in the state's own unit) driven by a ``rateRule`` whose math is the model's
  sympy rate, converted node by node to MathML (no infix round trip, so ``log`` stays the
  natural log and names such as ``gamma`` or ``pi`` stay plain identifiers);
* each parameter a constant ``parameter`` with the patient's value; its unit, source,
  description, range and log-SD are in its ``notes`` and in an ``oncotwin:parameter``
  annotation;
* initial values that are expressions of parameters (e.g. ``T = T_0``) as
  ``initialAssignment``\\s, so that editing ``T_0`` in the file changes the initial state;
* each named expression (observable) a non-constant ``parameter`` with an ``assignmentRule``;
* the model's description and citations in the model ``notes``; the model time unit is
  ``day`` (a ``unitDefinition`` of 86400 s);
* the events of one patient (:class:`~oncotwin.solvers.events.EventTable`) as SBML events.

Events
------
The events of one time ``t_i > 0`` become one SBML event with trigger ``time >= t_i``
(``persistent="true"``, ``initialValue="false"``, ``useValuesFromTriggerTime="true"``). Its
assignments act per target in the event table's order, composed into one formula per target
(SBML forbids two assignments to one variable in one event): :data:`BOLUS` ``S = S + v``,
:data:`MULTIPLY` ``S = S * v``, :data:`SET` ``S = v``. An :data:`INFUSION_RATE` event adds
to a non-constant parameter ``u_<state>`` (initially 0) that is added to the state's rate
rule, i.e. ``u_S = u_S + v``. Events that change nothing (a 0 dose or rate, a factor of 1,
a NaN set: the table's per-patient mask) are left out.

Events at ``t = 0`` are folded into the initial values instead (a bolus ``S(0) = S0 + v``,
an infusion start ``u_S = v`` from the start, ...): an SBML simulator starts at time 0, and a
trigger that is already true at the start fires there only if its ``initialValue`` is false
*and* the simulator implements that rule; folding does not depend on either, and gives the
same state at ``t = 0`` as :func:`oncotwin.solve` (which reports outputs at an event time
after the event). Events before ``t = 0`` are refused.

Differences to :func:`oncotwin.solve` that SBML cannot express: the batched solver clips a
``nonnegative`` state at 0 after each accepted step (no effect unless a rate drives a state
below 0, which the shipped models do not), and it starts at the earliest of the first output
time and the first event, while the SBML model starts at ``time = 0``: compare with
``solve(..., t_out)`` where ``t_out[0] == 0`` (or pass ``t0=0``).

Examples
--------
>>> import oncotwin
>>> from oncotwin.io.sbml_export import to_sbml
>>> xml = to_sbml(oncotwin.get_model("kuznetsov1994"))
>>> "<rateRule variable=\\"T\\">" in xml
True
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from oncotwin.errors import ModelError, ParameterError, RegimenError
from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, SET, EventTable

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["ANNOTATION_NS", "sympy_to_ast", "to_sbml", "write_sbml"]

#: XML namespace of the ``oncotwin:*`` annotations (parameter unit and source, state unit).
ANNOTATION_NS = "https://github.com/oncotwin/oncotwin/sbml-annotation/v1"

_XHTML = "http://www.w3.org/1999/xhtml"
_SID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT_MAX = 2**31 - 1


def _libsbml() -> Any:
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "SBML export needs python-libsbml; install it with `pip install python-libsbml` "
            "(or `pip install oncotwin[test]`)"
        ) from None
    return libsbml


# --------------------------------------------------------------------------- sympy -> AST
class _Unsupported(Exception):
    """A sympy construct with no SBML MathML counterpart (caught and reworded)."""


def sympy_to_ast(
    expr: sp.Basic,
    names: Mapping[str, str] | None = None,
    *,
    time_symbol: str = "t",
    level: int = 3,
    version: int = 2,
    what: str = "expression",
) -> Any:
    """Convert a sympy expression to a ``libsbml.ASTNode`` (SBML MathML), node by node.

    Parameters
    ----------
    expr
        The expression: numbers, symbols, ``+ - * / **``, ``exp``, ``log`` (natural),
        ``sqrt``, ``Abs``, ``floor``, ``ceiling``, ``Min``, ``Max``, ``Heaviside``, ``sign``,
        trigonometric and hyperbolic functions, ``Piecewise``, relations and ``And``/``Or``/
        ``Not``/``Xor``, ``pi``, ``E``, ``oo``, ``nan``, ``true``/``false``.
    names
        SBML id of each symbol name (default: the name itself).
    time_symbol
        The name of the model's time symbol; it becomes the SBML ``time`` csymbol.
    level, version
        SBML level and version (``min``/``max`` are MathML functions from L3V2 on; earlier
        they become ``piecewise``).
    what
        Words for the error message, e.g. ``"rate of state 'T'"``.

    Raises
    ------
    ModelError
        On a construct SBML cannot express, naming ``what`` and the construct.
    """
    libsbml = _libsbml()
    conv = _AstBuilder(libsbml, names or {}, time_symbol, (level, version) >= (3, 2))
    try:
        return conv.build(sp.sympify(expr))
    except _Unsupported as exc:
        raise ModelError(
            f"{what} uses {exc.args[0]}, which has no SBML MathML counterpart; rewrite it with "
            "+ - * / **, exp, log, sqrt, Abs, Min, Max, Heaviside, Piecewise or relations"
        ) from None


class _AstBuilder:
    def __init__(self, libsbml: Any, names: Mapping[str, str], time_name: str, minmax: bool):
        self.L = libsbml
        self.names = names
        self.time_name = time_name
        self.minmax = minmax
        L = libsbml
        self.functions: dict[type, int] = {
            sp.exp: L.AST_FUNCTION_EXP,
            sp.log: L.AST_FUNCTION_LN,
            sp.Abs: L.AST_FUNCTION_ABS,
            sp.floor: L.AST_FUNCTION_FLOOR,
            sp.ceiling: L.AST_FUNCTION_CEILING,
            sp.sin: L.AST_FUNCTION_SIN,
            sp.cos: L.AST_FUNCTION_COS,
            sp.tan: L.AST_FUNCTION_TAN,
            sp.sec: L.AST_FUNCTION_SEC,
            sp.csc: L.AST_FUNCTION_CSC,
            sp.cot: L.AST_FUNCTION_COT,
            sp.asin: L.AST_FUNCTION_ARCSIN,
            sp.acos: L.AST_FUNCTION_ARCCOS,
            sp.atan: L.AST_FUNCTION_ARCTAN,
            sp.sinh: L.AST_FUNCTION_SINH,
            sp.cosh: L.AST_FUNCTION_COSH,
            sp.tanh: L.AST_FUNCTION_TANH,
            sp.asinh: L.AST_FUNCTION_ARCSINH,
            sp.acosh: L.AST_FUNCTION_ARCCOSH,
            sp.atanh: L.AST_FUNCTION_ARCTANH,
        }
        self.relations: dict[type, int] = {
            sp.Eq: L.AST_RELATIONAL_EQ,
            sp.Ne: L.AST_RELATIONAL_NEQ,
            sp.Lt: L.AST_RELATIONAL_LT,
            sp.Le: L.AST_RELATIONAL_LEQ,
            sp.Gt: L.AST_RELATIONAL_GT,
            sp.Ge: L.AST_RELATIONAL_GEQ,
        }
        self.logic: dict[type, int] = {
            sp.And: L.AST_LOGICAL_AND,
            sp.Or: L.AST_LOGICAL_OR,
            sp.Not: L.AST_LOGICAL_NOT,
            sp.Xor: L.AST_LOGICAL_XOR,
        }

    # -- helpers
    def node(self, kind: int, *children: Any) -> Any:
        n = self.L.ASTNode(kind)
        for c in children:
            if n.addChild(c) != self.L.LIBSBML_OPERATION_SUCCESS:  # pragma: no cover
                raise _Unsupported(f"an expression libsbml could not assemble ({kind})")
        return n

    def number(self, value: float) -> Any:
        if math.isnan(value):
            n = self.L.ASTNode(self.L.AST_REAL)
            n.setValue(float("nan"))
            return n
        if math.isinf(value):
            n = self.L.ASTNode(self.L.AST_REAL)
            n.setValue(float(value))
            return n
        if float(value).is_integer() and abs(value) <= _INT_MAX:
            n = self.L.ASTNode(self.L.AST_INTEGER)
            n.setValue(int(value))
            return n
        n = self.L.ASTNode(self.L.AST_REAL)
        n.setValue(float(value))
        return n

    def name(self, symbol: str) -> Any:
        if symbol == self.time_name:
            n = self.L.ASTNode(self.L.AST_NAME_TIME)
            n.setName("time")
            return n
        n = self.L.ASTNode(self.L.AST_NAME)
        n.setName(self.names.get(symbol, symbol))
        return n

    def neg(self, child: Any) -> Any:
        return self.node(self.L.AST_MINUS, child)

    # -- conversion
    def build(self, e: sp.Basic) -> Any:
        L = self.L
        if isinstance(e, sp.Symbol):
            return self.name(e.name)
        if e is sp.true or e is sp.S.true:
            return L.ASTNode(L.AST_CONSTANT_TRUE)
        if e is sp.false or e is sp.S.false:
            return L.ASTNode(L.AST_CONSTANT_FALSE)
        if e is sp.pi:
            return L.ASTNode(L.AST_CONSTANT_PI)
        if e is sp.E:
            return L.ASTNode(L.AST_CONSTANT_E)
        if e in (sp.oo, -sp.oo, sp.nan, sp.zoo):
            if e is sp.zoo:
                raise _Unsupported("complex infinity (zoo), e.g. a division by zero")
            return self.number(float(e))
        if isinstance(e, sp.Integer):
            v = int(e)
            if abs(v) > _INT_MAX:
                return self.number(float(v))
            return self.number(v) if v >= 0 else self.neg(self.number(-v))
        if isinstance(e, sp.Rational):
            p, q = int(e.p), int(e.q)
            frac = self.node(
                L.AST_DIVIDE, self.build(sp.Integer(abs(p))), self.build(sp.Integer(q))
            )
            return frac if p >= 0 else self.neg(frac)
        if isinstance(e, sp.Float):
            v = float(e)
            return self.number(v) if v >= 0 else self.neg(self.number(-v))
        if isinstance(e, sp.Number):
            raise _Unsupported(f"the number {e} ({type(e).__name__})")
        if isinstance(e, sp.Add):
            return self.add(e)
        if isinstance(e, sp.Mul):
            return self.mul(e)
        if isinstance(e, sp.Pow):
            return self.pow(e)
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        if isinstance(e, sp.Min | sp.Max):
            return self.minmax_node(e)
        if isinstance(e, sp.Heaviside):
            x = e.args[0]
            h0 = e.args[1] if len(e.args) > 1 else sp.Rational(1, 2)
            return self.build(
                sp.Piecewise(
                    (1, sp.Gt(x, 0, evaluate=False)), (h0, sp.Eq(x, 0, evaluate=False)), (0, True)
                )
            )
        if isinstance(e, sp.sign):
            x = e.args[0]
            return self.build(
                sp.Piecewise(
                    (1, sp.Gt(x, 0, evaluate=False)), (-1, sp.Lt(x, 0, evaluate=False)), (0, True)
                )
            )
        if isinstance(e, sp.ITE):
            a, b, c = e.args
            return self.build(sp.Or(sp.And(a, b), sp.And(sp.Not(a), c), evaluate=False))
        if isinstance(e, sp.log) and len(e.args) == 2:  # pragma: no cover - sympy rewrites it
            return self.build(sp.log(e.args[0]) / sp.log(e.args[1]))
        for cls, kind in self.functions.items():
            if type(e) is cls:
                if len(e.args) != 1:
                    raise _Unsupported(f"{cls.__name__} with {len(e.args)} arguments")
                return self.node(kind, self.build(e.args[0]))
        for cls, kind in self.relations.items():
            if type(e) is cls:
                return self.node(kind, self.build(e.lhs), self.build(e.rhs))
        for cls, kind in self.logic.items():
            if type(e) is cls:
                return self.node(kind, *[self.build(a) for a in e.args])
        raise _Unsupported(f"the construct {type(e).__name__} ({sp.sstr(e)})")

    def add(self, e: sp.Add) -> Any:
        pos, negs = [], []
        for term in e.as_ordered_terms():
            if term.could_extract_minus_sign():
                negs.append(-term)
            else:
                pos.append(term)
        if not pos:  # -(a + b + ...)
            return self.neg(self.nary(self.L.AST_PLUS, negs))
        out = self.nary(self.L.AST_PLUS, pos)
        for term in negs:
            out = self.node(self.L.AST_MINUS, out, self.build(term))
        return out

    def nary(self, kind: int, terms: list[sp.Basic]) -> Any:
        if len(terms) == 1:
            return self.build(terms[0])
        return self.node(kind, *[self.build(t) for t in terms])

    def mul(self, e: sp.Mul) -> Any:
        coeff, factors = e.as_coeff_mul()
        sign = 1
        if coeff.is_negative:
            sign, coeff = -1, -coeff
        num: list[sp.Basic] = [] if coeff == 1 else [coeff]
        den: list[sp.Basic] = []
        for f in factors:
            base, ex = f.as_base_exp()
            if isinstance(f, sp.Pow) and ex.is_Number and ex.is_negative:
                den.append(base if ex == -1 else sp.Pow(base, -ex, evaluate=False))
            elif isinstance(f, sp.Rational) and not f.is_Integer:  # pragma: no cover
                num.append(sp.Integer(f.p))
                den.append(sp.Integer(f.q))
            else:
                num.append(f)
        top = self.nary(self.L.AST_TIMES, num) if num else self.number(1)
        out = self.node(self.L.AST_DIVIDE, top, self.nary(self.L.AST_TIMES, den)) if den else top
        return self.neg(out) if sign < 0 else out

    def pow(self, e: sp.Pow) -> Any:
        L = self.L
        base, ex = e.args
        if base is sp.E:
            return self.node(L.AST_FUNCTION_EXP, self.build(ex))
        if ex.is_Number and ex.is_negative:
            inv = base if ex == -1 else sp.Pow(base, -ex, evaluate=False)
            return self.node(L.AST_DIVIDE, self.number(1), self.build(inv))
        if ex == sp.Rational(1, 2):
            return self.node(L.AST_FUNCTION_ROOT, self.build(base))
        return self.node(L.AST_POWER, self.build(base), self.build(ex))

    def piecewise(self, e: sp.Piecewise) -> Any:
        children = []
        for value, cond in e.args:
            if cond is sp.true or cond == sp.true:
                children.append(self.build(value))  # otherwise
                break
            children += [self.build(value), self.build(cond)]
        return self.node(self.L.AST_FUNCTION_PIECEWISE, *children)

    def minmax_node(self, e: sp.Min | sp.Max) -> Any:
        if self.minmax:
            kind = self.L.AST_FUNCTION_MIN if isinstance(e, sp.Min) else self.L.AST_FUNCTION_MAX
            return self.node(kind, *[self.build(a) for a in e.args])
        # before L3V2: nested piecewise(acc, acc <= a, a), the first argument winning ties
        L = self.L
        rel = L.AST_RELATIONAL_LEQ if isinstance(e, sp.Min) else L.AST_RELATIONAL_GEQ
        acc = self.build(e.args[0])
        for a in e.args[1:]:
            nxt = self.build(a)
            cond = self.node(rel, acc.deepCopy(), nxt.deepCopy())
            acc = self.node(L.AST_FUNCTION_PIECEWISE, acc, cond, nxt)
        return acc


# ------------------------------------------------------------------------------ helpers
def _notes(*paragraphs: str) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p)
    return f'<body xmlns="{_XHTML}">{body}</body>'


def _check(rc: int, libsbml: Any, what: str) -> None:
    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(
            f"libsbml refused {what}: {libsbml.OperationReturnValue_toString(rc)} ({rc})"
        )


def _as_params(model: Model, params: np.ndarray | None, patient: int) -> np.ndarray:
    if params is None:
        return model.default_parameters()
    p = np.asarray(params, dtype=np.float64)
    if p.ndim == 2:
        if not 0 <= patient < p.shape[0]:
            raise ParameterError(
                f"patient={patient} is not a row of params (shape {p.shape}); "
                f"give 0..{p.shape[0] - 1}"
            )
        p = p[patient]
    if p.ndim != 1:
        raise ParameterError(
            f"params must be one patient's vector of {model.n_parameters} values (or an "
            f"(n_patients, {model.n_parameters}) array with patient=row); got shape {p.shape}"
        )
    return model.check_parameters(p[None, :])[0]


class _Ids:
    """Unique SBML ids: model names are kept, generated ids avoid them."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def claim(self, name: str, what: str) -> str:
        if not _SID.match(name):
            raise ModelError(
                f"{what} {name!r} is not a valid SBML id (ASCII letters, digits and _ only, "
                "not starting with a digit); rename it to export the model"
            )
        if name in self.used:
            raise ModelError(f"{what} {name!r} is used twice; SBML ids must be unique")
        self.used.add(name)
        return name

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name


# ------------------------------------------------------------------------------- export
def to_sbml(
    model: Model,
    *,
    params: np.ndarray | None = None,
    events: EventTable | None = None,
    patient: int = 0,
    level: int = 3,
    version: int = 2,
) -> str:
    """Return ``model`` as an SBML document (a string), for one patient.

    Parameters
    ----------
    model
        The model.
    params
        One patient's parameters ``(n_parameters,)`` in the order of
        ``model.parameter_names`` (or an ``(n_patients, n_parameters)`` array, of which row
        ``patient`` is used); default: the model's defaults. They are validated.
    events
        Doses and interventions (see the module docstring for the mapping); row ``patient``
        of the values is exported. Events at ``t = 0`` are folded into the initial values.
    patient
        Which row of the event values (and of a 2-D ``params``) to export.
    level, version
        SBML level 3, version 2 (default) or 1.

    Returns
    -------
    str
        The SBML document. It passes libsbml's consistency checks without errors.

    Raises
    ------
    ModelError
        If an expression has no MathML counterpart (the message names the state and the
        construct), a name is not a valid SBML id, or the level/version is not supported.
    ParameterError, RegimenError
        For a bad parameter vector, patient index or event table.
    """
    libsbml = _libsbml()
    from oncotwin.citations import get_citation
    from oncotwin.models.base import TIME

    if (level, version) not in ((3, 1), (3, 2)):
        raise ModelError(
            f"SBML level {level} version {version} is not supported; use level=3 with "
            "version=2 (default) or version=1"
        )
    p = _as_params(model, params, patient)
    ev = _event_rows(model, events, patient)
    for t_i, *_ in ev:
        if t_i < 0:
            raise RegimenError(
                f"an event is at day {t_i}, before the SBML model's start at time 0; "
                "shift the regimen to start at day >= 0"
            )

    doc = libsbml.SBMLDocument(level, version)
    m = doc.createModel()
    ids = _Ids()
    time_name = TIME.name
    _check(m.setId(ids.claim(model.name, "model name")), libsbml, "the model id")
    m.setName(model.description or model.name)
    for s in model.states:
        ids.claim(s.name, "state")
    for name in model.parameter_names:
        ids.claim(name, "parameter")
    for name in model.expressions:
        ids.claim(name, "expression")
    comp_id = ids.fresh("default_compartment")

    def ast(expr: sp.Basic, what: str) -> Any:
        return sympy_to_ast(expr, time_symbol=time_name, level=level, version=version, what=what)

    # units: the time unit is day
    if model.time_unit == "day":
        ud = m.createUnitDefinition()
        ud.setId(ids.fresh("day"))
        unit = ud.createUnit()
        unit.setKind(libsbml.UNIT_KIND_SECOND)
        unit.setExponent(1)
        unit.setScale(0)
        unit.setMultiplier(86400.0)
        m.setTimeUnits(ud.getId())

    # model notes: description, citations, provenance of this file
    cites = []
    for key in model.citations:
        try:
            cites.append(get_citation(key).format())
        except KeyError:
            cites.append(f"[{key}] (citation not registered)")
    from oncotwin._version import __version__

    paras = [
        f"{model.name}: {model.description}",
        f"Exported by oncotwin {__version__} for one patient (row {patient}); time in "
        f"{model.time_unit}s. Research simulation, not medical advice.",
        "States are species with hasOnlySubstanceUnits=true in a compartment of size 1: their "
        "values are in the units given in their notes. oncotwin clips nonnegative states at "
        "0 after each step; SBML cannot express that (no effect for these equations unless a "
        "state is driven below 0).",
        "Events at time 0 are folded into the initial values (initial assignments), other "
        "events trigger at time >= t_i (persistent, initialValue false).",
    ]
    if cites:
        paras.append("References: " + " ".join(cites))
    _check(m.setNotes(_notes(*paras)), libsbml, "the model notes")

    comp = m.createCompartment()
    comp.setId(comp_id)
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)

    # parameters
    for j, (name, rec) in enumerate(model.parameters.items()):
        par = m.createParameter()
        par.setId(name)
        par.setConstant(True)
        par.setValue(float(p[j]))
        _check(
            par.setNotes(
                _notes(
                    rec.description,
                    f"unit: {rec.unit}",
                    f"source: {rec.provenance}",
                    f"default: {rec.value}; valid range [{rec.lower}, {rec.upper}]; "
                    f"between-patient log-SD: {rec.log_sd}",
                )
            ),
            libsbml,
            f"the notes of parameter {name!r}",
        )
        _check(
            par.setAnnotation(
                f'<oncotwin:parameter xmlns:oncotwin="{ANNOTATION_NS}" '
                f'unit="{html.escape(rec.unit)}" source="{html.escape(rec.provenance)}" '
                f'default="{rec.value!r}" log_sd="{rec.log_sd!r}"/>'
            ),
            libsbml,
            f"the annotation of parameter {name!r}",
        )

    # zero-order inputs of infused states
    infused = (
        sorted(
            {int(s) for s, k in zip(events.state, events.kind, strict=True) if k == INFUSION_RATE}
        )
        if events is not None
        else []
    )
    u_id: dict[int, str] = {}
    u0: dict[int, float] = dict.fromkeys(infused, 0.0)
    init: dict[int, sp.Expr] = {i: s.initial for i, s in enumerate(model.states)}
    for t_i, s, k, v in ev:  # fold t = 0 events into the initial values
        if t_i != 0:
            continue
        if k == INFUSION_RATE:
            u0[s] += v
        else:
            init[s] = _apply(k, init[s], v)
    for s in infused:
        name = model.states[s].name
        u_id[s] = ids.fresh(f"u_{name}")
        par = m.createParameter()
        par.setId(u_id[s])
        par.setConstant(False)
        par.setValue(u0[s])
        par.setNotes(
            _notes(
                f"zero-order input (infusion rate) into {name} "
                f"[{model.states[s].unit}/{model.time_unit}], stepped by the infusion events"
            )
        )

    # states
    for i, (spec, rate) in enumerate(zip(model.states, model.rates, strict=True)):
        sp_ = m.createSpecies()
        sp_.setId(spec.name)
        sp_.setCompartment(comp_id)
        sp_.setHasOnlySubstanceUnits(True)
        sp_.setBoundaryCondition(False)
        sp_.setConstant(False)
        x0 = init[i]
        if x0.free_symbols:
            ia = m.createInitialAssignment()
            ia.setSymbol(spec.name)
            _check(
                ia.setMath(ast(x0, f"initial value of state {spec.name!r}")),
                libsbml,
                f"the initial value of {spec.name!r}",
            )
        else:
            try:
                sp_.setInitialAmount(float(x0))
            except TypeError:
                raise ModelError(
                    f"initial value of state {spec.name!r} is {sp.sstr(x0)}, not a real number"
                ) from None
        sp_.setNotes(
            _notes(
                spec.description,
                f"unit: {spec.unit}",
                "nonnegative (clipped at 0 by oncotwin)" if spec.nonnegative else "",
            )
        )
        sp_.setAnnotation(
            f'<oncotwin:state xmlns:oncotwin="{ANNOTATION_NS}" '
            f'unit="{html.escape(spec.unit)}" nonnegative="{str(spec.nonnegative).lower()}"/>'
        )
        rr = m.createRateRule()
        rr.setVariable(spec.name)
        expr = rate + sp.Symbol(u_id[i], real=True) if i in u_id else rate
        _check(
            rr.setMath(ast(expr, f"rate of state {spec.name!r}")),
            libsbml,
            f"the rate of {spec.name!r}",
        )

    # named expressions (observables)
    for name, e in model.expressions.items():
        par = m.createParameter()
        par.setId(name)
        par.setConstant(False)
        unit = model.expression_units.get(name, "")
        if unit:
            par.setNotes(_notes(f"unit: {unit}"))
        ar = m.createAssignmentRule()
        ar.setVariable(name)
        _check(ar.setMath(ast(e, f"expression {name!r}")), libsbml, f"expression {name!r}")

    # events after t = 0, one SBML event per distinct time
    groups: dict[float, list[tuple[int, int, float]]] = {}
    for t_i, s, k, v in ev:
        if t_i > 0:
            groups.setdefault(t_i, []).append((s, k, v))
    for n_ev, (t_i, acts) in enumerate(groups.items()):
        targets: dict[str, sp.Expr] = {}
        for s, k, v in acts:
            if k == INFUSION_RATE:
                var = u_id[s]
                cur = targets.get(var, sp.Symbol(var, real=True))
                targets[var] = sp.Add(cur, sp.Float(v), evaluate=False)
            else:
                var = model.states[s].name
                cur = targets.get(var, sp.Symbol(var, real=True))
                targets[var] = _apply(k, cur, v)
        e = m.createEvent()
        e.setId(ids.fresh(f"event_{n_ev}"))
        e.setName(f"day {t_i!r}")
        e.setUseValuesFromTriggerTime(True)
        trig = e.createTrigger()
        trig.setPersistent(True)
        trig.setInitialValue(False)
        tnode = libsbml.ASTNode(libsbml.AST_NAME_TIME)
        tnode.setName("time")
        tval = libsbml.ASTNode(libsbml.AST_REAL)
        tval.setValue(float(t_i))
        geq = libsbml.ASTNode(libsbml.AST_RELATIONAL_GEQ)
        geq.addChild(tnode)
        geq.addChild(tval)
        _check(trig.setMath(geq), libsbml, f"the trigger of the event at day {t_i}")
        for var, value in targets.items():
            ea = e.createEventAssignment()
            ea.setVariable(var)
            _check(
                ea.setMath(ast(value, f"event at day {t_i} on {var!r}")),
                libsbml,
                f"the event at day {t_i} on {var!r}",
            )

    text = libsbml.writeSBMLToString(doc)
    if not text:  # pragma: no cover
        raise ModelError(f"libsbml could not write model {model.name!r}")
    return text


def _apply(kind: int, cur: sp.Expr, v: float) -> sp.Expr:
    # unevaluated, so that sympy does not distribute a factor over a sum (table order kept)
    if kind == BOLUS:
        return sp.Add(cur, sp.Float(v), evaluate=False)
    if kind == MULTIPLY:
        return sp.Mul(cur, sp.Float(v), evaluate=False)
    if kind == SET:
        return sp.Float(v)
    raise RegimenError(f"unknown event kind {kind}")  # pragma: no cover - checked by build


def _event_rows(
    model: Model, events: EventTable | None, patient: int
) -> list[tuple[float, int, int, float]]:
    """The patient's effective events as (time, state, kind, value), no-ops dropped."""
    if events is None or events.n_events == 0:
        return []
    if not 0 <= patient < events.n_patients:
        raise RegimenError(
            f"patient={patient} is not a row of the event table ({events.n_patients} patients)"
        )
    rows = []
    for t_i, s, k, v in zip(
        events.time, events.state, events.kind, events.value[patient], strict=True
    ):
        s, k, v = int(s), int(k), float(v)
        if not 0 <= s < model.n_states:
            raise RegimenError(
                f"an event at day {t_i} acts on state index {s}; model {model.name!r} has "
                f"{model.n_states} states"
            )
        noop = (
            (k in (BOLUS, INFUSION_RATE) and v == 0.0)
            or (k == MULTIPLY and v == 1.0)
            or (k == SET and math.isnan(v))
        )
        if not noop:
            rows.append((float(t_i), s, k, v))
    return rows


def write_sbml(
    model: Model,
    path: str | Path,
    *,
    params: np.ndarray | None = None,
    events: EventTable | None = None,
    patient: int = 0,
    level: int = 3,
    version: int = 2,
) -> Path:
    """Write :func:`to_sbml` of ``model`` to ``path`` (UTF-8); returns the path."""
    text = to_sbml(
        model, params=params, events=events, patient=patient, level=level, version=version
    )
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
