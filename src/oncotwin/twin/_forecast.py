"""Predictive draws of lesion sizes: Laplace parameter draws plus measurement noise."""

from __future__ import annotations

import numpy as np

from oncotwin.twin._model import predict, residual_sd

__all__ = [
    "QUANTILES",
    "parameter_draws",
    "posterior_draws",
    "predictive_sizes",
    "progression_probability",
]

#: Quantiles of the forecast table: median, 80% and 95% central intervals.
QUANTILES: dict[str, float] = {
    "median_mm": 0.5,
    "lo80_mm": 0.1,
    "hi80_mm": 0.9,
    "lo95_mm": 0.025,
    "hi95_mm": 0.975,
}


def parameter_draws(
    theta: np.ndarray, cov: np.ndarray, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Draws from the Laplace posteriors ``N(theta_i, cov_i)``: shape (n_draws, n, 4)."""
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(4))
    z = rng.standard_normal((n_draws, *theta.shape))
    return theta[None] + np.einsum("nkl,dnl->dnk", chol, z)


def posterior_draws(
    theta: np.ndarray,
    cov: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
    *,
    y: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    mu: np.ndarray,
    prec: np.ndarray,
    a: float,
    b: float,
    on: np.ndarray,
    t_stop: np.ndarray,
    oversample: int = 4,
    widen: float = 1.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws (n_draws, n, 4) by importance resampling of a widened Laplace proposal.

    The Laplace (Gaussian) approximation is poor on the growth/kill ridge of the size model:
    its draws forecast growth the exact posterior does not (benchmark, ``docs/twin.md``).
    ``oversample x n_draws`` proposals from ``N(theta, widen^2 cov)`` are weighted by exact
    posterior / proposal density, per lesion, and ``n_draws`` of them are drawn by systematic
    resampling. Returns the draws and each lesion's effective sample size of the weights.
    """
    from oncotwin.twin._fit import _objective

    n = theta.shape[0]
    m_draws = oversample * n_draws
    prop = parameter_draws(theta, widen * widen * cov, m_draws, rng)
    log_p = -_objective(
        prop,
        y[None],
        t[None],
        mask[None].astype(float),
        on[None],
        t_stop[None],
        mu[None],
        prec,
        a,
        b,
    )
    dev = prop - theta[None]
    prec_q = np.linalg.inv(widen * widen * cov)
    log_q = -0.5 * np.einsum("dnk,nkl,dnl->dn", dev, prec_q, dev)
    log_w = np.where(np.isfinite(log_p), log_p - log_q, -np.inf)
    log_w -= log_w.max(axis=0, keepdims=True)
    w = np.exp(log_w)
    w /= w.sum(axis=0, keepdims=True)
    ess = 1.0 / np.sum(w * w, axis=0)
    cum = np.cumsum(w, axis=0)
    cum[-1] = 1.0
    u = (rng.random(n)[None, :] + np.arange(n_draws)[:, None]) / n_draws  # (n_draws, n)
    pick = np.stack([np.searchsorted(cum[:, i], u[:, i]) for i in range(n)], axis=1)
    return prop[pick, np.arange(n)[None, :]], ess


def predictive_sizes(
    draws: np.ndarray,
    days: np.ndarray,
    *,
    on: np.ndarray,
    t_stop: np.ndarray,
    a: float,
    b: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free and noisy sizes [mm] at ``days`` for each draw: two (n_draws, n, n_days).

    The noisy sizes add the fitted additive + proportional measurement error and are
    clipped at 0 mm (a diameter cannot be negative).
    """
    d, n = draws.shape[:2]
    t = np.broadcast_to(np.asarray(days, float), (d, n, len(days)))
    f = predict(draws, t, np.broadcast_to(on, (d, n)), np.broadcast_to(t_stop, (d, n)))
    noisy = f + residual_sd(f, a, b) * rng.standard_normal(f.shape)
    return f, np.maximum(noisy, 0.0)


def progression_probability(
    noisy: np.ndarray, smooth: np.ndarray, observed_nadir: np.ndarray
) -> np.ndarray:
    """P(size >= 1.2 x nadir and >= nadir + 5 mm) at each forecast day: shape (n, n_days).

    ``noisy`` and ``smooth`` are (n_draws, n, n_days) predictive and noise-free sizes, the
    days sorted; ``observed_nadir`` (n,) the smallest measured size. Per draw the nadir at a
    day is the smaller of the observed nadir and the draw's noise-free trajectory up to that
    day (the true size the later scans are compared with).
    """
    nadir = np.minimum(observed_nadir[None, :, None], np.minimum.accumulate(smooth, axis=-1))
    prog = (noisy >= 1.2 * nadir) & (noisy >= nadir + 5.0)
    return prog.mean(axis=0)
