"""Dosing rules written in a regimen: hold, reduce, stop and steroids that react to readouts.

A track's phases may be followed by rule clauses, each after a comma::

    rule     := "hold" [DRUG] "if" READOUT ">=" G ["until" READOUT "<=" M]
              | "stop" [DRUG] "if" READOUT ">=" G
              | "stop" [DRUG] "after" N ("days" | "weeks" | "months" | "years")
              | "reduce" [DRUG] "by" P "%" "if" READOUT ">=" G
              | "steroids if" READOUT ">=" G
    READOUT  := irAE | CRS | ICANS | neutropenia | capillary leak      (grades 0-4)

e.g. ``pembrolizumab 200 mg IV q3w until progression, hold if irAE >= 2 until irAE <= 1,
stop if irAE >= 4, stop after 24 months``. A rule acts on the doses of its own track unless
it names a drug (``reduce carboplatin by 25% if neutropenia >= 3``: that drug wherever it is
given). The simulation layer applies them (:mod:`oncotwin.simulation._rules`); what each
rule means, day by day, is in ``docs/dosing_rules.md``.

This module holds the typed rule (:class:`DoseRule`), its canonical text and the checks
that refuse impossible or conflicting rules (one message naming the clause).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from oncotwin._constants import DAYS_PER_MONTH, DAYS_PER_YEAR
from oncotwin.errors import RegimenError

__all__ = [
    "READOUTS",
    "RULE_ACTIONS",
    "DoseRule",
    "check_rules",
    "readout_name",
    "stop_after_mask",
]

#: Readouts a rule may name: canonical key -> the spelling printed (grades 0-4; the keys are
#: the toxicity kinds of :class:`oncotwin.models.readouts.Toxicity`).
READOUTS: dict[str, str] = {
    "irae": "irAE",
    "crs": "CRS",
    "icans": "ICANS",
    "neutropenia": "neutropenia",
    "capillary_leak": "capillary leak",
}

#: What a rule does.
RULE_ACTIONS: tuple[str, ...] = ("hold", "stop", "reduce", "steroids")

#: Units of ``stop after N UNIT`` [day per unit].
_AFTER_UNITS: dict[str, float] = {
    "day": 1.0,
    "week": 7.0,
    "month": DAYS_PER_MONTH,
    "year": DAYS_PER_YEAR,
}
#: Longest ``stop after`` (the grammar's 50-year limit on any delay).
_MAX_AFTER_DAYS = 50 * DAYS_PER_YEAR


def readout_name(text: str) -> str:
    """The canonical key of readout ``text`` (any case; ``capillary_leak``, ``capillary-leak``
    and ``capillary leak`` alike); an unknown one raises with a did-you-mean."""
    key = re.sub(r"[\s_-]+", "_", str(text).strip().lower())
    if key in READOUTS:
        return key
    shown = {v.lower(): k for k, v in READOUTS.items()} | {k: k for k in READOUTS}
    near = difflib.get_close_matches(str(text).strip().lower(), list(shown), n=1, cutoff=0.5)
    hint = f"did you mean {READOUTS[shown[near[0]]]!r}? " if near else ""
    raise RegimenError(
        f"unknown readout {text!r} in a dosing rule; {hint}use one of "
        f"{', '.join(READOUTS.values())} (toxicity grades 0-4)"
    )


def _num(x: float) -> str:
    """A number as the grammar prints it (no trailing zeros)."""
    return f"{x:g}" if abs(x) < 1e15 else repr(float(x))


@dataclass(frozen=True)
class DoseRule:
    """One dosing rule of a track (see the module docstring for the grammar).

    Parameters
    ----------
    action
        ``"hold"``, ``"stop"``, ``"reduce"`` or ``"steroids"``.
    readout
        Canonical readout key (:data:`READOUTS`); ``None`` for ``stop after``.
    grade
        The rule acts when the readout reaches this grade (1-4).
    until
        ``hold`` only: doses resume once the readout is at most this grade (below ``grade``).
    percent
        ``reduce`` only: each reduction lowers the dose by this percentage (0 < P < 100).
    after
        ``stop after`` only: ``(number, unit)`` with unit one of day, week, month, year.
    drug
        The drug the rule acts on (catalog name); ``None``: every drug of its track.
    """

    action: str
    readout: str | None = None
    grade: int | None = None
    until: int | None = None
    percent: float | None = None
    after: tuple[float, str] | None = None
    drug: str | None = None

    def __post_init__(self) -> None:
        if self.action not in RULE_ACTIONS:
            raise RegimenError(
                f"dosing rule action {self.action!r}; use one of {', '.join(RULE_ACTIONS)}"
            )
        if self.after is not None:
            self._check_after()
            return
        if self.readout is None or self.grade is None:
            raise RegimenError(
                f"'{self.action}' needs a condition such as 'if irAE >= 3' (or 'stop after 24 "
                "months')"
            )
        object.__setattr__(self, "readout", readout_name(self.readout))
        self._check_grade(self.grade, "if", 1)
        if self.action == "hold":
            until = self.grade - 1 if self.until is None else self.until
            self._check_grade(until, "until", 0)
            if until >= self.grade:
                raise RegimenError(
                    f"'{self.text()}' cannot end: the hold would end while it still holds "
                    f"({self.readout_text} >= {self.grade} and <= {until}); give 'until "
                    f"{self.readout_text} <= {self.grade - 1}' or lower"
                )
            object.__setattr__(self, "until", int(until))
        elif self.until is not None:
            raise RegimenError(f"'until' belongs to a hold, not to '{self.action}'")
        if self.action == "reduce":
            p = self.percent
            ok = isinstance(p, int | float) and not isinstance(p, bool) and math.isfinite(p)
            if not (ok and 0 < p < 100):  # type: ignore[operator]
                shown = _num(p) if ok else repr(p)  # type: ignore[arg-type]
                raise RegimenError(
                    f"'reduce by {shown}%' is impossible: give 0 < P < 100 percent (to end dosing "
                    "write 'stop if ...')"
                )
            object.__setattr__(self, "percent", float(p))  # type: ignore[arg-type]
        elif self.percent is not None:
            raise RegimenError(f"'by P%' belongs to a reduction, not to '{self.action}'")
        if self.action == "steroids" and self.drug is not None:
            raise RegimenError(
                f"'steroids' starts the model's steroid course and names no drug (got "
                f"{self.drug!r}); write 'steroids if irAE >= 2'"
            )
        object.__setattr__(self, "grade", int(self.grade))

    def _check_grade(self, g: object, where: str, lo: int) -> None:
        if isinstance(g, bool) or not isinstance(g, int | float) or g != int(g):  # type: ignore[arg-type]
            raise RegimenError(f"'{where} ... {g!r}' in a dosing rule; give a whole grade")
        if not lo <= int(g) <= 4:  # type: ignore[arg-type]
            raise RegimenError(
                f"grade {g} in '{self.action} ... {where}' is outside {lo}-4 (CTCAE grades; "
                "grade 5 is death, which ends treatment anyway)"
            )

    def _check_after(self) -> None:
        if self.action != "stop" or self.readout is not None or self.grade is not None:
            raise RegimenError("'after N months' belongs to 'stop after ...' alone")
        n, unit = self.after  # type: ignore[misc]
        unit = str(unit).lower().rstrip("s")
        if unit not in _AFTER_UNITS:
            raise RegimenError(
                f"'stop after {n} {unit}': unknown unit; use days, weeks, months or years"
            )
        ok = isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n)
        if not (ok and n > 0 and n * _AFTER_UNITS[unit] <= _MAX_AFTER_DAYS):
            raise RegimenError(
                f"'stop after {n} {unit}s' is impossible: give a positive duration of at most "
                "50 years"
            )
        object.__setattr__(self, "after", (float(n), unit))

    @property
    def readout_text(self) -> str:
        """The readout as printed (e.g. ``irAE``)."""
        return READOUTS[self.readout] if self.readout else ""

    @property
    def after_days(self) -> float:
        """``stop after``: the duration [day] (``inf`` for every other rule)."""
        if self.after is None:
            return math.inf
        return self.after[0] * _AFTER_UNITS[self.after[1]]

    @property
    def factor(self) -> float:
        """``reduce``: what each reduction multiplies the dose by (1 for other rules)."""
        return 1.0 - self.percent / 100.0 if self.percent is not None else 1.0

    def text(self) -> str:
        """The canonical clause (pastes back into a regimen after a comma)."""
        who = f" {self.drug}" if self.drug else ""
        if self.after is not None:
            n, unit = self.after
            return f"stop{who} after {_num(n)} {unit}{'' if n == 1 else 's'}"
        cond = f"if {self.readout_text} >= {self.grade}"
        if self.action == "hold":
            return f"hold{who} {cond} until {self.readout_text} <= {self.until}"
        if self.action == "reduce":
            return f"reduce{who} by {_num(self.percent)}% {cond}"  # type: ignore[arg-type]
        if self.action == "steroids":
            return f"steroids {cond}"
        return f"stop{who} {cond}"

    def __str__(self) -> str:
        return self.text()


def _drugs_of(rule: DoseRule, track: int, track_drugs: Sequence[Sequence[str]]) -> set[str]:
    """The drugs a rule written on ``track`` acts on."""
    if rule.drug is not None:
        return {rule.drug}
    return set(track_drugs[track])


def check_rules(
    rules: Sequence[tuple[int, DoseRule]], track_drugs: Sequence[Sequence[str]]
) -> None:
    """Refuse rules that name a drug the regimen does not give, and rules that conflict
    (the same rule twice on a drug) or can never act (a hold or reduction at a grade a stop
    on the same readout reaches first). ``rules`` are ``(track index, rule)``;
    ``track_drugs`` the drugs of each track. One :class:`RegimenError` naming the clause."""
    given = {d for ds in track_drugs for d in ds}
    for _, r in rules:
        if r.drug is not None and r.drug not in given:
            raise RegimenError(
                f"'{r.text()}' names {r.drug}, which the regimen does not give; name one of "
                f"{', '.join(sorted(given))} or drop the drug to act on the rule's own track"
            )
        if r.drug == "radiotherapy":
            raise RegimenError(f"'{r.text()}': dosing rules act on drug doses, not radiotherapy")
    steroid_seen: dict[str, DoseRule] = {}
    for i, (ti, a) in enumerate(rules):
        if a.action == "steroids":
            prev = steroid_seen.get(a.readout)  # type: ignore[arg-type]
            if prev is not None:
                raise RegimenError(
                    f"'{a.text()}' and '{prev.text()}' both start steroids on "
                    f"{a.readout_text}; keep one"
                )
            steroid_seen[a.readout] = a  # type: ignore[index]
            continue
        da = _drugs_of(a, ti, track_drugs)
        for tj, b in rules[:i]:
            if b.action == "steroids":
                continue
            both = da & _drugs_of(b, tj, track_drugs)
            if not both:
                continue
            _check_pair(a, b, sorted(both))


def _check_pair(a: DoseRule, b: DoseRule, drugs: list[str]) -> None:
    """Two rules acting on the same ``drugs``: refuse a repeat or an unreachable one."""
    on = ", ".join(drugs)
    if a.after is not None or b.after is not None:
        if a.after is not None and b.after is not None:
            raise RegimenError(
                f"'{a.text()}' and '{b.text()}' both end {on}; keep the one you mean"
            )
        return
    if a.readout != b.readout:
        return
    if a.action == b.action:
        raise RegimenError(
            f"'{a.text()}' and '{b.text()}' both {a.action} {on} on {a.readout_text}; keep one"
        )
    stop, other = (a, b) if a.action == "stop" else (b, a) if b.action == "stop" else (None, None)
    if stop is not None and other is not None and other.grade >= stop.grade:  # type: ignore[operator]
        raise RegimenError(
            f"'{other.text()}' can never act: '{stop.text()}' stops {on} first; give it a "
            f"grade below {stop.grade} or drop it"
        )


def stop_after_mask(
    time: object, drug: object, track: object, rules: Sequence[tuple[int, DoseRule]]
) -> object:
    """Which rows of a schedule (``time``, ``drug``, ``track`` arrays) the ``stop after``
    rules keep: a dose of a rule's drugs that starts more than its duration after their first
    scheduled dose is not given (``stop after 24 months`` on q3w: 35 doses, days 0-714)."""
    import numpy as np

    t = np.asarray(time, dtype=float)
    keep = np.ones(t.shape, dtype=bool)
    for ti, r in rules:
        if r.after is None:
            continue
        on = np.asarray(drug) == r.drug if r.drug is not None else np.asarray(track) == ti
        if not on.any():
            continue
        first = t[on].min()
        keep &= ~(on & (t > first + r.after_days + 1e-9))
    return keep
