"""Population regimen optimisation: grid, then Bayesian optimisation, with common random numbers.

Every candidate regimen is given to the same virtual patients: the trial's patients 0..N-1
of one seed, whose covariates, model parameters and every random draw (death, toxicity,
reader noise) are functions of (seed, patient index) alone (:mod:`oncotwin._random`). The
difference between two candidates is then the effect of the regimen on the same patients, not
the noise of two samples (common random numbers); it is estimated with a paired bootstrap over
patients (the same resampled patients for every candidate), beside the unpaired standard error
for comparison.

Continuous choices (a dose or a duration range) are searched after the grid by Bayesian
optimisation: a Gaussian process (scikit-learn, Matern 5/2 + white noise, on the range scaled to
0-1) of the objective and expected improvement maximised over random points. Each candidate is
simulated in memory, all its patients at once (:func:`oncotwin.trials._chunk.simulate_chunk`,
the path of :meth:`~oncotwin.trials.Trial.summary`). Research simulation, not medical advice.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean
from oncotwin.optimize.candidates import (
    Candidate,
    RegimenTemplate,
    Vary,
    grid_candidates,
    make_candidate,
)
from oncotwin.optimize.exposure import (
    PKInputs,
    exposure_ratios,
    exposure_summary,
    simulate_exposure,
)
from oncotwin.optimize.objective import Objective, endpoint_matrix, parse_objective

__all__ = ["OptimisationResult", "candidate_spec", "evaluate_outcomes", "optimise"]

_SS = ("Cavg_ss", "Cmin_ss", "Cmax_ss")
#: Bootstrap resamples of the patients (shared by all candidates: paired).
DEFAULT_BOOTSTRAP = 400


def candidate_spec(spec: Any, arm: str, candidate: Candidate, *, min_months: float = 0.0) -> Any:
    """A one-arm copy of trial ``spec`` whose arm ``arm`` gives ``candidate`` to everyone.

    The population, schedule, treatment rules and seed are the trial's, the follow-up at least
    ``min_months`` and ``max_duration_months`` the candidate's duration when it has one.
    """
    from oncotwin.trials._spec_models import TrialSpec

    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["arm"] = [{"name": arm, "regimen": [candidate.regimen]}]
    data["trial"]["reference_arm"] = arm
    data["trial"]["follow_up_months"] = max(float(data["trial"]["follow_up_months"]), min_months)
    if candidate.duration_months is not None:
        data.setdefault("treatment", {})["max_duration_months"] = candidate.duration_months
    return TrialSpec.model_validate(data)


def evaluate_outcomes(spec: Any, patients: int, seed: int) -> dict[str, pd.DataFrame]:
    """Simulate all ``patients`` of a one-arm spec in memory: its ``patients`` and
    ``outcomes`` tables (patient order)."""
    from oncotwin.trials import Trial
    from oncotwin.trials._chunk import simulate_chunk

    plan = Trial(spec).plan(patients=patients, seed=seed, chunk_size=patients)
    parts = [simulate_chunk(plan, c) for c in range(plan.n_chunks)]
    return {
        k: pd.concat([p[k] for p in parts], ignore_index=True) for k in ("patients", "outcomes")
    }


@dataclass
class _Evaluated:
    candidate: Candidate
    indicators: np.ndarray  # patients x endpoints
    phase: str
    exposure: pd.DataFrame | None = None


@dataclass
class OptimisationResult:
    """The candidates, their estimates with uncertainty, and their exposure view."""

    table: pd.DataFrame
    objective: Objective
    reference: str
    patients: int
    seed: int
    seconds: float
    exposure: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> pd.Series:
        """The row of the candidate with the highest objective estimate."""
        return self.table.loc[self.table["objective"].idxmax()]

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``optimize.csv``, ``exposure.csv`` and ``optimize.png`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"table": out / "optimize.csv", "plot": out / "optimize.png"}
        with paths["table"].open("w") as fh:
            fh.write(f"# {DISCLAIMER}\n# objective: {self.objective.text}\n")
            self.table.to_csv(fh, index=False)
        if self.exposure:
            frames = [s.assign(candidate=k) for k, s in self.exposure.items()]
            paths["exposure"] = out / "exposure.csv"
            with paths["exposure"].open("w") as fh:
                fh.write(f"# {DISCLAIMER}\n")
                pd.concat(frames, ignore_index=True).to_csv(fh, index=False)
        plot_result(self, paths["plot"])
        return paths


def _bootstrap_weights(n: int, b: int, seed: int) -> np.ndarray:
    """Resample counts (b x n) of the patients, the same for every candidate."""
    rng = np.random.default_rng([int(seed), 0x0B7])
    idx = rng.integers(0, n, size=(b, n))
    w = np.zeros((b, n))
    np.add.at(w, (np.repeat(np.arange(b), n), idx.ravel()), 1.0)
    return w / n


def _exposure_drug(regimen: str, drug: str | None) -> str | None:
    """The antibody whose exposure is shown: ``drug`` if dosed, else the first antibody with
    a population-PK model."""
    from oncotwin.pharmacology.poppk import antibody_pk
    from oncotwin.regimens import parse_regimen

    drugs = parse_regimen(regimen).drugs
    order = ([drug] if drug in drugs else []) + [d for d in drugs if d != drug]
    for d in order:
        try:
            pk = antibody_pk(d)
        except OncotwinError:
            continue
        if "CL" in pk.typical:
            return d
    return None


def optimise(
    spec: Any,
    varies: Sequence[Vary],
    objective: str | Objective,
    *,
    arm: str | None = None,
    drug: str | None = None,
    patients: int = 300,
    seed: int | None = None,
    reference: str | None = None,
    budget: int = 0,
    grid_points: int = 5,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    exposure: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> OptimisationResult:
    """Search the regimens of ``varies`` on arm ``arm`` of trial ``spec`` for ``objective``.

    Parameters
    ----------
    spec
        A :class:`~oncotwin.trials.spec.TrialSpec`; its population, schedule and seed are used.
    varies
        The choices (:func:`~oncotwin.optimize.candidates.parse_vary`).
    objective
        An expression over endpoints (:func:`~oncotwin.optimize.objective.parse_objective`).
    arm
        The arm whose regimen is varied (default: the first arm that doses a drug).
    drug
        The drug whose dose and interval are varied (default: the arm's first drug).
    patients, seed
        The virtual patients (the same for every candidate) and the run seed (default: the
        spec's).
    reference
        The reference regimen (default: the arm's own); differences and exposure ratios are
        against it.
    budget
        Bayesian-optimisation evaluations after the grid (continuous choices only).
    grid_points
        Grid values of each continuous range.
    bootstrap
        Paired bootstrap resamples of the patients.
    exposure
        Compute the exposure view (antibodies with a population-PK model).
    """
    t0 = time.perf_counter()
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    if patients < 2:
        raise OncotwinError(f"patients={patients}; give at least 2 virtual patients")
    if budget < 0 or grid_points < 2 or bootstrap < 10:
        raise OncotwinError(
            "budget >= 0, grid_points >= 2 and bootstrap >= 10 are needed; "
            f"got {budget}, {grid_points}, {bootstrap}"
        )
    if not varies:
        raise OncotwinError("give at least one --vary NAME=VALUES, e.g. --vary dose=100,200,400")
    names = list(spec.arm_names)
    if arm is None:
        arm = next((a.name for a in spec.arms if not a.is_placebo and a.regimen), None)
        if arm is None:
            raise OncotwinError("the trial has no arm with a single regimen; name one with --arm")
    if arm not in names:
        raise UnknownNameError(f"--arm: {did_you_mean(arm, names, what='arm')}")
    arm_spec = next(a for a in spec.arms if a.name == arm)
    if len(arm_spec.regimen) != 1:
        raise OncotwinError(
            f"arm {arm!r} has {len(arm_spec.regimen)} concurrent regimens or choices; vary "
            "whole regimens with --vary regimen=...|... on an arm with one regimen"
        )
    base_text = reference or arm_spec.regimen[0]
    template = RegimenTemplate.from_text(arm_spec.regimen[0], drug)
    run_seed = int(spec.trial.seed if seed is None else seed)
    grid = grid_candidates(template, list(varies), points=grid_points)
    ref = make_candidate(template, {"regimen": base_text}, label="reference")
    todo = [("reference", ref), *(("grid", c) for c in grid)]
    total = len(todo) + (budget if any(v.continuous for v in varies) else 0)
    done: list[_Evaluated] = []
    base_patients: pd.DataFrame | None = None
    notes: list[str] = []
    pk_in: PKInputs | None = None

    def evaluate(phase: str, cand: Candidate) -> _Evaluated:
        nonlocal base_patients, pk_in
        if progress is not None:
            progress(len(done), total, cand.label)
        cspec = candidate_spec(spec, arm, cand, min_months=obj.months)
        tables = evaluate_outcomes(cspec, patients, run_seed)
        pts = tables["patients"]
        if base_patients is None:
            base_patients = pts
            if exposure:
                from oncotwin.population.virtual import VirtualPopulation
                from oncotwin.trials import Trial

                plan = Trial(cspec).plan(patients=patients, seed=run_seed, chunk_size=patients)
                vp = VirtualPopulation.for_trial(
                    plan.model(),
                    plan.cancer,
                    np.arange(patients),
                    seed=plan.seed,
                    eligibility=plan.eligibility,
                    baseline=plan.baseline,
                )
                pk_in = PKInputs.from_population(vp.population, vp.covariates)
        elif not np.array_equal(
            pts["patient_id"].to_numpy(), base_patients["patient_id"].to_numpy()
        ) or not np.allclose(
            pts["weight_kg"].to_numpy(dtype=float), base_patients["weight_kg"].to_numpy(dtype=float)
        ):
            raise OncotwinError("internal: candidates got different patients (no common numbers)")
        ev = _Evaluated(cand, endpoint_matrix(tables["outcomes"], obj.endpoints), phase)
        if exposure and pk_in is not None:
            d = _exposure_drug(cand.regimen, template.drug)
            if d is not None:
                try:
                    ev.exposure = simulate_exposure(d, cand.regimen, pk_in)
                except OncotwinError as exc:
                    notes.append(f"{cand.label}: no exposure view ({exc})")
        done.append(ev)
        return ev

    for phase, cand in todo:
        evaluate(phase, cand)
    weights = _bootstrap_weights(patients, bootstrap, run_seed)
    cont = [v for v in varies if v.continuous]
    if cont and budget > 0:
        _bayesian(done, varies, cont, template, obj, weights, budget, run_seed, evaluate)
    if progress is not None:
        progress(total, total, "done")
    table, expo = _table(done, obj, weights)
    return OptimisationResult(
        table,
        obj,
        base_text,
        patients,
        run_seed,
        time.perf_counter() - t0,
        expo,
        notes,
    )


def _estimate(ev: _Evaluated, obj: Objective, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Objective point estimate and its bootstrap replicates."""
    means = ev.indicators.mean(axis=0)
    boot = weights @ ev.indicators  # b x endpoints
    point = float(obj(dict(zip(obj.endpoints, means, strict=True))))
    reps = obj({e: boot[:, j] for j, e in enumerate(obj.endpoints)})
    return point, np.asarray(reps, dtype=float)


def _bayesian(
    done: list[_Evaluated],
    varies: Sequence[Vary],
    cont: list[Vary],
    template: RegimenTemplate,
    obj: Objective,
    weights: np.ndarray,
    budget: int,
    seed: int,
    evaluate: Callable[[str, Candidate], _Evaluated],
) -> None:
    """Expected-improvement search over the continuous choices, the discrete ones fixed at
    the best grid candidate's values."""
    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    grid = [e for e in done if e.phase == "grid"]
    best = max(grid, key=lambda e: _estimate(e, obj, weights)[0])
    fixed = {k: v for k, v in best.candidate.choices.items() if k not in {c.name for c in cont}}
    rng = np.random.default_rng([seed, 0xB0])

    def x_of(e: _Evaluated) -> list[float] | None:
        row = []
        for c in cont:
            v = e.candidate.choices.get(c.name)
            if v is None:
                return None
            val = float(v[0]) if isinstance(v, tuple) else float(v)  # type: ignore[arg-type]
            row.append((val - c.lo) / (c.hi - c.lo))
        same = all(e.candidate.choices.get(k) == v for k, v in fixed.items())
        return row if same else None

    for _ in range(budget):
        pts = [(x_of(e), e) for e in done if e.phase != "reference"]
        xs = np.array([x for x, _ in pts if x is not None])
        ys = np.array([_estimate(e, obj, weights)[0] for x, e in pts if x is not None])
        noise = float(np.mean([np.var(_estimate(e, obj, weights)[1]) for _, e in pts]))
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=[0.3] * len(cont), length_scale_bounds=(0.05, 10.0), nu=2.5
        ) + WhiteKernel(
            noise_level=max(noise, 1e-6) / max(float(np.var(ys)), 1e-9),
            noise_level_bounds=(1e-6, 10.0),
        )
        gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)
        with warnings.catch_warnings():  # bounds reached on a few noisy points: expected
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(xs, ys)
        cand_x = rng.random((2048, len(cont)))
        mu, sd = gp.predict(cand_x, return_std=True)
        incumbent = float(np.max(gp.predict(xs)))
        z = (mu - incumbent) / np.maximum(sd, 1e-12)
        ei = (mu - incumbent) * norm.cdf(z) + sd * norm.pdf(z)
        seen = {(e.candidate.regimen, e.candidate.duration_months) for e in done}
        for k in np.argsort(-ei):  # the best new point (rounding may repeat an old one)
            choices = dict(fixed)
            for c, u in zip(cont, cand_x[k], strict=True):
                val = float(f"{float(c.lo + u * (c.hi - c.lo)):.3g}")
                choices[c.name] = (val, c.unit) if c.name == "dose" else val
            cand = make_candidate(template, {v.name: choices[v.name] for v in varies})
            if (cand.regimen, cand.duration_months) not in seen:
                evaluate("bayes", cand)
                break
        else:
            return


def _table(
    done: list[_Evaluated], obj: Objective, weights: np.ndarray
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    ref = done[0]
    ref_point, ref_reps = _estimate(ref, obj, weights)
    ref_se = float(np.std(ref_reps, ddof=1))
    n = ref.indicators.shape[0]
    rows = []
    expo: dict[str, pd.DataFrame] = {}
    for ev in done:
        point, reps = _estimate(ev, obj, weights)
        se = float(np.std(reps, ddof=1))
        diff = reps - ref_reps
        row: dict[str, Any] = {
            "candidate": ev.candidate.label,
            "phase": ev.phase,
            "regimen": ev.candidate.regimen,
            "max_duration_months": ev.candidate.duration_months,
            "objective": point,
            "objective_se": se,
            "diff_vs_reference": point - ref_point,
            "diff_se_paired": float(np.std(diff, ddof=1)),
            "diff_se_unpaired": math.sqrt(se**2 + ref_se**2),
        }
        means = ev.indicators.mean(axis=0)
        for j, e in enumerate(obj.endpoints):
            p = float(means[j])
            row[e] = p
            row[f"{e}_se"] = math.sqrt(p * (1 - p) / n)
        if ev.exposure is not None:
            s = exposure_summary(ev.exposure).set_index("metric")
            expo[ev.candidate.label] = s.reset_index()
            row["exposure_drug"] = ev.exposure.attrs.get("drug", "")
            for m in ("Cavg_ss", "Cmin_ss", "Cmax_ss"):
                row[f"{m}_gm"] = s.loc[m, "geo_mean"]
                row[f"{m}_p5"] = s.loc[m, "p5"]
                row[f"{m}_p95"] = s.loc[m, "p95"]
            if "RO_min_ss" in s.index:
                row["RO_min_ss_median"] = s.loc["RO_min_ss", "median"]
            if ref.exposure is not None and ref.exposure.attrs.get("drug") == ev.exposure.attrs.get(
                "drug"
            ):
                ratios = exposure_ratios(ev.exposure, ref.exposure, _SS)
                for m, r in ratios.items():
                    row[f"{m}_ratio"] = r
        rows.append(row)
    return pd.DataFrame(rows), expo


def plot_result(result: OptimisationResult, path: str | Path) -> Path:
    """Objective with 95% error bars per candidate, its paired difference to the reference,
    and the steady-state exposure ratios to the reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table
    has_ratio = "Cavg_ss_ratio" in t
    ncol = 3 if has_ratio else 2
    fig, axes = plt.subplots(1, ncol, figsize=(5 * ncol + 2, 0.35 * len(t) + 2), squeeze=False)
    y = np.arange(len(t))
    ax = axes[0, 0]
    colors = ["black" if p == "reference" else ("C1" if p == "bayes" else "C0") for p in t["phase"]]
    ax.errorbar(
        t["objective"], y, xerr=1.96 * t["objective_se"], fmt="none", ecolor="grey", capsize=2
    )
    ax.scatter(t["objective"], y, c=colors, zorder=3)
    ax.set_yticks(y, t["candidate"], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"objective: {result.objective.text} (95% CI)")
    axd = axes[0, 1]
    axd.errorbar(
        t["diff_vs_reference"],
        y,
        xerr=1.96 * t["diff_se_paired"],
        fmt="none",
        ecolor="grey",
        capsize=2,
    )
    axd.scatter(t["diff_vs_reference"], y, c=colors, zorder=3)
    axd.axvline(0.0, color="black", lw=0.8)
    axd.set_yticks(y, [""] * len(t))
    axd.invert_yaxis()
    axd.set_xlabel("difference to reference, same patients (paired 95% CI)")
    if has_ratio:
        ax2 = axes[0, 2]
        for k, (m, off) in enumerate((("Cavg_ss", -0.25), ("Cmin_ss", 0.0), ("Cmax_ss", 0.25))):
            ax2.barh(y + off, t[f"{m}_ratio"], height=0.25, label=m, color=f"C{k + 2}")
        ax2.axvline(1.0, color="black", lw=0.8)
        ax2.set_yticks(y, [""] * len(t))
        ax2.invert_yaxis()
        ax2.set_xlabel("steady-state exposure / reference (geometric mean ratio)")
        ax2.legend(fontsize=7)
    fig.suptitle(
        f"Regimen optimisation, {result.patients} virtual patients (same patients per "
        "candidate). Research simulation, not medical advice.",
        fontsize=9,
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
