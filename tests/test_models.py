"""Tests for cirrusml.models: the learner contract, every Azure learner, early stopping, lookup."""

from __future__ import annotations

import pickle
import warnings
import zlib
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import scipy.sparse as sp
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

from cirrusml.exceptions import InvalidSpecError, NotFittedError
from cirrusml.models import (
    LEARNERS,
    Learner,
    get_learner,
    in_domain,
    learner_names,
    learners_for,
)
from cirrusml.models._common import holdout_rows
from cirrusml.spec import ClassificationModels, RegressionModels, TaskType

optuna.logging.set_verbosity(optuna.logging.WARNING)

CLS, REG = TaskType.CLASSIFICATION, TaskType.REGRESSION
N_ROWS, N_FEATURES = 240, 8

#: The tabular learners (forecasters have their own tests, in test_forecast.py).
TABULAR = [learner for learner in LEARNERS if TaskType.FORECASTING not in learner.tasks]
CASES = [pytest.param(learner, task, id=f"{learner.name}-{task.yaml}")
         for learner in TABULAR for task in learner.tasks]
CLASSIFIERS = [pytest.param(learner, id=learner.name) for learner in TABULAR
               if CLS in learner.tasks]
BOOSTERS = ["LightGBM", "XGBoostClassifier", "XGBoostRegressor", "GradientBoosting"]


# ----------------------------------------------------------------------------- data


def _frame(X: np.ndarray, categorical: bool, seed: int) -> pd.DataFrame:
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    if categorical:
        rng = np.random.default_rng(seed)
        frame["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], len(frame)),
                                         categories=["blue", "green", "red"])
    return frame


def classification_data(n_classes: int, categorical: bool, n: int = N_ROWS,
                        seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(n, N_FEATURES, n_informative=5, n_classes=n_classes,
                               random_state=seed)
    labels = np.array(["ant", "bee", "cat"]) if n_classes == 3 else np.array([0, 1])
    return _frame(X, categorical, seed), labels[y]


def regression_data(categorical: bool, n: int = N_ROWS,
                    seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_regression(n, N_FEATURES, n_informative=5, noise=10.0, random_state=seed)
    return _frame(X, categorical, seed), y


def datasets(learner: Learner, task: TaskType) -> list[tuple[pd.DataFrame, np.ndarray]]:
    native = learner.native_categorical
    if task is CLS:
        return [classification_data(2, native), classification_data(3, native)]
    return [regression_data(native)]


def random_configs(learner: Learner, task: TaskType, n: int,
                   n_rows: int = N_ROWS) -> list[dict[str, Any]]:
    space = learner.search_space(task, n_rows, N_FEATURES)
    seed = zlib.crc32(f"{learner.name}/{task.value}".encode())
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [study.ask(space).params for _ in range(n)]


def fit(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notices of tiny random configurations
        return estimator.fit(X, y, sample_weight=sample_weight)


def check_predictions(estimator: Any, task: TaskType, X: Any, y: np.ndarray) -> None:
    predictions = np.asarray(estimator.predict(X))
    assert predictions.shape == (X.shape[0],)
    if task is REG:
        assert np.all(np.isfinite(predictions.astype(float)))
        return
    classes = np.unique(y)
    assert list(estimator.classes_) == list(classes)
    assert set(predictions.tolist()) <= set(classes.tolist())
    proba = estimator.predict_proba(X)
    assert proba.shape == (X.shape[0], len(classes))
    assert np.all(proba >= -1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


# ----------------------------------------------------------------------------- contract


@pytest.mark.parametrize(("learner", "task"), CASES)
def test_configurations_fit_and_predict(learner: Learner, task: TaskType) -> None:
    configs = [learner.default_params(task), learner.default_params(task, N_ROWS, N_FEATURES),
               learner.low_cost_params(task, N_ROWS, N_FEATURES),
               *random_configs(learner, task, 3)]
    for X, y in datasets(learner, task):
        weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
        for config in configs:
            estimator = learner.build(task, config, n_jobs=1, seed=0)
            fit(estimator, X, y, sample_weight=weights)
            check_predictions(estimator, task, X, y)


@pytest.mark.parametrize(("learner", "task"), CASES)
def test_default_probabilities_follow_classes(learner: Learner, task: TaskType) -> None:
    """Columns follow ``classes_``: picking the column's class beats chance by far."""
    for X, y in datasets(learner, task):
        estimator = fit(learner.build(task, {}, n_jobs=1, seed=0), X, y)
        if task is REG:
            assert np.corrcoef(estimator.predict(X), y)[0, 1] > 0.5
            continue
        proba = estimator.predict_proba(X)
        picked = np.asarray(estimator.classes_)[np.argmax(proba, axis=1)]
        assert np.mean(picked == y) > 0.65


@pytest.mark.parametrize(("learner", "task"), CASES)
def test_search_space_domains(learner: Learner, task: TaskType) -> None:
    for n_rows, n_features in [(10, 1), (N_ROWS, N_FEATURES), (2_000_000, 5000)]:
        space = learner.search_space(task, n_rows, n_features)
        assert space
        assert set(space) == set(learner.search_space(task, 500, 3))
        for name, distribution in space.items():
            assert isinstance(distribution,
                              (FloatDistribution, IntDistribution, CategoricalDistribution)), name
            if isinstance(distribution, (FloatDistribution, IntDistribution)):
                assert distribution.low < distribution.high, name
        for point in (learner.default_params(task, n_rows, n_features),
                      learner.low_cost_params(task, n_rows, n_features)):
            assert set(point) == set(space)
            for name, value in point.items():
                assert in_domain(space[name], value), (name, value)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=n_rows))
        for _ in range(40):
            for name, value in study.ask(space).params.items():
                assert in_domain(space[name], value), (name, value)
    assert set(learner.param_names(task)) >= set(space)


def test_search_spaces_are_log_scaled_where_natural() -> None:
    logged = {("LightGBM", "learning_rate"), ("LightGBM", "num_leaves"),
              ("XGBoostClassifier", "learning_rate"), ("LogisticRegression", "C"),
              ("SVM", "C"), ("LinearSVM", "C"), ("KNN", "n_neighbors"),
              ("RandomForest", "n_estimators"), ("ElasticNet", "alpha"), ("SGD", "alpha")}
    for name, parameter in logged:
        learner = get_learner(name)
        space = learner.search_space(learner.tasks[0], 1000, 10)
        assert space[parameter].log, (name, parameter)  # type: ignore[attr-defined]


def test_low_cost_is_cheaper_than_default() -> None:
    X, y = classification_data(2, categorical=True, n=400)
    for name in ["LightGBM", "RandomForest", "GradientBoosting"]:
        learner = get_learner(name, CLS)
        default = fit(learner.build(CLS, learner.default_params(CLS, 400, 9), n_jobs=1, seed=0),
                      X if learner.native_categorical else X.drop(columns="colour"), y)
        cheap = fit(learner.build(CLS, learner.low_cost_params(CLS, 400, 9), n_jobs=1, seed=0),
                    X if learner.native_categorical else X.drop(columns="colour"), y)
        size = {"LightGBM": lambda m: m.estimator_.booster_.num_trees()
                * m.estimator_.num_leaves,
                "RandomForest": lambda m: sum(t.tree_.node_count for t in m.estimators_),
                "GradientBoosting": lambda m: sum(t.tree_.node_count
                                                  for t in m.estimator_.estimators_.ravel())}
        assert size[name](cheap) < size[name](default), name


def test_cost_hints() -> None:
    for learner in LEARNERS:
        for n_rows in (50, 5000, 1_000_000):
            hint = learner.cost_hint(n_rows, 20)
            assert isinstance(hint, float), learner.name
            assert 0 < hint < 1e4, learner.name
    assert get_learner("LightGBM").cost_hint(5000, 20) == 1.0
    big = 200_000
    assert get_learner("SVM").cost_hint(10_000, 20) > 5
    assert get_learner("GradientBoosting").cost_hint(big, 20) > get_learner(
        "LightGBM").cost_hint(big, 20)
    assert get_learner("KNN").cost_hint(big, 20) > get_learner("KNN").cost_hint(1000, 20)


def test_search_only_encodings_are_translated() -> None:
    learner = get_learner("LightGBM")
    estimator = learner.build(REG, {"log_max_bin": 6, "subsample": 0.7}, n_jobs=1, seed=0)
    params = estimator.get_params()
    assert "log_max_bin" not in params
    assert params["max_bin"] == 63
    assert params["subsample_freq"] == 1
    full = learner.build(REG, {"subsample": 1.0}, n_jobs=1, seed=0).get_params()
    assert full["subsample_freq"] == 0
    assert full["max_bin"] == 255


def test_build_validates_params_and_task() -> None:
    learner = get_learner("LightGBM")
    with pytest.raises(InvalidSpecError, match=r"no hyperparameter 'num_leaf'.*'num_leaves'"):
        learner.build(CLS, {"num_leaf": 8}, n_jobs=1, seed=0)
    partial = learner.build(CLS, {"num_leaves": 8}, n_jobs=1, seed=0)
    assert partial.get_params()["num_leaves"] == 8
    assert partial.get_params()["learning_rate"] == 0.1
    assert learner.build(CLS, {"n_estimators": 50}, n_jobs=1, seed=0).n_estimators == 50
    with pytest.raises(InvalidSpecError, match="does not serve classification"):
        get_learner("LassoLars").build(CLS, {}, n_jobs=1, seed=0)
    with pytest.raises(InvalidSpecError, match="does not serve forecasting"):
        learner.default_params(TaskType.FORECASTING)


# ----------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(("learner", "task"),
                         [case for case in CASES if case.values[0].sparse_ok])
def test_sparse_input(learner: Learner, task: TaskType) -> None:
    for X, y in datasets(learner, task):
        numeric = X.select_dtypes("number").to_numpy()
        numeric[np.abs(numeric) < 0.5] = 0.0  # make it genuinely sparse, with negatives
        matrix = sp.csr_matrix(numeric)
        for config in ({}, learner.low_cost_params(task, N_ROWS, N_FEATURES)):
            estimator = fit(learner.build(task, config, n_jobs=1, seed=0), matrix, y)
            check_predictions(estimator, task, matrix, y)


def test_sparse_flags() -> None:
    assert not get_learner("LassoLars").sparse_ok
    assert all(learner.sparse_ok for learner in TABULAR if learner.name != "LassoLars")


@pytest.mark.parametrize(("learner", "task"), CASES)
def test_sample_weight_changes_the_model(learner: Learner, task: TaskType) -> None:
    X, y = datasets(learner, task)[-1]
    fresh = X.copy()  # other rows: fully grown trees memorise their training rows
    numeric = [c for c in X.columns if c != "colour"]
    fresh[numeric] = X[numeric].to_numpy()[::-1] * 0.9 + 0.1
    weights = np.where(np.arange(len(y)) % 3 == 0, 10.0, 0.2)
    plain = fit(learner.build(task, {}, n_jobs=1, seed=0), X, y)
    weighted = fit(learner.build(task, {}, n_jobs=1, seed=0), X, y, sample_weight=weights)
    output = ((lambda m: m.predict_proba(fresh)) if task is CLS
              else (lambda m: m.predict(fresh)))
    assert not np.allclose(output(plain), output(weighted))


@pytest.mark.parametrize("learner", CLASSIFIERS)
def test_class_weight(learner: Learner) -> None:
    X, y = make_classification(600, N_FEATURES, n_informative=4, weights=[0.85, 0.15],
                               flip_y=0.1, random_state=3)
    frame, test = _frame(X[:300], learner.native_categorical, 3), _frame(X[300:], False, 3)
    if learner.native_categorical:
        test["colour"] = pd.Categorical(frame["colour"].to_numpy(),
                                        categories=frame["colour"].cat.categories)
    y = y[:300]
    # Leaves of at least 8 rows: a fully grown forest's pure leaves ignore class weights.
    config = ({"min_samples_leaf": 8}
              if "min_samples_leaf" in learner.search_space(CLS, 300, N_FEATURES) else {})
    if not learner.supports_class_weight:
        with pytest.raises(InvalidSpecError, match="does not support class_weight"):
            learner.build(CLS, {}, n_jobs=1, seed=0, class_weight="balanced")
        return
    plain = fit(learner.build(CLS, config, n_jobs=1, seed=0), frame, y)
    balanced = fit(learner.build(CLS, config, n_jobs=1, seed=0, class_weight="balanced"),
                   frame, y)
    assert not np.allclose(plain.predict_proba(test), balanced.predict_proba(test))
    # Balancing moves probability mass towards the rare class (on rows not trained on).
    assert balanced.predict_proba(test)[:, 1].mean() > plain.predict_proba(test)[:, 1].mean()
    assert np.sum(balanced.predict(test) == 1) >= np.sum(plain.predict(test) == 1)


def test_class_weight_is_refused_where_it_means_nothing() -> None:
    with pytest.raises(InvalidSpecError, match="classification only"):
        get_learner("LightGBM").build(REG, {}, n_jobs=1, seed=0, class_weight="balanced")
    with pytest.raises(InvalidSpecError, match="'balanced' or a mapping"):
        get_learner("LightGBM").build(CLS, {}, n_jobs=1, seed=0, class_weight="even")


def test_class_weight_mapping() -> None:
    X, y = classification_data(3, categorical=False)
    learner = get_learner("XGBoostClassifier")
    plain = fit(learner.build(CLS, {}, n_jobs=1, seed=0), X, y)
    heavy = fit(learner.build(CLS, {}, n_jobs=1, seed=0, class_weight={"cat": 20.0}), X, y)
    assert heavy.predict_proba(X)[:, 2].mean() > plain.predict_proba(X)[:, 2].mean()


# ----------------------------------------------------------------------------- persistence


@pytest.mark.parametrize(("learner", "task"), CASES)
def test_clone_and_pickle_round_trips(learner: Learner, task: TaskType) -> None:
    X, y = datasets(learner, task)[-1]
    config = learner.low_cost_params(task, N_ROWS, N_FEATURES)
    estimator = fit(learner.build(task, config, n_jobs=1, seed=0), X, y)
    output = (lambda m: m.predict_proba(X)) if task is CLS else (lambda m: m.predict(X))
    expected = output(estimator)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(output(restored), expected)
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    copy = clone(estimator)
    assert not hasattr(copy, "classes_") or not hasattr(copy, "estimator_")
    np.testing.assert_allclose(output(fit(copy, X, y)), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("learner", "task"), CASES)
def test_predict_before_fit_raises(learner: Learner, task: TaskType) -> None:
    estimator = learner.build(task, {}, n_jobs=1, seed=0)
    X, _ = datasets(learner, task)[0]
    with pytest.raises((NotFittedError, ValueError, AttributeError)):
        estimator.predict(X)


def test_wrappers_raise_our_not_fitted_error() -> None:
    for name, task in [("LightGBM", CLS), ("XGBoostRegressor", REG), ("SVM", CLS),
                       ("LinearSVM", CLS), ("KNN", REG), ("MultinomialNaiveBayes", CLS),
                       ("ElasticNet", REG), ("GradientBoosting", CLS)]:
        estimator = get_learner(name, task).build(task, {}, n_jobs=1, seed=0)
        with pytest.raises(NotFittedError, match="not fitted"):
            estimator.predict(np.zeros((2, 3)))


# ----------------------------------------------------------------------------- early stopping


def _easy(task: TaskType, n: int, categorical: bool) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, N_FEATURES))
    if task is CLS:
        labels = np.array(["ant", "bee", "cat"])
        y = labels[(X[:, 0] > -0.5).astype(int) + (X[:, 1] > 0.5).astype(int)]
        y = np.where(rng.random(n) < 0.05, labels[rng.integers(0, 3, n)], y)
    else:
        y = 10.0 * np.sign(X[:, 0]) + 5.0 * (X[:, 1] > 0) + rng.normal(scale=2.0, size=n)
    return _frame(X, categorical, 7), y


@pytest.mark.parametrize("sparse", [False, True], ids=["frame", "sparse"])
@pytest.mark.parametrize(("learner", "task"),
                         [case for case in CASES if case.values[0].name in BOOSTERS])
def test_early_stopping_stops(learner: Learner, task: TaskType, sparse: bool) -> None:
    X, y = _easy(task, 1200, learner.native_categorical and not sparse)
    data: Any = sp.csr_matrix(X.to_numpy(dtype=float)) if sparse else X
    estimator = fit(learner.build(task, {"learning_rate": 0.3}, n_jobs=1, seed=0), data, y)
    assert estimator.early_stopping_ is True
    assert 1 <= estimator.best_iteration_ < estimator.n_estimators
    assert np.isfinite(estimator.best_score_)
    check_predictions(estimator, task, data, y)
    inner = estimator.estimator_
    if learner.name == "LightGBM":
        assert inner.best_iteration_ == estimator.best_iteration_
    elif learner.family == "XGBoost":
        assert inner.best_iteration + 1 == estimator.best_iteration_
    else:  # scikit-learn's model is truncated to its best stage
        assert inner.estimators_.shape[0] == estimator.best_iteration_
    importances = estimator.feature_importances_
    assert importances.shape == (data.shape[1],)
    assert importances.sum() > 0


@pytest.mark.parametrize("name", ["LightGBM", "XGBoostClassifier", "GradientBoosting"])
def test_no_early_stopping_on_small_data(name: str) -> None:
    X, y = _easy(CLS, 300, get_learner(name).native_categorical)
    estimator = fit(get_learner(name, CLS).build(CLS, {"learning_rate": 0.2}, n_jobs=1, seed=0),
                    X, y)
    assert estimator.early_stopping_ is False
    assert estimator.best_iteration_ == 50  # 10 / learning_rate
    assert np.isnan(estimator.best_score_)


def test_early_stopping_can_be_forced_or_disabled() -> None:
    X, y = _easy(REG, 300, True)
    learner = get_learner("LightGBM")
    forced = fit(learner.build(REG, {"early_stopping": True}, n_jobs=1, seed=0), X, y)
    assert forced.early_stopping_
    assert forced.best_iteration_ < forced.n_estimators
    X, y = _easy(REG, 1500, True)
    off = fit(learner.build(REG, {"early_stopping": False, "learning_rate": 0.5}, n_jobs=1,
                            seed=0), X, y)
    assert not off.early_stopping_
    assert off.best_iteration_ == 20


def test_gradient_boosting_validation_loss_is_exact() -> None:
    """The monitor's incremental loss equals the truncated model's log loss on the split."""
    from sklearn.metrics import log_loss

    X, y = _easy(CLS, 1200, categorical=False)
    estimator = fit(get_learner("GradientBoosting").build(
        CLS, {"learning_rate": 0.3}, n_jobs=1, seed=0), X, y)
    codes = np.searchsorted(estimator.classes_, y)
    _, held = holdout_rows(len(y), 200, np.random.default_rng(0), codes)
    proba = estimator.predict_proba(X.iloc[held])
    assert estimator.best_score_ == pytest.approx(log_loss(codes[held], proba), rel=1e-6)


def test_holdout_keeps_every_class_in_training() -> None:
    codes = np.array([0] * 50 + [1] * 30 + [2])
    kept, held = holdout_rows(len(codes), 20, np.random.default_rng(0), codes)
    assert set(codes[kept]) == {0, 1, 2}
    assert len(held) == pytest.approx(20, abs=2)
    assert set(np.concatenate([kept, held])) == set(range(len(codes)))
    assert {0, 1} <= set(codes[held])


def test_booster_with_a_singleton_class() -> None:
    X, y = classification_data(3, categorical=True, n=1200)
    y = y.copy()
    y[5] = "dog"
    estimator = fit(get_learner("LightGBM", CLS).build(CLS, {}, n_jobs=1, seed=0), X, y)
    assert list(estimator.classes_) == ["ant", "bee", "cat", "dog"]
    assert estimator.predict_proba(X).shape == (1200, 4)


# ----------------------------------------------------------------------------- wrappers


def test_multinomial_nb_on_negative_and_out_of_range_features() -> None:
    X, y = classification_data(3, categorical=False)
    learner = get_learner("MultinomialNaiveBayes")
    assert (X.to_numpy() < 0).any()
    estimator = fit(learner.build(CLS, {}, n_jobs=1, seed=0), X, y)
    wild = X * 100.0  # far outside the training range: clipped, not an error
    check_predictions(estimator, CLS, wild, y)


def test_svm_subsamples_large_data() -> None:
    X, y = classification_data(3, categorical=False, n=600)
    estimator = fit(get_learner("SVM").build(CLS, {"max_rows": 150}, n_jobs=1, seed=0), X, y)
    assert estimator.n_train_rows_ <= 151
    check_predictions(estimator, CLS, X, y)
    assert estimator.gamma_ > 0


def test_linear_svm_with_tiny_classes() -> None:
    X, y = classification_data(3, categorical=False)
    y = y.copy()
    y[:2] = "dog"  # two rows: two calibration folds
    estimator = fit(get_learner("LinearSVM").build(CLS, {}, n_jobs=1, seed=0), X, y)
    check_predictions(estimator, CLS, X, y)
    y[1] = "eel"  # one row: in-sample calibration
    estimator = fit(get_learner("LinearSVM").build(CLS, {}, n_jobs=1, seed=0), X, y)
    check_predictions(estimator, CLS, X, y)


def test_knn_more_neighbours_than_rows_and_weights() -> None:
    X, y = regression_data(categorical=False, n=4)
    estimator = fit(get_learner("KNN").build(REG, {"n_neighbors": 50}, n_jobs=1, seed=0), X, y)
    np.testing.assert_allclose(estimator.predict(X), y.mean())
    weights = np.array([1.0, 0.0, 0.0, 0.0])
    weighted = fit(get_learner("KNN").build(REG, {"n_neighbors": 50}, n_jobs=1, seed=0), X, y,
                   sample_weight=weights)
    np.testing.assert_allclose(weighted.predict(X), y[0])


@pytest.mark.parametrize("name", ["ElasticNet", "LassoLars", "SGD"])
def test_linear_regressors_fold_the_target_scaling_back(name: str) -> None:
    X, y = regression_data(categorical=False)
    y = 1e6 + 1e4 * y  # units a plain SGD or alpha range would choke on
    for weights in (None, np.random.default_rng(0).uniform(0.5, 2.0, len(y))):
        estimator = fit(get_learner(name, REG).build(REG, {}, n_jobs=1, seed=0), X, y,
                        sample_weight=weights)
        inner = estimator.estimator_
        np.testing.assert_allclose(inner.predict(X), estimator.predict(X))
        assert np.corrcoef(estimator.predict(X), y)[0, 1] > 0.95
        assert abs(estimator.predict(X).mean() - y.mean()) < 0.05 * y.std()


# ----------------------------------------------------------------------------- registry


@pytest.mark.parametrize("spelling", ["LightGBM", "light_gbm", "lightgbm", "LIGHT-GBM"])
def test_lookup_any_spelling(spelling: str) -> None:
    assert get_learner(spelling).name == "LightGBM"
    assert get_learner(spelling, "regression").name == "LightGBM"


def test_lookup_azure_names() -> None:
    for enum, task in [(ClassificationModels, CLS), (RegressionModels, REG)]:
        assert sorted(learner_names(task)) == sorted(member.value for member in enum)
        for member in enum:
            assert get_learner(member.yaml, task).name == member.value
            assert get_learner(member, task).name == member.value
            assert task in get_learner(member.value, task).tasks
    assert get_learner("xg_boost_classifier").name == "XGBoostClassifier"
    assert get_learner("XGBoost", REG).name == "XGBoostRegressor"
    assert get_learner("GradientBoosting", CLS) is get_learner("gradient_boosting", REG)


def test_lookup_errors() -> None:
    with pytest.raises(InvalidSpecError,
                       match=r"no learner named 'lightgmb' for classification; valid learners "
                             r"for classification are LightGBM, .*Did you mean 'LightGBM'\?"):
        get_learner("lightgmb", CLS)
    with pytest.raises(InvalidSpecError, match=r"serves regression, not classification.*"
                                               r"MultinomialNaiveBayes"):
        get_learner("lasso_lars", CLS)
    with pytest.raises(InvalidSpecError, match=r"Did you mean 'XGBoostRegressor'\?"):
        get_learner("xgboost_regresor", REG)
    with pytest.raises(InvalidSpecError, match="serves forecasting, not classification"):
        get_learner("Prophet", CLS)


def test_registry_shape() -> None:
    names = [learner.name for learner in TABULAR]
    assert len(names) == len(set(names)) == 16
    assert [learner.name for learner in learners_for("classification")] == learner_names(CLS)
    assert learner_names(CLS)[0] == "LightGBM"
    for learner in TABULAR:
        assert all(learner.onnx_convertible for learner in TABULAR)
        assert learner.family
        for flag in ("native_categorical", "needs_scaling", "sparse_ok", "onnx_convertible",
                     "supports_class_weight"):
            assert isinstance(getattr(learner, flag), bool)
        if learner.tasks == (REG,):
            assert not learner.supports_class_weight
    assert {lr.name for lr in TABULAR if lr.native_categorical} == {
        "LightGBM", "XGBoostClassifier", "XGBoostRegressor"}
    assert get_learner("XGBoostClassifier").family == get_learner("XGBoostRegressor").family


def test_in_domain() -> None:
    assert in_domain(IntDistribution(1, 5), np.int64(3))
    assert not in_domain(IntDistribution(1, 5), 3.5)
    assert not in_domain(IntDistribution(2, 10, step=2), 3)
    assert in_domain(FloatDistribution(0.0, 1.0), np.float32(0.5))
    assert not in_domain(FloatDistribution(0.0, 1.0), float("nan"))
    assert not in_domain(FloatDistribution(0.0, 1.0), 1.5)
    assert in_domain(CategoricalDistribution((True, False)), np.bool_(True))
    assert not in_domain(CategoricalDistribution((True, False)), 1)
    assert not in_domain(CategoricalDistribution(("a", "b")), "c")
