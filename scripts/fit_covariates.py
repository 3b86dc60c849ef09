"""Fit the shipped virtual-patient covariate distributions from the shared ICI cohorts.

Reads two public cohorts under ``../shared/data/external`` (or ``$ONCOTWIN_SHARED/data/external``):

* ``loris-chang2024-icb-cohorts/Chowell_train.csv``: 964 ICI-treated MSK patients with TMB,
  PD-L1 TPS, NLR, albumin, age, BMI, sex, prior systemic therapy, MSI and response
  (Chang 2024 Nature Cancer; Chowell 2022 Nat Biotechnol). GPL-3 repository.
* ``samstein2019-msk-tmb-icb/tmb_mskcc_2018_clinical_data.tsv``: 1,661 ICI-treated MSK-IMPACT
  patients with TMB by cancer type (Samstein 2019 Nat Genet; cBioPortal ``tmb_mskcc_2018``).

and writes ``src/oncotwin/population/data/covariates.json``: per cancer type, a Gaussian copula
(marginal quantiles at 41 probability points + the normal-scores correlation matrix), sex and
prior-therapy proportions and response-rate summaries. Only summary statistics are written,
never a patient row: quantiles, proportions and correlations are facts about the cohorts, not a
copy of the GPL-3 data files (the licence note is repeated in the JSON).

Cancer types the cohorts lack (prostate, large B-cell lymphoma, B-ALL, multiple myeloma,
follicular lymphoma) and
columns too small to fit (HER2+ breast NLR/albumin/BMI) get literature-based or pan-cancer
fallbacks, each flagged ``"assumption": true`` with the reason.

Usage::

    python scripts/fit_covariates.py            # writes the package JSON
    python scripts/fit_covariates.py --check    # fails if the shipped JSON is stale
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "oncotwin" / "population" / "data" / "covariates.json"
SHARED = Path(os.environ.get("ONCOTWIN_SHARED") or ROOT.parent / "shared")
LORIS = "data/external/loris-chang2024-icb-cohorts/Chowell_train.csv"
SAMSTEIN = "data/external/samstein2019-msk-tmb-icb/tmb_mskcc_2018_clinical_data.tsv"

#: 41 probability points: 0.5% and 99.5% tails, then every 2.5% from 2.5% to 97.5%.
PROBS = np.concatenate([[0.005], np.linspace(0.025, 0.975, 39), [0.995]])
#: Copula columns, in the order of the correlation matrix.
COPULA = ("tmb_mut_per_mb", "pdl1_tps_pct", "nlr", "albumin_g_dl", "age_yr", "bmi_kg_m2")
LORIS_COLUMNS = {
    "tmb_mut_per_mb": "TMB",
    "pdl1_tps_pct": "PDL1_TPS(%)",
    "nlr": "NLR",
    "albumin_g_dl": "Albumin",
    "age_yr": "Age",
    "bmi_kg_m2": "BMI",
}
#: Fewer rows than this: the column's marginal falls back to the pan-cancer cohort (flagged).
MIN_MARGINAL_N = 20
#: Fewer rows than this: the correlation falls back to the pan-cancer matrix (flagged).
MIN_CORRELATION_N = 40

SOURCES = {
    "Chang2024": {
        "cite": "Chang T-G, Cao Y, Sfreddo HJ, et al., Ruppin E. LORIS robustly predicts patient "
        "outcomes with immune checkpoint blockade therapy using common clinical, pathologic, and "
        "genomic features. Nature Cancer (2024); data: Chowell D et al. Nat Biotechnol "
        "40:499-506 (2022), sheet Chowell_train (964 ICI-treated MSK patients)",
        "origin": "GitHub rootchang/LORIS 02.Input/AllData.xlsx, commit eb87300f",
        "licence": "GPL-3.0 repository. Only fitted summary statistics (quantiles, proportions, "
        "rank correlations, response rates by group) are shipped: facts about the cohort, not a "
        "copy of the data; no patient row is included.",
    },
    "Samstein2019": {
        "cite": "Samstein RM, Lee C-H, Shoushtari AN, et al. Tumor mutational load predicts "
        "survival after immunotherapy across multiple cancer types. Nat Genet 51:202-206 (2019); "
        "cBioPortal study tmb_mskcc_2018 (1,661 ICI-treated patients)",
        "origin": "cBioPortal clinical-data download (GitHub changhw01/gemini, commit 10a632db)",
        "licence": "cBioPortal public study data; only TMB quantiles by cancer type are shipped.",
    },
    "assumption": {
        "cite": "literature-based assumption; see the entry's notes for the reason",
        "origin": "oncotwin developers",
        "licence": "Apache-2.0 (oncotwin)",
    },
}

# Cancer type -> how to select its rows in each cohort. ``samstein`` selects the TMB rows.
SPECS: dict[str, dict] = {
    "melanoma": {
        "loris": lambda d: d.CancerType == "Melanoma",
        "samstein": lambda s: (
            (s["Cancer Type"] == "Melanoma") & (s["Cancer Type Detailed"] != "Uveal Melanoma")
        ),
        "notes": [
            "TMB from Samstein 2019 melanoma without uveal melanoma (excluded from the "
            "pivotal ICI trials), which has more patients than the LORIS melanoma rows",
        ],
    },
    "nsclc": {
        "loris": lambda d: d.CancerType == "NSCLC",
        "samstein": lambda s: s["Cancer Type"] == "Non-Small Cell Lung Cancer",
        "notes": [
            "TMB from Samstein 2019 NSCLC (more patients than LORIS NSCLC)",
            "PD-L1 TPS from the LORIS NSCLC rows that report it (22C3 TPS; 0 means <1%); "
            "missing PD-L1 was not measured at random (tested more often in later years)",
        ],
    },
    "renal_cell": {
        "loris": lambda d: d.CancerType == "Renal",
        "samstein": lambda s: s["Cancer Type"] == "Renal Cell Carcinoma",
        "notes": ["TMB from Samstein 2019 renal cell carcinoma (all histologies)"],
    },
    "urothelial": {
        "loris": lambda d: d.CancerType == "Bladder",
        "samstein": lambda s: s["Cancer Type"] == "Bladder Cancer",
        "notes": [
            "TMB from Samstein 2019 'Bladder Cancer' (bladder, upper-tract and urethral "
            "urothelial carcinoma); NLR/albumin/age/BMI from LORIS 'Bladder'",
        ],
    },
    "colorectal_msi_high": {
        "loris": lambda d: d.CancerType == "Colorectal",
        "samstein": lambda s: (s["Cancer Type"] == "Colorectal Cancer") & (s["TMB Score"] >= 20),
        "response_rows": lambda d: (d.CancerType == "Colorectal") & (d.MSI == 1),
        "notes": [
            "Samstein 2019 has no MSI column: MSI-high is approximated by the hypermutated "
            "colorectal cluster (TMB >= 20 mut/Mb, clearly separated from the rest by a gap "
            "between ~15 and ~30 mut/Mb); this proxy also admits POLE-mutant tumours "
            "(assumption)",
            "NLR/albumin/age/BMI from all LORIS colorectal rows (MSI-high only: 10 patients, "
            "too few); response summary from LORIS colorectal MSI=1 rows",
        ],
    },
    "breast_her2": {
        "loris": lambda d: d.CancerType == "Breast",
        "samstein": lambda s: s["Cancer Type"] == "Breast Cancer",
        "p_male": 0.0,
        "age": {
            "median": 54.0,
            "sd": 11.0,
            "lo": 25.0,
            "hi": 85.0,
            "reason": "HER2+ metastatic breast cancer trials report median ages of ~52-54 "
            "(Slamon NEJM 2001; CLEOPATRA, Baselga NEJM 2012: 54); the LORIS breast rows "
            "(12 patients, HER2 status unknown) are too few; SD set so 5-95% spans ~36-72",
        },
        "notes": [
            "HER2 status is in neither cohort: TMB from all Samstein 2019 breast cancers "
            "(assumption: HER2+ disease has a similar TMB distribution)",
        ],
    },
    "prostate": {
        "loris": None,
        "samstein": None,
        "p_male": 1.0,
        "tmb": {
            "median": 2.0,
            "log_sd": 0.7,
            "reason": "neither cohort has prostate cancer; "
            "prostate adenocarcinoma is among the lowest-TMB solid tumours (median ~1-3 "
            "mut/Mb in panel sequencing series, e.g. Chalmers 2017 Genome Med); log-normal "
            "with a ~1% hypermutated tail is an assumption",
        },
        "age": {
            "median": 71.0,
            "sd": 8.0,
            "lo": 40.0,
            "hi": 95.0,
            "reason": "mCRPC immunotherapy trials report median ages of ~70-72 (IMPACT, "
            "Kantoff NEJM 2010); SD is an assumption",
        },
        "notes": ["no cohort data: NLR, albumin and BMI use the pan-cancer LORIS cohort"],
    },
    "large_b_cell_lymphoma": {
        "loris": None,
        "samstein": None,
        "p_male": 0.67,
        "tmb": {
            "median": 5.0,
            "log_sd": 0.7,
            "reason": "no cohort data; DLBCL is a "
            "mid-TMB tumour in panel series (median ~4-8 mut/Mb); assumption",
        },
        "age": {
            "median": 58.0,
            "sd": 11.0,
            "lo": 18.0,
            "hi": 80.0,
            "reason": "ZUMA-1 (Neelapu NEJM 2017) median age 58 (range 23-76), JULIET "
            "median 56; ~67% male in ZUMA-1; SD is an assumption",
        },
        "notes": [
            "haematologic: no cohort data; NLR, albumin and BMI use the pan-cancer "
            "LORIS cohort (assumption; lymphoma NLR/albumin differ from solid tumours)"
        ],
    },
    "b_all": {
        "loris": None,
        "samstein": None,
        "p_male": 0.57,
        "tmb": {
            "median": 0.5,
            "log_sd": 0.8,
            "reason": "no cohort data; paediatric B-ALL "
            "has very few somatic mutations (<1 mut/Mb); assumption",
        },
        "age": {
            "median": 11.0,
            "sd": 5.0,
            "lo": 3.0,
            "hi": 25.0,
            "reason": "ELIANA (Maude NEJM 2018) median age 11 (range 3-23), 57% male; "
            "normal shape is an assumption",
        },
        "bmi": {
            "median": 18.0,
            "log_sd": 0.2,
            "reason": "paediatric/young-adult BMI; assumption (the adult cohorts do not apply)",
        },
        "notes": [
            "haematologic, paediatric: no cohort data; NLR and albumin use the "
            "pan-cancer LORIS cohort (assumption)"
        ],
    },
    "multiple_myeloma": {
        "loris": None,
        "samstein": None,
        "p_male": 0.59,
        "tmb": {
            "median": 1.5,
            "log_sd": 0.6,
            "reason": "no cohort data; myeloma has a low TMB (~1-2 mut/Mb); assumption",
        },
        "age": {
            "median": 61.0,
            "sd": 9.0,
            "lo": 30.0,
            "hi": 85.0,
            "reason": "KarMMa (Munshi NEJM 2021) median age 61 (range 33-78); SD is an assumption",
        },
        "notes": [
            "haematologic: no cohort data; NLR, albumin and BMI use the pan-cancer "
            "LORIS cohort (assumption)"
        ],
    },
    "colorectal": {
        "loris": lambda d: d.CancerType == "Colorectal",
        "samstein": lambda s: s["Cancer Type"] == "Colorectal Cancer",
        "samstein_msi_mixture": True,
        "notes": [
            "colorectal cancer of all comers (MSS majority): the ICI cohorts over-represent "
            "MSI-high disease (LORIS 10/28), so the TMB marginal is the Samstein 2019 "
            "colorectal TMB reweighted to the metastatic MSI-high share of cancers.toml "
            "(msi_high): the hypermutated cluster (TMB >= 20 mut/Mb) weighted to that share, "
            "the rest to 1 - share (assumption: the cluster stands for MSI-high)",
            "NLR/albumin/age/BMI and sex from all LORIS colorectal rows (28; MSS only: 18, "
            "too few); the MSI-high proportion of the rows is not used (cancers.toml gives "
            "the population share)",
        ],
    },
    "follicular_lymphoma": {
        "loris": None,
        "samstein": None,
        "p_male": 0.55,
        "tmb": {
            "median": 4.0,
            "log_sd": 0.6,
            "reason": "no cohort data; follicular lymphoma is a low-to-mid TMB tumour in panel "
            "series (a few mut/Mb; KMT2D/CREBBP/EZH2 drivers); recalled, not verified",
        },
        "age": {
            "median": 62.0,
            "sd": 11.0,
            "lo": 25.0,
            "hi": 90.0,
            "reason": "relapsed/refractory follicular lymphoma trials report median ages of "
            "~60-64 (e.g. ZUMA-5, ELARA); recalled, not verified; SD is an assumption",
        },
        "notes": [
            "haematologic: no cohort data; NLR, albumin and BMI use the pan-cancer "
            "LORIS cohort (assumption); ~55% male (recalled)",
        ],
    },
    "hepatocellular": {
        "loris": lambda d: d.CancerType == "Hepatobiliary",
        "samstein": None,
        "p_male": 0.82,
        "notes": [
            "LORIS 'Hepatobiliary' rows (36) mix hepatocellular and biliary-tract cancers "
            "(no histology column): their TMB, NLR, albumin, age and BMI stand for HCC "
            "(assumption); Samstein 2019 has no liver cancers",
            "male share 82% as in IMbrave150 (Finn 2020 NEJM; recalled, not verified) instead "
            "of the mixed hepatobiliary rows",
        ],
    },
    "head_and_neck": {
        "loris": lambda d: d.CancerType == "Head & Neck",
        "samstein": lambda s: (
            (s["Cancer Type"] == "Head and Neck Cancer")
            & s["Cancer Type Detailed"].str.contains("Squamous", na=False)
        ),
        "notes": [
            "TMB from the Samstein 2019 head and neck squamous cell carcinomas (oral cavity, "
            "oropharynx, larynx, hypopharynx, sinonasal, NOS; nasopharyngeal and other "
            "histologies left out); NLR/albumin/age/BMI from the LORIS 'Head & Neck' rows "
            "(histology not recorded: assumption that they are mostly squamous)",
        ],
    },
    "gastric": {
        "loris": lambda d: d.CancerType == "Gastric",
        "samstein": lambda s: (
            (s["Cancer Type"] == "Esophagogastric Cancer")
            & ~s["Cancer Type Detailed"].str.contains("Squamous", na=False)
        ),
        "notes": [
            "TMB from the Samstein 2019 oesophagogastric cancers without squamous histology "
            "(stomach, gastro-oesophageal junction and oesophageal adenocarcinoma, as "
            "enrolled in CheckMate 649); NLR/albumin/age/BMI, sex and MSI from the LORIS "
            "'Gastric' rows",
        ],
    },
    "small_cell_lung": {
        "loris": lambda d: d.CancerType == "SCLC",
        "samstein": None,
        "notes": [
            "TMB, NLR, albumin, age and BMI from the LORIS 'SCLC' rows (34); Samstein 2019 has "
            "no small-cell lung cancer",
        ],
    },
    "triple_negative_breast": {
        "loris": lambda d: d.CancerType == "Breast",
        "samstein": lambda s: s["Cancer Type"] == "Breast Cancer",
        "p_male": 0.0,
        "age": {
            "median": 53.0,
            "sd": 12.0,
            "lo": 22.0,
            "hi": 88.0,
            "reason": "metastatic TNBC trials report median ages of ~53-56 (KEYNOTE-355: 53; "
            "IMpassion130: 55; recalled, not verified); the LORIS breast rows (12 "
            "patients, subtype unknown) are too few; SD is an assumption",
        },
        "notes": [
            "receptor status is in neither cohort: TMB from all Samstein 2019 breast cancers "
            "(assumption: TNBC's TMB distribution is similar, slightly higher in reality)",
        ],
    },
}


#: Copula column -> the SPECS key that replaces its marginal by an assumption.
_ASSUMED_KEYS = {"tmb_mut_per_mb": "tmb", "age_yr": "age", "bmi_kg_m2": "bmi"}


def _normal_scores(x: np.ndarray) -> np.ndarray:
    """Van der Waerden normal scores (average ranks for ties), NaN kept."""
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    r = stats.rankdata(x[ok])
    out[ok] = stats.norm.ppf(r / (ok.sum() + 1))
    return out


def _nearest_correlation(c: np.ndarray) -> np.ndarray:
    """Clip eigenvalues to >= 1e-3 and rescale to unit diagonal (pairwise-complete matrices)."""
    w, v = np.linalg.eigh((c + c.T) / 2)
    c = (v * np.maximum(w, 1e-3)) @ v.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def _correlation(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Normal-scores correlation (pairwise complete) and the pairwise counts."""
    z = np.column_stack([_normal_scores(frame[c].to_numpy(float)) for c in COPULA])
    k = len(COPULA)
    corr, counts = np.eye(k), np.zeros((k, k), int)
    for i in range(k):
        for j in range(k):
            ok = ~np.isnan(z[:, i]) & ~np.isnan(z[:, j])
            counts[i, j] = ok.sum()
            if i < j and ok.sum() >= 3:
                corr[i, j] = corr[j, i] = np.corrcoef(z[ok, i], z[ok, j])[0, 1]
    return corr, counts


def _quantiles(x: np.ndarray) -> list[float]:
    x = x[~np.isnan(x)]
    return [round(float(v), 4) for v in np.quantile(x, PROBS)]


def _marginal(x: np.ndarray, source: str, *, transform: str, note: str = "") -> dict:
    x = x[~np.isnan(x)]
    entry = {
        "kind": "quantiles",
        "transform": transform,
        "n": int(x.size),
        "median": round(float(np.median(x)), 4),
        "quantiles": _quantiles(x),
        "source": source,
    }
    if note:
        entry["note"] = note
    return entry


def _weighted_quantiles(x: np.ndarray, w: np.ndarray) -> list[float]:
    """Quantiles at PROBS of a weighted sample (linear in the weighted ECDF midpoints)."""
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order] / w.sum()
    cdf = np.cumsum(w) - 0.5 * w
    return [round(float(v), 4) for v in np.interp(PROBS, cdf, x)]


def _msi_mixture_marginal(tm: np.ndarray, share: float, source: str) -> dict:
    """TMB marginal of an all-comers colorectal population: the hypermutated cluster
    (TMB >= 20 mut/Mb, standing for MSI-high) weighted to ``share``, the rest to 1 - share."""
    hyper = tm >= 20.0
    w = np.where(hyper, share / hyper.sum(), (1.0 - share) / (~hyper).sum())
    q = _weighted_quantiles(tm, w)
    return {
        "kind": "quantiles",
        "transform": "log1p",
        "n": int(tm.size),
        "median": float(np.interp(0.5, PROBS, q)),
        "quantiles": q,
        "source": source,
        "assumption": True,
        "reason": f"reweighted: TMB >= 20 mut/Mb rows ({int(hyper.sum())}) to the MSI-high "
        f"share {share} of cancers.toml, the other {int((~hyper).sum())} rows to {1 - share}",
    }


def _msi_share(name: str) -> float:
    """The population MSI-high share of ``name`` in the package's cancers.toml."""
    import tomllib

    path = ROOT / "src" / "oncotwin" / "population" / "data" / "cancers.toml"
    return float(tomllib.loads(path.read_text())["assumptions"][name]["msi_high"])


def _pdl1_marginal(x: np.ndarray, source: str) -> dict:
    x = x[~np.isnan(x)]
    pos = x[x > 0]
    return {
        "kind": "zero_inflated",
        "transform": "identity",
        "n": int(x.size),
        "p_zero": round(float(np.mean(x == 0)), 4),
        "p_ge_1": round(float(np.mean(x >= 1)), 4),
        "p_ge_50": round(float(np.mean(x >= 50)), 4),
        "positive_quantiles": _quantiles(pos),
        "source": source,
        "note": "TPS 0 codes <1%; positive part by quantiles",
    }


def _assumed_lognormal(p: dict, *, lo: float = 0.0, hi: float = np.inf) -> dict:
    q = np.clip(p["median"] * np.exp(p["log_sd"] * stats.norm.ppf(PROBS)), lo, hi)
    return {
        "kind": "quantiles",
        "transform": "log1p",
        "n": 0,
        "median": p["median"],
        "quantiles": [round(float(v), 4) for v in q],
        "source": "assumption",
        "assumption": True,
        "reason": p["reason"] + f" (log-normal, median {p['median']}, SD of log {p['log_sd']})",
    }


def _assumed_normal(p: dict) -> dict:
    q = np.clip(p["median"] + p["sd"] * stats.norm.ppf(PROBS), p["lo"], p["hi"])
    return {
        "kind": "quantiles",
        "transform": "identity",
        "n": 0,
        "median": p["median"],
        "quantiles": [round(float(v), 4) for v in q],
        "source": "assumption",
        "assumption": True,
        "reason": p["reason"] + f" (normal, median {p['median']}, SD {p['sd']}, "
        f"clipped to [{p['lo']}, {p['hi']}])",
    }


def _rate(resp: pd.Series) -> dict:
    return {"n": int(resp.size), "orr": round(float(resp.mean()), 4) if resp.size else None}


def _response(rows: pd.DataFrame) -> dict:
    """ORR (CR/PR, Response=1) overall and by TMB and PD-L1 group."""
    tmb, pdl1 = rows["TMB"], rows["PDL1_TPS(%)"]
    out = {
        "source": "Chang2024",
        "definition": "Response = 1 (CR or PR, RECIST 1.1) in the LORIS Chowell_train rows",
        "overall": _rate(rows.Response),
        "by_tmb": {
            "tmb<10": _rate(rows.Response[tmb < 10]),
            "tmb>=10": _rate(rows.Response[tmb >= 10]),
        },
    }
    if pdl1.notna().sum() >= 20:
        out["by_pdl1_tps"] = {
            "tps<1": _rate(rows.Response[pdl1 < 1]),
            "tps1-49": _rate(rows.Response[(pdl1 >= 1) & (pdl1 < 50)]),
            "tps>=50": _rate(rows.Response[pdl1 >= 50]),
        }
    return out


def _loris_frame(d: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({k: d[v].to_numpy(float) for k, v in LORIS_COLUMNS.items()})


def fit(shared: Path = SHARED) -> dict:
    """Fit every cancer type; returns the JSON document (a dict)."""
    d = pd.read_csv(shared / LORIS)
    s = pd.read_csv(shared / SAMSTEIN, sep="\t")
    pan = _loris_frame(d)
    pan_corr, _ = _correlation(pan)
    transforms = {
        "tmb_mut_per_mb": "log1p",
        "nlr": "log1p",
        "albumin_g_dl": "identity",
        "age_yr": "identity",
        "bmi_kg_m2": "log",
    }
    pan_marg = {
        c: _marginal(
            pan[c].to_numpy(),
            "Chang2024",
            transform=t,
            note="pan-cancer LORIS cohort (all 16 cancer types)",
        )
        for c, t in transforms.items()
    }
    pan_pdl1 = _pdl1_marginal(pan["pdl1_tps_pct"].to_numpy(), "Chang2024")
    cancers: dict[str, dict] = {}
    for name, spec in SPECS.items():
        notes = list(spec["notes"])
        flags: list[str] = []
        rows = d[spec["loris"](d)] if spec["loris"] else d.iloc[:0]
        frame = _loris_frame(rows)
        cols: dict[str, dict] = {}
        for c, t in transforms.items():
            x = frame[c].to_numpy()
            if c == "tmb_mut_per_mb" and spec.get("samstein_msi_mixture"):
                tm = s.loc[spec["samstein"](s), "TMB Score"].to_numpy(float)
                cols[c] = _msi_mixture_marginal(tm, _msi_share(name), "Samstein2019")
                cols[c]["loris_n"] = int(x.size)
                cols[c]["loris_median"] = round(float(np.median(x)), 4) if x.size else None
                flags.append(f"{c}: reweighted to the population MSI-high share")
            elif c == "tmb_mut_per_mb" and spec["samstein"] is not None:
                tm = s.loc[spec["samstein"](s), "TMB Score"].to_numpy(float)
                cols[c] = _marginal(tm, "Samstein2019", transform=t)
                cols[c]["loris_n"] = int(x.size)
                cols[c]["loris_median"] = round(float(np.median(x)), 4) if x.size else None
            elif c == "tmb_mut_per_mb" and "tmb" in spec:
                cols[c] = _assumed_lognormal(spec["tmb"])
            elif c == "age_yr" and "age" in spec:
                cols[c] = _assumed_normal(spec["age"])
            elif c == "bmi_kg_m2" and "bmi" in spec:
                cols[c] = _assumed_lognormal(spec["bmi"], lo=12.0, hi=35.0)
                cols[c]["transform"] = "log"
            elif np.sum(~np.isnan(x)) >= MIN_MARGINAL_N:
                cols[c] = _marginal(x, "Chang2024", transform=t)
            else:
                cols[c] = dict(
                    pan_marg[c],
                    assumption=True,
                    reason=f"only {int(np.sum(~np.isnan(x)))} cancer-specific rows "
                    f"(< {MIN_MARGINAL_N}): pan-cancer LORIS fallback",
                )
                flags.append(f"{c}: pan-cancer fallback")
        p = frame["pdl1_tps_pct"].to_numpy()
        if np.sum(~np.isnan(p)) >= 100:
            cols["pdl1_tps_pct"] = _pdl1_marginal(p, "Chang2024")
        else:
            cols["pdl1_tps_pct"] = None  # literature-based in oncotwin.population.covariates
        corr, counts = _correlation(frame) if len(frame) else (pan_corr, None)
        k = len(COPULA)
        use_pan = counts is None
        for i in range(k):
            for j in range(k):
                if i == j:
                    continue
                n_ij = 0 if counts is None else counts[i, j]
                assumed = {c for c, k in _ASSUMED_KEYS.items() if k in spec}
                fixed_by_assumption = COPULA[i] in assumed or COPULA[j] in assumed
                if COPULA[i] == "pdl1_tps_pct" or COPULA[j] == "pdl1_tps_pct":
                    if cols["pdl1_tps_pct"] is None or n_ij < MIN_CORRELATION_N:
                        corr[i, j] = 0.0
                elif n_ij < MIN_CORRELATION_N or fixed_by_assumption:
                    corr[i, j] = pan_corr[i, j]
                    use_pan = True
        if use_pan:
            flags.append(
                "correlation: pan-cancer LORIS entries where the cancer has fewer than "
                f"{MIN_CORRELATION_N} rows (or the marginal is assumed)"
            )
        if cols["pdl1_tps_pct"] is None:
            notes.append(
                "PD-L1 TPS: no cohort data; literature-based zero-inflated "
                "distribution in oncotwin.population.covariates (uncorrelated with "
                "the copula columns, assumption)"
            )
        corr = _nearest_correlation(corr)
        sex = rows["Sex"].to_numpy(float)
        prior = rows["Systemic_therapy_history"].to_numpy(float)
        msi = rows["MSI"].to_numpy(float)
        entry = {
            "n": len(rows),
            "source_keys": sorted({v["source"] for v in cols.values() if v}),
            "assumption": bool(flags) or spec["loris"] is None,
            "columns": cols,
            "correlation": {
                "columns": list(COPULA),
                "method": "Pearson correlation of van der Waerden normal scores "
                "(pairwise complete), projected to the nearest positive-definite matrix",
                "matrix": [[round(float(v), 4) for v in row] for row in corr],
            },
            "proportions": {
                "male": {"value": spec["p_male"], "source": "assumption"}
                if "p_male" in spec
                else {
                    "value": round(float(sex.mean()), 4),
                    "n": int(sex.size),
                    "source": "Chang2024",
                },
                "prior_systemic_therapy": {
                    "value": round(float(prior.mean()), 4),
                    "n": int(prior.size),
                    "source": "Chang2024",
                }
                if prior.size >= MIN_MARGINAL_N
                else {
                    "value": round(float(d.Systemic_therapy_history.mean()), 4),
                    "source": "Chang2024",
                    "assumption": True,
                    "reason": "pan-cancer LORIS fallback",
                },
                "msi_high": {
                    "value": round(float(msi.mean()), 4),
                    "n": int(msi.size),
                    "source": "Chang2024",
                }
                if msi.size >= MIN_MARGINAL_N
                else None,
            },
            "notes": notes + flags,
        }
        if "response_rows" in spec:
            entry["response"] = _response(d[spec["response_rows"](d)])
        elif len(rows):
            entry["response"] = _response(rows)
        cancers[name] = entry
    pan_entry = {
        "n": len(d),
        "columns": dict(pan_marg, pdl1_tps_pct=pan_pdl1),
        "correlation": {
            "columns": list(COPULA),
            "matrix": [[round(float(v), 4) for v in r] for r in _nearest_correlation(pan_corr)],
        },
        "response": _response(d),
        "source_keys": ["Chang2024"],
    }
    return {
        "schema_version": 1,
        "generated_by": "scripts/fit_covariates.py",
        "description": "Gaussian-copula covariate distributions of ICI-treated patients by "
        "cancer type: marginal quantiles at 'probabilities', normal-scores correlation of the "
        "copula columns. Summary statistics only; no patient rows.",
        "licence_note": "Fitted from GPL-3 (LORIS) and cBioPortal (Samstein 2019) data: only "
        "quantiles, proportions, correlations and group response rates are shipped, which are "
        "facts about the cohorts, not a copy; see 'sources' for attribution.",
        "probabilities": [round(float(p), 6) for p in PROBS],
        "copula_columns": list(COPULA),
        "sources": SOURCES,
        "pan_cancer": pan_entry,
        "cancers": cancers,
    }


def _dump(doc: dict) -> str:
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="fail if --out differs from a refit")
    a = ap.parse_args(argv)
    text = _dump(fit(a.shared))
    if a.check:
        same = a.out.is_file() and a.out.read_text() == text
        print("up to date" if same else f"{a.out} is stale: rerun scripts/fit_covariates.py")
        return 0 if same else 1
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(f"wrote {a.out} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
