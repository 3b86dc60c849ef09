"""SBML events whose trigger and assignments call math functions (issue 13, item 4).

Source: identity with the SBML Level 3 semantics of the hand-written document below (no
paper). Before the fix, a trigger such as ``time >= exp(k)`` failed with ``NameError: name
'math' is not defined`` from a lambdified expression (sympy prints ``math.exp`` for the
``"math"`` module, whose names ``modules="math"`` imports without ``math`` itself).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("libsbml")  # third-party: python-libsbml

from oncotwin.io import read_sbml
from oncotwin.solvers import BOLUS

MATHML = 'xmlns="http://www.w3.org/1998/Math/MathML"'
TIME = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol>'


def _m(x: str) -> str:
    return f"<math {MATHML}>{x}</math>"


def _event(eid: str, trigger: str, assigns: str) -> str:
    return (
        f'<event id="{eid}" useValuesFromTriggerTime="true">'
        f'<trigger initialValue="true" persistent="true">{_m(trigger)}</trigger>'
        f"<listOfEventAssignments>{assigns}</listOfEventAssignments></event>"
    )


def _assign(var: str, x: str) -> str:
    return f'<eventAssignment variable="{var}">{_m(x)}</eventAssignment>'


#: X has rate 0 and is changed by events only; n is an event-only counter; k is constant.
#: e1: time >= exp(k) adds ln(exp(1)) = 1 to X once (t = e^2 = 7.389).
#: e2: time >= n + floor(root(2)) adds 10 to X and ceiling(1.5^2) = 3 to n: t = 1, 4, 7, 10.
DOC = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
    '<model id="m"><listOfParameters>'
    '<parameter id="X" value="0" constant="false"/>'
    '<parameter id="k" value="2" constant="true"/>'
    '<parameter id="n" value="0" constant="false"/></listOfParameters>'
    f'<listOfRules><rateRule variable="X">{_m("<cn>0</cn>")}</rateRule></listOfRules>'
    "<listOfEvents>"
    + _event(
        "e1",
        f"<apply><geq/>{TIME}<apply><exp/><ci>k</ci></apply></apply>",
        _assign(
            "X",
            "<apply><plus/><ci>X</ci><apply><ln/><apply><exp/><cn>1</cn></apply></apply></apply>",
        ),
    )
    + _event(
        "e2",
        f"<apply><geq/>{TIME}<apply><plus/><ci>n</ci><apply><floor/><apply><root/><cn>2</cn>"
        "</apply></apply></apply></apply>",
        _assign(
            "n",
            "<apply><plus/><ci>n</ci><apply><ceiling/><apply><power/><cn>1.5</cn><cn>2</cn>"
            "</apply></apply></apply>",
        )
        + _assign("X", "<apply><plus/><ci>X</ci><cn>10</cn></apply>"),
    )
    + "</listOfEvents></model></sbml>"
)


def test_trigger_and_assignments_calling_math_functions() -> None:
    """Identity with SBML semantics: e2 fires at t = 1, 4, 7, 10 (n = 0, 3, 6, 9 plus
    floor(sqrt 2) = 1) and adds 10 to X each time; e1 fires once at t = e^2 and adds 1."""
    imp = read_sbml(DOC)
    ev = imp.events(1, 12.0)
    np.testing.assert_allclose(ev.time, [1.0, 4.0, 7.0, math.exp(2.0), 10.0], rtol=1e-12)
    assert np.all(ev.kind == BOLUS)
    np.testing.assert_array_equal(ev.value, [[10.0, 10.0, 10.0, 1.0, 10.0]])
