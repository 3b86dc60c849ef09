"""``oncotwin sensitivity`` as a user runs it, its refusals of bad input, and the screening of
the calibration quantities (slow).

The fast run is CheckMate 017 (nivolumab vs docetaxel, NSCLC) at 8 virtual patients with 2
parameters and 2 Morris trajectories: 6 design points and 5 one-at-a-time runs, ~10 s.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("SALib")

from oncotwin.cli.main import app

runner = CliRunner()

VARY = ["--vary", "growth_rate=0.002:0.008", "--vary", "chemo_sensitivity=0.01:0.2"]
SMALL = ["--example", "checkmate017", "--trajectories", "2", "--patients", "8", "--seed", "3"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sens") / "checkmate017"
    args = ["sensitivity", *SMALL, *VARY, "--endpoints", "ORR,median_OS_mo", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output, args


def test_cli_writes_table_figure_and_page(small_run) -> None:
    out, output, _ = small_run
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["parameter"]) == {"growth_rate", "chemo_sensitivity"}
    assert set(table["arm"]) == {"nivolumab", "docetaxel"}
    assert set(table["endpoint"]) == {"ORR", "median_OS_mo"}
    assert (table["method"] == "morris").all()
    for col in ("mu", "mu_star", "mu_star_conf", "sigma", "at_low", "at_high", "change"):
        assert col in table.columns
    assert (out / "tornado.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "sensitivity.html").read_text()
    assert "Research simulation, not medical advice" in page
    assert "growth_rate: 0.002..0.008 1/day (linear" in page
    assert "chemo_sensitivity: 0.01..0.2" in page and "log-scaled" in page
    assert "mu_star" in output and "11 design points" in output


def test_faster_growth_shortens_survival_and_chemo_sensitivity_only_moves_chemo(small_run) -> None:
    out, _, _ = small_run
    t = pd.read_csv(out / "sensitivity.csv").set_index(["parameter", "arm", "endpoint"])
    for arm in ("nivolumab", "docetaxel"):
        row = t.loc[("growth_rate", arm, "median_OS_mo")]
        assert row["at_high"] < row["at_low"], row  # tornado direction
        assert row["change"] < 0 and row["mu"] < 0
    # the nivolumab arm gets no chemotherapy: chemo_sensitivity cannot move it
    nivo = t.loc[("chemo_sensitivity", "nivolumab", "median_OS_mo")]
    assert nivo["mu_star"] == 0 and nivo["change"] == 0
    ranked = t.xs(("nivolumab", "median_OS_mo"), level=("arm", "endpoint"))["mu_star"]
    assert ranked.idxmax() == "growth_rate"


def test_rerun_resumes_from_stored_points(small_run) -> None:
    out, _, args = small_run
    before = pd.read_csv(out / "sensitivity.csv")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "0 simulated now" in result.output
    pd.testing.assert_frame_equal(before, pd.read_csv(out / "sensitivity.csv"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--vary", "growth_rat=0.002:0.008"], "did you mean 'growth_rate'"),
        (["--vary", "growth_rate=0.008:0.002"], "is not below high"),
        (["--vary", "growth_rate=fast:slow"], "is not two numbers"),
        (["--vary", "growth_rate"], "is not NAME=LO:HI"),
        (["--vary", "pk_female=0:1"], "pk_female is 0 in metastatic_io/nsclc"),
        (["--vary", "growth_rate=0.002:0.008", "--trajectories", "1"], "at least 2 traj"),
        (["--vary", "growth_rate=0.002:0.008", "--method", "sobol", "--samples", "10"], "power"),
        (["--vary", "growth_rate=0.002:0.008", "--method", "fast"], "unknown"),
        (["--vary", "growth_rate=0.002:0.008", "--endpoints", "median_OS"], "did you mean"),
        (["--vary", "growth_rate=0.002:0.008", "--vary-calibration"], "not both"),
        ([], "nothing to vary"),
    ],
)
def test_bad_input_gets_one_clear_message(tmp_path, extra, message) -> None:
    args = ["sensitivity", "--example", "checkmate017", "--patients", "4", *extra]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "x" / "points.csv").exists()


def test_vary_calibration_needs_an_example(tmp_path) -> None:
    from oncotwin.trials.spec import example_path

    spec = str(example_path("checkmate017"))
    result = runner.invoke(app, ["sensitivity", spec, "--vary-calibration", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--vary-calibration needs --example" in " ".join(result.output.split())


@pytest.mark.slow
def test_screen_calibration_ranks_quantities_and_names_inert_ones(tmp_path) -> None:
    """Morris screening of the calibration thetas that apply to CheckMate 017 (~30 quantities,
    2 trajectories, 8 patients: ~60 simulations, ~1.5 min)."""
    from oncotwin.calibration import Hierarchy, load_targets
    from oncotwin.calibration.sensitivity import inert_quantities, screen_calibration

    targets = [t for t in load_targets() if t.example == "checkmate017"]
    hierarchy = Hierarchy.build()
    screen = screen_calibration(hierarchy, ["checkmate017"], 8, 2, 1, targets=targets, out=tmp_path)
    assert set(screen["target_id"]) <= {t.target_id for t in targets}
    assert screen["mu_star_norm"].dropna().between(0, 1).all()
    top = screen.dropna(subset=["mu_star_norm"]).groupby("target_id")["mu_star_norm"].max()
    assert ((top == 1) | (top == 0)).all()
    inert = inert_quantities(screen)
    # CAR-T and cytokine-release potencies cannot move a nivolumab/docetaxel trial
    assert {"cart_kill", "crs_grade3"} <= set(inert)
    assert "growth_rate@nsclc" not in inert
    # resumable: a second screen reads its points back and stores nothing new
    points = tmp_path / "checkmate017" / "points.csv"
    size = points.stat().st_size
    again = screen_calibration(hierarchy, ["checkmate017"], 8, 2, 1, targets=targets, out=tmp_path)
    pd.testing.assert_frame_equal(screen, again)
    assert points.stat().st_size == size


@pytest.mark.slow
def test_sobol_without_tornado_writes_index_bars(tmp_path) -> None:
    """Sobol' at 4 base samples (16 simulations, ~20 s): S1/ST with intervals, no one-at-a-time
    columns, and the index-bar figure."""
    out = tmp_path / "sobol"
    args = ["sensitivity", *SMALL, *VARY, "--method", "sobol", "--samples", "4", "--no-tornado"]
    result = runner.invoke(app, [*args, "--endpoints", "median_OS_mo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    t = pd.read_csv(out / "sensitivity.csv")
    assert (t["method"] == "sobol").all() and t["change"].isna().all()
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(t.columns)
    nivo = t[(t["arm"] == "nivolumab")].set_index("parameter")
    # growth is all that moves the nivolumab arm (4 base samples estimate its share poorly,
    # but with common random numbers chemo_sensitivity's estimators are exactly 0)
    assert nivo.loc["growth_rate", "ST"] > 0
    assert nivo.loc["chemo_sensitivity", ["S1", "ST"]].abs().max() == pytest.approx(0, abs=1e-9)
    assert "Indices by factor" in (out / "sensitivity.html").read_text()
    assert len(pd.read_csv(out / "points.csv")["key"].unique()) == 16
