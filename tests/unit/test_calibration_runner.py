"""Calibration waves: the design of a wave, and running it into the store with a fake simulator
(every pair once, common random numbers, errors recorded, an interrupted wave resumed without
re-running or duplicating anything). Real simulations are in
tests/integration/test_calibration_store.py."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from oncotwin.calibration.runner import (
    calibrate,
    design_wave,
    free_quantities,
    read_theta,
    select_examples,
)
from oncotwin.calibration.store import FRESH_FIX, CalibrationStore, CalibrationStoreError
from oncotwin.errors import OncotwinError


# -- local stand-ins for the hierarchy and targets (interface of calibration.hierarchy) -----
@dataclass(frozen=True)
class Q:
    name: str
    parameter: str | None
    lower: float
    upper: float
    value: float = 1.0
    level: str = "global"
    cancer: str | None = None


@dataclass
class H:
    free: list[Q] = field(
        default_factory=lambda: [
            Q("growth_rate", "growth_rate", -0.5, 0.5, 0.0015),
            Q("exhaustion_rate", "exhaustion_rate", -2.0, 1.0, 0.05),
            Q("tau_response", None, 0.0, 2.0),  # likelihood only: never simulated
        ]
    )

    def overrides(self, theta, example):
        return {q.parameter: q.value * math.exp(theta[q.name]) for q in self.free if q.parameter}

    def to_json(self):
        return json.dumps({"free": [[q.name, q.lower, q.upper] for q in self.free]})


@dataclass(frozen=True)
class T:
    target_id: str
    example: str
    arm: str
    endpoint: str
    observed: float


TARGETS = [
    T("A1:ORR", "trial_a", "drug", "ORR", 40.0),
    T("A1:median_OS_mo", "trial_a", "drug", "median_OS_mo", 12.0),
    T("B1:ORR", "trial_b", "combo", "ORR", 55.0),
]


class FakeSimulator:
    """Deterministic summaries from the parameters; can fail or be interrupted on cue."""

    def __init__(self, fail_on=(), interrupt_after=None):
        self.calls: list[tuple[str, tuple, int, int]] = []
        self.fail_on = set(fail_on)
        self.interrupt_after = interrupt_after

    def arms(self, example):
        return 1 if example == "trial_a" else 2

    def fingerprints(self, examples):
        return {"fake_model": "fp1"}

    def identity(self, example, parameters, patients, seed):
        return {
            "model": "fake_model",
            "model_fingerprint": "fp1",
            "parameter_set_hash": "base",
            "parameter_values_hash": repr(sorted(parameters.items())),
        }

    def summary(self, example, parameters, patients, seed):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append((example, tuple(sorted(parameters.items())), patients, seed))
        if (
            example,
            round(parameters["growth_rate"], 12),
        ) in self.fail_on or example in self.fail_on:
            raise RuntimeError("solver blew up")
        arm = "drug" if example == "trial_a" else "combo"
        orr = 100 * parameters["exhaustion_rate"]
        return pd.DataFrame(
            {"arm": [arm, arm], "endpoint": ["ORR", "median_OS_mo"],
             "value": [orr, 1.0 / parameters["growth_rate"] / 100], "n": [patients] * 2}
        )  # fmt: skip


def _run(tmp_path, sim, **kw):
    opts = {"n_sets": 4, "patients": 5, "seed": 3, "targets": TARGETS, "hierarchy": H(),
            "simulator": sim, "progress": False}  # fmt: skip
    opts.update(kw)
    return calibrate(tmp_path, **opts)


# -- design -----------------------------------------------------------------------------------
def test_design_fills_the_theta_box_of_simulated_quantities_only():
    d = design_wave(H(), 16, seed=1)
    assert list(d.columns) == ["growth_rate", "exhaustion_rate"]  # tau_* not simulated
    assert d["growth_rate"].between(-0.5, 0.5).all() and d["exhaustion_rate"].between(-2, 1).all()
    # space-filling: each half of each axis holds half of the 16 Sobol' points
    assert (d["growth_rate"] < 0).sum() == 8 and (d["exhaustion_rate"] < -0.5).sum() == 8
    assert d.equals(design_wave(H(), 16, seed=1)) and not d.equals(design_wave(H(), 16, seed=2))


def test_latin_hypercube_puts_one_point_in_each_stratum():
    d = design_wave(H(), 10, seed=4, method="lhs")
    strata = np.floor((d["growth_rate"].to_numpy() + 0.5) * 10).astype(int)
    assert sorted(strata) == list(range(10))


def test_region_keeps_only_non_implausible_points():
    d = design_wave(H(), 12, seed=0, region=lambda x: x[:, 0] < -0.25)
    assert len(d) == 12 and (d["growth_rate"] < -0.25).all()
    with pytest.raises(OncotwinError, match=r"only 0 of .* candidate points"):
        design_wave(H(), 3, seed=0, region=lambda x: np.zeros(len(x), bool))


def test_bad_design_input_is_refused_naming_the_field():
    with pytest.raises(OncotwinError, match="design: 'halton' is unknown"):
        design_wave(H(), 4, seed=0, method="halton")
    with pytest.raises(OncotwinError, match="sets: 0"):
        design_wave(H(), 0, seed=0)
    with pytest.raises(OncotwinError, match="growth_rate has theta bounds"):
        free_quantities(H(free=[Q("growth_rate", "growth_rate", 0.5, 0.5)]))


def test_examples_are_those_with_targets_and_a_subset_is_checked():
    assert select_examples(TARGETS, None) == ["trial_a", "trial_b"]
    assert select_examples(TARGETS, ["trial_b"]) == ["trial_b"]
    with pytest.raises(OncotwinError, match="did you mean 'trial_b'"):
        select_examples(TARGETS, ["trial_bb"])


# -- running ----------------------------------------------------------------------------------
def test_a_wave_runs_every_pair_once_with_one_seed_for_all_sets(tmp_path):
    sim = FakeSimulator()
    s = _run(tmp_path, sim)
    assert (s.total, s.ran, s.skipped, s.failed) == (8, 8, 0, 0)
    assert {c[3] for c in sim.calls} == {3}  # common random numbers
    assert sorted({c[2] for c in sim.calls}) == [5, 10]  # patients per arm x arms
    store = CalibrationStore.open(tmp_path)
    wide = store.target_values(TARGETS, wave=1)
    sets = store.sets(1)
    expected = 100 * 0.05 * np.exp(sets["exhaustion_rate"])
    assert np.allclose(wide["A1:ORR"], expected) and np.allclose(wide["B1:ORR"], expected)
    assert wide.notna().all().all() and list(wide.index) == [f"w1-000{i}" for i in range(4)]


def test_an_interrupted_wave_resumes_without_rerunning_or_duplicating(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeSimulator(interrupt_after=3))
    store = CalibrationStore.open(tmp_path)
    first = store.sims()
    assert len(first) == 3
    sim = FakeSimulator()
    s = _run(tmp_path, sim, resume=True, n_sets=None, patients=None, seed=None)
    assert (s.ran, s.skipped, s.total) == (5, 3, 8)
    done_before = set(zip(first["set_id"], first["example"], strict=True))
    sets = store.sets(1)

    def params(sid):
        return tuple(sorted(H().overrides(sets.loc[sid], "").items()))

    ran_now = {(c[0], c[1]) for c in sim.calls}
    assert len(ran_now) == 5 and not ran_now & {(ex, params(sid)) for sid, ex in done_before}
    sims = store.sims()
    assert len(sims) == 8 and not sims.duplicated(["set_id", "example"]).any()
    before = sorted(done_before)
    kept = sims.set_index(["set_id", "example"]).loc[before, "finished_at"]
    assert list(kept) == list(first.set_index(["set_id", "example"]).loc[before, "finished_at"])
    assert len(store.values()) == 16
    # a third call has nothing left to do
    again = _run(tmp_path, FakeSimulator(), resume=True)
    assert (again.ran, again.skipped) == (0, 8)


def test_a_failed_simulation_is_recorded_and_the_wave_goes_on(tmp_path):
    s = _run(tmp_path, FakeSimulator(fail_on={"trial_b"}))
    assert (s.ran, s.failed) == (8, 4)
    sims = CalibrationStore.open(tmp_path).sims()
    bad = sims[sims["status"] == "error"]
    assert (
        set(bad["example"]) == {"trial_b"} and bad["message"].str.contains("solver blew up").all()
    )
    # resume skips them; --retry-failed runs them again and replaces their rows
    assert _run(tmp_path, FakeSimulator(), resume=True).ran == 0
    s = _run(tmp_path, FakeSimulator(), resume=True, retry_failed=True)
    assert (s.ran, s.failed) == (4, 0)
    sims = CalibrationStore.open(tmp_path).sims()
    assert len(sims) == 8 and (sims["status"] == "ok").all()


def test_waves_are_numbered_and_a_resume_keeps_the_wave_options(tmp_path):
    _run(tmp_path, FakeSimulator(), n_sets=2)
    with pytest.raises(OncotwinError, match=r"wave 1 already exists.*--resume"):
        _run(tmp_path, FakeSimulator(), wave=1)
    s2 = _run(tmp_path, FakeSimulator(), n_sets=3, examples=["trial_a"])
    assert (s2.wave, s2.total) == (2, 3)
    with pytest.raises(OncotwinError, match="wave 2 was run with patients=5, not 7"):
        _run(tmp_path, FakeSimulator(), resume=True, patients=7)
    with pytest.raises(OncotwinError, match="wave 2 runs the examples trial_a, not trial_b"):
        _run(tmp_path, FakeSimulator(), resume=True, examples=["trial_b"])
    waves = CalibrationStore.open(tmp_path).waves()
    assert list(waves["wave"]) == [1, 2] and list(waves["n_sets"]) == [2, 3]


def test_given_theta_sets_are_checked_and_stored_as_given(tmp_path):
    theta = pd.DataFrame({"growth_rate": [0.1, -0.2]})
    s = _run(tmp_path, FakeSimulator(), theta=theta)
    sets = CalibrationStore.open(tmp_path).sets(1)
    assert s.n_sets == 2 and list(sets["origin"]) == ["given", "given"]
    assert list(sets["growth_rate"]) == [0.1, -0.2] and list(sets["exhaustion_rate"]) == [0, 0]
    with pytest.raises(OncotwinError, match="theta: unknown free calibration quantity 'growth'"):
        _run(tmp_path, FakeSimulator(), theta=pd.DataFrame({"growth": [0.1]}))
    csv = tmp_path / "t.csv"
    csv.write_text("growth_rate\nabc\n")
    with pytest.raises(OncotwinError, match=r"--theta: .* must hold numbers"):
        read_theta(csv)


def test_another_model_fingerprint_is_refused_naming_the_fix(tmp_path):
    _run(tmp_path, FakeSimulator(), n_sets=1)
    changed = FakeSimulator()
    changed.fingerprints = lambda examples: {"fake_model": "fp2"}
    with pytest.raises(CalibrationStoreError, match=r"fingerprint fp1.*fp2") as err:
        _run(tmp_path, changed, resume=True)
    assert FRESH_FIX in str(err.value)
    other_targets = [*TARGETS[:2], T("B1:ORR", "trial_b", "combo", "ORR", 56.0)]
    with pytest.raises(CalibrationStoreError, match="other targets"):
        _run(tmp_path, FakeSimulator(), targets=other_targets)
    # an edited parameter record (same equations) is refused too
    edited = FakeSimulator()
    edited.identity = lambda *a: {**FakeSimulator().identity(*a), "parameter_set_hash": "b2"}
    with pytest.raises(CalibrationStoreError, match=r"example trial_a: its parameter set changed"):
        _run(tmp_path, edited, resume=True)
    # --force-new-run moves the old store aside and starts afresh
    s = _run(tmp_path, changed, force_new=True, n_sets=1)
    assert s.wave == 1 and len(list(tmp_path.glob("calibration-*.duckdb"))) == 1
