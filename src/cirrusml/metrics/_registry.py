"""The catalogue of metrics cirrusml reports, keyed by the names Azure ML AutoML logs.

Every scalar metric the classification and regression scorers return has one entry in
:data:`METRICS`. An entry says which task the metric belongs to, which direction is better and
what range the value lives in. :func:`get_metric` resolves a name however the user spelled it
(``AUC_weighted``, ``auc_weighted`` and the SDK enum value ``AUCWeighted`` are one metric), and
:func:`to_loss` / :func:`is_better` let search code compare scores without caring about
direction.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Literal

from cirrusml.exceptions import InvalidSpecError

__all__ = [
    "METRICS",
    "MetricInfo",
    "get_metric",
    "is_better",
    "metric_names",
    "to_loss",
]

Task = Literal["classification", "regression"]

_INF = math.inf


@dataclass(frozen=True)
class MetricInfo:
    """What cirrusml knows about one scalar metric.

    ``lower`` and ``upper`` bound the values the metric can take (``-inf`` / ``inf`` when it is
    unbounded on that side); they describe the metric, they are not clipping limits, except for
    ``r2_score`` whose reported value is clipped at -1 as Azure does.
    """

    name: str
    task: Task
    greater_is_better: bool
    lower: float
    upper: float
    description: str


def _c(name: str, greater: bool, lower: float, upper: float, description: str) -> MetricInfo:
    return MetricInfo(name, "classification", greater, lower, upper, description)


def _r(name: str, greater: bool, lower: float, upper: float, description: str) -> MetricInfo:
    return MetricInfo(name, "regression", greater, lower, upper, description)


_AVERAGING = {
    "macro": "unweighted mean over classes",
    "micro": "pooled over all classes",
    "weighted": "mean over classes weighted by their support",
    "binary": "the positive class only; binary problems only",
}


def _averaged(stem: str, what: str) -> list[MetricInfo]:
    return [
        _c(f"{stem}_{suffix}", True, 0.0, 1.0, f"{what} ({how})")
        for suffix, how in _AVERAGING.items()
    ]


_ENTRIES: list[MetricInfo] = [
    _c("accuracy", True, 0.0, 1.0, "share of rows whose predicted class equals the true class"),
    *_averaged("AUC", "area under the one-vs-rest ROC curve"),
    *_averaged("average_precision_score", "area under the precision-recall curve"),
    _c("balanced_accuracy", True, 0.0, 1.0, "mean recall over the classes present in y_true"),
    *_averaged("f1_score", "harmonic mean of precision and recall"),
    _c("log_loss", False, 0.0, _INF, "mean negative log-likelihood of the true classes"),
    _c(
        "norm_macro_recall",
        True,
        0.0,
        1.0,
        "macro recall rescaled so that chance level is 0 and perfect is 1, floored at 0",
    ),
    _c("matthews_correlation", True, -1.0, 1.0, "Matthews correlation coefficient"),
    *_averaged("precision_score", "precision"),
    *_averaged("recall_score", "recall"),
    _c(
        "weighted_accuracy",
        True,
        0.0,
        1.0,
        "accuracy with each row weighted by the size of its true class",
    ),
    _r("explained_variance", True, -_INF, 1.0, "1 - Var(y - y_hat) / Var(y)"),
    _r("mean_absolute_error", False, 0.0, _INF, "mean of |y - y_hat|"),
    _r(
        "normalized_mean_absolute_error",
        False,
        0.0,
        _INF,
        "mean absolute error divided by the target range",
    ),
    _r(
        "mean_absolute_percentage_error",
        False,
        0.0,
        _INF,
        "mean of 100 * |y - y_hat| / |y| over rows with y != 0, in percent",
    ),
    _r("median_absolute_error", False, 0.0, _INF, "median of |y - y_hat|"),
    _r(
        "normalized_median_absolute_error",
        False,
        0.0,
        _INF,
        "median absolute error divided by the target range",
    ),
    _r("r2_score", True, -1.0, 1.0, "coefficient of determination, clipped below at -1"),
    _r("root_mean_squared_error", False, 0.0, _INF, "square root of the mean squared error"),
    _r(
        "normalized_root_mean_squared_error",
        False,
        0.0,
        _INF,
        "root mean squared error divided by the target range",
    ),
    _r(
        "root_mean_squared_log_error",
        False,
        0.0,
        _INF,
        "root mean squared difference of log(1 + y) and log(1 + y_hat)",
    ),
    _r(
        "normalized_root_mean_squared_log_error",
        False,
        0.0,
        _INF,
        "root mean squared log error divided by log(1 + y_max) - log(1 + y_min)",
    ),
    _r("spearman_correlation", True, -1.0, 1.0, "Spearman rank correlation of y and y_hat"),
]

#: Every scalar metric, keyed by the exact name Azure ML AutoML reports it under.
METRICS: dict[str, MetricInfo] = {info.name: info for info in _ENTRIES}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "")


# No two metric names collapse onto one normalised spelling (the tests check this).
_BY_NORMALISED: dict[str, str] = {_normalise(key): key for key in METRICS}


def metric_names(task: Task | None = None) -> list[str]:
    """The metric names, in catalogue order, optionally only those of one ``task``."""
    if task is not None and task not in ("classification", "regression"):
        raise InvalidSpecError(
            f"unknown task {task!r}; expected 'classification' or 'regression'", field="task"
        )
    return [name for name, info in METRICS.items() if task is None or info.task == task]


def get_metric(name: str) -> MetricInfo:
    """Look a metric up by any reasonable spelling.

    The lookup ignores case, surrounding blanks and underscores, so the reported name
    (``AUC_weighted``), the YAML value (``auc_weighted``) and the SDK enum value
    (``AUCWeighted``) all find the same entry.

    Raises :class:`~cirrusml.exceptions.InvalidSpecError` for an unknown name; the message
    suggests the closest valid names.
    """
    if not isinstance(name, str):
        raise InvalidSpecError(
            f"a metric name must be a string, got {type(name).__name__} {name!r}"
        )
    key = _BY_NORMALISED.get(_normalise(name))
    if key is not None:
        return METRICS[key]
    close = difflib.get_close_matches(_normalise(name), list(_BY_NORMALISED), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(_BY_NORMALISED[c]) for c in close) + "?"
    else:
        hint = "valid names are: " + ", ".join(METRICS)
    raise InvalidSpecError(f"unknown metric {name!r}; {hint}")


def to_loss(name: str, value: float) -> float:
    """Turn a metric value into a loss, where lower is always better.

    Metrics where greater is better are negated; the others are returned as they are. An
    undefined value (NaN) becomes ``+inf`` so that it ranks after every real score.
    """
    info = get_metric(name)
    value = float(value)
    if math.isnan(value):
        return _INF
    return -value if info.greater_is_better else value


def is_better(name: str, a: float, b: float) -> bool:
    """``True`` when score ``a`` is strictly better than score ``b`` for metric ``name``.

    NaN counts as worse than any number, and two NaNs are equally bad.
    """
    return to_loss(name, a) < to_loss(name, b)
