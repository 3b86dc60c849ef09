"""Plots of simulation results (matplotlib, imported lazily; never calls ``show()``)."""

from oncotwin.plotting.population import default_states, plot_population, plot_states

__all__ = ["default_states", "plot_population", "plot_states"]
