"""The forecasting task: numeric targets on a time grid, one or many series.

What differs from regression, all answered here:

* :meth:`ForecastingTask.configure` reads ``forecasting:`` (the time column, ids, horizon, ...);
  :meth:`~ForecastingTask.prepare_frame` puts each data input on its time grid
  (:func:`~cirrusml.tasks._series.prepare_series`) and keeps the guardrails it reports.
* :meth:`~ForecastingTask.plan_splits` plans rolling-origin cross-validation
  (``n_cross_validations`` a number or ``auto``, ``cv_step_size``), or one fold on
  ``validation_data``; the best model is always refit on every row, so that it forecasts from the
  end of the data.
* Models are forecasters: given the series layout (:meth:`~ForecastingTask.estimator_params`),
  ``predict`` forecasts rows past each series' end; rows that carry the target extend the history.
* :meth:`~ForecastingTask.score` averages the normalised metrics over series (macro) and pools
  the others (micro), as Azure does; :meth:`~ForecastingTask.predict_holdout` scores test data
  longer than the horizon by a rolling forecast, one horizon at a time.

Row positions: the task keeps the series code of every row of the job's frame (training, then
validation rows) and of the test rows, so that scoring can group any slice of them by series
(a slice of the job's target keeps its positions as its index).
"""

from __future__ import annotations

import copy
import importlib.util
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.metrics import (
    PrimaryScorer,
    forecast_horizon_chart,
    forecast_horizons,
    forecasting_metrics,
    horizon_metrics,
)
from cirrusml.spec import TaskType
from cirrusml.tasks._series import (
    SeriesCheck,
    SeriesLayout,
    auto_folds,
    auto_step,
    grid_steps,
    handle_short_series,
    min_history,
    prepare_series,
    rolling_origin_folds,
    series_labels,
    series_layout,
)
from cirrusml.tasks._splits import SplitPlan
from cirrusml.tasks._task import RegressionTask

#: Series a forecast's chart data shows (Azure's studio shows 20).
_CHART_SERIES = 20

__all__ = ["ForecastingTask"]


class ForecastingTask(RegressionTask):
    kind = TaskType.FORECASTING
    time_ordered = True
    stack_by_default = False
    reads_on_cluster = False
    # Each rolling origin is a different period: Caruana's blend is kept only where it beats the
    # best single model and plain means of the best on the origins it did not choose with.
    ensemble_rules = ("Caruana", "best single", "mean of 2 best", "mean of 3 best")

    def __init__(self) -> None:
        super().__init__()
        self.layout: SeriesLayout | None = None
        #: The series of the training data, by label; a row's code is its position here.
        self.series: list[str] = []
        #: Series code of every row of the job's frame (training rows, then validation rows).
        self.codes: np.ndarray = np.zeros(0, dtype=np.int64)
        self.test_codes: np.ndarray = np.zeros(0, dtype=np.int64)
        #: Each series' last training time, by code (test rows count their steps from it).
        self.ends: list[pd.Timestamp] = []
        #: Each series' training target, by code (MASE's seasonal-naive scale reads it).
        self.histories: dict[int, np.ndarray] = {}
        self._checks: list[SeriesCheck] = []
        self._aggregate: str | None = None
        self._short: str = "auto"
        self._n_cv: Any = None
        self._step: Any = None
        self._scoring_codes: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"ForecastingTask(layout={self.layout!r}, series={len(self.series)})"

    # ------------------------------------------------------------------------- the job

    def configure(self, job: Any) -> ForecastingTask:
        task = copy.copy(self)
        task.layout = series_layout(job)
        settings = job.forecasting_settings
        agg = getattr(settings.target_aggregate_function, "value", None)
        task._aggregate = None if agg in (None, "None") else str(agg).lower()
        short = getattr(settings.short_series_handling_config, "value", None)
        task._short = "none" if short == "None" else (str(short).lower() if short else "auto")
        task._n_cv = job.n_cross_validations
        task._step = settings.cv_step_size
        if job.validation_data_size is not None:
            raise InvalidSpecError(
                "forecasting jobs do not take validation_data_size (Azure validates them on "
                "rolling origins); use n_cross_validations or validation_data.",
                field="validation_data_size")
        training = job.training
        if training is not None and training.enable_dnn_training and \
                importlib.util.find_spec("torch") is None:
            raise InvalidSpecError(
                "enable_dnn_training lets TCNForecaster into the search, and it needs PyTorch, "
                "which is not installed: pip install \"cirrusml[dnn]\" (or set "
                "enable_dnn_training to false).", field="training.enable_dnn_training")
        if job.test_data_size is not None:
            raise InvalidSpecError(
                "forecasting jobs do not take test_data_size (Azure does not support it); give "
                "test_data that follows the training data in time.", field="test_data_size")
        return task

    @property
    def checks(self) -> list[Any]:
        return list(self._checks)

    def _fold_plan(self, lengths: np.ndarray, layout: SeriesLayout | None = None
                   ) -> tuple[int, int]:
        """(folds, step) for series of ``lengths`` (on ``layout``, the task's by default)."""
        layout = layout or self.layout
        assert layout is not None
        auto = self._step in (None, "auto")
        step = auto_step(layout) if auto else int(self._step)
        n_cv = self._n_cv
        if n_cv in (None, "auto"):
            n_folds = auto_folds(lengths, layout, step)
        elif int(n_cv) < 1:
            raise InvalidSpecError("must be 1 or more for forecasting.",
                                   field="n_cross_validations")
        else:
            n_folds = int(n_cv)
        return n_folds, (auto_step(layout, lengths, n_folds) if auto else step)

    def prepare_frame(self, frame: pd.DataFrame, where: str, seed: int = 0) -> pd.DataFrame:
        assert self.layout is not None, "configure the task with the job first"
        training = where == "training_data"
        if training:
            prepared = prepare_series(frame, self.layout, where=where, aggregate=self._aggregate)
            layout = prepared.layout
            out = prepared.frame
            keys = series_labels(out, layout.id_columns)
            lengths = keys.value_counts().to_numpy()
            if layout.horizon >= int(lengths.max()):
                raise DataError(
                    f"forecast_horizon={layout.horizon} is longer than the history allows: the "
                    f"longest series ({int(lengths.max())} points) must be longer than the "
                    "horizon, and rolling-origin validation needs about twice it. Lower "
                    "forecasting.forecast_horizon or give more history.")
            n_folds, step = self._fold_plan(lengths, layout)
            needed = min_history(layout, n_folds, step)
            out, check = handle_short_series(out, layout, needed, self._short, seed)
            self._checks = [*prepared.checks, check]
            self.layout = layout
            keys = series_labels(out, layout.id_columns)
            self.series = sorted(pd.unique(keys).tolist())
            self.codes = self._codes_of(keys, where)
            times = out[layout.time_column]
            self.ends = [pd.Timestamp(t) for t in times.groupby(self.codes).max().to_numpy()]
            return out
        prepared = prepare_series(frame, self.layout, where=where, aggregate=self._aggregate,
                                  reference=self.layout)
        out = prepared.frame
        codes = self._codes_of(series_labels(out, self.layout.id_columns), where)
        self._check_after_training(out, codes, where)
        if where == "validation_data":
            self.codes = np.concatenate([self.codes, codes])
        else:
            self.test_codes = codes
        return out

    def _codes_of(self, keys: pd.Series, where: str) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.series)}
        unseen = sorted(set(keys) - set(index))
        if unseen:
            raise DataError(
                f"{where} holds {len(unseen)} series that training_data does not, such as "
                f"{unseen[0]!r}; a forecast needs each series' history. Remove those rows or add "
                "their history to training_data.")
        return np.asarray(keys.map(index).to_numpy(dtype=np.int64))

    def _check_after_training(self, frame: pd.DataFrame, codes: np.ndarray, where: str) -> None:
        assert self.layout is not None
        times = frame[self.layout.time_column].to_numpy()
        ends = np.asarray(self.ends, dtype="datetime64[ns]")[codes]
        early = times <= ends
        if early.any():
            row = int(np.flatnonzero(early)[0])
            raise DataError(
                f"{where} has {int(early.sum())} row(s) at or before the end of their series in "
                f"training_data, such as {self.series[codes[row]]!r} at "
                f"{pd.Timestamp(times[row])}; {where} must follow the training data in time.")

    # ----------------------------------------------------------------------- the splits

    def plan_splits(self, n_rows: int, y: pd.Series, seed: int, **settings: Any) -> SplitPlan:
        assert self.layout is not None
        horizon = self.layout.horizon
        n_valid = int(settings.get("n_validation_rows") or 0)
        if settings.get("cv_split_masks") is not None:
            raise InvalidSpecError(
                "forecasting jobs validate on rolling origins; cv_split_column_names is not "
                "supported for them.", field="cv_split_column_names")
        codes = self.codes[:n_rows]
        lengths = np.bincount(codes, minlength=len(self.series))
        if n_valid:
            folds = [(np.arange(n_rows), np.arange(n_rows, n_rows + n_valid))]
            return SplitPlan("cv", folds, "validation_data was given: trials train on "
                             "training_data and forecast validation_data; the best model is "
                             "refit on both")
        n_folds, step = self._fold_plan(lengths[lengths > 0])
        folds = rolling_origin_folds(codes, horizon, n_folds, step)
        how = "auto" if self._n_cv in (None, "auto") else str(self._n_cv)
        return SplitPlan(
            "cv", folds,
            f"rolling-origin cross-validation (n_cross_validations={how}): {n_folds} fold(s), "
            f"origins {step} step(s) apart, each validating the next {horizon} step(s) of every "
            "series")

    def fit_target(self, y: pd.Series, *, y_validation: pd.Series | None = None
                   ) -> ForecastingTask:
        fitted = copy.copy(self)
        values = np.asarray(y, dtype=float)
        fitted.y_min, fitted.y_max = float(np.min(values)), float(np.max(values))
        codes = self.codes[: len(values)]
        fitted.histories = {code: values[codes == code] for code in range(len(self.series))}
        return fitted

    def for_scoring(self, y: pd.Series) -> ForecastingTask:
        fitted = copy.copy(self)
        values = np.asarray(y, dtype=float)
        fitted.y_min, fitted.y_max = float(np.min(values)), float(np.max(values))
        fitted._scoring_codes = self.test_codes
        return fitted

    # ------------------------------------------------------------------------ predictions

    def estimator_params(self) -> dict[str, Any]:
        return {"layout": self.layout}

    def _row_codes(self, y_true: Any) -> np.ndarray:
        positions = np.asarray(getattr(y_true, "index", np.arange(len(y_true))))
        source = self._scoring_codes if self._scoring_codes is not None else self.codes
        if len(source) == 0 or positions.max(initial=0) >= len(source):
            return np.zeros(len(positions), dtype=np.int64)
        return np.asarray(source[positions])

    def score(self, y_true: Any, predictions: np.ndarray, weights: np.ndarray | None = None,
              positive_label: Any = None) -> dict[str, float]:
        codes = self._row_codes(y_true)
        assert self.layout is not None
        return forecasting_metrics(np.asarray(y_true, dtype=float),
                                   np.asarray(predictions, dtype=float), codes,
                                   sample_weight=weights, history=self.histories or None,
                                   season_length=max(1, self.layout.season_length))

    def charts(self, X: pd.DataFrame, y_true: Any, predictions: np.ndarray, *,
               folds: np.ndarray | None = None, weights: np.ndarray | None = None,
               history: tuple[pd.DataFrame, Any] | None = None) -> dict[str, Any]:
        """The regression charts, the errors by horizon step (every row) and the
        forecast-horizon chart: actuals and forecasts per fold and series, with the known
        actuals of ``history`` before each origin (the first series by label only)."""
        assert self.layout is not None
        layout = self.layout
        frame = pd.DataFrame(X).reset_index(drop=True)
        y = np.asarray(y_true, dtype=float)
        labels = series_labels(frame, layout.id_columns).astype(str).to_numpy()
        times = pd.to_datetime(frame[layout.time_column]).to_numpy()
        out = super().charts(frame, y, predictions, weights=weights)
        steps = forecast_horizons(labels, times, folds)
        out["forecast_horizon_metrics"] = horizon_metrics(y, predictions, steps,
                                                          sample_weight=weights)
        shown = set(sorted(set(labels.tolist()))[:_CHART_SERIES])
        keep = np.isin(labels, list(shown))
        context: dict[str, Any] = {}
        if history is not None:
            past = pd.DataFrame(history[0]).reset_index(drop=True)
            past_labels = series_labels(past, layout.id_columns).astype(str).to_numpy()
            mine = np.isin(past_labels, list(shown))
            context = {"history_series": past_labels[mine],
                       "history_times": pd.to_datetime(
                           past[layout.time_column]).to_numpy()[mine],
                       "history_values": np.asarray(history[1], dtype=float)[mine]}
        chart = forecast_horizon_chart(labels[keep], times[keep], y[keep],
                                       np.asarray(predictions, dtype=float)[keep],
                                       fold=None if folds is None else np.asarray(folds)[keep],
                                       **context)
        # The counts describe every row, not only the series shown.
        chart["n_series"] = len(set(labels.tolist()))
        out["forecast_horizon"] = chart
        return out

    @property
    def problem_type(self) -> str:
        return "forecasting"

    def primary_scorer(self, metric: str, y_true: Any,
                       weights: np.ndarray | None = None) -> PrimaryScorer:
        return PrimaryScorer(metric, y_true, sample_weight=weights,
                             groups=self._row_codes(y_true))

    def explanation_rows(self, plan: SplitPlan, n_train_rows: int) -> np.ndarray:
        # Forecasters explain themselves on the history they were fitted on (their features
        # read it); the rows only give the raw columns' names.
        return np.arange(min(n_train_rows, 100))

    def input_example(self, X: pd.DataFrame) -> pd.DataFrame:
        assert self.layout is not None
        codes = self.codes[: len(X)]
        last = X.reset_index(drop=True).groupby(codes, sort=True).tail(1).head(5).copy()
        last[self.layout.time_column] = pd.to_datetime(last[self.layout.time_column]) + \
            self.layout.offset
        return last.reset_index(drop=True)

    def predict_holdout(self, model: Any, X: Any, y: Any) -> np.ndarray:
        """A rolling forecast of rows past the training data: one horizon at a time from each
        series' end, the actual values of the windows before becoming history."""
        assert self.layout is not None
        layout = self.layout
        frame = pd.DataFrame(X).reset_index(drop=True)
        actual = np.asarray(y, dtype=float)
        codes = self.test_codes if len(self.test_codes) == len(frame) else \
            self._codes_of(series_labels(frame, layout.id_columns), "test_data")
        times = pd.to_datetime(frame[layout.time_column]).to_numpy()
        ends = np.asarray(self.ends, dtype="datetime64[ns]")[codes]
        steps = np.maximum(grid_steps(ends, times, layout.freq), 1)
        window = (steps - 1) // layout.horizon
        out = np.full(len(frame), np.nan)
        for w in range(int(window.max()) + 1 if len(window) else 0):
            rows = np.flatnonzero(window == w)
            if len(rows) == 0:
                continue
            context = np.flatnonzero(window < w)
            part = pd.concat([frame.iloc[context].assign(**{layout.target: actual[context]}),
                              frame.iloc[rows].assign(**{layout.target: np.nan})],
                             ignore_index=True)
            predicted = np.asarray(model.predict(part), dtype=float)
            out[rows] = predicted[len(context):]
        return out

