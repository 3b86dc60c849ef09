"""Reusable sympy building blocks for tumour-immune models.

Each component is a pure function of sympy symbols that returns a rate term (or a small dict
of rate terms); the pharmacokinetic components add their states and rates through a
:class:`~oncotwin.models.base.ModelBuilder` and return the symbols they made. Every law's
module registers the citation it comes from.

Examples
--------
>>> import sympy as sp
>>> from oncotwin.models.components import logistic
>>> r, K, N = sp.symbols("r K N", positive=True)
>>> logistic(r, K, N).subs(N, K)
0
"""

from oncotwin.models.components.growth import (
    bertalanffy,
    exponential,
    gompertz,
    hahnfeldt,
    logistic,
)
from oncotwin.models.components.kill import (
    mass_action_kill,
    michaelis_menten_kill,
    ratio_dependent_kill,
)
from oncotwin.models.components.pk import PKSymbols, one_compartment, two_compartment

__all__ = [
    "PKSymbols",
    "bertalanffy",
    "exponential",
    "gompertz",
    "hahnfeldt",
    "logistic",
    "mass_action_kill",
    "michaelis_menten_kill",
    "one_compartment",
    "ratio_dependent_kill",
    "two_compartment",
]
