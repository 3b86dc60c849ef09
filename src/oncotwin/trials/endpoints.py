"""Trial endpoints of assessed populations: response rates, Kaplan-Meier, Cox, safety, subgroups.

Survival estimation is lifelines' (Kaplan-Meier, Cox proportional hazards, log-rank); this
module only shapes its input and output into the project's tables (``docs/trial_tables.md``,
``summary``) and turns the cases lifelines would warn or fail on (an arm without events, a
subgroup of three patients) into NaN with a note, so a batch of trials never stops on one
degenerate arm. Durations come in days and are reported in months of 30.4375 days (365.25/12).
Outputs are research simulations, not medical advice.

Examples
--------
>>> from oncotwin.trials.endpoints import clopper_pearson
>>> low, high = clopper_pearson(5, 20)
>>> round(float(low), 4), round(float(high), 4)
(0.0866, 0.491)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.stats import beta

from oncotwin._constants import DAYS_PER_MONTH as MONTH_DAYS
from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError, did_you_mean
from oncotwin.trials.recist import RESPONSE_CODES

__all__ = [
    "MONTH_DAYS",
    "SUMMARY_COLUMNS",
    "KMSummary",
    "Rate",
    "clopper_pearson",
    "compare_arms",
    "km",
    "response_rates",
    "safety_rates",
    "subgroup_analysis",
    "summarise",
]


#: Columns of the ``summary`` table (data contract, section 2).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "arm",
    "endpoint",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "unit",
    "published",
    "source",
)

#: Safety endpoints: name -> (outcomes column, threshold; None for a boolean column).
_SAFETY: dict[str, tuple[str, int | None]] = {
    "g3plus_AE": ("g3plus_ae", None),
    "g3plus_irAE": ("max_irae_grade", 3),
    "g3plus_CRS": ("max_crs_grade", 3),
    "g3plus_ICANS": ("max_icans_grade", 3),
}


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ParameterError(
            f"alpha = {alpha!r} is invalid; give a significance level in (0, 1), e.g. 0.05 "
            "for 95% confidence intervals"
        )


def _require_columns(df: pd.DataFrame, columns: Sequence[str], *, where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise OncotwinError(
            f"{where}: outcomes table lacks column(s) {missing}; it has {list(df.columns)[:12]}."
            " Build it with RecistResult.to_frames and the toxicity columns of the contract"
        )


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


# --------------------------------------------------------------------------------------------
# response rates
# --------------------------------------------------------------------------------------------


def clopper_pearson(k, n, alpha: float = 0.05):
    """Exact (Clopper-Pearson) two-sided confidence interval of a binomial proportion.

    Vectorised over ``k`` and ``n``; returns proportions (not %). NaN where ``n == 0``.

    Parameters
    ----------
    k, n
        Successes and trials (integers, ``0 <= k <= n``).
    alpha
        1 - confidence level.

    Returns
    -------
    tuple
        ``(low, high)``, floats for scalar input, arrays otherwise.

    Examples
    --------
    >>> lo, hi = clopper_pearson([0, 20], [20, 20])
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.8316], [0.1684, 1.0])
    """
    _check_alpha(alpha)
    k_arr = np.asarray(k, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    bad = (k_arr != np.round(k_arr)) | (n_arr != np.round(n_arr)) | (k_arr < 0) | (k_arr > n_arr)
    if np.any(bad):
        raise OncotwinError(
            f"clopper_pearson: k = {k!r}, n = {n!r} is invalid; give integer counts with "
            "0 <= k <= n"
        )
    k_arr, n_arr = np.broadcast_arrays(k_arr, n_arr)
    low = np.where(k_arr > 0, beta.ppf(alpha / 2, np.maximum(k_arr, 1), n_arr - k_arr + 1), 0.0)
    high = np.where(
        k_arr < n_arr, beta.ppf(1 - alpha / 2, k_arr + 1, np.maximum(n_arr - k_arr, 1)), 1.0
    )
    low = np.where(n_arr > 0, low, np.nan)
    high = np.where(n_arr > 0, high, np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


@dataclass(frozen=True)
class Rate:
    """A proportion in % with its exact confidence interval: ``value`` = 100 k / n."""

    value: float
    ci_low: float
    ci_high: float
    k: int
    n: int
    unit: str = "%"


def _rate(k: int, n: int, alpha: float) -> Rate:
    low, high = clopper_pearson(k, n, alpha)
    value = 100.0 * k / n if n else np.nan
    return Rate(value, 100.0 * low, 100.0 * high, int(k), int(n))


def _response_names(best_response) -> np.ndarray:
    br = np.asarray(best_response)
    if np.issubdtype(br.dtype, np.integer):
        if br.size and (br.min() < 0 or br.max() >= len(RESPONSE_CODES)):
            raise OncotwinError(
                f"best_response codes must be 0..{len(RESPONSE_CODES) - 1} "
                f"({', '.join(RESPONSE_CODES)}), got {int(br.min())}..{int(br.max())}"
            )
        return np.asarray(RESPONSE_CODES)[br]
    names = br.astype(str)
    unknown = ~np.isin(names, RESPONSE_CODES)
    if unknown.any():
        raise OncotwinError(
            f"best_response holds {str(names[unknown][0])!r}; valid responses are "
            f"{', '.join(RESPONSE_CODES)}"
        )
    return names


def response_rates(best_response, confirmed=None, *, alpha: float = 0.05) -> dict[str, Rate]:
    """ORR (CR+PR), CR rate and disease control rate (CR+PR+SD) in % with exact CIs.

    Every patient counts in the denominator (NE included: intention to treat). When
    ``confirmed`` is given, a CR/PR counts towards ORR and CR only if confirmed.

    Examples
    --------
    >>> r = response_rates(["CR", "PR", "SD", "PD", "NE"], [True, False, False, False, False])
    >>> r["ORR"].value, r["DCR"].value
    (20.0, 60.0)
    """
    _check_alpha(alpha)
    names = _response_names(best_response)
    ok = np.ones(names.shape, dtype=bool) if confirmed is None else np.asarray(confirmed, bool)
    if ok.shape != names.shape:
        raise OncotwinError(
            f"confirmed has shape {ok.shape}, expected {names.shape} (one flag per patient)"
        )
    n = int(names.size)
    cr = (names == "CR") & ok
    orr = cr | ((names == "PR") & ok)
    dcr = np.isin(names, ("CR", "PR", "SD"))
    return {
        "ORR": _rate(int(orr.sum()), n, alpha),
        "CR": _rate(int(cr.sum()), n, alpha),
        "DCR": _rate(int(dcr.sum()), n, alpha),
    }


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


def _notes_from(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught)


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
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kmf = KaplanMeierFitter(alpha=alpha).fit(t, event_observed=e, label=label or "KM")
        median = float(kmf.median_survival_time_)
        median_ci = median_survival_times(kmf.confidence_interval_).to_numpy()[0]
        timeline = kmf.survival_function_.index.to_numpy(dtype=np.float64)
        survival = kmf.survival_function_.to_numpy()[:, 0]
        ci = kmf.confidence_interval_survival_function_.to_numpy()
    notes = list(_notes_from(caught))
    if n_events == 0:
        notes.append("no events: the curve stays at 1 and the median is not reached")
    elif not np.isfinite(median):
        notes.append("median not reached (reported as inf)")
    row = np.searchsorted(timeline, marks, side="right") - 1
    beyond = marks > max_t
    if beyond.any():
        notes.append(f"landmarks {marks[beyond].tolist()} months lie beyond follow-up: NaN")

    def at(values: np.ndarray) -> np.ndarray:
        return np.where(beyond, np.nan, values[np.clip(row, 0, None)])

    return KMSummary(
        label=label,
        n=n,
        n_events=n_events,
        median_months=median,
        median_ci_low=float(median_ci[0]),
        median_ci_high=float(median_ci[1]),
        landmark_months=marks,
        landmark_survival=at(survival),
        landmark_ci_low=at(ci[:, 0]),
        landmark_ci_high=at(ci[:, 1]),
        timeline_months=timeline,
        survival=survival,
        ci_low=ci[:, 0].copy(),
        ci_high=ci[:, 1].copy(),
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
# safety, subgroups, summary
# --------------------------------------------------------------------------------------------


def _arms_of(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["arm"].astype(str).tolist()))


def safety_rates(outcomes_df: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Grade >= 3 AE, irAE (CTCAE), CRS and ICANS (ASTCT) rates per arm, in % with exact CIs.

    Returns one row per arm and endpoint (``g3plus_AE``, ``g3plus_irAE``, ``g3plus_CRS``,
    ``g3plus_ICANS``) with columns ``arm, endpoint, value, ci_low, ci_high, k, n, unit``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["A"] * 4, "g3plus_ae": [True, False, False, False],
    ...                    "max_irae_grade": [3, 1, 0, 0], "max_crs_grade": 0,
    ...                    "max_icans_grade": 0})
    >>> safety_rates(df).set_index("endpoint")["value"].tolist()
    [25.0, 25.0, 0.0, 0.0]
    """
    _check_alpha(alpha)
    df = outcomes_df
    _require_columns(df, ["arm", *(c for c, _ in _SAFETY.values())], where="safety_rates")
    rows = []
    labels = df["arm"].astype(str).to_numpy()
    for arm in _arms_of(df):
        sub = df[labels == arm]
        for endpoint, (column, threshold) in _SAFETY.items():
            values = sub[column].to_numpy()
            hit = values.astype(bool) if threshold is None else values >= threshold
            rate = _rate(int(hit.sum()), int(hit.size), alpha)
            rows.append({"arm": arm, "endpoint": endpoint, **rate.__dict__})
    columns = ["arm", "endpoint", "value", "ci_low", "ci_high", "k", "n", "unit"]
    return pd.DataFrame(rows, columns=columns)


_TIME_COLUMNS = {"pfs": ("pfs_days", "pfs_event"), "os": ("os_days", "os_event")}


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
    if time not in _TIME_COLUMNS:
        raise UnknownNameError(did_you_mean(time, _TIME_COLUMNS, what="time endpoint"))
    t_col, e_col = _TIME_COLUMNS[time]
    _require_columns(df, ["arm", "best_response", t_col, e_col], where="subgroup_analysis")
    if by not in df.columns:
        raise UnknownNameError(did_you_mean(by, df.columns.astype(str), what="subgroup column"))
    arms = _arms_of(df)
    if reference_arm not in arms:
        raise UnknownNameError(did_you_mean(reference_arm, arms, what="reference arm"))
    levels = [("all", np.ones(len(df), dtype=bool))]
    values = df[by]
    for level in sorted(values.dropna().unique().tolist(), key=str):
        levels.append((level, (values == level).to_numpy()))
    labels = df["arm"].astype(str).to_numpy()
    confirmed = df["confirmed"].to_numpy(bool) if "confirmed" in df.columns else None
    rows = []
    for level, mask in levels:
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
            row = {
                "subgroup": by,
                "level": level,
                "arm": arm,
                "n": int(in_arm.sum()),
                "n_events": int(sub[e_col].to_numpy(bool)[in_arm].sum()),
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
            if arm != reference_arm:
                if arm in comparison.index:
                    c = comparison.loc[arm]
                    events = int(c.n_events + c.n_events_reference)
                    row.update(
                        hr=c.hr,
                        hr_ci_low=c.ci_low,
                        hr_ci_high=c.ci_high,
                        p_cox=c.p_cox,
                        p_logrank=c.p_logrank,
                        too_few_events=events < min_events,
                        note=c.note,
                    )
                else:
                    row.update(too_few_events=True, note="reference arm absent in this subgroup")
            else:
                row["too_few_events"] = row["n_events"] < min_events
            rows.append(row)
    return pd.DataFrame(rows)


def _summary_row(arm, endpoint, value, low, high, n, unit) -> dict:
    return {
        "arm": arm,
        "endpoint": endpoint,
        "value": float(value),
        "ci_low": float(low),
        "ci_high": float(high),
        "n": int(n),
        "unit": unit,
        "published": np.nan,
        "source": "",
    }


def summarise(
    outcomes_df: pd.DataFrame,
    reference_arm: str | None = None,
    landmarks_months: Sequence[float] = (6, 12, 24),
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The contract's ``summary`` table: one row per arm and endpoint.

    Endpoints per arm: ``ORR``, ``CR``, ``DCR`` (%), ``median_PFS_mo``, ``median_OS_mo``,
    ``median_DOR_mo`` (months; inf = not reached; DOR only with ``dor_days``/``dor_event``
    columns and responders), ``PFS_{m}mo``/``OS_{m}mo`` landmark rates (%), the safety rates
    of :func:`safety_rates` when the outcomes carry the toxicity columns, and ``HR_PFS``,
    ``HR_OS`` (ratio) of each arm vs ``reference_arm`` when one is given. ``published`` is NaN
    and ``source`` empty: calibration fills them.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": "A", "best_response": ["PR", "SD", "PD", "PD"],
    ...                    "pfs_days": [300.0, 200, 60, 50], "pfs_event": True,
    ...                    "os_days": [400.0, 400, 300, 200], "os_event": [0, 0, 1, 1]})
    >>> s = summarise(df, landmarks_months=(6,))
    >>> s.set_index("endpoint").loc[["ORR", "median_PFS_mo", "PFS_6mo"], "value"].round(2).tolist()
    [25.0, 1.97, 50.0]
    """
    _check_alpha(alpha)
    df = outcomes_df
    _require_columns(
        df,
        ["arm", "best_response", "pfs_days", "pfs_event", "os_days", "os_event"],
        where="summarise",
    )
    arms = _arms_of(df)
    if reference_arm is not None and reference_arm not in arms:
        raise UnknownNameError(did_you_mean(reference_arm, arms, what="reference arm"))
    labels = df["arm"].astype(str).to_numpy()
    marks = tuple(float(m) for m in landmarks_months)
    has_safety = all(c in df.columns for c, _ in _SAFETY.values())
    has_dor = {"dor_days", "dor_event"} <= set(df.columns)
    rows: list[dict] = []
    for arm in arms:
        sub = df[labels == arm]
        n = len(sub)
        conf = sub["confirmed"].to_numpy(bool) if "confirmed" in sub.columns else None
        rates = response_rates(sub["best_response"].to_numpy(), conf, alpha=alpha)
        for name, rate in rates.items():
            rows.append(_summary_row(arm, name, rate.value, rate.ci_low, rate.ci_high, n, "%"))
        for kind in ("PFS", "OS"):
            t_col, e_col = _TIME_COLUMNS[kind.lower()]
            s = km(sub[t_col], sub[e_col], f"{arm} {kind}", landmarks_months=marks, alpha=alpha)
            rows.append(
                _summary_row(
                    arm,
                    f"median_{kind}_mo",
                    s.median_months,
                    s.median_ci_low,
                    s.median_ci_high,
                    n,
                    "months",
                )
            )
            for m, v, lo, hi in zip(
                marks, s.landmark_survival, s.landmark_ci_low, s.landmark_ci_high, strict=True
            ):
                rows.append(
                    _summary_row(arm, f"{kind}_{m:g}mo", 100 * v, 100 * lo, 100 * hi, n, "%")
                )
        if has_dor:
            responders = sub["dor_days"].notna().to_numpy()
            if responders.any():
                s = km(
                    sub["dor_days"][responders],
                    sub["dor_event"][responders],
                    f"{arm} DOR",
                    landmarks_months=(),
                    alpha=alpha,
                )
                rows.append(
                    _summary_row(
                        arm,
                        "median_DOR_mo",
                        s.median_months,
                        s.median_ci_low,
                        s.median_ci_high,
                        int(responders.sum()),
                        "months",
                    )
                )
        if has_safety:
            for r in safety_rates(sub, alpha=alpha).itertuples():
                rows.append(_summary_row(arm, r.endpoint, r.value, r.ci_low, r.ci_high, n, "%"))
    if reference_arm is not None:
        for kind in ("PFS", "OS"):
            t_col, e_col = _TIME_COLUMNS[kind.lower()]
            hr = compare_arms(df[t_col], df[e_col], labels, reference_arm, alpha=alpha)
            for r in hr.itertuples():
                rows.append(
                    _summary_row(r.arm, f"HR_{kind}", r.hr, r.ci_low, r.ci_high, r.n, "ratio")
                )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
