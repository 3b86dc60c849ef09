"""Pharmacokinetic components: add drug-amount states and their rates through a builder.

Amount states are in mg, volumes in L, clearances in L/day, so concentrations are in mg/L.
Linear compartmental kinetics are textbook (e.g. Mager & Jusko 2001 for the linear part of
antibody disposition); the saturable elimination ``vmax C/(km + C)`` is the Michaelis-Menten
approximation of target-mediated drug disposition (TMDD) of Gibiansky et al. 2008
(doi:10.1007/s10928-008-9102-8; TMDD model of Mager & Jusko 2001,
doi:10.1023/A:1014414520282).

Examples
--------
>>> from oncotwin.models.base import ModelBuilder
>>> from oncotwin.parameters import Parameter
>>> b = ModelBuilder("pk_demo")
>>> mk = lambda v, u: Parameter(v, u, assumption=True, reason="example")
>>> CL = b.parameter("CL", mk(0.2, "L/day"))
>>> V = b.parameter("V", mk(3.0, "L"))
>>> A, _, C = one_compartment(b, "drug", CL, V)
>>> str(C)
'drug/V'
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from oncotwin.models.base import ModelBuilder

__all__ = [
    "CLOCK_AMOUNT",
    "PKSymbols",
    "dose_clock_rate",
    "one_compartment",
    "time_varying_clearance",
    "two_compartment",
]


ExprLike = sp.Expr | float


class PKSymbols(NamedTuple):
    """What a PK component made: amount states (sympy symbols) and the concentration."""

    central: sp.Symbol
    peripheral: sp.Symbol | None
    concentration: sp.Expr


def one_compartment(
    builder: ModelBuilder,
    name: str,
    CL: ExprLike,
    V: ExprLike,
    *,
    description: str = "",
) -> PKSymbols:
    """Add a one-compartment drug amount ``name`` [mg] with linear clearance.

    ``dA/dt = -CL/V A``; returns ``PKSymbols(A, None, A/V)`` (concentration in mg/L). The
    state starts at 0: doses enter through events (``builder.dose(key, A)``).
    """
    A = builder.state(name, "mg", description=description or f"{name} amount")
    CL, V = sp.sympify(CL), sp.sympify(V)
    builder.add_rate(A, -CL / V * A)
    return PKSymbols(A, None, A / V)


def two_compartment(
    builder: ModelBuilder,
    prefix: str,
    CL: ExprLike,
    Q: ExprLike,
    V1: ExprLike,
    V2: ExprLike,
    vmax: ExprLike | None = None,
    km: ExprLike | None = None,
) -> PKSymbols:
    """Add a two-compartment drug: amounts ``<prefix>_c`` and ``<prefix>_p`` [mg].

    With ``C = A_c/V1`` [mg/L]::

        dA_c/dt = -CL C - Q C + Q A_p/V2 - vmax C/(km + C)
        dA_p/dt =  Q C - Q A_p/V2

    The last term (only when ``vmax`` [mg/day] and ``km`` [mg/L] are both given) is the
    Michaelis-Menten approximation of target-mediated elimination (Gibiansky et al. 2008);
    for ``C << km`` it is linear, ``vmax/km C``. Returns
    ``PKSymbols(A_c, A_p, A_c/V1)``.
    """
    if (vmax is None) != (km is None):
        raise ValueError("give both vmax and km for target-mediated elimination, or neither")
    Ac = builder.state(f"{prefix}_c", "mg", description=f"{prefix} amount, central")
    Ap = builder.state(f"{prefix}_p", "mg", description=f"{prefix} amount, peripheral")
    CL, Q, V1, V2 = map(sp.sympify, (CL, Q, V1, V2))
    C = Ac / V1
    dist = Q * C - Q * Ap / V2
    elim = CL * C
    if vmax is not None and km is not None:
        vmax, km = sp.sympify(vmax), sp.sympify(km)
        elim = elim + vmax * C / (km + C)
    builder.add_rate(Ac, -elim - dist)
    builder.add_rate(Ap, dist)
    return PKSymbols(Ac, Ap, C)


#: Amount [mg] below which a drug counts as not yet dosed (a dose clock runs at
#: ``A/(A + this)``): a numerical device, 1 ug, far below any dose.
CLOCK_AMOUNT = sp.Rational(1, 1000)


def dose_clock_rate(amount: sp.Expr) -> sp.Expr:
    """Rate of a clock state counting the days since the first dose: ~1 while drug is in
    the body (``amount`` in mg), ~0 before the first dose and once a stopped drug has washed
    out below :data:`CLOCK_AMOUNT`."""
    return amount / (amount + CLOCK_AMOUNT)


def time_varying_clearance(tau: sp.Expr, emax: sp.Expr, t50: sp.Expr, hill: sp.Expr) -> sp.Expr:
    """Factor ``exp(E tau^h / (T50^h + tau^h))`` on clearance, ``tau`` the time since the
    first dose (the sigmoid time-varying clearance of the checkpoint antibodies, e.g. Bajaj
    et al. 2017 for nivolumab). Written piecewise so that the analytic Jacobian is finite at
    ``tau = 0`` (the derivative of ``tau^h`` is ``h tau^h / tau``, 0/0 there)."""
    frac = sp.Piecewise((tau**hill / (t50**hill + tau**hill), tau > 0), (0, True))
    return sp.exp(emax * frac)
