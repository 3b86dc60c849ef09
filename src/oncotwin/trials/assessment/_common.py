"""Shared steps of every response criterion: input checks, reader noise, visits, endpoints.

Reader noise. A measured size is ``true * max(0, 1 + noise_cv * z)`` with ``z`` standard
normal. ``noise_cv = 0.05`` is an assumption (reader variability of a few percent; repeat-scan
studies report wider limits for single small lesions). ``z`` comes from
:func:`oncotwin._random.keyed_normals`: ``splitmix64`` (Steele, Lea & Flood 2014) hashes of
``(seed, patient_id, visit, lesion, stream)`` mapped to a uniform in (0, 1) and through the
normal quantile function. A patient's noise therefore depends on ``(seed, patient_id)`` alone,
never on how the population is split into chunks.

Death is a PFS event whenever it happens before the end of follow-up (no censoring for missed
scans).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from oncotwin._organs import ORGAN_TABLE, RECIST_NAMES
from oncotwin._random import keyed_normals, patient_keys
from oncotwin.errors import OncotwinError, ParameterError
from oncotwin.trials.assessment._result import CR, NE, PD, PR, RESPONSE_CODES, SD, Assessment

__all__ = ["ORGANS", "reader_normals"]

#: Organ codes of ``lesion_organ`` (index = code; -1 = no lesion): the RECIST names of the one
#: organ table (:mod:`oncotwin._organs`). Data contract, section 1.
ORGANS: tuple[str, ...] = RECIST_NAMES
_NODE = next(o.code for o in ORGAN_TABLE if o.nodal)

#: Tolerance of the percentage thresholds (so that exactly -30% or +20% meets them).
_EPS = 1e-9

# --------------------------------------------------------------------------------------------
# reader noise: counter-based normals
# --------------------------------------------------------------------------------------------


def reader_normals(
    seed: int, patient_ids: np.ndarray, visit: int, n_cols: int, *, stream: int = 0
) -> np.ndarray:
    """Reader-noise standard normals for ``patient_ids`` at one visit, ``[n_pat, n_cols]``.

    Each number is a pure function of ``(seed, patient_id, visit, column, stream)``, so a
    patient gets the same noise whichever chunk it is assessed in.

    Examples
    --------
    >>> import numpy as np
    >>> a = reader_normals(7, np.array([3, 4, 5]), 2, 4)
    >>> b = reader_normals(7, np.array([5]), 2, 4)
    >>> bool(np.array_equal(a[2], b[0]))
    True
    """
    pid = _check_ids(patient_ids, None)
    return keyed_normals(patient_keys(seed, pid), visit, n_cols, stream)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_ids(patient_ids, n_pat: int | None) -> np.ndarray:
    pid = np.asarray(patient_ids)
    if pid.ndim != 1 or (n_pat is not None and pid.shape[0] != n_pat):
        raise OncotwinError(
            f"patient_ids has shape {pid.shape}, expected ({n_pat if n_pat is not None else 'n'},)"
            ": pass the global index (0..N-1) of every patient, e.g. np.arange(n_pat) + offset"
        )
    if pid.size and (not np.issubdtype(pid.dtype, np.integer) or pid.min() < 0):
        raise OncotwinError(
            f"patient_ids must be non-negative integers, got dtype {pid.dtype} "
            f"(min {pid.min()}); pass the global patient index of the run"
        )
    return pid.astype(np.int64)


def _check_visit_days(visit_days) -> np.ndarray:
    days = np.array(visit_days, dtype=np.float64)  # a copy: the result freezes it
    if days.ndim != 1 or days.size < 1:
        raise OncotwinError(
            f"visit_days has shape {days.shape}, expected (n_visits,) with the baseline scan "
            "first, e.g. np.array([0.0, 56.0, 112.0])"
        )
    if not np.all(np.isfinite(days)) or np.any(np.diff(days) <= 0):
        raise OncotwinError(
            f"visit_days must be finite and strictly increasing, got {days.tolist()[:8]}; "
            "sort the scan days and drop duplicates (baseline scan first)"
        )
    return days


def _check_per_patient(name: str, values, n_pat: int, *, allow_inf: bool) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n_pat,):
        raise OncotwinError(f"{name} has shape {arr.shape}, expected ({n_pat},): one per patient")
    bad = np.isnan(arr) | (arr < 0) | (~allow_inf & np.isinf(arr))
    if bad.any():
        i = int(np.argmax(bad))
        fix = "a day >= 0 or inf for 'never'" if allow_inf else "a finite day >= 0"
        raise OncotwinError(f"{name}[{i}] = {float(arr[i])!r} is invalid; give {fix}")
    return arr


def _check_options(noise_cv: float, detection_limit_mm: float = 0.0) -> None:
    if not (np.isfinite(noise_cv) and noise_cv >= 0):
        raise ParameterError(
            f"noise_cv = {noise_cv!r} is invalid; give a coefficient of variation >= 0 "
            "(e.g. 0.05 for 5% reader noise, 0 for exact reads)"
        )
    if not (np.isfinite(detection_limit_mm) and detection_limit_mm >= 0):
        raise ParameterError(
            f"detection_limit_mm = {detection_limit_mm!r} is invalid; give a size >= 0 mm"
        )


# --------------------------------------------------------------------------------------------
# shared steps: scan schedule, reading, best response and time-to-event endpoints
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Common:
    days: np.ndarray
    pid: np.ndarray
    keys: np.ndarray
    new_day: np.ndarray
    death: np.ndarray
    end: np.ndarray
    can_scan: np.ndarray  # [n_pat, n_vis]: within follow-up and alive


def _common(visit_days, n_pat, new_lesion_day, death_day, end_day, seed, patient_ids):
    days = _check_visit_days(visit_days)
    pid = _check_ids(patient_ids, n_pat)
    if new_lesion_day is None:
        new_day = np.full(n_pat, np.inf)
    else:
        new_day = _check_per_patient("new_lesion_day", new_lesion_day, n_pat, allow_inf=True)
    death = _check_per_patient("death_day", death_day, n_pat, allow_inf=True)
    end = _check_per_patient("end_day", end_day, n_pat, allow_inf=False)
    if int(seed) != seed:
        raise ParameterError(f"seed = {seed!r} is invalid; give an integer (the run seed)")
    can_scan = (days[None, :] <= end[:, None]) & (days[None, :] < death[:, None])
    can_scan[:, 0] = True  # the baseline scan is always there
    return _Common(days, pid, patient_keys(seed, pid), new_day, death, end, can_scan)


def _read(true: np.ndarray, z: np.ndarray, noise_cv: float, limit: float) -> np.ndarray:
    """Reader's measurement of true sizes: 0 below ``limit``, multiplicative noise, >= 0."""
    with np.errstate(invalid="ignore"):
        measured = true * np.maximum(0.0, 1.0 + noise_cv * z)
        return np.where(true < limit, 0.0, measured)


def _pct(value: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """100 * (value / reference - 1); NaN where the reference is 0 or NaN."""
    ok = np.isfinite(reference) & (reference > 0)
    out = np.full(value.shape, np.nan)
    np.divide(value - reference, reference, out=out, where=ok)
    return out * 100.0


@dataclass
class _Visits:
    response: np.ndarray
    scanned: np.ndarray
    measure: np.ndarray
    pct_base: np.ndarray
    pct_nadir: np.ndarray
    new: np.ndarray

    @classmethod
    def empty(cls, n_pat: int, n_vis: int) -> _Visits:
        nan = np.full((n_pat, n_vis), np.nan)
        return cls(
            np.full((n_pat, n_vis), NE, dtype=np.int8),
            np.zeros((n_pat, n_vis), dtype=bool),
            nan.copy(),
            nan.copy(),
            nan,
            np.zeros((n_pat, n_vis), dtype=bool),
        )

    def record(
        self,
        v: int,
        active: np.ndarray,
        response: np.ndarray,
        measure: np.ndarray,
        has_targets: np.ndarray,
        pct_base: np.ndarray,
        nadir: np.ndarray,
        new: np.ndarray,
    ) -> None:
        """Store visit ``v`` of a lesion criterion; NE / NaN where no scan was done."""
        self.response[:, v] = np.where(active, response, NE)
        self.scanned[:, v] = active
        self.measure[:, v] = np.where(active & has_targets, measure, np.nan)
        self.pct_base[:, v] = np.where(active, pct_base, np.nan)
        self.pct_nadir[:, v] = np.where(active, _pct(measure, nadir), np.nan)
        self.new[:, v] = active & new


@dataclass
class _Progression:
    """Which patients progressed (and stopped being assessed), and on which day (inf: never)."""

    stopped: np.ndarray
    day: np.ndarray

    @classmethod
    def none(cls, n_pat: int) -> _Progression:
        return cls(np.zeros(n_pat, dtype=bool), np.full(n_pat, np.inf))

    def first_pd(self, active: np.ndarray, response: np.ndarray, day: float) -> None:
        """A PD at a scan of an active patient is progression on ``day``; assessment stops."""
        first = active & (response == PD)
        self.day = np.where(first, day, self.day)
        self.stopped |= first


def _measure_lesions(
    d: np.ndarray,
    v: int,
    common: _Common,
    exists: np.ndarray,
    *,
    stream: int,
    noise_cv: float,
    limit: float,
) -> np.ndarray:
    """The reader's sizes [mm] of every lesion at visit ``v``; 0 for a lesion that never was."""
    z = keyed_normals(common.keys, v, d.shape[2], stream=stream)
    measured = _read(_visit_slice(d, v), z, noise_cv, limit)
    return np.where(exists, np.nan_to_num(measured, nan=0.0), 0.0)


def _confirmed_at(days: np.ndarray, hit: np.ndarray, confirm_min_days: float) -> np.ndarray:
    """True at a visit whose ``hit`` holds at every scan up to one >= ``confirm_min_days`` later."""
    n_vis = hit.shape[1]
    out = np.zeros_like(hit)
    for v in range(1, n_vis):
        later = np.nonzero((days >= days[v] + confirm_min_days) & (np.arange(n_vis) > v))[0]
        if later.size:
            out[:, v] = hit[:, v : later[0] + 1].all(axis=1)
    return out


def _best_response(
    days: np.ndarray,
    visits: _Visits,
    *,
    confirm: bool,
    confirm_min_days: float,
    min_sd_days: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best overall response code, whether it was confirmed, and the first response day."""
    resp = visits.response
    post = visits.scanned.copy()
    post[:, 0] = False
    is_cr = post & (resp == CR)
    is_resp = post & ((resp == CR) | (resp == PR))
    conf_cr = _confirmed_at(days, is_cr, confirm_min_days)
    conf_resp = _confirmed_at(days, is_resp, confirm_min_days)
    counted_cr, counted_resp = (conf_cr, conf_resp) if confirm else (is_cr, is_resp)
    has_cr, has_resp = counted_cr.any(axis=1), counted_resp.any(axis=1)
    sd_ok = (post & (resp <= SD) & (days[None, :] >= min_sd_days)).any(axis=1)
    has_pd = (post & (resp == PD)).any(axis=1)
    best = np.select([has_cr, has_resp, sd_ok, has_pd], [CR, PR, SD, PD], NE).astype(np.int8)
    confirmed = np.where(
        best == CR, conf_cr.any(axis=1), np.where(best == PR, conf_resp.any(axis=1), False)
    )
    first = np.argmax(counted_resp, axis=1)
    response_day = np.where(best <= PR, days[first], np.nan)
    return best, confirmed, response_day


def _best_pct_change(visits: _Visits) -> np.ndarray:
    """Most negative % change from baseline over the post-baseline scans (NaN: none)."""
    post = visits.scanned.copy()
    post[:, 0] = False
    pct_post = np.where(post & np.isfinite(visits.pct_base), visits.pct_base, np.inf)
    best_pct = pct_post.min(axis=1)
    return np.where(np.isfinite(best_pct), best_pct, np.nan)


def _time_to_event(
    common: _Common,
    visits: _Visits,
    progression_day: np.ndarray,
    responder: np.ndarray,
    response_day: np.ndarray,
) -> dict[str, np.ndarray]:
    """PFS, DOR and OS [days] with their event flags (death after follow-up is censored)."""
    days, n_vis = common.days, visits.scanned.shape[1]
    last_scan = days[n_vis - 1 - np.argmax(visits.scanned[:, ::-1], axis=1)]
    death_seen = common.death <= common.end
    death_or_inf = np.where(death_seen, common.death, np.inf)
    pfs_event = np.isfinite(progression_day) | death_seen
    pfs_days = np.where(pfs_event, np.minimum(progression_day, death_or_inf), last_scan)
    return {
        "pfs_days": pfs_days,
        "pfs_event": pfs_event,
        "dor_days": np.where(responder, pfs_days - response_day, np.nan),
        "dor_event": responder & pfs_event,
        "os_days": np.where(death_seen, common.death, common.end),
        "os_event": death_seen,
    }


def _finalise(
    *,
    criteria: str,
    measure: str,
    common: _Common,
    visits: _Visits,
    progression_day: np.ndarray,
    confirm: bool,
    confirm_min_days: float,
    min_sd_days: float,
    n_targets: np.ndarray,
    pseudoprogression: np.ndarray,
    detail: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Assessment:
    """Best overall response, confirmation, PFS, DOR and OS from the per-visit responses."""
    best, confirmed, response_day = _best_response(
        common.days,
        visits,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
    )
    best_pct = _best_pct_change(visits)
    names = np.asarray(RESPONSE_CODES)[best]
    best_detail = names if detail is None else detail(best, best_pct)
    return Assessment(
        criteria=criteria,
        measure=measure,
        patient_ids=common.pid,
        visit_days=common.days,
        response=visits.response,
        scanned=visits.scanned,
        sum_diameters=visits.measure,
        pct_change_baseline=visits.pct_base,
        pct_change_nadir=visits.pct_nadir,
        new_lesion=visits.new,
        best_response=best,
        best_detail=best_detail.astype("<U8"),
        confirmed=confirmed,
        best_pct_change=best_pct,
        response_day=response_day,
        progression_day=progression_day,
        **_time_to_event(common, visits, progression_day, best <= PR, response_day),
        n_targets=n_targets,
        pseudoprogression=pseudoprogression,
    )


def _lesion_inputs(diameters, lesion_organ):
    d = np.asarray(diameters)
    organ = np.asarray(lesion_organ)
    if d.ndim != 3:
        raise OncotwinError(
            f"diameters has shape {d.shape}, expected [n_pat, n_visits, n_les] true diameters "
            "in mm (NaN where a lesion does not exist)"
        )
    if organ.shape != (d.shape[0], d.shape[2]):
        raise OncotwinError(
            f"lesion_organ has shape {organ.shape}, expected {(d.shape[0], d.shape[2])} "
            "(one organ code per patient and lesion, -1 = none)"
        )
    return d, organ


def _visit_slice(d: np.ndarray, v: int) -> np.ndarray:
    true = np.asarray(d[:, v, :], dtype=np.float64)
    if np.any(true < 0) or np.any(np.isinf(true)):
        bad = np.argwhere((true < 0) | np.isinf(true))[0]
        raise OncotwinError(
            f"diameters[{bad[0]}, {v}, {bad[1]}] = {float(true[bad[0], bad[1]])!r} is invalid; "
            "give a finite size >= 0 mm or NaN for a lesion that does not exist"
        )
    return true
