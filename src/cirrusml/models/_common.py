"""Helpers shared by the estimator wrappers of this package: rows, labels, weights, splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from cirrusml.exceptions import DataError, NotFittedError


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` (positions) of a frame, an array or a sparse matrix, in the same type."""
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[rows]
    if sp.issparse(X):
        return sp.csr_matrix(X)[rows]
    return np.asarray(X)[rows]


def as_vector(y: Any) -> np.ndarray:
    """A target as a flat NumPy array."""
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise DataError(f"the target must be one-dimensional; got shape {array.shape}.")
    return array


def encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct labels and each row's position among them."""
    classes, codes = np.unique(as_vector(y), return_inverse=True)
    return classes, codes.astype(np.int64)


def weights_or_none(sample_weight: Any, n: int) -> np.ndarray | None:
    """Sample weights as a float array of length ``n``, or ``None`` when none were given."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=float).ravel()
    if weights.shape[0] != n:
        raise DataError(f"sample_weight has {weights.shape[0]} values for {n} rows.")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise DataError("sample_weight must be finite and non-negative.")
    return weights


def with_class_weight(class_weight: str | Mapping[Any, float] | None, y: np.ndarray,
                      sample_weight: np.ndarray | None) -> np.ndarray | None:
    """Sample weights multiplied by per-class weights (``"balanced"`` or a mapping).

    ``"balanced"`` weights a class by ``n_rows / (n_classes * class_count)``, as scikit-learn
    does; classes missing from a mapping weigh 1.
    """
    if class_weight is None:
        return sample_weight
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise DataError(f"class_weight must be 'balanced' or a mapping; got {class_weight!r}.")
        classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        per_row = len(y) / (len(classes) * counts[codes])
    else:
        per_row = np.array([float(class_weight.get(label, 1.0)) for label in y.tolist()])
    return per_row if sample_weight is None else per_row * sample_weight


def holdout_rows(n: int, n_holdout: int, rng: np.random.Generator,
                 codes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split positions ``0..n-1`` into (kept, held out) with about ``n_holdout`` held out.

    With class codes the split is stratified, and every class keeps at least one row on the
    kept side, so a model fitted on it knows every class.
    """
    if codes is None:
        order = rng.permutation(n)
        return np.sort(order[n_holdout:]), np.sort(order[:n_holdout])
    held: list[np.ndarray] = []
    fraction = n_holdout / n
    for code in np.unique(codes):
        members = rng.permutation(np.flatnonzero(codes == code))
        take = min(len(members) - 1, int(round(len(members) * fraction)))
        if take > 0:
            held.append(members[:take])
    out = np.sort(np.concatenate(held)) if held else np.empty(0, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    mask[out] = False
    return np.flatnonzero(mask), out


def as_matrix(X: Any) -> Any:
    """``X`` as a frame, a CSR matrix or a 2-D array; anything else is validated into an array.

    Frames stay frames (their ``category`` columns matter to LightGBM and XGBoost). Missing
    values pass; each library decides whether it accepts them.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"X is empty (shape {X.shape}); at least one row and one column "
                             "are required.")
        return X
    if sp.issparse(X):
        return check_array(X, accept_sparse=["csr", "csc"], dtype=None,
                           ensure_all_finite=False)
    return check_array(X, dtype="numeric", ensure_all_finite="allow-nan")


def fit_inputs(estimator: Any, X: Any, y: Any, sample_weight: Any, *,
               classifier: bool) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """Validate what ``fit`` received; record ``n_features_in_`` (and feature names)."""
    if y is None:
        raise DataError(f"{type(estimator).__name__} requires y to be passed, but the target "
                         "y is None.")
    X = as_matrix(X)
    target = column_or_1d(y, warn=True)
    check_consistent_length(X, target)
    if classifier:
        check_classification_targets(target)
    else:
        target = check_array(target, ensure_2d=False, dtype="numeric")
    record_input(estimator, X)
    return X, target, weights_or_none(sample_weight, target.shape[0])


def predict_input(estimator: Any, X: Any) -> Any:
    """Check ``estimator`` is fitted and ``X`` has the columns it was fitted on."""
    check_fitted(estimator)
    X = as_matrix(X)
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and X.shape[1] != expected:
        raise DataError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {expected} features as input.")
    return X


def frame_layout(X: Any) -> tuple[list[str], list[Any]] | None:
    """A training frame's column names and dtypes (``None`` for anything but a frame): what
    :func:`frame_as_array` checks a prediction frame against."""
    if not isinstance(X, pd.DataFrame) or not all(isinstance(c, str) for c in X.columns):
        return None
    return list(X.columns), list(X.dtypes)


def _column_arrays(X: pd.DataFrame) -> Any:
    """The frame's columns as arrays, without a Series per column where pandas allows it."""
    arrays = getattr(X, "_iter_column_arrays", None)  # pandas' own, private: guarded
    if arrays is not None:
        return arrays()
    return (series.array for _, series in X.items())


def _same_categories(dtype: Any, expected: Any) -> bool:
    """Whether two ``category`` dtypes hold the very same categories object (and order)."""
    return (isinstance(dtype, pd.CategoricalDtype) and isinstance(expected, pd.CategoricalDtype)
            and dtype.categories is expected.categories and dtype.ordered == expected.ordered)


def _equal_dtypes(dtype: Any, expected: Any) -> bool:
    """Equal dtypes; ``category`` dtypes only with the same categories in the same order (their
    codes mean the same categories; pandas calls unordered categories equal in any order)."""
    if isinstance(dtype, pd.CategoricalDtype) or isinstance(expected, pd.CategoricalDtype):
        return (isinstance(dtype, pd.CategoricalDtype)
                and isinstance(expected, pd.CategoricalDtype)
                and dtype.ordered == expected.ordered
                and dtype.categories.equals(expected.categories))
    return bool(dtype == expected)


def frame_as_array(X: Any, layout: tuple[list[str], list[Any]] | None) -> np.ndarray | None:
    """A frame laid out as in training (``layout``: :func:`frame_layout` of the training
    frame) as one C-ordered float64 array, as LightGBM and XGBoost read a frame themselves:
    numbers as floats (missing: NaN), ``category`` columns as their codes (missing or unknown:
    NaN). ``None`` when ``X`` is no such frame (other columns, other dtypes or other
    categories): the library then reads it its own way.
    """
    if layout is None or not isinstance(X, pd.DataFrame):
        return None
    names, dtypes = layout
    if X.shape[1] != len(names) or list(X.columns) != names:
        return None
    out = np.empty(X.shape, dtype=np.float64)
    for j, (values, expected) in enumerate(zip(_column_arrays(X), dtypes, strict=True)):
        dtype = values.dtype
        if dtype is not expected and not _same_categories(dtype, expected):
            if not _equal_dtypes(dtype, expected):
                return None
            dtypes[j] = dtype  # equal: from now on found by its categories' identity
        if isinstance(dtype, pd.CategoricalDtype):
            codes = values.codes
            column = out[:, j]
            column[:] = codes
            column[codes < 0] = np.nan
        elif dtype.kind in "fiub":
            out[:, j] = values if isinstance(values, np.ndarray) else \
                values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            return None
    return out


def record_input(estimator: Any, X: Any) -> None:
    """Set ``n_features_in_`` and, for frames with string column names, ``feature_names_in_``."""
    estimator.n_features_in_ = int(X.shape[1])
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        estimator.feature_names_in_ = np.asarray(X.columns, dtype=object)


def check_fitted(estimator: Any, attribute: str = "estimator_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has been fitted."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet; call fit before using it.")


def normalise_proba(proba: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to one (rows summing to zero become uniform)."""
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, None)
    totals = proba.sum(axis=1, keepdims=True)
    uniform = np.full_like(proba, 1.0 / proba.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, proba / np.where(totals > 0, totals, 1.0), uniform)
