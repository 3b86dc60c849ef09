"""Every package data file loads and validates; a malformed file names the file and the field.

The data files: ``trials/data/published_arms.csv``, ``pharmacology/data/drugs.toml``,
``data/citations.toml``, ``data/organs.toml`` and ``population/data/{cancers,
covariate_parameters,lesions}.toml``.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from oncotwin._datafiles import DataFileError
from oncotwin.citations import Citation, all_citations, get_citation, load_citations
from oncotwin.parameters import Parameter
from oncotwin.units import ureg


def _unit_ok(unit: str) -> None:
    ureg.parse_units(unit)  # raises on a unit pint cannot read


def _text(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def _check_parameter(p: Parameter, where: str) -> None:
    assert isinstance(p.value, int | float) and math.isfinite(p.value), where
    _unit_ok(p.unit)
    if p.assumption:
        assert p.reason.strip(), f"{where}: assumption without a reason"
    else:
        assert p.source is not None, f"{where}: neither source nor assumption"
        get_citation(p.source.key)


# ----------------------------------------------------------------------------- citations
def test_citations_load_and_validate() -> None:
    records = load_citations()
    assert len(records) >= 60
    for key, c in records.items():
        assert isinstance(c, Citation) and c.key == key
        assert isinstance(c.year, int) and 1800 <= c.year <= 2100, key
        assert c.authors and c.title and c.journal, key
        assert c.doi == "" or c.doi.startswith("10."), key
        assert all_citations()[key] == c  # the registry holds the file's record


def test_malformed_citations_name_file_and_field() -> None:
    bad = '[Doe2020]\nauthors = "J. Doe"\nyear = "2020"\ntitle = "T"\njournal = "J"\n'
    with pytest.raises(DataFileError, match=r"^bad\.toml: Doe2020\.year: expected an integer"):
        load_citations(bad, label="bad.toml")
    with pytest.raises(DataFileError, match=r"bad\.toml: Doe2020\.jounral: unknown field"):
        load_citations(bad.replace("journal", "jounral"), label="bad.toml")
    with pytest.raises(DataFileError, match=r"bad\.toml: Doe2020\.doi: 'x' is not a DOI"):
        load_citations(bad.replace('"2020"', "2020") + 'doi = "x"\n', label="bad.toml")
    with pytest.raises(DataFileError, match=r"bad\.toml: not valid TOML"):
        load_citations("[Doe2020\n", label="bad.toml")


# ----------------------------------------------------------------------------- published arms
def test_published_arms_load_and_validate() -> None:
    from oncotwin.trials.targets import NUMERIC_FIELDS, PUBLISHED, load_published

    arms = load_published()
    assert arms == PUBLISHED and len(arms) == 51  # 36 shared arms + 15 added by issue 12
    for arm_id, a in arms.items():
        assert a.arm_id == arm_id and a.source.strip(), f"{arm_id} has no source"
        assert a.verified in ("yes", "partial")
        assert isinstance(a.n, int) and a.n > 0
        for f in NUMERIC_FIELDS[1:]:
            v = getattr(a, f)
            assert v is None or (isinstance(v, float) and 0 <= v), (arm_id, f)
        assert (a.verified == "yes") == (not a.memory_fields), arm_id


def test_published_arms_are_the_shared_file(shared_file) -> None:
    # the shared file's rows come first, byte for byte; issue 12 appended its arms after them
    shipped = _text("oncotwin.trials", "data/published_arms.csv")
    shared = Path(shared_file("data/trials/calibration_arms.csv")).read_text("utf-8")
    assert shipped.startswith(shared)


def test_malformed_published_arms_name_file_and_field() -> None:
    from oncotwin.trials.targets import load_published

    text = _text("oncotwin.trials", "data/published_arms.csv")
    head, first, rest = text.split("\n", 2)
    bad = "\n".join([head, first.replace(",314,57.6,", ",314,abc,", 1), rest])
    with pytest.raises(
        DataFileError, match=r"^arms\.csv: line 2 \(CM067_NIVO_IPI\)\.orr_pct: expected a number"
    ):
        load_published(bad, label="arms.csv")
    with pytest.raises(DataFileError, match=r"arms\.csv: header: columns"):
        load_published(text.replace("followup_datacut", "followup", 1), label="arms.csv")


# ----------------------------------------------------------------------------- drug catalog
def test_drugs_load_and_validate() -> None:
    from oncotwin.pharmacology.catalog import all_drugs, load_drugs

    drugs = load_drugs()
    assert [d.name for d in drugs] == list(all_drugs())
    for d in drugs:
        for key in d.citations:
            get_citation(key)  # every drug's citations resolve to a record
        for name, p in d.pk.items():
            _check_parameter(p, f"{d.name}.pk.{name}")
        if d.molecular_weight is not None:
            _check_parameter(d.molecular_weight, f"{d.name}.molecular_weight")
            assert d.molecular_weight.unit == "g/mol"


def test_drug_data_has_one_table_per_drug() -> None:
    """The catalog is drugs.toml then each drugs_<group>.toml: every table is one drug, in
    file order, and no drug is defined twice."""
    from oncotwin.pharmacology.catalog import _catalog_files, all_drugs

    names: list[str] = []
    for file in _catalog_files():
        names += list(tomllib.loads(_text("oncotwin.pharmacology", f"data/{file}")))
    assert len(_catalog_files()) >= 5
    assert names == list(all_drugs()) and len(set(names)) == len(names)


_PEMBRO = """
[pembrolizumab]
aliases = ["Keytruda"]
target = "PD-1"
mechanism = "anti-PD-1"
modality = "antibody"
dose_kind = "mass"
routes = ["IV"]
citations = ["Ahamadi2017"]

[pembrolizumab.pk.CL]
value = 0.22
unit = "L/day"
source = "Ahamadi2017"
where = "Table 3"
"""


def test_malformed_drugs_name_file_and_field() -> None:
    from oncotwin.pharmacology.catalog import load_drugs

    assert load_drugs(_PEMBRO, label="d.toml")[0].pk["CL"].value == 0.22
    cases = {
        'unit = "L/day"\n': r"d\.toml: pembrolizumab\.pk\.CL\.unit: missing",
        "value = 0.22": r"d\.toml: pembrolizumab\.pk\.CL\.value: expected a number",
        '"anti-PD-1"': r"d\.toml: pembrolizumab: mechanism 'anti-PD1' not in",
        '["Ahamadi2017"]': r"d\.toml: pembrolizumab\.citations: unknown citation 'Ahamadi201'",
        'source = "Ahamadi2017"': r"d\.toml: pembrolizumab\.pk\.CL: unknown citation 'Ahamad'",
        "routes": r"d\.toml: pembrolizumab\.rutes: unknown field 'rutes'",
    }
    replacements = {
        'unit = "L/day"\n': "",
        "value = 0.22": 'value = "0.22"',
        '"anti-PD-1"': '"anti-PD1"',
        '["Ahamadi2017"]': '["Ahamadi201"]',
        'source = "Ahamadi2017"': 'source = "Ahamad"',
        "routes": "rutes",
    }
    for old, pattern in cases.items():
        with pytest.raises(DataFileError, match=pattern):
            load_drugs(_PEMBRO.replace(old, replacements[old], 1), label="d.toml")


# ----------------------------------------------------------------------------- organs
def test_organ_table_matches_the_three_lists() -> None:
    from oncotwin._organs import (
        COVARIATE_ORGANS,
        METASTATIC_SITES,
        ORGAN_TABLE,
        RECIST_NAMES,
        SITE_NAMES,
        organ,
    )
    from oncotwin.models.metastatic_io import METASTATIC_SITES as IO_METASTATIC
    from oncotwin.models.metastatic_io import SITES
    from oncotwin.population.covariates import ORGANS as COVARIATE
    from oncotwin.trials.recist import ORGANS as RECIST

    assert [o.code for o in ORGAN_TABLE] == list(range(len(ORGAN_TABLE)))
    assert RECIST_NAMES == RECIST
    assert SITE_NAMES == SITES
    assert METASTATIC_SITES == IO_METASTATIC
    assert COVARIATE_ORGANS == COVARIATE
    assert [o.site for o in ORGAN_TABLE if o.nodal] == ["lymph_node"]
    assert organ("skin/soft tissue").site == "skin"


def test_malformed_organs_name_file_and_field() -> None:
    from oncotwin._organs import load_organs

    text = _text("oncotwin", "data/organs.toml")
    with pytest.raises(DataFileError, match=r"^o\.toml: organ\[2\]\.code: 3 is not the row index"):
        load_organs(text.replace("code = 2", "code = 3"), label="o.toml")
    with pytest.raises(DataFileError, match=r"o\.toml: organ\[0\]\.metastatic: expected bool"):
        load_organs(text.replace("metastatic = false", 'metastatic = "no"', 1), label="o.toml")
    with pytest.raises(DataFileError, match=r"o\.toml: organ\.site: duplicate names"):
        load_organs(text.replace('site = "liver"', 'site = "lung"'), label="o.toml")


# ----------------------------------------------------------------------------- covariates
def test_covariate_files_load_and_validate() -> None:
    from oncotwin.population import _cancers as c
    from oncotwin.population.covariates import covariate_data

    assert list(covariate_data()["cancers"]) == list(c.CANCER_TYPES)
    data = tomllib.loads(_text("oncotwin.population", "data/cancers.toml"))
    for unit in data["units"].values():
        _unit_ok(unit)
    assert c.load_assumptions() == c.ASSUMPTIONS
    for name, a in c.ASSUMPTIONS.items():
        assert a.assumption and a.reason and "{" not in a.reason, name
        probs = [*a.site_probability.values(), *(a.pdl1 or ()), *(a.phenotype or ()), *a.ecog]
        probs += [a.her2, a.cd19, a.bcma, a.msi_high or 0.0, a.ldh_median_uln / 10]
        assert all(0.0 <= p <= 1.0 for p in probs), name
        assert list(a.site_probability) == list(c.ORGANS)
    assert set(c._HAEMATOLOGIC) <= set(c.CANCER_TYPES)
    for name, p in c.load_covariate_parameters().items():
        _check_parameter(p, name)
    lesions = tomllib.loads(_text("oncotwin.population", "data/lesions.toml"))
    for unit in lesions["units"].values():
        _unit_ok(unit)
    assert list(c.load_lesions()) == list(c.ORGANS)


def test_malformed_covariate_files_name_file_and_field() -> None:
    from oncotwin.population import _cancers as c

    data = tomllib.loads(_text("oncotwin.population", "data/cancers.toml"))
    data["assumptions"]["melanoma"]["site_probability"]["lungs"] = 0.4
    with pytest.raises(
        DataFileError,
        match=r"^c\.toml: assumptions\.melanoma\.site_probability\.lungs: unknown organ 'lungs'",
    ):
        c.load_assumptions(data, label="c.toml")
    data = tomllib.loads(_text("oncotwin.population", "data/cancers.toml"))
    data["assumptions"]["nsclc"]["ecog"] = [0.5, 0.5]
    with pytest.raises(DataFileError, match=r"c\.toml: assumptions\.nsclc\.ecog: expected 3"):
        c.load_assumptions(data, label="c.toml")
    data["assumptions"]["nsclc"]["ecog"] = [0.5, 0.4, 0.0]
    with pytest.raises(DataFileError, match=r"c\.toml: assumptions\.nsclc: ECOG frequencies"):
        c.load_assumptions(data, label="c.toml")
    bad = {"rho_burden_nlr": {"value": 0.25, "unit": "1", "assumption": True}}
    with pytest.raises(DataFileError, match=r"p\.toml: rho_burden_nlr: .*reason"):
        c.load_covariate_parameters(bad, label="p.toml")
    lesions = tomllib.loads(_text("oncotwin.population", "data/lesions.toml"))
    lesions["lesions"]["liver"]["largest_median_mm"] = "30"
    with pytest.raises(
        DataFileError, match=r"l\.toml: lesions\.liver\.largest_median_mm: expected a number"
    ):
        c.load_lesions(lesions, label="l.toml")
