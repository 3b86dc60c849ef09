"""Tests of the patient twin (oncotwin.twin): recovery, determinism, input errors, API."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from oncotwin.errors import OncotwinError
from oncotwin.twin import (
    FORECAST_COLUMNS,
    MeasurementError,
    NotFittedError,
    PatientTwin,
    default_population,
    fit_lesions,
    fit_population,
    predict,
    regimen_effect,
    validate_measurements,
)

ATEZO = "atezolizumab 1200 mg IV q3w"
DAYS = np.array([-14.0, 42, 84, 126, 168, 210, 252])


def _planted(seed: int, n_lesions: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Lesions simulated from known parameters near the prior, with the population's noise."""
    pop = default_population()
    rng = np.random.default_rng(seed)
    mu = pop.prior_mean(("anti-PD-(L)1",))
    theta = mu + 0.5 * np.asarray(pop.log_sd) * rng.standard_normal((n_lesions, 4))
    f = predict(theta, np.tile(DAYS, (n_lesions, 1)))
    sd = np.sqrt(pop.additive_sd_mm**2 + (pop.proportional_sd * f) ** 2)
    y = np.maximum(f + sd * rng.standard_normal(f.shape), 0.0)
    rows = [
        {"lesion_id": f"L{i + 1}", "organ": "lung", "day": d, "diameter_mm": round(v, 1)}
        for i in range(n_lesions)
        for d, v in zip(DAYS, y[i], strict=True)
    ]
    return pd.DataFrame(rows), theta


def test_planted_patient_recovered_within_intervals() -> None:
    """Simulated from known parameters with measurement noise: the true baseline size lies in
    its 95% Laplace interval for every lesion, and the true (noise-free) sizes 6 and 12 weeks
    after the last scan lie in the 95% forecast interval for at least 5 of the 6 cases."""
    data, theta = _planted(seed=3)
    twin = PatientTwin(regimen=ATEZO, seed=5).fit(data)
    post = twin.posterior_
    y0 = post[post.parameter == "y0"]
    truth = np.exp(theta[:, 0])
    assert np.all((y0["lo95"].to_numpy() <= truth) & (truth <= y0["hi95"].to_numpy()))
    at = [DAYS[-1] + 42, DAYS[-1] + 84]
    fc = twin.forecast(at=at)
    true_future = predict(theta, np.tile(np.array(at), (3, 1)))
    inside = 0
    for i in range(3):
        rows = fc[fc.lesion_id == f"L{i + 1}"]
        inside += int(np.sum((rows.lo95_mm <= true_future[i]) & (true_future[i] <= rows.hi95_mm)))
    assert inside >= 5


def test_fitter_exact_on_noise_free_data_many_lesions() -> None:
    """Batched MAP with a weak prior returns the generating parameters of 50 lesions at once."""
    rng = np.random.default_rng(0)
    true = np.log([40.0, 0.004, 0.03, 0.02]) + 0.3 * rng.standard_normal((50, 4))
    t = np.tile(np.array([-10.0, 30, 60, 90, 120, 150, 200, 250]), (50, 1))
    y = predict(true, t)
    fit = fit_lesions(
        y, t, np.ones_like(t, bool), mu=true.mean(0), prec=1e-4 * np.eye(4), a=0.01, b=1e-4
    )
    assert np.allclose(fit.theta, true, atol=2e-3)
    assert fit.converged.all()


def test_closed_form_nadir_matches_claret2009_time_to_growth() -> None:
    """The twin's model is the library claret2009 solution: its nadir lies at
    log(K_D / K_L) / lambda (claret2009.time_to_growth with E = 1)."""
    from oncotwin.models.library.claret2009 import time_to_growth

    kl, kd, lam = 0.003, 0.02, 0.01
    t = np.linspace(0, 600, 60001)
    y = predict(np.log([30.0, kl, kd, lam]), t)
    assert t[np.argmin(y)] == pytest.approx(time_to_growth(kl, kd, lam, 1.0), abs=0.02)


def test_forecast_deterministic_under_seed_and_columns_exact() -> None:
    data, _ = _planted(seed=1, n_lesions=2)
    a = PatientTwin(regimen=ATEZO, seed=11).fit(data).forecast(60, every=14)
    b = PatientTwin(regimen=ATEZO, seed=11).fit(data).forecast(60, every=14)
    c = PatientTwin(regimen=ATEZO, seed=12).fit(data).forecast(60, every=14)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["median_mm"], c["median_mm"])
    assert tuple(a.columns) == FORECAST_COLUMNS
    assert sorted(a.lesion_id.unique()) == ["L1", "L2", "SLD"]
    assert len(a) == 3 * 4  # 3 series x days 266, 280, 294, 308
    assert np.all(a.lo95_mm <= a.lo80_mm) and np.all(a.lo80_mm <= a.median_mm)
    assert np.all(a.median_mm <= a.hi80_mm) and np.all(a.hi80_mm <= a.hi95_mm)
    assert a.p_progression.between(0, 1).all()


def test_p_progression_follows_its_definition() -> None:
    """Stopping the drug makes progression clearly likelier than staying on it; the column
    equals the share of draws meeting the rule computed by hand at one day."""
    data, _ = _planted(seed=2, n_lesions=1)
    twin = PatientTwin(regimen=ATEZO, seed=0).fit(data)
    off = twin.forecast(at=[DAYS[-1] + 180], regimen="none").p_progression.iloc[0]
    on = twin.forecast(at=[DAYS[-1] + 180]).p_progression.iloc[0]
    assert off > on + 0.1
    day = np.array([DAYS[-1] + 42.0])
    smooth, noisy = twin._draws(None, day)
    nadir = np.minimum(twin.data_.observed_nadir()[0], smooth[:, 0, 0])
    hand = np.mean((noisy[:, 0, 0] >= 1.2 * nadir) & (noisy[:, 0, 0] >= nadir + 5))
    got = twin.forecast(at=list(day)).p_progression.iloc[0]
    assert got == pytest.approx(hand)


def test_every_malformed_row_named_in_one_error() -> None:
    bad = pd.DataFrame(
        {
            "lesion_id": ["L1", "L1", "L2", "L2", "L3", "L3", "L4", "L4", "L4"],
            "organ": ["lung", "lung", "lvier", "liver", "bone", "bone", "lung", "lung", "lung"],
            "day": [-5, 40, -3, 30, 20, 60, -1, 50, 50],
            "diameter_mm": [20, -4, 15, 14, 10, 12, 9, 8, 7],
        }
    )
    with pytest.raises(MeasurementError) as err:
        validate_measurements(bad)
    msg = str(err.value)
    assert "row 2: diameter_mm -4 is negative" in msg
    assert "row 3: unknown organ 'lvier'; did you mean 'liver'?" in msg
    assert "row 5: lesion 'L3' has no baseline" in msg
    assert "row 9: lesion 'L4' has day 50 twice" in msg
    unsorted = bad.iloc[[0, 1]].assign(day=[40, -5], diameter_mm=[20, 4])
    with pytest.raises(MeasurementError, match=r"row 2: lesion 'L1' day -5 comes after day 40"):
        validate_measurements(unsorted)
    with pytest.raises(MeasurementError, match="lack column"):
        validate_measurements({"lesion_id": ["L1"], "day": [0]})


def test_regimen_errors_and_mapping() -> None:
    with pytest.raises(OncotwinError, match="did you mean"):
        regimen_effect("atezolizumb 1200 mg IV q3w")
    with pytest.raises(OncotwinError, match="no tumour-size data for carboplatin"):
        regimen_effect("carboplatin AUC5 IV q3w")
    assert regimen_effect("pembrolizumab 200 mg IV q3w").classes == ("anti-PD-(L)1",)
    assert regimen_effect("docetaxel 75 mg/m2 IV q3w x4").t_stop == 84.0
    both = regimen_effect(f"{ATEZO} with docetaxel 75 mg/m2 IV q3w")
    assert both.grade3_risk == pytest.approx(1 - 0.85 * 0.57)


def test_rank_difference_and_toxicity() -> None:
    data, _ = _planted(seed=4, n_lesions=2)
    twin = PatientTwin(regimen=ATEZO, seed=2, n_draws=500).fit(data)
    table = twin.rank([ATEZO, "docetaxel 75 mg/m2 IV q3w", "none"])
    cur = table[table.regimen == ATEZO].iloc[0]
    assert cur.diff_vs_current_median_mm == 0.0  # same draws: the difference is exactly 0
    none = table[table.regimen == "none"].iloc[0]
    assert none.diff_lo95_mm > 0  # stopping the drug lets every draw grow
    assert set(table.grade3_4_toxicity_risk) == {0.15, 0.43, 0.0}
    with pytest.raises(OncotwinError, match="list of regimen strings"):
        twin.rank(ATEZO)  # type: ignore[arg-type]


def test_not_fitted_and_save_load_roundtrip(tmp_path) -> None:
    with pytest.raises(NotFittedError, match=r"call \.fit"):
        PatientTwin(regimen=ATEZO).forecast()
    data, _ = _planted(seed=6, n_lesions=2)
    twin = PatientTwin(regimen=ATEZO, seed=9, covariates={"age": 64}).fit(data)
    twin.save(tmp_path)
    back = PatientTwin.load(tmp_path)
    pd.testing.assert_frame_equal(twin.forecast(90), back.forecast(90))
    assert back.covariates == {"age": 64}


def test_population_fit_recovers_typical_values() -> None:
    """Laplace EM on 150 simulated lesions recovers the typical baseline size and kill rate
    within 15% and the additive residual SD within 40%."""
    rng = np.random.default_rng(7)
    n = 150
    true_mu = np.log([30.0, 0.004, 0.02, 0.01])
    theta = true_mu + np.array([0.4, 0.3, 0.3, 0.3]) * rng.standard_normal((n, 4))
    t = np.tile(DAYS, (n, 1))
    f = predict(theta, t)
    y = np.maximum(f + np.sqrt(1.5**2 + (0.05 * f) ** 2) * rng.standard_normal(f.shape), 0)
    pop = fit_population(y, t, np.ones_like(t, bool), [("anti-PD-(L)1",)] * n, n_iter=15)
    assert math.exp(pop.mean[0]) == pytest.approx(30.0, rel=0.15)
    assert math.exp(pop.log_kd_by_class["anti-PD-(L)1"]) == pytest.approx(0.02, rel=0.15)
    assert pop.additive_sd_mm == pytest.approx(1.5, rel=0.4)


def test_endpoints_are_ordered_probabilities() -> None:
    """P(PFS 12 mo) <= P(PFS 6 mo); stopping the drug lowers both and raises P(PD next)."""
    data, _ = _planted(seed=8, n_lesions=2)
    twin = PatientTwin(regimen=ATEZO, seed=4, n_draws=500).fit(data)
    on = twin.endpoints()
    off = twin.endpoints("none")
    for ep in (on, off):
        assert 0 <= ep["p_pfs_12mo"] <= ep["p_pfs_6mo"] <= 1
        assert 0 <= ep["p_response_next_scan"] <= 1
    assert off["p_pfs_12mo"] <= on["p_pfs_12mo"]
    assert off["p_progression_next_scan"] >= on["p_progression_next_scan"]
    assert np.all(twin.ess_ > 1)


def test_forecast_random_walk_grows_with_sqrt_time() -> None:
    """The forecast random walk is 0 up to the last scan and has SD sigma*sqrt(days ahead)
    (within 5% at 20,000 draws)."""
    from oncotwin.twin._forecast import random_walk

    days = np.array([[90.0, 100.0, 200.0, 500.0]])
    walk = random_walk(days, np.array([100.0]), 0.01, 20000, np.random.default_rng(0))
    assert np.all(walk[:, 0, :2] == 0.0)
    assert walk[:, 0, 2].std() == pytest.approx(0.01 * 10.0, rel=0.05)
    assert walk[:, 0, 3].std() == pytest.approx(0.01 * 20.0, rel=0.05)
