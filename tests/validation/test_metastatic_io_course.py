"""The course of disease in ``metastatic_io``: eradication and cure, immune memory, and a
tumour-death hazard that follows the burden (issue: virtual patients that behave like real
ones, part 1). Each test states the behaviour it checks; none checks a fitted number."""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.models.metastatic_io import METASTATIC_SITES, SITES
from oncotwin.population import Population
from oncotwin.simulation import simulate
from oncotwin.solvers import SolverOptions

OPTS = SolverOptions(rtol=1e-6, atol=1e-10)
PEMBRO_2Y = "pembrolizumab 200 mg IV q3w x35"


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


def _pop(model, n=8, **params) -> Population:
    p = model.parameter_array(n, **params)
    return Population(model, p, np.full(n, 75.0), np.full(n, 170.0), np.full(n, 1.87), 0, {})


def _solve(model, regimen, days, **params):
    pop = _pop(model, **params)
    return simulate(model, regimen, patients=pop, days=days, every=7.0, options=OPTS).solution


def _visible(sol) -> np.ndarray:
    names = list(sol.names)
    idx = [names.index(f"{p}_{s}") for s in SITES for p in ("T", "U")]
    return sol.y[:, :, idx].sum(axis=2)


def _micromet(sol) -> np.ndarray:
    names = list(sol.names)
    return sol.y[:, :, [names.index(f"micromet_{s}") for s in METASTATIC_SITES]].max(axis=2)


HOT = dict(infiltration=1.0, pdl1_baseline=0.6, immunogenicity=2.0)
COLD = dict(infiltration=0.05, pdl1_baseline=0.0, immunogenicity=0.3)
SIZE = dict(burden_primary=0.0, burden_lung=5.0)


def test_cure_is_possible_and_depends_on_the_immune_state(model):
    """Two years of pembrolizumab eradicate an inflamed, antigenic tumour (every site below one
    cell, every micrometastatic colony extinct) and it stays gone for years after the last
    dose; the same tumour made immune-cold is not eradicated."""
    hot = _solve(model, PEMBRO_2Y, 5 * 365.0, **HOT, **SIZE)
    cold = _solve(model, PEMBRO_2Y, 5 * 365.0, **COLD, **SIZE)
    one_cell = 1e-9  # model units: 1e9 cells
    assert np.all(_visible(hot)[:, -1] < one_cell)
    assert np.all(_micromet(hot)[:, -1] < 0.0)  # log cells: below one cell
    after_stop = hot.t > 3 * 365.0
    assert np.all(_visible(hot)[:, after_stop] < one_cell)
    assert np.all(_visible(cold)[:, -1] > 1.0)


def test_an_eradicated_site_does_not_regrow(model):
    """Eradication is absorbing: a site driven below one cell does not grow back after
    treatment stops, where a continuum Gompertz law would regrow it from any remnant."""
    sol = _solve(model, PEMBRO_2Y, 6 * 365.0, **HOT, **SIZE)
    v = _visible(sol)
    gone = np.argmax(v < 1e-9, axis=1)
    assert np.all(gone > 0)
    for i, k in enumerate(gone):
        assert np.all(np.diff(v[i, k:]) <= 1e-15)


def test_memory_forms_during_a_response_and_wanes_with_its_half_life(model):
    """Memory cells form from contracting effectors during a response and, once antigen is
    gone, decay with the memory half-life (Akondy 2017: long-lived memory)."""
    sol = _solve(model, PEMBRO_2Y, 6 * 365.0, **HOT, **SIZE)
    names = list(sol.names)
    M = sol.y[:, :, names.index("memory")]
    assert np.all(M[:, 0] == 0.0)
    assert np.all(M.max(axis=1) > 1e-3)
    hl = model.parameters["memory_half_life"].value
    i, j = np.searchsorted(sol.t, [4 * 365.0, 5 * 365.0])
    expected = np.exp(-np.log(2) / hl * (sol.t[j] - sol.t[i]))
    np.testing.assert_allclose(M[:, j] / M[:, i], expected, rtol=0.05)


def test_death_hazard_is_small_at_baseline_and_rises_steeply_with_burden(model):
    """Few patients die of a modest baseline burden before the first scan, and the hazard
    rises with the burden (Hill function of the organ-weighted burden)."""
    small = _solve(model, None, 63.0, burden_primary=0.0, burden_lung=5.0)
    big = _solve(model, None, 63.0, burden_primary=0.0, burden_lung=150.0)
    names = list(small.names)
    h_small = small.y[:, -1, names.index("death_hazard_cum")]
    h_big = big.y[:, -1, names.index("death_hazard_cum")]
    assert np.all(1 - np.exp(-h_small) < 0.02)  # P(death by week 9) for a 5 cm^3 lesion
    assert np.all(h_big > 20 * h_small)
    # untreated growth raises the hazard rate over time
    long = _solve(model, None, 720.0, burden_primary=0.0, burden_lung=5.0)
    rate = np.diff(long.y[:, :, names.index("death_hazard_cum")], axis=1)
    assert np.all(rate[:, -1] > rate[:, 0])
