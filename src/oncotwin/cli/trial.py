"""``oncotwin trial``: run a virtual trial from a spec file, report it, compare it to the paper.

Commands::

    oncotwin trial run SPEC.toml --patients N --out DIR [--seed S] [--resume]
    oncotwin trial run --example NAME --patients N --out DIR
    oncotwin trial report DIR
    oncotwin trial run SPEC.toml --predict --out DIR [--draws 200] [--parameters NAME]
    oncotwin trial compare DIR | RECORD.json [--published FILE]
    oncotwin trial examples

Bad input (spec errors, unknown examples, an existing ``--out`` without ``--resume``)
prints one red ``error:`` message and exits 2; Ctrl-C during ``run`` keeps the finished
chunks and exits 130.
Research simulations only: not medical advice.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oncotwin._constants import PARAMETERS_NOTE
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["KEY_ENDPOINTS", "app", "format_value", "source_notes", "summary_table"]

app = typer.Typer(
    help="Virtual clinical trials: run a spec, rewrite its report, compare with the paper.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

#: Summary endpoints shown after ``run`` and by ``compare`` (plus any with a published value).
KEY_ENDPOINTS: tuple[str, ...] = (
    "ORR",
    "CR",
    "median_PFS_mo",
    "median_OS_mo",
    "HR_PFS",
    "HR_OS",
    "g3plus_AE",
)

#: Printed under every comparison with published values.
NOT_FITTED = PARAMETERS_NOTE

INTERRUPTED = "interrupted: finished chunks are saved; rerun with --resume to continue"


def _fail(exc: Exception) -> typer.Exit:
    """Print one red ``error:`` line (as ``oncotwin.cli.main`` does) and exit with code 2."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _interrupted() -> typer.Exit:
    err_console.print(f"[bold yellow]{INTERRUPTED}[/]", highlight=False)
    return typer.Exit(code=130)


class _StoreNotes(logging.Handler):
    """Prints the store's notes (e.g. a dead run's lock recovered) as yellow ``note:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        text = escape(record.getMessage())
        err_console.print(f"[yellow]note:[/] {text}", highlight=False, soft_wrap=True)


def _show_store_notes() -> None:
    """Route the store's log warnings to stderr as notes (once per process)."""
    logger = logging.getLogger("oncotwin.trials.store")
    if not any(isinstance(h, _StoreNotes) for h in logger.handlers):
        logger.addHandler(_StoreNotes(logging.WARNING))


def _disk_fault(exc: OSError, out: Path, doing: str, fix: str | None = None) -> typer.Exit:
    """One red line for a fault of the output folder or disk; other OSErrors propagate."""
    from oncotwin.trials._store_faults import fault_kind
    from oncotwin.trials.store import io_fault

    if fault_kind(exc) is None:
        raise exc
    return _fail(io_fault(exc, out, doing=doing, fix=fix))


def _is_interrupt(exc: BaseException) -> bool:
    """True for an error that only wraps a Ctrl-C.

    DuckDB turns a KeyboardInterrupt raised while it reads a chunk's DataFrame into a
    ``duckdb.Error`` whose message holds the traceback, and the store reports that as a failed
    write (rolled back); to the user it is still an interruption.
    """
    cause = exc.__cause__
    return cause is not None and "KeyboardInterrupt" in str(cause)


def format_value(value: Any, *, digits: int = 3) -> str:
    """A summary value for a table: ``"NR"`` (not reached) for +inf, ``"-"`` for NaN/None.

    Examples
    --------
    >>> format_value(44.8123), format_value(float("inf")), format_value(None), format_value(1234.5)
    ('44.8', 'NR', '-', '1234')
    """
    if _isnan(value):
        return "-"
    v = float(value)
    if math.isinf(v):
        return "NR" if v > 0 else "-inf"
    return f"{v:.{digits}g}" if abs(v) < 10**digits else f"{v:.0f}"


def _with_ci(row: Any) -> str:
    text = format_value(row["value"])
    lo, hi = row.get("ci_low", math.nan), row.get("ci_high", math.nan)
    if text != "-" and not (_isnan(lo) and _isnan(hi)):
        text += f" [{format_value(lo)}, {format_value(hi)}]"
    return text


def _isnan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _endpoint_label(endpoint: str, unit: str) -> str:
    suffix = {"%": " [%]", "months": ""}.get(unit, "")
    return f"{endpoint}{suffix}"


def _arm_id(source: str) -> str:
    """The published arm id of a summary ``source`` (``"KN024_PEMBRO: Reck NEJM ..."``)."""
    return str(source).partition(":")[0].strip()


def _rows(summary: pd.DataFrame, *, every: bool, arms: Sequence[str] = ()) -> pd.DataFrame:
    """Key endpoints and every endpoint with a published value (or all rows), arm by arm."""
    import numpy as np
    import pandas as pd

    s = summary.copy()
    if "published" not in s:
        s["published"] = np.nan
    if "difference" not in s:
        s["difference"] = s["value"] - s["published"]
    if not every:
        s = s[s["endpoint"].isin(KEY_ENDPOINTS) | s["published"].notna()]
    order = {e: i for i, e in enumerate(KEY_ENDPOINTS)}
    arm_order = {a: i for i, a in enumerate(dict.fromkeys([*arms, *pd.unique(summary["arm"])]))}
    s = s.assign(
        _a=s["arm"].map(arm_order),
        _e=s["endpoint"].map(lambda e: order.get(e, len(order))),
    )
    return s.sort_values(["_a", "_e"], kind="stable").drop(columns=["_a", "_e"])


def summary_table(
    summary: pd.DataFrame,
    *,
    title: str,
    difference: bool = False,
    every: bool = False,
    arms: Sequence[str] = (),
) -> Table:
    """A rich table of a trial summary: arm, endpoint, simulated [95% CI], published.

    ``difference=True`` adds the simulated minus published value and the published arm's id
    (:func:`source_notes` gives the full sources); ``every=True`` shows every endpoint, not
    only :data:`KEY_ENDPOINTS` and those with a published value; ``arms`` orders the arms.
    """
    from rich import box

    table = Table(title=escape(title), box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("arm", style="bold", min_width=8, overflow="fold")
    table.add_column("endpoint", no_wrap=True)
    table.add_column("simulated [95% CI]", no_wrap=True)
    table.add_column("published", justify="right", no_wrap=True)
    if difference:
        table.add_column("difference", justify="right", no_wrap=True)
        table.add_column("source", overflow="fold")
    previous = None
    for _, row in _rows(summary, every=every, arms=arms).iterrows():
        arm = str(row["arm"])
        unit = str(row.get("unit", "") or "")
        first = arm != previous
        cells = [
            escape(arm) if first else "",
            _endpoint_label(str(row["endpoint"]), unit),
            _with_ci(row),
            format_value(row["published"]),
        ]
        if difference:
            diff = float(row["difference"])
            cells.append(f"{diff:+.3g}" if math.isfinite(diff) else "-")
            cells.append(escape(_arm_id(row.get("source", "") or "")) if first else "")
        table.add_row(*cells)
        previous = arm
    return table


def source_notes(summary: pd.DataFrame, *, arms: Sequence[str] = ()) -> list[str]:
    """The distinct ``ARM_ID: source`` strings of the published arms, in ``arms`` order."""
    if "source" not in summary:
        return []
    ordered = _rows(summary, every=True, arms=arms)["source"].dropna()
    return list(dict.fromkeys(str(x) for x in ordered if str(x).strip()))


def _load(spec: Path | None, example: str | None):
    from oncotwin.trials.spec import example_path, list_examples, load_spec

    if spec is not None and example is not None:
        raise OncotwinError(
            f"give either a SPEC file ({str(spec)!r}) or --example ({example!r}), not both"
        )
    if spec is None and example is None:
        raise OncotwinError(
            "no trial given: pass a SPEC.toml file or --example NAME "
            "(list the shipped examples with `oncotwin trial examples`)"
        )
    if example is None:
        return load_spec(spec)
    try:
        path = example_path(example)
    except UnknownNameError:
        names = [name for name, _ in list_examples()]
        raise UnknownNameError(
            f"--example: {did_you_mean(example, names, what='example trial')} (list them with "
            "`oncotwin trial examples`)"
        ) from None
    return load_spec(path)


def _check_run_input(trial_spec: Any, n: int, seed: int | None, chunk: int, out: Path) -> None:
    """Refuse out-of-bounds options before anything is written (one error naming the option)."""
    from oncotwin.cli._bounds import check_chunk_size, check_fits, check_seed
    from oncotwin.cli._bounds import trial_bytes_per_patient as per_patient
    from oncotwin.trials._spec_models import MAX_PATIENTS

    if seed is not None:
        check_seed(seed, "--seed")
    if n > MAX_PATIENTS:
        raise OncotwinError(
            f"--patients {n:,} is above the limit of {MAX_PATIENTS:,} per run; split the trial "
            "into runs with different --seed values"
        )
    check_chunk_size(chunk)
    check_fits(n, per_patient(trial_spec.scan_days().size), out, option="--patients")


def _resume_defaults(out: Path, patients, seed, chunk_size) -> tuple[Any, Any, Any, int]:
    """With --resume, options not given again default to those the store was made with.

    Also returns the number of chunks the store already holds (0 without a store).
    """
    from oncotwin.trials.store import TrialStore

    store = TrialStore(out)
    if not store.exists:
        return patients, seed, chunk_size, 0
    info = store.manifest
    return (
        info.get("patients") if patients is None else patients,
        info.get("seed") if seed is None else seed,
        info.get("chunk_size") if chunk_size is None else chunk_size,
        len(store.done_chunks()),
    )


@app.command("run")
def run_cmd(
    out: Annotated[Path, typer.Option(help="Output folder (trial.duckdb, report.html).")],
    spec: Annotated[
        Path | None, typer.Argument(help="Trial spec file (TOML); or use --example.")
    ] = None,
    example: Annotated[
        str | None,
        typer.Option(help="A shipped example trial (see `oncotwin trial examples`)."),
    ] = None,
    patients: Annotated[
        int | None, typer.Option(help="Number of virtual patients (default: the spec's).", min=1)
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed (default: the spec's).")] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted run in --out (same options)."),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(help="dask.distributed scheduler, tcp://HOST:PORT (default: in-process)."),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(help="Patients per chunk (default 500; the store's with --resume).", min=1),
    ] = None,
    report: Annotated[bool, typer.Option(help="Write report.html at the end.")] = True,
    parameters: Annotated[
        str | None,
        typer.Option(
            "--parameters",
            "--calibrated",
            help="Parameter values: a calibrated set's name or folder, or 'uncalibrated' for "
            "the shipped defaults (default: the default calibrated set's posterior median).",
        ),
    ] = None,
    predict: Annotated[
        bool,
        typer.Option(
            "--predict",
            help="Predict the trial from the calibrated posterior: 95% predictive intervals, "
            "a prediction record written first, KM visual predictive checks.",
        ),
    ] = False,
    draws: Annotated[
        int, typer.Option(help="Posterior draws of --predict (at least 200 advised).")
    ] = 200,
    sim_per_arm: Annotated[
        int, typer.Option(help="Simulated patients per arm of --predict, spread over draws.")
    ] = 500,
) -> None:
    """Run a virtual trial: simulate, assess, store, summarise and report (or, with
    --predict, predict it with intervals and write a prediction record)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oncotwin.simulation import DISCLAIMER

    if predict:
        unused = [o for o, v in (("--resume", resume), ("--scheduler", scheduler)) if v]
        if unused or chunk_size is not None:
            raise _fail(
                OncotwinError(
                    f"{(unused or ['--chunk-size'])[0]} does not apply to --predict (it writes "
                    "a prediction, not a trial store); drop it"
                )
            )
        _predict_cmd(spec, example, out, patients, seed, parameters, draws, sim_per_arm)
        return
    try:
        trial_spec = _load(spec, example)
        from oncotwin.population.covariates import resolve_cancer

        resolve_cancer(trial_spec.trial.cancer)  # fail before anything is written
        done = 0
        if resume:
            patients, seed, chunk_size, done = _resume_defaults(out, patients, seed, chunk_size)
        from oncotwin.trials.run import DEFAULT_CHUNK, run_trial

        n = int(patients if patients is not None else trial_spec.trial.patients)
        chunk = DEFAULT_CHUNK if chunk_size is None else int(chunk_size)
        _check_run_input(trial_spec, n, seed, chunk, out)
        todo = max(0, -(-n // max(chunk, 1)) - done)  # the chunks this session will run

        t0 = time.perf_counter()
        _show_store_notes()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("chunks"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as prog:
            task = prog.add_task(escape(trial_spec.trial.name), total=todo)
            result = run_trial(
                trial_spec,
                out=out,
                patients=patients,
                seed=seed,
                resume=resume,
                scheduler=scheduler,
                chunk_size=chunk,
                progress=lambda k, total: prog.update(task, completed=k, total=total),
                report=report,
                calibrated=_calibrated_option(parameters),
            )
        elapsed = time.perf_counter() - t0
    except KeyboardInterrupt:
        raise _interrupted() from None
    except OncotwinError as exc:
        if _is_interrupt(exc):
            raise _interrupted() from None
        raise _fail(exc) from None
    except OSError as exc:
        raise _disk_fault(exc, out, "the run") from None
    console.print(
        f"[bold]{escape(trial_spec.trial.name)}[/]: {n} patients, "
        f"{len(trial_spec.arm_names)} arms; {len(result.chunks_run)} chunks run in "
        f"{elapsed:.1f} s" + (f" ({done} were in the store already)" if done else ""),
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        summary_table(
            result.summary, title="summary (simulated vs published)", arms=trial_spec.arm_names
        )
    )
    if result.parameters_note:
        console.print(f"parameters: {escape(result.parameters_note)}", highlight=False)
    console.print(f"[dim]{escape(NOT_FITTED)}[/]")
    console.print(f"store: {result.out}", highlight=False, soft_wrap=True)
    if result.report is not None:
        console.print(f"report: {result.report}", highlight=False, soft_wrap=True)
    console.print(f"[dim]{DISCLAIMER}[/]", highlight=False)


def _store_summary(out: Path) -> tuple[pd.DataFrame, dict]:
    """The stored summary (published values filled in when missing) and the manifest."""
    from oncotwin.trials.run import compare_published
    from oncotwin.trials.spec import parse_spec
    from oncotwin.trials.store import StoreError, TrialStore

    store = TrialStore.open(out)
    manifest = store.manifest
    if "summary" not in store.tables():
        raise StoreError(
            f"out: the run in {str(out)!r} has no summary yet (status "
            f"{manifest.get('status', '?')!r}); finish it with `oncotwin trial run ... --out "
            f"{out} --resume`"
        )
    summary = store.read("summary")
    if "published" not in summary or summary["published"].isna().all():
        spec = parse_spec(manifest.get("spec_text", ""), source=str(store.manifest_path))
        summary = compare_published(summary, spec)
    return summary, manifest


@app.command("report")
def report_cmd(out: Annotated[Path, typer.Argument(help="The --out folder of a run.")]) -> None:
    """Rewrite DIR/report.html from the trial store and print its path."""
    from oncotwin.trials.run import write_trial_report

    fix = f"free space or fix the folder, then run `oncotwin trial report {out}` again"
    try:
        _store_summary(out)  # a run without its summary yet is told to --resume
        path = write_trial_report(out)
    except KeyboardInterrupt:
        err_console.print("[bold yellow]interrupted: report.html is unchanged[/]", highlight=False)
        raise typer.Exit(code=130) from None
    except OncotwinError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _disk_fault(exc, out, "writing report.html", fix) from None
    console.print(str(path), highlight=False, soft_wrap=True)


@app.command("compare")
def compare_cmd(
    out: Annotated[Path, typer.Argument(help="The --out folder of a run, or a prediction record.")],
    all_endpoints: Annotated[
        bool, typer.Option("--all", help="Every endpoint, not only the key and published ones.")
    ] = False,
    published: Annotated[
        Path | None,
        typer.Option(
            help="CSV of published values (arm, endpoint, published[, source]) to check a "
            "prediction record against (default: the trial's published arms)."
        ),
    ] = None,
) -> None:
    """Simulated endpoints beside the published ones, with the difference and the source;
    for a prediction record: each endpoint inside or outside its predictive interval."""
    from oncotwin.simulation import DISCLAIMER
    from oncotwin.trials.predict import RECORD_FILE

    if out.suffix == ".json" or (out / RECORD_FILE).is_file():
        _compare_record_cmd(out, published)
        return
    if published is not None:
        raise _fail(
            OncotwinError(
                f"--published: {str(out)!r} is a run folder, not a prediction record; "
                "--published checks a prediction record (trial run --predict)"
            )
        )
    try:
        summary, manifest = _store_summary(out)
    except OncotwinError as exc:
        raise _fail(exc) from None
    name = str(manifest.get("trial", out))
    table = summary_table(
        summary,
        title=f"{name}: simulated vs published",
        difference=True,
        every=all_endpoints,
        arms=manifest.get("arms", ()),
    )
    console.print(table)
    for note in source_notes(summary, arms=manifest.get("arms", ())):
        console.print(f"source {escape(note)}", highlight=False)
    calibration = manifest.get("calibration")
    if isinstance(calibration, dict) and calibration.get("note"):
        console.print(f"parameters: {escape(str(calibration['note']))}", highlight=False)
    console.print(f"[dim]{escape(NOT_FITTED)}[/]")
    console.print(f"[dim]{DISCLAIMER}[/]", highlight=False)


@app.command("examples")
def examples_cmd() -> None:
    """List the example trial specs shipped with oncotwin."""
    from oncotwin.trials.spec import example_path, list_examples, load_spec

    table = Table(title="oncotwin example trials (oncotwin trial run --example NAME)")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("trial")
    table.add_column("cancer")
    table.add_column("patients", justify="right")
    table.add_column("arms")
    try:
        for name, title in list_examples():
            spec = load_spec(example_path(name))
            table.add_row(
                name,
                escape(title),
                escape(spec.trial.cancer),
                str(spec.trial.patients),
                escape("; ".join(spec.arm_names)),
            )
    except OncotwinError as exc:
        raise _fail(exc) from None
    console.print(table)


# ---------------------------------------------------------------------- predictions
def _calibrated_option(value: str | None) -> Any:
    """``--parameters``: None (the default set), False (uncalibrated) or a set name/path."""
    if value is None:
        return None
    if value.strip().lower() in ("uncalibrated", "none", "default-uncalibrated"):
        return False
    return value


def _predict_cmd(
    spec: Path | None,
    example: str | None,
    out: Path,
    patients: int | None,
    seed: int | None,
    parameters: str | None,
    draws: int,
    sim_per_arm: int,
) -> None:
    """``trial run --predict``: predict, write the record, then compare and print."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oncotwin.calibration.calibrated import calibration_note
    from oncotwin.simulation import DISCLAIMER
    from oncotwin.trials.predict import (
        RECORD_FILE,
        compare_record,
        predict,
        write_outputs,
        write_record,
    )

    try:
        if draws < 1:
            raise OncotwinError(f"--draws {draws}; give a whole number of posterior draws >= 1")
        trial_spec = _load(spec, example)
        if seed is not None:
            from oncotwin.cli._bounds import check_seed

            check_seed(seed, "--seed")
        if (out / RECORD_FILE).exists():
            raise OncotwinError(
                f"--out {out}: it holds a prediction record already (a record is written once); "
                "use a new --out folder"
            )
        t0 = time.perf_counter()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("blocks"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as prog:
            task = prog.add_task(escape(trial_spec.trial.name), total=None)
            prediction = predict(
                trial_spec,
                calibrated=_calibrated_option(parameters),
                draws=draws,
                seed=seed,
                patients=patients,
                sim_per_arm=sim_per_arm,
                progress=lambda k, total: prog.update(task, completed=k, total=total),
            )
        record = write_record(prediction, out)  # before anything is compared
        write_outputs(prediction, out)
        comparison = compare_record(record)
        elapsed = time.perf_counter() - t0
    except KeyboardInterrupt:
        raise _interrupted() from None
    except OncotwinError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _disk_fault(exc, out, "the prediction") from None
    info = prediction.info
    console.print(
        f"[bold]{escape(trial_spec.trial.name)}[/]: predicted for {info['patients']} patients "
        f"from {info['draws']} posterior draws ({info['simulated_patients']} simulated "
        f"patients) in {elapsed:.1f} s",
        highlight=False,
        soft_wrap=True,
    )
    note = calibration_note(info["calibrated_set"], info["in_sample"], predict=True)
    console.print(f"parameters: {escape(note)}", highlight=False, soft_wrap=True)
    console.print(
        f"prediction record: {record} (written before the comparison)",
        highlight=False,
        soft_wrap=True,
    )
    _print_comparison(comparison, every=False)
    console.print(f"report: {out / 'prediction.html'}", highlight=False, soft_wrap=True)
    console.print(f"[dim]{DISCLAIMER}[/]", highlight=False)


def _print_comparison(comparison: Any, *, every: bool) -> None:
    """The record's intervals beside the published values, and its checks."""
    from rich import box

    from oncotwin.trials.predict import comparison_rows

    level = round(100 * float(comparison.record.get("level", 0.95)))
    console.print(
        f"[bold]{escape(str(comparison.record.get('trial', '')))}[/]: predicted [{level}% "
        "predictive interval] vs published",
        highlight=False,
    )
    keep = set(KEY_ENDPOINTS)
    rows = comparison_rows(comparison)
    for arm in dict.fromkeys(r["arm"] for r in rows):  # one table per arm
        table = Table(title=escape(arm), box=box.SIMPLE_HEAD, show_edge=False)
        table.add_column("endpoint", no_wrap=True)
        for col in ("predicted", "published", "inside", "width", "score"):
            table.add_column(col, no_wrap=True, justify="left" if col == "predicted" else "right")
        for r in rows:
            if r["arm"] != arm or (
                not every and r["endpoint"] not in keep and r["published"] == "-"
            ):
                continue
            cells = (r["predicted"], r["published"], r["inside"], r["width"], r["score"])
            table.add_row(r["endpoint"], *cells)
        console.print(table)
    k, n = comparison.inside()
    console.print(f"published values inside their {level}% interval: {k} of {n}", highlight=False)
    for what, ok, message in comparison.checks:
        mark = "[green]ok[/]" if ok else "[bold red]CHANGED[/]"
        console.print(f"{mark} {what}: {escape(message)}", highlight=False, soft_wrap=True)


def _compare_record_cmd(path: Path, published: Path | None) -> None:
    """``trial compare RECORD``: check a prediction record against published values."""
    from oncotwin.calibration.calibrated import calibration_note
    from oncotwin.simulation import DISCLAIMER
    from oncotwin.trials.predict import compare_record

    try:
        comparison = compare_record(path, published)
    except OncotwinError as exc:
        raise _fail(exc) from None
    rec = comparison.record
    console.print(
        f"prediction record of {escape(str(rec.get('trial', '')))}, written "
        f"{rec.get('created', '?')} (oncotwin {rec.get('oncotwin_version', '?')}, "
        f"{rec.get('draws', '?')} draws, seed {rec.get('seed', '?')})",
        highlight=False,
        soft_wrap=True,
    )
    note = calibration_note(rec.get("calibrated_set"), rec.get("in_sample"), predict=True)
    console.print(f"parameters: {escape(note)}", highlight=False, soft_wrap=True)
    _print_comparison(comparison, every=True)
    console.print(f"[dim]{DISCLAIMER}[/]", highlight=False)
