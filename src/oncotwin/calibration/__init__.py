"""Calibration of oncotwin's models to published trial arms (issue 15; ``CALIBRATION.md``).

The targets are the published arms linked by the shipped example trials
(:mod:`oncotwin.calibration.targets`: one :class:`Target` per reported endpoint with its
sampling law), and the free quantities are the log-multipliers of the parameter hierarchy
(:mod:`oncotwin.calibration.hierarchy`: global biology, therapy-class potencies, cancer offsets
and a separate toxicity block; everything else stays at its sourced value and reports say
"uncalibrated: no arm for X").

Names are exported lazily, so ``import oncotwin`` never imports this package's optional
dependencies (``pip install 'oncotwin[calibrate]'``: jax, numpyro, scikit-learn, SALib), and
``import oncotwin.calibration`` imports a submodule only when one of its names is used.
Outputs are research simulations, not medical advice.

Examples
--------
>>> from oncotwin.calibration import load_targets
>>> any(t.target_id == "KN024_PEMBRO:ORR" for t in load_targets())
True
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> submodule that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    "Target": "targets",
    "load_targets": "targets",
    "target_loglik": "targets",
    "targets_table": "targets",
    "excluded_arms": "targets",
    "excluded_targets": "targets",
    "calibration_arm_ids": "targets",
    "skipped_statements": "targets",
    "Quantity": "hierarchy",
    "Hierarchy": "hierarchy",
    "INFORMED_BY": "hierarchy",
    "arm_tags": "hierarchy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'oncotwin.calibration' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"oncotwin.calibration.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
