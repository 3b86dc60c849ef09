"""Batched solvers: generated numba kernels (default) and a SciPy reference."""

from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, SET, EventTable
from oncotwin.solvers.population import STATUS, Solution, SolverOptions, solve

__all__ = [
    "BOLUS",
    "INFUSION_RATE",
    "MULTIPLY",
    "SET",
    "STATUS",
    "EventTable",
    "Solution",
    "SolverOptions",
    "solve",
]
