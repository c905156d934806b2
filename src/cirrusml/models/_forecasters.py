"""The forecasting learners, under Azure's ``ForecastingModels`` names.

* Statistical forecasters (:class:`StatisticalLearner`): ``Naive``, ``SeasonalNaive``,
  ``Average``, ``SeasonalAverage``, ``ExponentialSmoothing``, ``AutoArima``, ``Arimax``, and the
  extensions ``Theta`` and ``MSTL``. Azure does not sweep them (ETS and ARIMA choose their own
  orders inside one fit), so they have no search space: one trial each.
* Regression forecasters (:class:`RegressionForecastLearner`): each regression learner
  (``LightGBM``, ``ElasticNet``, ...) as a global direct forecaster
  (:class:`~cirrusml.forecast.RegressionForecaster`). The search space is the regression
  learner's, plus the forecaster's look-back.

Forecasters take the job's raw rows (time, ids, covariates) and featurize themselves
(:attr:`Learner.featurizes_itself`); the job's series layout reaches them through
``set_params(layout=...)`` (:meth:`cirrusml.tasks.Task.estimator_params`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from optuna.distributions import CategoricalDistribution
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cirrusml.forecast import RegressionForecaster, StatisticalForecaster, feature_importance
from cirrusml.models._base import Learner, SearchSpace
from cirrusml.models._deep_forecasters import ProphetLearner, TCNForecasterLearner
from cirrusml.spec import TaskType

__all__ = ["RegressionForecastLearner", "StatisticalLearner", "forecasting_learners"]

_FORECASTING = (TaskType.FORECASTING,)

#: Relative fit cost of each statistical model per row (LightGBM on the same rows is 1.0).
_STAT_COST = {"Naive": 0.01, "SeasonalNaive": 0.01, "Average": 0.01, "SeasonalAverage": 0.01,
              "Theta": 0.1, "ExponentialSmoothing": 0.3, "MSTL": 0.2, "AutoArima": 2.0,
              "Arimax": 2.5}


#: Where a regression learner's first forecasting trial differs from its tabular default: the
#: targets (corrections to a seasonal-naive base) are noisy, so boosting learns slowly.
_FORECAST_DEFAULTS: dict[str, dict[str, Any]] = {
    "LightGBM": {"learning_rate": 0.05, "num_leaves": 15},
    "XGBoostRegressor": {"learning_rate": 0.05},
}


class StatisticalLearner(Learner):
    """One statsforecast model under its Azure name (see :mod:`cirrusml.forecast`)."""

    tasks: ClassVar[tuple[TaskType, ...]] = _FORECASTING
    featurizes_itself: ClassVar[bool] = True
    runtime_packages: ClassVar[tuple[str, ...]] = ("statsforecast",)
    #: Azure does not explain these (reference §4).
    explainable: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        # One class serves every statistical model: the name is the instance's.
        self.name = name  # type: ignore[misc]
        self._name = name

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {}

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return StatisticalForecaster(model=self._name, params=dict(params) or None,
                                     n_jobs=1)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        return _STAT_COST.get(self._name, 0.1)

    def owns(self, estimator: Any) -> bool:
        return isinstance(estimator, StatisticalForecaster) and estimator.model == self._name

    def __reduce__(self) -> Any:
        return (StatisticalLearner, (self._name,))


class RegressionForecastLearner(Learner):
    """A regression learner as a direct forecaster, under the regression learner's name."""

    tasks: ClassVar[tuple[TaskType, ...]] = _FORECASTING
    featurizes_itself: ClassVar[bool] = True

    def __init__(self, base: Learner) -> None:
        self.base = base
        # The regression learner's facts, under its name (one class serves them all).
        self.name = base.name  # type: ignore[misc]
        self.family = base.family  # type: ignore[misc]
        self.runtime_packages = base.runtime_packages  # type: ignore[misc]
        self.extra_params = (*base.extra_params, "max_samples")  # type: ignore[misc]

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        space = dict(self.base.search_space(TaskType.REGRESSION, n_rows, n_features))
        space["lookback"] = CategoricalDistribution((0, 4, 8, 16, 24))
        return space

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {**self.base.default_params(TaskType.REGRESSION, n_rows, n_features),
                **_FORECAST_DEFAULTS.get(self.base.name, {}), "lookback": 0}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return self.base._low_cost_point(TaskType.REGRESSION, n_rows, n_features)

    def build(self, task: TaskType, params: Mapping[str, Any], *, n_jobs: int, seed: int,
              class_weight: str | Mapping[Any, float] | None = None) -> Any:
        self._check_task(task)
        values = dict(params)
        lookback = int(values.pop("lookback", 0) or 0)
        max_samples = int(values.pop("max_samples", 50_000))
        if "early_stopping" in self.base.extra_params:
            # Neighbouring samples (origins a step apart) are nearly the same row: a random
            # validation split would stop boosting on what it trained on. The tree count
            # follows the learning rate instead.
            values.setdefault("early_stopping", False)
        regressor = self.base.build(TaskType.REGRESSION, values, n_jobs=n_jobs, seed=seed)
        if self.base.needs_scaling:
            regressor = make_pipeline(StandardScaler(), regressor)
        return RegressionForecaster(regressor=regressor, lookback=lookback or None,
                                    max_samples=max_samples,
                                    handles_missing=self.base.native_categorical
                                    or self.base.name.startswith("XGBoost"), seed=seed)

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        raise NotImplementedError  # build() is overridden

    def own_importance(self, estimator: Any, *, seed: int, time_budget: float | None
                       ) -> tuple[dict[str, float], dict[str, float], int] | None:
        return feature_importance(estimator, seed=seed, time_budget=time_budget)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # Samples are rows x steps (up to the sample cap): several times the rows.
        return 4.0 * self.base.cost_hint(n_rows, n_features)

    def owns(self, estimator: Any) -> bool:
        if not isinstance(estimator, RegressionForecaster):
            return False
        inner = estimator.regressor
        inner = inner.steps[-1][1] if hasattr(inner, "steps") else inner
        return self.base.owns(inner)

    def __reduce__(self) -> Any:
        return (RegressionForecastLearner, (self.base,))


def forecasting_learners(regression: list[Learner]) -> tuple[Learner, ...]:
    """Every forecasting learner, in the order a planner should try them: cheap strong
    baselines first, then the regression forecasters and the slower statistical models."""
    by_name = {lr.name: lr for lr in regression}
    baselines = [StatisticalLearner(n) for n in ("SeasonalNaive", "Naive")]
    ml = [RegressionForecastLearner(by_name[n]) for n in (
        "LightGBM", "ElasticNet", "XGBoostRegressor", "RandomForest", "ExtremeRandomTrees",
        "GradientBoosting", "DecisionTree", "KNN", "LassoLars", "SGD") if n in by_name]
    smoothing = [StatisticalLearner(n) for n in ("Theta", "ExponentialSmoothing", "MSTL",
                                                 "SeasonalAverage")]
    slow = [StatisticalLearner(n) for n in ("Average", "AutoArima", "Arimax")]
    return (*baselines, ml[0], *smoothing, *ml[1:], *slow, TCNForecasterLearner(), ProphetLearner())
