"""Outputs of a biomarker analysis: CSV and store tables, PNG plots, the HTML section, the
console table.

:func:`write_outputs` writes into a run's folder:

- ``biomarkers.csv`` (one row per group and marker) and ``biomarker_strata.csv`` (odds ratio
  per stratum), and the same two tables as ``biomarkers`` and ``biomarker_strata`` in the run's
  store ``trial.duckdb`` (replaced when the analysis is run again);
- ``biomarkers_roc.png`` and ``biomarkers_forest.png``;
- ``biomarkers.html``, a self-contained page, and the same section inserted into the run's
  ``report.html`` (between ``<!-- oncotwin:biomarkers -->`` markers, replaced on a re-run;
  ``oncotwin trial report`` rewrites the report without it).

Research simulations only: not medical advice.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin.biomarkers._stats import BiomarkerError

if TYPE_CHECKING:
    from oncotwin.biomarkers.analysis import BiomarkerAnalysis

__all__ = ["html_section", "print_table", "store_tables", "write_outputs"]

_MARK_BEGIN = "<!-- oncotwin:biomarkers -->"
_MARK_END = "<!-- /oncotwin:biomarkers -->"

METHODS = (
    "Response: confirmed CR or PR (RECIST 1.1), as the ORR counts it. AUC: ROC area with the "
    "DeLong 95% CI (DeLong et al. 1988 Biometrics 44:837). Odds ratios: logistic regression, "
    "Wald 95% CI, per unit and per SD of the marker; per stratum against the lowest stratum "
    "(clinical cut-offs where one exists, else tertiles). Hazard ratios: univariate Cox "
    "regression (Efron ties; checked against lifelines), per unit and per SD. Cut-point: "
    "Youden's J maximised; its "
    "optimism is the mean over 200 bootstrap samples of (J of the bootstrap cut-point in its "
    "sample - its J in the data), the corrected J is the apparent J minus it; the cut-point "
    "interval is the 2.5-97.5 bootstrap percentile. Logistic score: 5-fold cross-validated, "
    "out-of-fold predictions (the in-sample AUC is in the note). LORIS: the published "
    "pan-cancer formula of Chang et al. 2024 Nat Cancer 5:1158 (and the NSCLC formula in "
    "NSCLC-only groups). On-treatment markers (weeks 3, 6, 9): true model quantities without "
    "assay or reader error, analysed in patients progression-free at the landmark, survival "
    "from the landmark."
)


def _png(ax: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig = ax.figure
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()


def _fmt(x: Any, digits: int = 3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    return "-" if not np.isfinite(v) else f"{v:.{digits}g}"


def _ci(v: Any, lo: Any, hi: Any) -> str:
    return f"{_fmt(v)} [{_fmt(lo)}, {_fmt(hi)}]"


def _table_rows(t: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in t.itertuples(index=False):
        rows.append(
            [
                str(r.label),
                str(r.kind),
                f"{r.n} ({r.responders})",
                _ci(r.auc, r.auc_low, r.auc_high),
                _ci(r.or_sd, r.or_sd_low, r.or_sd_high),
                _ci(r.hr_pfs_sd, r.hr_pfs_sd_low, r.hr_pfs_sd_high),
                _ci(r.hr_os_sd, r.hr_os_sd_low, r.hr_os_sd_high),
                f"{r.cut_direction} {_fmt(r.cut)} {html.escape(str(r.unit))}",
                f"{_fmt(r.youden_j)} / {_fmt(r.youden_j_corrected)}",
            ]
        )
    return rows


_HEADER = (
    "marker",
    "kind",
    "n (resp.)",
    "AUC [95% CI]",
    "OR per SD",
    "HR PFS per SD",
    "HR OS per SD",
    "Youden cut-point",
    "J apparent / corrected",
)


def _figure_b64(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _plots(analysis: BiomarkerAnalysis, group: str = "all") -> tuple[bytes, bytes]:
    return _png(analysis.plot_roc(group)), _png(analysis.plot_forest(group))


def html_section(
    analysis: BiomarkerAnalysis, *, figures: bool = True, pngs: tuple[bytes, bytes] | None = None
) -> str:
    """``<section id="biomarkers">`` with the table of every group, the plots of all
    patients, the methods and the notes."""
    parts = [
        f"<p><b>{html.escape(DISCLAIMER)}</b> {html.escape(analysis.source)}</p>",
    ]
    if figures:
        roc, forest = pngs if pngs is not None else _plots(analysis)
        parts.append(_figure_b64(roc, "ROC curves for response"))
        parts.append(_figure_b64(forest, "forest plot of odds and hazard ratios per SD"))
    for g in dict.fromkeys(analysis.table["group"]):
        t = analysis.table[analysis.table["group"] == g]
        head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in _table_rows(t)
        )
        parts.append(
            f"<h3>{html.escape(g)}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    parts.append(f"<h3>Methods</h3><p>{html.escape(METHODS)}</p>")
    if analysis.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in analysis.notes)
        parts.append(f"<h3>Notes</h3><ul>{items}</ul>")
    body = "".join(parts)
    return f'<section id="biomarkers"><h2>Biomarkers</h2>{body}</section>'


def store_tables(analysis: BiomarkerAnalysis, out: Path) -> bool:
    """Write ``biomarkers`` and ``biomarker_strata`` into ``out/trial.duckdb`` (replacing
    them); False when ``out`` holds no store."""
    import duckdb

    from oncotwin.trials.store import DB_NAME

    db = out / DB_NAME
    if not db.is_file():
        return False
    try:
        con = duckdb.connect(str(db))
    except duckdb.IOException as exc:
        raise BiomarkerError(
            f"out: the trial store {db} is open by another process ({exc}); wait for the "
            "run to finish"
        ) from None
    try:
        for name, df in (("biomarkers", analysis.table), ("biomarker_strata", analysis.strata)):
            if len(df) == 0:
                continue
            con.register("_oncotwin_bm", df)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _oncotwin_bm")
            con.unregister("_oncotwin_bm")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return True


def _insert_into_report(report: Path, section: str) -> None:
    text = report.read_text(encoding="utf-8")
    block = f"{_MARK_BEGIN}{section}{_MARK_END}"
    if _MARK_BEGIN in text and _MARK_END in text:
        a = text.index(_MARK_BEGIN)
        b = text.index(_MARK_END) + len(_MARK_END)
        text = text[:a] + block + text[b:]
    elif "</main>" in text:
        text = text.replace("</main>", block + "</main>", 1)
    else:
        return
    tmp = report.with_name(f".{report.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(report)


def write_outputs(analysis: BiomarkerAnalysis, out: Path, *, store: bool = True) -> dict[str, Path]:
    """Write the tables, plots and HTML of ``analysis`` into ``out``; returns the paths."""
    from oncotwin.report.html import _page

    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["table"] = out / "biomarkers.csv"
    analysis.table.to_csv(paths["table"], index=False)
    paths["strata"] = out / "biomarker_strata.csv"
    analysis.strata.to_csv(paths["strata"], index=False)
    roc, forest = _plots(analysis)
    paths["roc"] = out / "biomarkers_roc.png"
    paths["roc"].write_bytes(roc)
    paths["forest"] = out / "biomarkers_forest.png"
    paths["forest"].write_bytes(forest)
    section = html_section(analysis, pngs=(roc, forest))
    inner = section.split("<h2>Biomarkers</h2>", 1)[1].rsplit("</section>", 1)[0]
    page = _page(
        "Biomarker analysis",
        html.escape(analysis.source),
        "",
        [("biomarkers", "Biomarkers", inner)],
    )
    paths["html"] = out / "biomarkers.html"
    paths["html"].write_text(page, encoding="utf-8")
    report = out / "report.html"
    if report.is_file():
        _insert_into_report(report, section)
        paths["report"] = report
    if store and store_tables(analysis, out):
        paths["store"] = out / "trial.duckdb"
    return paths


def print_table(analysis: BiomarkerAnalysis, group: str = "all", console: Any = None) -> None:
    """The analysis of ``group`` as a compact rich table (every column is in the CSV)."""
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    t = analysis.table[analysis.table["group"] == group]
    table = Table(
        title=f"Biomarkers ({group}): {analysis.source}", title_style="bold", pad_edge=False
    )
    for h in ("marker", "n/resp", "AUC (95% CI)", "OR/SD", "HR PFS/SD", "HR OS/SD", "cut, J"):
        table.add_column(h, no_wrap=True, overflow="ellipsis")

    def f2(x: Any) -> str:
        v = float(x)
        return "-" if not np.isfinite(v) else f"{v:.2f}"

    for r in t.itertuples(index=False):
        table.add_row(
            str(r.label)[:28],
            f"{r.n}/{r.responders}",
            f"{f2(r.auc)} ({f2(r.auc_low)}-{f2(r.auc_high)})",
            f2(r.or_sd),
            f2(r.hr_pfs_sd),
            f2(r.hr_os_sd),
            f"{r.cut_direction}{_fmt(r.cut, 3)}, {f2(r.youden_j_corrected)}",
        )
    con.print(table)
    con.print(
        "AUC: DeLong CI; OR/HR per SD of the marker; cut: Youden cut-point, J: "
        "optimism-corrected Youden J (bootstrap). " + DISCLAIMER,
        highlight=False,
    )
