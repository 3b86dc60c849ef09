"""End-to-end virtual trials: store, resume after an interruption, report, published targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotwin.trials.run import compare_published, run_trial
from oncotwin.trials.spec import example_path, load_spec
from oncotwin.trials.store import TrialStore

N, CHUNK = 24, 8


@pytest.fixture(scope="module")
def spec():
    return load_spec(example_path("keynote024"))


@pytest.fixture(scope="module")
def uninterrupted(spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("trial") / "run"
    return run_trial(spec, out=out, patients=N, chunk_size=CHUNK, report=True)


def test_run_writes_store_report_and_all_patients_once(uninterrupted, spec):
    """Every patient is simulated exactly once, in its randomised arm, and the report exists."""
    run = uninterrupted
    store = TrialStore.open(run.out)
    try:
        outcomes = store.read("outcomes")
        patients = store.read("patients")
        visits = store.read("visits")
    finally:
        store.close()
    assert sorted(outcomes["patient_id"]) == list(range(N))
    assert set(outcomes["arm"]) <= set(spec.arm_names)
    np.testing.assert_array_equal(
        outcomes.sort_values("patient_id")["arm"].map(spec.arm_names.index).to_numpy(),
        np.asarray(spec.arm_of(np.arange(N))),
    )
    assert len(patients) == N and (patients["pdl1_tps_pct"] >= 50).all()  # KEYNOTE-024 TPS>=50
    assert set(outcomes["best_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
    assert (visits["day"] >= 0).all()
    assert run.report is not None and run.report.exists()
    html = run.report.read_text()
    assert "not medical advice" in html
    assert "KEYNOTE-024" in html or "KEYNOTE 024" in html or spec.trial.name in html


def test_summary_carries_published_targets(uninterrupted):
    """The summary puts KEYNOTE-024's published ORR beside the simulated one (Reck NEJM 2016:
    pembrolizumab ORR 44.8%, chemotherapy 27.8%; oncotwin.trials.targets)."""
    s = uninterrupted.summary
    orr = s[(s["endpoint"] == "ORR")].set_index("arm")
    assert orr["published"].notna().all()
    assert "pembrolizumab" in " ".join(orr.index)
    assert {"value", "ci_low", "ci_high", "difference", "published_in_ci"} <= set(s.columns)


def test_interrupted_run_resumes_to_the_same_result(spec, uninterrupted, tmp_path):
    """Ctrl-C after the first chunk loses no finished chunk; --resume completes the run and the
    summary equals the uninterrupted run's exactly (same seed)."""
    out = tmp_path / "run"

    def interrupt(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trial(spec, out=out, patients=N, chunk_size=CHUNK, progress=interrupt, report=False)
    store = TrialStore.open(out)
    assert store.done_chunks() == {0}
    store.close()
    resumed = run_trial(spec, out=out, patients=N, chunk_size=CHUNK, resume=True, report=False)
    assert resumed.chunks_run == (1, 2)
    cols = ["arm", "endpoint", "value", "ci_low", "ci_high", "n"]
    pd.testing.assert_frame_equal(
        resumed.summary[cols].reset_index(drop=True),
        uninterrupted.summary[cols].reset_index(drop=True),
    )


def test_resume_with_other_options_is_refused(spec, uninterrupted):
    """Resuming a store with a different patient count is refused with the fix."""
    from oncotwin.errors import OncotwinError

    with pytest.raises(OncotwinError, match="resume with the same options or use a new --out"):
        run_trial(spec, out=uninterrupted.out, patients=N + 1, chunk_size=CHUNK, resume=True)


def test_resume_of_a_store_made_by_another_model_is_refused(spec, tmp_path):
    """A store made by another version of the model (equations or parameter values) is never
    resumed into: its chunks would mix two models (the manifest records both hashes)."""
    import json
    import shutil

    from oncotwin.errors import OncotwinError

    out = tmp_path / "run"
    run_trial(spec, out=out, patients=N, chunk_size=CHUNK, report=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["model_fingerprint"]) == 16
    assert len(manifest["parameter_values_hash"]) == 16
    for key in ("model_fingerprint", "parameter_values_hash"):
        other = tmp_path / key
        shutil.copytree(out, other)
        changed = {**manifest, key: "0" * 16}
        (other / "manifest.json").write_text(json.dumps(changed))
        with pytest.raises(OncotwinError, match=key):
            run_trial(spec, out=other, patients=N, chunk_size=CHUNK, resume=True)


def test_compare_published_marks_gap(spec):
    """compare_published adds the published value, the difference and whether the published
    value lies inside the simulated 95% CI."""
    summary = pd.DataFrame(
        {
            "arm": [spec.arm_names[0]],
            "endpoint": ["ORR"],
            "value": [40.0],
            "ci_low": [30.0],
            "ci_high": [50.0],
            "n": [100],
            "unit": ["%"],
            "published": [np.nan],
            "source": [""],
        }
    )
    out = compare_published(summary, spec)
    assert np.isfinite(out.loc[0, "published"])
    assert out.loc[0, "difference"] == pytest.approx(40.0 - out.loc[0, "published"])


def test_baseline_matching_hits_published_table_and_is_chunk_invariant():
    """With a published baseline table the runner's population matches it (rejection sampling
    with a tilt fitted on a pilot sample), and patient i is the same whatever the size."""
    from pathlib import Path

    from oncotwin.population.covariates import sample_eligible
    from oncotwin.population.virtual import eligible_patients
    from oncotwin.trials.spec import parse_spec

    text = Path(example_path("checkmate067")).read_text()
    text = text.replace(
        "[population]", '[population]\nbaseline = { "age_yr" = 58, "ldh_ratio_uln>1" = 0.45 }'
    )
    s = parse_spec(text)
    baseline = dict(s.population.baseline)
    elig = {"measurable_disease": True}
    raw = sample_eligible("melanoma", 3000, elig, seed=7)
    matched = eligible_patients("melanoma", 3000, seed=7, eligibility=elig, baseline=baseline)
    assert abs(raw["age_yr"].mean() - 58) > 3  # the raw cohort differs from the target
    assert matched["age_yr"].mean() == pytest.approx(58, abs=1.5)
    assert (matched["ldh_ratio_uln"] > 1).mean() == pytest.approx(0.45, abs=0.04)
    small = eligible_patients("melanoma", 500, seed=7, eligibility=elig, baseline=baseline)
    pd.testing.assert_frame_equal(small, matched.iloc[:500].reset_index(drop=True))
