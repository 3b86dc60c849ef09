"""The per-class treatment cap of :class:`oncotwin.regimens.DosingRules` (the 2-year cap of
checkpoint inhibitors): doses of the capped class stop, other drugs go on, bad values fail."""

from __future__ import annotations

import math

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.errors import RegimenError
from oncotwin.regimens import DosingRules
from oncotwin.regimens.rules import CHECKPOINT_CLASSES


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


def _central(model, regimen, rules, days=1100.0):
    res = ot.simulate(model, regimen, patients=3, days=days, every=1.0, seed=1, rules=rules)
    target = model.dose_target("nivolumab", "anti-PD-1").state
    return res.solution.t, res.solution[target]


def test_cap_stops_checkpoint_doses_at_two_years(model):
    regimen = "nivolumab 3 mg/kg IV q2w x78"  # 3 years of doses
    cap = DosingRules.from_treatment((), max_months_by_class={"anti-PD-1": 24})
    t, capped = _central(model, regimen, cap)
    _, free = _central(model, regimen, DosingRules())
    before = t < 700
    np.testing.assert_allclose(capped[:, before], free[:, before], rtol=1e-6, atol=1e-9)
    # no dose after day 730.5: the antibody washes out (half-life ~25 days) while the
    # uncapped patients keep their trough
    late = np.argmin(np.abs(t - 1000.0))
    assert np.all(capped[:, late] < 0.05 * free[:, late])
    # the last capped dose is the one of day 728 (q2w from day 0), not later
    jump = np.diff(capped, axis=1) > 0
    last_rise = t[1:][jump.any(axis=0)].max()
    assert 728.0 <= last_rise <= 731.0


def test_cap_leaves_other_classes_dosed(model):
    regimen = "nivolumab 3 mg/kg IV q2w x40"
    cap = DosingRules(max_days_by_class={"anti-CTLA-4": 30.0})
    _, capped = _central(model, regimen, cap, days=400.0)
    _, free = _central(model, regimen, DosingRules(), days=400.0)
    np.testing.assert_array_equal(capped, free)


def test_checkpoint_caps_are_rules_of_their_own():
    rules = DosingRules(max_days_by_class=dict.fromkeys(CHECKPOINT_CLASSES, 730.5))
    assert rules.any and math.isinf(rules.max_duration_days)
    assert not DosingRules().any


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ({"anti-PD1": 24}, "unknown mechanism class 'anti-PD1'"),
        ({"anti-PD-1": 0}, "positive, finite number of months"),
        ({"anti-PD-1": float("inf")}, "positive, finite number of months"),
        ({"anti-PD-1": True}, "positive, finite number of months"),
        (["anti-PD-1"], "table of mechanism class"),
    ],
)
def test_bad_caps_fail_with_the_field_and_the_fix(caps, message):
    with pytest.raises(RegimenError, match=message.replace("(", r"\(")):
        DosingRules.from_treatment((), max_months_by_class=caps)


def test_spec_option_reaches_the_plan():
    from oncotwin.trials._plan import TrialPlan
    from oncotwin.trials.spec import example_path, load_spec

    spec = load_spec(example_path("keynote024"))
    assert spec.treatment.max_months_by_class == {"anti-PD-1": 24.0}
    plan = TrialPlan.from_spec(spec, patients=4, seed=1, chunk_size=4)
    assert plan.rules.max_days_by_class == {"anti-PD-1": 24 * 30.4375}


def test_spec_rejects_a_bad_cap():
    from oncotwin.trials.spec import SpecError, example_path, parse_spec

    with open(example_path("keynote024"), encoding="utf-8") as fh:
        text = fh.read()
    text = text.replace('"anti-PD-1" = 24', '"anti-PD-1" = -3')
    with pytest.raises(SpecError, match="max_months_by_class"):
        parse_spec(text)


def test_treatment_end_day_respects_the_class_cap(model):
    """A trial arm's last scheduled dose (its treatment end when nothing stops it earlier) is
    the last dose within the cap: pembrolizumab q3w capped at 2 years ends on day 714 (35
    doses), while an uncapped class runs to the horizon."""
    from oncotwin.population import sample_population
    from oncotwin.simulation import solve_with_rules

    pop = sample_population(model, 3, seed=1)
    t = np.arange(0.0, 1501.0, 50.0)

    def last(caps):
        rules = DosingRules(max_days_by_class=caps)
        dosed = solve_with_rules(model, "pembrolizumab 200 mg IV q3w", pop, t, rules=rules)
        return dosed.last_dose_day

    np.testing.assert_array_equal(last({"anti-PD-1": 730.5}), 714.0)
    assert np.all(last({"anti-CTLA-4": 730.5}) > 1400.0)
    assert np.all(last({}) > 1400.0)
