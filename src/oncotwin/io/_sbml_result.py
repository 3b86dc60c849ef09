"""The result of an SBML import (:class:`SbmlImport`) and the error for unsupported features."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from oncotwin.errors import ModelError
from oncotwin.io._sbml_events import LAMBDIFY_MODULES, EventSpec, expand_times
from oncotwin.models.base import TIME, Model
from oncotwin.solvers.events import BOLUS, MULTIPLY, SET, EventTable


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
                    lam[(i, a.target)] = sp.lambdify(
                        args, a.expr.xreplace(pvals), modules=LAMBDIFY_MODULES
                    )

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
