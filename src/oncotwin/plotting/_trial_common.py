"""Shared pieces of the trial plots: response colours, table checks, new axes, legends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean

if TYPE_CHECKING:
    from matplotlib.axes import Axes


#: Colour of each best overall response (CR, PR, SD, PD, NE), colour-blind-safe greens to red.
RESPONSE_COLORS: dict[str, str] = {
    "CR": "#1b7837",
    "PR": "#7fbf7b",
    "SD": "#e0a526",
    "PD": "#c2352b",
    "NE": "#9e9e9e",
}
_RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "NE")
_ENDPOINTS = ("pfs", "os")
_DEFAULT_SUBGROUPS = ("pdl1_group", "tmb_group", "immune_phenotype")
_SUBGROUP_NAMES = {"pdl1_group": "PD-L1", "tmb_group": "TMB", "immune_phenotype": "Phenotype"}


# ----------------------------------------------------------------------------- helpers
def _require(df: pd.DataFrame, columns: Iterable[str], *, table: str) -> None:
    """Raise when ``df`` is not a DataFrame or lacks any of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise OncotwinError(
            f"{table}={type(df).__name__}; give the contract's {table!r} pandas DataFrame "
            "(see docs/trial_tables.md)"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise OncotwinError(
            f"{table} table lacks column(s) {missing}; it has {list(df.columns)[:12]}; build it "
            "as in docs/trial_tables.md"
        )


def _select_arm(df: pd.DataFrame, arm: str | None, *, table: str) -> pd.DataFrame:
    """Rows of ``arm`` (all rows when ``arm`` is None); an unknown arm suggests close names."""
    if arm is None:
        out = df
    else:
        known = [str(a) for a in pd.unique(df["arm"])]
        if str(arm) not in known:
            raise UnknownNameError(did_you_mean(str(arm), known, what="arm"))
        out = df[df["arm"].astype(str) == str(arm)]
    if out.empty:
        raise OncotwinError(f"{table} table has no rows (arm={arm!r}); nothing to plot")
    return out


def _new_axes(figsize: tuple[float, float]) -> Axes:
    """Axes on a fresh :class:`~matplotlib.figure.Figure` (no pyplot), with the disclaimer."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    # a supxlabel (not fig.text) so that the constrained layout keeps room for it
    fig.supxlabel(DISCLAIMER, x=0.005, ha="left", fontsize=6.5, color="0.45")
    return fig.add_subplot()


def _arm_title(arm: str | None) -> str:
    return "all arms" if arm is None else f"arm {arm}"


def _response_legend(ax: Axes, counts: Mapping[str, int], *, loc: str = "best") -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(color=RESPONSE_COLORS[r], label=f"{r} (n={counts[r]})")
        for r in _RESPONSE_ORDER
        if counts.get(r, 0)
    ]
    ax.legend(handles=handles, loc=loc, fontsize=8, frameon=False, title="best response")


def _response_colors(best: pd.Series) -> list[str]:
    return [RESPONSE_COLORS.get(str(r), RESPONSE_COLORS["NE"]) for r in best]
