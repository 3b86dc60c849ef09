"""Units: one pint registry, dose parsing and body-size helpers.

The canonical internal system is **day, cell, mg, L, IU, PFU, Gy**. Every quantity that enters
oncotwin from text goes through :func:`parse_quantity` (or :func:`parse_dose`, :func:`to_days`),
which raise :class:`~oncotwin.errors.UnitError` naming the field, the unit given, the units
accepted and the fix.

Examples
--------
>>> parse_dose("3 mg/kg").per_patient(np.array([80.0]), np.array([1.9]))
array([240.])
>>> str(parse_dose("375 mg/m^2"))
'375 mg/m2'
>>> round(to_days("2 h", field="infusion"), 6)
0.083333
>>> str(parse_dose("180 cGy"))
'1.8 Gy'

A radiation dose (kind ``"Gy"``) is the absorbed dose of one fraction, written in Gy (or cGy,
mGy) and always flat: ``Gy/kg`` and ``Gy/m2`` are errors, because a gray is already energy per
mass of tissue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pint

from oncotwin.errors import UnitError

__all__ = [
    "DOSE_UNITS",
    "DoseAmount",
    "bsa_mosteller",
    "format_number",
    "parse_dose",
    "parse_quantity",
    "to_days",
    "ureg",
]

ureg = pint.UnitRegistry()
ureg.define("cell = [cell_count] = cells")
ureg.define("international_unit = [international_unit] = IU")
ureg.define("plaque_forming_unit = [plaque_forming_unit] = PFU")
ureg.define("m2 = meter ** 2")

DoseKind = Literal["mass", "cells", "IU", "PFU", "Gy"]
DoseBasis = Literal["flat", "per_kg", "per_m2"]

#: Units a dose may be written in (the message of every dose UnitError lists these).
DOSE_UNITS: tuple[str, ...] = (
    "mg",
    "mg/kg",
    "mg/m2",
    "cells",
    "cells/kg",
    "cells/m2",
    "IU",
    "IU/kg",
    "IU/m2",
    "PFU",
    "PFU/kg",
    "PFU/m2",
    "Gy",
    "cGy",
)

# canonical unit of each dose kind and the pint dimensionality that identifies it
_KIND_UNIT: dict[str, str] = {
    "mass": "mg",
    "cells": "cell",
    "IU": "IU",
    "PFU": "PFU",
    "Gy": "Gy",
}
_KIND_TEXT: dict[str, str] = {"mass": "mg", "cells": "cells", "IU": "IU", "PFU": "PFU", "Gy": "Gy"}
_KIND_DIM = {kind: ureg.parse_units(unit).dimensionality for kind, unit in _KIND_UNIT.items()}
_BASIS_TEXT: dict[str, str] = {"flat": "", "per_kg": "/kg", "per_m2": "/m2"}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_QTY_RE = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>.*?)\s*$", re.IGNORECASE)
_DENOM_RE = re.compile(r"^(?P<num>.+?)\s*/\s*(?P<den>kg|m2|m\^2|m\*\*2)$", re.IGNORECASE)


def format_number(value: float) -> str:
    """Shortest text that parses back to exactly ``value`` (``2e6`` -> ``'2000000'``)."""
    for digits in (6, 12, 15):
        text = f"{value:.{digits}g}"
        if float(text) == value:
            return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", text)
    return repr(float(value))


def _split_number(text: str, field: str) -> tuple[float, str]:
    m = _QTY_RE.match(text)
    if m is None:
        raise UnitError(
            f"{field}: cannot read {text!r} as a quantity; write a number followed by a unit, "
            "e.g. '200 mg', '3 mg/kg', '30 min'"
        )
    return float(m.group("num")), m.group("unit")


def _check_value(value: float, text: str, field: str, *, allow_zero: bool = True) -> None:
    if math.isnan(value):
        raise UnitError(f"{field}: {text!r} is NaN; give a finite number, e.g. '200 mg'")
    if math.isinf(value):
        raise UnitError(f"{field}: {text!r} is infinite; give a finite number")
    if value < 0 or (value == 0 and not allow_zero):
        what = "negative" if value < 0 else "zero"
        raise UnitError(f"{field}: {text!r} is {what}; give a value > 0")


def parse_quantity(
    text: str, *, field: str, accepted: Sequence[str] | None = None
) -> pint.Quantity:
    """Parse ``text`` (e.g. ``"375 mg/m2"``, ``"0.5 h"``) into a pint Quantity.

    Parameters
    ----------
    text
        A number followed by a unit.
    field
        Name of the input field, used in error messages.
    accepted
        Units whose dimensionality the quantity must match (any one of them); None accepts all.

    Raises
    ------
    UnitError
        On unparseable text, NaN, infinite or negative values, or a unit whose dimensionality
        matches none of ``accepted``.
    """
    if not isinstance(text, str):
        raise UnitError(f"{field}: expected text such as '200 mg', got {type(text).__name__}")
    value, unit_text = _split_number(text, field)
    _check_value(value, text, field)
    try:
        unit = (
            ureg.parse_units(unit_text.replace("µ", "u").replace("μ", "u")) if unit_text else None
        )
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError) as exc:
        raise UnitError(
            f"{field}: unknown unit {unit_text!r} in {text!r}"
            + (f"; accepted units: {', '.join(accepted)}" if accepted else "")
        ) from exc
    except Exception as exc:  # pint raises assorted parser errors on garbage
        raise UnitError(f"{field}: cannot read the unit {unit_text!r} in {text!r}") from exc
    q = ureg.Quantity(value, unit if unit is not None else ureg.dimensionless)
    if accepted is not None:
        dims = [ureg.parse_units(a).dimensionality for a in accepted]
        if q.dimensionality not in dims:
            given = unit_text or "no unit"
            raise UnitError(
                f"{field}: unit {given!r} in {text!r} does not fit; accepted units: "
                f"{', '.join(accepted)}"
            )
    return q


@dataclass(frozen=True, slots=True)
class DoseAmount:
    """A dose in canonical units: ``value`` mg, cells, IU or PFU, flat or per kg / per m², or
    Gy per radiotherapy fraction (always flat).

    Examples
    --------
    >>> d = parse_dose("2e6 cells/kg")
    >>> d.kind, d.basis, str(d)
    ('cells', 'per_kg', '2e6 cells/kg')
    """

    value: float
    kind: DoseKind
    basis: DoseBasis = "flat"

    def __post_init__(self) -> None:
        v = float(self.value)
        if self.kind not in _KIND_UNIT:
            raise UnitError(f"dose kind {self.kind!r} unknown; use one of {sorted(_KIND_UNIT)}")
        if self.basis not in _BASIS_TEXT:
            raise UnitError(f"dose basis {self.basis!r} unknown; use flat, per_kg or per_m2")
        if math.isnan(v) or math.isinf(v) or v <= 0:
            raise UnitError(f"dose: value {self.value!r} is not a positive finite number")
        if self.kind == "Gy" and self.basis != "flat":
            raise UnitError(
                f"dose: a radiation dose in Gy has basis 'flat', not {self.basis!r}; a gray is "
                "already energy per mass, so give the dose per fraction, e.g. DoseAmount(8, 'Gy')"
            )
        object.__setattr__(self, "value", v)

    @property
    def unit(self) -> str:
        """Canonical unit text, e.g. ``'mg/kg'``."""
        return _KIND_TEXT[self.kind] + _BASIS_TEXT[self.basis]

    def __str__(self) -> str:
        return f"{format_number(self.value)} {self.unit}"

    def per_patient(self, weight_kg: np.ndarray, bsa_m2: np.ndarray) -> np.ndarray:
        """The absolute dose (mg, cells, IU, PFU or Gy) for each patient, vectorised."""
        w = np.asarray(weight_kg, dtype=np.float64)
        b = np.asarray(bsa_m2, dtype=np.float64)
        if self.basis == "per_kg":
            return self.value * w
        if self.basis == "per_m2":
            return self.value * b
        return np.full(np.broadcast_shapes(w.shape, b.shape), self.value)


def parse_dose(text: str, *, field: str = "dose") -> DoseAmount:
    """Parse a dose such as ``"200 mg"``, ``"3 mg/kg"``, ``"2e6 cells/kg"``, ``"1e8 PFU"``,
    ``"8 Gy"`` or ``"180 cGy"`` (a radiotherapy fraction; converted to Gy).

    Raises :class:`UnitError` for NaN, zero or negative doses, for units that are not a
    mass, cell, IU or PFU amount (optionally per kg or per m²) or a flat absorbed dose in Gy,
    and for ``Gy/kg`` or ``Gy/m2``.
    """
    value, unit_text = _split_number(text, field) if isinstance(text, str) else (None, "")
    if value is None:
        raise UnitError(f"{field}: expected text such as '200 mg', got {type(text).__name__}")
    if math.isnan(value):
        raise UnitError(f"{field}: {text!r} is NaN; give a finite dose > 0, e.g. '200 mg'")
    if value <= 0:
        what = "zero" if value == 0 else "negative"
        raise UnitError(
            f"{field}: {text!r} is {what}; a dose must be > 0 (leave the drug out instead of "
            "giving it at 0)"
        )
    basis: DoseBasis = "flat"
    m = _DENOM_RE.match(unit_text)
    num_text = unit_text
    if m is not None:
        num_text = m.group("num")
        basis = "per_kg" if m.group("den").lower() == "kg" else "per_m2"
    accepted = f"accepted units: {', '.join(DOSE_UNITS)}"
    try:
        q = parse_quantity(f"{value!r} {num_text}", field=field)
    except UnitError:
        raise UnitError(
            f"{field}: unit {unit_text!r} in {text!r} is not a dose unit; {accepted}"
        ) from None
    for kind, dim in _KIND_DIM.items():
        if q.dimensionality == dim:
            if kind == "Gy":
                _check_radiation_unit(text, unit_text, num_text, basis, field)
            amount = float(q.to(_KIND_UNIT[kind]).magnitude)
            _check_value(amount, text, field, allow_zero=False)
            return DoseAmount(amount, kind, basis)  # type: ignore[arg-type]
    raise UnitError(
        f"{field}: unit {unit_text!r} in {text!r} is not a dose unit "
        f"(it is a {q.dimensionality} quantity); {accepted}"
    )


def _check_radiation_unit(text: str, unit_text: str, num_text: str, basis: str, field: str) -> None:
    """A radiation dose is written in (c/m)Gy and is flat: reject Sv, J/kg, Gy/kg and Gy/m2."""
    if "gy" not in num_text.lower() and "gray" not in num_text.lower():
        raise UnitError(
            f"{field}: unit {unit_text!r} in {text!r} is not a radiotherapy dose unit; write the "
            "absorbed dose per fraction in Gy or cGy, e.g. '8 Gy' or '180 cGy'"
        )
    if basis != "flat":
        raise UnitError(
            f"{field}: unit {unit_text!r} in {text!r}: a radiation dose is not scaled by body "
            f"size (a gray is already energy per mass); drop the '{_BASIS_TEXT[basis]}' and "
            "give the dose per fraction, e.g. '8 Gy'"
        )


def to_days(text_or_quantity: str | pint.Quantity, *, field: str) -> float:
    """A duration (``"30 min"``, ``"2 h"``, ``"1 day"`` or a Quantity) in days."""
    if isinstance(text_or_quantity, str):
        q = parse_quantity(text_or_quantity, field=field, accepted=["day"])
    else:
        q = text_or_quantity
        if q.dimensionality != ureg.day.dimensionality:
            raise UnitError(f"{field}: {q} is not a duration; accepted units: min, h, day, week")
        if np.any(np.asarray(q.magnitude) < 0):
            raise UnitError(f"{field}: duration {q} is negative; give a value >= 0")
    return float(q.to(ureg.day).magnitude)


def bsa_mosteller(weight_kg: np.ndarray, height_cm: np.ndarray) -> np.ndarray:
    """Body-surface area [m²] by Mosteller (1987, NEJM 317:1098): sqrt(h[cm] * w[kg] / 3600)."""
    w = np.asarray(weight_kg, dtype=np.float64)
    h = np.asarray(height_cm, dtype=np.float64)
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise UnitError("weight_kg: every weight must be a finite number > 0 (kg)")
    if np.any(~np.isfinite(h)) or np.any(h <= 0):
        raise UnitError("height_cm: every height must be a finite number > 0 (cm)")
    return np.sqrt(h * w / 3600.0)
