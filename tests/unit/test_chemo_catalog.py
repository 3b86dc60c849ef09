"""The chemotherapy drugs of the standard-of-care regimens (``drugs_chemotherapy.toml``):
identity, mechanism classes, units, sources and the examples' grammar (fast, no simulation)."""

from __future__ import annotations

import pytest

from oncotwin.pharmacology import all_drugs
from oncotwin.pharmacology.catalog import (
    CYTOTOXIC_CLASSES,
    SUPPORTIVE,
    get_drug,
    half_life_days,
)
from oncotwin.regimens import parse_regimen

#: Each new cytotoxic drug and its mechanism classes (issue 12's list).
CYTOTOXIC = {
    "irinotecan": ("topoisomerase inhibitor",),
    "oxaliplatin": ("platinum",),
    "fluorouracil": ("antimetabolite",),
    "gemcitabine": ("antimetabolite",),
    "nab-paclitaxel": ("taxane",),
    "etoposide": ("topoisomerase inhibitor",),
    "ifosfamide": ("alkylating",),
    "doxorubicin": ("anthracycline",),
    "vincristine": ("vinca alkaloid",),
    "bendamustine": ("alkylating",),
    "vinflunine": ("vinca alkaloid",),
    "dacarbazine": ("alkylating",),
    "capecitabine": ("antimetabolite",),
}
SUPPORTIVE_DRUGS = ("leucovorin", "mesna")
NEW = (*CYTOTOXIC, *SUPPORTIVE_DRUGS)

#: (drug, published terminal or effective half-life range [h]) that the catalog's CL and
#: volume must reproduce: labels and the cited papers (see each drug's records).
HALF_LIFE_H = {
    "irinotecan": (5.0, 14.0),  # Gupta 1997 8.8 h; label 5.8-11.7 h
    "doxorubicin": (20.0, 48.0),  # doxorubicin label 12.3
    "etoposide": (4.0, 11.0),  # label 4-11 h
    "ifosfamide": (6.0, 8.0),  # label ~7 h at 1.6-2.4 g/m2
    "vinflunine": (35.0, 45.0),  # SmPC ~40 h
    "fluorouracil": (0.08, 0.33),  # 5-20 min
    "bendamustine": (0.3, 0.8),  # effective t1/2 ~40 min (Darwish 2015)
    "capecitabine": (0.5, 1.0),  # 0.73 h
}


@pytest.mark.parametrize("name", NEW)
def test_new_drug_is_in_the_catalog_with_its_mechanism(name):
    d = get_drug(name)
    assert d.name == name
    if name in CYTOTOXIC:
        assert d.mechanism == "chemotherapy"
        assert d.mechanisms == CYTOTOXIC[name]
        assert set(d.mechanisms) <= set(CYTOTOXIC_CLASSES)
        assert d.standard_dose_mg and d.standard_dose_mg > 0
        assert {"CL", "V1"} <= set(d.pk) and "myelo_slope" in d.pd
        slope = d.pd["myelo_slope"]
        assert slope.unit == "L/mg" and slope.prior_range is not None
        lo, hi = slope.prior_range
        assert lo < slope.value < hi
    else:
        assert d.mechanism == SUPPORTIVE and d.mechanisms == ()
    assert d.molecular_weight is not None and d.molecular_weight.unit == "g/mol"
    assert "toxic" in d.notes.lower() or name in SUPPORTIVE_DRUGS


@pytest.mark.parametrize("name", CYTOTOXIC)
def test_pk_records_have_units_and_provenance(name):
    """Every PK value is in the catalog's canonical units and either sourced (with where)
    or an assumption with its reason."""
    units = {"CL": "L/day", "V1": "L", "V2": "L", "Q": "L/day", "ka": "1/day", "F": "1"}
    for key, rec in get_drug(name).pk.items():
        assert rec.unit == units[key], (name, key)
        assert rec.value > 0
        if rec.assumption:
            assert rec.reason
        else:
            assert rec.source is not None and rec.source.where


@pytest.mark.parametrize("name", sorted(HALF_LIFE_H))
def test_catalog_pk_reproduces_the_published_half_life(name):
    lo, hi = HALF_LIFE_H[name]
    t_half_h = half_life_days(get_drug(name)) * 24.0
    assert lo <= t_half_h <= hi, f"{name}: {t_half_h:.2f} h not in [{lo}, {hi}] h"


def test_aliases_and_brands_find_the_drug():
    pairs = {
        "Abraxane": "nab-paclitaxel",
        "nab paclitaxel": "nab-paclitaxel",
        "5-FU": "fluorouracil",
        "CPT-11": "irinotecan",
        "Eloxatin": "oxaliplatin",
        "VP-16": "etoposide",
        "Adriamycin": "doxorubicin",
        "Oncovin": "vincristine",
        "Treanda": "bendamustine",
        "Javlor": "vinflunine",
        "DTIC": "dacarbazine",
        "Xeloda": "capecitabine",
        "folinic acid": "leucovorin",
        "Mesnex": "mesna",
        "Gemzar": "gemcitabine",
        "Ifex": "ifosfamide",
    }
    for alias, name in pairs.items():
        assert get_drug(alias).name == name
    # nab-paclitaxel is its own drug, not an alias of paclitaxel
    assert get_drug("paclitaxel").name == "paclitaxel"
    assert get_drug("paclitaxel").pk["CL"].value != get_drug("nab-paclitaxel").pk["CL"].value


@pytest.mark.parametrize("name", NEW)
def test_approved_doses_parse_and_paste_back(name):
    for text in get_drug(name).approved_doses:
        reg = parse_regimen(text)
        assert name in reg.drugs
        assert parse_regimen(repr(reg).removeprefix("Regimen.parse(").removesuffix(")")[1:-1])


def test_fluorouracil_bolus_and_infusion_are_one_drug():
    """The LV5FU2 example doses the same drug twice per cycle: a bolus and a 46-h infusion."""
    (text,) = [t for t in get_drug("fluorouracil").approved_doses if "46 h" in t]
    sched = parse_regimen(text).schedule(13.0)  # one cycle
    assert set(sched.drug) == {"fluorouracil"}
    assert sorted(sched.duration.tolist()) == pytest.approx([0.0, 46.0 / 24.0])


def test_standard_dose_is_one_cycle_for_1_8_m2():
    """standard_dose_mg = the per-m2 dose of one cycle's administrations x 1.8 m^2."""
    per_m2_cycle = {
        "irinotecan": 180.0,
        "oxaliplatin": 85.0,
        "fluorouracil": 400.0 + 2400.0,
        "gemcitabine": 3 * 1000.0,
        "nab-paclitaxel": 260.0,
        "etoposide": 3 * 100.0,
        "ifosfamide": 5 * 1200.0,
        "doxorubicin": 60.0,
        "bendamustine": 2 * 90.0,
        "vinflunine": 320.0,
        "dacarbazine": 1000.0,
        "capecitabine": 2 * 14 * 1250.0,
    }
    for name, dose in per_m2_cycle.items():
        assert get_drug(name).standard_dose_mg == pytest.approx(dose * 1.8), name
    assert get_drug("vincristine").standard_dose_mg == 2.0  # 1.4 mg/m2 capped at 2 mg


def test_carboplatin_is_the_drug_dosed_by_auc():
    assert [d.name for d in all_drugs().values() if d.auc_dosing] == ["carboplatin"]


def test_myelo_slope_follows_the_documented_scaling():
    """slope = r x 2.2199 x CL / standard_dose_mg (the header's formula): the slope times the
    standard dose's AUC is r x 2.2199 day, with r between 0.05 and 1 for every new drug."""
    for name in CYTOTOXIC:
        d = get_drug(name)
        r = d.pd["myelo_slope"].value * d.standard_dose_mg / d.pk["CL"].value / 2.2199
        assert 0.049 <= r <= 1.001, (name, r)
