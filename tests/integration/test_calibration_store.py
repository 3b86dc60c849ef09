"""The calibration store on disk: a round trip of every table, one writer at a time, refusal of
another model's simulations, ``oncotwin calibrate status`` and ``report``, and (slow) a real
wave killed mid-way in a subprocess and resumed without losing or duplicating a simulation."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotwin.calibration.store import (
    FRESH_FIX,
    CalibrationStore,
    CalibrationStoreError,
    SimRecord,
)
from oncotwin.cli.main import app

HIER = json.dumps({"free": [["growth_rate", -0.5, 0.5]]})


def _store(path: Path, fingerprint: str | None = None, **kw) -> CalibrationStore:
    from oncotwin.models.registry import get_model

    fp = fingerprint or get_model("bench_anchor").fingerprint
    opts = {"model_fingerprints": {"bench_anchor": fp}, "targets_hash": "t1",
            "hierarchy_json": HIER, "n_targets": 3,
            "options": {"free_quantities": ["growth_rate"]}}  # fmt: skip
    opts.update(kw)
    return CalibrationStore.create(path, **opts)


def _rec(sid: str, example: str, status: str = "ok", wall: float = 2.0) -> SimRecord:
    msg = "" if status == "ok" else "SolverError: stiff"
    return SimRecord(
        sid, example, 8, 0, 16, "bench_anchor", "fp", "base", f"h-{sid}", wall, status, msg
    )


def _summary(orr: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ["drug", "drug", "drug", "control"],
            "endpoint": ["ORR", "median_OS_mo", "median_DOR_mo", "HR_OS"],
            "value": [orr, math.inf, math.nan, 0.7],
            "n": [8, 8, 0, 8],
        }
    )


def _filled(path: Path) -> CalibrationStore:
    store = _store(path)
    store.add_wave(1, design="sobol", patients=8, seed=0, examples=["ex_a", "ex_b"],
                   sets=pd.DataFrame({"growth_rate": [0.0, 0.25]}))  # fmt: skip
    store.record(_rec("w1-0000", "ex_a"), _summary(40.0))
    store.record(_rec("w1-0000", "ex_b", wall=4.0), _summary(20.0))
    store.record(_rec("w1-0001", "ex_a", status="error"))
    return store


def test_round_trip_of_every_table(tmp_path):
    store = _filled(tmp_path)
    store.close()
    back = CalibrationStore.open(tmp_path)
    info = back.run_info()
    assert info["targets_hash"] == "t1" and info["hierarchy"] == json.loads(HIER)
    assert back.wave_info(1)["examples"] == ["ex_a", "ex_b"] and back.last_wave() == 1
    sets = back.sets()
    assert list(sets.index) == ["w1-0000", "w1-0001"] and list(sets["growth_rate"]) == [0, 0.25]
    sims = back.sims()
    assert list(sims["status"]) == ["ok", "ok", "error"]
    assert sims["message"].iloc[2] == "SolverError: stiff" and sims["wall_s"].sum() == 8.0
    assert set(sims["parameter_values_hash"]) == {"h-w1-0000", "h-w1-0001"}
    vals = back.values().set_index(["example", "arm", "endpoint"])
    assert vals.loc[("ex_a", "drug", "ORR"), "value"] == 40.0
    assert vals.loc[("ex_a", "drug", "median_OS_mo"), "value"] == math.inf  # not reached
    assert math.isnan(vals.loc[("ex_a", "drug", "median_DOR_mo"), "value"])
    assert back.finished(1) == {("w1-0000", "ex_a"): "ok", ("w1-0000", "ex_b"): "ok",
                                ("w1-0001", "ex_a"): "error"}  # fmt: skip

    class T:
        def __init__(self, tid, ex, arm, ep):
            self.target_id, self.example, self.arm, self.endpoint = tid, ex, arm, ep

    targets = [T("A:ORR", "ex_a", "drug", "ORR"), T("B:HR_OS", "ex_b", "control", "HR_OS")]
    wide = back.target_values(targets, wave=1)
    assert list(wide.columns) == ["A:ORR", "B:HR_OS"]
    assert wide.loc["w1-0000"].tolist() == [40.0, 0.7]
    assert wide.loc["w1-0001"].isna().all()  # failed and missing simulations are NaN
    assert back.target_values(targets, what="n").loc["w1-0000", "A:ORR"] == 8


def test_a_finished_simulation_is_never_stored_twice(tmp_path):
    store = _filled(tmp_path)
    with pytest.raises(CalibrationStoreError, match="already stored; it is never run twice"):
        store.record(_rec("w1-0000", "ex_a"), _summary(41.0))
    with pytest.raises(CalibrationStoreError, match="wave 1 already exists"):
        store.add_wave(1, design="sobol", patients=8, seed=0, examples=["ex_a"],
                       sets=pd.DataFrame({"growth_rate": [0.1]}))  # fmt: skip
    store.record(_rec("w1-0001", "ex_a"), _summary(30.0))  # a retry replaces the failed row
    sims = store.sims()
    assert len(sims) == 3 and (sims["status"] == "ok").all()
    assert store.values().query("endpoint == 'ORR' and example == 'ex_a'")["value"].tolist() == [
        40.0,
        30.0,
    ]
    store.close()


def test_one_writer_at_a_time_and_readers_alongside(tmp_path):
    store = _filled(tmp_path)
    with pytest.raises(CalibrationStoreError, match="another process is running a calibration"):
        _store(tmp_path)
    assert len(CalibrationStore.open(tmp_path).sims()) == 3  # reading while the writer holds it
    store.close()
    _store(tmp_path).close()  # the lock is released on close
    with pytest.raises(CalibrationStoreError, match="open for reading only"):
        CalibrationStore.open(tmp_path).record(_rec("w1-0001", "ex_b"))
    with pytest.raises(CalibrationStoreError, match="holds no calibration store"):
        CalibrationStore.open(tmp_path / "nothing")


def test_a_changed_model_fingerprint_is_refused_with_the_fix(tmp_path):
    _filled(tmp_path).close()
    with pytest.raises(CalibrationStoreError) as err:
        _store(tmp_path, fingerprint="0000000000000000")
    msg = str(err.value)
    assert "fingerprint" in msg and "0000000000000000" in msg and msg.endswith(FRESH_FIX)
    with pytest.raises(CalibrationStoreError, match="another parameter hierarchy"):
        _store(tmp_path, hierarchy_json=json.dumps({"free": []}))
    fresh = _store(tmp_path, fingerprint="0000000000000000", force_new=True)
    assert fresh.last_wave() is None and "moved to" in fresh.notes[0]
    fresh.close()


def test_cli_status_says_what_is_done_failed_and_whether_the_model_matches(tmp_path, monkeypatch):
    from oncotwin.calibration import cli as calibration_cli

    # the console's width is read once at import (whichever test imported it first)
    monkeypatch.setattr(calibration_cli.console, "_width", 300)
    _filled(tmp_path).close()
    res = CliRunner().invoke(app, ["calibrate", "status", str(tmp_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.output
    assert "model bench_anchor fingerprint" in out and "matches the installed model" in out
    assert "3/4" in out  # done / total of wave 1: 2 sets x 2 examples
    row = next(line for line in out.splitlines() if "3/4" in line)
    assert "sobol" in row and " 1 " in row  # one failed
    # left: w1-0001 x ex_b, at ex_b's measured 4.0 s per simulation of 8 patients per arm
    assert row.rstrip(" │┃").endswith("4.0 s")
    assert "ex_b" in out and "4.0 s" in out  # per-example mean wall time
    assert "failed: w1-0001 ex_a: SolverError: stiff" in out
    # a model changed since: status says so and names the fix
    other = tmp_path / "other"
    _store(other, fingerprint="0000000000000000").close()
    res = CliRunner().invoke(app, ["calibrate", "status", str(other)], env={"COLUMNS": "300"})
    assert res.exit_code == 0 and "DIFFERS from the installed model" in res.output
    assert FRESH_FIX in res.output


def test_cli_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(
        app, ["calibrate", "run", "--out", str(tmp_path), "--theta", str(tmp_path / "no.csv")]
    )
    assert res.exit_code == 2 and "error: --theta: cannot read" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["calibrate", "status", str(tmp_path / "none")])
    assert (
        res.exit_code == 2 and "error:" in res.output and "holds no calibration store" in res.output
    )
    res = CliRunner().invoke(app, ["calibrate", "report", str(tmp_path / "none")])
    assert res.exit_code == 2 and "holds no calibration store" in res.output


# -- a real wave through the CLI, killed and resumed ---------------------------------------------
KILL_RUN = ["calibrate", "run", "--sets", "3", "--patients", "8", "--examples", "zuma1,karmma",
            "--resume"]  # fmt: skip


@pytest.mark.slow
def test_a_killed_wave_resumes_without_losing_or_duplicating(tmp_path):
    out = tmp_path / "cal"
    cmd = [sys.executable, "-m", "oncotwin", *KILL_RUN, "--out", str(out)]
    log = tmp_path / "wave.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if (out / "calibration.duckdb").exists():
                    if len(CalibrationStore.open(out).sims()) >= 1:
                        break
                if proc.poll() is not None:
                    pytest.fail(f"the wave ended before it was killed:\n{log.read_text()}")
                time.sleep(0.2)
            os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    before = CalibrationStore.open(out).sims()
    assert 1 <= len(before) < 6, "kill the wave mid-way"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"{len(before)} already stored" in done.stdout and "6/6 simulations stored" in done.stdout
    )
    after = CalibrationStore.open(out).sims()
    assert len(after) == 6 and not after.duplicated(["set_id", "example"]).any()
    assert (after["status"] == "ok").all(), after["message"].tolist()
    kept = after.set_index(["set_id", "example"]).loc[
        list(zip(before["set_id"], before["example"], strict=True))
    ]
    assert kept["finished_at"].tolist() == before["finished_at"].tolist()  # not run again
    vals = CalibrationStore.open(out).values()
    assert not vals.duplicated(["set_id", "example", "arm", "endpoint"]).any()
    assert set(vals["set_id"]) == {"w1-0000", "w1-0001", "w1-0002"}
