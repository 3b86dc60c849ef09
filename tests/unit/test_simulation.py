"""Populations, regimens in models, PK invariants, result files."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

import oncotwin as ot
from oncotwin.errors import ParameterError, RegimenError, UnknownNameError
from oncotwin.population import sample_population
from oncotwin.simulation import simulate


def test_population_is_deterministic_per_patient_index() -> None:
    m = ot.get_model("bench_anchor")
    a = sample_population(m, 3000, seed=4)
    b = sample_population(m, 1500, seed=4)
    c = sample_population(m, 1000, seed=4, first=1100)
    assert np.array_equal(a.params[:1500], b.params)
    assert np.array_equal(a.params[1100:2100], c.params)
    assert np.array_equal(a.weight_kg[1100:2100], c.weight_kg)
    assert not np.array_equal(a.params, sample_population(m, 3000, seed=5).params)


def test_population_spread_follows_log_sd() -> None:
    """bench workload: SD 0.3 of log(r) between patients; fixed parameters do not vary."""
    m = ot.get_model("bench_anchor")
    pop = sample_population(m, 20000, seed=1)
    sd = np.log(pop.parameter("r")).std()
    assert sd == pytest.approx(0.3, rel=0.03)
    assert np.all(pop.parameter("h_E") == 1.0)
    assert np.median(pop.weight_kg) == pytest.approx(75.0, rel=0.02)
    assert np.all((pop.bsa_m2 > 1.0) & (pop.bsa_m2 < 3.0))


def test_population_bad_input() -> None:
    m = ot.get_model("bench_anchor")
    with pytest.raises(ParameterError, match="patients=0"):
        sample_population(m, 0)
    with pytest.raises(UnknownNameError, match="did you mean 'k_kill'"):
        sample_population(m, 5, vary={"k_kil": 0.2})
    with pytest.raises(ParameterError, match="variability of 'r'"):
        sample_population(m, 5, vary={"r": float("nan")})


def test_weight_based_dose_uses_each_patients_weight() -> None:
    """nivolumab 3 mg/kg: the day-0 dose in the central compartment is 3 x weight [mg]."""
    res = simulate(
        ot.get_model("pk:nivolumab"), "nivolumab 3 mg/kg IV q2w x3", patients=50, days=1, every=1.0
    )
    np.testing.assert_allclose(res.solution["central"][:, 0], 3.0 * res.population.weight_kg)


def test_bsa_based_dose_uses_each_patients_bsa() -> None:
    res = simulate(
        ot.get_model("pk:docetaxel"), "docetaxel 75 mg/m2 IV q3w x2", patients=20, days=1
    )
    np.testing.assert_allclose(res.solution["central"][:, 0], 75.0 * res.population.bsa_m2)


@pytest.mark.parametrize(
    ("drug", "regimen", "days"),
    [
        ("pembrolizumab", "pembrolizumab 200 mg IV q3w x6", 200.0),
        ("pembrolizumab", "pembrolizumab 200 mg IV over 30 min q3w x6", 200.0),
        ("durvalumab", "durvalumab 10 mg/kg IV q2w x4", 100.0),
        ("axitinib", "axitinib 5 mg PO bid x10", 8.0),
    ],
)
def test_pk_mass_balance(drug: str, regimen: str, days: float) -> None:
    """Amount in the body + amount eliminated = amount dosed so far, at every output time
    (oral doses: the non-absorbed fraction counts as eliminated)."""
    m = ot.get_model(f"pk:{drug}")
    res = simulate(m, regimen, patients=20, days=days, every=0.25, seed=2)
    sol = res.solution
    assert (sol.status == 0).all()
    # amount states only (a time-varying-clearance model also has a clock in days)
    total = sum(sol[s.name] for s in m.states if s.unit == "mg")
    sched = res.regimen.schedule(days)
    amounts = sched.amounts(res.population.weight_kg, res.population.bsa_m2)
    dosed = np.zeros_like(total)
    for j in range(len(sched)):
        start, dur = sched.time[j], sched.duration[j]
        frac = np.clip((sol.t - start) / dur, 0, 1) if dur > 0 else (sol.t >= start) * 1.0
        dosed += amounts[:, j : j + 1] * frac[None, :]
    np.testing.assert_allclose(total, dosed, rtol=1e-6, atol=1e-9)


def test_higher_dose_never_lowers_exposure() -> None:
    """AUC of concentration and trough rise with the dose, for every patient (linear PK and
    target-mediated (Michaelis-Menten) PK alike)."""
    for drug in ("pembrolizumab", "durvalumab", "cetuximab"):
        m = ot.get_model(f"pk:{drug}")
        pop = sample_population(m, 40, seed=3)
        aucs, troughs = [], []
        for dose in (50, 100, 200, 400, 800):
            res = simulate(m, f"{drug} {dose} mg IV q3w x4", patients=pop, days=84, every=0.5)
            c = res.solution.expression("concentration")
            aucs.append(np.trapezoid(c, res.solution.t, axis=1))
            troughs.append(c[:, -1])
        assert np.all(np.diff(np.array(aucs), axis=0) > 0)
        assert np.all(np.diff(np.array(troughs), axis=0) > 0)


def test_regimen_for_a_model_without_that_drug_is_a_clear_error() -> None:
    with pytest.raises(RegimenError, match="cannot be given to model 'kuznetsov1994'"):
        simulate(ot.get_model("kuznetsov1994"), "pembrolizumab 200 mg IV q3w", patients=2)


def test_parquet_has_units_and_provenance(tmp_path) -> None:
    res = simulate(
        ot.get_model("bench_anchor"),
        "pembrolizumab 200 mg IV q3w x3",
        patients=5,
        days=30,
        save=["T", "Ac"],
    )
    path = res.to_parquet(tmp_path / "r.parquet")
    table = pq.read_table(path)
    assert table.column_names == ["patient", "time [day]", "T [1e9 cell]", "Ac [mg]", "status"]
    assert table.num_rows == 5 * 31
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert meta["oncotwin.model"] == "bench_anchor"
    assert meta["oncotwin.regimen"] == "pembrolizumab 200 mg IV q3w x3"
    assert "not medical advice" in meta["oncotwin.disclaimer"]
    assert "Ahamadi2017" in meta["oncotwin.citations"]


def test_plot_returns_axes() -> None:
    res = simulate(ot.get_model("kuznetsov1994"), patients=5, days=20)
    ax = res.plot("T")
    assert ax.get_ylabel() == "T [cell]"
    assert len(ax.lines) >= 2
