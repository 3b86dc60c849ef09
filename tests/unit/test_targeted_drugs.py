"""Targeted and anti-angiogenic drugs (issue 12): their catalog entries and their mechanisms in
``metastatic_io`` (:mod:`oncotwin.models._metastatic_io_targeted`).

Half-lives are checked against the labels' values (stated per drug with the tolerance); the
mechanisms by invariants: an anti-VEGF antibody slows untreated growth, BRAF/MEK and EGFR
inhibitors act only in tumours with their mutation (exactly no effect otherwise), an
antibody-drug conjugate only where its target is expressed, exposure rises with the dose,
states stay non-negative, the VEGF-axis blockade of a TKI and an antibody never exceeds one.
"""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.errors import ModelError
from oncotwin.pharmacology import get_drug, half_life_days
from oncotwin.population import Population
from oncotwin.simulation import simulate

#: drug -> (mechanism, target, label terminal half-life [day], relative tolerance, where).
LABEL_HALF_LIVES = {
    # AvastinLabel 12.3: ~20 days (range 11-50); Han 2016: 19.6 days
    "bevacizumab": ("anti-VEGF mAb", "VEGF-A", 20.0, 0.10),
    # CyramzaLabel 12.3: mean 14 days (the Swiss label 10 days, CV 28%)
    "ramucirumab": ("anti-VEGF mAb", "VEGFR2", 14.0, 0.15),
    # CabometyxLabel: 99 h (US) to ~110 h (EU SmPC 5.2)
    "cabozantinib": ("VEGFR TKI", "VEGFR", 110.0 / 24, 0.15),
    # LenvimaLabel 12.3: ~28 h
    "lenvatinib": ("VEGFR TKI", "VEGFR", 28.0 / 24, 0.10),
    # VotrientLabel 12.3: mean 30.9 h (recalled)
    "pazopanib": ("VEGFR TKI", "VEGFR", 30.9 / 24, 0.10),
    # NexavarLabel 12.3: ~25-48 h (middle 36 h, +/- 35% spans the range)
    "sorafenib": ("VEGFR TKI", "VEGFR", 36.0 / 24, 0.35),
    # TafinlarLabel: terminal ~8 h
    "dabrafenib": ("BRAF/MEK inhibitor", "BRAFV600", 8.0 / 24, 0.15),
    # MekinistLabel: 3.9-4.8 days
    "trametinib": ("BRAF/MEK inhibitor", "BRAFV600", 4.35, 0.12),
    # TagrissoLabel: mean 48 h (Planchard 2016: 48.3 h)
    "osimertinib": ("EGFR TKI", "EGFRm", 2.0, 0.10),
    # KadcylaLabel 12.3: ~4 days (Lu 2014: 3.94 days)
    "trastuzumab emtansine": ("antibody-drug conjugate", "HER2", 4.0, 0.10),
    # PadcevLabel 12.3: ADC ~3.4 days (recalled; the two-compartment split keeps it)
    "enfortumab vedotin": ("antibody-drug conjugate", "nectin4", 3.4, 0.10),
}


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


def _typical(model, n: int = 1, **params: float) -> Population:
    """``n`` typical 75-kg, 1.87-m^2 patients with ``params`` overriding the defaults."""
    p = model.parameter_array(n, **params)
    return Population(model, p, np.full(n, 75.0), np.full(n, 170.0), np.full(n, 1.87), 0, {})


def _run(model, regimen, days: float = 168.0, **params: float):
    return simulate(model, regimen, patients=_typical(model, **params), days=days, every=7.0)


@pytest.mark.parametrize("name", sorted(LABEL_HALF_LIVES))
def test_catalog_entry_and_label_half_life(name):
    mechanism, target, label_days, tol = LABEL_HALF_LIVES[name]
    d = get_drug(name)
    assert (d.mechanism, d.target) == (mechanism, target)
    assert d.notes and d.citations and d.approved_doses
    for key, p in d.pk.items():
        assert p.source is not None or (p.assumption and p.reason), key
    if d.modality == "antibody":
        assert {"CL", "V1", "Q", "V2"} <= set(d.pk)
        if d.pk["CL"].source is not None:  # a sourced popPK gives between-patient variability
            assert d.pk["CL"].log_sd > 0
    assert half_life_days(d) == pytest.approx(label_days, rel=tol)


@pytest.mark.parametrize(
    ("alias", "name"),
    [("Avastin", "bevacizumab"), ("T-DM1", "trastuzumab emtansine"), ("Tagrisso", "osimertinib")],
)
def test_aliases(alias, name):
    assert get_drug(alias).name == name


def test_model_builds_with_every_targeted_drug_dosable(model):
    from oncotwin.models.metastatic_io import ANTIBODY_CLASSES, DRUG_STANDARD_DOSE

    for name in ("brafmek", "brafmek_resistance", "egfr_tki", "egfr_tki_resistance"):
        assert name in model.state_names
    assert ANTIBODY_CLASSES["anti-VEGF mAb"] == "aVEGF"
    assert ANTIBODY_CLASSES["antibody-drug conjugate"] == "ADC"
    for name, (mechanism, *_rest) in LABEL_HALF_LIVES.items():
        if get_drug(name).modality == "small molecule":
            assert DRUG_STANDARD_DOSE[name] > 0
        # every approved dose simulates (dose targets exist)
        sol = _run(model, get_drug(name).approved_doses[0], days=14.0).solution
        assert np.all(np.isfinite(sol["tumor_burden"])), mechanism


def test_anti_vegf_slows_untreated_growth(model):
    off = _run(model, None).solution
    bev = _run(model, "bevacizumab 15 mg/kg IV q3w").solution
    assert bev["avegf_occupancy"][0, -1] > 0.5
    assert bev["angio_drive"][0, -1] < 1.0
    # lower burden at 24 weeks than untreated, and a lower carrying capacity in the primary
    assert bev["tumor_burden"][0, -1] < 0.95 * off["tumor_burden"][0, -1]
    assert bev["K_lung"][0, -1] < off["K_lung"][0, -1]


def test_vegf_blockade_combines_without_exceeding_one(model):
    tki = _run(model, "sunitinib 50 mg PO qd").solution
    both = _run(model, "bevacizumab 15 mg/kg IV q3w with sunitinib 50 mg PO qd").solution
    # without the antibody the blockade is the TKI's own effect (the TKI is unchanged)
    np.testing.assert_allclose(tki["vegf_blockade"], tki["tki_effect_net"], atol=1e-12)
    assert np.all(both["vegf_blockade"] <= 1.0)
    assert np.all(both["vegf_blockade"] >= both["tki_effect_net"] - 1e-12)
    # the antibody lowers the stimulation less where the TKI already blocks the receptor
    bev = _run(model, "bevacizumab 15 mg/kg IV q3w").solution
    assert 1 - both["angio_drive"][0, -1] < 1 - bev["angio_drive"][0, -1]


@pytest.mark.parametrize(
    ("regimen", "flag", "state"),
    [
        ("dabrafenib 150 mg PO bid with trametinib 2 mg PO qd", "expresses_BRAFV600", "brafmek"),
        ("osimertinib 80 mg PO qd", "expresses_EGFRm", "egfr_tki"),
    ],
)
def test_targeted_kill_only_in_mutant_tumours(model, regimen, flag, state):
    off = _run(model, None).solution
    wild = _run(model, regimen, **{flag: 0.0}).solution
    mutant = _run(model, regimen, **{flag: 1.0}).solution
    assert wild[state][0].max() > 1.0  # the drug is there ...
    # ... but a tumour without the mutation is untouched: exactly the untreated course
    np.testing.assert_allclose(wild["tumor_burden"], off["tumor_burden"], rtol=1e-6)
    assert np.all(wild["targeted_kill_rate"] == 0.0)
    assert mutant["tumor_burden"][0, 8] < 0.5 * off["tumor_burden"][0, 8]
    # acquired resistance builds with exposure, bounded by 1
    res = mutant[f"{state}_resistance"][0]
    assert np.all(np.diff(res) >= -1e-12) and 0.2 < res[-1] < 1.0


def test_resistance_erodes_the_effect(model):
    sol = _run(model, "osimertinib 80 mg PO qd", days=365.0, expresses_EGFRm=1.0).solution
    net = sol["egfr_tki_effect_net"][0]
    assert net[-1] < 0.8 * net[4]  # the net effect after a year is well below week 4's


def test_adc_kills_only_where_its_target_is_expressed(model):
    off = _run(model, None).solution
    neg = _run(model, "trastuzumab emtansine 3.6 mg/kg IV q3w", expresses_HER2=0.0).solution
    pos = _run(model, "trastuzumab emtansine 3.6 mg/kg IV q3w", expresses_HER2=1.0).solution
    assert neg["ADC_c"][0].max() > 0
    np.testing.assert_allclose(neg["tumor_burden"], off["tumor_burden"], rtol=1e-6)
    assert pos["tumor_burden"][0, -1] < off["tumor_burden"][0, -1]
    # the payload acts on antigen-positive cells: with a 30% antigen-negative share, the
    # antigen-positive share of the primary falls under the conjugate
    mixed = {"expresses_HER2": 1.0, "antigen_negative_fraction": 0.3}
    adc = _run(model, "trastuzumab emtansine 3.6 mg/kg IV q3w", **mixed).solution
    ref = _run(model, None, **mixed).solution

    def share(sol):
        return sol["T_primary"][0, -1] / (sol["T_primary"][0, -1] + sol["U_primary"][0, -1])

    assert share(adc) < share(ref) - 0.05


@pytest.mark.parametrize(
    ("low", "high", "state"),
    [
        ("dabrafenib 75 mg PO bid", "dabrafenib 150 mg PO bid", "brafmek"),
        ("osimertinib 40 mg PO qd", "osimertinib 80 mg PO qd", "egfr_tki"),
        ("lenvatinib 12 mg PO qd", "lenvatinib 24 mg PO qd", "tki"),
        ("bevacizumab 5 mg/kg IV q3w", "bevacizumab 15 mg/kg IV q3w", "aVEGF_c"),
        (
            "trastuzumab emtansine 2.4 mg/kg IV q3w",
            "trastuzumab emtansine 3.6 mg/kg IV q3w",
            "ADC_c",
        ),
    ],
)
def test_higher_dose_never_lowers_exposure(model, low, high, state):
    a = _run(model, low, days=56.0).solution[state][0]
    b = _run(model, high, days=56.0).solution[state][0]
    assert np.all(b >= a - 1e-9) and b.sum() > a.sum()


def test_states_stay_non_negative(model):
    sol = _run(
        model,
        "bevacizumab 15 mg/kg IV q3w with dabrafenib 150 mg PO bid with trametinib 2 mg PO qd",
        days=365.0,
        expresses_BRAFV600=1.0,
    ).solution
    for name in model.state_names:
        if name.startswith("micromet_"):
            continue  # log cell numbers
        assert sol[name].min() >= -1e-8, name


def test_missing_standard_dose_is_refused(monkeypatch):
    from oncotwin.models import _metastatic_io_targeted as targeted
    from oncotwin.models import metastatic_io

    doses = dict(metastatic_io.DRUG_STANDARD_DOSE)
    del doses["trametinib"]
    monkeypatch.setattr(metastatic_io, "DRUG_STANDARD_DOSE", doses)
    with pytest.raises(ModelError, match=r"trametinib.*DRUG_STANDARD_DOSE"):
        targeted._class_drugs("BRAF/MEK inhibitor")


def test_adc_acts_through_its_own_target(model):
    """Each conjugate is matched to its own target: enfortumab vedotin (nectin-4) does nothing
    in a HER2-positive, nectin-4-negative tumour, and kills a nectin-4-positive one."""
    off = _run(model, None).solution
    regimen = "enfortumab vedotin 1.25 mg/kg IV d1,8,15 q4w"
    her2 = _run(model, regimen, expresses_HER2=1.0, expresses_nectin4=0.0).solution
    nectin = _run(model, regimen, expresses_HER2=0.0, expresses_nectin4=1.0).solution
    np.testing.assert_allclose(her2["tumor_burden"], off["tumor_burden"], rtol=1e-6)
    assert nectin["tumor_burden"][0, -1] < off["tumor_burden"][0, -1]


def test_combination_resists_no_faster_and_kills_more(model):
    """Resistance accrues with time on drug, not with the size of the effect: dabrafenib +
    trametinib acquires it at the pace of dabrafenib alone (COMBI-d: the combination also
    progresses later) while its larger effect kills more."""
    mono = _run(model, "dabrafenib 150 mg PO bid", expresses_BRAFV600=1.0).solution
    combo = _run(
        model, "dabrafenib 150 mg PO bid with trametinib 2 mg PO qd", expresses_BRAFV600=1.0
    ).solution
    np.testing.assert_allclose(
        combo["brafmek_resistance"], mono["brafmek_resistance"], rtol=0.05, atol=1e-6
    )
    assert np.all(combo["brafmek_effect_net"][0, 1:] > mono["brafmek_effect_net"][0, 1:])
    assert combo["tumor_burden"][0, 8] < mono["tumor_burden"][0, 8]
