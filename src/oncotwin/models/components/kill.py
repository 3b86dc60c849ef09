"""Immune killing of tumour cells as sympy expressions [cells/day].

Each function returns the *loss rate* of tumour cells (a positive quantity): subtract it from
``dT/dt``. The laws and their sources:

* mass action ``k E T`` (Kuznetsov et al. 1994, doi:10.1007/BF02460644);
* saturating in the effectors ``k E T/(h + E)`` (Michaelis-Menten / Holling type II response;
  the saturating form is used for immune kill e.g. by Kirschner & Panetta 1998,
  doi:10.1007/s002850050127, there saturating in T);
* ratio-dependent ``d (E/T)^l/(s + (E/T)^l) T`` (de Pillis, Radunskaya & Wiseman 2005,
  doi:10.1158/0008-5472.CAN-05-0564, the CD8+ T-cell lysis term ``D``).

Examples
--------
>>> import sympy as sp
>>> k, E, T = sp.symbols("k E T", positive=True)
>>> mass_action_kill(k, E, T)
E*T*k
"""

from __future__ import annotations

import sympy as sp

__all__ = ["mass_action_kill", "michaelis_menten_kill", "ratio_dependent_kill"]


ExprLike = sp.Expr | float


def mass_action_kill(k: ExprLike, E: ExprLike, T: ExprLike) -> sp.Expr:
    """Mass-action kill ``k E T`` (Kuznetsov et al. 1994, the term ``n E T``).

    Parameters
    ----------
    k
        Kill rate constant [1/(cell day)].
    E, T
        Effector and tumour cells.
    """
    return sp.sympify(k) * sp.sympify(E) * sp.sympify(T)


def michaelis_menten_kill(k: ExprLike, E: ExprLike, T: ExprLike, h: ExprLike) -> sp.Expr:
    """Kill saturating in the effectors: ``k E/(h + E) T``.

    The per-tumour-cell kill rate rises linearly (``k E/h``) for ``E << h`` and saturates at
    ``k`` [1/day] for ``E >> h``; ``h`` is the effector level of half-maximal kill.
    """
    k, E, T, h = map(sp.sympify, (k, E, T, h))
    return k * E / (h + E) * T


def ratio_dependent_kill(
    d: ExprLike,
    E: ExprLike,
    T: ExprLike,
    s: ExprLike,
    l: ExprLike,  # noqa: E741
) -> sp.Expr:
    """Ratio-dependent kill ``d (E/T)^l / (s + (E/T)^l) T`` (de Pillis et al. 2005, ``D T``).

    Written as ``d E^l T / (s T^l + E^l)`` for ``T > 0`` (algebraically equal) and 0 for
    ``T <= 0``, so it stays finite when the tumour is eradicated. The kill saturates at
    ``d T`` when the effector-to-tumour ratio is large.

    Parameters
    ----------
    d
        Maximal fractional kill rate [1/day].
    E, T
        Effector and tumour cells.
    s
        Value of ``(E/T)^l`` giving half-maximal kill [1].
    l
        Exponent of the ratio [1].
    """
    d, E, T, s, l = map(sp.sympify, (d, E, T, s, l))  # noqa: E741
    return sp.Piecewise(
        (d * E**l * T / (s * T**l + E**l), (T > 0) & (E > 0)),
        (sp.Integer(0), True),
    )
