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

Limits (each refused with one message naming the limit): a count ``xN`` or a number of cycles
above 10,000; a day label or ``starting dN`` more than 50 years from day 0; an interval, gap or
delay longer than 50 years; a horizon above 50 years; a schedule of more than 100,000 dose
events within its horizon (counted before any is built). A count whose doses run past the
horizon is **truncated**: the doses after the horizon are not given (``x35`` over 12 months of
follow-up gives the 18 doses within them).

The implementation lives in private modules (``_names``: sites, routes and errors;
``_objects``: the typed objects; ``_parser``: the parser); this module is the public face.
"""

from __future__ import annotations

from oncotwin.regimens._combinations import Combination, all_combinations, get_combination
from oncotwin.regimens._names import (
    EXAMPLES,
    SITES,
    RegimenUnitError,
    UnknownDrugError,
    UnknownSiteError,
    canonical_site,
)
from oncotwin.regimens._objects import Administration, Concurrent, Phase, Regimen, Track
from oncotwin.regimens._parser import parse_regimen

__all__ = [
    "EXAMPLES",
    "SITES",
    "Administration",
    "Combination",
    "Concurrent",
    "Phase",
    "Regimen",
    "RegimenUnitError",
    "Track",
    "UnknownDrugError",
    "UnknownSiteError",
    "all_combinations",
    "canonical_site",
    "get_combination",
    "parse_regimen",
]
