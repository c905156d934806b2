"""The building blocks of automatic featurization, one per kind of column.

Each block is a scikit-learn transformer over several raw columns of one purpose. The work itself
is done by scikit-learn (``SimpleImputer``, ``OneHotEncoder``, ``FeatureHasher``,
``TfidfVectorizer``) and by pandas' vectorised conversions; the blocks add what AutoML needs on
top: per-column settings, readable engineered names, and robustness to what arrives at
prediction time (unseen categories, numbers sent as text, unparseable dates).

Blocks return NumPy arrays (dense) or CSR matrices (sparse) and name their outputs through
``get_feature_names_out``; :class:`~cirrusml.featurize.AutoFeaturizer` assembles them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize._profile import detect_datetime_format

__all__ = [
    "DATETIME_PARTS",
    "CategoryCodes",
    "DateTimeFeatures",
    "HashingEncoder",
    "NumericImputer",
    "TextFeatures",
    "as_text",
    "to_float",
]

#: The parts a datetime column is split into (Azure's list, §12.1).
DATETIME_PARTS = ("Year", "Month", "Day", "DayOfWeek", "DayOfYear", "Quarter", "WeekOfYear",
                  "Hour", "Minute", "Second")
#: Default width of hashed one-hot features: 2**10 = 1,024 columns per column.
DEFAULT_HASH_BITS = 10
#: Largest vocabulary kept per text column: word 1-2-grams and character 3-4-grams.
TEXT_WORD_MAX_FEATURES = 5_000
TEXT_CHAR_MAX_FEATURES = 2_000
#: Text vectorizers learn their vocabulary and document frequencies from at most this many rows
#: (a seeded sample); every row is transformed.
TEXT_FIT_MAX_ROWS = 100_000
#: Rows vectorised at a time at transform.
TEXT_CHUNK_ROWS = 50_000

_MISSING_CODE = -2  # marks a missing category before imputation; -1 marks an unseen one
#: Batches of at most this many rows look categories up in a dict (pandas' vectorised lookup
#: costs more than it saves on a few rows); both give the same codes.
SMALL_BATCH_ROWS = 64


class PredictionCaches:
    """Mixin: attributes named ``_cache_*`` (built at prediction time, once per process) are
    left out of the pickle, so two equally fitted objects pickle to the same bytes; ``fit``
    drops them (:meth:`_clear_caches`)."""

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()  # type: ignore[assignment]
        return {k: v for k, v in state.items() if not k.startswith("_cache_")}

    def _clear_caches(self) -> None:
        for key in [k for k in self.__dict__ if k.startswith("_cache_")]:
            del self.__dict__[key]


def _check_fitted(estimator: BaseEstimator, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call fit first.")


def to_float(series: pd.Series) -> np.ndarray:
    """A column as float64 values, NaN for missing, unparseable or infinite cells."""
    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else ""
    if kind in ("f", "i", "u"):  # NumPy numbers: NaN is their only missing value
        values = np.array(series.to_numpy(), dtype="float64", copy=True)
    elif pd.api.types.is_bool_dtype(series):
        values = series.astype("float64").to_numpy()
    elif pd.api.types.is_timedelta64_dtype(series):
        values = series.dt.total_seconds().to_numpy(dtype="float64")
    elif pd.api.types.is_datetime64_any_dtype(series):
        aware = getattr(series.dt, "tz", None) is not None
        stamps = series.dt.tz_convert(None) if aware else series
        values = stamps.astype("int64").astype("float64").to_numpy() / 1e9
        values[stamps.isna().to_numpy()] = np.nan
    elif pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if not values.flags.writeable:
        values = values.copy()
    values[np.isinf(values)] = np.nan
    return values


def as_text(series: pd.Series) -> np.ndarray:
    """A column as an object array of ``str``, ``np.nan`` for missing cells."""
    missing = series.isna().to_numpy()
    text = series.astype(str).to_numpy(dtype=object)
    text[missing] = np.nan
    return text


def _number_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def fill_missing(imputer: SimpleImputer, block: np.ndarray) -> np.ndarray:
    """``imputer.transform(block)`` for a fitted imputer that keeps empty features, on a dense
    block with one column per fitted feature: each missing cell takes its column's statistic,
    in place, without scikit-learn's per-call validation."""
    if not imputer.keep_empty_features or imputer.add_indicator:
        return np.asarray(imputer.transform(block))
    statistics = imputer.statistics_
    missing = (np.isnan(block) if imputer.missing_values is np.nan
               or (isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values))
               else block == imputer.missing_values)
    if missing.any():
        rows, columns = np.nonzero(missing)
        block[rows, columns] = statistics[columns]
    return block


def _imputer(strategy: str, fill_value: Any = None, **kwargs: Any) -> SimpleImputer:
    if strategy == "constant":
        return SimpleImputer(strategy="constant", fill_value=fill_value, **kwargs)
    return SimpleImputer(strategy=strategy, **kwargs)


# ----------------------------------------------------------------------------------- numbers


class NumericImputer(TransformerMixin, BaseEstimator):
    """Numbers with missing values filled: mean by default, or a strategy per column.

    ``strategies`` maps a column to ``{"strategy": mean|median|most_frequent|constant|ffill,
    "fill_value": ...}``. ``ffill`` (forecasting) carries the last value forward in row order
    and fills what is left (the first rows) with the median.
    """

    def __init__(self, *, strategies: dict[str, dict[str, Any]] | None = None):
        self.strategies = strategies

    def _strategy(self, column: str) -> tuple[str, Any]:
        custom = (self.strategies or {}).get(column)
        if custom is None:
            return "mean", None
        return custom["strategy"], custom.get("fill_value")

    def fit(self, X: pd.DataFrame, y: Any = None) -> NumericImputer:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        values = self._values(X)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, column in enumerate(X.columns):
            strategy, fill = self._strategy(column)
            if strategy == "constant":
                try:
                    fill = float(fill)
                except (TypeError, ValueError) as exc:
                    raise DataError(
                        f"the constant imputer for numeric column '{column}' needs a number as "
                        f"fill_value, got {fill!r}."
                    ) from exc
            groups.setdefault((strategy, repr(fill)), []).append(i)
        self.imputers_: list[tuple[np.ndarray, str, SimpleImputer]] = []
        for (strategy, _), idx in groups.items():
            fill = self._strategy(X.columns[idx[0]])[1]
            positions = np.asarray(idx)
            block = values[:, positions]
            if strategy == "ffill":
                block = pd.DataFrame(block).ffill().to_numpy()
                imputer = SimpleImputer(strategy="median", keep_empty_features=True)
            else:
                imputer = _imputer(strategy, None if fill is None else float(fill),
                                   keep_empty_features=True)
            values[:, positions] = imputer.fit_transform(block)
            self.imputers_.append((positions, strategy, imputer))
        return values

    def _values(self, X: pd.DataFrame, columns: Any = None) -> np.ndarray:
        columns = X.columns if columns is None else columns
        out = np.empty((len(X), len(columns)), dtype="float64", order="F")
        for i, column in enumerate(columns):
            out[:, i] = to_float(X[column])
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The fitted columns (read by name: ``X`` may hold others) with missing values filled."""
        _check_fitted(self, "imputers_")
        values = self._values(X, self.feature_names_in_)
        for positions, strategy, imputer in self.imputers_:
            block = values[:, positions]
            if strategy == "ffill":
                block = pd.DataFrame(block).ffill().to_numpy()
            values[:, positions] = fill_missing(imputer, block)
        return values

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        _check_fitted(self, "imputers_")
        return np.asarray(self.feature_names_in_, dtype=object)


# ------------------------------------------------------------------------------ categories


class CategoryCodes(PredictionCaches, TransformerMixin, BaseEstimator):
    """Categories as integer codes, missing values imputed (most frequent by default).

    The categories are fixed at fit: each column's distinct values, sorted. Columns stored as
    numbers (or booleans) keep numeric categories, so ``3``, ``3.0`` and ``"3"`` sent at
    prediction time are one category; other columns compare as text. An unseen value gets code
    ``-1``. The codes feed one-hot, ordinal, target encoding or pandas categories.
    """

    def __init__(self, *, strategies: dict[str, dict[str, Any]] | None = None):
        self.strategies = strategies

    def _values(self, series: pd.Series, numeric: bool) -> tuple[Any, np.ndarray]:
        if numeric:
            values = to_float(series)
            return values, np.isnan(values)
        if series.dtype == object:
            raw = series.to_numpy()
            missing = pd.isna(raw)
            # Text already (missing cells aside, whose codes are overwritten): as astype(str).
            if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
                return raw, missing
            return series.astype(str).to_numpy(dtype=object), missing
        return series.astype(str).to_numpy(dtype=object), series.isna().to_numpy()

    def _codes(self, X: pd.DataFrame, fitting: bool = False) -> np.ndarray:
        columns = X.columns if fitting else self.feature_names_in_
        codes = np.empty((len(X), len(columns)), dtype=np.int64)
        for i, column in enumerate(columns):
            values, missing = self._values(X[column], self.numeric_[column])
            if fitting:
                col = pd.Categorical(values, categories=self.categories_[column]).codes
            elif len(values) <= SMALL_BATCH_ROWS:
                lookup = self._lookup(column)
                col = np.fromiter((lookup.get(v, -1) for v in values.tolist()), dtype=np.int64,
                                  count=len(values))
            else:  # what pd.Categorical does with fixed categories, without rebuilding them
                col = self.categories_[column].get_indexer_for(values)
            col = col.astype(np.int64)
            col[missing] = _MISSING_CODE
            codes[:, i] = col
        return codes

    def _lookup(self, column: str) -> dict[Any, int]:
        """Category -> code of ``column``, as a dict (built once per process)."""
        lookups = self.__dict__.setdefault("_cache_lookups", {})
        lookup = lookups.get(column)
        if lookup is None:
            lookup = {v: i for i, v in enumerate(self.categories_[column].tolist())}
            lookups[column] = lookup
        return lookup

    def fit(self, X: pd.DataFrame, y: Any = None) -> CategoryCodes:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        self._clear_caches()
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.numeric_: dict[str, bool] = {}
        self.boolean_: dict[str, bool] = {}
        self.categories_: dict[str, pd.Index] = {}
        fills: dict[str, Any] = {}
        for column in X.columns:
            series = X[column]
            numeric = bool(pd.api.types.is_numeric_dtype(series)
                           and not pd.api.types.is_timedelta64_dtype(series))
            values, missing = self._values(series, numeric)
            categories = pd.Index(pd.unique(values[~missing])).sort_values()
            custom = (self.strategies or {}).get(column)
            if custom is not None and custom["strategy"] == "constant":
                fill = custom["fill_value"]
                if numeric:
                    try:
                        fill = float(fill)
                    except (TypeError, ValueError) as exc:
                        raise DataError(
                            f"the constant imputer for column '{column}' (categories stored as "
                            f"numbers) needs a number as fill_value, got {fill!r}."
                        ) from exc
                else:
                    fill = str(fill)
                if fill not in categories:
                    categories = categories.append(pd.Index([fill]))
                fills[column] = fill
            self.numeric_[column] = numeric
            self.boolean_[column] = bool(pd.api.types.is_bool_dtype(series))
            self.categories_[column] = categories
        codes = self._codes(X, fitting=True)
        self.imputers_: list[SimpleImputer] = []
        for i, column in enumerate(X.columns):
            if column in fills:
                fill_code = int(self.categories_[column].get_loc(fills[column]))
                imputer = SimpleImputer(missing_values=_MISSING_CODE, strategy="constant",
                                        fill_value=fill_code, keep_empty_features=True)
            else:
                imputer = SimpleImputer(missing_values=_MISSING_CODE, strategy="most_frequent",
                                        keep_empty_features=True)
            codes[:, i] = imputer.fit_transform(codes[:, i:i + 1])[:, 0]
            self.imputers_.append(imputer)
        return self._settle(codes)

    def _settle(self, codes: np.ndarray) -> np.ndarray:
        # A column missing in every training row has no category to impute with: its codes
        # stay "unseen" (-1) rather than point past the categories.
        sizes = np.asarray([len(self.categories_[c]) for c in self.feature_names_in_])
        codes[(codes == _MISSING_CODE) | (codes >= sizes)] = -1
        return codes

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Codes of the fitted columns (read by name: ``X`` may hold others)."""
        _check_fitted(self, "imputers_")
        codes = self._codes(X)
        missing = (codes == _MISSING_CODE).any(axis=0)
        for i in np.flatnonzero(missing):  # imputing a column with nothing missing is a no-op
            codes[:, i:i + 1] = fill_missing(self.imputers_[i], codes[:, i:i + 1])
        return self._settle(codes)

    def labels(self, column: str) -> list[str]:
        """The categories of ``column`` as text, in code order."""
        _check_fitted(self, "categories_")
        categories = self.categories_[column]
        if self.boolean_[column]:
            return ["True" if v else "False" for v in categories]
        if self.numeric_[column]:
            return [_number_label(v) for v in categories]
        return [str(v) for v in categories]

    def as_categorical(self, codes: np.ndarray, column: str) -> pd.Categorical:
        """Codes of ``column`` as a pandas categorical; unseen (-1) becomes missing.

        Categories are the values' text (XGBoost refuses floating-point categories), or the codes
        themselves when two values share a text (``1`` and ``"1"`` in one mixed column).
        """
        categories = pd.Index(self.categories_[column]).astype(str)
        if not categories.is_unique:
            categories = pd.RangeIndex(len(categories))
        return pd.Categorical.from_codes(codes, categories=categories)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        _check_fitted(self, "imputers_")
        return np.asarray(self.feature_names_in_, dtype=object)


# --------------------------------------------------------------------------------- hashing


class HashingEncoder(TransformerMixin, BaseEstimator):
    """Hashed one-hot encoding (Azure's ``HashOneHotEncoder``) of high-cardinality columns.

    Each column's values are hashed into ``2**bits`` columns (``bits`` per column, else
    ``default_bits``), so unseen values need no vocabulary. Missing values are filled with the
    most frequent value first. Output: CSR float32.
    """

    def __init__(self, *, bits: dict[str, int] | None = None,
                 default_bits: int = DEFAULT_HASH_BITS):
        self.bits = bits
        self.default_bits = default_bits

    def fit(self, X: pd.DataFrame, y: Any = None) -> HashingEncoder:
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.imputers_: list[SimpleImputer] = []
        self.hashers_: list[FeatureHasher] = []
        for column in X.columns:
            n_bits = int((self.bits or {}).get(column, self.default_bits))
            if not 1 <= n_bits <= 24:
                raise DataError(f"number_of_bits for '{column}' must be 1 to 24, got {n_bits}.")
            imputer = SimpleImputer(strategy="most_frequent", missing_values=np.nan,
                                    keep_empty_features=True)
            imputer.fit(as_text(X[column]).reshape(-1, 1))
            self.imputers_.append(imputer)
            self.hashers_.append(FeatureHasher(n_features=2 ** n_bits, input_type="string",
                                               alternate_sign=False, dtype=np.float32))
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        _check_fitted(self, "hashers_")
        blocks = []
        parts = zip(self.feature_names_in_, self.imputers_, self.hashers_, strict=True)
        for column, imputer, hasher in parts:
            text = imputer.transform(as_text(X[column]).reshape(-1, 1)).astype(str)
            blocks.append(hasher.transform(text.astype(object)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        _check_fitted(self, "hashers_")
        names = []
        for column, hasher in zip(self.feature_names_in_, self.hashers_, strict=True):
            width = len(str(hasher.n_features - 1))
            names += [f"{column}_hash_{j:0{width}d}" for j in range(hasher.n_features)]
        return np.asarray(names, dtype=object)


# ------------------------------------------------------------------------------------ text


class TextFeatures(TransformerMixin, BaseEstimator):
    """Free text of one column as TF-IDF (word 1-2-grams and character 3-4-grams) or counts.

    ``method`` is ``"tfidf"`` or ``"count"`` (word 1-2-gram counts, used when TfIdf is blocked).
    ``params`` (``transformer_params.tf_idf``) replace the word vectorizer's settings, and the
    column then gets that one vectorizer. Missing text becomes the empty string. Vocabularies
    are learned from at most ``fit_rows`` rows. Output: CSR float32.
    """

    def __init__(self, *, method: str = "tfidf", params: dict[str, Any] | None = None,
                 word_max_features: int = TEXT_WORD_MAX_FEATURES,
                 char_max_features: int = TEXT_CHAR_MAX_FEATURES,
                 fit_rows: int = TEXT_FIT_MAX_ROWS, seed: int = 0):
        self.method = method
        self.params = params
        self.word_max_features = word_max_features
        self.char_max_features = char_max_features
        self.fit_rows = fit_rows
        self.seed = seed

    @staticmethod
    def _documents(X: pd.DataFrame) -> pd.Series:
        column = X.iloc[:, 0]
        return column.astype(str).where(column.notna(), "")

    def _vectorizers(self) -> list[tuple[str, Any]]:
        if self.method == "count":
            return [("count_word", CountVectorizer(ngram_range=(1, 2), dtype=np.float32,
                                                   max_features=self.word_max_features))]
        if self.method != "tfidf":
            raise DataError(f"unknown text method {self.method!r}; use 'tfidf' or 'count'.")
        if self.params:
            params: dict[str, Any] = {"ngram_range": (1, 2),
                                      "max_features": self.word_max_features,
                                      "sublinear_tf": True}
            params.update(self.params)
            if "ngram_range" in params:
                params["ngram_range"] = tuple(params["ngram_range"])
            chars = str(params.get("analyzer", "word")).startswith("char")
            tag = "tfidf_char" if chars else "tfidf_word"
            return [(tag, TfidfVectorizer(dtype=np.float32, **params))]
        return [
            ("tfidf_word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32,
                                           max_features=self.word_max_features)),
            ("tfidf_char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4),
                                           sublinear_tf=True, dtype=np.float32,
                                           max_features=self.char_max_features)),
        ]

    def fit(self, X: pd.DataFrame, y: Any = None) -> TextFeatures:
        if X.shape[1] != 1:
            raise DataError(f"TextFeatures takes one column, got {X.shape[1]}.")
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        documents = self._documents(X)
        if len(documents) > self.fit_rows:
            documents = documents.sample(n=self.fit_rows, random_state=self.seed)
        self.vectorizers_: list[tuple[str, Any]] = []
        self.notes_: list[str] = []
        for tag, vectorizer in self._vectorizers():
            try:
                vectorizer.fit(documents)
            except ValueError as exc:  # e.g. an empty vocabulary: no words in the fold
                self.notes_.append(f"{tag.replace('_', ' ')} features skipped: {exc}")
                continue
            self.vectorizers_.append((tag, vectorizer))
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        _check_fitted(self, "vectorizers_")
        documents = self._documents(X)
        if not self.vectorizers_:
            return sp.csr_matrix((len(documents), 0), dtype=np.float32)
        codes, distinct = pd.factorize(documents)
        if len(distinct) <= 0.5 * len(documents):
            # Repeated documents (labels, templates): analyse each distinct one once.
            blocks = [v.transform(distinct)[codes] for _, v in self.vectorizers_]
            return sp.hstack(blocks, format="csr", dtype=np.float32)
        # Chunks of rows bound the vectorizers' temporary memory to one chunk's worth.
        chunks = []
        for start in range(0, len(documents), TEXT_CHUNK_ROWS):
            part = documents.iloc[start:start + TEXT_CHUNK_ROWS]
            chunks.append(sp.hstack([v.transform(part) for _, v in self.vectorizers_],
                                    format="csr", dtype=np.float32))
        return sp.vstack(chunks, format="csr", dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        _check_fitted(self, "vectorizers_")
        column = self.feature_names_in_[0]
        names: list[str] = []
        for tag, vectorizer in self.vectorizers_:
            names += [f"{column}_{tag}_{term}" for term in vectorizer.get_feature_names_out()]
        return np.asarray(names, dtype=object)


# ------------------------------------------------------------------------------- datetimes


def parse_dates(series: pd.Series, fmt: str | None) -> pd.Series:
    """A column as timezone-naive timestamps, NaT where unparseable.

    A timezone-aware datetime column keeps its own clock time (an hour-of-day feature should
    read the local hour); text with UTC offsets is read as UTC, the one clock all rows share.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            return series.dt.tz_localize(None)
        return series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # format guesses
        if pd.api.types.is_numeric_dtype(series):  # numbers are read as Unix seconds
            stamps = pd.to_datetime(to_float(series), unit="s", errors="coerce")
            return pd.Series(stamps, index=series.index)
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in ("datetime", "datetime64", "date"):
            parsed = pd.to_datetime(series, errors="coerce", utc=True)
        else:
            text = series.astype(str).where(series.notna())
            try:
                parsed = pd.to_datetime(text, format=fmt or "mixed", errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                parsed = pd.to_datetime(text, format="mixed", errors="coerce", utc=True)
    return parsed.dt.tz_localize(None)


def _parts(stamps: pd.Series, parts: list[str]) -> np.ndarray:
    accessor = stamps.dt
    out = np.empty((len(stamps), len(parts)), dtype="float64", order="F")
    for j, part in enumerate(parts):
        if part == "WeekOfYear":
            values = accessor.isocalendar().week
        elif part == "DayOfWeek":
            values = accessor.dayofweek
        elif part == "DayOfYear":
            values = accessor.dayofyear
        else:
            values = getattr(accessor, part.lower())
        out[:, j] = np.asarray(values, dtype="float64")
    return out


class DateTimeFeatures(TransformerMixin, BaseEstimator):
    """Datetime columns as Year, Month, Day, DayOfWeek, DayOfYear, Quarter, WeekOfYear, Hour,
    Minute and Second; parts constant in the training data are left out.

    Text dates are parsed with the format found by profiling (``formats``; found again at fit
    when absent). Missing or unparseable dates are filled with the median training date (or per
    ``strategies``: mean, median, most_frequent, or constant with a date as fill_value).
    """

    def __init__(self, *, formats: dict[str, str] | None = None,
                 strategies: dict[str, dict[str, Any]] | None = None):
        self.formats = formats
        self.strategies = strategies

    def _stamps(self, series: pd.Series, column: str) -> pd.Series:
        return parse_dates(series, self.formats_.get(column))

    def fit(self, X: pd.DataFrame, y: Any = None) -> DateTimeFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.formats_ = dict(self.formats or {})
        for column in X.columns:
            series = X[column]
            if column not in self.formats_ and not pd.api.types.is_datetime64_any_dtype(series) \
                    and not pd.api.types.is_numeric_dtype(series):
                text = series.dropna().astype(str)
                self.formats_[column] = detect_datetime_format(text.iloc[:50_000])[0] or "mixed"
        self.fill_: dict[str, pd.Timestamp] = {}
        self.parts_: dict[str, list[str]] = {}
        blocks = []
        for column in X.columns:
            stamps = self._stamps(X[column], column)
            custom = (self.strategies or {}).get(column) or {"strategy": "median"}
            if custom["strategy"] == "constant":
                fill = pd.Timestamp(custom["fill_value"])
                if fill.tzinfo is not None:
                    fill = fill.tz_convert("UTC").tz_localize(None)
            else:
                seconds = to_float(stamps).reshape(-1, 1)
                strategy = custom["strategy"] if custom["strategy"] != "ffill" else "median"
                imputer = SimpleImputer(strategy=strategy, keep_empty_features=True).fit(seconds)
                fill = pd.Timestamp(round(float(imputer.statistics_[0])), unit="s") \
                    if np.isfinite(imputer.statistics_[0]) and stamps.notna().any() \
                    else pd.Timestamp("1970-01-01")
            self.fill_[column] = fill
            parts = _parts(stamps.fillna(fill), list(DATETIME_PARTS))
            varying = [j for j in range(len(DATETIME_PARTS))
                       if np.nanmax(parts[:, j]) > np.nanmin(parts[:, j])] if len(parts) else []
            self.parts_[column] = [DATETIME_PARTS[j] for j in varying]
            blocks.append(parts[:, varying])
        return np.asfortranarray(np.hstack(blocks)) if blocks else np.empty((len(X), 0))

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        _check_fitted(self, "parts_")
        blocks = [
            _parts(self._stamps(X[column], column).fillna(self.fill_[column]), self.parts_[column])
            for column in self.feature_names_in_
        ]
        return np.asfortranarray(np.hstack(blocks)) if blocks else np.empty((len(X), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        _check_fitted(self, "parts_")
        return np.asarray([f"{c}_{p}" for c in self.feature_names_in_ for p in self.parts_[c]],
                          dtype=object)
