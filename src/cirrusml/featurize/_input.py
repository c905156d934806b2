"""The first step of every model: raw input rows in, the trained columns out, dtypes coerced.

It enforces the prediction-time contract: extra columns are ignored, column order does not
matter, a missing column is an error naming it, and values are coerced to the type seen in
training where that is safe (numbers written as text, for instance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize._transformers import PredictionCaches


def as_frame(X: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame from what a user may pass: a DataFrame, records, a dict or a 2-D array."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame().T
    if isinstance(X, dict):
        return pd.DataFrame(X if all(np.ndim(v) > 0 for v in X.values()) else [X])
    if isinstance(X, list) and X and isinstance(X[0], dict):
        return pd.DataFrame.from_records(X)
    array = np.asarray(X, dtype=object)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if columns is not None and array.shape[1] == len(columns):
        return pd.DataFrame(array, columns=columns)
    raise DataError(
        f"cannot read the input as a table with the trained columns ({len(columns or [])} "
        f"expected, got shape {array.shape}); pass a DataFrame or a list of records."
    )


def column_dtypes(X: pd.DataFrame) -> list[Any]:
    """The frame's column dtypes, without a Series per column where pandas allows it."""
    arrays = getattr(X, "_iter_column_arrays", None)  # pandas' own, private: guarded
    if arrays is not None:
        return [a.dtype for a in arrays()]
    return list(X.dtypes)


class InputColumns(PredictionCaches, TransformerMixin, BaseEstimator):
    """Select and coerce the raw columns a model was trained on."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> InputColumns:
        self._clear_caches()
        X = as_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.kinds_ = {}
        for column in X.columns:
            series = X[column]
            if pd.api.types.is_bool_dtype(series):
                kind = "bool"
            elif pd.api.types.is_numeric_dtype(series):
                kind = "numeric"
            elif pd.api.types.is_datetime64_any_dtype(series):
                kind = "datetime"
            else:
                kind = "object"
            self.kinds_[str(column)] = kind
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        if not hasattr(self, "kinds_"):
            raise NotFittedError("InputColumns is not fitted yet; call fit first.")
        X = as_frame(X, list(self.feature_names_in_))
        if not all(type(c) is str for c in X.columns):
            X = X.rename(columns=str)
        names = list(self.feature_names_in_)
        present = set(X.columns)
        missing = [c for c in names if c not in present]
        if missing:
            raise DataError(
                f"the input lacks column(s) {', '.join(repr(c) for c in missing)} that the model "
                f"was trained on; expected columns: {', '.join(self.feature_names_in_)}."
            )
        # A frame of exactly the trained columns is not copied: columns that need coercing
        # are replaced in a shallow copy, never changed in place.
        out = X.copy(deep=False) if list(X.columns) == names else X.loc[:, names]
        for (column, kind), dtype in zip(self.kinds_.items(), column_dtypes(out), strict=True):
            if self._fits(kind, dtype):
                continue
            series = out[column]
            if kind in ("numeric", "bool"):
                converted = pd.to_numeric(series, errors="coerce")
                if kind == "bool":
                    lowered = series.astype(str).str.strip().str.lower()
                    converted = converted.where(
                        converted.notna(),
                        lowered.map({"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}),
                    )
                out[column] = converted
            elif kind == "datetime":
                out[column] = pd.to_datetime(series, errors="coerce")
            else:
                out[column] = series.astype(object)
        return out

    def _fits(self, kind: str, dtype: Any) -> bool:
        """Whether a column of ``dtype`` needs no coercion to ``kind`` (kept per dtype)."""
        known = self.__dict__.setdefault("_cache_fits", {})
        key = (kind, dtype)
        fits = known.get(key)
        if fits is None:
            if kind in ("numeric", "bool"):
                fits = bool(pd.api.types.is_numeric_dtype(dtype))
            elif kind == "datetime":
                fits = bool(pd.api.types.is_datetime64_any_dtype(dtype))
            else:
                fits = not pd.api.types.is_numeric_dtype(dtype)
            known[key] = fits
        return fits

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)


class ToDense(TransformerMixin, BaseEstimator):
    """Turn a sparse feature matrix into a dense array (for learners that need one)."""

    def fit(self, X: Any, y: Any = None) -> ToDense:
        self.fitted_ = True
        return self

    def transform(self, X: Any) -> Any:
        import scipy.sparse as sp

        return X.toarray() if sp.issparse(X) else X
