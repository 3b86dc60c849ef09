"""Per-site tumour trajectories of a ``metastatic_io`` population."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_sites"]


def plot_sites(result: Any, *, axes: Any = None, log: bool = True) -> Any:
    """Median and 5-95% band of the viable tumour cells of every site that has disease.

    ``result`` is a :class:`~oncotwin.simulation.SimulationResult` of ``metastatic_io``. One
    panel per site with a lesion in at least one patient (patients without a lesion there
    are left out of that panel), plus the largest micrometastatic burden (new lesions).
    Returns the array of axes.
    """
    from matplotlib.figure import Figure

    from oncotwin._constants import DISCLAIMER
    from oncotwin.models.metastatic_io import METASTATIC_SITES, SITES

    sol = result.solution
    names = list(sol.names)
    t = sol.t
    panels = []
    for s in SITES:
        v = sol.y[:, :, names.index(f"T_{s}")] + sol.y[:, :, names.index(f"U_{s}")]
        has = v[:, 0] > 0
        if has.any():
            panels.append((s.replace("_", " "), v[has] * 1e9, "viable tumour cells"))
    mm = np.exp(sol.y[:, :, [names.index(f"micromet_{s}") for s in METASTATIC_SITES]].max(axis=2))
    panels.append(("new lesions (largest organ)", mm, "micrometastatic cells"))
    n = len(panels)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    if axes is None:
        fig = Figure(figsize=(4.2 * ncol, 3.0 * nrow), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, ncol, sharex=True, squeeze=False)).ravel()
    axes = np.atleast_1d(axes).ravel()
    for ax, (title, y, ylabel) in zip(axes, panels, strict=False):
        lo, med, hi = np.nanpercentile(y, [5, 50, 95], axis=0)
        ax.fill_between(t, lo, hi, alpha=0.25, label="5-95%")
        ax.plot(t, med, lw=2, label=f"median (n={y.shape[0]})")
        if log:
            ax.set_yscale("log")
            ax.set_ylim(bottom=1.0)  # below one cell the lesion is eradicated
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("day")
        ax.legend(fontsize=7)
    if "new lesions" in panels[-1][0]:
        k = len(panels) - 1
        axes[k].axhline(5.2e8, ls="--", c="grey", lw=1)  # ~10 mm: detectable
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[0].figure.suptitle(f"{result.model.name}: per-site trajectories. {DISCLAIMER}", fontsize=9)
    return axes
