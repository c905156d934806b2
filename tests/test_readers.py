"""read_input / read_columns: every asset type, file type and error, on real files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cirrusml.data._readers import SUPPORTED_EXTENSIONS, read_columns, read_input
from cirrusml.exceptions import DataError, MLTableError

SHARED = Path(__file__).resolve().parents[2] / "shared"
BANK_TEST = SHARED / "azure-examples" / "hello-automl" / "test-mltable-folder"


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


EXPECTED = {"a": [1, 2], "b": ["x", "y"]}


# --------------------------------------------------------------------------------------------
# uri_file


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("d.csv", "a,b\n1,x\n2,y\n"),
        ("d.txt", "a,b\n1,x\n2,y\n"),
        ("d.tsv", "a\tb\n1\tx\n2\ty\n"),
        ("d.CSV", "a,b\n1,x\n2,y\n"),
        ("d.jsonl", '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'),
        ("d.json", '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'),
        ("array.json", '[{"a": 1, "b": "x"},\n {"a": 2, "b": "y"}]\n'),
    ],
)
def test_uri_file_text_formats(tmp_path: Path, name: str, content: str) -> None:
    path = write(tmp_path / name, content)
    df = read_input("uri_file", path)
    assert df.to_dict("list") == EXPECTED
    assert read_columns("uri_file", str(path)) == ["a", "b"]


@pytest.mark.parametrize("name", ["d.csv.gz", "d.tsv.gz", "d.jsonl.gz"])
def test_uri_file_gzip(tmp_path: Path, name: str) -> None:
    text = {
        "d.csv.gz": "a,b\n1,x\n2,y\n",
        "d.tsv.gz": "a\tb\n1\tx\n2\ty\n",
        "d.jsonl.gz": '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n',
    }[name]
    path = write(tmp_path / name, gzip.compress(text.encode()))
    assert read_input("uri_file", path).to_dict("list") == EXPECTED
    assert read_columns("uri_file", path) == ["a", "b"]


@pytest.mark.parametrize("name", ["d.parquet", "d.pq"])
def test_uri_file_parquet(tmp_path: Path, name: str) -> None:
    pd.DataFrame(EXPECTED).to_parquet(tmp_path / name)
    assert read_input("uri_file", tmp_path / name).to_dict("list") == EXPECTED
    assert read_columns("uri_file", tmp_path / name) == ["a", "b"]


def test_uri_file_real_csv_and_file_uri() -> None:
    csv = BANK_TEST / "bank_marketing_test_data.csv"
    df = read_input("uri_file", f"file://{csv}")
    assert df.shape == (952, 21)
    assert df["age"].dtype == np.int64
    assert read_columns("uri_file", csv) == list(df.columns)


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "\ufeffa,b\n1,x\n2,y\n")
    assert read_input("uri_file", path).to_dict("list") == EXPECTED
    assert read_columns("uri_file", path) == ["a", "b"]


def test_missing_values_and_int_gaps(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b\n1,x\n,\n3,z\n")
    df = read_input("uri_file", path)
    assert df["a"].dtype == np.float64
    assert df["b"].isna().tolist() == [False, True, False]


def test_latin1_csv_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "city\nZürich\n", encoding="latin-1")
    pattern = (
        r"d\.csv' does not decode as utf8 at byte 6 \(line 2, byte 0xfc\); it looks like latin1"
    )
    with pytest.raises(DataError, match=pattern + r".*encoding: latin1"):
        read_input("uri_file", path)


def test_latin1_header_is_reported_by_read_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "größe\n1\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"d\.csv' does not decode as utf8 at byte 2 \(line 1"):
        read_columns("uri_file", path)


@pytest.mark.parametrize(
    ("content", "detail"),
    [("", "the file is empty"), ("a,b\n", "only a header line"), ("\n\n", "the file is empty")],
)
def test_empty_csv_has_no_rows(tmp_path: Path, content: str, detail: str) -> None:
    path = write(tmp_path / "d.csv", content)
    with pytest.raises(DataError, match=rf"d\.csv' has no rows \({detail}\)"):
        read_input("uri_file", path)
    with pytest.raises(DataError, match=r"d\.csv' has no rows"):
        read_columns("uri_file", path)


def test_empty_parquet_and_json_have_no_rows(tmp_path: Path) -> None:
    pd.DataFrame({"a": pd.Series([], dtype="float64")}).to_parquet(tmp_path / "e.parquet")
    write(tmp_path / "e.jsonl", "")
    for name in ("e.parquet", "e.jsonl"):
        with pytest.raises(DataError, match=rf"{name.replace('.', '[.]')}' has no rows"):
            read_input("uri_file", tmp_path / name)
        with pytest.raises(DataError, match=r"has no rows"):
            read_columns("uri_file", tmp_path / name)


def test_duplicate_column_names(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,a,b,a,id\n1,2,3,4,5\n")
    pattern = r"d\.csv' has duplicated column names in its header \('a', 'id'\)"
    with pytest.raises(DataError, match=pattern):
        read_input("uri_file", path)
    with pytest.raises(DataError, match=pattern):
        read_columns("uri_file", path)


def test_unnamed_columns_match_between_read_and_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv", ",a\n0,1\n1,2\n"
    )  # what DataFrame.to_csv writes with its index
    assert (
        list(read_input("uri_file", path).columns)
        == read_columns("uri_file", path)
        == ["Unnamed: 0", "a"]
    )


def test_unsupported_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "d.xlsx", b"PK")
    with pytest.raises(
        DataError,
        match=r"d\.xlsx' has an unsupported file type; a uri_file input must end in one of "
        r"\.csv, \.tsv",
    ):
        read_input("uri_file", path)
    with pytest.raises(DataError, match=r"unsupported file type"):
        read_columns("uri_file", path)
    assert ".parquet" in SUPPORTED_EXTENSIONS
    assert ".csv.gz" in SUPPORTED_EXTENSIONS


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = write(tmp_path / "d.parquet", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"d\.parquet' could not be read as Parquet"):
        read_input("uri_file", path)


def test_invalid_json_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", '{"a": 1}\n{"a": 2,\n')
    with pytest.raises(DataError, match=r"Line 2 of '.*d\.jsonl' is not a JSON object"):
        read_input("uri_file", path)
    bad_first = write(tmp_path / "e.jsonl", "oops\n")
    with pytest.raises(DataError, match=r"Line 1 of '.*e\.jsonl'"):
        read_columns("uri_file", bad_first)


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    for kind in ("uri_file", "uri_folder", "mltable"):
        with pytest.raises(
            DataError, match=rf"The {kind} input '.*nowhere\.csv' does not exist; check the path"
        ):
            read_input(kind, tmp_path / "nowhere.csv")
        with pytest.raises(DataError, match=r"does not exist"):
            read_columns(kind, tmp_path / "nowhere.csv")


def test_relative_path_mentions_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"'missing\.csv' \(relative to .*\) does not exist"):
        read_input("uri_file", "missing.csv")


def test_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(
        DataError,
        match=r"'custom_model' is not a data input type cirrusml can read; "
        r"use one of mltable, uri_file, uri_folder",
    ):
        read_input("custom_model", tmp_path)


def test_remote_paths_are_refused() -> None:
    with pytest.raises(DataError, match=r"remote location"):
        read_input("uri_file", "https://example.com/data.csv")
    with pytest.raises(DataError, match=r"remote location"):
        read_input("mltable", "azureml:bank-data:1")


def test_wrong_kind_for_a_folder_or_file(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a\n1\n")
    with pytest.raises(DataError, match=r"uri_file input '.*' is a folder; use type uri_folder"):
        read_input("uri_file", tmp_path)
    with pytest.raises(
        DataError, match=r"uri_folder input '.*d\.csv' is a file; use type uri_file"
    ):
        read_input("uri_folder", path)
    with pytest.raises(DataError, match=r"is a folder"):
        read_columns("uri_file", tmp_path)
    with pytest.raises(DataError, match=r"is a file"):
        read_columns("uri_folder", path)


# --------------------------------------------------------------------------------------------
# uri_folder


def test_uri_folder_concatenates_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "part-2.csv", "a,b\n2,y\n")
    write(tmp_path / "part-1.csv", "a,b\n1,x\n")
    write(tmp_path / "README.md", "notes")
    write(tmp_path / "_SUCCESS", "")
    assert read_input("uri_folder", tmp_path).to_dict("list") == EXPECTED
    assert read_columns("uri_folder", tmp_path) == ["a", "b"]


def test_uri_folder_parquet_and_union_of_columns(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1], "b": ["x"]}).to_parquet(tmp_path / "1.parquet")
    pd.DataFrame({"a": [2], "c": [0.5]}).to_parquet(tmp_path / "2.parquet")
    df = read_input("uri_folder", tmp_path)
    assert list(df.columns) == ["a", "b", "c"] == read_columns("uri_folder", tmp_path)
    assert df["a"].tolist() == [1, 2]


def test_uri_folder_mixed_formats(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "a\n1\n")
    pd.DataFrame({"a": [2]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match=r"uri_folder '.*' mixes file formats \(1 csv, 1 parquet\)"):
        read_input("uri_folder", tmp_path)
    with pytest.raises(DataError, match=r"mixes file formats"):
        read_columns("uri_folder", tmp_path)


def test_uri_folder_without_data(tmp_path: Path) -> None:
    write(tmp_path / "notes.md", "hello")
    with pytest.raises(DataError, match=r"uri_folder '.*' holds no data file \(found: notes\.md\)"):
        read_input("uri_folder", tmp_path)


def test_uri_folder_with_mltable_reads_the_table(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "a;b;c\n1;x;0\n2;y;0\n")
    write(
        tmp_path / "MLTable",
        "paths: [{file: d.csv}]\ntransformations:\n"
        "  - read_delimited: {delimiter: ';'}\n  - drop_columns: c\n",
    )
    assert read_input("uri_folder", tmp_path).to_dict("list") == EXPECTED
    assert read_columns("uri_folder", tmp_path) == ["a", "b"]


# --------------------------------------------------------------------------------------------
# mltable


def test_mltable_folder_and_file() -> None:
    by_folder = read_input("mltable", BANK_TEST)
    by_file = read_input("mltable", BANK_TEST / "MLTable")
    pd.testing.assert_frame_equal(by_folder, by_file)
    assert by_folder.shape == (952, 21)
    assert read_columns("mltable", BANK_TEST)[-1] == "y"
    assert read_input("uri_file", BANK_TEST / "MLTable").shape == (952, 21)


def test_mltable_folder_without_mltable_file(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "a\n1\n")
    with pytest.raises(MLTableError, match=r"Folder '.*' holds no file named MLTable"):
        read_input("mltable", tmp_path)
    with pytest.raises(MLTableError, match=r"holds no file named MLTable"):
        read_columns("mltable", tmp_path)


# --------------------------------------------------------------------------------------------
# read_columns is cheap


def test_read_columns_reads_only_the_start_of_big_files(tmp_path: Path) -> None:
    body = "".join(f"{i},{i % 7}\n" for i in range(20_000))
    path = write(tmp_path / "d.csv", "id,group\n" + body + "broken,row,with,extra,fields\n")
    assert read_columns("uri_file", path) == ["id", "group"]
    with pytest.raises(
        DataError,
        match=r"d\.csv' is not valid delimited text \(Expected 2 fields in line 20002, saw 5\)",
    ):
        read_input("uri_file", path)
    lines = write(tmp_path / "d.jsonl", '{"x": 1, "y": 2}\nnot json at all\n')
    assert read_columns("uri_file", lines) == ["x", "y"]
