"""The main job's store and manifest: contract tables pinned, and the manifest lists every
paper the run used and none it did not use."""

from __future__ import annotations

import duckdb
import pytest

from oncotwin.pharmacology import get_drug
from oncotwin.trials import Trial, TrialResult

#: The store's tables and columns (the data contract, docs/trial_tables.md): names and
#: meanings users' scripts rely on. A change here is a breaking change.
CONTRACT = {
    "outcomes": [
        "patient_id", "arm", "best_response", "confirmed", "best_pct_change", "response_day",
        "dor_days", "dor_event", "pfs_days", "pfs_event", "os_days", "os_event",
        "max_irae_grade", "max_crs_grade", "max_icans_grade", "g3plus_ae", "treatment_end_day",
        "discontinued", "pdl1_group", "tmb_group", "immune_phenotype",
    ],
    "visits": [
        "patient_id", "arm", "visit", "day", "sum_diameters_mm", "pct_change_baseline",
        "pct_change_nadir", "new_lesion", "response", "measure", "measure_value",
    ],
    "events": ["patient_id", "arm", "day", "kind", "grade", "detail"],
    "summary": [
        "arm", "endpoint", "value", "ci_low", "ci_high", "n", "unit", "published", "source",
        "difference", "published_in_ci",
    ],
    "chunks": ["chunk_id", "n_rows", "written_at"],
}  # fmt: skip

#: Leading columns of ``patients`` (covariate columns and model parameters follow).
PATIENT_HEAD = ["patient_id", "arm", "screen_id", "cancer_type"]


@pytest.fixture(scope="module")
def main_job(tmp_path_factory) -> TrialResult:
    """The README's main job (virtual CheckMate 067), small: the papers do not depend on n."""
    out = tmp_path_factory.mktemp("cm067") / "run"
    return Trial.from_example("checkmate067").run(patients=9, out=out, report=False)


def test_store_tables_and_columns_are_the_contract(main_job):
    con = duckdb.connect(str(main_job.out / "trial.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert tables == set(CONTRACT) | {"patients"}
        for name, columns in CONTRACT.items():
            assert [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()] == columns, name
        patients = [r[0] for r in con.execute("DESCRIBE patients").fetchall()]
        assert patients[: len(PATIENT_HEAD)] == PATIENT_HEAD
    finally:
        con.close()


def test_manifest_lists_the_papers_the_run_used(main_job):
    """PK papers of both antibodies dosed (nivolumab, ipilimumab), the covariate cohorts
    (Chowell 2022, Samstein 2019), RECIST 1.1 (Eisenhauer 2009), the model's own sources and
    the trial's publication (Larkin NEJM 2015); no paper of a model the run did not use."""
    cites = set(main_job.manifest["citations"])
    for drug in ("nivolumab", "ipilimumab"):
        assert set(get_drug(drug).citations) <= cites, drug
    assert {"Chowell2022", "Samstein2019", "Eisenhauer2009", "Iwata2000"} <= cites
    publications = main_job.manifest["trial_publications"]
    assert set(publications) == {"CM067_NIVO_IPI", "CM067_NIVO", "CM067_IPI"}
    assert all("Larkin NEJM 2015" in source for source in publications.values())
    for unused in ("Claret2009", "Kuznetsov1994", "Nikolopoulou2018", "Cheson2014"):
        assert unused not in cites, unused
    assert get_drug("pembrolizumab").citations[0] not in cites  # an antibody not dosed


def test_manifest_is_the_same_whatever_ran_before_in_the_process(main_job, tmp_path):
    """Citations come from what the plan uses, not from the process's global registry."""
    import oncotwin as ot

    ot.simulate(ot.get_model("kuznetsov1994"), patients=2, days=5)  # cites Kuznetsov1994
    again = Trial.from_example("checkmate067").run(patients=9, out=tmp_path / "r", report=False)
    assert again.manifest["citations"] == main_job.manifest["citations"]
