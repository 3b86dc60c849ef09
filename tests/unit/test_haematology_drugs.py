"""Myeloma and lymphoma drugs (issue 12): catalog entries and their mechanisms in
``metastatic_io`` (IMiD, proteasome-inhibitor and glucocorticoid K-PD exposures; daratumumab
through the anti-tumour-antigen antibody class with target CD38)."""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.errors import ModelError
from oncotwin.pharmacology import get_drug
from oncotwin.pharmacology.catalog import half_life_days
from oncotwin.population import Population
from oncotwin.regimens import parse_regimen
from oncotwin.simulation import simulate

HAEM_DRUGS = (
    "lenalidomide",
    "pomalidomide",
    "dexamethasone",
    "prednisone",
    "bortezomib",
    "carfilzomib",
    "daratumumab",
    "daratumumab and hyaluronidase",
)

#: Terminal half-lives [h] of the labels (section 12.3) and the tolerance band asserted:
#: lenalidomide ~3 h in healthy subjects, 3-5 h in myeloma (Revlimid); pomalidomide 7.5 h in
#: myeloma, 9.5 h in healthy subjects (Pomalyst); dexamethasone 3-6 h and prednisolone 2-4 h
#: (Czock 2005); bortezomib 40-193 h after repeated doses (Velcade); carfilzomib <= 1 h
#: (Kyprolis); daratumumab 18 (SD 9) days IV, 20 (SD 5) days SC (Darzalex, Darzalex Faspro;
#: the linear part of Luo 2021's two-compartment model gives ~38.5 days, inside mean + 2.5 SD
#: of the IV label's value; the band is 9-45 days).
LABEL_HALF_LIFE_H = {
    "lenalidomide": (2.5, 5.0),
    "pomalidomide": (6.0, 9.5),
    "dexamethasone": (3.0, 6.0),
    "prednisone": (2.0, 4.0),
    "bortezomib": (40.0, 193.0),
    "carfilzomib": (0.0, 1.0),
    "daratumumab": (9.0 * 24, 45.0 * 24),
    "daratumumab and hyaluronidase": (9.0 * 24, 45.0 * 24),
}


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


def _typical(model, n: int = 1, **params: float) -> Population:
    """``n`` typical 75-kg, 1.87-m^2 patients with ``params`` overriding the defaults."""
    p = model.parameter_array(n, **params)
    return Population(model, p, np.full(n, 75.0), np.full(n, 170.0), np.full(n, 1.87), 0, {})


@pytest.mark.parametrize("name", HAEM_DRUGS)
def test_drug_loads_with_label_half_life(name):
    d = get_drug(name)
    lo, hi = LABEL_HALF_LIFE_H[name]
    t_h = half_life_days(d) * 24.0
    assert lo <= t_h <= hi, f"{name}: t1/2 {t_h:.3g} h outside the label's {lo}-{hi} h"
    for text in d.approved_doses:
        assert parse_regimen(text).drugs  # each approved dose parses in the current grammar


def test_aliases_and_routes():
    assert get_drug("Darzalex Faspro").name == "daratumumab and hyaluronidase"
    assert get_drug("Revlimid").name == "lenalidomide"
    assert get_drug("daratumumab").routes == ("IV",)
    assert get_drug("daratumumab and hyaluronidase").routes == ("SC",)
    with pytest.raises(Exception, match="SC"):
        parse_regimen("daratumumab 1800 mg SC q1w x8")


def test_dose_targets(model):
    """The corticosteroids are dosed by name into the glucocorticoid exposure in
    prednisone-equivalents; the toxicity-management course keeps its own target."""
    assert model.dose_target("corticosteroid").state == "steroid"
    assert model.dose_target("corticosteroid").scale == 1.0
    dex = model.dose_target("dexamethasone", "corticosteroid")
    assert dex.state == "glucocorticoid"
    assert dex.scale == pytest.approx(6.6667, rel=1e-4)  # 40 mg dex = 267 mg prednisone
    assert model.dose_target("prednisone", "corticosteroid").scale == 1.0
    assert model.dose_target("pomalidomide").state == "imid"
    assert model.dose_target("pomalidomide").scale == pytest.approx(1 / 4.0)
    assert model.dose_target("carfilzomib").state == "proteasome"
    sc = model.dose_target("daratumumab and hyaluronidase", "anti-tumor-antigen mAb")
    assert (sc.state, sc.scale) == ("mAb_c", pytest.approx(0.689))
    iv = model.dose_target("daratumumab", "anti-tumor-antigen mAb")
    assert (iv.state, iv.scale) == ("mAb_c", 1.0)


def test_kills_only_lymphoid_or_plasma_cell_disease(model):
    """At the default (solid tumour) sensitivities of 0 the IMiD/PI/steroid kill is exactly
    zero while the exposures are there; at myeloma sensitivities it shrinks the tumour."""
    regimen = (
        "pomalidomide 4 mg PO qd x21, 3 cycles 8 days apart with dexamethasone 40 mg PO q1w x12"
        " with bortezomib 1.3 mg/m2 SC q1w x12"
    )
    solid = simulate(model, regimen, patients=_typical(model), days=84.0, every=1.0).solution
    assert np.all(solid["haem_kill_rate"] == 0.0)
    assert solid["imid"].max() > 0.5 and solid["glucocorticoid"].max() > 100.0
    assert solid["proteasome"].max() > 0.5
    sens = {"imid_sensitivity": 1.0, "proteasome_sensitivity": 1.0}
    sens["glucocorticoid_sensitivity"] = 1.0
    pop = _typical(model, **sens)
    untreated = simulate(model, None, patients=pop, days=84.0, every=1.0).solution
    treated = simulate(model, regimen, patients=pop, days=84.0, every=1.0).solution
    assert treated["haem_kill_rate"].max() > 0.0
    assert treated["tumor_burden"][0, -1] < 0.9 * untreated["tumor_burden"][0, -1]
    for name in ("imid", "proteasome", "glucocorticoid", "steroid", "mAb_c"):
        assert treated[name].min() >= -1e-9, name


def test_daratumumab_needs_cd38(model):
    """Daratumumab kills only a tumour that expresses CD38; without it (and with its
    tumour-independent Treg depletion switched off) the tumour follows the untreated course."""
    regimen = "daratumumab 16 mg/kg IV q1w x8"
    days, every = 70.0, 7.0
    for on in (0.0, 1.0):
        pop = _typical(model, expresses_CD38=on, cd38_treg_depletion=0.0)
        base = simulate(model, None, patients=pop, days=days, every=every).solution
        dara = simulate(model, regimen, patients=pop, days=days, every=every).solution
        assert dara["mAb_c"].max() > 500.0  # 16 mg/kg x 75 kg = 1200 mg per dose
        ratio = dara["tumor_burden"][0, -1] / base["tumor_burden"][0, -1]
        if on:
            assert ratio < 0.99
        else:
            assert ratio == pytest.approx(1.0, rel=1e-4)


def test_sc_daratumumab_bioavailability(model):
    """1800 mg SC puts F x 1800 = 1240 mg into the central compartment."""
    sol = simulate(
        model,
        "daratumumab and hyaluronidase 1800 mg SC once",
        patients=_typical(model, expresses_CD38=1.0),
        days=1.0,
        every=1e-3,
    ).solution
    total = sol["mAb_c"][0] + sol["mAb_p"][0]
    assert total[1] == pytest.approx(0.689 * 1800.0, rel=5e-3)


def test_glucocorticoid_feeds_the_steroid_state(model):
    """A dexamethasone 40 mg dose (267 mg of prednisone) enters the steroid state as
    267 / steroid_course_prednisone courses: the steroid AUC is that amount x its mean
    residence time (half-life / ln 2)."""
    sol = simulate(
        model, "dexamethasone 40 mg PO once", patients=_typical(model), days=300.0, every=0.25
    ).solution
    rec = model.parameters
    courses = 40.0 * 6.666666666666667 / rec["steroid_course_prednisone"].value
    expected = courses * rec["steroid_half_life"].value / np.log(2)
    auc = np.trapezoid(sol["steroid"][0], sol.t)
    assert auc == pytest.approx(expected, rel=0.03)


def test_corticosteroid_without_potency_is_refused(monkeypatch):
    import dataclasses

    from oncotwin.models import _metastatic_io_haem as haem

    bare = dataclasses.replace(get_drug("prednisone"), pd={})
    monkeypatch.setattr("oncotwin.pharmacology.get_drug", lambda name: bare)
    with pytest.raises(ModelError, match="prednisone_equivalence"):
        haem._prednisone_equivalence("prednisone")


def test_issue_regimen_dpd_simulates_with_each_mechanism(model):
    """The issue's 'daratumumab + pomalidomide + dexamethasone' regimen: each drug reaches
    its own compartment, pomalidomide only on days 1-21 of each 28-day cycle."""
    regimen = (
        "daratumumab 16 mg/kg IV weekly x8 + pomalidomide 4 mg PO d1-21 q4w"
        " + dexamethasone 40 mg PO weekly"
    )
    pop = _typical(model, expresses_CD38=1.0, imid_sensitivity=1.0)
    sol = simulate(model, regimen, patients=pop, days=56.0, every=0.5).solution
    t = sol.t
    assert sol["mAb_c"][0, t == 7.5][0] > 500.0
    assert sol["glucocorticoid"][0, t == 7.5][0] > 50.0
    imid = sol["imid"][0]
    on = imid[(t >= 20.0) & (t <= 20.5)].max()  # day 21 (time 20), dosed
    off = imid[t == 27.5][0]  # day 28: a week after the last dose of cycle 1
    assert on > 1.0 and off < 0.02 * on
    assert sol["imid"][0, t == 28.5][0] > 0.5  # cycle 2 day 1


def test_r_chop_prednisone_days(model):
    """R-CHOP's prednisone 100 mg on days 1-5 of each 21-day cycle: glucocorticoid exposure
    on days 1-5 and washed out (half-life 0.5 day) before day 21."""
    sol = simulate(model, "R-CHOP q3w x2", patients=_typical(model), days=42.0, every=0.5).solution
    g, t = sol["glucocorticoid"][0], sol.t
    assert g[(t > 0) & (t < 5)].min() > 50.0
    assert g[t == 20.0][0] < 1e-3 * g[t == 4.0][0]
    assert g[(t > 21) & (t < 26)].min() > 50.0


def test_imid_effect_decays_with_time_on_drug(model):
    """Acquired IMiD resistance: dR/dt = rate x effect x (1 - R), so the kill on day 10 of
    cycle 6 is exp(-rate x ~80 effect-days) ~ 0.6 of the kill on day 10 of cycle 1 (0.006/day);
    the resistance of the class not given stays 0."""
    pop = _typical(model, imid_sensitivity=1.0)
    sol = simulate(
        model, "pomalidomide 4 mg PO d1-21 q4w x6", patients=pop, days=160.0, every=0.5
    ).solution
    t, kill = sol.t, sol["haem_kill_rate"][0]
    ratio = kill[t == 149.5][0] / kill[t == 9.5][0]
    assert 0.5 < ratio < 0.8
    assert np.all(np.diff(sol["imid_resistance"][0]) >= -1e-12)
    assert np.all(sol["proteasome_resistance"][0] == 0.0)


def test_anti_cd38_depletes_tregs_but_other_antibodies_do_not(model):
    """Daratumumab (target CD38) lowers the Tregs by ~cd38_treg_depletion at near-full
    occupancy (flagged mechanism, Krejcik 2016); rituximab (CD20) in the same compartment
    does not; the switch is set from the dosed antibody's target."""
    pop = _typical(model)
    f = model.parameters["cd38_treg_depletion"].value
    base = simulate(model, None, patients=pop, days=56.0, every=7.0).solution["treg"][0, -1]
    dara = simulate(model, "daratumumab 16 mg/kg IV weekly x8", patients=pop, days=56.0, every=7.0)
    ritux = simulate(model, "rituximab 375 mg/m2 IV weekly x8", patients=pop, days=56.0, every=7.0)
    assert dara.population.params[0, model.parameter_index("mab_anti_cd38")] == 1.0
    assert ritux.population.params[0, model.parameter_index("mab_anti_cd38")] == 0.0
    assert dara.solution["treg"][0, -1] / base == pytest.approx(1 - f, abs=0.05)
    assert ritux.solution["treg"][0, -1] / base == pytest.approx(1.0, abs=1e-6)
