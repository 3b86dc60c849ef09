"""The generated model page ``docs/metastatic_io.md`` (``scripts/model_docs.py``).

The page is printed from the model definition; these tests fail when the committed page is out
of date with the model, and say how to regenerate it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

import oncotwin as ot
from oncotwin.citations import get_citation
from oncotwin.errors import OncotwinError
from oncotwin.models import metastatic_io as mio
from oncotwin.models import metastatic_io_cancers as mio_cancers
from oncotwin.models import metastatic_io_readouts as mio_readouts
from oncotwin.models.base import Model
from oncotwin.models.registry import MODELS, get_model

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "python scripts/model_docs.py metastatic_io --out docs/metastatic_io.md"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_docs", ROOT / "scripts/model_docs.py")
    if spec is None or spec.loader is None:  # pragma: no cover - the file is in the repo
        pytest.fail("scripts/model_docs.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


md = _load_script()


@pytest.fixture(scope="module")
def model() -> Model:
    return get_model("metastatic_io")


@pytest.fixture(scope="module")
def page(model: Model) -> str:
    """A fresh generation of the metastatic_io page (built once for the module)."""
    return md.render("metastatic_io")


def _section(page: str, title: str) -> str:
    """The body of section ``## title`` of a page."""
    for chunk in page.split("\n## ")[1:]:
        head, _, body = chunk.partition("\n")
        if head.strip() == title:
            return body
    raise AssertionError(f"section {title!r} missing from the page")


def _rows(section: str) -> dict[str, str]:
    """Table rows of a section keyed by their first cell without backticks."""
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            rows[line.split("|")[1].strip().strip("`")] = line
    return rows


# ----------------------------------------------------------------- the committed page
def test_committed_page_is_up_to_date(page: str) -> None:
    path = ROOT / "docs" / "metastatic_io.md"
    if not path.is_file():
        pytest.fail(f"docs/metastatic_io.md is missing; generate it with: {REGENERATE}")
    committed = path.read_text(encoding="utf-8")
    if committed != page:
        pytest.fail(
            "docs/metastatic_io.md is out of date with the metastatic_io model (the model, its "
            "cancer sets or its readouts changed after the page was generated). Regenerate and "
            f"commit it:\n    {REGENERATE}\nthen check with: "
            "python scripts/model_docs.py metastatic_io --check\nfirst differences:\n"
            + md.first_differences(committed, page)
        )


def test_check_says_how_to_regenerate(tmp_path: Path) -> None:
    stale = tmp_path / "kuznetsov1994.md"
    missing = md.check("kuznetsov1994", stale)
    assert missing is not None
    assert "does not exist; regenerate it with: python scripts/model_docs.py kuznetsov1994" in (
        missing
    )
    stale.write_text(md.render("kuznetsov1994").replace("| `a` | 0.18 |", "| `a` | 0.2 |"))
    message = md.check("kuznetsov1994", stale)
    assert message is not None
    assert "is out of date with model 'kuznetsov1994'" in message
    assert f"regenerate it with: python scripts/model_docs.py kuznetsov1994 --out {stale}" in (
        message
    )
    assert "\n-| `a` | 0.2 |" in message  # the first differences are shown
    assert "\n+| `a` | 0.18 |" in message
    stale.write_text(md.render("kuznetsov1994"))
    assert md.check("kuznetsov1994", stale) is None


def test_default_command_is_the_documented_one() -> None:
    assert md.regenerate_command("metastatic_io") == REGENERATE
    assert md.default_path("metastatic_io") == ROOT / "docs" / "metastatic_io.md"


def test_cli_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k.md"
    assert md.main(["kuznetsov1994", "--check", "--out", str(out)]) == 1
    assert "does not exist; regenerate it with" in capsys.readouterr().err
    assert md.main(["kuznetsov1994", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == md.render("kuznetsov1994")
    assert md.main(["kuznetsov1994", "--check", "--out", str(out)]) == 0
    assert "is up to date" in capsys.readouterr().out
    out.write_text("stale\n", encoding="utf-8")
    assert md.main(["kuznetsov1994", "--check", "--out", str(out)]) == 1
    assert "is out of date with model 'kuznetsov1994'" in capsys.readouterr().err
    assert md.main(["kuznetsov1994", "--out", "-"]) == 0
    assert capsys.readouterr().out.startswith("# Model `kuznetsov1994`")


def test_cli_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert md.main(["metastatic_oi"]) == 2
    assert "error: unknown model 'metastatic_oi'" in capsys.readouterr().err


def test_equations_format_change_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Model, "equations", lambda self: "")
    with pytest.raises(OncotwinError, match=r"model.equations\(\) of 'kuznetsov1994' has no line"):
        md.render("kuznetsov1994")


@pytest.mark.parametrize("name", [n for n in MODELS if n != "metastatic_io"])
def test_every_registered_model_renders(name: str) -> None:
    text = md.render(name)
    m = get_model(name)
    assert text.startswith(f"# Model `{name}`\n\n{md.DISCLAIMER}\n")
    assert all(f"d{s}/dt = " in text for s in m.state_names)
    assert "## Sites" not in text  # only models with a SITES axis get the sites table


# ----------------------------------------------------------------- content of the page
def test_disclaimer_and_intro(page: str) -> None:
    assert page.startswith(f"# Model `metastatic_io`\n\n{md.DISCLAIMER}\n")
    assert REGENERATE in page
    overview = _section(page, "Overview")
    assert "A mechanistic, multi-site model of metastatic cancer under immunotherapy." in overview
    assert "Units: time in days" in overview


def test_sites_table_reads_the_organ_factors(page: str) -> None:
    rows = _rows(_section(page, "Sites"))
    assert list(rows) == list(mio.SITES)
    for site, row in rows.items():
        cells = [c.strip() for c in row.split("|")[2:-1]]
        assert cells[0] == ("yes" if site in mio.METASTATIC_SITES else "no")
        expected = [
            f"{table[site]:.6g}" if site in table else "-"
            for table in (mio._PENETRATION, mio._INFILTRATION, mio._SEEDING, mio._LETHALITY)
        ]
        assert cells[1:] == expected


def test_every_state_appears_with_unit_and_initial_value(page: str, model: Model) -> None:
    rows = _rows(_section(page, "States"))
    assert list(rows) == list(model.state_names)
    for s in model.states:
        assert f"| `{s.unit}` |" in rows[s.name]
        assert s.description in rows[s.name]
    assert "| `burden_primary*capacity_ratio` |" in rows["K_primary"]


def test_one_equation_per_state(page: str, model: Model) -> None:
    body = _section(page, "Equations")
    code = body.split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert [line.split("/dt = ")[0] for line in code] == [f"d{s}" for s in model.state_names]
    equations = model.equations().splitlines()
    assert all(line in equations for line in code)


def test_named_expressions_and_dose_targets(page: str, model: Model) -> None:
    body = _section(page, "Named expressions (observables)")
    for name, unit in model.expression_units.items():
        assert re.search(rf"^{name} = .*    \[{re.escape(unit)}\]$", body, re.MULTILINE)
    rows = _rows(_section(page, "Dose targets"))
    assert set(rows) == set(model.dose_targets)
    for key, target in model.dose_targets.items():
        assert f"| `{target.state}` | {target.scale:.6g} | {target.description} |" in rows[key]


def test_every_parameter_appears(page: str, model: Model) -> None:
    rows = _rows(_section(page, "Parameters"))
    assert list(rows) == list(model.parameter_names)
    for name, p in model.parameters.items():
        assert f"| `{name}` | {p.value:.6g} | `{p.unit}` | {p.log_sd:.6g} |" in rows[name]


def test_every_assumption_shows_its_reason(page: str, model: Model) -> None:
    rows = _rows(_section(page, "Parameters"))
    assumed = {n: p for n, p in model.parameters.items() if p.source is None}
    assert assumed
    for name, p in assumed.items():
        assert f"| assumption: {' '.join(p.reason.split())} |" in rows[name], name


def test_every_source_shows_its_citation(page: str, model: Model) -> None:
    rows = _rows(_section(page, "Parameters"))
    references = _section(page, "References")
    sourced = {n: p for n, p in model.parameters.items() if p.source is not None}
    assert sourced
    for name, p in sourced.items():
        assert f"| {p.source} |" in rows[name], name
        assert f"- {get_citation(p.source.key).format()}" in references, name
    for key in model.citations:
        assert f"- {get_citation(key).format()}" in references


def test_cancer_sets_and_covariate_mapping(page: str) -> None:
    rows = _rows(_section(page, "Cancer sets"))
    assert list(rows) == list(mio_cancers.CANCER_SETS)
    for name, cs in mio_cancers.CANCER_SETS.items():
        for p in cs.parameters.values():
            assert f"| {p.value:.6g} |" in rows[name]
        assert f"| {', '.join(cs.antigens) or '-'} |" in rows[name]
        assert f"| {cs.assessment} |" in rows[name]
    provenance = _section(page, "Cancer sets")
    for cs in mio_cancers.CANCER_SETS.values():
        for p in cs.parameters.values():
            assert f"assumption: {' '.join(p.reason.split())}" in provenance
    mapping = _section(page, "Covariates -> parameters")
    assert "`immunogenicity = (TMB/10)^0.5`" in mapping
    assert "`mdsc_suppression = 0.5 NLR/3.5`" in mapping


def test_readout_thresholds(page: str) -> None:
    body = _section(page, "Readouts")
    # grade thresholds and irAE organ shares are parameter records: the parameter table
    # lists each with its value and provenance
    model = ot.get_model("metastatic_io")
    names = [n for ns in mio_readouts.GRADE_THRESHOLDS.values() for n in ns]
    for name in [*names, *mio_readouts.IRAE_ORGANS.values()]:
        assert f"| `{name}` | {model.parameters[name].value:.6g} |" in page
    assert f"`DETECTABLE_LOG_CELLS = {mio_readouts.DETECTABLE_LOG_CELLS:.6g}`" in body
