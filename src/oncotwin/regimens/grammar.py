"""Regimen strings <-> typed regimen objects.

Grammar (case-insensitive; drug names and aliases from :mod:`oncotwin.pharmacology`)::

    regimen     := track (" with " track)*               (";" may stand for " with ")
    track       := phase (", then " phase)*
    phase       := admin (" + " admin)* schedule* [SITE] [", " N " cycles " G " days apart"]
    admin       := DRUG DOSE [ROUTE] [infusion] [SITE]
                 | RT_DOSE [SITE]                         e.g. "8 Gy x3 to lung" (radiotherapy)
    DOSE        := NUMBER UNIT           e.g. 200 mg, 3 mg/kg, 75 mg/m2, 2e6 cells/kg, 1e8 PFU,
                                         8 Gy, 180 cGy (radiotherapy: Gy per fraction)
    ROUTE       := IV | SC | IM | PO | intralesional | external beam
    infusion    := "over" DURATION | "as a" DURATION "infusion"      e.g. over 30 min
    SITE        := "to" (primary | lung | liver | bone | brain | lymph node | adrenal
                        | peritoneum | skin | soft tissue)           radiotherapy only
    schedule    := once | qNw | qNd | qNh | qd | daily | bid | tid | weekly | q1w | weekdays
                 | dN | dA to dB | xN | until progression | starting dN | after N weeks|days

``with`` binds loosest: ``A q3w x6 with B once, then B q1w`` is two *tracks*, ``[A]`` and
``[B once, then B q1w]``, that run side by side from the same day 0, each by the day rules
below; their dose events merge into one schedule sorted by time (ties: track order, then
phase, then drug). A route (and infusion) written after the last drug of an ``A + B`` group
applies to every drug of the group that has none of its own. A route the drug does not allow
is an error (not a warning), as is a dose kind that does not fit the drug (CAR-T must be dosed
in cells, radiotherapy in Gy).

Radiotherapy (``radiotherapy``, ``rt``, ``radiation``, ``sbrt``, ``xrt``, or a bare dose in
Gy such as ``8 Gy x3 to lung``) is a regimen item like a drug: the dose is the absorbed dose
of one fraction in Gy (cGy is converted; ``Gy/kg`` is an error), the route is external beam
(implied; no other route is allowed), ``xN`` is the number of fractions and ``to SITE`` (after
the dose or after the schedule) names the one site irradiated. A radiotherapy phase needs a
number of fractions (``x3``, ``once`` or days); with no interval written the fractions are
**daily, on consecutive days including weekends**; write ``weekdays`` (or ``5 fractions/week``)
to give them Monday to Friday, taking the phase's first day as a Monday. ``to all sites`` is
an error (write one item per site), and so is ``to SITE`` on a drug.

Day rules (see :mod:`oncotwin.regimens.schedule` for the full list):

* day 0 is the first dose of the regimen; ``dN`` (N >= 1) is clinical day N = time N - 1,
  ``dN`` (N <= 0) is time N (pre-conditioning days before a cell infusion on day 0);
* every track starts on day 0 (unless its first phase says ``starting dN`` or ``after N
  weeks``);
* the next phase starts one interval after the previous phase's last dose; after a ``once``
  dose it starts one interval *of the next phase* later (loading dose, then maintenance);
  after a day-labelled phase whose days are all negative it starts on day 0 (CAR-T);
* ``N cycles G days apart``: cycle k+1 begins G days after cycle k's last dose.

So ``pembrolizumab 200 mg IV q3w x35`` doses on days 0, 21, ..., 714;
``nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w until
progression`` on days 0, 21, 42, 63 then 84, 98, ...; flu/cy ``d-5 to d-3`` on days -5, -4, -3
and the CAR-T ``once`` on day 0; aldesleukin ``q8h x14, 2 cycles 9 days apart`` at
0, 1/3, ..., 13/3 and again from 13/3 + 9 days; ``radiotherapy 8 Gy x3 to lung with
pembrolizumab 200 mg IV q3w x35`` irradiates the lung on days 0, 1, 2 and gives pembrolizumab
on days 0, 21, ...; ``radiotherapy 2 Gy weekdays x10 to primary`` on days 0-4 and 7-11.

:class:`Regimen` keeps its tracks in ``regimen.tracks``; ``regimen.phases`` is every phase of
every track in order (for a one-track regimen: its phases, as before), and the ``phase``
column of a :class:`~oncotwin.regimens.schedule.DoseSchedule` indexes that tuple.
``regimen.drugs`` lists radiotherapy like any drug.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from oncotwin.errors import RegimenError, UnitError, UnknownNameError, did_you_mean
from oncotwin.pharmacology import get_drug
from oncotwin.pharmacology.catalog import drug_names_and_aliases, unknown_drug_message
from oncotwin.units import DoseAmount, format_number, parse_dose, to_days

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.regimens.schedule import DoseSchedule

__all__ = [
    "EXAMPLES",
    "SITES",
    "Administration",
    "Phase",
    "Regimen",
    "RegimenUnitError",
    "Track",
    "UnknownDrugError",
    "UnknownSiteError",
    "canonical_site",
    "parse_regimen",
]

EXAMPLES: tuple[str, ...] = (
    "pembrolizumab 200 mg IV q3w x35",
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w "
    "until progression",
    "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
    "axicabtagene ciloleucel 2e6 cells/kg IV once",
    "radiotherapy 9 Gy q2d x3 to liver",
    # Slamon et al. 2001, NEJM 344:783-792 (paclitaxel arm): trastuzumab 4 mg/kg loading,
    # then 2 mg/kg weekly, alongside paclitaxel 175 mg/m2 every 3 weeks
    "paclitaxel 175 mg/m2 IV q3w x6 with trastuzumab 4 mg/kg IV once, then trastuzumab "
    "2 mg/kg IV q1w",
)

#: Canonical radiotherapy sites (``to SITE``); see :func:`canonical_site` for the spellings.
SITES: tuple[str, ...] = (
    "primary",
    "lung",
    "liver",
    "bone",
    "brain",
    "lymph_node",
    "adrenal",
    "peritoneum",
    "skin",
)
_SITE_ALIASES: dict[str, str] = {
    **{s: s for s in SITES},
    "primary tumor": "primary",
    "lungs": "lung",
    "bones": "bone",
    "lymph node": "lymph_node",
    "lymph nodes": "lymph_node",
    "lymph_nodes": "lymph_node",
    "node": "lymph_node",
    "nodes": "lymph_node",
    "adrenals": "adrenal",
    "soft tissue": "skin",
    "soft_tissue": "skin",
}


class RegimenUnitError(RegimenError, UnitError):
    """A dose or duration in a regimen has a bad value or unit (both a RegimenError and a
    UnitError)."""


class UnknownDrugError(RegimenError, UnknownNameError):
    """A regimen names a drug that is not in the catalog."""


class UnknownSiteError(RegimenError, UnknownNameError):
    """A radiotherapy item names a site that is not one of :data:`SITES`."""


def canonical_site(name: str) -> str:
    """The canonical radiotherapy site for ``name`` (case and spacing ignored).

    Accepts primary, lung, liver, bone, brain, lymph node | lymph_node | node, adrenal,
    peritoneum and skin | soft tissue (and plurals such as ``lungs``).

    Raises
    ------
    UnknownSiteError
        For an unknown site, with "did you mean ...?".
    RegimenError
        For ``all sites``: radiotherapy is given to one named site per item.

    Examples
    --------
    >>> canonical_site("Lymph Node"), canonical_site("soft tissue")
    ('lymph_node', 'skin')
    """
    if not isinstance(name, str):
        raise RegimenError(f"site: {name!r} is not a site name; use one of {', '.join(SITES)}")
    key = re.sub(r"\s+", " ", name.strip().lower())
    if key in ("all", "all site", "all sites", "every site", "everywhere"):
        raise RegimenError(
            f"site: {name!r} is not allowed; radiotherapy is given to one named site per item, so "
            "write one item per site, e.g. 'radiotherapy 8 Gy to lung + radiotherapy 8 Gy to "
            "liver x3'"
        )
    if key in _SITE_ALIASES:
        return _SITE_ALIASES[key]
    msg = did_you_mean(name, [k for k in _SITE_ALIASES if "_" not in k], what="site", n=1)
    if "did you mean" not in msg:
        msg = f"unknown site {name!r}; known sites: {', '.join(SITES)}"
    raise UnknownSiteError(msg)


def _site_text(site: str) -> str:
    return site.replace("_", " ")


def _drug_site_message(drug: str, site: str) -> str:
    return (
        f"site: {drug} is a drug, not radiotherapy; a site ('to {site}') is only for "
        "radiotherapy (a drug reaches every site); remove it"
    )


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
    "external beam": "external beam",
    "ebrt": "external beam",
}
_DOSE_UNIT_HINT = {"mass": "mg", "cells": "cells", "IU": "IU", "PFU": "PFU"}


def _canon(x: float) -> float:
    """Round to 12 significant digits so text round trips give identical floats."""
    return float(f"{x:.12g}")


def _is_radiation(drug: str) -> bool:
    return get_drug(drug).modality == "radiation"


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

    def text(self, *, with_route: bool = True, with_site: bool = True) -> str:
        """Canonical text: ``drug dose [route [infusion]]`` or ``radiotherapy dose [to site]``."""
        out = f"{self.drug} {self.dose}"
        if self.site is not None:
            return out + (f" to {_site_text(self.site)}" if with_site else "")
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
    override the default start. ``weekdays`` gives a daily interval Monday to Friday only
    (the phase's first day is taken as a Monday; sets ``interval_days`` to 1 when None).

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

    def __post_init__(self) -> None:
        adms = tuple(self.administrations)
        if not adms:
            raise RegimenError("a phase needs at least one drug, e.g. 'pembrolizumab 200 mg IV'")
        object.__setattr__(self, "administrations", adms)
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
        if kinds == 0:
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
        if radiation and self.interval_days is not None and self.count is None:
            raise RegimenError(
                "count: radiotherapy needs a number of fractions; add one such as x5 (it cannot "
                "repeat to the horizon or until progression), e.g. 'radiotherapy 2 Gy x30 to "
                "primary'"
            )
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

    @property
    def is_radiotherapy(self) -> bool:
        """True if the phase has a radiotherapy item."""
        return any(a.is_radiotherapy for a in self.administrations)

    def __str__(self) -> str:
        adms = self.administrations
        radiation = self.is_radiotherapy
        shared = not radiation and len({(a.route, a.duration_days) for a in adms}) == 1
        # a lone radiotherapy item writes its site after the schedule: "... x3 to lung"
        site_last = len(adms) == 1 and radiation
        if shared:
            text = " + ".join(a.text(with_route=False) for a in adms)
            text += f" {adms[0].route}" + _infusion_text(adms[0].duration_days)
        else:
            text = " + ".join(a.text(with_site=not site_last) for a in adms)
        if self.once:
            text += " once"
        elif self.days is not None:
            lo, hi = self.days
            text += f" d{lo}" if lo == hi else f" d{lo} to d{hi}"
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
class Track:
    """Phases given one after another (joined by ", then"), from day 0 of the regimen.

    A regimen with several tracks (joined by " with ") runs them side by side.
    """

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        phases = tuple(self.phases)
        if not phases:
            raise RegimenError("a regimen needs at least one phase, e.g. " + EXAMPLES[0])
        for i, ph in enumerate(phases):
            if not isinstance(ph, Phase):
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
        return ", then ".join(str(p) for p in self.phases)


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

    @classmethod
    def parse(cls, text: str) -> Regimen:
        """Parse a regimen string (see the module docstring for the grammar)."""
        return parse_regimen(text)

    def __str__(self) -> str:
        return " with ".join(str(t) for t in self.tracks)

    def __repr__(self) -> str:
        return f"Regimen.parse({str(self)!r})"

    @property
    def phases(self) -> tuple[Phase, ...]:
        """Every phase of every track, in track order (the ``phase`` column of a schedule
        indexes this tuple)."""
        return tuple(ph for t in self.tracks for ph in t.phases)

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
    "bare_rt": re.compile(rf"(?:{_NUM})\s*[cm]?Gy\b", re.I),
    "route": re.compile(
        r"(IV|SC|IM|PO|intralesional|intravenous|subcutaneous|intramuscular|oral"
        r"|external\s+beam|EBRT)\b",
        re.I,
    ),
    "over": re.compile(r"over\s+(?P<dur>\d+(?:\.\d+)?\s*[A-Za-z]+)\b", re.I),
    "as_a": re.compile(r"as\s+an?\s+(?P<dur>\d+(?:\.\d+)?\s*[A-Za-z]+)\s+infusion\b", re.I),
    "plus": re.compile(r"\+"),
    "then": re.compile(r",\s*then\b\s*", re.I),
    "with": re.compile(r"(?:with\b|;)\s*", re.I),
    "site": re.compile(
        r"to\b\s*(?P<site>all(?:\s+sites?)?\b|lymph[\s_]+nodes?\b|soft[\s_]+tissues?\b"
        r"|primary\s+tumou?r\b|(?!d-?\d)[A-Za-z_]+\b)?",
        re.I,
    ),
    "cycles": re.compile(
        r",\s*(?P<n>-?\d+)\s+cycles?\s+(?P<gap>\d+(?:\.\d+)?)\s+days?\s+apart\b", re.I
    ),
    "once": re.compile(r"once\b", re.I),
    "qn": re.compile(r"q(?P<n>\d+(?:\.\d+)?)\s*(?P<u>w|wk|weeks?|d|days?|h|hr|hours?)\b", re.I),
    "weekdays": re.compile(r"(?:weekdays|5\s+fractions?\s*(?:/|per|a)\s*week)\b", re.I),
    "named": re.compile(r"(?P<w>qd|daily|bid|tid|weekly|twice\s+daily)\b", re.I),
    "days": re.compile(r"d(?P<a>-?\d+)(?:\s+to\s+d(?P<b>-?\d+))?\b", re.I),
    "count": re.compile(r"x\s*(?P<n>[-+]?\d+)\b", re.I),
    "until": re.compile(r"until\s+progression\b", re.I),
    "starting": re.compile(r"starting\s+(?:d|day\s*)(?P<d>-?\d+)\b", re.I),
    "after": re.compile(r"after\s+(?P<n>\d+(?:\.\d+)?)\s+(?P<u>weeks?|days?)\b", re.I),
}
# words that may follow a dose but are never its unit ("radiotherapy 8 x3" has no unit)
_NOT_A_UNIT = re.compile(
    r"(?:x\d+|once|to|with|then|over|as|weekdays|until|starting|after|qd|daily|bid|tid|weekly"
    r"|q\d+\w*|d-?\d+)$",
    re.I,
)
_NAMED_INTERVAL = {"qd": 1.0, "daily": 1.0, "bid": 0.5, "tid": 1.0 / 3.0, "weekly": 7.0}
_UNIT_DAYS = {"w": 7.0, "d": 1.0, "h": 1.0 / 24.0}
_SITE_HINT = "'to SITE' with SITE one of " + ", ".join(_site_text(s) for s in SITES)

# one parsed item: drug, dose, route, infusion duration, position, site
_Raw = tuple[str, DoseAmount, str | None, float | None, int, str | None]


class _Parser:
    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise RegimenError(f"a regimen is a string such as {EXAMPLES[0]!r}, got {text!r}")
        self.text = text
        self.pos = 0
        self.names = drug_names_and_aliases()

    # -- helpers -------------------------------------------------------------------------
    def fail(
        self, msg: str, expected: str, pos: int | None = None, cls: type = RegimenError
    ) -> NoReturn:
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
        tracks = [self.track()]
        while self.match("with") is not None:
            tracks.append(self.track())
        if not self.at_end():
            self.fail(f"unexpected {self.token()!r}", "', then', ' with' or the end of the regimen")
        return Regimen(tracks=tuple(tracks))

    def track(self) -> Track:
        phases = [self.phase()]
        while self.match("then") is not None:
            phases.append(self.phase())
        self.skip()
        try:
            return Track(tuple(phases))
        except RegimenError as exc:
            self.fail(str(exc), "a count (x4) on the open-ended phase")
        raise AssertionError  # pragma: no cover

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

    def site(self) -> tuple[str, int] | None:
        """``to SITE`` at the current position: (canonical site, position of 'to') or None."""
        self.skip()
        pos = self.pos
        m = self.match("site")
        if m is None:
            return None
        if m.group("site") is None:
            self.fail("missing site after 'to'", _SITE_HINT)
        try:
            return canonical_site(m.group("site")), pos
        except RegimenError as exc:
            self.fail(str(exc), _SITE_HINT, pos=m.start("site"), cls=type(exc))
        raise AssertionError  # pragma: no cover

    def admin(self) -> _Raw:
        self.skip()
        if _RE["bare_rt"].match(self.text, self.pos):  # "8 Gy x3 to lung"
            drug = "radiotherapy"
        else:
            drug = self.drug()
        radiation = _is_radiation(drug)
        self.skip()
        dose_pos = self.pos
        m = self.match("dose")
        if m is None:
            self.fail(
                f"missing dose for {drug}",
                "a dose per fraction such as '8 Gy' or '180 cGy'"
                if radiation
                else "a dose such as '200 mg', '3 mg/kg', '75 mg/m2' or '2e6 cells/kg'",
            )
        unit = m.group("unit")
        if unit is not None and (unit.lower() in _ROUTES or _NOT_A_UNIT.match(unit)):
            self.pos = m.start("unit")
            unit = None
        if unit is None:
            num = self.text[dose_pos : self.pos].strip()
            self.fail(
                f"the dose {num!r} has no unit",
                "a unit: Gy or cGy (per fraction)"
                if radiation
                else "a unit such as mg, mg/kg, mg/m2, cells, cells/kg, IU/kg or PFU",
                pos=self.pos,
                cls=RegimenUnitError,
            )
        try:
            dose = parse_dose(f"{m.group('num')} {unit}", field=f"dose of {drug}")
        except UnitError as exc:
            self.fail(str(exc), "a dose > 0 in a dose unit", pos=dose_pos, cls=RegimenUnitError)
        route = None
        rm = self.match("route")
        if rm is not None:
            route = _ROUTES[re.sub(r"\s+", " ", rm.group(1).lower())]
        duration = self.infusion()
        site = None
        found = self.site()
        if found is not None:
            site, site_pos = found
            if not radiation:
                self.fail(
                    _drug_site_message(drug, _site_text(site)),
                    "a schedule (q3w); 'to SITE' only after radiotherapy",
                    pos=site_pos,
                )
        return drug, dose, route, duration, dose_pos, site

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
        raw = [self.admin()]
        while self.match("plus") is not None:
            raw.append(self.admin())
        adm_end = self.pos
        # a route/infusion written last applies to earlier drugs that have none
        # a drug with neither route nor infusion of its own takes both from the next drug;
        # radiotherapy items neither give nor take a route
        route, duration = None, None
        for i in range(len(raw) - 1, -1, -1):
            d, dose, r, dur, pos, site = raw[i]
            if _is_radiation(d):
                continue
            if r is not None or dur is not None:
                route, duration = r, dur
            raw[i] = (d, dose, route, duration, pos, site)
        fields: dict = {}
        sched_pos = None
        phase_site: tuple[str, int] | None = None
        while True:
            self.skip()
            pos = self.pos
            if (
                self.at_end()
                or _RE["then"].match(self.text, self.pos)
                or _RE["with"].match(self.text, self.pos)
            ):
                break
            if (m := self.match("cycles")) is not None:
                fields["cycles"] = int(m.group("n"))
                fields["cycle_gap_days"] = float(m.group("gap"))
                if fields["cycles"] < 1:
                    self.fail(f"{m.group('n')} cycles", "a number of cycles >= 1", pos=pos + 1)
                if phase_site is None:  # "x5, 6 cycles 2 days apart to primary"
                    phase_site = self.site()
                break
            if (m := self.match("once")) is not None:
                self._set(fields, "once", True, pos)
            elif (m := self.match("qn")) is not None:
                n = float(m.group("n"))
                if n <= 0:
                    self.fail(f"interval {m.group(0)!r} is zero", "an interval > 0 (q3w)", pos)
                self._set(fields, "interval_days", n * _UNIT_DAYS[m.group("u")[0].lower()], pos)
            elif self.match("weekdays") is not None:
                self._set(fields, "weekdays", True, pos)
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
            elif (found := self.site()) is not None:
                if phase_site is not None:
                    self.fail("site given twice", "each schedule item once", pos)
                phase_site = found
                continue
            else:
                self.fail(
                    f"unexpected {self.token()!r}",
                    "a schedule (q3w, q2w, qd, bid, q8h, once, d1, d-5 to d-3), a count (x4), "
                    "'until progression', 'to SITE' (radiotherapy), ', N cycles G days apart', "
                    "', then', ' with' or the end",
                )
            sched_pos = sched_pos if sched_pos is not None else pos
        if phase_site is not None:
            raw = self._apply_site(raw, *phase_site)
        adms = []
        for d, dose, r, dur, pos, site in raw:
            if r is None and not _is_radiation(d):
                self.fail(
                    f"missing route for {d}", "a route: IV, SC, IM, PO or intralesional", adm_end
                )
            if site is None and _is_radiation(d):
                self.fail(f"missing site for {d} (the site irradiated)", _SITE_HINT)
            try:
                adms.append(Administration(d, dose, r, dur or 0.0, site))
            except RegimenError as exc:
                self.fail(str(exc), "a dose and route that fit the drug", pos=pos, cls=type(exc))
        try:
            return Phase(tuple(adms), **fields)
        except RegimenError as exc:
            at = sched_pos if sched_pos is not None else self.pos
            if not fields or not (set(fields) & {"once", "interval_days", "days"}):
                at = self.pos
            radiation = any(a.is_radiotherapy for a in adms)
            hint = "a number of fractions such as 'x3' or 'q2d x3'" if radiation else "'q3w x4'"
            self.fail(str(exc), f"a valid schedule such as {hint}", pos=at)
        raise AssertionError  # pragma: no cover

    def _apply_site(self, raw: list[_Raw], site: str, pos: int) -> list[_Raw]:
        """Give the phase's ``to SITE`` (written after the schedule) to its radiotherapy."""
        rt = [i for i, r in enumerate(raw) if _is_radiation(r[0])]
        if not rt:
            self.fail(
                _drug_site_message(raw[0][0], _site_text(site)),
                "a schedule item or the end; 'to SITE' only after radiotherapy",
                pos,
            )
        missing = [i for i in rt if raw[i][5] is None]
        if not missing:
            self.fail("site given twice", "one 'to SITE' per radiotherapy item", pos)
        if len(missing) > 1:
            self.fail(
                f"'to {_site_text(site)}' after the schedule is ambiguous: the phase has "
                f"{len(missing)} radiotherapy items without a site",
                "'to SITE' right after each radiotherapy dose ('8 Gy to lung + 8 Gy to liver')",
                pos,
            )
        i = missing[0]
        out = list(raw)
        out[i] = (*raw[i][:5], site)
        return out

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

    Radiotherapy (fractions daily unless an interval is given) alongside a drug:

    >>> r = parse_regimen("SBRT 8 Gy daily x3 to lungs with pembrolizumab 200 mg IV q3w x35")
    >>> r
    Regimen.parse('radiotherapy 8 Gy x3 to lung with pembrolizumab 200 mg IV q3w x35')
    >>> s = r.schedule(30)
    >>> s.time.tolist()
    [0.0, 0.0, 1.0, 2.0, 21.0]
    >>> s.drug.tolist()
    ['radiotherapy', 'pembrolizumab', 'radiotherapy', 'radiotherapy', 'pembrolizumab']
    >>> s.site.tolist()
    ['lung', '', 'lung', 'lung', '']
    """
    return _Parser(text).regimen()
