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


#: Solver-correctness checks on the 150-state metastatic_io model that take minutes each on 2
#: cores (tight LSODA references and the symbolic Jacobian of every state): they run in CI's
#: slow set (``pytest -m slow``), the same checks on the small models stay in the default run.
SLOW_NODE_IDS = frozenset(
    {
        "tests/validation/test_model_harness.py::test_matches_tight_reference[metastatic_io]",
        "tests/unit/test_backend.py::test_c_jacobian_equals_the_symbolic_jacobian[metastatic_io]",
        "tests/unit/test_backend.py::test_c_matches_scipy_on_metastatic_io_with_doses",
    }
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark :data:`SLOW_NODE_IDS` slow before ``-m`` selects."""
    for item in items:
        if item.nodeid in SLOW_NODE_IDS:
            item.add_marker(pytest.mark.slow)
