"""Default parameter sets of ``metastatic_io`` per cancer type, and covariates -> parameters.

One compiled model serves every cancer: a cancer type changes parameter values, never the
equations. :data:`CANCER_SETS` holds the cancer-level values (growth, chemosensitivity,
radiosensitivity, the target antigens the disease expresses, where its primary sits);
:func:`io_parameters` maps each virtual patient's measurable covariates (from
:mod:`oncotwin.population.covariates`: TMB, PD-L1, immune phenotype, NLR, LDH, albumin,
metastases per organ and their sizes, body size) to that patient's mechanistic parameters.
:func:`io_population` does both and returns a :class:`~oncotwin.population.Population`
plus the covariate table.

The cancer-level values are parameter sets, ``metastatic_io/<cancer>``
(``oncotwin/parameters/sets/metastatic_io/<cancer>.toml``, each with ``base = "default"``):
every value a flagged assumption with its reason (cancer-level kinetics are literature ranges,
not fitted); calibrated sets layer over them.
Patient ``i``'s random numbers derive from (seed, i) alone, so chunks agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from oncotwin._random import Stream, named_normals
from oncotwin.errors import ParameterError, did_you_mean
from oncotwin.parameters import ParameterSet
from oncotwin.population.sampling import Population

if TYPE_CHECKING:
    import pandas as pd

    from oncotwin.models.base import Model

__all__ = [
    "CANCER_SETS",
    "LESION_CELLS_PER_MM3",
    "MAPPING",
    "MARROW_CELLS",
    "CancerSet",
    "baseline_life_expectancy_weeks",
    "cancer_set",
    "io_parameters",
    "io_population",
    "lesion_table",
]


def _load_mapping() -> MappingProxyType:
    """The constants of the covariate -> parameter mapping, as parameter records
    (``oncotwin/data/metastatic_io_mapping.toml``, ``[mapping.<name>]``)."""
    from oncotwin._datafiles import parse_toml, read_package_text
    from oncotwin.parameters._toml import record_from_table

    text, label = read_package_text("oncotwin", "data/metastatic_io_mapping.toml")
    rows = parse_toml(text, label).get("mapping")
    if not isinstance(rows, dict) or not rows:
        raise ParameterError(f"{label}: no [mapping.<name>] records; add them")
    records = {k: record_from_table(v, where=f"{label}: mapping.{k}") for k, v in rows.items()}
    for k, rec in records.items():
        if rec.prior_range is None:
            raise ParameterError(f"{label}: mapping.{k} has no range; add range = [low, high]")
    return MappingProxyType(records)


#: Every constant of the covariate -> parameter mapping (:func:`io_parameters`,
#: :func:`lesion_table`) as a parameter record with its source or basis and range.
MAPPING: MappingProxyType = _load_mapping()
_M = {k: rec.value for k, rec in MAPPING.items()}

#: Tumour cells per mm^3 of lesion (1e9 cells ~ 1 cm^3; Del Monte 2009), in model units
#: (1e9 cells) per mm^3.
LESION_CELLS_PER_MM3 = _M["lesion_cells_per_mm3"]


@dataclass(frozen=True)
class CancerSet:
    """Cancer-level defaults of ``metastatic_io``.

    ``parameters`` override model defaults; ``antigens`` are the target antigens every
    patient's tumour expresses unless a covariate says otherwise; ``primary_mm`` is the
    diameter of a primary tumour still in place (0: resected or not applicable);
    ``haematologic`` marks blood/marrow/node disease (assessed by Lugano/IMWG/marrow rules).
    Built from the parameter set ``metastatic_io/<name>`` (:attr:`parameter_set`): its own
    parameters and its ``[settings]``.
    """

    name: str
    parameters: MappingProxyType
    antigens: tuple[str, ...] = ()
    primary_mm: float = 0.0
    haematologic: bool = False
    assessment: str = "recist"

    @property
    def parameter_set(self) -> ParameterSet:
        """The full set (this cancer's values over the model defaults), e.g. to layer a
        calibrated set over: ``cancer_set("melanoma").parameter_set | calibrated``."""
        return ParameterSet.load(f"metastatic_io/{self.name}")


#: Antigen names a cancer set may list before the model has their ``expresses_<antigen>``
#: parameter (the mechanism modules add them to ``TARGET_ANTIGENS``); an antigen without a
#: parameter simply has no effect until then.
PENDING_ANTIGENS: frozenset[str] = frozenset({"nectin4", "CD38", "gp100", "BRAFV600", "EGFRm"})

#: The cancers with a parameter set ``metastatic_io/<cancer>``, in the order of the docs.
_CANCERS = (
    "melanoma",
    "nsclc",
    "renal_cell",
    "urothelial",
    "colorectal_msi_high",
    "breast_her2",
    "prostate",
    "large_b_cell_lymphoma",
    "b_all",
    "multiple_myeloma",
    "colorectal",
    "follicular_lymphoma",
    "hepatocellular",
    "head_and_neck",
    "gastric",
    "small_cell_lung",
    "triple_negative_breast",
)


def _from_set(cancer: str) -> CancerSet:
    """The :class:`CancerSet` of the parameter set ``metastatic_io/<cancer>``."""
    from oncotwin.models.metastatic_io import TARGET_ANTIGENS

    pset = ParameterSet.load(f"metastatic_io/{cancer}")
    settings = pset.settings
    antigens = tuple(settings.get("antigens", ()))
    known = {*TARGET_ANTIGENS, *PENDING_ANTIGENS}
    for antigen in antigens:
        if antigen not in known:
            raise ParameterError(
                f"parameter set {pset.origin}: settings.antigens: "
                + did_you_mean(antigen, sorted(known), what="target antigen")
            )
    return CancerSet(
        cancer,
        MappingProxyType({k: pset[k] for k in pset.own}),
        antigens,
        float(settings.get("primary_mm", 0.0)),
        bool(settings.get("haematologic", False)),
        str(settings.get("assessment", "recist")),
    )


#: Cancer-level defaults (keys: canonical names of :mod:`oncotwin.population.covariates`),
#: read from the parameter sets ``metastatic_io/<cancer>``
#: (``oncotwin/parameters/sets/metastatic_io/<cancer>.toml``, each layered over the defaults).
CANCER_SETS: dict[str, CancerSet] = {c: _from_set(c) for c in _CANCERS}

#: Nucleated marrow cells of an adult [1e9 cells] (~1.5e12; ``MAPPING["marrow_cells"]``): a
#: leukaemic marrow's blast burden is this times the blast fraction. Screening blast fractions
#: are drawn around a median of ~57% (ELIANA required >= 5%; assumption pending a cohort).
MARROW_CELLS = _M["marrow_cells"]

#: Relative T-cell infiltration per immune phenotype (inflamed / excluded / desert).
PHENOTYPE_INFILTRATION = {p: _M[f"phenotype_{p}"] for p in ("inflamed", "excluded", "desert")}


def cancer_set(cancer: str) -> CancerSet:
    """The defaults of ``cancer`` (aliases accepted: "NSCLC", "RCC", "DLBCL", ...)."""
    from oncotwin.population.covariates import resolve_cancer

    return CANCER_SETS[resolve_cancer(cancer)]


def _sphere_mm3(d_mm: np.ndarray) -> np.ndarray:
    return np.pi / 6.0 * d_mm**3


def lesion_table(covariates: pd.DataFrame, cancer: str) -> tuple[np.ndarray, np.ndarray]:
    """Index-lesion diameter [mm] and total burden [1e9 cells] per site, ``(n, n_sites)``.

    Each organ's index lesion is its largest (diameter from the covariates). The organ's
    other lesions are assumed 0.7 times as wide, so the organ burden is
    ``V(largest) (1 + (count - 1) 0.7^3)``. The primary (if the cancer set keeps one in place)
    is a single lesion of ``primary_mm``. Haematologic marrow disease sits in ``bone``.
    The constants are records of :data:`MAPPING` (``other_lesion_width_ratio``,
    ``min_lesion_mm``, ``lesion_cells_per_mm3``).
    """
    from oncotwin.models.metastatic_io import SITES

    cs = cancer_set(cancer)
    n = len(covariates)
    diam = np.zeros((n, len(SITES)))
    burden = np.zeros((n, len(SITES)))
    for k, site in enumerate(SITES):
        if site == "primary":
            if cs.primary_mm > 0:
                diam[:, k] = cs.primary_mm
                burden[:, k] = _sphere_mm3(diam[:, k]) * LESION_CELLS_PER_MM3
            continue
        count = covariates[f"site_{site}"].to_numpy(dtype=float)
        largest = covariates[f"largest_{site}_mm"].to_numpy(dtype=float)
        largest = np.where(count > 0, np.maximum(largest, _M["min_lesion_mm"]), 0.0)
        diam[:, k] = largest
        other = _M["other_lesion_width_ratio"] ** 3
        vol = _sphere_mm3(largest) * (1.0 + np.maximum(count - 1.0, 0.0) * other)
        burden[:, k] = vol * LESION_CELLS_PER_MM3
    return diam, burden


def baseline_life_expectancy_weeks(covariates: pd.DataFrame, cancer: str) -> np.ndarray:
    """Each patient's life expectancy [weeks] as a trial's eligibility reads it: the median
    survival at the tumour-death hazard of the baseline burden (organ-weighted, as in the
    model's death hazard, with the cancer's death-hazard parameters), ignoring growth and
    treatment. It screens out patients whose baseline burden alone makes death within weeks
    likely (protocols' "life expectancy >= 12 weeks"); it is not a prognosis."""
    from oncotwin.models._metastatic_io_toxicity import death_hazard_rate
    from oncotwin.models.metastatic_io import _LETHALITY, SITES

    values = cancer_set(cancer).parameter_set
    _, burden = lesion_table(covariates, cancer)
    weights = np.array([_LETHALITY[s] for s in SITES])
    weighted = burden @ weights
    hazard = death_hazard_rate(
        weighted,
        values["death_hazard_max"].value,
        values["lethal_burden"].value,
        values["death_hazard_hill"].value,
    )
    with np.errstate(divide="ignore"):
        return np.where(hazard > 0, np.log(2.0) / hazard / 7.0, np.inf)


def _antibody_pk_inputs(
    params: np.ndarray, col: dict[str, int], covariates: pd.DataFrame, cov: Any, seed: int
) -> None:
    """The covariates and standard-normal draws of the antibody population PK (``pk_*``)."""
    from scipy.special import ndtri

    from oncotwin._random import Stream, patient_uniforms

    params[:, col["pk_weight"]] = np.clip(cov("weight_kg", 75.0), 20.0, 300.0)
    params[:, col["pk_albumin"]] = np.clip(cov("albumin_g_dl", 4.0), 1.0, 6.0)
    params[:, col["pk_tumour"]] = np.maximum(cov("sum_lesion_diameter_mm", 60.0), 0.0)
    if "sex" in covariates:
        female = (covariates["sex"].astype(str).str.upper() == "F").to_numpy(dtype=float)
        params[:, col["pk_female"]] = female
    params[:, col["pk_ecog"]] = np.clip(cov("ecog", 0.0), 0.0, 4.0)
    ids = covariates["patient_id"].to_numpy(dtype=np.int64)
    for name, stream in (
        ("pk_eta_CL", Stream.PK_ETA_CL),
        ("pk_eta_V1", Stream.PK_ETA_V1),
        ("pk_eta_Emax", Stream.PK_ETA_EMAX),
    ):
        params[:, col[name]] = ndtri(patient_uniforms(int(seed), ids, stream))


#: Target antigen -> the covariate column that says whether this patient's tumour has it. An
#: antigen the cancer set lists is expressed unless its column says otherwise; a mutation
#: (:data:`_MUTATION_FLAGS`) is expressed exactly where its column is true, in any cancer.
_ANTIGEN_FLAGS: dict[str, str] = {
    "HER2": "her2_positive",
    "CD19": "cd19_positive",
    "BCMA": "bcma_positive",
    "BRAFV600": "braf_v600_mutant",
    "EGFRm": "egfr_mutant",
}
_MUTATION_FLAGS = frozenset({"braf_v600_mutant", "egfr_mutant"})
#: Antigens presented on HLA-A*02:01 (tebentafusp's gp100 peptide): expressed only where the
#: cancer set lists the antigen and the patient carries the allele (``hla_a0201_positive``).
_HLA_RESTRICTED = frozenset({"gp100"})


def io_parameters(model: Model, covariates: pd.DataFrame, cancer: str, *, seed: int) -> np.ndarray:
    """Mechanistic parameters ``(n, n_parameters)`` of each covariate row.

    Mapping (each constant a record of :data:`MAPPING`, with its source or basis and range;
    documented here and in ``docs/metastatic_io.md``):

    * ``burden_<site>``: lesion volumes (:func:`lesion_table`) at 1e6 cells/mm^3;
    * ``immunogenicity = (TMB/10)^0.5``: neoantigen load rises with TMB, with diminishing
      returns (response rates rise roughly log-linearly with TMB in Samstein 2019);
    * ``pdl1_baseline = TPS/100``; ``infiltration`` from the immune phenotype
      (:data:`PHENOTYPE_INFILTRATION`);
    * ``mdsc_suppression = 0.5 NLR/3.5``: a high neutrophil-lymphocyte ratio marks myeloid
      suppression (NLR is prognostic under ICI);
    * ``growth_rate`` times ``LDH/ULN^0.5``: high LDH marks fast-growing, hypoxic disease;
    * antibody population PK: the patient's weight, albumin, sum of target-lesion diameters,
      sex and ECOG (``pk_*``) and standard-normal draws of log CL, log V1 and the time-varying
      CL change (``pk_eta_*``, streams ``PK_ETA_*`` of (seed, patient id)); the regimen
      adapter turns them into the dosed drug's individual PK (its covariate model and omega in
      the drug catalog, :mod:`oncotwin.pharmacology.poppk`);
    * ``expresses_<antigen>`` from the cancer set and the HER2/CD19/BCMA covariates; the
      mutations ``BRAFV600`` and ``EGFRm`` from ``braf_v600_mutant`` / ``egfr_mutant`` in
      any cancer; ``gp100`` (presented on HLA-A*02:01) where the cancer set lists it and the
      patient is ``hla_a0201_positive``; ``EGFR`` (the cetuximab/panitumumab target) only in
      RAS wild-type tumours where the cancer models RAS (colorectal);
    * ``gfr_ml_min`` (true GFR: carboplatin's clearance) from the covariate ``gfr_ml_min``
      (:mod:`oncotwin.population._renal`: the Cockcroft-Gault CrCl times its published
      error against measured GFR).

    Parameters with a between-patient SD (``log_sd``) also get log-normal variability
    drawn from (seed, patient_id) in a stream separate from the covariates'.
    """
    from oncotwin.models.metastatic_io import SITES, TARGET_ANTIGENS

    cs = cancer_set(cancer)
    n = len(covariates)
    names = list(model.parameter_names)
    col = {k: i for i, k in enumerate(names)}
    base = model.default_parameters().copy()
    log_sd = np.array([model.parameters[k].log_sd for k in names])
    for k, p in cs.parameters.items():
        base[col[k]] = p.value
        log_sd[col[k]] = p.log_sd
    ids = covariates["patient_id"].to_numpy(dtype=np.int64)
    if n == 0:
        return np.zeros((0, len(names)))
    # draws keyed by (seed, patient, parameter name): a patient keeps its value of a
    # parameter when the model gains or loses others
    varied = [k for k in names if log_sd[col[k]] > 0]
    z_iiv = named_normals(int(seed), ids, varied, Stream.PARAMETER_IIV)
    params = np.repeat(base[None, :], n, axis=0)
    for j, k in enumerate(varied):
        params[:, col[k]] *= np.exp(log_sd[col[k]] * z_iiv[:, j])
    zsite = named_normals(int(seed), ids, [f"site:{s}" for s in SITES], Stream.SITE_DRAWS)

    def setp(name: str, values: Any) -> None:
        params[:, col[name]] = values

    def mult(name: str, values: Any) -> None:
        params[:, col[name]] *= values

    def cov(name: str, default: float) -> np.ndarray:
        """A covariate column with missing values at ``default`` (e.g. no TPS in lymphoma)."""
        if name not in covariates:
            return np.full(n, default)
        return np.nan_to_num(covariates[name].to_numpy(dtype=float), nan=default)

    _, burden = lesion_table(covariates, cancer)
    for k, site in enumerate(SITES):
        setp(f"burden_{site}", burden[:, k])
        if site != "primary" and f"site_{site}" in covariates:
            setp(f"lesions_{site}", np.maximum(cov(f"site_{site}", 1.0), 1.0))
    if cs.assessment == "marrow":
        # leukaemia: marrow blasts (no covariate in the cohorts) -> burden in ``bone``
        logit = _M["blast_logit_median"] + _M["blast_logit_sd"] * zsite[:, 0]
        blasts = np.clip(
            1.0 / (1.0 + np.exp(-logit)), _M["blast_fraction_min"], _M["blast_fraction_max"]
        )
        setp("burden_bone", blasts * MARROW_CELLS)
    # occult micrometastases: larger and more mesenchymal tumours have seeded more (Iwata's
    # colonisation rate m x^alpha times the EMT factor, relative to a typical 2e10-cell
    # tumour at EMT 0.2), around ~50 cells (e^4) with a log-SD of 2 (assumption)
    total = burden.sum(axis=1)
    emt = params[:, col["emt"]]
    alpha = model.parameters["fractal_dim"].value
    ref = np.maximum(total, _M["micromet_burden_floor"]) / _M["micromet_reference_burden"]
    rel = ref**alpha * (emt / _M["micromet_reference_emt"])
    lo_n, hi_n = _M["micromet_log_min"], _M["micromet_log_max"]
    for k, site in enumerate(SITES[1:], start=1):
        n0 = _M["micromet_log_cells"] + np.log(rel) + _M["micromet_log_sd"] * zsite[:, k]
        setp(f"micromet0_{site}", np.clip(n0, lo_n, hi_n))

    tmb = cov("tmb_mut_per_mb", 10.0)
    tmb_rel = np.maximum(tmb, _M["tmb_floor"]) / _M["tmb_reference"]
    mult("immunogenicity", tmb_rel ** _M["tmb_exponent"])
    tps = cov("pdl1_tps_pct", 100.0 * model.parameters["pdl1_baseline"].value)
    setp("pdl1_baseline", np.clip(tps, 0, 100) / 100)
    phen = covariates["immune_phenotype"].map(PHENOTYPE_INFILTRATION).to_numpy(dtype=float)
    mult("infiltration", np.nan_to_num(phen, nan=_M["phenotype_missing"]))
    nlr_ref = _M["nlr_reference"]
    mult("mdsc_suppression", cov("nlr", nlr_ref) / nlr_ref)
    ldh = np.clip(cov("ldh_ratio_uln", 1.0), _M["ldh_ratio_min"], _M["ldh_ratio_max"])
    mult("growth_rate", ldh ** _M["ldh_exponent"])
    _antibody_pk_inputs(params, col, covariates, cov, seed)
    from oncotwin.population.covariates import ASSUMPTIONS

    models_ras = ASSUMPTIONS[cs.name].ras_wild_type > 0
    if "gfr_ml_min" in col and "gfr_ml_min" in covariates:
        setp("gfr_ml_min", np.maximum(cov("gfr_ml_min", 80.0), 1.0))
    for antigen in TARGET_ANTIGENS:
        value = np.full(n, 1.0 if antigen in cs.antigens else 0.0)
        flag = _ANTIGEN_FLAGS.get(antigen)
        if flag in _MUTATION_FLAGS and flag in covariates:
            # a mutation is the patient's, whatever the cancer set lists
            value = cov(flag, 0.0)
        elif flag is not None and flag in covariates and antigen in cs.antigens:
            value = cov(flag, 1.0)
        if antigen in _HLA_RESTRICTED:
            value = value * cov("hla_a0201_positive", 0.0)
        if antigen == "EGFR" and models_ras and "ras_wild_type" in covariates:
            # anti-EGFR antibodies act only in RAS wild-type colorectal cancer (RAS-mutant
            # tumours signal downstream of the receptor): the target counts only there
            value = value * cov("ras_wild_type", 0.0)
        setp(f"expresses_{antigen}", value)
    return model.check_parameters(params)


def io_population(
    cancer: str,
    n: int,
    *,
    seed: int = 0,
    eligibility: Any = None,
    covariates: pd.DataFrame | None = None,
    model: Model | None = None,
) -> tuple[Population, pd.DataFrame]:
    """``n`` virtual patients of ``cancer`` for ``metastatic_io`` and their covariates (the
    parameter population and covariate table of a
    :class:`~oncotwin.population.virtual.VirtualPopulation`, which new code uses directly).

    Patients are the first ``n`` eligible ones of the run's covariate stream (or the rows of
    ``covariates`` if given).

    Examples
    --------
    >>> pop, cov = io_population("melanoma", 4, seed=1)
    >>> pop.params.shape[0], len(cov)
    (4, 4)
    """
    from oncotwin.models.registry import get_model
    from oncotwin.population.covariates import sample_eligible
    from oncotwin.population.virtual import VirtualPopulation

    if not isinstance(n, int | np.integer) or n < 1:
        raise ParameterError(f"patients={n!r}; give a whole number of patients >= 1")
    model = model or get_model("metastatic_io")
    if covariates is None:
        covariates = sample_eligible(cancer, int(n), eligibility, seed=seed)
    vp = VirtualPopulation.from_covariates(model, covariates, cancer, seed=seed)
    return vp.population, vp.covariates
