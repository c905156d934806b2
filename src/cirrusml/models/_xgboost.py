"""XGBoost: one family under two Azure names, ``XGBoostClassifier`` and ``XGBoostRegressor``.

Both use the ``hist`` tree method with native categorical support (pandas ``category``
columns), and early stopping on an internal split (see
:mod:`cirrusml.models._early_stopping`). XGBoost has no ``class_weight``; the wrapper turns it
into sample weights.

ONNX export and Tree SHAP read the XGBoost model the wrapper holds (``estimator_``); the export
cuts it to the ``best_iteration_`` rounds the wrapper predicts with. XGBoost reads sparse
matrices as they are (absent entries are missing values), so SHAP gets them that way too.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
from optuna.distributions import FloatDistribution, IntDistribution
from sklearn.base import ClassifierMixin, RegressorMixin

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace, TreeModel
from cirrusml.models._early_stopping import (
    SMALL_BATCH_ROWS,
    BoostingClassifierMixin,
    BoostingEstimator,
    boosting_cost_terms,
)
from cirrusml.spec import TaskType


class _XGBoostBase(BoostingEstimator):
    max_depth: int
    min_child_weight: float
    subsample: float
    colsample_bytree: float
    reg_alpha: float
    reg_lambda: float
    max_bin: int
    n_jobs: int
    _reads_arrays: ClassVar[bool] = True

    def _array_output(self, array: np.ndarray) -> np.ndarray:
        # The columns are the training frame's (checked by frame_as_array), so XGBoost need
        # not check the names again; the array holds what it reads from the frame.
        model = self._one_thread() if len(array) <= SMALL_BATCH_ROWS else self.estimator_
        if self._classifier:
            return np.asarray(model.predict_proba(array, validate_features=False), dtype=float)
        return np.asarray(model.predict(array, validate_features=False), dtype=float)

    def _one_thread(self) -> Any:
        """The XGBoost model set to predict on one thread (a copy, made once per process)."""
        model = self.__dict__.get("_one_thread_model")
        if model is None:
            model = copy.copy(self.estimator_)
            model._Booster = self.estimator_.get_booster().copy()
            model._Booster.set_param({"nthread": 1})
            model.n_jobs = 1
            self.__dict__["_one_thread_model"] = model
        return model

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "_one_thread_model"}

    def _fit_library(self, X: Any, y: np.ndarray, w: np.ndarray | None,
                     valid: tuple[Any, np.ndarray, np.ndarray | None] | None,
                     n_trees: int, rounds: int) -> tuple[Any, int, float]:
        import xgboost as xgb

        cls = xgb.XGBClassifier if self._classifier else xgb.XGBRegressor
        model = cls(
            n_estimators=n_trees, learning_rate=self.learning_rate, max_depth=self.max_depth,
            min_child_weight=self.min_child_weight, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, reg_alpha=self.reg_alpha,
            reg_lambda=self.reg_lambda, max_bin=self.max_bin, tree_method="hist",
            enable_categorical=True, early_stopping_rounds=None if valid is None else rounds,
            n_jobs=self.n_jobs, random_state=self.random_state, verbosity=0)
        if valid is None:
            model.fit(X, y, sample_weight=w, verbose=False)
            return model, n_trees, float("nan")
        X_val, y_val, w_val = valid
        model.fit(X, y, sample_weight=w, eval_set=[(X_val, y_val)],
                  sample_weight_eval_set=None if w_val is None else [w_val], verbose=False)
        # XGBoost counts rounds from 0 and predicts with the best one once it stopped early.
        return model, int(model.best_iteration) + 1, float(model.best_score)


class XGBoostClassifier(BoostingClassifierMixin, ClassifierMixin, _XGBoostBase):
    """XGBoost classifier that picks its number of trees by early stopping.

    Labels may be any sortable values (XGBoost itself wants ``0..K-1``); ``class_weight``
    multiplies the sample weights.
    """

    _classifier: ClassVar[bool] = True

    def __init__(self, *, n_estimators: int = 2000, learning_rate: float = 0.1,
                 max_depth: int = 6, min_child_weight: float = 1.0, subsample: float = 1.0,
                 colsample_bytree: float = 1.0, reg_alpha: float = 0.0, reg_lambda: float = 1.0,
                 max_bin: int = 256, class_weight: Any = None,
                 early_stopping: bool | str = "auto", early_stopping_rounds: int | str = "auto",
                 validation_fraction: float = 0.1, min_validation_rows: int = 200,
                 n_jobs: int = 1, random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.min_validation_rows = min_validation_rows
        self.n_jobs = n_jobs
        self.random_state = random_state


class XGBoostRegressor(RegressorMixin, _XGBoostBase):
    """XGBoost regressor that picks its number of trees by early stopping."""

    def __init__(self, *, n_estimators: int = 2000, learning_rate: float = 0.1,
                 max_depth: int = 6, min_child_weight: float = 1.0, subsample: float = 1.0,
                 colsample_bytree: float = 1.0, reg_alpha: float = 0.0, reg_lambda: float = 1.0,
                 max_bin: int = 256, early_stopping: bool | str = "auto",
                 early_stopping_rounds: int | str = "auto", validation_fraction: float = 0.1,
                 min_validation_rows: int = 200, n_jobs: int = 1,
                 random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.min_validation_rows = min_validation_rows
        self.n_jobs = n_jobs
        self.random_state = random_state


def at_best_iteration(wrapper: Any) -> Any:
    """The wrapper's XGBoost model cut to the rounds it predicts with."""
    model = wrapper.estimator_
    booster = model.get_booster()
    best = int(wrapper.best_iteration_)
    if best >= booster.num_boosted_rounds():
        return model
    cut = copy.copy(model)
    cut._Booster = booster[:best]
    return cut


class _XGBoostLearner(Learner):
    """What both XGBoost names share: the space, the defaults and the cost."""

    family: ClassVar[str] = "XGBoost"
    native_categorical: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = (
        "n_estimators", "early_stopping", "early_stopping_rounds", "validation_fraction",
        "min_validation_rows", "max_bin")
    runtime_packages: ClassVar[tuple[str, ...]] = ("xgboost-cpu",)

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "max_depth": IntDistribution(2, 12),
            "learning_rate": FloatDistribution(0.01, 0.5, log=True),
            "min_child_weight": FloatDistribution(0.01, 128.0, log=True),
            "subsample": FloatDistribution(0.5, 1.0),
            "colsample_bytree": FloatDistribution(0.3, 1.0),
            "reg_alpha": FloatDistribution(1e-3, 100.0, log=True),
            "reg_lambda": FloatDistribution(1e-3, 100.0, log=True),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"max_depth": 6, "learning_rate": 0.1, "min_child_weight": 1.0,
                "subsample": 1.0, "colsample_bytree": 1.0, "reg_alpha": 1e-3,
                "reg_lambda": 1.0}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"max_depth": 3, "learning_rate": 0.3}

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 1.2

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {**boosting_cost_terms(point["learning_rate"], n_classes),
                "max_depth": float(point["max_depth"]),
                "colsample": float(point["colsample_bytree"]),
                "subsample": float(point["subsample"])}

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(at_best_iteration(estimator), float32=True)

    def tree_model(self, estimator: Any) -> TreeModel:
        return TreeModel(estimator.estimator_, frames=True, sparse=True)


class XGBoostClassifierLearner(_XGBoostLearner):
    name: ClassVar[str] = "XGBoostClassifier"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION,)

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return XGBoostClassifier(**params, class_weight=class_weight, n_jobs=n_jobs,
                                 random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        return (XGBoostClassifier,)


class XGBoostRegressorLearner(_XGBoostLearner):
    name: ClassVar[str] = "XGBoostRegressor"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.REGRESSION,)
    supports_class_weight: ClassVar[bool] = False

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return XGBoostRegressor(**params, n_jobs=n_jobs, random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        return (XGBoostRegressor,)
