"""Nikolopoulou et al. 2018: tumour-immune dynamics with an anti-PD-1 checkpoint inhibitor.

Nikolopoulou E, Johnson LR, Harris D, Nagy JD, Stites EC, Kuang Y. Tumour-immune dynamics with
an immune checkpoint inhibitor. Lett Biomath 5(sup1):S137-S159 (2018),
doi:10.1080/23737867.2018.1440978; BioModels MODEL1908270001. Cancer cells ``C``, activated
T cells ``T`` and anti-PD-1 ``A``, all densities in the tumour tissue [g/cm^3], time in days::

    dC/dt = lambda_C C (1 - C/C_K) - eta T C
    dT/dt = (lambda_TI12 T_N I_12/(K_I12 + I_12) + lambda_TI2 T I_2/(K_I2 + I_2)) F(Q) - d_T T
    dA/dt = gamma_A - mu_PA P A - d_A A
    P = (rho_P - gamma A) T        PD-1 not blocked by the drug
    Q = kappa P (T + epsilon_C C)  PD-1/PD-L1 complex, kappa = sigma rho_L
    F(Q) = 1/(1 + Q/K_TQ)          inhibition of T-cell activation by the complex

The equations and values are read from the BioModels SBML file (``shared/data/external/
biomodels-tumor-immune-sbml/sbml/MODEL1908270001.xml``), with one correction: the SBML
reaction ``Anti_PD_1_Effective_Level`` has the rate ``A`` (which would make the drug grow
exponentially once given), while the file's parameter ``gamma_A`` is used by no rate; it is
taken here as the intended drug input rate ``gamma_A`` [g/cm^3/day] (the paper text was not
available offline to confirm the drug equation). Its
default is 0 (untreated); :data:`GAMMA_A_PAPER` is the continuous-treatment rate of the file.

Doses: the drug state is the paper's effective anti-PD-1 density in the tumour [g/cm^3]. The
paper defines no conversion from an administered amount in mg, so the dose target
:data:`DOSE_KEY` has scale 1 and is not keyed by the mechanism class: regimens in mg are refused
with a clear error, and **doses for this model are events in g/cm^3** (a bolus of ``x`` adds
``x`` to ``A``), or the continuous input ``gamma_A``.

Guard: the SBML writes ``P = (rho_P - gamma A) T``, which turns negative once the drug exceeds
``rho_P/gamma`` (``A > 5.84e-8`` g/cm^3 with the defaults; reached under a continuous input
``gamma_A`` above about 4e-8 g/cm^3/day). ``Q`` is then negative, ``F(Q)`` is singular at
``Q = -K_TQ`` and the solve fails. Here the free PD-1 per T cell is clipped at 0
(``max(rho_P - gamma A, 0)``: the drug cannot block more PD-1 than there is), so larger doses
mean full blockade (``P = Q = 0``, ``F = 1``, no drug consumed by binding). Below the clip
the equations are the SBML's unchanged. This guard is ours, not the paper's (its text was not
reached).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from oncotwin.citations import get_citation
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components import logistic, mass_action_kill
from oncotwin.parameters import Parameter, Source

__all__ = ["CITATION", "DOSE_KEY", "GAMMA_A_PAPER", "LOG_SD_REASON", "VARYING", "build"]

#: Dose target of the drug state. Deliberately not a mechanism class such as "anti-PD-1": a
#: regimen in mg (``pembrolizumab 200 mg ...``) has no defined conversion to the paper's
#: effective density, so it is refused; events in g/cm^3 use this key.
DOSE_KEY = "anti-PD-1 effective level [g/cm3]"

CITATION = get_citation("Nikolopoulou2018")

#: Continuous anti-PD-1 input rate of the SBML file (parameter ``gamma_A``) [g/cm^3/day].
GAMMA_A_PAPER = 1e-10

_TABLE = "parameter table; value as encoded in BioModels MODEL1908270001"
_SBML = "initial concentration of species {} in the SBML file"
G_CM3 = "g/cm**3"

#: Why the default between-patient log-SDs are what they are (flagged assumption).
LOG_SD_REASON = (
    "between-patient variability not estimated by Nikolopoulou et al. (one parameter set); "
    "log-SD 0.2 (~20% CV) is an illustrative default for virtual populations"
)

#: Parameters that vary between virtual patients by default (log-normal, SD 0.2).
VARYING = ("lambda_C", "C_K", "eta", "C_0")


def _src(value: float, unit: str, description: str, log_sd: float = 0.0) -> Parameter:
    if log_sd:
        description += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
    return Parameter(
        value,
        unit,
        source=Source("Nikolopoulou2018", _TABLE),
        description=description,
        log_sd=log_sd,
    )


@cache
def build() -> Model:
    """Build the Nikolopoulou et al. 2018 tumour / T cell / anti-PD-1 model (g/cm^3, days)."""
    b = ModelBuilder(
        "nikolopoulou2018",
        description="tumour-immune dynamics with anti-PD-1 (Nikolopoulou et al. 2018)",
        citations=("Nikolopoulou2018", "MODEL1908270001"),
    )
    sd = 0.2
    C = b.state(
        "C",
        G_CM3,
        initial=Parameter(
            0.3968,
            G_CM3,
            source=Source("MODEL1908270001", _SBML.format("C")),
            description=f"initial cancer cells [log_sd {sd}: assumption, {LOG_SD_REASON}]",
            log_sd=sd,
        ),
        description="cancer cells",
    )
    T = b.state(
        "T",
        G_CM3,
        initial=Parameter(
            0.006,
            G_CM3,
            source=Source("MODEL1908270001", _SBML.format("T")),
            description="initial activated T cells",
        ),
        description="activated T cells",
    )
    A = b.state(
        "A",
        G_CM3,
        initial=Parameter(
            0.0,
            G_CM3,
            source=Source("MODEL1908270001", _SBML.format("A")),
            description="initial anti-PD-1 (untreated)",
        ),
        description="anti-PD-1 density in the tumour",
    )
    lambda_C = b.parameter("lambda_C", _src(0.425, "1/day", "cancer cell growth rate", sd))
    C_K = b.parameter("C_K", _src(0.8725, G_CM3, "cancer cell carrying capacity", sd))
    eta = b.parameter("eta", _src(57.5, "cm**3/g/day", "killing of cancer cells by T", sd))
    lam12 = b.parameter("lambda_TI12", _src(8.81, "1/day", "T activation by IL-12"))
    T_N = b.parameter("T_N", _src(6e-4, G_CM3, "naive T-cell density"))
    I_12 = b.parameter("I_12", _src(1.5e-10, G_CM3, "IL-12 density"))
    K_I12 = b.parameter("K_I12", _src(1.5e-10, G_CM3, "IL-12 half-saturation"))
    lam2 = b.parameter("lambda_TI2", _src(0.5, "1/day", "T proliferation by IL-2"))
    I_2 = b.parameter("I_2", _src(2.37e-11, G_CM3, "IL-2 density"))
    K_I2 = b.parameter("K_I2", _src(2.37e-11, G_CM3, "IL-2 half-saturation"))
    K_TQ = b.parameter("K_TQ", _src(1.365e-18, G_CM3, "inhibition constant of PD-1/PD-L1"))
    rho_L = b.parameter("rho_L", _src(1.1615e-6, "1", "PD-L1 per cell (ratio)"))
    rho_P = b.parameter("rho_P", _src(5.84e-7, "1", "PD-1 per T cell (ratio)"))
    eps_C = b.parameter("epsilon_C", _src(50.5, "1", "PD-L1 on cancer vs T cells"))
    d_T = b.parameter("d_T", _src(0.025, "1/day", "T-cell death rate"))
    mu_PA = b.parameter("mu_PA", _src(1.05954e8, "cm**3/g/day", "drug depletion by PD-1"))
    d_A = b.parameter("d_A", _src(0.7115, "1/day", "drug degradation rate"))
    gamma = b.parameter("gamma", _src(10.0, "cm**3/g", "PD-1 blocked per unit of drug"))
    sigma = b.parameter("sigma", _src(0.002, "cm**3/g", "PD-1/PD-L1 association constant"))
    gamma_A = b.parameter(
        "gamma_A",
        Parameter(
            0.0,
            f"{G_CM3}/day",
            assumption=True,
            reason="basis: untreated default (a treatment input, 0 without drug; drug enters "
            f"through doses, or set gamma_A to GAMMA_A_PAPER={GAMMA_A_PAPER}, the SBML's "
            "declared rate, for continuous treatment; the paper's own rates were not reached); "
            "plausible range: 0 to 4e-8 g/cm^3/day (above about 4e-8 the drug exceeds "
            "rho_P/gamma and the PD-1 guard gives full blockade)",
            description="continuous anti-PD-1 input rate",
        ),
    )

    free = rho_P - gamma * A  # PD-1 per T cell not blocked by the drug
    free = sp.Piecewise((free, free > 0), (sp.Integer(0), True))  # guard: see the docstring
    P = b.expression("P", free * T, unit=G_CM3)
    Q = b.expression("Q", sigma * rho_L * P * (T + eps_C * C), unit=G_CM3)
    F = b.expression("F_Q", 1 / (1 + Q / K_TQ), unit="1")
    act = lam12 * T_N * I_12 / (K_I12 + I_12) + lam2 * T * I_2 / (K_I2 + I_2)
    b.add_rate(C, logistic(lambda_C, C_K, C) - mass_action_kill(eta, T, C))
    b.add_rate(T, act * F - d_T * T)
    b.add_rate(A, gamma_A - mu_PA * P * A - d_A * A)
    b.dose(
        DOSE_KEY,
        A,
        scale=1.0,
        description="bolus of anti-PD-1 in the paper's units: amount given in g/cm^3 of tumour "
        "tissue (no mg conversion is defined by the paper)",
    )
    return b.build()
