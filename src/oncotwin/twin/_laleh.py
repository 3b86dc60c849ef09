"""The development data: lesion series of Laleh et al. 2022 (FIR, POPLAR, BIRCH).

``flat_patient_data.csv`` (TumorGrowth.jl's restructuring of the supplement S6 of Laleh et al.,
PLoS Comput Biol 18(2):e1009822, 2022; see ``shared/data/external/laleh2022-atezolizumab-
tumor-size/PROVENANCE.md``) has one row per scan. Each ``Pt_hashID`` is one lesion series,
treated as lesion ``L1`` of its own patient. ``T_days`` counts from the start of treatment.

Arm -> regimen (:data:`ARM_REGIMENS`). Studies 1 (FIR) and 3 (BIRCH) are single-agent
atezolizumab studies whose arms are cohorts, so every arm gets atezolizumab 1200 mg IV q3w.
Study 2 (POPLAR) randomised atezolizumab against docetaxel 75 mg/m2 q3w; the file does not
say which ``Arm_id`` is which, and Table 1 of the paper was not read here. Arm 1 is taken to
be **docetaxel** and Arm 2 atezolizumab, an inference from the data: Arm 2's series are
longer (median 6 vs 4 scans, last scan day 208 vs 158), as expected of the arm with the
longer treatment duration in POPLAR (atezolizumab), and Arm 1 has more shrinking and fewer
growing lesions (38%/7% "down"/"up" vs 30%/26%). ASSUMPTION: swap the two if Table 1 says
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError

__all__ = ["ARM_REGIMENS", "DEFAULT_DATA", "LesionSeries", "load_laleh"]

#: Default location of the development data (relative to the repository root's parent).
DEFAULT_DATA = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "data"
    / "external"
    / ("laleh2022-atezolizumab-tumor-size")
)
_ATEZO = "atezolizumab 1200 mg IV q3w"
_DOCE = "docetaxel 75 mg/m2 IV q3w"
#: The regimen of every study arm (see the module notes for the POPLAR inference).
ARM_REGIMENS: dict[str, str] = {
    **{f"Study_1_Arm_{k}": _ATEZO for k in (1, 2, 3)},
    "Study_2_Arm_1": _DOCE,
    "Study_2_Arm_2": _ATEZO,
    **{f"Study_3_Arm_{k}": _ATEZO for k in range(1, 7)},
}
_STUDY_NAMES = {"1": "FIR", "2": "POPLAR", "3": "BIRCH"}


@dataclass(frozen=True)
class LesionSeries:
    """Padded lesion series: ``ids``, ``arm``, ``regimen`` (n,), ``day``, ``diameter_mm``,
    ``mask`` (n, m), ``n_scans`` (n,)."""

    ids: np.ndarray
    arm: np.ndarray
    regimen: np.ndarray
    day: np.ndarray
    diameter_mm: np.ndarray
    mask: np.ndarray
    n_scans: np.ndarray

    def subset(self, idx: np.ndarray) -> LesionSeries:
        """The series at positions ``idx``."""
        return LesionSeries(
            self.ids[idx],
            self.arm[idx],
            self.regimen[idx],
            self.day[idx],
            self.diameter_mm[idx],
            self.mask[idx],
            self.n_scans[idx],
        )


def load_laleh(
    path: str | Path | None = None, studies: tuple[int, ...] = (1, 2, 3)
) -> LesionSeries:
    """Read the Laleh et al. 2022 lesion series of ``studies`` as padded arrays.

    ``path`` is the data folder or ``flat_patient_data.csv`` itself. Series whose days are
    not strictly increasing are sorted by day and a repeated day keeps its last scan (the file
    has a few such rows).
    """
    p = Path(path) if path is not None else DEFAULT_DATA
    if p.is_dir():
        p = p / "flat_patient_data.csv"
    if not p.is_file():
        raise OncotwinError(
            f"development data {str(p)!r} not found; pass --data with the folder of "
            "laleh2022-atezolizumab-tumor-size (flat_patient_data.csv)"
        )
    d = pd.read_csv(p)
    d = d[d["Study_id"].astype(str).isin([str(s) for s in studies])]
    d = d.sort_values(["Pt_hashID", "T_days"], kind="stable")
    d = d.drop_duplicates(["Pt_hashID", "T_days"], keep="last")
    unknown = sorted(set(d["Study_Arm"]) - set(ARM_REGIMENS))
    if unknown:
        raise OncotwinError(f"no regimen mapping for study arms {unknown}")
    groups = list(d.groupby("Pt_hashID", sort=True))
    n = len(groups)
    m = max(len(g) for _, g in groups)
    day = np.zeros((n, m))
    size = np.zeros((n, m))
    mask = np.zeros((n, m), bool)
    arm = np.empty(n, object)
    for i, (_, g) in enumerate(groups):  # data loading, once
        k = len(g)
        day[i, :k] = g["T_days"].to_numpy(float)
        size[i, :k] = g["Lesion_diam"].to_numpy(float)
        mask[i, :k] = True
        arm[i] = g["Study_Arm"].iloc[0]
    ids = np.array([h for h, _ in groups], object)
    regimen = np.array([ARM_REGIMENS[a] for a in arm], object)
    return LesionSeries(ids, arm, regimen, day, size, mask, mask.sum(axis=1))


def study_name(arm: str) -> str:
    """``"Study_2_Arm_1"`` -> ``"POPLAR arm 1"``."""
    parts = arm.split("_")
    return f"{_STUDY_NAMES.get(parts[1], parts[1])} arm {parts[3]}"


def build_default_population(path: str | Path | None = None, out: str | Path | None = None):
    """Fit the shipped prior on all 622 series of Studies 1-3 and write it as JSON.

    ``python -c "from oncotwin.twin._laleh import build_default_population as b; b()"``
    rewrites ``oncotwin/twin/data/population.json``.
    """
    import hashlib

    from oncotwin.twin._fit import fit_population
    from oncotwin.twin._model import growth_anchor
    from oncotwin.twin._regimen import regimen_effect

    s = load_laleh(path)
    classes = [regimen_effect(r).classes for r in s.regimen]
    src = Path(path) if path is not None else DEFAULT_DATA
    csv = src / "flat_patient_data.csv" if src.is_dir() else src
    sha = hashlib.sha256(csv.read_bytes()).hexdigest()[:16]
    pop = fit_population(
        s.diameter_mm,
        s.day,
        s.mask,
        classes,
        source=f"Laleh 2022 lesion series, Studies 1-3 (FIR, POPLAR, BIRCH), {s.ids.size} "
        f"series, all scans; flat_patient_data.csv sha256 {sha}; Laplace EM 40 iterations; "
        "mean log K_L fixed at the claret2009 library value",
        fixed_mean=growth_anchor(),
    )
    import dataclasses

    import numpy as np

    from oncotwin.twin._forecast import calibrate_random_walk

    rw = calibrate_random_walk(
        pop, s.diameter_mm, s.day, s.mask, classes, rng=np.random.default_rng(20260)
    )
    pop = dataclasses.replace(
        pop,
        forecast_rw_sd=rw,
        source=pop.source + "; forecast random walk calibrated on the "
        "last two scans of the series with >= 6 scans",
    )
    target = Path(out) if out is not None else Path(__file__).parent / "data" / "population.json"
    return pop.to_json(target)
