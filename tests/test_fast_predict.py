"""The fast prediction paths give the plain paths' predictions.

A small real job on bank-marketing rows (missing values in training, missing values and unseen
categories at prediction) gives LightGBM, XGBoost and LogisticRegression trials; they are
compared with what the libraries and scikit-learn compute on their own, alone and as a
VotingEnsemble and a StackEnsemble, through ``mlflow.sklearn`` and ``mlflow.pyfunc``.
"""

from __future__ import annotations

import warnings

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from cirrusml import MLClient, automl
from cirrusml.engine._model_io import save_mlflow_model
from cirrusml.ensemble import StackClassifierEnsemble, VotingClassifierEnsemble, stack_features
from cirrusml.models._common import frame_as_array
from cirrusml.tasks import align_proba
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow

BANK = EXAMPLES / "cli-automl-classification-task-bankmarketing"
TARGET = "y"


def _bank(folder: str, name: str, rows: int, seed: int) -> pd.DataFrame:
    frame = pd.read_csv(BANK / folder / name)
    return frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)


def _messy(X: pd.DataFrame) -> pd.DataFrame:
    """Rows with missing numbers and categories, and categories training never saw."""
    X = X.copy()
    X.loc[X.index[::5], "age"] = np.nan
    X.loc[X.index[::7], "euribor3m"] = np.nan
    X.loc[X.index[::4], "job"] = "astronaut"
    X.loc[X.index[::6], "marital"] = None
    X.loc[X.index[1::9], "education"] = "phd"
    X.loc[X.index[::11], "month"] = np.nan
    return X


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    train = _bank("training-mltable-folder", "bank_marketing_train_data.csv", 3000, 0)
    train.loc[::13, "age"] = np.nan  # missing values seen in training: indicator columns
    train.loc[::17, "job"] = None
    client = MLClient(workspace=root / "ws")
    spec = automl.classification(training_data=train, target_column_name=TARGET,
                                 primary_metric="AUC_weighted", validation_data_size=0.25,
                                 seed=0)
    spec.set_limits(max_trials=4, max_concurrent_trials=1)
    spec.set_training(allowed_training_algorithms=["LightGBM", "XGBoostClassifier",
                                                   "LogisticRegression"],
                      enable_vote_ensemble=False, enable_stack_ensemble=False,
                      enable_model_explainability=False)
    name = client.jobs.create_or_update(spec).name
    assert client.jobs.wait(name, timeout=900) == "Completed", client.jobs.record(name)
    members = {}
    for trial in client.jobs.list_trials(name):
        if trial.score is None:
            continue
        path = client.jobs.download_trial_model(name, trial.iteration, download_path=root)
        members[trial.iteration] = (trial.algorithm, path)
    test = _bank("test-mltable-folder", "bank_marketing_test_data.csv", 400, 1)
    return root, train, _messy(test.drop(columns=[TARGET])), members


def _plain_proba(pipeline, X: pd.DataFrame) -> np.ndarray:
    """A member's probabilities the plain way: its steps' output read by the library model
    itself (LightGBM and XGBoost read the frame their own way), else the pipeline as is."""
    model = pipeline.steps[-1][1]
    library = getattr(model, "estimator_", None)
    if library is None or not hasattr(model, "frame_layout_"):
        return np.asarray(pipeline.predict_proba(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = np.asarray(library.predict_proba(pipeline[:-1].transform(X)), dtype=float)
    return proba


def _loaded(job):
    _root, _train, _X, members = job
    return {i: (algorithm, mlflow.sklearn.load_model(str(path)), str(path))
            for i, (algorithm, path) in members.items()}


def test_the_job_gives_the_learners_compared_here(job):
    algorithms = {algorithm for algorithm, _ in job[3].values()}
    assert {"LightGBM", "XGBoostClassifier"} <= algorithms


def test_single_models_predict_as_their_libraries_do(job):
    _root, _train, X, _members = job
    for algorithm, model, path in _loaded(job).values():
        fast = model.predict_proba(X)
        plain = _plain_proba(model, X)
        assert np.abs(fast - plain).max() <= 1e-6, algorithm
        labels = model.predict(X)
        assert (labels == model.classes_[np.argmax(plain, axis=1)]).all(), algorithm
        pyfunc = mlflow.pyfunc.load_model(path)
        assert (np.asarray(pyfunc.predict(X)) == labels).all(), algorithm


def test_boosting_models_take_the_array_path_and_single_rows_match_batches(job):
    _root, _train, X, _members = job
    for algorithm, model, _path in _loaded(job).values():
        final = model.steps[-1][1]
        if not hasattr(final, "frame_layout_"):
            continue
        features = model[:-1].transform(X)
        assert frame_as_array(features, final.frame_layout_) is not None, algorithm
        batch = model.predict_proba(X)  # more rows than a small batch: the library's threads
        rows = np.vstack([model.predict_proba(X.iloc[[i]]) for i in range(25)])
        assert np.abs(rows - batch[:25]).max() <= 1e-6, algorithm


def test_a_frame_with_other_categories_goes_the_library_way(job):
    _root, _train, X, _members = job
    for algorithm, model, _path in _loaded(job).values():
        final = model.steps[-1][1]
        if not hasattr(final, "frame_layout_"):
            continue
        features = model[:-1].transform(X)
        categorical = [c for c in features.columns
                       if isinstance(features[c].dtype, pd.CategoricalDtype)]
        assert categorical, algorithm
        column = categorical[0]
        # The same values under reordered categories: a library remaps them by value.
        reordered = features.copy()
        reordered[column] = reordered[column].cat.reorder_categories(
            list(reversed(reordered[column].cat.categories)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            library = np.asarray(final.estimator_.predict_proba(reordered), dtype=float)
        assert np.abs(final.predict_proba(reordered) - library).max() <= 1e-6, algorithm


def test_featurizer_transform_repeats_fit_transform_and_is_row_independent(job):
    _root, train, X, _members = job
    raw = train.drop(columns=[TARGET])
    for algorithm, model, _path in _loaded(job).values():
        inputs, featurizer = model.steps[0][1], model.steps[1][1]
        refit = clone(featurizer)
        fitted = refit.fit_transform(inputs.transform(raw), train[TARGET])
        again = refit.transform(inputs.transform(raw))
        if hasattr(fitted, "to_numpy"):
            pd.testing.assert_frame_equal(fitted, again)
        else:
            assert (fitted != again).nnz == 0
        # One row at a time (dict lookups) as in a batch (vectorised lookups).
        batch = featurizer.transform(inputs.transform(X))
        for i in range(0, 40, 3):
            row = featurizer.transform(inputs.transform(X.iloc[[i]]))
            if hasattr(batch, "iloc"):
                pd.testing.assert_frame_equal(row, batch.iloc[[i]], check_index_type=False)
            else:
                assert (row != batch[i]).nnz == 0, algorithm


def test_prediction_leaves_the_input_as_it_was(job):
    _root, _train, X, _members = job
    algorithm, model, _path = next(iter(_loaded(job).values()))
    sent = X.head(20).copy()
    sent["age"] = sent["age"].astype(str)  # numbers as text: coerced on a copy
    before = sent.copy()
    model.predict_proba(sent)
    pd.testing.assert_frame_equal(sent, before)
    assert np.abs(model.predict_proba(sent) - model.predict_proba(X.head(20))).max() <= 1e-6


def _ensembles(job):
    loaded = _loaded(job)
    members = [model for _algorithm, model, _path in loaded.values()]
    names = [f"{i}:{algorithm}" for i, (algorithm, _m, _p) in loaded.items()]
    classes = list(members[0].classes_)
    weights = list(np.linspace(1.0, 2.0, len(members)))
    voting = VotingClassifierEnsemble(estimators=[clone_fitted(m) for m in members],
                                      weights=weights, classes=classes, names=names)
    _root, train, _X, _members = job
    rows = train.drop(columns=[TARGET]).head(600)
    outputs = [align_proba(m, rows, classes) for m in members]
    meta = LogisticRegression(max_iter=1000).fit(
        stack_features(outputs, True), pd.Categorical(train[TARGET].head(600),
                                                      categories=classes).codes)
    stack = StackClassifierEnsemble(estimators=[clone_fitted(m) for m in members],
                                    weights=weights, classes=classes, names=names,
                                    meta_learner=meta)
    return members, weights, classes, voting, stack, meta


def clone_fitted(model):
    """An independent copy of a fitted model (as the job's trials are: pickled apart)."""
    import pickle

    return pickle.loads(pickle.dumps(model))


def test_voting_ensemble_featurizes_once_per_distinct_featurizer(job, tmp_path):
    _root, _train, X, _members = job
    members, weights, classes, voting, _stack, _meta = _ensembles(job)
    groups = voting._shared_steps()
    assert len(groups) < len(members)  # LightGBM and XGBoost share their featurization
    assert sorted(i for _steps, positions in groups for i in positions) == list(
        range(len(members)))
    w = np.asarray(weights) / np.sum(weights)
    plain = sum(wi * _plain_proba(m, X) for wi, m in zip(w, members, strict=True))
    assert np.abs(voting.predict_proba(X) - plain).max() <= 1e-6
    path = save_mlflow_model(voting, tmp_path / "voting", X.head(50))
    loaded = mlflow.sklearn.load_model(str(path))
    for _steps, positions in loaded._shared_steps():
        featurizers = {id(loaded.estimators[i].steps[1][1]) for i in positions}
        assert len(featurizers) == 1  # one object after loading: one pass per call
    fast = loaded.predict_proba(X)
    assert np.abs(fast - plain).max() <= 1e-6
    labels = np.asarray(classes, dtype=object)[np.argmax(plain, axis=1)]
    assert (loaded.predict(X) == labels).all()
    assert (np.asarray(mlflow.pyfunc.load_model(str(path)).predict(X)) == labels).all()
    rows = np.vstack([loaded.predict_proba(X.iloc[[i]]) for i in range(10)])
    assert np.abs(rows - fast[:10]).max() <= 1e-6


def test_stack_ensemble_matches_its_members_and_meta_learner(job, tmp_path):
    _root, _train, X, _members = job
    members, _weights, classes, _voting, stack, meta = _ensembles(job)
    outputs = [align_proba(m, X, classes) for m in members]
    plain_members = [_plain_proba(m, X) for m in members]
    assert max(np.abs(a - b).max() for a, b in zip(outputs, plain_members, strict=True)) <= 1e-6
    plain = meta.predict_proba(stack_features(plain_members, True))
    path = save_mlflow_model(stack, tmp_path / "stack", X.head(50))
    loaded = mlflow.sklearn.load_model(str(path))
    assert np.abs(loaded.predict_proba(X) - plain).max() <= 1e-6
    labels = np.asarray(classes, dtype=object)[np.argmax(plain, axis=1)]
    assert (loaded.predict(X) == labels).all()
    assert (np.asarray(mlflow.pyfunc.load_model(str(path)).predict(X)) == labels).all()


def test_saved_forests_and_neighbours_predict_on_one_thread(tmp_path):
    """A forest's (or KNN's) call on a thread pool costs more than a request's rows: the saved
    model predicts on one thread, with the same predictions, ensemble members included."""
    from cirrusml.models import get_learner
    from cirrusml.spec import TaskType

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    y = np.where(X.a + rng.normal(0, 0.5, 300) > 0, "yes", "no")
    members = [get_learner(name, TaskType.CLASSIFICATION).build(
        TaskType.CLASSIFICATION, {}, n_jobs=2, seed=0).fit(X, y)
        for name in ("RandomForest", "ExtremeRandomTrees", "KNN")]
    before = [m.predict_proba(X) for m in members]
    ensemble = VotingClassifierEnsemble(estimators=list(members), weights=[1, 1, 1],
                                        classes=["no", "yes"])
    save_mlflow_model(ensemble, tmp_path / "model", X)
    loaded = mlflow.sklearn.load_model(str(tmp_path / "model"))
    assert [m.n_jobs for m in loaded.estimators] == [1, 1, 1]
    assert loaded.estimators[2].estimator_.n_jobs == 1
    for member, expected in zip(loaded.estimators, before, strict=True):
        np.testing.assert_allclose(member.predict_proba(X), expected)
