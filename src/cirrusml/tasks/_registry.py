"""The task objects by ``TaskType``."""

from __future__ import annotations

from cirrusml.exceptions import NotSupportedYetError
from cirrusml.spec import TaskType
from cirrusml.tasks._forecasting import ForecastingTask
from cirrusml.tasks._task import ClassificationTask, RegressionTask, Task

__all__ = ["as_task", "task_for", "task_for_output"]

_TASKS: dict[TaskType, type[Task]] = {
    TaskType.CLASSIFICATION: ClassificationTask,
    TaskType.REGRESSION: RegressionTask,
    TaskType.FORECASTING: ForecastingTask,
}


def task_for(kind: TaskType | str) -> Task:
    """A new (unfitted) task object for ``kind``."""
    return _TASKS[TaskType.parse(kind)]()


def as_task(task: Task | TaskType | str) -> Task:
    """``task`` itself if it is a :class:`Task`, else a new task of that kind (for library
    functions that take either)."""
    if isinstance(task, Task):
        return task
    return task_for(task)


def task_for_output(probabilistic: bool) -> Task:
    """A new (unfitted) task whose models predict class probabilities (``probabilistic``) or
    numbers: for code that meets a fitted model without its job (an ONNX file's metadata)."""
    for cls in (ClassificationTask, RegressionTask):
        if cls.probabilistic == probabilistic:
            return cls()
    raise NotSupportedYetError(f"no task has probabilistic={probabilistic!r} outputs.")
