"""Regimen -> a population's dose events (and each event's dose day and stop class)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from oncotwin.errors import OncotwinError, RegimenError
from oncotwin.pharmacology import get_drug
from oncotwin.pharmacology.catalog import SUPPORTIVE
from oncotwin.solvers import BOLUS, INFUSION_RATE, EventTable

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.population import Population
    from oncotwin.regimens import Regimen

__all__ = ["DoseEvents", "prepare_regimen", "regimen_dose_events", "regimen_events"]


@dataclass(frozen=True, eq=False)
class DoseEvents:
    """A regimen's events for one population, with what dosing rules need to stop them.

    ``origin`` is each event's dose start day (an infusion's stop step keeps its start day,
    so a stopped infusion is never left running); ``until_progression`` flags the events of
    phases that repeat until progression; ``drug`` and ``track`` name each event's drug and
    regimen track (``""`` and -1 for events a regimen adapter makes, e.g. radiotherapy), which
    the regimen's dosing rules act on (``None``: not known).
    """

    population: Population
    events: EventTable
    origin: np.ndarray
    until_progression: np.ndarray
    drug: np.ndarray | None = None
    track: np.ndarray | None = None

    def kept(self, stop_all: np.ndarray, progression: np.ndarray) -> EventTable:
        """The events left when each patient's doses stop after ``stop_all`` (every event)
        and after ``progression`` (the until-progression events)."""
        keep = self.origin[None, :] <= stop_all[:, None]
        keep &= ~self.until_progression[None, :] | (self.origin[None, :] <= progression[:, None])
        return self.events.masked(keep)

    def last_dose_day(self) -> np.ndarray:
        """Each patient's last dose start day among the events that dose them (0 for a
        patient without any)."""
        if self.events.n_events == 0:
            return np.zeros(self.population.n)
        given = self.events.active()
        last = np.where(given, self.origin[None, :], -np.inf).max(axis=1)
        return np.where(np.isfinite(last), last, 0.0)


def _plain_events(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> tuple[EventTable, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Events at the model's dose targets, their dose start days, until-progression flags,
    drugs and tracks."""
    sched = regimen.schedule(horizon)
    adapter = model.regimen_adapter
    handled = adapter.handles if adapter is not None else frozenset()
    none = (
        EventTable.empty(population.n),
        np.zeros(0),
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=str),
        np.zeros(0, dtype=np.int64),
    )
    if len(sched) == 0:
        return none
    amounts = sched.amounts(population.weight_kg, population.bsa_m2, population.crcl_ml_min)
    times, states, kinds, cols, origin, until, names, tracks = [], [], [], [], [], [], [], []
    for j in range(len(sched)):
        drug = get_drug(str(sched.drug[j]))
        if drug.name in handled or drug.mechanism in handled:
            continue
        if drug.mechanism == SUPPORTIVE:
            continue  # given with the regimen (e.g. mesna), but no model effect of its own
        try:
            target = model.dose_target(drug.name, drug.mechanism)
        except OncotwinError as exc:
            raise RegimenError(
                f"{exc}. Regimen drug {drug.name!r} ({drug.mechanism}) cannot be given to model "
                f"{model.name!r}; use a model with a target for it (see `oncotwin models`)"
            ) from None
        s = model.state_index(target.state)
        amt = amounts[:, j] * target.scale
        dur, t, up = (
            float(sched.duration[j]),
            float(sched.time[j]),
            bool(sched.until_progression[j]),
        )
        if dur > 0:
            times += [t, t + dur]
            states += [s, s]
            kinds += [INFUSION_RATE, INFUSION_RATE]
            cols += [amt / dur, -amt / dur]
            origin += [t, t]
            until += [up, up]
            names += [drug.name, drug.name]
            tracks += [int(sched.track[j])] * 2
        else:
            times.append(t)
            states.append(s)
            kinds.append(BOLUS)
            cols.append(amt)
            origin.append(t)
            until.append(up)
            names.append(drug.name)
            tracks.append(int(sched.track[j]))
    if not times:
        return none
    t_arr = np.array(times)
    order = np.argsort(t_arr, kind="stable")
    table = EventTable.build(t_arr, np.array(states), np.array(kinds), np.column_stack(cols))
    return (
        table,
        np.array(origin)[order],
        np.array(until, dtype=bool)[order],
        np.array(names, dtype=str)[order],
        np.array(tracks, dtype=np.int64)[order],
    )


def regimen_dose_events(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> DoseEvents:
    """The population's parameters adjusted for ``regimen`` and all its events.

    Plain models take doses at their dose targets; a model with a regimen adapter (e.g.
    ``metastatic_io``) also sets regimen-dependent parameters (the PK constants of the
    antibody dosed, whether the tumour expresses the drug's target) and makes the events
    dose targets cannot express (radiotherapy fractions on a named site, which start when
    they happen and never repeat until progression).
    """
    events, origin, until, drug, track = _plain_events(model, regimen, population, horizon)
    adapter = model.regimen_adapter
    if adapter is None:
        return DoseEvents(population, events, origin, until, drug, track)
    params, extra = adapter.prepare(model, regimen, population.params, horizon)
    pop = replace(population, params=model.check_parameters(params))
    if extra is not None and extra.n_events:
        # merged in the order EventTable.build sorts (stable by time)
        order = np.argsort(np.concatenate([events.time, extra.time]), kind="stable")
        origin = np.concatenate([origin, extra.time])[order]
        until = np.concatenate([until, np.zeros(extra.n_events, dtype=bool)])[order]
        drug = np.concatenate([drug, np.full(extra.n_events, "", dtype=str)])[order]
        track = np.concatenate([track, np.full(extra.n_events, -1, dtype=np.int64)])[order]
        events = extra if events.n_events == 0 else events.concat(extra)
    return DoseEvents(pop, events, origin, until, drug, track)


def regimen_events(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> EventTable:
    """Dose events of ``regimen`` for every patient of ``population`` in ``model``'s units.

    Each drug enters the model at the dose target registered for the drug's name or, failing
    that, for its mechanism class (e.g. ``"anti-PD-1"``). Weight- and BSA-based doses use each
    patient's own body size. An infusion (duration > 0) becomes a zero-order input: a rate
    step up at its start and down at its end.
    """
    return _plain_events(model, regimen, population, horizon)[0]


def prepare_regimen(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> tuple[Population, EventTable]:
    """The population's parameters adjusted for ``regimen`` and all its events
    (:func:`regimen_dose_events` without the stop bookkeeping)."""
    d = regimen_dose_events(model, regimen, population, horizon)
    return d.population, d.events
