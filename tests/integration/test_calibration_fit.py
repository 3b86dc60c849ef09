"""The calibration fit end to end on a store of fast stand-in simulations of two real example
trials (OAK, CheckMate 017) and their real published targets, whose observed values are
replaced by the stand-in's values at planted parameters: the fit must put the planted values
of the quantities the stand-in responds to inside their 95% posterior intervals, leave a trial
out of the likelihood on request, predict its targets, and write a calibrated set that reads
back. The real waves and their fit are run by ``oncotwin calibrate run|fit``."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("numpyro")
pytest.importorskip("sklearn")

from oncotwin.calibration.fit import active_inputs, fit_store, trial_of, write_set
from oncotwin.calibration.hierarchy import Hierarchy, _plan
from oncotwin.calibration.runner import calibrate
from oncotwin.calibration.targets import load_targets
from oncotwin.errors import OncotwinError

pytestmark = pytest.mark.slow

EXAMPLES = ("oak", "checkmate017")
PLANTED = {"pd1_inhibition": 0.6, "growth_rate": -0.3, "chemo_logkill_taxane": -0.8}


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class StandIn:
    """Summaries as smooth functions of three quantities' log-multipliers (others inert)."""

    def arms(self, example):
        return 2

    def fingerprints(self, examples):
        return {"metastatic_io": "standin"}

    def identity(self, example, parameters, patients, seed):
        return {"model": "metastatic_io", "model_fingerprint": "standin",
                "parameter_set_hash": "base",
                "parameter_values_hash": repr(sorted(parameters.items()))}  # fmt: skip

    @staticmethod
    def _log(example, parameters, name):
        if name not in parameters:
            return 0.0
        return math.log(parameters[name] / float(_plan(example).parameter_set()[name].value))

    def summary(self, example, parameters, patients, seed):
        pd1 = self._log(example, parameters, "pd1_inhibition")
        grow = self._log(example, parameters, "growth_rate")
        taxane = self._log(example, parameters, "chemo_logkill_taxane")
        rows = []
        for arm in _plan(example).spec.arms:
            io = arm.name != "docetaxel"
            orr = 100 * _sig((-1.5 + 1.5 * pd1) if io else (-2.0 + 1.5 * taxane))
            pfs = 3.0 * math.exp(-grow + (0.5 * pd1 if io else 0.4 * taxane))
            os_ = 2.5 * pfs
            vals = {"ORR": orr, "CR": orr / 6, "g3plus_AE": 15.0 if io else 45.0,
                    "median_PFS_mo": pfs, "median_OS_mo": os_,
                    "OS_12mo": 100 * math.exp(-math.log(2) * 12 / os_),
                    "OS_24mo": 100 * math.exp(-math.log(2) * 24 / os_)}  # fmt: skip
            rows += [(arm.name, k, v, patients // 2) for k, v in vals.items()]
        return pd.DataFrame(rows, columns=["arm", "endpoint", "value", "n"])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit")
    base = [t for t in load_targets() if t.example in EXAMPLES]
    hierarchy = Hierarchy.build(base)
    sim = StandIn()
    truth = sim.summary  # observed values = the stand-in at the planted parameters
    observed = {}
    for ex in EXAMPLES:
        params = hierarchy.overrides(PLANTED, ex)
        s = truth(ex, params, 1000, 0)
        observed.update({(ex, a, e): v for a, e, v in zip(s.arm, s.endpoint, s.value, strict=True)})
    targets = [
        dataclasses.replace(t, observed=float(observed[(t.example, t.arm, t.endpoint)]))
        for t in base
    ]
    calibrate(out, n_sets=48, patients=200, seed=1, targets=targets, hierarchy=hierarchy,
              simulator=sim, progress=False)  # fmt: skip
    result = fit_store(out, targets=targets, chains=2, warmup=200, samples=200, folds=3, active=6)
    return out, targets, result


def test_planted_quantities_are_active_and_recovered(fitted):
    _, _, result = fitted
    assert set(PLANTED) <= set(result.emulator.inputs)
    iv = result.posterior.interval(0.95)
    for name, value in PLANTED.items():
        assert iv.loc[name, "low"] <= value <= iv.loc[name, "high"], (name, iv.loc[name])


def test_posterior_predictive_covers_the_fitted_targets(fitted):
    _, targets, result = fitted
    pred = result.predict_targets()
    assert len(pred) == len(targets)
    assert pred["inside"].mean() >= 0.9
    assert (pred["low"] <= pred["high"]).all()


def test_a_left_out_trial_leaves_the_likelihood_and_is_predicted(fitted):
    out, targets, result = fitted
    loto = fit_store(out, targets=targets, exclude_trials=["OAK"], emulator=result.emulator,
                     chains=2, warmup=100, samples=100)  # fmt: skip
    assert loto.fitted and all(trial_of(t) != "OAK" for t in loto.fitted)
    oak = [t for t in targets if trial_of(t) == "OAK"]
    pred = loto.predict_targets(oak)
    assert set(pred.index) == {t.target_id for t in oak}
    with pytest.raises(OncotwinError, match="exclude trial"):
        fit_store(out, targets=targets, exclude_trials=["OAKK"], emulator=result.emulator)


def test_a_fit_is_written_as_a_calibrated_set(fitted, tmp_path):
    _, _, result = fitted
    folder = write_set(result, tmp_path, "toy-set")
    manifest = json.loads((folder / "manifest.json").read_text())
    draws = pd.read_csv(folder / "draws.csv")
    names = [q["name"] for q in json.loads((folder / "hierarchy.json").read_text())["free"]]
    assert manifest["n_draws"] == len(draws) and abs(len(draws) - 400) <= 4
    assert set(manifest["in_sample_trials"]) == {"OAK", "CheckMate 017"}
    assert set(names) <= set(draws.columns)
    for q in manifest["screened_out"]:  # not emulated: held at the shipped value
        assert (draws[q] == 0).all()
    with pytest.raises(OncotwinError, match="plain name"):
        write_set(result, tmp_path, "a/b")


def test_active_inputs_ranks_by_rank_correlation():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(size=(40, 4)), columns=list("abcd"))
    Y = np.column_stack([3 * X["c"] + 0.1 * rng.normal(size=40), -(X["a"] ** 3)])
    assert active_inputs(X, Y, 2) == ["a", "c"]
    assert active_inputs(X, Y, 9) == list("abcd")
