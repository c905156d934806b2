"""What both featurizers share: reading the training frame, typing columns nobody profiled,
the checks before planning, and naming the outputs.

:class:`PlannedFeaturizer` is the base of :class:`~cirrusml.featurize.AutoFeaturizer` and
:class:`~cirrusml.featurize.OnnxCompatibleFeaturizer`. Each subclass plans its columns with
:func:`~cirrusml.featurize.plan_columns` (from :meth:`PlannedFeaturizer._start`'s purposes), fits
the parts the plan names, and leaves behind ``plan_`` (the fitted plan), ``notes_``,
``feature_names_out_`` and ``feature_map_`` (engineered name -> raw column); the featurization
summary is read from these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize._input import as_frame
from cirrusml.featurize._plan import check_featurization, quote_columns
from cirrusml.featurize._profile import FeaturizationOptions, profile_columns
from cirrusml.featurize._summary import featurization_summary
from cirrusml.featurize._transformers import PredictionCaches
from cirrusml.spec import FeatureType, FeaturizationMode
from cirrusml.tasks import as_task

__all__ = ["PlannedFeaturizer", "unique_names"]


def unique_names(names: list[str]) -> list[str]:
    """Make engineered names unique (a one-hot name can collide with a raw column name)."""
    if len(set(names)) == len(names):
        return names
    seen: dict[str, int] = {}
    taken = set(names)
    out = []
    for name in names:  # a loop over feature names, not rows
        if name in seen:
            seen[name] += 1
            candidate = f"{name}__{seen[name]}"
            while candidate in taken:
                seen[name] += 1
                candidate = f"{name}__{seen[name]}"
            taken.add(candidate)
            out.append(candidate)
        else:
            seen[name] = 0
            out.append(name)
    return out


class PlannedFeaturizer(PredictionCaches, TransformerMixin, BaseEstimator):
    """The fit-time steps every planned featurizer takes (subclasses hold the parameters:
    ``purposes``, ``mode``, ``blocked_transformers``, ``imputers``, ``task``, ...)."""

    purposes: Any
    mode: str
    blocked_transformers: Iterable[str]
    imputers: Any
    task: Any

    @staticmethod
    def _frame(X: Any) -> pd.DataFrame:
        X = as_frame(X)
        if any(not isinstance(c, str) for c in X.columns):
            X = X.rename(columns=str)
        return X

    def _resolve_purposes(self, X: pd.DataFrame) -> dict[str, str]:
        if self.purposes is None:
            return profile_columns(X).purposes()
        purposes = {str(c): FeatureType.parse(p, field="purposes").value
                    for c, p in self.purposes.items()}
        missing = [c for c in purposes if c not in X.columns]
        if missing:
            raise DataError(
                f"the featurizer was built for column(s) {quote_columns(missing)} that the data "
                f"lacks; its columns are {quote_columns(X.columns)}."
            )
        extra = [c for c in X.columns if c not in purposes]
        if extra:
            purposes.update(profile_columns(X[extra]).purposes())
            self.notes_.append(f"column(s) {quote_columns(extra)} were not profiled beforehand; "
                               "their types were detected on the training rows")
        return {c: purposes[c] for c in X.columns}

    def _options(self, **extra: Any) -> FeaturizationOptions:
        """The featurization settings held in this featurizer's parameters."""
        return FeaturizationOptions(
            mode=self.mode_, blocked=tuple(self.blocked_transformers or ()),
            imputers={c: dict(v) for c, v in (self.imputers or {}).items()}, **extra)

    def _start(self, X: Any, **checked: Any) -> tuple[pd.DataFrame, dict[str, str]]:
        """Read the training frame and set the input attributes; the columns' purposes, checked
        against the settings (``checked``: further per-column parameters to check)."""
        X = self._frame(X)
        self._clear_caches()
        self.notes_: list[str] = []
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        self.task_ = as_task(self.task) if self.task is not None else None
        self.mode_ = FeaturizationMode.parse(self.mode, field="mode").value.lower()
        dtypes = {c: X[c].dtype for c in X.columns}
        if self.mode_ == "off":
            check_featurization({}, dtypes, mode="off", task=self.task_)
            return X, {c: FeatureType.NUMERIC.value for c in X.columns}
        purposes = self._resolve_purposes(X)
        check_featurization(purposes, dtypes, mode=self.mode_, task=self.task_,
                            imputers=self.imputers, **checked)
        return X, purposes

    def _set_outputs(self, names: list[str], owners: list[str]) -> None:
        names = unique_names(names)
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.feature_map_ = dict(zip(names, owners, strict=True))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Engineered feature names, in output order."""
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first.")
        return self.feature_names_out_.copy()

    def featurization_summary(self) -> list[dict[str, Any]]:
        """Azure's featurization summary: one entry per raw column."""
        return featurization_summary(self)
