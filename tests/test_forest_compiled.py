"""The compiled forest path (cirrusml.models._forest_compiled) predicts as scikit-learn does.

Forests are built by cirrusml's learners. Each is compared, once settled for prediction, with
what scikit-learn's own methods give (``type(forest).predict_proba(forest, X)``): binary,
multiclass and regression, RandomForest and ExtremeRandomTrees, one row, a few, and a batch past
the crossover, with missing values; pickled and loaded; inside pipelines and a VotingEnsemble
settled by ``settle_for_prediction``. Speed is measured in
``benchmarks/inference/forest_predict.py``, not here.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from cirrusml.engine._model_io import settle_for_prediction
from cirrusml.ensemble import VotingClassifierEnsemble, VotingRegressorEnsemble
from cirrusml.models import _forest_compiled, get_learner, learner_for_estimator
from cirrusml.models._forest_compiled import (
    MAX_ROWS,
    CompiledForest,
    compile_forest,
    is_compiled,
    uncompile,
)
from cirrusml.spec import TaskType

FORESTS = ("RandomForest", "ExtremeRandomTrees")
KINDS = ("binary", "multiclass", "regression")
N_FEATURES = 7


def _data(kind: str, n: int = 400, seed: int = 0,
          missing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    if kind == "regression":
        X, y = make_regression(n, N_FEATURES, n_informative=4, noise=5.0, random_state=seed)
    else:
        X, y = make_classification(n, N_FEATURES, n_informative=4,
                                   n_classes=2 if kind == "binary" else 4,
                                   n_clusters_per_class=1, random_state=seed)
        y = np.array(["cat", "dog", "eel", "fox"], dtype=object)[y]  # labels, not codes
    if missing:
        X[np.random.default_rng(seed).random(X.shape) < missing] = np.nan
    return X, y


def _forest(name: str, kind: str, X: np.ndarray, y: np.ndarray, **params: Any) -> Any:
    task = TaskType.REGRESSION if kind == "regression" else TaskType.CLASSIFICATION
    params = {"n_estimators": 25, **params}
    return get_learner(name, task).build(task, params, n_jobs=1, seed=0).fit(X, y)


def _own(forest: Any, method: str, X: Any) -> np.ndarray:
    """scikit-learn's own method, whatever the instance routes."""
    return np.asarray(getattr(type(forest), method)(forest, X))


def _methods(kind: str) -> tuple[str, ...]:
    return ("predict",) if kind == "regression" else ("predict", "predict_proba")


def _check_same(forest: Any, kind: str, X: Any) -> None:
    for method in _methods(kind):
        got, expected = np.asarray(getattr(forest, method)(X)), _own(forest, method, X)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        if method == "predict_proba" or kind == "regression":
            np.testing.assert_allclose(got, expected, rtol=0.0, atol=1e-6)
        else:
            assert list(got) == list(expected)


def _batches(X: np.ndarray) -> list[np.ndarray]:
    return [X[:1], X[5:6], X[:7], X[:MAX_ROWS], X]


# ------------------------------------------------------------------------------ parity


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", FORESTS)
def test_compiled_forest_predicts_as_scikit_learn(name: str, kind: str) -> None:
    X, y = _data(kind)
    forest = _forest(name, kind, X[:300], y[:300])
    get_learner(name).for_prediction(forest)
    assert is_compiled(forest) and forest.n_jobs == 1
    route = forest.__dict__["predict"]
    test = X[300:]
    assert route.rows(test[:MAX_ROWS]) is not None  # the compiled path takes small batches
    assert route.rows(test[: MAX_ROWS + 1]) is None  # and leaves larger ones to scikit-learn
    for batch in _batches(test):
        _check_same(forest, kind, batch)
    if kind != "regression":
        assert list(forest.classes_) == sorted(set(y))
        assert forest.predict_proba(test[:3]).shape == (3, len(forest.classes_))
        with np.errstate(divide="ignore"):  # a class no tree gives these rows
            np.testing.assert_allclose(forest.predict_log_proba(test[:3]),
                                       np.log(_own(forest, "predict_proba", test[:3])))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", FORESTS)
def test_missing_values_follow_each_node(name: str, kind: str) -> None:
    # Forests the learners build take missing values (the featurizer fills them first, but a
    # forest given NaN sends it where each split learnt to).
    X, y = _data(kind, missing=0.15)
    forest = _forest(name, kind, X[:300], y[:300])
    assert compile_forest(forest)
    route = forest.__dict__["predict"]
    assert route.takes_missing and route.rows(X[300:310]) is not None
    for batch in _batches(X[300:]):
        _check_same(forest, kind, batch)
    # trained without missing values, predicting with them
    clean, y_clean = _data(kind)
    forest = _forest(name, kind, clean[:300], y_clean[:300])
    assert compile_forest(forest)
    for batch in _batches(X[300:]):
        _check_same(forest, kind, batch)


def test_integer_and_boolean_rows_are_cast_as_scikit_learn_does() -> None:
    X, y = _data("binary")
    forest = _forest("ExtremeRandomTrees", "binary", np.round(X[:300]), y[:300])
    assert compile_forest(forest)
    rows = np.round(X[300:330]).astype(np.int64)
    _check_same(forest, "binary", rows)
    _check_same(forest, "binary", rows > 0)
    _check_same(forest, "binary", np.float32(rows))


def test_multioutput_and_huge_forests_keep_the_plain_path(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    X, y = _data("regression")
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(
        X, np.column_stack([y, -y]))
    assert not compile_forest(forest) and not is_compiled(forest)
    forest = _forest("RandomForest", "regression", X, y)
    monkeypatch.setattr(_forest_compiled, "MAX_NODES", 10)
    assert not compile_forest(forest) and not is_compiled(forest)


def test_a_disagreeing_compiled_path_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data("binary")
    forest = _forest("RandomForest", "binary", X, y)
    real = CompiledForest.mean_output

    def off(self: CompiledForest, X32: np.ndarray) -> np.ndarray:
        return real(self, X32) + 2e-6

    monkeypatch.setattr(CompiledForest, "mean_output", off)
    assert not compile_forest(forest)
    assert not is_compiled(forest) and "predict_proba" not in forest.__dict__
    monkeypatch.undo()
    assert compile_forest(forest) and is_compiled(forest)


# ------------------------------------------------------------------------------ fallbacks


def test_other_inputs_go_to_scikit_learn_and_raise_as_it_does() -> None:
    X, y = _data("multiclass")
    forest = _forest("ExtremeRandomTrees", "multiclass", X, y)
    compile_forest(forest)
    route = forest.__dict__["predict_proba"]
    frame = pd.DataFrame(X[:4])
    assert route.rows(frame) is None and route.rows(sp.csr_matrix(X[:4])) is None
    np.testing.assert_array_equal(forest.predict_proba(frame), _own(forest, "predict_proba",
                                                                    frame))
    np.testing.assert_array_equal(forest.predict_proba(sp.csr_matrix(X[:4])),
                                  _own(forest, "predict_proba", X[:4]))
    with pytest.raises(ValueError, match="features"):
        forest.predict_proba(X[:2, :3])
    infinite = X[:2].copy()
    infinite[0, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        forest.predict(infinite)
    with pytest.raises(ValueError):
        forest.predict(np.array([["a"] * N_FEATURES]))


def test_a_refitted_forest_predicts_with_its_new_trees() -> None:
    X, y = _data("binary")
    forest = _forest("RandomForest", "binary", X[:200], y[:200])
    compile_forest(forest)
    forest.fit(X[200:], y[200:])
    assert forest.__dict__["predict"].rows(X[:3]) is None
    _check_same(forest, "binary", X[:3])


def test_frame_fitted_forest_warns_as_scikit_learn_does() -> None:
    X, y = _data("binary")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(N_FEATURES)])
    forest = _forest("ExtremeRandomTrees", "binary", frame, y)
    compile_forest(forest)
    with pytest.warns(UserWarning, match="feature names"):
        forest.predict_proba(X[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(forest.predict_proba(frame.head(2)),
                                      _own(forest, "predict_proba", frame.head(2)))


# ---------------------------------------------------------------------- the estimator stays


def test_settled_forest_is_still_the_scikit_learn_estimator() -> None:
    X, y = _data("binary")
    forest = _forest("RandomForest", "binary", X, y)
    params = forest.get_params()
    kind = type(forest)
    compile_forest(forest)
    assert type(forest) is kind and forest.get_params() == params
    assert learner_for_estimator(forest) is get_learner("RandomForest")
    fresh = clone(forest)
    assert not is_compiled(fresh) and fresh.get_params() == params
    uncompile(forest)
    assert not is_compiled(forest) and "predict" not in forest.__dict__


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle",
                                                                          "cloudpickle"])
@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip_keeps_the_compiled_path(kind: str, dumps: Any) -> None:
    X, y = _data(kind)
    forest = _forest("ExtremeRandomTrees", kind, X[:300], y[:300])
    compile_forest(forest)
    before = {m: getattr(forest, m)(X[300:305]) for m in _methods(kind)}
    loaded = pickle.loads(dumps(forest))
    assert is_compiled(loaded)
    route = loaded.__dict__["predict"]
    assert route.forest is loaded and route.compiled.estimators is loaded.estimators_
    assert route.rows(X[300:305]) is not None
    for method, expected in before.items():
        np.testing.assert_array_equal(getattr(loaded, method)(X[300:305]), expected)
    _check_same(loaded, kind, X[300:])


def test_the_packed_arrays_exist_only_while_small_batches_need_them() -> None:
    # Not after the parity check, not after loading, not for a batch scikit-learn predicts:
    # a loaded model that only scores large batches never holds a second copy of its trees.
    X, y = _data("binary")
    forest = _forest("ExtremeRandomTrees", "binary", X[:300], y[:300])
    assert compile_forest(forest)
    compiled = forest.__dict__["predict"].compiled
    assert compiled._packed is None and compiled.n_nodes > 0
    loaded = pickle.loads(pickle.dumps(forest))
    packed_on_load = loaded.__dict__["predict"].compiled
    loaded.predict_proba(X[300:])  # past MAX_ROWS: scikit-learn's own loop
    assert packed_on_load._packed is None
    loaded.predict_proba(X[300:301])
    assert packed_on_load._packed is not None
    assert packed_on_load.n_nodes == int(packed_on_load.packed["left"].shape[0])
    packed_on_load.release()
    _check_same(loaded, "binary", X[300:305])  # packed again, same answers


# ----------------------------------------------------------------- settled at save time


def _pipeline(forest: Any, X: np.ndarray, y: np.ndarray) -> Pipeline:
    return Pipeline([("impute", SimpleImputer()), ("model", forest)]).fit(X, y)


def test_settle_for_prediction_compiles_forests_in_a_voting_ensemble() -> None:
    X, y = _data("multiclass", missing=0.05)
    members = [_pipeline(_forest("RandomForest", "multiclass", X, y), X, y),
               _pipeline(_forest("ExtremeRandomTrees", "multiclass", X, y,
                                 n_estimators=40), X, y),
               _pipeline(LogisticRegression(max_iter=500), X, y)]
    ensemble = VotingClassifierEnsemble(estimators=members, weights=[0.5, 0.3, 0.2],
                                        classes=sorted(set(y)))
    expected = ensemble.predict_proba(X[:20])
    settle_for_prediction(ensemble)
    forests = [m.named_steps["model"] for m in members[:2]]
    assert all(is_compiled(f) and f.n_jobs == 1 for f in forests)
    np.testing.assert_allclose(ensemble.predict_proba(X[:20]), expected, rtol=0.0, atol=1e-6)
    np.testing.assert_allclose(ensemble.predict_proba(X[:1]), expected[:1], rtol=0.0,
                               atol=1e-6)
    loaded = cloudpickle.loads(cloudpickle.dumps(ensemble))
    assert all(is_compiled(m.named_steps["model"]) for m in loaded.estimators[:2])
    np.testing.assert_allclose(loaded.predict_proba(X[:1]), expected[:1], rtol=0.0, atol=1e-6)
    assert list(loaded.predict(X[:20])) == list(ensemble.classes_[expected.argmax(axis=1)])


def test_settle_for_prediction_compiles_a_pipeline_and_a_regression_ensemble() -> None:
    X, y = _data("regression")
    single = _pipeline(_forest("ExtremeRandomTrees", "regression", X, y), X, y)
    expected = single.predict(X[:5])
    settle_for_prediction(single)
    assert is_compiled(single.named_steps["model"])
    np.testing.assert_allclose(single.predict(X[:5]), expected, rtol=0.0, atol=1e-6)
    other = _pipeline(_forest("RandomForest", "regression", X, y), X, y)
    ensemble = VotingRegressorEnsemble(estimators=[single, other], weights=[1.0, 1.0])
    blended = (expected + other.predict(X[:5])) / 2.0
    settle_for_prediction(ensemble)
    assert is_compiled(other.named_steps["model"])
    np.testing.assert_allclose(ensemble.predict(X[:5]), blended, rtol=0.0, atol=1e-6)


# ------------------------------------------------------ what reads the estimator still works


def test_onnx_export_and_explanations_of_settled_forests(tmp_path: Path) -> None:
    from cirrusml.explain import explain_global, explain_rows
    from cirrusml.onnx import check_parity, export_onnx
    from tests import test_explain, test_onnx

    X, targets = test_onnx._frame()
    train, test = X.iloc[: test_onnx.N_TRAIN], X.iloc[test_onnx.N_TRAIN:]
    from cirrusml.featurize import profile_columns

    data = {"train": train, "test": test, "y": targets, "profile": profile_columns(train)}
    for name, kind in (("RandomForest", "binary"), ("ExtremeRandomTrees", "regression")):
        model = test_onnx._pipeline(data, name, kind, params={"n_estimators": 20})
        settle_for_prediction(model)
        assert is_compiled(model.named_steps["model"])
        path = export_onnx(model, train.head(5), tmp_path / name)
        report = check_parity(model, path, test, test_onnx._task(kind))
        assert report["passed"]

    for name, kind in (("RandomForest", "binary"), ("ExtremeRandomTrees", "multiclass")):
        model, X, y = test_explain.case(name, kind, n_estimators=30)
        settle_for_prediction(model)
        assert is_compiled(model.named_steps["model"])
        result = explain_global(model, X, y, task=test_explain.task_of(kind))
        assert result.method == "shap_tree"
        rows = X.iloc[[3, 17, 42, 99]]
        local = explain_rows(model, rows, X.iloc[200:], task=test_explain.task_of(kind))
        test_explain.check_additive(local, model, rows, kind)
