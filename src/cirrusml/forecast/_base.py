"""What every forecaster shares: the series history, requests past its end, and the methods
Azure's forecasting model offers (``forecast``, ``forecast_quantiles``, ``rolling_forecast``).

A forecaster is fitted on the job's rows (time, ids, covariates; the target as ``y``) with the
job's :class:`~cirrusml.tasks.SeriesLayout` set as its ``layout`` parameter. ``predict(X)`` takes
rows of the same columns:

* rows that also carry the target column (with a value) are **history**: they extend each series
  past what the model was fitted on, and their output is that value;
* every other row is **forecast** from its series' last known point, at the number of grid steps
  it lies past it.

So an ensemble of forecasters, which only calls ``predict``, forecasts with context too, and the
free functions of this module (``rolling_forecast``) work on any such model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.tasks import SeriesLayout, grid_steps, series_labels

__all__ = ["Forecaster", "History", "Requests", "forecast", "rolling_forecast", "series_keys"]


def series_keys(frame: pd.DataFrame, layout: SeriesLayout) -> pd.Series:
    """Each row's series label, as the forecasting task names series."""
    return series_labels(frame, layout.id_columns)


@dataclass
class History:
    """Every series' rows on its grid, sorted by series then time, with the target.

    ``starts[i]:starts[i+1]`` are the rows of series ``labels[i]``.
    """

    frame: pd.DataFrame
    labels: list[str]
    starts: np.ndarray

    @property
    def y(self) -> np.ndarray:
        return self.frame["__y"].to_numpy(dtype=float)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def ends(self) -> pd.Series:
        """The last time of each series."""
        times = self.frame["__time"].to_numpy()
        return pd.Series(times[self.starts[1:] - 1], index=self.labels)

    def series_frame(self, i: int) -> pd.DataFrame:
        return self.frame.iloc[self.starts[i]:self.starts[i + 1]]

    def scales(self) -> np.ndarray:
        """Each series' scale: its mean absolute value (1 where that is 0)."""
        sums = np.add.reduceat(np.nan_to_num(np.abs(self.y)), self.starts[:-1])
        scales = sums / np.maximum(1, self.lengths())
        return np.where(scales > 1e-9, scales, 1.0)

    def take(self, codes: np.ndarray) -> History:
        """The history of the series ``codes`` only (in that order; codes are renumbered
        0, 1, ...)."""
        codes = np.asarray(codes, dtype=np.int64)
        rows = np.concatenate([np.arange(self.starts[c], self.starts[c + 1]) for c in codes]) \
            if len(codes) else np.zeros(0, dtype=np.int64)
        lengths = self.lengths()[codes]
        return History(self.frame.iloc[rows].reset_index(drop=True),
                       [self.labels[int(c)] for c in codes],
                       np.r_[0, np.cumsum(lengths)].astype(np.int64))

    def future_times(self, i: int, steps: int, freq: str) -> pd.DatetimeIndex:
        """The ``steps`` grid times after the end of series ``i``."""
        end = pd.Timestamp(self.frame["__time"].iloc[self.starts[i + 1] - 1])
        return pd.date_range(end, periods=steps + 1, freq=freq)[1:]


@dataclass
class Requests:
    """The rows to forecast: series code, steps past the series' end, time, and their frame."""

    codes: np.ndarray
    steps: np.ndarray
    frame: pd.DataFrame

    @property
    def max_steps(self) -> int:
        return int(self.steps.max()) if len(self.steps) else 0


class Forecaster(RegressorMixin, BaseEstimator):
    """The base of every forecaster: history handling around :meth:`_fit` and :meth:`_forecast`.

    Subclasses implement ``_fit(history)`` and ``_forecast(history, requests) -> values``, the
    latter for any history (the fitted one, or one extended by context rows).
    """

    layout: SeriesLayout | None

    # ---------------------------------------------------------------------------- history

    def _layout(self) -> SeriesLayout:
        if self.layout is None:
            raise NotFittedError(f"{type(self).__name__} needs its series layout (layout=...).")
        return self.layout

    def _history(self, X: pd.DataFrame, y: Any) -> History:
        layout = self._layout()
        frame = pd.DataFrame(X).copy()
        frame["__y"] = np.asarray(y, dtype=float)
        frame["__time"] = pd.to_datetime(frame[layout.time_column]).to_numpy()
        frame["__series"] = series_keys(frame, layout).to_numpy()
        frame = frame.sort_values(["__series", "__time"], kind="stable").reset_index(drop=True)
        frame["__y"] = frame.groupby("__series", sort=False)["__y"].transform(
            lambda s: s.ffill().bfill())
        labels, first = np.unique(frame["__series"].to_numpy(), return_index=True)
        starts = np.r_[first, len(frame)].astype(np.int64)
        return History(frame, [str(v) for v in labels], starts)

    def fit(self, X: pd.DataFrame, y: Any, sample_weight: Any = None) -> Forecaster:
        history = self._history(X, y)
        if len(history.frame) == 0:
            raise DataError("no rows to fit a forecaster on.")
        self.history_ = history
        self.n_features_in_ = pd.DataFrame(X).shape[1]
        self._fit(history)
        return self

    def _fit(self, history: History) -> None:
        raise NotImplementedError

    def _forecast(self, history: History, requests: Requests) -> np.ndarray:
        raise NotImplementedError

    # --------------------------------------------------------------------------- predict

    def _split(self, X: pd.DataFrame) -> tuple[History, Requests, np.ndarray, np.ndarray]:
        """The history (fitted, or extended by ``X``'s rows that carry the target), the
        requests, and which rows of ``X`` are context (with their values)."""
        if not hasattr(self, "history_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first.")
        layout = self._layout()
        frame = pd.DataFrame(X).reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        fitted = [c for c in self.history_.frame.columns if not c.startswith("__")]
        missing = [c for c in fitted if c not in frame.columns]
        if missing:
            raise DataError(
                f"the rows to forecast lack column(s) {', '.join(repr(c) for c in missing)} "
                f"that the model was trained on; expected columns: {', '.join(fitted)}.")
        known = np.zeros(len(frame), dtype=bool)
        values = np.full(len(frame), np.nan)
        if layout.target in frame.columns:
            values = pd.to_numeric(frame[layout.target], errors="coerce").to_numpy(dtype=float)
            known = ~np.isnan(values)
        history = self.history_
        if known.any():
            context = frame.loc[known].drop(columns=[layout.target])
            old = history.frame.drop(columns=["__time", "__series"])
            old_y = old.pop("__y")
            merged = pd.concat([old.assign(**{layout.target: old_y.to_numpy()}),
                                context.assign(**{layout.target: values[known]})],
                               ignore_index=True)
            merged[layout.time_column] = pd.to_datetime(merged[layout.time_column])
            merged = merged.drop_duplicates(layout.key_columns, keep="last")
            history = self._history(merged.drop(columns=[layout.target]),
                                    merged[layout.target])
        wanted = frame.loc[~known]
        keys = series_keys(wanted, layout).to_numpy()
        index = {label: i for i, label in enumerate(history.labels)}
        unseen = sorted(set(keys) - set(index))
        if unseen:
            raise DataError(
                f"cannot forecast series {unseen[0]!r}: the model has no history for it "
                f"({len(unseen)} unseen series). Forecast only series the model was trained on, "
                "or give their history as rows with the target.")
        codes = np.asarray([index[k] for k in keys], dtype=np.int64)
        times = pd.to_datetime(wanted[layout.time_column]).to_numpy()
        ends = history.ends().to_numpy()[codes] if len(codes) else np.zeros(0, "datetime64[ns]")
        steps = grid_steps(ends, times, layout.freq)
        bad = steps < 1
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"row at {pd.Timestamp(times[row])} of series {keys[row]!r} is not a step of the "
                f"{layout.freq} grid after the series' last known time "
                f"({pd.Timestamp(ends[row])}); forecasts start after each series' history. Give "
                "earlier rows with their target to extend the history.")
        requests = Requests(codes, steps, wanted.reset_index(drop=True))
        return history, requests, known, values

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Forecast the rows of ``X`` past their series' history (see the module's doc)."""
        history, requests, known, values = self._split(X)
        out = values.copy()
        if len(requests.codes):
            out[~known] = np.asarray(self._forecast(history, requests), dtype=float)
        return out

    # ------------------------------------------------------------------ Azure's methods

    def forecast(self, X_future: pd.DataFrame, y_past: Any = None) -> np.ndarray:
        """Azure's ``forecast``: the values of ``X_future``'s rows, where ``y_past`` (aligned
        with them, ``NaN`` where unknown) gives known values that extend the history."""
        return forecast(self, X_future, y_past, self._layout())

    def rolling_forecast(self, X_test: pd.DataFrame, y_test: Any, step: int = 1) -> pd.DataFrame:
        """Azure's ``rolling_forecast``: see :func:`rolling_forecast`."""
        return rolling_forecast(self, X_test, y_test, self._layout(), step=step)

    def forecast_quantiles(self, X_future: pd.DataFrame, quantiles: Any = (0.5,),
                           y_past: Any = None) -> pd.DataFrame:
        """Quantile forecasts of ``X_future``'s rows (one column per quantile)."""
        from cirrusml.forecast._quantiles import forecast_quantiles

        return forecast_quantiles(self, X_future, quantiles, y_past)


def forecast(model: Any, X_future: pd.DataFrame, y_past: Any, layout: SeriesLayout
             ) -> np.ndarray:
    """``model``'s values for ``X_future``'s rows; ``y_past`` (aligned with them, ``NaN`` where
    unknown) gives known values that extend the history (they come back unchanged)."""
    frame = pd.DataFrame(X_future).reset_index(drop=True)
    if y_past is not None:
        frame = frame.assign(**{layout.target: np.asarray(y_past, dtype=float)})
    return np.asarray(model.predict(frame), dtype=float)


def rolling_forecast(model: Any, X_test: pd.DataFrame, y_test: Any, layout: SeriesLayout,
                     step: int = 1) -> pd.DataFrame:
    """Azure's rolling forecast: from each origin (the series' end, then every ``step`` grid
    steps), forecast the next ``layout.horizon`` rows of ``X_test``; the actual values up to an
    origin are history for the forecasts from it.

    Returns one row per (origin, forecast row): the id and time columns, ``origin``,
    ``horizon`` (steps past the origin), ``forecast`` and ``actual``.
    """
    if step < 1:
        raise DataError(f"rolling_forecast needs step >= 1, got {step}.")
    frame = pd.DataFrame(X_test).reset_index(drop=True)
    actual = np.asarray(y_test, dtype=float)
    times = pd.to_datetime(frame[layout.time_column])
    order = np.lexsort((times.to_numpy(), series_keys(frame, layout).to_numpy()))
    frame, actual = frame.iloc[order].reset_index(drop=True), actual[order]
    keys = series_keys(frame, layout).to_numpy()
    position = pd.Series(np.arange(len(frame))).groupby(keys).cumcount().to_numpy()
    pieces = []
    n = int(position.max()) + 1 if len(position) else 0
    for origin in range(0, n, step):
        rows = np.flatnonzero((position >= origin) & (position < origin + layout.horizon))
        context = np.flatnonzero(position < origin)
        part = pd.concat([frame.iloc[context].assign(**{layout.target: actual[context]}),
                          frame.iloc[rows].drop(columns=[layout.target], errors="ignore")],
                         ignore_index=True)
        values = np.asarray(model.predict(part), dtype=float)[len(context):]
        piece = frame.iloc[rows][list(layout.key_columns)].copy()
        origin_times = [times.iloc[order].iloc[r] for r in rows]
        piece["origin"] = [t - pd.tseries.frequencies.to_offset(layout.freq) * int(
            position[r] - origin + 1) for t, r in zip(origin_times, rows, strict=True)]
        piece["horizon"] = position[rows] - origin + 1
        piece["forecast"] = values
        piece["actual"] = actual[rows]
        pieces.append(piece)
    if not pieces:
        return pd.DataFrame(columns=[*layout.key_columns, "origin", "horizon", "forecast",
                                     "actual"])
    return pd.concat(pieces, ignore_index=True)
