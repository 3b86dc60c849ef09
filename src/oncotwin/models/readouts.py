"""Clinical readouts of a solved model: what a clinic would measure, for any model.

A trial (and :func:`oncotwin.simulate` with dosing rules) needs, from a trajectory: the
size of each measurable lesion, the day a new lesion becomes detectable, toxicity grades,
the day of death and the day of (true, unscanned) progression. A model that knows more
about itself provides a :class:`ClinicalReadouts` (``metastatic_io`` does:
:mod:`oncotwin.models.metastatic_io_readouts`); any other model with one tumour-size state
gets :class:`TumourSizeReadouts`, inferred from its states by :func:`clinical_readouts`.

Nothing here knows a trial or a response criterion: scans, reader noise and RECIST live in
:mod:`oncotwin.trials.assessment`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from oncotwin._constants import DAYS_PER_YEAR
from oncotwin._random import Stream, patient_uniforms
from oncotwin.errors import OncotwinError

if TYPE_CHECKING:
    from oncotwin.models.base import Model
    from oncotwin.solvers import Solution

__all__ = [
    "TOXICITY_KINDS",
    "ClinicalReadouts",
    "Toxicity",
    "TumourSizeReadouts",
    "background_death_days",
    "clinical_readouts",
    "first_crossing",
    "register_readouts",
    "true_progression_days",
]


def first_crossing(t: np.ndarray, y: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """First time each row of ``y`` (n, len(t)) reaches ``level`` (linear interpolation
    between output times); ``inf`` if never.

    Examples
    --------
    >>> import numpy as np
    >>> first_crossing(np.array([0.0, 1.0, 2.0]), np.array([[0.0, 1.0, 2.0]]), 1.5)
    array([1.5])
    """
    y = np.asarray(y, dtype=float)
    lev = np.broadcast_to(np.asarray(level, dtype=float), (y.shape[0],))[:, None]
    above = y >= lev
    hit = above.any(axis=1)
    k = np.argmax(above, axis=1)
    out = np.full(y.shape[0], np.inf)
    rows = np.nonzero(hit)[0]
    kk = k[rows]
    first = kk == 0
    out[rows[first]] = t[0]
    r, j = rows[~first], kk[~first]
    y0, y1 = y[r, j - 1], y[r, j]
    frac = np.where(y1 > y0, (lev[r, 0] - y0) / np.where(y1 > y0, y1 - y0, 1.0), 1.0)
    out[r] = t[j - 1] + np.clip(frac, 0.0, 1.0) * (t[j] - t[j - 1])
    return out


def background_death_days(seed: int, patient_ids: np.ndarray, age_yr: np.ndarray) -> np.ndarray:
    """Day of death from other causes: Gompertz in age, 1%/year at 60 doubling every ~8 years
    (assumption approximating adult life tables), drawn from (seed, patient)."""
    rate = 0.01 / DAYS_PER_YEAR * np.exp(0.085 * (np.asarray(age_yr, dtype=float) - 60.0))
    return -np.log(patient_uniforms(seed, patient_ids, stream=Stream.DEATH_BACKGROUND)) / rate


@dataclass(frozen=True)
class Toxicity:
    """Per-patient toxicity readouts (arrays of length n; grades 0-4, CTCAE/ASTCT).

    The grade fields are each toxicity's worst grade. ``onset_day`` and ``resolved_day``
    date the episodes (optional, so that readouts without timing still work): per kind
    (``"irae"``, ``"crs"``, ``"icans"``, ``"capillary_leak"``, ``"neutropenia"``), the day the
    toxicity first reached grade >= 1 (for ``"irae"``: the worst irAE's onset) and the day it
    fell back below grade 1 (``inf``: none, or not resolved by the end of the solve).
    """

    irae_day: np.ndarray  # first grade >= 3 irAE [day] (inf: none)
    irae_grade: np.ndarray  # worst irAE grade (0-4)
    irae_organ: np.ndarray  # organ of the worst irAE ('' if none)
    crs_grade: np.ndarray
    icans_grade: np.ndarray
    capillary_leak_grade: np.ndarray
    neutropenia_grade: np.ndarray
    onset_day: Mapping[str, np.ndarray] = field(default_factory=dict)
    resolved_day: Mapping[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def none(cls, n: int) -> Toxicity:
        """No toxicity for ``n`` patients (a model without toxicity states)."""
        zero = np.zeros(n, dtype=np.int64)
        return cls(np.full(n, np.inf), zero, np.full(n, "", dtype=object), zero, zero, zero, zero)

    @property
    def g3plus(self) -> np.ndarray:
        """Any grade >= 3 adverse event of the model."""
        worst = np.maximum.reduce([self.grade(k) for k in TOXICITY_KINDS])
        return worst >= 3

    def grade(self, kind: str) -> np.ndarray:
        """Worst grade of toxicity ``kind`` (one of :data:`TOXICITY_KINDS`)."""
        if kind not in TOXICITY_KINDS:
            raise OncotwinError(
                f"unknown toxicity kind {kind!r}; use one of {', '.join(TOXICITY_KINDS)}"
            )
        return np.asarray(getattr(self, f"{kind}_grade"))

    def episode(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(worst grade, onset day, resolution day)`` of toxicity ``kind``; days are
        ``inf`` where the readouts do not date that toxicity."""
        g = self.grade(kind)
        inf = np.full(g.shape, np.inf)
        return g, self.onset_day.get(kind, inf), self.resolved_day.get(kind, inf)

    def merged_after_stop(self, later: Toxicity) -> Toxicity:
        """This (first-solve) toxicity with a second solve's after a dosing stop: the irAE
        that stopped treatment keeps its day; later grades come from ``later``."""
        first = self.irae_day <= later.irae_day
        onset, resolved = dict(later.onset_day), dict(later.resolved_day)
        for table, mine in ((onset, self.onset_day), (resolved, self.resolved_day)):
            if "irae" in mine and "irae" in table:
                table["irae"] = np.where(first, mine["irae"], table["irae"])
        return Toxicity(
            irae_day=np.minimum(self.irae_day, later.irae_day),
            irae_grade=np.maximum(self.irae_grade, later.irae_grade),
            irae_organ=np.where(self.irae_grade > 0, self.irae_organ, later.irae_organ),
            crs_grade=later.crs_grade,
            icans_grade=later.icans_grade,
            capillary_leak_grade=later.capillary_leak_grade,
            neutropenia_grade=later.neutropenia_grade,
            onset_day=onset,
            resolved_day=resolved,
        )

    def censored(self, death_day: np.ndarray) -> Toxicity:
        """This toxicity as observed up to each patient's death: an episode that starts
        after death did not happen (grade 0), one still active at death is unresolved."""
        death = np.asarray(death_day, dtype=float)
        grades: dict[str, np.ndarray] = {}
        onset, resolved = dict(self.onset_day), dict(self.resolved_day)
        for kind in TOXICITY_KINDS:
            g, on, off = self.episode(kind)
            late = np.isfinite(on) & (on > death)
            grades[kind] = np.where(late, 0, g).astype(np.int64)
            if kind in onset:
                onset[kind] = np.where(late, np.inf, on)
            if kind in resolved:
                resolved[kind] = np.where(late | (off > death), np.inf, off)
        irae_late = self.irae_day > death
        if "irae" not in self.onset_day:  # undated lower grades: keep them unless >= 3
            grades["irae"] = np.where(irae_late, 0, self.irae_grade).astype(np.int64)
        return Toxicity(
            irae_day=np.where(irae_late, np.inf, self.irae_day),
            irae_grade=grades["irae"],
            irae_organ=np.where(grades["irae"] > 0, self.irae_organ, ""),
            crs_grade=grades["crs"],
            icans_grade=grades["icans"],
            capillary_leak_grade=grades["capillary_leak"],
            neutropenia_grade=grades["neutropenia"],
            onset_day=onset,
            resolved_day=resolved,
        )


#: The toxicities a :class:`Toxicity` grades.
TOXICITY_KINDS: tuple[str, ...] = ("irae", "crs", "icans", "capillary_leak", "neutropenia")


@runtime_checkable
class ClinicalReadouts(Protocol):
    """What a model's trajectories mean clinically (one object per model).

    ``steroid_state`` names the state that takes a steroid course when dosing stops for
    toxicity (``None``: the model has no steroid effect). ``site_names`` are the lesion
    sites (one index lesion per site), ``criteria`` the response criteria this model can
    feed (by name of the assessment registry).
    """

    steroid_state: str | None
    site_names: tuple[str, ...]

    def baseline_diameters(self, population: object) -> np.ndarray:
        """Index-lesion diameter [mm] per site at day 0, ``(n, n_sites)`` (0: no lesion)."""
        ...

    def lesion_diameters(self, sol: Solution, baseline_mm: np.ndarray) -> np.ndarray:
        """True longest diameter [mm] of each site's index lesion, ``(n, n_times, n_sites)``."""
        ...

    def new_lesion_days(self, sol: Solution) -> np.ndarray:
        """Day a new lesion becomes detectable (``inf``: never)."""
        ...

    def death_days(self, sol: Solution, seed: int, patient_ids: np.ndarray) -> np.ndarray:
        """Day of death from the disease (``inf``: alive at the end)."""
        ...

    def toxicity(self, sol: Solution, seed: int, patient_ids: np.ndarray) -> Toxicity:
        """Toxicity grades and the first grade >= 3 irAE day."""
        ...


@dataclass(frozen=True)
class TumourSizeReadouts:
    """Readouts of a model with one tumour-size state (any library model).

    ``kind="diameter"``: the state is a sum of longest diameters [mm] (e.g. Claret 2009),
    read as one target lesion; ``kind="volume"``: the state is a volume or cell count, and
    the lesion's diameter scales as its cube root from a baseline of ``baseline_mm``
    (an assumption: one spherical lesion). No new lesions, no toxicity and no tumour death
    unless the model has states for them: these models do not describe them.
    """

    state: str
    kind: str = "diameter"
    baseline_mm: float = 50.0
    steroid_state: str | None = None
    site_names: tuple[str, ...] = ("primary",)

    def baseline_diameters(self, population: object) -> np.ndarray:
        n = int(population.n)  # type: ignore[attr-defined]
        if self.kind == "diameter":
            p = population.params  # type: ignore[attr-defined]
            model = population.model  # type: ignore[attr-defined]
            y0 = model.initial_values(p)[:, model.state_index(self.state)]
            return y0[:, None].astype(float)
        return np.full((n, 1), self.baseline_mm)

    def lesion_diameters(self, sol: Solution, baseline_mm: np.ndarray) -> np.ndarray:
        y = np.maximum(sol[self.state], 0.0)
        if self.kind == "diameter":
            return y[:, :, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(y[:, :1] > 0, y / y[:, :1], np.nan)
        return (np.asarray(baseline_mm, dtype=float)[:, :1] * np.cbrt(ratio))[:, :, None]

    def new_lesion_days(self, sol: Solution) -> np.ndarray:
        return np.full(sol.y.shape[0], np.inf)

    def death_days(self, sol: Solution, seed: int, patient_ids: np.ndarray) -> np.ndarray:
        return np.full(sol.y.shape[0], np.inf)

    def toxicity(self, sol: Solution, seed: int, patient_ids: np.ndarray) -> Toxicity:
        return Toxicity.none(sol.y.shape[0])


def true_progression_days(
    t: np.ndarray, diameters: np.ndarray, new_lesion_day: np.ndarray
) -> np.ndarray:
    """First day the true sum of index-lesion diameters is >= 20% and >= 5 mm above its
    nadir (RECIST 1.1's thresholds, without scans or reader noise), or a new lesion is
    detectable: the progression a simulation's dosing rules stop at (``inf``: never)."""
    sld = np.nansum(diameters, axis=2)
    nadir = np.minimum.accumulate(sld, axis=1)
    grown = (sld >= 1.2 * nadir) & (sld >= nadir + 5.0) & (nadir > 0)
    day = np.where(grown.any(axis=1), t[np.argmax(grown, axis=1)], np.inf)
    return np.minimum(day, np.asarray(new_lesion_day, dtype=float))


#: Model name -> "module:attribute" of its readouts (imported on first use).
_REGISTRY: dict[str, str | ClinicalReadouts] = {
    "metastatic_io": "oncotwin.models.metastatic_io_readouts:READOUTS",
}

#: State names read as the tumour size.
_TUMOUR_NAMES = frozenset({"t", "y", "v", "tumour", "tumor"})

#: State units read as a sum of diameters, and as a volume or cell count.
_DIAMETER_UNITS = frozenset({"mm", "cm"})
_VOLUME_UNITS = frozenset({"mm3", "mm^3", "cm3", "cm^3", "cell", "cells", "1e9 cell", "mL"})


def register_readouts(model_name: str, readouts: ClinicalReadouts) -> None:
    """Give model ``model_name`` its clinical readouts (used by trials and dosing rules)."""
    if not isinstance(readouts, ClinicalReadouts):
        raise OncotwinError(
            f"readouts for {model_name!r}: {type(readouts).__name__} lacks the methods of "
            "ClinicalReadouts (baseline_diameters, lesion_diameters, new_lesion_days, "
            "death_days, toxicity); see oncotwin.models.readouts"
        )
    _REGISTRY[model_name] = readouts


def clinical_readouts(model: Model) -> ClinicalReadouts:
    """The clinical readouts of ``model``: registered, or inferred from its one tumour-size
    state (a state named like a tumour with a length, volume or cell unit).

    Raises
    ------
    OncotwinError
        For a model without a recognisable tumour-size state, naming the fix.
    """
    found = _REGISTRY.get(model.name)
    if isinstance(found, str):
        module, attr = found.split(":")
        found = getattr(importlib.import_module(module), attr)
        _REGISTRY[model.name] = found
    if found is not None:
        return found  # type: ignore[return-value]
    for s in model.states:
        if s.name.lower() in _TUMOUR_NAMES and s.unit in _DIAMETER_UNITS | _VOLUME_UNITS:
            kind = "diameter" if s.unit in _DIAMETER_UNITS else "volume"
            return TumourSizeReadouts(s.name, kind=kind)
    raise OncotwinError(
        f"model {model.name!r} has no clinical readouts: no tumour-size state (T, V, y or "
        "tumour, in mm, mm3 or cells) was found; register one with "
        "oncotwin.models.readouts.register_readouts(name, TumourSizeReadouts('STATE'))"
    )
