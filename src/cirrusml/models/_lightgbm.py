"""LightGBM (classification and regression), with early stopping on an internal split.

Search-only encoding: ``log_max_bin`` (3..10) becomes ``max_bin = 2**log_max_bin - 1``; a
``subsample`` below 1 turns bagging on (``subsample_freq=1``), which LightGBM needs to use it.

ONNX export and Tree SHAP read the LightGBM model the wrapper holds (``estimator_``); the export
cuts it to the ``best_iteration_`` rounds the wrapper predicts with.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any, ClassVar

import numpy as np
from optuna.distributions import FloatDistribution, IntDistribution
from sklearn.base import ClassifierMixin, RegressorMixin

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace, TreeModel
from cirrusml.models._common import frame_layout, record_input
from cirrusml.models._early_stopping import (
    SMALL_BATCH_ROWS,
    BoostingClassifierMixin,
    BoostingEstimator,
    boosting_cost_terms,
    fallback_trees,
)
from cirrusml.spec import TaskType


@functools.cache
def _has_eval_xy() -> bool:
    """Whether this LightGBM takes ``eval_X``/``eval_y`` (4.7 and later)."""
    import inspect

    import lightgbm as lgb

    return "eval_X" in inspect.signature(lgb.LGBMModel.fit).parameters


#: Trees per float32 partial sum of an exported LightGBM regressor (onnxmltools' ``split``):
#: LightGBM sums its trees in float64, the ONNX tree operator in float32.
ONNX_TREE_GROUP = 20

#: LightGBM's default (and our largest) socket time-out between distributed workers, minutes.
_MAX_SOCKET_MINUTES = 120

_ES_PARAMS = ("n_estimators", "early_stopping", "early_stopping_rounds", "validation_fraction",
              "min_validation_rows")


class _LightGBMBase(BoostingEstimator):
    num_leaves: int
    max_depth: int
    min_child_samples: int
    subsample: float
    subsample_freq: int
    colsample_bytree: float
    reg_alpha: float
    reg_lambda: float
    max_bin: int
    n_jobs: int
    _reads_arrays: ClassVar[bool] = True

    def _array_output(self, array: np.ndarray) -> np.ndarray:
        # What LGBMModel.predict does after reading a frame into this very array: the booster
        # predicts (at its best iteration) with the model's thread count.
        model = self.estimator_
        threads = 1 if len(array) <= SMALL_BATCH_ROWS else model._process_n_jobs(model.n_jobs)
        out = np.asarray(model.booster_.predict(array, num_threads=threads, verbose=-1),
                         dtype=float)
        if self._classifier and out.ndim == 1:  # binary: LGBMClassifier's two columns
            return np.vstack((1.0 - out, out)).transpose()
        return out

    def fit_dask(self, client: Any, X: Any, y: Any, sample_weight: Any = None, *,
                 classes: Any = None, time_out_minutes: int = 120) -> _LightGBMBase:
        """Fit across the workers of ``client``'s Dask cluster (``lightgbm.dask``) on Dask
        collections ``X`` (a DataFrame laid out as the rows to predict will be), ``y`` and
        ``sample_weight`` (Series, partitioned like ``X``), so that no process holds all the
        rows. Classifiers take their ``classes`` (every label, sorted as
        :func:`~cirrusml.models._common.encode_labels` sorts them) and ``y`` as those labels.

        ``lightgbm.dask`` has no early stopping: the model fits the trees this learner fits
        without a validation split (:func:`fallback_trees`). The fitted model is an ordinary
        LightGBM model (``to_local``), so the wrapper predicts, exports and explains as after
        :meth:`fit`. ``time_out_minutes`` bounds LightGBM's own socket waits between workers.
        """
        import lightgbm as lgb

        self._check_params()
        trees = fallback_trees(self.learning_rate, self.n_estimators)
        # LightGBM keeps the time-out in int milliseconds: past 120 minutes (its default) it
        # would overflow into a time-out that fails every socket wait at once.
        params = {**self._library_params(),
                  "time_out": int(min(max(1, time_out_minutes), _MAX_SOCKET_MINUTES))}
        if self._classifier:
            self.classes_ = np.asarray(sorted(classes))
            index = {label: code for code, label in enumerate(self.classes_.tolist())}
            target = y.map(index, meta=(y.name, "int64"))
            class_weight = getattr(self, "class_weight", None)
            model: Any = lgb.DaskLGBMClassifier(client=client, n_estimators=trees,
                                                class_weight=class_weight, **params)
        else:
            target = y.astype("float64")
            model = lgb.DaskLGBMRegressor(client=client, n_estimators=trees, **params)
        model.fit(X, target, sample_weight=sample_weight)
        self.estimator_ = model.to_local()
        self.best_iteration_, self.best_score_ = trees, float("nan")
        self.early_stopping_ = False
        self.frame_layout_ = frame_layout(X._meta)
        record_input(self, X._meta)
        return self

    def _library_params(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "max_depth": self.max_depth, "min_child_samples": self.min_child_samples,
            "subsample": self.subsample, "subsample_freq": self.subsample_freq,
            "colsample_bytree": self.colsample_bytree, "reg_alpha": self.reg_alpha,
            "reg_lambda": self.reg_lambda, "max_bin": self.max_bin, "n_jobs": self.n_jobs,
            "random_state": self.random_state, "verbose": -1,
        }

    def _fit_library(self, X: Any, y: np.ndarray, w: np.ndarray | None,
                     valid: tuple[Any, np.ndarray, np.ndarray | None] | None,
                     n_trees: int, rounds: int) -> tuple[Any, int, float]:
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if self._classifier else lgb.LGBMRegressor
        model = cls(n_estimators=n_trees, **self._library_params())
        if valid is None:
            model.fit(X, y, sample_weight=w)
            return model, n_trees, float("nan")
        X_val, y_val, w_val = valid
        # LightGBM 4.7 renamed eval_set to eval_X/eval_y; older releases know only eval_set.
        evaluation: dict[str, Any] = (
            {"eval_X": (X_val,), "eval_y": (y_val,)} if _has_eval_xy()
            else {"eval_set": [(X_val, y_val)]})
        model.fit(X, y, sample_weight=w, **evaluation,
                  eval_sample_weight=None if w_val is None else [w_val],
                  callbacks=[lgb.early_stopping(rounds, first_metric_only=True, verbose=False)])
        best = int(model.best_iteration_) or n_trees
        scores = model.best_score_.get("valid_0", {})
        return model, best, float(next(iter(scores.values()))) if scores else float("nan")


class LightGBMClassifier(BoostingClassifierMixin, ClassifierMixin, _LightGBMBase):
    """LightGBM classifier that picks its number of trees by early stopping.

    See :mod:`cirrusml.models._early_stopping` for the split and the stopping rule. Takes pandas
    ``category`` columns natively and scipy sparse matrices.
    """

    _classifier: ClassVar[bool] = True

    def __init__(self, *, n_estimators: int = 2000, learning_rate: float = 0.1,
                 num_leaves: int = 31, max_depth: int = -1, min_child_samples: int = 20,
                 subsample: float = 1.0, subsample_freq: int = 0, colsample_bytree: float = 1.0,
                 reg_alpha: float = 0.0, reg_lambda: float = 0.0, max_bin: int = 255,
                 class_weight: Any = None, early_stopping: bool | str = "auto",
                 early_stopping_rounds: int | str = "auto", validation_fraction: float = 0.1,
                 min_validation_rows: int = 200, n_jobs: int = 1,
                 random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
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


class LightGBMRegressor(RegressorMixin, _LightGBMBase):
    """LightGBM regressor that picks its number of trees by early stopping."""

    def __init__(self, *, n_estimators: int = 2000, learning_rate: float = 0.1,
                 num_leaves: int = 31, max_depth: int = -1, min_child_samples: int = 20,
                 subsample: float = 1.0, subsample_freq: int = 0, colsample_bytree: float = 1.0,
                 reg_alpha: float = 0.0, reg_lambda: float = 0.0, max_bin: int = 255,
                 early_stopping: bool | str = "auto", early_stopping_rounds: int | str = "auto",
                 validation_fraction: float = 0.1, min_validation_rows: int = 200,
                 n_jobs: int = 1, random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
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
    """The wrapper's LightGBM model cut to the rounds it predicts with."""
    import lightgbm as lgb

    model = wrapper.estimator_
    booster = model.booster_
    best = int(wrapper.best_iteration_)
    if best >= booster.current_iteration():
        return model
    cut = copy.copy(model)
    cut._Booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return cut


class LightGBMLearner(Learner):
    """Gradient-boosted trees by LightGBM; the reference for :meth:`cost_hint` (1.0)."""

    name: ClassVar[str] = "LightGBM"
    family: ClassVar[str] = "LightGBM"
    tasks: ClassVar[tuple[TaskType, ...]] = (TaskType.CLASSIFICATION, TaskType.REGRESSION)
    native_categorical: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    extra_params: ClassVar[tuple[str, ...]] = (*_ES_PARAMS, "max_depth")
    runtime_packages: ClassVar[tuple[str, ...]] = ("lightgbm",)
    distributed: ClassVar[bool] = True

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "num_leaves": IntDistribution(4, max(8, min(2048, n_rows // 4)), log=True),
            "learning_rate": FloatDistribution(0.01, 0.5, log=True),
            "min_child_samples": IntDistribution(2, max(3, min(128, n_rows // 10)), log=True),
            "subsample": FloatDistribution(0.5, 1.0),
            "colsample_bytree": FloatDistribution(0.3, 1.0),
            "reg_alpha": FloatDistribution(1e-3, 100.0, log=True),
            "reg_lambda": FloatDistribution(1e-3, 100.0, log=True),
            "log_max_bin": IntDistribution(3, 10),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"num_leaves": 31, "learning_rate": 0.1, "min_child_samples": 20,
                "subsample": 1.0, "colsample_bytree": 1.0, "reg_alpha": 1e-3,
                "reg_lambda": 1e-3, "log_max_bin": 8}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"num_leaves": 4, "learning_rate": 0.3}

    def _to_library(self, task: TaskType, params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        log_max_bin = out.pop("log_max_bin", None)
        if log_max_bin is not None:
            out["max_bin"] = (1 << int(log_max_bin)) - 1
        if float(out.get("subsample", 1.0)) < 1.0:
            out["subsample_freq"] = 1
        return out

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        if task is TaskType.CLASSIFICATION:
            return LightGBMClassifier(**params, class_weight=class_weight, n_jobs=n_jobs,
                                      random_state=seed)
        return LightGBMRegressor(**params, n_jobs=n_jobs, random_state=seed)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return 1.0

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        boosting = boosting_cost_terms(point["learning_rate"], n_classes)
        # A tree cannot grow more leaves than the rows allow at its minimum leaf size; large
        # trees at a low learning rate are the slow ones (many rounds of large trees).
        leaves = math.log(max(2.0, min(float(point["num_leaves"]),
                                       n_rows / max(1, int(point["min_child_samples"])))))
        return {**boosting, "log_leaves": leaves,
                "leaves_x_rounds": leaves * boosting["log_rounds"],
                "colsample": float(point["colsample_bytree"]),
                "subsample": float(point["subsample"]),
                "log_max_bin": float(point["log_max_bin"])}

    def estimator_types(self) -> tuple[type, ...]:
        return (LightGBMClassifier, LightGBMRegressor)

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        model = at_best_iteration(estimator)
        if estimator._classifier or model.booster_.current_iteration() <= ONNX_TREE_GROUP:
            return OnnxRecipe(model, float32=True)
        return OnnxRecipe(model, float32=True, tree_groups=ONNX_TREE_GROUP)

    def tree_model(self, estimator: Any) -> TreeModel:
        return TreeModel(estimator.estimator_, frames=True)
