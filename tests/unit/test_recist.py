"""Response assessment: RECIST 1.1 rules on hand-built patients, iRECIST, Lugano, IMWG, marrow.

Hand-built cases use ``noise_cv=0`` so the expected response follows from the rule alone
(Eisenhauer et al. 2009, RECIST 1.1, sections 4.3-4.4; Seymour et al. 2017, iRECIST).
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.citations import reset_used_citations, used_citations
from oncotwin.errors import OncotwinError, ParameterError
from oncotwin.trials import recist
from oncotwin.trials.recist import (
    CR,
    NE,
    PD,
    PR,
    RESPONSE_CODES,
    SD,
    assess_imwg,
    assess_lugano,
    assess_marrow,
    assess_recist,
    reader_normals,
    select_target_lesions,
)

DAYS = np.array([0.0, 42.0, 84.0, 126.0, 168.0])
INF = np.array([np.inf])


def one(
    sizes,
    organs=(1,),
    *,
    days=DAYS,
    new=np.inf,
    death=np.inf,
    end=400.0,
    **options,
):
    """Assess one patient whose lesions have the given sizes per visit (rows = visits)."""
    sizes = np.asarray(sizes, dtype=float)
    if sizes.ndim == 1:
        sizes = sizes[:, None]
    return assess_recist(
        days[: sizes.shape[0]],
        sizes[None],
        np.array([organs]),
        np.array([new]),
        np.array([death]),
        np.array([end]),
        seed=0,
        patient_ids=np.array([0]),
        noise_cv=options.pop("noise_cv", 0.0),
        **options,
    )


def names(result) -> list[str]:
    return [RESPONSE_CODES[c] for c in result.response[0]]


# --- RECIST 1.1 per-scan rules and best overall response -----------------------------------


def test_confirmed_partial_response():
    """35% shrinkage at two scans 42 days apart: PR at both, confirmed PR, response at day 42."""
    r = one([[30, 20], [19.5, 13], [19.5, 13]], organs=(1, 2))
    assert names(r) == ["SD", "PR", "PR"]
    assert RESPONSE_CODES[r.best_response[0]] == "PR"
    assert r.confirmed[0]
    assert r.response_day[0] == 42.0
    assert r.best_pct_change[0] == pytest.approx(-35.0)


def test_unconfirmed_partial_response_counts_as_stable_disease():
    """35% down at one scan, back to -24% (+17% from nadir) at the next: unconfirmed, SD."""
    r = one([50, 32.5, 38, 38])
    assert names(r) == ["SD", "PR", "SD", "SD"]
    assert r.best_response[0] == SD
    assert not r.confirmed[0]
    assert np.isnan(r.response_day[0])
    assert np.isnan(r.dor_days[0]) and not r.dor_event[0]


def test_unconfirmed_response_without_confirmation_option_is_pr():
    """With confirm=False the single PR scan is the best response (and flagged unconfirmed)."""
    r = one([50, 32.5, 38, 38], confirm=False)
    assert r.best_response[0] == PR
    assert not r.confirmed[0]
    assert r.response_day[0] == 42.0


def test_early_stable_disease_then_death_is_not_evaluable():
    """SD only before the 42-day minimum SD interval, then death: best response NE."""
    days = np.array([0.0, 28.0, 84.0])
    r = one([50, 50, 50], days=days, death=60.0)
    assert names(r) == ["SD", "SD", "NE"]
    assert r.best_response[0] == NE


def test_twenty_percent_growth_of_three_mm_is_not_progression():
    """15 -> 18 mm is +20% but only +3 mm: SD (PD needs >= 5 mm as well)."""
    r = one([15, 18, 18])
    assert names(r) == ["SD", "SD", "SD"]
    assert np.isinf(r.progression_day[0])


def test_progression_is_measured_from_the_nadir():
    """50 -> 30 (nadir) -> 36 mm: +20% and +6 mm from the nadir (still -28% from baseline): PD."""
    r = one([50, 30, 30, 36, 36])
    assert names(r) == ["SD", "PR", "PR", "PD", "NE"]  # no scan after PD
    assert r.best_response[0] == PR and r.confirmed[0]
    assert r.progression_day[0] == 126.0
    assert r.pct_change_nadir[0, 3] == pytest.approx(20.0)
    assert r.pct_change_baseline[0, 3] == pytest.approx(-28.0)
    assert r.pfs_days[0] == 126.0 and r.pfs_event[0]
    assert r.dor_days[0] == 84.0 and r.dor_event[0]


def test_new_lesion_is_progression_even_when_targets_shrink():
    """Targets down 40% but a new lesion detectable at day 40: PD at the day-42 scan."""
    r = one([50, 30, 30], new=40.0)
    assert names(r) == ["SD", "PD", "NE"]
    assert r.best_response[0] == PD
    assert r.new_lesion[0].tolist() == [False, True, False]
    assert r.pfs_days[0] == 42.0


def test_all_lesions_gone_is_complete_response():
    """A 40 mm liver lesion falls below 5 mm (reads 0) and a 20 mm node to 8 mm (< 10): CR."""
    r = one([[40, 20], [3, 8], [2, 7]], organs=(2, 5))
    assert names(r) == ["SD", "CR", "CR"]
    assert r.best_response[0] == CR and r.confirmed[0]
    assert r.sum_diameters[0, 1] == pytest.approx(8.0)  # the node still counts in the sum


def test_node_of_twelve_mm_prevents_complete_response():
    """The node shrinks to 12 mm (>= 10 mm short axis): PR, not CR."""
    r = one([[40, 20], [0, 12], [0, 12]], organs=(2, 5))
    assert names(r) == ["SD", "PR", "PR"]


def test_non_target_lesion_must_disappear_for_complete_response():
    """Targets gone, but a 9 mm non-measurable lung lesion is still there: PR, not CR."""
    r = one([[40, 9], [0, 8], [0, 8]], organs=(2, 1))
    assert r.n_targets[0] == 1
    assert names(r) == ["SD", "PR", "PR"]


def test_death_before_any_scan_is_not_evaluable_with_pfs_event_at_death():
    """Death at day 20, before the first scan: NE, PFS and OS events at day 20."""
    r = one([50, 50, 50], death=20.0)
    assert names(r) == ["SD", "NE", "NE"]
    assert r.best_response[0] == NE
    assert r.pfs_event[0] and r.pfs_days[0] == 20.0
    assert r.os_event[0] and r.os_days[0] == 20.0
    assert np.isnan(r.best_pct_change[0])


def test_censoring_at_last_scan_and_end_of_follow_up():
    """Alive and stable until day 100: PFS censored at the last scan (84), OS at 100."""
    r = one([50, 50, 50, 50], end=100.0)
    assert r.scanned[0].tolist() == [True, True, True, False]
    assert not r.pfs_event[0] and r.pfs_days[0] == 84.0
    assert not r.os_event[0] and r.os_days[0] == 100.0


def test_death_after_end_of_follow_up_is_censored():
    """Death at day 500 after follow-up ends at day 100 is not observed: OS censored at 100."""
    r = one([50, 50, 50], death=500.0, end=100.0)
    assert not r.os_event[0] and r.os_days[0] == 100.0


def test_no_measurable_disease_is_not_evaluable():
    """Only an 8 mm lesion (not measurable): NE at every scan, PD when a new lesion appears."""
    r = one([8, 8, 8])
    assert r.n_targets[0] == 0 and names(r) == ["NE", "NE", "NE"] and r.best_response[0] == NE
    r = one([8, 8, 8], new=80.0)
    assert names(r) == ["NE", "NE", "PD"] and r.progression_day[0] == 84.0


def test_batch_gives_the_same_answer_as_each_patient_alone():
    """Patients with different fates assessed together equal the same patients one by one."""
    cases = [
        dict(sizes=[50, 32.5, 32.5, 36, 40]),
        dict(sizes=[50, 30, 30, 30, 30], new=100.0),
        dict(sizes=[50, 60, 70, 80, 90]),
        dict(sizes=[50, 20, 10, 3, 3], death=150.0),
        dict(sizes=[50, 50, 50, 50, 50], end=90.0),
    ]
    batch = assess_recist(
        DAYS,
        np.array([c["sizes"] for c in cases], dtype=float)[:, :, None],
        np.ones((len(cases), 1), dtype=int),
        np.array([c.get("new", np.inf) for c in cases]),
        np.array([c.get("death", np.inf) for c in cases]),
        np.array([c.get("end", 400.0) for c in cases]),
        seed=0,
        patient_ids=np.zeros(len(cases), dtype=int),
        noise_cv=0.0,
    )
    for i, c in enumerate(cases):
        alone = one(
            c["sizes"],
            new=c.get("new", np.inf),
            death=c.get("death", np.inf),
            end=c.get("end", 400.0),
        )
        assert batch.response[i].tolist() == alone.response[0].tolist(), i
        for field in ("best_response", "confirmed", "pfs_days", "pfs_event", "os_days"):
            assert getattr(batch, field)[i] == getattr(alone, field)[0], (i, field)


# --- target lesions --------------------------------------------------------------------------


def test_target_selection_two_per_organ_five_in_total():
    """Largest first, at most 2 per organ and 5 in all; 10 mm rule, 15 mm for nodes."""
    d = np.array([[60.0, 50, 40, 30, 25, 20, 18, 16, 14, 9, np.nan, 12]])
    organ = np.array([[1, 1, 1, 2, 2, 2, 5, 3, 5, 4, 6, 7]])
    t = select_target_lesions(d, organ)
    # lung 60, 50 (third lung lesion skipped); liver 30, 25; then the 18 mm node (5 in all)
    assert t[0].tolist() == [True, True, False, True, True, False, True] + [False] * 5
    loose = select_target_lesions(d, organ, max_total=10)
    # the 16 mm bone and 12 mm peritoneum lesions join; the 14 mm node, 9 mm brain and NaN not
    expected = [True, True, False, True, True, False, True, True, False, False, False, True]
    assert loose[0].tolist() == expected


def test_target_selection_boundaries_and_no_lesion_code():
    """10.0 mm is measurable, 9.9 is not; a 15.0 mm node is, 14.9 is not; organ -1 never is."""
    d = np.array([[10.0, 9.9, 15.0, 14.9, 30.0]])
    organ = np.array([[2, 1, 5, 5, -1]])
    assert select_target_lesions(d, organ)[0].tolist() == [True, False, True, False, False]


# --- reader noise ------------------------------------------------------------------------------


def _population(n: int, seed: int = 5):
    rng = np.random.default_rng(seed)
    d0 = rng.uniform(8, 60, (n, 6))
    rate = rng.normal(-0.002, 0.004, (n, 1, 6))
    diam = d0[:, None, :] * np.exp(rate * DAYS[None, :, None])
    organ = rng.integers(0, 9, (n, 6))
    new = np.where(rng.random(n) < 0.2, rng.uniform(0, 200, n), np.inf)
    death = np.where(rng.random(n) < 0.2, rng.uniform(0, 200, n), np.inf)
    return diam, organ, new, death, np.full(n, 180.0)


def test_noise_is_deterministic_and_independent_of_chunking():
    """Same seed and patient ids give identical reads whether assessed at once or in chunks."""
    diam, organ, new, death, end = _population(300)
    pid = np.arange(1000, 1300)
    whole = assess_recist(DAYS, diam, organ, new, death, end, seed=11, patient_ids=pid)
    again = assess_recist(DAYS, diam, organ, new, death, end, seed=11, patient_ids=pid)
    assert np.array_equal(whole.sum_diameters, again.sum_diameters, equal_nan=True)
    parts = [slice(0, 37), slice(37, 200), slice(200, 300)]
    chunks = [
        assess_recist(
            DAYS, diam[s], organ[s], new[s], death[s], end[s], seed=11, patient_ids=pid[s]
        )
        for s in parts
    ]
    for field in ("sum_diameters", "response", "best_response", "pfs_days", "best_pct_change"):
        joined = np.concatenate([getattr(c, field) for c in chunks])
        assert np.array_equal(joined, getattr(whole, field), equal_nan=True), field
    other = assess_recist(DAYS, diam, organ, new, death, end, seed=12, patient_ids=pid)
    assert not np.array_equal(other.sum_diameters, whole.sum_diameters, equal_nan=True)


def test_reader_normals_are_standard_normal():
    """1e5 counter-based normals: mean 0 and SD 1 within 0.02; no repeats between visits."""
    z = reader_normals(2024, np.arange(50_000), 3, 2)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.02
    assert not np.array_equal(z, reader_normals(2024, np.arange(50_000), 4, 2))


def test_noise_cv_scales_the_measured_sum():
    """With 5% noise, the baseline sum of 1e4 patients with one 40 mm lesion has CV ~5%."""
    n = 10_000
    r = assess_recist(
        DAYS[:1],
        np.full((n, 1, 1), 40.0),
        np.ones((n, 1), int),
        np.full(n, np.inf),
        np.full(n, np.inf),
        np.full(n, 10.0),
        seed=1,
        patient_ids=np.arange(n),
    )
    s = r.sum_diameters[:, 0]
    assert s.mean() == pytest.approx(40.0, rel=0.005)
    assert s.std() / s.mean() == pytest.approx(0.05, rel=0.05)


# --- iRECIST -------------------------------------------------------------------------------------


def test_irecist_pseudoprogression_continues_assessment():
    """50 -> 62 mm (iUPD) -> 40 -> 40: pseudoprogression, SD; RECIST 1.1 calls it PD at day 42."""
    sizes = [50, 62, 40, 40]
    plain = one(sizes)
    assert plain.best_response[0] == PD and plain.progression_day[0] == 42.0
    r = one(sizes, irecist=True)
    assert names(r) == ["SD", "PD", "SD", "SD"]
    assert r.pseudoprogression[0]
    assert np.isinf(r.progression_day[0]) and not r.pfs_event[0]
    assert r.best_response[0] == SD
    assert r.criteria == "iRECIST"


def test_irecist_confirmed_progression_dates_back_to_iupd():
    """50 -> 62 (iUPD) -> 70 mm (+8 mm more): iCPD; progression dated at the iUPD scan."""
    r = one([50, 62, 70, 75], irecist=True)
    assert names(r) == ["SD", "PD", "PD", "NE"]
    assert r.progression_day[0] == 42.0 and r.pfs_event[0]
    assert not r.pseudoprogression[0]


def test_irecist_unresolved_iupd_at_end_counts_as_progression():
    """iUPD that stays above threshold without 5 mm more growth until follow-up ends: PD at iUPD."""
    r = one([50, 62, 64, 64], irecist=True, end=130.0)
    assert names(r) == ["SD", "PD", "PD", "PD"]
    assert r.progression_day[0] == 42.0 and r.pfs_event[0]


# --- other criteria ---------------------------------------------------------------------------


def _lugano(sizes, organs):
    sizes = np.asarray(sizes, dtype=float)
    return assess_lugano(
        DAYS[: sizes.shape[0]],
        sizes[None],
        np.array([organs]),
        INF,
        INF,
        np.array([400.0]),
        seed=0,
        patient_ids=np.array([0]),
        noise_cv=0.0,
    )


def test_lugano_rules():
    """Nodes to <= 15 mm: CR; SPD -51%: PR; a 16 -> 22 mm node (+6 mm, +89% product): PD."""
    assert _lugano([[40, 30], [15, 12]], (5, 5)).best_response[0] == CR
    pr = _lugano([[40, 30], [28, 21]], (5, 5))  # SPD 2500 -> 1225
    assert pr.response[0, 1] == PR and pr.measure == "SPD [mm2]"
    pd_ = _lugano([[40, 16], [40, 22]], (5, 5))
    assert pd_.response[0, 1] == PD and pd_.progression_day[0] == 42.0
    small = _lugano([[40, 16], [40, 20]], (5, 5))  # +4 mm only
    assert small.response[0, 1] == SD


def _series(fn, values, days, **kw):
    values = np.asarray(values, dtype=float)[None]
    return fn(
        days,
        values,
        INF,
        np.array([days[-1] + 10]),
        seed=0,
        patient_ids=np.array([0]),
        noise_cv=0.0,
        **kw,
    )


def test_imwg_rules():
    """M-protein 3 -> 1.2 -> 1.2 (-60%, PR confirmed) -> 1.6 (+33% but +0.4 g/dL < 0.5: SD)."""
    days = np.array([0.0, 28, 56, 84])
    r = _series(assess_imwg, [3.0, 1.2, 1.2, 1.6], days, pd_min_increase=0.5)
    assert r.response[0].tolist() == [SD, PR, PR, SD]
    assert r.best_response[0] == PR and r.confirmed[0]
    assert r.best_detail[0] == "PR"
    r = _series(assess_imwg, [3.0, 1.2, 1.2, 1.8], days, pd_min_increase=0.5)
    assert r.response[0, 3] == PD and r.progression_day[0] == 84.0
    cr = _series(assess_imwg, [3.0, 0.02, 0.01, 0.01], days)
    assert cr.best_response[0] == CR and cr.confirmed[0]


def test_marrow_blasts_rules():
    """Blasts 60% -> 20% (PR) -> 3% (CR) -> 4% (still CR) -> 8% (relapse: PD)."""
    days = np.array([0.0, 14, 28, 56, 90])
    r = _series(assess_marrow, [0.6, 0.2, 0.03, 0.04, 0.08], days)
    assert r.response[0].tolist() == [SD, PR, CR, CR, PD]
    assert r.best_response[0] == CR and r.progression_day[0] == 90.0
    assert r.sum_diameters[0, 2] == pytest.approx(3.0)  # reported in %


def test_citations_are_marked_used():
    """Each criterion marks its paper as used by the run."""
    reset_used_citations()
    one([50, 50], irecist=True)
    _lugano([[40], [40]], (5,))
    _series(assess_imwg, [1.0, 1.0], np.array([0.0, 28]))
    _series(assess_marrow, [0.5, 0.5], np.array([0.0, 28]))
    used = set(used_citations())
    assert {"Eisenhauer2009", "Seymour2017", "Cheson2014", "Kumar2016", "Maude2018"} <= used


# --- output tables ---------------------------------------------------------------------------


def test_to_frames_has_the_contract_columns():
    """Outcomes and visits tables carry the data contract's columns and one row per scan done."""
    diam, organ, new, death, end = _population(50)
    r = assess_recist(DAYS, diam, organ, new, death, end, seed=1, patient_ids=np.arange(50))
    outcomes, visits = r.to_frames("pembrolizumab")
    assert list(outcomes.columns) == [
        "patient_id",
        "arm",
        "best_response",
        "confirmed",
        "best_pct_change",
        "response_day",
        "dor_days",
        "dor_event",
        "pfs_days",
        "pfs_event",
        "os_days",
        "os_event",
    ]
    assert list(visits.columns)[:9] == [
        "patient_id",
        "arm",
        "visit",
        "day",
        "sum_diameters_mm",
        "pct_change_baseline",
        "pct_change_nadir",
        "new_lesion",
        "response",
    ]
    assert len(visits) == int(r.scanned.sum())
    assert set(outcomes.best_response) <= set(RESPONSE_CODES)
    assert (outcomes.arm == "pembrolizumab").all()
    with pytest.raises(ValueError, match="read-only"):
        r.pfs_days[0] = 1.0


def test_vectorised_at_scale():
    """1e5 patients x 20 visits x 10 lesions assess in one call (loops over visits only)."""
    n, n_vis, n_les = 100_000, 20, 10
    rng = np.random.default_rng(0)
    days = np.arange(n_vis) * 42.0
    d0 = rng.uniform(5, 60, (n, n_les)).astype(np.float32)
    rate = rng.normal(0, 0.004, (n, 1, n_les)).astype(np.float32)
    diam = d0[:, None, :] * np.exp(rate * days[None, :, None].astype(np.float32))
    organ = rng.integers(0, 9, (n, n_les))
    new = np.where(rng.random(n) < 0.3, rng.uniform(0, 800, n), np.inf)
    r = assess_recist(
        days,
        diam,
        organ,
        new,
        np.full(n, np.inf),
        np.full(n, 800.0),
        seed=3,
        patient_ids=np.arange(n),
    )
    assert r.response.shape == (n, n_vis)
    counts = np.bincount(r.best_response, minlength=5)
    assert counts.sum() == n and counts[PD] > 0 and counts[PR] > 0


# --- errors -------------------------------------------------------------------------------------


def test_error_messages():
    """Each boundary error names the field, the bad value and the fix."""
    good = dict(seed=0, patient_ids=np.array([0]))
    d, org = np.full((1, 2, 1), 20.0), np.array([[1]])
    args = (np.array([0.0, 42]), d, org, INF, INF, np.array([100.0]))
    with pytest.raises(OncotwinError, match=r"diameters has shape \(1, 2\), expected"):
        assess_recist(args[0], d[:, :, 0], *args[2:], **good)
    with pytest.raises(OncotwinError, match=r"lesion_organ has shape \(1, 2\)"):
        assess_recist(args[0], d, np.array([[1, 1]]), *args[3:], **good)
    with pytest.raises(OncotwinError, match="strictly increasing"):
        assess_recist(np.array([0.0, 0.0]), *args[1:], **good)
    with pytest.raises(OncotwinError, match=r"visit_days has shape \(1, 2\)"):
        assess_recist(np.array([[0.0, 42]]), *args[1:], **good)
    with pytest.raises(OncotwinError, match=r"death_day\[0\] = nan is invalid"):
        assess_recist(*args[:4], np.array([np.nan]), args[5], **good)
    with pytest.raises(OncotwinError, match=r"end_day\[0\] = inf is invalid; give a finite"):
        assess_recist(*args[:5], INF, **good)
    with pytest.raises(OncotwinError, match=r"new_lesion_day has shape \(2,\), expected \(1,\)"):
        assess_recist(*args[:3], np.array([1.0, 2.0]), *args[4:], **good)
    with pytest.raises(OncotwinError, match=r"patient_ids has shape \(2,\)"):
        assess_recist(*args, seed=0, patient_ids=np.array([0, 1]))
    with pytest.raises(OncotwinError, match="non-negative integers"):
        assess_recist(*args, seed=0, patient_ids=np.array([-1]))
    with pytest.raises(ParameterError, match=r"seed = 1.5 is invalid"):
        assess_recist(*args, seed=1.5, patient_ids=np.array([0]))
    with pytest.raises(ParameterError, match=r"noise_cv = -0.1 is invalid"):
        assess_recist(*args, noise_cv=-0.1, **good)
    with pytest.raises(ParameterError, match=r"detection_limit_mm = -1.0 is invalid"):
        assess_recist(*args, detection_limit_mm=-1.0, **good)
    with pytest.raises(OncotwinError, match=r"diameters\[0, 1, 0\] = -3.0 is invalid"):
        assess_recist(args[0], np.array([[[20.0], [-3.0]]]), *args[2:], **good)
    with pytest.raises(OncotwinError, match="lesion_organ holds code 9"):
        select_target_lesions(np.array([[20.0]]), np.array([[9]]))
    with pytest.raises(OncotwinError, match="must both be"):
        select_target_lesions(np.array([20.0]), np.array([1]))
    with pytest.raises(ParameterError, match=r"max_total = 1.5 is invalid"):
        select_target_lesions(np.array([[20.0]]), np.array([[1]]), max_total=1.5)
    r = assess_recist(*args, **good)
    with pytest.raises(OncotwinError, match=r"to_frames: patient_ids has shape \(2,\)"):
        r.to_frames("A", np.array([0, 1]))
    with pytest.raises(OncotwinError, match=r"to_frames: arm has shape \(2,\)"):
        r.to_frames(np.array(["A", "B"]))
    days = np.array([0.0, 28])
    with pytest.raises(OncotwinError, match=r"burden_series has shape \(1, 3\)"):
        _series(assess_imwg, [1.0, 1.0, 1.0], days)
    with pytest.raises(OncotwinError, match=r"burden_series\[0, 1\] = -1.0 is invalid"):
        _series(assess_imwg, [1.0, -1.0], days)
    with pytest.raises(ParameterError, match=r"pd_min_increase = -0.5 is invalid"):
        _series(assess_imwg, [1.0, 1.0], days, pd_min_increase=-0.5)
    with pytest.raises(OncotwinError, match=r"= 5.0 is above 1; give blasts as a fraction"):
        _series(assess_marrow, [0.5, 5.0], days)


def test_module_exports():
    """The public names are exported and the organ table matches the contract."""
    assert recist.ORGANS[5] == "lymph node" and len(recist.ORGANS) == 9
    assert RESPONSE_CODES == ("CR", "PR", "SD", "PD", "NE")
