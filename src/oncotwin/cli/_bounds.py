"""Bounds on command-line input, checked before any work starts (one error naming the option,
the value, the limit and the fix).

The limits of regimens and specs live with them (:mod:`oncotwin.regimens.grammar`,
:mod:`oncotwin.trials.spec`); this module checks what only the command line takes: seeds,
tolerances, output intervals and whether a run's output fits the disk (and, for ``simulate``,
whose whole result is held at once, the memory).

Examples
--------
>>> check_seed(7, "--seed")
7
>>> human_bytes(3.2e9)
'3.2 GB'
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from oncotwin._random import MAX_SEED, check_seed
from oncotwin.errors import OncotwinError

__all__ = [
    "MAX_CHUNK",
    "MAX_SEED",
    "MIN_RTOL",
    "check_chunk_size",
    "check_fits",
    "check_seed",
    "check_tolerance",
    "human_bytes",
    "simulate_bytes_per_patient",
    "trial_bytes_per_patient",
]

#: Smallest relative tolerance: below it double precision cannot follow (about 100 ulp).
MIN_RTOL = 1e-14
#: Most patients per trial chunk: a chunk's trajectories are held in memory at once.
MAX_CHUNK = 50_000

# Estimated stored size of one trial patient: columns of the store's tables
# (docs/trial_tables.md) at 16 bytes a cell (8-byte numbers, short strings, DuckDB overhead;
# compression makes the real store smaller, so the estimate errs on the safe side).
_PATIENT_COLUMNS = 64  # patients: id, arm, covariates, mechanistic parameters
_OUTCOME_COLUMNS = 24  # outcomes: one row per patient
_VISIT_COLUMNS = 11  # visits: one row per patient and scan
_EVENTS_PER_PATIENT = 12  # events: progression, response, toxicity, death, ... (typical <= 6)
_EVENT_COLUMNS = 6
_BYTES_PER_CELL = 16


def check_tolerance(value: float, option: str, *, minimum: float = 0.0) -> float:
    """A positive finite tolerance (at least ``minimum``), else an error naming ``option``."""
    if not (math.isfinite(value) and value > 0):
        raise OncotwinError(
            f"{option} {value:g}: a tolerance is a positive finite number; give e.g. {option} 1e-6"
        )
    if value < minimum:
        raise OncotwinError(
            f"{option} {value:g} is below the limit of {minimum:g} (double precision cannot "
            f"resolve finer steps); give {option} {minimum:g} or larger"
        )
    return value


def check_chunk_size(chunk: int | None) -> None:
    """Refuse a chunk size above :data:`MAX_CHUNK` (a chunk is held in memory at once)."""
    if chunk is not None and chunk > MAX_CHUNK:
        raise OncotwinError(
            f"--chunk-size {chunk:,} is above the limit of {MAX_CHUNK:,} patients per chunk (a "
            "chunk's trajectories are held in memory at once); give e.g. --chunk-size 500"
        )


def simulate_bytes_per_patient(n_times: int, n_states: int) -> int:
    """Size of one patient's rows in ``simulate``'s long table [byte] (patient, time, one
    8-byte column per state, status), the same in memory and, uncompressed, on disk."""
    return 8 * n_times * (n_states + 3)


def trial_bytes_per_patient(n_scans: int) -> int:
    """Estimated size of one patient in a trial store [byte], from the store's tables."""
    cells = (
        _PATIENT_COLUMNS
        + _OUTCOME_COLUMNS
        + n_scans * _VISIT_COLUMNS
        + _EVENTS_PER_PATIENT * _EVENT_COLUMNS
    )
    return _BYTES_PER_CELL * cells


def human_bytes(n: float) -> str:
    """``n`` bytes as text with a decimal unit (kB, MB, GB, TB)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000.0
    return f"{n:.2g} PB"  # pragma: no cover


def _free_bytes(out: Path) -> int | None:
    """Free bytes on the file system that will hold ``out`` (its nearest existing folder)."""
    p = Path(out).absolute()
    for folder in (p, *p.parents):
        if folder.is_dir():
            try:
                return shutil.disk_usage(folder).free
            except OSError:  # pragma: no cover - unreadable mount
                return None
    return None  # pragma: no cover


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def check_fits(
    patients: int, per_patient: int, out: Path, *, option: str, in_memory: bool = False
) -> None:
    """Refuse ``patients`` whose estimated output (``per_patient`` bytes each) would not fit
    the free disk under ``out`` (or, ``in_memory``, half the machine's memory)."""
    need = patients * per_patient
    free = _free_bytes(out)
    if free is not None and need > free:
        raise OncotwinError(
            f"{option} {patients:,}: the output would need about {human_bytes(need)} "
            f"({human_bytes(per_patient)} per patient) but only {human_bytes(free)} is free "
            f"where {str(out)!r} goes; give fewer patients or another --out"
        )
    mem = _memory_bytes() if in_memory else None
    if mem is not None and need > mem // 2:
        raise OncotwinError(
            f"{option} {patients:,}: the result would take about {human_bytes(need)} of "
            f"memory ({human_bytes(per_patient)} per patient), more than half of this machine's "
            f"{human_bytes(mem)}; give fewer patients, fewer --save states or a larger --every"
        )
