"""End-to-end test of ``oncotwin twin fit / forecast / rank`` on a small CSV."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from oncotwin.cli.main import app
from oncotwin.twin import FORECAST_COLUMNS

CSV = """lesion_id,organ,day,diameter_mm
L1,lung,-10,35
L1,lung,40,30
L1,lung,81,27
L1,lung,123,26
L2,liver,-10,18
L2,liver,40,17
L2,liver,81,17
L2,liver,123,19
"""


def test_twin_cli_end_to_end(tmp_path) -> None:
    src = tmp_path / "patient.csv"
    src.write_text(CSV)
    out = tmp_path / "twin"
    run = CliRunner().invoke
    res = run(
        app,
        [
            "twin",
            "fit",
            str(src),
            "--cancer",
            "nsclc",
            "--regimen",
            "atezolizumab 1200 mg IV q3w",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = (out / "report.html").read_text()
    assert "research simulation, not medical advice" in report.lower()
    assert "data:image/png;base64," in report
    res = run(app, ["twin", "forecast", str(out), "--at", "150", "200", "250"])
    assert res.exit_code == 0, res.output
    fc = pd.read_csv(out / "forecast.csv")
    assert tuple(fc.columns) == FORECAST_COLUMNS
    assert sorted(fc.lesion_id.unique()) == ["L1", "L2", "SLD"]
    assert sorted(fc.day.unique()) == [150, 200, 250]
    res = run(app, ["twin", "forecast", str(out), "--days", "84", "--every", "42"])
    assert res.exit_code == 0, res.output
    assert sorted(pd.read_csv(out / "forecast.csv").day.unique()) == [165, 207]
    res = run(
        app,
        [
            "twin",
            "rank",
            str(out),
            "--regimens",
            "atezolizumab 1200 mg IV q3w",
            "docetaxel 75 mg/m2 IV q3w",
        ],
    )
    assert res.exit_code == 0, res.output
    rank = pd.read_csv(out / "ranking.csv")
    assert len(rank) == 2 and "grade3_4_toxicity_risk" in rank.columns


def test_twin_cli_bad_rows_give_one_clear_error(tmp_path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("lesion_id,organ,day,diameter_mm\nL1,lung,10,-3\nL1,lung,5,4\n")
    res = CliRunner().invoke(
        app,
        [
            "twin",
            "fit",
            str(src),
            "--regimen",
            "atezolizumab 1200 mg IV q3w",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "3 malformed measurement row(s)" in res.output
    assert "negative" in res.output and "comes after" in res.output and "baseline" in res.output
