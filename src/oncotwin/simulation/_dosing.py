"""Dosing rules applied to a population solve, for any model with clinical readouts.

Feedback of the patient on treatment without root-finding: a first solve gives each
patient's first grade >= 3 irAE, progression (true, or read from scans by the caller) and
the end of the maximal duration; a second solve masks that patient's doses from then on (and
starts a steroid course at a toxicity stop). The trajectory before the stop is the same in
both solves (causality), so the stop day is exact and all later dynamics respond to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from oncotwin.errors import OncotwinError
from oncotwin.models.readouts import Toxicity, clinical_readouts, true_progression_days
from oncotwin.regimens import DosingRules, Regimen, parse_regimen
from oncotwin.simulation._events import DoseEvents, regimen_dose_events
from oncotwin.simulation._rules import apply_dose_rules
from oncotwin.solvers import BOLUS, EventTable, Solution, SolverOptions, solve

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.models.readouts import ClinicalReadouts
    from oncotwin.population import Population

__all__ = ["DosedSolution", "solve_with_rules"]

#: Solver settings of rule-driven and trial solves.
TRIAL_OPTIONS = SolverOptions(rtol=1e-5, atol=1e-9)


@dataclass(frozen=True, eq=False)
class DosedSolution:
    """A population solved with its dosing rules applied.

    ``stop_day`` is the day dosing stopped (``inf``: never), ``stop_reason`` one of
    :data:`oncotwin.regimens.STOP_REASONS`, ``toxicity`` the grades of the final solve (the
    irAE that stopped treatment keeps its day), ``last_dose_day`` each patient's last
    scheduled dose after the per-class caps of the rules (before any stop, and before the
    regimen's own hold or reduce rules: a held dose does not end treatment; 0: no dose).
    """

    solution: Solution
    population: Population
    stop_day: np.ndarray
    stop_reason: np.ndarray
    toxicity: Toxicity
    last_dose_day: np.ndarray


def _steroid_events(model: Model, state: str | None, stop: np.ndarray, reason: np.ndarray):
    """One steroid bolus per patient stopped for toxicity, on its own stop day (events are
    shared in time, so one event per distinct day, 0 for the other patients)."""
    tox = reason == "toxicity"
    if state is None or not tox.any():
        return None
    days = np.where(tox, stop, 0.0)
    uniq = np.unique(days[tox])
    vals = (days[:, None] == uniq[None, :]) * tox[:, None].astype(float)
    n = uniq.size
    return EventTable.build(uniq, np.full(n, model.state_index(state)), np.full(n, BOLUS), vals)


def _stops(
    rules: DosingRules,
    tox: Toxicity,
    progression: np.ndarray,
    stop_day: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's stop day (every dose) and its reason."""
    n = tox.irae_day.shape[0]
    inf = np.full(n, np.inf)
    duration = np.full(n, rules.max_duration_days)
    if stop_day is not None:
        duration = np.minimum(duration, np.asarray(stop_day, dtype=float))
    prog = progression if rules.stop_on_progression else inf
    tox_day = tox.irae_day if rules.stop_on_toxicity else inf
    stop = np.minimum(np.minimum(duration, prog), tox_day)
    reason = np.where(
        ~np.isfinite(stop),
        "",
        np.where(tox_day <= stop, "toxicity", np.where(prog <= stop, "progression", "duration")),
    )
    return stop, reason.astype(object)


def solve_with_rules(
    model: Model,
    regimen: Regimen | str | None,
    population: Population,
    t_out: np.ndarray,
    *,
    rules: DosingRules | None = None,
    horizon: float | None = None,
    seed: int = 0,
    patient_ids: np.ndarray | None = None,
    stop_day: np.ndarray | None = None,
    progression: Callable[[Solution], np.ndarray] | None = None,
    after_stop: Callable[[np.ndarray, np.ndarray], EventTable | None] | None = None,
    options: SolverOptions | None = None,
    readouts: ClinicalReadouts | None = None,
    prepared: DoseEvents | None = None,
    baseline_mm: np.ndarray | None = None,
) -> DosedSolution:
    """Solve ``population`` under ``regimen`` with ``rules`` applied.

    The regimen's own dosing rules (``hold if irAE >= 2 until irAE <= 1``, ``reduce ... by
    25% if neutropenia >= 3``, ``stop if irAE >= 3``, ``steroids if irAE >= 2``) are applied
    first (:func:`oncotwin.simulation.apply_dose_rules`); a rule stop of every dose is a stop
    with reason ``"toxicity"``; ``rules`` and the regimen's 'until progression' act on top.

    Parameters
    ----------
    progression
        Progression day per patient from the first solve (e.g. read from a trial's scans);
        default: true progression from the model's readouts
        (:func:`oncotwin.models.readouts.true_progression_days`). Used by
        ``rules.stop_on_progression`` and by the regimen's until-progression phases.
    stop_day
        Extra per-patient stop day of every dose (reason ``"duration"``).
    after_stop
        ``after_stop(stop_day, reason)`` may return events for the second solve that follow
        a stop (e.g. crossover to another arm's regimen at progression).
    prepared
        The regimen's events already built for this population (else built here).
    baseline_mm
        Index-lesion diameters at day 0 ``(n, n_sites)`` for true progression (default:
        ``readouts.baseline_diameters(population)``; ``metastatic_io`` needs a
        :class:`~oncotwin.population.VirtualPopulation` for that, or this array).
    """
    rules = rules or DosingRules()
    regimen = parse_regimen(regimen) if isinstance(regimen, str) else regimen
    n = population.n
    ids = np.arange(n) if patient_ids is None else np.asarray(patient_ids)
    if ids.shape != (n,):
        raise OncotwinError(f"patient_ids has shape {ids.shape}; give one id per patient ({n})")
    opts = options or TRIAL_OPTIONS
    t = np.asarray(t_out, dtype=float)
    horizon = float(t[-1]) if horizon is None else float(horizon)
    if prepared is None and regimen is not None:
        prepared = regimen_dose_events(model, regimen, population, horizon)
    if prepared is None:  # untreated
        empty = EventTable.empty(n)
        prepared = DoseEvents(population, empty, np.zeros(0), np.zeros(0, dtype=bool))
    prepared = _class_capped(model, prepared, rules)
    pop = prepared.population
    last = prepared.last_dose_day()  # scheduled: a held dose does not end treatment
    ruled = None
    if regimen is not None and regimen.rules:  # the regimen's own hold/reduce/stop rules
        ruled = apply_dose_rules(
            model, regimen, prepared, t, seed=seed, patient_ids=ids, options=opts,
            readouts=readouts,
        )  # fmt: skip
    if ruled is None:
        sol = solve(model, pop.params, t, events=prepared.events, options=opts)
        rule_stop, rule_steroids = np.full(n, np.inf), None
    else:
        prepared, sol = ruled.prepared, ruled.solution
        rule_stop, rule_steroids = ruled.stop_day, ruled.steroids
    stops = replace(rules, max_days_by_class={}).any  # class caps need no readouts
    if not (stops or prepared.until_progression.any() or stop_day is not None):
        tox = _toxicity_if_known(model, readouts, sol, seed, ids)
        reason = np.where(np.isfinite(rule_stop), "toxicity", "")
        return DosedSolution(sol, pop, rule_stop, reason, tox, last)
    read = readouts or _readouts_for(model, regimen)
    tox = read.toxicity(sol, seed, ids)
    need_prog = rules.stop_on_progression or prepared.until_progression.any()
    prog = np.full(n, np.inf)
    if need_prog:
        prog = np.asarray(
            progression(sol)
            if progression is not None
            else _true_progression(read, sol, population, baseline_mm),
            dtype=float,
        )
    stop, reason = _stops(rules, tox, prog, stop_day)
    course = _steroid_events(model, read.steroid_state, stop, reason)
    by_rule = rule_stop < stop  # the regimen's own stop rules came first
    stop = np.where(by_rule, rule_stop, stop)
    reason = np.where(by_rule, "toxicity", reason).astype(object)
    if not (np.isfinite(stop).any() or np.isfinite(prog).any()):
        return DosedSolution(sol, pop, stop, reason.astype(str), tox, last)
    kept = prepared.kept(stop, prog)
    changed = (prepared.events.active() & ~kept.active()).any(axis=1)
    events = kept
    if rule_steroids is not None:  # already in the first solve: changes no one
        events = events.concat(rule_steroids)
    for extra in (
        course,
        after_stop(stop, reason.astype(str)) if after_stop is not None else None,
    ):
        if extra is not None and extra.n_events:
            events = events.concat(extra)
            changed |= extra.active().any(axis=1)
    sol = _resolve(model, sol, np.nonzero(changed)[0], events, opts)
    if prepared.until_progression.any():  # the regimen's own 'until progression' stopped
        until = prog < stop
        stop = np.where(until, prog, stop)
        reason = np.where(until, "progression", reason)
    later = tox.merged_after_stop(read.toxicity(sol, seed, ids))
    return DosedSolution(sol, pop, stop, reason.astype(str), later, last)


def _class_capped(model: Model, prepared: DoseEvents, rules: DosingRules) -> DoseEvents:
    """``prepared`` without the doses of a capped mechanism class that start more than its
    cap after the patient's first dose of that class (``rules.max_days_by_class``). The
    class's doses are those at its dose target; a class the model does not dose is skipped.
    Known before any solve, so the cap costs no second solve."""
    caps = rules.max_days_by_class
    ev = prepared.events
    if not caps or ev.n_events == 0:
        return prepared
    keep = np.ones(ev.value.shape, dtype=bool)
    for cls, days in caps.items():
        try:
            state = model.state_index(model.dose_target(cls, cls).state)
        except OncotwinError:
            continue
        cols = ev.state == state
        given = ev.active() & cols[None, :]
        first = np.where(given, prepared.origin[None, :], np.inf).min(axis=1)
        late = cols[None, :] & (prepared.origin[None, :] > first[:, None] + days)
        keep &= ~late
    if keep.all():
        return prepared
    return replace(prepared, events=ev.masked(keep))


def _resolve(
    model: Model, sol: Solution, rows: np.ndarray, events: EventTable, opts: SolverOptions
) -> Solution:
    """``sol`` with the patients ``rows`` solved again under ``events``. The others' events
    are unchanged in effect (a zero or masked dose never touches a patient's steps), so their
    first-solve trajectories are what a second solve would give, to the last bit."""
    if rows.size == 0:
        return sol
    part = solve(model, sol.params[rows], sol.t, events=events.take(rows), options=opts)
    merged = {}
    for name in ("y", "status", "nsteps", "method"):
        whole = getattr(sol, name).copy()
        whole[rows] = getattr(part, name)
        merged[name] = whole
    return replace(sol, **merged)


def _toxicity_if_known(
    model: Model, readouts: ClinicalReadouts | None, sol: Solution, seed: int, ids: np.ndarray
) -> Toxicity:
    """Toxicity from the model's readouts, or none for a model without readouts."""
    try:
        read = readouts or clinical_readouts(model)
    except OncotwinError:
        return Toxicity.none(sol.y.shape[0])
    return read.toxicity(sol, seed, ids)


def _readouts_for(model: Model, regimen: Regimen | None) -> ClinicalReadouts:
    try:
        return clinical_readouts(model)
    except OncotwinError as exc:
        raise OncotwinError(
            f"{exc}. Dosing rules (stops at progression or toxicity, or a regimen's 'until "
            f"progression' in {str(regimen)!r}) need them; give a fixed count (xN) instead"
        ) from None


def _true_progression(
    read: ClinicalReadouts, sol: Solution, pop: Population, baseline_mm: np.ndarray | None
) -> np.ndarray:
    try:
        d0 = read.baseline_diameters(pop) if baseline_mm is None else baseline_mm
    except AttributeError:
        raise OncotwinError(
            f"model {sol.model.name!r} reads baseline lesions from patient covariates; "
            "simulate a VirtualPopulation (e.g. VirtualPopulation.for_trial or --cancer) to "
            "stop dosing at progression"
        ) from None
    return true_progression_days(sol.t, read.lesion_diameters(sol, d0), read.new_lesion_days(sol))
