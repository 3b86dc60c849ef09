"""Time-to-event and subgroup views of a trial: Kaplan-Meier, hazard ratios, forest, toxicity."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean
from oncotwin.plotting._trial_common import (
    _DEFAULT_SUBGROUPS,
    _ENDPOINTS,
    _SUBGROUP_NAMES,
    _new_axes,
    _require,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
