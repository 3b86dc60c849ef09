"""Dose and intervention events in the array form the batched kernels take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotwin.errors import RegimenError

__all__ = ["BOLUS", "INFUSION_RATE", "MULTIPLY", "SET", "EventTable"]

#: Add the value to a state (a bolus dose).
BOLUS = 0
#: Add the value to a state's zero-order input rate (infusion start: +rate, stop: -rate).
INFUSION_RATE = 1
#: Multiply a state by the value (fractional kill, e.g. a radiotherapy fraction).
MULTIPLY = 2
#: Set a state to the value (an SBML event assignment, a reset); a masked one is NaN.
SET = 3


@dataclass(frozen=True, eq=False)
class EventTable:
    """Events at known times for a whole population.

    Attributes
    ----------
    time
        ``(n_events,)`` event times [day], sorted ascending.
    state
        ``(n_events,)`` index of the state each event acts on.
    kind
        ``(n_events,)`` :data:`BOLUS`, :data:`INFUSION_RATE`, :data:`MULTIPLY` or :data:`SET`.
    value
        ``(n_patients, n_events)`` per-patient value (amount in model units, rate, factor).
        A per-patient dosing mask is a value of 0 (1 for :data:`MULTIPLY`, NaN for :data:`SET`).
    """

    time: np.ndarray
    state: np.ndarray
    kind: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls, n_patients: int) -> EventTable:
        return cls(
            np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((n_patients, 0))
        )

    @classmethod
    def build(
        cls,
        time: np.ndarray,
        state: np.ndarray,
        kind: np.ndarray,
        value: np.ndarray,
    ) -> EventTable:
        """Validate and sort (stably by time) raw event arrays."""
        time = np.asarray(time, dtype=np.float64).ravel()
        state = np.asarray(state, dtype=np.int64).ravel()
        kind = np.asarray(kind, dtype=np.int64).ravel()
        value = np.atleast_2d(np.asarray(value, dtype=np.float64))
        n = time.shape[0]
        if state.shape != (n,) or kind.shape != (n,) or value.shape[1] != n:
            raise RegimenError(
                f"event arrays disagree: {n} times, {state.shape[0]} states, {kind.shape[0]} "
                f"kinds, values of shape {value.shape}; give one column of values per event"
            )
        if not np.all(np.isfinite(time)):
            raise RegimenError("an event time is not finite; give times in days as numbers")
        bad = ~np.isfinite(value) & ~(np.isnan(value) & (kind == SET)[None, :])
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise RegimenError(
                f"event value for patient {i}, event {j} (day {time[j]}) is {value[i, j]}; "
                "give a finite dose"
            )
        bolus_neg = (kind == BOLUS) & (value < 0).any(axis=0)
        if bolus_neg.any():
            j = int(np.argmax(bolus_neg))
            raise RegimenError(
                f"negative dose at day {time[j]}; a dose amount must be >= 0 (0 skips the dose)"
            )
        if np.any((kind < BOLUS) | (kind > SET)):
            raise RegimenError(
                f"event kinds must be BOLUS (0), INFUSION_RATE (1), MULTIPLY (2) or SET (3); "
                f"got {sorted(set(kind.tolist()))}"
            )
        order = np.argsort(time, kind="stable")
        return cls(time[order], state[order], kind[order], np.ascontiguousarray(value[:, order]))

    @property
    def n_events(self) -> int:
        return int(self.time.shape[0])

    @property
    def n_patients(self) -> int:
        return int(self.value.shape[0])

    def take(self, rows: slice | np.ndarray) -> EventTable:
        """The same events for a subset of patients."""
        return EventTable(self.time, self.state, self.kind, self.value[rows])

    def active(self) -> np.ndarray:
        """``(n_patients, n_events)``: whether each event changes that patient's state (not a
        zero dose or rate, a factor of 1, or a masked (NaN) assignment)."""
        v = self.value
        return np.where(
            self.kind == MULTIPLY, v != 1.0, np.where(self.kind == SET, v == v, v != 0.0)
        )

    def masked(self, mask: np.ndarray) -> EventTable:
        """Skip events where ``mask`` (n_patients, n_events) is False."""
        mask = np.asarray(mask, dtype=bool)
        neutral = np.select([self.kind == MULTIPLY, self.kind == SET], [1.0, np.nan], 0.0)
        return EventTable(
            self.time, self.state, self.kind, np.where(mask, self.value, neutral[None, :])
        )

    def concat(self, other: EventTable) -> EventTable:
        """Both sets of events, merged by time."""
        return EventTable.build(
            np.concatenate([self.time, other.time]),
            np.concatenate([self.state, other.state]),
            np.concatenate([self.kind, other.kind]),
            np.concatenate([self.value, other.value], axis=1),
        )
