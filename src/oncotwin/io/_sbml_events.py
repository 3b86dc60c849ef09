"""Expansion of SBML events with time-only triggers into events at known times.

The engine applies jumps at known times only (no root-finding), so an SBML event is accepted
when its trigger, after substituting assignment rules, depends on ``time``, constants and
*discrete* variables (non-constant parameters or species changed by events alone), each
relation of the trigger being linear in time. Between two breakpoints (the times at which a
relation of some trigger flips) every trigger is constant, so the firing times follow from a
scan over breakpoints, with SBML's semantics: an event fires when its trigger goes from false
to true (at ``t0`` when ``initialValue`` is false and the trigger is true); its assignments
are computed then; cascades at one instant are followed. A periodic pattern such as
``time >= next_dose && next_dose <= last_dose`` with ``next_dose = next_dose + tau`` expands to
one firing per period, up to ``t_end``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

__all__ = ["LAMBDIFY_MODULES", "EventSpec", "Firing", "expand_times"]

#: The most firings expanded for one call (guards against a runaway cascade).
MAX_FIRINGS = 200_000


@dataclass
class Assign:
    """One event assignment: target id, kind (``"discrete"`` or ``"state"``) and math."""

    target: str
    kind: str
    expr: sp.Expr  # value (discrete) or the full new value a*S + b (state)
    reads: frozenset[str] = frozenset()
    increment: bool = False


@dataclass
class EventSpec:
    """One accepted SBML event, ready for expansion."""

    id: str
    trigger: sp.Basic  # in TIME, discrete symbols and parameter symbols
    initial_value: bool
    assigns: list[Assign] = field(default_factory=list)


@dataclass(frozen=True)
class Firing:
    time: float
    event: int


#: Namespace of lambdified trigger and assignment math: sympy prints functions for the
#: ``"math"`` module as ``math.exp(...)`` (and :class:`SbmlFloor` as ``math.floor``), but
#: ``modules="math"`` alone imports the module's names, not ``math`` itself.
LAMBDIFY_MODULES = [{"math": math}, "math"]


def _lam(args: list[sp.Symbol], expr: sp.Basic):
    return sp.lambdify(args, expr, modules=LAMBDIFY_MODULES)


class _Scanner:
    """Evaluates triggers and breakpoints with default parameter values."""

    def __init__(
        self,
        events: list[EventSpec],
        time: sp.Symbol,
        discrete: list[sp.Symbol],
        pvals: dict[sp.Symbol, float],
    ) -> None:
        self.events = events
        self.discrete = discrete
        args = [time, *discrete]
        self.trig = []
        self.breaks = []
        for ev in events:
            trig = ev.trigger.xreplace(pvals)
            self.trig.append(_lam(args, trig))
            bps = []
            for atom in trig.atoms(sp.core.relational.Relational):
                d = atom.lhs - atom.rhs
                slope = sp.diff(d, time)
                if slope == 0:
                    continue
                bps.append(_lam(list(discrete), -d.subs(time, 0) / slope))
            self.breaks.append(bps)

    def value(self, e: int, t: float, d: list[float]) -> bool:
        return bool(self.trig[e](t, *d))

    def next_break(self, t: float, d: list[float]) -> float:
        best = np.inf
        for bps in self.breaks:
            for f in bps:
                b = float(f(*d))
                if b > t and b < best:
                    best = b
        return best


def expand_times(
    events: list[EventSpec],
    time: sp.Symbol,
    discrete: list[sp.Symbol],
    d0: list[float],
    pvals: dict[sp.Symbol, float],
    t0: float,
    t_end: float,
    assign_discrete,
) -> list[Firing]:
    """Firing times and order (default parameters) from ``t0`` up to ``t_end`` inclusive.

    ``assign_discrete(event_index, t, d)`` returns the discrete values after the event.
    Raises ``RuntimeError(message)`` for simultaneous events that interact.
    """
    sc = _Scanner(events, time, discrete, pvals)
    d = list(d0)
    state = [ev.initial_value for ev in events]
    out: list[Firing] = []
    t = t0
    while True:
        nb = sc.next_break(t, d)
        right_t = t + (min(nb - t, 1.0) / 2.0 if np.isfinite(nb) else 0.5)
        for _ in range(1000):
            cur = [sc.value(e, t, d) or sc.value(e, right_t, d) for e in range(len(events))]
            fire = [e for e in range(len(events)) if cur[e] and not state[e]]
            for e in range(len(events)):
                if e not in fire:
                    state[e] = cur[e]
            if not fire:
                break
            _check_interactions([events[e] for e in fire], t)
            for e in fire:
                out.append(Firing(t, e))
                d = assign_discrete(e, t, d)
                state[e] = True
            if len(out) > MAX_FIRINGS:
                raise RuntimeError(
                    f"more than {MAX_FIRINGS} event firings before time {t_end}; the events "
                    "re-trigger without end"
                )
            nb = sc.next_break(t, d)
            right_t = t + (min(nb - t, 1.0) / 2.0 if np.isfinite(nb) else 0.5)
        else:  # pragma: no cover - guarded above
            raise RuntimeError(f"events cascade without end at time {t}")
        for e in range(len(events)):
            state[e] = sc.value(e, right_t, d)
        nb = sc.next_break(t, d)
        if not np.isfinite(nb) or nb > t_end:
            return out
        t = nb


def _check_interactions(evs: list[EventSpec], t: float) -> None:
    for i, a in enumerate(evs):
        for b in evs[i + 1 :]:
            for x in a.assigns:
                for y in b.assigns:
                    same = x.target == y.target and not (x.increment and y.increment)
                    if same or x.target in y.reads or y.target in x.reads:
                        raise RuntimeError(
                            f"events {a.id!r} and {b.id!r} fire together at time {t} and "
                            f"interact through {x.target!r} / {y.target!r}; their order "
                            "(event priorities) would matter"
                        )
