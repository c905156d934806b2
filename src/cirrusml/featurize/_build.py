"""Automatic featurization: the ``datatransformer`` step of every model.

:class:`AutoFeaturizer` turns the raw columns into model features following Azure's automatic
featurization (reference §12.1). It is fitted inside each training fold, so nothing it learns
(means, categories, vocabularies, target encodings) comes from validation rows.

Which treatment each column gets is decided by the featurization plan
(:func:`~cirrusml.featurize.plan_featurization`, :mod:`cirrusml.featurize._plan`); this module
fits and applies the parts the plan names, and its summary is the plan as fitted.

Per purpose:

* ``Hashes``, ``Ignore``, ``AllNan`` — dropped.
* ``Numeric`` — missing values filled (mean by default), ``<col>_WASNULL`` indicator when the
  training data had missing values; standard-scaled when ``scale=True``.
* ``DateTime`` — Year, Month, Day, DayOfWeek, DayOfYear, Quarter, WeekOfYear, Hour, Minute,
  Second; parts constant in training are left out. Missing dates: the median training date.
* ``Categorical`` — missing values filled with the most frequent category, then, the first of
  these that is not blocked: native pandas categories (when ``native_categorical`` and the output
  is dense; blocked with ``LabelEncoder``), ``OneHotEncoder`` (at most
  :data:`ONE_HOT_MAX_CATEGORIES` columns: rarer categories and categories seen fewer than
  :data:`ONE_HOT_MIN_FREQUENCY` times share one ``<col>_infrequent`` column, which also takes
  unseen values), ``LabelEncoder`` (integer codes, -1 for unseen), ``CatTargetEncoder``,
  ``HashOneHotEncoder``.
* ``CategoricalHash`` (more than 100 distinct values) — ``CatTargetEncoder`` (scikit-learn's
  ``TargetEncoder``: one column, or one per class for multiclass, cross-fitted in
  ``fit_transform`` so that a row's own target never enters its encoding), else
  ``HashOneHotEncoder``, else ``LabelEncoder``. Columns named in
  ``transformer_params.hash_one_hot_encoder`` are hashed first.
* ``Text`` — ``TfIdf`` (word 1-2-grams and character 3-4-grams, bounded vocabularies), else
  ``CountVectorizer`` (word 1-2-gram counts), else dropped.

Output: a DataFrame of float64 columns (plus ``category`` columns for native categories) when
there are no text or hashed features; otherwise a CSR matrix of float32, with categoricals as
one-hot or codes. ``get_feature_names_out()`` names every output column and ``feature_map_``
maps each name to its raw column.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize._plan import (
    UNUSED_TRANSFORMERS,
    check_featurization,
    indicator_name,
    plan_columns,
    plan_featurization,
    quote_columns,
)
from cirrusml.featurize._planned import PlannedFeaturizer
from cirrusml.featurize._profile import DataProfile
from cirrusml.featurize._transformers import (
    DATETIME_PARTS,
    DEFAULT_HASH_BITS,
    TEXT_CHAR_MAX_FEATURES,
    TEXT_WORD_MAX_FEATURES,
    CategoryCodes,
    DateTimeFeatures,
    HashingEncoder,
    NumericImputer,
    TextFeatures,
    to_float,
)
from cirrusml.spec import TabularFeaturizationSettings, TaskType
from cirrusml.tasks import Task, as_task

__all__ = ["AutoFeaturizer", "UNUSED_TRANSFORMERS", "check_featurization", "expected_width",
           "expected_widths", "make_featurizer"]

#: Widest one-hot encoding of one column (the most frequent categories, then "infrequent").
ONE_HOT_MAX_CATEGORIES = 50
#: Categories seen fewer times than this in training go to the "infrequent" one-hot column.
ONE_HOT_MIN_FREQUENCY = 5
#: Folds of the target encoder's cross-fitting.
TARGET_ENCODER_FOLDS = 5
#: Problem types that are also scikit-learn ``TargetEncoder`` target types; the target of any
#: other problem type is a number (``continuous``).
CLASS_TARGET_TYPES = ("binary", "multiclass")


# ------------------------------------------------------------------------------- featurizer


class AutoFeaturizer(PlannedFeaturizer):
    """Azure-style automatic featurization (see the module docstring for the rules).

    Parameters hold plain data, so the featurizer clones and pickles: ``purposes`` maps each raw
    column to a :class:`~cirrusml.spec.FeatureType` value (``None``: profile the training data at
    fit); ``mode`` is ``auto``, ``custom`` or ``off``; ``blocked_transformers`` holds Azure
    transformer names; ``imputers``, ``hash_bits`` and ``tfidf_params`` are the per-column
    ``transformer_params``; ``datetime_formats`` the formats profiling found for text dates.
    ``native_categorical`` keeps categories as pandas ``category`` columns (LightGBM, XGBoost);
    ``scale`` standard-scales the numeric outputs (linear models, SVM, KNN); ``task`` (a
    :class:`~cirrusml.tasks.Task`, a ``TaskType`` or its name; ``None``: the target encoder
    infers the target's type) decides how target encoding reads the target and whether ``ffill``
    applies; ``seed`` fixes the cross-fitting and sampling.

    Fitted attributes: ``plan_`` (the fitted :class:`~cirrusml.featurize.FeaturizationPlan`),
    ``groups_`` (treatment -> raw columns), ``feature_names_out_``, ``feature_map_``
    (engineered name -> raw column), ``sparse_output_`` and ``notes_``.
    """

    def __init__(
        self,
        *,
        purposes: Mapping[str, str] | None = None,
        mode: str = "auto",
        blocked_transformers: Iterable[str] = (),
        imputers: Mapping[str, Mapping[str, Any]] | None = None,
        hash_bits: Mapping[str, int] | None = None,
        tfidf_params: Mapping[str, Mapping[str, Any]] | None = None,
        datetime_formats: Mapping[str, str] | None = None,
        native_categorical: bool = False,
        scale: bool = False,
        task: Task | TaskType | str | None = None,
        seed: int = 0,
    ):
        self.purposes = purposes
        self.mode = mode
        self.blocked_transformers = blocked_transformers
        self.imputers = imputers
        self.hash_bits = hash_bits
        self.tfidf_params = tfidf_params
        self.datetime_formats = datetime_formats
        self.native_categorical = native_categorical
        self.scale = scale
        self.task = task
        self.seed = seed

    # --------------------------------------------------------------------------- fitting

    def fit(self, X: Any, y: Any = None) -> AutoFeaturizer:
        """Learn everything from the training rows ``X`` (and ``y`` for target encoding)."""
        self._fit(X, y, output=False)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, and return the training features; target encodings here are cross-fitted."""
        return self._fit(X, y, output=True)

    def _fit(self, X: Any, y: Any, *, output: bool) -> Any:
        X, purposes = self._start(X, hash_bits=self.hash_bits, tfidf_params=self.tfidf_params)
        if y is not None and len(y) != len(X):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}.")
        options = self._options(hash_bits=dict(self.hash_bits or {}),
                                tfidf_params={c: dict(v) for c, v in
                                              (self.tfidf_params or {}).items()})
        self.plan_ = plan_columns(purposes, options,
                                  native_categorical=bool(self.native_categorical),
                                  scale=bool(self.scale), has_target=y is not None,
                                  datetime_formats=self.datetime_formats)
        self.notes_ += self.plan_.notes
        self.groups_ = self.plan_.groups
        self.text_: list[TextFeatures] = []
        self.numeric_: NumericImputer | None = None
        self.datetime_: DateTimeFeatures | None = None
        self.codes_: CategoryCodes | None = None
        self.onehot_: OneHotEncoder | None = None
        self.target_: TargetEncoder | None = None
        self.hash_: HashingEncoder | None = None
        self.scaler_: StandardScaler | None = None
        self.coded_columns_: list[str] = []
        self.indicator_columns_: list[str] = []
        if self.mode_ == "off":
            return self._finish_fit(X, {}, output)
        self.plan_.check_kept()
        kept = self.plan_.kept
        had_missing = X[kept].isna().any()
        self.indicator_columns_ = [c for c in kept if bool(had_missing[c])]
        pieces = self._fit_units(X, y)
        return self._finish_fit(X, pieces, output)

    def _imputer_subset(self, columns: list[str]) -> dict[str, dict[str, Any]] | None:
        subset = {c: dict(v) for c, v in (self.imputers or {}).items() if c in columns}
        return subset or None

    def _target_encoder(self, y: Any) -> TargetEncoder:
        target = pd.Series(np.asarray(y))
        folds = max(2, min(TARGET_ENCODER_FOLDS, len(target)))
        if self.task_ is None:
            target_type = "auto"
        else:
            problem = self.task_.fit_target(target).problem_type
            target_type = problem if problem in CLASS_TARGET_TYPES else "continuous"
        if target_type != "continuous":  # every fold needs each class
            folds = max(2, min(folds, int(target.value_counts().max())))
        return TargetEncoder(target_type=target_type, cv=folds, shuffle=True,
                             random_state=self.seed)

    def _fit_units(self, X: pd.DataFrame, y: Any) -> dict[str, Any]:
        """Fit every block on the training rows; return their training outputs."""
        g = self.groups_
        pieces: dict[str, Any] = {}
        if g["numeric"]:
            self.numeric_ = NumericImputer(strategies=self._imputer_subset(g["numeric"]))
            pieces["numeric"] = self.numeric_.fit_transform(X[g["numeric"]])
        if g["datetime"]:
            formats = {c: f for c, f in (self.datetime_formats or {}).items() if c in g["datetime"]}
            self.datetime_ = DateTimeFeatures(formats=formats or None,
                                              strategies=self._imputer_subset(g["datetime"]))
            pieces["datetime"] = self.datetime_.fit_transform(X[g["datetime"]])
        wanted = set(g["native"] + g["onehot"] + g["ordinal"] + g["target"])
        coded = [c for c in X.columns if c in wanted]
        self.coded_columns_ = coded
        if coded:
            self.codes_ = CategoryCodes(strategies=self._imputer_subset(coded))
            codes = self.codes_.fit_transform(X[coded])
            pieces["codes"] = codes
            if g["onehot"]:
                self.onehot_ = OneHotEncoder(handle_unknown="infrequent_if_exist",
                                             min_frequency=ONE_HOT_MIN_FREQUENCY,
                                             max_categories=ONE_HOT_MAX_CATEGORIES,
                                             sparse_output=True, dtype=np.float64)
                pieces["onehot"] = self.onehot_.fit_transform(codes[:, self._positions("onehot")])
            if g["target"]:
                self.target_ = self._target_encoder(y)
                pieces["target"] = self.target_.fit_transform(codes[:, self._positions("target")],
                                                              np.asarray(y))
        if g["hash"]:
            self.hash_ = HashingEncoder(bits={c: b for c, b in (self.hash_bits or {}).items()
                                              if c in g["hash"]} or None,
                                        default_bits=DEFAULT_HASH_BITS).fit(X[g["hash"]])
        for column in g["text"]:
            method = "tfidf" if self.plan_.column(column).encoder == "TfIdf" else "count"
            params = (self.tfidf_params or {}).get(column) if method == "tfidf" else None
            text = TextFeatures(method=method, params=dict(params) if params else None,
                                seed=self.seed).fit(X[[column]])
            self.text_.append(text)
        return pieces

    @staticmethod
    def _text_steps(text: TextFeatures) -> list[str]:
        """The summary's steps for a fitted text column: one per vectorizer that found words."""
        steps = []
        for tag, vectorizer in text.vectorizers_:
            low, high = vectorizer.ngram_range
            kind = "char" if tag.endswith("char") else "word"
            base = "TfIdf" if tag.startswith("tfidf") else "CountVectorizer"
            steps.append(f"{base} ({kind} {low}-{high}-grams)")
        return steps

    def _positions(self, group: str) -> list[int]:
        known = self.__dict__.setdefault("_cache_positions", {})
        positions = known.get(group)
        if positions is None:
            index = {c: i for i, c in enumerate(self.coded_columns_)}
            positions = [index[c] for c in self.groups_[group]]
            known[group] = positions
        return list(positions)

    def _missing(self, X: pd.DataFrame, columns: list[str], dtype: Any) -> np.ndarray:
        """Which cells of ``columns`` are missing, as a ``(rows, columns)`` array."""
        out = np.empty((len(X), len(columns)), dtype=dtype)
        for j, column in enumerate(columns):
            out[:, j] = pd.isna(X[column].to_numpy())
        return out

    def _finish_fit(self, X: pd.DataFrame, pieces: dict[str, Any], output: bool) -> Any:
        """Name the outputs, fit the scaler, record the fitted plan; the training output if
        asked."""
        self._name_outputs(pieces)
        self.scaler_ = StandardScaler(copy=False) if self.scale and self.n_continuous_ else None
        texts = {t.feature_names_in_[0]: t for t in self.text_}
        self.plan_ = self.plan_.fitted(
            marked=self.indicator_columns_, scaled=self.scaler_ is not None,
            steps={c: self._text_steps(t) for c, t in texts.items()},
            notes={c: t.notes_ for c, t in texts.items()})
        if output:
            return self._assemble(X, pieces, fit_scaler=True)
        if self.scaler_ is not None:
            self.scaler_.fit(self._continuous(X, pieces))
        return None

    # --------------------------------------------------------------------------- naming

    def _one_hot_names(self) -> tuple[list[str], list[str]]:
        columns = self.groups_["onehot"]
        onehot, codes = self.onehot_, self.codes_
        assert onehot is not None  # only called when one-hot columns exist
        assert codes is not None
        raw = onehot.get_feature_names_out([f"f{i}" for i in range(len(columns))])
        names, owners = [], []
        for name in raw:
            prefix, code = str(name).split("_", 1)
            column = columns[int(prefix[1:])]
            labels = codes.labels(column)
            if code == "infrequent_sklearn":
                label = "infrequent"
            elif 0 <= int(code) < len(labels):
                label = labels[int(code)]
            else:  # a column with no category in training (every value missing)
                label = "unknown"
            names.append(f"{column}_{label}")
            owners.append(column)
        return names, owners

    def _name_outputs(self, pieces: dict[str, Any]) -> None:
        """Engineered names in output order: continuous, indicators, sparse, categories."""
        g = self.groups_
        names: list[str] = []
        owners: list[str] = []

        def add(new_names: Iterable[str], new_owners: Iterable[str]) -> None:
            names.extend(new_names)
            owners.extend(new_owners)

        if "off" in g:
            add(g["off"], g["off"])
        if self.numeric_ is not None:
            add(g["numeric"], g["numeric"])
        if self.datetime_ is not None:
            for column in g["datetime"]:
                parts = self.datetime_.parts_[column]
                add([f"{column}_{p}" for p in parts], [column] * len(parts))
        add(g.get("ordinal", []), g.get("ordinal", []))
        if self.target_ is not None:
            if self.target_.target_type_ == "multiclass":
                for column in g["target"]:
                    classes = [str(c) for c in self.target_.classes_]
                    add([f"{column}_CatTargetEncoder_{c}" for c in classes],
                        [column] * len(classes))
            else:
                add([f"{c}_CatTargetEncoder" for c in g["target"]], g["target"])
        self.n_continuous_ = len(names)
        add([indicator_name(c) for c in self.indicator_columns_], self.indicator_columns_)
        if self.onehot_ is not None:
            add(*self._one_hot_names())
        self.n_dense_ = len(names)
        if self.hash_ is not None:
            hashed = list(self.hash_.get_feature_names_out())
            add(hashed, [n.rsplit("_hash_", 1)[0] for n in hashed])
        for text in self.text_:
            column = text.feature_names_in_[0]
            words = list(text.get_feature_names_out())
            add(words, [column] * len(words))
        self.sparse_output_ = self.hash_ is not None or bool(self.text_)
        add(g.get("native", []), g.get("native", []))
        self._set_outputs(names, owners)

    # ------------------------------------------------------------------------- transform

    def _continuous(self, X: pd.DataFrame, pieces: dict[str, Any],
                    out: np.ndarray | None = None) -> np.ndarray:
        """The block of numeric outputs (the part ``scale`` standardises), column-major.

        Written into ``out`` (a view of the output) when given.
        """
        blocks: list[Any] = []
        if "off" in self.groups_:
            blocks += [to_float(X[c]).reshape(-1, 1) for c in self.groups_["off"]]
        for key in ("numeric", "datetime"):
            if key in pieces:
                blocks.append(pieces[key])
        if self.groups_.get("ordinal"):
            blocks.append(pieces["codes"][:, self._positions("ordinal")])
        if "target" in pieces:
            blocks.append(pieces["target"])
        if out is None:
            out = np.empty((len(X), self.n_continuous_), dtype=np.float64, order="F")
        start = 0
        for block in blocks:
            out[:, start:start + block.shape[1]] = block
            start += block.shape[1]
        return out

    def _scaled_continuous(self, X: pd.DataFrame, pieces: dict[str, Any], fit_scaler: bool,
                           out: np.ndarray | None = None) -> np.ndarray:
        continuous = self._continuous(X, pieces, out=out)
        if self.scaler_ is not None:
            if fit_scaler:
                self.scaler_.fit(continuous)
                continuous[...] = self.scaler_.transform(continuous)  # in place (copy=False)
            else:  # what StandardScaler.transform does to a dense block, without validation
                if self.scaler_.with_mean:
                    continuous -= self.scaler_.mean_
                if self.scaler_.with_std:
                    continuous /= self.scaler_.scale_
        for key in ("numeric", "datetime", "target"):
            pieces.pop(key, None)
        return continuous

    def _assemble(self, X: pd.DataFrame, pieces: dict[str, Any], *, fit_scaler: bool) -> Any:
        """Lay out the pieces: continuous (scaled), indicators, one-hot, then sparse blocks or
        native categories."""
        if self.sparse_output_:
            return self._assemble_sparse(X, pieces, fit_scaler)
        n = len(X)
        dense = np.empty((n, self.n_dense_), dtype=np.float64, order="F")
        self._scaled_continuous(X, pieces, fit_scaler, out=dense[:, :self.n_continuous_])
        start = self.n_continuous_
        if self.indicator_columns_:
            width = len(self.indicator_columns_)
            dense[:, start:start + width] = self._missing(X, self.indicator_columns_, bool)
            start += width
        if "onehot" in pieces:
            block = dense[:, start:]
            block[...] = 0.0
            ones = pieces.pop("onehot").tocoo()
            block[ones.row, ones.col] = ones.data
        names = list(self.feature_names_out_)
        native = self.groups_.get("native", [])
        if not native:
            return pd.DataFrame(dense, columns=names, index=X.index, copy=False)
        codes = pieces["codes"]
        columns: dict[str, Any] = {name: dense[:, j] for j, name in
                                   enumerate(names[:self.n_dense_])}
        for name, p, dtype in zip(names[self.n_dense_:], self._positions("native"),
                                  self._native_dtypes(), strict=True):
            columns[name] = pd.Categorical.from_codes(codes[:, p], dtype=dtype, validate=False)
        return pd.DataFrame(columns, index=X.index, copy=False)

    def _assemble_sparse(self, X: pd.DataFrame, pieces: dict[str, Any],
                         fit_scaler: bool) -> sp.csr_matrix:
        """The CSR output, built block by block without a dense copy of the whole width."""
        n = len(X)
        continuous = self._scaled_continuous(X, pieces, fit_scaler)
        width = continuous.shape[1]
        index_type = np.int64 if n * max(width, 1) >= 2**31 else np.int32
        values = np.ascontiguousarray(continuous, dtype=np.float32).ravel()
        del continuous
        block = sp.csr_matrix(
            (values, np.tile(np.arange(width, dtype=index_type), n),
             np.arange(0, n * width + 1, max(width, 1), dtype=index_type)[:n + 1]
             if width else np.zeros(n + 1, dtype=index_type)),
            shape=(n, width))
        block.eliminate_zeros()
        blocks = [block]
        if self.indicator_columns_:
            blocks.append(sp.csr_matrix(self._missing(X, self.indicator_columns_, np.float32)))
        if "onehot" in pieces:
            blocks.append(pieces.pop("onehot").astype(np.float32).tocsr())
        if self.hash_ is not None:
            blocks.append(self.hash_.transform(X[self.groups_["hash"]]))
        for text in self.text_:
            blocks.append(text.transform(X[list(text.feature_names_in_)]))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def transform(self, X: Any) -> Any:
        """Featurize rows with what was learned at fit (full-data target encodings)."""
        if not hasattr(self, "feature_map_"):
            raise NotFittedError("AutoFeaturizer is not fitted yet; call fit first.")
        X = self._frame(X)
        columns = X.columns
        missing = [c for c in self.feature_names_in_ if c not in columns]
        if missing:
            raise DataError(f"the input lacks column(s) {quote_columns(missing)} that the "
                            "featurizer was fitted on.")
        pieces: dict[str, Any] = {}
        # The blocks read their own columns by name from the whole frame.
        if self.numeric_ is not None:
            pieces["numeric"] = self.numeric_.transform(X)
        if self.datetime_ is not None:
            pieces["datetime"] = self.datetime_.transform(X)
        if self.codes_ is not None:
            codes = self.codes_.transform(X)
            pieces["codes"] = codes
            if self.onehot_ is not None or self.target_ is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)  # unseen categories
                    if self.onehot_ is not None:
                        pieces["onehot"] = self._one_hot(codes[:, self._positions("onehot")])
                    if self.target_ is not None:
                        pieces["target"] = self.target_.transform(
                            codes[:, self._positions("target")])
        return self._assemble(X, pieces, fit_scaler=False)

    def _one_hot(self, codes: np.ndarray) -> sp.csr_matrix:
        """``onehot_.transform(codes)`` read from a table of its outputs (one-hot encoding
        maps each column's code to at most one output column, whatever the other columns
        hold): the encoder itself is asked once per process, on every code each column can
        hold."""
        table = self.__dict__.get("_cache_onehot")
        if table is None:
            table = self._one_hot_table()
            self.__dict__["_cache_onehot"] = table
        offsets, targets, width = table
        rows, columns = codes.shape
        out = targets[codes + offsets]  # (rows, columns): output column or -1
        hit = out >= 0
        indptr = np.zeros(rows + 1, dtype=np.int32)
        np.cumsum(hit.sum(axis=1), out=indptr[1:])
        indices = out[hit].astype(np.int32)
        return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(rows, width))

    def _one_hot_table(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Per one-hot column, the output column of each code it can hold (-1 for unseen,
        then 0 to its number of categories - 1), as (offsets, flat targets, output width)."""
        assert self.onehot_ is not None
        assert self.codes_ is not None
        columns = self.groups_["onehot"]
        sizes = [len(self.codes_.categories_[c]) + 1 for c in columns]  # codes -1 .. n-1
        probe = np.full((max(sizes), len(columns)), -1, dtype=np.int64)
        for j, size in enumerate(sizes):
            probe[:size, j] = np.arange(-1, size - 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # the unseen code
            encoded = sp.csr_matrix(self.onehot_.transform(probe))
        width = encoded.shape[1]
        starts = np.cumsum([0, *sizes[:-1]])
        targets = np.full(sum(sizes), -1, dtype=np.int64)
        # Output names are "f<j>_<category>": the column each output belongs to.
        names = self.onehot_.get_feature_names_out([f"f{j}" for j in range(len(columns))])
        owner = [int(str(name).split("_", 1)[0][1:]) for name in names]
        for row in range(encoded.shape[0]):
            for col in encoded.indices[encoded.indptr[row]:encoded.indptr[row + 1]]:
                j = owner[col]
                if row < sizes[j]:
                    targets[starts[j] + row] = col
        # Codes are shifted by one (-1 -> 0) and each column by its start.
        return (starts + 1).astype(np.int64), targets, int(width)

    def _native_dtypes(self) -> list[pd.CategoricalDtype]:
        """The ``category`` dtype of each native categorical output, built once per process
        (not pickled): the same categories as at fit, so a library that checks them finds the
        very dtype object again."""
        dtypes = self.__dict__.get("_cache_native_dtypes")
        if dtypes is None:
            encoder = self.codes_
            assert encoder is not None  # native categories are coded
            dtypes = [encoder.as_categorical(np.empty(0, dtype=np.int64), column).dtype
                      for column in self.groups_.get("native", [])]
            self.__dict__["_cache_native_dtypes"] = dtypes
        return dtypes


# ------------------------------------------------------------------------------ factory


def expected_width(profile: DataProfile, settings: TabularFeaturizationSettings | None = None,
                   *, native_categorical: bool, task: Task | TaskType | str,
                   dense_only: bool = False) -> int:
    """How many columns the automatic featurizer should give one learner, before any row is
    fitted: what the cost model counts as the data's width.

    From the plan and the profile: one column per number, ordinal code and native category;
    one per date part; one-hot columns as the column's distinct values (at most
    :data:`ONE_HOT_MAX_CATEGORIES`, plus one for missing values); hashed columns at their
    width; text at the vectorizers' vocabulary caps. Target encodings count one column (per
    class for more than two classes). Missing-value indicators are left out: a guess within a
    small factor is all the cost model needs.

    With ``dense_only``, only the columns that hold a value in every row: the one-hot, hashed
    and text columns (mostly zeros, stored sparse) are left out. An exact-split tree's fit
    time follows these far more than the width (a forest on 100 one-hot columns fits faster
    than on 10 numbers). :func:`expected_widths` gives both from one plan.
    """
    width, dense = expected_widths(profile, settings, native_categorical=native_categorical,
                                   task=task)
    return dense if dense_only else width


def expected_widths(profile: DataProfile, settings: TabularFeaturizationSettings | None = None,
                    *, native_categorical: bool, task: Task | TaskType | str
                    ) -> tuple[int, int]:
    """:func:`expected_width` and its dense part, from one featurization plan."""
    plan = plan_featurization(profile, settings, native_categorical=native_categorical,
                              task=task)
    fitted_task = task if isinstance(task, Task) else None
    classes = len(fitted_task.classes or []) if fitted_task is not None else 0
    width = dense = 0
    for column in plan.columns:
        treatment = column.treatment
        if treatment == "dropped":
            continue
        distinct = profile.columns[column.name].n_unique if column.name in profile.columns else 1
        if treatment == "onehot":
            width += min(max(1, distinct), ONE_HOT_MAX_CATEGORIES) + 1
        elif treatment == "hash":
            width += 2 ** plan.options.hash_bits.get(column.name, DEFAULT_HASH_BITS)
        elif treatment == "text":
            width += TEXT_WORD_MAX_FEATURES + TEXT_CHAR_MAX_FEATURES
        else:
            columns = (len(DATETIME_PARTS) if treatment == "datetime"
                       else classes if treatment == "target" and classes > 2 else 1)
            width += columns
            dense += columns
    return max(1, width), max(1, dense)


def make_featurizer(profile: DataProfile, settings: TabularFeaturizationSettings | None, *,
                    native_categorical: bool, scale: bool, task: Task | TaskType | str,
                    seed: int = 0) -> AutoFeaturizer:
    """The ``datatransformer`` step for one learner, built from the plan of
    :func:`~cirrusml.featurize.plan_featurization`.

    ``settings`` (``None``: those the profile was made with) supply the mode, blocked
    transformers and per-column parameters; ``column_name_and_types`` in them override the
    profile's purposes. ``task`` is the job's task (a fitted :class:`~cirrusml.tasks.Task`, a
    ``TaskType`` or its name). Raises ``DataError`` before any training for settings that cannot
    apply.
    """
    as_task(task)  # an unknown task fails here, not at fit
    plan = plan_featurization(profile, settings, native_categorical=native_categorical,
                              scale=scale, task=task)
    return AutoFeaturizer(**plan.featurizer_params(), task=task, seed=seed)
