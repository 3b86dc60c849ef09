"""``oncotwin`` command line: list models and drugs, simulate virtual populations.

Every command prints research simulations only; nothing here is medical advice.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from oncotwin.calibration.cli import app as calibrate_app
from oncotwin.cli.biomarkers import biomarkers_cmd
from oncotwin.cli.optimize import optimize_cmd
from oncotwin.cli.sensitivity import sensitivity_cmd
from oncotwin.cli.trial import app as trial_app
from oncotwin.cli.twin import app as twin_app
from oncotwin.errors import OncotwinError

__all__ = ["app"]

app = typer.Typer(
    name="oncotwin",
    help="In-silico patients and trials of cancer immunotherapy. Research simulations only: "
    "not medical advice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DEFAULT_MODEL = "bench_anchor"
#: The regimen a model is simulated under when ``--regimen`` is not given (else untreated).
DEFAULT_REGIMENS = {"bench_anchor": "pembrolizumab 200 mg IV q3w x35"}


def _fail(exc: Exception) -> typer.Exit:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@app.command("models")
def models_cmd(
    name: Annotated[
        str | None, typer.Argument(help="Show one model's equations and parameters.")
    ] = None,
) -> None:
    """List the shipped models, or show one model in full."""
    from oncotwin.models import get_model, list_models

    try:
        if name is None:
            table = Table(title="oncotwin models")
            table.add_column("name", style="bold", no_wrap=True)
            table.add_column("states")
            table.add_column("dose targets")
            table.add_column("description")
            for key, desc in list_models().items():
                if key.startswith("pk:"):
                    table.add_row(key, "[depot], central, [peripheral], eliminated", "<drug>", desc)
                    continue
                m = get_model(key)
                table.add_row(key, ", ".join(m.state_names), ", ".join(m.dose_targets) or "-", desc)
            console.print(table)
            return
        m = get_model(name)
    except OncotwinError as exc:
        raise _fail(exc) from None
    console.print(m.equations(), highlight=False)
    table = Table(title=f"parameters of {m.name}")
    for col in ("name", "value", "unit", "log-SD", "source"):
        table.add_column(col)
    for row in m.parameter_table():
        table.add_row(
            str(row["name"]),
            f"{row['value']:.6g}",
            str(row["unit"]),
            f"{row['log_sd']:g}",
            str(row["source"]),
        )
    console.print(table)


@app.command("drugs")
def drugs_cmd(
    mechanism: Annotated[str | None, typer.Option(help="Only this mechanism class.")] = None,
) -> None:
    """List the drug catalog: target, mechanism, PK half-life and sources."""
    from oncotwin.pharmacology import drug_table

    rows = drug_table()
    if mechanism:
        rows = [r for r in rows if str(r["mechanism"]).lower() == mechanism.lower()]
        if not rows:
            raise _fail(OncotwinError(f"no drug has mechanism {mechanism!r}"))
    table = Table(title="oncotwin drug catalog")
    table.add_column("name", no_wrap=True, style="bold")
    for col in ("target", "mechanism", "modality", "dose kind", "t1/2 [day]", "sources"):
        table.add_column(col)
    for r in rows:
        hl = r.get("half_life_days")
        src = r["sources"]
        sources = ", ".join(src) if isinstance(src, list | tuple) else str(src)
        table.add_row(
            str(r["name"]),
            str(r["target"]),
            str(r["mechanism"]),
            str(r["modality"]),
            str(r["dose_kind"]),
            f"{hl:.3g}" if isinstance(hl, float) else "-",
            sources,
        )
    console.print(table)
    if not mechanism:
        _print_combinations()


def _print_combinations() -> None:
    """The named combinations (regimen aliases): expansion, default cycle and source."""
    from oncotwin.regimens import all_combinations

    table = Table(title="named combinations (write e.g. 'FOLFOX q2w until progression')")
    for col in ("name", "expands to (days within the cycle)", "cycle [day]", "source"):
        table.add_column(col, no_wrap=col == "name", style="bold" if col == "name" else None)
    for c in all_combinations().values():
        aliases = f" ({', '.join(c.aliases)})" if c.aliases else ""
        table.add_row(
            c.name + aliases, c.expansion_text(), str(c.cycle_days), f"{c.source}: {c.where}"
        )
    console.print(table)


def _parse_vary(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        key, sep, val = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(val)
        except ValueError:
            raise OncotwinError(
                f"--vary {item!r} is not PARAM=SD; write e.g. --vary r=0.3 (SD of log r)"
            ) from None
    return out


@app.command("simulate")
def simulate_cmd(
    model: Annotated[
        str | None, typer.Option(help="Model name (see `oncotwin models`); default bench_anchor.")
    ] = None,
    sbml: Annotated[
        Path | None,
        typer.Option(help="An SBML file to simulate instead of a shipped model (with its events)."),
    ] = None,
    regimen: Annotated[
        str | None,
        typer.Option(
            help="Regimen, e.g. 'pembrolizumab 200 mg IV q3w x35'; 'none' for no treatment. "
            "Default: pembrolizumab 200 mg IV q3w x35 for bench_anchor, none for other models.",
        ),
    ] = None,
    patients: Annotated[int, typer.Option(help="Number of virtual patients.", min=1)] = 1000,
    cancer: Annotated[
        str | None,
        typer.Option(
            help="Cancer type of metastatic_io patients (melanoma, nsclc, renal_cell, "
            "urothelial, colorectal_msi_high, breast_her2, prostate, large_b_cell_lymphoma, "
            "b_all, multiple_myeloma, colorectal, follicular_lymphoma, hepatocellular, "
            "head_and_neck, gastric, small_cell_lung, triple_negative_breast; aliases such as "
            "crc, hcc, sclc, tnbc): covariates from real cohorts mapped to parameters.",
        ),
    ] = None,
    days: Annotated[float, typer.Option(help="Horizon [day].")] = 730.0,
    every: Annotated[float, typer.Option(help="Output interval [day].")] = 7.0,
    seed: Annotated[int, typer.Option(help="Random seed of the population.")] = 0,
    vary: Annotated[
        list[str] | None,
        typer.Option(help="PARAM=SD: between-patient SD of log(PARAM), repeatable."),
    ] = None,
    save: Annotated[list[str] | None, typer.Option(help="States to keep (default all).")] = None,
    out: Annotated[Path, typer.Option(help="Parquet file of trajectories.")] = Path(
        "oncotwin-results/simulation.parquet"
    ),
    plot: Annotated[Path | None, typer.Option(help="PNG plot of the population.")] = None,
    plot_state: Annotated[
        list[str] | None,
        typer.Option(help="States to plot (repeatable; default: up to four, the tumor first)."),
    ] = None,
    method: Annotated[str, typer.Option(help="auto | dopri5 | rodas4")] = "auto",
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-6,
    atol: Annotated[
        float,
        typer.Option(
            help="Absolute tolerance; each state's is tightened to rtol x its scale (its "
            "initial value at the model's defaults) where that is smaller.",
        ),
    ] = 1e-8,
    stop_on: Annotated[
        list[str] | None,
        typer.Option(
            help="Stop dosing at 'progression' (true, unscanned RECIST thresholds) or "
            "'toxicity' (first grade >= 3 irAE, with a steroid course); repeatable. A "
            "regimen's own 'until progression' always stops at progression.",
        ),
    ] = None,
    max_months: Annotated[
        float | None, typer.Option(help="Stop dosing after this many months.", min=0.001)
    ] = None,
) -> None:
    """Simulate a virtual population under a regimen; write Parquet (and a plot)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import oncotwin as ot
    from oncotwin.simulation import DISCLAIMER, simulate
    from oncotwin.solvers import SolverOptions

    try:
        sbml_events = None
        if sbml is not None:
            if model is not None:
                raise OncotwinError("give either --model or --sbml, not both")
            from oncotwin.io import read_sbml

            imported = read_sbml(sbml)
            m = imported.model
            sbml_events = imported
        else:
            m = ot.get_model(model or ("metastatic_io" if cancer else DEFAULT_MODEL))
        _check_simulate_input(m, patients, days, every, seed, rtol, save, out)
        from oncotwin.cli._bounds import check_tolerance

        check_tolerance(atol, "--atol")
        population: Any = patients
        if cancer is not None:
            if m.name != "metastatic_io":
                raise OncotwinError(
                    f"--cancer needs --model metastatic_io (got {m.name!r}); drop --cancer or "
                    "use --model metastatic_io"
                )
            import numpy as np

            from oncotwin.population.virtual import VirtualPopulation

            population = VirtualPopulation.for_trial(m, cancer, np.arange(patients), seed=seed)
        opts = SolverOptions(method=method, rtol=rtol, atol=atol)  # type: ignore[arg-type]
        from oncotwin.regimens import DosingRules

        rules = DosingRules.from_treatment(
            stop_on or (), max_duration_months=max_months, field="--stop-on"
        )
        if regimen is None:
            regimen = DEFAULT_REGIMENS.get(m.name, "none")
        reg = None if regimen.strip().lower() in ("", "none") else regimen
        t0 = time.perf_counter()
        with Progress(
            TextColumn("[bold]simulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} patients"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as prog:
            task = prog.add_task("simulate", total=patients)
            res = simulate(
                m,
                reg,
                patients=population,
                days=days,
                every=every,
                seed=seed,
                vary=_parse_vary(vary or []),
                save=save,
                options=opts,
                progress=lambda done, total: prog.update(task, completed=done),
                extra_events=sbml_events,
                rules=rules,
            )
        elapsed = time.perf_counter() - t0
        path = res.to_parquet(out)
        if plot is not None:
            import matplotlib.pyplot as plt

            from oncotwin.plotting import plot_states

            if m.name == "metastatic_io" and not plot_state:
                from oncotwin.plotting.sites import plot_sites

                axes = plot_sites(res)
            else:
                axes = plot_states(res, plot_state or None)
            plot.parent.mkdir(parents=True, exist_ok=True)
            axes.flat[0].figure.savefig(plot, dpi=110)
            plt.close(axes.flat[0].figure)
    except OncotwinError as exc:
        raise _fail(exc) from None
    sol = res.solution
    console.print(
        f"[bold]{m.name}[/]: {sol.n_patients} patients x {sol.t.size} times "
        f"in {elapsed:.2f} s; status {sol.status_counts()}"
    )
    if res.stop_reason is not None:
        import collections

        counts = collections.Counter(r for r in res.stop_reason.tolist() if r)
        said = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        console.print(f"dosing stopped ({len(res.stop_reason)} patients): {said}")
    from oncotwin.plotting import default_states

    shown = default_states(res, 1)[0]
    unit = {s.name: s.unit for s in m.states}[shown]
    last = sol[shown][:, -1]
    console.print(
        f"{shown} at day {sol.t[-1]:g}: median {_nanmedian(last):.4g} [{unit}]",
        markup=False,
        highlight=False,
    )
    console.print(f"wrote {path}" + (f" and {plot}" if plot is not None else ""))
    console.print(f"[dim]{DISCLAIMER}[/]")


def _check_simulate_input(
    m: Any,
    patients: int,
    days: float,
    every: float,
    seed: int,
    rtol: float,
    save: list[str] | None,
    out: Path,
) -> None:
    """Refuse out-of-bounds options before any work (one error naming the option)."""
    from oncotwin.cli._bounds import (
        MIN_RTOL,
        check_fits,
        check_seed,
        check_tolerance,
        simulate_bytes_per_patient,
    )
    from oncotwin.simulation import output_times

    check_seed(seed, "--seed")
    check_tolerance(rtol, "--rtol", minimum=MIN_RTOL)
    try:
        n_times = output_times(days, every).size
    except OncotwinError as exc:
        msg = str(exc).replace("days=", "--days ").replace("every=", "--every ")
        raise OncotwinError(msg) from None
    per_patient = simulate_bytes_per_patient(n_times, len(save) if save else len(m.states))
    check_fits(patients, per_patient, out.parent, option="--patients", in_memory=True)


def _nanmedian(x: object) -> float:
    import numpy as np

    return float(np.nanmedian(np.asarray(x))) if np.size(x) else float("nan")


sbml_app = typer.Typer(help="SBML model exchange: inspect, import, export.", no_args_is_help=True)
app.add_typer(sbml_app, name="sbml")
app.add_typer(trial_app, name="trial")
app.add_typer(twin_app, name="twin")
app.add_typer(calibrate_app, name="calibrate")
app.command("sensitivity")(sensitivity_cmd)
app.command("biomarkers")(biomarkers_cmd)
app.command("optimize")(optimize_cmd)


@sbml_app.command("info")
def sbml_info_cmd(file: Annotated[Path, typer.Argument(help="SBML file.")]) -> None:
    """What an SBML file holds and how oncotwin imports it (or why it refuses it)."""
    from oncotwin.io import sbml_info

    try:
        text = sbml_info(file)
    except (OncotwinError, OSError) as exc:
        raise _fail(exc) from None
    console.print(text, markup=False, highlight=False)


@sbml_app.command("export")
def sbml_export_cmd(
    model: Annotated[str, typer.Argument(help="Model name (see `oncotwin models`).")],
    out: Annotated[Path, typer.Option(help="SBML file to write.")] = Path("model.xml"),
) -> None:
    """Write a shipped model as SBML Level 3 (runs in libRoadRunner, COPASI, tellurium)."""
    import oncotwin as ot
    from oncotwin.io.sbml_export import write_sbml

    try:
        path = write_sbml(ot.get_model(model), out)
    except OncotwinError as exc:
        raise _fail(exc) from None
    console.print(f"wrote {path}")


@app.command("cite")
def cite_cmd(
    model: Annotated[str | None, typer.Option(help="Citations of one model.")] = None,
) -> None:
    """Print the citations behind a model (or every registered citation)."""
    from oncotwin.citations import all_citations, format_citations
    from oncotwin.models import get_model

    try:
        if model:
            m = get_model(model)
            keys = list(dict.fromkeys([*m.citations, *m.parameters.citation_keys()]))
        else:
            keys = sorted(all_citations())
    except OncotwinError as exc:
        raise _fail(exc) from None
    console.print(format_citations(keys) or "(no citations)", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
