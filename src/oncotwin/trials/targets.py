"""Published outcomes of the calibration trial arms, loaded from package data with their sources.

The arms live in ``trials/data/published_arms.csv``: a verbatim copy of
``shared/data/trials/calibration_arms.csv`` followed by the arms issue 12 appended (one row per
arm; a test checks each shared value against that file; provenance in
``trials/data/README.md``). Each :class:`PublishedArm` keeps the row's ``source`` string, its
data cut (``followup``), how response was assessed and the caveats:
``verified`` is ``"yes"`` when every populated number was confirmed in a published source and
``"partial"`` otherwise, with the unconfirmed fields listed in ``memory_fields``. Check those
against the primary paper before a quantitative fit leans on them.

Conventions (from the CSV's README): percentages are in %, medians in months; ``None`` means not
reported or not reached (``os_note`` / ``pfs_note`` say which). Some ``median_pfs_mo`` values are
time to progression or event-free survival: ``pfs_note`` says so. ``g3plus_ae_type`` gives the
toxicity definition (treatment-related vs all-cause, grade 3-4 vs 3-5); CAR-T CRS grading scales
differ between trials (Penn vs Lee/ASTCT). Control-arm OS is confounded by crossover where
``os_note`` says so.

Examples
--------
>>> from oncotwin.trials.targets import PUBLISHED, published
>>> published("KN024_PEMBRO").orr_pct
44.8
>>> [a.arm_id for a in arms_of("CheckMate 067")]
['CM067_NIVO_IPI', 'CM067_NIVO', 'CM067_IPI']
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, fields

from oncotwin._datafiles import fail, read_package_text
from oncotwin.errors import UnknownNameError, did_you_mean

__all__ = ["PUBLISHED", "PublishedArm", "arms_of", "published"]

#: Endpoints with a numeric published value, in the CSV's column order.
NUMERIC_FIELDS: tuple[str, ...] = (
    "n",
    "orr_pct",
    "cr_pct",
    "median_pfs_mo",
    "median_os_mo",
    "g3plus_ae_pct",
    "g3plus_crs_pct",
    "g3plus_neuro_pct",
)


@dataclass(frozen=True)
class PublishedArm:
    """One published trial arm: its outcomes, its source and how far to trust each number.

    Percentages (``*_pct``) are in %, medians (``*_mo``) in months; ``None`` = not reported or
    not reached. ``n`` is the number of patients the efficacy numbers refer to (randomised ITT,
    or infused/treated for single-arm trials). ``followup`` is the data cut each metric comes
    from; ``memory_fields`` lists the fields not confirmed against a published source.
    """

    arm_id: str
    trial: str
    arm: str
    n: int
    source: str
    verified: str
    arm_role: str = ""
    immunotherapy_class: str = ""
    cancer_type: str = ""
    setting_line: str = ""
    population_selection: str = ""
    regimen: str = ""
    orr_pct: float | None = None
    cr_pct: float | None = None
    median_pfs_mo: float | None = None
    pfs_note: str = ""
    median_os_mo: float | None = None
    os_note: str = ""
    g3plus_ae_pct: float | None = None
    g3plus_ae_type: str = ""
    g3plus_crs_pct: float | None = None
    g3plus_neuro_pct: float | None = None
    biomarker_subgroups: str = ""
    followup: str = ""
    response_assessment: str = ""
    memory_fields: tuple[str, ...] = ()
    notes: str = ""

    def value(self, endpoint: str) -> float:
        """A numeric endpoint as a float (NaN when not reported), e.g. ``"orr_pct"``."""
        if endpoint not in NUMERIC_FIELDS:
            raise UnknownNameError(did_you_mean(endpoint, NUMERIC_FIELDS, what="endpoint"))
        v = getattr(self, endpoint)
        return math.nan if v is None else float(v)

    def is_confirmed(self, field: str) -> bool:
        """False if ``field`` is listed in ``memory_fields`` (not confirmed in a source)."""
        names = {f.name for f in fields(self)}
        if field not in names:
            raise UnknownNameError(did_you_mean(field, names, what="field"))
        return not any(m == field or m.startswith(field + "(") for m in self.memory_fields)


#: The published-arms data file (``shared/data/trials/calibration_arms.csv`` verbatim, then the
#: arms added by issue 12; provenance in ``trials/data/README.md``).
DATA_FILE = "published_arms.csv"
_COLUMNS: tuple[str, ...] = (
    "arm_id", "trial", "arm", "arm_role", "immunotherapy_class", "cancer_type", "setting_line",
    "population_selection", "regimen", "n", "orr_pct", "cr_pct", "median_pfs_mo", "pfs_note",
    "median_os_mo", "os_note", "g3plus_ae_pct", "g3plus_ae_type", "g3plus_crs_pct",
    "g3plus_neuro_pct", "biomarker_subgroups", "followup_datacut", "response_assessment",
    "source", "verified", "memory_fields", "notes",
)  # fmt: skip
_RENAMED = {"followup_datacut": "followup"}


def _cell(row: dict[str, str], col: str, label: str, line: int) -> object:
    raw = row[col]
    where = f"line {line} ({row['arm_id'] or '?'}).{col}"
    if col == "memory_fields":
        return tuple(raw.split(";")) if raw else ()
    if col not in NUMERIC_FIELDS:
        return raw
    if raw == "":
        if col == "n":
            raise fail(label, where, "missing", "give the number of patients")
        return None
    try:
        return int(raw) if col == "n" else float(raw)
    except ValueError:
        raise fail(
            label, where, f"expected a number, got {raw!r}", "write a plain number"
        ) from None


def load_published(text: str | None = None, *, label: str = "") -> dict[str, PublishedArm]:
    """Parse the published-arms CSV (default: the shipped file) into arms by ``arm_id``.

    Every row needs an ``arm_id``, a ``source`` and ``verified`` of ``yes``/``partial``; a
    malformed file raises :class:`~oncotwin._datafiles.DataFileError` naming the line and column.
    """
    if text is None:
        text, label = read_package_text("oncotwin.trials", f"data/{DATA_FILE}")
    label = label or "<published arms>"
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise fail(
            label, "header", f"columns {reader.fieldnames} differ from {list(_COLUMNS)}",
            "keep the calibration_arms.csv header",
        )  # fmt: skip
    out: dict[str, PublishedArm] = {}
    for line, row in enumerate(reader, start=2):
        for col in ("arm_id", "source"):
            if not row[col]:
                raise fail(label, f"line {line}.{col}", "empty", f"every arm needs its {col}")
        if row["verified"] not in ("yes", "partial"):
            raise fail(
                label, f"line {line} ({row['arm_id']}).verified",
                f"{row['verified']!r} is not 'yes' or 'partial'", "write yes or partial",
            )  # fmt: skip
        if row["arm_id"] in out:
            raise fail(label, f"line {line}.arm_id", f"{row['arm_id']!r} twice", "make it unique")
        kw = {_RENAMED.get(c, c): _cell(row, c, label, line) for c in _COLUMNS}
        out[row["arm_id"]] = PublishedArm(**kw)  # type: ignore[arg-type]
    return out


PUBLISHED: dict[str, PublishedArm] = load_published()


def published(arm_id: str) -> PublishedArm:
    """The published arm ``arm_id`` (e.g. ``"CM067_NIVO_IPI"``); did-you-mean if unknown."""
    try:
        return PUBLISHED[arm_id]
    except KeyError:
        raise UnknownNameError(did_you_mean(arm_id, PUBLISHED, what="published arm_id")) from None


def arms_of(trial: str) -> list[PublishedArm]:
    """The published arms of ``trial`` (its name as in the CSV, e.g. ``"KEYNOTE-024"``)."""
    out = [a for a in PUBLISHED.values() if a.trial == trial]
    if not out:
        raise UnknownNameError(
            did_you_mean(trial, {a.trial for a in PUBLISHED.values()}, what="trial")
        )
    return out
