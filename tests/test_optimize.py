"""`oncotwin optimize`: objectives, --vary choices, common random numbers, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.optimize import optimise, parse_objective, parse_vary
from oncotwin.optimize.candidates import RegimenTemplate, grid_candidates, make_candidate
from oncotwin.optimize.objective import endpoint_matrix
from oncotwin.optimize.search import candidate_spec, evaluate_outcomes
from oncotwin.trials import Trial

# -- objective grammar -----------------------------------------------------------------------


def test_objective_evaluates_linear_and_nonlinear_expressions():
    obj = parse_objective("pfs12 - 0.5*g3tox")
    assert obj.endpoints == ("pfs12", "g3tox")
    assert float(obj({"pfs12": 0.6, "g3tox": 0.2})) == pytest.approx(0.5)
    ratio = parse_objective("(ORR + 1) / (1 + g3plus_AE) - -PFS_6mo")
    assert ratio.endpoints == ("orr", "g3tox", "pfs6")
    assert float(ratio({"orr": 0.5, "g3tox": 0.5, "pfs6": 0.25})) == pytest.approx(1.25)
    assert parse_objective("os24").months == 24.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("pfs12 - 0.5*g3toxx", "did you mean 'g3tox'"),
        ("__import__('os').system('x')", "not allowed"),
        ("pfs12.real", "attributes are not allowed"),
        ("pfs12 > 0.5", "comparisons are not allowed"),
        ("pfs12 ** 2", "operator is not allowed"),
        ("pfs12 -", "not an expression"),
        ("0.5", "names no endpoint"),
        ("", "empty"),
        ("orr + " * 60 + "orr", "at most"),
    ],
)
def test_bad_objective_is_refused_with_a_clear_message(text, match):
    with pytest.raises(OncotwinError, match=match):
        parse_objective(text)


def test_unknown_endpoint_lists_the_endpoints():
    with pytest.raises(UnknownNameError, match=r"pfs<M>.*g3tox"):
        parse_objective("survival")


def test_endpoint_matrix_from_outcomes():
    out = pd.DataFrame(
        {
            "best_response": ["CR", "PR", "SD", "PD"],
            "confirmed": [True, False, False, False],
            "pfs_days": [400.0, 380.0, 100.0, 50.0],
            "pfs_event": [False, True, True, True],
            "os_days": [800.0] * 4,
            "os_event": [False] * 4,
            "g3plus_ae": [True, False, False, True],
            "max_irae_grade": [3, 0, 1, 0],
            "max_crs_grade": 0,
            "max_icans_grade": 0,
        }
    )
    m = endpoint_matrix(out, ("orr", "dcr", "pfs12", "g3tox", "g3irae"))
    np.testing.assert_array_equal(m.mean(axis=0), [0.25, 0.75, 0.5, 0.5, 0.25])
    with pytest.raises(OncotwinError, match="censored before 36 months"):
        endpoint_matrix(out, ("pfs36",))


# -- --vary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("dose", "write NAME=VALUES"),
        ("dos=1,2", "did you mean 'dose'"),
        ("dose=", "no values"),
        ("dose=abc", "is not a dose"),
        ("dose=400:100", "LO < HI"),
        ("dose=-5", "is not a dose"),
        ("interval=1:2:3:4", "a range"),
        ("regimen=pembrolizumab 200 mg IV q3w|nivolumb 240 mg IV q2w", "unknown drug"),
    ],
)
def test_bad_vary_is_refused_with_a_clear_message(item, match):
    with pytest.raises(OncotwinError, match=match):
        parse_vary(item)


def test_vary_fills_the_arm_regimen():
    t = RegimenTemplate.from_text("pembrolizumab 200 mg IV over 30 min q3w x35")
    cands = grid_candidates(
        t, [parse_vary("dose=100:400"), parse_vary("interval=q3w,q6w")], points=2
    )
    assert [c.regimen for c in cands] == [
        "pembrolizumab 100 mg IV over 30 min q3w x35",
        "pembrolizumab 100 mg IV over 30 min q6w x35",
        "pembrolizumab 400 mg IV over 30 min q3w x35",
        "pembrolizumab 400 mg IV over 30 min q6w x35",
    ]
    assert cands[1].label == "100 mg q6w"
    assert parse_vary("dose=40:960mg").unit == "mg"  # the unit may follow the range
    kg = make_candidate(t, {"dose": (2.0, "mg/kg")})
    assert kg.regimen.startswith("pembrolizumab 2 mg/kg IV")
    once = RegimenTemplate.from_text("nivolumab 240 mg IV once")
    with pytest.raises(OncotwinError, match="no 'q<N>w'"):
        once.fill(interval=2.0)
    with pytest.raises(OncotwinError, match="whole weeks"):
        t.fill(interval=2.5)
    with pytest.raises(OncotwinError, match="given twice"):
        grid_candidates(t, [parse_vary("dose=1,2"), parse_vary("dose=3")])


# -- common random numbers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkmate017():
    return Trial.from_example("checkmate017").spec


def test_candidates_get_the_same_virtual_patients(checkmate017):
    t = RegimenTemplate.from_text("nivolumab 3 mg/kg IV q2w until progression")
    tables = [
        evaluate_outcomes(
            candidate_spec(checkmate017, "nivolumab", make_candidate(t, c), min_months=12),
            10,
            7,
        )
        for c in ({"dose": (1.0, "mg/kg")}, {"dose": (10.0, "mg/kg"), "interval": 4.0})
    ]
    a, b = (x["patients"] for x in tables)
    cols = ["patient_id", "weight_kg", "tmb_mut_per_mb", "pdl1_tps_pct", "growth_rate", "pk_eta_CL"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


@pytest.mark.slow
def test_common_random_numbers_shrink_the_variance_of_differences(checkmate017):
    res = optimise(
        checkmate017,
        [parse_vary("dose=240mg,480mg"), parse_vary("interval=2,4")],
        "pfs12 - 0.5*g3tox",
        arm="nivolumab",
        patients=40,
        seed=3,
        bootstrap=300,
    )
    t = res.table
    assert t["phase"].tolist() == ["reference"] + ["grid"] * 4
    others = t[t["phase"] == "grid"]
    # the paired SE (same patients) is below the unpaired one for every candidate
    assert (others["diff_se_paired"] < others["diff_se_unpaired"]).all()
    assert (others["diff_se_paired"] < 0.7 * others["diff_se_unpaired"]).any()
    # every estimate carries its uncertainty, every candidate its exposure view
    assert (t["objective_se"] > 0).all() and t["pfs12_se"].notna().all()
    ratio = t.set_index("candidate")["Cavg_ss_ratio"]
    assert ratio["480 mg q4w"] == pytest.approx(ratio["240 mg q2w"], rel=1e-6)


@pytest.mark.slow
def test_bayesian_optimisation_adds_new_points_in_range(checkmate017):
    res = optimise(
        checkmate017,
        [parse_vary("dose=1:10")],
        "orr - 0.5*g3tox",
        arm="nivolumab",
        patients=16,
        grid_points=2,
        budget=2,
        bootstrap=50,
        exposure=False,
    )
    bayes = res.table[res.table["phase"] == "bayes"]
    assert len(bayes) == 2
    assert res.table["regimen"].is_unique
    doses = bayes["regimen"].str.extract(r"nivolumab ([\d.]+) mg/kg")[0].astype(float)
    assert ((doses >= 1) & (doses <= 10)).all()


def test_duration_and_whole_regimen_choices(checkmate017):
    t = RegimenTemplate.from_text("nivolumab 3 mg/kg IV q2w until progression")
    cand = make_candidate(t, {"dose": (240.0, "mg"), "duration": 12.0})
    assert cand.label == "240 mg max 12 mo"
    one = candidate_spec(checkmate017, "nivolumab", cand, min_months=36)
    assert one.arm_names == ("nivolumab",)
    assert one.treatment.max_duration_months == 12.0
    assert one.trial.follow_up_months == 36.0
    assert one.trial.seed == checkmate017.trial.seed
    combo = parse_vary(
        "regimen=nivolumab 240 mg IV q2w|nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, "
        "then nivolumab 480 mg IV q4w until progression"
    )
    cands = grid_candidates(t, [combo])
    assert [c.regimen for c in cands] == list(combo.values)
    assert cands[1].label == cands[1].regimen


def test_optimise_refuses_bad_options(checkmate017):
    v = [parse_vary("dose=1,2")]
    with pytest.raises(UnknownNameError, match="did you mean 'nivolumab'"):
        optimise(checkmate017, v, "orr", arm="nivolumb", patients=4)
    with pytest.raises(OncotwinError, match="at least 2 virtual patients"):
        optimise(checkmate017, v, "orr", patients=1)
    with pytest.raises(OncotwinError, match="--vary"):
        optimise(checkmate017, [], "orr", patients=4)


# -- CLI -------------------------------------------------------------------------------------


def test_cli_end_to_end_tiny(tmp_path):
    from typer.testing import CliRunner

    from oncotwin.cli.main import app

    out = tmp_path / "opt"
    res = CliRunner().invoke(
        app,
        [
            "optimize",
            "--example",
            "checkmate017",
            "--arm",
            "nivolumab",
            "--vary",
            "dose=240mg,480mg",
            "--objective",
            "pfs12 - 0.5*g3tox",
            "--patients",
            "8",
            "--budget",
            "0",
            "--bootstrap",
            "20",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "not medical advice" in " ".join(res.output.split())
    table = pd.read_csv(out / "optimize.csv", comment="#")
    assert table["candidate"].tolist() == ["reference", "240 mg", "480 mg"]
    assert {"objective_se", "diff_se_paired", "Cmin_ss_ratio"} <= set(table.columns)
    assert (out / "optimize.png").stat().st_size > 1000
    assert (out / "exposure.csv").exists()


def test_cli_bad_vary_exits_with_message(tmp_path):
    from typer.testing import CliRunner

    from oncotwin.cli.main import app

    res = CliRunner().invoke(
        app,
        ["optimize", "--example", "checkmate017", "--vary", "doze=1", "--out", str(tmp_path)],
    )
    assert res.exit_code == 2
    assert "did you mean 'dose'" in res.output
