"""``cirrus compute``: the workspace's Dask computes, like ``az ml compute``.

Thin commands over ``MLClient().compute``; errors reach ``cirrus``'s entry point
(:func:`cirrusml.cli.main.main`), which prints them as one line and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cirrusml.cli._common import WorkspaceOpt, open_client

compute_app = typer.Typer(help="Create and manage Dask computes (like `az ml compute`).",
                          no_args_is_help=True)

console = Console()

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the compute.")]


def _computes(workspace: Path | None) -> Any:
    return open_client(workspace).compute


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n else "no limit"


def _show(compute: Any) -> None:
    table = Table(show_header=False, box=None, title=f"Compute {compute.name}",
                  title_justify="left")
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    rows = [("name", compute.name), ("type", compute.type), ("state", compute.state),
            ("scheduler", compute.address),
            ("local", "yes (started by the workspace)" if compute.local else "no"),
            ("pid", compute.pid if compute.local else None),
            ("workers", len(compute.worker_details) if compute.worker_details else
             (compute.workers if compute.local else None)),
            ("created", compute.created), ("description", compute.description)]
    for key, value in rows:
        if value not in (None, ""):
            table.add_row(key, str(value))
    console.print(table)
    if compute.worker_details:
        workers = Table(title="Workers", title_justify="left")
        for column in ("address", "threads", "memory per worker", "pid"):
            workers.add_column(column)
        for w in compute.worker_details:
            workers.add_row(str(w["address"]), str(w["threads"]), _gib(w["memory_limit"]),
                            str(w.get("pid") or ""))
        console.print(workers)


@compute_app.command("create")
def compute_create(
    name: NameOpt,
    type_: Annotated[str, typer.Option("--type", "-t", help="The compute type: dask.")] = "dask",
    address: Annotated[str | None, typer.Option(
        "--address", help="A running Dask scheduler, tcp://HOST:PORT.")] = None,
    local: Annotated[bool, typer.Option(
        "--local", help="Start a local Dask cluster in the background.")] = False,
    workers: Annotated[int, typer.Option(
        "--workers", help="Worker processes of a --local cluster.")] = 2,
    threads: Annotated[int, typer.Option(
        "--threads-per-worker", help="Threads of each worker of a --local cluster.")] = 1,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Register a Dask compute: an existing scheduler (--address) or a local cluster (--local)."""
    from cirrusml.entities import DaskCompute

    compute = DaskCompute(name=name, type=type_, address=address, local=local,
                          workers=workers, threads_per_worker=threads, description=description)
    created = _computes(workspace).begin_create_or_update(compute).result()
    _show(created)
    console.print(f"Run a job on it with compute: azureml:{created.name}")


@compute_app.command("show")
def compute_show(name: NameOpt, workspace: WorkspaceOpt = None) -> None:
    """Show a compute: its scheduler, state and workers."""
    _show(_computes(workspace).get(name))


@compute_app.command("list")
def compute_list(workspace: WorkspaceOpt = None) -> None:
    """List the workspace's computes."""
    computes = _computes(workspace).list()
    if not computes:
        console.print("No computes. Create one with `cirrus compute create --name NAME "
                      "--type dask --local --workers 2`.")
        return
    table = Table()
    for column in ("name", "type", "state", "scheduler", "workers", "threads"):
        table.add_column(column)
    for c in computes:
        table.add_row(c.name, c.type, str(c.state), str(c.address),
                      str(len(c.worker_details)),
                      str(sum(w["threads"] for w in c.worker_details)))
    console.print(table)


@compute_app.command("delete")
def compute_delete(name: NameOpt, workspace: WorkspaceOpt = None) -> None:
    """Forget a compute; a local one's cluster is stopped."""
    _computes(workspace).begin_delete(name).result()
    console.print(f"Deleted compute {name}.")
