"""Virtual trials: spec files, response assessment, endpoints, the result store, the runner.

The public names of the submodules are re-exported here and imported on first use (module
``__getattr__``), so ``import oncotwin.trials`` stays cheap and DuckDB, pydantic, SciPy and
lifelines load only when a trial needs them:

- :mod:`~oncotwin.trials.trial`: :class:`Trial` (``Trial.from_example(name).run(...)``), the
  thin runner: spec -> plan -> chunks -> store -> :class:`TrialResult`;
- :mod:`~oncotwin.trials.result`: :class:`TrialResult` (tables, summary, ``compare``,
  ``print_summary``, report);
- :mod:`~oncotwin.trials.spec`: TOML trial specs (``load_spec``, ``list_examples``);
- :mod:`~oncotwin.trials.assessment`: response criteria as a registry (RECIST 1.1, iRECIST,
  Lugano, IMWG, marrow) over model-independent :class:`Readouts`;
- :mod:`~oncotwin.trials.run`: the former entry points (``run_trial``, ``write_trial_report``);
- :mod:`~oncotwin.trials.store` / :mod:`~oncotwin.trials.executor`: the DuckDB store, chunks
  in-process or on dask.distributed, resume;
- :mod:`~oncotwin.trials.endpoints`: response rates, Kaplan-Meier, Cox, safety, subgroups;
- :mod:`~oncotwin.trials.targets`: published outcomes of the calibration trial arms.

Outputs are research simulations, not medical advice.

Examples
--------
>>> import oncotwin.trials as trials
>>> trials.published("KN024_PEMBRO").orr_pct
44.8
>>> "keynote024" in dict(trials.list_examples())
True
"""

from __future__ import annotations

import importlib
from typing import Any

#: Submodule -> the public names it exports here (each submodule's ``__all__``).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "spec": (
        "DAYS_PER_MONTH",
        "ArmSpec",
        "CrossoverSpec",
        "PopulationSpec",
        "PublishedLink",
        "ScanSegment",
        "ScheduleSpec",
        "SpecError",
        "TreatmentSpec",
        "TrialInfo",
        "TrialSpec",
        "example_path",
        "list_examples",
        "load_spec",
        "parse_spec",
    ),
    "store": (
        "DB_NAME",
        "MANIFEST_NAME",
        "StoreError",
        "TrialStore",
    ),
    "executor": (
        "ExecutorError",
        "run_chunks",
        "run_to_store",
    ),
    "trial": ("Trial", "report_from_result"),
    "result": ("PUBLISHED_FIELDS", "TrialResult"),
    "recist": (
        "CR",
        "NE",
        "ORGANS",
        "PD",
        "PR",
        "RESPONSE_CODES",
        "SD",
        "RecistResult",
        "assess_imwg",
        "assess_lugano",
        "assess_marrow",
        "assess_recist",
        "reader_normals",
        "select_target_lesions",
    ),
    "endpoints": (
        "MONTH_DAYS",
        "SUMMARY_COLUMNS",
        "KMSummary",
        "Rate",
        "clopper_pearson",
        "compare_arms",
        "km",
        "response_rates",
        "safety_rates",
        "subgroup_analysis",
        "summarise",
    ),
    "targets": (
        "PUBLISHED",
        "PublishedArm",
        "arms_of",
        "published",
    ),
    "run": (
        "DEFAULT_CHUNK",
        "DESCRIPTIVE_CRITERIA",
        "TrialRun",
        "compare_published",
        "eligibility_from_spec",
        "published_table",
        "run_trial",
        "simulate_chunk",
        "write_trial_report",
    ),
}

#: Public name -> the submodule that defines it.
_ORIGIN: dict[str, str] = {name: mod for mod, names in _EXPORTS.items() for name in names}

__all__ = [
    "CR",
    "DAYS_PER_MONTH",
    "DB_NAME",
    "DEFAULT_CHUNK",
    "DESCRIPTIVE_CRITERIA",
    "MANIFEST_NAME",
    "MONTH_DAYS",
    "NE",
    "ORGANS",
    "PD",
    "PR",
    "PUBLISHED",
    "PUBLISHED_FIELDS",
    "RESPONSE_CODES",
    "SD",
    "SUMMARY_COLUMNS",
    "ArmSpec",
    "CrossoverSpec",
    "ExecutorError",
    "KMSummary",
    "PopulationSpec",
    "PublishedArm",
    "PublishedLink",
    "Rate",
    "RecistResult",
    "ScanSegment",
    "ScheduleSpec",
    "SpecError",
    "StoreError",
    "TreatmentSpec",
    "Trial",
    "TrialInfo",
    "TrialResult",
    "TrialRun",
    "TrialSpec",
    "TrialStore",
    "arms_of",
    "assess_imwg",
    "assess_lugano",
    "assess_marrow",
    "assess_recist",
    "clopper_pearson",
    "compare_arms",
    "compare_published",
    "eligibility_from_spec",
    "example_path",
    "km",
    "list_examples",
    "load_spec",
    "parse_spec",
    "published",
    "published_table",
    "reader_normals",
    "report_from_result",
    "response_rates",
    "run_chunks",
    "run_to_store",
    "run_trial",
    "safety_rates",
    "select_target_lesions",
    "simulate_chunk",
    "subgroup_analysis",
    "summarise",
    "write_trial_report",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name (or a submodule) the first time it is used."""
    if name in _EXPORTS:
        return importlib.import_module(f"{__name__}.{name}")
    try:
        module = _ORIGIN[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
