"""A patient's measurements: reading, validation and the padded arrays the fitter uses.

The input is one row per lesion and scan: ``lesion_id``, ``day`` (day 0 = start of the
current treatment; baseline scans are negative), ``diameter_mm`` (longest diameter, 0 is a
valid size) and optionally ``organ`` (any RECIST organ name of :mod:`oncotwin._organs`) and
blood markers (``ldh_u_per_l``, ``nlr``, ``albumin_g_per_l``, ``ctdna_copies_per_ml``), which
are validated and kept but not used by the size model.

Every malformed row is named in **one** :class:`MeasurementError`, so a user fixes the file
once instead of once per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError

__all__ = [
    "MARKER_COLUMNS",
    "REQUIRED_COLUMNS",
    "LesionData",
    "MeasurementError",
    "read_measurements",
    "validate_measurements",
]

#: Columns every measurement table needs.
REQUIRED_COLUMNS: tuple[str, ...] = ("lesion_id", "day", "diameter_mm")
#: Optional blood-marker columns (kept and reported; the size model does not use them).
MARKER_COLUMNS: tuple[str, ...] = (
    "ldh_u_per_l",
    "nlr",
    "albumin_g_per_l",
    "ctdna_copies_per_ml",
)
_MAX_DIAMETER_MM = 500.0  # larger than any human lesion: a unit error (cm x 10 is fine)


class MeasurementError(OncotwinError):
    """A measurement table has malformed rows; the message lists every one of them."""


@dataclass(frozen=True)
class LesionData:
    """Validated measurements as padded arrays, one row per lesion (no Python loop later).

    Attributes
    ----------
    lesion_ids : tuple of str
        The lesion ids, in first-appearance order.
    organs : tuple of str
        The organ of each lesion (``""`` when not given).
    day : ndarray, shape (n_lesions, n_max)
        Scan days [day]; padding is 0.
    diameter_mm : ndarray, shape (n_lesions, n_max)
        Longest diameters [mm]; padding is 0.
    mask : ndarray of bool, shape (n_lesions, n_max)
        True where a measurement exists.
    table : DataFrame
        The validated long table (sorted by lesion and day).
    """

    lesion_ids: tuple[str, ...]
    organs: tuple[str, ...]
    day: np.ndarray
    diameter_mm: np.ndarray
    mask: np.ndarray
    table: pd.DataFrame

    @property
    def n_lesions(self) -> int:
        """Number of lesions."""
        return len(self.lesion_ids)

    @property
    def last_day(self) -> float:
        """The last scan day of any lesion [day]."""
        return float(np.max(np.where(self.mask, self.day, -np.inf)))

    def sld(self) -> pd.DataFrame:
        """Sum of longest diameters on the days every lesion was measured (``day, sld_mm``)."""
        wide = self.table.pivot_table(index="day", columns="lesion_id", values="diameter_mm")
        wide = wide.dropna()
        return pd.DataFrame({"day": wide.index.to_numpy(float), "sld_mm": wide.sum(axis=1)})

    def observed_nadir(self) -> np.ndarray:
        """Per lesion, the smallest measured diameter [mm]."""
        return np.min(np.where(self.mask, self.diameter_mm, np.inf), axis=1)


def read_measurements(path: str | Path) -> pd.DataFrame:
    """Read a measurement CSV (columns ``lesion_id, organ, day, diameter_mm``; organ optional).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pt.csv"
    >>> _ = p.write_text("lesion_id,organ,day,diameter_mm\\nL1,lung,-7,30\\nL1,lung,42,24\\n")
    >>> read_measurements(p).shape
    (2, 4)
    """
    path = Path(path)
    if not path.is_file():
        raise MeasurementError(f"measurement file {str(path)!r} does not exist; give a CSV path")
    try:
        return pd.read_csv(path, dtype={"lesion_id": str, "organ": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise MeasurementError(f"cannot read {str(path)!r} as CSV: {exc}") from None


def _organ_names() -> dict[str, str]:
    from oncotwin._organs import ORGAN_TABLE

    names: dict[str, str] = {}
    for o in ORGAN_TABLE:
        for alias in (o.site, o.recist, o.site.replace("_", " ")):
            names[alias.lower()] = o.site
    names["skin"] = "skin"
    names["soft tissue"] = "skin"
    names["lymph node"] = "lymph_node"
    names["node"] = "lymph_node"
    return names


def validate_measurements(data: pd.DataFrame | Mapping[str, object]) -> LesionData:
    """Check a measurement table and return it as :class:`LesionData`.

    Raises one :class:`MeasurementError` naming every malformed row (1-based data rows as in
    the CSV, header excluded): missing or non-numeric values, negative or implausible sizes,
    unknown organs, days not increasing (unsorted or duplicated) within a lesion, a lesion
    without a baseline (first scan after day 0), a lesion with fewer than 2 scans.

    Examples
    --------
    >>> d = validate_measurements({"lesion_id": ["L1", "L1"], "day": [-3, 40],
    ...                            "diameter_mm": [20.0, 15.0]})
    >>> d.n_lesions, d.diameter_mm.tolist()
    (1, [[20.0, 15.0]])
    """
    df = pd.DataFrame(data).copy() if not isinstance(data, pd.DataFrame) else data.copy()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise MeasurementError(
            f"measurements lack column(s) {', '.join(missing)}; the table needs "
            "lesion_id, day, diameter_mm (and optionally organ), e.g. 'L1,lung,-7,32.0'"
        )
    if df.empty:
        raise MeasurementError("measurements are empty; give at least 2 scans of one lesion")
    problems: list[str] = []
    row = np.arange(1, len(df) + 1)
    lid = df["lesion_id"].astype("string").str.strip()
    for i in np.flatnonzero(lid.isna() | (lid == "")):
        problems.append(f"row {row[i]}: lesion_id is empty; give an id such as 'L1'")
    day = pd.to_numeric(df["day"], errors="coerce").to_numpy(float)
    size = pd.to_numeric(df["diameter_mm"], errors="coerce").to_numpy(float)
    for i in np.flatnonzero(~np.isfinite(day)):
        problems.append(f"row {row[i]}: day {df['day'].iloc[i]!r} is not a number of days")
    for i in np.flatnonzero(~np.isfinite(size)):
        problems.append(f"row {row[i]}: diameter_mm {df['diameter_mm'].iloc[i]!r} is not a number")
    for i in np.flatnonzero(np.isfinite(size) & (size < 0)):
        problems.append(f"row {row[i]}: diameter_mm {size[i]:g} is negative; sizes are >= 0 mm")
    for i in np.flatnonzero(np.isfinite(size) & (size > _MAX_DIAMETER_MM)):
        problems.append(
            f"row {row[i]}: diameter_mm {size[i]:g} is above {_MAX_DIAMETER_MM:g} mm; "
            "give longest diameters in mm (not mm3 or um)"
        )
    organs = pd.Series([""] * len(df), index=df.index, dtype=object)
    if "organ" in df.columns:
        known = _organ_names()
        raw = df["organ"].astype("string").str.strip().str.lower()
        for i, value in enumerate(raw):
            if value is pd.NA or value == "":
                continue
            if value not in known:
                from oncotwin.errors import did_you_mean

                problems.append(f"row {row[i]}: {did_you_mean(str(value), known, what='organ')}")
            else:
                organs.iloc[i] = known[value]
    for col in MARKER_COLUMNS:
        if col in df.columns:
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
            given = df[col].notna().to_numpy()
            for i in np.flatnonzero(given & ~(np.isfinite(v) & (v >= 0))):
                problems.append(f"row {row[i]}: {col} {df[col].iloc[i]!r} must be a number >= 0")
    ok_id = ~(lid.isna() | (lid == "")).to_numpy()
    for lesion in pd.unique(lid[ok_id]):
        idx = np.flatnonzero((lid == lesion).to_numpy() & ok_id)
        d = day[idx]
        good = np.isfinite(d)
        steps = np.diff(d[good])
        rows_good = row[idx][good]
        for k in np.flatnonzero(steps == 0):
            problems.append(
                f"row {rows_good[k + 1]}: lesion {lesion!r} has day {d[good][k + 1]:g} twice "
                f"(rows {rows_good[k]} and {rows_good[k + 1]}); keep one scan per day"
            )
        for k in np.flatnonzero(steps < 0):
            problems.append(
                f"row {rows_good[k + 1]}: lesion {lesion!r} day {d[good][k + 1]:g} comes after "
                f"day {d[good][k]:g}; sort each lesion's rows by day"
            )
        if good.any() and np.min(d[good]) > 0:
            problems.append(
                f"row {row[idx][0]}: lesion {lesion!r} has no baseline (first scan on day "
                f"{np.min(d[good]):g}); a baseline scan on or before day 0 (start of treatment) "
                "is needed"
            )
        if idx.size < 2:
            problems.append(
                f"row {row[idx][0]}: lesion {lesion!r} has one scan; at least 2 are needed"
            )
        if "organ" in df.columns:
            o = set(organs.iloc[idx]) - {""}
            if len(o) > 1:
                problems.append(
                    f"row {row[idx][0]}: lesion {lesion!r} is given organs {sorted(o)}; "
                    "one lesion lies in one organ"
                )
    if problems:
        head = f"{len(problems)} malformed measurement row(s):\n  "
        raise MeasurementError(head + "\n  ".join(problems))
    df = df.assign(lesion_id=lid.astype(str), day=day, diameter_mm=size, organ=organs)
    ids = tuple(pd.unique(df["lesion_id"]))
    n_max = int(df.groupby("lesion_id").size().max())
    shape = (len(ids), n_max)
    t = np.zeros(shape)
    y = np.zeros(shape)
    m = np.zeros(shape, bool)
    organ_of: list[str] = []
    for k, lesion in enumerate(ids):  # one pass over lesions (a handful per patient)
        sub = df[df["lesion_id"] == lesion]
        n = len(sub)
        t[k, :n] = sub["day"].to_numpy(float)
        y[k, :n] = sub["diameter_mm"].to_numpy(float)
        m[k, :n] = True
        organ_of.append(str(sub["organ"].iloc[0]))
    cols = [c for c in ("lesion_id", "organ", "day", "diameter_mm", *MARKER_COLUMNS) if c in df]
    table = df[cols].sort_values(["lesion_id", "day"], kind="stable").reset_index(drop=True)
    return LesionData(ids, tuple(organ_of), t, y, m, table)
