"""Tests of the drug catalog."""

import pytest

from oncotwin.citations import get_citation
from oncotwin.errors import UnknownNameError
from oncotwin.pharmacology import (
    DOSE_KINDS,
    MECHANISMS,
    MODALITIES,
    ROUTES,
    all_drugs,
    drug_table,
    drugs_by_mechanism,
    get_drug,
    half_life_days,
)
from oncotwin.regimens import parse_regimen

REQUIRED = [
    "pembrolizumab",
    "nivolumab",
    "cemiplimab",
    "atezolizumab",
    "durvalumab",
    "avelumab",
    "ipilimumab",
    "tremelimumab",
    "trastuzumab",
    "rituximab",
    "cetuximab",
    "aldesleukin",
    "interferon alfa-2b",
    "docetaxel",
    "paclitaxel",
    "carboplatin",
    "cisplatin",
    "pemetrexed",
    "sunitinib",
    "axitinib",
    "fludarabine",
    "cyclophosphamide",
    "axicabtagene ciloleucel",
    "tisagenlecleucel",
    "idecabtagene vicleucel",
    "ciltacabtagene autoleucel",
    "sipuleucel-t",
    "talimogene laherparepvec",
    "gp100 peptide",
    "radiotherapy",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_complete_and_sourced(name):
    d = get_drug(name)
    assert d.name == name
    assert d.mechanism in MECHANISMS and d.target and d.dose_kind and d.routes
    for key, p in d.pk.items():
        assert p.unit, key
        assert p.source is not None or (p.assumption and p.reason), key
        if p.source is not None:
            get_citation(p.source.key)
    for key in d.citations:
        get_citation(key)
    if d.modality == "antibody":
        assert {"CL", "V1", "Q", "V2"} <= set(d.pk)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("Keytruda", "pembrolizumab"),
        ("pembro", "pembrolizumab"),
        ("NIVO", "nivolumab"),
        ("ipi", "ipilimumab"),
        ("IL-2", "aldesleukin"),
        ("T-VEC", "talimogene laherparepvec"),
        ("axi-cel", "axicabtagene ciloleucel"),
        ("tisa-cel", "tisagenlecleucel"),
        ("ide-cel", "idecabtagene vicleucel"),
        ("cilta-cel", "ciltacabtagene autoleucel"),
        ("sip-T", "sipuleucel-t"),
        ("RT", "radiotherapy"),
        ("radiation", "radiotherapy"),
        ("SBRT", "radiotherapy"),
        ("xrt", "radiotherapy"),
    ],
)
def test_aliases(alias, name):
    assert get_drug(alias).name == name


def test_dose_kinds_and_routes():
    assert get_drug("axi-cel").dose_kind == "cells"
    assert get_drug("sipuleucel-T").dose_kind == "cells"
    assert get_drug("T-VEC").dose_kind == "PFU"
    assert get_drug("T-VEC").routes == ("intralesional",)
    assert get_drug("aldesleukin").dose_kind == "IU"
    assert get_drug("gp100").routes == ("SC",)
    assert get_drug("axi-cel").pk == {}


@pytest.mark.parametrize(
    ("name", "lo", "hi"),
    [
        ("pembrolizumab", 22, 27),
        ("nivolumab", 18, 28),
        ("ipilimumab", 13, 17),
        ("atezolizumab", 24, 29),
        ("durvalumab", 16, 25),
        ("avelumab", 5, 7),
        ("trastuzumab", 25, 32),
    ],
)
def test_antibody_half_lives(name, lo, hi):
    assert lo <= half_life_days(get_drug(name)) <= hi


def test_radiotherapy_entry():
    """Radiotherapy: Gy per fraction by external beam, no PK and no citation of its own (the
    linear-quadratic cell kill is cited by the model that takes the dose)."""
    rt = get_drug("radiotherapy")
    assert (rt.mechanism, rt.modality, rt.dose_kind, rt.routes) == (
        "radiotherapy",
        "radiation",
        "Gy",
        ("external beam",),
    )
    assert "radiotherapy" in MECHANISMS and "radiation" in MODALITIES
    assert "Gy" in DOSE_KINDS and "external beam" in ROUTES
    assert rt.pk == {} and half_life_days(rt) is None and rt.citations == ()
    assert [d.name for d in drugs_by_mechanism("radiotherapy")] == ["radiotherapy"]
    row = {r["name"]: r for r in drug_table()}["radiotherapy"]
    assert row["routes"] == "external beam" and row["half_life_days"] is None
    for text in rt.approved_doses:  # the examples parse
        assert parse_regimen(text).drugs == ("radiotherapy",)


def test_unknown_drug_did_you_mean():
    with pytest.raises(UnknownNameError, match="did you mean 'pembrolizumab'"):
        get_drug("pembrolizumb")


def test_listing():
    assert len(all_drugs()) >= 29
    assert {d.name for d in drugs_by_mechanism("anti-PD-1")} == {
        "pembrolizumab",
        "nivolumab",
        "cemiplimab",
    }
    rows = {r["name"]: r for r in drug_table()}
    assert rows["pembrolizumab"]["sources"] == "Ahamadi2017, KeytrudaLabel"
    assert rows["axicabtagene ciloleucel"]["half_life_days"] is None
    with pytest.raises(UnknownNameError, match="mechanism"):
        drugs_by_mechanism("anti-PD1x")
