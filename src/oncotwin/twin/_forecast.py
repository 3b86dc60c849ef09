"""Predictive draws of lesion sizes: Laplace parameter draws plus measurement noise."""

from __future__ import annotations

import numpy as np

from oncotwin.twin._model import predict, residual_sd

__all__ = [
    "QUANTILES",
    "parameter_draws",
    "posterior_draws",
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


def random_walk(
    days: np.ndarray, t_last: np.ndarray, sigma: float, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Log-size random walk from each lesion's last scan: (n_draws, n, k) deviations.

    ``days`` (n, k) sorted per lesion, ``t_last`` (n,). The deviation at day ``t`` has SD
    ``sigma * sqrt(t - t_last)`` (0 on or before the last scan), with independent increments
    between forecast days.
    """
    n, k = days.shape
    if sigma <= 0:
        return np.zeros((n_draws, n, k))
    ahead = np.maximum(days - t_last[:, None], 0.0)
    steps = np.diff(ahead, axis=1, prepend=0.0)
    z = rng.standard_normal((n_draws, n, k))
    return sigma * np.cumsum(np.sqrt(np.maximum(steps, 0.0))[None] * z, axis=2)


def holdout_predictive(
    pop,
    y: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    days: np.ndarray,
    classes,
    *,
    n_draws: int,
    rng: np.random.Generator,
    rw_sd: float | None = None,
):
    """Fit lesions on ``mask`` and draw their predictive sizes at ``days`` (n, k, sorted).

    Returns ``smooth`` and ``noisy`` (n_draws, n, k), the fit and the ESS. Used by the
    benchmark and by :func:`calibrate_random_walk`; ``rw_sd`` defaults to the population's.
    """
    from oncotwin.twin._fit import fit_lesions

    n = y.shape[0]
    on = np.array([1.0 if c else 0.0 for c in classes])
    stop = np.full(n, np.inf)
    mu = np.stack([pop.prior_mean(c) for c in classes])
    a, b = pop.additive_sd_mm, pop.proportional_sd
    fit = fit_lesions(y, t, mask, mu=mu, prec=pop.precision, a=a, b=b, on=on, t_stop=stop)
    draws, ess = posterior_draws(
        fit.theta,
        fit.cov,
        n_draws,
        rng,
        y=y,
        t=t,
        mask=mask,
        mu=mu,
        prec=pop.precision,
        a=a,
        b=b,
        on=on,
        t_stop=stop,
    )
    t_last = np.max(np.where(mask, t, -np.inf), axis=1)
    smooth = predict(
        draws,
        np.broadcast_to(days, (n_draws, *days.shape)),
        np.broadcast_to(on, (n_draws, n)),
        np.inf,
    )
    sd = pop.forecast_rw_sd if rw_sd is None else rw_sd
    smooth = smooth * np.exp(random_walk(days, t_last, sd, n_draws, rng))
    noisy = np.maximum(smooth + residual_sd(smooth, a, b) * rng.standard_normal(smooth.shape), 0)
    return smooth, noisy, fit, ess


def calibrate_random_walk(
    pop,
    y: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    classes,
    *,
    rng: np.random.Generator,
    min_scans: int = 6,
    n_draws: int = 1000,
    grid: np.ndarray | None = None,
) -> float:
    """The forecast random-walk SD [log-size per sqrt(day)] that calibrates the intervals.

    On the given (development) series with >= ``min_scans`` scans, the last two scans are
    held out and forecast from the rest; the SD on ``grid`` whose 80% and 95% intervals
    cover the held-out scans closest to nominal (sum of squared coverage errors) is returned.
    The model curve plus measurement noise under-covers at longer horizons (benchmark run 5);
    this is the missing between-scan variability, estimated on the population, not per patient.
    """
    grid = np.linspace(0.0, 0.02, 21) if grid is None else np.asarray(grid, float)
    n_scans = mask.sum(axis=1)
    sel = np.flatnonzero(n_scans >= min_scans)
    if sel.size < 10:
        return 0.0
    rows = np.arange(sel.size)
    ns = n_scans[sel]
    fit_mask = mask[sel].copy()
    fit_mask[rows, ns - 1] = False
    fit_mask[rows, ns - 2] = False
    days = np.stack([t[sel][rows, ns - 2], t[sel][rows, ns - 1]], axis=1)
    obs = np.stack([y[sel][rows, ns - 2], y[sel][rows, ns - 1]], axis=1)
    cls = [classes[i] for i in sel]
    smooth, _, _, _ = holdout_predictive(
        pop, y[sel], t[sel], fit_mask, days, cls, n_draws=n_draws, rng=rng, rw_sd=0.0
    )
    t_last = np.max(np.where(fit_mask, t[sel], -np.inf), axis=1)
    unit = random_walk(days, t_last, 1.0, n_draws, rng)
    eps = rng.standard_normal(smooth.shape)

    best, best_loss = 0.0, np.inf
    for sd in grid:
        s = smooth * np.exp(sd * unit)
        noisy = np.maximum(s + residual_sd(s, pop.additive_sd_mm, pop.proportional_sd) * eps, 0)
        loss = 0.0
        for level in (0.8, 0.95):
            lo, hi = np.quantile(noisy, [(1 - level) / 2, (1 + level) / 2], axis=0)
            loss += (np.mean((obs >= lo) & (obs <= hi)) - level) ** 2
        if loss < best_loss:
            best, best_loss = float(sd), loss
    return best
