"""``oncotwin trial``: run, report, compare and examples, as a user runs them.

One small KEYNOTE-024 run (12 patients, two chunks of 6) is shared by the module: the first
simulation compiles the metastatic_io kernels (minutes, once; then cached in
``~/.cache/oncotwin``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotwin.cli.main import app
from oncotwin.cli.trial import INTERRUPTED, NOT_FITTED
from oncotwin.simulation import DISCLAIMER
from oncotwin.trials.targets import published

runner = CliRunner()

#: Published ORR of KEYNOTE-024's pembrolizumab arm (Reck NEJM 2016; oncotwin.trials.targets).
KN024_PEMBRO_ORR = published("KN024_PEMBRO").orr_pct


def _summary(out) -> pd.DataFrame:
    from oncotwin.trials.store import TrialStore

    return TrialStore.open(out).read("summary")


@pytest.fixture(scope="module")
def keynote_run(tmp_path_factory):
    """``oncotwin trial run --example keynote024 --patients 12 --out DIR --chunk-size 6``."""
    out = tmp_path_factory.mktemp("cli_trial") / "run"
    args = ["trial", "run", "--example", "keynote024", "--patients", "12"]
    result = runner.invoke(app, [*args, "--out", str(out), "--chunk-size", "6"])
    return out, result


def test_examples_lists_the_shipped_trials() -> None:
    r = runner.invoke(app, ["trial", "examples"])
    assert r.exit_code == 0, r.output
    assert "checkmate067" in r.stdout and "keynote024" in r.stdout
    assert "KEYNOTE-024" in r.stdout and "nsclc" in r.stdout


def test_run_needs_exactly_one_of_spec_and_example(tmp_path) -> None:
    r = runner.invoke(app, ["trial", "run", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "no trial given: pass a SPEC.toml file or --example NAME" in r.output
    spec = tmp_path / "t.toml"
    spec.write_text("")
    r = runner.invoke(
        app, ["trial", "run", str(spec), "--example", "keynote024", "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2 and "or --example ('keynote024'), not both" in r.output
    assert not (tmp_path / "o").exists()


def test_unknown_example_suggests_the_close_name(tmp_path) -> None:
    r = runner.invoke(app, ["trial", "run", "--example", "keynote24", "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "--example: unknown example trial 'keynote24'; did you mean 'keynote024'" in r.output
    assert "oncotwin trial examples" in r.output and "Traceback" not in r.output


def test_broken_spec_file_names_file_and_line(tmp_path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('[trial]\nname = "X"\ncancer = nsclc\n')
    r = runner.invoke(app, ["trial", "run", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    first = r.output.strip().splitlines()[0]
    assert first.startswith(f"error: {bad}:3: TOML syntax error")
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["trial", "run", str(tmp_path / "nope.toml"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "nope.toml' not found" in r.output


def test_unknown_cancer_fails_before_the_store_is_made(tmp_path) -> None:
    from oncotwin.trials.spec import example_path

    text = example_path("keynote024").read_text().replace('cancer = "nsclc"', 'cancer = "nsclcc"')
    spec = tmp_path / "k.toml"
    spec.write_text(text)
    r = runner.invoke(app, ["trial", "run", str(spec), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "'nsclcc'" in r.output and "nsclc" in r.output
    assert not (tmp_path / "o").exists()


def _ctrl_c(*args, progress=None, **kwargs):
    progress(1, 2)
    raise KeyboardInterrupt


def _ctrl_c_in_duckdb(*args, progress=None, **kwargs):
    """What the store raises when Ctrl-C lands while DuckDB reads a chunk's DataFrame."""
    from oncotwin.trials.store import StoreError

    progress(1, 2)
    try:
        raise RuntimeError("Traceback (most recent call last):\nKeyboardInterrupt: ")
    except RuntimeError as exc:
        raise StoreError(f"chunk 1: writing failed ({exc}); nothing was kept") from exc


@pytest.mark.parametrize("run_trial", [_ctrl_c, _ctrl_c_in_duckdb])
def test_ctrl_c_keeps_chunks_and_exits_130(tmp_path, monkeypatch, run_trial) -> None:
    import oncotwin.trials.run as run_module

    monkeypatch.setattr(run_module, "run_trial", run_trial)
    r = runner.invoke(app, ["trial", "run", "--example", "keynote024", "--out", str(tmp_path)])
    assert r.exit_code == 130
    assert INTERRUPTED in r.output and "error" not in r.output


def test_report_and_compare_need_a_finished_store(tmp_path) -> None:
    r = runner.invoke(app, ["trial", "compare", str(tmp_path)])
    assert r.exit_code == 2 and "holds no trial store" in r.output
    r = runner.invoke(app, ["trial", "report", str(tmp_path)])
    assert r.exit_code == 2 and "holds no trial store" in r.output
    from oncotwin.trials.spec import example_path, load_spec
    from oncotwin.trials.store import TrialStore

    TrialStore(tmp_path).create(load_spec(example_path("keynote024"))).close()
    r = runner.invoke(app, ["trial", "compare", str(tmp_path)])
    assert r.exit_code == 2 and "has no summary yet (status 'running')" in r.output
    assert "--resume" in r.output


def test_run_writes_store_report_and_summary(keynote_run) -> None:
    out, r = keynote_run
    assert r.exit_code == 0, r.output
    assert (out / "trial.duckdb").is_file() and (out / "report.html").is_file()
    assert "KEYNOTE-024: 12 patients, 2 arms; 2 chunks run" in r.stdout
    assert "ORR [%]" in r.stdout and "median_PFS_mo" in r.stdout and "HR_OS" in r.stdout
    assert f"{KN024_PEMBRO_ORR:g}" in r.stdout
    assert f"report: {out / 'report.html'}" in r.stdout
    assert DISCLAIMER in r.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["patients"] == 12 and manifest["chunk_size"] == 6


def test_compare_prints_published_values(keynote_run) -> None:
    out, run = keynote_run
    assert run.exit_code == 0, run.output
    r = runner.invoke(app, ["trial", "compare", str(out)])
    assert r.exit_code == 0, r.output
    assert KN024_PEMBRO_ORR == 44.8
    assert "44.8" in r.stdout and "KN024_PEMBRO" in r.stdout
    assert "difference" in r.stdout and NOT_FITTED[:40] in " ".join(r.stdout.split())
    row = next(line for line in r.stdout.splitlines() if "ORR" in line and "44.8" in line)
    summary = _summary(out).set_index(["arm", "endpoint"])
    diff = summary.loc[("pembrolizumab", "ORR"), "value"] - 44.8
    assert f"{diff:+.3g}" in row
    every = runner.invoke(app, ["trial", "compare", str(out), "--all"])
    assert every.exit_code == 0 and "DCR" in every.stdout and "DCR" not in r.stdout


def test_report_rewrites_the_html(keynote_run) -> None:
    out, run = keynote_run
    assert run.exit_code == 0, run.output
    (out / "report.html").unlink()
    r = runner.invoke(app, ["trial", "report", str(out)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(out / "report.html")
    assert "KEYNOTE-024" in (out / "report.html").read_text(encoding="utf-8")


def test_second_run_needs_resume_and_resume_runs_nothing(keynote_run) -> None:
    out, run = keynote_run
    assert run.exit_code == 0, run.output
    before = _summary(out)
    args = ["trial", "run", "--example", "keynote024", "--out", str(out)]
    r = runner.invoke(app, [*args, "--patients", "12", "--chunk-size", "6"])
    assert r.exit_code == 2
    assert "already holds a store of this spec (2 chunks done" in r.output
    assert "use --resume to continue it or a new --out" in r.output
    # --patients and --chunk-size default to the store's with --resume
    r = runner.invoke(app, [*args, "--resume"])
    assert r.exit_code == 0, r.output
    assert "0 chunks run" in r.stdout and "(2 were in the store already)" in r.stdout
    pd.testing.assert_frame_equal(_summary(out), before)


def test_package_exports_resolve_and_load_lazily() -> None:
    """The trial names are exported from the packages but imported only on first use."""
    import importlib

    import oncotwin.plotting as plotting
    import oncotwin.population as population
    import oncotwin.regimens as regimens
    import oncotwin.trials as trials

    for mod, names in trials._EXPORTS.items():
        assert set(names) == set(importlib.import_module(f"oncotwin.trials.{mod}").__all__), mod
    assert sorted(trials.__all__) == sorted(n for ns in trials._EXPORTS.values() for n in ns)
    for package in (trials, population, plotting, regimens):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
    assert trials.run_trial is importlib.import_module("oncotwin.trials.run").run_trial
    covariates = importlib.import_module("oncotwin.population.covariates")
    assert population.match_baseline is covariates.match_baseline
    assert plotting.plot_km is importlib.import_module("oncotwin.plotting.trial").plot_km
    assert regimens.canonical_site("Lymph node") == "lymph_node"
    with pytest.raises(AttributeError, match=r"'oncotwin\.trials' has no attribute 'run_trail'"):
        trials.run_trail  # noqa: B018
    code = (
        "import sys, oncotwin.trials, oncotwin.population, oncotwin.plotting; "
        "print(sorted(m for m in ('duckdb', 'lifelines', 'pydantic', 'pandas', "
        "'oncotwin.trials.run') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
