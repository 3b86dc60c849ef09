"""The tables of a trial spec as small frozen pydantic models, and the whole :class:`TrialSpec`.

Build a spec with :func:`oncotwin.trials.spec.load_spec` or
:func:`oncotwin.trials.spec.parse_spec`, which turn validation errors into one message with
file and line per bad field. The public names are re-exported by :mod:`oncotwin.trials.spec`;
import them from there.

Examples
--------
>>> CrossoverSpec(to_arm="pembrolizumab", fraction=0.66).at
'progression'
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, PrivateAttr, field_validator, model_validator

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin._random import MAX_SEED, randomisation_hash
from oncotwin.errors import OncotwinError, did_you_mean
from oncotwin.regimens import Regimen, parse_regimen
from oncotwin.regimens._names import MAX_HORIZON_YEARS
from oncotwin.trials._spec_errors import SpecError, _LocatedError
from oncotwin.trials._spec_population import DESCRIPTIVE_CRITERIA as DESCRIPTIVE_CRITERIA
from oncotwin.trials._spec_population import PopulationSpec
from oncotwin.trials._spec_scans import ScheduleSpec, _Frozen

__all__ = [
    "DESCRIPTIVE_CRITERIA",
    "ArmSpec",
    "CrossoverSpec",
    "PopulationSpec",
    "PublishedLink",
    "RegimenChoice",
    "TreatmentSpec",
    "TrialInfo",
    "TrialSpec",
]

#: Literal regimen values meaning "no active drug" (placebo / observation arms).
PLACEBO: frozenset[str] = frozenset({"placebo", "none"})

#: Longest follow-up or treatment a spec may ask for [month] (50 years, as the regimen limit).
MAX_MONTHS: int = MAX_HORIZON_YEARS * 12
#: Most patients one spec may ask for (larger runs: several runs with different seeds).
MAX_PATIENTS: int = 10_000_000
#: Largest ``ratio`` of one arm (a randomisation block holds the sum of the ratios).
MAX_RATIO: int = 100
#: Most scans one patient may get over the follow-up (weekly scans for 50 years fit).
MAX_SCANS: int = 10_000


def _bounded(v: float, limit: float, what: str, fix: str) -> float:
    if v > limit:
        raise ValueError(f"above the limit of {limit:,} {what}; {fix}")
    return v


class TrialInfo(_Frozen):
    """The ``[trial]`` table: name, cancer, seed, size and follow-up."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    cancer: Annotated[str, Field(min_length=1)]
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)]
    patients: Annotated[int, Field(gt=0)]
    follow_up_months: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    reference_arm: str | None = None
    #: The model the arms are simulated in (``oncotwin models`` lists them); any model with
    #: clinical readouts (a tumour-size state) runs a trial.
    model: Annotated[str, Field(min_length=1)] = "metastatic_io"

    @field_validator("patients")
    @classmethod
    def _patients_bound(cls, v: int) -> int:
        return int(
            _bounded(v, MAX_PATIENTS, "patients", "split the trial into runs with other seeds")
        )

    @field_validator("follow_up_months")
    @classmethod
    def _follow_up_bound(cls, v: float) -> float:
        return _bounded(v, MAX_MONTHS, "months (50 years)", "give the follow-up in months, e.g. 60")

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        from oncotwin.models.registry import list_models

        names = [m for m in list_models() if m != "pk:<drug>"]
        if v not in names:
            raise ValueError(did_you_mean(v, names, what="model"))
        return v


Scalar = bool | int | float | str


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
    #: per mechanism class, no dose of it after this many months from the first (e.g. the
    #: 2-year cap of checkpoint inhibitors: ``{ "anti-PD-1" = 24 }``)
    max_months_by_class: dict[str, float] | None = None

    @field_validator("max_months_by_class")
    @classmethod
    def _class_caps(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v:
            from oncotwin.regimens import DosingRules

            try:
                DosingRules.from_treatment((), max_months_by_class=v)
            except Exception as exc:
                raise ValueError(str(exc)) from None
            for months in v.values():
                _bounded(months, MAX_MONTHS, "months (50 years)", "give the cap in months")
        return v

    @field_validator("max_duration_months")
    @classmethod
    def _duration_bound(cls, v: float | None) -> float | None:
        if v is None:
            return v
        return _bounded(v, MAX_MONTHS, "months (50 years)", "give the duration in months")


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


def _check_regimens(v: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse an empty list, placebo inside a list and unparsable regimen strings."""
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


class RegimenChoice(_Frozen):
    """One option of an investigator's-choice arm: its name, regimen(s) and the share of the
    arm's patients who receive it (e.g. AC or paclitaxel in Slamon 2001's control arm)."""

    name: Annotated[str, Field(min_length=1)]
    regimen: tuple[str, ...]
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]

    @field_validator("regimen", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("regimen")
    @classmethod
    def _parse(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError('no regimen given; write e.g. regimen = "paclitaxel 175 mg/m2 IV q3w"')
        return _check_regimens(v)


class ArmSpec(_Frozen):
    """One ``[[arm]]`` table.

    ``regimen`` holds one or more regimen strings given concurrently (each starting on day 0)
    or ``("placebo",)``; ``ratio`` is the arm's whole-number share of each randomisation block.
    An investigator's-choice arm gives ``choices`` instead of ``regimen``: each option a name,
    its regimen and the share of the arm's patients who get it (shares sum to 1; who gets
    which is drawn from (seed, patient) alone, so chunks agree)::

        [[arm]]
        name = "chemotherapy"
        choices = [
          { name = "AC", share = 0.59, regimen = "doxorubicin 60 mg/m2 + cyclophosphamide
            600 mg/m2 IV q3w x6" },
          { name = "paclitaxel", share = 0.41, regimen = "paclitaxel 175 mg/m2 IV q3w x6" },
        ]

    (one line per option in the file).
    """

    name: Annotated[str, Field(min_length=1)]
    regimen: tuple[str, ...] = ()
    choices: tuple[RegimenChoice, ...] = ()
    ratio: Annotated[int, Field(ge=1, le=MAX_RATIO)] = 1
    description: str = ""
    published: PublishedLink | None = None
    crossover: CrossoverSpec | None = None

    @field_validator("regimen", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _regimen_or_choices(self) -> ArmSpec:
        if bool(self.regimen) == bool(self.choices):
            raise ValueError(
                "no regimen given; give exactly one of regimen (what every patient of the arm "
                "gets) or choices "
                '(investigator\'s choice), e.g. regimen = "pembrolizumab 200 mg IV q3w"'
                if not self.regimen
                else "give either regimen or choices, not both"
            )
        if self.choices:
            total = sum(c.share for c in self.choices)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(
                    f"the shares of the choices sum to {total:g}; make them sum to 1 "
                    "(e.g. share = 0.6 and share = 0.4)"
                )
            names = [c.name for c in self.choices]
            if len(set(names)) < len(names):
                raise ValueError(f"choices have duplicate names {names}; name each once")
        return self

    @field_validator("regimen")
    @classmethod
    def _parse(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            return v
        return _check_regimens(v)

    @property
    def is_placebo(self) -> bool:
        """True if the arm gets no active drug."""
        return bool(self.regimen) and self.regimen[0].strip().lower() in PLACEBO

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
        n_scans = _count_scans(self.schedule, self.horizon_days)
        if n_scans > MAX_SCANS:
            raise _LocatedError(
                ("schedule", "scans"),
                f"{n_scans} scans over {self.trial.follow_up_months:g} months is above the limit "
                f'of {MAX_SCANS}; give a longer scan interval, e.g. scans = "q8w"',
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
        >>> from oncotwin.trials.spec import parse_spec
        >>> spec = parse_spec(_MINIMAL.replace('q8w', 'q6w to week 12, then q12w'))
        >>> spec.scan_days(200.0).tolist()
        [0.0, 42.0, 84.0, 168.0]
        """
        horizon = self.horizon_days if horizon_days is None else float(horizon_days)
        if not 0 <= horizon <= MAX_MONTHS * DAYS_PER_MONTH:
            raise SpecError(
                f"horizon_days: {horizon:g}; give a number of days from 0 to "
                f"{MAX_MONTHS * DAYS_PER_MONTH:g} (50 years)"
            )
        if _count_scans(self.schedule, horizon) > MAX_SCANS:
            raise SpecError(
                f"horizon_days: {horizon:g} days gives more than {MAX_SCANS} scans; give a "
                "shorter horizon or a longer scan interval"
            )
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
        >>> from oncotwin.trials.spec import example_path, load_spec
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


def _count_scans(schedule: ScheduleSpec, horizon: float) -> int:
    """How many scans :meth:`TrialSpec.scan_days` gives to ``horizon`` (without building
    them)."""
    t, total = 0.0, 1
    for seg in schedule.scans:
        step = seg.every_weeks * 7.0
        end = horizon if seg.until_week is None else min(seg.until_week * 7.0, horizon)
        n = math.floor(min((end - t) / step + 1e-9, 1e18))
        if n > 0:
            total += n
            t = t + step * n
    return total


#: A minimal valid spec (used in the examples).
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
