"""Leave-one-trial-out validation (issue 16 item 4) on a tiny synthetic store: two example
trials, simulated values that move smoothly with two free quantities, written through the
store's API. Checks that the refit leaves the trial out of its likelihood, that a rerun
skips finished trials and refits nothing, the files and the CLI, and the clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotwin.calibration import fit as fit_mod
from oncotwin.calibration.hierarchy import Hierarchy
from oncotwin.calibration.store import CalibrationStore, SimRecord, targets_hash
from oncotwin.calibration.targets import load_targets
from oncotwin.calibration.validate import (
    TARGETS_FILE,
    TRIALS_FILE,
    VALIDATION_DIR,
    run_validation,
)
from oncotwin.errors import OncotwinError

EXAMPLES = ("keynote024", "checkmate017")
PATIENTS = 40
SETS = 12
FAST = {"chains": 2, "warmup": 30, "samples": 30, "draws": 100, "active": 2}


def _value(t, x: np.ndarray) -> float:
    """A smooth function of the first two quantities around the observed value."""
    f = float(np.exp(0.4 * x[0] - 0.3 * x[1]))
    if t.law == "binomial":
        return float(np.clip(t.observed * f, 1.0, 99.0))
    return t.observed * f


@pytest.fixture(scope="module")
def built_store(tmp_path_factory) -> Path:
    everything = load_targets()
    targets = [t for t in everything if t.example in EXAMPLES]
    h = Hierarchy.build(targets)
    folder = tmp_path_factory.mktemp("calibration")
    store = CalibrationStore.create(
        folder,
        model_fingerprints={"metastatic_io": "fp0"},
        targets_hash=targets_hash(everything),
        hierarchy_json=h.to_json(),
        n_targets=len(everything),
        options={"free_quantities": list(h.names)},
    )
    rng = np.random.default_rng(3)
    u = rng.uniform(size=(SETS, len(h.free)))
    sets = pd.DataFrame(
        {q.name: q.lower + u[:, j] * (q.upper - q.lower) for j, q in enumerate(h.free)}
    )
    ids = store.add_wave(
        1,
        design="given",
        patients=PATIENTS,
        seed=0,
        examples=list(EXAMPLES),
        sets=sets,
        origin="given",
    )
    z = (u - 0.5) * 2
    for i, sid in enumerate(ids):
        for ex in EXAMPLES:
            mine = [t for t in targets if t.example == ex]
            summary = pd.DataFrame(
                [
                    {"arm": t.arm, "endpoint": t.endpoint, "value": _value(t, z[i]), "n": PATIENTS}
                    for t in mine
                ]
            )
            rec = SimRecord(
                sid,
                ex,
                PATIENTS,
                0,
                2 * PATIENTS,
                "metastatic_io",
                "fp0",
                "ps",
                f"pv-{sid}",
                1.0,
                "ok",
                "",
            )
            store.record(rec, summary)
    store.close()
    return folder


@pytest.fixture
def store_dir(tmp_path, built_store) -> Path:
    out = tmp_path / "cal"
    shutil.copytree(built_store, out)
    return out


@pytest.mark.slow
def test_loto_leaves_the_trial_out_and_resumes(store_dir, monkeypatch):
    calls: list[tuple[str, ...]] = []
    real = fit_mod.fit_store

    def spy(*args, **kw):
        res = real(*args, **kw)
        calls.append(tuple(kw.get("exclude_trials", ())))
        if kw.get("exclude_trials"):
            left = set(kw["exclude_trials"])
            assert res.fitted and not [t for t in res.fitted if fit_mod.trial_of(t) in left]
            assert [t for t in res.targets if fit_mod.trial_of(t) in left]  # still predicted
            assert kw["emulator"] is not None  # the full fit's emulator, reused
        return res

    monkeypatch.setattr(fit_mod, "fit_store", spy)
    scored, _ = run_validation(store_dir, trials=["keynote024"], **FAST)
    assert calls == [(), ("KEYNOTE-024",)]  # the full fit, then one refit
    assert set(scored["trial"]) == {"KEYNOTE-024"}
    assert set(scored["arm_id"]) == {"KN024_PEMBRO", "KN024_CHEMO"}
    row = scored.set_index("target").loc["KN024_PEMBRO:ORR"]
    assert row["observed"] == 44.8 and row["model_low"] < row["model_high"]
    # anti-PD-(L)1 in NSCLC, no 1L all-comers arm elsewhere: the tie goes to the larger n
    assert row["lookup_arm"] == "KN001_NSCLC_PEMBRO"
    assert row["novel"]  # KN024_PEMBRO is in the committed novel list
    out = store_dir / VALIDATION_DIR
    for name in (
        "validation.csv",
        "validation_summary.csv",
        "validation_table.md",
        TARGETS_FILE,
        TRIALS_FILE,
        "settings.json",
        "emulator.pkl",
    ):
        assert (out / name).is_file(), name
    assert "lookup" in (out / "validation_table.md").read_text()

    # rerun with one more trial: the finished one is skipped, the emulator not refitted
    calls.clear()
    scored2, _ = run_validation(store_dir, trials=["KEYNOTE-024", "CheckMate 017"], **FAST)
    assert calls == [("CheckMate 017",)]
    assert set(scored2["trial"]) == {"KEYNOTE-024", "CheckMate 017"}
    trials = pd.read_csv(out / TRIALS_FILE)
    assert list(trials["trial"]) == ["KEYNOTE-024", "CheckMate 017"]
    assert (trials["seconds"] > 0).all()
    # a third call finds everything done: no fit at all, same rows
    calls.clear()
    scored3, _ = run_validation(store_dir, trials=["KEYNOTE-024", "CheckMate 017"], **FAST)
    assert calls == [] and len(scored3) == len(scored2)

    # other settings on the same folder: refused with the fix
    with pytest.raises(OncotwinError, match="other settings"):
        run_validation(store_dir, trials=["KEYNOTE-024"], **{**FAST, "warmup": 31})

    # the CLI reads the finished folder (nothing to refit) and prints the table
    from rich.console import Console

    from oncotwin.calibration import cli
    from oncotwin.calibration.cli import app

    monkeypatch.setattr(fit_mod, "fit_store", real)
    monkeypatch.setattr(cli, "console", Console(width=200))  # no wrapping of the table
    res = CliRunner().invoke(
        app,
        [
            "validate",
            str(store_dir),
            "--trials",
            "KEYNOTE-024",
            "--chains",
            "2",
            "--warmup",
            "30",
            "--samples",
            "30",
            "--draws",
            "100",
            "--active",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "lookup" in res.output and "ORR/CR" in res.output and "validation.csv" in res.output
    settings = json.loads((out / "settings.json").read_text())
    assert settings["warmup"] == 30


def test_clear_errors(tmp_path, built_store):
    with pytest.raises(OncotwinError, match="not a calibration store"):
        run_validation(tmp_path)
    with pytest.raises(OncotwinError, match=r"did you mean.*KEYNOTE-024"):
        run_validation(built_store, trials=["KEYNOTE-02"])
    # a store with no simulations yet: the fit says how to get some
    empty = tmp_path / "empty"
    targets = load_targets()
    store = CalibrationStore.create(
        empty,
        model_fingerprints={"metastatic_io": "fp0"},
        targets_hash=targets_hash(targets),
        hierarchy_json=Hierarchy.build([t for t in targets if t.example in EXAMPLES]).to_json(),
        n_targets=len(targets),
    )
    store.close()
    with pytest.raises(OncotwinError, match="no waves; run `oncotwin calibrate run`"):
        run_validation(empty)


def test_cli_errors_are_one_line(tmp_path):
    from oncotwin.calibration.cli import app

    res = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert res.exit_code == 2
    assert "error:" in res.output and "not a calibration store" in res.output
