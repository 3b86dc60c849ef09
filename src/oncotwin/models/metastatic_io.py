"""oncotwin's metastatic immuno-oncology model (``metastatic_io``).

A mechanistic, multi-site model of metastatic cancer under immunotherapy. Tumour sites are an
array axis (:data:`SITES`): every site carries the same equations, written once in a loop
over the axis, with its own initial burden, carrying capacity, immune infiltration, PD-L1,
EMT and drug penetration. The published models of the library are the building blocks:

* **growth**: Gompertz growth of the viable cells of a site towards a dynamic vascular
  carrying capacity ``K`` (Hahnfeldt et al. 1999, ``dK/dt = b V - d K V^(2/3)``), with the human
  growth constant and colonisation law of Iwata et al. 2000; both rescaled to human time as
  documented per parameter;
* **killing**: the ratio-dependent CD8+ lysis of de Pillis et al. 2005,
  ``d (E/T)^l / (s + (E/T)^l) T``, inhibited by PD-1/PD-L1 signalling, exhaustion, Tregs
  and MDSCs;
* **CAR-T cellular kinetics**: effector expansion, contraction and memory as in Stein et al.
  2019, with the expansion driven by the target antigen instead of a fixed time to peak;
* **metastatic seeding**: Iwata's colonisation rate ``m x^alpha`` scaled by the EMT state,
  into per-organ micrometastatic burdens (written as ``log`` cell numbers so that one cell and
  a detectable lesion are both well scaled) that grow, or stay dormant under immune control.

Every treatment class acts through its mechanism (anti-PD-1/PD-L1 receptor occupancy in each
site; anti-CTLA-4 priming and Treg depletion; CAR-T; vaccines and oncolytic virus; anti-tumour
antigen antibodies with ADCC by NK cells; IL-2 and interferon-alfa; chemotherapy,
lymphodepletion, VEGFR TKIs with acquired resistance; radiotherapy as linear-quadratic cell
kill per fraction on the irradiated site). Toxicity hazards are integrated as states
(cumulative hazards and exposure markers) so that grades and event times can be read from
the trajectory; dosing stops are applied by the simulation layer
(:func:`oncotwin.models.metastatic_io_readouts.simulate_io`).

The equations are printed from the model itself: ``get_model("metastatic_io").equations()``
(and ``docs/metastatic_io.md`` is generated from it by ``scripts/model_docs.py``).

Units: time in days; tumour and immune cells in 1e9 cells (1e9 cells ~ 1 cm^3 of tumour,
Del Monte 2009); drug amounts in mg (antibodies), MIU (cytokines), 1e9 cells (cell
therapies), 1e8 PFU (virus) or standard doses (K-PD exposures, Jacqmin et al. 2007).

Research simulations only: not medical advice.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from oncotwin.citations import Citation, register_citation
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components.kill import ratio_dependent_kill
from oncotwin.models.components.pk import two_compartment
from oncotwin.parameters import Parameter, Source

__all__ = [
    "ANTIBODY_CLASSES",
    "DRUG_STANDARD_DOSE",
    "METASTATIC_SITES",
    "SITES",
    "TARGET_ANTIGENS",
    "IORegimenAdapter",
    "build",
]

#: Tumour sites (the array axis): the primary and eight metastatic organs. For haematologic
#: cancers ``lymph_node`` holds nodal disease and ``bone`` the marrow burden.
SITES: tuple[str, ...] = (
    "primary",
    "lung",
    "liver",
    "bone",
    "brain",
    "lymph_node",
    "adrenal",
    "peritoneum",
    "skin",
)
#: Organs that can receive new metastases (micrometastatic compartments).
METASTATIC_SITES: tuple[str, ...] = SITES[1:]

for _c in (
    Citation(
        "Hahnfeldt1999",
        "Hahnfeldt P, Panigrahy D, Folkman J, Hlatky L",
        1999,
        "Tumor development under angiogenic signaling: a dynamical theory of tumor growth, "
        "treatment response, and postvascular dormancy",
        "Cancer Res 59(19):4770-4775",
        "",
    ),
    Citation(
        "DelMonte2009",
        "Del Monte U",
        2009,
        "Does the cell number 10^9 still really fit one gram of tumor tissue?",
        "Cell Cycle 8(3):505-506",
        "10.4161/cc.8.3.7608",
    ),
    Citation(
        "Jacqmin2007",
        "Jacqmin P, Snoeck E, van Schaick EA, et al.",
        2007,
        "Modelling response time profiles in the absence of drug concentrations: definition "
        "and performance evaluation of the K-PD model",
        "J Pharmacokinet Pharmacodyn 34(1):57-85",
        "10.1007/s10928-006-9035-z",
    ),
    Citation(
        "Larkin2015",
        "Larkin J, Chiarion-Sileni V, Gonzalez R, et al.",
        2015,
        "Combined nivolumab and ipilimumab or monotherapy in untreated melanoma",
        "N Engl J Med 373(1):23-34",
        "10.1056/NEJMoa1504030",
    ),
    Citation(
        "Deng2014",
        "Deng L, Liang H, Xu M, et al.",
        2014,
        "STING-dependent cytosolic DNA sensing promotes radiation-induced type I interferon-"
        "dependent antitumor immunity in immunogenic tumors",
        "Immunity 41(5):843-852",
        "10.1016/j.immuni.2014.10.019",
    ),
    Citation(
        "Fowler1989",
        "Fowler JF",
        1989,
        "The linear-quadratic formula and progress in fractionated radiotherapy",
        "Br J Radiol 62(740):679-694",
        "10.1259/0007-1285-62-740-679",
    ),
):
    register_citation(_c)

# the library modules register these (import for the side effect)
from oncotwin.models.library import depillis2005 as _dp  # noqa: E402,F401
from oncotwin.models.library import iwata2000 as _iw  # noqa: E402,F401
from oncotwin.models.library import stein2019 as _st  # noqa: E402,F401

#: Target antigens a tumour may express (``expresses_<antigen>`` parameters), matched
#: against the ``target`` of an antibody or CAR-T in the drug catalog.
TARGET_ANTIGENS: dict[str, str] = {
    "CD19": "CD19 (B-cell lymphoma, B-ALL)",
    "CD20": "CD20 (B-cell lymphoma)",
    "BCMA": "BCMA (multiple myeloma)",
    "HER2": "HER2 (HER2-positive breast cancer)",
    "EGFR": "EGFR (colorectal, head and neck)",
}

#: Antibody classes with two-compartment PK whose constants come from the dosed drug.
ANTIBODY_CLASSES: dict[str, str] = {
    "anti-PD-1": "aPD1",
    "anti-PD-L1": "aPDL1",
    "anti-CTLA-4": "aCTLA4",
    "anti-tumor-antigen mAb": "mAb",
}

#: Standard dose [mg] that is one unit of a K-PD exposure (chemotherapy, lymphodepletion,
#: TKI): the approved dose for a 1.8 m^2 / 75 kg adult (labels in the drug catalog).
DRUG_STANDARD_DOSE: dict[str, float] = {
    "docetaxel": 75.0 * 1.8,
    "paclitaxel": 175.0 * 1.8,
    "carboplatin": 400.0 * 1.8,
    "cisplatin": 75.0 * 1.8,
    "pemetrexed": 500.0 * 1.8,
    "fludarabine": 30.0 * 1.8,
    "cyclophosphamide": 500.0 * 1.8,
    "sunitinib": 50.0,
    "axitinib": 10.0,
}

_ASSUME_CAL = (
    "not measured in humans; order of magnitude chosen so that the untreated and treated "
    "typical patient behave as described in the module docstring; to be fitted by the "
    "calibration issue"
)


def _a(value: float, unit: str, description: str, reason: str = _ASSUME_CAL, **kw) -> Parameter:
    return Parameter(value, unit, assumption=True, reason=reason, description=description, **kw)


def _s(value: float, unit: str, description: str, key: str, where: str, **kw) -> Parameter:
    return Parameter(value, unit, source=Source(key, where), description=description, **kw)


# ---------------------------------------------------------------------------------------------
# Organ-specific factors (assumptions with reasons)
# ---------------------------------------------------------------------------------------------
#: Antibody tumour-to-plasma concentration ratio per organ. IgG penetrates tumours poorly
#: (interstitial/plasma ratios of ~0.1-0.3) and the brain far less (~0.1-1% across an intact
#: blood-brain barrier; brain metastases leak somewhat).
_PENETRATION = {
    "primary": 0.2,
    "lung": 0.25,
    "liver": 0.3,
    "bone": 0.15,
    "brain": 0.02,
    "lymph_node": 0.3,
    "adrenal": 0.2,
    "peritoneum": 0.15,
    "skin": 0.2,
}
#: Relative T-cell infiltration of each organ's lesions (liver metastases are more tolerogenic,
#: brain lesions are shielded; Yu et al. 2021 report liver metastases siphoning CD8+ T cells).
_INFILTRATION = {
    "primary": 1.0,
    "lung": 1.0,
    "liver": 0.5,
    "bone": 0.7,
    "brain": 0.4,
    "lymph_node": 1.2,
    "adrenal": 0.8,
    "peritoneum": 0.7,
    "skin": 1.0,
}
#: Relative success of colonisation per organ (seed-and-soil; common sites of spread of
#: melanoma and NSCLC get larger shares). Shares of the shed cells that survive to seed.
_SEEDING = {
    "lung": 0.25,
    "liver": 0.2,
    "bone": 0.15,
    "brain": 0.1,
    "lymph_node": 0.15,
    "adrenal": 0.05,
    "peritoneum": 0.05,
    "skin": 0.05,
}
#: Weight of each organ's burden in the tumour-death hazard (vital organs weigh more).
_LETHALITY = {
    "primary": 1.0,
    "lung": 1.5,
    "liver": 2.0,
    "bone": 0.7,
    "brain": 4.0,
    "lymph_node": 0.7,
    "adrenal": 1.0,
    "peritoneum": 1.5,
    "skin": 0.3,
}


@cache
def build() -> Model:
    """Build ``metastatic_io`` (one compile for every cancer type; parameters differ)."""
    b = ModelBuilder(
        "metastatic_io",
        description="oncotwin metastatic immuno-oncology model: 9 tumour sites, the "
        "cancer-immunity cycle, every immunotherapy class, metastatic seeding and toxicity",
        citations=(
            "Hahnfeldt1999",
            "Iwata2000",
            "dePillis2005",
            "Stein2019",
            "Jacqmin2007",
            "DelMonte2009",
            "Larkin2015",
            "Fowler1989",
            "Deng2014",
        ),
    )
    P = b.parameter
    zero = sp.Integer(0)

    # ---------------- patient / tumour parameters --------------------------------------
    lam = P(
        "growth_rate",
        _s(
            0.00286,
            "1/day",
            "Gompertz growth constant of viable tumour cells (a of Iwata; volume doubling "
            "~56 days at 1e9 cells); cancer sets override it",
            "Iwata2000",
            "Table 1 (a = 0.00286/day, hepatocellular carcinoma)",
            log_sd=0.3,
        ),
    )
    k_b = P(
        "angio_stimulation",
        _s(
            5.85 * 0.00286 / 0.192,
            "1/day",
            "stimulation of the carrying capacity (Hahnfeldt b = 5.85/day, rescaled to human "
            "time by a_Iwata/lambda_Hahnfeldt = 0.00286/0.192)",
            "Hahnfeldt1999",
            "Table 1 control (b = 5.85/day); time rescaling is an assumption",
        ),
    )
    k_d = P(
        "angio_inhibition",
        _s(
            5.85 * 0.00286 / 0.192 / 63.0,
            "1/day/(1e9 cell)**(2/3)",
            "endogenous inhibition of the carrying capacity per lesion: b/d = 63 (1e9 cell)^(2/3)"
            " so that a lesion's largest size (b/d)^1.5 is 500 cm^3 (a ~10 cm mass) instead of "
            "the 17 cm^3 of the mouse tumours (Hahnfeldt d = 0.00873/day/mm^2 gives b/d = 670 "
            "mm^2)",
            "Hahnfeldt1999",
            "equation (K' = bV - dKV^(2/3)); the human maximal size is an assumption",
        ),
    )
    k_ratio = P(
        "capacity_ratio",
        _a(
            20.0,
            "1",
            "initial carrying capacity / initial burden of a site",
            reason="near the quasi-steady ratio b/(d V^(2/3)) of a 3-4 cm^3 lesion (~25), so "
            "that growth ~ growth_rate ln(20) = 3 growth_rate",
            log_sd=0.3,
        ),
    )
    f_neg = P(
        "antigen_negative_fraction",
        _a(
            0.01,
            "1",
            "fraction of tumour cells negative for the therapeutic target antigen (CD19, "
            "HER2, CD20, BCMA) at baseline",
            reason="antigen-negative relapse after CD19 CAR-T (~30% of relapses) implies small "
            "pre-existing negative subclones; 1% is a flagged assumption",
            upper=1.0,
        ),
    )
    iota = P(
        "immunogenicity",
        _a(
            1.0,
            "1",
            "antigen made per tumour cell killed, relative to a TMB of 10 mut/Mb; mapped "
            "from TMB as (TMB/10)^0.5 by the covariate layer",
            log_sd=0.4,
        ),
    )
    pdl1 = P(
        "pdl1_baseline",
        _a(0.3, "1", "constitutive PD-L1 expression (fraction; from the TPS covariate)", upper=1.0),
    )
    pdl1_ind = P(
        "pdl1_inducible",
        _a(0.5, "1", "maximal IFN-gamma induced PD-L1 (adaptive resistance)", upper=1.0),
    )
    k_ifn = P(
        "ifn_half_effectors",
        _a(0.002, "1e9 cell", "effector cells in a site giving half-maximal PD-L1 induction"),
    )
    infil = P(
        "infiltration",
        _a(
            1.0,
            "1",
            "T-cell infiltration capacity (inflamed ~1, excluded ~0.3, desert ~0.05; from the "
            "immune phenotype covariate)",
            log_sd=0.3,
        ),
    )
    mdsc = P(
        "mdsc_suppression",
        _a(0.5, "1", "MDSC/TGF-beta suppression of killing (from the NLR covariate)", log_sd=0.3),
    )
    emt = P(
        "emt",
        _a(
            0.2,
            "1",
            "mesenchymal (EMT) fraction of tumour cells; scales shedding",
            upper=1.0,
            log_sd=0.3,
        ),
    )

    # ---------------- immune parameters -------------------------------------------------
    kill_d = P(
        "kill_max",
        _s(
            1.43,
            "1/day",
            "saturation level of CD8+ lysis (d)",
            "dePillis2005",
            "Table 1, mouse (transfer to humans is an assumption)",
        ),
    )
    kill_l = P(
        "kill_exponent",
        _s(0.58, "1", "exponent of the E/T ratio (l)", "dePillis2005", "Table 1, mouse"),
    )
    kill_s = P(
        "kill_steepness",
        _s(2.73, "1", "(E/T)^l of half-maximal lysis (s)", "dePillis2005", "Table 1, mouse"),
    )
    pd_k = P(
        "pd1_inhibition",
        _a(0.2, "1", "PD-1 engagement (PD-L1 x free PD-1) that halves the kill rate"),
    )
    prime = P(
        "priming_rate",
        _a(
            0.2,
            "1e9 cell/day",
            "maximal priming of tumour-specific effectors",
            reason="tumour-specific CD8+ T cells are ~0.1-1% of the ~1e11 CD8+ T cells of an "
            "adult; 0.2e9/day gives a circulating pool of ~1e8 under the CTLA-4 brake",
            log_sd=0.3,
        ),
    )
    ag_half = P("antigen_half", _a(0.05, "1", "antigen load of half-maximal priming"))
    ag_release = P(
        "antigen_release",
        _a(1.0, "1/(1e9 cell)", "antigen units per 1e9 tumour cells killed (times immunogenicity)"),
    )
    ag_decay = P(
        "antigen_decay",
        _a(
            0.5,
            "1/day",
            "loss of presented antigen",
            reason="dendritic cell antigen presentation lasts days",
        ),
    )
    ctla_brake = P(
        "ctla4_brake",
        _a(
            0.7,
            "1",
            "fraction of CD28 co-stimulation lost to CTLA-4 competition for B7",
            upper=1.0,
        ),
    )
    d_P = P(
        "effector_death",
        _s(0.02, "1/day", "death of effector T cells (m)", "dePillis2005", "Table 1, mouse"),
    )
    traffic = P("trafficking", _a(0.3, "1/day", "effector egress from blood to tissues"))
    k_rec = P("recruit_half", _a(0.5, "1e9 cell", "site burden of half-maximal T-cell recruitment"))
    d_E = P("tissue_effector_death", _a(0.1, "1/day", "loss of effectors in the tumour"))
    r_exp = P(
        "local_expansion",
        _a(
            0.15,
            "1/day",
            "maximal proliferation of effectors on antigen in the tumour, braked by PD-1 "
            "engagement, exhaustion and suppression (blockade reinvigorates it: Huang et al. "
            "2017); crowding halves it when effectors reach 10% of the tumour cells",
        ),
    )
    ex_rate = P("exhaustion_rate", _a(0.05, "1/day", "exhaustion under PD-1 engagement"))
    ex_rev = P("exhaustion_reversal", _a(0.02, "1/day", "recovery from exhaustion"))
    treg_w = P("treg_suppression", _a(0.5, "1", "kill suppression per relative Treg level"))
    treg_turn = P("treg_turnover", _a(0.1, "1/day", "intratumoral Treg turnover"))
    treg_dep = P(
        "treg_depletion",
        _a(0.5, "1/day", "maximal ADCC depletion of intratumoral Tregs by anti-CTLA-4"),
    )
    nk_turn = P("nk_turnover", _s(0.0412, "1/day", "NK death (f)", "dePillis2005", "Table 1"))
    nk_kill = P("nk_kill", _a(0.002, "1/day", "NK kill of tumour cells at normal NK level"))
    lym_rec = P(
        "lymphocyte_recovery",
        _a(0.05, "1/day", "recovery of lymphocyte counts after depletion (weeks)"),
    )
    k_surv = P(
        "surveillance",
        _a(0.05, "1/day", "maximal immune kill of micrometastatic cells"),
    )
    p_half = P("surveillance_half", _a(0.05, "1e9 cell", "effectors of half-maximal surveillance"))

    # ---------------- metastasis ------------------------------------------------------
    seed_m = P(
        "colonization",
        _s(
            5.3e-8,
            "cell**(1-alpha)/day",
            "colonisation coefficient m at an EMT fraction of 0.2",
            "Iwata2000",
            "Table 1 (m = 5.3e-8, HCC)",
        ),
    )
    seed_a = P(
        "fractal_dim",
        _s(0.663, "1", "fractal dimension alpha", "Iwata2000", "Table 1", upper=1.0),
    )
    gomp_b = P(
        "colony_plateau",
        _s(7.3e10, "cell", "Gompertz plateau of a colony (b)", "Iwata2000", "Table 1"),
    )

    # ---------------- drugs -----------------------------------------------------------
    pk: dict[str, sp.Expr] = {}
    cl_f = P(
        "antibody_cl_factor",
        _a(
            1.0,
            "1",
            "patient factor on antibody clearance",
            reason="between-patient variability of therapeutic IgG clearance is ~30-40% CV in "
            "the population-PK papers of the catalog; log-SD 0.3",
            log_sd=0.3,
        ),
    )
    kd = {
        "aPD1": ("anti-PD-1", 0.5),
        "aPDL1": ("anti-PD-L1", 1.0),
        "aCTLA4": ("anti-CTLA-4", 10.0),
        "mAb": ("anti-tumor-antigen mAb", 2.0),
    }
    for prefix, (mech, kd_val) in kd.items():
        CL = P(f"{prefix}_CL", _a(0.2, "L/day", f"{mech} clearance (set from the dosed drug)"))
        V1 = P(f"{prefix}_V1", _a(3.5, "L", f"{mech} central volume (set from the dosed drug)"))
        Q = P(f"{prefix}_Q", _a(0.7, "L/day", f"{mech} distribution clearance (from the drug)"))
        V2 = P(f"{prefix}_V2", _a(3.0, "L", f"{mech} peripheral volume (set from the dosed drug)"))
        syms = two_compartment(b, prefix, CL * cl_f, Q, V1, V2)
        b.dose(mech, syms.central, description=f"{mech} dose [mg] into the central compartment")
        pk[prefix] = syms.concentration
        pk[prefix + "_kd"] = P(
            f"{prefix}_EC50",
            _a(
                kd_val,
                "mg/L",
                f"tissue concentration of half-maximal target occupancy ({mech})",
                reason="in vitro binding is sub-nM (~0.01 mg/L) but functional occupancy in "
                "tissue needs far more; order of magnitude of published exposure-response "
                "analyses (flat above approved doses)",
            ),
        )
    # cytokines (one compartment, MIU)
    for prefix, drug, cl_v, v_v in (
        ("IL2", "aldesleukin", 70.456, 6.0),
        ("IFN", "interferon alfa-2b", 150.0, 15.0),
    ):
        A = b.state(prefix, "MIU", description=f"{drug} amount")
        CL = P(f"{prefix}_CL", _a(cl_v, "L/day", f"{drug} clearance (set from the catalog)"))
        V = P(f"{prefix}_V", _a(v_v, "L", f"{drug} volume (set from the catalog)"))
        b.add_rate(A, -CL / V * A)
        b.dose(drug, A, scale=1e-6, description=f"{drug} dose [IU] -> MIU")
        pk[prefix] = A / V
    il2_hi = P("il2_EC50_effector", _a(0.5, "MIU/L", "IL-2 of half-maximal effector/NK expansion"))
    il2_lo = P("il2_EC50_treg", _a(0.01, "MIU/L", "IL-2 of half-maximal Treg expansion (CD25)"))
    il2_max = P("il2_boost", _a(3.0, "1", "maximal fold increase of priming/NK under IL-2"))
    ifn_half = P("ifn_EC50", _a(0.1, "MIU/L", "interferon-alfa of half-maximal effect"))
    ifn_max = P("ifn_boost", _a(0.5, "1", "maximal relative increase of priming by IFN-alfa"))

    # K-PD exposures in standard doses
    def kpd(name: str, half_life: float, drugs: tuple[str, ...], what: str) -> sp.Symbol:
        X = b.state(name, "standard dose", description=f"{what} exposure (K-PD)")
        hl = P(
            f"{name}_half_life",
            _a(
                half_life,
                "day",
                f"half-life of the {what} effect compartment",
                reason="K-PD effect half-life (Jacqmin 2007); order of the drug's terminal "
                "half-life plus cell-kill delay",
            ),
        )
        b.add_rate(X, -sp.log(2) / hl * X)
        for d in drugs:
            b.dose(d, X, scale=1.0 / DRUG_STANDARD_DOSE[d], description=f"{d} [mg] / std dose")
        return X

    Ch = kpd(
        "chemo",
        1.0,
        ("docetaxel", "paclitaxel", "carboplatin", "cisplatin", "pemetrexed"),
        "cytotoxic chemotherapy",
    )
    LD = kpd("lymphodepletion", 1.0, ("fludarabine", "cyclophosphamide"), "lymphodepleting")
    TK = kpd("tki", 1.0, ("sunitinib", "axitinib"), "VEGFR TKI")
    ch_max = P("chemo_kill", _a(0.3, "1/day", "maximal chemotherapy kill rate", log_sd=0.3))
    tki_max = P("tki_effect", _a(0.1, "1/day", "maximal loss rate of vascular capacity under TKI"))
    tki_res = P("tki_resistance_rate", _a(0.01, "1/day", "acquisition of TKI resistance"))
    Res = b.state("tki_resistance", "1", description="acquired TKI resistance (0-1)")

    # cell therapies / vaccines / virus
    CE = b.state("cart_effector", "1e9 cell", description="CAR-T effector cells")
    CM = b.state("cart_memory", "1e9 cell", description="CAR-T memory cells")
    b.dose("CAR-T", CE, scale=1e-9, description="CAR-T cells -> 1e9 cells")
    car_rho = P(
        "cart_expansion",
        _s(
            0.89,
            "1/day",
            "maximal CAR-T expansion rate rho = log(foldx)/Tmax",
            "Stein2019",
            "Table 1 (foldx 3900, Tmax 9.3 d)",
        ),
    )
    car_alpha = P(
        "cart_contraction",
        _s(0.16, "1/day", "effector contraction alpha (t1/2 4.3 d)", "Stein2019", "Table 1"),
    )
    car_beta = P(
        "cart_memory_decay",
        _s(0.0032, "1/day", "memory decline beta (t1/2 217 d)", "Stein2019", "Table 1"),
    )
    car_mem = P("cart_memory_rate", _a(0.01, "1/day", "effector-to-memory conversion"))
    car_react = P("cart_reactivation", _a(0.05, "1/day", "antigen-driven memory reactivation"))
    car_kag = P("cart_antigen_half", _a(0.5, "1e9 cell", "target cells of half-maximal expansion"))
    car_kill = P("cart_kill", _a(2.0, "1/day", "CAR-T kill capacity per effector unit"))
    car_ld = P("cart_lymphodepletion_boost", _a(2.0, "1", "extra expansion when lymphopenic"))
    car_match = P(
        "cart_target_match",
        _a(
            0.0,
            "1",
            "1 if the CAR target is expressed by the tumour (set by the regimen)",
            reason="a switch set from expresses_<target>, not a rate",
            upper=1.0,
        ),
    )
    Vac = b.state("vaccine", "1", description="vaccine antigen/APC depot")
    b.dose("peptide vaccine", Vac, scale=1.0, description="peptide [mg]")
    b.dose("cellular vaccine", Vac, scale=1.0 / 5e7, description="APC cells / 5e7")
    vac_dec = P("vaccine_decay", _a(0.2, "1/day", "release/decay of vaccine antigen"))
    vac_pot = P("vaccine_potency", _a(0.02, "1", "antigen units per vaccine unit released"))
    Zr = b.state("rt_danger", "1", description="radiation-induced innate danger signal")
    rt_dec = P(
        "rt_danger_decay",
        _a(
            0.2,
            "1/day",
            "decay of the radiation-induced type I IFN / DC activation signal",
            reason="type I IFN induction after ablative radiation lasts days (Deng et al. 2014)",
        ),
    )
    rt_adj = P(
        "rt_priming",
        _a(
            2.0,
            "1",
            "maximal relative priming boost by radiation-induced DC activation (cGAS-STING, "
            "type I IFN; Deng et al. 2014): the adjuvant behind abscopal responses",
        ),
    )
    b.add_rate(Zr, -rt_dec * Zr)
    Vir = b.state("virus", "1e8 PFU", description="oncolytic virus in injected lesions")
    b.dose("oncolytic virus", Vir, scale=1e-8, description="PFU -> 1e8 PFU")
    vir_clear = P("virus_clearance", _a(0.3, "1/day", "virus clearance"))
    vir_rep = P("virus_replication", _a(0.5, "1/day", "virus replication in infected tumour"))
    vir_lysis = P("virus_lysis", _a(0.1, "1/day", "maximal oncolytic kill rate"))
    vir_half = P("virus_half", _a(1.0, "1e8 PFU", "virus of half-maximal lysis"))
    gmcsf = P("virus_priming", _a(1.0, "1", "maximal relative priming boost by GM-CSF/lysis"))
    mab_match = P(
        "mab_target_match",
        _a(
            0.0,
            "1",
            "1 if the antibody's target is expressed by the tumour (set by regimen)",
            reason="a switch set from expresses_<target>, not a rate",
            upper=1.0,
        ),
    )
    for antigen, what in TARGET_ANTIGENS.items():
        P(
            f"expresses_{antigen}",
            _a(
                0.0,
                "1",
                f"1 if the tumour expresses {what} (set from the patient's covariates)",
                reason="a covariate, not a rate: 0 or 1 per patient",
                upper=1.0,
            ),
        )
    St = b.state("steroid", "1", description="corticosteroid exposure (irAE/CRS management)")
    b.dose("corticosteroid", St, description="one high-dose course = 1 unit")
    st_hl = P(
        "steroid_half_life",
        _a(
            10.0,
            "day",
            "half-life of the immunosuppressive effect of a steroid course",
            reason="irAE management tapers high-dose steroids over >= 4 weeks",
        ),
    )
    st_w = P("steroid_suppression", _a(2.0, "1", "maximal fold reduction of priming and kill"))
    b.add_rate(St, -sp.log(2) / st_hl * St)
    mab_sig = P("mab_signalling", _a(0.5, "1", "maximal growth inhibition by target blockade"))
    mab_adcc = P("mab_adcc", _a(0.05, "1/day", "maximal ADCC kill rate at normal NK level"))
    P(
        "rt_alpha",
        _a(
            0.3,
            "1/Gy",
            "linear-quadratic alpha of tumour cells",
            reason="typical tumour alpha 0.1-0.5/Gy with alpha/beta ~10 Gy (Fowler 1989)",
        ),
    )
    P(
        "rt_beta",
        _a(0.03, "1/Gy**2", "linear-quadratic beta of tumour cells", reason="alpha/beta = 10 Gy"),
    )
    P(
        "rt_antigen",
        _a(
            5.0,
            "1",
            "antigen released per 1e9 cells killed by radiation, relative to other deaths",
            reason="radiation kills by immunogenic cell death (calreticulin, HMGB1, ATP, "
            "cGAS-STING type I IFN; Golden et al. 2014), more immunogenic per cell than "
            "steady-state death; 5x is an order-of-magnitude assumption",
        ),
    )

    # toxicity parameters (irAE hazards derived from CheckMate 067, Larkin 2015)
    h_pd = P(
        "irae_hazard_pd1",
        _s(
            6e-4,
            "1/day",
            "grade>=3 irAE hazard at full PD-1 blockade",
            "Larkin2015",
            "grade 3-4 TRAE 16.3% (nivolumab) over ~300 days of blockade: -ln(1-0.163)/300",
        ),
    )
    h_ct = P(
        "irae_hazard_ctla4",
        _s(
            3.3e-3,
            "1/day",
            "grade>=3 irAE hazard at full CTLA-4 occupancy",
            "Larkin2015",
            "grade 3-4 TRAE 27.3% (ipilimumab) over ~120 days at occupancy ~0.8",
        ),
    )
    h_syn = P(
        "irae_hazard_synergy",
        _s(
            3.3e-3,
            "1/day",
            "extra hazard of combined PD-1 and CTLA-4 blockade",
            "Larkin2015",
            "combination 55% vs the sum of monotherapy hazards",
        ),
    )
    h_il2 = P("irae_hazard_il2", _a(0.01, "1/day", "grade>=3 hazard at full IL-2 activation"))
    cyto_k = P("crs_cytokine_release", _a(1.0, "1", "cytokine units per CAR-T kill/expansion unit"))
    cyto_d = P("crs_cytokine_decay", _a(0.7, "1/day", "IL-6-like cytokine clearance"))
    leak_d = P("capillary_leak_recovery", _a(0.5, "1/day", "recovery from IL-2 capillary leak"))
    anc_rec = P(
        "neutrophil_recovery",
        _a(0.1, "1/day", "neutrophil recovery (nadir day ~7-10, recovery by day 21)"),
    )
    anc_kill = P("neutrophil_kill", _a(0.5, "1/day", "maximal neutrophil loss under chemotherapy"))
    h_death = P(
        "death_hazard",
        _a(
            0.001,
            "1/day",
            "tumour-death hazard per 1e10 weighted cells",
            reason="an untreated metastatic burden of ~2e10 cells growing as in the model gives "
            "a median survival of ~8-9 months (untreated/dacarbazine-era metastatic melanoma); "
            "organ weights in _LETHALITY; assumption pending calibration",
        ),
    )

    # ---------------- systemic immune states ------------------------------------------
    A = b.state("antigen", "1", description="antigen presented in the lymph node")
    Pe = b.state(
        "effector_blood",
        "1e9 cell",
        initial=_a(
            0.1,
            "1e9 cell",
            "circulating tumour-specific effectors at baseline (near the untreated quasi-"
            "steady state of the typical patient)",
        ),
        description="primed tumour-specific CD8+ effectors in blood",
    )
    R = b.state(
        "treg",
        "1",
        initial=_a(1.0, "1", "intratumoral Treg level relative to normal", log_sd=0.3),
        description="intratumoral regulatory T cells (relative)",
    )
    NK = b.state(
        "nk",
        "1",
        initial=_a(1.0, "1", "NK level relative to normal", log_sd=0.2),
        description="NK cells (relative)",
    )
    X = b.state("exhaustion", "1", description="exhausted fraction of tumour effectors")
    Ly = b.state("lymphocytes", "1", initial=sp.Integer(1), description="lymphocytes (relative)")
    Y = b.state("cytokine", "1", description="IL-6-like inflammatory cytokine (CRS driver)")
    Leak = b.state("capillary_leak", "1", description="IL-2 capillary leak (0-1)")
    ANC = b.state("neutrophils", "1", initial=sp.Integer(1), description="neutrophils (relative)")
    Hi = b.state("irae_hazard", "1", description="cumulative grade>=3 irAE hazard")
    Ypk = b.state("cytokine_peak", "1", description="running maximum of the cytokine (CRS)")
    Lpk = b.state("capillary_leak_peak", "1", description="running maximum of capillary leak")
    Nnd = b.state(
        "neutrophil_nadir", "1", initial=sp.Integer(1), description="running minimum of neutrophils"
    )
    track = P(
        "marker_tracking",
        _a(
            20.0,
            "1/day",
            "rate at which running maxima/minima follow their marker (numerical device)",
            reason="fast enough (lag ~1 h) to catch peaks between output times",
        ),
    )
    Hd = b.state("death_hazard_cum", "1", description="cumulative tumour-death hazard")

    # ---------------- drug effects (systemic) -----------------------------------------
    def occ(c: sp.Expr, k: sp.Expr) -> sp.Expr:
        return c / (c + k)

    ro_ctla = b.expression("ro_ctla4", occ(pk["aCTLA4"], pk["aCTLA4_kd"]), unit="1")
    ro_pd_sys = b.expression(
        "ro_pd_axis_blood",
        1 - (1 - occ(pk["aPD1"], pk["aPD1_kd"])) * (1 - occ(pk["aPDL1"], pk["aPDL1_kd"])),
        unit="1",
    )
    il2_e = b.expression("il2_effect", occ(pk["IL2"], il2_hi), unit="1")
    il2_t = occ(pk["IL2"], il2_lo)
    ifn_e = b.expression("ifn_effect", occ(pk["IFN"], ifn_half), unit="1")
    ch_e = b.expression("chemo_effect", Ch / (Ch + sp.Rational(1, 2)), unit="1")
    ld_e = LD / (LD + sp.Rational(1, 2))
    tk_raw = TK / (TK + sp.Rational(1, 2))
    tk_e = b.expression("tki_effect_net", tk_raw * (1 - Res), unit="1")
    vir_e = Vir / (Vir + vir_half)
    steroid_e = St / (St + sp.Rational(1, 2))
    supp = 1 / (1 + mdsc * (1 - sp.Rational(1, 2) * tk_e)) / (1 + treg_w * R)
    supp = supp / (1 + st_w * steroid_e)

    # ---------------- per-site states --------------------------------------------------
    T, U, K, E, LES = {}, {}, {}, {}, {}
    for s in SITES:
        init_burden = P(
            f"burden_{s}",
            _a(
                1.0 if s in ("primary", "lung") else 0.0,
                "1e9 cell",
                f"baseline viable tumour cells in {s} (0: no lesion; from the lesion covariates)",
                reason="a covariate (lesion volumes at 1e6 cells/mm^3, Del Monte 2009); the "
                "default is an illustrative 1 cm^3 primary and lung lesion",
            ),
        )
        T[s] = b.state(
            f"T_{s}",
            "1e9 cell",
            initial=init_burden * (1 - f_neg),
            description=f"antigen-positive tumour cells, {s}",
        )
        U[s] = b.state(
            f"U_{s}",
            "1e9 cell",
            initial=init_burden * f_neg,
            description=f"antigen-negative tumour cells, {s}",
        )
        K[s] = b.state(
            f"K_{s}",
            "1e9 cell",
            initial=init_burden * k_ratio,
            description=f"vascular carrying capacity, {s}",
        )
        n_les = P(
            f"lesions_{s}",
            _a(
                1.0,
                "1",
                f"number of lesions in {s} (each with its own vascular capacity)",
                reason="a covariate (lesion count per organ), not a rate",
                lower=1.0,
            ),
        )
        LES[s] = n_les
        E[s] = b.state(
            f"E_{s}",
            "1e9 cell",
            initial=init_burden * infil * _INFILTRATION[s] * sp.Rational(1, 100),
            description=f"effector CD8+ T cells in {s}",
        )
    # micrometastases: n = log(cells) per organ
    n = {}
    for s in METASTATIC_SITES:
        n[s] = b.state(
            f"micromet_{s}",
            "log(cell)",
            initial=P(
                f"micromet0_{s}",
                _a(
                    4.0,
                    "log(cell)",
                    f"log of undetectable tumour cells seeded in {s} before baseline",
                    reason="occult micrometastases (~50 cells) are present in most metastatic "
                    "patients; Iwata's model seeds colonies long before diagnosis",
                    lower=-30.0,
                ),
            ),
            nonnegative=False,
            description=f"log micrometastatic cells (new lesions), {s}",
        )

    total = sum((T[s] + U[s] for s in SITES), zero)
    antigen_car = sum((T[s] for s in SITES), zero) * car_match
    E_tot = sum(E.values(), zero)

    kill_total = zero
    pd_signal = zero
    for s in SITES:
        V = T[s] + U[s]
        pen = _PENETRATION[s]
        ro_pd = 1 - (1 - occ(pk["aPD1"] * pen, pk["aPD1_kd"])) * (
            1 - occ(pk["aPDL1"] * pen, pk["aPDL1_kd"])
        )
        pdl1_s = b.expression(
            f"pdl1_{s}", pdl1 + (1 - pdl1) * pdl1_ind * E[s] / (E[s] + k_ifn), unit="1"
        )
        engaged = pdl1_s * (1 - ro_pd)
        pd_signal += engaged * E[s]
        inhibit = 1 / (1 + engaged / pd_k) * (1 - X) * supp
        cd8 = b.expression(
            f"cd8_kill_{s}",
            ratio_dependent_kill(kill_d * inhibit, E[s], V, kill_s, kill_l),
            unit="1e9 cell/day",
        )
        # per-cell rates (the kill expression is for the whole site; split by share)
        share_T = sp.Piecewise((T[s] / V, V > 0), (zero, True))
        gomp = sp.Piecewise((lam * sp.log(K[s] / V), (V > 0) & (K[s] > 0)), (zero, True))
        mab_occ = occ(pk["mAb"] * pen, pk["mAb_kd"]) * mab_match
        vir_here = vir_e if s in ("skin", "lymph_node") else zero
        k_car = car_kill * CE / (CE + antigen_car + car_kag)
        per_cell_common = ch_max * ch_e + nk_kill * NK + vir_lysis * vir_here
        kill_T = (
            cd8 * share_T + (per_cell_common + mab_adcc * mab_occ * NK + k_car * car_match) * T[s]
        )
        kill_U = cd8 * (1 - share_T) + per_cell_common * U[s]
        b.add_rate(T[s], gomp * (1 - mab_sig * mab_occ) * T[s] - kill_T)
        b.add_rate(U[s], gomp * U[s] - kill_U)
        b.add_rate(
            K[s],
            sp.Piecewise(
                (k_b * V - k_d * K[s] * (V / LES[s]) ** sp.Rational(2, 3), V > 0), (zero, True)
            )
            - tki_max * tk_e * K[s],
        )
        recruit = traffic * Pe * infil * _INFILTRATION[s] * V / (V + k_rec)
        expand = r_exp * inhibit * E[s] * V / (V + 10 * E[s] + sp.Rational(1, 10**12))
        b.add_rate(E[s], recruit + expand - d_E * E[s] - ch_max * ch_e * E[s] * sp.Rational(1, 2))
        kill_total += kill_T + kill_U

    # micrometastases: influx (Iwata colonisation, EMT-scaled) + Gompertz - immune control
    shed = (
        seed_m
        * (emt / sp.Rational(1, 5))
        * sp.Piecewise(((total * 1e9) ** seed_a, total > 0), (zero, True))
    )
    surveil = k_surv * Pe / (Pe + p_half) * supp * (1 + il2_max * il2_e)
    for s in METASTATIC_SITES:
        b.add_rate(
            n[s],
            _SEEDING[s] * shed * sp.exp(-n[s])
            + lam * (sp.log(gomp_b) - n[s])
            - surveil * infil * _INFILTRATION[s]
            - ch_max * ch_e,
        )
    mm_burden = sum((sp.exp(n[s]) * 1e-9 * _LETHALITY[s] for s in METASTATIC_SITES), zero)
    b.expression("tumor_burden", total, unit="1e9 cell")

    # antigen, priming, blood effectors
    b.add_rate(
        A,
        iota * ag_release * kill_total + vac_pot * vac_dec * Vac - ag_decay * A,
    )
    costim = (1 - ctla_brake * (1 - ro_ctla)) * (1 + il2_max * il2_e) * (1 + ifn_max * ifn_e)
    costim = costim * (1 + gmcsf * vir_e) * (1 + rt_adj * Zr / (Zr + 1)) / (1 + treg_w * R)
    priming = prime * A / (A + ag_half) * costim * Ly / (1 + st_w * steroid_e)
    b.add_rate(
        Pe,
        priming - d_P * Pe - traffic * Pe - (ch_max * ch_e + 2 * ld_e) * Pe,
    )
    b.add_rate(X, ex_rate * pd_signal / (E_tot + sp.Rational(1, 10**6)) * (1 - X) - ex_rev * X)
    b.add_rate(
        R,
        treg_turn * (1 + il2_max * il2_t - R)
        - treg_dep * ro_ctla * R
        - (ch_max * ch_e + 2 * ld_e) * R,
    )
    b.add_rate(NK, nk_turn * (1 + il2_max * il2_e - NK) - (ch_max * ch_e + 2 * ld_e) * NK)
    b.add_rate(Ly, lym_rec * (1 - Ly) - (ch_max * ch_e + 2 * ld_e) * Ly)
    b.add_rate(Vac, -vac_dec * Vac)
    infected = T.get("skin", zero) + T.get("lymph_node", zero) + U["skin"] + U["lymph_node"]
    b.add_rate(Vir, vir_rep * Vir * infected / (infected + 1) - vir_clear * Vir)

    # CAR-T (Stein 2019 phases, antigen-driven)
    drive = antigen_car / (antigen_car + car_kag) * (1 + car_ld * (1 - Ly))
    b.add_rate(CE, car_rho * drive * CE - car_alpha * CE - car_mem * CE + car_react * drive * CM)
    b.add_rate(CM, car_mem * CE - car_beta * CM - car_react * drive * CM)
    car_activity = car_rho * drive * CE + sum(
        (car_kill * CE / (CE + antigen_car + car_kag) * car_match * T[s] for s in SITES), zero
    )
    b.add_rate(Y, cyto_k * car_activity - cyto_d * Y)
    b.add_rate(Res, tki_res * tk_raw * (1 - Res))
    b.add_rate(Leak, il2_e * (1 - Leak) - leak_d * Leak * (1 - il2_e))
    b.add_rate(ANC, anc_rec * (1 - ANC) - anc_kill * ch_e * ANC)
    b.add_rate(Ypk, track * sp.Max(Y - Ypk, 0))
    b.add_rate(Lpk, track * sp.Max(Leak - Lpk, 0))
    b.add_rate(Nnd, -track * sp.Max(Nnd - ANC, 0))
    b.add_rate(
        Hi,
        h_pd * ro_pd_sys + h_ct * ro_ctla + h_syn * ro_pd_sys * ro_ctla + h_il2 * il2_e,
    )
    weighted = sum((_LETHALITY[s] * (T[s] + U[s]) for s in SITES), zero) + mm_burden
    b.add_rate(Hd, h_death * weighted / 10)
    b.regimen_adapter = IORegimenAdapter()
    return b.build()


class IORegimenAdapter:
    """Regimen logic of ``metastatic_io`` that dose targets alone cannot express.

    * Antibodies of one class share a two-compartment PK whose constants are set from the
      catalog entry of the drug actually dosed (scaled by the patient's clearance factor);
      cetuximab's Michaelis-Menten elimination is linearised at 100 mg/L (an assumption: its
      concentrations under weekly dosing are of that order).
    * An anti-tumour-antigen antibody or a CAR-T acts only if the tumour expresses its
      target: ``mab_target_match`` / ``cart_target_match`` are set from
      ``expresses_<target>``.
    * Radiotherapy fractions multiply the viable cells of the named site by the linear-
      quadratic surviving fraction ``exp(-alpha d - beta d^2)`` (Fowler 1989) and release
      antigen in proportion to the cells killed (estimated from the site's baseline burden).
    """

    handles = frozenset({"radiotherapy"})

    def prepare(self, model: Model, regimen, params, horizon: float):
        import numpy as np

        from oncotwin.errors import RegimenError
        from oncotwin.pharmacology import get_drug
        from oncotwin.solvers import BOLUS, MULTIPLY, EventTable

        params = np.array(params, dtype=np.float64, copy=True)
        col = model.parameter_index
        seen: dict[str, str] = {}
        for name in regimen.drugs:
            d = get_drug(name)
            prefix = ANTIBODY_CLASSES.get(d.mechanism)
            if prefix is not None:
                if prefix in seen and seen[prefix] != d.name:
                    raise RegimenError(
                        f"regimen gives two {d.mechanism} antibodies ({seen[prefix]} and "
                        f"{d.name}); metastatic_io has one {d.mechanism} compartment: give one"
                    )
                seen[prefix] = d.name
                pk = {k: v.value for k, v in d.pk.items()}
                cl = pk.get("CL", 0.0)
                if "Vmax" in pk and "Km" in pk:
                    cl += pk["Vmax"] / (pk["Km"] + 100.0)
                for key, value in (("CL", cl), ("V1", pk.get("V1")), ("Q", pk.get("Q"))):
                    if value is not None:
                        params[:, col(f"{prefix}_{key}")] = value
                if "V2" in pk:
                    params[:, col(f"{prefix}_V2")] = pk["V2"]
            elif d.name == "aldesleukin":
                params[:, col("IL2_CL")] = d.pk["CL"].value
                params[:, col("IL2_V")] = d.pk["V1"].value
            elif d.name == "interferon alfa-2b":
                params[:, col("IFN_CL")] = d.pk["CL"].value
                params[:, col("IFN_V")] = d.pk["V1"].value
            target = next((a for a in TARGET_ANTIGENS if a == d.target), None)
            if d.mechanism == "anti-tumor-antigen mAb":
                match = params[:, col(f"expresses_{target}")] if target else 0.0
                params[:, col("mab_target_match")] = match
            elif d.mechanism == "CAR-T":
                match = params[:, col(f"expresses_{target}")] if target else 0.0
                params[:, col("cart_target_match")] = match

        sched = regimen.schedule(horizon)
        rt = [j for j in range(len(sched)) if str(sched.drug[j]) == "radiotherapy"]
        if not rt:
            return params, None
        alpha = params[:, col("rt_alpha")]
        beta = params[:, col("rt_beta")]
        release = params[:, col("rt_antigen")] * params[:, col("immunogenicity")]
        times, states, kinds, cols = [], [], [], []
        for j in rt:
            site = str(sched.site[j])
            if site not in SITES:
                raise RegimenError(f"radiotherapy site {site!r} is not one of {SITES}")
            dose = float(sched.amount[j])
            sf = np.exp(-alpha * dose - beta * dose**2)
            t = float(sched.time[j])
            for prefix in ("T", "U"):
                times.append(t)
                states.append(model.state_index(f"{prefix}_{site}"))
                kinds.append(MULTIPLY)
                cols.append(sf)
            times.append(t)
            states.append(model.state_index("antigen"))
            kinds.append(BOLUS)
            cols.append(release * (1 - sf) * params[:, col(f"burden_{site}")])
            times.append(t)
            states.append(model.state_index("rt_danger"))
            kinds.append(BOLUS)
            cols.append(1 - sf)
        return params, EventTable.build(
            np.array(times), np.array(states), np.array(kinds), np.column_stack(cols)
        )
