"""The text sections of the HTML report: numbers, summary, published comparison, toxicity."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.plotting.trial import (
    toxicity_table,
)

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


def _e(value: Any) -> str:
    """Escape anything for HTML text and attributes."""
    return html.escape(str(value), quote=True)


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
