"""The runner of a pipeline job: ``python -m cirrusml.pipeline._runner --workspace W --job N``.

The client records a pipeline job (``type: pipeline``, its plan in ``plan.json``) and starts this
module as a detached child, as it starts an AutoML job's runner. It reads the plan through the
job store, moves the pipeline to Running, hands the plan to
:class:`~cirrusml.pipeline._executor.PipelineExecutor` and records how it ended: Completed,
Failed (the error names the failed node) or Canceled. It takes no queue slot of the workspace:
its AutoML nodes are ordinary AutoML jobs, which wait for one. SIGTERM (``jobs.cancel``) sets
the executor's cancel flag, which stops the running nodes and records them Canceled.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from cirrusml.exceptions import CirrusMLError

__all__ = ["main"]

#: Set by SIGTERM: the pipeline is being canceled.
_CANCEL = threading.Event()


def _on_sigterm(signum: int, frame: Any) -> None:
    _CANCEL.set()


def _setup_log(path: Path) -> logging.Logger:
    from cirrusml.utils import job_log

    return job_log(path, "cirrusml.pipeline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cirrusml.pipeline._runner",
                                     description="Run one pipeline job of a workspace.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    from cirrusml.tracking import JobStatus, JobStore, Workspace, now_iso

    store = JobStore(Workspace(args.workspace))
    name = args.job
    log = _setup_log(store.layout(name).log)
    if store.transition(name, JobStatus.RUNNING, only_from=(JobStatus.NOT_STARTED,),
                        started=now_iso()) is None:
        log.warning("Not started: the job is %s.", store.read(name).status)
        return 1
    log.info("Running pipeline job %s (runner pid %d)", name, os.getpid())
    try:
        from cirrusml.pipeline._executor import PipelineExecutor

        for notice in store.read(name).notices:
            log.warning("%s", notice)
        executor = PipelineExecutor(store, name, store.plan(name), log, cancel=_CANCEL)
        status, error = executor.run()
    except CirrusMLError as err:
        log.error("Failed: %s", err)
        store.transition(name, JobStatus.FAILED, error=str(err))
        return 1
    except BaseException as err:  # noqa: BLE001 - the job fails with the reason on record
        log.error("Failed with an internal error: %s: %s\n%s", type(err).__name__, err,
                  traceback.format_exc())
        store.transition(name, JobStatus.FAILED,
                         error=f"internal error: {type(err).__name__}: {err} (see the job log)")
        return 1
    if status is JobStatus.FAILED:
        log.error("Failed: %s", error)
    elif status is JobStatus.COMPLETED:
        log.info("Completed: %d node(s).", len(executor.results))
    store.transition(name, status, error=error)
    return 0 if status is JobStatus.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main())
