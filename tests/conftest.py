"""Shared test helpers: where the project's ``../shared`` data lives, if it is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: ``$ONCOTWIN_SHARED`` or the ``shared`` folder beside the repository (as in CI).
SHARED = Path(os.environ.get("ONCOTWIN_SHARED") or Path(__file__).resolve().parents[2] / "shared")


def _shared_file(relative: str) -> Path:
    """A file under ``../shared``; skips the test with the reason when it is absent."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(
            f"{relative} not found under {SHARED} (the project's shared data is not "
            "beside this checkout; set ONCOTWIN_SHARED to point at it)"
        )
    return path


@pytest.fixture
def shared_file():
    """Fixture: ``shared_file("data/...")`` gives the path or skips the test with the reason."""
    return _shared_file
