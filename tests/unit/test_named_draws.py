"""Between-patient draws keyed by parameter name: a model that gains a parameter keeps every
patient's draws of the others (the draws used to be columns by position, so adding one
parameter re-drew every virtual patient of every trial)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotwin._random import Stream, named_normals


def test_a_name_keeps_its_draws_whatever_the_other_names():
    ids = np.arange(50, 250)
    a = named_normals(7, ids, ["growth_rate", "immunogenicity"], Stream.PARAMETER_IIV)
    b = named_normals(
        7, ids, ["new_one", "immunogenicity", "x", "growth_rate"], Stream.PARAMETER_IIV
    )
    assert np.array_equal(a[:, 0], b[:, 3]) and np.array_equal(a[:, 1], b[:, 1])
    # a patient's draw depends on its id only, not on the batch
    c = named_normals(7, ids[::7], ["growth_rate"], Stream.PARAMETER_IIV)
    assert np.array_equal(c[:, 0], a[::7, 0])


def test_draws_are_standard_normal_and_independent_across_names_seeds_streams():
    ids = np.arange(20000)
    z = named_normals(1, ids, ["p", "q"], Stream.PARAMETER_IIV)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.03
    other_seed = named_normals(2, ids, ["p"], Stream.PARAMETER_IIV)[:, 0]
    other_stream = named_normals(1, ids, ["p"], Stream.SITE_DRAWS)[:, 0]
    assert abs(np.corrcoef(z[:, 0], other_seed)[0, 1]) < 0.03
    assert abs(np.corrcoef(z[:, 0], other_stream)[0, 1]) < 0.03


def test_trial_patients_are_the_same_in_any_batch():
    from oncotwin.models.metastatic_io_cancers import io_parameters
    from oncotwin.models.registry import get_model
    from oncotwin.population.covariates import sample_covariates

    model = get_model("metastatic_io")
    cov = sample_covariates("melanoma", 40, seed=3)
    whole = io_parameters(model, cov, "melanoma", seed=3)
    part = io_parameters(model, cov.iloc[10:25].reset_index(drop=True), "melanoma", seed=3)
    assert np.array_equal(whole[10:25], part)
    assert isinstance(cov, pd.DataFrame)
