"""The typed job record (``record.json``) and the status enums of jobs and trials.

Both enums are ``StrEnum``: a status compares equal to its Azure string (``JobStatus.COMPLETED ==
"Completed"``) and is written to JSON as that string, so records written before these types
existed read the same.

Who writes which keys of ``record.json``:

* the client at submission: ``name``, ``type``, ``status``, ``created``, ``task``,
  ``experiment_name``,
  ``display_name``, ``description``, ``compute``, ``tracking_uri``, ``notices``; when it starts
  a runner: ``pid``, ``pid_started``; on a cancel: ``cancel_requested``; when it finds the runner
  dead: ``status``, ``error``, ``runner_lost``; on a resume: ``resumed``, ``resumed_at``;
* the runner (through :class:`~cirrusml.tracking.JobRecorder`): ``started``, the MLflow ids,
  ``ended``, ``error``, and the results (``best_*``, ``primary_metric``, ``stop_reason``,
  ``trials``, ``search_seconds``, ``test_metrics``, ``onnx_model``, ``onnx_parity``); a batch
  scoring job's runner writes ``batch_summary`` instead of the AutoML results.

``type`` is the kind of job: ``automl`` (the default, left out of the file), ``batch`` (a batch
scoring job, whose settings are in the job folder's ``batch.json``), ``pipeline`` (a pipeline job,
its plan in ``plan.json``) or ``command`` (a pipeline's command node).

The nodes of a pipeline are jobs of their own (``command`` jobs, and AutoML jobs for AutoML nodes)
with ``parent_job_name`` and ``node_name`` set. The pipeline runner writes theirs: ``status``,
``started``, ``ended``, ``error``, ``exit_code``, ``process_pid`` (a running command's process, the
leader of its own process group), ``fingerprint`` and ``reused_from`` (Azure's reuse: the job whose
outputs a node took instead of running), and ``skipped``: the reason a node never ran because a node
it needs (or, without ``continue_on_step_failure``, any node) failed; such a node is recorded
``Canceled`` with that reason, as Azure shows nodes it did not run. A pipeline's record names its
nodes' jobs in ``nodes`` (node name → job name).

Keys this module does not know are kept in :attr:`JobRecord.extra` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cirrusml.exceptions import WorkspaceError

__all__ = ["JobRecord", "JobStatus", "TrialStatus"]


class JobStatus(StrEnum):
    """A job's status, as Azure names it."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        return self not in TERMINAL

    @property
    def mlflow_status(self) -> str:
        """The MLflow run status a job's parent run ends with."""
        return {JobStatus.COMPLETED: "FINISHED", JobStatus.CANCELED: "KILLED"}.get(self, "FAILED")


TERMINAL = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)
ACTIVE = tuple(s for s in JobStatus if s not in TERMINAL)
#: Fields left out of ``record.json`` while they hold their empty default.
_OMITTED_WHEN_EMPTY = ("test_metrics", "resumed", "nodes")
#: The kinds of job (``JobRecord.type``).
JOB_TYPES: tuple[str, ...] = ("automl", "batch", "pipeline", "command")


class TrialStatus(StrEnum):
    """A trial's (child run's) status."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    CANCELED = "Canceled"

    @property
    def mlflow_status(self) -> str:
        """The MLflow run status the trial's child run ends with."""
        return {TrialStatus.COMPLETED: "FINISHED", TrialStatus.CANCELED: "KILLED",
                TrialStatus.RUNNING: "RUNNING"}.get(self, "FAILED")

    @classmethod
    def from_mlflow(cls, status: str) -> TrialStatus | str:
        """The trial status of an MLflow run status (unknown ones are returned as they are)."""
        return {"RUNNING": cls.RUNNING, "FINISHED": cls.COMPLETED, "FAILED": cls.FAILED,
                "KILLED": cls.CANCELED}.get(status, status)


@dataclass
class JobRecord:
    """A typed view of a job's ``record.json``."""

    name: str
    status: JobStatus = JobStatus.NOT_STARTED
    #: ``automl``, ``batch`` (a batch scoring job), ``pipeline`` or ``command`` (a pipeline's
    #: command node).
    type: str = "automl"
    created: str | None = None
    started: str | None = None
    ended: str | None = None
    task: str | None = None
    experiment_name: str | None = None
    display_name: str | None = None
    description: str | None = None
    compute: str | None = None
    tracking_uri: str | None = None
    notices: list[str] = field(default_factory=list)
    #: The runner process and its start time (to tell it from a later process with its pid).
    pid: int | None = None
    pid_started: float | None = None
    mlflow_run_id: str | None = None
    mlflow_experiment_id: str | None = None
    error: str | None = None
    #: Set when a reader found the runner dead with no result recorded: the job can be resumed.
    runner_lost: bool | None = None
    cancel_requested: str | None = None
    #: How many times the job was resumed, and when last.
    resumed: int = 0
    resumed_at: str | None = None
    best_child_run_id: str | None = None
    best_iteration: int | None = None
    best_algorithm: str | None = None
    best_score: float | None = None
    primary_metric: str | None = None
    stop_reason: str | None = None
    trials: int | None = None
    search_seconds: float | None = None
    #: ``distributed`` for a job that trained in ``training_mode: distributed``.
    training_mode: str | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    onnx_model: str | None = None
    onnx_parity: dict[str, Any] | None = None
    #: A batch scoring job's result: ``rows``, ``mini_batches``, ``retries``, ``output``.
    batch_summary: dict[str, Any] | None = None
    #: A pipeline's node jobs: node name → job name, in the plan's order.
    nodes: dict[str, str] = field(default_factory=dict)
    #: A node's pipeline job and its name in the pipeline.
    parent_job_name: str | None = None
    node_name: str | None = None
    #: A command node's running process (the leader of its process group) and its exit code.
    process_pid: int | None = None
    exit_code: int | None = None
    #: A deterministic command node's fingerprint (code, command, environment, inputs), and the
    #: earlier job whose outputs it reused instead of running.
    fingerprint: str | None = None
    reused_from: str | None = None
    #: Why a node never ran (its status is then ``Canceled``).
    skipped: str | None = None
    #: Keys of the file this class does not name, kept as they are.
    extra: dict[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------------------- conversion

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        if "name" not in values:
            raise WorkspaceError("a job record without a name; the file is damaged.")
        try:
            values["status"] = JobStatus(values.get("status", JobStatus.NOT_STARTED))
        except ValueError:
            raise WorkspaceError(
                f"job '{values['name']}' has an unknown status {values.get('status')!r} in its "
                "record.") from None
        for key in ("notices", "test_metrics", "resumed", "type", "nodes"):
            if values.get(key) is None:
                values.pop(key, None)  # written as null: the field's default
        if values.get("type", "automl") not in JOB_TYPES:
            raise WorkspaceError(
                f"job '{values['name']}' has an unknown type {values['type']!r} in its record.")
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        """The record as ``record.json`` holds it: set fields and the unknown keys, with plain
        strings for statuses."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None or (f.name in _OMITTED_WHEN_EMPTY and not value) \
                    or (f.name == "type" and value == "automl"):
                continue
            out[f.name] = str(value) if isinstance(value, StrEnum) else value
        out.update(self.extra)
        return out

    # -------------------------------------------------------------------------- queries

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def is_batch(self) -> bool:
        """A batch scoring job (``type: batch``)."""
        return self.type == "batch"

    @property
    def is_pipeline(self) -> bool:
        """A pipeline job (``type: pipeline``)."""
        return self.type == "pipeline"

    @property
    def is_command(self) -> bool:
        """A pipeline's command node (``type: command``)."""
        return self.type == "command"

    @property
    def is_child(self) -> bool:
        """A node of a pipeline job (an AutoML job or a command job)."""
        return self.parent_job_name is not None

    @property
    def resumable(self) -> bool:
        """Failed because its runner died without recording a result (so not for bad input)."""
        return self.status is JobStatus.FAILED and bool(self.runner_lost)
