"""Named combinations (FOLFOX, R-CHOP, ...) as regimen aliases."""

import numpy as np
import pytest

from oncotwin.citations import all_citations
from oncotwin.errors import RegimenError, UnknownNameError
from oncotwin.regimens import Regimen, all_combinations, get_combination, parse_regimen

NAMES = ["FOLFOX", "FOLFIRI", "CAPOX", "R-CHOP", "R-ICE", "EXTREME", "gem-cis", "carbo-pem",
         "carbo-pac"]  # fmt: skip


assert Regimen  # eval(repr(r)) needs the name


def test_every_issue_combination_exists_with_a_source():
    combos = all_combinations()
    assert set(NAMES) <= set(combos)
    for c in combos.values():
        assert c.source in all_citations() and c.where
        assert c.cycle_days in (14, 21, 28) and c.items


@pytest.mark.parametrize("name", NAMES)
def test_each_combination_expands_and_pastes_back(name):
    r = parse_regimen(f"{name} x2")
    assert eval(repr(r)) == r and parse_regimen(str(r)) == r
    s = r.schedule(100)
    c = get_combination(name)
    assert s.time.max() < 2 * c.cycle_days  # two cycles of the default length
    assert set(s.drug.tolist()) == {a.drug for adms, _, _ in c.groups() for a in adms}


def test_folfox_expands_to_its_drugs_and_days():
    """mFOLFOX6: oxaliplatin 85, leucovorin 400, 5-FU 400 bolus + 2400 over 46 h, q2w."""
    r = parse_regimen("FOLFOX q2w until progression")
    assert str(r) == (
        "oxaliplatin 85 mg/m2 IV over 2 h + leucovorin 400 mg/m2 IV over 2 h + fluorouracil "
        "400 mg/m2 IV + fluorouracil 2400 mg/m2 IV over 46 h q2w until progression"
    )
    s = r.schedule(30)
    assert s.time.tolist() == [0.0] * 4 + [14.0] * 4 + [28.0] * 4
    assert s.drug.tolist()[:4] == ["oxaliplatin", "leucovorin", "fluorouracil", "fluorouracil"]
    assert s.amount.tolist()[:4] == [85.0, 400.0, 400.0, 2400.0]
    assert s.duration.tolist()[:4] == pytest.approx([2 / 24, 2 / 24, 0.0, 46 / 24])
    assert s.until_progression.all()
    assert parse_regimen("mFOLFOX6 q2w until progression") == r


def test_r_chop_prednisone_days():
    s = parse_regimen("R-CHOP q3w x6").schedule(200)
    assert s.for_drug("prednisone").time.tolist() == [
        21.0 * c + d for c in range(6) for d in range(5)
    ]
    assert s.for_drug("prednisone").amount.tolist() == [100.0] * 30
    for drug in ("rituximab", "cyclophosphamide", "doxorubicin", "vincristine"):
        assert s.for_drug(drug).time.tolist() == [21.0 * c for c in range(6)], drug


def test_r_ice_carboplatin_on_day_2_by_auc():
    s = parse_regimen("R-ICE q2w x3").schedule(60)
    assert s.for_drug("etoposide").time.tolist() == [0, 1, 2, 14, 15, 16, 28, 29, 30]
    carbo = s.for_drug("carboplatin")
    assert carbo.time.tolist() == [1.0, 15.0, 29.0] and set(carbo.basis) == {"auc"}
    ifo = s.for_drug("ifosfamide")
    assert ifo.duration.tolist() == [1.0] * 3 and ifo.amount.tolist() == [5000.0] * 3


def test_capox_twice_daily_capecitabine():
    s = parse_regimen("CAPOX q3w x1").schedule(30)
    assert len(s.for_drug("capecitabine")) == 28
    assert s.for_drug("oxaliplatin").time.tolist() == [0.0]


def test_extreme_continuous_fluorouracil_and_weekly_cetuximab():
    r = parse_regimen("EXTREME q3w x6, then cetuximab 250 mg/m2 IV weekly until progression")
    s = r.schedule(140)
    fu = s.for_drug("fluorouracil")
    assert fu.time.tolist() == [21.0 * c for c in range(6)]
    assert fu.duration.tolist() == [4.0] * 6 and fu.amount.tolist() == [4000.0] * 6
    cx = s.for_drug("cetuximab")
    assert cx.time.tolist() == [7.0 * k for k in range(21)]  # weekly, then maintenance
    assert cx.amount.tolist() == [400.0] + [250.0] * 20  # Vermorken 2008: 400 then 250


def test_combination_with_other_drugs_and_then():
    r = parse_regimen(
        "pembrolizumab 200 mg IV q3w + carbo-pem q3w x4, then pembrolizumab 200 mg IV q3w + "
        "pemetrexed 500 mg/m2 IV q3w until progression"
    )
    assert eval(repr(r)) == r
    s = r.schedule(120)
    assert s.for_drug("carboplatin").time.tolist() == [0, 21, 42, 63]
    assert s.for_drug("pembrolizumab").time.tolist() == [0, 21, 42, 63, 84, 105]
    assert s.for_drug("pemetrexed").phase.tolist() == [0] * 4 + [1] * 2
    # an unscheduled drug before a combination joins its day-1 group
    j = parse_regimen("pembrolizumab 200 mg IV + carbo-pem q3w x4")
    assert str(j) == "pembrolizumab 200 mg + pemetrexed 500 mg/m2 + carboplatin AUC 5 IV q3w x4"


def test_default_cycle_length_and_amounts():
    s = parse_regimen("gem-cis x2").schedule(60)
    assert s.for_drug("gemcitabine").time.tolist() == [0, 7, 21, 28]
    assert s.for_drug("cisplatin").time.tolist() == [0, 21]
    a = (
        parse_regimen("carbo-pac x1")
        .schedule(5)
        .amounts(np.array([70.0]), np.array([2.0]), np.array([100.0]))
    )
    assert a.tolist() == [[400.0, 750.0]]  # paclitaxel 200 x 2 m2, carboplatin 6 x 125


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("FOLFOXX q2w", r"did you mean 'FOLFOX'\?"),
        ("R-CHOPP q3w x6", r"did you mean 'R-CHOP'\?"),
        ("FOLFOX 85 mg/m2 q2w", r"FOLFOX is a named combination: its drugs come with their doses"),
        ("FOLFOX IV q2w", r"its drugs come with their routes"),
        ("FOLFOX d1-3 q2w", r"takes a cycle length, a number of cycles and a start only"),
        ("R-CHOP q3d x6", r"R-CHOP: days: d5 falls after the end of a 3-day cycle"),
        ("FOLFOX + FOLFIRI q2w", r"FOLFOX and FOLFIRI share one schedule"),
    ],
)
def test_errors(text, pattern):
    with pytest.raises(RegimenError, match=pattern) as info:
        parse_regimen(text)
    assert "^" in str(info.value)


def test_unknown_combination_lookup():
    with pytest.raises(UnknownNameError, match=r"did you mean 'FOLFIRI'\?"):
        get_combination("FOLFIRY")


def test_cli_drugs_lists_the_combinations(monkeypatch):
    from typer.testing import CliRunner

    from oncotwin.cli import main
    from oncotwin.cli.main import app

    # the console's width is read once at import (whichever test imported it first)
    monkeypatch.setattr(main.console, "_width", 250)

    out = CliRunner().invoke(app, ["drugs"], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    for name in NAMES:
        assert name in out.output
    assert "Vermorken2008" in out.output and "oxaliplatin 85 mg/m2 IV over 2 h d1" in out.output


def test_capped_doses_in_r_chop_and_r_ice():
    s = parse_regimen("R-CHOP q3w x1").schedule(5).for_drug("vincristine")
    assert s.amounts(np.array([80.0]), np.array([2.0])).tolist() == [[2.0]]  # 2.8 capped
    c = parse_regimen("R-ICE q2w x1").schedule(5).for_drug("carboplatin")
    assert c.max_amount.tolist() == [800.0]
