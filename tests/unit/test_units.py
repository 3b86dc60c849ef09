"""Tests of oncotwin.units."""

import numpy as np
import pytest

from oncotwin.errors import UnitError
from oncotwin.units import DoseAmount, bsa_mosteller, parse_dose, parse_quantity, to_days


@pytest.mark.parametrize(
    ("text", "value", "kind", "basis"),
    [
        ("200 mg", 200.0, "mass", "flat"),
        ("3 mg/kg", 3.0, "mass", "per_kg"),
        ("375 mg/m2", 375.0, "mass", "per_m2"),
        ("75 mg/m^2", 75.0, "mass", "per_m2"),
        ("2e6 cells/kg", 2e6, "cells", "per_kg"),
        ("450e6 cells", 450e6, "cells", "flat"),
        ("600000 IU/kg", 600000.0, "IU", "per_kg"),
        ("1e8 PFU", 1e8, "PFU", "flat"),
        ("1 g", 1000.0, "mass", "flat"),
        ("500 ug", 0.5, "mass", "flat"),
        ("8 Gy", 8.0, "Gy", "flat"),
        ("180 cGy", 1.8, "Gy", "flat"),
        ("500 mGy", 0.5, "Gy", "flat"),
    ],
)
def test_parse_dose(text, value, kind, basis):
    d = parse_dose(text)
    assert d.value == pytest.approx(value)
    assert (d.kind, d.basis) == (kind, basis)
    assert parse_dose(str(d)) == d


def test_dose_text_is_canonical():
    assert str(parse_dose("3 mg/kg")) == "3 mg/kg"
    assert str(parse_dose("1 g")) == "1000 mg"
    assert str(parse_dose("2e6 cells/kg")) == "2e6 cells/kg"
    assert str(parse_dose("180 cGy")) == "1.8 Gy"


def test_radiation_dose_is_flat():
    w, b = np.array([80.0, 60.0]), np.array([2.0, 1.5])
    np.testing.assert_allclose(parse_dose("8 Gy").per_patient(w, b), [8.0, 8.0])
    with pytest.raises(UnitError, match="a radiation dose in Gy has basis 'flat', not 'per_m2'"):
        DoseAmount(2.0, "Gy", "per_m2")


def test_per_patient_scaling():
    w, b = np.array([80.0, 60.0]), np.array([2.0, 1.5])
    np.testing.assert_allclose(parse_dose("3 mg/kg").per_patient(w, b), [240.0, 180.0])
    np.testing.assert_allclose(parse_dose("75 mg/m2").per_patient(w, b), [150.0, 112.5])
    np.testing.assert_allclose(parse_dose("200 mg").per_patient(w, b), [200.0, 200.0])


def test_durations():
    assert to_days("2 h", field="t") == pytest.approx(1 / 12)
    assert to_days("30 min", field="t") == pytest.approx(30 / 1440)
    assert to_days("1 day", field="t") == 1.0
    assert parse_quantity("0.5 h", field="t").to("min").magnitude == pytest.approx(30)


def test_bsa_mosteller():
    np.testing.assert_allclose(bsa_mosteller(np.array([81.0]), np.array([177.8])), [2.0], atol=0.01)
    with pytest.raises(UnitError, match="weight_kg"):
        bsa_mosteller(np.array([-1.0]), np.array([170.0]))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("200 mL", r"dose: unit 'mL' .* not a dose unit.*accepted units: mg, mg/kg, mg/m2, cells"),
        ("3 mg/L", r"not a dose unit"),
        ("nan mg", r"dose: 'nan mg' is NaN; give a finite dose"),
        ("0 mg", r"is zero; a dose must be > 0"),
        ("-3 mg", r"is negative; a dose must be > 0"),
        ("abc", r"cannot read 'abc' as a quantity"),
        ("8 Gy/kg", r"unit 'Gy/kg' in '8 Gy/kg': a radiation dose is not scaled by body size"),
        ("2 Gy/m2", r"drop the '/m2' and give the dose per fraction"),
        ("8 Sv", r"unit 'Sv' in '8 Sv' is not a radiotherapy dose unit; .* Gy or cGy"),
        ("-2 Gy", r"'-2 Gy' is negative; a dose must be > 0"),
        ("0 cGy", r"'0 cGy' is zero"),
    ],
)
def test_dose_errors(text, pattern):
    with pytest.raises(UnitError, match=pattern):
        parse_dose(text)


def test_quantity_errors():
    with pytest.raises(UnitError, match=r"infusion: unit 'mg' .* accepted units: day"):
        to_days("5 mg", field="infusion")
    with pytest.raises(UnitError, match=r"x: unknown unit 'furlongz'"):
        parse_quantity("3 furlongz", field="x")
    with pytest.raises(UnitError, match=r"x: '-1 h' is negative"):
        parse_quantity("-1 h", field="x")
    with pytest.raises(UnitError, match="not a positive finite"):
        DoseAmount(0.0, "mass")
