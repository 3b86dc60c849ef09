"""Tumour sites and metastatic seeding of ``metastatic_io`` (equations only; values come from
the parameter set ``metastatic_io/default``).

Each site's viable cells (antigen-positive ``T`` and antigen-negative ``U``) grow as Gompertz
towards a vascular carrying capacity ``K`` (Hahnfeldt 1999) and are killed by CD8+ effectors
``E`` (de Pillis 2005 ratio-dependent lysis, inhibited by PD-1 engagement, exhaustion and
suppression), NK cells, chemotherapy, antibodies, CAR-T and oncolytic virus. Micrometastases
are log cell numbers per organ fed by Iwata's colonisation rate scaled by the EMT state.
Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from oncotwin.models._metastatic_io_engagers import lag3_release
from oncotwin.models._metastatic_io_treatments import occ
from oncotwin.models.components.kill import ratio_dependent_kill
from oncotwin.models.metastatic_io import (
    _INFILTRATION,
    _LETHALITY,
    _PENETRATION,
    _SEEDING,
    METASTATIC_SITES,
    SITES,
)

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = [
    "add_site_equations",
    "declare_metastasis_parameters",
    "declare_outcome_parameters",
    "declare_parameters",
    "declare_sites",
]

_ZERO = sp.Integer(0)


def declare_parameters(io: _Build) -> None:
    """Patient and tumour parameters: growth, angiogenesis, antigen, PD-L1, infiltration,
    suppression, EMT."""
    for name in (
        "growth_rate",
        "angio_stimulation",
        "angio_inhibition",
        "capacity_ratio",
        "antigen_negative_fraction",
        "immunogenicity",
        "pdl1_baseline",
        "pdl1_inducible",
        "ifn_half_effectors",
        "infiltration",
        "mdsc_suppression",
        "emt",
    ):
        io.p(name)


def declare_metastasis_parameters(io: _Build) -> None:
    """Iwata's colonisation coefficient, fractal dimension and colony plateau."""
    for name in (
        "colonization",
        "fractal_dim",
        "colony_plateau",
        "extinction_cells",
        "micromet_access",
    ):
        io.p(name)


def declare_outcome_parameters(io: _Build) -> None:
    """Parameters of the clinical course read from the trajectory (not in the equations):
    subsequent therapy after progression and clinical deterioration (see
    :func:`oncotwin.models.metastatic_io_readouts.death_days`)."""
    for name in (
        "subsequent_therapy_fraction",
        "subsequent_therapy_hr",
        "deterioration_fraction",
    ):
        io.p(name)


def declare_sites(io: _Build) -> None:
    """Per-site states (T, U, K, E) with their burden and lesion-count parameters, then one
    log micrometastatic burden per metastatic organ."""
    f_neg, k_ratio, infil = io("antigen_negative_fraction", "capacity_ratio", "infiltration")
    for s in SITES:
        init_burden = io.p(f"burden_{s}")
        io.state(
            f"T_{s}",
            "1e9 cell",
            initial=init_burden * (1 - f_neg),
            description=f"antigen-positive tumour cells, {s}",
        )
        io.state(
            f"U_{s}",
            "1e9 cell",
            initial=init_burden * f_neg,
            description=f"antigen-negative tumour cells, {s}",
        )
        io.state(
            f"K_{s}",
            "1e9 cell",
            initial=init_burden * k_ratio,
            description=f"vascular carrying capacity, {s}",
        )
        io.p(f"lesions_{s}")
        io.state(
            f"E_{s}",
            "1e9 cell",
            initial=init_burden * infil * _INFILTRATION[s] * sp.Rational(1, 100),
            description=f"effector CD8+ T cells in {s}",
        )
    # micrometastases: n = log(cells) per organ
    for s in METASTATIC_SITES:
        b_init = io.p(f"micromet0_{s}")
        io.state(
            f"micromet_{s}",
            "log(cell)",
            initial=b_init,
            nonnegative=False,
            description=f"log micrometastatic cells (new lesions), {s}",
        )
    T = {s: io.v[f"T_{s}"] for s in SITES}
    U = {s: io.v[f"U_{s}"] for s in SITES}
    E = {s: io.v[f"E_{s}"] for s in SITES}
    (car_match,) = io("cart_target_match")
    io.v["total"] = sum((T[s] + U[s] for s in SITES), _ZERO)
    io.v["antigen_car"] = sum((T[s] for s in SITES), _ZERO) * car_match
    io.v["E_tot"] = sum(E.values(), _ZERO)


def add_site_equations(io: _Build) -> None:
    """Growth, killing, capacity and effector rates per site; seeding of micrometastases."""
    b, v = io.b, io.v
    lam, k_b, k_d, pdl1, pdl1_ind, k_ifn, infil, emt = io(
        "growth_rate",
        "angio_stimulation",
        "angio_inhibition",
        "pdl1_baseline",
        "pdl1_inducible",
        "ifn_half_effectors",
        "infiltration",
        "emt",
    )
    kill_d, kill_l, kill_s, pd_k, traffic, k_rec, d_E, r_exp, nk_kill = io(
        "kill_max",
        "kill_exponent",
        "kill_steepness",
        "pd1_inhibition",
        "trafficking",
        "recruit_half",
        "tissue_effector_death",
        "local_expansion",
        "nk_kill",
    )
    seed_m, seed_a, gomp_b, v_ext = io(
        "colonization",
        "fractal_dim",
        "colony_plateau",
        "extinction_cells",
    )
    ch_max, tki_max, car_kill, car_kag, car_match, vir_lysis, mab_match, mab_sig, mab_adcc = io(
        "chemo_kill_rate",
        "tki_effect",
        "cart_kill",
        "cart_antigen_half",
        "cart_target_match",
        "virus_lysis",
        "mab_target_match",
        "mab_signalling",
        "mab_adcc",
    )
    il2_max, Pe, X, NK, CE = io("il2_boost", "effector_blood", "exhaustion", "nk", "cart_effector")
    pk = io.pk
    supp, ch_e, tk_e, vir_e, il2_e = io(
        "supp", "chemo_lymphodepletion", "tki_effect_net", "vir_e", "il2_effect"
    )
    total, antigen_car = io("total", "antigen_car")

    kill_total = _ZERO
    pd_signal = _ZERO
    for s in SITES:
        T, U, K, E, LES = io(f"T_{s}", f"U_{s}", f"K_{s}", f"E_{s}", f"lesions_{s}")
        V = T + U
        pen = _PENETRATION[s]
        ro_pd = 1 - (1 - occ(pk["aPD1"] * pen, pk["aPD1_kd"])) * (
            1 - occ(pk["aPDL1"] * pen, pk["aPDL1_kd"])
        )
        pdl1_s = io.expression(
            f"pdl1_{s}", pdl1 + (1 - pdl1) * pdl1_ind * E / (E + k_ifn), unit="1"
        )
        engaged = pdl1_s * (1 - ro_pd)
        pd_signal += engaged * E
        inhibit = 1 / (1 + engaged / pd_k) * (1 - X) * supp * lag3_release(io, pen)
        cd8 = io.expression(
            f"cd8_kill_{s}",
            ratio_dependent_kill(kill_d * inhibit, E, V, kill_s, kill_l),
            unit="1e9 cell/day",
        )
        # per-cell rates (the kill expression is for the whole site; split by share)
        share_T = sp.Piecewise((T / V, V > 0), (_ZERO, True))
        # eradication: below about one cell a continuum population cannot regrow (a clone
        # of a few cells dies out): each subpopulation's growth is switched off smoothly by
        # X / (X + one cell) while killing goes on, so a site (or an antigen-negative
        # subclone) whose last cell is killed, or that never had one, stays gone
        gomp = sp.Piecewise((lam * sp.log(K / V), (V > 0) & (K > 0)), (_ZERO, True))
        gomp = gomp * (1 - v["growth_brake"])  # cytostatic drugs (mTOR inhibitor)
        mab_occ = occ(pk["mAb"] * pen, pk["mAb_kd"]) * mab_match
        vir_here = vir_e if s in ("skin", "lymph_node") else _ZERO
        k_car = car_kill * CE / (CE + antigen_car + car_kag)
        # chemotherapy: the per-cell kill rate of _metastatic_io_chemo (ch_max), and its
        # lymphocyte depletion (ch_e) on tissue effectors at half the blood rate
        # myeloma/lymphoma drugs (_metastatic_io_haem): haem_kill_rate per cell; IMiDs
        # activate NK cells (nk_activation) for NK killing and ADCC
        nk_act = NK * v["nk_activation"]
        per_cell_common = ch_max + v["haem_kill_rate"] + nk_kill * nk_act + vir_lysis * vir_here
        per_cell_common += v["targeted_kill_rate"]  # BRAF/MEK, EGFR TKI (_metastatic_io_targeted)
        antigen_kill = mab_adcc * mab_occ * nk_act + k_car * car_match
        antigen_kill += v[f"adc_kill_{s}"]  # antibody-drug conjugate payload
        antigen_kill += v["engager_kill_rate"]  # T-cell engagers (_metastatic_io_engagers)
        kill_T = cd8 * share_T + (per_cell_common + antigen_kill) * T
        kill_U = cd8 * (1 - share_T) + per_cell_common * U
        b.add_rate(T, gomp * (1 - mab_sig * mab_occ) * T * T / (T + v_ext) - kill_T)
        b.add_rate(U, gomp * U * U / (U + v_ext) - kill_U)
        k_a = k_b * v["angio_drive"]  # stimulation, lowered by an anti-VEGF antibody
        b.add_rate(
            K,
            sp.Piecewise((k_a * V - k_d * K * (V / LES) ** sp.Rational(2, 3), V > 0), (_ZERO, True))
            - tki_max * tk_e * K,
        )
        recruit = traffic * Pe * infil * _INFILTRATION[s] * V / (V + k_rec)
        recruit = recruit * v["vessel_normalisation_factor"]  # VEGF-axis blockade
        expand = r_exp * inhibit * E * V / (V + 10 * E + sp.Rational(1, 10**12))
        b.add_rate(E, recruit + expand - d_E * E - ch_e * E * sp.Rational(1, 2))
        kill_total += kill_T + kill_U
    v["kill_total"] = kill_total
    v["pd_signal"] = pd_signal

    # micrometastases: influx (Iwata colonisation, EMT-scaled) + Gompertz - immune control
    shed = (
        seed_m
        * (emt / sp.Rational(1, 5))
        * sp.Piecewise(((total * 1e9) ** seed_a, total > 0), (_ZERO, True))
    )
    # immune control of micrometastases: the same ratio-dependent CD8+ lysis as in the sites
    # (de Pillis 2005), with the effector:target ratio of a colony set by the circulating
    # effectors and memory cells that patrol it (memory cells re-encountering antigen kill
    # at once; Akondy 2017) over the colony's size, so small colonies are controlled and
    # large ones escape; braked by PD-1 engagement at the baseline PD-L1 (released by
    # blockade, blood occupancy), Tregs, MDSCs and steroids
    M, ro_blood = io("memory", "ro_pd_axis_blood")
    (access,) = io("micromet_access")
    patrol = (Pe + M) * access * (1 + il2_max * il2_e)
    brake = kill_d * supp / (1 + pdl1 * (1 - ro_blood) / pd_k) * lag3_release(io)
    n = {s: v[f"micromet_{s}"] for s in METASTATIC_SITES}
    kill_mm = _ZERO
    for s in METASTATIC_SITES:
        # a colony below one cell (n < 0) is extinct: its own growth stops (the logistic
        # switch 1 / (1 + exp(-4 n)) is ~1 above 2 cells and ~0 below half a cell), and only
        # new seeding can bring it back; the kill of an extinct colony fades out below
        # ~1e-9 cells (n < -20) so that its log stays bounded
        alive = 1 / (1 + sp.exp(-4 * n[s]))
        kill_on = 1 / (1 + sp.exp(-(n[s] + 20)))
        ratio = (patrol * infil * _INFILTRATION[s] / (sp.exp(n[s]) * 1e-9)) ** kill_l
        kill = brake * ratio / (kill_s + ratio) * kill_on
        b.add_rate(
            n[s],
            _SEEDING[s] * shed * sp.exp(-n[s])
            + lam * (1 - v["growth_brake"]) * (sp.log(gomp_b) - n[s]) * alive
            - kill
            - (ch_max + v["haem_kill_rate"] + v["targeted_kill_rate"]) * kill_on,
        )
        kill_mm += kill * sp.exp(n[s]) * 1e-9
    # cells of micrometastases killed by effectors release antigen too [1e9 cell/day]
    v["kill_micromet"] = kill_mm
    v["mm_burden"] = sum((sp.exp(n[s]) * 1e-9 * _LETHALITY[s] for s in METASTATIC_SITES), _ZERO)
    io.expression("tumor_burden", total, unit="1e9 cell")
