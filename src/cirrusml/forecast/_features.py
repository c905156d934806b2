"""The features a regression forecaster learns from (reference §12.2), for (origin, step) pairs.

A sample is one series, one **origin** (the last point known when forecasting) and one **step**
``h`` (1..horizon): the row forecast is ``h`` grid steps after the origin. Every look-back
feature reads the target at or before the origin only, so a value after an origin can never move
a feature of that origin (the no-look-ahead rule; tests change the future and compare).

The target and the look-back features are taken relative to a **base**, the seasonal-naive
forecast of the row (the value one season before it, or the origin's value without a season),
and divided by the series' **scale** (its mean absolute value in the history fitted on). A global
model across series of different sizes then learns corrections to a strong baseline.

Features:

* ``_automl_horizon``: the step ``h``;
* ``_automl_lookback_j``: the target ``j`` steps before the origin (``j = 0`` is the origin);
* ``_automl_target_lag_k``: the target lag ``k`` of the row (``target_lags``), missing where it
  falls after the origin;
* ``_automl_season_lag_c``: the row's phase ``c`` seasons back;
* ``_automl_window_mean/std/min/max``: statistics of the target over the window before the origin
  (``target_rolling_window_size``, else one season);
* ``_automl_base``: the base divided by the scale (the series' level);
* ``_automl_cycle_lag`` and ``_automl_cycle_change`` (a second, longer seasonality: the year of
  daily data, the week of hourly or half-hourly data, when the history holds two such cycles):
  the row's value one and two cycles back against the base, and how the series moved between
  the base's and the row's phase of those cycles;
* ``_automl_stl_season``, ``_automl_stl_season_change`` (``use_stl``) and ``_automl_stl_trend``
  (``use_stl: seasontrend``): the row's seasonal component from a classical decomposition of the
  history the model is fitted on, its change from the base's phase, and the trend at the origin;
* calendar features of the row's time (those finer than the frequency dropped), holidays of
  ``country_or_region_for_holidays`` for daily data, the series id (a code);
* covariates: known ones at the row's time, unknown ones (``features_unknown_at_forecast_time``,
  and every numeric one with ``feature_lags: auto``, as an extra column) at the origin.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["FeatureSpec", "calendar_columns", "make_features", "seasonal_profiles"]

# Calendar features by the finest grid they make sense on (seconds per step).
_CALENDAR = (
    ("minute", 60), ("hour", 3600), ("am_pm", 3600), ("wday", 86400), ("day", 86400),
    ("yday", 86400), ("week", 7 * 86400), ("month", 28 * 86400), ("quarter", 90 * 86400),
    ("half", 180 * 86400), ("year", 365 * 86400),
)


def _step_seconds(freq: str) -> float:
    ref = pd.Timestamp("2001-01-01")
    return float(((ref + to_offset(freq)) - ref).total_seconds())


def calendar_columns(freq: str) -> list[str]:
    """Calendar features for a grid of ``freq``: none finer than one step."""
    step = _step_seconds(freq)
    # Months and quarters vary in length: a step of 31 days still has a month.
    keep = [name for name, finest in _CALENDAR if finest >= step * 0.8 or name == "year"]
    # A feature constant on the grid (the hour of daily data) is dropped by the rule above;
    # one that repeats every step (the week of weekly data) carries information and stays.
    return keep


def calendar(times: pd.DatetimeIndex, columns: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in columns:
        if name == "minute":
            out[name] = times.minute.to_numpy() + 60 * times.hour.to_numpy()
        elif name == "hour":
            out[name] = times.hour.to_numpy()
        elif name == "am_pm":
            out[name] = (times.hour.to_numpy() >= 12).astype(int)
        elif name == "wday":
            out[name] = times.dayofweek.to_numpy()
        elif name == "day":
            out[name] = times.day.to_numpy()
        elif name == "yday":
            out[name] = times.dayofyear.to_numpy()
        elif name == "week":
            out[name] = times.isocalendar().week.to_numpy(dtype=int)
        elif name == "month":
            out[name] = times.month.to_numpy()
        elif name == "quarter":
            out[name] = times.quarter.to_numpy()
        elif name == "half":
            out[name] = (times.month.to_numpy() > 6).astype(int)
        elif name == "year":
            out[name] = times.year.to_numpy()
    return {f"_automl_{k}": v.astype(float) for k, v in out.items()}


@functools.lru_cache(maxsize=8)
def _holiday_table(country: str, first: int, last: int) -> dict[Any, str]:
    import holidays

    return dict(holidays.country_holidays(country, years=range(first, last + 1)))


def holiday_features(times: pd.DatetimeIndex, country: str) -> dict[str, np.ndarray]:
    """``_automl_holiday`` (1 on a holiday, 0.5 the day before or after) and
    ``_automl_is_paid_time_off`` (1 on a holiday that falls on a weekday)."""
    days = times.normalize()
    table = _holiday_table(country, int(days.year.min()) - 1, int(days.year.max()) + 1)
    dates = set(pd.Timestamp(d) for d in table)
    on = np.asarray([d in dates for d in days], dtype=float)
    near = np.asarray([(d - pd.Timedelta(days=1)) in dates or (d + pd.Timedelta(days=1)) in dates
                       for d in days], dtype=float)
    weekday = days.dayofweek.to_numpy() < 5
    return {"_automl_holiday": np.maximum(on, 0.5 * near),
            "_automl_is_paid_time_off": (on * weekday).astype(float)}


@dataclass
class FeatureSpec:
    """What the features are, fixed at fit and reused to forecast."""

    lookback: int
    target_lags: tuple[int, ...]
    window: int
    season: int
    calendar: list[str]
    holidays: str | None
    known: list[str]
    unknown: list[str]
    categorical: dict[str, list[str]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    #: ``use_stl``: ``season`` or ``seasontrend`` (None: no decomposition features).
    stl: str | None = None
    #: The second seasonality in steps (``SeriesLayout.longer_cycle``, when the history holds
    #: two cycles and a horizon; 0: none).
    cycle: int = 0
    #: Each series' seasonal component by phase (``(n_series, season)``), in units of its
    #: scale, fitted on the history the model is fitted on (``use_stl``).
    profiles: np.ndarray | None = None


def seasonal_profiles(y: np.ndarray, starts: np.ndarray, scales: np.ndarray,
                      season: int) -> np.ndarray:
    """Each series' seasonal component by phase: the mean, per phase, of the series less its
    moving average over one season (a classical decomposition), divided by its scale. Phase
    ``p`` is the position ``p`` steps after a multiple of ``season`` from the series' start."""
    out = np.zeros((len(starts) - 1, max(1, season)))
    if season <= 1:
        return out
    for i in range(len(starts) - 1):
        series = y[starts[i]:starts[i + 1]]
        if len(series) < 2 * season:
            continue
        trend = pd.Series(series).rolling(season, center=True, min_periods=season).mean()
        detrended = series - trend.to_numpy()
        phase = np.arange(len(series)) % season
        means = pd.Series(detrended).groupby(phase).mean().reindex(range(season)).fillna(0.0)
        values = means.to_numpy() - float(means.mean())
        out[i] = values / scales[i]
    return out


def _take(values: np.ndarray, starts: np.ndarray, positions: np.ndarray,
          codes: np.ndarray) -> np.ndarray:
    """``values`` of each sample's series at ``positions`` (NaN before the series' start)."""
    ok = positions >= 0
    out = np.full(len(positions), np.nan)
    out[ok] = values[starts[codes[ok]] + positions[ok]]
    return out


def make_features(spec: FeatureSpec, y: np.ndarray, starts: np.ndarray, scales: np.ndarray,
                  codes: np.ndarray, origins: np.ndarray, steps: np.ndarray,
                  times: pd.DatetimeIndex, row_covariates: pd.DataFrame,
                  origin_covariates: pd.DataFrame, series_ids: np.ndarray | None = None
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature frame of samples (``codes``, ``origins`` as positions within their series,
    ``steps``), and each sample's base.

    ``y`` holds every series' target one after the other (series ``i`` from ``starts[i]``);
    ``times`` are the forecast rows' times; ``row_covariates`` the known covariates at those rows,
    ``origin_covariates`` the unknown ones at the origins; ``series_ids`` the series feature
    (the codes of the fitted model's series; ``codes`` when omitted).
    """
    m = max(1, spec.season)
    scale = scales[codes]
    if m > 1:
        base_pos = origins + steps - m * np.ceil(steps / m).astype(np.int64)
    else:
        base_pos = origins
    base = _take(y, starts, base_pos, codes)
    base = np.where(np.isnan(base), _take(y, starts, origins, codes), base)
    cols: dict[str, np.ndarray] = {"_automl_horizon": steps.astype(float)}
    for j in range(spec.lookback):
        cols[f"_automl_lookback_{j}"] = (_take(y, starts, origins - j, codes) - base) / scale
    for k in spec.target_lags:
        pos = origins + steps - k
        value = _take(y, starts, np.where(pos <= origins, pos, -1), codes)
        cols[f"_automl_target_lag_{k}"] = (value - base) / scale
    if m > 1:
        for c in (1, 2):
            pos = base_pos - m * c
            cols[f"_automl_season_lag_{c}"] = (_take(y, starts, pos, codes) - base) / scale
    window = np.stack([_take(y, starts, origins - j, codes) for j in range(spec.window)])
    with np.errstate(all="ignore"):
        rel = (window - base) / scale
        cols["_automl_window_mean"] = np.nanmean(rel, axis=0)
        cols["_automl_window_std"] = np.nanstd(window / scale, axis=0)
        cols["_automl_window_min"] = np.nanmin(rel, axis=0)
        cols["_automl_window_max"] = np.nanmax(rel, axis=0)
    cols["_automl_base"] = base / scale
    if spec.cycle:
        cols.update(_cycle_features(spec.cycle, y, starts, scale, codes, origins,
                                    origins + steps, base_pos, base))
    if spec.stl and spec.profiles is not None and m > 1:
        # The row's seasonal component, and the base's: what the season adds between them.
        phase_row = (origins + steps) % m
        phase_base = base_pos % m
        ids = codes if series_ids is None else np.maximum(series_ids, 0)
        cols["_automl_stl_season"] = spec.profiles[ids, phase_row]
        cols["_automl_stl_season_change"] = (spec.profiles[ids, phase_row]
                                             - spec.profiles[ids, phase_base])
        if spec.stl == "seasontrend":
            # The trend at the origin: the mean of the last season, against the base.
            last = np.stack([_take(y, starts, origins - j, codes) for j in range(m)])
            with np.errstate(all="ignore"):
                cols["_automl_stl_trend"] = (np.nanmean(last, axis=0) - base) / scale
    cols.update(calendar(times, spec.calendar))
    if spec.holidays:
        cols.update(holiday_features(times, spec.holidays))
    cols["_automl_series"] = (codes if series_ids is None else series_ids).astype(float)
    for column in spec.known:
        cols[column] = _encode(row_covariates[column], spec.categorical.get(column))
    for column in spec.unknown:
        cols[f"{column}_at_origin"] = _encode(origin_covariates[column],
                                              spec.categorical.get(column))
    frame = pd.DataFrame(cols)
    return frame, base


def _cycle_features(cycle: int, y: np.ndarray, starts: np.ndarray, scale: np.ndarray,
                    codes: np.ndarray, origins: np.ndarray, rows: np.ndarray,
                    base_pos: np.ndarray, base: np.ndarray) -> dict[str, np.ndarray]:
    """One and two cycles back: the row's value against the base, and the move from the base's
    phase to the row's (the mean over the cycles the history holds); positions after the origin
    are missing."""
    lags, changes = [], []
    for k in (1, 2):
        pos = rows - k * cycle
        row_then = _take(y, starts, np.where(pos <= origins, pos, -1), codes)
        base_then = _take(y, starts, base_pos - k * cycle, codes)
        lags.append((row_then - base) / scale)
        changes.append((row_then - base_then) / scale)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return {"_automl_cycle_lag": np.nanmean(np.stack(lags), axis=0),
                "_automl_cycle_change": np.nanmean(np.stack(changes), axis=0)}


def _encode(values: pd.Series, categories: list[str] | None) -> np.ndarray:
    if categories is None:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    index = {c: i for i, c in enumerate(categories)}
    return np.asarray([index.get(str(v), -1) for v in values], dtype=float)
