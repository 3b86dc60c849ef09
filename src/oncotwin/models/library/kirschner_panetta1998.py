"""Kirschner & Panetta 1998: effector cells, tumour and IL-2 under immunotherapy.

Kirschner D, Panetta JC. Modeling immunotherapy of the tumor-immune interaction. J Math Biol
37(3):235-252 (1998), doi:10.1007/s002850050127; BioModels BIOMD0000000732. Effector cells
``E`` and tumour cells ``T`` [cell], IL-2 ``I_L`` (the paper's concentration units), time in
days::

    dE/dt   = c T - mu2 E + p1 E I_L/(g1 + I_L) + s1
    dT/dt   = r2 T (1 - b T) - a E T/(g2 + T)
    dI_L/dt = p2 E T/(g3 + T) - mu3 I_L + s2

``c`` is the antigenicity of the tumour (the paper's bifurcation parameter, 0 <= c <= 0.05),
``s1`` adoptive cellular immunotherapy (ACI: LAK or TIL cells) and ``s2`` IL-2 therapy, both
constant inputs (default 0: untreated). Parameter values are the paper's Table 1 as encoded
in BIOMD0000000732 (``shared/data/external/biomodels-tumor-immune-sbml/sbml``); ``c`` defaults
to the file's 0.035.

Two variants (``build(variant=...)``):

* ``"paper"`` (default): the equations above.
* ``"biomodels"``: the SBML file's kinetic law for effector activation,
  ``s1 + c T + p1 E I_L/g1``: the file's function ``equation_for_immune_cell_activation``
  divides by ``g1`` alone, dropping ``I_L`` from the Michaelis-Menten denominator, so IL-2
  stimulation of the effectors never saturates. (The file keeps the ``g3 + T`` denominator of
  IL-2 production.) In this variant IL-2 alone makes ``E`` grow without bound once
  ``s2 > mu2 mu3 g1/p1 = 4.82e7``, against ``mu2 mu3 g1/(p1 - mu2) = 6.35e7`` in the paper's.

Results of the paper used in the tests: the tumour-free state ``(s1/mu2, 0, s2/mu3)`` with
``s2 = 0`` is stable for ``s1 > r2 mu2 g2/a = 540`` whatever ``c`` (section 4, ACI; the
critical value 540 is also quoted by Sarv Ahrabi 2018, arXiv:1806.04752); without treatment
the tumour persists (the tumour-free state is unstable for every ``c``); IL-2 alone clears the
tumour only at doses where the effector population grows without bound (toxicity).

Doses: ``"adoptive cell transfer"`` adds effector cells to ``E`` (scale 1, cells);
:data:`IL2_DOSE_KEY` adds to ``I_L`` in the paper's IL-2 units (scale 1: the paper defines no
conversion from IU, so **IL-2 doses are events in the model's units**; an aldesleukin regimen in
IU is refused rather than misread).
A constant input ``s1`` or ``s2`` is equivalent to an ``INFUSION_RATE`` event of that value.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from oncotwin.citations import get_citation
from oncotwin.errors import ModelError
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components import logistic
from oncotwin.parameters import Parameter, Source

IL2_DOSE_KEY = "IL-2 [paper units]"

__all__ = [
    "ACI_THRESHOLD",
    "CITATION",
    "IL2_DOSE_KEY",
    "LOG_SD_REASON",
    "VARIANTS",
    "VARYING",
    "build",
]

#: Its record is in oncotwin/data/citations.toml (one record per paper).
CITATION = get_citation("KirschnerPanetta1998")

#: The model variants: the paper's equations or the BioModels kinetic law for E activation.
VARIANTS = ("paper", "biomodels")

#: Critical ACI input of the paper, r2 mu2 g2/a [cell/day] with the Table 1 values.
ACI_THRESHOLD = 540.0

_TABLE = "Table 1 (value as encoded in BioModels BIOMD0000000732)"
_SBML = "initial concentration of species {} in the SBML file"
IL2_UNIT = "a.u."

#: Why the default between-patient log-SDs are what they are (flagged assumption).
LOG_SD_REASON = (
    "between-patient variability not estimated by Kirschner & Panetta (one parameter set); "
    "log-SD 0.2 (~20% CV) is an illustrative default for virtual populations"
)

#: Parameters that vary between virtual patients by default (log-normal, SD 0.2).
VARYING = ("c", "r2", "a")


def _src(value: float, unit: str, description: str, log_sd: float = 0.0) -> Parameter:
    if log_sd:
        description += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
    return Parameter(
        value,
        unit,
        source=Source("KirschnerPanetta1998", _TABLE),
        description=description,
        log_sd=log_sd,
    )


@cache
def build(variant: Literal["paper", "biomodels"] = "paper") -> Model:
    """Build the Kirschner & Panetta 1998 model (cells, days); see the module docstring."""
    if variant not in VARIANTS:
        raise ModelError(f"variant={variant!r} is not one of {VARIANTS}")
    name = "kirschner_panetta1998" if variant == "paper" else "kirschner_panetta1998_biomodels"
    b = ModelBuilder(
        name,
        description="effector cells, tumour and IL-2 under ACI and IL-2 therapy "
        f"(Kirschner & Panetta 1998; {variant} form)",
        citations=("KirschnerPanetta1998", "BIOMD0000000732"),
    )
    sd = 0.2
    E = b.state(
        "E",
        "cell",
        initial=Parameter(
            0.0,
            "cell",
            source=Source("BIOMD0000000732", _SBML.format("Immune_cells")),
            description="initial effector cells",
        ),
        description="activated immune-effector cells",
    )
    T = b.state(
        "T",
        "cell",
        initial=Parameter(
            1.0,
            "cell",
            source=Source("BIOMD0000000732", _SBML.format("Tumor")),
            description=f"initial tumour cells [log_sd {sd}: assumption, {LOG_SD_REASON}]",
            log_sd=sd,
        ),
        description="tumour cells",
    )
    IL = b.state(
        "I_L",
        IL2_UNIT,
        initial=Parameter(
            0.0,
            IL2_UNIT,
            source=Source("BIOMD0000000732", _SBML.format("IL2")),
            description="initial IL-2",
        ),
        description="IL-2 concentration (paper's units)",
    )
    c = b.parameter("c", _src(0.035, "1/day", "antigenicity of the tumour", sd))
    mu2 = b.parameter("mu2", _src(0.03, "1/day", "effector death rate"))
    p1 = b.parameter("p1", _src(0.1245, "1/day", "maximal IL-2 stimulation of effectors"))
    g1 = b.parameter("g1", _src(2.0e7, IL2_UNIT, "half-saturation of effector stimulation"))
    r2 = b.parameter("r2", _src(0.18, "1/day", "tumour growth rate", sd))
    bb = b.parameter("b", _src(1.0e-9, "1/cell", "inverse tumour carrying capacity"))
    a = b.parameter("a", _src(1.0, "1/day", "maximal tumour kill rate by effectors", sd))
    g2 = b.parameter("g2", _src(1.0e5, "cell", "half-saturation of kill in T"))
    p2 = b.parameter("p2", _src(5.0, f"{IL2_UNIT}/cell/day", "IL-2 production by E"))
    g3 = b.parameter("g3", _src(1.0e3, "cell", "half-saturation of IL-2 production in T"))
    mu3 = b.parameter("mu3", _src(10.0, "1/day", "IL-2 loss rate"))
    s1 = b.parameter(
        "s1",
        Parameter(
            0.0,
            "cell/day",
            assumption=True,
            reason="basis: untreated default (a treatment input, 0 without ACI; the paper's "
            "ACI threshold for a stable tumour-free state is s1 = r2 mu2 g2/a = 540, section "
            "4); plausible range: 0 to 1000 cells/day (our judgement: up to about twice that "
            "threshold)",
            description="adoptive cellular immunotherapy: effector input",
        ),
    )
    s2 = b.parameter(
        "s2",
        Parameter(
            0.0,
            f"{IL2_UNIT}/day",
            assumption=True,
            reason="basis: untreated default (a treatment input, 0 without IL-2 therapy; the "
            "paper's IL-2-alone scenarios use s2 > 0, with the threshold mu2 mu3 g1/(p1 - mu2) "
            "= 6.35e7); plausible range: 0 to 1e8 (our judgement: up to beyond that "
            "threshold)",
            description="IL-2 therapy: IL-2 input",
        ),
    )

    if variant == "paper":
        stim = p1 * E * IL / (g1 + IL)
    else:
        stim = p1 * E * IL / g1
    kill = b.expression("kill", a * E * T / (g2 + T), unit="cell/day")
    b.add_rate(E, c * T - mu2 * E + stim + s1)
    b.add_rate(T, logistic(r2, 1 / bb, T) - kill)
    b.add_rate(IL, p2 * E * T / (g3 + T) - mu3 * IL + s2)
    b.dose(
        "adoptive cell transfer",
        E,
        scale=1.0,
        description="bolus of effector cells (LAK/TIL) in cells",
    )
    # Keyed by its unit, not by the drug: the paper defines no conversion from IU of
    # aldesleukin, so a regimen in IU is refused instead of silently misread.
    b.dose(
        IL2_DOSE_KEY,
        IL,
        scale=1.0,
        description="bolus of IL-2 in the paper's IL-2 units (no IU conversion is defined "
        "by the paper)",
    )
    return b.build()
