"""Regimens: a small grammar for dosing regimens (drugs, radiotherapy, concurrent tracks).

>>> from oncotwin.regimens import parse_regimen
>>> parse_regimen("pembrolizumab 200 mg IV q3w x3").schedule(365).time.tolist()
[0.0, 21.0, 42.0]
"""

from oncotwin.regimens.grammar import (
    EXAMPLES,
    SITES,
    Administration,
    Phase,
    Regimen,
    RegimenUnitError,
    Track,
    UnknownDrugError,
    UnknownSiteError,
    canonical_site,
    parse_regimen,
)
from oncotwin.regimens.rules import STOP_REASONS, DosingRules
from oncotwin.regimens.schedule import DoseSchedule, day_label_to_time

__all__ = [
    "EXAMPLES",
    "SITES",
    "STOP_REASONS",
    "Administration",
    "DoseSchedule",
    "DosingRules",
    "Phase",
    "Regimen",
    "RegimenUnitError",
    "Track",
    "UnknownDrugError",
    "UnknownSiteError",
    "canonical_site",
    "day_label_to_time",
    "parse_regimen",
]
