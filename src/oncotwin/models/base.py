"""Declarative models: states, sourced parameters and a symbolic right-hand side, written once.

A :class:`Model` is built with a :class:`ModelBuilder`. The right-hand side is a set of sympy
expressions, so one definition serves every backend: the batched numba solver (code generated
from the expressions), the SciPy reference solver, the analytic Jacobian for Rosenbrock steps
and, later, sensitivities for calibration.

Examples
--------
>>> from oncotwin.models.base import ModelBuilder
>>> from oncotwin.parameters import Parameter
>>> b = ModelBuilder("decay", description="first-order decay")
>>> x = b.state("x", "mg", initial=Parameter(1.0, "mg", assumption=True, reason="example"))
>>> k = b.parameter("k", Parameter(0.5, "1/day", assumption=True, reason="example"))
>>> b.add_rate(x, -k * x)
>>> m = b.build()
>>> m.state_names, m.parameter_names
(('x',), ('x_0', 'k'))
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np
import sympy as sp

from oncotwin.citations import cite
from oncotwin.errors import ModelError, ParameterError, UnknownNameError, did_you_mean
from oncotwin.parameters import Parameter, ParameterValues

__all__ = ["TIME", "DoseTarget", "Model", "ModelBuilder", "StateSpec"]

#: The model time symbol [day]; use it in a right-hand side for explicit time dependence.
TIME = sp.Symbol("t", real=True)


@dataclass(frozen=True, slots=True)
class StateSpec:
    """One state variable: name, unit, sign constraint and its initial-value expression."""

    name: str
    unit: str
    nonnegative: bool = True
    description: str = ""
    initial: sp.Expr = sp.S.Zero


@dataclass(frozen=True, slots=True)
class DoseTarget:
    """Where a dose of a drug (or of any drug of a mechanism class) enters the model.

    A dose of ``amount`` canonical units (mg, cells, IU, PFU) adds ``amount * scale`` to state
    ``state``. ``scale`` converts units, e.g. mg to the model's ``1e9 cells`` or ``ug/mL``.
    """

    state: str
    scale: float = 1.0
    description: str = ""


@runtime_checkable
class RegimenAdapter(Protocol):
    """Model-specific regimen logic that plain dose targets cannot express.

    ``handles`` names the drugs (or mechanism classes) the adapter turns into events itself
    (e.g. radiotherapy fractions on a named site); ``prepare`` returns the population's
    parameters adjusted for the regimen (e.g. the PK constants of the antibody actually
    dosed) and the extra events.
    """

    handles: frozenset[str]

    def prepare(
        self, model: Model, regimen: Any, params: np.ndarray, horizon: float
    ) -> tuple[np.ndarray, Any]: ...


@dataclass(frozen=True, eq=False)
class Model:
    """A compiled-once, declarative ODE model ``dy/dt = f(t, y, p)``.

    Build models with :class:`ModelBuilder`; do not construct this class directly.
    """

    name: str
    description: str
    states: tuple[StateSpec, ...]
    parameters: ParameterValues
    rates: tuple[sp.Expr, ...]
    expressions: Mapping[str, sp.Expr]
    dose_targets: Mapping[str, DoseTarget]
    citations: tuple[str, ...]
    time_unit: str = "day"
    expression_units: Mapping[str, str] = field(default_factory=dict)
    #: Optional model-specific regimen logic (see :class:`RegimenAdapter`).
    regimen_adapter: RegimenAdapter | None = None

    # ----------------------------------------------------------------- names and symbols
    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    @cached_property
    def state_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(n, real=True) for n in self.state_names)

    @cached_property
    def parameter_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(n, real=True) for n in self.parameter_names)

    def state_index(self, name: str) -> int:
        try:
            return self.state_names.index(name)
        except ValueError:
            raise UnknownNameError(
                did_you_mean(name, self.state_names, what="state") + f" in model {self.name!r}"
            ) from None

    def parameter_index(self, name: str) -> int:
        try:
            return self.parameter_names.index(name)
        except ValueError:
            raise UnknownNameError(
                did_you_mean(name, self.parameter_names, what="parameter")
                + f" in model {self.name!r}"
            ) from None

    @property
    def nonnegative_mask(self) -> np.ndarray:
        return np.array([s.nonnegative for s in self.states], dtype=bool)

    # --------------------------------------------------------------------- parameters
    def default_parameters(self) -> np.ndarray:
        """The parameter vector of the model's default set, shape ``(n_parameters,)``."""
        return np.array([p.value for p in self.parameters.values()], dtype=np.float64)

    def parameter_array(self, n_patients: int = 1, **overrides: float | np.ndarray) -> np.ndarray:
        """Parameters as a ``(n_patients, n_parameters)`` array, defaults with overrides.

        Each override is a scalar or a length-``n_patients`` array; names are checked.
        """
        arr = np.tile(self.default_parameters(), (n_patients, 1))
        for name, value in overrides.items():
            arr[:, self.parameter_index(name)] = value
        self.check_parameters(arr)
        return arr

    def check_parameters(self, params: np.ndarray) -> np.ndarray:
        """Validate a parameter array; raise :class:`ParameterError` naming the bad entry."""
        params = np.asarray(params, dtype=np.float64)
        if params.ndim != 2 or params.shape[1] != self.n_parameters:
            raise ParameterError(
                f"parameters for model {self.name!r} must have shape (n_patients, "
                f"{self.n_parameters}) in the order {list(self.parameter_names)}; "
                f"got shape {params.shape}"
            )
        bad = ~np.isfinite(params)
        if bad.any():
            pat, col = map(int, np.argwhere(bad)[0])
            raise ParameterError(
                f"parameter {self.parameter_names[col]!r} of patient {pat} is "
                f"{params[pat, col]}; give a finite number "
                f"(default {self.parameters[self.parameter_names[col]].value})"
            )
        lo = np.array([p.lower for p in self.parameters.values()])
        hi = np.array([p.upper for p in self.parameters.values()])
        out = (params < lo) | (params > hi)
        if out.any():
            pat, col = map(int, np.argwhere(out)[0])
            name = self.parameter_names[col]
            rec = self.parameters[name]
            raise ParameterError(
                f"parameter {name!r} of patient {pat} is {params[pat, col]} [{rec.unit}], "
                f"outside its valid range [{rec.lower}, {rec.upper}]; give a value in range"
            )
        return params

    def initial_values(self, params: np.ndarray) -> np.ndarray:
        """Initial states ``(n_patients, n_states)`` from the initial-value expressions."""
        from oncotwin.solvers.population import initial_values

        params = self.check_parameters(np.atleast_2d(params))
        return initial_values(self, params)

    # ----------------------------------------------------------------- symbolic views
    @cached_property
    def jacobian(self) -> sp.Matrix:
        """The analytic Jacobian ``df/dy`` (sympy matrix, n_states x n_states)."""
        return sp.Matrix(self.rates).jacobian(sp.Matrix(self.state_symbols))

    def uses_time(self) -> bool:
        return any(TIME in r.free_symbols for r in self.rates)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the model's equations and names (keys the compiled-code cache)."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        h.update(repr(self.state_names).encode())
        h.update(repr(self.parameter_names).encode())
        for r in self.rates:
            h.update(sp.srepr(r).encode())
        for s in self.states:
            h.update(sp.srepr(s.initial).encode())
        for k, e in self.expressions.items():
            h.update(k.encode() + sp.srepr(e).encode())
        return h.hexdigest()[:16]

    def dose_target(self, drug: str, mechanism: str | None = None) -> DoseTarget:
        """Where ``drug`` (or, failing that, its ``mechanism`` class) is dosed in this model."""
        for key in (drug, drug.lower(), mechanism):
            if key is not None and key in self.dose_targets:
                return self.dose_targets[key]
        accepted = ", ".join(sorted(self.dose_targets)) or "none (this model takes no doses)"
        raise UnknownNameError(
            f"model {self.name!r} has no dose target for drug {drug!r}"
            + (f" (mechanism {mechanism!r})" if mechanism else "")
            + f"; it accepts: {accepted}"
        )

    def use_citations(self) -> None:
        """Mark this model's papers (and its parameters' sources) as used by the run."""
        cite(*self.citations, *self.parameters.citation_keys())

    def equations(self) -> str:
        """The model's equations as text, generated from the definition (for docs)."""
        lines = [f"Model {self.name}: {self.description}", ""]
        for s, r in zip(self.states, self.rates, strict=True):
            lines.append(f"d{s.name}/dt = {sp.sstr(r)}    [{s.unit}/{self.time_unit}]")
        if self.expressions:
            lines.append("")
            for k, e in self.expressions.items():
                lines.append(f"{k} = {sp.sstr(e)}")
        lines.append("")
        for s in self.states:
            lines.append(f"{s.name}(0) = {sp.sstr(s.initial)}")
        return "\n".join(lines)

    def parameter_table(self) -> list[dict[str, object]]:
        """One row per parameter: name, value, unit, provenance, description, log-SD."""
        return [
            {
                "name": n,
                "value": p.value,
                "unit": p.unit,
                "source": p.provenance,
                "log_sd": p.log_sd,
                "description": p.description,
            }
            for n, p in self.parameters.items()
        ]

    def __repr__(self) -> str:
        return (
            f"Model({self.name!r}, states={list(self.state_names)}, "
            f"n_parameters={self.n_parameters})"
        )


class ModelBuilder:
    """Assemble a :class:`Model` from states, parameters and additive rate terms.

    Components (growth laws, killing, PK) are functions that take the builder's symbols and
    return sympy expressions, or that call :meth:`add_rate` themselves, so pieces compose by
    adding terms to the same state.
    """

    def __init__(self, name: str, *, description: str = "", citations: Sequence[str] = ()) -> None:
        if not name.isidentifier():
            raise ModelError(f"model name {name!r} must be an identifier like 'kuznetsov1994'")
        self.name = name
        self.description = description
        self.citations = tuple(citations)
        self._states: dict[str, StateSpec] = {}
        self._rates: dict[str, sp.Expr] = {}
        self._params: dict[str, Parameter] = {}
        self._exprs: dict[str, sp.Expr] = {}
        self._expr_units: dict[str, str] = {}
        self._doses: dict[str, DoseTarget] = {}
        self._symbols: dict[str, sp.Symbol] = {}
        #: Model-specific regimen logic handed to the built model (optional).
        self.regimen_adapter: RegimenAdapter | None = None

    def _new_symbol(self, name: str) -> sp.Symbol:
        if not name.isidentifier() or name == "t":
            raise ModelError(f"{name!r} is not a valid symbol name in model {self.name!r}")
        if name in self._symbols:
            raise ModelError(f"symbol {name!r} is defined twice in model {self.name!r}")
        sym = sp.Symbol(name, real=True)
        self._symbols[name] = sym
        return sym

    def parameter(self, name: str, record: Parameter) -> sp.Symbol:
        """Declare a parameter; returns its symbol."""
        if not isinstance(record, Parameter):
            raise ModelError(f"parameter {name!r} must be a Parameter record with unit and source")
        sym = self._new_symbol(name)
        self._params[name] = record
        return sym

    def state(
        self,
        name: str,
        unit: str,
        *,
        initial: Parameter | sp.Expr | float = 0.0,
        nonnegative: bool = True,
        description: str = "",
    ) -> sp.Symbol:
        """Declare a state. A :class:`Parameter` initial value becomes parameter ``<name>_0``."""
        sym = self._new_symbol(name)
        if isinstance(initial, Parameter):
            init: sp.Expr = self.parameter(f"{name}_0", initial)
        else:
            init = sp.sympify(initial)
        self._states[name] = StateSpec(name, unit, nonnegative, description, init)
        self._rates[name] = sp.Integer(0)
        return sym

    def expression(self, name: str, expr: sp.Expr, *, unit: str = "") -> sp.Symbol:
        """Name an intermediate expression (observable); returns a symbol usable in rates."""
        sym = self._new_symbol(name)
        self._exprs[name] = sp.sympify(expr)
        self._expr_units[name] = unit
        return sym

    def add_rate(self, state: sp.Symbol | str, term: sp.Expr) -> None:
        """Add ``term`` to d(state)/dt."""
        key = str(state)
        if key not in self._states:
            raise ModelError(did_you_mean(key, self._states, what="state"))
        self._rates[key] = self._rates[key] + sp.sympify(term)

    def dose(
        self, key: str, state: sp.Symbol | str, *, scale: float = 1.0, description: str = ""
    ) -> None:
        """Doses of drug ``key`` (a drug name or a mechanism class such as ``"anti-PD-1"``)
        enter ``state``, multiplied by ``scale`` (unit conversion)."""
        if str(state) not in self._states:
            raise ModelError(did_you_mean(str(state), self._states, what="state"))
        if not math.isfinite(scale) or scale <= 0:
            raise ModelError(f"dose scale for {key!r} must be a positive number, got {scale}")
        self._doses[key] = DoseTarget(str(state), float(scale), description)

    def build(self) -> Model:
        """Resolve named expressions, check every symbol is defined, return the Model."""
        # substitute named expressions (in definition order; later may use earlier)
        subs: dict[sp.Symbol, sp.Expr] = {}
        resolved: dict[str, sp.Expr] = {}
        for name, expr in self._exprs.items():
            e = expr.xreplace(subs)
            resolved[name] = e
            subs[self._symbols[name]] = e
        state_syms = [self._symbols[s] for s in self._states]
        param_syms = [self._symbols[p] for p in self._params]
        allowed = set(state_syms) | set(param_syms) | {TIME}
        rates = []
        for sname in self._states:
            r = sp.sympify(self._rates[sname]).xreplace(subs)
            unknown = r.free_symbols - allowed
            if unknown:
                raise ModelError(
                    f"rate of state {sname!r} in model {self.name!r} uses undefined symbols "
                    f"{sorted(map(str, unknown))}"
                )
            rates.append(r)
        states = []
        for spec in self._states.values():
            init = spec.initial.xreplace(subs)
            if init.free_symbols - set(param_syms):
                raise ModelError(
                    f"initial value of {spec.name!r} may use parameters only, got {sp.sstr(init)}"
                )
            states.append(StateSpec(spec.name, spec.unit, spec.nonnegative, spec.description, init))
        if not states:
            raise ModelError(f"model {self.name!r} has no states")
        for n, p in self._params.items():
            if not (p.lower <= p.value <= p.upper):
                raise ParameterError(
                    f"default of parameter {n!r} ({p.value}) is outside [{p.lower}, {p.upper}]"
                )
        return Model(
            name=self.name,
            description=self.description,
            states=tuple(states),
            parameters=ParameterValues(self.name, dict(self._params)),
            rates=tuple(rates),
            expressions=resolved,
            dose_targets=dict(self._doses),
            citations=self.citations,
            expression_units=dict(self._expr_units),
            regimen_adapter=self.regimen_adapter,
        )
