"""Benchmark of the metastatic_io model against the 8-state benchmark model, same run.

Prints, per population size, the wall time and per-patient time of one batched solve of
``metastatic_io`` (melanoma virtual patients from the covariate layer, pembrolizumab 200 mg
q3w x35, two years, weekly outputs, rtol 1e-5) and of ``bench_anchor`` (the workload of
``shared/bench/README.md``) at the same size, their ratio (issue target: <= 10), and the
peak resident memory of the process.

Run from the repository root (the first run compiles the model, ~3 min)::

    python benchmarks/metastatic_io.py                 # 1e4 and 1e5 patients
    python benchmarks/metastatic_io.py --sizes 1e3     # quick
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5])
    ap.add_argument("--cancer", default="melanoma")
    args = ap.parse_args(argv)

    import oncotwin as ot
    from oncotwin.models.metastatic_io_cancers import io_population
    from oncotwin.simulation import simulate
    from oncotwin.solvers import SolverOptions

    sys.path.insert(0, "benchmarks")
    from population import T_OUT, dosing
    from population import population as anchor_population

    model = ot.get_model("metastatic_io")
    reg = "pembrolizumab 200 mg IV q3w x35"
    opts = SolverOptions(rtol=1e-5, atol=1e-9)
    t = time.perf_counter()
    pop, _ = io_population(args.cancer, 16, seed=0, model=model)
    simulate(model, reg, patients=pop, days=730, every=7, options=opts)
    print(f"first call (compile or cache load): {time.perf_counter() - t:.1f} s")

    from oncotwin.solvers import solve

    print(
        f"{'patients':>10} {'io wall':>9} {'io/pt':>10} {'anchor/pt':>10} {'ratio':>6} "
        f"{'peak RSS':>9} {'failed':>7}"
    )
    for size in args.sizes:
        n = int(size)
        t = time.perf_counter()
        pop, _ = io_population(args.cancer, n, seed=1, model=model)
        t_pop = time.perf_counter() - t
        t = time.perf_counter()
        sol = simulate(model, reg, patients=pop, days=730, every=7, options=opts).solution
        wall = time.perf_counter() - t
        # the 8-state reference at the same size, same process
        anchor, params = anchor_population(n, 1)
        ev = dosing(anchor, n)
        t = time.perf_counter()
        solve(anchor, params, T_OUT, events=ev, options=SolverOptions(rtol=1e-6, atol=1e-8))
        wall_a = time.perf_counter() - t
        per, per_a = wall / n, wall_a / n
        print(
            f"{n:>10d} {wall:>8.1f}s {per * 1e6:>8.0f}µs {per_a * 1e6:>8.0f}µs "
            f"{per / per_a:>6.1f} {_peak_rss_gb():>7.2f}GB {int(np.sum(sol.status != 0)):>7d}"
            f"   (population sampling {t_pop:.1f} s)"
        )
        del sol
    print("Research simulation (oncotwin): not medical advice.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
