"""Automatic featurization: the ``datatransformer`` step of every model.

:class:`AutoFeaturizer` turns the raw columns into model features following Azure's automatic
featurization (reference §12.1). It is fitted inside each training fold, so nothing it learns
(means, categories, vocabularies, target encodings) comes from validation rows.

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
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize._input import as_frame
from cirrusml.featurize._profile import (
    DROPPED_PURPOSES,
    DataProfile,
    check_named_columns,
    featurization_options,
    is_numeric_strategy,
    profile_columns,
)
from cirrusml.featurize._summary import featurization_summary
from cirrusml.featurize._transformers import (
    DEFAULT_HASH_BITS,
    CategoryCodes,
    DateTimeFeatures,
    HashingEncoder,
    NumericImputer,
    TextFeatures,
    to_float,
)
from cirrusml.spec import (
    BlockedTransformers,
    FeatureType,
    FeaturizationMode,
    TabularFeaturizationSettings,
    TaskType,
)

__all__ = ["AutoFeaturizer", "check_featurization", "make_featurizer"]

#: Widest one-hot encoding of one column (the most frequent categories, then "infrequent").
ONE_HOT_MAX_CATEGORIES = 50
#: Categories seen fewer times than this in training go to the "infrequent" one-hot column.
ONE_HOT_MIN_FREQUENCY = 5
#: Folds of the target encoder's cross-fitting.
TARGET_ENCODER_FOLDS = 5

#: Azure transformers cirrusml never uses: blocking them changes nothing.
UNUSED_TRANSFORMERS = ("TextTargetEncoder", "WoETargetEncoder", "WordEmbedding", "NaiveBayes")

_NUMERIC = FeatureType.NUMERIC.value
_CATEGORICAL = FeatureType.CATEGORICAL.value
_CATEGORICAL_HASH = FeatureType.CATEGORICAL_HASH.value
_DATETIME = FeatureType.DATE_TIME.value
_TEXT = FeatureType.TEXT.value

_IMPUTER_NAMES = {"mean": "MeanImputer", "median": "MedianImputer",
                  "most_frequent": "ModeImputer", "constant": "ConstantImputer",
                  "ffill": "ForwardFillImputer"}
_GROUPS = {"NativeCategory": "native", "OneHotEncoder": "onehot", "LabelEncoder": "ordinal",
           "CatTargetEncoder": "target", "HashOneHotEncoder": "hash"}


# ------------------------------------------------------------------------------- validation


def _is_numeric_dtype(dtype: Any) -> bool:
    try:
        dtype = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return False
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def _quote(columns: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def check_featurization(purposes: Mapping[str, str], dtypes: Mapping[str, Any], *, mode: str,
                        task: str, imputers: Mapping[str, Mapping[str, Any]] | None = None,
                        hash_bits: Mapping[str, int] | None = None,
                        tfidf_params: Mapping[str, Any] | None = None) -> None:
    """Raise ``DataError`` for settings that cannot apply to these columns.

    Checked: mode ``off`` with non-numeric columns; imputer strategies that do not fit the
    column's purpose (mean or median of categories or text; ``ffill`` outside forecasting);
    hashing asked for a non-categorical column; TF-IDF asked for a non-text column.
    """
    if mode == "off":
        bad = [f"'{c}' ({dtypes[c]})" for c in dtypes if not _is_numeric_dtype(dtypes[c])]
        if bad:
            raise DataError(
                f"featurization mode 'off' needs every column to be numeric already; these are "
                f"not: {', '.join(bad)}. Use featurization mode 'auto' or 'custom' to featurize "
                "them."
            )
        return
    for column, custom in (imputers or {}).items():
        purpose = purposes.get(column)
        strategy = custom["strategy"]
        if strategy == "ffill" and task == "forecasting" and purpose not in (_NUMERIC, None) \
                and purpose not in DROPPED_PURPOSES:
            raise DataError(
                f"transformer_params.imputer: strategy 'ffill' for '{column}' applies to numeric "
                f"columns, but it is {purpose}; use most_frequent or constant."
            )
        if strategy == "ffill" and task != "forecasting":
            raise DataError(
                f"transformer_params.imputer: strategy 'ffill' for '{column}' fills along time "
                f"and applies to forecasting jobs only; for a {task} job use mean, median, "
                "most_frequent or constant."
            )
        if is_numeric_strategy(strategy) and purpose in (_CATEGORICAL, _CATEGORICAL_HASH, _TEXT):
            raise DataError(
                f"transformer_params.imputer: strategy '{strategy}' needs numbers, but column "
                f"'{column}' is {purpose}; use most_frequent or constant, or set its type to "
                "Numeric in column_name_and_types."
            )
        if strategy == "constant" and purpose == _DATETIME:
            try:
                pd.Timestamp(custom.get("fill_value"))
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"transformer_params.imputer: the constant fill_value for date column "
                    f"'{column}' must be a date, got {custom.get('fill_value')!r}."
                ) from exc
        if strategy == "constant" and purpose == _NUMERIC:
            try:
                float(custom.get("fill_value"))
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"transformer_params.imputer: the constant fill_value for numeric column "
                    f"'{column}' must be a number, got {custom.get('fill_value')!r}."
                ) from exc
    for column in hash_bits or {}:
        purpose = purposes.get(column)
        if purpose not in (_CATEGORICAL, _CATEGORICAL_HASH) and purpose not in DROPPED_PURPOSES:
            raise DataError(
                f"transformer_params.hash_one_hot_encoder applies to categorical columns, but "
                f"'{column}' is {purpose}; set its type to Categorical or CategoricalHash in "
                "column_name_and_types."
            )
    for column in tfidf_params or {}:
        purpose = purposes.get(column)
        if purpose != _TEXT and purpose not in DROPPED_PURPOSES:
            raise DataError(
                f"transformer_params.tf_idf applies to text columns, but '{column}' is {purpose}; "
                "set its type to Text in column_name_and_types."
            )


def _unique_names(names: list[str]) -> list[str]:
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


# ------------------------------------------------------------------------------- featurizer


class AutoFeaturizer(TransformerMixin, BaseEstimator):
    """Azure-style automatic featurization (see the module docstring for the rules).

    Parameters hold plain data, so the featurizer clones and pickles: ``purposes`` maps each raw
    column to a :class:`~cirrusml.spec.FeatureType` value (``None``: profile the training data at
    fit); ``mode`` is ``auto``, ``custom`` or ``off``; ``blocked_transformers`` holds Azure
    transformer names; ``imputers``, ``hash_bits`` and ``tfidf_params`` are the per-column
    ``transformer_params``; ``datetime_formats`` the formats profiling found for text dates.
    ``native_categorical`` keeps categories as pandas ``category`` columns (LightGBM, XGBoost);
    ``scale`` standard-scales the numeric outputs (linear models, SVM, KNN); ``task`` decides how
    target encoding reads the target; ``seed`` fixes the cross-fitting and sampling.
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
        task: str = "classification",
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

    # ------------------------------------------------------------------ fit-time decisions

    def _prepare(self, X: Any) -> pd.DataFrame:
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
                f"the featurizer was built for column(s) {_quote(missing)} that the data lacks; "
                f"its columns are {_quote(X.columns)}."
            )
        extra = [c for c in X.columns if c not in purposes]
        if extra:
            found = profile_columns(X[extra]).purposes()
            self.notes_.append(f"column(s) {_quote(extra)} were not profiled beforehand; "
                               "their types were detected on the training rows")
            purposes.update(found)
        return {c: purposes[c] for c in X.columns}

    def _blocked(self) -> set[str]:
        blocked = {BlockedTransformers.parse(b, field="blocked_transformers").value
                   for b in self.blocked_transformers or ()}
        for name in UNUSED_TRANSFORMERS:
            if name in blocked:
                self.notes_.append(f"{name} is blocked; cirrusml does not use it, so this "
                                   "changes nothing")
        return blocked

    def _choose(self, column: str, purpose: str, blocked: set[str], native_ok: bool,
                has_target: bool) -> tuple[str | None, list[str]]:
        """The encoder for a categorical or text column and notes on any fallback."""
        if purpose == _TEXT:
            chain = ["TfIdf", "CountVectorizer"]
        else:
            chain = ["HashOneHotEncoder"] if column in (self.hash_bits or {}) else []
            if purpose == _CATEGORICAL:
                chain += (["NativeCategory"] if native_ok else []) + [
                    "OneHotEncoder", "LabelEncoder", "CatTargetEncoder", "HashOneHotEncoder"]
            else:
                chain += ["CatTargetEncoder", "HashOneHotEncoder", "LabelEncoder"]
        notes: list[str] = []
        skipped: list[str] = []
        for option in dict.fromkeys(chain):
            blocker = "LabelEncoder" if option == "NativeCategory" else option
            if blocker in blocked:
                how = "blocked" if blocker == option else "blocked with LabelEncoder"
                skipped.append(f"{option} ({how})")
                continue
            if option == "CatTargetEncoder" and not has_target:
                skipped.append("CatTargetEncoder (fitted without a target)")
                continue
            if skipped:
                notes.append(f"{', '.join(skipped)} skipped: {option} used instead")
            return option, notes
        notes.append(f"dropped: every encoder that fits it is unavailable ({', '.join(skipped)})")
        return None, notes

    def _plan(self, purposes: dict[str, str], blocked: set[str], has_target: bool) -> None:
        """Fill ``groups_`` (column lists per treatment) and ``columns_`` (per-column records)."""
        def attempt(native_ok: bool) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
            groups: dict[str, list[str]] = {g: [] for g in (
                "numeric", "datetime", "native", "onehot", "ordinal", "target", "hash", "text")}
            records: dict[str, dict[str, Any]] = {}
            for column, purpose in purposes.items():
                record = {"raw_column": column, "detected_type": purpose, "dropped": False,
                          "transformations": [], "notes": [], "encoder": None}
                records[column] = record
                if purpose in DROPPED_PURPOSES:
                    record["dropped"] = True
                    record["notes"].append({
                        FeatureType.HASHES.value: "dropped: id-like (nearly every value unique)",
                        FeatureType.IGNORE.value: "dropped: the same value in every row",
                        FeatureType.ALL_NAN.value: "dropped: every value is missing",
                    }[purpose])
                elif purpose == _NUMERIC:
                    groups["numeric"].append(column)
                elif purpose == _DATETIME:
                    groups["datetime"].append(column)
                else:
                    option, notes = self._choose(column, purpose, blocked, native_ok, has_target)
                    record["notes"] += notes
                    record["encoder"] = option
                    if option is None:
                        record["dropped"] = True
                    elif purpose == _TEXT:
                        groups["text"].append(column)
                    else:
                        groups[_GROUPS[option]].append(column)
            return groups, records

        groups, records = attempt(bool(self.native_categorical))
        if groups["native"] and (groups["text"] or groups["hash"]):
            groups, records = attempt(False)
            self.notes_.append("the output is sparse (text or hashed features), so categorical "
                               "columns are encoded instead of kept as native categories")
        self.groups_ = groups
        self.columns_ = list(records.values())

    # --------------------------------------------------------------------------- fitting

    def fit(self, X: Any, y: Any = None) -> AutoFeaturizer:
        """Learn everything from the training rows ``X`` (and ``y`` for target encoding)."""
        self._fit(X, y, output=False)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, and return the training features; target encodings here are cross-fitted."""
        return self._fit(X, y, output=True)

    def _fit(self, X: Any, y: Any, *, output: bool) -> Any:
        X = self._prepare(X)
        self.notes_: list[str] = []
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        self.task_ = TaskType.parse(self.task, field="task").value.lower()
        self.mode_ = FeaturizationMode.parse(self.mode, field="mode").value.lower()
        dtypes = {c: X[c].dtype for c in X.columns}
        if self.mode_ == "off":
            check_featurization({}, dtypes, mode="off", task=self.task_)
            return self._fit_off(X, output)
        purposes = self._resolve_purposes(X)
        check_featurization(purposes, dtypes, mode=self.mode_, task=self.task_,
                            imputers=self.imputers, hash_bits=self.hash_bits,
                            tfidf_params=self.tfidf_params)
        blocked = self._blocked()
        if y is not None and len(y) != len(X):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}.")
        self._plan(purposes, blocked, has_target=y is not None)
        kept = [r["raw_column"] for r in self.columns_ if not r["dropped"]]
        if not kept:
            reasons = "; ".join(f"'{r['raw_column']}': {r['notes'][-1]}" for r in self.columns_)
            raise DataError(
                f"featurization left no features: every column was dropped ({reasons})."
            )
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
        if self.task_ == "classification":
            counts = target.value_counts()
            target_type = "binary" if len(counts) <= 2 else "multiclass"
            folds = max(2, min(folds, int(counts.max())))
        else:
            target_type = "continuous"
        return TargetEncoder(target_type=target_type, cv=folds, shuffle=True,
                             random_state=self.seed)

    def _fit_units(self, X: pd.DataFrame, y: Any) -> dict[str, Any]:
        """Fit every block on the training rows; return their training outputs."""
        g = self.groups_
        pieces: dict[str, Any] = {}
        self.numeric_ = self.datetime_ = self.codes_ = self.onehot_ = None
        self.target_ = self.hash_ = self.scaler_ = None
        self.text_: list[TextFeatures] = []
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
            record = next(r for r in self.columns_ if r["raw_column"] == column)
            method = "tfidf" if record["encoder"] == "TfIdf" else "count"
            params = (self.tfidf_params or {}).get(column) if method == "tfidf" else None
            text = TextFeatures(method=method, params=dict(params) if params else None,
                                seed=self.seed).fit(X[[column]])
            record["notes"] += text.notes_
            self.text_.append(text)
        return pieces

    def _positions(self, group: str) -> list[int]:
        index = {c: i for i, c in enumerate(self.coded_columns_)}
        return [index[c] for c in self.groups_[group]]

    def _fit_off(self, X: pd.DataFrame, output: bool) -> Any:
        self.groups_ = {"off": list(X.columns)}
        self.columns_ = [{"raw_column": c, "detected_type": _NUMERIC, "dropped": False,
                          "transformations": [], "notes": ["featurization is off: used as is"],
                          "encoder": None} for c in X.columns]
        self.indicator_columns_ = []
        self.numeric_ = self.datetime_ = self.codes_ = self.onehot_ = None
        self.target_ = self.hash_ = self.scaler_ = None
        self.text_ = []
        self.coded_columns_ = []
        return self._finish_fit(X, {}, output)

    def _finish_fit(self, X: pd.DataFrame, pieces: dict[str, Any], output: bool) -> Any:
        """Name the outputs, fit the scaler, describe the columns; the training output if asked."""
        self._name_outputs(pieces)
        self.scaler_ = StandardScaler(copy=False) if self.scale and self.n_continuous_ else None
        self._describe()
        if output:
            return self._assemble(X, pieces, fit_scaler=True)
        if self.scaler_ is not None:
            self.scaler_.fit(self._continuous(X, pieces))
        return None

    # --------------------------------------------------------------------------- naming

    def _one_hot_names(self) -> tuple[list[str], list[str]]:
        columns = self.groups_["onehot"]
        raw = self.onehot_.get_feature_names_out([f"f{i}" for i in range(len(columns))])
        names, owners = [], []
        for name in raw:
            prefix, code = str(name).split("_", 1)
            column = columns[int(prefix[1:])]
            labels = self.codes_.labels(column)
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
        add([f"{c}_WASNULL" for c in self.indicator_columns_], self.indicator_columns_)
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
        names = _unique_names(names)
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.feature_map_ = dict(zip(names, owners))

    def _describe(self) -> None:
        """Fill each column record's list of transformations (for the featurization summary)."""
        custom = self.imputers or {}
        scaled = self.scaler_ is not None
        for record in self.columns_:
            column, purpose = record["raw_column"], record["detected_type"]
            steps: list[str] = []
            if record["dropped"]:
                record["transformations"] = steps
                continue
            if self.mode_ == "off":
                record["transformations"] = ["StandardScaler"] if scaled else []
                continue
            default = {_NUMERIC: "mean", _DATETIME: "median",
                       _TEXT: "constant"}.get(purpose, "most_frequent")
            strategy = custom.get(column, {}).get("strategy", default)
            steps.append(_IMPUTER_NAMES[strategy])
            if column in self.indicator_columns_:
                steps.append("ImputationMarker")
            encoder = record["encoder"]
            if purpose == _DATETIME:
                steps.append("DateTimeFeaturesTransformer")
            elif purpose == _TEXT:
                text = next(t for t in self.text_ if t.feature_names_in_[0] == column)
                for tag, vectorizer in text.vectorizers_:
                    low, high = vectorizer.ngram_range
                    kind = "char" if tag.endswith("char") else "word"
                    base = "TfIdf" if tag.startswith("tfidf") else "CountVectorizer"
                    steps.append(f"{base} ({kind} {low}-{high}-grams)")
            elif encoder is not None:
                steps.append(encoder)
            if scaled and (purpose in (_NUMERIC, _DATETIME)
                           or encoder in ("LabelEncoder", "CatTargetEncoder")):
                steps.append("StandardScaler")
            record["transformations"] = steps

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
            dense[:, start:start + width] = X[self.indicator_columns_].isna().to_numpy()
            start += width
        if "onehot" in pieces:
            block = dense[:, start:]
            block[...] = 0.0
            ones = pieces.pop("onehot").tocoo()
            block[ones.row, ones.col] = ones.data
        names = list(self.feature_names_out_)
        frame = pd.DataFrame(dense, columns=names[:self.n_dense_], index=X.index, copy=False)
        native = self.groups_.get("native", [])
        if native:
            positions = self._positions("native")
            codes = pieces["codes"]
            categories = {name: self.codes_.as_categorical(codes[:, p], column)
                          for name, column, p in zip(names[self.n_dense_:], native, positions)}
            frame = pd.concat([frame, pd.DataFrame(categories, index=X.index)], axis=1, copy=False)
        return frame

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
            blocks.append(sp.csr_matrix(X[self.indicator_columns_].isna().to_numpy(np.float32)))
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
        X = self._prepare(X)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise DataError(f"the input lacks column(s) {_quote(missing)} that the featurizer "
                            f"was fitted on.")
        g = self.groups_
        pieces: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # unseen categories
            if self.numeric_ is not None:
                pieces["numeric"] = self.numeric_.transform(X[g["numeric"]])
            if self.datetime_ is not None:
                pieces["datetime"] = self.datetime_.transform(X[g["datetime"]])
            if self.codes_ is not None:
                codes = self.codes_.transform(X[self.coded_columns_])
                pieces["codes"] = codes
                if self.onehot_ is not None:
                    pieces["onehot"] = self.onehot_.transform(codes[:, self._positions("onehot")])
                if self.target_ is not None:
                    pieces["target"] = self.target_.transform(codes[:, self._positions("target")])
            return self._assemble(X, pieces, fit_scaler=False)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Engineered feature names, in output order."""
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("AutoFeaturizer is not fitted yet; call fit first.")
        return self.feature_names_out_.copy()

    def featurization_summary(self) -> list[dict[str, Any]]:
        """Azure's featurization summary: one entry per raw column."""
        return featurization_summary(self)


# ------------------------------------------------------------------------------ factory


def make_featurizer(profile: DataProfile, settings: TabularFeaturizationSettings | None, *,
                    native_categorical: bool, scale: bool, task: str,
                    seed: int = 0) -> AutoFeaturizer:
    """The ``datatransformer`` step for one learner, from the job's profile and settings.

    ``settings`` (``None``: those the profile was made with) supply the mode, blocked
    transformers and per-column parameters; ``column_name_and_types`` in them override the
    profile's purposes. Raises ``DataError`` before any training for settings that cannot apply.
    """
    options = featurization_options(settings) if settings is not None else profile.options
    check_named_columns(options, profile.columns)
    purposes = profile.purposes()
    purposes.update(options.column_types)
    task_name = TaskType.parse(task, field="task").value.lower()
    dtypes = {name: col.dtype for name, col in profile.columns.items()}
    check_featurization(purposes, dtypes, mode=options.mode, task=task_name,
                        imputers=options.imputers, hash_bits=options.hash_bits,
                        tfidf_params=options.tfidf_params)
    return AutoFeaturizer(
        purposes=purposes,
        mode=options.mode,
        blocked_transformers=tuple(options.blocked),
        imputers={c: dict(v) for c, v in options.imputers.items()} or None,
        hash_bits=dict(options.hash_bits) or None,
        tfidf_params={c: dict(v) for c, v in options.tfidf_params.items()} or None,
        datetime_formats=profile.datetime_formats() or None,
        native_categorical=native_categorical,
        scale=scale,
        task=task_name,
        seed=seed,
    )
