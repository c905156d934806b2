"""What the engine needs from its caller: where to log, record and write."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrusml.exceptions import JobCanceled
from cirrusml.tracking import Tracker, Workspace

__all__ = ["JobCanceled", "JobContext"]


@dataclass
class JobContext:
    """The job being run: its name, folder, MLflow runs and log.

    The runner creates it before calling :func:`run_job`. ``runs`` is the job's experiment id
    and parent run id, or a future of them: the runner opens the MLflow store in a thread while
    the engine loads the data, and the first write waits for it.
    """

    workspace: Workspace
    name: str
    tracker: Tracker
    runs: Any
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("cirrusml.job"))
    #: ``time.monotonic()`` when the job's clock started (its runner got a queue slot).
    started: float | None = None
    #: The job was resumed after its runner died: continue from its recorded trials.
    resume: bool = False

    def _ids(self) -> tuple[str, str]:
        if isinstance(self.runs, Future):
            self.runs = self.runs.result()
        return self.runs  # type: ignore[no-any-return]

    @property
    def experiment_id(self) -> str:
        return self._ids()[0]

    @property
    def parent_run_id(self) -> str:
        return self._ids()[1]

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
