"""The result of a virtual trial: per-patient tables, the summary, the manifest.

:class:`TrialResult` is what :meth:`oncotwin.trials.Trial.run` returns and what the report and
plots read. It is backed by the run's store (``OUT/trial.duckdb``): tables load on first use,
so a 100,000-patient result costs nothing until a table is asked for.

Research simulations only: not medical advice.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncotwin._constants import DISCLAIMER

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from oncotwin.trials.spec import TrialSpec

__all__ = ["PUBLISHED_FIELDS", "TrialResult"]

#: Summary endpoint -> field of :class:`oncotwin.trials.targets.PublishedArm`.
PUBLISHED_FIELDS = {
    "ORR": "orr_pct",
    "CR": "cr_pct",
    "median_PFS_mo": "median_pfs_mo",
    "median_OS_mo": "median_os_mo",
    "g3plus_AE": "g3plus_ae_pct",
    "g3plus_CRS": "g3plus_crs_pct",
    "g3plus_ICANS": "g3plus_neuro_pct",
}


def published_table(spec: TrialSpec) -> pd.DataFrame:
    """Published targets of the spec's arms: arm, endpoint, published, source."""
    from oncotwin.trials.targets import published

    rows = []
    for arm in spec.arms:
        link = arm.published
        if link is None or not link.arm_id:
            continue
        p = published(link.arm_id)
        for endpoint, fieldname in PUBLISHED_FIELDS.items():
            value = getattr(p, fieldname, None)
            if value is not None and np.isfinite(value):
                rows.append(
                    {
                        "arm": arm.name,
                        "endpoint": endpoint,
                        "published": float(value),
                        "source": f"{p.arm_id}: {p.source}",
                    }
                )
    return pd.DataFrame(rows, columns=["arm", "endpoint", "published", "source"])


def compare_published(summary: pd.DataFrame, spec: TrialSpec) -> pd.DataFrame:
    """The summary with the published values and sources filled in, and the gap."""
    return _with_published(summary, published_table(spec))


def _with_published(summary: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """``summary`` merged with a table of arm, endpoint, published[, source]: the gap and
    whether the published value lies inside the simulated interval."""
    s = summary.drop(columns=[c for c in ("published", "source") if c in summary])
    s = s.merge(published, on=["arm", "endpoint"], how="left")
    if "source" not in s:
        s["source"] = ""
    s["source"] = s["source"].fillna("")
    s["difference"] = s["value"] - s["published"]
    s["published_in_ci"] = (s["published"] >= s["ci_low"]) & (s["published"] <= s["ci_high"])
    return s


@dataclass(frozen=True, eq=False)
class TrialResult:
    """A finished virtual trial.

    Attributes
    ----------
    out
        The run's folder (``trial.duckdb``, ``manifest.json``, ``report.html``).
    summary
        One row per arm and endpoint: value, CI, n, unit, published value, source, difference.
    report
        Path of the HTML report, if one was written.
    chunks_run
        Chunks simulated by this call (a resumed run skips the stored ones).
    spec
        The trial spec (parsed from the manifest when opened from a store).
    """

    out: Path
    summary: pd.DataFrame
    report: Path | None = None
    chunks_run: tuple[int, ...] = ()
    spec: TrialSpec | None = None
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, out: str | Path) -> TrialResult:
        """The result stored in ``out`` (a finished run's folder)."""
        from oncotwin.trials.spec import parse_spec
        from oncotwin.trials.store import TrialStore

        store = TrialStore.open(Path(out))
        try:
            manifest = dict(store.manifest)
            summary = store.read("summary")
        finally:
            store.close()
        spec = parse_spec(manifest.get("spec_text", ""), source=str(Path(out) / "manifest"))
        report = Path(out) / "report.html"
        return cls(Path(out), summary, report if report.exists() else None, (), spec)

    # ------------------------------------------------------------------ tables
    def table(self, name: str) -> pd.DataFrame:
        """A per-patient table of the store: ``patients``, ``outcomes``, ``visits``,
        ``events`` (read once, then kept)."""
        if name not in self._tables:
            from oncotwin.trials.store import TrialStore

            store = TrialStore.open(self.out)
            try:
                self._tables[name] = store.read(name)
            finally:
                store.close()
        return self._tables[name]

    @property
    def patients(self) -> pd.DataFrame:
        return self.table("patients")

    @property
    def outcomes(self) -> pd.DataFrame:
        return self.table("outcomes")

    @property
    def visits(self) -> pd.DataFrame:
        return self.table("visits")

    @property
    def events(self) -> pd.DataFrame:
        return self.table("events")

    @functools.cached_property
    def manifest(self) -> Mapping[str, Any]:
        """The run's manifest (version, seed, spec hash, solver, citations, ...)."""
        return json.loads((self.out / "manifest.json").read_text())

    @property
    def parameters_note(self) -> str:
        """Which parameters the run used (calibrated set and in sample or not, or the
        uncalibrated defaults and why); empty for a run made before this was recorded."""
        try:
            info = self.manifest.get("calibration")
        except (OSError, ValueError):
            return ""
        return str(info.get("note", "")) if isinstance(info, dict) else ""

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.summary["arm"]))

    @property
    def reference_arm(self) -> str | None:
        return self.spec.reference if self.spec is not None else None

    # ------------------------------------------------------------------ comparisons
    def compare(self, published: pd.DataFrame | None = None) -> pd.DataFrame:
        """Simulated vs published: the summary with ``published``, ``difference`` and
        ``published_in_ci`` (default: the spec's published arms; or a table with columns
        arm, endpoint, published[, source])."""
        if published is None:
            if self.spec is None:
                raise ValueError("this result has no spec; pass the published table")
            return compare_published(self.summary, self.spec)
        return _with_published(self.summary, published)

    def published_inside(self) -> tuple[int, int]:
        """(published values inside the simulated 95% CI, published values compared)."""
        c = self.compare()
        have = c["published"].notna()
        return int(c.loc[have, "published_in_ci"].sum()), int(have.sum())

    # ------------------------------------------------------------------ views
    def _text_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for r in self.compare().itertuples(index=False):
            unit = f" [{r.unit}]" if isinstance(r.unit, str) and r.unit == "%" else ""
            sim = f"{r.value:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}]"
            pub = "-" if pd.isna(r.published) else f"{r.published:.3g}"
            rows.append((str(r.arm), f"{r.endpoint}{unit}", sim, pub))
        return rows

    def __str__(self) -> str:
        lines = [f"{self._title()}: simulated [95% CI] vs published"]
        if self.parameters_note:
            lines.append(f"  parameters: {self.parameters_note}")
        for arm, endpoint, sim, pub in self._text_rows():
            lines.append(f"  {arm:<28} {endpoint:<16} {sim:<26} {pub}")
        lines.append(DISCLAIMER)
        return "\n".join(lines)

    def _title(self) -> str:
        return self.spec.trial.name if self.spec is not None else str(self.out)

    def print_summary(self) -> TrialResult:
        """Print the summary beside the published values (returns self, to chain)."""
        print(self)
        return self

    def _repr_html_(self) -> str:
        import html

        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._text_rows()
        )
        return (
            f"<p><b>{html.escape(self._title())}</b>: virtual trial</p><table><thead><tr>"
            "<th>arm</th><th>endpoint</th><th>simulated [95% CI]</th><th>published</th>"
            f"</tr></thead><tbody>{cells}</tbody></table><p><i>{DISCLAIMER}</i></p>"
        )

    def __repr__(self) -> str:
        return f"TrialResult({self._title()!r}, out={str(self.out)!r}, arms={list(self.arms)})"

    def plot(self, kind: str, *, ax: Axes | None = None, **options: Any) -> Axes:
        """One of the trial plots of this result: ``"km"`` (``endpoint="pfs"|"os"``, with the
        published medians), ``"waterfall"``, ``"spider"``, ``"swimmer"`` (``arm=...``) or
        ``"forest"`` (subgroups of ``endpoint``); returns the axes."""
        from oncotwin import plotting

        if kind == "km":
            endpoint = options.pop("endpoint", "pfs")
            pub = self.compare()
            pub = pub[pub["endpoint"] == f"median_{endpoint.upper()}_mo"].dropna(
                subset=["published"]
            )
            medians = dict(zip(pub["arm"], pub["published"], strict=True))
            return plotting.plot_km(
                self.outcomes, endpoint=endpoint, ax=ax, published_medians=medians, **options
            )
        if kind == "waterfall":
            return plotting.plot_waterfall(self.outcomes, ax=ax, **options)
        if kind == "spider":
            return plotting.plot_spider(self.visits, outcomes=self.outcomes, ax=ax, **options)
        if kind == "swimmer":
            return plotting.plot_swimmer(self.outcomes, self.events, ax=ax, **options)
        if kind == "forest":
            from oncotwin.trials.endpoints import subgroup_analysis

            by = options.pop("by", "pdl1_group")
            ref = self.reference_arm or self.arms[-1]
            table = subgroup_analysis(self.outcomes, by, ref, **options)
            return plotting.plot_forest(table, ax=ax)
        from oncotwin.errors import did_you_mean

        raise ValueError(
            did_you_mean(kind, ("km", "waterfall", "spider", "swimmer", "forest"), what="plot")
        )

    def biomarkers(self, **options: Any) -> Any:
        """The biomarker analysis of this run (:func:`oncotwin.biomarkers.analyse_result`:
        AUC, odds and hazard ratios, cut-points, LORIS; ``on_treatment=False`` skips the
        markers that solve the arms again); returns a ``BiomarkerAnalysis``."""
        from oncotwin.biomarkers import analyse_result

        return analyse_result(self, **options)

    def to_store(self, path: str | Path) -> Path:
        """Copy the run's folder (store, manifest, report) to ``path``; returns it."""
        import shutil

        dest = Path(path)
        if dest.resolve() == self.out.resolve():
            return dest
        shutil.copytree(self.out, dest, dirs_exist_ok=False, ignore=shutil.ignore_patterns(".lock"))
        return dest

    def write_report(self, path: str | Path | None = None) -> Path:
        """(Re)write the self-contained HTML report of this result (default
        ``OUT/report.html``)."""
        from oncotwin.trials.trial import report_from_result

        return report_from_result(self, Path(path) if path is not None else None)
