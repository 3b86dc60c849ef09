"""The drug catalog: immunotherapies, antibodies, chemotherapy, TKIs, cell therapies.

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
25.8
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from oncotwin.citations import Citation, register_citation
from oncotwin.errors import UnknownNameError, did_you_mean
from oncotwin.parameters import Parameter, Source

__all__ = [
    "DOSE_KINDS",
    "MECHANISMS",
    "MODALITIES",
    "ROUTES",
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
)
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
# Citations (only records whose bibliographic data was checked; DOI left empty when unsure)
# --------------------------------------------------------------------------------------------
_CITATIONS = [
    Citation(
        "Ahamadi2017",
        "Ahamadi M, Freshwater T, Prohn M, et al.",
        2017,
        "Model-based characterization of the pharmacokinetics of pembrolizumab: a humanized "
        "anti-PD-1 monoclonal antibody in advanced solid tumors",
        "CPT Pharmacometrics Syst Pharmacol 6(1):49-57",
        "10.1002/psp4.12139",
    ),
    Citation(
        "Bajaj2017",
        "Bajaj G, Wang X, Agrawal S, Gupta M, Roy A, Feng Y",
        2017,
        "Model-based population pharmacokinetic analysis of nivolumab in patients with solid "
        "tumors",
        "CPT Pharmacometrics Syst Pharmacol 6(1):58-66",
        "10.1002/psp4.12143",
    ),
    Citation(
        "Feng2014",
        "Feng Y, Masson E, Dai D, Parker SM, Berman D, Roy A",
        2014,
        "Model-based clinical pharmacology profiling of ipilimumab in patients with advanced "
        "melanoma",
        "Br J Clin Pharmacol 78(1):106-117",
        "10.1111/bcp.12323",
    ),
    Citation(
        "Stroh2017",
        "Stroh M, Winter H, Marchand M, et al.",
        2017,
        "Clinical pharmacokinetics and pharmacodynamics of atezolizumab in metastatic "
        "urothelial carcinoma",
        "Clin Pharmacol Ther 102(2):305-312",
        "10.1002/cpt.587",
    ),
    Citation(
        "Baverel2018",
        "Baverel PG, Dubois VFS, Jin CY, et al.",
        2018,
        "Population pharmacokinetics of durvalumab in cancer patients and association with "
        "longitudinal biomarkers of disease status",
        "Clin Pharmacol Ther 103(4):631-642",
        "10.1002/cpt.982",
    ),
    Citation(
        "Centanni2019",
        "Centanni M, Moes DJAR, Troconiz IF, Ciccolini J, van Hasselt JGC",
        2019,
        "Clinical pharmacokinetics and pharmacodynamics of immune checkpoint inhibitors",
        "Clin Pharmacokinet 58(7):835-857",
        "10.1007/s40262-019-00748-2",
    ),
    Citation(
        "Wang2014",
        "Wang E, Kang D, Bae KS, Marshall MA, Pavlov D, Parivar K",
        2014,
        "Population pharmacokinetic and pharmacodynamic analysis of tremelimumab in patients "
        "with metastatic melanoma",
        "J Clin Pharmacol 54(10):1108-1116",
        "10.1002/jcph.309",
    ),
    Citation(
        "Bruno2005",
        "Bruno R, Washington CB, Lu JF, Lieberman G, Banken L, Klein P",
        2005,
        "Population pharmacokinetics of trastuzumab in patients with HER2+ metastatic breast "
        "cancer",
        "Cancer Chemother Pharmacol 56(4):361-369",
        "10.1007/s00280-005-1026-z",
    ),
    Citation(
        "Dirks2008",
        "Dirks NL, Nolting A, Kovar A, Meibohm B",
        2008,
        "Population pharmacokinetics of cetuximab in patients with squamous cell carcinoma of "
        "the head and neck",
        "J Clin Pharmacol 48(3):267-278",
        "10.1177/0091270007313393",
    ),
    Citation(
        "Latz2006",
        "Latz JE, Chaudhary A, Ghosh A, Johnson RD",
        2006,
        "Population pharmacokinetic analysis of ten phase II clinical trials of pemetrexed in "
        "cancer patients",
        "Cancer Chemother Pharmacol 57(4):401-411",
        "10.1007/s00280-005-0036-1",
    ),
    Citation(
        "Rini2013",
        "Rini BI, Garrett M, Poland B, et al.",
        2013,
        "Axitinib in metastatic renal cell carcinoma: results of a pharmacokinetic and "
        "pharmacodynamic analysis",
        "J Clin Pharmacol 53(5):491-504",
        "10.1002/jcph.73",
    ),
    Citation(
        "Garrett2014",
        "Garrett M, Poland B, Brennan M, Hee B, Pithavala YK, Amantea MA",
        2014,
        "Population pharmacokinetic analysis of axitinib in healthy volunteers",
        "Br J Clin Pharmacol 77(3):480-492",
        "10.1111/bcp.12206",
    ),
    Citation(
        "Houk2009",
        "Houk BE, Bello CL, Kang D, Amantea M",
        2009,
        "A population pharmacokinetic meta-analysis of sunitinib malate (SU11248) and its "
        "primary metabolite (SU12662) in healthy volunteers and oncology patients",
        "Clin Cancer Res 15(7):2497-2506",
    ),
    Citation(
        "Bruno1996",
        "Bruno R, Vivier N, Vergniol JC, De Phillips SL, Montay G, Sheiner LB",
        1996,
        "A population pharmacokinetic model for docetaxel (Taxotere): model building and "
        "validation",
        "J Pharmacokinet Biopharm 24(2):153-172",
        "10.1007/BF02353487",
    ),
    Citation(
        "Calvert1989",
        "Calvert AH, Newell DR, Gumbrell LA, et al.",
        1989,
        "Carboplatin dosage: prospective evaluation of a simple formula based on renal function",
        "J Clin Oncol 7(11):1748-1756",
    ),
    Citation(
        "Konrad1990",
        "Konrad MW, Hemstreet G, Hersh EM, et al.",
        1990,
        "Pharmacokinetics of recombinant interleukin 2 in humans",
        "Cancer Res 50(7):2009-2017",
    ),
    Citation(
        "KeytrudaLabel",
        "Merck Sharp & Dohme",
        2024,
        "KEYTRUDA (pembrolizumab) prescribing information / product information, "
        "section Pharmacokinetics",
        "Regulatory label",
    ),
    Citation(
        "ProleukinLabel",
        "Chiron / Clinigen",
        2012,
        "PROLEUKIN (aldesleukin) prescribing information, Clinical Pharmacology",
        "FDA label",
    ),
    Citation(
        "HerceptinSmPC",
        "Roche Registration",
        2020,
        "Herceptin (trastuzumab) Summary of Product Characteristics, section 5.2",
        "EMA product information",
    ),
    Citation(
        "ImjudoSmPC",
        "AstraZeneca",
        2023,
        "Imjudo (tremelimumab) Summary of Product Characteristics, section 5.2",
        "EMA product information",
    ),
    Citation(
        "ImfinziLabel",
        "AstraZeneca",
        2023,
        "IMFINZI (durvalumab) product information, section Pharmacokinetics",
        "Regulatory label",
    ),
    Citation(
        "YescartaLabel",
        "Kite Pharma",
        2017,
        "YESCARTA (axicabtagene ciloleucel) prescribing information",
        "FDA label",
    ),
    Citation(
        "KymriahLabel",
        "Novartis",
        2017,
        "KYMRIAH (tisagenlecleucel) prescribing information",
        "FDA label",
    ),
    Citation(
        "AbecmaLabel",
        "Celgene / Bristol-Myers Squibb",
        2021,
        "ABECMA (idecabtagene vicleucel) prescribing information",
        "FDA label",
    ),
    Citation(
        "CarvyktiLabel",
        "Janssen",
        2022,
        "CARVYKTI (ciltacabtagene autoleucel) prescribing information",
        "FDA label",
    ),
    Citation(
        "ProvengeLabel",
        "Dendreon",
        2010,
        "PROVENGE (sipuleucel-T) prescribing information",
        "FDA label",
    ),
    Citation(
        "ImlygicLabel",
        "Amgen",
        2015,
        "IMLYGIC (talimogene laherparepvec) prescribing information",
        "FDA label",
    ),
    Citation(
        "Rosenberg1998",
        "Rosenberg SA, Yang JC, Schwartzentruber DJ, et al.",
        1998,
        "Immunologic and therapeutic evaluation of a synthetic peptide vaccine for the treatment "
        "of patients with metastatic melanoma",
        "Nat Med 4(3):321-327",
        "10.1038/nm0398-321",
    ),
    Citation(
        "Schwartzentruber2011",
        "Schwartzentruber DJ, Lawson DH, Richards JM, et al.",
        2011,
        "gp100 peptide vaccine and interleukin-2 in patients with advanced melanoma",
        "N Engl J Med 364(22):2119-2127",
        "10.1056/NEJMoa1012863",
    ),
]
for _c in _CITATIONS:
    register_citation(_c)


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
        object.__setattr__(self, "pk", MappingProxyType(dict(self.pk)))

    __hash__ = None  # type: ignore[assignment]  # pk is a mapping

    @property
    def half_life_days(self) -> float | None:
        """Terminal half-life [day] from the PK parameters (None without PK)."""
        return half_life_days(self)


def _src(key: str, where: str) -> Source:
    return Source(key, where)


def _p(value: float, unit: str, key: str, where: str, description: str = "") -> Parameter:
    return Parameter(value, unit, source=_src(key, where), description=description)


def _a(value: float, unit: str, reason: str, description: str = "") -> Parameter:
    return Parameter(value, unit, assumption=True, reason=reason, description=description)


_H = 24.0  # h per day; conversions of L/h to L/day are written out below
_ML_MIN = 1440.0 / 1000.0  # mL/min -> L/day


def _mab_mw(kda: float, key: str = "", where: str = "") -> Parameter:
    if key:
        return _p(kda * 1000.0, "g/mol", key, where, "molecular weight")
    return _a(
        kda * 1000.0,
        "g/mol",
        "typical IgG molecular weight (~146-149 kDa); label value not retrieved here",
        "molecular weight",
    )


_DRUGS: list[Drug] = [
    # ---------------------------------------------------------------- checkpoint inhibitors
    Drug(
        "pembrolizumab",
        ("Keytruda", "pembro", "MK-3475", "lambrolizumab"),
        "PD-1",
        "anti-PD-1",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(0.22, "L/day", "Ahamadi2017", "Table 3", "linear clearance"),
            "V1": _p(3.48, "L", "Ahamadi2017", "Table 3", "central volume"),
            "Q": _p(0.795, "L/day", "Ahamadi2017", "Table 3", "intercompartmental clearance"),
            "V2": _p(4.06, "L", "Ahamadi2017", "Table 3", "peripheral volume"),
        },
        _mab_mw(149.0),
        ("pembrolizumab 200 mg IV over 30 min q3w x35", "pembrolizumab 400 mg IV q6w x18"),
        citations=("Ahamadi2017", "KeytrudaLabel"),
        notes="Label: terminal t1/2 22 days, Vss ~6.0 L (KeytrudaLabel).",
    ),
    Drug(
        "nivolumab",
        ("Opdivo", "nivo", "BMS-936558", "MDX-1106"),
        "PD-1",
        "anti-PD-1",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(9.4 * _H / 1000, "L/day", "Bajaj2017", "Table 1 (9.4 mL/h)", "baseline CL"),
            "V1": _p(3.63, "L", "Bajaj2017", "Table 1", "central volume"),
            "Q": _p(32.1 * _H / 1000, "L/day", "Bajaj2017", "Table 1 (32.1 mL/h)", "Q"),
            "V2": _p(2.78, "L", "Bajaj2017", "Table 1", "peripheral volume"),
            "CL_Emax": Parameter(
                -0.295,
                "1",
                source=_src("Bajaj2017", "Table 1"),
                lower=-5.0,
                description="max change of log CL over time",
            ),
            "CL_T50": _p(1410.0 / _H, "day", "Bajaj2017", "Table 1 (1.41e3 h)", "T50 of CL change"),
            "CL_hill": _p(3.15, "1", "Bajaj2017", "Table 1", "Hill coefficient of CL change"),
        },
        _mab_mw(146.0),
        (
            "nivolumab 240 mg IV over 30 min q2w",
            "nivolumab 480 mg IV q4w",
            "nivolumab 3 mg/kg IV q2w",
        ),
        citations=("Bajaj2017",),
        notes="CL(t) = CL * exp(CL_Emax t^h / (CL_T50^h + t^h)); half-lives use baseline CL.",
    ),
    Drug(
        "cemiplimab",
        ("Libtayo", "cemiplimab-rwlc", "REGN2810"),
        "PD-1",
        "anti-PD-1",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _a(
                0.21,
                "L/day",
                "label-like steady-state CL of an IgG4 anti-PD-1; "
                "Libtayo label values not retrieved in this build",
                "linear clearance",
            ),
            "V1": _a(3.3, "L", "typical IgG central volume (close to plasma volume)"),
            "Q": _a(
                0.6,
                "L/day",
                "typical anti-PD-1 intercompartmental clearance "
                "(pembrolizumab 0.795, nivolumab 0.77 L/day)",
            ),
            "V2": _a(
                2.6,
                "L",
                "typical anti-PD-1 peripheral volume; gives t1/2 ~ 19-20 days "
                "as reported for cemiplimab",
            ),
        },
        _mab_mw(146.0),
        ("cemiplimab 350 mg IV over 30 min q3w",),
        citations=(),
    ),
    Drug(
        "atezolizumab",
        ("Tecentriq", "atezo", "MPDL3280A"),
        "PD-L1",
        "anti-PD-L1",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(0.200, "L/day", "Stroh2017", "population PK typical values", "linear CL"),
            "V1": _p(3.28, "L", "Stroh2017", "population PK typical values", "central volume"),
            "Q": _p(0.546, "L/day", "Centanni2019", "Table 2, atezolizumab row (Stroh 2017)"),
            "V2": _p(3.63, "L", "Stroh2017", "population PK typical values", "peripheral volume"),
        },
        _mab_mw(145.0),
        ("atezolizumab 1200 mg IV over 60 min q3w", "atezolizumab 840 mg IV q2w"),
        citations=("Stroh2017", "Centanni2019"),
    ),
    Drug(
        "durvalumab",
        ("Imfinzi", "durva", "MEDI4736"),
        "PD-L1",
        "anti-PD-L1",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(0.232, "L/day", "Centanni2019", "Table 2, durvalumab row (Baverel 2018)"),
            "V1": _p(3.51, "L", "Centanni2019", "Table 2, durvalumab row (Baverel 2018)"),
            "Q": _p(0.476, "L/day", "Centanni2019", "Table 2, durvalumab row (Baverel 2018)"),
            "V2": _p(3.45, "L", "Centanni2019", "Table 2, durvalumab row (Baverel 2018)"),
            "Vmax": _p(0.824, "mg/day", "Centanni2019", "Table 2, durvalumab row (Baverel 2018)"),
            "Km": _p(0.344, "mg/L", "Centanni2019", "Table 2, durvalumab row (Baverel 2018)"),
        },
        _mab_mw(146.0),
        ("durvalumab 10 mg/kg IV over 60 min q2w", "durvalumab 1500 mg IV q4w"),
        citations=("Baverel2018", "Centanni2019", "ImfinziLabel"),
        notes="Label: Vss 5.64 L, steady-state CL 8.16 mL/h, t1/2 ~18 days (ImfinziLabel).",
    ),
    Drug(
        "avelumab",
        ("Bavencio", "MSB0010718C"),
        "PD-L1",
        "anti-PD-L1",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(0.59, "L/day", "Centanni2019", "Table 2, avelumab row (Wilkins 2019)"),
            "V1": _p(2.83, "L", "Centanni2019", "Table 2, avelumab row (Wilkins 2019)"),
            "Q": _a(
                0.26,
                "L/day",
                "not given in the retrieved table; chosen so the terminal "
                "t1/2 equals the reported 6.1 days",
            ),
            "V2": _p(1.17, "L", "Centanni2019", "Table 2, avelumab row (Wilkins 2019)"),
        },
        _mab_mw(147.0),
        ("avelumab 800 mg IV over 60 min q2w", "avelumab 10 mg/kg IV q2w"),
        citations=("Centanni2019",),
        notes="Reported t1/2 6.1 days (Centanni2019 Table 2).",
    ),
    Drug(
        "ipilimumab",
        ("Yervoy", "ipi", "MDX-010", "BMS-734016"),
        "CTLA-4",
        "anti-CTLA-4",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(0.0150 * _H, "L/day", "Feng2014", "Table 2 (0.0150 L/h)", "linear CL"),
            "V1": _p(4.15, "L", "Feng2014", "Table 2", "central volume"),
            "Q": _p(0.0411 * _H, "L/day", "Feng2014", "Table 2 (0.0411 L/h)", "Q"),
            "V2": _p(3.11, "L", "Feng2014", "Table 2", "peripheral volume"),
        },
        _mab_mw(148.0),
        ("ipilimumab 3 mg/kg IV over 90 min q3w x4", "ipilimumab 1 mg/kg IV q6w"),
        citations=("Feng2014",),
    ),
    Drug(
        "tremelimumab",
        ("Imjudo", "treme", "CP-675,206", "ticilimumab"),
        "CTLA-4",
        "anti-CTLA-4",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(0.26, "L/day", "Wang2014", "abstract / final model", "linear CL"),
            "V1": _p(3.97, "L", "Wang2014", "abstract / final model", "central volume"),
            "Q": _a(0.6, "L/day", "not in the retrieved abstract; typical IgG2 value"),
            "V2": _a(
                2.36,
                "L",
                "chosen so V1 + V2 equals the SmPC volume of distribution "
                "6.33 L (ImjudoSmPC section 5.2)",
            ),
        },
        _mab_mw(149.0),
        ("tremelimumab 300 mg IV once", "tremelimumab 75 mg IV q3w x4"),
        citations=("Wang2014", "ImjudoSmPC"),
        notes="SmPC: CL 0.309 L/day, Vd 6.33 L, t1/2 ~14.2 days (ImjudoSmPC).",
    ),
    # ---------------------------------------------------------------- tumour-antigen mAbs
    Drug(
        "trastuzumab",
        ("Herceptin", "trastu"),
        "HER2",
        "anti-tumor-antigen mAb",
        "antibody",
        "mass",
        ("IV", "SC"),
        {
            "CL": _p(0.225, "L/day", "Bruno2005", "abstract (base model)", "linear CL"),
            "V1": _p(2.95, "L", "Bruno2005", "abstract (base model)", "central volume"),
            "Q": _a(
                0.113,
                "L/day",
                "not in the retrieved abstract; chosen so the terminal t1/2 "
                "equals Bruno2005's 28.5 days",
            ),
            "V2": _p(2.68, "L", "HerceptinSmPC", "section 5.2 (typical Vp)", "peripheral volume"),
        },
        _mab_mw(148.0),
        ("trastuzumab 8 mg/kg IV over 90 min once, then trastuzumab 6 mg/kg IV over 30 min q3w",),
        citations=("Bruno2005", "HerceptinSmPC"),
        notes="Bruno2005 reports terminal t1/2 28.5 days; later models add MM elimination.",
    ),
    Drug(
        "rituximab",
        ("Rituxan", "MabThera", "ritux"),
        "CD20",
        "anti-tumor-antigen mAb",
        "antibody",
        "mass",
        ("IV", "SC"),
        {
            "CL": _a(
                0.257,
                "L/day",
                "Ng et al. 2005 (J Clin Pharmacol 45:792) RA population "
                "value as tabulated in a 2019 review (Br J Clin Pharmacol 85:2002, Table 3); "
                "primary table not retrieved",
            ),
            "V1": _a(2.98, "L", "same source as CL (review table, primary not retrieved)"),
            "Q": _a(0.5, "L/day", "typical IgG1 intercompartmental clearance"),
            "V2": _a(2.5, "L", "typical IgG1 peripheral volume; t1/2 ~ 20 days as tabulated"),
        },
        _mab_mw(145.0),
        ("rituximab 375 mg/m2 IV q1w x4",),
        citations=(),
    ),
    Drug(
        "cetuximab",
        ("Erbitux", "C225"),
        "EGFR",
        "anti-tumor-antigen mAb",
        "antibody",
        "mass",
        ("IV",),
        {
            "CL": _p(
                0.0,
                "L/day",
                "Dirks2008",
                "abstract: elimination is Michaelis-Menten only",
                "linear clearance (none in this model)",
            ),
            "V1": _p(2.83, "L", "Dirks2008", "abstract", "central volume"),
            "Q": _p(0.103 * _H, "L/day", "Dirks2008", "abstract (0.103 L/h)", "Q"),
            "V2": _p(2.43, "L", "Dirks2008", "abstract", "peripheral volume"),
            "Vmax": _p(4.38 * _H, "mg/day", "Dirks2008", "abstract (4.38 mg/h)", "MM Vmax"),
            "Km": _p(74.0, "mg/L", "Dirks2008", "abstract (74 ug/mL)", "MM Km"),
        },
        _mab_mw(152.0),
        ("cetuximab 400 mg/m2 IV over 2 h once, then cetuximab 250 mg/m2 IV over 1 h q1w",),
        citations=("Dirks2008",),
    ),
    # ---------------------------------------------------------------- cytokines
    Drug(
        "aldesleukin",
        ("Proleukin", "IL-2", "HD IL-2", "high-dose IL-2", "interleukin-2", "rIL-2"),
        "IL-2R",
        "cytokine",
        "cytokine",
        "IU",
        ("IV", "SC"),
        {
            "t_half": _p(
                85.0 / 1440.0,
                "day",
                "ProleukinLabel",
                "Clinical Pharmacology (elimination t1/2 85 min; distribution 13 min)",
                "elimination t1/2",
            ),
            "V1": _a(
                6.0,
                "L",
                "one-compartment volume between plasma and extracellular volume; "
                "Konrad 1990 values not retrieved",
            ),
            "CL": _a(
                6.0 * math.log(2) / (85.0 / 1440.0),
                "L/day",
                "derived: V1 * ln2 / 85 min (label elimination half-life)",
            ),
        },
        _a(15300.0, "g/mol", "aldesleukin ~15.3 kDa (non-glycosylated IL-2 analogue)"),
        ("aldesleukin 600000 IU/kg IV over 15 min q8h x14, 2 cycles 9 days apart",),
        citations=("ProleukinLabel", "Konrad1990"),
        notes="Doses in IU (18e6 IU = 1.1 mg of Proleukin, per label).",
    ),
    Drug(
        "interferon alfa-2b",
        ("Intron A", "IFN-alpha", "IFN alfa-2b", "IFNa2b", "interferon alpha-2b"),
        "IFNAR",
        "cytokine",
        "cytokine",
        "IU",
        ("IV", "SC", "IM"),
        {
            "CL": _a(
                150.0,
                "L/day",
                "chosen so t1/2 ~ 2-3 h as commonly reported for IFN "
                "alfa-2b; Intron A label values not retrieved in this build",
            ),
            "V1": _a(15.0, "L", "extracellular-fluid-like volume for a 19 kDa protein"),
        },
        _a(19271.0, "g/mol", "interferon alfa-2b ~19.3 kDa"),
        ("interferon alfa-2b 20e6 IU/m2 IV q1w x20",),
        citations=(),
    ),
    # ---------------------------------------------------------------- chemotherapy
    Drug(
        "docetaxel",
        ("Taxotere",),
        "microtubules",
        "chemotherapy",
        "small molecule",
        "mass",
        ("IV",),
        {
            "CL": _a(
                36.7 * _H,
                "L/day",
                "Bruno 1996 typical total CL ~ 36.7 L/h (recalled, "
                "not verified against the paper's table); BSA-dependent",
            ),
            "V1": _a(
                7.7,
                "L",
                "central volume of the Bruno 1996 three-compartment model as "
                "recalled; not verified",
            ),
            "Q": _a(17.0 * _H, "L/day", "rapid distribution; docetaxel Vss ~ 113 L"),
            "V2": _a(105.0, "L", "chosen so V1 + V2 ~ Vss 113 L"),
        },
        _a(807.9, "g/mol", "docetaxel anhydrous molar mass from its formula C43H53NO14"),
        ("docetaxel 75 mg/m2 IV over 1 h q3w x6",),
        citations=("Bruno1996",),
    ),
    Drug(
        "paclitaxel",
        ("Taxol",),
        "microtubules",
        "chemotherapy",
        "small molecule",
        "mass",
        ("IV",),
        {
            "CL": _a(
                15.0 * _H,
                "L/day",
                "linear approximation of saturable paclitaxel "
                "elimination (label total CL ~ 12-22 L/h/m2 range); not verified here",
            ),
            "V1": _a(10.0, "L", "central volume, typical of published 3-compartment models"),
            "Q": _a(10.0 * _H, "L/day", "distribution clearance; assumption"),
            "V2": _a(200.0, "L", "large tissue distribution (Vss 200-700 L/m2 per label)"),
        },
        _a(853.9, "g/mol", "paclitaxel molar mass (C47H51NO14)"),
        ("paclitaxel 175 mg/m2 IV over 3 h q3w x6",),
        citations=(),
    ),
    Drug(
        "carboplatin",
        ("Paraplatin", "carbo"),
        "DNA",
        "chemotherapy",
        "small molecule",
        "mass",
        ("IV",),
        {
            "CL": _p(
                (100.0 + 25.0) * _ML_MIN,
                "L/day",
                "Calvert1989",
                "dose = AUC x (GFR + 25): CL = GFR + 25 mL/min at GFR 100 mL/min (assumed)",
                "total clearance at GFR 100 mL/min",
            ),
            "V1": _a(
                16.0,
                "L",
                "carboplatin distributes in ~ total body water fraction; label value not retrieved",
            ),
        },
        _a(371.25, "g/mol", "carboplatin molar mass (C6H12N2O4Pt)"),
        ("carboplatin 400 mg/m2 IV q3w x4",),
        citations=("Calvert1989",),
    ),
    Drug(
        "cisplatin",
        ("Platinol", "cis", "CDDP"),
        "DNA",
        "chemotherapy",
        "small molecule",
        "mass",
        ("IV",),
        {
            "CL": _a(
                15.0 * _H,
                "L/day",
                "ultrafilterable platinum CL ~ 15 L/h (order of "
                "magnitude from the literature); not verified here",
            ),
            "V1": _a(20.0, "L", "ultrafilterable platinum volume; assumption"),
        },
        _a(300.05, "g/mol", "cisplatin molar mass (Pt(NH3)2Cl2)"),
        ("cisplatin 75 mg/m2 IV q3w x4",),
        citations=(),
    ),
    Drug(
        "pemetrexed",
        ("Alimta", "pem"),
        "TS/DHFR (folate)",
        "chemotherapy",
        "small molecule",
        "mass",
        ("IV",),
        {
            "CL": _p(91.6 * _ML_MIN, "L/day", "Latz2006", "abstract (91.6 mL/min)", "total CL"),
            "V1": _p(12.9, "L", "Latz2006", "abstract", "central volume"),
            "Q": _p(14.4 * _ML_MIN, "L/day", "Latz2006", "abstract (14.4 mL/min)", "Q"),
            "V2": _p(3.38, "L", "Latz2006", "abstract", "peripheral volume"),
        },
        _a(427.4, "g/mol", "pemetrexed free acid molar mass (C20H21N5O6)"),
        ("pemetrexed 500 mg/m2 IV over 10 min q3w",),
        citations=("Latz2006",),
    ),
    # ---------------------------------------------------------------- VEGFR TKIs (oral)
    Drug(
        "sunitinib",
        ("Sutent", "SU11248"),
        "VEGFR",
        "VEGFR TKI",
        "small molecule",
        "mass",
        ("PO",),
        {
            "CL": _a(
                51.8 * _H,
                "L/day",
                "apparent CL/F ~ 51.8 L/h as recalled from Houk 2009 "
                "(label range 34-62 L/h); table not retrieved",
            ),
            "V1": _a(2030.0, "L", "apparent V/F ~ 2030 L as recalled from Houk 2009; not verified"),
            "ka": _a(
                0.195 * _H,
                "1/day",
                "absorption rate ~ 0.195 1/h as recalled from Houk 2009; not verified",
            ),
        },
        _a(398.5, "g/mol", "sunitinib free base molar mass (C22H27FN4O2)"),
        ("sunitinib 50 mg PO qd x28",),
        citations=("Houk2009",),
    ),
    Drug(
        "axitinib",
        ("Inlyta", "AG-013736"),
        "VEGFR",
        "VEGFR TKI",
        "small molecule",
        "mass",
        ("PO",),
        {
            "CL": _p(14.6 * _H, "L/day", "Rini2013", "abstract (14.6 L/h, patients)", "CL"),
            "V1": _p(47.3, "L", "Rini2013", "abstract", "central volume"),
            "ka": _p(0.523 * _H, "1/day", "Garrett2014", "abstract (0.523 1/h)", "absorption"),
            "F": _p(0.465, "1", "Garrett2014", "abstract", "absolute bioavailability"),
        },
        _a(386.5, "g/mol", "axitinib molar mass (C22H18N4OS)"),
        ("axitinib 5 mg PO bid",),
        citations=("Rini2013", "Garrett2014"),
    ),
    # ---------------------------------------------------------------- lymphodepletion
    Drug(
        "fludarabine",
        ("Fludara", "flu", "F-ara-A"),
        "DNA",
        "lymphodepletion",
        "small molecule",
        "mass",
        ("IV", "PO"),
        {
            "CL": _a(
                8.0 * _H,
                "L/day",
                "2-F-ara-A clearance ~ 8 L/h at normal renal function; "
                "label (terminal t1/2 ~ 20 h) not retrieved in this build",
            ),
            "V1": _a(98.0, "L", "~ 1.4 L/kg x 70 kg; assumption"),
        },
        _a(365.2, "g/mol", "fludarabine phosphate molar mass"),
        ("fludarabine 30 mg/m2 IV d-5 to d-3",),
        citations=(),
    ),
    Drug(
        "cyclophosphamide",
        ("Cytoxan", "cy", "CTX", "Endoxan"),
        "DNA",
        "lymphodepletion",
        "small molecule",
        "mass",
        ("IV", "PO"),
        {
            "CL": _a(4.8 * _H, "L/day", "label-range total CL (~ 4-5.6 L/h); not verified here"),
            "V1": _a(40.0, "L", "label-range Vd (~ 30-50 L); not verified here"),
        },
        _a(261.1, "g/mol", "cyclophosphamide anhydrous molar mass"),
        ("cyclophosphamide 500 mg/m2 IV d-5 to d-3",),
        citations=(),
    ),
    # ---------------------------------------------------------------- cell therapies
    Drug(
        "axicabtagene ciloleucel",
        ("Yescarta", "axi-cel", "KTE-C19"),
        "CD19",
        "CAR-T",
        "cell therapy",
        "cells",
        ("IV",),
        approved_doses=(
            "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 IV d-5 to d-3, then "
            "axicabtagene ciloleucel 2e6 cells/kg IV once",
        ),
        dose_range=("2e6 CAR-positive viable T cells/kg", "maximum 2e8 cells"),
        citations=("YescartaLabel",),
        notes="Living drug: expansion/persistence are model states, no PK parameters.",
    ),
    Drug(
        "tisagenlecleucel",
        ("Kymriah", "tisa-cel", "CTL019"),
        "CD19",
        "CAR-T",
        "cell therapy",
        "cells",
        ("IV",),
        approved_doses=("tisagenlecleucel 6e8 cells IV once",),
        dose_range=("adult DLBCL: 0.6e8 to 6.0e8 CAR-positive viable T cells",),
        citations=("KymriahLabel",),
    ),
    Drug(
        "idecabtagene vicleucel",
        ("Abecma", "ide-cel", "bb2121"),
        "BCMA",
        "CAR-T",
        "cell therapy",
        "cells",
        ("IV",),
        approved_doses=("idecabtagene vicleucel 450e6 cells IV once",),
        dose_range=("300e6 to 460e6 CAR-positive T cells",),
        citations=("AbecmaLabel",),
    ),
    Drug(
        "ciltacabtagene autoleucel",
        ("Carvykti", "cilta-cel", "JNJ-4528", "LCAR-B38M"),
        "BCMA",
        "CAR-T",
        "cell therapy",
        "cells",
        ("IV",),
        approved_doses=("ciltacabtagene autoleucel 0.75e6 cells/kg IV once",),
        dose_range=("0.5e6 to 1.0e6 CAR-positive viable T cells/kg", "maximum 1e8 cells"),
        citations=("CarvyktiLabel",),
    ),
    Drug(
        "sipuleucel-t",
        ("Provenge", "sip-T", "sipuleucel-T", "sipuleucel T"),
        "PAP (prostatic acid phosphatase)",
        "cellular vaccine",
        "cell therapy",
        "cells",
        ("IV",),
        approved_doses=("sipuleucel-T 50e6 cells IV over 60 min q2w x3",),
        dose_range=("at least 50e6 autologous CD54+ cells per infusion",),
        citations=("ProvengeLabel",),
    ),
    Drug(
        "talimogene laherparepvec",
        ("Imlygic", "T-VEC", "OncoVEX GM-CSF"),
        "tumor lysis (oncolytic HSV-1, GM-CSF)",
        "oncolytic virus",
        "virus",
        "PFU",
        ("intralesional",),
        approved_doses=(
            "talimogene laherparepvec 4e6 PFU intralesional once, then talimogene "
            "laherparepvec 4e8 PFU intralesional q2w starting d22",
        ),
        dose_range=(
            "initial 1e6 PFU/mL, then 1e8 PFU/mL 3 weeks later and every 2 weeks",
            "up to 4 mL per treatment",
        ),
        citations=("ImlygicLabel",),
    ),
    Drug(
        "gp100 peptide",
        ("gp100", "gp100:209-217(210M)", "gp100 vaccine"),
        "gp100",
        "peptide vaccine",
        "vaccine",
        "mass",
        ("SC",),
        {
            "CL": _a(100.0, "L/day", "short-lived peptide (minutes-hours); no published PK"),
            "V1": _a(15.0, "L", "extracellular volume; no published PK"),
        },
        _a(1000.0, "g/mol", "nonapeptide ~ 1 kDa"),
        ("gp100 peptide 1 mg SC q3w x4",),
        citations=("Rosenberg1998", "Schwartzentruber2011"),
        notes="Given with Montanide ISA-51 adjuvant, 1 mg per dose (Schwartzentruber2011).",
    ),
    # ---------------------------------------------------------------- radiation
    Drug(
        "radiotherapy",
        ("rt", "radiation", "sbrt", "xrt"),
        "tumor cells at the irradiated site (DNA double-strand breaks)",
        "radiotherapy",
        "radiation",
        "Gy",
        ("external beam",),
        approved_doses=("radiotherapy 8 Gy x3 to lung", "radiotherapy 2 Gy x30 to primary"),
        dose_range=(
            "conventional: 1.8-2 Gy per fraction, 5 fractions a week",
            "SBRT/SABR: 6-20 Gy per fraction, 1-5 fractions",
        ),
        notes=(
            "Not a drug: an external-beam dose in Gy per fraction to one named site, no PK. "
            "The examples are typical schedules, not sourced parameters (assumption: textbook "
            "fractionation, listed only to show the regimen syntax); 8 Gy x3 is the SBRT "
            "schedule of PEMBRO-RT (Theelen et al. 2019, JAMA Oncol 5(9):1276-1282). The cell "
            "kill (linear-quadratic model) is cited by the model that takes the dose."
        ),
    ),
]


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
