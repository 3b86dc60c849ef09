"""Parameter records (a value with its unit and its source, or a flagged assumption) and
parameter sets (named, composable records loaded from data files, see
:mod:`oncotwin.parameters.paramset`)."""

from oncotwin.parameters.core import Parameter, ParameterValues, Source
from oncotwin.parameters.paramset import ParameterSet, list_parameter_sets

__all__ = ["Parameter", "ParameterSet", "ParameterValues", "Source", "list_parameter_sets"]
