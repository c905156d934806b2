"""Reading a job's inputs into pandas.

:func:`read_input` and :func:`read_columns` take an Azure asset type (``mltable``, ``uri_file``,
``uri_folder``) and a local path, the way a job's ``training_data`` names them. Files are read by
:mod:`cirrusml.data._files`; MLTable files by :mod:`cirrusml.data._mltable`, which builds on the
same file readers (imports point one way: this module -> ``_mltable`` -> ``_files``).

Errors are :class:`DataError` (or :class:`MLTableError` for a malformed MLTable file) whose
message names the file and says what to do about it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from cirrusml.data._files import (
    SUPPORTED_EXTENSIONS,
    file_format,
    list_data_files,
    local_path,
    ordered_union,
    plain_file_columns,
    read_plain_file,
)
from cirrusml.data._mltable import load_mltable
from cirrusml.exceptions import DataError

__all__ = [
    "ASSET_KINDS",
    "SUPPORTED_EXTENSIONS",
    "read_columns",
    "read_input",
]

ASSET_KINDS: tuple[str, ...] = ("mltable", "uri_file", "uri_folder")


# --------------------------------------------------------------------------------------------
# asset types


def _asset_kind(kind: Any) -> str:
    text = str(getattr(kind, "value", kind))
    if text not in ASSET_KINDS:
        raise DataError(
            f"'{text}' is not a data input type cirrusml can read; use one of "
            f"{', '.join(ASSET_KINDS)}."
        )
    return text


def _existing(kind: str, path: str | os.PathLike[str]) -> Path:
    resolved = local_path(path)
    if not resolved.exists():
        where = "" if resolved.is_absolute() else f" (relative to {Path.cwd()})"
        raise DataError(f"The {kind} input '{resolved}'{where} does not exist; check the path.")
    return Path(os.path.abspath(resolved))  # messages then name the file unambiguously


def _folder_files(folder: Path) -> list[Path]:
    """The readable files of a ``uri_folder``, which must all share one format."""
    everything = list_data_files(folder)
    files = [p for p in everything if file_format(p) is not None]
    if not files:
        seen = ", ".join(p.name for p in everything[:5]) or "nothing"
        raise DataError(
            f"The uri_folder '{folder}' holds no data file (found: {seen}); put csv, tsv, "
            "parquet or json files in it, or an MLTable file describing the data."
        )
    counts: dict[str, int] = {}
    for p in files:
        fmt = file_format(p)
        assert fmt is not None
        counts[fmt] = counts.get(fmt, 0) + 1
    if len(counts) > 1:
        listed = ", ".join(f"{n} {fmt}" for fmt, n in sorted(counts.items()))
        raise DataError(
            f"The uri_folder '{folder}' mixes file formats ({listed}); keep one format in the "
            "folder, or describe the files with an MLTable."
        )
    return files


def read_input(kind: str, path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a job input into a DataFrame.

    ``kind`` is the Azure asset type: ``mltable`` (a folder holding an ``MLTable`` file, or the
    file itself), ``uri_file`` (one csv, tsv, txt, parquet/pq, json/jsonl file, optionally
    ``.gz``-compressed when text) or ``uri_folder`` (every data file in the folder, one format,
    concatenated; a folder holding an ``MLTable`` file is read as that table).
    """
    kind = _asset_kind(kind)
    resolved = _existing(kind, path)
    if kind == "mltable":
        return load_mltable(resolved).to_pandas_dataframe()
    if kind == "uri_file":
        if resolved.is_dir():
            raise DataError(
                f"The uri_file input '{resolved}' is a folder; use type uri_folder, or mltable "
                "if it holds an MLTable file."
            )
        if resolved.name == "MLTable":
            return load_mltable(resolved).to_pandas_dataframe()
        return read_plain_file(resolved)
    if resolved.is_file():
        raise DataError(
            f"The uri_folder input '{resolved}' is a file; use type uri_file for a single file."
        )
    if (resolved / "MLTable").is_file():
        return load_mltable(resolved).to_pandas_dataframe()
    frames = [read_plain_file(p) for p in _folder_files(resolved)]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True, sort=False)


def read_columns(kind: str, path: str | os.PathLike[str]) -> list[str]:
    """The column names :func:`read_input` would give, reading only headers and schemas."""
    kind = _asset_kind(kind)
    resolved = _existing(kind, path)
    if kind == "mltable":
        return load_mltable(resolved).column_names()
    if kind == "uri_file":
        if resolved.is_dir():
            raise DataError(
                f"The uri_file input '{resolved}' is a folder; use type uri_folder, or mltable "
                "if it holds an MLTable file."
            )
        if resolved.name == "MLTable":
            return load_mltable(resolved).column_names()
        return plain_file_columns(resolved)
    if resolved.is_file():
        raise DataError(
            f"The uri_folder input '{resolved}' is a file; use type uri_file for a single file."
        )
    if (resolved / "MLTable").is_file():
        return load_mltable(resolved).column_names()
    return ordered_union(plain_file_columns(p) for p in _folder_files(resolved))
