"""One self-contained HTML file reporting a virtual trial: :func:`write_report`.

The file needs nothing else to be read: figures are inline base64 PNG ``<img>`` tags, the CSS
is inline, there is no JavaScript and no external URL. Every string that comes from the user
(title, arm names, notes, manifest, published sources) is escaped with :func:`html.escape`.

The sections and figures are built in :mod:`oncotwin.report._sections` and
:mod:`oncotwin.report._figures`; this module assembles the page.

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

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin._version import __version__
from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.report._figures import (
    RenderedFigure,
    _figures_html,
    render_figures,
)
from oncotwin.report._sections import (
    _CSS,
    _SUMMARY_COLUMNS,
    _citations,
    _comparison_section,
    _e,
    _published,
    _summary_section,
    _toxicity_section,
)

__all__ = ["RenderedFigure", "render_figures", "write_report"]


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
    figs = render_figures(
        outcomes=outcomes,
        visits=visits,
        events=events,
        reference_arm=reference,
        published_medians=_published_medians(pub),
        subgroups=subgroups,
    )
    sections = _sections(summary, outcomes, manifest, pub, figs, arms, reference)
    meta = (
        f"{len(outcomes)} virtual patients in {len(arms)} arm(s): {_e(', '.join(arms))} &middot; "
        f"reference arm {_e(reference)} &middot; oncotwin {_e(__version__)}"
    )
    doc = _page(title, meta, _notes_section(notes), sections)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    _write_atomic(path, doc)
    return path


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path``, then rename it over ``path``.

    A write that fails or is killed half-way never leaves a half-written ``path``: the old
    file (if any) stays until the new one is complete.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _published_medians(pub: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Published median PFS and OS per arm (``{"pfs": {arm: months}, "os": {...}}``)."""
    return {
        ep: {
            r.arm: float(r.published)
            for r in pub[pub["endpoint"] == f"median_{ep.upper()}_mo"].itertuples(index=False)
        }
        for ep in ("pfs", "os")
    }


def _notes_section(notes: Sequence[str]) -> str:
    """The notes section under the header ('' without notes)."""
    notes_html = "".join(f"<li>{_e(n)}</li>" for n in notes)
    return (
        f'<section id="notes"><h2>Notes</h2><ul class="notes">{notes_html}</ul></section>'
        if notes_html
        else ""
    )


def _sections(
    summary: pd.DataFrame,
    outcomes: pd.DataFrame,
    manifest: Mapping[str, Any],
    pub: pd.DataFrame,
    figs: list[RenderedFigure],
    arms: list[str],
    reference: str,
) -> list[tuple[str, str, str]]:
    """``(id, heading, html)`` of every section of the page, in order."""
    manifest_json = json.dumps(dict(manifest), indent=2, sort_keys=True, default=str)
    refs = "".join(f"<li>{_e(c)}</li>" for c in _citations(manifest, pub))
    return [
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


def _page(title: str, meta: str, notes_section: str, sections: list[tuple[str, str, str]]) -> str:
    """The whole HTML document: header with the disclaimer, navigation, sections, footer."""
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{_e(name)}</h2>{content}</section>'
        for sid, name, content in sections
    )
    return f"""<!DOCTYPE html>
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
