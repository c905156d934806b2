"""LightGBM (classification and regression)."""

from __future__ import annotations

from typing import Any, ClassVar

from cirrusml.models._base import Learner
from cirrusml.spec import TaskType


class LightGBMLearner(Learner):
    name: ClassVar[str] = "LightGBM"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION, TaskType.REGRESSION)
    native_categorical: ClassVar[bool] = True

    def default_params(self, task: TaskType) -> dict[str, Any]:
        return {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31,
                "min_child_samples": 20}

    def build(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int) -> Any:
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if task is TaskType.CLASSIFICATION else lgb.LGBMRegressor
        return cls(**params, n_jobs=n_jobs, random_state=seed, verbose=-1)
