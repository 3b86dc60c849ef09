"""Virtual trials whose course looks like a real trial's (issue: virtual patients that behave
like real ones, part 1): PFS never after OS with a gap between them, few deaths before the
first scan, long-term survivors on checkpoint blockade (an OS plateau), and nothing happens
to a patient after death. Behaviour, not fitted numbers: the tolerances are wide."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.trials.run import run_trial
from oncotwin.trials.spec import example_path, load_spec


@pytest.fixture(scope="module")
def cm067(tmp_path_factory):
    spec = load_spec(example_path("checkmate067"))
    out = tmp_path_factory.mktemp("course") / "cm067"
    return run_trial(spec, out=out, patients=240, seed=11, report=False)


def _km(days, event, t):
    from lifelines import KaplanMeierFitter

    return float(KaplanMeierFitter().fit(days, event).survival_function_at_times(t).iloc[0])


def test_pfs_never_after_os_and_a_gap_between_them(cm067):
    o = cm067.outcomes
    assert np.all(o.pfs_days <= o.os_days + 1e-9)
    both = o.pfs_event & o.os_event
    gap = (o.os_days - o.pfs_days)[both]
    assert gap.size > 20
    assert np.median(gap) > 60.0  # post-progression survival of months, not days
    assert np.mean(gap < 1e-9) < 0.25  # death is not progression for most who die


def test_few_deaths_before_the_first_scan(cm067):
    o = cm067.outcomes
    first_scan = 12 * 7.0  # CheckMate 067: week 12
    early = o.os_event & (o.os_days < first_scan)
    assert early.mean() < 0.12


def test_long_term_survivors_on_checkpoint_blockade(cm067):
    """An OS plateau: the share alive at 5 years on nivolumab (+ ipilimumab) is not far above
    the share alive at 10 years, and both are well above zero (published: ~40% at 10 years,
    Wolchok 2025; asserted only as > 10%)."""
    o = cm067.outcomes
    pd1 = o[o.arm != "ipilimumab"]
    s5 = _km(pd1.os_days, pd1.os_event, 5 * 365.25)
    s10 = _km(pd1.os_days, pd1.os_event, 9.9 * 365.25)
    assert s10 > 0.10
    assert s5 - s10 < 0.5 * s5


def test_no_event_after_death(cm067):
    ev = cm067.events
    death = ev[ev.kind == "death"].set_index("patient_id")["day"]
    later = ev[ev.kind != "death"].join(death.rename("death_day"), on="patient_id")
    assert not (later.day > later.death_day + 1e-9).any()
