"""The job store: the one reader of a workspace's jobs, and the client's side of their records.

Readers (the client, the CLI, later the studio and serving) get everything about a job here:
its :class:`JobRecord`, its log and events, its trials (``trials/<index>.json`` and the MLflow
child runs), guardrails, featurization summary, explanation, metrics, the inputs of generated
code and the input example of its model. Paths come from :class:`JobLayout`; the file mechanics
(locks, atomic writes) from :class:`Workspace`.

The store writes a record only for what happens outside the runner: submission
(:meth:`JobStore.create`), a runner found dead (:meth:`JobStore.refresh`), a cancel, a resume.
Everything the running job writes goes through :class:`~cirrusml.tracking.JobRecorder`.

Pipeline jobs: :meth:`JobStore.create_pipeline` and :meth:`JobStore.plan` keep a pipeline's plan,
:meth:`JobStore.children` reads its node jobs, and the workspace's reuse index
(``reuse/<fingerprint>.json``, one entry per completed deterministic command node) is read by
:meth:`JobStore.reusable` and written by :meth:`JobStore.remember_reusable`. The pipeline runner
writes its nodes' records here.
"""

from __future__ import annotations

import contextlib
import json
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cirrusml.exceptions import CirrusMLError, JobNotFoundError, WorkspaceError
from cirrusml.tracking._batch_endpoints import BatchJobSettings
from cirrusml.tracking._layout import JobLayout
from cirrusml.tracking._mlflow import RUN_NAME_TAG, Tracker
from cirrusml.tracking._record import JobRecord, JobStatus, TrialStatus
from cirrusml.tracking._workspace import Workspace, now_iso, process_alive
from cirrusml.utils import write_json_atomic

__all__ = ["CodeInputs", "JobStore", "TrialRun"]

#: A record with no runner is normal only this long after submission.
_UNSTARTED_GRACE_SECONDS = 30.0


@dataclass
class TrialRun:
    """A child run (one trial, or an ensemble) of an AutoML job."""

    name: str
    run_id: str
    iteration: int | None
    algorithm: str | None
    status: str
    score: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def properties(self) -> dict[str, Any]:
        return {"run_algorithm": self.algorithm, "score": self.score, "iteration": self.iteration}


@dataclass
class CodeInputs:
    """What generated code is made from: the submitted job, its best trial, every trial."""

    job_file: Path
    record: JobRecord
    trials: dict[int, dict[str, Any]]


def _age_seconds(iso: str | None) -> float:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(str(iso))).total_seconds()
    except ValueError:
        return 0.0


class JobStore:
    """The jobs of one workspace, read (and, for the client's transitions, written) as types."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def layout(self, name: str) -> JobLayout:
        return self.workspace.layout(name)

    # ---------------------------------------------------------------------------- records

    def read(self, name: str) -> JobRecord:
        """The record as it is on disk. Raises ``JobNotFoundError`` for an unknown job."""
        return JobRecord.from_dict(self.workspace.read_record(name))

    def refresh(self, name: str) -> JobRecord:
        """The record, after marking a job whose runner died: Failed with the reason (and
        resumable), or Canceled when a cancel was asked for."""
        ws = self.workspace
        record = self.read(name)
        if not record.is_active:
            return record
        if record.pid is None:
            # A record without a runner is only normal for the moment of submission (or resume).
            if _age_seconds(record.resumed_at or record.created) > _UNSTARTED_GRACE_SECONDS:
                ws.transition(name, JobStatus.FAILED, runner_lost=True,
                              error="the job's runner process was never started")
                record = self.read(name)
        elif not process_alive(record.pid, record.pid_started):
            if record.cancel_requested:
                # Canceled before the runner could record it (e.g. while it was starting).
                ws.transition(name, JobStatus.CANCELED)
            else:
                ws.transition(
                    name, JobStatus.FAILED, runner_lost=True,
                    error=(f"the runner process (pid {record.pid}) ended without recording a "
                           "result: it was killed or crashed. See the job log for its last "
                           "lines."))
            record = self.read(name)
        return record

    def records(self) -> list[JobRecord]:
        """Every job's record as it is on disk, newest first."""
        out = []
        for name in self.workspace.job_names():
            with contextlib.suppress(JobNotFoundError, WorkspaceError):
                out.append(self.read(name))
        out.sort(key=lambda r: (r.created or "", r.name), reverse=True)
        return out

    def runner_alive(self, record: JobRecord) -> bool:
        return process_alive(record.pid, record.pid_started)

    # ----------------------------------------------------------------- client transitions

    def create(self, name: str, record: JobRecord) -> JobLayout:
        """A new job folder holding ``record`` (with an empty log and event file)."""
        self.workspace.create_job(name, record.to_dict())
        return self.layout(name)

    def create_batch(self, name: str, record: JobRecord, settings: BatchJobSettings
                     ) -> JobLayout:
        """A new batch scoring job folder: ``record`` (``type: batch``) and its settings."""
        if not record.is_batch:
            raise WorkspaceError(f"job '{name}': a batch job's record has type 'batch'.")
        layout = self.create(name, record)
        settings.write(layout.batch_settings)
        return layout

    def create_pipeline(self, name: str, record: JobRecord, plan: dict[str, Any]) -> JobLayout:
        """A new pipeline job folder: ``record`` (``type: pipeline``) and its plan."""
        if not record.is_pipeline:
            raise WorkspaceError(f"job '{name}': a pipeline job's record has type 'pipeline'.")
        layout = self.create(name, record)
        write_json_atomic(layout.plan, plan)
        return layout

    def plan(self, name: str) -> dict[str, Any]:
        """A pipeline job's plan (``plan.json``)."""
        record = self.read(name)
        if not record.is_pipeline:
            raise CirrusMLError(f"job '{name}' is an {record.type} job, not a pipeline job.")
        return dict(self._json(name, self.layout(name).plan, {}))

    def node_spec(self, name: str) -> dict[str, Any]:
        """A command node as it ran (``node.json``); {} before it started."""
        return dict(self._json(name, self.layout(name).node_spec, {}))

    def children(self, name: str) -> list[JobRecord]:
        """The node jobs of pipeline ``name`` that exist so far, in the plan's node order."""
        record = self.read(name)
        out = []
        for child in record.nodes.values():
            with contextlib.suppress(JobNotFoundError, WorkspaceError):
                out.append(self.refresh(child))
        return out

    def output_path(self, name: str, output: str) -> Path:
        """Where output ``output`` of job ``name`` is: its own ``outputs/<output>``, or the
        outputs of the job it reused."""
        record = self.read(name)
        seen = {name}
        while record.reused_from and record.reused_from not in seen:
            seen.add(record.reused_from)
            record = self.read(record.reused_from)
        return self.layout(record.name).output(output)

    # ------------------------------------------------------------------------------ reuse

    @property
    def _reuse_dir(self) -> Path:
        return self.workspace.root / "reuse"

    def reusable(self, fingerprint: str) -> JobRecord | None:
        """The completed command node whose outputs a node with ``fingerprint`` may reuse
        (Azure's reuse), or None. An entry whose job or outputs are gone is ignored."""
        path = self._reuse_dir / f"{fingerprint}.json"
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            record = self.read(str(entry["job"]))
        except (OSError, ValueError, KeyError, TypeError, JobNotFoundError, WorkspaceError):
            return None
        if record.status is not JobStatus.COMPLETED or record.fingerprint != fingerprint:
            return None
        outputs = [str(o) for o in entry.get("outputs", [])]
        if not all(self.output_path(record.name, o).is_dir() for o in outputs):
            return None
        return record

    def remember_reusable(self, fingerprint: str, name: str, outputs: list[str]) -> None:
        """Index completed command node ``name`` (with its ``outputs``) under ``fingerprint``
        so that a later node with the same fingerprint reuses it."""
        self._reuse_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self._reuse_dir / f"{fingerprint}.json",
                          {"job": name, "outputs": list(outputs), "at": now_iso()})

    def batch_settings(self, name: str) -> BatchJobSettings:
        """A batch scoring job's settings (``batch.json``)."""
        record = self.read(name)
        if not record.is_batch:
            raise CirrusMLError(f"job '{name}' is an {record.type} job, not a batch scoring job.")
        return BatchJobSettings.read(self.layout(name).batch_settings)

    def update(self, name: str, **changes: Any) -> JobRecord:
        """Set record fields (under the record's lock)."""
        return JobRecord.from_dict(self.workspace.update_record(name, **changes))

    def transition(self, name: str, status: JobStatus, *,
                   only_from: tuple[JobStatus, ...] | None = None,
                   **changes: Any) -> JobRecord | None:
        """Move the job to ``status`` if it is in one of ``only_from`` (any active status by
        default); ``None`` when it was elsewhere."""
        updated = self.workspace.transition(name, status, only_from=only_from, **changes)
        return None if updated is None else JobRecord.from_dict(updated)

    def request_cancel(self, name: str) -> JobRecord:
        return self.update(name, cancel_requested=now_iso())

    def prepare_resume(self, name: str) -> JobRecord:
        """Put a job whose runner died back to NotStarted, counting the resume.

        Raises ``CirrusMLError`` naming the reason for a job that cannot be resumed: one still
        running, one that completed or was canceled, or one that failed on its own (bad input,
        an internal error) rather than because its runner died.
        """
        record = self.refresh(name)
        if record.is_active:
            runner = "starting" if record.pid is None else f"alive (pid {record.pid})"
            raise CirrusMLError(
                f"job '{name}' is {record.status} and its runner is {runner}; only a job whose "
                "runner was killed or crashed can be resumed.")
        if not record.resumable:
            why = {JobStatus.COMPLETED: "it completed",
                   JobStatus.CANCELED: "it was canceled"}.get(
                record.status, f"it failed on its own ({record.error}), not because its runner "
                "died; fix the cause and submit it again")
            raise CirrusMLError(f"job '{name}' cannot be resumed: {why}.")
        updated = self.transition(
            name, JobStatus.NOT_STARTED, only_from=(JobStatus.FAILED,),
            resumed=record.resumed + 1, resumed_at=now_iso(), runner_lost=None, error=None,
            ended=None, pid=None, pid_started=None, cancel_requested=None)
        if updated is None:  # someone else moved it meanwhile
            raise CirrusMLError(f"job '{name}' changed while it was being resumed; try again.")
        return updated

    # ----------------------------------------------------------------------- log, events

    def read_log(self, name: str, offset: int = 0) -> tuple[str, int]:
        """Complete lines of the job's log from byte ``offset``, and the next offset."""
        return self.workspace.read_log(name, offset)

    def read_events(self, name: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Progress events (phases, trials) from byte ``offset``, and the next offset."""
        return self.workspace.read_events(name, offset)

    # -------------------------------------------------------------------------- artifacts

    def _json(self, name: str, path: Path, default: Any) -> Any:
        self.read(name)  # raises JobNotFoundError for an unknown job
        if not path.exists():
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise WorkspaceError(f"'{path}' is unreadable: {err}") from None

    def guardrails(self, name: str) -> list[dict[str, Any]]:
        """The job's data guardrails (Azure's names, statuses and details); [] before profiling."""
        return list(self._json(name, self.layout(name).guardrails, []))

    def charts(self, name: str, kind: str = "validation") -> dict[str, Any]:
        """The best model's chart data on its ``validation`` or ``test`` rows; {} until made."""
        if kind not in ("validation", "test"):
            raise WorkspaceError(f"charts are kept for 'validation' or 'test' rows, not {kind!r}")
        return dict(self._json(name, self.layout(name).charts(kind), {}))

    def featurization_summary(self, name: str) -> list[dict[str, Any]]:
        """How the best model featurizes each raw column; [] until the job has a best model."""
        return list(self._json(name, self.layout(name).featurization_summary, []))

    def explanation(self, name: str) -> dict[str, Any]:
        """Global importance of the job's best model ({} when not explained)."""
        return dict(self._json(name, self.layout(name).global_importance, {}))

    def explanation_background(self, name: str) -> pd.DataFrame | None:
        """The rows per-row explanations compare against (None when not explained)."""
        path = self.layout(name).explanation_background
        return pd.read_pickle(path) if path.exists() else None

    def test_metrics(self, name: str) -> dict[str, float]:
        """The best model's metrics on the test rows ({} without test data)."""
        return dict(self.read(name).test_metrics)

    def trial_infos(self, name: str) -> dict[int, dict[str, Any]]:
        """Every ``trials/<index>.json`` of the job (ensembles included), by index: the
        leaderboard as the folder holds it."""
        self.read(name)
        out: dict[int, dict[str, Any]] = {}
        for index, path in self.layout(name).trial_files().items():
            try:
                info = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise WorkspaceError(f"the record of trial {index} ({path}) is unreadable: "
                                     f"{err}") from None
            out[int(info.get("index", index))] = info
        return dict(sorted(out.items()))

    def trial_info(self, name: str, index: int) -> dict[str, Any]:
        """``trials/<index>.json``; raises ``CirrusMLError`` listing the trials there are."""
        infos = self.trial_infos(name)
        if index not in infos:
            raise CirrusMLError(f"job '{name}' has no trial {index}; its trials are "
                                f"{', '.join(map(str, infos)) or 'none yet'}.")
        return infos[index]

    def trial_model(self, name: str, index: int) -> Any | None:
        """Trial ``index``'s fitted model, or None when it was not kept."""
        import joblib

        info = self.trial_info(name, index)
        if not info.get("model"):
            return None
        return joblib.load(self.layout(name).trials_dir / info["model"])

    def code_inputs(self, name: str) -> CodeInputs:
        """The submitted job, its record and its trials: what generated code is made from."""
        return CodeInputs(self.layout(name).job_file, self.read(name), self.trial_infos(name))

    def input_example(self, name: str) -> pd.DataFrame:
        """A few training rows: the best model's input example, else the prepared data's."""
        layout = self.layout(name)
        if layout.best_model_file.exists():
            import mlflow.models

            with contextlib.suppress(Exception):
                example = mlflow.models.Model.load(str(layout.best_model)).load_input_example(
                    str(layout.best_model))
                if isinstance(example, pd.DataFrame):
                    return example
        if not layout.worker_data.exists():
            raise CirrusMLError(f"job '{name}' has no prepared data yet.")
        with open(layout.worker_data, "rb") as fh:
            return pickle.load(fh).X.head(5)  # noqa: S301 - the job's own file

    # ----------------------------------------------------------------------------- MLflow

    def tracker(self, record: JobRecord) -> Tracker:
        return Tracker(record.tracking_uri or self.workspace.tracking_uri,
                       self.workspace.artifacts_dir)

    def trial_runs(self, name: str) -> list[TrialRun]:
        """The child runs (trials, ensembles) of the job, in the order they started."""
        record = self.read(name)
        if not record.mlflow_run_id or not record.mlflow_experiment_id:
            return []
        trials = []
        for run in self.tracker(record).child_runs(record.mlflow_experiment_id,
                                                   record.mlflow_run_id):
            tags = dict(run.data.tags)
            score = tags.get("score")
            iteration = tags.get("iteration")
            status = tags.get("status") or str(TrialStatus.from_mlflow(run.info.status))
            trials.append(TrialRun(
                name=tags.get(RUN_NAME_TAG, run.info.run_id), run_id=run.info.run_id,
                iteration=int(iteration) if iteration not in (None, "") else None,
                algorithm=tags.get("run_algorithm"), status=status,
                score=float(score) if score not in (None, "", "None") else None,
                metrics=dict(run.data.metrics), params=dict(run.data.params), tags=tags))
        return trials

    def job_metrics(self, name: str) -> dict[str, float]:
        """The parent run's metrics (the best score, test and ONNX figures)."""
        record = self.read(name)
        if not record.mlflow_run_id:
            return {}
        return dict(self.tracker(record).get_run(record.mlflow_run_id).data.metrics)

    def download_run_artifacts(self, name: str, dest: Path) -> None:
        """The parent run's artifacts into ``dest`` (nothing when the store cannot be read)."""
        record = self.read(name)
        if record.mlflow_run_id:
            with contextlib.suppress(Exception):
                self.tracker(record).download(record.mlflow_run_id, "", dest)
