"""Parameter records: a value with its unit and its source, or a flagged assumption."""

from oncotwin.parameters.core import Parameter, ParameterValues, Source

__all__ = ["Parameter", "ParameterValues", "Source"]
