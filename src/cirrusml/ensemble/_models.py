"""The two ensembles a job ends with, as scikit-learn estimators over fitted member pipelines.

Both take raw input rows like any single model: each member is a whole fitted pipeline (its own
featurization included).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from cirrusml.exceptions import NotFittedError
from cirrusml.tasks import align_proba


def member_proba(member: Any, X: Any, classes: list[Any]) -> np.ndarray:
    """``member``'s class probabilities with one column per class of ``classes`` (a class the
    member never saw gets 0): :func:`cirrusml.tasks.align_proba`."""
    return align_proba(member, X, classes)


class _Ensemble(BaseEstimator):
    """Shared by both ensembles: members are fitted pipelines, given at construction."""

    def __init__(self, *, estimators: Sequence[Any] = (), weights: Sequence[float] = (),
                 classes: Sequence[Any] | None = None, names: Sequence[str] = ()) -> None:
        self.estimators = estimators
        self.weights = weights
        self.classes = classes
        self.names = names

    def _check(self) -> None:
        if not self.estimators:
            raise NotFittedError(f"{type(self).__name__} has no member models.")

    @property
    def classes_(self) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("a regression ensemble has no classes_")
        return np.asarray(self.classes, dtype=object if any(
            isinstance(c, str) for c in self.classes) else None)

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> _Ensemble:
        """Members arrive fitted; fitting the ensemble is a no-op kept for the sklearn API."""
        self._check()
        return self

    def _member_outputs(self, X: Any) -> list[np.ndarray]:
        self._check()
        if self.classes is not None:
            classes = list(self.classes)
            return [member_proba(m, X, classes) for m in self.estimators]
        return [np.asarray(m.predict(X), dtype=float) for m in self.estimators]


class VotingEnsemble(_Ensemble):
    """Weighted soft voting (classification) or weighted averaging (regression)."""

    def _blend(self, X: Any) -> np.ndarray:
        outputs = self._member_outputs(X)
        weights = np.asarray(self.weights, dtype=float)
        weights = weights / weights.sum()
        return np.tensordot(weights, np.stack(outputs), axes=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("predict_proba is for classification ensembles")
        return self._blend(X)

    def predict(self, X: Any) -> np.ndarray:
        blended = self._blend(X)
        if self.classes is None:
            return blended
        return self.classes_[np.argmax(blended, axis=1)]


class VotingClassifierEnsemble(VotingEnsemble, ClassifierMixin):
    """VotingEnsemble for classification (scikit-learn sees a classifier)."""


class VotingRegressorEnsemble(VotingEnsemble, RegressorMixin):
    """VotingEnsemble for regression (scikit-learn sees a regressor)."""


class StackEnsemble(_Ensemble):
    """Two layers: the members' predictions feed a fitted meta-learner."""

    def __init__(self, *, estimators: Sequence[Any] = (), weights: Sequence[float] = (),
                 classes: Sequence[Any] | None = None, names: Sequence[str] = (),
                 meta_learner: Any = None) -> None:
        super().__init__(estimators=estimators, weights=weights, classes=classes, names=names)
        self.meta_learner = meta_learner

    def _meta_features(self, X: Any) -> np.ndarray:
        return stack_features(self._member_outputs(X), self.classes is not None)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("predict_proba is for classification ensembles")
        proba = np.asarray(self.meta_learner.predict_proba(self._meta_features(X)), dtype=float)
        return _align(proba, list(self.meta_learner.classes_), len(self.classes))

    def predict(self, X: Any) -> np.ndarray:
        if self.classes is None:
            return np.asarray(self.meta_learner.predict(self._meta_features(X)), dtype=float)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class StackClassifierEnsemble(StackEnsemble, ClassifierMixin):
    """StackEnsemble for classification."""


class StackRegressorEnsemble(StackEnsemble, RegressorMixin):
    """StackEnsemble for regression."""


def stack_features(outputs: Sequence[np.ndarray], classification: bool) -> np.ndarray:
    """The meta-learner's input: members' class probabilities (all but the last class, which
    the others determine) or predicted values, side by side."""
    if classification:
        blocks = [o[:, :-1] if o.shape[1] > 1 else o for o in outputs]
        return np.hstack(blocks)
    return np.column_stack(outputs)


def _align(proba: np.ndarray, fitted: list[Any], n_classes: int) -> np.ndarray:
    """Meta-learner probabilities (over class positions it saw) as one column per class."""
    if len(fitted) == n_classes:
        return proba
    out = np.zeros((proba.shape[0], n_classes))
    for j, c in enumerate(fitted):
        out[:, int(c)] = proba[:, j]
    return out
