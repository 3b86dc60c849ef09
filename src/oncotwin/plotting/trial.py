"""Plots of a virtual trial's result tables: waterfall, spider, swimmer, Kaplan-Meier, forest.

The inputs are the DataFrames of the trial data contract (``docs/trial_tables.md``):
``outcomes`` (one row per patient), ``visits`` (one row per scan) and ``events`` (one row per
event). Every function takes ``ax=None`` (a new figure, built from
:class:`matplotlib.figure.Figure` without pyplot's global state, is made when none is given),
returns the axes and never calls ``show()``. Times are stored in days and shown in weeks
(spider) or months (swimmer, Kaplan-Meier; 1 month = 30.4375 days).

Research simulation (oncotwin): not medical advice.

Examples
--------
>>> from oncotwin.report._demo import synthetic_trial_tables
>>> from oncotwin.plotting.trial import plot_waterfall, toxicity_table
>>> t = synthetic_trial_tables(n_per_arm=30, seed=0)
>>> ax = plot_waterfall(t.outcomes, arm="A")
>>> ax.get_ylabel()
'best change in sum of target diameters [%]'
>>> list(toxicity_table(t.outcomes)["arm"])
['A', 'B']
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean
from oncotwin.simulation import DISCLAIMER

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DAYS_PER_MONTH",
    "RESPONSE_COLORS",
    "plot_forest",
    "plot_km",
    "plot_spider",
    "plot_swimmer",
    "plot_waterfall",
    "subgroup_hazard_ratios",
    "toxicity_table",
]

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


# ----------------------------------------------------------------------------- Kaplan-Meier
def _check_endpoint(endpoint: str) -> str:
    ep = str(endpoint).lower()
    if ep not in _ENDPOINTS:
        raise OncotwinError(
            f"endpoint={endpoint!r}; give 'pfs' (progression-free survival) or 'os' (overall "
            "survival)"
        )
    return ep


def plot_km(
    outcomes: pd.DataFrame,
    *,
    endpoint: str = "pfs",
    ax: Axes | None = None,
    at_risk: bool = True,
    published_medians: Mapping[str, float] | None = None,
) -> Axes:
    """Kaplan-Meier curves of ``endpoint`` (``"pfs"`` or ``"os"``) per arm, in months, with
    95% confidence bands, censor ticks and (``at_risk=True``) numbers at risk under the axes.

    Curves are lifelines' :class:`~lifelines.KaplanMeierFitter` (Greenwood CIs, lifelines'
    default exponential transform); the at-risk table is
    :func:`lifelines.plotting.add_at_risk_counts`. ``published_medians`` (``{arm: months}``)
    draws each published median as a dashed drop line with a diamond at 50%.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    ep = _check_endpoint(endpoint)
    _require(outcomes, ("arm", f"{ep}_days", f"{ep}_event"), table="outcomes")
    if outcomes.empty:
        raise OncotwinError("outcomes table has no rows; nothing to plot")
    arms = [str(a) for a in pd.unique(outcomes["arm"])]
    published = dict(published_medians or {})
    for a in published:
        if str(a) not in arms:
            raise UnknownNameError(
                did_you_mean(str(a), arms, what="arm") + " (a key of published_medians)"
            )
    if ax is None:
        ax = _new_axes((8.5, 5.6 + 0.25 * len(arms) * at_risk))
    label = ep.upper()
    fitters = []
    for i, a in enumerate(arms):
        sub = outcomes[outcomes["arm"].astype(str) == a]
        kmf = KaplanMeierFitter(label=a).fit(
            sub[f"{ep}_days"].to_numpy(dtype=float) / DAYS_PER_MONTH,
            sub[f"{ep}_event"].to_numpy(dtype=bool),
        )
        kmf.plot_survival_function(
            ax=ax,
            ci_show=True,
            ci_alpha=0.15,
            show_censors=True,
            censor_styles={"marker": "|", "ms": 5, "mew": 0.8},
            color=f"C{i}",
            lw=1.6,
        )
        fitters.append(kmf)
        if a in published:
            m = float(published[a])
            ax.plot([m, m], [0, 0.5], ls="--", lw=1.0, color=f"C{i}")
            ax.plot(
                [m],
                [0.5],
                marker="D",
                ms=6,
                color=f"C{i}",
                mec="white",
                label=f"{a}: published median {m:.1f} mo",
            )
    ax.axhline(0.5, color="0.75", lw=0.6, zorder=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_ylabel(f"{label} probability")
    ax.set_xlabel("months since randomisation")
    ax.set_title(
        f"Kaplan-Meier: {'progression-free' if ep == 'pfs' else 'overall'} survival", fontsize=11
    )
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    if at_risk:
        add_at_risk_counts(*fitters, ax=ax, fig=ax.figure, rows_to_show=["At risk"])
    return ax


# ----------------------------------------------------------------------------- forest
def subgroup_hazard_ratios(
    outcomes: pd.DataFrame,
    *,
    endpoint: str = "pfs",
    reference_arm: str | None = None,
    arm: str | None = None,
    by: Sequence[str] = _DEFAULT_SUBGROUPS,
    min_events: int = 5,
) -> pd.DataFrame:
    """Cox hazard ratio of ``arm`` vs ``reference_arm`` overall and in each subgroup level.

    A univariable lifelines :class:`~lifelines.CoxPHFitter` on the arm indicator per level.
    Levels with fewer than ``min_events`` events, or an arm without patients, get NaN and a
    ``flag``; a fit that warns (e.g. convergence) keeps its numbers with the warning in ``flag``.

    Returns
    -------
    DataFrame
        Columns ``subgroup``, ``level``, ``n``, ``events``, ``hr``, ``ci_low``, ``ci_high``,
        ``p``, ``flag``; first row ``("All patients", "")``. Defaults: the first arm of the
        table is the reference, the second the comparison arm.
    """
    ep = _check_endpoint(endpoint)
    _require(outcomes, ("arm", f"{ep}_days", f"{ep}_event"), table="outcomes")
    arms = [str(a) for a in pd.unique(outcomes["arm"])]
    ref = arms[0] if reference_arm is None else str(reference_arm)
    others = [a for a in arms if a != ref]
    exp = others[0] if arm is None and others else (None if arm is None else str(arm))
    for name, value in (("reference_arm", ref), ("arm", exp)):
        if value is None or value not in arms:
            raise UnknownNameError(
                did_you_mean(str(value), arms, what="arm")
                + f" (given as {name}; a hazard ratio needs two arms of the outcomes table)"
            )
    if exp == ref:
        raise OncotwinError(f"arm={exp!r} equals reference_arm; give two different arms")
    missing = [b for b in by if b not in outcomes.columns]
    if missing:
        raise OncotwinError(
            f"subgroup column(s) {missing} not in the outcomes table; give `by` from "
            f"{[c for c in _DEFAULT_SUBGROUPS if c in outcomes.columns]}"
        )
    df = outcomes[outcomes["arm"].astype(str).isin([ref, exp])]
    base = pd.DataFrame(
        {
            "t": df[f"{ep}_days"].to_numpy(dtype=float),
            "e": df[f"{ep}_event"].to_numpy(dtype=bool),
            "x": (df["arm"].astype(str) == exp).to_numpy(dtype=float),
        }
    )
    groups: list[tuple[str, str, np.ndarray]] = [("All patients", "", np.ones(len(df), bool))]
    for col in by:
        values = df[col].astype(str).to_numpy()
        for level in sorted(pd.unique(values)):
            groups.append((col, level, values == level))
    rows = [_cox_row(base[mask], sub, level, min_events) for sub, level, mask in groups]
    return pd.DataFrame(rows)


def _cox_row(data: pd.DataFrame, subgroup: str, level: str, min_events: int) -> dict:
    from lifelines import CoxPHFitter

    row = dict(
        subgroup=subgroup,
        level=level,
        n=len(data),
        events=int(data["e"].sum()),
        hr=np.nan,
        ci_low=np.nan,
        ci_high=np.nan,
        p=np.nan,
        flag="",
    )
    if row["events"] < min_events or data["x"].nunique() < 2:
        row["flag"] = f"not estimable: {row['events']} events or one arm empty"
        return row
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            s = CoxPHFitter().fit(data, "t", "e").summary.loc["x"]
        except Exception as exc:  # lifelines raises ConvergenceError on separated data
            row["flag"] = f"Cox fit failed: {type(exc).__name__}"
            return row
    row.update(
        hr=float(s["exp(coef)"]),
        ci_low=float(s["exp(coef) lower 95%"]),
        ci_high=float(s["exp(coef) upper 95%"]),
        p=float(s["p"]),
    )
    if caught:
        row["flag"] = f"Cox fit warned: {str(caught[0].message).splitlines()[0][:80]}"
    return row


_ESTIMATE_COLUMNS = ("hr", "estimate", "orr_diff")


def plot_forest(subgroups_df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Forest plot: one row per subgroup, the estimate with its 95% CI.

    ``subgroups_df`` has ``ci_low``, ``ci_high``, a label (``label``, or ``subgroup`` and
    optional ``level``) and the estimate in ``hr`` (hazard ratios: log axis, reference line at
    1), ``estimate`` (with an optional ``measure`` column, ``"HR"`` or else linear) or
    ``orr_diff`` (ORR differences in percentage points: linear axis, reference line at 0), e.g.
    the output of :func:`subgroup_hazard_ratios`. The CI may also be ``hr_ci_low``/``hr_ci_high``
    as in :func:`oncotwin.trials.endpoints.subgroup_analysis` (pass its rows of the comparison
    arm). Rows with a NaN estimate are listed as not estimable. Optional ``n`` is printed beside
    the label.
    """
    _require(subgroups_df, (), table="subgroups")
    col = next((c for c in _ESTIMATE_COLUMNS if c in subgroups_df.columns), None)
    if col is None:
        raise OncotwinError(
            f"subgroups table lacks an estimate column; give one of {list(_ESTIMATE_COLUMNS)} "
            "(e.g. from subgroup_hazard_ratios)"
        )
    # CIs as ``ci_low``/``ci_high`` or ``hr_ci_low``/``hr_ci_high`` (trials.subgroup_analysis)
    ci_cols = next(
        (
            (f"{p}ci_low", f"{p}ci_high")
            for p in (f"{col}_", "")
            if {f"{p}ci_low", f"{p}ci_high"} <= set(subgroups_df.columns)
        ),
        None,
    )
    if ci_cols is None:
        raise OncotwinError(
            f"subgroups table lacks CI columns; give 'ci_low' and 'ci_high' (or '{col}_ci_low' "
            f"and '{col}_ci_high')"
        )
    if "label" not in subgroups_df.columns and "subgroup" not in subgroups_df.columns:
        raise OncotwinError("subgroups table lacks a 'label' or 'subgroup' column; add one")
    df = subgroups_df.reset_index(drop=True)
    if df.empty:
        raise OncotwinError("subgroups table has no rows; nothing to plot")
    is_hr = col == "hr" or (
        col == "estimate"
        and "measure" in df.columns
        and str(df["measure"].iloc[0]).upper() in ("HR", "HAZARD RATIO")
    )
    if "label" in df.columns:
        labels = df["label"].astype(str).tolist()
    else:
        level = df["level"].astype(str) if "level" in df.columns else pd.Series("", index=df.index)
        labels = [
            f"{_SUBGROUP_NAMES.get(s, s)}: {lv}" if lv else s
            for s, lv in zip(df["subgroup"].astype(str), level, strict=True)
        ]
    if "n" in df.columns:
        labels = [f"{lab} (n={int(n)})" for lab, n in zip(labels, df["n"], strict=True)]
    est = df[col].to_numpy(dtype=float)
    lo = df[ci_cols[0]].to_numpy(dtype=float)
    hi = df[ci_cols[1]].to_numpy(dtype=float)
    y = np.arange(len(df))[::-1]
    if ax is None:
        ax = _new_axes((8.5, 1.4 + 0.34 * len(df)))
    ok = np.isfinite(est)
    lo_c, hi_c = np.where(np.isfinite(lo), lo, est), np.where(np.isfinite(hi), hi, est)
    ax.hlines(y[ok], lo_c[ok], hi_c[ok], color="0.25", lw=1.4)
    ax.scatter(est[ok], y[ok], marker="s", s=36, color="#0b4f9c", zorder=3)
    ref = 1.0 if is_hr else 0.0
    ax.axvline(ref, color="0.4", ls="--", lw=0.9)
    if is_hr:
        ax.set_xscale("log")
        finite = np.r_[lo_c[ok], hi_c[ok], ref]
        finite = finite[np.isfinite(finite) & (finite > 0)]
        ax.set_xlim(finite.min() / 1.3, finite.max() * 1.3)
        from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

        ticks = [t for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("hazard ratio (95% CI), log scale; < 1 favours the experimental arm")
    else:
        ax.set_xlabel("difference (95% CI)")
    trans = ax.get_yaxis_transform()
    for yi, e, a, b, good in zip(y, est, lo, hi, ok, strict=True):
        text = f"{e:.2f} ({a:.2f}-{b:.2f})" if good else "not estimable"
        ax.text(1.01, yi, text, transform=trans, va="center", fontsize=8)
    header = "HR (95% CI)" if is_hr else "estimate (95% CI)"
    ax.text(1.01, len(df) - 0.35, header, transform=trans, fontsize=8, weight="bold")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(-0.7, len(df) - 0.1)
    ax.set_title("Subgroups", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ----------------------------------------------------------------------------- toxicity
def toxicity_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per arm: patients and the % (and count) with grade >= 3 irAE (CTCAE), CRS and ICANS
    (ASTCT) and any grade >= 3 adverse event.

    Returns
    -------
    DataFrame
        Columns ``arm``, ``n``, ``g3plus_irAE_pct``, ``g3plus_CRS_pct``, ``g3plus_ICANS_pct``,
        ``g3plus_AE_pct`` and the matching ``*_n`` counts; one row per arm in table order.
    """
    need = ("arm", "max_irae_grade", "max_crs_grade", "max_icans_grade")
    _require(outcomes, need, table="outcomes")
    flags = pd.DataFrame(
        {
            "arm": outcomes["arm"].astype(str),
            "g3plus_irAE": outcomes["max_irae_grade"].to_numpy() >= 3,
            "g3plus_CRS": outcomes["max_crs_grade"].to_numpy() >= 3,
            "g3plus_ICANS": outcomes["max_icans_grade"].to_numpy() >= 3,
        }
    )
    if "g3plus_ae" in outcomes.columns:
        flags["g3plus_AE"] = outcomes["g3plus_ae"].to_numpy(dtype=bool)
    else:
        flags["g3plus_AE"] = flags[["g3plus_irAE", "g3plus_CRS", "g3plus_ICANS"]].any(axis=1)
    g = flags.groupby("arm", sort=False)
    counts = g.sum()
    n = g.size()
    out = pd.DataFrame({"arm": counts.index, "n": n.to_numpy()})
    for c in ("g3plus_irAE", "g3plus_CRS", "g3plus_ICANS", "g3plus_AE"):
        out[f"{c}_pct"] = 100.0 * counts[c].to_numpy() / n.to_numpy()
        out[f"{c}_n"] = counts[c].to_numpy().astype(int)
    return out.reset_index(drop=True)
