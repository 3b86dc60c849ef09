"""oncotwin's metastatic immuno-oncology model (``metastatic_io``).

A mechanistic, multi-site model of metastatic cancer under immunotherapy. Tumour sites are an
array axis (:data:`SITES`): every site carries the same equations, written once in a loop
over the axis, with its own initial burden, carrying capacity, immune infiltration, PD-L1,
EMT and drug penetration. The published models of the library are the building blocks:

* **growth**: Gompertz growth of the viable cells of a site towards a dynamic vascular
  carrying capacity ``K`` (Hahnfeldt et al. 1999, ``dK/dt = b V - d K V^(2/3)``), with the human
  growth constant and colonisation law of Iwata et al. 2000; both rescaled to human time as
  documented per parameter;
* **killing**: the ratio-dependent CD8+ lysis of de Pillis et al. 2005,
  ``d (E/T)^l / (s + (E/T)^l) T``, inhibited by PD-1/PD-L1 signalling, exhaustion, Tregs
  and MDSCs;
* **CAR-T cellular kinetics**: effector expansion, contraction and memory as in Stein et al.
  2019, with the expansion driven by the target antigen instead of a fixed time to peak;
* **metastatic seeding**: Iwata's colonisation rate ``m x^alpha`` scaled by the EMT state,
  into per-organ micrometastatic burdens (written as ``log`` cell numbers so that one cell and
  a detectable lesion are both well scaled) that grow, or stay dormant under immune control.

Every treatment class acts through its mechanism (anti-PD-1/PD-L1 receptor occupancy in each
site; anti-CTLA-4 priming and Treg depletion; anti-LAG-3 as a second co-inhibitory brake
multiplying the PD-1 brake; CAR-T; T-cell engagers redirecting polyclonal T cells to
target-positive cells; tumour-infiltrating lymphocytes; vaccines and oncolytic virus; anti-tumour
antigen antibodies with ADCC by NK cells; IL-2 and interferon-alfa; chemotherapy,
lymphodepletion, VEGFR TKIs with acquired resistance; immunomodulatory drugs, proteasome
inhibitors and glucocorticoids killing lymphoid and plasma-cell tumours, IMiDs activating NK and
T cells; radiotherapy as linear-quadratic cell kill per fraction on the irradiated site).
Toxicity hazards are integrated as states (cumulative hazards and exposure markers) so that
grades and event times can be read from the trajectory; dosing stops are applied by the
simulation layer (:func:`oncotwin.models.metastatic_io_readouts.simulate_io`).

The equations are printed from the model itself: ``get_model("metastatic_io").equations()``
(and ``docs/metastatic_io.md`` is generated from it by ``scripts/model_docs.py``). They are
written in private modules by subsystem (``_metastatic_io_tumour``: sites and seeding;
``_metastatic_io_immune``: the cancer-immunity cycle; ``_metastatic_io_treatments``: drug
exposures and effects; ``_metastatic_io_engagers``: LAG-3 blockade, T-cell engagers and TIL;
``_metastatic_io_haem``: myeloma and lymphoma drugs;
``_metastatic_io_toxicity``; ``_metastatic_io_regimen``: regimen logic);
every value comes from the parameter set ``metastatic_io/default``
(``oncotwin/parameters/sets/metastatic_io/default.toml``), over which cancer and calibrated
sets layer.

Units: time in days; tumour and immune cells in 1e9 cells (1e9 cells ~ 1 cm^3 of tumour,
Del Monte 2009); drug amounts in mg (antibodies), MIU (cytokines), 1e9 cells (cell
therapies), 1e8 PFU (virus) or standard doses (K-PD exposures, Jacqmin et al. 2007).

Research simulations only: not medical advice.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from oncotwin import _organs
from oncotwin.errors import ParameterError
from oncotwin.models._metastatic_io_regimen import IORegimenAdapter
from oncotwin.models.base import Model, ModelBuilder
from oncotwin.parameters import Parameter, ParameterSet
from oncotwin.pharmacology.catalog import all_drugs

__all__ = [
    "ANTIBODY_CLASSES",
    "DRUG_STANDARD_DOSE",
    "METASTATIC_SITES",
    "SITES",
    "TARGET_ANTIGENS",
    "IORegimenAdapter",
    "build",
]

#: Tumour sites (the array axis): the primary and eight metastatic organs, from the one organ
#: table (:mod:`oncotwin._organs`). For haematologic cancers ``lymph_node`` holds nodal disease
#: and ``bone`` the marrow burden.
SITES: tuple[str, ...] = _organs.SITE_NAMES
#: Organs that can receive new metastases (micrometastatic compartments).
METASTATIC_SITES: tuple[str, ...] = _organs.METASTATIC_SITES


#: Target antigens a tumour may express (``expresses_<antigen>`` parameters), matched
#: against the ``target`` of an antibody or CAR-T in the drug catalog.
TARGET_ANTIGENS: dict[str, str] = {
    "CD19": "CD19 (B-cell lymphoma, B-ALL)",
    "CD20": "CD20 (B-cell lymphoma)",
    "BCMA": "BCMA (multiple myeloma)",
    "HER2": "HER2 (HER2-positive breast cancer)",
    "EGFR": "EGFR (colorectal, head and neck)",
    "BRAFV600": "BRAF V600 mutation (melanoma; some NSCLC, colorectal)",
    "EGFRm": "sensitising EGFR mutation (NSCLC)",
    "nectin4": "nectin-4 (urothelial carcinoma; enfortumab vedotin)",
    "gp100": "gp100 presented on HLA-A*02:01 (melanoma; tebentafusp)",
    "CD38": "CD38 (multiple myeloma)",
}

#: Antibody classes with two-compartment PK whose constants come from the dosed drug.
ANTIBODY_CLASSES: dict[str, str] = {
    "anti-PD-1": "aPD1",
    "anti-PD-L1": "aPDL1",
    "anti-CTLA-4": "aCTLA4",
    "anti-tumor-antigen mAb": "mAb",
    "anti-VEGF mAb": "aVEGF",
    "antibody-drug conjugate": "ADC",
    "anti-LAG-3": "aLAG3",
}

#: Standard dose [mg] that is one unit of a K-PD exposure (TKI) or of a cytotoxic drug's
#: exposure: the approved dose for a 1.8 m^2 / 75 kg adult (cytotoxic drugs: the catalog's
#: ``standard_dose_mg``, see :mod:`oncotwin.models._metastatic_io_chemo`).
DRUG_STANDARD_DOSE: dict[str, float] = {
    **{d.name: d.standard_dose_mg for d in all_drugs().values() if d.standard_dose_mg},
    "sunitinib": 50.0,
    "axitinib": 10.0,
    "cabozantinib": 60.0,
    "lenvatinib": 24.0,
    "pazopanib": 800.0,
    "sorafenib": 800.0,
    "dabrafenib": 300.0,
    "trametinib": 2.0,
    "osimertinib": 80.0,
}


# ---------------------------------------------------------------------------------------------
# Organ-specific factors: parameter records per organ in ``oncotwin/data/organs.toml``
# (``[factor.<factor>.<site>]``: value, unit, reason with its sources, basis and plausible range),
# read through :func:`oncotwin._organs.organ_factors`
# ---------------------------------------------------------------------------------------------
#: Antibody tumour-to-plasma concentration ratio per organ (IgG penetrates tumours poorly; the
#: brain far less).
_PENETRATION: dict[str, float] = _organs.organ_factor_values("penetration")
#: Relative T-cell infiltration of each organ's lesions (liver metastases siphon CD8+ T cells,
#: Yu et al. 2021; brain lesions are shielded).
_INFILTRATION: dict[str, float] = _organs.organ_factor_values("infiltration")
#: Share of the shed cells that colonise each metastatic organ (seed and soil; sums to 1).
_SEEDING: dict[str, float] = _organs.organ_factor_values("seeding")
#: Weight of each organ's burden in the tumour-death hazard (vital organs weigh more).
_LETHALITY: dict[str, float] = _organs.organ_factor_values("lethality")


class _Build:
    """What the subsystem modules share while :func:`build` runs: the builder, the default
    values and every symbol or intermediate expression declared so far, by name (``v``)."""

    def __init__(self, builder: ModelBuilder, values: ParameterSet) -> None:
        self.b = builder
        self.values = values
        self.v: dict[str, sp.Expr] = {}
        #: drug concentrations (``<prefix>``) and half-maximal occupancies (``<prefix>_kd``)
        self.pk: dict[str, sp.Expr] = {}
        self._used: set[str] = set()

    def record(self, name: str) -> Parameter:
        """The default record of parameter ``name``."""
        if name not in self.values:
            raise ParameterError(
                f"parameter {name!r} of model 'metastatic_io' has no value in "
                f"{self.values.origin}; add a [parameters.{name}] table (value, unit, source or "
                "assumption = true with a reason)"
            )
        self._used.add(name)
        return self.values[name]

    def p(self, name: str) -> sp.Symbol:
        """Declare parameter ``name`` with its default record; returns its symbol."""
        self.v[name] = self.b.parameter(name, self.record(name))
        return self.v[name]

    def state(self, name: str, unit: str, **options: object) -> sp.Symbol:
        """Declare a state (options as :meth:`ModelBuilder.state`); returns its symbol."""
        self.v[name] = self.b.state(name, unit, **options)  # type: ignore[arg-type]
        return self.v[name]

    def expression(self, name: str, expr: sp.Expr, unit: str) -> sp.Symbol:
        """Declare a named expression (observable); returns its symbol."""
        self.v[name] = self.b.expression(name, expr, unit=unit)
        return self.v[name]

    def __call__(self, *names: str) -> tuple[sp.Expr, ...]:
        """The symbols or expressions declared under ``names``."""
        return tuple(self.v[n] for n in names)

    def check_all_used(self) -> None:
        unused = [k for k in self.values if k not in self._used]
        if unused:
            raise ParameterError(
                f"{self.values.origin} gives values for {unused}, which model 'metastatic_io' "
                "does not declare; remove them (or declare them in the model)"
            )


@cache
def build() -> Model:
    """Build ``metastatic_io`` (one compile for every cancer type; parameters differ).

    Values come from the parameter set ``metastatic_io/default``; the subsystems declare
    their parameters and states in a fixed order (the order of the parameter vector and of
    the state vector).
    """
    from oncotwin.models import _metastatic_io_chemo as chemo
    from oncotwin.models import _metastatic_io_comparators as comparators
    from oncotwin.models import _metastatic_io_engagers as engagers
    from oncotwin.models import _metastatic_io_haem as haem
    from oncotwin.models import _metastatic_io_immune as immune
    from oncotwin.models import _metastatic_io_targeted as targeted
    from oncotwin.models import _metastatic_io_toxicity as toxicity
    from oncotwin.models import _metastatic_io_treatments as treatments
    from oncotwin.models import _metastatic_io_tumour as tumour

    b = ModelBuilder(
        "metastatic_io",
        description="oncotwin metastatic immuno-oncology model: 9 tumour sites, the "
        "cancer-immunity cycle, every immunotherapy class, metastatic seeding and toxicity",
        citations=(
            "Hahnfeldt1999",
            "Iwata2000",
            "dePillis2005",
            "Stein2019",
            "Jacqmin2007",
            "DelMonte2009",
            "Larkin2015",
            "Fowler1989",
            "Deng2014",
        ),
    )
    # the model is built from this set, so it is not checked against the model here
    io = _Build(b, ParameterSet.load("metastatic_io/default", validate=False))
    tumour.declare_parameters(io)
    immune.declare_parameters(io)
    tumour.declare_metastasis_parameters(io)
    tumour.declare_outcome_parameters(io)
    treatments.declare(io)
    chemo.declare(io)
    comparators.declare(io)
    toxicity.declare_parameters(io)
    immune.declare_states(io)
    toxicity.declare_states(io)
    treatments.declare_effects(io)
    haem.declare(io)  # myeloma/lymphoma drugs: after supp and steroid, before the sites
    targeted.declare(io)  # anti-VEGF, BRAF/MEK, EGFR TKI, ADC: after the TKI effect
    tumour.declare_sites(io)
    engagers.declare(io)
    tumour.add_site_equations(io)
    immune.add_equations(io)
    treatments.add_equations(io)
    chemo.add_equations(io)
    toxicity.add_equations(io)
    io.check_all_used()
    b.regimen_adapter = IORegimenAdapter()
    return b.build()
