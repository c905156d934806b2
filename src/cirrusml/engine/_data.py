"""Loading a job's data and checking it before any training."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from cirrusml.data import read_input
from cirrusml.data._checks import check_frame, check_named_columns
from cirrusml.exceptions import DataError
from cirrusml.spec import AutoMLTabular
from cirrusml.tasks import SplitPlan, Task, can_stratify


@dataclass
class PreparedData:
    """Training rows (then validation rows, when ``validation_data`` was given), and test rows."""

    X: pd.DataFrame
    y: pd.Series
    weights: np.ndarray | None
    plan: SplitPlan
    n_train_rows: int
    #: The job's task fitted on the target (its classes, or the training rows' range).
    task: Task
    X_test: pd.DataFrame | None = None
    y_test: pd.Series | None = None
    w_test: np.ndarray | None = None
    dropped_target_rows: dict[str, int] = field(default_factory=dict)
    test_source: str | None = None

    @property
    def classes(self) -> list[Any] | None:
        return self.task.classes

    @property
    def feature_columns(self) -> list[str]:
        return [str(c) for c in self.X.columns]


def _read(job: AutoMLTabular, field_name: str, task: Task, seed: int) -> pd.DataFrame:
    """The rows of one data input, checked as at submission (the same function, the same
    messages): it has rows, unique column names and the columns the job names; then made ready
    for the task (:meth:`Task.prepare_frame`: a forecast's time grid)."""
    value = getattr(job, field_name)
    if isinstance(value, pd.DataFrame):
        frame, source = value, None
    else:
        frame, source = read_input(value.type, value.path), str(value.path)
    check_frame(frame, field_name, source)
    frame.columns = [str(c) for c in frame.columns]
    check_named_columns(job, field_name, list(frame.columns), source)
    return task.prepare_frame(frame, field_name, seed)


def _split_xyw(frame: pd.DataFrame, job: AutoMLTabular, task: Task, field_name: str,
               dropped: dict[str, int], drop: list[str]
               ) -> tuple[pd.DataFrame, pd.Series, Any, pd.DataFrame]:
    target = job.target_column_name
    missing = frame[target].isna()
    if pd.api.types.is_object_dtype(frame[target]):
        missing |= frame[target].astype(str).str.strip().eq("")
    if missing.all():
        raise DataError(
            f"target column '{target}' of {field_name} is missing in every row; nothing to learn."
        )
    if missing.any():
        dropped[field_name] = int(missing.sum())
        frame = frame.loc[~missing]
    frame = frame.reset_index(drop=True)
    y = task.check_target(frame[target], str(target))
    weights = None
    if job.weight_column_name:
        w = pd.to_numeric(frame[job.weight_column_name], errors="coerce")
        if w.isna().any() or (w < 0).any():
            raise DataError(
                f"weight column '{job.weight_column_name}' of {field_name} must hold numbers ≥ 0 "
                "in every row."
            )
        if not (w > 0).any():
            raise DataError(
                f"weight column '{job.weight_column_name}' of {field_name} is 0 in every row; "
                "at least one row needs a positive weight."
            )
        weights = w.to_numpy(dtype=float)
    X = frame.drop(columns=[target] + [c for c in drop if c in frame.columns])
    if X.shape[1] == 0:
        raise DataError(f"{field_name} has no feature columns besides the target '{target}'.")
    return X, y, weights, frame


def prepare_data(job: AutoMLTabular, task: Task, seed: int) -> PreparedData:
    """Load and check the job's data, split off test rows, and plan validation."""
    dropped: dict[str, int] = {}
    cv_columns = list(job.cv_split_column_names or [])
    drop = [c for c in [job.weight_column_name, *cv_columns] if c]
    train = _read(job, "training_data", task, seed)
    X, y, w, kept = _split_xyw(train, job, task, "training_data", dropped, drop)
    masks = kept[cv_columns] if cv_columns else None

    X_test = y_test = w_test = None
    test_source = None
    if job.test_data is not None:
        test = _read(job, "test_data", task, seed)
        X_test, y_test, w_test, _ = _split_xyw(test, job, task, "test_data", dropped, drop)
        test_source = "test_data"
    elif job.test_data_size:
        positions = np.arange(len(y))
        stratify = task.stratify(y)
        n_test = int(np.ceil(job.test_data_size * len(y)))
        if stratify is not None and not can_stratify(stratify.value_counts(), n_test,
                                                     len(y) - n_test):
            stratify = None  # too few rows on one side for every class: a random split
        if n_test < 1 or n_test >= len(y):
            raise DataError(
                f"test_data_size={job.test_data_size:g} of {len(y)} row(s) leaves no test or no "
                "training rows; give more rows or change test_data_size.")
        train_pos, test_pos = train_test_split(
            positions, test_size=n_test, random_state=seed,
            stratify=None if stratify is None else stratify.to_numpy())
        train_pos, test_pos = np.sort(train_pos), np.sort(test_pos)
        X_test, y_test = X.iloc[test_pos].reset_index(drop=True), y.iloc[test_pos].reset_index(drop=True)
        w_test = None if w is None else w[test_pos]
        X, y = X.iloc[train_pos].reset_index(drop=True), y.iloc[train_pos].reset_index(drop=True)
        w = None if w is None else w[train_pos]
        if masks is not None:
            masks = masks.iloc[train_pos].reset_index(drop=True)
        test_source = f"test_data_size={job.test_data_size:g}"

    n_train = len(y)
    n_valid = 0
    if job.validation_data is not None:
        valid = _read(job, "validation_data", task, seed)
        Xv, yv, wv, _ = _split_xyw(valid, job, task, "validation_data", dropped, drop)
        missing = [c for c in X.columns if c not in Xv.columns]
        if missing:
            raise DataError(
                f"validation_data lacks column(s) {missing} that training_data has; both need "
                "the same columns."
            )
        Xv = Xv[list(X.columns)]
        X = pd.concat([X, Xv], ignore_index=True)
        y = pd.concat([y, yv], ignore_index=True)
        if w is not None:
            w = np.concatenate([w, wv if wv is not None else np.ones(len(yv))])
        n_valid = len(yv)
    if X_test is not None:
        missing = [c for c in X.columns if c not in X_test.columns]
        if missing:
            raise DataError(f"test data lacks column(s) {missing} that training_data has.")
        X_test = X_test[list(X.columns)]

    plan = task.plan_splits(
        n_train, y, seed=seed,
        n_validation_rows=n_valid, validation_data_size=job.validation_data_size,
        n_cross_validations=job.n_cross_validations, cv_split_masks=masks,
    )
    fitted = task.fit_target(y.iloc[:n_train], y_validation=y.iloc[n_train:] if n_valid else None)
    return PreparedData(X=X, y=y, weights=w, plan=plan, n_train_rows=n_train, X_test=X_test,
                        y_test=y_test, w_test=w_test, task=fitted,
                        dropped_target_rows=dropped, test_source=test_source)
