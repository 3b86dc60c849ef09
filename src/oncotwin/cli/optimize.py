"""``oncotwin optimize``: search doses, intervals, durations or regimens of one trial arm.

    oncotwin optimize --example checkmate017 --arm nivolumab --vary dose=1:10 \\
        --vary interval=2,4 --objective "pfs12 - 0.5*g3tox" --patients 300 --budget 6

Writes ``DIR/optimize.csv`` (one row per candidate: objective, its bootstrap SE, the paired
difference to the reference regimen with its SE, each endpoint with its binomial SE, and the
exposure view: steady-state Cavg, Cmin, Cmax geometric means, 5th-95th percentiles and ratios
to the reference), ``DIR/exposure.csv`` and ``DIR/optimize.png``. Research simulations only:
not medical advice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oncotwin._constants import DISCLAIMER
from oncotwin.errors import OncotwinError

__all__ = ["optimize_cmd"]

console = Console()
err_console = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def optimize_cmd(
    spec: Annotated[
        Path | None, typer.Argument(help="Trial spec file (TOML); or use --example.")
    ] = None,
    example: Annotated[
        str | None, typer.Option(help="A shipped example trial (`oncotwin trial examples`).")
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=VALUES with NAME dose (100,200,400 | 240mg,3mg/kg | LO:HI continuous | "
            "LO:HI:STEP), interval (weeks: 2,3,6), duration (months of treatment: 12,24 or "
            "LO:HI) or regimen (whole regimens separated by |). Repeat for each choice."
        ),
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            help="Expression over endpoints orr, cr, dcr, pfs<M>, os<M>, g3tox, g3irae, "
            "g3crs, g3icans (proportions), e.g. 'pfs12 - 0.5*g3tox'."
        ),
    ] = "pfs12 - 0.5*g3tox",
    arm: Annotated[
        str | None, typer.Option(help="Arm whose regimen is varied (default: the first).")
    ] = None,
    drug: Annotated[
        str | None, typer.Option(help="Drug whose dose/interval is varied (default: first).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Reference regimen (default: the arm's own).")
    ] = None,
    patients: Annotated[
        int, typer.Option(help="Virtual patients, the same for every candidate.")
    ] = 300,
    seed: Annotated[int | None, typer.Option(help="Run seed (default: the spec's).")] = None,
    budget: Annotated[
        int, typer.Option(help="Bayesian-optimisation evaluations after the grid.")
    ] = 6,
    grid_points: Annotated[int, typer.Option(help="Grid values of each continuous range.")] = 5,
    bootstrap: Annotated[int, typer.Option(help="Paired bootstrap resamples.")] = 400,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: optimize-<trial>).")
    ] = None,
) -> None:
    """Optimise a trial arm's regimen for an objective over the same virtual patients, with
    each estimate's uncertainty and the regulator's exposure view beside every candidate."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oncotwin.cli._bounds import check_seed
    from oncotwin.cli.trial import _load
    from oncotwin.optimize import optimise, parse_objective, parse_vary

    try:
        trial_spec = _load(spec, example)
        if seed is not None:
            check_seed(seed, "--seed")
        if not vary:
            raise OncotwinError(
                "give at least one --vary NAME=VALUES, e.g. --vary dose=100,200,400 "
                "--vary interval=3,6"
            )
        varies = [parse_vary(v) for v in vary]
        obj = parse_objective(objective)
        if out is None:
            out = Path(f"optimize-{example or (spec.stem if spec else 'trial')}")
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("candidates"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as prog:
            task = prog.add_task("optimise", total=None)

            def progress(done: int, total: int, label: str) -> None:
                prog.update(task, completed=done, total=total, description=escape(label[:40]))

            result = optimise(
                trial_spec,
                varies,
                obj,
                arm=arm,
                drug=drug,
                patients=patients,
                seed=seed,
                reference=reference,
                budget=budget,
                grid_points=grid_points,
                bootstrap=bootstrap,
                progress=progress,
            )
        paths = result.write(out)
    except (OncotwinError, OSError) as exc:
        raise _fail(exc) from None
    _print_table(result)
    for note in result.notes:
        err_console.print(f"note: {escape(note)}", highlight=False)
    for p in paths.values():
        console.print(f"wrote {p}")
    console.print(
        f"{len(result.table)} candidates x {result.patients} patients in "
        f"{result.seconds:.1f} s. {DISCLAIMER}",
        highlight=False,
    )


def _print_table(result: object) -> None:
    t = result.table  # type: ignore[attr-defined]
    table = Table(
        title=f"objective {result.objective.text}: same {result.patients} patients per "  # type: ignore[attr-defined]
        "candidate; diff = paired difference to the reference (SE)",
        title_justify="left",
    )
    for col in ("candidate", "objective (SE)", "diff (SE)"):
        table.add_column(col)
    has_expo = "Cavg_ss_gm" in t
    if has_expo:
        for col in ("Cavg,ss mg/L (5-95%)", "Cmin,ss", "Cmax,ss", "ratio Cavg/Cmin/Cmax"):
            table.add_column(col)
    best = t["objective"].idxmax()
    for i, r in t.iterrows():
        name = escape(str(r["candidate"]))
        cells = [
            f"[bold]{name}[/]" if i == best else name,
            f"{r['objective']:.3f} ({r['objective_se']:.3f})",
            f"{r['diff_vs_reference']:+.3f} ({r['diff_se_paired']:.3f})",
        ]
        if has_expo:
            cells += [
                f"{r['Cavg_ss_gm']:.0f} ({r['Cavg_ss_p5']:.0f}-{r['Cavg_ss_p95']:.0f})",
                f"{r['Cmin_ss_gm']:.0f} ({r['Cmin_ss_p5']:.0f}-{r['Cmin_ss_p95']:.0f})",
                f"{r['Cmax_ss_gm']:.0f} ({r['Cmax_ss_p5']:.0f}-{r['Cmax_ss_p95']:.0f})",
                "/".join(
                    f"{r.get(f'{m}_ratio', float('nan')):.2f}"
                    for m in ("Cavg_ss", "Cmin_ss", "Cmax_ss")
                ),
            ]
        table.add_row(*cells)
    console.print(table)
