"""Per-patient status codes of a batched solve: one definition for every backend."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["STATUS", "SolverStatus"]


class SolverStatus(IntEnum):
    """Outcome of one patient's solve (the ``status`` array of a :class:`Solution`).

    The numba kernels and the C kernels write these integer values; :attr:`label` is the
    name used in tables (``Solution.to_frame``, ``status_counts``).
    """

    #: every output time reached
    SUCCESS = 0
    #: the step budget (``SolverOptions.max_steps``) ran out
    MAX_STEPS = 1
    #: the step size fell below ``1e-14 * max(1, |t|)``
    STEP_SIZE_UNDERFLOW = 2
    #: a state or derivative became NaN or infinite
    NON_FINITE = 3
    #: detected stiff on the explicit path (the driver re-solves with RODAS4)
    STIFF = 4
    #: not run (the initial value of the status array)
    NOT_RUN = 5

    @property
    def label(self) -> str:
        """Lower-case name used in tables, e.g. ``"success"``, ``"max_steps"``."""
        return self.name.lower()


#: ``{code: label}`` mapping of :class:`SolverStatus` (kept for compatibility).
STATUS: dict[int, str] = {int(s): s.label for s in SolverStatus}
