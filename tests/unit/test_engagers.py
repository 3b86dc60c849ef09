"""Newer immunotherapies of metastatic_io (issue 12): relatlimab (LAG-3 blockade), the T-cell
engagers blinatumomab, tebentafusp and teclistamab, and lifileucel (TIL).

Catalog checks are fast; the model checks simulate a few identical typical patients (the
model's compile is cached; the first run of the session compiles it). Each states the
mechanism it checks; quantitative agreement with RELATIVITY-047, TOWER or MajesTEC-1 is
measured and reported, not asserted (no calibration arm holds these drugs yet).
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.errors import ModelError
from oncotwin.pharmacology import get_drug
from oncotwin.pharmacology.catalog import half_life_days
from oncotwin.regimens import parse_regimen

NEW_DRUGS = ("relatlimab", "blinatumomab", "tebentafusp", "teclistamab", "lifileucel")

BLIN = "blinatumomab 0.009 mg IV over 1 day qd x7, then blinatumomab 0.028 mg IV over 1 day qd x21"
TEC = (
    "teclistamab 0.06 mg/kg SC q3d x1, then teclistamab 0.3 mg/kg SC q3d x1, then "
    "teclistamab 1.5 mg/kg SC weekly x6"
)
TEB = (
    "tebentafusp 0.02 mg IV over 20 min weekly x1, then tebentafusp 0.03 mg IV over 20 min "
    "weekly x1, then tebentafusp 0.068 mg IV over 20 min weekly x6"
)
TIL_REGIMEN = (
    "cyclophosphamide 60 mg/kg IV d-7 to d-6 with fludarabine 25 mg/m2 IV d-5 to d-1 with "
    "lifileucel 3e10 cells IV once with aldesleukin 600000 IU/kg IV over 15 min q8h x6 "
    "starting d2"
)


# ------------------------------------------------------------------------------ catalog
@pytest.mark.parametrize("name", NEW_DRUGS)
def test_each_drug_loads_with_mechanism_target_and_parsable_doses(name: str) -> None:
    d = get_drug(name)
    expected = {
        "relatlimab": ("anti-LAG-3", "LAG-3"),
        "blinatumomab": ("bispecific T-cell engager", "CD19"),
        "tebentafusp": ("bispecific T-cell engager", "gp100"),
        "teclistamab": ("bispecific T-cell engager", "BCMA"),
        "lifileucel": ("tumour-infiltrating lymphocytes", d.target),
    }[name]
    assert (d.mechanism, d.target) == expected
    assert d.citations and d.notes and d.approved_doses
    for text in d.approved_doses:
        assert d.name in parse_regimen(text).drugs


@pytest.mark.parametrize(
    ("name", "published_days", "tolerance"),
    [
        # Opdualag label 12.3: effective half-life 26.2 days; two-compartment terminal +/- 25%
        ("relatlimab", 26.2, 0.25),
        # Blincyto label 12.3: 2.1 hours; Clements 2020 CL/V (1.87 h) within 25%
        ("blinatumomab", 2.1 / 24, 0.25),
        # Kimmtrak product information: 6-8 hours (7 h midpoint +/- 1 h)
        ("tebentafusp", 7.0 / 24, 1.0 / 7.0),
        # weekly accumulation ratio 3.05 (SmPC 5.2) -> 12.2 days; +/- 30% spans the ~8.7-day
        # half-life of the label's linear clearance
        ("teclistamab", 12.2, 0.30),
    ],
)
def test_half_life_within_the_label_range(name: str, published_days: float, tolerance: float):
    t = half_life_days(get_drug(name))
    assert t is not None
    assert abs(t / published_days - 1) <= tolerance, (name, t, published_days)


def test_lifileucel_is_a_cell_therapy_without_pk() -> None:
    d = get_drug("Amtagvi")
    assert (d.modality, d.dose_kind, d.pk) == ("cell therapy", "cells", {})
    assert half_life_days(d) is None


def test_engager_without_its_catalog_fields_is_refused_by_name() -> None:
    from dataclasses import replace

    from oncotwin.models._metastatic_io_engagers import _check

    blin = get_drug("blinatumomab")
    with pytest.raises(ModelError, match=r"'blinatumomab' lacks pd\.EC50"):
        _check(replace(blin, pd={}))
    with pytest.raises(ModelError, match="not one of the model's target antigens"):
        _check(replace(blin, target="CD7"))


# ------------------------------------------------------------------------------ model
@pytest.fixture(scope="module")
def model():
    import oncotwin as ot

    return ot.get_model("metastatic_io")


def test_model_declares_the_new_mechanisms(model) -> None:
    from oncotwin.models.metastatic_io import ANTIBODY_CLASSES, TARGET_ANTIGENS

    assert ANTIBODY_CLASSES["anti-LAG-3"] == "aLAG3" and "gp100" in TARGET_ANTIGENS
    names = set(model.state_names)
    assert {"aLAG3_c", "engager_blinatumomab", "engager_teclistamab_depot", "til"} <= names
    assert model.parameters["expresses_gp100"].value == 0.0
    assert model.dose_target("teclistamab").state == "engager_teclistamab_depot"
    assert model.dose_target("lifileucel", "tumour-infiltrating lymphocytes").state == "til"


def _pop(model, n: int, **params):
    from oncotwin.population import Population

    p = model.parameter_array(n, **params)
    return Population(model, p, np.full(n, 75.0), np.full(n, 170.0), np.full(n, 1.87), 0, {})


def _run(model, pop, regimen, days: float, every: float = 1.0):
    from oncotwin.simulation import simulate
    from oncotwin.solvers import SolverOptions

    opts = SolverOptions(rtol=1e-6, atol=1e-10)
    return simulate(model, regimen, patients=pop, days=days, every=every, options=opts).solution


def _nonnegative(sol) -> bool:
    """Every state declared non-negative stays >= 0 (to solver round-off)."""
    k = [i for i, st in enumerate(sol.model.states) if st.nonnegative]
    y = sol.y[:, :, k]
    return bool(np.all(y >= -1e-9 * (1 + np.abs(y).max(axis=(0, 1)))))


def _burden(sol) -> np.ndarray:
    from oncotwin.models.metastatic_io import SITES

    return sum(sol[f"{p}_{s}"] for s in SITES for p in ("T", "U"))


@pytest.mark.parametrize(
    ("regimen", "antigen", "site"),
    [(BLIN, "CD19", "bone"), (TEC, "BCMA", "bone"), (TEB, "gp100", "liver")],
)
def test_an_engager_kills_only_when_its_target_is_expressed(model, regimen, antigen, site):
    """A bispecific needs its target antigen: with expresses_<target> = 0 the engager changes
    neither the tumour nor the CRS cytokine (the trajectory is the untreated one); with 1 it
    shrinks the tumour and releases cytokine."""
    kw = {
        "burden_primary": 0.0,
        "burden_lung": 0.0,
        f"burden_{site}": 20.0,
        f"expresses_{antigen}": np.array([0.0, 1.0]),
    }
    days = 56.0
    treated = _run(model, _pop(model, 2, **kw), regimen, days)
    untreated = _run(model, _pop(model, 2, **kw), None, days)
    b_t, b_u = _burden(treated), _burden(untreated)
    np.testing.assert_allclose(b_t[0], b_u[0], rtol=1e-4)
    assert np.max(treated["cytokine"][0]) == 0.0
    assert np.max(treated["engager_kill_rate"][0]) == 0.0
    assert b_t[1, -1] < 0.5 * b_u[1, -1]
    assert np.max(treated["cytokine"][1]) > 0.0
    for sol in (treated, untreated):
        assert _nonnegative(sol)


def test_engager_cytokine_rises_with_the_target_burden(model):
    """The CRS cytokine of an engager follows its kill flux, so it rises with the burden of
    target-positive cells (CRS after engagers is commoner with high disease burden)."""
    kw = {"burden_primary": 0.0, "burden_lung": 0.0, "expresses_BCMA": 1.0}
    kw["burden_bone"] = np.array([2.0, 20.0, 200.0])
    sol = _run(model, _pop(model, 3, **kw), TEC, 28.0)
    peak = np.max(sol["cytokine"], axis=1)
    assert peak[0] < peak[1] < peak[2]


def test_lag3_blockade_adds_to_pd1_blockade_and_needs_effectors(model):
    """nivolumab + relatlimab kills at least as much as nivolumab alone (the LAG-3 brake
    multiplies the PD-1 brake); relatlimab without tumour-specific effectors does nothing."""
    kw = {"burden_primary": 0.0, "burden_lung": 10.0, "infiltration": 1.0}
    kw["pdl1_baseline"] = np.array([0.1, 0.4, 0.8])
    pop = _pop(model, 3, **kw)
    days = 168.0
    nivo = _run(model, pop, "nivolumab 480 mg IV q4w x6", days, every=7.0)
    combo = _run(model, pop, "nivolumab 480 mg + relatlimab 160 mg IV q4w x6", days, every=7.0)
    assert np.all(_burden(combo)[:, -1] <= _burden(nivo)[:, -1] * (1 + 1e-6))
    assert np.any(_burden(combo)[:, -1] < 0.9 * _burden(nivo)[:, -1])
    assert np.max(combo["aLAG3_c"]) > 0 and np.max(nivo["aLAG3_c"]) == 0

    none = dict(
        burden_primary=0.0,
        burden_lung=10.0,
        effector_blood_0=0.0,
        infiltration=0.0,
        priming_rate=0.0,
    )
    pop0 = _pop(model, 1, **none)
    rela = _run(model, pop0, "relatlimab 160 mg IV q4w x6", days, every=7.0)
    base = _run(model, pop0, None, days, every=7.0)
    np.testing.assert_allclose(_burden(rela), _burden(base), rtol=1e-5)


def test_lifileucel_adds_tumour_specific_effectors(model):
    """Infused TIL join the blood effectors (the tumour-reactive share) and leave less tumour
    than the same conditioning and IL-2 without the cells (one typical patient: ~60% less
    burden at 12 weeks)."""
    kw = {"burden_primary": 0.0, "burden_lung": 10.0, "infiltration": 0.3}
    pop = _pop(model, 1, **kw)
    without = TIL_REGIMEN.replace("lifileucel 3e10 cells IV once with ", "")
    til = _run(model, pop, TIL_REGIMEN, 84.0)
    ctrl = _run(model, pop, without, 84.0)
    assert np.max(til["til"]) > 0 and np.max(ctrl["til"]) == 0
    day3 = int(np.searchsorted(til.t, 3.0))
    assert til["effector_blood"][0, day3] > 5 * ctrl["effector_blood"][0, day3]
    assert _burden(til)[0, -1] < 0.6 * _burden(ctrl)[0, -1]
    assert _nonnegative(til)
