"""Concurrent '+' groups, day lists within cycles and placebo in the regimen grammar."""

import numpy as np
import pytest

from oncotwin.errors import RegimenError
from oncotwin.regimens import Concurrent, Phase, Regimen, parse_regimen


def _days(s, drug):
    return s.for_drug(drug).time.tolist()


def _round_trips(r):
    assert eval(repr(r)) == r
    assert parse_regimen(str(r)) == r
    assert str(parse_regimen(str(r))) == str(r)


# ---------------------------------------------------------------- the five regimens
def test_pembrolizumab_pemetrexed_carboplatin():
    r = parse_regimen(
        "pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 IV q3w + carboplatin AUC 5 IV q3w x4"
    )
    _round_trips(r)
    (block,) = r.phases
    assert isinstance(block, Concurrent) and len(block.groups) == 3
    s = r.schedule(120)
    assert _days(s, "pembrolizumab") == [0, 21, 42, 63, 84, 105]  # open-ended: horizon
    assert _days(s, "pemetrexed") == [0, 21, 42, 63, 84, 105]
    assert _days(s, "carboplatin") == [0, 21, 42, 63]
    assert s.for_drug("carboplatin").group.tolist() == [2] * 4
    assert r.drugs == ("pembrolizumab", "pemetrexed", "carboplatin")


def test_gemcitabine_days_1_8_with_cisplatin():
    r = parse_regimen("gemcitabine 1250 mg/m2 IV d1,8 q3w + cisplatin 75 mg/m2 IV q3w x4")
    _round_trips(r)
    s = r.schedule(100)
    assert _days(s, "gemcitabine") == [0, 7, 21, 28, 42, 49, 63, 70, 84, 91]
    assert _days(s, "cisplatin") == [0, 21, 42, 63]
    assert s.for_drug("gemcitabine").cycle.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_daratumumab_pomalidomide_dexamethasone():
    r = parse_regimen(
        "daratumumab 16 mg/kg IV weekly x8 + pomalidomide 4 mg PO d1-21 q4w + "
        "dexamethasone 40 mg PO weekly"
    )
    _round_trips(r)
    s = r.schedule(60)
    assert _days(s, "daratumumab") == [7.0 * k for k in range(8)]
    assert _days(s, "pomalidomide") == list(range(21)) + list(range(28, 49)) + list(range(56, 61))
    assert _days(s, "dexamethasone") == [7.0 * k for k in range(9)]
    a = s.for_drug("daratumumab").amounts(np.array([70.0]), np.array([1.8]))
    assert a[0, 0] == pytest.approx(16 * 70.0)


def test_atezolizumab_carboplatin_etoposide_then_maintenance():
    """IMpower133: the block ends at the end of its last cycle (4 x 21 = day 84)."""
    r = parse_regimen(
        "atezolizumab 1200 mg + carboplatin AUC 5 IV q3w x4 + etoposide 100 mg/m2 IV d1-3 q3w "
        "x4, then atezolizumab 1200 mg IV q3w until progression"
    )
    _round_trips(r)
    assert len(r.phases) == 2 and isinstance(r.phases[0], Concurrent)
    assert str(r.phases[0].groups[0]) == "atezolizumab 1200 mg + carboplatin AUC 5 IV q3w x4"
    s = r.schedule(130)
    assert _days(s, "atezolizumab") == [0, 21, 42, 63, 84, 105, 126]
    assert s.for_drug("atezolizumab").phase.tolist() == [0] * 4 + [1] * 3
    assert s.for_drug("atezolizumab").until_progression.tolist() == [False] * 4 + [True] * 3
    assert _days(s, "carboplatin") == [0, 21, 42, 63]
    assert _days(s, "etoposide") == [0, 1, 2, 21, 22, 23, 42, 43, 44, 63, 64, 65]
    assert s.for_drug("etoposide").group.tolist() == [1] * 12


def test_pembrolizumab_nab_paclitaxel_days_1_8_15():
    r = parse_regimen("pembrolizumab 200 mg IV q3w + nab-paclitaxel 100 mg/m2 IV d1,8,15 q4w")
    _round_trips(r)
    s = r.schedule(60)
    assert _days(s, "pembrolizumab") == [0, 21, 42]
    assert _days(s, "nab-paclitaxel") == [0, 7, 14, 28, 35, 42, 56]


# ---------------------------------------------------------------- binding rules
def test_open_ended_group_stops_where_the_block_ends_when_a_phase_follows():
    r = parse_regimen(
        "pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 + carboplatin AUC 5 IV q3w x4, "
        "then pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 IV q3w until progression"
    )
    _round_trips(r)
    s = r.schedule(110)
    pem = s.for_drug("pembrolizumab")
    assert pem.time.tolist() == [0, 21, 42, 63, 84, 105] and pem.phase.tolist() == [0] * 4 + [1] * 2


def test_block_end_is_the_latest_group_end():
    """Groups of different lengths: the next phase starts after the longest one's last cycle."""
    r = parse_regimen(
        "cisplatin 75 mg/m2 IV q3w x2 + paclitaxel 80 mg/m2 IV d1,8,15 q4w x2, then "
        "pembrolizumab 200 mg IV q3w x2"
    )
    s = r.schedule(200)
    assert _days(s, "paclitaxel") == [0, 7, 14, 28, 35, 42]
    assert _days(s, "pembrolizumab") == [56, 77]  # 2 x 28 days


def test_day_lists_and_ranges():
    cases = {
        "paclitaxel 80 mg/m2 IV d1,8,15 q4w x2": [0, 7, 14, 28, 35, 42],
        "paclitaxel 80 mg/m2 IV d1-5 q4w x2": [0, 1, 2, 3, 4, 28, 29, 30, 31, 32],
        "paclitaxel 80 mg/m2 IV d1-3,8 q3w x1": [0, 1, 2, 7],
        "paclitaxel 80 mg/m2 IV d1 to d3 q3w x2": [0, 1, 2, 21, 22, 23],
        "paclitaxel 80 mg/m2 IV d1,8": [0, 7],
        "paclitaxel 80 mg/m2 IV weekly x8": [7.0 * k for k in range(8)],
    }
    for text, days in cases.items():
        r = parse_regimen(text)
        _round_trips(r)
        assert r.schedule(100).time.tolist() == days, text
    assert str(parse_regimen("paclitaxel 80 mg/m2 IV d1 to d3 q3w x2")).endswith("d1-3 q3w x2")
    # a contiguous list without an interval is the day range of today's grammar
    assert parse_regimen("paclitaxel 80 mg/m2 IV d1-3") == parse_regimen(
        "paclitaxel 80 mg/m2 IV d1 to d3"
    )
    assert parse_regimen("paclitaxel 80 mg/m2 IV weekly").schedule(30).time.tolist() == [
        0,
        7,
        14,
        21,
        28,
    ]


def test_twice_daily_on_listed_days():
    r = parse_regimen("capecitabine 1000 mg/m2 PO bid d1-14 q3w x2")
    _round_trips(r)
    t = r.schedule(60).time
    assert len(t) == 56 and t[:4].tolist() == [0.0, 0.5, 1.0, 1.5] and t[28] == 21.0


def test_placebo_anywhere():
    a = parse_regimen("placebo + paclitaxel 175 mg/m2 IV q3w x6")
    b = parse_regimen("paclitaxel 175 mg/m2 IV q3w x6 + placebo")
    assert a == b and a.placebo and str(a) == "placebo + paclitaxel 175 mg/m2 IV q3w x6"
    _round_trips(a)
    assert a.schedule(200).drug.tolist() == ["paclitaxel"] * 6
    assert a.drugs == ("paclitaxel",)
    c = parse_regimen("pembrolizumab 200 mg IV q3w + placebo")
    assert str(c) == "placebo + pembrolizumab 200 mg IV q3w" and c.placebo
    m = parse_regimen(
        "placebo + carboplatin AUC 5 IV q3w x4 + etoposide 100 mg/m2 IV d1-3 q3w x4, then "
        "placebo IV q3w until progression"
    )
    _round_trips(m)
    s = m.schedule(200)
    assert set(s.drug.tolist()) == {"carboplatin", "etoposide"} and s.time.max() == 65.0
    assert not parse_regimen("pembrolizumab 200 mg IV q3w").placebo


def test_objects_build_a_concurrent_block():
    r = parse_regimen("gemcitabine 1250 mg/m2 IV d1,8 q3w x4 + cisplatin 75 mg/m2 IV q3w x4")
    block = r.phases[0]
    assert Regimen((Concurrent(block.groups),)) == r
    assert block.groups[0].cycle_days == (1, 8) and block.groups[0].count == 4
    with pytest.raises(RegimenError, match="two or more scheduled groups"):
        Concurrent(block.groups[:1])
    with pytest.raises(RegimenError, match=r"group 2 .* is not a Phase"):
        Concurrent((block.groups[0], "x"))  # type: ignore[arg-type]
    with pytest.raises(RegimenError, match="falls after the end of a 7-day cycle"):
        Phase(block.groups[0].administrations, interval_days=7.0, cycle_days=(1, 8))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 IV",
            r"pemetrexed has no schedule: a schedule binds to the items before it",
        ),
        ("paclitaxel 80 mg/m2 IV d1,8,15 q1w", r"d15 falls after the end of a 7-day cycle"),
        ("paclitaxel 80 mg/m2 IV d1,8,8 q3w", r"a day is listed twice"),
        ("paclitaxel 80 mg/m2 IV d3-1 q3w", r"d3-1 runs backwards"),
        ("paclitaxel 80 mg/m2 IV d1,8 x4", r"needs the cycle length, e.g. 'd1,8 q3w x4'"),
        ("paclitaxel 80 mg/m2 IV d-5 to d-3 q3w", r"listed days start at d1"),
        ("paclitaxel 80 mg/m2 IV d1,8 q3w d2", r"days given twice"),
        (
            "paclitaxel 80 mg/m2 IV d1,8 q3w x2, 2 cycles 5 days apart",
            r"give the number of cycles as a count",
        ),
        (
            "cisplatin 75 mg/m2 IV q3w x4 + pembrolizumab 200 mg IV q3w starting d22",
            r"group 2 .* says when it starts; only the first group may",
        ),
        (
            "pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 IV q3w, then nivolumab 240 mg IV "
            "q2w",
            r"repeats to the horizon, so phase 2 would never start",
        ),
        ("placebo", r"placebo alone needs a schedule"),
        ("placebo, then pembrolizumab 200 mg IV q3w", r"placebo alone needs a schedule"),
    ],
)
def test_errors(text, pattern):
    with pytest.raises(RegimenError, match=pattern) as info:
        parse_regimen(text)
    assert "valid examples:" in str(info.value) and "^" in str(info.value)


@pytest.mark.slow
def test_the_five_regimens_simulate_in_metastatic_io():
    """End to end: each regimen of the issue doses a small metastatic_io population (AUC doses
    from each patient's creatinine clearance) and lowers the median tumour burden."""
    import oncotwin as ot
    from oncotwin.population import sample_population
    from oncotwin.simulation import simulate

    m = ot.get_model("metastatic_io")
    pop = sample_population(m, 6, seed=2)
    names = [s.name for s in m.states if s.name.startswith("T_")]
    for text in (
        "pembrolizumab 200 mg IV q3w + pemetrexed 500 mg/m2 IV q3w + carboplatin AUC 5 IV q3w x4",
        "gemcitabine 1250 mg/m2 IV d1,8 q3w + cisplatin 75 mg/m2 IV q3w x4",
        "daratumumab 16 mg/kg IV weekly x8 + pomalidomide 4 mg PO d1-21 q4w + dexamethasone "
        "40 mg PO weekly",
        "atezolizumab 1200 mg + carboplatin AUC 5 IV q3w x4 + etoposide 100 mg/m2 IV d1-3 q3w "
        "x4, then atezolizumab 1200 mg IV q3w until progression",
        "pembrolizumab 200 mg IV q3w + nab-paclitaxel 100 mg/m2 IV d1,8,15 q4w",
    ):
        sol = simulate(m, text, patients=pop, days=84.0, every=42.0).solution
        total = sum(np.asarray(sol[n]) for n in names)
        assert np.all(np.isfinite(total)), text
        # the default population's tumour is not myeloma (no CD38): daratumumab's regimen is
        # checked for running only
        assert np.median(total[:, -1] / total[:, 0]) < 1.0 or "daratumumab" in text, text


# ---------------------------------------------------------------- property: new forms paste back
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from oncotwin.regimens import Administration, Track  # noqa: E402
from oncotwin.units import DoseAmount  # noqa: E402


@st.composite
def _adm(draw):
    form = draw(st.sampled_from(["flat", "per_m2", "auc", "rate", "capped", "loading"]))
    value = draw(st.floats(min_value=0.01, max_value=5000, allow_nan=False))
    if form == "auc":
        return Administration("carboplatin", DoseAmount(value, "mass", "auc"), "IV")
    if form == "rate":
        return Administration("fluorouracil", DoseAmount(value, "mass", "per_m2", True), "IV")
    if form == "capped":
        cap = draw(st.floats(min_value=0.1, max_value=1000, allow_nan=False))
        return Administration("vincristine", DoseAmount(value, "mass", "per_m2", max_mg=cap), "IV")
    if form == "loading":
        first = draw(st.floats(min_value=0.01, max_value=5000, allow_nan=False))
        dose = DoseAmount(value, "mass", "per_kg", loading=first)
        return Administration("trastuzumab", dose, "IV")
    basis = "flat" if form == "flat" else "per_m2"
    return Administration("paclitaxel", DoseAmount(value, "mass", basis), "IV", 1 / 24)


@st.composite
def _group(draw, last: bool):
    adms = tuple(draw(st.lists(_adm(), min_size=1, max_size=2)))
    placebo = draw(st.booleans())
    interval = draw(st.sampled_from([7.0, 14.0, 21.0, 28.0]))
    rate = any(a.continuous for a in adms)
    count = draw(st.one_of(st.none(), st.integers(1, 6))) if last else draw(st.integers(1, 6))
    until = count is None and draw(st.booleans())
    if rate or draw(st.booleans()):
        lo = draw(st.integers(1, 5))
        hi = draw(st.integers(lo, min(lo + 4, int(interval))))
        days = tuple(range(lo, hi + 1))
        if not rate and draw(st.booleans()) and hi + 3 <= interval:
            days = (*days, hi + 3)
        return Phase(adms, interval_days=interval, count=count, cycle_days=days,
                     until_progression=until, placebo=placebo)  # fmt: skip
    return Phase(adms, interval_days=interval, count=count, until_progression=until,
                 placebo=placebo)  # fmt: skip


@st.composite
def _phase(draw, last: bool):
    n = draw(st.integers(1, 3))
    groups = [draw(_group(last=last or i > 0)) for i in range(n)]
    if not last:
        groups[0] = draw(_group(last=False))
    return groups[0] if n == 1 else Concurrent(tuple(groups))


@st.composite
def _regimens(draw):
    n = draw(st.integers(1, 2))
    return Regimen(Track(tuple(draw(_phase(last=i == n - 1)) for i in range(n))).phases)


@settings(max_examples=60, deadline=None)
@given(_regimens())
def test_new_forms_round_trip_property(r):
    assert parse_regimen(str(r)) == r
    assert eval(repr(r)) == r
    s = r.schedule(300)
    assert np.all(np.diff(s.time) >= 0) and len(s.group) == len(s.time)
    a = s.amounts(np.full(2, 70.0), np.full(2, 1.8), np.array([60.0, 150.0]))
    assert np.all(np.isfinite(a)) and np.all(a > 0)
    cap = np.isfinite(s.max_amount)
    assert np.all(a[:, cap] <= s.max_amount[cap] + 1e-12)


def test_doses_per_day_are_qd_bid_or_tid():
    adm = parse_regimen("capecitabine 1000 mg/m2 PO bid d1-14").phases[0].administrations
    with pytest.raises(RegimenError, match=r"give 1 \(qd\), 2 \(bid\) or 3 \(tid\)"):
        Phase(adm, days=(1, 14), doses_per_day=4)
    with pytest.raises(RegimenError, match="bid/tid on given days needs the days"):
        Phase(adm, interval_days=21.0, doses_per_day=2)
    tid = parse_regimen("capecitabine 500 mg/m2 PO tid d1-2")
    assert str(tid) == "capecitabine 500 mg/m2 PO tid d1 to d2" and len(tid.schedule(5)) == 6
