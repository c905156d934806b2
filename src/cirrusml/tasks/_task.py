"""Task objects: the one place that knows how classification and regression differ."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError, NotSupportedYetError
from cirrusml.spec import TaskType
from cirrusml.tasks._splits import label_text


class Task(ABC):
    """Behaviour that differs per task. The engine asks; it never branches on task names."""

    kind: TaskType
    is_classification: bool = False

    @abstractmethod
    def check_target(self, y: pd.Series, column: str) -> pd.Series:
        """Validate the target (rows with a missing target already dropped); return it cleaned."""

    def stratify(self, y: pd.Series) -> Any:
        """Labels to stratify splits on, or ``None``."""
        return None


class ClassificationTask(Task):
    kind = TaskType.CLASSIFICATION
    is_classification = True

    def check_target(self, y: pd.Series, column: str) -> pd.Series:
        if y.empty:
            raise DataError(f"target column '{column}' has no values; every row's target is missing.")
        if pd.api.types.is_float_dtype(y) and np.all(np.mod(y.to_numpy(), 1) == 0):
            y = y.astype(np.int64)  # 0.0/1.0 labels read from a CSV with gaps
        counts = y.value_counts()
        if len(counts) < 2:
            raise DataError(
                f"target column '{column}' has a single class ({label_text(counts.index[0])}); "
                "classification needs at least two classes."
            )
        return y

    def stratify(self, y: pd.Series) -> Any:
        counts = y.value_counts()
        return y if counts.min() >= 2 else None


class RegressionTask(Task):
    kind = TaskType.REGRESSION

    def check_target(self, y: pd.Series, column: str) -> pd.Series:
        if y.empty:
            raise DataError(f"target column '{column}' has no values; every row's target is missing.")
        converted = pd.to_numeric(y, errors="coerce")
        bad = converted.isna() & y.notna()
        if bad.any():
            example = y[bad].iloc[0]
            raise DataError(
                f"target column '{column}' must be numeric for regression, but holds "
                f"{int(bad.sum())} non-numeric value(s) such as {example!r}; clean the column or "
                "use task: classification."
            )
        converted = converted.astype(float)
        if not np.isfinite(converted.to_numpy()).all():
            raise DataError(f"target column '{column}' holds infinite values; remove those rows.")
        return converted


def task_for(kind: TaskType | str) -> Task:
    kind = TaskType.parse(kind)
    if kind is TaskType.CLASSIFICATION:
        return ClassificationTask()
    if kind is TaskType.REGRESSION:
        return RegressionTask()
    raise NotSupportedYetError(
        "forecasting jobs are not supported yet; classification and regression are."
    )
