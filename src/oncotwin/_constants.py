"""Constants shared by every layer (one definition; everything else imports them)."""

from __future__ import annotations

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_WEEK", "DAYS_PER_YEAR", "DISCLAIMER"]

#: Days per year (Julian year), as in survival reporting.
DAYS_PER_YEAR: float = 365.25

#: Days per month (365.25 / 12 = 30.4375), used to turn months into days and back.
DAYS_PER_MONTH: float = DAYS_PER_YEAR / 12.0

#: Days per week.
DAYS_PER_WEEK: float = 7.0

#: The line every user-facing result carries.
DISCLAIMER = "Research simulation (oncotwin): not medical advice."

#: What a comparison with published values must say about the parameters (report and CLI).
PARAMETERS_NOTE = (
    "Parameters are literature-based defaults and flagged assumptions, not fitted to this "
    "trial, except three values derived from published arms (per-class irAE rates from "
    "CheckMate 067, the cancers' chemosensitivity from comparator arms, the grade-3 "
    "capillary-leak threshold from Atkins 1999), which are calibration quantities; the "
    "differences to the published values are reported as they are."
)
