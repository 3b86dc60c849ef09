"""Regimen optimisation over a virtual population, with the regulator's exposure view.

* :func:`optimise`: grid, then Bayesian optimisation of doses, intervals, durations or whole
  regimens of one trial arm for an objective over endpoints (``"pfs12 - 0.5*g3tox"``), the same
  virtual patients for every candidate (common random numbers), paired bootstrap uncertainty;
* :mod:`~oncotwin.optimize.exposure`: steady-state Cavg, Cmin, Cmax (and first-cycle values,
  target engagement) from the antibodies' population PK, with between-patient spread and
  ratios to a reference regimen.

Research simulation, not medical advice.
"""

from oncotwin.optimize.candidates import Candidate, RegimenTemplate, Vary, parse_vary
from oncotwin.optimize.exposure import (
    EXPOSURE_METRICS,
    PKInputs,
    exposure_ratios,
    exposure_summary,
    pk_inputs,
    simulate_exposure,
)
from oncotwin.optimize.objective import Objective, parse_objective
from oncotwin.optimize.search import OptimisationResult, optimise

__all__ = [
    "EXPOSURE_METRICS",
    "Candidate",
    "Objective",
    "OptimisationResult",
    "PKInputs",
    "RegimenTemplate",
    "Vary",
    "exposure_ratios",
    "exposure_summary",
    "optimise",
    "parse_objective",
    "parse_vary",
    "pk_inputs",
    "simulate_exposure",
]
