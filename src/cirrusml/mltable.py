"""MLTable files, shaped like Azure's ``mltable`` package.

Code written for Azure runs with only the import changed::

    from cirrusml import mltable

    paths = [{"file": "./train_data/bank_marketing_train_data.csv"}]
    train_table = mltable.from_delimited_files(paths)
    train_table.save("./train_data")            # writes ./train_data/MLTable

    df = mltable.load("./train_data").to_pandas_dataframe()

Supported transformations: ``read_delimited``, ``read_parquet``, ``read_json_lines``,
``convert_column_types``, ``drop_columns``, ``keep_columns``, ``take``, ``skip`` and
``take_random_sample``. Only local paths are read.
"""

from __future__ import annotations

import os

from cirrusml.data._mltable import (
    DataType,
    MLTable,
    MLTableFileEncoding,
    MLTableHeaders,
    from_delimited_files,
    from_json_lines_files,
    from_parquet_files,
    load_mltable,
)

__all__ = [
    "DataType",
    "MLTable",
    "MLTableFileEncoding",
    "MLTableHeaders",
    "from_delimited_files",
    "from_json_lines_files",
    "from_parquet_files",
    "load",
    "load_mltable",
]


def load(uri: str | os.PathLike[str]) -> MLTable:
    """Load the MLTable in folder ``uri`` (or the MLTable file ``uri`` itself).

    Azure's ``mltable.load`` also takes ``azureml://`` and cloud URIs; here the path is local.
    """
    return load_mltable(uri)
