"""MAP + Laplace fits of many lesions at once, and the population prior they share.

The fitter is a Levenberg-Marquardt iteration **batched over lesions**: every array carries
a leading lesion axis, each iteration solves all the 4 x 4 systems with one
:func:`numpy.linalg.solve`, and each lesion accepts or rejects its own step. Nothing loops
over patients in Python. The Laplace covariance is the inverse of the Fisher (Gauss-Newton)
Hessian at the mode, built from the analytic Jacobian of :mod:`oncotwin.twin._model`.

The population prior (:class:`TwinPopulation`) is fitted by a Laplace-approximated EM: fit
every lesion's mode under the current prior, then set the prior mean to the mean of the
modes (the drug potency ``log K_D`` per drug class), the prior variance to the variance of
the modes plus their mean Laplace variance, and the additive and proportional residual SDs
to their maximum-likelihood values given the fitted curves; repeat.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from oncotwin.errors import OncotwinError
from oncotwin.twin._model import PARAM_NAMES, jacobian, residual_sd

__all__ = ["MapFit", "TwinPopulation", "fit_lesions", "fit_population"]

_MAX_STEP = 2.0  # largest change of a log parameter per iteration (e-fold 7.4)


@dataclass(frozen=True)
class TwinPopulation:
    """The population prior of the twin's parameters and its residual-error model.

    Attributes
    ----------
    mean : tuple of float
        Prior means of ``log y0, log K_L, log K_D, log lambda`` (the ``log K_D`` entry is
        the mean over the classes; a regimen uses :attr:`log_kd_by_class`).
    log_sd : tuple of float
        Prior SDs of the four log parameters (between-lesion variability).
    log_kd_by_class : dict
        Prior mean of ``log K_D`` [1/day] per drug class the development data hold.
    additive_sd_mm, proportional_sd : float
        Measurement error ``sd = sqrt(a^2 + (b y)^2)``.
    forecast_rw_sd : float
        SD of a log-size random walk added to forecasts after the last scan [per sqrt(day)],
        calibrated on held-out scans (:func:`~oncotwin.twin._forecast.calibrate_random_walk`).
    n_lesions : int
        Number of lesion series the prior was fitted on.
    source : str
        Where the prior comes from (data, folds, date).
    """

    mean: tuple[float, float, float, float]
    log_sd: tuple[float, float, float, float]
    log_kd_by_class: dict[str, float]
    additive_sd_mm: float
    proportional_sd: float
    corr: tuple[tuple[float, ...], ...] = (
        (1.0, 0.0, 0.0, 0.0),
        (0.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, 1.0, 0.0),
        (0.0, 0.0, 0.0, 1.0),
    )
    forecast_rw_sd: float = 0.0
    n_lesions: int = 0
    source: str = ""
    iterations: int = 0
    history: list[float] = field(default_factory=list, compare=False)

    def prior_mean(self, classes: Sequence[str]) -> np.ndarray:
        """Prior mean of theta for a regimen whose drugs fall in ``classes`` (additive potency)."""
        mu = np.array(self.mean, float)
        known = [c for c in classes if c in self.log_kd_by_class]
        if known:
            mu[2] = math.log(sum(math.exp(self.log_kd_by_class[c]) for c in known))
        return mu

    @property
    def covariance(self) -> np.ndarray:
        """Prior covariance of the four log parameters."""
        sd = np.asarray(self.log_sd, float)
        return np.asarray(self.corr, float) * np.outer(sd, sd)

    @property
    def precision(self) -> np.ndarray:
        """Prior precision matrix."""
        return np.linalg.inv(self.covariance)

    def to_json(self, path: str | Path) -> Path:
        """Write the prior as JSON (round-trips through :meth:`from_json`)."""
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> TwinPopulation:
        """Read a prior written by :meth:`to_json`."""
        rec = json.loads(Path(path).read_text())
        rec["mean"] = tuple(rec["mean"])
        rec["log_sd"] = tuple(rec["log_sd"])
        rec["corr"] = tuple(tuple(r) for r in rec.get("corr", np.eye(4).tolist()))
        return cls(**rec)

    def summary_rows(self) -> list[dict[str, object]]:
        """One row per parameter: name, typical value (exp of the mean), unit, log-SD."""
        from oncotwin.twin._model import PARAM_UNITS

        rows = []
        for k, name in enumerate(PARAM_NAMES):
            rows.append(
                {
                    "parameter": name.removeprefix("log_"),
                    "typical": math.exp(self.mean[k]),
                    "unit": PARAM_UNITS[k],
                    "log_sd": self.log_sd[k],
                }
            )
        for c, v in self.log_kd_by_class.items():
            rows.append(
                {
                    "parameter": f"K_D[{c}]",
                    "typical": math.exp(v),
                    "unit": "1/day",
                    "log_sd": self.log_sd[2],
                }
            )
        return rows


@dataclass(frozen=True)
class MapFit:
    """Modes and Laplace covariances of a batch of lesions.

    ``theta`` (n, 4), ``cov`` (n, 4, 4), ``objective`` (n,) the negative log posterior at the
    mode, ``converged`` (n,) bool, ``iterations`` the LM iterations used.
    """

    theta: np.ndarray
    cov: np.ndarray
    objective: np.ndarray
    converged: np.ndarray
    iterations: int


def _objective(theta, y, t, mask, on, t_stop, mu, prec, a, b):
    from oncotwin.twin._model import predict

    f = predict(theta, t, on, t_stop)
    s = residual_sd(f, a, b)
    r = y - f
    data = 0.5 * np.sum(mask * (r * r / (s * s) + 2.0 * np.log(s)), axis=-1)
    dev = theta - mu
    return data + 0.5 * np.einsum("...k,kl,...l->...", dev, prec, dev)


def fit_lesions(
    y: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    *,
    mu: np.ndarray,
    prec: np.ndarray,
    a: float,
    b: float,
    on: np.ndarray | None = None,
    t_stop: np.ndarray | None = None,
    theta0: np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-7,
) -> MapFit:
    """MAP estimates and Laplace covariances of ``n`` lesions at once.

    Parameters
    ----------
    y, t, mask : ndarray, shape (n, m)
        Diameters [mm], days, and which entries are measurements.
    mu : ndarray, shape (n, 4)
        Prior means (per lesion: the drug class sets the ``log K_D`` entry).
    prec : ndarray, shape (4, 4)
        Prior precision.
    a, b : float
        Additive [mm] and proportional residual SDs.
    on, t_stop : ndarray, shape (n,), optional
        Drug on (1) or off (0), and the day the regimen stops (``inf`` = ongoing).
    theta0 : ndarray, shape (n, 4), optional
        Starting point (default: the prior mean with ``y0`` the scan nearest day 0).

    Examples
    --------
    >>> import numpy as np
    >>> from oncotwin.twin._model import predict
    >>> t = np.array([[-10.0, 42, 84, 126, 168, 210]])
    >>> true = np.log([[40.0, 0.004, 0.03, 0.02]])
    >>> y = predict(true, t)
    >>> fit = fit_lesions(y, t, np.ones_like(t, bool), mu=true, prec=np.eye(4), a=0.5, b=0.02)
    >>> bool(np.allclose(fit.theta, true, atol=1e-3))
    True
    """
    y = np.asarray(y, float)
    t = np.asarray(t, float)
    mask = np.asarray(mask, bool)
    n = y.shape[0]
    on = np.ones(n) if on is None else np.asarray(on, float)
    t_stop = np.full(n, np.inf) if t_stop is None else np.asarray(t_stop, float)
    mu = np.broadcast_to(np.asarray(mu, float), (n, 4))
    if theta0 is None:
        theta = mu.copy()
        near = np.argmin(np.where(mask, np.abs(t), np.inf), axis=1)
        y_near = y[np.arange(n), near]
        theta[:, 0] = np.log(np.maximum(y_near, 1.0))
    else:
        theta = np.array(theta0, float)
    mf = mask.astype(float)
    obj = _objective(theta, y, t, mf, on, t_stop, mu, prec, a, b)
    damp = np.full(n, 1e-2)
    active = np.ones(n, bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - iterations are reported
        f, jac = jacobian(theta, t, on, t_stop)
        s = residual_sd(f, a, b)
        r = y - f
        dsdf = b * b * f / s
        gf = mf * (-r / (s * s) + (1.0 - r * r / (s * s)) * dsdf / s)
        grad = np.einsum("nm,nmk->nk", gf, jac) + (theta - mu) @ prec
        w = mf * (1.0 + 2.0 * dsdf * dsdf) / (s * s)
        hess = np.einsum("nm,nmk,nml->nkl", w, jac, jac) + prec
        diag = np.einsum("nkk->nk", hess)
        lhs = hess + damp[:, None, None] * (diag[:, :, None] * np.eye(4))
        step = -np.linalg.solve(lhs, grad[..., None])[..., 0]
        step = np.clip(step, -_MAX_STEP, _MAX_STEP)
        step[~active] = 0.0
        trial = theta + step
        obj_trial = _objective(trial, y, t, mf, on, t_stop, mu, prec, a, b)
        accept = active & np.isfinite(obj_trial) & (obj_trial <= obj)
        theta = np.where(accept[:, None], trial, theta)
        gain = np.where(accept, obj - obj_trial, 0.0)
        obj = np.where(accept, obj_trial, obj)
        damp = np.where(accept, np.maximum(damp * 0.3, 1e-9), damp * 10.0)
        small = (np.max(np.abs(step), axis=1) < tol) | (accept & (gain < tol * 1e-2))
        active &= ~(small | (damp > 1e10))
        if not active.any():
            break
    f, jac = jacobian(theta, t, on, t_stop)
    s = residual_sd(f, a, b)
    dsdf = b * b * f / s
    w = mf * (1.0 + 2.0 * dsdf * dsdf) / (s * s)
    hess = np.einsum("nm,nmk,nml->nkl", w, jac, jac) + prec
    cov = np.linalg.inv(hess)
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    return MapFit(theta, cov, obj, ~active, it)


def _fit_residual(y, f, mask) -> tuple[float, float]:
    from scipy.optimize import minimize

    yv, fv = y[mask], f[mask]

    def nll(p: np.ndarray) -> float:
        s2 = math.exp(2 * p[0]) + math.exp(2 * p[1]) * fv * fv
        return float(0.5 * np.sum((yv - fv) ** 2 / s2 + np.log(s2)))

    res = minimize(nll, np.log([2.0, 0.1]), method="Nelder-Mead", options={"xatol": 1e-4})
    return float(math.exp(res.x[0])), float(math.exp(res.x[1]))


def fit_population(
    y: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    classes: Sequence[Sequence[str]],
    *,
    t_stop: np.ndarray | None = None,
    n_iter: int = 40,
    source: str = "",
    start: TwinPopulation | None = None,
    covariance: str = "diagonal",
    fixed_mean: Mapping[str, float] | None = None,
) -> TwinPopulation:
    """Fit the population prior to many lesion series (Laplace EM; see the module notes).

    Parameters
    ----------
    y, t, mask : ndarray, shape (n, m)
        The lesion series (padded; ``mask`` marks measurements).
    classes : sequence of sequence of str
        Per lesion, the drug classes of its regimen (empty = no drug).
    n_iter : int
        EM iterations.
    covariance : {"diagonal", "full"}
        Shape of the prior covariance. Diagonal is the default by measurement: with the
        full covariance the growth and kill rates become strongly correlated and the
        forecasts of the last two scans of the development series were worse (in-sample
        prior, 307 series: median absolute error 3.3/7.3 mm vs 3.0/5.8 mm at the two
        horizons; ``docs/twin.md``).
    """
    if covariance not in ("diagonal", "full"):
        raise OncotwinError(f"covariance must be 'diagonal' or 'full', got {covariance!r}")
    y = np.asarray(y, float)
    n = y.shape[0]
    if n < 10:
        raise OncotwinError(f"a population prior needs >= 10 lesion series, got {n}")
    cls_sets = [tuple(sorted(set(c))) for c in classes]
    all_classes = sorted({c for cs in cls_sets for c in cs})
    on = np.array([1.0 if cs else 0.0 for cs in cls_sets])
    if start is None:
        baseline = y[np.arange(n), np.argmin(np.where(mask, np.abs(t), np.inf), axis=1)]
        mean = np.array(
            [
                np.log(np.median(np.maximum(baseline, 1.0))),
                np.log(0.003),
                np.log(0.01),
                np.log(0.01),
            ]
        )
        kd = {c: math.log(0.01) for c in all_classes}
        omega = np.eye(4)
        a, b = 2.0, 0.1
    else:
        mean = np.array(start.mean)
        kd = {c: start.log_kd_by_class.get(c, start.mean[2]) for c in all_classes}
        omega = start.covariance
        a, b = start.additive_sd_mm, start.proportional_sd
    fixed = dict(fixed_mean or {})
    unknown = sorted(set(fixed) - {PARAM_NAMES[k] for k in (0, 1, 3)})
    if unknown:
        raise OncotwinError(
            f"fixed_mean: unknown or class-specific entries {unknown}; fixable: "
            + ", ".join(PARAM_NAMES[k] for k in (0, 1, 3))
        )
    for name, value in fixed.items():
        mean[PARAM_NAMES.index(name)] = float(value)
    theta = None
    history: list[float] = []

    def prior_means() -> np.ndarray:
        mu = np.tile(mean, (n, 1))
        for i, cs in enumerate(cls_sets):
            if cs:
                mu[i, 2] = math.log(sum(math.exp(kd[c]) for c in cs))
        return mu

    for _ in range(n_iter):
        mu = prior_means()
        prec = np.linalg.inv(omega)
        fit = fit_lesions(
            y, t, mask, mu=mu, prec=prec, a=a, b=b, on=on, t_stop=t_stop, theta0=theta
        )
        theta = fit.theta
        history.append(float(np.sum(fit.objective)))
        for k in (0, 1, 3):
            if PARAM_NAMES[k] not in fixed:
                mean[k] = float(np.mean(theta[:, k]))
        for c in all_classes:  # single-class lesions set their class's potency
            sel = np.array([cs == (c,) for cs in cls_sets])
            if sel.any():
                kd[c] = float(np.mean(theta[sel, 2]))
        treated = on > 0
        mean[2] = float(np.mean(theta[treated, 2])) if treated.any() else mean[2]
        dev = theta - prior_means()
        use = treated if treated.any() else np.ones(n, bool)
        omega = np.einsum("nk,nl->kl", dev[use], dev[use]) / use.sum() + fit.cov[use].mean(0)
        omega = 0.5 * (omega + omega.T) + 1e-6 * np.eye(4)
        if covariance == "diagonal":
            omega = np.diag(np.diag(omega))
        from oncotwin.twin._model import predict

        f = predict(theta, t, on, np.full(n, np.inf) if t_stop is None else t_stop)
        a, b = _fit_residual(y, f, np.asarray(mask, bool))
    sd = np.sqrt(np.diag(omega))
    corr = omega / np.outer(sd, sd)
    return TwinPopulation(
        mean=tuple(float(x) for x in mean),  # type: ignore[arg-type]
        log_sd=tuple(float(x) for x in sd),  # type: ignore[arg-type]
        corr=tuple(tuple(float(x) for x in row) for row in corr),
        log_kd_by_class={c: float(v) for c, v in kd.items()},
        additive_sd_mm=a,
        proportional_sd=b,
        n_lesions=n,
        source=source,
        iterations=n_iter,
        history=history,
    )


def population_from_mapping(rec: Mapping[str, object]) -> TwinPopulation:
    """Build a :class:`TwinPopulation` from a plain mapping (as stored in a twin directory)."""
    r = dict(rec)
    r["mean"] = tuple(r["mean"])  # type: ignore[arg-type]
    r["log_sd"] = tuple(r["log_sd"])  # type: ignore[arg-type]
    r["corr"] = tuple(tuple(x) for x in r.get("corr", np.eye(4).tolist()))  # type: ignore[union-attr]
    return TwinPopulation(**r)  # type: ignore[arg-type]
