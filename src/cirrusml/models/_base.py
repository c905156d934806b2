"""The learner contract: one object per algorithm family, named as Azure names it.

A :class:`Learner` is a stateless description of an algorithm. It knows which tasks it serves,
what its first configuration looks like, which hyperparameters the search may vary (as Optuna
distributions), what the cheapest sensible configuration is, and roughly how expensive it is to
train. :meth:`Learner.build` turns a configuration into an unfitted scikit-learn estimator; the
learner itself never fits, predicts or scores.

Who calls what
--------------
* The planner calls :meth:`~Learner.default_params`, :meth:`~Learner.search_space`,
  :meth:`~Learner.low_cost_params` and :meth:`~Learner.cost_hint` once per job, on the shape of
  the training data, and the cost model asks :meth:`~Learner.cost_terms` what each
  configuration's fit time depends on.
* A trial calls :meth:`~Learner.build` with a configuration (a point of the search space, any
  subset of its keys: missing keys take their defaults) and places the estimator last in the
  trial pipeline, fitted with ``model__sample_weight``.
* Code that meets a fitted estimator (ONNX export, explanations) finds the learner that built it
  with :func:`~cirrusml.models.learner_for_estimator` (which asks each learner's
  :meth:`~Learner.owns`), then asks that learner, never the estimator's class:

  - ``onnx`` calls :meth:`~Learner.onnx_refusal` (why this fitted estimator cannot export, or
    ``None``) and :meth:`~Learner.onnx_recipe` (the library model skl2onnx or onnxmltools
    converts, and the little it needs around it: an :class:`OnnxRecipe`);
  - ``explain`` calls :meth:`~Learner.tree_model` (the library model Tree SHAP reads, as a
    :class:`TreeModel`; ``None`` for learners that are not trees) and
    :meth:`~Learner.coefficients` (a linear model's coefficients; ``None`` otherwise), and
    explains every other learner model-agnostically;
  - generated code (``codegen``) rebuilds an estimator as the engine does, with
    ``get_learner(name, task).build(...)``, and pins :attr:`~Learner.runtime_packages` (with
    cirrusml's own dependencies) in the saved model's requirements.

  A new learner (CatBoost, a forecaster) overrides these hooks in its own module; the defaults
  say "not convertible, not a tree, not linear", so it is exported nowhere and explained by
  permutation until it says otherwise.

Learners hold no mutable state, so one instance serves every thread and process. The dicts they
return are new on every call and belong to the caller.

Configurations are points of the search space, which may use search-only encodings (LightGBM's
``log_max_bin``). :meth:`~Learner.build` translates them back to library arguments; encodings
never reach the library.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec import TaskType
from cirrusml.utils import suggestion

__all__ = ["Learner", "OnnxRecipe", "SearchSpace", "TreeModel", "in_domain"]

#: A search space: hyperparameter name -> Optuna distribution.
SearchSpace = dict[str, BaseDistribution]

# The shape used to list a learner's hyperparameter names when no data shape is at hand.
_NOMINAL_ROWS = 10_000
_NOMINAL_FEATURES = 10


def in_domain(distribution: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is a point of ``distribution`` (bounds, integrality, choices)."""
    if isinstance(distribution, CategoricalDistribution):
        # ``True == 1``, but a boolean choice is not the number 1 (nor the reverse).
        return any(value == choice
                   and isinstance(value, (bool, np.bool_)) == isinstance(choice, bool)
                   for choice in distribution.choices)
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        return False
    if isinstance(distribution, IntDistribution):
        if int(value) != value:
            return False
        return bool(distribution.low <= value <= distribution.high
                    and (int(value) - distribution.low) % distribution.step == 0)
    if isinstance(distribution, FloatDistribution):
        return bool(math.isfinite(value) and distribution.low <= value <= distribution.high)
    return False


def _clamp(distribution: BaseDistribution, value: Any) -> Any:
    """``value`` moved to the nearest point of a numeric distribution; other values unchanged."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        return value
    if isinstance(distribution, IntDistribution):
        return int(min(max(round(value), distribution.low), distribution.high))
    if isinstance(distribution, FloatDistribution):
        return float(min(max(value, distribution.low), distribution.high))
    return value


@dataclass(frozen=True)
class OnnxRecipe:
    """How the ONNX exporter converts one fitted estimator (see :meth:`Learner.onnx_recipe`).

    Attributes
    ----------
    model
        The fitted library model skl2onnx (or onnxmltools, for LightGBM and XGBoost) converts:
        its probabilities (classifiers) or predictions (regressors) are the estimator's.
    float32
        Cast the features to float32 first: tree models compare in float32 in their own
        libraries too.
    preprocess
        A fitted scikit-learn transformer skl2onnx converts and applies before ``model``.
    clip
        ``(low, high)``: clip the (preprocessed) features into this range before ``model``.
    tree_groups
        Sum the trees in groups of this many in float32, and the groups in float64
        (onnxmltools' ``split`` option, for a library that sums its trees in float64).
    """

    model: Any
    float32: bool = False
    preprocess: Any = None
    clip: tuple[float, float] | None = None
    tree_groups: int | None = None


@dataclass(frozen=True)
class TreeModel:
    """What Tree SHAP reads of a fitted tree learner (see :meth:`Learner.tree_model`).

    Attributes
    ----------
    library
        The fitted library model ``shap.TreeExplainer`` reads.
    frames
        The library takes pandas frames as they are (``category`` columns natively).
    sparse
        The library takes sparse matrices as they are (absent entries read as missing, so a
        dense copy would change its predictions).
    probability_trees
        For a classifier, the trees' output already is the class probability (forests and
        single trees), rather than a margin turned into one (boosting).
    """

    library: Any
    frames: bool = False
    sparse: bool = False
    probability_trees: bool = False


class Learner(ABC):
    """An algorithm the search can try, under Azure's model name.

    Class attributes
    ----------------
    name
        Azure's model name (``LightGBM``, ``XGBoostClassifier``); lookups accept any spelling.
    family
        The algorithm family. Two names may share one (``XGBoostClassifier`` and
        ``XGBoostRegressor`` are both ``XGBoost``).
    tasks
        The tasks this name serves.
    native_categorical
        Takes pandas ``category`` columns as they are, with no encoding.
    needs_scaling
        Sensitive to feature scale (linear models, SVMs, KNN): the featurizer should scale.
    sparse_ok
        Accepts scipy sparse matrices.
    onnx_convertible
        skl2onnx or onnxmltools can convert the fitted library model (see ``estimator_`` on the
        wrappers of this package).
    supports_class_weight
        :meth:`build` accepts ``class_weight`` for classification.
    extra_params
        Names :meth:`build` accepts besides the search-space keys: fixed settings a caller may
        override (the tree budget of a boosting learner, for example).
    runtime_packages
        Distributions (beyond scikit-learn, NumPy, SciPy and pandas) that a fitted estimator of
        this learner needs to load and predict: generated code pins them.
    featurizes_itself
        The estimator takes the job's raw rows and does its own featurization (forecasters:
        their features read the target's history); trials give it the rows as they are.
    explainable
        The best model may be explained (Azure does not explain its statistical forecasters).
    dnn
        A deep-learning model (TCNForecaster): the search tries it only with
        ``training.enable_dnn_training``.
    primary_metrics
        The primary metrics a job may have for the search to try this learner (``None``: any).
    """

    name: ClassVar[str]
    family: ClassVar[str] = ""
    tasks: ClassVar[tuple[TaskType, ...]]
    native_categorical: ClassVar[bool] = False
    needs_scaling: ClassVar[bool] = False
    sparse_ok: ClassVar[bool] = False
    onnx_convertible: ClassVar[bool] = False
    supports_class_weight: ClassVar[bool] = False
    extra_params: ClassVar[tuple[str, ...]] = ()
    runtime_packages: ClassVar[tuple[str, ...]] = ()
    featurizes_itself: ClassVar[bool] = False
    explainable: ClassVar[bool] = True
    dnn: ClassVar[bool] = False
    #: The learner trains across a Dask cluster's workers (``training_mode: distributed``),
    #: as its task reads the data (``Task.reads_on_cluster``): either its estimator has
    #: ``fit_dask(client, X, y, ...)`` taking Dask collections the workers read (LightGBM), or
    #: :meth:`on_cluster` gives it a share of the cluster its ``fit`` spreads the rows over
    #: (TCNForecaster).
    distributed: ClassVar[bool] = False
    primary_metrics: ClassVar[tuple[str, ...] | None] = None

    # ------------------------------------------------------------------ public contract

    def default_params(self, task: TaskType, n_rows: int | None = None,
                       n_features: int | None = None) -> dict[str, Any]:
        """Hyperparameters of a good first trial, keyed like the search space.

        With the data shape, every value lies inside :meth:`search_space` for that shape (numeric
        defaults are moved to the nearest bound), so the point can be enqueued in a study as it
        is. Without it, values are the learner's unconditional defaults.
        """
        task = self._check_task(task)
        point = self._default_point(task, n_rows, n_features)
        return self._clamped(task, point, n_rows, n_features)

    def search_space(self, task: TaskType, n_rows: int,
                     n_features: int) -> SearchSpace:
        """The hyperparameters the search may vary, as Optuna distributions.

        Bounds may depend on the data shape (leaf counts on the number of rows, for example).
        Scale-like hyperparameters are log-scaled. The key set depends only on ``task``.
        """
        task = self._check_task(task)
        return self._space(task, max(1, int(n_rows)), max(1, int(n_features)))

    def low_cost_params(self, task: TaskType, n_rows: int, n_features: int) -> dict[str, Any]:
        """The cheapest sensible configuration: where a cost-aware search starts.

        Keyed like the search space, and inside it for the given shape.
        """
        task = self._check_task(task)
        point = {**self._default_point(task, n_rows, n_features),
                 **self._low_cost_point(task, n_rows, n_features)}
        return self._clamped(task, point, n_rows, n_features)

    @abstractmethod
    def cost_hint(self, n_rows: int, n_features: int) -> float:
        """Rough training cost of the default configuration, relative to default LightGBM (1.0).

        For cost-aware search only: a guess within a small factor, never a promise.
        """

    def cost_terms(self, task: TaskType, params: Mapping[str, Any], *, n_rows: int,
                   n_features: int, n_classes: int = 1,
                   n_dense: int | None = None) -> dict[str, float]:
        """What a configuration's fit time depends on, as named numbers: the terms of the
        cost model's log-linear fit (:mod:`cirrusml.search._cost`, learned offline per learner
        by ``benchmarks/cost/build_cost_model.py``).

        ``n_rows`` are the rows one fit trains on, ``n_features`` the featurized width it sees,
        ``n_dense`` how many of those columns are not one-hot, hashed or text columns (all of
        them when not given), ``n_classes`` the classes (1 for regression). The base terms are
        the logarithms of the four; learners add what their hyperparameters do to the time
        (LightGBM's leaves and rounds) or replace a base term (an SVM that trains on at most
        10,000 rows) in :meth:`_cost_terms`. Values are plain floats, finite for every point
        of the search space; ``params`` may be any subset of it (missing keys take their
        defaults).
        """
        task = self._check_task(task)
        point = {**self._default_point(task, n_rows, n_features), **params}
        terms = {"log_rows": math.log(max(1, int(n_rows))),
                 "log_width": math.log(max(1, int(n_features))),
                 "log_dense_width": math.log(max(1, int(n_features if n_dense is None
                                                         else min(n_dense, n_features)))),
                 "log_classes": math.log(max(1, int(n_classes)))}
        terms.update(self._cost_terms(task, point, n_rows=max(1, int(n_rows)),
                                      n_features=max(1, int(n_features)),
                                      n_classes=max(1, int(n_classes))))
        return terms

    def _cost_terms(self, task: TaskType, point: dict[str, Any], *, n_rows: int,
                    n_features: int, n_classes: int) -> dict[str, float]:
        """The learner's own cost terms for a full configuration ``point``: added to the base
        terms of :meth:`cost_terms`, or replacing them."""
        return {}

    def param_names(self, task: TaskType) -> tuple[str, ...]:
        """Every name :meth:`build` accepts in ``params`` for ``task``."""
        task = self._check_task(task)
        space = self._space(task, _NOMINAL_ROWS, _NOMINAL_FEATURES)
        return tuple(space) + tuple(n for n in self.extra_params if n not in space)

    def build(self, task: TaskType, params: Mapping[str, Any], *, n_jobs: int, seed: int,
              class_weight: str | Mapping[Any, float] | None = None) -> Any:
        """An unfitted scikit-learn estimator for ``task`` configured by ``params``.

        Parameters
        ----------
        task
            One of :attr:`tasks`.
        params
            A configuration keyed like :meth:`search_space` (plus :attr:`extra_params`). Missing
            keys take :meth:`default_params`; search-only encodings are translated here.
        n_jobs
            Threads the estimator may use.
        seed
            Seed of every random choice the estimator makes.
        class_weight
            ``None``, ``"balanced"`` or a mapping class -> weight; classification only, and only
            for learners with :attr:`supports_class_weight`.

        Returns
        -------
        An unfitted estimator whose ``fit`` accepts ``sample_weight``. Classifiers provide
        ``predict_proba`` with columns in ``classes_`` order.

        Raises
        ------
        InvalidSpecError
            On a task the learner does not serve, an unknown hyperparameter name, or a
            ``class_weight`` the learner cannot honour.
        """
        task = self._check_task(task)
        if class_weight is not None:
            if task is not TaskType.CLASSIFICATION:
                raise InvalidSpecError(
                    f"class_weight applies to classification only; {self.name} was asked to "
                    f"build a {task.yaml} model with class_weight={class_weight!r}.")
            if not self.supports_class_weight:
                raise InvalidSpecError(
                    f"{self.name} does not support class_weight (got {class_weight!r}); pass "
                    "sample weights instead.")
            if isinstance(class_weight, str) and class_weight != "balanced":
                raise InvalidSpecError(
                    f"class_weight must be None, 'balanced' or a mapping of class to weight; "
                    f"got {class_weight!r}.")
        allowed = self.param_names(task)
        unknown = [key for key in params if key not in allowed]
        if unknown:
            raise InvalidSpecError(
                f"{self.name} has no hyperparameter '{unknown[0]}'; valid names for "
                f"{task.yaml} are {', '.join(allowed)}." + suggestion(unknown[0], allowed))
        merged = {**self._default_point(task, None, None), **dict(params)}
        library = self._to_library(task, merged)
        return self._make(task, library, n_jobs=int(n_jobs), seed=int(seed),
                          class_weight=class_weight)

    def __repr__(self) -> str:
        return f"<learner {self.name}>"

    # ------------------------------------------------- fitted estimators (onnx, explain)

    def estimator_types(self) -> tuple[type, ...]:
        """The classes :meth:`build` returns (for every task this learner serves)."""
        return ()

    def owns(self, estimator: Any) -> bool:
        """Whether ``estimator`` is one this learner builds (its class is one of
        :meth:`estimator_types`; learners sharing a wrapper class look inside it)."""
        return type(estimator) in self.estimator_types()

    def on_cluster(self, estimator: Any, share: Any) -> Any:
        """``estimator`` (unfitted) set to train across ``share``, a
        :class:`~cirrusml.execution.ClusterShare` of a Dask cluster, when it is fitted (for
        learners whose fits spread their own rows; see :attr:`distributed`). Refused by
        default."""
        raise InvalidSpecError(f"{self.name} does not train across a cluster's workers.",
                               field="training.training_mode")

    def for_prediction(self, estimator: Any) -> None:
        """Settle a fitted ``estimator`` of this learner for prediction, in place, before the
        best model is saved: what each call would otherwise redo. A saved model predicts each
        call on one thread (a server's parallelism is its workers; a call's thread pool costs
        more than a few rows' arithmetic); learners whose estimators spread one call over
        threads turn that off here. Nothing by default."""
        return None

    def onnx_refusal(self, estimator: Any) -> str | None:
        """Why this fitted estimator cannot be exported to ONNX (a sentence completing "the
        step ..."), or ``None`` when it can. Learners without :attr:`onnx_convertible` never
        export."""
        if not self.onnx_convertible:
            return "has no ONNX converter."
        return None

    def onnx_recipe(self, estimator: Any) -> OnnxRecipe:
        """How the exporter converts this fitted estimator (call after :meth:`onnx_refusal`
        gave ``None``). The default converts the estimator itself, as skl2onnx knows it."""
        return OnnxRecipe(estimator)

    def tree_model(self, estimator: Any) -> TreeModel | None:
        """The fitted tree model Tree SHAP reads, or ``None`` for a learner that is not a tree
        model (explained model-agnostically)."""
        return None

    def coefficients(self, estimator: Any) -> np.ndarray | None:
        """A fitted linear model's coefficients as ``(n_outputs, n_features)``, else ``None``."""
        return None

    def own_importance(self, estimator: Any, *, seed: int, time_budget: float | None
                       ) -> tuple[dict[str, float], dict[str, float], int] | None:
        """(engineered, raw importance shares, samples used) when the learner explains its
        fitted estimator itself — a forecaster, whose features read the target's history,
        cannot be explained by shuffling raw rows — else ``None``."""
        return None

    # ------------------------------------------------------------------ per-learner hooks

    @abstractmethod
    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        """The search space for a validated task and a positive data shape."""

    @abstractmethod
    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        """Default configuration, keyed like the space (the shape may be unknown)."""

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        """Overrides of the defaults that make the cheapest sensible configuration."""
        return {}

    def _to_library(self, task: TaskType, params: dict[str, Any]) -> dict[str, Any]:
        """Translate search-only encodings into the estimator's own arguments."""
        return params

    @abstractmethod
    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        """Construct the estimator from library arguments."""

    # ------------------------------------------------------------------ helpers

    def _check_task(self, task: TaskType | str) -> TaskType:
        parsed = TaskType.parse(task, field="task")
        if parsed not in self.tasks:
            serves = ", ".join(t.yaml for t in self.tasks)
            raise InvalidSpecError(
                f"learner {self.name} does not serve {parsed.yaml}; it serves {serves}.")
        return parsed

    def _clamped(self, task: TaskType, point: dict[str, Any], n_rows: int | None,
                 n_features: int | None) -> dict[str, Any]:
        if n_rows is None or n_features is None:
            return point
        space = self.search_space(task, n_rows, n_features)
        return {key: _clamp(space[key], value) if key in space else value
                for key, value in point.items()}
