"""Global sensitivity analysis of a virtual trial, and screening of the calibration inputs
(issue 15 item 4).

A *factor* is one input varied over a range: either a model parameter's typical value (in the
parameter's unit; log-scaled when ``0 < low`` and ``high / low > 10``, else linear) or a
calibration quantity ``theta`` (a log-multiplier of the :class:`~oncotwin.calibration.Hierarchy`,
between its prior bounds). Every design point simulates the same trial with
:meth:`oncotwin.trials.Trial.summary` and the same seed (common random numbers: the same
virtual patients at every point, so a difference between points is the factors' effect, not
new sampling noise). Two global methods (SALib):

- **Morris** elementary effects (``method="morris"``): ``trajectories`` one-at-a-time paths
  through a 4-level grid, ``trajectories x (factors + 1)`` simulations. ``mu_star`` is the
  mean absolute change in the endpoint (in the endpoint's unit) when the factor moves across
  its whole (log or linear) range, ``sigma`` the spread of those changes (non-linearity or
  interaction). A screening method: it ranks factors cheaply.
- **Sobol'** first-order and total indices (``method="sobol"``): ``samples x (factors + 2)``
  simulations (Saltelli's scheme; ``samples`` a power of two): the share of the endpoint's
  variance over the box explained by the factor alone (``S1``) or with its interactions
  (``ST``), with bootstrap confidence half-widths.

Beside either, a one-at-a-time **tornado** runs the typical values and each factor at its low
and its high value (the others at their typical values, ``2 x factors + 1`` simulations): the
change in each endpoint from low to high.

:func:`screen_calibration` runs the same Morris machinery over the free quantities of the
calibration hierarchy that apply to each example trial and ranks them per calibration target
(``mu_star`` normalised by its largest value over the quantities of that target);
:func:`inert_quantities` names the quantities below a threshold for every target, which a
calibration may fix at ``theta = 0`` (fewer dimensions for the emulator and the posterior).

Design points are stored as they finish (``points.csv`` in the output folder, keyed by the
trial's spec text, model fingerprint, parameter values, patients and seed), so an interrupted
analysis resumes without re-simulating them. Research simulations, not medical advice.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import io
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER
from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError, did_you_mean

__all__ = [
    "DEFAULT_ENDPOINTS",
    "METHODS",
    "Factor",
    "SensitivityResult",
    "calibration_factors",
    "inert_quantities",
    "morris_effects",
    "morris_indices",
    "morris_partial",
    "parameter_factors",
    "parse_vary",
    "run_sensitivity",
    "screen_calibration",
    "sobol_indices",
    "tornado_table",
]

METHODS = ("morris", "sobol")
#: Endpoints analysed unless others are asked for.
DEFAULT_ENDPOINTS = ("ORR", "median_PFS_mo", "median_OS_mo", "OS_12mo")
#: Endpoints of ``Trial.summary`` (rates in %, medians in months, hazard ratios vs the
#: reference arm).
KNOWN_ENDPOINTS = (
    "ORR",
    "CR",
    "DCR",
    "median_PFS_mo",
    "PFS_6mo",
    "PFS_12mo",
    "PFS_24mo",
    "median_OS_mo",
    "OS_6mo",
    "OS_12mo",
    "OS_24mo",
    "median_DOR_mo",
    "g3plus_AE",
    "g3plus_irAE",
    "g3plus_CRS",
    "g3plus_ICANS",
    "HR_PFS",
    "HR_OS",
)
#: Morris grid levels (SALib's default; 4 levels with a jump of 2/3 of the range).
MORRIS_LEVELS = 4
#: Fewest Morris trajectories: sigma (the spread of the elementary effects) needs two.
MIN_TRAJECTORIES = 2
#: Fewest Sobol' base samples (a power of two).
MIN_SAMPLES = 4
#: A log scale is used when low > 0 and high / low exceeds this.
LOG_SPAN = 10.0
POINTS_FILE = "points.csv"
_INSTALL = "pip install 'oncotwin[calibrate]'"

#: ``simulate(overrides) -> summary`` (columns arm, endpoint, value; optionally unit).
Simulate = Callable[[Mapping[str, float]], pd.DataFrame]
Progress = Callable[[int, int, str], None]


# -- factors ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Factor:
    """One input varied over ``[low, high]``.

    ``scale``: ``"log"`` (sampled uniformly in log value), ``"linear"`` (uniformly in value)
    or ``"theta"`` (a calibration log-multiplier, sampled uniformly between its bounds; the
    values are theta, ``typical`` is 0). ``typical`` is the value the tornado holds a factor
    at while another one moves.
    """

    name: str
    low: float
    high: float
    typical: float
    unit: str
    scale: str

    @property
    def bounds(self) -> tuple[float, float]:
        """Bounds in the sampled space (log value for a log-scaled factor)."""
        if self.scale == "log":
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def value(self, x: float) -> float:
        """The factor's value at ``x`` of the sampled space."""
        return math.exp(x) if self.scale == "log" else float(x)

    def describe(self) -> str:
        """One line: range, unit and scale."""
        unit = f" {self.unit}" if self.unit and self.scale != "theta" else ""
        kind = {"log": "log-scaled", "linear": "linear", "theta": "log-multiplier theta"}
        return (
            f"{self.name}: {self.low:g}..{self.high:g}{unit} ({kind[self.scale]}; "
            f"typical {self.typical:g})"
        )


def parse_vary(items: Sequence[str]) -> list[tuple[str, float, float]]:
    """``NAME=LO:HI`` strings -> ``(name, lo, hi)``; one clear message per malformed item."""
    out: list[tuple[str, float, float]] = []
    seen: set[str] = set()
    for item in items:
        name, sep, rng = item.partition("=")
        lo_s, sep2, hi_s = rng.partition(":")
        name = name.strip()
        if not sep or not sep2 or not name:
            raise OncotwinError(
                f"--vary {item!r} is not NAME=LO:HI; write e.g. --vary growth_rate=0.002:0.008 "
                "(low and high typical values in the parameter's unit)"
            )
        try:
            lo, hi = float(lo_s), float(hi_s)
        except ValueError:
            raise OncotwinError(
                f"--vary {item!r}: {lo_s.strip()!r}:{hi_s.strip()!r} is not two numbers; write "
                "e.g. --vary growth_rate=0.002:0.008"
            ) from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise OncotwinError(f"--vary {item!r}: give finite low and high values")
        if lo >= hi:
            raise OncotwinError(
                f"--vary {item!r}: low {lo:g} is not below high {hi:g}; give LO < HI"
            )
        if lo < 0:
            raise OncotwinError(
                f"--vary {item!r}: low {lo:g} is negative; typical values are >= 0, give LO >= 0"
            )
        if name in seen:
            raise OncotwinError(f"--vary {name} is given twice; give each parameter once")
        seen.add(name)
        out.append((name, lo, hi))
    return out


def parameter_factors(trial: Any, vary: Sequence[tuple[str, float, float]]) -> list[Factor]:
    """Factors for model parameters of ``trial`` (a :class:`~oncotwin.trials.Trial`).

    Checks each name against the trial's model (did-you-mean) and refuses a parameter that is
    0 in the trial's set (``Trial.summary`` scales typical values, and 0 cannot be scaled).
    """
    if not vary:
        raise OncotwinError(
            "nothing to vary: give --vary NAME=LO:HI (a model parameter) or --vary-calibration"
        )
    plan = trial.plan(patients=1)
    model = plan.model()
    typical_set = plan.parameter_set()
    out = []
    for name, lo, hi in vary:
        if name not in model.parameters:
            raise UnknownNameError(
                f"--vary: {did_you_mean(name, list(model.parameters), what='parameter')} "
                f"(parameters of model {model.name}: `oncotwin models {model.name}`)"
            )
        rec = typical_set[name] if name in typical_set else model.parameters[name]
        typical = float(rec.value)
        if typical == 0:
            raise ParameterError(
                f"--vary {name}: {name} is 0 in {typical_set.name}, so Trial.summary cannot scale "
                "it (each patient's value is multiplied by new/typical); vary another parameter "
                "or change it in a parameter set"
            )
        scale = "log" if lo > 0 and hi / lo > LOG_SPAN else "linear"
        out.append(Factor(name, lo, hi, typical, str(getattr(rec, "unit", "")), scale))
    return out


def _applies(q: Any, cancer: str) -> bool:
    return q.level != "cancer" or q.cancer == cancer


def calibration_factors(hierarchy: Any, example: str) -> tuple[list[Factor], list[str]]:
    """The free quantities of ``hierarchy`` that can move example trial ``example``: global
    and toxicity quantities and the offsets of its cancer, as theta factors between their
    bounds. Returns ``(factors, notes)``; a quantity whose parameters are all 0 in the trial's
    set moves nothing and is left out with a note."""
    from oncotwin.trials import Trial

    plan = Trial.from_example(example).plan(patients=1)
    typical = plan.parameter_set()
    factors, notes = [], []
    for q in hierarchy.free:
        if not getattr(q, "parameter", None) or not _applies(q, plan.cancer):
            continue
        if all(p in typical and float(typical[p].value) == 0 for p in q.parameters):
            notes.append(f"{q.name}: 0 in {typical.name} (cannot be scaled); left out")
            continue
        lo, hi = float(q.lower), float(q.upper)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise OncotwinError(
                f"hierarchy: quantity {q.name} has theta bounds ({lo}, {hi}); give finite "
                "bounds with lower < upper (fix its parameter's prior_range)"
            )
        factors.append(Factor(q.name, lo, hi, 0.0, str(q.unit), "theta"))
    if not factors:
        raise OncotwinError(
            f"--vary-calibration: no free calibration quantity applies to {example}; vary "
            "model parameters with --vary NAME=LO:HI"
        )
    return factors, notes


# -- designs ---------------------------------------------------------------------------------
def _salib(what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"SALib.{what}")
    except ImportError:
        raise OncotwinError(f"sensitivity analysis needs SALib: {_INSTALL}") from None


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [list(f.bounds) for f in factors],
    }


def check_size(method: str, size: int) -> None:
    """Refuse too few Morris trajectories or Sobol' samples, with the fix."""
    if method not in METHODS:
        raise OncotwinError(f"--method {method!r} is unknown; give one of {', '.join(METHODS)}")
    if method == "morris" and size < MIN_TRAJECTORIES:
        raise OncotwinError(
            f"--trajectories {size}: Morris needs at least {MIN_TRAJECTORIES} trajectories (the "
            "spread sigma of the elementary effects needs two; 4-10 are usual)"
        )
    if method == "sobol" and (size < MIN_SAMPLES or size & (size - 1)):
        raise OncotwinError(
            f"--samples {size}: Sobol' needs a power of two >= {MIN_SAMPLES} base samples "
            "(e.g. 64, 128, 256; each costs factors + 2 simulations)"
        )


def design(factors: Sequence[Factor], method: str, size: int, seed: int) -> np.ndarray:
    """The design matrix (one row per point, sampled-space values, columns = factors)."""
    check_size(method, size)
    problem = _problem(factors)
    if method == "morris":
        return _salib("sample.morris").sample(
            problem, size, num_levels=MORRIS_LEVELS, seed=int(seed)
        )
    return _salib("sample.sobol").sample(
        problem, size, calc_second_order=False, scramble=True, seed=int(seed)
    )


def oat_design(factors: Sequence[Factor]) -> np.ndarray:
    """Typical values (row 0), then each factor at its low and its high value."""
    base = np.array([_x(f, f.typical) for f in factors])
    rows = [base]
    for i, f in enumerate(factors):
        for x in f.bounds:
            r = base.copy()
            r[i] = x
            rows.append(r)
    return np.vstack(rows)


def _x(f: Factor, value: float) -> float:
    """Sampled-space coordinate of a factor value (the typical value may lie outside)."""
    if f.scale == "log":
        return math.log(value) if value > 0 else math.log(f.low)
    return float(value)


# -- indices ---------------------------------------------------------------------------------
def morris_indices(
    factors: Sequence[Factor], x: np.ndarray, y: np.ndarray, seed: int = 0
) -> pd.DataFrame:
    """Morris ``mu``, ``mu_star`` (with its 95% bootstrap half-width) and ``sigma`` of one
    output ``y`` at the design ``x`` (from :func:`design`). ``mu_star`` is in ``y``'s unit per
    move across a factor's whole range."""
    ma = _salib("analyze.morris")
    r = ma.analyze(
        _problem(factors),
        np.asarray(x, float),
        np.asarray(y, float),
        num_levels=MORRIS_LEVELS,
        seed=int(seed),
    )
    return pd.DataFrame(
        {
            "parameter": [f.name for f in factors],
            "effects": len(x) // (len(factors) + 1),
            "mu": np.asarray(r["mu"], float),
            "mu_star": np.asarray(r["mu_star"], float),
            "mu_star_conf": np.asarray(r["mu_star_conf"], float),
            "sigma": np.asarray(r["sigma"], float),
        }
    )


def morris_effects(factors: Sequence[Factor], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The elementary effects of each factor along the trajectories of a Morris design ``x``
    (blocks of ``factors + 1`` rows, consecutive rows differing in one factor): the change in
    ``y`` per move across the factor's whole range, NaN where either end is not finite."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    d = len(factors)
    width = np.array([f.bounds[1] - f.bounds[0] for f in factors])
    out: list[list[float]] = [[] for _ in range(d)]
    for start in range(0, len(x) - d, d + 1):
        for j in range(start, start + d):
            step = (x[j + 1] - x[j]) / width
            i = int(np.argmax(np.abs(step)))
            with np.errstate(invalid="ignore"):
                out[i].append((y[j + 1] - y[j]) / step[i])
    return [np.asarray(e, float) for e in out]


def morris_partial(factors: Sequence[Factor], x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Morris ``mu``, ``mu_star`` and ``sigma`` from the elementary effects whose two ends are
    finite (``effects`` of them per factor): for an endpoint that is not finite at some design
    points (a median not reached). Same values as :func:`morris_indices` when every point is
    finite; no bootstrap interval."""
    rows = []
    for f, e in zip(factors, morris_effects(factors, x, y), strict=True):
        e = e[np.isfinite(e)]
        rows.append(
            {
                "parameter": f.name,
                "effects": len(e),
                "mu": e.mean() if len(e) else np.nan,
                "mu_star": np.abs(e).mean() if len(e) else np.nan,
                "mu_star_conf": np.nan,
                "sigma": e.std(ddof=1) if len(e) > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def sobol_indices(factors: Sequence[Factor], y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Sobol' first-order ``S1`` and total ``ST`` indices with 95% bootstrap half-widths of one
    output ``y`` at the Saltelli design of :func:`design`. A constant output has all indices 0."""
    y = np.asarray(y, float)
    names = [f.name for f in factors]
    if np.ptp(y) == 0:
        z = np.zeros(len(factors))
        return pd.DataFrame(
            {"parameter": names, "S1": z, "S1_conf": z, "ST": z, "ST_conf": z.copy()}
        )
    sa = _salib("analyze.sobol")
    r = sa.analyze(_problem(factors), y, calc_second_order=False, seed=int(seed))
    return pd.DataFrame(
        {
            "parameter": names,
            "S1": np.asarray(r["S1"], float),
            "S1_conf": np.asarray(r["S1_conf"], float),
            "ST": np.asarray(r["ST"], float),
            "ST_conf": np.asarray(r["ST_conf"], float),
        }
    )


def tornado_table(factors: Sequence[Factor], oat: pd.DataFrame) -> pd.DataFrame:
    """One-at-a-time changes from the results of :func:`oat_design` (long frame: point, arm,
    endpoint, value). Columns parameter, arm, endpoint, typical (endpoint at the typical
    values), at_low, at_high, change (high - low); NaN where an endpoint is not finite."""
    rows = []
    wide = oat.pivot_table(index=["arm", "endpoint"], columns="point", values="value")
    for (arm, endpoint), vals in wide.iterrows():
        base = vals.get(0, np.nan)
        for i, f in enumerate(factors):
            lo, hi = vals.get(1 + 2 * i, np.nan), vals.get(2 + 2 * i, np.nan)
            change = hi - lo if np.isfinite(lo) and np.isfinite(hi) else np.nan
            rows.append(
                {
                    "parameter": f.name,
                    "arm": arm,
                    "endpoint": endpoint,
                    "typical": base,
                    "at_low": lo,
                    "at_high": hi,
                    "change": change,
                }
            )
    return pd.DataFrame(rows)


# -- running points --------------------------------------------------------------------------
def _point_key(identity: str, overrides: Mapping[str, float]) -> str:
    text = identity + ";" + ";".join(f"{k}={float(v)!r}" for k, v in sorted(overrides.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class PointCache:
    """Finished design points in ``DIR/points.csv`` (one row per point, arm and endpoint;
    a point's rows are written in one append with their count, so a point cut short by a kill
    is ignored and re-run)."""

    COLUMNS = ("key", "rows", "kind", "overrides", "arm", "endpoint", "value", "unit")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._done: dict[str, pd.DataFrame] = {}
        if path is not None and path.exists():
            try:
                df = pd.read_csv(path, on_bad_lines="skip", keep_default_na=False)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
                df = pd.DataFrame(columns=self.COLUMNS)
            if set(self.COLUMNS) <= set(df.columns):
                df["value"] = pd.to_numeric(df["value"], errors="coerce")
                for key, g in df.groupby("key", sort=False):
                    if len(g) == int(pd.to_numeric(g["rows"], errors="coerce").iloc[0] or -1):
                        self._done[str(key)] = g[["arm", "endpoint", "value", "unit"]]

    def get(self, key: str) -> pd.DataFrame | None:
        return self._done.get(key)

    def put(self, key: str, kind: str, overrides: Mapping[str, float], df: pd.DataFrame) -> None:
        self._done[key] = df
        if self.path is None:
            return
        rows = df.assign(
            key=key,
            rows=len(df),
            kind=kind,
            overrides=json.dumps({k: float(v) for k, v in overrides.items()}, sort_keys=True),
        )[list(self.COLUMNS)]
        new = not self.path.exists() or self.path.stat().st_size == 0
        text = rows.to_csv(index=False, header=new)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    def __len__(self) -> int:
        return len(self._done)


def _summary_rows(summary: pd.DataFrame, endpoints: Sequence[str] | None) -> pd.DataFrame:
    df = summary
    if endpoints is not None:
        df = df[df["endpoint"].isin(list(endpoints))]
    unit = df["unit"] if "unit" in df.columns else ""
    return pd.DataFrame(
        {
            "arm": df["arm"].astype(str).to_numpy(),
            "endpoint": df["endpoint"].astype(str).to_numpy(),
            "value": pd.to_numeric(df["value"], errors="coerce").to_numpy(float),
            "unit": np.asarray(unit, dtype=object) if len(df) else [],
        }
    )


def run_points(
    factors: Sequence[Factor],
    x: np.ndarray,
    to_overrides: Callable[[Mapping[str, float]], dict[str, float]],
    simulate: Simulate,
    *,
    kind: str,
    identity: str,
    cache: PointCache,
    endpoints: Sequence[str] | None,
    progress: Progress | None = None,
    offset: int = 0,
    total: int | None = None,
    failures: list[str] | None = None,
) -> pd.DataFrame:
    """Simulate every row of ``x`` (skipping those in ``cache``); long frame point, arm,
    endpoint, value, unit. A point whose simulation is refused (e.g. a patient's value pushed
    outside the parameter's valid range) gives no rows and its message goes to ``failures``
    (not stored: a rerun tries it again); when every point fails, the first error is raised."""
    frames = []
    first_error: OncotwinError | None = None
    total = len(x) if total is None else total
    for i, row in enumerate(np.asarray(x, float)):
        values = {f.name: f.value(xi) for f, xi in zip(factors, row, strict=True)}
        overrides = to_overrides(values)
        key = _point_key(identity, overrides)
        got = cache.get(key)
        if got is None:
            if progress is not None:
                progress(offset + i, total, f"{kind} point {i + 1}/{len(x)}")
            try:
                got = _summary_rows(simulate(overrides), endpoints)
            except OncotwinError as exc:
                first_error = first_error or exc
                if failures is not None:
                    failures.append(f"{kind} point {i + 1}: {exc}")
                got = None
            if got is not None:
                cache.put(key, kind, overrides, got)
        if got is not None:
            frames.append(got.assign(point=i))
        if progress is not None:
            progress(offset + i + 1, total, f"{kind} point {i + 1}/{len(x)}")
    if not frames:
        if first_error is not None:
            raise first_error
        return pd.DataFrame(columns=["arm", "endpoint", "value", "unit", "point"])
    return pd.concat(frames, ignore_index=True)


# -- the analysis ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SensitivityResult:
    """Indices per factor, arm and endpoint (:attr:`indices`), the one-at-a-time table
    (:attr:`tornado`), the factors, the method and what it cost."""

    trial: str
    factors: tuple[Factor, ...]
    method: str
    size: int
    patients: int
    seed: int
    indices: pd.DataFrame
    tornado: pd.DataFrame
    simulations: int
    simulated_now: int
    wall_s: float
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """``sensitivity.csv``'s table: indices joined with the one-at-a-time change."""
        cols = ["parameter", "arm", "endpoint", "typical", "at_low", "at_high", "change"]
        t = self.tornado[cols] if len(self.tornado) else pd.DataFrame(columns=cols)
        return self.indices.merge(t, on=["parameter", "arm", "endpoint"], how="left")

    def ranking(self, arm: str, endpoint: str) -> list[str]:
        """Factors from most to least influential on ``endpoint`` of ``arm`` (by mu_star for
        Morris, ST for Sobol')."""
        col = "mu_star" if self.method == "morris" else "ST"
        d = self.indices[(self.indices["arm"] == arm) & (self.indices["endpoint"] == endpoint)]
        return list(d.sort_values(col, ascending=False, na_position="last")["parameter"])

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``sensitivity.csv``, ``tornado.png`` and ``sensitivity.html`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "csv": out / "sensitivity.csv",
            "png": out / "tornado.png",
            "html": out / "sensitivity.html",
        }
        self.table().to_csv(paths["csv"], index=False)
        png = tornado_png(self)
        paths["png"].write_bytes(png)
        paths["html"].write_text(self.html(png), encoding="utf-8")
        return paths

    def html(self, png: bytes) -> str:
        """The HTML page: settings, factors, the figure and the table."""
        table = self.table()
        fmt = {c: "{:.4g}".format for c in table.columns if table[c].dtype.kind == "f"}
        body = table.to_html(index=False, formatters=fmt, na_rep="", border=0)
        factors = "".join(f"<li>{html.escape(f.describe())}</li>" for f in self.factors)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        size = "trajectories" if self.method == "morris" else "base samples"
        meaning = (
            "mu_star: mean absolute change of the endpoint (its unit) when a factor moves across "
            "its whole range; sigma: spread of those changes (non-linearity, interactions)."
            if self.method == "morris"
            else "S1/ST: share of the endpoint's variance over the box explained by the factor "
            "alone / with its interactions (_conf: 95% bootstrap half-width)."
        )
        figure_text = (
            "Change in each endpoint from the low to the high value of each factor, one at a "
            "time with the others at their typical values (sorted by size)."
            if len(self.tornado)
            else "No one-at-a-time runs (tornado off): the bars are the indices, sorted by size."
        )
        return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Sensitivity: {html.escape(self.trial)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;font-size:12px}}
td,th{{padding:2px 6px;border-bottom:1px solid #ddd}}
.warn{{background:#fff3cd;padding:.5em 1em;border-left:4px solid #c90}}</style></head><body>
<h1>Sensitivity analysis: {html.escape(self.trial)}</h1>
<p class="warn"><b>Research simulation, not medical advice.</b> {html.escape(DISCLAIMER)}</p>
<p>Method: <b>{self.method}</b> ({self.size} {size}); {self.patients} virtual patients, seed
{self.seed}, the same patients at every design point (common random numbers);
{self.simulations} simulations ({self.simulated_now} run now), {self.wall_s:.1f} s.</p>
<h2>Factors</h2><ul>{factors}</ul>
{"<h2>Notes</h2><ul>" + notes + "</ul>" if notes else ""}
<h2>{"Tornado" if len(self.tornado) else "Indices by factor"}</h2><p>{figure_text}</p>
<img src="data:image/png;base64,{base64.b64encode(png).decode()}" style="max-width:100%">
<h2>Indices</h2><p>{html.escape(meaning)} typical/at_low/at_high/change: the one-at-a-time
runs.</p>
{body}
</body></html>
"""


def tornado_png(result: SensitivityResult) -> bytes:
    """The tornado figure: one panel per endpoint and arm, bars from the endpoint at a factor's
    low value to its high value (relative to the typical run), sorted by size."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if result.tornado.empty:
        return _index_bars_png(result)
    t = result.tornado
    order = result.indices if len(result.indices) else t  # the summary's order, not sorted
    endpoints = [e for e in dict.fromkeys(order["endpoint"]) if e in set(t["endpoint"])]
    arms = [a for a in dict.fromkeys(order["arm"]) if a in set(t["arm"])]
    nr, nc = max(1, len(endpoints)), max(1, len(arms))
    fig, axes = plt.subplots(
        nr, nc, figsize=(4.2 * nc, 0.5 + (0.35 * len(result.factors) + 0.9) * nr), squeeze=False
    )
    colours = {"at_low": "#4c72b0", "at_high": "#dd8452"}
    for i, ep in enumerate(endpoints):
        for j, arm in enumerate(arms):
            ax = axes[i][j]
            d = t[(t["endpoint"] == ep) & (t["arm"] == arm)].copy()
            if d.empty:
                ax.axis("off")
                continue
            d["size"] = d["change"].abs()
            d = d.sort_values("size", ascending=True, na_position="first")
            base = float(d["typical"].iloc[0])
            finite = d[["at_low", "at_high"]].to_numpy(float)
            finite = finite[np.isfinite(finite)]
            ref = base if np.isfinite(base) else (float(finite.mean()) if finite.size else 0.0)
            for k, (_, r) in enumerate(d.iterrows()):
                missing = []
                for col in ("at_low", "at_high"):
                    if np.isfinite(r[col]) and np.isfinite(base):
                        ax.barh(k, r[col] - base, left=base, color=colours[col], height=0.6)
                    elif np.isfinite(r[col]):
                        ax.plot([r[col]], [k], "o", color=colours[col], ms=5)
                    else:
                        why = "not reached" if np.isinf(r[col]) else "no value"
                        missing.append(f"{col[3:]}: {why}")
                if missing:
                    label = "; ".join(missing)
                    ax.text(ref, k, f" {label}", va="center", fontsize=7, color="#555")
            if np.isfinite(base):
                ax.axvline(base, color="k", lw=0.8)
            ax.use_sticky_edges = False  # bars start at the typical value: keep a margin
            ax.margins(x=0.1)
            ax.set_yticks(np.arange(len(d)), list(d["parameter"]), fontsize=8)
            title = f"{ep} - {arm}"
            if not np.isfinite(base):
                title += " (typical: not reached)" if np.isinf(base) else " (typical: no value)"
            ax.set_title(title, fontsize=9)
            ax.tick_params(axis="x", labelsize=8)
    from matplotlib.patches import Patch

    fig.legend(
        handles=[Patch(color="#4c72b0", label="low"), Patch(color="#dd8452", label="high")],
        loc="upper right",
        fontsize=8,
    )
    fig.suptitle(f"{result.trial}: one-at-a-time ranges ({DISCLAIMER})", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _index_bars_png(result: SensitivityResult) -> bytes:
    """Without one-at-a-time runs: bars of mu_star (Morris, with its interval) or of S1 and
    ST (Sobol'), per endpoint and arm, sorted by size."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    idx = result.indices
    endpoints = list(dict.fromkeys(idx["endpoint"]))
    arms = list(dict.fromkeys(idx["arm"]))
    nr, nc = max(1, len(endpoints)), max(1, len(arms))
    fig, axes = plt.subplots(
        nr, nc, figsize=(4.2 * nc, 0.5 + (0.3 * len(result.factors) + 0.9) * nr), squeeze=False
    )
    col = "mu_star" if result.method == "morris" else "ST"
    for i, ep in enumerate(endpoints):
        for j, arm in enumerate(arms):
            ax = axes[i][j]
            d = idx[(idx["endpoint"] == ep) & (idx["arm"] == arm)]
            d = d.sort_values(col, ascending=True, na_position="first")
            if d.empty:
                ax.axis("off")
                continue
            y = np.arange(len(d))
            v = d[col].to_numpy(float)
            err = d[f"{col}_conf"].to_numpy(float)
            ax.barh(y, np.nan_to_num(v), xerr=np.where(np.isfinite(err), err, 0), height=0.6)
            if result.method == "sobol":
                ax.plot(np.nan_to_num(d["S1"].to_numpy(float)), y, "k|", ms=10, label="S1")
            unit = str(d["unit"].iloc[0]) if result.method == "morris" else "share of variance"
            ax.set_yticks(y, list(d["parameter"]), fontsize=8)
            ax.set_title(f"{ep} - {arm}", fontsize=9)
            ax.set_xlabel(f"{col} [{unit}]", fontsize=8)
            ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"{result.trial}: {result.method} indices ({DISCLAIMER})", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _indices(
    factors: Sequence[Factor],
    method: str,
    x: np.ndarray,
    results: pd.DataFrame,
    seed: int,
) -> tuple[pd.DataFrame, list[str]]:
    """Indices for every (arm, endpoint) of ``results`` (long frame from run_points)."""
    frames, notes = [], []
    n = len(x)
    for (arm, endpoint), g in results.groupby(["arm", "endpoint"], sort=False):
        y = np.full(n, np.nan)
        y[g["point"].to_numpy(int)] = g["value"].to_numpy(float)
        unit = str(g["unit"].iloc[0]) if "unit" in g else ""
        bad = int((~np.isfinite(y)).sum())
        if bad and method == "morris":
            idx = morris_partial(factors, x, y)
            notes.append(
                f"{arm} {endpoint}: not finite at {bad} of {n} design points (a median not "
                "reached or no value at the follow-up); Morris indices from the "
                f"{int(idx['effects'].min())}-{int(idx['effects'].max())} elementary effects per "
                "factor between finite points (no confidence interval)"
            )
        elif bad:
            notes.append(
                f"{arm} {endpoint}: not finite at {bad} of {n} design points (a median not "
                "reached or no value at the follow-up), no Sobol' index; more patients or "
                "another endpoint helps"
            )
            idx = pd.DataFrame({"parameter": [f.name for f in factors]})
        elif method == "morris":
            idx = morris_indices(factors, x, y, seed)
        else:
            idx = sobol_indices(factors, y, seed)
        frames.append(
            idx.assign(arm=arm, endpoint=endpoint, unit=unit, method=method, points=n - bad)
        )
    cols = ["parameter", "arm", "endpoint", "unit", "method", "points"]
    cols += ["effects", "mu", "mu_star", "mu_star_conf", "sigma"] if method == "morris" else []
    cols += ["S1", "S1_conf", "ST", "ST_conf"] if method == "sobol" else []
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return df.reindex(columns=cols), notes


def analyse(
    factors: Sequence[Factor],
    simulate: Simulate,
    *,
    to_overrides: Callable[[Mapping[str, float]], dict[str, float]],
    method: str = "morris",
    size: int = 4,
    seed: int = 0,
    identity: str = "",
    endpoints: Sequence[str] | None = DEFAULT_ENDPOINTS,
    tornado: bool = True,
    cache: PointCache | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int, int, list[str]]:
    """Run a design and its one-at-a-time runs through ``simulate``; returns (indices,
    tornado, simulations, simulated now, notes). The generic engine of :func:`run_sensitivity`
    and :func:`screen_calibration` (``simulate`` may be any function of the overrides)."""
    factors = list(factors)
    if not factors:
        raise OncotwinError("nothing to vary: give at least one factor")
    x = design(factors, method, size, seed)
    xo = oat_design(factors) if tornado else np.empty((0, len(factors)))
    cache = cache if cache is not None else PointCache(None)
    before = len(cache)
    total = len(x) + len(xo)
    failures: list[str] = []
    common = dict(
        identity=identity,
        cache=cache,
        endpoints=endpoints,
        progress=progress,
        failures=failures,
    )
    res = run_points(factors, x, to_overrides, simulate, kind=method, total=total, **common)  # type: ignore[arg-type]
    idx, notes = _indices(factors, method, x, res, seed)
    tor = pd.DataFrame(
        columns=["parameter", "arm", "endpoint", "typical", "at_low", "at_high", "change"]
    )
    if tornado:
        oat = run_points(
            factors,
            xo,
            to_overrides,
            simulate,
            kind="tornado",
            offset=len(x),
            total=total,
            **common,
        )  # type: ignore[arg-type]
        tor = tornado_table(factors, oat)
    if failures:
        notes.insert(
            0,
            f"{len(failures)} of {total} simulations refused (their points are left out of "
            f"the indices; not stored, a rerun tries them again); first: {failures[0]}",
        )
    return idx, tor, total, len(cache) - before, notes


def _check_endpoints(endpoints: Sequence[str] | None) -> list[str] | None:
    if endpoints is None:
        return None
    out = []
    for e in endpoints:
        e = e.strip()
        if e and e not in KNOWN_ENDPOINTS:
            raise UnknownNameError(
                "--endpoints: " + did_you_mean(e, KNOWN_ENDPOINTS, what="endpoint")
            )
        if e and e not in out:
            out.append(e)
    if not out:
        raise OncotwinError("--endpoints: give at least one endpoint, e.g. ORR,median_OS_mo")
    return out


def trial_identity(trial: Any, patients: int, seed: int) -> str:
    """What makes a stored point reusable: the spec text, the model fingerprint, the set's
    parameter values, patients and seed."""
    plan = trial.plan(patients=patients, seed=seed)
    spec = hashlib.sha256(trial.spec.text.encode()).hexdigest()[:16]
    return f"{spec};{plan.model().fingerprint};{plan.parameters_hash()};{patients};{seed}"


def run_sensitivity(
    trial: Any,
    factors: Sequence[Factor],
    *,
    method: str = "morris",
    size: int = 4,
    patients: int = 100,
    seed: int | None = None,
    endpoints: Sequence[str] | None = DEFAULT_ENDPOINTS,
    out: str | Path | None = None,
    to_overrides: Callable[[Mapping[str, float]], dict[str, float]] | None = None,
    progress: Progress | None = None,
    notes: Sequence[str] = (),
    tornado: bool = True,
) -> SensitivityResult:
    """Sensitivity of ``trial``'s endpoints to ``factors`` (see the module docstring).

    ``size``: Morris trajectories or Sobol' base samples. ``to_overrides`` maps factor values
    to ``Trial.summary(parameters=...)`` (default: the values are the parameters' typical
    values). With ``out``, finished points go to ``out/points.csv`` (a rerun skips them) and
    the CSV, figure and HTML are written there. ``tornado=False`` skips the one-at-a-time
    runs (``2 x factors + 1`` simulations); the figure then shows the index bars.
    """
    check_size(method, int(size))
    if int(patients) < 1:
        raise OncotwinError(f"--patients {patients}; give a whole number of patients >= 1")
    eps = _check_endpoints(endpoints)
    run_seed = int(trial.spec.trial.seed if seed is None else seed)
    t0 = time.perf_counter()
    cache = PointCache(None)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        cache = PointCache(Path(out) / POINTS_FILE)

    def simulate(overrides: Mapping[str, float]) -> pd.DataFrame:
        return trial.summary(patients=int(patients), seed=run_seed, parameters=dict(overrides))

    idx, tor, n_sims, n_now, more = analyse(
        factors,
        simulate,
        to_overrides=to_overrides or (lambda v: dict(v)),
        method=method,
        size=int(size),
        seed=run_seed,
        identity=trial_identity(trial, int(patients), run_seed),
        endpoints=eps,
        cache=cache,
        progress=progress,
        tornado=tornado,
    )
    result = SensitivityResult(
        trial=trial.name,
        factors=tuple(factors),
        method=method,
        size=int(size),
        patients=int(patients),
        seed=run_seed,
        indices=idx,
        tornado=tor,
        simulations=n_sims,
        simulated_now=n_now,
        wall_s=time.perf_counter() - t0,
        notes=(*notes, *more),
    )
    if out is not None:
        result.write(out)
    return result


# -- screening the calibration inputs --------------------------------------------------------
def screen_calibration(
    hierarchy: Any,
    examples: Sequence[str],
    patients: int,
    trajectories: int,
    seed: int,
    *,
    targets: Sequence[Any] | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """Rank the free calibration quantities per calibration target by Morris ``mu_star``.

    For each example trial, a Morris design (``trajectories`` paths) over the quantities that
    apply to it (:func:`calibration_factors`; theta between its bounds, the others at 0) is
    simulated at ``patients`` with ``seed``; each of the example's targets
    (``load_targets()`` unless ``targets`` is given) gets one row per quantity.

    Returns columns target_id, example, arm, endpoint, quantity, mu_star (endpoint unit per
    move across the quantity's whole theta range), mu_star_conf, sigma, mu_star_norm
    (``mu_star`` / the largest ``mu_star`` of that target, in [0, 1]; 0 when nothing moves
    it; from the elementary effects between finite points where the simulated endpoint
    is not finite at some points, NaN when none is left) and rank (1 = most
    influential); ``.attrs["notes"]`` lists refused simulations, endpoints that are not
    finite at some points and quantities left out. Feed it to :func:`inert_quantities` to
    find the quantities a calibration can fix; ``exclude`` names quantities to leave at 0.
    With ``out``, points are stored in ``out/<example>/points.csv`` (resumable).
    """
    from oncotwin.trials import Trial

    if targets is None:
        from oncotwin.calibration.targets import load_targets

        targets = load_targets()
    check_size("morris", int(trajectories))
    frames = []
    notes: list[str] = []
    for ex in examples:
        ts = [t for t in targets if t.example == ex]
        if not ts:
            raise OncotwinError(
                "examples: "
                + did_you_mean(
                    ex, sorted({t.example for t in targets}), what="example with targets"
                )
            )
        trial = Trial.from_example(ex)
        for name in exclude:
            hierarchy.quantity(name)  # did-you-mean for an unknown name
        factors, skipped = calibration_factors(hierarchy, ex)
        factors = [f for f in factors if f.name not in set(exclude)]
        if not factors:
            raise OncotwinError(f"exclude: every quantity of {ex} is excluded; nothing to screen")
        cache = PointCache(None)
        if out is not None:
            d = Path(out) / ex
            d.mkdir(parents=True, exist_ok=True)
            cache = PointCache(d / POINTS_FILE)

        def simulate(overrides: Mapping[str, float], trial: Any = trial) -> pd.DataFrame:
            return trial.summary(patients=int(patients), seed=int(seed), parameters=overrides)

        def to_overrides(values: Mapping[str, float], ex: str = ex) -> dict[str, float]:
            return hierarchy.overrides(values, ex)

        endpoints = sorted({t.endpoint for t in ts})
        notes += [f"{ex}: {n}" for n in skipped]
        idx, _, _, _, ex_notes = analyse(
            factors,
            simulate,
            to_overrides=to_overrides,
            method="morris",
            size=int(trajectories),
            seed=int(seed),
            identity=trial_identity(trial, int(patients), int(seed)),
            endpoints=endpoints,
            tornado=False,
            cache=cache,
            progress=progress,
        )
        notes += [f"{ex}: {n}" for n in ex_notes]
        for t in ts:
            d = idx[(idx["arm"] == t.arm) & (idx["endpoint"] == t.endpoint)]
            if d.empty:
                continue
            d = d.rename(columns={"parameter": "quantity"}).copy()
            top = d["mu_star"].max()
            d["mu_star_norm"] = d["mu_star"] / top if top and np.isfinite(top) else d["mu_star"] * 0
            d["rank"] = d["mu_star"].rank(ascending=False, method="min")
            d.insert(0, "target_id", t.target_id)
            d.insert(1, "example", ex)
            frames.append(d)
    cols = ["target_id", "example", "arm", "endpoint", "quantity", "mu_star", "mu_star_conf"]
    cols += ["sigma", "mu_star_norm", "rank"]
    table = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    table.attrs["notes"] = notes
    return table


def inert_quantities(screen: pd.DataFrame, threshold: float = 0.05) -> list[str]:
    """Quantities of a :func:`screen_calibration` table whose normalised ``mu_star`` is below
    ``threshold`` for every target they were screened on (targets with no finite index are
    ignored): candidates to fix at ``theta = 0``."""
    d = screen.dropna(subset=["mu_star_norm"])
    if d.empty:
        return []
    top = d.groupby("quantity")["mu_star_norm"].max()
    return sorted(top[top < float(threshold)].index)
