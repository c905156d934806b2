"""AutoML job specifications: ``ClassificationJob``, ``RegressionJob``, ``ForecastingJob``.

They mirror ``azure.ai.ml.automl``: the same attribute names, the same ``set_*`` methods (a value
left as ``None`` keeps what was set before), the same YAML layout (``type: automl``). Our
extensions, documented in docs/job-spec.md: fractional ``timeout_minutes`` and
``trial_timeout_minutes``; ``training_data`` (and validation/test data) may be a CSV or Parquet
file (``type: uri_file``) or a pandas DataFrame; ``log_loss`` as a classification primary metric;
``seed``. For forecasting: the learners ``Theta`` and ``MSTL`` (``ForecastingModels``),
``cv_step_size: auto``, and ``use_stl: season_trend`` in YAML (written back as ``seasontrend``,
which Azure's loader reads). The loader also takes Azure's REST wire forms
(``{mode: Custom, value: 14}``) and the text lists Azure's ``job.dump`` writes (``"['store']"``).
"""

from __future__ import annotations

import builtins  # the field ``type`` shadows the builtin inside the job classes
import math
from typing import Any, ClassVar

import pandas as pd
from pydantic import Field, field_validator

from cirrusml.data._io import Input, Output, port_from_yaml
from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec._base import (
    ColumnNames,
    Integer,
    Number,
    SpecModel,
    String,
    StringMap,
    unwrap_mode,
)
from cirrusml.spec._dump import write_yaml
from cirrusml.spec._pipeline_bindings import (
    Binding,
    JobOutputs,
    current_context,
    register_node,
)
from cirrusml.spec._enums import (
    AzureEnum,
    ClassificationPrimaryMetrics,
    FeaturizationMode,
    ForecastingPrimaryMetrics,
    LogVerbosity,
    RegressionPrimaryMetrics,
    TargetAggregationFunction,
    TaskType,
    metric_report_name,
)
from cirrusml.spec._settings import (
    ClassificationTrainingSettings,
    ForecastingSettings,
    ForecastingTrainingSettings,
    RegressionTrainingSettings,
    TabularFeaturizationSettings,
    TabularLimitSettings,
    TrainingSettings,
)
from cirrusml.utils import suggestion

#: Range of each primary metric, to check ``exit_score`` (lower, upper).
_METRIC_RANGE: dict[str, tuple[float, float]] = {
    "AUC_weighted": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "norm_macro_recall": (0.0, 1.0),
    "average_precision_score_weighted": (0.0, 1.0),
    "precision_score_weighted": (0.0, 1.0),
    "log_loss": (0.0, math.inf),
    "spearman_correlation": (-1.0, 1.0),
    "normalized_root_mean_squared_error": (0.0, math.inf),
    "r2_score": (-1.0, 1.0),
    "normalized_mean_absolute_error": (0.0, math.inf),
}

_DATA_FIELDS = ("training_data", "validation_data", "test_data")
_DATA_TYPES = ("mltable", "uri_file", "uri_folder")

#: Attributes a returned job carries that are not part of its specification.
_OUTPUT_ONLY = ("status", "services", "creation_context", "id", "studio_url")


class JobService(SpecModel):
    """An endpoint of a job (``job.services["Studio"].endpoint``)."""

    endpoint: str | None = None
    job_service_type: str | None = None


class AutoMLTabular(SpecModel):
    """What classification, regression and forecasting jobs share."""

    task_type: ClassVar[TaskType] = TaskType.CLASSIFICATION
    _metrics: ClassVar[type[AzureEnum]] = ClassificationPrimaryMetrics
    _training_cls: ClassVar[type[TrainingSettings]] = ClassificationTrainingSettings
    #: Primary metric when the Python factory is called without one (YAML's default may differ).
    _sdk_default_metric: ClassVar[str] = "Accuracy"
    _yaml_default_metric: ClassVar[str] = "auc_weighted"

    schema_: String | None = Field(default=None, alias="$schema")
    type: String = "automl"
    task: String = "classification"
    name: String | None = None
    display_name: String | None = None
    description: String | None = None
    experiment_name: String | None = None
    compute: String | None = None
    tags: StringMap | None = None
    properties: StringMap | None = None
    log_verbosity: LogVerbosity | None = None
    primary_metric: Any = None
    target_column_name: String | None = None
    weight_column_name: String | None = None
    training_data: Any = None
    validation_data: Any = None
    test_data: Any = None
    validation_data_size: Number | None = None
    test_data_size: Number | None = None
    n_cross_validations: Any = None
    cv_split_column_names: ColumnNames | None = None
    limits: TabularLimitSettings | None = None
    training: TrainingSettings | None = None
    featurization: TabularFeaturizationSettings | None = None
    outputs: dict[str, Any] | None = None
    resources: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    queue_settings: dict[str, Any] | None = None
    services: dict[str, Any] | None = None
    environment_id: String | None = None
    environment_variables: StringMap | None = None
    seed: Integer | None = None

    # Set on jobs returned by the client; never written to YAML.
    status: str | None = Field(default=None, exclude=True)
    creation_context: dict[str, Any] | None = Field(default=None, exclude=True)
    id: str | None = Field(default=None, exclude=True)
    studio_url: str | None = Field(default=None, exclude=True)

    # ------------------------------------------------------------------ field validation

    @field_validator("task", mode="before")
    @classmethod
    def _task(cls, value: Any) -> Any:
        task = TaskType.parse(value)
        if task is not cls.task_type:
            raise ValueError(f"a {cls.__name__} has task {cls.task_type.yaml}, not {task.yaml}")
        return task.yaml

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if value != "automl":
            raise ValueError(f"must be 'automl' for an AutoML job, got {value!r}")
        return value

    @field_validator("primary_metric", mode="before")
    @classmethod
    def _metric(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, (str, AzureEnum)):
            raise ValueError(f"must be a metric name, got {value!r}")
        try:
            return cls._metrics.parse(value)
        except InvalidSpecError:
            valid = ", ".join(m.yaml for m in cls._metrics)
            raise ValueError(
                f"'{value}' is not a primary metric for {cls.task_type.yaml}; use one of {valid}"
                + _suggest(value, [m.yaml for m in cls._metrics])
            ) from None

    @field_validator("log_verbosity", mode="before")
    @classmethod
    def _verbosity(cls, value: Any) -> Any:
        return None if value is None else LogVerbosity.parse(value)

    @field_validator(*_DATA_FIELDS, mode="before")
    @classmethod
    def _data(cls, value: Any, info: Any) -> Any:
        if value is None or isinstance(value, pd.DataFrame):
            return value
        if isinstance(value, Binding) or (isinstance(value, str) and value.startswith("${{")):
            return value  # a pipeline binding; only a pipeline node may hold one
        port = port_from_yaml(value, Input, info.field_name)
        if port.type not in _DATA_TYPES:
            raise ValueError(
                f"must be data of type mltable (or uri_file / uri_folder), got type {port.type}"
            )
        if port.path is None:
            raise ValueError("needs a path")
        return port

    @field_validator("outputs", mode="before")
    @classmethod
    def _outputs(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"must map output names to outputs, got {value!r}")
        return {str(k): port_from_yaml(v, Output, f"outputs.{k}") for k, v in value.items()}

    @field_validator("outputs", mode="after")
    @classmethod
    def _outputs_map(cls, value: Any) -> Any:
        return None if value is None else JobOutputs(value)

    @field_validator("validation_data_size", "test_data_size")
    @classmethod
    def _fraction(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise ValueError(f"must be a fraction between 0 and 1 (exclusive), got {value:g}")
        return value

    @field_validator("n_cross_validations", mode="before")
    @classmethod
    def _folds(cls, value: Any) -> Any:
        value = unwrap_mode(value)  # Azure's wire form {mode: Auto} / {mode: Custom, value: n}
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip().lower() == "auto":
                return "auto"
            raise ValueError(
                f"must be 'auto' or a whole number of folds (2 or more), got {value!r}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(
                f"must be 'auto' or a whole number of folds (2 or more), got {value!r}")
        return value

    @field_validator("limits", mode="before")
    @classmethod
    def _limits(cls, value: Any) -> Any:
        return TabularLimitSettings(**value) if isinstance(value, dict) else value

    @field_validator("featurization", mode="before")
    @classmethod
    def _featurization(cls, value: Any) -> Any:
        return TabularFeaturizationSettings(**value) if isinstance(value, dict) else value

    @field_validator("training", mode="before")
    @classmethod
    def _training(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, TrainingSettings):
            if type(value) is not cls._training_cls:
                value = cls._training_cls(**value.model_dump(exclude_none=True))
            return value
        if isinstance(value, dict):
            return cls._training_cls(**value)
        raise ValueError(f"must be a mapping of training settings, got {value!r}")

    @field_validator("resources", mode="before")
    @classmethod
    def _resources(cls, value: Any) -> Any:
        if value is None:
            return None
        if hasattr(value, "_to_dict"):
            value = value._to_dict()
        if not isinstance(value, dict):
            raise ValueError(
                "must be a mapping such as {instance_type: Standard_E4s_v3, instance_count: 5}; "
                f"got the text {value!r} (write each setting as 'key: value' on its own line)"
            )
        allowed = {"instance_type", "instance_count", "properties", "shm_size", "docker_args",
                   "max_instance_count", "locations"}
        for key in value:
            if key not in allowed:
                raise ValueError(
                    f"unknown key '{key}'; valid keys: {', '.join(sorted(allowed))}"
                    + _suggest(key, allowed)
                )
        return dict(value)

    @field_validator("identity", "queue_settings", "services", mode="before")
    @classmethod
    def _mapping(cls, value: Any, info: Any) -> Any:
        if value is None or isinstance(value, dict):
            return value
        if info.field_name == "services":
            return value
        raise ValueError(f"must be a mapping, got {value!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "outputs" and self._is_pipeline_node():
            self._attach_outputs()

    # ------------------------------------------------------------------- as a pipeline node

    def _is_pipeline_node(self) -> bool:
        return bool(self.__dict__.get("_pipeline_node"))

    def _as_pipeline_node(self) -> None:
        """Make this job a node of a pipeline: its data may be bindings, and
        ``job.outputs.best_model`` is a binding to its best model."""
        object.__setattr__(self, "_pipeline_node", True)
        if self.outputs is None or "best_model" not in self.outputs:
            self.outputs = {**(self.outputs or {}), "best_model": Output(type="mlflow_model")}
        self._attach_outputs()

    def _attach_outputs(self) -> None:
        if isinstance(self.outputs, JobOutputs):
            self.outputs.__dict__["_owner"] = self

    # ---------------------------------------------------------------------------- the SDK API

    def set_limits(
        self,
        *,
        enable_early_termination: bool | None = None,
        exit_score: float | None = None,
        max_concurrent_trials: int | None = None,
        max_cores_per_trial: int | None = None,
        max_nodes: int | None = None,
        max_trials: int | None = None,
        timeout_minutes: float | None = None,
        trial_timeout_minutes: float | None = None,
    ) -> None:
        """Set when the search stops. Arguments left as ``None`` keep their current value."""
        self._merge("limits", TabularLimitSettings, locals())

    def set_training(
        self,
        *,
        enable_onnx_compatible_models: bool | None = None,
        enable_dnn_training: bool | None = None,
        enable_model_explainability: bool | None = None,
        enable_stack_ensemble: bool | None = None,
        enable_vote_ensemble: bool | None = None,
        stack_ensemble_settings: Any = None,
        ensemble_model_download_timeout: float | None = None,
        allowed_training_algorithms: list[Any] | None = None,
        blocked_training_algorithms: list[Any] | None = None,
        training_mode: Any = None,
    ) -> None:
        """Set which learners to try and what to build at the end."""
        self._merge("training", self._training_cls, locals())

    def set_featurization(
        self,
        *,
        blocked_transformers: list[Any] | None = None,
        column_name_and_types: dict[str, str] | None = None,
        dataset_language: str | None = None,
        transformer_params: dict[str, list[Any]] | None = None,
        mode: str | None = None,
        enable_dnn_featurization: bool | None = None,
    ) -> None:
        """Set how raw columns become features."""
        self._merge("featurization", TabularFeaturizationSettings, locals())

    def set_data(
        self,
        *,
        training_data: Any,
        target_column_name: str,
        weight_column_name: str | None = None,
        validation_data: Any = None,
        validation_data_size: float | None = None,
        n_cross_validations: int | str | None = None,
        cv_split_column_names: list[str] | None = None,
        test_data: Any = None,
        test_data_size: float | None = None,
    ) -> None:
        """Set the data; arguments left as ``None`` keep their current value."""
        for key, value in dict(locals()).items():
            if key != "self" and value is not None:
                setattr(self, key, value)

    def _merge(self, block: str, cls: builtins.type[SpecModel], values: dict[str, Any]) -> None:
        given = {k: v for k, v in values.items() if k != "self" and v is not None}
        current = getattr(self, block)
        merged = current.model_dump(exclude_none=True) if current is not None else {}
        merged.update(given)
        setattr(self, block, cls(**merged))

    # ----------------------------------------------------------------------------- helpers

    @property
    def primary_metric_name(self) -> str:
        """The reported name of the primary metric (``AUC_weighted``, ``r2_score``, ...)."""
        return metric_report_name(self.primary_metric)

    def validate_spec(self) -> None:
        """Checks that span several fields; raises ``InvalidSpecError`` naming the field."""
        if self.training_data is None:
            raise InvalidSpecError("is required (the data to train on).", field="training_data")
        if not self._is_pipeline_node():
            for key in _DATA_FIELDS:
                value = getattr(self, key)
                if isinstance(value, Binding) or (
                        isinstance(value, str) and value.startswith("${{")):
                    raise InvalidSpecError(
                        f"'{value}' is a pipeline binding, which only a node of a pipeline job "
                        "(type: pipeline) can hold; give the data itself, such as "
                        "Input(type='mltable', path='./train').",
                        field=key,
                    )
        if not self.target_column_name:
            raise InvalidSpecError("is required (the column to predict).",
                                   field="target_column_name")
        if self.primary_metric is None:
            raise InvalidSpecError("is required.", field="primary_metric")
        if self.validation_data is not None and self.validation_data_size is not None:
            raise InvalidSpecError(
                "cannot be used together with validation_data; set one of them.",
                field="validation_data_size",
            )
        if self.n_cross_validations is not None and self.validation_data_size is not None:
            raise InvalidSpecError(
                "cannot be used together with n_cross_validations; set one of them.",
                field="validation_data_size",
            )
        if self.weight_column_name and self.weight_column_name == self.target_column_name:
            raise InvalidSpecError(
                "must differ from target_column_name.", field="weight_column_name"
            )
        limits = self.limits
        if limits is not None and limits.exit_score is not None:
            lo, hi = _METRIC_RANGE[self.primary_metric_name]
            if not lo <= limits.exit_score <= hi:
                raise InvalidSpecError(
                    f"{limits.exit_score:g} is outside the range of {self.primary_metric_name} "
                    f"[{lo:g}, {hi:g}].",
                    field="limits.exit_score",
                )
        training = self.training
        if training is not None and training.allowed_training_algorithms is not None:
            blocked = set(training.blocked_training_algorithms or [])
            left = [a for a in training.allowed_training_algorithms if a not in blocked]
            if not left:
                raise InvalidSpecError(
                    "no algorithm is left once blocked_training_algorithms are removed from "
                    "allowed_training_algorithms; allow at least one that is not blocked.",
                    field="training.allowed_training_algorithms",
                )
        if self.cv_split_column_names is not None and self.n_cross_validations is not None:
            raise InvalidSpecError(
                "cannot be used together with n_cross_validations; set one of them.",
                field="cv_split_column_names",
            )

    def dump(self, dest: Any, **kwargs: Any) -> None:
        """Write the job as CLI v2 YAML (``type: automl``) to a path or an open stream."""
        write_yaml(self._to_yaml_dict(), dest)

    def _to_yaml_dict(self) -> dict[str, Any]:
        data = super()._to_yaml_dict()
        for key in _OUTPUT_ONLY:
            data.pop(key, None)
        for key in _DATA_FIELDS:
            if isinstance(getattr(self, key), pd.DataFrame):
                raise InvalidSpecError(
                    "is an in-memory DataFrame, which a YAML file cannot hold; save it as CSV or "
                    "Parquet and pass Input(type='uri_file', path=...) instead.",
                    field=key,
                )
        for key in _DATA_FIELDS:
            if isinstance(getattr(self, key), Binding):
                data[key] = str(getattr(self, key))
        if self.primary_metric is not None:
            data["primary_metric"] = self.primary_metric.yaml
        return data

    def __str__(self) -> str:
        status = f", status={self.status}" if self.status else ""
        return f"{type(self).__name__}(name={self.name!r}, task={self.task}{status})"


def _suggest(value: Any, choices: Any) -> str:
    return suggestion(str(value), list(choices))


class ClassificationJob(AutoMLTabular):
    """An AutoML classification job (``automl.classification(...)``)."""

    task_type: ClassVar[TaskType] = TaskType.CLASSIFICATION
    _metrics: ClassVar[type[AzureEnum]] = ClassificationPrimaryMetrics
    _training_cls: ClassVar[type[TrainingSettings]] = ClassificationTrainingSettings

    task: String = "classification"
    positive_label: Any = None

    @field_validator("positive_label", mode="before")
    @classmethod
    def _label(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"must be a class label (text or number), got {value!r}")
        return value


class RegressionJob(AutoMLTabular):
    """An AutoML regression job (``automl.regression(...)``)."""

    task_type: ClassVar[TaskType] = TaskType.REGRESSION
    _metrics: ClassVar[type[AzureEnum]] = RegressionPrimaryMetrics
    _training_cls: ClassVar[type[TrainingSettings]] = RegressionTrainingSettings
    _sdk_default_metric: ClassVar[str] = "NormalizedRootMeanSquaredError"
    _yaml_default_metric: ClassVar[str] = "normalized_root_mean_squared_error"

    task: String = "regression"


class ForecastingJob(AutoMLTabular):
    """An AutoML forecasting job (``automl.forecasting(...)``).

    ``forecasting.time_column_name`` is required; :meth:`validate_spec` (run when a file is
    loaded and when a job is submitted) names it when it is missing.
    """

    task_type: ClassVar[TaskType] = TaskType.FORECASTING
    _metrics: ClassVar[type[AzureEnum]] = ForecastingPrimaryMetrics
    _training_cls: ClassVar[type[TrainingSettings]] = ForecastingTrainingSettings
    _sdk_default_metric: ClassVar[str] = "NormalizedRootMeanSquaredError"
    _yaml_default_metric: ClassVar[str] = "normalized_root_mean_squared_error"

    task: String = "forecasting"
    forecasting_settings: ForecastingSettings | None = Field(default=None, alias="forecasting")

    @field_validator("forecasting_settings", mode="before")
    @classmethod
    def _forecasting(cls, value: Any) -> Any:
        return ForecastingSettings(**value) if isinstance(value, dict) else value

    def set_forecast_settings(
        self,
        *,
        time_column_name: str | None = None,
        forecast_horizon: int | str | None = None,
        time_series_id_column_names: str | list[str] | None = None,
        target_lags: int | list[int] | str | None = None,
        feature_lags: str | None = None,
        target_rolling_window_size: int | str | None = None,
        country_or_region_for_holidays: str | None = None,
        use_stl: str | None = None,
        seasonality: int | str | None = None,
        short_series_handling_config: str | None = None,
        frequency: str | None = None,
        target_aggregate_function: str | None = None,
        cv_step_size: int | str | None = None,
        features_unknown_at_forecast_time: str | list[str] | None = None,
    ) -> None:
        """Set the time axis and look-back features of the forecast."""
        self._merge("forecasting_settings", ForecastingSettings, locals())

    def set_training(
        self,
        *,
        enable_onnx_compatible_models: bool | None = None,
        enable_dnn_training: bool | None = None,
        enable_model_explainability: bool | None = None,
        enable_stack_ensemble: bool | None = None,
        enable_vote_ensemble: bool | None = None,
        stack_ensemble_settings: Any = None,
        ensemble_model_download_timeout: float | None = None,
        allowed_training_algorithms: list[Any] | None = None,
        blocked_training_algorithms: list[Any] | None = None,
        training_mode: Any = None,
    ) -> None:
        """As for other tasks, but StackEnsemble stays off unless asked for (Azure's rule).

        ``enable_dnn_training=True`` lets TCNForecaster into the search. Algorithm names are
        checked against :class:`~cirrusml.spec.ForecastingModels`.
        """
        if enable_stack_ensemble is None:
            current = self.training.enable_stack_ensemble if self.training else None
            enable_stack_ensemble = False if current is None else current
        super().set_training(
            enable_onnx_compatible_models=enable_onnx_compatible_models,
            enable_dnn_training=enable_dnn_training,
            enable_model_explainability=enable_model_explainability,
            enable_stack_ensemble=enable_stack_ensemble,
            enable_vote_ensemble=enable_vote_ensemble,
            stack_ensemble_settings=stack_ensemble_settings,
            ensemble_model_download_timeout=ensemble_model_download_timeout,
            allowed_training_algorithms=allowed_training_algorithms,
            blocked_training_algorithms=blocked_training_algorithms,
            training_mode=training_mode,
        )

    def validate_spec(self) -> None:
        """The shared checks, then forecasting's own (reference §2, §5, §6)."""
        super().validate_spec()
        fs = self.forecasting_settings
        if fs is None or not fs.time_column_name:
            raise InvalidSpecError(
                "is required for a forecasting job: name the datetime column, in YAML under "
                "'forecasting: {time_column_name: ...}' or with "
                "job.set_forecast_settings(time_column_name=...).",
                field="forecasting.time_column_name",
            )
        agg = fs.target_aggregate_function
        if agg is not None and agg is not TargetAggregationFunction.NONE and fs.frequency is None:
            raise InvalidSpecError(
                f"'{agg.yaml}' needs forecasting.frequency, the frequency to aggregate the target "
                "to; set frequency (such as D or W-THU) or remove target_aggregate_function.",
                field="forecasting.target_aggregate_function",
            )
        if fs.time_column_name == self.target_column_name:
            raise InvalidSpecError(
                f"'{fs.time_column_name}' is also the target_column_name; the time column and "
                "the column to forecast must differ.",
                field="forecasting.time_column_name",
            )
        ids = fs.time_series_id_column_names or []
        for column in ids:
            if column in (fs.time_column_name, self.target_column_name):
                role = "time column" if column == fs.time_column_name else "target column"
                raise InvalidSpecError(
                    f"'{column}' is the {role}; a time-series ID column must be another column.",
                    field="forecasting.time_series_id_column_names",
                )
        if self.test_data_size is not None:
            raise InvalidSpecError(
                "is not supported for forecasting (Azure's rule); pass test_data instead.",
                field="test_data_size",
            )
        featurization = self.featurization
        if featurization is not None and featurization.mode is FeaturizationMode.OFF:
            raise InvalidSpecError(
                "'off' is not allowed for forecasting; use auto or custom.",
                field="featurization.mode",
            )


JOB_CLASSES: dict[str, type[AutoMLTabular]] = {
    "classification": ClassificationJob,
    "regression": RegressionJob,
    "forecasting": ForecastingJob,
}

_FACTORY_KEYS = {
    "compute", "experiment_name", "name", "display_name", "description", "tags", "properties",
    "outputs", "resources", "identity", "environment_id", "environment_variables",
    "queue_settings", "log_verbosity", "featurization", "limits", "training", "seed", "services",
}


def _build(cls: type[AutoMLTabular], args: dict[str, Any], extra: dict[str, Any]) -> Any:
    allowed = set(_FACTORY_KEYS)
    if cls is ClassificationJob:
        allowed.add("positive_label")
    for key in extra:
        if key not in allowed:
            raise InvalidSpecError(
                f"unknown argument '{key}'." + _suggest(key, sorted(allowed) + list(args)),
                field=key,
            )
    explain = args.pop("enable_model_explainability", None)
    forecast = args.pop("forecasting_settings", None)
    values = {k: v for k, v in args.items() if v is not None}
    values.update(extra)
    values.setdefault("primary_metric", cls._sdk_default_metric)
    if forecast is not None:
        values["forecasting_settings"] = forecast
    job = cls(**values)
    if explain is not None:
        job.set_training(enable_model_explainability=explain)
    if cls is ForecastingJob and (
            job.training is None or job.training.enable_stack_ensemble is None):
        job.set_training()
    if current_context() is not None or any(
            isinstance(getattr(job, key), Binding) for key in _DATA_FIELDS):
        # Called inside a @pipeline function (or given a binding): the job is a node.
        job._as_pipeline_node()
        register_node(job)
    return job


def classification(
    *,
    training_data: Any,
    target_column_name: str,
    primary_metric: str | None = None,
    enable_model_explainability: bool | None = None,
    weight_column_name: str | None = None,
    validation_data: Any = None,
    validation_data_size: float | None = None,
    n_cross_validations: int | str | None = None,
    cv_split_column_names: list[str] | None = None,
    test_data: Any = None,
    test_data_size: float | None = None,
    **kwargs: Any,
) -> ClassificationJob:
    """Build a classification job, as ``azure.ai.ml.automl.classification`` does.

    The primary metric defaults to ``accuracy`` (Azure's SDK default; a YAML file without one
    gets ``auc_weighted``, the YAML loader's default).
    """
    args = dict(locals())
    extra = args.pop("kwargs")
    return _build(ClassificationJob, args, extra)


def regression(
    *,
    training_data: Any,
    target_column_name: str,
    primary_metric: str | None = None,
    enable_model_explainability: bool | None = None,
    weight_column_name: str | None = None,
    validation_data: Any = None,
    validation_data_size: float | None = None,
    n_cross_validations: int | str | None = None,
    cv_split_column_names: list[str] | None = None,
    test_data: Any = None,
    test_data_size: float | None = None,
    **kwargs: Any,
) -> RegressionJob:
    """Build a regression job (primary metric defaults to normalized RMSE)."""
    args = dict(locals())
    extra = args.pop("kwargs")
    return _build(RegressionJob, args, extra)


def forecasting(
    *,
    training_data: Any,
    target_column_name: str,
    primary_metric: str | None = None,
    enable_model_explainability: bool | None = None,
    weight_column_name: str | None = None,
    validation_data: Any = None,
    validation_data_size: float | None = None,
    n_cross_validations: int | str | None = None,
    cv_split_column_names: list[str] | None = None,
    test_data: Any = None,
    test_data_size: float | None = None,
    forecasting_settings: ForecastingSettings | None = None,
    **kwargs: Any,
) -> ForecastingJob:
    """Build a forecasting job (primary metric defaults to normalized RMSE)."""
    args = dict(locals())
    extra = args.pop("kwargs")
    return _build(ForecastingJob, args, extra)
