"""Same seed, any split: the trial store is identical (reliability issue, item 5).

The reliability issue's report: ``oncotwin trial run --example checkmate017 --patients 300
--seed 9`` with ``--chunk-size 50`` and ``--chunk-size 300`` gave different per-patient
outcomes in 54 of 300 patients (OS 116.33305162625136 vs 116.3330515936913 days). The cause:
the dosing-stop solve's events (a steroid course or a crossover on each stopped patient's own
day, zero for everyone else) clipped every patient's steps at the other patients' event times.
The kernels now clip a patient's steps only at events that change its state, so the whole
store (not only the solver's output) is identical however the patients are split: by chunk
size, by solver threads, or over dask workers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from oncotwin.trials.run import run_trial
from oncotwin.trials.spec import example_path
from oncotwin.trials.store import TrialStore

TABLES = ("patients", "outcomes", "visits", "events", "summary")
N, SEED = 300, 9


def _tables(out) -> dict[str, pd.DataFrame]:
    store = TrialStore.open(out)
    try:
        return {name: store.read(name) for name in TABLES}
    finally:
        store.close()


def _run(out, *, chunk: int, scheduler: str | None = None) -> dict[str, pd.DataFrame]:
    run_trial(
        example_path("checkmate017"),
        out=out,
        patients=N,
        seed=SEED,
        chunk_size=chunk,
        scheduler=scheduler,
        report=False,
    )
    return _tables(out)


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """CheckMate 017, 300 patients, seed 9, in one chunk."""
    return _run(tmp_path_factory.mktemp("whole") / "run", chunk=N)


def test_chunk_size_does_not_change_the_store(whole, tmp_path):
    """Chunks of 50 (six chunks) give the one-chunk store exactly."""
    _assert_same(_run(tmp_path / "c50", chunk=50), whole)


def test_solver_threads_do_not_change_the_store(whole, tmp_path, monkeypatch):
    """One solver thread instead of one per core, and an odd chunk size (7 patients, so
    SIMD lanes are left over): the same store."""
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    _assert_same(_run(tmp_path / "t1", chunk=7), whole)


@pytest.mark.slow
def test_dask_split_does_not_change_the_store(whole, tmp_path):
    """Chunks of 75 on two dask worker processes: the same store."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        got = _run(tmp_path / "dask", chunk=75, scheduler=cluster.scheduler_address)
    _assert_same(got, whole)
