"""What the global and local explainers share: reading a fitted model, sampling rows,
featurizing in bounded chunks, and folding engineered features back onto raw columns.

A model here is what a job produces: a scikit-learn ``Pipeline`` of ``inputs`` (raw columns),
``datatransformer`` (the :class:`~cirrusml.featurize.AutoFeaturizer`), maybe ``densify``, then
``model``; or an ensemble whose members are such pipelines. Anything else with ``predict`` (and
``predict_proba`` for a probabilistic task) is explained model-agnostically.

How a pipeline's model is explained is the learner's to say, not this package's: the learner
that built the final estimator (:func:`~cirrusml.models.learner_for_estimator`) gives the tree
model Tree SHAP reads (:meth:`~cirrusml.models.Learner.tree_model`) or a linear model's
coefficients (:meth:`~cirrusml.models.Learner.coefficients`); every other model is explained
model-agnostically. Outputs differ only by :attr:`Task.probabilistic
<cirrusml.tasks.Task.probabilistic>`: class probabilities (in the model's ``classes_`` order)
or values.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from cirrusml.exceptions import CirrusMLError, DataError
from cirrusml.featurize import as_frame
from cirrusml.models import TreeModel, learner_for_estimator

#: What libraries warn about while a model is explained (feature names, convergence, numeric
#: edge cases, deprecations); none of it changes an explanation.
QUIET_CATEGORIES: tuple[type[Warning], ...] = (UserWarning, FutureWarning, RuntimeWarning,
                                               DeprecationWarning, PendingDeprecationWarning)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence :data:`QUIET_CATEGORIES` inside the block."""
    with warnings.catch_warnings():
        for category in QUIET_CATEGORIES:
            warnings.simplefilter("ignore", category=category)
        yield


#: Dense cells per featurized chunk handed to SHAP (bounds memory for wide text features).
CHUNK_CELLS = 2_000_000



@dataclass
class TreeParts:
    """A single pipeline ending in a tree learner, taken apart for ``shap.TreeExplainer``.

    ``prefix`` is every step before the model (raw rows in, model features out); ``tree`` is
    what the learner says SHAP reads (the fitted library model and how it takes its input).
    """

    prefix: Pipeline
    featurizer: Any
    estimator: Any
    tree: TreeModel

    @property
    def library(self) -> Any:
        return self.tree.library


def _featurizer(model: Any) -> Any:
    """The pipeline's featurizer when it maps engineered features to raw columns, else None."""
    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        return None
    featurizer = model.named_steps.get("datatransformer")
    return featurizer if featurizer is not None and hasattr(featurizer, "feature_map_") else None


def tree_parts(model: Any) -> TreeParts | None:
    """The parts of a single fitted pipeline whose last step is a tree learner, else None."""
    featurizer = _featurizer(model)
    if featurizer is None:
        return None
    estimator = model.steps[-1][1]
    learner = learner_for_estimator(estimator)
    tree = None if learner is None else learner.tree_model(estimator)
    if tree is None:
        return None
    return TreeParts(prefix=model[:-1], featurizer=featurizer, estimator=estimator, tree=tree)


def linear_coefficients(model: Any) -> tuple[Any, np.ndarray] | None:
    """(featurizer, coefficients as ``(n_outputs, n_features)``) of a linear pipeline, else None.

    The coefficients are those the final estimator's learner gives; they must cover every
    engineered feature.
    """
    featurizer = _featurizer(model)
    if featurizer is None:
        return None
    estimator = model.steps[-1][1]
    learner = learner_for_estimator(estimator)
    coef = None if learner is None else learner.coefficients(estimator)
    if coef is None:
        return None
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    if coef.shape[1] != len(featurizer.get_feature_names_out()):
        return None
    return featurizer, coef


def raw_columns(model: Any, X: pd.DataFrame) -> list[str]:
    """The raw input columns the model reads (its ``inputs`` step), else the columns of ``X``."""
    found = _find_inputs(model)
    if found is not None:
        return found
    return [str(c) for c in X.columns]


def _find_inputs(model: Any) -> list[str] | None:
    if isinstance(model, Pipeline):
        inputs = model.named_steps.get("inputs")
        names = getattr(inputs, "feature_names_in_", None)
        if names is not None:
            return [str(c) for c in names]
        names = getattr(model, "feature_names_in_", None)
        return None if names is None else [str(c) for c in names]
    members = getattr(model, "estimators", None)
    if isinstance(members, (list, tuple)) and members:
        seen: list[str] = []
        for member in members:
            for name in _find_inputs(member) or []:
                if name not in seen:
                    seen.append(name)
        return seen or None
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(c) for c in names]


def raw_frame(model: Any, X: Any, what: str = "X") -> tuple[pd.DataFrame, list[str]]:
    """``X`` as a DataFrame of the model's raw columns (names as text), and those names."""
    frame = as_frame(X)
    if any(not isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    columns = raw_columns(model, frame)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {', '.join(repr(c) for c in missing)} that the "
                        f"model was trained on.")
    return frame.loc[:, columns], columns


def ordered_sample(n: int, y: Any, seed: int) -> np.ndarray:
    """Row positions in a random order whose every prefix is (about) stratified by ``y``.

    Within each class the rows are shuffled; row ``i`` of a class of size ``m`` gets the key
    ``(i + u) / m`` with ``u`` uniform in [0, 1), and rows are sorted by key. Taking the first
    ``k`` positions therefore gives a stratified sample of ``k`` rows, and shorter prefixes
    (a pilot, or fewer rows for a time budget) stay stratified and nested. Without ``y`` the
    order is a plain shuffle. Deterministic given ``seed``.
    """
    rng = np.random.default_rng(seed)
    if y is None:
        return rng.permutation(n)
    codes, _ = pd.factorize(pd.Series(np.asarray(y, dtype=object)), use_na_sentinel=False)
    keys = np.empty(n, dtype=float)
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        rows = rows[rng.permutation(rows.size)]
        keys[rows] = (np.arange(rows.size) + rng.random(rows.size)) / rows.size
    return np.argsort(keys, kind="stable")


def take(X: Any, rows: np.ndarray | slice) -> Any:
    """Rows of a DataFrame, a sparse matrix or an array, by position."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    if sp.issparse(X):
        return X.tocsr()[rows]
    return np.asarray(X)[rows]


def chunks(n_rows: int, n_columns: int) -> list[slice]:
    """Row slices of at most :data:`CHUNK_CELLS` cells each."""
    size = max(1, CHUNK_CELLS // max(n_columns, 1))
    return [slice(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]


def shap_input(tree: TreeModel | None, Z: Any) -> Any:
    """A featurized chunk as the library model wants it for SHAP.

    A library that takes sparse matrices as they are (XGBoost reads absent entries as missing,
    so a dense copy would change its predictions) gets them so; a library that takes frames
    (pandas ``category`` columns) gets them as they are. Everything else is made dense
    (``tree=None``: always).
    """
    if sp.issparse(Z):
        return Z.tocsr() if tree is not None and tree.sparse else Z.toarray()
    if isinstance(Z, pd.DataFrame):
        if tree is not None and tree.frames:
            return Z
        return Z.to_numpy(dtype=float)
    return np.asarray(Z)


def as_outputs(values: Any) -> np.ndarray:
    """SHAP values as ``(rows, features, outputs)`` whatever shape the explainer returned."""
    if isinstance(values, list):
        values = np.stack([np.asarray(v, dtype=float) for v in values], axis=-1)
    array = np.asarray(values, dtype=float)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise CirrusMLError(f"unexpected SHAP values of shape {array.shape}")
    return array


def engineered_names(featurizer: Any, width: int) -> list[str]:
    names = [str(n) for n in featurizer.get_feature_names_out()]
    if len(names) != width:
        raise CirrusMLError(f"the featurizer names {len(names)} features but the model sees "
                            f"{width}")
    return names


def to_raw(per_feature: np.ndarray, names: list[str], feature_map: dict[str, str],
           columns: list[str]) -> np.ndarray:
    """Sum per-engineered-feature values (last axis of ``per_feature``) into raw columns.

    ``per_feature`` is ``(..., n_features)``; the result is ``(..., n_columns)``. A raw column
    with no engineered feature (dropped by featurization) gets 0.
    """
    index = {c: i for i, c in enumerate(columns)}
    owners = np.asarray([index.get(str(feature_map.get(name, name)), -1) for name in names])
    out = np.zeros(per_feature.shape[:-1] + (len(columns),), dtype=float)
    for j, owner in enumerate(owners):
        if owner >= 0:
            out[..., owner] += per_feature[..., j]
    return out


def predict_output(model: Any, X: pd.DataFrame, probabilistic: bool) -> np.ndarray:
    """Class probabilities ``(n, K)`` in the model's ``classes_`` order when ``probabilistic``
    (:attr:`Task.probabilistic <cirrusml.tasks.Task.probabilistic>`), predictions ``(n,)``
    otherwise."""
    if probabilistic:
        return np.asarray(model.predict_proba(X), dtype=float)
    return np.asarray(model.predict(X), dtype=float).ravel()
