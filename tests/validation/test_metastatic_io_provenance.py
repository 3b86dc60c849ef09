"""Provenance of every number of ``metastatic_io`` (issue 11 item 8, issue 13 item 5).

Source: identity checks on the shipped data files (no paper values). Every number that acts as a
parameter is a record (value, unit, source or assumption with a reason, basis and plausible
range): the parameter sets (``metastatic_io/default`` and the cancer sets), the organ factors
(``oncotwin/data/organs.toml``) and the covariate mapping
(``oncotwin/data/metastatic_io_mapping.toml``). Calibration quantities (``calibrate = true``)
are few enough for the published arms to inform them (CALIBRATION.md section 2: ~25-40 free
population quantities), and no reason is boilerplate shared by many parameters.
"""

from __future__ import annotations

import collections
import inspect

import pytest

from oncotwin import _organs
from oncotwin.errors import ParameterError
from oncotwin.models import metastatic_io as mio
from oncotwin.models import metastatic_io_cancers as cancers
from oncotwin.parameters import Parameter, ParameterSet

SETS = ["default", *cancers._CANCERS]

#: Parameters owned by work still in progress (antibody PK placeholders, PK random draws)
#: whose reasons are still shared by more than two parameters; the list may only shrink.
BOILERPLATE_PENDING = frozenset(
    {
        *(f"{c}_{k}" for c in ("aPD1", "aPDL1", "aCTLA4", "mAb") for k in ("CL", "V1", "Q", "V2")),
        *(f"{c}_EC50" for c in ("aPD1", "aPDL1", "aCTLA4", "mAb")),
        "pk_eta_CL",
        "pk_eta_V1",
        "pk_eta_Emax",
    }
)


def _own_records() -> dict[tuple[str, str], Parameter]:
    """(set, name) -> record of every record a metastatic_io set file writes itself."""
    out = {}
    for name in SETS:
        pset = ParameterSet.load(f"metastatic_io/{name}", validate=False)
        for key in pset.own if name != "default" else pset:
            out[(name, key)] = pset[key]
    return out


def _check(rec: Parameter, where: str) -> None:
    """An assumption states a basis and a plausible range that contains its value."""
    if rec.assumption:
        assert rec.basis, f"{where}: an assumption without basis"
        if rec.basis != "untreated default":
            assert rec.prior_range is not None, f"{where}: no range"
    if rec.prior_range is not None:
        lo, hi = rec.prior_range
        assert lo <= rec.value <= hi, f"{where}: {rec.value} outside [{lo}, {hi}]"


@pytest.mark.parametrize("factor", sorted(_organs.FACTORS))
def test_organ_factor_records_are_valid_and_feed_the_model(factor: str) -> None:
    """Each organ factor is a valid record with a basis and a range containing its value,
    and the model's tables are exactly these values (same sites, same order)."""
    records = _organs.organ_factors()[factor]
    for site, rec in records.items():
        _check(rec, f"organs.toml factor.{factor}.{site}")
        assert rec.assumption and len(rec.reason) > 40, site
    table = {
        "penetration": mio._PENETRATION,
        "infiltration": mio._INFILTRATION,
        "seeding": mio._SEEDING,
        "lethality": mio._LETHALITY,
    }[factor]
    assert list(table.items()) == [(s, r.value) for s, r in records.items()]
    sites = mio.METASTATIC_SITES if factor == "seeding" else mio.SITES
    assert tuple(records) == sites


def test_seeding_shares_sum_to_one() -> None:
    assert sum(mio._SEEDING.values()) == pytest.approx(1.0)


def test_organ_factor_file_errors_name_the_field() -> None:
    """A factor missing a site, or a record without a range, is refused with its field."""
    text = _organs.read_package_text("oncotwin", f"data/{_organs.DATA_FILE}")[0]
    start = text.index("[factor.lethality.skin]")
    cut = text[:start]
    with pytest.raises(Exception, match=r"factor\.lethality\.skin: missing"):
        _organs.load_organ_factors(cut, label="t.toml")
    no_range = text.replace('range = [0.1, 1.0]\ndescription = "weight', 'description = "weight')
    assert no_range != text
    with pytest.raises(Exception, match=r"factor\.lethality\.skin: no range"):
        _organs.load_organ_factors(no_range, label="t.toml")
    bad = text.replace(
        "[factor.lethality.skin]\nvalue = 0.3", "[factor.lethality.skin]\nvalue = 3.0"
    )
    with pytest.raises(ParameterError, match="outside its plausible range"):
        _organs.load_organ_factors(bad, label="t.toml")


def test_mapping_records_are_valid_and_all_used() -> None:
    """Every constant of the covariate mapping is a valid record with a range containing its
    value, and io_parameters / lesion_table read each one (no orphan record)."""
    source = inspect.getsource(cancers)
    assert len(cancers.MAPPING) >= 20
    for name, rec in cancers.MAPPING.items():
        _check(rec, f"metastatic_io_mapping.toml mapping.{name}")
        assert rec.prior_range is not None, name
        pattern = f'_M["{name}"]'
        if name in ("phenotype_inflamed", "phenotype_excluded", "phenotype_desert"):
            pattern = '_M[f"phenotype_{p}"]'
        assert pattern in source, f"mapping.{name} is not used by metastatic_io_cancers"
    assert cancers.PHENOTYPE_INFILTRATION == {"inflamed": 1.0, "excluded": 0.3, "desert": 0.05}
    assert cancers.LESION_CELLS_PER_MM3 == 1e-3


def test_every_assumption_of_the_cancer_sets_states_basis_and_range() -> None:
    """Every cancer set (default.toml's records are judged by the model harness,
    tests/validation/test_model_harness.py): each assumption has a basis and (unless an
    untreated default at 0) a range containing its value."""
    for (pset, name), rec in _own_records().items():
        if pset == "default":
            continue
        _check(rec, f"metastatic_io/{pset}: {name}")
        if rec.basis == "untreated default":
            assert rec.value == 0, f"{pset}: {name}"


def test_calibration_quantities_are_few_and_bounded() -> None:
    """calibrate = true marks the candidate quantities of calibration: each has a basis and a
    non-degenerate range. The free ones are those the calibration arms can inform (the
    hierarchy of oncotwin.calibration: global biology, class potencies, cancer offsets, the
    toxicity block); their number is within ~20-45 (CALIBRATION.md sections 1-2)."""
    from oncotwin.calibration.hierarchy import Hierarchy

    calibrated = {k: r for k, r in _own_records().items() if r.calibrate}
    for (pset, name), rec in calibrated.items():
        lo, hi = rec.prior_range
        assert lo < hi, f"{pset}: {name} has a degenerate range"
        assert rec.basis or rec.source is not None, f"{pset}: {name}"
    free = Hierarchy.build().free
    assert 20 <= len(free) <= 45, sorted(q.name for q in free)
    assert {q.parameter for q in free} <= {name for _, name in calibrated}


def test_no_reason_is_boilerplate() -> None:
    """No reason is shared verbatim by more than two parameters (the 77 copies of one line
    are gone), across the sets, the organ factors and the mapping."""
    by_reason: dict[str, set[str]] = collections.defaultdict(set)
    for (_, name), rec in _own_records().items():
        if rec.reason and name not in BOILERPLATE_PENDING:
            by_reason[rec.reason].add(name)
    for factor, records in _organs.organ_factors().items():
        for site, rec in records.items():
            by_reason[rec.reason].add(f"{factor}.{site}")
    for name, rec in cancers.MAPPING.items():
        by_reason[rec.reason].add(f"mapping.{name}")
    shared = {r[:60]: sorted(n) for r, n in by_reason.items() if r and len(n) > 2}
    assert not shared, shared
