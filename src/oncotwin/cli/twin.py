"""``oncotwin twin``: fit a patient's digital twin, forecast it, rank regimens.

Research simulations only; nothing here is medical advice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from oncotwin.errors import OncotwinError

__all__ = ["app"]

app = typer.Typer(
    help="A patient's digital twin: fit lesion sizes, forecast, rank regimens (research "
    "simulation, not medical advice).",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)
_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _fail(exc: Exception) -> typer.Exit:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _extra_values(ctx: typer.Context, option: str) -> list[str]:
    """Values after the first one of a multi-value option (``--at 200 250 300``)."""
    bad = [a for a in ctx.args if a.startswith("--")]
    if bad:
        raise OncotwinError(f"unknown option {bad[0]!r}; see --help")
    if ctx.args and option == "":
        raise OncotwinError(f"unexpected argument(s) {ctx.args}; see --help")
    return list(ctx.args)


@app.command("fit")
def fit_cmd(
    patient_csv: Annotated[Path, typer.Argument(help="CSV: lesion_id, organ, day, diameter_mm.")],
    regimen: Annotated[str, typer.Option(help="Regimen given so far, day 0 = its start.")],
    out: Annotated[Path, typer.Option(help="Output folder (twin.json, report.html).")],
    cancer: Annotated[str, typer.Option(help="Cancer type, e.g. nsclc.")] = "nsclc",
    covariates: Annotated[
        Path | None, typer.Option(help="Optional CSV of covariates: one row, named columns.")
    ] = None,
    alternatives: Annotated[
        list[str] | None,
        typer.Option("--alternative", help="A regimen to rank in the report (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the forecast draws.")] = 0,
) -> None:
    """Fit a patient's lesions and write the twin and its HTML report."""
    import time

    tic = time.perf_counter()
    try:
        import pandas as pd

        from oncotwin.twin import PatientTwin, read_measurements
        from oncotwin.twin._report import write_twin_report

        cov: dict[str, object] = {}
        if covariates is not None:
            if not covariates.is_file():
                raise OncotwinError(f"--covariates {str(covariates)!r} does not exist")
            table = pd.read_csv(covariates)
            if len(table) != 1:
                raise OncotwinError(f"--covariates needs exactly one row, got {len(table)}")
            cov = {k: (v.item() if hasattr(v, "item") else v) for k, v in table.iloc[0].items()}
        twin = PatientTwin(regimen=regimen, cancer=cancer, covariates=cov, seed=seed)
        twin.fit(read_measurements(patient_csv))
        twin.save(out)
        report = write_twin_report(twin, out / "report.html", alternatives=alternatives or [])
    except OncotwinError as exc:
        raise _fail(exc) from None
    console.print(twin.summary_text(), highlight=False, markup=False)
    console.print(f"wrote {out / 'twin.json'} and {report} in {time.perf_counter() - tic:.1f} s")


@app.command("forecast", context_settings=_EXTRA)
def forecast_cmd(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder written by `oncotwin twin fit`.")],
    days: Annotated[float, typer.Option(help="Horizon after the last scan, in days.")] = 180.0,
    at: Annotated[
        float | None, typer.Option(help="Forecast at these days instead: --at 200 250 300.")
    ] = None,
    every: Annotated[float, typer.Option(help="Spacing of the forecast days, in days.")] = 7.0,
    regimen: Annotated[str | None, typer.Option(help="Alternative regimen from now.")] = None,
) -> None:
    """Write DIR/forecast.csv: each lesion and the SLD, median and 80/95% intervals."""
    try:
        from oncotwin.twin import PatientTwin

        extra = _extra_values(ctx, "--at" if at is not None else "")
        at_days = None
        if at is not None:
            try:
                at_days = [at, *(float(x) for x in extra)]
            except ValueError:
                raise OncotwinError(f"--at takes numbers of days, got {extra}") from None
        twin = PatientTwin.load(directory)
        table = twin.forecast(days, at=at_days, regimen=regimen, every=every)
    except OncotwinError as exc:
        raise _fail(exc) from None
    path = directory / "forecast.csv"
    table.to_csv(path, index=False, float_format="%.4g")
    console.print(f"wrote {path} ({len(table)} rows); research simulation, not medical advice")


@app.command("rank", context_settings=_EXTRA)
def rank_cmd(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder written by `oncotwin twin fit`.")],
    regimens: Annotated[str, typer.Option(help='Candidates: --regimens "A" "B" ...')],
    horizon: Annotated[float, typer.Option(help="Days after the last scan.")] = 180.0,
) -> None:
    """Rank candidate regimens for this patient (writes DIR/ranking.csv)."""
    try:
        from oncotwin.twin import PatientTwin

        candidates = [regimens, *_extra_values(ctx, "--regimens")]
        twin = PatientTwin.load(directory)
        table = twin.rank(candidates, horizon=horizon)
    except OncotwinError as exc:
        raise _fail(exc) from None
    path = directory / "ranking.csv"
    table.to_csv(path, index=False, float_format="%.4g")
    from rich.table import Table

    view = Table(title=f"regimens for this patient, SLD {horizon:g} days after the last scan")
    for col in (
        "regimen",
        "SLD median [80%] mm",
        "vs current [95%] mm",
        "P(better)",
        "P(PD next scan)",
        "P(PFS 6 mo)",
        "P(PFS 12 mo)",
        "grade 3-4 tox",
    ):
        view.add_column(col, overflow="fold")
    sld = table.columns[2]
    for _, r in table.iterrows():
        view.add_row(
            r["regimen"],
            f"{r[sld]:.1f} [{r['sld_lo80_mm']:.1f}, {r['sld_hi80_mm']:.1f}]",
            f"{r['diff_vs_current_median_mm']:+.1f} [{r['diff_lo95_mm']:+.1f}, "
            f"{r['diff_hi95_mm']:+.1f}]",
            f"{r['p_better_than_current']:.2f}",
            f"{r['p_progression_next_scan']:.2f}",
            f"{r['p_pfs_6mo']:.2f}",
            f"{r['p_pfs_12mo']:.2f}",
            f"{r['grade3_4_toxicity_risk']:.0%}",
        )
    console.print(view)
    console.print(f"wrote {path}; research simulation, not medical advice")
