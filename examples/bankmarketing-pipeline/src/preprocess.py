"""The bank-marketing pipeline's preprocessing step (``component_preprocessing.yaml``).

    python preprocess.py --train_data <mltable folder> --validation_data <mltable folder> \
        --preprocessed_train_data <folder> --preprocessed_validation_data <folder>

Each input MLTable folder is read as a table; rows without a target are dropped, text cells are
stripped of surrounding whitespace (``" married "`` and ``"married"`` are one category), and the
rows left are written to the output folder as an MLTable folder: a CSV file and its ``MLTable``
file, which the AutoML step reads. The columns and their order are kept.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from cirrusml import mltable

MLTABLE = """paths:
  - file: ./{name}
transformations:
  - read_delimited:
      delimiter: ','
      encoding: 'utf8'
"""


def preprocess(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Rows without a target dropped, text cells stripped."""
    if target not in frame.columns:
        raise SystemExit(f"the data has no target column '{target}'; its columns are "
                         f"{', '.join(map(str, frame.columns))}.")
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = frame[target].isna() | (frame[target].astype(str) == "")
    return frame.loc[~missing].reset_index(drop=True)


def convert(source: str, dest: str, target: str, name: str) -> None:
    frame = mltable.load(source).to_pandas_dataframe()
    cleaned = preprocess(frame, target)
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    cleaned.to_csv(folder / name, index=False)
    (folder / "MLTable").write_text(MLTABLE.format(name=name), encoding="utf-8")
    print(f"{source}: {len(frame)} rows in, {len(cleaned)} out "
          f"({len(frame) - len(cleaned)} without a target) -> {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train_data", required=True)
    parser.add_argument("--validation_data", required=True)
    parser.add_argument("--preprocessed_train_data", required=True)
    parser.add_argument("--preprocessed_validation_data", required=True)
    parser.add_argument("--target_column_name", default="y")
    args = parser.parse_args()
    convert(args.train_data, args.preprocessed_train_data, args.target_column_name,
            "train.csv")
    convert(args.validation_data, args.preprocessed_validation_data, args.target_column_name,
            "validation.csv")


if __name__ == "__main__":
    main()
