"""MLTable files: the Azure examples, every transformation and option, and every error."""

from __future__ import annotations

import gzip
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cirrusml import mltable
from cirrusml.data._mltable import (
    SUPPORTED_TRANSFORMATIONS,
    DataType,
    MLTable,
    MLTableHeaders,
    from_delimited_files,
    from_json_lines_files,
    from_parquet_files,
    load_mltable,
)
from cirrusml.exceptions import DataError, MLTableError

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLES = SHARED / "azure-examples"


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode(encoding))
    return path


def table(folder: Path, spec: str) -> MLTable:
    """Write ``folder/MLTable`` from dedented YAML and load it."""
    write(folder / "MLTable", textwrap.dedent(spec))
    return load_mltable(folder)


def read(folder: Path, spec: str) -> pd.DataFrame:
    return table(folder, spec).to_pandas_dataframe()


CSV_SPEC = """\
    paths:
      - file: ./data.csv
    transformations:
      - read_delimited: {delimiter: ','}
"""


def csv_table(tmp_path: Path, csv: str, *steps: str, read: str = "{delimiter: ','}") -> MLTable:
    write(tmp_path / "data.csv", csv)
    spec = "paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited: " + read + "\n"
    spec += "".join(f"  - {s}\n" for s in steps)
    return table(tmp_path, spec)


# --------------------------------------------------------------------------------------------
# the real Azure example folders, read in place

EXAMPLE_FOLDERS = sorted(p.parent for p in EXAMPLES.rglob("MLTable"))
EXPECTED_ROWS = {
    "bank_marketing_train_data.csv": 29_999,
    "bank_marketing_validation_data.csv": 1_999,
    "bank_marketing_test_data.csv": 952,
    "bank_marketing_retrain_data.csv": 14_016,
    "training-machine-dataset.csv": 189,
    "bike-share-train.csv": 609,
    "bike-share-test.csv": 122,
}


def test_the_examples_are_there() -> None:
    assert len(EXAMPLE_FOLDERS) == 16


@pytest.mark.parametrize("folder", EXAMPLE_FOLDERS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_azure_example_reads(folder: Path) -> None:
    tbl = load_mltable(folder)
    df = tbl.to_pandas_dataframe()
    (data_file,) = [p.name for p in folder.iterdir() if p.suffix == ".csv"]
    assert len(df) == EXPECTED_ROWS[data_file]
    width = 21 if data_file.startswith("bank") else 12 if data_file.startswith("bike") else 10
    assert df.shape[1] == width
    assert tbl.column_names() == list(df.columns)
    assert isinstance(df.index, pd.RangeIndex)


def test_bank_marketing_training_table() -> None:
    tbl = load_mltable(EXAMPLES / "hello-automl" / "training-mltable-folder")
    df = tbl.to_pandas_dataframe()
    assert df.shape == (29_999, 21)
    assert df.columns[-1] == "y"
    assert df["y"].value_counts().to_dict() == {"no": 26_622, "yes": 3_377}
    assert df["age"].dtype == np.int64
    assert df["euribor3m"].dtype == np.float64
    assert df["job"].dtype == object


def test_hardware_perf_converts_to_int() -> None:
    folder = EXAMPLES / "cli-automl-regression-task-hardware-perf" / "training-mltable-folder"
    df = load_mltable(folder).to_pandas_dataframe()
    assert df.shape == (189, 10)
    for column in ["MYCT", "MMIN", "MMAX", "CACH", "CHMIN", "CHMAX", "PRP", "ERP"]:
        assert df[column].dtype == np.int64, column
    assert df["VendorName"].dtype == object
    assert df["ModelName"].map(type).eq(str).all()


def test_bike_share_converts_to_float() -> None:
    for name, rows in [("training-mltable-folder", 609), ("test-mltable-folder", 122)]:
        df = load_mltable(
            EXAMPLES / "cli-automl-forecasting-bike-share" / name
        ).to_pandas_dataframe()
        assert len(df) == rows
        for column in ["temp", "atemp", "hum", "windspeed", "cnt"]:
            assert df[column].dtype == np.float64, column
        assert df["instant"].dtype == np.int64
        assert {"date", "cnt"} <= set(df.columns)


def test_load_accepts_the_file_itself_and_the_public_module() -> None:
    folder = EXAMPLES / "hello-automl" / "validation-mltable-folder"
    by_folder = load_mltable(folder)
    by_file = mltable.load(str(folder / "MLTable"))
    assert by_folder == by_file
    assert by_file.source == folder / "MLTable"
    assert by_file.base_dir == folder
    pd.testing.assert_frame_equal(by_folder.to_pandas_dataframe(), by_file.to_pandas_dataframe())
    assert by_folder.paths == [{"file": "./bank_marketing_validation_data.csv"}]
    assert by_folder.transformations == [
        {"read_delimited": {"delimiter": ",", "encoding": "ascii"}}
    ]


# --------------------------------------------------------------------------------------------
# top-level keys and paths


def test_optional_top_level_keys_are_kept(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "a,b\n1,2\n")
    tbl = table(
        tmp_path,
        """\
        $schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
        type: mltable
        paths:
          - file: ./data.csv
        transformations:
          - read_delimited: {}
        traits:
          index_columns: [a]
        metadata:
          owner: team
        """,
    )
    assert tbl.traits == {"index_columns": ["a"]}
    assert tbl.metadata == {"owner": "team"}
    assert tbl.to_pandas_dataframe().to_dict("list") == {"a": [1], "b": [2]}
    saved = tbl.save(tmp_path / "copy")
    assert saved.traits == tbl.traits
    assert saved.metadata == tbl.metadata


def test_without_read_transformation_the_extension_decides(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "a,b\n1,2\n")
    df = read(tmp_path, "paths: [{file: ./data.csv}]\n")
    assert df.to_dict("list") == {"a": [1], "b": [2]}
    write(tmp_path / "x" / "data.tsv", "a\tb\n1\t2\n")
    df = read(tmp_path / "x", "paths: [{file: data.tsv}]\n")
    assert list(df.columns) == ["a", "b"]


def test_folder_reads_every_file_in_sorted_order_recursively(tmp_path: Path) -> None:
    write(tmp_path / "parts" / "b.csv", "n\n2\n")
    write(tmp_path / "parts" / "a.csv", "n\n1\n")
    write(tmp_path / "parts" / "sub" / "c.csv", "n\n3\n")
    write(tmp_path / "parts" / ".hidden.csv", "n\n99\n")
    write(tmp_path / "parts" / "_SUCCESS", "")
    df = read(tmp_path, "paths: [{folder: ./parts}]\ntransformations: [read_delimited: {}]\n")
    assert df["n"].tolist() == [1, 2, 3]


def test_folder_next_to_the_mltable_file_skips_it(tmp_path: Path) -> None:
    write(tmp_path / "one.csv", "n\n1\n")
    write(tmp_path / "two.csv", "n\n2\n")
    df = read(tmp_path, "paths: [{folder: ./}]\ntransformations: [read_delimited: {}]\n")
    assert df["n"].tolist() == [1, 2]


def test_patterns_glob_and_double_star_recurses(tmp_path: Path) -> None:
    write(tmp_path / "d" / "x1.csv", "n\n1\n")
    write(tmp_path / "d" / "x2.csv", "n\n2\n")
    write(tmp_path / "d" / "deep" / "x3.csv", "n\n3\n")
    write(tmp_path / "d" / "notes.txt", "not data\n")
    flat = read(tmp_path, "paths: [{pattern: ./d/*.csv}]\ntransformations: [read_delimited: {}]\n")
    assert flat["n"].tolist() == [1, 2]
    deep = read(
        tmp_path, "paths: [{pattern: 'd/**/*.csv'}]\ntransformations: [read_delimited: {}]\n"
    )
    assert sorted(deep["n"].tolist()) == [1, 2, 3]


def test_paths_concatenate_in_path_order(tmp_path: Path) -> None:
    write(tmp_path / "z.csv", "n\n1\n")
    write(tmp_path / "a.csv", "n\n2\n")
    df = read(
        tmp_path,
        "paths: [{file: z.csv}, {file: a.csv}]\ntransformations: [read_delimited: {}]\n",
    )
    assert df["n"].tolist() == [1, 2]
    assert df.index.tolist() == [0, 1]


def test_absolute_and_file_uri_paths(tmp_path: Path) -> None:
    data = write(tmp_path / "elsewhere" / "data.csv", "a\n5\n")
    folder = tmp_path / "tbl"
    df = read(folder, f"paths: [{{file: '{data}'}}]\n")
    assert df["a"].tolist() == [5]
    df = read(folder, f"paths: [{{file: 'file://{data}'}}]\n")
    assert df["a"].tolist() == [5]
    df = read(folder, f"paths: [{{folder: 'file://{data.parent}'}}]\n")
    assert df["a"].tolist() == [5]


def test_glob_characters_in_the_folder_name_are_not_a_pattern(tmp_path: Path) -> None:
    folder = tmp_path / "run[1]"
    write(folder / "data.csv", "a\n1\n")
    df = read(folder, "paths: [{pattern: ./*.csv}]\n")
    assert df["a"].tolist() == [1]


# --------------------------------------------------------------------------------------------
# read_delimited options


def test_delimiter_options(tmp_path: Path) -> None:
    assert csv_table(
        tmp_path, "a;b\n1;2\n", read="{delimiter: ';'}"
    ).to_pandas_dataframe().shape == (1, 2)
    tab = csv_table(tmp_path / "t", "a\tb\n1\t2\n", read="{delimiter: '\\t'}")
    assert list(tab.to_pandas_dataframe().columns) == ["a", "b"]
    tab = csv_table(tmp_path / "u", "a\tb\n1\t2\n", read='{delimiter: "\\t"}')
    assert list(tab.to_pandas_dataframe().columns) == ["a", "b"]
    multi = csv_table(tmp_path / "m", "a||b\n1||x.y\n", read="{delimiter: '||'}")
    assert multi.to_pandas_dataframe().to_dict("list") == {"a": [1], "b": ["x.y"]}


def two_files(tmp_path: Path, first: str, second: str) -> None:
    write(tmp_path / "p1.csv", first)
    write(tmp_path / "p2.csv", second)


def header_table(tmp_path: Path, mode: str) -> MLTable:
    return table(
        tmp_path,
        f"paths: [{{file: p1.csv}}, {{file: p2.csv}}]\n"
        f"transformations: [read_delimited: {{header: {mode}}}]\n",
    )


def test_header_all_files_same_headers(tmp_path: Path) -> None:
    two_files(tmp_path, "a,b\n1,2\n", "a,b\n3,4\n")
    df = header_table(tmp_path, "all_files_same_headers").to_pandas_dataframe()
    assert df.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_header_all_files_same_headers_rejects_a_different_header(tmp_path: Path) -> None:
    two_files(tmp_path, "a,b\n1,2\n", "a,c\n3,4\n")
    tbl = header_table(tmp_path, "all_files_same_headers")
    with pytest.raises(DataError, match=r"p2\.csv.*all_files_different_headers"):
        tbl.to_pandas_dataframe()
    with pytest.raises(DataError, match=r"p2\.csv"):
        tbl.column_names()


def test_header_from_first_file(tmp_path: Path) -> None:
    two_files(tmp_path, "a,b\n1,2\n", "3,4\n5,6\n")
    tbl = header_table(tmp_path, "from_first_file")
    assert tbl.to_pandas_dataframe().to_dict("list") == {"a": [1, 3, 5], "b": [2, 4, 6]}
    assert tbl.column_names() == ["a", "b"]


def test_header_no_header(tmp_path: Path) -> None:
    two_files(tmp_path, "1,x\n2,y\n", "3,z\n")
    tbl = header_table(tmp_path, "no_header")
    df = tbl.to_pandas_dataframe()
    assert df.to_dict("list") == {"Column1": [1, 2, 3], "Column2": ["x", "y", "z"]}
    assert tbl.column_names() == ["Column1", "Column2"]


def test_header_all_files_different_headers(tmp_path: Path) -> None:
    two_files(tmp_path, "a,b\n1,2\n", "b,c\n3,4\n")
    tbl = header_table(tmp_path, "all_files_different_headers")
    df = tbl.to_pandas_dataframe()
    assert list(df.columns) == ["a", "b", "c"]
    assert df["b"].tolist() == [2, 3]
    assert df["a"].isna().tolist() == [False, True]
    assert tbl.column_names() == ["a", "b", "c"]


def test_encoding_latin1_declared_utf8_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "city,n\nZürich,1\nMálaga,2\n", encoding="latin-1")
    tbl = table(
        tmp_path, "paths: [{file: data.csv}]\ntransformations: [read_delimited: {encoding: utf8}]\n"
    )
    with pytest.raises(
        DataError, match=r"data\.csv' does not decode as utf8 at byte 8 \(line 2.*latin1"
    ):
        tbl.to_pandas_dataframe()


def test_encoding_latin1_declared_reads(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "city,n\nZürich,1\nMálaga,2\n", encoding="latin-1")
    for name in ("latin1", "iso88591"):
        df = read(
            tmp_path,
            "paths: [{file: data.csv}]\n"
            f"transformations: [read_delimited: {{encoding: {name}}}]\n",
        )
        assert df["city"].tolist() == ["Zürich", "Málaga"]


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("utf8", "utf-8"),
        ("utf8bom", "utf-8-sig"),
        ("utf16", "utf-16"),
        ("utf32", "utf-32"),
        ("windows1252", "cp1252"),
        ("ascii", "ascii"),
    ],
)
def test_every_encoding_reads(tmp_path: Path, name: str, codec: str) -> None:
    text = "word,price\ncafe,3\n" if name == "ascii" else "word,price\ncafé €,3\n"
    write(tmp_path / "data.csv", text, encoding=codec)
    df = read(
        tmp_path,
        f"paths: [{{file: data.csv}}]\ntransformations: [read_delimited: {{encoding: {name}}}]\n",
    )
    assert list(df.columns) == ["word", "price"]
    assert df["word"].iloc[0] == text.splitlines()[1].split(",")[0]


def test_encoding_error_suggests_windows1252_and_utf8(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "word\n€uro\n", encoding="cp1252")
    tbl = table(tmp_path, "paths: [{file: data.csv}]\ntransformations: [read_delimited: {}]\n")
    with pytest.raises(DataError, match=r"windows1252"):
        tbl.to_pandas_dataframe()
    write(tmp_path / "a" / "data.csv", "word\ncafé\n")
    tbl = table(
        tmp_path / "a",
        "paths: [{file: data.csv}]\ntransformations: [read_delimited: {encoding: ascii}]\n",
    )
    with pytest.raises(
        DataError, match=r"does not decode as ascii at byte 8 \(line 2.*looks like utf8"
    ):
        tbl.to_pandas_dataframe()


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "\ufeffa,b\n1,2\n")
    tbl = table(tmp_path, "paths: [{file: data.csv}]\ntransformations: [read_delimited: {}]\n")
    assert list(tbl.to_pandas_dataframe().columns) == ["a", "b"]
    assert tbl.column_names() == ["a", "b"]


def test_empty_as_string_false_gives_missing_values(tmp_path: Path) -> None:
    df = csv_table(tmp_path, "s,n\nx,1\n,\ny,3\n").to_pandas_dataframe()
    assert df["s"].isna().tolist() == [False, True, False]
    assert df["n"].dtype == np.float64
    assert np.isnan(df["n"].iloc[1])


def test_empty_as_string_true_keeps_empty_text(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "s,n,i\nx,1.5,1\n,,\ny,3,2\n", read="{empty_as_string: true}")
    df = tbl.to_pandas_dataframe()
    assert df["s"].tolist() == ["x", "", "y"]
    assert df["n"].dtype == np.float64
    assert np.isnan(df["n"].iloc[1])
    assert df["i"].dtype == np.float64
    assert df["i"].iloc[2] == 2


def test_include_path_column(tmp_path: Path) -> None:
    two_files(tmp_path, "a\n1\n", "a\n2\n")
    tbl = table(
        tmp_path,
        "paths: [{file: p1.csv}, {file: p2.csv}]\n"
        "transformations: [read_delimited: {include_path_column: true}]\n",
    )
    df = tbl.to_pandas_dataframe()
    assert list(df.columns) == ["Path", "a"]
    assert df["Path"].tolist() == [str(tmp_path / "p1.csv"), str(tmp_path / "p2.csv")]
    assert tbl.column_names() == ["Path", "a"]


def test_include_path_column_clash_is_an_error(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "Path,b\n1,2\n", read="{include_path_column: true}")
    with pytest.raises(DataError, match=r"data\.csv' already has a column named 'Path'"):
        tbl.to_pandas_dataframe()


def test_infer_column_types(tmp_path: Path) -> None:
    inferred = csv_table(tmp_path, "a,b,c\n1,2.5,x\n3,4.5,y\n").to_pandas_dataframe()
    assert inferred.dtypes.astype(str).tolist() == ["int64", "float64", "object"]
    text = csv_table(tmp_path / "t", "a,b\n001,2.50\n", read="{infer_column_types: false}")
    df = text.to_pandas_dataframe()
    assert df.to_dict("list") == {"a": ["001"], "b": ["2.50"]}


def test_support_multi_line_reads_quoted_line_breaks(tmp_path: Path) -> None:
    csv = 'id,text\n1,"first line\nsecond line"\n2,plain\n'
    df = csv_table(tmp_path, csv, read="{support_multi_line: true}").to_pandas_dataframe()
    assert df["text"].tolist() == ["first line\nsecond line", "plain"]
    # quoted line breaks are honoured either way (documented difference from Azure)
    df = csv_table(tmp_path / "b", csv, read="{support_multi_line: false}").to_pandas_dataframe()
    assert len(df) == 2


def test_integer_columns_with_gaps_become_float(tmp_path: Path) -> None:
    df = csv_table(tmp_path, "a,b\n1,x\n,y\n3,z\n").to_pandas_dataframe()
    assert df["a"].dtype == np.float64
    assert df["a"].tolist()[0] == 1.0


def test_common_missing_markers(tmp_path: Path) -> None:
    df = csv_table(tmp_path, "a\n1\nNA\nnull\n4\n").to_pandas_dataframe()
    assert df["a"].dtype == np.float64
    assert df["a"].isna().sum() == 2


def test_gzip_csv_in_mltable(tmp_path: Path) -> None:
    (tmp_path / "data.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    df = read(tmp_path, "paths: [{file: data.csv.gz}]\ntransformations: [read_delimited: {}]\n")
    assert df.to_dict("list") == {"a": [1], "b": [2]}


# --------------------------------------------------------------------------------------------
# read_parquet and read_json_lines


def test_read_parquet_files_with_path_column(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    pd.DataFrame({"x": [1, 2], "s": ["a", "b"]}).to_parquet(tmp_path / "p" / "1.parquet")
    pd.DataFrame({"x": [3], "s": ["c"]}).to_parquet(tmp_path / "p" / "2.parquet", index=False)
    tbl = table(
        tmp_path,
        "paths: [{folder: ./p}]\n"
        "transformations: [read_parquet: {include_path_column: true, path_column: src}]\n",
    )
    df = tbl.to_pandas_dataframe()
    assert list(df.columns) == ["src", "x", "s"]
    assert df["x"].tolist() == [1, 2, 3]
    assert df["src"].str.endswith(".parquet").all()
    assert tbl.column_names() == ["src", "x", "s"]


def test_read_parquet_keeps_types_and_drops_pandas_index(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"i": [1, None], "f": [0.5, 1.5], "t": pd.to_datetime(["2020-01-01", "2020-01-02"])},
        index=[7, 8],
    )
    frame.to_parquet(tmp_path / "d.pq")
    tbl = table(tmp_path, "paths: [{file: d.pq}]\n")
    df = tbl.to_pandas_dataframe()
    assert list(df.columns) == ["i", "f", "t"] == tbl.column_names()
    assert df["i"].dtype == np.float64
    assert pd.api.types.is_datetime64_any_dtype(df["t"])


def test_read_json_lines(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", '{"a": 1, "b": "007"}\n\n{"a": 2, "b": "x", "c": 1.5}\n')
    tbl = table(tmp_path, "paths: [{file: d.jsonl}]\ntransformations: [read_json_lines: {}]\n")
    df = tbl.to_pandas_dataframe()
    assert df["a"].tolist() == [1, 2]
    assert df["b"].tolist() == ["007", "x"]
    assert np.isnan(df["c"].iloc[0])
    assert tbl.column_names() == ["a", "b"]  # from the first line only


def test_read_json_lines_invalid_lines(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", '{"a": 1}\nnot json\n{"a": 3}\n[1, 2]\n')
    strict = table(
        tmp_path,
        "paths: [{file: d.jsonl}]\ntransformations: [read_json_lines: {invalid_lines: error}]\n",
    )
    with pytest.raises(
        DataError, match=r"Line 2 of '.*d\.jsonl' is not a JSON object.*invalid_lines: drop"
    ):
        strict.to_pandas_dataframe()
    lenient = table(
        tmp_path / "x",
        f"paths: [{{file: '{tmp_path / 'd.jsonl'}'}}]\n"
        "transformations: [read_json_lines: {invalid_lines: drop}]\n",
    )
    assert lenient.to_pandas_dataframe()["a"].tolist() == [1, 3]


def test_read_json_lines_options(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", '{"name": "Zürich"}\n', encoding="latin-1")
    tbl = table(
        tmp_path,
        "paths: [{file: d.jsonl}]\n"
        "transformations:\n"
        "  - read_json_lines: {encoding: latin1, include_path_column: true, path_column: file}\n",
    )
    df = tbl.to_pandas_dataframe()
    assert df.to_dict("list") == {"file": [str(tmp_path / "d.jsonl")], "name": ["Zürich"]}
    bad = table(
        tmp_path / "u",
        f"paths: [{{file: '{tmp_path / 'd.jsonl'}'}}]\ntransformations: [read_json_lines: {{}}]\n",
    )
    with pytest.raises(
        DataError, match=r"d\.jsonl' does not decode as utf8 at byte \d+ \(line 1.*latin1"
    ):
        bad.to_pandas_dataframe()


def test_python_constructors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d.csv", "a;b\n1;x\n")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "d.parquet")
    write(tmp_path / "d.jsonl", '{"a": 1}\n')
    csv = from_delimited_files(
        [{"file": "./d.csv"}],
        delimiter=";",
        header=MLTableHeaders.all_files_same_headers,
        include_path_column=True,
    )
    assert list(csv.to_pandas_dataframe().columns) == ["Path", "a", "b"]
    assert csv.transformations[0]["read_delimited"]["header"] == "all_files_same_headers"
    pq_tbl = from_parquet_files(
        [{"file": "./d.parquet"}], include_path_column=True, path_column="where"
    )
    assert list(pq_tbl.to_pandas_dataframe().columns) == ["where", "a"]
    js = from_json_lines_files([{"pattern": "./*.jsonl"}], invalid_lines="drop")
    assert js.to_pandas_dataframe()["a"].tolist() == [1]
    assert mltable.from_delimited_files("d.csv", delimiter=";").paths == [{"file": "d.csv"}]


# --------------------------------------------------------------------------------------------
# column transformations


def test_drop_and_keep_columns(tmp_path: Path) -> None:
    csv = "a,b,c\n1,2,3\n"
    assert list(csv_table(tmp_path, csv, "drop_columns: b").to_pandas_dataframe().columns) == [
        "a",
        "c",
    ]
    assert list(
        csv_table(tmp_path / "2", csv, "drop_columns: [a, c]").to_pandas_dataframe().columns
    ) == ["b"]
    kept = csv_table(tmp_path / "3", csv, "keep_columns: [c, a]")
    assert list(kept.to_pandas_dataframe().columns) == ["a", "c"] == kept.column_names()
    assert list(
        csv_table(tmp_path / "4", csv, "keep_columns: b").to_pandas_dataframe().columns
    ) == ["b"]


@pytest.mark.parametrize(
    "step",
    [
        "drop_columns: [a, zz]",
        "keep_columns: zz",
        "convert_column_types: [{columns: zz, column_type: int}]",
    ],
)
def test_a_missing_column_lists_the_available_ones(tmp_path: Path, step: str) -> None:
    tbl = csv_table(tmp_path, "a,b\n1,2\n", step)
    pattern = r"names column 'zz', which the table does not have; available columns: a, b"
    with pytest.raises(MLTableError, match=pattern):
        tbl.to_pandas_dataframe()
    with pytest.raises(MLTableError, match=pattern):
        tbl.column_names()


def test_a_missing_column_suggests_a_near_name(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "target,b\n1,2\n", "drop_columns: targt")
    with pytest.raises(MLTableError, match=r"did you mean 'target'\?"):
        tbl.to_pandas_dataframe()


def test_take_skip_and_random_sample(tmp_path: Path) -> None:
    csv = "n\n" + "".join(f"{i}\n" for i in range(100))
    assert csv_table(tmp_path, csv, "take: 3").to_pandas_dataframe()["n"].tolist() == [0, 1, 2]
    assert csv_table(tmp_path, csv, "skip: 97").to_pandas_dataframe()["n"].tolist() == [97, 98, 99]
    both = csv_table(tmp_path, csv, "skip: 10", "take: 2").to_pandas_dataframe()
    assert both["n"].tolist() == [10, 11]
    assert both.index.tolist() == [0, 1]
    sample = csv_table(tmp_path, csv, "take_random_sample: {probability: 0.3, seed: 7}")
    first, second = sample.to_pandas_dataframe(), sample.to_pandas_dataframe()
    pd.testing.assert_frame_equal(first, second)
    assert 10 < len(first) < 50
    assert first["n"].is_monotonic_increasing
    none = csv_table(tmp_path, csv, "take_random_sample: {probability: 0}").to_pandas_dataframe()
    assert len(none) == 0
    assert list(none.columns) == ["n"]
    every = csv_table(tmp_path, csv, "take_random_sample: {probability: 1.0}").to_pandas_dataframe()
    assert len(every) == 100


@given(take=st.integers(0, 30), skip=st.integers(0, 30))
@settings(max_examples=25, deadline=None)
def test_take_and_skip_match_positional_slicing(
    take: int, skip: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.getbasetemp() / "take_skip"
    if not (folder / "data.csv").exists():
        write(folder / "data.csv", "n\n" + "".join(f"{i}\n" for i in range(20)))
    tbl = from_delimited_files([{"file": str(folder / "data.csv")}]).skip(skip).take(take)
    assert tbl.to_pandas_dataframe()["n"].tolist() == list(range(20))[skip:][:take]


def conversions(tmp_path: Path, csv: str, entries: str) -> MLTable:
    return csv_table(tmp_path, csv, f"convert_column_types: {entries}")


def test_convert_int_and_float(tmp_path: Path) -> None:
    csv = "a,b,c,d\n1,2,3.0,x\n4,,5.0,y\n"
    tbl = conversions(
        tmp_path,
        csv,
        "[{columns: a, column_type: float}, {columns: [b, c], column_type: int}]",
    )
    df = tbl.to_pandas_dataframe()
    assert df["a"].dtype == np.float64
    assert df["b"].dtype == np.float64  # an int column with a gap stays float
    assert df["c"].dtype == np.int64
    assert df["c"].tolist() == [3, 5]
    text = csv_table(
        tmp_path / "t",
        "a\n 12\n7\n",
        "convert_column_types: [{columns: a, column_type: int}]",
        read="{infer_column_types: false}",
    )
    assert text.to_pandas_dataframe()["a"].tolist() == [12, 7]


def test_convert_int_failure_names_column_value_and_file(tmp_path: Path) -> None:
    tbl = conversions(tmp_path, "a,b\n1,x\n2,y\noops,z\n", "[{columns: a, column_type: int}]")
    with pytest.raises(
        DataError,
        match=r"Column 'a' cannot be converted to int: 1 value\(s\) "
        r".*'oops' in data row 3 of '.*data\.csv'",
    ):
        tbl.to_pandas_dataframe()
    fraction = conversions(tmp_path / "f", "a\n1\n1.5\n", "[{columns: a, column_type: int}]")
    with pytest.raises(DataError, match=r"Column 'a' cannot be converted to int.*1\.5.*data row 2"):
        fraction.to_pandas_dataframe()
    text = conversions(tmp_path / "g", "a\n1\nabc\n", "[{columns: a, column_type: float}]")
    with pytest.raises(DataError, match=r"Column 'a' cannot be converted to float.*'abc'"):
        text.to_pandas_dataframe()


def test_conversion_error_points_at_the_right_file_after_row_steps(tmp_path: Path) -> None:
    two_files(tmp_path, "a\n1\n2\n", "a\n3\nbad\n")
    tbl = table(
        tmp_path,
        "paths: [{file: p1.csv}, {file: p2.csv}]\ntransformations:\n"
        "  - read_delimited: {}\n  - skip: 1\n"
        "  - convert_column_types: [{columns: a, column_type: int}]\n",
    )
    with pytest.raises(DataError, match=r"'bad' in data row 2 of '.*p2\.csv'"):
        tbl.to_pandas_dataframe()


def test_convert_string(tmp_path: Path) -> None:
    tbl = conversions(
        tmp_path, "a,b,c\n1,1.0,x\n2,,y\n", "[{columns: [a, b, c], column_type: string}]"
    )
    df = tbl.to_pandas_dataframe()
    assert df["a"].tolist() == ["1", "2"]
    assert df["b"].iloc[0] == "1"
    assert pd.isna(df["b"].iloc[1])
    assert all(dtype == np.dtype(object) for dtype in df.dtypes)


def test_convert_boolean(tmp_path: Path) -> None:
    csv = "a,b,c\nyes,1,True\nno,0,False\n,1,True\n"
    df = conversions(
        tmp_path, csv, "[{columns: [a, b, c], column_type: boolean}]"
    ).to_pandas_dataframe()
    assert df["b"].dtype == bool
    assert df["b"].tolist() == [True, False, True]
    assert df["c"].tolist() == [True, False, True]
    assert df["a"].dtype == "boolean"
    assert df["a"].tolist()[:2] == [True, False]
    assert pd.isna(df["a"].iloc[2])


def test_convert_boolean_with_values_and_mismatch(tmp_path: Path) -> None:
    csv = "a\nsi\nno\nmaybe\n"
    spec = (
        "[{columns: a, column_type: {boolean: "
        "{true_values: [si], false_values: ['no'], mismatch_as: %s}}}]"
    )
    with pytest.raises(DataError, match=r"Column 'a' cannot be converted to boolean.*'maybe'"):
        conversions(tmp_path, csv, spec % "error").to_pandas_dataframe()
    assert conversions(tmp_path, csv, spec % "true").to_pandas_dataframe()["a"].tolist() == [
        True,
        False,
        True,
    ]
    assert conversions(tmp_path, csv, spec % "false").to_pandas_dataframe()["a"].tolist() == [
        True,
        False,
        False,
    ]


def test_convert_datetime(tmp_path: Path) -> None:
    iso = conversions(
        tmp_path, "d\n2021-03-04\n2021-03-05 10:00:00\n", "[{columns: d, column_type: datetime}]"
    )
    df = iso.to_pandas_dataframe()
    assert pd.api.types.is_datetime64_any_dtype(df["d"])
    assert df["d"].iloc[1] == pd.Timestamp("2021-03-05 10:00")
    formats = conversions(
        tmp_path / "f",
        "d\n04/03/2021\n2021.12.31\n",
        "[{columns: d, column_type: {datetime: {formats: ['%d/%m/%Y', '%Y.%m.%d']}}}]",
    )
    assert formats.to_pandas_dataframe()["d"].tolist() == [
        pd.Timestamp("2021-03-04"),
        pd.Timestamp("2021-12-31"),
    ]
    bad = conversions(
        tmp_path / "b", "d\n2021-01-01\nsoon\n", "[{columns: d, column_type: datetime}]"
    )
    with pytest.raises(DataError, match=r"Column 'd' cannot be converted to datetime.*'soon'"):
        bad.to_pandas_dataframe()


def test_conversion_methods_and_datatype(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d.csv", "a,b,c,d\n1,yes,2020-01-02,x\n2,no,2020-01-03,y\n")
    base = mltable.from_delimited_files([{"file": "d.csv"}])
    tbl = (
        base.convert_column_types(
            {
                "a": mltable.DataType.to_float(),
                ("b",): DataType.to_bool(true_values=["yes"], false_values=["no"]),
                "c": DataType.to_datetime("%Y-%m-%d"),
                "d": "string",
            }
        )
        .drop_columns("d")
        .take(1)
    )
    df = tbl.to_pandas_dataframe()
    assert df.dtypes.astype(str).tolist() == ["float64", "bool", "datetime64[ns]"]
    assert len(df) == 1
    assert len(base.transformations) == 1  # the original table is unchanged
    saved = tbl.save(tmp_path / "saved")
    pd.testing.assert_frame_equal(saved.to_pandas_dataframe(), df)
    assert len(base.keep_columns(["a"]).skip(1).show()) == 1


# --------------------------------------------------------------------------------------------
# save


def test_save_round_trip_from_azure_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = EXAMPLES / "hello-automl" / "test-mltable-folder" / "bank_marketing_test_data.csv"
    write(tmp_path / "train_data" / "bank_marketing_train_data.csv", source.read_bytes())

    paths = [{"file": "./train_data/bank_marketing_train_data.csv"}]
    train_table = mltable.from_delimited_files(paths)
    train_table.save("./train_data")

    doc = yaml.safe_load((tmp_path / "train_data" / "MLTable").read_text())
    assert doc["type"] == "mltable"
    assert doc["paths"] == [{"file": "./bank_marketing_train_data.csv"}]
    assert doc["transformations"][0]["read_delimited"]["delimiter"] == ","
    loaded = mltable.load("./train_data")
    assert loaded == train_table
    pd.testing.assert_frame_equal(loaded.to_pandas_dataframe(), train_table.to_pandas_dataframe())
    assert loaded.to_pandas_dataframe().shape == (952, 21)


def test_save_keeps_outside_paths_absolute_and_rewrites_folders_and_patterns(
    tmp_path: Path,
) -> None:
    write(tmp_path / "out" / "x.csv", "a\n1\n")
    write(tmp_path / "tbl" / "parts" / "y.csv", "a\n2\n")
    write(tmp_path / "tbl" / "z" / "w.csv", "a\n3\n")
    tbl = MLTable(
        [{"file": str(tmp_path / "out" / "x.csv")}, {"folder": "parts"}, {"pattern": "z/*.csv"}],
        [{"read_delimited": {}}],
        base_dir=tmp_path / "tbl",
    )
    tbl.save(tmp_path / "tbl")
    doc = yaml.safe_load((tmp_path / "tbl" / "MLTable").read_text())
    assert doc["paths"] == [
        {"file": str(tmp_path / "out" / "x.csv")},
        {"folder": "./parts"},
        {"pattern": "./z/*.csv"},
    ]
    assert load_mltable(tmp_path / "tbl").to_pandas_dataframe()["a"].tolist() == [1, 2, 3]
    moved = tbl.save(tmp_path / "elsewhere")
    assert moved == tbl
    assert moved.to_pandas_dataframe()["a"].tolist() == [1, 2, 3]


def test_save_refuses_to_overwrite_when_asked(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "a\n1\n")
    with pytest.raises(MLTableError, match=r"MLTable' already exists; pass overwrite=True"):
        tbl.save(tmp_path, overwrite=False)
    tbl.save(tmp_path)


def test_repr_is_the_yaml(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "a\n1\n", "take: 1")
    assert yaml.safe_load(repr(tbl))["transformations"][1] == {"take": 1}


# --------------------------------------------------------------------------------------------
# column_names reads only headers


def test_column_names_does_not_read_the_rows(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i}\n" for i in range(50))
    tbl = csv_table(
        tmp_path,
        "a,b\n" + rows + "1,2,3,4\n",
        "drop_columns: a",
        read="{include_path_column: true}",
    )
    assert tbl.column_names() == ["Path", "b"]
    with pytest.raises(DataError, match=r"data\.csv' is not valid delimited text"):
        tbl.to_pandas_dataframe()


# --------------------------------------------------------------------------------------------
# errors in the MLTable file


def test_folder_without_mltable_file(tmp_path: Path) -> None:
    write(tmp_path / "mltable.yaml", "paths: []\n")
    with pytest.raises(
        MLTableError, match=r"Folder '.*' holds no file named MLTable \(found 'mltable.yaml'"
    ):
        load_mltable(tmp_path)
    with pytest.raises(MLTableError, match=r"does not exist"):
        load_mltable(tmp_path / "nope")


def test_yaml_that_does_not_parse(tmp_path: Path) -> None:
    write(tmp_path / "MLTable", "paths:\n  - file: ./a.csv\n transformations: [\n")
    with pytest.raises(
        MLTableError, match=r"MLTable file '.*MLTable' is not valid YAML at line \d+"
    ):
        load_mltable(tmp_path)


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    write(tmp_path / "MLTable", "- just a list\n")
    with pytest.raises(MLTableError, match=r"must hold a YAML mapping with 'paths'"):
        load_mltable(tmp_path)


def test_unknown_top_level_key_suggests_the_nearest(tmp_path: Path) -> None:
    write(tmp_path / "MLTable", "path:\n  - file: ./a.csv\n")
    with pytest.raises(
        MLTableError,
        match=r"MLTable file '.*' has unknown top-level key 'path'; did you mean 'paths'\?",
    ):
        load_mltable(tmp_path)
    write(tmp_path / "MLTable", "type: uri_file\npaths: [{file: a.csv}]\n")
    with pytest.raises(MLTableError, match=r"has type 'uri_file'"):
        load_mltable(tmp_path)
    write(tmp_path / "MLTable", "type: mltable\n")
    with pytest.raises(MLTableError, match=r"has no 'paths'"):
        load_mltable(tmp_path)


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        ("{}", r"path #1 must have exactly one of file, folder or pattern but has nothing"),
        (
            "{file: a.csv, folder: ./}",
            r"path #1 must have exactly one of file, folder or pattern but has file, folder",
        ),
        ("{files: a.csv}", r"has files; did you mean 'file'\?"),
        ("{file: a.csv, mode: ro}", r"unknown key 'mode'"),
        ("a.csv", r"path #1 must be a mapping"),
    ],
)
def test_bad_path_entries(tmp_path: Path, entry: str, pattern: str) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    write(tmp_path / "MLTable", f"paths:\n  - {entry}\n")
    with pytest.raises(MLTableError, match=pattern):
        load_mltable(tmp_path)


def test_missing_paths(tmp_path: Path) -> None:
    write(tmp_path / "MLTable", "paths: [{file: ./gone.csv}]\n")
    with pytest.raises(
        MLTableError,
        match=r"MLTable file '.*MLTable': path #1 \(file: ./gone.csv\) does not exist "
        r"\(looked for '.*gone.csv'\)",
    ):
        load_mltable(tmp_path)
    write(tmp_path / "MLTable", "paths: [{folder: ./nothing}]\n")
    with pytest.raises(MLTableError, match=r"path #1 \(folder: ./nothing\) does not exist"):
        load_mltable(tmp_path)
    write(tmp_path / "MLTable", "paths: [{pattern: ./*.parquet}]\n")
    with pytest.raises(MLTableError, match=r"path #1 \(pattern: ./\*.parquet\) matches no file"):
        load_mltable(tmp_path)
    (tmp_path / "empty").mkdir()
    write(tmp_path / "MLTable", "paths: [{folder: ./empty}]\n")
    with pytest.raises(MLTableError, match=r"holds no data file"):
        load_mltable(tmp_path)
    write(tmp_path / "MLTable", "paths: [{file: 'https://example.com/iris.csv'}]\n")
    with pytest.raises(MLTableError, match=r"remote location"):
        load_mltable(tmp_path)


def test_unknown_transformation_is_named_with_the_supported_list(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    write(tmp_path / "MLTable", "paths: [{file: a.csv}]\ntransformations:\n  - read_delimted: {}\n")
    supported = ", ".join(SUPPORTED_TRANSFORMATIONS)
    with pytest.raises(
        MLTableError,
        match=re.escape(
            "unknown transformation 'read_delimted'; did you mean 'read_delimited'? "
            "supported transformations are " + supported
        ),
    ):
        load_mltable(tmp_path)
    write(tmp_path / "MLTable", "paths: [{file: a.csv}]\ntransformations:\n  - shuffle: 3\n")
    with pytest.raises(
        MLTableError, match=r"MLTable file '.*': unknown transformation 'shuffle'; supported"
    ):
        load_mltable(tmp_path)
    write(
        tmp_path / "MLTable",
        "paths: [{file: a.csv}]\ntransformations:\n  - filter: 'col(\"a\") > 1'\n",
    )
    with pytest.raises(MLTableError, match=r"transformation 'filter' is not supported by cirrusml"):
        load_mltable(tmp_path)


@pytest.mark.parametrize(
    ("step", "pattern"),
    [
        (
            "read_delimited: {delimeter: ';'}",
            r"read_delimited has no option 'delimeter'; did you mean 'delimiter'\?",
        ),
        (
            "read_parquet: {include_path: true}",
            r"read_parquet has no option 'include_path'; did you mean 'include_path_column'\?",
        ),
        ("read_json_lines: {invalid_line: drop}", r"did you mean 'invalid_lines'\?"),
        (
            "take_random_sample: {probabilty: 0.5}",
            r"take_random_sample has no option 'probabilty'; did you mean 'probability'\?",
        ),
        (
            "convert_column_types: [{column: a, column_type: int}]",
            r"has no option 'column'; did you mean 'columns'\?",
        ),
        (
            "convert_column_types: [{columns: a, column_type: {boolean: {true_value: [y]}}}]",
            r"did you mean 'true_values'\?",
        ),
        (
            "convert_column_types: [{columns: a, column_type: {datetime: {format: ['%Y']}}}]",
            r"did you mean 'formats'\?",
        ),
        (
            "convert_column_types: [{columns: a, column_type: integer}]",
            r"column_type 'integer' is unknown; did you mean 'int'\?",
        ),
        (
            "read_delimited: {header: first_file}",
            r"option 'header' is 'first_file'; did you mean 'from_first_file'\?",
        ),
        (
            "read_delimited: {encoding: utf-8}",
            r"option 'encoding' is 'utf-8'; did you mean 'utf8'\?",
        ),
        ("read_delimited: {empty_as_string: 'no'}", r"'empty_as_string' must be true or false"),
        ("take: -1", r"take needs a whole number of rows"),
        ("skip: many", r"skip needs a whole number of rows"),
        ("take_random_sample: {probability: 2}", r"probability must be between 0 and 1"),
        ("drop_columns: []", r"drop_columns needs a column name or a list"),
    ],
)
def test_bad_transformation_options(tmp_path: Path, step: str, pattern: str) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    write(tmp_path / "MLTable", f"paths: [{{file: a.csv}}]\ntransformations:\n  - {step}\n")
    with pytest.raises(MLTableError, match=r"MLTable file '.*MLTable': .*" + pattern):
        load_mltable(tmp_path)


def test_read_transformation_must_come_first_and_once(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    write(
        tmp_path / "MLTable",
        "paths: [{file: a.csv}]\ntransformations:\n  - take: 1\n  - read_delimited: {}\n",
    )
    with pytest.raises(MLTableError, match=r"'read_delimited' must be the first transformation"):
        load_mltable(tmp_path)
    write(
        tmp_path / "MLTable",
        "paths: [{file: a.csv}]\ntransformations:\n  - read_delimited: {}\n  - read_parquet: {}\n",
    )
    with pytest.raises(MLTableError, match=r"several read transformations"):
        load_mltable(tmp_path)


def test_unknown_file_type_without_read_step(tmp_path: Path) -> None:
    write(tmp_path / "a.dat", "a\n1\n")
    tbl = table(tmp_path, "paths: [{file: a.dat}]\n")
    with pytest.raises(MLTableError, match=r"no read transformation and '.*a\.dat' is not a csv"):
        tbl.to_pandas_dataframe()


@pytest.mark.parametrize(
    ("content", "detail"), [("", "the file is empty"), ("a,b\n", "only a header line")]
)
def test_empty_files_have_no_rows(tmp_path: Path, content: str, detail: str) -> None:
    tbl = csv_table(tmp_path, content)
    with pytest.raises(DataError, match=rf"data\.csv' has no rows \({detail}\)"):
        tbl.to_pandas_dataframe()


def test_empty_files_in_every_format_and_header_mode(tmp_path: Path) -> None:
    two_files(tmp_path, "a\n1\n", "")
    for mode in ("from_first_file", "no_header", "all_files_different_headers"):
        with pytest.raises(DataError, match=r"p2\.csv' has no rows"):
            header_table(tmp_path, mode).to_pandas_dataframe()
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(DataError, match=r"e\.parquet' has no rows"):
        table(
            tmp_path / "p", f"paths: [{{file: '{tmp_path / 'e.parquet'}'}}]\n"
        ).to_pandas_dataframe()
    write(tmp_path / "e.jsonl", "\n\n")
    with pytest.raises(DataError, match=r"e\.jsonl' has no rows"):
        table(
            tmp_path / "j", f"paths: [{{file: '{tmp_path / 'e.jsonl'}'}}]\n"
        ).to_pandas_dataframe()


def test_duplicate_header_names(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "a,b,a\n1,2,3\n")
    with pytest.raises(
        DataError, match=r"data\.csv' has duplicated column names in its header \('a'\)"
    ):
        tbl.to_pandas_dataframe()
    with pytest.raises(DataError, match=r"duplicated column names"):
        tbl.column_names()


def test_too_many_fields_in_the_first_row(tmp_path: Path) -> None:
    tbl = csv_table(tmp_path, "a,b\n1,2,3\n")
    with pytest.raises(
        DataError, match=r"data\.csv' has more fields in its first data row than in its header"
    ):
        tbl.to_pandas_dataframe()


def test_errors_for_tables_built_in_python(tmp_path: Path) -> None:
    with pytest.raises(
        MLTableError, match=r"^MLTable: path #1 \(file: .*nothing.csv\) does not exist"
    ):
        from_delimited_files([{"file": str(tmp_path / "nothing.csv")}])
    write(tmp_path / "a.csv", "a\n1\n")
    with pytest.raises(MLTableError, match=r"option 'header' is 'first'"):
        from_delimited_files([{"file": str(tmp_path / "a.csv")}], header="first")
    with pytest.raises(MLTableError, match=r"invalid_lines' is 'skip'"):
        from_json_lines_files([{"file": str(tmp_path / "a.csv")}], invalid_lines="skip")


# --------------------------------------------------------------------------------------------
# every transformation both transforms and predicts its columns

# One example per supported transformation; a new transformation needs an entry here.
STEP_EXAMPLES = {
    "read_delimited": ("read_delimited: {delimiter: ',', include_path_column: true}",),
    "read_parquet": ("read_parquet: {include_path_column: true}",),
    "read_json_lines": ("read_json_lines: {encoding: utf8}",),
    "convert_column_types": ("convert_column_types: [{columns: a, column_type: float}]",),
    "drop_columns": ("drop_columns: [b]",),
    "keep_columns": ("keep_columns: [c, a]",),
    "take": ("take: 2",),
    "skip": ("skip: 1",),
    "take_random_sample": ("take_random_sample: {probability: 0.5, seed: 3}",),
}


def test_every_transformation_has_an_example() -> None:
    assert set(STEP_EXAMPLES) == set(SUPPORTED_TRANSFORMATIONS)


@pytest.mark.parametrize("name", sorted(STEP_EXAMPLES))
def test_column_names_match_what_each_transformation_yields(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})
    (step,) = STEP_EXAMPLES[name]
    if name == "read_parquet":
        frame.to_parquet(tmp_path / "data.parquet")
        spec = f"paths:\n  - file: ./data.parquet\ntransformations:\n  - {step}\n"
    elif name == "read_json_lines":
        frame.to_json(tmp_path / "data.jsonl", orient="records", lines=True)
        spec = f"paths:\n  - file: ./data.jsonl\ntransformations:\n  - {step}\n"
    else:
        frame.to_csv(tmp_path / "data.csv", index=False)
        steps = [step] if name == "read_delimited" else ["read_delimited: {delimiter: ','}", step]
        spec = "paths:\n  - file: ./data.csv\ntransformations:\n"
        spec += "".join(f"  - {s}\n" for s in steps)
    tbl = table(tmp_path, spec)
    assert tbl.column_names() == [str(c) for c in tbl.to_pandas_dataframe().columns]
