"""On-treatment markers of a stored run, derived from the model trajectories.

The store keeps the scans (``visits``) at the protocol's scan days (often week 8, 9 or 12
first), not the trajectories, so tumour size at weeks 3, 6 and 9, a circulating tumour burden
and effector expansion are not in it. They are derived here from what is stored: the spec,
seed, patient count, chunk size and parameter overrides of the manifest define every patient
and every random number (patient ``i`` depends on the run seed and ``i`` alone), so the arms
are solved again exactly as the run solved them (same population, regimen, dosing rules and
solver settings) and the markers are read from the weekly output grid. Before anything is
derived, the re-built patients' covariates are checked against the stored ``patients`` table
and the model fingerprint and parameter hash against the manifest; any difference refuses
the derivation (the run was made by another model or version) instead of giving markers of
other patients; after solving, the patients are assessed again as the run assessed them and
every best overall response must equal the stored one.

Markers (all *true* model quantities, without assay or reader error, which real measurements
carry: their AUCs are an upper bound of what a real test would reach):

- ``size_change_w{3,6,9}``: % change from baseline of the sum of the index-lesion diameters
  (one index lesion per site with a baseline lesion, as the RECIST readout measures them);
- ``ctdna_change_w{3,6,9}``: log10 fold change of the total viable tumour cells over all sites
  (``tumour_burden`` readout), a ctDNA-like circulating tumour burden that assumes shedding
  proportional to the burden (no shedding-by-site, clearance or assay detection limit is
  modelled);
- ``effector_expansion_w{3,6,9}``: log2 fold change of the primed tumour-specific CD8+
  effectors in blood (state ``effector_blood``) from baseline.

Research simulations only: not medical advice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotwin.biomarkers._stats import BiomarkerError
from oncotwin.biomarkers.markers import ON_TREATMENT_WEEKS

if TYPE_CHECKING:
    from oncotwin.trials.result import TrialResult

__all__ = ["on_treatment_markers"]

#: State read for the effector expansion marker.
EFFECTOR_STATE = "effector_blood"

#: Floor of a burden or effector count before taking logs [1e9 cell] (one cell).
_FLOOR = 1e-9


def _plan(result: TrialResult):
    from oncotwin.trials.trial import Trial

    m = result.manifest
    if result.spec is None:
        raise BiomarkerError("run: the result has no spec; open it with TrialResult.open(OUT)")
    trial = Trial(result.spec)
    plan = trial.plan(
        patients=int(m["patients"]),
        seed=int(m["seed"]),
        chunk_size=int(m.get("chunk_size", 500)),
        parameters=dict(m.get("parameter_overrides") or {}) or None,
    )
    model = plan.model()
    fp = m.get("model_fingerprint")
    if fp is not None and fp != model.fingerprint:
        raise BiomarkerError(
            f"run: made with model fingerprint {fp}, the installed {model.name} is "
            f"{model.fingerprint}; on-treatment markers can only be derived by the model that "
            "made the run (use --baseline-only, or re-run the trial)"
        )
    ph = m.get("parameter_values_hash")
    if ph is not None and ph != plan.parameters_hash():
        raise BiomarkerError(
            f"run: made with parameter values hash {ph}, now {plan.parameters_hash()}; "
            "on-treatment markers need the parameters of the run (use --baseline-only, or "
            "re-run the trial)"
        )
    return plan


def _chunk_population(plan, chunk_id: int):
    """The chunk's virtual population, built as :func:`oncotwin.trials._chunk.simulate_chunk`
    builds it (population, typical-value overrides)."""
    from oncotwin.population.virtual import VirtualPopulation

    ids = plan.chunk_ids(chunk_id)
    vp = VirtualPopulation.for_trial(
        plan.model(),
        plan.cancer,
        ids,
        seed=plan.seed,
        eligibility=plan.eligibility,
        baseline=plan.baseline,
    )
    if plan.parameters:
        params = vp.population.params.copy()
        model = vp.model
        for col, factor in plan.parameter_factors().items():
            params[:, col] *= factor
            rec = model.parameters[model.parameter_names[col]]
            params[:, col] = np.clip(params[:, col], rec.lower, rec.upper)
        vp = vp.with_population(replace(vp.population, params=params))
    return ids, vp


def _arm_parts(plan, ids: np.ndarray):
    arm_idx = np.asarray(plan.spec.arm_of(ids))
    for arm in plan.arms:
        rows = np.nonzero(arm_idx == arm.index)[0]
        if not rows.size:
            continue
        if not arm.choices:
            yield arm, rows
            continue
        pick = arm.choice_of(plan.seed, ids[rows])
        for k in range(len(arm.choices)):
            if (pick == k).any():
                yield arm.option(k), rows[pick == k]


def _read_markers(sol, readouts, baseline_mm: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    t = np.asarray(sol.t, dtype=float)
    out = {"patient_id": ids}
    diam = readouts.lesion_diameters(sol, baseline_mm)  # (n, T, sites)
    size = np.nansum(diam, axis=2)
    burden_fn = getattr(readouts, "tumour_burden", None)
    burden = burden_fn(sol) if burden_fn is not None else None
    names = list(sol.names)
    eff = sol.y[:, :, names.index(EFFECTOR_STATE)] if EFFECTOR_STATE in names else None
    for w in ON_TREATMENT_WEEKS:
        day = 7.0 * w
        j = int(np.searchsorted(t, day))
        if j >= t.size or abs(t[j] - day) > 1e-9:
            raise BiomarkerError(
                f"run: the trajectory has no output at day {day:g} (week {w}); the trial's "
                "output grid is weekly, so this run was made differently"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"size_change_w{w}"] = np.where(
                size[:, 0] > 0, 100.0 * (size[:, j] / size[:, 0] - 1.0), np.nan
            )
            if burden is not None:
                out[f"ctdna_change_w{w}"] = np.log10(
                    np.maximum(burden[:, j], _FLOOR) / np.maximum(burden[:, 0], _FLOOR)
                )
            if eff is not None:
                out[f"effector_expansion_w{w}"] = np.log2(
                    np.maximum(eff[:, j], _FLOOR) / np.maximum(eff[:, 0], _FLOOR)
                )
    return pd.DataFrame(out)


def _check_reproduced(arm, ctx, dosed, stored_best: pd.Series) -> None:
    """Assess the re-solved patients as the run did and refuse if any best overall response
    differs from the stored one (the trajectories would not be the run's)."""
    from oncotwin.trials._chunk import _death_and_assessment
    from oncotwin.trials.assessment import RESPONSE_CODES

    _, assessed = _death_and_assessment(arm, ctx, dosed.solution)
    again = np.asarray(RESPONSE_CODES, dtype=object)[np.asarray(assessed.best_response, int)]
    again = again.astype(str)
    ids = np.asarray(ctx.ids)
    before = stored_best.reindex(ids).to_numpy(dtype=object).astype(str)
    bad = int((again != before).sum())
    if bad:
        raise BiomarkerError(
            f"run: solving arm {arm.name!r} again gives a different best overall response for "
            f"{bad} of {ids.size} patients; the installed code does not reproduce the run, so "
            "on-treatment markers cannot be derived (use --baseline-only, or re-run the trial)"
        )


def on_treatment_markers(result: TrialResult) -> pd.DataFrame:
    """One row per patient of ``result``: ``patient_id`` and the on-treatment markers.

    Solves the run's arms again (about the run's own time); refuses with a clear message when
    the installed model, parameters or population do not reproduce the stored patients.
    """
    from oncotwin.models.readouts import clinical_readouts
    from oncotwin.trials._chunk import _ArmContext, _solve_arm

    plan = _plan(result)
    stored = result.patients.set_index("patient_id")
    out = result.outcomes
    stored_best = pd.Series(out["best_response"].astype(str).to_numpy(), index=out["patient_id"])
    frames = []
    for c in range(plan.n_chunks):
        ids, vp = _chunk_population(plan, c)
        check = [
            col
            for col in ("tmb_mut_per_mb", "nlr", "albumin_g_dl", "age_yr")
            if col in stored and col in vp.covariates
        ]
        mine = vp.covariates.set_index("patient_id")
        common = stored.index.intersection(mine.index)
        for col in check:
            a = stored.loc[common, col].to_numpy(dtype=float)
            b = mine.loc[common, col].to_numpy(dtype=float)
            if not np.allclose(a, b, equal_nan=True, rtol=1e-9, atol=1e-12):
                raise BiomarkerError(
                    f"run: the re-built patients differ from the stored ones ({col}); the "
                    "population model changed since the run was made, so on-treatment markers "
                    "cannot be derived (use --baseline-only, or re-run the trial)"
                )
        for arm, rows in _arm_parts(plan, ids):
            sub = vp.take(rows)
            readouts = clinical_readouts(sub.model)
            ctx = _ArmContext(
                plan,
                readouts,
                sub.patient_ids,
                readouts.baseline_diameters(sub),
                sub.covariates["age_yr"].to_numpy(dtype=float),
                sub.population,
            )
            dosed = _solve_arm(arm, sub, ctx)
            _check_reproduced(arm, ctx, dosed, stored_best)
            frames.append(_read_markers(dosed.solution, readouts, ctx.baseline_mm, sub.patient_ids))
    if not frames:
        raise BiomarkerError("run: no patients to derive on-treatment markers for")
    return pd.concat(frames, ignore_index=True).sort_values("patient_id").reset_index(drop=True)
