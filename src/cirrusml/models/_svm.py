"""Support vector machines (classification): SVM (kernel) and LinearSVM.

Both give calibrated probabilities:

* ``SVM`` is :class:`SubsampledSVC`: libsvm's ``SVC(probability=True)`` (Platt scaling fitted
  by libsvm's internal cross-validation). Kernel SVMs cost O(n²) or worse, so the wrapper trains
  on a stratified sample of at most ``max_rows`` (10,000) rows, and the learner's
  :meth:`~SVMLearner.cost_hint` grows with the rows it trains on. ``gamma_scale`` multiplies
  scikit-learn's ``gamma="scale"`` (``1 / (n_features * X.var())``), so its range suits any data.
* ``LinearSVM`` is :class:`CalibratedLinearSVC`: ``LinearSVC`` with sigmoid calibration on
  cross-validated decision values (3 folds, fewer when a class is smaller than that; in-sample
  when a class has a single row); the final ``LinearSVC`` is fitted on every row. Class
  weights act as sample weights on both the SVM and its calibration.

Predicted labels are the most probable class, so ``predict`` always agrees with
``predict_proba``. (There is no ``decision_function``: the SVM's raw margins would disagree with
the calibrated labels.)

ONNX export converts the scikit-learn model each wrapper holds (``estimator_``).
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.base import BaseEstimator, ClassifierMixin

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace
from cirrusml.models._common import (
    check_fitted,
    encode_labels,
    fit_inputs,
    holdout_rows,
    predict_input,
    take_rows,
    with_class_weight,
)
from cirrusml.spec import TaskType


def _overall_variance(X: Any) -> float:
    """Variance of every entry of ``X`` taken together (as ``gamma="scale"`` uses it)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=float)
        mean = X.mean()
        return float(X.multiply(X).mean() - mean ** 2)
    return float(np.var(np.asarray(X, dtype=float)))


class _ProbabilisticClassifier(ClassifierMixin, BaseEstimator):
    estimator_: Any
    classes_: np.ndarray

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        X = predict_input(self, X)
        return np.asarray(self.estimator_.predict_proba(X), dtype=float)

    def predict(self, X: Any) -> np.ndarray:
        check_fitted(self)  # predict_proba validates X
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])



class SubsampledSVC(_ProbabilisticClassifier):
    """Kernel SVM with probabilities, trained on at most ``max_rows`` rows (see module notes).

    Attributes
    ----------
    estimator_
        The fitted ``sklearn.svm.SVC``.
    gamma_
        The kernel coefficient used.
    n_train_rows_
        Rows actually trained on.
    """

    def __init__(self, *, C: float = 1.0, kernel: str = "rbf", gamma_scale: float = 1.0,
                 degree: int = 3, class_weight: Any = None, max_rows: int = 10_000,
                 max_iter: int = 1_000_000, cache_size: float = 500.0,
                 random_state: int | None = 0) -> None:
        self.C = C
        self.kernel = kernel
        self.gamma_scale = gamma_scale
        self.degree = degree
        self.class_weight = class_weight
        self.max_rows = max_rows
        self.max_iter = max_iter
        self.cache_size = cache_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SubsampledSVC:
        from sklearn.svm import SVC

        X, target, weights = fit_inputs(self, X, y, sample_weight, classifier=True)
        self.classes_, codes = encode_labels(target)
        n = target.shape[0]
        if n > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            _, rows = holdout_rows(n, int(self.max_rows), rng, codes)
            X, target = take_rows(X, rows), target[rows]
            weights = None if weights is None else weights[rows]
        self.n_train_rows_ = int(target.shape[0])
        variance = _overall_variance(X)
        n_features = int(X.shape[1])
        self.gamma_ = float(self.gamma_scale) / (n_features * variance if variance > 0 else 1.0)
        self.estimator_ = SVC(C=self.C, kernel=self.kernel, gamma=self.gamma_,
                              degree=self.degree, class_weight=self.class_weight,
                              probability=True, max_iter=self.max_iter,
                              cache_size=self.cache_size, random_state=self.random_state)
        self.estimator_.fit(X, target, sample_weight=weights)
        return self


class CalibratedLinearSVC(_ProbabilisticClassifier):
    """``LinearSVC`` with sigmoid-calibrated probabilities (see module notes).

    Attributes
    ----------
    estimator_
        The fitted ``CalibratedClassifierCV`` (its ``calibrated_classifiers_[0].estimator`` is
        the ``LinearSVC`` fitted on every row).
    """

    def __init__(self, *, C: float = 1.0, loss: str = "squared_hinge", class_weight: Any = None,
                 max_iter: int = 2000, tol: float = 1e-4, calibration_folds: int = 3,
                 random_state: int | None = 0) -> None:
        self.C = C
        self.loss = loss
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CalibratedLinearSVC:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import LinearSVC

        X, target, weights = fit_inputs(self, X, y, sample_weight, classifier=True)
        self.classes_, codes = encode_labels(target)
        # Class weights become sample weights, so that the calibration sees them too (it would
        # otherwise pull the probabilities back to the unweighted class frequencies).
        weights = with_class_weight(self.class_weight, target, weights)
        if weights is not None and not np.all(weights > 0):
            # Rows of weight zero are left out, so that no calibration fold is left with a
            # class whose rows all weigh nothing.
            keep = np.flatnonzero(weights > 0)
            X, target, weights = take_rows(X, keep), target[keep], weights[keep]
            self.classes_, codes = encode_labels(target)
        svc = LinearSVC(C=self.C, loss=self.loss, max_iter=self.max_iter, tol=self.tol,
                        random_state=self.random_state)
        folds = int(min(self.calibration_folds, np.bincount(codes).min()))
        extra = {} if weights is None else {"sample_weight": weights}
        if folds >= 2:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            self.estimator_ = CalibratedClassifierCV(svc, method="sigmoid", cv=cv,
                                                     ensemble=False)
        else:
            svc.fit(X, target, **extra)
            self.estimator_ = CalibratedClassifierCV(FrozenEstimator(svc), method="sigmoid")
        self.estimator_.fit(X, target, **extra)
        return self


def _unfrozen(calibrated: Any) -> Any:
    """``CalibratedClassifierCV`` with any ``FrozenEstimator`` replaced by the model it holds
    (skl2onnx converts the model, not the frozen wrapper)."""
    from sklearn.frozen import FrozenEstimator

    if not any(isinstance(c.estimator, FrozenEstimator)
               for c in calibrated.calibrated_classifiers_):
        return calibrated
    out = copy.copy(calibrated)
    out.calibrated_classifiers_ = []
    for fitted in calibrated.calibrated_classifiers_:
        piece = copy.copy(fitted)
        if isinstance(piece.estimator, FrozenEstimator):
            piece.estimator = piece.estimator.estimator
        out.calibrated_classifiers_.append(piece)
    return out


class SVMLearner(Learner):
    """Kernel SVM (rbf or polynomial), capped at 10,000 training rows."""

    name: ClassVar[str] = "SVM"
    family: ClassVar[str] = "SVM"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION,)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = ("max_rows", "degree", "max_iter")

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {"C": FloatDistribution(1e-2, 1e3, log=True),
                "kernel": CategoricalDistribution(("rbf", "poly")),
                "gamma_scale": FloatDistribution(0.05, 20.0, log=True)}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"C": 1.0, "kernel": "rbf", "gamma_scale": 1.0}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return SubsampledSVC(**params, class_weight=class_weight, random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        return (SubsampledSVC,)

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(estimator.estimator_)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # libsvm grows about quadratically with the rows it trains on (times six for the
        # probability cross-validation), up to the 10,000-row cap; measured at 0.6x default
        # LightGBM on 2,000 rows and 10x on 10,000.
        rows = max(n_rows, 1)
        trained = min(rows, 10_000)
        return float(max(0.1, 0.6 * (trained / 2000.0) ** 2 * math.sqrt(trained / rows)))

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        # libsvm trains on at most SubsampledSVC's row cap.
        return {"log_rows": math.log(min(n_rows, 10_000)), "log_c": math.log(float(point["C"])),
                "linear_kernel": float(point["kernel"] == "linear")}


class LinearSVMLearner(Learner):
    """Linear SVM (liblinear) with sigmoid-calibrated probabilities."""

    name: ClassVar[str] = "LinearSVM"
    family: ClassVar[str] = "SVM"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION,)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = ("max_iter", "tol", "calibration_folds")

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {"C": FloatDistribution(1e-3, 1e3, log=True),
                "loss": CategoricalDistribution(("squared_hinge", "hinge"))}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"C": 1.0, "loss": "squared_hinge"}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"C": 0.1}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return CalibratedLinearSVC(**params, class_weight=class_weight, random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        return (CalibratedLinearSVC,)

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(_unfrozen(estimator.estimator_))

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.2

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {"log_c": math.log(float(point["C"]))}
