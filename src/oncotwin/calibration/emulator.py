"""Gaussian-process emulators of the simulator's summary targets, one per target.

A calibration run simulates a few hundred parameter sets (``theta``, the log-multipliers of the
free calibration quantities) and stores each target's simulated value. The emulator learns
``theta -> target`` so that history matching and the posterior can evaluate millions of
parameter sets without the simulator.

- Targets are emulated on their natural link scale (:func:`to_link`): the logit of a rate
  (continuity-corrected at the simulation's patients per arm, so 0% and 100% stay finite), the
  log of a median or hazard ratio.
- One Gaussian process per target (scikit-learn ``GaussianProcessRegressor``): constant x
  Matern 5/2 kernel with one length scale per input (ARD) plus a white-noise term for the
  Monte Carlo noise of the runs; inputs rescaled to the unit cube of the prior box, outputs
  standardised. :meth:`Emulator.predict` returns the mean and the variance of the *latent*
  function (the white noise left out): the emulator's own uncertainty ``V_em``.
- :meth:`Emulator.scores`: k-fold cross-validated R^2 per target (with the fitted kernel's
  hyperparameters), the report's "emulator scores".
- :meth:`Emulator.jax_predictor`: the same predictive mean and variance in ``jax.numpy`` from
  the fitted hyperparameters and training data, differentiable, for NUTS
  (:mod:`oncotwin.calibration.posterior`).

Cost: fitting is O(n^3) per target (n training runs; ~1 s for 300 runs in 3 dimensions) and
the jax predictor is O(n^2) per target per evaluation (the variance's triangular solve), so a
few thousand runs per target is the practical ceiling.

Needs the optional dependencies (``pip install 'oncotwin[calibrate]'``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError

__all__ = ["Emulator", "from_link", "require", "require_emulated", "to_link"]

_INSTALL = "pip install 'oncotwin[calibrate]'"
_SQRT5 = math.sqrt(5.0)


def require(module: str) -> Any:
    """Import an optional calibration dependency, or fail with one clear message.

    Examples
    --------
    >>> require("numpy").__name__
    'numpy'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise OncotwinError(
            f"calibration needs the optional package {module.split('.')[0]!r}; "
            f"install it with: {_INSTALL}"
        ) from exc


def require_emulated(targets: Sequence[Any], emulator: Emulator, who: str) -> None:
    """Refuse an empty target list (``who`` needs at least one) and targets the emulator has
    no model of, naming them."""
    if not targets:
        raise OncotwinError(f"{who} needs at least one target")
    missing = [t.target_id for t in targets if t.target_id not in emulator.names]
    if missing:
        raise OncotwinError(
            f"the emulator has no model of target(s) {', '.join(missing)}; fit it on "
            "every target's simulated values"
        )


def to_link(law: str, values: Any, n: int | float | None = None) -> np.ndarray:
    """Values of a target on its natural link scale.

    ``binomial`` rates are given in percent (as in a trial summary) and map to the logit of
    the continuity-corrected proportion ``(k + 0.5) / (n + 1)`` with ``k = p n`` when the
    number of patients ``n`` is given (so 0% and 100% stay finite), else to the logit of the
    proportion clipped to [1e-4, 1 - 1e-4]. ``lognormal`` (medians) and ``normal_log``
    (hazard ratios) map to the natural log. Non-finite values stay NaN.

    Examples
    --------
    >>> round(float(to_link("binomial", 50.0, n=100)), 6)
    0.0
    >>> round(float(to_link("lognormal", math.e)), 6)
    1.0
    """
    v = np.asarray(values, dtype=float)
    if law == "binomial":
        p = v / 100.0
        if n is not None:
            p = (p * n + 0.5) / (n + 1.0)
        p = np.clip(p, 1e-4, 1 - 1e-4)
        with np.errstate(invalid="ignore"):
            return np.log(p) - np.log1p(-p)
    if law in ("lognormal", "normal_log"):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(v)
        return np.where(v > 0, out, np.nan)
    raise OncotwinError(f"law={law!r}; a target's law is 'binomial', 'lognormal' or 'normal_log'")


def from_link(law: str, values: Any) -> np.ndarray:
    """Inverse of :func:`to_link` (without the continuity correction): percent or value.

    Examples
    --------
    >>> float(from_link("binomial", 0.0))
    50.0
    """
    v = np.asarray(values, dtype=float)
    if law == "binomial":
        return 100.0 / (1.0 + np.exp(-v))
    if law in ("lognormal", "normal_log"):
        return np.exp(v)
    raise OncotwinError(f"law={law!r}; a target's law is 'binomial', 'lognormal' or 'normal_log'")


@dataclass(frozen=True)
class _TargetGP:
    """One fitted target: training data, hyperparameters and factorisation (unit-cube inputs)."""

    name: str
    rows: np.ndarray  # indices of the training rows used (finite outputs)
    y_mean: float
    y_sd: float
    amplitude: float  # constant kernel (signal variance, standardised units)
    length_scales: np.ndarray  # (d,)
    noise: float  # white-noise variance (standardised units)
    chol: np.ndarray  # (n, n) lower Cholesky factor of K + noise I
    alpha: np.ndarray  # (n,) (K + noise I)^-1 y_std


def _matern52(a: np.ndarray, b: np.ndarray, ls: np.ndarray, amp: float) -> np.ndarray:
    d = a[:, None, :] / ls - b[None, :, :] / ls
    r = np.sqrt(np.sum(d * d, axis=-1))
    return amp * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-_SQRT5 * r)


class Emulator:
    """One Gaussian process per target on the free calibration quantities ``theta``.

    Parameters
    ----------
    bounds
        ``(d, 2)`` lower and upper bound of each input (the prior box); inputs are rescaled
        to the unit cube with them. Default: the range of the training inputs.
    restarts
        Restarts of the kernel-hyperparameter optimiser per target (from random starts).
    folds
        Folds of the cross-validation behind :meth:`scores` (0: none).
    seed
        Seed of the optimiser restarts and of the fold split.
    """

    def __init__(
        self,
        bounds: Sequence[Sequence[float]] | np.ndarray | None = None,
        *,
        restarts: int = 2,
        folds: int = 5,
        seed: int = 0,
    ) -> None:
        self.bounds = None if bounds is None else np.asarray(bounds, dtype=float)
        self.restarts = int(restarts)
        self.folds = int(folds)
        self.seed = int(seed)
        self.names: list[str] = []
        self.inputs: list[str] = []
        self._gps: list[_TargetGP] = []
        self._X: np.ndarray | None = None
        self._scores: pd.DataFrame | None = None

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        names: Sequence[str],
        *,
        inputs: Sequence[str] | None = None,
    ) -> Emulator:
        """Fit one GP per column of ``Y`` (already on the link scale, see :func:`to_link`).

        ``X`` is ``(n, d)`` (theta of each run), ``Y`` is ``(n, m)``; rows where a target is
        NaN are left out of that target's fit. ``inputs`` names the columns of ``X``.
        """
        require("sklearn")
        from threadpoolctl import threadpool_limits

        # small matrices: one BLAS thread is ~50x faster than oversubscribed threads
        with threadpool_limits(limits=1 if len(np.atleast_2d(X)) < 1000 else None):
            return self._fit(X, Y, names, inputs)

    def _fit(
        self, X: np.ndarray, Y: np.ndarray, names: Sequence[str], inputs: Sequence[str] | None
    ) -> Emulator:
        from sklearn import gaussian_process as gp_mod
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import kernels

        X = np.atleast_2d(np.asarray(X, dtype=float))
        Y = np.asarray(Y, dtype=float)
        if Y.ndim == 1:
            Y = Y[:, None]
        names = list(names)
        if Y.shape[0] != X.shape[0]:
            raise OncotwinError(
                f"X has {X.shape[0]} runs but Y has {Y.shape[0]}; give one row of Y per run"
            )
        if Y.shape[1] != len(names):
            raise OncotwinError(f"Y has {Y.shape[1]} columns but names has {len(names)}")
        if not np.all(np.isfinite(X)):
            raise OncotwinError("X (theta of the runs) has NaN or infinite values; drop them")
        d = X.shape[1]
        if self.bounds is None:
            lo, hi = X.min(axis=0), X.max(axis=0)
            hi = np.where(hi > lo, hi, lo + 1.0)
            self.bounds = np.column_stack([lo, hi])
        if self.bounds.shape != (d, 2) or np.any(self.bounds[:, 1] <= self.bounds[:, 0]):
            raise OncotwinError(
                f"bounds must be ({d}, 2) with lower < upper for each of the {d} inputs"
            )
        self.inputs = list(inputs) if inputs is not None else [f"theta_{i}" for i in range(d)]
        if len(self.inputs) != d:
            raise OncotwinError(f"inputs names {len(self.inputs)} columns but X has {d}")
        U = self._unit(X)
        rng = np.random.default_rng(self.seed)
        self.names, self._gps, self._X = names, [], U
        for j, name in enumerate(names):
            rows = np.flatnonzero(np.isfinite(Y[:, j]))
            if rows.size < max(5, d + 2):
                raise OncotwinError(
                    f"target {name!r} has only {rows.size} finite simulated values; the "
                    "emulator needs at least d + 2 (simulate more parameter sets)"
                )
            y = Y[rows, j]
            mu, sd = float(y.mean()), float(y.std())
            sd = sd if sd > 1e-12 else 1.0
            ys = (y - mu) / sd
            kernel = kernels.ConstantKernel(1.0, (1e-3, 1e3)) * kernels.Matern(
                length_scale=np.full(d, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
            ) + kernels.WhiteKernel(1e-2, (1e-8, 1.0))
            gpr = gp_mod.GaussianProcessRegressor(
                kernel=kernel,
                normalize_y=False,
                n_restarts_optimizer=self.restarts,
                random_state=int(rng.integers(2**31 - 1)),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gpr.fit(U[rows], ys)
            k = gpr.kernel_
            amp = float(k.k1.k1.constant_value)
            ls = np.atleast_1d(np.asarray(k.k1.k2.length_scale, dtype=float))
            ls = np.broadcast_to(ls, (d,)).copy()
            noise = float(k.k2.noise_level)
            self._gps.append(self._factor(name, rows, U[rows], ys, mu, sd, amp, ls, noise))
        self._scores = self._cross_validate(Y) if self.folds >= 2 else None
        return self

    @staticmethod
    def _factor(
        name: str,
        rows: np.ndarray,
        U: np.ndarray,
        ys: np.ndarray,
        mu: float,
        sd: float,
        amp: float,
        ls: np.ndarray,
        noise: float,
    ) -> _TargetGP:
        K = _matern52(U, U, ls, amp) + (noise + 1e-10) * np.eye(len(U))
        L = np.linalg.cholesky(K)
        alpha = np.linalg.solve(L.T, np.linalg.solve(L, ys))
        return _TargetGP(name, rows, mu, sd, amp, ls, noise, L, alpha)

    def _unit(self, X: np.ndarray) -> np.ndarray:
        assert self.bounds is not None
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        return (np.atleast_2d(np.asarray(X, dtype=float)) - lo) / (hi - lo)

    def _check_fitted(self) -> None:
        if not self._gps:
            raise OncotwinError("the emulator is not fitted; call fit(X, Y, names) first")

    # ------------------------------------------------------------------ prediction
    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and latent variance ``(n, m)`` at ``X`` (link scale).

        The variance is the emulator's own uncertainty about the noise-free simulator output
        (the fitted white noise, i.e. the Monte Carlo noise of single runs, is left out).
        """
        self._check_fitted()
        assert self._X is not None
        U = self._unit(X)
        means, vars_ = [], []
        for gp in self._gps:
            m, v = _predict_one(gp, self._X[gp.rows], U)
            means.append(m)
            vars_.append(v)
        return np.column_stack(means), np.column_stack(vars_)

    def noise_variance(self) -> pd.Series:
        """Fitted white-noise variance per target (link scale): the runs' Monte Carlo noise."""
        self._check_fitted()
        return pd.Series({g.name: g.noise * g.y_sd**2 for g in self._gps}, name="noise_var")

    def _cross_validate(self, Y: np.ndarray) -> pd.DataFrame:
        """k-fold R^2 per target with the fitted hyperparameters (refactored per fold)."""
        assert self._X is not None
        rng = np.random.default_rng(self.seed + 1)
        out = []
        for gp in self._gps:
            rows = gp.rows
            y = Y[rows, self.names.index(gp.name)]
            fold = rng.permutation(len(rows)) % self.folds
            pred = np.empty(len(rows))
            pvar = np.empty(len(rows))
            for f in range(self.folds):
                tr, te = fold != f, fold == f
                ys = (y[tr] - gp.y_mean) / gp.y_sd
                sub = self._factor(
                    gp.name, rows[tr], self._X[rows[tr]], ys, gp.y_mean, gp.y_sd,
                    gp.amplitude, gp.length_scales, gp.noise,
                )  # fmt: skip
                m, v = _predict_one(sub, self._X[rows[tr]], self._X[rows[te]])
                pred[te], pvar[te] = m, v + gp.noise * gp.y_sd**2
            resid = y - pred
            ss = float(np.sum((y - y.mean()) ** 2))
            z = np.abs(resid) / np.sqrt(pvar)
            out.append(
                {
                    "target": gp.name,
                    "r2": 1.0 - float(np.sum(resid**2)) / ss if ss > 0 else float("nan"),
                    "rmse": float(np.sqrt(np.mean(resid**2))),
                    "coverage95": float(np.mean(z <= 1.96)),
                    "noise_sd": math.sqrt(gp.noise) * gp.y_sd,
                    "runs": len(rows),
                }
            )
        return pd.DataFrame(out).set_index("target")

    def scores(self) -> pd.DataFrame:
        """Held-out scores per target: k-fold R^2, RMSE, 95% interval coverage, noise SD.

        ``coverage95`` is the share of held-out runs inside the emulator's 95% predictive
        interval (latent variance + fitted noise); near 0.95 means honest emulator variances.
        """
        self._check_fitted()
        if self._scores is None:
            raise OncotwinError("scores need folds >= 2; refit with Emulator(folds=5)")
        return self._scores.copy()

    # ------------------------------------------------------------------ jax
    def jax_predictor(self, variance: bool = True) -> Callable[[Any], tuple[Any, Any]]:
        """A ``jax.numpy`` function ``theta (d,) -> (mean (m,), variance (m,))``.

        It re-implements :meth:`predict` from the fitted kernel hyperparameters and training
        data (targets with fewer finite runs are padded with far-away rows that carry no
        weight; the variance uses the precomputed inverse Cholesky factor), so it is
        differentiable and jit-compilable for NUTS. ``variance=False`` returns zeros for the
        variance and skips its O(n^2) cost (for emulators far more precise than the data:
        compare :meth:`scores`' RMSE with the targets' observation SD).
        """
        self._check_fitted()
        require("jax")
        import jax.numpy as jnp

        assert self._X is not None and self.bounds is not None
        n_max = max(len(g.rows) for g in self._gps)
        m, d = len(self._gps), self._X.shape[1]
        Xtr = np.full((m, n_max, d), 1e6)
        alpha = np.zeros((m, n_max))
        Linv = np.zeros((m, n_max, n_max))  # inverse Cholesky factors (matvec, not a solve)
        for j, g in enumerate(self._gps):
            k = len(g.rows)
            Xtr[j, :k] = self._X[g.rows]
            alpha[j, :k] = g.alpha
            Linv[j, :k, :k] = np.linalg.solve(g.chol, np.eye(k))
        ls = np.stack([g.length_scales for g in self._gps])  # (m, d)
        amp = np.array([g.amplitude for g in self._gps])
        y_mean = np.array([g.y_mean for g in self._gps])
        y_sd = np.array([g.y_sd for g in self._gps])
        lo, width = self.bounds[:, 0], self.bounds[:, 1] - self.bounds[:, 0]
        Xs = jnp.asarray(Xtr / ls[:, None, :])
        c = (jnp.asarray(a) for a in (alpha, Linv, ls, amp, y_mean, y_sd, lo, width))
        alpha_j, Linv_j, ls_j, amp_j, mu_j, sd_j, lo_j, w_j = c

        def predict(theta: Any) -> tuple[Any, Any]:
            u = (jnp.asarray(theta) - lo_j) / w_j
            diff = Xs - (u[None, :] / ls_j)[:, None, :]  # (m, n, d)
            r = jnp.sqrt(jnp.sum(diff * diff, axis=-1) + 1e-12)
            ks = amp_j[:, None] * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * jnp.exp(-_SQRT5 * r)
            mean = jnp.sum(ks * alpha_j, axis=-1)
            if not variance:
                return mu_j + sd_j * mean, jnp.zeros_like(mean)
            v = jnp.einsum("mij,mj->mi", Linv_j, ks)
            var = jnp.clip(amp_j - jnp.sum(v * v, axis=-1), 1e-12, None)
            return mu_j + sd_j * mean, sd_j**2 * var

        return predict


def _predict_one(gp: _TargetGP, Utr: np.ndarray, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ks = _matern52(U, Utr, gp.length_scales, gp.amplitude)
    mean = ks @ gp.alpha
    v = np.linalg.solve(gp.chol, ks.T)
    var = np.clip(gp.amplitude - np.sum(v * v, axis=0), 1e-12, None)
    return gp.y_mean + gp.y_sd * mean, gp.y_sd**2 * var
