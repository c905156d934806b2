"""The search's data files: shipped in the package, or replaced by a file an environment
variable names (a benchmarking and testing aid)."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from cirrusml.exceptions import CirrusMLError


def read_shipped(filename: str, env: str, what: str) -> dict[str, Any] | None:
    """The JSON of ``$env``'s file when it is set (an error naming it when it is missing),
    else of the shipped ``filename`` (None when the package lacks it)."""
    override = os.environ.get(env)
    try:
        text = (Path(override).read_text() if override else
                resources.files("cirrusml.search").joinpath(filename).read_text())
    except (FileNotFoundError, OSError):
        if override:
            raise CirrusMLError(f"{env}={override}: no such {what} file.") from None
        return None
    return dict(json.loads(text))
