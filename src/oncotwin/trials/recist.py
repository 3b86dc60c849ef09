"""Tumor response assessment of simulated scans: RECIST 1.1, iRECIST, Lugano-like, IMWG-like.

A virtual trial hands this module the *true* lesion sizes at each scan (the data contract in
``docs/trial_tables.md``, section 1); a virtual reader measures them with noise and applies the
response criteria, patient by patient but vectorised over patients (the loops run over visits
and lesions only). Every criterion returns the same :class:`RecistResult`, so the endpoints in
:mod:`oncotwin.trials.endpoints` work unchanged for solid tumors, lymphoma, myeloma and
leukaemia.

Rules implemented (RECIST 1.1, Eisenhauer et al. 2009, sections 3-4 and table 1):

* target lesions: measurable lesions (longest diameter >= 10 mm; lymph nodes >= 15 mm, the
  given diameter standing for the short axis), largest first, at most 2 per organ and 5 in
  total (:func:`select_target_lesions`);
* per scan: CR when every lesion has disappeared (non-nodal lesions read as 0 mm, nodes below
  10 mm) and no new lesion; PR when the target sum is >= 30% below baseline; PD when it is
  >= 20% *and* >= 5 mm above the nadir (smallest sum so far, baseline included) or a new
  lesion has been seen; SD otherwise; NE when no scan was done;
* best overall response with confirmation: a CR/PR counts when a scan >= 28 days later still
  shows it (every scan in between too); an unconfirmed one counts as SD when a scan at day
  >= 42 (the minimum SD interval) showed SD or better, otherwise as PD if a PD followed, else NE;
* iRECIST (Seymour et al. 2017) as an option: a first PD is iUPD and is confirmed (iCPD) only
  when the next scan >= 28 days later still meets PD and shows further growth of >= 5 mm or a
  new lesion; a scan back below the PD thresholds is a pseudoprogression and assessment goes
  on.

Simplifications (assumptions, stated once here): non-target lesions enter only the CR rule
(they must disappear too); their "unequivocal progression" is not modelled. A lesion whose true
diameter is below ``detection_limit_mm`` (5 mm, assumption: about the slice thickness of a
modern CT) reads as 0 mm. Patients without a measurable lesion are NE at every scan unless a
new lesion makes them PD. Death is a PFS event whenever it happens before the end of follow-up
(no censoring for missed scans).

Reader noise. A measured size is ``true * max(0, 1 + noise_cv * z)`` with ``z`` standard
normal. ``noise_cv = 0.05`` is an assumption (reader variability of a few percent; repeat-scan
studies report wider limits for single small lesions). ``z`` comes from a counter-based
generator: ``splitmix64`` (Steele, Lea & Flood 2014) hashes of ``(seed, patient_id, visit,
lesion, stream)`` mapped to a uniform in (0, 1) and through the normal quantile function
(:func:`scipy.special.ndtri`). A patient's noise therefore depends on ``(seed, patient_id)``
alone, never on how the population is split into chunks, and costs a few vectorised integer
operations per number (no generator object per patient).

Examples
--------
>>> import numpy as np
>>> from oncotwin.trials.recist import assess_recist, RESPONSE_CODES
>>> days = np.array([0.0, 42.0, 84.0])
>>> d = np.array([[[50.0], [30.0], [30.0]]])          # one patient, one liver lesion
>>> r = assess_recist(days, d, np.array([[2]]), np.array([np.inf]), np.array([np.inf]),
...                   np.array([100.0]), noise_cv=0.0, seed=1, patient_ids=np.array([0]))
>>> RESPONSE_CODES[r.best_response[0]], bool(r.confirmed[0]), float(r.best_pct_change[0])
('PR', True, -40.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from oncotwin._random import Stream, keyed_normals, patient_keys
from oncotwin.citations import Citation, cite, register_citation
from oncotwin.errors import OncotwinError, ParameterError

__all__ = [
    "CR",
    "NE",
    "ORGANS",
    "PD",
    "PR",
    "RESPONSE_CODES",
    "SD",
    "RecistResult",
    "assess_imwg",
    "assess_lugano",
    "assess_marrow",
    "assess_recist",
    "reader_normals",
    "select_target_lesions",
]

#: Organ codes of ``lesion_organ`` (index = code; -1 = no lesion). Data contract, section 1.
ORGANS: tuple[str, ...] = (
    "primary",
    "lung",
    "liver",
    "bone",
    "brain",
    "lymph node",
    "adrenal",
    "peritoneum",
    "skin/soft tissue",
)
_NODE = ORGANS.index("lymph node")

#: Response names; a response array holds the index into this tuple.
RESPONSE_CODES: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NE")
CR, PR, SD, PD, NE = range(5)

#: Tolerance of the percentage thresholds (so that exactly -30% or +20% meets them).
_EPS = 1e-9

register_citation(
    Citation(
        "Eisenhauer2009",
        "Eisenhauer EA, Therasse P, Bogaerts J, et al.",
        2009,
        "New response evaluation criteria in solid tumours: revised RECIST guideline (version 1.1)",
        "Eur J Cancer 45:228-247",
        "10.1016/j.ejca.2008.10.026",
    )
)
register_citation(
    Citation(
        "Seymour2017",
        "Seymour L, Bogaerts J, Perrone A, et al.",
        2017,
        "iRECIST: guidelines for response criteria for use in trials testing immunotherapeutics",
        "Lancet Oncol 18:e143-e152",
        "10.1016/S1470-2045(17)30074-8",
    )
)
register_citation(
    Citation(
        "Cheson2014",
        "Cheson BD, Fisher RI, Barrington SF, et al.",
        2014,
        "Recommendations for initial evaluation, staging, and response assessment of Hodgkin "
        "and non-Hodgkin lymphoma: the Lugano classification",
        "J Clin Oncol 32:3059-3068",
        "10.1200/JCO.2013.54.8800",
    )
)
register_citation(
    Citation(
        "Maude2018",
        "Maude SL, Laetsch TW, Buechner J, et al.",
        2018,
        "Tisagenlecleucel in children and young adults with B-cell lymphoblastic leukemia",
        "N Engl J Med 378:439-448",
        "10.1056/NEJMoa1709866",
    )
)
register_citation(
    Citation(
        "Kumar2016",
        "Kumar S, Paiva B, Anderson KC, et al.",
        2016,
        "International Myeloma Working Group consensus criteria for response and minimal "
        "residual disease assessment in multiple myeloma",
        "Lancet Oncol 17:e328-e346",
        "10.1016/S1470-2045(16)30206-6",
    )
)


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RecistResult:
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


_SLD = "sum of target diameters [mm]"


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
# target lesions
# --------------------------------------------------------------------------------------------


def select_target_lesions(
    baseline_diameters: np.ndarray,
    lesion_organ: np.ndarray,
    *,
    max_total: int = 5,
    max_per_organ: int = 2,
    min_diameter_mm: float = 10.0,
    min_node_mm: float = 15.0,
) -> np.ndarray:
    """Choose the RECIST 1.1 target lesions of each patient (Eisenhauer 2009, section 3.3).

    Measurable lesions are those with a baseline diameter >= ``min_diameter_mm`` (lymph nodes,
    organ 5: >= ``min_node_mm``, the given diameter standing for the short axis). The largest
    are taken first, at most ``max_per_organ`` per organ and ``max_total`` in all; ties keep
    the lesion order.

    Parameters
    ----------
    baseline_diameters
        ``float[n_pat, n_les]`` baseline sizes [mm]; NaN where a lesion does not exist.
    lesion_organ
        ``int[n_pat, n_les]`` organ codes (:data:`ORGANS`; -1 = no lesion).

    Returns
    -------
    numpy.ndarray
        ``bool[n_pat, n_les]``, True for target lesions.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[30.0, 25.0, 20.0, 12.0, 9.0]])
    >>> organ = np.array([[1, 1, 1, 5, 2]])      # three lung, one 12 mm node, a 9 mm liver
    >>> select_target_lesions(d, organ).astype(int)
    array([[1, 1, 0, 0, 0]])
    """
    d = np.asarray(baseline_diameters, dtype=np.float64)
    organ = np.asarray(lesion_organ)
    if d.ndim != 2 or organ.shape != d.shape:
        raise OncotwinError(
            f"baseline_diameters {d.shape} and lesion_organ {organ.shape} must both be "
            "[n_pat, n_les]; pass the baseline slice diameters[:, 0, :] and the organ codes"
        )
    bad_codes = (organ >= len(ORGANS)) | (organ < -1)
    if bad_codes.any():
        raise OncotwinError(
            f"lesion_organ holds code {int(organ[bad_codes][0])}; valid codes"
            f" are -1 (none) and 0..{len(ORGANS) - 1} ({', '.join(ORGANS)})"
        )
    for name, value in (("max_total", max_total), ("max_per_organ", max_per_organ)):
        if int(value) != value or value < 0:
            raise ParameterError(f"{name} = {value!r} is invalid; give an integer >= 0")
    threshold = np.where(organ == _NODE, min_node_mm, min_diameter_mm)
    measurable = (organ >= 0) & np.isfinite(d) & (d >= threshold)
    n_pat = d.shape[0]
    order = np.argsort(np.where(measurable, -d, np.inf), axis=1, kind="stable")
    rows = np.arange(n_pat)[:, None]
    m_sorted = measurable[rows, order]
    o_sorted = np.where(m_sorted, organ[rows, order], len(ORGANS))
    onehot = o_sorted[:, :, None] == np.arange(len(ORGANS) + 1)[None, None, :]
    per_organ_rank = np.take_along_axis(np.cumsum(onehot, axis=1), o_sorted[:, :, None], 2)[:, :, 0]
    eligible = m_sorted & (per_organ_rank <= max_per_organ)
    eligible &= np.cumsum(eligible, axis=1) <= max_total
    targets = np.zeros_like(measurable)
    targets[rows, order] = eligible
    return targets


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
) -> RecistResult:
    """Best overall response, confirmation, PFS, DOR and OS from the per-visit responses."""
    days, resp = common.days, visits.response
    n_vis = resp.shape[1]
    post = visits.scanned.copy()
    post[:, 0] = False
    is_cr = post & (resp == CR)
    is_resp = post & ((resp == CR) | (resp == PR))
    conf_cr = np.zeros_like(post)
    conf_resp = np.zeros_like(post)
    for v in range(1, n_vis):
        later = np.nonzero((days >= days[v] + confirm_min_days) & (np.arange(n_vis) > v))[0]
        if later.size:
            c = later[0]
            conf_resp[:, v] = is_resp[:, v : c + 1].all(axis=1)
            conf_cr[:, v] = is_cr[:, v : c + 1].all(axis=1)
    counted_cr, counted_resp = (conf_cr, conf_resp) if confirm else (is_cr, is_resp)
    has_cr, has_resp = counted_cr.any(axis=1), counted_resp.any(axis=1)
    sd_ok = (post & (resp <= SD) & (days[None, :] >= min_sd_days)).any(axis=1)
    has_pd = (post & (resp == PD)).any(axis=1)
    best = np.select([has_cr, has_resp, sd_ok, has_pd], [CR, PR, SD, PD], NE).astype(np.int8)
    confirmed = np.where(
        best == CR, conf_cr.any(axis=1), np.where(best == PR, conf_resp.any(axis=1), False)
    )
    responder = best <= PR
    first = np.argmax(counted_resp, axis=1)
    response_day = np.where(responder, days[first], np.nan)

    pct_post = np.where(post & np.isfinite(visits.pct_base), visits.pct_base, np.inf)
    best_pct = pct_post.min(axis=1)
    best_pct = np.where(np.isfinite(best_pct), best_pct, np.nan)

    last_scan = days[n_vis - 1 - np.argmax(visits.scanned[:, ::-1], axis=1)]
    death_seen = common.death <= common.end
    death_or_inf = np.where(death_seen, common.death, np.inf)
    pfs_event = np.isfinite(progression_day) | death_seen
    pfs_days = np.where(pfs_event, np.minimum(progression_day, death_or_inf), last_scan)
    dor_days = np.where(responder, pfs_days - response_day, np.nan)
    dor_event = responder & pfs_event
    os_days = np.where(death_seen, common.death, common.end)

    names = np.asarray(RESPONSE_CODES)[best]
    best_detail = names if detail is None else detail(best, best_pct)
    return RecistResult(
        criteria=criteria,
        measure=measure,
        patient_ids=common.pid,
        visit_days=common.days,
        response=resp,
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
        pfs_days=pfs_days,
        pfs_event=pfs_event,
        dor_days=dor_days,
        dor_event=dor_event,
        os_days=os_days,
        os_event=death_seen,
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


# --------------------------------------------------------------------------------------------
# RECIST 1.1 / iRECIST
# --------------------------------------------------------------------------------------------


def assess_recist(
    visit_days: np.ndarray,
    diameters: np.ndarray,
    lesion_organ: np.ndarray,
    new_lesion_day: np.ndarray,
    death_day: np.ndarray,
    end_day: np.ndarray,
    *,
    seed: int,
    patient_ids: np.ndarray,
    noise_cv: float = 0.05,
    confirm: bool = True,
    irecist: bool = False,
    detection_limit_mm: float = 5.0,
    confirm_min_days: float = 28.0,
    min_sd_days: float = 42.0,
) -> RecistResult:
    """Assess RECIST 1.1 (or iRECIST) response of simulated scans (rules: module docstring).

    Parameters
    ----------
    visit_days
        ``float[n_visits]`` scan days, baseline scan first.
    diameters
        ``float[n_pat, n_visits, n_les]`` true longest diameters [mm]; NaN = no such lesion.
        Read one visit at a time, so a float32 or memory-mapped array is not copied whole.
    lesion_organ
        ``int[n_pat, n_les]`` organ codes (:data:`ORGANS`, -1 = none).
    new_lesion_day, death_day, end_day
        ``float[n_pat]``: first day a new lesion is detectable (inf = never), death (inf =
        alive), end of follow-up.
    seed, patient_ids
        Run seed and global patient ids: the reader noise of a patient derives from them alone.
    noise_cv
        Reader noise coefficient of variation (assumption, see module docstring).
    confirm
        Require confirmation of CR/PR by a scan >= ``confirm_min_days`` later.
    irecist
        Apply iRECIST: PD must be confirmed; pseudoprogression lets assessment go on.
    confirm_min_days
        Days between a response (or an iUPD) and the scan that can confirm it (28: 4 weeks).
    detection_limit_mm
        True sizes below this read as 0 mm (assumption: 5 mm).
    min_sd_days
        Minimum SD interval for a best response of SD (protocol-defined in RECIST 1.1;
        assumption: 42 days).

    Returns
    -------
    RecistResult
    """
    d, organ = _lesion_inputs(diameters, lesion_organ)
    n_pat, n_vis, n_les = d.shape
    _check_options(noise_cv, detection_limit_mm)
    common = _common(visit_days, n_pat, new_lesion_day, death_day, end_day, seed, patient_ids)
    cite("Eisenhauer2009", *(("Seymour2017",) if irecist else ()))
    exists = (organ >= 0) & np.isfinite(np.asarray(d[:, 0, :], dtype=np.float64))
    is_node = organ == _NODE

    out = _Visits.empty(n_pat, n_vis)
    stopped = np.zeros(n_pat, dtype=bool)
    progression = np.full(n_pat, np.inf)
    in_iupd = np.zeros(n_pat, dtype=bool)
    iupd_day = np.full(n_pat, np.inf)
    iupd_sum = np.zeros(n_pat)
    pseudo = np.zeros(n_pat, dtype=bool)
    targets = np.zeros((n_pat, n_les), dtype=bool)
    baseline = nadir = np.zeros(n_pat)
    has_targets = np.zeros(n_pat, dtype=bool)

    for v in range(n_vis):
        day = common.days[v]
        z = keyed_normals(common.keys, v, n_les, stream=Stream.READER_RECIST)
        measured = _read(_visit_slice(d, v), z, noise_cv, detection_limit_mm)
        measured = np.where(exists, np.nan_to_num(measured, nan=0.0), 0.0)
        if v == 0:
            targets = select_target_lesions(np.where(exists, measured, np.nan), organ)
            has_targets = targets.any(axis=1)
        total = np.where(targets, measured, 0.0).sum(axis=1)
        if v == 0:
            baseline = nadir = total
        new = common.new_day <= day
        gone = (~exists) | np.where(is_node, measured < 10.0, measured == 0.0)
        growth = total - nadir
        pd_targets = has_targets & (growth >= 0.2 * nadir - _EPS) & (growth >= 5.0 - _EPS)
        is_pd = pd_targets | new
        pct_base = _pct(total, baseline)
        resp = np.select(
            [is_pd, ~has_targets, gone.all(axis=1), pct_base <= -30.0 + _EPS],
            [PD, NE, CR, PR],
            SD,
        )
        if v == 0:
            resp = np.where(has_targets, SD, NE)  # baseline: reference only
        active = common.can_scan[:, v] & ~stopped
        if irecist and v > 0:
            due = active & in_iupd & (day - iupd_day >= confirm_min_days - _EPS)
            further = (total - iupd_sum >= 5.0 - _EPS) | new
            confirmed_pd = due & is_pd & further
            back = due & ~is_pd
            progression = np.where(confirmed_pd, iupd_day, progression)
            stopped |= confirmed_pd
            pseudo |= back
            in_iupd &= ~back
            resp = np.where(active & in_iupd & ~due, PD, resp)  # iUPD persists until due
            start = active & ~in_iupd & ~confirmed_pd & (resp == PD)
            in_iupd |= start
            iupd_day = np.where(start, day, iupd_day)
            iupd_sum = np.where(start, total, iupd_sum)
        elif v > 0:
            first_pd = active & (resp == PD)
            progression = np.where(first_pd, day, progression)
            stopped |= first_pd
        out.response[:, v] = np.where(active, resp, NE)
        out.scanned[:, v] = active
        out.measure[:, v] = np.where(active & has_targets, total, np.nan)
        out.pct_base[:, v] = np.where(active, pct_base, np.nan)
        out.pct_nadir[:, v] = np.where(active, _pct(total, nadir), np.nan)
        out.new[:, v] = active & new
        nadir = np.where(active, np.minimum(nadir, total), nadir)
    if irecist:  # an iUPD never confirmed nor resolved by the end counts as progression
        progression = np.where(in_iupd & ~stopped, iupd_day, progression)
    return _finalise(
        criteria="iRECIST" if irecist else "RECIST 1.1",
        measure=_SLD,
        common=common,
        visits=out,
        progression_day=progression,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
        n_targets=targets.sum(axis=1),
        pseudoprogression=pseudo,
    )


# --------------------------------------------------------------------------------------------
# Lugano 2014 (CT-based, simplified)
# --------------------------------------------------------------------------------------------


def assess_lugano(
    visit_days: np.ndarray,
    diameters: np.ndarray,
    lesion_organ: np.ndarray,
    new_lesion_day: np.ndarray,
    death_day: np.ndarray,
    end_day: np.ndarray,
    *,
    seed: int,
    patient_ids: np.ndarray,
    noise_cv: float = 0.05,
    confirm: bool = False,
    detection_limit_mm: float = 5.0,
    confirm_min_days: float = 28.0,
    min_sd_days: float = 42.0,
) -> RecistResult:
    """Assess lymphoma response with simplified CT-based Lugano 2014 rules (Cheson 2014, table 3).

    Simplifications (documented, not the full classification): up to 6 target lesions, the
    largest measurable ones (nodes >= 15 mm, extranodal >= 10 mm), no per-organ cap; the
    product of perpendicular diameters is ``diameter**2`` (round lesions) and SPD is its sum
    over targets. Per scan: **CR** every node <= 15 mm and every extranodal lesion gone (reads
    0 mm), no new lesion; **PR** SPD >= 50% below baseline; **PD** a new lesion, or any single
    lesion with diameter > 15 mm whose product rose >= 50% from its own nadir and whose
    diameter rose >= 5 mm (nadir <= 20 mm) or >= 10 mm (nadir > 20 mm); **SD** otherwise.
    PET (Deauville) response is not modelled. Lugano does not require confirmation, so
    ``confirm`` defaults to False. ``sum_diameters`` holds SPD [mm2].

    Examples
    --------
    >>> import numpy as np
    >>> days = np.array([0.0, 56.0])
    >>> d = np.array([[[40.0, 30.0], [14.0, 12.0]]])       # two nodes shrink to <= 15 mm
    >>> r = assess_lugano(days, d, np.array([[5, 5]]), np.array([np.inf]), np.array([np.inf]),
    ...                   np.array([100.0]), noise_cv=0.0, seed=0, patient_ids=np.array([0]))
    >>> r.best_response_names.tolist()
    ['CR']
    """
    d, organ = _lesion_inputs(diameters, lesion_organ)
    n_pat, n_vis, n_les = d.shape
    _check_options(noise_cv, detection_limit_mm)
    common = _common(visit_days, n_pat, new_lesion_day, death_day, end_day, seed, patient_ids)
    cite("Cheson2014")
    exists = (organ >= 0) & np.isfinite(np.asarray(d[:, 0, :], dtype=np.float64))
    is_node = organ == _NODE
    out = _Visits.empty(n_pat, n_vis)
    stopped = np.zeros(n_pat, dtype=bool)
    progression = np.full(n_pat, np.inf)
    targets = np.zeros((n_pat, n_les), dtype=bool)
    lesion_nadir = np.zeros((n_pat, n_les))
    baseline = nadir = np.zeros(n_pat)
    has_targets = np.zeros(n_pat, dtype=bool)
    for v in range(n_vis):
        z = keyed_normals(common.keys, v, n_les, stream=Stream.READER_LUGANO)
        measured = _read(_visit_slice(d, v), z, noise_cv, detection_limit_mm)
        measured = np.where(exists, np.nan_to_num(measured, nan=0.0), 0.0)
        if v == 0:
            targets = select_target_lesions(
                np.where(exists, measured, np.nan), organ, max_total=6, max_per_organ=6
            )
            has_targets = targets.any(axis=1)
            lesion_nadir = measured
        spd = np.where(targets, measured**2, 0.0).sum(axis=1)
        if v == 0:
            baseline = nadir = spd
        new = common.new_day <= common.days[v]
        rise = measured - lesion_nadir
        lesion_pd = (
            exists
            & (measured > 15.0)
            & (measured**2 >= 1.5 * lesion_nadir**2 - _EPS)
            & (rise >= np.where(lesion_nadir <= 20.0, 5.0, 10.0) - _EPS)
        )
        is_pd = new | (has_targets & lesion_pd.any(axis=1))
        gone = (~exists) | np.where(is_node, measured <= 15.0, measured == 0.0)
        pct_base = _pct(spd, baseline)
        resp = np.select(
            [is_pd, ~has_targets, gone.all(axis=1), pct_base <= -50.0 + _EPS], [PD, NE, CR, PR], SD
        )
        if v == 0:
            resp = np.where(has_targets, SD, NE)
        active = common.can_scan[:, v] & ~stopped
        if v > 0:
            first_pd = active & (resp == PD)
            progression = np.where(first_pd, common.days[v], progression)
            stopped |= first_pd
        out.response[:, v] = np.where(active, resp, NE)
        out.scanned[:, v] = active
        out.measure[:, v] = np.where(active & has_targets, spd, np.nan)
        out.pct_base[:, v] = np.where(active, pct_base, np.nan)
        out.pct_nadir[:, v] = np.where(active, _pct(spd, nadir), np.nan)
        out.new[:, v] = active & new
        nadir = np.where(active, np.minimum(nadir, spd), nadir)
        lesion_nadir = np.where(active[:, None], np.minimum(lesion_nadir, measured), lesion_nadir)
    return _finalise(
        criteria="Lugano 2014 (CT, simplified)",
        measure="SPD [mm2]",
        common=common,
        visits=out,
        progression_day=progression,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
        n_targets=targets.sum(axis=1),
        pseudoprogression=np.zeros(n_pat, dtype=bool),
    )


# --------------------------------------------------------------------------------------------
# burden series: IMWG (myeloma) and marrow blasts (B-ALL)
# --------------------------------------------------------------------------------------------


def _series_inputs(name: str, series, n_vis: int) -> np.ndarray:
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_vis:
        raise OncotwinError(
            f"{name} has shape {x.shape}, expected [n_pat, {n_vis}] (one value per patient "
            "and visit, baseline first)"
        )
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise OncotwinError(
            f"{name}[{i}, {j}] = {float(x[i, j])!r} is invalid; give a finite value >= 0 "
            "at every visit"
        )
    return x


def _assess_series(
    *,
    criteria: str,
    measure: str,
    series: np.ndarray,
    common: _Common,
    classify: Callable[..., np.ndarray],
    noise_cv: float,
    upper: float,
    scale: float,
    stream: int,
    confirm: bool,
    confirm_min_days: float,
    min_sd_days: float,
    detail: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> RecistResult:
    n_pat, n_vis = series.shape
    out = _Visits.empty(n_pat, n_vis)
    stopped = np.zeros(n_pat, dtype=bool)
    progression = np.full(n_pat, np.inf)
    ever_cr = np.zeros(n_pat, dtype=bool)
    baseline = nadir = np.zeros(n_pat)
    for v in range(n_vis):
        z = keyed_normals(common.keys, v, 1, stream=stream)[:, 0]
        m = np.minimum(_read(series[:, v], z, noise_cv, 0.0), upper)
        if v == 0:
            baseline = nadir = m
        evaluable = baseline > 0
        new = common.new_day <= common.days[v]
        resp = classify(m=m, baseline=baseline, nadir=nadir, ever_cr=ever_cr, new=new)
        resp = np.where(evaluable | new, resp, NE)
        if v == 0:
            resp = np.where(evaluable, SD, NE)
        active = common.can_scan[:, v] & ~stopped
        if v > 0:
            first_pd = active & (resp == PD)
            progression = np.where(first_pd, common.days[v], progression)
            stopped |= first_pd
            ever_cr |= active & (resp == CR)
        out.response[:, v] = np.where(active, resp, NE)
        out.scanned[:, v] = active
        out.measure[:, v] = np.where(active, m * scale, np.nan)
        out.pct_base[:, v] = np.where(active, _pct(m, baseline), np.nan)
        out.pct_nadir[:, v] = np.where(active, _pct(m, nadir), np.nan)
        out.new[:, v] = active & new
        nadir = np.where(active, np.minimum(nadir, m), nadir)
    return _finalise(
        criteria=criteria,
        measure=measure,
        common=common,
        visits=out,
        progression_day=progression,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
        n_targets=np.zeros(n_pat, dtype=np.int64),
        pseudoprogression=np.zeros(n_pat, dtype=bool),
        detail=detail,
    )


def assess_imwg(
    visit_days: np.ndarray,
    burden_series: np.ndarray,
    death_day: np.ndarray,
    end_day: np.ndarray,
    *,
    seed: int,
    patient_ids: np.ndarray,
    new_lesion_day: np.ndarray | None = None,
    noise_cv: float = 0.05,
    confirm: bool = True,
    cr_fraction: float = 0.01,
    pd_min_increase: float = 0.0,
    confirm_min_days: float = 0.0,
    min_sd_days: float = 0.0,
) -> RecistResult:
    """Assess myeloma response from an M-protein (tumor burden) series, IMWG-like (Kumar 2016).

    Per assessment, against the baseline value (visit 0): **CR** (sCR/CR merged) when the
    burden is below ``cr_fraction`` of baseline (assumption: 1% stands for "negative
    immunofixation", which a simulated burden cannot show); **VGPR** >= 90% down and **PR**
    >= 50% down (both coded PR; ``best_detail`` says VGPR when the deepest change is >= 90%
    down); **PD** >= 25% up from the nadir and >= ``pd_min_increase`` in absolute terms (IMWG:
    0.5 g/dL for serum M-protein; the default 0 because the burden's unit is the caller's), or
    a new lesion (plasmacytoma/bone) when ``new_lesion_day`` is given; **SD** otherwise.
    IMWG confirms responses by two consecutive assessments: ``confirm_min_days = 0`` takes the
    next assessment. PD is not re-confirmed (simplification). ``sum_diameters`` holds the
    burden in the caller's unit.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[3.0, 0.2, 0.2, 0.5]])      # g/dL: 93% down twice, then a rise
    >>> r = assess_imwg(np.array([0.0, 28, 56, 84]), m, np.array([np.inf]), np.array([90.0]),
    ...                 noise_cv=0.0, seed=0, patient_ids=np.array([0]), pd_min_increase=0.5)
    >>> r.best_detail.tolist(), r.progression_day.tolist()
    (['VGPR'], [inf])
    """
    days = _check_visit_days(visit_days)
    x = _series_inputs("burden_series", burden_series, days.size)
    _check_options(noise_cv)
    if not (0 <= pd_min_increase < np.inf):
        raise ParameterError(
            f"pd_min_increase = {pd_min_increase!r} is invalid; give an amount >= 0 in the "
            "burden's unit (IMWG: 0.5 for serum M-protein in g/dL)"
        )
    common = _common(days, x.shape[0], new_lesion_day, death_day, end_day, seed, patient_ids)
    cite("Kumar2016")

    def classify(*, m, baseline, nadir, ever_cr, new):
        pct = _pct(m, baseline)
        rise = m - nadir
        is_pd = new | ((rise >= 0.25 * nadir - _EPS) & (rise >= pd_min_increase) & (rise > 0))
        return np.select([is_pd, m < cr_fraction * baseline, pct <= -50.0 + _EPS], [PD, CR, PR], SD)

    def detail(best, best_pct):
        names = np.asarray(RESPONSE_CODES)[best]
        return np.where((best == PR) & (best_pct <= -90.0 + _EPS), "VGPR", names)

    return _assess_series(
        criteria="IMWG 2016 (simplified)",
        measure="M-protein [input unit]",
        series=x,
        common=common,
        classify=classify,
        noise_cv=noise_cv,
        upper=np.inf,
        scale=1.0,
        stream=Stream.READER_IMWG,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
        detail=detail,
    )


def assess_marrow(
    visit_days: np.ndarray,
    blast_fraction_series: np.ndarray,
    death_day: np.ndarray,
    end_day: np.ndarray,
    *,
    seed: int,
    patient_ids: np.ndarray,
    new_lesion_day: np.ndarray | None = None,
    noise_cv: float = 0.05,
    confirm: bool = False,
    cr_blasts: float = 0.05,
    confirm_min_days: float = 28.0,
    min_sd_days: float = 0.0,
) -> RecistResult:
    """Assess B-ALL response from bone-marrow blast fractions (0..1) at each assessment.

    **CR** marrow blasts < ``cr_blasts`` (5%: the standard morphological CR threshold, used
    e.g. in the tisagenlecleucel ELIANA trial, Maude et al. 2018 NEJM; count recovery (CR vs
    CRi) is not modelled). **PR** (assumption, adapted from AML/IWG criteria since ALL has no
    standard PR): blasts 5-25% and >= 50% below baseline. **PD**: relapse (blasts >= 5% after
    a CR) or, before any CR, a >= 25% rise from the nadir (assumption); extramedullary
    disease via ``new_lesion_day``. **SD** otherwise. ``sum_diameters`` holds blasts in %.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([[0.80, 0.02, 0.01, 0.30]])       # CR at day 28, relapse at day 180
    >>> r = assess_marrow(np.array([0.0, 28, 90, 180]), b, np.array([np.inf]),
    ...                   np.array([200.0]), noise_cv=0.0, seed=0, patient_ids=np.array([0]))
    >>> r.best_response_names.tolist(), r.progression_day.tolist()
    (['CR'], [180.0])
    """
    days = _check_visit_days(visit_days)
    x = _series_inputs("blast_fraction_series", blast_fraction_series, days.size)
    if np.any(x > 1):
        i, j = np.argwhere(x > 1)[0]
        raise OncotwinError(
            f"blast_fraction_series[{i}, {j}] = {float(x[i, j])!r} is above 1; give blasts as a "
            "fraction of marrow cells (0..1), e.g. 0.05 for 5%"
        )
    _check_options(noise_cv)
    common = _common(days, x.shape[0], new_lesion_day, death_day, end_day, seed, patient_ids)
    cite("Maude2018")

    def classify(*, m, baseline, nadir, ever_cr, new):
        is_cr = m < cr_blasts
        rise = m - nadir
        is_pd = new | np.where(ever_cr, ~is_cr, (rise >= 0.25 * nadir - _EPS) & (rise > 0))
        is_pr = (m <= 0.25) & (m <= 0.5 * baseline)
        return np.select([is_pd, is_cr, is_pr], [PD, CR, PR], SD)

    return _assess_series(
        criteria="B-ALL marrow blasts",
        measure="marrow blasts [%]",
        series=x,
        common=common,
        classify=classify,
        noise_cv=noise_cv,
        upper=1.0,
        scale=100.0,
        stream=Stream.READER_MARROW,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
    )
