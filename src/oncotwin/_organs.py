"""The one table of tumour sites (organs), loaded from ``oncotwin/data/organs.toml``.

The RECIST organ codes (``lesion_organ``), the model's site axis and the covariate columns used
to be three separately written lists that had to keep the same order; they are now all taken
from this table. Each :class:`Organ` has its code (= index), the site name of the model
(``"lymph_node"``), the RECIST display name (``"lymph node"``), the stem of its covariate
columns (``site_<stem>``, ``largest_<stem>_mm``; empty for the primary), whether it can receive
metastases and whether it is nodal.

The same file holds the organ factors of ``metastatic_io`` (antibody penetration, T-cell
infiltration, seeding share, lethality weight): one parameter record per factor and organ
(``[factor.<factor>.<site>]``, validated like a parameter-set record), read lazily by
:func:`organ_factors` so that importing the organ table stays light.

Examples
--------
>>> from oncotwin._organs import ORGAN_TABLE, RECIST_NAMES, SITE_NAMES, organ
>>> SITE_NAMES[5], RECIST_NAMES[5], organ("lymph node").code
('lymph_node', 'lymph node', 5)
>>> [o.site for o in ORGAN_TABLE if o.nodal]
['lymph_node']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from oncotwin._datafiles import (
    check_keys,
    fail,
    parse_toml,
    read_package_text,
)
from oncotwin.errors import UnknownNameError, did_you_mean

if TYPE_CHECKING:
    from oncotwin.parameters import Parameter

__all__ = [
    "COVARIATE_ORGANS",
    "DATA_FILE",
    "FACTORS",
    "METASTATIC_SITES",
    "ORGAN_TABLE",
    "RECIST_NAMES",
    "SITE_NAMES",
    "Organ",
    "load_organs",
    "organ",
    "organ_factor_values",
    "organ_factors",
]

#: The organs data file of the package (``oncotwin/data/organs.toml``).
DATA_FILE = "organs.toml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Organ:
    """One tumour site: its code, its names for the model, RECIST and the covariates."""

    code: int
    site: str
    recist: str
    covariate: str
    metastatic: bool
    nodal: bool


_TYPES: dict[str, type] = {
    "code": int,
    "site": str,
    "recist": str,
    "covariate": str,
    "metastatic": bool,
    "nodal": bool,
}


def _organ(rec: Any, index: int, label: str) -> Organ:
    where = f"organ[{index}]"
    if not isinstance(rec, dict):
        raise fail(label, where, f"expected a table, got {rec!r}", "write [[organ]]")
    check_keys(rec, frozenset(_TYPES), file=label, where=where)
    for key, typ in _TYPES.items():
        if key not in rec:
            raise fail(label, f"{where}.{key}", "missing", f"add the field {key!r}")
        v = rec[key]
        if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
            raise fail(
                label, f"{where}.{key}", f"expected {typ.__name__}, got {v!r}", "fix the type"
            )
    if rec["code"] != index:
        raise fail(
            label, f"{where}.code", f"{rec['code']} is not the row index {index}",
            "list the organs in code order",
        )  # fmt: skip
    if not rec["site"] or not rec["recist"]:
        raise fail(label, where, "empty site or recist name", "give both names")
    return Organ(**rec)


#: Top-level keys of the organs file: the organ rows and the organ factors of metastatic_io.
_TOP_KEYS = frozenset({"organ", "factor", "factor_notes"})


def load_organs(text: str | None = None, *, label: str = "") -> tuple[Organ, ...]:
    """Parse an organs TOML file (default: the shipped one) into the organ table.

    A malformed file raises :class:`~oncotwin._datafiles.DataFileError` naming the file and the
    field (e.g. ``organ[5].code``).
    """
    if text is None:
        text, label = read_package_text("oncotwin", f"data/{DATA_FILE}")
    label = label or "<organs>"
    data = parse_toml(text, label)
    check_keys(data, _TOP_KEYS, file=label, where="organs")
    rows = data.get("organ")
    if not isinstance(rows, list) or not rows:
        raise fail(label, "organ", "no [[organ]] rows", "add one [[organ]] table per organ")
    table = tuple(_organ(r, i, label) for i, r in enumerate(rows))
    for attr in ("site", "recist"):
        names = [getattr(o, attr) for o in table]
        if len(set(names)) != len(names):
            raise fail(label, f"organ.{attr}", f"duplicate names in {names}", "make them unique")
    return table


#: Every organ in code order.
ORGAN_TABLE: tuple[Organ, ...] = load_organs()
#: Site names of the model's site axis (``metastatic_io.SITES``), index = organ code.
SITE_NAMES: tuple[str, ...] = tuple(o.site for o in ORGAN_TABLE)
#: RECIST display names (organ codes of ``lesion_organ``), index = organ code.
RECIST_NAMES: tuple[str, ...] = tuple(o.recist for o in ORGAN_TABLE)
#: Sites that can receive new metastases (``metastatic_io.METASTATIC_SITES``).
METASTATIC_SITES: tuple[str, ...] = tuple(o.site for o in ORGAN_TABLE if o.metastatic)
#: Covariate column stems (``population.covariates.ORGANS``), in code order.
COVARIATE_ORGANS: tuple[str, ...] = tuple(o.covariate for o in ORGAN_TABLE if o.covariate)


def organ(name: str) -> Organ:
    """The organ named ``name`` (site, RECIST or covariate name), with did-you-mean."""
    for o in ORGAN_TABLE:
        if name in (o.site, o.recist, o.covariate) and name:
            return o
    raise UnknownNameError(did_you_mean(name, (*SITE_NAMES, *RECIST_NAMES), what="organ"))


#: Organ factors of ``metastatic_io`` and the organs each covers (``seeding``: the organs that
#: can receive metastases; the others: every site).
FACTORS: dict[str, str] = {
    "penetration": "all",
    "infiltration": "all",
    "seeding": "metastatic",
    "lethality": "all",
}


def _factor_table(
    data: dict[str, Any], name: str, label: str, table: tuple[Organ, ...]
) -> dict[str, Parameter]:
    from oncotwin.parameters._toml import record_from_table

    rows = data.get("factor", {}).get(name)
    sites = [o.site for o in table if FACTORS[name] == "all" or o.metastatic]
    if not isinstance(rows, dict):
        raise fail(label, f"factor.{name}", "missing", f"add [factor.{name}.<site>] tables")
    unknown = sorted(set(rows) - set(sites))
    if unknown:
        raise fail(label, f"factor.{name}", f"unknown sites {unknown}", f"use sites of {sites}")
    out: dict[str, Parameter] = {}
    for site in sites:
        where = f"{label}: factor.{name}.{site}"
        if site not in rows:
            raise fail(label, f"factor.{name}.{site}", "missing", "add a record for every site")
        rec = record_from_table(rows[site], where=where)
        if rec.assumption and rec.prior_range is None:
            raise fail(label, f"factor.{name}.{site}", "no range", "add range = [low, high]")
        out[site] = rec
    return out


def load_organ_factors(
    text: str | None = None, *, label: str = ""
) -> dict[str, dict[str, Parameter]]:
    """The organ factors of ``metastatic_io`` (factor -> site -> record) from an organs TOML
    file (default: the shipped one); a malformed record raises naming the file and the field."""
    if text is None:
        text, label = read_package_text("oncotwin", f"data/{DATA_FILE}")
    label = label or "<organs>"
    data = parse_toml(text, label)
    table = load_organs(text, label=label)
    extra = sorted(set(data.get("factor", {})) - set(FACTORS))
    if extra:
        raise fail(label, "factor", f"unknown factors {extra}", f"use {sorted(FACTORS)}")
    return {name: _factor_table(data, name, label, table) for name in FACTORS}


@cache
def organ_factors() -> dict[str, dict[str, Parameter]]:
    """The shipped organ factors (factor -> site -> parameter record), loaded once."""
    return load_organ_factors()


def organ_factor_values(name: str) -> dict[str, float]:
    """The values of organ factor ``name`` per site (e.g. ``"penetration"``), in site order.

    Examples
    --------
    >>> organ_factor_values("lethality")["brain"]
    4.0
    """
    if name not in FACTORS:
        raise UnknownNameError(did_you_mean(name, FACTORS, what="organ factor"))
    return {site: rec.value for site, rec in organ_factors()[name].items()}
