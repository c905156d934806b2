"""``cirrus model``: register and manage models, like ``az ml model``.

Thin commands over ``MLClient().models``; errors reach ``cirrus``'s entry point
(:func:`cirrusml.cli.main.main`), which prints them as one line and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cirrusml.cli._common import WorkspaceOpt, open_client
from cirrusml.exceptions import InvalidSpecError

model_app = typer.Typer(help="Register and manage models (like `az ml model`).",
                        no_args_is_help=True)

console = Console()

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the model.")]
VersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Version of the model.")]


def _models(workspace: Path | None) -> Any:
    return open_client(workspace).models


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidSpecError(f"--tag takes key=value (for example team=risk), got '{pair}'.",
                                   field="tags")
        tags[key.strip()] = value
    return tags


def _show(model: Any) -> None:
    table = Table(show_header=False, box=None, title=f"Model {model.name}:{model.version}",
                  title_justify="left")
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # paths are shown whole, to be copied
    rows = [("name", model.name), ("version", model.version), ("type", model.type),
            ("stage", model.stage), ("description", model.description),
            ("job", model.job_name), ("created", model.utc_time_created), ("path", model.path),
            ("flavors", ", ".join(model.flavors) if model.flavors else None)]
    for key, value in rows:
        if value not in (None, ""):
            table.add_row(key, str(value))
    for key, value in (model.tags or {}).items():
        table.add_row(f"tag {key}", value)
    for key, value in (model.properties or {}).items():
        table.add_row(f"property {key}", value)
    console.print(table)


@model_app.command("create")
def model_create(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name of the model.")] = None,
    path: Annotated[str | None, typer.Option(
        "--path", "-p", help="A local MLflow model folder, azureml://jobs/<job>/outputs/"
        "best_model, or a run's artifacts (runs:/<run_id>/<path>).")] = None,
    version: VersionOpt = None,
    type_: Annotated[str | None, typer.Option(
        "--type", "-t", help="mlflow_model or custom_model (default: the file's, else "
        "custom_model, as Azure).")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="A stage, such as "
                                              "Production.")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", "--tags", help="A tag key=value (repeatable).")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="A model YAML file (Azure's model.schema.json); options given "
        "here override its keys.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Register a model as the next version of its name, like `az ml model create`."""
    from cirrusml.spec import Model, load_model

    fields: dict[str, Any] = {"name": name, "path": path, "version": version, "type": type_,
                              "description": description, "stage": stage}
    given = {k: v for k, v in fields.items() if v is not None}
    if file is not None:
        model = load_model(file)
        for key, value in given.items():
            setattr(model, key, value)
        if tag:
            model.tags = {**(model.tags or {}), **_tags(tag)}
    else:
        model = Model(**given, tags=_tags(tag) if tag else None)
    registered = _models(workspace).create_or_update(model)
    _show(registered)
    console.print(f"Deploy it as model: azureml:{registered.name}:{registered.version}")


@model_app.command("show")
def model_show(
    name: NameOpt,
    version: VersionOpt = None,
    label: Annotated[str | None, typer.Option(
        "--label", "-l", help="'latest': the newest version not archived (the default).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show a version of a model (the latest one unless --version is given)."""
    if version is None and label is None:
        label = "latest"
    _show(_models(workspace).get(name, version=version, label=label))


@model_app.command("list")
def model_list(
    name: Annotated[str | None, typer.Option(
        "--name", "-n", help="List the versions of this model.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only versions at this stage "
                                              "(with --name).")] = None,
    archived_only: Annotated[bool, typer.Option("--archived-only",
                                                help="Only archived ones.")] = False,
    include_archived: Annotated[bool, typer.Option("--include-archived",
                                                   help="Archived ones too.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List the registered models, or the versions of one."""
    operations = _models(workspace)
    models = operations.list(name, stage, archived_only=archived_only,
                             include_archived=include_archived)
    if name is None:
        table = Table(title="Models", title_justify="left")
        for column in ("name", "latest version", "description"):
            table.add_column(column)
        for model in models:
            table.add_row(model.name, model.latest_version or "—", model.description or "")
    else:
        table = Table(title=f"Versions of {name}", title_justify="left")
        for column in ("version", "type", "stage", "created", "job", "description"):
            table.add_column(column)
        if include_archived:
            table.add_column("archived")
        for model in models:
            row = [model.version, model.type, model.stage or "",
                   (model.utc_time_created or "")[:19], model.job_name or "",
                   model.description or ""]
            if include_archived:
                archived = operations.registry.is_archived(name, model.version)
                row.append("yes" if archived else "")
            table.add_row(*row)
    console.print(table)


@model_app.command("download")
def model_download(
    name: NameOpt,
    version: Annotated[str, typer.Option("--version", "-v", help="Version of the model.")],
    download_path: Annotated[Path, typer.Option(
        "--download-path", "-p", help="Folder to download into (the files go to "
        "<folder>/<name>/).")] = Path("."),
    workspace: WorkspaceOpt = None,
) -> None:
    """Download a version's files to <download-path>/<name>/."""
    where = _models(workspace).download(name, version, download_path=download_path)
    console.print(f"Downloaded to {Path(where).resolve()}")


@model_app.command("archive")
def model_archive(name: NameOpt, version: VersionOpt = None,
                  workspace: WorkspaceOpt = None) -> None:
    """Archive a version (or, without --version, the whole model)."""
    _models(workspace).archive(name, version)
    console.print(f"Archived {name}" + (f" version {version}" if version else " (every "
                                        "version)"))


@model_app.command("restore")
def model_restore(name: NameOpt, version: VersionOpt = None,
                  workspace: WorkspaceOpt = None) -> None:
    """Restore an archived version (or, without --version, the whole model)."""
    _models(workspace).restore(name, version)
    console.print(f"Restored {name}" + (f" version {version}" if version else ""))
