"""A job input as a Dask DataFrame (``training_mode: distributed``): partitions read straight
from the input's CSV or Parquet files by the cluster's workers, never whole in one process.

The same inputs :func:`~cirrusml.data.read_input` reads: a ``uri_file`` (one CSV/TSV or Parquet
file), a ``uri_folder`` (its files, one format), or an MLTable whose read step is
``read_delimited`` or ``read_parquet`` with no transformation after it (a later step such as
``take`` or ``take_random_sample`` is defined on the whole table, not on partitions).
CSV files are split into blocks of :data:`BLOCK_SIZE`; integer columns are read as floats
(``assume_missing``), as a block may hold a missing value the first block did not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cirrusml.data._files import file_format
from cirrusml.data._mltable import load_mltable
from cirrusml.data._mltable_read import ReadDelimited, ReadParquet
from cirrusml.data._readers import _asset_kind, _existing, _folder_files
from cirrusml.exceptions import DataError

__all__ = ["BLOCK_SIZE", "dask_frame"]

#: Bytes of CSV per partition.
BLOCK_SIZE = "64MB"


def dask_frame(kind: str, path: str | os.PathLike[str], *, field: str = "training_data") -> Any:
    """The input ``path`` of asset type ``kind`` as a lazy ``dask.dataframe.DataFrame``."""
    kind = _asset_kind(kind)
    resolved = _existing(kind, path)
    table = None
    if kind == "mltable" or resolved.name == "MLTable" or (
            resolved.is_dir() and (resolved / "MLTable").is_file()):
        table = load_mltable(resolved)
    if table is not None:
        return _from_mltable(table, field)
    files = [resolved] if resolved.is_file() else _folder_files(resolved)
    fmt = file_format(files[0])
    if fmt in ("csv", "tsv"):
        return _read_csv(files, "\t" if fmt == "tsv" else ",")
    if fmt == "parquet":
        return _read_parquet(files)
    raise DataError(f"{field}: training_mode: distributed reads CSV, TSV and Parquet files; "
                    f"'{files[0]}' is {fmt or 'of an unknown format'}. Convert it to Parquet.")


def _from_mltable(table: Any, field: str) -> Any:
    if table._later:  # transformations after the read step
        raise DataError(
            f"{field}: training_mode: distributed reads an MLTable's files partition by "
            "partition, so the table may only have its read step (read_delimited or "
            "read_parquet); remove the later transformations or apply them to the files.")
    files = table.files()
    step = table.read_step()
    if isinstance(step, ReadParquet):
        return _read_parquet(files)
    if isinstance(step, ReadDelimited):
        header = step.options.get("header", "all_files_same_headers")
        if header not in ("all_files_same_headers", "from_first_file"):
            raise DataError(f"{field}: training_mode: distributed needs every delimited file to "
                            f"start with the same header (header: {header} is not supported).")
        return _read_csv(files, str(step.options.get("delimiter", ",")),
                         encoding=str(step.options.get("encoding", "utf8")))
    raise DataError(f"{field}: training_mode: distributed reads delimited and Parquet MLTables; "
                    f"this one is read by {type(step).__name__}.")


def _read_csv(files: list[Path], sep: str, encoding: str = "utf8") -> Any:
    import dask.dataframe as dd

    return dd.read_csv([str(f) for f in files], sep=sep, blocksize=BLOCK_SIZE,
                       assume_missing=True, encoding=encoding.replace("utf8", "utf-8"))


def _read_parquet(files: list[Path]) -> Any:
    import dask.dataframe as dd

    return dd.read_parquet([str(f) for f in files])
