"""scikit-learn's GradientBoosting (classification and regression), with early stopping.

scikit-learn's own early stopping keeps the ``n_iter_no_change`` extra stages it fitted after the
best one. The wrapper instead follows the validation loss stage by stage (a ``monitor`` passed to
``fit``: log loss for classification, squared error for regression), stops after
``early_stopping_rounds`` stages without improvement, and truncates the fitted model to its best
stage, so ``estimators_`` holds exactly the trees it predicts with. Class weights become sample
weights (scikit-learn's GradientBoosting has no ``class_weight``).

ONNX export and Tree SHAP read the truncated scikit-learn model (``estimator_``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from optuna.distributions import FloatDistribution, IntDistribution
from scipy.special import logsumexp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import check_array

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace, TreeModel
from cirrusml.models._early_stopping import (
    BoostingClassifierMixin,
    BoostingEstimator,
    boosting_cost_terms,
)
from cirrusml.spec import TaskType

_EPS = 1e-12


class _ValidationMonitor:
    """Called by scikit-learn after every stage; tracks the validation loss, says when to stop.

    The raw prediction starts from the model's initial estimator (``init_``) and each stage adds
    ``learning_rate * tree.predict(X)``, as scikit-learn does, so the cost is one tree
    prediction per stage.
    """

    def __init__(self, X: Any, y: np.ndarray, w: np.ndarray | None, classifier: bool,
                 rounds: int) -> None:
        self.X = (check_array(X, accept_sparse="csr", dtype=np.float32,
                              ensure_all_finite=False))
        if sp.issparse(self.X):
            self.X = sp.csr_matrix(self.X)
        self.y = y
        self.w = np.ones(len(y)) if w is None else w
        self.classifier = classifier
        self.rounds = rounds
        self.raw: np.ndarray | None = None
        self.best_loss = np.inf
        self.best_stage = 0

    def _initial(self, model: Any) -> np.ndarray:
        if not self.classifier:
            return np.asarray(model.init_.predict(self.X), dtype=float).reshape(-1, 1)
        proba = np.clip(np.asarray(model.init_.predict_proba(self.X), dtype=float), _EPS, 1.0)
        if proba.shape[1] == 2:  # binary: one logit
            return np.asarray(np.log(proba[:, 1]) - np.log(proba[:, 0])).reshape(-1, 1)
        return np.asarray(np.log(proba))

    def _loss(self, raw: np.ndarray) -> float:
        if not self.classifier:
            per_row = (raw[:, 0] - self.y) ** 2
        elif raw.shape[1] == 1:
            z = raw[:, 0]
            per_row = np.logaddexp(0.0, z) - self.y * z
        else:
            per_row = logsumexp(raw, axis=1) - raw[np.arange(len(self.y)), self.y.astype(int)]
        total = float(np.sum(self.w))
        return float(np.sum(self.w * per_row) / total) if total > 0 else float(np.mean(per_row))

    def __call__(self, stage: int, model: Any, _locals: dict[str, Any]) -> bool:
        if self.raw is None:
            self.raw = self._initial(model)
        for k, tree in enumerate(model.estimators_[stage]):
            self.raw[:, k] += model.learning_rate * tree.predict(self.X)
        loss = self._loss(self.raw)
        if loss < self.best_loss - _EPS:
            self.best_loss, self.best_stage = loss, stage
        return stage - self.best_stage >= self.rounds


def _truncate(model: Any, n_stages: int) -> None:
    """Keep the first ``n_stages`` stages of a fitted scikit-learn gradient-boosting model."""
    model.estimators_ = model.estimators_[:n_stages]
    model.train_score_ = model.train_score_[:n_stages]
    if hasattr(model, "oob_improvement_"):
        model.oob_improvement_ = model.oob_improvement_[:n_stages]
        model.oob_scores_ = model.oob_scores_[:n_stages]
        model.oob_score_ = model.oob_scores_[-1]
    model.n_estimators_ = n_stages


class _GradientBoostingBase(BoostingEstimator):
    _allow_nan: ClassVar[bool] = False
    max_depth: int
    min_samples_leaf: int
    subsample: float
    max_features: float

    def _fit_library(self, X: Any, y: np.ndarray, w: np.ndarray | None,
                     valid: tuple[Any, np.ndarray, np.ndarray | None] | None,
                     n_trees: int, rounds: int) -> tuple[Any, int, float]:
        from sklearn import ensemble

        cls = (ensemble.GradientBoostingClassifier if self._classifier
               else ensemble.GradientBoostingRegressor)
        model = cls(n_estimators=n_trees, learning_rate=self.learning_rate,
                    max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf,
                    subsample=self.subsample, max_features=self.max_features,
                    random_state=self.random_state)
        if valid is None:
            model.fit(X, y, sample_weight=w)
            return model, n_trees, float("nan")
        monitor = _ValidationMonitor(*valid, classifier=self._classifier, rounds=rounds)
        model.fit(X, y, sample_weight=w, monitor=monitor)
        best = monitor.best_stage + 1
        _truncate(model, best)
        return model, best, monitor.best_loss


class GradientBoostingClassifier(BoostingClassifierMixin, ClassifierMixin,
                                 _GradientBoostingBase):
    """scikit-learn's gradient-boosting classifier with early stopping and class weights."""

    _classifier: ClassVar[bool] = True

    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.1,
                 max_depth: int = 3, min_samples_leaf: int = 1, subsample: float = 1.0,
                 max_features: float = 1.0, class_weight: Any = None,
                 early_stopping: bool | str = "auto", early_stopping_rounds: int | str = "auto",
                 validation_fraction: float = 0.1, min_validation_rows: int = 200,
                 random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.subsample = subsample
        self.max_features = max_features
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.min_validation_rows = min_validation_rows
        self.random_state = random_state


class GradientBoostingRegressor(RegressorMixin, _GradientBoostingBase):
    """scikit-learn's gradient-boosting regressor (squared error) with early stopping."""

    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.1,
                 max_depth: int = 3, min_samples_leaf: int = 1, subsample: float = 1.0,
                 max_features: float = 1.0, early_stopping: bool | str = "auto",
                 early_stopping_rounds: int | str = "auto", validation_fraction: float = 0.1,
                 min_validation_rows: int = 200, random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.subsample = subsample
        self.max_features = max_features
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.min_validation_rows = min_validation_rows
        self.random_state = random_state


class GradientBoostingLearner(Learner):
    """scikit-learn's exact (unbinned) gradient boosting: accurate, several times slower."""

    name: ClassVar[str] = "GradientBoosting"
    family: ClassVar[str] = "GradientBoosting"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION, TaskType.REGRESSION)
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = (
        "n_estimators", "early_stopping", "early_stopping_rounds", "validation_fraction",
        "min_validation_rows")

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "learning_rate": FloatDistribution(0.01, 0.5, log=True),
            "max_depth": IntDistribution(2, 10),
            "min_samples_leaf": IntDistribution(1, max(2, min(128, n_rows // 20)), log=True),
            "subsample": FloatDistribution(0.5, 1.0),
            "max_features": FloatDistribution(0.2, 1.0),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 1, "subsample": 1.0,
                "max_features": 1.0}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"learning_rate": 0.3, "max_depth": 2}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        # scikit-learn's gradient boosting is single-threaded: n_jobs has nothing to drive.
        if task is TaskType.CLASSIFICATION:
            return GradientBoostingClassifier(**params, class_weight=class_weight,
                                              random_state=seed)
        return GradientBoostingRegressor(**params, random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        return (GradientBoostingClassifier, GradientBoostingRegressor)

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(estimator.estimator_, float32=True)

    def tree_model(self, estimator: Any) -> TreeModel:
        return TreeModel(estimator.estimator_)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # Exact split finding, one thread, and no histogram tricks: measured at 3-4x default
        # LightGBM on 2,000 rows and 30-40x on 10,000. The ratio levels off on big data, where
        # LightGBM's cost grows linearly too.
        return float(min(500.0, max(1.0, 3.0 * (max(n_rows, 1) / 2000.0) ** 1.5)))

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {**boosting_cost_terms(point["learning_rate"], n_classes),
                "max_depth": float(point["max_depth"]), "subsample": float(point["subsample"]),
                "max_features": float(point["max_features"])}
