"""The SBML importer's main pass: species, parameters, rules and reactions -> a Model."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import sympy as sp

from oncotwin.errors import ModelError
from oncotwin.io._sbml_load import (
    _citation_for,
    _ImporterBase,
    _time_unit,
    _unit_string,
)
from oncotwin.io._sbml_math import (
    SbmlCeil,
    SbmlFloor,
)
from oncotwin.io._sbml_result import (
    SbmlImport,
    _unsupported,
)
from oncotwin.models.base import TIME, ModelBuilder
from oncotwin.parameters import Parameter, Source


class _Importer(_ImporterBase):
    """One SBML document -> :class:`SbmlImport` (:meth:`run`)."""

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
