"""Reading oncotwin's package data files (TOML, CSV) with errors that name the file and field.

Every data file shipped in ``src/oncotwin/**/data/`` is read through these helpers, so that a
malformed file fails with one :class:`DataFileError` naming the file, the field (a dotted path
such as ``pembrolizumab.pk.CL.value``), what is wrong and how to fix it.

Examples
--------
>>> from oncotwin._datafiles import field_str
>>> field_str({"name": "x"}, "name", file="f.toml", where="drug")
'x'
>>> field_str({}, "name", file="f.toml", where="drug")
Traceback (most recent call last):
...
oncotwin._datafiles.DataFileError: f.toml: drug.name: missing; add the field 'name'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from oncotwin.errors import OncotwinError

__all__ = [
    "DataFileError",
    "field_float",
    "field_int",
    "field_str",
    "field_strs",
    "field_table",
    "parameter_record",
    "read_package_text",
    "read_package_toml",
]


class DataFileError(OncotwinError):
    """A package (or user) data file is malformed; the message names the file and the field."""


def fail(file: str, where: str, problem: str, fix: str) -> DataFileError:
    """Build the error for ``where`` (a dotted field path) in ``file``."""
    return DataFileError(f"{file}: {where}: {problem}; {fix}")


def read_package_text(package: str, name: str) -> tuple[str, str]:
    """The text of data file ``name`` of ``package`` and a label naming it in messages."""
    label = f"{package.replace('.', '/')}/{name}"
    try:
        return resources.files(package).joinpath(name).read_text(encoding="utf-8"), label
    except FileNotFoundError:
        raise DataFileError(
            f"{label}: data file not found; reinstall oncotwin (package data missing)"
        ) from None


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """Parse TOML ``text`` (from ``label``); a syntax error becomes a :class:`DataFileError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{label}: not valid TOML ({exc}); fix the syntax there") from None


def read_package_toml(package: str, name: str) -> tuple[dict[str, Any], str]:
    """The parsed TOML data file ``name`` of ``package`` and its label."""
    text, label = read_package_text(package, name)
    return parse_toml(text, label), label


def _get(table: Mapping[str, Any], key: str, file: str, where: str, default: Any) -> Any:
    if key in table:
        return table[key]
    if default is _MISSING:
        raise fail(file, f"{where}.{key}", "missing", f"add the field {key!r}")
    return default


_MISSING: Any = object()


def field_str(
    table: Mapping[str, Any], key: str, *, file: str, where: str, default: Any = _MISSING
) -> str:
    """``table[key]`` as a string (``default`` when absent, else an error)."""
    v = _get(table, key, file, where, default)
    if not isinstance(v, str):
        raise fail(file, f"{where}.{key}", f"expected a string, got {v!r}", "quote the value")
    return v


def field_float(
    table: Mapping[str, Any], key: str, *, file: str, where: str, default: Any = _MISSING
) -> float:
    """``table[key]`` as a float (a TOML integer or float; booleans are refused)."""
    v = _get(table, key, file, where, default)
    if v is default and default is not _MISSING:
        return v
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise fail(file, f"{where}.{key}", f"expected a number, got {v!r}", "write a number")
    return float(v)


def field_int(
    table: Mapping[str, Any], key: str, *, file: str, where: str, default: Any = _MISSING
) -> int:
    """``table[key]`` as an integer."""
    v = _get(table, key, file, where, default)
    if v is default and default is not _MISSING:
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        raise fail(file, f"{where}.{key}", f"expected an integer, got {v!r}", "write an integer")
    return v


def field_strs(
    table: Mapping[str, Any], key: str, *, file: str, where: str, default: Any = _MISSING
) -> tuple[str, ...]:
    """``table[key]`` as a tuple of strings (a TOML array of strings)."""
    v = _get(table, key, file, where, default)
    if v is default and default is not _MISSING:
        return v
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise fail(
            file, f"{where}.{key}", f"expected an array of strings, got {v!r}", 'write ["a", "b"]'
        )
    return tuple(v)


def field_table(
    table: Mapping[str, Any], key: str, *, file: str, where: str, default: Any = _MISSING
) -> dict[str, Any]:
    """``table[key]`` as a (sub-)table."""
    v = _get(table, key, file, where, default)
    if v is default and default is not _MISSING:
        return v
    if not isinstance(v, dict):
        raise fail(file, f"{where}.{key}", f"expected a table, got {v!r}", "write a [table]")
    return v


def check_keys(
    table: Mapping[str, Any], allowed: set[str] | frozenset[str], *, file: str, where: str
) -> None:
    """Refuse keys of ``table`` not in ``allowed`` (typos), with a did-you-mean."""
    from oncotwin.errors import did_you_mean

    for k in table:
        if k not in allowed:
            raise fail(file, f"{where}.{k}", did_you_mean(k, allowed, what="field"), "fix the key")


_PARAM_KEYS = frozenset(
    {"value", "unit", "source", "where", "assumption", "reason", "description"}
    | {"log_sd", "lower", "upper", "range", "basis"}
)


def _number(rec: Mapping[str, Any], key: str, file: str, where: str) -> float | int:
    v = rec[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise fail(file, f"{where}.{key}", f"expected a number, got {v!r}", "write a number")
    return v


def parameter_record(rec: Any, *, file: str, where: str) -> Any:
    """One :class:`~oncotwin.parameters.Parameter` from a TOML table.

    Fields: ``value``, ``unit`` (pint string), and ``source`` (citation key) + ``where``, or
    ``assumption = true`` + ``reason``; optional ``description``, ``log_sd``, ``lower``,
    ``upper``. Numbers keep their TOML type (an integer stays an integer).
    """
    from oncotwin.parameters import Parameter, Source

    if not isinstance(rec, dict):
        raise fail(file, where, f"expected a table, got {rec!r}", f"write [{where}]")
    check_keys(rec, _PARAM_KEYS, file=file, where=where)
    if "value" not in rec:
        raise fail(file, f"{where}.value", "missing", "add value = <number>")
    field_str(rec, "unit", file=file, where=where)
    kw: dict[str, Any] = {
        k: _number(rec, k, file, where) for k in ("value", "log_sd", "lower", "upper") if k in rec
    }
    for k in ("unit", "reason", "description", "basis"):
        if k in rec:
            kw[k] = field_str(rec, k, file=file, where=where)
    if "range" in rec:
        rng = rec["range"]
        if not (isinstance(rng, list) and len(rng) == 2):
            raise fail(file, f"{where}.range", f"expected [low, high], got {rng!r}", "fix it")
        kw["prior_range"] = tuple(_number({"range": x}, "range", file, where) for x in rng)
    if "assumption" in rec:
        if not isinstance(rec["assumption"], bool):
            raise fail(file, f"{where}.assumption", "expected true or false", "write true")
        kw["assumption"] = rec["assumption"]
    try:
        if "source" in rec:
            key = field_str(rec, "source", file=file, where=where)
            kw["source"] = Source(key, field_str(rec, "where", file=file, where=where, default=""))
        return Parameter(**kw)
    except OncotwinError as exc:
        raise fail(file, where, str(exc), "fix the record") from None
    except ValueError as exc:
        raise fail(file, where, str(exc), "fix the record") from None
