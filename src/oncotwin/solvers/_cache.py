"""The kernel cache: where generated kernels live, and how it is kept small.

Entries are files named ``<stem>.<suffix>`` (a generated numba module ``.py`` with its
``__pycache__`` files, or a C library ``.so`` with its ``.c`` source); every file whose name
starts with an entry's stem belongs to it. Loading an entry refreshes its modification time
(:func:`touch`), so :func:`prune` removes the least recently used entries first: it keeps the
newest ``max_entries`` and drops any unused for ``max_age_days``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

__all__ = ["kernel_root", "prune", "touch"]

#: Entries unused for this long are removed when the cache is pruned.
MAX_AGE_DAYS = 60.0


def kernel_root() -> Path:
    """Root of the kernel cache (``$ONCOTWIN_CACHE/kernels`` or ``~/.cache/oncotwin/kernels``)."""
    root = os.environ.get("ONCOTWIN_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "oncotwin"
    return base / "kernels"


def touch(path: Path) -> None:
    """Mark a cache entry as used now (best effort: the cache may be read-only)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def prune(
    folder: Path,
    *,
    max_entries: int,
    max_age_days: float = MAX_AGE_DAYS,
    suffix: str = ".so",
    extra_dirs: tuple[str, ...] = (),
) -> list[str]:
    """Remove the least recently used entries of ``folder`` beyond ``max_entries`` and those
    unused for ``max_age_days``; return the removed stems.

    Parameters
    ----------
    folder
        Cache folder.
    max_entries
        Entries (files ending in ``suffix``) to keep, newest first.
    max_age_days
        Entries older than this are removed even below ``max_entries``.
    suffix
        Suffix of an entry's main file (``.so`` for C libraries, ``.py`` for numba modules).
    extra_dirs
        Subfolders also holding an entry's files (e.g. ``__pycache__``).
    """
    try:
        mains = [p for p in folder.iterdir() if p.is_file() and p.name.endswith(suffix)]
    except OSError:
        return []
    aged: list[tuple[float, Path]] = []
    for p in mains:
        with contextlib.suppress(OSError):
            aged.append((p.stat().st_mtime, p))
    aged.sort(key=lambda x: (-x[0], x[1].name))
    cutoff = time.time() - max_age_days * 86400.0
    doomed = [p for i, (m, p) in enumerate(aged) if i >= max_entries or m < cutoff]
    removed = []
    for main in doomed:
        stem = main.name[: -len(suffix)]
        for d in (folder, *(folder / x for x in extra_dirs)):
            try:
                files = [f for f in d.iterdir() if f.name.startswith(stem)]
            except OSError:
                continue
            for f in files:
                with contextlib.suppress(OSError):
                    f.unlink()
        removed.append(stem)
    return removed
