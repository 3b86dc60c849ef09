"""The trial store and its outputs under faults: each ends in one clear message, no finished
chunk is lost, and ``--resume`` completes the run with exactly an uninterrupted run's result.

Faults: an output folder that cannot be written (a file in the way, a read-only disk,
permission denied), a disk that fills during a chunk or during the summary, two runs on one
``--out``, a run killed with its lock held, a report or manifest write that fails half-way.
Small KEYNOTE-024 runs (8 patients in chunks of 4; the kernels are cached after the first).
The real small disks are tmpfs mounts, which need root; elsewhere those cases are skipped and
the same faults are injected into the store's DuckDB connection instead.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotwin.cli.main import app
from oncotwin.trials import Trial
from oncotwin.trials.store import StoreError, TrialStore

N, CHUNK = 8, 4
TABLES = ("patients", "outcomes", "visits", "events", "summary")
RUN = ["trial", "run", "--example", "keynote024", "--no-report"]
runner = CliRunner()


def _run(out: Path, **options):
    options = {"patients": N, "chunk_size": CHUNK, "report": False, **options}
    return Trial.from_example("keynote024").run(out=out, **options)


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    store = TrialStore.open(out)
    try:
        return {name: store.read(name) for name in TABLES}
    finally:
        store.close()


def _assert_same(out: Path, reference: dict[str, pd.DataFrame]) -> None:
    """Every table of the store equals the uninterrupted run's, float for float."""
    got = _tables(out)
    for name in TABLES:
        pd.testing.assert_frame_equal(got[name], reference[name], check_exact=True, obj=name)
    assert TrialStore.open(out).manifest["status"] == "finished"


def _one_error_line(output: str) -> str:
    """The CLI printed one red ``error:`` line and no traceback; returns it."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The tables of an uninterrupted run."""
    out = tmp_path_factory.mktemp("faults") / "reference"
    _run(out)
    return _tables(out)


# -- small real disks (tmpfs; root only) ----------------------------------------------------
def _mount(path: Path, options: str) -> bool:
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    cmd = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


@pytest.fixture
def disk(tmp_path):
    """``disk(options)`` mounts a tmpfs (e.g. ``"size=64k"``) at a new folder; unmounted after."""
    mounted: list[Path] = []

    def make(options: str) -> Path:
        path = tmp_path / f"disk{len(mounted)}"
        if not _mount(path, options):
            pytest.skip("mounting a small tmpfs needs root and mount(8); covered by the fakes")
        mounted.append(path)
        return path

    yield make
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


# -- a DuckDB connection that fails on cue --------------------------------------------------
class _FailingConnection:
    """Wraps the store's DuckDB connection; raises ``error`` on the ``nth`` SQL ``when``."""

    def __init__(self, con, when: str, nth: int, error: BaseException) -> None:
        self._con, self._when, self._left, self._error = con, when, nth, error

    def execute(self, sql: str, *args):
        if sql.strip().upper().startswith(self._when):
            self._left -= 1
            if self._left == 0:
                raise self._error
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def _fail_sql(monkeypatch, when: str, nth: int, error: BaseException) -> None:
    real = duckdb.connect

    def connect(database: str = ":memory:", read_only: bool = False, **kw):
        con = real(database, read_only=read_only, **kw)
        return con if read_only else _FailingConnection(con, when, nth, error)

    monkeypatch.setattr(duckdb, "connect", connect)


ENOSPC_WAL = 'Failed to commit: Could not write file "o/trial.duckdb.wal": No space left on device'


# -- an output folder that cannot be written ------------------------------------------------
def test_out_under_a_regular_file_is_one_clear_error(tmp_path) -> None:
    """Was a NotADirectoryError traceback."""
    (tmp_path / "results").write_text("a file, not a folder")
    out = tmp_path / "results" / "run"
    with pytest.raises(StoreError, match=r"out: '.*run' cannot be made a folder: a file is in"):
        _run(out)
    r = runner.invoke(app, [*RUN, "--patients", str(N), "--out", str(out)])
    assert r.exit_code == 2
    line = _one_error_line(r.output)
    assert "a file is in the way" in line and "give --out a new folder path" in line


def test_permission_denied_names_the_folder_and_the_fix(tmp_path, monkeypatch) -> None:
    """Was a PermissionError traceback (tests run as root, so the denial is injected)."""
    out = tmp_path / "locked"
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self == out:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    r = runner.invoke(app, [*RUN, "--patients", str(N), "--out", str(out)])
    assert r.exit_code == 2
    line = _one_error_line(r.output)
    assert f"cannot write in {str(out)!r}" in line and "Permission denied" in line
    assert "give --out a folder you can write to" in line


def test_read_only_disk_is_one_clear_error(disk) -> None:
    """A read-only file system (tmpfs mounted ``ro``): one line naming the folder and the fix."""
    out = disk("ro,size=64k") / "run"
    r = runner.invoke(app, [*RUN, "--patients", str(N), "--out", str(out)])
    assert r.exit_code == 2
    line = _one_error_line(r.output)
    assert f"cannot write in {str(out)!r}" in line and "Read-only file system" in line


# -- a disk that fills during a run ---------------------------------------------------------
def test_disk_full_mid_chunk_keeps_earlier_chunks_and_resume_completes(
    tmp_path, monkeypatch, reference
) -> None:
    """The commit of chunk 1 fails as DuckDB fails on a full disk: chunk 1 is rolled back,
    chunk 0 is intact, the message says the disk is full and how to resume (was "chunk 1:
    writing failed (...)", with neither)."""
    out = tmp_path / "run"
    _fail_sql(monkeypatch, "COMMIT", 2, duckdb.TransactionException(ENOSPC_WAL))  # chunk 1
    with pytest.raises(StoreError) as err:
        _run(out)
    msg = str(err.value)
    assert msg.startswith(f"out: the disk holding {str(out)!r} is full (writing chunk 1 failed")
    assert "the 1 finished chunk is kept" in msg and "rerun with --resume" in msg
    assert "\n" not in msg and "trial.duckdb.wal" not in msg
    monkeypatch.undo()
    store = TrialStore.open(out)
    assert store.done_chunks() == {0}
    assert sorted(store.read("outcomes")["patient_id"]) == list(range(CHUNK))
    assert store.manifest["status"] == "running"
    store.close()
    assert _run(out, resume=True).chunks_run == (1,)
    _assert_same(out, reference)


def test_disk_full_while_writing_the_summary(tmp_path, monkeypatch, reference) -> None:
    """The checkpoint after the summary fails as DuckDB's does on a full disk (was a raw
    FatalException): every chunk stays, and --resume writes the summary."""
    out = tmp_path / "run"
    fatal = duckdb.FatalException(
        "FATAL Error: Failed to create checkpoint because of error: Could not write file "
        '"o/trial.duckdb": No space left on device'
    )
    _fail_sql(monkeypatch, "CHECKPOINT", 1, fatal)
    with pytest.raises(StoreError, match=r"is full \(writing the summary failed: No space left"):
        _run(out)
    monkeypatch.undo()
    assert TrialStore.open(out).done_chunks() == {0, 1}
    assert _run(out, resume=True).chunks_run == ()
    _assert_same(out, reference)


def test_a_real_small_disk_fills_then_resume_completes(disk, reference) -> None:
    """A 48 KiB tmpfs fills during the run (the chunk being written, or the checkpoint); the
    finished chunks are intact; --resume on the still-full disk says so, and once the disk is
    larger --resume completes the run."""
    mount = disk("size=48k")
    out = mount / "run"
    with pytest.raises(StoreError) as err:
        _run(out)
    msg = str(err.value)
    assert f"out: the disk holding {str(out)!r} is full" in msg and "--resume" in msg
    store = TrialStore.open(out)
    done = store.done_chunks()
    ids = sorted(store.read("outcomes")["patient_id"]) if done else []
    store.close()
    assert ids == [p for c in sorted(done) for p in range(c * CHUNK, (c + 1) * CHUNK)]
    filler = mount / "filler"
    with pytest.raises(OSError, match="No space left"), filler.open("wb") as fh:
        while True:  # fill the disk to the last byte
            fh.write(b"x" * 1024)
            fh.flush()
    with pytest.raises(StoreError) as err:  # --resume while the disk is still full
        _run(out, resume=True)
    assert f"out: the disk holding {str(out)!r} is full (opening the store" in str(err.value)
    assert "rerun with --resume" in str(err.value)
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,size=16m", str(mount)], check=True)
    _run(out, resume=True)
    _assert_same(out, reference)


# -- two runs on one --out, and a dead run's lock -------------------------------------------
HOLDER = """\
import sys, time
from oncotwin.trials.spec import example_path, load_spec
from oncotwin.trials.store import TrialStore
store = TrialStore(sys.argv[1]).create(load_spec(example_path("keynote024")))
print("ready", flush=True)
time.sleep(120)
"""


def test_second_run_on_the_same_out_is_told_who_writes(tmp_path) -> None:
    """A second run (with or without --resume) while another process writes --out: one line
    naming the folder and the writer's pid (with --resume it was DuckDB's long lock error)."""
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        for extra in ([], ["--resume"]):
            r = runner.invoke(app, [*RUN, "--patients", str(N), "--out", str(out), *extra])
            assert r.exit_code == 2, r.output
            line = _one_error_line(r.output)
            assert f"another process is writing the trial store in {out} (pid {proc.pid})" in line
            assert "wait for it to finish, or use a new --out" in line
            assert "Conflicting lock" not in line
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()


KILLED = """\
import os, signal, sys
from oncotwin.trials import Trial

def die(done, total):
    if done == 1:  # chunk 0 is committed: the writer dies holding the lock
        os.kill(os.getpid(), signal.SIGKILL)

Trial.from_example("keynote024").run(
    patients=int(sys.argv[2]), chunk_size=int(sys.argv[3]), out=sys.argv[1], report=False,
    progress=die,
)
"""


def test_stale_lock_of_a_killed_run_is_recovered_with_a_note(tmp_path, reference) -> None:
    """SIGKILL after chunk 0: --resume notes the dead writer (pid) and completes the run with
    exactly the uninterrupted result (the recovery was silent before)."""
    out = tmp_path / "run"
    args = [sys.executable, "-c", KILLED, str(out), str(N), str(CHUNK)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pid = (out / ".lock").read_text().strip()
    assert pid.isdigit()
    r = runner.invoke(app, [*RUN, "--out", str(out), "--resume"])
    assert r.exit_code == 0, r.output
    assert f"note: the run that was writing {out} (pid {pid}) ended without closing" in r.output
    assert "(1 were in the store already)" in r.output
    _assert_same(out, reference)
    notes = TrialStore.open(out).manifest["notes"]
    assert any(f"(pid {pid})" in note for note in notes)
    assert (out / ".lock").read_text() == ""  # a closed store leaves no pid behind


# -- report and manifest written atomically -------------------------------------------------
def test_failed_report_write_leaves_the_old_report_whole(tmp_path, monkeypatch) -> None:
    """A report write that fails half-way (here: text that cannot be encoded) keeps the old
    report.html byte for byte and leaves no temp file (it was truncated to nothing before)."""
    out = tmp_path / "run"
    result = _run(out, report=True)
    old = result.report.read_bytes()
    assert len(old) > 1000
    import oncotwin.report.html as html

    real_page = html._page
    monkeypatch.setattr(html, "_page", lambda *a: real_page(*a) + "\udc80 half-written")
    with pytest.raises(UnicodeEncodeError):
        result.write_report()
    assert result.report.read_bytes() == old
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == []


def test_run_killed_during_the_report_then_resume_or_report_completes(
    tmp_path, monkeypatch, reference
) -> None:
    """Ctrl-C while the report is drawn: exit 130 with the chunks kept; --resume (or
    `oncotwin trial report OUT`) completes it, and the store is the uninterrupted one."""
    import oncotwin.report.html as html

    out = tmp_path / "run"
    args = ["trial", "run", "--example", "keynote024", "--patients", str(N)]
    args += ["--chunk-size", str(CHUNK), "--out", str(out)]

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(html, "render_figures", interrupted)
    r = runner.invoke(app, args)
    assert r.exit_code == 130 and "rerun with --resume" in r.output
    assert not (out / "report.html").exists()
    monkeypatch.undo()
    r = runner.invoke(
        app, ["trial", "run", "--example", "keynote024", "--out", str(out), "--resume"]
    )
    assert r.exit_code == 0, r.output
    assert (out / "report.html").stat().st_size > 1000
    _assert_same(out, reference)
    (out / "report.html").unlink()
    r = runner.invoke(app, ["trial", "report", str(out)])
    assert r.exit_code == 0 and (out / "report.html").exists()


def test_report_that_cannot_be_written_says_how_to_write_it(tmp_path, monkeypatch) -> None:
    """A full disk while the report is made: the store is complete and the message names
    `oncotwin trial report OUT` (was a raw OSError); that command then writes it."""
    import oncotwin.report.html as html

    out = tmp_path / "run"

    def full(**kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(html, "render_figures", full)
    with pytest.raises(StoreError) as err:
        _run(out, report=True)
    msg = str(err.value)
    assert "is full (writing report.html failed: No space left on device)" in msg
    assert f"run `oncotwin trial report {out}`" in msg
    r = runner.invoke(app, ["trial", "report", str(out)])
    assert r.exit_code == 2 and "oncotwin trial report" in _one_error_line(r.output)
    monkeypatch.undo()
    assert TrialStore.open(out).manifest["status"] == "finished"
    r = runner.invoke(app, ["trial", "report", str(out)])
    assert r.exit_code == 0 and (out / "report.html").exists()


def test_run_killed_during_the_summary_then_report_says_resume(
    tmp_path, monkeypatch, reference
) -> None:
    """A run killed while writing the summary has no summary table: `trial report` says to
    finish it with --resume (it was "unknown table 'summary'"), and --resume does."""
    out = tmp_path / "run"
    _fail_sql(monkeypatch, "COMMIT", 3, KeyboardInterrupt())  # after 2 chunks: the summary
    with pytest.raises(KeyboardInterrupt):
        _run(out)
    monkeypatch.undo()
    r = runner.invoke(app, ["trial", "report", str(out)])
    assert r.exit_code == 2
    line = _one_error_line(r.output)
    assert "has no summary yet" in line and "--resume" in line
    assert TrialStore.open(out).done_chunks() == {0, 1}
    assert _run(out, resume=True).chunks_run == ()
    _assert_same(out, reference)


def test_manifest_write_interrupted_keeps_the_old_manifest(tmp_path, monkeypatch) -> None:
    """The manifest is replaced atomically: an interrupted write leaves the previous one
    whole and no temp file (the old code left ``manifest.json.tmp`` behind)."""
    out = tmp_path / "run"
    result = _run(out)
    store = TrialStore(out).create(result.spec, resume=True)
    running = json.loads((out / "manifest.json").read_text())
    assert running["status"] == "running"

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.finish(result.summary)
    monkeypatch.undo()
    store.close()
    assert json.loads((out / "manifest.json").read_text()) == running
    assert [p.name for p in out.iterdir() if "tmp" in p.name] == []
