"""Dosing rules: when treatment stops for a patient, declared apart from any model or trial.

A :class:`DosingRules` says what a prescriber would: stop at progression, stop at a grade >= 3
toxicity (with a steroid course), stop after a maximal duration. The simulation layer applies
them to any model with clinical readouts (:func:`oncotwin.simulation.solve_with_rules`); a
trial builds them from its spec's ``[treatment]`` table; a regimen's own "until progression"
phases stop at progression whatever the rules say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import RegimenError

__all__ = ["CHECKPOINT_CLASSES", "STOP_REASONS", "DosingRules"]

#: Why dosing stopped for a patient ('' where it never did).
STOP_REASONS: tuple[str, ...] = ("", "toxicity", "progression", "duration")

#: Mechanism classes of immune checkpoint inhibitors (the usual 2-year cap applies to them).
CHECKPOINT_CLASSES: tuple[str, ...] = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4")


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
    max_days_by_class
        Per mechanism class (e.g. ``"anti-PD-1"``): give no dose of that class that starts
        more than this many days after the patient's first dose of it; other drugs go on
        (e.g. the 2-year cap of checkpoint inhibitors beside pemetrexed maintenance).

    Examples
    --------
    >>> DosingRules(stop_on_toxicity=True).any
    True
    >>> DosingRules.from_treatment(["progression"], max_duration_months=24).max_duration_days
    730.5
    >>> DosingRules(max_days_by_class={"anti-PD-1": 730.5}).any
    True
    """

    stop_on_progression: bool = False
    stop_on_toxicity: bool = False
    max_duration_days: float = math.inf
    max_days_by_class: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.max_duration_days
        if not (isinstance(d, int | float) and not math.isnan(d) and d > 0):
            raise RegimenError(
                f"max_duration_days={d!r}; give a positive number of days (inf: no limit)"
            )
        _check_class_caps(self.max_days_by_class, "max_days_by_class", "days")
        object.__setattr__(self, "max_days_by_class", dict(self.max_days_by_class))

    @property
    def any(self) -> bool:
        """Whether any rule can stop dosing."""
        return (
            self.stop_on_progression
            or self.stop_on_toxicity
            or math.isfinite(self.max_duration_days)
            or bool(self.max_days_by_class)
        )

    @classmethod
    def from_treatment(
        cls,
        discontinue_on: object,
        *,
        max_duration_months: float | None = None,
        field: str = "discontinue_on",
        max_months_by_class: Mapping[str, float] | None = None,
    ) -> DosingRules:
        """Rules from a trial spec's ``[treatment]`` table (``discontinue_on`` names among
        'progression' and 'toxicity'; ``max_duration_months`` and ``max_months_by_class``
        in months of 30.4375 days); ``field`` names the input in error messages."""
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
            max_days_by_class=_class_days(max_months_by_class),
        )


def _class_days(months_by_class: Mapping[str, float] | None) -> dict[str, float]:
    """Per-class caps in months -> days (checked first, so errors name months)."""
    if not months_by_class:
        return {}
    _check_class_caps(months_by_class, "max_months_by_class", "months")
    return {k: float(v) * DAYS_PER_MONTH for k, v in months_by_class.items()}


def _check_class_caps(caps: object, name: str, unit: str) -> None:
    """Keys must be mechanism classes of the drug catalog, values positive finite numbers."""
    from oncotwin.pharmacology.catalog import MECHANISMS

    if not isinstance(caps, Mapping):
        raise RegimenError(
            f'{name}={caps!r}; give a table of mechanism class -> {unit}, e.g. {{"anti-PD-1": 24}}'
        )
    for cls, value in caps.items():
        if cls not in MECHANISMS:
            raise RegimenError(
                f"{name}: unknown mechanism class {cls!r}; use one of {', '.join(MECHANISMS)} "
                f"(checkpoint inhibitors: {', '.join(CHECKPOINT_CLASSES)})"
            )
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and value > 0):
            raise RegimenError(
                f"{name}[{cls!r}]={value!r}; give a positive, finite number of {unit}"
            )
