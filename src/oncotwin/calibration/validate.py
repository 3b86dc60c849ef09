"""Leave-one-trial-out validation of a calibration, beside a nearest-arm lookup baseline.

``oncotwin calibrate validate DIR`` (issue 16 item 4):

1. fits the whole store once (:func:`oncotwin.calibration.fit.fit_store`) for its emulator;
2. for each calibration trial, refits the posterior *without* that trial's targets in the
   likelihood (``exclude_trials``), reusing that emulator, and predicts the left-out trial's
   targets with :meth:`FitResult.predict_targets` (95% posterior predictive interval: parameter
   + emulator + Monte Carlo + between-trial tau + sampling at the trial's own n);
3. beside it, the **lookup baseline**: each left-out arm copies the value of the most similar
   arm of another calibration trial (:func:`lookup_arm`) with an interval from the target's
   own sampling law at the left-out trial's n (:func:`lookup_interval`);
4. scores both the same way (:func:`score_rows`): inside the 95% interval, interval width,
   interval score (Gneiting & Raftery 2007), absolute error of the point prediction, and for
   ORR whether the point prediction lies inside the published 95% CI; summarised per endpoint
   class and per therapy class, for all arms and for the **novel** arms (:func:`novel_arms`).

Reusing the full fit's emulator is legitimate: the emulator maps theta to *simulated* values
and is trained on the stored simulations only, never on observed values; the left-out
trial's published numbers enter only the likelihood, which each refit drops.

Results go to ``DIR/validation/`` as each trial finishes (``loto_targets.csv``,
``loto_trials.csv``), so a rerun skips the finished trials; ``validation.csv``,
``validation_summary.csv`` and ``validation_table.md`` are rewritten at the end.

``python -m oncotwin.calibration.validate --novel`` prints (``--write`` rewrites) the
committed list of novel arms, ``calibration/data/novel_arms.csv``.

Needs the optional dependencies (``pip install 'oncotwin[calibrate]'``).
"""

from __future__ import annotations

import json
import math
import pickle
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError, did_you_mean

__all__ = [
    "ENDPOINT_CLASSES",
    "NOVEL_FILE",
    "VALIDATION_DIR",
    "arm_table",
    "biomarker_stratum",
    "endpoint_class",
    "lookup_arm",
    "lookup_interval",
    "markdown_table",
    "normalise_cancer",
    "normalise_class",
    "normalise_line",
    "novel_arms",
    "run_validation",
    "score_rows",
    "summarise",
]

#: Folder (inside the calibration store) where the validation writes its files.
VALIDATION_DIR = "validation"
#: Package-data file with the committed list of novel arms.
NOVEL_FILE = "novel_arms.csv"
#: Per-target rows of the finished trials (appended as each trial finishes).
TARGETS_FILE = "loto_targets.csv"
#: One row per finished trial: seconds, fit diagnostics.
TRIALS_FILE = "loto_trials.csv"
#: Settings of the run that wrote the folder; a rerun with other settings is refused.
SETTINGS_FILE = "settings.json"
#: The full fit's emulator, reused by every refit and by a rerun.
EMULATOR_FILE = "emulator.pkl"
ALPHA = 0.05
#: The issue's honesty bounds: ORR interval half-width (pp), median/HR interval factor (x/÷).
ORR_HALF_WIDTH_PP = 12.0
MEDIAN_FACTOR = 1.5

#: Endpoint -> endpoint class of the report.
ENDPOINT_CLASSES: dict[str, str] = {
    "ORR": "ORR/CR",
    "CR": "ORR/CR",
    "median_PFS_mo": "PFS median",
    "median_OS_mo": "OS median",
    "PFS_12mo": "PFS/OS landmark",
    "OS_12mo": "PFS/OS landmark",
    "OS_24mo": "PFS/OS landmark",
    "HR_OS": "HR",
    "HR_PFS": "HR",
}


def endpoint_class(target: Any) -> str:
    """Report class of a target: ``toxicity`` for the toxicity block, else by endpoint
    (:data:`ENDPOINT_CLASSES`; an unlisted endpoint is its own class)."""
    if getattr(target, "block", "efficacy") == "toxicity":
        return "toxicity"
    return ENDPOINT_CLASSES.get(target.endpoint, target.endpoint)


# ------------------------------------------------------------------------------------------
# normalising the arms' free text (documented in docs/validation.md)
# ------------------------------------------------------------------------------------------

_PD1 = re.compile(r"anti-pd-?l?1")


def normalise_class(text: str) -> str:
    """Therapy class of an arm from ``immunotherapy_class`` (first matching rule wins).

    anti-PD-1 and anti-PD-L1 are one class ``anti-PD-(L)1``; a control arm (``none (...)``)
    is named by what it gives (``chemotherapy``, ``VEGFR TKI``, ...).

    >>> normalise_class("ICI anti-PD-1 + chemotherapy")
    'anti-PD-(L)1 + chemotherapy'
    >>> normalise_class("ICI anti-PD-L1")
    'anti-PD-(L)1'
    >>> normalise_class("none (VEGFR TKI)")
    'VEGFR TKI'
    """
    s = text.strip().lower()
    pd1 = bool(_PD1.search(s))
    ctla4 = "anti-ctla-4" in s
    if "car-t" in s:
        return "CAR-T"
    if pd1 and ctla4:
        return "anti-PD-(L)1 + anti-CTLA-4"
    if pd1 and "chemotherapy" in s:
        return "anti-PD-(L)1 + chemotherapy"
    if pd1 and "vegf" in s:
        return "anti-PD-(L)1 + anti-VEGF"
    if pd1:
        return "anti-PD-(L)1"
    if ctla4 and "vaccine" in s:
        return "anti-CTLA-4 + vaccine"
    if ctla4:
        return "anti-CTLA-4"
    if "oncolytic" in s:
        return "oncolytic virus"
    if "vaccine" in s:
        return "cancer vaccine"
    if "cytokine" in s:
        return "cytokine"
    if "monoclonal antibody" in s:
        return "tumour-targeted antibody"
    m = re.fullmatch(r"none\s*\((.*)\)", s)
    if m:
        inner = m.group(1).strip()
        if "egfr" in inner and "chemotherapy" in inner:
            return "anti-EGFR + chemotherapy"
        if "tki" in inner:
            return "VEGFR TKI"
        if "mtor" in inner:
            return "mTOR inhibitor"
        if "placebo" in inner:
            return "placebo"
        if "chemotherapy" in inner:
            return "chemotherapy"
        return inner
    return s


def normalise_cancer(text: str) -> str:
    """Cancer of an arm from ``cancer_type``: the text before the first parenthesis, lower
    case; NSCLC histologies (squamous, nonsquamous) are one cancer ``nsclc``.

    >>> normalise_cancer("NSCLC nonsquamous (metastatic, no EGFR/ALK)")
    'nsclc'
    >>> normalise_cancer("melanoma (HLA-A*0201+)")
    'melanoma'
    """
    s = text.split("(", 1)[0].strip().lower()
    if s.startswith("nsclc"):
        return "nsclc"
    return re.sub(r"\s+", " ", s)


def normalise_line(text: str) -> str:
    """Line of therapy from ``setting_line``: ``mixed`` (1L and later lines together),
    ``1L``, ``3L+`` (at least two prior lines), ``2L+`` (any pretreated setting: 2L, 2L-3L,
    post-platinum, relapsed, r/r), in this order of the rules.

    >>> [normalise_line(s) for s in ("1L cisplatin-ineligible", "2L-3L", "1L-2L+ (mixed)",
    ...                              ">=3 prior lines (triple-class exposed)")]
    ['1L', '2L+', 'mixed', '3L+']
    """
    s = text.strip().lower()
    if "mixed" in s or re.search(r"1l\s*-\s*2l", s) or "1l and" in s:
        return "mixed"
    if s.startswith("1l"):
        return "1L"
    if "3l+" in s or re.search(r"(>=|≥)\s*3 prior", s):
        return "3L+"
    if re.search(r"\b2l|post-|relapsed|r/r|refractory|prior", s):
        return "2L+"
    return s


_CUTOFF = re.compile(r"\b(tps|cps)\s*(?:>=|≥)\s*(\d+)\s*%?")


def biomarker_stratum(text: str, previous: str | None = None) -> str:
    """Biomarker stratum from ``population_selection``.

    ``as above`` -> ``previous`` (the trial's arm listed before); text starting with
    ``none``/``all``/``any`` (the whole population, even when subgroups are named) ->
    ``all-comers``; a PD-L1 cut-off ``TPS >= k`` / ``CPS >= k`` -> ``PD-L1 TPS>=k`` /
    ``PD-L1 CPS>=k``; HER2 overexpression -> ``HER2+``; HLA-A*0201 -> ``HLA-A*0201+``;
    ``CD20+`` -> ``CD20+``; anything else (clinical selection: risk group, performance
    status, injectable lesions) -> ``all-comers``.

    >>> biomarker_stratum("PD-L1 TPS >=50%")
    'PD-L1 TPS>=50'
    >>> biomarker_stratum("none (total population; CPS >=1 and >=20 reported as subgroups)")
    'all-comers'
    >>> biomarker_stratum("HER2 overexpression (IHC 2+/3+)")
    'HER2+'
    """
    s = text.strip().lower()
    if s.startswith("as above"):
        return previous if previous is not None else "all-comers"
    if re.match(r"(none|all|any)\b", s):
        return "all-comers"
    m = _CUTOFF.search(s)
    if m:
        return f"PD-L1 {m.group(1).upper()}>={m.group(2)}"
    if "her2" in s and "negative" not in s:
        return "HER2+"
    if "hla-a*0201" in s:
        return "HLA-A*0201+"
    if "cd20+" in s:
        return "CD20+"
    return "all-comers"


def arm_table(arms: pd.DataFrame | None = None) -> pd.DataFrame:
    """The calibration arms with their normalised key (``therapy_class``, ``cancer``,
    ``line``, ``stratum``), indexed by ``arm_id``.

    ``arms``: rows with columns ``arm_id, trial, immunotherapy_class, cancer_type,
    setting_line, population_selection, n`` (default: the package's ``published_arms.csv``,
    every row of which is a calibration arm).
    """
    if arms is None:
        src = resources.files("oncotwin.trials").joinpath("data", "published_arms.csv")
        with src.open("r", encoding="utf-8") as fh:
            arms = pd.read_csv(fh, dtype=str, keep_default_na=False)
    need = [
        "arm_id",
        "trial",
        "immunotherapy_class",
        "cancer_type",
        "setting_line",
        "population_selection",
        "n",
    ]
    missing = [c for c in need if c not in arms.columns]
    if missing:
        raise OncotwinError(f"arm table lacks columns {missing}; give {', '.join(need)}")
    rows = []
    previous: dict[str, str] = {}
    for r in arms.itertuples(index=False):
        stratum = biomarker_stratum(str(r.population_selection), previous.get(str(r.trial)))
        previous[str(r.trial)] = stratum
        rows.append(
            {
                "arm_id": str(r.arm_id),
                "trial": str(r.trial),
                "therapy_class": normalise_class(str(r.immunotherapy_class)),
                "cancer": normalise_cancer(str(r.cancer_type)),
                "line": normalise_line(str(r.setting_line)),
                "stratum": stratum,
                "n": int(float(r.n)),
            }
        )
    return pd.DataFrame(rows).set_index("arm_id")


def novel_arms(arms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every calibration arm with ``novel`` = its key (therapy class, cancer, line, biomarker
    stratum) occurs in no other trial; ``same_key_trials`` names the trials that share it.

    >>> t = novel_arms()
    >>> bool(t.loc["KN024_PEMBRO", "novel"]), bool(t.loc["CM067_NIVO", "novel"])
    (True, True)
    """
    t = arm_table(arms)
    key = ["therapy_class", "cancer", "line", "stratum"]
    others = []
    for arm_id, r in t.iterrows():
        same = (t[key] == r[key]).all(axis=1) & (t["trial"] != r["trial"])
        others.append("; ".join(sorted(set(t.loc[same, "trial"]))))
        _ = arm_id
    t["same_key_trials"] = others
    t["novel"] = t["same_key_trials"] == ""
    return t


def committed_novel_arms() -> pd.DataFrame:
    """The committed list (``calibration/data/novel_arms.csv``), indexed by ``arm_id``."""
    src = resources.files("oncotwin.calibration").joinpath("data", NOVEL_FILE)
    if not src.is_file():
        raise OncotwinError(
            f"{NOVEL_FILE} is missing from the package; write it with "
            "`python -m oncotwin.calibration.validate --novel --write`"
        )
    with src.open("r", encoding="utf-8") as fh:
        t = pd.read_csv(fh, dtype={"arm_id": str}, keep_default_na=False)
    t["novel"] = t["novel"].astype(str).str.lower() == "true"
    return t.set_index("arm_id")


# ------------------------------------------------------------------------------------------
# lookup baseline
# ------------------------------------------------------------------------------------------


def similarity(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """Similarity of arm ``b`` to arm ``a``, compared lexicographically: (same therapy
    class, same cancer, same line, same biomarker stratum), each 1 or 0."""
    return (
        int(a["therapy_class"] == b["therapy_class"]),
        int(a["cancer"] == b["cancer"]),
        int(a["line"] == b["line"]),
        int(a["stratum"] == b["stratum"]),
    )


def lookup_arm(arm_id: str, candidates: Iterable[str], arms: pd.DataFrame) -> str | None:
    """The candidate arm most similar to ``arm_id`` (:func:`similarity`, compared
    lexicographically: therapy class > cancer > line > stratum); ties -> the larger ``n``,
    then the smaller arm id. Candidates of the arm's own trial are never chosen. ``None``
    when no candidate is left. ``arms``: :func:`arm_table`."""
    if arm_id not in arms.index:
        raise OncotwinError("lookup: " + did_you_mean(arm_id, arms.index, what="arm_id"))
    a = arms.loc[arm_id]
    best: tuple[Any, ...] | None = None
    choice = None
    for c in sorted(set(candidates)):
        if c not in arms.index or arms.loc[c, "trial"] == a["trial"]:
            continue
        b = arms.loc[c]
        key = (*similarity(a, b), int(b["n"]), [-ord(ch) for ch in c])
        if best is None or key > best:
            best, choice = key, c
    return choice


def lookup_interval(target: Any, value: float, level: float = 0.95) -> tuple[float, float]:
    """Interval of a copied ``value`` from the target's own sampling law at its n.

    ``binomial``: the ``(1-level)/2`` and ``(1+level)/2`` quantiles of Binomial(n, value/100)
    / n in percent; ``lognormal``/``normal_log``: ``value x exp(-/+ z se)`` with the target's
    log-scale SE.

    >>> from types import SimpleNamespace as T
    >>> lookup_interval(T(law="binomial", n=100, se=float("nan")), 30.0)
    (21.0, 39.0)
    >>> [round(v, 3) for v in lookup_interval(T(law="lognormal", n=50, se=0.1), 10.0)]
    [8.22, 12.165]
    """
    from scipy.stats import binom, norm

    a = (1.0 - level) / 2
    if not math.isfinite(value):
        return math.nan, math.nan
    if target.law == "binomial":
        n = int(target.n)
        p = min(max(value / 100.0, 0.0), 1.0)
        return 100.0 * float(binom.ppf(a, n, p)) / n, 100.0 * float(binom.ppf(1 - a, n, p)) / n
    z = float(norm.ppf(1 - a))
    se = float(target.se)
    return value * math.exp(-z * se), value * math.exp(z * se)


def lookup_predictions(
    left_out: Sequence[Any], pool: Sequence[Any], arms: pd.DataFrame, level: float = 0.95
) -> pd.DataFrame:
    """Lookup prediction of each ``left_out`` target from the ``pool`` targets of other
    trials with the same endpoint: columns ``lookup_arm``, ``lookup_value``, ``lookup_low``,
    ``lookup_high`` (index target id; NaN/empty when no arm of another trial has the
    endpoint)."""
    by_endpoint: dict[str, dict[str, Any]] = {}
    for t in pool:
        by_endpoint.setdefault(t.endpoint, {})[t.arm_id] = t
    rows = []
    for t in left_out:
        cands = by_endpoint.get(t.endpoint, {})
        arm = lookup_arm(t.arm_id, cands, arms) if t.arm_id in arms.index else None
        v = float(cands[arm].observed) if arm is not None else math.nan
        lo, hi = lookup_interval(t, v, level)
        rows.append(
            {
                "target": t.target_id,
                "lookup_arm": arm or "",
                "lookup_value": v,
                "lookup_low": lo,
                "lookup_high": hi,
            }
        )
    return pd.DataFrame(rows).set_index("target")


# ------------------------------------------------------------------------------------------
# scores
# ------------------------------------------------------------------------------------------


def _ratio_scale(law: str) -> bool:
    return law in ("lognormal", "normal_log")


def score_rows(rows: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Scores of the model and the lookup for each row (one target).

    Needs columns ``law``, ``observed``, ``censored``, ``ci_low``, ``ci_high``, and per side
    ``<side>_point``, ``<side>_low``, ``<side>_high`` for side in ``model``, ``lookup``.
    Adds per side: ``<side>_inside`` (observed in [low, high]; for a censored observed value,
    a median not reached, high >= observed), ``<side>_width`` (pp for rates; for medians and
    hazard ratios the factor sqrt(high/low), i.e. the interval is point x/÷ factor),
    ``<side>_is`` (interval score, Gneiting & Raftery 2007 eq. 43, in pp for rates and on
    the natural-log scale for medians and hazard ratios; NaN when censored),
    ``<side>_abs_error`` (|point - observed| in pp, or |log(point/observed)|; NaN when
    censored), ``<side>_point_in_ci`` (point inside the published 95% CI) and
    ``<side>_too_wide`` (half-width > 12 pp for ORR, factor > 1.5 for medians).
    """
    from oncotwin.calibration.report import interval_score

    out = rows.copy()
    ratio = out["law"].map(_ratio_scale).astype(bool).to_numpy()
    cens = out["censored"].astype(bool).to_numpy()
    y = out["observed"].to_numpy(dtype=float)
    for side in ("model", "lookup"):
        lo = out[f"{side}_low"].to_numpy(dtype=float)
        hi = out[f"{side}_high"].to_numpy(dtype=float)
        pt = out[f"{side}_point"].to_numpy(dtype=float)
        have = np.isfinite(lo) & np.isfinite(hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.where(cens, hi >= y, (y >= lo) & (y <= hi))
            width = np.where(ratio, np.sqrt(hi / lo), hi - lo)
            ly, llo, lhi, lpt = (np.log(np.where(ratio, v, np.nan)) for v in (y, lo, hi, pt))
            is_ratio = interval_score(llo, lhi, ly, alpha)
            is_rate = interval_score(lo, hi, y, alpha)
            err = np.where(ratio, np.abs(lpt - ly), np.abs(pt - y))
        out[f"{side}_inside"] = np.where(have, inside, np.nan)
        out[f"{side}_width"] = np.where(have, width, np.nan)
        out[f"{side}_is"] = np.where(cens | ~have, np.nan, np.where(ratio, is_ratio, is_rate))
        out[f"{side}_abs_error"] = np.where(cens, np.nan, err)
        in_ci = (pt >= out["ci_low"].to_numpy(float)) & (pt <= out["ci_high"].to_numpy(float))
        out[f"{side}_point_in_ci"] = np.where(np.isfinite(pt), in_ci, np.nan)
        orr = (out["endpoint"] == "ORR").to_numpy()
        median = out["endpoint"].astype(str).str.startswith("median_").to_numpy()
        wide = np.where(orr, width / 2 > ORR_HALF_WIDTH_PP, median & (width > MEDIAN_FACTOR))
        out[f"{side}_too_wide"] = np.where(have & (orr | median), wide, np.nan)
    return out


def _stat(values: pd.Series, how: str) -> float:
    """Median or mean of the values that are not NaN (inf kept); NaN when none is."""
    v = values.to_numpy(dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return math.nan
    return float(np.median(v) if how == "median" else np.mean(v))


def _group_stats(g: pd.DataFrame, side: str) -> dict[str, Any]:
    ins = g[f"{side}_inside"].dropna()
    orr = g[g["endpoint"] == "ORR"]
    pic = orr[f"{side}_point_in_ci"].dropna()
    tw = g[f"{side}_too_wide"].dropna()
    return {
        "n": len(ins),
        "inside": int(ins.sum()),
        "inside_share": float(ins.mean()) if len(ins) else math.nan,
        "median_width": _stat(g[f"{side}_width"], "median"),
        "mean_interval_score": _stat(g[f"{side}_is"], "mean"),
        "median_abs_error": _stat(g[f"{side}_abs_error"], "median"),
        "orr_n": len(pic),
        "orr_point_in_ci": int(pic.sum()),
        "too_wide": int(tw.sum()),
    }


def summarise(scored: pd.DataFrame) -> pd.DataFrame:
    """Per (scope, by, group, method): counts and shares inside the 95% interval, median
    width, mean interval score, median absolute error, ORR point inside the published CI,
    intervals wider than the issue's bounds. ``scope``: ``all`` or ``novel`` arms; ``by``:
    ``endpoint class``, ``therapy class`` or ``total``. Width, interval score and error are
    in the unit of the endpoint class (pp for rates; x/÷ factor and log scale for medians
    and hazard ratios); in ``therapy class`` rows they are over the ORR targets only, so that
    one unit holds per row."""
    rows = []
    for scope, part in (("all", scored), ("novel", scored[scored["novel"].astype(bool)])):
        groups: list[tuple[str, str, pd.DataFrame]] = [("total", "all targets", part)]
        groups += [("endpoint class", k, g) for k, g in part.groupby("endpoint_class")]
        groups += [("therapy class", k, g) for k, g in part.groupby("therapy_class")]
        for by, key, g in groups:
            for side in ("model", "lookup"):
                st = _group_stats(g, side)
                if by != "endpoint class":
                    orr = g[g["endpoint"] == "ORR"]
                    st_orr = _group_stats(orr, side)
                    for k in ("median_width", "mean_interval_score", "median_abs_error"):
                        st[k] = st_orr[k]
                rows.append({"scope": scope, "by": by, "group": key, "method": side, **st})
    return pd.DataFrame(rows)


def _fmt(v: float, digits: int = 1) -> str:
    return "-" if not math.isfinite(v) else f"{v:.{digits}f}"


def _unit(group: str) -> tuple[str, str]:
    """(width unit, error unit) of an endpoint class."""
    if group in ("PFS median", "OS median", "HR"):
        return "x/÷", "log"
    return "pp", "pp"


def markdown_table(summary: pd.DataFrame, settings: Mapping[str, Any] | None = None) -> str:
    """The validation table in Markdown (model | lookup side by side), per endpoint class
    and per therapy class, all arms then novel arms."""
    lines: list[str] = []
    if settings:
        lines.append(
            "Leave-one-trial-out over {trials} calibration trials ({targets} targets; "
            "NUTS {chains} chains x {warmup}+{samples}, seed {seed}; store {store}).".format(
                **settings
            )
            + (f" {settings['refits']}." if settings.get("refits") else "")
        )
        lines.append("")
    for scope in ("all", "novel"):
        for by in ("endpoint class", "therapy class"):
            s = summary[(summary["scope"] == scope) & (summary["by"].isin([by, "total"]))]
            if s.empty:
                continue
            title = "all arms" if scope == "all" else "novel arms"
            lines.append(f"**{title}, by {by}** (model / lookup)")
            lines.append("")
            extra = (
                "width | interval score | median abs. error"
                if by == "endpoint class"
                else ("ORR width (pp) | ORR interval score | ORR median abs. error (pp)")
            )
            lines.append(
                f"| {by} | targets | inside 95% interval | {extra} | ORR point in "
                "published CI | too wide |"
            )
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            groups = [g for g in s["group"].unique() if g != "all targets"] + ["all targets"]
            for grp in groups:
                m = s[(s["group"] == grp) & (s["method"] == "model")].iloc[0]
                k = s[(s["group"] == grp) & (s["method"] == "lookup")].iloc[0]
                wu, eu = _unit(grp) if by == "endpoint class" else ("pp", "pp")
                dig = 2 if wu == "x/÷" else 1

                def share(r: pd.Series) -> str:
                    if not r["n"]:
                        return "-"
                    return f"{int(r['inside'])}/{int(r['n'])} ({100 * r['inside_share']:.0f}%)"

                def orr(r: pd.Series) -> str:
                    return f"{int(r['orr_point_in_ci'])}/{int(r['orr_n'])}" if r["orr_n"] else "-"

                name = f"**{grp}**" if grp == "all targets" else grp
                if grp == "all targets" and by == "endpoint class":
                    width = score = err = "-"
                else:
                    width = f"{_fmt(m['median_width'], dig)} / {_fmt(k['median_width'], dig)} {wu}"
                    score = (
                        f"{_fmt(m['mean_interval_score'], dig)} / "
                        f"{_fmt(k['mean_interval_score'], dig)}"
                    )
                    err = (
                        f"{_fmt(m['median_abs_error'], dig)} / "
                        f"{_fmt(k['median_abs_error'], dig)} {eu}"
                    )
                lines.append(
                    f"| {name} | {int(m['n'])} | {share(m)} / {share(k)} | {width} | {score} | "
                    f"{err} | {orr(m)} / {orr(k)} | {int(m['too_wide'])} / {int(k['too_wide'])} |"
                )
            lines.append("")
    lines.append(
        "Inside: observed value inside the 95% predictive interval (model: parameter + "
        "emulator + Monte Carlo + between-trial + sampling at the trial's n; lookup: the "
        "copied value's sampling law at the trial's n). Width: pp for rates, the factor f of "
        "point x/÷ f for medians and hazard ratios. Interval score: Gneiting & Raftery (2007), "
        "alpha 0.05, pp or log scale (lower is better). Too wide: ORR half-width > 12 pp or "
        "median factor > 1.5."
    )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# the leave-one-trial-out run
# ------------------------------------------------------------------------------------------


def _trial_names(targets: Sequence[Any]) -> dict[str, str]:
    """Trial name of each example (for --trials given as an example name)."""
    from oncotwin.calibration.fit import trial_of

    out: dict[str, str] = {}
    for t in targets:
        out.setdefault(t.example, trial_of(t))
    return out


def resolve_trials(wanted: Sequence[str] | None, targets: Sequence[Any]) -> list[str]:
    """The trials to leave out in turn: all trials of ``targets`` (sorted), or the ``wanted``
    ones given by trial name (``"CheckMate 067"``) or example name (``checkmate067``)."""
    from oncotwin.calibration.fit import trial_of

    known = sorted({trial_of(t) for t in targets})
    if not wanted:
        return known
    by_example = _trial_names(targets)
    out = []
    for w in wanted:
        if w in known:
            out.append(w)
        elif w in by_example:
            out.append(by_example[w])
        else:
            raise OncotwinError(
                "--trials: " + did_you_mean(w, [*known, *by_example], what="calibration trial")
            )
    return list(dict.fromkeys(out))


def _check_store(store_dir: Path) -> None:
    from oncotwin.calibration.store import DB_NAME

    if not (store_dir / DB_NAME).is_file():
        raise OncotwinError(
            f"{store_dir} is not a calibration store (no {DB_NAME}); give the folder of "
            "`oncotwin calibrate run --out DIR`"
        )


def _target_rows(
    result: Any,
    trial: str,
    targets: Sequence[Any],
    pool: Sequence[Any],
    arms: pd.DataFrame,
    novel: pd.DataFrame,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Model and lookup predictions of one left-out trial's targets, unscored."""
    from oncotwin.calibration.report import observed_interval

    pred = result.predict_targets(list(targets), draws=draws, level=1 - ALPHA, seed=seed)
    look = lookup_predictions(targets, pool, arms, 1 - ALPHA)
    rows = []
    for t in targets:
        p = pred.loc[t.target_id]
        lk = look.loc[t.target_id]
        ci = observed_interval(t, 1 - ALPHA)
        arm = arms.loc[t.arm_id] if t.arm_id in arms.index else None
        rows.append(
            {
                "trial": trial,
                "target": t.target_id,
                "arm_id": t.arm_id,
                "endpoint": t.endpoint,
                "endpoint_class": endpoint_class(t),
                "therapy_class": arm["therapy_class"] if arm is not None else "",
                "novel": bool(novel.loc[t.arm_id, "novel"]) if t.arm_id in novel.index else False,
                "law": t.law,
                "n": int(t.n),
                "observed": float(t.observed),
                "censored": bool(t.censored),
                "ci_low": ci[0],
                "ci_high": ci[1],
                "model_point": float(p["model_median"]),
                "model_low": float(p["low"]),
                "model_high": float(p["high"]),
                "lookup_arm": lk["lookup_arm"],
                "lookup_point": float(lk["lookup_value"]),
                "lookup_low": float(lk["lookup_low"]),
                "lookup_high": float(lk["lookup_high"]),
            }
        )
    return pd.DataFrame(rows)


def run_validation(
    store_dir: str | Path,
    *,
    trials: Sequence[str] | None = None,
    chains: int = 2,
    warmup: int = 300,
    samples: int = 300,
    seed: int = 0,
    draws: int = 1000,
    waves: Sequence[int] | None = None,
    active: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-trial-out validation of the fit of ``store_dir``, with the lookup baseline.

    Each trial's rows are appended to ``store_dir/validation/loto_targets.csv`` as soon as its
    refit finishes; a rerun with the same settings skips the trials found there (other
    settings: an error naming the file to delete). ``progress(trial, done, total)`` is called
    before each trial, ``note(text)`` with the fit's messages. Returns (the scored rows of
    every finished trial, their summary) and writes ``validation.csv``,
    ``validation_summary.csv`` and ``validation_table.md`` beside them.
    """
    from oncotwin.calibration.fit import fit_store, trial_of
    from oncotwin.calibration.targets import load_targets

    store_dir = Path(store_dir)
    _check_store(store_dir)
    say = note or (lambda s: None)
    all_targets = list(load_targets())
    chosen = resolve_trials(trials, all_targets)
    out = store_dir / VALIDATION_DIR
    out.mkdir(exist_ok=True)
    settings = {
        "chains": chains,
        "warmup": warmup,
        "samples": samples,
        "seed": seed,
        "draws": draws,
        "waves": list(waves) if waves else None,
        "active": active,
    }
    sfile = out / SETTINGS_FILE
    if sfile.is_file():
        old = json.loads(sfile.read_text())
        if {k: old.get(k) for k in settings} != settings:
            raise OncotwinError(
                f"{out} holds a validation with other settings ({old}); delete that folder "
                "or rerun with those settings"
            )
    efile = out / EMULATOR_FILE
    if efile.is_file():
        with open(efile, "rb") as fh:
            emulator = pickle.load(fh)
        say(f"reusing the full fit's emulator from {efile}")
    else:
        say("full fit (its emulator is reused by every leave-one-trial-out refit)")
        full = fit_store(
            store_dir,
            waves=waves,
            seed=seed,
            chains=chains,
            warmup=warmup,
            samples=samples,
            active=active,
            progress=say,
        )
        emulator = full.emulator
        with open(efile, "wb") as fh:
            pickle.dump(emulator, fh)
    sfile.write_text(json.dumps(settings, indent=1) + "\n")
    tfile, trfile = out / TARGETS_FILE, out / TRIALS_FILE
    done = pd.read_csv(trfile) if trfile.is_file() else pd.DataFrame(columns=["trial"])
    finished = set(done["trial"].astype(str))
    arms = arm_table()
    try:
        novel = committed_novel_arms()
    except OncotwinError:
        novel = novel_arms()
    todo = [t for t in chosen if t not in finished]
    if len(todo) < len(chosen):
        say(f"{len(chosen) - len(todo)} trials already finished in {tfile}; skipped")
    for i, trial in enumerate(todo):
        if progress:
            progress(trial, i, len(todo))
        t0 = time.perf_counter()
        res = fit_store(
            store_dir,
            waves=waves,
            exclude_trials=[trial],
            emulator=emulator,
            seed=seed,
            chains=chains,
            warmup=warmup,
            samples=samples,
            active=active,
        )
        if any(trial_of(t) == trial for t in res.fitted):
            raise OncotwinError(f"internal: the refit without {trial} still fitted its targets")
        left = [t for t in res.targets if trial_of(t) == trial]
        pool = [t for t in all_targets if trial_of(t) != trial]
        rows = _target_rows(res, trial, left, pool, arms, novel, draws, seed)
        s = res.summary()
        secs = time.perf_counter() - t0
        rows.to_csv(tfile, mode="a", header=not tfile.is_file(), index=False)
        pd.DataFrame(
            [
                {
                    "trial": trial,
                    "seconds": round(secs, 1),
                    "targets": len(left),
                    "fitted_targets": s["fitted_targets"],
                    "converged": s["converged"],
                    "max_r_hat": s["max_r_hat"],
                    "min_ess": s["min_ess"],
                    "divergences": s["divergences"],
                }
            ]
        ).to_csv(trfile, mode="a", header=not trfile.is_file(), index=False)
        say(f"{trial}: {len(left)} targets in {secs:.0f} s")
    if progress:
        progress("", len(todo), len(todo))
    return write_outputs(store_dir, chosen)


def write_outputs(
    store_dir: str | Path, trials: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the stored rows (of ``trials``, default all finished) and write
    ``validation.csv``, ``validation_summary.csv`` and ``validation_table.md``."""
    out = Path(store_dir) / VALIDATION_DIR
    tfile = out / TARGETS_FILE
    if not tfile.is_file():
        raise OncotwinError(f"{tfile} does not exist: no trial has finished yet")
    rows = pd.read_csv(tfile, keep_default_na=False, na_values=[""])
    rows["lookup_arm"] = rows["lookup_arm"].fillna("")
    if trials:
        rows = rows[rows["trial"].isin(list(trials))]
    scored = score_rows(rows)
    summary = summarise(scored)
    scored.to_csv(out / "validation.csv", index=False)
    summary.to_csv(out / "validation_summary.csv", index=False)
    sfile = out / SETTINGS_FILE
    settings = json.loads(sfile.read_text()) if sfile.is_file() else {}
    settings.update(
        {"trials": rows["trial"].nunique(), "targets": len(rows), "store": Path(store_dir).name}
    )
    trfile = out / TRIALS_FILE
    if trfile.is_file():
        fits = pd.read_csv(trfile)
        fits = fits[fits["trial"].isin(rows["trial"].unique())]
        if len(fits):
            settings["refits"] = (
                f"{int(fits['converged'].astype(bool).sum())} of {len(fits)} refits converged "
                f"(max R-hat {fits['max_r_hat'].max():.2f}); median "
                f"{fits['seconds'].median():.0f} s per trial"
            )
    (out / "validation_table.md").write_text(markdown_table(summary, settings), encoding="utf-8")
    return scored, summary


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m oncotwin.calibration.validate --novel [--write]``."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--novel", action="store_true", help="print the novel-arm table")
    ap.add_argument("--write", action="store_true", help=f"rewrite the package's {NOVEL_FILE}")
    args = ap.parse_args(argv)
    if not args.novel:
        ap.error("give --novel")
    t = novel_arms().reset_index()
    cols = [
        "arm_id",
        "trial",
        "therapy_class",
        "cancer",
        "line",
        "stratum",
        "novel",
        "same_key_trials",
    ]
    if args.write:
        path = Path(__file__).parent / "data" / NOVEL_FILE
        t[cols].to_csv(path, index=False)
        print(f"wrote {path}: {int(t['novel'].sum())} novel of {len(t)} arms")
    else:
        print(t[cols].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
