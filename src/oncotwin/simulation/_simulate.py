"""Model + regimen + population -> one batched solve (dosing rules applied): :func:`simulate`.

Research simulations only: results are not medical advice.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from oncotwin._constants import DISCLAIMER
from oncotwin._version import __version__
from oncotwin.citations import cite, used_citations
from oncotwin.errors import OncotwinError, SolverError
from oncotwin.models.readouts import clinical_readouts
from oncotwin.pharmacology import get_drug
from oncotwin.population import Population, sample_population
from oncotwin.regimens import DosingRules, Regimen, parse_regimen
from oncotwin.simulation._dosing import solve_with_rules
from oncotwin.simulation._events import regimen_dose_events
from oncotwin.solvers import EventTable, Solution, SolverOptions, solve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.models.base import Model
    from oncotwin.population.virtual import VirtualPopulation


class EventSource(Protocol):
    """Something that gives a population's events (e.g. :class:`oncotwin.io.SbmlImport`)."""

    def events(self, n_patients: int, t_end: float, params: np.ndarray) -> EventTable: ...


__all__ = ["EventSource", "SimulationResult", "output_times", "simulate"]


#: Most output times one simulation may ask for (a 50-year horizon every 5 hours fits).
MAX_OUTPUT_TIMES = 100_000


def output_times(days: float, every: float = 1.0) -> np.ndarray:
    """Output grid ``0, every, 2*every, ..., days`` [day] (``days`` always included).

    ``days`` is at most 50 years (:data:`~oncotwin.regimens.schedule.MAX_HORIZON_DAYS`) and
    the grid at most :data:`MAX_OUTPUT_TIMES` times; beyond either the call is refused.
    """
    from oncotwin.regimens._names import MAX_HORIZON_DAYS

    if not (isinstance(days, numbers.Real) and math.isfinite(days) and days > 0):
        raise SolverError(f"days={days!r}; give a simulation horizon > 0 in days")
    if days > MAX_HORIZON_DAYS:
        raise SolverError(
            f"days={days:g} is above the limit of {MAX_HORIZON_DAYS:g} days (50 years); "
            "give a shorter horizon"
        )
    if not (isinstance(every, numbers.Real) and math.isfinite(every) and every > 0):
        raise SolverError(f"output interval every={every!r}; give a positive number of days")
    n = math.ceil(days / every) + 1
    if n > MAX_OUTPUT_TIMES:
        raise SolverError(
            f"output interval every={every:g} gives {n:,} output times over {days:g} days, "
            f"above the limit of {MAX_OUTPUT_TIMES:,}; give every >= "
            f"{days / (MAX_OUTPUT_TIMES - 1):.3g}"
        )
    t = np.arange(0.0, days, every)
    return np.append(t, float(days)) if t[-1] < days else t


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """A solved population with what produced it (model, regimen, population, settings)."""

    solution: Solution
    population: Population
    regimen: Regimen | None
    options: SolverOptions
    citations: tuple[str, ...] = field(default=())
    #: Day dosing stopped per patient (``inf``: never) and why (see :class:`DosingRules`).
    stop_day: np.ndarray | None = None
    stop_reason: np.ndarray | None = None

    @property
    def model(self) -> Model:
        return self.solution.model

    def metadata(self) -> dict[str, str]:
        """Provenance written into result files."""
        return {
            "oncotwin_version": __version__,
            "model": self.model.name,
            "regimen": str(self.regimen) if self.regimen is not None else "",
            "seed": str(self.population.seed),
            "patients": str(self.population.n),
            "solver": repr(self.options),
            "varied_parameters": repr(dict(self.population.varied)),
            "citations": "; ".join(self.citations),
            "units": repr({s.name: s.unit for s in self.model.states} | {"time": "day"}),
            "disclaimer": DISCLAIMER,
        }

    def to_parquet(self, path: str | Path) -> Path:
        """Write the long table (patient, time [day], one column per state [unit], status)
        with provenance in the file's key-value metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        if path.suffix != ".parquet":
            raise OncotwinError(f"output file {str(path)!r} must end in .parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.solution.to_frame(), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta.update({f"oncotwin.{k}".encode(): v.encode() for k, v in self.metadata().items()})
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    def plot(self, state: str | None = None, *, ax: Axes | None = None, log: bool = True) -> Axes:
        """Median and 5-95% band of ``state`` (default: the first) across patients."""
        from oncotwin.plotting import plot_population

        return plot_population(self, state, ax=ax, log=log)


def simulate(
    model: Model,
    regimen: Regimen | str | None = None,
    *,
    patients: int | Population | VirtualPopulation = 100,
    days: float = 365.0,
    seed: int = 0,
    vary: Mapping[str, float] | None = None,
    every: float = 1.0,
    save: Sequence[str] | None = None,
    options: SolverOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    extra_events: EventSource | None = None,
    rules: DosingRules | None = None,
) -> SimulationResult:
    """Simulate a virtual population of ``model`` under ``regimen`` in one batched solve.

    Parameters
    ----------
    model
        The model (see :func:`oncotwin.get_model`).
    regimen
        A :class:`~oncotwin.regimens.Regimen` or a regimen string such as
        ``"pembrolizumab 200 mg IV q3w x35"``; ``None`` for no treatment.
    patients
        Number of virtual patients (sampled with ``seed`` and ``vary``), a
        :class:`~oncotwin.population.Population` or a
        :class:`~oncotwin.population.virtual.VirtualPopulation` (patients with covariates,
        e.g. ``VirtualPopulation.for_trial(model, "melanoma", range(100), seed=1)``).
    days, every
        Horizon and output interval [day].
    save
        States to keep (default all).
    rules
        When dosing stops (:class:`~oncotwin.regimens.DosingRules`: at progression, at a
        grade >= 3 toxicity with a steroid course, after a maximal duration). The regimen's
        own "until progression" phases always stop at (true) progression, and its own
        dosing rules (``..., hold if irAE >= 2 until irAE <= 1, stop if irAE >= 4``, see
        ``docs/dosing_rules.md``) always apply. Rules need the model's clinical readouts
        (:mod:`oncotwin.models.readouts`) and cost a second solve.
    extra_events
        Events that belong to the model itself, e.g. an imported SBML file's own events
        (anything with ``events(n_patients, t_end, params) -> EventTable``).

    Examples
    --------
    >>> import oncotwin as ot
    >>> res = simulate(ot.get_model("kuznetsov1994"), patients=3, days=10, seed=1)
    >>> res.solution.y.shape
    (3, 11, 2)
    """
    if isinstance(regimen, str):
        regimen = parse_regimen(regimen)
    baseline_mm = None
    if isinstance(patients, Population):
        pop = patients
    elif _is_virtual(patients):
        pop = patients.population
        if _needs_rules(regimen, rules, days):
            baseline_mm = clinical_readouts(model).baseline_diameters(patients)
    else:
        pop = sample_population(model, patients, seed=seed, vary=vary)
    if pop.model is not model:
        raise OncotwinError("the population was sampled for another model; resample it")
    opts = options or SolverOptions()
    t = output_times(days, every)
    model.use_citations()
    if regimen is not None:
        for d in regimen.drugs:
            cite(*get_drug(d).citations)
    prepared = regimen_dose_events(model, regimen, pop, days) if regimen is not None else None
    rules = rules or DosingRules()
    if prepared is not None and (
        rules.any or prepared.until_progression.any() or bool(regimen.rules)  # type: ignore[union-attr]
    ):
        if extra_events is not None:
            raise OncotwinError(
                "dosing rules (or 'until progression') and a model's own events cannot be "
                "combined yet; give the regimen a fixed count (xN) or drop the rules"
            )
        dosed = solve_with_rules(
            model,
            regimen,
            pop,
            t,
            rules=rules,
            seed=seed,
            options=opts,
            prepared=prepared,
            baseline_mm=baseline_mm,
        )
        sol = dosed.solution if save is None else _saved(dosed.solution, save)
        return SimulationResult(
            sol,
            dosed.population,
            regimen,
            opts,
            tuple(used_citations()),
            dosed.stop_day,
            dosed.stop_reason,
        )
    events = None
    if prepared is not None:
        pop, events = prepared.population, prepared.events
    if extra_events is not None:
        own = extra_events.events(pop.n, float(t[-1]), pop.params)
        if own.n_events:
            events = own if events is None else events.concat(own)
    sol = solve(model, pop.params, t, events=events, save=save, options=opts, progress=progress)
    return SimulationResult(sol, pop, regimen, opts, tuple(used_citations()))


def _saved(sol: Solution, save: Sequence[str]) -> Solution:
    """``sol`` keeping only the states in ``save`` (in that order)."""
    idx = [sol.model.state_index(name) for name in save]
    return replace(sol, names=tuple(save), y=sol.y[:, :, idx])


def _needs_rules(regimen: Regimen | None, rules: DosingRules | None, days: float) -> bool:
    """Whether a simulation of ``regimen`` applies dosing rules (its own 'until progression'
    phases or ``rules``)."""
    if regimen is None:
        return False
    if rules is not None and rules.any:
        return True
    return bool(regimen.schedule(days).until_progression.any())


def _is_virtual(patients: object) -> bool:
    """Whether ``patients`` is a VirtualPopulation (imported here: it loads pandas)."""
    from oncotwin.population.virtual import VirtualPopulation

    return isinstance(patients, VirtualPopulation)
