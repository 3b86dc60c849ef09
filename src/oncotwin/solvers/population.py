"""One call simulates a whole virtual population: :func:`solve`.

Patients are rows of a parameter array. The work is split into chunks (bounded memory) and,
inside a chunk, into groups of patients that run in SIMD lanes on each thread. Every
patient's arithmetic depends on its own parameters and events alone, so results are
bit-identical however the population is chunked, grouped or threaded.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from oncotwin.errors import SolverError
from oncotwin.solvers.codegen import LANES
from oncotwin.solvers.events import EventTable
from oncotwin.solvers.status import STATUS, SolverStatus

if TYPE_CHECKING:
    import pandas as pd

    from oncotwin.models.base import Model

__all__ = [
    "STATUS",
    "Backend",
    "Solution",
    "SolverOptions",
    "SolverStatus",
    "initial_values",
    "resolve_backend",
    "solve",
]

Method = Literal["auto", "dopri5", "rodas4"]
Backend = Literal["auto", "c", "numba"]
_BACKENDS = ("auto", "c", "numba")


@dataclass(frozen=True, kw_only=True)
class SolverOptions:
    """Options of the batched solver; the defaults are the right choice for most models.

    Parameters
    ----------
    method
        ``"auto"`` (explicit Dormand-Prince 5(4); patients detected as stiff, or that run out
        of steps or of step size on the explicit path, are re-solved with RODAS4),
        ``"dopri5"`` (explicit only) or ``"rodas4"`` (implicit only).
    rtol, atol
        Relative and absolute tolerance (``atol`` scalar or one value per state).
    scale_atol
        Tighten each state's ``atol`` to ``rtol`` times its scale (its initial value at the
        model's default parameters) where that is smaller, as CVODE users set per-state
        tolerances: a species that lives near 1e-8 is then solved to its own precision, not to
        noise. The scale is the model's, not the population's, so results stay identical
        however patients are split. States that start at 0 keep ``atol``.
    max_steps
        Step budget per patient; a patient that runs out gets status ``max_steps``.
    chunk_size
        Patients per kernel call (bounds memory; results do not depend on it).
    group_size
        Patients per thread task inside a chunk (0 chooses automatically).
    stiff_steps
        With ``method="auto"``, a patient detected as stiff (Hairer's test) is handed to
        RODAS4 when the explicit method would need more than this many steps in all.
    threads
        Worker threads (0: ``$NUMBA_NUM_THREADS`` or the number of CPUs). The compiled
        kernels release the GIL, so threads run on all cores.
    backend
        ``"c"``: kernels in C generated from the model and built by the system C compiler
        (seconds on first use; :mod:`oncotwin.solvers.ccodegen`); ``"numba"``: numba kernels
        with SIMD lanes (minutes of compilation on a large model's first use, then cached);
        ``"auto"`` (default): ``$ONCOTWIN_BACKEND`` if set, else ``"c"`` when a C compiler is
        found and ``"numba"`` otherwise. Both give the same results to solver tolerance;
        each is bit-reproducible however the population is chunked or threaded.
    """

    method: Method = "auto"
    rtol: float = 1e-6
    atol: float | Sequence[float] = 1e-8
    scale_atol: bool = True
    max_steps: int = 500_000
    chunk_size: int = 65_536
    group_size: int = 0
    stiff_steps: int = 20_000
    threads: int = 0
    backend: Backend = "auto"

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise SolverError(
                f"backend={self.backend!r} is not a solver backend; use 'auto', 'c' or 'numba'"
            )
        if self.method not in ("auto", "dopri5", "rodas4"):
            raise SolverError(
                f"method={self.method!r} is not a solver; use 'auto', 'dopri5' or 'rodas4'"
            )
        if not (0 < self.rtol < 1) or not math.isfinite(self.rtol):
            raise SolverError(f"rtol={self.rtol} must be in (0, 1), e.g. 1e-6")
        at = np.atleast_1d(np.asarray(self.atol, dtype=float))
        if not np.all(np.isfinite(at)) or np.any(at <= 0):
            raise SolverError(f"atol={self.atol} must be positive and finite, e.g. 1e-8")
        if self.max_steps < 1 or self.chunk_size < 1 or self.group_size < 0 or self.threads < 0:
            raise SolverError("max_steps and chunk_size must be >= 1; group_size and threads >= 0")


@dataclass(frozen=True, eq=False)
class Solution:
    """Trajectories of a population: ``y[patient, time, saved state]``.

    Attributes
    ----------
    model
        The model that was solved.
    t
        Output times [day].
    names
        Names of the saved states (columns of the last axis of ``y``).
    y
        ``(n_patients, n_times, n_saved)`` values; NaN after a patient's failure.
    status
        ``(n_patients,)`` status codes, see :class:`SolverStatus` (0 is success).
    nsteps
        Accepted + rejected steps per patient.
    method
        ``(n_patients,)`` ``"dopri5"`` or ``"rodas4"``: the method that produced the result.
    """

    model: Model
    t: np.ndarray
    names: tuple[str, ...]
    y: np.ndarray
    status: np.ndarray
    nsteps: np.ndarray
    method: np.ndarray
    params: np.ndarray = field(repr=False)

    @property
    def n_patients(self) -> int:
        return int(self.y.shape[0])

    @property
    def success(self) -> np.ndarray:
        return self.status == SolverStatus.SUCCESS

    def __getitem__(self, name: str) -> np.ndarray:
        """``(n_patients, n_times)`` trajectory of a saved state or a named expression."""
        if name in self.names:
            return self.y[:, :, self.names.index(name)]
        if name in self.model.expressions:
            return self.expression(name)
        from oncotwin.errors import UnknownNameError, did_you_mean

        raise UnknownNameError(
            did_you_mean(name, [*self.names, *self.model.expressions], what="output")
        )

    def expression(self, name: str) -> np.ndarray:
        """Evaluate a named model expression on the saved trajectories (needs all states)."""
        import sympy as sp

        from oncotwin.models.base import TIME

        missing = set(self.model.state_names) - set(self.names)
        if missing:
            raise SolverError(
                f"expression {name!r} needs every state saved; solve with save=None "
                f"(missing: {sorted(missing)})"
            )
        expr = self.model.expressions[name]
        syms = [TIME, *self.model.state_symbols, *self.model.parameter_symbols]
        fn = sp.lambdify(syms, expr, modules="numpy")
        args = [self.t[None, :]]
        args += [self.y[:, :, self.names.index(s)] for s in self.model.state_names]
        args += [self.params[:, j][:, None] for j in range(self.model.n_parameters)]
        return np.broadcast_to(fn(*args), self.y.shape[:2]).astype(float)

    def status_counts(self) -> dict[str, int]:
        codes, counts = np.unique(self.status, return_counts=True)
        return {STATUS[int(c)]: int(n) for c, n in zip(codes, counts, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        """Long table: patient, time [day], status, one column per saved state with its unit."""
        import pandas as pd

        n, m, _ = self.y.shape
        units = {s.name: s.unit for s in self.model.states}
        data: dict[str, np.ndarray] = {
            "patient": np.repeat(np.arange(n, dtype=np.int64), m),
            "time [day]": np.tile(self.t, n),
        }
        for j, name in enumerate(self.names):
            data[f"{name} [{units[name]}]"] = self.y[:, :, j].ravel()
        names = np.array([STATUS[k] for k in range(len(STATUS))])  # codes are 0..len-1
        data["status"] = np.repeat(names[self.status], m)
        return pd.DataFrame(data)


def _as_times(t_out: Sequence[float] | np.ndarray) -> np.ndarray:
    t = np.asarray(t_out, dtype=np.float64).ravel()
    if t.size == 0:
        raise SolverError("t_out is empty; give at least one output time in days")
    if not np.all(np.isfinite(t)):
        raise SolverError("t_out has a non-finite time; give output times in days")
    if np.any(np.diff(t) <= 0):
        raise SolverError("t_out must be strictly increasing, e.g. np.arange(0, 731, 7)")
    return t


def resolve_backend(backend: Backend = "auto") -> Literal["c", "numba"]:
    """The backend that ``backend`` stands for on this machine (see :class:`SolverOptions`)."""
    if backend == "auto":
        env = os.environ.get("ONCOTWIN_BACKEND", "").strip().lower()
        if env in ("c", "numba"):
            return env  # type: ignore[return-value]
        if env not in ("", "auto"):
            raise SolverError(f"ONCOTWIN_BACKEND={env!r} is not a backend; use 'c' or 'numba'")
        from oncotwin.solvers.ccodegen import c_compiler

        return "c" if c_compiler() is not None else "numba"
    return backend


def _kernels(model: Model, backend: Backend) -> tuple[str, Any]:
    """Resolved backend name and its compiled kernels for ``model``."""
    name = resolve_backend(backend)
    if name == "c":
        from oncotwin.solvers.ccodegen import compile_c

        try:
            return "c", compile_c(model)
        except SolverError:
            if backend == "c" or os.environ.get("ONCOTWIN_BACKEND"):
                raise
            warnings.warn(
                f"the C backend failed for model {model.name!r}; using the numba backend "
                "(compiles for minutes on first use)",
                RuntimeWarning,
                stacklevel=3,
            )
    from oncotwin.solvers.codegen import compile_model

    return "numba", compile_model(model).module


def initial_values(model: Model, params: np.ndarray, backend: Backend = "auto") -> np.ndarray:
    """``(n_patients, n_states)`` initial values of ``model`` for each row of ``params``, from
    the compiled kernels of ``backend`` (the C backend builds in seconds on first use)."""
    params = np.ascontiguousarray(np.atleast_2d(params), dtype=np.float64)
    name, kern = _kernels(model, backend)
    if name == "c":
        return kern.initial_values(params)
    out = np.empty((params.shape[0], model.n_states))
    kern.init_all(params, out)
    return out


def state_atol(model: Model, options: SolverOptions, backend: Backend = "auto") -> np.ndarray:
    """Absolute tolerance of each state: ``options.atol``, tightened to ``rtol`` times the
    state's scale (its initial value at the model's default parameters) where that is smaller
    and ``options.scale_atol`` is on."""
    atol = np.broadcast_to(np.asarray(options.atol, dtype=np.float64), (model.n_states,)).copy()
    if options.scale_atol:
        scale = _state_scale(model, backend)
        tight = (scale > 0) & (options.rtol * scale < atol)
        atol[tight] = options.rtol * scale[tight]
    return atol


def _state_scale(model: Model, backend: Backend) -> np.ndarray:
    """|initial value| of each state at the model's default parameters (cached per model)."""
    defaults = model.default_parameters()
    key = (model.fingerprint, backend, defaults.tobytes())
    if key not in _SCALES:
        if len(_SCALES) > 256:
            _SCALES.clear()
        y0 = initial_values(model, defaults[None, :], backend)[0]
        _SCALES[key] = np.where(np.isfinite(y0), np.abs(y0), 0.0)
    return _SCALES[key]


#: (model fingerprint, backend, default parameters) -> state scales.
_SCALES: dict[tuple[str, str, bytes], np.ndarray] = {}


def _default_threads(backend: str) -> int:
    if backend == "numba":
        import numba

        return int(numba.get_num_threads())
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def _wait(tasks: list[Future[Any]]) -> None:
    for task in tasks:
        task.result()


def _run_rodas(
    pool: ThreadPoolExecutor,
    backend: str,
    kern: Any,
    which: np.ndarray,
    common: tuple[object, ...],
    tail: tuple[np.ndarray, ...],
    threads: int,
) -> None:
    """RODAS4 for the patients ``which`` of a chunk, split over the thread pool."""
    parts = np.array_split(which, min(len(which), 4 * threads))
    if backend == "c":
        pr, _keep = kern.problem(*common, False, 0.0, *tail)
        _wait([pool.submit(kern.rodas_list, pr, part) for part in parts])
    else:
        _wait([pool.submit(kern.rodas_list, part, *common, *tail) for part in parts])


def _run_explicit(
    pool: ThreadPoolExecutor,
    backend: str,
    kern: Any,
    m: int,
    group: int,
    common: tuple[object, ...],
    stiff: tuple[bool, int],
    tail: tuple[np.ndarray, ...],
) -> None:
    """Dormand-Prince for the ``m`` patients of a chunk, in groups over the thread pool."""
    if backend == "c":
        pr, _keep = kern.problem(*common, *stiff, *tail)
        _wait([pool.submit(kern.dp5_range, pr, g, min(g + group, m)) for g in range(0, m, group)])
    else:
        _wait(
            [
                pool.submit(kern.dp5_range, g, min(g + group, m), *common, *stiff, *tail, LANES)
                for g in range(0, m, group)
            ]
        )


def solve(
    model: Model,
    params: np.ndarray,
    t_out: Sequence[float] | np.ndarray,
    *,
    events: EventTable | None = None,
    save: Sequence[str] | None = None,
    options: SolverOptions | None = None,
    t0: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Solution:
    """Simulate every patient (row of ``params``) of ``model`` in one batched call.

    Parameters
    ----------
    model
        The model.
    params
        ``(n_patients, n_parameters)`` array in the order of ``model.parameter_names``.
    t_out
        Output times [day], strictly increasing.
    events
        Doses and other jumps (see :class:`EventTable`); none by default.
    save
        States to keep (default: all). Saving fewer bounds memory for huge populations.
    options
        :class:`SolverOptions`.
    t0
        Start time [day]; default: the earlier of ``t_out[0]`` and the first event time.
    progress
        Called as ``progress(done, total)`` after each chunk.

    Returns
    -------
    Solution
        Trajectories and per-patient status; failures never raise.
    """
    opts = options or SolverOptions()
    params = model.check_parameters(np.atleast_2d(params))
    params = np.ascontiguousarray(params, dtype=np.float64)
    n = params.shape[0]
    t = _as_times(t_out)
    ev = events if events is not None else EventTable.empty(n)
    if ev.n_patients != n:
        raise SolverError(f"events are given for {ev.n_patients} patients but params has {n} rows")
    start = float(t[0]) if t0 is None else float(t0)
    if ev.n_events and t0 is None:
        start = min(start, float(ev.time[0]))
    if start > t[0]:
        raise SolverError(f"t0={start} is after the first output time {t[0]}")
    names = tuple(model.state_names) if save is None else tuple(save)
    save_idx = np.array([model.state_index(s) for s in names], dtype=np.int64)
    if save_idx.size == 0:
        raise SolverError("save is empty; name at least one state to keep")
    backend, kern = _kernels(model, opts.backend)
    atol = state_atol(model, opts, backend)
    nonneg = model.nonnegative_mask

    y = np.empty((n, t.size, save_idx.size))
    status = np.full(n, int(SolverStatus.NOT_RUN), dtype=np.int64)
    nsteps = np.zeros(n, dtype=np.int64)
    method = np.full(n, "dopri5" if opts.method != "rodas4" else "rodas4", dtype=object)
    chunk = max(1, int(opts.chunk_size))
    threads = max(1, int(opts.threads or _default_threads(backend)))
    retry = (SolverStatus.MAX_STEPS, SolverStatus.STEP_SIZE_UNDERFLOW, SolverStatus.STIFF)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            m = hi - lo
            v_c = np.ascontiguousarray(ev.value[lo:hi])
            tail = (y[lo:hi], status[lo:hi], nsteps[lo:hi])
            common = (params[lo:hi], start, t, ev.time, ev.state, ev.kind, v_c, save_idx)
            common += (atol, opts.rtol, opts.max_steps, nonneg)
            if opts.method == "rodas4":
                which = np.arange(m, dtype=np.int64)
                _run_rodas(pool, backend, kern, which, common, tail, threads)
            else:
                group = opts.group_size or max(LANES, min(512, -(-m // (8 * threads))))
                stiff_opts = (opts.method == "auto", opts.stiff_steps)
                _run_explicit(pool, backend, kern, m, group, common, stiff_opts, tail)
                if opts.method == "auto":
                    # detected stiff, or out of steps / step size before the detector fired
                    stiff = np.flatnonzero(np.isin(tail[1], retry)).astype(np.int64)
                    if stiff.size:
                        _run_rodas(pool, backend, kern, stiff, common, tail, threads)
                        method[lo + stiff] = "rodas4"
            if progress is not None:
                progress(hi, n)
    return Solution(model, t, names, y, status, nsteps, method, params)
