"""The settings of a scoring server and of an endpoint's router, as JSON-serialisable models.

They live here, below both the client (which writes the config files of the processes it starts)
and ``cirrusml.serving`` (whose processes read them).

Field names follow Azure's deployment where it has one: ``instance_count`` (worker processes),
``request_timeout_ms`` and ``max_concurrent_requests_per_instance`` (``OnlineRequestSettings``,
with Azure's defaults: 5000 ms and 1), ``auth_mode`` (``"key"``, or ``"none"`` for a local server
without keys).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cirrusml.exceptions import InvalidSpecError
from cirrusml.utils import suggestion

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "RouterConfig", "ServerConfig", "generate_key"]

#: The default limit of a request body: 100 MiB, about a million rows of ten numbers as JSON.
DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024


def generate_key() -> str:
    """A new random key for ``Authorization: Bearer <key>`` (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


class _ConfigFile(BaseModel):
    """A process's settings, read from and written to a JSON file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @classmethod
    def make(cls, source: str | None = None, **values: Any) -> Self:
        """Build a config, turning validation failures into one :class:`InvalidSpecError`
        naming the field (``source``: the file the values came from, for the message)."""
        try:
            return cls(**values)
        except ValidationError as error:
            raise _config_error(error, source, list(cls.model_fields)) from None

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Self:
        """Read a config from a JSON file; ``overrides`` (not ``None``) replace its values."""
        path = Path(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise InvalidSpecError(f"cannot read the server config: {error.strerror}.",
                                   source=str(path)) from None
        except json.JSONDecodeError as error:
            raise InvalidSpecError(f"the server config is not valid JSON: {error.msg} at line "
                                   f"{error.lineno}.", source=str(path)) from None
        if not isinstance(values, dict):
            raise InvalidSpecError("the server config must be a JSON object of settings.",
                                   source=str(path))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.make(str(path), **values)

    def write(self, path: str | Path) -> Path:
        """Write the config as JSON to ``path``, readable by its owner only (it may hold
        keys)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        temporary.chmod(0o600)
        temporary.replace(path)
        return path


class ServerConfig(_ConfigFile):
    """Everything a scoring server needs to start; see ``docs/serving.md``."""

    #: The MLflow model folder to serve (a job's ``best_model`` output).
    model_path: str
    host: str = "127.0.0.1"
    #: 0 picks a free port; the server reports the one it took (``state_file``, and its log).
    port: int = Field(default=0, ge=0, le=65535)
    auth_mode: Literal["key", "none"] = "key"
    primary_key: str | None = None
    secondary_key: str | None = None
    #: Worker processes, each with its own copy of the model.
    instance_count: int = Field(default=1, ge=1, le=64)
    #: A request not answered within this time gets a 408 (time in the queue included).
    request_timeout_ms: int = Field(default=5000, ge=1)
    #: Requests scored at once by one worker; up to twice as many may wait, more get a 429.
    max_concurrent_requests_per_instance: int = Field(default=1, ge=1, le=1024)
    #: A larger request body gets a 413.
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=1)
    #: Where the server writes its log (standard error when not set).
    log_file: str | None = None
    #: Where the server writes ``{"pid", "host", "port", "url"}`` once it listens.
    state_file: str | None = None
    #: Log one line per request (``"POST /score HTTP/1.1" 200``) to ``log_file``.
    access_log: bool = False
    #: A scoring script deployment: the working copy of its ``code`` folder, and the script's
    #: path inside it. Set, the server runs the script's ``init()`` and ``run()`` instead of
    #: scoring the MLflow model itself.
    code_path: str | None = None
    scoring_script: str | None = None
    #: The model's name and version in ``AZUREML_MODEL_DIR`` (``azureml-models/<name>/<version>``).
    model_name: str | None = None
    model_version: str | None = None
    #: The deployment's environment as named: recorded, not built (a notice in the log).
    environment: str | None = None

    @model_validator(mode="after")
    def _keys_for_key_mode(self) -> ServerConfig:
        if self.auth_mode == "key" and not self.primary_key:
            raise ValueError("auth_mode 'key' needs primary_key (and optionally secondary_key); "
                             "make one with cirrusml.serving.generate_key(), or set auth_mode "
                             "'none' for a server that takes requests without a key")
        if (self.code_path is None) != (self.scoring_script is None):
            raise ValueError("code_path and scoring_script go together: give both (a scoring "
                             "script deployment) or neither (the MLflow model is scored)")
        for name in ("primary_key", "secondary_key"):
            key = getattr(self, name)
            if key is not None and (len(key) < 8 or not key.isprintable() or " " in key):
                raise ValueError(f"{name} must be at least 8 printable characters without "
                                 "spaces")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys a request may present (none in ``auth_mode="none"``)."""
        if self.auth_mode == "none":
            return ()
        return tuple(k for k in (self.primary_key, self.secondary_key) if k)


class RouterConfig(_ConfigFile):
    """What an online endpoint's router needs to start (``python -m cirrusml.serving._router
    --config FILE``). The endpoint itself (keys, traffic, deployments) is read from the
    workspace's endpoint store, again whenever it changes."""

    #: The workspace folder holding the endpoint store.
    workspace: str
    endpoint_name: str
    host: str = "127.0.0.1"
    #: 0 picks a free port; the router reports the one it took in ``state_file``.
    port: int = Field(default=0, ge=0, le=65535)
    #: A larger request body gets a 413.
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=1)
    log_file: str | None = None
    state_file: str | None = None


def _config_error(error: ValidationError, source: str | None,
                  fields: list[str]) -> InvalidSpecError:
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden" and field:
        message = f"unknown setting {field!r}." + suggestion(field, fields)
    elif "input" in first and first["type"] != "value_error":
        message = f"{message} (got {first['input']!r})"
    return InvalidSpecError(message, field=field, source=source)
