"""Metrics: the scalar scores and chart data Azure ML AutoML reports, computed locally.

* :data:`METRICS`, :func:`get_metric`, :func:`to_loss`, :func:`is_better`, :func:`metric_names`:
  the catalogue of metric names and their direction and range.
* :func:`classification_metrics`, :func:`regression_metrics`: every scalar metric for one set
  of predictions, as ``{name: float}``.
* :func:`forecasting_metrics`: the regression metrics aggregated over time series (macro for
  the ``normalized_*`` ones, pooled for the rest), plus the extra
  ``mean_absolute_scaled_error``; :func:`pinball_loss` for quantile forecasts (extra);
  :func:`series_ranges` for the per-series training ranges they normalise by.
* :class:`PrimaryScorer`: one primary metric, scored fast and repeatedly on the same rows.
* :func:`classification_charts`, :func:`regression_charts`: JSON-ready chart data;
  :func:`forecast_horizon_chart` and :func:`horizon_metrics` (errors by horizon step, with
  :func:`forecast_horizons` to number the steps) for forecasts.
"""

from __future__ import annotations

from cirrusml.metrics._charts import classification_charts, regression_charts
from cirrusml.metrics._classification import classification_metrics
from cirrusml.metrics._forecasting import (
    EXTRA_METRICS,
    MACRO_AVERAGED,
    forecast_horizon_chart,
    forecast_horizons,
    forecasting_metrics,
    horizon_metrics,
    pinball_loss,
    series_ranges,
)
from cirrusml.metrics._primary import PRIMARY_METRICS, PrimaryScorer
from cirrusml.metrics._registry import (
    METRICS,
    MetricInfo,
    get_metric,
    is_better,
    metric_names,
    to_loss,
)
from cirrusml.metrics._regression import regression_metrics

__all__ = [
    "EXTRA_METRICS",
    "MACRO_AVERAGED",
    "METRICS",
    "PRIMARY_METRICS",
    "PrimaryScorer",
    "MetricInfo",
    "classification_charts",
    "classification_metrics",
    "forecast_horizon_chart",
    "forecast_horizons",
    "forecasting_metrics",
    "get_metric",
    "horizon_metrics",
    "is_better",
    "metric_names",
    "pinball_loss",
    "regression_charts",
    "regression_metrics",
    "series_ranges",
    "to_loss",
]
