"""The cancer-immunity cycle of ``metastatic_io`` (equations only; values come from the
parameter set ``metastatic_io/default``).

Dying tumour cells release antigen; priming of tumour-specific effectors in the lymph node is
braked by CTLA-4 and boosted by IL-2, interferon-alfa, GM-CSF/lysis and radiation's danger
signal; effectors circulate, traffic to the sites (``_metastatic_io_tumour``) and are exhausted
under PD-1 engagement; Tregs, NK cells and lymphocytes turn over and are depleted by
chemotherapy and lymphodepletion. Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["add_equations", "declare_parameters", "declare_states"]


def declare_parameters(io: _Build) -> None:
    """Killing, priming, trafficking, exhaustion, Treg, NK and surveillance parameters."""
    for name in (
        "kill_max",
        "kill_exponent",
        "kill_steepness",
        "pd1_inhibition",
        "priming_rate",
        "antigen_half",
        "antigen_release",
        "antigen_decay",
        "ctla4_brake",
        "effector_death",
        "trafficking",
        "recruit_half",
        "tissue_effector_death",
        "local_expansion",
        "exhaustion_rate",
        "exhaustion_reversal",
        "treg_suppression",
        "treg_turnover",
        "treg_depletion",
        "nk_turnover",
        "nk_kill",
        "lymphocyte_recovery",
        "memory_fraction",
        "memory_half_life",
        "memory_recall",
        "memory_recall_expansion",
    ):
        io.p(name)


def declare_states(io: _Build) -> None:
    """Systemic immune states: antigen, blood effectors, Tregs, NK, exhaustion, lymphocytes."""
    io.state("antigen", "1", description="antigen presented in the lymph node")
    io.state(
        "effector_blood",
        "1e9 cell",
        initial=io.record("effector_blood_0"),
        description="primed tumour-specific CD8+ effectors in blood",
    )
    io.state(
        "treg",
        "1",
        initial=io.record("treg_0"),
        description="intratumoral regulatory T cells (relative)",
    )
    io.state("nk", "1", initial=io.record("nk_0"), description="NK cells (relative)")
    io.state("exhaustion", "1", description="exhausted fraction of tumour effectors")
    io.state("lymphocytes", "1", initial=sp.Integer(1), description="lymphocytes (relative)")
    io.state(
        "memory",
        "1e9 cell",
        description="tumour-specific memory CD8+ T cells (survivors of effector contraction)",
    )


def add_equations(io: _Build) -> None:
    """Antigen, priming and blood effectors, exhaustion, Tregs, NK cells, lymphocytes."""
    b, v = io.b, io.v
    iota, ag_release, ag_decay, ag_half, prime, ctla_brake = io(
        "immunogenicity",
        "antigen_release",
        "antigen_decay",
        "antigen_half",
        "priming_rate",
        "ctla4_brake",
    )
    d_P, traffic, ex_rate, ex_rev, treg_w, treg_turn, treg_dep, nk_turn, lym_rec = io(
        "effector_death",
        "trafficking",
        "exhaustion_rate",
        "exhaustion_reversal",
        "treg_suppression",
        "treg_turnover",
        "treg_depletion",
        "nk_turnover",
        "lymphocyte_recovery",
    )
    vac_pot, vac_dec, il2_max, ifn_max, gmcsf, rt_adj, st_w, ch_max = io(
        "vaccine_potency",
        "vaccine_decay",
        "il2_boost",
        "ifn_boost",
        "virus_priming",
        "rt_priming",
        "steroid_suppression",
        "chemo_lymphodepletion",
    )
    A, Pe, R, NK, X, Ly, Vac, Zr = io(
        "antigen",
        "effector_blood",
        "treg",
        "nk",
        "exhaustion",
        "lymphocytes",
        "vaccine",
        "rt_danger",
    )
    ro_ctla, il2_e, ifn_e = io("ro_ctla4", "il2_effect", "ifn_effect")
    il2_t, ld_e, vir_e, steroid_e = io("il2_t", "ld_e", "vir_e", "steroid_e")

    b.add_rate(
        A,
        iota * ag_release * (v["kill_total"] + v["kill_micromet"])
        + vac_pot * vac_dec * Vac
        - ag_decay * A,
    )
    costim = (1 - ctla_brake * (1 - ro_ctla)) * (1 + il2_max * il2_e) * (1 + ifn_max * ifn_e)
    costim = costim * (1 + gmcsf * vir_e) * (1 + rt_adj * Zr / (Zr + 1)) / (1 + treg_w * R)
    costim = costim * (1 + v["gmcsf_effect"])  # systemic GM-CSF (sargramostim)
    priming = prime * A / (A + ag_half) * costim * Ly / (1 + st_w * steroid_e)
    depletion = ch_max + 2 * ld_e  # cytotoxic chemotherapy (_metastatic_io_chemo), conditioning
    # immune memory: a fraction of the effectors that die (in blood and in the tumours)
    # survive contraction as long-lived memory cells, recalled by antigen into effectors
    # (less dependent on co-stimulation than naive priming, so neither CTLA-4 nor Tregs brake
    # it; steroids and depletion do)
    M, d_E, E_tot = io("memory", "tissue_effector_death", "E_tot")
    f_mem, mem_hl, recall, burst = io(
        "memory_fraction", "memory_half_life", "memory_recall", "memory_recall_expansion"
    )
    recalled = recall * A / (A + ag_half) * M / (1 + st_w * steroid_e)
    b.add_rate(
        M,
        f_mem * (d_P * Pe + d_E * E_tot) - sp.log(2) / mem_hl * M - recalled - depletion * M,
    )
    b.add_rate(Pe, priming + burst * recalled - d_P * Pe - traffic * Pe - depletion * Pe)
    (pd_signal,) = io("pd_signal")
    b.add_rate(X, ex_rate * pd_signal / (E_tot + sp.Rational(1, 10**6)) * (1 - X) - ex_rev * X)
    b.add_rate(R, treg_turn * (1 + il2_max * il2_t - R) - treg_dep * ro_ctla * R - depletion * R)
    b.add_rate(NK, nk_turn * (1 + il2_max * il2_e - NK) - depletion * NK)
    b.add_rate(Ly, lym_rec * (1 - Ly) - depletion * Ly)
