"""The C backend: agreement with the numba backend and the SciPy reference, determinism,
status codes, backend choice and the kernel cache."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.errors import SolverError
from oncotwin.models import ModelBuilder
from oncotwin.solvers import STATUS, EventTable, SolverOptions, SolverStatus, ccodegen, solve
from oncotwin.solvers._cache import prune
from oncotwin.solvers.population import initial_values, resolve_backend
from oncotwin.solvers.reference import lambdify_model, reference_solve

sys.path.insert(0, str(Path(__file__).parent))
from test_solver import T_OUT, _anchor, _const, _stiff_model

needs_cc = pytest.mark.skipif(ccodegen.c_compiler() is None, reason="no C compiler")
pytestmark = needs_cc

C = SolverOptions(backend="c")
NUMBA = SolverOptions(backend="numba")


def _rel_err(a: np.ndarray, b: np.ndarray, floor: float = 1e-4) -> float:
    return float(np.max(np.abs(a - b) / (np.abs(b) + floor)))


def test_status_enum_is_the_one_definition() -> None:
    assert STATUS == {int(s): s.label for s in SolverStatus}
    assert STATUS[0] == "success" and SolverStatus(4).label == "stiff"
    assert [int(s) for s in SolverStatus] == list(range(6))


@pytest.mark.parametrize("name", ["bench_anchor", "kuznetsov1994", "metastatic_io"])
def test_c_jacobian_equals_the_symbolic_jacobian(name: str) -> None:
    """The forward-mode derivative of the C kernels equals the sympy Jacobian (lambdified)."""
    m = ot.get_model(name)
    k = ccodegen.compile_c(m)
    p = m.default_parameters()
    rng = np.random.default_rng(1)
    y = k.initial_values(p)[0] * (1.0 + 0.5 * rng.random(m.n_states)) + 0.1
    _, jac, _ = lambdify_model(m)
    ref = np.asarray(jac(2.0, y, p), dtype=float)
    np.testing.assert_allclose(k.jac(2.0, y, p), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    f, _, y0 = lambdify_model(m)
    np.testing.assert_allclose(k.rhs(2.0, y, p), f(2.0, y, p), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(k.initial_values(p)[0], y0(p), rtol=1e-15)
    assert np.array_equal(initial_values(m, p, backend="c"), k.initial_values(p))


@pytest.mark.parametrize("name", ["bench_anchor", "kuznetsov1994", "claret2009"])
def test_c_matches_numba_and_scipy_on_library_models(name: str) -> None:
    """Both backends agree to solver tolerance, and both match a tight SciPy reference."""
    if name == "bench_anchor":
        m, p, ev = _anchor(6, seed=5)
    else:
        m = ot.get_model(name)
        p = m.parameter_array(6)
        p *= np.exp(0.1 * np.random.default_rng(2).standard_normal(p.shape))
        ev = EventTable.empty(6)
    t = T_OUT[:60]
    opts = {"rtol": 1e-8, "atol": 1e-10}
    c = solve(m, p, t, events=ev, options=SolverOptions(backend="c", **opts))
    nb = solve(m, p, t, events=ev, options=SolverOptions(backend="numba", **opts))
    assert (c.status == 0).all() and (nb.status == 0).all()
    assert np.array_equal(c.method, nb.method)
    assert _rel_err(c.y, nb.y) < 1e-6
    for i in (0, 5):
        ref = reference_solve(m, p[i], t, events=ev, patient=i, rtol=1e-11, atol=1e-13)
        assert _rel_err(c.y[i], ref) < 1e-6


def _io_doses(m: ot.models.Model, n: int) -> tuple[np.ndarray, EventTable]:
    target = m.dose_target("anti-PD-1")
    days = np.arange(0.0, 120.0, 21.0)
    p = m.parameter_array(n)
    val = np.full((n, days.size), 200.0 * target.scale)
    val *= np.linspace(0.5, 1.5, n)[:, None]
    val[1, 3:] = 0.0  # patient 1 stops after three doses
    ev = EventTable.build(days, np.full(days.size, m.state_index(target.state)), [0] * 6, val)
    return p, ev


def test_c_matches_scipy_on_metastatic_io_with_doses() -> None:
    m = ot.get_model("metastatic_io")
    p, ev = _io_doses(m, 3)
    t = np.arange(0.0, 127.0, 7.0)
    sol = solve(m, p, t, events=ev, options=SolverOptions(backend="c", rtol=1e-8, atol=1e-10))
    assert (sol.status == 0).all()
    for i in (0, 1):
        ref = reference_solve(m, p[i], t, events=ev, patient=i, rtol=1e-10, atol=1e-12)
        assert _rel_err(sol.y[i], ref) < 1e-5


@pytest.mark.slow
def test_c_matches_numba_on_metastatic_io_with_doses() -> None:
    """Slow: the numba backend compiles this 78-state model for minutes on first use."""
    m = ot.get_model("metastatic_io")
    p, ev = _io_doses(m, 4)
    t = np.arange(0.0, 127.0, 7.0)
    # tight tolerances: at the default rtol the two backends may take different step
    # sequences (floating-point order of the generated code) and differ at ~rtol
    tight = {"rtol": 1e-8, "atol": 1e-10}
    c = solve(m, p, t, events=ev, options=SolverOptions(backend="c", **tight))
    nb = solve(m, p, t, events=ev, options=SolverOptions(backend="numba", **tight))
    assert np.array_equal(c.status, nb.status)
    assert _rel_err(c.y, nb.y) < 1e-5


def test_c_results_do_not_depend_on_chunks_groups_or_threads() -> None:
    m, p, ev = _anchor(37, seed=8)
    ref = solve(m, p, T_OUT, events=ev, options=C)
    for kw in ({"chunk_size": 5}, {"group_size": 3, "threads": 2}, {"threads": 1}):
        other = solve(m, p, T_OUT, events=ev, options=SolverOptions(backend="c", **kw))
        assert np.array_equal(ref.y, other.y), kw
        assert np.array_equal(ref.nsteps, other.nsteps)
    # a patient alone gives the same floats as inside the population (any lane)
    alone = solve(m, p[17:18], T_OUT, events=ev.take(slice(17, 18)), options=C)
    assert np.array_equal(alone.y[0], ref.y[17])


def test_c_stiff_switch_and_failure_status_match_numba() -> None:
    m = _stiff_model()
    p = m.parameter_array(3)
    t = np.array([0.0, 0.4, 4.0, 40.0])
    kw = {"rtol": 1e-7, "atol": 1e-10, "stiff_steps": 2000}
    c = solve(m, p, t, options=SolverOptions(backend="c", **kw))
    nb = solve(m, p, t, options=SolverOptions(backend="numba", **kw))
    assert (c.method == "rodas4").all() and (c.status == 0).all()
    np.testing.assert_allclose(c.y, nb.y, rtol=1e-6)
    np.testing.assert_allclose(c.y[0].sum(axis=1), 1.0, rtol=1e-9)  # mass conservation
    # explicit only with a step budget: every patient fails the same way on both backends
    kw |= {"method": "dopri5", "max_steps": 50}
    c = solve(m, p, t, options=SolverOptions(backend="c", **kw))
    nb = solve(m, p, t, options=SolverOptions(backend="numba", **kw))
    assert np.array_equal(c.status, nb.status) and np.array_equal(c.nsteps, nb.nsteps)
    assert (c.status == SolverStatus.MAX_STEPS).all() and np.isnan(c.y[:, -1]).all()
    assert not np.isnan(c.y[:, 0]).any()
    # a blow-up (dy/dt = a y^2, y(0) = 1) fails one patient with the same status on both
    b = ModelBuilder("blowup_backend_test")
    yb = b.state("y", "1", initial=_const(1.0))
    b.add_rate(yb, b.parameter("a", _const(1.0)) * yb**2)
    mb = b.build()
    pb = mb.parameter_array(3, a=np.array([1.0, 0.1, 2.0]))
    c = solve(mb, pb, [0.0, 0.4, 5.0], options=C)
    nb = solve(mb, pb, [0.0, 0.4, 5.0], options=NUMBA)
    assert (
        np.array_equal(c.status, nb.status) and c.status[1] == 0 and (c.status[[0, 2]] != 0).all()
    )
    assert np.array_equal(np.isnan(c.y), np.isnan(nb.y))


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONCOTWIN_BACKEND", raising=False)
    assert resolve_backend("auto") == "c"
    assert resolve_backend("numba") == "numba"
    monkeypatch.setenv("ONCOTWIN_BACKEND", "numba")
    assert resolve_backend("auto") == "numba"
    monkeypatch.setenv("ONCOTWIN_BACKEND", "fortran")
    with pytest.raises(SolverError, match="ONCOTWIN_BACKEND"):
        resolve_backend("auto")
    monkeypatch.delenv("ONCOTWIN_BACKEND")
    monkeypatch.setattr(ccodegen, "c_compiler", lambda: None)
    assert resolve_backend("auto") == "numba"  # no C compiler: numba
    with pytest.raises(SolverError, match="backend='c' needs a C compiler"):
        ccodegen.compile_c(ot.get_model("kuznetsov1994"))
    with pytest.raises(SolverError, match="backend="):
        SolverOptions(backend="gpu")  # type: ignore[arg-type]


def test_cache_is_keyed_and_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCOTWIN_CACHE", str(tmp_path))
    monkeypatch.setattr(ccodegen, "MAX_ENTRIES", 1)
    monkeypatch.setattr(ccodegen, "_MEMO", {})
    a = ccodegen.compile_c(ot.get_model("kuznetsov1994"))
    assert a.path.parent == tmp_path / "kernels" / "c" and a.path.with_suffix(".c").exists()
    key = ccodegen.cache_key(a.model, ccodegen.c_compiler() or "")
    assert key in a.path.name
    os.utime(a.path, (time.time() - 10, time.time() - 10))
    b = ccodegen.compile_c(ot.get_model("claret2009"))
    assert b.path.exists() and not a.path.exists() and not a.path.with_suffix(".c").exists()
    # prune by count and by age, least recently used first
    d = tmp_path / "fake"
    d.mkdir()
    now = time.time()
    for i, age_days in enumerate([0.0, 1.0, 2.0, 100.0]):
        for ext in (".so", ".c"):
            f = d / f"e{i}{ext}"
            f.write_text("x")
            os.utime(f, (now - age_days * 86400, now - age_days * 86400))
    assert sorted(prune(d, max_entries=3, max_age_days=60)) == ["e3"]
    assert sorted(prune(d, max_entries=2)) == ["e2"]
    assert sorted(p.name for p in d.iterdir()) == ["e0.c", "e0.so", "e1.c", "e1.so"]


def test_auto_falls_back_to_numba_when_c_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orig_cache = os.environ.get("ONCOTWIN_CACHE")
    monkeypatch.setenv("ONCOTWIN_CACHE", str(tmp_path))
    monkeypatch.delenv("ONCOTWIN_BACKEND", raising=False)
    monkeypatch.setattr(ccodegen, "_MEMO", {})

    def unprintable(model: object) -> str:
        raise NotImplementedError("no C for this function")

    monkeypatch.setattr(ccodegen, "generate_c_source", unprintable)
    m, p, ev = _anchor(2)
    with pytest.raises(SolverError, match="cannot print model 'bench_anchor' as C"):
        solve(m, p, T_OUT, events=ev, options=C)
    if orig_cache is None:  # the numba kernels from the usual cache
        monkeypatch.delenv("ONCOTWIN_CACHE")
    else:
        monkeypatch.setenv("ONCOTWIN_CACHE", orig_cache)

    def failing(model: object) -> None:
        raise SolverError("backend='c': the C compiler failed")

    monkeypatch.setattr(ccodegen, "compile_c", failing)
    with pytest.warns(RuntimeWarning, match="using the numba backend"):
        sol = solve(m, p, T_OUT, events=ev)
    assert np.array_equal(sol.y, solve(m, p, T_OUT, events=ev, options=NUMBA).y)


def test_c_prints_constants_functions_and_piecewise_exactly() -> None:
    """Constants, elementary functions, powers, min/max, |x|, Heaviside and piecewise rates:
    the C right-hand side and Jacobian equal the lambdified sympy ones."""
    import sympy as sp

    from oncotwin.models import TIME

    b = ModelBuilder("printing_backend_test")
    x = b.state("x", "1", initial=_const(1.5), nonnegative=False)
    z = b.state("z", "1", initial=_const(0.7), nonnegative=False)
    k = b.parameter("k", _const(0.3))
    b.add_rate(
        x,
        -k * x
        + sp.pi * sp.exp(-z) / sp.E
        + sp.sqrt(sp.Abs(x - 1)) * x**3
        + x ** sp.Rational(5, 2)
        + 1 / (1 + z**2)
        + sp.Max(x, z) * sp.Min(x, 2 * z)
        + sp.Heaviside(k - 0.1) * sp.log(1 + z),
    )
    b.add_rate(z, sp.Piecewise((-z * x, x < 2), (z**-2, True)) + sp.sin(TIME) * z)
    m = b.build()
    kern = ccodegen.compile_c(m)
    f, jac, _ = lambdify_model(m)
    p = m.default_parameters()
    for y in ([1.5, 0.7], [0.5, 1.2], [2.5, 0.4]):
        y = np.array(y)
        np.testing.assert_allclose(kern.rhs(0.8, y, p), f(0.8, y, p), rtol=1e-13)
        np.testing.assert_allclose(kern.jac(0.8, y, p), jac(0.8, y, p), rtol=1e-12, atol=1e-14)


def test_c_results_do_not_depend_on_optimisation_or_vector_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IEEE-exact flags: the vectorised -O3 -march=native build (512-bit vectors,
    -fno-trapping-math) gives the same floats as an unoptimised scalar build (-O0), so results
    do not depend on the machine's SIMD width."""
    m, p, ev = _anchor(20, seed=6)
    fast = solve(m, p, T_OUT, events=ev, options=C).y
    monkeypatch.setenv("ONCOTWIN_CACHE", str(tmp_path))
    monkeypatch.setattr(ccodegen, "_MEMO", {})
    plain = ("-O", "-march", "-mprefer-vector-width", "-fno-trapping-math")
    flags = tuple(f for f in ccodegen.CFLAGS if not f.startswith(plain))
    monkeypatch.setattr(ccodegen, "CFLAGS", ("-O0", *flags))
    assert np.array_equal(solve(m, p, T_OUT, events=ev, options=C).y, fast)


def test_unusable_cache_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    monkeypatch.setenv("ONCOTWIN_CACHE", str(not_a_folder))
    monkeypatch.setattr(ccodegen, "_MEMO", {})
    with pytest.raises(SolverError, match="set ONCOTWIN_CACHE to a writable folder"):
        ccodegen.compile_c(ot.get_model("kuznetsov1994"))


def test_c_computes_parameter_only_terms_once_per_patient() -> None:
    """Parameter-only subexpressions and divisors leave the lanes' right-hand side (they are
    computed once per patient in lane_derived), and the results stay right."""
    import re

    import sympy as sp

    src = ccodegen.generate_c_source(ot.get_model("bench_anchor"))
    lanes = src[src.index("static void rhs_lanes(") :]
    lanes = lanes[: lanes.index("\n}\n")]
    assert "lane_derived(B, l);" in src
    assert not re.search(r"/P_\d+\b", lanes) and "(1.0/P_" not in lanes

    b = ModelBuilder("hoisting_backend_test")
    x = b.state("x", "1", initial=_const(2.0), nonnegative=False)
    z = b.state("z", "1", initial=_const(0.5), nonnegative=False)
    k = b.parameter("k", _const(0.7))
    c = b.parameter("c", _const(3.0))
    b.add_rate(x, -x / k + z / (k + c) - sp.log(c) * x / (1 + x**2))
    b.add_rate(z, x / c - z / (1 + k * c) + sp.exp(-1 / k) * z / (2 + z))
    m = b.build()
    kern = ccodegen.compile_c(m)
    f, _, _ = lambdify_model(m)
    p = m.default_parameters()
    y = np.array([1.3, 0.4])
    np.testing.assert_allclose(kern.rhs(0.5, y, p), f(0.5, y, p), rtol=1e-14)
    params = np.tile(p, (11, 1)) * np.linspace(0.8, 1.2, 11)[:, None]
    sol = solve(m, params, T_OUT, options=SolverOptions(rtol=1e-9, atol=1e-12, backend="c"))
    for i in (0, 5, 10):
        ref = reference_solve(m, params[i], T_OUT, rtol=1e-12, atol=1e-14, method="Radau")
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-7, atol=1e-10)
