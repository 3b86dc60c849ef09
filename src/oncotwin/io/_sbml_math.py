"""SBML MathML (libsbml ``ASTNode``) to sympy, for :mod:`oncotwin.io.sbml_import`.

Every construct maps to an expression that the numba code generator
(:mod:`oncotwin.solvers.codegen`) prints as nopython-compatible Python, and that
:func:`sympy.lambdify` evaluates with numpy (reference solver, outputs). ``floor`` and
``ceiling`` use the private functions :class:`SbmlFloor` / :class:`SbmlCeil`, whose derivative
is zero (sympy's own ``floor`` differentiates to an unprintable ``Derivative`` in the
Jacobian). A ``piecewise`` without ``otherwise`` gets NaN as its otherwise value (SBML leaves it
undefined; sympy would print ``None``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

import sympy as sp

__all__ = ["MathContext", "SbmlCeil", "SbmlFloor", "to_bool", "to_number"]


class SbmlFloor(sp.Function):
    """``floor(x)`` with derivative 0 (almost everywhere), printable for numba and numpy."""

    nargs = 1

    @classmethod
    def eval(cls, x):  # type: ignore[override]
        if x.is_Number:
            return sp.floor(x)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    def _pythoncode(self, printer) -> str:  # used by the numba code generator
        return f"math.floor({printer._print(self.args[0])})"

    def _numpycode(self, printer) -> str:  # used by lambdify(modules="numpy")
        return f"numpy.floor({printer._print(self.args[0])})"

    _lambdacode = _pythoncode


class SbmlCeil(sp.Function):
    """``ceiling(x)`` with derivative 0 (almost everywhere), printable for numba and numpy."""

    nargs = 1

    @classmethod
    def eval(cls, x):  # type: ignore[override]
        if x.is_Number:
            return sp.ceiling(x)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    def _pythoncode(self, printer) -> str:
        return f"math.ceil({printer._print(self.args[0])})"

    def _numpycode(self, printer) -> str:
        return f"numpy.ceil({printer._print(self.args[0])})"

    _lambdacode = _pythoncode


def to_number(e: sp.Basic) -> sp.Expr:
    """A boolean used as a number is 1 or 0 (SBML L3 semantics)."""
    if e is sp.true:
        return sp.S.One
    if e is sp.false:
        return sp.S.Zero
    if _is_bool(e):
        return sp.Piecewise((sp.S.One, e), (sp.S.Zero, True))
    return e


def _is_bool(e: sp.Basic) -> bool:
    # sympy's Symbol is both an Expr and a Boolean: only non-Expr booleans are conditions
    return isinstance(e, sp.logic.boolalg.Boolean) and not isinstance(e, sp.Expr)


def to_bool(e: sp.Basic) -> sp.Basic:
    """A number used as a condition is true when non-zero."""
    if _is_bool(e):
        return e
    if e.is_Number:
        return sp.true if e != 0 else sp.false
    return sp.Ne(e, 0)


class UnsupportedMath(Exception):
    """Raised inside the walker; the importer turns it into ``SbmlUnsupportedError``."""

    def __init__(self, feature: str, fix: str = "") -> None:
        super().__init__(feature)
        self.feature = feature
        self.fix = fix


class MathContext:
    """Convert ASTNodes with a symbol table.

    Parameters
    ----------
    symbol
        Maps an SBML id (a ``ci``) to a sympy expression; raises ``KeyError`` for unknown ids.
    functions
        User function definitions: id -> (argument names, body ASTNode).
    time
        The sympy symbol of model time.
    """

    def __init__(
        self,
        symbol: Callable[[str], sp.Expr],
        functions: Mapping[str, tuple[list[str], object]],
        time: sp.Symbol,
    ) -> None:
        self.symbol = symbol
        self.functions = functions
        self.time = time

    def convert(self, node, local: Mapping[str, sp.Expr] | None = None) -> sp.Basic:
        return self._walk(node, dict(local or {}), depth=0)

    # ------------------------------------------------------------------------------ walker
    def _walk(self, node, local: dict[str, sp.Expr], depth: int) -> sp.Basic:
        import libsbml as L

        if node is None:
            raise UnsupportedMath("empty math element")
        if depth > 200:
            raise UnsupportedMath("recursive function definitions")
        t = node.getType()
        kids = [node.getChild(i) for i in range(node.getNumChildren())]

        def num(i: int) -> sp.Expr:
            return to_number(self._walk(kids[i], local, depth + 1))

        def nums() -> list[sp.Expr]:
            return [num(i) for i in range(len(kids))]

        def boo(i: int) -> sp.Basic:
            return to_bool(self._walk(kids[i], local, depth + 1))

        # numbers and constants
        if t == L.AST_INTEGER:
            return sp.Integer(node.getInteger())
        if t == L.AST_RATIONAL:
            return sp.Rational(node.getNumerator(), node.getDenominator())
        if t in (L.AST_REAL, L.AST_REAL_E):
            v = node.getReal()
            if v != v:
                return sp.nan
            if math.isfinite(v) and v.is_integer() and abs(v) < 2**53:
                return sp.Integer(int(v))  # 2.0 -> 2: x**2 prints as x*x
            return sp.Float(v)
        if t == L.AST_CONSTANT_PI:
            return sp.pi
        if t == L.AST_CONSTANT_E:
            return sp.E
        if t == L.AST_CONSTANT_TRUE:
            return sp.true
        if t == L.AST_CONSTANT_FALSE:
            return sp.false
        if t == L.AST_NAME_AVOGADRO:
            return sp.Float(node.getReal())
        if t == L.AST_NAME_TIME:
            return self.time
        if t == L.AST_NAME:
            name = node.getName()
            if name in local:
                return local[name]
            return self.symbol(name)
        if t == L.AST_FUNCTION_DELAY:
            raise UnsupportedMath("the delay() function", "remove the delay (no DDE support)")
        if t == getattr(L, "AST_FUNCTION_RATE_OF", -999):
            raise UnsupportedMath("the rateOf() csymbol")
        # arithmetic
        if t == L.AST_PLUS:
            return sp.Add(*nums()) if kids else sp.S.Zero
        if t == L.AST_TIMES:
            return sp.Mul(*nums()) if kids else sp.S.One
        if t == L.AST_MINUS:
            if len(kids) == 1:
                return -num(0)
            return num(0) - num(1)
        if t == L.AST_DIVIDE:
            return num(0) / num(1)
        if t in (L.AST_POWER, L.AST_FUNCTION_POWER):
            return sp.Pow(num(0), num(1))
        if t == L.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return sp.sqrt(num(0))
            return sp.Pow(num(1), 1 / num(0))
        if t == L.AST_FUNCTION_EXP:
            return sp.exp(num(0))
        if t == L.AST_FUNCTION_LN:
            return sp.log(num(0))
        if t == L.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return sp.log(num(0), 10)
            return sp.log(num(1), num(0))
        if t == L.AST_FUNCTION_ABS:
            return sp.Abs(num(0))
        if t == L.AST_FUNCTION_FLOOR:
            return SbmlFloor(num(0))
        if t == L.AST_FUNCTION_CEILING:
            return SbmlCeil(num(0))
        if t == L.AST_FUNCTION_FACTORIAL:
            return sp.gamma(num(0) + 1)
        if t == getattr(L, "AST_FUNCTION_MAX", -999):
            return sp.Max(*nums())
        if t == getattr(L, "AST_FUNCTION_MIN", -999):
            return sp.Min(*nums())
        trig = {
            L.AST_FUNCTION_SIN: sp.sin,
            L.AST_FUNCTION_COS: sp.cos,
            L.AST_FUNCTION_TAN: sp.tan,
            L.AST_FUNCTION_SINH: sp.sinh,
            L.AST_FUNCTION_COSH: sp.cosh,
            L.AST_FUNCTION_TANH: sp.tanh,
            L.AST_FUNCTION_ARCSIN: sp.asin,
            L.AST_FUNCTION_ARCCOS: sp.acos,
            L.AST_FUNCTION_ARCTAN: sp.atan,
            L.AST_FUNCTION_ARCSINH: sp.asinh,
            L.AST_FUNCTION_ARCCOSH: sp.acosh,
            L.AST_FUNCTION_ARCTANH: sp.atanh,
        }
        if t in trig:
            return trig[t](num(0))
        recip = {
            L.AST_FUNCTION_SEC: sp.cos,
            L.AST_FUNCTION_CSC: sp.sin,
            L.AST_FUNCTION_COT: sp.tan,
            L.AST_FUNCTION_SECH: sp.cosh,
            L.AST_FUNCTION_CSCH: sp.sinh,
            L.AST_FUNCTION_COTH: sp.tanh,
        }
        if t in recip:
            return 1 / recip[t](num(0))
        arc_recip = {
            L.AST_FUNCTION_ARCSEC: sp.acos,
            L.AST_FUNCTION_ARCCSC: sp.asin,
            L.AST_FUNCTION_ARCCOT: sp.atan,
            L.AST_FUNCTION_ARCSECH: sp.acosh,
            L.AST_FUNCTION_ARCCSCH: sp.asinh,
            L.AST_FUNCTION_ARCCOTH: sp.atanh,
        }
        if t in arc_recip:
            return arc_recip[t](1 / num(0))
        # logic and relations
        rel = {
            L.AST_RELATIONAL_EQ: sp.Eq,
            L.AST_RELATIONAL_NEQ: sp.Ne,
            L.AST_RELATIONAL_GT: sp.StrictGreaterThan,
            L.AST_RELATIONAL_GEQ: sp.GreaterThan,
            L.AST_RELATIONAL_LT: sp.StrictLessThan,
            L.AST_RELATIONAL_LEQ: sp.LessThan,
        }
        if t in rel:
            args = nums()
            if len(args) < 2:
                raise UnsupportedMath("a relational operator with fewer than two arguments")
            parts = [rel[t](a, b) for a, b in itertools.pairwise(args)]
            return sp.And(*parts)
        if t == L.AST_LOGICAL_AND:
            return sp.And(*[boo(i) for i in range(len(kids))])
        if t == L.AST_LOGICAL_OR:
            return sp.Or(*[boo(i) for i in range(len(kids))])
        if t == L.AST_LOGICAL_NOT:
            return sp.Not(boo(0))
        if t == L.AST_LOGICAL_XOR:
            out: sp.Basic = sp.false
            for i in range(len(kids)):
                b = boo(i)
                out = sp.Or(sp.And(out, sp.Not(b)), sp.And(sp.Not(out), b))
            return out
        if t == getattr(L, "AST_LOGICAL_IMPLIES", -999):
            return sp.Or(sp.Not(boo(0)), boo(1))
        if t == L.AST_FUNCTION_PIECEWISE:
            pieces = []
            n = len(kids)
            for i in range(0, n - 1, 2):
                pieces.append((num(i), boo(i + 1)))
            pieces.append((num(n - 1), sp.true) if n % 2 == 1 else (sp.nan, sp.true))
            return sp.Piecewise(*pieces)
        if t == L.AST_FUNCTION:
            name = node.getName()
            if name not in self.functions:
                raise UnsupportedMath(f"call of unknown function {name!r}")
            argnames, body = self.functions[name]
            if len(argnames) != len(kids):
                raise UnsupportedMath(
                    f"function {name!r} called with {len(kids)} arguments, defined with "
                    f"{len(argnames)}"
                )
            vals = [self._walk(k, local, depth + 1) for k in kids]
            # the body sees only its arguments (and global ids, per SBML L3 also time)
            inner = dict(zip(argnames, vals, strict=True))
            return self._walk(body, inner, depth + 1)
        name = node.getName() or node.getOperatorName() or str(t)
        raise UnsupportedMath(f"the MathML element {name!r}")


def function_definitions(model) -> dict[str, tuple[list[str], object]]:
    """``id -> (argument names, body)`` of the model's function definitions."""
    out: dict[str, tuple[list[str], object]] = {}
    for fd in model.getListOfFunctionDefinitions():
        lam = fd.getMath()
        if lam is None:
            continue
        nb = lam.getNumBvars() if hasattr(lam, "getNumBvars") else lam.getNumChildren() - 1
        args = [lam.getChild(i).getName() for i in range(nb)]
        out[fd.getId()] = (args, lam.getChild(lam.getNumChildren() - 1))
    return out
