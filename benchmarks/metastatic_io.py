"""Benchmark of the metastatic_io model: both solver backends and the 8-state model, same run.

Prints, per population size, the wall time of one batched solve of ``metastatic_io`` (melanoma
virtual patients from the covariate layer, pembrolizumab 200 mg q3w x35, two years, weekly
outputs, rtol 1e-5) with the C backend and with the numba backend run for run, each as ms per
patient-year (issue target: <= 0.4 ms), their ratio and their largest difference; the
8-state ``bench_anchor`` workload at the same size (ratio: issue target <= 10); the error of
both backends against a tight SciPy reference on a few patients (target <= 1e-5); and the
peak resident memory. ``--json FILE`` also writes every figure.

Run from the repository root (a first numba run compiles the model, ~3 min; C: seconds)::

    python benchmarks/metastatic_io.py                       # 1e4 and 1e5 patients
    python benchmarks/metastatic_io.py --sizes 1e3 --ref-sample 1 --json io.json   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REGIMEN = "pembrolizumab 200 mg IV q3w x35"
RTOL, ATOL = 1e-5, 1e-9
REF_RTOL, REF_ATOL = 1e-11, 1e-14
TARGET_MS_PER_PATIENT_YEAR = 0.4
TARGET_ERR = 1e-5
DAYS_PER_YEAR = 365.25


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _scaled_err(y: np.ndarray, ref: np.ndarray) -> float:
    """max over times and states of |y - ref| / (max over time of |ref| for that state + 1e-9)."""
    scale = np.abs(ref).max(axis=-2, keepdims=True) + 1e-9
    return float(np.nanmax(np.abs(y - ref) / scale))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5])
    ap.add_argument("--cancer", default="melanoma")
    ap.add_argument("--days", type=float, default=730.0, help="simulated days (output weekly)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per size and backend")
    ap.add_argument("--threads", type=int, default=0, help="solver threads (0: default)")
    ap.add_argument(
        "--ref-sample", type=int, default=2, help="patients solved by the SciPy reference"
    )
    ap.add_argument("--no-numba", action="store_true", help="time the C backend only")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the figures here")
    args = ap.parse_args(argv)

    import oncotwin as ot
    from oncotwin.models.metastatic_io_cancers import io_population
    from oncotwin.regimens import parse_regimen
    from oncotwin.simulation import output_times, simulate
    from oncotwin.simulation._events import regimen_dose_events
    from oncotwin.solvers import SolverOptions, solve
    from oncotwin.solvers.population import resolve_backend
    from oncotwin.solvers.reference import reference_solve

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from population import T_OUT, dosing
    from population import population as anchor_population

    backends = ["c"] if args.no_numba else ["c", "numba"]
    if resolve_backend("c") != "c":  # pragma: no cover - no compiler
        raise SystemExit("the C backend is not available here")
    model = ot.get_model("metastatic_io")
    years = args.days / DAYS_PER_YEAR
    results: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
            "threads": args.threads,
        },
        "workload": {
            "model": "metastatic_io",
            "cancer": args.cancer,
            "regimen": REGIMEN,
            "days": args.days,
            "rtol": RTOL,
            "atol": ATOL,
        },
        "sizes": [],
    }

    def opts(backend: str) -> SolverOptions:
        return SolverOptions(rtol=RTOL, atol=ATOL, backend=backend, threads=args.threads)  # type: ignore[arg-type]

    print(
        f"metastatic_io, {args.cancer}, {REGIMEN}, {args.days:g} days ({years:.2f} patient-years "
        f"per patient), weekly outputs, rtol {RTOL:g}; load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    for b in backends:
        t = time.perf_counter()
        pop, _ = io_population(args.cancer, 16, seed=0, model=model)
        simulate(model, REGIMEN, patients=pop, days=args.days, every=7, options=opts(b))
        first = time.perf_counter() - t
        results[f"first_call_{b}_s"] = first
        print(f"first call, {b} backend (compile or cache load): {first:.1f} s")

    head = f"{'patients':>9}"
    for b in backends:
        head += f" {b + ' wall':>10} {b + ' ms/pt-yr':>13}"
    if len(backends) == 2:
        head += f" {'numba/c':>8} {'max diff':>9}"
    head += f" {'anchor/pt':>10} {'io/anchor':>9} {'peak RSS':>9} {'failed':>7}"
    print(head)
    for size in args.sizes:
        n = int(size)
        t = time.perf_counter()
        pop, _ = io_population(args.cancer, n, seed=1, model=model)
        t_pop = time.perf_counter() - t
        walls: dict[str, list[float]] = {b: [] for b in backends}
        sols: dict[str, Any] = {}
        for _ in range(args.repeats):
            for b in backends:  # run for run, so a busy machine slows both alike
                sols[b] = None
                t = time.perf_counter()
                res = simulate(
                    model, REGIMEN, patients=pop, days=args.days, every=7, options=opts(b)
                )
                walls[b].append(time.perf_counter() - t)
                sols[b] = res.solution
        # the 8-state reference workload at the same size, same process
        anchor, params = anchor_population(n, 1)
        ev = dosing(anchor, n)
        t = time.perf_counter()
        solve(anchor, params, T_OUT, events=ev, options=SolverOptions(rtol=1e-6, atol=1e-8))
        wall_a = time.perf_counter() - t
        row: dict[str, Any] = {"n": n, "population_sampling_s": t_pop, "anchor_wall_s": wall_a}
        line = f"{n:>9d}"
        for b in backends:
            w = statistics.median(walls[b])
            row[f"{b}_walls_s"] = walls[b]
            row[f"{b}_ms_per_patient_year"] = w / n / years * 1e3
            line += f" {w:>9.1f}s {row[f'{b}_ms_per_patient_year']:>13.3f}"
        if len(backends) == 2:
            row["numba_over_c"] = statistics.median(walls["numba"]) / statistics.median(walls["c"])
            row["c_vs_numba_max_scaled_diff"] = _scaled_err(sols["c"].y, sols["numba"].y)
            line += f" {row['numba_over_c']:>7.2f}x {row['c_vs_numba_max_scaled_diff']:>9.1e}"
        per_c = statistics.median(walls["c"]) / n
        row["io_over_anchor"] = per_c / (wall_a / n)
        row["failed"] = int(np.sum(sols["c"].status != 0))
        row["peak_rss_gb"] = _peak_rss_gb()
        line += (
            f" {wall_a / n * 1e6:>8.0f}µs {row['io_over_anchor']:>8.1f}x "
            f"{row['peak_rss_gb']:>7.2f}GB {row['failed']:>7d}"
        )
        print(line + f"   (population sampling {t_pop:.1f} s)", flush=True)
        results["sizes"].append(row)
        sols.clear()
    print(
        f"(ms/pt-yr: wall / patients / {years:.2f} years, median of {args.repeats} run(s); "
        f"target <= {TARGET_MS_PER_PATIENT_YEAR} ms; numba/c > 1: C faster; max diff: "
        "|y_c - y_numba| / (max |y| of the state over time + 1e-9), all states and times;\n"
        " anchor/pt: bench_anchor (8 states, 2 years) per patient with the default backend)"
    )

    if args.ref_sample > 0:
        k = args.ref_sample
        pop, _ = io_population(args.cancer, k, seed=1, model=model)
        prep = regimen_dose_events(model, parse_regimen(REGIMEN), pop, args.days)
        t_out = output_times(args.days, 7)
        ref = np.empty((k, t_out.size, model.n_states))
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DOP853 ignores the analytic Jacobian
            for i in range(k):
                ref[i] = reference_solve(
                    model,
                    prep.population.params[i],
                    t_out,
                    events=prep.events,
                    patient=i,
                    rtol=REF_RTOL,
                    atol=REF_ATOL,
                    method="DOP853",
                )
        ref_wall = time.perf_counter() - t
        # tumour burden: all tumour cells (T_ and U_ of every site)
        cells = [i for i, name in enumerate(model.state_names) if name[:2] in ("T_", "U_")]
        errs, burden = {}, {}
        for b in backends:
            y = simulate(
                model, REGIMEN, patients=pop, days=args.days, every=7, options=opts(b)
            ).solution.y
            errs[b] = _scaled_err(y, ref)
            bur, bur_ref = y[..., cells].sum(-1), ref[..., cells].sum(-1)
            burden[b] = _scaled_err(bur[..., None], bur_ref[..., None])
        results["reference"] = {
            "n": k,
            "method": "DOP853",
            "wall_s": ref_wall,
            "errors_all_states": errs,
            "errors_tumour_burden": burden,
        }
        print(
            f"error against SciPy DOP853 (rtol {REF_RTOL:g}, atol {REF_ATOL:g}) on {k} patients "
            f"({ref_wall:.0f} s; target {TARGET_ERR:g}):"
        )
        for b in backends:
            print(
                f"  {b}: tumour burden {burden[b]:.1e} "
                f"({'meets' if burden[b] <= TARGET_ERR else 'MISSES'}), any state {errs[b]:.1e}"
            )
        print(
            "  (|y - y_ref| / (max |y_ref| over time + 1e-9), max over patients and times; "
            "tumour burden: the sum of every site's tumour cells; any state: the worst of the 78 "
            f"states; the solver runs at rtol {RTOL:g})"
        )
    results["machine"]["loadavg_end"] = os.getloadavg()
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    print("Research simulation (oncotwin): not medical advice.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
