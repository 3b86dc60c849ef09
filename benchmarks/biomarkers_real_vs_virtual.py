"""Virtual vs real biomarker AUCs for matched cancers and drugs (issue 18, item 2).

Runs shipped example trials at a few hundred virtual patients each, analyses their immune
checkpoint arms with :func:`oncotwin.biomarkers.analyse` and the real Chowell 2022 MSK ICB
training cohort (``Chowell_train.csv`` of the LORIS data, see
:mod:`oncotwin.biomarkers.cohort`) with the *same* function, and prints the AUCs side by side
per matched stratum (cancer x drug class):

============================  =====================================  =====================
stratum                       virtual (example trial, arm)           real (Chowell train)
============================  =====================================  =====================
melanoma, anti-PD-1           CheckMate 067, nivolumab               Melanoma, PD-1/PD-L1
melanoma, PD-1 + CTLA-4       CheckMate 067, nivolumab + ipilimumab  Melanoma, combination
NSCLC 1L PD-L1 >= 50%         KEYNOTE-024, pembrolizumab             NSCLC, PD-1/PD-L1
NSCLC 2L, anti-PD-L1          OAK, atezolizumab                      NSCLC, PD-1/PD-L1, prior
renal cell 2L, anti-PD-1      CheckMate 025, nivolumab               Renal, PD-1/PD-L1
urothelial 2L, anti-PD-L1     IMvigor210 cohort 2, atezolizumab      Bladder, PD-1/PD-L1
============================  =====================================  =====================

The markers compared are those both have (TMB, albumin, NLR, age, PD-L1 in NSCLC, LORIS, and
a 5-fold cross-validated logistic score of the shared baseline markers); the virtual-only
markers (immune phenotype, CD8 density, LDH, ...) are summarised per stratum by the best
single-marker AUC and the cross-validated score of all of them. A virtual population whose
baseline markers separate responders with AUC > 0.8 is flagged as too deterministic. The real
AUCs are a check, not a target: nothing here tunes the virtual population, and no noise is
added to move an AUC.

Run from the repository root (about 4-8 minutes on 2 cores; runs are kept in ``--out`` and
reused when the same command runs again)::

    python benchmarks/biomarkers_real_vs_virtual.py
    python benchmarks/biomarkers_real_vs_virtual.py --patients 400 --csv bm.csv

Research simulations only: not medical advice.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin.biomarkers import BiomarkerError, analyse, baseline_frame, chowell_cohort
from oncotwin.trials import Trial
from oncotwin.trials.result import TrialResult

#: (stratum, example, arm, real cancer (oncotwin name), real drug class, real prior therapy)
STRATA = (
    ("melanoma, anti-PD-1", "checkmate067", "nivolumab", "melanoma", "PD-1/PD-L1", None),
    (
        "melanoma, PD-1 + CTLA-4",
        "checkmate067",
        "nivolumab + ipilimumab",
        "melanoma",
        "PD-(L)1 + CTLA-4",
        None,
    ),
    ("NSCLC 1L PD-L1>=50%, anti-PD-1", "keynote024", "pembrolizumab", "nsclc", "PD-1/PD-L1", None),
    ("NSCLC 2L, anti-PD-L1", "oak", "atezolizumab", "nsclc", "PD-1/PD-L1", True),
    ("renal cell 2L, anti-PD-1", "checkmate025", "nivolumab", "renal_cell", "PD-1/PD-L1", None),
    (
        "urothelial 2L, anti-PD-L1",
        "imvigor210_cohort2",
        "atezolizumab",
        "urothelial",
        "PD-1/PD-L1",
        None,
    ),
)

#: Markers both the virtual patients and the real cohort have.
SHARED = ("tmb", "albumin", "nlr", "age", "prior_systemic_therapy", "pdl1_tps")
#: Rows printed per stratum (the logistic score is that of the shared markers).
SHOWN = ("tmb", "albumin", "nlr", "age", "pdl1_tps", "loris", "loris_nsclc", "logistic_score")
#: Above this AUC from baseline markers the virtual population is too deterministic.
DETERMINISTIC_AUC = 0.8
#: Columns an analysis frame needs besides the markers (outcomes, groups, LORIS inputs).
KEEP = (
    "patient_id",
    "arm",
    "cancer_type",
    "response",
    "pfs_days",
    "pfs_event",
    "os_days",
    "os_event",
    "tmb_mut_per_mb",
    "albumin_g_dl",
    "age_yr",
    "pdl1_tps_pct",
)


def _run(example: str, patients: int, out: Path) -> TrialResult:
    folder = out / f"{example}_{patients}"
    if (folder / "manifest.json").is_file():
        try:
            res = TrialResult.open(folder)
            if int(res.manifest.get("patients", -1)) == patients:
                return res
        except Exception:  # an unfinished run: made again in a new folder
            folder = out / f"{example}_{patients}_{int(time.time())}"
    return Trial.from_example(example).run(patients=patients, out=folder, report=False)


def _cell(a, marker: str) -> str:
    if a is None:
        return "-"
    row = a.table[(a.table["group"] == "all") & (a.table["marker"] == marker)]
    if row.empty:
        return "-"
    r = row.iloc[0]
    return f"{r['auc']:.2f} [{r['auc_low']:.2f}, {r['auc_high']:.2f}]"


def _auc(a, marker: str) -> float:
    if a is None:
        return np.nan
    row = a.table[(a.table["group"] == "all") & (a.table["marker"] == marker)]
    return float(row["auc"].iloc[0]) if len(row) else np.nan


def _published_orr(res: TrialResult, arm: str) -> str:
    """The published ORR of the example's arm (``oncotwin.trials.targets``), or '-'."""
    try:
        c = res.compare()
    except Exception:  # a spec without published arms
        return "-"
    row = c[(c["arm"] == arm) & (c["endpoint"] == "ORR")]
    v = float(row["published"].iloc[0]) if len(row) else float("nan")
    return "-" if not np.isfinite(v) else f"{v:.0f}%"


def _safe(frame: pd.DataFrame, source: str):
    """The analysis of ``frame`` (all patients, every marker it has), or None and why not."""
    try:
        return analyse(frame, by=(), n_boot=50, source=source), ""
    except BiomarkerError as exc:
        return None, str(exc)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=300, help="virtual patients per trial")
    ap.add_argument("--out", type=Path, default=None, help="folder of the runs (reused)")
    ap.add_argument("--cohort", type=Path, default=None, help="folder of Chowell_train.csv")
    ap.add_argument("--csv", type=Path, default=None, help="write the side-by-side table here")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="oncotwin-biomarkers-"))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    real = chowell_cohort(args.cohort)
    runs: dict[str, TrialResult] = {}
    for _, example, *_ in STRATA:
        if example not in runs:
            t = time.perf_counter()
            runs[example] = _run(example, args.patients, out)
            print(
                f"run {example}: {args.patients} patients, {time.perf_counter() - t:.0f} s",
                flush=True,
            )
    rows = []
    verdicts = []
    for stratum, example, arm, cancer, drug, prior in STRATA:
        res = runs[example]
        full = baseline_frame(res.patients, res.outcomes)
        full = full[full["arm"] == arm]
        shared = full[[c for c in (*KEEP, *SHARED) if c in full]]
        sel = (real["cancer_type"] == cancer) & (real["drug_class"] == drug)
        if prior is not None:
            sel &= real["prior_systemic_therapy"] == prior
        r_frame = real[sel]
        v_a, v_note = _safe(shared, f"virtual {res.spec.trial.name} {arm}")
        v_all, _ = _safe(full, f"virtual {res.spec.trial.name} {arm}, all markers")
        r_a, r_note = _safe(r_frame, f"real {cancer} {drug}")
        head = (
            f"{stratum}: virtual n={len(shared)} (ORR {100 * shared['response'].mean():.0f}%, "
            f"published {_published_orr(res, arm)}), "
            f"real n={len(r_frame)} (ORR {100 * r_frame['response'].mean():.0f}%)"
        )
        print("\n" + head)
        print(f"  {'marker':<16} {'AUC virtual [95% CI]':<24} {'AUC real [95% CI]':<24}")
        for m in SHOWN:
            cv, cr = _cell(v_a, m), _cell(r_a, m)
            if cv == "-" and cr == "-":
                continue
            print(f"  {m:<16} {cv:<24} {cr:<24}")
            rows.append(
                {
                    "stratum": stratum,
                    "marker": m,
                    "auc_virtual": _auc(v_a, m),
                    "auc_real": _auc(r_a, m),
                    "n_virtual": len(shared),
                    "n_real": len(r_frame),
                }
            )
        for note in (v_note, r_note):
            if note:
                print(f"  note: {note}")
        if v_all is not None:
            t = v_all.table[(v_all.table["group"] == "all")]
            single = t[t["kind"] == "baseline"].assign(o=lambda d: (d["auc"] - 0.5).abs() + 0.5)
            best = single.sort_values("o", ascending=False).iloc[0]
            score = _auc(v_all, "logistic_score")
            flag = max(best["o"], score if np.isfinite(score) else 0.0) > DETERMINISTIC_AUC
            side = "" if best["auc"] >= 0.5 else f" (low values predict: {best['o']:.2f})"
            verdict = (
                f"  virtual, all baseline markers: best single {best['marker']} "
                f"AUC {best['auc']:.2f}{side}; cross-validated score {score:.2f}"
                + (" -> TOO DETERMINISTIC (AUC > 0.8)" if flag else "")
            )
            print(verdict)
            verdicts.append((stratum, best["marker"], best["auc"], score, flag))
            rows.append(
                {
                    "stratum": stratum,
                    "marker": "logistic_score_all_virtual_markers",
                    "auc_virtual": score,
                    "auc_real": np.nan,
                    "n_virtual": len(full),
                    "n_real": len(r_frame),
                }
            )
    pan, _ = _safe(real, "real pan-cancer")
    print(
        "\nreal pan-cancer (all 964, in sample for LORIS): "
        + ", ".join(f"{m} {_auc(pan, m):.3f}" for m in ("tmb", "albumin", "nlr", "loris"))
    )
    table = pd.DataFrame(rows)
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
        print(f"table: {args.csv}")
    print(f"runs: {out}; total {time.perf_counter() - t0:.0f} s")
    print(DISCLAIMER)
    return table


if __name__ == "__main__":
    main()
