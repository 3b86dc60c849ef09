"""RECIST 1.1 and iRECIST response of simulated scans, and the choice of target lesions.

A virtual trial hands :func:`assess_recist` the *true* lesion sizes at each scan (the data
contract in ``docs/trial_tables.md``, section 1); a virtual reader measures them with noise
(:mod:`._common`) and applies the criteria, vectorised over patients (the loops run over visits
and lesions only).

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

* non-target lesions (every existing lesion not chosen as a target) must disappear for CR,
  and their unequivocal progression is PD: RECIST 1.1 (section 4.3.3) asks for a worsening of
  non-target disease comparable to what PD of measurable disease needs, and names an increase
  of 73% in volume (what a 20% increase in diameter means); here the non-target lesions'
  summed volume (sum of diameter^3) >= 1.73 x its nadir *and* their summed diameters >= 5 mm
  above their nadir (so that reader noise on tiny lesions does not trigger it).

Simplifications (assumptions, stated once here): the quantitative reading of "unequivocal"
above is an assumption (the criteria leave it to the reader's judgement). A lesion whose true
diameter is below ``detection_limit_mm`` (5 mm, assumption: about the slice thickness of a
modern CT) reads as 0 mm. Patients without a measurable lesion are NE at every scan unless a
new lesion makes them PD. Death is a PFS event whenever it happens before the end of follow-up
(no censoring for missed scans).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotwin._random import Stream
from oncotwin.citations import cite
from oncotwin.errors import OncotwinError, ParameterError
from oncotwin.trials.assessment._common import (
    _EPS,
    _NODE,
    ORGANS,
    _check_options,
    _common,
    _finalise,
    _lesion_inputs,
    _measure_lesions,
    _pct,
    _Progression,
    _Visits,
)
from oncotwin.trials.assessment._result import _SLD, CR, NE, PD, PR, SD, Assessment

__all__ = ["assess_recist", "select_target_lesions"]

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
) -> Assessment:
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
    Assessment
    """
    d, organ = _lesion_inputs(diameters, lesion_organ)
    n_pat, n_vis, n_les = d.shape
    _check_options(noise_cv, detection_limit_mm)
    common = _common(visit_days, n_pat, new_lesion_day, death_day, end_day, seed, patient_ids)
    cite("Eisenhauer2009", *(("Seymour2017",) if irecist else ()))
    exists = (organ >= 0) & np.isfinite(np.asarray(d[:, 0, :], dtype=np.float64))
    is_node = organ == _NODE

    out = _Visits.empty(n_pat, n_vis)
    progression = _Progression.none(n_pat)
    iupd = _IUPD.none(n_pat)
    targets = np.zeros((n_pat, n_les), dtype=bool)
    baseline = nadir = np.zeros(n_pat)
    has_targets = np.zeros(n_pat, dtype=bool)
    nt = _NonTarget.none(n_pat)

    for v in range(n_vis):
        day = common.days[v]
        measured = _measure_lesions(
            d,
            v,
            common,
            exists,
            stream=Stream.READER_RECIST,
            noise_cv=noise_cv,
            limit=detection_limit_mm,
        )
        if v == 0:
            targets = select_target_lesions(np.where(exists, measured, np.nan), organ)
            has_targets = targets.any(axis=1)
        total = np.where(targets, measured, 0.0).sum(axis=1)
        if v == 0:
            baseline = nadir = total
        new = common.new_day <= day
        pct_base = _pct(total, baseline)
        nontarget_pd = nt.progressed(measured, exists & ~targets, first=v == 0)
        resp, is_pd = _recist_response(
            measured, total, nadir, pct_base, exists, is_node, has_targets, new | nontarget_pd
        )
        if v == 0:
            resp = np.where(has_targets, SD, NE)  # baseline: reference only
        active = common.can_scan[:, v] & ~progression.stopped
        if irecist and v > 0:
            resp = iupd.step(progression, active, resp, is_pd, total, new, day, confirm_min_days)
        elif v > 0:
            progression.first_pd(active, resp, day)
        out.record(v, active, resp, total, has_targets, pct_base, nadir, new)
        nadir = np.where(active, np.minimum(nadir, total), nadir)
        nt.update_nadir(active)
    if irecist:  # an iUPD never confirmed nor resolved by the end counts as progression
        progression.day = np.where(iupd.pending & ~progression.stopped, iupd.day, progression.day)
    return _finalise(
        criteria="iRECIST" if irecist else "RECIST 1.1",
        measure=_SLD,
        common=common,
        visits=out,
        progression_day=progression.day,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
        n_targets=targets.sum(axis=1),
        pseudoprogression=iupd.pseudo,
    )


def _recist_response(
    measured: np.ndarray,
    total: np.ndarray,
    nadir: np.ndarray,
    pct_base: np.ndarray,
    exists: np.ndarray,
    is_node: np.ndarray,
    has_targets: np.ndarray,
    new: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """RECIST 1.1 response of one scan and whether it meets PD (rules: module docstring)."""
    gone = (~exists) | np.where(is_node, measured < 10.0, measured == 0.0)
    growth = total - nadir
    pd_targets = has_targets & (growth >= 0.2 * nadir - _EPS) & (growth >= 5.0 - _EPS)
    is_pd = pd_targets | new
    resp = np.select(
        [is_pd, ~has_targets, gone.all(axis=1), pct_base <= -30.0 + _EPS],
        [PD, NE, CR, PR],
        SD,
    )
    return resp, is_pd


@dataclass
class _NonTarget:
    """Non-target disease per patient: summed volume (sum of d^3) and diameters, their nadirs."""

    volume: np.ndarray
    diameters: np.ndarray
    nadir_volume: np.ndarray
    nadir_diameters: np.ndarray

    @classmethod
    def none(cls, n_pat: int) -> _NonTarget:
        return cls(*(np.zeros(n_pat) for _ in range(4)))

    def progressed(self, measured: np.ndarray, nontarget: np.ndarray, *, first: bool):
        """Whether this scan shows unequivocal progression of non-target disease (rule in
        the module docstring); the baseline scan sets the reference."""
        m = np.where(nontarget, np.nan_to_num(measured), 0.0)
        self.volume = (m**3).sum(axis=1)
        self.diameters = m.sum(axis=1)
        if first:
            self.nadir_volume, self.nadir_diameters = self.volume, self.diameters
            return np.zeros(m.shape[0], dtype=bool)
        grown = self.volume >= 1.73 * self.nadir_volume - _EPS
        return grown & (self.diameters - self.nadir_diameters >= 5.0 - _EPS)

    def update_nadir(self, active: np.ndarray) -> None:
        self.nadir_volume = np.where(
            active, np.minimum(self.nadir_volume, self.volume), self.nadir_volume
        )
        self.nadir_diameters = np.where(
            active, np.minimum(self.nadir_diameters, self.diameters), self.nadir_diameters
        )


@dataclass
class _IUPD:
    """iRECIST state per patient: an unconfirmed progression (iUPD) open since ``day``."""

    pending: np.ndarray
    day: np.ndarray
    total: np.ndarray  # target sum at the iUPD scan [mm]
    pseudo: np.ndarray  # a scan fell back below the PD thresholds (pseudoprogression)

    @classmethod
    def none(cls, n_pat: int) -> _IUPD:
        return cls(
            np.zeros(n_pat, dtype=bool),
            np.full(n_pat, np.inf),
            np.zeros(n_pat),
            np.zeros(n_pat, dtype=bool),
        )

    def step(
        self,
        progression: _Progression,
        active: np.ndarray,
        resp: np.ndarray,
        is_pd: np.ndarray,
        total: np.ndarray,
        new: np.ndarray,
        day: float,
        confirm_min_days: float,
    ) -> np.ndarray:
        """Confirm (iCPD, dated back to the iUPD) or resolve open iUPDs, open new ones.

        Returns the scan's responses with an open iUPD shown as PD until it is due.
        """
        due = active & self.pending & (day - self.day >= confirm_min_days - _EPS)
        further = (total - self.total >= 5.0 - _EPS) | new
        confirmed_pd = due & is_pd & further
        back = due & ~is_pd
        progression.day = np.where(confirmed_pd, self.day, progression.day)
        progression.stopped |= confirmed_pd
        self.pseudo |= back
        self.pending &= ~back
        resp = np.where(active & self.pending & ~due, PD, resp)  # iUPD persists until due
        start = active & ~self.pending & ~confirmed_pd & (resp == PD)
        self.pending |= start
        self.day = np.where(start, day, self.day)
        self.total = np.where(start, total, self.total)
        return resp
