"""Time-to-event endpoints: Kaplan-Meier, Cox / log-rank arm comparison, subgroup analysis.

Survival estimation is lifelines'; this module shapes its input and output into the project's
tables and turns the cases lifelines would warn or fail on (an arm without events, a subgroup
of three patients) into NaN with a note. Durations come in days and are reported in months of
:data:`~oncotwin._constants.DAYS_PER_MONTH` days. The public names are re-exported by
:mod:`oncotwin.trials.endpoints`; import them from there. Outputs are research simulations,
not medical advice.

Examples
--------
>>> from oncotwin.trials.endpoints import km
>>> km([30.4375, 60.875], [True, True], "A").median_months
1.0
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH as MONTH_DAYS
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean
from oncotwin.trials._rates import _arms_of, _check_alpha, _require_columns, response_rates

__all__ = ["KMSummary", "compare_arms", "km", "subgroup_analysis"]

#: Outcomes columns of each time-to-event endpoint: name -> (duration [days], event flag).
_TIME_COLUMNS = {"pfs": ("pfs_days", "pfs_event"), "os": ("os_days", "os_event")}


def _time_event(durations, events, *, where: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(durations, dtype=np.float64)
    e = np.asarray(events)
    if t.ndim != 1 or e.shape != t.shape:
        raise OncotwinError(
            f"{where}: durations {t.shape} and events {e.shape} must be 1-d of the same length"
        )
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise OncotwinError(
            f"{where}: durations[{i}] = {float(t[i])!r} is invalid; give finite times >= 0 in days "
            "(censor at the last follow-up instead of inf)"
        )
    return t, e.astype(bool)


def _notes_from(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught)


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class KMSummary:
    """Kaplan-Meier estimate of one group, in months (lifelines ``KaplanMeierFitter``).

    ``median_months`` is inf when the curve never reaches 0.5 ("not reached"); the CI bounds
    likewise. Landmark rates are survival probabilities (0..1) with pointwise CIs (lifelines'
    exponential Greenwood), NaN beyond the longest follow-up. ``notes`` say what was degenerate.
    """

    label: str
    n: int
    n_events: int
    median_months: float
    median_ci_low: float
    median_ci_high: float
    landmark_months: np.ndarray
    landmark_survival: np.ndarray
    landmark_ci_low: np.ndarray
    landmark_ci_high: np.ndarray
    timeline_months: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    at_risk_months: np.ndarray
    n_at_risk: np.ndarray
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)


def _empty_km(
    label: str, marks: np.ndarray, at_risk: np.ndarray, n_at_risk: np.ndarray
) -> KMSummary:
    """The summary of a group without patients: NaN everywhere, empty curves."""
    nan, empty = np.full(marks.shape, np.nan), np.empty(0)
    return KMSummary(
        label=label,
        n=0,
        n_events=0,
        median_months=np.nan,
        median_ci_low=np.nan,
        median_ci_high=np.nan,
        landmark_months=marks,
        landmark_survival=nan,
        landmark_ci_low=nan.copy(),
        landmark_ci_high=nan.copy(),
        timeline_months=empty,
        survival=empty.copy(),
        ci_low=empty.copy(),
        ci_high=empty.copy(),
        at_risk_months=at_risk,
        n_at_risk=n_at_risk,
        notes=("no patients: nothing to estimate",),
    )


@dataclass(frozen=True)
class _KMFit:
    """What :func:`km` reads off a fitted ``KaplanMeierFitter`` (times in months)."""

    median: float
    median_ci: np.ndarray
    timeline: np.ndarray
    survival: np.ndarray
    ci: np.ndarray  # [n_times, 2]: lower, upper
    notes: tuple[str, ...]


def _fit_km(t: np.ndarray, e: np.ndarray, label: str, alpha: float) -> _KMFit:
    """Fit lifelines' Kaplan-Meier to months ``t``; its warnings become notes."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kmf = KaplanMeierFitter(alpha=alpha).fit(t, event_observed=e, label=label or "KM")
        median = float(kmf.median_survival_time_)
        median_ci = median_survival_times(kmf.confidence_interval_).to_numpy()[0]
        timeline = kmf.survival_function_.index.to_numpy(dtype=np.float64)
        survival = kmf.survival_function_.to_numpy()[:, 0]
        ci = kmf.confidence_interval_survival_function_.to_numpy()
    return _KMFit(median, median_ci, timeline, survival, ci, _notes_from(caught))


def km(
    durations,
    events,
    label: str = "",
    *,
    landmarks_months: Sequence[float] = (6, 12, 24),
    at_risk_months: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> KMSummary:
    """Fit a Kaplan-Meier curve to ``durations`` [days] and summarise it in months.

    Parameters
    ----------
    durations, events
        Time to event or censoring [days] and whether the event was observed.
    label
        Name of the group (e.g. the arm).
    landmarks_months
        Months at which to report survival with its CI.
    at_risk_months
        Months for the numbers at risk; default every 6 months up to the longest follow-up.
    alpha
        1 - confidence level of every CI.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.random.default_rng(0).exponential(365.25, 2000)       # median ln2 * 12 months
    >>> s = km(t, np.ones(2000, bool), "arm A")
    >>> bool(abs(s.median_months - np.log(2) * 12) < 0.6)
    True
    """
    _check_alpha(alpha)
    t_days, e = _time_event(durations, events, where="km")
    t = t_days / MONTH_DAYS
    marks = np.asarray(landmarks_months, dtype=np.float64).reshape(-1)
    n, n_events = int(t.size), int(e.sum())
    max_t = float(t.max()) if n else 0.0
    if at_risk_months is None:
        at_risk = np.arange(0.0, max_t + 1e-9, 6.0)
    else:
        at_risk = np.asarray(at_risk_months, dtype=np.float64).reshape(-1)
    n_at_risk = (t[None, :] >= at_risk[:, None]).sum(axis=1)
    if n == 0:
        return _empty_km(label, marks, at_risk, n_at_risk)
    fit = _fit_km(t, e, label, alpha)
    notes = list(fit.notes)
    if n_events == 0:
        notes.append("no events: the curve stays at 1 and the median is not reached")
    elif not np.isfinite(fit.median):
        notes.append("median not reached (reported as inf)")
    row = np.searchsorted(fit.timeline, marks, side="right") - 1
    beyond = marks > max_t
    if beyond.any():
        notes.append(f"landmarks {marks[beyond].tolist()} months lie beyond follow-up: NaN")

    def at(values: np.ndarray) -> np.ndarray:
        return np.where(beyond, np.nan, values[np.clip(row, 0, None)])

    return KMSummary(
        label=label,
        n=n,
        n_events=n_events,
        median_months=fit.median,
        median_ci_low=float(fit.median_ci[0]),
        median_ci_high=float(fit.median_ci[1]),
        landmark_months=marks,
        landmark_survival=at(fit.survival),
        landmark_ci_low=at(fit.ci[:, 0]),
        landmark_ci_high=at(fit.ci[:, 1]),
        timeline_months=fit.timeline,
        survival=fit.survival,
        ci_low=fit.ci[:, 0].copy(),
        ci_high=fit.ci[:, 1].copy(),
        at_risk_months=at_risk,
        n_at_risk=n_at_risk,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# arm comparison
# --------------------------------------------------------------------------------------------

_COMPARE_COLUMNS = (
    "arm",
    "reference",
    "n",
    "n_events",
    "n_reference",
    "n_events_reference",
    "hr",
    "ci_low",
    "ci_high",
    "p_cox",
    "p_logrank",
    "note",
)


def _compare_two(t, e, is_arm, alpha) -> dict[str, float | str]:
    """Cox HR (arm vs reference) with CI and p, and log-rank p; NaN and a note if degenerate."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test

    out: dict[str, float | str] = {
        "hr": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_cox": np.nan,
        "p_logrank": np.nan,
        "note": "",
    }
    n_a, n_r = int(is_arm.sum()), int((~is_arm).sum())
    ev_a, ev_r = int(e[is_arm].sum()), int(e[~is_arm].sum())
    if min(n_a, n_r) == 0:
        out["note"] = f"no patients in the {'arm' if n_a == 0 else 'reference'}: nothing to compare"
        return out
    if ev_a + ev_r == 0:
        out["note"] = "no events in either arm: nothing to compare"
        return out
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if min(ev_a, ev_r) == 0:
            which = "arm" if ev_a == 0 else "reference"
            notes.append(f"no events in the {which}: hazard ratio not estimable")
        else:
            df = pd.DataFrame({"T": t, "E": e, "x": is_arm.astype(np.float64)})
            try:
                cph = CoxPHFitter(alpha=alpha).fit(df, duration_col="T", event_col="E")
                coef = float(cph.params_["x"])
                low, high = np.exp(cph.confidence_intervals_.loc["x"].to_numpy(np.float64))
                if not (np.isfinite(coef) and 0.0 < low and np.isfinite(high)):
                    raise ArithmeticError("the CI spans 0 to inf (complete separation?)")
                out.update(
                    hr=float(np.exp(coef)),
                    ci_low=float(low),
                    ci_high=float(high),
                    p_cox=float(cph.summary.loc["x", "p"]),
                )
            except Exception as exc:  # lifelines' ConvergenceError and numerical failures
                notes.append(f"Cox fit failed ({type(exc).__name__}: {exc}): hazard ratio NaN")
        lr = logrank_test(t[is_arm], t[~is_arm], e[is_arm], e[~is_arm])
        out["p_logrank"] = float(lr.p_value)
    notes.extend(_notes_from(caught))
    out["note"] = "; ".join(notes)
    return out


def compare_arms(
    durations, events, arm_labels, reference: str, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Hazard ratio (Cox, arm indicator) with CI and p, and log-rank p, of each arm vs reference.

    One row per non-reference arm (in order of first appearance) with columns ``arm,
    reference, n, n_events, n_reference, n_events_reference, hr, ci_low, ci_high, p_cox,
    p_logrank, note``. An arm or reference without events gives NaN and a note (no warning,
    no exception); warnings lifelines raises on a fit are turned into the note.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> t = np.r_[rng.exponential(100, 500), rng.exponential(200, 500)]
    >>> arms = np.repeat(["control", "new"], 500)
    >>> row = compare_arms(t, np.ones(1000, bool), arms, "control").iloc[0]
    >>> bool(0.4 < row.hr < 0.6), bool(row.p_logrank < 1e-6)
    (True, True)
    """
    _check_alpha(alpha)
    t, e = _time_event(durations, events, where="compare_arms")
    labels = np.asarray(arm_labels).astype(str)
    if labels.shape != t.shape:
        raise OncotwinError(
            f"compare_arms: arm_labels has shape {labels.shape}, expected {t.shape} "
            "(one arm name per patient)"
        )
    arms = list(dict.fromkeys(labels.tolist()))
    if reference not in arms:
        raise UnknownNameError(did_you_mean(reference, arms, what="reference arm"))
    rows = []
    is_ref = labels == reference
    for arm in arms:
        if arm == reference:
            continue
        is_arm = labels == arm
        keep = is_arm | is_ref
        result = _compare_two(t[keep], e[keep], is_arm[keep], alpha)
        rows.append(
            {
                "arm": arm,
                "reference": reference,
                "n": int(is_arm.sum()),
                "n_events": int(e[is_arm].sum()),
                "n_reference": int(is_ref.sum()),
                "n_events_reference": int(e[is_ref].sum()),
                **result,
            }
        )
    return pd.DataFrame(rows, columns=list(_COMPARE_COLUMNS))


# --------------------------------------------------------------------------------------------
# subgroups
# --------------------------------------------------------------------------------------------


def _subgroup_columns(
    df: pd.DataFrame, by: str, reference_arm: str, time: str
) -> tuple[str, str, list[str]]:
    """Check the inputs of :func:`subgroup_analysis`: (duration column, event column, arms)."""
    if time not in _TIME_COLUMNS:
        raise UnknownNameError(did_you_mean(time, _TIME_COLUMNS, what="time endpoint"))
    t_col, e_col = _TIME_COLUMNS[time]
    _require_columns(df, ["arm", "best_response", t_col, e_col], where="subgroup_analysis")
    if by not in df.columns:
        raise UnknownNameError(did_you_mean(by, df.columns.astype(str), what="subgroup column"))
    arms = _arms_of(df)
    if reference_arm not in arms:
        raise UnknownNameError(did_you_mean(reference_arm, arms, what="reference arm"))
    return t_col, e_col, arms


def _subgroup_levels(df: pd.DataFrame, by: str) -> list[tuple[object, np.ndarray]]:
    """``("all", everyone)`` then each level of column ``by`` (sorted as text) with its mask."""
    levels = [("all", np.ones(len(df), dtype=bool))]
    values = df[by]
    for level in sorted(values.dropna().unique().tolist(), key=str):
        levels.append((level, (values == level).to_numpy()))
    return levels


def _hr_fields(
    comparison: pd.DataFrame, arm: str, reference_arm: str, n_events: int, min_events: int
) -> dict:
    """The hazard-ratio columns of one subgroup row (a reference row flags its own events)."""
    if arm == reference_arm:
        return {"too_few_events": n_events < min_events}
    if arm not in comparison.index:
        return {"too_few_events": True, "note": "reference arm absent in this subgroup"}
    c = comparison.loc[arm]
    events = int(c.n_events + c.n_events_reference)
    return {
        "hr": c.hr,
        "hr_ci_low": c.ci_low,
        "hr_ci_high": c.ci_high,
        "p_cox": c.p_cox,
        "p_logrank": c.p_logrank,
        "too_few_events": events < min_events,
        "note": c.note,
    }


def subgroup_analysis(
    outcomes_df: pd.DataFrame,
    by: str,
    reference_arm: str,
    *,
    time: str = "pfs",
    min_events: int = 10,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """ORR per arm and subgroup, and the hazard ratio vs ``reference_arm`` per subgroup.

    One row per subgroup level (``"all"`` first, then the sorted levels of ``by``) and arm,
    with columns ``subgroup, level, arm, n, n_events, orr, orr_ci_low, orr_ci_high, hr,
    hr_ci_low, hr_ci_high, p_cox, p_logrank, too_few_events, note``; the reference arm's rows
    have NaN hazard ratios. ``too_few_events`` flags comparisons with fewer than
    ``min_events`` events in the two arms together (their estimates are shown, but unstable;
    on a reference row: fewer than ``min_events`` events of its own);
    a subgroup without events or without the reference arm gives NaN with a note.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["A", "A", "B", "B"], "best_response": ["PR", "SD", "PD", "SD"],
    ...                    "pfs_days": [100.0, 50, 40, 60], "pfs_event": [True, True, True, False],
    ...                    "pdl1_group": ["high", "low", "high", "low"]})
    >>> out = subgroup_analysis(df, "pdl1_group", "B", min_events=10)
    >>> out[["level", "arm", "orr", "too_few_events"]].values.tolist()[:2]
    [['all', 'A', 50.0, True], ['all', 'B', 0.0, True]]
    """
    _check_alpha(alpha)
    df = outcomes_df
    t_col, e_col, arms = _subgroup_columns(df, by, reference_arm, time)
    labels = df["arm"].astype(str).to_numpy()
    confirmed = df["confirmed"].to_numpy(bool) if "confirmed" in df.columns else None
    rows = []
    for level, mask in _subgroup_levels(df, by):
        sub = df[mask]
        sub_labels = labels[mask]
        comparison = pd.DataFrame()
        if (sub_labels == reference_arm).any() and len(set(sub_labels)) > 1:
            comparison = compare_arms(
                sub[t_col].to_numpy(),
                sub[e_col].to_numpy(),
                sub_labels,
                reference_arm,
                alpha=alpha,
            ).set_index("arm")
        for arm in arms:
            in_arm = sub_labels == arm
            if not in_arm.any():
                continue
            conf = None if confirmed is None else confirmed[mask][in_arm]
            orr = response_rates(sub["best_response"].to_numpy()[in_arm], conf, alpha=alpha)
            n_events = int(sub[e_col].to_numpy(bool)[in_arm].sum())
            row = {
                "subgroup": by,
                "level": level,
                "arm": arm,
                "n": int(in_arm.sum()),
                "n_events": n_events,
                "orr": orr["ORR"].value,
                "orr_ci_low": orr["ORR"].ci_low,
                "orr_ci_high": orr["ORR"].ci_high,
                "hr": np.nan,
                "hr_ci_low": np.nan,
                "hr_ci_high": np.nan,
                "p_cox": np.nan,
                "p_logrank": np.nan,
                "too_few_events": False,
                "note": "reference arm" if arm == reference_arm else "",
            }
            row.update(_hr_fields(comparison, arm, reference_arm, n_events, min_events))
            rows.append(row)
    return pd.DataFrame(rows)
