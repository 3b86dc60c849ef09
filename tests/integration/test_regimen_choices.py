"""Investigator's-choice arms (``choices``): each patient of the arm gets one option, drawn
from (seed, patient) alone, in the shares the spec gives; bad choices are refused clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import OncotwinError
from oncotwin.trials.run import run_trial
from oncotwin.trials.spec import parse_spec
from oncotwin.trials.store import TrialStore

AC = "doxorubicin 60 mg/m2 + cyclophosphamide 600 mg/m2 IV q3w x6"
SPEC = """
[trial]
name = "choice"
cancer = "breast_her2"
seed = 5
patients = {n}
follow_up_months = 9

[[arm]]
name = "chemotherapy"
choices = [
  {{ name = "AC", share = 0.6, regimen = "{ac}" }},
  {{ name = "paclitaxel", share = 0.4, regimen = "paclitaxel 175 mg/m2 IV over 3 h q3w x6" }},
]

[[arm]]
name = "observation"
regimen = "placebo"
"""


def _tables(tmp_path, name: str, n: int, chunk: int) -> dict[str, pd.DataFrame]:
    path = tmp_path / f"{name}.toml"
    path.write_text(SPEC.format(n=n, ac=AC))
    out = tmp_path / name
    run_trial(path, out=out, chunk_size=chunk, report=False)
    store = TrialStore.open(out)
    try:
        return {t: store.read(t) for t in ("patients", "outcomes")}
    finally:
        store.close()


def test_choices_split_the_arm_and_do_not_depend_on_chunks(tmp_path):
    whole = _tables(tmp_path, "whole", 80, 80)
    split = _tables(tmp_path, "split", 80, 13)
    for name in whole:
        pd.testing.assert_frame_equal(whole[name], split[name], check_exact=True, obj=name)
    p = whole["patients"]
    chemo = p[p["arm"] == "chemotherapy"]
    assert set(chemo["regimen_choice"]) == {"AC", "paclitaxel"}
    assert (p.loc[p["arm"] == "observation", "regimen_choice"] == "").all()
    # 40 chemotherapy patients, 60% AC: binomial 95% range 18-30
    n_ac = int((chemo["regimen_choice"] == "AC").sum())
    assert 18 <= n_ac <= 30, n_ac
    # the options are really given: chemotherapy shrinks tumours, observation does not
    out = whole["outcomes"].set_index("patient_id")
    resp = out["best_response"].isin(["CR", "PR"])
    arm = out["arm"]
    assert resp[arm == "chemotherapy"].mean() > resp[arm == "observation"].mean()


def test_shares_must_sum_to_one_and_regimen_or_choices():
    bad = SPEC.format(n=10, ac=AC).replace("share = 0.4", "share = 0.3")
    with pytest.raises(OncotwinError, match=r"sum to 0\.9; make them sum to 1"):
        parse_spec(bad)
    both = SPEC.format(n=10, ac=AC).replace(
        'name = "chemotherapy"\n', 'name = "chemotherapy"\nregimen = "paclitaxel 80 mg/m2 IV q1w"\n'
    )
    with pytest.raises(OncotwinError, match="give either regimen or choices, not both"):
        parse_spec(both)
    neither = SPEC.format(n=10, ac=AC).replace('regimen = "placebo"', "")
    with pytest.raises(OncotwinError, match="give exactly one of regimen"):
        parse_spec(neither)
    unknown = SPEC.format(n=10, ac=AC).replace("doxorubicin 60", "doxorubicinn 60")
    with pytest.raises(OncotwinError, match="did you mean 'doxorubicin'"):
        parse_spec(unknown)


def test_choice_depends_on_patient_only():
    from oncotwin.trials._plan import ArmPlan

    arm = ArmPlan("a", 0, None, choices=(("x", None, 0.25), ("y", None, 0.75)))
    ids = np.arange(4000)
    pick = arm.choice_of(7, ids)
    assert np.array_equal(pick[100:200], arm.choice_of(7, ids[100:200]))
    assert abs((pick == 0).mean() - 0.25) < 0.03
