"""Benchmark: forecast the last two scans of real lesion series (issue 17).

Follows ``benchmarks/TWIN_PROTOCOL.md`` (its sha256 is printed): Laleh et al. 2022 lesion
series of FIR, POPLAR and BIRCH with >= 6 scans; fit all but the last two scans, forecast the
last two; the population prior is fitted by folds of patients. Prints the twin beside the
last value carried forward and the best classical growth law per lesion, all in one run, and
writes the visual predictive check to ``benchmarks/results/twin_vpc.png``.

Run: ``python benchmarks/twin_forecast.py [--data PATH]``. Research simulation, not
medical advice.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import time
import warnings
from pathlib import Path

import numpy as np

from oncotwin.twin._fit import fit_population
from oncotwin.twin._forecast import calibrate_random_walk, holdout_predictive
from oncotwin.twin._laleh import DEFAULT_DATA, LesionSeries, load_laleh, study_name
from oncotwin.twin._model import growth_anchor
from oncotwin.twin._regimen import regimen_effect

HERE = Path(__file__).resolve().parent
PROTOCOL = HERE / "TWIN_PROTOCOL.md"
SEED = 20260
N_FOLDS = 5
N_DRAWS = 4000
MIN_SCANS = 6


def _classes(s: LesionSeries) -> list[tuple[str, ...]]:
    cache = {r: regimen_effect(r).classes for r in set(s.regimen)}
    return [cache[r] for r in s.regimen]


def _split(s: LesionSeries, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Fit part (all but the last two scans) and the two held-out scans of series ``idx``."""
    n = s.n_scans[idx]
    rows = np.arange(idx.size)
    mask = s.mask[idx].copy()
    mask[rows, n - 1] = False
    mask[rows, n - 2] = False
    return {
        "mask": mask,
        "t_h": np.stack([s.day[idx, :][rows, n - 2], s.day[idx, :][rows, n - 1]], axis=1),
        "y_h": np.stack([s.diameter_mm[idx][rows, n - 2], s.diameter_mm[idx][rows, n - 1]], axis=1),
        "last_fit": s.diameter_mm[idx][rows, n - 3],
        "nadir_fit": np.min(np.where(mask, s.diameter_mm[idx], np.inf), axis=1),
    }


def _progressed(final: np.ndarray, nadir: np.ndarray) -> np.ndarray:
    return (final >= 1.2 * nadir) & (final >= nadir + 5.0)


# ------------------------------------------------------------------ classical growth laws
def _bertalanffy(t, v0, k, w, lam):
    if abs(lam) < 1e-6:
        return k * (v0 / k) ** np.exp(-w * t)
    base = k**lam + (v0**lam - k**lam) * np.exp(-w * t)
    return np.maximum(base, 1e-12) ** (1.0 / lam)


def _gompertz(t, v0, k, w):
    return k * (v0 / k) ** np.exp(-w * t)


def _classical(t: np.ndarray, y: np.ndarray, t_new: np.ndarray) -> tuple[np.ndarray, str]:
    """Best of general Bertalanffy / Gompertz by AIC, fitted on diameters via volume."""
    from scipy.optimize import least_squares

    t0 = t[0]
    tt, tn = (t - t0) / 7.0, (t_new - t0) / 7.0  # weeks from the first scan
    vmax = 0.52 * max(float(np.max(y)), 1.0) ** 3

    def diam(v):
        return np.cbrt(np.maximum(v, 0.0) / 0.52)

    best: tuple[float, np.ndarray, str] | None = None
    v_first = 0.52 * max(y[0], 0.5) ** 3
    starts = [
        ("gompertz", _gompertz, [v_first, vmax, 0.1]),
        ("gompertz", _gompertz, [v_first, 0.1 * vmax, 0.1]),
        ("bertalanffy", _bertalanffy, [v_first, vmax, 0.1, 0.5]),
        ("bertalanffy", _bertalanffy, [v_first, 0.1 * vmax, 0.1, -0.5]),
    ]
    n = y.size
    for name, fn, p0 in starts:
        k = len(p0)
        if n < k + 1:
            continue
        log_p0 = np.log(np.abs(p0[:3]))

        def resid(q, fn=fn, k=k):
            pars = [*np.exp(q[:3]), *(q[3:] if k == 4 else [])]
            return diam(fn(tt, *pars)) - y

        q0 = np.concatenate([log_p0, [p0[3]]]) if k == 4 else log_p0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = least_squares(resid, q0, method="lm", max_nfev=2000)
        except (ValueError, FloatingPointError):
            continue
        rss = float(np.sum(res.fun**2))
        if not np.isfinite(rss):
            continue
        aic = n * math.log(max(rss, 1e-9) / n) + 2 * k
        pars = [*np.exp(res.x[:3]), *(res.x[3:] if k == 4 else [])]
        with np.errstate(all="ignore"):
            pred = diam(fn(tn, *pars))
        if not np.all(np.isfinite(pred)):
            continue
        if best is None or aic < best[0]:
            best = (aic, pred, name)
    if best is None:
        return np.full(t_new.shape, y[-1]), "lvcf-fallback"
    return best[1], best[2]


# ------------------------------------------------------------------ VPC
def _vpc(s: LesionSeries, pop, path: Path, rng: np.random.Generator) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from oncotwin.twin._model import predict, residual_sd

    arms = sorted(set(s.arm))
    ncol = 4
    nrow = math.ceil(len(arms) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), squeeze=False)
    bins = np.arange(-60, 480, 42.0)
    for ax, arm in zip(axes.flat, arms, strict=False):
        sel = np.flatnonzero(s.arm == arm)
        eff = regimen_effect(s.regimen[sel[0]])
        mu = pop.prior_mean(eff.classes)
        theta = mu + np.asarray(pop.log_sd) * rng.standard_normal((200, 4))
        # the observed visit days of randomly chosen real series of this arm
        pick = rng.choice(sel, 200)
        days = s.day[pick]
        f = predict(theta, days, eff.on, eff.t_stop)
        sim = np.maximum(
            f
            + residual_sd(f, pop.additive_sd_mm, pop.proportional_sd)
            * rng.standard_normal(f.shape),
            0.0,
        )
        msk = s.mask[pick]
        for i in sel:
            m = s.mask[i]
            ax.plot(s.day[i, m], s.diameter_mm[i, m], color="0.6", lw=0.5, alpha=0.6)
        centers = 0.5 * (bins[1:] + bins[:-1])
        for src, dd, yy, mm, col in (
            ("observed", s.day[sel], s.diameter_mm[sel], s.mask[sel], "k"),
            ("simulated", days, sim, msk, "C0"),
        ):
            q = np.full((3, centers.size), np.nan)
            for j in range(centers.size):
                inb = mm & (dd >= bins[j]) & (dd < bins[j + 1])
                if inb.sum() >= 5:
                    q[:, j] = np.quantile(yy[inb], [0.1, 0.5, 0.9])
            if src == "simulated":
                ax.fill_between(centers, q[0], q[2], color=col, alpha=0.25, label="sim 10-90%")
                ax.plot(centers, q[1], color=col, lw=2, label="sim median")
            else:
                ax.plot(centers, q[1], "k--", lw=1.5, label="obs median")
                ax.plot(centers, q[0], "k:", lw=1)
                ax.plot(centers, q[2], "k:", lw=1, label="obs 10/90%")
        ax.set_title(f"{study_name(arm)} (n={sel.size})\n{s.regimen[sel[0]]}", fontsize=8)
        ax.set_xlabel("day since start of treatment")
        ax.set_ylabel("lesion diameter [mm]")
        ax.set_ylim(0, 150)
    for ax in list(axes.flat)[len(arms) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Twin population VPC (research simulation, not medical advice)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Run the benchmark and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--vpc", type=Path, default=HERE / "results" / "twin_vpc.png")
    args = ap.parse_args()
    sha = hashlib.sha256(PROTOCOL.read_bytes()).hexdigest()
    print(f"protocol {PROTOCOL.name} sha256 {sha}")
    s = load_laleh(args.data)
    classes = _classes(s)
    on = np.array([1.0 if c else 0.0 for c in classes])
    rng = np.random.default_rng(SEED)
    fold = np.empty(s.ids.size, int)
    fold[rng.permutation(s.ids.size)] = np.arange(s.ids.size) % N_FOLDS
    evaluate = np.flatnonzero(s.n_scans >= MIN_SCANS)
    print(f"series: {s.ids.size} in Studies 1-3; evaluated (>= {MIN_SCANS} scans): {evaluate.size}")

    t_pop = t_fc = 0.0
    med = np.zeros((evaluate.size, 2))
    map_curve = np.zeros((evaluate.size, 2))  # supplementary (added after run 3)
    ess_all: list[np.ndarray] = []
    rw_sds: list[float] = []
    p_prog = np.zeros(evaluate.size)
    cover = {0.8: np.zeros((evaluate.size, 2), bool), 0.95: np.zeros((evaluate.size, 2), bool)}
    sp = _split(s, evaluate)
    for k in range(N_FOLDS):
        train = np.flatnonzero(fold != k)
        test_pos = np.flatnonzero(fold[evaluate] == k)
        if test_pos.size == 0:
            continue
        tic = time.perf_counter()
        tr = s.subset(train)
        pop = fit_population(
            tr.diameter_mm,
            tr.day,
            tr.mask,
            [classes[i] for i in train],
            source=f"fold {k}",
            fixed_mean=growth_anchor(),
        )
        rw_sd = calibrate_random_walk(
            pop,
            tr.diameter_mm,
            tr.day,
            tr.mask,
            [classes[i] for i in train],
            rng=np.random.default_rng([SEED, k, 1]),
        )
        pop = dataclasses.replace(pop, forecast_rw_sd=rw_sd)
        rw_sds.append(rw_sd)
        t_pop += time.perf_counter() - tic
        idx = evaluate[test_pos]
        th = sp["t_h"][test_pos]
        tic = time.perf_counter()
        smooth, noisy, fit, ess = holdout_predictive(
            pop,
            s.diameter_mm[idx],
            s.day[idx],
            sp["mask"][test_pos],
            th,
            [classes[i] for i in idx],
            n_draws=N_DRAWS,
            rng=np.random.default_rng([SEED, k]),
        )
        ess_all.append(ess)
        from oncotwin.twin._model import predict

        t_fc += time.perf_counter() - tic
        med[test_pos] = np.median(noisy, axis=0)
        map_curve[test_pos] = predict(fit.theta, th, on[idx], np.inf)
        yh = sp["y_h"][test_pos]
        for level in cover:
            lo, hi = np.quantile(noisy, [(1 - level) / 2, (1 + level) / 2], axis=0)
            cover[level][test_pos] = (yh >= lo) & (yh <= hi)
        nadir = np.minimum(sp["nadir_fit"][test_pos][None], smooth[..., 0])
        p_prog[test_pos] = np.mean(_progressed(noisy[..., 1], nadir), axis=0)

    yh = sp["y_h"]
    lvcf = np.repeat(sp["last_fit"][:, None], 2, axis=1)
    tic = time.perf_counter()
    classical = np.zeros_like(yh)
    chosen: list[str] = []
    for j, i in enumerate(evaluate):
        m = sp["mask"][j]
        classical[j], name = _classical(s.day[i, m], s.diameter_mm[i, m], sp["t_h"][j])
        chosen.append(name)
    t_cls = time.perf_counter() - tic

    nadir_obs = np.minimum(sp["nadir_fit"], yh[:, 0])
    observed = _progressed(yh[:, 1], nadir_obs)
    calls = {
        "twin": p_prog >= 0.5,
        "LVCF": _progressed(lvcf[:, 1], sp["nadir_fit"]),
        "classical": _progressed(classical[:, 1], np.minimum(sp["nadir_fit"], classical[:, 0])),
    }
    preds = {"twin": med, "LVCF": lvcf, "classical": classical}
    print(f"\nobserved progression at the final scan: {observed.mean():.1%} of {observed.size}")
    print(
        "classical law chosen by AIC: "
        + ", ".join(f"{n} {chosen.count(n)}" for n in sorted(set(chosen)))
    )
    head = (
        f"{'method':<10} {'medAE h1':>9} {'medAE h2':>9} {'medAE':>7} {'meanAE':>7} "
        f"{'mean h2':>8} {'prog acc':>9}"
    )
    print("\nabsolute error [mm], per lesion = per patient SLD (one lesion per patient)")
    print(head)
    for name, p in preds.items():
        err = np.abs(p - yh)
        acc = np.mean(calls[name] == observed)
        print(
            f"{name:<10} {np.median(err[:, 0]):9.2f} {np.median(err[:, 1]):9.2f} "
            f"{np.median(err):7.2f} {np.mean(err):7.2f} {np.mean(err[:, 1]):8.2f} {acc:9.1%}"
        )
    err_map = np.abs(map_curve - yh)
    print(
        f"{'(suppl.) twin MAP curve':<24} medAE h1 {np.median(err_map[:, 0]):.2f}  h2 "
        f"{np.median(err_map[:, 1]):.2f}  all {np.median(err_map):.2f}  mean "
        f"{np.mean(err_map):.2f}  (noise-free curve at the posterior mode; not in the "
        "protocol, added after run 3)"
    )
    ess_v = np.concatenate(ess_all)
    print(
        f"importance-sampling ESS of {4 * N_DRAWS} proposals: median {np.median(ess_v):.0f}, "
        f"10th percentile {np.quantile(ess_v, 0.1):.0f}, min {ess_v.min():.1f}"
    )
    print(
        "forecast random-walk SD per fold [log-size/sqrt(day)]: "
        + ", ".join(f"{v:.4f}" for v in rw_sds)
    )
    print("\ntwin interval coverage (nominal 80% / 95%)")
    for level, c in cover.items():
        print(
            f"  {level:.0%}: h1 {c[:, 0].mean():.1%}  h2 {c[:, 1].mean():.1%}  both {c.mean():.1%}"
        )
    err_t = np.abs(med - yh).mean(axis=1)
    err_l = np.abs(lvcf - yh).mean(axis=1)
    print(
        f"\ntwin better than LVCF on {np.mean(err_t < err_l):.1%} of series, "
        f"worse on {np.mean(err_t > err_l):.1%}"
    )
    print(
        f"\nwall time [s]: population fits + random-walk calibration ({N_FOLDS} folds) "
        f"{t_pop:.1f}; twin fits + forecasts {t_fc:.2f} ({evaluate.size} series, "
        f"{1e3 * t_fc / evaluate.size:.1f} ms each); classical fits {t_cls:.1f}"
    )
    full = fit_population(
        s.diameter_mm, s.day, s.mask, classes, source="all", fixed_mean=growth_anchor()
    )
    _vpc(s, full, args.vpc, np.random.default_rng(SEED + 1))
    print(f"VPC written to {args.vpc}")
    print("research simulation, not medical advice")


if __name__ == "__main__":
    main()
