"""Dosing rules applied by the simulation layer: each hold, reduction, stop and steroid
course falls on the right dose day for the right patients (checked against each patient's
own grade trajectory), exposure follows, and a trial's toxicity and efficacy react."""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.errors import OncotwinError
from oncotwin.models.metastatic_io_readouts import READOUTS
from oncotwin.population.virtual import VirtualPopulation
from oncotwin.regimens import parse_regimen
from oncotwin.simulation import (
    TRIAL_OPTIONS,
    apply_dose_rules,
    output_times,
    regimen_dose_events,
)
from oncotwin.solvers import solve

# every dose day a multiple of 7: on the weekly output grid
NIVO_IPI = "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w x20"
CARBO = "pembrolizumab 200 mg IV q3w x6 with carboplatin AUC 5 + pemetrexed 500 mg/m2 IV q3w x4"


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


@pytest.fixture(scope="module")
def melanoma(model):
    return VirtualPopulation.for_trial(model, "melanoma", np.arange(80), seed=3)


def _run(model, pop, text, days, every):
    """The rules applied, the plain (no rule) solve, the grid and the events."""
    regimen = parse_regimen(text)
    prepared = regimen_dose_events(model, regimen, pop.population, days)
    t = output_times(days, every)
    ids = np.arange(pop.n)
    ruled = apply_dose_rules(
        model, regimen, prepared, t, seed=0, patient_ids=ids, options=TRIAL_OPTIONS
    )
    plain = solve(
        model, prepared.population.params, t, events=prepared.events, options=TRIAL_OPTIONS
    )
    return ruled, plain, t, prepared


def _worst(sol, kind):
    """The worst grade so far: the readouts' (from the marker's running peak, which lags
    the marker a little) or the grade itself, whichever is higher."""
    ids = np.arange(sol.y.shape[0])
    now = READOUTS.grade_series(sol, 0, ids, kind)
    return np.maximum(
        READOUTS.grade_series(sol, 0, ids, kind, worst=True), np.maximum.accumulate(now, axis=1)
    )


def _col(t, day):
    j = int(np.searchsorted(t, day))
    assert t[j] == day
    return j


@pytest.fixture(scope="module")
def held(model, melanoma):
    return _run(model, melanoma, NIVO_IPI + ", hold if irAE >= 2 until irAE <= 1", 364.0, 7.0)


def test_a_hold_skips_exactly_the_doses_given_at_grade_2_or_more(held):
    """Each dose is held iff the patient's irAE grade on its day is >= 2 (grade 2 until
    <= 1: with whole grades the same test), from the final trajectory itself."""
    ruled, _, t, prepared = held
    g = READOUTS.grade_series(
        ruled.solution, 0, np.arange(g_n := ruled.multiplier.shape[0]), "irae"
    )
    expected = np.column_stack([g[:, _col(t, d)] < 2 for d in prepared.origin]).astype(float)
    np.testing.assert_array_equal(ruled.multiplier, expected)
    assert g_n == 80 and (expected == 0).any(axis=1).sum() >= 10


def test_a_hold_delays_the_next_dose_until_recovery(held):
    """A patient held at a dose is dosed again at the first scheduled day their grade is
    back to <= 1; the gap between the doses they get is longer than the schedule's."""
    ruled, _, t, prepared = held
    days = np.unique(prepared.origin)
    given = np.column_stack(
        [ruled.multiplier[:, prepared.origin == d].max(axis=1) > 0 for d in days]
    )
    g = READOUTS.grade_series(ruled.solution, 0, np.arange(given.shape[0]), "irae")
    resumed = 0
    for p in range(given.shape[0]):
        off = np.nonzero(~given[p])[0]
        if off.size == 0 or off[0] + 1 >= days.size:
            continue
        back = np.nonzero(given[p, off[0] + 1 :])[0]
        if back.size == 0:
            continue
        k = off[0] + 1 + back[0]
        resumed += 1
        assert g[p, _col(t, days[k])] <= 1 and all(
            g[p, _col(t, days[i])] >= 2 for i in range(off[0], k)
        )
        gaps = np.diff(days[given[p]])
        assert gaps.max() > np.diff(days).max()  # the hold delayed the next dose
    assert resumed >= 3


def test_patients_never_held_keep_their_trajectory_and_held_ones_get_less_drug(model, held):
    ruled, plain, t, _ = held
    never = (ruled.multiplier == 1).all(axis=1)
    assert never.any() and (~never).any()
    np.testing.assert_allclose(ruled.solution.y[never], plain.y[never], rtol=1e-6, atol=1e-9)
    nivo = model.dose_target("nivolumab", "anti-PD-1").state
    auc = np.trapezoid(ruled.solution[nivo], t, axis=1)
    auc0 = np.trapezoid(plain[nivo], t, axis=1)
    assert (auc[~never] < auc0[~never]).all()


def test_a_stop_ends_dosing_at_the_first_dose_day_after_the_grade_3_irae(model, melanoma):
    ruled, plain, t, prepared = _run(model, melanoma, NIVO_IPI + ", stop if irAE >= 3", 364.0, 7.0)
    ids = np.arange(melanoma.n)
    day3 = READOUTS.toxicity(ruled.solution, 0, ids).irae_day
    days = np.unique(prepared.origin)
    stopped = np.isfinite(ruled.stop_day)
    worst = _worst(ruled.solution, "irae")
    seen = worst[:, _col(t, days[-1])] >= 3  # a grade 3-4 by the last dose day
    np.testing.assert_array_equal(stopped, seen)
    assert stopped.sum() >= 10
    for p in np.nonzero(stopped)[0]:
        first = days[days >= day3[p]][0]
        assert ruled.stop_day[p] == first
        on = prepared.origin >= first
        assert (ruled.multiplier[p, on] == 0).all() and (ruled.multiplier[p, ~on] == 1).all()
    assert (ruled.multiplier[~stopped] == 1).all()
    # the stopped patients got fewer doses than scheduled; the others the same trajectory
    assert (ruled.prepared.last_dose_day()[stopped] < prepared.last_dose_day()[stopped]).all()
    np.testing.assert_allclose(ruled.solution.y[~stopped], plain.y[~stopped], rtol=1e-6, atol=1e-9)


def test_a_reduction_lowers_carboplatin_exposure_from_the_dose_after_grade_3(model):
    pop = VirtualPopulation.for_trial(model, "nsclc", np.arange(60), seed=3)
    text = CARBO + ", reduce carboplatin by 25% if neutropenia >= 3"
    ruled, plain, t, prepared = _run(model, pop, text, 126.0, 1.0)
    g = READOUTS.grade_series(ruled.solution, 0, np.arange(pop.n), "neutropenia")
    w = _worst(ruled.solution, "neutropenia")
    carbo = prepared.drug == "carboplatin"
    assert ((ruled.multiplier[:, ~carbo]) == 1).all()  # pembrolizumab and pemetrexed untouched
    days = prepared.origin[carbo]
    factor, expected = np.ones(pop.n), []
    for k, d in enumerate(days):
        if k:  # the worst grade since the previous dose, a nadir between days included
            a, b = _col(t, days[k - 1]), _col(t, d)
            window = np.maximum(
                g[:, a + 1 : b + 1].max(axis=1), np.where(w[:, b] > w[:, a], w[:, b], 0)
            )
            factor = np.where(window >= 3, factor * 0.75, factor)
        expected.append(factor.copy())
    np.testing.assert_allclose(ruled.multiplier[:, carbo], np.column_stack(expected))
    reduced = ruled.multiplier[:, carbo].min(axis=1) < 1
    assert reduced.sum() >= 5 and (~reduced).any()
    state = model.dose_target("carboplatin").state
    auc = np.trapezoid(ruled.solution[state], t, axis=1)
    auc0 = np.trapezoid(plain[state], t, axis=1)
    assert (auc[reduced] < auc0[reduced] - 1e-6 * auc0[reduced]).all()
    np.testing.assert_allclose(auc[~reduced], auc0[~reduced], rtol=1e-6)
    # the same exposure up to the first reduced dose
    for p in np.nonzero(reduced)[0][:5]:
        first = days[np.argmax(ruled.multiplier[p, carbo] < 1)]
        before = t < first  # the output on a dose day is after its dose
        got, want = ruled.solution[state][p, before], plain[state][p, before]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_steroids_start_on_the_first_day_at_the_grade(model, melanoma):
    ruled, plain, t, _ = _run(model, melanoma, NIVO_IPI + ", steroids if irAE >= 2", 364.0, 7.0)
    w = _worst(ruled.solution, "irae")
    on = np.isfinite(ruled.steroid_day)
    np.testing.assert_array_equal(on, w[:, -1] >= 2)
    assert on.sum() >= 10
    for p in np.nonzero(on)[0]:
        j = _col(t, ruled.steroid_day[p])
        assert w[p, j] >= 2 and (w[p, :j] < 2).all()
        assert ruled.solution["steroid"][p, j] > plain["steroid"][p, j]
    assert (ruled.solution["steroid"][~on] == plain["steroid"][~on]).all()
    assert (ruled.multiplier == 1).all()


def test_steroids_for_crs_after_a_single_car_t_infusion(model):
    """Steroid rules are not tied to dose days: CRS peaks days after the one infusion."""
    pop = VirtualPopulation.for_trial(model, "lbcl", np.arange(40), seed=3)
    text = (
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, "
        "then axicabtagene ciloleucel 2e6 cells/kg IV once, steroids if CRS >= 2"
    )
    ruled, plain, t, _ = _run(model, pop, text, 60.0, 1.0)
    w = _worst(ruled.solution, "crs")
    on = np.isfinite(ruled.steroid_day)
    np.testing.assert_array_equal(on, w[:, -1] >= 2)
    assert on.sum() >= 5
    first = t[np.argmax(w >= 2, axis=1)]
    np.testing.assert_array_equal(ruled.steroid_day[on], first[on])
    assert (ruled.steroid_day[on] > 0).all()
    j = np.searchsorted(t, ruled.steroid_day[on])
    rows = np.nonzero(on)[0]
    assert (ruled.solution["steroid"][rows, j] > plain["steroid"][rows, j]).all()


def test_a_model_without_the_readout_is_named():
    says = r"'stop if irAE >= 3' needs the irAE grade over time, which model 'bench_anchor' does"
    with pytest.raises(OncotwinError, match=says):
        ot.simulate(
            ot.get_model("bench_anchor"),
            "pembrolizumab 200 mg IV q3w x4, stop if irAE >= 3",
            patients=2,
            days=30,
        )


def test_simulate_reports_rule_stops(model, melanoma):
    res = ot.simulate(model, NIVO_IPI + ", stop if irAE >= 3", patients=melanoma, days=364, every=7)
    assert res.stop_reason is not None and set(res.stop_reason) <= {"", "toxicity"}
    assert (res.stop_reason == "toxicity").sum() >= 10
    assert str(res.regimen).endswith(", stop if irAE >= 3")


# -- a trial: the same patients with and without the rules ------------------------------------
_SPEC = """
[trial]
name = "dosing rules"
cancer = "melanoma"
seed = 7
patients = 120
follow_up_months = 12

[population]
eligibility = {{ measurable_disease = true }}

[schedule]
scans = "q6w"

[treatment]
discontinue_on = ["progression"]

[[arm]]
name = "arm"
regimen = "{regimen}"
"""
_IO = (
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, "
    "then nivolumab 3 mg/kg IV q2w until progression"
)


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    from oncotwin.trials.spec import parse_spec
    from oncotwin.trials.trial import Trial

    out = {}
    for name, rules in (
        ("none", ""),
        ("stop", ", stop if irAE >= 3"),
        ("hold", ", hold if irAE >= 2 until irAE <= 1, stop if irAE >= 3"),
    ):
        spec = parse_spec(_SPEC.format(regimen=_IO + rules))
        res = Trial(spec).run(calibrated=False, out=tmp_path_factory.mktemp(name), report=False)
        out[name] = res.outcomes.sort_values("patient_id").reset_index(drop=True)
    return out


@pytest.mark.slow
def test_a_trial_arm_with_a_stop_rule_gives_fewer_doses_to_the_same_patients(trials):
    """Same seed, same patients: those without a grade >= 3 irAE have the same course; those
    with one end treatment earlier."""
    none, stop = trials["none"], trials["stop"]
    np.testing.assert_array_equal(none["patient_id"], stop["patient_id"])
    g3 = none["max_irae_grade"].to_numpy() >= 3
    assert 10 <= g3.sum() < len(none)
    same = ["best_response", "pfs_days", "os_days", "treatment_end_day", "max_irae_grade"]
    for col in same:
        np.testing.assert_array_equal(stop.loc[~g3, col], none.loc[~g3, col], err_msg=col)
    end, end0 = stop["treatment_end_day"].to_numpy(), none["treatment_end_day"].to_numpy()
    assert (end[g3] <= end0[g3]).all() and (end[g3] < end0[g3]).mean() > 0.8
    assert (stop["max_irae_grade"] >= 3).sum() == g3.sum()  # the irAE that stopped it stays


@pytest.mark.slow
def test_a_hold_on_grade_2_lowers_severe_irae_and_response(trials):
    """Holding at grade 2 lowers the exposure to checkpoint blockade, so fewer grade >= 3
    irAEs and fewer responses than the same patients dosed as scheduled."""
    none, hold = trials["none"], trials["hold"]

    def orr(o):
        return o["best_response"].isin(["CR", "PR"]).mean()

    g3, g3_0 = (hold["max_irae_grade"] >= 3).mean(), (none["max_irae_grade"] >= 3).mean()
    assert g3 < g3_0 - 0.05
    assert orr(hold) < orr(none) - 0.05
    assert hold["treatment_end_day"].mean() < none["treatment_end_day"].mean()


def test_the_cli_takes_rules_and_names_a_bad_one(tmp_path):
    from typer.testing import CliRunner

    from oncotwin.cli.main import app

    runner = CliRunner()
    base = ["simulate", "--model", "metastatic_io", "--cancer", "melanoma", "--patients", "4"]
    ok = runner.invoke(
        app,
        [*base, "--days", "63", "--out", str(tmp_path / "a.parquet"), "--regimen",
         "pembrolizumab 200 mg IV q3w x4, hold if irAE >= 2 until irAE <= 1, stop if irAE >= 4"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "a.parquet").exists()
    bad = runner.invoke(
        app,
        [*base, "--days", "63", "--out", str(tmp_path / "b.parquet"), "--regimen",
         "pembrolizumab 200 mg IV q3w x4, reduce by 120% if irAE >= 2"],
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "'reduce by 120%' is impossible" in bad.output


def test_the_grade_over_time_agrees_with_the_toxicity_readouts(model, held):
    """The worst grade so far ends at the readouts' worst grade, for every kind."""
    sol = held[0].solution
    ids = np.arange(sol.y.shape[0])
    tox = READOUTS.toxicity(sol, 0, ids)
    for kind in ("irae", "crs", "icans", "capillary_leak", "neutropenia"):
        worst = READOUTS.grade_series(sol, 0, ids, kind, worst=True)
        assert (np.diff(worst, axis=1) >= 0).all(), kind
        np.testing.assert_array_equal(worst[:, -1], tox.grade(kind), err_msg=kind)
    irae = READOUTS.grade_series(sol, 0, ids, "irae")
    resolved = np.isfinite(tox.resolved_day["irae"])
    assert (irae[resolved, -1] == 0).all()  # a resolved irAE reads 0 at the end
