"""Generate a model's reference page (``docs/<model>.md``) from the model definition.

Nothing in the page is written by hand: it is printed from the built :class:`Model` (states,
``Model.equations()``, named expressions, dose targets, parameter records, citations) and from
the model's modules (module docstrings, ``#:`` documented constants). So the page cannot drift
from the code: regenerate it after changing the model, and ``--check`` (run by
``tests/unit/test_model_docs.py``) fails while it is out of date.

Any model of :data:`oncotwin.models.registry.MODELS` works. Optional sections appear when the
model module has them:

* a **sites** table when the module defines ``SITES``: one column per module-level dict keyed by
  site names (organ factors, private ones included) and a yes/no column per tuple of sites;
* **cancer sets** and the **covariate mapping** from a companion module ``<module>_cancers``
  (``CANCER_SETS`` of dataclass records with a ``parameters`` mapping; the docstring of each
  public function named ``*_parameters``);
* **readouts** from a companion module ``<module>_readouts``;
* every public upper-case constant of these modules documented with a ``#:`` comment.

Usage::

    python scripts/model_docs.py metastatic_io --out docs/metastatic_io.md
    python scripts/model_docs.py metastatic_io --check    # exit 1 if the page is out of date

Research simulations only: not medical advice.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import importlib
import importlib.util
import inspect
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType

import sympy as sp

from oncotwin.citations import get_citation
from oncotwin.errors import OncotwinError
from oncotwin.models.base import Model
from oncotwin.models.registry import MODELS, get_model
from oncotwin.parameters import Parameter

__all__ = [
    "DISCLAIMER",
    "check",
    "default_path",
    "first_differences",
    "main",
    "regenerate_command",
    "render",
]

ROOT = Path(__file__).resolve().parents[1]

#: The line every generated page carries.
DISCLAIMER = "Research simulations only: not medical advice."

_NUMPY_SECTIONS = ("Parameters", "Returns", "Yields", "Raises", "Examples", "Notes", "See Also")


# ------------------------------------------------------------------------------ helpers
def regenerate_command(name: str, out: Path | str | None = None) -> str:
    """The shell command that rewrites the page of model ``name`` (default
    ``docs/<name>.md``, the committed one)."""
    return f"python scripts/model_docs.py {name} --out {out or f'docs/{name}.md'}"


def default_path(name: str) -> Path:
    """Where the page of model ``name`` is committed: ``docs/<name>.md``."""
    return ROOT / "docs" / f"{name}.md"


def _num(value: object) -> str:
    """A number, short and exact enough for a table (6 significant digits)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        v = float(value)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.6g}"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return ", ".join(_num(v) for v in value) if value else "-"
    return str(value)


def _rst_to_md(text: str) -> str:
    """reStructuredText roles and literals of our docstrings as Markdown code spans."""
    text = re.sub(r":\w+:`~([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    text = re.sub(r":\w+:`([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    return text.replace("::\n", ":\n")


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell (one line, pipes escaped)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _docstring_body(obj: object) -> str:
    """A docstring without its NumPy sections (Parameters, Examples, ...), as Markdown."""
    doc = inspect.getdoc(obj) or ""
    lines = doc.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() in _NUMPY_SECTIONS and set(lines[i + 1].strip()) == {"-"}:
            lines = lines[:i]
            break
    return _rst_to_md("\n".join(lines).strip())


def _doc_comments(module: ModuleType) -> dict[str, str]:
    """``#:`` comment blocks directly above module-level assignments, by assigned name."""
    source = Path(inspect.getfile(module)).read_text(encoding="utf-8")
    lines = source.splitlines()
    out: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign):
            target = node.target
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        comment: list[str] = []
        k = node.lineno - 2
        while k >= 0 and lines[k].lstrip().startswith("#:"):
            comment.insert(0, lines[k].lstrip()[2:].strip())
            k -= 1
        if comment:
            out[target.id] = _rst_to_md(" ".join(comment))
    return out


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (for messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _companion(module: ModuleType, suffix: str) -> ModuleType | None:
    name = f"{module.__name__}{suffix}"
    return importlib.import_module(name) if importlib.util.find_spec(name) else None


def _equation_lines(model: Model) -> tuple[dict[str, str], dict[str, str]]:
    """The rate line of every state and the definition line of every named expression,
    cut from ``model.equations()`` (the one printer of the model's mathematics)."""
    lines = model.equations().splitlines()

    def find(prefix: str, what: str, key: str) -> str:
        for line in lines:
            if line.startswith(prefix):
                return line
        raise OncotwinError(
            f"model.equations() of {model.name!r} has no line for {what} {key!r} (expected a "
            f"line starting with {prefix!r}); update scripts/model_docs.py to the current "
            "format of Model.equations()"
        )

    rates = {s.name: find(f"d{s.name}/dt = ", "state", s.name) for s in model.states}
    exprs = {k: find(f"{k} = ", "expression", k) for k in model.expressions}
    return rates, exprs


# ------------------------------------------------------------------------------ sections
def _intro(model: Model, module: ModuleType) -> list[str]:
    doc = (module.__doc__ or "").strip()
    title, _, body = doc.partition("\n")
    out = [
        f"# Model `{model.name}`",
        "",
        f"{DISCLAIMER}",
        "",
        f"Generated from the model definition by `scripts/model_docs.py`: do not edit by "
        f"hand. After changing the model, regenerate with `{regenerate_command(model.name)}` "
        f"(`python scripts/model_docs.py {model.name} --check` fails while this page is out "
        "of date).",
        "",
        f"{_rst_to_md(model.description)}",
        "",
        f"{model.n_states} states, {model.n_parameters} parameters, "
        f"{len(model.expressions)} named expressions, {len(model.dose_targets)} dose targets; "
        f"time in {model.time_unit}s. Module `{module.__name__}`.",
        "",
    ]
    # the page carries the disclaimer already: leave out the docstring's own copy
    paragraphs = [q for q in body.strip().split("\n\n") if q.strip() and q.strip() != DISCLAIMER]
    if paragraphs:
        out += ["## Overview", "", _rst_to_md(title.strip()), ""]
        out += [_rst_to_md("\n\n".join(paragraphs)), ""]
    return out


def _sites(module: ModuleType, comments: Mapping[str, str]) -> tuple[list[str], set[str]]:
    sites = getattr(module, "SITES", None)
    if not sites:
        return [], set()
    site_set = set(sites)
    factors: dict[str, Mapping[str, object]] = {}
    subsets: dict[str, tuple[str, ...]] = {}
    for key, value in vars(module).items():
        if key == "SITES" or not key.lstrip("_").isupper():
            continue
        if (
            isinstance(value, Mapping)
            and value
            and set(value) <= site_set
            and all(isinstance(v, int | float) for v in value.values())
        ):
            factors[key] = value
        elif isinstance(value, tuple) and value and set(value) <= site_set:
            subsets[key] = value
    headers = ["site", *(f"`{k}`" for k in subsets), *(f"`{k}`" for k in factors)]
    rows = [
        [
            f"`{s}`",
            *("yes" if s in v else "no" for v in subsets.values()),
            *(_num(f[s]) if s in f else "-" for f in factors.values()),
        ]
        for s in sites
    ]
    out = ["## Sites", ""]
    if "SITES" in comments:
        out += [comments["SITES"], ""]
    out += [_table(headers, rows), ""]
    out += [f"- `{k}`: {comments.get(k, '(undocumented)')}" for k in (*subsets, *factors)]
    return [*out, ""], {"SITES", *subsets, *factors}


def _states(model: Model) -> list[str]:
    rows = [
        (
            f"`{s.name}`",
            f"`{s.unit}`",
            "yes" if s.nonnegative else "no",
            s.description,
            f"`{sp.sstr(s.initial)}`",
        )
        for s in model.states
    ]
    return [
        "## States",
        "",
        "Initial values are expressions of the parameters; a parameter `<state>_0` is the "
        "state's own initial value. States marked `>= 0` are kept non-negative by the solver.",
        "",
        _table(["state", "unit", ">= 0", "description", "initial value"], rows),
        "",
    ]


def _equations(model: Model, rates: Mapping[str, str]) -> list[str]:
    return [
        "## Equations",
        "",
        "One line per state, printed by `Model.equations()` (named expressions substituted; "
        f"unit of the rate in brackets; `t` is time in {model.time_unit}s).",
        "",
        "```text",
        *(rates[s.name] for s in model.states),
        "```",
        "",
    ]


def _expressions(model: Model, exprs: Mapping[str, str]) -> list[str]:
    if not model.expressions:
        return []
    units = model.expression_units
    return [
        "## Named expressions (observables)",
        "",
        "Computed from the states and parameters; unit in brackets.",
        "",
        "```text",
        *(f"{exprs[k]}    [{units.get(k) or '?'}]" for k in model.expressions),
        "```",
        "",
    ]


def _doses(model: Model) -> list[str]:
    if not model.dose_targets:
        return ["## Dose targets", "", "This model takes no doses.", ""]
    rows = [
        (f"`{k}`", f"`{d.state}`", _num(d.scale), d.description)
        for k, d in model.dose_targets.items()
    ]
    return [
        "## Dose targets",
        "",
        "A dose of `amount` (catalog units) of a drug, or of any drug of a mechanism class, "
        "adds `amount * scale` to the state.",
        "",
        _table(["drug or class", "state", "scale", "description"], rows),
        "",
    ]


def _provenance(p: Parameter) -> str:
    return str(p.source) if p.source is not None else f"assumption: {p.reason}"


def _parameters(model: Model) -> list[str]:
    rows = [
        (f"`{n}`", _num(p.value), f"`{p.unit}`", _num(p.log_sd), _provenance(p), p.description)
        for n, p in model.parameters.items()
    ]
    n_assumed = sum(p.source is None for p in model.parameters.values())
    return [
        "## Parameters",
        "",
        f"Default values; log-SD is the between-patient standard deviation of `log(value)` "
        f"(0: the same for every patient). Source: citation key and place in the paper (see "
        f"References), or `assumption:` with the reason ({n_assumed} of {model.n_parameters} "
        "are assumptions).",
        "",
        _table(["parameter", "value", "unit", "log-SD", "source", "description"], rows),
        "",
    ]


def _constants(
    title: str, module: ModuleType, comments: Mapping[str, str], skip: set[str]
) -> list[str]:
    """Public upper-case constants of ``module`` documented with ``#:``, in source order."""
    out: list[str] = []
    for key in comments:
        if key in skip or key.startswith("_") or not key.isupper() or not hasattr(module, key):
            continue
        value = getattr(module, key)
        if not isinstance(value, Mapping | tuple | list | str | int | float):
            continue  # records such as a Citation are shown elsewhere
        out += [f"### `{key}`", "", comments[key], ""]
        if isinstance(value, Mapping):
            out += [_table(["key", "value"], ((f"`{k}`", _num(v)) for k, v in value.items())), ""]
        else:
            out += [f"`{key} = {_num(value)}`", ""]
    return [f"## {title}", "", *out] if out else []


def _cancers(cancers: ModuleType, comments: Mapping[str, str]) -> tuple[list[str], set[str]]:
    sets = getattr(cancers, "CANCER_SETS", None)
    if not sets:
        return [], set()
    records = list(sets.values())
    keys = list(dict.fromkeys(k for r in records for k in r.parameters))
    fields = [
        f.name for f in dataclasses.fields(records[0]) if f.name not in ("name", "parameters")
    ]
    unit = {k: next(r.parameters[k].unit for r in records if k in r.parameters) for k in keys}
    headers = ["cancer", *(f"`{k}` [`{unit[k]}`]" for k in keys), *fields]
    rows = [
        [
            f"`{r.name}`",
            *(_num(r.parameters[k].value) if k in r.parameters else "-" for k in keys),
            *(_num(getattr(r, f)) for f in fields),
        ]
        for r in records
    ]
    out = ["## Cancer sets", ""]
    if "CANCER_SETS" in comments:
        out += [comments["CANCER_SETS"], ""]
    out += [
        "A cancer changes parameter values, never the equations. Columns in backticks override "
        "the model default of that parameter; `-`: the model default is kept.",
        "",
        _table(headers, rows),
        "",
        "Provenance of the cancer-level values:",
        "",
    ]
    for k in keys:
        by_text: dict[str, list[str]] = {}
        for r in records:
            if k in r.parameters:
                p = r.parameters[k]
                text = f"{_provenance(p)} (log-SD {_num(p.log_sd)})"
                by_text.setdefault(text, []).append(r.name)
        for text, names in by_text.items():
            who = "all cancers" if len(names) == len(records) else ", ".join(names)
            out.append(f"- `{k}` ({who}): {_rst_to_md(text)}")
    return [*out, ""], {"CANCER_SETS"}


def _covariates(cancers: ModuleType) -> list[str]:
    exported = getattr(cancers, "__all__", ())
    funcs = [
        getattr(cancers, n)
        for n in exported
        if n.endswith("_parameters") and inspect.isfunction(getattr(cancers, n, None))
    ]
    out: list[str] = []
    for f in funcs:
        out += [f"### `{f.__name__}`", "", _docstring_body(f), ""]
    return ["## Covariates -> parameters", "", *out] if out else []


def _references(model: Model, extra: Iterable[str]) -> list[str]:
    keys = list(dict.fromkeys([*model.citations, *model.parameters.citation_keys(), *extra]))
    if not keys:
        return ["## References", "", "None.", ""]
    return ["## References", "", *(f"- {get_citation(k).format()}" for k in keys), ""]


# ------------------------------------------------------------------------------ public API
def render(name: str) -> str:
    """The Markdown reference page of model ``name`` (any key of ``MODELS``)."""
    model = get_model(name)
    module = importlib.import_module(MODELS[name.lower()][0])
    comments = _doc_comments(module)
    rates, exprs = _equation_lines(model)
    site_lines, used = _sites(module, comments)
    lines = [
        *_intro(model, module),
        *site_lines,
        *_states(model),
        *_equations(model, rates),
        *_expressions(model, exprs),
        *_doses(model),
        *_parameters(model),
        *_constants("Model constants", module, comments, used),
    ]
    extra_keys: list[str] = []
    cancers = _companion(module, "_cancers")
    if cancers is not None:
        c_comments = _doc_comments(cancers)
        cancer_lines, c_used = _cancers(cancers, c_comments)
        lines += cancer_lines
        lines += _covariates(cancers)
        lines += _constants("Covariate-mapping constants", cancers, c_comments, c_used)
        for r in getattr(cancers, "CANCER_SETS", {}).values():
            extra_keys += [p.source.key for p in r.parameters.values() if p.source is not None]
    readouts = _companion(module, "_readouts")
    if readouts is not None:
        doc = _docstring_body(readouts)
        r_lines = _constants("Readouts", readouts, _doc_comments(readouts), set())
        if r_lines:
            lines += [*r_lines[:2], doc, "", *r_lines[2:]] if doc else r_lines
    lines += _references(model, extra_keys)
    lines += [DISCLAIMER]
    return "\n".join(lines).rstrip() + "\n"


def first_differences(old: str, new: str, *, lines: int = 12, width: int = 160) -> str:
    """The start of a unified diff from page ``old`` to page ``new`` (long lines cut)."""
    diff = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "committed", "generated", n=0, lineterm=""
    )
    return "\n".join(line[:width] for _, line in zip(range(lines), diff, strict=False))


def check(name: str, path: Path | str | None = None) -> str | None:
    """``None`` if the page at ``path`` (default ``docs/<name>.md``) equals a fresh
    generation, else a message saying what differs and how to regenerate."""
    fix = f"regenerate it with: {regenerate_command(name, path)}"
    path = Path(path) if path is not None else default_path(name)
    shown_path = _relative(path)
    if not path.is_file():
        return f"{shown_path} does not exist; {fix}"
    old = path.read_text(encoding="utf-8")
    new = render(name)
    if old == new:
        return None
    shown = first_differences(old, new)
    return (
        f"{shown_path} is out of date with model {name!r} (the model changed after the page was "
        f"generated); {fix}\nfirst differences:\n{shown}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the page of a model, or ``--check`` that it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help=f"model name, one of: {', '.join(MODELS)}")
    parser.add_argument("--out", help="page to write or check (default docs/<model>.md; - stdout)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problem = check(args.model, args.out)
            if problem is not None:
                print(problem, file=sys.stderr)
                return 1
            print(f"{_relative(Path(args.out or default_path(args.model)))} is up to date")
            return 0
        text = render(args.model)
    except OncotwinError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out else default_path(args.model)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
