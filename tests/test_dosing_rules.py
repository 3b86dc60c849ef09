"""Dosing rules in the regimen grammar: parsing, canonical text that pastes back, the
schedule's 'stop after', and one clear message for each impossible or conflicting rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotwin.errors import RegimenError, UnknownNameError
from oncotwin.regimens import DoseRule, Regimen, Track, parse_regimen

ISSUE = (
    "pembrolizumab 200 mg IV q3w until progression, hold if irAE >= 2 until irAE <= 1, "
    "stop if irAE >= 4, stop after 24 months"
)
CHEMO_IO = (
    "pembrolizumab 200 mg IV q3w x8 with carboplatin AUC 5 + pemetrexed 500 mg/m2 IV q3w x4, "
    "reduce carboplatin by 25% if neutropenia >= 3"
)


def _round_trips(r: Regimen) -> None:
    assert parse_regimen(str(r)) == r
    assert eval(repr(r)) == r


def test_the_issue_example_parses_into_track_rules():
    r = parse_regimen(ISSUE)
    assert str(r) == ISSUE
    (track,) = r.tracks
    hold, stop, after = track.rules
    assert (hold.action, hold.readout, hold.grade, hold.until) == ("hold", "irae", 2, 1)
    assert (stop.action, stop.readout, stop.grade) == ("stop", "irae", 4)
    assert after.after == (24.0, "month") and after.after_days == pytest.approx(730.5)
    assert r.rules == ((0, hold), (0, stop), (0, after))
    _round_trips(r)


def test_a_rule_naming_a_drug_acts_on_that_drug_in_any_track():
    r = parse_regimen(CHEMO_IO)
    ((k, rule),) = r.rules
    assert k == 1 and rule.drug == "carboplatin" and rule.factor == pytest.approx(0.75)
    assert str(r).endswith("reduce carboplatin by 25% if neutropenia >= 3")
    _round_trips(r)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("hold if IRAE >= 2", "hold if irAE >= 2 until irAE <= 1"),  # default: below G
        ("give steroids if irAE => 2", "steroids if irAE >= 2"),
        ("STOP if crs >= 3", "stop if CRS >= 3"),
        ("stop if capillary_leak >= 3", "stop if capillary leak >= 3"),
        ("hold Keytruda if icans >= 2", "hold pembrolizumab if ICANS >= 2 until ICANS <= 1"),
        ("stop after 1 year", "stop after 1 year"),
        ("stop after 104 weeks", "stop after 104 weeks"),
        ("reduce by 12.5% if neutropenia >= 4", "reduce by 12.5% if neutropenia >= 4"),
    ],
)  # fmt: skip
def test_spellings_print_canonically(text, canonical):
    r = parse_regimen(f"pembrolizumab 200 mg IV q3w x35, {text}")
    assert str(r) == f"pembrolizumab 200 mg IV q3w x35, {canonical}"
    _round_trips(r)


def test_rules_follow_each_track_of_a_concurrent_regimen():
    r = parse_regimen(
        "nivolumab 240 mg IV q2w x26, stop if irAE >= 3; ipilimumab 1 mg/kg IV q6w x8, "
        "hold if irAE >= 2"
    )
    assert [(k, x.text()) for k, x in r.rules] == [
        (0, "stop if irAE >= 3"),
        (1, "hold if irAE >= 2 until irAE <= 1"),
    ]
    _round_trips(r)


def test_stop_after_ends_the_schedule_of_its_track_only():
    """'stop after 24 months' on q3w: doses on days 0..714 (35, as KEYNOTE trials give);
    the other track goes on."""
    r = parse_regimen(
        "pembrolizumab 200 mg IV q3w until progression, stop after 24 months; "
        "pemetrexed 500 mg/m2 IV q3w"
    )
    s = r.schedule(1000)
    pem = s.for_drug("pembrolizumab")
    assert len(pem) == 35 and pem.time.max() == 714.0
    assert s.for_drug("pemetrexed").time.max() == pytest.approx(987.0)
    # a named drug: its first dose anchors the duration
    r2 = parse_regimen("pembrolizumab 200 mg IV q3w, stop pembrolizumab after 12 weeks")
    np.testing.assert_array_equal(r2.schedule(365).time, [0.0, 21.0, 42.0, 63.0, 84.0])


_REFUSED = [
    ("hold if irAE >= 2 until irAE <= 3", r"'hold if irAE >= 2 until irAE <= 3' cannot end"),
    (
        "stop if irAE >= 3, hold if irAE >= 4",
        r"'hold if irAE >= 4 until irAE <= 3' can never act: 'stop if irAE >= 3' stops",
    ),
    (
        "stop if neutropenia >= 3, reduce by 25% if neutropenia >= 3",
        r"'reduce by 25% if neutropenia >= 3' can never act",
    ),
    ("reduce by 120% if neutropenia >= 3", r"'reduce by 120%' is impossible: give 0 < P < 100"),
    ("reduce by 0% if neutropenia >= 3", r"'reduce by 0%' is impossible"),
    ("stop if irAE >= 3, stop if irAE >= 4", r"both stop pembrolizumab on irAE; keep one"),
    ("stop after 1 year, stop after 24 months", r"both end pembrolizumab"),
    ("steroids if irAE >= 2, steroids if irAE >= 3", r"both start steroids on irAE"),
    ("stop if iRAEs >= 3", r"unknown readout 'iRAEs' in a dosing rule; did you mean 'irAE'\?"),
    ("hold if neutropnia >= 3", r"did you mean 'neutropenia'\?"),
    ("stop if irAE > 3", r"(?s)'>' in 'if irAE > 3'.*expected '>='"),
    ("stop if irAE >= 5", r"grade 5 in 'stop ... if' is outside 1-4"),
    ("hold if irAE >= 2 until CRS <= 1", r"the hold starts on irAE but ends on CRS"),
    ("stop carboplatin if neutropenia >= 3", r"names carboplatin, which the regimen does not"),
    ("stop if irAE >= 2.5", r"grade 2.5 is not whole"),
    ("stop after 0 months", r"'stop after 0.0 months' is impossible"),
    ("stop", r"'stop' without a condition"),
    ("steroids pembrolizumab if irAE >= 2", r"expected 'if READOUT >= G'"),
]


@pytest.mark.parametrize(("rules", "says"), _REFUSED)
def test_impossible_or_conflicting_rules_are_refused_naming_the_clause(rules, says):
    with pytest.raises(RegimenError, match=says) as err:
        parse_regimen(f"pembrolizumab 200 mg IV q3w x35, {rules}")
    msg = str(err.value)
    assert msg.startswith("bad regimen:") and "^" in msg  # the caret under the clause


def test_a_misspelt_rule_drug_gets_did_you_mean():
    with pytest.raises(UnknownNameError, match="did you mean 'pembrolizumab'"):
        parse_regimen("pembrolizumab 200 mg IV q3w x35, hold pembrolizumob if irAE >= 2")


def test_rules_come_after_the_last_phase():
    with pytest.raises(RegimenError, match="a dosing rule is followed by ', then'"):
        parse_regimen("pembrolizumab 200 mg IV q3w x4, stop if irAE >= 3, then nivolumab 240 mg")


def test_rules_do_not_change_a_regimen_without_them():
    plain = "pembrolizumab 200 mg IV q3w x35"
    assert parse_regimen(plain).rules == () and str(parse_regimen(plain)) == plain
    assert parse_regimen(plain) != parse_regimen(plain + ", stop if irAE >= 3")


def test_dose_rule_objects_check_themselves():
    assert DoseRule("hold", readout="irAE", grade=3).until == 2
    assert math.isinf(DoseRule("stop", readout="crs", grade=3).after_days)
    with pytest.raises(RegimenError, match="dosing rule action 'pause'"):
        DoseRule("pause", readout="irae", grade=2)
    with pytest.raises(RegimenError, match="'until' belongs to a hold"):
        DoseRule("stop", readout="irae", grade=3, until=1)
    with pytest.raises(RegimenError, match="names no drug"):
        DoseRule("steroids", readout="irae", grade=2, drug="pembrolizumab")


# -- property: any valid set of rules on any track prints text that parses back ----------------
_BASES = [
    "pembrolizumab 200 mg IV q3w x35",
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w x20",
    "carboplatin AUC 5 + paclitaxel 175 mg/m2 IV q3w x6",
    "FOLFOX q2w x12",
    "atezolizumab 1200 mg IV q3w x17 with bevacizumab 15 mg/kg IV q3w x17",
]
_KINDS = ["irae", "crs", "icans", "neutropenia", "capillary_leak"]


@st.composite
def _rule_sets(draw) -> list[DoseRule]:
    out: list[DoseRule] = []
    readouts = draw(st.lists(st.sampled_from(_KINDS), max_size=3, unique=True))
    for ro in readouts:
        stop_g = draw(st.one_of(st.none(), st.integers(2, 4)))
        top = 4 if stop_g is None else stop_g - 1
        if stop_g is not None:
            out.append(DoseRule("stop", readout=ro, grade=stop_g))
        if draw(st.booleans()):
            g = draw(st.integers(1, top))
            out.append(DoseRule("hold", readout=ro, grade=g, until=draw(st.integers(0, g - 1))))
        if top >= 1 and draw(st.booleans()):
            pct = draw(st.sampled_from([10.0, 20.0, 25.0, 33.3, 50.0, 75.0, 99.5]))
            g = draw(st.integers(1, top))
            out.append(DoseRule("reduce", readout=ro, grade=g, percent=pct))
        if draw(st.booleans()):
            out.append(DoseRule("steroids", readout=ro, grade=draw(st.integers(1, 4))))
    if draw(st.booleans()):
        n = draw(st.sampled_from([1.0, 6.0, 12.0, 24.0, 2.5]))
        out.append(
            DoseRule("stop", after=(n, draw(st.sampled_from(["day", "week", "month", "year"]))))
        )
    return draw(st.permutations(out))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(_BASES), _rule_sets())
def test_round_trip_property_with_rules(base, rules):
    first, *rest = parse_regimen(base).tracks
    r = Regimen(tracks=(Track(first.phases, tuple(rules)), *rest))
    _round_trips(r)
    assert r.tracks[0].rules == tuple(rules)
    s = r.schedule(400)
    assert np.all(np.diff(s.time) >= 0)


_WORDS = st.sampled_from(
    ["hold", "stop", "reduce", "steroids", "give", "if", "until", "after", "by", "irAE", "CRS",
     "neutropenia", "capillary", "leak", "carboplatin", "pembrolizumab", ">=", "<=", ">", "=",
     "2", "3", "-1", "4.5", "25%", "120%", "months", "weeks", ",", ", then", "; ", "x4"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=10).map(" ".join))
def test_rule_shaped_text_parses_or_fails_with_one_regimen_error(tail):
    """Any rule-shaped tail is a regimen (that pastes back) or one RegimenError."""
    try:
        r = parse_regimen(f"pembrolizumab 200 mg IV q3w x35, {tail}")
    except RegimenError as exc:
        assert str(exc).startswith("bad regimen:")
        return
    _round_trips(r)
