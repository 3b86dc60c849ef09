"""Dosing rules: when treatment stops for a patient, declared apart from any model or trial.

A :class:`DosingRules` says what a prescriber would: stop at progression, stop at a grade >= 3
toxicity (with a steroid course), stop after a maximal duration. The simulation layer applies
them to any model with clinical readouts (:func:`oncotwin.simulation.solve_with_rules`); a
trial builds them from its spec's ``[treatment]`` table; a regimen's own "until progression"
phases stop at progression whatever the rules say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import RegimenError

__all__ = ["STOP_REASONS", "DosingRules"]

#: Why dosing stopped for a patient ('' where it never did).
STOP_REASONS: tuple[str, ...] = ("", "toxicity", "progression", "duration")


@dataclass(frozen=True, kw_only=True)
class DosingRules:
    """When dosing stops.

    Parameters
    ----------
    stop_on_progression
        Stop every dose after (true or scan-read) progression.
    stop_on_toxicity
        Stop every dose after the first grade >= 3 immune-related adverse event, and start a
        steroid course that day (where the model has a steroid state).
    max_duration_days
        Stop every dose that starts after this many days (``inf``: no limit).

    Examples
    --------
    >>> DosingRules(stop_on_toxicity=True).any
    True
    >>> DosingRules.from_treatment(["progression"], max_duration_months=24).max_duration_days
    730.5
    """

    stop_on_progression: bool = False
    stop_on_toxicity: bool = False
    max_duration_days: float = math.inf

    def __post_init__(self) -> None:
        d = self.max_duration_days
        if not (isinstance(d, int | float) and not math.isnan(d) and d > 0):
            raise RegimenError(
                f"max_duration_days={d!r}; give a positive number of days (inf: no limit)"
            )

    @property
    def any(self) -> bool:
        """Whether any rule can stop dosing."""
        return (
            self.stop_on_progression
            or self.stop_on_toxicity
            or math.isfinite(self.max_duration_days)
        )

    @classmethod
    def from_treatment(
        cls,
        discontinue_on: object,
        *,
        max_duration_months: float | None = None,
        field: str = "discontinue_on",
    ) -> DosingRules:
        """Rules from a trial spec's ``[treatment]`` table (``discontinue_on`` names among
        'progression' and 'toxicity'; ``max_duration_months`` in months of 30.4375 days);
        ``field`` names the input in error messages."""
        names = set(discontinue_on or ())  # type: ignore[call-overload]
        unknown = names - {"progression", "toxicity"}
        if unknown:
            raise RegimenError(
                f"{field}: unknown reason(s) {sorted(unknown)}; use 'progression' and/or 'toxicity'"
            )
        months = max_duration_months
        return cls(
            stop_on_progression="progression" in names,
            stop_on_toxicity="toxicity" in names,
            max_duration_days=float(months) * DAYS_PER_MONTH if months else math.inf,
        )
