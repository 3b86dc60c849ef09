"""Cancer types and the literature-based covariate assumptions, loaded from package data.

The values live in ``population/data/``: ``cancers.toml`` (cancer types, aliases, the per-cancer
:data:`ASSUMPTIONS`), ``covariate_parameters.toml`` (:data:`COVARIATE_PARAMETERS`) and
``lesions.toml`` (:data:`LESIONS`); every value is flagged an assumption with its reason. The
organ list comes from ``oncotwin/data/organs.toml`` (:mod:`oncotwin._organs`).
Public names are re-exported by :mod:`oncotwin.population.covariates`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from oncotwin._datafiles import (
    check_keys,
    fail,
    field_float,
    field_str,
    field_strs,
    field_table,
    parameter_record,
    read_package_toml,
)
from oncotwin._organs import COVARIATE_ORGANS
from oncotwin.errors import ParameterError, UnknownNameError, did_you_mean
from oncotwin.parameters import Parameter

__all__ = [
    "ASSUMPTIONS",
    "CANCER_TYPES",
    "COVARIATE_PARAMETERS",
    "LESIONS",
    "ORGANS",
    "CancerAssumptions",
    "cancer_aliases",
    "load_assumptions",
    "load_covariate_parameters",
    "load_lesions",
    "resolve_cancer",
]

_PACKAGE = "oncotwin.population"

#: Organs with a metastatic-site column ``site_<organ>`` (lesion count) and ``largest_<organ>_mm``.
ORGANS: tuple[str, ...] = COVARIATE_ORGANS


# --------------------------------------------------------------------------------------------
# Cancer types and aliases (cancers.toml)
# --------------------------------------------------------------------------------------------
_CANCERS, _CANCERS_FILE = read_package_toml(_PACKAGE, "data/cancers.toml")
check_keys(
    _CANCERS,
    {"types", "haematologic", "aliases", "units", "reasons", "assumptions"},
    file=_CANCERS_FILE,
    where="cancers",
)

#: Canonical cancer-type names (the keys of the shipped covariate file).
CANCER_TYPES: tuple[str, ...] = field_strs(_CANCERS, "types", file=_CANCERS_FILE, where="cancers")


def _cancer_names(key: str, values: Any, where: str) -> None:
    for v in values:
        if v not in CANCER_TYPES:
            msg = did_you_mean(v, CANCER_TYPES, what="cancer type")
            raise fail(_CANCERS_FILE, where, msg, f"list it in types or fix {key}")


_ALIASES: dict[str, str] = {
    k: field_str(_CANCERS["aliases"], k, file=_CANCERS_FILE, where="aliases")
    for k in field_table(_CANCERS, "aliases", file=_CANCERS_FILE, where="cancers")
}
_cancer_names("aliases", _ALIASES.values(), "aliases")
_HAEMATOLOGIC = frozenset(field_strs(_CANCERS, "haematologic", file=_CANCERS_FILE, where="cancers"))
_cancer_names("haematologic", _HAEMATOLOGIC, "haematologic")


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def cancer_aliases() -> dict[str, str]:
    """Accepted aliases (normalised: lower case, ``_`` for any run of other characters)."""
    return dict(_ALIASES)


def resolve_cancer(name: str) -> str:
    """The canonical cancer-type name of ``name`` (canonical name or alias, any case).

    Examples
    --------
    >>> resolve_cancer("NSCLC"), resolve_cancer("RCC"), resolve_cancer("HER2+ breast")
    ('nsclc', 'renal_cell', 'breast_her2')
    """
    if not isinstance(name, str):
        raise UnknownNameError(f"cancer type must be a string such as 'nsclc', got {name!r}")
    key = _norm_name(name)
    if key in CANCER_TYPES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise UnknownNameError(
        did_you_mean(name, (*CANCER_TYPES, *_ALIASES), what="cancer type")
        + f"; canonical names: {', '.join(CANCER_TYPES)}"
    )


# --------------------------------------------------------------------------------------------
# Per-cancer assumptions (everything the cohorts lack)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CancerAssumptions:
    """Per-cancer covariate distributions that the cohorts do not provide (all assumptions).

    Attributes
    ----------
    site_probability
        Probability that each organ of :data:`ORGANS` has disease at baseline (primary included).
    pdl1
        ``(P(TPS < 1%), P(TPS >= 50%))`` where the cohort has no PD-L1 data; ``None`` when the
        cohort provides it or the score does not apply (haematologic cancers: NaN).
    phenotype
        ``(inflamed, excluded, desert)`` frequencies, or ``None`` (not applicable: NaN).
    ecog
        ``(P(ECOG 0), P(ECOG 1), P(ECOG 2))`` in trial populations.
    ldh_median_uln
        Median LDH as a multiple of the upper limit of normal (log-normal, SD of log in
        :data:`COVARIATE_PARAMETERS`).
    her2, cd19, bcma
        Probability of target-antigen positivity.
    msi_high
        Probability of MSI-high; ``None`` takes the cohort proportion from the JSON.
    rho_msi_tmb
        Latent correlation of MSI-high with TMB; ``None`` takes the shared record of
        :data:`COVARIATE_PARAMETERS`.
    pdl1_cps
        PD-L1 combined positive score anchors ``((threshold, P(CPS >= threshold)), ...)``
        (thresholds rising from 1, probabilities falling), or ``None`` (no CPS: NaN).
    ras_wild_type, braf_v600_mutant, egfr_mutant, hpv_positive
        Probability of KRAS/NRAS wild type, a BRAF V600 mutation (a subset of the RAS wild
        type), an activating EGFR mutation (exclusive of BRAF) and HPV-driven disease; 0 where
        the cancer does not model them.
    height_cm
        ``(male mean, female mean, SD)``.
    reason
        Why these values; ``assumption`` is always true.
    """

    site_probability: Mapping[str, float]
    pdl1: tuple[float, float] | None
    phenotype: tuple[float, float, float] | None
    ecog: tuple[float, float, float] = (0.5, 0.48, 0.02)
    ldh_median_uln: float = 0.85
    her2: float = 0.0
    cd19: float = 0.0
    bcma: float = 0.0
    msi_high: float | None = None
    rho_msi_tmb: float | None = None
    pdl1_cps: tuple[tuple[float, float], ...] | None = None
    ras_wild_type: float = 0.0
    braf_v600_mutant: float = 0.0
    egfr_mutant: float = 0.0
    hpv_positive: float = 0.0
    height_cm: tuple[float, float, float] = (176.0, 163.0, 7.0)
    reason: str = ""
    assumption: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.site_probability) - set(ORGANS)
        if unknown:
            raise ParameterError(f"site_probability has unknown organs {sorted(unknown)}")
        if self.phenotype is not None and not math.isclose(sum(self.phenotype), 1.0):
            raise ParameterError(f"phenotype frequencies {self.phenotype} must sum to 1")
        if not math.isclose(sum(self.ecog), 1.0):
            raise ParameterError(f"ECOG frequencies {self.ecog} must sum to 1")
        for k in (*_PROBABILITIES, "msi_high"):
            v = getattr(self, k)
            if v is not None and not 0.0 <= v <= 1.0:
                raise ParameterError(f"{k}={v!r} is a probability; give a number from 0 to 1")
        if self.rho_msi_tmb is not None and not -1.0 < self.rho_msi_tmb < 1.0:
            raise ParameterError(f"rho_msi_tmb={self.rho_msi_tmb!r}; give a correlation in (-1, 1)")
        if self.braf_v600_mutant + self.egfr_mutant > 1.0:
            raise ParameterError(
                "braf_v600_mutant + egfr_mutant exceed 1; the two drivers are mutually exclusive"
            )
        if self.ras_wild_type > 0 and self.braf_v600_mutant > self.ras_wild_type:
            raise ParameterError(
                f"braf_v600_mutant={self.braf_v600_mutant} exceeds ras_wild_type="
                f"{self.ras_wild_type}; BRAF V600 tumours are RAS wild type (a subset)"
            )
        if self.pdl1_cps is not None:
            thr = [a for a, _ in self.pdl1_cps]
            prob = [b for _, b in self.pdl1_cps]
            if (
                not thr
                or thr[0] < 1.0
                or thr[-1] > 100.0
                or any(b <= a for a, b in itertools.pairwise(thr))
                or any(not 0.0 < p <= 1.0 for p in prob)
                or any(b > a for a, b in itertools.pairwise(prob))
            ):
                raise ParameterError(
                    f"pdl1_cps anchors {self.pdl1_cps} must have thresholds rising from 1 to "
                    "at most 100 and probabilities in (0, 1] that do not rise"
                )


_TUPLES = {"pdl1": 2, "phenotype": 3, "ecog": 3, "height_cm": 3}
_PROBABILITIES = (
    "her2",
    "cd19",
    "bcma",
    "ras_wild_type",
    "braf_v600_mutant",
    "egfr_mutant",
    "hpv_positive",
)
_SCALARS = ("ldh_median_uln", "msi_high", "rho_msi_tmb", *_PROBABILITIES)
_FIELDS = frozenset(f.name for f in fields(CancerAssumptions))


def _numbers(rec: Mapping[str, Any], key: str, n: int, label: str, where: str) -> tuple:
    v = rec[key]
    if (
        not isinstance(v, list)
        or len(v) != n
        or any(isinstance(x, bool) or not isinstance(x, int | float) for x in v)
    ):
        raise fail(label, f"{where}.{key}", f"expected {n} numbers, got {v!r}", "write [a, b, ...]")
    return tuple(v)


def _assumption(name: str, rec: Any, reasons: Mapping[str, str], label: str) -> CancerAssumptions:
    where = f"assumptions.{name}"
    if not isinstance(rec, dict):
        raise fail(label, where, f"expected a table, got {rec!r}", f"write [{where}]")
    check_keys(rec, _FIELDS, file=label, where=where)
    if rec.get("assumption") is not True:
        raise fail(label, f"{where}.assumption", "must be true", "write assumption = true")
    sites = field_table(rec, "site_probability", file=label, where=where)
    for o in sites:
        if o not in ORGANS:
            raise fail(
                label, f"{where}.site_probability.{o}",
                did_you_mean(o, ORGANS, what="organ"), "use an organ of data/organs.toml",
            )  # fmt: skip
    kw: dict[str, Any] = {
        "site_probability": {
            o: float(
                field_float(sites, o, file=label, where=f"{where}.site_probability", default=0.0)
            )
            for o in ORGANS
        },
        "pdl1": None,
        "phenotype": None,
    }
    kw.update({k: _numbers(rec, k, n, label, where) for k, n in _TUPLES.items() if k in rec})
    if "pdl1_cps" in rec:
        cps = rec["pdl1_cps"]
        if not isinstance(cps, list) or not cps:
            raise fail(
                label,
                f"{where}.pdl1_cps",
                f"expected anchors, got {cps!r}",
                "write [[1, 0.85], [20, 0.43]] (threshold, P(CPS >= threshold))",
            )
        kw["pdl1_cps"] = tuple(_numbers({"pdl1_cps": a}, "pdl1_cps", 2, label, where) for a in cps)
    kw.update({k: rec[k] for k in _SCALARS if k in rec})
    for k in _SCALARS:
        if k in rec and (isinstance(rec[k], bool) or not isinstance(rec[k], int | float)):
            raise fail(label, f"{where}.{k}", f"expected a number, got {rec[k]!r}", "fix it")
    template = field_str(rec, "reason", file=label, where=where)
    try:
        kw["reason"] = template.format_map(reasons)
        return CancerAssumptions(**kw)
    except KeyError as exc:
        raise fail(
            label, f"{where}.reason", f"unknown shared reason {exc}", f"use one of {list(reasons)}"
        ) from None
    except ParameterError as exc:
        raise fail(label, where, str(exc), "fix the frequencies") from None


def load_assumptions(
    data: Mapping[str, Any] | None = None, *, label: str = ""
) -> dict[str, CancerAssumptions]:
    """The per-cancer assumptions of ``cancers.toml`` (default: the shipped file), by cancer."""
    if data is None:
        data, label = _CANCERS, _CANCERS_FILE
    label = label or "<cancers>"
    reasons = {
        k: field_str(data["reasons"], k, file=label, where="reasons")
        for k in field_table(data, "reasons", file=label, where="cancers")
    }
    table = field_table(data, "assumptions", file=label, where="cancers")
    out = {name: _assumption(name, rec, reasons, label) for name, rec in table.items()}
    if list(out) != list(CANCER_TYPES):
        raise fail(
            label, "assumptions", f"cancers {list(out)} differ from types {list(CANCER_TYPES)}",
            "give one [assumptions.<cancer>] per cancer type, in the order of types",
        )  # fmt: skip
    return out


#: Per-cancer assumptions for covariates the cohorts lack (all flagged as assumptions).
ASSUMPTIONS: dict[str, CancerAssumptions] = load_assumptions()


# --------------------------------------------------------------------------------------------
# Scalar assumptions and lesions (covariate_parameters.toml, lesions.toml)
# --------------------------------------------------------------------------------------------
def load_covariate_parameters(
    data: Mapping[str, Any] | None = None, *, label: str = ""
) -> dict[str, Parameter]:
    """The parameter records of ``covariate_parameters.toml`` (default: the shipped file)."""
    if data is None:
        data, label = read_package_toml(_PACKAGE, "data/covariate_parameters.toml")
    label = label or "<covariate parameters>"
    return {k: parameter_record(v, file=label, where=k) for k, v in data.items()}


#: Scalar assumptions shared across cancers: latent correlations, lesion sizes, CD8 densities.
COVARIATE_PARAMETERS: dict[str, Parameter] = load_covariate_parameters()


def load_lesions(
    data: Mapping[str, Any] | None = None, *, label: str = ""
) -> dict[str, tuple[float, float]]:
    """Per organ ``(extra_lesions_mean, largest_median_mm)`` of ``lesions.toml``."""
    if data is None:
        data, label = read_package_toml(_PACKAGE, "data/lesions.toml")
    label = label or "<lesions>"
    check_keys(data, {"units", "provenance", "lesions"}, file=label, where="lesions")
    table = field_table(data, "lesions", file=label, where="lesions")
    if list(table) != list(ORGANS):
        raise fail(label, "lesions", f"organs {list(table)} differ from {list(ORGANS)}",
                   "give one [lesions.<organ>] per covariate organ, in organ order")  # fmt: skip
    out = {}
    for o, rec in table.items():
        w = f"lesions.{o}"
        check_keys(rec, {"extra_lesions_mean", "largest_median_mm"}, file=label, where=w)
        out[o] = (
            field_float(rec, "extra_lesions_mean", file=label, where=w),
            field_float(rec, "largest_median_mm", file=label, where=w),
        )
    return out


#: Per organ: (mean extra lesions beyond the first, Poisson; median largest diameter [mm]).
#: Assumption: rounded typical values of metastatic trial populations (lymph node: short axis).
LESIONS: dict[str, tuple[float, float]] = load_lesions()
