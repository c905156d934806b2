"""What differs per task (L1): target checks, stratification, the validation plan, and for
forecasting the series layout, its checks and the rolling-origin plan."""

from __future__ import annotations

from cirrusml.tasks._forecasting import ForecastingTask
from cirrusml.tasks._registry import as_task, task_for, task_for_output
from cirrusml.tasks._series import (
    SeriesCheck,
    SeriesLayout,
    grid_steps,
    handle_short_series,
    min_history,
    prepare_series,
    rolling_origin_folds,
    series_codes,
    series_labels,
    series_layout,
)
from cirrusml.tasks._splits import SplitPlan, can_stratify, label_text, plan_splits
from cirrusml.tasks._task import (
    ClassificationTask,
    RegressionTask,
    Task,
    align_proba,
)

__all__ = [
    "ClassificationTask",
    "ForecastingTask",
    "RegressionTask",
    "SeriesCheck",
    "SeriesLayout",
    "SplitPlan",
    "align_proba",
    "as_task",
    "can_stratify",
    "grid_steps",
    "handle_short_series",
    "label_text",
    "min_history",
    "Task",
    "plan_splits",
    "prepare_series",
    "rolling_origin_folds",
    "series_codes",
    "series_labels",
    "series_layout",
    "task_for",
    "task_for_output",
]
