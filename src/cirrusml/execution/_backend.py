"""The ``Backend`` protocol: where the engine's tasks run.

A task is a picklable module-level function and its arguments; a backend knows nothing of what
a task does. Trials, the ensembles' refits and the final steps (explanations, ONNX export and
parity, test scoring) all go through this one seam, so each has a time limit and a crash or a
hang in one of them is a failed task, never a dead runner.

Who calls what
--------------
* The engine builds one backend per job (:class:`~cirrusml.execution.LocalBackend` by default,
  the Dask backend when the job names a Dask compute) and closes it at the end.
* It asks :attr:`Backend.free_slots`, :meth:`Backend.submit` s a task with a key of its choosing
  and an optional time limit, then :meth:`Backend.wait` s for any task to end. Every submitted
  task ends exactly once, as a :class:`TaskOutcome` (``ok``, ``failed``, ``timeout`` or
  ``canceled``) returned by ``wait``, ``cancel`` or ``cancel_all``.
* A task past its limit (or past ``wait``'s ``hard_deadline``) is stopped by the backend and
  reported as ``timeout``; the backend replaces the worker it ran on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Backend", "TaskOutcome", "TaskStatus"]


class TaskStatus:
    """What became of a task (plain strings, so outcomes pickle and print simply)."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"


@dataclass
class TaskOutcome:
    """What became of one task."""

    key: Any
    status: str  # TaskStatus: "ok" | "failed" | "timeout" | "canceled"
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    worker_pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == TaskStatus.OK


@runtime_checkable
class Backend(Protocol):
    """Runs tasks side by side, each with an optional time limit."""

    @property
    def n_workers(self) -> int:
        """How many tasks may run at once."""

    @property
    def free_slots(self) -> int:
        """How many more tasks may be submitted now."""

    @property
    def running(self) -> list[Any]:
        """Keys of the tasks running now."""

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any,
               timeout: float | None = None) -> None:
        """Start ``fn(*args)`` under ``key``; ``timeout`` in seconds. Needs a free slot."""

    def wait(self, timeout: float | None = None, *, hard_deadline: float | None = None
             ) -> list[TaskOutcome]:
        """Wait up to ``timeout`` seconds; the tasks that ended (possibly none). A task past its
        own limit or past ``hard_deadline`` (a ``time.monotonic()`` value) ends as ``timeout``."""

    def cancel(self, key: Any) -> TaskOutcome | None:
        """Stop the task ``key``; its outcome (``canceled``), or None if it is not running."""

    def cancel_all(self) -> list[TaskOutcome]:
        """Stop every running task; their outcomes (``canceled``)."""

    def close(self) -> None:
        """Stop every worker; the backend is not used afterwards."""
