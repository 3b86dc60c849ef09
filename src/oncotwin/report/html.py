"""One self-contained HTML file reporting a virtual trial: :func:`write_report`.

The file needs nothing else to be read: figures are inline base64 PNG ``<img>`` tags, the CSS
is inline, there is no JavaScript and no external URL. Every string that comes from the user
(title, arm names, notes, manifest, published sources) is escaped with :func:`html.escape`.

Research simulation (oncotwin): not medical advice.

Examples
--------
>>> import tempfile
>>> from oncotwin.report._demo import synthetic_trial_tables
>>> from oncotwin.report.html import write_report
>>> t = synthetic_trial_tables(n_per_arm=30, seed=0)
>>> path = write_report(tempfile.mkdtemp(), title="Demo", summary=t.summary,
...                     outcomes=t.outcomes, visits=t.visits, events=t.events,
...                     manifest=t.manifest)
>>> path.name
'report.html'
>>> "not medical advice" in path.read_text(encoding="utf-8")
True
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._version import __version__
from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.plotting.trial import (
    _new_axes,
    plot_forest,
    plot_km,
    plot_spider,
    plot_swimmer,
    plot_waterfall,
    subgroup_hazard_ratios,
    toxicity_table,
)
from oncotwin.simulation import DISCLAIMER

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["RenderedFigure", "render_figures", "write_report"]

_SUMMARY_COLUMNS = ("arm", "endpoint", "value", "ci_low", "ci_high", "unit")
#: Display names and order of the summary endpoints; others follow in table order.
_ENDPOINT_NAMES: dict[str, str] = {
    "ORR": "Objective response rate (ORR)",
    "CR": "Complete response (CR)",
    "DCR": "Disease control rate (DCR)",
    "median_DOR_mo": "Median duration of response",
    "median_PFS_mo": "Median PFS",
    "median_OS_mo": "Median OS",
    "HR_PFS": "Hazard ratio PFS vs reference",
    "HR_OS": "Hazard ratio OS vs reference",
    "g3plus_AE": "Grade ≥3 adverse events",
    "g3plus_irAE": "Grade ≥3 immune-related AEs",
    "g3plus_CRS": "Grade ≥3 CRS",
    "g3plus_ICANS": "Grade ≥3 ICANS",
}
_METHOD_REFERENCES = (
    "Eisenhauer EA et al. (2009). New response evaluation criteria in solid tumours: revised "
    "RECIST guideline (version 1.1). Eur J Cancer 45:228-247 (waterfall/spider thresholds "
    "-30% and +20%).",
    "Davidson-Pilon C (2019). lifelines: survival analysis in Python. J Open Source Softw "
    "4(40):1317 (Kaplan-Meier curves, numbers at risk, Cox hazard ratios, log-rank tests).",
)

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --band:#102a43; --accent:#0b4f9c;
        --zebra:#f5f7fa; --ok:#1b7837; --bad:#b42318; --warn-bg:#fff4e5; --warn:#8a4b00; }
* { box-sizing: border-box; }
body { margin:0; background:#eef2f6; color:var(--ink);
       font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:var(--band); color:#fff; padding:28px 0 22px; }
.wrap { max-width:1120px; margin:0 auto; padding:0 28px; }
header h1 { margin:0 0 6px; font-size:26px; font-weight:600; letter-spacing:.2px; }
header .meta { color:#bcccdc; font-size:13px; }
.disclaimer { background:var(--warn-bg); color:var(--warn); border-left:4px solid #f0a030;
              padding:10px 16px; margin:18px 0 0; font-weight:600; border-radius:3px; }
nav { margin:16px 0 0; font-size:13px; }
nav a { color:var(--accent); text-decoration:none; margin-right:14px; }
main section { background:#fff; border:1px solid var(--line); border-radius:6px;
               padding:18px 24px 20px; margin:18px 0; }
h2 { font-size:19px; margin:0 0 12px; color:var(--band); border-bottom:2px solid var(--line);
     padding-bottom:6px; }
h3 { font-size:15px; margin:14px 0 6px; color:var(--muted); }
table { border-collapse:collapse; width:100%; font-size:13.5px; margin:6px 0 4px; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right;
         vertical-align:top; }
th { background:var(--band); color:#fff; font-weight:600; position:static; }
th:first-child, td:first-child { text-align:left; }
td.text { text-align:left; }
tbody tr:nth-child(even) { background:var(--zebra); }
.ci { color:var(--muted); font-size:12px; white-space:nowrap; }
.yes { color:var(--ok); font-weight:600; } .no { color:var(--bad); font-weight:600; }
.na { color:#9aa5b1; }
figure { margin:10px 0 16px; text-align:center; }
figure.wide img { max-width:880px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
figcaption { color:var(--muted); font-size:12.5px; margin-top:4px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(480px, 1fr)); gap:8px 18px; }
pre { background:#f5f7fa; border:1px solid var(--line); border-radius:4px; padding:12px;
      font-size:12px; overflow-x:auto; white-space:pre-wrap; word-break:break-word; }
ul.notes li, ol.refs li { margin:3px 0; }
.small { color:var(--muted); font-size:12.5px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:8px 0 30px; }
"""


@dataclass(frozen=True)
class RenderedFigure:
    """One rendered figure: section id, caption and PNG bytes (base64 text)."""

    section: str
    caption: str
    png_base64: str


def _e(value: Any) -> str:
    """Escape anything for HTML text and attributes."""
    return html.escape(str(value), quote=True)


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


# ----------------------------------------------------------------------------- formatting
def _num(x: float, unit: str) -> str:
    if unit == "ratio":
        return f"{x:.2f}"
    return f"{x:.1f}"


def _fmt_value(value: float, lo: float, hi: float, unit: str) -> str:
    """``45.0% <span>(38.1-52.0)</span>``; medians not reached show NR."""
    u = {"%": "%", "months": " mo"}.get(unit, "")
    if not np.isfinite(value):
        return "NR" if unit == "months" else '<span class="na">&ndash;</span>'
    text = f"{_num(value, unit)}{u}"
    if np.isfinite(lo) or np.isfinite(hi):
        lo_s = _num(lo, unit) if np.isfinite(lo) else "NR"
        hi_s = _num(hi, unit) if np.isfinite(hi) else "NR"
        text += f' <span class="ci">({lo_s}&ndash;{hi_s})</span>'
    return text


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "p&lt;0.001" if p < 0.001 else f"p={p:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, text_cols=()) -> str:
    """HTML table; ``header`` is escaped here, ``rows`` must already be escaped HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{c}</td>' if i in text_cols else f"<td>{c}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _endpoint_order(endpoints: Sequence[str]) -> list[str]:
    known = [e for e in _ENDPOINT_NAMES if e in endpoints]
    landmarks = sorted(
        (e for e in endpoints if e not in _ENDPOINT_NAMES and e[:3] in ("PFS", "OS_")),
        key=lambda e: (not e.startswith("PFS"), e),
    )
    rest = [e for e in endpoints if e not in known and e not in landmarks]
    order = [e for e in known if not e.startswith(("HR_", "g3plus"))]
    order += landmarks
    order += [e for e in known if e.startswith("HR_")]
    order += [e for e in known if e.startswith("g3plus")]
    return order + rest


def _endpoint_label(ep: str) -> str:
    if ep in _ENDPOINT_NAMES:
        return _ENDPOINT_NAMES[ep]
    head, _, tail = ep.partition("_")
    if head in ("PFS", "OS") and tail.endswith("mo") and tail[:-2].isdigit():
        return f"{head} rate at {tail[:-2]} months"
    return ep


def _logrank_p(outcomes: pd.DataFrame, arm: str, reference: str, ep: str) -> float:
    from lifelines.statistics import logrank_test

    a = outcomes[outcomes["arm"].astype(str) == arm]
    r = outcomes[outcomes["arm"].astype(str) == reference]
    if a.empty or r.empty or f"{ep}_days" not in outcomes:
        return math.nan
    res = logrank_test(
        a[f"{ep}_days"].to_numpy(float),
        r[f"{ep}_days"].to_numpy(float),
        a[f"{ep}_event"].to_numpy(bool),
        r[f"{ep}_event"].to_numpy(bool),
    )
    return float(res.p_value)


def _summary_section(
    summary: pd.DataFrame, outcomes: pd.DataFrame, arms: list[str], reference: str
) -> str:
    s = summary.assign(arm=summary["arm"].astype(str), endpoint=summary["endpoint"].astype(str))
    cells = {(r.arm, r.endpoint): r for r in s.itertuples(index=False)}
    has_p = "p_value" in s.columns
    rows = []
    for ep in _endpoint_order(list(pd.unique(s["endpoint"]))):
        row = [_e(_endpoint_label(ep))]
        for a in arms:
            r = cells.get((a, ep))
            if r is None:
                mark = "reference" if ep.startswith("HR_") and a == reference else "&ndash;"
                row.append(f'<span class="na">{mark}</span>')
                continue
            unit = str(r.unit)
            text = _fmt_value(float(r.value), float(r.ci_low), float(r.ci_high), unit)
            if ep.startswith("HR_"):
                p = float(r.p_value) if has_p else math.nan
                if not np.isfinite(p):
                    p = _logrank_p(outcomes, a, reference, ep[3:].lower())
                    text += (
                        f' <span class="ci">{_fmt_p(p)} (log-rank)</span>' if np.isfinite(p) else ""
                    )
                else:
                    text += f' <span class="ci">{_fmt_p(p)}</span>'
            row.append(text)
        rows.append(row)
    n = outcomes.groupby(outcomes["arm"].astype(str)).size()
    header = ["Endpoint", *[f"{a} (n={int(n.get(a, 0))})" for a in arms]]
    note = (
        '<p class="small">Values with 95% confidence intervals in brackets; NR = not reached. '
        f"Hazard ratios are against the reference arm <b>{_e(reference)}</b>.</p>"
    )
    return _table(header, rows, text_cols=(0,)) + note


def _published(summary: pd.DataFrame, targets: pd.DataFrame | None) -> pd.DataFrame:
    """``arm, endpoint, published, source`` from the summary and ``published_targets``."""
    cols = ["arm", "endpoint", "published", "source"]
    parts = []
    if "published" in summary.columns:
        s = summary[np.isfinite(pd.to_numeric(summary["published"], errors="coerce"))]
        src = s["source"] if "source" in s.columns else pd.Series("", index=s.index)
        parts.append(s.assign(source=src.fillna(""))[cols])
    if targets is not None:
        if not isinstance(targets, pd.DataFrame):
            raise OncotwinError(
                f"published_targets={type(targets).__name__}; give a DataFrame with columns "
                "arm, endpoint, published (or value), source"
            )
        t = (
            targets.rename(columns={"value": "published"})
            if "published" not in targets
            else targets
        )
        missing = [c for c in ("arm", "endpoint", "published") if c not in t.columns]
        if missing:
            raise OncotwinError(
                f"published_targets lacks column(s) {missing}; give arm, endpoint, published "
                "(or value) and source"
            )
        t = t.assign(source=t["source"].fillna("") if "source" in t.columns else "")
        parts.append(t[cols])
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(arm=out["arm"].astype(str), endpoint=out["endpoint"].astype(str))
    return out.drop_duplicates(["arm", "endpoint"], keep="last").reset_index(drop=True)


def _comparison_section(summary: pd.DataFrame, pub: pd.DataFrame) -> str:
    if pub.empty:
        return '<p class="small">No published values were given for comparison.</p>'
    s = summary.assign(arm=summary["arm"].astype(str), endpoint=summary["endpoint"].astype(str))
    m = pub.merge(s[list(_SUMMARY_COLUMNS)], on=["arm", "endpoint"], how="left")
    rows = []
    for r in m.itertuples(index=False):
        unit = "" if pd.isna(r.unit) else str(r.unit)
        published = float(r.published)
        u = "%" if unit == "%" else ""
        if pd.isna(r.value):
            sim, diff, inside = '<span class="na">not simulated</span>', "", ""
        else:
            sim = _fmt_value(float(r.value), float(r.ci_low), float(r.ci_high), unit)
            d = float(r.value) - published
            diff = f"{d:+.2f}" if unit == "ratio" else f"{d:+.1f}{' pp' if u else ''}"
            lo = -math.inf if pd.isna(r.ci_low) else float(r.ci_low)
            hi = math.inf if pd.isna(r.ci_high) else float(r.ci_high)
            ok = lo <= published <= hi
            inside = '<span class="yes">yes</span>' if ok else '<span class="no">no</span>'
            if not np.isfinite(r.value) and unit == "months":
                diff = ""
        rows.append(
            [
                _e(r.arm),
                _e(_endpoint_label(r.endpoint)),
                sim,
                f"{_num(published, unit)}{u}",
                diff,
                inside,
                _e(r.source),
            ]
        )
    header = [
        "Arm",
        "Endpoint",
        "Simulated (95% CI)",
        "Published",
        "Simulated - published",
        "Published in simulated 95% CI",
        "Source",
    ]
    note = (
        '<p class="small">pp = percentage points. A published value outside the simulated 95% '
        "CI flags a calibration gap, not a fact about patients.</p>"
    )
    return _table(header, rows, text_cols=(0, 1, 6)) + note


def _toxicity_section(outcomes: pd.DataFrame) -> str:
    tox = toxicity_table(outcomes)
    rows = []
    for r in tox.itertuples(index=False):
        row = [_e(r.arm), str(int(r.n))]
        for c in ("g3plus_irAE", "g3plus_CRS", "g3plus_ICANS", "g3plus_AE"):
            row.append(
                f'{getattr(r, c + "_pct"):.1f}% <span class="ci">({getattr(r, c + "_n")})</span>'
            )
        rows.append(row)
    header = [
        "Arm",
        "Patients",
        "Grade ≥3 irAE",
        "Grade ≥3 CRS",
        "Grade ≥3 ICANS",
        "Any grade ≥3 AE",
    ]
    return _table(header, rows, text_cols=(0,)) + (
        '<p class="small">irAE graded by CTCAE; CRS and ICANS by ASTCT consensus grading; '
        "count of patients in brackets.</p>"
    )


def _citations(manifest: Mapping[str, Any], pub: pd.DataFrame) -> list[str]:
    from oncotwin.citations import get_citation

    raw = manifest.get("citations", ())
    keys = [k.strip() for k in raw.split(";")] if isinstance(raw, str) else list(raw or ())
    out = []
    for k in keys:
        if not str(k).strip():
            continue
        try:
            out.append(get_citation(str(k)).format())
        except UnknownNameError:
            out.append(str(k))
    out += [f"Published target: {s}" for s in pd.unique(pub["source"].astype(str)) if s.strip()]
    return [*out, *_METHOD_REFERENCES]


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


def _check_inputs(
    title: str,
    summary: pd.DataFrame,
    outcomes: pd.DataFrame,
    visits: pd.DataFrame,
    events: pd.DataFrame,
    manifest: Mapping[str, Any],
) -> None:
    if not isinstance(title, str) or not title.strip():
        raise OncotwinError(f"title={title!r}; give a non-empty report title")
    for name, df in (
        ("summary", summary),
        ("outcomes", outcomes),
        ("visits", visits),
        ("events", events),
    ):
        if not isinstance(df, pd.DataFrame):
            raise OncotwinError(
                f"{name}={type(df).__name__}; give the contract's {name!r} pandas DataFrame "
                "(see docs/trial_tables.md)"
            )
    missing = [c for c in _SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise OncotwinError(
            f"summary table lacks column(s) {missing}; build it as in docs/trial_tables.md"
        )
    if outcomes.empty:
        raise OncotwinError("outcomes table has no rows; run the trial before reporting it")
    if not isinstance(manifest, Mapping):
        raise OncotwinError(f"manifest={type(manifest).__name__}; give the run manifest as a dict")


def write_report(
    out_dir: str | Path,
    *,
    title: str,
    summary: pd.DataFrame,
    outcomes: pd.DataFrame,
    visits: pd.DataFrame,
    events: pd.DataFrame,
    manifest: Mapping[str, Any],
    published_targets: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    reference_arm: str | None = None,
    subgroups: pd.DataFrame | None = None,
) -> Path:
    """Write ``out_dir/report.html``, one self-contained file reporting a virtual trial.

    Sections: header with the research-only disclaimer and notes; per-arm summary (ORR, CR,
    DCR, medians, landmark rates, hazard ratios with CI and p, grade >= 3 AE/CRS/ICANS);
    published values side by side with the simulated ones (difference, and whether the
    published value lies in the simulated 95% CI); Kaplan-Meier PFS and OS; waterfall, spider
    and swimmer plots per arm; forest plot; toxicity table; the manifest; citations.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    title
        Report title.
    summary, outcomes, visits, events
        The contract tables (``docs/trial_tables.md``). An optional ``p_value`` column of
        ``summary`` gives the p of hazard-ratio rows; else a log-rank p is computed.
    manifest
        The run manifest (shown as JSON; its ``citations`` keys are resolved to references).
    published_targets
        Optional ``arm, endpoint, published`` (or ``value``), ``source`` rows, added to (and
        overriding) the summary's own ``published``/``source`` columns.
    notes
        Free-text notes shown under the header.
    reference_arm
        Arm the hazard ratios compare against (default: ``manifest["reference_arm"]``, else
        the first arm of ``summary`` without a hazard-ratio row, else the first arm).
    subgroups
        Optional table for the forest plot (default: PFS Cox hazard ratios per subgroup).

    Returns
    -------
    Path
        The written ``report.html``.
    """
    _check_inputs(title, summary, outcomes, visits, events, manifest)
    arms = [str(a) for a in pd.unique(outcomes["arm"])]
    arms += [a for a in pd.unique(summary["arm"].astype(str)) if a not in arms]
    reference = _reference_arm(reference_arm, manifest, summary, arms)
    pub = _published(summary, published_targets)
    medians = {
        ep: {
            r.arm: float(r.published)
            for r in pub[pub["endpoint"] == f"median_{ep.upper()}_mo"].itertuples(index=False)
        }
        for ep in ("pfs", "os")
    }
    figs = render_figures(
        outcomes=outcomes,
        visits=visits,
        events=events,
        reference_arm=reference,
        published_medians=medians,
        subgroups=subgroups,
    )
    notes_html = "".join(f"<li>{_e(n)}</li>" for n in notes)
    notes_section = (
        f'<section id="notes"><h2>Notes</h2><ul class="notes">{notes_html}</ul></section>'
        if notes_html
        else ""
    )
    manifest_json = json.dumps(dict(manifest), indent=2, sort_keys=True, default=str)
    refs = "".join(f"<li>{_e(c)}</li>" for c in _citations(manifest, pub))
    sections = [
        ("summary", "Summary per arm", _summary_section(summary, outcomes, arms, reference)),
        ("published", "Simulated vs published", _comparison_section(summary, pub)),
        ("km-pfs", "Progression-free survival", _figures_html(figs, "km_pfs")),
        ("km-os", "Overall survival", _figures_html(figs, "km_os")),
        ("waterfall", "Waterfall plots", _figures_html(figs, "waterfall")),
        ("spider", "Spider plots", _figures_html(figs, "spider")),
        ("swimmer", "Swimmer plots", _figures_html(figs, "swimmer")),
        (
            "forest",
            "Subgroup analysis",
            _figures_html(figs, "forest") or '<p class="small">A forest plot needs two arms.</p>',
        ),
        ("toxicity", "Toxicity", _toxicity_section(outcomes)),
        ("manifest", "Manifest", f"<pre>{_e(manifest_json)}</pre>"),
        ("citations", "Citations", f'<ol class="refs">{refs}</ol>'),
    ]
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{_e(name)}</h2>{content}</section>'
        for sid, name, content in sections
    )
    n_pat = len(outcomes)
    meta = (
        f"{n_pat} virtual patients in {len(arms)} arm(s): {_e(', '.join(arms))} &middot; "
        f"reference arm {_e(reference)} &middot; oncotwin {_e(__version__)}"
    )
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body><header><div class="wrap"><h1>{_e(title)}</h1><div class="meta">{meta}</div>
<div class="disclaimer">{_e(DISCLAIMER)} Virtual patients; results are model outputs, not
clinical evidence.</div></div></header>
<main class="wrap"><nav>{nav}</nav>
{notes_section}
{body}</main>
<footer>{_e(DISCLAIMER)} Generated by oncotwin {_e(__version__)}.</footer>
</body></html>
"""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path


def _reference_arm(
    given: str | None, manifest: Mapping[str, Any], summary: pd.DataFrame, arms: list[str]
) -> str:
    from oncotwin.errors import did_you_mean

    if given is not None:
        if str(given) not in arms:
            raise UnknownNameError(did_you_mean(str(given), arms, what="arm") + " (reference_arm)")
        return str(given)
    from_manifest = manifest.get("reference_arm")
    if from_manifest is not None and str(from_manifest) in arms:
        return str(from_manifest)
    with_hr = set(
        summary.loc[summary["endpoint"].astype(str).str.startswith("HR_"), "arm"].astype(str)
    )
    return next((a for a in arms if a not in with_hr), arms[0])
