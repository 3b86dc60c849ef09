"""A parameter set checked against a model's declared parameters (names, units, ranges)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from oncotwin.errors import ParameterError, UnknownNameError, did_you_mean
from oncotwin.parameters.core import Parameter

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["fit_to_model"]


def fit_to_model(params: Mapping[str, Parameter], model: Model, where: str) -> dict[str, Parameter]:
    """``params`` checked against ``model``'s declared parameters; errors start with ``where``.

    Every name must be a parameter of the model ("did you mean"); a unit other than the
    model's must be convertible to it with pint (the value, and its range, are then converted
    to the model's unit); the value must lie in the model's valid range.
    """
    from oncotwin.units import ureg

    declared = model.parameters.parameters
    out: dict[str, Parameter] = {}
    for key, p in params.items():
        if key not in declared:
            raise UnknownNameError(
                f"{where}: {did_you_mean(key, declared, what='parameter')} (model "
                f"{model.name!r}); rename it to one of the model's parameters or remove it"
            )
        d = declared[key]
        at = f"{where}, parameter {key!r}"
        if p.unit != d.unit:
            try:
                ratio = ureg.Quantity(ureg.parse_expression(p.unit)) / ureg.Quantity(
                    ureg.parse_expression(d.unit)
                )
                factor = float(ratio.to("dimensionless").magnitude)
            except Exception:  # pint: DimensionalityError, UndefinedUnitError, syntax errors
                raise ParameterError(
                    f"{at}: unit {p.unit!r} is not compatible with the model's unit {d.unit!r}; "
                    f'give the value in the model\'s unit: unit = "{d.unit}"'
                ) from None
            if factor != 1.0:
                p = replace(
                    p, value=p.value * factor, unit=d.unit, lower=p.lower * factor,
                    upper=p.upper * factor,
                )  # fmt: skip
        if not (d.lower <= p.value <= d.upper) or not math.isfinite(p.value):
            raise ParameterError(
                f"{at}: value {p.value} [{d.unit}] is outside the model's valid range "
                f"[{d.lower}, {d.upper}]; give a value in range"
            )
        out[key] = p
    return out
