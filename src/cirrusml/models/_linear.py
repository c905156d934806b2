"""Linear models: LogisticRegression, SGD (both tasks), ElasticNet and LassoLars.

The regressors are fitted on a standardised target (:class:`ScaledTargetRegressor`), so their
regularisation strengths (``alpha``) and Huber widths mean the same thing whatever the units of
the target. The scaling is folded back into ``coef_`` and ``intercept_`` after fitting, so the
fitted ``estimator_`` is a plain scikit-learn linear model that predicts in the original units
(and converts to ONNX as it is).

Every linear learner gives its coefficients to explanations (:meth:`Learner.coefficients`).
ElasticNet, LassoLars and SGD's regressor share the :class:`ScaledTargetRegressor` wrapper;
each recognises its own by the regressor inside it.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import has_fit_parameter

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace
from cirrusml.models._common import check_fitted, fit_inputs, predict_input
from cirrusml.spec import TaskType


class ScaledTargetRegressor(RegressorMixin, BaseEstimator):
    """Fit a linear regressor on the standardised target, then fold the scaling back in.

    Parameters
    ----------
    estimator
        An unfitted scikit-learn linear regressor with ``coef_`` and ``intercept_`` (and
        ``fit_intercept``). If its ``fit`` takes no ``sample_weight`` (LassoLars), weights are
        applied by weighted centring and scaling rows by the square root of their weight, which
        gives the same weighted least-squares objective.

    Attributes
    ----------
    estimator_
        The fitted regressor, with coefficients in the target's original units.
    """

    def __init__(self, *, estimator: Any) -> None:
        self.estimator = estimator

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = get_tags(self.estimator).input_tags.sparse
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ScaledTargetRegressor:
        X, target, weights = fit_inputs(self, X, y, sample_weight, classifier=False)
        target = target.astype(float)
        mean = float(np.average(target, weights=weights))
        scale = float(np.sqrt(np.average((target - mean) ** 2, weights=weights)))
        if not np.isfinite(scale) or scale <= 0:
            scale = 1.0
        z = (target - mean) / scale
        model = clone(self.estimator)
        if weights is not None and not has_fit_parameter(model, "sample_weight"):
            frame = X if isinstance(X, pd.DataFrame) else None
            values = np.asarray(X, dtype=float)
            weights = weights / weights.mean()
            x_mean = np.average(values, axis=0, weights=weights)
            z_mean = float(np.average(z, weights=weights))
            root = np.sqrt(weights)
            design = (values - x_mean) * root[:, None]
            if frame is not None:
                design = pd.DataFrame(design, columns=frame.columns, index=frame.index)
            model.set_params(fit_intercept=False)
            model.fit(design, (z - z_mean) * root)
            coef = np.asarray(model.coef_, dtype=float)
            intercept: Any = z_mean - float(x_mean @ coef)
        else:
            if weights is None:
                model.fit(X, z)
            else:
                model.fit(X, z, sample_weight=weights)
            coef = np.asarray(model.coef_, dtype=float)
            intercept = model.intercept_
        model.coef_ = coef * scale
        model.intercept_ = (np.asarray(intercept, dtype=float) * scale + mean
                            if isinstance(intercept, np.ndarray)
                            else float(intercept) * scale + mean)
        self.estimator_ = model
        return self

    def predict(self, X: Any) -> np.ndarray:
        X = predict_input(self, X)
        return np.asarray(self.estimator_.predict(X), dtype=float)

    @property
    def coef_(self) -> np.ndarray:
        check_fitted(self)
        return np.asarray(self.estimator_.coef_)


def _with_array_intercept(model: Any) -> Any:
    """A linear regressor whose ``intercept_`` is a NumPy value (skl2onnx reshapes it);
    :class:`ScaledTargetRegressor` may leave a Python float there."""
    if isinstance(model.intercept_, np.ndarray):
        return model
    out = copy.copy(model)
    out.intercept_ = np.float64(model.intercept_)
    return out


def _wraps(estimator: Any, regressor: str) -> bool:
    """Whether ``estimator`` is a :class:`ScaledTargetRegressor` around a ``regressor``."""
    if type(estimator) is not ScaledTargetRegressor:
        return False
    inner = getattr(estimator, "estimator_", estimator.estimator)
    return type(inner).__name__ == regressor


class _LinearLearner(Learner):
    """What the linear learners say about their fitted estimators."""

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        if isinstance(estimator, ScaledTargetRegressor):
            return OnnxRecipe(_with_array_intercept(estimator.estimator_))
        return OnnxRecipe(estimator)

    def coefficients(self, estimator: Any) -> np.ndarray | None:
        coef = estimator.coef_  # dense, unless the model was sparsified
        return np.asarray(coef.toarray() if sp.issparse(coef) else coef, dtype=float)


class LogisticRegressionLearner(_LinearLearner):
    """L2-regularised logistic regression (lbfgs; multinomial for more than two classes)."""

    name: ClassVar[str] = "LogisticRegression"
    family: ClassVar[str] = "Linear"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION,)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = ("max_iter",)

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {"C": FloatDistribution(1e-4, 1e4, log=True)}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"C": 1.0}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"C": 0.1}  # stronger regularisation converges in fewer iterations

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(**{"max_iter": 1000, **params}, class_weight=class_weight,
                                  random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        from sklearn.linear_model import LogisticRegression

        return (LogisticRegression,)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.25

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {"log_c": math.log(float(point["C"]))}  # weaker regularisation: more iterations


class SGDLearner(_LinearLearner):
    """Linear models fitted by stochastic gradient descent.

    Classification uses a loss with probabilities (``log_loss`` or ``modified_huber``);
    regression fits the standardised target (see :class:`ScaledTargetRegressor`).
    """

    name: ClassVar[str] = "SGD"
    family: ClassVar[str] = "Linear"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION, TaskType.REGRESSION)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = ("max_iter", "tol")

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        losses = (("log_loss", "modified_huber") if task is TaskType.CLASSIFICATION
                  else ("squared_error", "huber", "epsilon_insensitive"))
        return {
            "loss": CategoricalDistribution(losses),
            "penalty": CategoricalDistribution(("l2", "l1", "elasticnet")),
            "alpha": FloatDistribution(1e-6, 1e-1, log=True),
            "l1_ratio": FloatDistribution(0.0, 1.0),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        loss = "log_loss" if task is TaskType.CLASSIFICATION else "squared_error"
        return {"loss": loss, "penalty": "l2", "alpha": 1e-4, "l1_ratio": 0.15}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        settings = {"max_iter": 1000, "tol": 1e-3, **params, "random_state": seed}
        if task is TaskType.CLASSIFICATION:
            return SGDClassifier(**settings, class_weight=class_weight, n_jobs=n_jobs)
        return ScaledTargetRegressor(estimator=SGDRegressor(**settings))

    def estimator_types(self) -> tuple[type, ...]:
        from sklearn.linear_model import SGDClassifier

        return (SGDClassifier, ScaledTargetRegressor)

    def owns(self, estimator: Any) -> bool:
        from sklearn.linear_model import SGDClassifier

        return type(estimator) is SGDClassifier or _wraps(estimator, "SGDRegressor")

    def onnx_refusal(self, estimator: Any) -> str | None:
        loss = getattr(estimator, "loss", None)
        if not isinstance(estimator, ScaledTargetRegressor) and loss not in ("log_loss",
                                                                             "modified_huber"):
            return f"uses loss '{loss}', which has no probabilities."
        return super().onnx_refusal(estimator)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.1


class ElasticNetLearner(_LinearLearner):
    """Linear regression with a mix of L1 and L2 penalties (coordinate descent)."""

    name: ClassVar[str] = "ElasticNet"
    family: ClassVar[str] = "Linear"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.REGRESSION,)
    needs_scaling: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = ("max_iter", "tol")

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        # On a standardised target, alpha >= 1 zeroes every coefficient of scaled features.
        return {"alpha": FloatDistribution(1e-5, 1.0, log=True),
                "l1_ratio": FloatDistribution(0.01, 1.0)}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"alpha": 1e-3, "l1_ratio": 0.5}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"alpha": 0.1}  # sparse solutions converge in few sweeps

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        from sklearn.linear_model import ElasticNet

        return ScaledTargetRegressor(estimator=ElasticNet(
            **{"max_iter": 2000, "tol": 1e-4, **params}, random_state=seed))

    def estimator_types(self) -> tuple[type, ...]:
        return (ScaledTargetRegressor,)

    def owns(self, estimator: Any) -> bool:
        return _wraps(estimator, "ElasticNet")

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.02 * max(1.0, n_features / 20.0)


class LassoLarsLearner(_LinearLearner):
    """Lasso fitted by least-angle regression (dense input only)."""

    name: ClassVar[str] = "LassoLars"
    family: ClassVar[str] = "Linear"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.REGRESSION,)
    needs_scaling: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = ("max_iter",)

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {"alpha": FloatDistribution(1e-5, 1.0, log=True)}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"alpha": 1e-3}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"alpha": 0.1}  # fewer active features, fewer LARS steps

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        from sklearn.linear_model import LassoLars

        return ScaledTargetRegressor(estimator=LassoLars(
            **{"max_iter": 500, **params}, random_state=seed))

    def estimator_types(self) -> tuple[type, ...]:
        return (ScaledTargetRegressor,)

    def owns(self, estimator: Any) -> bool:
        return _wraps(estimator, "LassoLars")

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 0.02 * max(1.0, n_features / 20.0)
