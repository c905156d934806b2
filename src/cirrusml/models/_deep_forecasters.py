"""The forecasting learners beyond statsforecast and the regression learners, under Azure's
``ForecastingModels`` names.

* ``TCNForecaster`` (:class:`TCNForecasterLearner`): a temporal convolutional network over every
  series (:class:`~cirrusml.forecast._tcn.TCNForecaster`). A deep learner (:attr:`Learner.dnn`):
  it runs only with ``training.enable_dnn_training``, and needs PyTorch (the ``dnn`` extra). Its
  search space is the network's width, depth, dropout, learning rate and look-back. With
  ``training_mode: distributed`` it trains data-parallel across a Dask cluster's workers
  (:meth:`TCNForecasterLearner.on_cluster`).
* ``Prophet`` (:class:`ProphetLearner`): one Prophet model per series
  (:class:`~cirrusml.forecast._prophet.ProphetForecaster`). Azure does not sweep it; the space
  here is the trend's flexibility and the seasonality mode.

Neither is explained (Azure explains neither) nor exported to ONNX.
"""

from __future__ import annotations

from typing import Any, ClassVar

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from cirrusml.forecast import ProphetForecaster, TCNForecaster
from cirrusml.models._base import Learner, SearchSpace
from cirrusml.spec import TaskType

__all__ = ["ProphetLearner", "TCNForecasterLearner"]

_FORECASTING = (TaskType.FORECASTING,)


class TCNForecasterLearner(Learner):
    """Azure's ``TCNForecaster``: a temporal convolutional network over every series."""

    name: ClassVar[str] = "TCNForecaster"
    family: ClassVar[str] = "TCN"
    tasks: ClassVar[tuple[TaskType, ...]] = _FORECASTING
    featurizes_itself: ClassVar[bool] = True
    dnn: ClassVar[bool] = True
    #: Trains data-parallel across a Dask cluster's workers (``training_mode: distributed``).
    distributed: ClassVar[bool] = True
    runtime_packages: ClassVar[tuple[str, ...]] = ("torch",)
    explainable: ClassVar[bool] = False
    #: Azure allows TCNForecaster only with these primary metrics (reference §8.2).
    primary_metrics: ClassVar[tuple[str, ...] | None] = (
        "normalized_root_mean_squared_error", "normalized_mean_absolute_error")
    #: Training budgets a caller may set (the search leaves them at their defaults).
    extra_params: ClassVar[tuple[str, ...]] = ("epochs", "max_samples", "batch_size",
                                               "patience")

    def estimator_types(self) -> tuple[type, ...]:
        return (TCNForecaster,)

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "channels": CategoricalDistribution((8, 16, 32)),
            "layers": IntDistribution(2, 5),
            "dropout": FloatDistribution(0.0, 0.3),
            "learning_rate": FloatDistribution(1e-3, 3e-2, log=True),
            # 0: automatic (two seasons or two horizons, within the receptive field).
            "lookback": CategoricalDistribution((0, 8, 16, 32, 48)),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        return {"channels": 16, "layers": 3, "dropout": 0.1, "learning_rate": 3e-3,
                "lookback": 0}

    def _low_cost_point(self, task: TaskType, n_rows: int | None,
                        n_features: int | None) -> dict[str, Any]:
        return {"channels": 8, "layers": 2}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        values = dict(params)
        lookback = int(values.pop("lookback", 0) or 0)
        return TCNForecaster(lookback=lookback or None, n_jobs=n_jobs, seed=seed,
                             **{k: v for k, v in values.items()})

    def on_cluster(self, estimator: Any, share: Any) -> Any:
        return estimator.set_params(cluster=share)

    def for_prediction(self, estimator: Any) -> None:
        # A fitted network forecasts in any process: the saved model names no cluster.
        estimator.cluster = None

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # Training windows are capped (max_samples), so the cost flattens with the rows while
        # LightGBM's keeps growing: several LightGBM fits on small data, about one on large.
        return float(max(1.0, 10.0 * min(1.0, 20_000 / max(1, n_rows))))


class ProphetLearner(Learner):
    """Azure's ``Prophet``: one Prophet model per series."""

    name: ClassVar[str] = "Prophet"
    tasks: ClassVar[tuple[TaskType, ...]] = _FORECASTING
    featurizes_itself: ClassVar[bool] = True
    runtime_packages: ClassVar[tuple[str, ...]] = ("prophet",)
    #: Azure does not explain Prophet (reference §4).
    explainable: ClassVar[bool] = False

    def estimator_types(self) -> tuple[type, ...]:
        return (ProphetForecaster,)

    def _space(self, task: TaskType, n_rows: int, n_features: int) -> SearchSpace:
        return {
            "changepoint_prior_scale": FloatDistribution(0.005, 0.5, log=True),
            "seasonality_mode": CategoricalDistribution(("additive", "multiplicative")),
        }

    def _default_point(self, task: TaskType, n_rows: int | None,
                       n_features: int | None) -> dict[str, Any]:
        # Prophet's own defaults.
        return {"changepoint_prior_scale": 0.05, "seasonality_mode": "additive"}

    def _make(self, task: TaskType, params: dict[str, Any], *, n_jobs: int, seed: int,
              class_weight: Any) -> Any:
        return ProphetForecaster(**params)

    def cost_hint(self, n_rows: int, n_features: int) -> float:
        # One cmdstan fit per series (a fraction of a second each): about a LightGBM forecaster.
        return 2.0
