"""The typed regimen objects: Administration, Phase, Track, Regimen (``str`` is grammar text)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oncotwin.errors import RegimenError, UnknownNameError
from oncotwin.pharmacology import get_drug
from oncotwin.regimens._dose_rules import DoseRule, check_rules, stop_after_mask
from oncotwin.regimens._names import (
    _DOSE_UNIT_HINT,
    _ROUTES,
    EXAMPLES,
    MAX_COUNT,
    SITES,
    RegimenUnitError,
    UnknownDrugError,
    _big,
    _canon,
    _check_day_label,
    _check_days,
    _count_message,
    _drug_site_message,
    _is_whole,
    _site_text,
    canonical_site,
)
from oncotwin.units import DoseAmount, format_number

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.regimens.schedule import DoseSchedule


# ------------------------------------------------------------------------------------------
# objects
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Administration:
    """One drug given at one dose by one route; ``duration_days`` 0 is a bolus.

    Radiotherapy is an administration too: ``dose`` in Gy per fraction, ``route`` external
    beam (filled in when None) and ``site`` one of :data:`SITES` (required; any spelling that
    :func:`canonical_site` accepts). A drug must have no site.

    Examples
    --------
    >>> Administration("rt", DoseAmount(8, "Gy"), site="lungs")  # doctest: +NORMALIZE_WHITESPACE
    Administration(drug='radiotherapy', dose=DoseAmount(value=8.0, kind='Gy', basis='flat'),
                   route='external beam', duration_days=0.0, site='lung')
    """

    drug: str
    dose: DoseAmount
    route: str | None = None
    duration_days: float = 0.0
    site: str | None = None

    def __post_init__(self) -> None:
        try:
            d = get_drug(self.drug)
        except UnknownNameError as exc:
            raise UnknownDrugError(str(exc)) from None
        object.__setattr__(self, "drug", d.name)
        radiation = d.modality == "radiation"
        if self.dose.kind != d.dose_kind:
            example = d.approved_doses[0] if d.approved_doses else ""
            if radiation:
                raise RegimenUnitError(
                    f"dose: {d.name} is dosed in Gy per fraction (Gy or cGy), not "
                    f"{self.dose.unit}; e.g. {example}"
                )
            unit = _DOSE_UNIT_HINT.get(d.dose_kind, d.dose_kind)
            raise RegimenUnitError(
                f"dose: {d.name} is dosed in {d.dose_kind} ({unit}, {unit}/kg or {unit}/m2), "
                f"not {self.dose.unit}; e.g. {example}"
            )
        if self.dose.basis == "auc" and not d.auc_dosing:
            from oncotwin.pharmacology import all_drugs

            auc = [n for n, x in all_drugs().items() if x.auc_dosing]
            unit = _DOSE_UNIT_HINT.get(d.dose_kind, d.dose_kind)
            example = d.approved_doses[0] if d.approved_doses else f"{d.name} 75 {unit}/m2"
            raise RegimenUnitError(
                f"dose: {d.name} is not dosed by AUC; give {unit}/m2, {unit}/kg or {unit} "
                f"(e.g. {example}); AUC (Calvert) dosing is for {', '.join(auc) or 'no drug'}"
            )
        if self.route is None:
            if not radiation:
                raise RegimenError(
                    f"route: missing for {d.name}; give one of {', '.join(d.routes)}"
                )
            object.__setattr__(self, "route", d.routes[0])
        route = _ROUTES.get(re.sub(r"\s+", " ", str(self.route).lower().strip()))
        if route is None:
            raise RegimenError(
                f"route: {self.route!r} is not a route; use one of IV, SC, IM, PO, "
                "intralesional, external beam"
            )
        if route not in d.routes:
            raise RegimenError(
                f"route: {d.name} is not given {route}; allowed route(s): {', '.join(d.routes)}"
            )
        object.__setattr__(self, "route", route)
        dur = float(self.duration_days)
        if math.isnan(dur) or math.isinf(dur) or dur < 0:
            raise RegimenUnitError(
                f"infusion duration: {self.duration_days!r} days; give a finite duration >= 0"
            )
        if radiation and dur > 0:
            raise RegimenUnitError(
                f"infusion duration: {_duration_text(dur)} for {d.name}; a radiotherapy "
                "fraction is an instantaneous dose, so remove the infusion ('over ...')"
            )
        object.__setattr__(self, "duration_days", _canon(dur))
        if self.dose.per_day:
            if route not in ("IV", "SC"):
                raise RegimenUnitError(
                    f"dose: {self.dose} is the rate of a continuous infusion, which is given IV "
                    f"or SC, not {route}; for a daily oral dose write e.g. "
                    f"'{d.name} {format_number(self.dose.value)} {self.dose.unit[:-4]} {route} qd'"
                )
            if dur > 0:
                raise RegimenUnitError(
                    f"infusion duration: {_duration_text(dur)} for {d.name} at {self.dose}; a "
                    "continuous infusion runs over its days (e.g. 'continuous d1-4'), so remove "
                    "the 'over ...' (or give the total dose: '4000 mg/m2 IV over 96 h')"
                )
        if radiation:
            if self.site is None:
                raise RegimenError(
                    f"site: {d.name} needs the site it is given to; add 'to SITE' with SITE one "
                    f"of {', '.join(_site_text(s) for s in SITES)}, e.g. 'radiotherapy 8 Gy x3 "
                    "to lung'"
                )
            object.__setattr__(self, "site", canonical_site(self.site))
        elif self.site is not None:
            raise RegimenError(_drug_site_message(d.name, str(self.site)))

    @property
    def is_radiotherapy(self) -> bool:
        """True for a radiotherapy item (dose in Gy to a site)."""
        return self.site is not None

    @property
    def continuous(self) -> bool:
        """True for a continuous infusion at a rate (a dose per day, e.g. ``28 ug/day``)."""
        return self.dose.per_day

    def delivery(self) -> str:
        """The route and infusion text, e.g. ``'IV over 2 h'`` or ``'IV continuous'``."""
        return (
            f"{self.route}"
            + _infusion_text(self.duration_days)
            + (" continuous" if self.continuous else "")
        )

    def text(self, *, with_route: bool = True, with_site: bool = True) -> str:
        """Canonical text: ``drug dose [route [infusion]]`` or ``radiotherapy dose [to site]``."""
        out = f"{self.drug} {self.dose}"
        if self.site is not None:
            return out + (f" to {_site_text(self.site)}" if with_site else "")
        if with_route:
            out += f" {self.delivery()}"
        return out


def _duration_text(days: float) -> str:
    minutes = days * 1440.0
    if abs(minutes - round(minutes)) < 1e-6 and round(minutes) < 60:
        return f"{round(minutes)} min"
    hours = days * 24.0
    if abs(hours * 60 - round(hours * 60)) < 1e-6 and hours < 24:
        return f"{format_number(_canon(hours))} h"
    if abs(days - round(days)) > 1e-9 and abs(hours - round(hours)) < 1e-6:
        return f"{round(hours)} h"  # a 46-h infusion, not 1.91666666667 day
    return f"{format_number(days)} day"


def _infusion_text(days: float) -> str:
    return f" over {_duration_text(days)}" if days > 0 else ""


_EPS_DAY = 1e-9


def _days_text(days: tuple[int, ...]) -> str:
    """``(1, 2, 3, 8)`` -> ``'d1-3,8'`` (runs of consecutive days as ranges)."""
    parts: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        parts.append(str(days[i]) if i == j else f"{days[i]}-{days[j]}")
        i = j + 1
    return "d" + ",".join(parts)


def _interval_text(days: float) -> str:
    weeks = days / 7.0
    if days >= 7 and abs(weeks - round(weeks)) < 1e-9:
        return f"q{round(weeks)}w"
    if days == 1.0:
        return "qd"
    if days == 0.5:
        return "bid"
    hours = days * 24.0
    if days < 1 and abs(hours - round(hours)) < 1e-6:
        return f"q{round(hours)}h"
    if abs(days - round(days)) < 1e-9:
        return f"q{round(days)}d"
    return f"q{format_number(_canon(hours))}h"


@dataclass(frozen=True)
class Phase:
    """Co-administered drugs and their schedule (one scheduled group).

    Exactly one of ``once``, ``days`` (an inclusive range of day labels, e.g. (-5, -3)) or
    ``interval_days`` is set. ``count`` None with an interval repeats to the horizon;
    ``until_progression`` flags that repetition for a trial layer. ``cycles`` repeats the
    whole block, cycle k+1 starting ``cycle_gap_days`` after cycle k's last dose.
    ``start_day`` (a day label) or ``delay_days`` (after the previous phase's last dose)
    override the default start. ``weekdays`` gives a daily interval Monday to Friday only
    (the phase's first day is taken as a Monday; sets ``interval_days`` to 1 when None).

    ``cycle_days`` (clinical days >= 1, e.g. (1, 8) for ``d1,8``) are the days of each cycle
    on which the drugs are given; with ``interval_days`` (the cycle length, which must hold
    them) ``count`` is the number of cycles; without an interval they are given once (a
    contiguous list is stored as ``days``). ``doses_per_day`` (2 for ``bid``, 3 for ``tid``)
    gives several doses on each listed day, 24 h / n apart. A continuous infusion at a rate
    (a dose per day) runs over the phase's days: one infusion per cycle from its first to its
    last day. ``placebo`` marks a placebo given with the drugs (or alone): it gives no dose.

    A phase with a radiotherapy item needs a number of fractions (a count, ``once`` or
    ``days``); a count with no interval means daily fractions (``interval_days`` 1).
    """

    administrations: tuple[Administration, ...]
    interval_days: float | None = None
    count: int | None = None
    once: bool = False
    days: tuple[int, int] | None = None
    until_progression: bool = False
    cycles: int = 1
    cycle_gap_days: float = 0.0
    start_day: int | None = None
    delay_days: float | None = None
    weekdays: bool = False
    cycle_days: tuple[int, ...] | None = None
    doses_per_day: int = 1
    placebo: bool = False

    def __post_init__(self) -> None:
        adms = tuple(self.administrations)
        object.__setattr__(self, "placebo", bool(self.placebo))
        if not adms and not self.placebo:
            raise RegimenError("a phase needs at least one drug, e.g. 'pembrolizumab 200 mg IV'")
        object.__setattr__(self, "administrations", adms)
        self._check_cycle_days()
        radiation = any(a.is_radiotherapy for a in adms)
        object.__setattr__(self, "weekdays", bool(self.weekdays))
        if self.weekdays:
            if self.once or self.days is not None:
                raise RegimenError(
                    "weekdays: Monday-to-Friday dosing needs a daily interval, not 'once' or "
                    "days; write e.g. 'weekdays x30'"
                )
            if self.interval_days is None:
                object.__setattr__(self, "interval_days", 1.0)
            elif float(self.interval_days) != 1.0:
                raise RegimenError(
                    f"weekdays: interval {self.interval_days!r} days; Monday-to-Friday dosing "
                    "is daily, so drop the interval or write qd"
                )
        if (
            radiation
            and self.count is not None
            and self.interval_days is None
            and not self.once
            and self.days is None
        ):
            object.__setattr__(self, "interval_days", 1.0)  # daily fractions
        kinds = (self.interval_days is not None) + bool(self.once) + (self.days is not None)
        kinds += self.cycle_days is not None and self.interval_days is None
        if kinds == 0:
            if not adms:
                raise RegimenError(
                    "schedule: placebo alone needs a schedule ('placebo IV q3w until "
                    "progression') or a drug beside it ('placebo + paclitaxel 175 mg/m2 IV q3w')"
                )
            if radiation:
                raise RegimenError(
                    "schedule: missing fractions for radiotherapy; add a number of daily "
                    "fractions (x3), 'once', or an interval and a count (q2d x3)"
                )
            raise RegimenError(
                "schedule: missing dosing interval; add one of q3w, q2w, qd, bid, q8h, once, "
                "d1 or d-5 to d-3"
            )
        if kinds > 1:
            raise RegimenError("schedule: give only one of an interval (q3w), 'once' or days (d1)")
        if self.interval_days is not None:
            iv = float(self.interval_days)
            if math.isnan(iv) or math.isinf(iv) or iv <= 0:
                raise RegimenError(f"interval: {self.interval_days!r} days; give a value > 0")
            _check_days(iv, "interval")
            object.__setattr__(self, "interval_days", _canon(iv))
        if self.count is not None:
            if not _is_whole(self.count) or self.count < 1:
                raise RegimenError(
                    f"count: x{self.count} doses; give a count >= 1 (e.g. x4) or leave it out "
                    "to repeat to the horizon"
                )
            if self.count > MAX_COUNT:
                raise RegimenError(_count_message(self.count))
            if self.interval_days is None:
                raise RegimenError("count: a count (x4) needs an interval such as q3w")
            object.__setattr__(self, "count", int(self.count))
        if radiation and self.interval_days is not None and self.count is None:
            raise RegimenError(
                "count: radiotherapy needs a number of fractions; add one such as x5 (it cannot "
                "repeat to the horizon or until progression), e.g. 'radiotherapy 2 Gy x30 to "
                "primary'"
            )
        if self.days is not None:
            lo, hi = (int(self.days[0]), int(self.days[1]))
            for d in (lo, hi):
                _check_day_label(d, "days")
            if hi < lo:
                raise RegimenError(f"days: d{lo} to d{hi} runs backwards; write d{hi} to d{lo}")
            object.__setattr__(self, "days", (lo, hi))
        self._check_continuous()
        if self.until_progression and (self.interval_days is None or self.count is not None):
            raise RegimenError(
                "until progression: needs an interval and no count, e.g. 'q2w until progression'"
            )
        if not _is_whole(self.cycles) or self.cycles < 1:
            raise RegimenError(f"cycles: {self.cycles} cycles; give a number >= 1")
        if self.cycles > MAX_COUNT:
            raise RegimenError(
                f"cycles: {_big(self.cycles)} cycles is above the limit of {MAX_COUNT}; "
                "write the real number of cycles"
            )
        if self.cycles > 1 and self.count is None:
            raise RegimenError("cycles: repeating cycles needs a count per cycle, e.g. 'q8h x14'")
        gap = float(self.cycle_gap_days)
        if not math.isfinite(gap) or gap < 0:
            raise RegimenError(
                f"cycles: gap {self.cycle_gap_days!r} days; give a finite value >= 0"
            )
        _check_days(gap, "cycles: gap")
        if self.start_day is not None:
            _check_day_label(int(self.start_day), "starting")
        object.__setattr__(self, "cycles", int(self.cycles))
        object.__setattr__(self, "cycle_gap_days", _canon(gap))
        if self.delay_days is not None:
            if self.start_day is not None:
                raise RegimenError("start: give either 'starting dN' or 'after N weeks', not both")
            delay = float(self.delay_days)
            if not math.isfinite(delay) or delay < 0:
                raise RegimenError(f"after: {self.delay_days!r} days; give a finite delay >= 0")
            _check_days(delay, "after")
            object.__setattr__(self, "delay_days", _canon(delay))

    def _check_cycle_days(self) -> None:
        """Validate ``cycle_days`` and ``doses_per_day``; a contiguous day list without an
        interval is the same as a day range (stored as ``days``)."""
        n = self.doses_per_day
        if not _is_whole(n) or n not in (1, 2, 3):
            raise RegimenError(
                f"doses per day: {n!r}; give 1 (qd), 2 (bid) or 3 (tid), e.g. 'bid d1-14 q3w'"
            )
        object.__setattr__(self, "doses_per_day", int(n))
        if self.cycle_days is None:
            if n > 1 and self.days is None:
                raise RegimenError(
                    "doses per day: bid/tid on given days needs the days, e.g. 'bid d1-14 q3w'"
                )
            return
        days = tuple(int(d) for d in self.cycle_days)
        if not days:
            raise RegimenError("days: an empty day list; give days such as d1,8")
        if len(set(days)) != len(days):
            raise RegimenError(f"days: {_days_text(tuple(sorted(days)))} lists a day twice")
        days = tuple(sorted(days))
        if self.once or self.days is not None or self.weekdays:
            raise RegimenError(
                "days: give either days within a cycle (d1,8 q3w) or 'once', a day range "
                "(d-5 to d-3) or weekdays, not both"
            )
        for d in days:
            _check_day_label(d, "days")
        if days[0] < 1:
            raise RegimenError(
                f"days: d{days[0]} in a day list; listed days start at d1 (day 1 of each "
                "cycle), e.g. 'd1,8 q3w'; for days before day 1 write a range, 'd-5 to d-3'"
            )
        if self.interval_days is None:
            if self.count is not None:
                raise RegimenError(
                    f"count: x{self.count} cycles of {_days_text(days)} needs the cycle length, "
                    f"e.g. '{_days_text(days)} q3w x{self.count}'"
                )
            if days == tuple(range(days[0], days[-1] + 1)):  # d1-3: the same as d1 to d3
                object.__setattr__(self, "days", (days[0], days[-1]))
                object.__setattr__(self, "cycle_days", None)
                return
        else:
            iv = float(self.interval_days)
            if days[-1] > iv + _EPS_DAY:
                raise RegimenError(
                    f"days: d{days[-1]} falls after the end of a {format_number(iv)}-day cycle "
                    f"({_interval_text(iv)}); give days within the cycle or a longer cycle "
                    f"(e.g. q{math.ceil(days[-1] / 7)}w)"
                )
            if self.cycles != 1:
                raise RegimenError(
                    "cycles: days within a cycle (d1,8 q3w) already repeat by cycle; give the "
                    "number of cycles as a count (x4), not ', N cycles G days apart'"
                )
        object.__setattr__(self, "cycle_days", days)

    def _check_continuous(self) -> None:
        """A continuous infusion (a dose per day) needs one contiguous range of days."""
        rate = [a for a in self.administrations if a.continuous]
        if not rate:
            return
        example = f"'{rate[0].text()} d1-4 q3w'"
        if self.doses_per_day != 1:
            raise RegimenError(
                f"schedule: {rate[0].drug} at {rate[0].dose} is a continuous infusion; it "
                f"cannot also be given bid/tid; write e.g. {example}"
            )
        days = self.day_list()
        if days is None:
            raise RegimenError(
                f"schedule: {rate[0].drug} at {rate[0].dose} is a continuous infusion and "
                f"needs the days it runs over; write e.g. {example}"
            )
        if days != tuple(range(days[0], days[-1] + 1)):
            raise RegimenError(
                f"days: the continuous infusion of {rate[0].drug} runs over one range of days "
                f"(d1-4), not {_days_text(days)}; give separate items for separate ranges"
            )

    def day_list(self) -> tuple[int, ...] | None:
        """The day labels the phase gives its drugs on (per cycle for ``cycle_days``), or
        None for an interval schedule without days and for ``once``."""
        if self.cycle_days is not None:
            return self.cycle_days
        if self.days is not None:
            return tuple(range(self.days[0], self.days[1] + 1))
        return None

    @property
    def open_ended(self) -> bool:
        """True if the phase repeats to the horizon (no count)."""
        return self.interval_days is not None and self.count is None

    @property
    def groups(self) -> tuple[Phase, ...]:
        """The scheduled groups of the phase: itself (a :class:`Concurrent` has several)."""
        return (self,)

    @property
    def is_radiotherapy(self) -> bool:
        """True if the phase has a radiotherapy item."""
        return any(a.is_radiotherapy for a in self.administrations)

    def __str__(self) -> str:
        adms = self.administrations
        radiation = self.is_radiotherapy
        shared = not radiation and len({a.delivery() for a in adms}) == 1
        # a lone radiotherapy item writes its site after the schedule: "... x3 to lung"
        site_last = len(adms) == 1 and radiation
        if not adms:
            text = "placebo"
        elif shared:
            text = " + ".join(a.text(with_route=False) for a in adms)
            text += f" {adms[0].delivery()}"
        else:
            text = " + ".join(a.text(with_site=not site_last) for a in adms)
        if self.placebo and adms:
            text = "placebo + " + text
        freq = {1: "", 2: " bid", 3: " tid"}[self.doses_per_day]
        if self.once:
            text += " once"
        elif self.days is not None:
            lo, hi = self.days
            text += freq + (f" d{lo}" if lo == hi else f" d{lo} to d{hi}")
        elif self.cycle_days is not None:
            text += f"{freq} {_days_text(self.cycle_days)}"
            if self.interval_days is not None:
                text += f" {_interval_text(self.interval_days)}"
                if self.count is not None:
                    text += f" x{self.count}"
                if self.until_progression:
                    text += " until progression"
        elif self.interval_days is not None:
            if self.weekdays:
                text += " weekdays"
            elif not (radiation and self.interval_days == 1.0 and self.count is not None):
                text += f" {_interval_text(self.interval_days)}"
            if self.count is not None:
                text += f" x{self.count}"
            if self.until_progression:
                text += " until progression"
        if self.start_day is not None:
            text += f" starting d{self.start_day}"
        if self.delay_days is not None:
            w = self.delay_days / 7
            text += (
                f" after {round(w)} weeks"
                if abs(w - round(w)) < 1e-9 and w >= 1
                else f" after {format_number(self.delay_days)} days"
            )
        if site_last and adms[0].site is not None:
            text += f" to {_site_text(adms[0].site)}"
        if self.cycles > 1:
            text += f", {self.cycles} cycles {format_number(self.cycle_gap_days)} days apart"
        return text


@dataclass(frozen=True)
class Concurrent:
    """Scheduled groups given side by side from one anchor: items joined by ``+`` where
    each group carries its own schedule (``A + B IV q3w x4 + C IV d1-3 q3w x4`` is the groups
    ``[A + B] q3w x4`` and ``[C] d1-3 q3w x4``).

    It is one phase of its track: it starts where a phase would start (only its first group
    may say ``starting dN`` or ``after N weeks``, for the whole block), and the next phase
    starts at its end, the latest end over its counted groups (a counted group ends one
    interval after its last dose; cycles with days, ``d1,8 q3w x4``, end after their last
    cycle). A group without a count (``pembrolizumab 200 mg IV q3w``) runs with the others:
    to the end of the block when a phase follows, to the horizon (or progression) otherwise.
    """

    groups: tuple[Phase, ...]

    def __post_init__(self) -> None:
        groups = tuple(self.groups)
        if len(groups) < 2:
            raise RegimenError(
                "Concurrent: give two or more scheduled groups (one group is a Phase)"
            )
        for i, g in enumerate(groups):
            if not isinstance(g, Phase):
                raise RegimenError(
                    f"Concurrent: group {i + 1} ({g!r}) is not a Phase; build it with Phase(...)"
                )
            if i > 0 and (g.start_day is not None or g.delay_days is not None):
                raise RegimenError(
                    f"start: group {i + 1} ({g}) of a concurrent block says when it starts; "
                    "only the first group may ('starting dN' or 'after N weeks' starts the whole "
                    "block); to start a drug later give it its own track: '... with DRUG ... "
                    "starting d22'"
                )
        object.__setattr__(self, "groups", groups)

    @property
    def administrations(self) -> tuple[Administration, ...]:
        """Every group's administrations, in order."""
        return tuple(a for g in self.groups for a in g.administrations)

    @property
    def open_ended(self) -> bool:
        """True if every group repeats to the horizon (no group has a count to end it)."""
        return all(g.open_ended for g in self.groups)

    @property
    def is_radiotherapy(self) -> bool:
        """True if a group has a radiotherapy item."""
        return any(g.is_radiotherapy for g in self.groups)

    @property
    def until_progression(self) -> bool:
        """True if a group repeats until progression."""
        return any(g.until_progression for g in self.groups)

    @property
    def placebo(self) -> bool:
        """True if a group has a placebo."""
        return any(g.placebo for g in self.groups)

    @property
    def start_day(self) -> int | None:
        """The block's ``starting dN`` (its first group's)."""
        return self.groups[0].start_day

    @property
    def delay_days(self) -> float | None:
        """The block's ``after N weeks`` (its first group's)."""
        return self.groups[0].delay_days

    @property
    def interval_days(self) -> float | None:
        """The first group's interval (a ``once`` phase before the block is followed one
        such interval later)."""
        return self.groups[0].interval_days

    def __str__(self) -> str:
        return " + ".join(str(g) for g in self.groups)


@dataclass(frozen=True)
class Track:
    """Phases given one after another (joined by ", then"), from day 0 of the regimen.

    A phase is a :class:`Phase` (one schedule) or a :class:`Concurrent` block (several
    scheduled groups side by side). A regimen with several tracks (joined by " with ") runs
    them side by side.

    ``rules`` are the track's dosing rules (:class:`~oncotwin.regimens.DoseRule`, written
    after its phases, each after a comma: ``..., hold if irAE >= 2 until irAE <= 1``).
    """

    phases: tuple[Phase | Concurrent, ...]
    rules: tuple[DoseRule, ...] = ()

    def __post_init__(self) -> None:
        rules = tuple(self.rules)
        for r in rules:
            if not isinstance(r, DoseRule):
                raise RegimenError(
                    f"track rule {r!r} is not a DoseRule; build it with DoseRule(...) or parse "
                    "a string such as 'pembrolizumab 200 mg IV q3w x35, stop if irAE >= 3'"
                )
        object.__setattr__(self, "rules", rules)
        phases = tuple(self.phases)
        if not phases:
            raise RegimenError("a regimen needs at least one phase, e.g. " + EXAMPLES[0])
        for i, ph in enumerate(phases):
            if not isinstance(ph, Phase | Concurrent):
                raise RegimenError(
                    f"phase {i + 1}: {ph!r} is not a Phase; build it with Phase(...) or parse a "
                    "string with Regimen.parse"
                )
        for i, ph in enumerate(phases[:-1]):
            nxt = phases[i + 1]
            if ph.open_ended and nxt.start_day is None:
                a, b = i + 1, i + 2
                raise RegimenError(
                    f"phase {a} ({ph}) repeats to the horizon, so phase {b} would never start; "
                    f"give phase {a} a count such as x4 or phase {b} a start ('starting d85')"
                )
        object.__setattr__(self, "phases", phases)

    def __str__(self) -> str:
        return ", ".join([", then ".join(str(p) for p in self.phases), *map(str, self.rules)])

    @property
    def drugs(self) -> tuple[str, ...]:
        """Names of the drugs this track gives (radiotherapy included), in order."""
        seen: dict[str, None] = {}
        for ph in self.phases:
            for a in ph.administrations:
                seen[a.drug] = None
        return tuple(seen)


@dataclass(frozen=True, init=False)
class Regimen:
    """Tracks run side by side from day 0 (joined by " with "), each a sequence of phases
    joined by ", then". ``str()`` is the canonical text; ``repr()`` is
    ``Regimen.parse('...')`` so that ``eval(repr(r)) == r``.

    Build it from one track's phases, ``Regimen((phase1, phase2))``, or from several tracks,
    ``Regimen(tracks=(Track(...), Track(...)))``. ``phases`` is every phase of every track in
    track order (for one track: its phases).
    """

    tracks: tuple[Track, ...]

    def __init__(
        self,
        phases: Sequence[Phase] | None = None,
        *,
        tracks: Sequence[Track | Sequence[Phase]] | None = None,
    ) -> None:
        if (phases is None) == (tracks is None):
            raise RegimenError(
                "Regimen: give either phases (one track) or tracks=(Track(...), ...), not "
                f"{'both' if phases is not None else 'neither'}"
            )
        if phases is not None:
            tracks = (Track(tuple(phases)),)
        items = tuple(tracks or ())
        if not items:
            raise RegimenError("a regimen needs at least one track, e.g. " + EXAMPLES[0])
        object.__setattr__(
            self, "tracks", tuple(t if isinstance(t, Track) else Track(tuple(t)) for t in items)
        )
        check_rules(self.rules, [t.drugs for t in self.tracks])

    @classmethod
    def parse(cls, text: str) -> Regimen:
        """Parse a regimen string (see the module docstring for the grammar)."""
        from oncotwin.regimens._parser import parse_regimen

        return parse_regimen(text)

    def __str__(self) -> str:
        return " with ".join(str(t) for t in self.tracks)

    def __repr__(self) -> str:
        return f"Regimen.parse({str(self)!r})"

    @property
    def phases(self) -> tuple[Phase | Concurrent, ...]:
        """Every phase of every track, in track order (the ``phase`` column of a schedule
        indexes this tuple); a :class:`Concurrent` block is one phase (its groups: the
        schedule's ``group`` column)."""
        return tuple(ph for t in self.tracks for ph in t.phases)

    @property
    def rules(self) -> tuple[tuple[int, DoseRule], ...]:
        """Every dosing rule with the index of the track it is written on."""
        return tuple((k, r) for k, t in enumerate(self.tracks) for r in t.rules)

    @property
    def placebo(self) -> bool:
        """True if the regimen gives a placebo somewhere (it gives no dose)."""
        return any(ph.placebo for ph in self.phases)

    @property
    def drugs(self) -> tuple[str, ...]:
        """Names of the drugs used (radiotherapy included), in order of first appearance."""
        seen: dict[str, None] = {}
        for ph in self.phases:
            for a in ph.administrations:
                seen[a.drug] = None
        return tuple(seen)

    @property
    def sites(self) -> tuple[str, ...]:
        """Radiotherapy sites, in order of first appearance (empty without radiotherapy)."""
        seen: dict[str, None] = {}
        for ph in self.phases:
            for a in ph.administrations:
                if a.site is not None:
                    seen[a.site] = None
        return tuple(seen)

    def citations(self) -> tuple[str, ...]:
        """Citation keys of the drugs used (pass to :func:`oncotwin.citations.cite`)."""
        keys: dict[str, None] = {}
        for name in self.drugs:
            d = get_drug(name)
            for k in d.citations:
                keys[k] = None
            for p in d.pk.values():
                if p.source is not None:
                    keys[p.source.key] = None
        return tuple(keys)

    def schedule(self, horizon_days: float) -> DoseSchedule:
        """Expand into dose events with time <= ``horizon_days`` (see the day rules); a
        ``stop after N months`` rule leaves out the doses after its duration."""
        from oncotwin.regimens.schedule import expand_regimen

        sched = expand_regimen(self, horizon_days)
        if not any(r.after is not None for _, r in self.rules):
            return sched
        return sched._subset(stop_after_mask(sched.time, sched.drug, sched.track, self.rules))
