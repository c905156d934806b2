"""Column profiling: what each raw column is for, judged from its content and not only its dtype.

Every column gets one of Azure's purposes (:class:`~cirrusml.spec.FeatureType`) and a short
reason a person can read. The rules, applied in this order (the constants below hold the numbers):

``AllNan``
    every value is missing. Dropped.
``Ignore``
    one value in every row and nothing missing. Dropped. (One value plus some missing cells is
    kept: whether a cell is missing is then the column's only signal, carried by its
    ``<col>_WASNULL`` indicator.)
``Categorical``
    booleans; whole numbers with at most :data:`FEW_VALUES_MAX_UNIQUE` distinct values that
    also make at most :data:`FEW_VALUES_MAX_RATIO` of the rows (codes, ratings, flags); text with
    at most :data:`CATEGORICAL_MAX_UNIQUE` distinct values.
``CategoricalHash``
    text (single words or short labels) with more than :data:`CATEGORICAL_MAX_UNIQUE` distinct
    values that is not id-like.
``Hashes``
    id-like, dropped: at least :data:`ID_MIN_UNIQUE_RATIO` of the present values distinct, in
    at least :data:`ID_MIN_ROWS` rows. Whole numbers must in addition fill at least
    :data:`INTEGER_ID_MIN_DENSITY` of their range (row numbers, sequential keys) and come from
    at least :data:`INTEGER_ID_MIN_ROWS` rows, so that a precise measurement that happens to be
    a whole number is not dropped.
``DateTime``
    a datetime dtype, or text of which at least :data:`DATETIME_MIN_PARSED` parses as dates
    with a year and a month (``may`` or ``mon`` alone is not a date).
``Text``
    free text: on average at least :data:`TEXT_MIN_MEAN_WORDS` words per value and many
    distinct values (at least :data:`TEXT_MIN_UNIQUE`, or half the rows).
``Numeric``
    everything numeric that is none of the above, durations (as seconds), and text columns of
    which at least :data:`NUMERIC_MIN_PARSED` parses as numbers (the rest become missing).

Content checks run on a seeded sample of at most :data:`PROFILE_SAMPLE_ROWS` rows; missing and
distinct counts use every row. ``column_name_and_types`` overrides the detected purpose.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from cirrusml.exceptions import DataError
from cirrusml.spec import (
    BlockedTransformers,
    FeatureType,
    FeaturizationMode,
    TabularFeaturizationSettings,
)
from cirrusml.utils import suggestion

__all__ = [
    "DROPPED_PURPOSES",
    "check_named_columns",
    "detect_datetime_format",
    "ColumnProfile",
    "DataProfile",
    "FeaturizationOptions",
    "featurization_options",
    "fill_rule",
    "profile_columns",
]

#: Content checks (date parsing, word counts, whole numbers) look at this many rows at most.
PROFILE_SAMPLE_ROWS = 50_000
#: Whole numbers with this many distinct values or fewer are categories ...
FEW_VALUES_MAX_UNIQUE = 10
#: ... provided the distinct values are at most this share of the rows.
FEW_VALUES_MAX_RATIO = 0.1
#: Share of distinct values (among present ones) from which a column is id-like.
ID_MIN_UNIQUE_RATIO = 0.95
#: Fewer present values than this and nothing is called id-like (too little evidence).
ID_MIN_ROWS = 20
#: Whole-number ids need more rows ...
INTEGER_ID_MIN_ROWS = 100
#: ... and must cover this share of the integers between their minimum and maximum.
INTEGER_ID_MIN_DENSITY = 0.5
#: Categorical columns with more distinct values than this become ``CategoricalHash``.
CATEGORICAL_MAX_UNIQUE = 100
#: Share of present values that must parse as dates for a text column to be ``DateTime``.
DATETIME_MIN_PARSED = 0.95
#: Share of present values that must parse as numbers for a text column to be numeric.
NUMERIC_MIN_PARSED = 0.95
#: Average words per value from which a column may be free text ...
TEXT_MIN_MEAN_WORDS = 3.0
#: ... when it also has this many distinct values, or this share of distinct values.
TEXT_MIN_UNIQUE = 100
TEXT_MIN_UNIQUE_RATIO = 0.5

#: Purposes whose columns the featurizer drops.
DROPPED_PURPOSES = frozenset({FeatureType.HASHES.value, FeatureType.IGNORE.value,
                              FeatureType.ALL_NAN.value})

_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}|[A-Za-z]{3,}\.? \d{1,2}|\d{1,2} [A-Za-z]{3,}")
_NUMERIC_STRATEGIES = ("mean", "median")
_TFIDF_KEYS = ("max_features", "ngram_range", "min_df", "max_df", "sublinear_tf", "lowercase",
               "analyzer")


# ------------------------------------------------------------------------------ the settings


@dataclass
class FeaturizationOptions:
    """The featurization settings in plain Python: what the featurizer and the reports need.

    ``imputers`` maps a column to ``{"strategy": ..., "fill_value": ...}``; ``hash_bits`` maps a
    column to its ``number_of_bits``; ``tfidf_params`` maps a column to vectorizer keywords.
    """

    mode: str = "auto"
    blocked: tuple[str, ...] = ()
    column_types: dict[str, str] = field(default_factory=dict)
    imputers: dict[str, dict[str, Any]] = field(default_factory=dict)
    hash_bits: dict[str, int] = field(default_factory=dict)
    tfidf_params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def named_columns(self) -> list[tuple[str, str]]:
        """(setting, column) for every column the settings name."""
        named = [("column_name_and_types", c) for c in self.column_types]
        named += [("transformer_params.imputer", c) for c in self.imputers]
        named += [("transformer_params.hash_one_hot_encoder", c) for c in self.hash_bits]
        named += [("transformer_params.tf_idf", c) for c in self.tfidf_params]
        return named


def featurization_options(settings: TabularFeaturizationSettings | None) -> FeaturizationOptions:
    """Flatten ``settings`` (``None`` = all defaults) into :class:`FeaturizationOptions`."""
    options = FeaturizationOptions()
    if settings is None:
        return options
    if settings.mode is not None:
        options.mode = FeaturizationMode.parse(settings.mode).value.lower()
    options.blocked = tuple(
        BlockedTransformers.parse(b).value for b in (settings.blocked_transformers or [])
    )
    options.column_types = {
        str(c): FeatureType.parse(t).value
        for c, t in (settings.column_name_and_types or {}).items()
    }
    for key, entries in (settings.transformer_params or {}).items():
        kind = str(getattr(key, "value", key))  # Imputer, HashOneHotEncoder or TfIdf
        for entry in entries:
            params = dict(entry.parameters or {})
            for column in entry.fields:
                if kind == "Imputer":
                    options.imputers[str(column)] = {
                        "strategy": str(params.get("strategy")),
                        "fill_value": params.get("fill_value"),
                    }
                elif kind == "HashOneHotEncoder":
                    options.hash_bits[str(column)] = int(params["number_of_bits"])
                else:
                    unknown = sorted(set(params) - set(_TFIDF_KEYS))
                    if unknown:
                        raise DataError(
                            f"featurization.transformer_params.tf_idf for '{column}': unknown "
                            f"parameter(s) {', '.join(unknown)}; accepted: "
                            f"{', '.join(_TFIDF_KEYS)}."
                        )
                    options.tfidf_params[str(column)] = params
    return options


def fill_rule(column: str, purpose: str, options: FeaturizationOptions | None = None) -> str:
    """How the featurizer fills the missing values of ``column`` (for reports)."""
    custom = (options.imputers if options is not None else {}).get(column)
    if custom is not None:
        strategy = custom["strategy"]
        if strategy == "constant":
            return f"constant {custom['fill_value']!r} (transformer_params)"
        return f"{strategy.replace('_', ' ')} (transformer_params)"
    if purpose == FeatureType.NUMERIC.value:
        return "mean"
    if purpose in (FeatureType.CATEGORICAL.value, FeatureType.CATEGORICAL_HASH.value):
        return "most frequent value"
    if purpose == FeatureType.DATE_TIME.value:
        return "median date"
    if purpose == FeatureType.TEXT.value:
        return "empty text"
    return "not filled (column dropped)"


# ------------------------------------------------------------------------------ the profile


@dataclass
class ColumnProfile:
    """What one raw column is for, and why."""

    name: str
    dtype: str
    purpose: FeatureType
    n_missing: int
    n_unique: int
    reason: str
    n_rows: int = 0
    overridden: bool = False
    #: Format to parse text dates with (``None`` for datetime dtypes; ``"mixed"`` when no
    #: single format fits and each value is parsed on its own).
    datetime_format: str | None = None

    @property
    def dropped(self) -> bool:
        return self.purpose.value in DROPPED_PURPOSES

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["purpose"] = self.purpose.value
        return out


@dataclass
class DataProfile:
    """The profile of every raw column, in the order of the data."""

    columns: dict[str, ColumnProfile]
    n_rows: int = 0
    sample_rows: int = 0
    options: FeaturizationOptions = field(default_factory=FeaturizationOptions)

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def purposes(self) -> dict[str, str]:
        """Column → purpose value (``"Numeric"``, ...), plain strings."""
        return {name: col.purpose.value for name, col in self.columns.items()}

    def columns_of(self, *purposes: str | FeatureType) -> list[str]:
        wanted = {FeatureType.parse(p).value for p in purposes}
        return [n for n, c in self.columns.items() if c.purpose.value in wanted]

    @property
    def dropped(self) -> list[str]:
        return [n for n, c in self.columns.items() if c.dropped]

    def datetime_formats(self) -> dict[str, str]:
        return {n: c.datetime_format for n, c in self.columns.items()
                if c.datetime_format is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "sample_rows": self.sample_rows,
            "columns": [c.to_dict() for c in self.columns.values()],
        }


def _column_list(columns: Iterable[str], limit: int = 40) -> str:
    names = [str(c) for c in columns]
    shown = ", ".join(f"'{c}'" for c in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_named_columns(options: FeaturizationOptions, columns: Iterable[str]) -> None:
    """Raise ``DataError`` when a featurization setting names a column the data lacks."""
    present = [str(c) for c in columns]
    known = set(present)
    for setting, column in options.named_columns():
        if column not in known:
            raise DataError(
                f"featurization.{setting} names column '{column}', which is not in the training "
                f"data; its columns are {_column_list(present)}." + suggestion(column, present)
            )


def _nunique(series: pd.Series) -> int:
    try:
        return int(series.nunique(dropna=True))
    except TypeError:  # unhashable cells (lists, dicts): compare their text
        return int(series.dropna().astype(str).nunique())


def _percent(share: float) -> str:
    text = f"{100 * share:.1f}%"
    return f"{100 * share:.2f}%" if text == "100.0%" and share < 1 else text


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _whole_numbers(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.all(finite == np.round(finite)))


def _numeric_purpose(values: pd.Series, sample: np.ndarray, n_unique: int,
                     prefix: str = "") -> tuple[FeatureType, str]:
    """Purpose of a column of numbers (``values``: all rows as floats, NaN for missing)."""
    n_present = int(values.notna().sum())
    ratio = n_unique / max(n_present, 1)
    whole = _whole_numbers(sample)
    if whole and n_present >= INTEGER_ID_MIN_ROWS and ratio >= ID_MIN_UNIQUE_RATIO:
        low, high = float(values.min()), float(values.max())
        density = n_unique / (high - low + 1)
        if density >= INTEGER_ID_MIN_DENSITY:
            return FeatureType.HASHES, (
                f"{prefix}{_percent(ratio)} unique whole numbers filling {_percent(density)} of "
                f"their range: id-like"
            )
    if whole and n_unique <= FEW_VALUES_MAX_UNIQUE and ratio <= FEW_VALUES_MAX_RATIO:
        return FeatureType.CATEGORICAL, (
            f"{prefix}whole numbers with only {n_unique} distinct values: categorical"
        )
    return FeatureType.NUMERIC, f"{prefix}numbers" + (" (whole)" if whole else "")


def _share(mask: Any, weights: np.ndarray | None) -> float:
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return 0.0
    if weights is None:
        return float(mask.mean())
    return float(weights[mask].sum() / weights.sum())


def detect_datetime_format(text: pd.Series,
                           counts: np.ndarray | None = None) -> tuple[str | None, float]:
    """The best format to parse ``text`` as dates, and the share of values it parses.

    ``text`` holds present values as ``str``; when ``counts`` is given, ``text`` holds distinct
    values and ``counts`` how often each occurs.
    """
    if text.empty:
        return None, 0.0
    candidates: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # day-first guesses
        for value in text.drop_duplicates().iloc[:20]:  # a few values, not the rows
            fmt = guess_datetime_format(value)
            if fmt and fmt not in candidates:
                candidates.append(fmt)
    candidates = [f for f in candidates
                  if re.search("%[Yy]", f) and re.search("%[mbB]", f)]
    best, best_share = None, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # format guesses
        for fmt in candidates:
            try:
                parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                continue
            share = _share(parsed.notna(), counts)
            if share > best_share:
                best, best_share = fmt, share
        if best_share < DATETIME_MIN_PARSED:
            # No single format: let each value be parsed on its own, but only for text that
            # looks like dates (digits with separators, or a month name next to a day).
            small = text.iloc[:500]
            weights = None if counts is None else counts[:500]
            if _share(small.str.contains(_DATE_LIKE), weights) >= DATETIME_MIN_PARSED:
                try:
                    parsed = pd.to_datetime(small, format="mixed", errors="coerce", utc=True)
                    share = _share(parsed.notna(), weights)
                except (ValueError, TypeError, OverflowError):
                    share = 0.0
                if share > best_share:
                    best, best_share = "mixed", share
    return best, best_share


def _object_purpose(series: pd.Series, sample: pd.Series, n_unique: int,
                    n_present: int) -> tuple[FeatureType, str, str | None]:
    """Purpose of a column of text, categories or mixed values; also a date format if any.

    The content checks run on the sample's distinct values, weighted by how often each occurs,
    so a low-cardinality column costs next to nothing however long it is.
    """
    present = sample.dropna()
    ratio = n_unique / max(n_present, 1)
    kind = pd.api.types.infer_dtype(present, skipna=True)
    if kind in ("datetime", "datetime64", "date"):
        return FeatureType.DATE_TIME, "date or datetime values", None
    distinct = present.astype(str).value_counts(sort=False)
    text = pd.Series(distinct.index, dtype=object)
    counts = distinct.to_numpy(dtype="float64")
    numbers = pd.to_numeric(text, errors="coerce")
    numeric_share = _share(numbers.notna(), counts)
    if numeric_share >= NUMERIC_MIN_PARSED:
        full = pd.to_numeric(series, errors="coerce")
        parsed = "" if numeric_share == 1 else (
            f" ({_percent(numeric_share)} parse; the rest count as missing)")
        prefix = f"text holding numbers{parsed}: "
        purpose, reason = _numeric_purpose(full, numbers.to_numpy(float), n_unique, prefix)
        return purpose, reason, None
    mixed = "mixed numbers and text; " if numeric_share > 0 else ""
    fmt, share = detect_datetime_format(text, counts)
    if share >= DATETIME_MIN_PARSED:
        return FeatureType.DATE_TIME, f"{_percent(share)} parse as dates ({fmt})", fmt
    words = float(np.average(text.str.count(r"\S+").to_numpy(dtype="float64"), weights=counts))
    many = n_unique >= TEXT_MIN_UNIQUE or ratio >= TEXT_MIN_UNIQUE_RATIO
    if words >= TEXT_MIN_MEAN_WORDS and many:
        return FeatureType.TEXT, (
            f"{mixed}free text: {words:.1f} words per value on average, "
            f"{n_unique:,} distinct values"
        ), None
    if n_present >= ID_MIN_ROWS and ratio >= ID_MIN_UNIQUE_RATIO:
        return FeatureType.HASHES, f"{mixed}{_percent(ratio)} unique values: id-like", None
    if n_unique > CATEGORICAL_MAX_UNIQUE:
        return FeatureType.CATEGORICAL_HASH, (
            f"{mixed}{n_unique:,} distinct values (> {CATEGORICAL_MAX_UNIQUE}): high cardinality"
        ), None
    return FeatureType.CATEGORICAL, f"{mixed}{n_unique:,} distinct values: categorical", None


def _profile_column(name: str, series: pd.Series, sample: pd.Series) -> ColumnProfile:
    n_rows = len(series)
    n_missing = int(series.isna().sum())
    n_present = n_rows - n_missing
    dtype = str(series.dtype)

    def make(purpose: FeatureType, reason: str, n_unique: int,
             fmt: str | None = None) -> ColumnProfile:
        return ColumnProfile(name, dtype, purpose, n_missing, n_unique, reason, n_rows,
                             datetime_format=fmt)

    if n_present == 0:
        return make(FeatureType.ALL_NAN, "every value is missing", 0)
    n_unique = _nunique(series)
    if n_unique == 1 and n_missing == 0:
        return make(FeatureType.IGNORE, "the same value in every row", 1)
    if n_unique == 1:
        keep = FeatureType.NUMERIC if _is_numeric(series) else FeatureType.CATEGORICAL
        return make(keep, f"one value plus {n_missing:,} missing: kept for its missing-value "
                    "indicator", 1)
    if pd.api.types.is_bool_dtype(series):
        return make(FeatureType.CATEGORICAL, "true/false values", n_unique)
    if pd.api.types.is_datetime64_any_dtype(series):
        return make(FeatureType.DATE_TIME, "datetime values", n_unique)
    if pd.api.types.is_timedelta64_dtype(series):
        return make(FeatureType.NUMERIC, "durations (used as seconds)", n_unique)
    if _is_numeric(series):
        values = series.astype("float64")
        sample_values = sample.to_numpy(dtype="float64", na_value=np.nan)
        purpose, reason = _numeric_purpose(values, sample_values, n_unique)
        return make(purpose, reason, n_unique)
    purpose, reason, fmt = _object_purpose(series, sample, n_unique, n_present)
    return make(purpose, reason, n_unique, fmt)


def profile_columns(X: pd.DataFrame,
                    settings: TabularFeaturizationSettings | None = None) -> DataProfile:
    """Profile every column of ``X``; ``settings`` may override purposes.

    Raises ``DataError`` when ``column_name_and_types`` or ``transformer_params`` name a column
    that ``X`` lacks.
    """
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"profile_columns needs a pandas DataFrame, got {type(X).__name__}.")
    options = featurization_options(settings)
    X = X.rename(columns=str) if any(not isinstance(c, str) for c in X.columns) else X
    check_named_columns(options, X.columns)
    n_rows = len(X)
    if n_rows > PROFILE_SAMPLE_ROWS:
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(n_rows, size=PROFILE_SAMPLE_ROWS, replace=False))
        sample = X.iloc[rows]
    else:
        sample = X
    columns: dict[str, ColumnProfile] = {}
    for name in X.columns:  # a loop over columns, never over rows
        profile = _profile_column(name, X[name], sample[name])
        override = options.column_types.get(name)
        if override is not None and override != profile.purpose.value:
            detected = profile.purpose.value
            profile.purpose = FeatureType(override)
            profile.overridden = True
            profile.reason = f"set by column_name_and_types (detected {detected}: {profile.reason})"
            text_dates = not pd.api.types.is_datetime64_any_dtype(X[name])
            if override == FeatureType.DATE_TIME.value and text_dates:
                distinct = sample[name].dropna().astype(str).value_counts(sort=False)
                found = detect_datetime_format(pd.Series(distinct.index, dtype=object),
                                               distinct.to_numpy(dtype="float64"))[0]
                profile.datetime_format = found or "mixed"
        elif override is not None:
            profile.overridden = True
            profile.reason = f"set by column_name_and_types (also detected: {profile.reason})"
        columns[name] = profile
    return DataProfile(columns=columns, n_rows=n_rows, sample_rows=len(sample), options=options)


def is_numeric_strategy(strategy: str) -> bool:
    return strategy in _NUMERIC_STRATEGIES
