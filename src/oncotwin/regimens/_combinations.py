"""Named combinations (FOLFOX, R-CHOP, ...): regimen aliases that expand to their drugs and days.

The combinations are data (``regimens/data/combinations.toml``): each names its drugs with
their doses, routes and days within the cycle (written in the regimen grammar, e.g.
``"oxaliplatin 85 mg/m2 IV over 2 h d1"``), its default cycle length and its source (a
citation key of ``oncotwin/data/citations.toml`` and where in it). A combination takes a
schedule like a drug (``FOLFOX q2w until progression``, ``R-CHOP q3w x6``): the interval is the
cycle length (the default when none is written), ``xN`` the number of cycles; it expands to one
scheduled group per set of days (R-CHOP: the day-1 drugs, and prednisone on days 1-5).

The file is read once, when a combination is first looked up; a combination's items are parsed
when it is first used, so a combination whose drug is not (yet) in the catalog fails only when
used, with a message naming the drug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from oncotwin.errors import RegimenError, UnknownNameError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.regimens._objects import Administration

__all__ = [
    "Combination",
    "all_combinations",
    "combination_names",
    "get_combination",
    "unknown_combination_message",
]

#: The combinations' data file (in the oncotwin.regimens package).
DATA_FILE = "data/combinations.toml"
_KEYS = frozenset(
    {"full_name", "aliases", "cycle_days", "items", "source", "where", "notes", "citations"}
)


@dataclass(frozen=True)
class Combination:
    """One named combination: its drugs (regimen items with days in the cycle), default cycle
    length [day] and source."""

    name: str
    full_name: str
    aliases: tuple[str, ...]
    cycle_days: int
    items: tuple[str, ...]
    source: str
    where: str
    notes: str = ""
    citations: tuple[str, ...] = field(default=())

    def groups(self) -> tuple[tuple[tuple[Administration, ...], tuple[int, ...], int], ...]:
        """The drugs grouped by their days within the cycle (and doses per day), in order of
        first appearance: ((administrations, days, doses per day), ...). Raises a
        RegimenError naming a drug the catalog lacks."""
        return _groups(self)

    def expansion_text(self) -> str:
        """The items, joined by ' + ' (e.g. for ``oncotwin drugs``)."""
        return " + ".join(self.items)

    def cycle_weeks_text(self) -> str:
        """The default cycle as an interval suffix: '2w' for 14 days, '10d' for 10 days."""
        w, r = divmod(self.cycle_days, 7)
        return f"{w}w" if r == 0 else f"{self.cycle_days}d"

    def drugs(self) -> tuple[str, ...]:
        """The drug names of the items as written (first word(s) before the dose)."""
        import re

        out: dict[str, None] = {}
        for item in self.items:
            m = re.match(r"\s*(.+?)\s+(?:\d|AUC)", item, re.I)
            out[(m.group(1) if m else item).strip()] = None
        return tuple(out)


@cache
def _load() -> dict[str, Combination]:
    from oncotwin._datafiles import (
        check_keys,
        fail,
        field_int,
        field_str,
        field_strs,
        read_package_toml,
    )
    from oncotwin.citations import all_citations

    data, label = read_package_toml("oncotwin.regimens", DATA_FILE)
    out: dict[str, Combination] = {}
    for name, rec in data.items():
        if not isinstance(rec, dict):
            raise fail(label, name, f"expected a table, got {rec!r}", f"write [{name}]")
        check_keys(rec, _KEYS, file=label, where=name)
        cycle = field_int(rec, "cycle_days", file=label, where=name)
        if not 1 <= cycle <= 366:
            raise fail(label, f"{name}.cycle_days", f"{cycle} days", "give 1 to 366 days")
        items = field_strs(rec, "items", file=label, where=name)
        if not items:
            raise fail(label, f"{name}.items", "no drugs", "list the drugs with doses and days")
        source = field_str(rec, "source", file=label, where=name)
        cites = field_strs(rec, "citations", file=label, where=name, default=())
        for key in (source, *cites):
            if key not in all_citations():
                msg = did_you_mean(key, all_citations(), what="citation")
                raise fail(label, f"{name}.source", msg, "add the paper to data/citations.toml")
        out[name] = Combination(
            name=name,
            full_name=field_str(rec, "full_name", file=label, where=name, default=name),
            aliases=field_strs(rec, "aliases", file=label, where=name, default=()),
            cycle_days=cycle,
            items=items,
            source=source,
            where=field_str(rec, "where", file=label, where=name),
            notes=field_str(rec, "notes", file=label, where=name, default=""),
            citations=cites,
        )
    return out


@cache
def _lookup() -> dict[str, Combination]:
    from oncotwin.pharmacology.catalog import drug_names_and_aliases

    drugs = {n.lower() for n in drug_names_and_aliases()}
    out: dict[str, Combination] = {}
    for c in _load().values():
        for key in (c.name, *c.aliases):
            k = key.lower()
            if k in out or k in drugs:
                raise RegimenError(f"combination name {key!r} is ambiguous (a drug or twice)")
            out[k] = c
    return out


def all_combinations() -> dict[str, Combination]:
    """Every named combination by name."""
    return dict(_load())


def combination_names() -> list[str]:
    """Every combination name and alias, longest first (for the regimen parser)."""
    return sorted(
        (k for c in _load().values() for k in (c.name, *c.aliases)), key=len, reverse=True
    )


def get_combination(name: str) -> Combination:
    """A named combination by name or alias, case-insensitively.

    >>> get_combination("mfolfox6").name
    'FOLFOX'
    """
    try:
        return _lookup()[name.strip().lower()]
    except KeyError:
        raise UnknownNameError(unknown_combination_message(name)) from None


def unknown_combination_message(name: str) -> str:
    """ "unknown combination 'x'; did you mean ...?" over names and aliases."""
    return did_you_mean(name, combination_names(), what="combination", n=1)


@cache
def _groups(
    combo: Combination,
) -> tuple[tuple[tuple[Administration, ...], tuple[int, ...], int], ...]:
    from oncotwin.regimens._names import UnknownDrugError
    from oncotwin.regimens._parser import _Parser

    by_days: dict[tuple[tuple[int, ...], int], list[Any]] = {}
    for item in combo.items:
        try:
            ph = _Parser(item).block()
        except UnknownDrugError as exc:
            first = str(exc).splitlines()[0].removeprefix("bad regimen: ")
            raise RegimenError(
                f"named combination {combo.name} cannot be used yet: its item {item!r} names a "
                f"drug the catalog lacks ({first}); write its drugs out instead"
            ) from None
        except RegimenError as exc:  # pragma: no cover - the data test parses every item
            raise RegimenError(f"named combination {combo.name}: item {item!r}: {exc}") from None
        days = getattr(ph, "day_list", lambda: None)()
        if days is None:
            raise RegimenError(  # pragma: no cover - the data test parses every item
                f"named combination {combo.name}: item {item!r} needs its days in the cycle (d1)"
            )
        by_days.setdefault((days, ph.doses_per_day), []).extend(ph.administrations)
    return tuple((tuple(adms), days, n) for (days, n), adms in by_days.items())
