"""A pharmacokinetic model for any catalog drug with PK: :func:`pk_model`.

One- or two-compartment disposition (two when the drug's record has ``Q`` and ``V2``),
optional Michaelis-Menten target-mediated elimination (``Vmax``, ``Km``), and a depot with
first-order absorption ``ka`` and bioavailability ``F`` for oral drugs, and the time-varying
clearance of the antibodies whose popPK paper has one (``CL_Emax``, ``CL_T50``, ``CL_hill``;
a ``clock`` state counts the days since the first dose). A cumulative
``eliminated`` state closes the mass balance: ``depot + central + peripheral + eliminated``
equals the total amount dosed (times ``F`` for oral doses).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from oncotwin.errors import ModelError
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components.pk import dose_clock_rate, time_varying_clearance
from oncotwin.parameters import Parameter
from oncotwin.pharmacology.catalog import get_drug

__all__ = ["PK_LOG_SD", "pk_model"]

#: Default between-patient SD of log(CL) and log(V1) in PK models.
PK_LOG_SD = Parameter(
    0.3,
    "1",
    assumption=True,
    reason="typical inter-individual variability of antibody and small-molecule clearance "
    "(30-40% CV in the population-PK papers of the catalog); a placeholder until each drug's "
    "own omega is entered",
)

_CACHE: dict[str, Model] = {}


def _time_varying(
    b: ModelBuilder, central: sp.Symbol, peripheral: sp.Symbol | None, par: object
) -> sp.Expr:
    """The time-varying clearance factor, with a ``clock`` state counting the days since the
    first dose (as in ``metastatic_io``)."""
    tau = b.state("clock", "day", description="time since the first dose")
    b.add_rate(tau, dose_clock_rate(central + (peripheral if peripheral is not None else 0)))
    emax, t50, hill = (par(k) for k in ("CL_Emax", "CL_T50", "CL_hill"))  # type: ignore[operator]
    return time_varying_clearance(tau, emax, t50, hill)


def pk_model(drug_name: str) -> Model:
    """The PK model of ``drug_name`` (name or alias), built from its catalog record.

    Examples
    --------
    >>> m = pk_model("pembrolizumab")
    >>> m.state_names
    ('central', 'peripheral', 'eliminated', 'clock')
    """
    drug = get_drug(drug_name)
    if drug.name in _CACHE:
        return _CACHE[drug.name]
    pk = dict(drug.pk)
    if "V1" not in pk or ("CL" not in pk and "Vmax" not in pk):
        raise ModelError(
            f"drug {drug.name!r} has no PK parameters (CL, V1) in the catalog; a PK model needs "
            "them (cell therapies and viruses are model states, not PK)"
        )
    b = ModelBuilder(
        f"pk_{drug.name.replace('-', '_').replace(' ', '_')}",
        description=f"pharmacokinetics of {drug.name}",
        citations=drug.citations,
    )

    def par(name: str, vary: bool = False) -> sp.Symbol:
        rec = pk[name]
        if vary:
            # the drug's own omega where its popPK paper gives one, else the placeholder
            sd = rec.log_sd if rec.log_sd > 0 else PK_LOG_SD.value
            rec = replace(rec, log_sd=sd)  # keeps the provenance (basis, range) of the record
        return b.parameter(name, rec)

    oral = "ka" in pk
    depot = b.state("depot", "mg", description="amount at the absorption site") if oral else None
    central = b.state("central", "mg", description="amount in the central compartment")
    two = "Q" in pk and "V2" in pk
    peripheral = (
        b.state("peripheral", "mg", description="amount in the peripheral compartment")
        if two
        else None
    )
    eliminated = b.state("eliminated", "mg", description="cumulative amount eliminated")
    V1 = par("V1", vary=True)
    C = central / V1
    b.expression("concentration", C, unit="mg/L")
    elim = sp.Integer(0)
    if "CL" in pk:
        cl = par("CL", vary=True)
        if "CL_Emax" in pk:
            cl = cl * _time_varying(b, central, peripheral, par)
        elim += cl * C
    if "Vmax" in pk and "Km" in pk:
        vmax, km = par("Vmax"), par("Km")
        elim += vmax * C / (km + C)
    b.add_rate(central, -elim)
    b.add_rate(eliminated, elim)
    if two and peripheral is not None:
        Q, V2 = par("Q"), par("V2")
        dist = Q * C - Q * peripheral / V2
        b.add_rate(central, -dist)
        b.add_rate(peripheral, dist)
    if oral and depot is not None:
        ka = par("ka")
        F = par("F") if "F" in pk else sp.Integer(1)
        # the non-absorbed fraction (1 - F) leaves the depot without reaching the central
        # compartment and is counted as eliminated (first-pass loss)
        b.add_rate(depot, -ka * depot)
        b.add_rate(central, F * ka * depot)
        b.add_rate(eliminated, (1 - F) * ka * depot)
        b.dose(drug.name, depot, description="oral dose into the depot [mg]")
    else:
        b.dose(drug.name, central, description="IV dose into the central compartment [mg]")
    model = b.build()
    _CACHE[drug.name] = model
    return model
