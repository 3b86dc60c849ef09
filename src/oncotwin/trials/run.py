"""The former entry points of a virtual trial, kept for scripts that import them.

New code uses :class:`oncotwin.trials.Trial` (``Trial.from_example(...).run(...)``), which
returns a :class:`~oncotwin.trials.TrialResult`. Research simulations only: not medical advice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from oncotwin.trials._plan import DESCRIPTIVE_CRITERIA, TrialPlan, eligibility_from_spec
from oncotwin.trials.result import TrialResult, compare_published, published_table
from oncotwin.trials.spec import TrialSpec, load_spec, parse_spec
from oncotwin.trials.trial import DEFAULT_CHUNK, Trial

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

#: The former name of :class:`~oncotwin.trials.TrialResult` (same attributes: ``out``,
#: ``summary``, ``report``, ``chunks_run``).
TrialRun = TrialResult


def run_trial(
    spec: TrialSpec | str | Path,
    *,
    out: str | Path,
    patients: int | None = None,
    seed: int | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    report: bool = True,
    calibrated: Any = None,
) -> TrialResult:
    """Run the trial ``spec`` (a TrialSpec or a path to a TOML spec) into ``out``
    (``Trial(spec).run(...)``; ``calibrated`` as there: default, the default calibrated set)."""
    spec = spec if isinstance(spec, TrialSpec) else load_spec(spec)
    return Trial(spec).run(
        patients=patients,
        seed=seed,
        out=out,
        resume=resume,
        scheduler=scheduler,
        chunk_size=chunk_size,
        progress=progress,
        report=report,
        calibrated=calibrated,
    )


def simulate_chunk(
    spec_text: str, chunk_id: int, *, n_total: int, chunk_size: int, seed: int, source: str = ""
) -> dict[str, pd.DataFrame]:
    """Simulate trial patients ``chunk_id*chunk_size ..`` (all arms) -> contract tables."""
    from oncotwin.trials._chunk import simulate_chunk as _simulate

    spec = parse_spec(spec_text, source=source or "<spec>")
    plan = TrialPlan.from_spec(spec, patients=n_total, seed=seed, chunk_size=chunk_size)
    return _simulate(plan, chunk_id)


def write_trial_report(out: str | Path, *, spec: Any = None, store: Any = None) -> Path:
    """(Re)write ``out/report.html`` from a finished store."""
    result = TrialResult.open(out)
    if spec is not None:
        result = TrialResult(result.out, result.summary, result.report, (), spec)
    return result.write_report()
