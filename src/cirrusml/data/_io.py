"""``Input``, ``Output`` and the asset-type constants, as Azure ML's SDK v2 spells them."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from cirrusml.exceptions import InvalidSpecError
from cirrusml.utils import suggestion


class AssetTypes(str, Enum):
    """Kinds of data and model assets (``azure.ai.ml.constants.AssetTypes``)."""

    URI_FILE = "uri_file"
    URI_FOLDER = "uri_folder"
    MLTABLE = "mltable"
    MLFLOW_MODEL = "mlflow_model"
    CUSTOM_MODEL = "custom_model"
    TRITON_MODEL = "triton_model"

    def __str__(self) -> str:
        return self.value


class InputOutputModes(str, Enum):
    """How a job sees its data (accepted for compatibility; everything is local here)."""

    MOUNT = "mount"
    DOWNLOAD = "download"
    UPLOAD = "upload"
    RO_MOUNT = "ro_mount"
    RW_MOUNT = "rw_mount"
    EVAL_MOUNT = "eval_mount"
    EVAL_DOWNLOAD = "eval_download"
    DIRECT = "direct"

    def __str__(self) -> str:
        return self.value


_DATA_TYPES = ("mltable", "uri_file", "uri_folder")
_LITERAL_TYPES = ("string", "integer", "number", "boolean")
_INPUT_TYPES = _DATA_TYPES + ("mlflow_model", "custom_model", "triton_model") + _LITERAL_TYPES
_MODES = tuple(m.value for m in InputOutputModes)


def _check_choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    text = str(value.value if isinstance(value, Enum) else value)
    if text not in choices:
        raise InvalidSpecError(
            f"'{text}' is not a valid {what}." + suggestion(text, choices)
            + f" Use one of {', '.join(choices)}."
        )
    return text


class _Port:
    """What ``Input`` and ``Output`` share: a type, a path and a mode."""

    _types: tuple[str, ...] = ()
    _kind = "input"

    type: str
    path: Any
    mode: str | None
    description: str | None

    def _set_common(self, type: Any, path: Any, mode: Any, description: str | None) -> None:
        self.type = _check_choice(type, self._types, f"{self._kind} type")
        if isinstance(path, Path):
            path = str(path)
        self.path = path
        self.mode = None if mode is None else _check_choice(mode, _MODES, f"{self._kind} mode")
        self.description = description

    def _to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.path is not None:
            out["path"] = self.path
        if self.mode is not None:
            out["mode"] = self.mode
        if self.description is not None:
            out["description"] = self.description
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._to_dict() == other._to_dict()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._to_dict().items())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._to_dict().items())
        return f"{type(self).__name__}({fields})"


class Input(_Port):
    """A job input: data (``mltable``, ``uri_file``, ``uri_folder``), a model, or a literal.

    ``path`` is a local path (relative paths are resolved against the job file's folder when a
    YAML job is loaded), an ``azureml:<name>:<version>`` asset reference, or a URL.
    """

    _types = _INPUT_TYPES
    _kind = "input"

    def __init__(
        self,
        *,
        type: str | AssetTypes = "uri_folder",
        path: str | Path | None = None,
        mode: str | InputOutputModes | None = None,
        path_on_compute: str | None = None,
        default: Any = None,
        optional: bool | None = None,
        min: float | None = None,
        max: float | None = None,
        enum: list[Any] | None = None,
        description: str | None = None,
        datastore: str | None = None,
    ) -> None:
        self._set_common(type, path, mode, description)
        self.path_on_compute = path_on_compute
        self.default = default
        self.optional = optional
        self.min = min
        self.max = max
        self.enum = enum
        self.datastore = datastore


class Output(_Port):
    """A job output. AutoML jobs name theirs ``best_model`` (``type: mlflow_model``)."""

    _types = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")
    _kind = "output"

    def __init__(
        self,
        *,
        type: str | AssetTypes = "uri_folder",
        path: str | Path | None = None,
        mode: str | InputOutputModes | None = None,
        description: str | None = None,
    ) -> None:
        self._set_common(type, path, mode, description)


def port_from_yaml(value: Any, cls: type[Input] | type[Output], field: str) -> Any:
    """Build an ``Input``/``Output`` from its YAML form (a mapping, or a bare path string).

    Errors do not repeat ``field``: the caller's validation names it.
    """
    if isinstance(value, cls) or value is None:
        return value
    if isinstance(value, str):
        if value.startswith("${{"):
            return value  # a pipeline binding, resolved by the pipeline runner
        return cls(type="uri_folder", path=value) if cls is Input else cls(type="uri_folder")
    if not isinstance(value, dict):
        raise InvalidSpecError(
            f"must be a mapping such as {{type: mltable, path: ./folder}}, got {value!r}."
        )
    # Azure's SDK dumps a job's outputs (and sometimes inputs) with their REST field name.
    alias = "job_input_type" if cls is Input else "job_output_type"
    if alias in value and "type" not in value:
        value = {("type" if k == alias else k): v for k, v in value.items()}
    allowed = {"type", "path", "mode", "description"}
    if cls is Input:
        allowed |= {"path_on_compute", "default", "optional", "min", "max", "enum", "datastore"}
    for key in value:
        if key not in allowed:
            raise InvalidSpecError(
                f"unknown key '{key}'." + suggestion(key, allowed)
                + f" An {cls._kind} takes {', '.join(sorted(allowed))}."
            )
    try:
        return cls(**value)
    except InvalidSpecError as err:
        raise InvalidSpecError(err.message) from None
