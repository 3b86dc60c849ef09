"""A trial runs through the same pipeline on a second model: Claret et al. 2009 (TGI).

The Claret 2009 model's state ``y`` is the sum of longest diameters [mm], read as one target
lesion (:class:`oncotwin.models.readouts.TumourSizeReadouts`); patients come from the
covariate model (eligibility, age, body size), the regimen is parsed once, dosing stops at
scan-read progression (the simulation layer's rules), RECIST 1.1 reads the scans. The model
describes no new lesions, toxicity or tumour death, so deaths are background mortality only.
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.trials import Trial, TrialResult
from oncotwin.trials.spec import parse_spec

SPEC = """
[trial]
name = "TGI demo"
model = "claret2009"
cancer = "nsclc"
seed = 11
patients = 40
follow_up_months = 12
reference_arm = "placebo"

[population]
eligibility = { measurable_disease = true }

[schedule]
scans = "q6w"

[treatment]
discontinue_on = ["progression"]

[[arm]]
name = "docetaxel"
regimen = "docetaxel 75 mg/m2 IV q3w until progression"

[[arm]]
name = "placebo"
regimen = "placebo"
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> TrialResult:
    trial = Trial(parse_spec(SPEC))
    return trial.run(patients=40, out=tmp_path_factory.mktemp("tgi") / "run", report=False)


def test_second_model_runs_every_patient_through_the_pipeline(result):
    """Every patient once, in its randomised arm, with RECIST responses and a summary."""
    out = result.outcomes
    assert sorted(out["patient_id"]) == list(range(40))
    assert set(out["arm"]) == {"docetaxel", "placebo"}
    assert set(out["best_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
    assert result.manifest["model"] == "claret2009"
    assert "Claret2009" in result.manifest["citations"]
    assert {"ORR", "median_PFS_mo"} <= set(result.summary["endpoint"])
    assert "growth_rate" not in result.patients  # metastatic_io parameters only where they exist


def test_second_model_applies_dosing_rules_and_drug_effect(result):
    """Claret 2009 tumours grow (K_L = 0.021/day, doubling ~33 days), so every patient
    progresses within a year; the treated arm stops at its scan-read progression; the
    placebo arm is never treated."""
    out = result.outcomes.set_index("patient_id")
    assert np.isfinite(out["pfs_days"]).all() and out["pfs_event"].all()
    treated = out[out["arm"] == "docetaxel"]
    assert (treated["discontinued"] == "progression").all()
    np.testing.assert_allclose(treated["treatment_end_day"], treated["pfs_days"])
    placebo = out[out["arm"] == "placebo"]
    assert (placebo["treatment_end_day"] == 0).all()
    assert (placebo["discontinued"] == "completed").all()
    events = result.events
    stops = events[(events["kind"] == "discontinuation")]
    assert set(stops["patient_id"]) == set(treated.index)
