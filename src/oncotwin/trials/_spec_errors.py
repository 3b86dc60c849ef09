"""Error messages of trial spec files: which key of the TOML text is wrong, on which line.

:func:`_problems` turns pydantic's ``ValidationError`` into one ``file:line: field = value:
problem; fix`` line per bad field: :func:`_locate` finds the line of a key by walking the
TOML table headers and ``key =`` lines, :func:`_describe` words the problem with a fix and
:func:`_format` assembles the line. Models raise :class:`_LocatedError` to point at a key
below the one pydantic reports. The public names are re-exported by
:mod:`oncotwin.trials.spec`; import them from there.

Examples
--------
>>> _field_name(("arm", 1, "regimen"), {"arm": [{"name": "a"}, {"name": "b"}]})
"[[arm]] 2 'b' regimen"
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from oncotwin.errors import OncotwinError, did_you_mean

__all__ = ["SpecError"]


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
    "seed": "give a whole number from 0 to 2**63 - 1, e.g. seed = 2015",
    "follow_up_months": "give the follow-up in months, e.g. follow_up_months = 60",
    "fraction": "give the share of patients who cross over, 0 < fraction <= 1",
}


def _toml_syntax_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> SpecError:
    """One :class:`SpecError` for a TOML syntax error, showing the offending line."""
    msg = str(exc)
    m = re.search(r"at line (\d+)", msg)
    line = int(m.group(1)) if m else None
    shown = ""
    if line is not None and 1 <= line <= len(text.splitlines()):
        shown = f"\n    {text.splitlines()[line - 1]}"
    where = f"{source}:{line}" if line else source
    return SpecError(
        f"{where}: TOML syntax error: {msg}{shown}\nfix the TOML syntax (strings in double "
        'quotes, key = value, [table] / [[arm]] headers), e.g. seed = 1 or name = "a"',
        source=source,
        problems=[(line, msg)],
    )


def _spec_error(problems: list[tuple[int | None, str]], source: str) -> SpecError:
    if len(problems) == 1:
        return SpecError(problems[0][1], source=source, problems=problems)
    shown = [p[1] for p in problems[:_MAX_SHOWN]]
    if len(problems) > _MAX_SHOWN:
        shown.append(f"... and {len(problems) - _MAX_SHOWN} more (fix these first)")
    body = "\n".join(shown)
    return SpecError(
        f"{len(problems)} problems in {source}:\n{body}", source=source, problems=problems
    )


#: Most problems listed in one message (all of them stay in ``SpecError.problems``).
_MAX_SHOWN = 8


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
        text = json.dumps(v, ensure_ascii=False)
        return text if len(text) <= _SHOWN else text[: _SHOWN - 4] + '..."'
    if isinstance(v, list):
        text = "[" + ", ".join(_toml_value(x) for x in v[:8]) + "]"
        return text if len(v) <= 8 and len(text) <= _SHOWN else text[: _SHOWN - 5] + ", ...]"
    text = repr(v)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


#: Longest value shown in an error message (messages stay short).
_SHOWN = 80


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
    from oncotwin.trials._spec_models import TrialSpec  # the models import this module

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
