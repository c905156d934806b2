"""Featurization that converts to ONNX: the ``datatransformer`` step when
``training.enable_onnx_compatible_models`` is set.

:class:`OnnxCompatibleFeaturizer` is built only from scikit-learn parts that skl2onnx converts (a
``ColumnTransformer`` of ``SimpleImputer``, ``MissingIndicator``, ``StandardScaler``,
``OneHotEncoder`` and ``OrdinalEncoder``), so a whole trial pipeline exports to one ONNX graph
(see :mod:`cirrusml.onnx`). Azure marks the same subset of its featurization as ONNX-compatible
(reference §12.1).

The choices per column are those of the ONNX-compatible featurization plan
(:func:`~cirrusml.featurize.plan_featurization` with ``onnx=True``), as for the automatic
featurizer; this module fits and applies them.

Each raw column is first brought to one of two plain forms, the same in Python and in the ONNX
graph (:func:`onnx_column_values`; the graph takes these forms as its inputs):

* ``numeric`` and ``datetime`` columns become float64 values, NaN for missing (dates as seconds
  since 1970-01-01, naive times read as UTC);
* ``categorical`` columns become text: ``str`` of the value, whole numbers without a decimal
  point (``3`` and ``3.0`` are both ``"3"``), and the empty string for a missing value.

Per purpose:

* ``Hashes``, ``Ignore``, ``AllNan`` — dropped (as in automatic featurization).
* ``Numeric`` — missing values filled (mean by default, or the column's ``transformer_params``
  imputer); standard-scaled when ``scale=True``.
* ``DateTime`` — one feature, the seconds since the Unix epoch, filled with the median (or the
  column's constant date) and scaled like a number. Calendar parts (year, month, day of week...)
  are left out: they need date arithmetic that the ONNX operator set does not offer.
* ``Categorical`` — missing values filled with the most frequent category (or a constant), then
  one-hot encoded over the :data:`ONNX_MAX_CATEGORIES` most frequent training categories; any
  other value, unseen ones included, encodes as all zeros. With ``OneHotEncoder`` blocked, an
  ordinal code (``LabelEncoder``; -1 for other values) is used instead.
* ``CategoricalHash`` (high cardinality) — like ``Categorical``: one-hot over the most frequent
  categories. (Azure hashes these; the hashing here would not match scikit-learn's in ONNX.)
* ``Text`` — dropped with a note: TF-IDF and count features have no ONNX-compatible form here.

A ``<col>_WASNULL`` indicator follows for every kept column that had missing values in the
training rows. The output is a dense float64 array: continuous features (scaled), ordinal codes,
indicators, then one-hot columns; ``get_feature_names_out()`` names them and
``featurization_summary()`` reports what happened to each raw column.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from cirrusml.exceptions import DataError, NotFittedError
from cirrusml.featurize._plan import (
    ONNX_MAX_CATEGORIES,
    ColumnPlan,
    indicator_name,
    plan_columns,
    plan_featurization,
    quote_columns,
)
from cirrusml.featurize._planned import PlannedFeaturizer
from cirrusml.featurize._profile import DataProfile
from cirrusml.featurize._transformers import parse_dates, to_float
from cirrusml.spec import TabularFeaturizationSettings, TaskType
from cirrusml.tasks import Task, as_task

__all__ = [
    "INPUT_KINDS",
    "ONNX_MAX_CATEGORIES",
    "OnnxCompatibleFeaturizer",
    "category_text",
    "make_onnx_featurizer",
    "onnx_column_values",
]

#: How a raw column enters the featurizer (and the ONNX graph).
INPUT_KINDS = ("numeric", "datetime", "categorical")
#: What a missing category looks like once turned into text.
MISSING_TEXT = ""
_EPOCH = pd.Timestamp("1970-01-01")

# ------------------------------------------------------------------------ column values


def _number_text(value: float) -> str:
    if not np.isfinite(value):
        return str(value)
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _value_text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number_text(float(value))
    return str(value)


def category_text(series: pd.Series) -> np.ndarray:
    """A categorical column as an object array of ``str``; missing values become ``""``.

    Numbers are written without a needless decimal part (``3.0`` -> ``"3"``), so a category
    stored as a number reads the same whether it arrives as ``3``, ``3.0`` or ``"3"``. The
    conversion runs once per distinct value, not per row.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = np.asarray([_value_text(v) for v in uniques] + [MISSING_TEXT], dtype=object)
    return texts[codes]  # code -1 (missing) picks the last entry, ""


def _seconds(series: pd.Series, fmt: str | None) -> np.ndarray:
    stamps = parse_dates(series, fmt)
    seconds = (stamps - _EPOCH) / pd.Timedelta(seconds=1)
    return np.asarray(seconds, dtype=np.float64)


def onnx_column_values(series: pd.Series, kind: str, fmt: str | None = None) -> np.ndarray:
    """One raw column in the form the featurizer and the ONNX graph take, shaped ``(n, 1)``.

    ``kind`` is ``numeric`` (float64, NaN for missing or unparseable), ``datetime`` (float64
    seconds since 1970-01-01; text parsed with ``fmt``) or ``categorical`` (text, ``""`` for
    missing; see :func:`category_text`).
    """
    if kind == "numeric":
        values = to_float(series)
    elif kind == "datetime":
        values = _seconds(series, fmt)
    elif kind == "categorical":
        values = category_text(series)
    else:
        raise DataError(f"unknown input kind {kind!r}; expected one of {INPUT_KINDS}.")
    return values.reshape(-1, 1)


# ------------------------------------------------------------------------------- featurizer


class OnnxCompatibleFeaturizer(PlannedFeaturizer):
    """Featurization made only of ONNX-convertible scikit-learn parts (see the module notes).

    Parameters hold plain data, so the featurizer clones and pickles: ``purposes`` maps each raw
    column to a :class:`~cirrusml.spec.FeatureType` value (``None``: profile the training rows);
    ``mode`` is ``auto``, ``custom`` or ``off``; ``blocked_transformers`` holds Azure
    transformer names; ``imputers`` the per-column imputer settings of ``transformer_params``;
    ``datetime_formats`` the formats profiling found for dates written as text; ``scale``
    standard-scales the continuous features; ``task`` (a :class:`~cirrusml.tasks.Task`, a
    ``TaskType`` or its name) decides which imputers apply; ``max_categories`` caps each one-hot
    encoding.

    Fitted attributes: ``plan_`` (the fitted :class:`~cirrusml.featurize.FeaturizationPlan`),
    ``transformer_`` (the fitted ``ColumnTransformer`` over the prepared columns),
    ``input_kinds_`` (kept raw column -> ``numeric``/``datetime``/``categorical``),
    ``input_formats_`` (date formats of text date columns), ``feature_names_out_`` and
    ``feature_map_`` (engineered name -> raw column).
    """

    def __init__(
        self,
        *,
        purposes: Mapping[str, str] | None = None,
        mode: str = "auto",
        blocked_transformers: Iterable[str] = (),
        imputers: Mapping[str, Mapping[str, Any]] | None = None,
        datetime_formats: Mapping[str, str] | None = None,
        scale: bool = False,
        task: Task | TaskType | str | None = None,
        seed: int = 0,
        max_categories: int = ONNX_MAX_CATEGORIES,
    ):
        self.purposes = purposes
        self.mode = mode
        self.blocked_transformers = blocked_transformers
        self.imputers = imputers
        self.datetime_formats = datetime_formats
        self.scale = scale
        self.task = task
        self.seed = seed
        self.max_categories = max_categories

    # ------------------------------------------------------------------ fit-time decisions

    @staticmethod
    def _strategy(column: ColumnPlan) -> tuple[str, Any]:
        """The column's imputer strategy and fill value, the fill in the column's input form."""
        strategy, fill = str(column.imputer), column.fill_value
        if strategy == "constant":
            if column.input_kind == "numeric":
                fill = float(fill)
            elif column.input_kind == "datetime":
                fill = float(_seconds(pd.Series([fill]), None)[0])
            else:
                fill = _value_text(fill)
        return strategy, fill

    # --------------------------------------------------------------------------- fitting

    def onnx_inputs(self, X: Any) -> dict[str, np.ndarray]:
        """The kept raw columns of ``X`` in the form the ONNX graph takes (``(n, 1)`` arrays)."""
        if not hasattr(self, "input_kinds_"):
            raise NotFittedError("OnnxCompatibleFeaturizer is not fitted yet; call fit first.")
        X = self._frame(X)
        missing = [c for c in self.input_kinds_ if c not in X.columns]
        if missing:
            raise DataError(f"the input lacks column(s) {quote_columns(missing)} that the "
                            "featurizer was fitted on.")
        return {c: onnx_column_values(X[c], kind, self.input_formats_.get(c))
                for c, kind in self.input_kinds_.items()}

    def _prepared(self, X: pd.DataFrame) -> pd.DataFrame:
        values = self.onnx_inputs(X)
        return pd.DataFrame({c: v[:, 0] for c, v in values.items()}, index=X.index)

    def fit(self, X: Any, y: Any = None) -> OnnxCompatibleFeaturizer:
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        prepared = self._fit(X)
        return self._output(prepared)

    def _use_plan(self) -> None:
        """Set the kept columns' input kinds and encoders from ``plan_``."""
        kept = [c for c in self.plan_.columns if not c.dropped]
        self.input_kinds_ = {c.name: str(c.input_kind) for c in kept}
        self.encoders_ = {c.name: str(c.encoder) for c in kept if c.input_kind == "categorical"}

    def _fit(self, X: Any) -> pd.DataFrame:
        X, purposes = self._start(X)
        self.plan_ = plan_columns(purposes, self._options(), scale=bool(self.scale), onnx=True,
                                  datetime_formats=self.datetime_formats,
                                  max_categories=int(self.max_categories))
        self.notes_ += self.plan_.notes
        self._use_plan()
        self.input_formats_ = {c: f for c, f in (self.datetime_formats or {}).items()
                               if self.input_kinds_.get(c) == "datetime"}
        prepared = self._prepared(X)
        self.plan_ = self.plan_.fitted(dropped=self._empty(prepared))
        self._use_plan()
        prepared = prepared[list(self.input_kinds_)]
        self.plan_.check_kept()
        self.transformer_ = self._build(prepared)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            self.transformer_.fit(prepared)
        self._name_outputs()
        self.plan_ = self.plan_.fitted(marked=self.indicator_columns_)
        return prepared

    def _empty(self, prepared: pd.DataFrame) -> dict[str, str]:
        """Kept columns with no value at all in these training rows -> why they are dropped."""
        if self.mode_ == "off":
            return {}
        empty = {}
        for column, kind in self.input_kinds_.items():
            values = prepared[column]
            if (values == MISSING_TEXT).all() if kind == "categorical" else values.isna().all():
                empty[column] = "dropped: every value is missing in the training rows"
        return empty

    def _categories(self, text: pd.Series, fill: str | None) -> list[str]:
        present = text[text != MISSING_TEXT]
        counts = present.value_counts(sort=False)
        order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))  # by count, then value
        kept = sorted(k for k, _ in order[: int(self.max_categories)])
        if fill is not None and fill not in kept:
            kept = sorted([*kept, fill])
        return kept

    def _build(self, prepared: pd.DataFrame) -> ColumnTransformer:
        """The unfitted ``ColumnTransformer``, in output order; records the blocks' layout."""
        kinds = self.input_kinds_
        had_missing = {c: bool((prepared[c] == MISSING_TEXT).any()) if k == "categorical"
                       else bool(prepared[c].isna().any()) for c, k in kinds.items()}
        self.indicator_columns_ = [c for c in kinds if had_missing[c]] if self.mode_ != "off" \
            else []
        blocks: list[tuple[str, Any, list[str]]] = []
        self.layout_: list[tuple[str, list[str]]] = []  # (block kind, raw columns)
        if self.mode_ == "off":
            columns = list(kinds)
            blocks.append(("numeric_0", StandardScaler() if self.scale else "passthrough",
                           columns))
            self.layout_.append(("continuous", columns))
            self.strategies_ = {}
            return ColumnTransformer(blocks, sparse_threshold=0.0, remainder="drop")
        self.strategies_ = {c: self._strategy(self.plan_.column(c)) for c in kinds}
        groups: dict[tuple[str, str], list[str]] = {}
        for column, kind in kinds.items():
            if kind in ("numeric", "datetime"):
                strategy, fill = self.strategies_[column]
                groups.setdefault((strategy, repr(fill)), []).append(column)
        for i, ((strategy, _), columns) in enumerate(groups.items()):
            fill = self.strategies_[columns[0]][1]
            imputer = SimpleImputer(strategy=strategy, fill_value=fill)
            step: Any = (Pipeline([("imputer", imputer), ("scaler", StandardScaler())])
                         if self.scale else imputer)
            blocks.append((f"numeric_{i}", step, columns))
            self.layout_.append(("continuous", columns))
        coded = [c for c in kinds if self.encoders_.get(c) == "LabelEncoder"]
        for i, column in enumerate(coded):
            strategy, fill = self.strategies_[column]
            ordinal = OrdinalEncoder(categories=[self._categories(prepared[column], fill)],
                                     handle_unknown="use_encoded_value", unknown_value=-1,
                                     dtype=np.float64)
            steps = [("imputer", SimpleImputer(missing_values=MISSING_TEXT, strategy=strategy,
                                               fill_value=fill)), ("ordinal", ordinal)]
            if self.scale:
                steps.append(("scaler", StandardScaler()))
            blocks.append((f"ordinal_{i}", Pipeline(steps), [column]))
            self.layout_.append(("continuous", [column]))
        numeric_missing = [c for c in self.indicator_columns_ if kinds[c] != "categorical"]
        text_missing = [c for c in self.indicator_columns_ if kinds[c] == "categorical"]
        if numeric_missing:
            blocks.append(("wasnull_numeric", MissingIndicator(features="all"), numeric_missing))
            self.layout_.append(("indicator", numeric_missing))
        if text_missing:
            blocks.append(("wasnull_categorical",
                           MissingIndicator(features="all", missing_values=MISSING_TEXT),
                           text_missing))
            self.layout_.append(("indicator", text_missing))
        hot = [c for c in kinds if self.encoders_.get(c) == "OneHotEncoder"]
        for i, column in enumerate(hot):
            strategy, fill = self.strategies_[column]
            categories = self._categories(prepared[column], fill)
            steps = [
                ("imputer", SimpleImputer(missing_values=MISSING_TEXT, strategy=strategy,
                                          fill_value=fill)),
                ("onehot", OneHotEncoder(categories=[categories], handle_unknown="ignore",
                                         sparse_output=False, dtype=np.float64)),
            ]
            blocks.append((f"onehot_{i}", Pipeline(steps), [column]))
            self.layout_.append(("onehot", [column]))
        return ColumnTransformer(blocks, sparse_threshold=0.0, remainder="drop")

    # --------------------------------------------------------------------------- naming

    def _name_outputs(self) -> None:
        names: list[str] = []
        owners: list[str] = []
        fitted_blocks = self.transformer_.transformers_[:len(self.layout_)]  # no remainder
        for (kind, columns), (_, fitted, _) in zip(self.layout_, fitted_blocks, strict=True):
            if kind == "continuous":
                names += columns
                owners += columns
            elif kind == "indicator":
                names += [indicator_name(c) for c in columns]
                owners += columns
            else:
                encoder = fitted.named_steps["onehot"]
                labels = [str(v) for v in encoder.categories_[0]]
                names += [f"{columns[0]}_{v}" for v in labels]
                owners += [columns[0]] * len(labels)
        self._set_outputs(names, owners)

    # ------------------------------------------------------------------------- transform

    def _output(self, prepared: pd.DataFrame) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            out = self.transformer_.transform(prepared)
        return np.ascontiguousarray(out, dtype=np.float64)

    def transform(self, X: Any) -> np.ndarray:
        """Featurize rows: a dense float64 array, one column per engineered feature."""
        if not hasattr(self, "transformer_"):
            raise NotFittedError("OnnxCompatibleFeaturizer is not fitted yet; call fit first.")
        X = self._frame(X)
        return self._output(self._prepared(X))


def make_onnx_featurizer(profile: DataProfile, settings: TabularFeaturizationSettings | None,
                         *, scale: bool, task: Task | TaskType | str,
                         seed: int = 0) -> OnnxCompatibleFeaturizer:
    """The ONNX-compatible ``datatransformer`` step, built from the ONNX plan of
    :func:`~cirrusml.featurize.plan_featurization`.

    Like :func:`~cirrusml.featurize.make_featurizer` (``settings`` ``None``: those the profile
    was made with; ``column_name_and_types`` override the profile's purposes), but every learner
    gets the same dense float features: there are no native categories. ``hash_one_hot_encoder``
    and ``tf_idf`` parameters have nothing to apply to and are ignored. Raises ``DataError``
    before any training for settings that cannot apply.
    """
    as_task(task)  # an unknown task fails here, not at fit
    plan = plan_featurization(profile, settings, scale=scale, onnx=True, task=task)
    return OnnxCompatibleFeaturizer(**plan.featurizer_params(), task=task, seed=seed)
