"""End-to-end virtual-trial benchmark (issue target: 3 x 1,000 patients, 2 years, < 60 s).

Runs the shipped CheckMate 067 example (three arms) with the follow-up cut to two years,
end to end: population sampling, two solves per arm and chunk (dosing stops), assessment,
endpoints, the DuckDB store and the HTML report. Prints the wall time, the time per patient,
the peak resident memory, and the same figures for a population ten times smaller measured in
the same run (memory must stay flat: patients are simulated in chunks).

Run from the repository root (the first run compiles the model, ~3 min)::

    python benchmarks/trial.py                  # 3,000 patients (and 300 for reference)
    python benchmarks/trial.py --patients 30000 # bounded-memory check at 10x
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import time
from pathlib import Path


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=3000)
    ap.add_argument("--months", type=float, default=24.0)
    ap.add_argument("--example", default="checkmate067")
    args = ap.parse_args(argv)

    from oncotwin.trials.run import run_trial
    from oncotwin.trials.spec import example_path, parse_spec

    text = Path(example_path(args.example)).read_text()
    text = re.sub(r"follow_up_months\s*=\s*[0-9.]+", f"follow_up_months = {args.months}", text)
    spec = parse_spec(text, source=f"{args.example} ({args.months:g} months)")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_trial(spec, out=Path(tmp) / "warm", patients=12, chunk_size=12, report=False)
        print(f"warm-up (model compile or cache load): {time.perf_counter() - t:.1f} s")
        for n in (max(args.patients // 10, 30), args.patients):
            t = time.perf_counter()
            run = run_trial(spec, out=Path(tmp) / f"n{n}", patients=n, report=True)
            wall = time.perf_counter() - t
            orr = run.summary[run.summary["endpoint"] == "ORR"][["arm", "value", "published"]]
            print(
                f"{n:>7d} patients: {wall:6.1f} s end to end ({wall / n * 1e3:.2f} ms/patient), "
                f"peak RSS {_peak_rss_gb():.2f} GB"
            )
            print(orr.to_string(index=False))
    print("Research simulation (oncotwin): not medical advice.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
