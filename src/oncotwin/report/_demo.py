"""Synthetic, contract-shaped trial tables for tests and the report demo.

Every number made here is **synthetic** (random draws with plausible magnitudes, not a model
run and not a published trial): the tables exist so that plots and the report can be built
and tested without running a virtual trial. Research simulation only: not medical advice.

Examples
--------
>>> from oncotwin.report._demo import synthetic_trial_tables
>>> t = synthetic_trial_tables(n_per_arm=50, arms=("A", "B"), seed=1)
>>> sorted(t.outcomes["arm"].unique())
['A', 'B']
>>> len(t.outcomes)
100
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import OncotwinError

__all__ = ["SyntheticTrial", "synthetic_trial_tables"]

#: Scan interval of the synthetic trial [day] (assumption: the common q8w imaging schedule).
SCAN_EVERY_DAYS = 56.0
_RESPONSES = np.array(["CR", "PR", "SD", "PD", "NE"])


@dataclass(frozen=True, eq=False)
class SyntheticTrial:
    """The contract tables of one synthetic trial (see ``docs/trial_tables.md``)."""

    patients: pd.DataFrame
    outcomes: pd.DataFrame
    visits: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict = field(default_factory=dict)


def _classify(pct: np.ndarray) -> np.ndarray:
    """RECIST-like label of a % change of the target sum (CR <= -100, PR <= -30, PD >= +20)."""
    out = np.full(pct.shape, "SD", dtype=object)
    out[pct <= -30] = "PR"
    out[pct <= -99.999] = "CR"
    out[pct >= 20] = "PD"
    out[np.isnan(pct)] = "NE"
    return out


def synthetic_trial_tables(
    n_per_arm: int = 200, arms: Sequence[str] = ("A", "B"), seed: int = 0
) -> SyntheticTrial:
    """Build SYNTHETIC ``patients``/``outcomes``/``visits``/``events``/``summary`` tables.

    Arm ``k`` gets a hazard ratio of ``0.7**k`` against the first arm and a deeper mean tumour
    shrinkage; every magnitude (median PFS ~6 months in the first arm, q8w scans, ~15% grade>=3
    immune-related AEs, rare CRS/ICANS) is an assumption chosen to look plausible, not data.

    Parameters
    ----------
    n_per_arm
        Patients per arm (>= 5).
    arms
        Arm names; the first is the reference arm of the hazard ratios.
    seed
        Seed of the random draws (same seed -> identical tables).
    """
    if int(n_per_arm) < 5:
        raise OncotwinError(f"n_per_arm={n_per_arm!r}; give at least 5 patients per arm")
    arms = [str(a) for a in arms]
    if not arms or len(set(arms)) != len(arms):
        raise OncotwinError(f"arms={arms!r}; give one or more distinct arm names")
    rng = np.random.default_rng(seed)
    n_arm = len(arms)
    n = int(n_per_arm) * n_arm
    pid = np.arange(n)
    k = np.repeat(np.arange(n_arm), int(n_per_arm))
    arm = np.asarray(arms, dtype=object)[k]
    # the draws happen in this order: covariates, survival, response, toxicity, visits
    patients, groups = _patients(rng, pid, arm)
    inflamed = groups["immune_phenotype"] == "inflamed"
    high_tmb = patients["tmb_mut_per_mb"].to_numpy() >= 10
    survival = _survival(rng, k, inflamed, high_tmb)
    response = _response(rng, k, inflamed, survival)
    toxicity, tox_day = _toxicity(rng, survival)
    outcomes = pd.DataFrame(
        {"patient_id": pid, "arm": arm, **response, **survival, **toxicity, **groups}
    )
    visits = _visits(
        rng,
        pid,
        arm,
        response["best_pct_change"],
        survival["pfs_days"],
        survival["pfs_event"],
        survival["os_days"],
    )
    events = _events(outcomes, tox_day)
    summary = _summary(outcomes, arms)
    manifest = {
        "synthetic": True,
        "note": "SYNTHETIC tables from oncotwin.report._demo: random draws, not a trial",
        "seed": seed,
        "n_per_arm": int(n_per_arm),
        "arms": list(arms),
        "reference_arm": arms[0],
        "citations": [],
    }
    return SyntheticTrial(patients, outcomes, visits, events, summary, manifest)


def _patients(
    rng: np.random.Generator, pid: np.ndarray, arm: np.ndarray
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The ``patients`` table (covariates) and the subgroup columns of ``outcomes``."""
    n = pid.size
    pdl1 = np.clip(rng.gamma(0.6, 40.0, n), 0, 100)
    pdl1[rng.random(n) < 0.3] = 0.0
    tmb = rng.lognormal(np.log(6.0), 0.9, n)
    phenotype = rng.choice(["inflamed", "excluded", "desert"], n, p=[0.4, 0.35, 0.25])
    pdl1_group = np.where(pdl1 >= 50, ">=50%", np.where(pdl1 >= 1, "1-49%", "<1%"))
    tmb_group = np.where(tmb >= 10, "TMB>=10", "TMB<10")
    patients = pd.DataFrame(
        {
            "patient_id": pid,
            "arm": arm,
            "tmb_mut_per_mb": tmb,
            "pdl1_tps_pct": pdl1,
            "nlr": rng.lognormal(np.log(3.5), 0.5, n),
            "albumin_g_dl": rng.normal(3.9, 0.4, n),
            "age_yr": np.clip(rng.normal(63, 10, n), 18, 90),
            "immune_phenotype": phenotype,
        }
    )
    groups = {"pdl1_group": pdl1_group, "tmb_group": tmb_group, "immune_phenotype": phenotype}
    return patients, groups


def _survival(
    rng: np.random.Generator, k: np.ndarray, inflamed: np.ndarray, high_tmb: np.ndarray
) -> dict[str, np.ndarray]:
    """PFS and OS: exponential times, hazard lowered by the arm and a favourable biology."""
    n = k.size
    frail = np.exp(-0.35 * inflamed - 0.25 * high_tmb)
    hazard = frail * 0.7**k
    pfs_true = rng.exponential(182.0 / np.log(2), n) * 1 / hazard
    os_true = pfs_true + rng.exponential(300.0 / np.log(2), n) * 1 / hazard
    censor = rng.uniform(365.0, 1100.0, n)
    os_days = np.minimum(os_true, censor)
    os_event = os_true <= censor
    pfs_days = np.minimum(pfs_true, os_days)
    pfs_event = pfs_true <= censor
    return {"pfs_days": pfs_days, "pfs_event": pfs_event, "os_days": os_days, "os_event": os_event}


def _response(
    rng: np.random.Generator, k: np.ndarray, inflamed: np.ndarray, survival: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Tumour response: nadir % change, NE when no scan was done before death/censoring."""
    n = k.size
    pfs_days, os_days = survival["pfs_days"], survival["os_days"]
    best = rng.normal(-8.0 - 12.0 * k - 15.0 * inflamed, 32.0, n)
    best = np.clip(best, -100.0, 150.0)
    best[best < -80] = -100.0
    no_scan = os_days < SCAN_EVERY_DAYS
    best[no_scan] = np.nan
    resp = _classify(best)
    resp[(resp == "SD") & (pfs_days < SCAN_EVERY_DAYS)] = "PD"
    confirmed = np.isin(resp, ["CR", "PR"]) & (pfs_days > 2 * SCAN_EVERY_DAYS)
    resp[np.isin(resp, ["CR", "PR"]) & ~confirmed] = "SD"
    response_day = np.where(confirmed, SCAN_EVERY_DAYS * rng.integers(1, 3, n), np.nan)
    response_day = np.minimum(response_day, pfs_days)
    return {
        "best_response": resp.astype(str),
        "confirmed": confirmed,
        "best_pct_change": best,
        "response_day": response_day,
        "dor_days": pfs_days - response_day,
        "dor_event": confirmed & survival["pfs_event"],
    }


def _toxicity(
    rng: np.random.Generator, survival: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Toxicity columns (grades 0-5; CTCAE for irAE, ASTCT for CRS/ICANS) and their day."""
    pfs_days, os_days = survival["pfs_days"], survival["os_days"]
    n = pfs_days.size
    irae = rng.choice(6, n, p=[0.55, 0.17, 0.13, 0.11, 0.035, 0.005])
    crs = rng.choice(5, n, p=[0.93, 0.04, 0.015, 0.01, 0.005])
    icans = rng.choice(5, n, p=[0.95, 0.03, 0.01, 0.007, 0.003])
    g3 = (irae >= 3) | (crs >= 3) | (icans >= 3)
    tox_day = rng.uniform(7.0, 180.0, n)
    tox_stop = (irae >= 3) & (tox_day < pfs_days)
    treat_end = np.minimum(np.minimum(pfs_days, 730.0), np.where(tox_stop, tox_day, np.inf))
    discontinued = np.select(
        [
            tox_stop,
            survival["os_event"] & (os_days <= treat_end),
            survival["pfs_event"] & (pfs_days <= treat_end),
        ],
        ["toxicity", "death", "progression"],
        default=np.where(treat_end >= 730.0, "completed", ""),
    )
    columns = {
        "max_irae_grade": irae,
        "max_crs_grade": crs,
        "max_icans_grade": icans,
        "g3plus_ae": g3,
        "treatment_end_day": treat_end,
        "discontinued": discontinued.astype(str),
    }
    return columns, tox_day


def _visits(
    rng: np.random.Generator,
    pid: np.ndarray,
    arm: np.ndarray,
    best: np.ndarray,
    pfs_days: np.ndarray,
    pfs_event: np.ndarray,
    os_days: np.ndarray,
) -> pd.DataFrame:
    """Scans every 8 weeks until the first scan at/after progression (or death/censoring)."""
    n = pid.size
    n_vis = int(np.ceil(np.nanmax(os_days) / SCAN_EVERY_DAYS)) + 1
    day = np.arange(n_vis) * SCAN_EVERY_DAYS  # [n_vis]
    last = np.where(pfs_event, pfs_days, os_days)
    done = day[None, :] <= np.minimum(
        np.ceil(last / SCAN_EVERY_DAYS)[:, None] * SCAN_EVERY_DAYS, os_days[:, None]
    )
    b = np.nan_to_num(best, nan=0.0)[:, None]
    t_nadir = np.maximum(0.6 * pfs_days, SCAN_EVERY_DAYS)[:, None]
    frac = np.minimum(day[None, :] / t_nadir, 1.0)
    regrow = np.where(day[None, :] >= pfs_days[:, None], 25.0 + 0.1 * np.abs(b), 0.0)
    regrow = np.where(pfs_event[:, None], regrow, 0.0)
    pct = b * frac + regrow + rng.normal(0.0, 2.0, (n, n_vis)) * (day > 0)
    pct[:, 0] = 0.0
    pct = np.maximum(pct, -100.0)
    pct[np.isnan(best)] = 0.0
    base = rng.uniform(30.0, 160.0, n)[:, None]
    sums = base * (1 + pct / 100.0)
    nadir = np.minimum.accumulate(sums, axis=1)
    prev_nadir = np.concatenate([sums[:, :1], nadir[:, :-1]], axis=1)
    pct_nadir = 100.0 * (sums - prev_nadir) / np.maximum(prev_nadir, 1e-9)
    new_lesion = (
        (day[None, :] >= pfs_days[:, None]) & pfs_event[:, None] & (rng.random(n) < 0.3)[:, None]
    )
    response = _classify(pct)
    response[(pct_nadir >= 20) | new_lesion] = "PD"
    response[:, 0] = "NE"
    ii, jj = np.nonzero(done)
    return pd.DataFrame(
        {
            "patient_id": pid[ii],
            "arm": arm[ii],
            "visit": jj,
            "day": day[jj],
            "sum_diameters_mm": sums[ii, jj],
            "pct_change_baseline": pct[ii, jj],
            "pct_change_nadir": pct_nadir[ii, jj],
            "new_lesion": new_lesion[ii, jj],
            "response": response[ii, jj].astype(str),
        }
    )


def _events(outcomes: pd.DataFrame, tox_day: np.ndarray) -> pd.DataFrame:
    """The events table: response, progression, death, grade>=3 toxicity, discontinuation."""
    o = outcomes
    parts = []
    for kind, mask, day, grade, detail in (
        ("response", o["confirmed"].to_numpy(), o["response_day"], 0, o["best_response"]),
        ("progression", o["pfs_event"] & (o["pfs_days"] < o["os_days"]), o["pfs_days"], 0, ""),
        ("death", o["os_event"], o["os_days"], 0, ""),
        ("toxicity", o["max_irae_grade"] >= 3, tox_day, o["max_irae_grade"], "colitis"),
        ("toxicity", o["max_crs_grade"] >= 3, tox_day, o["max_crs_grade"], "CRS"),
        ("toxicity", o["max_icans_grade"] >= 3, tox_day + 2, o["max_icans_grade"], "ICANS"),
        (
            "discontinuation",
            o["discontinued"].isin(["toxicity", "progression"]),
            o["treatment_end_day"],
            0,
            o["discontinued"],
        ),
    ):
        frame = pd.DataFrame(
            {
                "patient_id": o["patient_id"],
                "arm": o["arm"],
                "day": np.asarray(day, dtype=float),
                "kind": kind,
                "grade": np.broadcast_to(np.asarray(grade), len(o)).astype(int),
                "detail": np.broadcast_to(np.asarray(detail, dtype=object), len(o)).astype(str),
            }
        )
        parts.append(frame[np.asarray(mask, dtype=bool)])
    ev = pd.concat(parts, ignore_index=True)
    return ev.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)


def _clopper_pearson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import beta

    k = np.asarray(k, float)
    n = np.asarray(n, float)
    lo = np.where(k > 0, beta.ppf(0.025, k, n - k + 1), 0.0)
    hi = np.where(k < n, beta.ppf(0.975, k + 1, n - k), 1.0)
    return lo, hi


def _summary(outcomes: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """Contract ``summary`` rows per arm (ORR/CR/DCR/AE rates, medians, landmarks, HR)."""
    rows = [*_rate_rows(outcomes, arms), *_km_rows(outcomes, arms), *_hr_rows(outcomes, arms)]
    out = pd.DataFrame(rows)
    out["published"] = np.nan
    out["source"] = ""
    cols = ["arm", "endpoint", "value", "ci_low", "ci_high", "n", "unit", "published", "source"]
    return out[[*cols, "p_value"]] if "p_value" in out else out[cols]


def _rate_rows(outcomes: pd.DataFrame, arms: list[str]) -> list[dict]:
    """ORR, CR, DCR and grade >= 3 AE/CRS/ICANS rates [%] per arm with exact 95% CIs."""
    rows: list[dict] = []
    g = outcomes.groupby("arm", sort=False)
    n = g.size().reindex(arms).to_numpy()
    counts = {
        "ORR": g["best_response"].apply(lambda s: s.isin(["CR", "PR"]).sum()),
        "CR": g["best_response"].apply(lambda s: (s == "CR").sum()),
        "DCR": g["best_response"].apply(lambda s: s.isin(["CR", "PR", "SD"]).sum()),
        "g3plus_AE": g["g3plus_ae"].sum(),
        "g3plus_CRS": g["max_crs_grade"].apply(lambda s: (s >= 3).sum()),
        "g3plus_ICANS": g["max_icans_grade"].apply(lambda s: (s >= 3).sum()),
    }
    for endpoint, k in counts.items():
        k = k.reindex(arms).to_numpy()
        lo, hi = _clopper_pearson(k, n)
        for a, kk, nn, lo_, hi_ in zip(arms, k, n, lo, hi, strict=True):
            rows.append(
                dict(
                    arm=a,
                    endpoint=endpoint,
                    value=100 * kk / nn,
                    ci_low=100 * lo_,
                    ci_high=100 * hi_,
                    n=int(nn),
                    unit="%",
                )
            )
    return rows


def _km_rows(outcomes: pd.DataFrame, arms: list[str]) -> list[dict]:
    """Kaplan-Meier median PFS/OS [months] and the 12-month PFS / 24-month OS rates [%]."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    rows: list[dict] = []
    for a in arms:
        sub = outcomes[outcomes["arm"] == a]
        for ep, landmark in (("PFS", 12), ("OS", 24)):
            t = sub[f"{ep.lower()}_days"].to_numpy() / DAYS_PER_MONTH
            e = sub[f"{ep.lower()}_event"].to_numpy()
            kmf = KaplanMeierFitter().fit(t, e)
            med = median_survival_times(kmf.confidence_interval_)
            rows.append(
                dict(
                    arm=a,
                    endpoint=f"median_{ep}_mo",
                    value=kmf.median_survival_time_,
                    ci_low=float(med.iloc[0, 0]),
                    ci_high=float(med.iloc[0, 1]),
                    n=len(sub),
                    unit="months",
                )
            )
            ci = kmf.confidence_interval_survival_function_
            i = max(int(np.searchsorted(ci.index.to_numpy(), landmark, side="right")) - 1, 0)
            rows.append(
                dict(
                    arm=a,
                    endpoint=f"{ep}_{landmark}mo",
                    value=100 * float(kmf.survival_function_at_times(landmark).iloc[0]),
                    ci_low=100 * float(ci.iloc[i, 0]),
                    ci_high=100 * float(ci.iloc[i, 1]),
                    n=len(sub),
                    unit="%",
                )
            )
    return rows


def _hr_rows(outcomes: pd.DataFrame, arms: list[str]) -> list[dict]:
    """Cox hazard ratios of PFS and OS of every arm against the first, with CI and p."""
    from lifelines import CoxPHFitter

    rows: list[dict] = []
    ref = outcomes[outcomes["arm"] == arms[0]]
    for a in arms[1:]:
        sub = outcomes[outcomes["arm"] == a]
        for ep in ("PFS", "OS"):
            col = ep.lower()
            df = pd.DataFrame(
                {
                    "t": np.r_[ref[f"{col}_days"], sub[f"{col}_days"]],
                    "e": np.r_[ref[f"{col}_event"], sub[f"{col}_event"]],
                    "x": np.r_[np.zeros(len(ref)), np.ones(len(sub))],
                }
            )
            cph = CoxPHFitter().fit(df, "t", "e")
            s = cph.summary.loc["x"]
            rows.append(
                dict(
                    arm=a,
                    endpoint=f"HR_{ep}",
                    value=float(s["exp(coef)"]),
                    ci_low=float(s["exp(coef) lower 95%"]),
                    ci_high=float(s["exp(coef) upper 95%"]),
                    n=len(sub) + len(ref),
                    unit="ratio",
                    p_value=float(s["p"]),
                )
            )
    return rows
