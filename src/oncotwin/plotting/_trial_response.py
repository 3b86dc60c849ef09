"""Per-patient response plots of a trial: waterfall, spider and swimmer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import OncotwinError
from oncotwin.plotting._trial_common import (
    _RESPONSE_ORDER,
    RESPONSE_COLORS,
    _arm_title,
    _new_axes,
    _require,
    _response_colors,
    _response_legend,
    _select_arm,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# ----------------------------------------------------------------------------- waterfall
def plot_waterfall(
    outcomes: pd.DataFrame, *, arm: str | None = None, ax: Axes | None = None
) -> Axes:
    """Waterfall plot: one bar per patient, its best % change of the target sum, sorted from
    the largest growth to the deepest shrinkage and coloured by best overall response.

    Dashed lines mark the RECIST 1.1 thresholds: -30% (partial response) and +20%
    (progression) (Eisenhauer et al. 2009, Eur J Cancer 45:228, section 4.3.1). Patients with
    no post-baseline scan (NaN change) are counted in the title, not drawn.

    Parameters
    ----------
    outcomes
        Contract ``outcomes`` table (``arm``, ``best_response``, ``best_pct_change``).
    arm
        Only this arm (default: every patient).
    ax
        Axes to draw into (default: a new figure).
    """
    _require(outcomes, ("arm", "best_response", "best_pct_change"), table="outcomes")
    df = _select_arm(outcomes, arm, table="outcomes")
    pct = df["best_pct_change"].to_numpy(dtype=float)
    keep = np.isfinite(pct)
    order = np.argsort(-pct[keep], kind="stable")
    values = pct[keep][order]
    best = df["best_response"].astype(str).to_numpy()[keep][order]
    if ax is None:
        ax = _new_axes((9.0, 4.6))
    x = np.arange(values.size)
    ax.bar(x, values, width=0.9, color=_response_colors(pd.Series(best)), linewidth=0)
    ax.axhline(20, color="0.3", ls="--", lw=0.9)
    ax.axhline(-30, color="0.3", ls="--", lw=0.9)
    ax.axhline(0, color="0.2", lw=0.6)
    trans = ax.get_yaxis_transform()
    ax.text(1.0, 20, " +20%", transform=trans, va="center", fontsize=8, color="0.3")
    ax.text(1.0, -30, " -30%", transform=trans, va="center", fontsize=8, color="0.3")
    top = float(np.nanmax(values)) if values.size else 20.0
    ax.set_ylim(-105, max(40.0, min(top + 10.0, 160.0)))
    ax.set_xlim(-1, max(values.size, 1))
    ax.set_xticks([])
    ax.set_xlabel(f"patients ({values.size} with a post-baseline scan)")
    ax.set_ylabel("best change in sum of target diameters [%]")
    n_ne = int((~keep).sum())
    ax.set_title(
        f"Waterfall, {_arm_title(arm)}" + (f" ({n_ne} not evaluable, not shown)" if n_ne else ""),
        fontsize=11,
    )
    counts = pd.Series(best).value_counts().to_dict()
    _response_legend(ax, counts, loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ----------------------------------------------------------------------------- spider
def _best_of(responses: pd.Series) -> pd.Series:
    """Best response per patient from visit responses (CR > PR > SD > PD > NE), by index."""
    rank = responses.map({r: i for i, r in enumerate(_RESPONSE_ORDER)}).fillna(4).astype(int)
    best = rank.groupby(level=0).min()
    return best.map(dict(enumerate(_RESPONSE_ORDER)))


def plot_spider(
    visits: pd.DataFrame,
    *,
    arm: str | None = None,
    max_patients: int = 200,
    outcomes: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Spider plot: each patient's % change of the target sum from baseline at every scan
    (weeks from first dose), coloured by best response.

    The colour is the ``best_response`` of ``outcomes`` when given (confirmed), else the best
    response seen at any scan. With more than ``max_patients`` patients an evenly spaced,
    deterministic subset of patient ids is drawn (the title says so).
    """
    _require(visits, ("patient_id", "arm", "day", "pct_change_baseline"), table="visits")
    if int(max_patients) < 1:
        raise OncotwinError(f"max_patients={max_patients!r}; give a positive number of patients")
    df = _select_arm(visits, arm, table="visits")
    ids = np.unique(df["patient_id"].to_numpy())
    n_all = ids.size
    if n_all > max_patients:
        ids = ids[np.round(np.linspace(0, n_all - 1, int(max_patients))).astype(int)]
        df = df[df["patient_id"].isin(ids)]
    df = df.sort_values(["patient_id", "day"], kind="stable")
    if outcomes is not None:
        _require(outcomes, ("patient_id", "best_response"), table="outcomes")
        best = outcomes.set_index("patient_id")["best_response"].astype(str).reindex(ids)
        best = best.fillna("NE")
    elif "response" in df.columns:
        best = _best_of(df.set_index("patient_id")["response"].astype(str)).reindex(ids)
    else:
        best = pd.Series("NE", index=ids)
    # one row per patient, one column per scan (NaN-padded): a LineCollection draws all at once
    slot = df.groupby("patient_id").cumcount().to_numpy()
    row = np.searchsorted(ids, df["patient_id"].to_numpy())
    xy = np.full((ids.size, int(slot.max()) + 1, 2), np.nan)
    xy[row, slot, 0] = df["day"].to_numpy(dtype=float) / 7.0
    xy[row, slot, 1] = df["pct_change_baseline"].to_numpy(dtype=float)
    from matplotlib.collections import LineCollection

    if ax is None:
        ax = _new_axes((8.0, 4.8))
    colors = _response_colors(best)
    lines = LineCollection(list(xy), colors=colors, linewidths=0.9, alpha=0.75)
    ax.add_collection(lines)
    ax.scatter(xy[..., 0].ravel(), xy[..., 1].ravel(), s=4, c=np.repeat(colors, xy.shape[1]))
    ax.axhline(20, color="0.3", ls="--", lw=0.9)
    ax.axhline(-30, color="0.3", ls="--", lw=0.9)
    ax.axhline(0, color="0.2", lw=0.6)
    ax.autoscale_view()
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, -105.0), min(max(hi, 40.0), 200.0))
    ax.set_xlabel("weeks from first dose")
    ax.set_ylabel("change in sum of target diameters [%]")
    shown = f"{ids.size} of {n_all} patients" if ids.size < n_all else f"{n_all} patients"
    ax.set_title(f"Spider plot, {_arm_title(arm)} ({shown})", fontsize=11)
    _response_legend(ax, best.value_counts().to_dict(), loc="upper left")
    ax.get_legend().set_bbox_to_anchor((1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ----------------------------------------------------------------------------- swimmer
def plot_swimmer(
    outcomes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    arm: str | None = None,
    max_patients: int = 40,
    ax: Axes | None = None,
) -> Axes:
    """Swimmer plot: one bar per patient, its time on study (months), coloured by best
    response, with a dark inner bar for time on treatment and markers for response start,
    progression and death; an arrow marks patients alive at their last follow-up (ongoing).

    Responders (CR/PR) come first, then the longest follow-up, up to ``max_patients``.
    Marker days come from ``events`` (kinds ``response``, ``progression``, ``death``).
    """
    need = ("patient_id", "arm", "best_response", "os_days", "os_event")
    _require(outcomes, need, table="outcomes")
    _require(events, ("patient_id", "day", "kind"), table="events")
    if int(max_patients) < 1:
        raise OncotwinError(f"max_patients={max_patients!r}; give a positive number of patients")
    df = _select_arm(outcomes, arm, table="outcomes")
    responder = df["best_response"].isin(["CR", "PR"]).to_numpy()
    pick = np.lexsort((-df["os_days"].to_numpy(dtype=float), ~responder))[: int(max_patients)]
    df = df.iloc[pick].sort_values("os_days", kind="stable")
    ids = df["patient_id"].to_numpy()
    y = np.arange(ids.size)
    months = df["os_days"].to_numpy(dtype=float) / DAYS_PER_MONTH
    if ax is None:
        ax = _new_axes((8.5, 1.6 + 0.2 * ids.size))
    ax.barh(y, months, height=0.7, color=_response_colors(df["best_response"]), alpha=0.85)
    if "treatment_end_day" in df.columns:
        on_tx = np.minimum(df["treatment_end_day"].to_numpy(dtype=float), df["os_days"])
        ax.barh(y, on_tx / DAYS_PER_MONTH, height=0.18, color="0.2", label="on treatment")
    pos = pd.Series(y, index=ids)
    ev = events[events["patient_id"].isin(ids)]
    styles = {
        "response": dict(marker="^", color="#0b4f9c", s=28, label="response start"),
        "progression": dict(marker="o", color="black", s=18, label="progression"),
        "death": dict(marker="X", color="#7a0000", s=34, label="death"),
    }
    for kind, style in styles.items():
        e = ev[ev["kind"] == kind]
        if len(e):
            ax.scatter(
                e["day"].to_numpy(dtype=float) / DAYS_PER_MONTH,
                pos.reindex(e["patient_id"]).to_numpy(),
                zorder=3,
                linewidths=0,
                **style,
            )
    alive = ~df["os_event"].to_numpy(dtype=bool)
    if alive.any():
        ax.scatter(
            months[alive] + 0.012 * max(months.max(), 1.0),
            y[alive],
            marker=">",
            color="0.25",
            s=22,
            zorder=3,
            label="ongoing (alive at cut-off)",
        )
    ax.set_yticks(y, [str(i) for i in ids], fontsize=6)
    ax.set_ylabel("patient")
    ax.set_xlabel("months since randomisation")
    ax.set_xlim(0, max(months.max(), 1.0) * 1.06)
    ax.set_ylim(-0.8, ids.size - 0.2)
    ax.set_title(f"Swimmer plot, {_arm_title(arm)} ({ids.size} patients)", fontsize=11)
    from matplotlib.patches import Patch

    handles, _ = ax.get_legend_handles_labels()
    present = df["best_response"].astype(str).value_counts()
    handles += [Patch(color=RESPONSE_COLORS[r], label=r) for r in _RESPONSE_ORDER if r in present]
    ax.legend(handles=handles, loc="lower right", fontsize=7, frameon=True, framealpha=0.9)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
