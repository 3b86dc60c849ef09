"""Clinical course besides scans: clinical deterioration counted as progression by every
criterion, and subsequent therapy after progression as a hazard ratio on tumour death."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from oncotwin.errors import OncotwinError
from oncotwin.models.metastatic_io_readouts import (
    clinical_progression_days,
    death_days,
    subsequent_therapy_hazard_ratio,
)
from oncotwin.trials.assessment import Readouts, assess

SCANS = np.array([0.0, 56.0, 112.0, 168.0, 224.0])


def _readouts(clinical, death=np.inf, end=300.0, shrink=1.0):
    """Three patients with one 30 mm lung lesion scaled by ``shrink`` at every later scan."""
    n = len(clinical)
    d = np.full((n, SCANS.size, 1), 30.0)
    d[:, 1:, 0] = 30.0 * shrink
    return Readouts(
        scan_days=SCANS,
        death_day=np.broadcast_to(np.asarray(death, dtype=float), (n,)),
        end_day=np.full(n, end),
        new_lesion_day=np.full(n, np.inf),
        lesion_diameter_mm=d,
        lesion_organ=np.ones((n, 1), dtype=np.int64),
        clinical_progression_day=np.asarray(clinical, dtype=float),
    )


@pytest.mark.parametrize("criterion", ["recist", "irecist"])
def test_clinical_progression_is_a_pfs_event_and_stops_scans(criterion):
    r = _readouts([100.0, np.inf, 400.0])
    a = assess(criterion, r, seed=1, patient_ids=np.arange(3), noise_cv=0.0)
    assert a.progression_day.tolist() == [100.0, np.inf, np.inf]
    assert a.pfs_event.tolist() == [True, False, False]
    assert a.pfs_days[0] == 100.0
    assert not a.scanned[0, SCANS > 100.0].any()  # off study: no scan after it
    assert a.scanned[1, -1]
    # OS is not cut at the clinical progression
    assert a.os_days.tolist() == [300.0, 300.0, 300.0]


def test_clinical_progression_after_death_or_radiological_pd_changes_nothing():
    growing = _readouts([200.0, 50.0], death=[np.inf, 40.0], shrink=1.5)
    a = assess("recist", growing, seed=1, patient_ids=np.arange(2), noise_cv=0.0)
    assert a.progression_day[0] == 56.0  # radiological PD first
    assert a.pfs_days.tolist() == [56.0, 40.0]  # death at 40 before deterioration at 50
    assert a.os_event.tolist() == [False, True]


def test_clinical_progression_ends_a_response():
    r = _readouts([180.0], shrink=0.5)
    a = assess("recist", r, seed=1, patient_ids=np.arange(1), noise_cv=0.0)
    assert a.best_response_names.tolist() == ["PR"]
    assert a.dor_days[0] == pytest.approx(180.0 - a.response_day[0])
    assert a.dor_event[0]


def test_bad_clinical_progression_day_is_refused():
    with pytest.raises(OncotwinError, match="clinical_progression_day"):
        _readouts([-1.0])


def _hazard_solution(n=400, rate=0.01):
    t = np.linspace(0.0, 1000.0, 201)
    H = np.tile(rate * t, (n, 1))[:, :, None]
    return SimpleNamespace(t=t, y=H, names=("death_hazard_cum",))  # what the readouts read


def test_subsequent_therapy_delays_death_only_after_progression():
    sol = _hazard_solution()
    ids = np.arange(sol.y.shape[0])
    base = death_days(sol, 7, ids)
    prog = np.full(ids.size, 100.0)
    later = death_days(sol, 7, ids, progression_day=prog, hazard_ratio=np.full(ids.size, 0.5))
    before = base <= 100.0
    assert before.any() and (~before).any()
    np.testing.assert_array_equal(later[before], base[before])
    finite = ~before & np.isfinite(later)
    # after progression the hazard accrues at half the rate: the time past 100 days doubles
    np.testing.assert_allclose(later[finite] - 100.0, 2 * (base[finite] - 100.0), rtol=1e-9)
    assert np.all(later >= base)


def test_subsequent_therapy_is_drawn_with_its_probability():
    ids = np.arange(4000)
    hr = subsequent_therapy_hazard_ratio(3, ids, np.full(ids.size, 0.3), np.full(ids.size, 0.7))
    assert set(np.unique(hr)) == {0.7, 1.0}
    assert abs(np.mean(hr == 0.7) - 0.3) < 0.03
    again = subsequent_therapy_hazard_ratio(3, ids, np.full(ids.size, 0.3), np.full(ids.size, 0.7))
    np.testing.assert_array_equal(hr, again)


def test_clinical_deterioration_comes_before_tumour_death():
    sol = _hazard_solution()
    ids = np.arange(sol.y.shape[0])
    death = death_days(sol, 5, ids)
    clin = clinical_progression_days(sol, 5, ids, np.full(ids.size, 0.5))
    died = np.isfinite(death)
    assert died.any()
    assert np.all(clin[died] <= death[died])
    np.testing.assert_allclose(clin[died], 0.5 * death[died], rtol=1e-6)


def _two_lesions(nontarget_mm):
    """A stable 30 mm lung target and a non-measurable (< 10 mm) liver lesion whose size at
    each later scan is ``nontarget_mm`` (one patient per value)."""
    n = len(nontarget_mm)
    d = np.empty((n, SCANS.size, 2))
    d[:, :, 0] = 30.0
    d[:, 0, 1] = 8.0
    d[:, 1:, 1] = np.asarray(nontarget_mm, dtype=float)[:, None]
    return Readouts(
        scan_days=SCANS,
        death_day=np.full(n, np.inf),
        end_day=np.full(n, 300.0),
        new_lesion_day=np.full(n, np.inf),
        lesion_diameter_mm=d,
        lesion_organ=np.tile(np.array([1, 2], dtype=np.int64), (n, 1)),
    )


def test_unequivocal_progression_of_non_target_disease_is_pd():
    """RECIST 1.1 section 4.3.3: a non-target lesion growing by >= 73% in volume (and >= 5 mm)
    is progression although the target sum is stable; a small growth is not."""
    a = assess("recist", _two_lesions([16.0, 9.0]), seed=1, patient_ids=np.arange(2), noise_cv=0.0)
    assert a.n_targets.tolist() == [1, 1]
    assert a.progression_day.tolist() == [56.0, np.inf]
    assert a.best_response_names.tolist() == ["PD", "SD"]
