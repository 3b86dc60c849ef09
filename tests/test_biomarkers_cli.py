"""``oncotwin biomarkers RUN_DIR`` and ``TrialResult.biomarkers()`` on a tiny virtual trial."""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from oncotwin.biomarkers import BiomarkerError
from oncotwin.cli.main import app
from oncotwin.trials import Trial
from oncotwin.trials.result import TrialResult

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """CheckMate 067 with 45 virtual patients (about 10 s)."""
    out = tmp_path_factory.mktemp("bm") / "run"
    Trial.from_example("checkmate067").run(patients=45, out=out)
    return out


def test_cli_writes_tables_plots_report_section_and_store(tiny_run):
    res = runner.invoke(app, ["biomarkers", str(tiny_run), "--baseline-only", "--boot", "20"])
    assert res.exit_code == 0, res.output
    assert "Research simulation" in res.output and "AUC" in res.output
    for name in (
        "biomarkers.csv",
        "biomarker_strata.csv",
        "biomarkers_roc.png",
        "biomarkers_forest.png",
        "biomarkers.html",
    ):
        assert (tiny_run / name).stat().st_size > 0, name
    report = (tiny_run / "report.html").read_text()
    assert report.count('<section id="biomarkers">') == 1
    with duckdb.connect(str(tiny_run / "trial.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT marker, auc FROM biomarkers WHERE \"group\" = 'all'").fetchall()
    aucs = dict(rows)
    assert {"tmb", "nlr", "immune_phenotype", "loris", "logistic_score"} <= set(aucs)
    assert all(0.0 <= v <= 1.0 for v in aucs.values())
    # a second run replaces the section and the tables instead of adding to them
    res = runner.invoke(app, ["biomarkers", str(tiny_run), "--baseline-only", "--boot", "20"])
    assert res.exit_code == 0, res.output
    assert (tiny_run / "report.html").read_text().count('<section id="biomarkers">') == 1
    # the store still opens as a trial result
    assert len(TrialResult.open(tiny_run).patients) == 45


def test_cli_unknown_marker_and_missing_run_fail_cleanly(tiny_run, tmp_path):
    res = runner.invoke(app, ["biomarkers", str(tiny_run), "--marker", "tbm", "--baseline-only"])
    assert res.exit_code == 2
    assert "unknown marker 'tbm'" in res.output
    res = runner.invoke(app, ["biomarkers", str(tmp_path)])
    assert res.exit_code == 2
    assert "holds no trial store" in res.output


def test_on_treatment_markers_refused_for_a_run_of_another_model(tiny_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_run, other, ignore=shutil.ignore_patterns(".lock"))
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["model_fingerprint"] = "0000000000000000"
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BiomarkerError, match="model fingerprint 0000000000000000"):
        TrialResult.open(other).biomarkers(markers=["size_change_w6"])


@pytest.mark.slow
def test_on_treatment_markers_of_a_tiny_run(tiny_run):
    a = TrialResult.open(tiny_run).biomarkers(n_boot=20)
    f = a.frame.set_index("patient_id")
    # responders shrink: their week-9 size change is below the non-responders'
    resp = f["response"].to_numpy(bool)
    w9 = f["size_change_w9"].to_numpy(float)
    assert np.nanmedian(w9[resp]) < np.nanmedian(w9[~resp])
    assert a.auc("size_change_w9") < 0.5  # lower values predict response
    # landmark: only patients progression-free at week 9 are analysed
    row = a.table[(a.table["group"] == "all") & (a.table["marker"] == "size_change_w9")]
    assert int(row["n"].iloc[0]) == int((f["pfs_days"] > 63).sum())


@pytest.mark.slow
def test_on_treatment_markers_refused_when_the_run_is_not_reproduced(tiny_run, tmp_path):
    other = tmp_path / "tampered"
    shutil.copytree(tiny_run, other, ignore=shutil.ignore_patterns(".lock"))
    with duckdb.connect(str(other / "trial.duckdb")) as con:
        first = con.execute("SELECT min(patient_id) FROM outcomes WHERE best_response = 'PD'")
        pid = first.fetchone()[0]
        con.execute("UPDATE outcomes SET best_response = 'CR' WHERE patient_id = ?", [pid])
    with pytest.raises(BiomarkerError, match="different best overall response for 1 of"):
        TrialResult.open(other).biomarkers(markers=["size_change_w3"])
