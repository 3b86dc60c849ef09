"""Regimen strings <-> typed regimen objects.

Grammar (case-insensitive; drug names and aliases from :mod:`oncotwin.pharmacology`)::

    regimen     := phase (", then " phase)*
    phase       := admin (" + " admin)* schedule* [", " N " cycles " G " days apart"]
    admin       := DRUG DOSE [ROUTE] [infusion]
    DOSE        := NUMBER UNIT           e.g. 200 mg, 3 mg/kg, 75 mg/m2, 2e6 cells/kg, 1e8 PFU
    ROUTE       := IV | SC | IM | PO | intralesional
    infusion    := "over" DURATION | "as a" DURATION "infusion"      e.g. over 30 min
    schedule    := once | qNw | qNd | qNh | qd | daily | bid | tid | weekly | q1w
                 | dN | dA to dB | xN | until progression | starting dN | after N weeks|days

A route (and infusion) written after the last drug of an ``A + B`` group applies to every drug
of the group that has none of its own. A route the drug does not allow is an error (not a
warning), as is a dose kind that does not fit the drug (CAR-T must be dosed in cells).

Day rules (see :mod:`oncotwin.regimens.schedule` for the full list):

* day 0 is the first dose of the regimen; ``dN`` (N >= 1) is clinical day N = time N - 1,
  ``dN`` (N <= 0) is time N (pre-conditioning days before a cell infusion on day 0);
* the next phase starts one interval after the previous phase's last dose; after a ``once``
  dose it starts one interval *of the next phase* later (loading dose, then maintenance);
  after a day-labelled phase whose days are all negative it starts on day 0 (CAR-T);
* ``N cycles G days apart``: cycle k+1 begins G days after cycle k's last dose.

So ``pembrolizumab 200 mg IV q3w x35`` doses on days 0, 21, ..., 714;
``nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w until
progression`` on days 0, 21, 42, 63 then 84, 98, ...; flu/cy ``d-5 to d-3`` on days -5, -4, -3
and the CAR-T ``once`` on day 0; aldesleukin ``q8h x14, 2 cycles 9 days apart`` at
0, 1/3, ..., 13/3 and again from 13/3 + 9 days.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oncotwin.errors import RegimenError, UnitError, UnknownNameError
from oncotwin.pharmacology import get_drug
from oncotwin.pharmacology.catalog import drug_names_and_aliases, unknown_drug_message
from oncotwin.units import DoseAmount, format_number, parse_dose, to_days

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.regimens.schedule import DoseSchedule

__all__ = [
    "EXAMPLES",
    "Administration",
    "Phase",
    "Regimen",
    "RegimenUnitError",
    "UnknownDrugError",
    "parse_regimen",
]

EXAMPLES: tuple[str, ...] = (
    "pembrolizumab 200 mg IV q3w x35",
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w "
    "until progression",
    "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
    "axicabtagene ciloleucel 2e6 cells/kg IV once",
)


class RegimenUnitError(RegimenError, UnitError):
    """A dose or duration in a regimen has a bad value or unit (both a RegimenError and a
    UnitError)."""


class UnknownDrugError(RegimenError, UnknownNameError):
    """A regimen names a drug that is not in the catalog."""


_ROUTES = {
    "iv": "IV",
    "intravenous": "IV",
    "sc": "SC",
    "subcutaneous": "SC",
    "im": "IM",
    "intramuscular": "IM",
    "po": "PO",
    "oral": "PO",
    "intralesional": "intralesional",
    "il": "intralesional",
}


def _canon(x: float) -> float:
    """Round to 12 significant digits so text round trips give identical floats."""
    return float(f"{x:.12g}")


# ------------------------------------------------------------------------------------------
# objects
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Administration:
    """One drug given at one dose by one route; ``duration_days`` 0 is a bolus."""

    drug: str
    dose: DoseAmount
    route: str
    duration_days: float = 0.0

    def __post_init__(self) -> None:
        try:
            d = get_drug(self.drug)
        except UnknownNameError as exc:
            raise UnknownDrugError(str(exc)) from None
        object.__setattr__(self, "drug", d.name)
        if self.dose.kind != d.dose_kind:
            unit = {"mass": "mg", "cells": "cells", "IU": "IU", "PFU": "PFU"}[d.dose_kind]
            raise RegimenUnitError(
                f"dose: {d.name} is dosed in {d.dose_kind} ({unit}, {unit}/kg or {unit}/m2), "
                f"not {self.dose.unit}; e.g. {d.approved_doses[0] if d.approved_doses else ''}"
            )
        route = _ROUTES.get(str(self.route).lower())
        if route is None:
            raise RegimenError(
                f"route: {self.route!r} is not a route; use one of IV, SC, IM, PO, intralesional"
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
        object.__setattr__(self, "duration_days", _canon(dur))

    def text(self, *, with_route: bool = True) -> str:
        out = f"{self.drug} {self.dose}"
        if with_route:
            out += f" {self.route}" + _infusion_text(self.duration_days)
        return out


def _duration_text(days: float) -> str:
    minutes = days * 1440.0
    if abs(minutes - round(minutes)) < 1e-6 and round(minutes) < 60:
        return f"{round(minutes)} min"
    hours = days * 24.0
    if abs(hours * 60 - round(hours * 60)) < 1e-6 and hours < 24:
        return f"{format_number(_canon(hours))} h"
    return f"{format_number(days)} day"


def _infusion_text(days: float) -> str:
    return f" over {_duration_text(days)}" if days > 0 else ""


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
    """Co-administered drugs and their schedule.

    Exactly one of ``once``, ``days`` (an inclusive range of day labels, e.g. (-5, -3)) or
    ``interval_days`` is set. ``count`` None with an interval repeats to the horizon;
    ``until_progression`` flags that repetition for a trial layer. ``cycles`` repeats the
    whole block, cycle k+1 starting ``cycle_gap_days`` after cycle k's last dose.
    ``start_day`` (a day label) or ``delay_days`` (after the previous phase's last dose)
    override the default start.
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

    def __post_init__(self) -> None:
        adms = tuple(self.administrations)
        if not adms:
            raise RegimenError("a phase needs at least one drug, e.g. 'pembrolizumab 200 mg IV'")
        object.__setattr__(self, "administrations", adms)
        kinds = (self.interval_days is not None) + bool(self.once) + (self.days is not None)
        if kinds == 0:
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
            object.__setattr__(self, "interval_days", _canon(iv))
        if self.count is not None:
            if int(self.count) != self.count or self.count < 1:
                raise RegimenError(
                    f"count: x{self.count} doses; give a count >= 1 (e.g. x4) or leave it out "
                    "to repeat to the horizon"
                )
            if self.interval_days is None:
                raise RegimenError("count: a count (x4) needs an interval such as q3w")
            object.__setattr__(self, "count", int(self.count))
        if self.days is not None:
            lo, hi = (int(self.days[0]), int(self.days[1]))
            if hi < lo:
                raise RegimenError(f"days: d{lo} to d{hi} runs backwards; write d{hi} to d{lo}")
            object.__setattr__(self, "days", (lo, hi))
        if self.until_progression and (self.interval_days is None or self.count is not None):
            raise RegimenError(
                "until progression: needs an interval and no count, e.g. 'q2w until progression'"
            )
        if int(self.cycles) != self.cycles or self.cycles < 1:
            raise RegimenError(f"cycles: {self.cycles} cycles; give a number >= 1")
        if self.cycles > 1 and self.count is None:
            raise RegimenError("cycles: repeating cycles needs a count per cycle, e.g. 'q8h x14'")
        gap = float(self.cycle_gap_days)
        if math.isnan(gap) or gap < 0:
            raise RegimenError(f"cycles: gap {self.cycle_gap_days!r} days; give a value >= 0")
        object.__setattr__(self, "cycles", int(self.cycles))
        object.__setattr__(self, "cycle_gap_days", _canon(gap))
        if self.delay_days is not None:
            if self.start_day is not None:
                raise RegimenError("start: give either 'starting dN' or 'after N weeks', not both")
            delay = float(self.delay_days)
            if math.isnan(delay) or delay < 0:
                raise RegimenError(f"after: {self.delay_days!r} days; give a delay >= 0")
            object.__setattr__(self, "delay_days", _canon(delay))

    @property
    def open_ended(self) -> bool:
        """True if the phase repeats to the horizon (no count)."""
        return self.interval_days is not None and self.count is None

    def __str__(self) -> str:
        adms = self.administrations
        shared = len({(a.route, a.duration_days) for a in adms}) == 1
        if shared:
            text = " + ".join(a.text(with_route=False) for a in adms)
            text += f" {adms[0].route}" + _infusion_text(adms[0].duration_days)
        else:
            text = " + ".join(a.text() for a in adms)
        if self.once:
            text += " once"
        elif self.days is not None:
            lo, hi = self.days
            text += f" d{lo}" if lo == hi else f" d{lo} to d{hi}"
        else:
            assert self.interval_days is not None
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
        if self.cycles > 1:
            text += f", {self.cycles} cycles {format_number(self.cycle_gap_days)} days apart"
        return text


@dataclass(frozen=True)
class Regimen:
    """Ordered phases joined by ", then". ``str()`` is the canonical text; ``repr()`` is
    ``Regimen.parse('...')`` so that ``eval(repr(r)) == r``."""

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        phases = tuple(self.phases)
        if not phases:
            raise RegimenError("a regimen needs at least one phase, e.g. " + EXAMPLES[0])
        for i, ph in enumerate(phases[:-1]):
            nxt = phases[i + 1]
            if ph.open_ended and nxt.start_day is None:
                a, b = i + 1, i + 2
                raise RegimenError(
                    f"phase {a} ({ph}) repeats to the horizon, so phase {b} would never start; "
                    f"give phase {a} a count such as x4 or phase {b} a start ('starting d85')"
                )
        object.__setattr__(self, "phases", phases)

    @classmethod
    def parse(cls, text: str) -> Regimen:
        """Parse a regimen string (see the module docstring for the grammar)."""
        return parse_regimen(text)

    def __str__(self) -> str:
        return ", then ".join(str(p) for p in self.phases)

    def __repr__(self) -> str:
        return f"Regimen.parse({str(self)!r})"

    @property
    def drugs(self) -> tuple[str, ...]:
        """Names of the drugs used, in order of first appearance."""
        seen: dict[str, None] = {}
        for ph in self.phases:
            for a in ph.administrations:
                seen[a.drug] = None
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
        """Expand into dose events with time <= ``horizon_days`` (see the day rules)."""
        from oncotwin.regimens.schedule import expand_regimen

        return expand_regimen(self, horizon_days)


# ------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)\b"
_RE = {
    "ws": re.compile(r"\s*"),
    "dose": re.compile(rf"(?P<num>{_NUM})\s*(?P<unit>[A-Za-zµμ][A-Za-z0-9µμ^*/]*)?", re.I),
    "route": re.compile(
        r"(IV|SC|IM|PO|intralesional|intravenous|subcutaneous|intramuscular|oral)\b", re.I
    ),
    "over": re.compile(r"over\s+(?P<dur>\d+(?:\.\d+)?\s*[A-Za-z]+)\b", re.I),
    "as_a": re.compile(r"as\s+an?\s+(?P<dur>\d+(?:\.\d+)?\s*[A-Za-z]+)\s+infusion\b", re.I),
    "plus": re.compile(r"\+"),
    "then": re.compile(r",\s*then\b\s*", re.I),
    "cycles": re.compile(
        r",\s*(?P<n>-?\d+)\s+cycles?\s+(?P<gap>\d+(?:\.\d+)?)\s+days?\s+apart\b", re.I
    ),
    "once": re.compile(r"once\b", re.I),
    "qn": re.compile(r"q(?P<n>\d+(?:\.\d+)?)\s*(?P<u>w|wk|weeks?|d|days?|h|hr|hours?)\b", re.I),
    "named": re.compile(r"(?P<w>qd|daily|bid|tid|weekly|twice\s+daily)\b", re.I),
    "days": re.compile(r"d(?P<a>-?\d+)(?:\s+to\s+d(?P<b>-?\d+))?\b", re.I),
    "count": re.compile(r"x\s*(?P<n>[-+]?\d+)\b", re.I),
    "until": re.compile(r"until\s+progression\b", re.I),
    "starting": re.compile(r"starting\s+(?:d|day\s*)(?P<d>-?\d+)\b", re.I),
    "after": re.compile(r"after\s+(?P<n>\d+(?:\.\d+)?)\s+(?P<u>weeks?|days?)\b", re.I),
}
_NAMED_INTERVAL = {"qd": 1.0, "daily": 1.0, "bid": 0.5, "tid": 1.0 / 3.0, "weekly": 7.0}
_UNIT_DAYS = {"w": 7.0, "d": 1.0, "h": 1.0 / 24.0}


class _Parser:
    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise RegimenError(f"a regimen is a string such as {EXAMPLES[0]!r}, got {text!r}")
        self.text = text
        self.pos = 0
        self.names = drug_names_and_aliases()

    # -- helpers -------------------------------------------------------------------------
    def fail(self, msg: str, expected: str, pos: int | None = None, cls=RegimenError):
        pos = self.pos if pos is None else pos
        examples = "\n".join(f"  {e}" for e in EXAMPLES)
        raise cls(
            f"bad regimen: {msg}\n  {self.text}\n  {' ' * pos}^\n"
            f"expected {expected} here\nvalid examples:\n{examples}"
        )

    def skip(self) -> None:
        self.pos = _RE["ws"].match(self.text, self.pos).end()  # type: ignore[union-attr]

    def match(self, key: str) -> re.Match | None:
        self.skip()
        m = _RE[key].match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
        return m

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def token(self) -> str:
        m = re.compile(r"\S+").match(self.text, self.pos)
        return m.group(0) if m else "end of text"

    # -- grammar -------------------------------------------------------------------------
    def regimen(self) -> Regimen:
        if self.at_end():
            self.fail("the regimen is empty", "a drug name")
        phases = [self.phase()]
        while self.match("then") is not None:
            phases.append(self.phase())
        if not self.at_end():
            self.fail(f"unexpected {self.token()!r}", "', then' or the end of the regimen")
        try:
            return Regimen(tuple(phases))
        except RegimenError as exc:
            self.fail(str(exc), "a count (x4) on the open-ended phase", pos=len(self.text))
            raise  # pragma: no cover

    def drug(self) -> str:
        self.skip()
        low = self.text.lower()
        for name in self.names:
            end = self.pos + len(name)
            if low.startswith(name.lower(), self.pos) and (
                end >= len(low) or not (low[end].isalnum() or low[end] in "-_")
            ):
                self.pos = end
                return get_drug(name).name
        start = self.pos
        m = re.compile(rf"(.+?)\s*(?={_NUM}|$|,|\+)", re.I).match(self.text, self.pos)
        word = (m.group(1) if m and m.group(1).strip() else self.token()).strip()
        if not word or word == "end of text":
            self.fail("missing drug name", "a drug name such as 'pembrolizumab'")
        self.fail(
            unknown_drug_message(word),
            "a known drug name or alias (see oncotwin.pharmacology.all_drugs())",
            pos=start,
            cls=UnknownDrugError,
        )
        raise AssertionError  # pragma: no cover

    def admin(self) -> tuple[str, DoseAmount, str | None, float | None, int]:
        drug = self.drug()
        self.skip()
        dose_pos = self.pos
        m = self.match("dose")
        if m is None:
            self.fail(
                f"missing dose for {drug}",
                "a dose such as '200 mg', '3 mg/kg', '75 mg/m2' or '2e6 cells/kg'",
            )
        assert m is not None
        if m.group("unit") is not None and m.group("unit").lower() in _ROUTES:
            self.pos = m.start("unit")
            m = None
        if m is None or m.group("unit") is None:
            num = self.text[dose_pos : self.pos].strip()
            self.fail(
                f"the dose {num!r} has no unit",
                "a unit such as mg, mg/kg, mg/m2, cells, cells/kg, IU/kg or PFU",
                pos=self.pos,
                cls=RegimenUnitError,
            )
        try:
            dose = parse_dose(f"{m.group('num')} {m.group('unit')}", field=f"dose of {drug}")
        except UnitError as exc:
            self.fail(str(exc), "a dose > 0 in a dose unit", pos=dose_pos, cls=RegimenUnitError)
        route = None
        rm = self.match("route")
        if rm is not None:
            route = _ROUTES[rm.group(1).lower()]
        duration = self.infusion()
        return drug, dose, route, duration, dose_pos

    def infusion(self) -> float | None:
        self.skip()
        pos = self.pos
        m = self.match("over") or self.match("as_a")
        if m is None:
            if re.compile(r"(over|as)\b", re.I).match(self.text, self.pos):
                self.fail("unreadable infusion duration", "'over 30 min' or 'as a 2 h infusion'")
            return None
        try:
            return to_days(m.group("dur"), field="infusion duration")
        except UnitError as exc:
            self.fail(
                str(exc), "a duration such as '30 min' or '2 h'", pos=pos + 5, cls=RegimenUnitError
            )
        raise AssertionError  # pragma: no cover

    def phase(self) -> Phase:
        start = self.pos
        raw = [self.admin()]
        while self.match("plus") is not None:
            raw.append(self.admin())
        # a route/infusion written last applies to earlier drugs that have none
        # a drug with neither route nor infusion of its own takes both from the next drug
        route, duration = None, None
        for i in range(len(raw) - 1, -1, -1):
            d, dose, r, dur, pos = raw[i]
            if r is not None or dur is not None:
                route, duration = r, dur
            raw[i] = (d, dose, route, duration, pos)
        adms = []
        for d, dose, r, dur, pos in raw:
            if r is None:
                self.fail(f"missing route for {d}", "a route: IV, SC, IM, PO or intralesional")
            try:
                adms.append(Administration(d, dose, r, dur or 0.0))
            except RegimenError as exc:
                self.fail(str(exc), "a dose and route that fit the drug", pos=pos, cls=type(exc))
        fields: dict = {}
        sched_pos = None
        while True:
            self.skip()
            pos = self.pos
            if self.at_end() or _RE["then"].match(self.text, self.pos):
                break
            if (m := self.match("cycles")) is not None:
                fields["cycles"] = int(m.group("n"))
                fields["cycle_gap_days"] = float(m.group("gap"))
                if fields["cycles"] < 1:
                    self.fail(f"{m.group('n')} cycles", "a number of cycles >= 1", pos=pos + 1)
                break
            if (m := self.match("once")) is not None:
                self._set(fields, "once", True, pos)
            elif (m := self.match("qn")) is not None:
                n = float(m.group("n"))
                if n <= 0:
                    self.fail(f"interval {m.group(0)!r} is zero", "an interval > 0 (q3w)", pos)
                self._set(fields, "interval_days", n * _UNIT_DAYS[m.group("u")[0].lower()], pos)
            elif (m := self.match("named")) is not None:
                w = re.sub(r"\s+", " ", m.group("w").lower())
                self._set(
                    fields, "interval_days", 0.5 if w == "twice daily" else _NAMED_INTERVAL[w], pos
                )
            elif (m := self.match("starting")) is not None:
                self._set(fields, "start_day", int(m.group("d")), pos)
            elif (m := self.match("days")) is not None:
                a = int(m.group("a"))
                b = int(m.group("b")) if m.group("b") is not None else a
                if b < a:
                    self.fail(f"d{a} to d{b} runs backwards", f"d{b} to d{a}", pos)
                self._set(fields, "days", (a, b), pos)
            elif (m := self.match("count")) is not None:
                n = int(m.group("n"))
                if n < 1:
                    self.fail(
                        f"count x{n}: a phase needs at least one dose",
                        "a count >= 1 such as x4 (or no count to repeat to the horizon)",
                        pos,
                    )
                self._set(fields, "count", n, pos)
            elif self.match("until") is not None:
                self._set(fields, "until_progression", True, pos)
            elif (m := self.match("after")) is not None:
                f = 7.0 if m.group("u").lower().startswith("w") else 1.0
                self._set(fields, "delay_days", float(m.group("n")) * f, pos)
            else:
                self.fail(
                    f"unexpected {self.token()!r}",
                    "a schedule (q3w, q2w, qd, bid, q8h, once, d1, d-5 to d-3), a count (x4), "
                    "'until progression', ', N cycles G days apart', ', then' or the end",
                )
            sched_pos = sched_pos if sched_pos is not None else pos
        try:
            return Phase(tuple(adms), **fields)
        except RegimenError as exc:
            at = sched_pos if sched_pos is not None else self.pos
            if not fields or not (set(fields) & {"once", "interval_days", "days"}):
                at = self.pos
            self.fail(str(exc), "a valid schedule such as 'q3w x4'", pos=at)
        raise AssertionError(start)  # pragma: no cover

    def _set(self, fields: dict, key: str, value, pos: int) -> None:
        if key in fields:
            self.fail(f"{key.replace('_', ' ')} given twice", "each schedule item once", pos)
        fields[key] = value


def parse_regimen(text: str) -> Regimen:
    """Parse a regimen string into a :class:`Regimen`.

    A malformed string raises one :class:`RegimenError` whose message quotes the input, points
    at the bad token with a caret, says what was expected and lists valid examples.

    Examples
    --------
    >>> r = parse_regimen("Keytruda 200 mg IV q3w x35")
    >>> str(r)
    'pembrolizumab 200 mg IV q3w x35'
    >>> r.schedule(100).time.tolist()
    [0.0, 21.0, 42.0, 63.0, 84.0]
    """
    return _Parser(text).regimen()
