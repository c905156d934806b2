"""Workspace and tracking (L2): job records on disk, runs and artifacts in MLflow."""

from __future__ import annotations

from cirrusml.tracking._mlflow import BEST_CHILD_TAG, JOB_NAME_TAG, PARENT_TAG, Tracker
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
    "BEST_CHILD_TAG",
    "JOB_NAME_TAG",
    "PARENT_TAG",
    "TERMINAL_STATUSES",
    "Tracker",
    "Workspace",
    "default_workspace_path",
    "now_iso",
    "process_alive",
    "process_start_time",
]
