"""The model's input columns and what each takes, read once from the MLmodel file, and the
check of a request's rows against them.

The kinds come from the MLflow signature: ``string`` columns take text, ``double``/``long``/...
numbers, ``boolean`` booleans, ``datetime`` dates. cirrusml declares number, boolean and date
columns as MLflow's ``any`` (so that MLflow passes integers for a float column); for those the
saved input example tells which of the three a column is. A column with no known kind is not
checked.

Every signature column must be present: a cirrusml model refuses rows without a column it was
trained on (its signature marks columns as not required only so that MLflow's own check lets
missing *values* through). Extra columns are passed on to the model, which ignores the ones it
was not trained on (a forecaster reads its target column, when given, as history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cirrusml.serving._errors import ScoringError

__all__ = ["InputSchema"]

NUMERIC, BOOLEAN, DATETIME, TEXT, UNKNOWN = "numeric", "boolean", "datetime", "text", "unknown"

#: What the error for a wrong value says a column of each kind takes.
_TAKES = {
    NUMERIC: "numbers (or numbers written as text, or null)",
    BOOLEAN: "booleans (true/false, 1/0, \"yes\"/\"no\", or null)",
    DATETIME: "dates or times written as text in one format for all rows, such as "
              "\"2024-01-31\" or \"2024-01-31T12:00:00\" (or null)",
    TEXT: "text, numbers or booleans (or null), not arrays or objects",
}

#: MLflow's column types, by kind.
_MLFLOW_KINDS = {"string": TEXT, "double": NUMERIC, "float": NUMERIC, "long": NUMERIC,
                 "integer": NUMERIC, "boolean": BOOLEAN, "datetime": DATETIME}

#: Frames of at most this many rows are checked value by value in Python: for a request of a
#: few rows that is cheaper than pandas' vectorised parsing of each column.
SMALL_FRAME_ROWS = 64
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "1", "0", "1.0", "0.0", ""})


@dataclass(frozen=True)
class InputSchema:
    """The columns a model needs, in order, and the kind of each (``numeric``, ``boolean``,
    ``datetime``, ``text`` or ``unknown``)."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]

    @classmethod
    def from_model_folder(cls, path: str | Path) -> InputSchema:
        """Read the schema of the MLflow model in ``path`` (empty when it has no column
        signature)."""
        from mlflow.models import Model

        info = Model.load(str(path))
        signature = info.signature
        if signature is None or not signature.inputs.has_input_names():
            return cls((), ())
        example = _example(info, path)
        columns, kinds = [], []
        for spec in signature.inputs.inputs:
            name = str(spec.name)
            kind = _MLFLOW_KINDS.get(getattr(spec.type, "name", str(spec.type)), UNKNOWN)
            if kind == UNKNOWN and example is not None and name in example.columns:
                kind = _kind_of(example[name])
            columns.append(name)
            kinds.append(kind)
        return cls(tuple(columns), tuple(kinds))

    def check(self, frame: pd.DataFrame) -> None:
        """Raise :class:`ScoringError` (422) for a missing column or a value its column cannot
        take, naming the column and the row."""
        present = set(frame.columns)
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise ScoringError(
                422, "MissingColumn",
                f"the rows lack column(s) {', '.join(repr(c) for c in missing)} that the model "
                "needs; add them to every row (null where a value is unknown). The model's "
                f"columns: {', '.join(self.columns)}.")
        for column, kind in zip(self.columns, self.kinds, strict=True):
            if kind == UNKNOWN:
                continue
            series = frame[column]
            if series.dtype != object:
                continue  # numbers or booleans throughout, as decoded from JSON
            row = (_first_invalid_small(series.to_numpy(), kind)
                   if len(series) <= SMALL_FRAME_ROWS and kind != DATETIME
                   else _first_invalid(series, kind))
            if row is not None:
                raise _invalid(frame, column, kind, row, series)


def _example(info: Any, path: str | Path) -> pd.DataFrame | None:
    try:
        example = info.load_input_example(str(path))
    except Exception:  # an unreadable example only costs the finer column kinds
        return None
    return example if isinstance(example, pd.DataFrame) else None


def _kind_of(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return UNKNOWN
    if pd.api.types.is_bool_dtype(values):
        return BOOLEAN
    if pd.api.types.is_numeric_dtype(values):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(values):
        return DATETIME
    if all(isinstance(v, str) for v in values):
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
        if parsed.notna().all():
            return DATETIME
    return UNKNOWN


def _first_invalid(series: pd.Series, kind: str) -> int | None:
    """The position of the first value of ``series`` its column cannot take, or ``None``."""
    present = series.notna().to_numpy()
    if kind == TEXT:
        nested = series.map(lambda v: isinstance(v, (list, dict))).to_numpy()
        hits = nested.nonzero()[0]
        return int(hits[0]) if len(hits) else None
    if kind == DATETIME:
        parsed = pd.to_datetime(series, errors="coerce")
        suspects = (parsed.isna().to_numpy() & present).nonzero()[0]
        ok = _is_blank
    else:
        parsed = pd.to_numeric(series, errors="coerce")
        suspects = (parsed.isna().to_numpy() & present).nonzero()[0]
        ok = _is_number if kind == NUMERIC else _is_boolean
    values = series.to_numpy()
    for position in suspects:
        if not ok(values[position]):
            return int(position)
    return None


def _first_invalid_small(values: Any, kind: str) -> int | None:
    """:func:`_first_invalid` for a few values (not dates), value by value: the same answer."""
    for position, value in enumerate(values):
        if not _takes(kind, value):
            return position
    return None


def _takes(kind: str, value: Any) -> bool:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return True  # missing: every column takes it
    if kind == TEXT:
        return not isinstance(value, (list, dict))
    if isinstance(value, (int, float)):  # bool too, as pandas parses it as a number
        return True
    if not isinstance(value, str):
        return False
    if kind == NUMERIC:
        return _is_number(value)
    # BOOLEAN: a word, or text pandas parses as a number (not as NaN).
    return value.strip().lower() in _BOOLEAN_WORDS or \
        not pd.isna(pd.to_numeric(value, errors="coerce"))


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or _is_blank(value):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS


def _invalid(frame: pd.DataFrame, column: str, kind: str, row: int,
             series: pd.Series) -> ScoringError:
    value = series.iloc[row]
    where = f"row {row}"
    if not isinstance(frame.index, pd.RangeIndex):
        where += f" (index {frame.index[row]!r})"
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return ScoringError(
        422, "InvalidValue",
        f"column {column!r} takes {_TAKES[kind]}, but {where} has {shown}; fix that value or "
        "send null for an unknown one (rows are counted from 0).")
