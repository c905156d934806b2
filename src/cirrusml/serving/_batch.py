"""Batch scoring: a file (or folder, or MLTable) in, one prediction per row out, in input order.

:func:`score_file` loads an MLflow model folder once and streams the input through it:

* the input is read in chunks of ``mini_batch_size`` rows (:mod:`._batch_io`); each chunk is
  checked against the model's columns (a value that cannot be what the column held at training,
  such as text in a numeric column, stops the run with the file, data row and column), scored,
  and appended to the output, so memory stays bounded by the chunk size and the concurrency,
  whatever the size of the file;
* ``max_concurrency_per_instance`` chunks are scored at once, in threads (the model's numeric
  work releases the GIL); results are written in input order;
* a chunk whose scoring raises, or runs past ``retry_settings.timeout`` seconds, is retried up
  to ``retry_settings.max_retries`` times, as Azure's ``BatchRetrySettings`` say; then the run
  fails naming the mini-batch. Bad data (:class:`~cirrusml.exceptions.DataError`) is not
  retried: it would fail the same way again. A timed-out attempt cannot be stopped (Python
  threads cannot be killed); its result is ignored when it arrives;
* a forecasting model (one that, or whose ensemble members, carry a fitted series ``layout`` and
  ``history_``) gets the whole input at once: the rows of a series are forecast together and
  rows carrying the target extend the series' history, so cutting the input into chunks could
  change the forecasts. Memory then grows with the input; forecasting inputs are the rows to
  forecast (series x horizon), not the training history.

The output holds the input columns, then ``prediction``; with ``method="predict_proba"`` one
``probability_<class>`` column per class; for forecasts ``forecast_origin``, the last time of
the series' history the forecast starts from (empty for rows that carry the target, which are
history, not forecasts). It is written beside the target and renamed into place at the end;
after a failure no partial file is left at the target, and a file that was there is untouched.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import CirrusMLError, DataError
from cirrusml.serving._batch_io import BatchInput, Chunk, PredictionWriter, open_input

__all__ = [
    "METHODS",
    "BatchRetrySettings",
    "BatchScoringError",
    "BatchSummary",
    "score_file",
]

logger = logging.getLogger("cirrusml.serving.batch")

#: What a batch run may call on the model.
METHODS: tuple[str, ...] = ("predict", "predict_proba")

#: Rows per mini-batch when none is given.
DEFAULT_MINI_BATCH_SIZE = 10_000

#: Name of the prediction column, as Azure's MLflow batch scoring names it.
PREDICTION_COLUMN = "prediction"
#: Prefix of the per-class probability columns.
PROBABILITY_PREFIX = "probability_"
#: The forecast's origin column.
ORIGIN_COLUMN = "forecast_origin"

#: ``progress(rows_done, rows_total)``; ``rows_total`` is ``None`` when the input does not say
#: (text files are not counted ahead).
ProgressCallback = Callable[[int, "int | None"], None]


class BatchScoringError(CirrusMLError, RuntimeError):
    """A mini-batch failed on every attempt its retry settings allow."""


@dataclass(frozen=True)
class BatchRetrySettings:
    """Azure's ``BatchRetrySettings``: retries per mini-batch and its time limit in seconds."""

    max_retries: int = 3
    timeout: float = 30

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) \
                or self.max_retries < 0:
            raise DataError(f"retry_settings.max_retries must be 0 or more, got "
                            f"{self.max_retries!r}.")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) \
                or not self.timeout > 0:
            raise DataError(f"retry_settings.timeout must be a positive number of seconds, got "
                            f"{self.timeout!r}.")


@dataclass(frozen=True)
class BatchSummary:
    """What a run did: rows and mini-batches scored, retries taken, and the output written."""

    output: Path
    rows: int
    mini_batches: int
    retries: int
    forecast: bool


# --------------------------------------------------------------------------------------------
# what the model expects


@dataclass(frozen=True)
class _ModelColumns:
    """The model's raw input columns and what each held at training: ``number``, ``boolean``,
    ``datetime``, ``text`` or ``unknown`` (from the MLflow signature and input example)."""

    kinds: dict[str, str]

    @classmethod
    def of(cls, folder: Path) -> _ModelColumns:
        from mlflow.models import Model

        meta = Model.load(str(folder))
        schema = meta.get_input_schema()
        if schema is None or not schema.has_input_names():
            return cls({})
        example = _example_values(folder, meta)
        kinds: dict[str, str] = {}
        for spec in schema.inputs:
            name = str(spec.name)
            declared = str(getattr(spec.type, "name", spec.type)).lower()
            if declared == "string":
                kinds[name] = "text"
            elif declared in ("double", "float", "long", "integer"):
                kinds[name] = "number"
            elif declared == "boolean":
                kinds[name] = "boolean"
            elif declared == "datetime":
                kinds[name] = "datetime"
            else:  # "any": numbers, booleans and dates; the saved example says which
                kinds[name] = _kind_of_values(example.get(name, []))
        return cls(kinds)

    def check(self, chunk: Chunk) -> None:
        """Raise :class:`DataError` at the first value that cannot be what its column held."""
        frame = chunk.frame
        for column, kind in self.kinds.items():
            if column not in frame.columns or kind in ("text", "unknown"):
                continue
            bad = _bad_values(frame[column], kind)
            if bad.any():
                position = int(np.flatnonzero(bad)[0])
                value = frame[column].iloc[position]
                what = {"number": "a number", "boolean": "a boolean (true/false)",
                        "datetime": "a date or time"}[kind]
                raise DataError(
                    f"{chunk.where(position)}, column '{column}': {value!r} is not {what}, "
                    f"as the column held when the model was trained ({int(bad.sum())} such "
                    "value(s) in this mini-batch); fix the value or leave the field empty.")


def _example_values(folder: Path, meta: Any) -> dict[str, list[Any]]:
    info = getattr(meta, "saved_input_example_info", None) or {}
    path = folder / str(info.get("artifact_path", "input_example.json"))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(doc, dict) and "columns" in doc and "data" in doc:
        columns = [str(c) for c in doc["columns"]]
        return {c: [row[i] for row in doc["data"]] for i, c in enumerate(columns)}
    return {}


def _kind_of_values(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "unknown"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    if all(isinstance(v, str) for v in present):
        return "datetime"  # a non-text column whose example values are text: dates
    return "unknown"


def _filled(series: pd.Series) -> np.ndarray:
    present = series.notna().to_numpy()
    if series.dtype == object:
        present &= ~series.astype(str).str.strip().eq("").to_numpy()
    return present


def _bad_values(series: pd.Series, kind: str) -> np.ndarray:
    """Which values of ``series`` are present yet not of ``kind``."""
    if kind == "number":
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            return np.zeros(len(series), dtype=bool)
        converted = pd.to_numeric(series, errors="coerce")
    elif kind == "boolean":
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            return np.zeros(len(series), dtype=bool)
        words = series.astype(str).str.strip().str.lower().map(
            {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "t": 1.0, "f": 0.0})
        converted = pd.to_numeric(series, errors="coerce").where(lambda s: s.notna(), words)
    else:
        if pd.api.types.is_datetime64_any_dtype(series):
            return np.zeros(len(series), dtype=bool)
        converted = pd.to_datetime(series, errors="coerce", format="mixed")
    return _filled(series) & converted.isna().to_numpy()


# --------------------------------------------------------------------------------------------
# what the model predicts


@dataclass(frozen=True)
class _Forecasting:
    """What a fitted forecaster knows: its series layout and each series' last fitted time."""

    layout: Any
    ends: pd.Series

    @classmethod
    def of(cls, model: Any) -> _Forecasting | None:
        for candidate in (model, *getattr(model, "estimators", ())):
            layout = getattr(candidate, "layout", None)
            history = getattr(candidate, "history_", None)
            if layout is not None and history is not None and hasattr(history, "ends"):
                return cls(layout, history.ends())
        return None

    def origins(self, frame: pd.DataFrame) -> pd.Series:
        """Each row's forecast origin; rows carrying the target (history) get none."""
        from cirrusml.forecast import series_keys

        layout = self.layout
        keys = series_keys(frame, layout).to_numpy()
        times = pd.to_datetime(frame[layout.time_column], errors="coerce").to_numpy()
        ends = self.ends.copy()
        known = np.zeros(len(frame), dtype=bool)
        if layout.target in frame.columns:
            known = pd.to_numeric(frame[layout.target], errors="coerce").notna().to_numpy()
            if known.any():
                latest = pd.Series(times[known]).groupby(keys[known]).max()
                ends = pd.concat([ends, latest]).groupby(level=0).max()
        origin = pd.Series(keys).map(ends).to_numpy(dtype="datetime64[ns]")
        origin[known] = np.datetime64("NaT")
        return pd.Series(origin, index=frame.index, name=ORIGIN_COLUMN)


class _Scorer:
    """Scores one frame: predictions, probabilities when asked, forecast origins."""

    def __init__(self, model: Any, method: str) -> None:
        if method not in METHODS:
            raise DataError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
        if method == "predict_proba" and not (hasattr(model, "predict_proba")
                                              and hasattr(model, "classes_")):
            raise DataError("method 'predict_proba' needs a classification model, and this "
                            "model gives no probabilities; use method 'predict'.")
        self.model = model
        self.method = method
        self.forecasting = _Forecasting.of(model)
        self.classes = [str(c) for c in getattr(model, "classes_", [])] \
            if method == "predict_proba" else []

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        predicted = np.asarray(self.model.predict(frame))
        if len(predicted) != len(frame):
            raise BatchScoringError(f"the model returned {len(predicted)} predictions for "
                                    f"{len(frame)} rows.")
        out[PREDICTION_COLUMN] = predicted
        if self.method == "predict_proba":
            proba = np.asarray(self.model.predict_proba(frame), dtype=float)
            for i, label in enumerate(self.classes):
                out[PROBABILITY_PREFIX + label] = proba[:, i]
        if self.forecasting is not None:
            out[ORIGIN_COLUMN] = self.forecasting.origins(frame)
        return out


# --------------------------------------------------------------------------------------------
# mini-batches with retries and time limits


class _Attempt:
    """One attempt at a mini-batch, in its own daemon thread (so a hung one blocks nothing)."""

    def __init__(self, work: Callable[[], pd.DataFrame]) -> None:
        self.future: Future[pd.DataFrame] = Future()
        self.started = time.monotonic()
        #: When the work ended (set before the future is), None while it runs.
        self.ended: float | None = None
        thread = threading.Thread(target=self._run, args=(work,), daemon=True,
                                  name="cirrus-batch-attempt")
        thread.start()

    def _run(self, work: Callable[[], pd.DataFrame]) -> None:
        try:
            value = work()
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            self.ended = time.monotonic()
            self.future.set_exception(err)
        else:
            self.ended = time.monotonic()
            self.future.set_result(value)

    def overran(self, timeout: float) -> bool:
        """Whether the work took longer than ``timeout`` (it may have ended since, while the
        waiting thread was not looking)."""
        return self.ended is not None and self.ended - self.started > timeout


class _MiniBatch:
    def __init__(self, chunk: Chunk, work: Callable[[], pd.DataFrame]) -> None:
        self.chunk = chunk
        self.work = work
        self.attempts = 1
        self.current = _Attempt(work)

    def result(self, retry: BatchRetrySettings) -> tuple[pd.DataFrame, int]:
        """The scored frame and the retries it took; raises once the retries are spent."""
        while True:
            remaining = retry.timeout - (time.monotonic() - self.current.started)
            try:
                scored = self.current.future.result(timeout=max(remaining, 0.0))
                if not self.current.overran(retry.timeout):
                    return scored, self.attempts - 1
                reason = f"it ran past the timeout of {retry.timeout:g} s"
            except CirrusMLError:
                raise  # bad data or a model that refuses it: the same on every attempt
            except FutureTimeout:
                reason = f"it ran past the timeout of {retry.timeout:g} s"
            except Exception as err:  # noqa: BLE001 - any failure of the model is retried
                reason = f"{type(err).__name__}: {err}"
            if self.attempts > retry.max_retries:
                raise BatchScoringError(
                    f"Mini-batch {self.chunk.number} ({self.chunk.describe()}) failed on all "
                    f"{self.attempts} attempt(s) (max_retries={retry.max_retries}); the last "
                    f"failure: {reason}. Raise retry_settings.timeout or max_retries, or make "
                    "the mini-batch smaller.")
            logger.warning("Mini-batch %d (%s) failed (%s); retrying (attempt %d of %d).",
                           self.chunk.number, self.chunk.describe(), reason, self.attempts + 1,
                           retry.max_retries + 1)
            self.attempts += 1
            self.current = _Attempt(self.work)


# --------------------------------------------------------------------------------------------
# the entry point


def score_file(
    model: str | os.PathLike[str],
    input: str | os.PathLike[str],  # noqa: A002 - Azure's name for the batch input
    output: str | os.PathLike[str] = "predictions.csv",
    *,
    method: str = "predict",
    mini_batch_size: int = DEFAULT_MINI_BATCH_SIZE,
    max_concurrency_per_instance: int = 1,
    retry_settings: BatchRetrySettings | None = None,
    progress: ProgressCallback | None = None,
) -> BatchSummary:
    """Score every row of ``input`` with the MLflow model in folder ``model``; write ``output``.

    ``input`` is a csv/tsv, Parquet or JSON-lines file, a folder of them, or an MLTable folder;
    ``output`` ends in ``.csv`` or ``.parquet``. ``mini_batch_size`` is rows per mini-batch (the
    chunk read, checked, scored and written at a time); ``max_concurrency_per_instance``
    mini-batches are scored at once. ``progress(rows_done, rows_total)`` is called after each
    mini-batch is written. See the module's doc for the output's columns and the guarantees.
    """
    retry = retry_settings or BatchRetrySettings()
    for name, value in (("mini_batch_size", mini_batch_size),
                        ("max_concurrency_per_instance", max_concurrency_per_instance)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"{name} must be a whole number of 1 or more, got {value!r}.")
    folder = _model_folder(model)
    source = open_input(input)
    writer = PredictionWriter(output, stable_types=all(s.fmt == "parquet" for s in source.specs)
                              and not source.whole)
    if writer.target in {Path(os.path.abspath(f)) for f in source.files}:
        raise DataError(f"The output '{writer.target}' is one of the input files; write the "
                        "predictions to another file.")
    loaded = _load_model(folder)
    scorer = _Scorer(loaded, method)
    columns = _ModelColumns.of(folder)
    chunks: Iterator[Chunk] = source.chunks(mini_batch_size)
    if scorer.forecasting is not None:
        chunks = iter([_whole(source, chunks)])
        max_concurrency_per_instance = 1

    def work(chunk: Chunk) -> Callable[[], pd.DataFrame]:
        def run() -> pd.DataFrame:
            columns.check(chunk)
            try:
                return scorer.score(chunk.frame)
            except DataError as err:  # the model refused the rows: say which rows
                raise DataError(f"Scoring {chunk.describe()} failed: {err}") from None
        return run

    total = source.total_rows
    retries = batches = 0
    with writer:
        pending: deque[_MiniBatch] = deque()

        def finish_one() -> None:
            nonlocal retries, batches
            batch = pending.popleft()
            scored, taken = batch.result(retry)
            retries += taken
            batches += 1
            writer.write(scored, batch.chunk.describe())
            if progress is not None:
                progress(writer.rows, total)

        for chunk in chunks:
            pending.append(_MiniBatch(chunk, work(chunk)))
            while len(pending) >= max_concurrency_per_instance:
                finish_one()
        while pending:
            finish_one()
        path = writer.commit()
    return BatchSummary(path, writer.rows, batches, retries, scorer.forecasting is not None)


def _whole(source: BatchInput, chunks: Iterator[Chunk]) -> Chunk:
    """Every chunk as one (for forecasts, whose series are predicted together)."""
    parts = list(chunks)
    if not parts:
        raise DataError(f"The input '{source.source}' holds no data rows.")
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    return _CombinedChunk(0, frame, os.fspath(source.source), 1, parts)


@dataclass(frozen=True)
class _CombinedChunk(Chunk):
    """Chunks read one after another and scored together; rows still name their own file."""

    parts: list[Chunk] | None = None

    def where(self, position: int) -> str:
        for part in self.parts or []:
            if position < len(part.frame):
                return part.where(position)
            position -= len(part.frame)
        return super().where(position)

    def describe(self) -> str:
        return f"all {len(self.frame)} rows of '{self.file}'"


def _model_folder(model: str | os.PathLike[str]) -> Path:
    folder = Path(os.path.abspath(os.fspath(model)))
    if not (folder / "MLmodel").is_file():
        what = "does not exist" if not folder.exists() else "holds no MLmodel file"
        raise DataError(f"The model folder '{folder}' {what}; give an MLflow model folder, such "
                        "as a job's best_model output (cirrus job download --output-name "
                        "best_model).")
    return folder


def _load_model(folder: Path) -> Any:
    import mlflow.sklearn

    try:
        return mlflow.sklearn.load_model(str(folder))
    except Exception as err:  # noqa: BLE001 - any loading failure, reported by name
        raise DataError(f"The model in '{folder}' could not be loaded as a scikit-learn MLflow "
                        f"model ({type(err).__name__}: {err}).") from None
