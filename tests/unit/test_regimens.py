"""Tests of the regimen grammar and schedule expansion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotwin.errors import RegimenError, UnitError, UnknownNameError
from oncotwin.regimens import Administration, Phase, Regimen, parse_regimen
from oncotwin.units import DoseAmount

EXAMPLES = [
    "pembrolizumab 200 mg IV q3w x35",
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w "
    "until progression",
    "aldesleukin 600000 IU/kg IV q8h x14, 2 cycles 9 days apart",
    "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
    "axicabtagene ciloleucel 2e6 cells/kg IV once",
    "docetaxel 75 mg/m2 IV q3w",
    "docetaxel 75 mg/m2 IV over 1 h q3w x6",
    "pembrolizumab 200 mg IV over 30 min q3w x35",
    "talimogene laherparepvec 1e6 PFU intralesional once, then talimogene laherparepvec "
    "1e8 PFU intralesional q2w",
    "talimogene laherparepvec 1e6 PFU intralesional once, then talimogene laherparepvec "
    "1e8 PFU intralesional q2w starting d22",
    "T-VEC 1e6 PFU intralesional once, then T-VEC 1e8 PFU intralesional q2w after 3 weeks",
    "sipuleucel-T 50e6 cells IV q2w x3",
    "trastuzumab 8 mg/kg IV once, then trastuzumab 6 mg/kg IV q3w",
    "sunitinib 50 mg PO qd x28",
    "axitinib 5 mg PO bid",
    "carboplatin 400 mg/m2 IV q3w x4",
    "Keytruda 200 mg IV q3w",
    "ipilimumab 3 mg/kg IV as a 90 min infusion q3w x4",
    "idecabtagene vicleucel 450e6 cells IV once",
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_round_trip(text):
    r = parse_regimen(text)
    assert Regimen.parse(str(r)) == r
    assert eval(repr(r)) == r
    assert parse_regimen(str(r)).schedule(400).time.tolist() == r.schedule(400).time.tolist()


def test_pembrolizumab_q3w_x35():
    s = parse_regimen("pembrolizumab 200 mg IV q3w x35").schedule(1000)
    assert s.time.tolist() == [21.0 * k for k in range(35)]
    assert s.time[-1] == 714.0 and len(s) == 35
    assert s.dose_number.tolist() == list(range(1, 36))
    assert set(s.basis) == {"flat"} and set(s.route) == {"IV"}


def test_nivo_ipi_then_nivo():
    r = parse_regimen(EXAMPLES[1])
    s = r.schedule(130)
    ipi = s.for_drug("ipi")
    assert ipi.time.tolist() == [0.0, 21.0, 42.0, 63.0]
    nivo = s.for_drug("nivolumab")
    assert nivo.time.tolist() == [0.0, 21.0, 42.0, 63.0, 84.0, 98.0, 112.0, 126.0]
    assert nivo.phase.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert nivo.until_progression.tolist() == [False] * 4 + [True] * 4
    assert nivo.dose_number.tolist() == list(range(1, 9))
    assert r.drugs == ("nivolumab", "ipilimumab")
    assert "Bajaj2017" in r.citations() and "Feng2014" in r.citations()


def test_aldesleukin_cycles():
    """Rule: cycle 2 starts 9 days after cycle 1's last dose (13 x 8 h = 4.333 days)."""
    s = parse_regimen(EXAMPLES[2]).schedule(60)
    assert len(s) == 28
    first = np.arange(14) / 3.0
    np.testing.assert_allclose(s.time[:14], first, atol=1e-9)
    np.testing.assert_allclose(s.time[14:], first + 13 / 3 + 9, atol=1e-9)
    assert s.cycle.tolist() == [0] * 14 + [1] * 14
    assert set(s.kind) == {"IU"}


def test_car_t_day_zero():
    s = parse_regimen(EXAMPLES[3]).schedule(100)
    assert s.for_drug("fludarabine").time.tolist() == [-5.0, -4.0, -3.0]
    assert s.for_drug("cyclophosphamide").time.tolist() == [-5.0, -4.0, -3.0]
    car = s.for_drug("axi-cel")
    assert car.time.tolist() == [0.0] and car.kind.tolist() == ["cells"]


def test_open_ended_and_horizon():
    s = parse_regimen("docetaxel 75 mg/m2 IV q3w").schedule(100)
    assert s.time.tolist() == [0.0, 21.0, 42.0, 63.0, 84.0]
    assert not s.until_progression.any()
    assert len(parse_regimen("axitinib 5 mg PO bid").schedule(7)) == 15
    assert len(parse_regimen("sunitinib 50 mg PO qd x28").schedule(100)) == 28


def test_loading_then_maintenance_and_tvec():
    assert parse_regimen(EXAMPLES[11]).schedule(63).time.tolist() == [0.0, 21.0, 42.0, 63.0]
    assert parse_regimen(EXAMPLES[8]).schedule(50).time.tolist() == [0.0, 21.0, 35.0, 49.0]
    assert parse_regimen(EXAMPLES[9]).schedule(50).time.tolist() == [0.0, 21.0, 35.0, 49.0]
    assert parse_regimen(EXAMPLES[7]).schedule(30).time.tolist() == [0.0, 14.0, 28.0]


def test_infusion_durations_and_canonical_text():
    r = parse_regimen("pembrolizumab 200 mg IV over 30 min q3w x35")
    assert r.schedule(1).duration.tolist() == [pytest.approx(30 / 1440)]
    assert str(parse_regimen("Keytruda 200 mg iv q3w")) == "pembrolizumab 200 mg IV q3w"
    assert str(parse_regimen(EXAMPLES[16])).endswith("IV over 1.5 h q3w x4")
    assert repr(parse_regimen("sunitinib 50 mg PO qd x28")) == (
        "Regimen.parse('sunitinib 50 mg PO qd x28')"
    )


def test_amounts_vectorised():
    s = parse_regimen(EXAMPLES[1]).schedule(84)
    w, b = np.array([80.0, 50.0, 100.0]), np.array([2.0, 1.6, 2.2])
    a = s.amounts(w, b)
    assert a.shape == (3, len(s))
    assert a[0, 0] == pytest.approx(80.0) and a[0, 1] == pytest.approx(240.0)  # 3 mg/kg x 80
    assert a[:, -1] == pytest.approx(3.0 * w)
    flat = parse_regimen("pembrolizumab 200 mg IV q3w x2").schedule(50).amounts(w, b)
    assert flat.tolist() == [[200.0, 200.0]] * 3
    bsa = parse_regimen("docetaxel 75 mg/m2 IV q3w x1").schedule(50).amounts(w, b)
    assert bsa[:, 0] == pytest.approx(75.0 * b)
    with pytest.raises(RegimenError, match="equal length"):
        s.amounts(w, b[:2])


def test_schedule_arrays_read_only():
    s = parse_regimen(EXAMPLES[0]).schedule(100)
    with pytest.raises(ValueError, match="read-only"):
        s.time[0] = 1.0


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("text", "exc", "pattern"),
    [
        ("pembrolizumb 200 mg IV q3w", UnknownNameError, r"did you mean 'pembrolizumab'\?"),
        ("pembrolizumab -200 mg IV q3w", UnitError, r"is negative; a dose must be > 0"),
        ("pembrolizumab 0 mg IV q3w", RegimenError, r"is zero; a dose must be > 0"),
        ("pembrolizumab nan mg IV q3w", UnitError, r"is NaN; give a finite dose"),
        ("pembrolizumab 200 mL IV q3w", UnitError, r"'mL' .* not a dose unit.*accepted units"),
        ("pembrolizumab 200 IV q3w", RegimenError, r"has no unit"),
        ("pembrolizumab 200 mg PO q3w", RegimenError, r"route: pembrolizumab is not given PO"),
        ("axicabtagene ciloleucel 200 mg IV once", UnitError, r"dosed in cells"),
        ("pembrolizumab 200 mg IV q3w x0", RegimenError, r"count x0: a phase needs at least"),
        ("pembrolizumab 200 mg IV x35", RegimenError, r"missing dosing interval"),
        ("pembrolizumab 200 mg q3w", RegimenError, r"missing route for pembrolizumab"),
        ("pembrolizumab IV q3w", RegimenError, r"missing dose for pembrolizumab"),
        ("pembrolizumab 200 mg IV q3w banana", RegimenError, r"unexpected 'banana'"),
        ("pembrolizumab 200 mg IV q3w x4 x5", RegimenError, r"count given twice"),
        (
            "docetaxel 75 mg/m2 IV q3w, then pembrolizumab 200 mg IV q3w",
            RegimenError,
            r"repeats to the horizon, so phase 2 would never start",
        ),
        ("", RegimenError, r"the regimen is empty"),
    ],
)
def test_errors(text, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        parse_regimen(text)
    assert isinstance(info.value, RegimenError)


def test_error_has_caret_expected_and_examples():
    text = "pembrolizumab 200 mg IV q3w banana"
    with pytest.raises(RegimenError) as info:
        parse_regimen(text)
    msg = str(info.value)
    lines = msg.splitlines()
    assert lines[1] == f"  {text}"
    assert lines[2] == "  " + " " * text.index("banana") + "^"
    assert "expected a schedule (q3w" in msg
    assert "valid examples:" in msg and "pembrolizumab 200 mg IV q3w x35" in msg


def test_object_validation():
    with pytest.raises(RegimenError, match="needs at least one drug"):
        Phase((), interval_days=21)
    adm = Administration("pembro", DoseAmount(200, "mass"), "iv")
    assert adm.drug == "pembrolizumab" and adm.route == "IV"
    with pytest.raises(RegimenError, match="until progression: needs an interval and no count"):
        Phase((adm,), interval_days=21, count=3, until_progression=True)
    with pytest.raises(RegimenError, match="horizon_days"):
        Regimen((Phase((adm,), once=True),)).schedule(float("nan"))


# ----------------------------------------------------------------------------- property
_DRUGS = [
    ("pembrolizumab", "mass", "IV"),
    ("nivolumab", "mass", "IV"),
    ("sunitinib", "mass", "PO"),
    ("aldesleukin", "IU", "IV"),
    ("tisagenlecleucel", "cells", "IV"),
    ("talimogene laherparepvec", "PFU", "intralesional"),
]


@st.composite
def _admins(draw):
    name, kind, route = draw(st.sampled_from(_DRUGS))
    value = draw(st.floats(min_value=1e-3, max_value=1e9, allow_nan=False))
    basis = draw(st.sampled_from(["flat", "per_kg", "per_m2"]))
    duration = draw(st.sampled_from([0.0, 30 / 1440, 1 / 24, 1.5 / 24, 2 / 24]))
    return Administration(name, DoseAmount(value, kind, basis), route, duration)


@st.composite
def _phases(draw, last: bool):
    adms = tuple(draw(st.lists(_admins(), min_size=1, max_size=2)))
    form = draw(st.sampled_from(["once", "days", "interval"]))
    if form == "once":
        return Phase(adms, once=True)
    if form == "days":
        lo = draw(st.integers(-7, 10))
        return Phase(adms, days=(lo, lo + draw(st.integers(0, 3))))
    interval = draw(st.sampled_from([7.0, 14.0, 21.0, 28.0, 1.0, 0.5, 1 / 3, 0.25, 2.0]))
    count = draw(st.one_of(st.none(), st.integers(1, 40))) if last else draw(st.integers(1, 40))
    cycles = draw(st.integers(1, 3)) if count is not None else 1
    gap = float(draw(st.integers(0, 20))) if cycles > 1 else 0.0
    until = count is None and draw(st.booleans())
    return Phase(
        adms,
        interval_days=interval,
        count=count,
        cycles=cycles,
        cycle_gap_days=gap,
        until_progression=until,
    )


@st.composite
def _regimens(draw):
    n = draw(st.integers(1, 3))
    return Regimen(tuple(draw(_phases(last=i == n - 1)) for i in range(n)))


@settings(max_examples=150, deadline=None)
@given(_regimens())
def test_round_trip_property(r):
    assert parse_regimen(str(r)) == r
    assert eval(repr(r)) == r
    s = r.schedule(200)
    assert np.all(np.diff(s.time) >= 0)
