"""The shipped calibrated set: loading, draws, overrides for any trial, in-sample flag, the
model-fingerprint check, and a trial run's defaults (labelled; calibration runs unaffected)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from oncotwin.calibration.calibrated import (
    ENV_VAR,
    CalibratedSet,
    available_sets,
    resolve_run_parameters,
)
from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.trials import Trial
from oncotwin.trials._plan import TrialPlan
from oncotwin.trials.spec import example_path, load_spec
from test_calibrated_set_helpers import write_set


@pytest.fixture(scope="module")
def set_path(tmp_path_factory):
    return write_set(tmp_path_factory.mktemp("sets"))


@pytest.fixture
def use_set(set_path, monkeypatch):
    """The synthetic set as the default (as sets/DEFAULT would name a shipped one)."""
    monkeypatch.setenv(ENV_VAR, str(set_path))
    return CalibratedSet.load(set_path)


def _plan(example: str) -> TrialPlan:
    return TrialPlan.from_spec(load_spec(example_path(example)), patients=1, seed=0, chunk_size=1)


def test_load_by_path_reads_draws_and_hierarchy(set_path):
    cs = CalibratedSet.load(set_path)
    assert cs.name == "synthetic-test" and cs.model == "metastatic_io"
    assert cs.n_draws == 400 and len(cs.names) == 5
    assert set(cs.tau_names) == {"tau_response", "tau_survival", "tau_toxicity"}
    med = cs.median_theta()
    assert med["growth_rate"] == pytest.approx(float(np.median(cs.table["growth_rate"])))
    assert cs.hash() == CalibratedSet.load(set_path).hash() and len(cs.hash()) == 16
    assert cs.fingerprint_problem() is None


def test_draws_are_reproducible_and_checked(set_path):
    cs = CalibratedSet.load(set_path)
    a, b = cs.draws(50, seed=3), cs.draws(50, seed=3)
    assert a.equals(b) and len(a) == 50 and not a.equals(cs.draws(50, seed=4))
    assert len(cs.draws(1000, seed=0)) == 1000  # with replacement beyond the 400 stored
    for bad in (0, -2, 1.5):
        with pytest.raises(OncotwinError, match="draws="):
            cs.draws(bad)


def test_unknown_name_says_did_you_mean():
    with pytest.raises(UnknownNameError, match="uncalibrated"):
        CalibratedSet.load("uncalibratd")
    assert isinstance(available_sets(), list)


def test_malformed_set_names_the_file(set_path, tmp_path):
    bad = write_set(tmp_path, name="broken")
    (bad / "draws.csv").unlink()
    with pytest.raises(OncotwinError, match=r"draws\.csv is missing"):
        CalibratedSet.load(bad)
    bad2 = write_set(tmp_path, name="broken2")
    (bad2 / "manifest.json").write_text("{not json")
    with pytest.raises(OncotwinError, match="not JSON"):
        CalibratedSet.load(bad2)


def test_overrides_follow_the_trials_cancer(set_path):
    cs = CalibratedSet.load(set_path)
    theta = {"growth_rate": 0.1, "growth_rate@nsclc": 0.2, "growth_rate@melanoma": 0.5}
    nsclc, melanoma = _plan("keynote024"), _plan("checkmate067")
    got = cs.overrides(theta, nsclc)
    typical = nsclc.parameter_set()["growth_rate"].value
    assert got["growth_rate"] == pytest.approx(typical * math.exp(0.3))  # not melanoma's
    got_m = cs.overrides(theta, melanoma)
    assert got_m["growth_rate"] == pytest.approx(
        melanoma.parameter_set()["growth_rate"].value * math.exp(0.6)
    )
    assert cs.overrides({"tau_response": 0.3}, nsclc) == {}  # tau's are ignored
    with pytest.raises(UnknownNameError, match="growth_rate"):
        cs.overrides({"growth_rat": 0.1}, nsclc)


def test_in_sample_by_example_or_trial_id(tmp_path):
    from oncotwin.trials.targets import published

    spec = load_spec(example_path("oak"))
    trial_id = published(spec.arms[0].published.arm_id).trial
    cs = CalibratedSet.load(write_set(tmp_path, name="s", examples=("keynote024",)))
    assert cs.in_sample("keynote024") and not cs.in_sample(spec)
    cs2 = CalibratedSet.load(write_set(tmp_path, name="t", examples=(), trials=(trial_id,)))
    assert cs2.in_sample(Trial(spec)) and not cs2.in_sample("keynote024")


def test_default_is_the_posterior_median_and_labelled(use_set):
    spec = load_spec(example_path("keynote024"))
    values, info = resolve_run_parameters(spec, None)
    assert values == use_set.overrides(use_set.median_theta(), _plan("keynote024"))
    assert values  # the median theta moves parameters
    assert info["calibrated_set"] == "synthetic-test" and info["in_sample"] is True
    assert "in sample" in info["note"] and "posterior median" in info["note"]
    out_spec = load_spec(example_path("oak"))
    assert "out of sample" in resolve_run_parameters(out_spec, None)[1]["note"]


def test_explicit_parameters_and_uncalibrated_skip_the_set(use_set):
    """Calibration (runner, sensitivity) passes explicit values relative to the shipped
    set: the default set must not be applied under them."""
    spec = load_spec(example_path("keynote024"))
    values, info = resolve_run_parameters(spec, {})
    assert values == {} and info["calibrated_set"] is None
    values, info = resolve_run_parameters(spec, None, False)
    assert values is None and "uncalibrated" in info["note"]
    values, info = resolve_run_parameters(spec, None, "uncalibrated")
    assert values is None


def test_no_default_set_runs_the_shipped_defaults(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "uncalibrated")
    spec = load_spec(example_path("keynote024"))
    values, info = resolve_run_parameters(spec, None)
    assert values is None and info["calibrated_set"] is None
    assert "no default calibrated set" in info["note"]
    with pytest.raises(OncotwinError, match="no default calibrated set"):
        resolve_run_parameters(spec, None, True)


def test_fingerprint_mismatch_is_not_applied_with_a_warning(tmp_path, monkeypatch):
    path = write_set(tmp_path, name="old", fingerprint="0000000000000000")
    monkeypatch.setenv(ENV_VAR, str(path))
    spec = load_spec(example_path("keynote024"))
    with pytest.warns(UserWarning, match="not applied.*fingerprint 0000000000000000"):
        values, info = resolve_run_parameters(spec, None)
    assert values is None and info["calibrated_set"] is None
    assert "not applied" in info["note"]


def test_runner_simulations_start_from_uncalibrated_values(use_set):
    """TrialSimulator (calibration) passes explicit parameters: same plan hash as the
    uncalibrated run, and Trial.summary under them applies no set."""
    from oncotwin.calibration.runner import TrialSimulator

    sim = TrialSimulator()
    ident = sim.identity("keynote024", {}, 2, 0)
    uncal = Trial.from_example("keynote024").plan(patients=2, seed=0)
    assert ident["parameter_values_hash"] == uncal.parameters_hash()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = sim.summary("keynote024", {}, 2, 0)
    assert summary.attrs["calibration"]["calibrated_set"] is None


def test_trial_run_records_and_shows_the_set(use_set, tmp_path):
    result = Trial.from_example("keynote024").run(patients=2, out=tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["calibration"]["calibrated_set"] == "synthetic-test"
    assert manifest["calibration"]["in_sample"] is True
    assert manifest["parameter_overrides"]  # the median theta was applied
    assert "calibrated set synthetic-test" in str(result)
    assert "calibrated set synthetic-test" in result.report.read_text()
    plain = Trial.from_example("keynote024").run(
        patients=2, out=tmp_path / "plain", calibrated=False, report=False
    )
    assert plain.manifest["parameter_overrides"] == {}
    assert "uncalibrated" in plain.parameters_note


def test_cli_run_and_compare_say_which_parameters(use_set, tmp_path):
    from typer.testing import CliRunner

    from oncotwin.cli.main import app

    out = tmp_path / "cli"
    run = ["trial", "run", "--example", "keynote024", "--patients", "2", "--no-report"]
    r = CliRunner().invoke(app, [*run, "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "calibrated set synthetic-test, posterior median, trial effect 0" in text
    assert "in sample" in text
    r = CliRunner().invoke(app, ["trial", "compare", str(out)])
    assert r.exit_code == 0 and "calibrated set synthetic-test" in " ".join(r.output.split())
    r = CliRunner().invoke(
        app, [*run, "--out", str(tmp_path / "u"), "--parameters", "uncalibrated"]
    )
    assert r.exit_code == 0 and "uncalibrated shipped defaults (asked for)" in r.output
