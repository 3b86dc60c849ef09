"""The DuckDB trial store: create / resume rules, one transaction per chunk, ordered reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from oncotwin.trials.spec import parse_spec
from oncotwin.trials.store import StoreError, TrialStore

SPEC = """\
[trial]
name = "store test"
cancer = "melanoma"
seed = 11
patients = 40
follow_up_months = 12

[[arm]]
name = "nivolumab"
regimen = "nivolumab 240 mg IV q2w"
"""


def chunk_tables(chunk_id: int, size: int = 10) -> dict[str, pd.DataFrame]:
    """Deterministic fake tables of one chunk (values depend on the patient id only)."""
    ids = np.arange(chunk_id * size, (chunk_id + 1) * size)
    n_events = ids % 3
    ev_ids = np.repeat(ids, n_events)
    return {
        "outcomes": pd.DataFrame(
            {
                "patient_id": ids[::-1],  # written out of order on purpose
                "arm": "nivolumab",
                "best_response": np.where(ids[::-1] % 2 == 0, "PR", "PD"),
                "pfs_days": np.sin(ids[::-1] * 1.7) * 100 + 200,
                "pfs_event": ids[::-1] % 4 != 0,
                "max_irae_grade": (ids[::-1] % 5).astype(np.int64),
            }
        ),
        "events": pd.DataFrame(
            {
                "patient_id": ev_ids,
                "arm": "nivolumab",
                "day": np.cos(ev_ids * 0.3) * 50 + 100 + np.arange(ev_ids.size) % 3,
                "kind": "toxicity",
                "grade": (ev_ids % 4).astype(np.int64),
                "detail": "colitis",
            }
        ),
    }


@pytest.fixture
def spec():
    return parse_spec(SPEC)


def test_create_write_read_finish(tmp_path, spec):
    store = TrialStore(tmp_path / "out").create(spec, {"solver": {"rtol": 1e-6}, "citations": []})
    assert store.writable and store.done_chunks() == set()
    for c in (2, 0):
        store.write_chunk(c, chunk_tables(c))
    assert store.done_chunks() == {0, 2}
    out = store.read("outcomes")
    assert out["patient_id"].tolist() == [*range(0, 10), *range(20, 30)]
    assert out["pfs_event"].dtype == bool and out["max_irae_grade"].dtype == np.int64
    ev = store.read("events")
    assert ev["patient_id"].is_monotonic_increasing
    summary = pd.DataFrame({"arm": ["nivolumab"], "endpoint": ["ORR"], "value": [40.0]})
    store.finish(summary, {"n_chunks": 4})
    assert not store.writable
    reopened = TrialStore.open(tmp_path / "out")
    m = reopened.manifest
    assert m["chunks"] == [0, 2] and m["status"] == "finished" and m["n_chunks"] == 4
    assert m["spec_hash"] == spec.hash() and m["seed"] == 11 and m["spec_text"] == SPEC
    assert m["solver"] == {"rtol": 1e-6} and m["oncotwin_version"]
    assert m["started_at"] <= m["finished_at"]
    pd.testing.assert_frame_equal(reopened.read("summary"), summary)
    assert set(reopened.tables()) == {"chunks", "events", "outcomes", "summary"}
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == m


def test_read_order_does_not_depend_on_chunk_order(tmp_path, spec):
    a = TrialStore(tmp_path / "a").create(spec)
    b = TrialStore(tmp_path / "b").create(spec)
    for c in range(4):
        a.write_chunk(c, chunk_tables(c))
    for c in (3, 1, 0, 2):
        b.write_chunk(c, chunk_tables(c))
    for table in ("outcomes", "events"):
        pd.testing.assert_frame_equal(a.read(table), b.read(table))
    a.close()
    b.close()


def test_failed_chunk_write_leaves_nothing(tmp_path, spec):
    store = TrialStore(tmp_path).create(spec)
    store.write_chunk(0, chunk_tables(0))
    bad = chunk_tables(1)
    bad["events"] = bad["events"].assign(surprise=1.0)  # outcomes are fine, events are not
    with pytest.raises(StoreError, match=r"table 'events' of chunk 1: columns \['surprise'\]"):
        store.write_chunk(1, bad)
    assert store.done_chunks() == {0}
    assert store.read("outcomes")["patient_id"].max() == 9  # chunk 1's outcomes rolled back
    with pytest.raises(StoreError, match="chunk_id: chunk 0 is already in the store"):
        store.write_chunk(0, chunk_tables(0))
    store.close()


def test_refuses_to_overwrite(tmp_path, spec):
    out = tmp_path / "out"
    TrialStore(out).create(spec).close()
    with pytest.raises(StoreError, match=r"already holds a store of this spec .*use --resume"):
        TrialStore(out).create(spec)
    other = parse_spec(SPEC.replace("seed = 11", "seed = 12"))
    with pytest.raises(StoreError, match=r"holds a store of a different trial spec .*new --out"):
        TrialStore(out).create(other, resume=True)
    with TrialStore(out).create(spec, {"note": "again"}, resume=True) as store:
        assert len(store.manifest["resumed_at"]) == 1 and store.manifest["note"] == "again"


def test_single_writer(tmp_path, spec):
    first = TrialStore(tmp_path).create(spec)
    with pytest.raises(StoreError, match="another process is writing the trial store"):
        TrialStore(tmp_path).create(spec, resume=True)
    with pytest.raises(StoreError, match="is already open for writing"):
        first.create(spec, resume=True)
    first.close()
    TrialStore(tmp_path).create(spec, resume=True).close()


def test_errors_name_the_problem(tmp_path, spec):
    with pytest.raises(StoreError, match="holds no trial store"):
        TrialStore.open(tmp_path / "missing")
    store = TrialStore(tmp_path / "s")
    with pytest.raises(StoreError, match=r"is not open for writing; call create\(spec"):
        store.write_chunk(0, chunk_tables(0))
    store.create(spec)
    with pytest.raises(StoreError, match="table name: 'Bad-Name' is not allowed"):
        store.write_chunk(0, {"Bad-Name": pd.DataFrame({"x": [1]})})
    with pytest.raises(StoreError, match="table name: 'chunks' is not allowed"):
        store.write_chunk(0, {"chunks": pd.DataFrame({"x": [1]})})
    with pytest.raises(StoreError, match="a pandas DataFrame is needed, got dict"):
        store.write_chunk(0, {"outcomes": {"x": [1]}})
    store.write_chunk(0, chunk_tables(0))
    with pytest.raises(StoreError, match="unknown table 'outcome'; did you mean 'outcomes'"):
        store.read("outcome")
    store.close()
    (tmp_path / "s" / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="is not valid JSON"):
        TrialStore.open(tmp_path / "s")
    (tmp_path / "s" / "manifest.json").unlink()
    with pytest.raises(StoreError, match=r"manifest: .* is missing"):
        TrialStore.open(tmp_path / "s")


def test_all_missing_object_column_and_empty_tables(tmp_path, spec):
    store = TrialStore(tmp_path).create(spec)
    first = pd.DataFrame({"patient_id": [0, 1], "detail": [None, None]})
    store.write_chunk(0, {"events": first, "visits": pd.DataFrame({"patient_id": []})})
    store.write_chunk(1, {"events": pd.DataFrame({"patient_id": [2], "detail": ["CRS"]})})
    assert store.read("events")["detail"].tolist()[2] == "CRS"
    assert "visits" not in store.tables()
    store.close()
