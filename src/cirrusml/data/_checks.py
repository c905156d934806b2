"""The cheap checks of a job's data: the ones that need only column names (and, for an
in-memory DataFrame, its shape), run once at submission and again by the engine on the data it
reads, with the same messages.

* :func:`check_frame`: a frame has rows and unique column names.
* :func:`check_named_columns`: the columns the job names (target, weight, cross-validation
  splits) are in a data input.
* :func:`check_job_columns`: both, for every data input of a job, reading only headers and
  schemas of files.

The job is read by attribute (``training_data``, ``validation_data``, ``test_data``,
``target_column_name``, ``weight_column_name``, ``cv_split_column_names``), so this module
needs nothing from ``spec``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from cirrusml.data._readers import read_columns
from cirrusml.exceptions import DataError, InvalidSpecError

__all__ = ["DATA_FIELDS", "check_frame", "check_job_columns", "check_named_columns"]

#: A job's data inputs, in the order they are checked.
DATA_FIELDS = ("training_data", "validation_data", "test_data")


def check_frame(frame: pd.DataFrame, field_name: str, source: str | None = None) -> None:
    """Raise ``DataError`` if ``frame`` has duplicate column names or no rows.

    ``source`` is the file the frame was read from (None for a DataFrame given in memory).
    """
    columns = list(map(str, frame.columns))
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DataError(
            f"{field_name} has duplicate column names {dupes}; give each column a unique name.")
    if len(frame) == 0:
        if source is None:
            raise DataError(f"{field_name} has no rows (an empty DataFrame).")
        raise DataError(f"{field_name} ('{source}') has no rows; point it at data with rows.")


def _series_columns(job: Any) -> dict[str, str]:
    """The columns a forecasting job's ``forecasting:`` block names (time, ids, unknowns)."""
    settings = getattr(job, "forecasting_settings", None)
    named: dict[str, str] = {}
    if settings is None:
        return named
    if settings.time_column_name:
        named[str(settings.time_column_name)] = "forecasting.time_column_name"
    for column in settings.time_series_id_column_names or []:
        named[str(column)] = "forecasting.time_series_id_column_names"
    for column in settings.features_unknown_at_forecast_time or []:
        named[str(column)] = "forecasting.features_unknown_at_forecast_time"
    return named


def check_named_columns(job: Any, field_name: str, columns: Sequence[str],
                        source: str | None = None) -> None:
    """Raise ``DataError`` if a column the job names is not in ``columns`` of ``field_name``.

    The training data must hold the target, weight and cross-validation split columns; the
    validation and test data the target and the weight.
    """
    target = job.target_column_name
    weight = job.weight_column_name
    if field_name == "training_data":
        wanted = [c for c in [target, weight, *(job.cv_split_column_names or [])] if c]
    else:
        wanted = [c for c in [target, weight] if c]
    series = _series_columns(job)
    wanted += [c for c in series if c not in wanted]
    where = "" if source is None else f" ({source})"
    for column in wanted:
        if column not in columns:
            what = ("target_column_name" if column == target else
                    "weight_column_name" if column == weight else
                    series.get(column, "cv_split_column_names"))
            raise DataError(
                f"{what}: column '{column}' is not in {field_name}{where}; its columns are: "
                f"{', '.join(columns)}.")


def check_job_columns(job: Any) -> None:
    """Check every data input of ``job`` without reading its rows (files: headers only).

    Raises ``InvalidSpecError`` for an input that is a pipeline binding, and ``DataError`` for
    a missing or unreadable file, an empty or ambiguous DataFrame, or a named column that is
    not there.
    """
    for field_name in DATA_FIELDS:
        value = getattr(job, field_name, None)
        if value is None:
            continue
        if isinstance(value, str):
            raise InvalidSpecError(
                f"is a pipeline binding ({value}); bindings are resolved inside pipeline "
                "jobs, which are not supported yet.", field=field_name)
        if isinstance(value, pd.DataFrame):
            check_frame(value, field_name)
            check_named_columns(job, field_name, list(map(str, value.columns)))
        else:
            check_named_columns(job, field_name, read_columns(value.type, value.path),
                                source=str(value.path))
