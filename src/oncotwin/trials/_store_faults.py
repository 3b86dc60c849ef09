"""Messages for the faults of an output folder: full disk, no permission, a file in the way.

:mod:`oncotwin.trials.store` turns an ``OSError`` or a DuckDB I/O error into one
:class:`~oncotwin.trials.store.StoreError` with :func:`fault_message`: it names the folder as
the user gave it, the cause, how many finished chunks are kept, and the fix (``--resume``
continues a run once the cause is gone).

Examples
--------
>>> import errno
>>> fault_kind(OSError(errno.ENOSPC, "No space left on device"))
'full'
>>> print(fault_message(PermissionError(errno.EACCES, "Permission denied"), "res", doing="x"))
out: cannot write in 'res' (x failed: Permission denied): give --out a folder you can write to, or fix its permissions
"""  # noqa: E501

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from oncotwin.trials.store import StoreError

__all__ = ["fault_kind", "fault_message", "io_fault"]

#: errno values (and their messages as DuckDB quotes them) of a full disk / an unwritable folder.
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}  # no EDQUOT on Windows
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "File too large")
_DENIED_TEXT = ("Permission denied", "Read-only file system", "Operation not permitted")


def fault_kind(exc: BaseException) -> str | None:
    """``"full"``, ``"denied"`` or ``"notdir"`` for a fault of the disk or folder, else None."""
    if isinstance(exc, OSError):
        if exc.errno in _FULL:
            return "full"
        if exc.errno in _DENIED:
            return "denied"
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            return "notdir"
        return None
    text = str(exc)
    if any(t in text for t in _FULL_TEXT):
        return "full"
    if any(t in text for t in _DENIED_TEXT):
        return "denied"
    return None


def fault_message(
    exc: BaseException,
    path: str | Path,
    *,
    doing: str,
    kept: int | None = None,
    fix: str | None = None,
) -> str:
    """One line: the folder ``path``, what failed (``doing``), why, what is kept, the fix.

    ``fix`` replaces the default advice for a full disk or an unwritable folder.
    """
    where = repr(str(path))
    kind = fault_kind(exc)
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
    if reason is None:
        found = [t for t in _FULL_TEXT + _DENIED_TEXT if t in str(exc)]
        reason = found[0] if found else (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    safe = {None: "", 0: "; no chunk was finished yet", 1: "; the 1 finished chunk is kept"}.get(
        kept, f"; the {kept} finished chunks are kept"
    )
    resume = " and rerun with --resume" if kept is not None else ""
    if kind == "full":
        return f"out: the disk holding {where} is full ({doing} failed: {reason}){safe}: " + (
            fix or f"free space (or move the folder to a larger disk){resume or ' and run again'}"
        )
    if kind == "denied":
        return f"out: cannot write in {where} ({doing} failed: {reason}){safe}: " + (
            fix or f"give --out a folder you can write to, or fix its permissions{resume}"
        )
    if kind == "notdir":
        return (
            f"out: {where} cannot be made a folder: a file is in the way ({reason}); give --out "
            "a new folder path"
        )
    default = "rerun with --resume" if kept is not None else "check the folder or use a new --out"
    return f"out: {doing} in {where} failed ({reason}){safe}; {fix or default}"


def io_fault(
    exc: BaseException,
    path: str | Path,
    *,
    doing: str,
    kept: int | None = None,
    fix: str | None = None,
) -> StoreError:
    """One clear :class:`StoreError` for an OS or DuckDB failure while writing folder ``path``.

    It names the folder (as the user gave it), the cause and the fix; ``kept`` (the number of
    chunks stored before the failure) says that they are safe and ``--resume`` continues;
    ``fix`` replaces the default advice.

    Examples
    --------
    >>> import errno
    >>> err = io_fault(OSError(errno.ENOSPC, "No space left on device"), "out", doing="x", kept=2)
    >>> str(err).startswith("out: the disk holding 'out' is full (x failed: No space left")
    True
    """
    from oncotwin.trials.store import StoreError

    return StoreError(fault_message(exc, path, doing=doing, kept=kept, fix=fix))
