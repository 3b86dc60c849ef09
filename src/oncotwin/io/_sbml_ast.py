"""sympy expressions -> libsbml MathML ASTs, node by node (for :mod:`oncotwin.io.sbml_export`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import sympy as sp

from oncotwin.errors import ModelError

#: XML namespace of the ``oncotwin:*`` annotations (parameter unit and source, state unit).
ANNOTATION_NS = "https://github.com/oncotwin/oncotwin/sbml-annotation/v1"

_XHTML = "http://www.w3.org/1999/xhtml"
_SID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT_MAX = 2**31 - 1


def _libsbml() -> Any:
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "SBML export needs python-libsbml; install it with `pip install python-libsbml` "
            "(or `pip install oncotwin[test]`)"
        ) from None
    return libsbml


# --------------------------------------------------------------------------- sympy -> AST
class _Unsupported(Exception):
    """A sympy construct with no SBML MathML counterpart (caught and reworded)."""


def sympy_to_ast(
    expr: sp.Basic,
    names: Mapping[str, str] | None = None,
    *,
    time_symbol: str = "t",
    level: int = 3,
    version: int = 2,
    what: str = "expression",
) -> Any:
    """Convert a sympy expression to a ``libsbml.ASTNode`` (SBML MathML), node by node.

    Parameters
    ----------
    expr
        The expression: numbers, symbols, ``+ - * / **``, ``exp``, ``log`` (natural),
        ``sqrt``, ``Abs``, ``floor``, ``ceiling``, ``Min``, ``Max``, ``Heaviside``, ``sign``,
        trigonometric and hyperbolic functions, ``Piecewise``, relations and ``And``/``Or``/
        ``Not``/``Xor``, ``pi``, ``E``, ``oo``, ``nan``, ``true``/``false``.
    names
        SBML id of each symbol name (default: the name itself).
    time_symbol
        The name of the model's time symbol; it becomes the SBML ``time`` csymbol.
    level, version
        SBML level and version (``min``/``max`` are MathML functions from L3V2 on; earlier
        they become ``piecewise``).
    what
        Words for the error message, e.g. ``"rate of state 'T'"``.

    Raises
    ------
    ModelError
        On a construct SBML cannot express, naming ``what`` and the construct.
    """
    libsbml = _libsbml()
    conv = _AstBuilder(libsbml, names or {}, time_symbol, (level, version) >= (3, 2))
    try:
        return conv.build(sp.sympify(expr))
    except _Unsupported as exc:
        raise ModelError(
            f"{what} uses {exc.args[0]}, which has no SBML MathML counterpart; rewrite it with "
            "+ - * / **, exp, log, sqrt, Abs, Min, Max, Heaviside, Piecewise or relations"
        ) from None


class _AstBuilder:
    def __init__(self, libsbml: Any, names: Mapping[str, str], time_name: str, minmax: bool):
        self.L = libsbml
        self.names = names
        self.time_name = time_name
        self.minmax = minmax
        L = libsbml
        self.functions: dict[type, int] = {
            sp.exp: L.AST_FUNCTION_EXP,
            sp.log: L.AST_FUNCTION_LN,
            sp.Abs: L.AST_FUNCTION_ABS,
            sp.floor: L.AST_FUNCTION_FLOOR,
            sp.ceiling: L.AST_FUNCTION_CEILING,
            sp.sin: L.AST_FUNCTION_SIN,
            sp.cos: L.AST_FUNCTION_COS,
            sp.tan: L.AST_FUNCTION_TAN,
            sp.sec: L.AST_FUNCTION_SEC,
            sp.csc: L.AST_FUNCTION_CSC,
            sp.cot: L.AST_FUNCTION_COT,
            sp.asin: L.AST_FUNCTION_ARCSIN,
            sp.acos: L.AST_FUNCTION_ARCCOS,
            sp.atan: L.AST_FUNCTION_ARCTAN,
            sp.sinh: L.AST_FUNCTION_SINH,
            sp.cosh: L.AST_FUNCTION_COSH,
            sp.tanh: L.AST_FUNCTION_TANH,
            sp.asinh: L.AST_FUNCTION_ARCSINH,
            sp.acosh: L.AST_FUNCTION_ARCCOSH,
            sp.atanh: L.AST_FUNCTION_ARCTANH,
        }
        self.relations: dict[type, int] = {
            sp.Eq: L.AST_RELATIONAL_EQ,
            sp.Ne: L.AST_RELATIONAL_NEQ,
            sp.Lt: L.AST_RELATIONAL_LT,
            sp.Le: L.AST_RELATIONAL_LEQ,
            sp.Gt: L.AST_RELATIONAL_GT,
            sp.Ge: L.AST_RELATIONAL_GEQ,
        }
        self.logic: dict[type, int] = {
            sp.And: L.AST_LOGICAL_AND,
            sp.Or: L.AST_LOGICAL_OR,
            sp.Not: L.AST_LOGICAL_NOT,
            sp.Xor: L.AST_LOGICAL_XOR,
        }

    # -- helpers
    def node(self, kind: int, *children: Any) -> Any:
        n = self.L.ASTNode(kind)
        for c in children:
            if n.addChild(c) != self.L.LIBSBML_OPERATION_SUCCESS:  # pragma: no cover
                raise _Unsupported(f"an expression libsbml could not assemble ({kind})")
        return n

    def number(self, value: float) -> Any:
        if math.isnan(value):
            n = self.L.ASTNode(self.L.AST_REAL)
            n.setValue(float("nan"))
            return n
        if math.isinf(value):
            n = self.L.ASTNode(self.L.AST_REAL)
            n.setValue(float(value))
            return n
        if float(value).is_integer() and abs(value) <= _INT_MAX:
            n = self.L.ASTNode(self.L.AST_INTEGER)
            n.setValue(int(value))
            return n
        n = self.L.ASTNode(self.L.AST_REAL)
        n.setValue(float(value))
        return n

    def name(self, symbol: str) -> Any:
        if symbol == self.time_name:
            n = self.L.ASTNode(self.L.AST_NAME_TIME)
            n.setName("time")
            return n
        n = self.L.ASTNode(self.L.AST_NAME)
        n.setName(self.names.get(symbol, symbol))
        return n

    def neg(self, child: Any) -> Any:
        return self.node(self.L.AST_MINUS, child)

    # -- conversion
    def build(self, e: sp.Basic) -> Any:
        L = self.L
        if isinstance(e, sp.Symbol):
            return self.name(e.name)
        if e is sp.true or e is sp.S.true:
            return L.ASTNode(L.AST_CONSTANT_TRUE)
        if e is sp.false or e is sp.S.false:
            return L.ASTNode(L.AST_CONSTANT_FALSE)
        if e is sp.pi:
            return L.ASTNode(L.AST_CONSTANT_PI)
        if e is sp.E:
            return L.ASTNode(L.AST_CONSTANT_E)
        if e in (sp.oo, -sp.oo, sp.nan, sp.zoo):
            if e is sp.zoo:
                raise _Unsupported("complex infinity (zoo), e.g. a division by zero")
            return self.number(float(e))
        if isinstance(e, sp.Integer):
            v = int(e)
            if abs(v) > _INT_MAX:
                return self.number(float(v))
            return self.number(v) if v >= 0 else self.neg(self.number(-v))
        if isinstance(e, sp.Rational):
            p, q = int(e.p), int(e.q)
            frac = self.node(
                L.AST_DIVIDE, self.build(sp.Integer(abs(p))), self.build(sp.Integer(q))
            )
            return frac if p >= 0 else self.neg(frac)
        if isinstance(e, sp.Float):
            v = float(e)
            return self.number(v) if v >= 0 else self.neg(self.number(-v))
        if isinstance(e, sp.Number):
            raise _Unsupported(f"the number {e} ({type(e).__name__})")
        if isinstance(e, sp.Add):
            return self.add(e)
        if isinstance(e, sp.Mul):
            return self.mul(e)
        if isinstance(e, sp.Pow):
            return self.pow(e)
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        if isinstance(e, sp.Min | sp.Max):
            return self.minmax_node(e)
        if isinstance(e, sp.Heaviside):
            x = e.args[0]
            h0 = e.args[1] if len(e.args) > 1 else sp.Rational(1, 2)
            return self.build(
                sp.Piecewise(
                    (1, sp.Gt(x, 0, evaluate=False)), (h0, sp.Eq(x, 0, evaluate=False)), (0, True)
                )
            )
        if isinstance(e, sp.sign):
            x = e.args[0]
            return self.build(
                sp.Piecewise(
                    (1, sp.Gt(x, 0, evaluate=False)), (-1, sp.Lt(x, 0, evaluate=False)), (0, True)
                )
            )
        if isinstance(e, sp.ITE):
            a, b, c = e.args
            return self.build(sp.Or(sp.And(a, b), sp.And(sp.Not(a), c), evaluate=False))
        if isinstance(e, sp.log) and len(e.args) == 2:  # pragma: no cover - sympy rewrites it
            return self.build(sp.log(e.args[0]) / sp.log(e.args[1]))
        for cls, kind in self.functions.items():
            if type(e) is cls:
                if len(e.args) != 1:
                    raise _Unsupported(f"{cls.__name__} with {len(e.args)} arguments")
                return self.node(kind, self.build(e.args[0]))
        for cls, kind in self.relations.items():
            if type(e) is cls:
                return self.node(kind, self.build(e.lhs), self.build(e.rhs))
        for cls, kind in self.logic.items():
            if type(e) is cls:
                return self.node(kind, *[self.build(a) for a in e.args])
        raise _Unsupported(f"the construct {type(e).__name__} ({sp.sstr(e)})")

    def add(self, e: sp.Add) -> Any:
        pos, negs = [], []
        for term in e.as_ordered_terms():
            if term.could_extract_minus_sign():
                negs.append(-term)
            else:
                pos.append(term)
        if not pos:  # -(a + b + ...)
            return self.neg(self.nary(self.L.AST_PLUS, negs))
        out = self.nary(self.L.AST_PLUS, pos)
        for term in negs:
            out = self.node(self.L.AST_MINUS, out, self.build(term))
        return out

    def nary(self, kind: int, terms: list[sp.Basic]) -> Any:
        if len(terms) == 1:
            return self.build(terms[0])
        return self.node(kind, *[self.build(t) for t in terms])

    def mul(self, e: sp.Mul) -> Any:
        coeff, factors = e.as_coeff_mul()
        sign = 1
        if coeff.is_negative:
            sign, coeff = -1, -coeff
        num: list[sp.Basic] = [] if coeff == 1 else [coeff]
        den: list[sp.Basic] = []
        for f in factors:
            base, ex = f.as_base_exp()
            if isinstance(f, sp.Pow) and ex.is_Number and ex.is_negative:
                den.append(base if ex == -1 else sp.Pow(base, -ex, evaluate=False))
            elif isinstance(f, sp.Rational) and not f.is_Integer:  # pragma: no cover
                num.append(sp.Integer(f.p))
                den.append(sp.Integer(f.q))
            else:
                num.append(f)
        top = self.nary(self.L.AST_TIMES, num) if num else self.number(1)
        out = self.node(self.L.AST_DIVIDE, top, self.nary(self.L.AST_TIMES, den)) if den else top
        return self.neg(out) if sign < 0 else out

    def pow(self, e: sp.Pow) -> Any:
        L = self.L
        base, ex = e.args
        if base is sp.E:
            return self.node(L.AST_FUNCTION_EXP, self.build(ex))
        if ex.is_Number and ex.is_negative:
            inv = base if ex == -1 else sp.Pow(base, -ex, evaluate=False)
            return self.node(L.AST_DIVIDE, self.number(1), self.build(inv))
        if ex == sp.Rational(1, 2):
            return self.node(L.AST_FUNCTION_ROOT, self.build(base))
        return self.node(L.AST_POWER, self.build(base), self.build(ex))

    def piecewise(self, e: sp.Piecewise) -> Any:
        children = []
        for value, cond in e.args:
            if cond is sp.true or cond == sp.true:
                children.append(self.build(value))  # otherwise
                break
            children += [self.build(value), self.build(cond)]
        return self.node(self.L.AST_FUNCTION_PIECEWISE, *children)

    def minmax_node(self, e: sp.Min | sp.Max) -> Any:
        if self.minmax:
            kind = self.L.AST_FUNCTION_MIN if isinstance(e, sp.Min) else self.L.AST_FUNCTION_MAX
            return self.node(kind, *[self.build(a) for a in e.args])
        # before L3V2: nested piecewise(acc, acc <= a, a), the first argument winning ties
        L = self.L
        rel = L.AST_RELATIONAL_LEQ if isinstance(e, sp.Min) else L.AST_RELATIONAL_GEQ
        acc = self.build(e.args[0])
        for a in e.args[1:]:
            nxt = self.build(a)
            cond = self.node(rel, acc.deepCopy(), nxt.deepCopy())
            acc = self.node(L.AST_FUNCTION_PIECEWISE, acc, cond, nxt)
        return acc
