"""Myeloma and lymphoma drugs of ``metastatic_io``: immunomodulatory drugs, proteasome
inhibitors and glucocorticoids (equations only; values come from the parameter set
``metastatic_io/default`` and from the drug catalog, ``pharmacology/data/drugs_haematology.toml``).

Exposures (K-PD, Jacqmin 2007)
    Each class has one effect compartment that its drugs' doses enter and that decays with the
    class's effect half-life: ``imid`` (lenalidomide, pomalidomide: every catalog drug of
    mechanism "immunomodulatory drug") and ``proteasome`` (bortezomib, carfilzomib:
    "proteasome inhibitor") in standard doses (a dose of the catalog's ``standard_dose_mg`` is
    one unit, so the class potency is per standard dose and drugs of a class are equipotent per
    standard dose, an assumption); ``glucocorticoid`` (dexamethasone, prednisone:
    "corticosteroid") in prednisone-equivalent mg (the catalog's
    ``pd.prednisone_equivalence``: dexamethasone 40 mg = 267 mg of prednisone). The dose
    targets are the drug names, which :meth:`~oncotwin.models.base.Model.dose_target` looks up
    before the mechanism, so the ``corticosteroid`` target of the toxicity-management steroid
    course (one course = 1 unit of ``steroid``) is unchanged. Each class's effect is
    ``X / (X + EC50)`` (IMiD and PI: EC50 half a standard dose, as the TKI exposure;
    glucocorticoid: ``glucocorticoid_EC50``).
Tumour kill (lymphoid and plasma-cell disease only)
    ``haem_kill_rate = imid_sensitivity imid_kill (1 - R_imid) e_imid + proteasome_sensitivity
    proteasome_kill (1 - R_pi) e_pi + glucocorticoid_sensitivity glucocorticoid_kill e_gc`` per
    cell and day, on antigen-positive and antigen-negative cells and on micrometastases (the
    drugs do not need a surface antigen); classes add (Bliss independence). The sensitivities
    are 0 in the default set (solid tumours: no effect) and set by the haematologic cancer
    sets (myeloma, lymphoma) with between-patient variability; the maximal kill rates are
    calibration quantities (no calibration arm holds these drugs yet).
Acquired resistance (IMiDs, proteasome inhibitors)
    ``dR_c/dt = haem_resistance_rate e_c (1 - R_c)``: while a class acts its effect decays
    exponentially with the time on drug (Claret 2009's decaying drug effect, as the cytotoxic
    classes of :mod:`._metastatic_io_chemo`, but per effect-day because these drugs are given
    daily or twice weekly, not once a cycle); shared by the drugs of a class (lenalidomide-
    refractory disease responds less to pomalidomide) and not across classes; a patient off
    the class acquires none. Without it a slow myeloma that responds never progresses on
    treatment, while relapsed myeloma on an IMiD or PI relapses within months to a year.
Immune effects
    IMiDs degrade IKZF1/3 in T and NK cells too: they raise NK killing and antibody-dependent
    cytotoxicity by the factor ``nk_activation = 1 + imid_nk_boost e_imid`` (in the site
    equations of :mod:`._metastatic_io_tumour`) and relieve a fraction ``imid_costimulation
    e_imid`` of the suppression of CD8+ killing (``supp`` moves towards 1). Glucocorticoids
    suppress lymphocytes through the existing ``steroid`` state: the glucocorticoid exposure
    that is eliminated enters ``steroid`` in courses (``steroid_course_prednisone`` mg of
    prednisone = one course), so a weekly dexamethasone pulse suppresses priming and killing
    as a fraction of an irAE steroid course does.

Daratumumab (anti-CD38) kills through the anti-tumour-antigen antibody class, whose target
match is ``expresses_CD38``; its SC product's dose target (by name) puts the bioavailable
fraction (catalog ``pk.F``) into the antibody's central compartment. Flagged, optional
mechanism: an anti-CD38 antibody also depletes CD38-high regulatory T cells (Krejcik et al.
2016): with ``mab_anti_cd38`` = 1 (set by the regimen adapter when the dosed antibody targets
CD38) Tregs are removed at ``treg_turnover f / (1 - f)`` times the blood occupancy, so that at
full occupancy a fraction ``f = cd38_treg_depletion`` of them is gone at steady state.
Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["declare", "haem_drugs"]

_HALF = sp.Rational(1, 2)
_ZERO = sp.Integer(0)

#: K-PD class compartments: (state, mechanism in the catalog, what).
_CLASSES = (
    ("imid", "immunomodulatory drug", "immunomodulatory drug (IMiD)"),
    ("proteasome", "proteasome inhibitor", "proteasome inhibitor"),
)
#: Mechanism of the drugs dosed in prednisone-equivalent mg.
_GLUCOCORTICOID = "corticosteroid"

#: Antibodies given SC whose dose target (by name) scales the dose by their bioavailability.
_SC_ANTIBODIES = ("daratumumab and hyaluronidase",)


def haem_drugs(mechanism: str) -> list[str]:
    """The catalog drugs of ``mechanism`` (catalog order)."""
    from oncotwin.pharmacology.catalog import drugs_by_mechanism

    return [d.name for d in drugs_by_mechanism(mechanism)]


def _prednisone_equivalence(name: str) -> float:
    """mg of prednisone per mg of corticosteroid ``name`` (``pd.prednisone_equivalence``)."""
    from oncotwin.errors import ModelError
    from oncotwin.pharmacology import get_drug

    d = get_drug(name)
    if "prednisone_equivalence" not in d.pd:
        raise ModelError(
            f"corticosteroid {name!r} has no [{name}.pd.prednisone_equivalence] record in the "
            "drug catalog; add its anti-inflammatory potency relative to prednisone (mg/mg)"
        )
    return float(d.pd["prednisone_equivalence"].value)


def _declare_exposures(io: _Build) -> None:
    """Class K-PD states with their dose targets (by drug name) and elimination."""
    from oncotwin.errors import ModelError
    from oncotwin.models._metastatic_io_treatments import _kpd
    from oncotwin.models.metastatic_io import DRUG_STANDARD_DOSE

    for state, mechanism, what in _CLASSES:
        drugs = tuple(haem_drugs(mechanism))
        missing = [d for d in drugs if d not in DRUG_STANDARD_DOSE]
        if missing:
            raise ModelError(
                f"drug(s) {missing} of mechanism {mechanism!r} have no standard_dose_mg in the "
                "drug catalog; add the approved single dose for a 1.8 m^2 adult"
            )
        _kpd(io, state, drugs, what)
    b = io.b
    G = io.state(
        "glucocorticoid",
        "mg",
        description="glucocorticoid exposure in prednisone-equivalent mg (K-PD)",
    )
    for name in haem_drugs(_GLUCOCORTICOID):
        b.dose(
            name,
            G,
            scale=_prednisone_equivalence(name),
            description=f"{name} [mg] -> prednisone-equivalent mg",
        )
    b.add_rate(G, -sp.log(2) / io.p("glucocorticoid_half_life") * G)


def _declare_sc_antibodies(io: _Build) -> None:
    """SC antibody products: the dose times the catalog's bioavailability F enters the central
    compartment of the antibody class (absorption, Tmax ~3 days, is not carried)."""
    from oncotwin.models.metastatic_io import ANTIBODY_CLASSES
    from oncotwin.pharmacology import get_drug

    for name in _SC_ANTIBODIES:
        d = get_drug(name)
        prefix = ANTIBODY_CLASSES[d.mechanism]
        f = float(d.pk["F"].value)
        io.b.dose(name, f"{prefix}_c", scale=f, description=f"{name} [mg] x F = {f} (SC)")


def declare(io: _Build) -> None:
    """Parameters, exposure states, dose targets, effects and equations of the myeloma and
    lymphoma drugs. Called once the treatments' effects (``supp``, ``steroid``) exist and
    before the site equations, which read ``haem_kill_rate`` and ``nk_activation``."""
    for name in (
        "imid_sensitivity",
        "imid_kill",
        "imid_nk_boost",
        "imid_costimulation",
        "proteasome_sensitivity",
        "proteasome_kill",
        "glucocorticoid_sensitivity",
        "glucocorticoid_kill",
        "glucocorticoid_EC50",
        "steroid_course_prednisone",
        "haem_resistance_rate",
        "mab_anti_cd38",
        "cd38_treg_depletion",
    ):
        io.p(name)
    _declare_exposures(io)
    for state, _, what in _CLASSES:
        io.state(f"{state}_resistance", "1", description=f"acquired {what} resistance (0-1)")
    _declare_sc_antibodies(io)
    v = io.v
    e_imid = io.expression("imid_effect", v["imid"] / (v["imid"] + _HALF), unit="1")
    e_pi = io.expression("proteasome_effect", v["proteasome"] / (v["proteasome"] + _HALF), unit="1")
    G = v["glucocorticoid"]
    e_gc = io.expression("glucocorticoid_effect", G / (G + v["glucocorticoid_EC50"]), unit="1")
    r_imid, r_pi = v["imid_resistance"], v["proteasome_resistance"]
    rho = v["haem_resistance_rate"]
    io.b.add_rate(r_imid, rho * e_imid * (1 - r_imid))
    io.b.add_rate(r_pi, rho * e_pi * (1 - r_pi))
    io.expression(
        "haem_kill_rate",
        v["imid_sensitivity"] * v["imid_kill"] * (1 - r_imid) * e_imid
        + v["proteasome_sensitivity"] * v["proteasome_kill"] * (1 - r_pi) * e_pi
        + v["glucocorticoid_sensitivity"] * v["glucocorticoid_kill"] * e_gc,
        unit="1/day",
    )
    io.expression("nk_activation", 1 + v["imid_nk_boost"] * e_imid, unit="1")
    # IMiD costimulation relieves part of the suppression of CD8+ killing (supp <= 1 -> 1)
    relief = v["imid_costimulation"] * e_imid
    v["supp"] = v["supp"] + (1 - v["supp"]) * relief
    # anti-CD38 antibodies deplete CD38-high Tregs (flagged, optional mechanism)
    f_dep = v["cd38_treg_depletion"]
    occ_blood = io.pk["mAb"] / (io.pk["mAb"] + io.pk["mAb_kd"])
    dep = v["treg_turnover"] * f_dep / (1 - f_dep) * v["mab_anti_cd38"] * occ_blood
    io.b.add_rate(v["treg"], -dep * v["treg"])
    # glucocorticoid eliminated from the exposure enters the steroid state in courses
    k_gc = sp.log(2) / v["glucocorticoid_half_life"]
    io.b.add_rate(v["steroid"], k_gc * G / v["steroid_course_prednisone"])
