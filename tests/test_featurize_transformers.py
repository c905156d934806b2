"""AutoFeaturizer: every transformer, blocking, modes, leakage, the estimator contract."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from lightgbm import LGBMClassifier
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize import (
    AutoFeaturizer,
    InputColumns,
    make_featurizer,
    profile_columns,
    render_featurization_summary,
)
from cirrusml.featurize._build import ONE_HOT_MAX_CATEGORIES
from cirrusml.spec import TabularFeaturizationSettings

N = 400


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(11)
    colour = pd.Series(rng.choice(["red", "green", "blue"], N), dtype=object)
    colour[rng.random(N) < 0.1] = np.nan
    size = rng.normal(10, 3, N)
    size[::7] = np.nan
    words = np.array("cheap fast broken lovely late refund great awful box parcel".split())
    notes = pd.Series(words[rng.integers(0, 10, N)], dtype=object).str.cat(
        [pd.Series(words[rng.integers(0, 10, N)]) for _ in range(4)], sep=" ")
    X = pd.DataFrame({
        "size": size,
        "weight": rng.normal(70, 10, N),
        "colour": colour,
        "store": pd.Series(np.char.add("s", rng.integers(0, 300, N).astype(str)), dtype=object),
        "when": (pd.Timestamp("2022-01-01")
                 + pd.to_timedelta(rng.integers(0, 700, N), unit="D")).strftime("%Y-%m-%d"),
        "notes": notes,
        "ticket": pd.Series(np.char.add("t", np.arange(N).astype(str)), dtype=object),
    })
    y = pd.Series(np.where(np.nan_to_num(size, nan=10) + rng.normal(0, 2, N) > 10, "yes", "no"))
    return X, y


def featurizer_for(X: pd.DataFrame, settings: TabularFeaturizationSettings | None = None, *,
                   native: bool = False, scale: bool = False,
                   task: str = "classification") -> AutoFeaturizer:
    return make_featurizer(profile_columns(X, settings), settings, native_categorical=native,
                           scale=scale, task=task, seed=0)


def names_of(featurizer: AutoFeaturizer, raw: str) -> list[str]:
    return [n for n, r in featurizer.feature_map_.items() if r == raw]


# ---------------------------------------------------------------------------------- imputation


def test_numeric_mean_imputation_and_indicators(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    dense = X[["size", "weight", "colour"]]
    f = featurizer_for(dense)
    out = f.fit_transform(dense, y)
    assert list(f.get_feature_names_out()[:2]) == ["size", "weight"]
    assert "size_WASNULL" in out.columns and "colour_WASNULL" in out.columns
    assert "weight_WASNULL" not in out.columns  # nothing missing there
    missing = X["size"].isna().to_numpy()
    np.testing.assert_allclose(out.loc[missing, "size"], np.nanmean(X["size"]))
    np.testing.assert_array_equal(out["size_WASNULL"], missing.astype(float))
    # At prediction time the training mean fills, and the indicator still marks.
    new = pd.DataFrame({"size": [np.nan, 1.0], "weight": [np.nan, 2.0], "colour": [None, "red"]})
    scored = f.transform(new)
    assert scored.loc[0, "size"] == pytest.approx(np.nanmean(X["size"]))
    assert scored.loc[0, "weight"] == pytest.approx(X["weight"].mean())
    assert scored["size_WASNULL"].tolist() == [1.0, 0.0]
    assert scored.loc[0, "colour_" + X["colour"].mode()[0]] == 1.0


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"strategy": "median"}, lambda s: np.nanmedian(s)),
        ({"strategy": "most_frequent"}, lambda s: pd.Series(s).mode().min()),
        ({"strategy": "constant", "fill_value": -1}, lambda s: -1.0),
        ({"strategy": "mean"}, lambda s: np.nanmean(s)),
    ],
)
def test_custom_numeric_imputers(parameters: dict, expected) -> None:
    values = np.array([1.0, 2.0, 2.0, 9.0, np.nan, 4.0, np.nan, 2.0] * 5)
    X = pd.DataFrame({"v": values, "other": np.arange(40.0)})
    settings = TabularFeaturizationSettings(mode="custom", transformer_params={
        "imputer": [{"fields": ["v"], "parameters": parameters}]})
    f = featurizer_for(X, settings, task="regression")
    out = f.fit_transform(X, pd.Series(np.arange(40.0)))
    assert out.loc[np.isnan(values), "v"].unique().tolist() == [pytest.approx(expected(values))]
    summary = {e["raw_column"]: e for e in f.featurization_summary()}
    strategy = parameters["strategy"]
    assert summary["v"]["transformations"][0] == {
        "mean": "MeanImputer", "median": "MedianImputer", "most_frequent": "ModeImputer",
        "constant": "ConstantImputer"}[strategy]


def test_constant_imputer_for_categories_adds_the_fill_category() -> None:
    X = pd.DataFrame({"c": pd.Series(["a", "b", None, "a", None, "b"] * 5, dtype=object)})
    settings = TabularFeaturizationSettings(transformer_params={
        "imputer": [{"fields": ["c"],
                     "parameters": {"strategy": "constant", "fill_value": "none"}}]})
    f = featurizer_for(X, settings)
    out = f.fit_transform(X, pd.Series([0, 1] * 15))
    assert out.loc[X["c"].isna(), "c_none"].eq(1.0).all()
    assert out.loc[X["c"].notna(), "c_none"].eq(0.0).all()


def test_ffill_is_for_forecasting_only() -> None:
    X = pd.DataFrame({"v": [1.5, np.nan, 3.25, np.nan] * 10, "w": np.arange(40.0)})
    settings = TabularFeaturizationSettings(transformer_params={
        "imputer": [{"fields": ["v"], "parameters": {"strategy": "ffill"}}]})
    with pytest.raises(DataError, match="'ffill' for 'v'.*forecasting"):
        featurizer_for(X, settings, task="regression")
    f = featurizer_for(X, settings, task="forecasting")
    out = f.fit_transform(X, pd.Series(np.arange(40.0)))
    assert out["v"].tolist()[:4] == [1.5, 1.5, 3.25, 3.25]
    grades = pd.DataFrame({"g": ["a", None, "b", "a"] * 10, "w": np.arange(40.0)})
    settings = TabularFeaturizationSettings(transformer_params={
        "imputer": [{"fields": ["g"], "parameters": {"strategy": "ffill"}}]})
    with pytest.raises(DataError, match="'ffill'.*numeric"):
        featurizer_for(grades, settings, task="forecasting")


def test_numeric_strategy_on_categories_is_an_error(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    settings = TabularFeaturizationSettings(transformer_params={
        "imputer": [{"fields": ["colour"], "parameters": {"strategy": "mean"}}]})
    with pytest.raises(DataError, match="'mean' needs numbers, but column 'colour' is Categorical"):
        featurizer_for(X, settings)


# ----------------------------------------------------------------------------------- datetimes


def test_datetime_parts_and_constant_parts_dropped() -> None:
    stamps = pd.Series(pd.to_datetime(["2021-03-15 10:30:45", "2022-12-31 23:59:01",
                                       "2020-07-04 00:00:00", None] * 5))
    X = pd.DataFrame({"at": stamps, "day": stamps.dt.strftime("%d.%m.%Y"), "x": np.arange(20.0)})
    f = featurizer_for(X, task="regression")
    out = f.fit_transform(X, pd.Series(np.arange(20.0)))
    at = names_of(f, "at")
    assert at == ["at_Year", "at_Month", "at_Day", "at_DayOfWeek", "at_DayOfYear", "at_Quarter",
                  "at_WeekOfYear", "at_Hour", "at_Minute", "at_Second", "at_WASNULL"]
    day = names_of(f, "day")
    assert "day_Hour" not in day and "day_Minute" not in day and "day_Year" in day
    first = out.iloc[0]
    assert [first[f"at_{p}"] for p in ("Year", "Month", "Day", "DayOfWeek", "DayOfYear", "Quarter",
                                       "WeekOfYear", "Hour", "Minute", "Second")] == \
        [2021, 3, 15, 0, 74, 1, 11, 10, 30, 45]
    assert first["day_DayOfYear"] == 74
    # A missing or unparseable date becomes the median training date, flagged by WASNULL.
    scored = f.transform(pd.DataFrame({"at": [pd.NaT], "day": ["not a date"], "x": [1.0]}))
    median = stamps.dropna().astype("int64").median()
    assert scored.loc[0, "at_Year"] == pd.Timestamp(int(median)).year
    assert scored.loc[0, "at_WASNULL"] == 1.0


def test_timezone_aware_datetimes_keep_their_local_clock() -> None:
    X = pd.DataFrame({"at": pd.date_range("2020-01-01 00:30", periods=400, freq="23h",
                                          tz="Europe/Paris")})
    f = featurizer_for(X, task="regression")
    out = f.fit_transform(X, pd.Series(np.arange(400.0)))
    assert out.loc[0, ["at_Year", "at_Month", "at_Day", "at_Hour"]].tolist() == [2020, 1, 1, 0]


# ---------------------------------------------------------------------------------- categories


def test_one_hot_with_unseen_categories(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = featurizer_for(X[["colour", "weight"]])
    f.fit(X[["colour", "weight"]], y)
    assert names_of(f, "colour") == ["colour_WASNULL", "colour_blue", "colour_green", "colour_red"]
    scored = f.transform(pd.DataFrame({"colour": ["purple", "green"], "weight": [1.0, 2.0]}))
    onehot = ["colour_blue", "colour_green", "colour_red"]
    assert scored.loc[0, onehot].tolist() == [0.0, 0.0, 0.0]  # unseen: no column lit
    assert scored.loc[1, onehot].tolist() == [0.0, 1.0, 0.0]


def test_one_hot_width_is_bounded_and_rare_values_grouped() -> None:
    rng = np.random.default_rng(0)
    codes = np.r_[rng.integers(0, 90, 3000), np.arange(90, 99)]  # 9 categories seen once
    X = pd.DataFrame({"c": pd.Series(np.char.add("v", codes.astype(str)), dtype=object)})
    f = featurizer_for(X)
    assert profile_columns(X)["c"].purpose.value == "Categorical"
    out = f.fit_transform(X, pd.Series(codes % 2))
    assert out.shape[1] == ONE_HOT_MAX_CATEGORIES
    assert "c_infrequent" in out.columns
    assert out.loc[len(codes) - 1, "c_infrequent"] == 1.0
    assert f.transform(pd.DataFrame({"c": ["never-seen"]}))["c_infrequent"].item() == 1.0


def test_native_categories_fixed_at_fit(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    subset = X[["colour", "size"]]
    f = featurizer_for(subset, native=True)
    out = f.fit_transform(subset, y)
    assert isinstance(out["colour"].dtype, pd.CategoricalDtype)
    assert out["colour"].cat.categories.tolist() == ["blue", "green", "red"]
    assert out["colour"].notna().all()  # missing values were imputed with the mode
    assert out.columns[-1] == "colour"
    scored = f.transform(pd.DataFrame({"colour": ["purple", "red", None], "size": [1.0] * 3}))
    assert scored["colour"].cat.categories.tolist() == ["blue", "green", "red"]
    assert pd.isna(scored.loc[0, "colour"]) and scored.loc[1, "colour"] == "red"
    assert scored.loc[2, "colour_WASNULL"] == 1.0


def test_numbers_as_categories_accept_text_at_prediction() -> None:
    X = pd.DataFrame({"grade": [1, 2, 3, 2, 1, 3] * 10})
    f = featurizer_for(X, native=True)
    f.fit(X, pd.Series([0, 1] * 30))
    scored = f.transform(pd.DataFrame({"grade": ["2", 3.0, 7]}))
    assert scored["grade"].astype(object).tolist()[:2] == ["2.0", "3.0"]
    assert pd.isna(scored["grade"].iloc[2])


def test_high_cardinality_is_target_encoded(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    subset = X[["store", "weight"]]
    f = featurizer_for(subset)
    out = f.fit_transform(subset, y)
    assert names_of(f, "store") == ["store_CatTargetEncoder"]
    assert out["store_CatTargetEncoder"].between(0, 1).all()
    multi = pd.Series(np.array(["a", "b", "c"])[np.arange(N) % 3])
    f3 = featurizer_for(subset)
    f3.fit(subset, multi)
    assert names_of(f3, "store") == ["store_CatTargetEncoder_a", "store_CatTargetEncoder_b",
                                     "store_CatTargetEncoder_c"]
    unseen = f3.transform(pd.DataFrame({"store": ["nowhere"], "weight": [1.0]}))
    assert unseen.filter(like="CatTarget").sum(axis=1).item() == pytest.approx(1.0, abs=0.05)


def test_hashing_bit_width_from_transformer_params(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    subset = X[["store", "weight"]]
    settings = TabularFeaturizationSettings(transformer_params={
        "hash_one_hot_encoder": [{"fields": ["store"], "parameters": {"number_of_bits": 4}}]})
    f = featurizer_for(subset, settings)
    out = f.fit_transform(subset, y)
    assert sp.isspmatrix_csr(out) and out.dtype == np.float32
    hashed = names_of(f, "store")
    assert len(hashed) == 16 and hashed[0] == "store_hash_00"
    block = out[:, [list(f.get_feature_names_out()).index(n) for n in hashed]]
    assert (block.sum(axis=1) == 1).all()  # one bucket per row
    scored = f.transform(pd.DataFrame({"store": ["brand-new"], "weight": [3.0]}))
    assert scored.shape == (1, out.shape[1])


def test_hashing_rejected_for_a_numeric_column(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    settings = TabularFeaturizationSettings(transformer_params={
        "hash_one_hot_encoder": [{"fields": ["weight"], "parameters": {"number_of_bits": 4}}]})
    with pytest.raises(DataError, match="categorical columns, but 'weight' is Numeric"):
        featurizer_for(X, settings)


# ---------------------------------------------------------------------------------------- text


def test_tfidf_makes_sparse_output_and_categoricals_one_hot(
        data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = featurizer_for(X, native=True)
    out = f.fit_transform(X, y)
    assert sp.isspmatrix_csr(out) and out.dtype == np.float32
    names = list(f.get_feature_names_out())
    assert out.shape == (N, len(names))
    assert any(n.startswith("notes_tfidf_word_") for n in names)
    assert any(n.startswith("notes_tfidf_char_") for n in names)
    assert "colour_red" in names  # native categories give way to one-hot in sparse output
    assert "ticket" not in set(f.feature_map_.values())
    summary = {e["raw_column"]: e for e in f.featurization_summary()}
    assert summary["notes"]["transformations"][-2:] == ["TfIdf (word 1-2-grams)",
                                                        "TfIdf (char 3-4-grams)"]
    assert any("sparse" in note for note in f.notes_)


def test_tfidf_vocabulary_is_bounded_by_parameters(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    settings = TabularFeaturizationSettings(transformer_params={
        "tf_idf": [{"fields": ["notes"], "parameters": {"max_features": 7}}]})
    f = featurizer_for(X[["notes", "weight"]], settings)
    f.fit(X[["notes", "weight"]], y)
    assert len(names_of(f, "notes")) == 7


# ------------------------------------------------------------------------------------- scaling


def test_scaling_dense_outputs(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    subset = X[["size", "weight", "colour", "when"]]
    out = featurizer_for(subset, scale=True).fit_transform(subset, y)
    for column in ("size", "weight", "when_Year", "when_Month"):
        assert out[column].mean() == pytest.approx(0, abs=1e-9)
        assert out[column].std(ddof=0) == pytest.approx(1, abs=1e-9)
    assert set(np.unique(out["colour_red"])) == {0.0, 1.0}  # indicators stay 0/1


def test_scaling_with_sparse_output(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = featurizer_for(X, scale=True)
    out = f.fit_transform(X, y)
    weight = out[:, list(f.get_feature_names_out()).index("weight")].toarray().ravel()
    assert weight.mean() == pytest.approx(0, abs=1e-5)
    assert weight.std() == pytest.approx(1, abs=1e-4)


# --------------------------------------------------------------------------------------- blocking


def blocked(X: pd.DataFrame, y: pd.Series, names: list[str],
            native: bool = False) -> AutoFeaturizer:
    settings = TabularFeaturizationSettings(blocked_transformers=names)
    f = featurizer_for(X, settings, native=native)
    f.fit(X, y)
    return f


def test_blocked_one_hot_falls_back_to_label_codes(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    subset = X[["colour", "weight"]]
    f = blocked(subset, y, ["OneHotEncoder"])
    assert names_of(f, "colour") == ["colour", "colour_WASNULL"]
    codes = f.transform(pd.DataFrame({"colour": ["blue", "red", "mauve"], "weight": [1.0] * 3}))
    assert codes["colour"].tolist() == [0.0, 2.0, -1.0]
    summary = f.featurization_summary()[0]
    assert "LabelEncoder" in summary["transformations"]
    assert "OneHotEncoder (blocked) skipped: LabelEncoder used instead" in summary["notes"]
    both = blocked(subset, y, ["OneHotEncoder", "LabelEncoder"])
    assert names_of(both, "colour")[0] == "colour_CatTargetEncoder"


def test_blocked_label_encoder_turns_off_native_categories(
        data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = blocked(X[["colour", "weight"]], y, ["label_encoder"], native=True)
    assert "colour_red" in f.get_feature_names_out()


def test_blocked_target_encoder_falls_back_to_hashing(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = blocked(X[["store", "weight"]], y, ["CatTargetEncoder"])
    assert len(names_of(f, "store")) == 2 ** 10
    assert f.sparse_output_
    none_left = blocked(X[["store", "weight"]], y,
                        ["CatTargetEncoder", "HashOneHotEncoder", "LabelEncoder"])
    entry = none_left.featurization_summary()[0]
    assert entry["dropped"] and entry["engineered_features"] == 0
    assert entry["notes"][-1].startswith("dropped: every encoder")


def test_blocked_text_transformers(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    subset = X[["notes", "weight"]]
    counts = blocked(subset, y, ["TfIdf"])
    assert all("_count_word_" in n for n in names_of(counts, "notes"))
    dropped = blocked(subset, y, ["TfIdf", "CountVectorizer"])
    assert names_of(dropped, "notes") == []
    assert not dropped.sparse_output_
    assert dropped.featurization_summary()[0]["dropped"]


def test_blocking_unused_transformers_changes_nothing(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    plain = featurizer_for(X).fit_transform(X, y)
    f = featurizer_for(X, TabularFeaturizationSettings(
        blocked_transformers=["WordEmbedding", "NaiveBayes", "TextTargetEncoder",
                              "WoETargetEncoder"]))
    out = f.fit_transform(X, y)
    assert (plain != out).nnz == 0
    assert sum("changes nothing" in n for n in f.notes_) == 4


# ---------------------------------------------------------------------------------------- modes


def test_mode_off_passes_numbers_and_rejects_the_rest(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    numeric = X[["size", "weight"]].assign(flag=X["weight"] > 70)
    f = featurizer_for(numeric, TabularFeaturizationSettings(mode="off"))
    out = f.fit_transform(numeric, y)
    assert list(out.columns) == ["size", "weight", "flag"]
    np.testing.assert_array_equal(out["size"].to_numpy(), numeric["size"].to_numpy())
    settings = TabularFeaturizationSettings(mode="off")
    with pytest.raises(DataError) as info:
        featurizer_for(X, settings)
    message = str(info.value)
    assert "'colour' (object)" in message and "'notes' (object)" in message
    assert "'size'" not in message and "'auto' or 'custom'" in message
    with pytest.raises(DataError, match="'colour'"):
        AutoFeaturizer(mode="off").fit(X, y)


def test_mode_custom_applies_overrides(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    settings = TabularFeaturizationSettings(mode="custom", column_name_and_types={"ticket": "Text"},
                                            blocked_transformers=["tf_idf"])
    f = featurizer_for(X[["ticket", "weight"]], settings)
    f.fit(X[["ticket", "weight"]], y)
    assert names_of(f, "ticket") and all("_count_word_" in n for n in names_of(f, "ticket"))


def test_everything_dropped_is_an_error() -> None:
    X = pd.DataFrame({"id": [f"u{i}" for i in range(50)], "c": 1})
    with pytest.raises(DataError, match="no features"):
        featurizer_for(X).fit(X, pd.Series([0, 1] * 25))


# -------------------------------------------------------------------------------------- leakage


def test_target_encoding_cannot_leak_a_random_id() -> None:
    rng = np.random.default_rng(5)
    n = 1500
    X = pd.DataFrame({"noise_id": pd.Series(np.char.add("k", rng.permutation(n).astype(str)),
                                            dtype=object),
                      "near_id": pd.Series(np.char.add("g", rng.integers(0, n // 2, n).astype(str)),
                                           dtype=object)})
    y = pd.Series(rng.integers(0, 2, n))
    settings = TabularFeaturizationSettings(column_name_and_types={"noise_id": "CategoricalHash"})
    assert profile_columns(X, settings)["near_id"].purpose.value == "CategoricalHash"
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for columns, model in ((["noise_id"], LogisticRegression()),
                           (["near_id"], LGBMClassifier(n_estimators=50, verbose=-1))):
        chosen = settings if columns == ["noise_id"] else None
        featurizer = make_featurizer(profile_columns(X[columns], chosen), chosen,
                                     native_categorical=False, scale=False, task="classification")
        pipe = Pipeline([("datatransformer", featurizer), ("model", model)])
        oof = cross_val_predict(pipe, X[columns], y, cv=folds, method="predict_proba")[:, 1]
        assert roc_auc_score(y, oof) < 0.6
        # Without cross-fitting (fit, then transform the same rows) the encoding is the target.
        leaky = clone(featurizer).fit(X[columns], y).transform(X[columns])
        in_sample = clone(model).fit(leaky, y).predict_proba(leaky)[:, 1]
        assert roc_auc_score(y, in_sample) > 0.8


# ----------------------------------------------------------------------------- estimator contract


def test_clone_pickle_and_names(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = featurizer_for(X, native=False, scale=True)
    twin = clone(f)
    assert twin.get_params() == f.get_params()
    with pytest.raises(NotFittedError):
        twin.transform(X)
    with pytest.raises(NotFittedError):
        twin.get_feature_names_out()
    f.fit(X, y)
    restored = pickle.loads(pickle.dumps(f))
    a, b = f.transform(X.head(30)), restored.transform(X.head(30))
    assert (a != b).nnz == 0
    assert a.shape[1] == len(f.get_feature_names_out()) == len(f.feature_map_)
    assert set(f.feature_map_.values()) <= set(X.columns)


def test_names_match_width_for_every_output_kind(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    for columns in (["size", "colour", "when"], list(X.columns)):
        for native in (True, False):
            f = featurizer_for(X[columns], native=native)
            out = f.fit_transform(X[columns], y)
            names = f.get_feature_names_out()
            assert out.shape[1] == len(names) == len(set(names))
            if isinstance(out, pd.DataFrame):
                assert list(out.columns) == list(names)
            summary = f.featurization_summary()
            assert sum(e["engineered_features"] for e in summary) == len(names)


def test_missing_column_at_transform(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = featurizer_for(X[["size", "colour"]]).fit(X[["size", "colour"]], y)
    with pytest.raises(DataError, match="'colour'"):
        f.transform(X[["size"]])


def test_standalone_featurizer_profiles_at_fit(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = AutoFeaturizer(task="classification").fit(X[["size", "colour", "ticket"]], y)
    assert set(f.feature_map_.values()) == {"size", "colour"}


def test_summary_and_rendering(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    f = featurizer_for(X).fit(X, y)
    summary = f.featurization_summary()
    assert [e["raw_column"] for e in summary] == list(X.columns)
    entry = {e["raw_column"]: e for e in summary}
    assert set(entry["size"]) >= {"raw_column", "detected_type", "dropped", "transformations",
                                  "engineered_features"}
    assert entry["ticket"]["dropped"] and entry["ticket"]["detected_type"] == "Hashes"
    assert entry["size"]["transformations"] == ["MeanImputer", "ImputationMarker"]
    assert entry["when"]["engineered_features"] >= 5
    text = render_featurization_summary(summary, f.notes_)
    assert "Raw column" in text and "CatTargetEncoder" in text and "id-like" in text


def test_in_a_pipeline_with_lightgbm_native_categories() -> None:
    rng = np.random.default_rng(2)
    n = 1000
    X = pd.DataFrame({"segment": pd.Series(rng.choice(list("abcde"), n), dtype=object),
                      "amount": rng.gamma(2, 10, n)})
    y = pd.Series(((X["segment"] == "c") ^ (X["amount"] > 25)).astype(int))
    f = featurizer_for(X, native=True)
    pipe = Pipeline([("inputs", InputColumns()), ("datatransformer", f),
                     ("model", LGBMClassifier(n_estimators=30, verbose=-1))])
    pipe.fit(X.iloc[:800], y.iloc[:800])
    later = X.iloc[800:].assign(segment=lambda d: d["segment"].replace("e", "z"))  # unseen "z"
    proba = pipe.predict_proba(later)
    assert roc_auc_score(y.iloc[800:], proba[:, 1]) > 0.9
