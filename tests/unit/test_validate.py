"""Validation rules (issue 16 item 4) on hand-made tables: the novel-arm rule and its
normalisation, the lookup baseline's nearest arm and interval, and the scores by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from oncotwin.calibration.validate import (
    arm_table,
    biomarker_stratum,
    committed_novel_arms,
    endpoint_class,
    lookup_arm,
    lookup_interval,
    lookup_predictions,
    markdown_table,
    normalise_cancer,
    normalise_class,
    normalise_line,
    novel_arms,
    resolve_trials,
    score_rows,
    summarise,
)
from oncotwin.errors import OncotwinError

COLS = [
    "arm_id",
    "trial",
    "immunotherapy_class",
    "cancer_type",
    "setting_line",
    "population_selection",
    "n",
]

#: Hand-made arms: A and B share (anti-PD-(L)1, nsclc, 1L, TPS>=50) although written
#: differently (PD-1 vs PD-L1, squamous, "1L (first line)"); C's atezolizumab is 2L; D's
#: arm inherits its stratum through "as above"; E's chemotherapy matches A's chemotherapy.
HAND = pd.DataFrame(
    [
        ["A_PEMBRO", "A", "ICI anti-PD-1", "NSCLC (metastatic)", "1L", "PD-L1 TPS >=50%", "150"],
        ["A_CHEMO", "A", "none (chemotherapy)", "NSCLC", "1L", "PD-L1 TPS >=50%", "150"],
        [
            "B_ATEZO",
            "B",
            "ICI anti-PD-L1",
            "NSCLC squamous",
            "1L (first line)",
            "PD-L1 TPS >= 50%",
            "300",
        ],
        ["C_ATEZO", "C", "ICI anti-PD-L1", "NSCLC", "2L-3L", "any PD-L1", "400"],
        [
            "D_TRAS",
            "D",
            "monoclonal antibody (anti-HER2)",
            "breast cancer (metastatic)",
            "1L",
            "HER2 overexpression (IHC 2+/3+)",
            "200",
        ],
        ["D_CHEMO", "D", "none (chemotherapy)", "breast cancer", "1L", "as above", "200"],
        ["E_CHEMO", "E", "none (chemotherapy)", "NSCLC", "1L", "PD-L1 TPS>=50%", "90"],
    ],
    columns=COLS,
)


def test_normalisation_rules():
    assert normalise_class("ICI anti-PD-1 + anti-CTLA-4") == "anti-PD-(L)1 + anti-CTLA-4"
    assert normalise_class("ICI anti-PD-L1 + anti-VEGF mAb") == "anti-PD-(L)1 + anti-VEGF"
    assert normalise_class("CAR-T (anti-CD19, CD28)") == "CAR-T"
    assert normalise_class("ICI anti-CTLA-4 + peptide vaccine") == "anti-CTLA-4 + vaccine"
    assert normalise_class("none (anti-EGFR mAb + chemotherapy)") == "anti-EGFR + chemotherapy"
    assert normalise_class("none (mTOR inhibitor)") == "mTOR inhibitor"
    assert normalise_cancer("NSCLC squamous (stage IIIB/IV)") == "nsclc"
    assert normalise_cancer("renal cell carcinoma (advanced clear-cell)") == "renal cell carcinoma"
    assert normalise_line("relapsed (median 2 prior regimens)") == "2L+"
    assert normalise_line("mixed (1L and previously treated)") == "mixed"
    assert normalise_line("3L+ (refractory)") == "3L+"
    assert biomarker_stratum("PD-L1 CPS >=5 (primary endpoint population)") == "PD-L1 CPS>=5"
    assert biomarker_stratum("all-comers (stratified PD-L1, BRAF, M stage)") == "all-comers"
    assert biomarker_stratum("IMDC intermediate/poor risk") == "all-comers"
    assert biomarker_stratum("HER2-negative") == "all-comers"
    assert biomarker_stratum("as above", "HER2+") == "HER2+"


def test_novel_rule_on_a_hand_made_table():
    t = novel_arms(HAND)
    assert list(t.loc["B_ATEZO", ["therapy_class", "cancer", "line", "stratum"]]) == [
        "anti-PD-(L)1",
        "nsclc",
        "1L",
        "PD-L1 TPS>=50",
    ]
    # A and B share a key across trials: neither is novel; the same key within one trial
    # (A's two arms differ anyway) would not count
    assert not t.loc["A_PEMBRO", "novel"] and t.loc["A_PEMBRO", "same_key_trials"] == "B"
    assert not t.loc["B_ATEZO", "novel"]
    assert not t.loc["A_CHEMO", "novel"] and not t.loc["E_CHEMO", "novel"]  # A <-> E
    assert t.loc["C_ATEZO", "novel"]  # another line
    assert t.loc["D_CHEMO", "stratum"] == "HER2+"  # "as above" = D_TRAS's stratum
    assert t.loc["D_TRAS", "novel"] and t.loc["D_CHEMO", "novel"]  # HER2+ chemo: no other


def test_novel_rule_within_one_trial_does_not_count():
    two = pd.DataFrame(
        [
            ["X1", "X", "ICI anti-PD-1", "melanoma", "1L", "all-comers", "10"],
            ["X2", "X", "ICI anti-PD-1", "melanoma", "1L", "all-comers", "10"],
        ],
        columns=COLS,
    )
    assert novel_arms(two)["novel"].all()


def test_committed_novel_list_matches_the_rule_and_the_csv():
    committed = committed_novel_arms()
    now = novel_arms()
    assert set(committed.index) == set(now.index)
    assert (committed["novel"] == now.loc[committed.index, "novel"]).all()
    assert not committed.loc["OAK_ATEZO", "novel"]  # CheckMate 017's nivolumab: same key
    assert committed.loc["KN024_PEMBRO", "novel"]


def test_arm_table_refuses_missing_columns():
    with pytest.raises(OncotwinError, match="population_selection"):
        arm_table(HAND.drop(columns=["population_selection"]))


def test_lookup_picks_the_documented_nearest_arm():
    arms = arm_table(HAND)
    # class beats cancer: for A_PEMBRO, B_ATEZO (class, cancer, line, stratum) > C_ATEZO
    assert lookup_arm("A_PEMBRO", ["B_ATEZO", "C_ATEZO", "E_CHEMO", "A_CHEMO"], arms) == "B_ATEZO"
    # same class in another cancer (D none) -> class match C_ATEZO beats same-cancer E_CHEMO
    assert lookup_arm("A_PEMBRO", ["C_ATEZO", "E_CHEMO"], arms) == "C_ATEZO"
    # own trial never chosen; no candidate -> None
    assert lookup_arm("A_PEMBRO", ["A_CHEMO"], arms) is None
    # ties on (class, cancer, line, stratum) -> larger n: E_CHEMO (90) vs a bigger copy
    big = pd.concat(
        [
            HAND,
            pd.DataFrame(
                [["F_CHEMO", "F", "none (chemotherapy)", "NSCLC", "1L", "PD-L1 TPS >=50%", "500"]],
                columns=COLS,
            ),
        ]
    )
    assert lookup_arm("A_CHEMO", ["E_CHEMO", "F_CHEMO"], arm_table(big)) == "F_CHEMO"
    with pytest.raises(OncotwinError, match="did you mean"):
        lookup_arm("A_PEMBR0", ["B_ATEZO"], arms)


def test_lookup_interval_is_the_sampling_law_at_the_left_out_n():
    from scipy.stats import binom

    lo, hi = lookup_interval(SimpleNamespace(law="binomial", n=154, se=math.nan), 44.8)
    assert lo == pytest.approx(100 * binom.ppf(0.025, 154, 0.448) / 154)
    assert hi == pytest.approx(100 * binom.ppf(0.975, 154, 0.448) / 154)
    assert lo < 44.8 < hi and 14 < hi - lo < 17  # ~ +-2 * sqrt(p(1-p)/n) = +-8 pp
    lo, hi = lookup_interval(SimpleNamespace(law="lognormal", n=80, se=0.2), 12.0)
    assert math.log(hi / 12.0) == pytest.approx(1.959964 * 0.2, rel=1e-5)
    assert lo * hi == pytest.approx(144.0)
    assert all(
        math.isnan(v)
        for v in lookup_interval(SimpleNamespace(law="binomial", n=9, se=math.nan), math.nan)
    )


def test_lookup_predictions_copy_the_same_endpoint_from_another_trial():
    arms = arm_table(HAND)

    def tgt(arm, ep, obs, law="binomial", se=math.nan):
        return SimpleNamespace(
            target_id=f"{arm}:{ep}", arm_id=arm, endpoint=ep, observed=obs, law=law, n=100, se=se
        )

    pool = [
        tgt("B_ATEZO", "ORR", 40.0),
        tgt("C_ATEZO", "ORR", 15.0),
        tgt("C_ATEZO", "median_OS_mo", 13.0, "lognormal", 0.1),
    ]
    left = [
        tgt("A_PEMBRO", "ORR", 44.8),
        tgt("A_PEMBRO", "median_OS_mo", 26.0, "lognormal", 0.1),
        tgt("A_PEMBRO", "CR", 4.0),
    ]
    out = lookup_predictions(left, pool, arms)
    assert out.loc["A_PEMBRO:ORR", "lookup_arm"] == "B_ATEZO"
    assert out.loc["A_PEMBRO:ORR", "lookup_value"] == 40.0
    assert out.loc["A_PEMBRO:median_OS_mo", "lookup_arm"] == "C_ATEZO"  # the only OS arm
    assert out.loc["A_PEMBRO:CR", "lookup_arm"] == "" and math.isnan(
        out.loc["A_PEMBRO:CR", "lookup_value"]
    )


def _rows() -> pd.DataFrame:
    """Three hand-checked targets: an ORR missed above, a median inside, a censored OS."""
    return pd.DataFrame(
        {
            "endpoint": ["ORR", "median_OS_mo", "median_OS_mo"],
            "endpoint_class": ["ORR/CR", "OS median", "OS median"],
            "therapy_class": ["anti-PD-(L)1", "anti-PD-(L)1", "chemotherapy"],
            "novel": [True, False, False],
            "law": ["binomial", "lognormal", "lognormal"],
            "observed": [50.0, 10.0, 30.0],
            "censored": [False, False, True],
            "ci_low": [40.0, 8.0, 30.0],
            "ci_high": [60.0, 12.5, math.inf],
            "model_point": [42.0, 9.0, 20.0],
            "model_low": [40.0, 5.0, 10.0],
            "model_high": [45.0, 20.0, 40.0],
            "lookup_point": [30.0, 16.0, 10.0],
            "lookup_low": [10.0, 15.0, 8.0],
            "lookup_high": [60.0, 18.0, 12.0],
        }
    )


def test_scores_by_hand():
    s = score_rows(_rows())
    # ORR: 50 above [40, 45]: IS = 5 + (2 / 0.05) * 5 = 205; |42 - 50| = 8; 42 in [40, 60]
    assert s.loc[0, "model_is"] == pytest.approx(205.0)
    assert s.loc[0, "model_inside"] == 0 and s.loc[0, "model_abs_error"] == pytest.approx(8.0)
    assert s.loc[0, "model_point_in_ci"] == 1 and s.loc[0, "model_too_wide"] == 0
    # the lookup's ORR interval [10, 60] is inside but +-25 pp: too wide; 30 not in the CI
    assert s.loc[0, "lookup_inside"] == 1 and s.loc[0, "lookup_is"] == pytest.approx(50.0)
    assert s.loc[0, "lookup_too_wide"] == 1 and s.loc[0, "lookup_point_in_ci"] == 0
    # median on the log scale: inside [5, 20] -> IS = log(20/5); width factor sqrt(4) = 2 > 1.5
    assert s.loc[1, "model_is"] == pytest.approx(math.log(4.0))
    assert s.loc[1, "model_width"] == pytest.approx(2.0) and s.loc[1, "model_too_wide"] == 1
    assert s.loc[1, "model_abs_error"] == pytest.approx(abs(math.log(0.9)))
    # lookup [15, 18] below 10: IS = log(18/15) + 40 log(15/10)
    assert s.loc[1, "lookup_is"] == pytest.approx(math.log(1.2) + 40 * math.log(1.5))
    # censored (not reached, >= 30): inside iff high >= 30; no score, no error
    assert s.loc[2, "model_inside"] == 1 and s.loc[2, "lookup_inside"] == 0
    assert math.isnan(s.loc[2, "model_is"]) and math.isnan(s.loc[2, "lookup_abs_error"])


def test_summary_and_markdown_side_by_side():
    summ = summarise(score_rows(_rows()))
    tot = summ[(summ["scope"] == "all") & (summ["by"] == "total")].set_index("method")
    assert tot.loc["model", "inside"] == 2 and tot.loc["model", "n"] == 3
    assert tot.loc["lookup", "inside"] == 1
    assert tot.loc["model", "orr_point_in_ci"] == 1 and tot.loc["lookup", "orr_point_in_ci"] == 0
    nov = summ[(summ["scope"] == "novel") & (summ["by"] == "total")].set_index("method")
    assert nov.loc["model", "n"] == 1  # the ORR arm only
    os_ = summ[(summ["group"] == "OS median") & (summ["scope"] == "all")].set_index("method")
    assert os_.loc["model", "median_abs_error"] == pytest.approx(abs(math.log(0.9)))
    md = markdown_table(summ)
    assert "| ORR/CR | 1 | 0/1 (0%) / 1/1 (100%) |" in md
    assert "novel arms, by endpoint class" in md and "lookup" in md


def test_endpoint_classes():
    t = SimpleNamespace(endpoint="g3plus_AE", block="toxicity")
    assert endpoint_class(t) == "toxicity"
    assert endpoint_class(SimpleNamespace(endpoint="HR_PFS", block="efficacy")) == "HR"
    assert endpoint_class(SimpleNamespace(endpoint="OS_24mo", block="efficacy")) == (
        "PFS/OS landmark"
    )


def test_unknown_trial_gets_did_you_mean():
    from oncotwin.calibration.targets import load_targets

    targets = load_targets()
    assert resolve_trials(["checkmate067", "OAK"], targets) == ["CheckMate 067", "OAK"]
    with pytest.raises(OncotwinError, match=r"did you mean.*CheckMate 067"):
        resolve_trials(["CheckMate 06"], targets)
    from oncotwin.calibration.fit import trial_of

    assert resolve_trials(None, targets) == sorted({trial_of(t) for t in targets})
