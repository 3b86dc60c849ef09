"""Imported BioModels models: 10^4 parameter variants in one oncotwin call vs a libRoadRunner loop.

For each of three curated SBML files (``shared/data/external/biomodels-tumor-immune-sbml``), the
script imports the file with :func:`oncotwin.io.read_sbml`, draws ``--variants`` parameter sets
(every constant parameter log-normal around its SBML value with SD ``--sd`` on the log scale),
solves them all in one :func:`oncotwin.solve` call, and times a libRoadRunner loop (reset, set the
same parameters, simulate) on ``--rr-sample`` of them; it prints both per-variant times, the
ratio measured in this run, and the largest difference between the two at the last time point.

Research simulations only: not medical advice.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

MODELS = {
    # BioModels id: (horizon in the model's time unit, number of output points)
    "BIOMD0000000762": (200.0, 101),  # Kuznetsov 1994 (days)
    "BIOMD0000000732": (200.0, 101),  # Kirschner & Panetta 1998 (days)
    "MODEL1907260001": (60.0, 61),  # de Pillis, Radunskaya & Wiseman 2005 (days)
}
REPO = Path(__file__).resolve().parents[1]
SBML_DIR = Path("data/external/biomodels-tumor-immune-sbml/sbml")


def shared_dir() -> Path:
    env = os.environ.get("ONCOTWIN_SHARED")
    for root in ([Path(env)] if env else []) + [REPO.parent / "shared", REPO / "shared"]:
        if (root / SBML_DIR).is_dir():
            return root
    raise SystemExit("the curated SBML files are not found: set ONCOTWIN_SHARED to ../shared")


def variants(model, n: int, sd: float, seed: int, vary: np.ndarray) -> np.ndarray:
    """The parameters in ``vary`` log-normal around their defaults (zeros stay zero)."""
    rng = np.random.default_rng(seed)
    base = model.default_parameters()
    z = rng.standard_normal((n, base.size)) * vary[None, :]
    p = base[None, :] * np.exp(sd * z)
    lo = np.array([r.lower for r in model.parameters.values()])
    hi = np.array([r.upper for r in model.parameters.values()])
    return np.clip(p, lo, hi)


def _in_initial_assignments(path: Path) -> set[str]:
    """Ids read by initial assignments: libRoadRunner's reset() does not re-evaluate those
    assignments after a parameter is set, so such parameters are kept at their SBML values."""
    import libsbml

    doc = libsbml.readSBML(str(path))
    out: set[str] = set()
    def names(node) -> None:
        if node.isName():
            out.add(node.getName())
        for i in range(node.getNumChildren()):
            names(node.getChild(i))

    for ia in doc.getModel().getListOfInitialAssignments():
        names(ia.getMath())
    return out


def run_oncotwin(imp, params: np.ndarray, t: np.ndarray):
    from oncotwin.solvers import SolverOptions, solve

    ev = imp.events(params.shape[0], float(t[-1]), params)
    opts = SolverOptions(rtol=1e-6, atol=1e-8)
    solve(imp.model, params[:4], t, events=ev.take(slice(0, 4)), options=opts)  # warm-up
    t0 = time.perf_counter()
    sol = solve(imp.model, params, t, events=ev, options=opts)
    return sol, time.perf_counter() - t0


def run_roadrunner(path: Path, imp, params: np.ndarray, t: np.ndarray):
    import roadrunner

    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = 1e-6
    rr.integrator.absolute_tolerance = 1e-8
    names = imp.model.parameter_names
    sbml_of = {v: k for k, v in imp.renamed.items()}
    settable = [(j, sbml_of.get(n, n)) for j, n in enumerate(names)
                if sbml_of.get(n, n) in set(rr.model.getGlobalParameterIds())]
    out = np.empty((params.shape[0], len(imp.model.state_names)))
    species = list(rr.model.getFloatingSpeciesIds())
    t0 = time.perf_counter()
    for i, row in enumerate(params):
        rr.resetAll()
        for j, sid in settable:
            rr.setValue(sid, float(row[j]))
        rr.reset()
        res = rr.simulate(float(t[0]), float(t[-1]), len(t))
        last = dict(zip(res.colnames, res[-1], strict=True))
        out[i] = [last.get(f"[{imp.renamed.get(s, s)}]", last.get(s, np.nan))
                  for s in imp.model.state_names]
    return out, time.perf_counter() - t0, species


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=10_000)
    ap.add_argument("--rr-sample", type=int, default=300)
    ap.add_argument("--sd", type=float, default=0.1, help="SD of log(parameter)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from oncotwin.io import read_sbml

    root = shared_dir()
    print(f"{'model':18s} {'oncotwin/variant':>17s} {'libRoadRunner/variant':>22s} {'ratio':>7s} "
          f"{'max rel diff (last time)':>25s}")
    for bid, (horizon, points) in MODELS.items():
        path = root / SBML_DIR / f"{bid}.xml"
        imp = read_sbml(path)
        t = np.linspace(0.0, horizon, points)
        # vary the SBML's global parameters (not the initial values, which libRoadRunner
        # can only change through slow init() assignments, nor inputs of initial assignments)
        import roadrunner

        probe = roadrunner.RoadRunner(str(path))  # keep a reference while reading its model
        globals_ = set(probe.model.getGlobalParameterIds()) - _in_initial_assignments(path)
        del probe
        sbml_of = {v: k for k, v in imp.renamed.items()}
        vary = np.array([sbml_of.get(n, n) in globals_ for n in imp.model.parameter_names])
        p = variants(imp.model, args.variants, args.sd, args.seed, vary)
        sol, wall = run_oncotwin(imp, p, t)
        k = min(args.rr_sample, args.variants)
        rr_last, rr_wall, _ = run_roadrunner(path, imp, p[:k], t)
        ours = sol.y[:k, -1, :]
        scale = np.maximum(np.nanmax(np.abs(sol.y[:k]), axis=1), 1e-12)
        diff = np.nanmax(np.abs(ours - rr_last) / scale)
        per_ot, per_rr = wall / args.variants, rr_wall / k
        print(f"{bid:18s} {per_ot * 1e6:14.1f} us {per_rr * 1e6:19.1f} us {per_rr / per_ot:6.1f}x "
              f"{diff:25.2e}   ({sol.status_counts()})")
    print("ratio: libRoadRunner time per variant / oncotwin time per variant, same run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
