"""The job runner: the detached process that runs one job and is the only writer to MLflow.

Started by ``jobs.create_or_update`` as ``python -m cirrusml.client._runner WORKSPACE NAME`` in a
session of its own (so it outlives the caller) without a double fork (so it stays in the caller's
process tree). It waits for a queue slot, runs the engine and records the final status. SIGTERM
(``jobs.cancel``) cancels the job; any other death is noticed by readers, who mark it Failed.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# Only light modules at import time: the SIGTERM handler must be in place before the engine's
# heavy imports, so that a job canceled while its runner starts ends Canceled.
from cirrusml.exceptions import CirrusMLError, JobCanceled

_QUEUE_POLL_SECONDS = 0.5


def _setup_log(path: Path) -> logging.Logger:
    logger = logging.getLogger("cirrusml.job")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                           datefmt="%H:%M:%S"))
    logger.handlers[:] = [handler]
    # MLflow narrates its own housekeeping (database migrations, pickle advice) at INFO and
    # WARNING; the job log keeps to the job.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    return logger


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one cancellation is enough
    raise JobCanceled()


def _my_turn(ws: Any, name: str, created: str) -> bool:
    """FIFO: no older job is still waiting in the queue."""
    from cirrusml.tracking import process_alive

    for record in ws.records():
        if record.get("name") == name or record.get("status") != "Queued":
            continue
        if (record.get("created", ""), record.get("name", "")) < (created, name) and process_alive(
            record.get("pid"), record.get("pid_started")
        ):
            return False
    return True


def _wait_for_slot(ws: Any, name: str, log: logging.Logger) -> int:
    record = ws.read_record(name)
    slots = int(ws.settings().get("max_concurrent_jobs", 1))
    announced = False
    while True:
        if _my_turn(ws, name, record.get("created", "")):
            fd = ws.try_take_slot(slots)
            if fd is not None:
                return fd
        if not announced:
            log.info("Queued: %d job(s) may run at a time in this workspace; waiting for a slot.",
                     slots)
            announced = True
        time.sleep(_QUEUE_POLL_SECONDS)


def main(workspace: str, name: str) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    # MLflow narrates its own housekeeping (database migrations) at INFO on stderr.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    try:
        return _run(workspace, name)
    except JobCanceled:  # canceled before the job could start its work
        from cirrusml.tracking import Workspace

        Workspace(workspace).transition(name, "Canceled")
        return 1


def _run(workspace: str, name: str) -> int:
    from cirrusml.tracking import Workspace, now_iso

    ws = Workspace(workspace)
    record = ws.read_record(name)
    log = _setup_log(ws.job_dir(name) / "log.txt")
    ws.transition(name, "Queued", only_from=("NotStarted",))
    queued_at = time.monotonic()
    slot_fd = _wait_for_slot(ws, name, log)
    # The job's clock starts at submission, since starting this process is part of the job; a
    # job that waited in the queue starts its clock when it leaves the queue instead.
    started = time.monotonic()
    if started - queued_at < 1.0:
        started -= _seconds_since(record.get("created"))
    try:
        ws.transition(name, "Running", only_from=("Queued",), started=now_iso())
        log.info("Running job %s (runner pid %d)", name, os.getpid())
        return _execute(ws, name, record, log, started)
    finally:
        os.close(slot_fd)


def _execute(ws: Any, name: str, record: dict[str, Any], log: logging.Logger,
             started: float) -> int:
    from cirrusml.engine import JobContext, run_job
    from cirrusml.spec import load_job
    from cirrusml.tracking import JOB_NAME_TAG, Tracker

    tracker = Tracker(record.get("tracking_uri") or ws.tracking_uri, ws.artifacts_dir)
    parent_run_id = None
    runs: Any = None
    opener = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow-open")
    try:
        for notice in record.get("notices", []):
            log.warning("%s", notice)
        job = load_job(ws.job_dir(name) / "job.yml")

        def open_runs() -> tuple[str, str]:
            # Opening the store (importing MLflow, creating its tables) takes seconds; it runs
            # while the engine loads the data.
            experiment_id = tracker.experiment_id(record.get("experiment_name") or "Default")
            run_id = tracker.start_run(experiment_id, name, tags={
                JOB_NAME_TAG: name, "cirrus.kind": "job", "task": job.task,
                **{f"user.{k}": v for k, v in (job.tags or {}).items()}})
            ws.update_record(name, mlflow_run_id=run_id, mlflow_experiment_id=experiment_id)
            return experiment_id, run_id

        runs = opener.submit(open_runs)
        ctx = JobContext(ws, name, tracker, runs, log, started=started)
        result = run_job(job, ctx)
        parent_run_id = ctx.parent_run_id
        tracker.end_run(parent_run_id, "FINISHED")
        ws.transition(name, "Completed")
        log.info("Completed: %d trial(s); best %s = %s.", result.trials, result.metric,
                 "n/a" if result.best_score is None else f"{result.best_score:.4f}")
        return 0
    except JobCanceled:
        log.warning("Canceled.")
        parent_run_id = _finished_run(runs)
        if parent_run_id:
            _end_quietly(tracker, parent_run_id, "KILLED")
        ws.transition(name, "Canceled")
        return 1
    except CirrusMLError as err:
        log.error("Failed: %s", err)
        parent_run_id = _finished_run(runs)
        if parent_run_id:
            _end_quietly(tracker, parent_run_id, "FAILED")
        ws.transition(name, "Failed", error=str(err))
        return 1
    except BaseException as err:  # noqa: BLE001 - the job fails with the reason on record
        log.error("Failed with an internal error: %s: %s\n%s", type(err).__name__, err,
                  traceback.format_exc())
        parent_run_id = _finished_run(runs)
        if parent_run_id:
            _end_quietly(tracker, parent_run_id, "FAILED")
        ws.transition(name, "Failed",
                      error=f"internal error: {type(err).__name__}: {err} (see the job log)")
        return 1


def _seconds_since(iso: str | None) -> float:
    from datetime import datetime, timezone

    try:
        elapsed = (datetime.now(timezone.utc) - datetime.fromisoformat(str(iso))).total_seconds()
    except ValueError:
        return 0.0
    return min(max(0.0, elapsed), 30.0)


def _finished_run(runs: Any) -> str | None:
    """The parent run id if the store opened (waiting for it), else None."""
    try:
        return str(runs.result(timeout=60)[1])
    except BaseException:  # noqa: BLE001 - no run to close
        return None


def _end_quietly(tracker: Any, run_id: str, status: str) -> None:
    try:
        tracker.end_run(run_id, status)
    except Exception:  # noqa: BLE001 - the store may be the reason we are failing
        pass


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m cirrusml.client._runner WORKSPACE JOB_NAME", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
