"""The runner of a batch scoring job: ``python -m cirrusml.serving.batch --workspace W --job N``.

The client records a batch job (``type: batch``, its settings in ``batch.json``) and starts this
module as a detached child, as it starts an AutoML job's runner. It reads the settings through
the job store, runs :func:`~cirrusml.serving.score_file` and writes everything else through one
:class:`~cirrusml.tracking.JobRecorder`: the status (Running, then Completed, Failed or Canceled),
the log, ``batch_progress`` events (rows done and in all, mini-batches) and the predictions as
the job's ``score`` output (``outputs/score/<output_file_name>``). A failure is recorded with
score_file's message, which names the file, the data row and the column of a bad value. SIGTERM
(``jobs.cancel``) cancels the job; the partial output is removed. Batch jobs do not wait for the
workspace's AutoML queue slots.

A deployment with a scoring script runs it instead (:func:`~cirrusml.serving._batch.
score_with_script`): the job gets a working copy of the deployment's code under
``jobs/<name>/app/`` beside ``app/azureml-models/<name>/<version>`` (``AZUREML_MODEL_DIR``).
Mini-batches that fail on every attempt are counted against the deployment's
``error_threshold``; the tolerated ones are listed in the log and the job's summary.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from cirrusml.exceptions import CirrusMLError, JobCanceled

__all__ = ["main"]

#: At most one progress event per this many seconds (and one at the end).
_EVENT_SECONDS = 0.2
#: At most one progress line in the log per this many seconds.
_LOG_SECONDS = 5.0


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one cancellation is enough
    raise JobCanceled()


def _setup_log(path: Path, level: str) -> logging.Logger:
    from cirrusml.utils import job_log

    number = {"debug": logging.DEBUG, "warning": logging.WARNING}.get(level, logging.INFO)
    # The job's logger and score_file's.
    return job_log(path, "cirrusml.job", "cirrusml.serving.batch", level=number)


class _Progress:
    """score_file's progress callback: events for live displays, a line in the log now and
    then."""

    def __init__(self, recorder: Any, log: logging.Logger) -> None:
        self.recorder = recorder
        self.log = log
        self.mini_batches = 0
        self.last_event = self.last_log = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        self.mini_batches += 1
        now = time.monotonic()
        if now - self.last_event >= _EVENT_SECONDS:
            self.event(done, total)
        if now - self.last_log >= _LOG_SECONDS:
            self.last_log = now
            self.log.info("Scored %d%s rows in %d mini-batch(es).", done,
                          f" of {total}" if total else "", self.mini_batches)

    def event(self, done: int, total: int | None) -> None:
        self.last_event = time.monotonic()
        self.recorder.event("batch_progress", rows=done, total=total,
                            mini_batches=self.mini_batches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cirrusml.serving.batch",
                                     description="Run one batch scoring job of a workspace.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    from cirrusml.tracking import JobRecorder, JobStatus, JobStore, Workspace

    workspace = Workspace(args.workspace)
    store = JobStore(workspace)
    try:
        settings = store.batch_settings(args.job)
        log = _setup_log(store.layout(args.job).log, settings.logging_level)
        recorder = JobRecorder(workspace, args.job, log=log)
        return _run(recorder, settings, log)
    except JobCanceled:  # canceled before the scoring began
        store.transition(args.job, JobStatus.CANCELED)
        return 1
    except CirrusMLError as err:  # unreadable settings
        store.transition(args.job, JobStatus.FAILED, error=str(err))
        return 1


def _run(recorder: Any, settings: Any, log: logging.Logger) -> int:
    from cirrusml.serving._batch import BatchRetrySettings, score_file, score_with_script
    from cirrusml.tracking import JobStatus, now_iso

    if recorder.transition(JobStatus.RUNNING, only_from=(JobStatus.NOT_STARTED,),
                           started=now_iso()) is None:
        log.warning("Not started: the job is %s.", recorder.read_record().status)
        return 1
    progress = _Progress(recorder, log)
    try:
        os.environ.update(settings.environment_variables)
        where = (f" (endpoint {settings.endpoint_name}, deployment {settings.deployment_name})"
                 if settings.endpoint_name else "")
        log.info("Batch scoring job %s%s, runner pid %d", recorder.name, where, os.getpid())
        log.info("Model %s (%s)", settings.model, settings.model_path)
        recorder.event("phase", phase="scoring")
        retry = BatchRetrySettings(settings.max_retries, settings.timeout)
        if settings.code_path:
            code, model_folder = _working_copy(recorder, settings, log)
            log.info("Input %s (%s); mini-batches of %d file(s), %d at a time; output_action "
                     "%s; error_threshold %s", settings.input_path, settings.input_type,
                     settings.mini_batch_size, settings.max_concurrency_per_instance,
                     settings.output_action, settings.error_threshold)
            summary = score_with_script(
                code, str(settings.scoring_script), settings.input_path,
                recorder.score_output(settings.output_file_name), model_folder=model_folder,
                mini_batch_size=settings.mini_batch_size,
                max_concurrency_per_instance=settings.max_concurrency_per_instance,
                retry_settings=retry, error_threshold=settings.error_threshold,
                output_action=settings.output_action, progress=progress)
        else:
            log.info("Input %s (%s); mini-batches of %d rows, %d at a time; method %s",
                     settings.input_path, settings.input_type, settings.mini_batch_size,
                     settings.max_concurrency_per_instance, settings.method)
            summary = score_file(
                settings.model_path, settings.input_path,
                recorder.score_output(settings.output_file_name), method=settings.method,
                mini_batch_size=settings.mini_batch_size,
                max_concurrency_per_instance=settings.max_concurrency_per_instance,
                retry_settings=retry, progress=progress,
                error_threshold=settings.error_threshold)
        progress.mini_batches = summary.mini_batches
        progress.event(summary.rows, summary.rows)
        recorder.save_batch_summary(rows=summary.rows, mini_batches=summary.mini_batches,
                                    retries=summary.retries, output=str(summary.output),
                                    output_file_name=settings.output_file_name,
                                    output_action=settings.output_action,
                                    failed_items=summary.failed_items,
                                    failures=list(summary.failures))
        retried = f", {summary.retries} retried" if summary.retries else ""
        log.info("Completed: scored %d rows in %d mini-batch(es)%s; output 'score': %s",
                 summary.rows, summary.mini_batches, retried, summary.output)
        if summary.failures:
            log.warning("%d item(s) in %d mini-batch(es) failed and were tolerated "
                        "(error_threshold %s):\n%s", summary.failed_items,
                        len(summary.failures), settings.error_threshold,
                        "\n".join(f"  {m}" for m in summary.failures))
        recorder.transition(JobStatus.COMPLETED)
        return 0
    except JobCanceled:
        log.warning("Canceled.")
        recorder.transition(JobStatus.CANCELED)
        return 1
    except CirrusMLError as err:
        log.error("Failed: %s", err)
        recorder.transition(JobStatus.FAILED, error=str(err))
        return 1
    except BaseException as err:  # noqa: BLE001 - the job fails with the reason on record
        log.error("Failed with an internal error: %s: %s\n%s", type(err).__name__, err,
                  traceback.format_exc())
        recorder.transition(JobStatus.FAILED,
                            error=f"internal error: {type(err).__name__}: {err} (see the job log)")
        return 1


def _working_copy(recorder: Any, settings: Any, log: logging.Logger) -> tuple[str, Path]:
    """The job's copy of the deployment's code (``app/<code>``) and its ``AZUREML_MODEL_DIR``
    (``app/azureml-models/<name>/<version>``, the model's folder in it)."""
    from cirrusml.serving._script import model_dir
    from cirrusml.spec._assets import parse_asset_reference

    source = Path(settings.code_path)
    app = Path(recorder.layout.root) / "app"
    code = app / source.name
    shutil.rmtree(code, ignore_errors=True)
    shutil.copytree(source, code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    name = version = None
    if str(settings.model).startswith("azureml:") and "://" not in str(settings.model):
        try:
            name, version, _ = parse_asset_reference(str(settings.model))
        except ValueError:
            name = version = None
    folder = model_dir(app, settings.model_path, name, version)
    log.info("Scoring script %s in %s; AZUREML_MODEL_DIR=%s", settings.scoring_script, code,
             folder)
    if settings.environment:
        log.warning("Environment %s is recorded, not built: the scoring script runs in this "
                    "Python environment (%s).", settings.environment, sys.executable)
    return str(code), folder


if __name__ == "__main__":
    sys.exit(main())
