"""Candidate regimens from ``--vary`` choices: doses, intervals, durations, whole regimens.

``--vary`` takes ``NAME=VALUES`` with NAME one of

* ``dose``: the dose of the varied drug, in the unit of the arm's regimen unless a value
  carries its own (``dose=100,200,400``; ``dose=240mg,480mg,3mg/kg``); a range
  ``dose=100:800`` is continuous (grid, then Bayesian optimisation), ``dose=100:800:100`` a
  grid with that step;
* ``interval``: weeks between doses (``interval=2,3,4,6`` or ``interval=q3w,q6w``; a range
  ``2:6`` is every whole week in it);
* ``duration``: months of treatment at most (``duration=12,24``; ``12:36`` continuous): the
  trial's ``max_duration_months``;
* ``regimen``: whole regimen strings separated by ``|`` (sequences and combinations:
  ``regimen=nivolumab 240 mg IV q2w|nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then
  nivolumab 480 mg IV q4w``).

Dose and interval are written into the arm's regimen text (the first dose and the first
``q<N>w`` of the varied drug), so everything else in the regimen (route, infusion, ``x35``,
``until progression``, later phases) is kept. Research simulation, not medical advice.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean

__all__ = ["VARY_NAMES", "Candidate", "RegimenTemplate", "Vary", "grid_candidates", "parse_vary"]

#: What ``--vary`` can vary.
VARY_NAMES = ("dose", "interval", "duration", "regimen")
#: Most candidates a grid may hold.
MAX_GRID = 400
_NUMBER = r"\d+(?:\.\d+)?"
_DOSE = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?P<unit>mg/kg|mg/m2|mg)?\s*$", re.IGNORECASE)
_INTERVAL = re.compile(rf"^\s*q?(?P<value>{_NUMBER})\s*w?\s*$", re.IGNORECASE)
_EXAMPLE = "e.g. --vary dose=100,200,400 --vary interval=3,6 --vary duration=12:24"


@dataclass(frozen=True)
class Vary:
    """One ``--vary`` choice: discrete ``values`` or a continuous range ``(lo, hi)``."""

    name: str
    values: tuple[object, ...] = ()
    lo: float = math.nan
    hi: float = math.nan
    unit: str = ""

    @property
    def continuous(self) -> bool:
        """True for a continuous range (searched by Bayesian optimisation after the grid)."""
        return not self.values

    def grid(self, points: int) -> tuple[object, ...]:
        """The values tried on the grid (``points`` evenly spaced for a range)."""
        if self.values:
            return self.values
        return tuple(float(x) for x in np.linspace(self.lo, self.hi, max(2, points)))


def _numbers(name: str, text: str, parse: re.Pattern[str]) -> list[tuple[float, str]]:
    out = []
    for part in text.split(","):
        m = parse.match(part)
        if m is None:
            raise OncotwinError(
                f"--vary {name}={text}: {part.strip()!r} is not a {name}; {_EXAMPLE}"
            )
        value = float(m.group("value"))
        if value <= 0:
            raise OncotwinError(f"--vary {name}={text}: {value:g} must be > 0")
        unit = (m.groupdict().get("unit") or "").lower()
        out.append((value, unit))
    return out


def parse_vary(item: str) -> Vary:
    """Parse one ``NAME=VALUES`` (see the module docstring).

    Examples
    --------
    >>> parse_vary("dose=100,200,400").values
    (100.0, 200.0, 400.0)
    >>> v = parse_vary("dose=100:800"); (v.continuous, v.lo, v.hi)
    (True, 100.0, 800.0)
    >>> parse_vary("interval=q3w,q6w").values
    (3.0, 6.0)
    """
    if "=" not in item:
        raise OncotwinError(f"--vary {item!r}: write NAME=VALUES; {_EXAMPLE}")
    name, _, text = item.partition("=")
    name, text = name.strip().lower(), text.strip()
    if name not in VARY_NAMES:
        raise UnknownNameError(
            f"--vary: {did_you_mean(name, VARY_NAMES, what='choice')} (vary one of "
            f"{', '.join(VARY_NAMES)})"
        )
    if not text:
        raise OncotwinError(f"--vary {name}=: no values; {_EXAMPLE}")
    if name == "regimen":
        texts = tuple(t.strip() for t in text.split("|") if t.strip())
        from oncotwin.regimens import parse_regimen

        for t in texts:
            parse_regimen(t)  # a RegimenError naming the problem
        return Vary(name, texts)
    if ":" in text:
        parts = text.split(":")
        parse = _DOSE if name == "dose" else _INTERVAL
        try:
            nums = [_numbers(name, p, parse)[0] for p in parts]
        except OncotwinError:
            raise OncotwinError(
                f"--vary {name}={text}: a range is LO:HI or LO:HI:STEP with numbers; {_EXAMPLE}"
            ) from None
        if len(nums) not in (2, 3) or not nums[0][0] < nums[1][0]:
            raise OncotwinError(
                f"--vary {name}={text}: a range is LO:HI (LO < HI) or LO:HI:STEP; {_EXAMPLE}"
            )
        lo, hi = nums[0][0], nums[1][0]
        units = {u for _, u in nums if u}
        if len(units) > 1:
            raise OncotwinError(f"--vary {name}={text}: a range has one unit; {_EXAMPLE}")
        unit = units.pop() if units else ""
        if len(nums) == 3 or name == "interval":
            step = nums[2][0] if len(nums) == 3 else 1.0
            vals = np.arange(lo, hi + step * 1e-9, step)
            if vals.size > MAX_GRID:
                raise OncotwinError(f"--vary {name}={text}: {vals.size} values; give a larger step")
            return Vary(name, tuple((float(v), unit) if name == "dose" else float(v) for v in vals))
        return Vary(name, (), lo, hi, unit)
    parse = _DOSE if name == "dose" else _INTERVAL
    nums = _numbers(name, text, parse)
    if name == "dose":
        if len({u for _, u in nums}) == 1:
            return Vary(name, tuple(v for v, _ in nums), unit=nums[0][1])
        return Vary(name, tuple(nums))
    return Vary(name, tuple(v for v, _ in nums))


@dataclass(frozen=True)
class RegimenTemplate:
    """An arm's regimen text with the varied drug's dose and interval located in it."""

    text: str
    drug: str
    dose_span: tuple[int, int] | None
    dose_unit: str
    interval_span: tuple[int, int] | None

    @classmethod
    def from_text(cls, text: str, drug: str | None = None) -> RegimenTemplate:
        """Locate the first dose and ``q<N>w`` of ``drug`` (default: the regimen's first drug).

        Examples
        --------
        >>> t = RegimenTemplate.from_text("nivolumab 3 mg/kg IV q2w until progression")
        >>> t.fill(dose=(480.0, "mg"), interval=4.0)
        'nivolumab 480 mg IV q4w until progression'
        """
        from oncotwin.pharmacology import get_drug
        from oncotwin.regimens import parse_regimen

        reg = parse_regimen(text)
        drugs = reg.drugs
        if not drugs:
            raise OncotwinError(f"regimen {text!r} doses no drug; nothing to vary")
        name = drugs[0] if drug is None else get_drug(drug).name
        if name not in drugs:
            raise UnknownNameError(f"--drug: {did_you_mean(name, drugs, what='drug of the arm')}")
        spellings = [name, *get_drug(name).aliases]
        pos = -1
        for s in spellings:
            m = re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text, re.IGNORECASE)
            if m is not None:
                pos = m.end()
                break
        if pos < 0:
            raise OncotwinError(
                f"regimen {text!r}: cannot find {name} in its text; vary whole regimens with "
                "--vary regimen=...|..."
            )
        dm = re.compile(rf"\s*({_NUMBER})\s*(mg/kg|mg/m2|mg)\b", re.IGNORECASE).match(text, pos)
        im = re.compile(rf"\bq({_NUMBER})w\b", re.IGNORECASE).search(text, pos)
        return cls(
            text,
            name,
            dm.span(1) if dm else None,
            dm.group(2).lower() if dm else "",
            im.span(1) if im else None,
        )

    def fill(
        self, *, dose: tuple[float, str] | float | None = None, interval: float | None = None
    ) -> str:
        """The regimen text with a new dose (value, or (value, unit)) and interval (weeks)."""
        edits: list[tuple[tuple[int, int], str]] = []
        if dose is not None:
            if self.dose_span is None:
                raise OncotwinError(
                    f"--vary dose: the regimen {self.text!r} has no dose in mg, mg/kg or mg/m2 "
                    f"after {self.drug}; vary whole regimens with --vary regimen=...|..."
                )
            value, unit = dose if isinstance(dose, tuple) else (float(dose), "")
            unit = unit or self.dose_unit
            start, end = self.dose_span
            unit_end = end + len(self.text[end:]) - len(self.text[end:].lstrip())
            unit_end += len(self.dose_unit)
            edits.append(((start, unit_end), f"{_fmt(value)} {unit}"))
        if interval is not None:
            if self.interval_span is None:
                raise OncotwinError(
                    f"--vary interval: the regimen {self.text!r} has no 'q<N>w' after "
                    f"{self.drug}; vary whole regimens with --vary regimen=...|..."
                )
            if abs(interval - round(interval)) > 1e-9:
                raise OncotwinError(f"--vary interval: {interval:g} weeks; give whole weeks")
            edits.append((self.interval_span, str(round(interval))))
        out = self.text
        for (a, b), new in sorted(edits, reverse=True):
            out = out[:a] + new + out[b:]
        return out


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x - round(x)) > 1e-9 else str(round(x))


@dataclass(frozen=True)
class Candidate:
    """One regimen to evaluate: its text, the duration cap and the choices behind it."""

    label: str
    regimen: str
    duration_months: float | None = None
    choices: dict[str, object] = field(default_factory=dict)


def make_candidate(
    template: RegimenTemplate, choices: dict[str, object], *, label: str | None = None
) -> Candidate:
    """The candidate of one combination of choices (names of :data:`VARY_NAMES`)."""
    if "regimen" in choices:
        text = str(choices["regimen"])
        if "dose" in choices or "interval" in choices:
            text = RegimenTemplate.from_text(text, template.drug).fill(
                dose=choices.get("dose"),  # type: ignore[arg-type]
                interval=choices.get("interval"),  # type: ignore[arg-type]
            )
    else:
        text = template.fill(
            dose=choices.get("dose"),  # type: ignore[arg-type]
            interval=choices.get("interval"),  # type: ignore[arg-type]
        )
    from oncotwin.regimens import parse_regimen

    parse_regimen(text)  # a RegimenError naming the problem
    dur = choices.get("duration")
    parts = []
    for k, v in choices.items():
        if k == "dose" and isinstance(v, tuple):
            parts.append(f"{_fmt(float(v[0]))} {v[1] or template.dose_unit}")
        elif k == "interval":
            parts.append(f"q{_fmt(float(v))}w")  # type: ignore[arg-type]
        elif k == "duration":
            parts.append(f"max {_fmt(float(v))} mo")  # type: ignore[arg-type]
    if label is None:
        label = " ".join(parts)
        if "regimen" in choices or not label:
            label = text + (f" (max {_fmt(float(dur))} mo)" if dur is not None else "")  # type: ignore[arg-type]
    return Candidate(label, text, None if dur is None else float(dur), dict(choices))  # type: ignore[arg-type]


def grid_candidates(
    template: RegimenTemplate, varies: list[Vary], *, points: int = 5
) -> list[Candidate]:
    """Every combination of the choices' grid values (continuous ranges at ``points``)."""
    names = [v.name for v in varies]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise OncotwinError(f"--vary {dup} given twice; give each choice once")
    grids = [v.grid(points) for v in varies]
    total = math.prod(len(g) for g in grids)
    if total > MAX_GRID:
        raise OncotwinError(
            f"--vary: {total} combinations; give at most {MAX_GRID} (fewer values or --grid-points)"
        )
    out = []
    for combo in itertools.product(*grids):
        choices: dict[str, object] = {}
        for v, value in zip(varies, combo, strict=True):
            if v.name == "dose" and not isinstance(value, tuple):
                value = (float(value), v.unit)  # type: ignore[arg-type]
            choices[v.name] = value
        out.append(make_candidate(template, choices))
    return out
