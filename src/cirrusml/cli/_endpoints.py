"""``cirrus online-endpoint`` and ``cirrus online-deployment``, like ``az ml online-endpoint`` and
``az ml online-deployment``.

Thin commands over ``MLClient().online_endpoints`` and ``.online_deployments``; errors reach
``cirrus``'s entry point (:func:`cirrusml.cli.main.main`), which prints them as one line and
exits 1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cirrusml.cli._common import WorkspaceOpt, open_client
from cirrusml.exceptions import InvalidSpecError

endpoint_app = typer.Typer(help="Create and manage online endpoints (like `az ml "
                           "online-endpoint`).", no_args_is_help=True)
deployment_app = typer.Typer(help="Create and manage the deployments of online endpoints (like "
                             "`az ml online-deployment`).", no_args_is_help=True)

console = Console(emoji=False)  # azureml:cancer:2 is not an emoji

EndpointOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the endpoint.")]
DeploymentOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the deployment.")]
OfEndpointOpt = Annotated[str, typer.Option("--endpoint-name", "-e",
                                            help="Name of the endpoint.")]
FileOpt = Annotated[Path, typer.Option("--file", "-f", help="The YAML file (Azure's CLI v2 "
                                       "layout).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _client(workspace: Path | None) -> Any:
    return open_client(workspace)


def parse_traffic(text: str, field: str = "traffic") -> dict[str, int]:
    """``"blue=90 green=10"`` (az ml's form; commas work too) as ``{"blue": 90, "green": 10}``."""
    shares: dict[str, int] = {}
    for pair in (p for p in re.split(r"[\s,]+", text.strip()) if p):
        name, sep, share = pair.partition("=")
        if not sep or not name or not share.strip().isdigit():
            raise InvalidSpecError(f"takes deployment=percentage pairs such as \"blue=90 "
                                   f"green=10\", got '{pair}'.", field=field)
        shares[name] = int(share)
    return shares


def _shares(shares: dict[str, int] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in (shares or {}).items()) or "—"


def _show_endpoint(client: Any, endpoint: Any) -> None:
    table = Table(show_header=False, box=None, title=f"Online endpoint {endpoint.name}",
                  title_justify="left")
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in (("scoring_uri", endpoint.scoring_uri), ("auth_mode", endpoint.auth_mode),
                       ("provisioning_state", endpoint.provisioning_state),
                       ("traffic", _shares(endpoint.traffic)),
                       ("mirror_traffic", _shares(endpoint.mirror_traffic)),
                       ("description", endpoint.description)):
        if value not in (None, ""):
            table.add_row(key, Text(str(value)))
    for key, value in (endpoint.tags or {}).items():
        table.add_row(Text(f"tag {key}"), Text(value))
    console.print(table)
    deployments = client.online_deployments.list(endpoint.name)
    if deployments:
        _deployment_table(deployments, endpoint.traffic or {})


def _deployment_table(deployments: list[Any], traffic: dict[str, int]) -> None:
    table = Table(title="Deployments", title_justify="left")
    for column in ("name", "model", "instances", "traffic", "provisioning_state"):
        table.add_column(column)
    for deployment in deployments:
        model = deployment.model if isinstance(deployment.model, str) else (
            deployment.model.path or deployment.model.name)
        table.add_row(deployment.name, str(model), str(deployment.instance_count),
                      f"{traffic.get(deployment.name, 0)}%", deployment.provisioning_state)
    console.print(table)


# ------------------------------------------------------------------------ online-endpoint


@endpoint_app.command("create")
def endpoint_create(file: FileOpt,
                    name: Annotated[str | None, typer.Option(
                        "--name", "-n", help="Name of the endpoint (overrides the file's).")
                    ] = None,
                    workspace: WorkspaceOpt = None) -> None:
    """Create an online endpoint (its keys and its scoring URI) from a YAML file."""
    from cirrusml.spec import load_online_endpoint

    endpoint = load_online_endpoint(file)
    if name is not None:
        endpoint.name = name
    client = _client(workspace)
    _show_endpoint(client, client.online_endpoints.begin_create_or_update(endpoint).result())


@endpoint_app.command("show")
def endpoint_show(name: EndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """Show an endpoint and its deployments as they are."""
    client = _client(workspace)
    _show_endpoint(client, client.online_endpoints.get(name))


@endpoint_app.command("list")
def endpoint_list(workspace: WorkspaceOpt = None) -> None:
    """List the online endpoints."""
    table = Table(title="Online endpoints", title_justify="left")
    for column in ("name", "scoring_uri", "traffic", "provisioning_state"):
        table.add_column(column)
    for endpoint in _client(workspace).online_endpoints.list():
        table.add_row(endpoint.name, endpoint.scoring_uri or "—", _shares(endpoint.traffic),
                      endpoint.provisioning_state)
    console.print(table)


@endpoint_app.command("update")
def endpoint_update(
    name: EndpointOpt,
    traffic: Annotated[str | None, typer.Option(
        "--traffic", "-r", help='Live traffic, e.g. "blue=90 green=10".')] = None,
    mirror_traffic: Annotated[str | None, typer.Option(
        "--mirror-traffic", help='Mirrored traffic, e.g. "green=10" ("" to stop).')] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="An endpoint YAML file with the new settings.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Change an endpoint's traffic, mirror traffic or settings."""
    from cirrusml.spec import load_online_endpoint

    client = _client(workspace)
    endpoint = load_online_endpoint(file) if file is not None else client.online_endpoints.get(
        name)
    endpoint.name = name
    if traffic is not None:
        endpoint.traffic = parse_traffic(traffic)
    if mirror_traffic is not None:
        endpoint.mirror_traffic = parse_traffic(mirror_traffic, "mirror_traffic")
    _show_endpoint(client, client.online_endpoints.begin_create_or_update(endpoint).result())


@endpoint_app.command("invoke")
def endpoint_invoke(
    name: EndpointOpt,
    request_file: Annotated[Path, typer.Option("--request-file", "-r",
                                               help="The JSON request body.")],
    deployment_name: Annotated[str | None, typer.Option(
        "--deployment-name", "-d", help="Send to this deployment, whatever the traffic.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Send a scoring request to an endpoint and print its answer."""
    answer = _client(workspace).online_endpoints.invoke(
        name, request_file=request_file, deployment_name=deployment_name)
    print(answer)


@endpoint_app.command("get-credentials")
def endpoint_credentials(name: EndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """Print the endpoint's keys (as az ml does: primaryKey, secondaryKey)."""
    keys = _client(workspace).online_endpoints.get_keys(name)
    print(json.dumps({"primaryKey": keys.primary_key, "secondaryKey": keys.secondary_key},
                     indent=2))


@endpoint_app.command("regenerate-keys")
def endpoint_regenerate(
    name: EndpointOpt,
    key_type: Annotated[str, typer.Option("--key-type", help="primary or secondary.")
                        ] = "primary",
    workspace: WorkspaceOpt = None,
) -> None:
    """Replace the primary or the secondary key (the other one goes on working)."""
    _client(workspace).online_endpoints.regenerate_keys(name, key_type=key_type)
    console.print(f"Regenerated the {key_type} key of {name}; `cirrus online-endpoint "
                  f"get-credentials -n {name}` shows it.")


@endpoint_app.command("restart")
def endpoint_restart(name: EndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """Start again the router and the deployments of an endpoint whose processes have ended."""
    client = _client(workspace)
    _show_endpoint(client, client.online_endpoints.restart(name))


@endpoint_app.command("delete")
def endpoint_delete(name: EndpointOpt, yes: YesOpt = False,
                    workspace: WorkspaceOpt = None) -> None:
    """Stop an endpoint's processes and delete it with its deployments and keys."""
    client = _client(workspace)
    client.online_endpoints.get(name)  # an unknown name fails before the question
    if not yes:
        typer.confirm(f"Delete online endpoint {name} and all its deployments?", abort=True)
    client.online_endpoints.begin_delete(name).wait()
    console.print(f"Deleted online endpoint {name}.")


# ---------------------------------------------------------------------- online-deployment


@deployment_app.command("create")
def deployment_create(
    file: FileOpt,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name of the deployment "
                                             "(overrides the file's).")] = None,
    endpoint_name: Annotated[str | None, typer.Option(
        "--endpoint-name", "-e", help="The endpoint (overrides the file's).")] = None,
    all_traffic: Annotated[bool, typer.Option(
        "--all-traffic", help="Send all of the endpoint's traffic to it once it runs.")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create (or update) a deployment from a YAML file and start its server."""
    from cirrusml.spec import load_online_deployment

    deployment = load_online_deployment(file)
    if name is not None:
        deployment.name = name
    if endpoint_name is not None:
        deployment.endpoint_name = endpoint_name
    client = _client(workspace)
    created = client.online_deployments.begin_create_or_update(deployment).result()
    endpoint = client.online_endpoints.get(created.endpoint_name)
    if all_traffic:
        endpoint.traffic = {created.name: 100}
        endpoint.mirror_traffic = {k: v for k, v in (endpoint.mirror_traffic or {}).items()
                                   if k != created.name}
        endpoint = client.online_endpoints.begin_create_or_update(endpoint).result()
    _deployment_table([created], endpoint.traffic or {})


@deployment_app.command("show")
def deployment_show(name: DeploymentOpt, endpoint_name: OfEndpointOpt,
                    workspace: WorkspaceOpt = None) -> None:
    """Show a deployment as it is."""
    client = _client(workspace)
    deployment = client.online_deployments.get(name, endpoint_name)
    traffic = client.online_endpoints.get(endpoint_name).traffic or {}
    _deployment_table([deployment], traffic)


@deployment_app.command("list")
def deployment_list(endpoint_name: OfEndpointOpt, workspace: WorkspaceOpt = None) -> None:
    """List the deployments of an endpoint."""
    client = _client(workspace)
    traffic = client.online_endpoints.get(endpoint_name).traffic or {}
    _deployment_table(client.online_deployments.list(endpoint_name), traffic)


@deployment_app.command("get-logs")
def deployment_logs(
    name: DeploymentOpt, endpoint_name: OfEndpointOpt,
    lines: Annotated[int | None, typer.Option("--lines", "-l", help="Only the last N lines.")
                     ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print the log of a deployment's server."""
    print(_client(workspace).online_deployments.get_logs(name, endpoint_name, lines=lines),
          end="")


@deployment_app.command("delete")
def deployment_delete(name: DeploymentOpt, endpoint_name: OfEndpointOpt, yes: YesOpt = False,
                      workspace: WorkspaceOpt = None) -> None:
    """Stop a deployment's server and delete it (its traffic must be 0)."""
    client = _client(workspace)
    client.online_deployments.get(name, endpoint_name)
    if not yes:
        typer.confirm(f"Delete deployment {name} of endpoint {endpoint_name}?", abort=True)
    client.online_deployments.begin_delete(name, endpoint_name).wait()
    console.print(f"Deleted deployment {name} of endpoint {endpoint_name}.")
