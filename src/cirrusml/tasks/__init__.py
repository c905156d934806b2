"""What differs per task (L1): target checks, stratification, the validation plan."""

from __future__ import annotations

from cirrusml.tasks._splits import SplitPlan, plan_splits
from cirrusml.tasks._task import ClassificationTask, RegressionTask, Task, task_for

__all__ = [
    "ClassificationTask",
    "RegressionTask",
    "SplitPlan",
    "Task",
    "plan_splits",
    "task_for",
]
