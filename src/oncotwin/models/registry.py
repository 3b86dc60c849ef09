"""The models oncotwin ships, by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from oncotwin.errors import UnknownNameError, did_you_mean
from oncotwin.models.base import Model

__all__ = ["MODELS", "get_model", "list_models"]

#: Model name -> (module, one-line description).
MODELS: dict[str, tuple[str, str]] = {
    "kuznetsov1994": (
        "oncotwin.models.library.kuznetsov1994",
        "Kuznetsov et al. 1994: effector-tumor dynamics, dormancy and sneaking through",
    ),
    "nikolopoulou2018": (
        "oncotwin.models.library.nikolopoulou2018",
        "Nikolopoulou et al. 2018: tumor-immune dynamics with an anti-PD-1 checkpoint inhibitor",
    ),
    "kirschner_panetta1998": (
        "oncotwin.models.library.kirschner_panetta1998",
        "Kirschner & Panetta 1998: effector cells, tumor and IL-2 under ACI and IL-2 therapy",
    ),
    "depillis2005": (
        "oncotwin.models.library.depillis2005",
        "de Pillis et al. 2005: tumor, NK and CD8+ T cells with ratio-dependent lysis (mouse)",
    ),
    "depillis2009": (
        "oncotwin.models.library.depillis2009",
        "de Pillis et al. 2009: chemo-immunotherapy (chemotherapy, IL-2, TIL)",
    ),
    "stein2019": (
        "oncotwin.models.library.stein2019",
        "Stein et al. 2019: tisagenlecleucel CAR-T expansion, contraction and persistence",
    ),
    "iwata2000": (
        "oncotwin.models.library.iwata2000",
        "Iwata et al. 2000: Gompertz primary tumor seeding metastatic colonies",
    ),
    "hahnfeldt1999": (
        "oncotwin.models.library.hahnfeldt1999",
        "Hahnfeldt et al. 1999: tumor growth under angiogenic control, anti-angiogenic drug",
    ),
    "claret2009": (
        "oncotwin.models.library.claret2009",
        "Claret et al. 2009: tumor growth inhibition with resistance (colorectal, capecitabine)",
    ),
    "metastatic_io": (
        "oncotwin.models.metastatic_io",
        "oncotwin: multi-site metastatic cancer, cancer-immunity cycle, every immunotherapy, "
        "metastatic seeding and toxicity",
    ),
    "bench_anchor": (
        "oncotwin.models.library.bench_anchor",
        "oncotwin benchmark: tumor/CD8/exhausted T/Treg/IL-2/PD-L1 with 2-compartment anti-PD-1",
    ),
}


def get_model(name: str) -> Model:
    """The shipped model ``name`` (case-insensitive), e.g. ``"kuznetsov1994"``.

    ``"pk:<drug>"`` gives the pharmacokinetic model of a catalog drug, e.g.
    ``"pk:pembrolizumab"`` (see :func:`oncotwin.pharmacology.pk_model`).
    """
    key = name.lower()
    if key.startswith("pk:"):
        from oncotwin.pharmacology.pkmodel import pk_model

        return pk_model(name[3:].strip())
    if key not in MODELS:
        raise UnknownNameError(did_you_mean(name, MODELS, what="model"))
    build: Callable[[], Model] = importlib.import_module(MODELS[key][0]).build
    return build()


def list_models() -> dict[str, str]:
    """Model name -> description (PK models of catalog drugs: ``pk:<drug>``)."""
    return {k: v[1] for k, v in MODELS.items()} | {
        "pk:<drug>": "pharmacokinetics of any catalog drug with PK, e.g. pk:pembrolizumab"
    }
