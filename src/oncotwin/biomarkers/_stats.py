"""The statistics of the biomarker analysis, on plain arrays (no trial objects here).

- :func:`auc_delong`: ROC AUC with its DeLong standard error and a Wald 95% CI (DeLong,
  DeLong & Clarke-Pearson 1988, Biometrics 44:837; the fast midrank algorithm of Sun & Xu 2014,
  IEEE Signal Process Lett 21:1389), the method of R's pROC.
- :func:`logistic_fit`: maximum-likelihood logistic regression (Newton-Raphson) with Wald
  standard errors; complete or quasi-complete separation is detected and reported, not hidden.
- :func:`youden_cutpoint`: the cut-point that maximises Youden's J = sensitivity +
  specificity - 1, with its optimism estimated by the bootstrap (Harrell 1996; Efron & Tibshirani
  1993 section 17.6): the J that the cut-point chosen in a bootstrap sample reaches there minus
  what it reaches in the original data, averaged; the corrected J is the apparent J minus that.
- :func:`cox_hazard_ratio`: univariate Cox proportional-hazards hazard ratio (Efron ties;
  checked against lifelines in the tests).
- :func:`cv_logistic_score`: out-of-fold predictions of a logistic score (k-fold cross
  validation; standardisation and median imputation fitted inside each training fold).

Research simulations only: not medical advice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from oncotwin.errors import OncotwinError

__all__ = [
    "AUC",
    "BiomarkerError",
    "CoxFit",
    "Cutpoint",
    "LogisticFit",
    "auc_delong",
    "cox_hazard_ratio",
    "cv_logistic_score",
    "logistic_fit",
    "roc_curve",
    "youden_cutpoint",
]

_Z95 = float(stats.norm.ppf(0.975))


class BiomarkerError(OncotwinError):
    """A biomarker analysis cannot be done as asked (unknown marker, too few responders, a
    run without patients); the message names the field and the fix."""


def _binary(y: np.ndarray, what: str = "response") -> np.ndarray:
    y = np.asarray(y)
    if y.dtype == bool:
        return y
    yf = y.astype(float)
    if not np.all(np.isin(yf, (0.0, 1.0))):
        raise BiomarkerError(f"{what}: give 0/1 or True/False values, got {np.unique(yf)[:5]}")
    return yf.astype(bool)


# ---------------------------------------------------------------------------------- ROC / AUC
@dataclass(frozen=True)
class AUC:
    """ROC AUC = P(marker of a responder > marker of a non-responder) + 0.5 P(tie)."""

    auc: float
    se: float
    ci_low: float
    ci_high: float
    n_pos: int
    n_neg: int
    method: str = "DeLong"


def _midrank(x: np.ndarray) -> np.ndarray:
    """Midranks (1-based; ties get the mean of their ranks)."""
    return stats.rankdata(x, method="average")


def auc_delong(marker: np.ndarray, response: np.ndarray) -> AUC:
    """AUC of ``marker`` for ``response`` with the DeLong SE and Wald 95% CI clipped to [0, 1].

    Examples
    --------
    >>> a = auc_delong(np.array([1.0, 2, 3, 4]), np.array([0, 0, 1, 1]))
    >>> a.auc, a.ci_low, a.ci_high
    (1.0, 1.0, 1.0)
    """
    x = np.asarray(marker, dtype=float)
    y = _binary(response)
    ok = np.isfinite(x)
    x, y = x[ok], y[ok]
    pos, neg = x[y], x[~y]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        raise BiomarkerError(
            f"response: {m} responders and {n} non-responders with a value; an AUC needs both"
        )
    tz = _midrank(np.concatenate([pos, neg]))
    tx, ty = _midrank(pos), _midrank(neg)
    auc = float((tz[:m].sum() - m * (m + 1) / 2.0) / (m * n))
    v10 = (tz[:m] - tx) / n  # placement values of the responders
    v01 = 1.0 - (tz[m:] - ty) / m  # and of the non-responders
    s10 = float(np.var(v10, ddof=1)) if m > 1 else 0.0
    s01 = float(np.var(v01, ddof=1)) if n > 1 else 0.0
    se = float(np.sqrt(s10 / m + s01 / n))
    lo, hi = max(0.0, auc - _Z95 * se), min(1.0, auc + _Z95 * se)
    return AUC(auc, se, lo, hi, int(m), int(n))


def roc_curve(marker: np.ndarray, response: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate) of ``marker >= c`` over every threshold c,
    from (0, 0) to (1, 1)."""
    x = np.asarray(marker, dtype=float)
    y = _binary(response)
    ok = np.isfinite(x)
    x, y = x[ok], y[ok]
    order = np.argsort(-x, kind="stable")
    xs, ys = x[order], y[order]
    last = np.r_[np.nonzero(np.diff(xs))[0], xs.size - 1]  # end of each tied block
    tp = np.cumsum(ys)[last]
    fp = np.cumsum(~ys)[last]
    p, n = max(int(ys.sum()), 1), max(int((~ys).sum()), 1)
    return np.r_[0.0, fp / n], np.r_[0.0, tp / p]


# ------------------------------------------------------------------------- logistic regression
@dataclass(frozen=True)
class LogisticFit:
    """A logistic regression: coefficients (intercept first), Wald SEs and p-values."""

    coef: np.ndarray
    se: np.ndarray
    p: np.ndarray
    converged: bool
    separated: bool
    n: int

    def odds_ratio(self, k: int = 1, scale: float = 1.0) -> tuple[float, float, float, float]:
        """(OR, CI low, CI high, p) of coefficient ``k`` per ``scale`` units (NaN when the
        data separate the outcome)."""
        if self.separated or not self.converged:
            return (np.nan, np.nan, np.nan, np.nan)
        b, s = self.coef[k] * scale, self.se[k] * abs(scale)
        return (
            float(np.exp(b)),
            float(np.exp(b - _Z95 * s)),
            float(np.exp(b + _Z95 * s)),
            float(self.p[k]),
        )


def logistic_fit(
    X: np.ndarray, y: np.ndarray, *, ridge: float = 0.0, max_iter: int = 100
) -> LogisticFit:
    """Fit P(y=1) = expit(b0 + X b) by Newton-Raphson (``ridge``: an L2 penalty on b, not b0).

    Separation (a coefficient running away, or fitted probabilities of 0 or 1) is reported in
    ``separated`` and its odds ratios are NaN; it is never patched over.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    yv = _binary(y).astype(float)
    n, k = X.shape
    A = np.column_stack([np.ones(n), X])
    beta = np.zeros(k + 1)
    pen = np.full(k + 1, ridge)
    pen[0] = 0.0
    converged = False
    for _ in range(max_iter):
        eta = np.clip(A @ beta, -35.0, 35.0)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1.0 - p)
        grad = A.T @ (yv - p) - pen * beta
        H = (A * w[:, None]).T @ A + np.diag(pen)
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            converged = True
            break
    eta = A @ beta
    p = 1.0 / (1.0 + np.exp(-np.clip(eta, -35.0, 35.0)))
    w = p * (1.0 - p)
    H = (A * w[:, None]).T @ A + np.diag(pen)
    try:
        cov = np.linalg.inv(H)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        se = np.full(k + 1, np.nan)
    sd = X.std(axis=0) if n else np.ones(k)
    separated = bool(
        (not converged)
        or np.any(np.abs(beta[1:] * np.where(sd > 0, sd, 1.0)) > 15.0)
        or (ridge == 0.0 and np.mean((p < 1e-8) | (p > 1 - 1e-8)) > 0.5)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
    pval = 2.0 * stats.norm.sf(np.abs(z))
    return LogisticFit(beta, se, pval, converged, separated, int(n))


# ------------------------------------------------------------------------------- cut-points
@dataclass(frozen=True)
class Cutpoint:
    """The Youden-optimal cut-point ``marker >= cut`` (or ``<=`` when ``direction`` is -1)
    with its apparent J, the bootstrap optimism and the optimism-corrected J."""

    cut: float
    direction: int
    sensitivity: float
    specificity: float
    j_apparent: float
    optimism: float
    j_corrected: float
    cut_ci_low: float
    cut_ci_high: float
    n_boot: int


def _best_cut(x: np.ndarray, y: np.ndarray, direction: int) -> tuple[float, float, float, float]:
    """(cut, J, sensitivity, specificity) maximising J for ``direction * marker >=
    direction * cut``; the cut is the midpoint between adjacent distinct values."""
    s = direction * x
    order = np.argsort(-s, kind="stable")
    ss, ys = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(ss))[0], ss.size - 1]
    p, n = max(int(ys.sum()), 1), max(int((~ys).sum()), 1)
    sens = np.cumsum(ys)[last] / p
    spec = 1.0 - np.cumsum(~ys)[last] / n
    j = sens + spec - 1.0
    i = int(np.argmax(j))
    nxt = ss[last[i] + 1] if last[i] + 1 < ss.size else ss[last[i]] - 1.0
    cut_s = 0.5 * (ss[last[i]] + nxt)
    return float(direction * cut_s), float(j[i]), float(sens[i]), float(spec[i])


def _j_at(x: np.ndarray, y: np.ndarray, cut: float, direction: int) -> float:
    pred = direction * x >= direction * cut
    p, n = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    return float((pred & y).sum() / p + (~pred & ~y).sum() / n - 1.0)


def youden_cutpoint(
    marker: np.ndarray,
    response: np.ndarray,
    *,
    direction: int | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> Cutpoint:
    """The Youden cut-point of ``marker`` and its bootstrap optimism.

    ``direction`` +1 means high values predict response, -1 low values; by default it is the
    side of the AUC (>= 0.5: +1), chosen again in each bootstrap sample so that its optimism
    is counted too.
    """
    x = np.asarray(marker, dtype=float)
    y = _binary(response)
    ok = np.isfinite(x)
    x, y = x[ok], y[ok]
    if y.sum() == 0 or (~y).sum() == 0:
        raise BiomarkerError("response: a cut-point needs responders and non-responders")
    fixed = direction is not None

    def side(xx: np.ndarray, yy: np.ndarray) -> int:
        if fixed:
            return int(direction)  # type: ignore[arg-type]
        return 1 if auc_delong(xx, yy).auc >= 0.5 else -1

    d = side(x, y)
    cut, j, sens, spec = _best_cut(x, y, d)
    rng = np.random.default_rng(seed)
    opt, cuts = [], []
    for _ in range(int(n_boot)):
        idx = rng.integers(0, x.size, x.size)
        xb, yb = x[idx], y[idx]
        if yb.all() or not yb.any():
            continue
        db = side(xb, yb)
        cb, jb, _, _ = _best_cut(xb, yb, db)
        opt.append(jb - _j_at(x, y, cb, db))
        cuts.append(cb)
    optimism = float(np.mean(opt)) if opt else np.nan
    lo, hi = np.percentile(cuts, [2.5, 97.5]) if cuts else (np.nan, np.nan)
    return Cutpoint(cut, d, sens, spec, j, optimism, j - optimism, float(lo), float(hi), len(opt))


# ------------------------------------------------------------------------------------- Cox
@dataclass(frozen=True)
class CoxFit:
    """Univariate Cox hazard ratio per unit of the marker, with its 95% CI and p-value."""

    hr: float
    ci_low: float
    ci_high: float
    p: float
    beta: float
    se: float
    n: int
    events: int
    note: str = ""

    def per(self, scale: float) -> tuple[float, float, float]:
        """(HR, low, high) per ``scale`` units (e.g. one SD)."""
        b, s = self.beta * scale, self.se * abs(scale)
        return float(np.exp(b)), float(np.exp(b - _Z95 * s)), float(np.exp(b + _Z95 * s))


def _efron_terms(t: np.ndarray, e: np.ndarray):
    """Per event-tie term of the Efron partial likelihood: (start of each term's risk set,
    tie fraction l/d, the term's tie-block index) and the blocks' event indices."""
    te, d = np.unique(t[e], return_counts=True)
    start = np.searchsorted(t, te, side="left")  # t sorted ascending: risk set = start..end
    block = np.repeat(np.arange(te.size), d)
    frac = np.concatenate([np.arange(k) / k for k in d]) if d.size else np.zeros(0)
    return te, start, block, frac


def _cox_newton(x: np.ndarray, t: np.ndarray, e: np.ndarray, max_iter: int = 60):
    """Univariate Cox fit (Efron ties) by Newton-Raphson: (beta, se, converged)."""
    order = np.argsort(t, kind="stable")
    x, t, e = x[order], t[order], e[order]
    te, start, block, frac = _efron_terms(t, e)
    tied = np.searchsorted(te, t)  # block of each row (valid where e and t == te[block])
    in_tie = e & (tied < te.size) & (te[np.minimum(tied, te.size - 1)] == t)
    sx_events = float(x[e].sum())
    beta = 0.0
    converged = False
    hess = -1.0
    for _ in range(max_iter):
        w = np.exp(np.clip(beta * x, -700.0, 700.0))
        r0 = np.cumsum(w[::-1])[::-1]
        r1 = np.cumsum((w * x)[::-1])[::-1]
        r2 = np.cumsum((w * x * x)[::-1])[::-1]
        d0 = np.bincount(tied[in_tie], weights=w[in_tie], minlength=te.size)
        d1 = np.bincount(tied[in_tie], weights=(w * x)[in_tie], minlength=te.size)
        d2 = np.bincount(tied[in_tie], weights=(w * x * x)[in_tie], minlength=te.size)
        s0 = r0[start][block] - frac * d0[block]
        s1 = r1[start][block] - frac * d1[block]
        s2 = r2[start][block] - frac * d2[block]
        grad = sx_events - float(np.sum(s1 / s0))
        hess = -float(np.sum(s2 / s0 - (s1 / s0) ** 2))
        if not np.isfinite(hess) or hess >= 0:
            break
        step = -grad / hess
        step = float(np.clip(step, -2.0, 2.0))  # damped: a runaway beta means separation
        beta += step
        if abs(step) < 1e-9:
            converged = True
            break
    se = float(np.sqrt(-1.0 / hess)) if hess < 0 else np.nan
    return beta, se, converged


def cox_hazard_ratio(marker: np.ndarray, time: np.ndarray, event: np.ndarray) -> CoxFit:
    """Univariate Cox proportional-hazards fit of ``time``/``event`` on ``marker`` (Efron's
    method for tied times, Newton-Raphson, Wald CI; the same estimate as lifelines'
    ``CoxPHFitter``, which ``tests/test_biomarkers.py`` checks, at a hundredth of its cost).

    Rows with a missing marker or time are left out; a fit that does not converge (a marker
    that separates the events) gives NaN with the reason in ``note``.
    """
    x = np.asarray(marker, dtype=float)
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    ok = np.isfinite(x) & np.isfinite(t) & (t > 0)
    x, t, e = x[ok], t[ok], e[ok]
    nan = dict(
        hr=np.nan,
        ci_low=np.nan,
        ci_high=np.nan,
        p=np.nan,
        beta=np.nan,
        se=np.nan,
        n=int(x.size),
        events=int(e.sum()),
    )
    if x.size == 0 or e.sum() < 2 or np.ptp(x) == 0:
        return CoxFit(**nan, note="too few events or a constant marker")
    beta, se, converged = _cox_newton(x, t, e)
    if not converged or not np.isfinite(se) or abs(beta) * np.std(x) > 15.0:
        return CoxFit(**nan, note="Cox fit did not converge (the marker separates the events)")
    z = beta / se
    return CoxFit(
        float(np.exp(beta)),
        float(np.exp(beta - _Z95 * se)),
        float(np.exp(beta + _Z95 * se)),
        float(2.0 * stats.norm.sf(abs(z))),
        float(beta),
        float(se),
        int(x.size),
        int(e.sum()),
    )


# ------------------------------------------------------------------ cross-validated score
def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    med = np.nanmedian(train, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    tr = np.where(np.isfinite(train), train, med)
    te = np.where(np.isfinite(test), test, med)
    mu, sd = tr.mean(axis=0), tr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (tr - mu) / sd, (te - mu) / sd


def cv_logistic_score(
    X: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0, ridge: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold, in-sample) linear predictors of a logistic score of the columns of ``X``.

    Folds are stratified by ``y``; missing values are imputed by the training fold's median and
    columns standardised by the training fold; a small L2 penalty (``ridge`` on standardised
    coefficients) keeps a fold with separation finite. The AUC of the out-of-fold predictor is
    the honest one; the in-sample one shows the optimism.
    """
    X = np.asarray(X, dtype=float)
    yv = _binary(y)
    n = yv.size
    k = int(folds)
    if min(int(yv.sum()), int((~yv).sum())) < k:
        raise BiomarkerError(
            f"response: {int(yv.sum())} responders and {int((~yv).sum())} non-responders; "
            f"{k}-fold cross-validation needs at least {k} of each"
        )
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=int)
    for cls in (True, False):
        idx = np.nonzero(yv == cls)[0]
        rng.shuffle(idx)
        fold[idx] = np.arange(idx.size) % k
    oof = np.empty(n)
    for f in range(k):
        tr, te = fold != f, fold == f
        a, b = _standardise(X[tr], X[te])
        fit = logistic_fit(a, yv[tr], ridge=ridge)
        oof[te] = fit.coef[0] + b @ fit.coef[1:]
    a, _ = _standardise(X, X)
    full = logistic_fit(a, yv, ridge=ridge)
    return oof, full.coef[0] + a @ full.coef[1:]
