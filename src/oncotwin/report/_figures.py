"""The report's figures: trial plots rendered to inline base64 PNG."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from oncotwin.plotting._trial_common import _new_axes
from oncotwin.plotting.trial import (
    plot_forest,
    plot_km,
    plot_spider,
    plot_swimmer,
    plot_waterfall,
    subgroup_hazard_ratios,
)
from oncotwin.report._sections import (
    _e,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True)
class RenderedFigure:
    """One rendered figure: section id, caption and PNG bytes (base64 text)."""

    section: str
    caption: str
    png_base64: str


def _mpl_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with ``$`` in arm names escaped, so matplotlib never parses them as mathtext."""
    if "arm" not in df.columns or not df["arm"].astype(str).str.contains("$", regex=False).any():
        return df
    return df.assign(arm=df["arm"].astype(str).str.replace("$", r"\$", regex=False))


def _png(ax: Axes) -> str:
    """Save the axes' figure as base64 PNG text and release the figure."""
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    fig.clear()
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _ax() -> Axes:
    """Axes of a per-arm figure, sized to be read two to a row in the report."""
    return _new_axes((6.6, 4.3))


def _tall_ax() -> Axes:
    return _new_axes((6.6, 6.4))


def render_figures(
    *,
    outcomes: pd.DataFrame,
    visits: pd.DataFrame,
    events: pd.DataFrame,
    reference_arm: str,
    published_medians: Mapping[str, Mapping[str, float]] | None = None,
    subgroups: pd.DataFrame | None = None,
    max_swimmer: int = 30,
) -> list[RenderedFigure]:
    """Render every report figure (KM PFS/OS, then per arm waterfall, spider, swimmer, then
    forest plots) to base64 PNG; each matplotlib figure is released after saving.

    ``published_medians`` maps ``"pfs"``/``"os"`` to ``{arm: months}``. ``subgroups`` (a
    table for :func:`~oncotwin.plotting.trial.plot_forest`) replaces the PFS subgroup hazard
    ratios computed from ``outcomes`` against ``reference_arm``.
    """
    published_medians = published_medians or {}
    o, v, ev = _mpl_safe(outcomes), _mpl_safe(visits), _mpl_safe(events)
    safe = {str(a): str(a).replace("$", r"\$") for a in pd.unique(outcomes["arm"])}
    figs: list[RenderedFigure] = []
    for ep, name in (("pfs", "progression-free survival"), ("os", "overall survival")):
        pub = {safe[a]: m for a, m in published_medians.get(ep, {}).items() if a in safe}
        ax = plot_km(o, endpoint=ep, published_medians=pub or None)
        cap = f"Kaplan-Meier estimate of {name} per arm (95% CI bands, censoring ticks)"
        if pub:
            cap += "; diamonds: published medians"
        figs.append(RenderedFigure(f"km_{ep}", cap, _png(ax)))
    arms = [str(a) for a in pd.unique(outcomes["arm"])]
    steps: tuple[tuple[str, str, Callable[[str], Axes]], ...] = (
        (
            "waterfall",
            "Best % change of the target sum",
            lambda a: plot_waterfall(o, arm=a, ax=_ax()),
        ),
        (
            "spider",
            "% change from baseline over time",
            lambda a: plot_spider(v, arm=a, outcomes=o, ax=_ax()),
        ),
        (
            "swimmer",
            "Time on study, responders first",
            lambda a: plot_swimmer(o, ev, arm=a, max_patients=max_swimmer, ax=_tall_ax()),
        ),
    )
    for section, caption, draw in steps:
        for a in arms:
            figs.append(RenderedFigure(section, f"{caption}: arm {a}", _png(draw(safe[a]))))
    if subgroups is not None:
        figs.append(
            RenderedFigure(
                "forest", "Subgroup estimates (as supplied)", _png(plot_forest(subgroups))
            )
        )
    else:
        by = [c for c in ("pdl1_group", "tmb_group", "immune_phenotype") if c in outcomes]
        for a in arms:
            if a == reference_arm:
                continue
            table = subgroup_hazard_ratios(
                o, endpoint="pfs", reference_arm=safe[reference_arm], arm=safe[a], by=by
            )
            cap = f"PFS hazard ratio of arm {a} vs {reference_arm} by subgroup (Cox, 95% CI)"
            figs.append(RenderedFigure("forest", cap, _png(plot_forest(table))))
    return figs


def _figures_html(figs: Sequence[RenderedFigure], section: str) -> str:
    items = [f for f in figs if f.section == section]
    html_figs = "".join(
        f'<figure><img alt="{_e(f.caption)}" src="data:image/png;base64,{f.png_base64}">'
        f"<figcaption>{_e(f.caption)}</figcaption></figure>"
        for f in items
    )
    if len(items) > 1:
        return f'<div class="grid">{html_figs}</div>'
    return html_figs.replace("<figure>", '<figure class="wide">')
