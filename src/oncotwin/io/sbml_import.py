"""Import an SBML model as an ordinary oncotwin :class:`~oncotwin.models.base.Model`.

:func:`read_sbml` maps an SBML file (or string) onto the declarative model, so an imported
model runs through the same batched solver and population sampling as the library models.

Mapping
-------
* Species that change become states (``nonnegative=False``: no clipping, so that results
  match libRoadRunner). A state holds what the species id means in SBML math: the
  concentration when ``hasOnlySubstanceUnits`` is false (reactions then contribute
  ``stoich * rate / V``), the amount otherwise. Initial values become parameters
  ``<id>_0``. Constant and boundary species without rules or events become parameters.
* Constant parameters and compartments become :class:`~oncotwin.parameters.Parameter` records
  sourced to the SBML file (``Source(<key>, "SBML parameter <id>")``); reactions' local
  parameters are prefixed with the reaction id (``<reaction>_<id>``).
* Rate rules (on species, parameters, compartments) give states; assignment rules and
  reaction rates become named expressions, in dependency order.
* Initial assignments give initial-value expressions of states. An initial assignment of a
  constant parameter makes it a *named expression* of the parameters it depends on (not a
  frozen number): changing a parameter of a patient then changes the derived value as SBML
  says it should.
* Function definitions are inlined; MathML is converted by :mod:`oncotwin.io._sbml_math`.
* Ids that are not valid names (``t``, Python keywords) are renamed (``t`` -> ``t_``); the
  mapping is in :meth:`SbmlImport.info`.
* Events whose trigger depends on time, constants and discrete variables only (see
  :mod:`oncotwin.io._sbml_events`) are expanded to events at known times by
  :meth:`SbmlImport.events`: ``S = S + c`` is a BOLUS, ``S = c*S`` a MULTIPLY, ``S = c`` a SET,
  ``S = a*S + b`` a MULTIPLY then a BOLUS. A non-constant parameter (or species) changed by
  events only is a state with zero rate and SET events. Event times use the SBML values of the
  parameters; :meth:`SbmlImport.events` refuses parameter arrays that change them.

Anything else (state-dependent triggers, delays, algebraic rules, fast reactions, ...) raises
:class:`SbmlUnsupportedError` naming the element, its id, the feature and the fix.
"""

from __future__ import annotations

import hashlib
import keyword
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from oncotwin.citations import Citation, register_citation
from oncotwin.errors import ModelError
from oncotwin.io._sbml_events import Assign, EventSpec, expand_times
from oncotwin.io._sbml_math import (
    MathContext,
    SbmlCeil,
    SbmlFloor,
    UnsupportedMath,
    function_definitions,
    to_bool,
)
from oncotwin.models.base import TIME, Model, ModelBuilder
from oncotwin.parameters import Parameter, Source
from oncotwin.solvers.events import BOLUS, MULTIPLY, SET, EventTable

__all__ = ["SbmlImport", "SbmlUnsupportedError", "read_sbml", "sbml_info"]


class SbmlUnsupportedError(ModelError):
    """The SBML model uses a feature oncotwin cannot simulate exactly."""


def _unsupported(element: str, ident: str, feature: str, fix: str = "") -> SbmlUnsupportedError:
    msg = f"SBML {element} {ident!r}: {feature} is not supported"
    return SbmlUnsupportedError(msg + (f"; {fix}" if fix else ""))


# --------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class _EventPlan:
    specs: list[EventSpec]
    discrete: list[str]  # SBML ids of discrete variables
    discrete_syms: list[sp.Symbol]
    discrete_init: list[sp.Expr]  # in parameter symbols
    state_of: dict[str, str]  # SBML id -> model state name (states and discrete states)
    time_parameters: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SbmlImport:
    """An imported SBML model: the oncotwin model and the SBML's own events.

    Attributes
    ----------
    model
        The :class:`~oncotwin.models.base.Model` (solve it like any library model).
    time_unit
        The SBML model's time unit (``"day"``, ``"second"``, ...; SBML's default is second).
    warnings
        Things the import changed or assumed, one sentence each.
    citation
        The citation key registered for the file (the sources of its parameters).
    """

    model: Model
    time_unit: str
    warnings: tuple[str, ...]
    citation: str
    sbml_id: str
    sbml_name: str
    level: tuple[int, int]
    renamed: Mapping[str, str]
    mapping: Mapping[str, str]
    _plan: _EventPlan = field(repr=False)

    def events(
        self, n_patients: int = 1, t_end: float = 1000.0, params: np.ndarray | None = None
    ) -> EventTable:
        """The SBML's events at their times in ``[0, t_end]``, for ``n_patients`` patients.

        Event values (doses, factors, set values) are computed from ``params`` (default: the
        model's defaults); event *times* are fixed by the SBML values, so ``params`` must not
        change the parameters they depend on (:attr:`info` lists them).
        """
        m = self.model
        base = m.default_parameters()
        p = np.tile(base, (n_patients, 1)) if params is None else np.atleast_2d(params)
        p = m.check_parameters(p)
        if p.shape[0] != n_patients:
            raise ModelError(f"params has {p.shape[0]} rows but n_patients is {n_patients}")
        for name in self._plan.time_parameters:
            j = m.parameter_index(name)
            if not np.all(p[:, j] == base[j]):
                raise ModelError(
                    f"parameter {name!r} sets the time of an SBML event in model {m.name!r}; "
                    "event times are fixed at import, so keep it at its SBML value "
                    f"({base[j]}) or edit the SBML file"
                )
        plan = self._plan
        if not plan.specs:
            return EventTable.empty(n_patients)
        firings = self._firings(float(t_end))
        psyms = list(m.parameter_symbols)
        cols = [p[:, j] for j in range(p.shape[1])]
        d = [
            np.broadcast_to(
                np.asarray(sp.lambdify(psyms, e, modules="numpy")(*cols), float), (n_patients,)
            ).copy()
            for e in plan.discrete_init
        ]
        fn = self._assign_fns
        times, states, kinds, values = [], [], [], []
        for f in firings:
            ev = plan.specs[f.event]
            new_d = list(d)
            for a, spec in zip(ev.assigns, fn[f.event], strict=True):
                args = [f.time, *d, *cols]
                if a.kind == "discrete":
                    v = np.broadcast_to(np.asarray(spec(*args), float), (n_patients,)).copy()
                    k = plan.discrete.index(a.target)
                    new_d[k] = v
                    if a.target in plan.state_of:
                        times.append(f.time)
                        states.append(m.state_index(plan.state_of[a.target]))
                        kinds.append(SET)
                        values.append(v)
                    continue
                kind, fa, fb = spec
                idx = m.state_index(plan.state_of[a.target])
                emit = [(SET, fb)] if kind == SET else [(MULTIPLY, fa), (BOLUS, fb)]
                for kk, func in emit:
                    if func is None:
                        continue
                    v = np.broadcast_to(np.asarray(func(*args), float), (n_patients,)).copy()
                    times.append(f.time)
                    states.append(idx)
                    kinds.append(kk)
                    values.append(v)
            d = new_d
        if not times:
            return EventTable.empty(n_patients)
        return EventTable.build(
            np.array(times), np.array(states), np.array(kinds), np.stack(values, axis=1)
        )

    @cached_property
    def _assign_fns(self) -> list[list[Any]]:
        plan = self._plan
        args = [TIME, *plan.discrete_syms, *self.model.parameter_symbols]
        out = []
        for ev in plan.specs:
            fns: list[Any] = []
            for a in ev.assigns:
                if a.kind == "discrete":
                    fns.append(sp.lambdify(args, a.expr, modules="numpy"))
                    continue
                s = sp.Symbol(plan.state_of[a.target], real=True)
                coef = sp.diff(a.expr, s)
                rest = sp.expand(a.expr - coef * s)
                if coef == 0:
                    fns.append((SET, None, sp.lambdify(args, rest, modules="numpy")))
                    continue
                fa = None if coef == 1 else sp.lambdify(args, coef, modules="numpy")
                fb = None if rest == 0 else sp.lambdify(args, rest, modules="numpy")
                fns.append((BOLUS, fa, fb))
            out.append(fns)
        return out

    def _firings(self, t_end: float):
        cache = self.__dict__.setdefault("_firing_cache", {})
        if t_end in cache:
            return cache[t_end]
        plan = self._plan
        m = self.model
        pvals = {
            s: sp.Float(v) for s, v in zip(m.parameter_symbols, m.default_parameters(), strict=True)
        }
        d0 = [float(sp.sympify(e).xreplace(pvals)) for e in plan.discrete_init]
        args = [TIME, *plan.discrete_syms]
        lam = {}
        for i, ev in enumerate(plan.specs):
            for a in ev.assigns:
                if a.kind == "discrete":
                    lam[(i, a.target)] = sp.lambdify(args, a.expr.xreplace(pvals), modules="math")

        def assign_discrete(e: int, t: float, d: list[float]) -> list[float]:
            new = list(d)
            for a in plan.specs[e].assigns:
                if a.kind == "discrete":
                    new[plan.discrete.index(a.target)] = float(lam[(e, a.target)](t, *d))
            return new

        try:
            out = expand_times(
                plan.specs, TIME, plan.discrete_syms, d0, pvals, 0.0, t_end, assign_discrete
            )
        except RuntimeError as exc:
            raise SbmlUnsupportedError(f"SBML events of model {self.sbml_id!r}: {exc}") from None
        cache[t_end] = out
        return out

    def info(self) -> dict[str, Any]:
        """Ids, counts, units and how each SBML element was mapped."""
        m = self.model
        return {
            "sbml_id": self.sbml_id,
            "name": self.sbml_name,
            "level_version": f"L{self.level[0]}V{self.level[1]}",
            "model_name": m.name,
            "citation": self.citation,
            "time_unit": self.time_unit,
            "n_states": m.n_states,
            "n_parameters": m.n_parameters,
            "n_expressions": len(m.expressions),
            "n_events": len(self._plan.specs),
            "states": {s.name: s.unit for s in m.states},
            "parameters": {n: p.unit for n, p in m.parameters.items()},
            "expressions": list(m.expressions),
            "mapping": dict(self.mapping),
            "renamed": dict(self.renamed),
            "events": [ev.id for ev in self._plan.specs],
            "event_time_parameters": list(self._plan.time_parameters),
            "warnings": list(self.warnings),
        }


def sbml_info(path: str | os.PathLike[str]) -> str:
    """A text summary of what :func:`read_sbml` makes of ``path`` (for ``oncotwin sbml info``)."""
    try:
        imp = read_sbml(path)
    except SbmlUnsupportedError as exc:
        return f"{path}: not importable\n  {exc}"
    info = imp.info()
    lines = [
        f"{path}",
        f"  SBML model {info['sbml_id']!r} ({info['level_version']}): {info['name']}",
        f"  oncotwin model {info['model_name']!r}, citation key {info['citation']!r}",
        f"  time unit: {info['time_unit']}",
        f"  {info['n_states']} states, {info['n_parameters']} parameters, "
        f"{info['n_expressions']} expressions, {info['n_events']} events",
        "  states: " + ", ".join(f"{k} [{v}]" for k, v in info["states"].items()),
        "  mapping:",
    ]
    lines += [f"    {k}: {v}" for k, v in info["mapping"].items()]
    if info["renamed"]:
        lines.append("  renamed: " + ", ".join(f"{k} -> {v}" for k, v in info["renamed"].items()))
    if info["event_time_parameters"]:
        lines.append("  parameters fixing event times: " + ", ".join(info["event_time_parameters"]))
    lines += [f"  warning: {w}" for w in info["warnings"]]
    return "\n".join(lines)


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
class _Importer:
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

    # ---------------------------------------------------------------------------- main
    def run(self) -> SbmlImport:
        m = self.m
        self.citation = _citation_for(m, self.source_name, self.text)
        self._refuse_globally()
        # rules by variable
        rate_rule: dict[str, Any] = {}
        assign_rule: dict[str, Any] = {}
        for r in m.getListOfRules():
            if r.isAlgebraic():
                raise _unsupported(
                    "algebraicRule",
                    r.getMetaId() or "(no id)",
                    "an algebraic rule (DAE)",
                    "rewrite it as an assignment or rate rule",
                )
            (rate_rule if r.isRate() else assign_rule)[r.getVariable()] = r
        ia = {a.getSymbol(): a for a in m.getListOfInitialAssignments()}
        self.defined_elsewhere = set(ia) | set(assign_rule)
        event_targets: set[str] = set()
        for ev in m.getListOfEvents():
            for a in ev.getListOfEventAssignments():
                event_targets.add(a.getVariable())
        in_reactions: set[str] = set()
        for rx in m.getListOfReactions():
            for lst in (rx.getListOfReactants(), rx.getListOfProducts()):
                for sr in lst:
                    in_reactions.add(sr.getSpecies())

        # classify every variable: param | state | expr | derived | discrete
        self.kind: dict[str, str] = {}
        self.sbml_type: dict[str, str] = {}
        for c in m.getListOfCompartments():
            self.sbml_type[c.getId()] = "compartment"
        for s in m.getListOfSpecies():
            self.sbml_type[s.getId()] = "species"
        for p in m.getListOfParameters():
            self.sbml_type[p.getId()] = "parameter"
        for sid, typ in self.sbml_type.items():
            if sid in assign_rule:
                k = "expr"
            elif sid in rate_rule:
                k = "state"
            elif typ == "species" and sid in in_reactions and not self._species_fixed(sid):
                k = "state"
            elif sid in event_targets:
                k = "discrete"
            elif sid in ia:
                k = "derived"
            else:
                k = "param"
            self.kind[sid] = k
        for sid in m.getListOfReactions():
            self.kind[sid.getId()] = "reaction"
            self.sbml_type[sid.getId()] = "reaction"
        for sr_list in [sr for rx in m.getListOfReactions() for sr in rx.getListOfReactants()] + [
            sr for rx in m.getListOfReactions() for sr in rx.getListOfProducts()
        ]:
            if sr_list.isSetId() and sr_list.getId():
                raise _unsupported(
                    "speciesReference",
                    sr_list.getId(),
                    "a species reference with an id (variable stoichiometry)",
                    "remove the id and give a constant stoichiometry",
                )
        # compartments that vary
        for c in m.getListOfCompartments():
            cid = c.getId()
            if self.kind[cid] in ("state", "expr", "discrete"):
                used_by = [s.getId() for s in m.getListOfSpecies() if s.getCompartment() == cid]
                if used_by:
                    raise _unsupported(
                        "compartment",
                        cid,
                        "a compartment whose size changes (species "
                        + ", ".join(used_by[:3])
                        + " live in it)",
                        "keep compartment sizes constant",
                    )

        self.reserved_symbols: dict[str, sp.Expr] = {sid: self._sym(sid) for sid in self.kind}
        b = ModelBuilder(
            self._unique("sbml_" + re.sub(r"\W", "_", m.getId() or "model"))[:80],
            description=m.getName() or m.getId(),
            citations=(self.citation,),
        )
        self.b = b
        src = self.citation

        # ---- parameters: SBML constants
        self.param_records: dict[str, Parameter] = {}

        def param(name: str, value: float, unit: str, where: str, description: str = ""):
            if value is None or not math.isfinite(value):
                return None
            rec = Parameter(
                float(value),
                unit or "1",
                source=Source(src, where),
                description=description,
                lower=-math.inf,
            )
            self.param_records[name] = rec
            return b.parameter(name, rec)

        comp_size: dict[str, sp.Expr] = {}
        init_expr: dict[str, sp.Expr] = {}  # value at t0 before initial assignments / rules
        for c in m.getListOfCompartments():
            cid = c.getId()
            if c.isSetSpatialDimensions() and c.getSpatialDimensions() == 0:
                spec = [s.getId() for s in m.getListOfSpecies() if s.getCompartment() == cid]
                if spec:
                    raise _unsupported(
                        "compartment", cid, "a zero-dimensional compartment holding species"
                    )
            size = c.getSize() if c.isSetSize() else (c.getVolume() if self.level[0] < 3 else None)
            if size is None or not math.isfinite(size):
                if cid not in ia and cid not in assign_rule:
                    if self.level[0] < 3:
                        size = 1.0
                        self.warnings.append(f"compartment {cid!r} has no size; using 1")
                    else:
                        raise _unsupported(
                            "compartment", cid, "a compartment without size", "set its size"
                        )
            unit = _unit_string(m, c.getUnits()) if c.isSetUnits() else "1"
            init_expr[cid] = self._value_symbol(cid, size, unit, f"SBML compartment {cid}", param)
            comp_size[cid] = self.reserved_symbols[cid]
        for p in m.getListOfParameters():
            pid = p.getId()
            unit = _unit_string(m, p.getUnits()) if p.isSetUnits() else "1"
            v = p.getValue() if p.isSetValue() else None
            if (v is None or not math.isfinite(v)) and pid not in ia and pid not in assign_rule:
                if self.kind[pid] == "param":
                    raise _unsupported(
                        "parameter", pid, "a parameter without a value", "give it a value"
                    )
                raise _unsupported(
                    "parameter", pid, "a variable parameter without an initial value"
                )
            init_expr[pid] = self._value_symbol(pid, v, unit, f"SBML parameter {pid}", param)
        for s in m.getListOfSpecies():
            sid = s.getId()
            cid = s.getCompartment()
            V = comp_size[cid]
            conc = not s.getHasOnlySubstanceUnits()
            unit = _unit_string(m, s.getSubstanceUnits()) if s.isSetSubstanceUnits() else "1"
            if s.isSetInitialConcentration():
                v, given_conc = s.getInitialConcentration(), True
            elif s.isSetInitialAmount():
                v, given_conc = s.getInitialAmount(), False
            else:
                v, given_conc = None, conc
            if v is not None and not math.isfinite(v):
                v = None
            if v is None and sid not in ia and sid not in assign_rule:
                raise _unsupported("species", sid, "a species without an initial value", "set one")
            if s.isSetConversionFactor() or m.isSetConversionFactor():
                raise _unsupported(
                    "species", sid, "a conversion factor", "fold it into the kinetic laws"
                )
            where = f"SBML species {sid} initial {'concentration' if given_conc else 'amount'}"
            if v is None or sid in self.defined_elsewhere:
                init_expr[sid] = sp.nan
                continue
            if given_conc == conc and self.kind[sid] == "param":
                init_expr[sid] = self._value_symbol(sid, v, unit, where, param)
                continue
            pname = self._unique(self._name(sid) + "_0")
            sym = param(pname, v, unit, where)
            if given_conc and not conc:
                init_expr[sid] = sym * V
            elif conc and not given_conc:
                init_expr[sid] = sym / V
            else:
                init_expr[sid] = sym
            if self.kind[sid] == "param":
                self.kind[sid] = "derived_value"

        # ---- reactions: kinetic laws with local parameters
        rate_of_reaction: dict[str, sp.Expr] = {}
        species_terms: dict[str, list[sp.Expr]] = {}
        for rx in m.getListOfReactions():
            rid = rx.getId()
            if rx.isSetFast() and rx.getFast():
                raise _unsupported(
                    "reaction", rid, "a fast reaction", "set fast='false' (same ODE otherwise)"
                )
            kl = rx.getKineticLaw()
            if kl is None or kl.getMath() is None:
                raise _unsupported("reaction", rid, "a reaction without a kinetic law")
            local: dict[str, sp.Expr] = {}
            lps = list(kl.getListOfParameters())
            if self.level[0] >= 3:
                lps += list(kl.getListOfLocalParameters())
            for lp in lps:
                lid = lp.getId()
                name = self._unique(f"{self._name(rid)}_{lid}")
                unit = _unit_string(m, lp.getUnits()) if lp.isSetUnits() else "1"
                sym = param(name, lp.getValue(), unit, f"SBML reaction {rid} local parameter {lid}")
                if sym is None:
                    raise _unsupported("reaction", rid, f"local parameter {lid!r} without value")
                local[lid] = sym
                self.mapping[f"{rid}.{lid}"] = f"parameter {name}"
            rate_of_reaction[rid] = self.convert(kl.getMath(), "reaction", rid, local)
            for sign, lst in ((-1, rx.getListOfReactants()), (1, rx.getListOfProducts())):
                for sr in lst:
                    sid = sr.getSpecies()
                    if self._species_fixed(sid):
                        continue
                    if hasattr(sr, "isSetStoichiometryMath") and sr.isSetStoichiometryMath():
                        st = self.convert(sr.getStoichiometryMath().getMath(), "reaction", rid)
                        if st.free_symbols:
                            raise _unsupported("reaction", rid, "non-constant stoichiometryMath")
                    else:
                        stv = sr.getStoichiometry()
                        if not math.isfinite(stv):
                            stv = 1.0
                            self.warnings.append(
                                f"reaction {rid!r}: stoichiometry of {sid!r} unset; using 1"
                            )
                        st = sp.Integer(int(stv)) if float(stv).is_integer() else sp.Float(stv)
                    term = sign * st * self.reserved_symbols[rid]
                    sp_ = m.getSpecies(sid)
                    if not sp_.getHasOnlySubstanceUnits():
                        term = term / comp_size[sp_.getCompartment()]
                    species_terms.setdefault(sid, []).append(term)

        # ---- rules
        rule_expr: dict[str, sp.Expr] = {}
        for var, r in assign_rule.items():
            rule_expr[var] = sp.sympify(self.convert(r.getMath(), "assignmentRule", var))
        rates: dict[str, sp.Expr] = {}
        for var, r in rate_rule.items():
            rates[var] = sp.sympify(self.convert(r.getMath(), "rateRule", var))
        ia_expr = {
            k: sp.sympify(self.convert(a.getMath(), "initialAssignment", k)) for k, a in ia.items()
        }

        # ---- initial values at t0 (in parameter symbols only)
        defs = {**rule_expr, **rate_of_reaction}
        t0_cache: dict[str, sp.Expr] = {}
        stack: list[str] = []
        sym_to_id = {v: k for k, v in self.reserved_symbols.items()}

        def t0_value(sid: str) -> sp.Expr:
            if sid in t0_cache:
                return t0_cache[sid]
            if sid in stack:
                raise _unsupported(
                    self.sbml_type.get(sid, "element"),
                    sid,
                    "a circular definition of initial values (" + " -> ".join(stack) + ")",
                )
            stack.append(sid)
            if sid in ia_expr:
                v = resolve_t0(ia_expr[sid])
            elif sid in defs:
                v = resolve_t0(defs[sid])
            else:
                v = init_expr[sid]
            stack.pop()
            t0_cache[sid] = v
            return v

        def resolve_t0(e: sp.Expr) -> sp.Expr:
            e = sp.sympify(e)
            rep: dict[sp.Basic, sp.Expr] = {TIME: sp.S.Zero}
            for s in e.free_symbols:
                sid = sym_to_id.get(s)
                if sid is not None and not (
                    self.kind.get(sid) == "param" and s.name in self.param_records
                ):
                    rep[s] = t0_value(sid)
            return e.xreplace(rep)

        # ---- discrete variables (changed by events only)
        discrete_ids = [k for k, v in self.kind.items() if v == "discrete"]

        # ---- named expressions: derived constants, assignment rules, reaction rates
        # derived (constant after t0): value expression in parameters
        for sid, k in list(self.kind.items()):
            if k in ("derived", "derived_value"):
                b.expression(self._name(sid), t0_value(sid))
                self.mapping[sid] = (
                    f"expression {self._name(sid)} (initial assignment, from parameters)"
                    if k == "derived"
                    else f"expression {self._name(sid)} (constant species, amount/size)"
                )
        order = self._toposort(defs)
        # states first (symbols only), then expressions in dependency order
        state_ids = [k for k, v in self.kind.items() if v == "state"]
        used_math: set[sp.Symbol] = set()
        for e in [*defs.values(), *rates.values()]:
            used_math |= sp.sympify(e).free_symbols
        for terms in species_terms.values():
            for e in terms:
                used_math |= e.free_symbols
        # discrete variables used by the model's math become states (rate 0, SET events)
        discrete_states = [
            d
            for d in discrete_ids
            if self.reserved_symbols[d] in used_math or self.sbml_type[d] == "species"
        ]
        state_of: dict[str, str] = {}
        for sid in state_ids + discrete_states:
            typ = self.sbml_type[sid]
            unit = "1"
            if typ == "species":
                s = m.getSpecies(sid)
                unit = _unit_string(m, s.getSubstanceUnits()) if s.isSetSubstanceUnits() else "1"
                if not s.getHasOnlySubstanceUnits():
                    unit = f"({unit})/volume" if unit != "1" else "concentration"
            b.state(self._name(sid), unit, initial=t0_value(sid), nonnegative=False)
            state_of[sid] = self._name(sid)
            how = "state"
            if sid in rate_rule:
                how += " (rate rule)"
            elif sid in species_terms:
                how += " (reactions" + (", concentration)" if unit != "1" else ")")
            else:
                how += " (changed by events only: rate 0, SET events)"
            self.mapping[sid] = f"{how} {self._name(sid)}"
        for sid in order:
            b.expression(self._name(sid), defs[sid])
            self.mapping[sid] = (
                f"expression {self._name(sid)} ("
                + ("reaction rate" if sid in rate_of_reaction else "assignment rule")
                + ")"
            )
        for sid in state_ids:
            if sid in rates:
                b.add_rate(self._name(sid), rates[sid])
            for term in species_terms.get(sid, []):
                b.add_rate(self._name(sid), term)
        for sid, k in self.kind.items():
            if k == "param" and sid not in self.mapping:
                self.mapping[sid] = f"parameter {self._name(sid)}"
        for sid in discrete_ids:
            if sid not in state_of:
                self.mapping[sid] = "discrete event variable (used only by events)"

        # ---- events
        plan = self._events(discrete_ids, state_of, rule_expr, rate_of_reaction, t0_value)
        try:
            model = b.build()
        except ModelError as exc:
            raise ModelError(f"SBML model {m.getId()!r} did not build: {exc}") from None
        model = replace(model, time_unit=_time_unit(m, self.level[0]))
        switching = (sp.Piecewise, SbmlFloor, SbmlCeil, sp.Min, sp.Max)
        for name, r in zip(model.state_names, model.rates, strict=True):
            if any(TIME in a.free_symbols for a in r.atoms(*switching)):
                self.warnings.append(
                    f"the rate of {name!r} switches with time (piecewise, floor or min/max of "
                    "time): adaptive steps may step over short pulses; put output times or "
                    "events at the switch times"
                )
                break
        if model.time_unit != "day":
            self.warnings.append(
                f"time unit is {model.time_unit!r}, not day: times and rates of this model are "
                "in that unit (regimens in days need converting)"
            )
        return SbmlImport(
            model=model,
            time_unit=model.time_unit,
            warnings=tuple(self.warnings),
            citation=self.citation,
            sbml_id=m.getId(),
            sbml_name=m.getName(),
            level=self.level,
            renamed=dict(self.renamed),
            mapping=dict(self.mapping),
            _plan=plan,
        )

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


def read_sbml(source: str | os.PathLike[str]) -> SbmlImport:
    """Import an SBML model (a path, or the XML text itself).

    Raises
    ------
    SbmlUnsupportedError
        The model uses a feature the engine cannot simulate exactly (the message names the
        element, its id, the feature and the fix).
    ModelError
        The file is missing or is not valid SBML.
    """
    return _Importer(source).run()
