"""Behaviour of oncotwin's metastatic_io model: each test states the mechanism it checks.

These are directional and structural checks of the mechanisms (issue: the metastatic
immuno-oncology model); quantitative agreement with trials is the trial layer's job and is
reported, not asserted, until the calibration issue fits the population parameters.
The first test to run compiles the model (~3 min on 2 cores; cached afterwards).
"""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.models.metastatic_io import METASTATIC_SITES, SITES
from oncotwin.models.metastatic_io_cancers import CANCER_SETS, io_population
from oncotwin.models.metastatic_io_readouts import simulate_io, toxicity
from oncotwin.population import Population
from oncotwin.simulation import simulate
from oncotwin.solvers import SolverOptions

OPTS = SolverOptions(rtol=1e-6, atol=1e-10)


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


def _pop(model, n=64, **params) -> Population:
    """``n`` identical typical patients with ``params`` overriding defaults (arrays allowed)."""
    p = model.parameter_array(n, **params)
    w = np.full(n, 75.0)
    h = np.full(n, 170.0)
    return Population(model, p, w, h, np.full(n, 1.87), 0, {})


def _burden(sol, sites=SITES) -> np.ndarray:
    names = list(sol.names)
    idx = [names.index(f"{p}_{s}") for s in sites for p in ("T", "U")]
    return sol.y[:, :, idx].sum(axis=2)


def _run(model, pop, regimen, days=365.0, every=7.0):
    return simulate(model, regimen, patients=pop, days=days, every=every, options=OPTS).solution


def test_anti_pd1_works_best_in_inflamed_pdl1_high_tmb_high(model):
    """anti-PD-1 shrinks inflamed, PD-L1-high, TMB-high tumours more than desert, PD-L1-negative,
    TMB-low ones (CheckMate 067 pooled PD-L1 subgroups; Samstein 2019 TMB)."""
    size = dict(burden_primary=0.0, burden_lung=10.0)
    hot = dict(infiltration=1.0, pdl1_baseline=0.6, immunogenicity=2.0, **size)
    cold = dict(infiltration=0.05, pdl1_baseline=0.0, immunogenicity=0.3, **size)
    reg = "pembrolizumab 200 mg IV q3w x17"
    ratio = {}
    for name, kw in (("hot", hot), ("cold", cold)):
        treated = _burden(_run(model, _pop(model, 8, **kw), reg))[:, -1]
        untreated = _burden(_run(model, _pop(model, 8, **kw), None))[:, -1]
        ratio[name] = float(np.mean(treated / untreated))
    assert ratio["hot"] < 0.5 * ratio["cold"]


def test_anti_ctla4_primes_depletes_tregs_and_combination_beats_monotherapy(model):
    """anti-CTLA-4 raises priming (blood effectors) and lowers intratumoral Tregs; nivolumab +
    ipilimumab shrinks more than either alone (CheckMate 067 ORR 57.6 > 43.7 > 19.0%)."""
    pop = _pop(model, 8)
    base = _run(model, pop, None, days=168)
    ipi = _run(model, pop, "ipilimumab 3 mg/kg IV q3w x4", days=168)
    names = list(base.names)
    pe, tr = names.index("effector_blood"), names.index("treg")
    assert ipi.y[:, 1:, pe].max() > 1.2 * base.y[:, 1:, pe].max()
    assert ipi.y[0, 6, tr] < 0.8 * base.y[0, 6, tr]
    nivo = _run(model, pop, "nivolumab 3 mg/kg IV q2w x12", days=168)
    combo = _run(
        model,
        pop,
        "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w x6",
        days=168,
    )
    end = {k: _burden(s)[0, -1] for k, s in (("ipi", ipi), ("nivo", nivo), ("combo", combo))}
    assert end["combo"] < min(end["ipi"], end["nivo"])


@pytest.fixture(scope="module")
def lbcl(model):
    pop, _ = io_population("large_b_cell_lymphoma", 64, seed=5, model=model)
    reg = (
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
        "axicabtagene ciloleucel 2e6 cells/kg IV once"
    )
    sim = simulate(model, reg, patients=pop, days=365, every=1.0, options=OPTS)
    return pop, sim.solution


def test_cart_expands_contracts_and_persists(lbcl):
    """CAR-T effectors peak within ~1-3 weeks of the infusion, contract by >10x by day 90 and
    memory persists at one year (Stein 2019 multiphasic kinetics)."""
    _, sol = lbcl
    names = list(sol.names)
    car = sol.y[:, :, names.index("cart_effector")] + sol.y[:, :, names.index("cart_memory")]
    t = sol.t
    peak_day = t[np.argmax(car, axis=1)]
    assert 5 <= np.median(peak_day) <= 21
    # ratio-dependent stimulation bounds the expansion near the antigen burden: peaks of
    # 1e8-1e11 cells (blood peaks of ~1e8-1e10 cells are reported), not 1e13
    assert 1e8 <= np.median(car.max(axis=1)) * 1e9 <= 1e11
    i90 = np.searchsorted(t, 90)
    assert np.median(car[:, i90] / car.max(axis=1)) < 0.1
    assert np.all(sol.y[:, -1, names.index("cart_memory")] > 0)


def test_crs_grade_rises_with_expansion_and_burden(lbcl):
    """Grade of CRS rises with tumour burden and peak expansion (ZUMA-1: CRS with burden)."""
    from scipy.stats import spearmanr

    pop, sol = lbcl
    names = list(sol.names)
    tox = toxicity(sol, 0, np.arange(pop.n))
    burden0 = _burden(sol)[:, 0]
    peak = sol.y[:, :, names.index("cart_effector")].max(axis=1)
    assert spearmanr(burden0, tox.crs_grade).statistic > 0.3
    assert spearmanr(peak, sol.y[:, :, names.index("cytokine")].max(axis=1)).statistic > 0.3


def test_cd19_negative_escape_relapses(model):
    """Antigen-negative cells escape CAR-T: they are not killed and regrow (CD19-negative
    relapse), while the antigen-positive cells are cleared."""
    pop = _pop(
        model,
        2,
        burden_primary=0.0,
        burden_lung=0.0,
        burden_lymph_node=20.0,
        expresses_CD19=1.0,
        antigen_negative_fraction=np.array([0.0, 0.05]),
        infiltration=0.05,
    )
    reg = (
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
        "axicabtagene ciloleucel 2e6 cells/kg IV once"
    )
    sol = _run(model, pop, reg, days=365)
    names = list(sol.names)
    T = sol.y[:, :, names.index("T_lymph_node")]
    U = sol.y[:, :, names.index("U_lymph_node")]
    assert T[:, -1].max() < 0.01 * T[:, 0].max()  # positive cells cleared
    assert U[1, -1] > U[1, 0]  # the negative clone grows back: relapse
    assert U[0, -1] < 1e-12  # none to begin with, none at the end


def test_trastuzumab_needs_her2_and_adcc_needs_nk(model):
    """trastuzumab acts only on HER2-positive cells, and its ADCC needs NK cells."""
    reg = "trastuzumab 8 mg/kg IV once, then trastuzumab 6 mg/kg IV q3w x8"
    common = dict(infiltration=0.05, antigen_negative_fraction=0.3)
    pos = _run(model, _pop(model, 1, expresses_HER2=1.0, **common), reg, days=168)
    neg = _run(model, _pop(model, 1, expresses_HER2=0.0, **common), reg, days=168)
    untreated = _run(model, _pop(model, 1, expresses_HER2=1.0, **common), None, days=168)
    names = list(pos.names)
    T, U = names.index("T_lung"), names.index("U_lung")
    assert pos.y[0, -1, T] < 0.7 * untreated.y[0, -1, T]
    assert neg.y[0, -1, T] == pytest.approx(untreated.y[0, -1, T], rel=1e-6)
    # HER2-negative cells are not killed (they even grow into the room the others leave)
    assert pos.y[0, -1, U] >= untreated.y[0, -1, U]
    no_nk = _run(
        model,
        _pop(model, 1, expresses_HER2=1.0, nk_0=0.0, nk_turnover=1e-9, **common),
        reg,
        days=168,
    )
    assert no_nk.y[0, -1, T] > pos.y[0, -1, T]


def test_high_dose_il2_rare_durable_responses_and_capillary_leak(model):
    """High-dose IL-2: few complete responses (Atkins 1999: ORR 16%, CR 6%) and dose-limiting
    capillary leak in most patients."""
    pop, _ = io_population("melanoma", 64, seed=11, model=model)
    reg = "aldesleukin 600000 IU/kg IV q8h x14, 2 cycles 9 days apart"
    sol = simulate(model, reg, patients=pop, days=365, every=7, options=OPTS).solution
    tox = toxicity(sol, 0, np.arange(pop.n))
    assert np.mean(tox.capillary_leak_grade >= 3) > 0.5
    b = _burden(sol)
    cr = b[:, -1] < 1e-3 * b[:, 0]
    assert np.mean(cr) < 0.3


def test_radiotherapy_local_and_abscopal(model):
    """8 Gy x3 to the lung shrinks the lung lesion; with anti-PD-1 the unirradiated liver lesion
    also shrinks more than under anti-PD-1 alone (abscopal effect via antigen release)."""
    pop = _pop(model, 1, burden_liver=2.0, burden_lung=2.0, burden_primary=0.0)
    pembro = "pembrolizumab 200 mg IV q3w x8"
    alone = _run(model, pop, pembro, days=168)
    both = _run(model, pop, f"radiotherapy 8 Gy x3 to lung with {pembro}", days=168)
    rt_only = _run(model, pop, "radiotherapy 8 Gy x3 to lung", days=168)
    none = _run(model, pop, None, days=168)
    names = list(alone.names)
    lung, liver = names.index("T_lung"), names.index("T_liver")
    assert rt_only.y[0, -1, lung] < 0.5 * none.y[0, -1, lung]
    # compared over the course (area under the lesion's burden): at day 168 both lesions are
    # near eradication (~1e4 cells), where the order of two tiny tails says nothing
    auc = [np.trapezoid(s.y[0, :, liver], s.t) for s in (both, alone)]
    assert auc[0] < 0.8 * auc[1]


def test_larger_and_mesenchymal_tumours_seed_more_and_dormancy_breaks(model):
    """Larger and more mesenchymal tumours seed new lesions earlier (Iwata colonisation x EMT);
    micrometastases held by immunity grow out when immunity falls (steroids)."""
    # seeding alone: no immune control, no colony in the liver yet (1e-6 expected cells)
    iso = dict(micromet_access=0.0, micromet0_liver=float(np.log(1e-6)))
    small = _pop(model, 1, burden_lung=0.5, emt=0.1, **iso)
    big = _pop(model, 1, burden_lung=20.0, emt=0.1, **iso)
    mes = _pop(model, 1, burden_lung=0.5, emt=0.8, **iso)
    log_cells = {}
    for k, p in (("small", small), ("big", big), ("mes", mes)):
        sol = _run(model, p, None, days=91, every=7)
        k_liver = list(sol.names).index("micromet_liver")
        log_cells[k] = float(sol.y[0, -1, k_liver])  # log of liver micrometastatic cells
    # seeded earlier and more: > e-fold more cells after 13 weeks
    assert log_cells["big"] > log_cells["small"] + 1.0
    assert log_cells["mes"] > log_cells["small"] + 1.0
    strong = dict(effector_blood_0=0.2, micromet_access=0.01, burden_lung=0.5)
    held = _run(model, _pop(model, 1, **strong), None, days=365, every=7)
    # immunity falls: a steroid course on day 0 (high suppression)
    pop = _pop(model, 1, steroid_suppression=50.0, **strong)
    from oncotwin.solvers import BOLUS, EventTable, solve

    ev = EventTable.build(
        np.array([0.0]), np.array([model.state_index("steroid")]), np.array([BOLUS]), [[50.0]]
    )
    escaped = solve(model, pop.params, held.t, events=ev, options=OPTS)
    k = list(held.names).index("micromet_liver")
    # they grow out while the steroid lasts (immunity returns afterwards and regains control)
    assert escaped.y[0, 1:, k].max() > held.y[0, 1:, k].max() + 1.0


def test_toxicity_stops_dosing_and_starts_steroids(model):
    """A grade >= 3 irAE stops that patient's doses (no dose starts after it) and starts a
    steroid course; patients without one keep being dosed."""
    pop, _ = io_population("melanoma", 48, seed=2, model=model)
    reg = "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w x20"
    res = simulate_io(reg, pop, days=365, every=1.0, seed=4)
    sol = res.solution
    names = list(sol.names)
    stopped = np.isfinite(res.stop_day)
    assert stopped.any() and (~stopped).any()
    c = sol.y[:, :, names.index("aPD1_c")]
    for i in np.nonzero(stopped)[0]:
        after = sol.t > res.stop_day[i] + 1.0
        assert np.all(np.diff(c[i, after]) <= 1e-12)  # only elimination after the stop
        assert sol.y[i, after, names.index("steroid")].max() > 0
    j = np.nonzero(~stopped)[0][0]
    assert np.any(np.diff(c[j, sol.t > 100]) > 0)  # still dosed


def test_antibody_mass_balance_matches_the_pk_model(model):
    """Antibody amounts in metastatic_io equal those of the mass-balanced pk:<drug> model
    (central + peripheral + eliminated = dosed), for the drug actually given."""
    reg = "pembrolizumab 200 mg IV q3w x4"
    # the reference patient of Ahamadi 2017 (76.8 kg man, albumin 39.6 g/L, tumour 89.6 mm)
    pop = _pop(model, 1, pk_weight=76.8, pk_albumin=3.96, pk_tumour=89.6)
    sol = _run(model, pop, reg, days=84, every=1.0)
    pk = ot.get_model("pk:pembrolizumab")
    fixed = {name: 0.0 for name in pk.parameter_names}
    ref = simulate(pk, reg, patients=1, days=84, every=1.0, vary=fixed, options=OPTS).solution
    names = list(sol.names)
    rnames = list(ref.names)
    np.testing.assert_allclose(
        sol.y[0, :, names.index("aPD1_c")],
        ref.y[0, :, rnames.index(next(n for n in rnames if "central" in n))],
        rtol=1e-5,
        atol=1e-6,
    )


DONE_WHEN = {
    "melanoma": [
        "pembrolizumab 200 mg IV q3w x35",
        "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg IV q2w "
        "until progression",
        "talimogene laherparepvec 4e6 PFU intralesional once, then talimogene laherparepvec "
        "4e8 PFU intralesional q2w starting d22",
        "aldesleukin 600000 IU/kg IV q8h x14, 2 cycles 9 days apart",
    ],
    "nsclc": ["radiotherapy 8 Gy x3 to lung with pembrolizumab 200 mg IV q3w x35"],
    "breast_her2": [
        "docetaxel 75 mg/m2 IV q3w x6 with trastuzumab 8 mg/kg IV once, then trastuzumab "
        "6 mg/kg IV q3w"
    ],
    "large_b_cell_lymphoma": [
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
        "axicabtagene ciloleucel 2e6 cells/kg IV once"
    ],
}


@pytest.mark.parametrize("cancer", sorted(CANCER_SETS))
def test_every_cancer_and_done_when_regimen_solves_nonnegative(model, cancer):
    """Every default cancer type solves under its regimens (and untreated) with every state
    that must stay non-negative doing so."""
    pop, _ = io_population(cancer, 16, seed=1, model=model)
    for reg in [None, *DONE_WHEN.get(cancer, ["pembrolizumab 200 mg IV q3w x35"])]:
        sol = simulate(model, reg, patients=pop, days=365, every=7, options=OPTS).solution
        assert np.all(sol.status == 0), (cancer, reg, sol.status_counts())
        neg = sol.y[:, :, model.nonnegative_mask]
        assert np.all(neg >= 0.0), (cancer, reg)


def test_sites_are_an_array_axis(model):
    """Every site carries the same states and every metastatic organ a micrometastasis."""
    for s in SITES:
        for p in ("T", "U", "K", "E"):
            model.state_index(f"{p}_{s}")
    for s in METASTATIC_SITES:
        model.state_index(f"micromet_{s}")
