"""Workspace and tracking (L2): the typed job store over the workspace folder and MLflow.

* :class:`JobLayout` names every file of a job folder; :class:`RunArtifacts` every artifact path
  of its MLflow runs.
* :class:`JobRecord` is the typed ``record.json``, with :class:`JobStatus` and
  :class:`TrialStatus`.
* :class:`JobStore` is the one reader of jobs (and the client's side of their records).
* :class:`JobRecorder` is the one writer of a running job: its MLflow runs and its folder.
* :class:`ModelRegistry` holds the registered models (MLflow's model registry), and
  :func:`resolve_model` turns a model reference into a local MLflow model folder.
* :class:`EndpointStore` holds the online endpoints (:class:`EndpointRecord`, their
  deployments and processes, and their :class:`EndpointKeys`).
* :class:`BatchEndpointStore` holds the batch endpoints and their deployments;
  :class:`BatchJobSettings` is what a batch scoring job scores and how.
* :class:`Workspace` holds what is not one job's: settings, computes, queue slots, job names.
"""

from __future__ import annotations

from cirrusml.tracking._batch_endpoints import (
    BatchDeploymentRecord,
    BatchEndpointRecord,
    BatchEndpointStore,
    BatchJobSettings,
)
from cirrusml.tracking._endpoints import (
    DeploymentRecord,
    EndpointKeys,
    EndpointRecord,
    EndpointStore,
    ProcessRecord,
)
from cirrusml.tracking._layout import JobLayout, RunArtifacts
from cirrusml.tracking._mlflow import BEST_CHILD_TAG, JOB_NAME_TAG, PARENT_TAG, Tracker
from cirrusml.tracking._record import JobRecord, JobStatus, TrialStatus
from cirrusml.tracking._recorder import JobRecorder
from cirrusml.tracking._registry import (
    ARCHIVED_TAG,
    REGISTRY_EXPERIMENT,
    ModelRegistry,
    resolve_model,
)
from cirrusml.tracking._store import CodeInputs, JobStore, TrialRun
from cirrusml.tracking._workspace import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Workspace,
    default_workspace_path,
    now_iso,
    process_alive,
    process_start_time,
)

__all__ = [
    "ACTIVE_STATUSES",
    "ARCHIVED_TAG",
    "BEST_CHILD_TAG",
    "JOB_NAME_TAG",
    "PARENT_TAG",
    "REGISTRY_EXPERIMENT",
    "TERMINAL_STATUSES",
    "BatchDeploymentRecord",
    "BatchEndpointRecord",
    "BatchEndpointStore",
    "BatchJobSettings",
    "CodeInputs",
    "DeploymentRecord",
    "EndpointKeys",
    "EndpointRecord",
    "EndpointStore",
    "JobLayout",
    "JobRecord",
    "JobRecorder",
    "JobStatus",
    "JobStore",
    "ModelRegistry",
    "ProcessRecord",
    "RunArtifacts",
    "Tracker",
    "TrialRun",
    "TrialStatus",
    "Workspace",
    "default_workspace_path",
    "now_iso",
    "process_alive",
    "process_start_time",
    "resolve_model",
]
