"""Time series facts of a forecasting job: the layout, the checks and the rolling-origin plan.

The forecasting task (:class:`~cirrusml.tasks.ForecastingTask`) calls these before any training:

* :func:`series_layout` reads ``forecasting:`` into a :class:`SeriesLayout` (time column, id
  columns, horizon, frequency, season length, look-back settings).
* :func:`prepare_series` checks one data input and puts it on its time grid, as Azure's
  forecasting guardrails do (reference §11, §12.2): the time column parsed (a bad value is named),
  time-series ids detected when timestamps repeat and none are given, duplicates refused (or
  aggregated with ``target_aggregate_function``), the frequency inferred or checked, missing grid
  steps inserted and imputed (target forward-filled, numeric features by their median), and short
  series padded or dropped as ``short_series_handling_config`` says. Each decision is a
  :class:`SeriesCheck` (a guardrail row).
* :func:`rolling_origin_folds` plans rolling-origin cross-validation: fold ``k`` validates the
  ``horizon`` steps after its origin in every series, and trains on everything before it.

Rows come out sorted by series, then time, with a fresh index. Everything here is pandas and
numpy; nothing fits a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from cirrusml.exceptions import DataError, InvalidSpecError

__all__ = [
    "SeriesCheck",
    "SeriesLayout",
    "min_history",
    "prepare_series",
    "rolling_origin_folds",
    "grid_steps",
    "handle_short_series",
    "series_codes",
    "series_labels",
    "series_layout",
]

#: Frequencies whose season length is known without looking at the data.
_SEASONS = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "M": 12,
            "QS": 4, "QE": 4, "Q": 4, "YS": 1, "YE": 1, "Y": 1, "A": 1, "AS": 1}
#: The automatic number of rolling-origin folds, when the history allows it, and for series of
#: at least ``LONG_HORIZONS`` horizons.
AUTO_FOLDS = 3
LONG_AUTO_FOLDS = 5
LONG_HORIZONS = 20
#: Calendar cycles (seconds) a second, longer seasonality may follow: a day, a week, a year.
_CYCLES = (86400.0, 7 * 86400.0, 365.25 * 86400.0)
#: Business days: a week of 5, a year of 260.
_BUSINESS_CYCLES = (5, 260)


@dataclass(frozen=True)
class SeriesLayout:
    """How a forecasting job's rows form series (``forecasting:`` resolved on the data).

    Attributes
    ----------
    target, time_column, id_columns
        Column names; ``id_columns`` is empty for a single series.
    horizon
        Steps of ``freq`` the model forecasts past each series' end.
    freq
        The pandas offset alias of the time grid (``D``, ``MS``, ``30min``).
    season_length
        Steps per season (1: not seasonal).
    target_lags, rolling_window
        ``forecasting.target_lags`` (a tuple of lags, ``"auto"`` or ``None``) and
        ``target_rolling_window_size`` (a size, ``"auto"`` or ``None``).
    feature_lags
        ``feature_lags: auto``: numeric features are also used through their lags.
    holidays_country
        ``country_or_region_for_holidays`` (holiday features for daily data).
    unknown_features
        ``features_unknown_at_forecast_time``: used only through their values at the origin.
    use_stl
        ``season``, ``seasontrend`` or ``None``.
    """

    target: str
    time_column: str
    id_columns: tuple[str, ...] = ()
    horizon: int = 1
    freq: str = "D"
    season_length: int = 1
    target_lags: tuple[int, ...] | str | None = None
    rolling_window: int | str | None = None
    feature_lags: bool = False
    holidays_country: str | None = None
    unknown_features: tuple[str, ...] = ()
    use_stl: str | None = None

    @property
    def offset(self) -> Any:
        return to_offset(self.freq)

    @property
    def key_columns(self) -> list[str]:
        """The id columns, then the time column."""
        return [*self.id_columns, self.time_column]

    def covariates(self, columns: Sequence[str]) -> list[str]:
        """The feature columns of a frame with ``columns``: all but the keys and the target."""
        keys = set(self.key_columns) | {self.target}
        return [str(c) for c in columns if str(c) not in keys]

    def longer_cycle(self) -> int:
        """The frequency's next calendar cycle after its season, in steps, or 0: the shortest
        of a day, a week and a year that is longer than ``season_length`` (a year of daily
        data, a week of hourly or half-hourly data; none for monthly or quarterly data, whose
        season is the year). Fixed-length grids and business days only."""
        offset = self.offset
        season = max(1, int(self.season_length))
        if offset.name.split("-")[0] in ("B", "C"):
            cycles = [c // max(1, int(getattr(offset, "n", 1) or 1)) for c in _BUSINESS_CYCLES]
        else:
            try:
                step = pd.Timedelta(offset).total_seconds()
            except (TypeError, ValueError):
                return 0
            cycles = [round(c / step) for c in _CYCLES] if step > 0 else []
        return next((c for c in cycles if c > season), 0)

    def max_lookback(self) -> int:
        """The longest look-back the explicit settings need (0 when they are automatic)."""
        lags = max(self.target_lags) if isinstance(self.target_lags, tuple) and self.target_lags \
            else 0
        window = self.rolling_window if isinstance(self.rolling_window, int) else 0
        return max(lags, window)


@dataclass
class SeriesCheck:
    """One forecasting guardrail (reference §11): ``Passed``, ``Done``, ``Fixed`` or ``Alerted``."""

    name: str
    status: str
    description: str
    details: list[dict[str, Any]] = field(default_factory=list)


# ------------------------------------------------------------------------------ the layout


def _value(setting: Any) -> Any:
    return getattr(setting, "value", setting)


def series_layout(job: Any) -> SeriesLayout:
    """The layout ``job.forecasting_settings`` asks for; the frequency and the season length
    are still unresolved where they are automatic (:func:`prepare_series` resolves them)."""
    settings = job.forecasting_settings
    if settings is None or not settings.time_column_name:
        raise InvalidSpecError(
            "a forecasting job needs forecasting.time_column_name, the column holding each "
            "row's time; set it with set_forecast_settings(time_column_name=...).",
            field="forecasting.time_column_name")
    horizon = settings.forecast_horizon
    ids = settings.time_series_id_column_names or []
    lags = settings.target_lags
    if isinstance(lags, int):
        lags = (lags,) if lags > 0 else None
    elif isinstance(lags, list):
        lags = tuple(sorted(set(int(v) for v in lags))) or None
    window = settings.target_rolling_window_size
    unknown = settings.features_unknown_at_forecast_time or []
    feature_lags = _value(settings.feature_lags)
    use_stl = _value(settings.use_stl)
    return SeriesLayout(
        target=str(job.target_column_name), time_column=str(settings.time_column_name),
        id_columns=tuple(str(c) for c in ids),
        horizon=1 if horizon in (None, "auto") else int(horizon),
        freq=settings.frequency or "",
        season_length=0 if settings.seasonality in (None, "auto") else int(settings.seasonality),
        target_lags=lags, rolling_window=window,
        feature_lags=str(feature_lags).lower() == "auto",
        holidays_country=settings.country_or_region_for_holidays,
        unknown_features=tuple(str(c) for c in unknown),
        use_stl=None if use_stl in (None, "None") else str(use_stl).lower())


def min_history(layout: SeriesLayout, n_folds: int, step: int) -> int:
    """The points a series needs for ``n_folds`` rolling-origin folds ``step`` apart (Azure's
    rule, reference §9): ``2H + (n_folds - 1) * step + max(lags, window) + 1``."""
    return (2 * layout.horizon + (max(1, n_folds) - 1) * step + layout.max_lookback() + 1)


# ------------------------------------------------------------------------------ the checks


def _parse_times(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        times = raw
    else:
        times = pd.to_datetime(raw, errors="coerce", format="mixed") if raw.dtype == object \
            else pd.to_datetime(raw, errors="coerce")
    bad = times.isna()
    if bad.any():
        example = raw[bad].iloc[0]
        shown = "an empty value" if pd.isna(example) else repr(example)
        raise DataError(
            f"time column '{column}' of {where} holds {int(bad.sum())} value(s) that are not "
            f"dates or times, such as {shown} (row {int(np.flatnonzero(bad.to_numpy())[0])}); "
            "fix or remove those rows.")
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times


def series_labels(frame: pd.DataFrame, id_columns: Sequence[str]) -> pd.Series:
    """Each row's series label: its id values joined by `` / `` (``<series>`` for a single
    series)."""
    if not id_columns:
        return pd.Series(["<series>"] * len(frame), index=frame.index)
    if len(id_columns) == 1:
        return frame[id_columns[0]].astype(str)
    return frame[list(id_columns)].astype(str).agg(" / ".join, axis=1)


def series_codes(frame: pd.DataFrame, id_columns: Sequence[str]) -> np.ndarray:
    """One integer per row naming its series (0 for every row of a single series)."""
    if not id_columns:
        return np.zeros(len(frame), dtype=np.int64)
    codes, _ = pd.factorize(series_labels(frame, id_columns), sort=True)
    return np.asarray(codes, dtype=np.int64)


def _series_name(frame: pd.DataFrame, layout: SeriesLayout, row: int) -> str:
    if not layout.id_columns:
        return "the series"
    return "series " + ", ".join(f"{c}={frame[c].iloc[row]!r}" for c in layout.id_columns)


def _detect_ids(frame: pd.DataFrame, layout: SeriesLayout, times: pd.Series,
                where: str) -> tuple[str, ...]:
    """Columns that make (ids, time) unique, when timestamps repeat and no ids were given."""
    candidates = [c for c in layout.covariates(frame.columns)
                  if not pd.api.types.is_float_dtype(frame[c])
                  and frame[c].nunique(dropna=False) <= max(2, len(frame) // 2)]
    candidates.sort(key=lambda c: frame[c].nunique(dropna=False))
    chosen: list[str] = []
    keyed = pd.DataFrame({"__time": times})
    for column in candidates:
        chosen.append(column)
        keyed[column] = frame[column].astype(str)
        if not keyed.duplicated().any():
            return tuple(chosen)
    raise DataError(
        f"time column '{layout.time_column}' of {where} repeats timestamps, and no columns tell "
        "the series apart; name them in forecasting.time_series_id_column_names, or aggregate "
        "the rows with forecasting.frequency and forecasting.target_aggregate_function.")


def _infer_freq(frame: pd.DataFrame, times: pd.Series, codes: np.ndarray) -> str:
    """The grid of the longest series: pandas' inference, else the commonest step."""
    counts = np.bincount(codes)
    longest = times[codes == int(np.argmax(counts))].sort_values().drop_duplicates()
    if len(longest) < 2:
        raise DataError(
            "every series has a single time point; the frequency cannot be inferred. Set "
            "forecasting.frequency, or give more history.")
    if len(longest) >= 3:
        inferred = pd.infer_freq(pd.DatetimeIndex(longest))
        if inferred:
            return _canonical(inferred)
    steps = pd.Series(np.diff(longest.to_numpy())).mode()
    offset = to_offset(pd.Timedelta(steps.iloc[0]))
    return _canonical(offset.freqstr)


def _canonical(alias: str) -> str:
    offset = to_offset(alias)
    return str(offset.freqstr)


def _season_for(freq: str) -> int:
    offset = to_offset(freq)
    name = offset.name if hasattr(offset, "name") else freq
    base = name.split("-")[0]
    n = int(getattr(offset, "n", 1) or 1)
    if base in ("min", "T") and n in (5, 10, 15, 30):
        return 60 // n * 24 if n >= 30 else 60 // n
    if base in ("min", "T"):
        return max(1, 60 // n)
    if base in ("h", "H"):
        return max(1, 24 // n)
    season = _SEASONS.get(base, 1)
    return max(1, season // n) if season > 1 else 1


def grid_steps(ends: np.ndarray, times: np.ndarray, freq: str) -> np.ndarray:
    """Steps of the ``freq`` grid from each of ``ends`` to the matching time of ``times``
    (element-wise, ``datetime64`` arrays): 1 is the step after its end; -1 for a time at or
    before its end, or off the grid."""
    out = np.zeros(len(times), dtype=np.int64)
    for end in np.unique(ends):
        rows = np.flatnonzero(ends == end)
        last = times[rows].max()
        if last <= end:
            out[rows] = -1
            continue
        grid = pd.date_range(pd.Timestamp(end), pd.Timestamp(last), freq=freq).to_numpy()
        position = np.searchsorted(grid, times[rows], side="left")
        on_grid = (position < len(grid)) & (grid[np.minimum(position, len(grid) - 1)] ==
                                            times[rows])
        out[rows] = np.where(on_grid, position, -1)
    return out


def _grid_bins(times: pd.Series, offset: Any) -> pd.Series:
    """Each time's grid point at or before it (the bin it aggregates into)."""
    start = offset.rollback(times.min().normalize()) if not _is_tick(offset) else \
        times.min().floor(offset)
    end = times.max()
    grid = pd.date_range(start=start, end=end + offset, freq=offset)
    positions = np.searchsorted(grid.to_numpy(), times.to_numpy(), side="right") - 1
    return pd.Series(grid.to_numpy()[np.clip(positions, 0, len(grid) - 1)], index=times.index)


def _is_tick(offset: Any) -> bool:
    return isinstance(offset, pd.offsets.Tick)


def _finer(a: Any, b: Any) -> bool:
    """Whether offset ``a`` is a finer grid than ``b``."""
    ref = pd.Timestamp("2001-01-01")
    return bool((ref + a) - ref < (ref + b) - ref)


def _aggregate(frame: pd.DataFrame, layout: SeriesLayout, function: str) -> pd.DataFrame:
    keys = layout.key_columns
    agg: dict[str, Any] = {layout.target: function}
    for column in layout.covariates(frame.columns):
        agg[column] = "mean" if pd.api.types.is_numeric_dtype(frame[column]) and not \
            pd.api.types.is_bool_dtype(frame[column]) else "first"
    return frame.groupby(keys, sort=False, dropna=False).agg(agg).reset_index()


def _fill_grid(frame: pd.DataFrame, layout: SeriesLayout, medians: dict[str, float]
               ) -> tuple[pd.DataFrame, int]:
    """Insert the missing grid steps of every series and impute them (reference §12.2)."""
    offset = layout.offset
    pieces = []
    inserted = 0
    groups = frame.groupby(list(layout.id_columns), sort=False, dropna=False) \
        if layout.id_columns else [((), frame)]
    for key, part in groups:
        part = part.sort_values(layout.time_column)
        grid = pd.date_range(part[layout.time_column].iloc[0], part[layout.time_column].iloc[-1],
                             freq=offset)
        if len(grid) != len(part):
            # Each time appears once by now (duplicates were refused or aggregated).
            inserted += len(grid) - len(part)
            indexed = part.set_index(layout.time_column).reindex(grid)
            indexed.index.name = layout.time_column
            keys = key if isinstance(key, tuple) else (key,)
            for column, value in zip(layout.id_columns, keys, strict=False):
                indexed[column] = value
            part = indexed.reset_index()
        pieces.append(part)
    out = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0].reset_index(
        drop=True)
    # A missing target is forward-filled within its series (reference §12.2); a series' first
    # steps, which nothing precedes, take the next known value.
    target = out.groupby(list(layout.id_columns), sort=False)[layout.target] \
        if layout.id_columns else out[layout.target]
    out[layout.target] = target.ffill()
    if out[layout.target].isna().any():
        target = out.groupby(list(layout.id_columns), sort=False)[layout.target] \
            if layout.id_columns else out[layout.target]
        out[layout.target] = target.bfill()
    if inserted:
        for column in layout.covariates(out.columns):
            series = out[column]
            if pd.api.types.is_bool_dtype(series) or set(series.dropna().unique()) <= {True,
                                                                                        False}:
                out[column] = series.fillna(False)
            elif pd.api.types.is_numeric_dtype(series):
                out[column] = series.fillna(medians.get(column, series.median()))
    return out, inserted


def _pad(part: pd.DataFrame, layout: SeriesLayout, needed: int, seed: int) -> pd.DataFrame:
    """Azure's padding of a short series: earlier grid steps whose target is white noise,
    numeric features 0, bool features False, other features missing."""
    missing = needed - len(part)
    first = part[layout.time_column].iloc[0]
    times = pd.date_range(end=first, periods=missing + 1, freq=layout.offset)[:-1]
    rng = np.random.default_rng(seed)
    values = part[layout.target].to_numpy(dtype=float)
    scale = float(np.nanstd(values)) or 1.0
    pad = pd.DataFrame({layout.time_column: times})
    pad[layout.target] = float(np.nanmean(values)) + rng.normal(0.0, scale, missing)
    for column in part.columns:
        if column in (layout.time_column, layout.target):
            continue
        if column in layout.id_columns:
            pad[column] = part[column].iloc[0]
        elif pd.api.types.is_bool_dtype(part[column]):
            pad[column] = False
        elif pd.api.types.is_numeric_dtype(part[column]):
            pad[column] = 0.0
        else:
            pad[column] = np.nan
    return pd.concat([pad[list(part.columns)], part], ignore_index=True)


@dataclass
class PreparedSeries:
    """A data input put on its grid: the frame and what was decided on the way."""

    frame: pd.DataFrame
    layout: SeriesLayout
    checks: list[SeriesCheck]


def prepare_series(frame: pd.DataFrame, layout: SeriesLayout, *, where: str,
                   aggregate: str | None = None,
                   reference: SeriesLayout | None = None) -> PreparedSeries:
    """Check ``frame`` (one data input, the target present) and put it on its time grid.

    ``layout`` is the job's; ``reference`` is the layout resolved on the training data (given for
    validation and test data, whose frequency and ids must be the training data's). Short series
    are the task's to handle once it knows the history they need (:func:`handle_short_series`).
    """
    checks: list[SeriesCheck] = []
    for column in (*layout.id_columns, layout.time_column):
        if column not in frame.columns:
            what = ("forecasting.time_column_name" if column == layout.time_column
                    else "forecasting.time_series_id_column_names")
            raise DataError(f"{what}: column '{column}' is not in {where}; its columns are: "
                            f"{', '.join(map(str, frame.columns))}.")
    for column in layout.unknown_features:
        if column not in frame.columns:
            raise DataError(
                f"forecasting.features_unknown_at_forecast_time: column '{column}' is not in "
                f"{where}; its columns are: {', '.join(map(str, frame.columns))}.")
    frame = frame.copy()
    frame[layout.time_column] = _parse_times(frame, layout.time_column, where)
    times = frame[layout.time_column]

    # Time-series ids: given, detected (training data) or the training data's.
    if reference is not None:
        layout = replace(layout, id_columns=reference.id_columns, freq=reference.freq,
                         season_length=reference.season_length)
        missing = [c for c in layout.id_columns if c not in frame.columns]
        if missing:
            raise DataError(f"{where} lacks the time series id column(s) {missing} that "
                            "training_data has (detected or given); add them.")
    duplicated = frame.duplicated(layout.key_columns)
    if reference is None and not layout.id_columns and duplicated.any() and aggregate is None:
        ids = _detect_ids(frame, layout, times, where)
        layout = replace(layout, id_columns=ids)
        checks.append(SeriesCheck(
            "Time Series ID detection", "Fixed",
            f"Timestamps repeat; the series are told apart by {', '.join(ids)}.",
            [{"time_series_id_column_names": list(ids)}]))
        duplicated = frame.duplicated(layout.key_columns)
    elif reference is None:
        checks.append(SeriesCheck("Time Series ID detection", "Passed",
                                  "Each series has at most one row per timestamp."
                                  if not duplicated.any() or aggregate else ""))
    codes = series_codes(frame, layout.id_columns)

    # The frequency: inferred, or the one given (never finer than the data).
    inferred = _infer_freq(frame, times, codes) if reference is None else layout.freq
    freq = layout.freq or inferred
    try:
        offset = to_offset(freq)
    except ValueError:
        raise InvalidSpecError(f"'{freq}' is not a pandas frequency alias (such as D, H, W-THU, "
                               "MS).", field="forecasting.frequency") from None
    if reference is None and layout.freq and _finer(offset, to_offset(inferred)) \
            and not duplicated.any():
        raise DataError(
            f"forecasting.frequency '{layout.freq}' is finer than the data's own frequency "
            f"('{inferred}'); a forecast cannot be finer than its data. Set frequency to "
            f"'{inferred}' or coarser.")
    freq = _canonical(freq)
    layout = replace(layout, freq=freq)
    if reference is None and layout.season_length == 0:
        layout = replace(layout, season_length=_season_for(freq))

    # Aggregation to the grid, when asked; otherwise off-grid points and duplicates are errors.
    bins = _grid_bins(times, offset)
    off_grid = bins.to_numpy() != times.to_numpy()
    if aggregate is not None:
        frame[layout.time_column] = bins
        before = len(frame)
        frame = _aggregate(frame, layout, aggregate)
        checks.append(SeriesCheck(
            "Time series aggregation", "Fixed" if len(frame) < before else "Passed",
            f"Rows aggregated to frequency {freq} with {aggregate}: {before} -> {len(frame)}."))
    else:
        if duplicated.any():
            row = int(np.flatnonzero(duplicated.to_numpy())[0])
            raise DataError(
                f"{_series_name(frame, layout, row)} of {where} has {int(duplicated.sum())} "
                f"duplicate timestamp(s), such as {frame[layout.time_column].iloc[row]}; remove "
                "them, name the columns that tell series apart in "
                "forecasting.time_series_id_column_names, or aggregate them with "
                "forecasting.frequency and forecasting.target_aggregate_function.")
        if off_grid.any():
            share = float(off_grid.mean())
            if layout.freq and reference is None and share > 0.1:
                raise DataError(
                    f"{int(off_grid.sum())} time(s) of {where} ({share:.0%}) are not on the grid "
                    f"of forecasting.frequency '{layout.freq}', such as "
                    f"{times[off_grid].iloc[0]}; set forecasting.target_aggregate_function "
                    "(sum, mean, min or max) to aggregate them, or change the frequency.")
            frame = frame.loc[~off_grid]
            checks.append(SeriesCheck(
                "Frequency detection", "Done",
                f"{int(off_grid.sum())} point(s) off the {freq} grid were removed."))
        elif reference is None:
            checks.append(SeriesCheck("Frequency detection", "Passed",
                                      f"Every point is on the {freq} grid."))
    frame = frame.sort_values(layout.key_columns, kind="stable").reset_index(drop=True)

    # Missing grid steps.
    medians = {c: float(frame[c].median()) for c in layout.covariates(frame.columns)
               if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])}
    frame, inserted = _fill_grid(frame, layout, medians)
    if reference is None:
        checks.append(SeriesCheck(
            "Missing time steps imputation", "Done" if inserted else "Passed",
            f"{inserted} missing step(s) of the {freq} grid were inserted; their target is "
            "forward-filled, numeric features take the median." if inserted
            else "No step of the grid is missing."))
    return PreparedSeries(frame.reset_index(drop=True), layout, checks)


def handle_short_series(frame: pd.DataFrame, layout: SeriesLayout, needed: int, how: str,
                        seed: int) -> tuple[pd.DataFrame, SeriesCheck]:
    """Series of ``frame`` (on its grid) shorter than ``needed`` points, padded or dropped as
    ``short_series_handling_config`` says (``auto``, ``pad``, ``drop``, ``none``: an error)."""
    codes = series_codes(frame, layout.id_columns)
    lengths = np.bincount(codes)
    short = np.flatnonzero(lengths < needed)
    name = "Short series handling"
    if len(short) == 0:
        return frame, SeriesCheck(name, "Passed",
                                  f"Every series has at least {needed} points.")
    first_rows = {int(c): int(np.flatnonzero(codes == c)[0]) for c in short}
    names = [_series_name(frame, layout, first_rows[int(c)]) for c in short[:5]]
    how = (how or "auto").lower()
    if how == "auto":
        how = "pad" if len(short) == len(lengths) else "drop"
    if how == "none":
        raise DataError(
            f"{len(short)} series are shorter than the {needed} points the horizon, the lags "
            f"and the folds need ({'; '.join(names)}); give more history, lower "
            "forecast_horizon or n_cross_validations, or set short_series_handling_config to "
            "auto, pad or drop.")
    if how == "drop":
        keep = ~np.isin(codes, short)
        if not keep.any():
            raise DataError(
                f"every series is shorter than the {needed} points the horizon, the lags and "
                "the folds need; give more history or lower forecast_horizon or "
                "n_cross_validations.")
        return frame.loc[keep].reset_index(drop=True), SeriesCheck(
            name, "Fixed", f"{len(short)} series shorter than {needed} points were dropped: "
            f"{'; '.join(names)}{' …' if len(short) > 5 else ''}.",
            [{"series": n, "action": "dropped"} for n in names])
    pieces = []
    for code in range(len(lengths)):
        part = frame.loc[codes == code]
        pieces.append(_pad(part, layout, needed, seed + code) if code in set(short) else part)
    return pd.concat(pieces, ignore_index=True), SeriesCheck(
        name, "Fixed", f"{len(short)} series shorter than {needed} points were padded at their "
        f"start: {'; '.join(names)}{' …' if len(short) > 5 else ''}.",
        [{"series": n, "action": "padded"} for n in names])


# ------------------------------------------------------------------------------ the folds


def rolling_origin_folds(codes: np.ndarray, horizon: int, n_folds: int, step: int
                         ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rolling-origin folds over rows sorted by series then time.

    Fold ``k`` (the last fold is the latest) validates, in every series, the ``horizon`` points
    that end ``(n_folds - 1 - k) * step`` points before the series' end, and trains on every
    earlier point of every series. A series too short for a fold sits that fold out.
    """
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    folds = []
    for k in range(n_folds):
        back = (n_folds - 1 - k) * step
        train, valid = [], []
        for start, end in zip(starts, ends, strict=True):
            stop = end - back
            origin = stop - horizon
            if origin - start < 2:
                train.append(np.arange(start, max(start, min(stop, end))))
                continue
            train.append(np.arange(start, origin))
            valid.append(np.arange(origin, stop))
        if not valid:
            raise DataError(
                f"no series is long enough for rolling-origin fold {k + 1} of {n_folds} with "
                f"forecast_horizon={horizon} and cv_step_size={step}; lower them or give more "
                "history.")
        folds.append((np.concatenate(train), np.concatenate(valid)))
    return folds


def auto_folds(lengths: np.ndarray, layout: SeriesLayout, step: int) -> int:
    """Azure's ``n_cross_validations: auto`` here: up to :data:`AUTO_FOLDS` folds
    (:data:`LONG_AUTO_FOLDS` when the median series holds :data:`LONG_HORIZONS` horizons or
    more: one horizon of a long series is a noisy judge), as many as the median series'
    history allows by :func:`min_history`."""
    typical = int(np.median(lengths))
    most = LONG_AUTO_FOLDS if typical >= LONG_HORIZONS * layout.horizon else AUTO_FOLDS
    for n in range(most, 1, -1):
        if typical >= min_history(layout, n, step):
            return n
    return 1


def auto_step(layout: SeriesLayout, lengths: np.ndarray | None = None, n_folds: int = 1
              ) -> int:
    """``cv_step_size: auto``: folds one horizon apart, so validation windows do not overlap;
    further apart when the series follow a longer cycle (the year of daily data,
    :meth:`SeriesLayout.longer_cycle`) and the typical series (``lengths``) holds two of them
    besides the folds: the ``n_folds`` origins then spread over one cycle, so validation sees
    every part of it and not only the months before the end."""
    step = max(1, layout.horizon)
    cycle = layout.longer_cycle()
    if lengths is None or n_folds < 2 or not cycle or not len(lengths):
        return step
    spread = max(step, -(-cycle // n_folds))
    if int(np.median(lengths)) >= 2 * cycle + min_history(layout, n_folds, spread):
        return spread
    return step
