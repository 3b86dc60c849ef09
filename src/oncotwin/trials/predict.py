"""Predictions of a trial from the calibrated posterior, with honest 95% predictive intervals.

:func:`predict` draws ``draws`` (>= 200 by default) posterior parameter sets of a
:class:`~oncotwin.calibration.calibrated.CalibratedSet`, simulates virtual patients under them,
integrates the trial random effect out, and gives every endpoint of every arm a predictive
interval for a trial of the spec's own size: parameter uncertainty + between-trial
heterogeneity (tau) + sampling at the trial's n.

Design (measured and discussed in ``docs/predict.md``): simulating each draw at the trial's
full n costs draws x n patients (200 x 305 = 61,000 for KEYNOTE-024, ~1.5 h on two cores), so
the patients are split across the draws instead. Each simulated patient ``i`` gets one draw
``d(i)`` (balanced, shuffled), and everything is batched (chunks of patients, never a loop
over patients). Per arm, the effect of the parameters is read by a regression of each
patient's outcome on the standardised theta of his draw (principal components of the
quantities that act in this trial): logistic for the binary endpoints (response, toxicity)
and for ``T > t`` on a grid of times for PFS, OS and duration of response, which gives a
survival curve per draw (medians, landmarks, hazard ratios). The spread of the fitted
per-draw values is corrected for the regression's own noise (its expected contribution is
subtracted from the between-draw variance), so the parameter part of the interval is neither
inflated by the finite number of patients nor lost. The sampling law at the trial's own n is
then added exactly (binomial for rates) or by its standard law (log median: 1/events, log
hazard ratio: 1/d1 + 1/d2), the trial effect ``N(0, tau)`` on the link scale (logit for rates,
log for medians and hazard ratios; one draw per arm and endpoint group, arms independent, as
in the calibration likelihood) is integrated out analytically, and the error of the pooled
simulated centre (finite number of simulated patients) is added too.

:func:`write_record` writes ``prediction_record.json`` (hashes of model, set and spec, date,
every interval) before anything is compared; :func:`compare_record` checks a record against
published values and says whether the model, the set or the spec changed since.

Research simulations only: not medical advice.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH, DISCLAIMER
from oncotwin.errors import OncotwinError

__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_SIM_PER_ARM",
    "RECORD_FILE",
    "Prediction",
    "RecordComparison",
    "compare_record",
    "plot_vpc",
    "predict",
    "read_record",
    "record_of",
    "write_outputs",
    "write_record",
]

#: Posterior draws of a prediction (the issue asks for >= 200).
DEFAULT_DRAWS = 200
#: Simulated patients per arm, spread over the draws (see docs/predict.md for the error).
DEFAULT_SIM_PER_ARM = 500
#: File name of the prediction record in the output folder.
RECORD_FILE = "prediction_record.json"
#: Format version of the record.
RECORD_FORMAT = 1
#: Patients per simulated block (one batched solve per arm of a block).
BLOCK = 250

#: Binary endpoints: summary name -> per-patient indicator of the outcomes table.
_BINARY: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "ORR": lambda o: (o["best_response"].isin(["CR", "PR"]) & o["confirmed"]).to_numpy(),
    "CR": lambda o: ((o["best_response"] == "CR") & o["confirmed"]).to_numpy(),
    "DCR": lambda o: o["best_response"].isin(["CR", "PR", "SD"]).to_numpy(),
    "g3plus_AE": lambda o: o["g3plus_ae"].to_numpy(dtype=bool),
    "g3plus_irAE": lambda o: (o["max_irae_grade"] >= 3).to_numpy(),
    "g3plus_CRS": lambda o: (o["max_crs_grade"] >= 3).to_numpy(),
    "g3plus_ICANS": lambda o: (o["max_icans_grade"] >= 3).to_numpy(),
}
_TOXICITY = frozenset({"g3plus_AE", "g3plus_irAE", "g3plus_CRS", "g3plus_ICANS"})
_LANDMARKS = (6, 12, 24)
_SURVIVAL = {"PFS": ("pfs_days", "pfs_event"), "OS": ("os_days", "os_event")}
_GRID = 100  # times per survival curve
_HERMITE = np.polynomial.hermite.hermgauss(16)


# ====================================================================== regression
def _logistic(z: np.ndarray, y: np.ndarray, lam: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Ridge logistic regression of ``y`` on ``[1, z]`` (intercept unpenalised), with half
    a success and half a failure at ``z = 0`` (so that an all-0 or all-1 outcome stays
    finite). Returns (coefficients, their covariance)."""
    n, k = z.shape
    x = np.column_stack([np.ones(n + 2), np.vstack([z, np.zeros((2, k))])])
    yy = np.concatenate([y.astype(float), [1.0, 0.0]])
    w = np.concatenate([np.ones(n), [0.5, 0.5]])
    pen = np.full(k + 1, lam)
    pen[0] = 0.0
    b = np.zeros(k + 1)
    h = np.eye(k + 1)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ b, -30, 30)))
        h = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(pen)
        g = x.T @ (w * (yy - p)) - pen * b
        step = np.linalg.solve(h, g)
        b = b + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return b, np.linalg.inv(h)


@dataclass(frozen=True)
class _Fit:
    """Per-draw link values of one endpoint (noise-corrected) and the centre's variance."""

    eta: np.ndarray  # (draws,) link-scale value per draw
    center_var: float  # variance of the pooled centre (finite simulated patients)


def _fit_link(zp: np.ndarray, y: np.ndarray, zd: np.ndarray) -> _Fit:
    """Fit ``y`` (patients) on patient features ``zp``; per-draw values at draw features
    ``zd`` with the between-draw spread corrected for the regression's noise."""
    b, cov = _logistic(zp, y)
    slope = zd @ b[1:]
    spread = float(np.var(slope))
    noise = float(np.mean(np.einsum("dk,kl,dl->d", zd, cov[1:, 1:], zd))) if zd.size else 0.0
    c = math.sqrt(max(0.0, spread - noise) / spread) if spread > 0 else 0.0
    return _Fit(b[0] + c * (slope - slope.mean()), float(cov[0, 0]))


# ====================================================================== predictive laws
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def _rate_interval(
    eta: np.ndarray, sd: np.ndarray, n: int, level: float
) -> tuple[float, float, float]:
    """(median, low, high) in % of k/n: mixture over draws of Binomial(n, logistic(eta + sd
    Z)), Z standard normal integrated by Gauss-Hermite."""
    from scipy.special import gammaln

    x, w = _HERMITE
    p = _sigmoid(eta[:, None] + math.sqrt(2.0) * sd[:, None] * x[None, :]).ravel()  # D*Q
    p = np.clip(p, 1e-300, 1 - 1e-16)
    k = np.arange(n + 1, dtype=float)
    log_c = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    log_pmf = log_c[None, :] + np.outer(np.log(p), k) + np.outer(np.log1p(-p), n - k)
    weights = np.tile(w / math.sqrt(math.pi), len(eta)) / len(eta)
    mix = weights @ np.exp(log_pmf)
    cdf = np.cumsum(mix)
    cdf /= cdf[-1]

    def q(level_: float) -> float:
        return 100.0 * float(np.searchsorted(cdf, level_ - 1e-12)) / n

    a = (1.0 - level) / 2.0
    return q(0.5), q(a), q(1.0 - a)


def _normal_mixture_interval(
    mu: np.ndarray, sd: np.ndarray, level: float, cap: float = math.inf
) -> tuple[float, float, float]:
    """(median, low, high) of exp(Y), Y a mixture over draws of N(mu, sd^2); a draw with
    mu = +inf (a median not reached) puts its mass at +inf, and a value beyond ``cap``
    (the follow-up: a median that late is not observed) is reported as +inf."""
    from scipy.stats import norm

    finite = np.isfinite(mu)
    a = (1.0 - level) / 2.0
    if not finite.any():
        return math.inf, math.inf, math.inf
    m, s = mu[finite], np.maximum(sd[finite], 1e-9)
    grid = np.linspace(float((m - 6 * s).min()), float((m + 6 * s).max()), 4001)
    cdf = norm.cdf((grid[:, None] - m[None, :]) / s[None, :]).sum(axis=1) / len(mu)

    def q(level_: float) -> float:
        i = int(np.searchsorted(cdf, level_))
        if i >= len(grid):
            return math.inf
        value = float(math.exp(grid[i]))
        return math.inf if value > cap else value

    return q(0.5), q(a), q(1.0 - a)


# ====================================================================== simulation
def _simulate_block(
    plan: Any, ids: np.ndarray, cols: np.ndarray, factors: np.ndarray
) -> pd.DataFrame:
    """Outcomes of patients ``ids`` of ``plan``, each with his own parameter factors
    (``factors[i, j]`` scales column ``cols[j]`` of patient ``i``): the batched
    simulation of :func:`oncotwin.trials._chunk.simulate_chunk` with per-patient typical
    values."""
    from oncotwin.population.virtual import VirtualPopulation
    from oncotwin.trials._chunk import _arm_tables

    vp = VirtualPopulation.for_trial(
        plan.model(),
        plan.cancer,
        ids,
        seed=plan.seed,
        eligibility=plan.eligibility,
        baseline=plan.baseline,
    )
    if cols.size:
        params = vp.population.params.copy()
        model = vp.model
        for j, col in enumerate(cols):
            params[:, col] *= factors[:, j]
            rec = model.parameters[model.parameter_names[col]]
            params[:, col] = np.clip(params[:, col], rec.lower, rec.upper)
        vp = vp.with_population(replace(vp.population, params=params))
    arm_idx = np.asarray(plan.spec.arm_of(ids))
    parts: list[pd.DataFrame] = []
    for arm in plan.arms:
        rows = np.nonzero(arm_idx == arm.index)[0]
        if not rows.size:
            continue
        if not arm.choices:
            subs = [(arm, rows)]
        else:
            pick = arm.choice_of(plan.seed, ids[rows])
            subs = [(arm.option(k), rows[pick == k]) for k in range(len(arm.choices))]
        for sub, sub_rows in subs:
            if sub_rows.size:
                parts.append(_arm_tables(sub, vp.take(sub_rows), plan)["outcomes"])
    return pd.concat(parts, ignore_index=True).sort_values("patient_id", kind="stable")


def _run_blocks(
    plan: Any,
    factors: np.ndarray,
    cols: np.ndarray,
    workers: int,
    progress: Callable[[int, int], None] | None,
    meanwhile: Callable[[], None] = lambda: None,
) -> pd.DataFrame:
    """Simulate every patient of ``plan`` in blocks on ``workers`` forked processes (in
    this one if 1). ``meanwhile`` runs here while the workers simulate (first, without
    workers); an error from it cancels the blocks not started. The compiled kernels are
    written atomically, so workers that compile the same kernel at once are safe."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = plan.n_total
    blocks = [np.arange(lo, min(n, lo + BLOCK), dtype=np.int64) for lo in range(0, n, BLOCK)]
    out: list[pd.DataFrame] = []
    fork = "fork" in multiprocessing.get_all_start_methods()
    if len(blocks) > 1 and workers > 1 and fork:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_simulate_block, plan, b, cols, factors[b]) for b in blocks]
            try:
                meanwhile()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            for i, f in enumerate(futures):
                out.append(f.result())
                if progress:
                    progress(i + 1, len(blocks))
    else:
        meanwhile()
        for i, b in enumerate(blocks):
            out.append(_simulate_block(plan, b, cols, factors[b]))
            if progress:
                progress(i + 1, len(blocks))
    return pd.concat(out, ignore_index=True)


# ====================================================================== features
def _relevant(cset: Any, plan: Any) -> list[str]:
    """Free quantities that can act in this trial: global biology, class potencies and
    toxicity quantities of classes the trial gives (hierarchy.INFORMED_BY, endpoints
    aside), and the offsets of the trial's cancer."""
    from oncotwin.calibration.hierarchy import _ALL, INFORMED_BY, _drug_tags

    drugs: set[str] = set()
    for arm in plan.arms:
        for r in (*arm.regimens, arm.crossover_regimen):
            if r is not None:
                drugs |= set(r.drugs)
    tags = _drug_tags(sorted(drugs))
    keep = []
    for q in cset.hierarchy.free:
        if q.level == "cancer":
            if q.cancer == plan.cancer:
                keep.append(q.name)
            continue
        rules = [INFORMED_BY.get(p) for p in q.parameters]
        if any(r is None or all(_ALL in g or g & tags for g in r.all_of) for r in rules):
            keep.append(q.name)
    return keep


def _features(theta: np.ndarray, max_k: int) -> np.ndarray:
    """Standardised principal components of the draws' theta (columns explaining 99% of
    the variance, at most ``max_k``), centred over the draws."""
    if theta.shape[1] == 0:
        return np.zeros((theta.shape[0], 0))
    sd = theta.std(axis=0)
    x = (theta - theta.mean(axis=0))[:, sd > 0] / sd[sd > 0]
    if x.shape[1] == 0:
        return np.zeros((theta.shape[0], 0))
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    share = np.cumsum(s**2) / np.sum(s**2)
    k = min(int(np.searchsorted(share, 0.99)) + 1, max_k, x.shape[1])
    z = u[:, :k] * s[:k]
    return z / z.std(axis=0).clip(1e-12)


# ====================================================================== prediction
@dataclass(frozen=True, eq=False)
class Prediction:
    """A trial's predictive intervals.

    ``table``: one row per arm and endpoint (``median``, ``low``, ``high`` of the predictive
    distribution for a trial of ``n`` patients in the arm, ``unit``, ``simulated`` = the
    pooled simulated value); ``curves``: (arm, ``PFS``/``OS``) -> (months, pointwise median,
    low, high) of the predicted KM band; ``info``: what made it (set, hashes, draws, seed,
    timings).
    """

    table: pd.DataFrame
    curves: Mapping[tuple[str, str], tuple[np.ndarray, ...]]
    info: Mapping[str, Any]
    spec: Any = field(repr=False, default=None)

    def interval(self, arm: str, endpoint: str) -> tuple[float, float, float]:
        """(median, low, high) of one endpoint."""
        row = self.table[(self.table["arm"] == arm) & (self.table["endpoint"] == endpoint)]
        if row.empty:
            from oncotwin.errors import did_you_mean

            raise OncotwinError(
                did_you_mean(endpoint, sorted(set(self.table["endpoint"])), what="endpoint")
            )
        r = row.iloc[0]
        return float(r["median"]), float(r["low"]), float(r["high"])


def _spec_and_trial(trial: Any) -> Any:
    from oncotwin.trials.spec import TrialSpec
    from oncotwin.trials.trial import Trial

    if isinstance(trial, Trial):
        return trial.spec
    if isinstance(trial, TrialSpec):
        return trial
    if isinstance(trial, (str, Path)):
        return (
            Trial.from_spec(trial).spec
            if Path(trial).suffix == ".toml"
            else (Trial.from_example(str(trial)).spec)
        )
    raise OncotwinError(
        f"predict: got a {type(trial).__name__}; give a Trial, a TrialSpec, a spec path or an "
        "example name"
    )


def predict(
    trial: Any,
    *,
    calibrated: Any = None,
    draws: int = DEFAULT_DRAWS,
    seed: int | None = None,
    patients: int | None = None,
    sim_per_arm: int = DEFAULT_SIM_PER_ARM,
    level: float = 0.95,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Prediction:
    """Predict the trial (a ``Trial``, ``TrialSpec``, spec path or example name).

    ``calibrated``: the set (default: the default calibrated set; a prediction needs one);
    ``draws``: posterior draws (>= 1; 200 by default); ``patients``: the predicted trial's
    size (default: the spec's); ``sim_per_arm``: simulated patients per arm, spread over the
    draws; ``workers``: processes (default: up to 2 CPUs). Deterministic for a given seed
    (default: the spec's).
    """
    from oncotwin.calibration.calibrated import CalibratedSet, _choose
    from oncotwin.trials._plan import TrialPlan
    from oncotwin.trials.endpoints import summarise

    t0 = time.perf_counter()
    spec = _spec_and_trial(trial)
    if isinstance(draws, bool) or int(draws) != draws or draws < 1:
        raise OncotwinError(f"draws={draws!r}; give a whole number of posterior draws >= 1")
    if isinstance(sim_per_arm, bool) or int(sim_per_arm) != sim_per_arm or sim_per_arm < 10:
        raise OncotwinError(
            f"sim_per_arm={sim_per_arm!r}; give a whole number of simulated patients per arm >= 10"
        )
    if not 0.5 <= level < 1:
        raise OncotwinError(f"level={level!r}; give a predictive level in [0.5, 1), e.g. 0.95")
    n = int(patients if patients is not None else spec.trial.patients)
    if n < 1:
        raise OncotwinError(f"patients={n}; give a whole number of patients >= 1")
    cset = calibrated if isinstance(calibrated, CalibratedSet) else _choose(calibrated)[0]
    if cset is None:
        raise OncotwinError(
            "--predict needs a calibrated set (posterior draws); none is shipped or "
            "'uncalibrated' was asked for: name a set with --parameters NAME"
        )
    if cset.model != spec.trial.model:
        raise OncotwinError(
            f"calibrated set {cset.name} calibrates {cset.model}; this trial runs "
            f"{spec.trial.model}: nothing to predict with"
        )
    run_seed = int(spec.trial.seed if seed is None else seed)
    n_arms = len(spec.arms)
    n_sim = int(sim_per_arm) * n_arms
    plan = TrialPlan.from_spec(spec, patients=n_sim, seed=run_seed, chunk_size=BLOCK)
    table = cset.draws(int(draws), seed=run_seed)
    d = len(table)

    # per-draw factors on the trial's typical values
    model = plan.model()
    typical = plan.parameter_set()
    moved = [cset.overrides(row, plan) for row in table[list(cset.names)].to_dict("records")]
    names = sorted({p for m in moved for p in m})
    base = np.array(
        [typical[p].value if p in typical else model.parameters[p].value for p in names],
        dtype=float,
    )
    fd = np.ones((d, len(names)))
    for i, m in enumerate(moved):
        for j, p in enumerate(names):
            if p in m:
                fd[i, j] = m[p] / base[j]
    cols = np.array([model.parameter_index(p) for p in names], dtype=np.int64)
    rng = np.random.default_rng([run_seed, 16])
    draw_of = rng.permutation(np.resize(np.arange(d), n_sim))

    w = workers if workers is not None else min(2, os.cpu_count() or 1)
    t1 = time.perf_counter()

    def check_fingerprint() -> None:  # ~10 s of sympy: overlapped with the simulation
        problem = cset.fingerprint_problem()
        if problem is not None:
            raise OncotwinError(f"calibrated set {cset.name} cannot predict: {problem}")

    outcomes = _run_blocks(plan, fd[draw_of], cols, int(w), progress, check_fingerprint)
    t_sim = time.perf_counter() - t1
    outcomes["draw"] = draw_of[outcomes["patient_id"].to_numpy()]

    relevant = _relevant(cset, plan)
    theta = table[relevant].to_numpy(dtype=float) if relevant else np.zeros((d, 0))
    zd = _features(theta, max_k=max(1, int(sim_per_arm) // 50))
    pooled = summarise(outcomes.drop(columns="draw"), reference_arm=spec.reference)
    arm_n = _arm_sizes(spec, n)

    def tau(group: str) -> np.ndarray:
        name = f"tau_{group}"
        if name not in table and group == "toxicity":
            name = "tau_response"
        return table[name].to_numpy(dtype=float) if name in table else np.zeros(d)

    rows: list[dict[str, Any]] = []
    curves: dict[tuple[str, str], tuple[np.ndarray, ...]] = {}
    arm_curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, float, float]] = {}
    horizon_mo = float(spec.horizon_days) / DAYS_PER_MONTH
    # up to a day before the horizon, where the simulated patients alive are censored
    grid = np.linspace(0.0, horizon_mo - 1.0 / DAYS_PER_MONTH, _GRID + 1)[1:]
    for arm in spec.arm_names:
        sub = outcomes[outcomes["arm"] == arm]
        if sub.empty:
            continue
        na = arm_n[arm]
        zp = zd[sub["draw"].to_numpy()]
        sim_value = pooled[pooled["arm"] == arm].set_index("endpoint")["value"]

        def add(
            endpoint: str,
            unit: str,
            mid: float,
            lo: float,
            hi: float,
            nn: int,
            arm: str = arm,
            sim_value: pd.Series = sim_value,
        ) -> None:
            rows.append(
                {
                    "arm": arm,
                    "endpoint": endpoint,
                    "unit": unit,
                    "n": int(nn),
                    "median": mid,
                    "low": lo,
                    "high": hi,
                    "simulated": float(sim_value.get(endpoint, math.nan)),
                }
            )

        orr_eta = None
        for endpoint, indicator in _BINARY.items():
            f = _fit_link(zp, indicator(sub), zd)
            if endpoint == "ORR":
                orr_eta = f.eta
            group = "toxicity" if endpoint in _TOXICITY else "response"
            sd = np.sqrt(tau(group) ** 2 + f.center_var)
            add(endpoint, "%", *_rate_interval(f.eta, sd, na, level), na)
        for kind, (t_col, e_col) in _SURVIVAL.items():
            s_d, s_var = _curves(sub, t_col, e_col, zp, zd, grid)
            events_sim = len(sub) * (1.0 - float(_empirical(sub, t_col, e_col, grid)[-1]))
            arm_curves[(arm, kind)] = (s_d, _empirical(sub, t_col, e_col, grid), events_sim, na)
            med = np.array([_crossing(grid, s) for s in s_d])
            ev = np.maximum(na * (1.0 - s_d[:, -1]), 1.0)
            sd = np.sqrt(tau("survival") ** 2 + 1.0 / ev + 1.0 / max(events_sim, 1.0))
            mid = _normal_mixture_interval(np.log(med), sd, level, horizon_mo)
            add(f"median_{kind}_mo", "months", *mid, na)
            for m in _LANDMARKS:
                j = int(np.argmin(np.abs(grid - m)))
                if m > horizon_mo:
                    continue
                s = np.clip(s_d[:, j], 1e-9, 1 - 1e-9)
                sd_l = np.sqrt(tau("response") ** 2 + s_var[j])
                add(f"{kind}_{m}mo", "%", *_rate_interval(np.log(s / (1 - s)), sd_l, na, level), na)
            curves[(arm, kind)] = _band(grid, s_d, s_var, tau("response"), na, level)
        resp = sub[_BINARY["ORR"](sub)]
        if len(resp) >= 10 and orr_eta is not None:
            s_d, _ = _curves(resp, "dor_days", "dor_event", zd[resp["draw"].to_numpy()], zd, grid)
            med = np.array([_crossing(grid, s) for s in s_d])
            n_resp = na * _sigmoid(orr_eta)
            ev = np.maximum(n_resp * (1.0 - s_d[:, -1]), 1.0)
            ev_sim = max(float(resp["dor_event"].sum()), 1.0)
            sd = np.sqrt(tau("survival") ** 2 + 1.0 / ev + 1.0 / ev_sim)
            mid = _normal_mixture_interval(np.log(med), sd, level, horizon_mo)
            add("median_DOR_mo", "months", *mid, na)
    if spec.reference is not None:
        rows += _hazard_ratios(spec, arm_curves, pooled, grid, tau("survival"), level)
    out = pd.DataFrame(rows)
    out["level"] = level
    info = {
        "trial": spec.trial.name,
        "calibrated_set": cset.name,
        "set_hash": cset.hash(),
        "set_path": "" if cset.path.parent == _sets_dir() else str(cset.path),
        "in_sample": cset.in_sample(spec),
        "model": model.name,
        "model_fingerprint": model.fingerprint,
        "draws": d,
        "seed": run_seed,
        "patients": n,
        "arm_patients": arm_n,
        "simulated_patients": n_sim,
        "relevant_quantities": relevant,
        "features": int(zd.shape[1]),
        "workers": int(w),
        "seconds_simulating": round(t_sim, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return Prediction(out, curves, info, spec)


def _sets_dir() -> Path:
    from oncotwin.calibration.calibrated import SETS_DIR

    return SETS_DIR


def _arm_sizes(spec: Any, n: int) -> dict[str, int]:
    """Patients per arm of a trial of ``n`` (the spec's block randomisation)."""
    idx = np.asarray(spec.arm_of(np.arange(n)))
    return {a: max(1, int((idx == i).sum())) for i, a in enumerate(spec.arm_names)}


def _empirical(sub: pd.DataFrame, t_col: str, e_col: str, grid: np.ndarray) -> np.ndarray:
    """Fraction event-free beyond each grid time (months); censoring in a simulated arm
    happens at the horizon only, so the fraction is the KM estimate before it."""
    t = sub[t_col].to_numpy(dtype=float) / DAYS_PER_MONTH
    e = sub[e_col].to_numpy(dtype=bool)
    out = np.empty(len(grid))
    for j, g in enumerate(grid):
        known = (t > g) | e
        out[j] = float(np.mean(t[known] > g)) if known.any() else 1.0
    return np.minimum.accumulate(out)


def _curves(
    sub: pd.DataFrame,
    t_col: str,
    e_col: str,
    zp: np.ndarray,
    zd: np.ndarray,
    grid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw survival curves (draws x grid) from logistic fits of ``T > t`` at each grid
    time, made non-increasing, and the logit variance of the pooled centre per time."""
    t = sub[t_col].to_numpy(dtype=float) / DAYS_PER_MONTH
    e = sub[e_col].to_numpy(dtype=bool)
    eta = np.empty((len(zd), len(grid)))
    var = np.empty(len(grid))
    for j, g in enumerate(grid):
        known = (t > g) | e
        f = _fit_link(zp[known], t[known] > g, zd)
        eta[:, j], var[j] = f.eta, f.center_var
    s = np.minimum.accumulate(_sigmoid(eta), axis=1)
    return s, var


def _crossing(grid: np.ndarray, s: np.ndarray, level: float = 0.5) -> float:
    """First time the curve ``s`` falls to ``level`` (linear between grid times); +inf if
    it never does (median not reached)."""
    below = np.nonzero(s <= level)[0]
    if not below.size:
        return math.inf
    j = int(below[0])
    if j == 0:
        return float(grid[0] * (1 - level) / max(1 - s[0], 1e-9))
    t0, t1, s0, s1 = grid[j - 1], grid[j], s[j - 1], s[j]
    return float(t0 + (s0 - level) / max(s0 - s1, 1e-12) * (t1 - t0))


def _band(
    grid: np.ndarray,
    s_d: np.ndarray,
    s_var: np.ndarray,
    tau: np.ndarray,
    n: int,
    level: float,
) -> tuple[np.ndarray, ...]:
    """The KM band: pointwise predictive (median, low, high) of S(t) at n, on 40 times."""
    pick = np.unique(np.linspace(0, len(grid) - 1, 40).astype(int))
    mid, lo, hi = [], [], []
    for j in pick:
        s = np.clip(s_d[:, j], 1e-9, 1 - 1e-9)
        m, low, high = _rate_interval(np.log(s / (1 - s)), np.sqrt(tau**2 + s_var[j]), n, level)
        mid.append(m / 100)
        lo.append(low / 100)
        hi.append(high / 100)
    t = np.concatenate([[0.0], grid[pick]])
    return t, np.array([1.0, *mid]), np.array([1.0, *lo]), np.array([1.0, *hi])


def _log_hr(s_e: np.ndarray, s_r: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Event-weighted mean log ratio of cumulative hazards (rows: draws)."""
    ok = (s_e > 1e-6) & (s_e < 1 - 1e-6) & (s_r > 1e-6) & (s_r < 1 - 1e-6)
    le = np.log(-np.log(np.where(ok, s_e, 0.5)))
    lr = np.log(-np.log(np.where(ok, s_r, 0.5)))
    w = np.where(ok, weights, 0.0)
    tot = w.sum(axis=-1)
    return np.where(tot > 0, ((le - lr) * w).sum(axis=-1) / np.where(tot > 0, tot, 1), 0.0)


def _hazard_ratios(
    spec: Any,
    arm_curves: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray, float, float]],
    pooled: pd.DataFrame,
    grid: np.ndarray,
    tau: np.ndarray,
    level: float,
) -> list[dict[str, Any]]:
    """HR_PFS / HR_OS of each arm vs the reference: per-draw event-weighted log cumulative
    hazard ratios, shifted so that the pooled curves give the pooled Cox estimate."""
    ref = spec.reference
    rows = []
    for arm in spec.arm_names:
        if arm == ref:
            continue
        for kind in ("PFS", "OS"):
            if (arm, kind) not in arm_curves or (ref, kind) not in arm_curves:
                continue
            s_e, emp_e, ev_e, n_e = arm_curves[(arm, kind)]
            s_r, emp_r, ev_r, n_r = arm_curves[(ref, kind)]
            both = (emp_e * n_e + emp_r * n_r) / (n_e + n_r)
            weights = -np.diff(np.concatenate([[1.0], both]))
            p = pooled[(pooled["arm"] == arm) & (pooled["endpoint"] == f"HR_{kind}")]
            cox = float(p["value"].iloc[0]) if not p.empty else math.nan
            shift = 0.0
            if math.isfinite(cox) and cox > 0:
                shift = math.log(cox) - float(_log_hr(emp_e, emp_r, weights))
            mu = _log_hr(s_e, s_r, weights) + shift
            d_e = np.maximum(n_e * (1 - s_e[:, -1]), 1.0)
            d_r = np.maximum(n_r * (1 - s_r[:, -1]), 1.0)
            var = tau**2 + 1 / d_e + 1 / d_r + 1 / max(ev_e, 1.0) + 1 / max(ev_r, 1.0)
            mid, lo, hi = _normal_mixture_interval(mu, np.sqrt(var), level)
            rows.append(
                {
                    "arm": arm,
                    "endpoint": f"HR_{kind}",
                    "unit": "ratio",
                    "n": int(n_e + n_r),
                    "median": mid,
                    "low": lo,
                    "high": hi,
                    "simulated": cox,
                }
            )
    return rows


# ====================================================================== record
def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    raise TypeError(f"not JSON: {type(x).__name__}")


def _num(x: float) -> float | str:
    """JSON-safe number: +inf as ``"inf"`` (a median not reached)."""
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x if math.isfinite(x) else "nan"


def _from_num(x: Any) -> float:
    return float(x)


def record_of(prediction: Prediction) -> dict[str, Any]:
    """The prediction record (without its own hash): what identifies the prediction and
    every interval."""
    from oncotwin._version import __version__

    spec = prediction.spec
    info = dict(prediction.info)
    source = str(getattr(spec, "_source", "") or "")
    example = Path(source).stem if source.endswith(".toml") and "/" not in source else ""
    if not example and source and Path(source).is_file():
        source = str(Path(source).resolve())
    intervals = [
        {
            "arm": r.arm,
            "endpoint": r.endpoint,
            "unit": r.unit,
            "n": int(r.n),
            "median": _num(r.median),
            "low": _num(r.low),
            "high": _num(r.high),
        }
        for r in prediction.table.itertuples(index=False)
    ]
    return {
        "kind": "oncotwin prediction record",
        "format": RECORD_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "oncotwin_version": __version__,
        "trial": spec.trial.name,
        "example": example,
        "spec_source": "" if example else source,
        "spec_hash": spec.hash(),
        "spec_text": spec.text,
        "model": info["model"],
        "model_fingerprint": info["model_fingerprint"],
        "calibrated_set": info["calibrated_set"],
        "set_hash": info["set_hash"],
        "set_path": info.get("set_path", ""),
        "in_sample": bool(info["in_sample"]),
        "draws": int(info["draws"]),
        "seed": int(info["seed"]),
        "patients": int(info["patients"]),
        "arm_patients": {k: int(v) for k, v in info["arm_patients"].items()},
        "simulated_patients": int(info["simulated_patients"]),
        "level": float(prediction.table["level"].iloc[0]) if len(prediction.table) else 0.95,
        "method": "posterior draws split over simulated patients; per-arm logistic "
        "regression on theta (noise-corrected); sampling at n and trial effect integrated "
        "out (docs/predict.md)",
        "intervals": intervals,
        "disclaimer": DISCLAIMER,
    }


def _record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "record_hash"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()[:16]


def write_record(prediction: Prediction, out: str | Path) -> Path:
    """Write ``OUT/prediction_record.json`` (refuses to overwrite an existing record: a
    prediction is written once, before it is compared)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RECORD_FILE
    if path.exists():
        raise OncotwinError(
            f"{path} exists: a prediction record is written once; use a new --out folder"
        )
    record = record_of(prediction)
    record["record_hash"] = _record_hash(record)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    tmp.replace(path)
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    """A record (a ``prediction_record.json`` or the folder holding one); a missing or
    malformed record names the file and the fix."""
    p = Path(path)
    if p.is_dir():
        p = p / RECORD_FILE
    if not p.is_file():
        raise OncotwinError(
            f"{p}: no prediction record here; make one with `oncotwin trial run SPEC --predict "
            "--out DIR`"
        )
    try:
        record = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OncotwinError(
            f"{p}: the prediction record is not JSON ({exc}); it is damaged"
        ) from None
    need = ("kind", "intervals", "record_hash", "model_fingerprint", "spec_hash", "set_hash")
    missing = [k for k in need if not isinstance(record, dict) or k not in record]
    if missing or record.get("kind") != "oncotwin prediction record":
        raise OncotwinError(
            f"{p}: not an oncotwin prediction record (missing {missing or ['kind']}); give the "
            "prediction_record.json that `trial run --predict` wrote"
        )
    for i, row in enumerate(record["intervals"]):
        bad = [k for k in ("arm", "endpoint", "median", "low", "high") if k not in row]
        if bad:
            raise OncotwinError(f"{p}: intervals[{i}] lacks {bad}; the record is damaged")
    return record


# ====================================================================== comparison
@dataclass(frozen=True)
class RecordComparison:
    """A record checked against published values: ``table`` (arm, endpoint, median, low,
    high, published, inside, width, interval_score, source) and ``checks`` ((what, ok,
    message) for the record's own hash, the model, the set and the spec)."""

    record: Mapping[str, Any]
    table: pd.DataFrame
    checks: tuple[tuple[str, bool, str], ...]

    @property
    def intact(self) -> bool:
        """True if every check passed (nothing changed since the record was written)."""
        return all(ok for _, ok, _ in self.checks)

    def inside(self) -> tuple[int, int]:
        """(published values inside their interval, published values compared)."""
        have = self.table["published"].notna()
        return int(self.table.loc[have, "inside"].sum()), int(have.sum())


def _published_for(spec: Any) -> pd.DataFrame:
    """Published values of the spec's arms: the arms' published outcomes and the calibration
    targets of those arms (hazard ratios, landmark rates, censored medians)."""
    from oncotwin.trials.result import published_table

    pub = published_table(spec).assign(censored=False)
    links = {a.published.arm_id: a.name for a in spec.arms if a.published is not None}
    extra = []
    try:
        from oncotwin.calibration.targets import load_targets

        for t in load_targets():
            if t.arm_id in links:
                extra.append(
                    {
                        "arm": links[t.arm_id],
                        "endpoint": t.endpoint,
                        "published": float(t.observed),
                        "source": t.arm_id,
                        "censored": bool(t.censored),
                    }
                )
    except OncotwinError:
        pass
    if extra:
        ex = pd.DataFrame(extra)
        have = set(zip(pub["arm"], pub["endpoint"], strict=True))
        ex = ex[[(a, e) not in have for a, e in zip(ex["arm"], ex["endpoint"], strict=True)]]
        pub = pd.concat([pub, ex], ignore_index=True)
        # a median the targets read as censored (NR at follow-up) is a lower bound
        cens = {(t["arm"], t["endpoint"]) for t in extra if t["censored"]}
        pub["censored"] = [
            bool(c) or (a, e) in cens
            for a, e, c in zip(pub["arm"], pub["endpoint"], pub["censored"], strict=True)
        ]
    return pub


def _read_published(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise OncotwinError(f"--published {p}: cannot read it as CSV ({exc})") from None
    need = {"arm", "endpoint", "published"}
    if not need <= set(df.columns):
        raise OncotwinError(
            f"--published {p}: needs the columns arm, endpoint, published[, source]; it has "
            f"{list(df.columns)}"
        )
    df["published"] = pd.to_numeric(df["published"], errors="coerce")
    if "source" not in df:
        df["source"] = str(p.name)
    df["censored"] = df.get("censored", False)
    return df[["arm", "endpoint", "published", "source", "censored"]]


def compare_record(
    record: str | Path | Mapping[str, Any], published: str | Path | pd.DataFrame | None = None
) -> RecordComparison:
    """Check a prediction record against published values (default: the trial's published
    arms and calibration targets; or a CSV/table of arm, endpoint, published[, source]):
    per endpoint inside or outside, interval width and interval score, and whether the
    record, the model, the calibrated set or the spec changed since it was written."""
    from oncotwin.trials.spec import parse_spec

    rec = dict(read_record(record) if not isinstance(record, Mapping) else record)
    spec = parse_spec(rec.get("spec_text", ""), source="<prediction record>")
    checks = _checks(rec, spec)
    if published is None:
        pub = _published_for(spec)
    elif isinstance(published, pd.DataFrame):
        pub = published.assign(censored=published.get("censored", False))
        if "source" not in pub:
            pub["source"] = ""
    else:
        pub = _read_published(published)
    iv = pd.DataFrame(rec["intervals"])
    for c in ("median", "low", "high"):
        iv[c] = iv[c].map(_from_num)
    t = iv.merge(pub, on=["arm", "endpoint"], how="left")
    level = float(rec.get("level", 0.95))
    alpha = 1.0 - level
    y, lo, hi = t["published"], t["low"], t["high"]
    cens = t["censored"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    inside = np.where(cens, hi >= y, (y >= lo) & (y <= hi)).astype(float)
    t["inside"] = np.where(y.isna(), np.nan, inside)
    t["width"] = hi - lo
    below = np.where(y < lo, (lo - y) * 2 / alpha, 0.0)
    above = np.where((y > hi) & ~cens, (y - hi) * 2 / alpha, 0.0)
    t["interval_score"] = np.where(y.notna(), t["width"] + below + above, np.nan)
    t["source"] = t["source"].fillna("")
    return RecordComparison(rec, t, tuple(checks))


def _checks(rec: Mapping[str, Any], spec: Any) -> list[tuple[str, bool, str]]:
    """Whether the record and what it was made with are unchanged."""
    from oncotwin.calibration.calibrated import CalibratedSet
    from oncotwin.models.registry import get_model
    from oncotwin.trials.spec import example_path, load_spec

    out: list[tuple[str, bool, str]] = []
    ok = _record_hash(rec) == rec.get("record_hash")
    out.append(
        (
            "record",
            ok,
            "the record is as written"
            if ok
            else "the record's contents do not match its hash: it was edited after it was "
            "written (its intervals cannot be trusted)",
        )
    )
    ok = spec.hash() == rec["spec_hash"]
    msg = "the record's spec text matches its spec hash"
    try:
        if rec.get("example"):
            now = load_spec(example_path(str(rec["example"]))).hash()
            msg = f"example {rec['example']} unchanged"
            if now != rec["spec_hash"]:
                ok, msg = False, f"example {rec['example']}'s spec changed since the prediction"
        elif rec.get("spec_source") and Path(str(rec["spec_source"])).is_file():
            now = load_spec(str(rec["spec_source"])).hash()
            msg = f"spec {rec['spec_source']} unchanged"
            if now != rec["spec_hash"]:
                ok, msg = False, f"spec {rec['spec_source']} changed since the prediction"
    except OncotwinError as exc:
        ok, msg = False, f"the spec cannot be checked: {exc}"
    out.append(("spec", ok, msg))
    try:
        now = get_model(str(rec.get("model", "metastatic_io"))).fingerprint
        ok = now == rec["model_fingerprint"]
        msg = (
            f"model fingerprint {now} unchanged"
            if ok
            else f"the model changed since the prediction (fingerprint {rec['model_fingerprint']}"
            f" then, {now} now)"
        )
    except OncotwinError as exc:
        ok, msg = False, f"the model cannot be checked: {exc}"
    out.append(("model", ok, msg))
    try:
        where = str(rec.get("set_path") or "")
        cset = CalibratedSet.load(where if where else str(rec["calibrated_set"]))
        now = cset.hash()
        ok = now == rec["set_hash"]
        msg = (
            f"calibrated set {cset.name} unchanged"
            if ok
            else f"calibrated set {cset.name} changed since the prediction (hash "
            f"{rec['set_hash']} then, {now} now)"
        )
    except OncotwinError as exc:
        ok, msg = False, f"calibrated set {rec.get('calibrated_set')!r} cannot be checked: {exc}"
    out.append(("calibrated set", ok, msg))
    return out


# ====================================================================== outputs
def write_outputs(prediction: Prediction, out: str | Path) -> dict[str, Path]:
    """``prediction.csv``, the KM bands ``prediction_curves.csv``, the KM visual predictive
    check ``prediction_vpc.png`` and ``prediction.html`` beside the record."""
    out = Path(out)
    paths = {"csv": out / "prediction.csv", "curves": out / "prediction_curves.csv"}
    prediction.table.to_csv(paths["csv"], index=False)
    bands = [
        pd.DataFrame({"arm": arm, "kind": kind, "month": t, "median": m, "low": lo, "high": hi})
        for (arm, kind), (t, m, lo, hi) in prediction.curves.items()
    ]
    if bands:
        pd.concat(bands, ignore_index=True).to_csv(paths["curves"], index=False)
    pub = _published_for(prediction.spec)
    png = out / "prediction_vpc.png"
    plot_vpc(prediction, pub, png)
    paths["vpc"] = png
    paths["html"] = _write_html(prediction, pub, png, out / "prediction.html")
    return paths


def plot_vpc(prediction: Prediction, published: pd.DataFrame, path: Path) -> Path:
    """Kaplan-Meier visual predictive check: per arm and PFS/OS, the predicted 95% band of
    the KM curve of a trial of its size, the pointwise median, and the published median and
    landmark rates where known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = ("PFS", "OS")
    arms = [a for a in prediction.spec.arm_names if (a, "PFS") in prediction.curves]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, kind in zip(axes[0], kinds, strict=True):
        for i, arm in enumerate(arms):
            t, mid, lo, hi = prediction.curves[(arm, kind)]
            c = colours[i % len(colours)]
            ax.fill_between(t, lo, hi, step="post", color=c, alpha=0.2, lw=0)
            ax.step(t, mid, where="post", color=c, label=f"{arm} (predicted)")
            sub = published[published["arm"] == arm]
            med = sub[sub["endpoint"] == f"median_{kind}_mo"]["published"].dropna()
            if not med.empty and math.isfinite(float(med.iloc[0])):
                ax.plot([float(med.iloc[0])], [0.5], "D", color=c, mec="k", ms=7)
            for m in _LANDMARKS:
                lm = sub[sub["endpoint"] == f"{kind}_{m}mo"]["published"].dropna()
                if not lm.empty:
                    ax.plot([m], [float(lm.iloc[0]) / 100], "o", color=c, mec="k", ms=6)
        ax.set_title(f"{kind}: predicted 95% band (markers: published)")
        ax.set_xlabel("months")
        ax.set_ylabel(f"{kind} probability")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{prediction.spec.trial.name}: visual predictive check. {DISCLAIMER}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "NR"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _write_html(prediction: Prediction, pub: pd.DataFrame, png: Path, path: Path) -> Path:
    import base64
    import html

    from oncotwin.calibration.calibrated import calibration_note

    info = prediction.info
    t = prediction.table.merge(pub, on=["arm", "endpoint"], how="left")
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(c))}</td>"
            for c in (
                r.arm,
                r.endpoint,
                _fmt(r.median),
                f"[{_fmt(r.low)}, {_fmt(r.high)}]",
                _fmt(r.published),
            )
        )
        + "</tr>"
        for r in t.itertuples(index=False)
    )
    img = base64.b64encode(png.read_bytes()).decode()
    note = calibration_note(info["calibrated_set"], info["in_sample"], predict=True)
    text = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(info['trial'])}"
        " prediction</title></head><body>"
        f"<h1>{html.escape(info['trial'])}: prediction</h1>"
        f"<p>{html.escape(note)}. {info['draws']} posterior draws, {info['patients']} "
        f"patients ({info['simulated_patients']} simulated), seed {info['seed']}; the record "
        f"({RECORD_FILE}) was written before any comparison.</p>"
        "<table border='1' cellpadding='3'><thead><tr><th>arm</th><th>endpoint</th>"
        f"<th>predicted median</th><th>{int(100 * float(t['level'].iloc[0]))}% predictive "
        "interval</th><th>published</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<h2>Kaplan-Meier visual predictive check</h2><img src='data:image/png;base64,{img}'>"
        f"<p><i>{html.escape(DISCLAIMER)}</i></p></body></html>"
    )
    path.write_text(text)
    return path


def comparison_rows(comparison: RecordComparison) -> list[dict[str, Any]]:
    """Rows for printing a comparison (strings)."""
    out = []
    for r in comparison.table.itertuples(index=False):
        inside = "" if pd.isna(r.inside) else ("inside" if bool(r.inside) else "OUTSIDE")
        out.append(
            {
                "arm": str(r.arm),
                "endpoint": str(r.endpoint),
                "predicted": f"{_fmt(r.median)} [{_fmt(r.low)}, {_fmt(r.high)}]",
                "published": _fmt(r.published),
                "inside": inside,
                "width": _fmt(r.width),
                "score": _fmt(r.interval_score),
            }
        )
    return out
