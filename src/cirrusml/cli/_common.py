"""What every ``cirrus`` command group shares: the ``--workspace`` option and the client it
opens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["WorkspaceOpt", "open_client"]

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: $CIRRUS_WORKSPACE or "
                 "./.cirrus).", show_default=False),
]


def open_client(workspace: Path | None) -> Any:
    """The ``MLClient`` of ``workspace`` (imported late: ``cirrus --help`` stays fast)."""
    from cirrusml.client import MLClient

    return MLClient(workspace=workspace)
