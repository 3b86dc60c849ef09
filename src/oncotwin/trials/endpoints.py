"""Trial endpoints of assessed populations: response rates, Kaplan-Meier, Cox, safety, subgroups.

Survival estimation is lifelines' (Kaplan-Meier, Cox proportional hazards, log-rank); this
module only shapes its input and output into the project's tables (``docs/trial_tables.md``,
``summary``) and turns the cases lifelines would warn or fail on (an arm without events, a
subgroup of three patients) into NaN with a note, so a batch of trials never stops on one
degenerate arm. Durations come in days and are reported in months of 30.4375 days (365.25/12).
Outputs are research simulations, not medical advice.

This is the public module; the code lives in private modules behind it: proportions
(:func:`clopper_pearson`, :func:`response_rates`, :func:`safety_rates`) in ``_rates``,
time-to-event endpoints (:func:`km`, :func:`compare_arms`, :func:`subgroup_analysis`) in
``_survival`` and the ``summary`` table (:func:`summarise`) in ``_summary``.

Examples
--------
>>> from oncotwin.trials.endpoints import clopper_pearson
>>> low, high = clopper_pearson(5, 20)
>>> round(float(low), 4), round(float(high), 4)
(0.0866, 0.491)
"""

from __future__ import annotations

from oncotwin._constants import DAYS_PER_MONTH as MONTH_DAYS
from oncotwin.trials._rates import Rate, clopper_pearson, response_rates, safety_rates
from oncotwin.trials._summary import SUMMARY_COLUMNS, summarise
from oncotwin.trials._survival import KMSummary, compare_arms, km, subgroup_analysis

__all__ = [
    "MONTH_DAYS",
    "SUMMARY_COLUMNS",
    "KMSummary",
    "Rate",
    "clopper_pearson",
    "compare_arms",
    "km",
    "response_rates",
    "safety_rates",
    "subgroup_analysis",
    "summarise",
]
