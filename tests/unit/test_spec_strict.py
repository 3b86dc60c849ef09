"""Strict trial specs (issue 14): every key of every table known or refused with "did you
mean", wrong types named with the expected type, domains checked, files that are not UTF-8
TOML refused in one line; messages short and in the file:line style of SpecError."""

from __future__ import annotations

import pytest

from oncotwin.trials._plan import DESCRIPTIVE_CRITERIA as PLAN_DESCRIPTIVE
from oncotwin.trials._plan import eligibility_from_spec
from oncotwin.trials._spec_population import DESCRIPTIVE_CRITERIA, eligibility_vocabulary
from oncotwin.trials.spec import (
    _MINIMAL,
    SpecError,
    example_path,
    list_examples,
    load_spec,
    parse_spec,
)


def _population(line: str) -> str:
    return _MINIMAL.replace("[schedule]", f"[population]\n{line}\n\n[schedule]")


def _refused(text: str | bytes, match: str) -> str:
    with pytest.raises(SpecError, match=match) as info:
        parse_spec(text)
    msg = str(info.value)
    assert len(msg.splitlines()) <= 6, msg  # one line of error, a few of context
    return msg


# ------------------------------------------------------------------------------------------
# unknown keys, at every level
# ------------------------------------------------------------------------------------------
def test_misspelt_eligibility_key_is_refused_not_ignored():
    """The issue's worst case: pdl1_tps_minn used to be ignored and the trial ran on every
    patient."""
    _refused(
        _population("eligibility = { pdl1_tps_minn = 50 }"),
        r"^<string>:9: \[population\] eligibility pdl1_tps_minn = 50: unknown eligibility key "
        r"'pdl1_tps_minn'; did you mean 'pdl1_tps_min'\?; fix the spelling or remove the key",
    )


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("seed = 1", "seeed = 1", r"\[trial\] seeed = 1: unknown key 'seeed'; did you mean 'seed'"),
        (
            "[schedule]",
            "[population]\neligibilty = {}\n[schedule]",
            r"\[population\] eligibilty: unknown key 'eligibilty'; did you mean 'eligibility'",
        ),
        (
            'scans = "q8w"',
            'scans = "q8w"\nconfirm_weeks = 4',
            r"\[schedule\] confirm_weeks = 4: unknown key 'confirm_weeks'; did you mean "
            r"'confirm_response_weeks'",
        ),
        (
            "[schedule]",
            "[treatment]\nmax_duration = 24\n[schedule]",
            r"\[treatment\] max_duration = 24: unknown key 'max_duration'; did you mean "
            r"'max_duration_months'",
        ),
        (
            'scans = "q8w"',
            "scans = [{ every_week = 8 }]",
            r"unknown key 'every_week'; did you mean 'every_weeks'",
        ),
        (
            'regimen = "nivolumab 240 mg IV q2w"',
            'regimen = "nivolumab 240 mg IV q2w"\nraito = 2',
            r"\[\[arm\]\] 1 'nivolumab' raito = 2: unknown key 'raito'; did you mean 'ratio'",
        ),
        (
            'regimen = "nivolumab 240 mg IV q2w"',
            'regimen = "nivolumab 240 mg IV q2w"\npublished = { armid = "CM067_NIVO" }',
            r"published armid = \"CM067_NIVO\": unknown key 'armid'; did you mean 'arm_id'",
        ),
        (
            'regimen = "nivolumab 240 mg IV q2w"',
            'regimen = "nivolumab 240 mg IV q2w"\ncrossover = { regimen = "nivolumab 240 mg IV '
            'q2w", fractoin = 0.5 }',
            r"crossover fractoin = 0.5: unknown key 'fractoin'; did you mean 'fraction'",
        ),
    ],
)
def test_unknown_keys_refused_at_every_level(old, new, match):
    assert old in _MINIMAL
    _refused(_MINIMAL.replace(old, new), match)


def test_baseline_keys_must_read_as_targets():
    _refused(
        _population('baseline = { "age yr" = 60 }'),
        r"\[population\] baseline age yr = 60: cannot read baseline target 'age yr'; write a "
        r"column, a comparison",
    )
    spec = parse_spec(_population('baseline = { age_yr = 61, "liver mets" = 0.3 }'))
    assert spec.population.baseline == {"age_yr": 61, "liver mets": 0.3}


def test_the_vocabulary_lives_next_to_the_spec_models():
    assert PLAN_DESCRIPTIVE is DESCRIPTIVE_CRITERIA
    vocab = eligibility_vocabulary()
    assert {"pdl1_tps_min", "no_active_brain_mets", "histology", "prior_systemic_therapy"} <= set(
        vocab
    )


def test_every_shipped_example_loads_and_keeps_its_criteria():
    """prior_systemic_therapy (first-line trials: CheckMate 067/214, KEYNOTE-024/189) is a
    recorded-only descriptive criterion, not a typo."""
    names = [name for name, _ in list_examples()]
    shipped = {p.stem for p in example_path(names[0]).parent.glob("*.toml")}
    assert set(names) == shipped and len(names) >= 14
    for name in names:
        spec = load_spec(example_path(name))
        applied, recorded = eligibility_from_spec(spec)
        assert set(applied) | set(recorded) or not spec.population.eligibility
        assert set(recorded) <= DESCRIPTIVE_CRITERIA, (name, recorded)


def test_an_alias_and_its_field_together_are_refused():
    _refused(
        _population("eligibility = { age_min = 18, age_min_yr = 18 }"),
        r"'age_min' is given twice \(as two spellings\); keep one",
    )


# ------------------------------------------------------------------------------------------
# types and domains
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "match"),
    [
        (
            'eligibility = { pdl1_tps_min = "50" }',
            r"eligibility pdl1_tps_min = \"50\": pdl1_tps_min must be a number, not a string",
        ),
        (
            "eligibility = { no_brain_mets = 1 }",
            r"no_brain_mets = 1: no_brain_mets must be true or false, not a whole number",
        ),
        (
            "eligibility = { ecog_max = 1.5 }",
            r"ecog_max = 1.5: ecog_max must be a whole number, e.g. ecog_max = 1",
        ),
        (
            "eligibility = { histology = [1, 2] }",
            r"histology = \[1, 2\]: histology must be true/false, a number or a string",
        ),
        (
            "eligibility = { pdl1_tps_min = 150 }",
            r"pdl1_tps_min = 150: give a number in \[0, 100\] \(e.g. pdl1_tps_min=50\); leave a "
            r"key out for no limit",
        ),
        (
            "eligibility = { age_min_yr = 150 }",
            r"age_min_yr = 150: give a number in \[0, 120\]",
        ),
        (
            "eligibility = { marrow_blasts_min_pct = 500 }",
            r"marrow_blasts_min_pct = 500: marrow_blasts_min_pct is a percentage; give a number "
            r"from 0 to 100",
        ),
        (
            'baseline = { "pdl1_tps_pct>=50" = 30 }',
            r"baseline target 'pdl1_tps_pct>=50' = 30 is a proportion; give it as a fraction in "
            r"\[0, 1\]",
        ),
        ("eligibility = 5", r"\[population\] eligibility = 5: must be a valid dictionary"),
    ],
)
def test_types_and_domains_of_population_values(line, match):
    _refused(_population(line), match)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("seed = 1", 'seed = "one"', r"seed = \"one\": must be a valid integer"),
        ("patients = 10", "patients = 10.5", r"patients must be a whole number"),
        ('name = "demo"', "name = 5", r"name = 5: must be a valid string"),
        (
            'regimen = "nivolumab 240 mg IV q2w"',
            'regimen = "nivolumab 240 mg IV q2w"\ncrossover = { to_arm = "x", fraction = 1.5 }',
            r"crossover fraction = 1.5: fraction must be <= 1.0; give the share of patients",
        ),
    ],
)
def test_wrong_types_and_fractions(old, new, match):
    _refused(_MINIMAL.replace(old, new), match)


# ------------------------------------------------------------------------------------------
# files that are not UTF-8 TOML
# ------------------------------------------------------------------------------------------
def test_a_file_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(_MINIMAL.replace("demo", "d\u00e9mo").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    msg = str(info.value)
    assert msg == (
        f"{path}: not UTF-8 text (byte 0xe9 at offset 17); a spec is a UTF-8 TOML file: save "
        "it as UTF-8 (e.g. 'Save with encoding: UTF-8')"
    )


def test_utf8_bytes_and_a_byte_order_mark_are_read():
    assert parse_spec(_MINIMAL.encode()).trial.name == "demo"
    assert parse_spec(b"\xef\xbb\xbf" + _MINIMAL.encode()).trial.name == "demo"


def test_binary_junk_and_deep_nesting_are_refused_in_our_words():
    _refused(b"\x00\x01\x02\xff", r"^<string>: not UTF-8 text \(byte 0xff at offset 3\)")
    _refused("a = " + "[" * 5000 + "]" * 5000, r"^<string>: TOML nested too deeply to read")
    _refused("\x00", r"^<string>:1: TOML syntax error")


def test_an_unreadable_spec_is_a_spec_error(tmp_path):
    folder = tmp_path / "spec.toml"
    folder.mkdir()
    with pytest.raises(SpecError, match=r"not found; give the path of a \.toml spec"):
        load_spec(folder)


# ------------------------------------------------------------------------------------------
# messages stay short
# ------------------------------------------------------------------------------------------
def test_long_values_are_cut_in_messages():
    long_value = '"' + "y" * 5000 + '"'
    msg = _refused(_MINIMAL.replace("seed = 1", f"seed = {long_value}"), "must be a valid integer")
    assert len(msg) < 400 and 'yyyy..."' in msg


def test_errors_from_a_shipped_example_name_no_install_path():
    spec = load_spec(example_path("checkmate067"))
    assert spec.source == "checkmate067.toml"


def test_many_problems_are_listed_up_to_eight():
    from oncotwin.trials.spec import _MINIMAL as text

    bad = text.replace("seed = 1", "\n".join(f"seed{i} = {i}" for i in range(20)))
    with pytest.raises(SpecError, match=r"^20 problems in <string>:") as info:
        parse_spec(bad)
    lines = str(info.value).splitlines()
    assert len(lines) == 10 and lines[-1] == "... and 12 more (fix these first)"
    assert len(info.value.problems) == 20
