"""StackEnsemble's meta-learner: Azure's defaults and settings.

Default meta-learner: ``LogisticRegression`` for classification (``LogisticRegressionCV`` when the
job cross-validates), ``ElasticNet`` for regression (``ElasticNetCV`` with cross-validation).
``stack_meta_learner_type`` picks another and ``stack_meta_learner_kwargs`` (or the SDK's
``stack_meta_learner_k_wargs``) sets its arguments.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec import TaskType
from cirrusml.tasks import Task, as_task

#: Share of the training rows kept for the meta-learner in train/validation mode (Azure's 0.2).
DEFAULT_TRAIN_PERCENTAGE = 0.2


def default_meta_learner_type(task: Task | TaskType | str, cross_validated: bool) -> str:
    """Azure's default meta-learner for ``task`` (with or without cross-validation)."""
    return as_task(task).meta_learner_name(None, cross_validated)


def make_meta_learner(kind: str | None, task: Task | TaskType | str, cross_validated: bool,
                      kwargs: dict[str, Any] | None, seed: int) -> Any:
    """The unfitted meta-learner named ``kind`` (Azure's ``StackMetaLearnerType`` values); the
    task checks that the name suits it and gives the default."""
    kind = as_task(task).meta_learner_name(kind, cross_validated)
    args = dict(kwargs or {})
    try:
        if kind == "LogisticRegression":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(**{"max_iter": 1000, "C": 1.0, **args})
        if kind == "LogisticRegressionCV":
            from sklearn.linear_model import LogisticRegressionCV

            return LogisticRegressionCV(**{"max_iter": 1000, "Cs": 6, "cv": 3, **args})
        if kind in ("LightGBMClassifier", "LightGBMRegressor"):
            import lightgbm as lgb

            cls = lgb.LGBMClassifier if kind == "LightGBMClassifier" else lgb.LGBMRegressor
            return cls(**{"n_estimators": 100, "learning_rate": 0.05, "num_leaves": 8,
                          "min_child_samples": 10, "verbose": -1, "random_state": seed,
                          "n_jobs": 1, **args})
        if kind == "ElasticNet":
            from sklearn.linear_model import ElasticNet

            return ElasticNet(**{"alpha": 1e-3, "l1_ratio": 0.5, "max_iter": 5000, **args})
        if kind == "ElasticNetCV":
            from sklearn.linear_model import ElasticNetCV

            return ElasticNetCV(**{"l1_ratio": [0.1, 0.5, 0.9, 1.0], "cv": 3,
                                   "max_iter": 5000, "random_state": seed, **args})
        from sklearn.linear_model import LinearRegression

        return LinearRegression(**args)
    except TypeError as err:
        raise InvalidSpecError(
            f"stack_meta_learner_kwargs do not fit {kind}: {err}",
            field="training.stack_ensemble_settings.stack_meta_learner_kwargs") from None


def fit_meta(meta: Any, features: np.ndarray, target: np.ndarray,
             sample_weight: np.ndarray | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # convergence
        if sample_weight is not None:
            try:
                return meta.fit(features, target, sample_weight=sample_weight)
            except TypeError:
                pass
        return meta.fit(features, target)


def cross_validated_meta_predictions(meta: Any, features: np.ndarray, target: np.ndarray,
                                     classification: bool, n_classes: int, seed: int
                                     ) -> np.ndarray:
    """The meta-learner's out-of-fold predictions on the rows it learns from (its honest score)."""
    n_splits = 3
    if classification:
        counts = np.bincount(target.astype(int), minlength=n_classes)
        present = counts[counts > 0]
        if present.min() >= n_splits:
            splitter: Any = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
        else:
            splitter = KFold(min(n_splits, len(target)), shuffle=True, random_state=seed)
    else:
        splitter = KFold(min(n_splits, len(target)), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # convergence, missing classes
        if classification:
            proba = cross_val_predict(meta, features, target, cv=splitter, method="predict_proba")
            # Folds may miss a class; cross_val_predict fills by the full label set it saw.
            present = np.unique(target)
            if proba.shape[1] != n_classes:
                full = np.zeros((len(target), n_classes))
                full[:, present.astype(int)] = proba
                proba = full
            return proba
        return np.asarray(cross_val_predict(meta, features, target, cv=splitter), dtype=float)


def fit_stack_meta(meta: Any, features: np.ndarray, target: np.ndarray,
                   sample_weight: np.ndarray | None, classification: bool, n_classes: int,
                   seed: int) -> tuple[Any, np.ndarray]:
    """Cross-validated predictions of ``meta`` on the stacked features, then ``meta`` fitted on
    all of them: one task a worker can run (and the runner can stop at a deadline)."""
    oof = cross_validated_meta_predictions(meta, features, target, classification, n_classes,
                                           seed)
    return fit_meta(meta, features, target, sample_weight), oof
