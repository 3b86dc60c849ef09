"""de Pillis et al. 2009: chemo-immunotherapy with IL-2, TIL and chemotherapy.

de Pillis L, Fister KR, Gu W, Collins C, Daub M, Gross D, Moore J, Preskill B. Mathematical
model creation for cancer chemo-immunotherapy. Comput Math Methods Med 10(3):165-184 (2009),
doi:10.1080/17486700802216301; BioModels BIOMD0000000779. Tumour ``T``, NK ``N``,
tumour-specific CD8+ T ``L`` and circulating lymphocytes ``C`` [cell], chemotherapy ``M``
[mg/L] and IL-2 ``I`` [IU/L], time in days::

    dT/dt = a T (1 - b T) - c N T - D T - K_T (1 - exp(-delta_T M)) T
    dN/dt = f (e C - N) - p N T + p_N N I/(g_N + I) - K_N (1 - exp(-delta_N M)) N
    dL/dt = -theta m L/(theta + I) + j T L/(k + T) - q L T + (r_1 N + r_2 C) T
            - u L^2 C I/(kappa + I) - K_L (1 - exp(-delta_L M)) L + p_I L I/(g_I + I) + v_L
    dC/dt = beta (alpha/beta - C) - K_C (1 - exp(-delta_C M)) C
    dM/dt = -gamma M + v_M
    dI/dt = -mu_I I + phi C + omega L I/(zeta + I) + v_I
    D     = d (L/T)^l/(s + (L/T)^l)

Values are those of BIOMD0000000779 (``alphabeta`` = alpha/beta, ``ef`` = e), with two
differences, both documented and tested:

* the file's CD8+ turnover reaction uses ``phi`` (the IL-2 production rate of naive cells,
  2.38e-7) in ``-phi m L/(phi + I)``, while its parameter ``theta`` (2.5036e-3), the paper's
  IL-2 scale of CD8+ turnover, is used by no rate; the paper's ``theta`` is used here;
* the file sets the patient-specific CD8+ lysis parameters ``d = l = s = 0`` (no CD8+
  kill). The named sets ``"patient9"`` (default) and ``"patient10"`` use
  d = 2.34, l = 2.09, s = 3.8e-3 and d = 1.88, l = 1.81, s = 3.5e-2, once recalled as the
  values of de Pillis et al. 2005 for Dudley et al. 2002 patients 9 and 10. **They are not**:
  two reimplementations of the 2005 paper give patient 9 d = 5.80, l = 1.36, s = 0.25 and
  patient 10 d = 4.23, l = 1.43, s = 0.36 (``shared/data/papers/dePillis2005.md``). Their
  origin is unverified and the 2009 paper's own patient values were not reached, so the six
  numbers are flagged assumptions "to be calibrated" (kept unchanged so that results stay
  comparable); ``"biomodels"`` keeps the file's zeros.

Doses: ``M`` and ``I`` are blood concentrations. ``"chemotherapy"`` (any drug of the
chemotherapy mechanism) adds ``amount [mg] / V_blood`` to ``M`` and ``"aldesleukin"`` (and
``"IL-2"``) adds ``amount [IU] / V_blood`` to ``I``, with ``V_blood = 5 L`` (an assumption:
adult blood volume; the paper gives its inputs directly as concentrations per day);
``"adoptive cell transfer"`` (TIL) adds cells to ``L``. The constant inputs ``v_M``, ``v_I``,
``v_L`` (default 0) are equivalent to ``INFUSION_RATE`` events of the same value.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import sympy as sp

from oncotwin.citations import get_citation
from oncotwin.errors import ModelError
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components import logistic, mass_action_kill, ratio_dependent_kill
from oncotwin.parameters import Parameter, Source

__all__ = [
    "BLOOD_VOLUME_L",
    "CITATION",
    "LOG_SD_REASON",
    "PARAMETER_SETS",
    "PATIENT_LYSIS",
    "VARYING",
    "build",
]

CITATION = get_citation("dePillis2009")

#: Blood volume converting doses (mg, IU) to the model's concentrations [L] (assumption).
BLOOD_VOLUME_L = 5.0

#: Named parameter sets.
PARAMETER_SETS = ("patient9", "patient10", "biomodels")

#: Patient-specific CD8+ lysis parameters (d [1/day], l [1], s [1]) per set.
PATIENT_LYSIS: dict[str, tuple[float, float, float]] = {
    "patient9": (2.34, 2.09, 3.8e-3),
    "patient10": (1.88, 1.81, 3.5e-2),
    "biomodels": (0.0, 0.0, 0.0),
}

_TABLE = "parameter table (value as encoded in BioModels BIOMD0000000779)"
_SBML = "initial concentration of species {} in the SBML file"
_LYSIS_REASON = (
    "basis: to be calibrated ({set}: a recalled value of unverified origin; it is not de "
    "Pillis et al. 2005's patient {n} value as two reimplementations give it ({v2005}); the "
    "2009 paper's patient values were not reached; BIOMD0000000779 sets d = l = s = 0); "
    "plausible range: {lo} to {hi} ({why})"
)
#: name -> (2005 values of patients 9 and 10 per the reimplementations, range, its reason).
_LYSIS_RANGE: dict[str, tuple[str, str, str, str]] = {
    "d": ("d = 5.80 and 4.23", "0.5", "10", "the 2005 mouse and human sets span 1.43-7.17/day"),
    "l": ("l = 1.36 and 1.43", "0.4", "2.1", "the 2005 sets span 0.46-1.43; this value up to 2.09"),
    "s": (
        "s = 0.25 and 0.36",
        "0.003",
        "5.1",
        "the 2005 sets span 0.25-5.07; this value from 3.8e-3",
    ),
}
IU_L = "IU/L"
MG_L = "mg/L"

#: Why the default between-patient log-SDs are what they are (flagged assumption).
LOG_SD_REASON = (
    "between-patient variability not estimated by de Pillis et al. (patient-specific values "
    "only for d, l, s); log-SD 0.2 (~20% CV) is an illustrative default for populations"
)

#: Parameters that vary between virtual patients by default (log-normal, SD 0.2).
VARYING = ("a", "c", "T_0")

#: name -> (value, unit, description), as in BIOMD0000000779.
_VALUES: dict[str, tuple[float, str, str]] = {
    "a": (0.431, "1/day", "tumour growth rate"),
    "b": (1.02e-9, "1/cell", "inverse tumour carrying capacity"),
    "c": (2.9077e-13, "1/cell/day", "NK kill of tumour cells"),
    "K_T": (0.9, "1/day", "maximal chemotherapy kill of tumour"),
    "delta_T": (1.8328, "L/mg", "chemotherapy kill steepness, tumour"),
    "ef": (0.111, "1", "fraction of circulating lymphocytes that become NK cells (e)"),
    "f": (0.0125, "1/day", "NK turnover"),
    "p": (2.794e-13, "1/cell/day", "NK inactivation by tumour"),
    "p_N": (0.068, "1/day", "IL-2 stimulation of NK cells"),
    "g_N": (250360.0, IU_L, "IL-2 half-saturation of NK stimulation"),
    "K_N": (0.0675, "1/day", "maximal chemotherapy kill of NK cells"),
    "delta_N": (1.8328, "L/mg", "chemotherapy kill steepness, NK"),
    "m": (0.009, "1/day", "CD8+ death rate"),
    "theta": (0.0025036, IU_L, "IL-2 scale of CD8+ turnover"),
    "q": (3.422e-10, "1/cell/day", "CD8+ inactivation by tumour"),
    "r_1": (2.9077e-11, "1/cell/day", "CD8+ activation by NK-lysed tumour debris"),
    "r_2": (5.8467e-13, "1/cell/day", "CD8+ activation by tumour-lymphocyte encounters"),
    "p_I": (2.971, "1/day", "IL-2 stimulation of CD8+ cells"),
    "g_I": (2503.6, IU_L, "IL-2 half-saturation of CD8+ stimulation"),
    "u": (4.417e-14, "1/cell**2/day", "CD8+ self-regulation (IL-2 dependent)"),
    "kappa": (2503.6, IU_L, "IL-2 half-saturation of CD8+ self-regulation"),
    "j": (0.01245, "1/day", "tumour-driven CD8+ recruitment"),
    "k": (2.019e7, "cell", "half-saturation of CD8+ recruitment in T"),
    "K_L": (0.0486, "1/day", "maximal chemotherapy kill of CD8+ cells"),
    "delta_L": (1.8328, "L/mg", "chemotherapy kill steepness, CD8+"),
    "alphabeta": (2.25e9, "cell", "circulating lymphocyte steady state alpha/beta"),
    "beta": (0.0063, "1/day", "circulating lymphocyte turnover"),
    "K_C": (0.034, "1/day", "maximal chemotherapy kill of circulating lymphocytes"),
    "delta_C": (1.8328, "L/mg", "chemotherapy kill steepness, lymphocytes"),
    "gamma": (0.5199, "1/day", "chemotherapy elimination rate"),
    "mu_I": (11.7427, "1/day", "IL-2 elimination rate"),
    "omega": (0.07874, "1/day", "IL-2 production by CD8+ cells"),
    "phi": (2.38405e-7, "IU/L/cell/day", "IL-2 production by circulating lymphocytes"),
    "zeta": (2503.6, IU_L, "IL-2 half-saturation of CD8+ IL-2 production"),
}

#: state name -> (SBML species, initial value, unit, description).
_STATES: dict[str, tuple[str, float, str, str]] = {
    "T": ("T_Tumour_Cells", 1.0e7, "cell", "tumour cells"),
    "N": ("N_Natural_Killer_Cells", 2.5e8, "cell", "NK cells"),
    "L": ("L_CD8_T_Cells", 5.268e5, "cell", "tumour-specific CD8+ T cells"),
    "C": ("C_Lymphocytes", 2.25e9, "cell", "circulating lymphocytes"),
    "M": ("M_Chemotherapy_Drug", 0.0, MG_L, "chemotherapy concentration"),
    "I": ("I_IL_2", 1073.0, IU_L, "IL-2 concentration"),
}


def _src(name: str, log_sd: float = 0.0) -> Parameter:
    value, unit, description = _VALUES[name]
    if log_sd:
        description += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
    return Parameter(
        value, unit, source=Source("dePillis2009", _TABLE), description=description, log_sd=log_sd
    )


def _lysis(parameter_set: str, name: str, value: float, unit: str, description: str):
    if parameter_set == "biomodels":
        return Parameter(
            value,
            unit,
            source=Source("BIOMD0000000779", "parameter value in the SBML file (0: unset)"),
            description=description,
        )
    n = parameter_set.removeprefix("patient")
    return Parameter(
        value,
        unit,
        assumption=True,
        reason=_LYSIS_REASON.format(
            set=parameter_set,
            n=n,
            v2005=_LYSIS_RANGE[name][0],
            lo=_LYSIS_RANGE[name][1],
            hi=_LYSIS_RANGE[name][2],
            why=_LYSIS_RANGE[name][3],
        ),
        description=description,
    )


def _input(unit: str, what: str) -> Parameter:
    return Parameter(
        0.0,
        unit,
        assumption=True,
        reason="basis: untreated default (a treatment input, 0 as in the SBML file; treatment "
        "enters through doses or a positive constant input)",
        description=f"constant {what} input",
    )


@cache
def build(
    parameter_set: Literal["patient9", "patient10", "biomodels"] = "patient9",
) -> Model:
    """Build the de Pillis et al. 2009 chemo-immunotherapy model (cells, mg/L, IU/L, days)."""
    if parameter_set not in PARAMETER_SETS:
        raise ModelError(f"parameter_set={parameter_set!r} is not one of {PARAMETER_SETS}")
    b = ModelBuilder(
        "depillis2009" if parameter_set == "patient9" else f"depillis2009_{parameter_set}",
        description="tumour, NK, CD8+, lymphocytes, chemotherapy and IL-2 "
        f"(de Pillis et al. 2009; set {parameter_set})",
        citations=("dePillis2009", "BIOMD0000000779", "dePillis2005"),
    )
    sd = 0.2
    S: dict[str, sp.Symbol] = {}
    for name, (species, value, unit, description) in _STATES.items():
        log_sd = sd if f"{name}_0" in VARYING else 0.0
        desc = f"initial {description}"
        if log_sd:
            desc += f" [log_sd {log_sd}: assumption, {LOG_SD_REASON}]"
        S[name] = b.state(
            name,
            unit,
            initial=Parameter(
                value,
                unit,
                source=Source("BIOMD0000000779", _SBML.format(species)),
                description=desc,
                log_sd=log_sd,
            ),
            description=description,
        )
    T, N, L, C, M, I = (S[n] for n in ("T", "N", "L", "C", "M", "I"))
    P = {n: b.parameter(n, _src(n, sd if n in VARYING else 0.0)) for n in _VALUES}
    d_v, l_v, s_v = PATIENT_LYSIS[parameter_set]
    d = b.parameter("d", _lysis(parameter_set, "d", d_v, "1/day", "saturation of CD8+ lysis"))
    l_ = b.parameter("l", _lysis(parameter_set, "l", l_v, "1", "exponent of L/T in D"))
    s = b.parameter("s", _lysis(parameter_set, "s", s_v, "1", "steepness of CD8+ lysis"))
    v_M = b.parameter("v_M", _input(f"{MG_L}/day", "chemotherapy"))
    v_I = b.parameter("v_I", _input(f"{IU_L}/day", "IL-2"))
    v_L = b.parameter("v_L", _input("cell/day", "TIL (CD8+)"))

    def chemo_kill(k: str, delta: str, X: sp.Symbol) -> sp.Expr:
        return P[k] * (1 - sp.exp(-P[delta] * M)) * X

    DT = b.expression("cd8_kill", ratio_dependent_kill(d, L, T, s, l_), unit="cell/day")
    b.expression("chemo_kill", chemo_kill("K_T", "delta_T", T), unit="cell/day")
    b.add_rate(
        T,
        logistic(P["a"], 1 / P["b"], T)
        - mass_action_kill(P["c"], N, T)
        - DT
        - chemo_kill("K_T", "delta_T", T),
    )
    b.add_rate(
        N,
        P["f"] * (P["ef"] * C - N)
        - mass_action_kill(P["p"], N, T)
        + P["p_N"] * N * I / (P["g_N"] + I)
        - chemo_kill("K_N", "delta_N", N),
    )
    b.add_rate(
        L,
        -P["theta"] * P["m"] * L / (P["theta"] + I)
        + P["j"] * T * L / (P["k"] + T)
        - mass_action_kill(P["q"], L, T)
        + (P["r_1"] * N + P["r_2"] * C) * T
        - P["u"] * L**2 * C * I / (P["kappa"] + I)
        - chemo_kill("K_L", "delta_L", L)
        + P["p_I"] * L * I / (P["g_I"] + I)
        + v_L,
    )
    b.add_rate(C, P["beta"] * (P["alphabeta"] - C) - chemo_kill("K_C", "delta_C", C))
    b.add_rate(M, -P["gamma"] * M + v_M)
    b.add_rate(I, -P["mu_I"] * I + P["phi"] * C + P["omega"] * L * I / (P["zeta"] + I) + v_I)

    per_litre = 1.0 / BLOOD_VOLUME_L
    b.dose(
        "chemotherapy",
        M,
        scale=per_litre,
        description=f"chemotherapy dose in mg spread over {BLOOD_VOLUME_L:g} L of blood "
        "(assumed volume) -> mg/L",
    )
    for key in ("aldesleukin", "IL-2"):
        b.dose(
            key,
            I,
            scale=per_litre,
            description=f"IL-2 dose in IU spread over {BLOOD_VOLUME_L:g} L of blood "
            "(assumed volume) -> IU/L",
        )
    b.dose("adoptive cell transfer", L, scale=1.0, description="TIL infusion in cells")
    return b.build()
