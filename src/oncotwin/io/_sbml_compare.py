"""Compare an imported SBML model with libRoadRunner (validation tests and the table script).

Rule (documented in ``docs/sbml_roadrunner.md``): the horizon is 100 time units, or the time
of the last SBML event (expanded up to 1000) plus 50 when that is later; 61 equally spaced
output times, without those that fall on an event time (the value there depends on whether a
tool reports it before or after the jump). The event times are added to libRoadRunner's
output times, because it misses ``time == c`` triggers that fall between two output times.
libRoadRunner runs CVODE at rtol 1e-10 and atol ``min(1e-20, 1e-12 * smallest scale)``;
oncotwin runs at rtol 1e-9 and, per state, atol ``1e-12 *`` the smallest non-zero ``|value|``
of the libRoadRunner trajectory (at most ``1e-12 * scale``): absolute tolerances far below the
scale, because several models pass through values 1e-10 of their scale and grow again, or grow
exponentially, which amplifies any absolute error made at small values. The error of a state is
``max |ours - rr| / max(scale, 1e-12)``, the scale being the largest ``|value|`` of the
libRoadRunner trajectory; the model matches when every state's error is below 1e-6. A
mismatch is reported as *ill-conditioned* when changing every parameter by a relative 1e-10
already moves oncotwin's own result by more than 1e-6 (no solver can then agree to 1e-6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from oncotwin.io.sbml_import import SbmlUnsupportedError, read_sbml

__all__ = ["Comparison", "compare_with_roadrunner"]

TOL = 1e-6


@dataclass
class Comparison:
    result: str  # "match" | "refused" | "mismatch" | "ill-conditioned" | "error"
    reason: str = ""
    max_error: float = float("nan")
    worst_state: str = ""
    horizon: float = float("nan")
    n_states: int = 0
    n_events: int = 0


def horizon_for(imp) -> float:
    ev = imp.events(1, 1000.0)
    if ev.n_events == 0:
        return 100.0
    return max(100.0, float(ev.time[-1]) + 50.0)


def compare_with_roadrunner(path: str | os.PathLike[str], n_points: int = 61) -> Comparison:
    import libsbml
    import roadrunner

    from oncotwin.solvers import SolverOptions, SolverStatus, solve
    from oncotwin.solvers.reference import reference_solve

    try:
        imp = read_sbml(path)
        H = horizon_for(imp)
        ev = imp.events(1, H)
    except SbmlUnsupportedError as exc:
        return Comparison("refused", str(exc))
    m = imp.model
    t = np.linspace(0.0, H, n_points)
    keep = np.ones(t.size, bool)
    for te in ev.time:
        keep &= np.abs(t - te) > 1e-9 * max(1.0, abs(te))
    doc = libsbml.readSBMLFromFile(str(path))
    sm = doc.getModel()
    back = {v: k for k, v in imp.renamed.items()}
    sel = []
    for name in m.state_names:
        sid = back.get(name, name)
        s = sm.getSpecies(sid)
        sel.append(f"[{sid}]" if s is not None and not s.getHasOnlySubstanceUnits() else sid)
    rr = roadrunner.RoadRunner(str(path))
    rr.timeCourseSelections = ["time", *sel]
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.maximum_num_steps = 10**6
    # event times are output times of libRoadRunner too: it misses `time == c` triggers
    # that fall between its output times
    t_rr = np.union1d(t, ev.time[(ev.time >= 0) & (ev.time <= H)])
    rows = np.searchsorted(t_rr, t)
    ref = None
    failure = ""
    for rr_atol in (1e-20, 1e-14, 1e-10):  # CVODE may fail at the tightest
        try:
            rr.resetAll()
            rr.integrator.absolute_tolerance = rr_atol
            ref = np.asarray(rr.simulate(times=t_rr.tolist()))[rows, 1:]
            break
        except Exception as exc:  # a roadrunner failure is not ours to judge
            failure = f"libRoadRunner failed: {exc}".splitlines()[0]
    if ref is None:
        sol = solve(m, m.default_parameters()[None, :], t, events=ev)
        ours = f"oncotwin status {SolverStatus(int(sol.status[0])).label}"
        return Comparison("error", f"{failure}; {ours}", horizon=H, n_states=m.n_states)
    scale = np.maximum(np.nanmax(np.abs(ref), axis=0), 1e-12)
    note = ""
    nz = np.where(ref != 0, np.abs(ref), np.inf)
    low = np.min(np.where(np.isnan(nz), np.inf, nz), axis=0)
    low = np.where(np.isfinite(low), low, scale)
    p0 = m.default_parameters()[None, :]
    sol = None
    for atol in (np.clip(1e-12 * low, 1e-300, 1e-12 * scale), 1e-12 * scale):
        for method in ("auto", "rodas4"):
            opts = SolverOptions(rtol=1e-9, atol=atol, method=method)
            sol = solve(m, p0, t, events=ev, options=opts)
            if sol.status[0] == 0:
                break
            note = f"{method} at atol {atol.min():.0e}: {SolverStatus(int(sol.status[0])).label}"
        if sol.status[0] == 0:
            break
    if note:
        note = f"after {note}: rtol 1e-9, atol {atol.min():.0e}, {method} used"
    ours = sol.y[0]
    if sol.status[0] != 0:
        return Comparison(
            "mismatch",
            f"oncotwin solver status {SolverStatus(int(sol.status[0])).label}",
            horizon=H,
            n_states=m.n_states,
        )
    per = _errors(ours[keep], ref[keep], scale)
    j = int(np.argmax(per))
    res = "match" if per[j] <= TOL else "mismatch"
    if res == "mismatch":
        # conditioning: how far does a 1e-10 relative change of every parameter move us?
        p2 = m.default_parameters()[None, :] * (1.0 + 1e-10)
        sol2 = solve(m, p2, t, events=ev, options=SolverOptions(rtol=1e-9, atol=atol))
        if sol2.status[0] == 0:
            cond = float(_errors(sol2.y[0][keep], ours[keep], scale).max())
            note = (note + "; " if note else "") + (
                f"parameters x (1 + 1e-10) move oncotwin's result by {cond:.1e}"
            )
            if cond > TOL:
                res = "ill-conditioned"
        # a third opinion: SciPy's LSODA on the imported equations
        try:
            y = reference_solve(m, m.default_parameters(), t, events=ev, rtol=1e-12, atol=atol)
            e3 = float(_errors(ours[keep], y[keep], scale).max())
            e4 = float(_errors(ref[keep], y[keep], scale).max())
            note = (note + "; " if note else "") + (
                f"SciPy LSODA (rtol 1e-12) vs oncotwin {e3:.1e}, vs libRoadRunner {e4:.1e}"
            )
        except Exception as exc:  # pragma: no cover - diagnostics only
            note = (note + "; " if note else "") + f"SciPy reference failed: {exc}"
    return Comparison(res, note, float(per[j]), m.state_names[j], H, m.n_states, int(ev.n_events))


def _errors(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> np.ndarray:
    err = np.abs(a - b) / scale
    err = np.where(np.isnan(a) & np.isnan(b), 0.0, err)
    return np.max(np.where(np.isnan(err), np.inf, err), axis=0)
