"""Targeted and anti-angiogenic therapies of ``metastatic_io``: anti-VEGF antibodies,
BRAF/MEK and EGFR inhibitors with acquired resistance, and antibody-drug conjugates
(equations only; values come from the parameter set ``metastatic_io/default`` and the drug
catalog, ``pharmacology/data/drugs_targeted.toml``).

Anti-VEGF antibodies (bevacizumab, ramucirumab; mechanism ``anti-VEGF mAb``)
    An antibody class with two-compartment PK set per patient from the dosed drug's
    population PK (class ``aVEGF`` of :data:`~oncotwin.models.metastatic_io.ANTIBODY_CLASSES`,
    like the checkpoint antibodies). Its occupancy ``a = C / (C + aVEGF_EC50)`` (blood
    concentration: VEGF-A is soluble and VEGFR2 sits on the endothelium) acts on the
    vasculature twice:

    * **anti-angiogenic**: the VEGF-driven stimulation of each site's Hahnfeldt carrying
      capacity, ``dK/dt = b V angio_drive - d K V^(2/3) - ...``, is lowered:
      ``angio_drive = 1 - avegf_stimulation_block x a x (1 - e_TKI)`` (Hahnfeldt 1999's
      stimulator is what the antibody neutralises; VEGF is one of several angiogenic
      stimulators, so even full occupancy leaves part of ``b``);
    * **vessel normalisation** (Jain 2005; Huang 2012: normalising doses reprogram the immune
      microenvironment; the rationale of atezolizumab + bevacizumab in IMbrave150): effector
      recruitment into every site is multiplied by ``1 + vessel_normalisation x B`` and the
      MDSC suppression of killing by ``1 - B/2`` (the latter already carried by the VEGFR TKI
      in :mod:`._metastatic_io_treatments`), where ``B`` is the VEGF-axis blockade below.
      Both are kept modest and are flagged assumptions (calibration quantities); the
      normalisation window (excess pruning turning vessels hypoxic again) is not modelled.

    How the anti-VEGF antibody and a VEGFR TKI combine (no double counting): both block one
    pathway, so the pathway blockade is ``B = 1 - (1 - e_TKI)(1 - a)`` (``vegf_blockade``,
    declared with the TKI effect), which cannot exceed 1 whatever is combined; the immune
    effects follow ``B``, so they are those of the TKI alone when no antibody is given. On the
    capacity the TKI keeps its own pruning term (``tki_effect``, Hahnfeldt's inhibitor term),
    and the antibody's lowering of the stimulation is scaled by ``1 - e_TKI``: a ligand
    removed from a receptor that the TKI already blocks changes nothing more.
BRAF/MEK inhibitors (dabrafenib, trametinib) and EGFR TKIs (osimertinib)
    K-PD exposures in standard doses (Jacqmin 2007; one standard dose = the approved daily
    dose, :data:`~oncotwin.models.metastatic_io.DRUG_STANDARD_DOSE`), one per class, fed by
    every catalog drug of the class; the drugs of a class add their exposures
    (dose-equivalent additivity, so dabrafenib + trametinib is twice either alone). The
    effect ``e = X / (X + EC50)`` kills tumour cells of the tumours that carry the target
    mutation only, at the per-cell rate
    ``kill_max x e x (1 - R) x expresses_<target>`` (``expresses_BRAFV600``,
    ``expresses_EGFRm``: 0 or 1 per patient from the covariates; 0 gives no effect at all).
    The mutation is truncal, so the kill acts on antigen-positive and antigen-negative cells
    of every site and on micrometastases. Acquired resistance ``R`` (0-1) grows with the
    time on drug, ``dR/dt = resistance_rate x on (1 - R)``, ``on = X / (X + 0.05)`` (a switch
    that is ~1 at any approved dose and falls to 0 within a few effect half-lives of
    stopping), so the effect decays as ``exp(-rate x time on treatment)``, Claret 2009's
    decaying drug effect: a patient off the drug acquires none. Resistance is driven by the
    time on drug and not by the size of the effect (as the VEGFR TKI's is) because a stronger
    MAPK blockade does not select resistance faster: COMBI-d's dabrafenib + trametinib both
    responds more (ORR 67% vs 51%) and progresses later (median PFS 11.0 vs 8.8 months) than
    dabrafenib alone, which an effect-driven resistance would invert. Deep early responses
    (COMBI-d ORR ~67-69%, FLAURA ~80%) are followed by progression after months (median PFS
    ~11 and ~19 months).
Antibody-drug conjugates (trastuzumab emtansine; mechanism ``antibody-drug conjugate``)
    An antibody class ``ADC`` with the conjugate's two-compartment PK; the payload kills the
    antigen-positive cells of a tumour that expresses the conjugate's target, at the per-cell
    rate ``adc_kill x occ(C pen_site, ADC_EC50) x adc_target_match`` (``adc_target_match``
    set by the regimen adapter from ``expresses_<target>``; tissue concentration scaled by the
    organ's antibody penetration). Antigen-negative cells are spared (DM1 has no bystander
    effect); the conjugate's own trastuzumab-like signalling blockade and ADCC are not added.

Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from oncotwin.errors import ModelError
from oncotwin.models._metastatic_io_treatments import occ

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["TARGETED_CLASSES", "declare"]

_ZERO = sp.Integer(0)
#: Exposure [standard doses] at which the on-drug switch of acquired resistance is half on: a
#: twentieth of a standard dose, far below the exposure of any approved dose (~1-3 units) and
#: reached a few effect half-lives after the last dose (a numerical switch, not a potency).
_ON_DRUG = sp.Rational(1, 20)

#: K-PD exposure of each targeted class -> (mechanism in the catalog, target mutation: the
#: ``expresses_<target>`` switch of :data:`~oncotwin.models.metastatic_io.TARGET_ANTIGENS`).
TARGETED_CLASSES: dict[str, tuple[str, str]] = {
    "brafmek": ("BRAF/MEK inhibitor", "BRAFV600"),
    "egfr_tki": ("EGFR TKI", "EGFRm"),
}


def _class_drugs(mechanism: str) -> list[str]:
    """The catalog drugs of ``mechanism``, each with a standard dose (refused otherwise)."""
    from oncotwin.models.metastatic_io import DRUG_STANDARD_DOSE
    from oncotwin.pharmacology import drugs_by_mechanism

    names = [d.name for d in drugs_by_mechanism(mechanism)]
    missing = [n for n in names if n not in DRUG_STANDARD_DOSE]
    if missing:
        raise ModelError(
            f"drugs {missing} of mechanism {mechanism!r} have no standard dose: add them to "
            "DRUG_STANDARD_DOSE in oncotwin/models/metastatic_io.py (the approved daily dose, "
            "one unit of the class's K-PD exposure)"
        )
    return names


def _declare_class(io: _Build, key: str, mechanism: str, target: str) -> sp.Expr:
    """A targeted class's K-PD exposure, dose targets and acquired resistance; returns its
    per-cell kill rate [1/day] (zero where the tumour lacks ``target``)."""
    from oncotwin.models.metastatic_io import DRUG_STANDARD_DOSE

    b = io.b
    X = io.state(key, "standard dose", description=f"{mechanism} exposure (K-PD)")
    half_life = io.p(f"{key}_half_life")
    b.add_rate(X, -sp.log(2) / half_life * X)
    for drug in _class_drugs(mechanism):
        b.dose(
            drug,
            X,
            scale=1.0 / DRUG_STANDARD_DOSE[drug],
            description=f"{drug} [mg] / standard dose",
        )
    ec50, kill, rate = (io.p(f"{key}_{k}") for k in ("EC50", "kill", "resistance_rate"))
    R = io.state(f"{key}_resistance", "1", description=f"acquired {mechanism} resistance (0-1)")
    effect = X / (X + ec50)
    # resistance per day on drug (Claret 2009's decaying effect); the on-drug switch is ~1 at
    # any approved dose (exposure >= ~0.5 standard dose) and 0 after a washout
    on_drug = X / (X + _ON_DRUG)
    b.add_rate(R, rate * on_drug * (1 - R))
    net = io.expression(f"{key}_effect_net", effect * (1 - R), unit="1")
    return kill * net * io.v[f"expresses_{target}"]


def declare(io: _Build) -> None:
    """Parameters, states, dose targets and effects of the targeted classes; the anti-VEGF
    antibody's capacity and normalisation factors; each site's ADC payload kill.

    Called after the treatment effects (``tki_effect_net``, ``vegf_blockade``,
    ``avegf_occupancy``) and before the tumour sites, whose equations use
    ``targeted_kill_rate``, ``adc_kill_<site>``, ``angio_drive`` and
    ``vessel_normalisation_factor``.
    """
    from oncotwin.models.metastatic_io import _PENETRATION, SITES

    v, pk = io.v, io.pk
    stim_block, normalisation, adc_kill, adc_match = (
        io.p(name)
        for name in (
            "avegf_stimulation_block",
            "vessel_normalisation",
            "adc_kill",
            "adc_target_match",
        )
    )
    kill = _ZERO
    for key, (mechanism, target) in TARGETED_CLASSES.items():
        kill += _declare_class(io, key, mechanism, target)
    io.expression("targeted_kill_rate", kill, unit="1/day")
    # the antibody's lowering of the VEGF stimulation, where a TKI does not already block it
    io.expression(
        "angio_drive",
        1 - stim_block * v["avegf_occupancy"] * (1 - v["tki_effect_net"]),
        unit="1",
    )
    io.expression("vessel_normalisation_factor", 1 + normalisation * v["vegf_blockade"], unit="1")
    for s in SITES:
        v[f"adc_kill_{s}"] = adc_kill * occ(pk["ADC"] * _PENETRATION[s], pk["ADC_kd"]) * adc_match
