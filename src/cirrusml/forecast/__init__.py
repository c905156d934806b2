"""Forecasting (L2): forecasters and their time-series features.

* :class:`StatisticalForecaster`: statsforecast models per series under Azure's names (Naive,
  SeasonalNaive, Average, SeasonalAverage, ExponentialSmoothing, AutoArima, Arimax) and two
  extensions (Theta, MSTL).
* :class:`RegressionForecaster`: any scikit-learn regressor as a global direct forecaster over
  lags, rolling windows, calendar and holiday features (:mod:`._features`).
* :class:`ProphetForecaster` (Azure's Prophet, one model per series) and
  :class:`TCNForecaster` (Azure's TCNForecaster: a global temporal convolutional network, PyTorch
  imported only when it fits or predicts: ``pip install "cirrusml[dnn]"``); given a
  :class:`~cirrusml.execution.ClusterShare` as ``cluster``, it trains data-parallel across
  a Dask cluster's workers (:mod:`._tcn_cluster`).
* :func:`forecast`, :func:`rolling_forecast`: Azure's forecasting calls for any model whose
  ``predict`` follows the forecaster contract (:mod:`._base`), ensembles included.

The job's checks, its series layout and the rolling-origin plan are the forecasting task's
(:mod:`cirrusml.tasks`); the learners that build these forecasters are in :mod:`cirrusml.models`.
"""

from __future__ import annotations

from cirrusml.forecast._base import Forecaster, forecast, rolling_forecast, series_keys
from cirrusml.forecast._lags import auto_lags, pacf
from cirrusml.forecast._prophet import ProphetForecaster
from cirrusml.forecast._regression import RegressionForecaster, feature_importance
from cirrusml.forecast._statistical import STATISTICAL_MODELS, StatisticalForecaster
from cirrusml.forecast._tcn import TCNForecaster

__all__ = [
    "STATISTICAL_MODELS",
    "Forecaster",
    "ProphetForecaster",
    "RegressionForecaster",
    "StatisticalForecaster",
    "TCNForecaster",
    "auto_lags",
    "feature_importance",
    "forecast",
    "pacf",
    "rolling_forecast",
    "series_keys",
]
