"""Antibody population PK: catalog tables, per-patient draws and covariate effects."""

from __future__ import annotations

import math

import numpy as np
import pytest

import oncotwin as ot
from oncotwin._datafiles import DataFileError
from oncotwin.models.metastatic_io_cancers import io_parameters
from oncotwin.pharmacology import all_drugs
from oncotwin.pharmacology.catalog import load_drugs
from oncotwin.pharmacology.poppk import PatientCovariates, antibody_pk, individual_pk
from oncotwin.population.covariates import sample_eligible
from oncotwin.regimens import parse_regimen


@pytest.fixture(scope="module")
def model():
    return ot.get_model("metastatic_io")


@pytest.fixture(scope="module")
def melanoma(model):
    cov = sample_eligible("melanoma", 2000, None, seed=11)
    return cov, io_parameters(model, cov, "melanoma", seed=11)


def _dosed(model, params, regimen):
    p, _ = model.regimen_adapter.prepare(model, parse_regimen(regimen), params, 365.0)
    return p


def _covariates(model, params) -> PatientCovariates:
    col = model.parameter_index
    return PatientCovariates(
        *(params[:, col(k)] for k in ("pk_weight", "pk_albumin", "pk_tumour", "pk_female")),
        params[:, col("pk_ecog")],
    )


def test_every_catalog_antibody_has_a_valid_population_pk():
    """Antibodies of metastatic_io's antibody classes need the two-compartment popPK the
    regimen adapter reads; the bispecific T-cell engagers (small fragments such as
    blinatumomab, 55 kDa) are one-compartment in their popPK papers and in the model."""
    from oncotwin.models.metastatic_io import ANTIBODY_CLASSES

    checked = 0
    for drug in all_drugs().values():
        if drug.modality != "antibody":
            continue
        if drug.mechanism in ANTIBODY_CLASSES:
            pk = antibody_pk(drug.name)
            assert pk.typical["V1"] > 0 and pk.omega_v1 >= 0
            checked += 1
        else:
            assert drug.mechanism == "bispecific T-cell engager", drug.name
            assert drug.pk["CL"].value > 0 and drug.pk["V1"].value > 0, drug.name
    assert checked >= 10


@pytest.mark.parametrize(
    ("drug", "regimen", "prefix", "omega"),
    [
        ("nivolumab", "nivolumab 240 mg IV q2w", "aPD1", math.sqrt(0.123)),
        ("pembrolizumab", "pembrolizumab 200 mg IV q3w", "aPD1", math.sqrt(0.134)),
        ("ipilimumab", "ipilimumab 3 mg/kg IV q3w x4", "aCTLA4", math.sqrt(0.125)),
    ],
)
def test_sampled_clearance_varies_with_the_published_omega(
    model, melanoma, drug, regimen, prefix, omega
):
    """log CL around each patient's covariate prediction has SD omega (Bajaj 2017, Ahamadi
    2017 Table 3, Feng 2014 Table 2) and mean 0; n = 2000 (SE of the SD ~ 0.006)."""
    _, params = melanoma
    p = _dosed(model, params, regimen)
    cl = p[:, model.parameter_index(f"{prefix}_CL")]
    zero = np.zeros(len(cl))
    pred = individual_pk(antibody_pk(drug), _covariates(model, params), zero, zero)["CL"]
    resid = np.log(cl / pred)
    assert abs(resid.std() - omega) < 0.03
    assert abs(resid.mean()) < 0.03
    v1 = p[:, model.parameter_index(f"{prefix}_V1")]
    assert np.log(v1).std() > 0.1  # V1 varies too


def test_heavier_and_low_albumin_patients_clear_faster(model, melanoma):
    one = np.ones(3)
    pk = antibody_pk("pembrolizumab")
    z = np.zeros(3)

    def cl(weight, albumin, female=0.0):
        cov = PatientCovariates(weight * one, albumin * one, 90 * one, female * one, 0 * one)
        return individual_pk(pk, cov, z, z)["CL"][0]

    assert cl(100, 4) > cl(60, 4)
    assert cl(75, 2.8) > cl(75, 4.4)
    assert cl(75, 4, female=1) < cl(75, 4)
    # the same directions in the sampled virtual patients (rank correlation)
    from scipy.stats import spearmanr

    _, params = melanoma
    p = _dosed(model, params, "pembrolizumab 200 mg IV q3w")
    col = model.parameter_index
    clp = p[:, col("aPD1_CL")]
    assert spearmanr(clp, params[:, col("pk_weight")]).statistic > 0.1
    assert spearmanr(clp, params[:, col("pk_albumin")]).statistic < -0.1


def test_draws_are_deterministic_and_chunk_invariant(model):
    cov = sample_eligible("nsclc", 300, None, seed=4)
    whole = io_parameters(model, cov, "nsclc", seed=4)
    parts = np.vstack(
        [io_parameters(model, cov.iloc[a:b], "nsclc", seed=4) for a, b in ((0, 120), (120, 300))]
    )
    idx = [model.parameter_index(k) for k in ("pk_eta_CL", "pk_eta_V1", "pk_eta_Emax")]
    np.testing.assert_array_equal(whole[:, idx], parts[:, idx])
    other = io_parameters(model, cov, "nsclc", seed=5)
    assert not np.allclose(whole[:, idx], other[:, idx])
    assert abs(whole[:, idx[0]].std() - 1.0) < 0.15  # standard normal


def test_nivolumab_emax_varies_between_patients(model, melanoma):
    """Bajaj 2017: additive between-patient SD of Emax sqrt(0.0719)."""
    _, params = melanoma
    p = _dosed(model, params, "nivolumab 240 mg IV q2w")
    emax = p[:, model.parameter_index("aPD1_CL_Emax")]
    assert abs(emax.mean() - (-0.295)) < 0.02
    assert abs(emax.std() - math.sqrt(0.0719)) < 0.02
    p = _dosed(model, params, "ipilimumab 3 mg/kg IV q3w x4")
    assert np.all(p[:, model.parameter_index("aCTLA4_CL_Emax")] == 0.0)  # none published


_GOOD = """
[testmab]
aliases = []
target = "PD-1"
mechanism = "anti-PD-1"
modality = "antibody"
dose_kind = "mass"
routes = ["IV"]

[testmab.pk.CL]
value = 0.2
unit = "L/day"
assumption = true
reason = "test"
log_sd = 0.3

[testmab.pk.V1]
value = 3.0
unit = "L"
assumption = true
reason = "test"

[testmab.pk.weight_ref]
value = 75.0
unit = "kg"
assumption = true
reason = "test"

[testmab.pk.{key}]
value = {value}
unit = "{unit}"
assumption = true
reason = "test"
lower = -50.0
"""


@pytest.mark.parametrize(
    ("key", "value", "unit", "match"),
    [
        ("CL_weigth", 0.5, "1", "unknown PK key"),
        ("CL_albumin", -0.9, "1", "albumin_ref"),
        ("CL_weight", 30.0, "1", "exponent"),
        ("CL_female", -0.15, "1", "factor"),
        ("CL_weight", 0.5, "kg", "dimensionless"),
        ("CL_Emax", -0.3, "1", "CL_T50"),
    ],
)
def test_malformed_antibody_pk_is_a_clear_error(key, value, unit, match):
    assert load_drugs(_GOOD.format(key="CL_weight", value=0.5, unit="1"), label="t.toml")
    with pytest.raises(DataFileError, match=match) as err:
        load_drugs(_GOOD.format(key=key, value=value, unit=unit), label="t.toml")
    assert "t.toml" in str(err.value) and "testmab.pk" in str(err.value)


def test_omega_written_as_variance_or_percent_is_rejected():
    text = _GOOD.format(key="CL_weight", value=0.5, unit="1").replace(
        "log_sd = 0.3", "log_sd = 35.0"
    )
    with pytest.raises(DataFileError, match="omega"):
        load_drugs(text, label="t.toml")
