"""Metrics: the scalar scores and chart data Azure ML AutoML reports, computed locally.

* :data:`METRICS`, :func:`get_metric`, :func:`to_loss`, :func:`is_better`, :func:`metric_names`:
  the catalogue of metric names and their direction and range.
* :func:`classification_metrics`, :func:`regression_metrics`: every scalar metric for one set
  of predictions, as ``{name: float}``.
* :class:`PrimaryScorer`: one primary metric, scored fast and repeatedly on the same rows.
* :func:`classification_charts`, :func:`regression_charts`: JSON-ready chart data.
"""

from __future__ import annotations

from cirrusml.metrics._charts import classification_charts, regression_charts
from cirrusml.metrics._classification import classification_metrics
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
    "METRICS",
    "PRIMARY_METRICS",
    "PrimaryScorer",
    "MetricInfo",
    "classification_charts",
    "classification_metrics",
    "get_metric",
    "is_better",
    "metric_names",
    "regression_charts",
    "regression_metrics",
    "to_loss",
]
