"""Trial spec files: parsing, error messages with file and line, allocation, examples, targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.regimens import parse_regimen
from oncotwin.trials.spec import (
    SpecError,
    TrialSpec,
    example_path,
    list_examples,
    load_spec,
    parse_scans,
    parse_spec,
)
from oncotwin.trials.targets import NUMERIC_FIELDS, PUBLISHED, arms_of, published

BASE = """\
[trial]
name = "demo"
cancer = "melanoma"
seed = 7
patients = 12
follow_up_months = 12
reference_arm = "ipilimumab"

[schedule]
scans = "q6w to week 12, then q12w"

[[arm]]
name = "nivolumab"
regimen = "nivolumab 3 mg/kg IV q2w until progression"
ratio = 2

[[arm]]
name = "ipilimumab"
regimen = "ipilimumab 3 mg/kg IV q3w x4"
ratio = 1
"""


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="demo.toml")
    return info.value


# ------------------------------------------------------------------------------------------
# a valid spec
# ------------------------------------------------------------------------------------------
def test_parse_valid_spec():
    spec = parse_spec(BASE, source="demo.toml")
    assert spec.arm_names == ("nivolumab", "ipilimumab")
    assert spec.reference == "ipilimumab"
    assert spec.arms[0].ratio == 2
    assert spec.schedule.describe() == "q6w to week 12, then q12w"
    assert spec.text == BASE and spec.source == "demo.toml"
    assert [str(r) for r in spec.arms[1].regimens()] == ["ipilimumab 3 mg/kg IV q3w x4"]
    with pytest.raises(Exception, match="frozen"):
        spec.trial.seed = 3  # type: ignore[misc]


def test_hash_ignores_comments_and_key_order_but_not_values():
    spec = parse_spec(BASE)
    reordered = BASE.replace(
        'name = "demo"\ncancer = "melanoma"', 'cancer = "melanoma"\nname = "demo"'
    )
    assert parse_spec("# a comment\n" + reordered).hash() == spec.hash()
    assert parse_spec(BASE.replace("seed = 7", "seed = 8")).hash() != spec.hash()
    assert len(spec.hash()) == 64


def test_scan_days_segments_and_horizon():
    spec = parse_spec(BASE)
    # q6w to week 12 -> 42, 84; then q12w from 84 -> 168, 252, 336 (<= 12 months = 365.25 d)
    assert spec.scan_days().tolist() == [0.0, 42.0, 84.0, 168.0, 252.0, 336.0]
    assert spec.scan_days(100.0).tolist() == [0.0, 42.0, 84.0]
    table = BASE.replace(
        'scans = "q6w to week 12, then q12w"',
        "scans = [{ every_weeks = 6, until_week = 12 }, { every_weeks = 12 }]",
    )
    assert parse_spec(table).schedule == spec.schedule
    assert parse_spec(table).hash() == spec.hash()


def test_scan_string_grammar():
    assert [str(s) for s in parse_scans("every 9 weeks")] == ["q9w"]
    with pytest.raises(ValueError, match="runs to the end of follow-up"):
        parse_spec(BASE.replace('"q6w to week 12, then q12w"', '"q6w, then q12w"'))
    err = _error(BASE.replace('"q6w to week 12, then q12w"', '"fortnightly"'))
    assert "cannot read scan schedule part 'fortnightly'" in str(err)
    assert str(err).startswith(f"demo.toml:{_line_of(BASE, 'scans =')}: [schedule] scans")


def test_block_randomisation_depends_only_on_seed_and_patient():
    spec = parse_spec(BASE)
    ids = np.arange(3000)
    arms = spec.arm_of(ids)
    # every block of 3 holds the 2:1 ratio exactly
    assert (np.bincount(arms.reshape(-1, 3)[:, :].ravel() == 0) > 0).all()
    assert (arms.reshape(-1, 3) == 0).sum(axis=1).tolist() == [2] * 1000
    # chunks and workers agree: any subset, in any order, gives the same arms
    rng = np.random.default_rng(0)
    sub = rng.permutation(ids)[:500]
    np.testing.assert_array_equal(spec.arm_of(sub), arms[sub])
    np.testing.assert_array_equal(spec.arm_of(ids[1000:1500]), arms[1000:1500])
    # the order within blocks is random (not always the same pattern) and depends on the seed
    assert len({tuple(b) for b in arms.reshape(-1, 3)}) == 3
    other = parse_spec(BASE.replace("seed = 7", "seed = 8")).arm_of(ids)
    assert (other != arms).any()
    assert spec.allocation(12) == {"nivolumab": 8, "ipilimumab": 4}
    assert spec.allocation() == spec.allocation(12)
    with pytest.raises(SpecError, match="patient_ids: -1 is negative"):
        spec.arm_of([-1, 0])
    with pytest.raises(SpecError, match="n_total: -3 patients"):
        spec.allocation(-3)


# ------------------------------------------------------------------------------------------
# one clear error per bad field, with file and line
# ------------------------------------------------------------------------------------------
def test_unknown_drug_has_did_you_mean_and_line():
    text = BASE.replace("ipilimumab 3 mg/kg IV", "ipilimumb 3 mg/kg IV")
    err = _error(text)
    line = _line_of(text, "ipilimumb")
    assert str(err).startswith(f"demo.toml:{line}: [[arm]] 2 'ipilimumab' regimen = ")
    assert "unknown drug 'ipilimumb'; did you mean 'ipilimumab'?" in str(err)
    assert err.problems[0][0] == line and isinstance(err, OncotwinError)


def test_bad_dose_unit():
    text = BASE.replace("nivolumab 3 mg/kg", "nivolumab 3 mL/kg")
    err = _error(text)
    assert f"demo.toml:{_line_of(text, 'mL/kg')}:" in str(err)
    assert "is not a dose unit" in str(err)


def test_missing_arm():
    err = _error(BASE.split("[[arm]]")[0].replace('reference_arm = "ipilimumab"\n', ""))
    assert "no [[arm]] table: a trial needs at least one arm; add [[arm]] tables" in str(err)


def test_reference_arm_not_among_arms():
    text = BASE.replace('reference_arm = "ipilimumab"', 'reference_arm = "ipilimumb"')
    err = _error(text)
    assert str(err).startswith(f"demo.toml:{_line_of(text, 'reference_arm')}: [trial] ")
    assert "unknown arm 'ipilimumb'; did you mean 'ipilimumab'?" in str(err)
    assert "reference_arm must be the name of one of the [[arm]] tables" in str(err)


def test_negative_patients():
    err = _error(BASE.replace("patients = 12", "patients = -5"))
    assert str(err) == (
        f"demo.toml:{_line_of(BASE, 'patients')}: [trial] patients = -5: patients must be > 0; "
        "give the total number of patients, e.g. patients = 945"
    )


def test_toml_syntax_error_gives_line():
    text = BASE.replace("seed = 7", "seed = = 7")
    err = _error(text)
    line = _line_of(text, "seed = = 7")
    assert str(err).startswith(f"demo.toml:{line}: TOML syntax error: Invalid value")
    assert "seed = = 7" in str(err) and "fix the TOML syntax" in str(err)


def test_unknown_key_typo_has_did_you_mean():
    text = BASE.replace("seed = 7", "seeed = 7")
    err = _error(text)  # the 'missing seed' error is folded into the typo
    assert str(err).startswith(f"demo.toml:{_line_of(text, 'seeed')}: [trial] seeed = 7: ")
    assert "unknown key 'seeed'; did you mean 'seed'?" in str(err)
    assert len(err.problems) == 1
    err = _error(BASE.replace("ratio = 1\n", "raito = 1\n"))
    assert "[[arm]] 2 'ipilimumab' raito = 1: unknown key 'raito'; did you mean 'ratio'?" in str(
        err
    )


def test_duplicate_arm_names():
    text = BASE.replace('name = "ipilimumab"', 'name = "nivolumab"').replace(
        'reference_arm = "ipilimumab"', 'reference_arm = "nivolumab"'
    )
    err = _error(text)
    line = _line_of(text, 'name = "nivolumab"', 2)
    assert str(err).startswith(f"demo.toml:{line}: ")
    assert "duplicate arm name 'nivolumab' (arms 1 and 2); give each [[arm]] a different name" in (
        str(err)
    )


@pytest.mark.parametrize(
    ("ratio", "message"),
    [
        ("0", "ratio = 0: ratio must be >= 1; give each arm a whole-number share >= 1"),
        ("-2", "ratio = -2: ratio must be >= 1"),
        ("1.5", "ratio = 1.5: ratio must be a whole number; give each arm a whole-number share"),
    ],
)
def test_ratio_must_be_positive_whole(ratio, message):
    text = BASE.replace("ratio = 2", f"ratio = {ratio}")
    err = _error(text)
    assert str(err).startswith(f"demo.toml:{_line_of(text, f'ratio = {ratio}')}: [[arm]] 1 ")
    assert message in str(err)


def test_several_bad_fields_one_line_each():
    text = BASE.replace("patients = 12", "patients = 0").replace("ratio = 1\n", "ratio = 0\n")
    err = _error(text)
    lines = str(err).splitlines()
    assert lines[0] == "2 problems in demo.toml:"
    assert lines[1].startswith(f"demo.toml:{_line_of(text, 'patients')}: [trial] patients = 0")
    assert lines[2].startswith(f"demo.toml:{_line_of(text, 'ratio = 0')}: [[arm]] 2")


def test_missing_key_points_at_its_table():
    err = _error(BASE.replace("follow_up_months = 12\n", ""))
    assert str(err) == (
        "demo.toml:1: [trial] follow_up_months: missing required key 'follow_up_months'; "
        "add follow_up_months = 60"
    )


def test_published_link_and_crossover_are_checked():
    err = _error(BASE + 'published = { arm_id = "CM067_IP" }\n')
    assert "unknown published arm_id 'CM067_IP'; did you mean 'CM067_IPI'" in str(err)
    err = _error(BASE + 'crossover = { to_arm = "nivolumb" }\n')
    assert "crossover to_arm: unknown arm 'nivolumb'; did you mean 'nivolumab'?" in str(err)
    err = _error(BASE + 'crossover = { to_arm = "ipilimumab" }\n')
    assert "arm 'ipilimumab' crosses over to itself" in str(err)
    err = _error(BASE + "crossover = { fraction = 0.5 }\n")
    assert "give exactly one of to_arm (another arm's name) or regimen" in str(err)
    ok = parse_spec(BASE + 'crossover = { regimen = "nivolumab 240 mg IV q2w", fraction = 0.5 }\n')
    assert ok.arms[1].crossover is not None and ok.arms[1].crossover.fraction == 0.5


def test_concurrent_regimens_and_placebo():
    text = BASE.replace(
        'regimen = "ipilimumab 3 mg/kg IV q3w x4"',
        'regimen = ["ipilimumab 3 mg/kg IV q3w x4", "nivolumab 1 mg/kg IV q3w x4"]',
    )
    spec = parse_spec(text)
    assert len(spec.arms[1].regimens()) == 2
    err = _error(text.replace("nivolumab 1 mg/kg IV q3w x4", "nivolumab 1 mg/kg IV q3w x0"))
    assert "regimen[1] = " in str(err) and "regimen 2 of 2: bad regimen: count x0" in str(err)
    spec = parse_spec(BASE.replace('"ipilimumab 3 mg/kg IV q3w x4"', '"placebo"'))
    assert spec.arms[1].is_placebo and spec.arms[1].regimens() == ()
    err = _error(BASE.replace('"ipilimumab 3 mg/kg IV q3w x4"', '["placebo", "placebo"]'))
    assert '"placebo" stands alone' in str(err)
    err = _error(BASE.replace('"ipilimumab 3 mg/kg IV q3w x4"', "[]"))
    assert "no regimen given" in str(err)


def test_hooks_for_cancer_types_and_eligibility_keys():
    with pytest.raises(SpecError, match="unknown cancer type 'melanoma'; did you mean 'melanomas'"):
        parse_spec(BASE, cancer_types=["melanomas", "nsclc"])
    text = BASE.replace(
        "[schedule]", "[population]\neligibility = { pdl1_tps_mn = 50 }\n\n[schedule]"
    )
    with pytest.raises(SpecError, match="unknown eligibility key 'pdl1_tps_mn'; did you mean"):
        parse_spec(text, eligibility_keys=["pdl1_tps_min"])
    # strict specs (issue 14): a misspelt key is refused even without the hook
    with pytest.raises(SpecError, match="unknown eligibility key 'pdl1_tps_mn'; did you mean"):
        parse_spec(text)


def test_load_spec_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"spec file: '.*nope.toml' not found; give the path"):
        load_spec(tmp_path / "nope.toml")
    path = tmp_path / "t.toml"
    path.write_text(BASE.replace("seed = 7", "seed = -1"))
    with pytest.raises(SpecError, match=rf"{path}:4: \[trial\] seed = -1: seed must be >= 0"):
        load_spec(path)


# ------------------------------------------------------------------------------------------
# shipped examples and published targets
# ------------------------------------------------------------------------------------------
EXPECTED = {
    "checkmate067": ["CM067_NIVO_IPI", "CM067_NIVO", "CM067_IPI"],
    "keynote024": ["KN024_PEMBRO", "KN024_CHEMO"],
    "keynote189": ["KN189_PEMBRO_CHEMO", "KN189_PLACEBO_CHEMO"],
    "checkmate017": ["CM017_NIVO", "CM017_DOCE"],
    "oak": ["OAK_ATEZO", "OAK_DOCE"],
    "checkmate214": ["CM214_NIVO_IPI", "CM214_SUN"],
    "zuma1": ["ZUMA1_AXICEL"],
    "juliet": ["JULIET_TISACEL"],
    "eliana": ["ELIANA_TISACEL"],
    "optim": ["OPTIM_TVEC", "OPTIM_GMCSF"],
    "atkins1999_il2": ["ATKINS1999_HDIL2_MEL"],
    "slamon2001": ["SLAMON_CHEMO_TRAS", "SLAMON_CHEMO"],
    "mclaughlin1998": ["MCLAUGHLIN1998_RITUX"],
    "impact": ["IMPACT_SIPT", "IMPACT_PLACEBO"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_specs_load_and_link_published_arms(name):
    spec = load_spec(example_path(name))
    assert isinstance(spec, TrialSpec)
    assert [a.published.arm_id for a in spec.arms if a.published] == EXPECTED[name]
    for arm in spec.arms:
        for text in arm.regimen:
            if not arm.is_placebo:
                parse_regimen(text)
        if arm.crossover is not None and arm.crossover.regimen is not None:
            parse_regimen(arm.crossover.regimen)
    # the simulated trial size is the published one
    n_published = sum(PUBLISHED[a].n for a in EXPECTED[name])
    assert spec.trial.patients == n_published
    assert spec.scan_days()[0] == 0.0 and np.all(np.diff(spec.scan_days()) > 0)


def test_list_examples_and_example_path():
    names = dict(list_examples())
    assert set(EXPECTED) <= set(names)
    assert names["checkmate067"] == "CheckMate 067"
    assert example_path("CheckMate067.toml") == example_path("checkmate067")
    with pytest.raises(UnknownNameError, match="unknown example trial 'keynote24'; did you mean"):
        example_path("keynote24")


def test_published_lookups():
    assert published("CM067_NIVO_IPI").orr_pct == 57.6
    assert math.isnan(published("OPTIM_TVEC").value("median_pfs_mo"))
    assert not published("CM067_NIVO_IPI").is_confirmed("cr_pct")
    assert published("CM067_NIVO_IPI").is_confirmed("orr_pct")
    assert not published("SLAMON_CHEMO_TRAS").is_confirmed("regimen")
    assert [a.arm_id for a in arms_of("OAK")] == ["OAK_ATEZO", "OAK_DOCE"]
    with pytest.raises(UnknownNameError, match="unknown published arm_id 'CM067'"):
        published("CM067")
    with pytest.raises(UnknownNameError, match="unknown endpoint 'orr'; did you mean 'orr_pct'"):
        published("OAK_ATEZO").value("orr")
    with pytest.raises(UnknownNameError, match="unknown field 'cr'"):
        published("OAK_ATEZO").is_confirmed("cr")
    with pytest.raises(UnknownNameError, match="unknown trial 'KEYNOTE-24'; did you mean"):
        arms_of("KEYNOTE-24")


def test_published_values_equal_the_shared_csv(shared_file):
    """Every shipped value equals ``shared/data/trials/calibration_arms.csv`` (exact)."""
    csv = pd.read_csv(
        shared_file("data/trials/calibration_arms.csv"), dtype=str, keep_default_na=False
    )
    assert set(csv["arm_id"]) <= set(PUBLISHED)  # plus the arms issue 12 appended
    for row in csv.to_dict("records"):
        arm = PUBLISHED[row["arm_id"]]
        for column, text in row.items():
            field = "followup" if column == "followup_datacut" else column
            value = getattr(arm, field)
            if column in NUMERIC_FIELDS:
                expected = None if text == "" else (int(text) if column == "n" else float(text))
                assert value == expected, (row["arm_id"], column)
            elif column == "memory_fields":
                expected = tuple(x.strip() for x in text.split(";")) if text else ()
                assert value == expected, (row["arm_id"], column)
            else:
                assert value == text, (row["arm_id"], column)
