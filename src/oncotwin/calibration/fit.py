"""One calibration fit on a stored run: emulator -> history matching -> posterior.

:func:`fit_store` reads every stored simulation of the chosen waves of a calibration store
(``oncotwin calibrate run``), fits one Gaussian-process emulator per target on the link scale
(:mod:`oncotwin.calibration.emulator`, held-out R^2 per target by 5-fold cross-validation),
judges the prior box by history matching (:mod:`oncotwin.calibration.history`) and samples
the posterior of the free quantities and the trial random-effect spreads by NUTS on the
emulator (:mod:`oncotwin.calibration.posterior`). ``exclude_trials`` leaves whole trials out
of the likelihood (leave-one-trial-out validation); their targets stay emulated so that they
can be predicted (:meth:`FitResult.predict_targets`).

:func:`write_set` writes a fit as a calibrated parameter set (package-data layout read by
:mod:`oncotwin.calibration.calibrated`): ``manifest.json``, ``hierarchy.json``,
``draws.csv``.

Conventions shared with the calibration report:

- a simulated median that is not reached within the trial's follow-up counts as the
  follow-up (a floor: the emulator then learns "at least the follow-up" for such sets);
- waves simulated at different patients per arm are pooled; the Monte Carlo variance uses
  the smallest of them (conservative).

Needs the optional dependencies (``pip install 'oncotwin[calibrate]'``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin.calibration.emulator import Emulator, to_link
from oncotwin.calibration.history import (
    HistoryMatch,
    NoMatchWarning,
    _censored,
    _own_discrepancy,
    observation_variance,
)
from oncotwin.calibration.posterior import (
    _GH_NODES,
    TAU_NAMES,
    TAU_PRIOR_SCALE,
    Posterior,
    _tau_group,
    fit_posterior,
)
from oncotwin.calibration.store import CalibrationStore, targets_hash
from oncotwin.errors import OncotwinError, did_you_mean

__all__ = [
    "FitResult",
    "active_inputs",
    "design_matrix",
    "fit_store",
    "pointwise_loglik",
    "stack_chains",
    "trial_of",
    "write_set",
]

#: Arm id -> trial name of the calibration arms (``published_arms.csv``), filled lazily.
_TRIALS: dict[str, str] = {}


def trial_of(target: Any) -> str:
    """The published trial a target belongs to (its arm's ``trial``, e.g. "CheckMate 067")."""
    if not _TRIALS:
        from oncotwin.trials.targets import PUBLISHED

        _TRIALS.update({a: rec.trial for a, rec in PUBLISHED.items()})
    return _TRIALS.get(target.arm_id, target.arm_id)


@dataclasses.dataclass
class FitResult:
    """What :func:`fit_store` found: the emulator, history match and posterior."""

    emulator: Emulator
    history: HistoryMatch
    posterior: Posterior
    targets: list[Any]
    fitted: list[Any]
    excluded_trials: tuple[str, ...]
    n_sim: int
    waves: tuple[int, ...]
    theta: pd.DataFrame
    store: Path
    seed: int
    hierarchy_json: str
    model_fingerprints: dict[str, str]
    targets_hash: str
    chain_weights: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(1))

    def predict_targets(
        self,
        targets: Sequence[Any] | None = None,
        *,
        draws: int = 1000,
        level: float = 0.95,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Posterior predictive interval of each of ``targets`` (default: all emulated ones).

        For a new arm like the target's: emulator mean and variance at posterior draws, the
        runs' Monte Carlo variance, the trial random effect (a tau the fit did not estimate,
        because no fitted target was in its group, is drawn from its half-normal prior) and
        the published sampling law at the trial's own n. Columns ``observed``, ``model_low``,
        ``model_median``, ``model_high``, ``low``, ``high``, ``inside`` (index target id).
        """
        ts = list(self.targets if targets is None else targets)
        missing = [t.target_id for t in ts if t.target_id not in self.emulator.names]
        if missing:
            raise OncotwinError(f"targets not emulated by this fit: {', '.join(missing[:5])}")
        post = self.posterior
        d = post.draws.copy()
        rng = np.random.default_rng([seed, 7])
        taus = dict(post.taus)
        for name in TAU_NAMES:
            if name not in d.columns and taus.get(name) is None:
                d[name] = np.abs(rng.standard_normal(len(d))) * TAU_PRIOR_SCALE
        for name in TAU_NAMES:
            taus.setdefault(name, None)
        other = dataclasses.replace(post, draws=d, targets=ts, taus=taus)
        return other.predictive(level, draws=draws, seed=seed)

    def summary(self) -> dict[str, Any]:
        """Headline figures: emulator R^2, history-matching fraction, convergence."""
        sc = self.emulator.scores()
        r2 = sc["r2"] if "r2" in sc else sc.iloc[:, 0]
        return {
            "sets": len(self.theta),
            "targets": len(self.targets),
            "fitted_targets": len(self.fitted),
            "excluded_trials": list(self.excluded_trials),
            "emulator_median_r2": float(np.nanmedian(r2)),
            "emulator_r2_below_0.5": int((r2 < 0.5).sum()),
            "nroy_fraction": float(self.history.fraction_remaining(2048, seed=self.seed)),
            "converged": bool(self.posterior.converged),
            "max_r_hat": float(self.posterior.diagnostics["r_hat"].max()),
            "min_ess": float(self.posterior.diagnostics["ess"].min()),
            "divergences": int(self.posterior.divergences),
        }


def design_matrix(
    store: CalibrationStore, targets: Sequence[Any], waves: Sequence[int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Theta of every stored set, the simulated target values (one column per target) and
    the patients per arm behind them (the smallest over the waves). Sets with no finished
    simulation are dropped; a median not reached counts as the target's follow-up."""
    info = store.waves()
    if info.empty:
        raise OncotwinError(f"{store.path} has no waves; run `oncotwin calibrate run` first")
    all_waves = [int(w) for w in info["wave"]]
    chosen = list(all_waves if not waves else waves)
    for w in chosen:
        if w not in all_waves:
            raise OncotwinError(
                f"wave {w} is not in {store.path}; its waves are {', '.join(map(str, all_waves))}"
            )
    xs, ys = [], []
    for w in chosen:
        sets = store.sets(w)
        names = [c for c in sets.columns if c not in ("wave", "origin")]
        vals = store.target_values(targets, wave=w)
        keep = vals.notna().any(axis=1)
        xs.append(sets.loc[keep, names])
        ys.append(vals.loc[keep])
    X = pd.concat(xs)
    Y = pd.concat(ys)
    for t in targets:
        if t.law == "lognormal" and t.target_id in Y:
            fu = float(getattr(t, "followup_mo", math.nan))
            col = Y[t.target_id].to_numpy(dtype=float)
            Y[t.target_id] = np.where(np.isposinf(col), fu if math.isfinite(fu) else np.nan, col)
    n_sim = int(info.loc[info["wave"].isin(chosen), "patients"].min())
    return X.astype(float), Y.astype(float), n_sim


def active_inputs(X: pd.DataFrame, link: np.ndarray, k: int) -> list[str]:
    """The ``k`` columns of ``X`` that move the simulated targets most: each quantity's
    score is the root-mean-square over targets of its Spearman rank correlation with the
    target's link-scale value across the runs (NaN runs left out per target); ties keep the
    column order. All columns when ``k`` >= their number."""
    names = list(X.columns)
    if k >= len(names):
        return names
    from scipy.stats import rankdata

    rx = np.column_stack([rankdata(X[c].to_numpy()) for c in names])
    scores = np.zeros(len(names))
    used = 0
    for j in range(link.shape[1]):
        y = link[:, j]
        ok = np.isfinite(y)
        if ok.sum() < 5 or np.ptp(y[ok]) == 0:
            continue
        ry = rankdata(y[ok])
        a = rx[ok] - rx[ok].mean(axis=0)
        b = ry - ry.mean()
        den = np.sqrt((a**2).sum(axis=0) * (b**2).sum())
        rho = np.divide(a.T @ b, den, out=np.zeros(len(names)), where=den > 0)
        scores += rho**2
        used += 1
    order = np.argsort(-np.sqrt(scores / max(used, 1)), kind="stable")
    return [names[i] for i in sorted(order[:k])]


def _link(targets: Sequence[Any], Y: pd.DataFrame, n_sim: int) -> np.ndarray:
    cols = []
    for t in targets:
        v = Y[t.target_id].to_numpy(dtype=float)
        cols.append(to_link(t.law, v, n=n_sim if t.law == "binomial" else None))
    return np.column_stack(cols)


def fit_store(
    store_dir: str | Path,
    *,
    waves: Sequence[int] | None = None,
    exclude_trials: Sequence[str] = (),
    seed: int = 0,
    chains: int = 4,
    warmup: int = 500,
    samples: int = 500,
    restarts: int = 2,
    folds: int = 5,
    emulator: Emulator | None = None,
    active: int | None = None,
    targets: Sequence[Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit the emulator, history match and posterior on the stored runs of ``store_dir``.

    ``exclude_trials`` (trial names of the published arms, e.g. ``"CheckMate 067"``) are
    left out of history matching and of the likelihood; ``emulator`` reuses a fitted
    emulator of the same store (leave-one-trial-out refits need only the posterior again).

    ``active``: emulate on only this many free quantities, the ones whose values move the
    simulated targets most over the stored sets (:func:`active_inputs`; the "active
    variables" of history matching, Vernon et al. 2010). The others stay at their shipped
    values in the fitted set and their effect over the runs counts as emulator noise.
    Default: all when the sets are at least twice the quantities, else ``(sets - 2) // 2``.
    ``targets`` default to the installed calibration targets (they must be the store's).
    """
    from oncotwin.calibration.hierarchy import Hierarchy
    from oncotwin.calibration.targets import load_targets

    say = progress or (lambda s: None)
    store = CalibrationStore.open(store_dir)
    try:
        run = store.run_info()
        targets = list(load_targets() if targets is None else targets)
        th = targets_hash(targets)
        if th != run["targets_hash"]:
            raise OncotwinError(
                f"the installed calibration targets (hash {th}) differ from those of "
                f"{store.path} ({run['targets_hash']}); fit a store made with these targets"
            )
        X, Y, n_sim = design_matrix(store, targets, waves)
        stored = run.get("hierarchy")
        hierarchy_json = (
            json.dumps(stored, indent=1, sort_keys=True)
            if stored
            else Hierarchy.build(targets).to_json()
        )
        used_waves = tuple(int(w) for w in (waves or store.waves()["wave"]))
    finally:
        store.close()
    hierarchy = Hierarchy.from_json(hierarchy_json)
    names = [q.name for q in hierarchy.free]
    missing = [n for n in names if n not in X.columns]
    if missing:
        raise OncotwinError(f"the store's sets lack free quantities {missing[:3]}; a fresh store")
    X = X[names]
    known_trials = sorted({trial_of(t) for t in targets})
    for tr in exclude_trials:
        if tr not in known_trials:
            raise OncotwinError("exclude trial: " + did_you_mean(tr, known_trials, what="trial"))
    if active is None and len(X) < 2 * len(names):
        active = max(1, (len(X) - 2) // 2)
    n_in = len(names) if active is None else min(int(active), len(names))
    # targets the runs cannot inform (too few finite values) cannot be emulated
    finite = Y.notna().sum()
    emulated = [t for t in targets if finite.get(t.target_id, 0) >= max(5, n_in + 2)]
    dropped = [t.target_id for t in targets if t not in emulated]
    if dropped:
        say(f"{len(dropped)} targets have too few finite simulated values: {', '.join(dropped)}")
    if not emulated:
        raise OncotwinError(
            f"{len(X)} stored sets cannot emulate {len(names)} quantities (each target needs "
            f"at least {n_in + 2} finished sets); run more sets with "
            f"`oncotwin calibrate run --out {store_dir} --sets N`"
        )
    link = _link(emulated, Y, n_sim)
    if emulator is None:
        k = len(names) if active is None else int(active)
        if k < 1:
            raise OncotwinError(f"active={active}; give a number of quantities >= 1")
        keep = active_inputs(X, link, min(k, len(names)))
        say(
            f"emulator: {len(emulated)} targets on {len(X)} sets x {len(keep)} of "
            f"{len(names)} quantities (screened: {', '.join(keep)})"
        )
        lo_hi = {q.name: (q.lower, q.upper) for q in hierarchy.free}
        emulator = Emulator(
            np.array([lo_hi[n] for n in keep], dtype=float),
            restarts=restarts,
            folds=folds,
            seed=seed,
        )
        emulator.fit(X[keep].to_numpy(), link, [t.target_id for t in emulated], inputs=keep)
    fitted = [
        t
        for t in emulated
        if trial_of(t) not in set(exclude_trials) and t.target_id in emulator.names
    ]
    say("history matching")
    history = HistoryMatch(emulator, fitted, n_sim=n_sim)
    say(f"posterior: NUTS, {chains} chains x ({warmup} warmup + {samples} draws)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoMatchWarning)
        posterior = fit_posterior(
            emulator,
            fitted,
            seed=seed,
            n_sim=n_sim,
            chains=chains,
            warmup=warmup,
            samples=samples,
        )
    weights = np.full(chains, 1.0 / chains)
    if not posterior.converged:
        # chains that stay in different modes: their union is not the posterior; weight them
        # by stacking and resample (diagnostics stay those of the raw chains)
        say("chains do not mix: weighting them by stacking (Yao, Vehtari & Gelman 2022)")
        weights = stack_chains(posterior, fitted)
        posterior = dataclasses.replace(
            posterior, draws=_resample_chains(posterior.draws, weights, seed)
        )
    return FitResult(
        emulator=emulator,
        history=history,
        posterior=posterior,
        chain_weights=weights,
        targets=[t for t in emulated if t.target_id in emulator.names],
        fitted=fitted,
        excluded_trials=tuple(exclude_trials),
        n_sim=n_sim,
        waves=used_waves,
        theta=X,
        store=Path(store_dir),
        seed=seed,
        hierarchy_json=hierarchy_json,
        model_fingerprints=dict(run["model_fingerprints"]),
        targets_hash=th,
    )


def pointwise_loglik(posterior: Posterior, targets: Sequence[Any]) -> np.ndarray:
    """``(draws, targets)`` log-likelihood of each target at each posterior draw: the same
    likelihood as the posterior's (:mod:`oncotwin.calibration.posterior`: logit-normal
    binomial by Gauss-Hermite quadrature, normal on the log scale, censored medians as a
    bound), evaluated in numpy at the emulator's prediction for each draw."""
    from scipy.special import gammaln, log_expit, logsumexp
    from scipy.stats import norm

    em, d = posterior.emulator, posterior.draws
    mean, var = em.predict(d[posterior.theta_names].to_numpy())
    cols = [em.names.index(t.target_id) for t in targets]
    mu, v_em = mean[:, cols], var[:, cols]
    n_sim = posterior.n_sim
    taus = np.column_stack(
        [
            d[name].to_numpy()
            if name in d.columns
            else np.full(len(d), float(posterior.taus.get(name) or 0.0))
            for name in TAU_NAMES
        ]
    )
    nodes, weights = np.polynomial.hermite_e.hermegauss(_GH_NODES)
    logw = np.log(weights / math.sqrt(2 * math.pi))
    out = np.empty(mu.shape)
    for j, t in enumerate(targets):
        extra = v_em[:, j] + taus[:, _tau_group(t)] ** 2 + _own_discrepancy(t) ** 2
        if t.law == "binomial":
            n = float(t.n)
            k = round(t.observed / 100.0 * n)
            if n_sim is not None:
                p = 1.0 / (1.0 + np.exp(-mu[:, j]))
                p = (p * n_sim + 0.5) / (n_sim + 1.0)
                extra = extra + 1.0 / (n_sim * p * (1.0 - p))
            eta = mu[:, j, None] + np.sqrt(extra)[:, None] * nodes[None, :]
            ll = k * log_expit(eta) + (n - k) * log_expit(-eta) + logw[None, :]
            comb = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
            out[:, j] = logsumexp(ll, axis=1) + comb
        else:
            ratio = t.n / n_sim if n_sim else 0.0
            sd = np.sqrt(observation_variance(t) * (1.0 + ratio) + extra)
            z = math.log(t.observed)
            out[:, j] = (
                norm.logcdf((mu[:, j] - z) / sd) if _censored(t) else norm.logpdf(z, mu[:, j], sd)
            )
    return out


def stack_chains(posterior: Posterior, targets: Sequence[Any]) -> np.ndarray:
    """Stacking weights of the posterior's chains (Yao, Vehtari & Gelman 2022, "Stacking for
    non-mixing Bayesian computations", Bayesian Anal 17:1-34).

    When chains stay in different modes (R-hat far above 1), their union is not the
    posterior. Stacking weights chain k by ``w`` maximising ``sum_i log sum_k w_k p_ik``, with
    ``p_ik`` the mean over chain k's draws of target i's likelihood (the in-sample pointwise
    predictive density; Yao et al. use its leave-one-out estimate). Returns one weight per
    chain (summing to 1)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    ll = pointwise_loglik(posterior, targets)
    chains = posterior.draws["chain"].to_numpy()
    ids = np.unique(chains)
    lpd = np.stack(  # (chains, targets): log mean over the chain's draws
        [logsumexp(ll[chains == c], axis=0) - math.log((chains == c).sum()) for c in ids]
    )

    def loss(a: np.ndarray) -> float:
        logw = a - logsumexp(a)
        return -float(np.sum(logsumexp(lpd + logw[:, None], axis=0)))

    res = minimize(loss, np.zeros(len(ids)), method="Nelder-Mead", options={"maxiter": 4000})
    return np.asarray(softmax(res.x))


def _resample_chains(draws: pd.DataFrame, weights: np.ndarray, seed: int) -> pd.DataFrame:
    """The draws with chain k resampled to ``round(w_k x draws)`` of its own draws."""
    rng = np.random.default_rng([seed, 11])
    chains = draws["chain"].to_numpy()
    take = []
    for c, w in zip(np.unique(chains), weights, strict=True):
        k = round(float(w) * len(draws))
        rows = np.flatnonzero(chains == c)
        if k:
            take.append(rng.choice(rows, size=k, replace=k > len(rows)))
    return draws.iloc[np.concatenate(take)].reset_index(drop=True)


def write_set(result: FitResult, out_dir: str | Path, name: str) -> Path:
    """Write ``result`` as a calibrated parameter set in ``out_dir/name/`` (manifest.json,
    hierarchy.json, draws.csv); returns the folder."""
    from oncotwin import __version__
    from oncotwin.calibration.hierarchy import Hierarchy

    if not name or any(c in name for c in "/\\ ") or name.startswith("."):
        raise OncotwinError(f"set name {name!r}: give a plain name (letters, digits, - _ .)")
    if result.excluded_trials:
        raise OncotwinError("a leave-trials-out fit is for validation; write a fit of all trials")
    folder = Path(out_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    hierarchy = Hierarchy.from_json(result.hierarchy_json)
    draws = result.posterior.draws.copy()
    weights = result.chain_weights
    for tau in TAU_NAMES:
        if tau not in draws.columns:
            fixed = result.posterior.taus.get(tau)
            draws[tau] = float(fixed) if fixed is not None else math.nan
    screened_out = [q.name for q in hierarchy.free if q.name not in draws.columns]
    for q in screened_out:  # not active in the emulator: the shipped value (theta 0) stands
        draws[q] = 0.0
    cols = ["chain", "draw", *[q.name for q in hierarchy.free], *TAU_NAMES]
    draws[cols].to_csv(folder / "draws.csv", index=False, float_format="%.10g")
    (folder / "hierarchy.json").write_text(result.hierarchy_json + "\n")
    s = result.summary()
    fps = result.model_fingerprints
    manifest = {
        "name": name,
        "model": hierarchy.model,
        "model_fingerprint": fps.get(hierarchy.model, ""),
        "targets_hash": result.targets_hash,
        "created": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "method": (
            "Bayesian history matching + NUTS on Gaussian-process emulators of the stored "
            "simulations (oncotwin.calibration.fit.fit_store): one GP per target on the link "
            "scale, uniform priors on the hierarchy's plausible ranges, each target's "
            "published sampling law at the trial's n, emulator + Monte Carlo variance, "
            "half-normal(0.5) priors on the trial random-effect spreads"
        ),
        "store": str(result.store),
        "waves": list(result.waves),
        "sets": len(result.theta),
        "patients_per_arm": int(result.n_sim),
        "seed": int(result.seed),
        "n_draws": len(draws),
        "emulator": {
            "median_r2": s["emulator_median_r2"],
            "targets_r2_below_0.5": s["emulator_r2_below_0.5"],
        },
        "posterior": {
            "chain_stacking_weights": [round(float(w), 4) for w in weights],
            "draws_from": (
                "all chains (converged)"
                if s["converged"]
                else "chains resampled by their stacking weights (not converged: the chains "
                "stay in different modes; Yao, Vehtari & Gelman 2022)"
            ),
            "converged": s["converged"],
            "max_r_hat": s["max_r_hat"],
            "min_ess": s["min_ess"],
            "divergences": s["divergences"],
        },
        "in_sample_trials": sorted({trial_of(t) for t in result.fitted}),
        "in_sample_examples": sorted({t.example for t in result.fitted}),
        "arm_ids": sorted({t.arm_id for t in result.fitted}),
        "targets_fitted": len(result.fitted),
        "free_quantities": [q.name for q in hierarchy.free],
        "active_quantities": list(result.emulator.inputs),
        "screened_out": screened_out,
        "tau_names": list(TAU_NAMES),
        "oncotwin_version": __version__,
    }
    manifest["draws_sha256"] = hashlib.sha256((folder / "draws.csv").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return folder
