"""Response from one burden series per patient: IMWG-like myeloma and B-ALL marrow blasts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from oncotwin._random import Stream, keyed_normals
from oncotwin.citations import cite
from oncotwin.errors import OncotwinError, ParameterError
from oncotwin.trials.assessment._common import (
    _EPS,
    _check_options,
    _check_visit_days,
    _Common,
    _common,
    _finalise,
    _pct,
    _read,
    _Visits,
)
from oncotwin.trials.assessment._result import CR, NE, PD, PR, RESPONSE_CODES, SD, Assessment

__all__ = ["assess_imwg", "assess_marrow"]

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
) -> Assessment:
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
) -> Assessment:
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
) -> Assessment:
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
