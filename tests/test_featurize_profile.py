"""profile_columns: every purpose detected from content, overrides, errors, real datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cirrusml.exceptions import DataError
from cirrusml.featurize import DataProfile, make_featurizer, profile_columns
from cirrusml.featurize._profile import PROFILE_SAMPLE_ROWS
from cirrusml.spec import FeatureType, TabularFeaturizationSettings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "azure-examples"
HARDWARE = (SHARED / "cli-automl-regression-task-hardware-perf" / "training-mltable-folder"
            / "training-machine-dataset.csv")
BANK = SHARED / "hello-automl" / "training-mltable-folder" / "bank_marketing_train_data.csv"

N = 600
WORDS = np.array("the parcel arrived late and the box was damaged but support was kind "
                 "quick refund great service slow reply never again order again soon".split())


def sentences(rng: np.random.Generator, n: int, low: int = 4, high: int = 9) -> pd.Series:
    picks = rng.integers(0, len(WORDS), size=(n, high))
    lengths = rng.integers(low, high + 1, size=n)
    parts = [pd.Series(np.where(lengths > i, WORDS[picks[:, i]], ""), dtype=object)
             for i in range(high)]
    return parts[0].str.cat(parts[1:], sep=" ").str.strip()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    dates = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, N), unit="D")
    mixed = pd.Series([1, "red", 2.5, None, "blue", 3], dtype=object)
    return pd.DataFrame({
        "income": rng.normal(50_000, 9_000, N),
        "rating": rng.integers(1, 6, N),
        "is_member": rng.random(N) < 0.4,
        "signup": pd.Series(dates).dt.strftime("%Y-%m-%d"),
        "signup_us": pd.Series(dates).dt.strftime("%m/%d/%Y"),
        "seen_at": pd.Series(dates),
        "review": sentences(rng, N),
        "order_ref": pd.Series(np.char.add("ord-", rng.permutation(N).astype(str)), dtype=object),
        "row_number": rng.permutation(N) + 1_000,
        "account_balance_cents": rng.integers(0, 10**9, N),
        "country": pd.Series(rng.choice(["fr", "de", "it", "es"], N), dtype=object),
        "city": pd.Series(np.char.add("city", rng.integers(0, 250, N).astype(str)), dtype=object),
        "constant": 5.0,
        "empty": np.nan,
        "mostly_empty": np.where(np.arange(N) % 3 == 0, "x", None),
        "mixed": pd.concat([mixed] * (N // len(mixed)), ignore_index=True),
        "numbers_as_text": pd.Series(rng.normal(size=N).round(3).astype(str), dtype=object),
        "month": pd.Series(rng.choice(["jan", "feb", "may", "jun", "dec"], N), dtype=object),
    })


@pytest.fixture(scope="module")
def profile(frame: pd.DataFrame) -> DataProfile:
    return profile_columns(frame)


@pytest.mark.parametrize(
    ("column", "purpose"),
    [
        ("income", "Numeric"),
        ("rating", "Categorical"),
        ("is_member", "Categorical"),
        ("signup", "DateTime"),
        ("signup_us", "DateTime"),
        ("seen_at", "DateTime"),
        ("review", "Text"),
        ("order_ref", "Hashes"),
        ("row_number", "Hashes"),
        ("account_balance_cents", "Numeric"),
        ("country", "Categorical"),
        ("city", "CategoricalHash"),
        ("constant", "Ignore"),
        ("empty", "AllNan"),
        ("mostly_empty", "Categorical"),
        ("mixed", "Categorical"),
        ("numbers_as_text", "Numeric"),
        ("month", "Categorical"),
    ],
)
def test_purpose_from_content(profile: DataProfile, column: str, purpose: str) -> None:
    assert profile[column].purpose is FeatureType(purpose), profile[column].reason


def test_profile_records_counts_and_reasons(profile: DataProfile, frame: pd.DataFrame) -> None:
    assert list(profile.columns) == list(frame.columns)
    assert profile.n_rows == N
    ref = profile["order_ref"]
    assert ref.n_unique == N and ref.n_missing == 0
    assert "unique" in ref.reason and "id-like" in ref.reason
    assert "whole numbers" in profile["row_number"].reason
    assert profile["empty"].n_missing == N and profile["empty"].n_unique == 0
    assert profile["mostly_empty"].n_missing == N - N // 3
    assert "indicator" in profile["mostly_empty"].reason
    assert profile["signup"].datetime_format == "%Y-%m-%d"
    assert profile["signup_us"].datetime_format == "%m/%d/%Y"
    assert "mixed numbers and text" in profile["mixed"].reason
    assert set(profile.dropped) == {"order_ref", "row_number", "constant", "empty"}
    assert profile.purposes()["city"] == "CategoricalHash"
    assert profile.columns_of("Text") == ["review"]
    as_dict = profile.to_dict()
    assert as_dict["columns"][0]["purpose"] == "Numeric"


def test_dates_without_one_format_and_numbers_that_are_not_dates() -> None:
    rng = np.random.default_rng(3)
    short = pd.Series([f"{m}/{d}/2{y}" for m, d, y in zip(rng.integers(1, 13, 200),
                                                          rng.integers(1, 29, 200),
                                                          rng.integers(0, 4, 200))])
    X = pd.DataFrame({"when": short, "code": pd.Series(rng.integers(1, 13, 200).astype(str))})
    profile = profile_columns(X)
    assert profile["when"].purpose is FeatureType.DATE_TIME
    assert profile["code"].purpose is not FeatureType.DATE_TIME


def test_unhashable_and_odd_cells_do_not_crash() -> None:
    X = pd.DataFrame({
        "lists": pd.Series([[1, 2], [3], None, {"a": 1}] * 10, dtype=object),
        "bytes_and_numbers": pd.Series([b"x", 1, 2.0, "y", None] * 8, dtype=object),
        "nullable_int": pd.array([1, 2, None, 4] * 10, dtype="Int64"),
        "durations": pd.to_timedelta(np.arange(40), unit="h"),
        "infinite": np.r_[np.inf, -np.inf, np.arange(38.0)],
    })
    profile = profile_columns(X)
    assert profile["lists"].purpose in (FeatureType.CATEGORICAL, FeatureType.TEXT)
    assert profile["bytes_and_numbers"].purpose is FeatureType.CATEGORICAL
    assert profile["durations"].purpose is FeatureType.NUMERIC
    assert profile["infinite"].purpose is FeatureType.NUMERIC
    assert profile["nullable_int"].n_missing == 10


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True),
                          st.text(max_size=12), st.booleans()), min_size=1, max_size=60))
def test_any_mixed_object_column_gets_a_purpose(values: list) -> None:
    X = pd.DataFrame({"anything": pd.Series(values, dtype=object)})
    profile = profile_columns(X)
    assert isinstance(profile["anything"].purpose, FeatureType)
    assert profile["anything"].n_missing + profile["anything"].n_unique <= len(values) + 1


def test_large_frames_are_sampled_for_content_checks() -> None:
    rows = PROFILE_SAMPLE_ROWS + 10_000
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=rows),
                      "day": pd.Series(pd.date_range("2000-01-01", periods=rows, freq="h")
                                       ).dt.strftime("%Y-%m-%d %H:%M")})
    profile = profile_columns(X)
    assert profile.sample_rows == PROFILE_SAMPLE_ROWS and profile.n_rows == rows
    assert profile["x"].n_unique == rows  # counts use every row
    assert profile["day"].purpose is FeatureType.DATE_TIME


# ------------------------------------------------------------------------------- overrides


def test_column_name_and_types_overrides_detection(frame: pd.DataFrame) -> None:
    settings = TabularFeaturizationSettings(column_name_and_types={
        "rating": "Numeric", "income": "Categorical", "signup": "Text",
        "country": "CategoricalHash", "review": "Categorical"})
    profile = profile_columns(frame, settings)
    assert profile["rating"].purpose is FeatureType.NUMERIC
    assert profile["income"].purpose is FeatureType.CATEGORICAL
    assert profile["signup"].purpose is FeatureType.TEXT
    assert profile["country"].purpose is FeatureType.CATEGORICAL_HASH
    assert profile["rating"].overridden and not profile["city"].overridden
    assert profile["rating"].reason.startswith("set by column_name_and_types (detected Categorical")


def test_override_to_datetime_finds_a_format() -> None:
    X = pd.DataFrame({"d": ["2020/01/02", "2020/02/03", "2020/03/04", "oops"] * 10})
    settings = TabularFeaturizationSettings(column_name_and_types={"d": "DateTime"})
    profile = profile_columns(X, settings)
    assert profile["d"].purpose is FeatureType.DATE_TIME
    assert profile["d"].datetime_format == "%Y/%m/%d"


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        (TabularFeaturizationSettings(column_name_and_types={"incom": "Numeric"}),
         "column_name_and_types"),
        (TabularFeaturizationSettings(transformer_params={
            "imputer": [{"fields": ["income", "salary"], "parameters": {"strategy": "median"}}]}),
         "transformer_params.imputer"),
        (TabularFeaturizationSettings(transformer_params={
            "hash_one_hot_encoder": [{"fields": ["town"], "parameters": {"number_of_bits": 3}}]}),
         "transformer_params.hash_one_hot_encoder"),
    ],
)
def test_settings_naming_a_missing_column_raise(frame: pd.DataFrame,
                                                settings: TabularFeaturizationSettings,
                                                setting: str) -> None:
    with pytest.raises(DataError) as info:
        profile_columns(frame, settings)
    message = str(info.value)
    assert setting in message
    assert "'income'" in message and "'review'" in message  # the columns are listed
    if setting == "column_name_and_types":
        assert "'incom'" in message and "Did you mean 'income'" in message


def test_profile_needs_a_dataframe() -> None:
    with pytest.raises(DataError, match="DataFrame"):
        profile_columns(np.zeros((3, 2)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- real datasets


def test_hardware_dataset_model_name_is_id_like_and_dropped() -> None:
    data = pd.read_csv(HARDWARE)
    X, y = data.drop(columns=["ERP"]), data["ERP"]
    profile = profile_columns(X)
    assert profile["ModelName"].purpose is FeatureType.HASHES
    assert profile["VendorName"].purpose is FeatureType.CATEGORICAL
    assert profile["CHMIN"].purpose is FeatureType.NUMERIC
    featurizer = make_featurizer(profile, None, native_categorical=False, scale=True,
                                 task="regression")
    out = featurizer.fit_transform(X, y)
    assert "ModelName" not in set(featurizer.feature_map_.values())
    assert out.shape == (len(X), len(featurizer.get_feature_names_out()))
    assert not out.isna().any().any()


def test_hardware_dataset_chmin_override_is_categorical() -> None:
    data = pd.read_csv(HARDWARE)
    X, y = data.drop(columns=["ERP"]), data["ERP"]
    settings = TabularFeaturizationSettings(column_name_and_types={"CHMIN": "Categorical"})
    profile = profile_columns(X, settings)
    assert profile["CHMIN"].purpose is FeatureType.CATEGORICAL
    featurizer = make_featurizer(profile, settings, native_categorical=False, scale=False,
                                 task="regression")
    out = featurizer.fit_transform(X, y)
    chmin = [n for n, raw in featurizer.feature_map_.items() if raw == "CHMIN"]
    assert "CHMIN_1" in chmin and "CHMIN_8" in chmin and "CHMIN" not in chmin
    assert set(np.unique(out[chmin].to_numpy())) <= {0.0, 1.0}
    native = make_featurizer(profile, settings, native_categorical=True, scale=False,
                             task="regression").fit_transform(X, y)
    assert isinstance(native["CHMIN"].dtype, pd.CategoricalDtype)
    # Categories are the values' text: XGBoost refuses floating-point categories.
    assert native["CHMIN"].cat.categories.tolist()[:3] == ["0.0", "1.0", "2.0"]
    import xgboost

    xgboost.XGBRegressor(n_estimators=5, enable_categorical=True, tree_method="hist").fit(
        native, y)


def test_bank_marketing_profiles_and_featurizes() -> None:
    data = pd.read_csv(BANK)
    X, y = data.drop(columns=["y"]), data["y"]
    profile = profile_columns(X)
    purposes = profile.purposes()
    for column in ("job", "marital", "education", "month", "day_of_week", "poutcome"):
        assert purposes[column] == "Categorical"
    for column in ("age", "duration", "euribor3m", "emp.var.rate", "nr.employed"):
        assert purposes[column] == "Numeric"
    assert purposes["previous"] == "Categorical"  # whole numbers 0..7
    assert not profile.dropped
    native = make_featurizer(profile, None, native_categorical=True, scale=False,
                             task="classification")
    out = native.fit_transform(X, y)
    assert isinstance(out["job"].dtype, pd.CategoricalDtype)
    assert out.shape[1] == len(native.get_feature_names_out())
    onehot = make_featurizer(profile, None, native_categorical=False, scale=True,
                             task="classification")
    dense = onehot.fit_transform(X, y)
    assert (dense.dtypes == np.float64).all()
    assert "job_admin." in dense.columns and "month_may" in dense.columns
    assert not np.isnan(dense.to_numpy()).any()
