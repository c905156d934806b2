"""The vocabulary of MLTable files and the small checks every part of the model shares.

Constants name the values Azure's ``mltable`` package accepts; :class:`Checker` validates one
option at a time and builds every :class:`MLTableError`, prefixed with the file at fault
(``MLTable file '/data/train/MLTable': ...``), so all messages read alike. Nothing here reads a
file or knows a particular transformation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum, StrEnum
from typing import Any

from cirrusml.exceptions import MLTableError
from cirrusml.utils import nearest

__all__ = [
    "COLUMN_TYPES",
    "HEADER_MODES",
    "INVALID_LINES",
    "MISMATCH_AS",
    "PATH_KINDS",
    "TOP_LEVEL_KEYS",
    "Checker",
    "DataType",
    "MLTableFileEncoding",
    "MLTableHeaders",
    "did_you_mean",
    "listing",
    "plain",
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


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices``, or ``""``."""
    close = nearest(str(name), choices, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def listing(names: Sequence[Any], limit: int = 40) -> str:
    """``names`` joined by commas, cut after ``limit`` with a count of the rest."""
    shown = ", ".join(str(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown


def plain(value: Any) -> Any:
    """Enums to their values, recursively, so YAML and comparisons see plain data."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, DataType):
        return value.to_yaml()
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
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
# checks


class Checker:
    """Validates raw YAML values of one MLTable and reports problems naming the file.

    ``where`` starts every message (``MLTable file '...'`` or just ``MLTable`` for a table built
    in Python).
    """

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str) -> MLTableError:
        """The error to raise for ``message`` about this table."""
        return MLTableError(f"{self.where}: {message}")

    def boolean(self, step: str, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{step} option '{key}' must be true or false, got {value!r}.")
        return value

    def choice(self, step: str, key: str, value: Any, choices: Sequence[str]) -> str:
        text = plain(value)
        if text not in choices:
            raise self.fail(
                f"{step} option '{key}' is {text!r}; {did_you_mean(text, choices)}"
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
                    f"{step} has no option '{key}'; {did_you_mean(key, allowed)}"
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

    def require(self, step: str, wanted: Sequence[str], available: Sequence[Any]) -> None:
        """Raise unless every column in ``wanted`` is among ``available``."""
        have = {str(c) for c in available}
        for name in wanted:
            if name not in have:
                hint = did_you_mean(name, [str(c) for c in available])
                raise self.fail(
                    f"{step} names column '{name}', which the table does not "
                    f"have; {hint}available columns: {listing(list(available))}."
                )
