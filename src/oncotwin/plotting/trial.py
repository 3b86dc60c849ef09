"""Plots of a virtual trial's result tables: waterfall, spider, swimmer, Kaplan-Meier, forest.

The inputs are the DataFrames of the trial data contract (``docs/trial_tables.md``):
``outcomes`` (one row per patient), ``visits`` (one row per scan) and ``events`` (one row per
event). Every function takes ``ax=None`` (a new figure, built from
:class:`matplotlib.figure.Figure` without pyplot's global state, is made when none is given),
returns the axes and never calls ``show()``. Times are stored in days and shown in weeks
(spider) or months (swimmer, Kaplan-Meier; 1 month = 30.4375 days).

Research simulation (oncotwin): not medical advice.

Examples
--------
>>> from oncotwin.report._demo import synthetic_trial_tables
>>> from oncotwin.plotting.trial import plot_waterfall, toxicity_table
>>> t = synthetic_trial_tables(n_per_arm=30, seed=0)
>>> ax = plot_waterfall(t.outcomes, arm="A")
>>> ax.get_ylabel()
'best change in sum of target diameters [%]'
>>> list(toxicity_table(t.outcomes)["arm"])
['A', 'B']
"""

from __future__ import annotations

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.plotting._trial_common import RESPONSE_COLORS
from oncotwin.plotting._trial_common import _new_axes as _new_axes  # used by oncotwin.report
from oncotwin.plotting._trial_response import plot_spider, plot_swimmer, plot_waterfall
from oncotwin.plotting._trial_survival import (
    plot_forest,
    plot_km,
    subgroup_hazard_ratios,
    toxicity_table,
)

__all__ = [
    "DAYS_PER_MONTH",
    "RESPONSE_COLORS",
    "plot_forest",
    "plot_km",
    "plot_spider",
    "plot_swimmer",
    "plot_waterfall",
    "subgroup_hazard_ratios",
    "toxicity_table",
]
