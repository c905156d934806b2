"""One primary metric, scored fast and many times on the same rows (ensemble selection).

:class:`PrimaryScorer` checks the true values once; each call scores one set of predictions with
exactly the definitions :func:`classification_metrics` and :func:`regression_metrics` use, or,
given the rows' time series (``groups=``), the macro averages :func:`forecasting_metrics` uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from cirrusml.exceptions import InvalidSpecError
from cirrusml.metrics._classification import (
    _average,
    _check_sample_weight,
    _encode,
    _labels,
    _log_loss,
    _one_vs_rest,
    _Prepared,
)
from cirrusml.metrics._forecasting import (
    MACRO_AVERAGED,
    Ranges,
    _macro,
    _series_error,
    _SeriesIndex,
)
from cirrusml.metrics._registry import get_metric, to_loss
from cirrusml.metrics._quiet import quiet_scoring

__all__ = ["PRIMARY_METRICS", "PrimaryScorer"]

#: The metrics a job can optimise, and so the ones this scorer knows.
PRIMARY_METRICS = (
    "AUC_weighted", "accuracy", "norm_macro_recall", "average_precision_score_weighted",
    "precision_score_weighted", "log_loss", "spearman_correlation",
    "normalized_root_mean_squared_error", "r2_score", "normalized_mean_absolute_error",
)


class PrimaryScorer:
    """Scores predictions of fixed true values with one primary metric.

    ``__call__`` returns the metric's value; :meth:`loss` returns it as a loss (lower is better,
    NaN becomes +inf).

    Forecasting: ``groups`` gives each row's time series (any hashable code, as the ``series``
    of :func:`forecasting_metrics`). The normalised metrics are then macro-averaged over series,
    each series normalised by its own range — from ``ranges`` (``{series: (min, max)}``, e.g.
    the training ranges of :func:`series_ranges`) where it names the series, else from
    ``y_true`` — exactly as :func:`forecasting_metrics` reports them; ``y_min``/``y_max`` do not
    apply then. ``r2_score`` and ``spearman_correlation`` are pooled over all rows with or
    without ``groups``.
    """

    def __init__(self, metric: str, y_true: Any, *, classes: Sequence[Any] | None = None,
                 sample_weight: Any = None, y_min: float | None = None,
                 y_max: float | None = None, groups: Any = None,
                 ranges: Ranges | None = None) -> None:
        self.metric = get_metric(metric).name
        if self.metric not in PRIMARY_METRICS:
            raise InvalidSpecError(f"{self.metric} is not a primary metric")
        self.classification = get_metric(self.metric).task == "classification"
        self.series: _SeriesIndex | None = None
        if groups is None and ranges is not None:
            raise InvalidSpecError("ranges= are per-series ranges; pass the rows' series as "
                                   "groups= too (or y_min/y_max for one range)")
        if groups is not None and self.classification:
            raise InvalidSpecError(f"groups= (time series) apply to forecasting metrics, not "
                                   f"to {self.metric}")
        if groups is not None and (y_min is not None or y_max is not None):
            raise InvalidSpecError("with groups= each series is normalised by its own range; "
                                   "pass ranges={series: (min, max)} instead of y_min/y_max")
        if self.classification:
            self.labels = _labels(classes or [])
            import pandas as pd

            self.codes = _encode(y_true, pd.Index(self.labels), "y_true")
            n = self.codes.shape[0]
        else:
            self.y = np.asarray(y_true, dtype=float)
            n = self.y.shape[0]
            lo = float(np.min(self.y)) if y_min is None else float(y_min)
            hi = float(np.max(self.y)) if y_max is None else float(y_max)
            self.span = hi - lo
            if groups is not None:
                self.series = _SeriesIndex(groups, n, "groups")
                series_lo, series_hi = self.series.bounds(self.y, ranges)
                self.series_span = series_hi - series_lo
        self.sample_weight = _check_sample_weight(sample_weight, n)

    def loss(self, predictions: np.ndarray) -> float:
        value = self(predictions)
        return float("inf") if not np.isfinite(value) else to_loss(self.metric, value)

    def __call__(self, predictions: np.ndarray) -> float:
        with warnings.catch_warnings():
            quiet_scoring()
            if self.classification:
                return float(self._classification(np.asarray(predictions, dtype=float)))
            return float(self._regression(np.asarray(predictions, dtype=float)))

    def _classification(self, proba: np.ndarray) -> float:
        from sklearn import metrics as skm

        sw = self.sample_weight
        prep = _Prepared(self.codes, proba, self.labels, sw)
        metric = self.metric
        if metric == "log_loss":
            return _log_loss(prep)
        if metric == "AUC_weighted" and sw is None:
            return _fast_auc_weighted(self.codes, proba, len(self.labels))
        if metric in ("AUC_weighted", "average_precision_score_weighted"):
            score = skm.roc_auc_score if metric == "AUC_weighted" else \
                skm.average_precision_score
            per_class, support = _one_vs_rest(score, prep, need_negatives=metric == "AUC_weighted")
            return _average(per_class, support, "weighted")
        pred = np.argmax(proba, axis=1).astype(np.intp)
        if metric == "accuracy":
            return skm.accuracy_score(self.codes, pred, sample_weight=sw)
        if metric == "precision_score_weighted":
            return skm.precision_score(self.codes, pred, average="weighted", sample_weight=sw,
                                       zero_division=0)
        # norm_macro_recall
        n_classes = len(self.labels)
        if n_classes < 2:
            return float("nan")
        recall = skm.recall_score(self.codes, pred, average="macro", sample_weight=sw,
                                  zero_division=0)
        chance = 1.0 / n_classes
        return max(0.0, (recall - chance) / (1.0 - chance))

    def _regression(self, pred: np.ndarray) -> float:
        from scipy import stats
        from sklearn import metrics as skm

        y, sw, metric = self.y, self.sample_weight, self.metric
        if metric == "spearman_correlation":
            if y.shape[0] < 2 or np.ptp(y) == 0 or np.ptp(pred) == 0:
                return float("nan")
            return float(stats.spearmanr(y, pred).statistic)
        if metric == "r2_score":
            if y.shape[0] < 2 or np.ptp(y) == 0:
                return 1.0 if np.allclose(y, pred) else 0.0
            return max(-1.0, skm.r2_score(y, pred, sample_weight=sw))
        if self.series is not None and metric in MACRO_AVERAGED:
            squared = metric == "normalized_root_mean_squared_error"
            errors = _series_error(self.series, y, pred, sw, "rmse" if squared else "mae")
            return _macro(errors, self.series_span)
        if metric == "normalized_root_mean_squared_error":
            error = float(np.sqrt(skm.mean_squared_error(y, pred, sample_weight=sw)))
        else:
            error = skm.mean_absolute_error(y, pred, sample_weight=sw)
        return error / self.span if self.span > 0 else error


def _fast_auc_weighted(codes: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    """AUC_weighted without sample weights, from ranks (ties averaged, as scikit-learn does).

    One-vs-rest per class, skipping classes absent from (or alone in) ``codes``, averaged by
    support: the same value as the general path, an order of magnitude faster.
    """
    from scipy import stats

    n = codes.shape[0]
    total = 0.0
    support_sum = 0.0
    for k in range(n_classes):
        positive = codes == k
        n_pos = int(positive.sum())
        n_neg = n - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = stats.rankdata(proba[:, k])
        auc = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
        total += auc * n_pos
        support_sum += n_pos
    return total / support_sum if support_sum > 0 else float("nan")
