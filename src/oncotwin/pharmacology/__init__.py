"""Drugs: the catalog of immunotherapies, antibodies, chemotherapy, TKIs and cell therapies."""

from oncotwin.pharmacology.catalog import (
    DOSE_KINDS,
    MECHANISMS,
    MODALITIES,
    ROUTES,
    Drug,
    all_drugs,
    drug_table,
    drugs_by_mechanism,
    get_drug,
    half_life_days,
)

__all__ = [
    "DOSE_KINDS",
    "MECHANISMS",
    "MODALITIES",
    "ROUTES",
    "Drug",
    "all_drugs",
    "drug_table",
    "drugs_by_mechanism",
    "get_drug",
    "half_life_days",
]
