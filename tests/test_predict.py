"""``trial run --predict``: predictive intervals, the prediction record (written before any
comparison, hashes checked), ``trial compare RECORD`` and clear errors. Tiny sizes: a
synthetic calibrated set, 20 draws, 30 simulated patients per arm."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm
from typer.testing import CliRunner

from oncotwin.calibration.calibrated import ENV_VAR
from oncotwin.cli.main import app
from oncotwin.errors import OncotwinError
from oncotwin.trials import predict as P
from test_calibrated_set_helpers import write_set

TINY = ["--draws", "20", "--patients", "40", "--sim-per-arm", "30"]


@pytest.fixture(scope="module")
def set_path(tmp_path_factory):
    return write_set(tmp_path_factory.mktemp("sets"))


@pytest.fixture(scope="module")
def predicted(set_path, tmp_path_factory):
    """One tiny CLI prediction of KEYNOTE-024; records the order of record and compare."""
    out = tmp_path_factory.mktemp("pred") / "kn024"
    seen: list[bool] = []
    original = P.compare_record

    def spy(record, published=None):
        seen.append((out / P.RECORD_FILE).is_file())
        return original(record, published)

    mp = pytest.MonkeyPatch()
    mp.setenv(ENV_VAR, str(set_path))
    mp.setattr(P, "compare_record", spy)
    try:
        r = CliRunner().invoke(
            app, ["trial", "run", "--example", "keynote024", "--predict", *TINY, "--out", str(out)]
        )
    finally:
        mp.undo()
    assert r.exit_code == 0, (r.output, repr(r.exception))
    return out, r.output, seen


def test_predict_writes_record_before_comparing(predicted):
    out, output, seen = predicted
    assert seen == [True]  # the record existed when the comparison ran
    files = (P.RECORD_FILE, "prediction.csv", "prediction_curves.csv", "prediction_vpc.png")
    for name in (*files, "prediction.html"):
        assert (out / name).is_file(), name
    rec = json.loads((out / P.RECORD_FILE).read_text())
    assert rec["draws"] == 20 and rec["patients"] == 40 and rec["calibrated_set"]
    assert len(rec["model_fingerprint"]) == 16 and len(rec["set_hash"]) == 16
    assert rec["spec_hash"] and rec["created"].endswith("+00:00")
    assert "synthetic-test" in output and "in sample" in output
    assert "predictive interval" in output and "ok record" in " ".join(output.split())


def test_every_interval_holds_its_point_estimate(predicted):
    out, _, _ = predicted
    table = pd.read_csv(out / "prediction.csv")
    arms = set(table["arm"])
    assert arms == {"pembrolizumab", "platinum doublet chemotherapy"}
    need = {"ORR", "CR", "median_PFS_mo", "median_OS_mo", "OS_12mo", "g3plus_AE"}
    assert need <= set(table["endpoint"]) and {"HR_PFS", "HR_OS"} <= set(table["endpoint"])
    for r in table.itertuples():
        assert r.low <= r.median <= r.high, (r.arm, r.endpoint)
        if r.unit == "%":
            assert 0 <= r.low and r.high <= 100
    assert (table["high"] > table["low"]).mean() > 0.7  # intervals, not points
    bands = pd.read_csv(out / "prediction_curves.csv")
    for (arm, kind), b in bands.groupby(["arm", "kind"]):
        assert (b["low"] <= b["median"]).all() and (b["median"] <= b["high"]).all()
        assert (np.diff(b["median"]) <= 1e-12).all(), (arm, kind)  # survival never rises
    # patients alive at the horizon are censored there, not counted as deaths
    surv = table.set_index(["arm", "endpoint"])["simulated"]
    os_end = bands[(bands["arm"] == "pembrolizumab") & (bands["kind"] == "OS")]["median"].iloc[-1]
    if surv[("pembrolizumab", "OS_24mo")] > 40:
        assert os_end > 0.1


def test_compare_checks_hashes_and_scores(predicted, tmp_path):
    out, _, _ = predicted
    cmp = P.compare_record(out)
    assert cmp.intact
    pub = pd.DataFrame(
        {"arm": ["pembrolizumab"] * 2, "endpoint": ["ORR", "CR"], "published": [-5.0, 50.0]}
    )
    c = P.compare_record(out / P.RECORD_FILE, pub).table.set_index(["arm", "endpoint"])
    orr = c.loc[("pembrolizumab", "ORR")]
    assert not orr["inside"]  # -5% is below any interval
    alpha = 0.05
    want = (orr["high"] - orr["low"]) + 2 / alpha * (orr["low"] + 5.0)
    assert orr["interval_score"] == pytest.approx(want)
    # an edited record is detected
    rec = json.loads((out / P.RECORD_FILE).read_text())
    rec["intervals"][0]["high"] = 99.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(rec))
    checks = dict((w, ok) for w, ok, _ in P.compare_record(edited).checks)
    assert checks == {"record": False, "spec": True, "model": True, "calibrated set": True}
    r = CliRunner().invoke(app, ["trial", "compare", str(edited)])
    assert r.exit_code == 0 and "CHANGED" in r.output and "edited after" in r.output


def test_changed_set_is_detected(predicted, set_path, tmp_path):
    import shutil

    out, _, _ = predicted
    rec = json.loads((out / P.RECORD_FILE).read_text())
    copy = shutil.copytree(set_path, tmp_path / "set")
    draws = pd.read_csv(copy / "draws.csv")
    draws.loc[0, "growth_rate"] += 0.5
    draws.to_csv(copy / "draws.csv", index=False)
    rec["set_path"] = str(copy)
    rec["record_hash"] = P._record_hash(rec)
    changed = tmp_path / "rec.json"
    changed.write_text(json.dumps(rec))
    checks = {w: (ok, m) for w, ok, m in P.compare_record(changed).checks}
    assert checks["record"][0] and not checks["calibrated set"][0]
    assert "changed since the prediction" in checks["calibrated set"][1]


def test_compare_published_file_and_malformed_record(predicted, tmp_path):
    out, _, _ = predicted
    csv = tmp_path / "pub.csv"
    csv.write_text("arm,endpoint,published\npembrolizumab,ORR,44.8\n")
    r = CliRunner().invoke(app, ["trial", "compare", str(out), "--published", str(csv)])
    assert r.exit_code == 0, r.output
    assert "44.8" in r.output and re.search(r"interval: [01] of 1\b", r.output)
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    r = CliRunner().invoke(app, ["trial", "compare", str(bad)])
    assert r.exit_code == 2 and "not JSON" in r.output
    bad.write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(OncotwinError, match="not an oncotwin prediction record"):
        P.read_record(bad)


def test_clear_errors(set_path, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(set_path))
    base = ["trial", "run", "--example", "keynote024", "--predict", "--out", str(tmp_path / "x")]
    r = CliRunner().invoke(app, [*base, "--draws", "0"])
    assert r.exit_code == 2 and "--draws 0" in r.output
    r = CliRunner().invoke(app, [*base, "--parameters", "uncalibratd"])
    assert r.exit_code == 2 and "did you mean 'uncalibrated'" in r.output.lower()
    r = CliRunner().invoke(app, [*base, "--parameters", "uncalibrated"])
    assert r.exit_code == 2 and "needs a calibrated set" in r.output
    r = CliRunner().invoke(app, [*base, "--resume"])
    assert r.exit_code == 2 and "--resume does not apply to --predict" in r.output
    with pytest.raises(OncotwinError, match="sim_per_arm"):
        P.predict("keynote024", sim_per_arm=3)
    old = write_set(tmp_path, name="old", fingerprint="0000000000000000")
    with pytest.raises(OncotwinError, match=r"cannot predict.*fingerprint 0000000000000000"):
        P.predict("keynote024", calibrated=str(old), draws=5, sim_per_arm=10, workers=1)


def test_predictive_laws_match_their_closed_forms():
    """With no parameter spread, no tau and no centre error the rate interval is the
    binomial's, and a one-component normal mixture is the log-normal's."""
    eta = np.full(50, math.log(0.3 / 0.7))
    mid, lo, hi = P._rate_interval(eta, np.zeros(50), 100, 0.95)
    assert lo == binom.ppf(0.025, 100, 0.3) and hi == binom.ppf(0.975, 100, 0.3)
    assert mid == binom.ppf(0.5, 100, 0.3)
    mid, lo, hi = P._normal_mixture_interval(np.full(5, math.log(10.0)), np.full(5, 0.2), 0.95)
    assert lo == pytest.approx(10 * math.exp(-0.2 * norm.ppf(0.975)), rel=2e-3)
    assert hi == pytest.approx(10 * math.exp(0.2 * norm.ppf(0.975)), rel=2e-3)
    assert P._normal_mixture_interval(np.full(3, math.inf), np.ones(3), 0.95)[0] == math.inf
    # a median beyond the follow-up is not observed: reported as not reached
    assert (
        P._normal_mixture_interval(np.full(3, math.log(50.0)), np.full(3, 0.01), 0.95, 40)[1]
        == math.inf
    )


def test_regression_noise_is_not_taken_for_parameter_spread():
    """Outcomes that do not depend on theta give (nearly) no between-draw spread."""
    rng = np.random.default_rng(0)
    zd = rng.normal(size=(200, 6))
    draw = rng.integers(0, 200, 2000)
    y = rng.random(2000) < 0.4
    fit = P._fit_link(zd[draw], y, zd)
    assert np.std(fit.eta) < 0.08  # uncorrected ridge fits spread ~0.15 on the logit
    y2 = rng.random(2000) < 1 / (1 + np.exp(-(zd[draw, 0] * 0.8 - 0.4)))
    assert np.std(P._fit_link(zd[draw], y2, zd).eta) == pytest.approx(0.8, abs=0.2)


@pytest.mark.slow
def test_prediction_is_deterministic_under_its_seed(set_path):
    kw = {"calibrated": str(set_path), "draws": 20, "patients": 40, "sim_per_arm": 30}
    a = P.predict("keynote024", seed=5, workers=1, **kw)
    b = P.predict("keynote024", seed=5, workers=2, **kw)
    pd.testing.assert_frame_equal(a.table, b.table)
