"""Calibration statistics: emulator accuracy, implausibility arithmetic, NUTS on known laws."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("jax")
pytest.importorskip("numpyro")

from oncotwin.calibration.emulator import Emulator, from_link, to_link
from oncotwin.calibration.history import (
    HistoryMatch,
    NoMatchWarning,
    mc_variance,
    observation_variance,
)
from oncotwin.calibration.posterior import PosteriorSampler
from oncotwin.errors import OncotwinError


def _target(tid: str, observed: float, law: str, n: int = 100, se: float = math.nan, **kw):
    return SimpleNamespace(target_id=tid, observed=observed, law=law, n=n, se=se, **kw)


@pytest.fixture(scope="module")
def identity_emulator() -> Emulator:
    """Two targets equal to theta_0 and theta_1 (noise-free): f(theta) = theta."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, (40, 2))
    return Emulator([[-3, 3], [-3, 3]], restarts=0, folds=0).fit(
        X, X.copy(), ["hr", "orr"], inputs=["a", "b"]
    )


def test_emulator_learns_a_known_function_and_reports_held_out_r2() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (80, 2))

    def f(x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.sin(2 * x[:, 0]) + x[:, 1] ** 2, x[:, 0] * x[:, 1]])

    em = Emulator([[-1, 1], [-1, 1]], restarts=0, folds=4).fit(
        X, f(X) + rng.normal(0, 0.02, (80, 2)), ["s", "p"]
    )
    scores = em.scores()
    assert list(scores.index) == ["s", "p"]
    assert (scores["r2"] > 0.97).all(), scores
    assert np.allclose(em.noise_variance(), 0.02**2, rtol=1.0)  # the noise it was given
    Xt = rng.uniform(-0.9, 0.9, (50, 2))
    mean, var = em.predict(Xt)
    assert np.sqrt(np.mean((mean - f(Xt)) ** 2)) < 0.05
    assert (var > 0).all() and (np.sqrt(var) < 0.1).all()
    # the jax re-implementation gives the same mean and variance
    import jax

    jax.config.update("jax_enable_x64", True)
    pj = jax.jit(em.jax_predictor())
    for x, m, v in zip(Xt[:5], mean[:5], var[:5], strict=True):
        mj, vj = pj(x)
        assert np.allclose(mj, m, atol=1e-8) and np.allclose(vj, v, rtol=1e-3, atol=1e-9)
    # far from the data the emulator admits it does not know
    _, far_var = em.predict(np.array([[5.0, 5.0]]))
    assert (far_var > 10 * var.max()).all()


def test_emulator_refuses_bad_input() -> None:
    with pytest.raises(OncotwinError, match="one row of Y per run"):
        Emulator().fit(np.zeros((10, 2)), np.zeros((9, 1)), ["a"])
    with pytest.raises(OncotwinError, match="not fitted"):
        Emulator().predict(np.zeros((1, 2)))
    with pytest.raises(OncotwinError, match="law='poisson'"):
        to_link("poisson", 1.0)


def test_link_scales() -> None:
    assert to_link("binomial", 50.0, n=10) == pytest.approx(0.0)
    assert np.isfinite(to_link("binomial", [0.0, 100.0], n=20)).all()  # corrected, finite
    assert from_link("binomial", to_link("binomial", 30.0)) == pytest.approx(30.0)
    assert to_link("normal_log", 0.5) == pytest.approx(math.log(0.5))


def test_observation_and_monte_carlo_variances() -> None:
    # logit variance 1 / (n p (1 - p)) at the continuity-corrected proportion
    t = _target("x:ORR", 20.0, "binomial", n=50)
    p = (0.2 * 50 + 0.5) / 51
    assert observation_variance(t) == pytest.approx(1 / (50 * p * (1 - p)))
    # medians: se^2; Monte Carlo variance scales it by n / n_sim
    m = _target("x:med", 12.0, "lognormal", n=100, se=0.25)
    assert observation_variance(m) == pytest.approx(0.0625)
    assert float(mc_variance(m, 2.0, 400)) == pytest.approx(0.0625 / 4)
    with pytest.raises(OncotwinError, match="se=nan"):
        observation_variance(_target("x:HR", 0.7, "normal_log"))


def test_implausibility_arithmetic(identity_emulator: Emulator) -> None:
    hr = _target("hr", math.exp(0.5), "normal_log", se=0.2)
    hm = HistoryMatch(identity_emulator, [hr], kth=1, discrepancy_fraction=0.0, discrepancy_tau=0.0)
    imp = hm.implausibility(np.array([[0.5 + 0.6, 0.0], [0.5, 0.0], [0.5 - 0.2, 0.0]]))
    assert imp[:, 0] == pytest.approx([3.0, 0.0, 1.0], abs=1e-3)
    # the default discrepancy: 10% of the observation variance + 0.1^2
    hm2 = HistoryMatch(identity_emulator, [hr], kth=1)
    expected = 0.6 / math.sqrt(0.04 * 1.1 + 0.01)
    assert hm2.implausibility(np.array([[1.1, 0.0]]))[0, 0] == pytest.approx(expected, rel=1e-3)
    # Monte Carlo variance of runs at n_sim patients
    hm3 = HistoryMatch(
        identity_emulator, [hr], n_sim=100, kth=1, discrepancy_fraction=0, discrepancy_tau=0
    )
    assert hm3.implausibility(np.array([[1.1, 0.0]]))[0, 0] == pytest.approx(
        0.6 / math.sqrt(0.08), rel=1e-3
    )
    # a censored median (lower bound) is implausible only when the model is below it
    cens = _target("hr", math.exp(0.5), "lognormal", se=0.2, censored=True)
    hc = HistoryMatch(identity_emulator, [cens], kth=1, discrepancy_fraction=0, discrepancy_tau=0)
    i_c = hc.implausibility(np.array([[1.5, 0.0], [-0.1, 0.0]]))[:, 0]
    assert i_c == pytest.approx([0.0, 3.0], abs=1e-3)


def test_kth_largest_lets_one_target_miss(identity_emulator: Emulator) -> None:
    a = _target("hr", math.exp(0.0), "normal_log", se=0.1)
    b = _target("orr", 50.0, "binomial", n=100)  # logit 0 at theta_1 = 0
    theta = np.array([[0.5, 0.0]])  # target a misses by 5 SD, b matches
    strict = HistoryMatch(identity_emulator, [a, b], kth=1, discrepancy_tau=0.0)
    lenient = HistoryMatch(identity_emulator, [a, b], kth=2, discrepancy_tau=0.0)
    assert not strict.non_implausible(theta)[0]
    assert lenient.non_implausible(theta)[0]
    assert strict.i_max(theta)[0] == pytest.approx(0.5 / math.sqrt(0.011), rel=1e-3)


def test_region_sampling_and_named_defects(identity_emulator: Emulator) -> None:
    hr = _target("hr", math.exp(1.0), "normal_log", se=0.1)
    hm = HistoryMatch(identity_emulator, [hr], kth=1, discrepancy_tau=0.0)
    pts = hm.sample(50, seed=1)
    assert len(pts) == 50
    assert hm.non_implausible(pts).all()
    half = 3 * math.sqrt(0.011)  # |theta_0 - 1| <= 3 SD
    assert np.abs(pts[:, 0] - 1.0).max() <= half + 1e-6
    assert hm.fraction_remaining(2048) == pytest.approx(2 * half / 6, abs=0.02)
    # a target no theta reaches (logit 7.6 for 1000/1000; theta_1 <= 3): named as a defect
    far = _target("orr", 100.0, "binomial", n=1000)
    bad = HistoryMatch(identity_emulator, [hr, far], kth=1, discrepancy_tau=0.0)
    with pytest.warns(NoMatchWarning, match="no parameter set matches targets orr: candidate"):
        assert len(bad.sample(10, candidates=1024, max_candidates=2048)) == 0
    table = bad.table(pts)
    assert table.loc["hr", "reachable"] and not table.loc["orr", "reachable"]


def test_nuts_recovers_known_posteriors(identity_emulator: Emulator) -> None:
    """theta_a: normal likelihood, flat prior -> N(0.5, 0.3^2); theta_b: binomial 6/20 on the
    logit with a flat prior, checked against quadrature on a grid."""
    hr = _target("hr", math.exp(0.5), "normal_log", se=0.3)
    orr = _target("orr", 30.0, "binomial", n=20)
    sampler = PosteriorSampler(
        identity_emulator, [hr, orr], tau=0.0, warmup=300, samples=600, chains=4
    )
    post = sampler.run(seed=3)
    s = post.summary()
    assert post.converged, post.diagnostics
    assert s.loc["a", "mean"] == pytest.approx(0.5, abs=0.05)
    assert s.loc["a", "sd"] == pytest.approx(0.3, rel=0.12)
    g = np.linspace(-3, 3, 20001)
    w = np.exp(6 * g - 20 * np.logaddexp(0, g))
    w /= w.sum()
    mu = float((w * g).sum())
    sd = float(np.sqrt((w * (g - mu) ** 2).sum()))
    assert s.loc["b", "mean"] == pytest.approx(mu, abs=0.06)
    assert s.loc["b", "sd"] == pytest.approx(sd, rel=0.12)
    assert set(post.draws.columns) == {"chain", "draw", "a", "b"}
    assert post.draws["chain"].nunique() == 4
    # a refit with other observations reuses the compiled sampler
    post2 = sampler.run([math.exp(-1.0), 30.0], se=[0.3, None], seed=4)
    assert post2.summary().loc["a", "mean"] == pytest.approx(-1.0, abs=0.06)
    pred = post.predictive(0.95)
    assert pred.loc["orr", "low"] < 30.0 < pred.loc["orr", "high"]
    assert pred["inside"].all()


@pytest.mark.slow  # two more NUTS compilations (~15 s each on a CI core)
def test_tau_is_fitted_and_widens_the_posterior(identity_emulator: Emulator) -> None:
    hr = _target("hr", math.exp(0.5), "normal_log", se=0.1)
    fitted = PosteriorSampler(identity_emulator, [hr], warmup=300, samples=400).run(seed=1)
    assert "tau_survival" in fitted.names
    fixed = PosteriorSampler(identity_emulator, [hr], tau=0.0, warmup=300, samples=400).run(seed=1)
    assert fitted.summary().loc["a", "sd"] > 1.5 * fixed.summary().loc["a", "sd"]
    with pytest.raises(OncotwinError, match="at least 2 chains"):
        PosteriorSampler(identity_emulator, [hr], chains=1)
    with pytest.raises(OncotwinError, match="tau names"):
        PosteriorSampler(identity_emulator, [hr], tau={"tau_trial": 0.1})
    with pytest.raises(OncotwinError, match="no model of target"):
        PosteriorSampler(identity_emulator, [_target("nope", 1.0, "lognormal", se=0.1)])
