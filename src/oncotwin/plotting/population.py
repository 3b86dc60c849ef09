"""Population trajectories: median, 5-95% band and a few individual patients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.simulation import SimulationResult

__all__ = ["plot_population"]


def plot_population(
    result: SimulationResult,
    state: str | None = None,
    *,
    ax: Axes | None = None,
    log: bool = True,
    n_individual: int = 20,
) -> Axes:
    """Plot one state of every patient as a median line with a 5-95% band.

    Returns the axes; pass ``ax`` to draw into an existing figure.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    sol = result.solution
    name = state or sol.names[0]
    y = sol[name][sol.success]
    unit = {s.name: s.unit for s in sol.model.states}.get(name, "")
    t = sol.t
    if y.shape[0]:
        for row in y[: min(n_individual, y.shape[0])]:
            ax.plot(t, row, color="0.6", lw=0.6, alpha=0.6)
        lo, med, hi = np.nanpercentile(y, [5, 50, 95], axis=0)
        ax.fill_between(t, lo, hi, color="C0", alpha=0.25, label="5-95% of patients")
        ax.plot(t, med, color="C0", lw=2, label="median")
    if log and y.size and np.nanmin(y) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("time [day]")
    ax.set_ylabel(f"{name} [{unit}]")
    reg = f" under {result.regimen}" if result.regimen is not None else " (untreated)"
    ax.set_title(f"{sol.model.name}: {y.shape[0]} of {sol.n_patients} patients{reg}", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    ax.figure.text(
        0.01, 0.005, "Research simulation (oncotwin): not medical advice.", fontsize=7, color="0.4"
    )
    return ax
