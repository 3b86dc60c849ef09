"""Regimens: a small grammar for dosing regimens (drugs, radiotherapy, concurrent tracks).

>>> from oncotwin.regimens import parse_regimen
>>> parse_regimen("pembrolizumab 200 mg IV q3w x3").schedule(365).time.tolist()
[0.0, 21.0, 42.0]
"""

from oncotwin.regimens._dose_rules import READOUTS as RULE_READOUTS
from oncotwin.regimens._dose_rules import DoseRule
from oncotwin.regimens.grammar import (
    EXAMPLES,
    SITES,
    Administration,
    Combination,
    Concurrent,
    Phase,
    Regimen,
    RegimenUnitError,
    Track,
    UnknownDrugError,
    UnknownSiteError,
    all_combinations,
    canonical_site,
    get_combination,
    parse_regimen,
)
from oncotwin.regimens.rules import STOP_REASONS, DosingRules
from oncotwin.regimens.schedule import DoseSchedule, day_label_to_time

__all__ = [
    "EXAMPLES",
    "RULE_READOUTS",
    "SITES",
    "STOP_REASONS",
    "Administration",
    "Combination",
    "Concurrent",
    "DoseRule",
    "DoseSchedule",
    "DosingRules",
    "Phase",
    "Regimen",
    "RegimenUnitError",
    "Track",
    "UnknownDrugError",
    "UnknownSiteError",
    "all_combinations",
    "canonical_site",
    "day_label_to_time",
    "get_combination",
    "parse_regimen",
]
