"""The population-benchmark model of oncotwin (``shared/bench/anchor_model.xml``).

A tumor / effector CD8 / exhausted T / Treg / IL-2 / PD-L1 model with two-compartment anti-PD-1
pharmacokinetics; 8 states; units: day, 1e9 cells, mg, L. It is a *synthetic* workload that
fixes what the engine is measured on; its values are not fitted to data, so every parameter is
flagged as an assumption. Equations (as in the SBML file)::

    dT/dt  = r T (1 - T/K) - kill
    dE/dt  = s_E + a_E E sT fI fPD - d_E E - ex
    dX/dt  = ex - d_X X
    dR/dt  = s_R + a_R R fI - d_R R
    dI/dt  = p_I E sT - k_I I - c_RI R I
    dL/dt  = k_L0 + k_L E/(K_E + E) - d_L L
    dAc/dt = -(CL + Q)/V1 Ac + Q/V2 Ap
    dAp/dt = Q/V1 Ac - Q/V2 Ap
    Ct = rho Ac/V1,  RO = Ct/(Ct + KD),  fPD = 1/(1 + L (1 - RO)/K_L),  fR = 1/(1 + R/K_R)
    sT = T/(g_T + T),  fI = I/(K_I + I),  kill = k_kill E/(h_E + E) fPD fR T
    ex = k_ex E sT (1 - fPD)

In the SBML file ``Ac`` starts at 200 mg (the day-0 dose) and an event adds 200 mg every 21
days; here ``Ac`` starts at 0 and the regimen gives every dose, day 0 included.
"""

from __future__ import annotations

from functools import cache

from oncotwin.models.base import Model, ModelBuilder
from oncotwin.parameters import Parameter

__all__ = ["VARYING", "build"]

_WHY = "oncotwin benchmark workload (shared/bench/anchor_model.xml); synthetic, not fitted"

#: Parameters that vary between patients in the benchmark (log-normal, SD 0.3 on log scale).
VARYING = ("r", "K", "k_kill", "a_E", "d_E", "k_ex", "p_I", "CL", "V1", "KD", "T_0")


def _p(value: float, unit: str, description: str, log_sd: float = 0.0) -> Parameter:
    return Parameter(
        value, unit, assumption=True, reason=_WHY, description=description, log_sd=log_sd
    )


@cache
def build() -> Model:
    """Build the benchmark model."""
    b = ModelBuilder("bench_anchor", description="benchmark tumor-immune model with anti-PD-1 PK")
    v = 0.3
    T = b.state(
        "T",
        "1e9 cell",
        initial=_p(10.0, "1e9 cell", "initial tumor burden", v),
        description="viable tumor cells",
    )
    E = b.state(
        "E",
        "1e9 cell",
        initial=_p(0.1, "1e9 cell", "initial effectors"),
        description="effector CD8+ T cells",
    )
    X = b.state(
        "X",
        "1e9 cell",
        initial=_p(0.0, "1e9 cell", "initial exhausted T cells"),
        description="exhausted T cells",
    )
    R = b.state(
        "R",
        "1e9 cell",
        initial=_p(0.2, "1e9 cell", "initial Tregs"),
        description="regulatory T cells",
    )
    I = b.state("I", "a.u.", initial=_p(0.05, "a.u.", "initial IL-2"), description="IL-2")
    L = b.state("L", "a.u.", initial=_p(0.8, "a.u.", "initial PD-L1"), description="PD-L1")
    Ac = b.state("Ac", "mg", description="anti-PD-1 amount, central compartment")
    Ap = b.state("Ap", "mg", description="anti-PD-1 amount, peripheral compartment")
    r = b.parameter("r", _p(0.03, "1/day", "tumor growth rate", v))
    K = b.parameter("K", _p(200.0, "1e9 cell", "carrying capacity", v))
    k_kill = b.parameter("k_kill", _p(0.25, "1/day", "maximal kill rate", v))
    a_E = b.parameter("a_E", _p(0.5, "1/day", "effector expansion rate", v))
    d_E = b.parameter("d_E", _p(0.1, "1/day", "effector death rate", v))
    k_ex = b.parameter("k_ex", _p(0.05, "1/day", "exhaustion rate", v))
    p_I = b.parameter("p_I", _p(10.0, "a.u./(1e9 cell)/day", "IL-2 production", v))
    CL = b.parameter("CL", _p(0.2, "L/day", "antibody clearance", v))
    V1 = b.parameter("V1", _p(3.0, "L", "central volume", v))
    KD = b.parameter("KD", _p(0.5, "mg/L", "PD-1 binding constant", v))
    h_E = b.parameter("h_E", _p(1.0, "1e9 cell", "half-saturation of kill in E"))
    g_T = b.parameter("g_T", _p(10.0, "1e9 cell", "half-saturation of stimulation in T"))
    K_I = b.parameter("K_I", _p(0.1, "a.u.", "half-saturation of IL-2 effect"))
    s_E = b.parameter("s_E", _p(0.01, "1e9 cell/day", "effector source"))
    d_X = b.parameter("d_X", _p(0.005, "1/day", "exhausted-cell death rate"))
    s_R = b.parameter("s_R", _p(0.005, "1e9 cell/day", "Treg source"))
    a_R = b.parameter("a_R", _p(0.05, "1/day", "Treg expansion by IL-2"))
    d_R = b.parameter("d_R", _p(0.05, "1/day", "Treg death rate"))
    K_R = b.parameter("K_R", _p(0.5, "1e9 cell", "Treg suppression constant"))
    k_I = b.parameter("k_I", _p(10.0, "1/day", "IL-2 clearance"))
    c_RI = b.parameter("c_RI", _p(1.0, "1/(1e9 cell)/day", "IL-2 consumption by Tregs"))
    k_L0 = b.parameter("k_L0", _p(0.1, "a.u./day", "basal PD-L1 expression"))
    k_L = b.parameter("k_L", _p(1.0, "a.u./day", "IFN-driven PD-L1 induction"))
    K_E = b.parameter("K_E", _p(0.2, "1e9 cell", "half-saturation of PD-L1 induction"))
    d_L = b.parameter("d_L", _p(0.5, "1/day", "PD-L1 turnover"))
    K_L = b.parameter("K_L", _p(0.2, "a.u.", "PD-L1 inhibition constant"))
    Q = b.parameter("Q", _p(0.8, "L/day", "intercompartmental clearance"))
    V2 = b.parameter("V2", _p(3.0, "L", "peripheral volume"))
    rho = b.parameter("rho", _p(0.05, "1", "tumor-to-plasma antibody ratio"))

    Ct = b.expression("Ct", rho * Ac / V1, unit="mg/L")
    RO = b.expression("RO", Ct / (Ct + KD), unit="1")
    fPD = b.expression("fPD", 1 / (1 + L * (1 - RO) / K_L), unit="1")
    fR = b.expression("fR", 1 / (1 + R / K_R), unit="1")
    sT = b.expression("sT", T / (g_T + T), unit="1")
    fI = b.expression("fI", I / (K_I + I), unit="1")
    kill = b.expression("kill", k_kill * E / (h_E + E) * fPD * fR * T, unit="1e9 cell/day")
    ex = b.expression("ex", k_ex * E * sT * (1 - fPD), unit="1e9 cell/day")

    b.add_rate(T, r * T * (1 - T / K) - kill)
    b.add_rate(E, s_E + a_E * E * sT * fI * fPD - d_E * E - ex)
    b.add_rate(X, ex - d_X * X)
    b.add_rate(R, s_R + a_R * R * fI - d_R * R)
    b.add_rate(I, p_I * E * sT - k_I * I - c_RI * R * I)
    b.add_rate(L, k_L0 + k_L * E / (K_E + E) - d_L * L)
    b.add_rate(Ac, -(CL + Q) / V1 * Ac + Q / V2 * Ap)
    b.add_rate(Ap, Q / V1 * Ac - Q / V2 * Ap)
    b.dose("anti-PD-1", Ac, description="IV bolus into the central compartment [mg]")
    return b.build()
