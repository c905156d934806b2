"""Data (L1): ``Input``/``Output``, MLTable files, and reading any job input into pandas."""

from __future__ import annotations

from cirrusml.data._dask import dask_frame
from cirrusml.data._io import AssetTypes, Input, InputOutputModes, Output
from cirrusml.data._mltable import (
    MLTable,
    from_delimited_files,
    from_json_lines_files,
    from_parquet_files,
    load_mltable,
)
from cirrusml.data._readers import read_columns, read_input

__all__ = [
    "AssetTypes",
    "Input",
    "InputOutputModes",
    "MLTable",
    "Output",
    "dask_frame",
    "from_delimited_files",
    "from_json_lines_files",
    "from_parquet_files",
    "load_mltable",
    "read_columns",
    "read_input",
]
