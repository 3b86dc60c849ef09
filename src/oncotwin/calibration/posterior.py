"""Posterior of the calibration quantities by NUTS (NumPyro) on the emulator.

The likelihood is each target's published sampling law, evaluated at the emulator's
prediction for ``theta`` (:meth:`oncotwin.calibration.emulator.Emulator.jax_predictor`), with
every source of uncertainty between the model and the published number added as variance on
the target's link scale:

- ``binomial`` (ORR, CR, toxicity rates, given in percent): the published count
  ``k = round(observed / 100 * n)`` is Binomial(n, p) at the trial's own n, with
  ``logit p ~ Normal(mu(theta), V_em + V_mc + tau^2)`` integrated out exactly by 24-point
  Gauss-Hermite quadrature (a logit-normal binomial);
- ``lognormal`` (medians) and ``normal_log`` (hazard ratios): ``log(observed) ~
  Normal(mu(theta), se^2 + V_em + V_mc + tau^2)``; a ``censored`` median (not reached; the
  published value is a lower bound) contributes ``log P(median > bound)``.

A target's own ``discrepancy`` SD (a confounded target), when it has one, adds in quadrature.

``mu`` and ``V_em`` are the emulator's mean and variance; ``V_mc`` the Monte Carlo variance of
the runs (:func:`oncotwin.calibration.history.mc_variance`, when ``n_sim`` is given); ``tau``
the spread of the trial random effect, integrated out as extra variance rather than simulated:
``tau_response`` for efficacy rates, ``tau_survival`` for medians and hazard ratios and
``tau_toxicity`` for toxicity rates (targets with ``block == 'toxicity'``), each with a
half-normal prior of scale 0.5 (``tau="fit"``), or fixed (``tau=0.0`` or a mapping).

Priors: uniform on the emulator's box for ``theta`` (the plausible ranges). Several chains
(default 4) start from dispersed points (uniform over the middle 76% of each prior range, on
the unconstrained scale); :class:`Posterior` reports split R-hat and the effective sample
size of every quantity, the draws as a DataFrame and the posterior predictive intervals of
every target.

Needs the optional dependencies (``pip install 'oncotwin[calibrate]'``). The first use turns
on jax's 64-bit mode (the GP's predictive variance needs it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from oncotwin.calibration.emulator import Emulator, from_link, require, require_emulated
from oncotwin.calibration.history import (
    TargetLike,
    _censored,
    _own_discrepancy,
    mc_variance,
    observation_variance,
)
from oncotwin.errors import OncotwinError

__all__ = ["TAU_NAMES", "TAU_PRIOR_SCALE", "Posterior", "PosteriorSampler", "fit_posterior"]

#: Scale of the half-normal prior of each tau (link scale).
TAU_PRIOR_SCALE = 0.5
#: The trial random-effect spreads, in group order.
TAU_NAMES = ("tau_response", "tau_survival", "tau_toxicity")
_GH_NODES = 24


def _tau_group(t: TargetLike) -> int:
    if getattr(t, "block", "efficacy") == "toxicity":
        return 2
    return 0 if t.law == "binomial" else 1


@dataclass
class Posterior:
    """Posterior draws of ``theta`` (and the taus) with diagnostics and predictions.

    Attributes
    ----------
    draws
        One row per draw: ``chain``, ``draw`` and one column per quantity.
    names
        The calibration quantities (``theta``), then the fitted taus.
    diagnostics
        Per quantity: ``r_hat`` (split R-hat) and ``ess`` (effective sample size).
    """

    draws: pd.DataFrame
    names: list[str]
    diagnostics: pd.DataFrame
    emulator: Emulator = field(repr=False)
    targets: list[Any] = field(repr=False)
    taus: dict[str, float | None] = field(repr=False)
    n_sim: int | None = None
    divergences: int = 0

    @property
    def theta_names(self) -> list[str]:
        """Names of the calibration quantities (the emulator's inputs)."""
        return list(self.emulator.inputs)

    @property
    def converged(self) -> bool:
        """All split R-hat < 1.05 and effective sample sizes >= 100."""
        d = self.diagnostics
        return bool((d["r_hat"] < 1.05).all() and (d["ess"] >= 100).all())

    def summary(self, levels: Sequence[float] = (0.9, 0.95)) -> pd.DataFrame:
        """Per quantity: mean, SD, median, central intervals at ``levels``, R-hat, ESS."""
        x = self.draws[self.names]
        out = pd.DataFrame({"mean": x.mean(), "sd": x.std(), "median": x.median()})
        for lv in levels:
            lo, hi = (1 - lv) / 2, 1 - (1 - lv) / 2
            out[f"q{100 * lo:g}"] = x.quantile(lo)
            out[f"q{100 * hi:g}"] = x.quantile(hi)
        return out.join(self.diagnostics)

    def interval(self, level: float = 0.95) -> pd.DataFrame:
        """Central ``level`` interval (``low``, ``high``) of each quantity."""
        x = self.draws[self.names]
        a = (1 - level) / 2
        return pd.DataFrame({"low": x.quantile(a), "high": x.quantile(1 - a)})

    def predictive(self, level: float = 0.95, *, draws: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Posterior predictive interval of each target.

        ``model_low/high``: the model's value (emulator mean + emulator variance, + the
        runs' Monte Carlo variance when ``n_sim`` was given) over the posterior;
        ``low/high``: a new arm like the target's, with the trial random effect (tau) and
        the sampling noise at the trial's own n (binomial counts at n; the log-scale SE of
        a median or HR). Values in the target's unit (percent for rates).
        """
        rng = np.random.default_rng(seed)
        take = rng.choice(len(self.draws), size=min(draws, len(self.draws)), replace=False)
        sub = self.draws.iloc[take]
        theta = sub[self.theta_names].to_numpy()
        mean, var = self.emulator.predict(theta)
        cols = [self.emulator.names.index(t.target_id) for t in self.targets]
        a = (1 - level) / 2
        rows = []
        for j, t in zip(cols, self.targets, strict=True):
            v = var[:, j]
            if self.n_sim is not None:  # the runs' common Monte Carlo error, as in the fit
                v = v + mc_variance(t, mean[:, j], self.n_sim)
            mu = mean[:, j] + rng.standard_normal(len(sub)) * np.sqrt(v)
            model = from_link(t.law, mu)
            if t.law == "binomial" and self.n_sim is not None:  # undo to_link's correction
                model = np.clip((model * (self.n_sim + 1) - 50.0) / self.n_sim, 0.0, 100.0)
            name = TAU_NAMES[_tau_group(t)]
            fixed = self.taus.get(name)
            tau = sub[name].to_numpy() if fixed is None else np.full(len(sub), fixed)
            eta = mu + rng.standard_normal(len(sub)) * tau
            if t.law == "binomial":
                p = 1.0 / (1.0 + np.exp(-eta))
                new = 100.0 * rng.binomial(int(t.n), p) / int(t.n)
            else:
                se = math.sqrt(observation_variance(t))
                new = np.exp(eta + rng.standard_normal(len(sub)) * se)
            rows.append(
                {
                    "target": t.target_id,
                    "observed": t.observed,
                    "model_low": float(np.quantile(model, a)),
                    "model_median": float(np.median(model)),
                    "model_high": float(np.quantile(model, 1 - a)),
                    "low": float(np.quantile(new, a)),
                    "high": float(np.quantile(new, 1 - a)),
                }
            )
        out = pd.DataFrame(rows).set_index("target")
        out["inside"] = (out["observed"] >= out["low"]) & (out["observed"] <= out["high"])
        return out


class PosteriorSampler:
    """NUTS on the emulator for a fixed set of targets; rerun cheaply with new observations.

    Parameters
    ----------
    emulator
        Fitted emulator whose target names include every target's ``target_id``; its bounds
        are the uniform prior box of ``theta``.
    targets
        The targets (:class:`~oncotwin.calibration.history.TargetLike`; ``block`` is read
        when present).
    n_sim
        Patients per arm of the runs behind the emulator (adds their Monte Carlo variance);
        ``None``: none.
    tau
        ``"fit"``: every tau whose group has a target is a free quantity (half-normal prior,
        scale :data:`TAU_PRIOR_SCALE`); a number: every tau fixed at it; a mapping: the named
        taus fixed, the others fitted.
    chains, warmup, samples
        NUTS chains (>= 2; default 4, run vectorised) and iterations per chain.
    target_accept
        NUTS target acceptance probability.
    emulator_variance
        Add the emulator's variance (default). ``False`` drops it and its O(n^2) cost per
        step, for emulators far more precise than the data (held-out RMSE << observation SD).
    """

    def __init__(
        self,
        emulator: Emulator,
        targets: Sequence[TargetLike],
        *,
        n_sim: int | None = None,
        tau: Literal["fit"] | float | Mapping[str, float] = "fit",
        chains: int = 4,
        warmup: int = 500,
        samples: int = 500,
        target_accept: float = 0.85,
        emulator_variance: bool = True,
    ) -> None:
        require_emulated(targets, emulator, "the posterior")
        if chains < 2:
            raise OncotwinError(f"chains={chains}; R-hat needs at least 2 chains (use 4)")
        for t in targets:
            if t.law == "binomial" and (not t.n or t.n < 1):
                raise OncotwinError(f"target {t.target_id!r} has n={t.n!r}; give the trial's n")
        self.emulator, self.targets, self.n_sim = emulator, list(targets), n_sim
        self.chains, self.warmup, self.samples = int(chains), int(warmup), int(samples)
        self.target_accept = float(target_accept)
        self.emulator_variance = bool(emulator_variance)
        groups = sorted({_tau_group(t) for t in self.targets})
        if tau == "fit":
            fixed: dict[str, float] = {}
        elif isinstance(tau, Mapping):
            unknown = set(tau) - set(TAU_NAMES)
            if unknown:
                raise OncotwinError(
                    f"tau names {sorted(unknown)} are unknown; use {', '.join(TAU_NAMES)}"
                )
            fixed = {k: float(v) for k, v in tau.items()}
        else:
            fixed = {name: float(tau) for name in TAU_NAMES}
        if any(v < 0 or not math.isfinite(v) for v in fixed.values()):
            raise OncotwinError(f"tau={tau!r}; a fixed tau must be a finite number >= 0")
        self.taus: dict[str, float | None] = {TAU_NAMES[g]: fixed.get(TAU_NAMES[g]) for g in groups}
        self._free_taus = [g for g in groups if self.taus[TAU_NAMES[g]] is None]
        self._build()

    def _build(self) -> None:
        jax = require("jax")
        require("numpyro")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as dist
        from jax.scipy.special import gammaln, logsumexp
        from jax.scipy.stats import norm

        em, ts = self.emulator, self.targets
        predict = em.jax_predictor(variance=self.emulator_variance)
        cols = jnp.asarray([em.names.index(t.target_id) for t in ts])
        is_bin = np.array([t.law == "binomial" for t in ts])
        b_idx, c_idx = np.flatnonzero(is_bin), np.flatnonzero(~is_bin)
        n_b = jnp.asarray([float(ts[i].n) for i in b_idx])
        group = np.array([_tau_group(t) for t in ts])
        fixed_tau = np.array([self.taus.get(TAU_NAMES[g]) or 0.0 for g in range(len(TAU_NAMES))])
        free = list(self._free_taus)
        n_sim = self.n_sim
        # Monte Carlo variance of a simulated median / HR: the observation's variance x n/n_sim
        mc_ratio = jnp.asarray([ts[i].n / n_sim if n_sim else 0.0 for i in c_idx])
        nodes, weights = np.polynomial.hermite_e.hermegauss(_GH_NODES)
        gh_x = jnp.asarray(nodes)
        gh_logw = jnp.asarray(np.log(weights / math.sqrt(2 * math.pi)))
        lo = jnp.asarray(em.bounds[:, 0])
        hi = jnp.asarray(em.bounds[:, 1])
        grp = jnp.asarray(group)
        own2 = jnp.asarray([_own_discrepancy(t) ** 2 for t in ts])
        cens = jnp.asarray([_censored(ts[i]) for i in c_idx], dtype=bool)

        def model(k_b: Any, z_c: Any, v_c: Any) -> None:
            theta = numpyro.sample("theta", dist.Uniform(lo, hi).to_event(1))
            tau = jnp.asarray(fixed_tau)
            for g in free:
                tg = numpyro.sample(TAU_NAMES[g], dist.HalfNormal(TAU_PRIOR_SCALE))
                tau = tau.at[g].set(tg)
            mean_all, var_all = predict(theta)
            mu, v_em = mean_all[cols], var_all[cols]
            extra = v_em + tau[grp] ** 2 + own2
            if b_idx.size:
                mb = mu[b_idx]
                vb = extra[b_idx]
                if n_sim is not None:
                    p = jax.nn.sigmoid(mb)
                    p = (p * n_sim + 0.5) / (n_sim + 1.0)
                    vb = vb + 1.0 / (n_sim * p * (1.0 - p))
                eta = mb[:, None] + jnp.sqrt(vb)[:, None] * gh_x[None, :]
                ll = (
                    k_b[:, None] * jax.nn.log_sigmoid(eta)
                    + (n_b - k_b)[:, None] * jax.nn.log_sigmoid(-eta)
                    + gh_logw[None, :]
                )
                comb = gammaln(n_b + 1) - gammaln(k_b + 1) - gammaln(n_b - k_b + 1)
                numpyro.factor("binomial", jnp.sum(logsumexp(ll, axis=1) + comb))
            if c_idx.size:
                vc = v_c * (1.0 + mc_ratio) + extra[c_idx]
                sd = jnp.sqrt(vc)
                ll_c = jnp.where(
                    cens,
                    norm.logcdf((mu[c_idx] - z_c) / sd),
                    norm.logpdf(z_c, mu[c_idx], sd),
                )
                numpyro.factor("log_values", jnp.sum(ll_c))

        self._model = model
        self._b_idx, self._c_idx = b_idx, c_idx
        self._runner = self._compile(model)

    def _compile(self, model: Any) -> Any:
        """One jitted function ``(keys, z0, data) -> (draws, diverging)`` for all chains.

        numpyro's ``MCMC.run`` re-compiles its sampling loop on every call (~10 s); this
        driver compiles NUTS (warmup adaptation + sampling, vmapped over chains) once, so
        synthetic recovery can refit hundreds of times.
        """
        import jax
        import jax.numpy as jnp
        from numpyro.infer.hmc import hmc
        from numpyro.infer.util import initialize_model

        d = self.emulator.bounds.shape[0]
        nb, nc = len(self._b_idx), len(self._c_idx)
        dummy = (jnp.zeros(nb), jnp.zeros(nc), jnp.ones(nc))
        info = initialize_model(jax.random.PRNGKey(0), model, dynamic_args=True, model_args=dummy)
        potential_gen = info.potential_fn
        init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
        warmup, samples, accept = self.warmup, self.samples, self.target_accept

        def one_chain(key: Any, z0: Any, data: Any) -> Any:
            k_init = jax.random.split(key)[0]
            state = init_kernel(
                z0,
                warmup,
                target_accept_prob=accept,
                dense_mass=True,
                model_args=data,
                rng_key=k_init,
            )

            def step(st: Any, _: Any) -> Any:
                st = sample_kernel(st, model_args=data)
                return st, (st.z, st.diverging)

            # one scan over warmup + sampling (the kernel adapts while i < warmup): the
            # NUTS step is compiled once, not twice
            _, (zs, div) = jax.lax.scan(step, state, None, length=warmup + samples)
            keep = jax.tree_util.tree_map(lambda a: a[warmup:], zs)
            return keep, div[warmup:]

        runner = jax.jit(jax.vmap(one_chain, in_axes=(0, 0, None)))
        self._sites = list(info.param_info.z)
        self._theta_dim = d
        return runner

    def _constrain(self, zs: dict[str, Any]) -> dict[str, np.ndarray]:
        import jax.numpy as jnp
        from numpyro.distributions import biject_to, constraints

        lo = jnp.asarray(self.emulator.bounds[:, 0])
        hi = jnp.asarray(self.emulator.bounds[:, 1])
        out = {"theta": np.asarray(biject_to(constraints.interval(lo, hi))(zs["theta"]))}
        for g in self._free_taus:
            out[TAU_NAMES[g]] = np.asarray(biject_to(constraints.positive)(zs[TAU_NAMES[g]]))
        return out

    def run(
        self,
        observed: Sequence[float] | None = None,
        *,
        se: Sequence[float | None] | None = None,
        seed: int = 0,
    ) -> Posterior:
        """Sample the posterior; ``observed`` / ``se`` replace the targets' values (same
        order as the targets; used by synthetic recovery to refit without recompiling)."""
        import jax
        import jax.numpy as jnp
        from numpyro.diagnostics import summary as np_summary

        ts = self.targets
        obs = np.array([t.observed for t in ts] if observed is None else observed, float)
        if obs.shape != (len(ts),) or not np.all(np.isfinite(obs)):
            raise OncotwinError(f"observed must be {len(ts)} finite values, one per target")
        ses = [t.se for t in ts] if se is None else list(se)
        k_b = np.round(obs[self._b_idx] / 100.0 * np.array([ts[i].n for i in self._b_idx]))
        z_c, v_c = [], []
        for i in self._c_idx:
            if obs[i] <= 0:
                raise OncotwinError(f"target {ts[i].target_id!r}: observed must be > 0")
            s = ses[i]
            if s is None or not math.isfinite(s) or s <= 0:
                raise OncotwinError(f"target {ts[i].target_id!r} needs a log-scale se > 0")
            z_c.append(math.log(obs[i]))
            v_c.append(float(s) ** 2)
        args = (jnp.asarray(k_b), jnp.asarray(np.array(z_c)), jnp.asarray(np.array(v_c)))
        rng = np.random.default_rng(seed)
        z0 = {  # dispersed starts: uniform on (-2, 2) on the unconstrained scale
            "theta": jnp.asarray(rng.uniform(-2, 2, (self.chains, self._theta_dim)))
        }
        for g in self._free_taus:
            z0[TAU_NAMES[g]] = jnp.asarray(rng.uniform(-2, 2, self.chains))
        keys = jax.random.split(jax.random.PRNGKey(seed), self.chains)
        zs, div = self._runner(keys, z0, args)
        samples = self._constrain(zs)
        diverging = int(np.asarray(div).sum())
        theta = np.asarray(samples["theta"])  # (chains, draws, d)
        names = list(self.emulator.inputs)
        cols: dict[str, np.ndarray] = {n: theta[..., i] for i, n in enumerate(names)}
        for g in self._free_taus:
            cols[TAU_NAMES[g]] = np.asarray(samples[TAU_NAMES[g]])
        stats = np_summary({k: v for k, v in cols.items()}, prob=0.9, group_by_chain=True)
        diag = pd.DataFrame(
            {k: {"r_hat": float(s["r_hat"]), "ess": float(s["n_eff"])} for k, s in stats.items()}
        ).T
        c, n = theta.shape[:2]
        draws = pd.DataFrame(
            {
                "chain": np.repeat(np.arange(c), n),
                "draw": np.tile(np.arange(n), c),
                **{k: v.reshape(-1) for k, v in cols.items()},
            }
        )
        posterior_targets = list(ts)
        if observed is not None or se is not None:
            posterior_targets = [_Replaced(t, float(obs[i]), ses[i]) for i, t in enumerate(ts)]
        return Posterior(
            draws=draws,
            names=list(cols),
            diagnostics=diag.loc[list(cols)],
            emulator=self.emulator,
            targets=posterior_targets,
            taus=dict(self.taus),
            n_sim=self.n_sim,
            divergences=diverging,
        )


@dataclass(frozen=True)
class _Replaced:
    """A target with its observed value (and SE) replaced, for refits on synthetic data."""

    base: Any
    observed: float
    se: float | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def fit_posterior(
    emulator: Emulator,
    targets: Sequence[TargetLike],
    *,
    seed: int = 0,
    **options: Any,
) -> Posterior:
    """Posterior of ``theta`` (and the taus) given ``targets``: see :class:`PosteriorSampler`
    for the options (``n_sim``, ``tau``, ``chains``, ``warmup``, ``samples``,
    ``target_accept``)."""
    return PosteriorSampler(emulator, targets, **options).run(seed=seed)
