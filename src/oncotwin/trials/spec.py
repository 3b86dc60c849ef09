"""Trial specification files: TOML validated into small frozen pydantic models.

A spec says which patients, which arms (regimens in the regimen grammar), how often they are
scanned and how long they are followed::

    [trial]
    name = "KEYNOTE-024"
    cancer = "nsclc"
    seed = 2016
    patients = 305
    follow_up_months = 60
    reference_arm = "chemotherapy"

    [population]
    eligibility = { pdl1_tps_min = 50 }

    [schedule]
    scans = "q9w"                      # or "q6w to week 48, then q12w", or a list of tables:
                                       # scans = [{ every_weeks = 6, until_week = 48 },
                                       #          { every_weeks = 12 }]
    confirm_response_weeks = 4

    [treatment]
    max_duration_months = 24
    discontinue_on = ["progression", "toxicity"]

    [[arm]]
    name = "pembrolizumab"
    regimen = "pembrolizumab 200 mg IV q3w x35"
    ratio = 1
    published = { arm_id = "KN024_PEMBRO" }

    [[arm]]
    name = "chemotherapy"
    regimen = "pemetrexed 500 mg/m2 + carboplatin 400 mg/m2 IV q3w x4"
    crossover = { to_arm = "pembrolizumab", at = "progression", fraction = 0.66 }

An arm's ``regimen`` is one regimen string, a list of regimen strings given concurrently (each
starts on day 0, e.g. weekly trastuzumab beside 3-weekly paclitaxel), or ``"placebo"`` for an
arm with no active drug. Every regimen is parsed with :func:`oncotwin.regimens.parse_regimen`.

:func:`load_spec` / :func:`parse_spec` raise one :class:`SpecError` listing every bad field as
``file:line: field = value: what is wrong; the fix``. Unknown keys are errors (typos are caught
with a did-you-mean). Examples shipped with the package: :func:`list_examples`,
:func:`example_path`.

Examples
--------
>>> spec = load_spec(example_path("keynote024"))
>>> spec.trial.name, spec.arm_names
('KEYNOTE-024', ('pembrolizumab', 'platinum doublet chemotherapy'))
>>> spec.scan_days(200.0).tolist()
[0.0, 63.0, 126.0, 189.0]
>>> spec.allocation(10)
{'pembrolizumab': 5, 'platinum doublet chemotherapy': 5}
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin._random import randomisation_hash
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean
from oncotwin.regimens import Regimen, parse_regimen

__all__ = [
    "DAYS_PER_MONTH",
    "ArmSpec",
    "CrossoverSpec",
    "PopulationSpec",
    "PublishedLink",
    "ScanSegment",
    "ScheduleSpec",
    "SpecError",
    "TreatmentSpec",
    "TrialInfo",
    "TrialSpec",
    "example_path",
    "list_examples",
    "load_spec",
    "parse_spec",
]

#: Days per month used to turn months into days (365.25 / 12), as in survival reporting.

#: Literal regimen values meaning "no active drug" (placebo / observation arms).
PLACEBO: frozenset[str] = frozenset({"placebo", "none"})

_EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


class SpecError(OncotwinError):
    """A trial spec file is malformed; one line per bad field, each with file and line.

    Attributes
    ----------
    problems
        ``(line, message)`` per bad field; ``line`` is None where no line could be found.
    source
        The file name (or ``"<string>"``) the spec came from.
    """

    def __init__(self, message: str, *, source: str = "<string>", problems=()) -> None:
        super().__init__(message)
        self.source = source
        self.problems: tuple[tuple[int | None, str], ...] = tuple(problems)


class _LocatedError(ValueError):
    """A validation error raised inside a model that knows which key (below it) is wrong."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


# ------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------
class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class TrialInfo(_Frozen):
    """The ``[trial]`` table: name, cancer, seed, size and follow-up."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    cancer: Annotated[str, Field(min_length=1)]
    seed: Annotated[int, Field(ge=0)]
    patients: Annotated[int, Field(gt=0)]
    follow_up_months: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    reference_arm: str | None = None
    #: The model the arms are simulated in (``oncotwin models`` lists them); any model with
    #: clinical readouts (a tumour-size state) runs a trial.
    model: Annotated[str, Field(min_length=1)] = "metastatic_io"

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        from oncotwin.models.registry import list_models

        names = [m for m in list_models() if m != "pk:<drug>"]
        if v not in names:
            raise ValueError(did_you_mean(v, names, what="model"))
        return v


Scalar = bool | int | float | str


class PopulationSpec(_Frozen):
    """The ``[population]`` table.

    ``eligibility`` (e.g. ``{pdl1_tps_min = 50, no_brain_mets = true}``) and ``baseline`` (a
    published baseline table, e.g. ``{age_yr = 61}``) are checked against the keys the
    population module knows when it passes them to :func:`parse_spec` (``eligibility_keys``).
    """

    eligibility: dict[str, Scalar] = Field(default_factory=dict)
    baseline: dict[str, Scalar] = Field(default_factory=dict)


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


class CrossoverSpec(_Frozen):
    """Patients of an arm switch treatment at ``at``; ``fraction`` of them do.

    They switch to another arm's regimen (``to_arm``) or to a regimen of their own
    (``regimen``, e.g. the PD-1 antibody alone after chemotherapy); give exactly one.
    """

    to_arm: Annotated[str, Field(min_length=1)] | None = None
    regimen: str | None = None
    at: Literal["progression"] = "progression"
    fraction: Annotated[float, Field(gt=0, le=1)] = 1.0

    @field_validator("regimen")
    @classmethod
    def _parse(cls, v: str | None) -> str | None:
        if v is not None:
            parse_regimen(v)
        return v

    @model_validator(mode="after")
    def _one_target(self) -> CrossoverSpec:
        if (self.to_arm is None) == (self.regimen is None):
            raise ValueError(
                "give exactly one of to_arm (another arm's name) or regimen (a regimen "
                'string), e.g. crossover = { to_arm = "pembrolizumab", fraction = 0.66 }'
            )
        return self


class TreatmentSpec(_Frozen):
    """The ``[treatment]`` table: when treatment stops (applies to every arm)."""

    max_duration_months: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    discontinue_on: tuple[Literal["progression", "toxicity"], ...] = ("progression", "toxicity")


class PublishedLink(_Frozen):
    """Links an arm to its published outcomes in :data:`oncotwin.trials.targets.PUBLISHED`."""

    arm_id: str

    @field_validator("arm_id")
    @classmethod
    def _known(cls, v: str) -> str:
        from oncotwin.trials.targets import PUBLISHED

        if v not in PUBLISHED:
            raise ValueError(did_you_mean(v, PUBLISHED, what="published arm_id"))
        return v


class ArmSpec(_Frozen):
    """One ``[[arm]]`` table.

    ``regimen`` holds one or more regimen strings given concurrently (each starting on day 0)
    or ``("placebo",)``; ``ratio`` is the arm's whole-number share of each randomisation block.
    """

    name: Annotated[str, Field(min_length=1)]
    regimen: tuple[str, ...]
    ratio: Annotated[int, Field(ge=1)] = 1
    description: str = ""
    published: PublishedLink | None = None
    crossover: CrossoverSpec | None = None

    @field_validator("regimen", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("regimen")
    @classmethod
    def _parse(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError('no regimen given; write e.g. regimen = "pembrolizumab 200 mg IV q3w"')
        if any(s.strip().lower() in PLACEBO for s in v) and len(v) > 1:
            raise ValueError('"placebo" stands alone; leave it out of a list of active regimens')
        for i, text in enumerate(v):
            if text.strip().lower() in PLACEBO:
                continue
            try:
                parse_regimen(text)
            except OncotwinError as exc:
                where = f"regimen {i + 1} of {len(v)}: " if len(v) > 1 else ""
                raise _LocatedError((i,) if len(v) > 1 else (), where + str(exc)) from None
        return v

    @property
    def is_placebo(self) -> bool:
        """True if the arm gets no active drug."""
        return self.regimen[0].strip().lower() in PLACEBO

    def regimens(self) -> tuple[Regimen, ...]:
        """The parsed concurrent regimens (empty for a placebo arm)."""
        return () if self.is_placebo else tuple(parse_regimen(s) for s in self.regimen)


class TrialSpec(_Frozen):
    """A whole trial spec. Build it with :func:`load_spec` or :func:`parse_spec`."""

    trial: TrialInfo
    population: PopulationSpec = PopulationSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    treatment: TreatmentSpec = TreatmentSpec()
    arms: tuple[ArmSpec, ...] = Field(alias="arm", min_length=1)

    _text: str | None = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="<object>")

    @model_validator(mode="after")
    def _cross_check(self) -> TrialSpec:
        names = [a.name for a in self.arms]
        for j, name in enumerate(names):
            if name in names[:j]:
                raise _LocatedError(
                    ("arm", j, "name"),
                    f"duplicate arm name {name!r} (arms {names.index(name) + 1} and {j + 1}); "
                    "give each [[arm]] a different name",
                )
        ref = self.trial.reference_arm
        if ref is not None and ref not in names:
            raise _LocatedError(
                ("trial", "reference_arm"),
                f"{did_you_mean(ref, names, what='arm')}; reference_arm must be the name of "
                "one of the [[arm]] tables",
            )
        for j, arm in enumerate(self.arms):
            if arm.crossover is None:
                continue
            to = arm.crossover.to_arm
            if to is None:
                continue
            if to == arm.name:
                raise _LocatedError(
                    ("arm", j, "crossover"),
                    f"arm {arm.name!r} crosses over to itself; name another arm in to_arm",
                )
            if to not in names:
                raise _LocatedError(
                    ("arm", j, "crossover"),
                    f"crossover to_arm: {did_you_mean(to, names, what='arm')}",
                )
        return self

    # -- derived -----------------------------------------------------------------------------
    @property
    def arm_names(self) -> tuple[str, ...]:
        """Arm names in file order (arm index i is ``arm_names[i]``)."""
        return tuple(a.name for a in self.arms)

    @property
    def reference(self) -> str:
        """The reference (control) arm: ``trial.reference_arm`` or else the last arm."""
        return self.trial.reference_arm or self.arms[-1].name

    @property
    def horizon_days(self) -> float:
        """Follow-up in days (``follow_up_months`` x :data:`DAYS_PER_MONTH`)."""
        return self.trial.follow_up_months * DAYS_PER_MONTH

    @property
    def text(self) -> str:
        """The spec's TOML text if it was parsed from text, else its canonical JSON."""
        return self._text if self._text is not None else self.canonical_json()

    @property
    def source(self) -> str:
        """The file (or ``"<string>"``) the spec was read from."""
        return self._source

    def canonical_json(self) -> str:
        """A canonical JSON dump (sorted keys, no whitespace): what :meth:`hash` digests."""
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def hash(self) -> str:
        """sha256 (hex) of :meth:`canonical_json`; unchanged by comments and key order."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def scan_days(self, horizon_days: float | None = None) -> np.ndarray:
        """Scan days from day 0 (the baseline scan) to ``horizon_days`` (default: follow-up).

        Each segment continues from the last scan of the previous one.

        Examples
        --------
        >>> spec = parse_spec(_MINIMAL.replace('q8w', 'q6w to week 12, then q12w'))
        >>> spec.scan_days(200.0).tolist()
        [0.0, 42.0, 84.0, 168.0]
        """
        horizon = self.horizon_days if horizon_days is None else float(horizon_days)
        days = [0.0]
        t = 0.0
        for seg in self.schedule.scans:  # a handful of segments
            step = seg.every_weeks * 7.0
            end = horizon if seg.until_week is None else min(seg.until_week * 7.0, horizon)
            n = math.floor((end - t) / step + 1e-9)
            if n > 0:
                days.extend((t + step * np.arange(1, n + 1)).tolist())
                t = days[-1]
        return np.asarray(days, dtype=float)

    def arm_of(self, patient_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Arm index of each patient by block randomisation.

        Blocks hold ``sum(ratio)`` consecutive patient ids, each arm ``ratio`` times, in an
        order given by a hash of ``(trial seed, block, position)``; so patient i's arm depends
        only on (seed, i) and every chunk or worker agrees.

        Examples
        --------
        >>> spec = load_spec(example_path("optim"))    # T-VEC : GM-CSF = 2 : 1
        >>> spec.arm_of(range(6)).tolist()
        [0, 0, 1, 0, 1, 0]
        """
        ids = np.asarray(patient_ids, dtype=np.int64)
        if ids.size and ids.min() < 0:
            raise SpecError(f"patient_ids: {int(ids.min())} is negative; ids run from 0 to N-1")
        ratios = np.array([a.ratio for a in self.arms], dtype=np.int64)
        base = np.repeat(np.arange(ratios.size), ratios)
        size = base.size
        block, pos = np.divmod(ids, size)
        blocks, inverse = np.unique(block, return_inverse=True)
        key = (blocks.astype(np.uint64)[:, None] * np.uint64(size)) + np.arange(
            size, dtype=np.uint64
        )
        order = np.argsort(
            randomisation_hash(np.uint64(self.trial.seed), key), axis=1, kind="stable"
        )
        return base[order[inverse.reshape(ids.shape), pos]]

    def allocation(self, n_total: int | None = None) -> dict[str, int]:
        """Patients per arm for ``n_total`` patients (default: ``trial.patients``)."""
        n = self.trial.patients if n_total is None else int(n_total)
        if n < 0:
            raise SpecError(f"n_total: {n} patients; give a number >= 0")
        counts = np.bincount(self.arm_of(np.arange(n)), minlength=len(self.arms))
        return {a.name: int(c) for a, c in zip(self.arms, counts, strict=True)}


# ------------------------------------------------------------------------------------------
# loading and error messages
# ------------------------------------------------------------------------------------------
_MINIMAL = """\
[trial]
name = "demo"
cancer = "melanoma"
seed = 1
patients = 10
follow_up_months = 12

[schedule]
scans = "q8w"

[[arm]]
name = "nivolumab"
regimen = "nivolumab 240 mg IV q2w"
"""

#: Example values used in "add ..." hints for missing keys.
_HINT = {
    "name": 'name = "CheckMate 067"',
    "cancer": 'cancer = "melanoma"',
    "seed": "seed = 2015",
    "patients": "patients = 945",
    "follow_up_months": "follow_up_months = 60",
    "regimen": 'regimen = "pembrolizumab 200 mg IV q3w x35"',
    "ratio": "ratio = 1 (use 2 and 1 for a 2:1 randomisation)",
    "trial": "[trial] with name, cancer, seed, patients and follow_up_months",
    "arm": '[[arm]] tables, e.g.\n    [[arm]]\n    name = "pembrolizumab"\n'
    '    regimen = "pembrolizumab 200 mg IV q3w x35"',
    "to_arm": 'to_arm = "<name of another arm>"',
    "arm_id": 'arm_id = "CM067_NIVO_IPI" (see oncotwin.trials.targets.PUBLISHED)',
    "every_weeks": "every_weeks = 8",
}

_FIX = {
    "patients": "give the total number of patients, e.g. patients = 945",
    "ratio": "give each arm a whole-number share >= 1 (2:1 is ratio = 2 and ratio = 1)",
    "seed": "give a whole number >= 0, e.g. seed = 2015",
    "follow_up_months": "give the follow-up in months, e.g. follow_up_months = 60",
    "fraction": "give the share of patients who cross over, 0 < fraction <= 1",
}


def parse_spec(
    text: str,
    *,
    source: str = "<string>",
    cancer_types: Iterable[str] | None = None,
    eligibility_keys: Iterable[str] | None = None,
) -> TrialSpec:
    """Parse and validate a TOML trial spec.

    Parameters
    ----------
    text
        The TOML text.
    source
        File name used in error messages.
    cancer_types, eligibility_keys
        Hooks for the population module: when given, ``trial.cancer`` must be one of
        ``cancer_types`` and every ``population.eligibility`` key one of ``eligibility_keys``
        (did-you-mean otherwise). Left out, any non-empty cancer and any key are accepted.

    Raises
    ------
    SpecError
        One message with one ``file:line: field = value: problem; fix`` line per bad field.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"at line (\d+)", msg)
        line = int(m.group(1)) if m else None
        shown = ""
        if line is not None and 1 <= line <= len(text.splitlines()):
            shown = f"\n    {text.splitlines()[line - 1]}"
        where = f"{source}:{line}" if line else source
        raise SpecError(
            f"{where}: TOML syntax error: {msg}{shown}\nfix the TOML syntax (strings in double "
            'quotes, key = value, [table] / [[arm]] headers), e.g. seed = 1 or name = "a"',
            source=source,
            problems=[(line, msg)],
        ) from None
    try:
        spec = TrialSpec.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc, text, data, source)
        raise _spec_error(problems, source) from None
    extra: list[tuple[int | None, str]] = []
    if cancer_types is not None:
        known = list(cancer_types)
        if spec.trial.cancer not in known:
            loc = ("trial", "cancer")
            hint = did_you_mean(spec.trial.cancer, known, what="cancer type")
            extra.append(_format(loc, text, source, f"{hint}", data))
    if eligibility_keys is not None:
        known = list(eligibility_keys)
        for key in spec.population.eligibility:
            if key not in known:
                loc = ("population", "eligibility")
                hint = did_you_mean(key, known, what="eligibility key")
                extra.append(_format(loc, text, source, hint, data))
    if extra:
        raise _spec_error(extra, source)
    spec._text = text
    spec._source = source
    return spec


def load_spec(
    path: str | Path,
    *,
    cancer_types: Iterable[str] | None = None,
    eligibility_keys: Iterable[str] | None = None,
) -> TrialSpec:
    """Read and validate a TOML trial spec file (see :func:`parse_spec`)."""
    p = Path(path)
    if not p.is_file():
        names = ", ".join(n for n, _ in list_examples()[:4])
        raise SpecError(
            f"spec file: {str(path)!r} not found; give the path of a .toml spec, or use a "
            f"shipped example via example_path(name) (e.g. {names})",
            source=str(path),
        )
    return parse_spec(
        p.read_text(encoding="utf-8"),
        source=str(p),
        cancer_types=cancer_types,
        eligibility_keys=eligibility_keys,
    )


def _spec_error(problems: list[tuple[int | None, str]], source: str) -> SpecError:
    if len(problems) == 1:
        return SpecError(problems[0][1], source=source, problems=problems)
    body = "\n".join(p[1] for p in problems)
    return SpecError(
        f"{len(problems)} problems in {source}:\n{body}", source=source, problems=problems
    )


def _problems(exc: ValidationError, text: str, data: dict, source: str) -> list:
    errors = exc.errors()
    # a typo'd key shows up twice (unknown 'seeed', missing 'seed'): keep the unknown key only
    extra = {
        (tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden"
    }
    out: list[tuple[int | None, str]] = []
    seen: set[tuple] = set()
    for err in errors:
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, _LocatedError):
            loc = loc + cause.loc
        if err["type"] == "missing" and any(
            parent == loc[:-1] and difflib.get_close_matches(str(loc[-1]), [key], cutoff=0.6)
            for parent, key in extra
        ):
            continue
        if err["type"] == "too_short" and _value_at(data, loc):
            continue  # the list is not empty: its items have their own errors
        if loc in seen:
            continue
        seen.add(loc)
        out.append(_format(loc, text, source, _describe(err, loc), data))
    return sorted(out, key=lambda p: (p[0] is None, p[0] or 0))


def _format(loc: tuple, text: str, source: str, what: str, data: Mapping) -> tuple:
    line = _locate(text, loc)
    where = f"{source}:{line}" if line is not None else source
    field = _field_name(loc, data)
    value = _value_at(data, loc)
    shown = (
        f" = {_toml_value(value)}" if value is not _MISSING and not isinstance(value, dict) else ""
    )
    what = what.replace("\n", "\n    ")
    return line, f"{where}: {field}{shown}: {what}"


def _describe(err: dict, loc: tuple) -> str:
    kind = err["type"]
    key = next((k for k in reversed(loc) if isinstance(k, str)), "")
    ctx = err.get("ctx") or {}
    fix = _FIX.get(key)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed, what="key")
        return f"{hint}; fix the spelling or remove the key (allowed: {', '.join(allowed)})"
    if kind == "missing":
        if key == "arm":
            return "no [[arm]] table: a trial needs at least one arm; add " + _HINT["arm"]
        return f"missing required key {key!r}; add {_HINT.get(key, key + ' = ...')}"
    if kind == "too_short" and key == "arm":
        return "no [[arm]] table: a trial needs at least one arm; add " + _HINT["arm"]
    if kind in {"value_error", "assertion_error"} and "error" in ctx:
        return str(ctx["error"])
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        return f"{key} must be {op} {bound}; " + (fix or f"give a value {op} {bound}")
    if kind == "int_from_float":
        return f"{key} must be a whole number; " + (fix or "drop the fraction")
    if kind == "literal_error":
        return f"{err['msg'].replace('Input should be', 'must be')}"
    base = err["msg"].replace("Input should be", "must be")
    return f"{base}; " + (fix or "fix the value's type (strings in double quotes)")


_MISSING = object()


def _value_at(data: Any, loc: tuple) -> Any:
    cur = data
    for k in loc:
        if isinstance(cur, Mapping) and k in cur:
            cur = cur[k]
        elif isinstance(cur, list) and isinstance(k, int) and k < len(cur):
            cur = cur[k]
        else:
            return _MISSING
    return cur


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def _field_name(loc: tuple, data: Mapping) -> str:
    parts: list[str] = []
    i = 0
    while i < len(loc):
        k = loc[i]
        if k == "arm" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            j = loc[i + 1]
            name = _value_at(data, ("arm", j, "name"))
            label = f" {name!r}" if isinstance(name, str) else ""
            parts.append(f"[[arm]] {j + 1}{label}")
            i += 2
            continue
        if isinstance(k, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{k}]"]
        elif i == 0 and len(loc) > 1:
            parts.append(f"[{k}]")
        else:
            parts.append(str(k))
        i += 1
    return " ".join(parts) if parts else "spec"


def _allowed_keys(loc: tuple) -> list[str]:
    """Keys a table at ``loc`` accepts (field aliases), for did-you-mean on unknown keys."""
    model: Any = TrialSpec
    for k in loc:
        if isinstance(k, int):
            continue
        field = next(
            (f for n, f in model.model_fields.items() if k in (n, f.alias)),
            None,
        )
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, Annotated) or origin is not None:
        for arg in typing.get_args(annotation):
            m = _model_in(arg)
            if m is not None:
                return m
    return None


_HEADER_RE = re.compile(r"^\s*(\[\[|\[)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(
    r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\'))*)\s*='
)


def _split_key(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+', key)
    return tuple(p.strip("\"'") for p in parts)


def _locate(text: str, loc: tuple) -> int | None:
    """1-based line of the key at ``loc`` (e.g. ``("arm", 2, "regimen")``) in TOML ``text``.

    Walks the table headers (counting ``[[arm]]`` occurrences) and ``key =`` lines; falls back
    to the closest enclosing key or table header when the exact key is absent (a missing key).
    """
    paths: list[tuple[tuple, int]] = []
    table: tuple = ()
    counts: dict[tuple, int] = {}
    in_multiline: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        m = _HEADER_RE.match(raw)
        if m and not _KEY_RE.match(raw):
            names = _split_key(m.group(2))
            if m.group(1) == "[[":
                counts[names] = counts.get(names, -1) + 1
                table = (*_indexed(names[:-1], counts), names[-1], counts[names])
            else:
                table = _indexed(names, counts)
            paths.append((table, lineno))
            continue
        k = _KEY_RE.match(raw)
        if k:
            paths.append(((*table, *_split_key(k.group(1))), lineno))
            rest = raw[k.end() :]
            for q in ('"""', "'''"):
                if rest.count(q) % 2 == 1:
                    in_multiline = q
    for n in range(len(loc), 0, -1):
        for path, lineno in paths:
            if path == tuple(loc[:n]):
                return lineno
    return None


def _indexed(names: tuple, counts: dict) -> tuple:
    """Insert the current array-of-tables index after each ``[[...]]`` prefix in ``names``."""
    out: list = []
    for i, name in enumerate(names):
        out.append(name)
        if names[: i + 1] in counts:
            out.append(counts[names[: i + 1]])
    return tuple(out)


# ------------------------------------------------------------------------------------------
# shipped examples
# ------------------------------------------------------------------------------------------
def list_examples() -> list[tuple[str, str]]:
    """``(name, title)`` of every example spec shipped with oncotwin, sorted by name.

    Examples
    --------
    >>> ("checkmate067", "CheckMate 067") in list_examples()
    True
    """
    out = []
    for p in sorted(_EXAMPLES_DIR.glob("*.toml")):
        with p.open("rb") as fh:
            title = tomllib.load(fh).get("trial", {}).get("name", p.stem)
        out.append((p.stem, str(title)))
    return out


def example_path(name: str) -> Path:
    """Path of the shipped example spec ``name`` (e.g. ``"checkmate067"``; ``.toml`` optional).

    Raises
    ------
    UnknownNameError
        With a did-you-mean when there is no such example.
    """
    stem = str(name).strip().lower().removesuffix(".toml")
    path = _EXAMPLES_DIR / f"{stem}.toml"
    if not path.is_file():
        names = [p.stem for p in _EXAMPLES_DIR.glob("*.toml")]
        raise UnknownNameError(
            did_you_mean(str(name), names, what="example trial")
            + " (list them with oncotwin.trials.spec.list_examples())"
        )
    return path
