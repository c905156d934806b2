"""The read steps of an MLTable: ``read_delimited``, ``read_parquet`` and ``read_json_lines``.

A read step is the table's first transformation (a table without one gets the default step for
its first file's format, :func:`read_step_for`). It turns the table's files into one
:class:`~cirrusml.data._mltable_base.Frame`, concatenated in path order, or, for
:meth:`MLTable.column_names`, answers with the column names from headers and schemas only. The
options shared by all three (``include_path_column``, ``path_column``, ``encoding``, ...) are
checked once, in :meth:`ReadStep.parse`; each subclass says how its files are read and what
their columns are.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from cirrusml.data._files import (
    ENCODINGS,
    MLTABLE_HINT,
    DelimitedOptions,
    delimited_field_count,
    delimited_header,
    file_format,
    json_lines_columns,
    ordered_union,
    parquet_columns,
    read_delimited_file,
    read_json_lines_file,
    read_parquet_file,
)
from cirrusml.data._mltable_base import Frame, Transformation
from cirrusml.data._mltable_checks import HEADER_MODES, INVALID_LINES, Checker, plain
from cirrusml.exceptions import DataError

__all__ = [
    "READ_STEPS",
    "ReadDelimited",
    "ReadJsonLines",
    "ReadParquet",
    "ReadStep",
    "read_step_for",
]

_BOOLEAN_OPTIONS = (
    "include_path_column",
    "empty_as_string",
    "infer_column_types",
    "support_multi_line",
)


class ReadStep(Transformation):
    """A step that reads the table's files; ``options`` holds every option, defaults filled in."""

    #: The step's options with their defaults, in the order ``save`` writes them.
    #: ``partition_size`` is accepted (Azure's package writes it) and has no effect here.
    defaults: ClassVar[dict[str, Any]]

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    @classmethod
    def parse(cls, raw: Any, check: Checker) -> Self:
        name = cls.name
        given = check.options(name, raw, cls.defaults)
        opts = {**cls.defaults, **plain(given)}
        for key in _BOOLEAN_OPTIONS:
            if key in opts:
                check.boolean(name, key, opts[key])
        if "encoding" in opts:
            check.choice(name, "encoding", opts["encoding"], tuple(ENCODINGS))
        if "header" in opts:
            check.choice(name, "header", opts["header"], HEADER_MODES)
        if "invalid_lines" in opts:
            check.choice(name, "invalid_lines", opts["invalid_lines"], INVALID_LINES)
        if "delimiter" in opts and (
            not isinstance(opts["delimiter"], str) or not opts["delimiter"]
        ):
            raise check.fail(
                f"{name} option 'delimiter' must be a non-empty string such as ',', got "
                f"{opts['delimiter']!r}."
            )
        if not isinstance(opts["path_column"], str) or not opts["path_column"]:
            raise check.fail(
                f"{name} option 'path_column' must be a column name, got {opts['path_column']!r}."
            )
        return cls(opts)

    @classmethod
    def default(cls) -> Self:
        """The step with every option at its default."""
        return cls(dict(cls.defaults))

    # ---- what each format says

    @abstractmethod
    def read_files(self, files: list[Path]) -> list[pd.DataFrame]:
        """One frame per file, in order."""

    @abstractmethod
    def file_columns(self, files: list[Path]) -> list[str]:
        """The columns :meth:`read_files` yields once concatenated, from headers only."""

    # ---- shared by all formats

    def read(self, files: list[Path]) -> Frame:
        """The files as one frame (with the path column when asked), in path order."""
        frames = self.read_files(files)
        if self.options["include_path_column"]:
            column = self.options["path_column"]
            for path, frame in zip(files, frames, strict=True):
                if column in frame.columns:
                    raise DataError(
                        f"'{path}' already has a column named '{column}', so the path column "
                        f"cannot be added; set path_column to another name."
                    )
                frame.insert(0, column, os.fspath(path))
        lengths = np.array([len(f) for f in frames], dtype=np.int64)
        df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True, sort=False)
        df = df.reset_index(drop=True)
        source = np.repeat(np.arange(len(frames), dtype=np.int32), lengths)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        row = np.arange(len(df), dtype=np.int64) - starts + 1
        return Frame(df, source, row, [os.fspath(f) for f in files])

    def columns(self, files: list[Path]) -> list[str]:
        """The columns :meth:`read` yields, reading headers and schemas only."""
        names = self.file_columns(files)
        if self.options["include_path_column"]:
            names = [self.options["path_column"], *names]
        return names


def _different_headers(
    first: Path, expected: list[str], other: Path, header: list[str]
) -> DataError:
    return DataError(
        f"'{other}' has header {header} but '{first}' has {expected}; with "
        "header: all_files_same_headers every file needs the same header line, so "
        "fix the files or use header: all_files_different_headers."
    )


class ReadDelimited(ReadStep):
    """``read_delimited``: csv-like text files, with the header rule of ``header``."""

    name = "read_delimited"
    defaults = {
        "delimiter": ",",
        "encoding": "utf8",
        "header": "all_files_same_headers",
        "empty_as_string": False,
        "include_path_column": False,
        "infer_column_types": True,
        "support_multi_line": False,
        "path_column": "Path",
        "partition_size": None,
    }

    def _parse_options(self) -> DelimitedOptions:
        opts = self.options
        return DelimitedOptions(
            delimiter=opts["delimiter"],
            encoding=opts["encoding"],
            empty_as_string=opts["empty_as_string"],
            infer_column_types=opts["infer_column_types"],
            encoding_hint=MLTABLE_HINT,
        )

    def read_files(self, files: list[Path]) -> list[pd.DataFrame]:
        parse = self._parse_options()
        mode = self.options["header"]
        if mode == "all_files_different_headers":
            return [read_delimited_file(f, parse) for f in files]
        if mode == "no_header":
            count = delimited_field_count(files[0], parse)
            names = [f"Column{i}" for i in range(1, count + 1)]
            return [read_delimited_file(f, parse, names=names) for f in files]
        first = read_delimited_file(files[0], parse)
        names = [str(c) for c in first.columns]
        frames = [first]
        if mode == "from_first_file":
            frames += [read_delimited_file(f, parse, names=names) for f in files[1:]]
            return frames
        expected = delimited_header(files[0], parse)
        for other in files[1:]:
            header = delimited_header(other, parse)
            if header != expected:
                raise _different_headers(files[0], expected, other, header)
            frames.append(read_delimited_file(other, parse))
        return frames

    def file_columns(self, files: list[Path]) -> list[str]:
        parse = self._parse_options()
        mode = self.options["header"]
        if mode == "no_header":
            count = delimited_field_count(files[0], parse)
            return [f"Column{i}" for i in range(1, count + 1)]
        if mode == "all_files_different_headers":
            return ordered_union(delimited_header(f, parse) for f in files)
        names = delimited_header(files[0], parse)
        if mode == "all_files_same_headers":
            for other in files[1:]:
                header = delimited_header(other, parse)
                if header != names:
                    raise _different_headers(files[0], names, other, header)
        return names


class ReadParquet(ReadStep):
    """``read_parquet``: Parquet files; columns come from their schemas."""

    name = "read_parquet"
    defaults = {"include_path_column": False, "path_column": "Path"}

    def read_files(self, files: list[Path]) -> list[pd.DataFrame]:
        return [read_parquet_file(f) for f in files]

    def file_columns(self, files: list[Path]) -> list[str]:
        return ordered_union(parquet_columns(f) for f in files)


class ReadJsonLines(ReadStep):
    """``read_json_lines``: one JSON object per line; columns are the first object's keys."""

    name = "read_json_lines"
    defaults = {
        "encoding": "utf8",
        "include_path_column": False,
        "invalid_lines": "error",
        "path_column": "Path",
        "partition_size": None,
    }

    def read_files(self, files: list[Path]) -> list[pd.DataFrame]:
        opts = self.options
        return [
            read_json_lines_file(
                f, encoding=opts["encoding"], invalid_lines=opts["invalid_lines"], hint=MLTABLE_HINT
            )
            for f in files
        ]

    def file_columns(self, files: list[Path]) -> list[str]:
        opts = self.options
        return ordered_union(
            json_lines_columns(
                f, encoding=opts["encoding"], invalid_lines=opts["invalid_lines"], hint=MLTABLE_HINT
            )
            for f in files
        )


#: Every read step, in the order Azure's documentation lists them.
READ_STEPS: tuple[type[ReadStep], ...] = (ReadDelimited, ReadParquet, ReadJsonLines)

# Read step to use when a table has none, by file format.
_READ_STEP_FOR_FORMAT: dict[str, type[ReadStep]] = {
    "csv": ReadDelimited,
    "tsv": ReadDelimited,
    "parquet": ReadParquet,
    "json": ReadJsonLines,
}


def read_step_for(files: list[Path], check: Checker) -> ReadStep:
    """The read step of a table that declares none, from the format of its first file."""
    fmt = file_format(files[0])
    kind = _READ_STEP_FOR_FORMAT.get(fmt or "")
    if kind is None:
        raise check.fail(
            f"it has no read transformation and '{files[0]}' is not a "
            "csv, tsv, parquet or json file; add read_delimited, read_parquet or "
            "read_json_lines as the first transformation."
        )
    step = kind.default()
    if fmt == "tsv":
        step.options["delimiter"] = "\t"
    return step
