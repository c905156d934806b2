"""Naive Bayes: MultinomialNaiveBayes and BernoulliNaiveBayes (classification).

Multinomial naive Bayes models non-negative counts. :class:`NonNegativeMultinomialNB` makes it
usable on any real-valued features: dense input is min-max scaled to [0, 1] with the training
range (values outside it are clipped at prediction time); sparse input is divided by each
column's largest absolute training value and negative entries are set to zero, which keeps the
matrix sparse (sparse features, such as counts and TF-IDF, are non-negative anyway).

Bernoulli naive Bayes thresholds every feature at ``binarize``; on standardised features (the
featurizer scales for it) the default 0 splits each feature at its mean.

ONNX export of :class:`NonNegativeMultinomialNB` converts its scaler, clips into [0, 1] and
converts the ``MultinomialNB``; only a model fitted on dense features exports.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.base import BaseEstimator, ClassifierMixin

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace
from cirrusml.models._common import check_fitted, fit_inputs, predict_input, take_rows
from cirrusml.spec import TaskType


class NonNegativeMultinomialNB(ClassifierMixin, BaseEstimator):
    """Multinomial naive Bayes on features rescaled to be non-negative (see module notes).

    Attributes
    ----------
    scaler_
        The fitted ``MinMaxScaler`` (dense input) or ``MaxAbsScaler`` (sparse input).
    estimator_
        The fitted ``MultinomialNB``.
    """

    def __init__(self, *, alpha: float = 1.0, fit_prior: bool = True) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _rescale(self, X: Any) -> Any:
        if self.sparse_input_:
            scaled = self.scaler_.transform(sp.csr_matrix(X))
            return scaled.maximum(0)
        if sp.issparse(X):
            X = X.toarray()
        return np.clip(self.scaler_.transform(np.asarray(X, dtype=float)), 0.0, 1.0)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NonNegativeMultinomialNB:
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler

        X, target, weights = fit_inputs(self, X, y, sample_weight, classifier=True)
        self.sparse_input_ = bool(sp.issparse(X))
        # The scaling range comes from the rows that count (weight above zero).
        counted = X if weights is None else take_rows(X, np.flatnonzero(weights > 0))
        self.scaler_ = (MaxAbsScaler().fit(sp.csr_matrix(counted)) if self.sparse_input_
                        else MinMaxScaler().fit(np.asarray(counted, dtype=float)))
        self.estimator_ = MultinomialNB(alpha=self.alpha, fit_prior=self.fit_prior)
        self.estimator_.fit(self._rescale(X), target, sample_weight=weights)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        X = predict_input(self, X)
        return np.asarray(self.estimator_.predict_proba(self._rescale(X)))

    def predict(self, X: Any) -> np.ndarray:
        check_fitted(self)
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class MultinomialNaiveBayesLearner(Learner):
    name: ClassVar[str] = "MultinomialNaiveBayes"
    family: ClassVar[str] = "NaiveBayes"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION,)
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {"alpha": FloatDistribution(1e-3, 10.0, log=True),
                "fit_prior": CategoricalDistribution((True, False))}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"alpha": 1.0, "fit_prior": True}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return NonNegativeMultinomialNB(**params)

    def estimator_types(self) -> tuple[type, ...]:
        return (NonNegativeMultinomialNB,)

    def onnx_refusal(self, estimator: Any) -> str | None:
        if estimator.sparse_input_:
            return ("was fitted on sparse features; only the dense features of the "
                    "ONNX-compatible featurizer export.")
        return super().onnx_refusal(estimator)

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(estimator.estimator_, preprocess=estimator.scaler_, clip=(0.0, 1.0))

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.01


class BernoulliNaiveBayesLearner(Learner):
    name: ClassVar[str] = "BernoulliNaiveBayes"
    family: ClassVar[str] = "NaiveBayes"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION,)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        # Thresholds below 0 are refused on sparse input (they would densify it).
        return {"alpha": FloatDistribution(1e-3, 10.0, log=True),
                "binarize": FloatDistribution(0.0, 1.0),
                "fit_prior": CategoricalDistribution((True, False))}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"alpha": 1.0, "binarize": 0.0, "fit_prior": True}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        from sklearn.naive_bayes import BernoulliNB

        return BernoulliNB(**params)

    def estimator_types(self) -> tuple[type, ...]:
        from sklearn.naive_bayes import BernoulliNB

        return (BernoulliNB,)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.01
