"""Matching a published baseline table: targets, the table of a sample and the tilting weights.

Public names are re-exported by :mod:`oncotwin.population.covariates`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from oncotwin._random import selection_uniforms
from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError, did_you_mean
from oncotwin.population._cancers import ORGANS, _norm_name
from oncotwin.population._copula import _check_count

__all__ = ["BaselineMatch", "BaselineTarget", "baseline_table", "match_baseline"]

# --------------------------------------------------------------------------------------------
# Matching a published baseline table
# --------------------------------------------------------------------------------------------
_OPS = {
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
}
_TARGET_RE = re.compile(r"^\s*(?P<col>[A-Za-z_][\w]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<val>\S+)\s*$")
_METS_RE = re.compile(r"^\s*(?P<organ>[a-z_ ]+?)\s+(?:mets|metastases)\s*$", re.I)
_TARGET_EXAMPLES = '"age_yr", "pdl1_tps_pct>=50", "ecog==0", "sex==M", "liver mets"'


@dataclass(frozen=True, kw_only=True)
class BaselineTarget:
    """One row of a published baseline table: a column's mean or a proportion.

    ``column`` alone targets the mean (a bool column: its proportion); ``op`` + ``threshold``
    target the proportion of patients with ``column op threshold``.

    Examples
    --------
    >>> t = BaselineTarget.parse("pdl1_tps_pct>=50", 0.3)
    >>> t.column, t.op, t.threshold, t.value
    ('pdl1_tps_pct', '>=', 50.0, 0.3)
    >>> BaselineTarget.parse("liver mets", 0.2).column, BaselineTarget.parse("male", 0.6).op
    ('site_liver', '==')
    """

    key: str
    column: str
    op: str | None = None
    threshold: float | str | None = None
    value: float

    @property
    def is_proportion(self) -> bool:
        return self.op is not None

    @classmethod
    def parse(cls, key: str, value: float) -> BaselineTarget:
        """Read a key such as ``"age_yr"``, ``"pdl1_tps_pct>=50"``, ``"liver mets"``."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ParameterError(f"baseline target {key!r} = {value!r}; give a finite number")
        k = key.strip()
        m = _METS_RE.match(k)
        if m and _norm_name(m.group("organ")) in (*ORGANS, "lymph_nodes", "nodal", "nodes"):
            organ = _norm_name(m.group("organ"))
            organ = "lymph_node" if organ in ("lymph_nodes", "nodal", "nodes") else organ
            return cls(
                key=key,
                column=f"site_{organ}",
                op=">",
                threshold=0.0,
                value=_proportion(key, value),
            )
        if k.lower() in ("male", "female"):
            return cls(
                key=key,
                column="sex",
                op="==",
                threshold="M" if k.lower() == "male" else "F",
                value=_proportion(key, value),
            )
        m = _TARGET_RE.match(k)
        if m:
            raw = m.group("val")
            try:
                thr: float | str = float(raw)
            except ValueError:
                thr = raw.strip("'\"")
            return cls(
                key=key,
                column=m.group("col"),
                op=m.group("op"),
                threshold=thr,
                value=_proportion(key, value),
            )
        if re.fullmatch(r"[A-Za-z_]\w*", k):
            return cls(key=key, column=k, value=float(value))
        raise ParameterError(
            f"cannot read baseline target {key!r}; write a column, a comparison or '<organ> "
            f"mets', e.g. {_TARGET_EXAMPLES}"
        )

    def values(self, df: pd.DataFrame) -> np.ndarray:
        """Per-patient values whose (weighted) mean is compared with :attr:`value`."""
        if self.column not in df.columns:
            raise UnknownNameError(
                did_you_mean(self.column, df.columns, what="covariate column")
                + f" (baseline target {self.key!r})"
            )
        col = df[self.column]
        if self.op is None:
            if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
                raise ParameterError(
                    f"baseline target {self.key!r}: column {self.column!r} is not numeric; "
                    f"target a proportion instead, e.g. '{self.column}=={col.iloc[0]}'"
                )
            return col.to_numpy(float)
        if isinstance(self.threshold, str):
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                raise ParameterError(
                    f"baseline target {self.key!r}: compare {self.column!r} with a number"
                )
            if self.op not in ("==", "!="):
                raise ParameterError(f"baseline target {self.key!r}: use == or != with text")
            return _OPS[self.op](col.astype(str).to_numpy(), self.threshold).astype(float)
        v = col.to_numpy(float)
        return np.where(np.isnan(v), np.nan, _OPS[self.op](v, self.threshold).astype(float))


def _proportion(key: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ParameterError(
            f"baseline target {key!r} = {value!r} is a proportion; give it as a fraction in "
            f"[0, 1] (e.g. 0.30 for 30%)"
        )
    return float(value)


def _targets(targets: Mapping[str, float] | Iterable[BaselineTarget]) -> list[BaselineTarget]:
    if isinstance(targets, Mapping):
        return [BaselineTarget.parse(k, v) for k, v in targets.items()]
    return list(targets)


_DEFAULT_ROWS = {
    "age_yr": 0.0,
    "male": 0.0,
    "ecog==0": 0.0,
    "pdl1_tps_pct>=50": 0.0,
    "tmb_mut_per_mb>=10": 0.0,
    "ldh_ratio_uln>1": 0.0,
    "liver mets": 0.0,
    "brain mets": 0.0,
    "sum_lesion_diameter_mm": 0.0,
}


def baseline_table(
    df: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    targets: Mapping[str, float] | Iterable[BaselineTarget] | None = None,
) -> pd.DataFrame:
    """Weighted baseline table: achieved (weighted) vs unweighted vs target.

    Without ``targets``, a standard set of rows (age, sex, ECOG 0, PD-L1 >= 50%, TMB >= 10,
    LDH > ULN, liver and brain metastases, sum of diameters) with NaN targets.

    Returns
    -------
    pandas.DataFrame
        Columns ``covariate, kind, target, unweighted, achieved, difference`` (proportions as
        fractions).
    """
    tg = _targets(targets) if targets is not None else _targets(_DEFAULT_ROWS)
    w = _weights(df, weights)
    rows = []
    for t in tg:
        v = t.values(df)
        ok = ~np.isnan(v)
        unw = float(v[ok].mean()) if ok.any() else math.nan
        ach = float(np.sum(w[ok] * v[ok]) / np.sum(w[ok])) if ok.any() else math.nan
        tv = t.value if targets is not None else math.nan
        rows.append((t.key, "proportion" if t.is_proportion else "mean", tv, unw, ach, ach - tv))
    return pd.DataFrame(
        rows, columns=["covariate", "kind", "target", "unweighted", "achieved", "difference"]
    )


def _weights(df: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(df))
    w = np.asarray(weights, float)
    if w.shape != (len(df),) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ParameterError(
            f"weights must be {len(df)} finite numbers >= 0 with a positive sum (one per row), "
            f"got shape {w.shape}"
        )
    return w


@dataclass(frozen=True, eq=False)
class BaselineMatch:
    """Result of :func:`match_baseline`.

    Attributes
    ----------
    weights
        One weight per row of the input frame (sum 1; exponential tilting).
    table
        Achieved vs target (:func:`baseline_table`); for ``"select"`` the unweighted table of
        the selected patients.
    selected
        Row positions of the selected patients (``"select"``), else ``None``.
    frame
        The selected patients (``"select"``), else the input frame.
    ess
        Kish effective sample size of the weights.
    """

    weights: np.ndarray
    table: pd.DataFrame
    selected: np.ndarray | None
    frame: pd.DataFrame
    ess: float
    method: str = "weights"
    targets: tuple[BaselineTarget, ...] = field(default=())


def match_baseline(
    df: pd.DataFrame,
    targets: Mapping[str, float] | Iterable[BaselineTarget],
    *,
    method: Literal["weights", "select"] = "weights",
    n: int | None = None,
    seed: int = 0,
    tol: float = 1e-9,
) -> BaselineMatch:
    """Reweight (or subsample) virtual patients to match a published baseline table.

    ``"weights"``: exponential tilting, the minimum-KL weights ``w_i ∝ exp(λ·x_i)`` whose
    weighted means hit every target exactly (solved by Newton's method on the convex dual;
    equivalent to raking for proportions). ``"select"``: a deterministic weighted subsample of
    ``n`` patients without replacement (Efraimidis-Spirakis keys from ``seed``) with those
    weights; its table matches within sampling error (~1/sqrt(n)), best when the pool is several
    times larger than ``n``.

    Parameters
    ----------
    df
        A covariate frame (e.g. from :func:`sample_eligible`).
    targets
        ``{key: value}`` (keys as in :meth:`BaselineTarget.parse`, proportions as fractions) or
        :class:`BaselineTarget` objects.
    method
        ``"weights"`` or ``"select"``.
    n
        Size of the subsample (``"select"`` only).
    seed
        Seed of the subsample.
    tol
        Convergence tolerance on the standardised moment gaps.

    Examples
    --------
    >>> from oncotwin.population.covariates import sample_covariates
    >>> df = sample_covariates("melanoma", 4000, seed=2)
    >>> m = match_baseline(df, {"age_yr": 61, "liver mets": 0.3})
    >>> bool(m.table.difference.abs().max() < 1e-6)
    True
    """
    if method not in ("weights", "select"):
        raise ParameterError(f"method={method!r}; give 'weights' or 'select'")
    tg = _targets(targets)
    if not tg:
        raise ParameterError("no baseline targets given; pass e.g. {'age_yr': 61}")
    if len(df) < 2:
        raise ParameterError(f"the frame has {len(df)} rows; give at least 2 patients")
    cols = [t.values(df) for t in tg]
    x = np.column_stack(cols)
    if np.isnan(x).any():
        bad = [t.key for t, c in zip(tg, cols, strict=True) if np.isnan(c).any()]
        raise ParameterError(
            f"baseline targets {bad} have missing values in the frame; drop them or the patients"
        )
    for t, c in zip(tg, cols, strict=True):
        lo, hi = c.min(), c.max()
        if not lo < t.value < hi and not (lo == hi == t.value):
            raise ParameterError(
                f"baseline target {t.key!r} = {t.value:g} is outside what the patients span "
                f"({lo:g} to {hi:g}); no weighting can reach it: check the target or sample "
                "a population that covers it"
            )
    w = _tilt(x, np.array([t.value for t in tg]), tol=tol, keys=[t.key for t in tg])
    ess = float(1.0 / np.sum(w**2))
    if method == "weights":
        return BaselineMatch(
            w, baseline_table(df, w, targets=tg), None, df, ess, "weights", tuple(tg)
        )
    if n is None:
        raise ParameterError("method='select' needs n, the number of patients to keep")
    n = _check_count(n, "n", minimum=1)
    if n > len(df):
        raise ParameterError(
            f"n={n} is more than the {len(df)} patients given; give n <= "
            f"{len(df)} (best several times fewer)"
        )
    u = selection_uniforms(_check_count(seed, "seed", minimum=0), len(df))
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(u) / w, -np.inf)
    chosen = np.sort(np.argsort(-keys, kind="stable")[:n])
    sub = df.iloc[chosen].reset_index(drop=True)
    return BaselineMatch(
        w, baseline_table(sub, None, targets=tg), chosen, sub, ess, "select", tuple(tg)
    )


def _tilt(x: np.ndarray, target: np.ndarray, *, tol: float, keys: list[str]) -> np.ndarray:
    """Minimum-KL weights with weighted column means ``target`` (Newton on the dual)."""
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    xs = (x - target) / sd
    lam = np.zeros(x.shape[1])
    for _ in range(200):
        eta = xs @ lam
        w = np.exp(eta - eta.max())
        w /= w.sum()
        g = w @ xs
        if np.max(np.abs(g)) < tol:
            return w
        h = (xs * w[:, None]).T @ xs - np.outer(g, g)
        step = np.linalg.lstsq(h + 1e-12 * np.eye(len(lam)), g, rcond=None)[0]
        f0 = np.log(np.sum(np.exp(eta - eta.max()))) + eta.max()
        t = 1.0
        while t > 1e-10:  # backtracking on the convex dual log-sum-exp
            e1 = xs @ (lam - t * step)
            if np.log(np.sum(np.exp(e1 - e1.max()))) + e1.max() <= f0 - 1e-4 * t * g @ step:
                break
            t /= 2
        lam = lam - t * step
    raise OncotwinError(
        f"the baseline targets {keys} cannot all be met at once by reweighting these patients "
        "(the tilting did not converge); drop or relax a target, or sample more patients"
    )
