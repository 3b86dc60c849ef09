"""The store of a calibration: every simulation of every wave in one DuckDB file, resumable.

A calibration's output folder ``out/`` holds ``calibration.duckdb`` with five tables:

``runs``
    One row, written when the store is created: what every simulation in it shares and a
    resumed or later wave must match: ``created``, ``oncotwin_version``,
    ``model_fingerprints`` (JSON ``{model: fingerprint}`` of the models of the examples with
    targets), ``targets_hash`` and ``n_targets`` (the targets the hierarchy was built from),
    ``hierarchy`` (``Hierarchy.to_json()``: the free quantities and their theta boxes) and
    ``options`` (JSON).
``waves``
    One row per wave: ``wave``, ``created``, ``design`` (``sobol``, ``lhs`` or ``given``),
    ``n_sets``, ``patients`` (per arm), ``seed`` (the simulation seed, the same for every set:
    common random numbers, so differences between sets are not Monte Carlo noise),
    ``examples`` (JSON list) and ``options`` (JSON).
``sets``
    One row per parameter set: ``set_id`` (``"w<wave>-<index>"``, e.g. ``"w1-0007"``),
    ``wave``, ``idx``, ``theta`` (JSON ``{quantity: log-multiplier}``) and ``origin``
    (``design``, ``posterior`` or ``given``).
``sims``
    One row per finished simulation, keyed by (``set_id``, ``example``, ``patients``,
    ``seed``): ``patients_total`` (all arms), ``model``, ``model_fingerprint``,
    ``parameter_set_hash`` (the trial's parameter set without overrides),
    ``parameter_values_hash`` (``TrialPlan.parameters_hash()``, overrides included),
    ``wall_s``, ``finished_at``, ``status`` (``ok`` or ``error``) and ``message`` (the error).
``sim_values``
    The summary of each ``ok`` simulation, long: (``set_id``, ``example``, ``patients``,
    ``seed``, ``arm``, ``endpoint``) -> ``value``, ``n`` (patients of that arm). Every endpoint
    of every arm is kept, so targets added later need no new simulation.

A simulation's ``sims`` row and its values are written in one transaction as soon as it
finishes, so a run killed at any moment loses at most the simulation that was running, and a
resumed run skips the finished (set, example) pairs; primary keys make a duplicate row
impossible. Each write opens the database briefly, so ``oncotwin calibrate status`` can read
the store while a run is writing it; a lock file keeps a second writer out (the operating system
releases it if the writer dies). A store refuses a run whose model fingerprint, targets or
hierarchy differ from its own (:class:`CalibrationStoreError` naming the fix: a new ``--out``
or ``--force-new-run``, which moves the old file aside).

Examples
--------
>>> import tempfile, pandas as pd
>>> out = tempfile.mkdtemp()
>>> store = CalibrationStore.create(out, model_fingerprints={"m": "abc"}, targets_hash="t1",
...                                 hierarchy_json='{"free": []}', n_targets=2)
>>> store.add_wave(1, design="given", patients=8, seed=0, examples=["ex"],
...                sets=pd.DataFrame({"growth_rate": [0.0, 0.1]}))
['w1-0000', 'w1-0001']
>>> rec = SimRecord("w1-0000", "ex", 8, 0, 16, "m", "abc", "h0", "h1", 1.5)
>>> store.record(rec, pd.DataFrame({"arm": ["a"], "endpoint": ["ORR"], "value": [40.0],
...                                 "n": [8]}))
>>> sorted(store.finished(1))
[('w1-0000', 'ex')]
>>> store.close()
>>> CalibrationStore.open(out).values()[["set_id", "endpoint", "value"]].to_dict("records")
[{'set_id': 'w1-0000', 'endpoint': 'ORR', 'value': 40.0}]
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from oncotwin._version import __version__
from oncotwin.errors import OncotwinError

try:  # POSIX advisory lock; released by the OS when the writer dies
    import fcntl
except ImportError:  # pragma: no cover - Windows: DuckDB's own file lock still applies
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DB_NAME",
    "FRESH_FIX",
    "CalibrationStore",
    "CalibrationStoreError",
    "SimRecord",
    "set_id",
    "targets_hash",
]

DB_NAME = "calibration.duckdb"
_LOCK_NAME = ".calibration.lock"
#: The fix named whenever an existing store cannot take this run's simulations.
FRESH_FIX = "use a new --out or --force-new-run"
#: Seconds a connection waits for another process's brief hold on the database file.
LOCK_WAIT_S = 60.0
#: Longest error message kept per failed simulation.
_MAX_MESSAGE = 2000

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        created VARCHAR, oncotwin_version VARCHAR, model_fingerprints VARCHAR,
        targets_hash VARCHAR, n_targets BIGINT, hierarchy VARCHAR, options VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS waves (
        wave BIGINT PRIMARY KEY, created VARCHAR, design VARCHAR, n_sets BIGINT,
        patients BIGINT, seed BIGINT, examples VARCHAR, options VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS sets (
        set_id VARCHAR PRIMARY KEY, wave BIGINT, idx BIGINT, theta VARCHAR, origin VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS sims (
        set_id VARCHAR, example VARCHAR, patients BIGINT, seed BIGINT, patients_total BIGINT,
        model VARCHAR, model_fingerprint VARCHAR, parameter_set_hash VARCHAR,
        parameter_values_hash VARCHAR, wall_s DOUBLE, finished_at VARCHAR, status VARCHAR,
        message VARCHAR, PRIMARY KEY (set_id, example, patients, seed))""",
    """CREATE TABLE IF NOT EXISTS sim_values (
        set_id VARCHAR, example VARCHAR, patients BIGINT, seed BIGINT, arm VARCHAR,
        endpoint VARCHAR, value DOUBLE, n BIGINT,
        PRIMARY KEY (set_id, example, patients, seed, arm, endpoint))""",
)
_ORIGINS = ("design", "posterior", "given")


class CalibrationStoreError(OncotwinError):
    """A calibration store cannot be created, continued, written or read as asked."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def set_id(wave: int, idx: int) -> str:
    """The id of parameter set ``idx`` of ``wave``.

    Examples
    --------
    >>> set_id(2, 17)
    'w2-0017'
    """
    return f"w{int(wave)}-{int(idx):04d}"


def targets_hash(targets: Iterable[Any]) -> str:
    """A short hash of the targets' identities and observed values (order-free).

    Any field of a target (its id, observed value, law, n, SE, block) changes the hash, so a
    store never mixes simulations made for different targets.

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> a = [T(target_id="A:ORR", observed=40.0), T(target_id="B:ORR", observed=20.0)]
    >>> targets_hash(a) == targets_hash(a[::-1]), targets_hash(a) == targets_hash(a[:1])
    (True, False)
    """
    rows = []
    for t in targets:
        fields = dataclasses.asdict(t) if dataclasses.is_dataclass(t) else dict(vars(t))
        rows.append(json.dumps(fields, sort_keys=True, default=str))
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class SimRecord:
    """One finished simulation of one parameter set on one example trial."""

    set_id: str
    example: str
    patients: int
    seed: int
    patients_total: int
    model: str
    model_fingerprint: str
    parameter_set_hash: str
    parameter_values_hash: str
    wall_s: float
    status: str = "ok"
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in ("ok", "error"):
            raise CalibrationStoreError(f"status={self.status!r}; give 'ok' or 'error'")


def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflict" in text or "could not set" in text)


class CalibrationStore:
    """The calibration store in the folder ``path`` (``calibration.duckdb``).

    Use :meth:`create` to start a run (or continue it: the identity is checked) and hold the
    writer lock, :meth:`open` to read one. Readers return pandas DataFrames.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: Any = None
        #: Notes of this session (e.g. an old store moved aside), also shown by the CLI.
        self.notes: list[str] = []

    def __repr__(self) -> str:
        return f"CalibrationStore({str(self.path)!r})"

    def __enter__(self) -> CalibrationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        """The DuckDB file."""
        return self.path / DB_NAME

    @property
    def exists(self) -> bool:
        """True if the folder holds a calibration store."""
        return self.db_path.is_file()

    @property
    def writable(self) -> bool:
        """True while this object holds the writer lock (after :meth:`create`)."""
        return self._lock is not None

    # -- life cycle ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        model_fingerprints: Mapping[str, str],
        targets_hash: str,
        hierarchy_json: str,
        n_targets: int,
        options: Mapping[str, Any] | None = None,
        force_new: bool = False,
    ) -> CalibrationStore:
        """Start a store in ``path``, or continue the one there (same identity); hold the
        writer lock until :meth:`close`.

        Raises
        ------
        CalibrationStoreError
            If another process is writing the store, or the existing store was made with
            another model fingerprint, other targets or another hierarchy (unless
            ``force_new``, which moves the old database aside and starts afresh).
        """
        store = cls(path)
        try:
            store.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationStoreError(
                f"out: cannot create the folder {str(store.path)!r} ({exc}); give a writable --out"
            ) from None
        store._acquire_lock()
        try:
            if store.exists and force_new:
                store._move_aside()
            if store.exists:
                store.check_identity(
                    model_fingerprints=model_fingerprints,
                    targets_hash=targets_hash,
                    hierarchy_json=hierarchy_json,
                )
            else:
                row = (
                    _now(),
                    __version__,
                    json.dumps(dict(sorted(model_fingerprints.items()))),
                    targets_hash,
                    int(n_targets),
                    hierarchy_json,
                    json.dumps(dict(options or {}), sort_keys=True, default=str),
                )
                with store._transaction() as con:
                    for stmt in _SCHEMA:
                        con.execute(stmt)
                    con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open(cls, path: str | Path) -> CalibrationStore:
        """Open an existing store to read it."""
        store = cls(path)
        if not store.exists:
            raise CalibrationStoreError(
                f"out: {str(path)!r} holds no calibration store ({DB_NAME} not found); give the "
                "--out folder of an `oncotwin calibrate run`"
            )
        return store

    def close(self) -> None:
        """Release the writer lock (idempotent)."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.truncate(0)
                if fcntl is not None:
                    fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
                self._lock.close()
            self._lock = None

    def _acquire_lock(self) -> None:
        fh = (self.path / _LOCK_NAME).open("a+")
        fh.seek(0)
        previous = fh.read().strip()
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                pid = f" (pid {previous})" if previous.isdigit() else ""
                raise CalibrationStoreError(
                    f"out: another process is running a calibration in {self.path}{pid}; wait "
                    "for it to finish, or use a new --out"
                ) from None
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock = fh

    def _move_aside(self) -> None:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
        target = self.path / f"calibration-{stamp}.duckdb"
        self.db_path.rename(target)
        wal = self.path / f"{DB_NAME}.wal"
        if wal.exists():
            wal.rename(target.with_name(target.name + ".wal"))
        self.notes.append(f"--force-new-run: the previous store was moved to {target}")

    # -- connections -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits while another process briefly holds the file."""
        deadline = time.monotonic() + LOCK_WAIT_S
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.db_path), read_only=read_only)
                break
            except duckdb.Error as exc:
                if not _is_lock_conflict(exc) or time.monotonic() > deadline:
                    raise CalibrationStoreError(
                        f"cannot open {self.db_path}: {exc}; wait for the process holding it, "
                        "or use a new --out"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.writable:
            raise CalibrationStoreError(
                f"{self} is open for reading only; use CalibrationStore.create(...) to write"
            )
        with self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        if not self.exists:
            raise CalibrationStoreError(f"{self.path} holds no calibration store ({DB_NAME})")
        with self._connect(read_only=not self.writable) as con:
            return con.execute(sql, list(params)).df()

    # -- identity --------------------------------------------------------------------------
    def run_info(self) -> dict[str, Any]:
        """The ``runs`` row as a dict (JSON fields decoded)."""
        df = self._query("SELECT * FROM runs")
        if df.empty:
            raise CalibrationStoreError(f"{self.db_path} has no runs row; {FRESH_FIX}")
        info = df.iloc[0].to_dict()
        for key in ("model_fingerprints", "hierarchy", "options"):
            info[key] = json.loads(info[key])
        return info

    def check_identity(
        self,
        *,
        model_fingerprints: Mapping[str, str],
        targets_hash: str,
        hierarchy_json: str,
    ) -> None:
        """Refuse to add simulations of another model, other targets or another hierarchy."""
        info = self.run_info()
        where = f"the calibration store in {str(self.path)!r}"
        for model, fp in sorted(model_fingerprints.items()):
            old = info["model_fingerprints"].get(model)
            if old is not None and old != fp:
                raise CalibrationStoreError(
                    f"{where} was made with model {model} fingerprint {old}, and the installed "
                    f"model's is {fp} (its equations changed): its simulations cannot be mixed "
                    f"with new ones; {FRESH_FIX}"
                )
        if info["targets_hash"] != targets_hash:
            raise CalibrationStoreError(
                f"{where} was made for other targets (hash {info['targets_hash']}, now "
                f"{targets_hash}: a target was added, removed or changed); {FRESH_FIX}"
            )
        if info["hierarchy"] != json.loads(hierarchy_json):
            raise CalibrationStoreError(
                f"{where} was made with another parameter hierarchy (its quantities or theta "
                f"boxes differ from those built now); {FRESH_FIX}"
            )

    # -- writing ---------------------------------------------------------------------------
    def add_wave(
        self,
        wave: int,
        *,
        design: str,
        patients: int,
        seed: int,
        examples: Sequence[str],
        sets: pd.DataFrame,
        origin: str = "design",
        options: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Record wave ``wave`` and its parameter sets (rows of ``sets``: one column per
        quantity, theta values) in one transaction; returns the set ids."""
        if origin not in _ORIGINS:
            raise CalibrationStoreError(f"origin={origin!r}; give one of {', '.join(_ORIGINS)}")
        if self.wave_info(wave) is not None:
            raise CalibrationStoreError(
                f"wave {wave} already exists in {self.path}; resume it (--resume) or give a new "
                "--wave"
            )
        if len(sets) == 0:
            raise CalibrationStoreError(f"wave {wave}: no parameter sets; give --sets >= 1")
        ids = [set_id(wave, i) for i in range(len(sets))]
        rows = []
        for i, (sid, (_, row)) in enumerate(zip(ids, sets.iterrows(), strict=True)):
            theta = {str(k): float(v) for k, v in row.items()}
            bad = [k for k, v in theta.items() if not math.isfinite(v)]
            if bad:
                raise CalibrationStoreError(
                    f"wave {wave}: set {i} has a non-finite theta for {', '.join(bad)}; give "
                    "finite log-multipliers"
                )
            rows.append((sid, int(wave), i, json.dumps(theta), origin))
        with self._transaction() as con:
            con.execute(
                "INSERT INTO waves VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(wave),
                    _now(),
                    design,
                    len(rows),
                    int(patients),
                    int(seed),
                    json.dumps(list(examples)),
                    json.dumps(dict(options or {}), sort_keys=True, default=str),
                ),
            )
            con.executemany("INSERT INTO sets VALUES (?, ?, ?, ?, ?)", rows)
        return ids

    def record(self, rec: SimRecord, values: pd.DataFrame | None = None) -> None:
        """Store one finished simulation and its summary (columns arm, endpoint, value, n) in
        one transaction. A failed simulation's row may be replaced (a retry); a finished
        ``ok`` one never is."""
        key = (rec.set_id, rec.example, int(rec.patients), int(rec.seed))
        with self._transaction() as con:
            old = con.execute(
                "SELECT status FROM sims WHERE set_id=? AND example=? AND patients=? AND seed=?",
                key,
            ).fetchall()
            if old and old[0][0] == "ok":
                raise CalibrationStoreError(
                    f"simulation {rec.set_id} x {rec.example} ({rec.patients} patients per arm, "
                    f"seed {rec.seed}) is already stored; it is never run twice"
                )
            if old:
                con.execute(
                    "DELETE FROM sims WHERE set_id=? AND example=? AND patients=? AND seed=?",
                    key,
                )
            con.execute(
                "INSERT INTO sims VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    int(rec.patients_total),
                    rec.model,
                    rec.model_fingerprint,
                    rec.parameter_set_hash,
                    rec.parameter_values_hash,
                    float(rec.wall_s),
                    _now(),
                    rec.status,
                    rec.message[:_MAX_MESSAGE],
                ),
            )
            if rec.status == "ok" and values is not None and len(values):
                rows = [
                    (*key, str(r.arm), str(r.endpoint), _float(r.value), _int(r.n))
                    for r in values[["arm", "endpoint", "value", "n"]].itertuples(index=False)
                ]
                con.executemany("INSERT INTO sim_values VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # -- reading ---------------------------------------------------------------------------
    def wave_info(self, wave: int) -> dict[str, Any] | None:
        """The ``waves`` row of ``wave`` (examples decoded), or None."""
        df = self._query("SELECT * FROM waves WHERE wave = ?", [int(wave)])
        if df.empty:
            return None
        info = df.iloc[0].to_dict()
        info["examples"] = json.loads(info["examples"])
        info["options"] = json.loads(info["options"])
        return info

    def waves(self) -> pd.DataFrame:
        """One row per wave."""
        return self._query("SELECT * FROM waves ORDER BY wave")

    def last_wave(self) -> int | None:
        """The highest wave number, or None for a store without waves."""
        w = self.waves()
        return None if w.empty else int(w["wave"].max())

    def sets(self, wave: int | None = None) -> pd.DataFrame:
        """Parameter sets, indexed by set_id: wave, origin and one theta column per quantity."""
        sql = "SELECT set_id, wave, idx, origin, theta FROM sets"
        if wave is not None:
            df = self._query(sql + " WHERE wave = ? ORDER BY idx", [int(wave)])
        else:
            df = self._query(sql + " ORDER BY wave, idx")
        theta = pd.DataFrame([json.loads(t) for t in df["theta"]], index=df.index)
        out = pd.concat([df.drop(columns=["theta", "idx"]), theta], axis=1)
        return out.set_index("set_id")

    def sims(self, wave: int | None = None) -> pd.DataFrame:
        """The ``sims`` table (with each set's wave)."""
        sql = "SELECT s.wave, m.* FROM sims m JOIN sets s USING (set_id)"
        if wave is not None:
            return self._query(sql + " WHERE s.wave = ? ORDER BY m.set_id, m.example", [wave])
        return self._query(sql + " ORDER BY m.set_id, m.example")

    def values(self, wave: int | None = None) -> pd.DataFrame:
        """The ``sim_values`` table, long (with each set's wave)."""
        sql = "SELECT s.wave, v.* FROM sim_values v JOIN sets s USING (set_id)"
        if wave is not None:
            return self._query(sql + " WHERE s.wave = ? ORDER BY v.set_id", [int(wave)])
        return self._query(sql + " ORDER BY v.set_id, v.example, v.arm, v.endpoint")

    def finished(
        self, wave: int, *, patients: int | None = None, seed: int | None = None
    ) -> dict[tuple[str, str], str]:
        """(set_id, example) -> status of every stored simulation of ``wave`` (at the wave's
        patients and seed unless given)."""
        info = self.wave_info(wave)
        if info is None:
            return {}
        p = int(info["patients"] if patients is None else patients)
        s = int(info["seed"] if seed is None else seed)
        df = self._query(
            "SELECT m.set_id, m.example, m.status FROM sims m JOIN sets s USING (set_id) "
            "WHERE s.wave = ? AND m.patients = ? AND m.seed = ?",
            [int(wave), p, s],
        )
        return {(r.set_id, r.example): r.status for r in df.itertuples(index=False)}

    def parameter_set_hashes(self) -> dict[str, set[str]]:
        """Example -> the parameter-set values hashes (without overrides) of its stored
        ``ok`` simulations (one per example unless parameter records changed)."""
        df = self._query(
            "SELECT DISTINCT example, parameter_set_hash FROM sims WHERE status = 'ok'"
        )
        out: dict[str, set[str]] = {}
        for r in df.itertuples(index=False):
            out.setdefault(str(r.example), set()).add(str(r.parameter_set_hash))
        return out

    def target_values(
        self,
        targets: Sequence[Any],
        *,
        wave: int | None = None,
        what: str = "value",
    ) -> pd.DataFrame:
        """Simulated values pivoted to one column per target (``target_id``), one row per set
        (index set_id); ``what="n"`` gives the simulated patients per arm instead. A target
        whose simulation is missing or failed is NaN."""
        if what not in ("value", "n"):
            raise CalibrationStoreError(f"what={what!r}; give 'value' or 'n'")
        sets = self.sets(wave)
        vals = self.values(wave)
        keys = vals[["set_id", "example", "arm", "endpoint"]]
        if keys.duplicated().any():
            raise CalibrationStoreError(
                "some sets were simulated more than once (other patients or seed); read one "
                "wave at a time with target_values(targets, wave=N)"
            )
        ids = [t.target_id for t in targets]
        where = {(t.example, t.arm, t.endpoint): t.target_id for t in targets}
        vals = vals.assign(
            target_id=[
                where.get(k)
                for k in zip(vals["example"], vals["arm"], vals["endpoint"], strict=True)
            ]
        ).dropna(subset=["target_id"])
        wide = vals.pivot(index="set_id", columns="target_id", values=what)
        return wide.reindex(index=sets.index, columns=ids).astype(float)


def _float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _int(x: Any) -> int | None:
    v = _float(x)
    return None if v is None or not math.isfinite(v) else int(v)
