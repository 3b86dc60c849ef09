"""The calibration report (issue 15 item 6) on a small synthetic store: real targets of two
example trials (H1's targets and hierarchy), simulated values written through the store's API
with known spreads, so the intervals, interval scores and the unreachable target are checked
by hand."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotwin._constants import DISCLAIMER
from oncotwin.calibration.hierarchy import Hierarchy
from oncotwin.calibration.report import (
    NOT_YET,
    REPORT_NAME,
    TABLE_NAME,
    interval_score,
    observed_interval,
    save_analysis,
    target_table,
    write_report,
)
from oncotwin.calibration.store import (
    CalibrationStore,
    CalibrationStoreError,
    SimRecord,
    targets_hash,
)
from oncotwin.calibration.targets import load_targets

EXAMPLES = ("keynote024", "zuma1")
PATIENTS = 50
#: Hand-checked target: wave-1 values 20, 24, ..., 60 over 11 sets -> 2.5% / 97.5% (linear
#: interpolation at positions 0.25 and 9.75) = 21 and 59; observed 44.8 inside: IS = 38.
CHECKED = "KN024_PEMBRO:ORR"
#: Unreachable target: observed 83% and every simulated value 2-14%: the model is too low.
UNREACHABLE = "ZUMA1_AXICEL:ORR"


def _value(t, i: int, wave: int) -> float:
    if t.target_id == CHECKED:
        return 20.0 + 4.0 * i if wave == 1 else 70.0  # wave 2 must not enter the prior
    if t.target_id == UNREACHABLE:
        return 2.0 + i if wave == 1 else 13.0 + i
    return t.observed * (0.7 + 0.06 * i) if wave == 1 else t.observed


def _summary(targets, i: int, wave: int) -> pd.DataFrame:
    rows = [
        {"arm": t.arm, "endpoint": t.endpoint, "value": _value(t, i, wave), "n": PATIENTS}
        for t in targets
    ]
    arm = targets[0].arm
    rows.append({"arm": arm, "endpoint": "DCR", "value": 60.0, "n": PATIENTS})  # no target
    return pd.DataFrame(rows)


def _rec(sid: str, ex: str, status: str = "ok") -> SimRecord:
    return SimRecord(sid, ex, PATIENTS, 0, 2 * PATIENTS, "metastatic_io", "fp0", "ps", f"pv-{sid}",
                     1.5, status, "" if status == "ok" else "SolverError: stiff")  # fmt: skip


@pytest.fixture(scope="module")
def setting():
    targets = [t for t in load_targets() if t.example in EXAMPLES]
    hierarchy = Hierarchy.build(targets)
    return targets, hierarchy


@pytest.fixture(scope="module")
def built_store(tmp_path_factory, setting) -> Path:
    """The synthetic store, built once (each write opens the database: ~0.1 s)."""
    targets, h = setting
    folder = tmp_path_factory.mktemp("calibration")
    store = CalibrationStore.create(
        folder, model_fingerprints={"metastatic_io": "fp0"}, targets_hash=targets_hash(targets),
        hierarchy_json=h.to_json(), n_targets=len(targets),
        options={"free_quantities": list(h.names)},
    )  # fmt: skip
    u = np.linspace(0.0, 1.0, 11)
    sets = pd.DataFrame({q.name: q.lower + u * (q.upper - q.lower) for q in h.free})
    ids = store.add_wave(1, design="sobol", patients=PATIENTS, seed=0, examples=list(EXAMPLES),
                         sets=sets)  # fmt: skip
    by_ex = {ex: [t for t in targets if t.example == ex] for ex in EXAMPLES}
    for i, sid in enumerate(ids):
        for ex in EXAMPLES:
            store.record(_rec(sid, ex), _summary(by_ex[ex], i, 1))
    ids2 = store.add_wave(2, design="given", patients=PATIENTS, seed=0, examples=list(EXAMPLES),
                          sets=sets.iloc[:2] * 0.5, origin="given")  # fmt: skip
    for i, sid in enumerate(ids2):
        for ex in EXAMPLES:
            store.record(_rec(sid, ex), _summary(by_ex[ex], i, 2))
    store.close()
    return folder


@pytest.fixture
def store_dir(tmp_path, built_store) -> Path:
    """A private copy of the synthetic store."""
    out = tmp_path / "cal"
    shutil.copytree(built_store, out)
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory, built_store, setting) -> tuple[Path, str]:
    """The report of the synthetic store (written once) and its text."""
    targets, _ = setting
    out = tmp_path_factory.mktemp("report") / "cal"
    shutil.copytree(built_store, out)
    path = write_report(out, targets=targets)
    return path, path.read_text(encoding="utf-8")


def test_interval_score_by_hand():
    assert interval_score(21.0, 59.0, 44.8) == pytest.approx(38.0)  # inside: the width
    assert interval_score(10.0, 20.0, 25.0) == pytest.approx(10.0 + 40.0 * 5.0)  # above
    assert interval_score(10.0, 20.0, 8.0) == pytest.approx(10.0 + 40.0 * 2.0)  # below
    assert interval_score(10.0, 20.0, 25.0, alpha=0.1) == pytest.approx(10.0 + 20.0 * 5.0)
    assert interval_score(10.0, math.inf, 25.0) == math.inf  # a median not reached: unbounded
    assert math.isnan(interval_score(10.0, math.nan, 25.0))
    np.testing.assert_allclose(interval_score([0, 0], [1, 1], [0.5, 2.0]), [1.0, 41.0])
    with pytest.raises(Exception, match="alpha"):
        interval_score(0, 1, 0.5, alpha=1.5)


def test_observed_interval_follows_the_sampling_law(setting):
    targets, _ = setting
    t = {x.target_id: x for x in targets}
    lo, hi = observed_interval(t[CHECKED])  # 69 of 154, exact binomial
    assert lo == pytest.approx(36.8, abs=0.3) and hi == pytest.approx(53.0, abs=0.3)
    m = t["KN024_PEMBRO:median_OS_mo"]
    lo, hi = observed_interval(m)
    assert math.log(hi / m.observed) == pytest.approx(1.959964 * m.se, rel=1e-6)
    assert lo * hi == pytest.approx(m.observed**2, rel=1e-9)  # symmetric on the log scale
    cens = SimpleNamespace(observed=20.0, law="lognormal", n=50, se=0.2, censored=True)
    assert observed_interval(cens) == (20.0, math.inf)


def test_report_renders_every_target_and_scores_by_hand(report, setting):
    targets, h = setting
    path, html = report
    assert path.name == REPORT_NAME
    assert DISCLAIMER in html and "not medical advice" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for t in targets:
        assert t.target_id in html, t.target_id
    # run summary: fingerprint, hash, simulations, free quantities and the uncalibrated list
    assert "fp0" in html and targets_hash(targets) in html
    assert "26 simulations done, 0 failed" in html  # (11 + 2) sets x 2 examples
    assert f"Free quantities ({len(h.free)})" in html
    assert h.uncalibrated and all(n in html for n, _ in h.uncalibrated)
    assert "uncalibrated: no arm for" in html
    # no posterior or emulator yet: said, not failed
    assert f"Posterior intervals: <b>{NOT_YET}</b>" in html
    assert f"Posterior draws: <b>{NOT_YET}</b>" in html and "Design coverage" in html
    assert "no emulator scores" in html
    assert html.count("data:image/png;base64,") >= 5  # 4 endpoint classes + design figures

    table = pd.read_csv(path.with_name(TABLE_NAME)).set_index("target_id")
    assert set(table.index) == {t.target_id for t in targets}
    row = table.loc[CHECKED]
    assert (row["prior_low"], row["prior_high"]) == pytest.approx((21.0, 59.0))
    assert row["prior_sets"] == 11  # wave 1's design sets only (wave 2's 70% left out)
    assert row["prior_width"] == pytest.approx(38.0) and row["prior_score"] == pytest.approx(38.0)
    assert bool(row["prior_inside"]) and math.isnan(row["post_low"])
    miss = table.loc[UNREACHABLE]  # 2..12 -> 2.25-11.75; observed 83 above
    assert (miss["prior_low"], miss["prior_high"]) == pytest.approx((2.25, 11.75))
    assert miss["prior_score"] == pytest.approx(9.5 + 40.0 * (83.0 - 11.75))
    assert not bool(miss["prior_inside"])
    assert miss["sim_max"] == pytest.approx(14.0) and miss["sim_runs"] == 13


def test_an_unreachable_target_is_named_a_model_defect(report, setting):
    targets, _ = setting
    html = report[1]
    defects = html.split('id="defects"')[1].split("</section>")[0]
    assert UNREACHABLE in defects and "model too low" in defects
    assert "above every one of 13 simulated values" in defects and "outside its CI" in defects
    assert "implausible for every run" in defects
    others = [t.target_id for t in targets if t.target_id != UNREACHABLE]
    assert not [tid for tid in others if tid + "<" in defects]  # only the unreachable one
    assert "1</b> target(s) out of reach: 1 with the model too low, 0 too high" in defects


def test_posterior_emulator_and_history_are_shown_when_saved(store_dir, setting):
    targets, h = setting
    names = list(h.names)
    rng = np.random.default_rng(0)
    draws = pd.DataFrame({"chain": np.repeat([0, 1], 200), "draw": np.tile(np.arange(200), 2)})
    for q in h.free:  # the first quantity well identified, the others spread over the prior
        mid, half = 0.5 * (q.lower + q.upper), 0.5 * (q.upper - q.lower)
        sd = 0.02 * half if q.name == names[0] else 0.4 * half
        draws[q.name] = np.clip(rng.normal(mid, sd, 400), q.lower, q.upper)
    draws["tau_response"] = np.abs(rng.normal(0, 0.2, 400))
    pred = pd.DataFrame(
        [{"target": t.target_id, "observed": t.observed, "model_low": 0.9 * t.observed,
          "model_median": t.observed, "model_high": 1.1 * t.observed,
          "low": 0.8 * t.observed, "high": 1.2 * t.observed} for t in targets]
    ).set_index("target")  # fmt: skip
    pred.loc[UNREACHABLE, ["model_low", "model_high"]] = [10.0, 20.0]
    posterior = SimpleNamespace(
        draws=draws,
        diagnostics=pd.DataFrame({"r_hat": 1.01, "ess": 350.0}, index=[*names, "tau_response"]),
        predictive=lambda: pred,
    )
    scores = pd.DataFrame(
        {"r2": 0.9, "rmse": 0.1, "coverage95": 0.95, "noise_sd": 0.05, "runs": 13},
        index=pd.Index([t.target_id for t in targets], name="target"),
    )
    emulator = SimpleNamespace(scores=lambda: scores)
    history = SimpleNamespace(fraction_remaining=lambda: 0.125, cutoff=3.0, kth=2)
    files = save_analysis(store_dir, wave=1, emulator=emulator, history=history,
                          posterior=posterior)  # fmt: skip
    assert {f.name for f in files} >= {"posterior_draws.csv", "emulator_scores.csv"}

    table = target_table(store_dir, targets=targets).set_index("target_id")
    row = table.loc[CHECKED]
    assert (row["post_low"], row["post_high"]) == pytest.approx((0.9 * 44.8, 1.1 * 44.8))
    assert row["post_score"] == pytest.approx(0.2 * 44.8) and row["post_inside"]
    miss = table.loc[UNREACHABLE]
    assert miss["post_score"] == pytest.approx(10.0 + 40.0 * (83.0 - 20.0))
    assert not miss["post_inside"]

    html = write_report(store_dir, targets=targets).read_text(encoding="utf-8")
    assert f"Posterior intervals: <b>{NOT_YET}</b>" not in html
    assert "Posterior pairs plot" in html and "contraction" in html
    assert "0.125" in html  # the wave's fraction of the prior box not implausible
    assert "median R&sup2; 0.90" in html
    quantities = html.split('id="quantities"')[1]
    assert (
        names[0] in quantities
        and "tau_response" in quantities
        and "half-normal, scale 0.5" in quantities
    )


def test_cli_report_writes_the_html(store_dir, setting, monkeypatch):
    from oncotwin.calibration import targets as targets_module
    from oncotwin.cli.main import app

    targets, _ = setting  # the installed targets, one fewer than the store's: a note says so
    monkeypatch.setattr(targets_module, "load_targets", lambda: list(targets[:-1]))
    res = CliRunner().invoke(app, ["calibrate", "report", str(store_dir)])
    assert res.exit_code == 0, res.output
    assert (store_dir / REPORT_NAME).is_file() and REPORT_NAME in "".join(res.output.split())
    html = (store_dir / REPORT_NAME).read_text(encoding="utf-8")
    assert "differ from those of the store" in html


def test_a_folder_without_a_store_is_refused_with_the_fix(tmp_path, setting):
    targets, _ = setting
    with pytest.raises(CalibrationStoreError, match="holds no calibration store"):
        write_report(tmp_path / "nothing", targets=targets)
    with pytest.raises(Exception, match="nothing to save"):
        save_analysis(tmp_path)


def test_the_emulators_history_matching_is_read_from_save_analysis(store_dir, setting):
    """save_analysis with the real emulator and history matching (H3's modules), fitted on the
    synthetic wave: the unreachable target is unreachable for the emulator too."""
    pytest.importorskip("sklearn")
    emulator_mod = pytest.importorskip("oncotwin.calibration.emulator")
    history_mod = pytest.importorskip("oncotwin.calibration.history")
    targets, h = setting
    use = [t for t in targets if t.target_id in (CHECKED, UNREACHABLE)]
    store = CalibrationStore.open(store_dir)
    sets = store.sets(1)
    names = [q.name for q in h.free][:2]
    vals = store.target_values(use, wave=1)
    y = np.column_stack(
        [emulator_mod.to_link(t.law, vals[t.target_id].to_numpy(), n=PATIENTS) for t in use]
    )
    bounds = np.array([[q.lower, q.upper] for q in h.free][:2])
    em = emulator_mod.Emulator(bounds, folds=3, restarts=1).fit(
        sets[names].to_numpy(), y, [t.target_id for t in use], inputs=names
    )
    hm = history_mod.HistoryMatch(em, use, n_sim=PATIENTS, kth=1)
    save_analysis(store_dir, wave=1, emulator=em, history=hm, theta=sets[names].to_numpy())
    imp = pd.read_csv(store_dir / "analysis" / "implausibility.csv").set_index("target")
    assert not imp.loc[UNREACHABLE, "reachable"] and imp.loc[CHECKED, "reachable"]
    html = write_report(store_dir, targets=targets).read_text(encoding="utf-8")
    defects = html.split('id="defects"')[1].split("</section>")[0]
    assert "emulator: implausible everywhere in the prior box" in defects
    assert "Emulator: held-out R&sup2; per target" in html
    assert f"Posterior intervals: <b>{NOT_YET}</b>" in html  # no posterior saved
