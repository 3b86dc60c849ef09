"""The self-contained HTML trial report and the synthetic demo tables behind it."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from oncotwin.citations import Citation, register_citation
from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.report._demo import synthetic_trial_tables
from oncotwin.report.html import _comparison_section, _published, _summary_section, write_report
from oncotwin.simulation import DISCLAIMER

EVIL = "<script>alert(1)</script>"
SECTIONS = (
    "summary",
    "published",
    "km-pfs",
    "km-os",
    "waterfall",
    "spider",
    "swimmer",
    "forest",
    "toxicity",
    "manifest",
    "citations",
)


@pytest.fixture(scope="module")
def tables():
    return synthetic_trial_tables(n_per_arm=30, arms=("A", "B"), seed=7)


@pytest.fixture(scope="module")
def report(tables, tmp_path_factory):
    register_citation(Citation("Test2024", "T. Tester", 2024, "A report test", "J Tests"))
    orr_a = float(tables.summary.query("arm == 'A' and endpoint == 'ORR'")["value"].iloc[0])
    targets = pd.DataFrame(
        {
            "arm": ["A", "B"],
            "endpoint": ["ORR", "median_PFS_mo"],
            "value": [orr_a - 5.0, 500.0],  # A: inside the simulated CI; B: far outside
            "source": ["Trial X 2020, Table 2", "Trial Y 2021, Fig 1"],
        }
    )
    manifest = {**tables.manifest, "citations": ["Test2024", "NotRegistered1999"]}
    out = tmp_path_factory.mktemp("report")
    path = write_report(
        out,
        title="Report test",
        summary=tables.summary,
        outcomes=tables.outcomes,
        visits=tables.visits,
        events=tables.events,
        manifest=manifest,
        published_targets=targets,
        notes=["first note"],
    )
    return path, path.read_text(encoding="utf-8")


def test_one_self_contained_file(report):
    path, text = report
    assert path.name == "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    # every src/href is inline data or an in-page anchor: no external URL
    refs = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert refs and all(r.startswith(("data:image/png;base64,", "#")) for r in refs)


def test_disclaimer_sections_and_notes(report):
    _, text = report
    assert DISCLAIMER in text
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in text
    assert "<li>first note</li>" in text
    # the order asked for: summary ... citations
    pos = [text.index(f'<section id="{sid}">') for sid in SECTIONS]
    assert pos == sorted(pos)


def test_every_figure_is_an_inline_png(report):
    _, text = report
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    # KM PFS + KM OS + (waterfall, spider, swimmer) x 2 arms + 1 forest (B vs A)
    assert len(images) == 2 + 3 * 2 + 1
    for b64 in images:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_table_values(report, tables):
    _, text = report
    orr = tables.summary.query("arm == 'B' and endpoint == 'ORR'").iloc[0]
    expected = (
        f'{orr["value"]:.1f}% <span class="ci">({orr["ci_low"]:.1f}&ndash;{orr["ci_high"]:.1f})'
    )
    assert expected in text
    for label in (
        "Objective response rate (ORR)",
        "Median PFS",
        "PFS rate at 12 months",
        "Hazard ratio OS vs reference",
        "Grade ≥3 CRS",
    ):
        assert label in text
    assert '<span class="na">reference</span>' in text  # arm A is the HR reference


def test_published_comparison_difference_and_ci_check(report):
    _, text = report
    section = text[text.index('<section id="published">') : text.index('<section id="km-pfs">')]
    assert "-5.0 pp" not in section and "+5.0 pp" in section  # simulated - published
    assert '<span class="yes">yes</span>' in section
    assert '<span class="no">no</span>' in section
    assert "Trial X 2020, Table 2" in section


def test_manifest_and_citations(report):
    _, text = report
    assert "&quot;n_per_arm&quot;: 30" in text  # pretty JSON, escaped
    assert "[Test2024] T. Tester (2024). A report test. J Tests." in text
    assert "NotRegistered1999" in text
    assert "Published target: Trial Y 2021, Fig 1" in text
    assert "Eisenhauer EA et al. (2009)" in text


def test_user_strings_are_escaped(tmp_path):
    t = synthetic_trial_tables(n_per_arm=12, arms=(EVIL, "$x$ & co"), seed=2)
    targets = pd.DataFrame(
        {"arm": [EVIL], "endpoint": ["ORR"], "published": [30.0], "source": [EVIL]}
    )
    path = write_report(
        tmp_path,
        title=f"Trial {EVIL}",
        summary=t.summary,
        outcomes=t.outcomes,
        visits=t.visits,
        events=t.events,
        manifest={"note": EVIL, "citations": [EVIL]},
        published_targets=targets,
        notes=[EVIL],
    )
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<title>Trial {escaped}</title>" in text
    assert f"<li>{escaped}</li>" in text  # the note
    assert "$x$ &amp; co" in text
    assert text.count(escaped) >= 6  # title x2, meta, summary header, note, source, ...


def test_single_arm_has_no_forest(tmp_path):
    t = synthetic_trial_tables(n_per_arm=15, arms=("Solo",), seed=4)
    path = write_report(
        tmp_path,
        title="One arm",
        summary=t.summary,
        outcomes=t.outcomes,
        visits=t.visits,
        events=t.events,
        manifest={},
    )
    text = path.read_text(encoding="utf-8")
    assert "A forest plot needs two arms." in text
    assert "No published values were given for comparison." in text


def test_hazard_ratio_p_from_summary_or_log_rank(tables):
    arms = ["A", "B"]
    with_p = _summary_section(tables.summary, tables.outcomes, arms, "A")
    p = float(tables.summary.query("endpoint == 'HR_PFS'")["p_value"].iloc[0])
    assert (f"p={p:.3f}" if p >= 0.001 else "p&lt;0.001") in with_p
    without = _summary_section(tables.summary.drop(columns="p_value"), tables.outcomes, arms, "A")
    assert "(log-rank)" in without


def test_median_not_reached_shows_nr():
    s = pd.DataFrame(
        {
            "arm": ["A"],
            "endpoint": ["median_OS_mo"],
            "value": [np.inf],
            "ci_low": [20.0],
            "ci_high": [np.inf],
            "unit": ["months"],
        }
    )
    o = pd.DataFrame({"arm": ["A"], "os_days": [100.0], "os_event": [False]})
    assert ">NR<" in _summary_section(s, o, ["A"], "A")


def test_published_targets_override_summary(tables):
    s = tables.summary.copy()
    s.loc[s["endpoint"] == "ORR", ["published", "source"]] = [10.0, "summary source"]
    targets = pd.DataFrame(
        {"arm": ["A"], "endpoint": ["ORR"], "published": [20.0], "source": ["t"]}
    )
    pub = _published(s, targets)
    assert pub.set_index(["arm", "endpoint"]).loc[("A", "ORR"), "published"] == 20.0
    assert pub.set_index(["arm", "endpoint"]).loc[("B", "ORR"), "published"] == 10.0
    html_text = _comparison_section(s, pub)
    assert "summary source" in html_text


def test_published_target_of_an_endpoint_not_simulated(tables):
    pub = pd.DataFrame({"arm": ["A"], "endpoint": ["DoR"], "published": [12.0], "source": ["x"]})
    assert "not simulated" in _comparison_section(tables.summary, pub)


def _call(tables, tmp_path, **override):
    kwargs = dict(
        title="T",
        summary=tables.summary,
        outcomes=tables.outcomes,
        visits=tables.visits,
        events=tables.events,
        manifest={},
    )
    return write_report(tmp_path, **(kwargs | override))


@pytest.mark.parametrize(
    ("override", "error", "match"),
    [
        ({"title": " "}, OncotwinError, r"title=' '; give a non-empty report title"),
        ({"summary": [1]}, OncotwinError, r"summary=list; give the contract's 'summary'"),
        (
            {"summary": pd.DataFrame({"arm": ["A"]})},
            OncotwinError,
            r"summary table lacks column\(s\) \['endpoint', 'value'",
        ),
        ({"manifest": "x"}, OncotwinError, r"manifest=str; give the run manifest as a dict"),
        ({"reference_arm": "AA"}, UnknownNameError, r"unknown arm 'AA'.*\(reference_arm\)"),
        (
            {"published_targets": pd.DataFrame({"arm": ["A"], "endpoint": ["ORR"]})},
            OncotwinError,
            r"published_targets lacks column\(s\) \['published'\]",
        ),
        (
            {"published_targets": {"A": 1}},
            OncotwinError,
            r"published_targets=dict; give a DataFrame",
        ),
    ],
)
def test_write_report_errors(tables, tmp_path, override, error, match):
    with pytest.raises(error, match=match):
        _call(tables, tmp_path, **override)
    assert not (tmp_path / "report.html").exists()


def test_empty_outcomes_refused(tables, tmp_path):
    with pytest.raises(OncotwinError, match=r"outcomes table has no rows; run the trial"):
        _call(tables, tmp_path, outcomes=tables.outcomes.iloc[:0])


# ----------------------------------------------------------------------------- demo tables
def test_synthetic_tables_follow_the_contract_and_are_seeded():
    a = synthetic_trial_tables(n_per_arm=20, arms=("X", "Y"), seed=11)
    b = synthetic_trial_tables(n_per_arm=20, arms=("X", "Y"), seed=11)
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    contract = {
        "outcomes": [
            "patient_id",
            "arm",
            "best_response",
            "confirmed",
            "best_pct_change",
            "response_day",
            "dor_days",
            "dor_event",
            "pfs_days",
            "pfs_event",
            "os_days",
            "os_event",
            "max_irae_grade",
            "max_crs_grade",
            "max_icans_grade",
            "g3plus_ae",
            "treatment_end_day",
            "discontinued",
        ],
        "visits": [
            "patient_id",
            "arm",
            "visit",
            "day",
            "sum_diameters_mm",
            "pct_change_baseline",
            "pct_change_nadir",
            "new_lesion",
            "response",
        ],
        "events": ["patient_id", "arm", "day", "kind", "grade", "detail"],
        "summary": [
            "arm",
            "endpoint",
            "value",
            "ci_low",
            "ci_high",
            "n",
            "unit",
            "published",
            "source",
        ],
    }
    for name, cols in contract.items():
        assert set(cols) <= set(getattr(a, name).columns), name
    o = a.outcomes
    assert set(o["best_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
    assert (o["pfs_days"] <= o["os_days"]).all()
    assert a.manifest["synthetic"] is True
    assert set(a.events["kind"]) <= {
        "progression",
        "response",
        "death",
        "toxicity",
        "discontinuation",
        "crossover",
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_per_arm": 2}, r"n_per_arm=2; give at least 5 patients per arm"),
        ({"arms": ("A", "A")}, r"arms=\['A', 'A'\]; give one or more distinct arm names"),
    ],
)
def test_synthetic_tables_errors(kwargs, match):
    with pytest.raises(OncotwinError, match=match):
        synthetic_trial_tables(**kwargs)
