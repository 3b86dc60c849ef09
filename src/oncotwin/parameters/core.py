"""A model parameter is a record, never a bare number.

Each :class:`Parameter` carries its value, its unit (a pint-parsable string in the model's
canonical system: day, cell, mg, L) and either a :class:`Source` (citation key plus table,
figure or equation) or ``assumption=True`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from oncotwin.citations import get_citation
from oncotwin.errors import ParameterError, UnknownNameError, did_you_mean

__all__ = ["BASES", "Parameter", "ParameterValues", "Source"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value comes from: a registered citation key and the place in the paper."""

    key: str
    where: str = ""

    def __post_init__(self) -> None:
        get_citation(self.key)  # unknown keys fail here, with "did you mean"

    def __str__(self) -> str:
        return f"{self.key}, {self.where}" if self.where else self.key


@dataclass(frozen=True, slots=True)
class Parameter:
    """A parameter value with unit and provenance.

    Parameters
    ----------
    value
        The value in ``unit``.
    unit
        Unit string (pint syntax), e.g. ``"1/day"``, ``"cell"``, ``"L"``; ``"1"`` if dimensionless.
    source
        Where the value comes from; required unless ``assumption`` is true.
    assumption
        True if the value is a modelling assumption; ``reason`` must then say why.
    reason
        Why the assumed value is reasonable.
    description
        What the parameter means.
    log_sd
        Between-patient standard deviation of ``log(value)`` used by default population
        sampling (log-normal, the pharmacometric omega); 0 means the parameter does not vary.
    lower, upper
        Valid range (inclusive); values outside raise :class:`ParameterError`.
    prior_range
        The plausible range ``(low, high)`` of the population value, which calibration uses
        as its prior (a uniform prior, on the log scale when both ends are positive and
        ``high / low >= 10``); ``None`` if the value is fixed. A parameter-set file's value
        must lie in it; a user's or a calibrated override may leave it.
    basis
        Where an assumed value or its plausible range comes from: ``"sourced range"`` (a
        range a publication reports, named in ``reason``), ``"physiological bound"`` (a
        limit of what is physically or biologically possible), ``"to be calibrated"`` (an
        order of magnitude that calibration must fit) or ``"untreated default"`` (a drug
        or treatment quantity that is 0 until a regimen sets it); empty for sourced values.
    calibrate
        True if calibration treats the value as free (a calibration quantity fitted to the
        calibration arms, within ``prior_range``); such a value must not be called
        "not fitted" once calibrated.

    Examples
    --------
    >>> from oncotwin.citations import Citation, register_citation
    >>> _ = register_citation(Citation("Doe2020", "J. Doe", 2020, "A title", "J Theor Biol"))
    >>> Parameter(0.18, "1/day", source=Source("Doe2020", "Table 1"), description="growth").value
    0.18
    """

    value: float
    unit: str
    source: Source | None = None
    assumption: bool = False
    reason: str = ""
    description: str = ""
    log_sd: float = 0.0
    lower: float = 0.0
    upper: float = math.inf
    prior_range: tuple[float, float] | None = None
    basis: str = ""
    calibrate: bool = False

    def __post_init__(self) -> None:
        if self.source is None and not self.assumption:
            raise ParameterError(
                "a Parameter needs a source (Source(key, where)) or assumption=True with a reason"
            )
        if self.assumption and not self.reason.strip():
            raise ParameterError("an assumed Parameter needs a reason='...' saying why")
        v = float(self.value)
        if math.isnan(v):
            raise ParameterError("parameter value is NaN; give a finite number")
        object.__setattr__(self, "value", v)
        if not (self.log_sd >= 0 and math.isfinite(self.log_sd)):
            raise ParameterError(f"log_sd={self.log_sd} must be a finite number >= 0")
        if self.basis and self.basis not in BASES:
            raise ParameterError(
                f"basis={self.basis!r} is not one of {', '.join(map(repr, BASES))}"
            )
        if self.prior_range is not None:
            lo, hi = (float(x) for x in self.prior_range)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ParameterError(
                    f"prior_range=({lo}, {hi}) must be two finite numbers, low <= high"
                )
            object.__setattr__(self, "prior_range", (lo, hi))
        if self.calibrate and self.prior_range is None:
            raise ParameterError(
                "a calibration quantity (calibrate=True) needs a prior_range=(low, high)"
            )

    def with_value(self, value: float) -> Parameter:
        """A copy with another value (same unit and provenance)."""
        return replace(self, value=value)

    @property
    def provenance(self) -> str:
        """Human-readable source or ``assumption: reason``."""
        return str(self.source) if self.source is not None else f"assumption: {self.reason}"


#: The bases an assumed value or its plausible range may state (:attr:`Parameter.basis`).
BASES: tuple[str, ...] = (
    "sourced range",
    "physiological bound",
    "to be calibrated",
    "untreated default",
)


@dataclass(frozen=True)
class ParameterValues(Mapping[str, Parameter]):
    """A named, sourced parameter set, e.g. ``Kuznetsov1994`` for the Kuznetsov model."""

    name: str
    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Parameter:
        try:
            return self.parameters[key]
        except KeyError:
            raise UnknownNameError(
                did_you_mean(key, self.parameters, what="parameter") + f" (set {self.name!r})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def citation_keys(self) -> list[str]:
        """The citation keys of every sourced parameter, in order, without repeats."""
        keys: dict[str, None] = {}
        for p in self.parameters.values():
            if p.source is not None:
                keys[p.source.key] = None
        return list(keys)

    def updated(self, name: str | None = None, **values: float) -> ParameterValues:
        """A copy with some values replaced (unknown names raise with "did you mean")."""
        new = dict(self.parameters)
        for k, v in values.items():
            new[k] = self[k].with_value(v)
        return ParameterValues(name or self.name, new)
