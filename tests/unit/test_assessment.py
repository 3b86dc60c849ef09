"""The response-criteria registry: lookup, readout checks, equality with the direct functions."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError
from oncotwin.trials import recist
from oncotwin.trials.assessment import (
    CRITERIA,
    ORGANS,
    Assessment,
    Readouts,
    RecistResult,
    _registry,
    assess,
    assess_imwg,
    assess_lugano,
    assess_marrow,
    assess_recist,
    get_criterion,
    register_criterion,
)

N, V, L = 40, 5, 6
DAYS = np.array([0.0, 42.0, 84.0, 126.0, 168.0])


def _population(seed: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    trend = rng.uniform(0.6, 1.3, (N, 1, 1)) ** np.arange(V)[None, :, None]
    d = rng.uniform(5.0, 50.0, (N, 1, L)) * trend
    d[:, :, 4:] = np.nan
    return {
        "scan_days": DAYS,
        "death_day": np.where(rng.random(N) < 0.2, rng.uniform(20, 200, N), np.inf),
        "end_day": np.full(N, 170.0),
        "new_lesion_day": np.where(rng.random(N) < 0.2, rng.uniform(20, 200, N), np.inf),
        "lesion_diameter_mm": d,
        "lesion_organ": rng.integers(0, len(ORGANS), (N, L)),
        "tumour_burden": rng.uniform(0.5, 3.0, (N, 1)) * trend[:, :, 0],
        "marrow_blast_fraction": np.clip(rng.uniform(0, 1, (N, 1)) * trend[:, :, 0], 0, 1),
    }


IDS = np.arange(N, dtype=np.int64) + 100


def _same(a: Assessment, b: Assessment) -> None:
    for f in fields(Assessment):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
        else:
            assert x == y, f.name


def test_builtin_names_match_the_cancer_sets() -> None:
    assert {"recist", "irecist", "lugano", "imwg", "marrow"} <= set(CRITERIA)
    from oncotwin.models.metastatic_io_cancers import CANCER_SETS

    for cs in CANCER_SETS.values():
        assert cs.assessment in CRITERIA


def test_get_criterion_is_case_insensitive_and_suggests() -> None:
    assert get_criterion(" RECIST ") is CRITERIA["recist"]
    assert get_criterion("irecist").citation == "Seymour2017"
    with pytest.raises(UnknownNameError, match=r"unknown response criterion 'lugan'.*'lugano'"):
        get_criterion("lugan")


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        CRITERIA["x"] = CRITERIA["recist"]  # type: ignore[index]


@pytest.mark.parametrize("irecist", [False, True])
@pytest.mark.parametrize("confirm_min_days", [28.0, 56.0])
def test_assess_recist_equals_the_function(irecist: bool, confirm_min_days: float) -> None:
    p = _population()
    r = Readouts(**p)
    name = "irecist" if irecist else "recist"
    got = assess(name, r, seed=7, patient_ids=IDS, confirm_min_days=confirm_min_days)
    want = assess_recist(
        DAYS,
        p["lesion_diameter_mm"],
        p["lesion_organ"],
        p["new_lesion_day"],
        p["death_day"],
        p["end_day"],
        seed=7,
        patient_ids=IDS,
        irecist=irecist,
        confirm_min_days=confirm_min_days,
    )
    _same(got, want)
    if irecist:  # the option of "recist" gives the same as the "irecist" entry
        _same(
            assess(
                "recist",
                r,
                seed=7,
                patient_ids=IDS,
                irecist=True,
                confirm_min_days=confirm_min_days,
            ),
            want,
        )
    assert isinstance(got, RecistResult) and RecistResult is recist.RecistResult


def test_assess_other_criteria_equal_the_functions() -> None:
    p = _population(5)
    r = Readouts(**p)
    args = (p["death_day"], p["end_day"])
    lesions = (p["lesion_diameter_mm"], p["lesion_organ"], p["new_lesion_day"], *args)
    _same(
        assess("lugano", r, seed=3, patient_ids=IDS),
        assess_lugano(DAYS, *lesions, seed=3, patient_ids=IDS),
    )
    _same(
        assess("imwg", r, seed=3, patient_ids=IDS, pd_min_increase=0.1),
        assess_imwg(
            DAYS,
            p["tumour_burden"],
            *args,
            seed=3,
            patient_ids=IDS,
            new_lesion_day=p["new_lesion_day"],
            pd_min_increase=0.1,
        ),
    )
    _same(
        assess("marrow", r, seed=3, patient_ids=IDS),
        assess_marrow(
            DAYS,
            p["marrow_blast_fraction"],
            *args,
            seed=3,
            patient_ids=IDS,
            new_lesion_day=p["new_lesion_day"],
        ),
    )


def test_missing_readout_names_criterion_and_readout() -> None:
    p = _population()
    r = Readouts(p["scan_days"], p["death_day"], p["end_day"], tumour_burden=p["tumour_burden"])
    with pytest.raises(OncotwinError, match=r"criterion 'lugano' needs readout lesion_diameter_mm"):
        assess("lugano", r, seed=0, patient_ids=IDS)
    with pytest.raises(OncotwinError, match=r"'marrow' needs readout marrow_blast_fraction"):
        assess("marrow", r, seed=0, patient_ids=IDS)
    assert assess("imwg", r, seed=0, patient_ids=IDS).n_patients == N


def test_unknown_option_and_wrong_readouts_type() -> None:
    r = Readouts(**_population())
    with pytest.raises(ParameterError, match=r"criterion 'recist': unknown option 'confirm_days'"):
        assess("recist", r, seed=0, patient_ids=IDS, confirm_days=28)
    with pytest.raises(ParameterError, match=r"unknown option 'irecist'"):
        assess("irecist", r, seed=0, patient_ids=IDS, irecist=False)
    with pytest.raises(OncotwinError, match=r"readouts is a dict; build a"):
        assess("recist", _population(), seed=0, patient_ids=IDS)  # type: ignore[arg-type]


def test_confirmation_interval_is_an_option_of_every_builtin() -> None:
    for c in CRITERIA.values():
        if c.name in ("recist", "irecist", "lugano", "imwg", "marrow"):
            assert "confirm_min_days" in c.options and "confirm" in c.options


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"scan_days": np.array([0.0, 42.0, 42.0, 84.0, 90.0])}, r"scan_days must be finite"),
        ({"scan_days": np.zeros((1, 5))}, r"scan_days has shape \(1, 5\)"),
        ({"death_day": np.full(N, np.nan)}, r"death_day\[0\] = nan is invalid"),
        ({"end_day": np.full(N, np.inf)}, r"end_day\[0\] = inf is invalid; give a finite day"),
        ({"new_lesion_day": np.ones(N + 1)}, rf"new_lesion_day has shape \({N + 1},\)"),
        ({"lesion_diameter_mm": np.ones((N, V + 1, L))}, r"lesion_diameter_mm has shape"),
        ({"lesion_diameter_mm": -np.ones((N, V, L))}, r"lesion_diameter_mm\[0, 0, 0\] = -1.0"),
        ({"lesion_organ": np.full((N, L), 9)}, r"lesion_organ holds code 9"),
        ({"lesion_organ": np.ones((N, L + 1), int)}, r"lesion_organ has shape"),
        ({"lesion_organ": None}, r"lesion_diameter_mm is given without its partner"),
        ({"tumour_burden": np.full((N, V), np.nan)}, r"tumour_burden\[0, 0\] = nan is invalid"),
        ({"tumour_burden": np.ones((N, V - 1))}, rf"tumour_burden has shape \({N}, {V - 1}\)"),
        ({"marrow_blast_fraction": np.full((N, V), 1.5)}, r"marrow_blast_fraction\[0, 0\] = 1.5"),
    ],
)
def test_readouts_validation(change: dict, match: str) -> None:
    with pytest.raises(OncotwinError, match=match):
        Readouts(**(_population() | change))


def test_readouts_are_frozen_and_copy_small_arrays() -> None:
    p = _population()
    r = Readouts(**p)
    assert r.n_patients == N and r.n_scans == V
    assert r.lesion_diameter_mm is p["lesion_diameter_mm"]  # large arrays are not copied
    assert not r.death_day.flags.writeable
    with pytest.raises(AttributeError):
        r.end_day = p["end_day"]  # type: ignore[misc]


def test_user_registered_criterion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_CRITERIA", dict(_registry._CRITERIA))
    monkeypatch.setattr(_registry, "CRITERIA", _registry.MappingProxyType(_registry._CRITERIA))

    def burden_recist(r: Readouts, *, seed: int, patient_ids: np.ndarray, cut: float = 0.5):
        """RECIST-like thresholds on a burden series (a toy criterion)."""
        return assess_imwg(
            r.scan_days,
            r.tumour_burden,
            r.death_day,
            r.end_day,
            seed=seed,
            patient_ids=patient_ids,
            cr_fraction=cut,
            noise_cv=0.0,
        )

    c = register_criterion("burden", burden_recist, needs=["tumour_burden"], description="toy")
    assert c.options == ("cut",) and c.needs == ("tumour_burden",)
    r = Readouts(**_population())
    got = assess("Burden", r, seed=1, patient_ids=IDS, cut=0.9)
    assert isinstance(got, Assessment) and got.n_patients == N
    with pytest.raises(ParameterError, match=r"criterion 'burden' is already registered"):
        register_criterion("burden", burden_recist, needs=(), description="again")
    with pytest.raises(UnknownNameError, match=r"unknown readout 'tumor_burden'.*'tumour_burden'"):
        register_criterion("x", burden_recist, needs=("tumor_burden",), description="typo")
    register_criterion("bad", lambda r, **kw: 1, needs=(), description="returns an int")
    with pytest.raises(OncotwinError, match=r"criterion 'bad' returned a int, not an Assessment"):
        assess("bad", r, seed=1, patient_ids=IDS)
