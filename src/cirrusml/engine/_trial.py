"""One trial: a plain function of (trial spec, data reference) that any backend can run.

The job's fitted :class:`~cirrusml.tasks.Task` travels inside the data: trials ask it to predict
and to score, so nothing here differs per task.

The data reference is a file written once per job (see :func:`cirrusml.execution.cached_load`);
a worker reads it on its first trial and keeps it for the rest of its life. Featurized folds are
cached in the worker too: trials of learners that want the same features (native categories or
not, scaled or not) featurize each fold once.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from cirrusml.execution import cached_load
from cirrusml.featurize import (
    DataProfile,
    InputColumns,
    ToDense,
    make_featurizer,
    make_onnx_featurizer,
)
from cirrusml.models import get_learner
from cirrusml.spec import TabularFeaturizationSettings, TaskType
from cirrusml.tasks import Task

#: Featurized folds kept per worker, in bytes.
_FOLD_CACHE_BYTES = 1_500_000_000


@dataclass
class TrialSpec:
    """Everything a worker needs to run one trial besides the data."""

    index: int
    learner: str
    params: dict[str, Any]
    task: TaskType
    metric: str
    seed: int = 0
    n_jobs: int = 1
    class_weight: str | None = None
    keep_model: bool = True
    positive_label: Any = None
    #: Where the worker stores the trial's fitted model (``joblib``); None keeps it in memory.
    model_path: str | None = None


@dataclass
class TrialOutput:
    """What a trial sends back to the runner."""

    metrics: dict[str, float]
    fold_scores: list[float]
    predictions: Any  # out-of-fold (CV) or validation (holdout) predictions, row-aligned
    validation_rows: np.ndarray
    fit_seconds: float
    predict_seconds: float
    model: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    featurization: list[dict[str, Any]] = field(default_factory=list)
    n_features: int = 0
    model_path: str | None = None

    def load_model(self) -> Any:
        """The fitted model, from memory or from the file the worker stored it in."""
        if self.model is None and self.model_path is not None and os.path.exists(self.model_path):
            return joblib.load(self.model_path)
        return self.model


@dataclass
class JobData:
    """The file behind a data reference: features, target, weights, folds, how to featurize."""

    X: pd.DataFrame
    y: pd.Series
    weights: np.ndarray | None
    folds: list[tuple[np.ndarray, np.ndarray]]
    #: The job's task, fitted on its target (classes, or the target range).
    task: Task
    profile: DataProfile | None = None
    featurization: TabularFeaturizationSettings | None = None
    #: ``training.enable_onnx_compatible_models``: featurize with ONNX-convertible parts only.
    onnx_compatible: bool = False
    #: ``training_mode: distributed`` for learners whose fits spread their rows: the share of
    #: the Dask cluster each fit trains across (``Learner.on_cluster``).
    cluster: Any = None

    @property
    def classes(self) -> list[Any] | None:
        return self.task.classes


# ------------------------------------------------------------------------------- pipelines


def _featurizer(spec: TrialSpec, data: JobData) -> Any:
    learner = get_learner(spec.learner, spec.task)
    assert data.profile is not None
    if data.onnx_compatible:
        return make_onnx_featurizer(data.profile, data.featurization,
                                    scale=learner.needs_scaling, task=data.task,
                                    seed=spec.seed)
    return make_featurizer(data.profile, data.featurization,
                           native_categorical=learner.native_categorical,
                           scale=learner.needs_scaling, task=data.task, seed=spec.seed)


def _estimator(spec: TrialSpec, data: JobData) -> Any:
    learner = get_learner(spec.learner, spec.task)
    estimator = learner.build(spec.task, spec.params, n_jobs=spec.n_jobs, seed=spec.seed,
                              class_weight=spec.class_weight)
    facts = data.task.estimator_params()
    if facts:
        estimator = estimator.set_params(**facts)
    return estimator if data.cluster is None else learner.on_cluster(estimator, data.cluster)


def _quiet() -> None:
    """Inside ``warnings.catch_warnings()``: silence what learners say while fitting
    (convergence, parallelism fallbacks, deprecations); failures still raise."""
    for category in (UserWarning, RuntimeWarning, FutureWarning, DeprecationWarning):
        warnings.simplefilter("ignore", category=category)


def _assemble(inputs: Any, featurizer: Any, estimator: Any, sparse: bool,
              learner_sparse_ok: bool) -> Any:
    if featurizer is None:
        return estimator  # a learner that featurizes the raw rows itself
    steps = [("inputs", inputs), ("datatransformer", featurizer)]
    if sparse and not learner_sparse_ok:
        steps.append(("densify", ToDense().fit(None)))
    steps.append(("model", estimator))
    return Pipeline(steps)


def build_pipeline(spec: TrialSpec, data: JobData) -> Any:
    """The unfitted model of a trial: raw columns in, predictions out (a pipeline, or the
    estimator itself for a learner that featurizes itself)."""
    learner = get_learner(spec.learner, spec.task)
    if learner.featurizes_itself:
        return _estimator(spec, data)
    steps = [("inputs", InputColumns()), ("datatransformer", _featurizer(spec, data))]
    if not learner.sparse_ok:
        steps.append(("densify", ToDense()))
    steps.append(("model", _estimator(spec, data)))
    return Pipeline(steps)


def _fit_estimator(estimator: Any, X: Any, y: pd.Series, weights: np.ndarray | None) -> Any:
    with warnings.catch_warnings():
        _quiet()
        if weights is not None:
            estimator.fit(X, y, sample_weight=weights)
        else:
            estimator.fit(X, y)
    return estimator


def _fit_model(model: Any, X: Any, y: pd.Series, weights: np.ndarray | None) -> Any:
    """Fit what :func:`build_pipeline` made, weights to its final step."""
    with warnings.catch_warnings():
        _quiet()
        if weights is None:
            model.fit(X, y)
        elif isinstance(model, Pipeline):
            model.fit(X, y, model__sample_weight=weights)
        else:
            model.fit(X, y, sample_weight=weights)
    return model


# ------------------------------------------------------------------------- featurized folds

_FOLDS: OrderedDict[tuple[Any, ...], tuple[Any, Any, Any, Any]] = OrderedDict()


def _nbytes(value: Any) -> int:
    if sp.issparse(value):
        return int(value.data.nbytes + value.indices.nbytes + value.indptr.nbytes)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=False).sum())
    return int(getattr(value, "nbytes", 0))


def featurized_fold(spec: TrialSpec, data_path: str, data: JobData, fold: int
                    ) -> tuple[Any, Any, Any, Any]:
    """(fitted inputs step, fitted featurizer, featurized train rows, featurized valid rows);
    the raw rows, and no steps, for a learner that featurizes itself."""
    learner = get_learner(spec.learner, spec.task)
    if learner.featurizes_itself:
        train_idx, valid_idx = data.folds[fold]
        return None, None, data.X.iloc[train_idx], data.X.iloc[valid_idx]
    key = (data_path, os.stat(data_path).st_mtime, fold, learner.native_categorical,
           learner.needs_scaling, spec.seed)
    if key in _FOLDS:
        _FOLDS.move_to_end(key)
        return _FOLDS[key]
    train_idx, valid_idx = data.folds[fold]
    inputs = InputColumns().fit(data.X.iloc[train_idx])
    featurizer = _featurizer(spec, data)
    with warnings.catch_warnings():
        _quiet()
        X_train = featurizer.fit_transform(inputs.transform(data.X.iloc[train_idx]),
                                           data.y.iloc[train_idx])
        X_valid = featurizer.transform(inputs.transform(data.X.iloc[valid_idx]))
    entry = (inputs, featurizer, X_train, X_valid)
    size = _nbytes(X_train) + _nbytes(X_valid)
    if size <= _FOLD_CACHE_BYTES:
        _FOLDS[key] = entry
        total = sum(_nbytes(v[2]) + _nbytes(v[3]) for v in _FOLDS.values())
        while total > _FOLD_CACHE_BYTES and len(_FOLDS) > 1:
            _k, old = _FOLDS.popitem(last=False)
            total -= _nbytes(old[2]) + _nbytes(old[3])
    return entry


# ---------------------------------------------------------------------------------- scoring


# ------------------------------------------------------------------------------------ trial


def run_trial(spec: TrialSpec, data_path: str) -> TrialOutput:
    """Fit and score one configuration on every fold of the job's validation plan."""
    data: JobData = cached_load(data_path)
    task = data.task
    learner = get_learner(spec.learner, spec.task)
    fold_metrics: list[dict[str, float]] = []
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    fit_seconds = predict_seconds = 0.0
    model = None
    featurizer = None
    n_features = 0
    for fold, (train_idx, valid_idx) in enumerate(data.folds):
        start = time.perf_counter()
        inputs, featurizer, X_train, X_valid = featurized_fold(spec, data_path, data, fold)
        sparse = sp.issparse(X_train)
        if sparse and not learner.sparse_ok:
            X_train, X_valid = X_train.toarray(), X_valid.toarray()
        n_features = int(X_train.shape[1])
        w_train = None if data.weights is None else data.weights[train_idx]
        w_valid = None if data.weights is None else data.weights[valid_idx]
        estimator = _fit_estimator(_estimator(spec, data), X_train, data.y.iloc[train_idx],
                                   w_train)
        fit_seconds += time.perf_counter() - start
        start = time.perf_counter()
        pred = task.predict(estimator, X_valid)
        predict_seconds += time.perf_counter() - start
        fold_metrics.append(task.score(data.y.iloc[valid_idx], pred, w_valid,
                                       spec.positive_label))
        pieces.append((valid_idx, pred))
        if spec.keep_model and fold == len(data.folds) - 1:
            # The holdout model, or after cross-validation the last fold's model: a fallback
            # for when refitting on every row does not fit in the time left.
            model = _assemble(inputs, featurizer, estimator, sparse, learner.sparse_ok)
    # Azure reports cross-validated metrics as the mean over folds.
    names = fold_metrics[0].keys()
    metrics = {}
    for name in names:
        values = np.asarray([m[name] for m in fold_metrics], dtype=float)
        metrics[name] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    rows = np.concatenate([idx for idx, _ in pieces])
    predictions = np.concatenate([p for _, p in pieces])
    order = np.argsort(rows, kind="stable")
    model_path = None
    if model is not None and spec.model_path is not None:
        # Stored here, in the worker: a big model never crosses the pipe to the runner.
        joblib.dump(model, spec.model_path)
        model, model_path = None, spec.model_path
    return TrialOutput(
        metrics=metrics,
        fold_scores=[m.get(spec.metric, float("nan")) for m in fold_metrics],
        predictions=predictions[order],
        validation_rows=rows[order],
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        model=model,
        params=dict(spec.params),
        featurization=featurizer.featurization_summary() if featurizer is not None else [],
        n_features=n_features,
        model_path=model_path,
    )


def refit(spec: TrialSpec, data_path: str) -> Any:
    """Fit the configuration on every training row (used after cross-validation)."""
    data: JobData = cached_load(data_path)
    return _fit_model(build_pipeline(spec, data), data.X, data.y, data.weights)


def fit_on_rows(spec: TrialSpec, data_path: str, train_rows: np.ndarray,
                predict_rows: np.ndarray) -> tuple[Any, np.ndarray]:
    """Fit on ``train_rows`` and predict ``predict_rows`` (StackEnsemble's holdout scheme)."""
    data: JobData = cached_load(data_path)
    X, y = data.X.iloc[train_rows], data.y.iloc[train_rows]
    weights = None if data.weights is None else data.weights[train_rows]
    model = _fit_model(build_pipeline(spec, data), X, y, weights)
    with warnings.catch_warnings():
        _quiet()
        pred = data.task.predict(model, data.X.iloc[predict_rows])
    return model, pred
