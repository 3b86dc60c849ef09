"""Comparator drugs of calibration arms that act through neither an immune checkpoint nor
cytotoxicity: the mTOR inhibitor everolimus (CheckMate 025's control arm) and GM-CSF
(sargramostim, OPTiM's control arm). Equations only; values come from the parameter set
``metastatic_io/default`` and the drug catalog (``drugs_comparators.toml``).

Both are K-PD exposures (Jacqmin et al. 2007): a state in standard doses (the catalog's
``standard_dose_mg``: one approved dose for a 1.8 m^2 adult) that each dose raises by its
amount over the standard dose and that decays with an effect half-life, with a
half-saturating effect ``X / (X + 1/2)``; plasma PK is not needed for these effects.

mTOR inhibitor
    Cytostatic: the Gompertz growth of every tumour site and micrometastasis is slowed by
    ``mtor_growth_inhibition x X / (X + 1/2)`` (rapamycin analogues arrest cells in G1; in
    renal cancer everolimus delays progression (RECORD-1: median PFS 4.9 vs 1.9 months on
    placebo) while objective responses are rare (~2-5%), the signature of growth inhibition
    rather than cell kill). Its immunosuppressive action on T-cell proliferation is not
    modelled (assumption: at the oncology dose its net effect on tumour immunity is
    uncertain).
GM-CSF
    Expands and matures dendritic cells: the co-stimulation of priming is multiplied by
    ``1 + gmcsf_priming x X / (X + 1/2)`` (the same place where T-VEC's encoded GM-CSF acts,
    ``virus_priming``).

Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build

__all__ = ["KPD_DRUGS", "declare"]

_HALF = sp.Rational(1, 2)

#: K-PD exposure -> (its mechanism in the catalog, the drug that doses it).
KPD_DRUGS: dict[str, tuple[str, str]] = {
    "mtor": ("mTOR inhibitor", "everolimus"),
    "gmcsf": ("cytokine", "sargramostim"),
}


def declare(io: _Build) -> None:
    """K-PD states, their dose targets and effects (``growth_brake``, ``gmcsf_effect``)."""
    from oncotwin.pharmacology import get_drug

    b = io.b
    effects = {}
    for name, (_, drug) in KPD_DRUGS.items():
        d = get_drug(drug)
        X = io.state(name, "standard dose", description=f"{drug} exposure (K-PD)")
        hl = io.p(f"{name}_half_life")
        b.add_rate(X, -sp.log(2) / hl * X)
        b.dose(
            d.name,
            X,
            scale=1.0 / float(d.standard_dose_mg or 1.0),
            description=f"{d.name} [mg] / standard dose",
        )
        effects[name] = X / (X + _HALF)
    inhibition = io.p("mtor_growth_inhibition")
    priming = io.p("gmcsf_priming")
    io.expression("growth_brake", inhibition * effects["mtor"], unit="1")
    io.expression("gmcsf_effect", priming * effects["gmcsf"], unit="1")
