"""Names the regimen grammar knows: radiotherapy sites, routes, examples, the grammar's errors."""

from __future__ import annotations

import math
import re

from oncotwin._constants import DAYS_PER_YEAR
from oncotwin.errors import RegimenError, UnitError, UnknownNameError, did_you_mean
from oncotwin.pharmacology import get_drug
from oncotwin.units import format_number

# ------------------------------------------------------------------------------------------
# limits: what a regimen may ask for (refused with one message naming the limit)
# ------------------------------------------------------------------------------------------
#: Longest horizon a regimen is expanded to (and a simulation or trial runs for) [year].
#: An assumption: the longest immunotherapy follow-up reported is about 10 years (CheckMate
#: 067); 50 years leaves room for lifetime horizons, and longer is a slip (days for months).
MAX_HORIZON_YEARS: int = 50
#: :data:`MAX_HORIZON_YEARS` in days.
MAX_HORIZON_DAYS: float = MAX_HORIZON_YEARS * DAYS_PER_YEAR
#: Largest count (``xN``) or number of cycles a phase may give: daily dosing for 27 years;
#: no regimen needs more (a count whose doses run past the horizon is truncated there).
MAX_COUNT: int = 10_000
#: Largest |N| of a day label ``dN`` or ``starting dN`` (the 50-year horizon in days).
MAX_DAY_LABEL: int = int(MAX_HORIZON_DAYS) + 1
#: Most dose events one schedule may hold; counted before any is built, refused beyond.
MAX_DOSE_EVENTS: int = 100_000


def _is_whole(x: object) -> bool:
    """True for a whole number (an int, or a float with no fraction; not a bool)."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, float) and math.isfinite(x) and x.is_integer()


def _count_message(count: int) -> str:
    return (
        f"count: x{_big(count)} doses is above the limit of x{MAX_COUNT} per phase; write the "
        "real number of doses (doses past the horizon are dropped) or leave the count out to "
        "repeat to the horizon"
    )


def _big(n: int) -> str:
    """``n`` as text, shortened when it has more than 20 digits (messages stay short)."""
    text = str(n)
    return text if len(text) <= 20 else f"{text[:8]}...({len(text)} digits)"


def _check_day_label(label: int, field: str) -> None:
    if abs(label) > MAX_DAY_LABEL:
        raise RegimenError(
            f"{field}: day d{_big(label)} is beyond the limit of d{MAX_DAY_LABEL} (50 years "
            f"after day 0, d-{MAX_DAY_LABEL} before); give a day within 50 years"
        )


def _check_days(days: float, field: str) -> None:
    if days > MAX_HORIZON_DAYS:
        raise RegimenError(
            f"{field}: {format_number(days)} days is above the limit of "
            f"{MAX_HORIZON_DAYS:g} days (50 years); give a shorter time"
        )


EXAMPLES: tuple[str, ...] = (
    "pembrolizumab 200 mg IV q3w x35",
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w "
    "until progression",
    "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
    "axicabtagene ciloleucel 2e6 cells/kg IV once",
    "radiotherapy 9 Gy q2d x3 to liver",
    # Slamon et al. 2001, NEJM 344:783-792 (paclitaxel arm): trastuzumab 4 mg/kg loading,
    # then 2 mg/kg weekly, alongside paclitaxel 175 mg/m2 every 3 weeks
    "paclitaxel 175 mg/m2 IV q3w x6 with trastuzumab 4 mg/kg IV once, then trastuzumab "
    "2 mg/kg IV q1w",
)

#: Canonical radiotherapy sites (``to SITE``); see :func:`canonical_site` for the spellings.
SITES: tuple[str, ...] = (
    "primary",
    "lung",
    "liver",
    "bone",
    "brain",
    "lymph_node",
    "adrenal",
    "peritoneum",
    "skin",
)
_SITE_ALIASES: dict[str, str] = {
    **{s: s for s in SITES},
    "primary tumor": "primary",
    "lungs": "lung",
    "bones": "bone",
    "lymph node": "lymph_node",
    "lymph nodes": "lymph_node",
    "lymph_nodes": "lymph_node",
    "node": "lymph_node",
    "nodes": "lymph_node",
    "adrenals": "adrenal",
    "soft tissue": "skin",
    "soft_tissue": "skin",
}


class RegimenUnitError(RegimenError, UnitError):
    """A dose or duration in a regimen has a bad value or unit (both a RegimenError and a
    UnitError)."""


class UnknownDrugError(RegimenError, UnknownNameError):
    """A regimen names a drug that is not in the catalog."""


class UnknownSiteError(RegimenError, UnknownNameError):
    """A radiotherapy item names a site that is not one of :data:`SITES`."""


def canonical_site(name: str) -> str:
    """The canonical radiotherapy site for ``name`` (case and spacing ignored).

    Accepts primary, lung, liver, bone, brain, lymph node | lymph_node | node, adrenal,
    peritoneum and skin | soft tissue (and plurals such as ``lungs``).

    Raises
    ------
    UnknownSiteError
        For an unknown site, with "did you mean ...?".
    RegimenError
        For ``all sites``: radiotherapy is given to one named site per item.

    Examples
    --------
    >>> canonical_site("Lymph Node"), canonical_site("soft tissue")
    ('lymph_node', 'skin')
    """
    if not isinstance(name, str):
        raise RegimenError(f"site: {name!r} is not a site name; use one of {', '.join(SITES)}")
    key = re.sub(r"\s+", " ", name.strip().lower())
    if key in ("all", "all site", "all sites", "every site", "everywhere"):
        raise RegimenError(
            f"site: {name!r} is not allowed; radiotherapy is given to one named site per item, so "
            "write one item per site, e.g. 'radiotherapy 8 Gy to lung + radiotherapy 8 Gy to "
            "liver x3'"
        )
    if key in _SITE_ALIASES:
        return _SITE_ALIASES[key]
    msg = did_you_mean(name, [k for k in _SITE_ALIASES if "_" not in k], what="site", n=1)
    if "did you mean" not in msg:
        msg = f"unknown site {name!r}; known sites: {', '.join(SITES)}"
    raise UnknownSiteError(msg)


def _site_text(site: str) -> str:
    return site.replace("_", " ")


def _drug_site_message(drug: str, site: str) -> str:
    return (
        f"site: {drug} is a drug, not radiotherapy; a site ('to {site}') is only for "
        "radiotherapy (a drug reaches every site); remove it"
    )


_ROUTES = {
    "iv": "IV",
    "intravenous": "IV",
    "sc": "SC",
    "subcutaneous": "SC",
    "im": "IM",
    "intramuscular": "IM",
    "po": "PO",
    "oral": "PO",
    "intralesional": "intralesional",
    "il": "intralesional",
    "external beam": "external beam",
    "ebrt": "external beam",
}
_DOSE_UNIT_HINT = {"mass": "mg", "cells": "cells", "IU": "IU", "PFU": "PFU"}


def _canon(x: float) -> float:
    """Round to 12 significant digits so text round trips give identical floats."""
    return float(f"{x:.12g}")


def _is_radiation(drug: str) -> bool:
    return get_drug(drug).modality == "radiation"
