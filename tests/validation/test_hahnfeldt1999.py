"""Validation of the Hahnfeldt et al. 1999 angiogenic-control model.

Source: Hahnfeldt P, Panigrahy D, Folkman J, Hlatky L (1999) Cancer Res 59:4770-4775, Table 1
(control fit: lambda1 = 0.192/day, b = 5.85/day, d = 8.73e-3/(mm^2 day), lambda2 = 0) and the
paper's result that untreated growth saturates where stimulation and inhibition balance,
V* = K* = (b/d)^(3/2) = 17,347 mm^3 (computed; rel. 1e-3). Antiangiogenic treatment lowers
that balance point to ((b - e g)/d)^(3/2) under a constant drug level g. The control growth
curve of the paper's figures is not reproduced here (its data were not available offline).
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.models.library import hahnfeldt1999 as hf
from oncotwin.solvers import BOLUS, EventTable, SolverOptions, solve
from oncotwin.solvers.reference import reference_solve

OPTS = SolverOptions(rtol=1e-10, atol=1e-8)


@pytest.fixture(scope="module")
def model():
    return hf.build()


def test_untreated_steady_state(model) -> None:
    """K* = V* = (b/d)^(3/2) = 17,347 mm^3 (rel. 1e-3), a stable node of the model's own
    Jacobian; a control tumour from V0 = 180 mm^3 approaches it (rel. 1e-3 by day 200)."""
    v_star = hf.steady_state()
    assert v_star == pytest.approx((5.85 / 8.73e-3) ** 1.5, rel=1e-12)
    assert v_star == pytest.approx(17347.0, rel=1e-3)
    vals = dict(zip(model.parameter_symbols, model.default_parameters(), strict=True))
    V, K, g = model.state_symbols
    point = {V: v_star, K: v_star, g: 0.0}
    rates = [float(r.subs(vals).subs(point)) for r in model.rates]
    np.testing.assert_allclose(rates, 0.0, atol=1e-9 * v_star)
    jac = np.array(model.jacobian.subs(vals).subs(point), float)
    assert np.all(np.linalg.eigvals(jac).real < 0)
    t = np.linspace(0.0, 200.0, 201)
    sol = solve(model, model.parameter_array(1), t, options=OPTS)
    assert np.all(sol.status == 0)
    assert sol["V"][0, -1] == pytest.approx(v_star, rel=1e-3)
    assert sol["K"][0, -1] == pytest.approx(v_star, rel=1e-3)
    assert np.all(np.diff(sol["V"][0]) > 0)  # monotone growth of the control tumour


def test_constant_drug_lowers_the_balance_point(model) -> None:
    """A constant drug level (clr = 0, g(0) = g) gives V* = ((b - e g)/d)^(3/2) (rel. 1e-3);
    for e g >= b the tumour regresses toward 0 (stays non-negative)."""
    e = hf.DRUGS["TNP-470"]["e"]
    levels = np.array([0.5, 2.0, 6.0])  # mg/kg; e g = 0.65, 2.6, 7.8 per day
    n = len(levels)
    params = model.parameter_array(n, clr=0.0)
    y0 = model.initial_values(params)
    y0[:, 2] = levels
    t = np.linspace(0.0, 400.0, 401)
    for i in range(n):
        y = reference_solve(model, params[i], t, rtol=1e-10, atol=1e-8, y0=y0[i])
        expect = hf.steady_state(eg=e * levels[i])
        if expect > 0:
            assert y[-1, 0] == pytest.approx(expect, rel=1e-3)
        else:
            assert y[-1, 0] < 1.0
        assert np.all(y >= 0)


def test_tnp470_schedule_slows_growth(model) -> None:
    """TNP-470 30 mg/kg (0.6 mg for a 20-g mouse) every other day from day 0: the tumour at
    day 14 is smaller than the control and larger with a lower dose (dose ordering)."""
    target = model.dose_target("anti-angiogenic")
    days = np.arange(0.0, 14.0, 2.0)
    doses = np.array([0.0, 0.3, 0.6])  # mg
    ev = EventTable.build(
        days,
        np.full(days.size, model.state_index(target.state)),
        np.full(days.size, BOLUS),
        np.outer(doses * target.scale, np.ones(days.size)),
    )
    t = np.linspace(0.0, 14.0, 141)
    sol = solve(model, model.parameter_array(3), t, events=ev, options=OPTS)
    assert np.all(sol.status == 0)
    v14 = sol["V"][:, -1]
    assert v14[0] > v14[1] > v14[2]
    auc = np.trapezoid(sol["g"], t, axis=1)
    assert np.all(np.diff(auc) > 0)


def test_batched_matches_scipy_reference(model) -> None:
    """Batched solver (rtol 1e-10) vs SciPy LSODA (rtol 1e-11) within rtol 1e-5 on four
    patients (the three drugs and control, weekly doses); every state stays non-negative."""
    n = 4
    drugs = [hf.DRUGS[k] for k in ("TNP-470", "angiostatin", "endostatin", "TNP-470")]
    params = model.parameter_array(
        n,
        e=np.array([d["e"] for d in drugs]),
        clr=np.array([d["clr"] for d in drugs]),
        V_0=np.array([180.0, 100.0, 500.0, 50.0]),
    )
    days = np.arange(0.0, 60.0, 7.0)
    ev = EventTable.build(
        days,
        np.full(days.size, model.state_index("g")),
        np.full(days.size, BOLUS),
        np.outer([30.0, 20.0, 20.0, 0.0], np.ones(days.size)),
    )
    t = np.linspace(0.0, 90.0, 91)
    sol = solve(model, params, t, events=ev, options=OPTS)
    assert np.all(sol.status == 0)
    assert np.all(sol.y >= 0)
    for i in range(n):
        ref = reference_solve(model, params[i], t, ev, patient=i, rtol=1e-11, atol=1e-9)
        np.testing.assert_allclose(sol.y[i], ref, rtol=1e-5, atol=1e-7)
