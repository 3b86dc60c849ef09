"""Model + regimen + population -> one batched solve, dosing rules applied.

- :func:`simulate`: one model, one regimen (string or :class:`~oncotwin.regimens.Regimen`),
  one population, in one batched solve; :class:`SimulationResult` holds it with provenance.
- :func:`solve_with_rules`: the same with :class:`~oncotwin.regimens.DosingRules` applied
  (stops at progression or toxicity, maximal duration) for any model with clinical readouts;
  trials use it for every arm.
- :func:`apply_dose_rules`: a regimen's own rules (hold, reduce, stop, steroids, written in
  the regimen after a comma) decided at each dose day from the model's grades.
- :func:`regimen_dose_events` / :func:`prepare_regimen` / :func:`regimen_events`: how a
  regimen's doses reach a model.

Research simulations only: results are not medical advice.
"""

from oncotwin._constants import DISCLAIMER
from oncotwin.simulation._dosing import TRIAL_OPTIONS, DosedSolution, solve_with_rules
from oncotwin.simulation._events import (
    DoseEvents,
    prepare_regimen,
    regimen_dose_events,
    regimen_events,
)
from oncotwin.simulation._rules import RuledDosing, apply_dose_rules, reactive_rules
from oncotwin.simulation._simulate import EventSource, SimulationResult, output_times, simulate

__all__ = [
    "DISCLAIMER",
    "TRIAL_OPTIONS",
    "DoseEvents",
    "DosedSolution",
    "EventSource",
    "RuledDosing",
    "SimulationResult",
    "apply_dose_rules",
    "output_times",
    "prepare_regimen",
    "reactive_rules",
    "regimen_dose_events",
    "regimen_events",
    "simulate",
    "solve_with_rules",
]
