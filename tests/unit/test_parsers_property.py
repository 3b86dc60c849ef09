"""Property tests of the two parsers (issue 14): any input gives a valid object or the
project's own error (an :class:`~oncotwin.errors.OncotwinError`), never another exception.

The work is bounded, not the clock: a parsed regimen's schedule is counted against
``MAX_DOSE_EVENTS``, the memory-hungry inputs (huge counts, huge follow-up) run in a
subprocess under an address-space limit (``RLIMIT_AS``), and hypothesis's deadline is off
(wall-clock asserts are flaky on shared machines).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncotwin.errors import OncotwinError
from oncotwin.regimens import Regimen, parse_regimen
from oncotwin.regimens._names import MAX_DOSE_EVENTS, MAX_HORIZON_DAYS
from oncotwin.trials.spec import TrialSpec, parse_spec

SETTINGS = settings(
    deadline=None,
    max_examples=250,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# ------------------------------------------------------------------------------------------
# regimen strings
# ------------------------------------------------------------------------------------------
_NUMBERS = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["0", "1e6", "2e6", "99999999999999999999", "9" * 40, "1.5", ".5", "nan"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_TOKENS = st.one_of(
    st.sampled_from(
        [
            "pembrolizumab",
            "nivolumab",
            "ipilimumab",
            "Keytruda",
            "radiotherapy",
            "sbrt",
            "aldesleukin",
            "fludarabine",
            "axicabtagene ciloleucel",
            "docetaxel",
            "sunitinib",
            "mg",
            "mg/kg",
            "mg/m2",
            "cells/kg",
            "IU/kg",
            "Gy",
            "cGy",
            "PFU",
            "IV",
            "SC",
            "PO",
            "q3w",
            "q2w",
            "qd",
            "bid",
            "q8h",
            "q1h",
            "weekly",
            "weekdays",
            "once",
            "daily",
            "until progression",
            "with",
            ";",
            "+",
            ", then",
            "to",
            "lung",
            "liver",
            "all sites",
            "over",
            "30 min",
            "as a 2 h infusion",
            "starting",
            "after",
            "weeks",
            "days",
            "cycles",
            "days apart",
            ",",
            "x",
            "d",
            "to d",
        ]
    ),
    _NUMBERS,
    _NUMBERS.map(lambda n: f"x{n}"),
    _NUMBERS.map(lambda n: f"q{n}w"),
    _NUMBERS.map(lambda n: f"q{n}h"),
    _NUMBERS.map(lambda n: f"d{n}"),
    _NUMBERS.map(lambda n: f"d-{n}"),
    _NUMBERS.map(lambda n: f", {n} cycles {n} days apart"),
    _NUMBERS.map(lambda n: f"starting d{n}"),
    _NUMBERS.map(lambda n: f"after {n} weeks"),
)
#: Strings shaped like regimens: grammar tokens (and numbers, huge ones included) in any order.
REGIMEN_LIKE = st.lists(_TOKENS, min_size=1, max_size=14).map(" ".join)
#: Valid-looking regimens with a hostile schedule part.
REGIMEN_SCHEDULED = st.tuples(
    st.sampled_from(
        [
            "pembrolizumab 200 mg IV",
            "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV",
            "aldesleukin 600000 IU/kg IV",
            "radiotherapy 8 Gy",
            "sunitinib 50 mg PO",
        ]
    ),
    st.lists(_TOKENS, min_size=1, max_size=6).map(" ".join),
).map(" ".join)


_COUNTS = st.one_of(st.integers(1, 60), st.sampled_from([10_000, 10_001, 10**20]))
#: Regimens in the grammar with random (sometimes huge) numbers: most of them parse.
REGIMEN_VALID_SHAPED = st.builds(
    lambda drug, sched, n, cyc, then: f"{drug} {sched}{n}{cyc}{then}",
    st.sampled_from(
        [
            "pembrolizumab 200 mg IV",
            "nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV",
            "aldesleukin 600000 IU/kg IV",
            "sunitinib 50 mg PO",
            "radiotherapy 8 Gy to lung",
        ]
    ),
    st.one_of(
        st.sampled_from(["q3w", "q2w", "qd", "bid", "q8h", "weekdays", "q1h", "weekly"]),
        st.floats(0.01, 1e4).map(lambda x: f"q{x:.3f}d"),
        st.integers(-30, 30).map(lambda d: f"d{d} to d{d + 3}"),
    ),
    st.one_of(st.just(""), _COUNTS.map(lambda n: f" x{n}")),
    st.one_of(
        st.just(""),
        st.tuples(st.integers(1, 12_000), st.integers(0, 60)).map(
            lambda c: f", {c[0]} cycles {c[1]} days apart"
        ),
    ),
    st.one_of(
        st.just(""),
        st.integers(1, 20_000).map(lambda d: f", then nivolumab 240 mg IV q2w starting d{d}"),
        st.just(", then nivolumab 480 mg IV q4w until progression"),
    ),
)


def _check_regimen(text: str, horizon: float) -> None:
    try:
        regimen = parse_regimen(text)
    except OncotwinError:
        return
    assert isinstance(regimen, Regimen)
    try:
        schedule = regimen.schedule(horizon)
    except OncotwinError:
        return
    assert len(schedule) <= MAX_DOSE_EVENTS
    assert bool((schedule.time <= horizon + 1e-9).all())


@SETTINGS
@given(st.text(max_size=200), st.floats(0, 3 * 365.25))
def test_any_string_is_a_regimen_or_a_regimen_error(text, horizon):
    _check_regimen(text, horizon)


@SETTINGS
@given(st.one_of(REGIMEN_LIKE, REGIMEN_SCHEDULED, REGIMEN_VALID_SHAPED), st.floats(0, 3 * 365.25))
def test_grammar_shaped_strings_parse_or_fail_cleanly(text, horizon):
    _check_regimen(text, horizon)


@settings(deadline=None, max_examples=40, derandomize=True)
@given(REGIMEN_VALID_SHAPED, st.sampled_from([0.0, 365.25, MAX_HORIZON_DAYS]))
def test_schedules_stay_bounded_to_the_longest_horizon(text, horizon):
    """At the 50-year horizon every schedule holds at most MAX_DOSE_EVENTS events."""
    _check_regimen(text, horizon)


@pytest.mark.parametrize("bad", [None, 5, b"pembrolizumab 200 mg IV q3w", ["x"]])
def test_non_strings_are_regimen_errors(bad):
    with pytest.raises(OncotwinError, match="a regimen is a string"):
        parse_regimen(bad)


# ------------------------------------------------------------------------------------------
# spec files
# ------------------------------------------------------------------------------------------
def _check_spec(doc: str | bytes) -> None:
    try:
        spec = parse_spec(doc)
    except OncotwinError:
        return
    assert isinstance(spec, TrialSpec)
    assert spec.scan_days().size >= 1


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_are_a_spec_or_a_spec_error(data):
    _check_spec(data)


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_is_a_spec_or_a_spec_error(text):
    _check_spec(text)


def _toml(v) -> str:
    """A value as TOML (inline tables for dicts)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(v), repr(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(x)}" for k, x in v.items()) + " }"
    return str(v)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def _document(data: dict) -> str:
    """``data`` (scalars, tables, a list of ``arm`` tables) as a TOML document."""
    arms = data.get("arm")
    arm_tables = isinstance(arms, list) and all(isinstance(a, dict) for a in arms)
    lines = [
        f"{_key(k)} = {_toml(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and not (k == "arm" and arm_tables)
    ]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += [f"[{_key(name)}]"] + [f"{_key(k)} = {_toml(v)}" for k, v in table.items()]
    if arm_tables:
        for arm in arms:
            lines += ["[[arm]]"] + [f"{_key(k)} = {_toml(v)}" for k, v in arm.items()]
    return "\n".join(lines) + "\n"


_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "q8w",
            "q6w to week 48, then q12w",
            "q0.0001w",
            "placebo",
            "progression",
            "melanoma",
            "nsclc",
            "pembrolizumab 200 mg IV q3w x99999999999999999999",
            "nivolumab 240 mg IV q2w",
            "CM067_NIVO",
            "metastatic_io",
            "bench_anchor",
        ]
    ),
    st.sampled_from([0, 1, -1, 50, 100, 101, 600, 601, 1e12, 2**63 - 1, 0.5, 1.5, 10**7 + 1]),
)
_KEYS = st.one_of(
    st.sampled_from(
        [
            "name",
            "cancer",
            "seed",
            "patients",
            "follow_up_months",
            "reference_arm",
            "model",
            "description",
            "eligibility",
            "baseline",
            "scans",
            "confirm_response_weeks",
            "max_duration_months",
            "discontinue_on",
            "regimen",
            "ratio",
            "published",
            "crossover",
            "to_arm",
            "fraction",
            "at",
            "arm_id",
            "every_weeks",
            "until_week",
            "pdl1_tps_min",
            "pdl1_tps_minn",
            "ecog_max",
            "no_brain_mets",
            "age_min_yr",
            "histology",
            "marrow_blasts_min_pct",
            "age_yr",
            "pdl1_tps_pct>=50",
            "liver mets",
        ]
    ),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=6,
)
_MINIMAL_DATA = {
    "trial": {
        "name": "demo",
        "cancer": "melanoma",
        "seed": 1,
        "patients": 10,
        "follow_up_months": 12,
    },
    "schedule": {"scans": "q8w"},
    "arm": [{"name": "nivolumab", "regimen": "nivolumab 240 mg IV q2w"}],
}
_PLACES = st.sampled_from(["trial", "population", "schedule", "treatment", "arm", "top"])


@st.composite
def toml_documents(draw) -> str:
    """A spec: the minimal valid one with up to four keys set to any value (every value
    type, out-of-domain numbers, unknown and misspelt keys) in any table, or a key removed."""
    data = json.loads(json.dumps(_MINIMAL_DATA))
    for _ in range(draw(st.integers(0, 4))):
        place, key = draw(_PLACES), draw(_KEYS)
        if place == "top":
            table = data
        elif place == "arm":
            table = data["arm"][0]
        else:
            table = data.setdefault(place, {})
        if draw(st.integers(0, 5)) == 0:
            table.pop(key, None)
        else:
            table[key] = draw(_VALUES)
    if draw(st.booleans()):
        data["arm"].append(
            {"name": "b", "regimen": "placebo", **draw(st.dictionaries(_KEYS, _VALUES, max_size=2))}
        )
    return _document(data)


@SETTINGS
@given(toml_documents())
def test_generated_toml_documents_are_specs_or_spec_errors(doc):
    _check_spec(doc)


@SETTINGS
@given(toml_documents(), st.integers(0, 200), st.binary(min_size=1, max_size=3))
def test_corrupted_documents_are_refused_in_our_words(doc, at, junk):
    raw = doc.encode()
    _check_spec(raw[:at] + junk + raw[at:])


# ------------------------------------------------------------------------------------------
# memory-hungry inputs, in a subprocess with at most 1.5 GiB of address space
# ------------------------------------------------------------------------------------------
_LIMITED = textwrap.dedent(
    """
    import resource
    limit = 1536 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from oncotwin.errors import OncotwinError
    from oncotwin.regimens import parse_regimen
    from oncotwin.simulation import output_times
    from oncotwin.trials.spec import _MINIMAL, parse_spec

    def outcome(f):
        try:
            f()
        except OncotwinError as exc:
            return type(exc).__name__
        return "ok"

    huge = "pembrolizumab 200 mg IV q3w x99999999999999999999"
    cases = {
        "huge count": lambda: parse_regimen(huge),
        "huge count in a spec": lambda: parse_spec(_MINIMAL.replace("q2w", "q2w x" + "9" * 20)),
        "40-digit count": lambda: parse_regimen(huge + "9" * 20),
        "5000-digit count": lambda: parse_regimen("pembrolizumab 200 mg IV q3w x" + "9" * 5000),
        "hourly to 50 years": lambda: parse_regimen("pembrolizumab 200 mg IV q1h").schedule(18262),
        "10000 cycles of 10000": lambda: parse_regimen(
            "aldesleukin 600000 IU/kg IV q1h x10000, 10000 cycles 0 days apart"
        ).schedule(18262),
        "follow-up 1e12 months": lambda: parse_spec(
            _MINIMAL.replace("follow_up_months = 12", "follow_up_months = 1e12")
        ),
        "scans every 1e-9 weeks": lambda: parse_spec(_MINIMAL.replace("q8w", "q0.000000001w")),
        "horizon 1e12 days": lambda: parse_regimen("nivolumab 240 mg IV q2w").schedule(1e12),
        "output every 1e-9 day": lambda: output_times(730.0, 1e-9),
        "ratio 1e18": lambda: parse_spec(_MINIMAL + "ratio = 1000000000000000000"),
    }
    for name, f in cases.items():
        print(name, "->", outcome(f))
    """
)


def test_memory_hungry_inputs_are_refused_under_a_memory_limit():
    proc = subprocess.run(
        [sys.executable, "-c", _LIMITED], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 11, proc.stdout
    for line in lines:
        assert line.endswith(("RegimenError", "SpecError", "SolverError")), line
