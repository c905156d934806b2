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

The model is split by concern, imports pointing down this list and never back:

* this module: the :class:`MLTable` object, loading, saving and the ``from_*_files`` builders;
* :mod:`~cirrusml.data._mltable_steps`: the registry of transformations by Azure name;
* :mod:`~cirrusml.data._mltable_read`, :mod:`~cirrusml.data._mltable_select`,
  :mod:`~cirrusml.data._mltable_convert`: one class per transformation, each both transforming
  the rows and reporting the columns it yields (:mod:`~cirrusml.data._mltable_base` says how);
* :mod:`~cirrusml.data._mltable_paths`: path entries and the files they name;
* :mod:`~cirrusml.data._mltable_checks`: constants, :class:`DataType` and the shared checks;
* :mod:`~cirrusml.data._files`: reading one data file.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cirrusml.data._files import local_path
from cirrusml.data._mltable_base import Frame
from cirrusml.data._mltable_checks import (
    COLUMN_TYPES,
    TOP_LEVEL_KEYS,
    Checker,
    DataType,
    MLTableFileEncoding,
    MLTableHeaders,
    did_you_mean,
    plain,
)
from cirrusml.data._mltable_paths import TablePaths, parse_paths, path_list, relative_text
from cirrusml.data._mltable_read import ReadStep, read_step_for
from cirrusml.data._mltable_steps import SUPPORTED_TRANSFORMATIONS, parse_steps
from cirrusml.exceptions import DataError, MLTableError

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
        paths: Sequence[dict[str, Any]] | None,
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
        self._check = check = Checker(self._where)
        entries = parse_paths(check, plain(list(paths) if paths is not None else None))
        raw_steps = plain(list(transformations)) if transformations is not None else []
        self._read, self._later = parse_steps(raw_steps, check)
        self._raw_steps: list[Any] = raw_steps
        for key, extra in (("traits", traits), ("metadata", metadata)):
            if extra is not None and not isinstance(extra, dict):
                raise check.fail(f"'{key}' must be a mapping, got {extra!r}.")
        self.traits = copy.deepcopy(traits)
        self.metadata = copy.deepcopy(metadata)
        self.schema = schema
        self._paths = TablePaths(entries, self.base_dir, check)
        for index, (kind, value) in enumerate(entries):
            self._paths.files_of(index, kind, value)  # every path must exist now

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
                    f"{did_you_mean(key, TOP_LEVEL_KEYS)}"
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
        return [{kind: value} for kind, value in self._paths.entries]

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
            target = kind.to_yaml() if isinstance(kind, DataType) else plain(kind)
            entries.append({"columns": names, "column_type": target})
        return self._with_step({"convert_column_types": entries})

    # ---- reading

    def _read_step(self, files: list[Path]) -> ReadStep:
        return self._read if self._read is not None else read_step_for(files, self._check)

    def files(self) -> list[Path]:
        """Every file the table reads, in path order."""
        return self._paths.files()

    def read_step(self) -> ReadStep:
        """The step that reads the files: the table's own, or the default for their format."""
        return self._read_step(self.files())

    def transform(self, frame: Frame) -> Frame:
        """Run the transformations after the read step on rows the read step gave."""
        for step in self._later:
            frame = step.apply(frame, self._check)
        return frame

    def to_pandas_dataframe(self) -> pd.DataFrame:
        """Read every file, concatenate them in path order and apply the transformations."""
        files = self.files()
        return self.transform(self._read_step(files).read(files)).df

    def show(self, count: int = 20) -> pd.DataFrame:
        """The first ``count`` rows as a DataFrame."""
        return self.take(count).to_pandas_dataframe()

    def column_names(self) -> list[str]:
        """The columns :meth:`to_pandas_dataframe` will return, reading headers/schemas only."""
        files = self._paths.files()
        names = self._read_step(files).columns(files)
        for step in self._later:
            names = step.columns(names, self._check)
        return names

    # ---- saving and comparing

    def _document(self, relative_to: Path | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.schema is not None:
            doc["$schema"] = self.schema
        doc["type"] = "mltable"
        paths = []
        for kind, value in self._paths.entries:
            if relative_to is None:
                paths.append({kind: value})
            else:
                paths.append({kind: relative_text(self._paths.resolve(value), relative_to)})
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
        paths = [(kind, self._paths.resolve(value)) for kind, value in self._paths.entries]
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
        "encoding": plain(encoding),
        "header": plain(header),
        "empty_as_string": empty_as_string,
        "include_path_column": include_path_column,
        "infer_column_types": infer_column_types,
        "support_multi_line": support_multi_line,
    }
    return MLTable(path_list(paths), [{"read_delimited": options}])


def from_parquet_files(
    paths: Any, include_path_column: bool = False, path_column: str = "Path"
) -> MLTable:
    """An MLTable reading Parquet files (see :func:`from_delimited_files` for ``paths``)."""
    options = {"include_path_column": include_path_column, "path_column": path_column}
    return MLTable(path_list(paths), [{"read_parquet": options}])


def from_json_lines_files(
    paths: Any,
    invalid_lines: str = "error",
    encoding: str | MLTableFileEncoding = "utf8",
    include_path_column: bool = False,
    path_column: str = "Path",
) -> MLTable:
    """An MLTable reading JSON-lines files (one object per line)."""
    options = {
        "encoding": plain(encoding),
        "include_path_column": include_path_column,
        "invalid_lines": invalid_lines,
        "path_column": path_column,
    }
    return MLTable(path_list(paths), [{"read_json_lines": options}])
