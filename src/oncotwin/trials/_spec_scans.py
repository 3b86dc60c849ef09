"""The ``[schedule]`` table of a trial spec and its scan grammar (``"q6w to week 48, then q12w"``).

Also holds :class:`_Frozen`, the frozen, extra-forbidding base of every spec table. The public
names are re-exported by :mod:`oncotwin.trials.spec`; import them from there.

Examples
--------
>>> ScheduleSpec(scans="q6w to week 48, then q12w").describe()
'q6w to week 48, then q12w'
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ScanSegment", "ScheduleSpec", "parse_scans"]


class _Frozen(BaseModel):
    """Base of every spec table: frozen, unknown keys are errors, fields by name or alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ScanSegment(_Frozen):
    """Scans every ``every_weeks`` weeks until ``until_week`` (None: to the end of follow-up)."""

    every_weeks: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    until_week: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    def __str__(self) -> str:
        text = f"q{_num(self.every_weeks)}w"
        return text if self.until_week is None else f"{text} to week {_num(self.until_week)}"


_SCAN_RE = re.compile(
    r"^\s*(?:q\s*(?P<q>\d+(?:\.\d+)?)\s*w(?:eeks?|k)?|every\s+(?P<e>\d+(?:\.\d+)?)\s+weeks?)"
    r"(?:\s+(?:to|until)\s+week\s+(?P<until>\d+(?:\.\d+)?))?\s*$",
    re.I,
)
_SCAN_EXAMPLES = '"q8w", "q6w to week 48, then q12w", "every 9 weeks"'


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def parse_scans(text: str) -> tuple[ScanSegment, ...]:
    """Parse a scan schedule string such as ``"q6w to week 48, then q12w"``.

    Examples
    --------
    >>> [str(s) for s in parse_scans("q6w to week 48, then q12w")]
    ['q6w to week 48', 'q12w']
    """
    segments = []
    for part in re.split(r",\s*then\s+", text.strip(), flags=re.I):
        m = _SCAN_RE.match(part)
        if m is None:
            raise ValueError(
                f"cannot read scan schedule part {part!r}; write e.g. {_SCAN_EXAMPLES}"
            )
        every = float(m.group("q") or m.group("e"))
        until = float(m.group("until")) if m.group("until") else None
        if every <= 0:
            raise ValueError(f"scan interval {part!r} is zero; give an interval > 0 such as q8w")
        segments.append(ScanSegment(every_weeks=every, until_week=until))
    return tuple(segments)


class ScheduleSpec(_Frozen):
    """The ``[schedule]`` table: tumour assessments.

    ``scans`` defaults to every 8 weeks to the end of follow-up (an assumption: trials scan
    every 6-12 weeks; set it per trial). ``confirm_response_weeks`` = 4 is the RECIST 1.1
    minimum interval to confirm a response (Eisenhauer et al., Eur J Cancer 2009;45:228,
    section 4.3.5).
    """

    scans: tuple[ScanSegment, ...] = (ScanSegment(every_weeks=8.0),)
    confirm_response_weeks: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 4.0

    @field_validator("scans", mode="before")
    @classmethod
    def _scan_text(cls, v: Any) -> Any:
        return parse_scans(v) if isinstance(v, str) else v

    @field_validator("scans")
    @classmethod
    def _scan_order(cls, v: tuple[ScanSegment, ...]) -> tuple[ScanSegment, ...]:
        if not v:
            raise ValueError(f"no scans given; write e.g. scans = {_SCAN_EXAMPLES.split(', ')[0]}")
        last = 0.0
        for i, seg in enumerate(v):
            if seg.until_week is None and i < len(v) - 1:
                raise ValueError(
                    f"scan segment {i + 1} ({seg}) runs to the end of follow-up, so segment "
                    f"{i + 2} never starts; give it an end, e.g. '{seg} to week 48'"
                )
            if seg.until_week is not None and seg.until_week <= last:
                raise ValueError(
                    f"scan segment {i + 1} ({seg}) ends at or before week {_num(last)}; "
                    "give increasing 'to week' values"
                )
            last = seg.until_week or last
        return v

    def describe(self) -> str:
        """The scan schedule as a string that parses back, e.g. ``"q6w to week 48, then q12w"``."""
        return ", then ".join(str(s) for s in self.scans)
