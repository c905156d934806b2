"""One trial: a plain function of (trial spec, data reference) that any backend can run.

The data reference is a file written once per job (see :func:`cirrusml.execution.cached_load`);
a worker reads it on its first trial and keeps it for the rest of its life.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from cirrusml.execution import cached_load
from cirrusml.featurize import CategoricalAsCategory, InputColumns
from cirrusml.metrics import classification_metrics, regression_metrics
from cirrusml.models import get_learner
from cirrusml.spec import TaskType


@dataclass
class TrialSpec:
    """Everything a worker needs to run one trial besides the data."""

    index: int
    learner: str
    params: dict[str, Any]
    task: str
    metric: str
    seed: int = 0
    n_jobs: int = 1
    keep_model: bool = True
    positive_label: Any = None


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


@dataclass
class JobData:
    """The file behind a data reference: features, target, weights, folds."""

    X: pd.DataFrame
    y: pd.Series
    weights: np.ndarray | None
    folds: list[tuple[np.ndarray, np.ndarray]]
    classes: list[Any] | None
    y_min: float | None = None
    y_max: float | None = None


def build_pipeline(spec: TrialSpec) -> Pipeline:
    """The full model of a trial: raw columns in, predictions out."""
    task = TaskType.parse(spec.task)
    learner = get_learner(spec.learner, task)
    estimator = learner.build(task, spec.params, n_jobs=spec.n_jobs, seed=spec.seed)
    return Pipeline([
        ("inputs", InputColumns()),
        ("datatransformer", CategoricalAsCategory()),
        ("model", estimator),
    ])


def fit_pipeline(spec: TrialSpec, X: pd.DataFrame, y: pd.Series,
                 weights: np.ndarray | None) -> Pipeline:
    model = build_pipeline(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        if weights is not None:
            model.fit(X, y, model__sample_weight=weights)
        else:
            model.fit(X, y)
    return model


def _aligned_proba(model: Any, X: pd.DataFrame, classes: list[Any]) -> np.ndarray:
    """Class probabilities with one column per job class (a class unseen in a fold gets 0)."""
    proba = np.asarray(model.predict_proba(X), dtype=float)
    fitted = list(model.classes_)
    if fitted == list(classes):
        return proba
    out = np.zeros((len(X), len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(fitted):
        out[:, index[c]] = proba[:, j]
    return out


def score(task: TaskType, y_true: pd.Series, predictions: np.ndarray, data: JobData,
          weights: np.ndarray | None, positive_label: Any = None) -> dict[str, float]:
    """Every metric of ``task`` for predictions of ``y_true``."""
    if task is TaskType.CLASSIFICATION:
        return classification_metrics(y_true.to_numpy(), predictions, data.classes,
                                      sample_weight=weights, positive_label=positive_label)
    return regression_metrics(y_true.to_numpy(dtype=float), predictions, sample_weight=weights,
                              y_min=data.y_min, y_max=data.y_max)


def run_trial(spec: TrialSpec, data_path: str) -> TrialOutput:
    """Fit and score one configuration on every fold of the job's validation plan."""
    data: JobData = cached_load(data_path)
    task = TaskType.parse(spec.task)
    fold_metrics: list[dict[str, float]] = []
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    fit_seconds = predict_seconds = 0.0
    model = None
    for train_idx, valid_idx in data.folds:
        w_train = None if data.weights is None else data.weights[train_idx]
        w_valid = None if data.weights is None else data.weights[valid_idx]
        start = time.perf_counter()
        model = fit_pipeline(spec, data.X.iloc[train_idx], data.y.iloc[train_idx], w_train)
        fit_seconds += time.perf_counter() - start
        start = time.perf_counter()
        X_valid = data.X.iloc[valid_idx]
        if task is TaskType.CLASSIFICATION:
            pred = _aligned_proba(model, X_valid, data.classes or [])
        else:
            pred = np.asarray(model.predict(X_valid), dtype=float)
        predict_seconds += time.perf_counter() - start
        fold_metrics.append(score(task, data.y.iloc[valid_idx], pred, data, w_valid,
                                  spec.positive_label))
        pieces.append((valid_idx, pred))
    # Azure reports cross-validated metrics as the mean over folds.
    names = fold_metrics[0].keys()
    metrics = {n: float(np.nanmean([m[n] for m in fold_metrics])) if any(
        np.isfinite(m[n]) for m in fold_metrics) else float("nan") for n in names}
    rows = np.concatenate([idx for idx, _ in pieces])
    predictions = np.concatenate([p for _, p in pieces])
    order = np.argsort(rows, kind="stable")
    return TrialOutput(
        metrics=metrics,
        fold_scores=[m.get(spec.metric, float("nan")) for m in fold_metrics],
        predictions=predictions[order],
        validation_rows=rows[order],
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        model=model if spec.keep_model and len(data.folds) == 1 else None,
        params=dict(spec.params),
    )


def refit(spec: TrialSpec, data_path: str) -> Any:
    """Fit the configuration on every training row (used after cross-validation)."""
    data: JobData = cached_load(data_path)
    return fit_pipeline(spec, data.X, data.y, data.weights)
