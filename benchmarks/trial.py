"""End-to-end virtual-trial benchmark: cost per patient (issue targets: <= 1 ms, and
3 x 1,000 patients over 2 years in < 60 s).

Runs the shipped CheckMate 067 example (three arms) with the follow-up cut to two years,
end to end: population sampling, two solves per arm and chunk (dosing stops), assessment,
endpoints and the DuckDB store, with each solver backend in turn (``ONCOTWIN_BACKEND``), and
prints the wall time per patient split into the solver calls (``solve`` and the Python around
it) and everything else; then the HTML report of the last run on its own (a fixed cost, not
per patient), the peak resident memory, and the same figures for a population ten times
smaller measured in the same run (memory must stay flat: patients are simulated in chunks).

Run from the repository root (a first numba run compiles the model, ~3 min; C: seconds)::

    python benchmarks/trial.py                  # 3,000 patients (and 300 for reference)
    python benchmarks/trial.py --patients 30000 --backends c   # bounded-memory check at 10x
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MS_PER_PATIENT = 1.0


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=3000)
    ap.add_argument("--months", type=float, default=24.0)
    ap.add_argument("--example", default="checkmate067")
    ap.add_argument("--backends", nargs="+", default=["c", "numba"], choices=("c", "numba"))
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the figures here")
    args = ap.parse_args(argv)

    import oncotwin.simulation._dosing as dosing
    from oncotwin.trials.run import run_trial
    from oncotwin.trials.spec import example_path, parse_spec

    # time spent in the solver calls (the kernels and the Python around them)
    solver_s = [0.0]
    inner = dosing.solve

    def timed_solve(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            solver_s[0] += time.perf_counter() - t

    dosing.solve = timed_solve  # type: ignore[assignment]

    text = Path(example_path(args.example)).read_text()
    text = re.sub(r"follow_up_months\s*=\s*[0-9.]+", f"follow_up_months = {args.months}", text)
    spec = parse_spec(text, source=f"{args.example} ({args.months:g} months)")
    results: dict[str, Any] = {
        "example": args.example,
        "months": args.months,
        "cpu_count": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "runs": [],
    }
    print(
        f"{args.example}, follow-up {args.months:g} months, backends {' '.join(args.backends)}; "
        "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    old_env = os.environ.get("ONCOTWIN_BACKEND")
    run = None
    with tempfile.TemporaryDirectory() as tmp:
        for b in args.backends:
            os.environ["ONCOTWIN_BACKEND"] = b
            t = time.perf_counter()
            run_trial(spec, out=Path(tmp) / f"warm_{b}", patients=12, chunk_size=12, report=False)
            warm = time.perf_counter() - t
            print(f"warm-up, {b} backend (model compile or cache load): {warm:.1f} s")
        print(
            f"{'patients':>9} {'backend':>8} {'wall':>8} {'ms/patient':>11} {'solver':>8} "
            f"{'rest':>8} {'vs target':>10} {'peak RSS':>9}"
        )
        for n in (max(args.patients // 10, 30), args.patients):
            for b in args.backends:  # backend after backend at each size
                os.environ["ONCOTWIN_BACKEND"] = b
                solver_s[0] = 0.0
                t = time.perf_counter()
                run = run_trial(spec, out=Path(tmp) / f"n{n}_{b}", patients=n, report=False)
                wall = time.perf_counter() - t
                row = {
                    "patients": n,
                    "backend": b,
                    "wall_s": wall,
                    "ms_per_patient": wall / n * 1e3,
                    "solver_ms_per_patient": solver_s[0] / n * 1e3,
                    "rest_ms_per_patient": (wall - solver_s[0]) / n * 1e3,
                    "peak_rss_gb": _peak_rss_gb(),
                }
                results["runs"].append(row)
                print(
                    f"{n:>9d} {b:>8} {wall:>7.1f}s {row['ms_per_patient']:>11.2f} "
                    f"{row['solver_ms_per_patient']:>8.2f} {row['rest_ms_per_patient']:>8.2f} "
                    f"{row['ms_per_patient'] / TARGET_MS_PER_PATIENT:>9.1f}x "
                    f"{row['peak_rss_gb']:>7.2f}GB",
                    flush=True,
                )
        assert run is not None
        t = time.perf_counter()
        run.write_report()
        results["report_s"] = time.perf_counter() - t
        print(
            f"(ms/patient: wall of run_trial(report=False) / patients; solver: inside solve "
            f"calls; rest: sampling, assessment, endpoints, store; target "
            f"{TARGET_MS_PER_PATIENT:g} ms)\nHTML report of the last run on its own: "
            f"{results['report_s']:.1f} s (figures; a fixed cost, not per patient)"
        )
        orr = run.summary[run.summary["endpoint"] == "ORR"][["arm", "value", "published"]]
        print(orr.to_string(index=False))
    if old_env is None:
        os.environ.pop("ONCOTWIN_BACKEND", None)
    else:
        os.environ["ONCOTWIN_BACKEND"] = old_env
    results["loadavg_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    print("Research simulation (oncotwin): not medical advice.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
