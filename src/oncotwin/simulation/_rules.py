"""A regimen's dosing rules (hold, reduce, stop, steroids) applied to a population solve.

The rules (:class:`oncotwin.regimens.DoseRule`, written in the regimen after a track's
phases) are decided at each scheduled dose day of the doses they act on, for every patient
at once, from the grades the model's readouts give at that day
(``ClinicalReadouts.grade_series``: ``metastatic_io`` has it). Per patient and rule the state
is: held, stopped (and when), the dose factor of the reductions so far, and whether the
steroid course has started.

* ``hold if R >= G until R <= M``: a dose is held when the grade on its day is >= G, and
  doses stay held while it is > M; the held doses are skipped (not made up later), so the
  next dose given is the first scheduled one after recovery.
* ``stop if R >= G``: no dose from the first dose day at which the grade reached G at any
  time since the previous dose day.
* ``reduce D by P% if R >= G``: a dose given after a grade >= G since the previous *given*
  dose of those drugs is multiplied by (1 - P/100), and so are all later ones (a second
  occurrence reduces again: 25% twice is 56.25% of the dose).
* ``steroids if R >= G``: one steroid course per patient (the model's own: a unit bolus
  into its readouts' ``steroid_state``) on the first output time at which the grade has
  reached G, at any time (not only on dose days; several steroid rules: the first).

"Since the previous dose day" reads the grade at every output time in between and the
readouts' worst grade so far (``grade_series(..., worst=True)``: for ``metastatic_io`` the
running peak or nadir of the marker), so an excursion between output times counts from the
next output time.

Feedback without root-finding, exact for every decision: the population is solved with a
plan (first: every dose as scheduled); each patient's decisions are walked in time from
their trajectory; a patient whose decisions differ from the plan gets the new plan and is
solved again. A decision depends only on the trajectory up to its day, so a patient's first
difference moves later at every pass and the passes end (at most twice the number of dose
days; in practice two to four). Patients whose plan holds are never solved again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from oncotwin.errors import OncotwinError
from oncotwin.models.readouts import TOXICITY_KINDS, TumourSizeReadouts, clinical_readouts
from oncotwin.regimens._dose_rules import READOUTS, DoseRule
from oncotwin.solvers import BOLUS, EventTable, Solution, SolverOptions, solve

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.models.readouts import ClinicalReadouts
    from oncotwin.regimens import Regimen
    from oncotwin.simulation._events import DoseEvents

__all__ = ["RuledDosing", "apply_dose_rules", "reactive_rules"]


@dataclass(frozen=True, eq=False)
class RuledDosing:
    """A population solved with its regimen's dosing rules applied.

    ``prepared`` holds the doses actually given (a held or stopped dose is 0, a reduced one
    scaled); ``multiplier`` ``(n, n_events)`` is what each scheduled dose was multiplied by;
    ``steroids`` the steroid courses started (``None``: none); ``solution`` the solve on the
    caller's output times; ``stop_day`` the day the rules stopped every dose of the regimen
    (``inf``: not); ``steroid_day`` each patient's steroid course (``inf``: none);
    ``passes`` how many solves the feedback took.
    """

    prepared: DoseEvents
    multiplier: np.ndarray
    steroids: EventTable | None
    solution: Solution
    stop_day: np.ndarray
    steroid_day: np.ndarray
    passes: int


def reactive_rules(regimen: Regimen | None) -> tuple[tuple[int, DoseRule], ...]:
    """The regimen's rules that react to readouts (``stop after`` is in its schedule)."""
    if regimen is None:
        return ()
    return tuple((k, r) for k, r in regimen.rules if r.after is None)


def _grade_reader(
    model: Model, read: ClinicalReadouts | None, rules: tuple[tuple[int, DoseRule], ...]
) -> tuple[ClinicalReadouts, Callable[..., np.ndarray]]:
    """The readouts and their grade-over-time function; refuse rules the model cannot
    read (naming the model and the rule)."""
    first = rules[0][1].text()
    if read is None:
        try:
            read = clinical_readouts(model)
        except OncotwinError as exc:
            raise OncotwinError(
                f"dosing rule '{first}' needs toxicity grades, but {exc}; use a model with "
                "clinical readouts (e.g. metastatic_io) or drop the rule"
            ) from None
    series = getattr(read, "grade_series", None)
    kinds: tuple[str, ...] = getattr(read, "toxicity_kinds", TOXICITY_KINDS)
    if series is None or isinstance(read, TumourSizeReadouts):
        kinds = ()
    for _, r in rules:
        if r.readout not in kinds:
            has = ", ".join(READOUTS[k] for k in kinds) or "no toxicity grade over time"
            raise OncotwinError(
                f"dosing rule '{r.text()}' needs the {r.readout_text} grade over time, which "
                f"model {model.name!r} does not read out (it has: {has}); use a model that "
                "grades it (e.g. metastatic_io) or drop the rule"
            )
        if r.action == "steroids" and read.steroid_state is None:
            raise OncotwinError(
                f"dosing rule '{r.text()}' starts a steroid course, but model {model.name!r} "
                "has no steroid state in its readouts; drop the rule"
            )
    return read, series  # type: ignore[return-value]


@dataclass(frozen=True)
class _Plan:
    """What the rules decided for a set of patients (rows)."""

    multiplier: np.ndarray  # (m, n_events)
    steroid_day: np.ndarray  # (m,)
    stop_at: dict[int, np.ndarray]  # rule index -> (m,) day a stop rule fired (inf: not)


class _Walker:
    """Decides, dose day by dose day, every rule for a set of patients from their grades."""

    def __init__(
        self,
        rules: tuple[tuple[int, DoseRule], ...],
        prepared: DoseEvents,
    ) -> None:
        self.rules = rules
        self.origin = prepared.origin
        self.ts = np.zeros(1)  # the solve grid, set once the dose days are known
        drug, track = prepared.drug, prepared.track
        assert drug is not None and track is not None
        self.applies = [(drug == r.drug) if r.drug is not None else (track == k) for k, r in rules]
        days: set[float] = set()
        self.rule_days = []
        for i, (_, r) in enumerate(rules):
            d = np.unique(self.origin[self.applies[i]]) if r.action != "steroids" else []
            self.rule_days.append(set(np.asarray(d).tolist()))
            days.update(np.asarray(d).tolist())
        self.days = np.array(sorted(days))
        self.events_at = {float(d): np.nonzero(self.origin == d)[0] for d in self.days}

    def _index(self, day: float) -> int:
        """Index of ``day`` in the solve grid (-1 before it; the last index after it)."""
        if day < self.ts[0]:
            return -1
        return int(min(np.searchsorted(self.ts, day, side="right") - 1, self.ts.size - 1))

    def walk(self, series: dict[str, tuple[np.ndarray, np.ndarray]], active: np.ndarray) -> _Plan:
        """The rules' decisions for patients with grade ``series`` (kind -> the grade and the
        worst grade so far, each (m, n_ts)) and scheduled doses ``active`` (m, n_events)."""
        m, n_ev = active.shape
        mult = np.ones((m, n_ev))
        held = {i: np.zeros(m, dtype=bool) for i in range(len(self.rules))}
        stopped = {i: np.full(m, np.inf) for i in range(len(self.rules))}
        factor = {i: np.ones(m) for i in range(len(self.rules))}
        worst = {i: np.zeros(m, dtype=np.int64) for i in range(len(self.rules))}
        prev = dict.fromkeys(range(len(self.rules)), -1)
        steroid = np.full(m, np.inf)
        for _, r in self.rules:  # one course, on the first output time at the grade
            if r.action == "steroids":
                reached = series[r.readout][1] >= r.grade  # type: ignore[index,operator]
                first = np.where(reached.any(axis=1), self.ts[np.argmax(reached, axis=1)], np.inf)
                steroid = np.minimum(steroid, first)
        zero = np.zeros(m, dtype=np.int64)
        for day in self.days:
            j = self._index(float(day))
            ev = self.events_at[float(day)]
            for i, (_, r) in enumerate(self.rules):
                if float(day) not in self.rule_days[i]:
                    continue
                s, w = series[r.readout]  # type: ignore[index]
                lo, hi = prev[i] + 1, j + 1
                window = s[:, lo:hi].max(axis=1) if hi > lo else zero
                if hi > lo:  # a new worst grade between output times counts too
                    before = w[:, lo - 1] if lo > 0 else zero
                    window = np.maximum(window, np.where(w[:, j] > before, w[:, j], 0))
                now = s[:, j] if j >= 0 else zero
                prev[i] = max(prev[i], j)
                g = r.grade
                if r.action == "hold":
                    held[i] = (held[i] | (now >= g)) & (now > r.until)  # type: ignore[operator]
                elif r.action == "stop":
                    stopped[i] = np.where(np.isinf(stopped[i]) & (window >= g), day, stopped[i])  # type: ignore[operator]
                elif r.action == "reduce":
                    worst[i] = np.maximum(worst[i], window)
            if ev.size == 0:
                continue
            blocked = np.zeros((m, ev.size), dtype=bool)
            for i, (_, r) in enumerate(self.rules):
                on = self.applies[i][ev]
                if not on.any():
                    continue
                if r.action == "hold":
                    blocked[:, on] |= held[i][:, None]
                elif r.action == "stop":
                    blocked[:, on] |= (stopped[i] <= day)[:, None]
            given = ~blocked & active[:, ev]
            scale = np.ones((m, ev.size))
            for i, (_, r) in enumerate(self.rules):
                on = self.applies[i][ev]
                if r.action != "reduce" or not on.any():
                    continue
                dosed = given[:, on].any(axis=1)
                cut = dosed & (worst[i] >= r.grade)  # type: ignore[operator]
                factor[i] = np.where(cut, factor[i] * r.factor, factor[i])
                worst[i] = np.where(dosed, 0, worst[i])
                scale[:, on] *= factor[i][:, None]
            mult[:, ev] = np.where(blocked, 0.0, scale)
        stop_at = {i: stopped[i] for i, (_, r) in enumerate(self.rules) if r.action == "stop"}
        return _Plan(mult, steroid, stop_at)


def _grades(
    series_of: Callable[..., np.ndarray], sol: Solution, seed: int, ids: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """The grade of ``kind`` at each output time and the worst so far (from the readouts'
    running peak where they give it, else the running maximum of the grade)."""
    now = np.asarray(series_of(sol, seed, ids, kind))
    try:
        worst = np.asarray(series_of(sol, seed, ids, kind, worst=True))
    except TypeError:  # readouts without the worst-so-far form
        worst = np.maximum.accumulate(now, axis=1)
    return now, np.maximum(worst, np.maximum.accumulate(now, axis=1))


def _steroid_table(model: Model, state: str, days: np.ndarray) -> EventTable | None:
    """One steroid course (a unit bolus into ``state``) per patient with a finite day (one
    event per distinct day, 0 for the other patients)."""
    has = np.isfinite(days)
    if not has.any():
        return None
    uniq = np.unique(days[has])
    vals = (days[:, None] == uniq[None, :]) & has[:, None]
    n = uniq.size
    return EventTable.build(
        uniq, np.full(n, model.state_index(state)), np.full(n, BOLUS), vals.astype(float)
    )


def _events(
    model: Model, base: EventTable, mult: np.ndarray, steroid: np.ndarray, state: str | None
) -> EventTable:
    """``base`` with each patient's multipliers and steroid courses."""
    ev = EventTable(base.time, base.state, base.kind, base.value * mult)
    extra = _steroid_table(model, state, steroid) if state is not None else None
    return ev if extra is None else ev.concat(extra)


def _merge(sol: Solution, rows: np.ndarray, part: Solution) -> Solution:
    """``sol`` with the patients ``rows`` replaced by ``part``."""
    merged = {}
    for name in ("y", "status", "nsteps", "method"):
        whole = getattr(sol, name).copy()
        whole[rows] = getattr(part, name)
        merged[name] = whole
    return replace(sol, **merged)


def _all_stopped(plan: _Plan, walker: _Walker, active: np.ndarray) -> np.ndarray:
    """Day from which stop rules zero every remaining scheduled dose (``inf``: never)."""
    m, n_ev = active.shape
    by_stop = np.zeros((m, n_ev), dtype=bool)
    for i, at in plan.stop_at.items():
        by_stop |= walker.applies[i][None, :] & (walker.origin[None, :] >= at[:, None])
    covered = by_stop | ~active
    suffix = np.logical_and.accumulate(covered[:, ::-1], axis=1)[:, ::-1]
    start = suffix & by_stop
    first = np.argmax(start, axis=1)
    return np.where(start.any(axis=1), walker.origin[first], np.inf)


def apply_dose_rules(
    model: Model,
    regimen: Regimen,
    prepared: DoseEvents,
    t_out: np.ndarray,
    *,
    seed: int,
    patient_ids: np.ndarray,
    options: SolverOptions,
    readouts: ClinicalReadouts | None = None,
) -> RuledDosing | None:
    """Solve ``prepared``'s population with the dosing rules of ``regimen`` (``None``: it
    has none that react to readouts). See the module docstring for what each rule does."""
    rules = reactive_rules(regimen)
    if not rules:
        return None
    if prepared.drug is None or prepared.track is None:
        raise OncotwinError(
            "the regimen's events carry no drug and track per dose; build them with "
            "oncotwin.simulation.regimen_dose_events"
        )
    read, series_of = _grade_reader(model, readouts, rules)
    state = read.steroid_state if any(r.action == "steroids" for _, r in rules) else None
    t = np.asarray(t_out, dtype=float)
    walker = _Walker(rules, prepared)
    ts = np.union1d(t, walker.days[(walker.days >= t[0]) & (walker.days <= t[-1])])
    walker.ts = ts
    base = prepared.events
    active = base.active()
    n = active.shape[0]
    params = prepared.population.params
    mult = np.ones(active.shape)
    steroid = np.full(n, np.inf)
    stop_at: dict[int, np.ndarray] = {}
    ids = np.asarray(patient_ids)
    sol = solve(model, params, ts, events=base, options=options)
    kinds = sorted({r.readout for _, r in rules})  # type: ignore[type-var]
    rows = np.arange(n)
    limit = 2 * walker.days.size + 2
    passes = 1
    while rows.size:
        view = replace(
            sol,
            y=sol.y[rows],
            params=sol.params[rows],
            status=sol.status[rows],
            nsteps=sol.nsteps[rows],
            method=sol.method[rows],
        )
        series = {k: _grades(series_of, view, seed, ids[rows], k) for k in kinds}
        plan = walker.walk(series, active[rows])
        for i, at in plan.stop_at.items():
            stop_at.setdefault(i, np.full(n, np.inf))[rows] = at
        old_m, old_s = mult[rows], steroid[rows]
        same_s = (old_s == plan.steroid_day) | (np.isinf(old_s) & np.isinf(plan.steroid_day))
        differ = ~(np.all(old_m == plan.multiplier, axis=1) & same_s)
        mult[rows] = plan.multiplier
        steroid[rows] = plan.steroid_day
        rows = rows[differ]
        if not rows.size:
            break
        if passes >= limit:  # pragma: no cover - the decisions move later at every pass
            raise OncotwinError(
                f"dosing rules did not settle after {passes} solves for {rows.size} patients"
            )
        events = _events(model, base.take(rows), mult[rows], steroid[rows], state)
        part = solve(model, params[rows], ts, events=events, options=options)
        sol = _merge(sol, rows, part)
        passes += 1
    keep = np.searchsorted(ts, t)
    sol = replace(sol, t=t, y=sol.y[:, keep])
    final = _Plan(mult, steroid, stop_at)
    dosed = replace(
        prepared, events=EventTable(base.time, base.state, base.kind, base.value * mult)
    )
    return RuledDosing(
        prepared=dosed,
        multiplier=mult,
        steroids=_steroid_table(model, state, steroid) if state is not None else None,
        solution=sol,
        stop_day=_all_stopped(final, walker, active),
        steroid_day=steroid,
        passes=passes,
    )
