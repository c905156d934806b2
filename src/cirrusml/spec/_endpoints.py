"""Endpoint and deployment entities, as ``azure.ai.ml.entities`` spells them.

``ManagedOnlineEndpoint`` and ``ManagedOnlineDeployment`` (with ``CodeConfiguration``,
``OnlineRequestSettings`` and ``ProbeSettings``), ``BatchEndpoint`` and ``BatchDeployment``
(with ``BatchRetrySettings``), and their loaders for Azure's CLI v2 YAML files. Settings Azure
leaves unset until the service fills them take the values the service would use (a probe every
10 s after 10 s, a 5000 ms request timeout, mini-batches of 10, ...), so a deployment read here
says what it will do. Keys that only mean something on Azure (``instance_type``,
``scale_settings``, ``compute`` ...) are accepted and kept (``azure_only()``) but not acted on.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec._assets import (
    EntityModel,
    Environment,
    Model,
    load_entity,
    parse_asset_reference,
)
from cirrusml.spec._base import Boolean, Integer, String, StringMap
from cirrusml.utils import suggestion

__all__ = [
    "BatchDeployment",
    "BatchEndpoint",
    "BatchRetrySettings",
    "CodeConfiguration",
    "ManagedOnlineDeployment",
    "ManagedOnlineEndpoint",
    "OnlineRequestSettings",
    "ProbeSettings",
    "load_batch_deployment",
    "load_batch_endpoint",
    "load_online_deployment",
    "load_online_endpoint",
]

#: Endpoint and deployment names: Azure's rule (a letter first, letters, digits and hyphens,
#: a letter or digit last, 3 to 32 characters).
_ENDPOINT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$")
#: The longest request timeout Azure allows on a managed online deployment.
MAX_REQUEST_TIMEOUT_MS = 180_000
AUTH_MODES: tuple[str, ...] = ("key", "aml_token", "aad_token")
OUTPUT_ACTIONS: tuple[str, ...] = ("append_row", "summary_only")
LOGGING_LEVELS: tuple[str, ...] = ("warning", "info", "debug")


def _at_least(value: int, low: int, what: str = "") -> int:
    if value < low:
        raise ValueError(f"must be {low} or more{what}, got {value}")
    return value


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    text = str(getattr(value, "value", value)).strip()
    folded = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()  # AppendRow -> append_row
    if folded not in choices:
        raise ValueError(f"'{text}' is not a valid {what}." + suggestion(text, choices)
                         + f" Use one of {', '.join(choices)}")
    return folded


def _endpoint_name(value: Any, what: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    if not _ENDPOINT_NAME.match(value):
        raise ValueError(
            f"'{value}' is not a valid {what} name: 3 to 32 characters, a letter first, then "
            "letters, digits or hyphens, ending with a letter or digit")
    return value


def _entity_field(value: Any, cls: type[EntityModel], field: str) -> Any:
    """A mapping given for an entity field, built into ``cls`` (errors name ``field.key``)."""
    if not isinstance(value, dict):
        return value
    try:
        return cls(**value)
    except InvalidSpecError as err:
        raise InvalidSpecError(err.message, field=f"{field}.{err.field}" if err.field
                               else field) from None


def _model_field(value: Any) -> Any:
    if value is None or isinstance(value, Model):
        return value
    if isinstance(value, dict):
        return _entity_field(value, Model, "model")
    if isinstance(value, os.PathLike):
        return Model(path=os.fspath(value))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"must be a Model, a mapping with a path, or a reference such as "
            f"azureml:<name>:<version>, got {value!r}")
    if value.startswith("azureml:") and not value.startswith("azureml://"):
        try:
            parse_asset_reference(value)
        except ValueError as err:
            raise ValueError(f"{err}; write azureml:<name>:<version> or "
                             "azureml:<name>@latest") from None
    return value


def _traffic(value: Any, *, limit: int, field: str) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"must map deployment names to percentages, got {value!r}")
    out: dict[str, int] = {}
    for name, share in value.items():
        if isinstance(share, float) and share.is_integer():
            share = int(share)
        if isinstance(share, str) and share.strip().isdigit():
            share = int(share)
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= limit:
            raise ValueError(f"the share of deployment '{name}' must be a whole number from 0 "
                             f"to {limit}, got {share!r}")
        out[str(name)] = share
    total = sum(out.values())
    if field == "traffic" and total not in (0, 100):
        raise ValueError(f"the shares must add up to 100 (or all be 0), got {total}: {out}")
    return out


# ---------------------------------------------------------------------------- settings


class CodeConfiguration(EntityModel):
    """A scoring script and the folder holding it (``CodeConfiguration(code, scoring_script)``)."""

    _what: ClassVar[str] = "code_configuration"

    code: str | None = None
    scoring_script: str | None = None

    def __init__(self, code: str | os.PathLike[str] | None = None,
                 scoring_script: str | os.PathLike[str] | None = None, **data: Any) -> None:
        super().__init__(code=code, scoring_script=scoring_script, **data)

    @field_validator("code", "scoring_script", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be a path, got {value!r}")
        return value

    def source_folder(self, example_script: str) -> Path:
        """The code folder, checked to hold the scoring script (a Python file named by its
        path inside the folder); ``InvalidSpecError`` naming the field otherwise, suggesting
        ``example_script``."""
        if not self.code:
            raise InvalidSpecError("is required with a scoring script: the folder that holds "
                                   f"it (CodeConfiguration(code='./src', scoring_script="
                                   f"'{example_script}')).", field="code_configuration.code")
        source = Path(self.code).expanduser().resolve()
        if not source.is_dir():
            raise InvalidSpecError(f"'{self.code}' is not a folder; give the folder that holds "
                                   "the scoring script.", field="code_configuration.code")
        if not self.scoring_script:
            raise InvalidSpecError("is required with code: the script's path inside the code "
                                   f"folder, such as {example_script}.",
                                   field="code_configuration.scoring_script")
        script = source / self.scoring_script
        if Path(self.scoring_script).is_absolute() or not script.is_file() \
                or script.suffix != ".py":
            raise InvalidSpecError(f"'{self.scoring_script}' is not a Python file in "
                                   f"'{source}'; give the script's path inside the code "
                                   f"folder, such as {example_script}.",
                                   field="code_configuration.scoring_script")
        return source


class OnlineRequestSettings(EntityModel):
    """How a deployment takes requests (Azure's defaults: 5000 ms timeout, one request at a
    time per instance, 500 ms in the queue). Positional arguments follow Azure's order."""

    _what: ClassVar[str] = "request_settings"

    max_concurrent_requests_per_instance: Integer = 1
    request_timeout_ms: Integer = 5000
    max_queue_wait_ms: Integer = 500

    def __init__(self, max_concurrent_requests_per_instance: int | None = None,
                 request_timeout_ms: int | None = None, max_queue_wait_ms: int | None = None,
                 **data: Any) -> None:
        given = {"max_concurrent_requests_per_instance": max_concurrent_requests_per_instance,
                 "request_timeout_ms": request_timeout_ms, "max_queue_wait_ms": max_queue_wait_ms}
        super().__init__(**{k: v for k, v in given.items() if v is not None}, **data)

    @field_validator("max_concurrent_requests_per_instance")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        return _at_least(value, 1)

    @field_validator("request_timeout_ms")
    @classmethod
    def _timeout(cls, value: int) -> int:
        if not 1 <= value <= MAX_REQUEST_TIMEOUT_MS:
            raise ValueError(f"must be from 1 to {MAX_REQUEST_TIMEOUT_MS} milliseconds "
                             f"(Azure's limit), got {value}")
        return value

    @field_validator("max_queue_wait_ms")
    @classmethod
    def _queue(cls, value: int) -> int:
        return _at_least(value, 0)


class ProbeSettings(EntityModel):
    """A liveness or readiness probe (Azure's defaults: every 10 s after 10 s, 2 s timeout,
    unhealthy after 30 failures, healthy after 1 success). Times are in seconds."""

    _what: ClassVar[str] = "the probe"

    failure_threshold: Integer = 30
    success_threshold: Integer = 1
    timeout: Integer = 2
    period: Integer = 10
    initial_delay: Integer = 10

    @field_validator("failure_threshold", "success_threshold", "timeout", "period")
    @classmethod
    def _positive(cls, value: int) -> int:
        return _at_least(value, 1)

    @field_validator("initial_delay")
    @classmethod
    def _delay(cls, value: int) -> int:
        return _at_least(value, 0)


class BatchRetrySettings(EntityModel):
    """Retries of a failed mini-batch (Azure's defaults: 3 retries, 30 s timeout)."""

    _what: ClassVar[str] = "retry_settings"

    max_retries: Integer = 3
    timeout: Integer = 30

    @field_validator("max_retries")
    @classmethod
    def _retries(cls, value: int) -> int:
        return _at_least(value, 0)

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: int) -> int:
        return _at_least(value, 1)


# --------------------------------------------------------------------------- endpoints


class _Endpoint(EntityModel):
    schema_: String | None = Field(default=None, alias="$schema")
    name: str
    description: String | None = None
    tags: StringMap | None = None
    properties: StringMap | None = None
    auth_mode: str = "key"
    #: Set when the endpoint runs: the URL to POST scoring requests to.
    scoring_uri: String | None = None
    openapi_uri: String | None = None
    provisioning_state: String | None = None
    location: String | None = None
    id: String | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return _endpoint_name(value, "endpoint")

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _auth(cls, value: Any) -> Any:
        return _choice(value, AUTH_MODES, "auth_mode")


class ManagedOnlineEndpoint(_Endpoint):
    """An online (REST) endpoint (``azure.ai.ml.entities.ManagedOnlineEndpoint``).

    ``traffic`` maps deployment names to percentages that add up to 100 (``{"blue": 90,
    "green": 10}``); ``mirror_traffic`` copies a share (at most 50) of the requests to another
    deployment. ``scoring_uri`` is filled in once the endpoint is created.
    """

    _what: ClassVar[str] = "the endpoint"
    _azure_only: ClassVar[tuple[str, ...]] = ("identity", "public_network_access", "location",
                                              "kind")

    traffic: dict[str, int] | None = None
    mirror_traffic: dict[str, int] | None = None
    identity: Any = None
    public_network_access: String | None = None
    kind: String | None = None

    @field_validator("traffic", mode="before")
    @classmethod
    def _traffic(cls, value: Any) -> Any:
        return _traffic(value, limit=100, field="traffic")

    @field_validator("mirror_traffic", mode="before")
    @classmethod
    def _mirror(cls, value: Any) -> Any:
        return _traffic(value, limit=50, field="mirror_traffic")


class BatchEndpoint(_Endpoint):
    """A batch scoring endpoint (``azure.ai.ml.entities.BatchEndpoint``); Azure's default
    ``auth_mode`` for it is ``aad_token``."""

    _what: ClassVar[str] = "the batch endpoint"
    _azure_only: ClassVar[tuple[str, ...]] = ("location",)

    auth_mode: str = "aad_token"
    defaults: dict[str, Any] | None = None
    default_deployment_name: String | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            defaults = data.get("defaults")
            if isinstance(defaults, dict) and defaults.get("deployment_name") \
                    and not data.get("default_deployment_name"):
                data = {**data, "default_deployment_name": defaults["deployment_name"]}
        return data


# ------------------------------------------------------------------------- deployments


class _Deployment(EntityModel):
    schema_: String | None = Field(default=None, alias="$schema")
    name: str
    endpoint_name: str | None = None
    description: String | None = None
    tags: StringMap | None = None
    properties: StringMap | None = None
    model: Model | str | None = None
    code_configuration: CodeConfiguration | None = None
    environment: Environment | str | None = None
    environment_variables: StringMap | None = None
    instance_count: Integer = 1
    provisioning_state: String | None = None
    id: String | None = None

    @model_validator(mode="before")
    @classmethod
    def _promoted(cls, data: Any) -> Any:
        """Azure's promoted ``code_path`` and ``scoring_script`` fill ``code_configuration``."""
        if not isinstance(data, dict):
            return data
        code_path, script = data.get("code_path"), data.get("scoring_script")
        if code_path is None and script is None:
            return data
        if data.get("code_configuration") is not None:
            raise InvalidSpecError(
                "give either code_configuration or code_path and scoring_script, not both.",
                field="code_path" if code_path is not None else "scoring_script")
        data = {k: v for k, v in data.items() if k not in ("code_path", "scoring_script")}
        data["code_configuration"] = {"code": code_path, "scoring_script": script}
        return data

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return _endpoint_name(value, "deployment")

    @field_validator("endpoint_name", mode="before")
    @classmethod
    def _endpoint(cls, value: Any) -> Any:
        return _endpoint_name(value, "endpoint")

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        return _model_field(value)

    @field_validator("code_configuration", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        return _entity_field(value, CodeConfiguration, "code_configuration")

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> Any:
        return _entity_field(value, Environment, "environment")

    @field_validator("instance_count")
    @classmethod
    def _instances(cls, value: int) -> int:
        return _at_least(value, 1)

    @property
    def code_path(self) -> str | None:
        """``code_configuration.code`` (Azure's promoted property)."""
        return self.code_configuration.code if self.code_configuration else None

    @property
    def scoring_script(self) -> str | None:
        """``code_configuration.scoring_script`` (Azure's promoted property)."""
        return self.code_configuration.scoring_script if self.code_configuration else None


class ManagedOnlineDeployment(_Deployment):
    """A deployment behind an online endpoint (``ManagedOnlineDeployment``).

    An MLflow model needs neither ``code_configuration`` nor ``environment`` ("no-code"
    deployment); ``instance_count`` is the number of worker processes. ``request_settings``,
    ``liveness_probe`` and ``readiness_probe`` default to Azure's values.
    """

    _what: ClassVar[str] = "the deployment"
    _azure_only: ClassVar[tuple[str, ...]] = (
        "instance_type", "scale_settings", "app_insights_enabled",
        "egress_public_network_access", "data_collector", "private_network_connection",
        "model_mount_path", "package_model", "creation_context")

    request_settings: OnlineRequestSettings = Field(default_factory=OnlineRequestSettings)
    liveness_probe: ProbeSettings = Field(default_factory=ProbeSettings)
    readiness_probe: ProbeSettings = Field(default_factory=ProbeSettings)
    instance_type: String | None = None
    scale_settings: Any = None
    app_insights_enabled: Boolean = False
    egress_public_network_access: String | None = None
    data_collector: Any = None
    private_network_connection: Boolean | None = None
    model_mount_path: String | None = None
    package_model: Boolean = False
    creation_context: Any = None
    type: String = "managed"

    @field_validator("request_settings", mode="before")
    @classmethod
    def _request(cls, value: Any) -> Any:
        if value is None:
            return OnlineRequestSettings()
        return _entity_field(value, OnlineRequestSettings, "request_settings")

    @field_validator("liveness_probe", "readiness_probe", mode="before")
    @classmethod
    def _probe(cls, value: Any, info: Any) -> Any:
        if value is None:
            return ProbeSettings()
        return _entity_field(value, ProbeSettings, str(info.field_name))

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if str(value).lower() != "managed":
            raise ValueError(f"must be 'managed' for a managed online deployment, got {value!r}")
        return "managed"


class BatchDeployment(_Deployment):
    """A deployment behind a batch endpoint (``azure.ai.ml.entities.BatchDeployment``).

    Azure's defaults: mini-batches of 10 rows or files, one at a time per instance, the
    predictions appended to ``predictions.csv``, 3 retries of 30 s, every error tolerated
    (``error_threshold=-1``). Azure's YAML ``settings:`` block and ``resources.instance_count``
    are read as the fields they set.
    """

    _what: ClassVar[str] = "the batch deployment"
    _azure_only: ClassVar[tuple[str, ...]] = ("compute", "resources", "creation_context")

    compute: String | None = None
    resources: dict[str, Any] | None = None
    max_concurrency_per_instance: Integer = 1
    mini_batch_size: Integer = 10
    output_action: str = "append_row"
    output_file_name: str = "predictions.csv"
    error_threshold: Integer = -1
    retry_settings: BatchRetrySettings = Field(default_factory=BatchRetrySettings)
    logging_level: str = "info"
    type: String | None = None
    creation_context: Any = None

    @model_validator(mode="before")
    @classmethod
    def _settings_block(cls, data: Any) -> Any:
        """Azure's newer layout: ``settings: {mini_batch_size: ...}``, ``resources:
        {instance_count: n}``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        settings = data.pop("settings", None)
        if settings is not None:
            if not isinstance(settings, dict):
                raise InvalidSpecError(f"must be a mapping of batch settings, got {settings!r}.",
                                       field="settings")
            for key, value in settings.items():
                if key not in cls.model_fields or key in ("name", "model", "endpoint_name"):
                    allowed = ("max_concurrency_per_instance", "mini_batch_size",
                               "output_action", "output_file_name", "retry_settings",
                               "logging_level", "error_threshold", "environment_variables")
                    raise InvalidSpecError(
                        f"unknown key '{key}' in settings." + suggestion(str(key), allowed)
                        + f" Valid keys: {', '.join(allowed)}.", field=f"settings.{key}")
                data.setdefault(key, value)
        resources = data.get("resources")
        if isinstance(resources, dict) and resources.get("instance_count") is not None:
            data.setdefault("instance_count", resources["instance_count"])
        return data

    @field_validator("max_concurrency_per_instance", "mini_batch_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        return _at_least(value, 1)

    @field_validator("error_threshold")
    @classmethod
    def _errors(cls, value: int) -> int:
        return _at_least(value, -1, " (-1 tolerates every error)")

    @field_validator("output_action", mode="before")
    @classmethod
    def _action(cls, value: Any) -> Any:
        return "append_row" if value is None else _choice(value, OUTPUT_ACTIONS,
                                                          "output_action")

    @field_validator("output_file_name", mode="before")
    @classmethod
    def _file(cls, value: Any) -> Any:
        if value is None:
            return "predictions.csv"
        if not isinstance(value, str) or not value.strip() or "/" in value or "\\" in value:
            raise ValueError(f"must be a file name without folders (predictions.csv), got "
                             f"{value!r}")
        return value

    @field_validator("retry_settings", mode="before")
    @classmethod
    def _retry(cls, value: Any) -> Any:
        if value is None:
            return BatchRetrySettings()
        return _entity_field(value, BatchRetrySettings, "retry_settings")

    @field_validator("logging_level", mode="before")
    @classmethod
    def _logging(cls, value: Any) -> Any:
        return "info" if value is None else _choice(str(value).lower(), LOGGING_LEVELS,
                                                    "logging_level")


# ------------------------------------------------------------------------------ loading

_DEPLOYMENT_PATHS = ("model.path", "code_configuration.code", "environment.conda_file",
                     "code_path")


def load_online_endpoint(source: str | os.PathLike[str], *, relative_origin: str | None = None,
                         params_override: list[dict[str, Any]] | None = None,
                         **kwargs: Any) -> ManagedOnlineEndpoint:
    """Load an online endpoint YAML file (``azure.ai.ml.load_online_endpoint``)."""
    return load_entity(ManagedOnlineEndpoint, source, relative_origin=relative_origin,
                       params_override=params_override, what="endpoint file")


def load_online_deployment(source: str | os.PathLike[str], *,
                           relative_origin: str | None = None,
                           params_override: list[dict[str, Any]] | None = None,
                           **kwargs: Any) -> ManagedOnlineDeployment:
    """Load an online deployment YAML file (``azure.ai.ml.load_online_deployment``); relative
    model, code and conda paths resolve against the file's folder."""
    return load_entity(ManagedOnlineDeployment, source, relative_origin=relative_origin,
                       params_override=params_override, what="deployment file",
                       resolve=_DEPLOYMENT_PATHS)


def load_batch_endpoint(source: str | os.PathLike[str], relative_origin: str | None = None, *,
                        params_override: list[dict[str, Any]] | None = None,
                        **kwargs: Any) -> BatchEndpoint:
    """Load a batch endpoint YAML file (``azure.ai.ml.load_batch_endpoint``)."""
    return load_entity(BatchEndpoint, source, relative_origin=relative_origin,
                       params_override=params_override, what="batch endpoint file")


def load_batch_deployment(source: str | os.PathLike[str], *, relative_origin: str | None = None,
                          params_override: list[dict[str, Any]] | None = None,
                          **kwargs: Any) -> BatchDeployment:
    """Load a batch deployment YAML file (``azure.ai.ml.load_batch_deployment``)."""
    return load_entity(BatchDeployment, source, relative_origin=relative_origin,
                       params_override=params_override, what="batch deployment file",
                       resolve=_DEPLOYMENT_PATHS)

