"""Expansion of a :class:`~oncotwin.regimens.grammar.Regimen` into dose events.

Day rules (the same as documented in :mod:`oncotwin.regimens.grammar`):

* Time is in days; day 0 is the first phase's anchor (its first dose, or its day 0 for a
  day-labelled phase such as ``d-5 to d-3``).
* Tracks (joined by ``with``) are expanded independently, each from day 0 by the rules below,
  and merged into one schedule sorted by time (ties: track, then phase, then drug order).
* Day labels: ``dN`` with N >= 1 is clinical day N = time N - 1 (day 1 is the first day);
  ``dN`` with N <= 0 is time N (pre-conditioning before a cell infusion on day 0).
* Within a phase with an interval: doses at anchor + k * interval, k = 0 .. count - 1 (to the
  horizon when there is no count). With ``N cycles G days apart`` cycle c + 1 starts G days
  after cycle c's last dose. ``weekdays``: dose k (0-based) is on day 7 * (k // 5) + k % 5 of
  the phase (the anchor is taken as a Monday; Saturdays and Sundays are skipped).
* Radiotherapy written with a count and no interval (``8 Gy x3``) gives daily fractions on
  consecutive days, weekends included.
* The next phase's anchor (unless it says ``starting dN`` or ``after N weeks``):
  after an interval phase: its last dose + its interval; after a ``once`` phase: its dose +
  the next phase's interval (1 day if the next phase has none); after a day-labelled phase whose
  days are all < 0: that phase's day 0 (the CAR-T convention); after any other day-labelled
  phase: its last dose + the next phase's interval (or 1 day).
* ``starting dN`` puts the phase's anchor on regimen day N (same label rule);
  ``after N weeks`` puts it N weeks after the previous phase's last dose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from oncotwin.errors import RegimenError, UnitError
from oncotwin.regimens._names import (
    MAX_DOSE_EVENTS,
    MAX_HORIZON_DAYS,
    MAX_HORIZON_YEARS,
)
from oncotwin.regimens._objects import Administration
from oncotwin.units import calvert_dose_mg

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.regimens._objects import Concurrent, Phase, Regimen

__all__ = ["DoseSchedule", "day_label_to_time", "expand_regimen"]

_EPS = 1e-9


def day_label_to_time(label: int) -> float:
    """Clinical day label -> time [day]: dN (N >= 1) -> N - 1, dN (N <= 0) -> N."""
    return float(label - 1 if label >= 1 else label)


@dataclass(frozen=True, eq=False)
class DoseSchedule:
    """Dose events of a regimen, one row per event, sorted by time (then track, phase, drug
    order).

    Attributes are read-only numpy arrays of equal length: ``time`` [day], ``drug``,
    ``amount`` (canonical unit per ``basis``: mg, cells, IU, PFU, or Gy per radiotherapy
    fraction; per kg or per m² for weight/BSA-based doses), ``basis`` ('flat' | 'per_kg' |
    'per_m2'), ``kind`` ('mass' | 'cells' | 'IU' | 'PFU' | 'Gy'), ``duration`` [day] (0 for a
    bolus), ``route``, ``phase`` (0-based index into ``regimen.phases``, i.e. counted over all
    tracks), ``cycle`` (0-based), ``dose_number`` (1-based, per drug and site: radiotherapy
    fractions are numbered per site), ``until_progression`` (the event belongs to a phase
    that repeats until progression; a trial layer may stop such events at progression),
    ``site`` (the radiotherapy site, '' for drugs), ``track`` (0-based track of the
    regimen, the parts joined by ``with``) and ``group`` (0-based scheduled group within
    the phase: the items joined by ``+`` that carry their own schedule; 0 for a phase with
    one schedule), ``max_amount`` (the dose cap in mg, ``(max 2 mg)``; NaN for none).
    ``basis`` 'auc' is a target AUC [mg·min/mL] (Calvert dosing: mg from each
    patient's creatinine clearance). A continuous infusion at a rate is one event per cycle
    whose ``amount`` is rate x days and ``duration`` those days.
    """

    time: np.ndarray
    drug: np.ndarray
    amount: np.ndarray
    basis: np.ndarray
    kind: np.ndarray
    duration: np.ndarray
    route: np.ndarray
    phase: np.ndarray
    cycle: np.ndarray
    dose_number: np.ndarray
    until_progression: np.ndarray
    site: np.ndarray
    track: np.ndarray
    group: np.ndarray
    max_amount: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in self.__dataclass_fields__:
            arr = getattr(self, name)
            if len(arr) != n:
                raise RegimenError(f"DoseSchedule.{name} has {len(arr)} rows, time has {n}")
            arr.setflags(write=False)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def amounts(
        self,
        weight_kg: np.ndarray,
        bsa_m2: np.ndarray,
        crcl_ml_min: np.ndarray | None = None,
    ) -> np.ndarray:
        """Absolute amounts, shape (n_patients, n_events): flat, x weight, x BSA, or for a
        target AUC Calvert's dose AUC x (min(CrCl, 125) + 25) mg from each patient's
        creatinine clearance ``crcl_ml_min`` [mL/min] (needed only when the schedule has an
        AUC dose)."""
        w = np.atleast_1d(np.asarray(weight_kg, dtype=np.float64))
        b = np.atleast_1d(np.asarray(bsa_m2, dtype=np.float64))
        if w.ndim != 1 or b.ndim != 1 or w.shape != b.shape:
            raise RegimenError(
                f"amounts: weight_kg and bsa_m2 must be 1-D arrays of equal length, got shapes "
                f"{w.shape} and {b.shape}"
            )
        per_kg = (self.basis == "per_kg")[None, :]
        per_m2 = (self.basis == "per_m2")[None, :]
        scale = np.where(per_kg, w[:, None], np.where(per_m2, b[:, None], 1.0))
        auc = self.basis == "auc"
        if auc.any():
            drugs = ", ".join(sorted(set(self.drug[auc].tolist())))
            if crcl_ml_min is None:
                raise RegimenError(
                    f"amounts: {drugs} is dosed by AUC (Calvert: dose = AUC x (CrCl + 25)), "
                    "which needs each patient's creatinine clearance; give crcl_ml_min (a "
                    "population's crcl_ml_min, from a cancer or trial population with renal "
                    "covariates), or dose it in mg/m2 instead"
                )
            c = np.atleast_1d(np.asarray(crcl_ml_min, dtype=np.float64))
            if c.shape != w.shape:
                raise RegimenError(
                    f"amounts: crcl_ml_min has shape {c.shape}, weight_kg {w.shape}; give one "
                    "creatinine clearance per patient"
                )
            try:
                calvert = calvert_dose_mg(1.0, c)
            except UnitError as exc:
                raise RegimenError(f"amounts: {exc}") from None
            scale = np.where(auc[None, :], calvert[:, None], scale)
        out = scale * self.amount[None, :]
        capped = np.isfinite(self.max_amount)
        if capped.any():
            out = np.where(capped[None, :], np.minimum(out, self.max_amount[None, :]), out)
        return out

    def for_drug(self, name: str) -> DoseSchedule:
        """The events of one drug (name or alias)."""
        from oncotwin.pharmacology import get_drug

        mask = self.drug == get_drug(name).name
        return self._subset(mask)

    def for_site(self, site: str) -> DoseSchedule:
        """The radiotherapy fractions given to one site (any spelling ``canonical_site`` takes)."""
        from oncotwin.regimens.grammar import canonical_site

        return self._subset(self.site == canonical_site(site))

    def _subset(self, mask: np.ndarray) -> DoseSchedule:
        return DoseSchedule(**{k: getattr(self, k)[mask].copy() for k in self.__dataclass_fields__})


def _offsets(ph: Phase, n: int, k0: int = 0) -> list[float]:
    """Time of doses k0 .. n - 1 of an interval phase relative to its anchor [day]."""
    iv = float(ph.interval_days or 0.0)
    if ph.weekdays:
        return [7.0 * (k // 5) + (k % 5) * iv for k in range(k0, n)]
    return [k * iv for k in range(k0, n)]


def _within(ph: Phase, room: float) -> int:
    """How many doses of one cycle of an interval phase can fall ``room`` days after its
    start (an upper bound, never below the true number; the horizon filter drops extras)."""
    if not room >= -1.0:  # also NaN
        return 0
    iv = float(ph.interval_days or 1.0)
    # a dose k lies at >= k * iv (weekdays: >= k days), so k <= room / iv (+ margin)
    step = 1.0 if ph.weekdays else iv
    return math.floor(min((room + 1e-6) / step, float(MAX_DOSE_EVENTS + 2))) + 2


def _day_offsets(ph: Phase) -> list[float]:
    """Times of one cycle's doses relative to its start [day] for a phase with days."""
    days = ph.day_list() or ()
    n = ph.doses_per_day
    return sorted(day_label_to_time(d) + j / n for d in days for j in range(n))


def _local_times(
    ph: Phase, anchor: float, horizon: float, limit: float | None = None
) -> tuple[list[tuple[float, int]], float, float | None]:
    """(time relative to the anchor, cycle) of each dose of one phase that can fall within
    the horizon, the time of the phase's last dose relative to the anchor (the next phase's
    start depends on it, also when it falls after the horizon) and, for a phase with an
    interval, its end relative to the anchor (one interval after its last dose; after the
    last cycle for days within cycles), else None. ``limit`` (absolute) stops an open-ended
    phase: its doses (or cycles) start before it."""
    if ph.once:
        return [(0.0, 0)], 0.0, None
    stop = horizon if limit is None else min(horizon, limit - 1e-6)
    if ph.cycle_days is not None and ph.interval_days is not None:
        iv = ph.interval_days
        offs = _day_offsets(ph)
        reach = math.floor((stop - anchor) / iv + _EPS) + 1 if stop - anchor >= 0 else 0
        n_cyc = reach if ph.count is None else ph.count
        n_iter = min(n_cyc, reach)
        _check_events(ph, n_iter * len(offs), horizon)
        out = [(c * iv + o, c) for c in range(n_iter) for o in offs]
        if n_cyc == 0:
            return out, 0.0, 0.0
        return out, (n_cyc - 1) * iv + offs[-1], n_cyc * iv
    if ph.days is not None or ph.cycle_days is not None:
        out = [(t, 0) for t in _day_offsets(ph)]
        return out, max(t for t, _ in out), None
    if ph.interval_days is None:  # pragma: no cover - Phase guarantees one schedule form
        raise RegimenError(f"phase {ph}: no interval, 'once' or days to expand")
    if ph.count is None:
        if not stop - anchor >= 0:  # the phase starts after the horizon (or never)
            return [], 0.0, None
        if ph.weekdays:
            d = math.floor(stop - anchor + _EPS)
            n = 0 if d < 0 else 5 * (d // 7) + min(d % 7 + 1, 5)
        else:
            n = max(0, math.floor((stop - anchor) / ph.interval_days + _EPS) + 1)
        _check_events(ph, n, horizon)
        local = [(t, 0) for t in _offsets(ph, n)]
        last = max((t for t, _ in local), default=0.0)
        return local, last, last + ph.interval_days
    span = _offsets(ph, ph.count, ph.count - 1)[0]
    period = span + ph.cycle_gap_days
    out: list[tuple[float, int]] = []
    for c in range(ph.cycles):
        base = c * period
        room = horizon - anchor - base
        if room < -1.0 and period > 0:
            break  # this cycle and every later one start after the horizon
        n = min(ph.count, _within(ph, room))
        _check_events(ph, len(out) + n, horizon)
        out.extend((base + t, c) for t in _offsets(ph, n))
    last = (ph.cycles - 1) * period + span
    return out, last, last + ph.interval_days


def _check_events(ph: Phase, n: int, horizon: float) -> None:
    """Refuse a phase whose doses within the horizon would exceed :data:`MAX_DOSE_EVENTS`."""
    rows = n * len(ph.administrations)
    if rows > MAX_DOSE_EVENTS:
        raise RegimenError(
            f"schedule: phase '{ph}' gives about {rows} dose events within "
            f"{horizon:g} days, above the limit of {MAX_DOSE_EVENTS}; give the phase a "
            "count (x35), a longer interval or a shorter horizon"
        )


class _Row(NamedTuple):
    time: float
    track: int
    phase: int
    group: int
    item: int
    cycle: int
    adm: Administration
    until: bool
    amount: float
    duration: float


def expand_regimen(regimen: Regimen, horizon_days: float) -> DoseSchedule:
    """Expand ``regimen`` into the dose events up to ``horizon_days`` (inclusive)."""
    try:
        horizon = float(horizon_days)
    except (TypeError, ValueError, OverflowError):
        horizon = math.nan
    if math.isnan(horizon) or math.isinf(horizon) or horizon < 0:
        raise RegimenError(f"horizon_days={horizon_days!r}; give a finite number of days >= 0")
    if horizon > MAX_HORIZON_DAYS:
        raise RegimenError(
            f"horizon_days={horizon:g} is above the limit of {MAX_HORIZON_DAYS:g} days "
            f"({MAX_HORIZON_YEARS} years); give a shorter horizon"
        )
    rows: list[_Row] = []
    first = 0  # index of the track's first phase in regimen.phases
    for k, track in enumerate(regimen.tracks):
        rows += _track_rows(track.phases, k, first, horizon)
        first += len(track.phases)
        rows = [r for r in rows if r.time <= horizon + _EPS]
        if len(rows) > MAX_DOSE_EVENTS:
            raise RegimenError(
                f"schedule: {len(rows)} dose events within {horizon:g} days, above the limit "
                f"of {MAX_DOSE_EVENTS}; give the regimen fewer doses or a shorter horizon"
            )
    rows.sort(key=lambda r: (r.time, r.track, r.phase, r.group, r.item))
    counter: dict[tuple[str, str], int] = {}
    numbers = []
    for r in rows:
        key = (r.adm.drug, r.adm.site or "")
        counter[key] = counter.get(key, 0) + 1
        numbers.append(counter[key])
    adms = [r.adm for r in rows]
    return DoseSchedule(
        time=np.array([r.time for r in rows], dtype=np.float64),
        drug=np.array([a.drug for a in adms], dtype=str),
        amount=np.array([r.amount for r in rows], dtype=np.float64),
        basis=np.array([a.dose.basis for a in adms], dtype=str),
        kind=np.array([a.dose.kind for a in adms], dtype=str),
        duration=np.array([r.duration for r in rows], dtype=np.float64),
        route=np.array([a.route for a in adms], dtype=str),
        phase=np.array([r.phase for r in rows], dtype=np.int64),
        cycle=np.array([r.cycle for r in rows], dtype=np.int64),
        dose_number=np.array(numbers, dtype=np.int64),
        until_progression=np.array([r.until for r in rows], dtype=bool),
        site=np.array([a.site or "" for a in adms], dtype=str),
        track=np.array([r.track for r in rows], dtype=np.int64),
        group=np.array([r.group for r in rows], dtype=np.int64),
        max_amount=np.array(
            [np.nan if a.dose.max_mg is None else a.dose.max_mg for a in adms], dtype=np.float64
        ),
    )


def _group_end(g: Phase, anchor: float, last: float, end: float | None, nxt) -> float:
    """When the phase after a group's phase starts (by the day rules), absolute [day]."""
    if end is not None:
        return anchor + end
    if g.days is not None and g.days[1] < 0:
        return anchor  # pre-conditioning days before day 0: the next phase is on day 0
    step = nxt.interval_days if nxt is not None and nxt.interval_days is not None else 1.0
    return anchor + last + step


def _group_rows(
    g: Phase, local: list[tuple[float, int]], anchor: float, where: tuple[int, int, int]
) -> list[_Row]:
    """Rows of one scheduled group: a dose per listed time and administration; a continuous
    infusion (a rate per day) once per cycle, over the cycle's days."""
    track, phase, group = where
    rows: list[_Row] = []
    n_days = len(g.day_list() or ())
    started: set[int] = set()
    loaded: set[int] = set()  # items whose loading dose (their group's first) was given
    for t_local, cycle in local:
        t = anchor + t_local
        first_of_cycle = cycle not in started
        started.add(cycle)
        for j, adm in enumerate(g.administrations):
            if adm.continuous:
                if first_of_cycle:
                    rows.append(
                        _Row(t, track, phase, group, j, cycle, adm, g.until_progression,
                             adm.dose.value * n_days, float(n_days))
                    )  # fmt: skip
                continue
            value = adm.dose.value
            if adm.dose.loading is not None and j not in loaded:
                value = adm.dose.loading
                loaded.add(j)
            rows.append(
                _Row(t, track, phase, group, j, cycle, adm, g.until_progression,
                     value, adm.duration_days)
            )  # fmt: skip
    return rows


def _track_rows(
    phases: tuple[Phase | Concurrent, ...], track: int, first: int, horizon: float
) -> list[_Row]:
    """The rows of one track (its phases one after another, each block's groups side by
    side)."""
    rows: list[_Row] = []
    next_anchor = 0.0  # where the next phase starts by default
    prev_last: float | None = None  # the previous phase's last dose (absolute)
    for i, ph in enumerate(phases):
        if ph.start_day is not None:
            anchor = day_label_to_time(ph.start_day)
        elif ph.delay_days is not None:
            anchor = (prev_last if prev_last is not None else 0.0) + ph.delay_days
        else:
            anchor = next_anchor
        nxt = phases[i + 1] if i + 1 < len(phases) else None
        groups = ph.groups
        done: dict[int, tuple[list[tuple[float, int]], float]] = {}
        ends: list[float] = []
        for j, g in enumerate(groups):
            if not g.open_ended:
                local, last, end = _local_times(g, anchor, horizon)
                done[j] = (local, last)
                ends.append(_group_end(g, anchor, last, end, nxt))
        # an open-ended group beside counted ones stops where they end if a phase follows
        limit = max(ends) if ends and nxt is not None else None
        for j, g in enumerate(groups):
            if g.open_ended:
                local, last, end = _local_times(g, anchor, horizon, limit)
                done[j] = (local, last)
                if not ends:
                    ends.append(anchor + last + (g.interval_days or 0.0))
        for j, g in enumerate(groups):
            if g.administrations:  # a placebo-only group gives no dose
                rows += _group_rows(g, done[j][0], anchor, (track, first + i, j))
            if len(rows) > MAX_DOSE_EVENTS:
                raise RegimenError(
                    f"schedule: {len(rows)} or more dose events (before the horizon cut), "
                    f"above the limit of {MAX_DOSE_EVENTS}; give the regimen fewer doses"
                )
        next_anchor = max(ends)
        prev_last = anchor + max(last for _, last in done.values())
    return rows
