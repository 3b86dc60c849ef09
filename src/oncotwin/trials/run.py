"""Run a virtual trial end to end: spec -> patients -> solves -> assessment -> store -> report.

Patients are simulated in chunks (all arms mixed; patient ``i``'s covariates, arm and every
random number derive from the run seed and ``i`` alone), each chunk committed to the DuckDB
store in one transaction, so an interrupted run resumes with ``resume=True`` and ends with
exactly the result of an uninterrupted one. Chunks run in-process or on a dask.distributed
cluster (``scheduler="tcp://HOST:PORT"``).

Per arm of a chunk: the covariates map to ``metastatic_io`` parameters; a first solve with
the arm's regimen gives toxicity and scan-read progression; dosing then stops at a
grade >= 3 irAE (with a steroid course), at progression (if the spec says so) and after the
maximal treatment duration, and a second solve gives the trajectories that are assessed
(RECIST 1.1 / iRECIST, Lugano, IMWG or marrow response by cancer type), with death from
tumour burden or background mortality.

Research simulations only: not medical advice.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH, DISCLAIMER
from oncotwin._version import __version__
from oncotwin.errors import OncotwinError

__all__ = [
    "DEFAULT_CHUNK",
    "DESCRIPTIVE_CRITERIA",
    "TrialRun",
    "compare_published",
    "eligibility_from_spec",
    "published_table",
    "run_trial",
    "simulate_chunk",
    "write_trial_report",
]

#: Patients per chunk (memory per chunk ~ patients x output times x 74 states x 8 bytes).
DEFAULT_CHUNK = 500

#: Spec eligibility keys that oncotwin records but cannot apply (no covariate models them):
#: listed in the manifest and the report so that a reader sees what was not simulated.
DESCRIPTIVE_CRITERIA: frozenset[str] = frozenset(
    {
        "histology",
        "egfr_alk_wildtype",
        "prior_platinum_doublet",
        "imdc_risk",
        "chemorefractory",
        "transplant_ineligible_or_failed",
        "castration_resistant",
        "visceral_mets",
        "injectable_lesions",
        "prior_chemotherapy_metastatic",
        "marrow_blasts_min_pct",
        "cd20_positive",
    }
)

#: Spec spellings -> population eligibility fields.
_ELIGIBILITY_ALIASES = {
    "no_active_brain_mets": "no_brain_mets",
    "age_min_yr": "age_min",
    "age_max_yr": "age_max",
    "her2_overexpression": "her2_positive",
}

#: Summary endpoint -> field of :class:`oncotwin.trials.targets.PublishedArm`.
_PUBLISHED_FIELDS = {
    "ORR": "orr_pct",
    "CR": "cr_pct",
    "median_PFS_mo": "median_pfs_mo",
    "median_OS_mo": "median_os_mo",
    "g3plus_AE": "g3plus_ae_pct",
    "g3plus_CRS": "g3plus_crs_pct",
    "g3plus_ICANS": "g3plus_neuro_pct",
}

#: Parameters copied into the ``patients`` table.
_PATIENT_PARAMETERS = (
    "growth_rate",
    "immunogenicity",
    "infiltration",
    "pdl1_baseline",
    "mdsc_suppression",
    "antibody_cl_factor",
    "emt",
)


def eligibility_from_spec(spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the spec's eligibility into applied criteria and recorded-only ones."""
    from oncotwin.population.covariates import ELIGIBILITY_KEYS

    applied: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    for key, value in dict(spec.population.eligibility).items():
        k = _ELIGIBILITY_ALIASES.get(key, key)
        if k in ELIGIBILITY_KEYS:
            applied[k] = value
        elif key == "prior_systemic_therapy":
            recorded[key] = value  # the cohorts' first-line flag; recorded, not applied
        else:
            recorded[key] = value
    return applied, recorded


def _regimen_text(arm: Any) -> str | None:
    parts = [r for r in arm.regimen if r.strip().lower() != "placebo"]
    return " with ".join(parts) if parts else None


def _groups(cov: pd.DataFrame) -> dict[str, np.ndarray]:
    tps = cov["pdl1_tps_pct"].to_numpy(dtype=float)
    pdl1 = np.where(
        np.isnan(tps), "unknown", np.where(tps >= 50, ">=50%", np.where(tps >= 1, "1-49%", "<1%"))
    )
    tmb = cov["tmb_mut_per_mb"].to_numpy(dtype=float)
    tmbg = np.where(np.isnan(tmb), "unknown", np.where(tmb >= 10, ">=10", "<10"))
    phen = cov["immune_phenotype"].astype(object).fillna("n/a").to_numpy(dtype=str)
    return {"pdl1_group": pdl1, "tmb_group": tmbg, "immune_phenotype": phen}


def _assess(cs: Any, scans: np.ndarray, sol: Any, d0: np.ndarray, nl, death, end, *, seed, ids):
    """Response assessment by the cancer's criteria at the scan days."""
    from oncotwin.models.metastatic_io import SITES
    from oncotwin.models.metastatic_io_cancers import MARROW_CELLS
    from oncotwin.models.metastatic_io_readouts import lesion_diameters
    from oncotwin.trials import recist

    idx = np.searchsorted(sol.t, scans)
    organ = np.tile(np.arange(len(SITES)), (len(ids), 1))
    if cs.assessment in ("recist", "lugano"):
        diam = lesion_diameters(sol, d0)[:, idx, :]
        fn = recist.assess_recist if cs.assessment == "recist" else recist.assess_lugano
        return fn(scans, diam, organ, nl, death, end, seed=seed, patient_ids=ids)
    names = list(sol.names)
    if cs.assessment == "marrow":
        k = [names.index("T_bone"), names.index("U_bone")]
        blasts = sol.y[:, idx][:, :, k].sum(axis=2) / MARROW_CELLS
        return recist.assess_marrow(
            scans, np.clip(blasts, 0, 1), death, end, seed=seed, patient_ids=ids
        )
    k = [names.index(f"{p}_{s}") for s in SITES for p in ("T", "U")]
    burden = sol.y[:, idx][:, :, k].sum(axis=2)
    return recist.assess_imwg(
        scans, burden, death, end, seed=seed, patient_ids=ids, new_lesion_day=nl
    )


def simulate_chunk(
    spec_text: str, chunk_id: int, *, n_total: int, chunk_size: int, seed: int, source: str = ""
) -> dict[str, pd.DataFrame]:
    """Simulate trial patients ``chunk_id*chunk_size ..`` (all arms) -> contract tables.

    A pure function of its arguments (safe to run on any worker).
    """
    from oncotwin.models.metastatic_io_cancers import cancer_set, io_population, lesion_table
    from oncotwin.models.metastatic_io_readouts import death_days, new_lesion_days, simulate_io
    from oncotwin.population.covariates import resolve_cancer
    from oncotwin.regimens import parse_regimen
    from oncotwin.solvers import SolverOptions
    from oncotwin.trials.spec import parse_spec

    spec = parse_spec(spec_text, source=source or "<spec>")
    lo, hi = chunk_id * chunk_size, min(n_total, (chunk_id + 1) * chunk_size)
    ids = np.arange(lo, hi, dtype=np.int64)
    cancer = resolve_cancer(spec.trial.cancer)
    cs = cancer_set(cancer)
    applied, _ = eligibility_from_spec(spec)
    cov = _matched_patients(spec, cancer, applied, seed, hi).iloc[lo:hi].reset_index(drop=True)
    cov.insert(1, "screen_id", cov["patient_id"].to_numpy())
    cov["patient_id"] = ids
    arm_idx = np.asarray(spec.arm_of(ids))
    horizon = float(spec.horizon_days)
    scans = np.asarray(spec.scan_days(horizon), dtype=float)
    scans = scans[scans <= horizon]
    t_out = np.union1d(np.append(np.arange(0.0, horizon, 7.0), horizon), scans)
    opts = SolverOptions(rtol=1e-5, atol=1e-9)
    max_months = spec.treatment.max_duration_months
    stop_on = set(spec.treatment.discontinue_on)
    out: dict[str, list[pd.DataFrame]] = {"patients": [], "outcomes": [], "visits": []}
    out["events"] = []
    for a, arm in enumerate(spec.arms):
        rows = np.nonzero(arm_idx == a)[0]
        if rows.size == 0:
            continue
        sub = cov.iloc[rows].reset_index(drop=True)
        pid = ids[rows]
        pop, _ = io_population(cancer, len(sub), seed=seed, covariates=sub)
        crossing, cross_reg = _crossover(spec, arm, pid, seed)
        if cross_reg is not None:
            from oncotwin.simulation import prepare_regimen

            pop, _ = prepare_regimen(pop.model, cross_reg, pop, horizon)
        d0, _ = lesion_table(sub, cancer)
        age = sub["age_yr"].to_numpy(dtype=float)
        end = np.full(len(sub), horizon)
        text = _regimen_text(arm)
        regimen = parse_regimen(text) if text else None
        given = np.full(len(sub), np.inf)
        if max_months:
            given[:] = float(max_months) * DAYS_PER_MONTH

        def progression(sol, _sub=sub, _pid=pid, _d0=d0, _age=age, _end=end):
            if "progression" not in stop_on:
                return np.full(len(_pid), np.inf)
            death = death_days(sol, seed, _pid, _age)
            res = _assess(
                cs, scans, sol, _d0, new_lesion_days(sol), death, _end, seed=seed, ids=_pid
            )
            return np.asarray(res.progression_day, dtype=float)

        res_io = simulate_io(
            regimen,
            pop,
            days=horizon,
            seed=seed,
            patient_ids=pid,
            stop_on_toxicity="toxicity" in stop_on,
            stop_day=given,
            stop_rule=progression,
            t_out=t_out,
            options=opts,
            after_stop=(
                functools.partial(_crossover_events, cross_reg, pop, crossing, horizon)
                if cross_reg is not None
                else None
            ),
        )
        sol = res_io.solution
        death = death_days(sol, seed, pid, age)
        nl = new_lesion_days(sol)
        assessed = _assess(cs, scans, sol, d0, nl, death, end, seed=seed, ids=pid)
        outcomes, visits = assessed.to_frames(arm.name, pid)
        tox = res_io.toxicity
        stop = res_io.stop_day
        last_dose = _last_dose_day(regimen, horizon) if regimen is not None else 0.0
        tend = np.minimum(np.minimum(stop, death), last_dose)
        prog_day = np.asarray(assessed.progression_day, dtype=float)
        reason = np.where(
            res_io.stop_reason == "toxicity",
            "toxicity",
            np.where(
                np.isfinite(stop) & (prog_day <= stop + 1e-9),
                "progression",
                np.where(death <= tend, "death", "completed"),
            ),
        )
        outcomes["max_irae_grade"] = tox.irae_grade
        outcomes["max_crs_grade"] = tox.crs_grade
        outcomes["max_icans_grade"] = tox.icans_grade
        outcomes["g3plus_ae"] = tox.g3plus
        outcomes["treatment_end_day"] = tend if text else 0.0
        outcomes["discontinued"] = reason if text else "completed"
        for k, v in _groups(sub).items():
            outcomes[k] = v
        patients = sub.copy()
        patients.insert(1, "arm", arm.name)
        for name in _PATIENT_PARAMETERS:
            patients[name] = pop.parameter(name)
        out["patients"].append(patients)
        out["outcomes"].append(outcomes)
        out["visits"].append(visits)
        out["events"].append(_events(arm.name, pid, assessed, death, tox, stop, reason, text))
    tables = {k: pd.concat(v, ignore_index=True) for k, v in out.items() if v}
    for k in tables:
        tables[k] = tables[k].sort_values("patient_id", kind="stable").reset_index(drop=True)
    return tables


def _crossover(spec: Any, arm: Any, pid: np.ndarray, seed: int) -> tuple[np.ndarray, Any]:
    """Which patients of ``arm`` cross over at progression, and to which regimen."""
    from oncotwin._random import Stream, patient_uniforms
    from oncotwin.regimens import parse_regimen

    x = getattr(arm, "crossover", None)
    if x is None:
        return np.zeros(len(pid), dtype=bool), None
    text = None
    if getattr(x, "regimen", None):
        text = str(x.regimen)
    elif getattr(x, "to_arm", None):
        target = next(a for a in spec.arms if a.name == x.to_arm)
        text = _regimen_text(target)
    if not text:
        return np.zeros(len(pid), dtype=bool), None
    fraction = float(getattr(x, "fraction", 1.0) or 1.0)
    return patient_uniforms(seed, pid, stream=Stream.CROSSOVER) < fraction, parse_regimen(text)


def _crossover_events(regimen, pop, crossing, horizon, stop, reason):
    """The crossover regimen started on each crossing patient's progression day."""
    from oncotwin.simulation import regimen_events
    from oncotwin.solvers import EventTable

    go = crossing & (reason == "given") & np.isfinite(stop) & (stop < horizon)
    if not go.any():
        return None
    base = regimen_events(pop.model, regimen, pop, horizon)
    parts = []
    for d in np.unique(stop[go]):
        who = go & (stop == d)
        keep = base.time + d <= horizon
        if not keep.any():
            continue
        vals = np.where(who[:, None], base.value[:, keep], 0.0)
        parts.append(EventTable.build(base.time[keep] + d, base.state[keep], base.kind[keep], vals))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)
    return out


#: Eligible patients drawn to fit the baseline-matching tilt (deterministic pilot sample).
PILOT = 4096


def _tilt(spec: Any, cancer: str, applied: Mapping[str, Any], seed: int):
    """Exponential tilting fitted on a pilot sample so that the weighted baseline matches the
    spec's published baseline table; returns (targets, theta, log-weight cap) or None."""
    from oncotwin.population.covariates import BaselineTarget, match_baseline, sample_eligible

    baseline = dict(getattr(spec.population, "baseline", {}) or {})
    if not baseline:
        return None
    targets = [BaselineTarget.parse(k, v) for k, v in baseline.items()]
    pilot = sample_eligible(cancer, PILOT, applied or None, seed=seed)
    w = np.asarray(match_baseline(pilot, targets, method="weights").weights, dtype=float)
    X = np.column_stack([np.asarray(t.values(pilot), dtype=float) for t in targets])
    A = np.column_stack([np.ones(len(pilot)), X])
    coef, *_ = np.linalg.lstsq(A, np.log(np.maximum(w, 1e-300)), rcond=None)
    logw = A @ coef
    return targets, coef, float(np.max(logw))


def _matched_patients(spec: Any, cancer: str, applied: Mapping[str, Any], seed: int, n: int):
    """The first ``n`` patients of the run's eligible (and, with a published baseline table,
    baseline-matched) stream.

    Matching is rejection sampling with the pilot-fitted tilt: patient ``i`` is kept when its
    own uniform number is below ``w(x_i)/max w``, so whether a patient is in the population
    depends on (seed, i) alone, whatever the chunk.
    """
    from oncotwin._random import Stream, patient_uniforms
    from oncotwin.population.covariates import sample_eligible

    tilt = _tilt(spec, cancer, applied, seed)
    if tilt is None:
        return sample_eligible(cancer, n, applied or None, seed=seed)
    targets, coef, cap = tilt
    want = max(2 * n, 64)
    while True:
        pool = sample_eligible(cancer, want, applied or None, seed=seed)
        X = np.column_stack([np.asarray(t.values(pool), dtype=float) for t in targets])
        logw = coef[0] + X @ coef[1:]
        u = patient_uniforms(seed, pool["patient_id"].to_numpy(), stream=Stream.BASELINE_MATCH)
        keep = np.log(u) < np.minimum(logw - cap, 0.0)
        if keep.sum() >= n:
            return pool[keep].iloc[:n].reset_index(drop=True)
        want *= 2


def _last_dose_day(regimen: Any, horizon: float) -> float:
    sched = regimen.schedule(horizon)
    return float(np.max(sched.time)) if len(sched) else 0.0


def _events(arm, pid, assessed, death, tox, stop, reason, text) -> pd.DataFrame:
    rows: list[pd.DataFrame] = []

    def add(mask, day, kind, grade, detail):
        m = np.asarray(mask, dtype=bool)
        if m.any():
            rows.append(
                pd.DataFrame(
                    {
                        "patient_id": pid[m],
                        "arm": arm,
                        "day": np.broadcast_to(np.asarray(day, dtype=float), m.shape)[m],
                        "kind": kind,
                        "grade": np.broadcast_to(np.asarray(grade), m.shape)[m].astype(np.int64),
                        "detail": np.broadcast_to(np.asarray(detail, dtype=object), m.shape)[m],
                    }
                )
            )

    prog = np.asarray(assessed.progression_day, dtype=float)
    resp = np.asarray(assessed.response_day, dtype=float)
    add(np.isfinite(prog), prog, "progression", 0, "")
    add(np.isfinite(resp), resp, "response", 0, np.asarray(assessed.best_response).astype(str))
    add(np.isfinite(death), death, "death", 5, "")
    add(np.isfinite(tox.irae_day), tox.irae_day, "toxicity", tox.irae_grade, tox.irae_organ)
    add(tox.crs_grade > 0, 7.0, "toxicity", tox.crs_grade, "CRS")
    add(tox.icans_grade > 0, 7.0, "toxicity", tox.icans_grade, "ICANS")
    add(tox.capillary_leak_grade > 0, 1.0, "toxicity", tox.capillary_leak_grade, "capillary leak")
    add(tox.neutropenia_grade > 0, 10.0, "toxicity", tox.neutropenia_grade, "neutropenia")
    if text:
        add(np.isfinite(stop), stop, "discontinuation", 0, reason)
    if not rows:
        return pd.DataFrame(
            {
                "patient_id": pd.Series(dtype=np.int64),
                "arm": pd.Series(dtype=str),
                "day": pd.Series(dtype=float),
                "kind": pd.Series(dtype=str),
                "grade": pd.Series(dtype=np.int64),
                "detail": pd.Series(dtype=str),
            }
        )
    ev = pd.concat(rows, ignore_index=True)
    ev["detail"] = ev["detail"].astype(str)
    return ev.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)


def published_table(spec: Any) -> pd.DataFrame:
    """Published targets of the spec's arms: arm, endpoint, published, source."""
    from oncotwin.trials.targets import published

    rows = []
    for arm in spec.arms:
        link = getattr(arm, "published", None)
        if link is None or not getattr(link, "arm_id", None):
            continue
        p = published(link.arm_id)
        for endpoint, fieldname in _PUBLISHED_FIELDS.items():
            value = getattr(p, fieldname, None)
            if value is not None and np.isfinite(value):
                rows.append(
                    {
                        "arm": arm.name,
                        "endpoint": endpoint,
                        "published": float(value),
                        "source": f"{p.arm_id}: {p.source}",
                    }
                )
    return pd.DataFrame(rows, columns=["arm", "endpoint", "published", "source"])


def compare_published(summary: pd.DataFrame, spec: Any) -> pd.DataFrame:
    """The summary with the published values and sources filled in, and the gap."""
    pub = published_table(spec)
    s = summary.drop(columns=[c for c in ("published", "source") if c in summary])
    s = s.merge(pub, on=["arm", "endpoint"], how="left")
    s["source"] = s["source"].fillna("")
    s["difference"] = s["value"] - s["published"]
    s["published_in_ci"] = (s["published"] >= s["ci_low"]) & (s["published"] <= s["ci_high"])
    return s


@dataclass(frozen=True)
class TrialRun:
    """A finished run: where it is and what it found."""

    out: Path
    summary: pd.DataFrame
    report: Path | None
    chunks_run: tuple[int, ...]


def _manifest(spec: Any, n: int, seed: int, chunk: int, recorded: Mapping[str, Any]) -> dict:
    from oncotwin.citations import used_citations
    from oncotwin.models.registry import get_model

    model = get_model("metastatic_io")
    return {
        "oncotwin_version": __version__,
        "trial": spec.trial.name,
        "spec_hash": spec.hash(),
        "seed": int(seed),
        "patients": int(n),
        "chunk_size": int(chunk),
        "model": model.name,
        "model_fingerprint": model.fingerprint,
        "solver": "dopri5/rodas4 auto, rtol 1e-5, atol 1e-9",
        "parameter_sets": f"metastatic_io defaults + cancer set {spec.trial.cancer!r}",
        "criteria_not_modelled": dict(recorded),
        "citations": sorted(set(model.citations) | set(used_citations())),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "disclaimer": DISCLAIMER,
    }


def run_trial(
    spec: Any,
    *,
    out: str | Path,
    patients: int | None = None,
    seed: int | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    report: bool = True,
) -> TrialRun:
    """Run the trial ``spec`` (a TrialSpec or a path to a TOML spec) into ``out``.

    Examples
    --------
    >>> from oncotwin.trials.spec import example_path
    >>> import tempfile
    >>> run = run_trial(example_path("keynote024"), out=tempfile.mkdtemp(), patients=8,
    ...                 report=False)  # doctest: +SKIP
    """
    from oncotwin.trials.executor import run_to_store
    from oncotwin.trials.spec import TrialSpec, load_spec
    from oncotwin.trials.store import TrialStore

    if not isinstance(spec, TrialSpec):
        spec = load_spec(spec)
    n = int(patients if patients is not None else spec.trial.patients)
    if n < 1:
        raise OncotwinError(f"patients={n}; give a whole number of patients >= 1")
    if chunk_size < 1:
        raise OncotwinError(f"chunk_size={chunk_size}; give a number of patients >= 1")
    from oncotwin.population.covariates import resolve_cancer

    resolve_cancer(spec.trial.cancer)  # an unknown cancer fails before anything is written
    run_seed = int(spec.trial.seed if seed is None else seed)
    _, recorded = eligibility_from_spec(spec)
    out = Path(out)
    store = TrialStore(out)
    manifest = _manifest(spec, n, run_seed, chunk_size, recorded)
    if resume and store.manifest_path.exists():
        prev = json.loads(store.manifest_path.read_text())
        for key in ("seed", "patients", "chunk_size"):
            if key in prev and prev[key] != manifest[key]:
                raise OncotwinError(
                    f"--resume: the store in {str(out)!r} was made with {key}={prev[key]}, "
                    f"not {manifest[key]}; resume with the same options or use a new --out"
                )
    store.create(spec, {**manifest, "spec_text": spec.text}, resume=resume)
    n_chunks = (n + chunk_size - 1) // chunk_size
    fn = functools.partial(
        simulate_chunk,
        spec.text,
        n_total=n,
        chunk_size=chunk_size,
        seed=run_seed,
        source=str(getattr(spec, "source", "") or ""),
    )
    from oncotwin.trials.endpoints import summarise

    t0 = time.perf_counter()
    try:
        ran = run_to_store(store, fn, n_chunks, scheduler=scheduler, progress=progress)
        outcomes = store.read("outcomes")
        summary = compare_published(summarise(outcomes, reference_arm=spec.reference), spec)
        store.finish(
            summary,
            {
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "wall_seconds_this_session": round(time.perf_counter() - t0, 2),
                "chunks": n_chunks,
            },
        )
        path = write_trial_report(out, spec=spec, store=store) if report else None
    finally:
        store.close()
    return TrialRun(out, summary, path, tuple(ran))


def write_trial_report(out: str | Path, *, spec: Any = None, store: Any = None) -> Path:
    """(Re)write ``out/report.html`` from a finished store."""
    from oncotwin.report import write_report
    from oncotwin.trials.spec import parse_spec
    from oncotwin.trials.store import TrialStore

    own = store is None
    store = store or TrialStore.open(Path(out))
    try:
        manifest = dict(store.manifest)
        if spec is None:
            spec = parse_spec(manifest.get("spec_text", ""), source=str(Path(out) / "manifest"))
        summary = store.read("summary")
        if "published" not in summary or summary["published"].isna().all():
            summary = compare_published(summary, spec)
        notes = [
            "Research simulation (oncotwin): not medical advice. Parameters are literature-based "
            "defaults and flagged assumptions, not fitted to this trial; the gaps to the "
            "published values are reported as they are.",
        ]
        if manifest.get("criteria_not_modelled"):
            crit = json.dumps(manifest["criteria_not_modelled"])
            notes.append(f"Eligibility criteria recorded but not modelled: {crit}.")
        path = write_report(
            Path(out),
            title=f"{spec.trial.name}: virtual trial",
            summary=summary,
            outcomes=store.read("outcomes"),
            visits=store.read("visits"),
            events=store.read("events"),
            manifest={k: v for k, v in manifest.items() if k != "spec_text"},
            published_targets=published_table(spec),
            notes=notes,
            reference_arm=spec.reference,
        )
    finally:
        if own:
            store.close()
    return path
