"""The typed result of every response criterion: :class:`Assessment` (alias ``RecistResult``)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from oncotwin.errors import OncotwinError

__all__ = ["CR", "NE", "PD", "PR", "RESPONSE_CODES", "SD", "Assessment", "RecistResult"]

#: Response names; a response array holds the index into this tuple.
RESPONSE_CODES: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NE")
CR, PR, SD, PD, NE = range(5)

#: ``Assessment.measure`` of RECIST 1.1 / iRECIST (the only one shown as ``sum_diameters_mm``).
_SLD = "sum of target diameters [mm]"


@dataclass(frozen=True, eq=False)
class Assessment:
    """Per-visit and per-patient response assessment of one population (arrays, read-only).

    Per visit (``[n_pat, n_visits]``): ``response`` (codes into :data:`RESPONSE_CODES`),
    ``scanned`` (scan done), ``sum_diameters`` (the criterion's measure, see ``measure``),
    ``pct_change_baseline``, ``pct_change_nadir`` (against the nadir *before* that scan),
    ``new_lesion`` (a new lesion seen at or before that scan). NaN / NE where no scan was done.

    Per patient (``[n_pat]``): ``best_response`` (code), ``best_detail`` (finer name, e.g.
    ``"VGPR"`` under IMWG; else the same as ``best_response``), ``confirmed``,
    ``best_pct_change`` (most negative % change from baseline; NaN without a post-baseline
    scan), ``response_day`` (first scan of the (confirmed) response; NaN), ``progression_day``
    (first PD scan, or the iUPD day of a confirmed/unresolved iRECIST progression; inf if none),
    ``pfs_days``/``pfs_event``, ``dor_days``/``dor_event`` (responders; NaN/False otherwise),
    ``os_days``/``os_event``, ``n_targets`` and ``pseudoprogression`` (iRECIST only).
    """

    criteria: str
    measure: str
    patient_ids: np.ndarray
    visit_days: np.ndarray
    response: np.ndarray
    scanned: np.ndarray
    sum_diameters: np.ndarray
    pct_change_baseline: np.ndarray
    pct_change_nadir: np.ndarray
    new_lesion: np.ndarray
    best_response: np.ndarray
    best_detail: np.ndarray
    confirmed: np.ndarray
    best_pct_change: np.ndarray
    response_day: np.ndarray
    progression_day: np.ndarray
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    dor_days: np.ndarray
    dor_event: np.ndarray
    os_days: np.ndarray
    os_event: np.ndarray
    n_targets: np.ndarray
    pseudoprogression: np.ndarray

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def n_patients(self) -> int:
        """Number of patients assessed."""
        return int(self.best_response.shape[0])

    @property
    def best_response_names(self) -> np.ndarray:
        """Best overall response as strings (``"CR"``, ..., ``"NE"``)."""
        return np.asarray(RESPONSE_CODES)[self.best_response]

    def to_frames(self, arm: str | np.ndarray, patient_ids: np.ndarray | None = None):
        """Return ``(outcomes_partial, visits)`` DataFrames with the contract's column names.

        Parameters
        ----------
        arm
            The arm name of every patient, or one name per patient.
        patient_ids
            Global patient ids; default the ``patient_ids`` the assessment was given.

        Returns
        -------
        outcomes_partial : pandas.DataFrame
            One row per patient: ``patient_id, arm, best_response, confirmed, best_pct_change,
            response_day, dor_days, dor_event, pfs_days, pfs_event, os_days, os_event`` (the
            toxicity and subgroup columns of ``outcomes`` are added by other parts).
        visits : pandas.DataFrame
            One row per patient and scan done: ``patient_id, arm, visit, day,
            sum_diameters_mm, pct_change_baseline, pct_change_nadir, new_lesion, response``,
            then ``measure`` and ``measure_value`` (the criterion's own measure; for RECIST
            equal to ``sum_diameters_mm``, which is NaN under the other criteria).
        """
        import pandas as pd

        n = self.n_patients
        pid = self.patient_ids if patient_ids is None else np.asarray(patient_ids)
        if pid.shape != (n,):
            raise OncotwinError(
                f"to_frames: patient_ids has shape {pid.shape}, expected ({n},); pass one id "
                "per assessed patient or leave it out to use the ids given to the assessment"
            )
        arms = np.asarray(arm, dtype=object)
        if arms.ndim == 0:
            arms = np.full(n, arm, dtype=object)
        elif arms.shape != (n,):
            raise OncotwinError(
                f"to_frames: arm has shape {arms.shape}, expected a string or ({n},) names"
            )
        outcomes = pd.DataFrame(
            {
                "patient_id": pid.astype(np.int64),
                "arm": arms,
                "best_response": self.best_response_names.astype(object),
                "confirmed": self.confirmed,
                "best_pct_change": self.best_pct_change,
                "response_day": self.response_day,
                "dor_days": self.dor_days,
                "dor_event": self.dor_event,
                "pfs_days": self.pfs_days,
                "pfs_event": self.pfs_event,
                "os_days": self.os_days,
                "os_event": self.os_event,
            }
        )
        rows, visit = np.nonzero(self.scanned)
        is_sld = self.measure == _SLD
        visits = pd.DataFrame(
            {
                "patient_id": pid.astype(np.int64)[rows],
                "arm": arms[rows],
                "visit": visit.astype(np.int64),
                "day": self.visit_days[visit],
                "sum_diameters_mm": (
                    self.sum_diameters[rows, visit] if is_sld else np.full(rows.size, np.nan)
                ),
                "pct_change_baseline": self.pct_change_baseline[rows, visit],
                "pct_change_nadir": self.pct_change_nadir[rows, visit],
                "new_lesion": self.new_lesion[rows, visit],
                "response": np.asarray(RESPONSE_CODES, dtype=object)[self.response[rows, visit]],
                "measure": np.full(rows.size, self.measure, dtype=object),
                "measure_value": self.sum_diameters[rows, visit],
            }
        )
        return outcomes, visits


#: The former name of :class:`Assessment` (kept so existing imports work).
RecistResult = Assessment
