"""Statistical forecasters, fitted per series by statsforecast (vectorised over a panel).

Azure's names map to statsforecast models:

============================ ======================================================
``Naive``                    the last value (``Naive``)
``SeasonalNaive``            the last season repeated (``SeasonalNaive``)
``Average``                  the mean of the history (``HistoricAverage``)
``SeasonalAverage``          the mean of each season phase over the last seasons
                             (``SeasonalWindowAverage``)
``ExponentialSmoothing``     ETS with the model chosen by AICc (``AutoETS``)
``AutoArima``                (seasonal) ARIMA chosen by AICc (``AutoARIMA``)
``Arimax``                   ``AutoARIMA`` with the numeric known covariates as regressors
``Theta``, ``MSTL``          extensions beyond Azure: ``AutoTheta``; ``MSTL`` (multiple-season
                             STL decomposition with an ETS trend; the frequency's longer cycle —
                             a year of days, a week of hours — joins the season when the
                             history holds two)
============================ ======================================================

Each series is fitted on its latest :data:`MAX_HISTORY` points (a local model forecasts the next
steps from the recent past; ETS with a season of 48 on 50,000 points takes minutes, on 2,500
seconds). A series shorter than two seasons is fitted without a season (statsforecast's
seasonal models need two), and a model that fails on a series falls back to
``SeasonalNaive`` (or ``Naive``) for that series only. Forecasts from a history other than the
fitted one (context rows: a rolling forecast) refit the model on that history.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import InvalidSpecError
from cirrusml.forecast._base import Forecaster, History, Requests
from cirrusml.tasks import SeriesLayout

__all__ = ["MAX_HISTORY", "STATISTICAL_MODELS", "StatisticalForecaster"]

#: Points of each series a statistical model is fitted on (the latest ones).
MAX_HISTORY = 2500

#: Azure's (and our extra) names of the statistical forecasters.
STATISTICAL_MODELS = ("Naive", "SeasonalNaive", "Average", "SeasonalAverage",
                      "ExponentialSmoothing", "AutoArima", "Arimax", "Theta", "MSTL")


def _make(name: str, season: int, params: dict[str, Any]) -> Any:
    from statsforecast import models as sm

    if name == "Naive":
        return sm.Naive()
    if name == "SeasonalNaive":
        return sm.SeasonalNaive(season_length=season) if season > 1 else sm.Naive()
    if name == "Average":
        return sm.HistoricAverage()
    if name == "SeasonalAverage":
        if season <= 1:
            return sm.WindowAverage(window_size=int(params.get("window_size", 3)))
        return sm.SeasonalWindowAverage(season_length=season,
                                        window_size=int(params.get("window_size", 3)))
    if name == "ExponentialSmoothing":
        return sm.AutoETS(season_length=season, model=str(params.get("model", "ZZZ")),
                          damped=params.get("damped"))
    if name in ("AutoArima", "Arimax"):
        return sm.AutoARIMA(season_length=season, approximation=bool(
            params.get("approximation", True)), max_p=int(params.get("max_p", 3)),
            max_q=int(params.get("max_q", 3)), stepwise=True, nmodels=int(
                params.get("nmodels", 30)))
    if name == "Theta":
        return sm.AutoTheta(season_length=season,
                            decomposition_type=str(params.get("decomposition_type",
                                                              "multiplicative")))
    if name == "MSTL":
        seasons = [s for s in (season, *params.get("longer_seasons", ())) if s and s > 1]
        if not seasons:
            return sm.AutoETS(season_length=1)
        return sm.MSTL(season_length=seasons if len(seasons) > 1 else seasons[0],
                       trend_forecaster=sm.AutoETS(model="ZZN"))
    raise InvalidSpecError(f"'{name}' is not a statistical forecaster; use one of "
                           f"{', '.join(STATISTICAL_MODELS)}.")


class StatisticalForecaster(Forecaster):
    """One statsforecast model per series, under an Azure model name (see the module doc)."""

    def __init__(self, *, model: str = "SeasonalNaive", params: dict[str, Any] | None = None,
                 layout: SeriesLayout | None = None, n_jobs: int = 1,
                 max_history: int | None = MAX_HISTORY) -> None:
        self.model = model
        self.params = params
        self.layout = layout
        self.n_jobs = n_jobs
        self.max_history = max_history

    # -------------------------------------------------------------------------- frames

    def _exogenous(self, history: History) -> list[str]:
        if self.model != "Arimax":
            return []
        layout = self._layout()
        unknown = set(layout.unknown_features)
        return [c for c in layout.covariates(history.frame.columns)
                if not c.startswith("__") and c not in unknown
                and pd.api.types.is_numeric_dtype(history.frame[c])]

    def _frame(self, history: History) -> pd.DataFrame:
        frame = history.frame
        if self.max_history and int(history.lengths().max()) > self.max_history:
            # Each series' latest points only: what a local model needs to forecast the next
            # steps, at a fraction of the cost on long series.
            position = np.arange(len(frame)) - np.repeat(history.starts[:-1], history.lengths())
            keep = position >= np.repeat(history.lengths() - self.max_history,
                                         history.lengths())
            frame = frame.loc[keep]
        df = pd.DataFrame({"unique_id": frame["__series"].to_numpy(),
                           "ds": frame["__time"].to_numpy(),
                           "y": frame["__y"].to_numpy(dtype=float)})
        for column in self._exogenous(history):
            df[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy()
        return df

    def _season(self, lengths: np.ndarray) -> int:
        season = max(1, int(self._layout().season_length))
        # Seasonal models need two full seasons in every series.
        return season if season > 1 and int(lengths.min()) >= 2 * season + 1 else 1

    def _longer_seasons(self, lengths: np.ndarray, season: int) -> tuple[int, ...]:
        """MSTL's seasons beyond the first: the frequency's next calendar cycle
        (:meth:`SeriesLayout.longer_cycle`: a year of days, a week of hours or half-hours) when
        every series holds two of them within the points it is fitted on."""
        cycle = self._layout().longer_cycle()
        shortest = int(min(int(lengths.min()), self.max_history or int(lengths.min())))
        return (cycle,) if cycle > season and shortest >= 2 * cycle else ()

    def _engine(self, lengths: np.ndarray) -> Any:
        from statsforecast import StatsForecast
        from statsforecast import models as sm

        season = self._season(lengths)
        fallback = sm.SeasonalNaive(season_length=season) if season > 1 else sm.Naive()
        params = dict(self.params or {})
        if self.model == "MSTL":
            params.setdefault("longer_seasons", self._longer_seasons(lengths, season))
        return StatsForecast(models=[_make(self.model, season, params)],
                             freq=self._layout().freq, n_jobs=self.n_jobs,
                             fallback_model=fallback)

    # ------------------------------------------------------------------------ fit/predict

    def _fit(self, history: History) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.simplefilter("ignore", category=RuntimeWarning)
            self.engine_ = self._engine(history.lengths()).fit(self._frame(history))
        self.fitted_history_ = history

    def _future(self, history: History, requests: Requests, h: int) -> pd.DataFrame | None:
        columns = self._exogenous(history)
        if not columns:
            return None
        # Every step up to h of every series needs its regressors: the requested rows give
        # theirs, other steps repeat the series' last known values.
        layout = self._layout()
        pieces = []
        for code, label in enumerate(history.labels):
            grid = history.future_times(code, h, layout.freq)
            piece = pd.DataFrame({"unique_id": label, "ds": grid})
            last = history.series_frame(code)[columns].iloc[-1]
            mine = requests.frame.loc[requests.codes == code]
            given = mine.assign(ds=pd.to_datetime(mine[layout.time_column]).to_numpy()) \
                .set_index("ds")[columns]
            for column in columns:
                values = pd.to_numeric(given[column], errors="coerce") if len(given) else \
                    pd.Series(dtype=float)
                piece[column] = piece["ds"].map(values).fillna(float(last[column]) if pd.notna(
                    last[column]) else 0.0).to_numpy()
            pieces.append(piece)
        return pd.concat(pieces, ignore_index=True)

    def _forecast(self, history: History, requests: Requests) -> np.ndarray:
        h = requests.max_steps
        future = self._future(history, requests, h)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.simplefilter("ignore", category=RuntimeWarning)
            if history is self.fitted_history_:
                out = self.engine_.predict(h=h, X_df=future)
            else:
                out = self._engine(history.lengths()).forecast(h=h, df=self._frame(history),
                                                               X_df=future)
        column = [c for c in out.columns if c not in ("unique_id", "ds")][0]
        values = out[column].to_numpy(dtype=float)
        labels = out["unique_id"].astype(str).to_numpy()
        # statsforecast returns h rows per series, in the order of the series it was given.
        first = {label: i for i, label in reversed(list(enumerate(labels)))}
        rows = np.asarray([first[history.labels[c]] for c in requests.codes]) + requests.steps - 1
        result = values[rows]
        if np.isnan(result).any():
            # A model that produced no number for a series: its last value.
            last = history.y[history.starts[1:] - 1]
            result = np.where(np.isnan(result), last[requests.codes], result)
        return result
