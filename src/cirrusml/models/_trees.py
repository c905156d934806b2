"""Decision trees and forests (classification and regression): DecisionTree, RandomForest and
ExtremeRandomTrees, all scikit-learn estimators used as they are.

``max_features`` is searched as a share of the features. The classification default is
scikit-learn's ``"sqrt"``; given the data shape it is expressed as that share, so the default
configuration lies inside the search space.

The fitted estimators are what ONNX export (features cast to float32 first, as scikit-learn's
trees compare in float32) and Tree SHAP read; a classifier's trees output class probabilities.
A forest settled for prediction (``for_prediction``, at save time) predicts small batches
through a compiled walk of all its trees at once (``_forest_compiled``), still the same
scikit-learn estimator.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace, TreeModel
from cirrusml.models._forest_compiled import compile_forest
from cirrusml.spec import TaskType

_BOTH = (TaskType.CLASSIFICATION, TaskType.REGRESSION)


def _criteria(task: TaskType) -> CategoricalDistribution:
    if task is TaskType.CLASSIFICATION:
        return CategoricalDistribution(("gini", "entropy"))
    return CategoricalDistribution(("squared_error", "friedman_mse"))


def _default_criterion(task: TaskType) -> str:
    return "gini" if task is TaskType.CLASSIFICATION else "squared_error"


def _leaf_bound(n_rows: int, cap: int) -> int:
    return max(2, min(cap, n_rows // 10))


def _feature_share(max_features: Any, n_features: int) -> float:
    """``max_features`` as the share of the columns each split looks at."""
    if isinstance(max_features, str):  # "sqrt" / "log2"
        width = max(1, n_features)
        return min(1.0, (math.sqrt(width) if max_features == "sqrt" else math.log2(width + 1))
                   / width)
    value = float(max_features)
    return min(1.0, value / max(1, n_features)) if value > 1 else value


class _TreeLearner(Learner):
    """What every scikit-learn tree learner says about its fitted estimators."""

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        return OnnxRecipe(estimator, float32=True)

    def tree_model(self, estimator: Any) -> TreeModel:
        return TreeModel(estimator, probability_trees=True)


class DecisionTreeLearner(_TreeLearner):
    """A single CART tree; cheap, and a baseline for the forests."""

    name: ClassVar[str] = "DecisionTree"
    family: ClassVar[str] = "Trees"
    tasks: ClassVar[tuple[TaskType, ...]] = _BOTH
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "criterion": _criteria(task),
            "max_depth": IntDistribution(2, 32, log=True),
            "min_samples_leaf": IntDistribution(1, _leaf_bound(n_rows, 128), log=True),
            "max_features": FloatDistribution(0.1, 1.0),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"criterion": _default_criterion(task), "max_depth": 12, "min_samples_leaf": 4,
                "max_features": 1.0}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"max_depth": 4}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        if task is TaskType.CLASSIFICATION:
            return DecisionTreeClassifier(**params, class_weight=class_weight, random_state=seed)
        return DecisionTreeRegressor(**params, random_state=seed)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return float(max(0.02, 0.1 * n_rows / 2000.0))

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {"max_depth": float(point["max_depth"]),
                "max_features": _feature_share(point["max_features"], n_features),
                "log_min_leaf": math.log(max(1, int(point["min_samples_leaf"])))}

    def estimator_types(self) -> tuple[type, ...]:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        return (DecisionTreeClassifier, DecisionTreeRegressor)


class _ForestLearner(_TreeLearner):
    """What RandomForest and ExtremeRandomTrees share."""

    family: ClassVar[str] = "Forest"
    tasks: ClassVar[tuple[TaskType, ...]] = _BOTH
    sparse_ok: ClassVar[bool] = True
    onnx_convertible: ClassVar[bool] = True
    supports_class_weight: ClassVar[bool] = True
    _relative_cost: ClassVar[float] = 1.0

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "n_estimators": IntDistribution(8, 1024, log=True),
            "max_features": FloatDistribution(0.05, 1.0),
            "min_samples_leaf": IntDistribution(1, _leaf_bound(n_rows, 64), log=True),
            "criterion": _criteria(task),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        max_features: Any = 1.0
        if task is TaskType.CLASSIFICATION:
            max_features = ("sqrt" if n_features is None
                            else min(1.0, 1.0 / math.sqrt(max(n_features, 1))))
        return {"n_estimators": 100, "max_features": max_features, "min_samples_leaf": 1,
                "criterion": _default_criterion(task)}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"n_estimators": 8}

    def _classes(self) -> tuple[type, type]:
        raise NotImplementedError

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        classifier, regressor = self._classes()
        if task is TaskType.CLASSIFICATION:
            return classifier(**params, class_weight=class_weight, n_jobs=n_jobs,
                              random_state=seed)
        return regressor(**params, n_jobs=n_jobs, random_state=seed)

    def estimator_types(self) -> tuple[type, ...]:
        return self._classes()

    def for_prediction(self, estimator: Any) -> None:
        # scikit-learn runs a forest's trees on a thread pool of n_jobs threads per call, made
        # afresh each time: 20 ms for one row even with 9 trees, where one thread takes 1 ms.
        estimator.n_jobs = 1
        # Small batches walk all trees at once in NumPy (exact, checked here on generated
        # rows; scikit-learn's own methods otherwise): _forest_compiled.
        compile_forest(estimator)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # 100 fully grown trees against early-stopped LightGBM: the ratio grows about linearly
        # with the rows (RandomForest measured at 2x on 2,000 rows, 7-13x on 10,000).
        return float(min(300.0, max(0.2, self._relative_cost * n_rows / 2000.0)))

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        return {"log_trees": math.log(max(1, int(point["n_estimators"]))),
                "max_features": _feature_share(point["max_features"], n_features),
                "log_min_leaf": math.log(max(1, int(point["min_samples_leaf"]))),
                "entropy": float(point.get("criterion") in ("entropy", "log_loss"))}


class RandomForestLearner(_ForestLearner):
    name: ClassVar[str] = "RandomForest"
    _relative_cost: ClassVar[float] = 2.0

    def _classes(self) -> tuple[type, type]:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        return RandomForestClassifier, RandomForestRegressor


class ExtremeRandomTreesLearner(_ForestLearner):
    name: ClassVar[str] = "ExtremeRandomTrees"
    _relative_cost: ClassVar[float] = 0.6

    def _classes(self) -> tuple[type, type]:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        return ExtraTreesClassifier, ExtraTreesRegressor
