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

A carboplatin-style dose by target AUC (``"AUC 5"``, ``"AUC5"``, ``"AUC 5 mg/mL*min"``; the unit
of AUC is mg·min/mL) has basis ``"auc"``: the dose in mg is AUC x (GFR + 25) with the GFR in
mL/min (Calvert et al. 1989), so it needs each patient's creatinine clearance:

>>> d = parse_dose("AUC 5 mg/mL*min")
>>> str(d), d.per_patient(np.array([70.0]), np.array([1.8]), crcl_ml_min=np.array([100.0, 150.0]))
('AUC 5', array([625., 750.]))

A dose per day (``"28 ug/day"``, ``"1000 mg/m2/day"``) is the rate of a continuous infusion
(``per_day``): a regimen gives rate x days over the infusion's days.

>>> r = parse_dose("1000 mg/m2/day")
>>> r.per_day, r.basis, str(r)
(True, 'per_m2', '1000 mg/m2/day')
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pint

from oncotwin.errors import UnitError

__all__ = [
    "CALVERT_GFR_CAP_ML_MIN",
    "CALVERT_NONRENAL_ML_MIN",
    "DOSE_UNITS",
    "DoseAmount",
    "bsa_mosteller",
    "calvert_dose_mg",
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
DoseBasis = Literal["flat", "per_kg", "per_m2", "auc"]

#: Calvert's constant: the non-renal clearance of carboplatin [mL/min] (dose = AUC x (GFR + 25)).
CALVERT_NONRENAL_ML_MIN: float = 25.0
#: The cap on the estimated GFR in Calvert's formula [mL/min] that the FDA advises (2010) so that
#: an over-estimated clearance does not overdose.
CALVERT_GFR_CAP_ML_MIN: float = 125.0

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
    "AUC",
    "ug/day",
    "mg/m2/day",
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
_BASIS_TEXT: dict[str, str] = {"flat": "", "per_kg": "/kg", "per_m2": "/m2", "auc": ""}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_QTY_RE = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>.*?)\s*$", re.IGNORECASE)
_DENOM_RE = re.compile(r"^(?P<num>.+?)\s*/\s*(?P<den>kg|m2|m\^2|m\*\*2)$", re.IGNORECASE)
_LOADING_RE = re.compile(
    r"\(\s*(?:loading|first)(?:\s+dose)?\s*(?P<dose>[^()]*?)\s*\)\s*$", re.IGNORECASE
)
_CAP_RE = re.compile(rf"\(\s*max(?:imum)?\.?\s*(?P<num>{_NUMBER})\s*mg\s*\)\s*$", re.I)
_PER_DAY_RE = re.compile(r"^(?P<num>.+?)\s*/\s*(?:day|d|24\s*h)$", re.IGNORECASE)
_AUC_RE = re.compile(
    rf"^\s*AUC\s*=?\s*(?P<num>{_NUMBER})\s*"
    r"(?P<unit>mg\s*/\s*mL\s*[*·.x ]?\s*min|mg\s*[*·.x ]?\s*min\s*/\s*mL)?\s*$",
    re.IGNORECASE,
)


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
    Gy per radiotherapy fraction (always flat), or a target AUC [mg·min/mL] (basis ``"auc"``,
    kind mass: Calvert dosing). ``per_day``: the value is a rate per day (a continuous
    infusion; mass, IU or cells, not AUC or Gy).

    Examples
    --------
    >>> d = parse_dose("2e6 cells/kg")
    >>> d.kind, d.basis, str(d)
    ('cells', 'per_kg', '2e6 cells/kg')
    >>> DoseAmount(5, "mass", "auc")
    DoseAmount(value=5.0, kind='mass', basis='auc')
    """

    value: float
    kind: DoseKind
    basis: DoseBasis = "flat"
    per_day: bool = False
    #: the largest dose [mg] a patient gets (vincristine ``1.4 mg/m2 (max 2 mg)``), or None
    max_mg: float | None = None
    #: the first dose's value in the same unit (cetuximab ``250 mg/m2 (loading 400 mg/m2)``)
    loading: float | None = None

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
        if self.basis == "auc" and self.kind != "mass":
            raise UnitError(
                f"dose: a target AUC doses a mass (mg), not {self.kind!r}; e.g. "
                "DoseAmount(5, 'mass', 'auc') for AUC 5 mg·min/mL"
            )
        if not isinstance(self.per_day, bool):
            raise UnitError(f"dose: per_day={self.per_day!r}; give True or False")
        if self.per_day and (self.basis == "auc" or self.kind in ("Gy", "PFU")):
            what = "a target AUC" if self.basis == "auc" else f"a dose in {self.kind}"
            raise UnitError(
                f"dose: {what} is not given as a rate per day; a continuous infusion's rate is "
                "a mass, IU or cells per day, e.g. '28 ug/day' or '1000 mg/m2/day'"
            )
        if self.max_mg is not None:
            cap = self.max_mg
            ok = isinstance(cap, int | float) and not isinstance(cap, bool)
            if not (ok and math.isfinite(cap) and cap > 0):
                raise UnitError(f"dose: cap max_mg={cap!r}; give a finite dose in mg > 0")
            if self.kind != "mass" or self.basis == "flat" or self.per_day:
                raise UnitError(
                    f"dose: a cap (max {cap} mg) is for a mass dose scaled by body size or "
                    "renal function (mg/m2, mg/kg, AUC), not a flat, rate or non-mass dose"
                )
            object.__setattr__(self, "max_mg", float(cap))
        if self.loading is not None:
            first = self.loading
            ok = isinstance(first, int | float) and not isinstance(first, bool)
            if not (ok and math.isfinite(first) and first > 0):
                raise UnitError(f"dose: loading={first!r}; give a finite first dose > 0")
            if self.per_day or self.basis == "auc" or self.kind == "Gy":
                raise UnitError(
                    "dose: a loading dose is for a dose given in amounts (mg, mg/kg, mg/m2, IU, "
                    "cells), not a rate, a target AUC or a radiotherapy fraction"
                )
            object.__setattr__(self, "loading", float(first))
        if self.per_day:  # a rate is kept to 12 digits: its text (maybe in ug) round-trips
            v = float(f"{v:.12g}")
        object.__setattr__(self, "value", v)

    def __repr__(self) -> str:
        extra = ", per_day=True" if self.per_day else ""
        extra += f", max_mg={self.max_mg!r}" if self.max_mg is not None else ""
        extra += f", loading={self.loading!r}" if self.loading is not None else ""
        return f"DoseAmount(value={self.value!r}, kind={self.kind!r}, basis={self.basis!r}{extra})"

    @property
    def unit(self) -> str:
        """Canonical unit text, e.g. ``'mg/kg'``, ``'mg/m2/day'`` (``'AUC'`` for a target AUC)."""
        if self.basis == "auc":
            return "AUC"
        return _KIND_TEXT[self.kind] + _BASIS_TEXT[self.basis] + ("/day" if self.per_day else "")

    def __str__(self) -> str:
        cap = f" (max {format_number(self.max_mg)} mg)" if self.max_mg is not None else ""
        first = ""
        if self.loading is not None:
            first = f" (loading {format_number(self.loading)} {self.unit})"
        return self._text() + first + cap

    def _text(self) -> str:
        if self.basis == "auc":
            return f"AUC {format_number(self.value)}"
        if self.per_day and self.kind == "mass" and self.value < 1.0:  # 28 ug/day, not 0.028 mg
            return f"{format_number(float(f'{self.value * 1000.0:.12g}'))} ug{self.unit[2:]}"
        return f"{format_number(self.value)} {self.unit}"

    def per_patient(
        self,
        weight_kg: np.ndarray,
        bsa_m2: np.ndarray,
        crcl_ml_min: np.ndarray | None = None,
    ) -> np.ndarray:
        """The absolute dose (mg, cells, IU, PFU or Gy; per day for a rate) for each patient,
        vectorised. A target AUC needs ``crcl_ml_min`` (:func:`calvert_dose_mg`)."""
        out = self._per_patient(weight_kg, bsa_m2, crcl_ml_min)
        return out if self.max_mg is None else np.minimum(out, self.max_mg)

    def _per_patient(
        self, weight_kg: np.ndarray, bsa_m2: np.ndarray, crcl_ml_min: np.ndarray | None
    ) -> np.ndarray:
        w = np.asarray(weight_kg, dtype=np.float64)
        b = np.asarray(bsa_m2, dtype=np.float64)
        if self.basis == "auc":
            if crcl_ml_min is None:
                raise UnitError(
                    f"dose: {self} is a target AUC (Calvert dosing), which needs each "
                    "patient's creatinine clearance; pass crcl_ml_min"
                )
            return calvert_dose_mg(self.value, crcl_ml_min)
        if self.basis == "per_kg":
            return self.value * w
        if self.basis == "per_m2":
            return self.value * b
        return np.full(np.broadcast_shapes(w.shape, b.shape), self.value)


def calvert_dose_mg(auc: float, crcl_ml_min: np.ndarray) -> np.ndarray:
    """Calvert's carboplatin dose [mg] = AUC [mg·min/mL] x (min(CrCl, 125) + 25) [mL/min].

    Calvert et al. 1989 (J Clin Oncol 7:1748): dose = target AUC x (GFR + 25); the estimated
    GFR (here the Cockcroft-Gault creatinine clearance) is capped at 125 mL/min as the FDA
    advised in 2010, so the largest dose for AUC 5 is 750 mg.

    >>> calvert_dose_mg(5.0, np.array([60.0, 200.0])).tolist()
    [425.0, 750.0]
    """
    c = np.asarray(crcl_ml_min, dtype=np.float64)
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise UnitError(
            "crcl_ml_min: every creatinine clearance must be a finite number > 0 (mL/min)"
        )
    return float(auc) * (np.minimum(c, CALVERT_GFR_CAP_ML_MIN) + CALVERT_NONRENAL_ML_MIN)


def _parse_auc(text: str, field: str) -> DoseAmount | None:
    """``"AUC 5"``, ``"AUC5"``, ``"AUC = 5 mg/mL*min"`` -> a target AUC; None if not AUC."""
    if not re.match(r"\s*AUC\b|\s*AUC\s*\d", text, re.IGNORECASE):
        return None
    m = _AUC_RE.match(text)
    if m is None:
        raise UnitError(
            f"{field}: cannot read {text!r} as a target AUC; write e.g. 'AUC 5' or "
            "'AUC 5 mg/mL*min' (the unit of AUC is mg·min/mL)"
        )
    value = float(m.group("num"))
    if not (math.isfinite(value) and value > 0):
        raise UnitError(f"{field}: {text!r}: a target AUC must be a finite number > 0, e.g. AUC 5")
    return DoseAmount(value, "mass", "auc")


def parse_dose(text: str, *, field: str = "dose") -> DoseAmount:
    """Parse a dose such as ``"200 mg"``, ``"3 mg/kg"``, ``"2e6 cells/kg"``, ``"1e8 PFU"``,
    ``"8 Gy"`` or ``"180 cGy"`` (a radiotherapy fraction; converted to Gy), a target AUC
    (``"AUC 5"``) or a rate per day (``"28 ug/day"``, ``"1000 mg/m2/day"``).

    Raises :class:`UnitError` for NaN, zero or negative doses, for units that are not a
    mass, cell, IU or PFU amount (optionally per kg or per m², optionally per day) or a flat
    absorbed dose in Gy, and for ``Gy/kg`` or ``Gy/m2``.
    """
    if isinstance(text, str) and (cap := _CAP_RE.search(text)) is not None:
        dose = parse_dose(text[: cap.start()], field=field)
        try:
            return replace(dose, max_mg=float(cap["num"]))
        except UnitError as exc:
            raise UnitError(f"{field}: {text!r}: {str(exc).removeprefix('dose: ')}") from None
    if isinstance(text, str) and (load := _LOADING_RE.search(text)) is not None:
        dose = parse_dose(text[: load.start()], field=field)
        if not load["dose"]:
            raise UnitError(
                f"{field}: {text!r}: give the loading dose, e.g. '(loading 400 {dose.unit})'"
            )
        first = parse_dose(load["dose"], field=f"{field} (loading dose)")
        if (first.kind, first.basis, first.per_day) != (dose.kind, dose.basis, dose.per_day):
            raise UnitError(
                f"{field}: {text!r}: the loading dose {first} is not in the dose's unit "
                f"{dose.unit}; give it as e.g. '(loading 400 {dose.unit})'"
            )
        try:
            return replace(dose, loading=first.value)
        except UnitError as exc:
            raise UnitError(f"{field}: {text!r}: {str(exc).removeprefix('dose: ')}") from None
    if isinstance(text, str):
        auc = _parse_auc(text, field)
        if auc is not None:
            return auc
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
    per_day = False
    rate = _PER_DAY_RE.match(unit_text)
    if rate is not None:
        per_day = True
        unit_text = rate.group("num")
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
            if per_day:  # a new form: its value is kept to 12 digits so that text round-trips
                amount = float(f"{amount:.12g}")
            if per_day and kind in ("Gy", "PFU"):
                raise UnitError(
                    f"{field}: {text!r}: a dose in {kind} is not given as a rate per day; "
                    "drop the '/day'"
                )
            return DoseAmount(amount, kind, basis, per_day)  # type: ignore[arg-type]
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
