"""The ``cirrus`` command line, mirroring ``az ml``: thin commands over the client.

Every error cirrusml raises on purpose is printed as one line and exits with status 1; usage
errors exit with status 2. No traceback reaches the user unless ``CIRRUS_DEBUG=1`` is set.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cirrusml._version import __version__
from cirrusml.cli._batch import (
    batch_app,
    batch_deployment_app,
    batch_endpoint_app,
    show_batch_job,
    stream_batch_job,
)
from cirrusml.cli._common import WorkspaceOpt, open_client
from cirrusml.cli._compute import compute_app
from cirrusml.cli._endpoints import deployment_app, endpoint_app
from cirrusml.cli._models import model_app
from cirrusml.exceptions import CirrusMLError, InvalidSpecError
from cirrusml.tracking import JobRecord, JobStatus

app = typer.Typer(
    help="cirrusml: local-first AutoML that runs Azure ML AutoML job files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
job_app = typer.Typer(help="Submit and manage AutoML jobs (like `az ml job`).",
                      no_args_is_help=True)
app.add_typer(job_app, name="job")
app.add_typer(model_app, name="model")
app.add_typer(compute_app, name="compute")
app.add_typer(batch_app, name="batch")
app.add_typer(endpoint_app, name="online-endpoint")
app.add_typer(deployment_app, name="online-deployment")
app.add_typer(batch_endpoint_app, name="batch-endpoint")
app.add_typer(batch_deployment_app, name="batch-deployment")

console = Console()
err_console = Console(stderr=True)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the job.")]

STATUS_STYLE = {"Completed": "green", "Failed": "red", "Canceled": "yellow", "Running": "cyan",
                "Queued": "magenta", "NotStarted": "dim", "TimedOut": "red"}


def _client(workspace: Path | None) -> Any:
    return open_client(workspace)


def _status(status: str | None) -> Text:
    status = status or "?"
    return Text(status, style=STATUS_STYLE.get(status, ""))


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _parse_set(pairs: list[str]) -> list[dict[str, Any]]:
    overrides = []
    for pair in pairs:
        if "=" not in pair:
            raise InvalidSpecError(
                f"--set takes key=value (for example limits.timeout_minutes=5), got '{pair}'.")
        key, raw = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise InvalidSpecError(f"--set '{pair}' has no key before '='.")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        overrides.append({key: value})
    return overrides


# ----------------------------------------------------------------------------------- create


@job_app.command("create")
def job_create(
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML job file (type: automl).")],
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Follow the job until it ends; "
                                         "exit non-zero if it fails or is canceled.")] = False,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a field: --set limits.timeout_minutes=5 (repeatable).")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name for the job.")] = None,
    force_rerun: Annotated[bool, typer.Option(
        "--force-rerun", help="Pipeline jobs: run every node, reusing no earlier outputs "
        "(overrides settings.force_rerun).")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create (submit) a job from a YAML file, like `az ml job create --file`."""
    from cirrusml.spec import PipelineJob, load_job

    job = load_job(file, params_override=_parse_set(set_ or []))
    client = _client(workspace)
    if name:
        job.name = name
    if isinstance(job, PipelineJob):
        if force_rerun:
            job.settings.force_rerun = True
        submitted = client.jobs.create_or_update(job)
        _show_pipeline(client, submitted.name)
        if stream:
            raise typer.Exit(_stream_pipeline(client, submitted.name))
        console.print(f"Follow it with: cirrus job stream -n {submitted.name}")
        return
    returned = client.jobs.create_or_update(job)
    record = client.jobs.job_record(returned.name)
    for notice in record.notices:
        err_console.print(f"[yellow]Notice:[/yellow] {notice}")
    table = Table(show_header=False, box=None)
    table.add_row("name", returned.name)
    table.add_row("status", _status(returned.status))
    table.add_row("task", returned.task)
    table.add_row("primary metric", returned.primary_metric_name)
    table.add_row("experiment", record.experiment_name or "")
    table.add_row("workspace", str(client.workspace_path))
    console.print(table)
    if stream:
        raise typer.Exit(_stream(client, returned.name))
    console.print(f"Follow it with: cirrus job stream -n {returned.name}")


# ----------------------------------------------------------------------------------- stream


def _leaderboard(trials: dict[int, dict[str, Any]], metric: str, greater: bool | None,
                 limit: int = 10) -> Table:
    table = Table(title="Trials", title_justify="left", expand=False)
    for column in ("#", "algorithm", "status", metric or "score", "seconds"):
        table.add_column(column, justify="right" if column in ("#", "seconds") else "left")
    done = [t for t in trials.values() if t.get("score") is not None]
    others = [t for t in trials.values() if t.get("score") is None]
    done.sort(key=lambda t: t["score"], reverse=bool(greater))
    for trial in (done + sorted(others, key=lambda t: t["index"]))[:limit]:
        table.add_row(str(trial["index"]), str(trial.get("algorithm", "")),
                      _status(trial.get("status")), _fmt(trial.get("score")),
                      _fmt(trial.get("seconds"), 1))
    return table


def _render_guardrails(guardrails: list[dict[str, Any]]) -> str:
    from cirrusml.featurize import Guardrail, render_guardrails

    return render_guardrails([Guardrail(g["name"], g["status"], g.get("description", ""),
                                        list(g.get("details", []))) for g in guardrails])


def _render_importance(payload: dict[str, Any], top: int = 15) -> str:
    raw = payload.get("raw_importance") or {}
    ranked = sorted(raw.items(), key=lambda kv: -float(kv[1]))[:top]
    width = max([len(str(k)) for k, _ in ranked] + [6])
    lines = [f"method: {payload.get('method')} on {payload.get('n_rows')} rows"]
    for column, share in ranked:
        bar = "#" * int(round(40 * float(share)))
        lines.append(f"  {str(column):<{width}}  {float(share):6.1%}  {bar}")
    return "\n".join(lines)


def _render_summary(summary: list[dict[str, Any]]) -> str:
    from cirrusml.featurize import render_featurization_summary

    return render_featurization_summary(summary)


def _greater_is_better(metric: str) -> bool | None:
    try:
        from cirrusml.metrics import get_metric

        return bool(get_metric(metric).greater_is_better)
    except Exception:  # noqa: BLE001 - only used for sorting a display
        return None


def _stream(client: Any, name: str) -> int:
    """Follow a job; returns the exit code (0 completed, 1 failed or canceled)."""
    jobs = client.jobs
    record = jobs.job_record(name)
    metric = record.primary_metric or jobs.get(name).primary_metric_name
    greater = _greater_is_better(metric)
    trials: dict[int, dict[str, Any]] = {}
    state: dict[str, Any] = {"phase": "", "timeout": None, "max_trials": None}
    log_lines: list[str] = []
    offsets = {"log": 0, "events": 0}

    def pull() -> list[str]:
        events, offsets["events"] = jobs.read_events(name, offsets["events"])
        for event in events:
            kind = event.get("event")
            if kind == "phase":
                state["phase"] = event.get("phase", "")
                state["timeout"] = event.get("timeout_seconds", state["timeout"])
                state["max_trials"] = event.get("max_trials", state["max_trials"])
            elif kind == "trial_started":
                trials[event["index"]] = {"index": event["index"],
                                          "algorithm": event.get("algorithm"),
                                          "status": "Running"}
            elif kind == "trial":
                trials[event["index"]] = event
        text, offsets["log"] = jobs.read_log(name, offsets["log"])
        new = [line for line in text.splitlines() if line.strip()]
        log_lines.extend(new)
        return new

    def render(record: JobRecord) -> Group:
        elapsed = _elapsed(record.started)
        header = Table.grid(padding=(0, 2))
        header.add_row("job", name, "status", _status(record.status))
        header.add_row("phase", state["phase"] or "—", "elapsed", f"{elapsed:.0f} s")
        finished = sum(1 for t in trials.values() if t.get("status") != "Running")
        header.add_row("trials", f"{finished}" + (f" / {state['max_trials']}"
                                                  if state["max_trials"] else ""),
                       "best", _best_text(trials, greater))
        parts: list[Any] = [Panel(header, title="cirrus job", expand=False)]
        if state["timeout"]:
            parts.append(ProgressBar(total=float(state["timeout"]),
                                     completed=min(elapsed, float(state["timeout"])), width=60))
        if trials:
            parts.append(_leaderboard(trials, metric, greater))
        parts.append(Text("\n".join(log_lines[-8:]), style="dim"))
        return Group(*parts)

    if console.is_terminal:
        with Live(render(record), console=console, refresh_per_second=4) as live:
            while True:
                pull()
                record = jobs.job_record(name)
                live.update(render(record))
                if record.is_terminal:
                    pull()
                    live.update(render(record))
                    break
                time.sleep(0.5)
    else:
        record = _print_until_done(jobs, name, pull)
        if trials:
            console.print(_leaderboard(trials, metric, greater))
    return _summary(client, name, record)


def _print_until_done(jobs: Any, name: str, new_lines: Callable[[], list[str]]) -> Any:
    """Print ``new_lines()`` every half second until job ``name`` ends (and once more after);
    returns its final record. The plain-output form of a stream (no terminal)."""
    while True:
        for line in new_lines():
            console.print(line, markup=False, highlight=False)
        record = jobs.job_record(name)
        if record.is_terminal:
            for line in new_lines():
                console.print(line, markup=False, highlight=False)
            return record
        time.sleep(0.5)


def _best_text(trials: dict[int, dict[str, Any]], greater: bool | None) -> str:
    scored = [t for t in trials.values() if t.get("score") is not None
              and t.get("status") == "Completed"]
    if not scored:
        return "—"
    best = (max if greater else min)(scored, key=lambda t: t["score"])
    return f"{best['score']:.4f} (trial {best['index']}, {best.get('algorithm')})"


def _elapsed(started: str | None) -> float:
    from datetime import datetime

    if not started:
        return 0.0
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return 0.0


def _summary(client: Any, name: str, record: JobRecord) -> int:
    console.print(Text.assemble("Job ", (name, "bold"), " ", _status(record.status)))
    if record.status is JobStatus.COMPLETED:
        best_model = client.jobs.layout(name).best_model
        console.print(f"Best: trial {record.best_iteration} "
                      f"({record.best_algorithm}), {record.primary_metric} = "
                      f"{_fmt(record.best_score)}")
        console.print(f"Best model (MLflow): {best_model}")
        console.print(f"Download it with: cirrus job download -n {name} "
                      "--output-name best_model")
        return 0
    if record.error:
        err_console.print(Text.assemble(("Error: ", "red"), record.error))
    if record.resumable:
        err_console.print(f"Resume it with: cirrus job resume -n {name}")
    return 1


# -------------------------------------------------------------------------------- pipelines


def _nodes_table(client: Any, name: str) -> Table:
    job = client.jobs.get(name)
    table = Table(title=f"Nodes of pipeline {name}", title_justify="left")
    for column in ("node", "type", "status", "job", "note"):
        table.add_column(column)
    for node in job.jobs.values():
        note = (f"reused {node.reused_from}" if node.reused_from else
                f"skipped: {node.skipped}" if node.skipped else
                (node.error or "").splitlines()[0] if node.error else "")
        table.add_row(node.name, node.type, _status(node.status), node.job_name or "—", note)
    return table


def _show_pipeline(client: Any, name: str) -> None:
    record = client.jobs.job_record(name)
    job = client.jobs.get(name)
    for notice in record.notices:
        err_console.print(f"[yellow]Notice:[/yellow] {notice}")
    table = Table(show_header=False, box=None, title=f"Pipeline job {name}",
                  title_justify="left")
    rows = [("status", _status(record.status)), ("display name", record.display_name),
            ("experiment", record.experiment_name), ("default compute", record.compute),
            ("created", record.created), ("started", record.started), ("ended", record.ended),
            ("error", record.error), ("workspace", str(client.workspace_path))]
    for key, value in rows:
        if value not in (None, ""):
            table.add_row(key, value if isinstance(value, Text) else str(value))
    for output, value in job.outputs.items():
        table.add_row(f"output {output}", value.path or "—")
    console.print(table)
    console.print(_nodes_table(client, name))


def _stream_pipeline(client: Any, name: str) -> int:
    """Follow a pipeline job: its nodes' statuses as they change; 0 when it completed."""
    jobs = client.jobs
    seen: dict[str, str] = {}

    def changes() -> list[str]:
        lines = []
        for node in jobs.get(name).jobs.values():
            if seen.get(node.name) != node.status:
                seen[node.name] = node.status
                if node.status != "NotStarted":
                    extra = f" (reused {node.reused_from})" if node.reused_from else ""
                    lines.append(f"node {node.name}: {node.status}{extra}")
        return lines

    if console.is_terminal:
        with Live(_nodes_table(client, name), console=console, refresh_per_second=4) as live:
            while True:
                record = jobs.job_record(name)
                live.update(_nodes_table(client, name))
                if record.is_terminal:
                    break
                time.sleep(0.5)
    else:
        _print_until_done(jobs, name, changes)
    record = jobs.job_record(name)
    console.print(Text.assemble("Pipeline job ", (name, "bold"), " ", _status(record.status)))
    if record.status is JobStatus.COMPLETED:
        for output, value in jobs.get(name).outputs.items():
            console.print(f"Output {output}: {value.path}")
        return 0
    if record.error:
        err_console.print(Text.assemble(("Error: ", "red"), record.error))
    return 1


@job_app.command("stream")
def job_stream(name: NameOpt, workspace: WorkspaceOpt = None) -> None:
    """Follow a job until it ends (re-attach at any time)."""
    client = _client(workspace)
    record = client.jobs.job_record(name)
    if record.is_batch:
        raise typer.Exit(stream_batch_job(client, name))
    if record.is_pipeline:
        raise typer.Exit(_stream_pipeline(client, name))
    if record.is_command:
        try:
            client.jobs.stream(name, printer=lambda text: console.print(
                text, markup=False, highlight=False))
        except CirrusMLError:
            raise typer.Exit(1) from None
        raise typer.Exit(0)
    raise typer.Exit(_stream(client, name))


# ------------------------------------------------------------------------------ show / list


@job_app.command("show")
def job_show(name: NameOpt, workspace: WorkspaceOpt = None) -> None:
    """Show a job: status, timings, best model, and the leaderboard of its trials."""
    client = _client(workspace)
    record = client.jobs.job_record(name)
    if record.is_batch:
        show_batch_job(client, name)
        return
    if record.is_pipeline:
        _show_pipeline(client, name)
        return
    if record.is_command or (record.is_child and not client.jobs.layout(name).job_file.exists()):
        _show_node(client, name)
        return
    job = client.jobs.get(name)
    table = Table(show_header=False, box=None, title=f"Job {name}", title_justify="left")
    rows = [
        ("status", _status(record.status)),
        ("task", job.task),
        ("primary metric", job.primary_metric_name),
        ("target", job.target_column_name),
        ("experiment", record.experiment_name),
        ("compute", record.compute),
        ("created", record.created),
        ("started", record.started),
        ("ended", record.ended),
        ("resumed", f"{record.resumed} time(s), last at {record.resumed_at}"
         if record.resumed else None),
        ("stop reason", record.stop_reason),
        ("best trial", None if record.best_iteration is None else
         f"{record.best_iteration} ({record.best_algorithm}), {_fmt(record.best_score)}"),
        ("error", record.error),
    ]
    for key, value in rows:
        if value not in (None, ""):
            table.add_row(key, value if isinstance(value, Text) else str(value))
    for notice in record.notices:
        table.add_row("notice", notice)
    if record.test_metrics:
        table.add_row("test " + job.primary_metric_name,
                      _fmt(record.test_metrics.get(job.primary_metric_name)))
    best_model = client.jobs.layout(name).best_model
    if best_model.exists():
        table.add_row("best model", str(best_model))
    console.print(table)
    guardrails = client.jobs.guardrails(name)
    if guardrails:
        console.print(Text("Data guardrails", style="bold"))
        console.print(_render_guardrails(guardrails), markup=False, highlight=False)
    explanation = client.jobs.explanation(name)
    if explanation:
        console.print(Text("Feature importance (best model)", style="bold"))
        console.print(_render_importance(explanation), markup=False, highlight=False)
    summary = client.jobs.featurization_summary(name)
    if summary:
        console.print(Text("Featurization summary (best model)", style="bold"))
        console.print(_render_summary(summary), markup=False, highlight=False)
    trials = client.jobs.list_trials(name)
    if trials:
        greater = _greater_is_better(job.primary_metric_name)
        board = {t.iteration if t.iteration is not None else i: {
            "index": t.iteration if t.iteration is not None else i,
            "algorithm": t.algorithm, "status": t.status, "score": t.score,
            "seconds": t.metrics.get("training_time_seconds")} for i, t in enumerate(trials)}
        console.print(_leaderboard(board, job.primary_metric_name, greater, limit=50))


def _show_node(client: Any, name: str) -> None:
    job = client.jobs.get(name)
    table = Table(show_header=False, box=None, title=f"{job.type.capitalize()} node {name}",
                  title_justify="left")
    rows = [("status", _status(job.status)), ("pipeline", job.parent_job_name),
            ("node", job.node_name), ("command", job.command), ("exit code", job.exit_code),
            ("reused", job.reused_from), ("skipped", job.skipped), ("error", job.error),
            ("started", job.creation_context.get("started_at")),
            ("ended", job.creation_context.get("ended_at"))]
    for key, value in rows:
        if value not in (None, ""):
            table.add_row(key, value if isinstance(value, Text) else str(value))
    for output, value in job.outputs.items():
        table.add_row(f"output {output}", value.path or "—")
    console.print(table)


def _kind(record: JobRecord) -> str:
    if record.is_batch:
        return "batch scoring"
    if record.is_pipeline:
        return "pipeline"
    if record.is_command:
        return "command"
    return record.task or ""


@job_app.command("list")
def job_list(
    parent_job_name: Annotated[str | None, typer.Option(
        "--parent-job-name", "-p", help="List this pipeline's node jobs instead.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """List the jobs of the workspace, newest first (a pipeline's node jobs with
    --parent-job-name)."""
    client = _client(workspace)
    if parent_job_name is not None:
        if not client.jobs.job_record(parent_job_name).is_pipeline:
            raise CirrusMLError(f"job '{parent_job_name}' is not a pipeline job; its trials are "
                                f"in `cirrus job show -n {parent_job_name}`.")
        records = [client.jobs.job_record(child.name)
                   for child in client.jobs.list(parent_job_name=parent_job_name)]
        title = f"Node jobs of {parent_job_name}"
    else:
        records = [r for r in client.jobs.job_records() if not r.is_child]
        title = f"Jobs in {client.workspace_path}"
    table = Table(title=title, title_justify="left")
    columns = ("name", "node", "kind", "status", "created") if parent_job_name else \
        ("name", "task", "status", "created", "best score")
    for column in columns:
        table.add_column(column)
    for record in records:
        if parent_job_name:
            table.add_row(record.name, record.node_name or "", _kind(record),
                          _status(record.status), record.created or "")
        else:
            table.add_row(record.name, _kind(record), _status(record.status),
                          record.created or "", _fmt(record.best_score))
    console.print(table)


# -------------------------------------------------------------------- cancel / resume / download


@job_app.command("cancel")
def job_cancel(name: NameOpt, workspace: WorkspaceOpt = None) -> None:
    """Cancel a job and wait until it has stopped."""
    status = _client(workspace).jobs.cancel(name)
    console.print(Text.assemble("Job ", (name, "bold"), " ", _status(status)))


@job_app.command("resume")
def job_resume(
    name: NameOpt,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Follow the job until it ends; "
                                         "exit non-zero if it fails or is canceled.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Resume a job whose runner was killed or crashed, from its recorded trials."""
    client = _client(workspace)
    client.jobs.resume(name)
    record = client.jobs.job_record(name)
    console.print(Text.assemble("Job ", (name, "bold"), " ", _status(record.status),
                                f" (resumed {record.resumed} time(s))"))
    if stream:
        raise typer.Exit(_stream(client, name))
    console.print(f"Follow it with: cirrus job stream -n {name}")


@job_app.command("download")
def job_download(
    name: NameOpt,
    output_name: Annotated[str | None, typer.Option(
        "--output-name", help="A named output, such as best_model.")] = None,
    download_path: Annotated[Path, typer.Option(
        "--download-path", "-p", help="Folder to download into.")] = Path("."),
    all_: Annotated[bool, typer.Option("--all", help="Download logs, artifacts and every "
                                       "named output.")] = False,
    trial: Annotated[int | None, typer.Option(
        "--trial", help="Download this trial's model instead (named-outputs/trial_<n>/).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Download a job's outputs (named outputs go to named-outputs/<name>/)."""
    if trial is not None:
        where = _client(workspace).jobs.download_trial_model(name, trial,
                                                              download_path=download_path)
        console.print(f"Downloaded to {where.resolve()}")
        return
    _client(workspace).jobs.download(name, download_path=download_path,
                                     output_name=output_name, all=all_)
    where = download_path / ("named-outputs/" + output_name if output_name and not all_
                             else "")
    console.print(f"Downloaded to {where.resolve()}")


@job_app.command("generate-code")
def job_generate_code(
    name: NameOpt,
    trial: Annotated[int | None, typer.Option(
        "--trial", "-t", help="Trial number (default: the best model).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the script here instead of printing it.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Generate a standalone training script that rebuilds a trial and prints its metric."""
    script = _client(workspace).jobs.generate_code(name, trial=trial)
    if output is None:
        sys.stdout.write(script)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(script, encoding="utf-8")
    err_console.print(f"Wrote {output} (run it with: python {output})")


@job_app.command("explain")
def job_explain(
    name: NameOpt,
    data: Annotated[Path, typer.Option("--data", "-d", help="CSV or Parquet rows to explain.")],
    rows: Annotated[int, typer.Option("--rows", help="Explain at most this many rows.")] = 10,
    workspace: WorkspaceOpt = None,
) -> None:
    """Explain the best model's predictions for rows of a file (per-column contributions)."""
    from cirrusml.data import read_input

    frame = read_input("uri_file", str(data)).head(rows)
    result = _client(workspace).jobs.explain(name, frame)
    table = Table(title=f"Contributions to the predictions of job {name}", title_justify="left")
    table.add_column("row", justify="right")
    columns = [c for c in result.columns if c != "expected_value"]
    top = result[columns].abs().mean().sort_values(ascending=False).index[:8].tolist()
    for column in top + ["expected_value"]:
        table.add_column(str(column), justify="right")
    for index, row in result.iterrows():
        table.add_row(str(index), *[f"{row[c]:+.4f}" for c in top], f"{row['expected_value']:.4f}")
    console.print(table)


# ------------------------------------------------------------------------------------ main


def _version(value: bool) -> None:
    if value:
        console.print(f"cirrusml {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """cirrusml: local-first AutoML that runs Azure ML AutoML job files."""


def main() -> None:
    """Entry point of the ``cirrus`` command."""
    try:
        app()  # standalone mode: usage errors exit 2 with click's message
    except CirrusMLError as err:
        if os.environ.get("CIRRUS_DEBUG"):
            raise
        err_console.print(Text.assemble(("Error: ", "red"), str(err)), highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the unexpected, without a traceback
        if os.environ.get("CIRRUS_DEBUG"):
            raise
        err_console.print(Text.assemble(("Internal error: ", "red"), f"{type(err).__name__}: "
                                        f"{err} (set CIRRUS_DEBUG=1 for the traceback)"))
        sys.exit(1)


if __name__ == "__main__":
    main()
