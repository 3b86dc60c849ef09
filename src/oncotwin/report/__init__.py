"""Self-contained HTML report of a virtual trial (research simulation, not medical advice)."""

from oncotwin.report.html import RenderedFigure, render_figures, write_report

__all__ = ["RenderedFigure", "render_figures", "write_report"]
