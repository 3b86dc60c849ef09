"""Tests of the regimen grammar and schedule expansion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotwin.errors import RegimenError, UnitError, UnknownNameError
from oncotwin.regimens import Administration, Phase, Regimen, parse_regimen
from oncotwin.regimens.grammar import (
    EXAMPLES as GRAMMAR_EXAMPLES,
)
from oncotwin.regimens.grammar import (
    SITES,
    Track,
    UnknownSiteError,
    canonical_site,
)
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
    # radiotherapy and concurrent tracks
    "radiotherapy 8 Gy x3 to lung",
    "8 Gy x3 to lung",
    "radiotherapy 2 Gy daily x30 to primary",
    "radiotherapy 20 Gy once to brain",
    "radiotherapy 9 Gy q2d x3 to liver",
    "xrt 200 cGy weekdays x25 to lymph node",
    "radiotherapy 2 Gy 5 fractions/week x10 to soft tissue",
    "radiotherapy 8 Gy x3 to lung with pembrolizumab 200 mg IV q3w x35",
    "paclitaxel 175 mg/m2 IV q3w x6 with trastuzumab 4 mg/kg IV once, then trastuzumab "
    "2 mg/kg IV q1w",
    "sunitinib 50 mg PO qd x28, 4 cycles 14 days apart with nivolumab 240 mg IV q2w",
    "radiotherapy 8 Gy to lung + radiotherapy 6 Gy to liver x3; pembrolizumab 200 mg IV q3w",
    "radiotherapy 2 Gy x5 to primary, 2 cycles 2 days apart",
    "pembrolizumab 200 mg IV + SBRT 8 Gy to adrenal once",
    "pembrolizumab 200 mg IV q3w with radiotherapy 8 Gy x3 to bone starting d22",
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_round_trip(text):
    r = parse_regimen(text)
    assert Regimen.parse(str(r)) == r
    assert eval(repr(r)) == r
    assert parse_regimen(str(r)).schedule(400).time.tolist() == r.schedule(400).time.tolist()
    assert str(parse_regimen(str(r))) == str(r)


@pytest.mark.parametrize("text", GRAMMAR_EXAMPLES)
def test_grammar_examples_are_canonical(text):
    assert str(parse_regimen(text)) == text


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


# ----------------------------------------------------------------------------- radiotherapy
@pytest.mark.parametrize(
    ("text", "canonical", "times", "site"),
    [
        ("radiotherapy 8 Gy x3 to lung", "radiotherapy 8 Gy x3 to lung", [0, 1, 2], "lung"),
        ("8 Gy x3 to lung", "radiotherapy 8 Gy x3 to lung", [0, 1, 2], "lung"),
        ("RT 8 Gy to Lungs x3", "radiotherapy 8 Gy x3 to lung", [0, 1, 2], "lung"),
        (
            "radiotherapy 8 Gy external beam x3 to lung",
            "radiotherapy 8 Gy x3 to lung",
            [0, 1, 2],
            "lung",
        ),
        (
            "radiotherapy 2 Gy daily x30 to primary",
            "radiotherapy 2 Gy x30 to primary",
            list(range(30)),
            "primary",
        ),
        ("radiotherapy 20 Gy once to brain", "radiotherapy 20 Gy once to brain", [0], "brain"),
        ("SBRT 9 Gy q2d x3 to liver", "radiotherapy 9 Gy q2d x3 to liver", [0, 2, 4], "liver"),
        (
            "radiotherapy 2 Gy 5 fractions/week x12 to node",
            "radiotherapy 2 Gy weekdays x12 to lymph node",
            [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 14, 15],
            "lymph_node",
        ),
        (
            "radiation 8 Gy d1 to d3 to bone",
            "radiotherapy 8 Gy d1 to d3 to bone",
            [0, 1, 2],
            "bone",
        ),
        ("rt 6 Gy x5 to soft tissue", "radiotherapy 6 Gy x5 to skin", [0, 1, 2, 3, 4], "skin"),
    ],
)
def test_radiotherapy_forms(text, canonical, times, site):
    """Fractions are daily on consecutive days unless an interval (or weekdays) is written."""
    r = parse_regimen(text)
    assert str(r) == canonical
    s = r.schedule(100)
    assert s.time.tolist() == [float(t) for t in times]
    assert set(s.site) == {site} and set(s.drug) == {"radiotherapy"}
    assert set(s.kind) == {"Gy"} and set(s.basis) == {"flat"} and set(s.route) == {"external beam"}
    assert s.duration.tolist() == [0.0] * len(times)
    assert s.dose_number.tolist() == list(range(1, len(times) + 1))
    assert r.drugs == ("radiotherapy",) and r.sites == (site,)


def test_radiotherapy_amounts_in_gy_flat():
    s = parse_regimen("radiotherapy 180 cGy x2 to primary").schedule(10)
    assert s.amount.tolist() == [1.8, 1.8]
    a = s.amounts(np.array([50.0, 120.0]), np.array([1.5, 2.4]))
    assert a.tolist() == [[1.8, 1.8], [1.8, 1.8]]  # never scaled by body size


def test_bare_form_is_sugar():
    assert parse_regimen("8 Gy x3 to lung") == parse_regimen("radiotherapy 8 Gy x3 to lung")
    assert parse_regimen("8 Gy to lung x3") == parse_regimen("radiotherapy 8 Gy x3 to lung")
    assert parse_regimen("800 cGy x3 to lung") == parse_regimen("radiotherapy 8 Gy x3 to lung")


def test_weekday_fractions_open_ended_and_cycles():
    """weekdays: dose k on day 7 (k // 5) + k % 5; open-ended drugs too."""
    s = parse_regimen("sunitinib 50 mg PO weekdays").schedule(15)
    assert s.time.tolist() == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 14, 15]
    s = parse_regimen("radiotherapy 2 Gy weekdays x6 to lung, 2 cycles 3 days apart").schedule(60)
    assert s.time.tolist() == [0, 1, 2, 3, 4, 7, 10, 11, 12, 13, 14, 17]
    assert str(parse_regimen("sunitinib 50 mg PO qd weekdays x10")) == (
        "sunitinib 50 mg PO weekdays x10"
    )


def test_radiotherapy_sites_per_item_and_for_site():
    r = parse_regimen("radiotherapy 8 Gy to lung + radiotherapy 6 Gy to liver x3")
    assert r.sites == ("lung", "liver")
    s = r.schedule(10)
    assert s.site.tolist() == ["lung", "liver"] * 3
    assert s.amount.tolist() == [8.0, 6.0] * 3
    assert s.dose_number.tolist() == [1, 1, 2, 2, 3, 3]  # fractions numbered per site
    assert s.for_site("Liver").time.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(UnknownSiteError, match="did you mean 'liver'"):
        s.for_site("livr")
    # a site after the schedule goes to the one radiotherapy item without a site
    r2 = parse_regimen("radiotherapy 8 Gy to lung + radiotherapy 6 Gy x3 to liver")
    assert r2 == r


@pytest.mark.parametrize(
    ("name", "site"),
    [
        ("primary", "primary"),
        ("Lung", "lung"),
        ("lymph node", "lymph_node"),
        ("lymph_node", "lymph_node"),
        ("node", "lymph_node"),
        ("soft  tissue", "skin"),
        ("skin", "skin"),
        ("adrenal", "adrenal"),
        ("peritoneum", "peritoneum"),
    ],
)
def test_canonical_site(name, site):
    assert canonical_site(name) == site and site in SITES


def test_canonical_site_errors():
    with pytest.raises(UnknownSiteError, match="unknown site 'heart'; known sites: primary"):
        canonical_site("heart")
    with pytest.raises(RegimenError, match=r"'all sites' is not allowed; .* one item per site"):
        canonical_site("all sites")
    with pytest.raises(RegimenError, match="site: 3 is not a site name"):
        canonical_site(3)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- tracks
def test_slamon_trastuzumab_with_paclitaxel():
    """Slamon et al. 2001 (NEJM 344:783-792): paclitaxel 175 mg/m2 q3w x6 alongside
    trastuzumab 4 mg/kg loading, then 2 mg/kg weekly, both from day 0."""
    r = parse_regimen(
        "paclitaxel 175 mg/m2 IV q3w x6 with trastuzumab 4 mg/kg IV once, then "
        "trastuzumab 2 mg/kg IV q1w"
    )
    assert len(r.tracks) == 2 and all(isinstance(t, Track) for t in r.tracks)
    assert [len(t.phases) for t in r.tracks] == [1, 2]
    assert r.phases == r.tracks[0].phases + r.tracks[1].phases
    assert r.drugs == ("paclitaxel", "trastuzumab")
    s = r.schedule(42)
    assert s.for_drug("paclitaxel").time.tolist() == [0.0, 21.0, 42.0]
    tz = s.for_drug("trastuzumab")
    assert tz.time.tolist() == [0.0, 7.0, 14.0, 21.0, 28.0, 35.0, 42.0]
    assert tz.amount.tolist() == [4.0] + [2.0] * 6
    assert tz.phase.tolist() == [1] + [2] * 6 and set(tz.track) == {1}
    assert s.for_drug("paclitaxel").phase.tolist() == [0, 0, 0]


def test_merge_order_is_time_then_track_then_phase_then_drug():
    r = parse_regimen(
        "radiotherapy 8 Gy x3 to lung with nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x2"
    )
    s = r.schedule(30)
    assert s.time.tolist() == [0.0, 0.0, 0.0, 1.0, 2.0, 21.0, 21.0]
    assert s.drug.tolist() == [
        "radiotherapy",
        "nivolumab",
        "ipilimumab",
        "radiotherapy",
        "radiotherapy",
        "nivolumab",
        "ipilimumab",
    ]
    assert s.track.tolist() == [0, 1, 1, 0, 0, 1, 1]
    assert s.site.tolist() == ["lung", "", "", "lung", "lung", "", ""]
    swapped = parse_regimen(
        "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x2 with radiotherapy 8 Gy x3 to lung"
    ).schedule(30)
    assert swapped.drug.tolist()[:3] == ["nivolumab", "ipilimumab", "radiotherapy"]
    assert r.drugs == ("radiotherapy", "nivolumab", "ipilimumab")


def test_tracks_each_follow_their_own_day_rules():
    r = parse_regimen(
        "sunitinib 50 mg PO qd x28, 4 cycles 14 days apart with nivolumab 240 mg IV q2w"
    )
    s = r.schedule(100)
    su = s.for_drug("sunitinib").time
    assert su[:28].tolist() == list(range(28)) and su[28] == 27 + 14
    assert s.for_drug("nivolumab").time.tolist() == [14.0 * k for k in range(8)]
    late = parse_regimen(
        "pembrolizumab 200 mg IV q3w with radiotherapy 8 Gy x3 to bone starting d22"
    )
    assert late.schedule(30).for_site("bone").time.tolist() == [21.0, 22.0, 23.0]
    # a semicolon is the same as ' with '
    assert parse_regimen("sunitinib 50 mg PO qd x28; nivolumab 240 mg IV q2w") == parse_regimen(
        "sunitinib 50 mg PO qd x28 with nivolumab 240 mg IV q2w"
    )


def test_single_track_api_unchanged():
    r = parse_regimen(EXAMPLES[1])
    assert len(r.tracks) == 1 and r.phases == r.tracks[0].phases and len(r.phases) == 2
    assert Regimen(r.phases) == r
    assert Regimen(tracks=(r.phases,)) == r
    s = r.schedule(100)
    assert set(s.track) == {0} and set(s.site) == {""}


def test_regimen_constructor_errors():
    adm = Administration("pembro", DoseAmount(200, "mass"), "iv")
    ph = Phase((adm,), once=True)
    with pytest.raises(RegimenError, match=r"give either phases .* not neither"):
        Regimen()
    with pytest.raises(RegimenError, match=r"give either phases .* not both"):
        Regimen((ph,), tracks=(Track((ph,)),))
    with pytest.raises(RegimenError, match="a regimen needs at least one track"):
        Regimen(tracks=())
    with pytest.raises(RegimenError, match="a regimen needs at least one phase"):
        Regimen(())
    with pytest.raises(RegimenError, match="phase 1: 'pembro' is not a Phase"):
        Track(("pembro",))  # type: ignore[arg-type]


def test_regimen_events_without_radiotherapy_target_is_a_clear_error():
    """simulation.regimen_events names the model's dose targets for a radiotherapy item."""
    import oncotwin as ot
    from oncotwin.population import sample_population
    from oncotwin.simulation import regimen_events

    m = ot.get_model("pk:pembrolizumab")
    pop = sample_population(m, 3, seed=0)
    r = parse_regimen("radiotherapy 8 Gy x3 to lung with pembrolizumab 200 mg IV q3w x2")
    with pytest.raises(
        RegimenError,
        match=r"no dose target for drug 'radiotherapy' \(mechanism 'radiotherapy'\); it accepts: "
        r"pembrolizumab\. .*cannot be given to model",
    ):
        regimen_events(m, r, pop, 30.0)
    assert regimen_events(m, parse_regimen("pembrolizumab 200 mg IV q3w x2"), pop, 30.0).n_events


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
        # radiotherapy
        (
            "radiotherapy 8 Gy x3 to lungg",
            UnknownSiteError,
            r"unknown site 'lungg'; did you mean 'lung'\?",
        ),
        ("radiotherapy 8 Gy x3", RegimenError, r"missing site for radiotherapy"),
        ("radiotherapy 8 Gy x3 to", RegimenError, r"missing site after 'to'"),
        ("radiotherapy 8 Gy x3 to all sites", RegimenError, r"'all sites' is not allowed"),
        ("radiotherapy 8 Gy x3 to lung to liver", RegimenError, r"site given twice"),
        ("radiotherapy 8 Gy to lung x3 to liver", RegimenError, r"site given twice"),
        (
            "radiotherapy 8 Gy + radiotherapy 8 Gy x3 to liver",
            RegimenError,
            r"'to liver' after the schedule is ambiguous: the phase has 2 radiotherapy items",
        ),
        (
            "pembrolizumab 200 mg IV q3w to lung",
            RegimenError,
            r"site: pembrolizumab is a drug, not radiotherapy; a site \('to lung'\) is only for",
        ),
        ("pembrolizumab 200 mg IV to lung q3w", RegimenError, r"pembrolizumab is a drug, not"),
        ("radiotherapy 8 Gy/kg x3 to lung", UnitError, r"'Gy/kg' .* not scaled by body size"),
        ("radiotherapy -8 Gy x3 to lung", UnitError, r"'-8 Gy' is negative; a dose must be > 0"),
        ("-8 Gy x3 to lung", UnitError, r"'-8 Gy' is negative"),
        ("radiotherapy 0 Gy x3 to lung", UnitError, r"'0 Gy' is zero"),
        ("radiotherapy x3 to lung", RegimenError, r"missing dose for radiotherapy(.|\n)*'8 Gy'"),
        ("radiotherapy 8 x3 to lung", UnitError, r"the dose '8' has no unit(.|\n)*Gy or cGy"),
        ("radiotherapy 200 mg x3 to lung", UnitError, r"radiotherapy is dosed in Gy per fraction"),
        ("pembrolizumab 8 Gy IV q3w", UnitError, r"pembrolizumab is dosed in mass .* not Gy"),
        ("radiotherapy 8 Gy IV x3 to lung", RegimenError, r"radiotherapy is not given IV"),
        (
            "radiotherapy 8 Gy over 10 min x3 to lung",
            UnitError,
            r"infusion duration: 10 min for radiotherapy; a radiotherapy fraction is an",
        ),
        ("radiotherapy 8 Gy to lung", RegimenError, r"missing fractions for radiotherapy"),
        (
            "radiotherapy 2 Gy qd to lung",
            RegimenError,
            r"count: radiotherapy needs a number of fractions(.|\n)*such as 'x3'",
        ),
        ("radiotherapy 2 Gy q1w until progression to lung", RegimenError, r"number of fractions"),
        ("sunitinib 50 mg PO bid weekdays", RegimenError, r"weekdays: interval 0.5 days"),
        ("sunitinib 50 mg PO once weekdays", RegimenError, r"weekdays: .* not 'once' or days"),
        # tracks
        ("pembrolizumab 200 mg IV q3w with", RegimenError, r"missing drug name"),
        (
            "pembrolizumab 200 mg IV q3w with docetaxel 75 mg/m2 IV q3w, then pembrolizumab "
            "200 mg IV q3w",
            RegimenError,
            r"phase 1 \(docetaxel 75 mg/m2 IV q3w\) repeats to the horizon",
        ),
        ("pembrolizumab 200 mg IV q3w x2 banana", RegimenError, r"', then', ' with' or the end"),
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


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("radiotherapy 8 Gy x3 to lungg with pembrolizumab 200 mg IV q3w", "lungg"),
        ("pembrolizumab 200 mg IV q3w x2 with radiotherapy 8 Gy x3 to pancreas", "pancreas"),
        ("pembrolizumab 200 mg IV q3w to lung", "to lung"),
        ("radiotherapy 8 Gy/kg x3 to lung", "8 Gy/kg"),
        ("radiotherapy 8 Gy x3 with pembrolizumab 200 mg IV q3w", "with"),
        ("pembrolizumab 200 mg IV q3w with nivolumab 240 mg IV q2w banana", "banana"),
    ],
)
def test_caret_points_at_bad_token(text, token):
    with pytest.raises(RegimenError) as info:
        parse_regimen(text)
    lines = str(info.value).splitlines()
    assert lines[1] == f"  {text}"
    assert lines[2] == "  " + " " * text.index(token) + "^"
    assert "radiotherapy 9 Gy q2d x3 to liver" in str(info.value)  # examples listed


def test_radiotherapy_objects():
    rt = Administration("SBRT", DoseAmount(8, "Gy"), site="Lungs")
    assert (rt.drug, rt.route, rt.site, rt.is_radiotherapy) == (
        "radiotherapy",
        "external beam",
        "lung",
        True,
    )
    assert eval(repr(rt)) == rt and "site='lung'" in repr(rt)
    assert rt.text() == "radiotherapy 8 Gy to lung"
    ph = Phase((rt,), count=3)
    assert ph.interval_days == 1.0 and str(ph) == "radiotherapy 8 Gy x3 to lung"
    assert Regimen((ph,)) == parse_regimen("radiotherapy 8 Gy x3 to lung")
    with pytest.raises(RegimenError, match="site: radiotherapy needs the site it is given to"):
        Administration("radiotherapy", DoseAmount(8, "Gy"))
    with pytest.raises(RegimenError, match="site: nivolumab is a drug, not radiotherapy"):
        Administration("nivolumab", DoseAmount(240, "mass"), "IV", site="lung")
    with pytest.raises(RegimenError, match="route: missing for nivolumab; give one of IV"):
        Administration("nivolumab", DoseAmount(240, "mass"))
    with pytest.raises(RegimenError, match=r"'drip' is not a route; use one of .*external beam"):
        Administration("nivolumab", DoseAmount(240, "mass"), "drip")
    with pytest.raises(RegimenError, match="missing fractions for radiotherapy"):
        Phase((rt,))
    with pytest.raises(UnitError, match="basis 'flat', not 'per_kg'"):
        DoseAmount(8, "Gy", "per_kg")


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
    ("radiotherapy", "Gy", "external beam"),
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
    if kind == "Gy":
        site = draw(st.sampled_from(SITES))
        return Administration(name, DoseAmount(value, kind), route, site=site)
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
    radiation = any(a.is_radiotherapy for a in adms)
    open_ok = last and not radiation  # radiotherapy needs a number of fractions
    count = draw(st.one_of(st.none(), st.integers(1, 40))) if open_ok else draw(st.integers(1, 40))
    cycles = draw(st.integers(1, 3)) if count is not None else 1
    gap = float(draw(st.integers(0, 20))) if cycles > 1 else 0.0
    until = count is None and draw(st.booleans())
    weekdays = interval == 1.0 and draw(st.booleans())
    return Phase(
        adms,
        interval_days=interval,
        count=count,
        cycles=cycles,
        cycle_gap_days=gap,
        until_progression=until,
        weekdays=weekdays,
    )


@st.composite
def _tracks(draw):
    n = draw(st.integers(1, 3))
    return Track(tuple(draw(_phases(last=i == n - 1)) for i in range(n)))


@st.composite
def _regimens(draw):
    tracks = draw(st.lists(_tracks(), min_size=1, max_size=2))
    return Regimen(tracks[0].phases) if len(tracks) == 1 else Regimen(tracks=tracks)


@settings(max_examples=150, deadline=None)
@given(_regimens())
def test_round_trip_property(r):
    assert parse_regimen(str(r)) == r
    assert eval(repr(r)) == r
    s = r.schedule(200)
    assert np.all(np.diff(s.time) >= 0)
    assert len(s.drug) == len(s.site) == len(s.track)
    assert np.all((s.site != "") == (s.drug == "radiotherapy"))
