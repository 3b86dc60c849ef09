"""Export a model, one patient's parameters and its dose events as an SBML Level 3 document.

:func:`to_sbml` writes one SBML L3V2 (or L3V1) model that any SBML simulator (libRoadRunner,
COPASI, AMICI, ...) integrates to the trajectories :func:`oncotwin.solve` gives:

* one compartment ``default_compartment`` of size 1 (dimensionless bookkeeping only);
* each state a ``species`` with ``hasOnlySubstanceUnits="true"`` (its symbol in the math is
  the amount, in the state's own unit) driven by a ``rateRule`` whose math is the model's
  sympy rate, converted node by node to MathML (no infix round trip, so ``log`` stays the
  natural log and names such as ``gamma`` or ``pi`` stay plain identifiers);
* each parameter a constant ``parameter`` with the patient's value; its unit, source,
  description, range and log-SD are in its ``notes`` and in an ``oncotwin:parameter``
  annotation;
* initial values that are expressions of parameters (e.g. ``T = T_0``) as
  ``initialAssignment``\\s, so that editing ``T_0`` in the file changes the initial state;
* each named expression (observable) a non-constant ``parameter`` with an ``assignmentRule``;
* the model's description and citations in the model ``notes``; the model time unit is
  ``day`` (a ``unitDefinition`` of 86400 s);
* the events of one patient (:class:`~oncotwin.solvers.events.EventTable`) as SBML events.

Events
------
The events of one time ``t_i > 0`` become one SBML event with trigger ``time >= t_i``
(``persistent="true"``, ``initialValue="false"``, ``useValuesFromTriggerTime="true"``). Its
assignments act per target in the event table's order, composed into one formula per target
(SBML forbids two assignments to one variable in one event): :data:`BOLUS` ``S = S + v``,
:data:`MULTIPLY` ``S = S * v``, :data:`SET` ``S = v``. An :data:`INFUSION_RATE` event adds
to a non-constant parameter ``u_<state>`` (initially 0) that is added to the state's rate
rule, i.e. ``u_S = u_S + v``. Events that change nothing (a 0 dose or rate, a factor of 1,
a NaN set: the table's per-patient mask) are left out.

Events at ``t = 0`` are folded into the initial values instead (a bolus ``S(0) = S0 + v``,
an infusion start ``u_S = v`` from the start, ...): an SBML simulator starts at time 0, and a
trigger that is already true at the start fires there only if its ``initialValue`` is false
*and* the simulator implements that rule; folding does not depend on either, and gives the
same state at ``t = 0`` as :func:`oncotwin.solve` (which reports outputs at an event time
after the event). Events before ``t = 0`` are refused.

Differences to :func:`oncotwin.solve` that SBML cannot express: the batched solver clips a
``nonnegative`` state at 0 after each accepted step (no effect unless a rate drives a state
below 0, which the shipped models do not), and it starts at the earliest of the first output
time and the first event, while the SBML model starts at ``time = 0``: compare with
``solve(..., t_out)`` where ``t_out[0] == 0`` (or pass ``t0=0``).

Examples
--------
>>> import oncotwin
>>> from oncotwin.io.sbml_export import to_sbml
>>> xml = to_sbml(oncotwin.get_model("kuznetsov1994"))
>>> "<rateRule variable=\\"T\\">" in xml
True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from oncotwin.io._sbml_ast import ANNOTATION_NS, sympy_to_ast
from oncotwin.io._sbml_build import to_sbml
from oncotwin.solvers.events import EventTable

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["ANNOTATION_NS", "sympy_to_ast", "to_sbml", "write_sbml"]


def write_sbml(
    model: Model,
    path: str | Path,
    *,
    params: np.ndarray | None = None,
    events: EventTable | None = None,
    patient: int = 0,
    level: int = 3,
    version: int = 2,
) -> Path:
    """Write :func:`to_sbml` of ``model`` to ``path`` (UTF-8); returns the path."""
    text = to_sbml(
        model, params=params, events=events, patient=patient, level=level, version=version
    )
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
