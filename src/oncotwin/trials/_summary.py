"""The contract's ``summary`` table of a trial: :func:`summarise`.

One row per arm and endpoint (response rates, survival medians and landmarks, duration of
response, safety rates, hazard ratios), built from :mod:`._rates` and :mod:`._survival`. The
public names are re-exported by :mod:`oncotwin.trials.endpoints`; import them from there.
Outputs are research simulations, not medical advice.

Examples
--------
>>> from oncotwin.trials.endpoints import SUMMARY_COLUMNS
>>> SUMMARY_COLUMNS[:3]
('arm', 'endpoint', 'value')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from oncotwin.errors import UnknownNameError, did_you_mean
from oncotwin.trials._rates import (
    _SAFETY,
    _arms_of,
    _check_alpha,
    _require_columns,
    response_rates,
    safety_rates,
)
from oncotwin.trials._survival import _TIME_COLUMNS, compare_arms, km

__all__ = ["SUMMARY_COLUMNS", "summarise"]

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


def _survival_rows(
    sub: pd.DataFrame, arm: str, marks: tuple[float, ...], alpha: float
) -> list[dict]:
    """``median_PFS_mo``, ``PFS_{m}mo``, ``median_OS_mo``, ``OS_{m}mo`` rows of one arm."""
    rows: list[dict] = []
    n = len(sub)
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
            rows.append(_summary_row(arm, f"{kind}_{m:g}mo", 100 * v, 100 * lo, 100 * hi, n, "%"))
    return rows


def _dor_rows(sub: pd.DataFrame, arm: str, alpha: float) -> list[dict]:
    """The ``median_DOR_mo`` row of one arm over its responders (none without responders)."""
    responders = sub["dor_days"].notna().to_numpy()
    if not responders.any():
        return []
    s = km(
        sub["dor_days"][responders],
        sub["dor_event"][responders],
        f"{arm} DOR",
        landmarks_months=(),
        alpha=alpha,
    )
    return [
        _summary_row(
            arm,
            "median_DOR_mo",
            s.median_months,
            s.median_ci_low,
            s.median_ci_high,
            int(responders.sum()),
            "months",
        )
    ]


def _arm_rows(
    sub: pd.DataFrame,
    arm: str,
    marks: tuple[float, ...],
    alpha: float,
    *,
    has_dor: bool,
    has_safety: bool,
) -> list[dict]:
    """Every row of one arm but the hazard ratios, in the order of :func:`summarise`."""
    n = len(sub)
    conf = sub["confirmed"].to_numpy(bool) if "confirmed" in sub.columns else None
    rates = response_rates(sub["best_response"].to_numpy(), conf, alpha=alpha)
    rows = [
        _summary_row(arm, name, rate.value, rate.ci_low, rate.ci_high, n, "%")
        for name, rate in rates.items()
    ]
    rows.extend(_survival_rows(sub, arm, marks, alpha))
    if has_dor:
        rows.extend(_dor_rows(sub, arm, alpha))
    if has_safety:
        for r in safety_rates(sub, alpha=alpha).itertuples():
            rows.append(_summary_row(arm, r.endpoint, r.value, r.ci_low, r.ci_high, n, "%"))
    return rows


def _hazard_ratio_rows(
    df: pd.DataFrame, labels: np.ndarray, reference_arm: str, alpha: float
) -> list[dict]:
    """``HR_PFS`` then ``HR_OS`` rows of every arm against ``reference_arm``."""
    rows: list[dict] = []
    for kind in ("PFS", "OS"):
        t_col, e_col = _TIME_COLUMNS[kind.lower()]
        hr = compare_arms(df[t_col], df[e_col], labels, reference_arm, alpha=alpha)
        for r in hr.itertuples():
            rows.append(_summary_row(r.arm, f"HR_{kind}", r.hr, r.ci_low, r.ci_high, r.n, "ratio"))
    return rows


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
        rows.extend(_arm_rows(sub, arm, marks, alpha, has_dor=has_dor, has_safety=has_safety))
    if reference_arm is not None:
        rows.extend(_hazard_ratio_rows(df, labels, reference_arm, alpha))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
