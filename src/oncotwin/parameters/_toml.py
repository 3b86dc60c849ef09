"""Parameter records to and from TOML tables (the file format of parameter sets).

Python reads TOML (:mod:`tomllib`) but does not write it; this module writes the small subset a
parameter set needs (strings, floats, integers, booleans, lists of those, one level of
sub-tables). Floats are written with ``repr``, which reads back as the same float.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from oncotwin.errors import OncotwinError, ParameterError, did_you_mean
from oncotwin.parameters.core import Parameter, Source

__all__ = ["RECORD_FIELDS", "dumps", "record_from_table", "record_to_table"]

#: The keys a parameter table may have (``value`` and ``unit`` are required; then ``source``
#: with an optional ``where``, or ``assumption = true`` with a ``reason``).
RECORD_FIELDS: tuple[str, ...] = (
    "value",
    "unit",
    "source",
    "where",
    "assumption",
    "reason",
    "description",
    "log_sd",
    "lower",
    "upper",
    "range",
    "basis",
    "calibrate",
)

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_EXAMPLE = (
    '[parameters.growth_rate]\nvalue = 0.00286\nunit = "1/day"\nsource = "Iwata2000"\n'
    'where = "Table 1"\n'
)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            raise ParameterError("cannot write NaN to a parameter set; give a finite number")
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # repr reads back as the same float
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ParameterError(
        f"cannot write {value!r} ({type(value).__name__}) to a parameter set; settings may be "
        "strings, numbers, booleans or lists of them"
    )


def record_to_table(p: Parameter) -> dict[str, Any]:
    """The TOML table of one parameter record (fields at their defaults are left out)."""
    table: dict[str, Any] = {"value": float(p.value), "unit": p.unit}
    if p.source is not None:
        table["source"] = p.source.key
        if p.source.where:
            table["where"] = p.source.where
    if p.assumption:
        table["assumption"] = True
        table["reason"] = p.reason
    if p.description:
        table["description"] = p.description
    if p.log_sd != 0.0:
        table["log_sd"] = float(p.log_sd)
    if p.lower != 0.0:
        table["lower"] = float(p.lower)
    if p.upper != math.inf:
        table["upper"] = float(p.upper)
    if p.prior_range is not None:
        table["range"] = [float(x) for x in p.prior_range]
    if p.basis:
        table["basis"] = p.basis
    if p.calibrate:
        table["calibrate"] = True
    return table


def _number(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{where}: {key} = {value!r} is not a number; write e.g. {key} = 0.3")
    return float(value)


def record_from_table(table: Any, *, where: str, model_unit: str | None = None) -> Parameter:
    """A :class:`Parameter` from its TOML table; errors start with ``where`` (file and name).

    ``model_unit`` (the model's declared unit, when known) is quoted in the fix of a missing
    unit.
    """
    if not isinstance(table, Mapping):
        raise ParameterError(
            f"{where}: expected a table with value, unit and source or assumption, got "
            f"{table!r}; write it as\n{_EXAMPLE}"
        )
    for key in table:
        if key not in RECORD_FIELDS:
            raise ParameterError(
                f"{where}: " + did_you_mean(key, RECORD_FIELDS, what="field") + "; a parameter "
                f"table has the fields {', '.join(RECORD_FIELDS)}"
            )
    if "value" not in table:
        raise ParameterError(f"{where}: no value; add e.g. value = 0.3")
    value = _number(table, "value", math.nan, where)
    if not math.isfinite(value):
        raise ParameterError(f"{where}: value is {value}; give a finite number")
    unit = table.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        hint = f'unit = "{model_unit}" (the model\'s unit)' if model_unit else 'unit = "1/day"'
        what = "no unit" if unit is None else f"unit {unit!r} is not a unit string"
        raise ParameterError(f'{where}: {what}; add {hint} (dimensionless: unit = "1")')
    assumption = table.get("assumption", False)
    if not isinstance(assumption, bool):
        raise ParameterError(f"{where}: assumption = {assumption!r}; write true or false")
    for key in ("source", "where", "reason", "description"):
        if key in table and not isinstance(table[key], str):
            raise ParameterError(f"{where}: {key} = {table[key]!r}; write a string in quotes")
    if "source" not in table and not assumption:
        raise ParameterError(
            f'{where}: no source; add source = "<citation key>" and where = "<table, figure>", '
            'or assumption = true with reason = "<why the value is reasonable>"'
        )
    prior = table.get("range")
    if prior is not None and not (
        isinstance(prior, list)
        and len(prior) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in prior)
    ):
        raise ParameterError(f"{where}: range = {prior!r}; write range = [low, high] (numbers)")
    calibrate = table.get("calibrate", False)
    if not isinstance(calibrate, bool):
        raise ParameterError(f"{where}: calibrate = {calibrate!r}; write true or false")
    if "basis" in table and not isinstance(table["basis"], str):
        raise ParameterError(f"{where}: basis = {table['basis']!r}; write a string in quotes")
    if "where" in table and "source" not in table:
        raise ParameterError(f'{where}: where = ... needs a source = "<citation key>"')
    try:
        source = Source(table["source"], table.get("where", "")) if "source" in table else None
        record = Parameter(
            value,
            unit.strip(),
            source=source,
            assumption=assumption,
            reason=table.get("reason", ""),
            description=table.get("description", ""),
            log_sd=_number(table, "log_sd", 0.0, where),
            lower=_number(table, "lower", 0.0, where),
            upper=_number(table, "upper", math.inf, where),
            prior_range=None if prior is None else (float(prior[0]), float(prior[1])),
            basis=table.get("basis", ""),
            calibrate=calibrate,
        )
    except ParameterError as e:
        if str(e).startswith(where):
            raise
        raise ParameterError(f"{where}: {e}") from None
    except OncotwinError as e:  # unknown citation key, with "did you mean"
        raise ParameterError(f"{where}: {e}; register the citation or fix the key") from None
    if record.prior_range is not None and not (
        record.prior_range[0] <= record.value <= record.prior_range[1]
    ):
        raise ParameterError(
            f"{where}: value {record.value} is outside its plausible range = "
            f"[{record.prior_range[0]}, {record.prior_range[1]}]; widen the range (with its "
            "reason) or fix the value"
        )
    if not (record.lower <= record.value <= record.upper):
        raise ParameterError(
            f"{where}: value {record.value} is outside its valid range "
            f"[{record.lower}, {record.upper}]; give a value in range"
        )
    return record


def dumps(
    header: Mapping[str, Any], settings: Mapping[str, Any], parameters: Mapping[str, Parameter]
) -> str:
    """TOML text of a parameter set: ``header`` keys (``None`` left out), a ``[settings]``
    table (if any), then one ``[parameters.<name>]`` table per record, in order."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in header.items() if v is not None]
    if settings:
        lines += ["", "[settings]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in settings.items()]
    for name, record in parameters.items():
        lines += ["", f"[parameters.{_key(name)}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in record_to_table(record).items()]
    return "\n".join(lines) + "\n"
