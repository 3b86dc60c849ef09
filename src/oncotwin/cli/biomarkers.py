"""``oncotwin biomarkers RUN_DIR``: biomarker analysis of a stored virtual trial.

    oncotwin trial run --example checkmate067 --patients 300 --out oncotwin-results
    oncotwin biomarkers oncotwin-results
    oncotwin biomarkers oncotwin-results --baseline-only --marker tmb --marker loris

Writes ``RUN_DIR/biomarkers.csv``, ``biomarker_strata.csv``, ``biomarkers_roc.png``,
``biomarkers_forest.png`` and ``biomarkers.html``, adds the tables ``biomarkers`` and
``biomarker_strata`` to ``RUN_DIR/trial.duckdb`` and the section to ``RUN_DIR/report.html``,
and prints the table of all patients. Research simulations only: not medical advice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from oncotwin.errors import OncotwinError

__all__ = ["biomarkers_cmd"]

console = Console()
err_console = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def biomarkers_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Folder of a finished `oncotwin trial run`.")],
    marker: Annotated[
        list[str] | None,
        typer.Option("--marker", help="Analyse only this marker (repeatable; default: all)."),
    ] = None,
    baseline_only: Annotated[
        bool,
        typer.Option(
            "--baseline-only",
            help="Skip the on-treatment markers (they solve the run's arms again).",
        ),
    ] = False,
    group: Annotated[
        str, typer.Option(help="Group whose table is printed ('all' or 'arm=NAME').")
    ] = "all",
    boot: Annotated[
        int, typer.Option(help="Bootstrap samples of the cut-point optimism.", min=20)
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap and CV folds.")] = 0,
) -> None:
    """Biomarker analysis of a virtual trial: AUC, odds and hazard ratios, cut-points, LORIS."""
    from oncotwin.biomarkers import analyse_result
    from oncotwin.trials.result import TrialResult

    try:
        result = TrialResult.open(run_dir)
        analysis = analyse_result(
            result,
            markers=marker or None,
            on_treatment=not baseline_only,
            n_boot=boot,
            seed=seed,
        )
        paths = analysis.write(run_dir)
        groups = set(analysis.table["group"])
        if group not in groups:
            raise OncotwinError(f"--group: {group!r} was not analysed; groups: {sorted(groups)}")
        # the table needs ~110 columns; a narrower terminal (or a pipe, 80) wraps it
        analysis.print(group, console=Console(width=max(console.width, 110)))
    except (OncotwinError, OSError) as exc:
        raise _fail(exc) from None
    for note in analysis.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}", markup=False, highlight=False)
