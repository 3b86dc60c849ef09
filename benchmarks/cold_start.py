"""Cold start of each solver backend: a new user's first simulation, and the second one.

For each backend (``c``, ``numba``) the script runs, in a fresh process and a fresh, empty
kernel cache (``ONCOTWIN_CACHE`` set to a new temporary folder)::

    python -m oncotwin simulate --model metastatic_io --cancer melanoma --patients 10 --days 365

once (cold: code generation and compilation included) and then ``--warm`` more times with the
same cache (warm: kernels loaded from the cache), and prints the wall times side by side, with
the ratio of the numba backend's cold start to the C backend's. The goal (issue 10) is a cold
start of at most 10 s.

Run from the repository root::

    python benchmarks/cold_start.py                       # both backends (numba: minutes)
    python benchmarks/cold_start.py --backends c          # the C backend only
    python benchmarks/cold_start.py --json cold_start.json

See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _run(cmd: list[str], cache: Path, backend: str, cwd: Path) -> dict[str, Any]:
    env = dict(os.environ, ONCOTWIN_CACHE=str(cache), ONCOTWIN_BACKEND=backend)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{backend}: the command failed ({res.returncode}):\n{res.stderr[-3000:]}")
    summary = next((ln for ln in res.stdout.splitlines() if "patients x" in ln), "")
    return {"wall_s": wall, "summary": summary.strip()}


def measure(backend: str, cmd: list[str], warm: int) -> dict[str, Any]:
    """Cold and warm wall times of ``cmd`` with ``backend`` in a fresh cache."""
    cache = Path(tempfile.mkdtemp(prefix=f"oncotwin-cold-{backend}-"))
    cwd = Path(tempfile.mkdtemp(prefix="oncotwin-cold-run-"))
    try:
        cold = _run(cmd, cache, backend, cwd)
        warms = [_run(cmd, cache, backend, cwd) for _ in range(warm)]
        size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)
    warm_s = [w["wall_s"] for w in warms]
    return {
        "backend": backend,
        "cold_s": cold["wall_s"],
        "warm_s": statistics.median(warm_s) if warm_s else None,
        "warm_runs_s": warm_s,
        "cache_bytes": size,
        "summary_cold": cold["summary"],
        "summary_warm": warms[-1]["summary"] if warms else "",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--backends", nargs="+", default=["c", "numba"], choices=["c", "numba"])
    ap.add_argument("--model", default="metastatic_io")
    ap.add_argument("--cancer", default="melanoma")
    ap.add_argument("--patients", type=int, default=10)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--warm", type=int, default=3, help="warm runs per backend (median)")
    ap.add_argument("--goal", type=float, default=10.0, help="cold-start goal [s]")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the figures here")
    args = ap.parse_args(argv)

    cmd = [sys.executable, "-m", "oncotwin", "simulate", "--model", args.model]
    cmd += ["--cancer", args.cancer, "--patients", str(args.patients), "--days", str(args.days)]
    print("command:", " ".join(["python", *cmd[1:]]))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    rows = []
    for backend in args.backends:
        print(f"\n[{backend}] cold run in an empty cache ...", flush=True)
        row = measure(backend, cmd, args.warm)
        rows.append(row)
        print(f"[{backend}] {row['summary_cold']}")

    print(f"\n{'backend':8} {'cold [s]':>9} {'warm [s]':>9} {'cache [MB]':>11}  cold <= goal")
    for r in rows:
        ok = "yes" if r["cold_s"] <= args.goal else "NO"
        warm = f"{r['warm_s']:9.2f}" if r["warm_s"] is not None else f"{'-':>9}"
        print(
            f"{r['backend']:8} {r['cold_s']:9.2f} {warm} {r['cache_bytes'] / 1e6:11.2f}  "
            f"{ok} (goal {args.goal:g} s)"
        )
    by = {r["backend"]: r for r in rows}
    if "c" in by and "numba" in by:
        print(f"numba cold / C cold: {by['numba']['cold_s'] / by['c']['cold_s']:.1f}x")
    if args.json:
        out = {
            "command": cmd[1:],
            "python": sys.version.split()[0],
            "machine": platform.platform(),
            "cpus": os.cpu_count(),
            "goal_s": args.goal,
            "results": rows,
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
