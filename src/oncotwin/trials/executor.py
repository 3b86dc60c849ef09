"""Run the chunks of a trial in-process or on a dask.distributed cluster.

``fn(chunk_id) -> {table name: DataFrame}`` simulates one chunk of patients. :func:`run_chunks`
calls it for every chunk id, serially in this process (the solver itself uses threads) or, with
``scheduler="tcp://HOST:PORT"``, on the workers of a running dask scheduler, and hands each
chunk's tables to ``on_result(chunk_id, tables)`` *in this process* as chunks complete, so one
process writes the store. :func:`run_to_store` adds resume: it skips the chunks a
:class:`~oncotwin.trials.store.TrialStore` already holds and writes the rest.

Results do not depend on where or in which order chunks run: a patient's randomness derives
from (run seed, patient id) alone and the store reads back in patient order.

Examples
--------
>>> import pandas as pd
>>> seen = []
>>> run_chunks(lambda c: {"t": pd.DataFrame({"x": [c]})}, [0, 1, 2],
...            on_result=lambda c, tables: seen.append(c))
[0, 1, 2]
>>> seen
[0, 1, 2]
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from oncotwin.errors import OncotwinError

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.trials.store import TrialStore

__all__ = ["ExecutorError", "run_chunks", "run_to_store"]

Tables = Mapping[str, pd.DataFrame]
ChunkFn = Callable[[int], Tables]


class ExecutorError(OncotwinError):
    """The chunks cannot be run as asked (unreachable scheduler, bad options)."""


def run_chunks(
    fn: ChunkFn,
    chunk_ids: Iterable[int],
    *,
    on_result: Callable[[int, Tables], None],
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float = 10.0,
) -> list[int]:
    """Run ``fn(chunk_id)`` for every chunk and pass each result to ``on_result``.

    Parameters
    ----------
    fn
        ``fn(chunk_id) -> {table: DataFrame}``; must be picklable for a scheduler with
        process workers (a module-level function or a ``functools.partial`` of one).
    chunk_ids
        The chunks to run (e.g. those not yet in the store).
    on_result
        Called in this process as ``on_result(chunk_id, tables)`` for each finished chunk,
        in completion order (chunk order when in-process).
    scheduler
        None (default) runs in this process, serially. ``"tcp://HOST:PORT"`` submits the
        chunks to that dask.distributed scheduler (``pip install 'oncotwin[dask]'``).
    progress
        Called as ``progress(n_done, n_total)`` after each chunk.
    timeout
        Seconds to wait for the scheduler to answer before giving up.

    Returns
    -------
    list of int
        Chunk ids in the order they completed.

    Raises
    ------
    ExecutorError
        If the scheduler address is malformed or cannot be reached within ``timeout``.
        An exception raised by ``fn`` propagates (with a note naming the chunk); the chunks
        handed to ``on_result`` before it stay handed over.
    """
    ids = [int(c) for c in chunk_ids]
    if len(set(ids)) != len(ids):
        dup = sorted({c for c in ids if ids.count(c) > 1})
        raise ExecutorError(f"chunk_ids: chunks {dup} are listed twice; give each chunk once")
    if scheduler is None:
        return _run_serial(fn, ids, on_result, progress)
    return _run_dask(fn, ids, on_result, progress, scheduler, float(timeout))


def _run_serial(fn, ids, on_result, progress) -> list[int]:
    for k, cid in enumerate(ids, start=1):
        try:
            tables = fn(cid)
        except Exception as exc:
            exc.add_note(f"(while running chunk {cid})")
            raise
        on_result(cid, tables)
        if progress is not None:
            progress(k, len(ids))
    return ids


def _run_dask(fn, ids, on_result, progress, scheduler: str, timeout: float) -> list[int]:
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise ExecutorError(
            f"scheduler: {scheduler!r} is not a scheduler address; give one such as "
            "'tcp://127.0.0.1:8786', or leave it out to run in-process"
        )
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - dask is an optional extra
        raise ExecutorError(
            "scheduler: dask.distributed is not installed; pip install 'oncotwin[dask]' or "
            "leave --scheduler out to run in-process"
        ) from None
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(
            f"scheduler: cannot reach the dask scheduler at {scheduler!r} within {timeout:g} s "
            f"({type(exc).__name__}: {exc}); start one with `dask scheduler` and workers with "
            f"`dask worker {scheduler}`, check the address, or leave --scheduler out to run "
            "in-process"
        ) from None
    done: list[int] = []
    futures = []
    try:
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(fn, cid, key=f"oncotwin-chunk-{cid}-{token}", pure=False) for cid in ids
        ]
        chunk_of = {f.key: cid for f, cid in zip(futures, ids, strict=True)}
        for fut in as_completed(futures, loop=client.loop):
            cid = chunk_of[fut.key]
            try:
                tables = fut.result()
            except Exception as exc:
                exc.add_note(f"(while running chunk {cid} on {scheduler})")
                raise
            on_result(cid, tables)
            fut.release()
            done.append(cid)
            if progress is not None:
                progress(len(done), len(ids))
    finally:
        if futures:
            client.cancel([f for f in futures if not f.done()])
        client.close()
    return done


def run_to_store(
    store: TrialStore,
    fn: ChunkFn,
    n_chunks: int,
    *,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float = 10.0,
) -> list[int]:
    """Run the chunks ``0..n_chunks-1`` that ``store`` does not hold yet and write them.

    ``store`` must be open for writing (``TrialStore(out).create(spec, ..., resume=True)``);
    each chunk is written in one transaction as soon as it arrives. Returns the chunk ids run.
    """
    done = store.done_chunks()
    todo = [c for c in range(int(n_chunks)) if c not in done]
    return run_chunks(
        fn,
        todo,
        on_result=store.write_chunk,
        scheduler=scheduler,
        progress=progress,
        timeout=timeout,
    )
