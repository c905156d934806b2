"""Scalar regression metrics (also used for forecasting), as Azure ML AutoML defines them."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from cirrusml.exceptions import DataError
from cirrusml.metrics._classification import _as_1d, _check_sample_weight
from cirrusml.metrics._registry import metric_names
from cirrusml.metrics._quiet import quiet_scoring

__all__ = ["regression_metrics"]


def _values(values: Any, what: str) -> np.ndarray:
    arr = _as_1d(values, what)
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric: {exc}") from None
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{what} contains NaN or infinite values")
    return arr


def _prepare(
    y_true: Any, y_pred: Any, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    y = _values(y_true, "y_true")
    p = _values(y_pred, "y_pred")
    if y.shape[0] == 0:
        raise DataError("y_true is empty; there is nothing to score")
    if p.shape[0] != y.shape[0]:
        raise DataError(f"y_pred has {p.shape[0]} rows but y_true has {y.shape[0]}")
    return y, p, _check_sample_weight(sample_weight, y.shape[0])


def _normalise(error: float, span: float) -> float:
    # A zero span (constant targets) leaves the error as it is: 0 for a perfect model and the
    # plain error otherwise, rather than a division by zero.
    return error / span if span > 0 else error


def regression_metrics(
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    y_min: float | None = None,
    y_max: float | None = None,
) -> dict[str, float]:
    """Every scalar regression metric Azure ML AutoML reports, as plain floats.

    Parameters
    ----------
    y_true, y_pred:
        True and predicted values, one per row (finite numbers).
    sample_weight:
        Optional non-negative weight per row.
    y_min, y_max:
        The target range used by the ``normalized_*`` metrics. Each defaults to the minimum
        (maximum) of ``y_true``. Azure normalises cross-validation folds by the range of the
        training data, so callers scoring a fold should pass that range.

    Definitions and choices
    -----------------------
    * ``normalized_mean_absolute_error``, ``normalized_median_absolute_error`` and
      ``normalized_root_mean_squared_error`` divide by ``y_max - y_min``.
      ``normalized_root_mean_squared_log_error`` divides by the range on the log scale,
      ``log1p(y_max) - log1p(y_min)``, which is what Azure's own scorer does.
    * Zero range: when the divisor is 0 (constant targets) the normalised metric equals the
      un-normalised error; it is 0 for a perfect prediction and never infinite.
    * ``r2_score`` is scikit-learn's, clipped below at -1 as Azure reports it. With constant
      targets (including a single row) it is 1.0 for a perfect prediction and 0.0 otherwise.
    * ``explained_variance`` is scikit-learn's, not clipped.
    * ``mean_absolute_percentage_error`` is in percent (x100), averaged over the rows whose true
      value is not 0 (those rows have no defined percentage error); NaN when every true value
      is 0. Azure's docs do not confirm the unit; its published scores are in percent.
    * ``root_mean_squared_log_error`` uses ``log1p`` and is NaN (not an error) when any true or
      predicted value is <= -1, where ``log1p`` is undefined. Azure skips it as soon as a value
      is negative; we follow scikit-learn's domain instead.
    * ``spearman_correlation`` comes from scipy, ignores ``sample_weight`` (a weighted rank
      correlation is not defined here) and is NaN when either input is constant or there is
      a single row.
    * Every other metric honours ``sample_weight``.
    """
    from scipy import stats
    from sklearn import metrics as skm

    y, p, sw = _prepare(y_true, y_pred, sample_weight)
    lo = float(np.min(y)) if y_min is None else float(y_min)
    hi = float(np.max(y)) if y_max is None else float(y_max)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise DataError(f"y_min and y_max must be finite with y_min <= y_max, got {lo}, {hi}")
    span = hi - lo

    out: dict[str, float] = {}
    with warnings.catch_warnings():
        quiet_scoring()

        out["explained_variance"] = skm.explained_variance_score(y, p, sample_weight=sw)

        mae = skm.mean_absolute_error(y, p, sample_weight=sw)
        out["mean_absolute_error"] = mae
        out["normalized_mean_absolute_error"] = _normalise(mae, span)

        nonzero = y != 0
        if nonzero.any() and (sw is None or sw[nonzero].sum() > 0):
            out["mean_absolute_percentage_error"] = 100.0 * skm.mean_absolute_percentage_error(
                y[nonzero], p[nonzero], sample_weight=None if sw is None else sw[nonzero]
            )
        else:
            out["mean_absolute_percentage_error"] = float("nan")

        medae = skm.median_absolute_error(y, p, sample_weight=sw)
        out["median_absolute_error"] = medae
        out["normalized_median_absolute_error"] = _normalise(medae, span)

        if y.shape[0] < 2:
            r2 = 1.0 if y[0] == p[0] else 0.0
        else:
            r2 = skm.r2_score(y, p, sample_weight=sw)
        out["r2_score"] = max(-1.0, float(r2))

        rmse = skm.root_mean_squared_error(y, p, sample_weight=sw)
        out["root_mean_squared_error"] = rmse
        out["normalized_root_mean_squared_error"] = _normalise(rmse, span)

        if np.any(y <= -1) or np.any(p <= -1):
            out["root_mean_squared_log_error"] = float("nan")
            out["normalized_root_mean_squared_log_error"] = float("nan")
        else:
            rmsle = skm.root_mean_squared_log_error(y, p, sample_weight=sw)
            out["root_mean_squared_log_error"] = rmsle
            if lo <= -1:
                out["normalized_root_mean_squared_log_error"] = float("nan")
            else:
                log_span = float(np.log1p(hi) - np.log1p(lo))
                out["normalized_root_mean_squared_log_error"] = _normalise(rmsle, log_span)

        if y.shape[0] < 2 or np.ptp(y) == 0 or np.ptp(p) == 0:
            out["spearman_correlation"] = float("nan")
        else:
            out["spearman_correlation"] = stats.spearmanr(y, p).statistic

    return {name: float(out[name]) for name in metric_names("regression")}
