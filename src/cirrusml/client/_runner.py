"""The job runner: the detached process that runs one job and is the only writer to MLflow.

Started by :func:`cirrusml.client._launcher.start_runner` as ``python -m cirrusml.client._runner
WORKSPACE NAME [--resume]`` in a session of its own (so it outlives the caller) without a double
fork (so it stays in the caller's process tree). It waits for a queue slot, runs the engine and
records the final status, all through one :class:`~cirrusml.tracking.JobRecorder`. SIGTERM
(``jobs.cancel``) cancels the job; any other death is noticed by readers, who mark it Failed
(and resumable). ``--resume`` (``jobs.resume``) reopens the job's parent run and tells the
engine to continue from the recorded trials (``JobContext.resume``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from datetime import UTC
from pathlib import Path
from typing import Any

# Only light modules at import time: the SIGTERM handler must be in place before the engine's
# heavy imports, so that a job canceled while its runner starts ends Canceled.
from cirrusml.exceptions import CirrusMLError, JobCanceled

_QUEUE_POLL_SECONDS = 0.5
#: The argument that starts a resumed job's runner.
RESUME_FLAG = "--resume"


def _log_time_spent(log: Any, recorder: Any, started: float, job: Any) -> None:
    """One line of where the job's time went, against its timeout_minutes."""
    from cirrusml.spec import resolved_limits  # the engine has imported it by now

    spans = recorder.time_spent(started)
    total = sum(seconds for _name, seconds in spans)
    budget = resolved_limits(job.limits).timeout_minutes * 60
    parts = "; ".join(f"{name[:1].lower() + name[1:]} {seconds:.1f} s" for name, seconds in spans)
    log.info("Time: %.1f s of the %.0f s budget (timeout_minutes): %s.", total, budget, parts)


def _setup_log(path: Path) -> logging.Logger:
    from cirrusml.utils import job_log

    return job_log(path)


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one cancellation is enough
    raise JobCanceled()


def _my_turn(store: Any, name: str, created: str) -> bool:
    """FIFO: no older job is still waiting in the queue."""
    from cirrusml.tracking import JobStatus

    for record in store.records():
        if record.name == name or record.status is not JobStatus.QUEUED:
            continue
        if (record.created or "", record.name) < (created, name) and store.runner_alive(record):
            return False
    return True


def _wait_for_slot(store: Any, name: str, created: str, log: logging.Logger) -> int:
    ws = store.workspace
    slots = int(ws.settings().get("max_concurrent_jobs", 1))
    announced = False
    while True:
        if _my_turn(store, name, created):
            fd = ws.try_take_slot(slots)
            if fd is not None:
                return int(fd)
        if not announced:
            log.info("Queued: %d job(s) may run at a time in this workspace; waiting for a slot.",
                     slots)
            announced = True
        time.sleep(_QUEUE_POLL_SECONDS)


def main(workspace: str, name: str, resume: bool = False) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    # MLflow narrates its own housekeeping (database migrations) at INFO on stderr.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    try:
        return _run(workspace, name, resume)
    except JobCanceled:  # canceled before the job could start its work
        from cirrusml.tracking import JobStatus, JobStore, Workspace

        JobStore(Workspace(workspace)).transition(name, JobStatus.CANCELED)
        return 1


def _run(workspace: str, name: str, resume: bool) -> int:
    from cirrusml.tracking import JobStatus, JobStore, Workspace, now_iso

    store = JobStore(Workspace(workspace))
    record = store.read(name)
    log = _setup_log(store.layout(name).log)
    store.transition(name, JobStatus.QUEUED, only_from=(JobStatus.NOT_STARTED,))
    queued_at = time.monotonic()
    slot_fd = _wait_for_slot(store, name, record.created or "", log)
    # The job's clock starts at submission, since starting this process is part of the job; a
    # job that waited in the queue starts its clock when it leaves the queue instead. A resumed
    # job keeps the time it first started on record.
    started = time.monotonic()
    if started - queued_at < 1.0 and not resume:
        started -= _seconds_since(record.created)
    try:
        store.transition(name, JobStatus.RUNNING, only_from=(JobStatus.QUEUED,),
                         started=record.started if resume and record.started else now_iso())
        if resume:
            log.info("Resuming job %s (runner pid %d, resume %d)", name, os.getpid(),
                     record.resumed)
        else:
            log.info("Running job %s (runner pid %d)", name, os.getpid())
        return _execute(store, name, log, started, resume)
    finally:
        os.close(slot_fd)


def _execute(store: Any, name: str, log: logging.Logger, started: float, resume: bool) -> int:
    from cirrusml.engine import JobContext, run_job
    from cirrusml.spec import load_automl_job
    from cirrusml.tracking import JobRecorder, JobStatus

    recorder = JobRecorder(store.workspace, name, log=log)
    record = recorder.read_record()
    try:
        for notice in record.notices:
            log.warning("%s", notice)
        job = load_automl_job(recorder.layout.job_file)
        if resume:
            recorder.event("resumed", count=record.resumed)
        # Opening the store (importing MLflow, creating its tables) takes seconds; it runs
        # while the engine loads the data.
        recorder.open_job(record.experiment_name or "Default", {
            "task": job.task, **{f"user.{k}": v for k, v in (job.tags or {}).items()}},
            resume=resume)
        ctx = JobContext(recorder, name, log, started=started, resume=resume)
        result = run_job(job, ctx)
        _log_time_spent(log, recorder, started, job)
        recorder.close_job(JobStatus.COMPLETED)
        log.info("Completed: %d trial(s); best %s = %s.", result.trials, result.metric,
                 "n/a" if result.best_score is None else f"{result.best_score:.4f}")
        return 0
    except JobCanceled:
        log.warning("Canceled.")
        recorder.close_job(JobStatus.CANCELED)
        return 1
    except CirrusMLError as err:
        log.error("Failed: %s", err)
        recorder.close_job(JobStatus.FAILED, error=str(err))
        return 1
    except BaseException as err:  # noqa: BLE001 - the job fails with the reason on record
        log.error("Failed with an internal error: %s: %s\n%s", type(err).__name__, err,
                  traceback.format_exc())
        recorder.close_job(JobStatus.FAILED,
                           error=f"internal error: {type(err).__name__}: {err} (see the job log)")
        return 1


def _seconds_since(iso: str | None) -> float:
    from datetime import datetime

    try:
        elapsed = (datetime.now(UTC) - datetime.fromisoformat(str(iso))).total_seconds()
    except ValueError:
        return 0.0
    return min(max(0.0, elapsed), 30.0)


if __name__ == "__main__":
    args = sys.argv[1:]
    resume_flag = RESUME_FLAG in args
    args = [a for a in args if a != RESUME_FLAG]
    if len(args) != 2:
        print("usage: python -m cirrusml.client._runner WORKSPACE JOB_NAME [--resume]",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(main(args[0], args[1], resume=resume_flag))
