"""Objectives of a regimen search: a small, safe expression grammar over trial endpoints.

An objective is an arithmetic expression (``+ - * /``, unary minus, parentheses, numbers)
over endpoint names, e.g. ``"pfs12 - 0.5*g3tox"``: P(progression-free at 12 months) minus
half the P(grade >= 3 toxicity). Nothing else is accepted (no calls, attributes, comparisons
or names other than endpoints), so an objective given on the command line cannot run code.

Endpoints are proportions (0-1) computed per patient from a trial's ``outcomes`` table
(:func:`endpoint_matrix`), so that each candidate's estimate has a binomial / bootstrap
uncertainty and paired differences over the same patients (common random numbers):

* ``orr``, ``cr``, ``dcr``: objective response (confirmed CR/PR where the trial confirms),
  complete response, disease control (CR/PR/SD), as in the trial summary's ``ORR``, ``CR``,
  ``DCR``;
* ``pfs<M>``, ``os<M>`` (``M`` months, e.g. ``pfs12``, ``os24``): alive and progression-free
  (alive) at ``M`` months, as the summary's ``PFS_<M>mo`` / ``OS_<M>mo`` landmarks;
* ``g3tox``: any grade >= 3 adverse event (summary ``g3plus_AE``); ``g3irae``: grade >= 3
  immune-related AE (``g3plus_irAE``); ``g3crs``, ``g3icans``.

The summary spellings (``ORR``, ``PFS_12mo``, ``g3plus_AE``, ...) are accepted as aliases.
Research simulation, not medical advice.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean

__all__ = ["ENDPOINT_HELP", "Objective", "endpoint_matrix", "known_endpoints", "parse_objective"]

#: Longest objective accepted (characters).
MAX_LENGTH = 200
_FIXED = ("orr", "cr", "dcr", "g3tox", "g3irae", "g3crs", "g3icans")
_LANDMARK = re.compile(r"^(pfs|os)(\d+(?:\.\d+)?)$")
_ALIASES = {
    "g3plus_ae": "g3tox",
    "g3plus_irae": "g3irae",
    "g3plus_crs": "g3crs",
    "g3plus_icans": "g3icans",
}
_SUMMARY_LANDMARK = re.compile(r"^(pfs|os)_(\d+(?:\.\d+)?)mo$")
#: One-line description of the endpoints, for error messages and ``--help``.
ENDPOINT_HELP = (
    "orr, cr, dcr, pfs<M>, os<M> (alive [and progression-free] at M months, e.g. pfs12), "
    "g3tox (any grade >= 3 AE), g3irae, g3crs, g3icans"
)
_LISTED = (*_FIXED, "pfs6", "pfs12", "pfs24", "os12", "os24")


def known_endpoints() -> tuple[str, ...]:
    """Endpoint names (landmarks shown for 6, 12 and 24 months; any month count works)."""
    return _LISTED


def _canonical(name: str) -> str:
    low = name.lower()
    low = _ALIASES.get(low, low)
    m = _SUMMARY_LANDMARK.match(low)
    if m:
        low = f"{m.group(1)}{m.group(2)}"
    if low in _FIXED or _LANDMARK.match(low):
        return low
    raise UnknownNameError(
        f"objective: {did_you_mean(name, _LISTED, what='endpoint')}; endpoints: {ENDPOINT_HELP}"
    )


@dataclass(frozen=True)
class Objective:
    """A parsed objective: its text, the endpoints it uses and a vectorised evaluator."""

    text: str
    endpoints: tuple[str, ...]
    _fn: Callable[[Mapping[str, np.ndarray]], np.ndarray]

    def __call__(self, values: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """The objective of endpoint values (scalars or arrays of the same shape).

        Examples
        --------
        >>> parse_objective("pfs12 - 0.5*g3tox")({"pfs12": 0.4, "g3tox": 0.2})
        array(0.3)
        """
        arrays = {k: np.asarray(values[k], dtype=float) for k in self.endpoints}
        return np.asarray(self._fn(arrays), dtype=float)

    @property
    def months(self) -> float:
        """The longest landmark it needs [months] (0 if none)."""
        out = 0.0
        for e in self.endpoints:
            m = _LANDMARK.match(e)
            if m:
                out = max(out, float(m.group(2)))
        return out


_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}


def parse_objective(text: str) -> Objective:
    """Parse an objective such as ``"pfs12 - 0.5*g3tox"`` (see the module docstring).

    Raises
    ------
    OncotwinError
        Naming the offending part and the grammar; unknown endpoints get a did-you-mean.

    Examples
    --------
    >>> parse_objective("ORR - 0.25 * g3plus_AE").endpoints
    ('orr', 'g3tox')
    >>> parse_objective("pfs12 + os(1)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    oncotwin.errors.OncotwinError: objective 'pfs12 + os(1)': function calls are not allowed; ...
    """
    if not isinstance(text, str) or not text.strip():
        raise OncotwinError(
            "objective: empty; give an expression over endpoints, e.g. 'pfs12 - 0.5*g3tox'"
        )
    if len(text) > MAX_LENGTH:
        raise OncotwinError(f"objective: {len(text)} characters; give at most {MAX_LENGTH}")
    grammar = (
        f"write +, -, *, / over endpoints ({ENDPOINT_HELP}) and numbers, e.g. 'pfs12 - 0.5*g3tox'"
    )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise OncotwinError(f"objective {text!r}: not an expression; {grammar}") from None
    used: list[str] = []

    def build(node: ast.AST) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            op, left, right = _BIN[type(node.op)], build(node.left), build(node.right)
            return lambda v: op(left(v), right(v))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = build(node.operand)
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return lambda v: sign * inner(v)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            value = float(node.value)
            return lambda v: np.asarray(value)
        if isinstance(node, ast.Name):
            name = _canonical(node.id)
            if name not in used:
                used.append(name)
            return lambda v: v[name]
        what = {
            ast.Call: "function calls are",
            ast.Attribute: "attributes are",
            ast.Compare: "comparisons are",
            ast.BoolOp: "and/or are",
            ast.Subscript: "subscripts are",
            ast.BinOp: "this operator is",
        }.get(type(node), f"{type(node).__name__} is")
        raise OncotwinError(f"objective {text!r}: {what} not allowed; {grammar}")

    fn = build(tree)
    if not used:
        raise OncotwinError(f"objective {text!r}: names no endpoint; {grammar}")
    return Objective(text.strip(), tuple(used), fn)


def endpoint_matrix(outcomes: pd.DataFrame, endpoints: tuple[str, ...]) -> np.ndarray:
    """Per-patient 0/1 indicators of ``endpoints`` (patients x endpoints), from a trial's
    ``outcomes`` table (rows in patient order).

    A landmark ``pfs<M>`` is 1 when ``pfs_days`` is beyond ``M`` months (progression and death
    count as events); a patient censored before ``M`` months would be unknown, and is
    refused: run the trial with a follow-up of at least ``M`` months.
    """
    cols = []
    for e in endpoints:
        m = _LANDMARK.match(e)
        if m:
            kind, months = m.group(1), float(m.group(2))
            days = outcomes[f"{kind}_days"].to_numpy(dtype=float)
            event = outcomes[f"{kind}_event"].to_numpy(dtype=bool)
            limit = months * DAYS_PER_MONTH
            if np.any(~event & (days < limit - 1e-9)):
                raise OncotwinError(
                    f"endpoint {e}: patients are censored before {months:g} months; give the "
                    f"trial a follow-up of at least {months:g} months"
                )
            cols.append(days > limit)
        elif e in ("orr", "cr", "dcr"):
            best = outcomes["best_response"].astype(str).to_numpy()
            conf = (
                outcomes["confirmed"].to_numpy(dtype=bool)
                if "confirmed" in outcomes
                else np.ones(best.size, dtype=bool)
            )
            if e == "orr":
                cols.append(np.isin(best, ("CR", "PR")) & conf)
            elif e == "cr":
                cols.append((best == "CR") & conf)
            else:
                cols.append(np.isin(best, ("CR", "PR", "SD")))
        elif e == "g3tox":
            cols.append(outcomes["g3plus_ae"].to_numpy(dtype=bool))
        else:
            column = {"g3irae": "max_irae_grade", "g3crs": "max_crs_grade"}.get(
                e, "max_icans_grade"
            )
            cols.append(outcomes[column].to_numpy(dtype=float) >= 3)
    return np.column_stack(cols).astype(float)
