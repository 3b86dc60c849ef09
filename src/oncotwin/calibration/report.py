"""The calibration report: one self-contained HTML file per calibration store (issue 15, item 6).

:func:`write_report` reads a calibration folder (``calibration.duckdb`` of
:mod:`oncotwin.calibration.store`, and the analysis files of :func:`save_analysis` when an
emulator, history matching or a posterior has been fitted) and writes
``calibration_report.html`` (figures as inline base64 PNG, inline CSS, no JavaScript, no
external URL) and ``calibration_report_targets.csv`` (the per-target numbers of section 2).

Sections:

1. **Run summary**: model fingerprints, targets hash, waves, sets, simulations done and failed,
   wall time, the free quantities by level and the uncalibrated list of the hierarchy.
2. **Targets**: per trial and arm, each target's observed value with its 95% CI from its
   sampling law (:func:`observed_interval`), the prior interval (2.5-97.5% of the simulated
   values over the first wave's design sets), the posterior interval (the model value's
   2.5-97.5% over the posterior draws: :meth:`~oncotwin.calibration.posterior.Posterior.
   predictive`'s ``model_low``/``model_high``), their widths and interval scores
   (:func:`interval_score`) and whether the observed value lies inside; one figure per
   endpoint class. Both intervals are of the *model's* value (at the runs' patients per
   arm), so they compare like with like; the observed CI carries the trial's sampling noise.
3. **Targets no parameter set reaches** (:func:`unreachable_targets`): observed outside the
   range of every simulated value, or implausible (history matching on the runs themselves,
   and on the emulator when fitted) for every set; named as candidate model defects with the
   direction of the miss.
4. **Emulator and history matching**: held-out R^2 per target; per wave the fraction of runs
   not implausible and the fraction of the prior box not implausible (emulator).
5. **Free quantities**: posterior pairs plot and medians / 95% intervals against the prior
   bounds, or, before a posterior exists, the design's coverage of the prior box.

A part that does not exist yet (no posterior, no emulator) is reported as "not yet computed".
After fitting, keep the results beside the store for the report (and for later sessions)::

    save_analysis(out, wave=n, emulator=em, history=hm, posterior=post, theta=points)

writes ``out/analysis/*.csv`` (:data:`ANALYSIS_FILES`): the emulator's held-out scores, the
wave's fraction of the prior box not implausible and each target's reachability at
``points``, and the posterior's draws, diagnostics and predictive intervals (the targets CSV
keeps the posterior's new-arm interval too, ``post_new_low``/``post_new_high``: the model value
plus the trial random effect and the sampling noise at the trial's n).

Research simulation (oncotwin): not medical advice.

Examples
--------
>>> interval_score(10.0, 20.0, 25.0)  # width 10 + (2 / 0.05) x 5
210.0
>>> interval_score(10.0, 20.0, 15.0)
10.0
>>> endpoint_class("median_OS_mo"), endpoint_class("HR_PFS"), endpoint_class("g3plus_CRS")
('median', 'hr', 'toxicity')
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin._version import __version__
from oncotwin.errors import OncotwinError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.calibration.store import CalibrationStore

__all__ = [
    "ALPHA",
    "ANALYSIS_DIR",
    "ANALYSIS_FILES",
    "CUTOFF",
    "ENDPOINT_CLASSES",
    "KTH",
    "REPORT_NAME",
    "TABLE_NAME",
    "endpoint_class",
    "interval_score",
    "observed_interval",
    "run_implausibility",
    "save_analysis",
    "target_table",
    "unreachable_targets",
    "write_report",
]

#: The report's file name in the calibration folder.
REPORT_NAME = "calibration_report.html"
#: The per-target numbers of section 2, beside the report.
TABLE_NAME = "calibration_report_targets.csv"
#: Sub-folder of a calibration folder with the analysis files of :func:`save_analysis`.
ANALYSIS_DIR = "analysis"
#: Analysis files read by the report (in :data:`ANALYSIS_DIR`).
ANALYSIS_FILES: dict[str, str] = {
    "emulator_scores": "emulator_scores.csv",
    "history_waves": "history_waves.csv",
    "implausibility": "implausibility.csv",
    "posterior_draws": "posterior_draws.csv",
    "posterior_diagnostics": "posterior_diagnostics.csv",
    "posterior_predictive": "posterior_predictive.csv",
}
#: 1 - nominal coverage of every interval of the report (95% intervals).
ALPHA = 0.05
#: Implausibility cutoff (Pukelsheim's three-sigma rule), as in history matching.
CUTOFF = 3.0
#: A run is not implausible when its KTH-largest implausibility over targets is <= CUTOFF.
KTH = 2
#: Endpoint classes of the figures, in page order: (key, heading, x-axis label, log axis).
ENDPOINT_CLASSES: tuple[tuple[str, str, str, bool], ...] = (
    ("response", "Response rates (ORR, CR)", "rate (%)", False),
    ("landmark", "Landmark survival rates", "rate (%)", False),
    ("median", "Median PFS and OS", "months (log scale)", True),
    ("hr", "Hazard ratios vs the reference arm", "hazard ratio (log scale)", True),
    ("toxicity", "Grade >= 3 toxicity rates", "rate (%)", False),
)
NOT_YET = "not yet computed"
_REFERENCES = (
    "Gneiting T, Raftery AE (2007). Strictly proper scoring rules, prediction, and estimation. "
    "J Am Stat Assoc 102(477):359-378 (interval score, section 6.2).",
    "Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the "
    "case of the binomial. Biometrika 26(4):404-413 (exact CI of a published rate).",
    "Vernon I, Goldstein M, Bower RG (2010). Galaxy formation: a Bayesian uncertainty analysis. "
    "Bayesian Anal 5(4):619-669 (history matching, implausibility, 3-sigma cutoff).",
)


# ------------------------------------------------------------------------------ scores
def interval_score(lo: Any, hi: Any, y: Any, alpha: float = ALPHA) -> Any:
    """Interval score of the central ``1 - alpha`` interval ``[lo, hi]`` for the value ``y``.

    ``(hi - lo) + (2 / alpha) (lo - y)+ + (2 / alpha) (y - hi)+`` (Gneiting & Raftery 2007,
    eq. 43): the width, plus a penalty growing with the distance of a miss; lower is better,
    and the expected score is smallest for the true quantiles. Works elementwise on arrays;
    NaN where an input is NaN or ``y`` is infinite, ``inf`` for an unbounded interval (e.g. a
    median not reached in the simulations).

    Examples
    --------
    >>> interval_score(21.0, 59.0, 44.8)
    38.0
    >>> round(interval_score(2.25, 11.75, 44.8), 2)
    1331.5
    >>> interval_score(5.0, float("inf"), 26.3)
    inf
    """
    if not 0 < alpha < 1:
        raise OncotwinError(f"alpha={alpha!r}; give 0 < alpha < 1 (0.05 for 95% intervals)")
    lo_a, hi_a, y_a = (np.asarray(v, dtype=float) for v in (lo, hi, y))
    with np.errstate(invalid="ignore"):
        score = (
            (hi_a - lo_a)
            + (2.0 / alpha) * np.maximum(lo_a - y_a, 0.0)
            + (2.0 / alpha) * np.maximum(y_a - hi_a, 0.0)
        )
    unbounded = (np.isneginf(lo_a) | np.isposinf(hi_a)) & ~(np.isnan(lo_a) | np.isnan(hi_a))
    finite = np.isfinite(lo_a) & np.isfinite(hi_a) & np.isfinite(y_a)
    out = np.where(finite, score, np.where(unbounded & np.isfinite(y_a), np.inf, np.nan))
    return float(out) if out.ndim == 0 else out


def observed_interval(target: Any, level: float = 1 - ALPHA) -> tuple[float, float]:
    """The ``level`` CI of a target's published value from its sampling law.

    ``binomial``: exact (Clopper-Pearson) interval of ``k = round(observed / 100 x n)`` of
    ``n``, in percent; ``lognormal`` / ``normal_log``: ``observed x exp(-/+ z se)``; a
    ``censored`` target (median not reached) gives ``(observed, inf)``: the published value
    is a lower bound.

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> lo, hi = observed_interval(T(observed=50.0, law="binomial", n=100, se=float("nan")))
    >>> round(lo, 1), round(hi, 1)
    (39.8, 60.2)
    >>> [round(v, 2) for v in observed_interval(T(observed=10.0, law="lognormal", n=50,
    ...                                          se=0.1))]
    [8.22, 12.17]
    """
    from scipy.stats import beta, norm

    if not 0 < level < 1:
        raise OncotwinError(f"level={level!r}; give 0 < level < 1 (0.95 for a 95% CI)")
    a = 1.0 - level
    y = float(target.observed)
    if target.law == "binomial":
        n = int(target.n)
        k = min(max(round(y / 100.0 * n), 0), n)
        lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
        return 100.0 * lo, 100.0 * hi
    z = float(norm.ppf(1 - a / 2))
    se = float(target.se)
    if bool(getattr(target, "censored", False)):
        return y, math.inf
    return y * math.exp(-z * se), y * math.exp(z * se)


def endpoint_class(endpoint: str) -> str:
    """The figure class of a summary endpoint: ``response``, ``landmark``, ``median``, ``hr``
    or ``toxicity`` (see :data:`ENDPOINT_CLASSES`)."""
    if endpoint.startswith("median_"):
        return "median"
    if endpoint.startswith("HR_"):
        return "hr"
    if endpoint.startswith("g3plus_"):
        return "toxicity"
    if endpoint.startswith(("PFS_", "OS_")):
        return "landmark"
    return "response"


def _quantiles(values: np.ndarray, alpha: float = ALPHA) -> tuple[float, float, int]:
    """2.5% and 97.5% (linear interpolation) of the non-NaN values, infinite ones kept (a
    median not reached in a simulation is larger than every finite value); and their count."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan, math.nan, 0
    big = np.where(np.isposinf(v), 1e300, np.where(np.isneginf(v), -1e300, v))
    lo, hi = np.quantile(big, [alpha / 2, 1 - alpha / 2])
    back = [math.inf if q >= 1e299 else -math.inf if q <= -1e299 else float(q) for q in (lo, hi)]
    return back[0], back[1], int(v.size)


# ------------------------------------------------------------------------------ the run
@dataclass
class _Run:
    """Everything the report reads from a calibration folder."""

    path: Path
    info: dict[str, Any]
    waves: pd.DataFrame
    sims: pd.DataFrame
    sets: pd.DataFrame
    targets: list[Any]
    hierarchy: Any
    hierarchy_error: str
    values: dict[int, pd.DataFrame]  # wave -> sets x target ids
    patients: dict[int, int]  # wave -> patients per arm
    analysis: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def free_names(self) -> list[str]:
        if self.hierarchy is not None:
            return [q.name for q in self.hierarchy.free]
        return [str(n) for n in self.info.get("options", {}).get("free_quantities", [])]

    def all_values(self) -> pd.DataFrame:
        """Simulated values of every wave (rows: sets; columns: target ids)."""
        frames = [v for v in self.values.values() if len(v)]
        ids = [t.target_id for t in self.targets]
        if not frames:
            return pd.DataFrame(columns=ids, dtype=float)
        return pd.concat(frames).reindex(columns=ids)


def _wave_values(
    store: CalibrationStore, wave: Mapping[str, Any], targets: Sequence[Any]
) -> pd.DataFrame:
    """Sets x target ids of one wave, at the wave's own patients and seed."""
    vals = store.values(int(wave["wave"]))
    vals = vals[(vals["patients"] == int(wave["patients"])) & (vals["seed"] == int(wave["seed"]))]
    where = {(t.example, t.arm, t.endpoint): t.target_id for t in targets}
    keys = zip(vals["example"], vals["arm"], vals["endpoint"], strict=True)
    vals = vals.assign(target_id=[where.get(k) for k in keys]).dropna(subset=["target_id"])
    wide = vals.pivot_table(index="set_id", columns="target_id", values="value", aggfunc="first")
    sets = store.sets(int(wave["wave"])).index
    return wide.reindex(index=sets, columns=[t.target_id for t in targets]).astype(float)


def _load_hierarchy(info: Mapping[str, Any]) -> tuple[Any, str]:
    try:
        from oncotwin.calibration.hierarchy import Hierarchy

        return Hierarchy.from_json(json.dumps(info["hierarchy"])), ""
    except (OncotwinError, ImportError, KeyError, TypeError) as exc:
        return None, str(exc)


def _read_analysis(path: Path) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    folder = path / ANALYSIS_DIR
    for key, name in ANALYSIS_FILES.items():
        f = folder / name
        if f.is_file():
            try:
                out[key] = pd.read_csv(f)
            except (OSError, ValueError) as exc:
                raise OncotwinError(
                    f"{f}: cannot read it ({exc}); write it again with save_analysis(...) or "
                    "delete it"
                ) from None
    return out


def _load(run_dir: str | Path, targets: Sequence[Any] | None) -> _Run:
    from oncotwin.calibration.store import CalibrationStore, targets_hash

    path = Path(run_dir)
    store = CalibrationStore.open(path)
    info = store.run_info()
    notes: list[str] = []
    if targets is None:
        from oncotwin.calibration.targets import load_targets

        targets = load_targets()
    targets = list(targets)
    if not targets:
        raise OncotwinError("targets: none given; give the calibration targets (load_targets())")
    if targets_hash(targets) != info["targets_hash"]:
        notes.append(
            f"The targets given (hash {targets_hash(targets)}) differ from those of the store "
            f"(hash {info['targets_hash']}): observed values are today's, simulated values the "
            "store's."
        )
    hierarchy, herr = _load_hierarchy(info)
    waves = store.waves()
    values: dict[int, pd.DataFrame] = {}
    patients: dict[int, int] = {}
    for w in waves.to_dict("records"):
        ran = set(json.loads(w["examples"]))
        vals = _wave_values(store, w, [t for t in targets if t.example in ran])
        values[int(w["wave"])] = vals.reindex(columns=[t.target_id for t in targets])
        patients[int(w["wave"])] = int(w["patients"])
    return _Run(
        path=path,
        info=info,
        waves=waves,
        sims=store.sims(),
        sets=store.sets(),
        targets=targets,
        hierarchy=hierarchy,
        hierarchy_error=herr,
        values=values,
        patients=patients,
        analysis=_read_analysis(path),
        notes=notes,
    )


# ------------------------------------------------------------------------------ implausibility
def run_implausibility(
    targets: Sequence[Any], values: pd.DataFrame, n_sim: int | Mapping[str, int]
) -> pd.DataFrame:
    """Implausibility of each stored run (rows of ``values``: sets x target ids) per target.

    History matching applied to the simulated values themselves (no emulator):
    ``|z - f| / sqrt(V_obs + V_mc + V_disc)`` on the link scale with the terms of
    :mod:`oncotwin.calibration.history` (observation variance at the trial's n, Monte Carlo
    variance at ``n_sim`` patients per arm, model discrepancy ``0.1 V_obs + 0.1^2`` plus a
    confounded target's own). A censored target counts only a model value below its bound; a
    simulated median not reached counts as the target's follow-up. ``n_sim`` may map set ids
    to their wave's patients per arm. NaN where a run has no value.
    """
    from oncotwin.calibration.emulator import to_link
    from oncotwin.calibration.history import (
        DISCREPANCY_FRACTION,
        DISCREPANCY_TAU,
        mc_variance,
        observation_variance,
        observed_link,
    )

    if isinstance(n_sim, Mapping):
        n_arr = np.array([int(n_sim[s]) for s in values.index], dtype=float)
    else:
        n_arr = np.full(len(values), float(n_sim))
    out = {}
    for t in targets:
        sim = values[t.target_id].to_numpy(dtype=float) if t.target_id in values else None
        if sim is None:
            out[t.target_id] = np.full(len(values), np.nan)
            continue
        if t.law == "lognormal":
            fu = float(getattr(t, "followup_mo", math.nan))
            sim = np.where(np.isposinf(sim), fu if math.isfinite(fu) else np.nan, sim)
        imp = np.full(len(values), np.nan)
        for n in np.unique(n_arr):
            rows = n_arr == n
            link = to_link(t.law, sim[rows], n=int(n) if t.law == "binomial" else None)
            v_obs = observation_variance(t)
            own = float(getattr(t, "discrepancy", 0.0) or 0.0)
            v_disc = DISCREPANCY_FRACTION * v_obs + DISCREPANCY_TAU**2 + own**2
            with np.errstate(invalid="ignore"):
                total = v_obs + v_disc + mc_variance(t, link, int(n))
                z = observed_link(t)
                censored = bool(getattr(t, "censored", False)) and t.law != "binomial"
                gap = np.maximum(z - link, 0.0) if censored else np.abs(z - link)
                imp[rows] = gap / np.sqrt(total)
        out[t.target_id] = imp
    return pd.DataFrame(out, index=values.index)


def _kth_largest(imp: np.ndarray, k: int) -> np.ndarray:
    filled = np.where(np.isnan(imp), -np.inf, imp)
    srt = -np.sort(-filled, axis=1)
    kk = min(k, srt.shape[1]) - 1
    return np.where(np.isneginf(srt[:, kk]), np.nan, srt[:, kk]) if srt.shape[1] else srt[:, 0]


def _run_implausibility(run: _Run) -> tuple[pd.DataFrame | None, str]:
    """Implausibility of every run of every wave, or None and why."""
    allv = run.all_values()
    if allv.empty:
        return None, "no simulated values yet"
    try:
        n_of_set = {sid: run.patients[int(run.sets.loc[sid, "wave"])] for sid in allv.index}
        return run_implausibility(run.targets, allv, n_of_set), ""
    except ImportError as exc:  # the history-matching module is not installed yet
        return None, f"history matching is not available ({exc})"


# ------------------------------------------------------------------------------ tables
def _posterior_predictive(run: _Run) -> pd.DataFrame | None:
    pp = run.analysis.get("posterior_predictive")
    if pp is None or pp.empty:
        return None
    key = "target" if "target" in pp.columns else "target_id"
    return pp.set_index(key)


def target_table(run_dir: str | Path, targets: Sequence[Any] | None = None) -> pd.DataFrame:
    """Section 2's table: one row per target with its observed value and CI, prior and
    posterior intervals (NaN where not yet computed), widths, interval scores and whether the
    observed value lies inside; plus the range of every simulated value."""
    return _target_table(_load(run_dir, targets))


def _target_table(run: _Run) -> pd.DataFrame:
    first = int(run.waves["wave"].min()) if len(run.waves) else None
    prior_vals = run.values.get(first) if first is not None else None
    if prior_vals is not None and len(prior_vals):
        origin = run.sets.loc[prior_vals.index, "origin"]
        if (origin == "design").any():
            prior_vals = prior_vals[origin.to_numpy() == "design"]
    allv = run.all_values()
    pp = _posterior_predictive(run)
    rows = []
    for t in run.targets:
        lo_obs, hi_obs = observed_interval(t)
        row: dict[str, Any] = {
            "target_id": t.target_id,
            "example": t.example,
            "arm": t.arm,
            "arm_id": getattr(t, "arm_id", ""),
            "endpoint": t.endpoint,
            "class": endpoint_class(t.endpoint),
            "law": t.law,
            "n": int(t.n),
            "censored": bool(getattr(t, "censored", False)),
            "confounded": bool(getattr(t, "confounded", False)),
            "observed": float(t.observed),
            "obs_low": lo_obs,
            "obs_high": hi_obs,
        }
        if prior_vals is not None and t.target_id in prior_vals:
            plo, phi, pn = _quantiles(prior_vals[t.target_id].to_numpy())
        else:
            plo, phi, pn = math.nan, math.nan, 0
        row.update(prior_low=plo, prior_high=phi, prior_sets=pn)
        if pp is not None and t.target_id in pp.index:
            r = pp.loc[t.target_id]
            row.update(
                post_low=float(r.get("model_low", r.get("low", math.nan))),
                post_high=float(r.get("model_high", r.get("high", math.nan))),
                post_new_low=float(r.get("low", math.nan)),
                post_new_high=float(r.get("high", math.nan)),
            )
        else:
            row.update(post_low=math.nan, post_high=math.nan, post_new_low=math.nan,
                       post_new_high=math.nan)  # fmt: skip
        sim = allv[t.target_id].to_numpy(dtype=float) if t.target_id in allv else np.array([])
        sim = sim[~np.isnan(sim)]
        row.update(
            sim_min=float(sim.min()) if sim.size else math.nan,
            sim_max=float(sim.max()) if sim.size else math.nan,
            sim_median=float(np.median(sim)) if sim.size else math.nan,
            sim_runs=int(sim.size),
        )
        for p in ("prior", "post"):
            lo, hi = row[f"{p}_low"], row[f"{p}_high"]
            row[f"{p}_width"] = hi - lo if not (math.isnan(lo) or math.isnan(hi)) else math.nan
            if row["censored"]:  # a lower bound: no score; "inside" = the interval reaches it
                row[f"{p}_score"] = math.nan
                row[f"{p}_inside"] = bool(hi >= t.observed) if not math.isnan(hi) else None
            else:
                row[f"{p}_score"] = interval_score(lo, hi, t.observed)
                row[f"{p}_inside"] = (
                    bool(lo <= t.observed <= hi) if not (math.isnan(lo) or math.isnan(hi))
                    else None
                )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def unreachable_targets(
    table: pd.DataFrame, implausibility: pd.DataFrame | None = None,
    emulated: pd.DataFrame | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Targets no stored parameter set reaches: candidate model defects.

    A target is listed when its observed value lies outside the range of every simulated
    value (a censored target: when every simulated value is below its bound), or when every
    run is implausible for it (min over runs of its implausibility > :data:`CUTOFF`; from
    :func:`run_implausibility`), or when the emulator's history matching finds it unreachable
    (``emulated``: the ``implausibility`` analysis file, columns ``target``, ``reachable``,
    ``min_implausibility``). ``direction`` says which way the model misses: ``model too low``
    (every simulated value below the observed one) or ``model too high``; ``severity`` is
    ``outside its CI`` when the observed 95% CI does not overlap the simulated range either.
    """
    rows = []
    emu = None
    if emulated is not None and len(emulated):
        key = "target" if "target" in emulated.columns else "target_id"
        emu = emulated.set_index(key)
    for r in table.to_dict("records"):
        tid, y = r["target_id"], r["observed"]
        reasons: list[str] = []
        direction = ""
        lo, hi, runs = r["sim_min"], r["sim_max"], r["sim_runs"]
        if runs:
            if y > hi:
                direction = "model too low"
                reasons.append(f"above every one of {runs} simulated values (max {_fmt(hi, r)})")
            elif y < lo and not r["censored"]:
                direction = "model too high"
                reasons.append(f"below every one of {runs} simulated values (min {_fmt(lo, r)})")
        min_imp = math.nan
        if implausibility is not None and tid in implausibility:
            col = implausibility[tid].to_numpy(dtype=float)
            if np.isfinite(col).any():
                min_imp = float(np.nanmin(col))
                if min_imp > CUTOFF:
                    reasons.append(
                        f"implausible for every run (smallest implausibility {min_imp:.1f} > "
                        f"{CUTOFF:g})"
                    )
                    if not direction and runs:
                        direction = "model too low" if y > r["sim_median"] else "model too high"
        if emu is not None and tid in emu.index:
            e = emu.loc[tid]
            if not bool(e.get("reachable", True)):
                reasons.append(
                    "emulator: implausible everywhere in the prior box (smallest "
                    f"implausibility {float(e.get('min_implausibility', math.nan)):.1f})"
                )
                close = float(e.get("closest_emulated", math.nan))
                if not direction and math.isfinite(close):
                    direction = "model too low" if y > close else "model too high"
        if not reasons:
            continue
        if direction == "model too low":
            overlap = r["obs_low"] <= hi
        elif direction == "model too high":
            overlap = r["obs_high"] >= lo
        else:
            overlap = True
        rows.append(
            {
                "target_id": tid,
                "example": r["example"],
                "arm": r["arm"],
                "endpoint": r["endpoint"],
                "observed": y,
                "obs_low": r["obs_low"],
                "obs_high": r["obs_high"],
                "sim_min": lo,
                "sim_max": hi,
                "direction": direction or "unclear",
                "severity": "CI overlaps the simulated range" if overlap else "outside its CI",
                "min_implausibility": min_imp,
                "reasons": "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows, columns=list(_DEFECT_COLUMNS))


_DEFECT_COLUMNS = (
    "target_id", "example", "arm", "endpoint", "observed", "obs_low", "obs_high", "sim_min",
    "sim_max", "direction", "severity", "min_implausibility", "reasons",
)  # fmt: skip


# ------------------------------------------------------------------------------ formatting
def _e(value: Any) -> str:
    from oncotwin.report._sections import _e as esc

    return esc(value)


def _unit(r: Mapping[str, Any]) -> str:
    return {"median": " mo", "hr": ""}.get(endpoint_class(str(r["endpoint"])), "%")


def _fmt(x: float, r: Mapping[str, Any]) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "NR" if x > 0 else "-inf"
    cls = endpoint_class(str(r["endpoint"]))
    return f"{x:.2f}" if cls == "hr" else f"{x:.1f}{_unit(r)}"


def _interval(lo: float, hi: float, r: Mapping[str, Any]) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return f'<span class="na">{NOT_YET if lo != lo and hi != hi else "–"}</span>'
    return f"{_fmt(lo, r)}&ndash;{_fmt(hi, r)}"


def _yes(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<span class="na">–</span>'
    return '<span class="yes">yes</span>' if v else '<span class="no">no</span>'


def _score(x: float) -> str:
    if np.isnan(x):
        return '<span class="na">–</span>'
    return "&infin;" if np.isinf(x) else f"{x:.3g}"


def _mult_range(lo: float, hi: float) -> str:
    """``×0.5–×2`` for theta bounds (log-multipliers) ``lo``, ``hi``."""
    return f"&times;{math.exp(lo):.3g}&ndash;&times;{math.exp(hi):.3g}"


def _obs_html(r: Mapping[str, Any]) -> str:
    ci = _interval(r["obs_low"], r["obs_high"], r)
    return f'{_fmt(r["observed"], r)} <span class="ci">({ci})</span>'


def _html_table(df: pd.DataFrame, text_cols: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row, strict=True):
            cls = ' class="text"' if c in text_cols else ""
            cells.append(f"<td{cls}>{v}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fmt_s(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


# ------------------------------------------------------------------------------ figures
def _png(ax: Axes) -> str:
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    fig.clear()
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(png: str, caption: str) -> str:
    return (
        f'<figure class="wide"><img alt="{_e(caption)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _class_figure(rows: pd.DataFrame, xlabel: str, log: bool) -> str:
    """Observed value with its CI vs the prior and posterior intervals, one row per target."""
    from oncotwin.plotting._trial_common import _new_axes

    n = len(rows)
    ax = _new_axes((8.4, max(2.6, 0.24 * n + 1.3)))
    y = np.arange(n)[::-1].astype(float)
    finite = np.concatenate(
        [rows[c].to_numpy(dtype=float) for c in
         ("observed", "obs_low", "obs_high", "prior_low", "prior_high", "post_low", "post_high")]
    )  # fmt: skip
    finite = finite[np.isfinite(finite)]
    if log:
        finite = finite[finite > 0]
    lo_ax = float(finite.min()) if finite.size else 0.0
    hi_ax = float(finite.max()) if finite.size else 1.0
    if log:
        lo_ax, hi_ax = lo_ax / 1.3, hi_ax * 1.3
    else:
        pad = 0.04 * (hi_ax - lo_ax or 1.0)
        lo_ax, hi_ax = max(lo_ax - pad, -1.0), hi_ax + pad

    def clip(v: np.ndarray) -> np.ndarray:
        return np.clip(np.where(np.isnan(v), np.nan, v), lo_ax, hi_ax)

    for key, off, color, lw, label in (
        ("prior", 0.22, "#9fb3c8", 5.0, "prior interval (wave-1 design sets)"),
        ("post", -0.22, "#0b4f9c", 5.0, "posterior interval (model value)"),
    ):
        lo = clip(rows[f"{key}_low"].to_numpy(dtype=float))
        hi = clip(rows[f"{key}_high"].to_numpy(dtype=float))
        ok = ~(np.isnan(lo) | np.isnan(hi))
        if ok.any():
            ax.hlines(y[ok] + off, lo[ok], hi[ok], colors=color, lw=lw, label=label)
    olo = clip(rows["obs_low"].to_numpy(dtype=float))
    ohi = clip(rows["obs_high"].to_numpy(dtype=float))
    ax.hlines(y, olo, ohi, colors="black", lw=1.2)
    cens = rows["censored"].to_numpy(dtype=bool)
    obs = rows["observed"].to_numpy(dtype=float)
    ax.plot(obs[~cens], y[~cens], "o", color="black", ms=4, label="observed (95% CI)")
    if cens.any():
        ax.plot(obs[cens], y[cens], ">", color="black", ms=5, label="observed lower bound (NR)")
    if log:
        ax.set_xscale("log")
    ax.set_xlim(lo_ax, hi_ax)
    ax.set_yticks(y)
    ax.set_yticklabels(rows["target_id"].astype(str).str.replace("$", r"\$"), fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="0.9")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7.5, frameon=False)
    return _png(ax)


def _pairs_figure(data: pd.DataFrame, bounds: Mapping[str, tuple[float, float]],
                  color: Sequence[Any] | None = None) -> str:  # fmt: skip
    """Pairs plot (lower triangle scatter, diagonal histograms) in the prior box.

    A fixed grid (no constrained layout: it costs seconds for k^2 axes), tick labels on the
    outer axes only."""
    from matplotlib.figure import Figure

    names = list(data.columns)
    k = len(names)
    side = 1.7 * k + 1.2
    fig = Figure(figsize=(side, side))
    margin = 0.9 / side
    fig.subplots_adjust(left=margin, bottom=margin, right=0.98, top=0.98, wspace=0.12,
                        hspace=0.12)  # fmt: skip
    fig.text(0.005, 0.005, DISCLAIMER, ha="left", va="bottom", fontsize=6.5, color="0.45")
    axes = fig.subplots(k, k, squeeze=False)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(data[a].to_numpy(dtype=float), bins=20, color="#0b4f9c", alpha=0.8)
                ax.set_xlim(*bounds[a])
                ax.set_yticks([])
            else:
                ax.scatter(data[b], data[a], s=4 if color is None else 12,
                           c=color if color is not None else "#0b4f9c", alpha=0.6,
                           linewidths=0)  # fmt: skip
                ax.set_xlim(*bounds[b])
                ax.set_ylim(*bounds[a])
            ax.tick_params(labelsize=6, labelbottom=i == k - 1, labelleft=j == 0 and i > 0)
            if i == k - 1:
                ax.set_xlabel(b.replace("$", r"\$"), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(a.replace("$", r"\$"), fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    fig.clear()
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _coverage_strip(sets: pd.DataFrame, names: Sequence[str],
                    bounds: Mapping[str, tuple[float, float]]) -> str:  # fmt: skip
    """Every design point of every quantity as its position in the prior box (0 = lower)."""
    from oncotwin.plotting._trial_common import _new_axes

    ax = _new_axes((8.4, max(2.4, 0.2 * len(names) + 1.2)))
    waves = sorted(sets["wave"].unique())
    cmap = ["#0b4f9c", "#e07b00", "#1b7837", "#b42318", "#6a3d9a"]
    for iw, w in enumerate(waves):
        s = sets[sets["wave"] == w]
        for i, q in enumerate(names):
            lo, hi = bounds[q]
            pos = (s[q].to_numpy(dtype=float) - lo) / (hi - lo) if hi > lo else s[q] * 0
            ax.plot(pos, np.full(len(pos), len(names) - 1 - i + 0.15 * iw), "|",
                    color=cmap[iw % len(cmap)], ms=6,
                    label=f"wave {w}" if i == 0 else None)  # fmt: skip
    ax.set_yticks(np.arange(len(names))[::-1])
    ax.set_yticklabels([n.replace("$", r"\$") for n in names], fontsize=7)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("position in the prior box (0 = lower bound, 1 = upper bound)")
    ax.legend(fontsize=7.5, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=min(len(waves), 6))  # fmt: skip
    return _png(ax)


# ------------------------------------------------------------------------------ sections
def _summary_section(run: _Run) -> str:
    info = run.info
    sims = run.sims
    ok = int((sims["status"] == "ok").sum()) if len(sims) else 0
    bad = int((sims["status"] == "error").sum()) if len(sims) else 0
    wall = float(sims["wall_s"].sum()) if len(sims) else 0.0
    fps = "".join(
        f"<li>model <b>{_e(m)}</b>: fingerprint <code>{_e(fp)}</code></li>"
        for m, fp in sorted(info["model_fingerprints"].items())
    )
    span = ""
    if len(sims):
        try:
            t0 = _dt.datetime.fromisoformat(str(info["created"]))
            t1 = max(_dt.datetime.fromisoformat(str(x)) for x in sims["finished_at"])
            span = f" over {_fmt_s((t1 - t0).total_seconds())} elapsed since the store was created"
        except (TypeError, ValueError):
            span = ""
    lines = [
        f"<p>Store <code>{_e(run.path / 'calibration.duckdb')}</code>, created "
        f"{_e(info['created'])} with oncotwin {_e(info['oncotwin_version'])}.</p>",
        f"<ul>{fps}<li>targets hash <code>{_e(info['targets_hash'])}</code> "
        f"({int(info['n_targets'])} targets); this report: {len(run.targets)} targets</li>"
        f"<li>{len(run.waves)} wave(s), {len(run.sets)} parameter sets, {ok} simulations done, "
        f"{bad} failed; simulation wall time {_fmt_s(wall)} (sum over simulations){span}</li>"
        "</ul>",
    ]
    if len(run.waves):
        rows = []
        for w in run.waves.to_dict("records"):
            s = sims[sims["wave"] == w["wave"]] if len(sims) else sims
            n_ex = len(json.loads(w["examples"]))
            rows.append(
                {
                    "wave": int(w["wave"]),
                    "design": _e(w["design"]),
                    "sets": int(w["n_sets"]),
                    "patients/arm": int(w["patients"]),
                    "seed": int(w["seed"]),
                    "examples": n_ex,
                    "done": f"{int((s['status'] == 'ok').sum())}/{int(w['n_sets']) * n_ex}",
                    "failed": int((s["status"] == "error").sum()),
                    "wall": _fmt_s(float(s["wall_s"].sum())),
                }
            )
        lines.append(_html_table(pd.DataFrame(rows), text_cols=("design",)))
    lines.append(_quantities_html(run))
    return "".join(lines)


def _quantities_html(run: _Run) -> str:
    h = run.hierarchy
    if h is None:
        names = run.free_names
        return (
            f"<h3>Free quantities</h3><p>{len(names)} free quantities: "
            f"{_e(', '.join(names)) or '–'}. The store's hierarchy could not be read "
            f"({_e(run.hierarchy_error)}), so levels and the uncalibrated list are not shown.</p>"
        )
    counts: dict[str, int] = {}
    for q in h.free:
        key = f"{q.level} ({q.kind})" if getattr(q, "kind", "") else q.level
        counts[key] = counts.get(key, 0) + 1
    by = ", ".join(f"{v} {_e(k)}" for k, v in sorted(counts.items()))
    taus = ", ".join(h.tau_names)
    rows = [
        {
            "quantity": _e(q.name),
            "level": _e(q.level),
            "kind": _e(getattr(q, "kind", "")),
            "parameter(s)": _e(", ".join(q.parameters)),
            "typical value": f"{q.value:.4g} {_e(q.unit if q.unit not in ('1', '-') else '')}",
            "prior multiplier": _mult_range(q.lower, q.upper),
            "theta bounds": f"{q.lower:.3f}, {q.upper:.3f}",
            "informing arms": len(q.arms),
        }
        for q in h.free
    ]
    unc = "".join(f"<li><code>{_e(n)}</code>: {_e(why)}</li>" for n, why in h.uncalibrated)
    return (
        f"<h3>Free quantities ({len(h.free)})</h3><p>By level: {by}; trial random-effect "
        f"spreads of the posterior: {_e(taus)} (half-normal priors, scale "
        f"{h.tau_prior_scale:g}).</p>"
        + _html_table(pd.DataFrame(rows), text_cols=("level", "kind", "parameter(s)"))
        + f"<h3>Uncalibrated ({len(h.uncalibrated)})</h3>"
        '<p class="small">Parameters and cancer offsets that stay at their sourced values, '
        f'with the reason.</p><ul class="notes">{unc}</ul>'
    )


def _targets_section(run: _Run, table: pd.DataFrame, figs: Mapping[str, str]) -> str:
    has_post = table["post_low"].notna().any()
    n_prior = int(table["prior_low"].notna().sum())
    parts = [
        '<p class="small">Observed: the published value and its 95% CI from the target\'s '
        "sampling law (exact binomial at the trial's n for rates; log-normal with the published "
        "or event-based SE for medians and hazard ratios; NR: a median not reached, the value "
        "a lower bound). Prior: 2.5&ndash;97.5% of the simulated values over the first wave's "
        "design sets. Posterior: 2.5&ndash;97.5% of the model value over the posterior draws. "
        "Both intervals are of the model's value at the runs' patients per arm; IS: interval "
        "score (Gneiting &amp; Raftery 2007), width + 40 &times; the distance of a miss, in the "
        "endpoint's unit (lower is better).</p>"
    ]
    summ = []
    for key, heading, _x, _log in ENDPOINT_CLASSES:
        sub = table[table["class"] == key]
        if sub.empty:
            continue
        summ.append(
            {
                "class": _e(heading),
                "targets": len(sub),
                "inside prior": _share(sub["prior_inside"]),
                "median IS prior": _score(_median(sub["prior_score"])),
                "inside posterior": _share(sub["post_inside"]) if has_post else NOT_YET,
                "median IS posterior": (
                    _score(_median(sub["post_score"])) if has_post else NOT_YET
                ),
            }
        )
    parts.append(_html_table(pd.DataFrame(summ), text_cols=("class",)))
    if n_prior == 0:
        parts.append(f"<p>Prior intervals: {NOT_YET} (no simulated values in the store).</p>")
    elif n_prior < len(table):
        missing = table.loc[table["prior_low"].isna(), "example"].unique()
        parts.append(
            f"<p>{len(table) - n_prior} of {len(table)} targets have no prior interval: their "
            f"example trials were not simulated in the first wave ({_e(', '.join(missing))})."
            "</p>"
        )
    if not has_post:
        parts.append(
            f"<p>Posterior intervals: <b>{NOT_YET}</b> (no posterior draws in "
            f"<code>{ANALYSIS_DIR}/{ANALYSIS_FILES['posterior_predictive']}</code>).</p>"
        )
    for key, heading, _x, _log in ENDPOINT_CLASSES:
        if key in figs:
            cap = (
                f"{heading}: observed (95% CI) vs prior and posterior intervals of the model "
                "value (a bar reaching the right edge is unbounded: a median not reached)"
            )
            parts.append(_img(figs[key], cap))
    for ex, sub in table.groupby("example", sort=True):
        parts.append(f"<h3>{_e(ex)}</h3>")
        rows = []
        for r in sub.to_dict("records"):
            flags = [f for f, on in (("NR", r["censored"]), ("confounded", r["confounded"])) if on]
            obs = _obs_html(r)
            if flags:
                obs += f' <span class="ci">{_e(", ".join(flags))}</span>'
            rows.append(
                {
                    "arm": _e(r["arm"]),
                    "target": _e(r["target_id"]),
                    "observed (95% CI)": obs,
                    "prior interval": _interval(r["prior_low"], r["prior_high"], r),
                    "prior width": _score(r["prior_width"]),
                    "prior IS": _score(r["prior_score"]),
                    "in prior": _yes(r["prior_inside"]),
                    "posterior interval": _interval(r["post_low"], r["post_high"], r),
                    "posterior width": _score(r["post_width"]),
                    "posterior IS": _score(r["post_score"]),
                    "in posterior": _yes(r["post_inside"]),
                }
            )
        parts.append(_html_table(pd.DataFrame(rows), text_cols=("arm", "target")))
    return "".join(parts)


def _median(col: pd.Series) -> float:
    """Median of the non-NaN values (NaN, silently, when there are none)."""
    x = col.to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    return float(np.median(x)) if x.size else math.nan


def _share(col: pd.Series) -> str:
    known = col.dropna()
    if known.empty:
        return '<span class="na">–</span>'
    return f"{int(known.astype(bool).sum())}/{len(known)}"


def _defects_section(defects: pd.DataFrame, imp_note: str, table: pd.DataFrame) -> str:
    runs = int(table["sim_runs"].max()) if len(table) else 0
    intro = (
        '<p class="small">A target whose observed value lies outside the range of every '
        "simulated value, or that every run (or the emulator everywhere in the prior box) finds "
        f"implausible (implausibility &gt; {CUTOFF:g}), is out of the model's reach with the "
        "parameters free to move: a candidate model defect, or a target the model does not "
        "simulate as published. The direction says which way the model misses.</p>"
    )
    if imp_note:
        intro += f'<p class="small">Implausibility of the runs: {_e(imp_note)}.</p>'
    if runs == 0:
        return intro + f"<p>{NOT_YET}: no simulated values in the store.</p>"
    if defects.empty:
        return intro + "<p>None: every target lies within reach of some stored parameter set.</p>"
    rows = [
        {
            "target": _e(r["target_id"]),
            "observed (95% CI)": _obs_html(r),
            "simulated range": _interval(r["sim_min"], r["sim_max"], r),
            "candidate model defect": f'<span class="no">{_e(r["direction"])}</span>',
            "severity": _e(r["severity"]),
            "why": _e(r["reasons"]),
        }
        for r in defects.to_dict("records")
    ]
    n_low = int((defects["direction"] == "model too low").sum())
    n_high = int((defects["direction"] == "model too high").sum())
    return (
        intro + f"<p><b>{len(defects)}</b> target(s) out of reach: {n_low} with the model too low, "
        f"{n_high} too high.</p>"
        + _html_table(
            pd.DataFrame(rows), text_cols=("target", "candidate model defect", "severity", "why")
        )
    )


def _emulator_section(run: _Run, imp: pd.DataFrame | None, imp_note: str) -> str:
    parts = []
    sc = run.analysis.get("emulator_scores")
    if sc is None or sc.empty:
        parts.append(
            f"<h3>Emulator</h3><p>{NOT_YET}: no emulator scores in <code>{ANALYSIS_DIR}/"
            f"{ANALYSIS_FILES['emulator_scores']}</code>.</p>"
        )
    else:
        key = "target" if "target" in sc.columns else "target_id"
        r2 = sc["r2"].astype(float)
        parts.append(
            f"<h3>Emulator: held-out R&sup2; per target</h3><p>{len(sc)} targets; median R&sup2; "
            f"{_median(r2):.2f}; {int((r2 < 0.5).sum())} below 0.5 (a poorly emulated "
            "target: its history matching and posterior lean on the emulator's variance).</p>"
        )
        show = sc.sort_values("r2")
        rows = []
        for r in show.to_dict("records"):
            row = {"target": _e(r[key]), "R²": _score(float(r["r2"]))}
            for c in ("rmse", "coverage95", "noise_sd", "runs", "wave"):
                if c in r:
                    row[c] = _score(float(r[c])) if c != "runs" and c != "wave" else str(r[c])
            rows.append(row)
        parts.append(_html_table(pd.DataFrame(rows), text_cols=("target",)))
    parts.append("<h3>History matching per wave</h3>")
    rows = []
    hw = run.analysis.get("history_waves")
    by_wave = hw.set_index("wave") if hw is not None and len(hw) else None
    for w in run.waves.to_dict("records"):
        wave = int(w["wave"])
        row: dict[str, Any] = {"wave": wave, "sets": int(w["n_sets"])}
        if imp is not None:
            ids = run.sets.index[run.sets["wave"] == wave]
            sub = imp.reindex(ids).to_numpy(dtype=float)
            done = ~np.all(np.isnan(sub), axis=1)
            kth = _kth_largest(sub[done], KTH) if done.any() else np.array([])
            row["runs with values"] = int(done.sum())
            row[f"runs not implausible ({KTH}nd largest I ≤ {CUTOFF:g})"] = (
                f"{float(np.mean(kth <= CUTOFF)):.2f}" if kth.size else "–"
            )
            allok = np.all(np.nan_to_num(sub[done], nan=0.0) <= CUTOFF, axis=1)
            row["runs matching every target"] = int(allok.sum())
        if by_wave is not None and wave in by_wave.index:
            frac = by_wave.loc[wave].get("fraction_non_implausible", math.nan)
            row["prior box not implausible (emulator)"] = f"{float(frac):.3g}"
        else:
            row["prior box not implausible (emulator)"] = NOT_YET
        rows.append(row)
    if rows:
        parts.append(_html_table(pd.DataFrame(rows)))
    else:
        parts.append(f"<p>{NOT_YET}: no waves.</p>")
    if imp_note:
        parts.append(f'<p class="small">Runs: {_e(imp_note)}.</p>')
    return "".join(parts)


def _bounds(run: _Run, names: Sequence[str], data: pd.DataFrame) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for n in names:
        q = None
        if run.hierarchy is not None:
            q = next((x for x in run.hierarchy.free if x.name == n), None)
        if q is not None:
            out[n] = (float(q.lower), float(q.upper))
        else:
            col = data[n].to_numpy(dtype=float) if n in data else np.array([0.0, 1.0])
            lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
            out[n] = (min(lo, 0.0), hi if hi > lo else lo + 1.0)
    return out


def _quantity_section(run: _Run, max_pairs: int = 6) -> str:
    draws = run.analysis.get("posterior_draws")
    names = [n for n in run.free_names]
    parts = []
    if draws is not None and len(draws):
        q_names = [n for n in names if n in draws.columns]
        taus = [c for c in draws.columns if c.startswith("tau_")]
        bounds = _bounds(run, q_names, draws)
        diag = run.analysis.get("posterior_diagnostics")
        diag = diag.set_index(diag.columns[0]) if diag is not None and len(diag) else None
        rows, contraction = [], {}
        for n in [*q_names, *taus]:
            x = draws[n].to_numpy(dtype=float)
            med, lo, hi = np.quantile(x, [0.5, ALPHA / 2, 1 - ALPHA / 2])
            if n in bounds:
                blo, bhi = bounds[n]
                c = 1.0 - (hi - lo) / (bhi - blo) if bhi > blo else math.nan
                contraction[n] = c
                prior = f"{blo:.3f}, {bhi:.3f} ({_mult_range(blo, bhi)})"
                mult = f"&times;{math.exp(med):.3g} ({_mult_range(lo, hi)})"
            else:
                scale = getattr(run.hierarchy, "tau_prior_scale", None)
                prior = "half-normal" + (f", scale {scale:g}" if scale is not None else "")
                c, mult = math.nan, "–"
            row = {
                "quantity": _e(n),
                "prior theta bounds (multiplier)": prior,
                "posterior median theta": f"{med:.3f}",
                "95% interval": f"{lo:.3f}, {hi:.3f}",
                "multiplier": mult,
                "contraction": _score(c),
            }
            if diag is not None and n in diag.index:
                row["R-hat"] = _score(float(diag.loc[n].get("r_hat", math.nan)))
                row["ESS"] = _score(float(diag.loc[n].get("ess", math.nan)))
            rows.append(row)
        chosen = sorted(q_names, key=lambda n: -np.nan_to_num(contraction.get(n, 0.0)))[:max_pairs]
        sub = draws[chosen]
        if len(sub) > 2000:
            sub = sub.sample(2000, random_state=0)
        if chosen:
            parts.append(_img(
                _pairs_figure(sub, bounds),
                f"Posterior pairs plot of the {len(chosen)} free quantities whose 95% interval "
                "contracted most from the prior box (theta = log-multiplier; axes span the prior "
                f"box); {len(draws)} draws",
            ))  # fmt: skip
        parts.append(
            '<p class="small">Contraction: 1 - (posterior 95% width / prior width); 0 means the '
            "targets say nothing about the quantity.</p>"
            + _html_table(pd.DataFrame(rows), text_cols=("quantity",))
        )
        return "".join(parts)
    parts.append(
        f"<p>Posterior draws: <b>{NOT_YET}</b> (no <code>{ANALYSIS_DIR}/"
        f"{ANALYSIS_FILES['posterior_draws']}</code>). Shown instead: the design's coverage of "
        "the prior box.</p>"
    )
    sets = run.sets
    present = [n for n in names if n in sets.columns]
    if sets.empty or not present:
        parts.append(f"<p>Design: {NOT_YET} (no parameter sets).</p>")
        return "".join(parts)
    bounds = _bounds(run, present, sets)
    parts.append(_img(
        _coverage_strip(sets, present, bounds),
        f"Design coverage: the {len(sets)} parameter sets of every wave, each free quantity's "
        "value as its position in the prior box",
    ))  # fmt: skip
    chosen = present[:max_pairs]
    waves = sets["wave"].astype(int).to_numpy()
    palette = np.array(["#0b4f9c", "#e07b00", "#1b7837", "#b42318", "#6a3d9a"])
    parts.append(_img(
        _pairs_figure(sets[chosen], bounds, color=list(palette[(waves - waves.min()) % 5])),
        f"Design pairs plot of the first {len(chosen)} free quantities (colour: wave); axes span "
        "the prior box",
    ))  # fmt: skip
    rows = []
    for n in present:
        x = sets[n].to_numpy(dtype=float)
        blo, bhi = bounds[n]
        rows.append(
            {
                "quantity": _e(n),
                "prior theta bounds": f"{blo:.3f}, {bhi:.3f}",
                "design min": f"{np.nanmin(x):.3f}",
                "design max": f"{np.nanmax(x):.3f}",
                "share of the box spanned": _score((np.nanmax(x) - np.nanmin(x)) / (bhi - blo)),
            }
        )
    parts.append(_html_table(pd.DataFrame(rows), text_cols=("quantity",)))
    return "".join(parts)


def _references_html() -> str:
    return '<ol class="refs">' + "".join(f"<li>{_e(r)}</li>" for r in _REFERENCES) + "</ol>"


# ------------------------------------------------------------------------------ public
def save_analysis(
    run_dir: str | Path,
    *,
    wave: int | None = None,
    emulator: Any = None,
    history: Any = None,
    posterior: Any = None,
    theta: Any = None,
) -> list[Path]:
    """Write the analysis files the report reads into ``run_dir/analysis/``.

    ``emulator`` (:class:`~oncotwin.calibration.emulator.Emulator`): its held-out scores
    (``emulator_scores.csv``). ``history``
    (:class:`~oncotwin.calibration.history.HistoryMatch`): the wave's fraction of the prior box
    not implausible (a row of ``history_waves.csv``, replacing the wave's old row) and, with
    ``theta`` (points at which to judge reachability, e.g. the wave's sets or a Sobol design),
    ``implausibility.csv`` (per target: closest emulated value, smallest implausibility,
    reachable). ``posterior`` (:class:`~oncotwin.calibration.posterior.Posterior`): draws,
    diagnostics and predictive intervals. Returns the written files.
    """
    folder = Path(run_dir) / ANALYSIS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(key: str, df: pd.DataFrame, index: bool = False) -> None:
        p = folder / ANALYSIS_FILES[key]
        df.to_csv(p, index=index)
        written.append(p)

    if emulator is not None:
        sc = emulator.scores().reset_index()
        sc = sc.rename(columns={sc.columns[0]: "target"})
        if wave is not None:
            sc["wave"] = int(wave)
        put("emulator_scores", sc)
    if history is not None:
        if wave is None:
            raise OncotwinError("save_analysis: history needs wave=<the wave it judged>")
        row = pd.DataFrame(
            [
                {
                    "wave": int(wave),
                    "fraction_non_implausible": float(history.fraction_remaining()),
                    "cutoff": float(history.cutoff),
                    "kth": int(history.kth),
                }
            ]
        )
        old = folder / ANALYSIS_FILES["history_waves"]
        if old.is_file():
            prev = pd.read_csv(old)
            row = pd.concat([prev[prev["wave"] != int(wave)], row]).sort_values("wave")
        put("history_waves", row)
        if theta is not None:
            tab = history.table(np.asarray(theta, dtype=float)).reset_index()
            put("implausibility", tab.rename(columns={tab.columns[0]: "target"}))
    if posterior is not None:
        put("posterior_draws", posterior.draws)
        diag = posterior.diagnostics.reset_index()
        put("posterior_diagnostics", diag.rename(columns={diag.columns[0]: "quantity"}))
        pred = posterior.predictive().reset_index()
        put("posterior_predictive", pred.rename(columns={pred.columns[0]: "target"}))
    if not written:
        raise OncotwinError(
            "save_analysis: nothing to save; give emulator=, history= (with wave=) or posterior="
        )
    return written


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    targets: Sequence[Any] | None = None,
    title: str | None = None,
) -> Path:
    """Write the calibration report of the calibration folder ``run_dir``.

    ``out``: the HTML file to write (default ``run_dir/calibration_report.html``; a folder
    gets that name inside it). The per-target table is written beside it as
    ``calibration_report_targets.csv``. ``targets`` default to
    :func:`~oncotwin.calibration.targets.load_targets` (the report notes it when their hash
    differs from the store's). Returns the HTML file's path.

    Raises
    ------
    CalibrationStoreError
        If ``run_dir`` holds no calibration store.
    """
    from oncotwin.report._sections import _CSS
    from oncotwin.report.html import _write_atomic

    run = _load(run_dir, targets)
    path = Path(out) if out is not None else run.path / REPORT_NAME
    if path.is_dir() or (out is not None and path.suffix.lower() not in (".html", ".htm")):
        path = path / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _target_table(run)
    imp, imp_note = _run_implausibility(run)
    defects = unreachable_targets(table, imp, run.analysis.get("implausibility"))
    figs = {}
    for key, _heading, xlabel, log in ENDPOINT_CLASSES:
        sub = table[table["class"] == key]
        if len(sub):
            figs[key] = _class_figure(sub, xlabel, log)
    sections = [
        ("run", "1. Run summary", _summary_section(run)),
        (
            "targets",
            "2. Targets: observed vs prior and posterior",
            _targets_section(run, table, figs),
        ),
        (
            "defects",
            "3. Targets no parameter set reaches",
            _defects_section(defects, imp_note, table),
        ),
        ("emulator", "4. Emulator and history matching", _emulator_section(run, imp, imp_note)),
        ("quantities", "5. Free quantities", _quantity_section(run)),
        ("references", "Methods", _references_html()),
    ]
    title = title or f"Calibration report: {run.path.name or run.path}"
    inside = table["prior_inside"].dropna()
    meta = (
        f"{len(run.targets)} targets &middot; {len(run.waves)} wave(s) &middot; "
        f"{len(run.sets)} parameter sets &middot; {len(defects)} target(s) out of reach"
        + (f" &middot; {int(inside.sum())}/{len(inside)} inside the prior interval"
           if len(inside) else "")
        + f" &middot; oncotwin {_e(__version__)}"
    )  # fmt: skip
    notes = "".join(f"<li>{_e(n)}</li>" for n in run.notes)
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{_e(name)}</h2>{content}</section>'
        for sid, name, content in sections
    )
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body><header><div class="wrap"><h1>{_e(title)}</h1><div class="meta">{meta}</div>
<div class="disclaimer">{_e(DISCLAIMER)} Calibration of virtual patients to published trial
arms; results are model outputs, not clinical evidence.</div></div></header>
<main class="wrap"><nav>{nav}</nav>
{f'<section id="notes"><h2>Notes</h2><ul class="notes">{notes}</ul></section>' if notes else ""}
{body}</main>
<footer>{_e(DISCLAIMER)} Generated by oncotwin {_e(__version__)}.</footer>
</body></html>
"""
    _write_atomic(path, doc)
    table.to_csv(path.with_name(TABLE_NAME), index=False)
    return path
