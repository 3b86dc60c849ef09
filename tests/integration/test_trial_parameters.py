"""Runs with new typical parameter values (``parameters=``): the calibration and sensitivity
path. Each patient's value is scaled by new / typical; the in-memory summary equals the
stored run's; bad overrides are refused with the parameter named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import ParameterError
from oncotwin.trials import Trial
from oncotwin.trials._chunk import simulate_chunk

N = 10


@pytest.fixture(scope="module")
def trial() -> Trial:
    return Trial.from_example("keynote024")


def test_overrides_scale_each_patient_and_keep_variability(trial):
    plan = trial.plan(patients=N, seed=4)
    name = "priming_rate"
    typical = plan.parameter_set()[name].value
    scaled = trial.plan(patients=N, seed=4, parameters={name: 2.5 * typical})
    a = simulate_chunk(plan, 0)["patients"]
    b = simulate_chunk(scaled, 0)["patients"]
    pd.testing.assert_frame_equal(
        a.drop(columns=[c for c in a if c == name]), b.drop(columns=[c for c in b if c == name])
    )
    col = plan.model().parameter_index(name)
    assert scaled.parameter_factors() == {col: pytest.approx(2.5)}


def test_summary_in_memory_matches_a_stored_run(trial, tmp_path):
    mem = trial.summary(patients=N, seed=4)
    stored = trial.run(patients=N, seed=4, out=tmp_path / "run", report=False).summary
    cols = ["arm", "endpoint", "value"]
    pd.testing.assert_frame_equal(
        mem[cols].reset_index(drop=True), stored[cols].reset_index(drop=True)
    )


@pytest.mark.slow
def test_a_weaker_immune_priming_lowers_the_response_to_pembrolizumab(trial):
    typical = trial.plan().parameter_set()["priming_rate"].value
    base = trial.summary(patients=80, seed=4)
    weak = trial.summary(patients=80, seed=4, parameters={"priming_rate": 0.05 * typical})
    orr = lambda s: float(s.query("arm == 'pembrolizumab' and endpoint == 'ORR'")["value"].iloc[0])  # noqa: E731
    assert orr(weak) < orr(base)


@pytest.mark.parametrize(
    ("parameters", "match"),
    [
        ({"priming_rat": 1.0}, "did you mean 'priming_rate'"),
        ({"priming_rate": float("nan")}, "give a finite typical value >= 0"),
        ({"priming_rate": -1.0}, "give a finite typical value >= 0"),
        ({"expresses_HER2": 1.0}, "cannot be scaled"),
    ],
)
def test_bad_overrides_are_refused(trial, parameters, match):
    with pytest.raises(ParameterError, match=match):
        trial.plan(patients=N, parameters=parameters)


def test_overrides_change_the_values_hash(trial):
    a = trial.plan(patients=N).parameters_hash()
    b = trial.plan(patients=N, parameters={"priming_rate": 1.0}).parameters_hash()
    assert a != b and len(b) == 16
    assert np.isfinite(trial.plan(patients=N, parameters={"priming_rate": 1.0}).seed)


def test_a_scaled_tail_beyond_a_physical_bound_is_truncated_not_refused():
    """antigen_negative_fraction (upper bound 1) has a log-SD of 4.6: scaled to a median of
    0.01, some patients' draws exceed 1; they are truncated at the bound."""
    plan = Trial.from_example("zuma1").plan(
        patients=40, seed=2, parameters={"antigen_negative_fraction": 0.01}
    )
    tables = simulate_chunk(plan, 0)
    assert len(tables["outcomes"]) == 40
    col = plan.model().parameter_index("antigen_negative_fraction")
    assert col in plan.parameter_factors()
