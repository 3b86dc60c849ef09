"""The SciPy reference solver on problems with closed-form solutions."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.errors import SolverError
from oncotwin.models.base import ModelBuilder
from oncotwin.parameters import Parameter
from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, EventTable
from oncotwin.solvers.reference import reference_solve

K = 0.3


def _decay():
    b = ModelBuilder("decay_ref")
    x = b.state("x", "mg", initial=Parameter(2.0, "mg", assumption=True, reason="test"))
    k = b.parameter("k", Parameter(K, "1/day", assumption=True, reason="test"))
    b.add_rate(x, -k * x)
    return b.build()


def _closed_form(t: np.ndarray, x0: float, t0: float, doses: list[tuple[float, float]]):
    """x(t) = x0 e^{-k(t-t0)} + sum over doses at td <= t of D e^{-k(t-td)}."""
    out = x0 * np.exp(-K * (t - t0))
    for td, amount in doses:
        out = out + np.where(t >= td, amount * np.exp(-K * (t - td)), 0.0)
    return out


def test_bolus_doses_closed_form() -> None:
    """Boluses at days 1, 5, 5 (two at once) and 10; outputs at event times are post-dose."""
    m = _decay()
    doses = [(1.0, 3.0), (5.0, 1.0), (5.0, 0.5), (10.0, 4.0)]
    ev = EventTable.build(
        [d[0] for d in doses], [0] * 4, [BOLUS] * 4, np.array([[d[1] for d in doses]])
    )
    t = np.array([0.0, 0.5, 1.0, 3.0, 5.0, 7.5, 10.0, 20.0])
    y = reference_solve(m, m.default_parameters(), t, ev)
    np.testing.assert_allclose(y[:, 0], _closed_form(t, 2.0, 0.0, doses), rtol=1e-8)


def test_start_at_first_event_and_patient_row() -> None:
    """t0 = min(first output, first event): a dose on day 0 before outputs from day 2."""
    m = _decay()
    ev = EventTable.build([0.0, 4.0], [0, 0], [BOLUS, BOLUS], np.array([[1.0, 1.0], [5.0, 0.0]]))
    t = np.array([2.0, 4.0, 8.0])
    y1 = reference_solve(m, m.default_parameters(), t, ev, patient=1)
    np.testing.assert_allclose(y1[:, 0], _closed_form(t, 2.0, 0.0, [(0.0, 5.0)]), rtol=1e-8)
    y0 = reference_solve(m, m.default_parameters(), t, ev, patient=0)
    exp0 = _closed_form(t, 2.0, 0.0, [(0.0, 1.0), (4.0, 1.0)])
    np.testing.assert_allclose(y0[:, 0], exp0, rtol=1e-8)


def test_infusion_and_multiply() -> None:
    """Zero-order infusion R on [1, 3): x -> R/k plateau; a x0.5 factor on day 5."""
    m = _decay()
    R = 2.0
    ev = EventTable.build(
        [1.0, 3.0, 5.0],
        [0, 0, 0],
        [INFUSION_RATE, INFUSION_RATE, MULTIPLY],
        np.array([[R, -R, 0.5]]),
    )
    t = np.array([0.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = reference_solve(m, m.default_parameters(), t, ev)[:, 0]
    free = 2.0 * np.exp(-K * t)
    inf3 = R / K * (1 - np.exp(-K * 2.0))  # infused amount left at day 3
    expect = free.copy()
    expect[1] += R / K * (1 - np.exp(-K * 1.0))
    expect[2] += inf3
    expect[3] += inf3 * np.exp(-K * 1.0)
    expect[4] = (free[4] + inf3 * np.exp(-K * 2.0)) * 0.5
    expect[5] = expect[4] * np.exp(-K * 1.0)
    np.testing.assert_allclose(y, expect, rtol=1e-8)


def test_radau_matches_lsoda() -> None:
    m = _decay()
    t = np.linspace(0, 10, 11)
    a = reference_solve(m, m.default_parameters(), t, method="Radau")
    np.testing.assert_allclose(a[:, 0], 2.0 * np.exp(-K * t), rtol=1e-8)


def test_bad_times() -> None:
    m = _decay()
    with pytest.raises(SolverError, match="strictly increasing"):
        reference_solve(m, m.default_parameters(), [1.0, 1.0])
