"""Cytotoxic chemotherapy of ``metastatic_io``: one per-class mechanism for every cytotoxic
drug, acquired resistance, lymphodepletion and myelosuppression (equations only; values come
from the parameter set ``metastatic_io/default`` and from the drug catalog).

Exposure
    Every drug of the catalog (``oncotwin/pharmacology/data/drugs.toml``) whose
    ``mechanisms`` list names a cytotoxic class (``CYTOTOXIC_CLASSES`` of
    :mod:`oncotwin.pharmacology.catalog`: taxane, vinca alkaloid, platinum, antimetabolite,
    alkylating, topoisomerase inhibitor, anthracycline) or ``lymphodepletion`` gets an
    amount state ``chemo_<drug>`` [mg] that its doses enter and that is eliminated at
    ``k_d = CL / (V1 + V2)`` of the catalog's PK: one compartment at the steady-state volume
    keeps the AUC (dose / CL) that the linear effects below integrate (a K-PD-like reduction,
    Jacqmin 2007, with the drug's own clearance; bolus doses). Its concentration is
    ``A / (V1 + V2)`` [mg/L] and its exposure rate in cycles per day is
    ``e_d = CL_d C_d / D_d = k_d A_d / D_d``, whose integral over a dose is that dose in units
    of ``D_d = standard_dose_mg`` (the approved dose of one cycle for a 1.8 m^2 adult).
Carboplatin: per-patient Calvert clearance
    A drug dosed by AUC (catalog ``auc_dosing = true``: carboplatin) is eliminated at the
    patient's own clearance, ``CL_i = (gfr_ml_min + 25) mL/min`` (Calvert 1989: total
    carboplatin clearance = GFR + 25; ``gfr_ml_min`` is the patient's true GFR, which the
    renal covariates of virtual trial patients set from age, weight, sex and serum creatinine),
    i.e. ``k_i = 1.44 (gfr_ml_min + 25) / (V1 + V2)`` per day, so that the achieved AUC of a
    dose is ``dose / CL_i``. Its exposure rate keeps the form ``CL_typ C / D`` with the
    catalog's typical clearance ``CL_typ`` (pk.CL, at the default GFR of 80 mL/min): its
    integral is ``CL_typ AUC / D``, one unit for the standard dose in a patient of the default
    GFR (as before this clearance was per patient), more in a patient whose kidneys clear
    less. Kill, resistance, lymphodepletion and myelosuppression (``myelo_slope C``) therefore
    follow the achieved AUC, not the dose. Dosing by target AUC with the Cockcroft-Gault estimate
    (capped at 125 mL/min) while the clearance follows the true GFR makes the achieved AUC
    ``target x (CrCl_capped + 25) / (GFR + 25)``, scattering as that estimate's error does. Every
    other drug's elimination is the catalog constant (its equations are unchanged).
Tumour kill (per class; Claret 2009's linear drug effect with decaying efficacy)
    Each class ``c`` has a potency ``chemo_logkill_<class>``, the natural log-kill of one
    standard dose in a patient of sensitivity 1 (a calibration quantity). The per-cell kill
    rate is ``chemo_kill_rate = chemo_sensitivity * sum_c logkill_c (1 - R_c)
    sum_{d in c} e_d``. Drugs of different classes add their kill rates, i.e. their surviving
    fractions multiply (Bliss independence; no synergy or antagonism is assumed); a drug with
    two classes acts through both. ``chemo_sensitivity`` is the cancer's chemosensitivity (a
    calibration quantity of each cancer set) with log-normal between-patient variability
    (log-SD 0.7, Claret 2009's drug-effect IIV).
Acquired resistance (per class)
    ``dR_c/dt = chemo_resistance_rate * (1 - R_c) sum_{d in c} e_d``: each standard dose of
    the class removes a fraction of the remaining effect, so that over repeated cycles the
    effect decays exponentially with the cycles given, as the drug effect of Claret 2009
    decays with time on treatment (``exp(-lambda t)``). Driving it by exposure instead of
    time means that a patient off the drug acquires none (Goldie-Coldman: resistant clones
    are selected by the drug). It is shared by the drugs of a class (cross-resistance within
    a class) and not across classes. The alternative, a pre-existing resistant compartment,
    would need a second tumour population per site (the sites already carry an
    antigen-negative one for targeted therapies) for the same exponential loss of effect.
Lymphocytes
    ``chemo_lymphodepletion = chemo_lymphotoxicity * sum_d e_d`` (cytotoxic drugs) depletes
    effectors, Tregs, NK cells, memory and lymphocytes (:mod:`._metastatic_io_immune`,
    :mod:`._metastatic_io_tumour`). Drugs whose mechanisms list ``lymphodepletion``
    (fludarabine, cyclophosphamide: CAR-T conditioning) also feed the K-PD effect compartment
    ``lymphodepletion`` (half-life ``lymphodepletion_half_life``) with ``k_d A_d / D_ld,d``
    (``D_ld = lymphodepletion_dose_mg``, the daily conditioning dose is one unit).
Myelosuppression (Friberg et al. 2002)
    A proliferating pool, three transit compartments and circulating neutrophils, with mean
    transit time ``neutrophil_mtt`` (``k_prol = k_tr = k_circ = 4 / MTT``), feedback
    ``(Circ0 / Circ)^gamma`` and a linear drug effect ``E = myelo_sensitivity * sum_d
    myelo_slope_d C_d`` on proliferation; ``neutrophil_baseline`` (Circ0), MTT and the
    patient's ``myelo_sensitivity`` vary between patients with Friberg's IIV. The states are
    relative to the toxicity subsystem's reference ANC (``neutropenia_reference_anc``), so
    ``neutrophils`` and its running minimum ``neutrophil_nadir`` are graded against the CTCAE
    thresholds in 1e9/L.

Adding a cytotoxic drug is a data-only change: give its catalog entry ``mechanisms`` (one or
more classes), ``standard_dose_mg`` (``lymphodepletion_dose_mg`` too for a conditioning
agent), PK ``CL`` and ``V1`` (and ``V2`` if two-compartment) and a
``[<drug>.pd.myelo_slope]`` record (L/mg: a sourced Friberg slope, or an assumption with basis
and range), in ``drugs.toml`` or a ``drugs_<group>.toml`` beside it (the chemotherapy drugs of
the standard-of-care regimens are in ``drugs_chemotherapy.toml``). The model picks it up at
build time (a new state, dose target and terms); a new class needs a
``chemo_logkill_<class>`` record in the default set. A drug whose mechanism is
``supportive care`` (mesna, leucovorin) has no state and no dose events. Private to
:mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy as sp

from oncotwin.errors import ModelError

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build
    from oncotwin.pharmacology.catalog import Drug

__all__ = [
    "ANC_REFERENCE",
    "CALVERT_NONRENAL_ML_MIN",
    "add_equations",
    "chemo_drugs",
    "clearance_l_day",
    "declare",
    "drug_key",
]

#: Reference absolute neutrophil count [1e9/L] of the neutropenia grade thresholds
#: (:data:`oncotwin.models.metastatic_io_readouts.GRADE_THRESHOLDS`): CTCAE grade 3 is
#: ANC < 1.0e9/L = 0.25 of it.
ANC_REFERENCE = 4.0

_ZERO = sp.Integer(0)


def drug_key(name: str) -> str:
    """The identifier of drug ``name`` in state and parameter names."""
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_")


def chemo_drugs() -> list[Drug]:
    """The catalog drugs with a cytotoxic class or lymphodepletion among their mechanisms,
    in catalog order (the order of their states and parameters)."""
    from oncotwin.pharmacology.catalog import MECHANISM_CLASSES, all_drugs

    return [d for d in all_drugs().values() if set(d.mechanisms) & set(MECHANISM_CLASSES)]


def _volume(drug: Drug) -> float:
    """V1 (+ V2) [L] of the catalog: the steady-state volume of a one-compartment reduction."""
    return float(sum(drug.pk[k].value for k in ("V1", "V2") if k in drug.pk))


def _elimination(drug: Drug) -> float:
    """``CL / (V1 + V2)`` [1/day] of the catalog: one compartment at the steady-state volume
    keeps AUC = dose / CL, which the linear kill and Friberg's linear drug effect integrate.
    For a drug dosed by AUC this is the typical patient's (catalog CL), which scales its
    exposure unit; its elimination is :func:`_elimination_rate`."""
    return float(drug.pk["CL"].value) / _volume(drug)


#: Fastest elimination [1/day] a drug compartment of the model gets (half-life >= ln 2 / 12 d,
#: about 1.4 h). Fluorouracil (k ~ 140/day), gemcitabine (~130/day), bendamustine, dacarbazine
#: and capecitabine are cleared within minutes; their true rate constants made the whole model
#: stiff for every patient, dosed or not (explicit steps of minutes over years of follow-up).
#: The effects are linear in exposure, so the cap changes only the within-day time course:
#: the exposure rate ``k A / D`` still integrates to dose / D, and the concentration that
#: drives myelosuppression is scaled by ``k_model / k_true`` so that its integral stays
#: AUC = dose / CL (a modelling choice; drugs dosed by AUC keep their patient's own rate).
MAX_ELIMINATION_PER_DAY = 12.0


def _model_elimination(drug: Drug) -> float:
    """The rate constant [1/day] of the drug's compartment: the catalog's, capped at
    :data:`MAX_ELIMINATION_PER_DAY` (drugs dosed by AUC are never capped)."""
    k = _elimination(drug)
    return k if drug.auc_dosing else min(k, MAX_ELIMINATION_PER_DAY)


#: 1 mL/min in L/day (1440 min/day / 1000 mL/L).
_ML_MIN_TO_L_DAY = sp.Rational(1440, 1000)
#: Calvert 1989: total carboplatin clearance = GFR + 25 mL/min (the non-renal part).
CALVERT_NONRENAL_ML_MIN = 25


def clearance_l_day(io: _Build, drug: Drug) -> sp.Expr:
    """The patient's clearance of ``drug`` [L/day]: ``1.44 (gfr_ml_min + 25)`` (Calvert 1989)
    for a drug dosed by AUC, else the catalog's constant CL."""
    if drug.auc_dosing:
        return _ML_MIN_TO_L_DAY * (io.v["gfr_ml_min"] + CALVERT_NONRENAL_ML_MIN)
    return sp.Float(float(drug.pk["CL"].value))


def _elimination_rate(io: _Build, drug: Drug) -> sp.Expr:
    """The elimination rate constant [1/day] of ``drug`` in this patient: the catalog's
    ``CL / (V1 + V2)`` (a number, as before), or for a drug dosed by AUC the patient's
    ``CL_i / (V1 + V2)`` with the Calvert clearance :func:`clearance_l_day`."""
    if drug.auc_dosing:
        return clearance_l_day(io, drug) / sp.Float(_volume(drug))
    return sp.Float(_model_elimination(drug))


def _check(drug: Drug) -> None:
    """Refuse a catalog entry that lacks what its mechanisms need, naming the fields."""
    from oncotwin.pharmacology.catalog import CYTOTOXIC_CLASSES

    need = ["pk.CL", "pk.V1", "pd.myelo_slope"]
    if set(drug.mechanisms) & set(CYTOTOXIC_CLASSES):
        need.append("standard_dose_mg")
    if "lymphodepletion" in drug.mechanisms:
        need.append("lymphodepletion_dose_mg")
    have = {
        "pk.CL": "CL" in drug.pk,
        "pk.V1": "V1" in drug.pk,
        "pd.myelo_slope": "myelo_slope" in drug.pd,
        "standard_dose_mg": bool(drug.standard_dose_mg),
        "lymphodepletion_dose_mg": bool(drug.lymphodepletion_dose_mg),
    }
    missing = [k for k in need if not have[k]]
    if missing:
        raise ModelError(
            f"drug {drug.name!r} has mechanisms {list(drug.mechanisms)} but its catalog entry "
            f"lacks {', '.join(missing)}; add them to its table in oncotwin/pharmacology/data/ "
            "(drugs.toml or drugs_<group>.toml)"
        )


def declare(io: _Build) -> None:
    """Class potencies, resistance, Friberg parameters; per-drug states, dose targets and
    parameters (catalog order); the ``lymphodepletion`` effect compartment."""
    from oncotwin.pharmacology.catalog import CYTOTOXIC_CLASSES

    b = io.b
    for name in (
        "chemo_sensitivity",
        *(f"chemo_logkill_{drug_key(c)}" for c in CYTOTOXIC_CLASSES),
        "chemo_resistance_rate",
        "chemo_lymphotoxicity",
        "lymphodepletion_half_life",
        "neutrophil_baseline",
        "neutrophil_mtt",
        "neutrophil_feedback",
        "myelo_sensitivity",
        "gfr_ml_min",
    ):
        io.p(name)
    LD = io.state("lymphodepletion", "standard dose", description="lymphodepleting exposure")
    b.add_rate(LD, -sp.log(2) / io.v["lymphodepletion_half_life"] * LD)
    for d in chemo_drugs():
        _check(d)
        key = drug_key(d.name)
        A = io.state(f"chemo_{key}", "mg", description=f"{d.name} in the body (one compartment)")
        b.dose(d.name, A, scale=1.0, description=f"{d.name} [mg]")
    for c in _classes_used():
        io.state(
            f"chemo_resistance_{drug_key(c)}",
            "1",
            description=f"acquired resistance to {c} drugs (0-1)",
        )
    _declare_effects(io)


def _classes_used() -> tuple[str, ...]:
    """The cytotoxic classes that some catalog drug carries (each has a resistance state)."""
    from oncotwin.pharmacology.catalog import CYTOTOXIC_CLASSES

    used = {c for d in chemo_drugs() for c in d.mechanisms}
    return tuple(c for c in CYTOTOXIC_CLASSES if c in used)


def _exposure_rates(io: _Build, *, unit: str = "standard_dose_mg") -> dict[str, sp.Expr]:
    """Exposure rate of each drug that has ``unit`` (``standard_dose_mg``: cytotoxic cycles;
    ``lymphodepletion_dose_mg``: conditioning doses) in those units per day,
    ``CL_d C_d / D_d = k_d A_d / D_d`` with the catalog's (typical) CL: for a drug dosed by AUC
    its integral follows the patient's achieved AUC (see the module docstring)."""
    out = {}
    for d in chemo_drugs():
        dose = getattr(d, unit)
        if dose:
            key = drug_key(d.name)
            k = _elimination(d) if d.auc_dosing else _model_elimination(d)
            out[d.name] = sp.Float(k / dose) * io.v[f"chemo_{key}"]
    return out


def _reference_anc(io: _Build) -> sp.Expr:
    """The ANC [1e9/L] that a neutrophil level of 1 stands for: the toxicity subsystem's
    ``neutropenia_reference_anc`` where declared, else :data:`ANC_REFERENCE`."""
    return io.v.get("neutropenia_reference_anc", sp.Float(ANC_REFERENCE))


def _declare_neutrophils(io: _Build) -> None:
    """Friberg 2002 states relative to the reference ANC, at the patient's baseline
    (declared with the equations, once the toxicity subsystem's reference ANC exists)."""
    base = io.v["neutrophil_baseline"] / _reference_anc(io)
    for name, what in (
        ("neutrophil_prol", "proliferating neutrophil precursors"),
        ("neutrophil_transit1", "maturing neutrophils, transit 1"),
        ("neutrophil_transit2", "maturing neutrophils, transit 2"),
        ("neutrophil_transit3", "maturing neutrophils, transit 3"),
        ("neutrophils", "circulating neutrophils"),
    ):
        io.state(name, "1", initial=base, description=f"{what} (ANC / reference ANC)")
    io.state("neutrophil_nadir", "1", initial=base, description="running minimum of neutrophils")


def _declare_effects(io: _Build) -> None:
    """Exposure rates, the tumour kill rate, lymphodepletion and the myelosuppressive effect."""
    from oncotwin.pharmacology.catalog import CYTOTOXIC_CLASSES

    v = io.v
    rate = _exposure_rates(io)
    myelo = _ZERO
    for d in chemo_drugs():
        key = drug_key(d.name)
        # concentration A / V, scaled by k_model / k_true where the rate is capped (AUC kept)
        scale = 1.0 if d.auc_dosing else _model_elimination(d) / _elimination(d)
        myelo += sp.Float(d.pd["myelo_slope"].value * scale / _volume(d)) * v[f"chemo_{key}"]
    kill = _ZERO
    for c in _classes_used():
        c_key = drug_key(c)
        # the class's exposure rate (its drugs' sum), kept for the resistance equations
        e_c = v[f"chemo_exposure_{c_key}"] = sum(
            (rate[d.name] for d in chemo_drugs() if c in d.mechanisms), _ZERO
        )
        kill += v[f"chemo_logkill_{c_key}"] * (1 - v[f"chemo_resistance_{c_key}"]) * e_c
    io.expression("chemo_kill_rate", v["chemo_sensitivity"] * kill, unit="1/day")
    cytotoxic = [d for d in chemo_drugs() if set(d.mechanisms) & set(CYTOTOXIC_CLASSES)]
    io.expression(
        "chemo_lymphodepletion",
        v["chemo_lymphotoxicity"] * sum((rate[d.name] for d in cytotoxic), _ZERO),
        unit="1/day",
    )
    assert all(d.name in rate for d in cytotoxic)
    io.expression("myelo_effect", v["myelo_sensitivity"] * myelo, unit="1")


def add_equations(io: _Build) -> None:
    """Drug elimination, lymphodepletion input, resistance and the Friberg model."""
    b, v = io.b, io.v
    for d in chemo_drugs():
        A = v[f"chemo_{drug_key(d.name)}"]
        b.add_rate(A, -_elimination_rate(io, d) * A)
    ld = _exposure_rates(io, unit="lymphodepletion_dose_mg")
    ld_input = sum((ld[d.name] for d in chemo_drugs() if "lymphodepletion" in d.mechanisms), _ZERO)
    b.add_rate(v["lymphodepletion"], ld_input)
    rho = v["chemo_resistance_rate"]
    for c in _classes_used():
        c_key = drug_key(c)
        R = v[f"chemo_resistance_{c_key}"]
        b.add_rate(R, rho * v[f"chemo_exposure_{c_key}"] * (1 - R))
    # Friberg et al. 2002: k_prol = k_tr = k_circ = 4 / MTT
    _declare_neutrophils(io)
    ktr = 4 / v["neutrophil_mtt"]
    base = v["neutrophil_baseline"] / _reference_anc(io)
    P, T1, T2, T3, N, Nnd = io(
        "neutrophil_prol",
        "neutrophil_transit1",
        "neutrophil_transit2",
        "neutrophil_transit3",
        "neutrophils",
        "neutrophil_nadir",
    )
    feedback = (base / (N + sp.Rational(1, 10**4))) ** v["neutrophil_feedback"]
    b.add_rate(P, ktr * P * (1 - v["myelo_effect"]) * feedback - ktr * P)
    b.add_rate(T1, ktr * (P - T1))
    b.add_rate(T2, ktr * (T1 - T2))
    b.add_rate(T3, ktr * (T2 - T3))
    b.add_rate(N, ktr * (T3 - N))
    b.add_rate(Nnd, -v["marker_tracking"] * sp.Max(Nnd - N, 0))
