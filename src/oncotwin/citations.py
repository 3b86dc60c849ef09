"""The registry of papers behind oncotwin's models, parameters and drugs.

The bibliographic record of every paper oncotwin cites lives in the package data file
``oncotwin/data/citations.toml`` (one table per key), loaded into the registry when this module
is imported; code names a paper only by its key (``cite("Kuznetsov1994")``). A user model adds its
own papers with :func:`register_citation`. Citations are *used* when a run touches a model,
parameter set or drug that cites them. A run's manifest
lists the used ones; :func:`print_citations` prints them.

Examples
--------
>>> from oncotwin.citations import Citation, register_citation, cite, used_citations
>>> _ = register_citation(Citation("Doe2020", "J. Doe", 2020, "A title", "J Theor Biol"))
>>> cite("Doe2020")
>>> "Doe2020" in used_citations()
True
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from oncotwin._datafiles import (
    check_keys,
    fail,
    field_int,
    field_str,
    parse_toml,
    read_package_text,
)
from oncotwin.errors import UnknownNameError, did_you_mean

__all__ = [
    "Citation",
    "all_citations",
    "cite",
    "format_citations",
    "get_citation",
    "print_citations",
    "register_citation",
    "reset_used_citations",
    "used_citations",
]


@dataclass(frozen=True, slots=True)
class Citation:
    """One publication: a key such as ``"Kuznetsov1994"`` and its bibliographic record."""

    key: str
    authors: str
    year: int
    title: str
    journal: str
    doi: str = ""

    def format(self) -> str:
        """Return a one-line reference, e.g. ``Kuznetsov VA et al. (1994). Title. Journal.``"""
        doi = f" doi:{self.doi}" if self.doi else ""
        return f"[{self.key}] {self.authors} ({self.year}). {self.title}. {self.journal}.{doi}"


_REGISTRY: dict[str, Citation] = {}
_USED: dict[str, None] = {}
_LOCK = threading.Lock()


def register_citation(citation: Citation) -> Citation:
    """Register ``citation`` (idempotent for an identical record) and return it."""
    with _LOCK:
        old = _REGISTRY.get(citation.key)
        if old is not None and old != citation:
            raise ValueError(f"citation key {citation.key!r} registered twice with different data")
        _REGISTRY[citation.key] = citation
    return citation


#: The citations data file of the package (``oncotwin/data/citations.toml``).
DATA_FILE = "citations.toml"
_FIELDS = frozenset({"authors", "year", "title", "journal", "doi"})


def load_citations(text: str | None = None, *, label: str = "") -> dict[str, Citation]:
    """Parse a citations TOML file (default: the shipped one) into records by key.

    Each table ``[Key]`` needs ``authors``, ``year`` (integer), ``title`` and ``journal``
    (non-empty strings); ``doi`` is optional and starts with ``10.``. A malformed file raises
    :class:`~oncotwin._datafiles.DataFileError` naming the file and the field.
    """
    if text is None:
        text, label = read_package_text("oncotwin", f"data/{DATA_FILE}")
    label = label or "<citations>"
    data = parse_toml(text, label)
    out: dict[str, Citation] = {}
    for key, rec in data.items():
        if not isinstance(rec, dict):
            raise fail(label, key, f"expected a table, got {rec!r}", f"write [{key}]")
        out[key] = _record(key, rec, label)
    return out


def _record(key: str, rec: dict[str, Any], label: str) -> Citation:
    check_keys(rec, _FIELDS, file=label, where=key)
    kw: dict[str, Any] = {"year": field_int(rec, "year", file=label, where=key)}
    for name in ("authors", "title", "journal"):
        kw[name] = field_str(rec, name, file=label, where=key)
        if not kw[name].strip():
            raise fail(label, f"{key}.{name}", "empty", f"give the paper's {name}")
    doi = field_str(rec, "doi", file=label, where=key, default="")
    if doi and not doi.startswith("10."):
        raise fail(label, f"{key}.doi", f"{doi!r} is not a DOI", "write it as 10.xxxx/...")
    return Citation(key, doi=doi, **kw)


_REGISTRY.update(load_citations())


def get_citation(key: str) -> Citation:
    """Return the registered citation ``key``."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownNameError(did_you_mean(key, _REGISTRY, what="citation")) from None


def cite(*keys: str) -> None:
    """Mark ``keys`` as used by the current run (each must be registered)."""
    for key in keys:
        get_citation(key)
        with _LOCK:
            _USED[key] = None


def used_citations() -> list[str]:
    """Keys used so far, in first-use order."""
    return list(_USED)


def reset_used_citations() -> None:
    """Forget which citations were used (start of a new run)."""
    with _LOCK:
        _USED.clear()


def all_citations() -> dict[str, Citation]:
    """Every registered citation by key."""
    return dict(_REGISTRY)


def format_citations(keys: list[str] | None = None) -> str:
    """Format ``keys`` (default: the used ones) one per line."""
    keys = used_citations() if keys is None else keys
    return "\n".join(get_citation(k).format() for k in keys)


def print_citations(keys: list[str] | None = None) -> None:
    """Print the citations used by this run (or ``keys``)."""
    print(format_citations(keys))
