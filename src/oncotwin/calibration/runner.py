"""Waves of a calibration: design parameter sets, simulate every example trial per set, store.

A wave is a set of points ``theta`` (log-multipliers of the free calibration quantities of a
:class:`~oncotwin.calibration.hierarchy.Hierarchy`), each simulated on every example trial
that has calibration targets, through ``Trial.from_example(ex).summary(patients=, seed=,
parameters=hierarchy.overrides(theta, ex))``. Every set is simulated with the same seed
(common random numbers: the same virtual patients in every set, so differences between sets
are the parameters' effect, not Monte Carlo noise). Each simulation is stored as soon as it
finishes (:mod:`oncotwin.calibration.store`), so a killed wave loses at most the running
simulation and ``resume`` continues it; a simulation that fails is recorded as an error and
the wave goes on.

``patients`` is the number of patients per arm: a trial with k arms is simulated with
``patients x k`` patients, split by the spec's randomisation ratio.

Examples
--------
>>> from types import SimpleNamespace as NS
>>> h = NS(free=[NS(name="growth_rate", parameter="growth_rate", lower=-1.0, upper=1.0),
...              NS(name="exhaustion_rate", parameter="exhaustion_rate", lower=-2.0, upper=0.5)])
>>> design = design_wave(h, 4, seed=1)
>>> design.shape, list(design.columns)
((4, 2), ['growth_rate', 'exhaustion_rate'])
>>> bool(design["growth_rate"].between(-1, 1).all() and design["exhaustion_rate"].le(0.5).all())
True
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from oncotwin.calibration.store import (
    CalibrationStore,
    CalibrationStoreError,
    SimRecord,
    targets_hash,
)
from oncotwin.errors import OncotwinError, did_you_mean

__all__ = [
    "DESIGNS",
    "Simulator",
    "TrialSimulator",
    "WaveSummary",
    "calibrate",
    "design_wave",
    "examples_with_targets",
    "free_quantities",
    "read_theta",
    "run_wave",
    "select_examples",
]

#: Space-filling designs of :func:`design_wave`.
DESIGNS = ("sobol", "lhs")
#: Most candidate points drawn when a ``region`` filters the design.
MAX_CANDIDATES = 2**20


# -- the hierarchy's free quantities -------------------------------------------------------
def free_quantities(hierarchy: Any) -> list[Any]:
    """The quantities a wave varies: the hierarchy's free quantities that move a model
    parameter (the trial random effects ``tau_*`` enter the likelihood, not the simulator)."""
    out = []
    for q in hierarchy.free:
        if not getattr(q, "parameter", None):
            continue
        lo, hi = float(q.lower), float(q.upper)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise OncotwinError(
                f"hierarchy: quantity {q.name} has theta bounds ({lo}, {hi}); a wave needs "
                "finite bounds with lower < upper (fix its parameter's prior_range)"
            )
        out.append(q)
    if not out:
        raise OncotwinError("hierarchy: no free quantity moves a model parameter; nothing to vary")
    return out


def design_wave(
    hierarchy: Any,
    n_sets: int,
    seed: int,
    region: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    method: str = "sobol",
) -> pd.DataFrame:
    """``n_sets`` space-filling points in the theta box of the free quantities.

    ``method``: ``"sobol"`` (scrambled Sobol', the first ``n_sets`` points; powers of two
    balance best) or ``"lhs"`` (Latin hypercube). ``region`` (e.g. from history matching)
    takes a matrix of candidate points (one row per point, columns in the order of the
    returned frame's columns) and returns a boolean mask of the points to keep; candidates are
    drawn until ``n_sets`` are kept. Returns one row per set, one column per quantity.
    """
    from scipy.stats import qmc

    if method not in DESIGNS:
        raise OncotwinError(f"design: {method!r} is unknown; give one of {', '.join(DESIGNS)}")
    n = int(n_sets)
    if n < 1:
        raise OncotwinError(f"sets: {n_sets}; give a number of parameter sets >= 1")
    qs = free_quantities(hierarchy)
    names = [q.name for q in qs]
    lo = np.array([float(q.lower) for q in qs])
    hi = np.array([float(q.upper) for q in qs])
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 15]))
    d = len(qs)
    if method == "sobol":
        sobol = qmc.Sobol(d, scramble=True, seed=rng)
        first = max(1, math.ceil(math.log2(n)))

        def draw(k: int) -> np.ndarray:
            # blocks keep the total a power of two (Sobol' balance; no scipy warning)
            return sobol.random_base2(first) if sobol.num_generated == 0 else sobol.random(k)
    else:
        lhs = qmc.LatinHypercube(d, seed=rng)

        def draw(k: int) -> np.ndarray:
            return lhs.random(k)

    if region is None:
        u = draw(n)[:n]
        return pd.DataFrame(lo + u * (hi - lo), columns=names)
    kept: list[np.ndarray] = []
    drawn, n_kept, block = 0, 0, 2**first if method == "sobol" else max(n * 4, 64)
    while n_kept < n:
        if drawn >= MAX_CANDIDATES:
            raise OncotwinError(
                f"region: only {n_kept} of {drawn} candidate points are inside it; ask for "
                f"fewer sets (at most {n_kept}) or use a wider region"
            )
        pts = lo + draw(block) * (hi - lo)
        drawn += len(pts)
        mask = np.asarray(region(pts), dtype=bool).reshape(-1)
        if mask.shape != (len(pts),):
            raise OncotwinError(
                f"region: returned {mask.shape[0]} values for {len(pts)} points; it must give "
                "one boolean per row"
            )
        kept.append(pts[mask])
        n_kept += int(mask.sum())
        block = drawn if method == "sobol" else block  # Sobol': double the total each time
    return pd.DataFrame(np.vstack(kept)[:n], columns=names)


# -- examples --------------------------------------------------------------------------------
def examples_with_targets(targets: Iterable[Any]) -> list[str]:
    """The example trials the targets come from, in order of first appearance."""
    return list(dict.fromkeys(str(t.example) for t in targets))


def select_examples(targets: Sequence[Any], names: Sequence[str] | None) -> list[str]:
    """The examples to simulate: all with targets, or the subset ``names`` (checked)."""
    known = examples_with_targets(targets)
    if not names:
        return known
    out = []
    for name in names:
        n = name.strip()
        if n not in known:
            raise OncotwinError(
                "examples: " + did_you_mean(n, known, what="example with calibration targets")
            )
        if n not in out:
            out.append(n)
    return out


# -- simulating ------------------------------------------------------------------------------
class Simulator(Protocol):
    """What a wave needs from the simulator (the real one is :class:`TrialSimulator`)."""

    def arms(self, example: str) -> int:
        """Number of arms of ``example``."""
        ...

    def fingerprints(self, examples: Sequence[str]) -> dict[str, str]:
        """Model name -> fingerprint for the models of ``examples``."""
        ...

    def identity(
        self, example: str, parameters: Mapping[str, float], patients: int, seed: int
    ) -> dict[str, str]:
        """model, model_fingerprint, parameter_set_hash, parameter_values_hash of a run."""
        ...

    def summary(
        self, example: str, parameters: Mapping[str, float], patients: int, seed: int
    ) -> pd.DataFrame:
        """The trial summary (columns arm, endpoint, value, n) of ``patients`` in all."""
        ...


class TrialSimulator:
    """Runs example trials with :meth:`oncotwin.trials.Trial.summary` (trials cached)."""

    def __init__(self) -> None:
        self._trials: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"_trials": {}}  # a worker process builds its own trials

    def trial(self, example: str) -> Any:
        from oncotwin.trials import Trial

        if example not in self._trials:
            self._trials[example] = Trial.from_example(example)
        return self._trials[example]

    def arms(self, example: str) -> int:
        return len(self.trial(example).arm_names)

    def fingerprints(self, examples: Sequence[str]) -> dict[str, str]:
        from oncotwin.models.registry import get_model

        models = {self.trial(ex).spec.trial.model for ex in examples}
        return {m: get_model(m).fingerprint for m in sorted(models)}

    def identity(
        self, example: str, parameters: Mapping[str, float], patients: int, seed: int
    ) -> dict[str, str]:
        plan = self.trial(example).plan(patients=patients, seed=seed, parameters=parameters)
        model = plan.model()
        return {
            "model": model.name,
            "model_fingerprint": model.fingerprint,
            "parameter_set_hash": plan.parameter_set().values_hash(),
            "parameter_values_hash": plan.parameters_hash(),
        }

    def summary(
        self, example: str, parameters: Mapping[str, float], patients: int, seed: int
    ) -> pd.DataFrame:
        return self.trial(example).summary(patients=patients, seed=seed, parameters=parameters)


@dataclasses.dataclass(frozen=True)
class WaveSummary:
    """What one call of :func:`run_wave` did."""

    out: Path
    wave: int
    n_sets: int
    examples: tuple[str, ...]
    total: int
    ran: int
    skipped: int
    failed: int
    wall_s: float

    def __str__(self) -> str:
        done = self.skipped + self.ran
        return (
            f"wave {self.wave}: {done}/{self.total} simulations stored ({self.ran} run now, "
            f"{self.skipped} already stored, {self.failed} failed) for {self.n_sets} sets x "
            f"{len(self.examples)} examples in {self.wall_s:.1f} s; store {self.out}"
        )


def _interactive() -> bool:
    return sys.stderr.isatty()


def run_wave(
    store: CalibrationStore,
    wave: int,
    sets: pd.DataFrame | None,
    examples: Sequence[str],
    patients: int,
    seed: int,
    progress: bool = True,
    *,
    hierarchy: Any,
    simulator: Simulator | None = None,
    design: str = "given",
    origin: str = "design",
    retry_failed: bool = False,
    workers: int = 1,
) -> WaveSummary:
    """Simulate every (set, example) pair of ``wave`` not yet stored, storing each at once.

    ``sets``: one row per parameter set, one column per free quantity (theta); recorded as the
    wave's sets when the wave is new. For a wave already in the store ``sets`` may be None (the
    stored ones are used); given, it must equal them, and ``examples``, ``patients`` (per
    arm) and ``seed`` must be the wave's. A failed simulation is stored with its error and the
    wave continues; ``retry_failed`` runs failed ones again. Sets are simulated one after the
    other over all examples, so an interrupted wave leaves whole sets behind. ``workers`` > 1
    simulates in that many processes (the simulator must pickle; the store is written by
    this process only); results do not depend on it (each simulation has its own seed).
    """
    sim = simulator or TrialSimulator()
    examples = list(examples)
    if patients < 1:
        raise OncotwinError(f"patients: {patients}; give a number of patients per arm >= 1")
    info = store.wave_info(wave)
    if info is None:
        if sets is None:
            raise OncotwinError(f"wave {wave} is not in {store.path}; give its parameter sets")
        store.add_wave(
            wave,
            design=design,
            patients=patients,
            seed=seed,
            examples=examples,
            sets=sets,
            origin=origin,
        )
    else:
        _check_same_wave(store, wave, info, sets, examples, patients, seed)
    _check_parameter_sets(store, sim, examples, patients, seed)
    stored = store.sets(wave)
    names = [c for c in stored.columns if c not in ("wave", "origin")]
    done = store.finished(wave)
    todo = [
        (sid, ex)
        for sid in stored.index
        for ex in examples
        if (sid, ex) not in done or (retry_failed and done[(sid, ex)] == "error")
    ]
    total = len(stored) * len(examples)
    t0 = time.perf_counter()
    ran = failed = 0

    def theta_of(sid: str) -> dict[str, float]:
        return {k: float(v) for k, v in stored.loc[sid, names].items() if pd.notna(v)}

    if workers < 1:
        raise OncotwinError(f"workers: {workers}; give a number of processes >= 1")
    with _Progress(len(todo), enabled=progress) as bar:
        if workers == 1 or len(todo) < 2:
            for sid, ex in todo:
                bar.start(f"{sid} {ex}")
                rec, values = _simulate_one(sim, hierarchy, sid, ex, theta_of(sid), patients, seed)
                store.record(rec, values)
                ran += 1
                failed += rec.status == "error"
                bar.advance(f"{sid} {ex}", rec)
        else:
            # Worker processes simulate; this process alone writes the store (one writer),
            # each result as it arrives, so a kill loses only the simulations in flight.
            ctx = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                futures = {
                    pool.submit(
                        _simulate_one, sim, hierarchy, sid, ex, theta_of(sid), patients, seed
                    ): (sid, ex)
                    for sid, ex in todo
                }
                try:
                    for fut in concurrent.futures.as_completed(futures):
                        sid, ex = futures[fut]
                        rec, values = fut.result()
                        store.record(rec, values)
                        ran += 1
                        failed += rec.status == "error"
                        bar.advance(f"{sid} {ex}", rec)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    failed_total = sum(s == "error" for s in store.finished(wave).values())
    return WaveSummary(
        out=store.path,
        wave=wave,
        n_sets=len(stored),
        examples=tuple(examples),
        total=total,
        ran=ran,
        skipped=total - len(todo),
        failed=failed_total,
        wall_s=time.perf_counter() - t0,
    )


def _check_same_wave(
    store: CalibrationStore,
    wave: int,
    info: Mapping[str, Any],
    sets: pd.DataFrame | None,
    examples: Sequence[str],
    patients: int,
    seed: int,
) -> None:
    fix = "resume with the wave's own options (or leave them out), or start a new --wave"
    for key, given, have in (
        ("patients", int(patients), int(info["patients"])),
        ("seed", int(seed), int(info["seed"])),
    ):
        if given != have:
            raise OncotwinError(f"wave {wave} was run with {key}={have}, not {given}; {fix}")
    if list(examples) != list(info["examples"]):
        raise OncotwinError(
            f"wave {wave} runs the examples {', '.join(info['examples'])}, not "
            f"{', '.join(examples)}; {fix}"
        )
    if sets is not None:
        stored = store.sets(wave).drop(columns=["wave", "origin"])
        same = set(sets.columns) == set(stored.columns) and stored.shape == sets.shape
        if same:
            a = stored[list(sets.columns)].to_numpy(float)
            same = bool(np.allclose(a, sets.to_numpy(float), rtol=0.0, atol=1e-12))
        if not same:
            raise OncotwinError(f"wave {wave} holds other parameter sets than these; {fix}")


def _check_parameter_sets(
    store: CalibrationStore, sim: Simulator, examples: Sequence[str], patients: int, seed: int
) -> None:
    """Refuse to add simulations of an example whose parameter set (its values without
    overrides) changed since its stored simulations: the model fingerprint covers the
    equations only, and the results of different parameter records must not be mixed."""
    from oncotwin.calibration.store import FRESH_FIX

    stored = store.parameter_set_hashes()
    for ex in examples:
        if ex not in stored:
            continue
        now = sim.identity(ex, {}, patients * sim.arms(ex), seed)["parameter_set_hash"]
        if stored[ex] != {now}:
            old = ", ".join(sorted(stored[ex]))
            raise CalibrationStoreError(
                f"example {ex}: its parameter set changed since its simulations in "
                f"{str(store.path)!r} (values hash {old}, now {now}: a parameter record was "
                f"edited); they cannot be mixed; {FRESH_FIX}"
            )


def _simulate_one(
    sim: Simulator,
    hierarchy: Any,
    sid: str,
    example: str,
    theta: Mapping[str, float],
    patients: int,
    seed: int,
) -> tuple[SimRecord, pd.DataFrame | None]:
    """One (set, example) simulation; any error is caught and recorded."""
    t0 = time.perf_counter()
    total = patients
    ident = {"model": "", "model_fingerprint": "", "parameter_set_hash": "",
             "parameter_values_hash": ""}  # fmt: skip
    try:
        total = patients * sim.arms(example)
        params = hierarchy.overrides(theta, example)
        ident = sim.identity(example, params, total, seed)
        summary = sim.summary(example, params, total, seed)
        values = summary[["arm", "endpoint", "value", "n"]]
        status, message = "ok", ""
    except Exception as exc:  # recorded; the wave goes on
        values, status = None, "error"
        message = f"{type(exc).__name__}: {exc}"
    rec = SimRecord(
        set_id=sid,
        example=example,
        patients=patients,
        seed=seed,
        patients_total=total,
        wall_s=time.perf_counter() - t0,
        status=status,
        message=message,
        **ident,
    )
    return rec, values


class _Progress:
    """A rich progress bar with ETA on a terminal; one plain line per simulation otherwise."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.t0 = time.perf_counter()
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled and self.total and _interactive():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]simulating[/] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def start(self, label: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=label)

    def advance(self, label: str, rec: SimRecord) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1)
            if rec.status == "error":
                self._bar.console.print(f"[yellow]failed:[/] {label}: {rec.message[:200]}")
        elif self.enabled:
            elapsed = time.perf_counter() - self.t0
            eta = elapsed / self.done * (self.total - self.done)
            line = (
                f"[{self.done}/{self.total}] {label}: {rec.status} in {rec.wall_s:.1f} s; "
                f"ETA {eta / 60:.1f} min"
            )
            if rec.status == "error":
                line += f" ({rec.message[:200]})"
            print(line, file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


# -- a whole step, as the CLI runs it ---------------------------------------------------------
def calibrate(
    out: str | Path,
    *,
    wave: int | None = None,
    n_sets: int | None = None,
    patients: int | None = None,
    seed: int | None = None,
    examples: Sequence[str] | None = None,
    resume: bool = False,
    force_new: bool = False,
    design: str = "sobol",
    theta: pd.DataFrame | None = None,
    region: Callable[[np.ndarray], np.ndarray] | None = None,
    retry_failed: bool = False,
    targets: Sequence[Any] | None = None,
    hierarchy: Any = None,
    simulator: Simulator | None = None,
    progress: bool = True,
    notes: Callable[[str], None] | None = None,
    workers: int = 1,
) -> WaveSummary:
    """Open (or create) the store in ``out`` and run one wave: a new one (``wave`` or the
    next number) designed over the theta box (or ``region``), or given as ``theta``; with
    ``resume``, continue the wave (default: the last one) with its stored options.

    ``targets`` default to :func:`~oncotwin.calibration.targets.load_targets`, ``hierarchy``
    to ``Hierarchy.build(targets)``. Defaults of a new wave: 20 sets, 100 patients per arm,
    seed 0.
    """
    if targets is None:
        from oncotwin.calibration.targets import load_targets

        targets = load_targets()
    if hierarchy is None:
        from oncotwin.calibration.hierarchy import Hierarchy

        hierarchy = Hierarchy.build(targets)
    sim = simulator or TrialSimulator()
    all_examples = examples_with_targets(targets)
    chosen = select_examples(targets, examples) if examples else None
    store = CalibrationStore.create(
        out,
        model_fingerprints=sim.fingerprints(all_examples),
        targets_hash=targets_hash(targets),
        hierarchy_json=hierarchy.to_json(),
        n_targets=len(targets),
        options={"free_quantities": [q.name for q in free_quantities(hierarchy)]},
        force_new=force_new,
    )
    try:
        for note in store.notes:
            (notes or (lambda s: None))(note)
        last = store.last_wave()
        if resume:
            number = int(wave if wave is not None else (last or 1))
        else:
            number = int(wave if wave is not None else (last or 0) + 1)
            if store.wave_info(number) is not None:
                raise OncotwinError(
                    f"wave {number} already exists in {store.path}; add --resume to continue "
                    "it, or give a new --wave"
                )
        if number < 1:
            raise OncotwinError(f"wave: {number}; give a wave number >= 1")
        info = store.wave_info(number)
        if info is not None:  # resume: the wave's own options unless given
            return run_wave(
                store,
                number,
                theta,
                chosen or info["examples"],
                int(patients if patients is not None else info["patients"]),
                int(seed if seed is not None else info["seed"]),
                progress,
                hierarchy=hierarchy,
                simulator=sim,
                retry_failed=retry_failed,
                workers=workers,
            )
        p = int(patients if patients is not None else 100)
        s = int(seed if seed is not None else 0)
        if theta is not None:
            sets, how, origin = _given_sets(theta, hierarchy), "given", "given"
        else:
            k = int(n_sets if n_sets is not None else 20)
            sets = design_wave(hierarchy, k, seed=s * 1009 + number, region=region, method=design)
            how, origin = design, "design"
        return run_wave(
            store,
            number,
            sets,
            chosen or all_examples,
            p,
            s,
            progress,
            hierarchy=hierarchy,
            simulator=sim,
            design=how,
            origin=origin,
            retry_failed=retry_failed,
            workers=workers,
        )
    finally:
        store.close()


def _given_sets(theta: pd.DataFrame, hierarchy: Any) -> pd.DataFrame:
    """Given theta sets checked against the free quantities (missing ones are 0: the shipped
    value; unknown names are refused)."""
    names = [q.name for q in free_quantities(hierarchy)]
    unknown = [c for c in theta.columns if c not in names]
    if unknown:
        raise OncotwinError(
            "theta: " + did_you_mean(str(unknown[0]), names, what="free calibration quantity")
        )
    return theta.reindex(columns=names).fillna(0.0).astype(float).reset_index(drop=True)


def read_theta(path: str | Path) -> pd.DataFrame:
    """Theta sets from a CSV file (one column per free quantity, one row per set)."""
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise OncotwinError(f"--theta: cannot read {str(p)!r} ({exc}); give a CSV file") from None
    df = df.drop(columns=[c for c in ("set_id", "wave", "origin") if c in df.columns])
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad or df.empty:
        raise OncotwinError(
            f"--theta: {str(p)!r} must hold numbers, one column per free quantity "
            f"(not numeric: {', '.join(map(str, bad)) or 'no rows'})"
        )
    return df
