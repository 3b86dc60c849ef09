"""Population trajectories: median, 5-95% band and a few individual patients per state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from oncotwin._constants import DISCLAIMER

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.simulation import SimulationResult

__all__ = ["default_states", "plot_population", "plot_states"]

_TUMOR_NAMES = ("T", "tumor", "tumour", "C", "V", "x")


def default_states(result: SimulationResult, n: int = 4) -> list[str]:
    """Up to ``n`` saved states to show: the tumor burden first when the model has one; under
    a regimen, then the states the doses enter; untreated, then the others in model order."""
    names = list(result.solution.names)
    first = [s for s in _TUMOR_NAMES if s in names][:1]
    dosed = [d.state for d in result.model.dose_targets.values() if d.state in names]
    if result.regimen is not None and dosed:
        return list(dict.fromkeys([*first, *dosed]))[:n]
    return list(dict.fromkeys([*first, *names]))[:n]


def plot_population(
    result: SimulationResult,
    state: str | None = None,
    *,
    ax: Axes | None = None,
    log: bool = True,
    n_individual: int = 9,
) -> Axes:
    """Plot one state of every patient as a median line with a 5-95% band, and the
    trajectories of ``n_individual`` representative patients (those at evenly spaced
    percentiles, 5th to 95th, of the final value).

    Returns the axes; pass ``ax`` to draw into an existing figure.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
        ax.figure.text(0.01, 0.005, DISCLAIMER, fontsize=7, color="0.4")
    sol = result.solution
    name = state or default_states(result, 1)[0]
    y = sol[name][sol.success]
    unit = {s.name: s.unit for s in sol.model.states}.get(name, "")
    t = sol.t
    if y.shape[0]:
        order = np.argsort(y[:, -1])
        q = np.linspace(0.05, 0.95, min(n_individual, len(order)))
        picks = order[np.round(q * (len(order) - 1)).astype(int)]
        for i, row in enumerate(y[picks]):
            ax.plot(
                t,
                row,
                color="0.55",
                lw=0.7,
                alpha=0.7,
                label="representative patients" if i == 0 else None,
            )
        lo, med, hi = np.nanpercentile(y, [5, 50, 95], axis=0)
        ax.fill_between(t, lo, hi, color="C0", alpha=0.25, label="5-95% of patients")
        ax.plot(t, med, color="C0", lw=2, label="median")
    if log and y.size and np.nanmin(y) > 0 and np.nanmax(y) / np.nanmin(y) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("time [day]")
    ax.set_ylabel(f"{name} [{unit}]")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_states(
    result: SimulationResult, states: Sequence[str] | None = None, *, log: bool = True
) -> np.ndarray:
    """One panel per state (default: up to four, tumor first); returns the array of axes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(states) if states else default_states(result)
    cols = 1 if len(names) == 1 else 2
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(6 * cols, 3.6 * rows), layout="constrained", squeeze=False
    )
    for ax, name in zip(axes.flat, names, strict=False):
        plot_population(result, name, ax=ax, log=log)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    sol = result.solution
    reg = f"under {result.regimen}" if result.regimen is not None else "untreated"
    fig.suptitle(
        f"{sol.model.name}: {int(sol.success.sum())} of {sol.n_patients} virtual patients, {reg}",
        fontsize=11,
    )
    fig.text(0.01, 0.002, DISCLAIMER, fontsize=7, color="0.4")
    return axes
