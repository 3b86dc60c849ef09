"""The batched solver: agreement with the SciPy reference, invariants, failures, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import oncotwin as ot
from oncotwin.errors import ParameterError, SolverError
from oncotwin.models import ModelBuilder
from oncotwin.parameters import Parameter
from oncotwin.solvers import EventTable, SolverOptions, solve
from oncotwin.solvers.codegen import compile_model
from oncotwin.solvers.reference import reference_solve

DOSE_DAYS = np.arange(0.0, 715.0, 21.0)
T_OUT = np.append(np.arange(0.0, 729.0, 7.0), 730.0)


def _anchor(n: int, seed: int = 0) -> tuple[ot.models.Model, np.ndarray, EventTable]:
    from oncotwin.models.library.bench_anchor import VARYING

    m = ot.get_model("bench_anchor")
    rng = np.random.default_rng(seed)
    p = m.parameter_array(n)
    for name in VARYING:
        p[:, m.parameter_index(name)] *= np.exp(0.3 * rng.standard_normal(n))
    ev = EventTable.build(
        DOSE_DAYS,
        np.full(DOSE_DAYS.size, m.state_index("Ac")),
        np.zeros(DOSE_DAYS.size, dtype=int),
        np.full((n, DOSE_DAYS.size), 200.0),
    )
    return m, p, ev


def _const(value: float) -> Parameter:
    return Parameter(value, "1", assumption=True, reason="test problem")


@pytest.mark.parametrize("method", ["dopri5", "rodas4"])
def test_anchor_matches_tight_scipy_reference(method: str) -> None:
    """Benchmark workload (shared/bench/README.md): at rtol 1e-8 the batched solve matches a
    SciPy LSODA reference at rtol 1e-11 within 1e-6 relative (+1e-4 absolute floor, as the
    benchmark's error measure) for every state at all 106 output times."""
    m, p, ev = _anchor(4, seed=3)
    sol = solve(m, p, T_OUT, events=ev, options=SolverOptions(method=method, rtol=1e-8, atol=1e-10))
    assert (sol.status == 0).all()
    for i in range(4):
        ref = reference_solve(m, p[i], T_OUT, events=ev, patient=i, rtol=1e-11, atol=1e-13)
        err = np.abs(sol.y[i] - ref) / (np.abs(ref) + 1e-4)
        assert err.max() < 1e-6, (i, err.max())


def test_default_tolerance_meets_benchmark_error_target() -> None:
    """shared/bench/README.md: at rtol 1e-6, atol 1e-8 the error in T at day 730 must be
    <= 1e-5 (relative, 1e-4 floor) against a tight reference."""
    m, p, ev = _anchor(6, seed=11)
    sol = solve(m, p, T_OUT, events=ev, save=["T"])
    for i in range(6):
        ref = reference_solve(m, p[i], T_OUT, events=ev, patient=i, rtol=1e-11, atol=1e-13)
        t_ref = ref[-1, m.state_index("T")]
        assert abs(sol.y[i, -1, 0] - t_ref) / (abs(t_ref) + 1e-4) <= 1e-5


def test_states_stay_nonnegative_across_a_population() -> None:
    m, p, ev = _anchor(300, seed=5)
    sol = solve(m, p, T_OUT, events=ev)
    assert (sol.status == 0).all()
    assert np.nanmin(sol.y) >= 0.0


def test_results_identical_however_the_population_is_chunked() -> None:
    """Each patient's arithmetic depends only on its own data: bit-identical results for
    any chunk size, group size and position in the population."""
    m, p, ev = _anchor(90, seed=7)
    base = solve(m, p, T_OUT, events=ev, save=["T", "E"])
    for chunk, group in [(7, 8), (13, 0), (90, 90), (1, 0)]:
        other = solve(
            m,
            p,
            T_OUT,
            events=ev,
            save=["T", "E"],
            options=SolverOptions(chunk_size=chunk, group_size=group),
        )
        assert np.array_equal(base.y, other.y)
        assert np.array_equal(base.nsteps, other.nsteps)
    rev = solve(m, p[::-1], T_OUT, events=ev.take(slice(None, None, -1)), save=["T", "E"])
    assert np.array_equal(rev.y[::-1], base.y)


def test_dosing_mask_stops_one_patients_treatment_only() -> None:
    m, p, ev = _anchor(3)
    mask = np.ones((3, DOSE_DAYS.size), dtype=bool)
    mask[1, 5:] = False  # patient 1 stops after 5 doses (e.g. progression)
    sol = solve(m, p, T_OUT, events=ev.masked(mask), save=["Ac"])
    full = solve(m, p, T_OUT, events=ev, save=["Ac"])
    assert np.array_equal(sol.y[[0, 2]], full.y[[0, 2]])
    five = EventTable.build(DOSE_DAYS[:5], ev.state[:5], ev.kind[:5], ev.value[1:2, :5])
    alone = solve(m, p[1:2], T_OUT, events=five, save=["Ac"])
    np.testing.assert_allclose(sol.y[1], alone.y[0], rtol=1e-5, atol=1e-8)
    assert sol.y[1, -1, 0] < 1e-3 * full.y[1, -1, 0]


def _stiff_model() -> ot.models.Model:
    """Robertson's chemical kinetics (Hairer & Wanner II, section IV.1): very stiff."""
    b = ModelBuilder("robertson_test")
    y1 = b.state("y1", "1", initial=_const(1.0))
    y2 = b.state("y2", "1", initial=_const(0.0))
    y3 = b.state("y3", "1", initial=_const(0.0))
    k1, k2, k3 = (b.parameter(n, _const(v)) for n, v in (("k1", 0.04), ("k2", 3e7), ("k3", 1e4)))
    b.add_rate(y1, -k1 * y1 + k3 * y2 * y3)
    b.add_rate(y2, k1 * y1 - k3 * y2 * y3 - k2 * y2**2)
    b.add_rate(y3, k2 * y2**2)
    return b.build()


def test_stiff_patients_switch_to_rodas4_and_match_radau() -> None:
    """Robertson problem to t = 40 (Hairer & Wanner II, Table IV.10.1 values at t=40:
    y1 = 0.7158, y3 = 0.2842): 'auto' detects stiffness, re-solves with RODAS4."""
    m = _stiff_model()
    p = m.parameter_array(3)
    t = np.array([0.0, 0.4, 4.0, 40.0])
    sol = solve(m, p, t, options=SolverOptions(rtol=1e-7, atol=1e-10, stiff_steps=2000))
    assert (sol.status == 0).all()
    assert (sol.method == "rodas4").all()
    ref = reference_solve(m, p[0], t, rtol=1e-12, atol=1e-16, method="Radau")
    np.testing.assert_allclose(sol.y[0, :, 0], ref[:, 0], rtol=1e-5)
    np.testing.assert_allclose(sol.y[0, -1, [0, 2]], [0.7158, 0.2842], atol=1e-4)
    np.testing.assert_allclose(sol.y[0].sum(axis=1), 1.0, rtol=1e-6)  # mass conservation


def test_explicit_only_reports_failure_status_instead_of_raising() -> None:
    m = _stiff_model()
    sol = solve(
        m, m.parameter_array(2), [0.0, 40.0], options=SolverOptions(method="dopri5", max_steps=500)
    )
    assert list(sol.status) == [1, 1]  # max_steps
    assert np.isnan(sol.y[:, -1]).all()
    assert sol.status_counts() == {"max_steps": 2}


def test_blow_up_fails_one_patient_not_the_population() -> None:
    """dy/dt = a y^2 with y(0) = 1 blows up at t = 1/a: the patient with a = 1 fails at t = 1,
    the one with a = 0.1 finishes (y(5) = 1/(1 - 0.5) = 2)."""
    b = ModelBuilder("blowup_test")
    y = b.state("y", "1", initial=_const(1.0))
    a = b.parameter("a", _const(1.0))
    b.add_rate(y, a * y**2)
    m = b.build()
    sol = solve(m, m.parameter_array(2, a=np.array([1.0, 0.1])), [0.0, 0.5, 5.0])
    assert sol.status[0] != 0 and sol.status[1] == 0
    assert sol.y[0, 1, 0] == pytest.approx(2.0, rel=1e-5)
    assert np.isnan(sol.y[0, 2, 0])
    assert sol.y[1, 2, 0] == pytest.approx(2.0, rel=1e-5)


def test_rodas4_is_fourth_order_on_a_linear_problem() -> None:
    """y'' = -y (y = cos t): RODAS4's global error falls >= 100x when rtol falls 1000x
    (order 4 with error-per-step control: ~ rtol^(4/5))."""
    b = ModelBuilder("linear_test")
    y = b.state("y", "1", initial=_const(1.0), nonnegative=False)
    z = b.state("z", "1", initial=_const(0.0), nonnegative=False)
    b.add_rate(y, z)
    b.add_rate(z, -y)
    m = b.build()
    t = np.linspace(0, 10, 11)
    exact = np.cos(t)
    errs = []
    for rtol in (1e-4, 1e-7):
        sol = solve(
            m,
            m.parameter_array(1),
            t,
            options=SolverOptions(method="rodas4", rtol=rtol, atol=rtol * 1e-2),
        )
        errs.append(np.abs(sol.y[0, :, 0] - exact).max())
    assert errs[1] < errs[0] / 100
    assert errs[1] < 1e-5


def test_generated_jacobian_matches_finite_differences() -> None:
    m, p, _ = _anchor(1, seed=2)
    cm = compile_model(m)
    y = np.array([12.0, 0.3, 0.05, 0.25, 0.08, 0.9, 150.0, 40.0])
    J = cm.jac(3.0, y, p[0])
    eps = 1e-6
    for j in range(m.n_states):
        d = np.zeros(m.n_states)
        d[j] = eps * max(1.0, abs(y[j]))
        fd = (cm.rhs(3.0, y + d, p[0]) - cm.rhs(3.0, y - d, p[0])) / (2 * d[j])
        np.testing.assert_allclose(J[:, j], fd, rtol=1e-6, atol=1e-8)


def test_nan_parameter_is_rejected_with_its_name() -> None:
    m = ot.get_model("kuznetsov1994")
    p = m.parameter_array(3)
    p[1, m.parameter_index("a")] = np.nan
    with pytest.raises(ParameterError, match=r"parameter 'a' of patient 1 is nan"):
        solve(m, p, [0.0, 1.0])


def test_bad_solver_input_gets_clear_errors() -> None:
    m = ot.get_model("kuznetsov1994")
    p = m.parameter_array(2)
    with pytest.raises(SolverError, match="strictly increasing"):
        solve(m, p, [0.0, 2.0, 1.0])
    with pytest.raises(ParameterError, match=r"shape \(n_patients, 10\)"):
        solve(m, p[:, :3], [0.0, 1.0])
    with pytest.raises(SolverError, match="method='rk4' is not a solver"):
        SolverOptions(method="rk4")  # type: ignore[arg-type]
    with pytest.raises(SolverError, match="rtol"):
        SolverOptions(rtol=-1.0)
    with pytest.raises(ot.errors.UnknownNameError, match="did you mean 'T'"):
        solve(m, p, [0.0, 1.0], save=["T1"])
    with pytest.raises(SolverError, match="events are given for 5 patients"):
        solve(m, p, [0.0, 1.0], events=EventTable.empty(5))


def test_set_and_multiply_events_match_the_reference() -> None:
    """Kinds MULTIPLY (fractional kill) and SET (reset) at known times; a masked SET is
    skipped. Exponential growth y' = 0.1 y from y(0) = 1."""
    from oncotwin.solvers import MULTIPLY, SET

    b = ModelBuilder("events_test")
    y = b.state("y", "1", initial=_const(1.0))
    r = b.parameter("r", _const(0.1))
    b.add_rate(y, r * y)
    m = b.build()
    ev = EventTable.build([2.0, 5.0], [0, 0], [MULTIPLY, SET], [[0.5, 3.0], [0.5, 3.0]])
    ev = ev.masked(np.array([[True, True], [True, False]]))
    t = np.array([0.0, 2.0, 5.0, 6.0])
    sol = solve(
        m, m.parameter_array(2), t, events=ev, options=SolverOptions(rtol=1e-10, atol=1e-12)
    )
    e = np.exp
    np.testing.assert_allclose(sol.y[0, :, 0], [1, 0.5 * e(0.2), 3.0, 3.0 * e(0.1)], rtol=1e-8)
    np.testing.assert_allclose(
        sol.y[1, :, 0], [1, 0.5 * e(0.2), 0.5 * e(0.5), 0.5 * e(0.6)], rtol=1e-8
    )
    for i in range(2):
        ref = reference_solve(m, m.parameter_array(1)[0], t, events=ev, patient=i)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-8)
