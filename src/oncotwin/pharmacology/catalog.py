"""The drug catalog: immunotherapies, antibodies, chemotherapy, TKIs, cell therapies.

The records live in the package data file ``pharmacology/data/drugs.toml`` (one table per drug);
this module holds the :class:`Drug` record, its validation, the loader and the look-ups.

Every PK value is a :class:`~oncotwin.parameters.Parameter` with a unit and either a
``Source(citation_key, where)`` pointing at a population-PK paper, a review table or an FDA/EMA
label, or ``assumption=True`` with the reason. Units: L, L/day, mg/day, mg/L, 1/day, g/mol.

Antibodies use a two-compartment model (``CL``, ``V1``, ``Q``, ``V2``; plus Michaelis-Menten
``Vmax``, ``Km`` where the source gives a target-mediated clearance). Small molecules give
``CL``, ``V1`` (and ``Q``, ``V2``, ``ka``, ``F`` where known); oral clearances and volumes are
apparent (CL/F, V/F) unless ``F`` is given. Cell therapies (CAR-T, sipuleucel-T) and the
oncolytic virus carry no PK: their kinetics are model states; they list dose ranges instead.
Radiotherapy is a catalog entry too (mechanism and modality ``radiotherapy``/``radiation``,
dosed in Gy per fraction by external beam to a named site, no PK): the cell kill it causes
(e.g. the linear-quadratic model) and that model's citation belong to the model that takes
the dose, not to the catalog.

Examples
--------
>>> get_drug("Keytruda").name
'pembrolizumab'
>>> round(half_life_days(get_drug("pembro")), 1)
22.8
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from oncotwin._datafiles import (
    check_keys,
    fail,
    field_str,
    field_strs,
    field_table,
    parameter_record,
    parse_toml,
    read_package_text,
)
from oncotwin.citations import all_citations
from oncotwin.errors import ParameterError, UnknownNameError, did_you_mean
from oncotwin.parameters import Parameter

__all__ = [
    "CYTOTOXIC_CLASSES",
    "DOSE_KINDS",
    "MECHANISMS",
    "MECHANISM_CLASSES",
    "MODALITIES",
    "ROUTES",
    "SUPPORTIVE",
    "Drug",
    "all_drugs",
    "drug_table",
    "drugs_by_mechanism",
    "get_drug",
    "half_life_days",
]

MECHANISMS: tuple[str, ...] = (
    "anti-PD-1",
    "anti-PD-L1",
    "anti-CTLA-4",
    "anti-tumor-antigen mAb",
    "cytokine",
    "chemotherapy",
    "VEGFR TKI",
    "lymphodepletion",
    "CAR-T",
    "cellular vaccine",
    "oncolytic virus",
    "peptide vaccine",
    "radiotherapy",
    # added with the standard-of-care drugs (issue 12)
    "anti-VEGF mAb",
    "BRAF/MEK inhibitor",
    "EGFR TKI",
    "immunomodulatory drug",
    "proteasome inhibitor",
    "corticosteroid",
    "anti-LAG-3",
    "bispecific T-cell engager",
    "tumour-infiltrating lymphocytes",
    "antibody-drug conjugate",
    "supportive care",
    "mTOR inhibitor",
)
#: Mechanism classes of a drug's effects in a model (``mechanisms = [...]`` in the catalog; a
#: drug may carry several, e.g. cyclophosphamide is lymphodepleting and alkylating). The
#: cytotoxic classes act through the per-class chemotherapy mechanism of ``metastatic_io``
#: (:mod:`oncotwin.models._metastatic_io_chemo`).
CYTOTOXIC_CLASSES: tuple[str, ...] = (
    "taxane",
    "vinca alkaloid",
    "platinum",
    "antimetabolite",
    "alkylating",
    "topoisomerase inhibitor",
    "anthracycline",
)
MECHANISM_CLASSES: tuple[str, ...] = (*CYTOTOXIC_CLASSES, "lymphodepletion")
#: The mechanism of drugs given with a regimen that have no effect of their own in any model
#: (mesna protects the bladder from ifosfamide); the dosing layer gives them no events.
SUPPORTIVE = "supportive care"
MODALITIES: tuple[str, ...] = (
    "antibody",
    "small molecule",
    "cytokine",
    "cell therapy",
    "vaccine",
    "virus",
    "radiation",
)
DOSE_KINDS: tuple[str, ...] = ("mass", "cells", "IU", "PFU", "Gy")
ROUTES: tuple[str, ...] = ("IV", "SC", "IM", "PO", "intralesional", "external beam")


# --------------------------------------------------------------------------------------------
# Drug record
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=True)
class Drug:
    """One drug: identity, target, mechanism class, dosing kind, routes and sourced PK."""

    name: str
    aliases: tuple[str, ...]
    target: str
    mechanism: str
    modality: str
    dose_kind: str
    routes: tuple[str, ...]
    pk: Mapping[str, Parameter] = field(default_factory=dict)
    molecular_weight: Parameter | None = None
    approved_doses: tuple[str, ...] = ()
    dose_range: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    notes: str = ""
    #: mechanism classes of the drug's effects (:data:`MECHANISM_CLASSES`)
    mechanisms: tuple[str, ...] = ()
    #: pharmacodynamic parameter records (e.g. ``myelo_slope``, Friberg's linear slope)
    pd: Mapping[str, Parameter] = field(default_factory=dict)
    #: the approved dose [mg] of one cycle for a 1.8 m^2 / 75 kg adult: one unit of a model's
    #: cytotoxic exposure (its class log-kill is per this dose)
    standard_dose_mg: float | None = None
    #: the conditioning dose [mg] (1.8 m^2) that is one unit of the lymphodepleting exposure
    lymphodepletion_dose_mg: float | None = None
    #: dosed by a target AUC [mg min/mL] with Calvert's formula (carboplatin); its clearance
    #: follows the patient's GFR (CL = GFR + 25 mL/min)
    auc_dosing: bool = False

    def __post_init__(self) -> None:
        if self.name != self.name.lower().strip():
            raise ValueError(f"drug name {self.name!r} must be the lower-case INN")
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"{self.name}: mechanism {self.mechanism!r} not in {MECHANISMS}")
        if self.modality not in MODALITIES:
            raise ValueError(f"{self.name}: modality {self.modality!r} not in {MODALITIES}")
        if self.dose_kind not in DOSE_KINDS:
            raise ValueError(f"{self.name}: dose kind {self.dose_kind!r} not in {DOSE_KINDS}")
        for r in self.routes:
            if r not in ROUTES:
                raise ValueError(f"{self.name}: route {r!r} not in {ROUTES}")
        for m in self.mechanisms:
            if m not in MECHANISM_CLASSES:
                raise ValueError(f"{self.name}: mechanisms entry {m!r} not in {MECHANISM_CLASSES}")
        object.__setattr__(self, "pk", MappingProxyType(dict(self.pk)))
        object.__setattr__(self, "pd", MappingProxyType(dict(self.pd)))

    __hash__ = None  # type: ignore[assignment]  # pk is a mapping

    @property
    def half_life_days(self) -> float | None:
        """Terminal half-life [day] from the PK parameters (None without PK)."""
        return half_life_days(self)


# --------------------------------------------------------------------------------------------
# Loading pharmacology/data/drugs.toml
# --------------------------------------------------------------------------------------------
#: The catalog's data file (one table per drug; see its header for the fields).
DATA_FILE = "drugs.toml"
_DRUG_KEYS = frozenset(
    {
        "aliases", "target", "mechanism", "modality", "dose_kind", "routes", "pk",
        "molecular_weight", "approved_doses", "dose_range", "citations", "notes",
        "mechanisms", "pd", "standard_dose_mg", "lymphodepletion_dose_mg", "auc_dosing",
    }
)  # fmt: skip


def _drug(name: str, rec: Any, label: str) -> Drug:
    if not isinstance(rec, dict):
        raise fail(label, name, f"expected a table, got {rec!r}", f"write [{name}]")
    check_keys(rec, _DRUG_KEYS, file=label, where=name)
    kw: dict[str, Any] = {}
    for k in ("target", "mechanism", "modality", "dose_kind"):
        kw[k] = field_str(rec, k, file=label, where=name)
    kw["notes"] = field_str(rec, "notes", file=label, where=name, default="")
    kw["aliases"] = field_strs(rec, "aliases", file=label, where=name)
    kw["routes"] = field_strs(rec, "routes", file=label, where=name)
    for k in ("approved_doses", "dose_range", "citations"):
        kw[k] = field_strs(rec, k, file=label, where=name, default=())
    pk = field_table(rec, "pk", file=label, where=name, default={})
    kw["pk"] = {k: parameter_record(v, file=label, where=f"{name}.pk.{k}") for k, v in pk.items()}
    kw["mechanisms"] = field_strs(rec, "mechanisms", file=label, where=name, default=())
    pd = field_table(rec, "pd", file=label, where=name, default={})
    kw["pd"] = {k: parameter_record(v, file=label, where=f"{name}.pd.{k}") for k, v in pd.items()}
    for key in ("standard_dose_mg", "lymphodepletion_dose_mg"):
        if key in rec:
            dose = rec[key]
            if isinstance(dose, bool) or not isinstance(dose, int | float) or not dose > 0:
                raise fail(
                    label,
                    f"{name}.{key}",
                    f"expected a dose in mg > 0, got {dose!r}",
                    f"write e.g. {key} = 135.0",
                )
            kw[key] = float(dose)
    if "auc_dosing" in rec:
        flag = rec["auc_dosing"]
        if not isinstance(flag, bool):
            raise fail(
                label,
                f"{name}.auc_dosing",
                f"expected true or false, got {flag!r}",
                "write auc_dosing = true (Calvert dosing) or leave it out",
            )
        kw["auc_dosing"] = flag
    if kw["modality"] == "antibody":
        from oncotwin.pharmacology.poppk import check_pk_table

        try:
            check_pk_table(name, kw["pk"])
        except ParameterError as exc:
            raise fail(label, f"{name}.pk", str(exc), "fix the antibody's PK table") from None
    if "molecular_weight" in rec:
        kw["molecular_weight"] = parameter_record(
            rec["molecular_weight"], file=label, where=f"{name}.molecular_weight"
        )
    for key in kw["citations"]:
        if key not in all_citations():
            msg = did_you_mean(key, all_citations(), what="citation")
            raise fail(label, f"{name}.citations", msg, "add the paper to data/citations.toml")
    try:
        return Drug(name, **kw)
    except ValueError as exc:
        problem = str(exc).removeprefix(f"{name}: ")
        raise fail(label, name, problem, "use one of the listed values") from None


def _catalog_files() -> list[str]:
    """The shipped catalog files: ``drugs.toml``, then every ``drugs_<group>.toml`` (e.g.
    ``drugs_chemotherapy.toml``) in name order; each file holds whole drug tables."""
    from importlib import resources

    folder = resources.files("oncotwin.pharmacology").joinpath("data")
    extra = sorted(
        f.name for f in folder.iterdir() if f.name.startswith("drugs_") and f.name.endswith(".toml")
    )
    return [DATA_FILE, *extra]


def load_drugs(text: str | None = None, *, label: str = "") -> list[Drug]:
    """Parse a drug-catalog TOML text (default: the shipped catalog, ``pharmacology/data/
    drugs.toml`` and the ``drugs_<group>.toml`` files beside it, in that order).

    A malformed file raises :class:`~oncotwin._datafiles.DataFileError` naming the file and the
    field (e.g. ``pembrolizumab.pk.CL.unit``); a drug defined in two files is refused.
    """
    if text is not None:
        label = label or "<drug catalog>"
        return [_drug(name, rec, label) for name, rec in parse_toml(text, label).items()]
    out: list[Drug] = []
    where: dict[str, str] = {}
    for name in _catalog_files():
        text, label = read_package_text("oncotwin.pharmacology", f"data/{name}")
        for drug_name, rec in parse_toml(text, label).items():
            if drug_name in where:
                raise fail(
                    label,
                    drug_name,
                    f"drug already defined in {where[drug_name]}",
                    "keep one table per drug across the catalog files",
                )
            where[drug_name] = label
            out.append(_drug(drug_name, rec, label))
    return out


_DRUGS: list[Drug] = load_drugs()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


_BY_NAME: dict[str, Drug] = {d.name: d for d in _DRUGS}
_LOOKUP: dict[str, Drug] = {}
for _d in _DRUGS:
    for _key in (_d.name, *_d.aliases):
        _k = _norm(_key)
        if _k in _LOOKUP and _LOOKUP[_k] is not _d:
            raise RuntimeError(f"drug alias {_key!r} is ambiguous")
        _LOOKUP[_k] = _d


def drug_names_and_aliases() -> list[str]:
    """Every name and alias (original spelling), longest first (for the regimen parser)."""
    out = [k for d in _DRUGS for k in (d.name, *d.aliases)]
    return sorted(out, key=len, reverse=True)


def get_drug(name_or_alias: str) -> Drug:
    """Look a drug up by INN or alias, case-insensitively.

    Raises
    ------
    UnknownNameError
        With "did you mean ...?" for close matches.
    """
    try:
        return _LOOKUP[_norm(name_or_alias)]
    except KeyError:
        raise UnknownNameError(unknown_drug_message(name_or_alias)) from None


def unknown_drug_message(name: str) -> str:
    """ "unknown drug 'x'; did you mean ...?" against INNs first, then aliases."""
    msg = did_you_mean(name, [d.name for d in _DRUGS], what="drug", n=1)
    if "did you mean" not in msg:
        alias_msg = did_you_mean(name, [a for d in _DRUGS for a in d.aliases], what="drug", n=1)
        if "did you mean" in alias_msg:
            return alias_msg
    return msg


def all_drugs() -> dict[str, Drug]:
    """Every drug by name."""
    return dict(_BY_NAME)


def drugs_by_mechanism(mechanism: str) -> list[Drug]:
    """The drugs of one mechanism class (e.g. ``"anti-PD-1"``)."""
    if mechanism not in MECHANISMS:
        raise UnknownNameError(did_you_mean(mechanism, MECHANISMS, what="mechanism"))
    return [d for d in _DRUGS if d.mechanism == mechanism]


def half_life_days(drug: Drug) -> float | None:
    """Terminal half-life [day] from the drug's PK parameters.

    Two-compartment: from the micro-constants k10 = CL/V1, k12 = Q/V1, k21 = Q/V2, the slow
    disposition rate beta = (a - sqrt(a² - 4 k10 k21)) / 2 with a = k10 + k12 + k21, and
    t1/2 = ln 2 / beta. One-compartment: ln 2 · V1 / CL. The linear clearance is used; where the
    model has only Michaelis-Menten elimination (CL = 0) the low-concentration limit Vmax/Km is
    used. Returns None for drugs without PK (cell therapies, virus).
    """
    pk = drug.pk
    if "CL" not in pk or "V1" not in pk:
        return None
    cl = pk["CL"].value
    if cl <= 0 and "Vmax" in pk and "Km" in pk:
        cl = pk["Vmax"].value / pk["Km"].value
    v1 = pk["V1"].value
    if cl <= 0 or v1 <= 0:
        return None
    k10 = cl / v1
    if "Q" in pk and "V2" in pk and pk["Q"].value > 0 and pk["V2"].value > 0:
        k12 = pk["Q"].value / v1
        k21 = pk["Q"].value / pk["V2"].value
        a = k10 + k12 + k21
        beta = 0.5 * (a - math.sqrt(a * a - 4.0 * k10 * k21))
        return math.log(2.0) / beta
    return math.log(2.0) / k10


def drug_table() -> list[dict]:
    """One row per drug for a CLI listing: name, target, mechanism, modality, dose kind,
    half-life [day] (None without PK), number of assumed PK values and sources."""
    rows = []
    for d in _DRUGS:
        t = half_life_days(d)
        sources = sorted({p.source.key for p in d.pk.values() if p.source is not None})
        rows.append(
            {
                "name": d.name,
                "target": d.target,
                "mechanism": d.mechanism,
                "modality": d.modality,
                "dose_kind": d.dose_kind,
                "routes": ", ".join(d.routes),
                "half_life_days": None if t is None else round(t, 3),
                "assumed_pk": sum(1 for p in d.pk.values() if p.assumption),
                "sources": ", ".join(sources or d.citations),
            }
        )
    return rows
