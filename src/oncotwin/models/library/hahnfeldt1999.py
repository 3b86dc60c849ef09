"""Hahnfeldt, Panigrahy, Folkman & Hlatky 1999: tumour growth under angiogenic control.

Cancer Res 59(19):4770-4775. Tumour volume ``V`` and its vascular carrying capacity ``K``
[mm^3] (Lewis lung carcinoma in mice), time in days, with an antiangiogenic drug level ``g``
[mg/kg] cleared at the first-order rate ``clr``::

    dV/dt = -lambda1 V log(V/K)
    dK/dt = -lambda2 K - e g K + b V - d K V^(2/3)
    dg/dt = -clr g

``V`` grows by the Gompertz law towards ``K``; the tumour stimulates its vasculature
(``b V``), endogenous inhibitors produced by the tumour cut it back in proportion to
``K V^(2/3)`` (the inhibitor accumulates over the tumour volume and acts on the vessels
through the surface, ``d``), ``lambda2`` is spontaneous loss of vessels (0 in the paper's
fit) and ``e g`` is the drug's inhibition. The growth parameters are the paper's fit to the
untreated controls (Table 1); with ``lambda2 = 0`` and no drug the tumour approaches the
steady state ``V* = K* = (b/d)^(3/2)`` = 17,347 mm^3. Under a constant drug level ``g`` it
becomes ``((b - lambda2 - e g)/d)^(3/2)`` (zero when ``e g >= b``).

The drug's potency ``e`` and clearance ``clr`` default to TNP-470; :data:`DRUGS` holds the
paper's values for TNP-470, angiostatin and endostatin. Every constant, the initial carrying
capacity ``k0 = 625`` mm^3 included, is the paper's Table 1 (read in the paper's full text and
cross-checked against the canceR reimplementation, which uses the same values; see
``shared/data/papers/Hahnfeldt1999.md``). The paper gives no single initial volume (treatment
started at about 200 mm^3; 170 and 177 mm^3 in Fig. 4's legends), so ``V(0) = 180`` mm^3 (the
canceR value) is a flagged assumption.

Doses: ``g`` is the paper's drug level per body weight [mg/kg]; the dose target
``"anti-angiogenic"`` converts a dose in mg with the scale :data:`DOSE_SCALE` = 1/0.02 kg, an
assumed 20-g mouse (the paper gives doses per kg: e.g. 30 mg/kg TNP-470 = 0.6 mg).
"""

from __future__ import annotations

from functools import cache

from oncotwin.citations import get_citation
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.models.components import hahnfeldt
from oncotwin.parameters import Parameter, Source

__all__ = ["CITATION", "DOSE_SCALE", "DRUGS", "MOUSE_WEIGHT", "build", "steady_state"]

#: Its record is in oncotwin/data/citations.toml (one record per paper).
CITATION = get_citation("Hahnfeldt1999")

#: Drug potency ``e`` [kg/(mg day)] and clearance ``clr`` [1/day] (Table 1).
DRUGS: dict[str, dict[str, float]] = {
    "TNP-470": {"e": 1.3, "clr": 10.1},
    "angiostatin": {"e": 0.15, "clr": 0.38},
    "endostatin": {"e": 0.66, "clr": 1.7},
}
#: Assumed body weight of a mouse [kg] for converting doses in mg to mg/kg.
MOUSE_WEIGHT = 0.02
#: Drug level [mg/kg] per mg dosed.
DOSE_SCALE = 1.0 / MOUSE_WEIGHT

MM3 = "mm**3"


def _src(value: float, unit: str, description: str, where: str = "Table 1, control") -> Parameter:
    return Parameter(value, unit, source=Source("Hahnfeldt1999", where), description=description)


def steady_state(b: float = 5.85, d: float = 8.73e-3, lambda2: float = 0.0, eg: float = 0.0):
    """Steady volume ``V* = K*`` [mm^3] under a constant drug effect ``e g`` [1/day].

    Examples
    --------
    >>> round(steady_state())
    17347
    """
    drive = b - lambda2 - eg
    return (drive / d) ** 1.5 if drive > 0 else 0.0


@cache
def build() -> Model:
    """Build the Hahnfeldt et al. 1999 tumour / carrying capacity / drug model (mm^3, days)."""
    bld = ModelBuilder(
        "hahnfeldt1999",
        description="tumour growth with a dynamic vascular carrying capacity and an "
        "antiangiogenic drug (Hahnfeldt et al. 1999)",
        citations=("Hahnfeldt1999",),
    )
    V = bld.state(
        "V",
        MM3,
        initial=Parameter(
            180.0,
            MM3,
            assumption=True,
            reason="basis: sourced range (Hahnfeldt 1999 Methods: treatment started at about "
            "200 mm^3; Fig. 4 legends 170 and 177 mm^3; the canceR reimplementation uses 180; "
            "the paper gives no single V0); plausible range: 150 to 310 mm^3 (the day-0 volumes "
            "of the arms as digitised by canceR)",
            description="initial tumour volume",
        ),
        description="tumour volume",
    )
    K = bld.state(
        "K",
        MM3,
        initial=_src(625.0, MM3, "initial vascular carrying capacity", "Table 1, k0"),
        description="vascular carrying capacity",
    )
    g = bld.state("g", "mg/kg", description="antiangiogenic drug level per body weight")
    lam1 = bld.parameter("lambda1", _src(0.192, "1/day", "tumour growth rate"))
    lam2 = bld.parameter("lambda2", _src(0.0, "1/day", "spontaneous loss of vasculature"))
    b = bld.parameter("b", _src(5.85, "1/day", "stimulation of the vasculature by the tumour"))
    d = bld.parameter("d", _src(8.73e-3, "1/mm**2/day", "endogenous inhibition of the vasculature"))
    e = bld.parameter(
        "e",
        _src(DRUGS["TNP-470"]["e"], "kg/mg/day", "drug potency (TNP-470)", "Table 1, TNP-470"),
    )
    clr = bld.parameter(
        "clr",
        _src(DRUGS["TNP-470"]["clr"], "1/day", "drug clearance (TNP-470)", "Table 1, TNP-470"),
    )

    terms = hahnfeldt(lam1, b, d, V, K)
    bld.add_rate(V, terms["V"])
    bld.add_rate(K, terms["K"] - lam2 * K - e * g * K)
    bld.add_rate(g, -clr * g)
    bld.dose(
        "anti-angiogenic",
        g,
        scale=DOSE_SCALE,
        description=f"dose in mg -> mg/kg for an assumed {MOUSE_WEIGHT * 1000:.0f}-g mouse",
    )
    return bld.build()
