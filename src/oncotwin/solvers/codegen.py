"""Generate and compile numba kernels from a declarative :class:`~oncotwin.models.Model`.

The model's sympy right-hand side is common-subexpression-eliminated and printed into a
Python module together with the solver kernels (:mod:`oncotwin.solvers._kernels_src`).
The module is written to a cache folder keyed by the model fingerprint and the kernel
version, and compiled by numba with ``cache=True``, so the second process that simulates the
same model loads machine code from disk instead of compiling again.

Generated functions (per model):

``rhs_lanes(T, Y, P, U, D)``
    right-hand side for ``W`` patients at once, structure-of-arrays (``Y[state, lane]``), a
    branch-free loop over lanes that LLVM vectorises;
``rhs_one(t, y, p, u, dy)``, ``jac_one(t, y, p, J)``, ``dfdt_one(t, y, p, out)``
    scalar right-hand side, analytic Jacobian ``df/dy`` and ``df/dt`` for the Rosenbrock path;
``init_one(p, y)``
    initial values from parameters.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from oncotwin.solvers import _kernels_src
from oncotwin.solvers._cache import kernel_root, prune, touch
from oncotwin.solvers.status import SolverStatus

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["CompiledModel", "cache_dir", "compile_model", "generate_source"]

#: Names of the status constants in the generated kernels.
_STATUS_NAMES = {
    "OK": SolverStatus.SUCCESS,
    "MAXSTEPS": SolverStatus.MAX_STEPS,
    "HMIN": SolverStatus.STEP_SIZE_UNDERFLOW,
    "NONFINITE": SolverStatus.NON_FINITE,
    "STIFF": SolverStatus.STIFF,
    "NOTRUN": SolverStatus.NOT_RUN,
}

#: Patients per SIMD block (lanes). 8 doubles = two AVX2 registers or one AVX-512 register.
LANES = 8


#: Newest generated numba modules kept in the cache (older ones are pruned when one is added).
MAX_ENTRIES = 32


def cache_dir() -> Path:
    """Folder of generated kernel modules (``$ONCOTWIN_CACHE`` or ``~/.cache/oncotwin``)."""
    return kernel_root()


class _Printer(PythonCodePrinter):
    """Python printer with ``math.`` functions, safe for numba nopython mode."""

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        x = self._print(expr.args[0])
        return f"(1.0 if ({x}) > 0 else (0.5 if ({x}) == 0 else 0.0))"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exp = expr.as_base_exp()
        if exp.is_Integer and 1 < abs(int(exp)) <= 4:
            b = self.parenthesize(base, 100)
            prod = "*".join([b] * abs(int(exp)))
            return f"({prod})" if exp > 0 else f"(1.0/({prod}))"
        if exp == -1:
            return f"(1.0/{self.parenthesize(base, 100)})"
        return super()._print_Pow(expr, rational=rational)

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return f"{int(expr)}.0"

    def _print_Rational(self, expr: sp.Rational) -> str:
        return repr(float(expr))


def _code_block(
    exprs: list[sp.Expr], targets: list[str], subs: dict[sp.Symbol, sp.Symbol], indent: str
) -> list[str]:
    """CSE ``exprs`` and print ``target = expr`` lines."""
    printer = _Printer({"fully_qualified_modules": True, "standard": "python3"})
    exprs = [sp.sympify(e).xreplace(subs) for e in exprs]
    tmp = sp.numbered_symbols("c")
    reps, reduced = sp.cse(exprs, symbols=tmp, optimizations="basic", order="none")
    lines = [f"{indent}{sym} = {printer.doprint(val)}" for sym, val in reps]
    lines += [
        f"{indent}{tgt} = {printer.doprint(expr)}"
        for tgt, expr in zip(targets, reduced, strict=True)
    ]
    return lines


#: Models with more states than this evaluate the six DP5 stages in a loop (one RHS copy).
LOOPED_STAGES_ABOVE = 24

#: Decorator of the vectorised lane loops: no Python error model (so LLVM can vectorise
#: divisions) and fused multiply-add contraction. Every patient runs through the same
#: vector code whatever lane or chunk it lands in, so results stay bit-reproducible.
_VEC_JIT = "@njit(cache=True, nogil=True, error_model='numpy', fastmath={'contract'})"


def _lane_layout(ns: int, npar: int) -> dict[str, int]:
    """Row offsets of the lane buffer ``B[row * LANES + lane]`` used by the explicit kernel."""
    rows: dict[str, int] = {}
    pos = 0
    for name, size in (
        ("T", 1),
        ("TT", 1),
        ("HH", 1),
        ("ERR", 1),
        ("STNUM", 1),
        ("STDEN", 1),
        ("RTOL", 1),
        ("HNEW", 1),
        ("ACC", 1),
        ("H", 1),
        ("TSTOP", 1),
        ("HIT", 1),
        ("NST", 1),
        ("STI", 1),
        ("NONSTI", 1),
        ("ATTN", 1),
        ("HMAX", 1),
        ("MAXST", 1),
        ("Y", ns),
        ("YS", ns),
        ("Y1", ns),
        ("D", ns),
        ("U", ns),
        ("ATOL", ns),
        ("K1", ns),
        ("K2", ns),
        ("K3", ns),
        ("K4", ns),
        ("K5", ns),
        ("K6", ns),
        ("K7", ns),
        ("P", npar),
    ):
        rows[name] = pos
        pos += size
    rows["ROWS"] = pos
    return rows


# Dormand & Prince (1980) 5(4): stage nodes and coefficients as exact fractions (as text).
_DP_STAGES = (
    ("0.2", ("0.2",)),
    ("0.3", ("3.0/40.0", "9.0/40.0")),
    ("0.8", ("44.0/45.0", "-56.0/15.0", "32.0/9.0")),
    ("8.0/9.0", ("19372.0/6561.0", "-25360.0/2187.0", "64448.0/6561.0", "-212.0/729.0")),
    ("1.0", ("9017.0/3168.0", "-355.0/33.0", "46732.0/5247.0", "49.0/176.0", "-5103.0/18656.0")),
)
_DP_B = ("35.0/384.0", "0.0", "500.0/1113.0", "125.0/192.0", "-2187.0/6784.0", "11.0/84.0")
_DP_E = (
    "71.0/57600.0",
    "0.0",
    "-71.0/16695.0",
    "71.0/1920.0",
    "-17253.0/339200.0",
    "22.0/525.0",
    "-1.0/40.0",
)


def _dp5_stage_source(ns: int, rows: dict[str, int]) -> list[str]:
    """Generated explicit stages: one branch-free loop over lanes per stage.

    All lane data lives in one flat buffer with compile-time row offsets, so LLVM proves the
    accesses independent and vectorises every loop over lanes (SIMD across patients).
    """
    L = LANES

    def at(row: str, s: int = 0) -> str:
        return f"B[{(rows[row] + s) * L} + l]"

    # Small models: every stage unrolled, the right-hand side inlined six times (fastest).
    # Large models: one loop over the six evaluations with a single call site, so LLVM
    # compiles (and inlines) the right-hand side once; compile time then grows with the
    # model, not with six copies of it.
    looped = ns > LOOPED_STAGES_ABOVE
    out = [_VEC_JIT, "def dp5_stages(B, nl):"]
    ind = "    "
    if looped:
        out.append("    for stage in range(6):")
        ind = "        "
    for j, (c, coeffs) in enumerate(_DP_STAGES, start=2):
        if looped:
            out.append(f"        {'if' if j == 2 else 'elif'} stage == {j - 2}:")
            pre = ind + "    "
        else:
            pre = ind
        out += [
            f"{pre}for l in range(nl):",
            f"{pre}    h = {at('HH')}",
            f"{pre}    {at('TT')} = {at('T')} + ({c}) * h",
        ]
        for s in range(ns):
            terms = " + ".join(f"({a}) * {at(f'K{i + 1}', s)}" for i, a in enumerate(coeffs))
            out.append(f"{pre}    {at('YS', s)} = {at('Y', s)} + h * ({terms})")
        if not looped:
            out += ["    rhs_lanes(B, nl)", "    for l in range(nl):"]
            out += [f"        {at(f'K{j}', s)} = {at('D', s)}" for s in range(ns)]
    if looped:
        out += _dp5_final_prep(ns, at, "            ", "        else:")
        out += ["        rhs_lanes(B, nl)"]
        for j in range(2, 7):
            out += [
                f"        {'if' if j == 2 else 'elif'} stage == {j - 2}:",
                "            for l in range(nl):",
            ]
            out += [f"                {at(f'K{j}', s)} = {at('D', s)}" for s in range(ns)]
        out += _dp5_error_source(ns, at)
        return out
    # 5th-order solution, stiffness denominators, then K7 = f(t + h, Y1)
    out += _dp5_final_prep(ns, at, "    ", None)
    out += ["    rhs_lanes(B, nl)"]
    out += _dp5_error_source(ns, at)
    return out


def _dp5_final_prep(ns: int, at, indent: str, head: str | None) -> list[str]:
    """5th-order solution and stiffness denominators before ``K7 = f(t + h, Y1)``."""
    out = [head] if head else []
    i2 = indent + "    "
    out += [f"{indent}for l in range(nl):", f"{i2}h = {at('HH')}", f"{i2}den = 0.0"]
    for s in range(ns):
        terms = " + ".join(
            f"({b}) * {at(f'K{i + 1}', s)}" for i, b in enumerate(_DP_B) if b != "0.0"
        )
        out += [
            f"{i2}v = {at('Y', s)} + h * ({terms})",
            f"{i2}{at('Y1', s)} = v",
            f"{i2}w = v - {at('YS', s)}",
            f"{i2}den += w * w",
            f"{i2}{at('YS', s)} = v",
        ]
    out += [f"{i2}{at('STDEN')} = den"]
    return out


def _dp5_error_source(ns: int, at) -> list[str]:
    """Error estimate and stiffness numerator after ``K7`` (one vectorised loop)."""
    out = [
        "    for l in range(nl):",
        f"        h = {at('HH')}",
        f"        rt = {at('RTOL')}",
        "        err = 0.0",
        "        num = 0.0",
    ]
    for s in range(ns):
        terms = " + ".join(
            f"({e}) * {at(f'K{i + 1}', s) if i < 6 else at('D', s)}"
            for i, e in enumerate(_DP_E)
            if e != "0.0"
        )
        out += [
            f"        k7 = {at('D', s)}",
            f"        {at('K7', s)} = k7",
            f"        w = k7 - {at('K6', s)}",
            "        num += w * w",
            f"        sk = {at('ATOL', s)} + rt * max(abs({at('Y', s)}), abs({at('Y1', s)}))",
            f"        e = h * ({terms}) / sk",
            "        err += e * e",
        ]
    out += [f"        {at('ERR')} = math.sqrt(err / {ns}.0)", f"        {at('STNUM')} = num", ""]
    return out


def _dp5_control_source(model: Model, rows: dict[str, int]) -> list[str]:
    """Generated, vectorised step control: the common path of every step, for all lanes.

    ``dp5_prologue`` clips each lane's step to its next output or event time.
    ``dp5_accept`` accepts or rejects, updates states, time, step size, step count and the
    stiffness counters with branch-free selects, and raises a lane's ``ATTN`` flag when the
    scalar driver must act (an event or output time reached, a non-finite error, a possible
    switch to the implicit method, the step budget spent, a step-size underflow).

    Step-size control is the classical I controller ``h_new = h / clip(err^q / 0.9)`` with
    ``q = 3/16`` (close to the textbook 1/5 for a 5(4) pair, Hairer, Norsett & Wanner I,
    section II.4), computed with square roots only so that it vectorises. Stiffness detection
    is Hairer's DOPRI5 test ``h |k7 - k6| / |y1 - y6| > 3.25`` (section II.10).
    """
    L = LANES

    def at(row: str, s: int = 0) -> str:
        return f"B[{(rows[row] + s) * L} + l]"

    out = [
        _VEC_JIT,
        "def dp5_prologue(B, nl):",
        "    for l in range(nl):",
        f"        t = {at('T')}",
        f"        h = {at('H')}",
        f"        ts = {at('TSTOP')}",
        "        hit = t + 1.01 * h >= ts",
        f"        {at('HH')} = ts - t if hit else h",
        f"        {at('HIT')} = 1.0 if hit else 0.0",
        "",
        "",
        _VEC_JIT,
        "def dp5_accept(B, nl):",
        "    for l in range(nl):",
        f"        err = {at('ERR')}",
        f"        h = {at('HH')}",
        f"        t = {at('T')}",
        f"        hit = {at('HIT')} > 0.5",
        "        finite = err < 1e300",
        "        e = err if err > 1e-10 else 1e-10",
        "        q = math.sqrt(math.sqrt(math.sqrt(math.sqrt(e * e * e))))",
        "        acc = err <= 1.0",
        "        fac = q * (1.0 / SAFE)",
        "        fac = min(fac, 1.0 / FAC1)",
        "        fac = fac if not acc else max(fac, 1.0 / FAC2)",
        "        hnew = h / fac",
        f"        hold = {at('H')}",
        "        hnew = max(hnew, hold) if (acc & hit & (err < 0.5)) else hnew",
        "        hnew = hnew if finite else 0.1 * h",
        f"        hmax = {at('HMAX')}",
        f"        {at('H')} = hnew if hnew < hmax else hmax",
        f"        tn = ({at('TSTOP')} if hit else t + h) if acc else t",
        f"        {at('T')} = tn",
        f"        nst = {at('NST')} + 1.0",
        f"        {at('NST')} = nst",
        f"        den = {at('STDEN')}",
        f"        stiff = (h * h * {at('STNUM')} > 10.5625 * den) & (den > 0.0)",
        f"        sti = {at('STI')}",
        f"        nsi = {at('NONSTI')}",
        "        nsi2 = 0.0 if stiff else nsi + 1.0",
        "        sti2 = sti + 1.0 if stiff else (0.0 if nsi2 >= 6.0 else sti)",
        f"        {at('STI')} = sti2 if acc else sti",
        f"        {at('NONSTI')} = nsi2 if acc else nsi",
        "        small = hnew < 1e-14 * max(1.0, abs(t))",
        "        attn = (acc & hit) | (not finite) | (acc & (sti2 >= 15.0))",
        f"        attn = attn | (nst >= {at('MAXST')}) | ((not acc) & small)",
        f"        {at('ATTN')} = 1.0 if attn else 0.0",
        f"        {at('ACC')} = 1.0 if acc else 0.0",
    ]
    # masked state updates, one loop per state: LLVM vectorises each (masked stores), but
    # gives up on a single loop holding every state's conditional update
    for s, spec in enumerate(model.states):
        out += [
            "    for l in range(nl):",
            f"        acc = {at('ACC')} > 0.5",
            f"        v = {at('Y1', s)}",
        ]
        if spec.nonnegative:
            out.append("        v = v if v > 0.0 else 0.0")
        out += [
            f"        {at('Y', s)} = v if acc else {at('Y', s)}",
            f"        {at('K1', s)} = {at('K7', s)} if acc else {at('K1', s)}",
        ]
    return [*out, ""]


def generate_source(model: Model) -> str:
    """Python source of the model's numba kernels (right-hand side, Jacobian, solvers)."""
    ns, npar = model.n_states, model.n_parameters
    ysyms = {s: sp.Symbol(f"y{i}", real=True) for i, s in enumerate(model.state_symbols)}
    psyms = {p: sp.Symbol(f"p{i}", real=True) for i, p in enumerate(model.parameter_symbols)}
    subs = {**ysyms, **psyms}
    from oncotwin.models.base import TIME

    rates = list(model.rates)
    jac = model.jacobian
    dfdt = [sp.diff(r, TIME) for r in rates]
    rows = _lane_layout(ns, npar)
    L = LANES

    def scalar_loads(indent: str) -> list[str]:
        out = [f"{indent}y{i} = y[{i}]" for i in range(ns)]
        out += [f"{indent}p{i} = p[{i}]" for i in range(npar)]
        return out

    lines = [
        f"# Generated by oncotwin for model {model.name!r} (fingerprint {model.fingerprint}).",
        "# Do not edit: regenerated when the model or the kernels change.",
        "import math",
        "import numpy as np",
        "from numba import njit, prange",
        "",
        f"NS = {ns}",
        f"NP = {npar}",
        f"W = {L}",
        *(f"ST_{k} = {int(v)}" for k, v in _STATUS_NAMES.items()),
    ]
    lines += [f"R_{k} = {v}" for k, v in rows.items()]
    lines += [
        "",
        "",
        _VEC_JIT,
        "def rhs_lanes(B, nl):",
        "    for l in range(nl):",
        f"        t = B[{rows['TT'] * L} + l]",
    ]
    lines += [f"        y{i} = B[{(rows['YS'] + i) * L} + l]" for i in range(ns)]
    lines += [f"        p{i} = B[{(rows['P'] + i) * L} + l]" for i in range(npar)]
    lines += [f"        u{i} = B[{(rows['U'] + i) * L} + l]" for i in range(ns)]
    lines += _code_block(
        [r + sp.Symbol(f"u{i}") for i, r in enumerate(rates)],
        [f"B[{(rows['D'] + i) * L} + l]" for i in range(ns)],
        subs,
        "        ",
    )
    lines += ["", ""]
    lines += _dp5_stage_source(ns, rows)
    # step-size control: safety factor, largest decrease 1/FAC1 and increase FAC2
    lines += ["", "SAFE = 0.9", "FAC1 = 0.2", "FAC2 = 10.0", ""]
    lines += _dp5_control_source(model, rows)
    lines += [
        "",
        "@njit(cache=True, nogil=True, error_model='numpy')",
        "def rhs_one(t, y, p, u, dy):",
    ]
    lines += scalar_loads("    ")
    lines += _code_block(
        [r + sp.Symbol(f"u{i}") for i, r in enumerate(rates)],
        [f"dy[{i}]" for i in range(ns)],
        subs | {sp.Symbol(f"u{i}"): sp.Symbol(f"u[{i}]") for i in range(ns)},
        "    ",
    )
    lines += [
        "",
        "",
        "@njit(cache=True, nogil=True, error_model='numpy')",
        "def jac_one(t, y, p, J):",
    ]
    lines += scalar_loads("    ")
    jexprs, jtargets = [], []
    for i in range(ns):
        for j in range(ns):
            jexprs.append(jac[i, j])
            jtargets.append(f"J[{i}, {j}]")
    lines += _code_block(jexprs, jtargets, subs, "    ")
    lines += [
        "",
        "",
        "@njit(cache=True, nogil=True, error_model='numpy')",
        "def dfdt_one(t, y, p, out):",
    ]
    lines += scalar_loads("    ")
    lines += _code_block(dfdt, [f"out[{i}]" for i in range(ns)], subs, "    ")
    lines += ["", "", "@njit(cache=True, nogil=True, error_model='numpy')", "def init_one(p, y):"]
    lines += [f"    p{i} = p[{i}]" for i in range(npar)]
    lines += _code_block(
        [s.initial for s in model.states], [f"y{i}_" for i in range(ns)], subs, "    "
    )
    lines += [f"    y[{i}] = y{i}_" for i in range(ns)]
    lines += ["", ""]
    return "\n".join(lines) + _kernels_src.SOURCE


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """The generated module of one model and thin typed wrappers around its kernels."""

    model: Model
    module: ModuleType
    path: Path

    def initial_values(self, params: np.ndarray) -> np.ndarray:
        params = np.ascontiguousarray(params, dtype=np.float64)
        out = np.empty((params.shape[0], self.model.n_states))
        self.module.init_all(params, out)
        return out

    def rhs(
        self, t: float, y: np.ndarray, p: np.ndarray, u: np.ndarray | None = None
    ) -> np.ndarray:
        """Scalar right-hand side (for tests and the reference solver)."""
        dy = np.empty(self.model.n_states)
        u = np.zeros(self.model.n_states) if u is None else u
        self.module.rhs_one(float(t), np.asarray(y, float), np.asarray(p, float), u, dy)
        return dy

    def jac(self, t: float, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Analytic Jacobian ``df/dy``."""
        J = np.empty((self.model.n_states, self.model.n_states))
        self.module.jac_one(float(t), np.asarray(y, float), np.asarray(p, float), J)
        return J


_LOCK = threading.Lock()
_MEMO: dict[str, CompiledModel] = {}


def _generator_digest() -> str:
    """Hash of the code generator and the kernel template (part of every cache key)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(_kernels_src.SOURCE.encode())
    h.update(str(LANES).encode())
    h.update(repr(sorted((k, int(v)) for k, v in _STATUS_NAMES.items())).encode())
    return h.hexdigest()[:16]


_GENERATOR_DIGEST = _generator_digest()


def compile_model(model: Model) -> CompiledModel:
    """Generate (or load from the cache) the numba kernels of ``model``."""
    key = model.fingerprint
    with _LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            return hit
        # The generated source is a pure function of the model's equations (fingerprint) and
        # of this generator and its kernel template: key the file by those, so a cached
        # model loads without redoing the symbolic work (Jacobian, CSE), which takes tens of
        # seconds for a large model.
        digest = hashlib.sha256(
            (key + _GENERATOR_DIGEST + LOOPED_STAGES_ABOVE.__str__()).encode()
        ).hexdigest()[:16]
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        modname = f"oncotwin_kernel_{model.name}_{digest}"
        path = folder / f"{modname}.py"
        if path.exists():
            touch(path)
        else:
            src = generate_source(model)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(src)
            os.replace(tmp, path)
            prune(folder, max_entries=MAX_ENTRIES, suffix=".py", extra_dirs=("__pycache__",))
        spec = importlib.util.spec_from_file_location(modname, path)
        if spec is None or spec.loader is None:  # pragma: no cover - importlib contract
            raise ImportError(f"cannot load generated kernels from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
        compiled = CompiledModel(model, module, path)
        _MEMO[key] = compiled
        return compiled
