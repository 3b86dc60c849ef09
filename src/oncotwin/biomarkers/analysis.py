"""Biomarker analysis of an analysis frame: per marker AUC, odds and hazard ratios, cut-points.

:func:`analyse` runs on any analysis frame (see :mod:`oncotwin.biomarkers.markers`): a virtual
trial's (:func:`analyse_result`) or a real cohort's (:func:`oncotwin.biomarkers.cohort.
chowell_cohort`), through the same code. Per group (all patients, then each level of the
``by`` columns) and marker:

- ROC AUC for response (confirmed CR/PR) with the DeLong 95% CI (``auc_method``);
- odds ratio per unit and per SD (logistic regression, Wald CI) and per stratum (the marker's
  clinical cut-offs, or tertiles; each stratum against the lowest);
- Cox hazard ratios for PFS and OS per unit and per SD;
- the Youden-optimal cut-point with its bootstrap optimism (apparent J, optimism, corrected J
  and a bootstrap percentile interval of the cut-point);
- combinations: the published LORIS (pan-cancer; NSCLC-specific where every patient of the
  group has NSCLC and PD-L1 is known) and a logistic score of the baseline markers whose AUC is
  the out-of-fold (5-fold cross-validated) one, with the in-sample AUC beside it.

On-treatment markers are analysed at their landmark: only patients alive and progression-free
at the landmark day, with survival counted from it (no guarantee-time bias).

Research simulations only: not medical advice.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin.biomarkers._stats import (
    BiomarkerError,
    auc_delong,
    cox_hazard_ratio,
    cv_logistic_score,
    logistic_fit,
    roc_curve,
    youden_cutpoint,
)
from oncotwin.biomarkers.loris import LORIS_COLUMNS, loris_score
from oncotwin.biomarkers.markers import (
    BASELINE,
    MARKERS,
    OUTCOME_COLUMNS,
    Marker,
    get_marker,
    marker_values,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.trials.result import TrialResult

__all__ = ["MIN_RESPONDERS", "BiomarkerAnalysis", "analyse", "analyse_result"]

#: Fewest responders (and non-responders) a group needs to be analysed.
MIN_RESPONDERS = 5
#: Fewest patients with a value for a marker to be analysed in a group.
MIN_VALUES = 10
#: Bootstrap samples of the cut-point optimism.
N_BOOT = 200


@dataclass(frozen=True, eq=False)
class BiomarkerAnalysis:
    """The result of :func:`analyse`.

    Attributes
    ----------
    table
        One row per group and marker (columns in ``docs/biomarkers.md``).
    strata
        Per-stratum odds ratios: group, marker, stratum, n, responders, OR and CI.
    frame
        The analysis frame (one row per patient), with the combination scores added.
    curves
        (group, marker) -> (false-positive rate, true-positive rate) of its ROC curve.
    notes
        What was left out and why (groups with too few responders, markers without values).
    source
        What was analysed (the trial and run, or the real cohort).
    """

    table: pd.DataFrame
    strata: pd.DataFrame
    frame: pd.DataFrame
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    notes: tuple[str, ...] = ()
    source: str = ""

    def auc(self, marker: str, group: str = "all") -> float:
        """The AUC of ``marker`` in ``group`` (KeyError-free: an unknown marker fails with
        the known ones)."""
        get_marker(marker)
        row = self.table[(self.table["group"] == group) & (self.table["marker"] == marker)]
        if row.empty:
            raise BiomarkerError(
                f"marker: {marker!r} was not analysed in group {group!r} (groups: "
                f"{sorted(self.table['group'].unique())})"
            )
        return float(row["auc"].iloc[0])

    def plot_roc(
        self, group: str = "all", *, markers: Sequence[str] | None = None, ax: Axes | None = None
    ) -> Axes:
        """ROC curves of ``group`` (default: every analysed marker with |AUC - 0.5| >= 0.05
        and the combinations)."""
        from oncotwin.biomarkers.plots import plot_roc

        return plot_roc(self, group, markers=markers, ax=ax)

    def plot_forest(self, group: str = "all", *, ax: Axes | None = None) -> Axes:
        """Forest plot of the odds ratios per SD (response) and hazard ratios per SD (PFS)."""
        from oncotwin.biomarkers.plots import plot_forest

        return plot_forest(self, group, ax=ax)

    def html_section(self, figures: bool = True) -> str:
        """The report section (``<section id="biomarkers">``) of this analysis."""
        from oncotwin.biomarkers.report import html_section

        return html_section(self, figures=figures)

    def write(self, out: str | Path, *, store: bool = True) -> dict[str, Path]:
        """Write ``biomarkers.csv``, ``biomarker_strata.csv``, ``biomarkers_roc.png``,
        ``biomarkers_forest.png`` and ``biomarkers.html`` into ``out`` (and the ``biomarkers``
        tables into ``out/trial.duckdb`` when ``store`` and the folder holds a run)."""
        from oncotwin.biomarkers.report import write_outputs

        return write_outputs(self, Path(out), store=store)

    def print(self, group: str = "all", console: Any = None) -> None:
        """Print the table of ``group`` with rich."""
        from oncotwin.biomarkers.report import print_table

        print_table(self, group, console=console)

    def __repr__(self) -> str:
        groups = sorted(self.table["group"].unique()) if len(self.table) else []
        return (
            f"BiomarkerAnalysis({self.source!r}, markers={self.table['marker'].nunique()}, "
            f"groups={groups})"
        )

    def __str__(self) -> str:
        lines = [f"Biomarkers: {self.source}"]
        for r in self.table[self.table["group"] == "all"].itertuples(index=False):
            lines.append(
                f"  {r.label:<32} AUC {r.auc:.3f} [{r.auc_low:.3f}, {r.auc_high:.3f}]  "
                f"OR/SD {_f(r.or_sd)}  HR(PFS)/SD {_f(r.hr_pfs_sd)}"
            )
        lines.append(DISCLAIMER)
        return "\n".join(lines)


def _f(x: float) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.3g}"


# ------------------------------------------------------------------------------ helpers
def _strata_edges(x: np.ndarray, marker: Marker) -> tuple[np.ndarray, str]:
    if marker.categories:
        return np.arange(0.5, len(marker.categories) - 0.5 + 1e-9), "levels"
    if marker.cuts:
        return np.asarray(marker.cuts, dtype=float), marker.cut_source
    q = np.unique(np.nanquantile(x, [1 / 3, 2 / 3]))
    return q, "tertiles"


def _stratum_labels(edges: np.ndarray, marker: Marker, unit: str) -> list[str]:
    if marker.categories:
        return list(marker.categories)
    if len(edges) == 1 and set(np.unique(edges)) == {0.5} and unit == "yes/no":
        return ["no", "yes"]
    labels = [f"< {edges[0]:.3g}"]
    labels += [f"{lo:.3g} to < {hi:.3g}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f">= {edges[-1]:.3g}")
    return labels


def _stratum_ors(x: np.ndarray, y: np.ndarray, marker: Marker, group: str) -> list[dict[str, Any]]:
    edges, basis = _strata_edges(x, marker)
    if edges.size == 0:
        return []
    k = np.searchsorted(edges, x, side="right")
    labels = _stratum_labels(edges, marker, marker.unit)
    present = [s for s in range(len(labels)) if (k == s).any()]
    if len(present) < 2:
        return []
    ref = present[0]
    others = present[1:]
    X = np.column_stack([(k == s).astype(float) for s in others])
    fit = logistic_fit(X, y)
    rows = [
        {
            "group": group,
            "marker": marker.name,
            "stratum": labels[ref],
            "reference": True,
            "n": int((k == ref).sum()),
            "responders": int(y[k == ref].sum()),
            "odds_ratio": 1.0,
            "or_low": np.nan,
            "or_high": np.nan,
            "p": np.nan,
            "basis": basis,
        }
    ]
    for j, s in enumerate(others, start=1):
        or_, lo, hi, p = fit.odds_ratio(j)
        rows.append(
            {
                "group": group,
                "marker": marker.name,
                "stratum": labels[s],
                "reference": False,
                "n": int((k == s).sum()),
                "responders": int(y[k == s].sum()),
                "odds_ratio": or_,
                "or_low": lo,
                "or_high": hi,
                "p": p,
                "basis": basis,
            }
        )
    return rows


def _marker_row(
    frame: pd.DataFrame, marker: Marker, group: str, n_boot: int, seed: int
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], tuple[np.ndarray, np.ndarray] | None, str]:
    """The table row, strata rows and ROC curve of one marker in one group (or a note)."""
    sub = frame
    if marker.landmark_day > 0:
        sub = frame[frame["pfs_days"].to_numpy(dtype=float) > marker.landmark_day]
    x_all = marker_values(sub, marker)
    ok = np.isfinite(x_all)
    x = x_all[ok]
    y = sub["response"].to_numpy(dtype=bool)[ok]
    if x.size < MIN_VALUES:
        return None, [], None, f"{group}: {marker.name} left out (only {x.size} values)"
    if np.ptp(x) == 0:
        return None, [], None, f"{group}: {marker.name} left out (the same in every patient)"
    if y.sum() < 2 or (~y).sum() < 2:
        return (
            None,
            [],
            None,
            (f"{group}: {marker.name} left out ({int(y.sum())} responders with a value)"),
        )
    a = auc_delong(x, y)
    sd = float(np.std(x, ddof=1))
    fit = logistic_fit(x, y)
    or_u = fit.odds_ratio(1)
    or_sd = fit.odds_ratio(1, sd)
    lm = marker.landmark_day
    row: dict[str, Any] = {
        "group": group,
        "marker": marker.name,
        "label": marker.label,
        "kind": marker.kind,
        "unit": marker.unit,
        "n": int(x.size),
        "responders": int(y.sum()),
        "auc": a.auc,
        "auc_low": a.ci_low,
        "auc_high": a.ci_high,
        "auc_method": a.method,
        "auc_oriented": max(a.auc, 1.0 - a.auc),
        "direction": "higher" if a.auc >= 0.5 else "lower",
        "sd": sd,
        "or_unit": or_u[0],
        "or_unit_low": or_u[1],
        "or_unit_high": or_u[2],
        "or_p": or_u[3],
        "or_sd": or_sd[0],
        "or_sd_low": or_sd[1],
        "or_sd_high": or_sd[2],
        "landmark_day": lm,
    }
    notes = []
    if fit.separated:
        notes.append("logistic fit: the marker separates response (OR not estimable)")
    for ep in ("pfs", "os"):
        t = sub[f"{ep}_days"].to_numpy(dtype=float)[ok] - lm
        e = sub[f"{ep}_event"].to_numpy(dtype=bool)[ok]
        cox = cox_hazard_ratio(x, t, e)
        hs = cox.per(sd)
        row.update(
            {
                f"hr_{ep}_unit": cox.hr,
                f"hr_{ep}_unit_low": cox.ci_low,
                f"hr_{ep}_unit_high": cox.ci_high,
                f"hr_{ep}_sd": hs[0],
                f"hr_{ep}_sd_low": hs[1],
                f"hr_{ep}_sd_high": hs[2],
                f"hr_{ep}_p": cox.p,
                f"{ep}_events": cox.events,
            }
        )
        if cox.note:
            notes.append(f"{ep.upper()} Cox: {cox.note}")
    cp = youden_cutpoint(x, y, n_boot=n_boot, seed=seed)
    row.update(
        {
            "cut": cp.cut,
            "cut_direction": ">=" if cp.direction > 0 else "<=",
            "sensitivity": cp.sensitivity,
            "specificity": cp.specificity,
            "youden_j": cp.j_apparent,
            "youden_optimism": cp.optimism,
            "youden_j_corrected": cp.j_corrected,
            "cut_boot_low": cp.cut_ci_low,
            "cut_boot_high": cp.cut_ci_high,
            "note": "; ".join(notes),
        }
    )
    strata = _stratum_ors(x, y, marker, group)
    # the curve of the side that predicts response (the table keeps the raw AUC)
    curve = roc_curve(x if a.auc >= 0.5 else -x, y)
    return row, strata, curve, ""


def _add_combinations(
    frame: pd.DataFrame, baseline: Sequence[str], seed: int
) -> tuple[pd.DataFrame, list[str], dict[str, float]]:
    """The frame with ``loris``, ``loris_nsclc`` and ``logistic_score`` added where they can
    be computed (notes say why not); returns also the in-sample AUC of the logistic score."""
    notes: list[str] = []
    out = frame.copy()
    extra: dict[str, float] = {}
    if all(c in out for c in LORIS_COLUMNS):
        out["loris"] = loris_score(out)
        if out["loris"].isna().all():
            notes.append("LORIS: no patient has a cancer type LORIS was trained on")
        cancers = set(out["cancer_type"].astype(str).str.lower())
        if cancers == {"nsclc"} and "pdl1_tps_pct" in out and out["pdl1_tps_pct"].notna().any():
            out["loris_nsclc"] = loris_score(out, kind="nsclc")
    else:
        missing = [c for c in LORIS_COLUMNS if c not in out]
        notes.append(f"LORIS: left out, the frame lacks {missing}")
    cols = [
        m
        for m in baseline
        if m in out and out[m].notna().mean() >= 0.5 and out[m].nunique(dropna=True) > 1
    ]
    y = out["response"].to_numpy(dtype=bool)
    if cols and min(int(y.sum()), int((~y).sum())) >= 5:
        X = np.column_stack([marker_values(out, MARKERS[m]) for m in cols])
        oof, insample = cv_logistic_score(X, y, seed=seed)
        out["logistic_score"] = oof
        extra["logistic_score_in_sample_auc"] = auc_delong(insample, y).auc
        extra["logistic_score_markers"] = float(len(cols))
        notes.append(
            "logistic score: 5-fold cross-validated (out-of-fold) logit of "
            + ", ".join(cols)
            + f"; in-sample AUC {extra['logistic_score_in_sample_auc']:.3f}"
        )
    return out, notes, extra


# ------------------------------------------------------------------------------- analysis
def analyse(
    frame: pd.DataFrame,
    *,
    markers: Sequence[str] | None = None,
    by: Sequence[str] = ("arm",),
    n_boot: int = N_BOOT,
    seed: int = 0,
    source: str = "",
    min_responders: int = MIN_RESPONDERS,
) -> BiomarkerAnalysis:
    """Analyse every marker of ``frame`` (or ``markers``) in all patients and in each level
    of the ``by`` columns.

    Raises
    ------
    BiomarkerError
        An unknown marker name, a frame without the outcome columns, or fewer than
        ``min_responders`` responders or non-responders among all patients.
    """
    missing = [c for c in OUTCOME_COLUMNS if c not in frame]
    if missing:
        raise BiomarkerError(
            f"frame: the outcome columns {missing} are missing; build the frame with "
            "baseline_frame(patients, outcomes) or chowell_cohort()"
        )
    wanted = [get_marker(m) for m in markers] if markers is not None else None
    y = frame["response"].to_numpy(dtype=bool)
    if y.sum() < min_responders or (~y).sum() < min_responders:
        raise BiomarkerError(
            f"response: {int(y.sum())} responders and {int((~y).sum())} non-responders among "
            f"{len(frame)} patients; the analysis needs at least {min_responders} of each "
            "(run more patients, or an arm that responds)"
        )
    baseline_names = [m.name for m in BASELINE]
    groups: list[tuple[str, pd.DataFrame]] = [("all", frame)]
    for col in by:
        if col not in frame:
            raise BiomarkerError(f"by: {col!r} is not a column of the frame")
        levels = list(dict.fromkeys(frame[col].astype(str)))
        if len(levels) > 1:
            groups += [(f"{col}={lv}", frame[frame[col].astype(str) == lv]) for lv in levels]
    rows, strata, notes = [], [], []
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    frames = []
    for g, sub in groups:
        ys = sub["response"].to_numpy(dtype=bool)
        if ys.sum() < min_responders or (~ys).sum() < min_responders:
            notes.append(
                f"{g}: left out ({int(ys.sum())} responders, {int((~ys).sum())} "
                f"non-responders; at least {min_responders} of each are needed)"
            )
            continue
        sub2, cnotes, extra = _add_combinations(sub, baseline_names, seed)
        notes += [f"{g}: {n}" for n in cnotes]
        if g == "all":
            frames.append(sub2)
        todo = wanted or [m for m in MARKERS.values() if m.name in sub2]
        for m in todo:
            if m.name not in sub2:
                notes.append(f"{g}: {m.name} not in the data")
                continue
            row, srows, curve, note = _marker_row(sub2, m, g, n_boot, seed)
            if row is None:
                notes.append(note)
                continue
            if m.name == "logistic_score":
                row["auc_method"] = "DeLong, out-of-fold"
                row["note"] = (row["note"] + "; " if row["note"] else "") + (
                    f"in-sample AUC {extra['logistic_score_in_sample_auc']:.3f}"
                )
            rows.append(row)
            strata += srows
            if curve is not None:
                curves[(g, m.name)] = curve
    if not rows:
        raise BiomarkerError(
            "markers: none of the asked markers could be analysed (" + "; ".join(notes[:4]) + ")"
        )
    table = pd.DataFrame(rows)
    return BiomarkerAnalysis(
        table,
        pd.DataFrame(strata),
        frames[0] if frames else frame,
        curves,
        tuple(notes),
        source,
    )


def analyse_result(
    result: TrialResult,
    *,
    markers: Sequence[str] | None = None,
    on_treatment: bool = True,
    by: Sequence[str] = ("arm",),
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> BiomarkerAnalysis:
    """The biomarker analysis of a stored virtual trial (``TrialResult.biomarkers()``).

    ``on_treatment`` derives the on-treatment markers by solving the run's arms again
    (:func:`oncotwin.biomarkers.ontreatment.on_treatment_markers`, about the run's own time).
    """
    from oncotwin.biomarkers.markers import ON_TREATMENT, baseline_frame
    from oncotwin.trials.store import StoreError, TrialStore

    try:
        names = TrialStore.open(result.out).tables()
    except StoreError as exc:
        raise BiomarkerError(str(exc)) from None
    if "patients" not in names or "outcomes" not in names:
        raise BiomarkerError(
            f"run: {result.out} has no patients/outcomes tables (tables: {names}); give the "
            "folder of a finished `oncotwin trial run`"
        )
    frame = baseline_frame(result.patients, result.outcomes)
    if markers is not None:
        for m in markers:
            get_marker(m)
    wants_ot = markers is None or any(MARKERS[m].kind == "on-treatment" for m in markers)
    notes: list[str] = []
    if on_treatment and wants_ot:
        from oncotwin.biomarkers.ontreatment import on_treatment_markers

        ot = on_treatment_markers(result)
        frame = frame.merge(ot, on="patient_id", how="left")
    elif wants_ot:
        notes.append(
            "on-treatment markers not derived (baseline only): "
            + ", ".join(m.name for m in ON_TREATMENT)
        )
    spec = result.spec
    name = spec.trial.name if spec is not None else str(result.out)
    m = result.manifest
    src = f"virtual {name} ({m.get('patients', len(frame))} patients, seed {m.get('seed', '?')})"
    out = analyse(frame, markers=markers, by=by, n_boot=n_boot, seed=seed, source=src)
    if notes:
        out = BiomarkerAnalysis(
            out.table, out.strata, out.frame, out.curves, (*out.notes, *notes), out.source
        )
    return out
