"""``oncotwin sensitivity``: Morris or Sobol' sensitivity of a virtual trial's endpoints.

    oncotwin sensitivity --example checkmate067 --vary growth_rate=0.002:0.008 \\
        --vary pd1_kill=0.01:0.2 --method morris --trajectories 4 --patients 60 --out sens/
    oncotwin sensitivity --example keynote024 --vary-calibration --trajectories 2 --no-tornado

Writes ``DIR/sensitivity.csv``, ``DIR/tornado.png`` and ``DIR/sensitivity.html``; finished
design points are kept in ``DIR/points.csv`` and skipped when the same command runs again.
Research simulations only: not medical advice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oncotwin.errors import OncotwinError

__all__ = ["sensitivity_cmd"]

console = Console()
err_console = Console(stderr=True)

#: Factors listed per endpoint in the console ranking (all of them are in the CSV).
TOP = 6
#: Virtual patients per design point unless --patients is given.
DEFAULT_PATIENTS = 100


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _factors(trial: Any, example: str | None, vary: list[str], calibration: bool) -> Any:
    from oncotwin.calibration import sensitivity as sens

    if calibration and vary:
        raise OncotwinError("give either --vary NAME=LO:HI or --vary-calibration, not both")
    if not calibration:
        return sens.parameter_factors(trial, sens.parse_vary(vary)), None, []
    if example is None:
        raise OncotwinError(
            "--vary-calibration needs --example NAME (the hierarchy maps its quantities to the "
            "shipped example trials)"
        )
    from oncotwin.calibration import Hierarchy

    hierarchy = Hierarchy.build()
    factors, notes = sens.calibration_factors(hierarchy, example)
    return factors, (lambda theta: hierarchy.overrides(theta, example)), notes


def sensitivity_cmd(
    spec: Annotated[
        Path | None, typer.Argument(help="Trial spec file (TOML); or use --example.")
    ] = None,
    example: Annotated[
        str | None, typer.Option(help="A shipped example trial (`oncotwin trial examples`).")
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=LO:HI: vary model parameter NAME's typical value from LO to HI (its "
            "unit; log-scaled when LO > 0 and HI/LO > 10). Repeat for each parameter."
        ),
    ] = None,
    vary_calibration: Annotated[
        bool,
        typer.Option(
            "--vary-calibration",
            help="Vary every free calibration quantity that applies to the trial (theta box).",
        ),
    ] = False,
    method: Annotated[str, typer.Option(help="morris (screening) or sobol (variance).")] = "morris",
    trajectories: Annotated[
        int, typer.Option(help="Morris trajectories (each costs factors + 1 simulations).")
    ] = 4,
    samples: Annotated[
        int,
        typer.Option(help="Sobol' base samples, a power of two (each costs factors + 2)."),
    ] = 64,
    patients: Annotated[
        int, typer.Option(help="Virtual patients per design point (in all arms).")
    ] = DEFAULT_PATIENTS,
    seed: Annotated[int | None, typer.Option(help="Run seed (default: the spec's).")] = None,
    endpoints: Annotated[
        str, typer.Option(help="Comma-separated endpoints, e.g. ORR,median_OS_mo,HR_OS.")
    ] = "ORR,median_PFS_mo,median_OS_mo,OS_12mo",
    tornado: Annotated[
        bool,
        typer.Option(
            help="One-at-a-time runs for the tornado plot (2 x factors + 1 simulations); "
            "without them the figure shows the index bars."
        ),
    ] = True,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: sensitivity-<trial>).")
    ] = None,
) -> None:
    """Sensitivity of a trial's endpoints to model parameters: Morris elementary effects or
    Sobol' indices per arm and endpoint, and a one-at-a-time tornado plot."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oncotwin.calibration import sensitivity as sens
    from oncotwin.cli.trial import _load
    from oncotwin.trials import Trial

    try:
        trial_spec = _load(spec, example)
        trial = Trial(trial_spec)
        factors, to_overrides, notes = _factors(trial, example, list(vary or []), vary_calibration)
        size = trajectories if method == "morris" else samples
        sens.check_size(method, size)
        eps = [e for e in endpoints.split(",") if e.strip()]
        if out is None:
            out = Path(f"sensitivity-{example or (spec.stem if spec else 'trial')}")
        for f in factors:
            err_console.print(f"  {escape(f.describe())}", highlight=False)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("simulations"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as prog:
            task = prog.add_task(escape(trial.name), total=None)

            def progress(done: int, total: int, label: str) -> None:
                prog.update(task, completed=done, total=total, description=escape(label))

            result = sens.run_sensitivity(
                trial,
                factors,
                method=method,
                size=size,
                patients=patients,
                seed=seed,
                endpoints=eps,
                out=out,
                to_overrides=to_overrides,
                progress=progress,
                notes=notes,
                tornado=tornado,
            )
    except OncotwinError as exc:
        raise _fail(exc) from None
    _print(result, out)


def _print(result: Any, out: Path) -> None:
    col = "mu_star" if result.method == "morris" else "ST"
    table = Table(title=f"{result.trial}: {result.method} sensitivity (ranked by {col})")
    for c in ("arm", "endpoint", "ranking (largest first)"):
        table.add_column(c)
    idx = result.indices
    for (arm, endpoint), d in idx.groupby(["arm", "endpoint"], sort=False):
        unit = str(d["unit"].iloc[0]) if len(d) else ""
        d = d.dropna(subset=[col]).sort_values(col, ascending=False)
        shown = d.head(TOP)
        cells = ", ".join(f"{r.parameter} {getattr(r, col):.3g}" for r in shown.itertuples())
        if len(d) > TOP:
            zero = int((d[col].iloc[TOP:] == 0).sum())
            cells += f", ... {len(d) - TOP} more ({zero} with {col} = 0; see sensitivity.csv)"
        label = f"{endpoint} [{unit}]" if unit else str(endpoint)
        table.add_row(escape(str(arm)), escape(label), escape(cells or "no index"))
    console.print(table)
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False, soft_wrap=True)
    console.print(
        f"{result.simulations} design points, {result.simulated_now} simulated now (the others "
        f"were in points.csv or repeat a point), {result.patients} patients each, "
        f"{result.wall_s:.1f} s",
        highlight=False,
    )
    console.print(f"written: {out}/sensitivity.csv, tornado.png, sensitivity.html", highlight=False)
    from oncotwin._constants import DISCLAIMER

    console.print(f"[dim]{escape(DISCLAIMER)}[/]")
