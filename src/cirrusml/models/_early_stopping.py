"""Boosting with early stopping on an internal validation split.

The boosting learners (LightGBM, XGBoost, GradientBoosting) get a generous tree budget
(``n_estimators``) and stop adding trees once the loss on a validation split carved from the rows
they are given has not improved for ``early_stopping_rounds`` rounds. The fitted model predicts
with its best round, so the search never tunes the number of trees.

The split
---------
* ``validation_fraction`` (10 %) of the rows, but at least ``min_validation_rows`` (200), so the
  validation loss is not noise.
* With ``early_stopping="auto"`` the split is made only when it takes at most 20 % of the rows
  (1,000 rows with the defaults). Smaller data is fitted on every row with a fixed number of
  trees, ``10 / learning_rate`` clipped to [20, 500] (100 trees at the default rate).
* For classification the split is stratified, and every class keeps at least one training row.
* Sample weights (including class weights) weigh the validation loss too.

``early_stopping_rounds="auto"`` waits ``5 / learning_rate`` rounds, clipped to [10, 200].

Fitted attributes shared by the wrappers: ``estimator_`` (the library model), ``best_iteration_``
(the number of rounds the model predicts with, counted from 1), ``early_stopping_`` (whether a
validation split was used), ``best_score_`` (validation loss at the best round, NaN without a
split), ``classes_`` (classifiers), ``n_features_in_`` and ``feature_importances_``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from cirrusml.exceptions import InvalidSpecError
from cirrusml.models._common import (
    check_fitted,
    encode_labels,
    fit_inputs,
    frame_as_array,
    frame_layout,
    holdout_rows,
    predict_input,
    take_rows,
    with_class_weight,
)

#: With ``early_stopping="auto"``, split only when the validation rows are at most this share.
_MAX_AUTO_SHARE = 0.2
#: Batches of at most this many rows are predicted on one thread: waking more costs more than
#: their trees (each row's prediction is the same on any number of threads).
SMALL_BATCH_ROWS = 1000


def patience(learning_rate: float) -> int:
    """Rounds without improvement before stopping, for a learning rate."""
    return int(min(200, max(10, round(5.0 / learning_rate))))


def boosting_cost_terms(learning_rate: float, n_classes: int) -> dict[str, float]:
    """A boosting learner's cost terms (:meth:`~cirrusml.models.Learner.cost_terms`): early
    stopping fits about ``1 / learning_rate`` rounds, and each round grows one tree per class
    when there are more than two classes (one otherwise)."""
    return {"log_classes": math.log(n_classes) if n_classes > 2 else 0.0,
            "log_rounds": -math.log(max(1e-6, float(learning_rate)))}


def fallback_trees(learning_rate: float, budget: int) -> int:
    """Trees to fit when there is no validation split."""
    return int(min(budget, 500, max(20, round(10.0 / learning_rate))))


class BoostingEstimator(BaseEstimator):
    """Shared ``fit`` of the early-stopping wrappers; subclasses drive one library.

    Subclasses define ``__init__`` (keyword-only, storing every argument under its own name,
    including ``n_estimators``, ``learning_rate``, ``early_stopping``,
    ``early_stopping_rounds``, ``validation_fraction``, ``min_validation_rows``,
    ``random_state`` and, for classifiers, ``class_weight``) and :meth:`_fit_library`.
    """

    _classifier: ClassVar[bool] = False
    #: The library routes missing values itself (LightGBM and XGBoost do).
    _allow_nan: ClassVar[bool] = True
    #: :meth:`_array_output` predicts from a training frame's float array.
    _reads_arrays: ClassVar[bool] = False

    n_estimators: int
    learning_rate: float
    early_stopping: bool | str
    early_stopping_rounds: int | str
    validation_fraction: float
    min_validation_rows: int
    random_state: int | None

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BoostingEstimator:
        """Fit on ``X``, ``y``, holding out a validation split for early stopping if it pays."""
        self._check_params()
        X, target, weights = fit_inputs(self, X, y, sample_weight, classifier=self._classifier)
        n = target.shape[0]
        if self._classifier:
            class_weight: str | Mapping[Any, float] | None = getattr(self, "class_weight", None)
            weights = with_class_weight(class_weight, target, weights)
            self.classes_, encoded = encode_labels(target)
        else:
            encoded = target.astype(float)

        n_holdout = self._holdout_size(n)
        kept = held = None
        if n_holdout > 0:
            rng = np.random.default_rng(self.random_state)
            kept, held = holdout_rows(n, n_holdout, rng, encoded if self._classifier else None)
            if held.size == 0:
                kept = held = None
        if kept is None or held is None:
            trees = fallback_trees(self.learning_rate, self.n_estimators)
            self.estimator_, self.best_iteration_, self.best_score_ = self._fit_library(
                X, encoded, weights, None, trees, 0)
            self.early_stopping_ = False
        else:
            rounds = (patience(self.learning_rate) if self.early_stopping_rounds == "auto"
                      else int(self.early_stopping_rounds))
            train = (take_rows(X, kept), encoded[kept],
                     None if weights is None else weights[kept])
            valid = (take_rows(X, held), encoded[held],
                     None if weights is None else weights[held])
            self.estimator_, self.best_iteration_, self.best_score_ = self._fit_library(
                *train, valid, self.n_estimators, rounds)
            self.early_stopping_ = True
        self.best_iteration_ = int(self.best_iteration_)
        self.frame_layout_ = frame_layout(X)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self._allow_nan
        return tags

    @abstractmethod
    def _fit_library(self, X: Any, y: np.ndarray, w: np.ndarray | None,
                     valid: tuple[Any, np.ndarray, np.ndarray | None] | None,
                     n_trees: int, rounds: int) -> tuple[Any, int, float]:
        """Fit the library model; return (model, rounds it predicts with, best validation loss).

        ``valid`` is ``None`` when there is no split: fit exactly ``n_trees`` trees. ``y`` holds
        class codes ``0..K-1`` for classifiers.
        """

    def _check_params(self) -> None:
        if not (isinstance(self.n_estimators, (int, np.integer)) and self.n_estimators >= 1):
            raise InvalidSpecError(f"n_estimators must be a positive integer; got {self.n_estimators!r}.")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise InvalidSpecError(f"learning_rate must be positive; got {self.learning_rate!r}.")
        if self.early_stopping not in ("auto", True, False):
            raise InvalidSpecError(
                f"early_stopping must be 'auto', True or False; got {self.early_stopping!r}.")
        if self.early_stopping_rounds != "auto" and not (
                isinstance(self.early_stopping_rounds, (int, np.integer))
                and self.early_stopping_rounds >= 1):
            raise InvalidSpecError("early_stopping_rounds must be 'auto' or a positive integer; got "
                             f"{self.early_stopping_rounds!r}.")
        if not 0.0 < self.validation_fraction < 1.0:
            raise InvalidSpecError("validation_fraction must lie strictly between 0 and 1; got "
                             f"{self.validation_fraction!r}.")

    def _holdout_size(self, n: int) -> int:
        if self.early_stopping is False or n < 4:
            return 0
        size = max(math.ceil(self.validation_fraction * n), int(self.min_validation_rows))
        if self.early_stopping == "auto":
            return size if size <= _MAX_AUTO_SHARE * n else 0
        return min(size, n // 2)

    # ------------------------------------------------------------------ prediction

    def _library_output(self, X: Any) -> np.ndarray:
        """The library model's probabilities (classifiers) or predictions (regressors) for
        validated rows. For a library with :meth:`_array_output`, a frame laid out as in
        training goes in as the float array the library would make of it
        (:func:`~cirrusml.models._common.frame_as_array`); anything else as it is."""
        if self._reads_arrays:
            array = frame_as_array(X, getattr(self, "frame_layout_", None))
            if array is not None:
                return self._array_output(array)
        if self._classifier:
            return np.asarray(self.estimator_.predict_proba(X), dtype=float)
        return np.asarray(self.estimator_.predict(X), dtype=float)

    def _array_output(self, array: np.ndarray) -> np.ndarray:
        """:meth:`_library_output` for a training-shaped frame read as a float array (only
        for a library with ``_reads_arrays``, which reads such an array as it reads the frame,
        only faster)."""
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        X = predict_input(self, X)
        if self._classifier:
            proba = self._proba(X)
            return np.asarray(self.classes_[np.argmax(proba, axis=1)])
        return self._library_output(X)

    def _proba(self, X: Any) -> np.ndarray:
        proba = self._library_output(X)
        if proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        return proba

    @property
    def feature_importances_(self) -> np.ndarray:
        """Importances reported by the library model."""
        check_fitted(self)
        return np.asarray(self.estimator_.feature_importances_)


class BoostingClassifierMixin:
    """``predict_proba`` for the classifier wrappers (regressors must not have it at all)."""

    classes_: np.ndarray
    estimator_: Any
    _proba: Callable[[Any], np.ndarray]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        return self._proba(predict_input(self, X))
