"""T-cell engagers, LAG-3 blockade and tumour-infiltrating lymphocytes of ``metastatic_io``
(equations only; values come from the parameter set ``metastatic_io/default`` and from the drug
catalog, ``oncotwin/pharmacology/data/drugs_immunotherapy.toml``).

LAG-3 blockade (relatlimab; the ``anti-LAG-3`` antibody class)
    LAG-3 is a second co-inhibitory receptor of exhausted tumour-specific T cells, co-expressed
    with PD-1; the two brake effector function independently and their joint blockade is
    synergistic in mice (Woo et al. 2012). Its brake multiplies the PD-1 brake of every
    effector-kill and local-expansion term (``_metastatic_io_tumour``: the factor
    ``inhibit`` of each site and the braking of micrometastatic control)::

        lag3_release = (1 + w) / (1 + w (1 - RO_LAG3))

    with ``w = lag3_brake`` and ``RO_LAG3 = C / (C + EC50)`` the occupancy of the anti-LAG-3
    class (two-compartment PK of the dosed antibody, as every antibody class; tissue
    concentration = plasma x the organ's penetration). The factor is 1 without the drug: the
    LAG-3 brake at baseline is part of the kill rates the model already has (``kill_max`` is
    the capacity of effectors under their baseline co-inhibition), so adding the mechanism
    changes no untreated or anti-PD-1-treated patient; full blockade multiplies effector
    killing by ``1 + w``. Because it multiplies the effectors' kill, LAG-3 blockade does
    nothing where there are no tumour-specific effectors, and it adds to PD-1 blockade
    (the two brakes multiply). ``lag3_brake`` is the potency of the class, a calibration
    quantity (RELATIVITY-047: ORR 43.1% vs 32.6% with nivolumab alone, Tawbi 2022; no
    calibration arm holds it yet).
T-cell engagers (blinatumomab, tebentafusp, teclistamab; mechanism ``bispecific T-cell
engager``)
    An engager bridges CD3 on any T cell to its target on a tumour cell, so it redirects the
    patient's polyclonal T cells (the model's ``lymphocytes``, relative to normal) to kill
    target-positive cells whatever their T-cell receptors, without priming or antigen
    presentation. Each engager in the catalog gets a one-compartment amount state
    ``engager_<drug>`` [mg] (``CL``, ``V1`` of the catalog; a subcutaneous drug, with ``ka``
    and ``F``, also a depot ``engager_<drug>_depot`` that its doses enter times ``F``). The
    per-cell kill rate of antigen-positive tumour cells (``T`` of every site) is::

        engager_kill_rate = engager_kill * supp * sum_d x_d occ_d Ly / (Ly + x_d T_pos / h)

    ``occ_d = C_d / (C_d + EC50_d)`` (serum concentration, the catalog's ``pd.EC50``),
    ``x_d = expresses_<target of d>`` (a bispecific needs its target antigen: no kill, and no
    cytokine, without it), ``T_pos`` the antigen-positive cells of all sites, ``h =
    engager_target_half`` the target burden at which the T cells available to the engager
    halve the per-cell kill (with many targets the kill flux saturates at ``engager_kill h
    Ly`` cells per day: T cells kill serially but at a finite rate), and ``supp`` the
    suppression by MDSCs, Tregs and corticosteroids of every T-cell kill. Lymphodepletion
    lowers ``Ly`` and with it the kill. Antigen-negative cells (``U``) escape (CD19-negative
    relapse after blinatumomab). Killed cells release antigen as every killed tumour cell
    does. ``engager_kill`` (log-normal between patients: T-cell fitness, target density) and
    ``engager_target_half`` are calibration quantities.
    T-cell activation by an engager releases cytokines: the CRS cytokine of the CAR-T
    machinery (``_metastatic_io_toxicity``) gains ``crs_cytokine_release x
    engager_cytokine_release x`` the engager's kill flux [1e9 cell/day], so CRS (and the
    ICANS marker that follows the cytokine) rises with the tumour burden and falls as it
    shrinks; a step-up dose kills, and releases, less at first.
Tumour-infiltrating lymphocytes (lifileucel)
    The infused cells [1e9] enter ``til``, the product in blood, which expands
    homeostatically while the host is lymphopenic and IL-2 is given
    (``til_expansion (1 - Ly) (1 + il2_boost il2_effect)``: lymphodepletion frees IL-7/IL-15
    and raised TIL persistence and responses, Dudley 2008) and engrafts at
    ``til_engraftment``; its tumour-reactive share (``til_reactive_fraction``) joins the
    primed tumour-specific effectors (``effector_blood``), which then traffic, kill, are
    braked by PD-1 and exhaustion, and leave memory as the patient's own effectors do.

Private to :mod:`oncotwin.models.metastatic_io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from oncotwin.errors import ModelError
from oncotwin.models._metastatic_io_chemo import drug_key
from oncotwin.models._metastatic_io_treatments import occ

if TYPE_CHECKING:
    from oncotwin.models.metastatic_io import _Build
    from oncotwin.pharmacology.catalog import Drug

__all__ = ["ENGAGER", "TIL", "declare", "engager_drugs", "lag3_release"]

#: The catalog mechanism of the T-cell engagers.
ENGAGER = "bispecific T-cell engager"
#: The catalog mechanism (and dose target) of tumour-infiltrating lymphocytes.
TIL = "tumour-infiltrating lymphocytes"

_ZERO = sp.Integer(0)


def engager_drugs() -> list[Drug]:
    """The catalog's T-cell engagers, in catalog order (the order of their states)."""
    from oncotwin.pharmacology.catalog import all_drugs

    return [d for d in all_drugs().values() if d.mechanism == ENGAGER]


def _check(drug: Drug) -> None:
    """Refuse an engager whose catalog entry lacks what its mechanism needs, naming it."""
    from oncotwin.models.metastatic_io import TARGET_ANTIGENS

    need = [f"pk.{k}" for k in ("CL", "V1") if k not in drug.pk]
    if "EC50" not in drug.pd:
        need.append("pd.EC50")
    if ("ka" in drug.pk) != ("F" in drug.pk):
        need.append("pk.ka and pk.F together (subcutaneous absorption)")
    if need:
        raise ModelError(
            f"T-cell engager {drug.name!r} lacks {', '.join(need)} in the drug catalog; add "
            "them to oncotwin/pharmacology/data/drugs_immunotherapy.toml"
        )
    if drug.target not in TARGET_ANTIGENS:
        raise ModelError(
            f"T-cell engager {drug.name!r} targets {drug.target!r}, which is not one of the "
            f"model's target antigens {sorted(TARGET_ANTIGENS)}; add it to TARGET_ANTIGENS "
            "in oncotwin/models/metastatic_io.py (with an expresses_<antigen> parameter)"
        )


def lag3_release(io: _Build, penetration: sp.Expr | float = 1) -> sp.Expr:
    """The factor by which LAG-3 blockade raises effector killing at a tissue concentration
    ``penetration`` x plasma: ``(1 + w) / (1 + w (1 - RO_LAG3))``, 1 without the drug."""
    w = io.v["lag3_brake"]
    ro = occ(io.pk["aLAG3"] * penetration, io.pk["aLAG3_kd"])
    return (1 + w) / (1 + w * (1 - ro))


def declare(io: _Build) -> None:
    """Parameters, states, dose targets and equations of LAG-3 blockade, the T-cell engagers
    and TIL (after the sites are declared, before their equations: the engager kill rate
    and the LAG-3 factor enter the site equations)."""
    for name in (
        "lag3_brake",
        "engager_kill",
        "engager_target_half",
        "engager_cytokine_release",
        "til_reactive_fraction",
        "til_engraftment",
        "til_expansion",
    ):
        io.p(name)
    _engagers(io)
    _til(io)


def _engagers(io: _Build) -> None:
    """Engager PK, the per-cell kill rate ``engager_kill_rate`` and the cytokine release."""
    from oncotwin.models.metastatic_io import SITES

    b, v = io.b, io.v
    k_max, half, release = io("engager_kill", "engager_target_half", "engager_cytokine_release")
    Ly, supp = io("lymphocytes", "supp")
    t_pos = sum((v[f"T_{s}"] for s in SITES), _ZERO)
    rate = _ZERO
    for d in engager_drugs():
        _check(d)
        key = drug_key(d.name)
        A = io.state(f"engager_{key}", "mg", description=f"{d.name} in the body")
        vol = float(d.pk["V1"].value)
        b.add_rate(A, -sp.Float(float(d.pk["CL"].value) / vol) * A)
        if "ka" in d.pk:
            depot = io.state(
                f"engager_{key}_depot", "mg", description=f"{d.name} at the injection site"
            )
            ka = sp.Float(float(d.pk["ka"].value))
            b.add_rate(depot, -ka * depot)
            b.add_rate(A, ka * depot)
            b.dose(
                d.name,
                depot,
                scale=float(d.pk["F"].value),
                description=f"{d.name} [mg] x bioavailability into the depot",
            )
        else:
            b.dose(d.name, A, description=f"{d.name} [mg] into the body")
        x = v[f"expresses_{d.target}"]
        ro = io.expression(
            f"engager_{key}_occupancy",
            occ(A / sp.Float(vol), sp.Float(float(d.pd["EC50"].value))),
            unit="1",
        )
        rate += x * ro * Ly / (Ly + x * t_pos / half + sp.Rational(1, 10**9))
    kill = io.expression("engager_kill_rate", k_max * supp * rate, unit="1/day")
    # T-cell activation by the engagers releases the CRS cytokine of the CAR-T machinery
    b.add_rate(v["cytokine"], v["crs_cytokine_release"] * release * kill * t_pos)


def _til(io: _Build) -> None:
    """The infused TIL product, its lymphopenia- and IL-2-driven expansion, and its
    tumour-reactive share joining the blood effectors."""
    b = io.b
    cells = io.state("til", "1e9 cell", description="infused tumour-infiltrating lymphocytes")
    b.dose(TIL, cells, scale=1e-9, description="TIL cells -> 1e9 cells")
    grow, engraft, reactive = io("til_expansion", "til_engraftment", "til_reactive_fraction")
    Ly, il2_max, il2_e, Pe = io("lymphocytes", "il2_boost", "il2_effect", "effector_blood")
    b.add_rate(cells, grow * (1 - Ly) * (1 + il2_max * il2_e) * cells - engraft * cells)
    b.add_rate(Pe, reactive * engraft * cells)
