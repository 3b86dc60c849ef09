"""The shipped calibrated parameter set: posterior draws of the calibration, loaded as data.

A calibrated set lives in ``oncotwin/calibration/data/sets/<name>/`` (``manifest.json``,
``hierarchy.json``, ``draws.csv``, ``CREDIBILITY.md``); ``sets/DEFAULT`` names the default.
Each row of ``draws.csv`` is one posterior draw: a log-multiplier ``theta`` per free quantity
of the set's :class:`~oncotwin.calibration.hierarchy.Hierarchy` and the trial random-effect
spreads (``tau_*``). A parameter moved by quantity ``q`` gets ``typical x exp(theta_q)``
(global, toxicity and class quantities in every trial, ``"<param>@<cancer>"`` offsets only in
trials of that cancer).

:func:`resolve_run_parameters` is what a trial run without options uses: the default set's
posterior median theta with the trial effect at zero, unless the run gives explicit
``parameters`` (calibration and sensitivity runs: their theta is relative to the shipped,
uncalibrated typical values), the set is missing, or its model fingerprint differs from the
installed model's (then the shipped defaults are used and the note says why).

The environment variable ``ONCOTWIN_CALIBRATED_SET`` replaces ``DEFAULT``: a set name, a path
to a set's folder, or ``uncalibrated``.

Research simulations only: not medical advice.

Examples
--------
>>> from oncotwin.calibration.calibrated import available_sets
>>> isinstance(available_sets(), list)
True
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean

if TYPE_CHECKING:
    from oncotwin.calibration.hierarchy import Hierarchy
    from oncotwin.trials._plan import TrialPlan
    from oncotwin.trials.spec import TrialSpec

__all__ = [
    "ENV_VAR",
    "SETS_DIR",
    "UNCALIBRATED",
    "CalibratedSet",
    "available_sets",
    "calibration_note",
    "default_set_name",
    "resolve_run_parameters",
]

#: Folder of the shipped calibrated sets (package data).
SETS_DIR = Path(__file__).resolve().parent / "data" / "sets"
#: Environment variable that replaces ``sets/DEFAULT`` (a name, a path, or ``uncalibrated``).
ENV_VAR = "ONCOTWIN_CALIBRATED_SET"
#: The name that selects the shipped, uncalibrated defaults.
UNCALIBRATED = "uncalibrated"
_FILES = ("manifest.json", "hierarchy.json", "draws.csv")
_MANIFEST_KEYS = ("name", "model", "model_fingerprint")


class CalibratedSetError(OncotwinError):
    """A calibrated set that cannot be read (missing file, malformed manifest or draws)."""


def available_sets(root: Path | None = None) -> list[str]:
    """Names of the calibrated sets shipped in ``root`` (default :data:`SETS_DIR`)."""
    base = SETS_DIR if root is None else Path(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and (p / "manifest.json").exists())


def default_set_name() -> str | None:
    """The default set: ``$ONCOTWIN_CALIBRATED_SET`` if set, else the line in
    ``sets/DEFAULT``; ``None`` if neither names one (or it says ``uncalibrated``)."""
    env = os.environ.get(ENV_VAR, "").strip()
    name = env
    if not name:
        path = SETS_DIR / "DEFAULT"
        name = path.read_text().strip().splitlines()[0].strip() if path.is_file() else ""
    if not name or name.lower() in (UNCALIBRATED, "none"):
        return None
    return name


def _file_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class CalibratedSet:
    """One calibrated parameter set: manifest, hierarchy and posterior draws.

    Load it with :meth:`load` (a shipped name, a folder path, or the default).
    """

    name: str
    path: Path
    manifest: Mapping[str, Any]
    hierarchy: Hierarchy
    table: pd.DataFrame
    _median: dict[str, float] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, name: str | Path | None = None) -> CalibratedSet:
        """The set ``name`` (a shipped set's name or the path of a set's folder; default:
        :func:`default_set_name`). An unknown name gets a did-you-mean; a missing or
        malformed file names the file and the fix."""
        if name is None:
            name = default_set_name()
            if name is None:
                raise CalibratedSetError(
                    f"no default calibrated set: {SETS_DIR / 'DEFAULT'} is missing (and "
                    f"${ENV_VAR} is not set); name a set or run with the uncalibrated defaults"
                )
        path = Path(name)
        if not (path.is_dir() and (path / "manifest.json").exists()):
            shipped = available_sets()
            if str(name) not in shipped:
                choices = [*shipped, UNCALIBRATED]
                raise UnknownNameError(
                    "calibrated set: "
                    + did_you_mean(str(name), choices, what="calibrated set")
                    + " (or give the path of a set's folder)"
                )
            path = SETS_DIR / str(name)
        return _load(str(path.resolve()), _mtimes(path))

    # ------------------------------------------------------------------ identity
    @property
    def model(self) -> str:
        """The model the set calibrates."""
        return str(self.manifest["model"])

    @property
    def names(self) -> tuple[str, ...]:
        """The free quantities (columns of theta)."""
        return self.hierarchy.names

    @property
    def tau_names(self) -> tuple[str, ...]:
        """The trial random-effect spreads present in the draws."""
        return tuple(c for c in self.table.columns if c.startswith("tau_"))

    @property
    def n_draws(self) -> int:
        return len(self.table)

    def hash(self) -> str:
        """Hash of the set's ``draws.csv`` and ``manifest.json`` (what a prediction used)."""
        return _file_hash([self.path / "draws.csv", self.path / "manifest.json"])

    def fingerprint_problem(self) -> str | None:
        """Why the set does not fit the installed model (``None`` if it does)."""
        from oncotwin.models.registry import get_model

        try:
            installed = get_model(self.model).fingerprint
        except OncotwinError as exc:
            return f"its model {self.model!r} is not installed ({exc})"
        want = str(self.manifest["model_fingerprint"])
        if installed != want:
            return (
                f"it was calibrated on {self.model} with fingerprint {want}, but the installed "
                f"model's is {installed} (the equations or defaults changed since); re-run the "
                "calibration for this model"
            )
        return None

    # ------------------------------------------------------------------ draws
    def median_theta(self) -> dict[str, float]:
        """The posterior median of each free quantity and tau (per-quantity medians)."""
        if not self._median:
            cols = [*self.names, *self.tau_names]
            self._median.update({c: float(self.table[c].median()) for c in cols})
        return dict(self._median)

    def draws(self, n: int, seed: int = 0) -> pd.DataFrame:
        """``n`` posterior draws (rows of theta and tau), sampled without replacement when
        the set holds at least ``n`` (with replacement beyond), reproducibly from ``seed``."""
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise OncotwinError(f"draws={n!r}; give a whole number of posterior draws >= 1")
        rng = np.random.default_rng(int(seed))
        total = len(self.table)
        idx = rng.choice(total, size=int(n), replace=int(n) > total)
        cols = [*self.names, *self.tau_names]
        return self.table.iloc[idx][cols].reset_index(drop=True)

    def overrides(self, theta: Mapping[str, float], plan: TrialPlan) -> dict[str, float]:
        """New typical values for the trial of ``plan`` under ``theta`` (tau's ignored):
        the cancer from the plan, the typical values from ``plan.parameter_set()``."""
        theta = {k: float(v) for k, v in theta.items() if not k.startswith("tau_")}
        unknown = sorted(set(theta) - set(self.names))
        if unknown:
            raise UnknownNameError(
                "theta: " + did_you_mean(unknown[0], self.names, what="calibration quantity")
            )
        return self.hierarchy.overrides_for(theta, plan.cancer, plan.parameter_set)

    def in_sample(self, trial: Any) -> bool:
        """True if the trial (a ``Trial``, ``TrialSpec`` or example name) was among the
        calibration data: its example name among ``in_sample_examples`` or one of its
        published arms' trial ids among ``in_sample_trials``."""
        spec = _spec_of(trial)
        examples = set(self.manifest.get("in_sample_examples", ()))
        trials = set(self.manifest.get("in_sample_trials", ()))
        arms = set(self.manifest.get("arm_ids", ()))
        source = str(getattr(spec, "_source", "") or "")
        if source.endswith(".toml") and Path(source).stem in examples:
            return True
        from oncotwin.trials.targets import published

        for arm in spec.arms:
            link = arm.published
            if link is None or not link.arm_id:
                continue
            if link.arm_id in arms:
                return True
            try:
                if published(link.arm_id).trial in trials:
                    return True
            except OncotwinError:
                continue
        return False

    def describe(self) -> str:
        """One line: name, model, draws, date."""
        m = self.manifest
        return (
            f"{self.name} ({self.model} {m.get('model_fingerprint', '?')}, "
            f"{self.n_draws} posterior draws, {m.get('created', '?')})"
        )


def _spec_of(trial: Any) -> TrialSpec:
    from oncotwin.trials.spec import TrialSpec, example_path, load_spec

    if isinstance(trial, TrialSpec):
        return trial
    spec = getattr(trial, "spec", None)
    if isinstance(spec, TrialSpec):
        return spec
    if isinstance(trial, str):
        return load_spec(example_path(trial))
    raise OncotwinError(
        f"in_sample: got a {type(trial).__name__}; give a Trial, a TrialSpec or an example name"
    )


def _mtimes(path: Path) -> tuple[float, ...]:
    return tuple((path / f).stat().st_mtime if (path / f).exists() else -1.0 for f in _FILES)


@lru_cache(maxsize=16)
def _load(path_text: str, _mtimes: tuple[float, ...]) -> CalibratedSet:
    """Read a set's folder (cached per path and file times)."""
    from oncotwin.calibration.hierarchy import Hierarchy

    path = Path(path_text)
    for f in _FILES:
        if not (path / f).is_file():
            raise CalibratedSetError(
                f"calibrated set {path.name}: {f} is missing in {path}; a set needs "
                f"{', '.join(_FILES)} (see docs/predict.md)"
            )
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except json.JSONDecodeError as exc:
        raise CalibratedSetError(
            f"calibrated set {path.name}: manifest.json is not JSON ({exc}); rewrite it"
        ) from None
    missing = [k for k in _MANIFEST_KEYS if k not in manifest]
    if not isinstance(manifest, dict) or missing:
        raise CalibratedSetError(
            f"calibrated set {path.name}: manifest.json lacks {missing}; give name, model "
            "and model_fingerprint"
        )
    hierarchy = Hierarchy.from_json((path / "hierarchy.json").read_text())
    try:
        table = pd.read_csv(path / "draws.csv")
    except (ValueError, pd.errors.ParserError) as exc:
        raise CalibratedSetError(f"calibrated set {path.name}: draws.csv: {exc}") from None
    absent = [q for q in hierarchy.names if q not in table.columns]
    if absent:
        raise CalibratedSetError(
            f"calibrated set {path.name}: draws.csv lacks the columns {absent[:5]} of its "
            "hierarchy's free quantities; write one column per quantity"
        )
    if table.empty:
        raise CalibratedSetError(f"calibrated set {path.name}: draws.csv has no draws")
    cols = [*hierarchy.names, *(c for c in table.columns if c.startswith("tau_"))]
    values = table[cols].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise CalibratedSetError(
            f"calibrated set {path.name}: draws.csv holds non-finite values; every theta "
            "and tau must be a number"
        )
    taus = table[[c for c in cols if c.startswith("tau_")]].to_numpy(dtype=float)
    if (taus < 0).any():
        raise CalibratedSetError(f"calibrated set {path.name}: a tau in draws.csv is negative")
    return CalibratedSet(str(manifest["name"]), path, manifest, hierarchy, table)


# ---------------------------------------------------------------------- run defaults
def _choose(calibrated: Any) -> tuple[CalibratedSet | None, str]:
    """The set a run asked for (``None`` = uncalibrated) and, if none, why."""
    if isinstance(calibrated, CalibratedSet):
        return calibrated, ""
    if calibrated is False or (
        isinstance(calibrated, str) and calibrated.strip().lower() in (UNCALIBRATED, "none")
    ):
        return None, "uncalibrated shipped defaults (asked for)"
    if calibrated is None or calibrated is True:
        name = default_set_name()
        if name is None:
            if calibrated is True:
                raise CalibratedSetError(
                    f"no default calibrated set is shipped ({SETS_DIR / 'DEFAULT'} is missing); "
                    "name a set or use the uncalibrated defaults"
                )
            return None, "uncalibrated shipped defaults: no default calibrated set"
        return CalibratedSet.load(name), ""
    return CalibratedSet.load(calibrated), ""


def resolve_run_parameters(
    spec: TrialSpec,
    parameters: Mapping[str, float] | None,
    calibrated: bool | str | Path | CalibratedSet | None = None,
) -> tuple[dict[str, float] | None, dict[str, Any]]:
    """The typical-value overrides of a run and what it used.

    ``calibrated``: ``None`` (default) applies the default set's posterior median unless
    ``parameters`` is given (explicit typical values relative to the shipped set, as the
    calibration runner and sensitivity analysis pass); ``False`` or ``"uncalibrated"`` the
    shipped defaults; ``True`` the default set (an error if none is shipped); a name, path
    or :class:`CalibratedSet` that set. Explicit ``parameters`` win over the set's values.

    Returns (overrides or ``None``, info) where info has ``calibrated_set`` (name or
    ``None``), ``set_hash``, ``in_sample`` and ``note`` (one sentence for summaries).
    """
    info: dict[str, Any] = {"calibrated_set": None, "set_hash": None, "in_sample": None}
    if calibrated is None and parameters is not None:
        info["note"] = "explicit parameter values (relative to the uncalibrated shipped set)"
        return dict(parameters), info
    cset, why = _choose(calibrated)
    if cset is None:
        info["note"] = why
        return (dict(parameters) if parameters is not None else None), info
    problem = None
    if cset.model != spec.trial.model:
        problem = f"the set calibrates {cset.model}, this trial runs {spec.trial.model}"
    else:
        problem = cset.fingerprint_problem()
        if problem is not None:
            warnings.warn(
                f"calibrated set {cset.name} not applied: {problem}; using the uncalibrated "
                "shipped defaults",
                stacklevel=3,
            )
    if problem is not None:
        info["note"] = (
            f"uncalibrated shipped defaults: calibrated set {cset.name} not applied ({problem})"
        )
        return (dict(parameters) if parameters is not None else None), info
    from oncotwin.trials._plan import TrialPlan

    plan = TrialPlan.from_spec(spec, patients=1, seed=0, chunk_size=1)
    values = cset.overrides(cset.median_theta(), plan)
    if parameters:
        values.update({k: float(v) for k, v in parameters.items()})
    inside = cset.in_sample(spec)
    info.update(
        calibrated_set=cset.name,
        set_hash=cset.hash(),
        in_sample=inside,
        note=calibration_note(cset.name, inside),
    )
    return values, info


def calibration_note(name: str | None, in_sample: bool | None, *, predict: bool = False) -> str:
    """The sentence a summary, comparison or report shows about the parameters used.

    >>> calibration_note("set-A", False).split("; ")[0]
    'calibrated set set-A, posterior median, trial effect 0'
    >>> calibration_note(None, None)
    'uncalibrated shipped defaults'
    """
    if name is None:
        return "uncalibrated shipped defaults"
    how = (
        "posterior draws, trial effect integrated out"
        if predict
        else ("posterior median, trial effect 0")
    )
    where = (
        "this trial was among its calibration data (in sample: not a test of the model)"
        if in_sample
        else "this trial was not among its calibration data (out of sample)"
    )
    return f"calibrated set {name}, {how}; {where}"
