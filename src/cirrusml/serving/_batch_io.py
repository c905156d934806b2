"""Reading batch-scoring inputs in chunks, and writing predictions file by file, safely.

Input: a CSV/TSV, Parquet or JSON-lines file, a folder of such files (one format), or an
MLTable folder (or file). Files are read in order, each in chunks of at most ``rows`` rows:
delimited text and JSON lines with pandas' chunked readers (with the missing-value tokens and
encodings the training readers use, so values parse as they did for training), Parquet with
:meth:`pyarrow.parquet.ParquetFile.iter_batches`. A chunk never spans two files, so every row
knows its file and data row, for messages. An MLTable is resolved by :mod:`cirrusml.data`: its
files, its read step's options, and its later steps, run on each chunk; a table whose steps
pick rows (``take``, ``skip``, ``take_random_sample``) is read whole, since those steps see the
whole table.

Output: ``.csv`` or ``.parquet``, written to a hidden ``.<name>.incomplete`` file beside the
target and renamed over it only once every row is written; on failure the incomplete file is
removed, so a file at the target is always complete and an earlier one is never lost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cirrusml.data import MLTable, load_mltable, read_columns
from cirrusml.data._files import (
    ENCODINGS,
    MISSING_TOKENS,
    MLTABLE_HINT,
    DelimitedOptions,
    delimited_field_count,
    delimited_header,
    file_format,
    list_data_files,
    local_path,
)
from cirrusml.data._mltable_base import Frame
from cirrusml.exceptions import DataError

__all__ = ["OUTPUT_FORMATS", "BatchInput", "Chunk", "PredictionWriter", "open_input"]

#: Output file suffixes and the format each writes.
OUTPUT_FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet"}

#: MLTable steps that select rows of the whole table; a table using one is read whole.
_WHOLE_TABLE_STEPS = ("take", "skip", "take_random_sample")

_INDEX_COLUMN_PREFIX = "__index_level_"


@dataclass(frozen=True)
class Chunk:
    """Rows of one file: ``frame`` holds data rows ``first_row`` (1-based) onwards of ``file``."""

    number: int
    frame: pd.DataFrame
    file: str
    first_row: int

    def where(self, position: int) -> str:
        """Where row ``position`` of the chunk came from: ``data row 7 of 'a.csv'``."""
        return f"data row {self.first_row + position} of '{self.file}'"

    def describe(self) -> str:
        last = self.first_row + len(self.frame) - 1
        return f"data rows {self.first_row}-{last} of '{self.file}'"


@dataclass(frozen=True)
class _ReadSpec:
    """How to read one file: its format and the options of the step (or file type) reading it."""

    fmt: str  # csv | parquet | json
    delimited: DelimitedOptions | None = None
    names: list[str] | None = None  # no header line: these names; None: the first line
    encoding: str = "utf8"
    invalid_lines: str = "error"
    path_column: str | None = None


@dataclass
class BatchInput:
    """An input resolved to its files and how to read them; iterate with :meth:`chunks`."""

    source: Path
    files: list[Path]
    specs: list[_ReadSpec]
    columns: list[str]
    table: MLTable | None = None
    whole: bool = False
    total_rows: int | None = field(default=None)

    def chunks(self, rows: int) -> Iterator[Chunk]:
        """The input's rows, in order, in chunks of at most ``rows`` rows."""
        number = 0
        if self.whole:
            assert self.table is not None
            frame = self.table.to_pandas_dataframe()
            for start in range(0, len(frame), rows):
                part = frame.iloc[start:start + rows].reset_index(drop=True)
                yield Chunk(number, part, str(self.source), start + 1)
                number += 1
            return
        for path, spec in zip(self.files, self.specs, strict=True):
            first = 1
            for frame in _file_chunks(path, spec, rows):
                if len(frame) == 0:
                    continue
                if spec.path_column:
                    frame.insert(0, spec.path_column, os.fspath(path))
                if self.table is not None:
                    frame = self._transform(frame, path, first)
                frame = _aligned(frame, self.columns)
                yield Chunk(number, frame, os.fspath(path), first)
                number += 1
                first += len(frame)

    def _transform(self, frame: pd.DataFrame, path: Path, first: int) -> pd.DataFrame:
        assert self.table is not None
        rows = np.arange(first, first + len(frame), dtype=np.int64)
        source = np.zeros(len(frame), dtype=np.int32)
        return self.table.transform(Frame(frame, source, rows, [os.fspath(path)])).df


def _aligned(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with exactly ``columns`` in that order (missing ones empty)."""
    frame.columns = [str(c) for c in frame.columns]
    if list(frame.columns) == columns:
        return frame
    return frame.reindex(columns=columns)


# --------------------------------------------------------------------------------------------
# resolving an input


def open_input(path: str | os.PathLike[str]) -> BatchInput:
    """Resolve a file, a folder of files or an MLTable folder (or file) for chunked reading."""
    resolved = Path(os.path.abspath(local_path(path)))
    if not resolved.exists():
        raise DataError(f"The input '{resolved}' does not exist; check the path.")
    if resolved.name == "MLTable" or (resolved.is_dir() and (resolved / "MLTable").is_file()):
        return _mltable_input(resolved)
    if resolved.is_file():
        files = [resolved]
        kind = "uri_file"
    else:
        files = [p for p in list_data_files(resolved) if file_format(p) is not None]
        kind = "uri_folder"
    columns = read_columns(kind, resolved)  # checks formats, headers and empty files
    specs = [_plain_spec(p) for p in files]
    return BatchInput(resolved, files, specs, columns, total_rows=_parquet_rows(files, specs))


def _plain_spec(path: Path) -> _ReadSpec:
    fmt = file_format(path)
    if fmt in ("csv", "tsv"):
        return _ReadSpec("csv", DelimitedOptions(delimiter="\t" if fmt == "tsv" else ","))
    if fmt == "parquet":
        return _ReadSpec("parquet")
    if fmt == "json":
        return _ReadSpec("json")
    raise DataError(
        f"'{path}' is not a csv, tsv, parquet or json file; batch scoring reads those (or an "
        "MLTable folder describing the data)."
    )


def _mltable_input(path: Path) -> BatchInput:
    table = load_mltable(path)
    columns = table.column_names()
    steps = [next(iter(s)) if isinstance(s, dict) else str(s) for s in table.transformations]
    files = table.files()
    if any(name in _WHOLE_TABLE_STEPS for name in steps):
        return BatchInput(path, files, [], columns, table=table, whole=True)
    step = table.read_step()
    opts = step.options
    path_column = opts["path_column"] if opts.get("include_path_column") else None
    if step.name == "read_parquet":
        specs = [_ReadSpec("parquet", path_column=path_column) for _ in files]
    elif step.name == "read_json_lines":
        specs = [_ReadSpec("json", encoding=opts["encoding"], invalid_lines=opts["invalid_lines"],
                           path_column=path_column) for _ in files]
    else:
        specs = _delimited_specs(files, opts, path_column)
    return BatchInput(path, files, specs, columns, table=table,
                      total_rows=_parquet_rows(files, specs))


def _delimited_specs(files: list[Path], opts: dict[str, Any],
                     path_column: str | None) -> list[_ReadSpec]:
    """One spec per file for a ``read_delimited`` step, following its ``header`` mode."""
    parse = DelimitedOptions(delimiter=opts["delimiter"], encoding=opts["encoding"],
                             empty_as_string=opts["empty_as_string"],
                             infer_column_types=opts["infer_column_types"],
                             encoding_hint=MLTABLE_HINT)
    mode = opts["header"]
    if mode == "no_header":
        names = [f"Column{i}" for i in range(1, delimited_field_count(files[0], parse) + 1)]
        return [_ReadSpec("csv", parse, names, path_column=path_column) for _ in files]
    if mode == "from_first_file":
        names = delimited_header(files[0], parse)
        return [_ReadSpec("csv", parse, None if i == 0 else names, path_column=path_column)
                for i in range(len(files))]
    return [_ReadSpec("csv", parse, path_column=path_column) for _ in files]


def _parquet_rows(files: list[Path], specs: list[_ReadSpec]) -> int | None:
    """The total row count when every file is Parquet (it is in their footers), else None."""
    if not files or any(s.fmt != "parquet" for s in specs):
        return None
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


# --------------------------------------------------------------------------------------------
# reading one file in chunks


def _file_chunks(path: Path, spec: _ReadSpec, rows: int) -> Iterator[pd.DataFrame]:
    if spec.fmt == "parquet":
        yield from _parquet_chunks(path, rows)
    elif spec.fmt == "json":
        yield from _json_chunks(path, spec, rows)
    else:
        yield from _delimited_chunks(path, spec, rows)


def _delimited_chunks(path: Path, spec: _ReadSpec, rows: int) -> Iterator[pd.DataFrame]:
    opts = spec.delimited
    assert opts is not None
    missing = [t for t in MISSING_TOKENS if not (opts.empty_as_string and t == "")]
    kwargs: dict[str, Any] = {"keep_default_na": False, "na_values": missing,
                              "chunksize": rows, **opts.pandas_kwargs()}
    kwargs.pop("low_memory", None)  # not allowed with chunksize; chunks bound memory instead
    if not opts.infer_column_types:
        kwargs["dtype"] = str
    if spec.names is None:
        delimited_header(path, opts)  # refuses duplicated names, as training does
        kwargs["header"] = 0
    else:
        kwargs.update(header=None, names=list(spec.names))
    try:
        with pd.read_csv(path, **kwargs) as reader:
            yield from reader
    except UnicodeError:
        raise DataError(
            f"'{path}' does not decode as {opts.encoding}; re-save it as UTF-8 or set the "
            "encoding in an MLTable's read_delimited step."
        ) from None
    except pd.errors.ParserError as err:
        detail = str(err).replace("Error tokenizing data. C error: ", "").strip()
        raise DataError(
            f"'{path}' is not valid delimited text ({detail}); check the delimiter "
            f"({opts.delimiter!r}) and that quoted fields are closed."
        ) from None


def _parquet_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"'{path}' could not be read as Parquet ({err}); check that it is a Parquet file."
        ) from None
    for batch in handle.iter_batches(batch_size=rows):
        frame = batch.to_pandas(ignore_metadata=True)
        index = [c for c in frame.columns if str(c).startswith(_INDEX_COLUMN_PREFIX)]
        yield frame.drop(columns=index) if index else frame


def _json_chunks(path: Path, spec: _ReadSpec, rows: int) -> Iterator[pd.DataFrame]:
    try:
        with pd.read_json(path, lines=True, chunksize=rows, dtype=False, convert_dates=False,
                          encoding=ENCODINGS.get(spec.encoding, spec.encoding)) as reader:
            yield from reader
    except ValueError as err:
        raise DataError(
            f"'{path}' is not JSON lines (one JSON object per line) ({err}); fix the file or "
            "convert it to CSV or Parquet."
        ) from None


# --------------------------------------------------------------------------------------------
# writing


class PredictionWriter:
    """Appends frames to a ``.csv`` or ``.parquet`` file, made visible only by :meth:`commit`.

    Use as a context manager: leaving the block without ``commit`` (an error) removes the
    incomplete file. ``stable_types`` says the input's column types do not vary between chunks
    (Parquet input); otherwise integer columns are written as floats, since a later chunk of a
    text file may hold a gap in them.
    """

    def __init__(self, target: str | os.PathLike[str], *, stable_types: bool = True) -> None:
        self.target = Path(os.path.abspath(local_path(target)))
        fmt = OUTPUT_FORMATS.get(self.target.suffix.lower())
        if fmt is None:
            raise DataError(
                f"The output '{self.target}' must end in .csv or .parquet (for example "
                "predictions.csv, Azure's default output_file_name)."
            )
        if self.target.is_dir():
            raise DataError(f"The output '{self.target}' is a folder; name a file such as "
                            f"'{self.target / 'predictions.csv'}'.")
        self.format = fmt
        self.partial = self.target.with_name(f".{self.target.name}.incomplete")
        self.stable_types = stable_types
        self.rows = 0
        self._schema: pa.Schema | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._started = False

    def __enter__(self) -> PredictionWriter:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.partial.unlink(missing_ok=True)
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        self.partial.unlink(missing_ok=True)  # already renamed when committed

    def write(self, frame: pd.DataFrame, where: str) -> None:
        """Append ``frame``; ``where`` names its rows for messages."""
        if self.format == "csv":
            frame.to_csv(self.partial, mode="a" if self._started else "w",
                         header=not self._started, index=False)
        else:
            self._write_parquet(frame, where)
        self._started = True
        self.rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame, where: str) -> None:
        if self._schema is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self._schema = pa.schema([_widened(f, self.stable_types) for f in table.schema])
            self._parquet = pq.ParquetWriter(self.partial, self._schema)
        assert self._parquet is not None
        columns = []
        for fld in self._schema:
            try:
                columns.append(pa.array(_as_arrow_input(frame[fld.name], fld.type),
                                        type=fld.type, from_pandas=True))
            except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError):
                raise DataError(
                    f"Column '{fld.name}' holds {fld.type} values in the first rows but not in "
                    f"{where}, and a Parquet column has one type; write the predictions to a "
                    ".csv file instead, or give the column one type throughout."
                ) from None
        self._parquet.write_table(pa.Table.from_arrays(columns, schema=self._schema))

    def commit(self) -> Path:
        """Close the file and move it to the target (replacing an older file there)."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if not self._started:
            raise DataError("No row was scored, so no predictions file was written; the input "
                            "holds no data rows.")
        os.replace(self.partial, self.target)
        return self.target


def _widened(fld: pa.Field, stable: bool) -> pa.Field:
    """The output type of an input column: ints as floats when a later chunk may have gaps;
    columns with no value in the first chunk as text."""
    if pa.types.is_null(fld.type):
        return pa.field(fld.name, pa.string())
    if not stable and pa.types.is_integer(fld.type):
        return pa.field(fld.name, pa.float64())
    return fld


def _as_arrow_input(series: pd.Series, kind: pa.DataType) -> Any:
    if pa.types.is_string(kind) and not pd.api.types.is_string_dtype(series):
        return series.astype(object).where(series.notna(), None).map(
            lambda v: v if v is None else str(v))
    return series
