"""Helpers (no tests): a small synthetic calibrated set (the format of docs/predict.md) for the
tests of calibrated sets and predictions, written into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from oncotwin.calibration.hierarchy import Hierarchy, Quantity


def _q(name: str, parameter: str, level: str, cancer: str | None, value: float) -> Quantity:
    return Quantity(
        name=name,
        parameter=parameter,
        level=level,
        cancer=cancer,
        lower=-1.0,
        upper=1.0,
        value=value,
        unit="",
        arms=("X",),
        kind={"global": "biology", "cancer": "cancer", "toxicity": "toxicity"}[level],
    )


def hierarchy() -> Hierarchy:
    """Four quantities: global growth and PD-1 potency, an NSCLC and a melanoma growth
    offset, and the anti-PD-1 irAE hazard (typical values are not used by overrides)."""
    return Hierarchy(
        free=(
            _q("growth_rate", "growth_rate", "global", None, 1.0),
            _q("pd1_inhibition", "pd1_inhibition", "global", None, 1.0),
            _q("growth_rate@nsclc", "growth_rate", "cancer", "nsclc", 1.0),
            _q("growth_rate@melanoma", "growth_rate", "cancer", "melanoma", 1.0),
            _q("irae_hazard_pd1", "irae_hazard_pd1", "toxicity", None, 1.0),
        ),
        uncalibrated=(),
        tau_names=("tau_response", "tau_survival"),
    )


def write_set(
    folder: Path,
    *,
    name: str = "synthetic-test",
    draws: int = 400,
    sd: float = 0.15,
    fingerprint: str | None = None,
    examples: tuple[str, ...] = ("keynote024",),
    trials: tuple[str, ...] = (),
) -> Path:
    """Write a synthetic set into ``folder/name`` and return its path."""
    from oncotwin.models.registry import get_model

    path = Path(folder) / name
    path.mkdir(parents=True, exist_ok=True)
    h = hierarchy()
    rng = np.random.default_rng(7)
    cols: dict[str, np.ndarray] = {
        "chain": np.repeat(np.arange(4), -(-draws // 4))[:draws],
        "draw": np.tile(np.arange(-(-draws // 4)), 4)[:draws],
    }
    for q in h.free:
        cols[q.name] = rng.normal(0.05, sd, draws)
    cols["tau_response"] = np.abs(rng.normal(0.2, 0.03, draws))
    cols["tau_survival"] = np.abs(rng.normal(0.15, 0.03, draws))
    cols["tau_toxicity"] = np.abs(rng.normal(0.2, 0.03, draws))
    pd.DataFrame(cols).to_csv(path / "draws.csv", index=False)
    (path / "hierarchy.json").write_text(h.to_json())
    manifest = {
        "name": name,
        "model": "metastatic_io",
        "model_fingerprint": fingerprint or get_model("metastatic_io").fingerprint,
        "targets_hash": "test",
        "created": "2026-12-03",
        "method": "synthetic draws for tests",
        "n_draws": draws,
        "in_sample_trials": list(trials),
        "in_sample_examples": list(examples),
        "arm_ids": [],
        "free_quantities": list(h.names),
        "tau_names": ["tau_response", "tau_survival", "tau_toxicity"],
        "oncotwin_version": "test",
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "CREDIBILITY.md").write_text("Synthetic set for tests: no credibility.\n")
    return path
