"""Trial eligibility: the :class:`Eligibility` criteria and screening (:func:`sample_eligible`).

Public names are re-exported by :mod:`oncotwin.population.covariates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError, did_you_mean
from oncotwin.population._cancers import resolve_cancer
from oncotwin.population._copula import _check_count, sample_covariates

__all__ = ["ELIGIBILITY_KEYS", "Eligibility", "sample_eligible"]


# --------------------------------------------------------------------------------------------
# Eligibility
# --------------------------------------------------------------------------------------------
def _opt_number(name: str, value: Any, lo: float, hi: float, example: str) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (lo <= float(value) <= hi)
    ):
        raise ParameterError(
            f"Eligibility {name}={value!r} is invalid; give a number in [{lo:g}, {hi:g}] "
            f"(e.g. {name}={example}) or None for no limit"
        )


@dataclass(frozen=True, kw_only=True)
class Eligibility:
    """Trial eligibility criteria; ``None`` (or ``False`` for the flags) means no criterion.

    ``pdl1_cps_min`` needs a cancer with PD-L1 CPS anchors (head and neck, gastric,
    triple-negative breast: elsewhere the CPS is NaN and fails the criterion); ``crcl_min`` is
    the Cockcroft-Gault creatinine clearance [mL/min] (e.g. 60 for cisplatin); the yes/no
    covariates (HER2, MSI-high, CD19, BCMA, EGFR and BRAF V600 mutations, RAS wild type,
    HLA-A*02:01, HPV) take True (required), False (excluded) or None (either).

    Examples
    --------
    >>> e = Eligibility(pdl1_tps_min=50, ecog_max=1, no_brain_mets=True)
    >>> e.describe()
    'PD-L1 TPS >= 50%; ECOG <= 1; no brain metastases'
    >>> df = sample_covariates("nsclc", 200, seed=3)
    >>> bool((df[e.apply(df)].pdl1_tps_pct >= 50).all())
    True
    """

    pdl1_tps_min: float | None = None
    pdl1_tps_max: float | None = None
    tmb_min: float | None = None
    ecog_max: int | None = None
    measurable_disease: bool = False
    no_brain_mets: bool = False
    her2_positive: bool | None = None
    msi_high: bool | None = None
    cd19_positive: bool | None = None
    bcma_positive: bool | None = None
    age_min: float | None = None
    age_max: float | None = None
    life_expectancy_weeks_min: float | None = None
    pdl1_cps_min: float | None = None
    crcl_min: float | None = None
    egfr_mutant: bool | None = None
    braf_v600_mutant: bool | None = None
    ras_wild_type: bool | None = None
    hla_a0201_positive: bool | None = None
    hpv_positive: bool | None = None

    def __post_init__(self) -> None:
        _opt_number("pdl1_tps_min", self.pdl1_tps_min, 0, 100, "50")
        _opt_number("pdl1_tps_max", self.pdl1_tps_max, 0, 100, "49")
        _opt_number("tmb_min", self.tmb_min, 0, 1e4, "10")
        _opt_number("age_min", self.age_min, 0, 120, "18")
        _opt_number("age_max", self.age_max, 0, 120, "75")
        _opt_number("life_expectancy_weeks_min", self.life_expectancy_weeks_min, 0, 520, "12")
        _opt_number("pdl1_cps_min", self.pdl1_cps_min, 0, 100, "10")
        _opt_number("crcl_min", self.crcl_min, 0, 300, "60")
        if self.ecog_max is not None and (
            isinstance(self.ecog_max, bool)
            or not isinstance(self.ecog_max, int | np.integer)
            or not 0 <= self.ecog_max <= 4
        ):
            raise ParameterError(
                f"Eligibility ecog_max={self.ecog_max!r} is invalid; give a whole number 0-4 "
                "(e.g. ecog_max=1) or None for no limit"
            )
        for f in ("measurable_disease", "no_brain_mets"):
            if not isinstance(getattr(self, f), bool | np.bool_):
                raise ParameterError(
                    f"Eligibility {f}={getattr(self, f)!r} is invalid; give True or False"
                )
        for f in _FLAGS:
            v = getattr(self, f)
            if v is not None and not isinstance(v, bool | np.bool_):
                raise ParameterError(
                    f"Eligibility {f}={v!r} is invalid; give True (required), False (excluded) "
                    "or None (either)"
                )
        for lo, hi in (("pdl1_tps_min", "pdl1_tps_max"), ("age_min", "age_max")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ParameterError(
                    f"Eligibility {lo}={a!r} is above {hi}={b!r}; no patient could qualify; "
                    f"give {lo} <= {hi}"
                )

    @classmethod
    def from_dict(cls, criteria: Mapping[str, Any]) -> Eligibility:
        """Build from a mapping (e.g. a spec file's ``[population] eligibility`` table).

        Examples
        --------
        >>> Eligibility.from_dict({"pdl1_tps_min": 50}).pdl1_tps_min
        50
        """
        for key in criteria:
            if key not in ELIGIBILITY_KEYS:
                raise UnknownNameError(
                    did_you_mean(str(key), ELIGIBILITY_KEYS, what="eligibility field")
                )
        return cls(**dict(criteria))

    def apply(self, df: pd.DataFrame, cancer: str | None = None) -> np.ndarray:
        """Boolean mask of the eligible rows of a :func:`sample_covariates` frame.

        Missing values (e.g. PD-L1 of haematologic cancers) fail any criterion on them.
        ``life_expectancy_weeks_min`` needs the ``cancer`` (the patient's prognosis comes
        from the platform model's death hazard at the baseline burden,
        :func:`oncotwin.models.metastatic_io_cancers.baseline_life_expectancy_weeks`).
        """
        _require(df, ("pdl1_tps_pct", "tmb_mut_per_mb", "ecog", "age_yr"))
        ok = np.ones(len(df), bool)
        pdl1 = df["pdl1_tps_pct"].to_numpy(float)
        if self.pdl1_tps_min is not None:
            ok &= pdl1 >= self.pdl1_tps_min
        if self.pdl1_tps_max is not None:
            ok &= pdl1 <= self.pdl1_tps_max
        if self.tmb_min is not None:
            ok &= df["tmb_mut_per_mb"].to_numpy(float) >= self.tmb_min
        if self.ecog_max is not None:
            ok &= df["ecog"].to_numpy() <= self.ecog_max
        if self.measurable_disease:
            ok &= df["measurable_disease"].to_numpy(bool)
        if self.no_brain_mets:
            ok &= df["site_brain"].to_numpy() == 0
        if self.pdl1_cps_min is not None:
            _require(df, ("pdl1_cps",))
            ok &= df["pdl1_cps"].to_numpy(float) >= self.pdl1_cps_min
        if self.crcl_min is not None:
            _require(df, ("crcl_ml_min",))
            ok &= df["crcl_ml_min"].to_numpy(float) >= self.crcl_min
        for f in _FLAGS:
            want = getattr(self, f)
            if want is not None:
                _require(df, (f,))
                ok &= df[f].to_numpy(bool) == bool(want)
        age = df["age_yr"].to_numpy(float)
        if self.age_min is not None:
            ok &= age >= self.age_min
        if self.age_max is not None:
            ok &= age <= self.age_max
        if self.life_expectancy_weeks_min is not None:
            if cancer is None:
                raise ParameterError(
                    "Eligibility life_expectancy_weeks_min needs the cancer: call "
                    "apply(df, cancer=...) (sample_eligible passes it)"
                )
            from oncotwin.models.metastatic_io_cancers import baseline_life_expectancy_weeks

            ok &= baseline_life_expectancy_weeks(df, cancer) >= self.life_expectancy_weeks_min
        return ok

    def describe(self) -> str:
        """The criteria in words (``"all patients"`` when none)."""
        parts = []
        if self.pdl1_tps_min is not None:
            parts.append(f"PD-L1 TPS >= {self.pdl1_tps_min:g}%")
        if self.pdl1_tps_max is not None:
            parts.append(f"PD-L1 TPS <= {self.pdl1_tps_max:g}%")
        if self.tmb_min is not None:
            parts.append(f"TMB >= {self.tmb_min:g} mut/Mb")
        if self.ecog_max is not None:
            parts.append(f"ECOG <= {self.ecog_max}")
        if self.measurable_disease:
            parts.append("measurable disease (a lesion >= 10 mm, node >= 15 mm)")
        if self.no_brain_mets:
            parts.append("no brain metastases")
        if self.pdl1_cps_min is not None:
            parts.append(f"PD-L1 CPS >= {self.pdl1_cps_min:g}")
        if self.crcl_min is not None:
            parts.append(f"creatinine clearance (Cockcroft-Gault) >= {self.crcl_min:g} mL/min")
        for f, label in _FLAGS.items():
            v = getattr(self, f)
            if v is not None:
                parts.append(label if v else f"not {label}")
        if self.life_expectancy_weeks_min is not None:
            parts.append(f"life expectancy >= {self.life_expectancy_weeks_min:g} weeks")
        if self.age_min is not None or self.age_max is not None:
            lo = "" if self.age_min is None else f"{self.age_min:g}"
            hi = "" if self.age_max is None else f"{self.age_max:g}"
            parts.append(
                f"age {lo}-{hi} yr" if lo and hi else f"age {'>= ' + lo if lo else '<= ' + hi} yr"
            )
        return "; ".join(parts) if parts else "all patients"


#: Yes/no covariates a trial may require (True) or exclude (False), and their words.
_FLAGS: dict[str, str] = {
    "her2_positive": "HER2-positive",
    "msi_high": "MSI-high",
    "cd19_positive": "CD19-positive",
    "bcma_positive": "BCMA-positive",
    "egfr_mutant": "EGFR-mutant",
    "braf_v600_mutant": "BRAF V600-mutant",
    "ras_wild_type": "RAS wild-type",
    "hla_a0201_positive": "HLA-A*02:01-positive",
    "hpv_positive": "HPV-positive",
}

#: The fields of :class:`Eligibility` (for spec-file validation).
ELIGIBILITY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Eligibility))


def _require(df: pd.DataFrame, cols: Iterable[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ParameterError(
            f"the frame lacks columns {missing}; pass a frame from sample_covariates()"
        )


def sample_eligible(
    cancer: str,
    n: int,
    eligibility: Eligibility | Mapping[str, Any] | None = None,
    *,
    seed: int,
    block: int = 4096,
    max_screened: int = 2_000_000,
) -> pd.DataFrame:
    """The first ``n`` eligible patients (by patient index) of run ``seed``.

    Patients are drawn in blocks of ``block`` and screened; as each patient depends only on
    ``(seed, index)``, the result does not depend on ``block``. ``df.attrs["screened"]`` is the
    number of patients screened to find them (index of the last one + 1).

    Examples
    --------
    >>> df = sample_eligible("nsclc", 10, Eligibility(pdl1_tps_min=50), seed=0)
    >>> len(df), bool((df.pdl1_tps_pct >= 50).all())
    (10, True)
    """
    n = _check_count(n, "n", minimum=1)
    block = _check_count(block, "block", minimum=1)
    if eligibility is None:
        elig = Eligibility()
    elif isinstance(eligibility, Eligibility):
        elig = eligibility
    else:
        elig = Eligibility.from_dict(eligibility)
    chunks: list[pd.DataFrame] = []
    found, start = 0, 0
    while found < n:
        if start >= max_screened:
            raise OncotwinError(
                f"only {found} of {n} patients with {resolve_cancer(cancer)!r} met "
                f"'{elig.describe()}' among {start} screened; loosen the eligibility or raise "
                "max_screened"
            )
        df = sample_covariates(cancer, min(block, max_screened - start), seed=seed, start=start)
        keep = df[elig.apply(df, cancer=cancer)]
        chunks.append(keep)
        found += len(keep)
        start += len(df)
    out = pd.concat(chunks, ignore_index=True).iloc[:n].reset_index(drop=True)
    out.attrs["screened"] = int(out.patient_id.iloc[-1]) + 1
    out.attrs["eligibility"] = elig.describe()
    return out
