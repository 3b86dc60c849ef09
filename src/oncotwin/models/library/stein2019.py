"""Stein et al. 2019: multiphasic cellular kinetics of tisagenlecleucel (CAR-T cells).

Stein AM, Grupp SA, Levine JE, et al. Tisagenlecleucel model-based cellular kinetic analysis
of chimeric antigen receptor-T cells. CPT Pharmacometrics Syst Pharmacol 8(5):285-295
(2019), doi:10.1002/psp4.12388. Transgene level in blood [copies/ug genomic DNA, qPCR] as the
sum of effector ``E`` and memory ``M`` CAR-T cells, time in days since the infusion
(Figure 2)::

    t <  Tmax:  dE/dt = rho E                  dM/dt = 0
    t >  Tmax:  dE/dt = -alpha E               dM/dt = k E - beta M
    rho = log(foldx)/Tmax,  k = FB (alpha - beta),  transgene = E + M

Effector cells expand exponentially (doubling time ``log 2/rho``) for ``Tmax`` days by the
factor ``foldx``; then they contract at rate ``alpha`` while a fraction of them becomes
memory cells that persist with rate ``beta``. From the peak ``Cmax`` the level is
``(1 - FB) Cmax exp(-alpha (t - Tmax)) + FB Cmax exp(-beta (t - Tmax))`` (the paper's
supplement). With the typical values of Table 1 (final model = base model, no covariate
retained; the tocilizumab/corticosteroid factors 1.2 and 1.0 are not modelled) the doubling
time is 0.78 d and the two decline half-lives are 4.3 d and 217 d (the paper rounds to 220 d).

The switch at ``Tmax`` is a function of the model time, so the **infusion must be given at
t = 0** (the clock is time since infusion). It is written as the smooth step
``s(t) = (1 - tanh((t - Tmax)/(2 w)))/2`` with ``w`` = :data:`SWITCH_WIDTH` = 1e-3 day
(1.4 min) instead of a sharp jump: tight adaptive integrators (LSODA at atol 1e-14) stall on
the jump of the rates, while the symmetric smooth step leaves the solution unchanged away from
``Tmax`` (to 3e-7 relative) and lowers the value at the peak itself by ``(rho + alpha) w log 2``
(0.07 %).

Doses: the paper parameterizes each patient by ``Cmax`` and ``foldx`` (baseline level
``R0 = Cmax/foldx``), not by the cell dose; it found no significant effect of the dose per kg
on ``Cmax`` over the narrow range studied. Here the infused cells enter ``E`` through the dose
target ``"CAR-T"`` with the scale :data:`DOSE_SCALE` = ``R0/DOSE_REF``: the typical dose
:data:`DOSE_REF` = 1e8 CAR-positive viable T cells (median total dose of patients > 50 kg; 3.1e6
cells/kg x 39 kg ~ 1.2e8 below 50 kg, Table 2) gives the typical ``R0`` and hence the typical
``Cmax`` = 24,000 copies/ug at ``Tmax`` = 9.3 d. Exposure is therefore proportional to dose:
a flagged assumption (linear kinetics), not a finding of the paper.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from oncotwin.citations import get_citation
from oncotwin.models.base import TIME, Model, ModelBuilder
from oncotwin.parameters import Parameter, Source

__all__ = ["CITATION", "CMAX", "DOSE_REF", "DOSE_SCALE", "FOLDX", "SWITCH_WIDTH", "build"]

CITATION = get_citation("Stein2019")

_TABLE = "Table 1 (typical value, final model)"
#: Typical peak transgene level [copies/ug] (Table 1, ``Cmax``).
CMAX = 24000.0
#: Typical fold expansion from the infusion to the peak (Table 1, ``foldx``).
FOLDX = 3900.0
#: Typical infused dose [CAR-positive viable T cells] that gives the typical ``Cmax``.
DOSE_REF = 1.0e8
#: Transgene level [copies/ug] added to ``E`` per infused cell (``Cmax/foldx/DOSE_REF``).
DOSE_SCALE = CMAX / FOLDX / DOSE_REF
#: Width [day] of the smooth step from expansion to decline at ``Tmax`` (numerical device).
SWITCH_WIDTH = 1e-3


def _iiv(omega2: float) -> str:
    return f" [log_sd = sqrt({omega2}), the Table 1 random-effect variance]"


def _src(value: float, unit: str, description: str, omega2: float = 0.0) -> Parameter:
    log_sd = omega2**0.5 if omega2 else 0.0
    if omega2:
        description += _iiv(omega2)
    return Parameter(
        value,
        unit,
        source=Source("Stein2019", _TABLE),
        description=description,
        log_sd=log_sd,
    )


@cache
def build() -> Model:
    """Build the Stein et al. 2019 CAR-T cellular kinetic model (copies/ug, days)."""
    b = ModelBuilder(
        "stein2019",
        description="tisagenlecleucel CAR-T expansion, contraction and persistence "
        "(Stein et al. 2019)",
        citations=("Stein2019",),
    )
    unit = "1/ug"  # transgene copies per microgram of genomic DNA
    E = b.state("E", unit, description="effector CAR-T transgene level")
    M = b.state("M", unit, description="memory CAR-T transgene level")
    foldx = b.parameter("foldx", _src(FOLDX, "1", "fold expansion from infusion to peak", 2.4))
    tmax = b.parameter("Tmax", _src(9.3, "day", "time of the peak (end of expansion)", 0.38))
    alpha = b.parameter("alpha", _src(0.16, "1/day", "effector contraction rate", 0.91))
    fb = b.parameter(
        "FB",
        Parameter(
            0.0079,
            "1",
            source=Source("Stein2019", _TABLE),
            description="fraction of the peak level in the slowly declining (memory) phase"
            + _iiv(0.8),
            log_sd=0.8**0.5,
            upper=1.0,
        ),
    )
    beta = b.parameter("beta", _src(0.0032, "1/day", "memory decline rate", 0.86))

    rho = b.expression("rho", sp.log(foldx) / tmax, unit="1/day")
    k = b.expression("k", fb * (alpha - beta), unit="1/day")
    s = b.expression("expanding", (1 - sp.tanh((TIME - tmax) / (2 * SWITCH_WIDTH))) / 2, unit="1")
    b.add_rate(E, s * rho * E - (1 - s) * alpha * E)
    b.add_rate(M, (1 - s) * (k * E - beta * M))
    b.expression("transgene", E + M, unit=unit)
    b.dose(
        "CAR-T",
        E,
        scale=DOSE_SCALE,
        description=f"infused CAR-positive viable T cells -> transgene copies/ug "
        f"(R0 = Cmax/foldx per {DOSE_REF:.0e} cells); infuse at t = 0",
    )
    return b.build()
