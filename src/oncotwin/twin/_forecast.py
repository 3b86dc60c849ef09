"""Predictive draws of lesion sizes: Laplace parameter draws plus measurement noise."""

from __future__ import annotations

import numpy as np

from oncotwin.twin._model import predict, residual_sd

__all__ = ["QUANTILES", "parameter_draws", "predictive_sizes", "progression_probability"]

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
