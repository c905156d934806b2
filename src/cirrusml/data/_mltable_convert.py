"""The ``convert_column_types`` step and the vectorised conversions it runs.

An entry ``{columns: [a, b], column_type: T}`` converts each named column to ``T``: ``int``,
``float``, ``string``, ``boolean`` (optionally ``{boolean: {true_values, false_values,
mismatch_as}}``) or ``datetime`` (optionally ``{datetime: {formats: [...]}}``). A value that
does not convert is an error naming the column, how many values failed and the file and line of
the first; integers with gaps become floats, so scikit-learn copes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from cirrusml.data._mltable_base import Frame, TableStep
from cirrusml.data._mltable_checks import (
    COLUMN_TYPES,
    MISMATCH_AS,
    Checker,
    DataType,
    did_you_mean,
)
from cirrusml.exceptions import DataError

__all__ = ["ConvertColumnTypes", "Conversion"]

_DEFAULT_TRUE = ("true", "t", "yes", "y", "1")
_DEFAULT_FALSE = ("false", "f", "no", "n", "0")


@dataclass
class Conversion:
    """One entry of the step: the columns and the type (with its options) they become."""

    columns: list[str]
    type: str
    options: dict[str, Any] = field(default_factory=dict)


class ConvertColumnTypes(TableStep):
    """``convert_column_types``: a list of conversions, applied in order."""

    name = "convert_column_types"

    def __init__(self, conversions: list[Conversion]) -> None:
        self.conversions = conversions

    @classmethod
    def parse(cls, raw: Any, check: Checker) -> Self:
        return cls(_conversions(raw, check))

    def apply(self, frame: Frame, check: Checker) -> Frame:
        columns = list(frame.df.columns)
        for conversion in self.conversions:
            check.require(self.name, conversion.columns, columns)
            for column in conversion.columns:
                frame.df[column] = _convert(frame, column, conversion)
        return frame

    def columns(self, names: list[str], check: Checker) -> list[str]:
        for conversion in self.conversions:
            check.require(self.name, conversion.columns, names)
        return names


# --------------------------------------------------------------------------------------------
# parsing


def _conversions(raw: Any, check: Checker) -> list[Conversion]:
    step = "convert_column_types"
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise check.fail(
            f"{step} needs a list of {{columns: ..., column_type: ...}} entries, got {raw!r}."
        )
    out = []
    for entry in raw:
        opts = check.options(f"{step} entry", entry, ("columns", "column_type"))
        if "columns" not in opts or "column_type" not in opts:
            raise check.fail(
                f"every {step} entry needs both 'columns' and 'column_type', got {entry!r}."
            )
        columns = check.column_list(step, opts["columns"])
        name, options = _column_type(opts["column_type"], check)
        out.append(Conversion(columns, name, options))
    return out


def _column_type(raw: Any, check: Checker) -> tuple[str, dict[str, Any]]:
    step = "convert_column_types"
    if isinstance(raw, DataType):
        raw = raw.to_yaml()
    if isinstance(raw, str):
        if raw not in COLUMN_TYPES:
            raise check.fail(
                f"{step} column_type '{raw}' is unknown; {did_you_mean(raw, COLUMN_TYPES)}"
                f"use one of {', '.join(COLUMN_TYPES)}."
            )
        return raw, {}
    if isinstance(raw, dict) and len(raw) == 1:
        ((name, options),) = raw.items()
        if name == "boolean":
            opts = check.options(
                f"{step} boolean", options, ("true_values", "false_values", "mismatch_as")
            )
            for key in ("true_values", "false_values"):
                if key in opts:
                    values = opts[key]
                    if not isinstance(values, list):
                        values = [values]
                    opts[key] = [str(v) for v in values]
            if "mismatch_as" in opts:
                opts["mismatch_as"] = check.choice(
                    f"{step} boolean",
                    "mismatch_as",
                    str(opts["mismatch_as"]).lower(),
                    MISMATCH_AS,
                )
            return "boolean", opts
        if name == "datetime":
            opts = check.options(f"{step} datetime", options, ("formats",))
            if "formats" in opts:
                formats = opts["formats"]
                if isinstance(formats, str):
                    formats = [formats]
                if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
                    raise check.fail(
                        f"{step} datetime formats must be a list of strftime patterns such "
                        f"as ['%d/%m/%Y'], got {formats!r}."
                    )
                opts["formats"] = list(formats)
            return "datetime", opts
        if name in COLUMN_TYPES and not options:
            return str(name), {}
        raise check.fail(
            f"{step} column_type {raw!r} is not understood; write one of "
            f"{', '.join(COLUMN_TYPES)}, or {{boolean: {{true_values: [...], false_values: "
            "[...]}}} or {datetime: {formats: [...]}}."
        )
    raise check.fail(f"{step} column_type must be one of {', '.join(COLUMN_TYPES)}, got {raw!r}.")


# --------------------------------------------------------------------------------------------
# conversions (vectorised)


def _conversion_error(frame: Frame, column: str, bad: np.ndarray, target: str) -> DataError:
    positions = np.flatnonzero(bad)
    first = int(positions[0])
    value = frame.df[column].iloc[first]
    return DataError(
        f"Column '{column}' cannot be converted to {target}: {len(positions)} value(s) are not "
        f"valid, e.g. {value!r} in {frame.origin(first)}; fix the data, or convert the column "
        "to another type (string keeps it as text)."
    )


def _as_text(series: pd.Series) -> pd.Series:
    """Values as stripped text, with empty text counted as missing."""
    text = series.astype(str).str.strip()
    return text.where(series.notna() & text.ne(""))


def _to_number(frame: Frame, column: str, target: str) -> pd.Series:
    series = frame.df[column]
    if ptypes.is_bool_dtype(series.dtype):
        numbers = series.astype("float64")
        bad = np.zeros(len(series), dtype=bool)
    elif ptypes.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64") if target == "float" else series
        bad = np.zeros(len(series), dtype=bool)
    elif ptypes.is_datetime64_any_dtype(series.dtype):
        raise _conversion_error(frame, column, series.notna().to_numpy(), target)
    else:
        text = _as_text(series)
        numbers = pd.to_numeric(text, errors="coerce")
        bad = (text.notna() & numbers.isna()).to_numpy()
    if target == "int" and ptypes.is_float_dtype(numbers.dtype):
        bad = bad | (numbers.notna() & (numbers % 1 != 0)).to_numpy()  # 1.5, inf
    if bad.any():
        raise _conversion_error(frame, column, bad, target)
    if target == "float":
        return numbers.astype("float64")
    if numbers.isna().any():
        return numbers.astype("float64")  # ints with gaps stay float so scikit-learn copes
    return numbers.astype("int64")


def _to_string(series: pd.Series) -> pd.Series:
    present = series.notna()
    if ptypes.is_float_dtype(series.dtype):
        values = series[present]
        if len(values) and (values % 1 == 0).all() and values.abs().max() < 2**53:
            text = values.astype("int64").astype(str)
            return text.reindex(series.index).astype(object)
    text = series.astype(str).astype(object)
    return text.where(present, np.nan)


def _to_bool(frame: Frame, column: str, options: dict[str, Any]) -> pd.Series:
    series = frame.df[column]
    if ptypes.is_bool_dtype(series.dtype) and not options:
        return series
    true_values = {v.strip().lower() for v in options.get("true_values", _DEFAULT_TRUE)}
    false_values = {v.strip().lower() for v in options.get("false_values", _DEFAULT_FALSE)}
    if ptypes.is_bool_dtype(series.dtype):
        text = series.astype(str).str.lower().where(series.notna())
    elif ptypes.is_numeric_dtype(series.dtype):
        text = _to_string(series)
    else:
        text = _as_text(series)
    lowered = text.str.lower()
    is_true = lowered.isin(true_values).to_numpy()
    is_false = lowered.isin(false_values).to_numpy() & ~is_true
    missing = text.isna().to_numpy()
    other = ~(is_true | is_false | missing)
    mismatch_as = options.get("mismatch_as", "error")
    if other.any():
        if mismatch_as == "error":
            raise _conversion_error(frame, column, other, "boolean")
        if mismatch_as == "true":
            is_true = is_true | other
    result = pd.Series(is_true, index=series.index)
    if missing.any():
        return result.astype("boolean").mask(missing)
    return result


def _to_datetime(frame: Frame, column: str, options: dict[str, Any]) -> pd.Series:
    series = frame.df[column]
    if ptypes.is_datetime64_any_dtype(series.dtype) and not options.get("formats"):
        return series
    text = _as_text(series) if not ptypes.is_float_dtype(series.dtype) else _to_string(series)
    present = text.notna()
    formats = options.get("formats")
    if formats:
        parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
        for fmt in formats:
            todo = present & parsed.isna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    else:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        todo = present & parsed.isna()
        if todo.any():
            parsed[todo] = pd.to_datetime(text[todo], format="mixed", errors="coerce")
    bad = (present & parsed.isna()).to_numpy()
    if bad.any():
        listed = f" with formats {formats}" if formats else ""
        raise _conversion_error(frame, column, bad, f"datetime{listed}")
    return parsed


def _convert(frame: Frame, column: str, conversion: Conversion) -> pd.Series:
    if conversion.type in ("int", "float"):
        return _to_number(frame, column, conversion.type)
    if conversion.type == "string":
        return _to_string(frame.df[column])
    if conversion.type == "boolean":
        return _to_bool(frame, column, conversion.options)
    return _to_datetime(frame, column, conversion.options)
