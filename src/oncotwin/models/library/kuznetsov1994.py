"""Kuznetsov, Makalkin, Taylor & Perelson 1994: effector cells against an immunogenic tumour.

Bull Math Biol 56(2):295-321, doi:10.1007/BF02460644; BioModels BIOMD0000000762. Effector
(cytotoxic T) cells ``E`` and tumour cells ``T`` [cell], time in days, dimensional form::

    dE/dt = s + p E T/(g + T) - m E T - d E
    dT/dt = a T (1 - b T) - n E T

``s`` is the basal supply of effectors, ``p E T/(g + T)`` their tumour-stimulated
recruitment, ``m E T`` effector inactivation by the tumour, ``d E`` death, ``a T (1 - b T)``
logistic tumour growth (carrying capacity ``1/b``) and ``n E T`` the mass-action kill. The
parameters were estimated by Kuznetsov et al. (section 2) for the BCL1 B-cell lymphoma in the
spleen of chimeric mice; the values here are those of the BioModels encoding
BIOMD0000000762 (file ``shared/data/external/biomodels-tumor-immune-sbml/sbml``), equal to
the section-2 estimates as quoted from the paper. With them the model has a stable dormant
focus (T ~ 8.2e6 cells, damped oscillations with a period of ~99 days), a saddle
(T ~ 2.7e8) and a stable escape node (T ~ 4.5e8). There is no drug, so the model has no dose target.
"""

from __future__ import annotations

from functools import cache

from oncotwin.citations import get_citation
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components import logistic, mass_action_kill
from oncotwin.parameters import Parameter, Source

__all__ = ["CITATION", "LOG_SD_REASON", "VARYING", "build"]

#: Its record is in oncotwin/data/citations.toml (one record per paper).
CITATION = get_citation("Kuznetsov1994")

_PAPER = "section 2, parameter estimates for BCL1 lymphoma (= BioModels BIOMD0000000762)"
_SBML = "initial concentration of species {} in the SBML file"
#: Why the default between-patient log-SDs are what they are (flagged assumption).
LOG_SD_REASON = (
    "between-patient variability not estimated by Kuznetsov et al. (one fitted parameter set "
    "for a mouse lymphoma); log-SD 0.2 (~20% CV) is an illustrative default for populations"
)

#: Parameters that vary between virtual patients by default (log-normal, SD 0.2 on log scale).
VARYING = ("a", "n", "p", "T_0")


def _src(value: float, unit: str, description: str, log_sd: float = 0.0) -> Parameter:
    if log_sd:
        description += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
    return Parameter(
        value,
        unit,
        source=Source("Kuznetsov1994", _PAPER),
        description=description,
        log_sd=log_sd,
    )


@cache
def build() -> Model:
    """Build the Kuznetsov et al. 1994 effector-tumour model (cells, days)."""
    b = ModelBuilder(
        "kuznetsov1994",
        description="effector cells vs immunogenic tumour (Kuznetsov et al. 1994)",
        citations=("Kuznetsov1994", "BIOMD0000000762"),
    )
    sd = 0.2
    E = b.state(
        "E",
        "cell",
        initial=Parameter(
            3.2e5,
            "cell",
            source=Source("BIOMD0000000762", _SBML.format("E")),
            description="initial effector cells",
        ),
        description="effector (cytotoxic T) cells",
    )
    T = b.state(
        "T",
        "cell",
        initial=Parameter(
            5.0e6,
            "cell",
            source=Source("BIOMD0000000762", _SBML.format("T")),
            description=f"initial tumour cells [log_sd {sd}: assumption, {LOG_SD_REASON}]",
            log_sd=sd,
        ),
        description="tumour cells",
    )
    s = b.parameter("s", _src(1.3e4, "cell/day", "basal supply of effector cells"))
    p = b.parameter("p", _src(0.1245, "1/day", "maximal tumour-stimulated recruitment", sd))
    g = b.parameter("g", _src(2.019e7, "cell", "half-saturation of recruitment in T"))
    m = b.parameter("m", _src(3.422e-10, "1/cell/day", "effector inactivation by tumour"))
    d = b.parameter("d", _src(0.0412, "1/day", "effector death rate"))
    a = b.parameter("a", _src(0.18, "1/day", "maximal tumour growth rate", sd))
    bb = b.parameter("b", _src(2.0e-9, "1/cell", "inverse tumour carrying capacity"))
    n = b.parameter("n", _src(1.101e-7, "1/cell/day", "kill rate constant", sd))

    kill = b.expression("kill", mass_action_kill(n, E, T), unit="cell/day")
    b.add_rate(E, s + p * E * T / (g + T) - m * E * T - d * E)
    b.add_rate(T, logistic(a, 1 / bb, T) - kill)
    return b.build()
