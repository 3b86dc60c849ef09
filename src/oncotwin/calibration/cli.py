"""``oncotwin calibrate``: run waves of a calibration, see where a run stands, report it.

Commands::

    oncotwin calibrate run --out DIR [--wave N] [--sets K] [--patients P] [--seed S]
                           [--examples a,b] [--design sobol|lhs] [--theta FILE.csv]
                           [--resume] [--retry-failed] [--force-new-run] [--workers N]
                           [--region nroy]
    oncotwin calibrate fit DIR [--waves 1,2] [--exclude-trial T] [--write-set NAME]
    oncotwin calibrate status DIR
    oncotwin calibrate report DIR

``run`` simulates one wave (K parameter sets x every example trial with calibration targets,
P patients per arm, the same seed S for every set) into ``DIR/calibration.duckdb``, each
simulation stored as it finishes; Ctrl-C or a kill loses at most the running simulation and
``--resume`` continues. Bad input prints one red ``error:`` line and exits 2; Ctrl-C exits 130.
Research simulations only: not medical advice.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oncotwin.errors import OncotwinError

__all__ = ["REPORT_CSV", "app"]

app = typer.Typer(
    help="Calibrate to published trials: run waves of simulations, show their status, report.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

#: The plain report written when no HTML report module is installed.
REPORT_CSV = "calibration_targets_vs_simulated.csv"
INTERRUPTED = "interrupted: finished simulations are saved; rerun with --resume to continue"


def _fail(exc: Exception) -> typer.Exit:
    """Print one red ``error:`` line (as the other commands do) and exit with code 2."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _note(text: str) -> None:
    err_console.print(f"[yellow]note:[/] {escape(text)}", highlight=False, soft_wrap=True)


@app.command("run")
def run_cmd(
    out: Annotated[Path, typer.Option(help="Folder of the calibration store.")],
    wave: Annotated[
        int | None,
        typer.Option(help="Wave number (default: the next one; with --resume the last)."),
    ] = None,
    sets: Annotated[
        int | None, typer.Option(help="Parameter sets of a new wave (default 20).", min=1)
    ] = None,
    patients: Annotated[
        int | None, typer.Option(help="Patients per arm (default 100).", min=1)
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Simulation seed, the same for every set (default 0).", min=0),
    ] = None,
    examples: Annotated[
        str | None,
        typer.Option(
            help="Only these example trials, comma-separated (default: all with targets)."
        ),
    ] = None,
    design: Annotated[str, typer.Option(help="Design of a new wave: sobol | lhs.")] = "sobol",
    theta: Annotated[
        Path | None,
        typer.Option(
            help="CSV of given theta sets (one column per free quantity) instead of a design."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue the wave (default: the last).")] = False,
    retry_failed: Annotated[
        bool, typer.Option(help="Run the wave's failed simulations again.")
    ] = False,
    force_new_run: Annotated[
        bool,
        typer.Option(help="Move an existing store of another model or targets aside; start anew."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(help="Simulate in this many processes (results do not depend on it).", min=1),
    ] = 1,
    region: Annotated[
        str | None,
        typer.Option(
            help="Design a new wave inside a region: 'nroy' = the parameter sets not ruled "
            "out by the last `calibrate fit` of this store (history matching)."
        ),
    ] = None,
) -> None:
    """Run (or resume) one wave of calibration simulations into OUT/calibration.duckdb."""
    from oncotwin.calibration.runner import calibrate, read_theta

    try:
        names = [e.strip() for e in examples.split(",") if e.strip()] if examples else None
        summary = calibrate(
            out,
            region=_region(out, region),
            wave=wave,
            n_sets=sets,
            patients=patients,
            seed=seed,
            examples=names,
            resume=resume,
            force_new=force_new_run,
            design=design,
            theta=read_theta(theta) if theta is not None else None,
            retry_failed=retry_failed,
            notes=_note,
            workers=workers,
        )
    except OncotwinError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        err_console.print(f"[bold yellow]{INTERRUPTED}[/]", highlight=False)
        raise typer.Exit(code=130) from None
    console.print(str(summary), highlight=False)
    if summary.failed:
        _note(f"{summary.failed} simulations failed; see `oncotwin calibrate status {out}`")
    console.print(f"status: oncotwin calibrate status {out}", highlight=False)


def _region(out: Path, region: str | None) -> Any:
    """The region callable of ``--region`` (None without it)."""
    if region is None:
        return None
    if region != "nroy":
        raise OncotwinError(f"--region {region!r}: give 'nroy' (the last fit's region)")
    import pickle

    path = Path(out) / FIT_PICKLE
    if not path.is_file():
        raise OncotwinError(f"--region nroy: {path} is missing; run `oncotwin calibrate fit {out}`")
    with open(path, "rb") as fh:
        fit = pickle.load(fh)
    from oncotwin.calibration.hierarchy import Hierarchy

    names = [q.name for q in Hierarchy.from_json(fit.hierarchy_json).free]
    cols = [names.index(n) for n in fit.emulator.inputs]

    def inside(points: Any) -> Any:
        return fit.history.non_implausible(points[:, cols])

    return inside


def _installed_fingerprint(model: str) -> str | None:
    try:
        from oncotwin.models.registry import get_model

        return str(get_model(model).fingerprint)
    except OncotwinError:
        return None


def _current_targets() -> list[Any] | None:
    """The targets installed now, or None where the targets module is missing."""
    if importlib.util.find_spec("oncotwin.calibration.targets") is None:
        return None
    from oncotwin.calibration.targets import load_targets

    return list(load_targets())


def _fmt_s(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@app.command("status")
def status_cmd(
    out: Annotated[Path, typer.Argument(help="Folder of a calibration store.")],
) -> None:
    """Waves, sets and simulations done, failures, wall time, and whether the installed model
    and targets still match the store."""
    from oncotwin.calibration.store import FRESH_FIX, CalibrationStore, targets_hash

    try:
        store = CalibrationStore.open(out)
        info = store.run_info()
        waves = store.waves()
        sims = store.sims()
        targets = _current_targets()
    except OncotwinError as exc:
        raise _fail(exc) from None
    free = info["options"].get("free_quantities", [])
    console.print(
        f"[bold]calibration store[/] {escape(str(store.db_path))}: created {info['created']} "
        f"(oncotwin {info['oncotwin_version']}); {info['n_targets']} targets, {len(free)} free "
        "quantities",
        highlight=False,
    )
    for model, fp in sorted(info["model_fingerprints"].items()):
        now = _installed_fingerprint(model)
        said = (
            "matches the installed model"
            if now == fp
            else f"DIFFERS from the installed model ({now}): new simulations need a fresh store; "
            f"{FRESH_FIX}"
        )
        console.print(f"model {model} fingerprint {fp}: {said}", highlight=False)
    if targets is not None:
        same = targets_hash(targets) == info["targets_hash"]
        console.print(
            f"targets hash {info['targets_hash']}: "
            + (
                "matches the installed targets"
                if same
                else f"DIFFERS from the installed ({FRESH_FIX})"
            ),
            highlight=False,
        )
    table = Table(title="waves")
    for col in ("wave", "design", "sets", "patients/arm", "seed", "examples", "done", "failed",
                "wall", "mean/sim", "left (est.)"):  # fmt: skip
        table.add_column(col, justify="right" if col not in ("design",) else "left")
    rate = _seconds_per_patient_arm(sims)
    for w in waves.itertuples(index=False):
        ex = json.loads(w.examples)
        s = sims[sims["wave"] == w.wave]
        ok = int((s["status"] == "ok").sum())
        bad = int((s["status"] == "error").sum())
        total = int(w.n_sets) * len(ex)
        done_per_ex = s.groupby("example").size()
        left = sum(
            (int(w.n_sets) - int(done_per_ex.get(e, 0)))
            * rate.get(e, rate.get("", math.nan))
            * int(w.patients)
            for e in ex
        )
        table.add_row(
            str(w.wave),
            str(w.design),
            str(w.n_sets),
            str(w.patients),
            str(w.seed),
            str(len(ex)),
            f"{ok + bad}/{total}",
            str(bad),
            _fmt_s(float(s["wall_s"].sum())),
            _fmt_s(float(s["wall_s"].mean())) if len(s) else "-",
            _fmt_s(left) if total > ok + bad else "done",
        )
    console.print(table)
    if len(sims):
        per = Table(title="per example")
        for col in ("example", "ok", "failed", "mean wall", "patients/arm"):
            per.add_column(col, justify="left" if col == "example" else "right")
        for ex, g in sims.groupby("example", sort=True):
            okg = g[g["status"] == "ok"]
            per.add_row(
                str(ex),
                str(len(okg)),
                str(len(g) - len(okg)),
                _fmt_s(float(okg["wall_s"].mean())) if len(okg) else "-",
                ", ".join(str(p) for p in sorted(g["patients"].unique())),
            )
        console.print(per)
        errors = sims[sims["status"] == "error"]
        for r in errors.head(5).itertuples(index=False):
            console.print(
                f"[yellow]failed:[/] {r.set_id} {r.example}: {escape(str(r.message)[:300])}",
                highlight=False,
            )
        if len(errors) > 5:
            console.print(f"... and {len(errors) - 5} more failed simulations", highlight=False)


def _seconds_per_patient_arm(sims: Any) -> dict[str, float]:
    """Mean wall seconds per (patient per arm) of each example's finished simulations (key
    "" for all examples together): a remaining simulation at P patients per arm is
    estimated to take P times this."""
    ok = sims[sims["status"] == "ok"] if len(sims) else sims
    if not len(ok):
        return {}
    per = ok["wall_s"] / ok["patients"]
    out = {str(e): float(v) for e, v in per.groupby(ok["example"]).mean().items()}
    out[""] = float(per.mean())
    return out


@app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Argument(help="Folder of a calibration store.")],
) -> None:
    """Write the calibration report (HTML where the report module is installed; else a CSV of
    each target's observed value beside its simulated value per set)."""
    from oncotwin.calibration.store import CalibrationStore

    try:
        CalibrationStore.open(out)
        if importlib.util.find_spec("oncotwin.calibration.report") is not None:
            from oncotwin.calibration import report as rep

            if hasattr(rep, "write_report"):
                path = rep.write_report(out)
                console.print(f"wrote {path}", highlight=False)
                return
        path = write_csv_report(out)
    except OncotwinError as exc:
        raise _fail(exc) from None
    import pandas as pd

    table = pd.read_csv(path)
    got = table.dropna(subset=["simulated"])
    console.print(
        f"wrote {path}: {table['target_id'].nunique()} targets, "
        f"{got['target_id'].nunique()} with simulated values over {got['set_id'].nunique()} sets "
        "(target_id, observed, wave, set_id, simulated, n_sim per row)",
        highlight=False,
    )


def write_csv_report(out: str | Path, targets: list[Any] | None = None) -> Path:
    """``OUT/calibration_targets_vs_simulated.csv``: one row per target and stored set of a
    wave that ran the target's example (target_id, example, arm, endpoint, observed, wave,
    set_id, simulated, n_sim: simulated patients of the arm); a target no wave ran has one
    row without simulated values."""
    import pandas as pd

    from oncotwin.calibration.store import CalibrationStore, targets_hash

    store = CalibrationStore.open(out)
    if targets is None:
        targets = _current_targets()
        if targets is None:
            raise OncotwinError("report: the targets module is not installed; cannot name targets")
    if targets_hash(targets) != store.run_info()["targets_hash"]:
        _note("the installed targets differ from the store's; observed values are today's")
    frames = []
    for w in store.waves().itertuples(index=False):
        wave, ran = int(w.wave), set(json.loads(w.examples))
        wave_targets = [t for t in targets if t.example in ran]
        vals = store.target_values(wave_targets, wave=wave)
        ns = store.target_values(wave_targets, wave=wave, what="n")
        long = vals.stack(future_stack=True).rename("simulated").to_frame()
        long["n_sim"] = ns.stack(future_stack=True)
        long["wave"] = wave
        frames.append(long.reset_index().rename(columns={"level_1": "target_id"}))
    sims = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["set_id", "target_id", "simulated", "n_sim", "wave"])
    )
    meta = pd.DataFrame(
        [
            {
                "target_id": t.target_id,
                "example": t.example,
                "arm": t.arm,
                "endpoint": t.endpoint,
                "observed": t.observed,
            }
            for t in targets
        ]
    )
    table = meta.merge(sims, on="target_id", how="left")
    for col in ("wave", "n_sim"):
        table[col] = table[col].astype("Int64")
    cols = ["target_id", "example", "arm", "endpoint", "observed", "wave", "set_id", "simulated",
            "n_sim"]  # fmt: skip
    path = Path(out) / REPORT_CSV
    table[cols].to_csv(path, index=False)
    return path


#: The fitted calibration kept beside the store for the next wave's region (pickle).
FIT_PICKLE = "fit.pkl"


@app.command("fit")
def fit_cmd(
    out: Annotated[Path, typer.Argument(help="Folder of a calibration store.")],
    waves: Annotated[
        str | None, typer.Option(help="Waves to use, comma-separated (default: all).")
    ] = None,
    exclude_trial: Annotated[
        list[str] | None,
        typer.Option(help="Leave this trial out of the likelihood (repeatable), e.g. 'OAK'."),
    ] = None,
    active: Annotated[
        int | None,
        typer.Option(
            help="Emulate on this many screened quantities (default: all when the sets are at "
            "least twice the quantities, else (sets - 2) // 2).",
            min=1,
        ),
    ] = None,
    chains: Annotated[int, typer.Option(help="NUTS chains (>= 2).", min=2)] = 4,
    warmup: Annotated[int, typer.Option(help="Warm-up iterations per chain.", min=10)] = 500,
    samples: Annotated[int, typer.Option(help="Draws per chain.", min=10)] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the emulator and the chains.", min=0)] = 0,
    write_set: Annotated[
        str | None,
        typer.Option(
            help="Also write the fit as a calibrated parameter set of this name into "
            "OUT/sets/NAME (manifest.json, hierarchy.json, draws.csv)."
        ),
    ] = None,
) -> None:
    """Fit the stored runs: emulator (held-out R^2 per target), history matching and the
    posterior by NUTS; writes OUT/analysis/ (read by `calibrate report`) and OUT/fit.pkl (read
    by `calibrate run --region nroy`)."""
    import pickle

    from oncotwin.calibration import report as rep
    from oncotwin.calibration.fit import fit_store
    from oncotwin.calibration.fit import write_set as write_fitted_set

    try:
        chosen = [int(w) for w in waves.split(",") if w.strip()] if waves else None
    except ValueError:
        raise _fail(OncotwinError(f"--waves {waves!r}: give wave numbers like 1,2")) from None
    try:
        with console.status("fitting ...") as status:
            result = fit_store(
                out,
                waves=chosen,
                exclude_trials=tuple(exclude_trial or ()),
                seed=seed,
                chains=chains,
                warmup=warmup,
                samples=samples,
                active=active,
                progress=lambda s: (status.update(escape(s)), _note(s)),
            )
        last = max(result.waves)
        files = rep.save_analysis(
            out,
            wave=last,
            emulator=result.emulator,
            history=result.history,
            posterior=result.posterior,
            theta=result.theta[result.emulator.inputs].to_numpy(),
        )
        with open(Path(out) / FIT_PICKLE, "wb") as fh:
            pickle.dump(result, fh)
        folder = write_fitted_set(result, Path(out) / "sets", write_set) if write_set else None
    except OncotwinError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        err_console.print("[bold yellow]interrupted: nothing written[/]", highlight=False)
        raise typer.Exit(code=130) from None
    s = result.summary()
    pred = result.posterior.predictive()
    console.print(
        f"fit of {s['sets']} sets ({', '.join(map(str, result.waves))}), {s['fitted_targets']} "
        f"targets in the likelihood; emulator held-out R^2 median {s['emulator_median_r2']:.2f} "
        f"({s['emulator_r2_below_0.5']} targets below 0.5); not-implausible fraction of the "
        f"box {s['nroy_fraction']:.3g}; posterior "
        + ("converged" if s["converged"] else "NOT converged")
        + f" (max R-hat {s['max_r_hat']:.3f}, min ESS {s['min_ess']:.0f}, "
        f"{s['divergences']} divergences); observed inside the 95% posterior predictive "
        f"interval: {int(pred['inside'].sum())}/{len(pred)} targets",
        highlight=False,
    )
    console.print(f"wrote {len(files)} analysis files in {Path(out) / 'analysis'}", highlight=False)
    if folder is not None:
        console.print(f"wrote calibrated set {folder}", highlight=False)
    console.print(f"report: oncotwin calibrate report {out}", highlight=False)


@app.command("validate")
def validate_cmd(
    out: Annotated[Path, typer.Argument(help="Folder of a calibration store.")],
    trials: Annotated[
        str | None,
        typer.Option(
            help="Leave out only these trials, comma-separated: trial names ('CheckMate 067') "
            "or example names (checkmate067). Default: every calibration trial."
        ),
    ] = None,
    chains: Annotated[int, typer.Option(help="NUTS chains per refit (>= 2).", min=2)] = 2,
    warmup: Annotated[int, typer.Option(help="Warm-up iterations per chain.", min=10)] = 300,
    samples: Annotated[int, typer.Option(help="Draws per chain.", min=10)] = 300,
    draws: Annotated[
        int, typer.Option(help="Posterior draws behind each predictive interval.", min=50)
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the emulator and the chains.", min=0)] = 0,
    waves: Annotated[
        str | None, typer.Option(help="Waves to use, comma-separated (default: all).")
    ] = None,
    active: Annotated[
        int | None,
        typer.Option(help="Emulate on this many screened quantities (default as `fit`).", min=1),
    ] = None,
) -> None:
    """Leave-one-trial-out validation beside a nearest-arm lookup baseline: refit without
    each calibration trial (the full fit's emulator reused), predict it, and score both.
    Writes OUT/validation/ as each trial finishes (a rerun skips finished trials):
    validation.csv, validation_summary.csv, validation_table.md."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from oncotwin.calibration.validate import VALIDATION_DIR, run_validation

    try:
        chosen = [int(w) for w in waves.split(",") if w.strip()] if waves else None
    except ValueError:
        raise _fail(OncotwinError(f"--waves {waves!r}: give wave numbers like 1,2")) from None
    wanted = [t.strip() for t in trials.split(",") if t.strip()] if trials else None
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} trials"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task("full fit", total=None)

    def progress(trial: str, done: int, total: int) -> None:
        label = f"leaving out {trial}" if trial else "scoring"
        bar.update(task, description=escape(label), completed=done, total=total)

    try:
        with bar:
            scored, summary = run_validation(
                out, trials=wanted, chains=chains, warmup=warmup, samples=samples, seed=seed,
                draws=draws, waves=chosen, active=active, progress=progress,
                note=lambda s: bar.console.print(f"[yellow]note:[/] {escape(s)}", highlight=False),
            )  # fmt: skip
    except OncotwinError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        err_console.print(
            "[bold yellow]interrupted: finished trials are saved; rerun to continue[/]",
            highlight=False,
        )
        raise typer.Exit(code=130) from None
    for scope in ("all", "novel"):
        s = summary[(summary["scope"] == scope) & summary["by"].isin(["endpoint class", "total"])]
        table = Table(
            title=f"leave-one-trial-out, {'all' if scope == 'all' else 'novel'} arms: "
            "model / lookup (width: pp for rates, x/÷ factor for medians and HRs; score and "
            "error: pp or log scale)"
        )
        for col in ("endpoint class", "targets", "inside 95%", "median width",
                    "mean interval score", "median abs error", "ORR in published CI"):  # fmt: skip
            table.add_column(col, justify="left" if col == "endpoint class" else "right")
        for grp in [g for g in s["group"].unique() if g != "all targets"] + ["all targets"]:
            m = s[(s["group"] == grp) & (s["method"] == "model")].iloc[0]
            k = s[(s["group"] == grp) & (s["method"] == "lookup")].iloc[0]

            def pair(col: str, r1: Any = m, r2: Any = k) -> str:
                a, b = float(r1[col]), float(r2[col])
                return " / ".join("-" if not math.isfinite(v) else f"{v:.2f}" for v in (a, b))

            total = grp == "all targets"  # units differ between classes: counts only
            table.add_row(
                grp,
                str(int(m["n"])),
                f"{int(m['inside'])} / {int(k['inside'])}",
                "-" if total else pair("median_width"),
                "-" if total else pair("mean_interval_score"),
                "-" if total else pair("median_abs_error"),
                f"{int(m['orr_point_in_ci'])} / {int(k['orr_point_in_ci'])} of {int(m['orr_n'])}"
                if m["orr_n"]
                else "-",
            )
        console.print(table)
    folder = Path(out) / VALIDATION_DIR
    console.print(
        f"{scored['trial'].nunique()} trials, {len(scored)} targets; wrote "
        f"{folder / 'validation.csv'}, validation_summary.csv and validation_table.md",
        highlight=False,
    )
