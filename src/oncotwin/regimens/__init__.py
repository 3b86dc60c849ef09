"""Regimens: a small grammar for dosing regimens and their expansion into dose events.

>>> from oncotwin.regimens import parse_regimen
>>> parse_regimen("pembrolizumab 200 mg IV q3w x3").schedule(365).time.tolist()
[0.0, 21.0, 42.0]
"""

from oncotwin.regimens.grammar import (
    EXAMPLES,
    Administration,
    Phase,
    Regimen,
    RegimenUnitError,
    UnknownDrugError,
    parse_regimen,
)
from oncotwin.regimens.schedule import DoseSchedule, day_label_to_time

__all__ = [
    "EXAMPLES",
    "Administration",
    "DoseSchedule",
    "Phase",
    "Regimen",
    "RegimenUnitError",
    "UnknownDrugError",
    "day_label_to_time",
    "parse_regimen",
]
