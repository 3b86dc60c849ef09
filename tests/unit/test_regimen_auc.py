"""AUC (Calvert) dosing and continuous infusion at a rate in the regimen grammar."""

import numpy as np
import pytest

from oncotwin.errors import RegimenError, UnitError
from oncotwin.regimens import Regimen, parse_regimen
from oncotwin.units import DoseAmount, calvert_dose_mg, parse_dose


@pytest.mark.parametrize(
    "text", ["AUC 5", "AUC5", "auc 5", "AUC = 5", "AUC 5 mg/mL*min", "AUC 5 mg*min/mL"]
)
def test_auc_spellings(text):
    d = parse_dose(text)
    assert d == DoseAmount(5.0, "mass", "auc") and str(d) == "AUC 5"
    r = parse_regimen(f"carboplatin {text} IV q3w x4")
    assert str(r) == "carboplatin AUC 5 IV q3w x4" and eval(repr(r)) == r


def test_calvert_dose_with_the_fda_cap():
    """Calvert 1989: dose [mg] = AUC x (GFR + 25); the estimated GFR capped at 125 mL/min."""
    s = parse_regimen("carboplatin AUC 5 IV q3w x2").schedule(30)
    assert s.basis.tolist() == ["auc", "auc"] and s.amount.tolist() == [5.0, 5.0]
    w, b = np.array([70.0, 80.0, 60.0]), np.array([1.8, 2.0, 1.6])
    a = s.amounts(w, b, crcl_ml_min=np.array([50.0, 100.0, 200.0]))
    assert a[:, 0].tolist() == [375.0, 625.0, 750.0]  # 5 x (50+25), 5 x 125, 5 x (125+25)
    assert calvert_dose_mg(6.0, np.array([125.0, 1000.0])).tolist() == [900.0, 900.0]


def test_auc_beside_other_bases():
    s = parse_regimen("paclitaxel 200 mg/m2 + carboplatin AUC 6 IV q3w x1").schedule(10)
    a = s.amounts(np.array([70.0]), np.array([2.0]), np.array([75.0]))
    assert a.tolist() == [[400.0, 600.0]]


def test_auc_without_crcl_is_one_clear_error():
    s = parse_regimen("carboplatin AUC 5 IV q3w x2").schedule(30)
    with pytest.raises(RegimenError, match=r"carboplatin is dosed by AUC .* give crcl_ml_min"):
        s.amounts(np.array([70.0]), np.array([1.8]))
    with pytest.raises(RegimenError, match="one creatinine clearance per patient"):
        s.amounts(np.array([70.0]), np.array([1.8]), np.array([80.0, 90.0]))
    with pytest.raises(RegimenError, match="finite number > 0"):
        s.amounts(np.array([70.0]), np.array([1.8]), np.array([np.nan]))
    # a schedule without AUC doses needs no clearance
    plain = parse_regimen("cisplatin 75 mg/m2 IV q3w x1").schedule(10)
    assert plain.amounts(np.array([70.0]), np.array([2.0])).tolist() == [[150.0]]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("cisplatin AUC 5 IV q3w", r"cisplatin is not dosed by AUC; give mg/m2.*carboplatin"),
        ("pembrolizumab AUC 5 IV q3w", r"pembrolizumab is not dosed by AUC"),
        ("carboplatin AUC IV q3w", r"missing target AUC value for carboplatin(.|\n)*'AUC 5'"),
        ("carboplatin AUC 0 IV q3w", r"a target AUC must be a finite number > 0"),
    ],
)
def test_auc_errors(text, pattern):
    with pytest.raises(RegimenError, match=pattern) as info:
        parse_regimen(text)
    assert "^" in str(info.value) and "valid examples" in str(info.value)


def test_auc_dose_amount_checks():
    with pytest.raises(UnitError, match="a target AUC doses a mass"):
        DoseAmount(5, "cells", "auc")
    with pytest.raises(UnitError, match="needs each patient's creatinine clearance"):
        parse_dose("AUC 5").per_patient(np.array([70.0]), np.array([1.8]))


# ----------------------------------------------------------------------------- rates
def test_continuous_infusion_at_a_rate():
    r = parse_regimen("fluorouracil 1000 mg/m2/day IV continuous d1-4 q3w x2")
    assert str(r) == "fluorouracil 1000 mg/m2/day IV continuous d1-4 q3w x2"
    assert eval(repr(r)) == r
    s = r.schedule(100)
    assert s.time.tolist() == [0.0, 21.0]  # one infusion per cycle
    assert s.duration.tolist() == [4.0, 4.0] and s.amount.tolist() == [4000.0, 4000.0]
    assert s.amounts(np.array([70.0]), np.array([2.0])).tolist() == [[8000.0, 8000.0]]
    # 'continuous' may be left out: a rate is a continuous infusion
    assert parse_regimen("fluorouracil 1000 mg/m2/day IV d1-4 q3w x2") == r


def test_blinatumomab_rate_in_micrograms():
    r = parse_regimen("blinatumomab 28 ug/day IV continuous d1-28 q6w x2")
    assert str(r) == "blinatumomab 28 ug/day IV continuous d1-28 q6w x2" and eval(repr(r)) == r
    s = r.schedule(200)
    assert s.time.tolist() == [0.0, 42.0] and s.duration.tolist() == [28.0, 28.0]
    assert s.amount.tolist() == pytest.approx([0.028 * 28] * 2)  # mg
    once = parse_regimen("blinatumomab 9 ug/day IV continuous d1-7").schedule(50)
    assert once.time.tolist() == [0.0] and once.duration.tolist() == [7.0]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("fluorouracil 2400 mg/m2 IV continuous d1-2 q2w", r"'continuous' needs a rate"),
        ("fluorouracil 1000 mg/m2/day IV q3w", r"continuous infusion and needs the days"),
        ("fluorouracil 1000 mg/m2/day IV d1,8 q3w", r"runs over one range of days"),
        ("capecitabine 1000 mg/m2/day PO d1-14 q3w", r"given IV or SC, not PO"),
        (
            "fluorouracil 1000 mg/m2/day IV over 2 h d1-4 q3w",
            r"a continuous infusion runs over its days",
        ),
    ],
)
def test_rate_errors(text, pattern):
    with pytest.raises(RegimenError, match=pattern):
        parse_regimen(text)


def test_existing_regimen_text_unchanged():
    for text in ("carboplatin 400 mg/m2 IV q3w x4", "pembrolizumab 200 mg IV q3w x35"):
        assert repr(Regimen.parse(text)) == f"Regimen.parse({text!r})"


# ----------------------------------------------------------------------------- dose caps
def test_dose_cap_pastes_back_and_caps_each_patient():
    r = parse_regimen("vincristine 1.4 mg/m2 (maximum 2 mg) IV q3w x2")
    assert str(r) == "vincristine 1.4 mg/m2 (max 2 mg) IV q3w x2" and eval(repr(r)) == r
    s = r.schedule(30)
    a = s.amounts(np.array([60.0, 90.0]), np.array([1.2, 2.0]))
    assert a[:, 0].tolist() == pytest.approx([1.68, 2.0])  # 1.4 x 1.2; 1.4 x 2.0 capped at 2
    c = parse_regimen("carboplatin AUC 5 (max 800 mg) IV q3w x1").schedule(5)
    assert c.amounts(np.ones(2), np.ones(2), np.array([60.0, 400.0])).tolist() == [[425.0], [750.0]]
    assert parse_dose("AUC 7 (max 800 mg)").per_patient(
        np.ones(1), np.ones(1), np.array([200.0])
    ).tolist() == [800.0]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("pembrolizumab 200 mg (max 100 mg) IV q3w", r"a cap \(max 100.0 mg\) is for a mass dose"),
        ("vincristine 1.4 mg/m2 (max 0 mg) IV q3w", r"give a finite dose in mg > 0"),
    ],
)
def test_dose_cap_errors(text, pattern):
    with pytest.raises(RegimenError, match=pattern) as info:
        parse_regimen(text)
    assert "^" in str(info.value)


# ----------------------------------------------------------------------------- loading doses
def test_loading_dose_is_the_groups_first_dose():
    r = parse_regimen("cetuximab 250 mg/m2 (first dose 400 mg/m2) IV weekly x3")
    assert str(r) == "cetuximab 250 mg/m2 (loading 400 mg/m2) IV q1w x3" and eval(repr(r)) == r
    s = r.schedule(30)
    assert s.time.tolist() == [0.0, 7.0, 14.0] and s.amount.tolist() == [400.0, 250.0, 250.0]
    t = parse_regimen("trastuzumab 6 mg/kg (loading 8 mg/kg) IV q3w x3").schedule(60)
    assert t.amounts(np.array([50.0]), np.array([1.5])).tolist() == [[400.0, 300.0, 300.0]]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("cetuximab 250 mg/m2 (loading 400 mg) IV weekly", r"loading dose 400 mg is not in the"),
        ("cetuximab 250 mg/m2 (loading) IV weekly", r"give the loading dose, e.g."),
        ("carboplatin AUC 5 (loading AUC 6) IV q3w", r"not a rate, a target AUC"),
    ],
)
def test_loading_dose_errors(text, pattern):
    with pytest.raises(RegimenError, match=pattern) as info:
        parse_regimen(text)
    assert "^" in str(info.value)
