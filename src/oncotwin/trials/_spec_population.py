"""The ``[population]`` table of a trial spec and the vocabulary of its ``eligibility`` keys.

Every eligibility key must be an applied criterion
(:data:`oncotwin.population.covariates.ELIGIBILITY_KEYS`, or a spec spelling of one in
:data:`_ELIGIBILITY_ALIASES`) or a recorded-only :data:`DESCRIPTIVE_CRITERIA`; every baseline
key must read as a :class:`~oncotwin.population.covariates.BaselineTarget`. A misspelt key is
refused with a did-you-mean (a silently ignored criterion would run the trial on the wrong
population). The public names are re-exported by :mod:`oncotwin.trials.spec`.

Examples
--------
>>> PopulationSpec(eligibility={"pdl1_tps_min": 50}).eligibility
{'pdl1_tps_min': 50}
>>> "prior_systemic_therapy" in DESCRIPTIVE_CRITERIA
True
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from oncotwin.errors import OncotwinError, did_you_mean
from oncotwin.trials._spec_errors import _LocatedError
from oncotwin.trials._spec_scans import _Frozen

__all__ = ["DESCRIPTIVE_CRITERIA", "PopulationSpec", "eligibility_vocabulary"]

#: Spec eligibility keys that oncotwin records but cannot apply (no covariate models them):
#: listed in the manifest and the report so that a reader sees what was not simulated.
DESCRIPTIVE_CRITERIA: frozenset[str] = frozenset(
    {
        "histology",
        "egfr_alk_wildtype",
        "prior_platinum_doublet",
        "prior_systemic_therapy",
        "imdc_risk",
        "chemorefractory",
        "transplant_ineligible_or_failed",
        "castration_resistant",
        "visceral_mets",
        "injectable_lesions",
        "prior_chemotherapy_metastatic",
        "marrow_blasts_min_pct",
        "cd20_positive",
    }
)

#: Spec spellings -> population eligibility fields.
_ELIGIBILITY_ALIASES = {
    "no_active_brain_mets": "no_brain_mets",
    "age_min_yr": "age_min",
    "age_max_yr": "age_max",
    "her2_overexpression": "her2_positive",
}


def eligibility_vocabulary() -> tuple[str, ...]:
    """Every key a spec's ``eligibility`` table may hold: the applied criteria
    (:data:`oncotwin.population.covariates.ELIGIBILITY_KEYS` and their spec spellings) and the
    recorded-only :data:`DESCRIPTIVE_CRITERIA`."""
    from oncotwin.population.covariates import ELIGIBILITY_KEYS

    return tuple(sorted({*ELIGIBILITY_KEYS, *_ELIGIBILITY_ALIASES, *DESCRIPTIVE_CRITERIA}))


def _toml_type(v: Any) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "a string"}.get(
        type(v), "a table or list"
    )


def _check_eligibility(criteria: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown keys, values of the wrong type and values outside their domain."""
    from dataclasses import fields

    from oncotwin.population.covariates import Eligibility

    known = eligibility_vocabulary()
    kinds = {f.name: str(f.type) for f in fields(Eligibility)}
    applied: dict[str, Any] = {}
    for key, value in criteria.items():
        if key not in known:
            hint = did_you_mean(key, known, what="eligibility key", n=1)
            raise _LocatedError(
                (key,),
                f"{hint}; fix the spelling or remove the key (an unknown criterion is "
                "never ignored: the trial would run on the wrong population)",
            )
        field = _ELIGIBILITY_ALIASES.get(key, key)
        if field in applied:
            raise _LocatedError((key,), f"{field!r} is given twice (as two spellings); keep one")
        if not isinstance(value, bool | int | float | str):
            raise _LocatedError((key,), f"{key} must be true/false, a number or a string")
        if field in kinds:
            want = kinds[field]
            if "bool" in want and not isinstance(value, bool):
                raise _LocatedError((key,), f"{key} must be true or false, not {_toml_type(value)}")
            if "bool" not in want and (isinstance(value, bool) or isinstance(value, str)):
                need = "a whole number" if "int" in want else "a number"
                raise _LocatedError((key,), f"{key} must be {need}, not {_toml_type(value)}")
            if "int" in want and not isinstance(value, int):
                raise _LocatedError((key,), f"{key} must be a whole number, e.g. {key} = 1")
            applied[field] = value
        elif key.endswith("_pct") and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100
        ):
            raise _LocatedError((key,), f"{key} is a percentage; give a number from 0 to 100")
    try:
        Eligibility(**applied)
    except OncotwinError as exc:
        # "Eligibility pdl1_tps_min=150 is invalid; give a number in [0, 100] (...) or None"
        msg = re.sub(r"^Eligibility \w+=\S+ is invalid; ", "", str(exc))
        msg = msg.replace(" or None for no limit", "").replace("Eligibility ", "")
        m = re.match(r"Eligibility (\w+)=", str(exc))
        spelled = {_ELIGIBILITY_ALIASES.get(k, k): k for k in criteria}
        loc = (spelled[m.group(1)],) if m and m.group(1) in spelled else ()
        raise _LocatedError(loc, msg + "; leave a key out for no limit") from None
    return criteria


def _check_baseline(targets: dict[str, Any]) -> dict[str, Any]:
    """Every key must read as a :class:`~oncotwin.population.covariates.BaselineTarget`."""
    from oncotwin.population.covariates import BaselineTarget

    for key, value in targets.items():
        try:
            BaselineTarget.parse(key, value)
        except OncotwinError as exc:
            raise _LocatedError((key,), str(exc)) from None
    return targets


class PopulationSpec(_Frozen):
    """The ``[population]`` table.

    ``eligibility`` (e.g. ``{pdl1_tps_min = 50, no_brain_mets = true}``) and ``baseline`` (a
    published baseline table, e.g. ``{age_yr = 61}``) are checked against the keys the
    population module knows when it passes them to :func:`parse_spec` (``eligibility_keys``).
    """

    eligibility: dict[str, Any] = Field(default_factory=dict)
    baseline: dict[str, Any] = Field(default_factory=dict)

    @field_validator("eligibility")
    @classmethod
    def _eligibility(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_eligibility(v)

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_baseline(v)
