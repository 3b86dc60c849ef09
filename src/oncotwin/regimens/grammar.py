"""Regimen strings <-> typed regimen objects.

Grammar (case-insensitive; drug names and aliases from :mod:`oncotwin.pharmacology`)::

    regimen     := track (" with " track)*               (";" may stand for " with ")
    track       := phase (", then " phase)* (", " RULE)*
    RULE        := hold [DRUG] if READOUT >= G [until READOUT <= M]
                 | stop [DRUG] if READOUT >= G | stop [DRUG] after N days|weeks|months|years
                 | reduce [DRUG] by P% if READOUT >= G | steroids if READOUT >= G
                 READOUT: irAE, CRS, ICANS, neutropenia, capillary leak (grades 0-4); a rule
                 acts on its own track unless it names a drug (see ``docs/dosing_rules.md``)
    phase       := group (" + " group)*                  (concurrent groups, see below)
    group       := item (" + " item)* schedule* [SITE] [", " N " cycles " G " days apart"]
    item        := admin | COMBINATION | "placebo" [ROUTE]
    admin       := DRUG DOSE [ROUTE] [infusion] [SITE]
                 | RT_DOSE [SITE]                         e.g. "8 Gy x3 to lung" (radiotherapy)
    DOSE        := NUMBER UNIT           e.g. 200 mg, 3 mg/kg, 75 mg/m2, 2e6 cells/kg, 1e8 PFU,
                                         8 Gy, 180 cGy (radiotherapy: Gy per fraction)
                 | "AUC" NUMBER [mg/mL*min]      target AUC (Calvert), e.g. carboplatin AUC 5
                 | NUMBER UNIT "/day"            a rate: 28 ug/day, 1000 mg/m2/day (continuous)
                 followed by an optional loading dose "(loading DOSE)" (the group's first
                 dose: cetuximab 250 mg/m2 (loading 400 mg/m2) IV weekly) and an optional
                 cap "(max N mg)" on a mg/m2, mg/kg or AUC dose:
                 vincristine 1.4 mg/m2 (max 2 mg), carboplatin AUC 5 (max 800 mg)
    ROUTE       := IV | SC | IM | PO | intralesional | external beam
    infusion    := "over" DURATION | "as a" DURATION "infusion" | "continuous"
    SITE        := "to" (primary | lung | liver | bone | brain | lymph node | adrenal
                        | peritoneum | skin | soft tissue)           radiotherapy only
    schedule    := once | qNw | qNd | qNh | qd | daily | bid | tid | weekly | q1w | weekdays
                 | dN | dA to dB | DAYS | xN | until progression | starting dN
                 | after N weeks|days
    DAYS        := "d" N ["-" M] ("," N ["-" M])*    days within a cycle: d1,8  d1-5  d1-3,8
    COMBINATION := FOLFOX | FOLFIRI | CAPOX | R-CHOP | R-ICE | EXTREME | gem-cis | carbo-pem
                 | carbo-pac | ...                   (see ``oncotwin drugs``)

**Concurrent groups.** A schedule binds to the unscheduled items just before it, so
``A + B IV q3w x4 + C IV d1-3 q3w x4`` is two scheduled groups, ``[A + B] q3w x4`` and
``[C] d1-3 q3w x4``, given side by side from the phase's first day (a :class:`Concurrent`
block; one group is a plain :class:`Phase`, so every regimen of the older grammar reads as
before). A ``, then`` after the block applies after *all* its groups: the next phase starts at
the latest end over the counted groups (an interval group ends one interval after its last
dose; a group with days in its cycles ends after its last cycle), i.e. on the day the next cycle
would have begun: ``atezolizumab 1200 mg + carboplatin AUC 5 IV q3w x4 + etoposide 100 mg/m2 IV
d1-3 q3w x4, then atezolizumab 1200 mg IV q3w until progression`` gives maintenance from day
84. A group with no count (``pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 IV q3w +
carboplatin AUC 5 IV q3w x4``) runs to the horizon (or progression) when no phase follows, and
until the block ends when one does; a block whose groups all lack a count cannot be followed.
So in ``gemcitabine 1250 mg/m2 IV d1,8 q3w + cisplatin 75 mg/m2 IV q3w x4`` gemcitabine goes on
after cisplatin's four cycles: write ``x4`` on both to stop both. Only the first group may say
``starting dN`` / ``after N weeks`` (for the whole block). Items after the last schedule are
an error, except ``placebo``, which joins the group before it. The schedule's ``phase`` column
indexes ``regimen.phases`` (a block is one phase) and its ``group`` column the group.

**Days within a cycle.** With an interval, days are the days of each cycle and the interval
is the cycle length (it must hold them): ``d1,8 q3w`` on days 1 and 8 of every 21;
``d1-21 q4w``; ``xN`` is then the number of cycles (``d1-3 q3w x4``: 12 doses). ``bid``/``tid``
with days gives 2 or 3 doses a day on each (``capecitabine 1000 mg/m2 PO bid d1-14 q3w``).
Without an interval ``d1,8`` gives the listed days once (``d1-3`` is ``d1 to d3``).

**AUC dosing.** ``carboplatin AUC 5`` (also ``AUC5``, ``AUC 5 mg/mL*min``; the unit of AUC is
mg·min/mL) is dosed per patient by Calvert's formula, dose [mg] = AUC x (min(CrCl, 125) + 25),
from each patient's Cockcroft-Gault creatinine clearance (a population's ``crcl_ml_min``), the
estimated GFR capped at 125 mL/min as the FDA advises. Only drugs whose catalog entry says
``auc_dosing`` take an AUC (any other is refused, naming the drug).

**Continuous infusion at a rate.** A dose per day (``blinatumomab 28 ug/day IV continuous
d1-28 q6w x2``, ``fluorouracil 1000 mg/m2/day IV continuous d1-4 q3w``) is one infusion per
cycle over its day range: amount = rate x days, duration = those days. It needs one range of
days; ``continuous`` may be left out (a rate is always continuous) and is always printed.

**Named combinations** (data: ``regimens/data/combinations.toml``, each with its source) take
a schedule like a drug: ``FOLFOX q2w until progression``, ``R-CHOP q3w x6``; the interval is
the cycle length (its default when none is written), ``xN`` the number of cycles. They expand
to their drugs, doses and days (one group per set of days: R-CHOP's prednisone on d1-5), and
``str`` shows the expansion (which pastes back). Drugs written before a combination without a
schedule of their own join its day-1 group; a misspelt name gets "did you mean".

**Placebo** may stand anywhere a drug may (``placebo + paclitaxel 175 mg/m2 IV q3w x6``,
``pembrolizumab 200 mg IV q3w + placebo``): it gives no dose (``regimen.placebo`` says it is
there; it is printed first in its group). A placebo alone needs a schedule
(``placebo IV q3w until progression``).

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
* ``N cycles G days apart``: cycle k+1 begins G days after cycle k's last dose;
* after a concurrent block: the latest end of its counted groups (see above).

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
from oncotwin.regimens._dose_rules import DoseRule
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
    "DoseRule",
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
