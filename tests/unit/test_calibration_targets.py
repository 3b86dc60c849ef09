"""Calibration targets (issue 15 item 2): every calibration arm gives targets or is excluded
with a reason, each target has the sampling law of its endpoint, the CIs, hazard ratios,
landmarks and caveats written in the published-arms CSV's notes are read as stated, and
:func:`target_loglik` adds the published, Monte Carlo, trial and discrepancy variances.

Source: identity checks against ``trials/data/published_arms.csv`` (values quoted from its
notes) and ``shared/data/trials/calibration_arms.csv``; no new paper values.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from oncotwin.calibration import targets as tg
from oncotwin.errors import OncotwinError
from oncotwin.trials.targets import PUBLISHED

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "trials" / "calibration_arms.csv"
Z = 1.959963984540054


@pytest.fixture(scope="module")
def ts() -> dict[str, tg.Target]:
    return {t.target_id: t for t in tg.load_targets()}


def test_every_calibration_arm_gives_targets_or_is_excluded(ts) -> None:
    """Each arm of the package CSV (the shared calibration arms and issue 12's) yields at
    least one target through an example spec, or is in exclusions.csv with a reason."""
    with_targets = {t.arm_id for t in ts.values()}
    excluded = dict(tg.excluded_arms())
    for arm_id in tg.calibration_arm_ids():
        assert (arm_id in with_targets) != (arm_id in excluded), arm_id
        if arm_id in excluded:
            assert len(excluded[arm_id]) > 20, arm_id
    assert set(tg.calibration_arm_ids()) == set(PUBLISHED)
    assert {"CM649_CHEMO_CPS5", "KN355_PEMBRO_CHEMO_CPS10"} <= set(excluded)


@pytest.mark.skipif(not SHARED.exists(), reason="shared calibration_arms.csv not available")
def test_every_shared_calibration_arm_has_targets(ts) -> None:
    with SHARED.open(encoding="utf-8") as f:
        shared = [row["arm_id"] for row in csv.DictReader(f)]
    assert len(shared) == 36
    assert not set(shared) - {t.arm_id for t in ts.values()}


def test_laws_and_blocks_follow_the_endpoint(ts) -> None:
    for t in ts.values():
        if t.endpoint.startswith("median_"):
            assert t.law == "lognormal" and t.se > 0 and t.unit == "months"
        elif t.endpoint.startswith("HR_"):
            assert t.law == "normal_log" and t.se > 0 and t.reference_arm_id
            assert t.n == PUBLISHED[t.arm_id].n + PUBLISHED[t.reference_arm_id].n
        else:
            assert t.law == "binomial" and t.unit == "%" and 0 <= t.observed <= 100
        assert t.block == ("toxicity" if t.endpoint.startswith("g3plus") else "efficacy")
        if t.endpoint in ("ORR", "CR", "g3plus_AE", "g3plus_CRS", "g3plus_ICANS"):
            assert t.n == PUBLISHED[t.arm_id].n
    assert ts["KN024_PEMBRO:ORR"].observed == 44.8
    assert ts["ZUMA1_AXICEL:g3plus_ICANS"].observed == 31.0  # neurological events column


def test_median_se_from_a_stated_ci_else_from_events(ts) -> None:
    t = ts["IMB150_ATEZO_BEV:median_PFS_mo"]  # pfs_note "95% CI 5.7-8.3"
    assert t.se == pytest.approx((math.log(8.3) - math.log(5.7)) / (2 * Z), rel=1e-6)
    t = ts["IMB150_ATEZO_BEV:median_OS_mo"]  # "updated analysis median 19.2 (17.0-23.7)"
    assert t.se == pytest.approx((math.log(23.7) - math.log(17.0)) / (2 * Z), rel=1e-6)
    t = ts["IMB150_SORAFENIB:median_OS_mo"]  # 13.4 (11.4-16.9), not the primary 13.2 (10.4-NE)
    assert t.se == pytest.approx((math.log(16.9) - math.log(11.4)) / (2 * Z), rel=1e-6)
    t = ts["OAK_ATEZO:median_OS_mo"]  # no CI: exponential events at the spec's 36 months
    events = 425 * (1 - 2 ** (-36 / 13.8))
    assert t.events == pytest.approx(events) and t.se == pytest.approx(1 / math.sqrt(events))
    assert "exponential model" in t.note


def test_not_reached_medians_are_censored_at_the_stated_follow_up(ts) -> None:
    t = ts["CM214_NIVO_IPI:median_OS_mo"]  # "NR at 25.2 mo"
    assert t.censored and t.observed == 25.2
    assert ts["ELIANA_TISACEL:median_OS_mo"].observed == 38.8
    # "ITT medians not found" is not "not reached": no target
    assert "KN355_PEMBRO_CHEMO:median_OS_mo" not in ts
    assert not any(t.censored for t in ts.values() if t.endpoint != "median_OS_mo")


def test_hazard_ratios_as_stated_in_the_notes(ts) -> None:
    t = ts["IMB150_ATEZO_BEV:HR_OS"]  # the HR of the clause with the updated median
    assert t.observed == 0.66
    assert t.se == pytest.approx((math.log(0.85) - math.log(0.52)) / (2 * Z), rel=1e-6)
    assert ts["KN048_PEMBRO:HR_OS"].observed == 0.81  # not the CPS >= 1 subgroup's 0.78
    t = ts["MOTZER_SUN:HR_OS"]  # in the reference arm's note: "OS HR 0.821 (P=.051)"
    assert t.reference_arm_id == "MOTZER_IFN"
    assert t.se == pytest.approx(abs(math.log(0.821)) / 1.9513, rel=1e-3)
    assert ts["MOTZER_SUN:HR_PFS"].observed == 0.42  # "PFS HR 0.42 (2007)"
    assert "approximate" in ts["SLAMON_CHEMO_TRAS:HR_OS"].note  # "OS HR ~0.80"
    assert ts["CM649_NIVO_CHEMO:HR_PFS"].observed == 0.79


def test_landmark_rates_where_stated(ts) -> None:
    assert ts["CM017_NIVO:OS_12mo"].observed == 42 and ts["CM017_NIVO:OS_24mo"].observed == 23
    assert ts["SLAMON_CHEMO_TRAS:OS_12mo"].observed == 78  # "1-y mortality 22%"
    assert ts["IMP133_ATEZO_CHEMO:PFS_12mo"].observed == 12.6
    t = ts["IMB150_ATEZO_BEV:OS_12mo"]  # 67.2% (61.3-73.1): effective n of its CI
    assert t.n == round(0.672 * 0.328 / ((73.1 - 61.3) / 100 / (2 * Z)) ** 2) < 336
    assert "KN048_PEMBRO:OS_24mo" not in ts  # its 2-y OS is the CPS >= 1 subgroup's
    skipped = dict(tg.skipped_statements())
    assert "not a summary endpoint" in skipped["KN024_PEMBRO:OS_60mo"]


def test_caveats_give_confounded_targets_not_silent_ones(ts) -> None:
    t = ts["KN024_CHEMO:median_OS_mo"]  # 66% crossover, simulated by the spec
    assert t.confounded and t.discrepancy == tg.DISCREPANCY["crossover_simulated"]
    t = ts["MOTZER_IFN:median_OS_mo"]  # later sunitinib, not simulated
    assert t.confounded and t.discrepancy == tg.DISCREPANCY["crossover"]
    assert ts["MOTZER_SUN:HR_OS"].confounded  # its reference arm's OS is confounded
    assert ts["IMPACT_PLACEBO:median_OS_mo"].confounded  # README caveat 5
    # TTP for PFS, stated once per trial (IMPACT_PLACEBO's own pfs_note is empty)
    for arm in ("SLAMON_CHEMO", "SLAMON_CHEMO_TRAS", "IMPACT_SIPT", "IMPACT_PLACEBO"):
        t = ts[f"{arm}:median_PFS_mo"]
        assert t.confounded and t.discrepancy == tg.DISCREPANCY["ttp_or_efs"], arm
    assert not ts["KN024_PEMBRO:median_OS_mo"].confounded
    assert not ts["KN024_CHEMO:median_PFS_mo"].confounded
    assert not ts["MDX010-20_IPI:ORR"].confirmed  # memory_fields: orr_pct


def test_exclusions_are_skipped_and_reported(ts) -> None:
    tid = "MCLAUGHLIN1998_RITUX:median_PFS_mo"
    assert tid not in ts and tid in dict(tg.excluded_targets())
    assert tid in {t.target_id for t in tg.load_targets(exclusions=False)}
    assert "MCLAUGHLIN1998_RITUX:ORR" in ts
    table = tg.targets_table()
    assert len(table) == len(ts) and {"target_id", "law", "se", "confounded"} <= set(table)


def _binom(t: tg.Target, sim: float, n_sim: int, tau: float = 0.0) -> float:
    k, ks = t.observed / 100 * t.n, sim / 100 * n_sim
    y = math.log((k + 0.5) / (t.n - k + 0.5))
    mu = math.log((ks + 0.5) / (n_sim - ks + 0.5))
    var = 1 / (k + 0.5) + 1 / (t.n - k + 0.5) + 1 / (ks + 0.5) + 1 / (n_sim - ks + 0.5) + tau**2
    return -0.5 * (math.log(2 * math.pi * var) + (y - mu) ** 2 / var)


def test_target_loglik_binomial_adds_the_variances(ts) -> None:
    t = ts["KN024_PEMBRO:ORR"]
    assert tg.target_loglik(t, 30.0, 200, tau=0.2) == pytest.approx(_binom(t, 30.0, 200, 0.2))
    best = tg.target_loglik(t, 44.8, 1000)
    assert best > tg.target_loglik(t, 40.0, 1000) > tg.target_loglik(t, 30.0, 1000)
    # a far simulated value is less surprising with more Monte Carlo noise or a larger tau
    assert tg.target_loglik(t, 20.0, 20) > tg.target_loglik(t, 20.0, 2000)
    assert tg.target_loglik(t, 20.0, 500, tau=0.5) > tg.target_loglik(t, 20.0, 500)


def test_target_loglik_medians_hazard_ratios_and_censoring(ts) -> None:
    t = ts["OAK_ATEZO:median_OS_mo"]
    mc2 = 1 / (t.events / t.n * 400)
    var = t.se**2 + mc2
    expect = -0.5 * (math.log(2 * math.pi * var) + math.log(13.8 / 11.0) ** 2 / var)
    assert tg.target_loglik(t, 11.0, 400) == pytest.approx(expect)
    conf = ts["KN024_CHEMO:median_OS_mo"]  # its discrepancy widens the law
    assert tg.target_loglik(conf, 20.0, 400) > tg.target_loglik(
        tg.Target(**{**conf.__dict__, "discrepancy": 0.0}), 20.0, 400
    )
    hr = ts["IMB150_ATEZO_BEV:HR_OS"]
    assert tg.target_loglik(hr, 0.66, 300) > tg.target_loglik(hr, 1.0, 300)
    cens = ts["CM214_NIVO_IPI:median_OS_mo"]  # P(median > 25.2)
    assert tg.target_loglik(cens, math.inf, 300) == 0.0
    assert tg.target_loglik(cens, 40.0, 300) > math.log(0.95)
    assert tg.target_loglik(cens, 15.0, 300) < math.log(0.01)


def test_target_loglik_refuses_bad_input(ts) -> None:
    t = ts["KN024_PEMBRO:ORR"]
    with pytest.raises(OncotwinError, match="n_sim"):
        tg.target_loglik(t, 40.0, 0)
    with pytest.raises(OncotwinError, match="NaN"):
        tg.target_loglik(t, math.nan, 100)
    with pytest.raises(OncotwinError, match="0-100"):
        tg.target_loglik(t, 140.0, 100)
    with pytest.raises(OncotwinError, match="tau"):
        tg.target_loglik(t, 40.0, 100, tau=-1.0)
    with pytest.raises(OncotwinError, match="positive median"):
        tg.target_loglik(ts["OAK_ATEZO:median_OS_mo"], 0.0, 100)
    with pytest.raises(OncotwinError, match="law"):
        tg.Target("X:Y", "X", "e", "a", "c", "ORR", 1.0, "poisson", 10, math.nan, "efficacy")


def _summary_keys(example: str) -> set[tuple[str, str]]:
    from oncotwin.trials import Trial

    trial = Trial.from_example(example)
    n = 2 * sum(a.ratio for a in trial.spec.arms)  # every arm gets patients (MDX010-20 is 3:1:1)
    s = trial.summary(patients=n, seed=1)
    return {(r.arm, r.endpoint) for r in s.itertuples()}


def test_targets_name_rows_of_the_trial_summary(ts) -> None:
    """A target's (arm, endpoint) is a row of its example's Trial.summary (one tiny run)."""
    keys = _summary_keys("zuma1")
    mine = [t for t in ts.values() if t.example == "zuma1"]
    assert mine and all((t.arm, t.endpoint) in keys for t in mine)


@pytest.mark.slow
def test_every_target_names_a_row_of_its_trial_summary(ts) -> None:
    for example in sorted({t.example for t in ts.values()}):
        keys = _summary_keys(example)
        missing = [t.target_id for t in ts.values() if t.example == example]
        missing = [m for m in missing if (ts[m].arm, ts[m].endpoint) not in keys]
        assert not missing, example
