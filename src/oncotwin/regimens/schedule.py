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
from typing import TYPE_CHECKING

import numpy as np

from oncotwin.errors import RegimenError
from oncotwin.regimens._names import (
    MAX_DOSE_EVENTS,
    MAX_HORIZON_DAYS,
    MAX_HORIZON_YEARS,
)

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.regimens.grammar import Phase, Regimen

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
    ``site`` (the radiotherapy site, '' for drugs) and ``track`` (0-based track of the
    regimen).
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

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in self.__dataclass_fields__:
            arr = getattr(self, name)
            if len(arr) != n:
                raise RegimenError(f"DoseSchedule.{name} has {len(arr)} rows, time has {n}")
            arr.setflags(write=False)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def amounts(self, weight_kg: np.ndarray, bsa_m2: np.ndarray) -> np.ndarray:
        """Absolute amounts, shape (n_patients, n_events): flat, x weight or x BSA."""
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
        return scale * self.amount[None, :]

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


def _local_times(ph: Phase, anchor: float, horizon: float) -> tuple[list[tuple[float, int]], float]:
    """(time relative to the anchor, cycle) of each dose of one phase that can fall within
    the horizon, and the time of the phase's last dose relative to the anchor (the next
    phase's start depends on it, also when it falls after the horizon)."""
    if ph.once:
        return [(0.0, 0)], 0.0
    if ph.days is not None:
        lo, hi = ph.days
        out = [(day_label_to_time(d), 0) for d in range(lo, hi + 1)]
        return out, max(t for t, _ in out)
    if ph.interval_days is None:  # pragma: no cover - Phase guarantees one schedule form
        raise RegimenError(f"phase {ph}: no interval, 'once' or days to expand")
    if ph.count is None:
        if not horizon - anchor >= 0:  # the phase starts after the horizon (or never)
            return [], 0.0
        if ph.weekdays:
            d = math.floor(horizon - anchor + _EPS)
            n = 0 if d < 0 else 5 * (d // 7) + min(d % 7 + 1, 5)
        else:
            n = max(0, math.floor((horizon - anchor) / ph.interval_days + _EPS) + 1)
        _check_events(ph, n, horizon)
        local = [(t, 0) for t in _offsets(ph, n)]
        return local, max((t for t, _ in local), default=0.0)
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
    return out, (ph.cycles - 1) * period + span


def _check_events(ph: Phase, n: int, horizon: float) -> None:
    """Refuse a phase whose doses within the horizon would exceed :data:`MAX_DOSE_EVENTS`."""
    rows = n * len(ph.administrations)
    if rows > MAX_DOSE_EVENTS:
        raise RegimenError(
            f"schedule: phase '{ph}' gives about {rows} dose events within "
            f"{horizon:g} days, above the limit of {MAX_DOSE_EVENTS}; give the phase a "
            "count (x35), a longer interval or a shorter horizon"
        )


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
    rows: list[tuple] = []
    first = 0  # index of the track's first phase in regimen.phases
    for k, track in enumerate(regimen.tracks):
        rows += _track_rows(track.phases, k, first, horizon)
        first += len(track.phases)
        rows = [r for r in rows if r[0] <= horizon + _EPS]
        if len(rows) > MAX_DOSE_EVENTS:
            raise RegimenError(
                f"schedule: {len(rows)} dose events within {horizon:g} days, above the limit "
                f"of {MAX_DOSE_EVENTS}; give the regimen fewer doses or a shorter horizon"
            )
    rows.sort(key=lambda r: (r[0], r[6], r[1], r[2]))
    counter: dict[tuple[str, str], int] = {}
    numbers = []
    for r in rows:
        key = (r[4].drug, r[4].site or "")
        counter[key] = counter.get(key, 0) + 1
        numbers.append(counter[key])
    adms = [r[4] for r in rows]
    return DoseSchedule(
        time=np.array([r[0] for r in rows], dtype=np.float64),
        drug=np.array([a.drug for a in adms], dtype=str),
        amount=np.array([a.dose.value for a in adms], dtype=np.float64),
        basis=np.array([a.dose.basis for a in adms], dtype=str),
        kind=np.array([a.dose.kind for a in adms], dtype=str),
        duration=np.array([a.duration_days for a in adms], dtype=np.float64),
        route=np.array([a.route for a in adms], dtype=str),
        phase=np.array([r[1] for r in rows], dtype=np.int64),
        cycle=np.array([r[3] for r in rows], dtype=np.int64),
        dose_number=np.array(numbers, dtype=np.int64),
        until_progression=np.array([r[5] for r in rows], dtype=bool),
        site=np.array([a.site or "" for a in adms], dtype=str),
        track=np.array([r[6] for r in rows], dtype=np.int64),
    )


def _track_rows(phases: tuple[Phase, ...], track: int, first: int, horizon: float) -> list[tuple]:
    """(time, phase, item, cycle, administration, until_progression, track) of one track."""
    rows: list[tuple] = []
    prev: Phase | None = None
    prev_anchor = 0.0
    prev_last = 0.0
    for i, ph in enumerate(phases):
        if ph.start_day is not None:
            anchor = day_label_to_time(ph.start_day)
        elif ph.delay_days is not None:
            anchor = (prev_last if prev is not None else 0.0) + ph.delay_days
        elif prev is None:
            anchor = 0.0
        elif prev.interval_days is not None:
            anchor = prev_last + prev.interval_days
        elif prev.days is not None and prev.days[1] < 0:
            anchor = prev_anchor
        else:
            anchor = prev_last + (ph.interval_days if ph.interval_days is not None else 1.0)
        local, last = _local_times(ph, anchor, horizon)
        for t_local, cycle in local:
            t = anchor + t_local
            for j, adm in enumerate(ph.administrations):
                rows.append((t, first + i, j, cycle, adm, ph.until_progression, track))
        if len(rows) > MAX_DOSE_EVENTS:
            raise RegimenError(
                f"schedule: {len(rows)} or more dose events (before the horizon cut), above "
                f"the limit of {MAX_DOSE_EVENTS}; give the regimen fewer doses"
            )
        prev, prev_anchor = ph, anchor
        prev_last = anchor + last
    return rows
