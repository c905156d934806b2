"""Reading one data file into pandas, or just its column names.

The layer under both the MLTable model (:mod:`cirrusml.data._mltable`) and the job-input readers
(:mod:`cirrusml.data._readers`); it knows files, formats and encodings, and nothing of MLTable
files or asset types. Import direction: ``_readers`` -> ``_mltable`` -> ``_files``, never back.

Everything is read with pandas or pyarrow in whole columns. Every failure is a
:class:`DataError` whose message names the file and says what to do about it.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cirrusml.exceptions import DataError

__all__ = [
    "ENCODINGS",
    "MISSING_TOKENS",
    "MLTABLE_HINT",
    "PLAIN_FILE_HINT",
    "SUPPORTED_EXTENSIONS",
    "DelimitedOptions",
    "delimited_field_count",
    "delimited_header",
    "file_format",
    "guess_encoding",
    "json_lines_columns",
    "list_data_files",
    "local_path",
    "ordered_union",
    "parquet_columns",
    "plain_file_columns",
    "read_delimited_file",
    "read_json_lines_file",
    "read_parquet_file",
    "read_plain_file",
]

# The encodings an MLTable ``read_delimited``/``read_json_lines`` step may declare, and the Python
# codec used for each. ``utf8`` uses the BOM-skipping codec: a leading BOM is never data.
ENCODINGS: dict[str, str] = {
    "utf8": "utf-8-sig",
    "iso88591": "latin-1",
    "latin1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf32": "utf-32",
    "utf8bom": "utf-8-sig",
    "windows1252": "cp1252",
}

# Field values read as missing (pandas' usual set). ``""`` is dropped from it when a table asks
# for ``empty_as_string``.
MISSING_TOKENS: tuple[str, ...] = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


# Extension (after removing a trailing ``.gz``) -> format name.
_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".txt",
    ".parquet",
    ".pq",
    ".json",
    ".jsonl",
    ".csv.gz",
    ".tsv.gz",
    ".txt.gz",
    ".json.gz",
    ".jsonl.gz",
)
_INDEX_COLUMN = re.compile(r"^__index_level_\d+__$")


# --------------------------------------------------------------------------------------------
# paths


def local_path(path: str | os.PathLike[str]) -> Path:
    """A local ``Path`` for ``path``: ``file://`` prefixes removed, ``~`` expanded.

    Remote URIs (``azureml://``, ``https://``, ...) raise :class:`DataError`: cirrusml reads local
    files only.
    """
    text = os.fspath(path)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", text) or text.startswith("azureml:"):
        raise DataError(
            f"'{text}' is a remote location and cirrusml reads local files only; download the "
            "data and give its local path instead."
        )
    return Path(text).expanduser()


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def list_data_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (recursively), sorted by relative path.

    Hidden files and folders and those starting with ``_`` (``_SUCCESS``, ``_temporary``), and
    files named ``MLTable``, are left out.
    """
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        for name in files:
            if _hidden(name) or name == "MLTable":
                continue
            found.append(Path(root) / name)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def file_format(path: Path) -> str | None:
    """``csv``, ``tsv``, ``parquet`` or ``json`` from the file name; ``None`` when unknown."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[: -len(".gz")]
    fmt = _EXTENSIONS.get(os.path.splitext(name)[1])
    if compressed and fmt == "parquet":
        return None
    return fmt


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_bytes(path: Path) -> bytes:
    with _open_binary(path) as handle:
        return handle.read()


# --------------------------------------------------------------------------------------------
# encodings


def _codec(encoding: str) -> str:
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise DataError(
            f"'{encoding}' is not a supported encoding; use one of {', '.join(ENCODINGS)}."
        ) from None


def guess_encoding(data: bytes) -> str:
    """The MLTable encoding name that most likely decodes ``data``."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf16"
    try:
        data.decode("utf-8")
        return "utf8"
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\x80-\x9f]", data):
        try:
            data.decode("cp1252")
            return "windows1252"
        except UnicodeDecodeError:
            pass
    return "latin1"


def _decode_error(path: Path, encoding: str, hint: str) -> DataError:
    """The error for a file that does not decode as ``encoding``.

    ``hint`` ends the sentence and may use ``{guess}`` for the suggested encoding.
    """
    try:
        data = _read_bytes(path)
    except OSError:
        data = b""
    where = ""
    try:
        data.decode(ENCODINGS.get(encoding, encoding))
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        where = f" at byte {err.start} (line {line}, byte 0x{data[err.start]:02x})"
    guess = guess_encoding(data)
    if guess == encoding:
        guess = "latin1" if encoding != "latin1" else "utf8"
    return DataError(
        f"'{path}' does not decode as {encoding}{where}; it looks like {guess}, so "
        + hint.format(guess=guess)
        + "."
    )


PLAIN_FILE_HINT = (
    "re-save it as UTF-8, or describe it with an MLTable whose read_delimited step sets "
    "encoding: {guess}"
)
MLTABLE_HINT = "set encoding: {guess} in the MLTable's read transformation"


def _no_rows(path: Path, detail: str) -> DataError:
    return DataError(
        f"'{path}' has no rows ({detail}); add data to it or remove it from the input."
    )


# --------------------------------------------------------------------------------------------
# delimited text


@dataclass(frozen=True)
class DelimitedOptions:
    """How to parse one delimited file (the options of a ``read_delimited`` step)."""

    delimiter: str = ","
    encoding: str = "utf8"
    empty_as_string: bool = False
    infer_column_types: bool = True
    encoding_hint: str = PLAIN_FILE_HINT

    def pandas_kwargs(self) -> dict[str, Any]:
        sep = self.delimiter
        if sep == "\\t":  # written as '\t' in single-quoted YAML
            sep = "\t"
        kwargs: dict[str, Any] = {"encoding": _codec(self.encoding), "index_col": False}
        if len(sep) == 1:
            kwargs.update(sep=sep, engine="c", low_memory=False)
        else:
            kwargs.update(sep=re.escape(sep), engine="python")
        return kwargs


def _run_read_csv(path: Path, opts: DelimitedOptions, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` with its failures turned into :class:`DataError` naming ``path``."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, **opts.pandas_kwargs(), **kwargs)
    except UnicodeError:
        raise _decode_error(path, opts.encoding, opts.encoding_hint) from None
    except pd.errors.EmptyDataError:
        raise _no_rows(path, "the file is empty") from None
    except pd.errors.ParserError as err:
        detail = str(err).replace("Error tokenizing data. C error: ", "").strip()
        raise DataError(
            f"'{path}' is not valid delimited text ({detail}); check the delimiter "
            f"({opts.delimiter!r}) and that quoted fields are closed."
        ) from None
    except FileNotFoundError:
        raise DataError(f"'{path}' does not exist; check the path.") from None
    except IsADirectoryError:
        raise DataError(f"'{path}' is a folder, not a delimited file.") from None
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, pd.errors.ParserWarning) and "Length of" in text:
            raise DataError(
                f"'{path}' has more fields in its first data row than in its header; check "
                f"the delimiter ({opts.delimiter!r}) or remove the extra fields."
            )
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return frame


def _first_record(path: Path, opts: DelimitedOptions) -> list[str]:
    """The first record of a delimited file, as text, exactly as written (no renaming)."""
    frame = _run_read_csv(
        path, opts, header=None, nrows=1, dtype=str, keep_default_na=False, na_filter=False
    )
    if frame.empty:
        raise _no_rows(path, "the file is empty")
    return [str(v) for v in frame.iloc[0].tolist()]


def delimited_header(path: Path, opts: DelimitedOptions) -> list[str]:
    """Column names from the header line of ``path``; duplicated names raise :class:`DataError`.

    An empty name becomes ``Unnamed: <position>``, as pandas names it.
    """
    names = [n if n != "" else f"Unnamed: {i}" for i, n in enumerate(_first_record(path, opts))]
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        listed = ", ".join(repr(n) for n in dupes)
        raise DataError(
            f"'{path}' has duplicated column names in its header ({listed}); give every column "
            "a distinct name."
        )
    return names


def delimited_field_count(path: Path, opts: DelimitedOptions) -> int:
    """How many fields the first record of ``path`` has (for files without a header)."""
    return len(_first_record(path, opts))


def read_delimited_file(
    path: Path, opts: DelimitedOptions, *, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read one delimited file.

    With ``names`` the file has no header line and its columns get those names; otherwise its
    first line is the header (checked for duplicated names).
    """
    missing = [t for t in MISSING_TOKENS if not (opts.empty_as_string and t == "")]
    kwargs: dict[str, Any] = {"keep_default_na": False, "na_values": missing}
    if not opts.infer_column_types:
        kwargs["dtype"] = str
    if names is None:
        delimited_header(path, opts)
        kwargs["header"] = 0
    else:
        kwargs.update(header=None, names=list(names))
    frame = _run_read_csv(path, opts, **kwargs)
    if frame.empty:
        raise _no_rows(path, "only a header line" if names is None else "no data lines")
    if opts.empty_as_string and opts.infer_column_types:
        _numbers_from_text(frame)
    return frame


def _numbers_from_text(frame: pd.DataFrame) -> None:
    """Turn text columns whose non-empty values are all numbers into numeric columns.

    Needed when empty fields are kept as ``""``: pandas then sees a numeric column with gaps as
    text. Empty values become missing, as Azure does for numeric columns.
    """
    for name in frame.select_dtypes(include="object").columns:
        column = frame[name]
        filled = column.notna() & column.ne("")
        if not filled.any() or filled.all():
            continue  # all empty, or no empty value: pandas already decided
        numbers = pd.to_numeric(column.where(filled), errors="coerce")
        if numbers[filled].notna().all():
            frame[name] = numbers


# --------------------------------------------------------------------------------------------
# parquet


def read_parquet_file(path: Path) -> pd.DataFrame:
    """Read one Parquet file (pandas' unnamed index columns are left out)."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"'{path}' could not be read as Parquet ({err}); check that it is a Parquet file."
        ) from None
    if table.num_rows == 0:
        raise _no_rows(path, "the Parquet file holds no row")
    frame = table.to_pandas(ignore_metadata=True)
    index_columns = [c for c in frame.columns if _INDEX_COLUMN.match(str(c))]
    return frame.drop(columns=index_columns) if index_columns else frame


def parquet_columns(path: Path) -> list[str]:
    """Column names from the Parquet schema, without reading any row."""
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"'{path}' could not be read as Parquet ({err}); check that it is a Parquet file."
        ) from None
    if handle.metadata.num_rows == 0:
        raise _no_rows(path, "the Parquet file holds no row")
    return [n for n in handle.schema_arrow.names if not _INDEX_COLUMN.match(n)]


# --------------------------------------------------------------------------------------------
# JSON lines


def _decode_text(path: Path, encoding: str, hint: str) -> str:
    try:
        return _read_bytes(path).decode(_codec(encoding))
    except UnicodeDecodeError:
        raise _decode_error(path, encoding, hint) from None
    except OSError as err:
        raise DataError(f"'{path}' could not be read ({err.strerror}).") from None


def _invalid_json_line(path: Path, number: int, reason: str, text: str) -> DataError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    extra = ""
    if number == 1 and text.lstrip().startswith("["):
        extra = " (the file looks like one JSON array, not JSON lines: one object per line)"
    return DataError(
        f"Line {number} of '{path}' is not a JSON object ({reason}: {shown!r}){extra}; fix "
        "the line, or set invalid_lines: drop to skip such lines."
    )


def _json_lines_slowly(path: Path, text: str, invalid_lines: str) -> pd.DataFrame:
    """Parse line by line; used only when the fast reader fails, to find or drop bad lines."""
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as err:
            if invalid_lines == "drop":
                continue
            raise _invalid_json_line(path, number, err.msg, stripped) from None
        if not isinstance(value, dict):
            if invalid_lines == "drop":
                continue
            raise _invalid_json_line(path, number, f"a {type(value).__name__}", stripped)
        records.append(value)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def read_json_lines_file(
    path: Path,
    *,
    encoding: str = "utf8",
    invalid_lines: str = "error",
    hint: str = PLAIN_FILE_HINT,
    allow_array: bool = False,
) -> pd.DataFrame:
    """Read a JSON-lines file: one JSON object per line.

    With ``allow_array`` a file holding a single JSON array of objects is read too (the shape
    pandas writes with ``orient='records'``).
    """
    text = _decode_text(path, encoding, hint)
    stripped = text.strip()
    if not stripped:
        raise _no_rows(path, "the file is empty")
    frame: pd.DataFrame | None = None
    if allow_array and stripped.startswith("["):
        try:
            frame = pd.read_json(
                io.StringIO(stripped), orient="records", dtype=False, convert_dates=False
            )
        except ValueError:
            frame = None
    if frame is None:
        try:
            frame = pd.read_json(
                io.StringIO(text),
                lines=True,
                dtype=False,
                convert_dates=False,
                precise_float=True,
            )
        except Exception:  # pandas fails with assorted types on bad lines; locate them
            frame = _json_lines_slowly(path, text, invalid_lines)
    if len(frame) == 0:
        raise _no_rows(path, "no valid JSON line")
    return frame


def json_lines_columns(
    path: Path,
    *,
    encoding: str = "utf8",
    invalid_lines: str = "error",
    hint: str = PLAIN_FILE_HINT,
    allow_array: bool = False,
) -> list[str]:
    """Keys of the first JSON object in ``path``, reading only as far as that line.

    With ``allow_array``, a file holding one JSON array is parsed whole instead.
    """
    codec = _codec(encoding)
    try:
        with _open_binary(path) as raw:
            reader = codecs.getreader(codec)(raw)
            for number, line in enumerate(reader, start=1):
                stripped = line.strip()
                if not stripped:
                    continue
                try:
                    value = json.loads(stripped)
                except json.JSONDecodeError as err:
                    if allow_array and stripped.startswith("[") and number == 1:
                        # a JSON array file (uri_file only): parse it as a whole
                        return list(
                            read_json_lines_file(
                                path, encoding=encoding, hint=hint, allow_array=True
                            ).columns
                        )
                    if invalid_lines == "drop":
                        continue
                    raise _invalid_json_line(path, number, err.msg, stripped) from None
                if isinstance(value, dict):
                    return [str(k) for k in value]
                if invalid_lines != "drop":
                    raise _invalid_json_line(path, number, f"a {type(value).__name__}", stripped)
    except UnicodeDecodeError:
        raise _decode_error(path, encoding, hint) from None
    raise _no_rows(path, "no valid JSON line")


# --------------------------------------------------------------------------------------------
# one file whose format its name tells


def _unsupported(path: Path) -> DataError:
    return DataError(
        f"'{path}' has an unsupported file type; a uri_file input must end in one of "
        f"{', '.join(SUPPORTED_EXTENSIONS)} (or describe the data with an MLTable)."
    )


def _plain_options(fmt: str) -> DelimitedOptions:
    return DelimitedOptions(delimiter="\t" if fmt == "tsv" else ",")


def read_plain_file(path: Path) -> pd.DataFrame:
    """Read one csv, tsv, txt, Parquet or JSON(-lines) file, its format told by its name."""
    fmt = file_format(path)
    if fmt is None:
        raise _unsupported(path)
    if fmt in ("csv", "tsv"):
        return read_delimited_file(path, _plain_options(fmt))
    if fmt == "parquet":
        return read_parquet_file(path)
    return read_json_lines_file(path, allow_array=True)


def plain_file_columns(path: Path) -> list[str]:
    """The columns :func:`read_plain_file` would give, reading only the header or schema.

    A delimited file with a header line but no data row is refused here already.
    """
    fmt = file_format(path)
    if fmt is None:
        raise _unsupported(path)
    if fmt in ("csv", "tsv"):
        opts = _plain_options(fmt)
        names = delimited_header(path, opts)
        # one data row, so that a header-only file is reported now rather than at training
        try:
            first = _run_read_csv(path, opts, header=None, skiprows=1, nrows=1, dtype=str)
        except DataError as err:
            if "has no rows" not in str(err):  # a decoding or parsing error: report it as is
                raise
            first = pd.DataFrame()  # nothing after the header line
        if first.empty:
            raise _no_rows(path, "only a header line")
        return names
    if fmt == "parquet":
        return parquet_columns(path)
    return json_lines_columns(path, allow_array=True)


def ordered_union(lists: Iterable[Sequence[str]]) -> list[str]:
    """Every name in ``lists``, once, in order of first appearance."""
    out: list[str] = []
    seen: set[str] = set()
    for names in lists:
        for name in names:
            if name not in seen:
                seen.add(name)
                out.append(name)
    return out
