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

``error_threshold`` (a batch deployment's, Azure's setting) tolerates failures: a mini-batch
that fails on every attempt counts its items (rows here; files for a scoring script) as failed,
the run goes on without them, and once more than ``error_threshold`` items have failed the run
stops (``-1`` tolerates every failure; ``None``, the default, stops at the first). Bad values
found by the column check still stop the run at once: they name their row and column, and
would fail the same way on every attempt.

:func:`score_with_script` runs a deployment's scoring script instead: ``init()`` once, then
``run(mini_batch)`` for each list of ``mini_batch_size`` input files, with the same
concurrency, retries, time limits and ``error_threshold``; what ``run`` returns (a DataFrame or
a list) is appended to the output (``output_action="append_row"``) or only counted
(``"summary_only"``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from cirrusml.exceptions import CirrusMLError, DataError
from cirrusml.serving._batch_io import BatchInput, Chunk, PredictionWriter, open_input
from cirrusml.utils import release_memory

__all__ = [
    "METHODS",
    "BatchRetrySettings",
    "BatchScoringError",
    "BatchSummary",
    "score_file",
    "score_with_script",
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
    #: Items (rows, or files for a scoring script) of the mini-batches that failed on every
    #: attempt, tolerated by ``error_threshold``, and those failures' messages.
    failed_items: int = 0
    failures: tuple[str, ...] = ()


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


class _Part(Protocol):
    """What a mini-batch is made of: a number and a description for messages."""

    @property
    def number(self) -> int: ...

    def describe(self) -> str: ...


#: A mini-batch's input: rows (:class:`Chunk`) or a script's files (:class:`_FileBatch`).
_Item = TypeVar("_Item", bound=_Part)


class _MiniBatch:
    def __init__(self, chunk: _Part, work: Callable[[], pd.DataFrame]) -> None:
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


class _Failures:
    """The mini-batches that failed on every attempt, against ``error_threshold``."""

    def __init__(self, threshold: int | None, what: str) -> None:
        self.threshold = threshold
        self.what = what
        self.items = 0
        self.messages: list[str] = []

    def record(self, error: BatchScoringError, items: int) -> None:
        """Count a failed mini-batch of ``items`` items; raise once past the threshold (at
        once without one)."""
        if self.threshold is None:
            raise error
        self.items += items
        self.messages.append(str(error))
        if self.threshold != -1 and self.items > self.threshold:
            raise BatchScoringError(
                f"{self.items} {self.what} failed in {len(self.messages)} mini-batch(es), more "
                f"than error_threshold={self.threshold} allows; the job stops. The last "
                f"failure: {error} Raise error_threshold (-1 tolerates every failure) or fix "
                "the failures.") from None
        limit = "every failure tolerated" if self.threshold == -1 else \
            f"error_threshold={self.threshold}"
        logger.error("%s Counted as %d failed %s (%d in all, %s); going on.", error, items,
                     self.what, self.items, limit)


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
    error_threshold: int | None = None,
) -> BatchSummary:
    """Score every row of ``input`` with the MLflow model in folder ``model``; write ``output``.

    ``input`` is a csv/tsv, Parquet or JSON-lines file, a folder of them, or an MLTable folder;
    ``output`` ends in ``.csv`` or ``.parquet``. ``mini_batch_size`` is rows per mini-batch (the
    chunk read, checked, scored and written at a time); ``max_concurrency_per_instance``
    mini-batches are scored at once. ``progress(rows_done, rows_total)`` is called after each
    mini-batch is written. ``error_threshold`` is the number of rows of failed mini-batches
    tolerated (-1: all; None: none). See the module's doc for the output's columns and the
    guarantees.
    """
    retry = retry_settings or BatchRetrySettings()
    _check_settings(error_threshold, mini_batch_size, max_concurrency_per_instance)
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
    failures = _Failures(error_threshold, "row(s)")
    with writer:
        def done(chunk: Chunk, scored: pd.DataFrame | None) -> None:
            if scored is not None:
                writer.write(scored, chunk.describe())
            if progress is not None:
                progress(writer.rows, total)

        batches, retries = _run_batches(chunks, work, max_concurrency_per_instance, retry,
                                        failures, lambda chunk: len(chunk.frame), done)
        _none_left(writer, failures)
        path = writer.commit()
    return BatchSummary(path, writer.rows, batches, retries, scorer.forecasting is not None,
                        failures.items, tuple(failures.messages))


def _run_batches(items: Iterable[_Item], work: Callable[[_Item], Callable[[], pd.DataFrame]],
                 concurrency: int, retry: BatchRetrySettings, failures: _Failures,
                 size: Callable[[_Item], int],
                 done: Callable[[_Item, pd.DataFrame | None], None]) -> tuple[int, int]:
    """Run each item's ``work`` as a mini-batch, at most ``concurrency`` at once, and hand its
    result to ``done`` in input order (``None`` for one that failed after its retries, which
    ``failures`` records with ``size(item)`` items). Returns (mini-batches, retries)."""
    pending: deque[tuple[_MiniBatch, _Item]] = deque()
    batches = retries = 0

    def finish_one() -> None:
        nonlocal batches, retries
        batch, item = pending.popleft()
        batches += 1
        try:
            result, taken = batch.result(retry)
        except BatchScoringError as err:
            retries += batch.attempts - 1
            failures.record(err, size(item))
            done(item, None)
            return
        retries += taken
        done(item, result)

    for item in items:
        pending.append((_MiniBatch(item, work(item)), item))
        while len(pending) >= concurrency:
            finish_one()
    while pending:
        finish_one()
    return batches, retries


def _check_settings(error_threshold: int | None, mini_batch_size: int,
                    max_concurrency_per_instance: int) -> None:
    """One clear error for a batch setting out of range."""
    if error_threshold is not None and (isinstance(error_threshold, bool) or not isinstance(
            error_threshold, int) or error_threshold < -1):
        raise DataError(f"error_threshold must be -1 (every failure tolerated) or a whole "
                        f"number of 0 or more, got {error_threshold!r}.")
    for name, value in (("mini_batch_size", mini_batch_size),
                        ("max_concurrency_per_instance", max_concurrency_per_instance)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"{name} must be a whole number of 1 or more, got {value!r}.")


def _none_left(writer: PredictionWriter, failures: _Failures) -> None:
    """Fail a run whose every mini-batch failed (there is nothing to write)."""
    if writer.rows == 0 and failures.messages:
        raise BatchScoringError(f"every mini-batch failed ({len(failures.messages)}); nothing "
                                f"was written. The first failure: {failures.messages[0]}")


# --------------------------------------------------------------------------------------------
# scoring scripts


@dataclass(frozen=True)
class _FileBatch:
    """A scoring script's mini-batch: ``mini_batch_size`` input files."""

    number: int
    files: tuple[str, ...]

    def describe(self) -> str:
        names = ", ".join(f"'{Path(f).name}'" for f in self.files[:3])
        more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
        return f"{len(self.files)} file(s): {names}{more}"


def script_inputs(input: str | os.PathLike[str]) -> list[str]:  # noqa: A002 - Azure's name
    """The files a scoring script's mini-batches are made of: a file alone; a folder's files,
    in path order, hidden ones left out (Azure hands a script every file of a uri_folder); an
    MLTable's data files."""
    path = Path(os.path.abspath(os.fspath(input)))
    if path.name == "MLTable" or (path / "MLTable").is_file():
        return [str(f) for f in open_input(path).files]
    if path.is_file():
        return [str(path)]
    if not path.is_dir():
        raise DataError(f"The input '{path}' does not exist; check the path.")
    files = sorted(str(f) for f in path.rglob("*") if f.is_file() and not any(
        part.startswith(".") for part in f.relative_to(path).parts))
    if not files:
        raise DataError(f"The input folder '{path}' holds no files; a scoring script gets the "
                        "folder's files in mini-batches.")
    return files


def _script_result(result: Any, batch: _FileBatch, append: bool) -> pd.DataFrame:
    """What ``run`` returned as the rows to append (a DataFrame as it is; a list as one row per
    entry, its dicts' keys as columns, other values in a ``result`` column)."""
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, list | tuple):
        if result and all(isinstance(v, dict) for v in result):
            return pd.DataFrame(list(result))
        return pd.DataFrame({"result": list(result)})
    if not append:
        return pd.DataFrame()
    raise BatchScoringError(f"run() returned a {type(result).__name__} for mini-batch "
                            f"{batch.number} ({batch.describe()}); with output_action "
                            "append_row it must return a pandas DataFrame or a list (one entry "
                            "per output row).")


def score_with_script(
    code_path: str | os.PathLike[str],
    scoring_script: str,
    input: str | os.PathLike[str],  # noqa: A002 - Azure's name for the batch input
    output: str | os.PathLike[str] = "predictions.csv",
    *,
    model_folder: str | os.PathLike[str] | None = None,
    mini_batch_size: int = 10,
    max_concurrency_per_instance: int = 1,
    retry_settings: BatchRetrySettings | None = None,
    error_threshold: int | None = None,
    output_action: str = "append_row",
    progress: ProgressCallback | None = None,
) -> BatchSummary:
    """Run a batch deployment's scoring script over the files of ``input``.

    ``init()`` is called once (with ``AZUREML_MODEL_DIR`` set to ``model_folder``), then
    ``run(mini_batch)`` with each list of ``mini_batch_size`` file paths (a file input is a list
    of one), ``max_concurrency_per_instance`` at a time, with ``retry_settings`` per
    mini-batch. With ``output_action="append_row"`` the rows ``run`` returns are appended to
    ``output`` in input order; with ``"summary_only"`` they are only counted (the script writes
    its own outputs). ``error_threshold`` counts the files of failed mini-batches (-1: all
    tolerated; None: none). ``progress(files_done, files_total)`` follows the files.
    """
    from cirrusml.serving._script import load_script

    retry = retry_settings or BatchRetrySettings()
    _check_settings(error_threshold, mini_batch_size, max_concurrency_per_instance)
    if output_action not in ("append_row", "summary_only"):
        raise DataError(f"output_action must be append_row or summary_only, got "
                        f"{output_action!r}.")
    append = output_action == "append_row"
    files = script_inputs(input)
    writer = PredictionWriter(output, stable_types=False)
    if append and str(writer.target) in files:
        raise DataError(f"The output '{writer.target}' is one of the input files; write the "
                        "results to another file.")
    module = load_script(code_path, scoring_script, model_folder)
    parts = [_FileBatch(i + 1, tuple(files[start:start + mini_batch_size]))
             for i, start in enumerate(range(0, len(files), mini_batch_size))]

    def work(batch: _FileBatch) -> Callable[[], pd.DataFrame]:
        def run() -> pd.DataFrame:
            return _script_result(module.run(list(batch.files)), batch, append)
        return run

    rows = finished = 0
    failures = _Failures(error_threshold, "file(s)")
    with writer:
        def done(part: _FileBatch, result: pd.DataFrame | None) -> None:
            nonlocal rows, finished
            finished += len(part.files)
            if result is not None:
                rows += len(result)
                if append and len(result.columns):
                    writer.write(result, f"mini-batch {part.number} ({part.describe()})")
            if progress is not None:
                progress(finished, len(files))

        batches, retries = _run_batches(parts, work, max_concurrency_per_instance, retry,
                                        failures, lambda part: len(part.files), done)
        if append:
            _none_left(writer, failures)
            path = writer.commit()
        else:
            path = writer.target
    return BatchSummary(path, rows, batches, retries, False, failures.items,
                        tuple(failures.messages))


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
        model = mlflow.sklearn.load_model(str(folder))
    except Exception as err:  # noqa: BLE001 - any loading failure, reported by name
        raise DataError(f"The model in '{folder}' could not be loaded as a scikit-learn MLflow "
                        f"model ({type(err).__name__}: {err}).") from None
    release_memory(collect=False)  # unpickling a forest leaves about its size freed but held
    return model
