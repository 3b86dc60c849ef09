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


def test_sbml_export_then_simulate_round_trip(tmp_path) -> None:
    """oncotwin sbml export MODEL, then oncotwin simulate --sbml FILE: same trajectories as
    the shipped model (untreated Kuznetsov, same default parameters)."""
    xml, out = tmp_path / "k.xml", tmp_path / "k.parquet"
    r = runner.invoke(app, ["sbml", "export", "kuznetsov1994", "--out", str(xml)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["simulate", "--sbml", str(xml), "--patients", "3", "--days", "50", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    table = pq.read_table(out).to_pandas()
    ref = runner.invoke(
        app,
        [
            "simulate",
            "--model",
            "kuznetsov1994",
            "--patients",
            "3",
            "--days",
            "50",
            "--vary",
            "a=0",
            "--vary",
            "n=0",
            "--vary",
            "p=0",
            "--vary",
            "T_0=0",
            "--out",
            str(tmp_path / "ref.parquet"),
        ],
    )
    assert ref.exit_code == 0, ref.output
    want = pq.read_table(tmp_path / "ref.parquet").to_pandas()
    t_col = next(c for c in table.columns if c.startswith("T "))
    assert abs(table[t_col].iloc[-1] / want["T [cell]"].iloc[-1] - 1) < 1e-5


def test_sbml_info_and_bad_input(shared_file, tmp_path) -> None:
    path = shared_file("bench/anchor_model.xml")
    r = runner.invoke(app, ["sbml", "info", str(path)])
    assert r.exit_code == 0 and "events" in r.stdout
    bad = tmp_path / "bad.xml"
    bad.write_text("<sbml>not really</sbml>")
    r = runner.invoke(app, ["sbml", "info", str(bad)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(app, ["simulate", "--sbml", str(path), "--model", "kuznetsov1994"])
    assert r.exit_code == 2 and "either --model or --sbml" in r.output
