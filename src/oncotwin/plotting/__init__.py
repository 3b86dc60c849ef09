"""Plots of simulation results and virtual trials (matplotlib, imported lazily; never ``show()``).

Population trajectories come from :mod:`~oncotwin.plotting.population`; the trial plots of
:mod:`~oncotwin.plotting.trial` (waterfall, spider, swimmer, Kaplan-Meier, forest, toxicity
table) are re-exported here and imported on first use, so that ``import oncotwin.plotting``
does not load pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

from oncotwin.plotting.population import default_states, plot_population, plot_states

#: Names of :mod:`oncotwin.plotting.trial` re-exported here (imported on first use).
_TRIAL_EXPORTS: tuple[str, ...] = (
    "plot_forest",
    "plot_km",
    "plot_spider",
    "plot_swimmer",
    "plot_waterfall",
    "subgroup_hazard_ratios",
    "toxicity_table",
)

__all__ = [
    "default_states",
    "plot_forest",
    "plot_km",
    "plot_population",
    "plot_spider",
    "plot_states",
    "plot_swimmer",
    "plot_waterfall",
    "subgroup_hazard_ratios",
    "toxicity_table",
]


def __getattr__(name: str) -> Any:
    """Import a trial plot the first time it is used."""
    if name not in _TRIAL_EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.trial"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
