"""Building the SBML document of one model, one patient's parameters and dose events."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from oncotwin.errors import ModelError, ParameterError, RegimenError
from oncotwin.io._sbml_ast import (
    _SID,
    _XHTML,
    ANNOTATION_NS,
    _libsbml,
    sympy_to_ast,
)
from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, SET, EventTable

if TYPE_CHECKING:
    from oncotwin.models.base import Model


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
