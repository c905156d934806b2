"""``InlineBackend``: tasks that drive a cluster from the runner process, one at a time.

A distributed trial (``training_mode: distributed``) does not run *on* a worker: it runs in the
runner, which holds the Dask client and the job's data persisted on the cluster, and sends the
work to every worker at once (``lightgbm.dask``). Such a task runs here on a thread of the runner.
Its time limit is kept as every backend keeps it: past its limit (or ``wait``'s
``hard_deadline``) the task is reported ``timeout`` at once and ``on_timeout`` is called to stop
what it started on the cluster (restarting the cluster's workers); the thread, which Python
cannot kill, is left to end when the cluster's work fails under it, and its result is dropped.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from cirrusml.execution._backend import TaskOutcome, TaskStatus

__all__ = ["InlineBackend"]


class _Running:
    def __init__(self, key: Any, timeout: float | None) -> None:
        self.key = key
        self.started = time.monotonic()
        self.limit = None if timeout is None else self.started + timeout
        self.done = threading.Event()
        self.outcome: TaskOutcome | None = None


class InlineBackend:
    """One task at a time, on a thread of this process (see the module doc)."""

    def __init__(self, on_timeout: Callable[[], None] | None = None) -> None:
        self.on_timeout = on_timeout
        self._task: _Running | None = None

    @property
    def n_workers(self) -> int:
        return 1

    @property
    def free_slots(self) -> int:
        return 0 if self._task is not None else 1

    @property
    def running(self) -> list[Any]:
        return [] if self._task is None else [self._task.key]

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any,
               timeout: float | None = None) -> None:
        if self._task is not None:
            raise RuntimeError("InlineBackend runs one task at a time; wait for it first")
        task = _Running(key, timeout)
        self._task = task

        def work() -> None:
            try:
                value = fn(*args)
                outcome = TaskOutcome(key, TaskStatus.OK, value=value)
            except BaseException as error:  # noqa: BLE001 - reported as the task's failure
                outcome = TaskOutcome(key, TaskStatus.FAILED, error=str(error) or repr(error),
                                      error_type=type(error).__name__,
                                      traceback=traceback.format_exc())
            outcome.seconds = time.monotonic() - task.started
            task.outcome = outcome
            task.done.set()

        threading.Thread(target=work, name=f"cirrus-inline-{key}", daemon=True).start()

    def wait(self, timeout: float | None = None, *, hard_deadline: float | None = None
             ) -> list[TaskOutcome]:
        task = self._task
        if task is None:
            if timeout:
                time.sleep(min(timeout, 0.05))
            return []
        limits = [t for t in (task.limit, hard_deadline) if t is not None]
        until = min(limits) if limits else None
        wait_for = timeout
        if until is not None:
            left = max(0.0, until - time.monotonic())
            wait_for = left if wait_for is None else min(wait_for, left)
        if task.done.wait(wait_for):
            self._task = None
            assert task.outcome is not None
            return [task.outcome]
        if until is not None and time.monotonic() >= until:
            return [self._stop(task, TaskStatus.TIMEOUT, "stopped at its time limit")]
        return []

    def _stop(self, task: _Running, status: str, why: str) -> TaskOutcome:
        self._task = None
        if self.on_timeout is not None:
            try:
                self.on_timeout()
            except Exception:  # noqa: BLE001 - stopping is best effort; the outcome stands
                pass
        return TaskOutcome(task.key, status, error=why,
                           seconds=time.monotonic() - task.started)

    def cancel(self, key: Any) -> TaskOutcome | None:
        task = self._task
        if task is None or task.key != key:
            return None
        return self._stop(task, TaskStatus.CANCELED, "canceled")

    def cancel_all(self) -> list[TaskOutcome]:
        task = self._task
        return [] if task is None else [self._stop(task, TaskStatus.CANCELED, "canceled")]

    def close(self) -> None:
        self.cancel_all()
