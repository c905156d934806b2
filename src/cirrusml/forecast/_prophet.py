"""Prophet: one Prophet model (piecewise-linear trend, Fourier seasonalities) per series.

Prophet fits one series at a time (it has no vectorised panel fit), so the loop is kept lean: no
uncertainty samples (the MAP fit only) and cmdstanpy's per-fit logging silenced. Each model gets:

* the seasonalities the grid can show: yearly for steps shorter than a year, weekly for steps
  shorter than a week, daily for steps shorter than a day, each only when the series spans two
  of its cycles and with no more Fourier terms than the grid resolves; and the job's season
  (``season_length`` steps) as a custom seasonality when it is none of these;
* the holidays of ``country_or_region_for_holidays`` (``add_country_holidays``) for daily data;
* the known numeric covariates as extra regressors (missing values carried from the nearest
  known one). Forecasts take their future values from the rows asked for; other steps repeat the
  series' last value. Covariates in ``features_unknown_at_forecast_time`` and non-numeric ones
  are left out.

A series Prophet cannot fit (fewer than two points) is forecast by its last value. Forecasts
with a history other than the fitted one (context rows) refit the series whose rows changed; the
others reuse their fitted model. The numbers Prophet sees are rounded to 10 significant digits,
so that the same data read two ways (from memory, from a CSV file) gives the same forecasts.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import InvalidSpecError
from cirrusml.forecast._base import Forecaster, History, Requests
from cirrusml.forecast._features import _step_seconds
from cirrusml.tasks import SeriesLayout

__all__ = ["ProphetForecaster"]

_DAY = 86400.0
_DAILY = ("D", "B")
#: Prophet's built-in seasonalities: (name, period in days, Prophet's default Fourier order).
_CYCLES = (("yearly", 365.25, 10), ("weekly", 7.0, 3), ("daily", 1.0, 4))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Prophet's and cmdstanpy's informational logging (restored afterwards)."""
    # ``disabled`` rather than a level: cmdstanpy resets its logger's level when it first
    # configures it.
    loggers = [logging.getLogger(name) for name in ("cmdstanpy", "prophet", "prophet.plot")]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            yield
    finally:
        for logger, disabled in zip(loggers, before, strict=True):
            logger.disabled = disabled


def _prophet_class() -> Any:
    with _quiet():
        # Imported on first use (and by name: the type checker stays out of Prophet and
        # cmdstanpy, whose pandas is untyped here).
        return importlib.import_module("prophet").Prophet


def _steady(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to 10 significant digits of their largest magnitude.

    Prophet's optimizer turns last-bit differences in its data (a CSV round trip of the same
    numbers) into differences of about 1e-4 in the forecasts; rounded, the same numbers give the
    same fit.
    """
    finite = np.abs(values[np.isfinite(values)])
    if len(finite) == 0 or finite.max() == 0:
        return values
    decimals = 9 - int(np.floor(np.log10(finite.max())))
    return np.round(values, decimals)


def _fingerprint(frame: pd.DataFrame) -> str:
    """What identifies a series' rows: its times and target values."""
    digest = hashlib.sha1(frame["__time"].to_numpy().tobytes())
    digest.update(_steady(frame["__y"].to_numpy(dtype=float)).tobytes())
    return digest.hexdigest()


class ProphetForecaster(Forecaster):
    """One Prophet model per series (see the module doc).

    Parameters
    ----------
    layout
        The job's series layout.
    changepoint_prior_scale
        Flexibility of the trend (Prophet's default 0.05; larger bends more).
    seasonality_prior_scale
        Strength of the seasonalities' prior (Prophet's default 10).
    seasonality_mode
        ``"additive"`` or ``"multiplicative"`` seasonalities.
    """

    def __init__(self, *, layout: SeriesLayout | None = None,
                 changepoint_prior_scale: float = 0.05, seasonality_prior_scale: float = 10.0,
                 seasonality_mode: str = "additive") -> None:
        self.layout = layout
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale
        self.seasonality_mode = seasonality_mode

    # ------------------------------------------------------------------------ setup

    def _regressors(self, frame: pd.DataFrame) -> list[str]:
        layout = self._layout()
        unknown = set(layout.unknown_features)
        return [c for c in layout.covariates(frame.columns) if not c.startswith("__")
                and c not in unknown and (pd.api.types.is_numeric_dtype(frame[c])
                                          or pd.api.types.is_bool_dtype(frame[c]))]

    def _seasonalities(self, span_days: float) -> tuple[dict[str, Any], list[tuple[str, float,
                                                                                   int]]]:
        """Prophet's built-in seasonality arguments and custom seasonalities for a series that
        spans ``span_days``."""
        layout = self._layout()
        step = _step_seconds(layout.freq) / _DAY
        builtin: dict[str, Any] = {}
        periods = []
        for name, period, order in _CYCLES:
            per_cycle = period / step
            on = per_cycle > 1.99 and span_days >= 2 * period
            # No more Fourier terms than the grid resolves (two points per wave).
            builtin[f"{name}_seasonality"] = int(min(order, max(1, per_cycle // 2))) if on \
                else False
            if on:
                periods.append(period)
        custom = []
        m = int(layout.season_length)
        if m > 1:
            period = m * step
            known = any(abs(period - p) <= 0.05 * p for p in periods)
            if not known and span_days >= 2 * period:
                custom.append(("season", period, int(min(5, max(1, m // 2)))))
        return builtin, custom

    def _frame(self, frame: pd.DataFrame, regressors: list[str]) -> pd.DataFrame:
        df = pd.DataFrame({"ds": frame["__time"].to_numpy(),
                           "y": _steady(frame["__y"].to_numpy(dtype=float))})
        for column in regressors:
            values = pd.to_numeric(frame[column], errors="coerce").astype(float)
            df[column] = _steady(values.ffill().bfill().fillna(0.0).to_numpy())
        return df

    def _fit_one(self, frame: pd.DataFrame) -> Any:
        """A fitted Prophet model for one series' rows, or ``None`` when it has too few."""
        if int(np.isfinite(frame["__y"].to_numpy(dtype=float)).sum()) < 2:
            return None
        layout = self._layout()
        times = frame["__time"]
        span = (times.iloc[-1] - times.iloc[0]).total_seconds() / _DAY
        builtin, custom = self._seasonalities(span)
        model = _prophet_class()(
            growth="linear", changepoint_prior_scale=float(self.changepoint_prior_scale),
            seasonality_prior_scale=float(self.seasonality_prior_scale),
            seasonality_mode=str(self.seasonality_mode), uncertainty_samples=0, **builtin)
        for name, period, order in custom:
            model.add_seasonality(name=name, period=period, fourier_order=order)
        if layout.holidays_country and layout.freq.split("-")[0] in _DAILY:
            model.add_country_holidays(country_name=layout.holidays_country)
        for column in self.regressors_:
            model.add_regressor(column)
        with _quiet():
            model.fit(self._frame(frame, self.regressors_))
        return model

    # ------------------------------------------------------------------------ fit/predict

    def _fit(self, history: History) -> None:
        if self.seasonality_mode not in ("additive", "multiplicative"):
            raise InvalidSpecError(f"Prophet seasonality_mode must be 'additive' or "
                                   f"'multiplicative', got {self.seasonality_mode!r}.")
        self.regressors_ = self._regressors(history.frame)
        self.models_: dict[str, Any] = {}
        self.fingerprints_: dict[str, str] = {}
        for code, label in enumerate(history.labels):
            frame = history.series_frame(code)
            self.models_[label] = self._fit_one(frame)
            self.fingerprints_[label] = _fingerprint(frame)

    def _model(self, history: History, code: int) -> Any:
        """The series' fitted model, refitted when its rows differ from the fitted ones."""
        label = history.labels[code]
        frame = history.series_frame(code)
        if label in self.models_ and self.fingerprints_.get(label) == _fingerprint(frame):
            return self.models_[label]
        return self._fit_one(frame)

    def _future(self, history: History, requests: Requests, code: int, steps: int
                ) -> pd.DataFrame:
        """The ``steps`` grid times after the series' end with their regressors: from the
        requested rows where given, else the series' last value."""
        layout = self._layout()
        frame = history.series_frame(code)
        grid = history.future_times(code, steps, layout.freq)
        future = pd.DataFrame({"ds": grid})
        mine = requests.frame.loc[requests.codes == code]
        given = mine.assign(ds=pd.to_datetime(mine[layout.time_column]).to_numpy()) \
            .drop_duplicates("ds", keep="last").set_index("ds")
        past = self._frame(frame, self.regressors_)
        for column in self.regressors_:
            values = pd.to_numeric(given[column], errors="coerce").astype(float) \
                if column in given.columns else pd.Series(dtype=float)
            future[column] = _steady(future["ds"].map(values).fillna(
                float(past[column].iloc[-1])).to_numpy(dtype=float))
        return future

    def _forecast(self, history: History, requests: Requests) -> np.ndarray:
        out = np.full(len(requests.codes), np.nan)
        for code in np.unique(requests.codes):
            rows = np.flatnonzero(requests.codes == code)
            steps = requests.steps[rows]
            model = self._model(history, int(code))
            if model is None:
                out[rows] = history.y[history.starts[code + 1] - 1]
                continue
            future = self._future(history, requests, int(code), int(steps.max()))
            with _quiet():
                values = model.predict(future)["yhat"].to_numpy(dtype=float)
            out[rows] = values[steps - 1]
        return out
