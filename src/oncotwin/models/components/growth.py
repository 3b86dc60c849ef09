"""Tumour growth laws as sympy expressions (rates in cells, or any size unit, per day).

The classical laws are reviewed and compared on data by Benzekry et al. 2014
(doi:10.1371/journal.pcbi.1003800); each function also names the law's original source.
Laws with a logarithm or a fractional power are written with :class:`sympy.Piecewise` so that
they are exactly 0 (not NaN) for a size ``N <= 0``.

Examples
--------
>>> import sympy as sp
>>> r, K, N = sp.symbols("r K N", positive=True)
>>> gompertz(r, K, N).subs(N, K)
0
"""

from __future__ import annotations

import sympy as sp

__all__ = ["bertalanffy", "exponential", "gompertz", "hahnfeldt", "logistic"]


ExprLike = sp.Expr | float

#: The classical von Bertalanffy exponent of the growth term.
_TWO_THIRDS = sp.Rational(2, 3)


def exponential(r: ExprLike, N: ExprLike) -> sp.Expr:
    """Exponential growth ``r N`` (Benzekry et al. 2014, eq. for the exponential model).

    Parameters
    ----------
    r
        Growth rate [1/day].
    N
        Tumour size (cells or volume).
    """
    return sp.sympify(r) * sp.sympify(N)


def logistic(r: ExprLike, K: ExprLike, N: ExprLike) -> sp.Expr:
    """Logistic growth ``r N (1 - N/K)`` (Verhulst 1838; Benzekry et al. 2014).

    Zero at ``N = 0`` and at the carrying capacity ``N = K`` (stable for ``r > 0``).
    """
    r, K, N = map(sp.sympify, (r, K, N))
    return r * N * (1 - N / K)


def gompertz(r: ExprLike, K: ExprLike, N: ExprLike) -> sp.Expr:
    """Gompertz growth ``r N log(K/N)`` for ``N > 0`` and 0 for ``N <= 0`` (Gompertz 1825).

    The limit of ``r N log(K/N)`` at ``N -> 0+`` is 0, so the Piecewise is continuous there;
    it keeps the expression finite if a solver steps to ``N = 0`` or slightly below.
    """
    r, K, N = map(sp.sympify, (r, K, N))
    return sp.Piecewise((r * N * sp.log(K / N), N > 0), (sp.Integer(0), True))


def bertalanffy(
    a: ExprLike,
    b: ExprLike,
    N: ExprLike,
    alpha: ExprLike = _TWO_THIRDS,
    beta: ExprLike = 1,
) -> sp.Expr:
    """General von Bertalanffy growth ``a N**alpha - b N**beta`` (von Bertalanffy 1957).

    ``alpha = 2/3, beta = 1`` is the classical law (growth through a surface, loss in
    proportion to the volume; Benzekry et al. 2014). Defined as 0 for ``N <= 0``.
    """
    a, b, N, alpha, beta = map(sp.sympify, (a, b, N, alpha, beta))
    return sp.Piecewise((a * N**alpha - b * N**beta, N > 0), (sp.Integer(0), True))


def hahnfeldt(
    lam: ExprLike,
    b: ExprLike,
    d: ExprLike,
    V: ExprLike,
    K: ExprLike,
) -> dict[str, sp.Expr]:
    """Tumour volume with a dynamic vascular carrying capacity (Hahnfeldt et al. 1999).

    Returns the rate terms ``{"V": -lam V log(V/K), "K": b V - d K V**(2/3)}``: Gompertzian
    growth of ``V`` towards the carrying capacity ``K``, which is stimulated by the tumour
    (``b V``) and inhibited (``d K V^(2/3)``). Both terms are 0 for ``V <= 0``.

    Parameters
    ----------
    lam
        Growth rate of the volume [1/day].
    b
        Stimulation of the carrying capacity [1/day].
    d
        Inhibition of the carrying capacity [1/(day volume^(2/3))].
    V, K
        Tumour volume and carrying capacity (same unit).
    """
    lam, b, d, V, K = map(sp.sympify, (lam, b, d, V, K))
    dv = sp.Piecewise((-lam * V * sp.log(V / K), V > 0), (sp.Integer(0), True))
    dk = sp.Piecewise((b * V - d * K * V ** sp.Rational(2, 3), V > 0), (sp.Integer(0), True))
    return {"V": dv, "K": dk}
