"""ONNX export: the ONNX-compatible featurizer, real conversions of every convertible learner,
VotingEnsembles, the input feed, parity with the Python model and the errors for what does not
convert."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from cirrusml.ensemble import (
    StackClassifierEnsemble,
    VotingClassifierEnsemble,
    VotingRegressorEnsemble,
)
from cirrusml.exceptions import DataError, NotSupportedYetError
from cirrusml.featurize import InputColumns, ToDense, make_featurizer, profile_columns
from cirrusml.featurize._onnx_compatible import (
    OnnxCompatibleFeaturizer,
    category_text,
    make_onnx_featurizer,
)
from cirrusml.models import get_learner, learners_for
from cirrusml.onnx import (
    OnnxParityError,
    check_parity,
    export_onnx,
    onnx_input_feed,
    predict_onnx,
)
from cirrusml.spec import TabularFeaturizationSettings, TaskType

N_TRAIN = 280
N_ROWS = 360
KINDS = ("binary", "multiclass", "regression")


# ------------------------------------------------------------------------------------ data


def _frame() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    n = N_ROWS
    words = np.asarray(["amber", "brisk", "cedar", "delta", "ember", "fjord", "gale", "harbor"])
    X = pd.DataFrame({
        "income": rng.normal(50.0, 12.0, n),
        "visits": rng.integers(0, 400, n).astype(float),
        "colour": rng.choice(["red", "green", "blue", "grey"], n).astype(object),
        "unit price": rng.gamma(2.0, 3.0, n),
        "opened": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "notes": [" ".join(rng.choice(words, 5)) + f" #{i}" for i in range(n)],
        "row_id": [f"r{i:05d}" for i in range(n)],
    })
    X.loc[X.index[::9], "income"] = np.nan
    X.loc[X.index[::13], "colour"] = None
    X.loc[X.index[5], "opened"] = pd.NaT
    score = ((np.nan_to_num(X["income"], nan=50.0) - 50.0) / 12.0
             + (X["colour"] == "red") * 1.5 - X["unit price"] / 6.0
             + rng.normal(0.0, 0.7, n))
    targets = {
        "binary": np.where(score > 0.0, "yes", "no").astype(object),
        "multiclass": np.where(score < -0.8, "low", np.where(score < 0.6, "mid", "high"))
        .astype(object),
        "regression": np.asarray(200.0 + 30.0 * score, dtype=float),
    }
    return X, targets


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    X, targets = _frame()
    train = X.iloc[:N_TRAIN]
    test = X.iloc[N_TRAIN:].copy()
    test.iloc[0, test.columns.get_loc("colour")] = "violet"  # unseen at fit
    test.iloc[1, test.columns.get_loc("colour")] = None
    return {"train": train, "test": test, "y": targets, "profile": profile_columns(train)}


def _task(kind: str) -> TaskType:
    return TaskType.REGRESSION if kind == "regression" else TaskType.CLASSIFICATION


def _pipeline(data: dict[str, Any], learner_name: str, kind: str, *,
              params: dict[str, Any] | None = None, rows: np.ndarray | None = None,
              settings: TabularFeaturizationSettings | None = None) -> Pipeline:
    """A fitted trial pipeline as the engine builds it, with the ONNX-compatible featurizer."""
    task = _task(kind)
    learner = get_learner(learner_name, task)
    steps: list[tuple[str, Any]] = [
        ("inputs", InputColumns()),
        ("datatransformer", make_onnx_featurizer(data["profile"], settings,
                                                 scale=learner.needs_scaling,
                                                 task=task.value)),
    ]
    if not learner.sparse_ok:
        steps.append(("densify", ToDense()))
    steps.append(("model", learner.build(task, params or {}, n_jobs=1, seed=0)))
    rows = np.arange(N_TRAIN) if rows is None else rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Pipeline(steps).fit(data["train"].iloc[rows], data["y"][kind][rows])


def _cases() -> list[tuple[str, str]]:
    cases = []
    for kind in KINDS:
        for learner in learners_for(_task(kind)):
            if learner.onnx_convertible:
                cases.append((learner.name, kind))
    return cases


def _early_stopping(learner_name: str, kind: str) -> dict[str, Any]:
    """Force the boosting learners' validation split, so ``best_iteration_`` matters."""
    learner = get_learner(learner_name, _task(kind))
    if "early_stopping" in learner.param_names(_task(kind)):
        return {"early_stopping": True, "n_estimators": 400}
    return {}


def _tree_count(model: onnx.ModelProto) -> int:
    total = 0
    for node in model.graph.node:
        if node.op_type.startswith("TreeEnsemble"):
            ids = next(a.ints for a in node.attribute if a.name == "nodes_treeids")
            total += len(set(ids))
    return total


# ------------------------------------------------------------------------------ featurizer


def test_onnx_featurizer_output_names_and_summary(data: dict[str, Any]) -> None:
    featurizer = make_onnx_featurizer(data["profile"], None, scale=True, task="classification")
    out = featurizer.fit_transform(data["train"])
    names = list(featurizer.get_feature_names_out())
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert out.shape == (N_TRAIN, len(names))
    assert not np.isnan(out).any()
    assert np.array_equal(featurizer.transform(data["train"]), out)
    summary = {entry["raw_column"]: entry for entry in featurizer.featurization_summary()}
    assert list(summary) == list(data["train"].columns)
    for entry in summary.values():
        assert set(entry) == {"raw_column", "detected_type", "dropped", "transformations",
                              "engineered_features", "notes"}
    assert summary["income"]["transformations"] == ["MeanImputer", "ImputationMarker",
                                                    "StandardScaler"]
    assert summary["colour"]["transformations"] == ["ModeImputer", "ImputationMarker",
                                                    "OneHotEncoder"]
    assert summary["colour"]["engineered_features"] == 5  # four colours and the indicator
    assert summary["opened"]["detected_type"] == "DateTime"
    assert "SecondsSinceEpoch" in summary["opened"]["transformations"]
    assert summary["notes"]["dropped"]
    assert "ONNX" in summary["notes"]["notes"][0]
    assert summary["row_id"]["dropped"]
    assert {"income_WASNULL", "colour_WASNULL", "colour_red", "unit price"} <= set(names)
    assert sum(e["engineered_features"] for e in summary.values()) == len(names)
    # every learner gets the same kind of features: dense floats, no pandas categories
    assert set(featurizer.input_kinds_) == {"income", "visits", "colour", "unit price", "opened"}


def test_onnx_featurizer_caps_categories_and_honours_imputers(data: dict[str, Any]) -> None:
    frame = data["train"].copy()
    frame["city"] = [f"c{i % 140}" for i in range(len(frame))]  # high cardinality
    settings = TabularFeaturizationSettings(
        mode="custom",
        column_name_and_types={"visits": "Categorical"},
        transformer_params={"imputer": [
            {"fields": ["income"], "parameters": {"strategy": "constant", "fill_value": -1}},
            {"fields": ["colour"], "parameters": {"strategy": "constant",
                                                   "fill_value": "unknown"}},
        ]},
    )
    profile = profile_columns(frame, settings)
    assert profile["city"].purpose.value == "CategoricalHash"
    featurizer = make_onnx_featurizer(profile, settings, scale=False, task="regression")
    out = featurizer.fit_transform(frame)
    names = list(featurizer.get_feature_names_out())
    summary = {e["raw_column"]: e for e in featurizer.featurization_summary()}
    assert summary["city"]["engineered_features"] == 50  # the most frequent categories
    assert summary["visits"]["transformations"][-1] == "OneHotEncoder"
    assert summary["income"]["transformations"][0] == "ConstantImputer"
    assert "colour_unknown" in names
    missing_income = frame["income"].isna().to_numpy()
    assert np.all(out[missing_income, names.index("income")] == -1.0)
    missing_colour = frame["colour"].isna().to_numpy()
    assert np.all(out[missing_colour, names.index("colour_unknown")] == 1.0)


def test_category_text_is_the_same_for_numbers_and_text() -> None:
    texts = category_text(pd.Series([3, 3.0, "3", None, np.nan, True, "a b"], dtype=object))
    assert list(texts) == ["3", "3", "3", "", "", "True", "a b"]


# --------------------------------------------------------------------------- every learner


@pytest.mark.parametrize(("learner_name", "kind"), _cases())
def test_every_convertible_learner_exports_with_parity(data: dict[str, Any], tmp_path: Path,
                                                       learner_name: str, kind: str) -> None:
    model = _pipeline(data, learner_name, kind, params=_early_stopping(learner_name, kind))
    path = export_onnx(model, data["train"].head(5), tmp_path)
    assert path == tmp_path / "model.onnx"
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["income", "visits", "colour", "unit price",
                                                   "opened"]
    report = check_parity(model, path, data["test"], _task(kind))
    assert report["passed"]
    assert report["rows"] == len(data["test"])
    print(f"\nparity {learner_name:>22} {kind:<10} max abs {report['max_abs_diff']:.2e} "
          f"max rel {report['max_rel_diff']:.2e}")
    if kind == "regression":
        assert [o.name for o in proto.graph.output] == ["variable"]
        assert report["max_rel_diff"] <= 1e-4
    else:
        assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
        assert report["max_abs_diff"] <= 1e-4
        labels, proba = predict_onnx(path, data["test"])
        assert proba.shape == (len(data["test"]), len(model.classes_))
        assert set(labels) <= set(model.classes_)
    estimator = model.named_steps["model"]
    if learner_name in ("LightGBM", "XGBoostClassifier", "XGBoostRegressor"):
        assert estimator.early_stopping_
        per_round = len(model.classes_) if kind == "multiclass" else 1
        assert _tree_count(proto) == estimator.best_iteration_ * per_round


def test_integer_labels_come_out_as_int64(data: dict[str, Any], tmp_path: Path) -> None:
    task = TaskType.CLASSIFICATION
    learner = get_learner("LogisticRegression", task)
    y = (data["y"]["binary"][:N_TRAIN] == "yes").astype(np.int64)
    model = Pipeline([
        ("inputs", InputColumns()),
        ("datatransformer", make_onnx_featurizer(data["profile"], None, scale=True,
                                                 task="classification")),
        ("model", learner.build(task, {}, n_jobs=1, seed=0)),
    ]).fit(data["train"], y)
    path = export_onnx(model, data["train"].head(3), tmp_path / "int.onnx")
    labels, _ = predict_onnx(path, data["test"])
    assert labels.dtype == np.int64
    assert np.array_equal(labels, model.predict(data["test"]))


def test_blocked_one_hot_exports_label_codes(data: dict[str, Any], tmp_path: Path) -> None:
    settings = TabularFeaturizationSettings(mode="custom", blocked_transformers=["OneHotEncoder"])
    model = _pipeline(data, "RandomForest", "multiclass", settings=settings)
    summary = model.named_steps["datatransformer"].featurization_summary()
    assert "LabelEncoder" in next(e for e in summary if e["raw_column"] == "colour")[
        "transformations"]
    path = export_onnx(model, data["train"].head(3), tmp_path)
    assert check_parity(model, path, data["test"], "classification")["passed"]


# ------------------------------------------------------------------------------- ensembles


def test_voting_classifier_ensemble_exports(data: dict[str, Any], tmp_path: Path) -> None:
    y = data["y"]["multiclass"][:N_TRAIN]
    first = _pipeline(data, "LogisticRegression", "multiclass")
    # The second member never saw "high": its probabilities are mapped onto the ensemble's.
    second = _pipeline(data, "LightGBM", "multiclass", rows=np.flatnonzero(y != "high"))
    assert list(second.classes_) == ["low", "mid"]
    ensemble = VotingClassifierEnsemble(estimators=[first, second], weights=[0.4, 0.6],
                                        classes=["high", "low", "mid"])
    path = export_onnx(ensemble, data["train"].head(5), tmp_path)
    onnx.checker.check_model(onnx.load(str(path)))
    report = check_parity(ensemble, path, data["test"], "classification")
    assert report["max_abs_diff"] <= 1e-4
    assert report["label_mismatches"] == 0


def test_voting_regressor_ensemble_exports(data: dict[str, Any], tmp_path: Path) -> None:
    members = [_pipeline(data, "GradientBoosting", "regression"),
               _pipeline(data, "ElasticNet", "regression")]
    ensemble = VotingRegressorEnsemble(estimators=members, weights=[2.0, 1.0])
    path = export_onnx(ensemble, data["train"].head(5), tmp_path)
    report = check_parity(ensemble, path, data["test"], "regression")
    assert report["max_rel_diff"] <= 1e-4


# ------------------------------------------------------------------------------ input feed


def test_input_feed_follows_the_graph_convention(data: dict[str, Any], tmp_path: Path) -> None:
    import onnxruntime as ort

    model = _pipeline(data, "LogisticRegression", "binary")
    path = export_onnx(model, data["train"].head(5), tmp_path)
    rows = data["test"].head(4).copy()
    rows.iloc[0, rows.columns.get_loc("income")] = np.nan
    rows["extra"] = 1  # ignored
    feed = onnx_input_feed(rows, path)
    assert list(feed) == ["income", "visits", "colour", "unit price", "opened"]
    for name, values in feed.items():
        assert values.shape == (4, 1)
        assert values.dtype == (object if name == "colour" else np.float64)
    assert np.isnan(feed["income"][0, 0])
    assert feed["colour"][0, 0] == "violet"
    assert feed["colour"][1, 0] == ""
    assert feed["opened"][2, 0] == (rows["opened"].iloc[2] - pd.Timestamp("1970-01-01")) \
        / pd.Timedelta(seconds=1)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, onnx_input_feed(rows, session))
    assert np.allclose(proba, model.predict_proba(rows), atol=1e-6)
    assert list(label) == list(model.predict(rows))
    # records work too; a missing column is named
    assert set(onnx_input_feed(rows.to_dict("records"), session)) == set(feed)
    with pytest.raises(DataError, match="'colour'"):
        onnx_input_feed(rows.drop(columns=["colour"]), session)


# ---------------------------------------------------------------------------------- errors


def test_automatic_featurizer_with_text_is_refused(data: dict[str, Any], tmp_path: Path) -> None:
    task = TaskType.CLASSIFICATION
    learner = get_learner("LogisticRegression", task)
    model = Pipeline([
        ("inputs", InputColumns()),
        ("datatransformer", make_featurizer(data["profile"], None, native_categorical=False,
                                            scale=True, task="classification")),
        ("model", learner.build(task, {}, n_jobs=1, seed=0)),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data["train"], data["y"]["binary"][:N_TRAIN])
    with pytest.raises(NotSupportedYetError) as info:
        export_onnx(model, data["train"].head(3), tmp_path)
    message = str(info.value)
    for part in ("'datatransformer'", "AutoFeaturizer", "'notes'", "LogisticRegression",
                 "enable_onnx_compatible_models"):
        assert part in message
    assert not (tmp_path / "model.onnx").exists()


def test_unsupported_learners_are_refused(data: dict[str, Any], tmp_path: Path) -> None:
    featurizer = make_onnx_featurizer(data["profile"], None, scale=False,
                                      task="classification")
    foreign = Pipeline([("inputs", InputColumns()), ("datatransformer", featurizer),
                        ("model", DummyClassifier())]).fit(data["train"],
                                                           data["y"]["binary"][:N_TRAIN])
    with pytest.raises(NotSupportedYetError, match="step 'model' holds DummyClassifier"):
        export_onnx(foreign, data["train"].head(3), tmp_path)
    # KNN fitted with sample weights weighs its neighbours' votes: no ONNX converter does.
    task = TaskType.CLASSIFICATION
    knn = Pipeline([
        ("inputs", InputColumns()),
        ("datatransformer", make_onnx_featurizer(data["profile"], None, scale=True,
                                                 task="classification")),
        ("model", get_learner("KNN", task).build(task, {}, n_jobs=1, seed=0)),
    ])
    weights = np.linspace(0.5, 2.0, N_TRAIN)
    knn.fit(data["train"], data["y"]["binary"][:N_TRAIN], model__sample_weight=weights)
    with pytest.raises(NotSupportedYetError, match=r"step 'model' .*learner KNN.*weights"):
        export_onnx(knn, data["train"].head(3), tmp_path)
    stack = StackClassifierEnsemble(estimators=[knn], weights=[1.0], classes=["no", "yes"])
    with pytest.raises(NotSupportedYetError, match="StackEnsemble"):
        export_onnx(stack, data["train"].head(3), tmp_path)


def test_parity_check_raises_on_a_different_model(data: dict[str, Any], tmp_path: Path) -> None:
    exported = _pipeline(data, "DecisionTree", "regression")
    other = _pipeline(data, "ElasticNet", "regression")
    path = export_onnx(exported, data["train"].head(3), tmp_path)
    with pytest.raises(OnnxParityError, match="relative prediction difference"):
        check_parity(other, path, data["test"], "regression")


def test_featurizer_is_plain_sklearn(data: dict[str, Any]) -> None:
    from sklearn.base import clone

    featurizer = make_onnx_featurizer(data["profile"], None, scale=False, task="regression")
    copy = clone(featurizer)
    assert isinstance(copy, OnnxCompatibleFeaturizer)
    assert copy.get_params() == featurizer.get_params()


def test_linear_svm_with_a_single_row_class_exports(tmp_path: Path) -> None:
    # A class with one row leaves LinearSVM no calibration folds: it calibrates a frozen SVM.
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90),
                      "c": rng.choice(["u", "v"], 90)})
    y = np.where(X["a"] > 0, "up", "down").astype(object)
    y[0] = "rare"
    task = TaskType.CLASSIFICATION
    model = Pipeline([
        ("inputs", InputColumns()),
        ("datatransformer", make_onnx_featurizer(profile_columns(X), None, scale=True,
                                                 task="classification")),
        ("model", get_learner("LinearSVM", task).build(task, {}, n_jobs=1, seed=0)),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns about the one-row class
        model.fit(X, y)
    calibrated = model.named_steps["model"].estimator_.calibrated_classifiers_[0]
    assert type(calibrated.estimator).__name__ == "FrozenEstimator"
    path = export_onnx(model, X.head(3), tmp_path)
    assert check_parity(model, path, X, task)["max_abs_diff"] <= 1e-4
