"""Trial plots (waterfall, spider, swimmer, Kaplan-Meier, forest) and the toxicity table.

Inputs are SYNTHETIC contract tables from ``oncotwin.report._demo`` (seeded).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex

from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.plotting.trial import (
    RESPONSE_COLORS,
    plot_forest,
    plot_km,
    plot_spider,
    plot_swimmer,
    plot_waterfall,
    subgroup_hazard_ratios,
    toxicity_table,
)
from oncotwin.report._demo import synthetic_trial_tables

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tables():
    return synthetic_trial_tables(n_per_arm=40, arms=("A", "B"), seed=3)


# ----------------------------------------------------------------------------- waterfall
def test_waterfall_bars_sorted_and_coloured_by_response(tables):
    o = tables.outcomes
    ax = plot_waterfall(o, arm="B")
    sub = o[o["arm"] == "B"]
    expected = np.sort(sub["best_pct_change"].dropna().to_numpy())[::-1]
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_allclose(heights, expected)
    # the deepest shrinkage is drawn last, in the colour of its patient's best response
    deepest = sub.loc[sub["best_pct_change"].idxmin(), "best_response"]
    assert to_hex(ax.patches[-1].get_facecolor()) == RESPONSE_COLORS[deepest].lower()
    ref_lines = sorted(line.get_ydata()[0] for line in ax.get_lines())
    assert ref_lines == [-30, 0, 20]


def test_waterfall_counts_not_evaluable_in_title():
    o = pd.DataFrame(
        {
            "arm": ["A"] * 3,
            "best_response": ["PR", "PD", "NE"],
            "best_pct_change": [-40, 30, np.nan],
        }
    )
    ax = plot_waterfall(o)
    assert len(ax.patches) == 2
    assert "1 not evaluable" in ax.get_title()


def test_waterfall_unknown_arm_suggests_close_name(tables):
    with pytest.raises(UnknownNameError, match=r"unknown arm 'a'; did you mean 'A'\?"):
        plot_waterfall(tables.outcomes, arm="a")


def test_missing_column_is_named(tables):
    with pytest.raises(
        OncotwinError, match=r"outcomes table lacks column\(s\) \['best_pct_change'\]"
    ):
        plot_waterfall(tables.outcomes.drop(columns="best_pct_change"))


def test_not_a_dataframe_is_refused():
    with pytest.raises(
        OncotwinError, match=r"outcomes=dict; give the contract's 'outcomes' pandas"
    ):
        plot_waterfall({"arm": ["A"]})


def test_empty_table_is_refused(tables):
    with pytest.raises(OncotwinError, match=r"outcomes table has no rows \(arm=None\)"):
        plot_waterfall(tables.outcomes.iloc[:0])


# ----------------------------------------------------------------------------- spider
def test_spider_one_line_per_patient_coloured_by_outcome(tables):
    ax = plot_spider(tables.visits, arm="A", outcomes=tables.outcomes)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ids = np.unique(tables.visits.loc[tables.visits["arm"] == "A", "patient_id"])
    assert len(lines.get_segments()) == ids.size
    best = tables.outcomes.set_index("patient_id").loc[ids, "best_response"]
    got = [to_hex(c) for c in lines.get_colors()]
    assert got == [RESPONSE_COLORS[r].lower() for r in best]
    # x in weeks: the last scan of the first patient, in days / 7
    v0 = tables.visits[tables.visits["patient_id"] == ids[0]]
    seg = lines.get_segments()[0]
    assert np.nanmax(seg[:, 0]) == pytest.approx(v0["day"].max() / 7.0)


def test_spider_subsamples_to_max_patients(tables):
    ax = plot_spider(tables.visits, max_patients=10)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == 10
    assert "10 of 80 patients" in ax.get_title()


def test_spider_without_outcomes_uses_best_visit_response():
    v = pd.DataFrame(
        {
            "patient_id": [0, 0, 0, 1, 1],
            "arm": "A",
            "day": [0, 56, 112, 0, 56],
            "pct_change_baseline": [0, -35, -40, 0, 25],
            "response": ["NE", "PR", "PR", "NE", "PD"],
        }
    )
    ax = plot_spider(v)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [to_hex(c) for c in lines.get_colors()] == [
        RESPONSE_COLORS["PR"].lower(),
        RESPONSE_COLORS["PD"].lower(),
    ]


def test_spider_rejects_non_positive_max_patients(tables):
    with pytest.raises(OncotwinError, match=r"max_patients=0; give a positive number"):
        plot_spider(tables.visits, max_patients=0)


# ----------------------------------------------------------------------------- swimmer
def test_swimmer_responders_first_and_markers(tables):
    o, ev = tables.outcomes, tables.events
    ax = plot_swimmer(o, ev, arm="B", max_patients=12)
    sub = o[o["arm"] == "B"]
    labels = [int(t.get_text()) for t in ax.get_yticklabels()]
    assert len(labels) == 12
    n_resp = int(sub["best_response"].isin(["CR", "PR"]).sum())
    shown = sub.set_index("patient_id").loc[labels]
    assert int(shown["best_response"].isin(["CR", "PR"]).sum()) == min(n_resp, 12)
    # bars sorted by time on study (months), longest on top
    months = shown["os_days"].to_numpy() / 30.4375
    assert np.all(np.diff(months) >= 0)
    deaths = ev[(ev["kind"] == "death") & ev["patient_id"].isin(labels)]
    (death_markers,) = [c for c in ax.collections if c.get_label() == "death"] or [None]
    if len(deaths):
        assert len(death_markers.get_offsets()) == len(deaths)
    ongoing = [c for c in ax.collections if c.get_label().startswith("ongoing")]
    assert sum(len(c.get_offsets()) for c in ongoing) == int((~shown["os_event"]).sum())


def test_swimmer_needs_events_table(tables):
    with pytest.raises(OncotwinError, match=r"events table lacks column\(s\) \['kind'\]"):
        plot_swimmer(tables.outcomes, tables.events.drop(columns="kind"))


# ----------------------------------------------------------------------------- Kaplan-Meier
def test_km_one_curve_per_arm_with_at_risk_and_published_median(tables):
    ax = plot_km(tables.outcomes, endpoint="os", published_medians={"B": 20.0})
    labels = [line.get_label() for line in ax.get_lines()]
    assert "A" in labels and "B" in labels
    (diamond,) = [line for line in ax.get_lines() if "published median" in line.get_label()]
    assert diamond.get_xdata()[0] == 20.0 and diamond.get_ydata()[0] == 0.5
    assert len(ax.figure.axes) == 2  # the at-risk axis under the plot
    at_risk = ax.figure.axes[1].get_xticklabels()[0].get_text()
    assert "40" in at_risk  # both arms start with 40 patients at risk


def test_km_without_at_risk_and_into_given_axes(tables):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    out = plot_km(tables.outcomes, endpoint="pfs", at_risk=False, ax=ax)
    assert out is ax and len(ax.figure.axes) == 1
    assert ax.get_ylabel() == "PFS probability"


def test_km_uses_no_pyplot_figures(tables):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_km(tables.outcomes)
    assert plt.get_fignums() == before


def test_km_bad_endpoint(tables):
    with pytest.raises(OncotwinError, match=r"endpoint='dfs'; give 'pfs' .* or 'os'"):
        plot_km(tables.outcomes, endpoint="dfs")


def test_km_published_median_of_unknown_arm(tables):
    with pytest.raises(UnknownNameError, match=r"unknown arm 'C'.* \(a key of published_medians\)"):
        plot_km(tables.outcomes, published_medians={"C": 5.0})


# ----------------------------------------------------------------------------- forest
def test_subgroup_hazard_ratios_overall_row_and_levels(tables):
    hr = subgroup_hazard_ratios(tables.outcomes, endpoint="pfs")
    assert tuple(hr.iloc[0][["subgroup", "level"]]) == ("All patients", "")
    assert hr.iloc[0]["n"] == 80
    summary_hr = tables.summary.query("endpoint == 'HR_PFS'")["value"].iloc[0]
    assert hr.iloc[0]["hr"] == pytest.approx(summary_hr, rel=1e-6)
    levels = set(tables.outcomes["pdl1_group"])
    assert set(hr.loc[hr["subgroup"] == "pdl1_group", "level"]) == levels
    ok = hr["flag"] == ""
    assert np.all(hr.loc[ok, "ci_low"] < hr.loc[ok, "hr"])
    assert np.all(hr.loc[ok, "hr"] < hr.loc[ok, "ci_high"])


def test_subgroup_hazard_ratios_flags_too_few_events(tables):
    hr = subgroup_hazard_ratios(tables.outcomes, by=("tmb_group",), min_events=1000)
    assert hr["hr"].isna().all()
    assert hr["flag"].str.startswith("not estimable").all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"arm": "A"}, r"arm='A' equals reference_arm"),
        ({"reference_arm": "Z"}, r"unknown arm 'Z'.*\(given as reference_arm"),
        ({"by": ("pdl1",)}, r"subgroup column\(s\) \['pdl1'\] not in the outcomes table"),
    ],
)
def test_subgroup_hazard_ratios_errors(tables, kwargs, match):
    with pytest.raises(OncotwinError, match=match):
        subgroup_hazard_ratios(tables.outcomes, **kwargs)


def test_forest_log_axis_for_hazard_ratios(tables):
    hr = subgroup_hazard_ratios(tables.outcomes)
    ax = plot_forest(hr)
    assert ax.get_xscale() == "log"
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [1.0]
    assert len(ax.get_yticklabels()) == len(hr)
    assert ax.get_yticklabels()[0].get_text() == "All patients (n=80)"


def test_forest_linear_axis_for_orr_differences_and_not_estimable_rows():
    df = pd.DataFrame(
        {
            "label": ["all", "PD-L1 >= 50%", "tiny"],
            "orr_diff": [8.0, 15.0, np.nan],
            "ci_low": [1.0, 2.0, np.nan],
            "ci_high": [15.0, 28.0, np.nan],
        }
    )
    ax = plot_forest(df)
    assert ax.get_xscale() == "linear"
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [0.0]
    assert "not estimable" in [t.get_text() for t in ax.texts]


@pytest.mark.parametrize(
    ("df", "match"),
    [
        (
            pd.DataFrame({"label": ["x"], "ci_low": [1], "ci_high": [2]}),
            r"lacks an estimate column",
        ),
        (
            pd.DataFrame({"hr": [1], "ci_low": [1], "ci_high": [2]}),
            r"lacks a 'label' or 'subgroup'",
        ),
        (pd.DataFrame({"label": [], "hr": [], "ci_low": [], "ci_high": []}), r"has no rows"),
    ],
)
def test_forest_errors(df, match):
    with pytest.raises(OncotwinError, match=match):
        plot_forest(df)


# ----------------------------------------------------------------------------- toxicity
def test_toxicity_table_rates_per_arm():
    o = pd.DataFrame(
        {
            "arm": ["X", "X", "X", "X", "Y", "Y"],
            "max_irae_grade": [0, 3, 4, 2, 0, 1],
            "max_crs_grade": [0, 0, 3, 0, 0, 0],
            "max_icans_grade": [0, 0, 0, 0, 3, 0],
        }
    )
    tox = toxicity_table(o)
    assert list(tox["arm"]) == ["X", "Y"]
    assert list(tox["n"]) == [4, 2]
    np.testing.assert_allclose(tox["g3plus_irAE_pct"], [50.0, 0.0])
    np.testing.assert_allclose(tox["g3plus_CRS_pct"], [25.0, 0.0])
    np.testing.assert_allclose(tox["g3plus_ICANS_pct"], [0.0, 50.0])
    # no g3plus_ae column: any grade >= 3 of the three
    np.testing.assert_allclose(tox["g3plus_AE_pct"], [50.0, 50.0])
    assert list(tox["g3plus_irAE_n"]) == [2, 0]


def test_toxicity_table_uses_g3plus_ae_when_given(tables):
    tox = toxicity_table(tables.outcomes)
    expected = tables.outcomes.groupby("arm")["g3plus_ae"].mean().to_numpy() * 100
    np.testing.assert_allclose(tox["g3plus_AE_pct"], expected)


def test_forest_takes_trials_subgroup_analysis_rows(tables):
    from oncotwin.trials import endpoints

    table = endpoints.subgroup_analysis(tables.outcomes, "tmb_group", "A", min_events=5)
    rows = table[table["arm"] == "B"]
    ax = plot_forest(rows)
    assert ax.get_xscale() == "log"
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    lows = sorted(seg[0][0] for seg in bars.get_segments())
    assert lows == pytest.approx(sorted(rows["hr_ci_low"].dropna()))
