"""A virtual trial: spec -> plan -> chunks (in-process or dask) -> store -> TrialResult -> report.

``Trial`` only wires the pipeline: the spec is resolved once into a :class:`TrialPlan`
(regimens parsed, rules and criterion fixed), chunks of patients are simulated by
:func:`~oncotwin.trials._chunk.simulate_chunk` and committed to the DuckDB store one
transaction each (an interrupted run resumes with ``resume=True`` and ends with exactly the
result of an uninterrupted one), the endpoints are computed from the stored outcomes, and the
manifest is written at the end from what the run actually used.

Research simulations only: not medical advice.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from oncotwin._constants import DISCLAIMER, PARAMETERS_NOTE
from oncotwin._version import __version__
from oncotwin.errors import OncotwinError
from oncotwin.trials._plan import TrialPlan
from oncotwin.trials.result import TrialResult, compare_published, published_table
from oncotwin.trials.spec import TrialSpec, example_path, load_spec

__all__ = ["Trial", "report_from_result"]

#: Patients per chunk (memory per chunk ~ patients x output times x states x 8 bytes).
DEFAULT_CHUNK = 500

#: What a resumed run must share with the stored one: the same patients, and the same model
#: (equations) and parameter values, so that runs of an older model are never mixed in.
_RESUME_KEYS = (
    "seed",
    "patients",
    "chunk_size",
    "model_fingerprint",
    "parameter_sets",
    "parameter_values_hash",
)


class Trial:
    """A virtual trial from a spec.

    Examples
    --------
    >>> from oncotwin.trials import Trial
    >>> trial = Trial.from_example("keynote024")
    >>> trial.arm_names
    ('pembrolizumab', 'platinum doublet chemotherapy')
    >>> result = trial.run(patients=300)  # doctest: +SKIP
    >>> result.print_summary()  # doctest: +SKIP
    """

    def __init__(self, spec: TrialSpec) -> None:
        if not isinstance(spec, TrialSpec):
            raise OncotwinError(
                f"Trial(spec): got a {type(spec).__name__}; use Trial.from_spec(path) or "
                "Trial.from_example(name)"
            )
        self.spec = spec

    @classmethod
    def from_spec(cls, path: str | Path) -> Trial:
        """The trial of the TOML spec file ``path``."""
        return cls(load_spec(path))

    @classmethod
    def from_example(cls, name: str) -> Trial:
        """A shipped example trial (``oncotwin trial examples`` lists them)."""
        return cls(load_spec(example_path(name)))

    @property
    def name(self) -> str:
        return self.spec.trial.name

    @property
    def arm_names(self) -> tuple[str, ...]:
        return self.spec.arm_names

    def __repr__(self) -> str:
        return f"Trial({self.name!r}, arms={list(self.arm_names)})"

    def plan(
        self,
        *,
        patients: int | None = None,
        seed: int | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        parameters: Mapping[str, float] | None = None,
    ) -> TrialPlan:
        """The resolved plan of a run (validates the options; parses every regimen once).

        ``parameters`` gives new typical values of model parameters for this run (name ->
        value in the parameter's unit): each patient's value is scaled by new / typical, so
        covariate effects and between-patient variability are kept.
        """
        n = int(patients if patients is not None else self.spec.trial.patients)
        if n < 1:
            raise OncotwinError(f"patients={n}; give a whole number of patients >= 1")
        if chunk_size < 1:
            raise OncotwinError(f"chunk_size={chunk_size}; give a number of patients >= 1")
        run_seed = int(self.spec.trial.seed if seed is None else seed)
        return TrialPlan.from_spec(
            self.spec, patients=n, seed=run_seed, chunk_size=chunk_size, parameters=parameters
        )

    def summary(
        self,
        *,
        patients: int | None = None,
        seed: int | None = None,
        parameters: Mapping[str, float] | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        calibrated: bool | str | Path | Any = None,
    ) -> pd.DataFrame:
        """Simulate the trial in memory (no store, no report) and return its summary table
        (one row per arm and endpoint, with the published values): the fast path for
        calibration and sensitivity runs, which need endpoints only. Same patients and
        results as :meth:`run` with the same options. ``calibrated`` as in :meth:`run`;
        ``summary.attrs["calibration"]`` says which parameters were used.
        """
        from oncotwin.calibration.calibrated import resolve_run_parameters
        from oncotwin.trials._chunk import simulate_chunk
        from oncotwin.trials.endpoints import summarise

        parameters, info = resolve_run_parameters(self.spec, parameters, calibrated)
        plan = self.plan(patients=patients, seed=seed, chunk_size=chunk_size, parameters=parameters)
        outcomes = pd.concat(
            [simulate_chunk(plan, c)["outcomes"] for c in range(plan.n_chunks)],
            ignore_index=True,
        )
        out = compare_published(summarise(outcomes, reference_arm=self.spec.reference), self.spec)
        out.attrs["calibration"] = info
        return out

    def run(
        self,
        *,
        patients: int | None = None,
        seed: int | None = None,
        out: str | Path | None = None,
        resume: bool = False,
        scheduler: str | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        progress: Callable[[int, int], None] | None = None,
        report: bool | None = None,
        parameters: Mapping[str, float] | None = None,
        calibrated: bool | str | Path | Any = None,
    ) -> TrialResult:
        """Run the trial into ``out`` (default: a new temporary folder) and return its result.

        ``scheduler`` (``"tcp://HOST:PORT"``) runs the chunks on a dask.distributed cluster;
        ``report`` (default: whenever ``out`` is given) writes ``OUT/report.html``;
        ``parameters``: new typical parameter values for this run (see :meth:`plan`), recorded
        in the manifest.

        ``calibrated``: ``None`` (default) runs the default calibrated set's posterior median
        with the trial effect at zero, unless ``parameters`` is given (explicit typical values,
        relative to the shipped uncalibrated set: calibration and sensitivity runs) or no set
        applies (none shipped, fingerprint differs: the shipped defaults, and the manifest's
        ``calibration`` note says why); ``False`` / ``"uncalibrated"``: the shipped defaults;
        a set name, path or ``CalibratedSet``: that set
        (:func:`oncotwin.calibration.calibrated.resolve_run_parameters`).
        """
        from oncotwin.calibration.calibrated import resolve_run_parameters
        from oncotwin.trials.endpoints import summarise
        from oncotwin.trials.executor import run_to_store
        from oncotwin.trials.store import TrialStore, io_fault

        parameters, info = resolve_run_parameters(self.spec, parameters, calibrated)
        plan = self.plan(patients=patients, seed=seed, chunk_size=chunk_size, parameters=parameters)
        if report is None:
            report = out is not None
        out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="oncotwin-trial-"))
        store = TrialStore(out)
        manifest = {**_manifest_start(plan), "calibration": info}
        _check_resume(store, manifest, resume, out)
        store.create(self.spec, {**manifest, "spec_text": self.spec.text}, resume=resume)
        fn = functools.partial(_chunk, plan)
        t0 = time.perf_counter()
        try:
            ran = run_to_store(store, fn, plan.n_chunks, scheduler=scheduler, progress=progress)
            outcomes = store.read("outcomes")
            summary = compare_published(
                summarise(outcomes, reference_arm=self.spec.reference), self.spec
            )
            store.finish(summary, _manifest_end(plan, time.perf_counter() - t0))
        finally:
            store.close()
        result = TrialResult(out, summary, None, tuple(ran), self.spec)
        if report:
            try:
                written = result.write_report()
            except OSError as exc:  # the store is complete: only the report is missing
                fix = f"free space or fix the folder, then run `oncotwin trial report {out}`"
                raise io_fault(exc, out, doing="writing report.html", fix=fix) from None
            result = dataclasses.replace(result, report=written)  # keeps the tables it read
        return result


def _chunk(plan: TrialPlan, chunk_id: int) -> Any:
    from oncotwin.trials._chunk import simulate_chunk

    return simulate_chunk(plan, chunk_id)


def _check_resume(store: Any, manifest: Mapping[str, Any], resume: bool, out: Path) -> None:
    if not (resume and store.manifest_path.exists()):
        return
    prev = store.manifest  # a StoreError naming the fix if it is broken
    for key in _RESUME_KEYS:
        if key in prev and prev[key] != manifest[key]:
            raise OncotwinError(
                f"--resume: the store in {str(out)!r} was made with {key}={prev[key]}, "
                f"not {manifest[key]}; resume with the same options or use a new --out"
            )


def _manifest_start(plan: TrialPlan) -> dict[str, Any]:
    """What identifies the run (written before any patient, checked on resume)."""
    model = plan.model()
    spec = plan.spec
    return {
        "oncotwin_version": __version__,
        "trial": spec.trial.name,
        "spec_hash": spec.hash(),
        "seed": plan.seed,
        "patients": plan.n_total,
        "chunk_size": plan.chunk_size,
        "model": model.name,
        "model_fingerprint": model.fingerprint,
        "solver": "dopri5/rodas4 auto, rtol 1e-5, atol 1e-9",
        "parameter_sets": plan.parameter_set().name,
        "parameter_values_hash": plan.parameters_hash(),
        "parameter_overrides": {k: float(v) for k, v in sorted(plan.parameters.items())},
        "criteria_not_modelled": dict(plan.recorded_criteria),
        "response_criterion": plan.criterion,
        "dosing_rules": repr(plan.rules),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "disclaimer": DISCLAIMER,
    }


def _manifest_end(plan: TrialPlan, seconds: float) -> dict[str, Any]:
    """What the run used and when it ended (written when the last chunk is stored)."""
    from oncotwin.citations import cite

    keys = plan.citations()
    cite(*keys)
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds_this_session": round(seconds, 2),
        "chunks": plan.n_chunks,
        "citations": list(keys),
        "trial_publications": plan.publications(),
    }


def report_from_result(result: TrialResult, path: Path | None = None) -> Path:
    """Write the self-contained HTML report of ``result`` (default ``OUT/report.html``)."""
    from oncotwin.report import write_report

    spec = result.spec
    if spec is None:
        raise OncotwinError("this result has no spec; open it with TrialResult.open(OUT)")
    summary = result.summary
    if "published" not in summary or summary["published"].isna().all():
        summary = compare_published(summary, spec)
    manifest = dict(result.manifest)
    notes = [
        f"Research simulation (oncotwin): not medical advice. {PARAMETERS_NOTE}",
    ]
    if isinstance(manifest.get("calibration"), dict):
        notes.append(f"Parameters: {manifest['calibration'].get('note', '')}.")
    if manifest.get("criteria_not_modelled"):
        crit = json.dumps(manifest["criteria_not_modelled"])
        notes.append(f"Eligibility criteria recorded but not modelled: {crit}.")
    written = write_report(
        result.out,
        title=f"{spec.trial.name}: virtual trial",
        summary=summary,
        outcomes=result.outcomes,
        visits=result.visits,
        events=result.events,
        manifest={k: v for k, v in manifest.items() if k != "spec_text"},
        published_targets=published_table(spec),
        notes=notes,
        reference_arm=spec.reference,
    )
    if path is not None and Path(path) != written:
        Path(path).write_text(written.read_text())
        return Path(path)
    return written
