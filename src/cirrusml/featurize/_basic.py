"""A basic featurizer: numbers as numbers, everything else as pandas categories.

It suits learners that take categories natively (LightGBM). The full automatic featurization of
the featurization issue builds on the same contract: a scikit-learn transformer fitted inside each
training fold and saved inside the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from cirrusml.exceptions import NotFittedError


class CategoricalAsCategory(TransformerMixin, BaseEstimator):
    """Numbers pass through; other columns become categories fixed at fit time.

    Values unseen in training become missing, which LightGBM routes like any missing value.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> CategoricalAsCategory:
        self.categories_ = {}
        for column in X.columns:
            series = X[column]
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                continue
            if pd.api.types.is_datetime64_any_dtype(series):
                continue
            values = series.dropna().astype(str)
            self.categories_[column] = sorted(values.unique().tolist())
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "categories_"):
            raise NotFittedError("CategoricalAsCategory is not fitted yet; call fit first.")
        out = X.copy()
        for column in out.columns:
            series = out[column]
            if column in self.categories_:
                text = series.astype(str).where(series.notna())
                out[column] = pd.Categorical(text, categories=self.categories_[column])
            elif pd.api.types.is_datetime64_any_dtype(series):
                out[column] = series.astype("int64").where(series.notna()) / 1e9
            elif pd.api.types.is_bool_dtype(series):
                out[column] = series.astype(float)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)
