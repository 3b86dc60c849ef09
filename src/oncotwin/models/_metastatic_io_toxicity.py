"""Toxicity and death hazards of ``metastatic_io`` (equations only; values come from the
parameter set ``metastatic_io/default``).

Cumulative hazards and exposure markers are states, so grades and event times are read from
the trajectory: grade >= 3 irAEs from a depleting pool of self-reactive clones released by
PD-1/CTLA-4 blockade and IL-2 (per-class rates derived from CheckMate 067, Larkin 2015:
calibration quantities), an IL-6-like cytokine driven by CAR-T activity (CRS) and a lagged
CNS-inflammation marker (ICANS), IL-2 capillary leak, running peaks of those markers, clocks
that date each graded toxicity's onset and duration (neutrophils under chemotherapy:
``_metastatic_io_chemo``), and the cumulative tumour-death hazard weighted by organ. Private
to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from oncotwin.models.metastatic_io import _LETHALITY, SITES

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["add_equations", "death_hazard_rate", "declare_parameters", "declare_states"]


def death_hazard_rate(weighted: Any, h_max: Any, lethal: Any, hill: Any) -> Any:
    """Tumour-death hazard [1/day] at an organ-weighted burden ``weighted`` [1e9 cell]: a Hill
    function that rises steeply as the burden nears ``lethal``, so that patients die of
    large burdens, not of baseline ones. Sympy expressions (the model) or numpy arrays
    (eligibility's prognosis at baseline) alike."""
    rel = (weighted / lethal) ** hill
    return h_max * rel / (1 + rel)


def declare_parameters(io: _Build) -> None:
    """irAE, CRS, capillary-leak, neutrophil and tumour-death parameters."""
    for name in (
        "irae_hazard_pd1",
        "irae_hazard_ctla4",
        "irae_hazard_synergy",
        "irae_hazard_il2",
        "irae_pool_time",
        "irae_onset_delay",
        "crs_cytokine_release",
        "crs_cytokine_decay",
        "capillary_leak_recovery",
        "death_hazard_max",
        "lethal_burden",
        "death_hazard_hill",
    ):
        io.p(name)
    _declare_episode_parameters(io)


def declare_states(io: _Build) -> None:
    """Toxicity markers, their running peaks/nadir, cumulative irAE and death hazards."""
    io.state("cytokine", "1", description="IL-6-like inflammatory cytokine (CRS driver)")
    io.state("capillary_leak", "1", description="IL-2 capillary leak (0-1)")
    io.state(
        "irae_pool",
        "1",
        initial=sp.Integer(1),
        description="self-reactive clones not yet released by checkpoint blockade or IL-2 (0-1)",
    )
    io.state("irae_active", "1", description="released clones not yet causing injury (hazard)")
    io.state("irae_hazard", "1", description="cumulative grade>=3 irAE hazard")
    io.state("cytokine_peak", "1", description="running maximum of the cytokine (CRS)")
    io.state("capillary_leak_peak", "1", description="running maximum of capillary leak")
    io.p("marker_tracking")
    io.state("death_hazard_cum", "1", description="cumulative tumour-death hazard")
    _declare_episode_states(io)


def add_equations(io: _Build) -> None:
    """CRS cytokine, capillary leak, neutrophils, running peaks/nadir, irAE and death hazards."""
    b, v = io.b, io.v
    zero = sp.Integer(0)
    h_pd, h_ct, h_syn, h_il2, cyto_k, cyto_d, leak_d, track = io(
        "irae_hazard_pd1",
        "irae_hazard_ctla4",
        "irae_hazard_synergy",
        "irae_hazard_il2",
        "crs_cytokine_release",
        "crs_cytokine_decay",
        "capillary_leak_recovery",
        "marker_tracking",
    )
    car_rho, car_kill, car_kag, car_match, CE = io(
        "cart_expansion", "cart_kill", "cart_antigen_half", "cart_target_match", "cart_effector"
    )
    Y, Leak, Hi, Ypk, Lpk, Hd = io(
        "cytokine",
        "capillary_leak",
        "irae_hazard",
        "cytokine_peak",
        "capillary_leak_peak",
        "death_hazard_cum",
    )
    # neutrophils (Friberg 2002) and their nadir: _metastatic_io_chemo
    ro_pd_sys, ro_ctla, il2_e = io("ro_pd_axis_blood", "ro_ctla4", "il2_effect")
    antigen_car = v["antigen_car"]
    T = {s: v[f"T_{s}"] for s in SITES}
    U = {s: v[f"U_{s}"] for s in SITES}

    car_activity = car_rho * v["cart_drive"] * CE + sum(
        (car_kill * CE / (CE + antigen_car + car_kag) * car_match * T[s] for s in SITES), zero
    )
    b.add_rate(Y, cyto_k * car_activity - cyto_d * Y)
    b.add_rate(Leak, il2_e * (1 - Leak) - leak_d * Leak * (1 - il2_e))
    b.add_rate(Ypk, track * sp.Max(Y - Ypk, 0))
    b.add_rate(Lpk, track * sp.Max(Leak - Lpk, 0))
    _irae_equations(io, Hi, ro_pd_sys, ro_ctla, il2_e, (h_pd, h_ct, h_syn, h_il2))
    _episode_equations(io)
    # tumour death: a Hill function of the organ-weighted burden
    h_max, lethal, hill = io("death_hazard_max", "lethal_burden", "death_hazard_hill")
    weighted = sum((_LETHALITY[s] * (T[s] + U[s]) for s in SITES), zero) + v["mm_burden"]
    b.add_rate(Hd, death_hazard_rate(weighted, h_max, lethal, hill))


def _irae_equations(
    io: _Build,
    Hi: sp.Expr,
    ro_pd: sp.Expr,
    ro_ctla: sp.Expr,
    il2_e: sp.Expr,
    rates: tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr],
) -> None:
    """Grade >= 3 irAEs from a depleting pool of self-reactive clones.

    Blockade releases the pool ``P`` (1 -> 0) at the rate ``release / tau`` (``release``: the
    fraction of the pool freed from restraint, the union of PD-1-axis and CTLA-4 occupancy
    and IL-2 activation). Released clones cause grade >= 3 injury at the per-class rates
    (PD-1, CTLA-4, their synergy, IL-2) times ``P``, after the delay ``A`` from clonal
    expansion to clinical injury. The cumulative hazard therefore saturates (at about
    rate x tau under continuous blockade) instead of growing for as long as dosing lasts,
    and its rate peaks in the first weeks-months and then wanes, as irAE onsets do
    (Weber 2017; Tang 2021).
    """
    b = io.b
    h_pd, h_ct, h_syn, h_il2 = rates
    tau, delay = io("irae_pool_time", "irae_onset_delay")
    P, A = io("irae_pool", "irae_active")
    release = 1 - (1 - ro_pd) * (1 - ro_ctla) * (1 - il2_e)
    drive = h_pd * ro_pd + h_ct * ro_ctla + h_syn * ro_pd * ro_ctla + h_il2 * il2_e
    b.add_rate(P, -release / tau * P)
    b.add_rate(A, drive * P - A / delay)
    b.add_rate(Hi, A / delay)


#: Toxicity episodes graded from a marker: (kind, marker state, running extremum state,
#: grade-threshold parameter prefix, whether the marker falls into toxicity). The clocks of
#: each episode date it whatever the output times of a solve (see :func:`_episode_equations`).
EPISODES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("crs", "cytokine", "cytokine_peak", "crs_grade", False),
    ("icans", "icans_marker", "icans_marker_peak", "icans_grade", False),
    ("capillary_leak", "capillary_leak", "capillary_leak_peak", "capillary_leak_grade", False),
    ("neutropenia", "neutrophils", "neutrophil_nadir", "neutropenia_grade", True),
)


def _declare_episode_parameters(io: _Build) -> None:
    """Grade thresholds (grades 1-4) of the graded toxicities, the ICANS marker's rate and
    the irAE organ shares and resolution; the readouts read them from the parameters."""
    for _kind, _, _, prefix, _ in EPISODES:
        for k in range(1, 5):
            io.p(f"{prefix}{k}")
    for name in (
        "icans_marker_rate",
        "neutropenia_reference_anc",
        "irae_share_colitis",
        "irae_share_hepatitis",
        "irae_share_skin",
        "irae_share_endocrine",
        "irae_share_pneumonitis",
        "irae_resolution_median",
        "irae_resolution_log_sd",
        "irae_any_grade_factor",
        "irae_grade4_share",
    ):
        io.p(name)


def _declare_episode_states(io: _Build) -> None:
    """The ICANS marker and its running peak, and two clocks per graded toxicity."""
    io.state("icans_marker", "1", description="CNS inflammation following the cytokine (ICANS)")
    io.state("icans_marker_peak", "1", description="running maximum of the ICANS marker")
    for kind, *_ in EPISODES:
        io.state(
            f"{kind}_since_onset",
            "day",
            description=f"time since {kind} first reached grade 1 (0 before)",
        )
        io.state(f"{kind}_days", "day", description=f"days spent at {kind} grade >= 1")


def _episode_equations(io: _Build) -> None:
    """The ICANS marker and the clocks that date each graded toxicity.

    The ICANS marker follows the cytokine with a first-order lag (neurotoxicity starts
    after CRS and lasts longer: ZUMA-1 median onset day 5 vs 2, duration 17 vs 8 days,
    Neelapu 2017). For each toxicity, ``<kind>_since_onset`` runs from the time the
    running peak (or nadir) first crosses the grade-1 threshold, so the onset is the end of
    the solve less its value (whenever the solve started, e.g. before lymphodepletion);
    ``<kind>_days`` counts the time the marker spends at grade >= 1, so onset + days is the
    day the episode resolves (for one episode; repeated episodes, e.g. two IL-2 courses,
    are dated from the first onset with their days summed).
    """
    b, v = io.b, io.v
    Y, N, Npk = io("cytokine", "icans_marker", "icans_marker_peak")
    rate, track = io("icans_marker_rate", "marker_tracking")
    b.add_rate(N, rate * (Y - N))
    b.add_rate(Npk, track * sp.Max(N - Npk, 0))
    for kind, marker, extremum, prefix, falling in EPISODES:
        if marker not in v or extremum not in v:  # a marker this model version lacks
            continue
        th = v[f"{prefix}1"] * _threshold_scale(io, kind, marker)
        x, ext = v[marker], v[extremum]
        sign = -1 if falling else 1
        onset = _step(sign * (ext - th), th)
        above = _step(sign * (x - th), th)
        b.add_rate(v[f"{kind}_since_onset"], onset)
        b.add_rate(v[f"{kind}_days"], above)


def _threshold_scale(io: _Build, kind: str, marker: str) -> sp.Expr:
    """Factor from a threshold's unit to its marker's: neutropenia thresholds are absolute
    counts [1e9/L] (CTCAE), divided by the reference count where the neutrophil state is
    relative (unit "1")."""
    if kind == "neutropenia" and io.b._states[marker].unit == "1":
        return 1 / io.v["neutropenia_reference_anc"]
    return sp.Integer(1)


def _step(d: sp.Expr, scale: sp.Expr) -> sp.Expr:
    """0 for ``d <= 0``, 1 for ``d >= scale / 100``, linear between: a step whose ramp over 1%
    of the threshold keeps the Jacobian finite (a Heaviside's derivative is a delta)."""
    return sp.Min(1, sp.Max(0, 100 * d / scale))
