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
