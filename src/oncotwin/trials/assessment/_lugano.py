"""Lymphoma response by simplified CT-based Lugano 2014 rules (Cheson et al. 2014)."""

from __future__ import annotations

import numpy as np

from oncotwin._random import Stream
from oncotwin.citations import cite
from oncotwin.trials.assessment._common import (
    _EPS,
    _NODE,
    _check_options,
    _common,
    _finalise,
    _lesion_inputs,
    _measure_lesions,
    _pct,
    _Progression,
    _Visits,
)
from oncotwin.trials.assessment._recist import select_target_lesions
from oncotwin.trials.assessment._result import CR, NE, PD, PR, SD, Assessment

__all__ = ["assess_lugano"]

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
) -> Assessment:
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
    progression = _Progression.none(n_pat)
    targets = np.zeros((n_pat, n_les), dtype=bool)
    lesion_nadir = np.zeros((n_pat, n_les))
    baseline = nadir = np.zeros(n_pat)
    has_targets = np.zeros(n_pat, dtype=bool)
    for v in range(n_vis):
        measured = _measure_lesions(
            d,
            v,
            common,
            exists,
            stream=Stream.READER_LUGANO,
            noise_cv=noise_cv,
            limit=detection_limit_mm,
        )
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
        pct_base = _pct(spd, baseline)
        resp = _lugano_response(measured, lesion_nadir, exists, is_node, has_targets, new, pct_base)
        if v == 0:
            resp = np.where(has_targets, SD, NE)
        active = common.can_scan[:, v] & ~progression.stopped
        if v > 0:
            progression.first_pd(active, resp, common.days[v])
        out.record(v, active, resp, spd, has_targets, pct_base, nadir, new)
        nadir = np.where(active, np.minimum(nadir, spd), nadir)
        lesion_nadir = np.where(active[:, None], np.minimum(lesion_nadir, measured), lesion_nadir)
    return _finalise(
        criteria="Lugano 2014 (CT, simplified)",
        measure="SPD [mm2]",
        common=common,
        visits=out,
        progression_day=progression.day,
        confirm=confirm,
        confirm_min_days=confirm_min_days,
        min_sd_days=min_sd_days,
        n_targets=targets.sum(axis=1),
        pseudoprogression=np.zeros(n_pat, dtype=bool),
    )


def _lugano_response(
    measured: np.ndarray,
    lesion_nadir: np.ndarray,
    exists: np.ndarray,
    is_node: np.ndarray,
    has_targets: np.ndarray,
    new: np.ndarray,
    pct_base: np.ndarray,
) -> np.ndarray:
    """Lugano response of one post-baseline scan (rules: :func:`assess_lugano`)."""
    rise = measured - lesion_nadir
    lesion_pd = (
        exists
        & (measured > 15.0)
        & (measured**2 >= 1.5 * lesion_nadir**2 - _EPS)
        & (rise >= np.where(lesion_nadir <= 20.0, 5.0, 10.0) - _EPS)
    )
    is_pd = new | (has_targets & lesion_pd.any(axis=1))
    gone = (~exists) | np.where(is_node, measured <= 15.0, measured == 0.0)
    return np.select(
        [is_pd, ~has_targets, gone.all(axis=1), pct_base <= -50.0 + _EPS], [PD, NE, CR, PR], SD
    )
