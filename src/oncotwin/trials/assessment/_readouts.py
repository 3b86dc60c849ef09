"""Model-independent clinical readouts at the scan days: what every response criterion reads."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from oncotwin.errors import OncotwinError
from oncotwin.trials.assessment._common import ORGANS

__all__ = ["READOUT_NAMES", "Readouts"]


def _frozen_copy(values) -> np.ndarray:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Readouts:
    """Clinical measurements of ``n`` patients at ``v`` scan days, built from any model.

    A criterion reads only these arrays, never a model's states, so a new model reaches every
    criterion by filling the readouts it can provide (the others stay ``None``). Checked once
    here: shapes agree, no NaN where a value must exist, sizes and fractions in range.

    Parameters
    ----------
    scan_days
        ``float[v]`` scan (assessment) days, baseline first, finite and strictly increasing.
    death_day
        ``float[n]`` day of death (``inf`` = alive through follow-up), >= 0.
    end_day
        ``float[n]`` last day of follow-up, finite and >= 0.
    new_lesion_day
        ``float[n]`` first day a new lesion is detectable (``inf`` = never), or ``None`` when
        the model has no new lesions.
    lesion_diameter_mm
        ``float[n, v, L]`` true longest diameters [mm] at each scan; NaN where a lesion does not
        exist, otherwise finite and >= 0. Not copied (a float32 or memory-mapped array is read
        one visit at a time by the criteria).
    lesion_organ
        ``int[n, L]`` organ code of each lesion (index into :data:`ORGANS`; -1 = no lesion);
        given together with ``lesion_diameter_mm``.
    tumour_burden
        ``float[n, v]`` total tumour burden at each scan (finite, >= 0; any unit), the
        M-protein proxy read by IMWG.
    marrow_blast_fraction
        ``float[n, v]`` bone-marrow blasts as a fraction of marrow cells (0..1).
    clinical_progression_day
        ``float[n]`` day of clinical (symptomatic) deterioration, a progression declared
        without a scan (``inf`` = never), or ``None``. Every criterion counts it as
        progression when it comes before the radiological one (and before death and the end
        of follow-up).

    Examples
    --------
    >>> import numpy as np
    >>> r = Readouts(scan_days=np.array([0.0, 42.0]), death_day=np.array([np.inf]),
    ...              end_day=np.array([100.0]), tumour_burden=np.array([[3.0, 1.0]]))
    >>> r.n_patients, r.n_scans, r.available()
    (1, 2, ('scan_days', 'death_day', 'end_day', 'tumour_burden'))
    >>> Readouts(scan_days=np.array([0.0, 42.0]), death_day=np.array([np.inf]),
    ...          end_day=np.array([100.0]), tumour_burden=np.array([[3.0]]))
    Traceback (most recent call last):
    ...
    oncotwin.errors.OncotwinError: Readouts.tumour_burden has shape (1, 1), expected (1, 2)...
    """

    scan_days: np.ndarray
    death_day: np.ndarray
    end_day: np.ndarray
    new_lesion_day: np.ndarray | None = None
    lesion_diameter_mm: np.ndarray | None = None
    lesion_organ: np.ndarray | None = None
    tumour_burden: np.ndarray | None = None
    marrow_blast_fraction: np.ndarray | None = None
    clinical_progression_day: np.ndarray | None = None

    def __post_init__(self) -> None:
        days = _frozen_copy(self.scan_days)
        if days.ndim != 1 or days.size < 1:
            raise OncotwinError(
                f"Readouts.scan_days has shape {days.shape}, expected (v,) with the baseline "
                "scan first, e.g. np.array([0.0, 56.0, 112.0])"
            )
        if not np.all(np.isfinite(days)) or np.any(np.diff(days) <= 0):
            raise OncotwinError(
                f"Readouts.scan_days must be finite and strictly increasing, got "
                f"{days.tolist()[:8]}; sort the scan days and drop duplicates"
            )
        object.__setattr__(self, "scan_days", days)
        death = _frozen_copy(self.death_day)
        if death.ndim != 1:
            raise OncotwinError(
                f"Readouts.death_day has shape {death.shape}, expected (n,): one day per "
                "patient (inf = alive)"
            )
        n, v = death.shape[0], days.shape[0]
        object.__setattr__(self, "death_day", self._per_patient("death_day", death, n, True))
        object.__setattr__(self, "end_day", self._per_patient("end_day", self.end_day, n, False))
        if self.new_lesion_day is not None:
            nl = self._per_patient("new_lesion_day", self.new_lesion_day, n, True)
            object.__setattr__(self, "new_lesion_day", nl)
        if self.clinical_progression_day is not None:
            cp = self.clinical_progression_day
            cp = self._per_patient("clinical_progression_day", cp, n, True)
            object.__setattr__(self, "clinical_progression_day", cp)
        if (self.lesion_diameter_mm is None) != (self.lesion_organ is None):
            given = "lesion_diameter_mm" if self.lesion_organ is None else "lesion_organ"
            raise OncotwinError(
                f"Readouts.{given} is given without its partner; pass lesion_diameter_mm "
                "(n, v, L) and lesion_organ (n, L) together, or neither"
            )
        if self.lesion_diameter_mm is not None:
            self._check_lesions(n, v)
        for name, upper in (("tumour_burden", np.inf), ("marrow_blast_fraction", 1.0)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, self._series(name, n, v, upper))

    @staticmethod
    def _per_patient(name: str, values, n: int, allow_inf: bool) -> np.ndarray:
        arr = _frozen_copy(values)
        if arr.shape != (n,):
            raise OncotwinError(
                f"Readouts.{name} has shape {arr.shape}, expected ({n},): one value per patient "
                "(n is the length of death_day)"
            )
        bad = np.isnan(arr) | (arr < 0) | (~allow_inf & np.isinf(arr))
        if bad.any():
            i = int(np.argmax(bad))
            fix = "a day >= 0, or inf for 'never'" if allow_inf else "a finite day >= 0"
            raise OncotwinError(f"Readouts.{name}[{i}] = {float(arr[i])!r} is invalid; give {fix}")
        return arr

    def _check_lesions(self, n: int, v: int) -> None:
        d = np.asarray(self.lesion_diameter_mm)
        real = np.issubdtype(d.dtype, np.floating) or np.issubdtype(d.dtype, np.integer)
        if d.ndim != 3 or d.shape[:2] != (n, v) or not real:
            raise OncotwinError(
                f"Readouts.lesion_diameter_mm has shape {d.shape} and dtype {d.dtype}, "
                f"expected numbers of shape ({n}, {v}, L): true diameters [mm] per patient, "
                "scan and lesion (NaN = no such lesion)"
            )
        bad = (d < 0) | np.isinf(d)
        if bad.any():
            i, j, k = np.argwhere(bad)[0]
            raise OncotwinError(
                f"Readouts.lesion_diameter_mm[{i}, {j}, {k}] = {float(d[i, j, k])!r} is "
                "invalid; give a finite size >= 0 mm, or NaN for a lesion that does not exist"
            )
        organ = np.asarray(self.lesion_organ)
        if organ.shape != (n, d.shape[2]) or not np.issubdtype(organ.dtype, np.integer):
            raise OncotwinError(
                f"Readouts.lesion_organ has shape {organ.shape} and dtype {organ.dtype}, "
                f"expected integers of shape ({n}, {d.shape[2]}): one organ code per patient "
                "and lesion (-1 = none)"
            )
        bad_codes = (organ >= len(ORGANS)) | (organ < -1)
        if bad_codes.any():
            raise OncotwinError(
                f"Readouts.lesion_organ holds code {int(organ[bad_codes][0])}; valid codes are "
                f"-1 (none) and 0..{len(ORGANS) - 1} ({', '.join(ORGANS)})"
            )
        object.__setattr__(self, "lesion_diameter_mm", d)
        object.__setattr__(self, "lesion_organ", organ)

    def _series(self, name: str, n: int, v: int, upper: float) -> np.ndarray:
        x = _frozen_copy(getattr(self, name))
        if x.shape != (n, v):
            raise OncotwinError(
                f"Readouts.{name} has shape {x.shape}, expected ({n}, {v}): one value per "
                "patient and scan, baseline first"
            )
        bad = ~np.isfinite(x) | (x < 0) | (x > upper)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            rng = ">= 0" if upper == np.inf else f"in 0..{upper:g} (a fraction, 0.05 for 5%)"
            raise OncotwinError(
                f"Readouts.{name}[{i}, {j}] = {float(x[i, j])!r} is invalid; give a finite "
                f"value {rng} at every scan"
            )
        return x

    @property
    def n_patients(self) -> int:
        """Number of patients ``n``."""
        return int(self.death_day.shape[0])

    @property
    def n_scans(self) -> int:
        """Number of scan days ``v``."""
        return int(self.scan_days.shape[0])

    def available(self) -> tuple[str, ...]:
        """Names of the readouts given (not ``None``), in field order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


#: Every readout name, in field order.
READOUT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Readouts))
