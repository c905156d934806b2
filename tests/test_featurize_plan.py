"""The featurization plan: pure decisions per column, shared by both featurizers and the summary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cirrusml.exceptions import DataError
from cirrusml.featurize import (
    AutoFeaturizer,
    FeaturizationPlan,
    OnnxCompatibleFeaturizer,
    compute_guardrails,
    make_featurizer,
    make_onnx_featurizer,
    plan_columns,
    plan_featurization,
    profile_columns,
)
from cirrusml.featurize._profile import FeaturizationOptions
from cirrusml.featurize._summary import summarize_plan
from cirrusml.spec import TabularFeaturizationSettings, TaskType
from cirrusml.tasks import as_task, task_for

N = 300
#: What an ONNX-compatible plan may use.
ONNX_TREATMENTS = {"off", "numeric", "datetime", "onehot", "ordinal", "dropped"}
ONNX_ENCODERS = {None, "OneHotEncoder", "LabelEncoder", "SecondsSinceEpoch"}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    colour = pd.Series(rng.choice(["red", "green", "blue"], N), dtype=object)
    colour[rng.random(N) < 0.1] = np.nan
    words = np.array("cheap fast broken lovely late refund great awful box parcel".split())
    notes = pd.Series(words[rng.integers(0, 10, N)], dtype=object).str.cat(
        [pd.Series(words[rng.integers(0, 10, N)]) for _ in range(4)], sep=" ")
    X = pd.DataFrame({
        "size": np.where(rng.random(N) < 0.1, np.nan, rng.normal(10, 3, N)),
        "colour": colour,
        "store": pd.Series(np.char.add("s", rng.integers(0, 250, N).astype(str)), dtype=object),
        "when": (pd.Timestamp("2022-01-01")
                 + pd.to_timedelta(rng.integers(0, 700, N), unit="D")).strftime("%Y-%m-%d"),
        "notes": notes,
        "ticket": pd.Series(np.char.add("t", np.arange(N).astype(str)), dtype=object),
    })
    y = pd.Series(np.where(rng.random(N) > 0.5, "yes", "no"))
    return X, y


def treatments(plan: FeaturizationPlan) -> dict[str, tuple[str, str | None]]:
    return {c.name: (c.treatment, c.encoder) for c in plan.columns}


def test_plan_names_the_transformers_of_each_column(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    plan = plan_featurization(profile_columns(X), task="classification")
    assert treatments(plan) == {
        "size": ("numeric", None),
        "colour": ("onehot", "OneHotEncoder"),
        "store": ("target", "CatTargetEncoder"),
        "when": ("datetime", "DateTimeFeaturesTransformer"),
        "notes": ("text", "TfIdf"),
        "ticket": ("dropped", None),
    }
    assert plan.column("size").imputer == "mean"
    assert plan.column("colour").imputer == "most_frequent"
    assert plan.dropped == {"ticket": "dropped: id-like (nearly every value unique)"}
    assert plan.sparse
    assert plan.kept == ["size", "colour", "store", "when", "notes"]
    assert plan.column("colour").naming == "{column}_{category}"
    assert plan.groups["text"] == ["notes"]
    assert plan.groups["native"] == []


def test_native_categories_need_a_dense_output(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    dense = plan_featurization(profile_columns(X[["size", "colour"]]), native_categorical=True)
    assert treatments(dense)["colour"] == ("native", "NativeCategory")
    assert not dense.notes
    sparse = plan_featurization(profile_columns(X), native_categorical=True)
    assert treatments(sparse)["colour"] == ("onehot", "OneHotEncoder")
    assert any("sparse" in note for note in sparse.notes)


def test_blocked_encoders_fall_back_with_a_note(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    settings = TabularFeaturizationSettings(blocked_transformers=["OneHotEncoder", "TfIdf",
                                                                  "WordEmbedding"])
    plan = plan_featurization(profile_columns(X, settings), settings)
    colour = plan.column("colour")
    assert (colour.treatment, colour.encoder) == ("ordinal", "LabelEncoder")
    assert colour.notes == ("OneHotEncoder (blocked) skipped: LabelEncoder used instead",)
    assert plan.column("notes").encoder == "CountVectorizer"
    assert plan.notes == ("WordEmbedding is blocked; cirrusml does not use it, so this changes "
                          "nothing",)


def test_target_encoding_needs_a_target() -> None:
    options = FeaturizationOptions()
    with_target = plan_columns({"store": "CategoricalHash"}, options)
    without = plan_columns({"store": "CategoricalHash"}, options, has_target=False)
    assert with_target.column("store").encoder == "CatTargetEncoder"
    assert without.column("store").encoder == "HashOneHotEncoder"
    assert "fitted without a target" in without.column("store").notes[0]


def test_scaling_applies_to_numbers_codes_and_encodings(
        data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    plan = plan_featurization(profile_columns(X), scale=True)
    scaled = {c.name for c in plan.columns if c.scaled}
    assert scaled == {"size", "when", "store"}
    assert plan.column("size").transformations() == ["MeanImputer", "StandardScaler"]


@pytest.mark.parametrize("blocked", [[], ["OneHotEncoder"], ["OneHotEncoder", "LabelEncoder"],
                                     ["CatTargetEncoder", "HashOneHotEncoder"]])
@pytest.mark.parametrize("mode", ["auto", "off"])
def test_onnx_plans_use_only_convertible_parts(data: tuple[pd.DataFrame, pd.Series],
                                                blocked: list[str], mode: str) -> None:
    X, _ = data
    columns = X if mode == "auto" else X[["size"]]
    settings = TabularFeaturizationSettings(mode=mode, blocked_transformers=blocked or None)
    plan = plan_featurization(profile_columns(columns, settings), settings, scale=True,
                              native_categorical=True, onnx=True)
    assert plan.onnx
    assert not plan.sparse
    for column in plan.columns:
        assert column.treatment in ONNX_TREATMENTS, column
        assert column.encoder in ONNX_ENCODERS, column
        assert column.dropped or column.input_kind in ("numeric", "datetime", "categorical")
    if mode == "auto":
        assert plan.column("notes").dropped  # text has no ONNX-compatible form
        assert plan.column("store").treatment in ("onehot", "ordinal", "dropped")


def test_plans_are_pure_and_frozen(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    profile = profile_columns(X)
    first = plan_featurization(profile, scale=True, task="classification")
    assert first == plan_featurization(profile, scale=True, task="classification")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.columns[0].treatment = "dropped"  # type: ignore[misc]


def test_ffill_follows_the_task() -> None:
    X = pd.DataFrame({"v": [1.5, np.nan, 3.25, np.nan] * 10, "w": np.arange(40.0)})
    settings = TabularFeaturizationSettings(transformer_params={
        "imputer": [{"fields": ["v"], "parameters": {"strategy": "ffill"}}]})
    profile = profile_columns(X, settings)
    with pytest.raises(DataError, match="forecasting jobs only; for a regression job"):
        plan_featurization(profile, settings, task=task_for(TaskType.REGRESSION))
    plan = plan_featurization(profile, settings, task="forecasting")
    assert plan.column("v").transformations() == ["ForwardFillImputer"]
    with pytest.raises(DataError, match="forecasting only"):
        plan_featurization(profile, settings, task="forecasting", onnx=True)


def test_everything_dropped_is_refused_by_the_plan() -> None:
    plan = plan_columns({"id": "Hashes", "c": "Ignore"}, FeaturizationOptions())
    with pytest.raises(DataError, match="no features.*'id': dropped: id-like"):
        plan.check_kept()


def test_featurizers_are_built_from_the_plan(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    settings = TabularFeaturizationSettings(transformer_params={
        "hash_one_hot_encoder": [{"fields": ["store"], "parameters": {"number_of_bits": 4}}]})
    profile = profile_columns(X, settings)
    plan = plan_featurization(profile, settings, native_categorical=True, scale=True)
    built = make_featurizer(profile, settings, native_categorical=True, scale=True,
                            task="classification", seed=2)
    assert built.get_params() == AutoFeaturizer(**plan.featurizer_params(),
                                                task="classification", seed=2).get_params()
    onnx_plan = plan_featurization(profile, settings, scale=True, onnx=True)
    onnx = make_onnx_featurizer(profile, settings, scale=True, task="classification", seed=2)
    assert onnx.get_params() == OnnxCompatibleFeaturizer(**onnx_plan.featurizer_params(),
                                                         task="classification",
                                                         seed=2).get_params()


@pytest.mark.parametrize("onnx", [False, True])
def test_summary_is_the_fitted_plan(data: tuple[pd.DataFrame, pd.Series], onnx: bool) -> None:
    X, y = data
    profile = profile_columns(X)
    planned = plan_featurization(profile, scale=True, onnx=onnx, task="classification")
    featurizer = (make_onnx_featurizer(profile, None, scale=True, task="classification") if onnx
                  else make_featurizer(profile, None, native_categorical=False, scale=True,
                                       task="classification"))
    featurizer.fit(X, y)
    summary = featurizer.featurization_summary()
    assert summary == summarize_plan(featurizer.plan_, featurizer.feature_map_)
    # Fitting only adds what the rows tell: the treatments are those planned beforehand.
    assert treatments(featurizer.plan_) == treatments(planned)
    entry = {e["raw_column"]: e for e in summary}
    assert entry["size"]["transformations"] == ["MeanImputer", "ImputationMarker",
                                                "StandardScaler"]
    assert sum(e["engineered_features"] for e in summary) == len(
        featurizer.get_feature_names_out())


def test_a_fitted_task_featurizes_like_its_name(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    profile = profile_columns(X)
    fitted_task = task_for("classification").fit_target(y)
    by_task = make_featurizer(profile, None, native_categorical=False, scale=False,
                              task=fitted_task, seed=1)
    by_name = make_featurizer(profile, None, native_categorical=False, scale=False,
                              task="classification", seed=1)
    a, b = by_task.fit_transform(X, y), by_name.fit_transform(X, y)
    assert list(by_task.get_feature_names_out()) == list(by_name.get_feature_names_out())
    assert (a != b).nnz == 0
    # The target encoder reads the target as the task does: numbers for regression.
    numbers = pd.Series(np.arange(N) % 3, dtype=float)
    regression = make_featurizer(profile, None, native_categorical=False, scale=False,
                                 task=as_task("regression")).fit(X, numbers)
    assert [n for n in regression.get_feature_names_out() if "CatTarget" in n] == \
        ["store_CatTargetEncoder"]
    classes = make_featurizer(profile, None, native_categorical=False, scale=False,
                              task="classification").fit(X, numbers)
    assert len([n for n in classes.get_feature_names_out() if "CatTarget" in n]) == 3


def test_guardrails_take_a_task(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    profile = profile_columns(X)
    split = {"kind": "cv", "rule": "3 folds", "n_folds": 3, "stratified": True, "notices": []}
    for task in (task_for("classification").fit_target(y), TaskType.CLASSIFICATION):
        names = [g.name for g in compute_guardrails(profile, X, y, task=task,
                                                    split_description=split)]
        assert "Class balancing detection" in names
    names = [g.name for g in compute_guardrails(profile, X, None, task=task_for("regression"),
                                                split_description=split)]
    assert "Class balancing detection" not in names
