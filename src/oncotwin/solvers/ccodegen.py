"""The C backend: C kernels generated from the same sympy model, built by the system compiler.

The numba backend (:mod:`oncotwin.solvers.codegen`) needs minutes of symbolic work and LLVM
compilation before a large model's first solve; this backend needs seconds. From the model's
sympy right-hand side it prints

``rhs_one(t, y, p, u, dy)``
    the right-hand side (common subexpressions eliminated, no symbolic simplification);
``jvp_one(t, y, p, v, vt, out)``
    the exact directional derivative ``df/dy v + df/dt vt``, by forward-mode differentiation of
    each common subexpression (small local derivatives, never the full symbolic Jacobian,
    whose derivation and elimination take tens of seconds for a large model); the Rosenbrock
    path builds the analytic Jacobian from ``NS`` of these;
``init_one(p, y)``
    initial values from parameters;

appends the solver kernels of :mod:`oncotwin.solvers._c_template` (Dormand-Prince 5(4) with
the stiff switch to RODAS4, events and status codes as in the numba kernels), compiles the
file with the system C compiler into the kernel cache (:mod:`oncotwin.solvers._cache`) and
loads it with :mod:`ctypes`, whose calls release the GIL.

The compiler is ``$ONCOTWIN_CC`` if set, else the first of ``cc``, ``gcc`` and ``clang`` on the
``PATH``. Flags keep IEEE semantics (no fast-math, no contraction into fused multiply-add), so
a cached library and a fresh build give the same floats.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from oncotwin.errors import SolverError
from oncotwin.solvers import _c_template, _csource
from oncotwin.solvers._cache import kernel_root, prune, touch
from oncotwin.solvers._csource import generate_c_source
from oncotwin.solvers.status import SolverStatus

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["CFLAGS", "CKernels", "c_compiler", "compile_c", "generate_c_source"]

#: ``-march=native`` is left out where Apple's clang may refuse it (results do not depend on it).
_NATIVE = () if (sys.platform == "darwin" and platform.machine() == "arm64") else ("-march=native",)

#: On x86-64, vectors as wide as the processor has (gcc keeps 256 bits by default on AVX-512
#: processors): the solver's W = 8 lanes are one 512-bit vector, ~15% faster on bench_anchor
#: (same floats: the lanes are computed independently whatever the vector width).
_WIDE = ("-mprefer-vector-width=512",) if platform.machine() in ("x86_64", "AMD64") else ()

#: Compiler flags: optimised for this processor (the cache key holds its feature flags),
#: position-independent, IEEE-exact (no fast-math, no contraction into fused multiply-add), so
#: the results are the same floats as an unoptimised scalar build's (tested).
#: ``-fno-trapping-math`` only tells gcc that no program traps on floating-point exceptions
#: (none does: the values are unchanged); it lets gcc turn the selects of the step control
#: into vector blends, so that loop is vectorised too (without it gcc keeps it scalar).
CFLAGS = (
    "-O3",
    *_NATIVE,
    *_WIDE,
    "-std=c11",
    "-fPIC",
    "-shared",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-fno-trapping-math",
)


@lru_cache(maxsize=1)
def c_compiler() -> str | None:
    """Path of the C compiler (``$ONCOTWIN_CC``, else ``cc``, ``gcc`` or ``clang``), or None."""
    env = os.environ.get("ONCOTWIN_CC")
    for name in [env] if env else ["cc", "gcc", "clang"]:
        path = shutil.which(name)
        if path:
            return path
    return None


@lru_cache(maxsize=4)
def _compiler_id(cc: str) -> str:
    """The compiler's path and version line (part of every cache key)."""
    try:
        res = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
        version = res.stdout.splitlines()[0] if res.stdout else ""
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    return f"{cc}|{version}"


@lru_cache(maxsize=1)
def _cpu_id() -> str:
    """The processor's model and feature flags (``-march=native`` code is specific to them)."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        try:
            keep = [
                ln for ln in info.read_text().splitlines() if ln.startswith(("model name", "flags"))
            ]
            return "\n".join(sorted(set(keep)))
        except OSError:  # pragma: no cover - unreadable /proc
            pass
    return f"{platform.machine()}|{platform.processor()}"


def _generator_digest() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(_csource.__file__).read_bytes())
    h.update(_c_template.SOURCE.encode())
    h.update(repr({int(s): s.name for s in SolverStatus}).encode())
    return h.hexdigest()[:16]


_GENERATOR_DIGEST = _generator_digest()


def cache_key(model: Model, cc: str) -> str:
    """Cache key: model fingerprint, generator hash, compiler, flags, Python, NumPy, CPU."""
    parts = (
        model.fingerprint,
        _GENERATOR_DIGEST,
        _compiler_id(cc),
        " ".join(CFLAGS),
        sys.version,
        np.__version__,
        _cpu_id(),
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


class _Problem(ctypes.Structure):
    """Mirror of the ``Problem`` struct of the C template (same field order)."""

    _fields_ = [
        ("params", ctypes.c_void_p),
        ("t0", ctypes.c_double),
        ("t_out", ctypes.c_void_p),
        ("n_out", ctypes.c_int64),
        ("ev_t", ctypes.c_void_p),
        ("ev_state", ctypes.c_void_p),
        ("ev_kind", ctypes.c_void_p),
        ("ev_val", ctypes.c_void_p),
        ("n_ev", ctypes.c_int64),
        ("save_idx", ctypes.c_void_p),
        ("n_save", ctypes.c_int64),
        ("atol", ctypes.c_void_p),
        ("rtol", ctypes.c_double),
        ("max_steps", ctypes.c_int64),
        ("nonneg", ctypes.c_void_p),
        ("detect_stiff", ctypes.c_int64),
        ("stiff_steps", ctypes.c_double),
        ("out", ctypes.c_void_p),
        ("status", ctypes.c_void_p),
        ("nsteps", ctypes.c_void_p),
    ]


def _ptr(a: np.ndarray) -> int:
    return int(a.ctypes.data)


@dataclass(frozen=True, eq=False)
class CKernels:
    """A loaded C kernel library of one model and typed wrappers around its entry points."""

    model: Model
    lib: ctypes.CDLL
    path: Path

    def problem(
        self,
        params: np.ndarray,
        t0: float,
        t_out: np.ndarray,
        ev_t: np.ndarray,
        ev_state: np.ndarray,
        ev_kind: np.ndarray,
        ev_val: np.ndarray,
        save_idx: np.ndarray,
        atol: np.ndarray,
        rtol: float,
        max_steps: int,
        nonneg: np.ndarray,
        detect_stiff: bool,
        stiff_steps: float,
        out: np.ndarray,
        status: np.ndarray,
        nsteps: np.ndarray,
    ) -> tuple[_Problem, tuple[np.ndarray, ...]]:
        """The C ``Problem`` of one chunk, and the arrays it points into (keep them alive)."""
        f64, i64 = np.float64, np.int64
        keep = (
            np.ascontiguousarray(params, f64),
            np.ascontiguousarray(t_out, f64),
            np.ascontiguousarray(ev_t, f64),
            np.ascontiguousarray(ev_state, i64),
            np.ascontiguousarray(ev_kind, i64),
            np.ascontiguousarray(ev_val, f64),
            np.ascontiguousarray(save_idx, i64),
            np.ascontiguousarray(atol, f64),
            np.ascontiguousarray(nonneg, np.uint8),
        )
        for a, dt in ((out, f64), (status, i64), (nsteps, i64)):
            if not (a.flags.c_contiguous and a.dtype == dt):  # pragma: no cover - internal
                raise SolverError("internal: C kernels need contiguous output arrays")
        pr = _Problem(
            _ptr(keep[0]),
            float(t0),
            _ptr(keep[1]),
            keep[1].shape[0],
            _ptr(keep[2]),
            _ptr(keep[3]),
            _ptr(keep[4]),
            _ptr(keep[5]),
            keep[2].shape[0],
            _ptr(keep[6]),
            keep[6].shape[0],
            _ptr(keep[7]),
            float(rtol),
            int(max_steps),
            _ptr(keep[8]),
            int(bool(detect_stiff)),
            float(stiff_steps),
            _ptr(out),
            _ptr(status),
            _ptr(nsteps),
        )
        return pr, keep

    def dp5_range(self, pr: _Problem, lo: int, hi: int) -> None:
        if self.lib.ot_dp5_range(ctypes.byref(pr), lo, hi) != 0:  # pragma: no cover
            raise MemoryError("C kernels: out of memory")

    def rodas_list(self, pr: _Problem, which: np.ndarray) -> None:
        which = np.ascontiguousarray(which, np.int64)
        if self.lib.ot_rodas_list(ctypes.byref(pr), _ptr(which), which.shape[0]) != 0:
            raise MemoryError("C kernels: out of memory")  # pragma: no cover

    def initial_values(self, params: np.ndarray) -> np.ndarray:
        params = np.ascontiguousarray(np.atleast_2d(params), dtype=np.float64)
        out = np.empty((params.shape[0], self.model.n_states))
        self.lib.ot_init_all(_ptr(params), params.shape[0], _ptr(out))
        return out

    def rhs(
        self, t: float, y: np.ndarray, p: np.ndarray, u: np.ndarray | None = None
    ) -> np.ndarray:
        """Scalar right-hand side (for tests)."""
        ns = self.model.n_states
        y = np.ascontiguousarray(y, np.float64)
        p = np.ascontiguousarray(p, np.float64)
        u = np.zeros(ns) if u is None else np.ascontiguousarray(u, np.float64)
        dy = np.empty(ns)
        self.lib.ot_rhs(float(t), _ptr(y), _ptr(p), _ptr(u), _ptr(dy))
        return dy

    def jac(self, t: float, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Analytic Jacobian ``df/dy`` (from the forward-mode derivative)."""
        ns = self.model.n_states
        y = np.ascontiguousarray(y, np.float64)
        p = np.ascontiguousarray(p, np.float64)
        J = np.empty((ns, ns))
        self.lib.ot_jac(float(t), _ptr(y), _ptr(p), _ptr(J))
        return J


def _declare(lib: ctypes.CDLL) -> None:
    vp, i64, f64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
    lib.ot_dp5_range.argtypes = [vp, i64, i64]
    lib.ot_dp5_range.restype = i64
    lib.ot_rodas_list.argtypes = [vp, vp, i64]
    lib.ot_rodas_list.restype = i64
    lib.ot_init_all.argtypes = [vp, i64, vp]
    lib.ot_init_all.restype = None
    lib.ot_rhs.argtypes = [f64, vp, vp, vp, vp]
    lib.ot_rhs.restype = None
    lib.ot_jac.argtypes = [f64, vp, vp, vp]
    lib.ot_jac.restype = None
    lib.ot_sizes.argtypes = [i64]
    lib.ot_sizes.restype = i64


_LOCK = threading.Lock()
_MEMO: dict[tuple[str, str], CKernels] = {}

#: Newest C kernel libraries kept in the cache (older ones are pruned when one is built).
MAX_ENTRIES = 64


def _build(model: Model, cc: str, lib_path: Path) -> None:
    """Generate the C source of ``model`` and compile it to ``lib_path`` (atomically)."""
    try:
        src = generate_c_source(model)
    except (ValueError, TypeError, NotImplementedError, AttributeError) as exc:
        raise SolverError(
            f"backend='c' cannot print model {model.name!r} as C ({type(exc).__name__}: {exc}); "
            "use SolverOptions(backend='numba') for this model"
        ) from exc
    tag = f"{os.getpid()}.{threading.get_ident()}"
    c_path = lib_path.with_suffix(".c")
    tmp_c = lib_path.with_name(f"{lib_path.stem}.{tag}.c")
    tmp_so = lib_path.with_name(f"{lib_path.stem}.{tag}.so.tmp")
    tmp_c.write_text(src)
    try:
        res = subprocess.run(
            [cc, *CFLAGS, "-o", str(tmp_so), str(tmp_c), "-lm"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        tmp_c.unlink(missing_ok=True)
        raise SolverError(
            f"backend='c': running the C compiler {cc} failed ({exc}); "
            "use SolverOptions(backend='numba') or set ONCOTWIN_CC to a working compiler"
        ) from exc
    if res.returncode != 0:
        tmp_c.unlink(missing_ok=True)
        tmp_so.unlink(missing_ok=True)
        tail = "\n".join(res.stderr.splitlines()[-15:])
        raise SolverError(
            f"backend='c': the C compiler {cc} failed on model {model.name!r}:\n{tail}\n"
            "use SolverOptions(backend='numba') for this model"
        )
    os.replace(tmp_c, c_path)
    os.replace(tmp_so, lib_path)


def compile_c(model: Model) -> CKernels:
    """Generate, compile and load (or load from the cache) the C kernels of ``model``."""
    cc = c_compiler()
    if cc is None:
        raise SolverError(
            "backend='c' needs a C compiler (cc, gcc or clang on the PATH, or $ONCOTWIN_CC); "
            "install one or use SolverOptions(backend='numba')"
        )
    key = cache_key(model, cc)
    with _LOCK:
        hit = _MEMO.get((model.fingerprint, key))
        if hit is not None:
            return hit
        folder = kernel_root() / "c"
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", model.name)[:40]
        lib_path = folder / f"oncotwin_c_{safe}_{key}.so"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if lib_path.exists():
                touch(lib_path)
            else:
                _build(model, cc, lib_path)
                prune(folder, max_entries=MAX_ENTRIES)
            lib = ctypes.CDLL(str(lib_path))
        except OSError as exc:
            raise SolverError(
                f"backend='c': cannot build or load kernels in {folder} ({exc}); set "
                "ONCOTWIN_CACHE to a writable folder or use SolverOptions(backend='numba')"
            ) from exc
        _declare(lib)
        if lib.ot_sizes(0) != model.n_states or lib.ot_sizes(2) != ctypes.sizeof(_Problem):
            raise SolverError(  # pragma: no cover - a corrupt cache entry
                f"C kernel library {lib_path} does not match model {model.name!r}; delete it"
            )
        kernels = CKernels(model, lib, lib_path)
        _MEMO[(model.fingerprint, key)] = kernels
        return kernels
