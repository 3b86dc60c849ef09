"""Model + regimen + population -> one batched solve: :func:`simulate`.

Research simulations only: results are not medical advice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from oncotwin._constants import DISCLAIMER
from oncotwin._version import __version__
from oncotwin.citations import cite, used_citations
from oncotwin.errors import OncotwinError, RegimenError, SolverError
from oncotwin.pharmacology import get_drug
from oncotwin.population import Population, sample_population
from oncotwin.regimens import Regimen, parse_regimen
from oncotwin.solvers import BOLUS, INFUSION_RATE, EventTable, Solution, SolverOptions, solve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.models.base import Model


class EventSource(Protocol):
    """Something that gives a population's events (e.g. :class:`oncotwin.io.SbmlImport`)."""

    def events(self, n_patients: int, t_end: float, params: np.ndarray) -> EventTable: ...


__all__ = [
    "DISCLAIMER",
    "EventSource",
    "SimulationResult",
    "output_times",
    "prepare_regimen",
    "regimen_events",
    "simulate",
]


def output_times(days: float, every: float = 1.0) -> np.ndarray:
    """Output grid ``0, every, 2*every, ..., days`` [day] (``days`` always included)."""
    if not (math.isfinite(days) and days > 0):
        raise SolverError(f"days={days}; give a simulation horizon > 0 in days")
    if not (math.isfinite(every) and every > 0):
        raise SolverError(f"output interval {every}; give a positive number of days")
    t = np.arange(0.0, days, every)
    return np.append(t, float(days)) if t[-1] < days else t


def regimen_events(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> EventTable:
    """Dose events of ``regimen`` for every patient of ``population`` in ``model``'s units.

    Each drug enters the model at the dose target registered for the drug's name or, failing
    that, for its mechanism class (e.g. ``"anti-PD-1"``). Weight- and BSA-based doses use each
    patient's own body size. An infusion (duration > 0) becomes a zero-order input: a rate
    step up at its start and down at its end.
    """
    return _regimen_events(model, regimen, population, horizon)[0]


def _regimen_events(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> tuple[EventTable, np.ndarray]:
    """:func:`regimen_events` plus each event's dose start time (for per-patient stops)."""
    sched = regimen.schedule(horizon)
    adapter = model.regimen_adapter
    handled = adapter.handles if adapter is not None else frozenset()
    if len(sched) == 0:
        return EventTable.empty(population.n), np.zeros(0)
    amounts = sched.amounts(population.weight_kg, population.bsa_m2)
    times, states, kinds, cols, origin = [], [], [], [], []
    for j in range(len(sched)):
        drug = get_drug(str(sched.drug[j]))
        if drug.name in handled or drug.mechanism in handled:
            continue
        try:
            target = model.dose_target(drug.name, drug.mechanism)
        except OncotwinError as exc:
            raise RegimenError(
                f"{exc}. Regimen drug {drug.name!r} ({drug.mechanism}) cannot be given to model "
                f"{model.name!r}; use a model with a target for it (see `oncotwin models`)"
            ) from None
        s = model.state_index(target.state)
        amt = amounts[:, j] * target.scale
        dur = float(sched.duration[j])
        t = float(sched.time[j])
        if dur > 0:
            times += [t, t + dur]
            states += [s, s]
            kinds += [INFUSION_RATE, INFUSION_RATE]
            cols += [amt / dur, -amt / dur]
            origin += [t, t]
        else:
            times.append(t)
            states.append(s)
            kinds.append(BOLUS)
            cols.append(amt)
            origin.append(t)
    if not times:
        return EventTable.empty(population.n), np.zeros(0)
    t_arr = np.array(times)
    order = np.argsort(t_arr, kind="stable")
    table = EventTable.build(t_arr, np.array(states), np.array(kinds), np.column_stack(cols))
    return table, np.array(origin)[order]


def prepare_regimen(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> tuple[Population, EventTable]:
    """The population's parameters adjusted for ``regimen`` and all its events.

    Plain models take doses at their dose targets; a model with a regimen adapter (e.g.
    ``metastatic_io``) also sets regimen-dependent parameters (the PK constants of the
    antibody dosed, whether the tumour expresses the drug's target) and makes the events
    dose targets cannot express (radiotherapy fractions on a named site).
    """
    pop, events, _ = _prepare_regimen(model, regimen, population, horizon)
    return pop, events


def _prepare_regimen(
    model: Model, regimen: Regimen, population: Population, horizon: float
) -> tuple[Population, EventTable, np.ndarray]:
    """:func:`prepare_regimen` plus each event's dose start time (for per-patient stops);
    an adapter's events (radiotherapy fractions) start when they happen."""
    events, origin = _regimen_events(model, regimen, population, horizon)
    adapter = model.regimen_adapter
    if adapter is None:
        return population, events, origin
    params, extra = adapter.prepare(model, regimen, population.params, horizon)
    pop = replace(population, params=model.check_parameters(params))
    if extra is not None and extra.n_events:
        # merged in the order EventTable.build sorts (stable by time)
        times = np.concatenate([events.time, extra.time])
        origin = np.concatenate([origin, extra.time])[np.argsort(times, kind="stable")]
        events = extra if events.n_events == 0 else events.concat(extra)
    return pop, events, origin


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """A solved population with what produced it (model, regimen, population, settings)."""

    solution: Solution
    population: Population
    regimen: Regimen | None
    options: SolverOptions
    citations: tuple[str, ...] = field(default=())

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
    patients: int | Population = 100,
    days: float = 365.0,
    seed: int = 0,
    vary: Mapping[str, float] | None = None,
    every: float = 1.0,
    save: Sequence[str] | None = None,
    options: SolverOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    extra_events: EventSource | None = None,
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
        Number of virtual patients (sampled with ``seed`` and ``vary``) or a
        :class:`~oncotwin.population.Population`.
    days, every
        Horizon and output interval [day].
    save
        States to keep (default all).
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
    pop = (
        patients
        if isinstance(patients, Population)
        else sample_population(model, patients, seed=seed, vary=vary)
    )
    if pop.model is not model:
        raise OncotwinError("the population was sampled for another model; resample it")
    opts = options or SolverOptions()
    t = output_times(days, every)
    events = None
    if regimen is not None:
        pop, events = prepare_regimen(model, regimen, pop, days)
    if extra_events is not None:
        own = extra_events.events(pop.n, float(t[-1]), pop.params)
        if own.n_events:
            events = own if events is None else events.concat(own)
    model.use_citations()
    if regimen is not None:
        for d in regimen.drugs:
            cite(*get_drug(d).citations)
    sol = solve(model, pop.params, t, events=events, save=save, options=opts, progress=progress)
    return SimulationResult(sol, pop, regimen, opts, tuple(used_citations()))
