"""Settings blocks of an AutoML job: ``limits``, ``training``, ``featurization``, ``forecasting``.

Each block stores exactly the values that were set (``None`` = not set), as Azure's SDK does, so
that a job dumped to YAML loads back equal. The values a job runs with when a key is not set are
resolved by :func:`resolved_limits` and friends, which also document the defaults we chose where
Azure's sources disagree.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pandas.tseries.frequencies import to_offset
from pydantic import AliasChoices, Field, field_validator

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec._base import (
    Boolean,
    ColumnNames,
    Integer,
    Number,
    SpecModel,
    String,
    StringList,
    unwrap_mode,
)
from cirrusml.spec._enums import (
    AzureEnum,
    BlockedTransformers,
    ClassificationModels,
    FeatureLags,
    FeatureType,
    FeaturizationMode,
    ForecastingModels,
    RegressionModels,
    ShortSeriesHandlingConfiguration,
    StackMetaLearnerType,
    TabularTrainingMode,
    TargetAggregationFunction,
    TransformerParameterKeys,
    UseStl,
)

# --------------------------------------------------------------------------------------- limits

#: Defaults used when a limit is not set. Azure's sources disagree on three of them (reference
#: §3 and §18); we follow the SDK docstring and the v2 how-to guide, which agree with each other:
#: timeout 6 days, trial timeout 1 month. ``max_cores_per_trial`` follows the YAML reference
#: (-1, all cores), which suits a local machine: all the cores a trial's share allows.
LIMIT_DEFAULTS: dict[str, Any] = {
    "enable_early_termination": True,
    "exit_score": None,
    "max_concurrent_trials": 1,
    "max_cores_per_trial": -1,
    "max_nodes": None,
    "max_trials": 1000,
    "timeout_minutes": 8640.0,
    "trial_timeout_minutes": 43200.0,
}


class TabularLimitSettings(SpecModel):
    """``limits:`` — when the search stops (``set_limits``)."""

    _block: ClassVar[str] = "limits"

    enable_early_termination: Boolean | None = None
    exit_score: Number | None = None
    max_concurrent_trials: Integer | None = None
    max_cores_per_trial: Integer | None = None
    max_nodes: Integer | None = None
    max_trials: Integer | None = None
    timeout_minutes: Number | None = None
    trial_timeout_minutes: Number | None = None

    @field_validator("max_concurrent_trials", "max_trials", "max_nodes")
    @classmethod
    def _at_least_one(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be 1 or more, got {value}")
        return value

    @field_validator("max_cores_per_trial")
    @classmethod
    def _cores(cls, value: int | None) -> int | None:
        if value is not None and value != -1 and value < 1:
            raise ValueError(f"must be -1 (all cores) or 1 or more, got {value}")
        return value

    @field_validator("timeout_minutes", "trial_timeout_minutes")
    @classmethod
    def _positive_minutes(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(f"must be a positive number of minutes, got {value:g}")
        return value

    @field_validator("exit_score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return value


@dataclass(frozen=True)
class ResolvedLimits:
    """Limits with every default filled in: what a job actually runs with."""

    enable_early_termination: bool
    exit_score: float | None
    max_concurrent_trials: int
    max_cores_per_trial: int
    max_nodes: int | None
    max_trials: int
    timeout_minutes: float
    trial_timeout_minutes: float


def resolved_limits(limits: TabularLimitSettings | None) -> ResolvedLimits:
    values = dict(LIMIT_DEFAULTS)
    if limits is not None:
        values.update({k: v for k, v in limits._to_yaml_dict().items() if v is not None})
    return ResolvedLimits(**values)


# ------------------------------------------------------------------------------------- training


class StackEnsembleSettings(SpecModel):
    """``training.stack_ensemble_settings``.

    The meta-learner's keyword arguments are accepted under both spellings: YAML's
    ``stack_meta_learner_kwargs`` and the SDK's ``stack_meta_learner_k_wargs``.
    ``stack_meta_learner_train_percentage`` defaults to 0.2 when the block is given, as in
    Azure's SDK and YAML loader (both store 0.2, and its ``job.dump`` writes it).
    """

    _block: ClassVar[str] = "training.stack_ensemble_settings"

    stack_meta_learner_kwargs: dict[str, Any] | None = Field(
        default=None,
        validation_alias=AliasChoices("stack_meta_learner_kwargs", "stack_meta_learner_k_wargs"),
    )
    stack_meta_learner_train_percentage: Number | None = 0.2
    stack_meta_learner_type: StackMetaLearnerType | None = None

    @field_validator("stack_meta_learner_type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return None if value is None else StackMetaLearnerType.parse(value)

    @field_validator("stack_meta_learner_train_percentage")
    @classmethod
    def _fraction(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise ValueError(f"must be between 0 and 1 (exclusive), got {value}")
        return value

    @property
    def stack_meta_learner_k_wargs(self) -> dict[str, Any] | None:
        """The SDK's spelling of :attr:`stack_meta_learner_kwargs`."""
        return self.stack_meta_learner_kwargs


class TrainingSettings(SpecModel):
    """``training:`` — which learners to try and what to build at the end (``set_training``)."""

    _block: ClassVar[str] = "training"
    _models: ClassVar[type[AzureEnum]] = ClassificationModels

    enable_onnx_compatible_models: Boolean | None = None
    enable_dnn_training: Boolean | None = None
    enable_model_explainability: Boolean | None = None
    enable_vote_ensemble: Boolean | None = None
    enable_stack_ensemble: Boolean | None = None
    stack_ensemble_settings: StackEnsembleSettings | None = None
    ensemble_model_download_timeout: Number | None = Field(
        default=None,
        alias="ensemble_model_download_timeout_minutes",
        validation_alias=AliasChoices(
            "ensemble_model_download_timeout_minutes", "ensemble_model_download_timeout"
        ),
    )
    allowed_training_algorithms: list[Any] | None = None
    blocked_training_algorithms: list[Any] | None = None
    training_mode: TabularTrainingMode | None = None

    @field_validator("stack_ensemble_settings", mode="before")
    @classmethod
    def _stack(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return StackEnsembleSettings(**value)
        return value

    @field_validator("training_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return None if value is None else TabularTrainingMode.parse(value)

    @field_validator("allowed_training_algorithms", "blocked_training_algorithms", mode="before")
    @classmethod
    def _algorithms(cls, value: Any, info: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (str, AzureEnum)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a list of algorithm names, got {value!r}")
        parsed = []
        for name in value:
            try:
                parsed.append(cls._models.parse(name))
            except InvalidSpecError as err:
                for other in (ClassificationModels, RegressionModels, ForecastingModels):
                    if other is not cls._models and _parses(other, name):
                        task = other.__name__.replace("Models", "").lower()
                        raise ValueError(
                            f"'{name}' is a {task} algorithm, not one this task can use; "
                            f"valid values are {', '.join(m.yaml for m in cls._models)}"
                        ) from None
                raise err
        return parsed

    @field_validator("ensemble_model_download_timeout")
    @classmethod
    def _timeout(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(f"must be a positive number of minutes, got {value:g}")
        return value


def _parses(enum: type[AzureEnum], name: Any) -> bool:
    try:
        enum.parse(name)
    except InvalidSpecError:
        return False
    return True


class ClassificationTrainingSettings(TrainingSettings):
    _models: ClassVar[type[AzureEnum]] = ClassificationModels


class RegressionTrainingSettings(TrainingSettings):
    _models: ClassVar[type[AzureEnum]] = RegressionModels


class ForecastingTrainingSettings(TrainingSettings):
    _models: ClassVar[type[AzureEnum]] = ForecastingModels


# -------------------------------------------------------------------------------- featurization

IMPUTER_STRATEGIES = ("mean", "median", "most_frequent", "constant", "ffill")


class ColumnTransformer(SpecModel):
    """One entry of ``transformer_params``: the columns it applies to and its parameters."""

    _block: ClassVar[str] = "featurization.transformer_params"

    fields: StringList
    parameters: dict[str, Any] | None = None


class TabularFeaturizationSettings(SpecModel):
    """``featurization:`` — how raw columns become features (``set_featurization``)."""

    _block: ClassVar[str] = "featurization"

    mode: FeaturizationMode | None = None
    blocked_transformers: list[BlockedTransformers] | None = None
    column_name_and_types: dict[str, FeatureType] | None = None
    transformer_params: dict[TransformerParameterKeys, list[ColumnTransformer]] | None = None
    dataset_language: String | None = None
    enable_dnn_featurization: Boolean | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if value is False:  # YAML 1.1 reads a bare `off` as false
            return FeaturizationMode.OFF
        return None if value is None else FeaturizationMode.parse(value)

    @field_validator("blocked_transformers", mode="before")
    @classmethod
    def _blocked(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a list of transformer names, got {value!r}")
        return [BlockedTransformers.parse(v) for v in value]

    @field_validator("column_name_and_types", mode="before")
    @classmethod
    def _purposes(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"must map column names to types, got {value!r}")
        return {str(k): FeatureType.parse(v) for k, v in value.items()}

    @field_validator("transformer_params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"must map imputer/tf_idf/hash_one_hot_encoder to lists, got {value!r}")
        out: dict[TransformerParameterKeys, list[ColumnTransformer]] = {}
        for key, entries in value.items():
            kind = TransformerParameterKeys.parse(key)
            if isinstance(entries, (ColumnTransformer, dict)):
                entries = [entries]
            if not isinstance(entries, (list, tuple)):
                raise ValueError(f"'{key}' must be a list of {{fields, parameters}} entries")
            parsed = [e if isinstance(e, ColumnTransformer) else ColumnTransformer(**e) for e in entries]
            for entry in parsed:
                _check_transformer_parameters(kind, entry)
            out[kind] = parsed
        return out


def _check_transformer_parameters(kind: TransformerParameterKeys, entry: ColumnTransformer) -> None:
    params = entry.parameters or {}
    if kind is TransformerParameterKeys.IMPUTER:
        strategy = params.get("strategy")
        if strategy is None:
            raise ValueError(f"the imputer for {entry.fields} needs parameters.strategy")
        if str(strategy) not in IMPUTER_STRATEGIES:
            raise ValueError(
                f"imputer strategy '{strategy}' for {entry.fields} is not one of "
                f"{', '.join(IMPUTER_STRATEGIES)}"
            )
        if strategy == "constant" and "fill_value" not in params:
            raise ValueError(f"the constant imputer for {entry.fields} needs parameters.fill_value")
        unknown = set(params) - {"strategy", "fill_value"}
        if unknown:
            raise ValueError(f"unknown imputer parameter(s) {sorted(unknown)}; use strategy, fill_value")
    elif kind is TransformerParameterKeys.HASH_ONE_HOT_ENCODER:
        bits = params.get("number_of_bits")
        if isinstance(bits, float) and bits.is_integer():
            # Azure's job.dump writes the number as a float (3.0); it means the whole number.
            bits = int(bits)
            entry.parameters = {**params, "number_of_bits": bits}
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 24:
            raise ValueError(
                f"hash_one_hot_encoder for {entry.fields} needs parameters.number_of_bits, "
                f"a whole number from 1 to 24 (got {bits!r})"
            )


# ---------------------------------------------------------------------------------- forecasting

Auto = Literal["auto"]


def _auto_or_int(value: Any, *, minimum: int, what: str) -> Any:
    value = unwrap_mode(value)
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() == "auto":
            return "auto"
        raise ValueError(f"must be 'auto' or a whole number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be 'auto' or a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be {minimum} or more, got {value}")
    return value


class ForecastingSettings(SpecModel):
    """``forecasting:`` — the time axis and the look-back features (``set_forecast_settings``).

    Every key of Azure's ``ForecastingSettings``, in the spellings of its SDK and YAML loader.
    Values may also be given in the wire forms of Azure's REST body: ``{mode: Auto}`` or
    ``{mode: Custom, value: n}`` for ``forecast_horizon``, ``seasonality`` and
    ``target_rolling_window_size``, and ``{mode: Custom, values: [...]}`` for ``target_lags``.
    They are stored, and written back to YAML, in the plain form (``14``, ``auto``, ``[1, 2]``),
    which is what Azure's YAML loader takes. Lists of columns may be a single name or Azure's
    text form of a list (``"['store']"``, as its ``job.dump`` writes them).

    Checks that span several keys or the job (``time_column_name`` is required,
    ``target_aggregate_function`` needs ``frequency``) run in ``ForecastingJob.validate_spec``,
    so the settings can be built up over several ``set_forecast_settings`` calls.
    """

    _block: ClassVar[str] = "forecasting"

    time_column_name: String | None = None
    forecast_horizon: Integer | Auto | None = None
    time_series_id_column_names: ColumnNames | None = None
    frequency: String | None = None
    target_aggregate_function: TargetAggregationFunction | None = None
    target_lags: Integer | list[int] | Auto | None = None
    feature_lags: FeatureLags | None = None
    target_rolling_window_size: Integer | Auto | None = None
    seasonality: Integer | Auto | None = None
    use_stl: UseStl | None = None
    short_series_handling_config: ShortSeriesHandlingConfiguration | None = None
    country_or_region_for_holidays: String | None = None
    #: ``auto`` is a cirrusml extension here: Azure's SDK and YAML loader take a whole number.
    cv_step_size: Integer | Auto | None = None
    features_unknown_at_forecast_time: ColumnNames | None = None

    @field_validator("forecast_horizon", "cv_step_size", "seasonality", mode="before")
    @classmethod
    def _auto_positive(cls, value: Any, info: Any) -> Any:
        return _auto_or_int(value, minimum=1, what=info.field_name)

    @field_validator("target_rolling_window_size", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        return _auto_or_int(value, minimum=2, what="target_rolling_window_size")

    @field_validator("target_lags", mode="before")
    @classmethod
    def _lags(cls, value: Any) -> Any:
        value = unwrap_mode(value, key="values")
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("must list at least one lag (or be 'auto'), got []")
            lags = []
            for lag in value:
                if isinstance(lag, float) and lag.is_integer():
                    lag = int(lag)
                if isinstance(lag, bool) or not isinstance(lag, int) or lag < 1:
                    raise ValueError(f"lags must be whole numbers of 1 or more, got {lag!r}")
                lags.append(lag)
            return lags
        return _auto_or_int(value, minimum=1, what="target_lags")

    @field_validator(
        "target_aggregate_function", "feature_lags", "use_stl", "short_series_handling_config",
        mode="before",
    )
    @classmethod
    def _enums(cls, value: Any, info: Any) -> Any:
        if value is None:
            return None
        enum = cls.model_fields[info.field_name].annotation.__args__[0]  # type: ignore[union-attr]
        try:
            return enum.parse(value)
        except InvalidSpecError as err:
            raise ValueError(err.message) from None

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            with warnings.catch_warnings():
                # pandas 2.2 deprecates Azure's upper-case aliases (H, T, S) but still reads them.
                warnings.simplefilter("ignore", FutureWarning)
                to_offset(value)
        except (ValueError, TypeError):
            raise ValueError(
                f"'{value}' is not a pandas offset alias; use one such as H, D, W-THU, MS or 15min"
            ) from None
        return value

    @field_validator("country_or_region_for_holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 2 and value.isascii() and value.isalpha()):
            raise ValueError(
                f"must be a two-letter ISO 3166 country or region code such as US or DE, "
                f"got {value!r}"
            )
        return value

    @field_validator("time_column_name")
    @classmethod
    def _time_column(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name the datetime column, got an empty string")
        return value
