"""A toy calibration end to end (issue 15 item 8): it must recover planted parameters.

Two calibration quantities (log-multipliers of Claret 2009's drug kill K_D0 and resistance
lambda; growth fixed), 96 simulated parameter sets x 4 arms x 150 patients of the toy TGI trial
(:class:`oncotwin.calibration.recovery.ToyTGI`), a GP emulator per target, history matching
and NUTS on the emulator against synthetic "published" arms simulated at their real n with
other patients. The planted values must lie inside the posterior 95% intervals, and the
posterior mean must be closer to them than the prior mean (the box centre) is.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("jax")
pytest.importorskip("numpyro")

from oncotwin.calibration.history import HistoryMatch
from oncotwin.calibration.posterior import PosteriorSampler
from oncotwin.calibration.recovery import ToyTGI, fit_toy_emulator, recover

PLANTED = np.array([0.35, -0.3])  # K_D0 x 1.42, lambda x 0.74
N_SIM = 150


@pytest.fixture(scope="module")
def toy_fit():
    toy = ToyTGI(parameters=("K_D0", "lambda"))
    em, X, raw = fit_toy_emulator(toy, runs=96, n_sim=N_SIM, seed=2, restarts=0)
    return toy, em, X, raw


def test_emulator_is_accurate_on_held_out_runs(toy_fit) -> None:
    toy, em, X, raw = toy_fit
    assert X.shape == (96, 2) and raw.shape == (96, len(toy.target_ids))
    scores = em.scores()
    assert (scores["r2"] > 0.95).all(), scores


def test_toy_calibration_recovers_planted_values(toy_fit) -> None:
    toy, em, _, _ = toy_fit
    published = toy.observe(PLANTED, seed=11)
    # history matching keeps the planted values
    hm = HistoryMatch(em, published, n_sim=N_SIM, kth=1)
    assert hm.non_implausible(PLANTED[None, :])[0]
    assert hm.fraction_remaining(1024) < 0.5  # the targets rule out most of the box
    sampler = PosteriorSampler(em, published, n_sim=N_SIM, tau=0.0, warmup=300, samples=400)
    res = recover(toy, sampler, PLANTED, seed=11, truth_n=1000)
    par = res.parameters
    assert res.posterior.converged, res.posterior.diagnostics
    assert par["inside95"].all(), par
    prior_mean = toy.bounds.mean(axis=1)
    assert (np.abs(par["mean"] - PLANTED) < np.abs(prior_mean - PLANTED)).all(), par
    # the derived endpoints (the model's own ORR and median TTP at the planted values)
    assert res.endpoints["inside95"].mean() >= 0.8, res.endpoints
