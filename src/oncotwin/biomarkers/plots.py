"""ROC and forest plots of a biomarker analysis (matplotlib).

Research simulations only: not medical advice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from oncotwin._constants import DISCLAIMER
from oncotwin.biomarkers._stats import BiomarkerError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.biomarkers.analysis import BiomarkerAnalysis

__all__ = ["plot_forest", "plot_roc"]

#: Range of the forest plot's ratio axis (ratios and CIs beyond it are drawn at its edge).
XLIM = (0.05, 20.0)
#: Most curves drawn on one ROC plot (the highest |AUC - 0.5| first; combinations always).
MAX_CURVES = 9


def _rows(analysis: BiomarkerAnalysis, group: str):
    t = analysis.table[analysis.table["group"] == group]
    if t.empty:
        groups = sorted(analysis.table["group"].unique())
        raise BiomarkerError(f"group: {group!r} was not analysed; analysed groups: {groups}")
    return t


def plot_roc(
    analysis: BiomarkerAnalysis,
    group: str = "all",
    *,
    markers: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """ROC curves of ``group``: the combinations and the markers that separate most (a
    marker whose low values predict response is drawn as "lower X", with AUC 1 - AUC)."""
    import matplotlib.pyplot as plt

    t = _rows(analysis, group)
    if markers is None:
        comb = t[t["kind"] == "combination"]
        rest = t[t["kind"] != "combination"].assign(gap=lambda d: (d["auc"] - 0.5).abs())
        rest = rest.sort_values("gap", ascending=False).head(max(MAX_CURVES - len(comb), 0))
        chosen = [*comb["marker"], *rest["marker"]]
    else:
        chosen = list(markers)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 5.6))
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls="--")
    for name in chosen:
        if (group, name) not in analysis.curves:
            continue
        fpr, tpr = analysis.curves[(group, name)]
        r = t[t["marker"] == name].iloc[0]
        lw = 2.2 if r["kind"] == "combination" else 1.3
        if r["auc"] >= 0.5:
            lab = f"{r['label']}: {r['auc']:.2f} [{r['auc_low']:.2f}, {r['auc_high']:.2f}]"
        else:  # drawn for low values predicting response: AUC 1 - raw
            lab = (
                f"lower {r['label']}: {1 - r['auc']:.2f} "
                f"[{1 - r['auc_high']:.2f}, {1 - r['auc_low']:.2f}]"
            )
        ax.plot(fpr, tpr, lw=lw, label=lab)  # tied values: a diagonal segment
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"ROC for response, {group}\n{analysis.source}", fontsize=8)
    ax.legend(fontsize=6.5, loc="lower right", title="AUC [95% CI, DeLong]", title_fontsize=7)
    ax.figure.text(0.01, 0.005, DISCLAIMER, fontsize=6, color="0.4")
    return ax


def plot_forest(analysis: BiomarkerAnalysis, group: str = "all", *, ax: Axes | None = None) -> Axes:
    """Odds ratio for response and hazard ratio for PFS, both per SD of the marker, with 95%
    CIs, on a log scale (one row per marker)."""
    import matplotlib.pyplot as plt

    t = _rows(analysis, group).reset_index(drop=True)
    n = len(t)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.32 * n + 1.6))
    y = np.arange(n)[::-1]
    for col, lo, hi, colour, off, lab in (
        ("or_sd", "or_sd_low", "or_sd_high", "C0", 0.15, "OR (response) per SD"),
        ("hr_pfs_sd", "hr_pfs_sd_low", "hr_pfs_sd_high", "C3", -0.15, "HR (PFS) per SD"),
    ):
        v = t[col].to_numpy(dtype=float)
        a = t[lo].to_numpy(dtype=float)
        b = t[hi].to_numpy(dtype=float)
        ok = np.isfinite(v) & np.isfinite(a) & np.isfinite(b) & (v > 0) & (a > 0)
        v, a, b = (np.clip(z, *XLIM) for z in (v, a, b))  # beyond the axis: drawn at its edge
        edge = ok & ((v <= XLIM[0]) | (v >= XLIM[1]))
        ax.plot(v[edge], y[edge] + off, ls="none", marker="x", ms=7, color=colour)
        ax.errorbar(
            v[ok],
            y[ok] + off,
            xerr=[v[ok] - a[ok], b[ok] - v[ok]],
            fmt="o",
            ms=3.5,
            color=colour,
            lw=1.0,
            capsize=2,
            label=lab,
        )
    ax.axvline(1.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(XLIM[0] / 1.3, XLIM[1] * 1.3)
    ax.set_yticks(y)
    ax.set_yticklabels(t["label"], fontsize=7)
    ax.set_xlabel(f"ratio per SD of the marker (log scale; x: beyond {XLIM[0]:g} or {XLIM[1]:g})")
    ax.set_title(f"Odds and hazard ratios, {group}\n{analysis.source}", fontsize=8)
    ax.legend(fontsize=7, loc="best")
    ax.figure.text(0.01, 0.005, DISCLAIMER, fontsize=6, color="0.4")
    return ax
