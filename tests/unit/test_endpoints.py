"""Trial endpoints: exact CIs, Kaplan-Meier, Cox/log-rank, safety, subgroups and the summary.

Reference values are quoted in each test's docstring with their tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError
from oncotwin.trials.endpoints import (
    MONTH_DAYS,
    SUMMARY_COLUMNS,
    clopper_pearson,
    compare_arms,
    km,
    response_rates,
    safety_rates,
    subgroup_analysis,
    summarise,
)
from oncotwin.trials.recist import assess_recist


def test_clopper_pearson_known_value():
    """k=5, n=20: exact 95% CI (0.0866, 0.4910) (e.g. R binom.test(5, 20)), to 1e-4."""
    low, high = clopper_pearson(5, 20)
    assert low == pytest.approx(0.0866, abs=1e-4)
    assert high == pytest.approx(0.4910, abs=1e-4)


def test_clopper_pearson_edges_and_vectorised():
    """k=0 gives low 0, k=n gives high 1 (one-sided 0.975^(1/n) bounds), n=0 gives NaN."""
    low, high = clopper_pearson(np.array([0, 10, 0]), np.array([10, 10, 0]))
    assert low[0] == 0.0 and high[1] == 1.0
    assert high[0] == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)
    assert low[1] == pytest.approx(0.025 ** (1 / 10), abs=1e-12)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_response_rates_counts_every_patient():
    """ORR = confirmed CR+PR over all patients (NE included), DCR = CR+PR+SD."""
    br = np.array(["CR", "PR", "PR", "SD", "PD", "NE", "PD", "SD", "PR", "PD"])
    conf = np.array([True, True, False, False, False, False, False, False, True, False])
    r = response_rates(br, conf)
    assert (r["ORR"].k, r["ORR"].n, r["ORR"].value) == (3, 10, 30.0)
    assert r["CR"].value == 10.0 and r["DCR"].value == 60.0
    low, high = clopper_pearson(3, 10)
    assert r["ORR"].ci_low == pytest.approx(100 * low) and r["ORR"].ci_high == pytest.approx(
        100 * high
    )
    assert response_rates(np.array([0, 1, 2, 3]))["ORR"].value == 50.0  # integer codes


def test_km_median_of_exponential_data():
    """Exponential times with rate lambda = 1/300 per day: median ln2/lambda = 207.9 days
    (6.83 months) within 5% (n = 3000, seeded); S(6 mo) = exp(-lambda * 6 * 30.4375) +- 0.03."""
    rng = np.random.default_rng(42)
    lam = 1 / 300
    t = rng.exponential(1 / lam, 3000)
    censor = rng.uniform(0, 1500, 3000)
    s = km(np.minimum(t, censor), t <= censor, "A", landmarks_months=(6, 12))
    assert s.median_months == pytest.approx(np.log(2) / lam / MONTH_DAYS, rel=0.05)
    assert s.median_ci_low < s.median_months < s.median_ci_high
    assert s.landmark_survival[0] == pytest.approx(np.exp(-lam * 6 * MONTH_DAYS), abs=0.03)
    assert s.landmark_ci_low[0] < s.landmark_survival[0] < s.landmark_ci_high[0]
    months = np.minimum(t, censor) / MONTH_DAYS
    assert s.n_at_risk.tolist() == [int((months >= m).sum()) for m in s.at_risk_months]
    assert s.timeline_months.shape == s.survival.shape == s.ci_low.shape
    assert s.notes == ()


def test_km_degenerate_cases_give_notes_not_warnings():
    """No events: median inf (not reached) with a note; no patients: NaN with a note."""
    s = km(np.array([100.0, 200, 300]), np.zeros(3, bool), landmarks_months=(6, 24))
    assert np.isinf(s.median_months)
    assert any("no events" in n for n in s.notes)
    assert np.isnan(s.landmark_survival[1])  # 24 months lies beyond follow-up
    assert any("beyond follow-up" in n for n in s.notes)
    empty = km(np.array([]), np.array([], bool))
    assert np.isnan(empty.median_months) and empty.n == 0 and "no patients" in empty.notes[0]


def _two_arms(n: int, hr: float, seed: int = 7):
    rng = np.random.default_rng(seed)
    lam = 1 / 200
    t = np.r_[rng.exponential(1 / lam, n), rng.exponential(1 / (lam * hr), n)]
    censor = rng.uniform(0, 1000, 2 * n)
    arms = np.repeat(["control", "experimental"], n)
    return np.minimum(t, censor), t <= censor, arms


def test_cox_hazard_ratio_of_exponential_arms():
    """Two exponential arms with hazard ratio 0.5 (n = 1500 each, seeded): HR within 0.05 of
    0.5, CI covering it, log-rank p < 1e-10."""
    t, e, arms = _two_arms(1500, 0.5)
    out = compare_arms(t, e, arms, "control")
    row = out.iloc[0]
    assert row.arm == "experimental" and row.reference == "control"
    assert row.hr == pytest.approx(0.5, abs=0.05)
    assert row.ci_low < 0.5 < row.ci_high
    assert row.p_logrank < 1e-10 and row.p_cox < 1e-10
    assert row.note == ""


def test_compare_arms_degenerate_arm_is_nan_with_note():
    """An arm without events gives NaN HR and p with a note, and no warning (warnings = errors)."""
    t = np.r_[np.full(20, 100.0), np.arange(1.0, 21.0)]
    e = np.r_[np.zeros(20, bool), np.ones(20, bool)]
    arms = np.repeat(["none", "ref"], 20)
    row = compare_arms(t, e, arms, "ref").iloc[0]
    assert np.isnan(row.hr) and np.isnan(row.ci_low) and np.isnan(row.p_cox)
    assert "no events in the arm: hazard ratio not estimable" in row.note
    assert row.p_logrank < 0.05  # the log-rank test is still defined
    none = compare_arms(t, np.zeros(40, bool), arms, "ref").iloc[0]
    assert np.isnan(none.p_logrank) and none.note == "no events in either arm: nothing to compare"


def test_compare_arms_complete_separation_is_nan_with_note():
    """Every arm event before every reference event: Cox does not converge; NaN and a note."""
    t = np.r_[np.arange(1.0, 11.0), np.arange(11.0, 21.0)]
    row = compare_arms(t, np.ones(20, bool), np.repeat(["a", "b"], 10), "b").iloc[0]
    assert np.isnan(row.hr) and "Cox fit failed" in row.note
    assert "ConvergenceWarning" in row.note
    assert row.p_logrank < 1e-3


def _outcomes(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """Outcomes of a two-arm simulated trial assessed by RECIST, plus toxicity columns."""
    rng = np.random.default_rng(seed)
    days = np.arange(0, 15) * 56.0
    arm_b = np.arange(n) % 2 == 1
    rate = rng.normal(np.where(arm_b, -0.004, 0.002)[:, None, None], 0.003, (n, 1, 3))
    diam = rng.uniform(12, 50, (n, 1, 3)) * np.exp(rate * days[None, :, None])
    death = rng.exponential(np.where(arm_b, 900, 500))
    r = assess_recist(
        days,
        diam,
        rng.integers(0, 9, (n, 3)),
        np.full(n, np.inf),
        death,
        np.full(n, 780.0),
        seed=seed,
        patient_ids=np.arange(n),
    )
    outcomes, _ = r.to_frames(np.where(arm_b, "B", "A"))
    outcomes["g3plus_ae"] = rng.random(n) < 0.2
    outcomes["max_irae_grade"] = rng.integers(0, 5, n)
    outcomes["max_crs_grade"] = 0
    outcomes["max_icans_grade"] = 0
    outcomes["pdl1_group"] = np.where(rng.random(n) < 0.5, ">=50%", "<50%")
    outcomes["tiny"] = np.where(np.arange(n) < 4, "rare", "common")
    return outcomes


def test_safety_rates_per_arm():
    """Grade >= 3 rates are the counts over arm size with exact CIs; CRS 0 gives [0, upper]."""
    df = _outcomes()
    s = safety_rates(df).set_index(["arm", "endpoint"])
    a = df[df.arm == "A"]
    assert s.loc[("A", "g3plus_AE"), "value"] == pytest.approx(100 * a.g3plus_ae.mean())
    assert s.loc[("A", "g3plus_irAE"), "k"] == int((a.max_irae_grade >= 3).sum())
    assert s.loc[("B", "g3plus_CRS"), "value"] == 0.0
    assert s.loc[("B", "g3plus_CRS"), "ci_low"] == 0.0 and s.loc[("B", "g3plus_CRS"), "ci_high"] > 0


def test_subgroup_analysis_flags_small_subgroups():
    """One row per level and arm; tiny subgroups are flagged (or NaN with a note), not crashed."""
    df = _outcomes()
    out = subgroup_analysis(df, "pdl1_group", "A")
    assert out.level.tolist()[:2] == ["all", "all"]
    assert set(out.level) == {"all", ">=50%", "<50%"}
    b_all = out[(out.level == "all") & (out.arm == "B")].iloc[0]
    assert b_all.hr < 1 and not b_all.too_few_events
    assert out[out.arm == "A"].hr.isna().all()
    tiny = subgroup_analysis(df, "tiny", "A", min_events=10)
    rare = tiny[tiny.level == "rare"]
    assert rare.too_few_events.all()
    os_ = subgroup_analysis(df, "pdl1_group", "A", time="os")
    assert (os_.n_events <= os_.n).all()


def test_summarise_layout_and_values():
    """The summary has the contract's columns, every endpoint per arm and HRs vs reference."""
    df = _outcomes()
    s = summarise(df, reference_arm="A")
    assert tuple(s.columns) == SUMMARY_COLUMNS
    a = s[s.arm == "A"].set_index("endpoint")
    for endpoint in (
        "ORR",
        "CR",
        "DCR",
        "median_PFS_mo",
        "median_OS_mo",
        "PFS_6mo",
        "PFS_12mo",
        "OS_24mo",
        "g3plus_AE",
        "g3plus_irAE",
        "g3plus_CRS",
        "g3plus_ICANS",
    ):
        assert endpoint in a.index, endpoint
    assert "HR_PFS" not in a.index  # the reference arm has no HR to itself
    b = s[s.arm == "B"].set_index("endpoint")
    assert b.loc["HR_OS", "unit"] == "ratio" and b.loc["HR_OS", "value"] < 1
    assert a.loc["ORR", "value"] == pytest.approx(
        response_rates(df[df.arm == "A"].best_response, df[df.arm == "A"].confirmed)["ORR"].value
    )
    assert s.published.isna().all() and (s.source == "").all()
    assert a.loc["median_PFS_mo", "unit"] == "months" and a.loc["PFS_6mo", "unit"] == "%"
    bare = summarise(df.drop(columns=["max_crs_grade"]), landmarks_months=(3,))
    assert "g3plus_CRS" not in set(bare.endpoint) and "PFS_3mo" in set(bare.endpoint)


def test_error_messages():
    """Each boundary error names the field, the bad value and the fix."""
    with pytest.raises(OncotwinError, match=r"k = 6, n = 5 is invalid"):
        clopper_pearson(6, 5)
    with pytest.raises(ParameterError, match=r"alpha = 1.5 is invalid"):
        clopper_pearson(1, 5, alpha=1.5)
    with pytest.raises(OncotwinError, match=r"best_response holds 'XX'"):
        response_rates(["CR", "XX"])
    with pytest.raises(OncotwinError, match=r"best_response codes must be 0..4"):
        response_rates(np.array([0, 7]))
    with pytest.raises(OncotwinError, match=r"confirmed has shape \(1,\), expected \(2,\)"):
        response_rates(["CR", "PR"], [True])
    with pytest.raises(OncotwinError, match=r"km: durations\[1\] = inf is invalid"):
        km(np.array([1.0, np.inf]), np.array([True, False]))
    with pytest.raises(OncotwinError, match="must be 1-d of the same length"):
        km(np.array([1.0, 2.0]), np.array([True]))
    with pytest.raises(OncotwinError, match=r"arm_labels has shape \(1,\)"):
        compare_arms(np.array([1.0, 2.0]), np.array([True, True]), ["A"], "A")
    with pytest.raises(UnknownNameError, match="unknown reference arm 'contrl'; did you mean"):
        compare_arms(np.array([1.0, 2.0]), np.array([1, 1]), ["control", "x"], "contrl")
    df = _outcomes(40)
    with pytest.raises(OncotwinError, match=r"lacks column\(s\) \['max_crs_grade'\]"):
        safety_rates(df.drop(columns=["max_crs_grade"]))
    with pytest.raises(UnknownNameError, match="unknown subgroup column 'pdl1_grp'"):
        subgroup_analysis(df, "pdl1_grp", "A")
    with pytest.raises(UnknownNameError, match="unknown time endpoint 'dfs'"):
        subgroup_analysis(df, "pdl1_group", "A", time="dfs")
    with pytest.raises(UnknownNameError, match="unknown reference arm 'C'"):
        summarise(df, reference_arm="C")
    with pytest.raises(OncotwinError, match=r"summarise: outcomes table lacks column\(s\)"):
        summarise(df.drop(columns=["os_days"]))
