"""Unit tests of the sympy model components (growth, killing, pharmacokinetics)."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from oncotwin.models.base import ModelBuilder
from oncotwin.models.components import (
    bertalanffy,
    exponential,
    gompertz,
    hahnfeldt,
    logistic,
    mass_action_kill,
    michaelis_menten_kill,
    one_compartment,
    ratio_dependent_kill,
    two_compartment,
)
from oncotwin.parameters import Parameter

r, K, N, a, b = sp.symbols("r K N a b", positive=True)
k, E, T, h, d, s, l = sp.symbols("k E T h d s l", positive=True)


def _p(value: float, unit: str) -> Parameter:
    return Parameter(value, unit, assumption=True, reason="unit test")


def test_exponential() -> None:
    assert exponential(r, N) == r * N


def test_logistic_equilibria() -> None:
    f = logistic(r, K, N)
    assert sp.simplify(f.subs(N, K)) == 0
    assert f.subs(N, 0) == 0
    assert sp.simplify(sp.diff(f, N).subs(N, K)) == -r  # stable at K


def test_gompertz_zeros_and_safety() -> None:
    f = gompertz(r, K, N)
    assert sp.simplify(f.subs(N, K)) == 0
    x = sp.Symbol("x", real=True)
    g = gompertz(0.1, 100.0, x)
    assert g.subs(x, 0) == 0
    assert g.subs(x, -1.0) == 0
    fn = sp.lambdify(x, g, "math")
    assert fn(0.0) == 0.0
    assert math.isclose(fn(10.0), 0.1 * 10 * math.log(10.0))
    assert fn(1e-300) == pytest.approx(0.0, abs=1e-290)  # continuous at 0+


def test_bertalanffy_equilibrium() -> None:
    f = bertalanffy(a, b, N)
    x = sp.Symbol("x", real=True)
    assert bertalanffy(1.0, 0.5, x).subs(x, 0) == 0
    n_star = (a / b) ** 3  # a N^(2/3) = b N
    assert sp.simplify(f.subs(N, n_star)) == 0
    g = bertalanffy(a, b, N, alpha=1, beta=2)
    assert sp.simplify(g - (a * N - b * N**2)) == 0


def test_hahnfeldt_terms() -> None:
    lam, bb, dd, V, KK = sp.symbols("lam bb dd V KK", positive=True)
    rates = hahnfeldt(lam, bb, dd, V, KK)
    assert set(rates) == {"V", "K"}
    assert sp.simplify(rates["V"].subs(V, KK)) == 0
    x = sp.Symbol("x", real=True)
    zero = hahnfeldt(1.0, 1.0, 1.0, x, 2.0)
    assert zero["V"].subs(x, 0) == 0 and zero["K"].subs(x, 0) == 0


def test_mass_action_and_michaelis_menten() -> None:
    assert mass_action_kill(k, E, T) == k * E * T
    f = michaelis_menten_kill(k, E, T, h)
    assert sp.limit(f, E, sp.oo) == k * T  # saturates in E
    assert sp.simplify(sp.diff(f, E).subs(E, 0) - k * T / h) == 0  # linear at low E


def test_ratio_dependent_kill() -> None:
    f = ratio_dependent_kill(d, E, T, s, l)
    ref = d * (E / T) ** l / (s + (E / T) ** l) * T
    vals = {d: 2.0, E: 3.0, T: 5.0, s: 0.7, l: 1.5}
    assert float(f.subs(vals)) == pytest.approx(float(ref.subs(vals)), rel=1e-14)
    x = sp.Symbol("x", real=True)
    assert ratio_dependent_kill(2.0, 3.0, x, 0.7, 1.5).subs(x, 0) == 0
    assert ratio_dependent_kill(2.0, 3.0, x, 0.7, 1.5).subs(x, -1) == 0
    big = float(ratio_dependent_kill(2.0, 1e12, 5.0, 0.7, 1.5))
    assert big == pytest.approx(2.0 * 5.0, rel=1e-9)  # saturates at d T


def test_one_compartment() -> None:
    b_ = ModelBuilder("pk1")
    CL = b_.parameter("CL", _p(0.2, "L/day"))
    V = b_.parameter("V", _p(3.0, "L"))
    A, per, C = one_compartment(b_, "drug", CL, V)
    assert per is None
    m = b_.build()
    assert m.states[0].unit == "mg"
    assert sp.simplify(m.rates[0] + CL * A / V) == 0
    assert sp.simplify(C - A / V) == 0


def _two_comp(tmdd: bool) -> tuple[sp.Expr, ...]:
    b_ = ModelBuilder("pk2")
    CL = b_.parameter("CL", _p(0.2, "L/day"))
    Q = b_.parameter("Q", _p(0.8, "L/day"))
    V1 = b_.parameter("V1", _p(3.0, "L"))
    V2 = b_.parameter("V2", _p(3.0, "L"))
    kw = {}
    if tmdd:
        kw = {
            "vmax": b_.parameter("vmax", _p(1.0, "mg/day")),
            "km": b_.parameter("km", _p(0.5, "mg/L")),
        }
    Ac, Ap, C = two_compartment(b_, "ab", CL, Q, V1, V2, **kw)
    m = b_.build()
    assert m.state_names == ("ab_c", "ab_p")
    assert all(st.unit == "mg" for st in m.states)
    return m.rates[0], m.rates[1], Ac, Ap, C, CL, V1, kw


def test_two_compartment_mass_balance() -> None:
    """d(Ac + Ap)/dt == -CL Ac/V1: distribution conserves the amount."""
    r_c, r_p, Ac, _, C, CL, V1, _ = _two_comp(False)
    assert sp.simplify(r_c + r_p + CL * Ac / V1) == 0
    assert sp.simplify(C - Ac / V1) == 0


def test_two_compartment_tmdd_linear_at_low_concentration() -> None:
    """The Michaelis-Menten TMDD term is linear (vmax/km C) for C << km."""
    r_c, r_p, Ac, _, _, CL, V1, kw = _two_comp(True)
    total = sp.simplify(r_c + r_p)
    vmax, km = kw["vmax"], kw["km"]
    assert sp.simplify(total + CL * Ac / V1 + vmax * (Ac / V1) / (km + Ac / V1)) == 0
    slope = sp.limit(total / Ac, Ac, 0)
    assert sp.simplify(slope + (CL + vmax / km) / V1) == 0
    # at high concentration the TMDD elimination saturates at vmax
    assert sp.limit(total + CL * Ac / V1, Ac, sp.oo) == -vmax


def test_two_compartment_needs_both_vmax_and_km() -> None:
    b_ = ModelBuilder("pk3")
    x = b_.parameter("x", _p(1.0, "L"))
    with pytest.raises(ValueError, match="vmax and km"):
        two_compartment(b_, "ab", x, x, x, x, vmax=x)
