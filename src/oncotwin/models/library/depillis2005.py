"""de Pillis, Radunskaya & Wiseman 2005: NK and CD8+ T-cell response to tumour growth.

de Pillis LG, Radunskaya AE, Wiseman CL. A validated mathematical model of cell-mediated
immune response to tumor growth. Cancer Res 65(17):7950-7958 (2005),
doi:10.1158/0008-5472.CAN-05-0564; BioModels MODEL1907260001 (mouse). Tumour cells ``T``,
NK cells ``N`` and tumour-specific CD8+ T cells ``L`` [cell], time in days::

    dT/dt = a T (1 - b T) - c N T - D T
    dN/dt = sigma - f N + g T^2/(h + T^2) N - p N T
    dL/dt = -m L + j (D T)^2/(k + (D T)^2) L - q L T + r N T
    D     = d (L/T)^l/(s + (L/T)^l)

``D T`` is the ratio-dependent CD8+ lysis fitted by the paper to chromium-release data
(:func:`oncotwin.models.components.ratio_dependent_kill`; the paper writes the exponent as
``lambda``, here ``l``), ``c N T`` the NK kill, ``sigma - f N`` the NK supply and turnover,
``g T^2/(h + T^2) N`` tumour-driven NK recruitment, ``j (DT)^2/(k + (DT)^2) L`` CD8+
recruitment by lysed-tumour debris, ``p N T`` and ``q L T`` inactivation by the tumour and
``r N T`` CD8+ priming through NK-tumour encounters. Circulating lymphocytes ``C`` enter only
the later chemo-immunotherapy models (:mod:`oncotwin.models.library.depillis2009`).

Parameter sets (``build(parameter_set=...)``): ``"mouse"`` is the mouse set of the BioModels
encoding MODEL1907260001 (the paper's Table 1 as encoded there; taxonomy *Mus musculus*),
initial state T = 100, N = 1000, L = 0 cells. The paper's human sets (patients 9 and 10 of
Dudley et al. 2002) are parameter-set files, ``ParameterSet.load("depillis2005/patient9")``
and ``"depillis2005/patient10"`` (``.vector(model)`` gives the parameter row). The paper's
Table 2 itself was not read: the values are those of the reimplementations they come from,
named in each record (``shared/data/papers/dePillis2005.md``). Patient 9's ``d, l, s``
(5.80, 1.36, 0.25) have two independent sources that agree; patient 10's (4.23, 1.43, 0.36)
have **one** (flagged in each record). The other human values equal the mouse set except
``c`` (one source writes 3.23e-1, a typo for 3.23e-7) and ``k`` = 2.0e7 (the other source has
2.019e7). There is no drug in this model, so it has no dose target.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from oncotwin.citations import get_citation
from oncotwin.errors import ModelError
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components import logistic, mass_action_kill, ratio_dependent_kill
from oncotwin.parameters import Parameter, Source

__all__ = ["CITATION", "LOG_SD_REASON", "PARAMETER_SETS", "VARYING", "build"]

#: Its record is in oncotwin/data/citations.toml (one record per paper).
CITATION = get_citation("dePillis2005")

#: Named parameter sets of this module.
PARAMETER_SETS = ("mouse",)

_TABLE = "Table 1, mouse (value as encoded in BioModels MODEL1907260001)"
_SBML = "initial concentration of species {} in the SBML file"

#: Why the default between-patient log-SDs are what they are (flagged assumption).
LOG_SD_REASON = (
    "between-animal variability not estimated by de Pillis et al. (one fitted mouse set); "
    "log-SD 0.2 (~20% CV) is an illustrative default for virtual populations"
)

#: Parameters that vary between virtual patients by default (log-normal, SD 0.2).
VARYING = ("a", "d", "T_0")

#: name -> (value, unit, description) of the mouse set (MODEL1907260001).
_MOUSE: dict[str, tuple[float, str, str]] = {
    "a": (0.514, "1/day", "tumour growth rate"),
    "b": (1.02e-9, "1/cell", "inverse tumour carrying capacity"),
    "c": (3.23e-7, "1/cell/day", "NK kill rate of tumour cells"),
    "d": (1.43, "1/day", "saturation level of CD8+ lysis"),
    "l": (0.58, "1", "exponent of the CD8+/tumour ratio in D"),
    "s": (2.73, "1", "steepness of the CD8+ lysis (value of (L/T)^l for half-maximal D)"),
    "sigma": (1.3e4, "cell/day", "constant NK supply"),
    "f": (0.0412, "1/day", "NK death rate"),
    "g": (0.025, "1/day", "maximal tumour-driven NK recruitment"),
    "h": (2.02e7, "cell**2", "NK recruitment steepness (half-saturation in T^2)"),
    "p": (1e-7, "1/cell/day", "NK inactivation by tumour"),
    "m": (0.02, "1/day", "CD8+ death rate"),
    "j": (0.0375, "1/day", "maximal CD8+ recruitment by lysed tumour"),
    "k": (2.02e7, "cell**2/day**2", "CD8+ recruitment steepness (half-saturation in (DT)^2)"),
    "q": (3.42e-10, "1/cell/day", "CD8+ inactivation by tumour"),
    "r": (1.1e-7, "1/cell/day", "CD8+ priming by NK-tumour encounters"),
}


def _src(name: str, log_sd: float = 0.0) -> Parameter:
    value, unit, description = _MOUSE[name]
    if log_sd:
        description += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
    return Parameter(
        value, unit, source=Source("dePillis2005", _TABLE), description=description, log_sd=log_sd
    )


def _initial(value: float, species: str, description: str, log_sd: float = 0.0) -> Parameter:
    if log_sd:
        description += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
    return Parameter(
        value,
        "cell",
        source=Source("MODEL1907260001", _SBML.format(species)),
        description=description,
        log_sd=log_sd,
    )


@cache
def build(parameter_set: Literal["mouse"] = "mouse") -> Model:
    """Build the de Pillis et al. 2005 tumour/NK/CD8+ model (cells, days)."""
    if parameter_set not in PARAMETER_SETS:
        raise ModelError(
            f"parameter_set={parameter_set!r} is not one of {PARAMETER_SETS}; the human sets are "
            'parameter-set files: ParameterSet.load("depillis2005/patient9").vector(model)'
        )
    b = ModelBuilder(
        "depillis2005",
        description="tumour, NK and CD8+ T cells with ratio-dependent lysis "
        "(de Pillis et al. 2005, mouse)",
        citations=("dePillis2005", "MODEL1907260001"),
    )
    sd = 0.2
    T = b.state("T", "cell", initial=_initial(100.0, "T", "initial tumour cells", sd))
    N = b.state("N", "cell", initial=_initial(1000.0, "N", "initial NK cells"))
    L = b.state("L", "cell", initial=_initial(0.0, "L", "initial CD8+ T cells"))
    P = {n: b.parameter(n, _src(n, sd if n in VARYING else 0.0)) for n in _MOUSE}

    DT = b.expression(
        "cd8_kill", ratio_dependent_kill(P["d"], L, T, P["s"], P["l"]), unit="cell/day"
    )
    b.add_rate(T, logistic(P["a"], 1 / P["b"], T) - mass_action_kill(P["c"], N, T) - DT)
    b.add_rate(
        N,
        P["sigma"]
        - P["f"] * N
        + P["g"] * T**2 / (P["h"] + T**2) * N
        - mass_action_kill(P["p"], N, T),
    )
    b.add_rate(
        L,
        -P["m"] * L
        + P["j"] * DT**2 / (P["k"] + DT**2) * L
        - mass_action_kill(P["q"], L, T)
        + P["r"] * N * T,
    )
    return b.build()
