"""TrialResult: what Trial.run returns and what plots and the report read."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import oncotwin as ot
from oncotwin.errors import OncotwinError


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> ot.TrialResult:
    out = tmp_path_factory.mktemp("kn024") / "run"
    return ot.Trial.from_example("keynote024").run(patients=16, chunk_size=8, out=out)


def test_result_holds_tables_summary_and_report(result):
    assert result.report is not None and result.report.exists()
    assert sorted(result.outcomes["patient_id"]) == list(range(16))
    assert set(result.arms) == set(result.spec.arm_names)
    assert {"outcomes", "visits", "events"} <= set(result._tables)  # read once, by the report
    assert "patients" not in result._tables  # the others load on first use
    assert len(result.patients) == 16 and "patients" in result._tables
    assert result.manifest["patients"] == 16 and result.manifest["status"] == "finished"
    assert result.chunks_run == (0, 1)


def test_text_and_html_views_carry_the_disclaimer(result, capsys):
    assert result.print_summary() is result
    printed = capsys.readouterr().out
    assert "KEYNOTE-024" in printed and "not medical advice" in printed
    assert "ORR [%]" in printed
    html = result._repr_html_()
    assert html.startswith("<p><b>KEYNOTE-024") and "not medical advice" in html
    assert "TrialResult('KEYNOTE-024'" in repr(result)


def test_compare_with_the_spec_or_a_given_table(result):
    """Published ORR of KEYNOTE-024 pembrolizumab: 44.8% (Reck NEJM 2016)."""
    c = result.compare()
    orr = c[(c["endpoint"] == "ORR") & (c["arm"] == "pembrolizumab")].iloc[0]
    assert orr["published"] == pytest.approx(44.8)
    assert orr["difference"] == pytest.approx(orr["value"] - 44.8)
    mine = pd.DataFrame({"arm": ["pembrolizumab"], "endpoint": ["ORR"], "published": [50.0]})
    c2 = result.compare(mine)
    row = c2[(c2["endpoint"] == "ORR") & (c2["arm"] == "pembrolizumab")].iloc[0]
    assert row["published"] == 50.0 and row["source"] == ""
    inside, compared = result.published_inside()
    assert 0 <= inside <= compared and compared == int(c["published"].notna().sum())


@pytest.mark.parametrize("kind", ["km", "waterfall", "spider", "swimmer"])
def test_plots_draw_from_the_result(result, kind):
    import matplotlib.pyplot as plt

    ax = result.plot(kind)
    assert ax.figure is not None
    plt.close("all")


def test_unknown_plot_kind_names_the_choices(result):
    with pytest.raises(ValueError, match="did you mean 'waterfall'"):
        result.plot("waterfal")


def test_open_copy_and_rewrite_report(result, tmp_path):
    again = ot.TrialResult.open(result.out)
    pd.testing.assert_frame_equal(again.summary, result.summary)
    assert again.spec.trial.name == "KEYNOTE-024"
    copy = result.to_store(tmp_path / "copy")
    assert (copy / "trial.duckdb").exists() and not (copy / ".lock").exists()
    written = ot.TrialResult.open(copy).write_report()
    assert written == copy / "report.html" and "not medical advice" in written.read_text()


def test_trial_refuses_a_non_spec():
    with pytest.raises(OncotwinError, match=r"Trial\.from_spec\(path\)"):
        ot.Trial("keynote024")  # type: ignore[arg-type]
