"""The learner contract: one object per algorithm family, named as Azure names it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from cirrusml.spec import TaskType


class Learner(ABC):
    """An algorithm the search can try.

    ``name`` is Azure's model name (``LightGBM``, ``XGBoostClassifier``). A learner builds an
    unfitted scikit-learn estimator from hyperparameters; it never fits or scores by itself.
    """

    name: ClassVar[str]
    tasks: ClassVar[tuple[TaskType, ...]]
    #: Takes pandas categories as they are (no one-hot encoding needed).
    native_categorical: ClassVar[bool] = False
    #: Sensitive to feature scale (linear models, SVM, KNN): the featurizer scales for it.
    needs_scaling: ClassVar[bool] = False

    @abstractmethod
    def default_params(self, task: TaskType) -> dict[str, Any]:
        """Hyperparameters of a good first trial."""

    @abstractmethod
    def build(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int) -> Any:
        """An unfitted estimator for ``task`` with ``params``."""

    def __repr__(self) -> str:
        return f"<learner {self.name}>"
