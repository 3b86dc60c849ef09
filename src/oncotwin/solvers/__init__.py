"""Batched solvers: generated C or numba kernels and a SciPy reference."""

from oncotwin.solvers.events import BOLUS, INFUSION_RATE, MULTIPLY, SET, EventTable
from oncotwin.solvers.population import STATUS, Solution, SolverOptions, solve
from oncotwin.solvers.status import SolverStatus

__all__ = [
    "BOLUS",
    "INFUSION_RATE",
    "MULTIPLY",
    "SET",
    "STATUS",
    "EventTable",
    "Solution",
    "SolverOptions",
    "SolverStatus",
    "solve",
]
