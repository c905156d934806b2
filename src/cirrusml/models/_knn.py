"""k-nearest neighbours (classification and regression).

scikit-learn's neighbour models take no sample weights. The wrappers here do: with weights, a
neighbour's vote (or its share of the average) is multiplied by its training weight. Without
weights they predict exactly as scikit-learn does. ``n_neighbors`` larger than the training set
is reduced to its size.

ONNX export converts the scikit-learn model a wrapper holds, which cannot weigh votes: a wrapper
fitted with unequal weights does not export.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from optuna.distributions import CategoricalDistribution, IntDistribution
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace
from cirrusml.models._common import (
    check_fitted,
    encode_labels,
    fit_inputs,
    normalise_proba,
    predict_input,
    take_rows,
)
from cirrusml.spec import TaskType


class _WeightedNeighbours(BaseEstimator):
    n_neighbors: int
    weights: str
    metric: str
    n_jobs: int
    train_weights_: np.ndarray | None
    _classifier: ClassVar[bool] = False

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _WeightedNeighbours:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        X, target, weights = fit_inputs(self, X, y, sample_weight,
                                        classifier=self._classifier)
        if weights is not None:
            # Rows of weight zero are not there at all (they must not take a neighbour's seat).
            keep = weights > 0
            if not keep.all():
                X, target, weights = take_rows(X, np.flatnonzero(keep)), target[keep], weights[keep]
            if np.allclose(weights, weights[0]):
                weights = None  # equal weights change nothing
        k = int(max(1, min(self.n_neighbors, target.shape[0])))
        cls = KNeighborsClassifier if self._classifier else KNeighborsRegressor
        self.estimator_ = cls(n_neighbors=k, weights=self.weights, metric=self.metric,
                              n_jobs=self.n_jobs)
        self.estimator_.fit(X, target)
        if self._classifier:
            self.classes_, self.train_codes_ = encode_labels(target)
        else:
            self.train_target_ = target.astype(float)
        self.train_weights_ = weights
        return self

    def _neighbour_weights(self, X: Any,
                           train_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(neighbour positions, vote weights) for every row of ``X``."""
        distances, positions = self.estimator_.kneighbors(X)
        votes = train_weights[positions]
        if self.weights == "distance":
            exact = distances == 0
            with np.errstate(divide="ignore"):
                inverse = 1.0 / distances
            # Like scikit-learn: a row with exact matches listens to them alone.
            inverse = np.where(exact.any(axis=1, keepdims=True), exact.astype(float), inverse)
            votes = votes * inverse
        return positions, votes


class WeightedKNeighborsClassifier(ClassifierMixin, _WeightedNeighbours):
    """``KNeighborsClassifier`` that honours sample weights (see module notes)."""

    _classifier: ClassVar[bool] = True

    def __init__(self, *, n_neighbors: int = 5, weights: str = "uniform",
                 metric: str = "euclidean", n_jobs: int = 1) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.metric = metric
        self.n_jobs = n_jobs

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        X = predict_input(self, X)
        if self.train_weights_ is None:
            return np.asarray(self.estimator_.predict_proba(X), dtype=float)
        positions, votes = self._neighbour_weights(X, self.train_weights_)
        codes = self.train_codes_[positions]
        proba = np.zeros((codes.shape[0], len(self.classes_)))
        for column in range(len(self.classes_)):
            proba[:, column] = np.sum(votes * (codes == column), axis=1)
        return normalise_proba(proba)

    def predict(self, X: Any) -> np.ndarray:
        check_fitted(self)  # predict_proba validates X
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class WeightedKNeighborsRegressor(RegressorMixin, _WeightedNeighbours):
    """``KNeighborsRegressor`` that honours sample weights (see module notes)."""

    def __init__(self, *, n_neighbors: int = 5, weights: str = "uniform",
                 metric: str = "euclidean", n_jobs: int = 1) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.metric = metric
        self.n_jobs = n_jobs

    def predict(self, X: Any) -> np.ndarray:
        X = predict_input(self, X)
        if self.train_weights_ is None:
            return np.asarray(self.estimator_.predict(X), dtype=float)
        positions, votes = self._neighbour_weights(X, self.train_weights_)
        totals = votes.sum(axis=1)
        values = self.train_target_[positions]
        plain = values.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = (votes * values).sum(axis=1) / totals
        return np.where(totals > 0, weighted, plain)


class KNNLearner(Learner):
    """k-nearest neighbours; training is free, prediction costs O(rows²) overall."""

    name: ClassVar[str] = "KNN"
    family: ClassVar[str] = "KNN"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION, TaskType.REGRESSION)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "n_neighbors": IntDistribution(1, max(2, min(128, n_rows // 2)), log=True),
            "weights": CategoricalDistribution(("uniform", "distance")),
            "metric": CategoricalDistribution(("euclidean", "manhattan")),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"n_neighbors": 5, "weights": "uniform", "metric": "euclidean"}

    def for_prediction(self, estimator: Any) -> None:
        # The neighbour search of one call on a thread pool costs more than it saves for the
        # few rows a request holds.
        estimator.n_jobs = 1
        if hasattr(estimator, "estimator_"):
            estimator.estimator_.n_jobs = 1

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        if task is TaskType.CLASSIFICATION:
            return WeightedKNeighborsClassifier(**params, n_jobs=n_jobs)
        return WeightedKNeighborsRegressor(**params, n_jobs=n_jobs)

    def estimator_types(self) -> tuple[type, ...]:
        return (WeightedKNeighborsClassifier, WeightedKNeighborsRegressor)

    def onnx_refusal(self, estimator: Any) -> str | None:
        if estimator.train_weights_ is not None:
            return ("was fitted with sample weights, which weigh the neighbours' votes; the "
                    "ONNX neighbour converters cannot weigh them. Fit without weights to "
                    "export it.")
        return super().onnx_refusal(estimator)

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(estimator.estimator_)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # Scoring a validation share against every training row: quadratic in the rows, where
        # LightGBM is linear.
        return float(max(0.05, n_rows / 20_000.0))

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {"log_k": math.log(max(1, int(point["n_neighbors"])))}
