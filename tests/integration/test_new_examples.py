"""The example trials of issue 12 (standard-of-care comparators) and their published arms.

IMbrave150, KEYNOTE-048, CheckMate 649, IMpower133 and KEYNOTE-355: each spec loads and
validates, links only to published arms that exist, simulates the published trial size, and runs
from ``oncotwin trial run --example NAME``. The fast tests read files only; one small run is a
smoke test (it shares the compiled metastatic_io kernel cache with the other trial tests); the
run of every example is marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from oncotwin.cli.main import app
from oncotwin.trials.spec import example_path, list_examples, load_spec
from oncotwin.trials.targets import NUMERIC_FIELDS, PUBLISHED, arms_of, load_published

runner = CliRunner()

#: example -> (trial name in published_arms.csv, the arm ids its arms link, in arm order)
NEW_EXAMPLES: dict[str, tuple[str, list[str]]] = {
    "imbrave150": ("IMbrave150", ["IMB150_ATEZO_BEV", "IMB150_SORAFENIB"]),
    "keynote048": ("KEYNOTE-048", ["KN048_PEMBRO", "KN048_PEMBRO_CHEMO", "KN048_EXTREME"]),
    "checkmate649": ("CheckMate 649", ["CM649_NIVO_CHEMO", "CM649_CHEMO"]),
    "impower133": ("IMpower133", ["IMP133_ATEZO_CHEMO", "IMP133_PLACEBO_CHEMO"]),
    "keynote355": ("KEYNOTE-355", ["KN355_PEMBRO_CHEMO", "KN355_PLACEBO_CHEMO"]),
}

#: Published PD-L1 CPS subgroup rows that no example links (the examples simulate the
#: whole randomised populations, as the trials enrolled regardless of PD-L1).
SUBGROUP_ARMS = [
    "CM649_NIVO_CHEMO_CPS5",
    "CM649_CHEMO_CPS5",
    "KN355_PEMBRO_CHEMO_CPS10",
    "KN355_PLACEBO_CHEMO_CPS10",
]

#: The cancer set each trial simulates (issue 12's new cancers).
CANCERS = {
    "imbrave150": "hepatocellular",
    "keynote048": "head_and_neck",
    "checkmate649": "gastric",
    "impower133": "small_cell_lung",
    "keynote355": "triple_negative_breast",
}


# ----------------------------------------------------------------------------- published rows
def test_new_published_rows_parse_with_sources_and_honest_flags() -> None:
    """The 15 rows appended by issue 12 load, each with a source, the trial's publication named
    in it, and ``verified`` consistent with ``memory_fields``."""
    arms = load_published()
    new = [a for a in arms.values() if "added by issue 12" in a.notes]
    ids = {a.arm_id for a in new}
    expected = {i for _, linked in NEW_EXAMPLES.values() for i in linked} | set(SUBGROUP_ARMS)
    assert ids == expected
    first_author = {"IMbrave150": "Finn", "KEYNOTE-048": "Burtness", "CheckMate 649": "Janjigian",
                    "IMpower133": "Horn", "KEYNOTE-355": "Cortes"}  # fmt: skip
    for a in new:
        assert first_author[a.trial] in a.source, a.arm_id
        assert (a.verified == "yes") == (not a.memory_fields), a.arm_id
        assert isinstance(a.n, int) and a.n > 0
        for f in NUMERIC_FIELDS[1:]:
            v = getattr(a, f)
            assert v is None or 0 <= v, (a.arm_id, f)
        for f in ("orr_pct", "cr_pct", "g3plus_ae_pct"):
            v = getattr(a, f)
            assert v is None or v <= 100, (a.arm_id, f)
        assert a.median_pfs_mo is None or a.median_os_mo is None or a.median_pfs_mo < a.median_os_mo


def test_published_values_of_the_new_arms() -> None:
    """Spot values read in the sources named in the rows (Finn NEJM 2020; Horn NEJM 2018;
    Cortes NEJM 2022; Janjigian Lancet 2021), so that a corrupted row cannot pass."""
    assert PUBLISHED["IMB150_ATEZO_BEV"].orr_pct == 27.3
    assert PUBLISHED["IMB150_SORAFENIB"].median_pfs_mo == 4.3
    assert PUBLISHED["IMP133_ATEZO_CHEMO"].median_os_mo == 12.3
    assert PUBLISHED["IMP133_PLACEBO_CHEMO"].median_os_mo == 10.3
    assert PUBLISHED["KN355_PEMBRO_CHEMO_CPS10"].median_os_mo == 23.0
    assert PUBLISHED["CM649_NIVO_CHEMO_CPS5"].median_os_mo == 14.4
    assert [a.arm_id for a in arms_of("KEYNOTE-048")] == NEW_EXAMPLES["keynote048"][1]
    # numbers not found in a source stay blank, recalled ones are flagged
    assert PUBLISHED["KN048_PEMBRO"].orr_pct is None
    assert not PUBLISHED["CM649_CHEMO_CPS5"].is_confirmed("n")
    assert not PUBLISHED["CM649_NIVO_CHEMO"].is_confirmed("median_os_mo")


# ----------------------------------------------------------------------------- the specs
@pytest.mark.parametrize("name", sorted(NEW_EXAMPLES))
def test_new_example_loads_and_links_existing_arms(name: str) -> None:
    spec = load_spec(example_path(name))
    trial, linked = NEW_EXAMPLES[name]
    assert spec.trial.name == trial and spec.trial.cancer == CANCERS[name]
    assert [a.published.arm_id for a in spec.arms if a.published] == linked
    assert all(arm_id in PUBLISHED for arm_id in linked)
    assert all(PUBLISHED[i].trial == trial for i in linked)
    # the simulated trial size and its allocation are the published ones
    assert spec.trial.patients == sum(PUBLISHED[i].n for i in linked)
    alloc = spec.allocation(spec.trial.patients)
    for arm in spec.arms:  # the randomisation ratio gives the published arm sizes within 5%
        n = PUBLISHED[arm.published.arm_id].n
        assert abs(alloc[arm.name] - n) <= 0.05 * n, (name, arm.name, alloc[arm.name], n)
        assert arm.regimens() or arm.choices  # a parsed regimen or investigator's choices
        assert abs(sum(c.share for c in arm.choices) - 1) < 1e-9 or not arm.choices
    assert spec.population.eligibility["life_expectancy_weeks_min"] == 12
    assert spec.population.eligibility["ecog_max"] == 1
    assert spec.scan_days()[0] == 0.0 and np.all(np.diff(spec.scan_days()) > 0)


def test_new_examples_are_listed() -> None:
    names = dict(list_examples())
    for name, (trial, _) in NEW_EXAMPLES.items():
        assert names[name] == trial


# ----------------------------------------------------------------------------- runs
def _run(name: str, out, patients: int):
    r = runner.invoke(
        app,
        ["trial", "run", "--example", name, "--patients", str(patients), "--seed", "3",
         "--no-report", "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    from oncotwin.trials.store import TrialStore

    store = TrialStore.open(out)
    try:
        return store.read("outcomes"), store.read("summary")
    finally:
        store.close()


def _check_run(name: str, outcomes, summary, patients: int) -> None:
    spec = load_spec(example_path(name))
    assert sorted(outcomes["patient_id"]) == list(range(patients))
    assert set(outcomes["arm"]) == set(spec.arm_names)
    assert set(outcomes["best_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
    orr = summary[summary["endpoint"] == "ORR"].set_index("arm")
    assert set(orr.index) == set(spec.arm_names)
    assert orr["value"].between(0, 100).all()


def test_smoke_run_imbrave150(tmp_path) -> None:
    """``oncotwin trial run --example imbrave150 --patients 6`` runs end to end."""
    outcomes, summary = _run("imbrave150", tmp_path / "run", 6)
    _check_run("imbrave150", outcomes, summary, 6)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NEW_EXAMPLES))
def test_every_new_example_runs(name: str, tmp_path) -> None:
    outcomes, summary = _run(name, tmp_path / "run", 30)
    _check_run(name, outcomes, summary, 30)
