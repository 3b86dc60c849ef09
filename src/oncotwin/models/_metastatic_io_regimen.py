"""Regimen logic of ``metastatic_io`` that dose targets alone cannot express.

Private to :mod:`oncotwin.models.metastatic_io` (which exports :class:`IORegimenAdapter`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["IORegimenAdapter"]

#: Concentration [mg/L] at which a Michaelis-Menten elimination (cetuximab, durvalumab) is
#: linearised (an assumption: concentrations under the approved regimens are of this order).
_MM_LINEARISATION_MG_L = 100.0


def _set_antibody_pk(params: Any, col: Any, prefix: str, drug: str) -> None:
    """Each patient's PK of antibody ``drug`` in the columns of its class ``prefix``.

    ``CL``, ``V1``, ``Q``, ``V2`` are the drug's typical values times its covariate effects
    (from the ``pk_*`` covariate columns) times ``exp(omega eta)`` (``pk_eta_CL``,
    ``pk_eta_V1``), and the time-varying clearance's ``CL_Emax`` (+ SD x ``pk_eta_Emax``),
    ``CL_T50``, ``CL_hill`` (:func:`oncotwin.pharmacology.poppk.individual_pk`). A
    Michaelis-Menten elimination is linearised at 100 mg/L and added to CL.
    """
    from oncotwin.pharmacology.poppk import PatientCovariates, antibody_pk, individual_pk

    pk = antibody_pk(drug)
    cov = PatientCovariates(
        params[:, col("pk_weight")],
        params[:, col("pk_albumin")],
        params[:, col("pk_tumour")],
        params[:, col("pk_female")],
        params[:, col("pk_ecog")],
    )
    ind = individual_pk(
        pk,
        cov,
        params[:, col("pk_eta_CL")],
        params[:, col("pk_eta_V1")],
        params[:, col("pk_eta_Emax")],
    )
    cl = ind.get("CL", 0.0)
    if "Vmax" in ind and "Km" in ind:
        cl = cl + ind["Vmax"] / (ind["Km"] + _MM_LINEARISATION_MG_L)
    params[:, col(f"{prefix}_CL")] = cl
    for key in ("V1", "Q", "V2", "CL_Emax"):
        params[:, col(f"{prefix}_{key}")] = ind[key]
    params[:, col(f"{prefix}_CL_T50")] = pk.t50
    params[:, col(f"{prefix}_CL_hill")] = pk.hill


class IORegimenAdapter:
    """Regimen logic of ``metastatic_io`` that dose targets alone cannot express.

    * Antibodies of one class share a two-compartment PK whose constants are set per patient
      from the population-PK model of the drug actually dosed (catalog typical values,
      covariate effects, omega x the patient's draws, time-varying clearance; scaled by the
      patient's ``antibody_cl_factor``); cetuximab's Michaelis-Menten elimination is
      linearised at 100 mg/L (an assumption: its concentrations under weekly dosing are of
      that order).
    * An anti-tumour-antigen antibody or a CAR-T acts only if the tumour expresses its
      target: ``mab_target_match`` / ``cart_target_match`` are set from
      ``expresses_<target>``.
    * Radiotherapy fractions multiply the viable cells of the named site by the linear-
      quadratic surviving fraction ``exp(-alpha d - beta d^2)`` (Fowler 1989) and release
      antigen in proportion to the cells killed (estimated from the site's baseline burden).
    """

    handles = frozenset({"radiotherapy"})

    def prepare(self, model: Model, regimen: Any, params: Any, horizon: float) -> tuple[Any, Any]:
        import numpy as np

        from oncotwin.errors import RegimenError
        from oncotwin.models.metastatic_io import ANTIBODY_CLASSES, SITES, TARGET_ANTIGENS
        from oncotwin.pharmacology import get_drug
        from oncotwin.solvers import BOLUS, MULTIPLY, EventTable

        params = np.array(params, dtype=np.float64, copy=True)
        col = model.parameter_index
        seen: dict[str, str] = {}
        for name in regimen.drugs:
            d = get_drug(name)
            prefix = ANTIBODY_CLASSES.get(d.mechanism)
            if prefix is not None:
                if prefix in seen and seen[prefix] != d.name:
                    raise RegimenError(
                        f"regimen gives two {d.mechanism} antibodies ({seen[prefix]} and "
                        f"{d.name}); metastatic_io has one {d.mechanism} compartment: give one"
                    )
                seen[prefix] = d.name
                _set_antibody_pk(params, col, prefix, d.name)
            elif d.name == "aldesleukin":
                params[:, col("IL2_CL")] = d.pk["CL"].value
                params[:, col("IL2_V")] = d.pk["V1"].value
            elif d.name == "interferon alfa-2b":
                params[:, col("IFN_CL")] = d.pk["CL"].value
                params[:, col("IFN_V")] = d.pk["V1"].value
            target = next((a for a in TARGET_ANTIGENS if a == d.target), None)
            if d.mechanism == "anti-tumor-antigen mAb":
                match = params[:, col(f"expresses_{target}")] if target else 0.0
                params[:, col("mab_target_match")] = match
                params[:, col("mab_anti_cd38")] = 1.0 if d.target == "CD38" else 0.0
            elif d.mechanism == "CAR-T":
                match = params[:, col(f"expresses_{target}")] if target else 0.0
                params[:, col("cart_target_match")] = match
            elif d.mechanism == "antibody-drug conjugate":
                match = params[:, col(f"expresses_{target}")] if target else 0.0
                params[:, col("adc_target_match")] = match

        sched = regimen.schedule(horizon)
        rt = [j for j in range(len(sched)) if str(sched.drug[j]) == "radiotherapy"]
        if not rt:
            return params, None
        alpha = params[:, col("rt_alpha")]
        beta = params[:, col("rt_beta")]
        release = params[:, col("rt_antigen")] * params[:, col("immunogenicity")]
        times, states, kinds, cols = [], [], [], []
        for j in rt:
            site = str(sched.site[j])
            if site not in SITES:
                raise RegimenError(f"radiotherapy site {site!r} is not one of {SITES}")
            dose = float(sched.amount[j])
            sf = np.exp(-alpha * dose - beta * dose**2)
            t = float(sched.time[j])
            for prefix in ("T", "U"):
                times.append(t)
                states.append(model.state_index(f"{prefix}_{site}"))
                kinds.append(MULTIPLY)
                cols.append(sf)
            times.append(t)
            states.append(model.state_index("antigen"))
            kinds.append(BOLUS)
            cols.append(release * (1 - sf) * params[:, col(f"burden_{site}")])
            times.append(t)
            states.append(model.state_index("rt_danger"))
            kinds.append(BOLUS)
            cols.append(1 - sf)
        return params, EventTable.build(
            np.array(times), np.array(states), np.array(kinds), np.column_stack(cols)
        )
