"""Treatments of ``metastatic_io``: drug exposures, dose targets and exposure effects
(equations only; values come from the parameter set ``metastatic_io/default``).

Antibodies of each class share a two-compartment PK (constants set from the dosed drug by
:class:`~oncotwin.models.metastatic_io.IORegimenAdapter`); cytokines have one compartment in
MIU; VEGFR TKIs are K-PD exposures in standard doses (Jacqmin 2007; cytotoxic chemotherapy
and lymphodepletion: :mod:`._metastatic_io_chemo`); CAR-T follows the expansion, contraction
and memory phases of Stein 2019 with
antigen-driven expansion; vaccines, radiotherapy's danger signal, oncolytic virus and
corticosteroids are depots that decay. Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from oncotwin.models.components.pk import (
    dose_clock_rate,
    time_varying_clearance,
    two_compartment,
)
from oncotwin.models.metastatic_io import ANTIBODY_CLASSES, DRUG_STANDARD_DOSE, TARGET_ANTIGENS

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["add_equations", "declare", "declare_effects", "occ"]

_HALF = sp.Rational(1, 2)


def occ(c: sp.Expr, k: sp.Expr) -> sp.Expr:
    """Occupancy (or half-saturating effect) ``c / (c + k)``."""
    return c / (c + k)


def _kpd(io: _Build, name: str, drugs: tuple[str, ...], what: str) -> sp.Symbol:
    """A K-PD exposure state in standard doses with its effect half-life."""
    b = io.b
    X = io.state(name, "standard dose", description=f"{what} exposure (K-PD)")
    hl = io.p(f"{name}_half_life")
    b.add_rate(X, -sp.log(2) / hl * X)
    for d in drugs:
        b.dose(d, X, scale=1.0 / DRUG_STANDARD_DOSE[d], description=f"{d} [mg] / std dose")
    return X


#: Patient covariates and standard-normal draws of the antibody population PK: parameters the
#: regimen adapter reads to set each patient's PK of the drug dosed
#: (:func:`oncotwin.pharmacology.poppk.individual_pk`); no equation uses them.
ANTIBODY_PK_INPUTS = (
    "pk_weight",
    "pk_albumin",
    "pk_tumour",
    "pk_female",
    "pk_ecog",
    "pk_eta_CL",
    "pk_eta_V1",
    "pk_eta_Emax",
)


def _declare_antibodies(io: _Build) -> None:
    """Two-compartment PK per antibody class with time-varying clearance.

    ``CL(t) = CL cl_f exp(E tau^h / (T50^h + tau^h))`` (Bajaj 2017 for nivolumab; E, T50, h
    of the dosed drug, E = 0 where the paper has none), ``tau`` the time since the class's
    first dose: a clock state that runs while the class's antibody is in the body
    (``d tau/dt = A/(A + 1 ug)``, ``A`` the amount in both compartments; it stops once a
    stopped drug has washed out below 1 ug, when CL(t) has long reached its plateau).
    """
    b, pk = io.b, io.pk
    cl_f = io.p("antibody_cl_factor")
    for name in ANTIBODY_PK_INPUTS:
        io.p(name)
    for mech, prefix in ANTIBODY_CLASSES.items():
        CL = io.p(f"{prefix}_CL")
        V1 = io.p(f"{prefix}_V1")
        Q = io.p(f"{prefix}_Q")
        V2 = io.p(f"{prefix}_V2")
        emax = io.p(f"{prefix}_CL_Emax")
        t50 = io.p(f"{prefix}_CL_T50")
        hill = io.p(f"{prefix}_CL_hill")
        tau = io.state(f"{prefix}_clock", "day", description=f"time since the first {mech} dose")
        tv = time_varying_clearance(tau, emax, t50, hill)
        cl_t = io.expression(f"{prefix}_clearance", CL * cl_f * tv, unit="L/day")
        syms = two_compartment(b, prefix, cl_t, Q, V1, V2)
        b.add_rate(tau, dose_clock_rate(syms.central + syms.peripheral))
        b.dose(mech, syms.central, description=f"{mech} dose [mg] into the central compartment")
        pk[prefix] = syms.concentration
        pk[prefix + "_kd"] = io.p(f"{prefix}_EC50")


def declare(io: _Build) -> None:
    """Drug states, dose targets and drug parameters (in the order of the parameter vector)."""
    b, pk = io.b, io.pk
    _declare_antibodies(io)
    # cytokines (one compartment, MIU)
    for prefix, drug in (("IL2", "aldesleukin"), ("IFN", "interferon alfa-2b")):
        A = io.state(prefix, "MIU", description=f"{drug} amount")
        CL = io.p(f"{prefix}_CL")
        V = io.p(f"{prefix}_V")
        b.add_rate(A, -CL / V * A)
        b.dose(drug, A, scale=1e-6, description=f"{drug} dose [IU] -> MIU")
        pk[prefix] = A / V
    for name in ("il2_EC50_effector", "il2_EC50_treg", "il2_boost", "ifn_EC50", "ifn_boost"):
        io.p(name)

    # K-PD exposures in standard doses (cytotoxic chemotherapy and lymphodepletion:
    # _metastatic_io_chemo)
    from oncotwin.pharmacology import drugs_by_mechanism

    _kpd(io, "tki", tuple(d.name for d in drugs_by_mechanism("VEGFR TKI")), "VEGFR TKI")
    for name in ("tki_effect", "tki_resistance_rate"):
        io.p(name)
    io.state("tki_resistance", "1", description="acquired TKI resistance (0-1)")

    # cell therapies / vaccines / virus
    CE = io.state("cart_effector", "1e9 cell", description="CAR-T effector cells")
    io.state("cart_memory", "1e9 cell", description="CAR-T memory cells")
    b.dose("CAR-T", CE, scale=1e-9, description="CAR-T cells -> 1e9 cells")
    for name in (
        "cart_expansion",
        "cart_contraction",
        "cart_memory_decay",
        "cart_memory_rate",
        "cart_reactivation",
        "cart_antigen_half",
        "cart_kill",
        "cart_lymphodepletion_boost",
        "cart_target_match",
    ):
        io.p(name)
    Vac = io.state("vaccine", "1", description="vaccine antigen/APC depot")
    b.dose("peptide vaccine", Vac, scale=1.0, description="peptide [mg]")
    b.dose("cellular vaccine", Vac, scale=1.0 / 5e7, description="APC cells / 5e7")
    io.p("vaccine_decay")
    io.p("vaccine_potency")
    Zr = io.state("rt_danger", "1", description="radiation-induced innate danger signal")
    rt_dec = io.p("rt_danger_decay")
    io.p("rt_priming")
    b.add_rate(Zr, -rt_dec * Zr)
    Vir = io.state("virus", "1e8 PFU", description="oncolytic virus in injected lesions")
    b.dose("oncolytic virus", Vir, scale=1e-8, description="PFU -> 1e8 PFU")
    for name in (
        "virus_clearance",
        "virus_replication",
        "virus_lysis",
        "virus_half",
        "virus_priming",
        "mab_target_match",
        *(f"expresses_{antigen}" for antigen in TARGET_ANTIGENS),
    ):
        io.p(name)
    St = io.state("steroid", "1", description="corticosteroid exposure (irAE/CRS management)")
    b.dose("corticosteroid", St, description="one high-dose course = 1 unit")
    st_hl = io.p("steroid_half_life")
    io.p("steroid_suppression")
    b.add_rate(St, -sp.log(2) / st_hl * St)
    for name in ("mab_signalling", "mab_adcc", "rt_alpha", "rt_beta", "rt_antigen"):
        io.p(name)


def declare_effects(io: _Build) -> None:
    """Receptor occupancies and exposure effects (named where they are observables) and the
    combined suppression of killing by MDSCs, Tregs and steroids."""
    v, pk = io.v, io.pk
    il2_hi, il2_lo, ifn_half, vir_half = io(
        "il2_EC50_effector", "il2_EC50_treg", "ifn_EC50", "virus_half"
    )
    LD, TK, Res, Vir, St = io("lymphodepletion", "tki", "tki_resistance", "virus", "steroid")
    mdsc, treg_w, st_w, R = io(
        "mdsc_suppression", "treg_suppression", "steroid_suppression", "treg"
    )
    io.expression("ro_ctla4", occ(pk["aCTLA4"], pk["aCTLA4_kd"]), unit="1")
    io.expression(
        "ro_pd_axis_blood",
        1 - (1 - occ(pk["aPD1"], pk["aPD1_kd"])) * (1 - occ(pk["aPDL1"], pk["aPDL1_kd"])),
        unit="1",
    )
    io.expression("il2_effect", occ(pk["IL2"], il2_hi), unit="1")
    v["il2_t"] = occ(pk["IL2"], il2_lo)
    io.expression("ifn_effect", occ(pk["IFN"], ifn_half), unit="1")
    v["ld_e"] = LD / (LD + _HALF)
    v["tk_raw"] = TK / (TK + _HALF)
    tk_e = io.expression("tki_effect_net", v["tk_raw"] * (1 - Res), unit="1")
    # VEGF-axis blockade by a VEGFR TKI and/or an anti-VEGF antibody (one pathway: the
    # blockades combine as 1 - (1 - e_TKI)(1 - a), never above 1; _metastatic_io_targeted)
    a_vegf = io.expression("avegf_occupancy", occ(pk["aVEGF"], pk["aVEGF_kd"]), unit="1")
    vegf = io.expression("vegf_blockade", 1 - (1 - tk_e) * (1 - a_vegf), unit="1")
    v["vir_e"] = Vir / (Vir + vir_half)
    v["steroid_e"] = St / (St + _HALF)
    supp = 1 / (1 + mdsc * (1 - _HALF * vegf)) / (1 + treg_w * R)
    v["supp"] = supp / (1 + st_w * v["steroid_e"])


def add_equations(io: _Build) -> None:
    """CAR-T kinetics (Stein 2019 phases, antigen-driven), vaccine depot, oncolytic virus in
    the injectable lesions (skin, lymph nodes), acquired TKI resistance."""
    b, v = io.b, io.v
    car_rho, car_alpha, car_beta, car_mem, car_react, car_kag, car_ld = io(
        "cart_expansion",
        "cart_contraction",
        "cart_memory_decay",
        "cart_memory_rate",
        "cart_reactivation",
        "cart_antigen_half",
        "cart_lymphodepletion_boost",
    )
    vac_dec, vir_rep, vir_clear, tki_res = io(
        "vaccine_decay", "virus_replication", "virus_clearance", "tki_resistance_rate"
    )
    CE, CM, Ly, Vac, Vir, Res = io(
        "cart_effector", "cart_memory", "lymphocytes", "vaccine", "virus", "tki_resistance"
    )
    antigen_car = v["antigen_car"]
    # CAR-T cells compete for antigen: stimulation per cell falls as the CAR-T pool outgrows
    # its targets (ratio-dependent stimulation), so expansion ends near the antigen burden
    drive = antigen_car / (antigen_car + car_kag + CE) * (1 + car_ld * (1 - Ly))
    v["cart_drive"] = drive
    b.add_rate(CE, car_rho * drive * CE - car_alpha * CE - car_mem * CE + car_react * drive * CM)
    b.add_rate(CM, car_mem * CE - car_beta * CM - car_react * drive * CM)
    b.add_rate(Vac, -vac_dec * Vac)
    infected = v["T_skin"] + v["T_lymph_node"] + v["U_skin"] + v["U_lymph_node"]
    b.add_rate(Vir, vir_rep * Vir * infected / (infected + 1) - vir_clear * Vir)
    b.add_rate(Res, tki_res * v["tk_raw"] * (1 - Res))
