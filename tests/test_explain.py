"""Tests for cirrusml.explain: global importance, local explanations, rendering.

Models are real trial pipelines (inputs → datatransformer → [densify] → model), built the way the
engine builds them, on data where one raw column carries the signal and the others are noise.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from cirrusml.ensemble import VotingClassifierEnsemble, VotingRegressorEnsemble
from cirrusml.explain import (
    EXPECTED_VALUE,
    GlobalExplanation,
    explain_global,
    explain_rows,
    render_importance,
)
from cirrusml.explain._common import ordered_sample
from cirrusml.featurize import InputColumns, ToDense, make_featurizer, profile_columns
from cirrusml.models import get_learner

RAW = ["signal", "noise_a", "noise_b", "colour"]


# ------------------------------------------------------------------------------ helpers


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "signal": rng.normal(size=n),
        "noise_a": rng.normal(size=n),
        "noise_b": rng.uniform(size=n),
        "colour": rng.choice(["red", "green", "blue"], n),
    })


def make_target(X: pd.DataFrame, kind: str, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = X["signal"].to_numpy() + 0.25 * rng.normal(size=len(X))
    if kind == "binary":
        return np.where(noisy > 0, "yes", "no")
    if kind == "multiclass":
        return np.array(["low", "mid", "high"])[np.digitize(noisy, [-0.5, 0.5])]
    return 3.0 * noisy + 10.0


def task_of(kind: str) -> str:
    return "regression" if kind == "regression" else "classification"


def fit_pipeline(name: str, kind: str, X: pd.DataFrame, y: Any, **params: Any) -> Pipeline:
    task = task_of(kind)
    learner = get_learner(name, task)
    steps: list[tuple[str, Any]] = [
        ("inputs", InputColumns()),
        ("datatransformer", make_featurizer(profile_columns(X), None,
                                            native_categorical=learner.native_categorical,
                                            scale=learner.needs_scaling, task=task)),
    ]
    if not learner.sparse_ok:
        steps.append(("densify", ToDense()))
    steps.append(("model", learner.build(task, params, n_jobs=1, seed=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Pipeline(steps).fit(X, y)


_CACHE: dict[tuple[Any, ...], Any] = {}


def case(name: str, kind: str, n: int = 400, **params: Any
         ) -> tuple[Pipeline, pd.DataFrame, np.ndarray]:
    """A fitted pipeline and its data, fitted once per test session."""
    key = (name, kind, n, tuple(sorted(params.items())))
    if key not in _CACHE:
        X = make_frame(n)
        y = make_target(X, kind)
        _CACHE[key] = (fit_pipeline(name, kind, X, y, **params), X, y)
    return _CACHE[key]


def check_global(result: GlobalExplanation, raw: list[str], top: str = "signal") -> None:
    assert set(result.raw_importance) == set(raw)
    values = np.array(list(result.raw_importance.values()))
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    assert values.sum() == pytest.approx(1.0)
    assert next(iter(result.raw_importance)) == top
    assert result.raw_importance[top] > 0.5
    engineered = np.array(list(result.engineered_importance.values()))
    assert np.all(np.isfinite(engineered)) and np.all(engineered >= 0)
    if engineered.size:
        assert engineered.sum() == pytest.approx(1.0)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["method"] == result.method
    shares = list(payload["raw_importance"].values())
    assert shares == sorted(shares, reverse=True)
    assert result.n_rows > 0 and result.seconds >= 0


def engineered_names(model: Pipeline) -> set[str]:
    return {str(n) for n in model.named_steps["datatransformer"].get_feature_names_out()}


def check_additive(local: pd.DataFrame, model: Any, rows: pd.DataFrame, kind: str) -> None:
    total = local.drop(columns=[EXPECTED_VALUE]).sum(axis=1).to_numpy() \
        + local[EXPECTED_VALUE].to_numpy()
    if kind == "regression":
        expected = np.asarray(model.predict(rows), dtype=float)
    else:
        expected = np.asarray(model.predict_proba(rows), dtype=float).max(axis=1)
        assert list(local.attrs["predicted_class"]) == list(model.predict(rows))
    np.testing.assert_allclose(total, expected, atol=1e-4 * max(1.0, np.abs(expected).max()))
    np.testing.assert_allclose(local.attrs["prediction"], expected, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------- global: trees

TREE_CASES = [
    ("LightGBM", "binary"), ("LightGBM", "multiclass"), ("LightGBM", "regression"),
    ("XGBoostClassifier", "binary"), ("XGBoostClassifier", "multiclass"),
    ("XGBoostRegressor", "regression"),
    ("RandomForest", "binary"), ("RandomForest", "regression"),
    ("ExtremeRandomTrees", "multiclass"), ("DecisionTree", "binary"),
    ("GradientBoosting", "binary"), ("GradientBoosting", "regression"),
]


@pytest.mark.parametrize(("name", "kind"), TREE_CASES, ids=[f"{n}-{k}" for n, k in TREE_CASES])
def test_tree_pipelines_use_tree_shap(name: str, kind: str) -> None:
    params = {"n_estimators": 30} if name in ("RandomForest", "ExtremeRandomTrees") else {}
    model, X, y = case(name, kind, **params)
    result = explain_global(model, X, y, task=task_of(kind))
    assert result.method == "shap_tree" and result.scoring == "mean_abs_shap"
    assert result.engineered_method == "shap_tree"
    check_global(result, RAW)
    assert set(result.engineered_importance) == engineered_names(model)
    # raw importance is the engineered importance summed per raw column
    feature_map = model.named_steps["datatransformer"].feature_map_
    for column in RAW:
        owned = sum(v for k, v in result.engineered_importance.items()
                    if feature_map[k] == column)
        assert result.raw_importance[column] == pytest.approx(owned, abs=1e-12)
    assert result.n_rows == len(X) and not result.notes


def test_native_categories_reach_lightgbm_shap() -> None:
    model, X, y = case("LightGBM", "binary")
    Z = model[:-1].transform(X)
    assert isinstance(Z, pd.DataFrame) and isinstance(Z["colour"].dtype, pd.CategoricalDtype)
    result = explain_global(model, X, y, task="classification")
    assert result.method == "shap_tree" and "colour" in result.engineered_importance


def test_shap_failure_falls_back_to_permutation() -> None:
    # shap's TreeExplainer reads scikit-learn gradient boosting for two classes only
    model, X, y = case("GradientBoosting", "multiclass")
    result = explain_global(model, X, y, task="classification", metric="accuracy")
    assert result.method == "permutation" and result.scoring == "accuracy"
    assert any("TreeExplainer failed" in note for note in result.notes)
    check_global(result, RAW)


# ----------------------------------------------------------------- global: permutation

PERMUTATION_CASES = [
    ("LogisticRegression", "binary", "AUC_weighted"),
    ("LogisticRegression", "multiclass", "accuracy"),
    ("ElasticNet", "regression", "normalized_root_mean_squared_error"),
    ("KNN", "binary", "AUC_weighted"),
    ("KNN", "multiclass", "log_loss"),
    ("KNN", "regression", "r2_score"),
]


@pytest.mark.parametrize(("name", "kind", "metric"), PERMUTATION_CASES,
                         ids=[f"{n}-{k}" for n, k, _ in PERMUTATION_CASES])
def test_other_pipelines_use_permutation(name: str, kind: str, metric: str) -> None:
    model, X, y = case(name, kind)
    result = explain_global(model, X, y, task=task_of(kind), metric=metric)
    assert result.method == "permutation" and result.scoring == metric
    assert result.n_repeats == 5
    check_global(result, RAW)
    if name in ("LogisticRegression", "ElasticNet"):
        assert result.engineered_method == "linear_coef_std"
        assert set(result.engineered_importance) == engineered_names(model)
        assert next(iter(result.engineered_importance)) == "signal"
    else:
        assert result.engineered_importance == {} and result.engineered_method is None


def test_permutation_without_metric_or_target() -> None:
    model, X, y = case("KNN", "binary")
    own = explain_global(model, X, y, task="classification")
    assert own.scoring == "model.score"
    check_global(own, RAW)
    blind = explain_global(model, X, task="classification")
    assert blind.scoring == "prediction_change"
    check_global(blind, RAW)
    wrong = explain_global(model, X, y, task="classification", metric="r2_score")
    assert wrong.scoring == "model.score" and wrong.notes


def test_global_is_deterministic_and_samples_rows() -> None:
    model, X, y = case("KNN", "regression")
    first = explain_global(model, X, y, task="regression", max_rows=150, seed=3)
    second = explain_global(model, X, y, task="regression", max_rows=150, seed=3)
    assert first.n_rows == 150
    assert first.raw_importance == second.raw_importance


def test_ordered_sample_prefixes_are_stratified() -> None:
    y = np.array(["a"] * 900 + ["b"] * 100)
    order = ordered_sample(len(y), y, seed=0)
    assert sorted(order.tolist()) == list(range(1000))
    for k in (50, 200, 500):
        share = float(np.mean(y[order[:k]] == "b"))
        assert abs(share - 0.1) <= 1.5 / k + 1e-9
    assert np.array_equal(order, ordered_sample(len(y), y, seed=0))


# ------------------------------------------------------------------------- text (CSR)


def text_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = rng.random(n) < 0.5
    filler = np.array(["the", "parcel", "came", "on", "tuesday", "box", "driver", "was",
                       "quite", "late", "shop", "order", "paper", "colour", "size"])
    reviews = []
    for good in label:
        words = list(rng.choice(filler, 6)) + [rng.choice(["great", "lovely", "perfect"]
                                                          if good else ["awful", "broken",
                                                                        "terrible"])]
        rng.shuffle(words)
        reviews.append(" ".join(words))
    X = pd.DataFrame({"review": reviews, "noise_a": rng.normal(size=n),
                      "noise_b": rng.uniform(size=n)})
    return X, np.where(label, "good", "bad")


@pytest.mark.parametrize("name", ["LightGBM", "XGBoostClassifier", "LogisticRegression"])
def test_text_column_with_sparse_features(name: str) -> None:
    X, y = text_frame()
    model = fit_pipeline(name, "binary", X, y)
    assert sp.issparse(model[:-1].transform(X.head()))
    result = explain_global(model, X, y, task="classification", metric="accuracy")
    expected = "shap_tree" if name != "LogisticRegression" else "permutation"
    assert result.method == expected
    check_global(result, ["review", "noise_a", "noise_b"], top="review")
    assert set(result.engineered_importance) == engineered_names(model)
    local = explain_rows(model, X.head(4), X.tail(50), task="classification")
    assert list(local.columns) == ["review", "noise_a", "noise_b", EXPECTED_VALUE]
    check_additive(local, model, X.head(4), "binary")


# -------------------------------------------------------------------------- ensembles


def test_voting_ensemble_classification() -> None:
    first, X, y = case("LightGBM", "binary")
    second, _, _ = case("LogisticRegression", "binary")
    ensemble = VotingClassifierEnsemble(estimators=[first, second], weights=[0.6, 0.4],
                                        classes=list(first.classes_))
    result = explain_global(ensemble, X, y, task="classification", metric="AUC_weighted")
    assert result.method == "permutation" and result.engineered_importance == {}
    check_global(result, RAW)
    rows = X.head(5)
    local = explain_rows(ensemble, rows, X.tail(80), task="classification")
    assert local.attrs["method"] == "shap_kernel_exact"
    assert list(local.columns) == RAW + [EXPECTED_VALUE]
    check_additive(local, ensemble, rows, "binary")


def test_voting_ensemble_regression() -> None:
    first, X, y = case("LightGBM", "regression")
    second, _, _ = case("ElasticNet", "regression")
    ensemble = VotingRegressorEnsemble(estimators=[first, second], weights=[1.0, 1.0])
    result = explain_global(ensemble, X, y, task="regression", metric="r2_score")
    check_global(result, RAW)


def test_stack_ensemble_regression() -> None:
    from sklearn.linear_model import LinearRegression

    from cirrusml.ensemble import StackRegressorEnsemble, stack_features

    first, X, y = case("LightGBM", "regression")
    second, _, _ = case("KNN", "regression")
    outputs = [np.asarray(m.predict(X), dtype=float) for m in (first, second)]
    meta = LinearRegression().fit(stack_features(outputs, False), y)
    ensemble = StackRegressorEnsemble(estimators=[first, second], weights=[0.5, 0.5],
                                      meta_learner=meta)
    result = explain_global(ensemble, X, y, task="regression", metric="r2_score")
    assert result.method == "permutation"
    check_global(result, RAW)
    local = explain_rows(ensemble, X.head(3), X.tail(60), task="regression")
    check_additive(local, ensemble, X.head(3), "regression")


# ------------------------------------------------------------------------------ local

LOCAL_CASES = [
    ("LightGBM", "regression", "shap_tree"),
    ("XGBoostRegressor", "regression", "shap_tree"),
    ("RandomForest", "binary", "shap_tree"),
    ("DecisionTree", "binary", "shap_tree"),
    ("GradientBoosting", "binary", "shap_tree_interventional"),
    ("LightGBM", "binary", "shap_kernel_exact"),  # native categories: model-agnostic
    ("XGBoostClassifier", "multiclass", "shap_kernel_exact"),
    ("KNN", "multiclass", "shap_kernel_exact"),
    ("LogisticRegression", "binary", "shap_kernel_exact"),
]


@pytest.mark.parametrize(("name", "kind", "method"), LOCAL_CASES,
                         ids=[f"{n}-{k}" for n, k, _ in LOCAL_CASES])
def test_local_explanations_are_additive(name: str, kind: str, method: str) -> None:
    params = {"n_estimators": 30} if name == "RandomForest" else {}
    model, X, y = case(name, kind, **params)
    rows = X.iloc[[3, 17, 42, 99]]
    local = explain_rows(model, rows, X.iloc[200:], task=task_of(kind))
    assert local.attrs["method"] == method
    assert list(local.columns) == RAW + [EXPECTED_VALUE]
    assert list(local.index) == list(rows.index)
    assert np.all(np.isfinite(local.to_numpy(dtype=float)))
    check_additive(local, model, rows, kind)
    # the signal column moves predictions most
    magnitude = local[RAW].abs().mean()
    assert magnitude.idxmax() == "signal"


def test_local_on_empty_rows_and_column_order() -> None:
    model, X, _ = case("KNN", "regression")
    empty = explain_rows(model, X.head(0), X, task="regression")
    assert list(empty.columns) == RAW + [EXPECTED_VALUE] and len(empty) == 0
    shuffled = X.head(3)[["colour", "noise_b", "signal", "noise_a"]]
    local = explain_rows(model, shuffled, X.tail(30), task="regression")
    assert list(local.columns) == RAW + [EXPECTED_VALUE]
    check_additive(local, model, shuffled, "regression")


# ------------------------------------------------------------------------ odd columns


def test_odd_columns_never_crash() -> None:
    rng = np.random.default_rng(5)
    n = 300
    X = make_frame(n, seed=5)
    X["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    X["flag"] = rng.random(n) < 0.3
    X["row_id"] = [f"id-{i:05d}" for i in range(n)]
    X["constant"] = 1.0
    X.loc[rng.random(n) < 0.1, "noise_a"] = np.nan
    y = make_target(X, "binary")
    raw = list(X.columns)
    for name in ("LightGBM", "LogisticRegression"):
        model = fit_pipeline(name, "binary", X, y)
        result = explain_global(model, X, y, task="classification", metric="accuracy",
                                max_rows=150)
        check_global(result, raw)
        assert result.raw_importance["row_id"] == 0.0  # id-like: dropped by featurization
        local = explain_rows(model, X.head(2), X.tail(40), task="classification",
                             max_evals=300)
        assert list(local.columns) == raw + [EXPECTED_VALUE]
        check_additive(local, model, X.head(2), "binary")


# ------------------------------------------------------------------------ time budget


def test_time_budget_cuts_permutation_work() -> None:
    model, X, y = case("KNN", "regression", n=3000)
    full = explain_global(model, X, y, task="regression", max_rows=3000)
    started = time.perf_counter()
    quick = explain_global(model, X, y, task="regression", max_rows=3000,
                           time_budget=full.seconds / 10)
    elapsed = time.perf_counter() - started
    assert quick.n_rows < full.n_rows or quick.n_repeats < full.n_repeats
    assert any("time budget" in note for note in quick.notes)
    assert elapsed < max(full.seconds / 2, 1.0)
    check_global(quick, RAW)


def test_time_budget_cuts_tree_shap_rows() -> None:
    model, X, y = case("RandomForest", "regression", n=1000, n_estimators=40)
    started = time.perf_counter()
    quick = explain_global(model, X, y, task="regression", time_budget=0.05)
    elapsed = time.perf_counter() - started
    assert quick.method == "shap_tree"
    assert quick.n_rows < len(X)
    assert elapsed < 2.0
    check_global(quick, RAW)


# -------------------------------------------------------------------------- rendering


def test_render_importance() -> None:
    model, X, y = case("LogisticRegression", "binary")
    result = explain_global(model, X, y, task="classification", metric="accuracy")
    text = render_importance(result, top=2)
    assert "permutation" in text and "accuracy" in text
    assert "signal" in text and "Engineered features" in text
    assert "more" in text  # only the top 2 of 4 raw columns are listed
    lines = [line for line in text.splitlines() if line.strip().startswith("1 ")]
    assert lines and "signal" in lines[0]
