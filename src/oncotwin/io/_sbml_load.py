"""Loading an SBML document and the importer's shared state: names, symbols, units, events."""

from __future__ import annotations

import hashlib
import keyword
import math
import os
import re
from dataclasses import replace
from pathlib import Path

import sympy as sp

from oncotwin.citations import Citation, register_citation
from oncotwin.errors import ModelError
from oncotwin.io._sbml_events import Assign, EventSpec
from oncotwin.io._sbml_math import (
    MathContext,
    UnsupportedMath,
    function_definitions,
    to_bool,
)
from oncotwin.io._sbml_result import (
    _EventPlan,
    _unsupported,
)
from oncotwin.models.base import TIME

# --------------------------------------------------------------------------------- helpers
_UNIT_NAMES = {86400.0: "day", 3600.0: "hour", 60.0: "minute", 1.0: "second", 604800.0: "week"}


def _unit_string(model, units: str) -> str:
    """A readable unit string from an SBML unit id (a unit definition or a base unit)."""
    import libsbml as L

    if not units:
        return "1"
    ud = model.getUnitDefinition(units)
    if ud is None:
        return "1" if units == "dimensionless" else units
    parts = []
    for u in ud.getListOfUnits():
        kind = L.UnitKind_toString(u.getKind())
        if kind == "dimensionless":
            continue
        factor = u.getMultiplier() * 10.0 ** u.getScale()
        term = kind if factor == 1 else f"({factor:g} {kind})"
        e = u.getExponentAsDouble()
        parts.append(term if e == 1 else f"{term}**{e:g}")
    return "*".join(parts) or "1"


def _time_unit(model, level: int) -> str:
    import libsbml as L

    ud = None
    if level >= 3:
        tu = model.getTimeUnits() if model.isSetTimeUnits() else ""
        if not tu:
            return "unspecified"
        ud = model.getUnitDefinition(tu)
        if ud is None:
            return tu
    else:
        ud = model.getUnitDefinition("time")
        if ud is None:
            return "second"
    if ud.getNumUnits() == 1:
        u = ud.getUnit(0)
        if u.getKind() == L.UNIT_KIND_SECOND and u.getExponentAsDouble() == 1:
            f = u.getMultiplier() * 10.0 ** u.getScale()
            for k, v in _UNIT_NAMES.items():
                if math.isclose(f, k, rel_tol=1e-12):
                    return v
    return _unit_string(model, ud.getId())


def _citation_for(model, source_name: str, text: str) -> str:
    """Register a Citation for the file; the key is the BioModels id when there is one."""
    ident = ""
    for cand in (source_name, model.getMetaId(), model.getId()):
        mt = re.search(r"(BIOMD\d{10}|MODEL\d{10})", cand or "")
        if mt:
            ident = mt.group(1)
            break
    if not ident:
        mt = re.search(r"(BIOMD\d{10}|MODEL\d{10})", model.getAnnotationString() or "")
        ident = mt.group(1) if mt else ""
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    # "sbml:" keeps the key apart from the library modules' own BioModels citations
    # (e.g. kuznetsov1994 registers BIOMD0000000762), whichever is imported first
    key = (
        f"sbml:{ident}"
        if ident
        else (f"sbml:{re.sub(r'[^A-Za-z0-9_]', '_', model.getId() or 'model')}_{digest}")
    )
    year = 0
    authors = ""
    hist = model.getModelHistory() if model.isSetModelHistory() else None
    if hist is not None:
        if hist.isSetCreatedDate():
            year = int(hist.getCreatedDate().getYear())
        names = [
            f"{c.getFamilyName()} {c.getGivenName()}".strip()
            for c in hist.getListCreators()
            if c.getFamilyName() or c.getGivenName()
        ]
        authors = "; ".join(names[:3]) + (" et al." if len(names) > 3 else "")
    title = model.getName() or model.getId() or key
    journal = f"SBML model {ident or model.getId()}" + (" (BioModels)" if ident else "")
    cit = Citation(key, authors or "SBML model authors", year, title, journal)
    try:
        register_citation(cit)
    except ValueError:
        key = f"{key}_{digest}"
        register_citation(replace(cit, key=key))
    return key


def _load(source: str | os.PathLike[str]):
    import libsbml as L

    text: str
    if isinstance(source, str) and source.lstrip().startswith("<"):
        text, name = source, ""
    else:
        path = Path(source)
        if not path.is_file():
            raise ModelError(f"SBML file {str(path)!r} not found; give the path of an .xml file")
        text, name = path.read_text(encoding="utf-8"), path.stem
    doc = L.readSBMLFromString(text)
    errs = [
        doc.getError(i)
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= L.LIBSBML_SEV_ERROR
    ]
    if errs:
        raise ModelError(
            f"SBML {name or 'string'} does not parse: {errs[0].getMessage().strip()} "
            f"(line {errs[0].getLine()}); fix the file (libsbml reports {len(errs)} errors)"
        )
    model = doc.getModel()
    if model is None:
        raise ModelError(f"SBML {name or 'string'} has no <model> element")
    return doc, model, text, name


# --------------------------------------------------------------------------------- importer
class _ImporterBase:
    """State of one import and the pieces :meth:`_Importer.run` calls (names, symbols, events)."""

    def __init__(self, source: str | os.PathLike[str]) -> None:
        import libsbml as L

        self.L = L
        self.doc, self.m, self.text, self.source_name = _load(source)
        self.level = (self.doc.getLevel(), self.doc.getVersion())
        self.warnings: list[str] = []
        self.renamed: dict[str, str] = {}
        self.mapping: dict[str, str] = {}
        self.used: set[str] = set()
        self.names: dict[str, str] = {}
        self.funcs = function_definitions(self.m)
        self.ctx = MathContext(self._symbol, self.funcs, TIME)
        self.local_syms: dict[str, sp.Symbol] = {}

    # ---------------------------------------------------------------- names and symbols
    def _unique(self, base: str) -> str:
        name = re.sub(r"\W", "_", base)
        if not name or name[0].isdigit():
            name = "_" + name
        while name in self.used or keyword.iskeyword(name) or name == "t":
            name += "_"
        self.used.add(name)
        return name

    def _name(self, sid: str) -> str:
        if sid not in self.names:
            n = self._unique(sid)
            self.names[sid] = n
            if n != sid:
                self.renamed[sid] = n
        return self.names[sid]

    def _sym(self, sid: str) -> sp.Symbol:
        return sp.Symbol(self._name(sid), real=True)

    def _symbol(self, sid: str) -> sp.Expr:
        if sid in self.reserved_symbols:
            return self.reserved_symbols[sid]
        raise UnsupportedMath(f"a reference to the unknown id {sid!r}")

    def convert(self, node, element: str, ident: str, local=None) -> sp.Basic:
        try:
            return self.ctx.convert(node, local)
        except UnsupportedMath as exc:
            raise _unsupported(element, ident, exc.feature, exc.fix) from None

    # -------------------------------------------------------------------------- pieces
    def _value_symbol(self, sid, value, unit, where, param) -> sp.Expr:
        """The t0 value of a compartment / parameter: itself (a constant) or ``<id>_0``."""
        if value is None or not math.isfinite(value) or sid in self.defined_elsewhere:
            return sp.nan
        if self.kind[sid] == "param":
            name = self._name(sid)
            sym = param(name, value, unit, where)
            return sym
        if self.kind[sid] == "derived":
            return sp.nan  # its initial assignment gives the value
        return param(self._unique(self._name(sid) + "_0"), value, unit, where)

    def _species_fixed(self, sid: str) -> bool:
        s = self.m.getSpecies(sid)
        return bool(s.getBoundaryCondition() or s.getConstant())

    def _refuse_globally(self) -> None:
        m = self.m
        if m.getNumConstraints():
            self.warnings.append(
                f"{m.getNumConstraints()} constraint(s) ignored (they only check a run)"
            )
        for ev in m.getListOfEvents():
            eid = ev.getId() or ev.getMetaId() or "(no id)"
            if ev.isSetDelay():
                raise _unsupported(
                    "event", eid, "a delayed event", "give the assignment time in the trigger"
                )
            if ev.getTrigger() is None or ev.getTrigger().getMath() is None:
                raise _unsupported("event", eid, "an event without trigger")

    def _toposort(self, defs: dict[str, sp.Expr]) -> list[str]:
        ids = {self.reserved_symbols[k]: k for k in defs}
        deps = {
            k: {ids[s] for s in sp.sympify(e).free_symbols if s in ids} for k, e in defs.items()
        }
        out: list[str] = []
        state: dict[str, int] = {}

        def visit(k: str, path: list[str]) -> None:
            if state.get(k) == 2:
                return
            if state.get(k) == 1:
                raise _unsupported(
                    "assignmentRule",
                    k,
                    "a cycle of assignment rules / reaction rates ("
                    + " -> ".join([*path, k])
                    + ")",
                    "an algebraic loop needs a DAE solver",
                )
            state[k] = 1
            for d in sorted(deps[k]):
                visit(d, [*path, k])
            state[k] = 2
            out.append(k)

        for k in defs:
            visit(k, [])
        return out

    def _events(self, discrete_ids, state_of, rule_expr, rate_of_reaction, t0_value) -> _EventPlan:
        m = self.m
        defs = {**rule_expr, **rate_of_reaction}
        sym_to_id = {v: k for k, v in self.reserved_symbols.items()}
        dsyms = [self.reserved_symbols[d] for d in discrete_ids]
        specs: list[EventSpec] = []
        time_params: set[str] = set()

        def expand(e: sp.Basic, depth: int = 0) -> sp.Basic:
            """Substitute rules, rates and derived values until only base symbols remain."""
            for _ in range(100):
                rep = {}
                for s in e.free_symbols:
                    sid = sym_to_id.get(s)
                    if sid is None:
                        continue
                    if sid in defs:
                        rep[s] = defs[sid]
                    elif self.kind[sid] in ("derived", "derived_value"):
                        rep[s] = t0_value(sid)
                if not rep:
                    return e
                e = e.xreplace(rep)
            raise _unsupported("event", "?", "deeply nested rules in an event")

        def check_free(e, allowed, element, eid, what):
            bad = [
                s for s in e.free_symbols if s not in allowed and s.name not in self.param_records
            ]
            if bad:
                names = sorted(sym_to_id.get(s, s.name) for s in bad)
                raise _unsupported(
                    element,
                    eid,
                    f"{what} that depends on the model state ({', '.join(names)})",
                    "only time-triggered events at known times are supported; model the "
                    "effect in the equations instead",
                )

        for ev in m.getListOfEvents():
            eid = ev.getId() or ev.getMetaId() or "(no id)"
            trig = ev.getTrigger()
            te = expand(sp.sympify(self.convert(trig.getMath(), "event", eid)))
            te = to_bool(te)
            check_free(te, {TIME, *dsyms}, "event", eid, "a trigger")
            for atom in te.atoms(sp.core.relational.Relational):
                d = atom.lhs - atom.rhs
                slope = sp.diff(d, TIME)
                if TIME in slope.free_symbols or slope.has(sp.Derivative):
                    raise _unsupported(
                        "event", eid, f"a trigger relation not linear in time ({atom})"
                    )
            for s in te.free_symbols:
                if s.name in self.param_records:
                    time_params.add(s.name)
            init = trig.getInitialValue() if self.level[0] >= 3 else True
            spec = EventSpec(eid, te, bool(init))
            if ev.isSetPriority() and self.level[0] >= 3:
                self.warnings.append(
                    f"event {eid!r}: priority ignored (simultaneous events that interact are "
                    "refused)"
                )
            for a in ev.getListOfEventAssignments():
                var = a.getVariable()
                val = expand(sp.sympify(self.convert(a.getMath(), "eventAssignment", var)))
                k = self.kind.get(var)
                reads = frozenset(
                    sym_to_id[s] for s in val.free_symbols if s in sym_to_id and s != TIME
                )
                if k == "discrete":
                    check_free(val, {TIME, *dsyms}, "eventAssignment", var, "a value")
                    spec.assigns.append(Assign(var, "discrete", val, reads))
                elif k == "state":
                    s = self.reserved_symbols[var]
                    check_free(val, {TIME, *dsyms, s}, "eventAssignment", f"{eid}.{var}", "a value")
                    coef = sp.diff(val, s)
                    if s in coef.free_symbols:
                        raise _unsupported(
                            "eventAssignment",
                            f"{eid}.{var}",
                            f"a non-affine assignment {var} = {val}",
                            "use S + c, c * S or c",
                        )
                    inc = sp.simplify(coef - 1) == 0
                    if inc:
                        rest = sp.expand(val - s)
                        if rest.is_number and rest < 0:
                            raise _unsupported(
                                "eventAssignment",
                                f"{eid}.{var}",
                                f"a negative increment ({var} = {val})",
                                "the engine's BOLUS events add amounts >= 0",
                            )
                    spec.assigns.append(Assign(var, "state", val, reads - {var}, inc))
                else:
                    raise _unsupported(
                        "eventAssignment",
                        f"{eid}.{var}",
                        f"an assignment to {self.sbml_type.get(var, 'element')} {var!r} "
                        f"({k or 'unknown'})",
                    )
            specs.append(spec)
        # negative increments that depend on parameters: check with defaults
        pvals = {sp.Symbol(n, real=True): sp.Float(r.value) for n, r in self.param_records.items()}
        for spec in specs:
            for a in spec.assigns:
                if a.kind == "state" and a.increment:
                    s = self.reserved_symbols[a.target]
                    rest = sp.expand(a.expr - s).xreplace(pvals)
                    if rest.is_number and rest < 0:
                        raise _unsupported(
                            "eventAssignment",
                            f"{spec.id}.{a.target}",
                            f"a negative increment ({a.target} = {a.expr})",
                            "the engine's BOLUS events add amounts >= 0",
                        )
        dinit = [sp.sympify(t0_value(d)) for d in discrete_ids]
        # parameters that decide event times: in triggers, and (transitively) in the values of
        # the discrete variables that triggers read
        todo = [s for spec in specs for s in spec.trigger.free_symbols if s in dsyms]
        seen: set[sp.Symbol] = set()
        while todo:
            ds = todo.pop()
            if ds in seen:
                continue
            seen.add(ds)
            did = sym_to_id[ds]
            exprs = [dinit[discrete_ids.index(did)]]
            exprs += [a.expr for spec in specs for a in spec.assigns if a.target == did]
            for e in exprs:
                for s in e.free_symbols:
                    if s.name in self.param_records:
                        time_params.add(s.name)
                    elif s in dsyms:
                        todo.append(s)
        renamed_specs = specs
        return _EventPlan(
            specs=renamed_specs,
            discrete=discrete_ids,
            discrete_syms=dsyms,
            discrete_init=dinit,
            state_of=state_of,
            time_parameters=tuple(sorted(time_params)),
        )
