"""The results store of a virtual trial: one DuckDB file and a manifest, written chunk by chunk.

An output folder ``out/`` holds ``trial.duckdb`` (the tables of ``docs/trial_tables.md``:
``patients``, ``outcomes``, ``visits``, ``events``, ``summary``, plus ``chunks``, one row per
finished chunk) and ``manifest.json`` (oncotwin version, spec text and hash, seed, solver
settings, parameter sets, citations, start and end times, chunks done).

A chunk's tables and its row in ``chunks`` are committed in one transaction, so a run killed
mid-write leaves that chunk absent and a resumed run redoes it; :meth:`TrialStore.done_chunks`
says what is there. One process writes (the parent, see :mod:`oncotwin.trials.executor`); a
lock file keeps a second writer out, and the operating system drops the lock if the writer dies
(the next writer notes the recovery). The manifest is replaced atomically (temp file + rename).

Faults of the folder or disk (not writable, a file in the way, disk full) end in one
:class:`StoreError` naming the folder and the fix; the chunks finished before are kept and a
run with ``resume=True`` (``--resume``) completes it with the result of an uninterrupted run.

Examples
--------
>>> import tempfile, pandas as pd
>>> from oncotwin.trials.spec import load_spec, example_path
>>> spec = load_spec(example_path("zuma1"))
>>> out = tempfile.mkdtemp()
>>> store = TrialStore(out).create(spec, {"solver": {"rtol": 1e-6}})
>>> store.write_chunk(0, {"outcomes": pd.DataFrame({"patient_id": [1, 0], "arm": ["a", "a"]})})
>>> sorted(store.done_chunks()), store.read("outcomes")["patient_id"].tolist()
([0], [0, 1])
>>> store.finish(pd.DataFrame({"arm": ["a"], "endpoint": ["ORR"], "value": [50.0]}))
>>> TrialStore.open(out).manifest["chunks"]
[0]
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from oncotwin._version import __version__
from oncotwin.errors import OncotwinError, did_you_mean
from oncotwin.trials._store_faults import fault_kind, io_fault

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.trials.spec import TrialSpec

try:  # POSIX advisory lock; released by the OS when the writer dies
    import fcntl
except ImportError:  # pragma: no cover - Windows: DuckDB's own file lock still applies
    fcntl = None  # type: ignore[assignment]

__all__ = ["DB_NAME", "MANIFEST_NAME", "StoreError", "TrialStore"]

DB_NAME = "trial.duckdb"
MANIFEST_NAME = "manifest.json"
_LOCK_NAME = ".lock"
_TABLE_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_RESERVED = {"chunks"}
_log = logging.getLogger(__name__)


class StoreError(OncotwinError):
    """A trial store cannot be created, opened, written or read as asked."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class TrialStore:
    """A trial's result store in the folder ``path`` (``trial.duckdb`` + ``manifest.json``).

    ``TrialStore(path)`` only names the folder: call :meth:`create` to start (or, with
    ``resume=True``, continue) a run, or :meth:`open` to read a finished one.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock: Any = None
        #: Notes of this session (e.g. a dead writer's lock recovered), also logged.
        self.notes: list[str] = []

    # -- paths and state -------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        """The DuckDB file."""
        return self.path / DB_NAME

    @property
    def manifest_path(self) -> Path:
        """The manifest JSON file."""
        return self.path / MANIFEST_NAME

    @property
    def exists(self) -> bool:
        """True if the folder holds a store (its database file)."""
        return self.db_path.is_file()

    @property
    def writable(self) -> bool:
        """True between :meth:`create` and :meth:`finish` / :meth:`close`."""
        return self._con is not None

    @property
    def manifest(self) -> dict:
        """The manifest as a dict (read from disk)."""
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(
                f"manifest: {self.manifest_path} is missing, so {self.path} is not a complete "
                "oncotwin trial store; use a new --out"
            ) from None
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"manifest: {self.manifest_path} is not valid JSON ({exc}); use a new --out"
            ) from None

    def __repr__(self) -> str:
        return f"TrialStore({str(self.path)!r})"

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- life cycle ------------------------------------------------------------------------
    def create(
        self, spec: TrialSpec, manifest: Mapping[str, Any] | None = None, *, resume: bool = False
    ) -> TrialStore:
        """Start a new store for ``spec``, or continue one (``resume=True``); returns self.

        ``manifest`` adds run metadata (solver settings, parameter sets, citations, chunking)
        to what the store records itself (oncotwin version, spec text and hash, seed, times).

        Raises
        ------
        StoreError
            If ``path`` already holds a store of a different spec (never overwritten), or of
            this spec without ``resume=True``, or another process is writing it, or the
            folder cannot be written (not a folder, no permission, disk full).
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
        except OSError as exc:
            raise self._create_fault(exc, fresh=not self.exists) from None
        files = (self.db_path, self.path / f"{DB_NAME}.wal", self.manifest_path)
        new_files = [f for f in files if not f.exists()] if not self.exists else []
        try:
            if self.exists:
                self._check_existing(spec, resume=resume)
                info = self.manifest
                info.setdefault("resumed_at", []).append(_now())
                info["status"] = "running"
                if manifest:
                    info.update(dict(manifest))
            else:
                info = {
                    "oncotwin_version": __version__,
                    "trial": spec.trial.name,
                    "spec_hash": spec.hash(),
                    "spec_text": spec.text,
                    "spec_source": spec.source,
                    "seed": spec.trial.seed,
                    "patients": spec.trial.patients,
                    "arms": list(spec.arm_names),
                    "started_at": _now(),
                    "finished_at": None,
                    "status": "running",
                    "chunks": [],
                    **dict(manifest or {}),
                }
            self._con = duckdb.connect(str(self.db_path))
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS chunks (chunk_id BIGINT PRIMARY KEY, "
                "n_rows BIGINT, written_at VARCHAR)"
            )
            if self.notes:
                info.setdefault("notes", []).extend(self.notes)
            self._write_manifest(info)
        except BaseException as exc:
            if self._con is not None:  # a new store that could not be made leaves no half
                with contextlib.suppress(duckdb.Error):
                    self._con.close()
                self._con = None
            for f in new_files:
                with contextlib.suppress(OSError):
                    f.unlink()
            self.close()
            if isinstance(exc, OSError | duckdb.Error) and not isinstance(exc, StoreError):
                raise self._create_fault(exc, fresh=bool(new_files)) from None
            raise
        return self

    def _create_fault(self, exc: BaseException, *, fresh: bool) -> StoreError:
        """The fault of :meth:`create`; an existing store's chunks are kept (--resume)."""
        if fresh:
            return io_fault(exc, self.path, doing="creating the store")
        kept = None
        with contextlib.suppress(Exception):
            kept = len(self.done_chunks())
        return io_fault(exc, self.path, doing="opening the store", kept=kept)

    @classmethod
    def open(cls, path: str | Path) -> TrialStore:
        """Open an existing store to read it (a run is continued with ``create(resume=True)``)."""
        store = cls(path)
        if not store.exists:
            raise StoreError(
                f"out: {str(path)!r} holds no trial store ({DB_NAME} not found); give the --out "
                "folder of a run"
            )
        store.manifest  # noqa: B018 - fail early on a missing or broken manifest
        return store

    def close(self) -> None:
        """Close the database and release the writer lock (idempotent)."""
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            self._con = None
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.truncate(0)  # a closed store leaves no writer's pid behind
                if fcntl is not None:
                    fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
                self._lock.close()
            self._lock = None

    def _acquire_lock(self) -> None:
        if self._lock is not None:
            raise StoreError(f"{self} is already open for writing; call close() first")
        fh = (self.path / _LOCK_NAME).open("a+")
        fh.seek(0)
        previous = fh.read().strip()
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                pid = f" (pid {previous})" if previous.isdigit() else ""
                raise StoreError(
                    f"out: another process is writing the trial store in {self.path}{pid}; "
                    "wait for it to finish, or use a new --out"
                ) from None
        try:
            fh.truncate(0)
            fh.write(f"{os.getpid()}\n")
            fh.flush()
        except BaseException:
            fh.close()
            raise
        self._lock = fh
        if previous.isdigit() and int(previous) != os.getpid():
            note = (
                f"the run that was writing {self.path} (pid {previous}) ended without closing "
                "the store (killed?); its lock is recovered and its finished chunks are kept"
            )
            self.notes.append(note)
            _log.warning(note)

    def _check_existing(self, spec: TrialSpec, *, resume: bool) -> None:
        info = self.manifest
        old = str(info.get("spec_hash", ""))
        if old != spec.hash():
            raise StoreError(
                f"out: {self.path} holds a store of a different trial spec "
                f"({info.get('trial', '?')!r}, spec hash {old[:12]} vs {spec.hash()[:12]} now); "
                "refusing to overwrite it: use a new --out (or --resume with the spec that "
                "made it)"
            )
        if not resume:
            with duckdb.connect(str(self.db_path), read_only=True) as con:
                done = con.execute("SELECT count(*) FROM chunks").fetchone()[0]
            raise StoreError(
                f"out: {self.path} already holds a store of this spec ({done} chunks done, "
                f"status {info.get('status', '?')!r}); use --resume to continue it or a new --out"
            )

    def _write_manifest(self, info: Mapping[str, Any]) -> None:
        """Replace the manifest atomically: a reader sees the old or the new one, never half."""
        text = json.dumps(info, indent=2, default=str) + "\n"
        tmp = self.manifest_path.with_name(f".{MANIFEST_NAME}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.manifest_path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    # -- writing ---------------------------------------------------------------------------
    def _writer(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError(
                f"{self} is not open for writing; call create(spec, ...) (resume=True to "
                "continue a run) before writing"
            )
        return self._con

    def write_chunk(self, chunk_id: int, tables: Mapping[str, pd.DataFrame]) -> None:
        """Write all tables of one chunk and its ``chunks`` row in ONE transaction.

        A table is created from the first non-empty DataFrame given for it; later chunks may
        leave columns out (NULL) but may not add new ones.
        """
        con = self._writer()
        cid = int(chunk_id)
        for name, df in tables.items():
            if not _TABLE_RE.match(name) or name in _RESERVED:
                raise StoreError(
                    f"table name: {name!r} is not allowed; use lower-case letters, digits and "
                    "'_' (e.g. 'outcomes'), and not 'chunks'"
                )
            if not isinstance(df, pd.DataFrame):
                raise StoreError(
                    f"table {name!r} of chunk {cid}: a pandas DataFrame is needed, got "
                    f"{type(df).__name__}"
                )
        kept = None
        con.execute("BEGIN TRANSACTION")
        try:
            kept = con.execute("SELECT count(*) FROM chunks").fetchone()[0]
            if con.execute("SELECT 1 FROM chunks WHERE chunk_id = ?", [cid]).fetchone():
                raise StoreError(
                    f"chunk_id: chunk {cid} is already in the store; skip the chunks in "
                    "done_chunks() when resuming"
                )
            existing = set(self._table_names(con))
            n_rows = 0
            for name, df in tables.items():
                if len(df) == 0:
                    continue
                frame = _storable(df)
                con.register("_oncotwin_chunk", frame)
                try:
                    if name not in existing:
                        con.execute(
                            f'CREATE TABLE "{name}" AS SELECT * FROM _oncotwin_chunk LIMIT 0'
                        )
                        existing.add(name)
                    else:
                        cols = self._columns(con, name)
                        extra = [c for c in frame.columns if c not in cols]
                        if extra:
                            raise StoreError(
                                f"table {name!r} of chunk {cid}: columns {extra} are not in the "
                                f"store's {name!r} table (columns: {cols}); every chunk must "
                                "give the same columns"
                            )
                    con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _oncotwin_chunk')
                finally:
                    con.unregister("_oncotwin_chunk")
                n_rows += len(df)
            con.execute("INSERT INTO chunks VALUES (?, ?, ?)", [cid, n_rows, _now()])
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if fault_kind(exc) is not None:
                raise io_fault(exc, self.path, doing=f"writing chunk {cid}", kept=kept) from None
            if isinstance(exc, duckdb.Error):
                raise StoreError(f"chunk {cid}: writing failed ({exc}); nothing was kept") from exc
            if isinstance(exc, OSError):
                raise io_fault(exc, self.path, doing=f"writing chunk {cid}", kept=kept) from None
            raise

    def finish(
        self,
        summary: pd.DataFrame | None = None,
        manifest_updates: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the ``summary`` table (replacing any), complete the manifest, and close.

        If the disk fills (or the folder fails) here, the chunks stay stored and a run with
        ``resume=True`` writes the summary again.
        """
        con = self._writer()
        kept = None
        try:
            kept = len(self.done_chunks())
            con.execute("BEGIN TRANSACTION")
            try:
                if summary is not None:
                    con.register("_oncotwin_summary", _storable(summary))
                    con.execute(
                        "CREATE OR REPLACE TABLE summary AS SELECT * FROM _oncotwin_summary"
                    )
                    con.unregister("_oncotwin_summary")
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            con.execute("CHECKPOINT")
            info = self.manifest
            info.update(dict(manifest_updates or {}))
            info["chunks"] = sorted(self.done_chunks())
            info["finished_at"] = _now()
            info["status"] = "finished"
            self._write_manifest(info)
        except (OSError, duckdb.Error) as exc:
            self.close()
            raise io_fault(exc, self.path, doing="writing the summary", kept=kept) from None
        self.close()

    # -- reading ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _reader(self):
        if self._con is not None:
            yield self._con
            return
        if not self.exists:
            raise StoreError(f"out: {str(self.path)!r} holds no trial store ({DB_NAME} not found)")
        try:
            con = duckdb.connect(str(self.db_path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise io_fault(exc, self.path, doing="reading the store") from None
            pid = ""
            with contextlib.suppress(OSError):
                text = (self.path / _LOCK_NAME).read_text().strip()
                pid = f" (pid {text})" if text.isdigit() else ""
            raise StoreError(
                f"out: another process is writing the trial store in {self.path}{pid}; wait "
                "for it to finish, or use a new --out"
            ) from None
        try:
            yield con
        finally:
            con.close()

    @staticmethod
    def _table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return sorted(r[0] for r in rows)

    @staticmethod
    def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    def tables(self) -> list[str]:
        """Names of the result tables in the store (``chunks`` included)."""
        with self._reader() as con:
            return self._table_names(con)

    def done_chunks(self) -> set[int]:
        """Ids of the chunks whose tables are fully in the store."""
        with self._reader() as con:
            if "chunks" not in self._table_names(con):
                return set()
            return {int(r[0]) for r in con.execute("SELECT chunk_id FROM chunks").fetchall()}

    def read(self, table: str) -> pd.DataFrame:
        """A whole table, ordered by ``patient_id`` (rows of one patient in written order).

        The order does not depend on the order chunks were written in, so a resumed or
        distributed run reads back exactly like an uninterrupted serial one.
        """
        with self._reader() as con:
            names = self._table_names(con)
            if table not in names:
                raise StoreError(
                    f"table: {did_you_mean(table, names, what='table')} in {self.db_path}"
                )
            cols = self._columns(con, table)
            order = "patient_id, rowid" if "patient_id" in cols else "rowid"
            df = con.execute(f'SELECT * FROM "{table}" ORDER BY {order}').df()
        return df.reset_index(drop=True)


def _storable(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding only missing values become strings so DuckDB types them VARCHAR."""
    out = df.reset_index(drop=True)
    for col in out.columns:
        if out[col].dtype == object and out[col].isna().all():
            out = out.assign(**{col: out[col].astype("string")})
    return out
