"""Bounds where input enters (issue 14): regimen counts, days, intervals and schedule sizes,
horizons, output intervals, spec sizes, seeds and tolerances. Each refusal is one message
naming the field, the value, the limit and the fix."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from oncotwin.cli import _bounds
from oncotwin.errors import OncotwinError, RegimenError, SolverError
from oncotwin.regimens import Administration, Phase, parse_regimen
from oncotwin.regimens._names import MAX_COUNT, MAX_DOSE_EVENTS, MAX_HORIZON_DAYS
from oncotwin.simulation import output_times
from oncotwin.trials.spec import _MINIMAL, SpecError, parse_spec
from oncotwin.units import DoseAmount

PEMBRO = "pembrolizumab 200 mg IV"


# ------------------------------------------------------------------------------------------
# regimens
# ------------------------------------------------------------------------------------------
def test_huge_count_is_refused_at_parse_with_the_limit():
    with pytest.raises(
        RegimenError,
        match=r"count: x99999999999999999999 doses is above the limit of x10000 per phase; "
        r"write the real number of doses",
    ):
        parse_regimen(f"{PEMBRO} q3w x99999999999999999999")


def test_count_of_thousands_of_digits_is_refused_not_a_valueerror():
    with pytest.raises(RegimenError, match=r"count 999999999999\.\.\. has 5000 digits"):
        parse_regimen(f"{PEMBRO} q3w x" + "9" * 5000)


def test_count_past_the_horizon_is_truncated():
    """x10000 (the limit) q3w over one year gives the 18 doses within the year."""
    s = parse_regimen(f"{PEMBRO} q3w x{MAX_COUNT}").schedule(365.0)
    assert len(s) == 18 and s.time[-1] == 357.0
    with pytest.raises(RegimenError, match="above the limit of x10000"):
        parse_regimen(f"{PEMBRO} q3w x{MAX_COUNT + 1}")


def test_cycles_and_days_beyond_the_limits():
    with pytest.raises(RegimenError, match=r"cycles: 20000 cycles is above the limit of 10000"):
        parse_regimen("aldesleukin 600000 IU/kg IV q8h x14, 20000 cycles 9 days apart")
    with pytest.raises(RegimenError, match=r"days: day d99999999 is beyond the limit of d18263"):
        parse_regimen(f"{PEMBRO} d1 to d99999999")
    with pytest.raises(RegimenError, match=r"starting: day d-99999 is beyond the limit"):
        parse_regimen(f"{PEMBRO} q3w x2, then {PEMBRO} q3w starting d-99999")
    with pytest.raises(
        RegimenError, match=r"interval: 7e300 days is above the limit of 18262.5 days \(50 years\)"
    ):
        parse_regimen(f"{PEMBRO} q" + "9" * 300 + "w x3")


def test_phase_objects_refuse_non_whole_and_infinite_values():
    adm = Administration("pembrolizumab", DoseAmount(200, "mass"), "IV")
    with pytest.raises(RegimenError, match="count: xinf doses"):
        Phase((adm,), interval_days=21, count=math.inf)  # type: ignore[arg-type]
    with pytest.raises(RegimenError, match="after: inf days; give a finite delay"):
        Phase((adm,), interval_days=21, count=2, delay_days=math.inf)
    with pytest.raises(RegimenError, match="cycles: gap inf days; give a finite value"):
        Phase((adm,), interval_days=21, count=2, cycles=2, cycle_gap_days=math.inf)


def test_schedule_refuses_too_many_dose_events_before_building_them():
    r = parse_regimen(f"{PEMBRO} q1h")
    with pytest.raises(
        RegimenError,
        match=r"schedule: phase 'pembrolizumab 200 mg IV q1h' gives about 438000 dose events "
        r"within 18250 days, above the limit of 100000; give the phase a count",
    ):
        r.schedule(18250.0)
    assert len(r.schedule(30.0)) == 721  # a short horizon is fine
    cycles = parse_regimen("aldesleukin 600000 IU/kg IV q1h x10000, 10000 cycles 0 days apart")
    with pytest.raises(RegimenError, match="above the limit of 100000"):
        cycles.schedule(MAX_HORIZON_DAYS)


def test_schedule_horizon_limit():
    r = parse_regimen(f"{PEMBRO} q3w x4")
    with pytest.raises(
        RegimenError, match=r"horizon_days=1e\+12 is above the limit of 18262.5 days \(50 years\)"
    ):
        r.schedule(1e12)
    assert len(r.schedule(MAX_HORIZON_DAYS)) == 4


def test_every_schedule_within_the_limit_at_the_longest_horizon():
    for text in (
        "sunitinib 50 mg PO qd",
        f"{PEMBRO} q3w",
        "radiotherapy 2 Gy weekdays x30 to lung",
    ):
        assert len(parse_regimen(text).schedule(MAX_HORIZON_DAYS)) <= MAX_DOSE_EVENTS


def test_long_regimen_text_is_cut_around_the_caret():
    text = f"{PEMBRO} q3w x4 with " + " with ".join([f"{PEMBRO} q3w x4"] * 20) + " zzz"
    with pytest.raises(RegimenError) as info:
        parse_regimen(text)
    lines = str(info.value).splitlines()
    assert len(lines[1]) < 120 and lines[1].strip().startswith("...")
    assert lines[2].index("^") == lines[1].index("zzz")


# ------------------------------------------------------------------------------------------
# output grid
# ------------------------------------------------------------------------------------------
def test_output_times_bounds():
    with pytest.raises(SolverError, match=r"days=1e\+12 is above the limit of 18262.5 days"):
        output_times(1e12, 7.0)
    with pytest.raises(
        SolverError,
        match=r"every=0.001 gives 730,001 output times over 730 days, above the limit of "
        r"100,000; give every >= 0.0073",
    ):
        output_times(730.0, 0.001)
    with pytest.raises(SolverError, match="every=0; give a positive number of days"):
        output_times(730.0, 0)
    assert output_times(np.int64(10), np.float64(5)).tolist() == [0.0, 5.0, 10.0]


# ------------------------------------------------------------------------------------------
# spec sizes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "follow_up_months = 12",
            "follow_up_months = 1e12",
            r"<string>:6: \[trial\] follow_up_months = 1000000000000.0: above the limit of 600 "
            r"months \(50 years\); give the follow-up in months",
        ),
        (
            "patients = 10",
            "patients = 100000000000",
            r"patients = 100000000000: above the limit of 10,000,000 patients; split the trial",
        ),
        (
            "seed = 1",
            "seed = 9223372036854775808",
            r"seed = 9223372036854775808: seed must be <= 9223372036854775807; give a whole "
            r"number from 0 to 2\*\*63 - 1",
        ),
        (
            'scans = "q8w"',
            'scans = "q0.0001w"',
            r"\[schedule\] scans = \"q0.0001w\": 521786 scans over 12 months is above the limit "
            r"of 10000; give a longer scan interval",
        ),
        (
            'regimen = "nivolumab 240 mg IV q2w"',
            'regimen = "nivolumab 240 mg IV q2w"\nratio = 1000000000000000000',
            r"ratio = 1000000000000000000: ratio must be <= 100",
        ),
        (
            'regimen = "nivolumab 240 mg IV q2w"',
            'regimen = "nivolumab 240 mg IV q2w x99999999999999999999"',
            r"regimen = \"nivolumab 240 mg IV q2w x99999999999999999999\": bad regimen: count: "
            r"x99999999999999999999 doses is above the limit",
        ),
        (
            "[schedule]",
            "[treatment]\nmax_duration_months = 1e9\n\n[schedule]",
            r"\[treatment\] max_duration_months = 1000000000.0: above the limit of 600 months",
        ),
    ],
)
def test_spec_size_bounds(old, new, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(_MINIMAL.replace(old, new))


def test_scan_days_refuses_a_huge_horizon():
    spec = parse_spec(_MINIMAL)
    with pytest.raises(SpecError, match=r"horizon_days: 1e\+12; give a number of days from 0"):
        spec.scan_days(1e12)


# ------------------------------------------------------------------------------------------
# command-line bounds (the CLI's own tests run the commands: tests/integration)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [-1, 2**63, True, 1.5])
def test_seed_bounds(seed):
    with pytest.raises(OncotwinError, match=r"--seed .*: a seed is a whole number from 0 to 2"):
        _bounds.check_seed(seed, "--seed")


def test_seed_limits_accepted():
    assert _bounds.check_seed(0, "--seed") == 0
    assert _bounds.check_seed(2**63 - 1, "--seed") == 2**63 - 1


@pytest.mark.parametrize("rtol", [0.0, -1e-6, math.inf, math.nan])
def test_tolerance_must_be_positive_and_finite(rtol):
    with pytest.raises(OncotwinError, match="a tolerance is a positive finite number"):
        _bounds.check_tolerance(rtol, "--rtol", minimum=_bounds.MIN_RTOL)


def test_tolerance_floor():
    with pytest.raises(OncotwinError, match=r"--rtol 1e-20 is below the limit of 1e-14"):
        _bounds.check_tolerance(1e-20, "--rtol", minimum=_bounds.MIN_RTOL)
    assert _bounds.check_tolerance(1e-14, "--rtol", minimum=_bounds.MIN_RTOL) == 1e-14


def test_output_that_would_not_fit_the_disk_is_refused(tmp_path, monkeypatch):
    usage = type("Usage", (), {"free": 10_000_000, "total": 1, "used": 0})
    monkeypatch.setattr(_bounds.shutil, "disk_usage", lambda path: usage)
    per = _bounds.trial_bytes_per_patient(20)
    assert per == 16 * (64 + 24 + 20 * 11 + 72)
    _bounds.check_fits(100, per, tmp_path / "new" / "out", option="--patients")
    with pytest.raises(
        OncotwinError,
        match=r"--patients 10,000: the output would need about 60.8 MB \(6.08 kB per patient\) "
        r"but only 10 MB is free where '.*out' goes; give fewer patients or another --out",
    ):
        _bounds.check_fits(10_000, per, tmp_path / "new" / "out", option="--patients")


def test_result_that_would_not_fit_memory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_bounds, "_memory_bytes", lambda: 2_000_000)
    with pytest.raises(OncotwinError, match=r"more than half of this machine's 2 MB"):
        _bounds.check_fits(1000, 8000, tmp_path, option="--patients", in_memory=True)


def test_chunk_size_bound():
    with pytest.raises(OncotwinError, match=r"--chunk-size 1,000,000 is above the limit of 50,000"):
        _bounds.check_chunk_size(1_000_000)
    _bounds.check_chunk_size(None)
    _bounds.check_chunk_size(500)


def test_messages_name_no_machine_path_beyond_what_was_given(tmp_path):
    assert str(Path.home()) not in str(_bounds.human_bytes(1e9))


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True])
def test_library_entry_points_check_the_seed(seed):
    """simulate(), sample_population and VirtualPopulation refuse a seed outside 0..2**63-1
    with one message (NumPy's own ValueError used to escape from deep inside)."""
    import oncotwin as ot

    model = ot.get_model("kuznetsov1994")
    with pytest.raises(OncotwinError, match=r"seed .*: a seed is a whole number from 0 to 2\*\*63"):
        ot.simulate(model, patients=2, days=3, seed=seed)
    with pytest.raises(OncotwinError, match=r"a seed is a whole number"):
        ot.VirtualPopulation.for_trial(model, "melanoma", np.arange(3), seed=seed)
