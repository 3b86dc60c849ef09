"""Toxicity and death hazards of ``metastatic_io`` (equations only; values come from the
parameter set ``metastatic_io/default``).

Cumulative hazards and exposure markers are states, so grades and event times are read from
the trajectory: the grade >= 3 irAE hazard of PD-1/CTLA-4 blockade and IL-2 (derived from
CheckMate 067, Larkin 2015), an IL-6-like cytokine driven by CAR-T activity (CRS), IL-2
capillary leak, neutrophils under chemotherapy, running peaks and nadirs of those markers,
and the cumulative tumour-death hazard weighted by organ. Private to
:mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from oncotwin.models.metastatic_io import _LETHALITY, SITES

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["add_equations", "declare_parameters", "declare_states"]


def declare_parameters(io: _Build) -> None:
    """irAE, CRS, capillary-leak, neutrophil and tumour-death parameters."""
    for name in (
        "irae_hazard_pd1",
        "irae_hazard_ctla4",
        "irae_hazard_synergy",
        "irae_hazard_il2",
        "crs_cytokine_release",
        "crs_cytokine_decay",
        "capillary_leak_recovery",
        "neutrophil_recovery",
        "neutrophil_kill",
        "death_hazard",
    ):
        io.p(name)


def declare_states(io: _Build) -> None:
    """Toxicity markers, their running peaks/nadir, cumulative irAE and death hazards."""
    io.state("cytokine", "1", description="IL-6-like inflammatory cytokine (CRS driver)")
    io.state("capillary_leak", "1", description="IL-2 capillary leak (0-1)")
    io.state("neutrophils", "1", initial=sp.Integer(1), description="neutrophils (relative)")
    io.state("irae_hazard", "1", description="cumulative grade>=3 irAE hazard")
    io.state("cytokine_peak", "1", description="running maximum of the cytokine (CRS)")
    io.state("capillary_leak_peak", "1", description="running maximum of capillary leak")
    io.state(
        "neutrophil_nadir", "1", initial=sp.Integer(1), description="running minimum of neutrophils"
    )
    io.p("marker_tracking")
    io.state("death_hazard_cum", "1", description="cumulative tumour-death hazard")


def add_equations(io: _Build) -> None:
    """CRS cytokine, capillary leak, neutrophils, running peaks/nadir, irAE and death hazards."""
    b, v = io.b, io.v
    zero = sp.Integer(0)
    h_pd, h_ct, h_syn, h_il2, cyto_k, cyto_d, leak_d, anc_rec, anc_kill, h_death, track = io(
        "irae_hazard_pd1",
        "irae_hazard_ctla4",
        "irae_hazard_synergy",
        "irae_hazard_il2",
        "crs_cytokine_release",
        "crs_cytokine_decay",
        "capillary_leak_recovery",
        "neutrophil_recovery",
        "neutrophil_kill",
        "death_hazard",
        "marker_tracking",
    )
    car_rho, car_kill, car_kag, car_match, CE = io(
        "cart_expansion", "cart_kill", "cart_antigen_half", "cart_target_match", "cart_effector"
    )
    Y, Leak, ANC, Hi, Ypk, Lpk, Nnd, Hd = io(
        "cytokine",
        "capillary_leak",
        "neutrophils",
        "irae_hazard",
        "cytokine_peak",
        "capillary_leak_peak",
        "neutrophil_nadir",
        "death_hazard_cum",
    )
    ro_pd_sys, ro_ctla, il2_e, ch_e = io(
        "ro_pd_axis_blood", "ro_ctla4", "il2_effect", "chemo_effect"
    )
    antigen_car = v["antigen_car"]
    T = {s: v[f"T_{s}"] for s in SITES}
    U = {s: v[f"U_{s}"] for s in SITES}

    car_activity = car_rho * v["cart_drive"] * CE + sum(
        (car_kill * CE / (CE + antigen_car + car_kag) * car_match * T[s] for s in SITES), zero
    )
    b.add_rate(Y, cyto_k * car_activity - cyto_d * Y)
    b.add_rate(Leak, il2_e * (1 - Leak) - leak_d * Leak * (1 - il2_e))
    b.add_rate(ANC, anc_rec * (1 - ANC) - anc_kill * ch_e * ANC)
    b.add_rate(Ypk, track * sp.Max(Y - Ypk, 0))
    b.add_rate(Lpk, track * sp.Max(Leak - Lpk, 0))
    b.add_rate(Nnd, -track * sp.Max(Nnd - ANC, 0))
    b.add_rate(
        Hi,
        h_pd * ro_pd_sys + h_ct * ro_ctla + h_syn * ro_pd_sys * ro_ctla + h_il2 * il2_e,
    )
    weighted = sum((_LETHALITY[s] * (T[s] + U[s]) for s in SITES), zero) + v["mm_burden"]
    b.add_rate(Hd, h_death * weighted / 10)
