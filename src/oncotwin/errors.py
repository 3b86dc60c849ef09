"""The exceptions oncotwin raises.

Every error raised at the boundary (user input, spec files, regimen strings, model parameters)
is an :class:`OncotwinError` subclass whose message names the field, the bad value, the valid
options and the fix. Numerical failures inside a batched solve are *not* exceptions: they are
reported per patient in :attr:`oncotwin.solvers.Solution.status`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ModelError",
    "OncotwinError",
    "ParameterError",
    "RegimenError",
    "SolverError",
    "UnitError",
    "UnknownNameError",
    "did_you_mean",
]


class OncotwinError(ValueError):
    """Base class of every error oncotwin raises on bad input."""


class UnitError(OncotwinError):
    """A quantity has a unit that does not fit the field it was given for."""


class RegimenError(OncotwinError):
    """A regimen string or object is malformed."""


class ParameterError(OncotwinError):
    """A model parameter is missing, unknown, NaN, or out of range."""


class ModelError(OncotwinError):
    """A model definition is inconsistent (unknown symbol, duplicate state, ...)."""


class SolverError(OncotwinError):
    """Solver options are invalid (the per-patient failures are statuses, not this)."""


class UnknownNameError(OncotwinError, KeyError):
    """A name (drug, model, parameter) is not known; the message suggests close matches."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: str, known: Iterable[str], *, what: str, n: int = 3) -> str:
    """Build an "unknown X; did you mean ...?" message.

    Examples
    --------
    >>> did_you_mean("pembrolizumb", ["pembrolizumab", "nivolumab"], what="drug")
    "unknown drug 'pembrolizumb'; did you mean 'pembrolizumab'?"
    """
    known = sorted(set(known))
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=n, cutoff=0.6)
    lower_to_name = {k.lower(): k for k in known}
    if close:
        options = " or ".join(repr(lower_to_name[c]) for c in close)
        return f"unknown {what} {name!r}; did you mean {options}?"
    listing = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"unknown {what} {name!r}; known {what}s: {listing}"
