"""Chunk executor: in-process and dask.distributed give the same store; interrupted runs resume."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from oncotwin.trials.executor import ExecutorError, run_chunks, run_to_store
from oncotwin.trials.spec import parse_spec
from oncotwin.trials.store import TrialStore

SPEC = """\
[trial]
name = "executor test"
cancer = "melanoma"
seed = 5
patients = 48
follow_up_months = 12

[[arm]]
name = "a"
regimen = "nivolumab 240 mg IV q2w"

[[arm]]
name = "b"
regimen = "ipilimumab 3 mg/kg IV q3w x4"
"""
N_CHUNKS, CHUNK = 6, 8


def chunk(chunk_id: int) -> dict[str, pd.DataFrame]:
    """A fake chunk whose values depend on (seed, patient id) only, like a real one."""
    spec = parse_spec(SPEC)
    ids = np.arange(chunk_id * CHUNK, (chunk_id + 1) * CHUNK)
    arms = np.asarray(spec.arm_names)[spec.arm_of(ids)]
    rows = np.repeat(ids, 1 + ids % 3)
    return {
        "outcomes": pd.DataFrame(
            {"patient_id": ids, "arm": arms, "os_days": 100.0 + np.sin(ids + spec.trial.seed)}
        ),
        "visits": pd.DataFrame(
            {"patient_id": rows, "visit": np.arange(rows.size) % 3, "day": rows * 1.5}
        ),
    }


class Interrupt:
    """Raises KeyboardInterrupt when asked for chunk ``at`` (a user pressing Ctrl-C)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, chunk_id: int) -> dict[str, pd.DataFrame]:
        if chunk_id == self.at:
            raise KeyboardInterrupt
        return chunk(chunk_id)


def _tables(store: TrialStore) -> dict[str, pd.DataFrame]:
    return {t: store.read(t) for t in ("outcomes", "visits")}


def _assert_same(a: dict, b: dict) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


@pytest.fixture
def spec():
    return parse_spec(SPEC)


@pytest.fixture
def reference(tmp_path, spec):
    store = TrialStore(tmp_path / "reference").create(spec)
    run_to_store(store, chunk, N_CHUNKS)
    tables = _tables(store)
    store.close()
    return tables


def test_in_process_order_and_progress():
    seen, ticks = [], []
    done = run_chunks(
        chunk,
        [3, 1, 2],
        on_result=lambda c, t: seen.append((c, len(t["outcomes"]))),
        progress=lambda k, n: ticks.append((k, n)),
    )
    assert done == [3, 1, 2] and seen == [(3, 8), (1, 8), (2, 8)]
    assert ticks == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ExecutorError, match=r"chunk_ids: chunks \[1\] are listed twice"):
        run_chunks(chunk, [1, 2, 1], on_result=lambda c, t: None)


def test_error_in_a_chunk_names_it():
    def broken(c: int):
        raise ValueError("bad parameter")

    with pytest.raises(ValueError, match="bad parameter") as info:
        run_chunks(broken, [4], on_result=lambda c, t: None)
    assert "(while running chunk 4)" in info.value.__notes__


def test_keyboard_interrupt_then_resume_equals_uninterrupted(tmp_path, spec, reference):
    out = tmp_path / "out"
    store = TrialStore(out).create(spec)
    with pytest.raises(KeyboardInterrupt):
        run_to_store(store, Interrupt(at=3), N_CHUNKS)
    store.close()
    assert TrialStore.open(out).done_chunks() == {0, 1, 2}
    ran = []
    store = TrialStore(out).create(spec, resume=True)
    run_to_store(store, lambda c: ran.append(c) or chunk(c), N_CHUNKS)
    assert ran == [3, 4, 5]
    _assert_same(_tables(store), reference)
    store.finish(pd.DataFrame({"arm": ["a"], "endpoint": ["ORR"], "value": [1.0]}))
    assert TrialStore.open(out).manifest["chunks"] == list(range(N_CHUNKS))


def test_unreachable_scheduler_is_a_clear_error():
    with socket.socket() as s:  # a free port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match=r"scheduler: cannot reach the dask scheduler at"):
        run_chunks(
            chunk,
            [0],
            on_result=lambda c, t: None,
            scheduler=f"tcp://127.0.0.1:{port}",
            timeout=1.0,
        )
    assert time.monotonic() - t0 < 30
    with pytest.raises(ExecutorError, match=r"scheduler: .127\.0\.0\.1:8786. is not a scheduler"):
        run_chunks(chunk, [0], on_result=lambda c, t: None, scheduler="127.0.0.1:8786")


# process workers take ~20 s to start (each imports oncotwin): marked slow, run in CI with -m slow
@pytest.mark.parametrize("processes", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_dask_local_cluster_gives_the_in_process_tables(tmp_path, spec, reference, processes):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=processes,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        ticks = []
        with TrialStore(tmp_path / "dask").create(spec) as store:
            done = run_to_store(
                store,
                chunk,
                N_CHUNKS,
                scheduler=cluster.scheduler_address,
                progress=lambda k, n: ticks.append(k),
            )
            assert sorted(done) == list(range(N_CHUNKS))
            assert ticks == list(range(1, N_CHUNKS + 1))
            _assert_same(_tables(store), reference)


CHILD = """
import sys, time
import numpy as np, pandas as pd
sys.path.insert(0, {testdir!r})
from test_executor import SPEC, N_CHUNKS, chunk
from oncotwin.trials.executor import run_to_store
from oncotwin.trials.spec import parse_spec
from oncotwin.trials.store import TrialStore

def slow(c):
    time.sleep(0.3 if c < 3 else 30.0)   # chunk 3 never finishes: we are killed first
    return chunk(c)

store = TrialStore({out!r}).create(parse_spec(SPEC))
run_to_store(store, slow, N_CHUNKS, progress=lambda k, n: print("wrote", k, flush=True))
"""


def test_sigkill_mid_run_then_resume(tmp_path, spec, reference):
    out = tmp_path / "killed"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(testdir=os.path.dirname(__file__), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while len(lines) < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert lines == ["wrote 1", "wrote 2", "wrote 3"], lines
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    store = TrialStore(out).create(spec, resume=True)  # the OS released the dead writer's lock
    assert store.done_chunks() == {0, 1, 2}
    assert run_to_store(store, chunk, N_CHUNKS) == [3, 4, 5]
    _assert_same(_tables(store), reference)
    store.close()
