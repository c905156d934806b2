"""Task objects: the one place that knows how classification, regression and forecasting differ.

Who calls what
--------------
* The engine gets a task with :func:`task_for` (from the job's ``TaskType``), sets it up for the
  job with :meth:`Task.configure`, readies each data input with :meth:`Task.prepare_frame`,
  checks the target with :meth:`Task.check_target`, plans validation with
  :meth:`Task.plan_splits`, then fixes the target's facts with :meth:`Task.fit_target` (the class
  list of a classifier, the target range of a regressor). Every later call goes to that fitted
  task, which is small and picklable: it travels to the workers inside the job's data.
* Trials, ensembles, test scoring, explanations and ONNX parity ask the fitted task to predict
  (:meth:`Task.predict`: class probabilities in the job's class order, or values), to score
  (:meth:`Task.score`, :meth:`Task.primary_scorer`) and to encode a target for a meta-learner
  (:meth:`Task.encode_target`).
* The planner reads :attr:`Task.problem_type`; the ensembles read :attr:`Task.stack_by_default`
  and :attr:`Task.default_meta_learner`.

Nothing outside this package branches on a task's name: code that must treat probabilistic and
numeric outputs differently reads :attr:`Task.probabilistic`, which is a fact about the model's
output, not about the task. Forecasting is one more subclass (:mod:`cirrusml.tasks._forecasting`).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.metrics import (
    PrimaryScorer,
    classification_charts,
    classification_metrics,
    regression_charts,
    regression_metrics,
)
from cirrusml.spec import TaskType
from cirrusml.tasks._splits import SplitPlan, label_text, plan_splits

__all__ = [
    "ClassificationTask",
    "RegressionTask",
    "Task",
    "align_proba",
]


def align_proba(model: Any, X: Any, classes: Sequence[Any]) -> np.ndarray:
    """``model``'s class probabilities with one column per class of ``classes``, in that order
    (a class the model never saw gets 0)."""
    proba = np.asarray(model.predict_proba(X), dtype=float)
    fitted = list(model.classes_)
    if fitted == list(classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(fitted):
        out[:, index[c]] = proba[:, j]
    return out


class Task(ABC):
    """Behaviour that differs per task. The engine asks; it never branches on task names.

    Class attributes
    ----------------
    kind
        The task's ``TaskType``.
    probabilistic
        Models predict one probability per class (and the likeliest class as their label);
        otherwise they predict one number per row.
    stack_by_default
        Azure turns the StackEnsemble on by default for this task.
    default_meta_learner, default_cv_meta_learner
        The StackEnsemble's meta-learner (Azure's ``StackMetaLearnerType`` spelling), with a
        train/validation split and with cross-validation.
    meta_learners
        The meta-learners a stack of this task may use.
    time_ordered
        Rows are ordered in time within a series (forecasting): featurizers may carry values
        forward (``ffill``) and splits must not shuffle.
    ensemble_rules
        The VotingEnsemble's selection rules (names of ``cirrusml.ensemble.SELECTION_RULES``):
        Caruana alone, or several that are compared leave-one-fold-out and the best applied
        (forecasting: rolling-origin folds are different periods, and a blend fitted to one
        period's accident loses on the next).
    reads_on_cluster
        In ``training_mode: distributed``, the cluster's workers read the job's rows as a Dask
        DataFrame and every trial trains on those partitions (classification, regression);
        otherwise the runner prepares the rows as for any job and each fit spreads them over
        its share of the workers (forecasting: the series are split between them).

    Instance attributes (set by :meth:`fit_target`)
    -----------------------------------------------
    classes
        The job's classes in a fixed order (the columns of :meth:`predict`); ``None`` for a task
        whose models predict numbers.
    y_min, y_max
        The training target's range (normalised regression metrics divide by it).
    """

    kind: ClassVar[TaskType]
    probabilistic: ClassVar[bool] = False
    stack_by_default: ClassVar[bool] = True
    default_meta_learner: ClassVar[str]
    default_cv_meta_learner: ClassVar[str]
    meta_learners: ClassVar[tuple[str, ...]]
    time_ordered: ClassVar[bool] = False
    ensemble_rules: ClassVar[tuple[str, ...]] = ("Caruana",)
    reads_on_cluster: ClassVar[bool] = True

    def __init__(self) -> None:
        self.classes: list[Any] | None = None
        self.y_min: float | None = None
        self.y_max: float | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(classes={self.classes!r}, y_min={self.y_min!r}, " \
               f"y_max={self.y_max!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task) or type(self) is not type(other):
            return False
        return (self.classes == other.classes and self.y_min == other.y_min
                and self.y_max == other.y_max)

    __hash__ = None  # type: ignore[assignment]

    @property
    def name(self) -> str:
        """The task as YAML spells it (``classification``)."""
        return self.kind.yaml

    # ------------------------------------------------------------------------- the job

    def configure(self, job: Any) -> Task:
        """A copy of this task set up for ``job``'s settings (forecasting reads its
        ``forecasting:`` block); tabular tasks need nothing and return themselves."""
        return self

    def prepare_frame(self, frame: pd.DataFrame, where: str, seed: int = 0) -> pd.DataFrame:
        """One data input (``training_data``, ``validation_data``, ``test_data``, checked to
        hold the columns the job names) made ready for this task, before rows with a missing
        target are dropped: forecasting puts it on its time grid (forward-filling the target).
        Tabular tasks take the rows as they are."""
        return frame

    @property
    def checks(self) -> list[Any]:
        """Guardrails this task's own checks produced (:meth:`prepare_frame`), as objects with
        ``name``, ``status``, ``description`` and ``details``."""
        return []

    def estimator_params(self) -> dict[str, Any]:
        """Parameters every estimator of this task is given (``set_params``): facts of the job's
        data its models need to fit (the series layout of a forecast); empty for tabular tasks."""
        return {}

    # ----------------------------------------------------------------------------- target

    @abstractmethod
    def check_target(self, y: pd.Series, column: str) -> pd.Series:
        """Validate the target (rows with a missing target already dropped); return it cleaned."""

    def stratify(self, y: pd.Series) -> Any:
        """Labels to stratify splits on, or ``None``."""
        return None

    def plan_splits(self, n_rows: int, y: pd.Series, seed: int, **settings: Any) -> SplitPlan:
        """The validation plan for the first ``n_rows`` of ``y`` (Azure's rules); ``settings``
        are :func:`~cirrusml.tasks.plan_splits`'s keyword arguments."""
        return plan_splits(n_rows, y=self._split_labels(y.iloc[:n_rows]), seed=seed, **settings)

    def _split_labels(self, y: pd.Series) -> pd.Series | None:
        return None

    def target_digest(self, y: Any) -> list[Any]:
        """A few summaries of the target column ``y`` (a Dask Series, or pandas) from which
        :meth:`fit_target` learns what it needs, for data no process holds whole (distributed
        training): each is lazy for a Dask ``y``; computed and concatenated, they are a Series
        :meth:`fit_target` takes. Tasks without distributed training refuse."""
        raise InvalidSpecError(f"{self.name} jobs do not train in training_mode: distributed.",
                               field="training.training_mode")

    @abstractmethod
    def fit_target(self, y: pd.Series, *, y_validation: pd.Series | None = None) -> Task:
        """A copy of this task with the facts of the training target ``y`` fixed: the classes
        (those of ``y_validation``, the validation rows, included), or ``y``'s range."""

    def for_scoring(self, y: pd.Series) -> Task:
        """The task to score rows apart from the training data (test rows) whose target is
        ``y``: the job's classes stay, a target range becomes ``y``'s own."""
        return self

    @property
    def problem_type(self) -> str:
        """``binary``, ``multiclass`` or ``regression``: what the warm-start portfolio and the
        target encoder are keyed on (valid after :meth:`fit_target`)."""
        return "regression"

    @property
    def n_outputs(self) -> int:
        """Columns of :meth:`predict`'s result (1 for a vector of values)."""
        return 1

    # ------------------------------------------------------------------------ predictions

    @abstractmethod
    def predict(self, model: Any, X: Any) -> np.ndarray:
        """What the task's metrics score: aligned class probabilities, or values."""

    def explanation_rows(self, plan: SplitPlan, n_train_rows: int) -> np.ndarray:
        """Rows of the job's frame to explain the best model on: the validation rows of a
        holdout, else every training row."""
        return plan.folds[0][1] if not plan.is_cv else np.arange(n_train_rows)

    def input_example(self, X: pd.DataFrame) -> pd.DataFrame:
        """Rows of the training features ``X`` a fitted model of this task can predict, as the
        saved model's input example (a forecast's are the next step of each series)."""
        return X.head(5)

    def predict_holdout(self, model: Any, X: Any, y: Any) -> np.ndarray:
        """:meth:`predict` for rows set apart from training (test data) whose target ``y`` is
        known: a forecast scores them by a rolling forecast when they reach past its horizon."""
        return self.predict(model, X)

    @abstractmethod
    def encode_target(self, y: Any) -> np.ndarray:
        """``y`` as a meta-learner's target: class positions, or floats."""

    @abstractmethod
    def meta_predict(self, meta: Any, features: np.ndarray) -> np.ndarray:
        """A fitted meta-learner's predictions in :meth:`predict`'s form."""

    @abstractmethod
    def score(self, y_true: Any, predictions: np.ndarray, weights: np.ndarray | None = None,
              positive_label: Any = None) -> dict[str, float]:
        """Every metric of the task for ``predictions`` of ``y_true``."""

    @abstractmethod
    def charts(self, X: pd.DataFrame, y_true: Any, predictions: np.ndarray, *,
               folds: np.ndarray | None = None, weights: np.ndarray | None = None,
               history: tuple[pd.DataFrame, Any] | None = None) -> dict[str, Any]:
        """Azure's run charts for ``predictions`` of the rows ``X`` (whose target is ``y_true``),
        JSON-ready, by chart family. ``folds`` gives each row's cross-validation fold and
        ``history`` (features, target) the known rows before them, for a forecast's charts."""

    def primary_scorer(self, metric: str, y_true: Any,
                       weights: np.ndarray | None = None) -> PrimaryScorer:
        """``metric`` scored fast and repeatedly on the same rows (ensemble selection)."""
        return PrimaryScorer(metric, y_true, classes=self.classes, sample_weight=weights,
                             y_min=self.y_min, y_max=self.y_max)

    def meta_learner_name(self, kind: str | None, cross_validated: bool) -> str:
        """The stack meta-learner to use: ``kind`` checked, or the task's default."""
        if kind in (None, "None"):
            return self.default_cv_meta_learner if cross_validated else self.default_meta_learner
        if kind not in self.meta_learners:
            raise InvalidSpecError(
                f"'{kind}' cannot be the meta-learner of a {self.name} stack; use one of "
                f"{', '.join(self.meta_learners)}.",
                field="training.stack_ensemble_settings.stack_meta_learner_type")
        return str(kind)


class ClassificationTask(Task):
    kind = TaskType.CLASSIFICATION
    probabilistic = True
    default_meta_learner = "LogisticRegression"
    default_cv_meta_learner = "LogisticRegressionCV"
    meta_learners = ("LogisticRegression", "LogisticRegressionCV", "LightGBMClassifier")

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

    def _split_labels(self, y: pd.Series) -> pd.Series | None:
        return y

    def target_digest(self, y: Any) -> list[Any]:
        return [y.dropna().unique()]  # the labels

    def fit_target(self, y: pd.Series, *, y_validation: pd.Series | None = None) -> Task:
        fitted = copy.copy(self)
        labels = pd.Series(y) if y_validation is None else pd.concat([pd.Series(y),
                                                                        pd.Series(y_validation)])
        fitted.classes = sorted(pd.unique(labels).tolist(), key=lambda v: (str(type(v)), v))
        return fitted

    @property
    def problem_type(self) -> str:
        return "binary" if len(self.classes or []) <= 2 else "multiclass"

    @property
    def n_outputs(self) -> int:
        return len(self.classes or [])

    def predict(self, model: Any, X: Any) -> np.ndarray:
        return align_proba(model, X, self.classes or [])

    def encode_target(self, y: Any) -> np.ndarray:
        position = {c: i for i, c in enumerate(self.classes or [])}
        return np.asarray([position[v] for v in np.asarray(y)])

    def meta_predict(self, meta: Any, features: np.ndarray) -> np.ndarray:
        proba = np.asarray(meta.predict_proba(features), dtype=float)
        out = np.zeros((proba.shape[0], self.n_outputs))
        out[:, np.asarray(meta.classes_, dtype=int)] = proba
        return out

    def score(self, y_true: Any, predictions: np.ndarray, weights: np.ndarray | None = None,
              positive_label: Any = None) -> dict[str, float]:
        return classification_metrics(np.asarray(y_true), predictions, self.classes or [],
                                      sample_weight=weights, positive_label=positive_label)

    def charts(self, X: pd.DataFrame, y_true: Any, predictions: np.ndarray, *,
               folds: np.ndarray | None = None, weights: np.ndarray | None = None,
               history: tuple[pd.DataFrame, Any] | None = None) -> dict[str, Any]:
        return {"classification": classification_charts(np.asarray(y_true), predictions,
                                                        self.classes or [], weights)}


class RegressionTask(Task):
    kind = TaskType.REGRESSION
    default_meta_learner = "ElasticNet"
    default_cv_meta_learner = "ElasticNetCV"
    meta_learners = ("ElasticNet", "ElasticNetCV", "LightGBMRegressor", "LinearRegression")

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

    def target_digest(self, y: Any) -> list[Any]:
        return [y.min(), y.max()]  # the range

    def fit_target(self, y: pd.Series, *, y_validation: pd.Series | None = None) -> Task:
        fitted = copy.copy(self)
        values = np.asarray(y, dtype=float)
        fitted.y_min, fitted.y_max = float(np.min(values)), float(np.max(values))
        return fitted

    def for_scoring(self, y: pd.Series) -> Task:
        return self.fit_target(y)

    def predict(self, model: Any, X: Any) -> np.ndarray:
        return np.asarray(model.predict(X), dtype=float)

    def encode_target(self, y: Any) -> np.ndarray:
        return np.asarray(y, dtype=float)

    def meta_predict(self, meta: Any, features: np.ndarray) -> np.ndarray:
        return np.asarray(meta.predict(features), dtype=float)

    def score(self, y_true: Any, predictions: np.ndarray, weights: np.ndarray | None = None,
              positive_label: Any = None) -> dict[str, float]:
        return regression_metrics(np.asarray(y_true, dtype=float), predictions,
                                  sample_weight=weights, y_min=self.y_min, y_max=self.y_max)

    def charts(self, X: pd.DataFrame, y_true: Any, predictions: np.ndarray, *,
               folds: np.ndarray | None = None, weights: np.ndarray | None = None,
               history: tuple[pd.DataFrame, Any] | None = None) -> dict[str, Any]:
        return {"regression": regression_charts(np.asarray(y_true, dtype=float), predictions)}
