"""Regimen logic of ``metastatic_io`` that dose targets alone cannot express.

Private to :mod:`oncotwin.models.metastatic_io` (which exports :class:`IORegimenAdapter`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncotwin.models.base import Model

__all__ = ["IORegimenAdapter"]


class IORegimenAdapter:
    """Regimen logic of ``metastatic_io`` that dose targets alone cannot express.

    * Antibodies of one class share a two-compartment PK whose constants are set from the
      catalog entry of the drug actually dosed (scaled by the patient's clearance factor);
      cetuximab's Michaelis-Menten elimination is linearised at 100 mg/L (an assumption: its
      concentrations under weekly dosing are of that order).
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
                pk = {k: v.value for k, v in d.pk.items()}
                cl = pk.get("CL", 0.0)
                if "Vmax" in pk and "Km" in pk:
                    cl += pk["Vmax"] / (pk["Km"] + 100.0)
                for key, value in (("CL", cl), ("V1", pk.get("V1")), ("Q", pk.get("Q"))):
                    if value is not None:
                        params[:, col(f"{prefix}_{key}")] = value
                if "V2" in pk:
                    params[:, col(f"{prefix}_V2")] = pk["V2"]
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
            elif d.mechanism == "CAR-T":
                match = params[:, col(f"expresses_{target}")] if target else 0.0
                params[:, col("cart_target_match")] = match

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
