"""oncotwin: in-silico patients and in-silico clinical trials of immunotherapy in metastatic cancer.

Research simulations only: nothing oncotwin computes is medical advice.

The pipeline in one line::

    model -> parameters -> population -> regimen -> solve -> solution

Examples
--------
>>> import oncotwin as ot
>>> model = ot.get_model("kuznetsov1994")
>>> model.state_names
('E', 'T')
"""

from oncotwin._version import __version__
from oncotwin.citations import cite, print_citations, used_citations
from oncotwin.errors import OncotwinError
from oncotwin.models.registry import get_model, list_models
from oncotwin.parameters import Parameter, ParameterValues, Source
from oncotwin.solvers import EventTable, Solution, SolverOptions, solve

__all__ = [
    "EventTable",
    "OncotwinError",
    "Parameter",
    "ParameterValues",
    "Solution",
    "SolverOptions",
    "Source",
    "__version__",
    "cite",
    "get_model",
    "list_models",
    "print_citations",
    "solve",
    "used_citations",
]
