"""oncotwin: in-silico patients and in-silico clinical trials of immunotherapy in metastatic cancer.

Research simulations only: nothing oncotwin computes is medical advice.

The pipeline in one line::

    ot.Trial.from_example("checkmate067").run(patients=300).print_summary()

and its arrows, one object each::

    Model -> ParameterSet -> VirtualPopulation -> Regimen -> solve -> Solution
          -> Assessment -> TrialResult -> store / plots / report

Heavy parts (trials, pydantic, DuckDB, lifelines) load on first use.

Examples
--------
>>> import oncotwin as ot
>>> model = ot.get_model("kuznetsov1994")
>>> model.state_names
('E', 'T')
>>> ot.Regimen.parse("pembrolizumab 200 mg IV q3w x2").schedule(60).time.tolist()
[0.0, 21.0]
"""

from __future__ import annotations

import importlib
from typing import Any

from oncotwin._version import __version__
from oncotwin.citations import cite, print_citations, used_citations
from oncotwin.errors import OncotwinError
from oncotwin.models.registry import get_model, list_models
from oncotwin.parameters import Parameter, ParameterValues, Source
from oncotwin.solvers import EventTable, Solution, SolverOptions, solve

#: Public names loaded on first use -> the module that defines them.
_LAZY: dict[str, str] = {
    "Assessment": "oncotwin.trials.assessment",
    "DosingRules": "oncotwin.regimens",
    "ParameterSet": "oncotwin.parameters",
    "Regimen": "oncotwin.regimens",
    "SimulationResult": "oncotwin.simulation",
    "Trial": "oncotwin.trials.trial",
    "TrialResult": "oncotwin.trials.result",
    "VirtualPopulation": "oncotwin.population.virtual",
    "parse_regimen": "oncotwin.regimens",
    "simulate": "oncotwin.simulation",
}

__all__ = [
    "Assessment",
    "DosingRules",
    "EventTable",
    "OncotwinError",
    "Parameter",
    "ParameterSet",
    "ParameterValues",
    "Regimen",
    "SimulationResult",
    "Solution",
    "SolverOptions",
    "Source",
    "Trial",
    "TrialResult",
    "VirtualPopulation",
    "__version__",
    "cite",
    "get_model",
    "list_models",
    "parse_regimen",
    "print_citations",
    "simulate",
    "solve",
    "used_citations",
]


def __getattr__(name: str) -> Any:
    """Import a public name the first time it is used."""
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'oncotwin' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
