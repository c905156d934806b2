"""The featurization plan: what happens to each raw column, decided before any row is fitted.

:func:`plan_featurization` is pure. From the column profile, the featurization settings, what the
learner needs (native categories, scaling) and the ONNX flag, it decides per raw column its
purpose, its treatment, its chain of transformers, the rule that names its outputs, and whether it
is dropped and why. It reads no rows.

Who calls what
--------------
* :func:`~cirrusml.featurize.make_featurizer` and :func:`~cirrusml.featurize.make_onnx_featurizer`
  plan once, so that settings that cannot apply fail before any training, and build their
  featurizer from the plan (:meth:`FeaturizationPlan.featurizer_params`).
* At fit, :class:`~cirrusml.featurize.AutoFeaturizer` and
  :class:`~cirrusml.featurize.OnnxCompatibleFeaturizer` plan again with :func:`plan_columns` from
  their own parameters (a column that was not profiled beforehand is typed on the training rows,
  and ``CatTargetEncoder`` needs a target), fit the parts the plan names, then record what only
  the rows can tell with :meth:`FeaturizationPlan.fitted`: missing-value indicators, columns
  empty in the fold, the text vectorizers that found words, whether anything was scaled.
* :func:`~cirrusml.featurize.featurization_summary` is the fitted plan plus the featurizer's
  ``feature_map_`` (how many outputs each raw column has).

The rules
---------
Treatments (:attr:`ColumnPlan.treatment`): ``dropped``; ``off`` (featurization off: the column is
used as is); ``numeric``; ``datetime``; the categorical encodings ``native``, ``onehot``,
``ordinal``, ``target`` and ``hash``; ``text``.

* ``Hashes``, ``Ignore`` and ``AllNan`` columns are dropped.
* Encoders are tried in order and the first that is not blocked is used (``NativeCategory`` is
  blocked with ``LabelEncoder``; ``CatTargetEncoder`` also needs a target at fit):

  - ``Categorical``: ``NativeCategory`` (when the learner takes categories), ``OneHotEncoder``,
    ``LabelEncoder``, ``CatTargetEncoder``, ``HashOneHotEncoder``;
  - ``CategoricalHash``: ``CatTargetEncoder``, ``HashOneHotEncoder``, ``LabelEncoder``;
  - a column named in ``transformer_params.hash_one_hot_encoder`` tries ``HashOneHotEncoder``
    first;
  - ``Text``: ``TfIdf``, ``CountVectorizer``.

  With none left the column is dropped. Native categories need a dense output: when text or
  hashed features are planned, categorical columns are planned again without them.
* ONNX-compatible plans use only parts that convert: categorical and high-cardinality columns are
  one-hot encoded over their most frequent categories (``LabelEncoder`` codes when
  ``OneHotEncoder`` is blocked, dropped when both are), dates become one number (seconds since
  the epoch), text is dropped and ``ffill`` is refused.
* Missing values: the column's ``transformer_params.imputer`` strategy, else the mean (Numeric),
  the median date (DateTime), empty text (Text) or the most frequent category.
* Scaling (the learner's ``scale``) applies to numbers, dates, ordinal codes and target
  encodings, and to every column when featurization is off; one-hot, hashed, text and native
  outputs are left as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cirrusml.exceptions import DataError
from cirrusml.featurize._profile import (
    DROPPED_PURPOSES,
    DataProfile,
    FeaturizationOptions,
    check_named_columns,
    featurization_options,
    is_numeric_strategy,
)
from cirrusml.spec import BlockedTransformers, FeatureType, TabularFeaturizationSettings, TaskType
from cirrusml.tasks import Task, as_task

__all__ = [
    "ColumnPlan",
    "FeaturizationPlan",
    "ONNX_MAX_CATEGORIES",
    "UNUSED_TRANSFORMERS",
    "check_featurization",
    "indicator_name",
    "plan_columns",
    "plan_featurization",
    "quote_columns",
]

#: Widest ONNX-compatible one-hot encoding of one column: its most frequent training categories.
ONNX_MAX_CATEGORIES = 50
#: Azure transformers cirrusml never uses: blocking them changes nothing.
UNUSED_TRANSFORMERS = ("TextTargetEncoder", "WoETargetEncoder", "WordEmbedding", "NaiveBayes")

_NUMERIC = FeatureType.NUMERIC.value
_CATEGORICAL = FeatureType.CATEGORICAL.value
_CATEGORICAL_HASH = FeatureType.CATEGORICAL_HASH.value
_DATETIME = FeatureType.DATE_TIME.value
_TEXT = FeatureType.TEXT.value

#: Why a column of a dropped purpose is dropped.
_DROP_REASONS = {
    FeatureType.HASHES.value: "dropped: id-like (nearly every value unique)",
    FeatureType.IGNORE.value: "dropped: the same value in every row",
    FeatureType.ALL_NAN.value: "dropped: every value is missing",
}
#: Imputation strategy -> the transformer name the summary shows.
IMPUTER_NAMES = {"mean": "MeanImputer", "median": "MedianImputer",
                 "most_frequent": "ModeImputer", "constant": "ConstantImputer",
                 "ffill": "ForwardFillImputer"}
#: Categorical encoder -> treatment.
_TREATMENTS = {"NativeCategory": "native", "OneHotEncoder": "onehot", "LabelEncoder": "ordinal",
               "CatTargetEncoder": "target", "HashOneHotEncoder": "hash",
               "TfIdf": "text", "CountVectorizer": "text"}
#: The groups of :attr:`FeaturizationPlan.groups`, in the automatic featurizer's order.
GROUPS = ("numeric", "datetime", "native", "onehot", "ordinal", "target", "hash", "text")
#: Treatments whose outputs are standard-scaled when the learner asks for scaling.
_SCALED = frozenset({"off", "numeric", "datetime", "ordinal", "target"})
#: How each treatment names its outputs (``{column}`` is the raw column).
NAMING = {
    "off": "{column}",
    "numeric": "{column}",
    "datetime": "{column}_{part}",
    "native": "{column}",
    "onehot": "{column}_{category}",
    "ordinal": "{column}",
    "target": "{column}_CatTargetEncoder, or {column}_CatTargetEncoder_{class} (multiclass)",
    "hash": "{column}_hash_{bucket}",
    "text": "{column}_{tfidf|count}_{word|char}_{term}",
    "dropped": "",
}


def quote_columns(columns: Iterable[Any]) -> str:
    """``'a', 'b'``: column names for messages."""
    return ", ".join(f"'{c}'" for c in columns)


def indicator_name(column: str) -> str:
    """The name of ``column``'s missing-value indicator."""
    return f"{column}_WASNULL"


# ------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class ColumnPlan:
    """What happens to one raw column.

    ``purpose`` is the type reported (``Numeric`` for every column when featurization is off);
    ``treatment`` one of the module's treatments; ``encoder`` the Azure transformer that encodes
    it (for dates, the date transformer); ``imputer``/``fill_value`` how missing values are
    filled; ``scaled`` whether its outputs are standard-scaled; ``naming`` the rule that names its
    outputs; ``notes`` why it is dropped or which encoder replaced a blocked one. Set at fit:
    ``marked`` (it gets a missing-value indicator) and ``steps`` (the encoder's fitted steps,
    when they are more than the encoder's name).
    """

    name: str
    purpose: str
    treatment: str
    encoder: str | None = None
    imputer: str | None = None
    fill_value: Any = None
    scaled: bool = False
    naming: str = ""
    notes: tuple[str, ...] = ()
    marked: bool = False
    steps: tuple[str, ...] | None = None

    @property
    def dropped(self) -> bool:
        return self.treatment == "dropped"

    @property
    def input_kind(self) -> str | None:
        """How an ONNX-compatible featurizer reads the column: ``numeric``, ``datetime`` or
        ``categorical`` (``None`` when dropped)."""
        if self.dropped:
            return None
        if self.treatment in ("off", "numeric"):
            return "numeric"
        return "datetime" if self.treatment == "datetime" else "categorical"

    def transformations(self) -> list[str]:
        """The chain of transformers, as the featurization summary lists it."""
        if self.dropped:
            return []
        scaler = ["StandardScaler"] if self.scaled else []
        if self.treatment == "off":
            return scaler
        steps = [IMPUTER_NAMES[str(self.imputer)]]
        if self.marked:
            steps.append("ImputationMarker")
        if self.steps is not None:
            steps += self.steps
        elif self.encoder is not None:
            steps.append(self.encoder)
        return steps + scaler


@dataclass(frozen=True)
class FeaturizationPlan:
    """What happens to every raw column (in the data's order), and to the featurization.

    ``purposes`` (column -> ``FeatureType`` value) and ``options`` are what the plan was made
    from; ``native_categorical``, ``scale`` and ``onnx`` what it was made for; ``notes`` remarks
    about the whole featurization; ``datetime_formats`` the formats profiling found for dates
    written as text.
    """

    columns: tuple[ColumnPlan, ...]
    purposes: Mapping[str, str] = field(default_factory=dict)
    options: FeaturizationOptions = field(default_factory=FeaturizationOptions)
    native_categorical: bool = False
    scale: bool = False
    onnx: bool = False
    notes: tuple[str, ...] = ()
    datetime_formats: Mapping[str, str] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.options.mode

    def column(self, name: str) -> ColumnPlan:
        for plan in self.columns:
            if plan.name == name:
                return plan
        raise KeyError(name)

    @property
    def kept(self) -> list[str]:
        """The columns that give features."""
        return [c.name for c in self.columns if not c.dropped]

    @property
    def dropped(self) -> dict[str, str]:
        """Dropped column -> why (its last note)."""
        return {c.name: (c.notes[-1] if c.notes else "") for c in self.columns if c.dropped}

    @property
    def groups(self) -> dict[str, list[str]]:
        """Treatment -> its columns: ``{"off": [...]}`` with featurization off, else every group
        of :data:`GROUPS` (empty ones included)."""
        if self.mode == "off":
            return {"off": [c.name for c in self.columns]}
        groups: dict[str, list[str]] = {g: [] for g in GROUPS}
        for c in self.columns:
            if c.treatment in groups:
                groups[c.treatment].append(c.name)
        return groups

    @property
    def sparse(self) -> bool:
        """Text or hashed features are planned (the automatic featurizer's output is CSR)."""
        return any(c.treatment in ("text", "hash") for c in self.columns)

    def featurizer_params(self) -> dict[str, Any]:
        """The parameters of the featurizer that carries out this plan."""
        options = self.options
        params: dict[str, Any] = {
            "purposes": dict(self.purposes),
            "mode": options.mode,
            "blocked_transformers": tuple(options.blocked),
            "imputers": {c: dict(v) for c, v in options.imputers.items()} or None,
            "datetime_formats": dict(self.datetime_formats) or None,
            "scale": self.scale,
        }
        if not self.onnx:
            params.update(
                hash_bits=dict(options.hash_bits) or None,
                tfidf_params={c: dict(v) for c, v in options.tfidf_params.items()} or None,
                native_categorical=self.native_categorical,
            )
        return params

    def check_kept(self) -> None:
        """Raise ``DataError`` when every column is dropped."""
        if self.kept:
            return
        reasons = "; ".join(f"'{name}': {why}" for name, why in self.dropped.items() if why)
        raise DataError(f"featurization left no features: every column was dropped ({reasons}).")

    def fitted(self, *, marked: Iterable[str] = (), dropped: Mapping[str, str] | None = None,
               steps: Mapping[str, Iterable[str]] | None = None,
               notes: Mapping[str, Iterable[str]] | None = None,
               scaled: bool = True) -> FeaturizationPlan:
        """This plan with what fitting found: ``marked`` columns get an indicator; ``dropped``
        columns (-> why) had nothing to learn from; ``steps`` replace an encoder's name by its
        fitted steps; ``notes`` are added per column; ``scaled=False``: nothing was scaled."""
        marked, dropped = set(marked), dict(dropped or {})
        steps, notes = dict(steps or {}), dict(notes or {})
        columns = []
        for c in self.columns:
            change: dict[str, Any] = {"marked": c.name in marked}
            extra = tuple(notes.get(c.name, ()))
            if c.name in dropped:
                change.update(treatment="dropped", naming="", scaled=False, marked=False)
                extra += (dropped[c.name],)
            if extra:
                change["notes"] = c.notes + extra
            if c.name in steps:
                change["steps"] = tuple(steps[c.name])
            if not scaled:
                change["scaled"] = False
            columns.append(dataclasses.replace(c, **change))
        return dataclasses.replace(self, columns=tuple(columns))


# ------------------------------------------------------------------------------- checks


def _is_numeric_dtype(dtype: Any) -> bool:
    try:
        dtype = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return False
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def check_featurization(purposes: Mapping[str, str], dtypes: Mapping[str, Any], *, mode: str,
                        task: Task | TaskType | str | None,
                        imputers: Mapping[str, Mapping[str, Any]] | None = None,
                        hash_bits: Mapping[str, int] | None = None,
                        tfidf_params: Mapping[str, Any] | None = None) -> None:
    """Raise ``DataError`` for settings that cannot apply to these columns.

    Checked: mode ``off`` with non-numeric columns; imputer strategies that do not fit the
    column's purpose (mean or median of categories or text; ``ffill`` unless the task's rows are
    ordered in time, and then only for numbers); hashing asked for a non-categorical column;
    TF-IDF asked for a non-text column. ``task`` ``None``: a task whose rows are not ordered.
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
    resolved = as_task(task) if task is not None else None
    time_ordered = resolved is not None and resolved.time_ordered
    for column, custom in (imputers or {}).items():
        purpose = purposes.get(column)
        strategy = custom["strategy"]
        if strategy == "ffill" and time_ordered and purpose not in (_NUMERIC, None) \
                and purpose not in DROPPED_PURPOSES:
            raise DataError(
                f"transformer_params.imputer: strategy 'ffill' for '{column}' applies to numeric "
                f"columns, but it is {purpose}; use most_frequent or constant."
            )
        if strategy == "ffill" and not time_ordered:
            job = f"a {resolved.name} job" if resolved is not None else "this job"
            raise DataError(
                f"transformer_params.imputer: strategy 'ffill' for '{column}' fills along time "
                f"and applies to forecasting jobs only; for {job} use mean, median, "
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
            fill: Any = custom.get("fill_value")
            try:
                float(fill)
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


# ------------------------------------------------------------------------------ planning


def _encoder_chain(column: str, purpose: str, options: FeaturizationOptions,
                   native_ok: bool) -> list[str]:
    if purpose == _TEXT:
        return ["TfIdf", "CountVectorizer"]
    chain = ["HashOneHotEncoder"] if column in options.hash_bits else []
    if purpose == _CATEGORICAL:
        chain += (["NativeCategory"] if native_ok else []) + [
            "OneHotEncoder", "LabelEncoder", "CatTargetEncoder", "HashOneHotEncoder"]
    else:
        chain += ["CatTargetEncoder", "HashOneHotEncoder", "LabelEncoder"]
    return list(dict.fromkeys(chain))


def _choose(chain: list[str], blocked: set[str], has_target: bool) -> tuple[str | None, list[str]]:
    """The first usable encoder of ``chain``, and notes on any fallback."""
    skipped: list[str] = []
    for option in chain:
        blocker = "LabelEncoder" if option == "NativeCategory" else option
        if blocker in blocked:
            how = "blocked" if blocker == option else "blocked with LabelEncoder"
            skipped.append(f"{option} ({how})")
            continue
        if option == "CatTargetEncoder" and not has_target:
            skipped.append("CatTargetEncoder (fitted without a target)")
            continue
        notes = [f"{', '.join(skipped)} skipped: {option} used instead"] if skipped else []
        return option, notes
    return None, [f"dropped: every encoder that fits it is unavailable ({', '.join(skipped)})"]


def _choose_onnx(purpose: str, blocked: set[str],
                 max_categories: int) -> tuple[str | None, list[str]]:
    notes = []
    if purpose == _CATEGORICAL_HASH:
        notes.append(f"high cardinality: one-hot over the {max_categories} most frequent "
                     "categories instead of hashing (ONNX-compatible)")
    if "OneHotEncoder" not in blocked:
        return "OneHotEncoder", notes
    if "LabelEncoder" not in blocked:
        return "LabelEncoder", notes + ["OneHotEncoder (blocked) skipped: LabelEncoder used "
                                        "instead"]
    return None, notes + ["dropped: OneHotEncoder and LabelEncoder are both blocked and no "
                          "other encoder is ONNX-compatible"]


def _imputer(column: str, purpose: str, options: FeaturizationOptions) -> tuple[str, Any]:
    custom = options.imputers.get(column, {})
    default = {_NUMERIC: "mean", _DATETIME: "median", _TEXT: "constant"}.get(purpose,
                                                                            "most_frequent")
    return str(custom.get("strategy", default)), custom.get("fill_value")


def _plan_column(column: str, purpose: str, options: FeaturizationOptions, blocked: set[str], *,
                 native_ok: bool, scale: bool, onnx: bool, has_target: bool,
                 max_categories: int) -> ColumnPlan:
    if options.mode == "off":
        return ColumnPlan(column, _NUMERIC, "off", scaled=scale, naming=NAMING["off"],
                          notes=("featurization is off: used as is",))
    if purpose in DROPPED_PURPOSES:
        return ColumnPlan(column, purpose, "dropped", notes=(_DROP_REASONS[purpose],))
    if onnx and purpose == _TEXT:
        return ColumnPlan(column, purpose, "dropped", notes=(
            "dropped: text features (TF-IDF, counts) have no ONNX-compatible form",))
    notes: list[str] = []
    encoder: str | None = None
    if purpose == _NUMERIC:
        treatment = "numeric"
    elif purpose == _DATETIME:
        treatment = "datetime"
        encoder = "SecondsSinceEpoch" if onnx else "DateTimeFeaturesTransformer"
        if onnx:
            notes.append("one feature, seconds since 1970-01-01: calendar parts have no "
                         "ONNX-compatible form")
    else:
        if onnx:
            encoder, notes = _choose_onnx(purpose, blocked, max_categories)
        else:
            chain = _encoder_chain(column, purpose, options, native_ok)
            encoder, notes = _choose(chain, blocked, has_target)
        if encoder is None:
            return ColumnPlan(column, purpose, "dropped", notes=tuple(notes))
        treatment = _TREATMENTS[encoder]
    imputer, fill = _imputer(column, purpose, options)
    naming = "{column}" if onnx and treatment == "datetime" else NAMING[treatment]
    return ColumnPlan(column, purpose, treatment, encoder=encoder, imputer=imputer,
                      fill_value=fill, scaled=scale and treatment in _SCALED, naming=naming,
                      notes=tuple(notes))


def plan_columns(purposes: Mapping[str, str], options: FeaturizationOptions, *,
                 native_categorical: bool = False, scale: bool = False, onnx: bool = False,
                 has_target: bool = True, datetime_formats: Mapping[str, str] | None = None,
                 max_categories: int = ONNX_MAX_CATEGORIES) -> FeaturizationPlan:
    """The plan for columns of known ``purposes`` (column -> ``FeatureType`` value, in the data's
    order) under ``options``; ``has_target``: a target is given at fit (target encoding).

    Raises ``DataError`` when an ONNX-compatible plan is asked to forward-fill.
    """
    if onnx and options.mode != "off":
        ffill = [c for c, v in options.imputers.items()
                 if v.get("strategy") == "ffill" and c in purposes]
        if ffill:
            raise DataError(f"transformer_params.imputer: strategy 'ffill' "
                            f"({quote_columns(ffill)}) is for forecasting only.")
    blocked = {BlockedTransformers.parse(b, field="blocked_transformers").value
               for b in options.blocked}
    notes: list[str] = []
    if options.mode != "off" and not onnx:
        notes += [f"{name} is blocked; cirrusml does not use it, so this changes nothing"
                  for name in UNUSED_TRANSFORMERS if name in blocked]

    def attempt(native_ok: bool) -> tuple[ColumnPlan, ...]:
        return tuple(_plan_column(c, p, options, blocked, native_ok=native_ok, scale=scale,
                                  onnx=onnx, has_target=has_target, max_categories=max_categories)
                     for c, p in purposes.items())

    columns = attempt(native_categorical and not onnx)
    treatments = {c.treatment for c in columns}
    if "native" in treatments and treatments & {"text", "hash"}:
        columns = attempt(False)
        notes.append("the output is sparse (text or hashed features), so categorical columns "
                     "are encoded instead of kept as native categories")
    return FeaturizationPlan(columns=columns, purposes=dict(purposes), options=options,
                             native_categorical=native_categorical, scale=scale, onnx=onnx,
                             notes=tuple(notes), datetime_formats=dict(datetime_formats or {}))


def plan_featurization(profile: DataProfile, settings: TabularFeaturizationSettings | None = None,
                       *, native_categorical: bool = False, scale: bool = False,
                       onnx: bool = False,
                       task: Task | TaskType | str | None = None) -> FeaturizationPlan:
    """The featurization of a job's columns for one learner.

    ``settings`` (``None``: those the profile was made with) give the mode, the blocked
    transformers and the per-column parameters; their ``column_name_and_types`` override the
    profile's purposes. ``native_categorical`` and ``scale`` are the learner's needs; ``onnx``
    plans only ONNX-convertible parts (``hash_one_hot_encoder`` and ``tf_idf`` parameters then
    have nothing to apply to and are ignored); ``task`` decides whether ``ffill`` may apply.
    Raises ``DataError`` for settings that cannot apply to these columns.
    """
    options = featurization_options(settings) if settings is not None else profile.options
    check_named_columns(options, profile.columns)
    purposes = profile.purposes()
    purposes.update(options.column_types)
    dtypes = {name: col.dtype for name, col in profile.columns.items()}
    check_featurization(purposes, dtypes, mode=options.mode, task=task,
                        imputers=options.imputers,
                        hash_bits=None if onnx else options.hash_bits,
                        tfidf_params=None if onnx else options.tfidf_params)
    return plan_columns(purposes, options, native_categorical=native_categorical, scale=scale,
                        onnx=onnx, datetime_formats=profile.datetime_formats())
