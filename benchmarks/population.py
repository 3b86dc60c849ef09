"""The population benchmark of oncotwin (workload: ``shared/bench/README.md``).

One run prints the engine's wall and per-patient time at each population size, the first call
(in this process and in a fresh one), libRoadRunner on a sample of the same patients, the error
of both against a tight SciPy reference, peak memory, and a summary against the anchors.

Run from the repository root::

    python benchmarks/population.py --quick
    python benchmarks/population.py --sizes 1e3 1e4 1e5 --repeats 3 --rr-sample 100 --ref-sample 50
    python benchmarks/population.py --json results.json      # 1e3 .. 1e6, the full benchmark

See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------------
# The workload (shared/bench/README.md)
# ---------------------------------------------------------------------------------------------
MODEL = "bench_anchor"
LOG_SD = 0.3
DOSE_MG = 200.0
DOSE_DAYS = np.arange(0.0, 715.0, 21.0)  # 0, 21, ..., 714: 35 doses
T_OUT = np.append(np.arange(0.0, 729.0, 7.0), 730.0)  # 0, 7, ..., 728 and 730: 106 points
RTOL, ATOL = 1e-6, 1e-8
REF_RTOL, REF_ATOL = 1e-11, 1e-14
ERR_FLOOR = 1e-4  # error = |T - T_ref| / (|T_ref| + ERR_FLOOR) at day 730
TARGET_ERR = 1e-5

# Anchors of shared/bench/README.md (seconds per patient)
QUOTED_RR = 3.3e-3  # libRoadRunner (CVODE) loop
QUOTED_NUMBA = 0.4e-3  # hand-written DP5(4), numba, one patient per thread, 2 threads
GOAL = 60e-6  # 1e6 patients in 60 s on 2 cores

REPO = Path(__file__).resolve().parents[1]
SBML_CANDIDATES = (
    REPO / "shared" / "bench" / "anchor_model.xml",
    REPO.parent / "shared" / "bench" / "anchor_model.xml",
)


def population(n: int, seed: int) -> tuple[Any, np.ndarray]:
    """The model and ``(n, n_parameters)`` patients: lognormal (SD 0.3) around the defaults.

    Row ``i`` does not depend on ``n``: the first rows of a large population are the small one.
    """
    import oncotwin
    from oncotwin.models.library.bench_anchor import VARYING

    model = oncotwin.get_model(MODEL)
    params = np.ascontiguousarray(model.parameter_array(n), dtype=np.float64)
    z = np.random.default_rng(seed).standard_normal((n, len(VARYING)))
    for k, name in enumerate(VARYING):
        params[:, model.parameter_index(name)] *= np.exp(LOG_SD * z[:, k])
    return model, params


def dosing(model: Any, n: int) -> Any:
    """200 mg bolus into ``Ac`` on days 0, 21, ..., 714 for ``n`` patients."""
    from oncotwin.solvers import BOLUS, EventTable

    ne = DOSE_DAYS.size
    return EventTable.build(
        DOSE_DAYS,
        np.full(ne, model.state_index("Ac"), dtype=np.int64),
        np.full(ne, BOLUS, dtype=np.int64),
        np.full((n, ne), DOSE_MG),
    )


def engine_solve(
    model: Any, params: np.ndarray, chunk_size: int, backend: str = "auto", threads: int = 0
) -> Any:
    from oncotwin.solvers import SolverOptions, solve

    opts = SolverOptions(
        rtol=RTOL,
        atol=ATOL,
        chunk_size=chunk_size,
        method="auto",
        backend=backend,  # type: ignore[arg-type]
        threads=threads,
    )
    n = params.shape[0]
    return solve(model, params, T_OUT, events=dosing(model, n), save=["T"], options=opts)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MiB] (``ru_maxrss`` is KiB on Linux)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def current_rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fmt_t(seconds: float) -> str:
    """A duration with a sensible unit."""
    if not np.isfinite(seconds):
        return "n/a"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def rel_err(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(x - ref) / (np.abs(ref) + ERR_FLOOR)


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 92 - len(title)), flush=True)


# ---------------------------------------------------------------------------------------------
# 2. First simulation in a fresh process
# ---------------------------------------------------------------------------------------------
def child_first_call(seed: int) -> None:
    """Body of the fresh process: import, build 10 patients, solve; prints JSON timings."""
    t0 = time.perf_counter()
    import oncotwin  # noqa: F401
    from oncotwin.solvers import solve  # noqa: F401

    t1 = time.perf_counter()
    model, params = population(10, seed)
    t2 = time.perf_counter()
    sol = engine_solve(model, params, 65_536)
    t3 = time.perf_counter()
    out = {
        "import_s": t1 - t0,
        "build_s": t2 - t1,
        "solve_s": t3 - t2,
        "ok": bool(np.all(sol.status == 0)),
    }
    print("CHILD_JSON " + json.dumps(out))


def fresh_process(seed: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-first-call", "--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    res: dict[str, Any] = {"wall_s": wall, "returncode": proc.returncode}
    for line in proc.stdout.splitlines():
        if line.startswith("CHILD_JSON "):
            res.update(json.loads(line[len("CHILD_JSON ") :]))
    if proc.returncode != 0:
        res["stderr"] = proc.stderr[-2000:]
    return res


# ---------------------------------------------------------------------------------------------
# 3. libRoadRunner
# ---------------------------------------------------------------------------------------------
def find_sbml(path: str | None) -> Path | None:
    if path:
        return Path(path)
    for cand in SBML_CANDIDATES:
        if cand.is_file():
            return cand
    return None


def roadrunner_run(sbml: Path, model: Any, params: np.ndarray) -> dict[str, Any]:
    """Loop: reset, set the 11 varying values, simulate 0..730 with the SBML's dose event.

    Initial ``T`` is set as the current value right after the reset (time 0): setting
    ``init(T)`` instead costs ~120 ms per call in libRoadRunner 2.x (it regenerates the initial
    state), 35x the simulation itself, and would measure that rather than the integration.
    """
    import roadrunner

    from oncotwin.models.library.bench_anchor import VARYING

    t_load = time.perf_counter()
    rr = roadrunner.RoadRunner(str(sbml))
    t_load = time.perf_counter() - t_load
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = ATOL
    cols = [(name, model.parameter_index(name)) for name in VARYING]
    times = T_OUT.tolist()
    n = params.shape[0]
    T = np.full((n, T_OUT.size), np.nan)
    # one untimed patient so that lazy set-up inside libRoadRunner is not in the loop
    rr.resetAll()
    rr.simulate(times=times, selections=["T"])
    t0 = time.perf_counter()
    for i in range(n):
        rr.resetAll()
        for name, j in cols:
            rr[name if name != "T_0" else "T"] = float(params[i, j])
        T[i] = rr.simulate(times=times, selections=["T"])[:, 0]
    wall = time.perf_counter() - t0
    return {
        "version": roadrunner.__version__,
        "integrator": rr.integrator.getName(),
        "load_s": t_load,
        "n": n,
        "wall_s": wall,
        "per_patient_s": wall / n,
        "T": T,
    }


# ---------------------------------------------------------------------------------------------
# 4. Reference
# ---------------------------------------------------------------------------------------------
def reference_run(model: Any, params: np.ndarray, method: str) -> tuple[np.ndarray, float]:
    """T at all output times from ``reference_solve`` (rtol 1e-11) for each row; and wall."""
    from oncotwin.solvers.reference import reference_solve

    n = params.shape[0]
    ev = dosing(model, n)
    iT = model.state_index("T")
    T = np.full((n, T_OUT.size), np.nan)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DOP853 ignores the analytic Jacobian; say nothing
        for i in range(n):
            y = reference_solve(
                model,
                params[i],
                T_OUT,
                events=ev,
                patient=i,
                rtol=REF_RTOL,
                atol=REF_ATOL,
                method=method,  # type: ignore[arg-type]
            )
            T[i] = y[:, iT]
    return T, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes",
        type=float,
        nargs="+",
        default=[1000, 10000, 100000, 1000000],
        help="population sizes (1e3 notation allowed)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per size (median)")
    ap.add_argument(
        "--max-repeat-seconds",
        type=float,
        default=120.0,
        help="if one timed run takes longer than this, do not repeat it (e.g. 1e6)",
    )
    ap.add_argument("--rr-sample", type=int, default=200, help="patients run by libRoadRunner")
    ap.add_argument("--ref-sample", type=int, default=100, help="patients of the reference")
    ap.add_argument(
        "--ref-check",
        type=int,
        default=3,
        help="patients also solved with Radau to check the DOP853 reference",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=65_536, help="SolverOptions.chunk_size")
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="solver threads of both backends (0: numba's default / the CPU count)",
    )
    ap.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "c", "numba"),
        help="the engine's backend (SolverOptions.backend)",
    )
    ap.add_argument(
        "--compare",
        default="numba",
        choices=("numba", "c", "none"),
        help="backend also timed at every size, run for run with the engine (none: skip)",
    )
    ap.add_argument("--sbml", default=None, help="path of anchor_model.xml")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1000 patients, few samples")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the figures here")
    ap.add_argument("--child-first-call", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes = [1000]
        args.repeats = min(args.repeats, 2)
        args.rr_sample = min(args.rr_sample, 20)
        args.ref_sample = min(args.ref_sample, 5)
        args.ref_check = min(args.ref_check, 1)
    args.sizes = sorted({int(s) for s in args.sizes})
    if min(args.sizes) < 1 or args.repeats < 1:
        ap.error("sizes and --repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_first_call:
        child_first_call(args.seed)
        return 0

    t_start = time.perf_counter()
    import numba

    if args.threads:
        numba.set_num_threads(args.threads)
    import oncotwin
    from oncotwin.solvers.codegen import cache_dir

    results: dict[str, Any] = {}
    n_max = max(args.sizes[-1], args.rr_sample, args.ref_sample)
    model, params_all = population(n_max, args.seed)

    section("machine and workload")
    threads = numba.get_num_threads()
    load0 = os.getloadavg()
    info = {
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "numba_threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "oncotwin": getattr(oncotwin, "__version__", "?"),
        "kernel_cache": str(cache_dir()),
        "loadavg_start": load0,
    }
    from oncotwin.solvers.population import resolve_backend

    engine_backend = resolve_backend(args.backend)  # type: ignore[arg-type]
    compare = None if args.compare in ("none", engine_backend) else args.compare
    info["engine_backend"] = engine_backend
    info["compare_backend"] = compare
    results["machine"] = info
    print(f"CPU: {info['cpu']} ({info['cpu_count']} logical CPUs); numba threads: {threads}")
    print(
        f"engine backend: {engine_backend} (--backend {args.backend}); timed against it in the "
        f"same run: {compare or 'nothing'}"
    )
    print(
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
        f"oncotwin {info['oncotwin']}; load average at start: "
        + ", ".join(f"{x:.2f}" for x in load0)
    )
    print(
        f"workload: model {MODEL!r}, {DOSE_DAYS.size} doses of {DOSE_MG:g} mg into Ac (days 0..714 "
        f"every 21), T saved at {T_OUT.size} times (0..728 every 7, and 730), rtol {RTOL:g}, "
        f"atol {ATOL:g}, method 'auto', chunk_size {args.chunk_size}; 11 parameters lognormal "
        f"SD {LOG_SD} (seed {args.seed})"
    )

    # ---- 1a. first call in this process ---------------------------------------------------
    section("first call in this process (compile or cache load)")
    t0 = time.perf_counter()
    warm = engine_solve(model, params_all[:10], args.chunk_size, args.backend, args.threads)
    first_call = time.perf_counter() - t0
    if compare is not None:
        t0 = time.perf_counter()
        engine_solve(model, params_all[:10], args.chunk_size, compare, args.threads)
        results["first_call_compare_s"] = time.perf_counter() - t0
        print(
            f"first call of the {compare} backend: {results['first_call_compare_s']:.2f} s "
            "(not timed below)"
        )
    results["first_call_s"] = first_call
    print(f"first call (compile or cache load), 10 patients: {first_call:.2f} s")
    if not np.all(warm.status == 0):
        print(f"  WARNING: status counts {warm.status_counts()}")
    try:
        print(f"numba threading layer: {numba.threading_layer()}")
        info["threading_layer"] = numba.threading_layer()
    except ValueError:
        pass

    # ---- 2. first call in a fresh process -------------------------------------------------
    section("first simulation in a fresh process (10 patients; target < 10 s)")
    fresh = fresh_process(args.seed)
    results["fresh_process"] = fresh
    if fresh["returncode"] != 0:
        print(f"fresh process FAILED (rc {fresh['returncode']}):\n{fresh.get('stderr', '')}")
    else:
        verdict = "meets" if fresh["wall_s"] < 10 else "MISSES"
        print(
            f"fresh process wall (interpreter start + import + kernel cache load + solve): "
            f"{fresh['wall_s']:.2f} s ({verdict} the 10 s target)"
        )
        print(
            f"  inside the child: import oncotwin {fresh['import_s']:.2f} s, build patients "
            f"{fresh['build_s']:.2f} s, first solve {fresh['solve_s']:.2f} s, ok={fresh['ok']}"
        )

    # ---- 1. engine at each size, 5. memory --------------------------------------------------
    section("engine: wall time per size (median of repeats)")
    print(
        f"{'patients':>10} {'runs':>4} {'median wall':>12} {'min':>10} {'max':>10} "
        f"{'per patient':>12} {'steps/pt':>9} {'per step':>9} {'rodas4':>7} {'failed':>6} "
        f"{'CPU use':>8}"
    )
    eng: list[dict[str, Any]] = []
    for n in args.sizes:
        params = params_all[:n]
        rss_before = current_rss_mb()
        walls: list[float] = []
        cmp_walls: list[float] = []
        cmp_diff = float("nan")
        cpu_use: list[float] = []
        sol = None
        for _ in range(args.repeats):
            sol = None  # free the previous output before the next run
            c0, t0 = time.process_time(), time.perf_counter()
            sol = engine_solve(model, params, args.chunk_size, args.backend, args.threads)
            walls.append(time.perf_counter() - t0)
            cpu_use.append((time.process_time() - c0) / (walls[-1] * threads))
            if compare is not None:  # the other backend, run for run with the engine
                t0 = time.perf_counter()
                other = engine_solve(model, params, args.chunk_size, compare, args.threads)
                cmp_walls.append(time.perf_counter() - t0)
                cmp_diff = float(np.nanmax(rel_err(sol.y[:, -1, 0], other.y[:, -1, 0])))
                other = None
            if walls[-1] > args.max_repeat_seconds:
                break
        assert sol is not None
        med = statistics.median(walls)
        out_bytes = sol.y.nbytes + sol.status.nbytes + sol.nsteps.nbytes + sol.method.nbytes
        in_bytes = params.nbytes + n * DOSE_DAYS.size * 8
        row = {
            "n": n,
            "runs": len(walls),
            "walls_s": walls,
            "median_s": med,
            "per_patient_s": med / n,
            "best_per_patient_s": min(walls) / n,
            "cpu_use": cpu_use,
            "mean_steps": float(sol.nsteps.mean()),
            "max_steps": int(sol.nsteps.max()),
            "rodas4": int(np.count_nonzero(sol.method == "rodas4")),
            "failed": int(np.count_nonzero(sol.status != 0)),
            "status_counts": sol.status_counts(),
            "output_mb": out_bytes / 2**20,
            "input_mb": in_bytes / 2**20,
            "rss_before_mb": rss_before,
            "peak_rss_mb": peak_rss_mb(),
        }
        if cmp_walls:
            row["compare_walls_s"] = cmp_walls
            row["compare_per_patient_s"] = statistics.median(cmp_walls) / n
            row["compare_over_engine"] = statistics.median(cmp_walls) / med
            row["compare_max_rel_diff_day730"] = cmp_diff
        eng.append(row)
        print(
            f"{n:>10} {len(walls):>4} {fmt_t(med):>12} {fmt_t(min(walls)):>10} "
            f"{fmt_t(max(walls)):>10} {fmt_t(med / n):>12} {row['mean_steps']:>9.0f} "
            f"{med / n / row['mean_steps'] * 1e9:>6.0f} ns {row['rodas4']:>7} {row['failed']:>6} "
            f"{statistics.median(cpu_use):>7.0%}",
            flush=True,
        )
        sol = None
    results["engine"] = eng
    print("(steps/pt: accepted + rejected steps per patient, mean; per step: per-patient time /")
    print(" steps; rodas4: patients handed to the implicit method; failed: status != 0;")
    print(" CPU use: process CPU time / (wall x numba threads), median; well below 100% means")
    print(" the threads did not get their cores, i.e. the machine was busy)")
    if compare is not None:
        section(f"engine ({engine_backend}) against the {compare} backend, run for run")
        print(
            f"{'patients':>10} {engine_backend + '/pt':>12} {compare + '/pt':>12} "
            f"{compare + '/' + engine_backend:>12} {'max rel diff day 730':>21}"
        )
        for row in eng:
            print(
                f"{row['n']:>10} {fmt_t(row['per_patient_s']):>12} "
                f"{fmt_t(row['compare_per_patient_s']):>12} {row['compare_over_engine']:>11.2f}x "
                f"{row['compare_max_rel_diff_day730']:>21.1e}"
            )
        print(
            f"(medians of the same repeats, each {compare} run right after the engine's; ratio "
            f"> 1: the engine is faster; diff: |T_{engine_backend} - T_{compare}| / "
            "(|T| + 1e-4), agreement to solver tolerance)"
        )

    section("memory per size")
    print(
        f"{'patients':>10} {'output arrays':>14} {'inputs':>10} {'RSS before':>11} "
        f"{'peak RSS so far':>16}"
    )
    for row in eng:
        print(
            f"{row['n']:>10} {row['output_mb']:>11.1f} MB {row['input_mb']:>7.1f} MB "
            f"{row['rss_before_mb']:>8.0f} MB {row['peak_rss_mb']:>13.0f} MB"
        )
    print("(output arrays: y[patients, 106, 1] + status + nsteps + method; inputs: parameters +")
    print(" dose values; peak RSS: getrusage ru_maxrss, the process's peak up to that size)")

    # ---- engine on the sample shared with libRoadRunner and the reference ------------------
    n_cmp = max(args.rr_sample, args.ref_sample)
    eng_cmp = engine_solve(model, params_all[:n_cmp], args.chunk_size, args.backend, args.threads)
    T_eng = eng_cmp.y[:, :, 0]

    # ---- 3. libRoadRunner --------------------------------------------------------------------
    section(f"libRoadRunner on {args.rr_sample} patients of the same workload")
    sbml = find_sbml(args.sbml)
    rr: dict[str, Any] | None = None
    if args.rr_sample <= 0:
        print("skipped (--rr-sample 0)")
    elif sbml is None or not sbml.is_file():
        print(
            f"skipped: anchor_model.xml not found (looked in {[str(c) for c in SBML_CANDIDATES]})"
        )
    else:
        try:
            rr = roadrunner_run(sbml, model, params_all[: args.rr_sample])
        except ImportError as exc:
            print(f"skipped: {exc}")
    if rr is not None:
        d = rel_err(T_eng[: rr["n"], -1], rr["T"][:, -1])
        d_all = rel_err(T_eng[: rr["n"]], rr["T"])
        rr["engine_vs_rr_day730_max"] = float(d.max())
        rr["engine_vs_rr_all_times_max"] = float(d_all.max())
        print(
            f"libRoadRunner {rr['version']} ({rr['integrator']}), {sbml.name}: load "
            f"{rr['load_s']:.2f} s; loop over {rr['n']} patients {rr['wall_s']:.2f} s = "
            f"{fmt_t(rr['per_patient_s'])} per patient"
        )
        for row in eng:
            print(
                f"  ratio rr / engine per patient at {row['n']:>8} patients: "
                f"{rr['per_patient_s'] / row['per_patient_s']:.1f}x"
            )
        print(
            f"engine vs libRoadRunner, max |T_e - T_rr| / (|T_rr| + 1e-4) at day 730: "
            f"{d.max():.2e} (over all 106 times: {d_all.max():.2e})"
        )
        results["roadrunner"] = {k: v for k, v in rr.items() if k != "T"}

    # ---- 4. error against the reference ------------------------------------------------------
    section(f"error against a reference (rtol {REF_RTOL:g}, atol {REF_ATOL:g}; target 1e-5)")
    ref: dict[str, Any] = {"n": args.ref_sample}
    if args.ref_sample > 0:
        T_ref, ref_wall = reference_run(model, params_all[: args.ref_sample], "DOP853")
        ref["method"] = "DOP853"
        ref["wall_s"] = ref_wall
        print(
            f"reference: SciPy DOP853 via reference_solve, {args.ref_sample} patients, "
            f"{ref_wall:.1f} s"
        )
        n_chk = min(args.ref_check, args.ref_sample)
        if n_chk > 0:
            T_chk, chk_wall = reference_run(model, params_all[:n_chk], "Radau")
            agree = float(rel_err(T_chk[:, -1], T_ref[:n_chk, -1]).max())
            ref["radau_check"] = {"n": n_chk, "max_rel_diff_day730": agree, "wall_s": chk_wall}
            print(
                f"  check: Radau (rtol {REF_RTOL:g}) on {n_chk} patients agrees with DOP853 to "
                f"{agree:.1e} at day 730 ({chk_wall:.1f} s)"
            )
        e = rel_err(T_eng[: args.ref_sample, -1], T_ref[:, -1])
        e_all = rel_err(T_eng[: args.ref_sample], T_ref)
        ref["engine_err"] = float(e.max())
        ref["engine_err_all_times"] = float(e_all.max())
        ref["engine_err_median"] = float(np.median(e))
        ok = "meets" if e.max() <= TARGET_ERR else "MISSES"
        print(
            f"engine:        error at day 730 {e.max():.2e} (median {np.median(e):.1e}; over all "
            f"106 times {e_all.max():.2e}) -> {ok} the target {TARGET_ERR:g}"
        )
        if rr is not None:
            k = min(rr["n"], args.ref_sample)
            e_rr = rel_err(rr["T"][:k, -1], T_ref[:k, -1])
            e_rr_all = rel_err(rr["T"][:k], T_ref[:k])
            ref["rr_err"] = float(e_rr.max())
            ref["rr_err_all_times"] = float(e_rr_all.max())
            ref["rr_err_n"] = k
            ok = "meets" if e_rr.max() <= TARGET_ERR else "MISSES"
            print(
                f"libRoadRunner: error at day 730 {e_rr.max():.2e} (median {np.median(e_rr):.1e}; "
                f"over all 106 times {e_rr_all.max():.2e}; {k} patients) -> {ok} the target"
            )
    else:
        print("skipped (--ref-sample 0)")
    results["reference"] = ref

    # ---- 6. summary ------------------------------------------------------------------------
    load1 = os.getloadavg()
    info["loadavg_end"] = load1
    section("summary")
    rr_pp = rr["per_patient_s"] if rr is not None else float("nan")
    print(
        f"{'patients':>10} {'wall (median)':>14} {'per patient':>12} {'(best run)':>11} "
        f"{'vs rr (meas.)':>14} "
        f"{'vs rr (quoted)':>15} {'vs 1/thread (q.)':>17} {'vs goal':>9} "
        f"{'vs ' + (compare or '-'):>9}"
    )
    for row in eng:
        pp = row["per_patient_s"]
        row["speedup_vs_rr_measured"] = rr_pp / pp
        row["speedup_vs_rr_quoted"] = QUOTED_RR / pp
        row["speedup_vs_numba_quoted"] = QUOTED_NUMBA / pp
        row["times_goal"] = pp / GOAL
        print(
            f"{row['n']:>10} {fmt_t(row['median_s']):>14} {fmt_t(pp):>12} "
            f"{fmt_t(row['best_per_patient_s']):>11} "
            f"{rr_pp / pp:>13.1f}x {QUOTED_RR / pp:>14.1f}x {QUOTED_NUMBA / pp:>16.2f}x "
            f"{pp / GOAL:>8.1f}x "
            + (f"{row['compare_over_engine']:>8.2f}x" if compare is not None else f"{'-':>9}")
        )
    print(
        "(vs ...: anchor time per patient / engine time per patient, > 1 means the engine is "
        "faster;\n vs goal: engine time per patient / 60 us, <= 1 meets the goal; vs "
        f"{compare or '-'}: that backend's time per patient / the engine's, same run)"
    )
    big = eng[-1]
    print(
        f"\nengine at {big['n']} patients: {fmt_t(big['per_patient_s'])} per patient -> "
        f"1e6 patients ~ {big['per_patient_s'] * 1e6:.0f} s"
        + (" (measured)" if big["n"] == 1_000_000 else " (extrapolated)")
        + f"; goal {GOAL * 1e6:.0f} s"
    )
    print("anchors:")
    if rr is not None:
        print(
            f"  libRoadRunner, measured in this run: {fmt_t(rr_pp)} per patient "
            f"({rr['n']} patients)"
        )
    print(f"  libRoadRunner, quoted (shared/bench/README.md): {fmt_t(QUOTED_RR)} per patient")
    print(
        "  one-patient-per-thread numba DP5(4), quoted (shared/bench/README.md): "
        f"{fmt_t(QUOTED_NUMBA)} per patient (0.39-0.42 ms)"
    )
    print(f"  goal, quoted (shared/bench/README.md): {fmt_t(GOAL)} per patient")
    if ref.get("engine_err") is not None:
        line = f"error at day 730 (target {TARGET_ERR:g}): engine {ref['engine_err']:.2e}"
        if "rr_err" in ref:
            line += f", libRoadRunner {ref['rr_err']:.2e}"
        if rr is not None:
            line += f"; engine vs libRoadRunner {rr['engine_vs_rr_day730_max']:.2e}"
        print(line)
    print(
        f"first call: {first_call:.2f} s in this process; fresh process "
        f"{fresh.get('wall_s', float('nan')):.2f} s (target < 10 s)"
    )
    print(
        f"peak RSS: {peak_rss_mb():.0f} MB; load average at start "
        + ", ".join(f"{x:.2f}" for x in load0)
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in load1)
        + f"; total benchmark time {time.perf_counter() - t_start:.0f} s"
    )

    if args.json:
        results["args"] = {k: v for k, v in vars(args).items() if k != "child_first_call"}
        results["anchors_quoted_s"] = {
            "libroadrunner": QUOTED_RR,
            "numba_one_patient_per_thread": QUOTED_NUMBA,
            "goal": GOAL,
        }
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
