"""The validation plan, by Azure's rules (reference §9).

Precedence: ``validation_data`` > ``cv_split_column_names`` > ``n_cross_validations`` /
``validation_data_size``. With none of them: more than 20,000 training rows → a 10% holdout;
otherwise k-fold cross-validation, 10 folds under 1,000 rows and 3 folds from 1,000 to 20,000.
Classification splits are stratified whenever every class has enough rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError

AUTO_HOLDOUT_ROWS = 20_000
AUTO_HOLDOUT_FRACTION = 0.1
SMALL_DATA_ROWS = 1_000
SMALL_DATA_FOLDS = 10
MEDIUM_DATA_FOLDS = 3


@dataclass
class SplitPlan:
    """How trials are validated.

    ``folds`` holds (train, validation) row positions into the frame the plan was made for.
    ``kind`` is ``holdout`` (one fold, the model trained on it is the model) or ``cv`` (k folds;
    the chosen configuration is refit on every row at the end).
    """

    kind: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    rule: str
    stratified: bool = False
    notices: list[str] = field(default_factory=list)

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    @property
    def is_cv(self) -> bool:
        return self.kind == "cv"

    def describe(self) -> dict[str, Any]:
        valid_rows = int(sum(len(v) for _t, v in self.folds))
        train_rows = int(np.mean([len(t) for t, _v in self.folds])) if self.folds else 0
        return {
            "kind": self.kind,
            "rule": self.rule,
            "n_folds": self.n_folds,
            "stratified": self.stratified,
            "validation_rows": valid_rows,
            "train_rows_per_fold": train_rows,
            "notices": list(self.notices),
        }


def can_stratify(counts: pd.Series, n_first: int, n_second: int) -> bool:
    """Whether a two-way split with these sizes can be stratified on classes with ``counts``."""
    return bool(counts.min() >= 2 and n_first >= len(counts) and n_second >= len(counts))


def label_text(label: Any) -> str:
    """A class label for messages: ``1``, not ``np.int64(1)``."""
    if isinstance(label, np.generic):
        label = label.item()
    return repr(label)


def _stratify_labels(y: pd.Series | None, n_splits: int) -> tuple[Any, str | None]:
    """Labels to stratify on, or None with the reason it fell back."""
    if y is None:
        return None, None
    counts = y.value_counts()
    smallest = int(counts.min())
    if smallest < n_splits:
        label = counts.idxmin()
        return None, (
            f"class {label_text(label)} has only {smallest} row(s), fewer than the {n_splits} folds; "
            "folds are not stratified"
        )
    return y.to_numpy(), None


def _kfold(n_rows: int, n_splits: int, y: pd.Series | None, seed: int,
           notices: list[str]) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if n_rows < n_splits:
        raise DataError(
            f"{n_rows} training row(s) cannot make {n_splits} cross-validation folds; give more "
            "rows or set n_cross_validations lower."
        )
    labels, reason = _stratify_labels(y, n_splits)
    if reason:
        notices.append(reason)
    positions = np.arange(n_rows)
    if labels is not None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return [(t, v) for t, v in splitter.split(positions, labels)], True
    splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(t, v) for t, v in splitter.split(positions)], False


def _holdout(n_rows: int, fraction: float, y: pd.Series | None, seed: int,
             notices: list[str]) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    from sklearn.model_selection import train_test_split

    positions = np.arange(n_rows)
    n_valid = int(round(n_rows * fraction))
    if n_valid < 1 or n_rows - n_valid < 1:
        raise DataError(
            f"{n_rows} training row(s) are too few for a validation split of {fraction:g}; "
            "give more rows."
        )
    labels = None
    if y is not None:
        counts = y.value_counts()
        if can_stratify(counts, n_valid, n_rows - n_valid):
            labels = y.to_numpy()
        else:
            notices.append(
                "some class has fewer than 2 rows, or a side of the split is smaller than the "
                "number of classes; the holdout is not stratified"
            )
    train, valid = train_test_split(positions, test_size=n_valid, random_state=seed,
                                    stratify=labels)
    return [(np.sort(train), np.sort(valid))], labels is not None


def plan_splits(
    n_rows: int,
    *,
    y: pd.Series | None,
    seed: int,
    n_validation_rows: int = 0,
    validation_data_size: float | None = None,
    n_cross_validations: int | str | None = None,
    cv_split_masks: pd.DataFrame | None = None,
) -> SplitPlan:
    """Plan validation for ``n_rows`` training rows.

    ``y`` is the target to stratify on (classification) or ``None``. ``n_validation_rows`` > 0
    means ``validation_data`` was given: its rows follow the training rows in the frame.
    ``cv_split_masks`` holds the ``cv_split_column_names`` columns (1 = train, 0 = validation).
    """
    notices: list[str] = []
    if n_validation_rows > 0:
        train = np.arange(n_rows)
        valid = np.arange(n_rows, n_rows + n_validation_rows)
        return SplitPlan("holdout", [(train, valid)], "validation_data was given: trials "
                         "train on training_data and are scored on validation_data")
    if cv_split_masks is not None:
        folds = []
        for column in cv_split_masks.columns:
            mask = pd.to_numeric(cv_split_masks[column], errors="coerce")
            if not mask.isin([0, 1]).all():
                raise DataError(
                    f"cv_split_column_names: column '{column}' must hold only 1 (train) and 0 "
                    "(validation)."
                )
            train = np.flatnonzero(mask.to_numpy() == 1)
            valid = np.flatnonzero(mask.to_numpy() == 0)
            if len(train) == 0 or len(valid) == 0:
                raise DataError(
                    f"cv_split_column_names: column '{column}' leaves no training or no "
                    "validation rows."
                )
            folds.append((train, valid))
        return SplitPlan("cv", folds, f"custom cross-validation from {len(folds)} "
                         "cv_split_column_names columns")
    if isinstance(n_cross_validations, int):
        folds, strat = _kfold(n_rows, n_cross_validations, y, seed, notices)
        return SplitPlan("cv", folds, f"n_cross_validations={n_cross_validations}: "
                         f"{n_cross_validations}-fold cross-validation", strat, notices)
    if validation_data_size is not None:
        folds, strat = _holdout(n_rows, validation_data_size, y, seed, notices)
        return SplitPlan("holdout", folds, f"validation_data_size={validation_data_size:g}: "
                         f"a {validation_data_size:.0%} holdout", strat, notices)
    # Azure's automatic rule (also used for n_cross_validations: auto).
    if n_rows > AUTO_HOLDOUT_ROWS:
        folds, strat = _holdout(n_rows, AUTO_HOLDOUT_FRACTION, y, seed, notices)
        return SplitPlan("holdout", folds, f"{n_rows:,} rows > {AUTO_HOLDOUT_ROWS:,}: a 10% "
                         "train/validation holdout", strat, notices)
    n_splits = SMALL_DATA_FOLDS if n_rows < SMALL_DATA_ROWS else MEDIUM_DATA_FOLDS
    size = f"< {SMALL_DATA_ROWS:,}" if n_rows < SMALL_DATA_ROWS else f"between {SMALL_DATA_ROWS:,} and {AUTO_HOLDOUT_ROWS:,}"
    folds, strat = _kfold(n_rows, n_splits, y, seed, notices)
    return SplitPlan("cv", folds, f"{n_rows:,} rows ({size}): {n_splits}-fold "
                     "cross-validation", strat, notices)
