"""Featurization for ``training_mode: distributed``, fitted on a Dask DataFrame.

Azure restricts the featurizers of distributed training; here the model gets the steps LightGBM
needs and no more, fitted from statistics the cluster computes (no process holds the rows):

* numbers and booleans pass through (missing values stay missing: LightGBM routes them);
* other columns become LightGBM categories fixed at fit time (:class:`CategoricalAsCategory`;
  unseen values become missing) — unless they hold more than :data:`MAX_CATEGORIES` distinct
  values (identifiers, free text), which are dropped, as are columns with no value at all.

The fitted steps are the ordinary :class:`InputColumns` and :class:`CategoricalAsCategory`, so
the model they join predicts on pandas rows like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cirrusml.featurize._basic import CategoricalAsCategory
from cirrusml.featurize._input import InputColumns

__all__ = ["MAX_CATEGORIES", "DistributedFeaturization", "fit_distributed_featurization"]

#: Most distinct values a text column may hold to become a category.
MAX_CATEGORIES = 1000


@dataclass
class DistributedFeaturization:
    """The fitted steps, and what happened to each column (the featurization summary)."""

    inputs: InputColumns
    categories: CategoricalAsCategory
    kept: list[str]
    dropped: dict[str, str] = field(default_factory=dict)
    summary: list[dict[str, Any]] = field(default_factory=list)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input for pandas rows (one partition, or rows to score)."""
        return self.categories.transform(self.inputs.transform(frame[self.kept]))

    def apply(self, ddf: Any) -> Any:
        """:meth:`transform` of every partition of a Dask DataFrame."""
        meta = self.transform(ddf._meta[self.kept])
        return ddf[self.kept].map_partitions(self.transform, meta=meta)


def _is_plain(dtype: Any) -> bool:
    return (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype))


def fit_distributed_featurization(X: Any, client: Any, *,
                                  max_categories: int = MAX_CATEGORIES
                                  ) -> DistributedFeaturization:
    """Fit on the Dask DataFrame ``X`` (features only), computed on ``client``'s cluster: two
    passes over the data, one for the column counts and distinct-value estimates, one for the
    categories kept."""
    meta = X._meta
    columns = [str(c) for c in X.columns]
    text = [c for c in columns if not _is_plain(meta[c].dtype)]
    present, *estimates = client.compute([X.count(), *(X[c].nunique_approx() for c in text)],
                                         sync=True)
    distinct = dict(zip(text, estimates, strict=True))
    dropped: dict[str, str] = {}
    for column in columns:
        if int(present[column]) == 0:
            dropped[column] = "no value in any row"
    for column in text:
        if column not in dropped and int(distinct[column]) > max_categories:
            dropped[column] = (f"about {int(distinct[column]):,} distinct values (more than "
                               f"{max_categories:,}: an identifier or free text)")
    categorical = [c for c in text if c not in dropped]
    counts = client.compute([X[c].dropna().astype(str).unique() for c in categorical],
                            sync=True)
    kept = [c for c in columns if c not in dropped]
    inputs = InputColumns().fit(meta[kept])
    categories = CategoricalAsCategory().fit(meta[kept].iloc[:0])
    categories.categories_ = {c: sorted(pd.Series(values).tolist())
                              for c, values in zip(categorical, counts, strict=True)}
    summary = []
    for column in columns:
        category = column in categories.categories_
        entry: dict[str, Any] = {
            "raw_column": column,
            "detected_type": "Categorical" if column in text else "Numeric",
            "dropped": column in dropped,
            "transformations": [] if column in dropped else (
                ["NativeCategory"] if category else []),
            "engineered_features": 0 if column in dropped else 1,
            "notes": [dropped[column]] if column in dropped else (
                [f"{len(categories.categories_[column]):,} categories"] if category else
                ["missing values left to LightGBM"])}
        summary.append(entry)
    return DistributedFeaturization(inputs, categories, kept, dropped, summary)
