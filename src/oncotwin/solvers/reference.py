"""A slow, tight SciPy reference solver for one patient, to validate the batched kernels.

:func:`reference_solve` lambdifies the model's sympy right-hand side and analytic Jacobian
and integrates with :func:`scipy.integrate.solve_ivp` piecewise between event times, with
the batched solver's conventions: the start is ``t0 = min(t_out[0], first event time)``, all
events at one time are applied in table order, and an output at an event time is the state
*after* the event.

Examples
--------
>>> import numpy as np
>>> from oncotwin.models.base import ModelBuilder
>>> from oncotwin.parameters import Parameter
>>> b = ModelBuilder("decay")
>>> x = b.state("x", "mg", initial=Parameter(1.0, "mg", assumption=True, reason="example"))
>>> k = b.parameter("k", Parameter(0.5, "1/day", assumption=True, reason="example"))
>>> b.add_rate(x, -k * x)
>>> m = b.build()
>>> y = reference_solve(m, m.default_parameters(), [0.0, 2.0])
>>> bool(np.isclose(y[1, 0], np.exp(-1.0), rtol=1e-8))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from oncotwin.errors import SolverError
from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, SET, EventTable

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["lambdify_model", "reference_solve"]


def lambdify_model(
    model: Model,
) -> tuple[Callable[..., list[float]], Callable[..., np.ndarray], Callable[..., list[float]]]:
    """Numeric ``f(t, y, p)``, ``jac(t, y, p)`` and ``y0(p)`` from the model's expressions."""
    from oncotwin.models.base import TIME

    ys = sp.Matrix(model.state_symbols)
    ps = sp.Matrix(model.parameter_symbols)
    f = sp.lambdify((TIME, ys, ps), list(model.rates), modules="numpy")
    j = sp.lambdify((TIME, ys, ps), model.jacobian, modules="numpy")
    y0 = sp.lambdify((ps,), [s.initial for s in model.states], modules="numpy")
    return f, j, y0


def reference_solve(
    model: Model,
    params_row: Sequence[float] | np.ndarray,
    t_out: Sequence[float] | np.ndarray,
    events: EventTable | None = None,
    rtol: float = 1e-10,
    atol: float | Sequence[float] = 1e-12,
    *,
    patient: int = 0,
    method: Literal["LSODA", "Radau", "BDF", "DOP853"] = "LSODA",
    y0: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Integrate one patient of ``model`` tightly; returns ``(n_times, n_states)``.

    Parameters
    ----------
    model
        The model.
    params_row
        ``(n_parameters,)`` parameters in the order of ``model.parameter_names``.
    t_out
        Strictly increasing output times [day].
    events
        Optional :class:`EventTable`; row ``patient`` of its values is used. Kinds:
        :data:`BOLUS` adds the value to the state, :data:`INFUSION_RATE` adds it to the
        state's zero-order input rate, :data:`MULTIPLY` multiplies the state by it, :data:`SET`
        sets it (NaN: skipped).
    rtol, atol
        Tolerances of :func:`~scipy.integrate.solve_ivp`.
    patient
        Which row of the event values to apply.
    method
        A SciPy method: ``"LSODA"``, ``"Radau"`` or ``"BDF"`` (given the analytic Jacobian),
        or the explicit 8th-order ``"DOP853"`` for non-stiff problems at very tight rtol.
    y0
        Initial state; default: the model's initial-value expressions at ``params_row``.
    """
    p = np.asarray(params_row, dtype=np.float64).ravel()
    model.check_parameters(p[None, :])
    t = np.asarray(t_out, dtype=np.float64).ravel()
    if t.size == 0 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
        raise SolverError("t_out must be a non-empty, finite, strictly increasing array")
    f, jac, init = lambdify_model(model)
    n = model.n_states
    y = np.asarray(init(p) if y0 is None else y0, dtype=np.float64).ravel().copy()
    if y.shape != (n,):
        raise SolverError(f"y0 must have {n} values, got {y.shape}")
    if events is None or events.n_events == 0:
        ev_t = np.zeros(0)
        ev_s = ev_k = np.zeros(0, np.int64)
        ev_v = np.zeros(0)
    else:
        ev_t, ev_s, ev_k = events.time, events.state, events.kind
        ev_v = events.value[patient]
    start = float(t[0]) if ev_t.size == 0 else min(float(t[0]), float(ev_t[0]))
    u = np.zeros(n)  # zero-order input rates

    def rhs(tt: float, yy: np.ndarray) -> np.ndarray:
        return np.asarray(f(tt, yy, p), dtype=np.float64).ravel() + u

    def jfun(tt: float, yy: np.ndarray) -> np.ndarray:
        return np.asarray(jac(tt, yy, p), dtype=np.float64).reshape(n, n)

    out = np.full((t.size, n), np.nan)
    cur = start
    k = 0  # index of the next event to apply
    while True:
        while k < ev_t.size and ev_t[k] <= cur:  # every event at (or before) `cur`
            kind, s, v = int(ev_k[k]), int(ev_s[k]), float(ev_v[k])
            if kind == BOLUS:
                y[s] += v
            elif kind == INFUSION_RATE:
                u[s] += v
            elif kind == MULTIPLY:
                y[s] *= v
            elif kind == SET:
                if not np.isnan(v):  # NaN: a masked, skipped event
                    y[s] = v
            else:
                raise SolverError(f"unknown event kind {kind} at day {ev_t[k]}")
            k += 1
        next_ev = float(ev_t[k]) if k < ev_t.size else np.inf
        seg_end = min(next_ev, float(t[-1]))
        # outputs at the next event time belong to the next segment (taken after the event)
        idx = np.flatnonzero((t >= cur) & (t < next_ev))
        if seg_end > cur:
            t_eval = np.unique(np.append(t[idx], seg_end))
            # numpy evaluates every branch of a piecewise expression (np.select): a guarded
            # branch (e.g. 0/0 for an empty tumour site) may warn although it is not selected
            with np.errstate(divide="ignore", invalid="ignore"):
                res = solve_ivp(
                    rhs,
                    (cur, seg_end),
                    y,
                    method=method,
                    t_eval=t_eval,
                    jac=None if method == "DOP853" else jfun,
                    rtol=rtol,
                    atol=atol,
                )
            if res.status != 0:
                raise SolverError(f"reference solve failed after day {cur}: {res.message}")
            out[idx] = res.y.T[np.searchsorted(t_eval, t[idx])]
            y = res.y[:, -1].copy()
        else:
            out[idx] = y
        if next_ev > t[-1]:
            break
        cur = next_ev
    return out
