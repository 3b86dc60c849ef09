"""Plots of simulation results (matplotlib, imported lazily; never calls ``show()``)."""

from oncotwin.plotting.population import plot_population

__all__ = ["plot_population"]
