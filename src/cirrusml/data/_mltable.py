"""The MLTable model: a YAML file that says which files make a table and how to read them.

An ``MLTable`` file (named ``MLTable``, in the data folder) looks like::

    type: mltable                       # optional
    paths:
      - file: ./train.csv               # or folder: ./parts, or pattern: ./parts/**/*.csv
    transformations:
      - read_delimited: {delimiter: ',', encoding: ascii}
      - convert_column_types:
          - {columns: [temp, hum], column_type: float}
      - drop_columns: [instant]

Relative paths resolve against the folder holding the ``MLTable`` file (for tables built in
Python with :func:`from_delimited_files` and friends, against the working directory at the
time). The option names and meanings follow Azure's ``mltable`` package; the supported subset is
listed in :data:`SUPPORTED_TRANSFORMATIONS`.

Reading happens in :meth:`MLTable.to_pandas_dataframe`: every file is read with pandas or
pyarrow, the files are concatenated in path order, then the transformations run in order.
:meth:`MLTable.column_names` answers "which columns will there be?" from headers and schemas
only.
"""

from __future__ import annotations

import copy
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pandas.api import types as ptypes

from cirrusml.data._readers import (
    ENCODINGS,
    MLTABLE_HINT,
    DelimitedOptions,
    delimited_field_count,
    delimited_header,
    file_format,
    json_lines_columns,
    list_data_files,
    local_path,
    ordered_union,
    parquet_columns,
    read_delimited_file,
    read_json_lines_file,
    read_parquet_file,
)
from cirrusml.exceptions import DataError, MLTableError
from cirrusml.utils import nearest

__all__ = [
    "COLUMN_TYPES",
    "SUPPORTED_TRANSFORMATIONS",
    "DataType",
    "MLTable",
    "MLTableFileEncoding",
    "MLTableHeaders",
    "from_delimited_files",
    "from_json_lines_files",
    "from_parquet_files",
    "load_mltable",
]

TOP_LEVEL_KEYS: tuple[str, ...] = (
    "$schema",
    "type",
    "paths",
    "transformations",
    "traits",
    "metadata",
)
PATH_KINDS: tuple[str, ...] = ("file", "folder", "pattern")
HEADER_MODES: tuple[str, ...] = (
    "all_files_same_headers",
    "from_first_file",
    "no_header",
    "all_files_different_headers",
)
COLUMN_TYPES: tuple[str, ...] = ("int", "float", "string", "boolean", "datetime")
INVALID_LINES: tuple[str, ...] = ("error", "drop")
MISMATCH_AS: tuple[str, ...] = ("error", "true", "false")

# Options of each read step with their defaults, in the order ``save`` writes them.
# ``partition_size`` is accepted (Azure's package writes it) and has no effect here.
READ_STEP_OPTIONS: dict[str, dict[str, Any]] = {
    "read_delimited": {
        "delimiter": ",",
        "encoding": "utf8",
        "header": "all_files_same_headers",
        "empty_as_string": False,
        "include_path_column": False,
        "infer_column_types": True,
        "support_multi_line": False,
        "path_column": "Path",
        "partition_size": None,
    },
    "read_parquet": {"include_path_column": False, "path_column": "Path"},
    "read_json_lines": {
        "encoding": "utf8",
        "include_path_column": False,
        "invalid_lines": "error",
        "path_column": "Path",
        "partition_size": None,
    },
}
SUPPORTED_TRANSFORMATIONS: tuple[str, ...] = (
    *READ_STEP_OPTIONS,
    "convert_column_types",
    "drop_columns",
    "keep_columns",
    "take",
    "skip",
    "take_random_sample",
)
# Transformations Azure knows that cirrusml does not run (yet).
AZURE_ONLY_TRANSFORMATIONS: tuple[str, ...] = (
    "read_delta_lake",
    "filter",
    "extract_columns_from_partition_format",
)
# Read step to use when a table has none, by file format.
_READ_STEP_FOR_FORMAT = {
    "csv": "read_delimited",
    "tsv": "read_delimited",
    "parquet": "read_parquet",
    "json": "read_json_lines",
}

_DEFAULT_TRUE = ("true", "t", "yes", "y", "1")
_DEFAULT_FALSE = ("false", "f", "no", "n", "0")


class MLTableHeaders(StrEnum):
    """How column headers are read from delimited files (``header`` option)."""

    all_files_different_headers = "all_files_different_headers"
    all_files_same_headers = "all_files_same_headers"
    from_first_file = "from_first_file"
    no_header = "no_header"


class MLTableFileEncoding(StrEnum):
    """Text encodings of delimited and JSON-lines files (``encoding`` option)."""

    utf8 = "utf8"
    iso88591 = "iso88591"
    latin1 = "latin1"
    ascii = "ascii"
    utf16 = "utf16"
    utf32 = "utf32"
    utf8bom = "utf8bom"
    windows1252 = "windows1252"


# --------------------------------------------------------------------------------------------
# helpers for messages


def _did_you_mean(name: object, choices: Iterable[str]) -> str:
    close = nearest(str(name), choices, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def _listing(names: Sequence[Any], limit: int = 40) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown


def _plain(value: Any) -> Any:
    """Enums to their values, recursively, so YAML and comparisons see plain data."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, DataType):
        return value.to_yaml()
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# column types


class DataType:
    """A target type for :meth:`MLTable.convert_column_types`, as in Azure's package.

    Build one with ``DataType.to_int()``, ``to_float()``, ``to_string()``,
    ``to_bool(true_values, false_values, mismatch_as)`` or ``to_datetime(formats)``.
    """

    def __init__(self, name: str, options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.options = dict(options or {})

    @staticmethod
    def to_int() -> DataType:
        return DataType("int")

    @staticmethod
    def to_float() -> DataType:
        return DataType("float")

    @staticmethod
    def to_string() -> DataType:
        return DataType("string")

    @staticmethod
    def to_bool(
        true_values: Sequence[str] | None = None,
        false_values: Sequence[str] | None = None,
        mismatch_as: str = "error",
    ) -> DataType:
        options: dict[str, Any] = {}
        if true_values is not None:
            options["true_values"] = [str(v) for v in true_values]
        if false_values is not None:
            options["false_values"] = [str(v) for v in false_values]
        if mismatch_as != "error":
            options["mismatch_as"] = mismatch_as
        return DataType("boolean", options)

    @staticmethod
    def to_datetime(formats: str | Sequence[str] | None = None) -> DataType:
        if formats is None:
            return DataType("datetime")
        listed = [formats] if isinstance(formats, str) else [str(f) for f in formats]
        return DataType("datetime", {"formats": listed})

    def to_yaml(self) -> Any:
        """The ``column_type`` value as written in an MLTable file."""
        if not self.options:
            return self.name
        return {self.name: dict(self.options)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataType) and (self.name, self.options) == (
            other.name,
            other.options,
        )

    def __hash__(self) -> int:
        return hash((self.name, repr(sorted(self.options.items()))))

    def __repr__(self) -> str:
        return (
            f"DataType({self.name!r}, {self.options!r})"
            if self.options
            else (f"DataType({self.name!r})")
        )


# --------------------------------------------------------------------------------------------
# parsed transformations


@dataclass
class _Step:
    """One validated transformation: its name and normalised options."""

    name: str
    options: Any


@dataclass
class _Conversion:
    columns: list[str]
    type: str
    options: dict[str, Any] = field(default_factory=dict)


class _Checker:
    """Validates the raw YAML of an MLTable and reports problems naming the file."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str) -> MLTableError:
        return MLTableError(f"{self.where}: {message}")

    # ---- small value checks

    def boolean(self, step: str, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{step} option '{key}' must be true or false, got {value!r}.")
        return value

    def choice(self, step: str, key: str, value: Any, choices: Sequence[str]) -> str:
        text = _plain(value)
        if text not in choices:
            raise self.fail(
                f"{step} option '{key}' is {text!r}; {_did_you_mean(text, choices)}"
                f"use one of {', '.join(choices)}."
            )
        return str(text)

    def count(self, step: str, value: Any) -> int:
        if isinstance(value, dict) and set(value) == {"count"}:
            value = value["count"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{step} needs a whole number of rows (0 or more), got {value!r}.")
        return value

    def options(self, step: str, raw: Any, allowed: Iterable[str]) -> dict[str, Any]:
        allowed = list(allowed)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(
                f"the options of {step} must be a mapping such as "
                f"{{{allowed[0]}: ...}}, got {raw!r}."
            )
        for key in raw:
            if key not in allowed:
                raise self.fail(
                    f"{step} has no option '{key}'; {_did_you_mean(key, allowed)}"
                    f"valid options are {', '.join(allowed)}."
                )
        return dict(raw)

    def column_list(self, step: str, raw: Any) -> list[str]:
        if isinstance(raw, str):
            return [raw]
        if (
            isinstance(raw, (list, tuple))
            and raw
            and all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in raw)
        ):
            return [str(c) for c in raw]
        raise self.fail(f"{step} needs a column name or a list of column names, got {raw!r}.")

    # ---- steps

    def step(self, index: int, item: Any) -> _Step:
        if isinstance(item, str):
            name, raw = item, None
        elif isinstance(item, dict) and len(item) == 1:
            ((name, raw),) = item.items()
        else:
            raise self.fail(
                f"transformation #{index + 1} must be a mapping with one key, the "
                f"transformation's name (for example '- take: 10'), got {item!r}."
            )
        name = str(name)
        if name in READ_STEP_OPTIONS:
            return _Step(name, self.read_step(name, raw))
        if name in ("drop_columns", "keep_columns"):
            if isinstance(raw, dict) and set(raw) == {"columns"}:
                raw = raw["columns"]
            return _Step(name, self.column_list(name, raw))
        if name in ("take", "skip"):
            return _Step(name, self.count(name, raw))
        if name == "take_random_sample":
            return _Step(name, self.random_sample(raw))
        if name == "convert_column_types":
            return _Step(name, self.conversions(raw))
        if name in AZURE_ONLY_TRANSFORMATIONS:
            raise self.fail(
                f"transformation '{name}' is not supported by cirrusml; remove it (supported: "
                f"{', '.join(SUPPORTED_TRANSFORMATIONS)})."
            )
        raise self.fail(
            f"unknown transformation '{name}'; {_did_you_mean(name, SUPPORTED_TRANSFORMATIONS)}"
            f"supported transformations are {', '.join(SUPPORTED_TRANSFORMATIONS)}."
        )

    def read_step(self, name: str, raw: Any) -> dict[str, Any]:
        defaults = READ_STEP_OPTIONS[name]
        given = self.options(name, raw, defaults)
        opts = {**defaults, **_plain(given)}
        for key in (
            "include_path_column",
            "empty_as_string",
            "infer_column_types",
            "support_multi_line",
        ):
            if key in opts:
                self.boolean(name, key, opts[key])
        if "encoding" in opts:
            self.choice(name, "encoding", opts["encoding"], tuple(ENCODINGS))
        if "header" in opts:
            self.choice(name, "header", opts["header"], HEADER_MODES)
        if "invalid_lines" in opts:
            self.choice(name, "invalid_lines", opts["invalid_lines"], INVALID_LINES)
        if "delimiter" in opts and (
            not isinstance(opts["delimiter"], str) or not opts["delimiter"]
        ):
            raise self.fail(
                f"{name} option 'delimiter' must be a non-empty string such as ',', got "
                f"{opts['delimiter']!r}."
            )
        if not isinstance(opts["path_column"], str) or not opts["path_column"]:
            raise self.fail(
                f"{name} option 'path_column' must be a column name, got {opts['path_column']!r}."
            )
        return opts

    def random_sample(self, raw: Any) -> dict[str, Any]:
        step = "take_random_sample"
        opts = self.options(step, raw, ("probability", "seed"))
        if "probability" not in opts:
            raise self.fail(f"{step} needs a probability between 0 and 1, e.g. probability: 0.1.")
        probability = opts["probability"]
        if (
            isinstance(probability, bool)
            or not isinstance(probability, (int, float))
            or not 0 <= probability <= 1
        ):
            raise self.fail(f"{step} probability must be between 0 and 1, got {probability!r}.")
        seed = opts.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise self.fail(f"{step} seed must be a whole number (0 or more), got {seed!r}.")
        return {"probability": float(probability), "seed": seed}

    def conversions(self, raw: Any) -> list[_Conversion]:
        step = "convert_column_types"
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            raise self.fail(
                f"{step} needs a list of {{columns: ..., column_type: ...}} entries, got {raw!r}."
            )
        out = []
        for entry in raw:
            opts = self.options(f"{step} entry", entry, ("columns", "column_type"))
            if "columns" not in opts or "column_type" not in opts:
                raise self.fail(
                    f"every {step} entry needs both 'columns' and 'column_type', got {entry!r}."
                )
            columns = self.column_list(step, opts["columns"])
            name, options = self.column_type(opts["column_type"])
            out.append(_Conversion(columns, name, options))
        return out

    def column_type(self, raw: Any) -> tuple[str, dict[str, Any]]:
        step = "convert_column_types"
        if isinstance(raw, DataType):
            raw = raw.to_yaml()
        if isinstance(raw, str):
            if raw not in COLUMN_TYPES:
                raise self.fail(
                    f"{step} column_type '{raw}' is unknown; {_did_you_mean(raw, COLUMN_TYPES)}"
                    f"use one of {', '.join(COLUMN_TYPES)}."
                )
            return raw, {}
        if isinstance(raw, dict) and len(raw) == 1:
            ((name, options),) = raw.items()
            if name == "boolean":
                opts = self.options(
                    f"{step} boolean", options, ("true_values", "false_values", "mismatch_as")
                )
                for key in ("true_values", "false_values"):
                    if key in opts:
                        values = opts[key]
                        if not isinstance(values, list):
                            values = [values]
                        opts[key] = [str(v) for v in values]
                if "mismatch_as" in opts:
                    opts["mismatch_as"] = self.choice(
                        f"{step} boolean",
                        "mismatch_as",
                        str(opts["mismatch_as"]).lower(),
                        MISMATCH_AS,
                    )
                return "boolean", opts
            if name == "datetime":
                opts = self.options(f"{step} datetime", options, ("formats",))
                if "formats" in opts:
                    formats = opts["formats"]
                    if isinstance(formats, str):
                        formats = [formats]
                    if not isinstance(formats, list) or not all(
                        isinstance(f, str) for f in formats
                    ):
                        raise self.fail(
                            f"{step} datetime formats must be a list of strftime patterns such "
                            f"as ['%d/%m/%Y'], got {formats!r}."
                        )
                    opts["formats"] = list(formats)
                return "datetime", opts
            if name in COLUMN_TYPES and not options:
                return str(name), {}
            raise self.fail(
                f"{step} column_type {raw!r} is not understood; write one of "
                f"{', '.join(COLUMN_TYPES)}, or {{boolean: {{true_values: [...], false_values: "
                "[...]}}} or {datetime: {formats: [...]}}."
            )
        raise self.fail(
            f"{step} column_type must be one of {', '.join(COLUMN_TYPES)}, got {raw!r}."
        )

    def steps(self, raw: Any) -> list[_Step]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(
                "'transformations' must be a list such as [- read_delimited: {delimiter: ','}], "
                f"got {raw!r}."
            )
        steps = [self.step(i, item) for i, item in enumerate(raw)]
        reads = [i for i, s in enumerate(steps) if s.name in READ_STEP_OPTIONS]
        if len(reads) > 1:
            names = ", ".join(steps[i].name for i in reads)
            raise self.fail(f"has several read transformations ({names}); keep exactly one.")
        if reads and reads[0] != 0:
            raise self.fail(
                f"'{steps[reads[0]].name}' must be the first transformation; move it to the top."
            )
        return steps

    def paths(self, raw: Any) -> list[tuple[str, str]]:
        if raw is None:
            raise self.fail("has no 'paths'; add e.g. paths: [{file: ./data.csv}].")
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            raise self.fail(
                f"'paths' must be a non-empty list such as [{{file: ./data.csv}}], got {raw!r}."
            )
        out = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise self.fail(
                    f"path #{index + 1} must be a mapping with one of file, folder or pattern "
                    f"(e.g. {{file: ./data.csv}}), got {entry!r}."
                )
            kinds = [k for k in entry if k in PATH_KINDS]
            others = [k for k in entry if k not in PATH_KINDS]
            if len(kinds) != 1:
                hint = ""
                if others:
                    hint = _did_you_mean(others[0], PATH_KINDS)
                found = ", ".join(map(str, entry)) or "nothing"
                raise self.fail(
                    f"path #{index + 1} must have exactly one of file, folder or pattern but "
                    f"has {found}; {hint}write it like {{file: ./data.csv}}."
                )
            if others:
                raise self.fail(
                    f"path #{index + 1} has unknown key '{others[0]}' beside '{kinds[0]}'; "
                    "a path entry holds only one of file, folder or pattern."
                )
            value = entry[kinds[0]]
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if not isinstance(value, str) or not value:
                raise self.fail(
                    f"path #{index + 1} ({kinds[0]}) must be a non-empty string, got {value!r}."
                )
            out.append((kinds[0], value))
        return out


# --------------------------------------------------------------------------------------------
# the table being read


@dataclass
class _Frame:
    """Rows being transformed, with the file and line each row came from (for messages)."""

    df: pd.DataFrame
    source: np.ndarray  # index into ``files`` for each row
    row: np.ndarray  # 1-based data row within its file
    files: list[str]

    def rows(self, selector: slice | np.ndarray) -> _Frame:
        return _Frame(
            self.df.iloc[selector].reset_index(drop=True),
            self.source[selector],
            self.row[selector],
            self.files,
        )

    def origin(self, position: int) -> str:
        return f"data row {int(self.row[position])} of '{self.files[int(self.source[position])]}'"


# --------------------------------------------------------------------------------------------
# MLTable


class MLTable:
    """A table: files (``paths``) plus the steps that read and transform them.

    Build one with :func:`load_mltable` (from an ``MLTable`` file) or the ``from_*_files``
    functions; the column methods (:meth:`drop_columns`, :meth:`take`, ...) return a new table
    with one more step. Nothing is read until :meth:`to_pandas_dataframe`.

    Attributes: ``paths`` (list of ``{file|folder|pattern: str}``), ``transformations`` (list of
    ``{name: options}``), ``traits``, ``metadata``, ``base_dir`` (relative paths resolve
    against it) and ``source`` (the ``MLTable`` file it was loaded from, or ``None``).
    """

    def __init__(
        self,
        paths: Sequence[dict[str, Any]],
        transformations: Sequence[Any] | None = None,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        traits: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        schema: str | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> None:
        self.source = Path(os.path.abspath(source)) if source is not None else None
        self.base_dir = Path(os.path.abspath(base_dir if base_dir is not None else os.getcwd()))
        self._where = f"MLTable file '{self.source}'" if self.source else "MLTable"
        check = _Checker(self._where)
        self._path_entries = check.paths(_plain(list(paths) if paths is not None else None))
        raw_steps = _plain(list(transformations)) if transformations is not None else []
        self._steps = check.steps(raw_steps)
        self._raw_steps: list[Any] = raw_steps
        for key, value in (("traits", traits), ("metadata", metadata)):
            if value is not None and not isinstance(value, dict):
                raise check.fail(f"'{key}' must be a mapping, got {value!r}.")
        self.traits = copy.deepcopy(traits)
        self.metadata = copy.deepcopy(metadata)
        self.schema = schema
        for index, (kind, value) in enumerate(self._path_entries):
            self._files_of(index, kind, value)  # every path must exist now

    # ---- construction helpers

    @classmethod
    def _from_document(cls, doc: Any, mltable_file: Path) -> MLTable:
        where = f"MLTable file '{mltable_file}'"
        if not isinstance(doc, dict):
            raise MLTableError(
                f"{where} must hold a YAML mapping with 'paths' (and usually "
                f"'transformations'), got {type(doc).__name__}; see the Azure MLTable format."
            )
        for key in doc:
            if key not in TOP_LEVEL_KEYS:
                raise MLTableError(
                    f"{where} has unknown top-level key '{key}'; "
                    f"{_did_you_mean(key, TOP_LEVEL_KEYS)}"
                    f"valid keys are {', '.join(TOP_LEVEL_KEYS)}."
                )
        if "type" in doc and doc["type"] != "mltable":
            raise MLTableError(
                f"{where} has type {doc['type']!r}; an MLTable file has 'type: mltable' (or no "
                "type key)."
            )
        return cls(
            doc.get("paths"),
            doc.get("transformations"),
            base_dir=mltable_file.parent,
            traits=doc.get("traits"),
            metadata=doc.get("metadata"),
            schema=doc.get("$schema"),
            source=mltable_file,
        )

    def _with_step(self, step: dict[str, Any]) -> MLTable:
        return MLTable(
            self.paths,
            [*self._raw_steps, step],
            base_dir=self.base_dir,
            traits=self.traits,
            metadata=self.metadata,
            schema=self.schema,
            source=self.source,
        )

    # ---- public attributes

    @property
    def paths(self) -> list[dict[str, str]]:
        return [{kind: value} for kind, value in self._path_entries]

    @property
    def transformations(self) -> list[Any]:
        return copy.deepcopy(self._raw_steps)

    # ---- steps as methods (Azure's mltable API)

    def drop_columns(self, columns: str | Sequence[str]) -> MLTable:
        """A new table without ``columns``."""
        return self._with_step({"drop_columns": _column_arg(columns)})

    def keep_columns(self, columns: str | Sequence[str]) -> MLTable:
        """A new table with only ``columns`` (in the table's order)."""
        return self._with_step({"keep_columns": _column_arg(columns)})

    def take(self, count: int = 20) -> MLTable:
        """A new table with the first ``count`` rows."""
        return self._with_step({"take": count})

    def skip(self, count: int) -> MLTable:
        """A new table without the first ``count`` rows."""
        return self._with_step({"skip": count})

    def take_random_sample(self, probability: float, seed: int | None = None) -> MLTable:
        """A new table keeping each row with chance ``probability``."""
        options: dict[str, Any] = {"probability": probability}
        if seed is not None:
            options["seed"] = seed
        return self._with_step({"take_random_sample": options})

    def convert_column_types(self, column_types: dict[Any, Any]) -> MLTable:
        """A new table with columns converted.

        ``column_types`` maps a column name, or a tuple of names, to a :class:`DataType` or a
        type name (``int``, ``float``, ``string``, ``boolean``, ``datetime``).
        """
        if not isinstance(column_types, dict) or not column_types:
            raise MLTableError(
                f"{self._where}: convert_column_types needs a mapping of column (or tuple of "
                f"columns) to type, got {column_types!r}."
            )
        entries = []
        for columns, kind in column_types.items():
            names = list(columns) if isinstance(columns, tuple) else columns
            target = kind.to_yaml() if isinstance(kind, DataType) else _plain(kind)
            entries.append({"columns": names, "column_type": target})
        return self._with_step({"convert_column_types": entries})

    # ---- files

    def _resolve(self, value: str) -> str:
        """Absolute, normalised local path text for a path entry value."""
        try:
            local = local_path(value)
        except DataError as err:
            raise MLTableError(f"{self._where}: {err}") from None
        text = os.fspath(local)
        if not os.path.isabs(text):
            text = os.path.join(self.base_dir, text)
        return os.path.normpath(text)

    def _files_of(self, index: int, kind: str, value: str) -> list[Path]:
        resolved = self._resolve(value)
        label = f"path #{index + 1} ({kind}: {value})"
        if kind == "file":
            if not os.path.isfile(resolved):
                what = "is a folder, not a file" if os.path.isdir(resolved) else "does not exist"
                raise MLTableError(
                    f"{self._where}: {label} {what} (looked for '{resolved}'); fix the path, "
                    "which is relative to the MLTable file's folder."
                )
            return [Path(resolved)]
        if kind == "folder":
            if not os.path.isdir(resolved):
                what = "is a file, not a folder" if os.path.isfile(resolved) else "does not exist"
                raise MLTableError(
                    f"{self._where}: {label} {what} (looked for '{resolved}'); fix the path, "
                    "which is relative to the MLTable file's folder."
                )
            files = list_data_files(Path(resolved))
            if not files:
                raise MLTableError(
                    f"{self._where}: {label} holds no data file ('{resolved}' is empty); add "
                    "files to it or remove the path."
                )
            return files
        # a glob pattern; the folder part of a relative pattern is escaped before joining
        pattern = value[len("file://") :] if value.startswith("file://") else value
        if not os.path.isabs(os.path.expanduser(pattern)):
            pattern = os.path.join(glob.escape(os.fspath(self.base_dir)), pattern)
        matches = sorted(
            p
            for p in glob.glob(os.path.expanduser(pattern), recursive=True)
            if os.path.isfile(p) and os.path.basename(p) != "MLTable"
        )
        if not matches:
            raise MLTableError(
                f"{self._where}: {label} matches no file (searched '{pattern}'); fix the "
                "pattern, which is relative to the MLTable file's folder."
            )
        return [Path(os.path.normpath(p)) for p in matches]

    def _files(self) -> list[Path]:
        out: list[Path] = []
        for index, (kind, value) in enumerate(self._path_entries):
            out.extend(self._files_of(index, kind, value))
        return out

    def _read_step(self, files: list[Path]) -> _Step:
        if self._steps and self._steps[0].name in READ_STEP_OPTIONS:
            return self._steps[0]
        fmt = file_format(files[0])
        name = _READ_STEP_FOR_FORMAT.get(fmt or "")
        if name is None:
            raise MLTableError(
                f"{self._where}: it has no read transformation and '{files[0]}' is not a "
                "csv, tsv, parquet or json file; add read_delimited, read_parquet or "
                "read_json_lines as the first transformation."
            )
        options = dict(READ_STEP_OPTIONS[name])
        if fmt == "tsv":
            options["delimiter"] = "\t"
        return _Step(name, options)

    def _later_steps(self) -> list[_Step]:
        if self._steps and self._steps[0].name in READ_STEP_OPTIONS:
            return self._steps[1:]
        return self._steps

    # ---- reading

    def _delimited_options(self, opts: dict[str, Any]) -> DelimitedOptions:
        return DelimitedOptions(
            delimiter=opts["delimiter"],
            encoding=opts["encoding"],
            empty_as_string=opts["empty_as_string"],
            infer_column_types=opts["infer_column_types"],
            encoding_hint=MLTABLE_HINT,
        )

    def _read_delimited(self, files: list[Path], opts: dict[str, Any]) -> list[pd.DataFrame]:
        parse = self._delimited_options(opts)
        mode = opts["header"]
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
                raise DataError(
                    f"'{other}' has header {header} but '{files[0]}' has {expected}; with "
                    "header: all_files_same_headers every file needs the same header line, so "
                    "fix the files or use header: all_files_different_headers."
                )
            frames.append(read_delimited_file(other, parse))
        return frames

    def _read_files(self) -> _Frame:
        files = self._files()
        step = self._read_step(files)
        opts = step.options
        if step.name == "read_delimited":
            frames = self._read_delimited(files, opts)
        elif step.name == "read_parquet":
            frames = [read_parquet_file(f) for f in files]
        else:
            frames = [
                read_json_lines_file(
                    f,
                    encoding=opts["encoding"],
                    invalid_lines=opts["invalid_lines"],
                    hint=MLTABLE_HINT,
                )
                for f in files
            ]
        if opts["include_path_column"]:
            column = opts["path_column"]
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
        return _Frame(df, source, row, [os.fspath(f) for f in files])

    def to_pandas_dataframe(self) -> pd.DataFrame:
        """Read every file, concatenate them in path order and apply the transformations."""
        frame = self._read_files()
        for step in self._later_steps():
            frame = self._apply(step, frame)
        return frame.df

    def show(self, count: int = 20) -> pd.DataFrame:
        """The first ``count`` rows as a DataFrame."""
        return self.take(count).to_pandas_dataframe()

    def _require(self, step: str, wanted: Sequence[str], available: Sequence[Any]) -> None:
        have = {str(c) for c in available}
        for name in wanted:
            if name not in have:
                hint = _did_you_mean(name, [str(c) for c in available])
                raise MLTableError(
                    f"{self._where}: {step} names column '{name}', which the table does not "
                    f"have; {hint}available columns: {_listing(list(available))}."
                )

    def _apply(self, step: _Step, frame: _Frame) -> _Frame:
        name, opts = step.name, step.options
        columns = list(frame.df.columns)
        if name == "drop_columns":
            self._require(name, opts, columns)
            frame.df = frame.df.drop(columns=opts)
            return frame
        if name == "keep_columns":
            self._require(name, opts, columns)
            wanted = set(opts)
            frame.df = frame.df[[c for c in columns if str(c) in wanted]].copy()
            return frame
        if name == "take":
            return frame.rows(slice(0, opts))
        if name == "skip":
            return frame.rows(slice(opts, None))
        if name == "take_random_sample":
            rng = np.random.default_rng(opts["seed"])
            return frame.rows(rng.random(len(frame.df)) < opts["probability"])
        if name == "convert_column_types":
            for conversion in opts:
                self._require(name, conversion.columns, columns)
                for column in conversion.columns:
                    frame.df[column] = _convert(frame, column, conversion)
            return frame
        raise AssertionError(f"unhandled step {name}")  # pragma: no cover - parser guards it

    # ---- cheap column check

    def column_names(self) -> list[str]:
        """The columns :meth:`to_pandas_dataframe` will return, reading headers/schemas only."""
        files = self._files()
        step = self._read_step(files)
        opts = step.options
        if step.name == "read_delimited":
            parse = self._delimited_options(opts)
            mode = opts["header"]
            if mode == "no_header":
                count = delimited_field_count(files[0], parse)
                names = [f"Column{i}" for i in range(1, count + 1)]
            elif mode == "all_files_different_headers":
                names = ordered_union(delimited_header(f, parse) for f in files)
            else:
                names = delimited_header(files[0], parse)
                if mode == "all_files_same_headers":
                    for other in files[1:]:
                        header = delimited_header(other, parse)
                        if header != names:
                            raise DataError(
                                f"'{other}' has header {header} but '{files[0]}' has {names}; "
                                "with header: all_files_same_headers every file needs the same "
                                "header line, so fix the files or use header: "
                                "all_files_different_headers."
                            )
        elif step.name == "read_parquet":
            names = ordered_union(parquet_columns(f) for f in files)
        else:
            names = ordered_union(
                json_lines_columns(
                    f,
                    encoding=opts["encoding"],
                    invalid_lines=opts["invalid_lines"],
                    hint=MLTABLE_HINT,
                )
                for f in files
            )
        if opts["include_path_column"]:
            names = [opts["path_column"], *names]
        for later in self._later_steps():
            if later.name == "drop_columns":
                self._require(later.name, later.options, names)
                dropped = set(later.options)
                names = [n for n in names if n not in dropped]
            elif later.name == "keep_columns":
                self._require(later.name, later.options, names)
                kept = set(later.options)
                names = [n for n in names if n in kept]
            elif later.name == "convert_column_types":
                for conversion in later.options:
                    self._require(later.name, conversion.columns, names)
        return names

    # ---- saving and comparing

    def _document(self, relative_to: Path | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.schema is not None:
            doc["$schema"] = self.schema
        doc["type"] = "mltable"
        paths = []
        for kind, value in self._path_entries:
            if relative_to is None:
                paths.append({kind: value})
            else:
                paths.append({kind: _relative_text(self._resolve(value), relative_to)})
        doc["paths"] = paths
        if self._raw_steps:
            doc["transformations"] = copy.deepcopy(self._raw_steps)
        if self.traits is not None:
            doc["traits"] = copy.deepcopy(self.traits)
        if self.metadata is not None:
            doc["metadata"] = copy.deepcopy(self.metadata)
        return doc

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> MLTable:
        """Write ``path/MLTable``; paths inside ``path`` are written relative to it.

        Returns the table as loaded back from the saved file.
        """
        folder = Path(os.path.abspath(local_path(path)))
        if folder.name == "MLTable" and not folder.is_dir():
            folder = folder.parent
        if folder.is_file():
            raise MLTableError(
                f"Cannot save the MLTable to '{folder}': it is a file; give the folder that "
                "should hold the MLTable file."
            )
        target = folder / "MLTable"
        if target.exists() and not overwrite:
            raise MLTableError(
                f"'{target}' already exists; pass overwrite=True to replace it or save to "
                "another folder."
            )
        folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(
            self._document(relative_to=folder), sort_keys=False, default_flow_style=False
        )
        target.write_text(text, encoding="utf-8")
        return load_mltable(target)

    def _identity(self) -> tuple[Any, ...]:
        paths = [(kind, self._resolve(value)) for kind, value in self._path_entries]
        return (paths, self._raw_steps, self.traits, self.metadata)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MLTable):
            return NotImplemented
        return self._identity() == other._identity()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return yaml.safe_dump(self._document(), sort_keys=False, default_flow_style=False)

    __str__ = __repr__


# --------------------------------------------------------------------------------------------
# module helpers


def _column_arg(columns: str | Sequence[str]) -> str | list[str]:
    return columns if isinstance(columns, str) else [str(c) for c in columns]


def _relative_text(resolved: str, folder: Path) -> str:
    """``./x`` when ``resolved`` is inside ``folder`` (or ``./`` for the folder), else as is."""
    base = os.fspath(folder)
    if resolved == base:
        return "./"
    if resolved.startswith(base.rstrip(os.sep) + os.sep):
        return "./" + Path(os.path.relpath(resolved, base)).as_posix()
    return resolved


# --------------------------------------------------------------------------------------------
# column conversions (vectorised)


def _conversion_error(frame: _Frame, column: str, bad: np.ndarray, target: str) -> DataError:
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


def _to_number(frame: _Frame, column: str, target: str) -> pd.Series:
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


def _to_bool(frame: _Frame, column: str, options: dict[str, Any]) -> pd.Series:
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


def _to_datetime(frame: _Frame, column: str, options: dict[str, Any]) -> pd.Series:
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


def _convert(frame: _Frame, column: str, conversion: _Conversion) -> pd.Series:
    if conversion.type in ("int", "float"):
        return _to_number(frame, column, conversion.type)
    if conversion.type == "string":
        return _to_string(frame.df[column])
    if conversion.type == "boolean":
        return _to_bool(frame, column, conversion.options)
    return _to_datetime(frame, column, conversion.options)


# --------------------------------------------------------------------------------------------
# public constructors


def load_mltable(path: str | os.PathLike[str]) -> MLTable:
    """Load an MLTable from a folder holding a file named ``MLTable``, or from the file itself."""
    try:
        given = local_path(path)
    except DataError as err:
        raise MLTableError(str(err)) from None
    given = Path(os.path.abspath(given))
    if given.is_dir():
        mltable_file = given / "MLTable"
        if not mltable_file.is_file():
            near = [p.name for p in given.iterdir() if p.name.lower().startswith("mltable")]
            hint = f" (found '{near[0]}'; the name is case-sensitive)" if near else ""
            raise MLTableError(
                f"Folder '{given}' holds no file named MLTable{hint}; add an MLTable file "
                "describing the data, or point to a folder that has one."
            )
    elif given.is_file():
        mltable_file = given
    else:
        raise MLTableError(
            f"MLTable path '{given}' does not exist; give a folder holding an MLTable file, or "
            "the MLTable file itself."
        )
    try:
        text = mltable_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise MLTableError(
            f"MLTable file '{mltable_file}' could not be read ({err}); check that it is a UTF-8 "
            "YAML file."
        ) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise MLTableError(
            f"MLTable file '{mltable_file}' is not valid YAML{where} ({problem}); fix the "
            "syntax (indentation, colons, quotes)."
        ) from None
    return MLTable._from_document(doc, mltable_file)


def _path_list(paths: Any) -> list[dict[str, Any]]:
    """``paths`` as the list of ``{file|folder|pattern: ...}`` dicts Azure's package takes.

    A single dict, or plain path strings (a file, a folder, or a glob), are accepted too.
    """
    if isinstance(paths, dict):
        return [paths]
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[dict[str, Any]] = []
    for entry in paths:
        if isinstance(entry, (str, os.PathLike)):
            text = os.fspath(entry)
            if glob.has_magic(text):
                out.append({"pattern": text})
            elif os.path.isdir(text):
                out.append({"folder": text})
            else:
                out.append({"file": text})
        else:
            out.append(entry)
    return out


def from_delimited_files(
    paths: Any,
    header: str | MLTableHeaders = "all_files_same_headers",
    delimiter: str = ",",
    support_multi_line: bool = False,
    empty_as_string: bool = False,
    encoding: str | MLTableFileEncoding = "utf8",
    include_path_column: bool = False,
    infer_column_types: bool = True,
) -> MLTable:
    """An MLTable reading delimited text files.

    ``paths`` is a list of ``{'file': ...}``, ``{'folder': ...}`` or ``{'pattern': ...}``;
    relative paths resolve against the current working directory.
    """
    options = {
        "delimiter": delimiter,
        "encoding": _plain(encoding),
        "header": _plain(header),
        "empty_as_string": empty_as_string,
        "include_path_column": include_path_column,
        "infer_column_types": infer_column_types,
        "support_multi_line": support_multi_line,
    }
    return MLTable(_path_list(paths), [{"read_delimited": options}])


def from_parquet_files(
    paths: Any, include_path_column: bool = False, path_column: str = "Path"
) -> MLTable:
    """An MLTable reading Parquet files (see :func:`from_delimited_files` for ``paths``)."""
    options = {"include_path_column": include_path_column, "path_column": path_column}
    return MLTable(_path_list(paths), [{"read_parquet": options}])


def from_json_lines_files(
    paths: Any,
    invalid_lines: str = "error",
    encoding: str | MLTableFileEncoding = "utf8",
    include_path_column: bool = False,
    path_column: str = "Path",
) -> MLTable:
    """An MLTable reading JSON-lines files (one object per line)."""
    options = {
        "encoding": _plain(encoding),
        "include_path_column": include_path_column,
        "invalid_lines": invalid_lines,
        "path_column": path_column,
    }
    return MLTable(_path_list(paths), [{"read_json_lines": options}])
