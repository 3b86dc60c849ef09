"""History matching: rule out the parameter sets that cannot reproduce the published targets.

For each target ``j`` and parameter set ``theta`` the implausibility is (on the target's link
scale, :func:`oncotwin.calibration.emulator.to_link`)::

    I_j(theta) = |z_j - E[f_j(theta)]| / sqrt(V_obs,j + V_mc,j + V_em,j(theta) + V_disc,j)

- ``z_j``: the published value; ``V_obs``: its sampling variance (:func:`observation_variance`:
  binomial at the trial's own n on the logit scale, ``1 / (n p (1 - p))``; the squared
  log-scale SE of a median or hazard ratio);
- ``E[f_j]``, ``V_em``: the emulator's mean and variance;
- ``V_mc``: the Monte Carlo variance of a simulated value at ``n_sim`` patients per arm
  (:func:`mc_variance`; the runs share their patients across parameter sets, so this noise is
  common to all runs and the emulator cannot see it);
- ``V_disc``: model discrepancy, by default ``0.1 V_obs + tau^2`` with ``tau = 0.1`` on the
  link scale (documented default: 10% of the observation variance for what the model's
  structure misses in the arm's own setting, plus a between-trial spread of about the size
  CALIBRATION.md sets as the goal for the residual trial effect, ``tau <= ~0.15``), plus the
  square of a target's own ``discrepancy`` SD where it has one (a confounded target: crossover,
  TTP standing for PFS).

A ``censored`` target (a median not reached: the published value is a lower bound) is
implausible only when the model falls below it: ``I_j = max(z_j - E[f_j], 0) / sqrt(...)``.

``theta`` is implausible when the ``k``-th largest ``I_j`` exceeds the cutoff (3, Pukelsheim's
three-sigma rule); ``k = 2`` or ``3`` keeps one or two stubborn targets from vetoing all of
parameter space (:attr:`HistoryMatch.kth`). The not-implausible region is sampled by rejection
from a scrambled Sobol design of the prior box (:meth:`HistoryMatch.sample`); an empty region
is reported with the targets no parameter set matches, as candidate model defects.

Targets are any objects with the fields of :class:`oncotwin.calibration.targets.Target` that
matter here (``target_id``, ``observed``, ``law``, ``n``, ``se``; ``censored`` and
``discrepancy`` when present): see :class:`TargetLike`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from oncotwin.calibration.emulator import Emulator, from_link, require, require_emulated, to_link
from oncotwin.errors import OncotwinError

__all__ = [
    "DISCREPANCY_FRACTION",
    "DISCREPANCY_TAU",
    "HistoryMatch",
    "NoMatchWarning",
    "TargetLike",
    "mc_variance",
    "observation_variance",
    "observed_link",
    "sobol_points",
]

#: Default model-discrepancy variance: this fraction of the observation variance ...
DISCREPANCY_FRACTION = 0.1
#: ... plus this SD squared (link scale).
DISCREPANCY_TAU = 0.1


class NoMatchWarning(UserWarning):
    """The not-implausible region is empty or smaller than asked for."""


class TargetLike(Protocol):
    """What history matching and the posterior read from a target."""

    target_id: str
    observed: float
    law: str
    n: int
    se: float | None


def _censored(t: TargetLike) -> bool:
    return bool(getattr(t, "censored", False)) and t.law != "binomial"


def _own_discrepancy(t: TargetLike) -> float:
    d = float(getattr(t, "discrepancy", 0.0) or 0.0)
    return d if math.isfinite(d) else 0.0


def _law(t: TargetLike) -> str:
    if t.law not in ("binomial", "lognormal", "normal_log"):
        raise OncotwinError(
            f"target {t.target_id!r} has law={t.law!r}; use 'binomial', 'lognormal' or 'normal_log'"
        )
    return t.law


def observed_link(t: TargetLike) -> float:
    """The published value on the link scale (a rate in percent; continuity-corrected at n).

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> round(observed_link(T(target_id="a:ORR", observed=50.0, law="binomial", n=40, se=None)), 6)
    0.0
    """
    return float(to_link(_law(t), t.observed, n=t.n if t.law == "binomial" else None))


def observation_variance(t: TargetLike) -> float:
    """Sampling variance of the published value on the link scale.

    Binomial: ``1 / (n p (1 - p))`` (delta method on the logit) with the continuity-corrected
    observed proportion ``p = (k + 0.5) / (n + 1)``; lognormal / normal_log: ``se**2``.

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> round(observation_variance(T(target_id="a", observed=50.0, law="binomial", n=99,
    ...                              se=None)), 4)
    0.0404
    >>> observation_variance(T(target_id="b", observed=12.0, law="lognormal", n=99, se=0.2))
    0.04000000000000001
    """
    law = _law(t)
    if law == "binomial":
        if not t.n or t.n < 1:
            raise OncotwinError(f"target {t.target_id!r} has n={t.n!r}; a rate needs n >= 1")
        p = (t.observed / 100.0 * t.n + 0.5) / (t.n + 1.0)
        return 1.0 / (t.n * p * (1.0 - p))
    if t.se is None or not math.isfinite(t.se) or t.se <= 0:
        raise OncotwinError(
            f"target {t.target_id!r} ({law}) has se={t.se!r}; give the log-scale SE from the "
            "published CI or ~1/sqrt(events)"
        )
    return float(t.se) ** 2


def mc_variance(t: TargetLike, link_value: np.ndarray | float, n_sim: int) -> np.ndarray:
    """Monte Carlo variance of a value simulated at ``n_sim`` patients, on the link scale.

    Binomial: ``1 / (n_sim p (1 - p))`` at the simulated rate ``p`` (continuity-corrected at
    ``n_sim``); medians and hazard ratios: the observation's log-scale variance scaled by
    ``n / n_sim`` (the SE of a median or log HR falls as 1/sqrt(patients)).

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> t = T(target_id="a", observed=10.0, law="lognormal", n=100, se=0.2)
    >>> round(float(mc_variance(t, 2.0, 400)), 4)
    0.01
    """
    law = _law(t)
    v = np.asarray(link_value, dtype=float)
    if law == "binomial":
        p = 1.0 / (1.0 + np.exp(-v))
        p = (p * n_sim + 0.5) / (n_sim + 1.0)
        return 1.0 / (n_sim * p * (1.0 - p))
    return np.full_like(v, observation_variance(t) * t.n / n_sim)


def sobol_points(n: int, bounds: np.ndarray, seed: int = 0) -> np.ndarray:
    """``n`` points of a scrambled Sobol design in the box ``bounds`` (d, 2)."""
    qmc = require("scipy.stats.qmc")
    b = np.asarray(bounds, dtype=float)
    eng = qmc.Sobol(d=b.shape[0], scramble=True, seed=seed)
    m = max(1, math.ceil(math.log2(max(n, 2))))
    u = eng.random_base2(m)[:n]
    return b[:, 0] + u * (b[:, 1] - b[:, 0])


class HistoryMatch:
    """Implausibility of parameter sets against targets through a fitted emulator.

    Parameters
    ----------
    emulator
        Fitted :class:`~oncotwin.calibration.emulator.Emulator` whose target names are the
        targets' ``target_id`` (any order; each target needs one).
    targets
        The targets (:class:`TargetLike`).
    n_sim
        Patients per arm of the simulations the emulator learnt from (adds :func:`mc_variance`);
        ``None``: no Monte Carlo term.
    cutoff
        Implausibility cutoff (3).
    kth
        Use the k-th largest implausibility over targets (1 = the maximum; 2 or 3 let one or
        two targets miss).
    discrepancy_fraction, discrepancy_tau
        Model-discrepancy variance ``fraction * V_obs + tau**2`` (link scale).
    """

    def __init__(
        self,
        emulator: Emulator,
        targets: Sequence[TargetLike],
        *,
        n_sim: int | None = None,
        cutoff: float = 3.0,
        kth: int = 2,
        discrepancy_fraction: float = DISCREPANCY_FRACTION,
        discrepancy_tau: float = DISCREPANCY_TAU,
    ) -> None:
        require_emulated(targets, emulator, "history matching")
        if not 1 <= kth <= len(targets):
            raise OncotwinError(f"kth={kth}; give 1 .. {len(targets)} (the number of targets)")
        if cutoff <= 0 or discrepancy_fraction < 0 or discrepancy_tau < 0:
            raise OncotwinError("cutoff must be > 0 and the discrepancy terms >= 0")
        self.emulator = emulator
        self.targets = list(targets)
        self.n_sim = n_sim
        self.cutoff = float(cutoff)
        self.kth = int(kth)
        self._cols = np.array([emulator.names.index(t.target_id) for t in self.targets])
        self.z = np.array([observed_link(t) for t in self.targets])
        self.v_obs = np.array([observation_variance(t) for t in self.targets])
        own = np.array([_own_discrepancy(t) for t in self.targets])
        self.v_disc = discrepancy_fraction * self.v_obs + discrepancy_tau**2 + own**2
        self.censored = np.array([_censored(t) for t in self.targets])

    @property
    def target_ids(self) -> list[str]:
        """Target ids in column order of :meth:`implausibility`."""
        return [t.target_id for t in self.targets]

    def implausibility(self, theta: np.ndarray) -> np.ndarray:
        """``(N, m)`` implausibility of each parameter set (rows of ``theta``) per target."""
        mean, var = self.emulator.predict(np.atleast_2d(theta))
        return self.implausibility_from(mean[:, self._cols], var[:, self._cols])

    def implausibility_from(self, mean: np.ndarray, var: np.ndarray | float = 0.0) -> np.ndarray:
        """Implausibility from model values on the link scale (columns in target order).

        With ``var = 0`` it judges simulated values directly (a wave's runs).
        """
        mean = np.atleast_2d(np.asarray(mean, dtype=float))
        total = self.v_obs + self.v_disc + np.asarray(var, dtype=float)
        if self.n_sim is not None:
            total = total + np.column_stack(
                [mc_variance(t, mean[:, j], self.n_sim) for j, t in enumerate(self.targets)]
            )
        gap = np.where(self.censored, np.maximum(self.z - mean, 0.0), np.abs(self.z - mean))
        return gap / np.sqrt(total)

    def i_max(self, theta: np.ndarray) -> np.ndarray:
        """The k-th largest implausibility over targets of each parameter set."""
        return _kth_largest(self.implausibility(theta), self.kth)

    def non_implausible(self, theta: np.ndarray) -> np.ndarray:
        """Boolean mask: parameter sets whose k-th largest implausibility is <= the cutoff."""
        return self.i_max(theta) <= self.cutoff

    def runs_matching(self, simulated: np.ndarray) -> np.ndarray:
        """Mask of a wave's runs (raw summary values, columns in target order) that match
        every target jointly (all ``I_j <= cutoff``, the stopping rule's count)."""
        sim = np.atleast_2d(np.asarray(simulated, dtype=float))
        link = np.column_stack(
            [
                to_link(t.law, sim[:, j], n=self.n_sim if t.law == "binomial" else None)
                for j, t in enumerate(self.targets)
            ]
        )
        imp = self.implausibility_from(link)
        return np.all(np.nan_to_num(imp, nan=np.inf) <= self.cutoff, axis=1)

    def fraction_remaining(self, n: int = 4096, *, seed: int = 0) -> float:
        """Share of the prior box that is not implausible (Sobol estimate with ``n`` points)."""
        pts = sobol_points(n, self.emulator.bounds, seed=seed)
        return float(np.mean(self.non_implausible(pts)))

    def table(self, theta: np.ndarray) -> pd.DataFrame:
        """Per target: observed value, best emulated value over ``theta`` and the smallest
        implausibility reached (what a report lists as unreachable targets)."""
        theta = np.atleast_2d(theta)
        imp = self.implausibility(theta)
        mean, _ = self.emulator.predict(theta)
        best = np.argmin(imp, axis=0)
        rows = []
        for j, t in enumerate(self.targets):
            rows.append(
                {
                    "target": t.target_id,
                    "observed": t.observed,
                    "closest_emulated": float(from_link(t.law, mean[best[j], self._cols[j]])),
                    "min_implausibility": float(imp[best[j], j]),
                    "reachable": bool(imp[best[j], j] <= self.cutoff),
                }
            )
        return pd.DataFrame(rows).set_index("target")

    def sample(
        self,
        n: int,
        *,
        seed: int = 0,
        candidates: int | None = None,
        min_count: int | None = None,
        max_candidates: int = 2**20,
    ) -> np.ndarray:
        """Points for the next wave: rejection from a Sobol design, kept if not implausible.

        Draws Sobol candidates (``candidates``, default ``max(4096, 64 n)``, doubled until at
        least ``n`` points pass or ``max_candidates`` is reached) and returns ``n`` of the
        passing points (fewer when the region is too small). Warns (:class:`NoMatchWarning`)
        when fewer than ``min_count`` (default ``n``) pass; when none pass, the warning names
        the targets no candidate matched: candidate model defects.
        """
        if n < 1:
            raise OncotwinError(f"n={n}; ask for at least one point")
        want = n if min_count is None else int(min_count)
        size = candidates or max(4096, 64 * n)
        rng = np.random.default_rng(seed)
        while True:
            pts = sobol_points(size, self.emulator.bounds, seed=int(rng.integers(2**31 - 1)))
            imp = self.implausibility(pts)
            keep = _kth_largest(imp, self.kth) <= self.cutoff
            if keep.sum() >= n or size >= max_candidates:
                break
            size = min(2 * size, max_candidates)
        inside = pts[keep]
        if len(inside) == 0:
            bad = [
                t.target_id for j, t in enumerate(self.targets) if np.min(imp[:, j]) > self.cutoff
            ]
            warnings.warn(
                f"no parameter set matches targets {', '.join(bad) or '(none alone)'}: "
                f"candidate model defects ({size} candidates, cutoff {self.cutoff:g}, "
                f"{self.kth}-th largest implausibility)",
                NoMatchWarning,
                stacklevel=2,
            )
        elif len(inside) < want:
            warnings.warn(
                f"only {len(inside)} of {size} candidates are not implausible (asked for "
                f"{want}); the next wave will be small",
                NoMatchWarning,
                stacklevel=2,
            )
        if len(inside) > n:
            inside = inside[rng.choice(len(inside), n, replace=False)]
        return inside


def _kth_largest(imp: np.ndarray, k: int) -> np.ndarray:
    imp = np.nan_to_num(np.atleast_2d(imp), nan=np.inf)
    return np.sort(imp, axis=1)[:, -k]
