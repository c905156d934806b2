"""What the engine needs from its caller: where to log, record and write."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrusml.tracking import Tracker, Workspace


class JobCanceled(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """Raised inside the runner when the job is canceled (SIGTERM from ``jobs.cancel``)."""


@dataclass
class JobContext:
    """The job being run: its name, folder, MLflow runs and log.

    The runner creates it (and the parent MLflow run) before calling :func:`run_job`.
    """

    workspace: Workspace
    name: str
    tracker: Tracker
    experiment_id: str
    parent_run_id: str
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("cirrusml.job"))

    @property
    def folder(self) -> Path:
        return self.workspace.job_dir(self.name)

    def event(self, kind: str, **data: Any) -> None:
        """Record a progress event for live displays (``events.jsonl``)."""
        self.workspace.append_event(self.name, {"event": kind, **data})

    def phase(self, name: str, **data: Any) -> None:
        self.log.info("%s", name)
        self.event("phase", phase=name, **data)

    def update_record(self, **changes: Any) -> None:
        self.workspace.update_record(self.name, **changes)
