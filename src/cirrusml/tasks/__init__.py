"""What differs per task (L1): target checks, stratification, the validation plan."""

from __future__ import annotations

from cirrusml.tasks._splits import SplitPlan, can_stratify, label_text, plan_splits
from cirrusml.tasks._task import (
    ClassificationTask,
    RegressionTask,
    Task,
    align_proba,
    as_task,
    task_for,
    task_for_output,
)

__all__ = [
    "ClassificationTask",
    "RegressionTask",
    "SplitPlan",
    "align_proba",
    "as_task",
    "can_stratify",
    "label_text",
    "Task",
    "plan_splits",
    "task_for",
    "task_for_output",
]
