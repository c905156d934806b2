"""``cirrus batch score``, ``cirrus batch-endpoint ...`` and ``cirrus batch-deployment ...``.

Thin: every command calls the client (``ml_client.batch_scoring``, ``batch_endpoints``,
``batch_deployments``, ``jobs``); scoring runs as a batch job in its own process, and the
commands follow it through its progress events (a rich progress bar) and its log. Errors reach
``main`` as cirrusml errors and are printed there as one line.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from cirrusml.cli._common import WorkspaceOpt, open_client
from cirrusml.exceptions import JobFailedError

__all__ = ["batch_app", "batch_deployment_app", "batch_endpoint_app", "follow_batch_job",
           "show_batch_job"]

batch_app = typer.Typer(help="Score files in batch with a model, as a batch job.",
                        no_args_is_help=True)
batch_endpoint_app = typer.Typer(help="Manage and invoke batch endpoints (like `az ml "
                                 "batch-endpoint`).", no_args_is_help=True)
batch_deployment_app = typer.Typer(help="Manage batch deployments (like `az ml "
                                   "batch-deployment`).", no_args_is_help=True)

# No emoji codes: a model reference such as azureml:cancer:1 must print as it is.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

EndpointOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the batch endpoint.")]
EndpointNameOpt = Annotated[str, typer.Option("--endpoint-name", "-e",
                                              help="Name of the batch endpoint.")]
_POLL_SECONDS = 0.2
_STYLE = {"Completed": "green", "Failed": "red", "Canceled": "yellow", "Running": "cyan",
          "NotStarted": "dim"}


def _client(workspace: Path | None) -> Any:
    return open_client(workspace)


def _status(status: str | None) -> Text:
    return Text(status or "?", style=_STYLE.get(status or "", ""))


def _cell(value: Any) -> Text:
    """A table cell shown as written (no markup)."""
    return value if isinstance(value, Text) else Text(str(value))


# ------------------------------------------------------------------------- following a job


def follow_batch_job(client: Any, name: str, *, show_log: bool = False) -> Any:
    """Follow batch job ``name`` to its end with a progress bar (on stderr) drawn from its
    progress events, printing its log lines when ``show_log``; returns its final record.
    Ctrl-C cancels the job."""
    jobs = client.jobs
    columns = [SpinnerColumn(), TextColumn("[bold]scoring"), BarColumn(),
               MofNCompleteColumn(), TextColumn("rows"), TextColumn("{task.fields[batches]}"),
               TimeElapsedColumn()]
    offsets = {"events": 0, "log": 0}
    try:
        with Progress(*columns, console=err_console, transient=False) as bar:
            task = bar.add_task("score", total=None, batches="")

            def pull() -> None:
                events, offsets["events"] = jobs.read_events(name, offsets["events"])
                for event in events:
                    if event.get("event") == "batch_progress":
                        bar.update(task, completed=event.get("rows", 0),
                                   total=event.get("total"),
                                   batches=f"{event.get('mini_batches', 0)} mini-batch(es)")
                if show_log:
                    text, offsets["log"] = jobs.read_log(name, offsets["log"])
                    for line in text.splitlines():
                        if line.strip():
                            console.print(line, markup=False, highlight=False)

            while True:
                record = jobs.job_record(name)
                pull()
                if record.is_terminal:
                    pull()
                    break
                time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        err_console.print(f"Interrupted: canceling batch job {name}.")
        jobs.cancel(name)
        raise
    return record


def _summary_line(record: Any) -> str:
    summary = record.batch_summary or {}
    retried = f", {summary['retries']} retried" if summary.get("retries") else ""
    return (f"Scored {summary.get('rows', 0)} rows in {summary.get('mini_batches', 0)} "
            f"mini-batch(es){retried}")


def _finish(record: Any) -> None:
    """Raise ``JobFailedError`` (one line, exit 1) for a job that did not complete."""
    if record.status != "Completed":
        reason = record.error or f"see its log (cirrus job stream -n {record.name})"
        raise JobFailedError(f"batch job '{record.name}' {str(record.status).lower()}: "
                             f"{reason}")


def show_batch_job(client: Any, name: str) -> None:
    """Print a batch job: status, endpoint, model, input, output, rows."""
    job = client.jobs.get(name)
    table = Table(show_header=False, box=None, title=f"Batch job {name}", title_justify="left")
    settings = job.settings
    rows: list[tuple[str, Any]] = [
        ("status", _status(job.status)),
        ("endpoint", settings.endpoint_name), ("deployment", settings.deployment_name),
        ("model", settings.model), ("input", f"{settings.input_path} ({settings.input_type})"),
        ("mini-batch size", settings.mini_batch_size),
        ("created", job.creation_context.get("created_at")),
        ("started", job.creation_context.get("started_at")),
        ("ended", job.creation_context.get("ended_at")),
        ("rows", (job.summary or {}).get("rows")),
        ("output 'score'", job.outputs["score"].path if job.status == "Completed" else None),
        ("error", job.error)]
    for key, value in rows:
        if value not in (None, ""):
            table.add_row(key, _cell(value))
    console.print(table)


def stream_batch_job(client: Any, name: str) -> int:
    """``cirrus job stream`` for a batch job: its log and progress; the exit code."""
    record = follow_batch_job(client, name, show_log=True)
    console.print(Text.assemble("Batch job ", (name, "bold"), " ", _status(record.status)))
    if record.status == "Completed":
        console.print(f"{_summary_line(record)}. Download the predictions with: cirrus job "
                      f"download -n {name} --output-name score")
        return 0
    if record.error:
        err_console.print(Text.assemble(("Error: ", "red"), record.error), highlight=False)
    return 1


def _place(source: Path, target: Path) -> Path:
    """Copy the job's predictions to ``target`` (atomically: a file beside it, renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.incomplete")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


# ------------------------------------------------------------------------------ batch score


@batch_app.command("score")
def batch_score(
    model: Annotated[str, typer.Option("--model", "-m", help="The model: NAME:VERSION, "
                                       "azureml:NAME:VERSION, NAME@latest, or an MLflow model "
                                       "folder (a job's best_model output).")],
    input_: Annotated[Path, typer.Option("--input", "-i", help="A csv, Parquet or JSON-lines "
                                         "file, a folder of them, or an MLTable folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="predictions.csv or "
                                         "predictions.parquet.")] = Path("predictions.csv"),
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows per mini-batch "
                                            "(mini_batch_size).", min=1)] = 10_000,
    method: Annotated[str, typer.Option("--method", help="predict, or predict_proba to add "
                                        "one probability column per class.")] = "predict",
    concurrency: Annotated[int, typer.Option("--max-concurrency", help="Mini-batches scored "
                                             "at once (max_concurrency_per_instance).",
                                             min=1)] = 1,
    max_retries: Annotated[int, typer.Option("--max-retries", help="Retries of a failing "
                                             "mini-batch.", min=0)] = 3,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a mini-batch may take "
                                           "before it is retried.")] = 30.0,
    workspace: WorkspaceOpt = None,
) -> None:
    """Score every row of a file with a model in a batch job; write the predictions in input
    order to --output."""
    client = _client(workspace)
    target = output / "predictions.csv" if output.is_dir() else output
    job = client.batch_scoring.create(
        model=model, input=str(input_), output_file_name=target.name, method=method,
        mini_batch_size=chunk_size, max_concurrency_per_instance=concurrency,
        max_retries=max_retries, timeout=timeout)
    err_console.print(f"Batch job {job.name}")
    record = follow_batch_job(client, job.name)
    _finish(record)
    placed = _place(Path(client.jobs.get(job.name).outputs["score"].path), target)
    console.print(f"{_summary_line(record)}; predictions in {placed}")


# --------------------------------------------------------------------------- batch-endpoint


@batch_endpoint_app.command("create")
def endpoint_create(
    file: Annotated[Path, typer.Option("--file", "-f", help="Batch endpoint YAML file.")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name for the endpoint "
                                             "(overrides the file's).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create or update a batch endpoint from Azure's YAML file."""
    from cirrusml.spec import load_batch_endpoint

    endpoint = load_batch_endpoint(file, params_override=[{"name": name}] if name else None)
    created = _client(workspace).batch_endpoints.begin_create_or_update(endpoint).result()
    _print_endpoint(_client(workspace), created.name)


def _print_endpoint(client: Any, name: str) -> None:
    endpoint = client.batch_endpoints.get(name)
    deployments = client.batch_deployments.list(name)
    table = Table(show_header=False, box=None, title=f"Batch endpoint {name}",
                  title_justify="left")
    for key, value in (("description", endpoint.description),
                       ("auth_mode", endpoint.auth_mode),
                       ("default deployment", endpoint.default_deployment_name),
                       ("deployments", ", ".join(d.name for d in deployments) or "none"),
                       ("provisioning_state", endpoint.provisioning_state)):
        if value:
            table.add_row(key, _cell(value))
    for key, value in (endpoint.tags or {}).items():
        table.add_row(f"tag {key}", _cell(value))
    console.print(table)


@batch_endpoint_app.command("show")
def endpoint_show(name: EndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """Show a batch endpoint and its deployments."""
    _print_endpoint(_client(workspace), name)


@batch_endpoint_app.command("list")
def endpoint_list(workspace: WorkspaceOpt = None) -> None:
    """List the batch endpoints of the workspace."""
    client = _client(workspace)
    table = Table(title=f"Batch endpoints in {client.workspace_path}", title_justify="left")
    for column in ("name", "default deployment", "deployments", "description"):
        table.add_column(column)
    for endpoint in client.batch_endpoints.list():
        names = [d.name for d in client.batch_deployments.list(endpoint.name)]
        table.add_row(endpoint.name, endpoint.default_deployment_name or "",
                      ", ".join(names), _cell(endpoint.description or ""))
    console.print(table)


@batch_endpoint_app.command("invoke")
def endpoint_invoke(
    name: EndpointOpt,
    input_: Annotated[Path, typer.Option("--input", "-i", help="The data: a file, a folder "
                                         "or an MLTable folder.")],
    input_type: Annotated[str | None, typer.Option(
        "--input-type", help="uri_file, uri_folder or mltable (default: found from the "
        "path).")] = None,
    deployment_name: Annotated[str | None, typer.Option(
        "--deployment-name", "-d", help="The deployment (default: the endpoint's "
        "default).")] = None,
    mini_batch_size: Annotated[int | None, typer.Option(
        "--mini-batch-size", help="Rows per mini-batch (default: the deployment's).",
        min=1)] = None,
    output_file_name: Annotated[str | None, typer.Option(
        "--output-file-name", help="Name of the predictions file (default: the "
        "deployment's).")] = None,
    job_name: Annotated[str | None, typer.Option("--job-name", help="Name for the job.")] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Follow the job until it ends; "
                                         "exit non-zero if it fails.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Score data with a batch endpoint, as a batch job (like `az ml batch-endpoint invoke`)."""
    client = _client(workspace)
    job = client.batch_endpoints.invoke(
        name, deployment_name=deployment_name, input=str(input_), input_type=input_type,
        mini_batch_size=mini_batch_size, output_file_name=output_file_name, job_name=job_name)
    table = Table(show_header=False, box=None)
    table.add_row("name", job.name)
    table.add_row("status", _status(job.status))
    table.add_row("endpoint", job.endpoint_name or "")
    table.add_row("deployment", job.deployment_name or "")
    console.print(table)
    if stream:
        raise typer.Exit(stream_batch_job(client, job.name))
    console.print(f"Follow it with: cirrus job stream -n {job.name}")


@batch_endpoint_app.command("list-jobs")
def endpoint_list_jobs(name: EndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """List the batch jobs of an endpoint, newest first."""
    client = _client(workspace)
    table = Table(title=f"Jobs of batch endpoint {name}", title_justify="left")
    for column in ("name", "deployment", "status", "created", "rows"):
        table.add_column(column)
    for job in client.batch_endpoints.list_jobs(name):
        table.add_row(job.name, job.deployment_name or "", _status(job.status),
                      job.creation_context.get("created_at") or "",
                      str((job.summary or {}).get("rows", "")))
    console.print(table)


@batch_endpoint_app.command("delete")
def endpoint_delete(name: EndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """Delete a batch endpoint and its deployments (its jobs stay)."""
    _client(workspace).batch_endpoints.begin_delete(name).result()
    console.print(f"Deleted batch endpoint {name}")


# ------------------------------------------------------------------------- batch-deployment


@batch_deployment_app.command("create")
def deployment_create(
    file: Annotated[Path, typer.Option("--file", "-f", help="Batch deployment YAML file.")],
    endpoint_name: Annotated[str | None, typer.Option(
        "--endpoint-name", "-e", help="The endpoint (overrides the file's).")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name for the deployment "
                                             "(overrides the file's).")] = None,
    set_default: Annotated[bool, typer.Option("--set-default", help="Make it the endpoint's "
                                              "default deployment.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create or update a batch deployment from Azure's YAML file."""
    from cirrusml.spec import load_batch_deployment

    overrides = [{k: v} for k, v in (("name", name), ("endpoint_name", endpoint_name)) if v]
    deployment = load_batch_deployment(file, params_override=overrides or None)
    client = _client(workspace)
    created = client.batch_deployments.begin_create_or_update(deployment).result()
    if set_default:
        endpoint = client.batch_endpoints.get(created.endpoint_name)
        endpoint.defaults = {"deployment_name": created.name}
        client.batch_endpoints.begin_create_or_update(endpoint).result()
    _print_deployment(client, created.name, created.endpoint_name)


def _print_deployment(client: Any, name: str, endpoint_name: str) -> None:
    deployment = client.batch_deployments.get(name, endpoint_name)
    default = client.batch_endpoints.get(endpoint_name).default_deployment_name
    table = Table(show_header=False, box=None, title=f"Batch deployment {name}",
                  title_justify="left")
    retry = deployment.retry_settings
    for key, value in (("endpoint", endpoint_name), ("default", "yes" if default == name
                                                     else "no"),
                       ("model", deployment.model),
                       ("mini_batch_size", deployment.mini_batch_size),
                       ("max_concurrency_per_instance", deployment.max_concurrency_per_instance),
                       ("output_action", deployment.output_action),
                       ("output_file_name", deployment.output_file_name),
                       ("retry_settings", f"max_retries {retry.max_retries}, timeout "
                                          f"{retry.timeout} s"),
                       ("description", deployment.description)):
        if value not in (None, ""):
            table.add_row(key, _cell(value))
    console.print(table)


@batch_deployment_app.command("show")
def deployment_show(
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the deployment.")],
    endpoint_name: EndpointNameOpt,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show a batch deployment."""
    _print_deployment(_client(workspace), name, endpoint_name)


@batch_deployment_app.command("list")
def deployment_list(endpoint_name: EndpointNameOpt, workspace: WorkspaceOpt = None) -> None:
    """List the deployments of a batch endpoint."""
    client = _client(workspace)
    default = client.batch_endpoints.get(endpoint_name).default_deployment_name
    table = Table(title=f"Deployments of batch endpoint {endpoint_name}", title_justify="left")
    for column in ("name", "default", "model", "mini_batch_size", "output_file_name"):
        table.add_column(column)
    for deployment in client.batch_deployments.list(endpoint_name):
        table.add_row(deployment.name, "yes" if deployment.name == default else "",
                      _cell(deployment.model), str(deployment.mini_batch_size),
                      deployment.output_file_name)
    console.print(table)


@batch_deployment_app.command("delete")
def deployment_delete(
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the deployment.")],
    endpoint_name: EndpointNameOpt,
    workspace: WorkspaceOpt = None,
) -> None:
    """Delete a batch deployment."""
    _client(workspace).batch_deployments.begin_delete(name, endpoint_name).result()
    console.print(f"Deleted batch deployment {name} of {endpoint_name}")
