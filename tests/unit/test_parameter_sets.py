"""Parameter sets (``oncotwin.parameters.ParameterSet``): loading by name, composition, writing,
validation against the model, and the metastatic_io sets built from the data files."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

from oncotwin.citations import reset_used_citations, used_citations
from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError
from oncotwin.models.metastatic_io_cancers import CANCER_SETS, cancer_set
from oncotwin.models.registry import MODELS, get_model
from oncotwin.parameters import Parameter, ParameterSet, Source, list_parameter_sets

CANCERS = (
    "melanoma",
    "nsclc",
    "renal_cell",
    "urothelial",
    "colorectal_msi_high",
    "breast_her2",
    "prostate",
    "large_b_cell_lymphoma",
    "b_all",
    "multiple_myeloma",
    "colorectal",
    "follicular_lymphoma",
    "hepatocellular",
    "head_and_neck",
    "gastric",
    "small_cell_lung",
    "triple_negative_breast",
)


@pytest.fixture(scope="module")
def default() -> ParameterSet:
    return ParameterSet.load("metastatic_io/default")


@pytest.fixture(scope="module")
def melanoma() -> ParameterSet:
    return ParameterSet.load("metastatic_io/melanoma")


def _write(tmp_path: Path, body: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


GROWTH = (
    '[parameters.growth_rate]\nvalue = 0.004\nunit = "1/day"\nassumption = true\nreason = "fit"\n'
)


# ----------------------------------------------------------------------------- loading
def test_default_set_is_the_models_parameters(default: ParameterSet) -> None:
    model = get_model("metastatic_io")
    assert default.name == "metastatic_io/default"
    assert default.model == "metastatic_io" and default.base is None
    # the same names (the file's order is free: subsystems append their records)
    assert sorted(default) == sorted(model.parameter_names)
    assert len(list(default)) == len(model.parameter_names)
    assert dict(default.parameters) == dict(model.parameters)
    # exact floats, e.g. Hahnfeldt's b rescaled to human time
    assert default["angio_stimulation"].value == 5.85 * 0.00286 / 0.192
    assert default.vector(model).tobytes() == model.default_parameters().tobytes()
    assert ParameterSet.load("metastatic_io") is default
    assert default.origin.endswith("sets/metastatic_io/default.toml")


def test_cancer_set_layers_over_default(default: ParameterSet, melanoma: ParameterSet) -> None:
    assert melanoma.base == "metastatic_io/default"
    assert melanoma.own == ("growth_rate", "chemo_sensitivity", "rt_alpha")
    assert melanoma["growth_rate"].value == 0.23 / 60.0
    assert melanoma["kill_max"] == default["kill_max"]
    assert set(melanoma) == set(default)
    assert dict(melanoma.settings) == {
        "antigens": ["gp100"],
        "primary_mm": 0.0,
        "haematologic": False,
        "assessment": "recist",
    }


@pytest.mark.parametrize("cancer", CANCERS)
def test_cancer_sets_are_built_from_the_files(cancer: str) -> None:
    pset = ParameterSet.load(f"metastatic_io/{cancer}")
    cs = CANCER_SETS[cancer]
    assert cancer_set(cancer) is cs
    assert dict(cs.parameters) == {k: pset[k] for k in pset.own}
    assert cs.parameter_set is pset
    assert list(pset.settings["antigens"]) == list(cs.antigens)
    assert (pset.settings["primary_mm"], pset.settings["assessment"]) == (
        cs.primary_mm,
        cs.assessment,
    )


def test_list_parameter_sets() -> None:
    names = list_parameter_sets()
    assert names == sorted(names)
    assert {f"{m}/default" for m in MODELS} <= set(names)
    assert list_parameter_sets("metastatic_io") == sorted(
        ["metastatic_io/default", *(f"metastatic_io/{c}" for c in CANCERS)]
    )
    assert list_parameter_sets("kuznetsov1994") == ["kuznetsov1994/default"]
    with pytest.raises(UnknownNameError, match=r"unknown model 'metastatic_oi'; did you mean"):
        list_parameter_sets("metastatic_oi")


@pytest.mark.parametrize("name", list_parameter_sets())
def test_every_shipped_set_validates_against_its_model(name: str) -> None:
    pset = ParameterSet.load(name)
    model = get_model(pset.model or "")
    assert set(pset) <= set(model.parameter_names)
    checked = pset.check(model)
    assert dict(checked.parameters) == dict(pset.parameters)  # nothing to convert
    assert all(p.source is not None or p.reason for p in pset.values())
    assert model.check_parameters(pset.vector(model)[None, :]).shape == (1, model.n_parameters)


@pytest.mark.parametrize("name", [m for m in MODELS if m != "metastatic_io"])
def test_library_models_have_a_default_set_without_a_file(name: str) -> None:
    model = get_model(name)
    pset = ParameterSet.load(f"{name}/default")
    assert dict(pset.parameters) == dict(model.parameters)
    assert pset.vector(model).tobytes() == model.default_parameters().tobytes()


def test_sets_are_frozen(default: ParameterSet) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        default.parameters["growth_rate"] = default["kill_max"]  # type: ignore[index]


# ------------------------------------------------------------------------- composition
def test_later_set_wins(default: ParameterSet, melanoma: ParameterSet) -> None:
    fit = ParameterSet(
        "metastatic_io/fit",
        {"growth_rate": melanoma["growth_rate"].with_value(0.005)},
        model="metastatic_io",
    )
    layered = default | melanoma | fit
    assert layered["growth_rate"].value == 0.005
    assert layered["chemo_sensitivity"] == melanoma["chemo_sensitivity"]
    assert layered["kill_max"] == default["kill_max"]
    assert layered.name == "metastatic_io/default | metastatic_io/melanoma | metastatic_io/fit"
    assert layered.own == ("growth_rate",)
    assert (melanoma | default)["growth_rate"] == default["growth_rate"]
    assert (default | melanoma).settings["assessment"] == "recist"


def test_compose_refuses_other_models_and_non_sets(default: ParameterSet) -> None:
    kuz = ParameterSet.load("kuznetsov1994/default")
    with pytest.raises(ParameterError, match=r"compose sets of one model"):
        _ = default | kuz
    with pytest.raises(TypeError):
        _ = default | {"growth_rate": 0.1}  # type: ignore[operator]


# --------------------------------------------------------------------- writing/reading
def test_save_and_load_round_trip_keeps_exact_floats(tmp_path: Path, default: ParameterSet) -> None:
    path = default.save(tmp_path / "copy.toml")
    back = ParameterSet.from_file(path)
    assert back.name == default.name and back.model == "metastatic_io"
    assert dict(back.parameters) == dict(default.parameters)
    for key, p in default.items():
        assert back[key].value.hex() == p.value.hex()
    assert back.to_toml() == default.to_toml()


def test_save_over_writes_only_the_differences(tmp_path: Path, melanoma: ParameterSet) -> None:
    fit = melanoma | ParameterSet(
        "fit",
        {"kill_max": melanoma["kill_max"].with_value(2.0)},  # inside its range 1.43-7.17
        model="metastatic_io",
    )
    fit = dataclasses.replace(fit, name="metastatic_io/fit")
    text = fit.to_toml(over=melanoma)
    assert 'base = "melanoma"' in text
    assert re.findall(r"^\[parameters\.(\w+)\]", text, re.MULTILINE) == ["kill_max"]
    back = ParameterSet.from_file(fit.save(tmp_path / "fit.toml", over=melanoma))
    assert back.base == "metastatic_io/melanoma" and back.own == ("kill_max",)
    assert dict(back.parameters) == dict(fit.parameters)
    with pytest.raises(ParameterError, match=r"must end in \.toml"):
        fit.save(tmp_path / "fit.txt")


def test_user_file_over_a_shipped_set(tmp_path: Path) -> None:
    path = _write(tmp_path, f'model = "metastatic_io"\nbase = "melanoma"\n\n{GROWTH}')
    mine = ParameterSet.from_file(path)
    assert mine.name == "mine" and mine.base == "metastatic_io/melanoma"
    assert mine["growth_rate"].value == 0.004
    assert mine["chemo_sensitivity"].value == 0.5  # melanoma's
    # a file next to it as base
    _write(tmp_path, f'base = "mine.toml"\n\n{GROWTH.replace("0.004", "0.005")}', "next.toml")
    nxt = ParameterSet.from_file(tmp_path / "next.toml")
    assert nxt.model == "metastatic_io" and nxt["growth_rate"].value == 0.005
    assert nxt["chemo_sensitivity"].value == 0.5


def test_compatible_unit_is_converted(tmp_path: Path) -> None:
    body = '[parameters.growth_rate]\nvalue = 0.07\nunit = "1/week"\nassumption = true\n'
    path = _write(tmp_path, f'model = "metastatic_io"\n\n{body}reason = "fit"\n')
    p = ParameterSet.from_file(path)["growth_rate"]
    assert p.unit == "1/day" and p.value == pytest.approx(0.01, rel=1e-15)


# ----------------------------------------------------------------------------- citations
def test_citations_of_a_set(default: ParameterSet, melanoma: ParameterSet) -> None:
    assert default.citations == (
        "Iwata2000",
        "Hahnfeldt1999",
        "dePillis2005",
        "Kaech2012",
        "Stein2019",
        "Friberg2002",
        "Larkin2015",
        "Atkins1999",
        "CTCAE5",
        "Tang2021",
    )
    # the cancer values are assumptions: Iwata2000 is cited for the colonisation values only
    assert melanoma.citations == (
        "Hahnfeldt1999",
        "dePillis2005",
        "Kaech2012",
        "Iwata2000",
        "Stein2019",
        "Friberg2002",
        "Larkin2015",
        "Atkins1999",
        "CTCAE5",
        "Tang2021",
    )
    own = ParameterSet("x", {k: melanoma[k] for k in melanoma.own})
    assert own.citations == ()
    reset_used_citations()
    melanoma.use_citations()
    assert used_citations() == list(melanoma.citations)
    reset_used_citations()


# -------------------------------------------------------------------------------- errors
def test_unknown_set_name_suggests() -> None:
    with pytest.raises(
        UnknownNameError,
        match=r"unknown parameter set 'metastatic_io/melanome'; did you mean "
        r"'metastatic_io/melanoma'.*list_parameter_sets\(\)",
    ):
        ParameterSet.load("metastatic_io/melanome")
    with pytest.raises(ParameterError, match=r"give '<model>/<set>'"):
        ParameterSet.load("")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"nothere.toml does not exist; give the path"):
        ParameterSet.from_file(tmp_path / "nothere.toml")


def _error(tmp_path: Path, body: str) -> str:
    path = _write(tmp_path, body)
    with pytest.raises(OncotwinError) as info:  # ParameterError, UnknownNameError for names
        ParameterSet.from_file(path)
    message = str(info.value)
    assert str(path) in message  # every message names the file
    return message


def test_unknown_parameter_suggests(tmp_path: Path) -> None:
    body = f'model = "metastatic_io"\n\n{GROWTH.replace("growth_rate", "growht_rate")}'
    message = _error(tmp_path, body)
    with pytest.raises(UnknownNameError):
        ParameterSet.from_file(tmp_path / "mine.toml")
    assert "unknown parameter 'growht_rate'; did you mean 'growth_rate'?" in message
    assert "rename it to one of the model's parameters" in message


def test_nan_value(tmp_path: Path) -> None:
    message = _error(tmp_path, GROWTH.replace("0.004", "nan"))
    assert "parameter 'growth_rate': value is nan; give a finite number" in message


def test_incompatible_unit(tmp_path: Path) -> None:
    message = _error(tmp_path, f'model = "metastatic_io"\n\n{GROWTH.replace("1/day", "L")}')
    assert (
        "parameter 'growth_rate': unit 'L' is not compatible with the model's unit '1/day'; "
        'give the value in the model\'s unit: unit = "1/day"'
    ) in message


def test_missing_unit_quotes_the_models_unit(tmp_path: Path) -> None:
    body = GROWTH.replace('unit = "1/day"\n', "")
    message = _error(tmp_path, f'model = "metastatic_io"\n\n{body}')
    assert "parameter 'growth_rate': no unit; add unit = \"1/day\" (the model's unit)" in message


def test_missing_source_and_unknown_citation(tmp_path: Path) -> None:
    body = '[parameters.k]\nvalue = 1.0\nunit = "1/day"\n'
    assert "no source; add source = " in _error(tmp_path, body)
    message = _error(tmp_path, body + 'source = "Iwata200"\n')
    assert "did you mean 'Iwata2000'" in message


def test_unknown_field_and_key_suggest(tmp_path: Path) -> None:
    assert "unknown field 'vlaue'; did you mean 'value'?" in _error(
        tmp_path, GROWTH.replace("value", "vlaue")
    )
    assert "unknown key 'bsae'; did you mean 'base'?" in _error(tmp_path, 'bsae = "default"\n')


def test_out_of_range_and_bad_toml(tmp_path: Path) -> None:
    body = '[parameters.emt]\nvalue = 2.0\nunit = "1"\nassumption = true\nreason = "x"\n'
    message = _error(tmp_path, f'model = "metastatic_io"\n\n{body}')
    assert "outside the model's valid range [0.0, 1.0]" in message
    assert "is not valid TOML" in _error(tmp_path, "value = = 1\n")


def test_base_cycle(tmp_path: Path) -> None:
    message = _error(tmp_path, 'base = "mine.toml"\n')
    assert "base sets form a cycle" in message


def test_build_says_which_value_is_missing() -> None:
    from oncotwin.models.base import ModelBuilder
    from oncotwin.models.metastatic_io import _Build

    io = _Build(ModelBuilder("x"), ParameterSet("metastatic_io/default", {}, origin="d.toml"))
    with pytest.raises(ParameterError, match=r"parameter 'growth_rate' .* no value in d.toml; add"):
        io.p("growth_rate")
    record = Parameter(1.0, "1", source=Source("Iwata2000"))
    io = _Build(ModelBuilder("x"), ParameterSet("s", {"extra": record}, origin="d.toml"))
    with pytest.raises(ParameterError, match=r"d.toml gives values for \['extra'\]"):
        io.check_all_used()


def test_writing_nan_is_refused() -> None:
    record = Parameter(1.0, "1", assumption=True, reason="x")
    object.__setattr__(record, "value", math.nan)
    with pytest.raises(ParameterError, match=r"cannot write NaN"):
        ParameterSet("s", {"k": record}).to_toml()
    assert np.isnan(record.value)
