"""The command line, as a user runs it."""

from __future__ import annotations

import pyarrow.parquet as pq
from typer.testing import CliRunner

from oncotwin.cli.main import app

runner = CliRunner()


def test_models_and_drugs_list() -> None:
    r = runner.invoke(app, ["models"])
    assert r.exit_code == 0 and "kuznetsov1994" in r.stdout and "bench_anchor" in r.stdout
    r = runner.invoke(app, ["drugs"])
    assert r.exit_code == 0 and "pembrolizumab" in r.stdout and "PD-1" in r.stdout
    r = runner.invoke(app, ["models", "kuznetsov1994"])
    assert r.exit_code == 0 and "dT/dt" in r.stdout and "Kuznetsov1994" in r.stdout


def test_simulate_writes_parquet_and_plot(tmp_path) -> None:
    """The issue's example: oncotwin simulate --model kuznetsov1994 --patients 1000 --days 400
    --out k.parquet --plot k.png."""
    out, png = tmp_path / "k.parquet", tmp_path / "k.png"
    r = runner.invoke(
        app,
        [
            "simulate",
            "--model",
            "kuznetsov1994",
            "--patients",
            "1000",
            "--days",
            "400",
            "--out",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert r.exit_code == 0, r.output
    t = pq.read_table(out)
    assert {"patient", "time [day]", "E [cell]", "T [cell]"} <= set(t.column_names)
    assert t.num_rows == 1000 * 59
    assert png.stat().st_size > 10_000
    assert "not medical advice" in r.stdout


def test_simulate_default_job_with_regimen(tmp_path) -> None:
    out = tmp_path / "s.parquet"
    r = runner.invoke(app, ["simulate", "--patients", "50", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "bench_anchor" in r.stdout and out.exists()


def test_bad_input_is_one_clear_message() -> None:
    r = runner.invoke(app, ["simulate", "--regimen", "pembrolizumb 200 mg IV q3w"])
    assert r.exit_code == 2
    assert "did you mean 'pembrolizumab'" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["simulate", "--model", "kuznetsof1994"])
    assert r.exit_code == 2 and "did you mean 'kuznetsov1994'" in r.output
    r = runner.invoke(app, ["simulate", "--regimen", "pembrolizumab -200 mg IV q3w"])
    assert r.exit_code == 2 and "dose" in r.output
    r = runner.invoke(app, ["simulate", "--vary", "r0.3"])
    assert r.exit_code == 2 and "PARAM=SD" in r.output
