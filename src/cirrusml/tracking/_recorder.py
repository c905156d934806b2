"""The job recorder: the one writer of a running job, to MLflow and to the job folder.

The runner makes one :class:`JobRecorder` per job and hands it to the engine; nothing else in the
runner's process writes a run, an artifact or a file of the job folder. Each method is one thing
the job records, with the paths from :class:`JobLayout` and the artifact paths from
:class:`RunArtifacts`, so the file names live here and in the layout only.

Who calls what:

* the runner: :meth:`~JobRecorder.open_job` (the parent run, in a thread while the data loads),
  :meth:`~JobRecorder.transition`, :meth:`~JobRecorder.close_job`;
* the search: :meth:`~JobRecorder.start_trial`, :meth:`~JobRecorder.trial_model_path`,
  :meth:`~JobRecorder.finish_trial`, :meth:`~JobRecorder.save_trial`,
  :meth:`~JobRecorder.save_trial_predictions`, :meth:`~JobRecorder.discard_trial_model`;
* the final steps: :meth:`~JobRecorder.record_ensemble`, :meth:`~JobRecorder.save_best_model`,
  :meth:`~JobRecorder.record_best`, :meth:`~JobRecorder.save_explanation`,
  :meth:`~JobRecorder.save_onnx`, :meth:`~JobRecorder.save_test_metrics`,
  :meth:`~JobRecorder.save_featurization_summary`;
* all of them: :meth:`~JobRecorder.event`, :meth:`~JobRecorder.phase`,
  :meth:`~JobRecorder.update_record`, :meth:`~JobRecorder.log_job`.

Trials are recorded as they end (``trials/<index>.json`` and a finished child run), which is what
lets a job whose runner died be resumed from its recorded trials.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from cirrusml.tracking._layout import JobLayout, RunArtifacts
from cirrusml.tracking._mlflow import BEST_CHILD_TAG, JOB_NAME_TAG, Tracker
from cirrusml.tracking._record import JobRecord, JobStatus, TrialStatus
from cirrusml.tracking._workspace import Workspace

__all__ = ["JobRecorder"]

#: The longest error text kept in a trial's tags (the full text goes to its error artifact).
_MAX_ERROR_TAG = 5000


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


class JobRecorder:
    """Writes one job's runs, artifacts, record and progress."""

    def __init__(self, workspace: Workspace, name: str, tracker: Tracker | None = None,
                 log: logging.Logger | None = None) -> None:
        self.workspace = workspace
        self.name = name
        self.layout: JobLayout = workspace.layout(name)
        self.tracker = tracker if tracker is not None else Tracker(
            self.read_record().tracking_uri or workspace.tracking_uri, workspace.artifacts_dir)
        self.log = log or logging.getLogger("cirrusml.job")
        #: The job's (experiment id, parent run id), or a future of them while the store opens.
        self.runs: Future[tuple[str, str]] | tuple[str, str] | None = None

    # --------------------------------------------------------------------------- record

    def read_record(self) -> JobRecord:
        """The job's record as it is now."""
        return JobRecord.from_dict(self.workspace.read_record(self.name))

    def update_record(self, **changes: Any) -> None:
        """Set fields of ``record.json`` (under its lock)."""
        self.workspace.update_record(self.name, **changes)

    def transition(self, status: JobStatus, *, only_from: tuple[JobStatus, ...] | None = None,
                   **changes: Any) -> JobRecord | None:
        """Move the job to ``status`` if it is in ``only_from`` (any active status by default),
        setting ``changes``; the new record, or None when the job was elsewhere."""
        updated = self.workspace.transition(self.name, status, only_from=only_from, **changes)
        return None if updated is None else JobRecord.from_dict(updated)

    def event(self, kind: str, **data: Any) -> None:
        """Append a progress event (``events.jsonl``) for live displays."""
        self.workspace.append_event(self.name, {"event": kind, **data})

    def phase(self, name: str, **data: Any) -> None:
        """Log a phase of the job and record it as a ``phase`` event (and, for
        :meth:`time_spent`, when it began)."""
        self.log.info("%s", name)
        self.__dict__.setdefault("_phases", []).append((name, time.monotonic()))
        self.event("phase", phase=name, **data)

    def time_spent(self, started: float, now: float | None = None) -> list[tuple[str, float]]:
        """Seconds of each phase so far, in order, from ``started`` (``time.monotonic()`` when
        the job's clock started): the start-up before the first phase, then each phase until the
        next began (the last until ``now``)."""
        now = time.monotonic() if now is None else now
        phases: list[tuple[str, float]] = self.__dict__.get("_phases", [])
        if not phases:
            return [("start-up", now - started)]
        spans = [("start-up", phases[0][1] - started)]
        for (name, begun), (_next, ended) in zip(phases, [*phases[1:], ("", now)], strict=True):
            spans.append((name, ended - begun))
        return spans

    # ----------------------------------------------------------------------- parent run

    def open_job(self, experiment_name: str, tags: dict[str, Any], *,
                 resume: bool = False) -> Future[tuple[str, str]]:
        """Open the job's parent run in a thread (importing MLflow and creating its tables takes
        seconds) and record its ids; a resumed job reopens the parent run it recorded.
        Returns the future of (experiment id, parent run id), kept in :attr:`runs`."""
        record = self.read_record()

        def open_runs() -> tuple[str, str]:
            if resume and record.mlflow_run_id and record.mlflow_experiment_id:
                return record.mlflow_experiment_id, record.mlflow_run_id
            experiment_id = self.tracker.experiment_id(experiment_name)
            run_id = self.tracker.start_run(experiment_id, self.name, tags={
                JOB_NAME_TAG: self.name, "cirrus.kind": "job", **tags})
            self.update_record(mlflow_run_id=run_id, mlflow_experiment_id=experiment_id)
            return experiment_id, run_id

        opener = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow-open")
        future = opener.submit(open_runs)
        opener.shutdown(wait=False)
        self.runs = future
        return future

    def _ids(self) -> tuple[str, str]:
        if isinstance(self.runs, Future):
            self.runs = self.runs.result()
        if self.runs is None:
            raise RuntimeError("the job's parent run is not open (call open_job first)")
        return self.runs

    @property
    def experiment_id(self) -> str:
        return self._ids()[0]

    @property
    def parent_run_id(self) -> str:
        return self._ids()[1]

    def _opened_run(self) -> str | None:
        """The parent run id if the store opened (waiting for it a while), else None."""
        try:
            if isinstance(self.runs, Future):
                self.runs = self.runs.result(timeout=60)
            return None if self.runs is None else self.runs[1]
        except BaseException:  # noqa: BLE001 - no run to close
            return None

    def close_job(self, status: JobStatus, error: str | None = None) -> JobRecord | None:
        """End the parent run with ``status`` and move the record there (with ``error``).

        A completed job's run must close (an error propagates); a failed or canceled job's run
        is closed when it can be, since the store may be why the job is failing.
        """
        if status is JobStatus.COMPLETED:
            self.tracker.end_run(self.parent_run_id, status.mlflow_status)
        else:
            run_id = self._opened_run()
            if run_id:
                with contextlib.suppress(Exception):
                    self.tracker.end_run(run_id, status.mlflow_status)
        if error is None:
            return self.transition(status)
        return self.transition(status, error=error)

    def log_job(self, *, params: dict[str, Any] | None = None,
                metrics: dict[str, float] | None = None,
                tags: dict[str, Any] | None = None) -> None:
        """Log params, metrics and tags on the parent run."""
        self.tracker.log(self.parent_run_id, params=params, metrics=metrics, tags=tags)

    def save_validation_plan(self, plan: Any) -> None:
        """The validation plan (``plan.describe()``) as a parent-run artifact."""
        self.tracker.log_json(self.parent_run_id, plan, RunArtifacts.VALIDATION_PLAN)

    def save_column_profile(self, profile: dict[str, Any]) -> None:
        """The column profile (column name → profile dict) as a parent-run artifact."""
        self.tracker.log_json(self.parent_run_id, profile, RunArtifacts.COLUMN_PROFILE)

    # ------------------------------------------------------------------------ batch jobs

    def score_output(self, file_name: str) -> Path:
        """Where a batch scoring job writes its predictions: the ``score`` output (its folder
        made)."""
        self.layout.score_dir.mkdir(parents=True, exist_ok=True)
        return self.layout.score_dir / file_name

    def save_batch_summary(self, **summary: Any) -> None:
        """A batch scoring job's result in its record (``rows``, ``mini_batches``, ...)."""
        self.update_record(batch_summary=summary)

    def worker_data_path(self) -> Path:
        """Where the prepared data for the trial workers goes (its folder made)."""
        self.layout.work_dir.mkdir(parents=True, exist_ok=True)
        return self.layout.worker_data

    # --------------------------------------------------------------------------- trials

    def start_trial(self, index: int, learner: str, params: dict[str, Any], *,
                    source: str | None = None, class_weight: str | None = None) -> str:
        """Open trial ``index``'s child run with its tags and parameters; returns its run id."""
        tags: dict[str, Any] = {"iteration": index, "run_algorithm": learner,
                                "cirrus.kind": "trial", "source": source}
        logged = dict(params)
        if class_weight:
            tags["class_weight"] = class_weight
            logged["class_weight"] = class_weight
        run_id = self.tracker.start_run(self.experiment_id, f"{self.name}_{index}",
                                        parent_run_id=self.parent_run_id, tags=tags)
        self.tracker.log(run_id, params=logged)
        self.layout.trials_dir.mkdir(parents=True, exist_ok=True)
        return run_id

    def trial_model_path(self, index: int) -> Path:
        """Where trial ``index``'s worker stores its fitted model (the folder made)."""
        self.layout.trials_dir.mkdir(parents=True, exist_ok=True)
        return self.layout.trial_model(index)

    def finish_trial(self, run_id: str, status: TrialStatus, *,
                     metrics: dict[str, float] | None = None, score: float | None = None,
                     featurization: list[dict[str, Any]] | None = None,
                     error: str | None = None, traceback: str | None = None) -> None:
        """Close a trial's child run. A trial that ran gives ``metrics`` (logged with its
        ``score`` and status tags, and its featurization summary as an artifact); one that did
        not gives its ``error`` (a tag) and ``traceback`` (an artifact)."""
        # A trial that ran reports its score; one that did not (crash, timeout) its error.
        tags: dict[str, Any] = ({"score": score, "status": str(status)} if metrics is not None
                                else {"status": str(status),
                                      "error": (error or "")[:_MAX_ERROR_TAG]})
        self.tracker.log(run_id, metrics=metrics, tags=tags)
        if featurization:
            self.tracker.log_json(run_id, featurization, RunArtifacts.FEATURIZATION_SUMMARY)
        if traceback:
            self.tracker.log_json(run_id, {"error": error, "traceback": traceback},
                                  RunArtifacts.TRIAL_ERROR)
        self.tracker.end_run(run_id, status.mlflow_status)

    def save_trial(self, index: int, info: dict[str, Any]) -> None:
        """Write ``trials/<index>.json`` (learner, parameters, status, score, model file)."""
        _write_json(self.layout.trial(index), info)

    def save_trial_predictions(self, index: int, predictions: Any, rows: Any) -> None:
        """Keep trial ``index``'s validation predictions and their rows beside its model
        (``trials/<index>.oof.npz``): what a resumed job needs to ensemble the trial without
        rerunning it. Written once; a later call leaves the file as it is."""
        path = self.layout.trial_predictions(index)
        if path.exists():
            return
        import numpy as np

        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, predictions=predictions, rows=rows)

    def discard_trial_model(self, index: int) -> None:
        """Delete trial ``index``'s stored model and predictions, which no ensemble will use
        (bounds the disk a job takes)."""
        for path in (self.layout.trial_model(index), self.layout.trial_predictions(index)):
            with contextlib.suppress(OSError):
                os.remove(path)

    def record_ensemble(self, index: int, kind: str, *, params: dict[str, Any],
                        metrics: dict[str, float], score: float | None,
                        info: dict[str, Any]) -> str:
        """Record an ensemble as a finished child run and as ``trials/<index>.json``; returns
        its run id (``info`` gets it as ``run_id``)."""
        run_id = self.tracker.start_run(
            self.experiment_id, f"{self.name}_{index}", parent_run_id=self.parent_run_id,
            tags={"iteration": index, "run_algorithm": kind, "cirrus.kind": "ensemble",
                  "score": score, "status": str(TrialStatus.COMPLETED)})
        self.tracker.log(run_id, params=params, metrics=metrics)
        self.tracker.end_run(run_id, TrialStatus.COMPLETED.mlflow_status)
        self.save_trial(index, {"index": index, "run_id": run_id, **info})
        return run_id

    # ---------------------------------------------------------------------- final steps

    def save_guardrails(self, payload: list[dict[str, Any]]) -> None:
        """``guardrails.json`` and the parent run's guardrails artifact."""
        _write_json(self.layout.guardrails, payload)
        self.tracker.log_json(self.parent_run_id, payload, RunArtifacts.GUARDRAILS)

    def save_featurization_summary(self, summary: list[dict[str, Any]]) -> None:
        """``featurization_summary.json`` (the best model's) and its parent-run artifact."""
        _write_json(self.layout.featurization_summary, summary)
        self.tracker.log_json(self.parent_run_id, summary, RunArtifacts.FEATURIZATION_SUMMARY)

    def best_model_path(self) -> Path:
        """Where the engine saves the best MLflow model (``outputs/best_model``)."""
        self.layout.outputs_dir.mkdir(parents=True, exist_ok=True)
        return self.layout.best_model

    def save_best_model(self, run_id: str) -> None:
        """Store the saved best model (``outputs/best_model``) as the best child run's
        ``outputs/mlflow-model`` artifacts."""
        self.tracker.log_artifacts(run_id, self.layout.best_model, RunArtifacts.MLFLOW_MODEL)

    def record_best(self, run_id: str, index: int, algorithm: str, metric: str,
                    score: float | None) -> None:
        """Name the best child on the parent run (Azure's tag) with its score."""
        self.tracker.log(self.parent_run_id, metrics={metric: score} if score is not None
                         else None, tags={BEST_CHILD_TAG: run_id, "best_algorithm": algorithm,
                                          "best_iteration": index})

    def save_explanation(self, payload: dict[str, Any], background: pd.DataFrame,
                         best_run_id: str) -> None:
        """The global importance (folder, best run, parent run) and the background rows."""
        _write_json(self.layout.global_importance, payload)
        background.to_pickle(self.layout.explanation_background)
        self.tracker.log_json(best_run_id, payload, RunArtifacts.GLOBAL_IMPORTANCE)
        self.tracker.log_json(self.parent_run_id, payload, RunArtifacts.GLOBAL_IMPORTANCE)

    def onnx_path(self) -> Path:
        """Where the engine writes the ONNX export (its folder made)."""
        self.layout.onnx_dir.mkdir(parents=True, exist_ok=True)
        return self.layout.onnx_model

    def save_onnx(self, best_run_id: str, path: Path, parity: dict[str, Any]) -> None:
        """Store the ONNX export with the best run, its parity on the parent run and in the
        record."""
        self.tracker.log_artifacts(best_run_id, self.layout.onnx_dir, RunArtifacts.ONNX_FOLDER)
        self.tracker.log(self.parent_run_id,
                         metrics={"onnx_max_abs_diff": parity["max_abs_diff"]})
        self.update_record(onnx_model=str(path), onnx_parity=parity)

    def save_charts(self, kind: str, charts: dict[str, Any], run_id: str) -> None:
        """The best model's chart data on its ``validation`` or ``test`` rows: the job folder's
        ``charts/<kind>.json`` and the artifact ``outputs/charts/<kind>.json`` of ``run_id``."""
        _write_json(self.layout.charts(kind), charts)
        self.tracker.log_json(run_id, charts, f"{RunArtifacts.CHARTS}/{kind}.json")

    def save_test_metrics(self, metrics: dict[str, float], *, source: str | None,
                          rows: int) -> None:
        """The best model's test metrics: ``test_*`` on the parent run, its artifact, and the
        finite ones in the record."""
        self.tracker.log(self.parent_run_id,
                         metrics={f"test_{k}": v for k, v in metrics.items()})
        self.tracker.log_json(self.parent_run_id, {"source": source, "rows": rows,
                                                   "metrics": metrics},
                              RunArtifacts.TEST_METRICS)
        self.update_record(test_metrics={k: v for k, v in metrics.items() if v == v})
