"""Forecasting metrics: Azure's regression metrics aggregated over time series, two extras, and
the data behind the forecast-horizon chart.

Azure ML AutoML scores a forecast with the same twelve metrics as a regression (reference §10.2)
and aggregates them over the time series (the series IDs, Azure's "grains") in two ways:

* **macro-averaged** — the four ``normalized_*`` errors: each series' error is divided by that
  series' own range, then the plain mean over series is reported;
* **micro-averaged** — every other metric: all rows pooled, exactly as
  :func:`~cirrusml.metrics.regression_metrics` computes them.

Extras cirrusml adds (Azure does not report them; their names never clash with Azure's):

* ``mean_absolute_scaled_error`` (in :func:`forecasting_metrics` when ``history`` is given): the
  definition the bench harness scores with (``score_forecast`` in ``shared/bench/scoring.py``,
  beside the checkout), so a job's own number and the harness's agree;
* :func:`pinball_loss` for quantile forecasts.

Chart data (plain JSON-ready structures, as in ``_charts``): :func:`forecast_horizon_chart`
(Azure's forecast-horizon chart) and :func:`horizon_metrics` (the errors by horizon step).

Who calls what: :class:`~cirrusml.metrics.PrimaryScorer` with ``groups=`` scores the macro
metrics through :class:`_SeriesIndex`, :func:`_series_error` and :func:`_macro` from here, so
ensemble selection ranks by exactly the value :func:`forecasting_metrics` reports.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.metrics._charts import _num, _nums
from cirrusml.metrics._classification import _as_1d
from cirrusml.metrics._quiet import quiet_scoring
from cirrusml.metrics._registry import metric_names
from cirrusml.metrics._regression import _prepare, _values, regression_metrics

__all__ = [
    "EXTRA_METRICS",
    "MACRO_AVERAGED",
    "forecast_horizon_chart",
    "forecast_horizons",
    "forecasting_metrics",
    "horizon_metrics",
    "pinball_loss",
    "series_ranges",
]

#: The metrics Azure macro-averages over series; every other forecasting metric is pooled.
MACRO_AVERAGED: tuple[str, ...] = (
    "normalized_mean_absolute_error",
    "normalized_median_absolute_error",
    "normalized_root_mean_squared_error",
    "normalized_root_mean_squared_log_error",
)

#: Metrics cirrusml reports beyond Azure's set, with whether greater is better. They are not in
#: the Azure catalogue (``METRICS``), so they cannot be a job's primary metric.
EXTRA_METRICS: dict[str, bool] = {"mean_absolute_scaled_error": False}

#: Limits of the forecast-horizon chart, as Azure's studio draws it.
MAX_CHART_FOLDS = 5
MAX_CHART_SERIES = 20
MAX_POINTS_BEFORE = 20
MAX_POINTS_AFTER = 80

#: Per-series target range: series code -> (min, max).
Ranges = Mapping[Any, tuple[float, float]]

ErrorKind = Literal["mae", "medae", "rmse", "rmsle"]


# ---------------------------------------------------------------------------------------------
# series bookkeeping, shared with PrimaryScorer


class _SeriesIndex:
    """The series of each row, checked once.

    ``series`` is one code per row (any hashable: str, int, ...), an ``(n, k)`` array whose rows
    are multi-column series IDs (each becomes a tuple), or a single scalar code for one series.
    ``codes[i]`` is the position of row ``i``'s series in ``labels`` (order of first
    appearance); ``order`` lists the rows grouped by series and ``starts`` where each series'
    block begins in it.
    """

    __slots__ = ("codes", "counts", "labels", "order", "starts")

    def __init__(self, series: Any, n: int, what: str = "series") -> None:
        if np.ndim(series) == 0:
            label = series.item() if isinstance(series, np.generic) else series
            codes = np.zeros(n, dtype=np.intp)
            labels: list[Any] = [label]
        else:
            arr = np.asarray(series)
            if arr.ndim == 2:  # multi-column series IDs: one tuple per row
                keys = np.empty(arr.shape[0], dtype=object)
                keys[:] = [tuple(row) for row in arr.tolist()]
                arr = keys
            elif arr.ndim != 1:
                raise DataError(
                    f"{what} must hold one series code per row, got an array of shape "
                    f"{arr.shape}"
                )
            if arr.shape[0] != n:
                raise DataError(f"{what} has {arr.shape[0]} values but there are {n} rows")
            raw_codes, uniques = pd.factorize(arr, sort=False)
            if np.any(raw_codes < 0):
                raise DataError(
                    f"{what} is missing (NaN or None) in {int(np.sum(raw_codes < 0))} rows; "
                    "give every row the code of its time series"
                )
            codes = raw_codes.astype(np.intp)
            labels = list(np.asarray(uniques).tolist())
        self.codes = codes
        self.labels = labels
        self.counts = np.bincount(codes, minlength=len(labels))
        self.order = np.argsort(codes, kind="stable")
        self.starts = np.r_[0, np.cumsum(self.counts)[:-1]].astype(np.intp)

    @property
    def n_series(self) -> int:
        return len(self.labels)

    def weights(self, sw: np.ndarray | None) -> np.ndarray:
        """Total weight of each series (its row count without weights)."""
        if sw is None:
            return self.counts.astype(float)
        return np.bincount(self.codes, weights=sw, minlength=self.n_series)

    def mean(self, values: np.ndarray, sw: np.ndarray | None) -> np.ndarray:
        """Weighted mean of ``values`` in each series; NaN for a series of zero weight."""
        w = self.weights(sw)
        weighted = values if sw is None else values * sw
        total = np.bincount(self.codes, weights=weighted, minlength=self.n_series)
        return np.divide(total, w, out=np.full(self.n_series, np.nan), where=w > 0)

    def bounds(self, y: np.ndarray, ranges: Ranges | None) -> tuple[np.ndarray, np.ndarray]:
        """Each series' (min, max): from ``ranges`` when it names the series, else from ``y``."""
        grouped = y[self.order]
        lo = np.minimum.reduceat(grouped, self.starts)
        hi = np.maximum.reduceat(grouped, self.starts)
        if ranges:
            for k, label in enumerate(self.labels):
                if label in ranges:
                    lo[k], hi[k] = _range_of(label, ranges[label])
        return lo, hi


def _range_of(label: Any, pair: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise DataError(
            f"ranges[{label!r}] must be a (min, max) pair of numbers, got {pair!r}"
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise DataError(
            f"ranges[{label!r}] must be finite with min <= max, got ({lo}, {hi})"
        )
    return lo, hi


def series_ranges(y: Any, series: Any) -> dict[Any, tuple[float, float]]:
    """Each series' (min, max) of ``y``: the ``ranges=`` to pass when scoring a later window.

    Azure normalises a cross-validation fold by the range of the training data; compute this on
    a fold's training rows and pass it to :func:`forecasting_metrics` (or to
    :class:`~cirrusml.metrics.PrimaryScorer`) for the fold's validation rows.
    """
    values = _values(y, "y")
    if values.shape[0] == 0:
        raise DataError("y is empty; there are no rows to take the ranges of")
    index = _SeriesIndex(series, values.shape[0])
    lo, hi = index.bounds(values, None)
    return {label: (float(a), float(b)) for label, a, b in zip(index.labels, lo, hi, strict=True)}


def _series_error(
    index: _SeriesIndex, y: np.ndarray, p: np.ndarray, sw: np.ndarray | None, kind: ErrorKind
) -> np.ndarray:
    """One un-normalised error per series; NaN where the series has zero total weight."""
    if kind == "mae":
        return index.mean(np.abs(y - p), sw)
    if kind == "rmse":
        return np.sqrt(index.mean((y - p) ** 2, sw))
    if kind == "rmsle":
        return np.sqrt(index.mean((np.log1p(y) - np.log1p(p)) ** 2, sw))
    return _series_median(index, y, p, sw)


def _series_median(
    index: _SeriesIndex, y: np.ndarray, p: np.ndarray, sw: np.ndarray | None
) -> np.ndarray:
    """Median absolute error per series, as scikit-learn's ``median_absolute_error`` defines it.

    Without weights it is the plain median, found for all series at once from one sort; with
    weights each series goes through scikit-learn (its weighted percentile).
    """
    from sklearn import metrics as skm

    if sw is None:
        abs_err = np.abs(y - p)
        order = np.lexsort((abs_err, index.codes))
        ranked = abs_err[order]
        low = index.starts + (index.counts - 1) // 2
        high = index.starts + index.counts // 2
        return (ranked[low] + ranked[high]) / 2.0
    out = np.full(index.n_series, np.nan)
    total = index.weights(sw)
    for k, rows in enumerate(np.split(index.order, index.starts[1:])):
        if total[k] > 0:
            out[k] = skm.median_absolute_error(y[rows], p[rows], sample_weight=sw[rows])
    return out


def _macro(errors: np.ndarray, spans: np.ndarray) -> float:
    """Mean over series of ``error / span``: the macro average Azure reports.

    Series with an undefined error (NaN: zero total weight) are left out. A series whose span is
    0 (a constant series) has no scale of its own and is left out too; when every series is
    constant, the mean of the un-normalised errors is returned, which is what
    :func:`regression_metrics` reports for one constant series.
    """
    defined = ~np.isnan(errors)
    err, span = errors[defined], spans[defined]
    if err.size == 0:
        return float("nan")
    scaled = span > 0
    if scaled.any():
        return float(np.mean(err[scaled] / span[scaled]))
    return float(np.mean(err))


def _macro_metrics(
    index: _SeriesIndex, y: np.ndarray, p: np.ndarray, sw: np.ndarray | None,
    ranges: Ranges | None,
) -> dict[str, float]:
    lo, hi = index.bounds(y, ranges)
    span = hi - lo
    out = {
        "normalized_mean_absolute_error": _macro(_series_error(index, y, p, sw, "mae"), span),
        "normalized_median_absolute_error": _macro(
            _series_error(index, y, p, sw, "medae"), span
        ),
        "normalized_root_mean_squared_error": _macro(
            _series_error(index, y, p, sw, "rmse"), span
        ),
    }
    # log1p is undefined at or below -1, as in regression_metrics: then the metric is NaN.
    if np.any(y <= -1) or np.any(p <= -1) or np.any(lo <= -1):
        out["normalized_root_mean_squared_log_error"] = float("nan")
    else:
        log_span = np.log1p(hi) - np.log1p(lo)
        out["normalized_root_mean_squared_log_error"] = _macro(
            _series_error(index, y, p, sw, "rmsle"), log_span
        )
    return out


# ---------------------------------------------------------------------------------------------
# scalar metrics


def _season_length(season_length: Any) -> int:
    if isinstance(season_length, bool) or not isinstance(season_length, int | np.integer) \
            or season_length < 1:
        raise InvalidSpecError(
            f"season_length must be a whole number >= 1 (1 when the series has no season), "
            f"got {season_length!r}",
            field="season_length",
        )
    return int(season_length)


def _naive_scale(history: Any, label: Any, m: int) -> float:
    """In-sample mean absolute error of the seasonal-naive forecast on one series' history.

    The lag is ``m`` when the history is longer than ``m``, else 1; NaN when the history is too
    short for even one difference. Missing values (NaN) in the history are skipped.
    """
    try:
        h = np.asarray(history, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(
            f"history[{label!r}] must be the series' past target values (numbers)"
        ) from None
    if np.isinf(h).any():
        raise DataError(f"history[{label!r}] contains infinite values")
    lag = m if h.shape[0] > m else 1
    if h.shape[0] <= lag:
        return float("nan")
    diffs = np.abs(h[lag:] - h[:-lag])
    return float(np.nanmean(diffs)) if not np.isnan(diffs).all() else float("nan")


def _mase(
    index: _SeriesIndex, y: np.ndarray, p: np.ndarray, sw: np.ndarray | None,
    history: Mapping[Any, Any], m: int,
) -> float:
    mae = _series_error(index, y, p, sw, "mae")
    ratios = []
    for k, label in enumerate(index.labels):
        if label not in history or np.isnan(mae[k]):
            continue
        scale = _naive_scale(history[label], label, m)
        if np.isfinite(scale) and scale > 0:
            ratios.append(mae[k] / scale)
    return float(np.mean(ratios)) if ratios else float("nan")


def forecasting_metrics(
    y_true: Any,
    y_pred: Any,
    series: Any,
    *,
    ranges: Ranges | None = None,
    history: Mapping[Any, Any] | None = None,
    season_length: int = 1,
    sample_weight: Any = None,
) -> dict[str, float]:
    """Every scalar forecasting metric Azure ML AutoML reports, aggregated over time series.

    Parameters
    ----------
    y_true, y_pred:
        True and predicted values, one per row (finite numbers).
    series:
        The time series of each row: one code per row (any hashable), an ``(n, k)`` array of
        multi-column series IDs (each row becomes a tuple), or one scalar code when there is a
        single series.
    ranges:
        Optional per-series target range, ``{series code: (min, max)}``, used by the four
        macro-averaged ``normalized_*`` metrics. Azure normalises a cross-validation fold by the
        range of the *training* data (see :func:`series_ranges`); a series not named here falls
        back to the range of its rows in ``y_true``.
    history:
        Optional ``{series code: past target values in time order}`` (the training data of each
        series). When given, the result also holds ``mean_absolute_scaled_error``.
    season_length:
        The seasonal lag of the naive forecast that scales MASE (1: the previous value).
    sample_weight:
        Optional non-negative weight per row.

    Definitions and choices
    -----------------------
    * Macro-averaged (each series on its own, then the unweighted mean over series):
      ``normalized_mean_absolute_error``, ``normalized_median_absolute_error``,
      ``normalized_root_mean_squared_error`` divide the series' error by its ``max - min``;
      ``normalized_root_mean_squared_log_error`` divides by ``log1p(max) - log1p(min)``, as
      :func:`regression_metrics` does. For a single series they equal
      :func:`regression_metrics`'s values.
    * Zero range: a constant series (``max == min``) has no scale of its own and is left out of
      the macro mean, so it cannot turn the metric into inf or NaN; when every series is
      constant, the mean of the un-normalised errors is reported (the zero-range rule of
      :func:`regression_metrics`). A series whose weights sum to 0 is left out as well.
    * Micro-averaged (all rows pooled, exactly :func:`regression_metrics`):
      ``mean_absolute_error``, ``median_absolute_error``, ``root_mean_squared_error``,
      ``root_mean_squared_log_error``, ``r2_score`` (clipped below at -1, as Azure reports it),
      ``explained_variance``, ``spearman_correlation`` and ``mean_absolute_percentage_error``.
    * ``mean_absolute_percentage_error`` is in percent and leaves out the rows whose true value
      is 0. Azure's docs only say MAPE is undefined at 0; Azure's own forecasting scorer (the
      ``MAPE`` metric of the ``azureml.contrib.automl.dnn.forecasting`` package, Microsoft)
      drops the rows whose true value is close to 0 (``numpy.isclose(y, 0)``) and multiplies by
      100. We drop exactly-zero rows, the rule :func:`regression_metrics` already uses, so the
      two differ only for ``0 < |y| <= 1e-8``. NaN when every true value is 0.
    * ``mean_absolute_scaled_error`` (extra, not an Azure metric): per series, the (weighted)
      MAE of the forecast divided by the in-sample MAE of the seasonal-naive forecast on that
      series' ``history`` (lag ``season_length``, or 1 when the history is not longer than
      that), then the mean over series. Series without history, with too short a history or
      with a naive error of 0 are left out; NaN when no series is left. Without weights this is
      the bench harness's ``mase``.
    """
    y, p, sw = _prepare(y_true, y_pred, sample_weight)
    index = _SeriesIndex(series, y.shape[0])
    m = _season_length(season_length)
    with warnings.catch_warnings():
        quiet_scoring()
        pooled = regression_metrics(y, p, sample_weight=sw)
        macro = _macro_metrics(index, y, p, sw, ranges)
        out = {name: float(macro.get(name, pooled[name])) for name in metric_names("regression")}
        if history is not None:
            out["mean_absolute_scaled_error"] = _mase(index, y, p, sw, history, m)
    return out


def pinball_loss(
    y_true: Any, quantile_predictions: Mapping[float, Any], *, sample_weight: Any = None
) -> dict[str, Any]:
    """Mean pinball (quantile) loss of quantile forecasts (an extra; Azure does not report it).

    ``quantile_predictions`` maps each quantile level in (0, 1) to the predictions for it, one
    per row. For level ``q`` and error ``d = y - y_hat`` a row's loss is ``q * d`` when
    ``d >= 0`` and ``(q - 1) * d`` otherwise; lower is better, 0 is perfect.

    Returns ``{"per_quantile": {q: mean loss}, "mean": mean over the quantiles}``, the quantile
    levels as floats in increasing order.
    """
    from sklearn import metrics as skm

    if not isinstance(quantile_predictions, Mapping) or not quantile_predictions:
        raise InvalidSpecError(
            "quantile_predictions must map each quantile level (a number in (0, 1)) to its "
            "predictions, e.g. {0.1: lower, 0.5: median, 0.9: upper}",
            field="quantile_predictions",
        )
    levels: dict[float, Any] = {}
    for q, preds in quantile_predictions.items():
        try:
            level = float(q)
        except (TypeError, ValueError):
            level = float("nan")
        if not 0.0 < level < 1.0:
            raise InvalidSpecError(
                f"quantile level {q!r} must be a number strictly between 0 and 1",
                field="quantile_predictions",
            )
        levels[level] = preds
    per_quantile: dict[float, float] = {}
    for level in sorted(levels):
        y, p, sw = _prepare(y_true, levels[level], sample_weight)
        per_quantile[level] = float(skm.mean_pinball_loss(y, p, alpha=level, sample_weight=sw))
    return {"per_quantile": per_quantile, "mean": float(np.mean(list(per_quantile.values())))}


# ---------------------------------------------------------------------------------------------
# horizons and the forecast-horizon chart


def _times(values: Any, what: str) -> tuple[np.ndarray, list[str]]:
    """Times as sortable int64 nanoseconds (UTC) and as ISO strings for the chart."""
    arr = _as_1d(values, what)
    try:
        if arr.dtype.kind == "M":
            parsed = pd.to_datetime(arr, utc=True)
            text = [str(t) for t in np.datetime_as_string(arr)]
        else:
            text = [str(t) for t in arr]
            parsed = pd.to_datetime(pd.Index(text), format="ISO8601", utc=True)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must hold ISO 8601 times such as '2024-01-31': {exc}") from None
    if parsed.isna().any():
        raise DataError(f"{what} has {int(parsed.isna().sum())} missing times")
    return parsed.asi8, text


def _folds(fold: Any, n: int) -> np.ndarray:
    if fold is None:
        return np.zeros(n, dtype=np.int64)
    arr = _as_1d(fold, "fold")
    if arr.shape[0] != n:
        raise DataError(f"fold has {arr.shape[0]} values but there are {n} rows")
    if arr.dtype.kind not in "iu":
        raise DataError("fold must hold the cross-validation fold number (an integer) of each row")
    return arr.astype(np.int64)


def forecast_horizons(series: Any, times: Any, fold: Any = None) -> np.ndarray:
    """The horizon step of each row: 1 for a series' first evaluated time in a fold, 2 for the
    next, and so on (the ``horizon`` :func:`horizon_metrics` takes).

    ``times`` are ISO 8601 strings (or datetime64); ``fold`` optionally gives each row's
    cross-validation fold (integers), the steps restarting in every fold. A series may not repeat
    a time within a fold.
    """
    t, text = _times(times, "times")
    n = t.shape[0]
    index = _SeriesIndex(series, n)
    f = _folds(fold, n)
    frame = pd.DataFrame({"fold": f, "series": index.codes, "time": t})
    repeated = frame.duplicated(keep=False).to_numpy()
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        raise DataError(
            f"series {index.labels[index.codes[row]]!r} has time {text[row]!r} more than once in "
            f"fold {int(f[row])}; each series needs one row per time"
        )
    ordered = frame.sort_values(["fold", "series", "time"], kind="stable")
    steps = ordered.groupby(["fold", "series"], sort=False).cumcount().to_numpy() + 1
    out = np.empty(n, dtype=np.int64)
    out[ordered.index.to_numpy()] = steps
    return out


def horizon_metrics(
    y_true: Any, y_pred: Any, horizon: Any, *, sample_weight: Any = None
) -> dict[str, Any]:
    """The errors by horizon step, the "forecast horizon" metrics of Azure's studio.

    ``horizon`` is each row's step ahead of the forecast origin (1, 2, ...), for instance from
    :func:`forecast_horizons`. Pool the rows of every cross-validation fold to get Azure's
    aggregate over folds. Returns JSON-ready lists, one entry per step present, in increasing
    order: ``horizon``, ``count`` (rows), ``mean_absolute_error``, ``root_mean_squared_error``
    and ``mean_absolute_percentage_error`` (percent, rows with a true value of 0 left out), each
    computed as :func:`regression_metrics` does; ``None`` where undefined (a step whose weights
    sum to 0, MAPE of a step whose true values are all 0).
    """
    y, p, sw = _prepare(y_true, y_pred, sample_weight)
    h = _as_1d(horizon, "horizon")
    if h.shape[0] != y.shape[0]:
        raise DataError(f"horizon has {h.shape[0]} values but there are {y.shape[0]} rows")
    try:
        hf = h.astype(float)
    except (TypeError, ValueError):
        hf = np.full(h.shape[0], np.nan)
    if not np.all(np.isfinite(hf)) or np.any(hf < 1) or np.any(hf != np.round(hf)):
        raise DataError("horizon must hold whole numbers >= 1 (the step ahead of each row)")
    steps = hf.astype(np.int64)
    names = ("mean_absolute_error", "root_mean_squared_error", "mean_absolute_percentage_error")
    out: dict[str, Any] = {"horizon": [], "count": [], **{name: [] for name in names}}
    for step in np.unique(steps):
        rows = steps == step
        w = None if sw is None else sw[rows]
        out["horizon"].append(int(step))
        out["count"].append(int(rows.sum()))
        if w is not None and w.sum() <= 0:
            scores: dict[str, float] = {name: float("nan") for name in names}
        else:
            scores = regression_metrics(y[rows], p[rows], sample_weight=w)
        for name in names:
            out[name].append(_num(scores[name]))
    return out


def forecast_horizon_chart(
    series: Any,
    times: Any,
    y_true: Any,
    y_pred: Any,
    *,
    fold: Any = None,
    history_series: Any = None,
    history_times: Any = None,
    history_values: Any = None,
) -> dict[str, Any]:
    """Data for Azure's forecast-horizon chart: actuals and forecasts around each origin.

    Parameters
    ----------
    series, times, y_true, y_pred:
        The evaluated (forecast) rows: series label, ISO 8601 time, true and predicted value.
    fold:
        Optional cross-validation fold number of each row (all rows are fold 0 without it).
    history_series, history_times, history_values:
        Optional known actuals (typically the training data; all three or none), the context
        drawn before each origin. Missing values (NaN) are allowed and shown as ``None``.

    As in Azure's studio, at most ``MAX_CHART_FOLDS`` (5) folds — the lowest fold numbers — and
    ``MAX_CHART_SERIES`` (20) series — the first labels in sorted order, the same in every fold —
    are kept. For each fold and series the ``forecast`` holds the first ``MAX_POINTS_AFTER`` (80)
    evaluated rows in time order, with their ``horizon`` step (see :func:`forecast_horizons`),
    and the ``history`` the last ``MAX_POINTS_BEFORE`` (20) known actuals before the first of
    them. Series labels are strings and times are given back as they came in. ``n_folds`` and
    ``n_series`` count everything in the input, so a viewer can say what was left out.
    """
    y, p, _ = _prepare(y_true, y_pred, None)
    n = y.shape[0]
    t, text = _times(times, "times")
    if t.shape[0] != n:
        raise DataError(f"times has {t.shape[0]} values but there are {n} rows")
    labels = np.asarray([str(v) for v in _as_1d(series, "series")], dtype=object)
    if labels.shape[0] != n:
        raise DataError(f"series has {labels.shape[0]} values but there are {n} rows")
    f = _folds(fold, n)
    steps = forecast_horizons(labels, text, f)
    history = _history(history_series, history_times, history_values)

    all_folds = sorted(set(f.tolist()))
    all_series = sorted(set(labels.tolist()))
    shown_series = all_series[:MAX_CHART_SERIES]
    folds_out = []
    for fold_number in all_folds[:MAX_CHART_FOLDS]:
        in_fold = f == fold_number
        entries = []
        for label in shown_series:
            rows = np.flatnonzero(in_fold & (labels == label) & (steps <= MAX_POINTS_AFTER))
            if rows.size == 0:
                continue
            rows = rows[np.argsort(steps[rows])]
            entries.append({
                "series": label,
                "history": _before(history, label, int(t[rows[0]])),
                "forecast": {
                    "time": [text[i] for i in rows],
                    "horizon": [int(s) for s in steps[rows]],
                    "y_true": _nums(y[rows]),
                    "y_pred": _nums(p[rows]),
                },
            })
        folds_out.append({"fold": int(fold_number), "series": entries})
    return {
        "limits": {
            "folds": MAX_CHART_FOLDS,
            "series": MAX_CHART_SERIES,
            "points_before": MAX_POINTS_BEFORE,
            "points_after": MAX_POINTS_AFTER,
        },
        "n_folds": len(all_folds),
        "n_series": len(all_series),
        "series_labels": shown_series,
        "folds": folds_out,
    }


def _history(series: Any, times: Any, values: Any) -> dict[str, tuple[np.ndarray, ...]]:
    """Known actuals per series label: (times as int64, ISO strings, values), in time order."""
    given = [x is not None for x in (series, times, values)]
    if not any(given):
        return {}
    if not all(given):
        raise DataError(
            "history_series, history_times and history_values go together; pass all three or "
            "none"
        )
    t, text = _times(times, "history_times")
    labels = np.asarray([str(v) for v in _as_1d(series, "history_series")], dtype=object)
    try:
        v = _as_1d(values, "history_values").astype(float)
    except (TypeError, ValueError):
        raise DataError("history_values must be numeric") from None
    if not (labels.shape[0] == t.shape[0] == v.shape[0]):
        raise DataError(
            f"history_series, history_times and history_values must have one value per row, got "
            f"{labels.shape[0]}, {t.shape[0]} and {v.shape[0]}"
        )
    text_arr = np.asarray(text, dtype=object)
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for label in set(labels.tolist()):
        rows = np.flatnonzero(labels == label)
        rows = rows[np.argsort(t[rows], kind="stable")]
        out[label] = (t[rows], text_arr[rows], v[rows])
    return out


def _before(history: dict[str, tuple[np.ndarray, ...]], label: str, origin: int) -> dict[str, Any]:
    if label not in history:
        return {"time": [], "y_true": []}
    t, text, v = history[label]
    end = int(np.searchsorted(t, origin, side="left"))  # the actuals strictly before the origin
    keep = slice(max(0, end - MAX_POINTS_BEFORE), end)
    return {"time": [str(s) for s in text[keep]], "y_true": _nums(v[keep])}
