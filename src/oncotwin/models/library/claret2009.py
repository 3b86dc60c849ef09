"""Claret et al. 2009: tumour growth inhibition (TGI) model with resistance, colorectal cancer.

Claret L, Girard P, Hoff PM, Van Cutsem E, Zuideveld KP, Jorga K, Fagerberg J, Bruno R.
Model-based prediction of phase III overall survival in colorectal cancer on the basis of
phase II tumor dynamics. J Clin Oncol 27(25):4103-4108 (2009), doi:10.1200/JCO.2008.21.0807;
BioModels MODEL1708310001. Tumour size ``y`` [mm, sum of longest diameters], time in days
since the start of treatment::

    dy/dt = K_L y - K_D(t) E(t) y,      K_D(t) = K_D0 exp(-lambda t)

``K_L`` is the growth rate, ``K_D0`` the drug-induced shrinkage rate per unit exposure,
decaying with the resistance rate ``lambda``; the exposure ``E`` is the daily dose [g].
For a constant exposure ``E`` the solution is closed-form,
``y(t) = y0 exp(K_L t - K_D0 E (1 - exp(-lambda t))/lambda)``, with the nadir (the time to
tumour growth) at ``t* = log(K_D0 E/K_L)/lambda`` when ``K_D0 E > K_L``.

Values: ``K_L`` = 0.021/week, ``K_D0`` = 0.025/(g week), ``lambda`` = 0.053/week and the
baseline ``y0`` = 200 mm, as encoded in BioModels MODEL1708310001 (non-curated). The paper
was not read beyond its abstract (``shared/data/papers/Claret2009.md``), so two readings are
inferences, stated as such: that these are the **capecitabine phase II** estimates (the
file's dosing is capecitabine-like), and that the rates are **per week** (the file's clock is
in days, yet its values have the size of the per-week values a second reimplementation
labels per week; read per day they would run 7x too fast): here they are divided by 7. The
**fluorouracil phase III** estimates of that second reimplementation (a Pumas teaching
exercise; single source) are the parameter-set file
``ParameterSet.load("claret2009/fluorouracil_phase3")`` (K_L 0.015, K_D0 0.058, lambda 0.042
per week, with its IIV as log-SDs). Not reached: the paper's parameter table, the survival
model's coefficients and any published week-7 tumour-size ratio; the abstract's results
(log-normal OS with baseline size and week-7 change as predictors; capecitabine OS predicted
431 days vs 401 observed) are therefore not reproduced by this module.

Exposure (documented choice): the paper uses the daily dose as a time-varying covariate. Here
doses enter a kinetic-pharmacodynamic (K-PD) amount ``A`` [g] eliminated at ``k_e`` (the
K-PD form of the DDMORE encoding DDMODEL00000090), and ``E = E_const + k_e A`` [g/day]: the
time integral of ``k_e A`` equals the dose, so with daily dosing ``E`` averages the daily dose
in g, the paper's covariate. ``k_e`` (a 1-hour half-life, fast against the weeks of tumour
response) is an assumption. ``E_const`` [g/day] (default 0) gives the paper's constant-
exposure form. The resistance clock ``t`` is model time: **start treatment at t = 0**. Doses
in mg enter through the dose target ``"chemotherapy"`` (scale 1e-3 g/mg).
"""

from __future__ import annotations

import math
from functools import cache

import sympy as sp

from oncotwin.citations import get_citation
from oncotwin.models.base import TIME, Model, ModelBuilder
from oncotwin.models.components import exponential
from oncotwin.parameters import Parameter, Source

__all__ = ["CITATION", "build", "time_to_growth"]

CITATION = get_citation("Claret2009")

_SBML = "capecitabine phase II estimate, parameter {} of MODEL1708310001 ({}/week; here /7)"


def _sbml(name: str, per_week: float, unit: str, description: str) -> Parameter:
    return Parameter(
        per_week / 7.0,
        unit,
        source=Source("MODEL1708310001", _SBML.format(name, per_week)),
        description=description,
    )


def time_to_growth(K_L: float, K_D0: float, lam: float, E: float) -> float:
    """Time to tumour growth [day] (nadir of ``y``) under a constant exposure ``E``.

    ``log(K_D0 E/K_L)/lambda``; 0 when the drug never outweighs growth (``K_D0 E <= K_L``).

    Examples
    --------
    >>> round(time_to_growth(0.003, 0.025 / 7, 0.053 / 7, 4.5), 1)
    221.7
    """
    ratio = K_D0 * E / K_L
    return math.log(ratio) / lam if ratio > 1.0 else 0.0


@cache
def build() -> Model:
    """Build the Claret et al. 2009 TGI model (mm, g, days)."""
    b = ModelBuilder(
        "claret2009",
        description="tumour growth inhibition with exponentially decaying drug effect "
        "(Claret et al. 2009)",
        citations=("Claret2009", "MODEL1708310001"),
    )
    y = b.state(
        "y",
        "mm",
        initial=Parameter(
            200.0,
            "mm",
            source=Source("MODEL1708310001", "parameter y0 (baseline tumour size)"),
            description="baseline tumour size (sum of longest diameters)",
        ),
        description="tumour size (sum of longest diameters)",
    )
    A = b.state("A", "g", description="K-PD drug amount (doses enter here)")
    K_L = b.parameter("K_L", _sbml("K_L", 0.021, "1/day", "tumour growth rate"))
    K_D0 = b.parameter(
        "K_D0", _sbml("K_D_0", 0.025, "1/g", "drug-induced shrinkage rate per g/day exposure")
    )
    lam = b.parameter("lambda", _sbml("lamda", 0.053, "1/day", "resistance (decay of K_D)"))
    k_e = b.parameter(
        "k_e",
        Parameter(
            24.0 * math.log(2.0),
            "1/day",
            assumption=True,
            reason="basis: physiological bound (capecitabine and fluorouracil are cleared "
            "within hours, so each dose's exposure falls within its day, as with the paper's "
            "daily-dose covariate; 1-hour half-life chosen); plausible range: 4 to 70 /day "
            "(half-lives of 4 h to 15 min; the tumour response over weeks is insensitive to "
            "it)",
            description="K-PD elimination rate of the dosed amount",
        ),
    )
    E_const = b.parameter(
        "E_const",
        Parameter(
            0.0,
            "g/day",
            assumption=True,
            reason="basis: untreated default (set to a daily dose in g for the paper's "
            "constant-exposure, closed-form solution)",
            description="constant exposure added to the dose-driven exposure",
        ),
    )
    exposure = b.expression("exposure", E_const + k_e * A, unit="g/day")
    K_D = b.expression("K_D", K_D0 * sp.exp(-lam * TIME), unit="1/g")
    b.add_rate(y, exponential(K_L, y) - K_D * exposure * y)
    b.add_rate(A, -k_e * A)
    b.dose(
        "chemotherapy",
        A,
        scale=1e-3,
        description="dose of capecitabine or fluorouracil in mg -> g (exposure = daily dose in "
        "g); start treatment at t = 0",
    )
    return b.build()
