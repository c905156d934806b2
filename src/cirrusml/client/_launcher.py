"""Starting a job's runner process, and reaping the runners this process started.

A runner is ``python -m cirrusml.client._runner WORKSPACE NAME [--resume]`` for an AutoML job and
``python -m cirrusml.serving.batch --workspace WORKSPACE --job NAME`` for a batch scoring job and
``python -m cirrusml.pipeline._runner --workspace WORKSPACE --job NAME`` for a pipeline job
(started by module name: the client imports neither serving nor pipeline), a child in a session
of its own (so that it outlives the caller and a cancel can stop its whole process group) with
no double fork (so that it stays in the caller's process tree). Its output goes to the job log.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from cirrusml.client._runner import RESUME_FLAG
from cirrusml.tracking import JobStore, process_start_time

__all__ = ["BATCH_RUNNER", "PIPELINE_RUNNER", "reap", "settle", "start_runner"]

#: The module that runs a batch scoring job (``python -m``).
BATCH_RUNNER = "cirrusml.serving.batch"
#: The module that runs a pipeline job (``python -m``).
PIPELINE_RUNNER = "cirrusml.pipeline._runner"

#: Runner processes started by this process, kept so that they are reaped when they end.
_RUNNERS: list[subprocess.Popen[bytes]] = []


def reap() -> None:
    """Forget (and reap) the runners that have ended."""
    for proc in list(_RUNNERS):
        if proc.poll() is not None:
            _RUNNERS.remove(proc)


def settle(pid: int | None, timeout: float = 15.0) -> None:
    """Wait for a finished job's runner to exit, if this process started it.

    Reaping it here puts its CPU time (and its workers') in this process's accounts before the
    caller moves on, so tools that measure a process tree see the whole job.
    """
    for proc in list(_RUNNERS):
        if proc.pid == pid:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
    reap()


def start_runner(store: JobStore, name: str, *, resume: bool = False) -> int:
    """Start job ``name``'s runner (the one its record's ``type`` calls for) and record its
    pid; returns the pid. A batch job has nothing to resume from: it starts over."""
    reap()
    layout = store.layout(name)
    record = store.read(name)
    if record.is_batch or record.is_pipeline:
        module = BATCH_RUNNER if record.is_batch else PIPELINE_RUNNER
        command = [sys.executable, "-m", module, "--workspace", str(store.workspace.root),
                   "--job", name]
    else:
        command = [sys.executable, "-m", "cirrusml.client._runner", str(store.workspace.root),
                   name]
        if resume:
            command.append(RESUME_FLAG)
    log = open(layout.log, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        log.close()
    _RUNNERS.append(proc)
    store.update(name, pid=proc.pid, pid_started=process_start_time(proc.pid))
    return proc.pid
