"""Proportions of a trial: exact (Clopper-Pearson) CIs, response rates and safety rates.

The public names are re-exported by :mod:`oncotwin.trials.endpoints`; import them from there.
Outputs are research simulations, not medical advice.

Examples
--------
>>> from oncotwin.trials.endpoints import response_rates
>>> response_rates(["CR", "PR", "SD", "PD"])["ORR"].value
50.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import beta

from oncotwin.errors import OncotwinError, ParameterError
from oncotwin.trials.recist import RESPONSE_CODES

__all__ = ["Rate", "clopper_pearson", "response_rates", "safety_rates"]

#: Safety endpoints: name -> (outcomes column, threshold; None for a boolean column).
_SAFETY: dict[str, tuple[str, int | None]] = {
    "g3plus_AE": ("g3plus_ae", None),
    "g3plus_irAE": ("max_irae_grade", 3),
    "g3plus_CRS": ("max_crs_grade", 3),
    "g3plus_ICANS": ("max_icans_grade", 3),
}


# --------------------------------------------------------------------------------------------
# validation helpers (shared by the endpoint modules)
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


def _arms_of(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["arm"].astype(str).tolist()))


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
# safety
# --------------------------------------------------------------------------------------------


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
