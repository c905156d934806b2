"""Asset entities, as ``azure.ai.ml.entities`` spells them: ``Model`` and ``Environment``.

They are plain validated records: building one checks every field and raises one
:class:`~cirrusml.exceptions.InvalidSpecError` naming the first bad one; nothing here touches a
store. The registry (:mod:`cirrusml.tracking._registry`) registers a ``Model`` and hands back
another with its version and path filled in.

:class:`EntityModel` is the base the endpoint and deployment entities share too: the YAML keys
of Azure's CLI v2 files, ``$schema`` included, with Azure-only keys (``instance_type``,
``datastore``, ...) accepted and kept but not acted on (:meth:`EntityModel.azure_only`).
"""

from __future__ import annotations

import builtins  # the field ``type`` shadows the builtin inside the entity classes
import os
import re
from enum import Enum, StrEnum
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec._base import SpecModel, String, StringMap, _model_at, spec_error
from cirrusml.spec._dump import write_yaml
from cirrusml.spec._yaml import apply_overrides, read_yaml, resolve_local_path
from cirrusml.utils import suggestion

__all__ = [
    "MODEL_TYPES",
    "EntityModel",
    "Environment",
    "ListViewType",
    "Model",
    "load_entity",
    "load_model",
    "parse_asset_reference",
]

E = TypeVar("E", bound="EntityModel")

#: Model asset types (``AssetTypes``) a ``Model`` may carry.
MODEL_TYPES: tuple[str, ...] = ("mlflow_model", "custom_model", "triton_model")

#: Asset names (models, environments): Azure's rule, which also keeps ``:`` and ``@`` free
#: for references (``azureml:name:version``, ``name@latest``).
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class ListViewType(StrEnum):
    """Which assets ``list`` shows (``azure.ai.ml.constants.ListViewType``)."""

    ACTIVE_ONLY = "ActiveOnly"
    ARCHIVED_ONLY = "ArchivedOnly"
    ALL = "All"

    @classmethod
    def parse(cls, value: Any) -> ListViewType:
        if isinstance(value, cls):
            return value
        text = str(value.value if isinstance(value, Enum) else value)
        key = text.replace("_", "").replace("-", "").lower()
        for member in cls:
            if key in (member.value.lower(), member.name.replace("_", "").lower()):
                return member
        raise InvalidSpecError(
            f"'{text}' is not a list view type; use ActiveOnly, ArchivedOnly or All.",
            field="list_view_type")


def _entity_error(err: ValidationError, model: builtins.type[BaseModel], what: str
                  ) -> InvalidSpecError:
    """pydantic's first error as one sentence; unknown keys name the entity they are in."""
    first = err.errors(include_url=False)[0]
    if first.get("type") != "extra_forbidden":
        return spec_error(err, model)
    loc = [str(p) for p in first.get("loc", ())]
    key = loc[-1] if loc else "?"
    owner = _model_at(model, loc[:-1])
    keys = owner.yaml_keys() if owner is not None and issubclass(owner, SpecModel) else []
    where = ".".join(loc[:-1]) or what
    message = f"unknown key '{key}' in {where}." + suggestion(key, keys)
    if keys:
        message += f" Valid keys: {', '.join(keys)}."
    return InvalidSpecError(message, field=".".join(loc) or None)


def check_asset_name(value: Any, what: str = "an asset") -> str | None:
    """``value`` if it is a valid asset name (or None), else a ``ValueError`` saying why."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r} ({builtins.type(value).__name__})")
    if not _ASSET_NAME.match(value):
        raise ValueError(
            f"'{value}' is not a valid name for {what}: start with a letter or digit and use "
            "only letters, digits, '-', '_' and '.' (at most 255 characters)")
    return value


def _version_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be a version such as 1 or '2', got {value!r}")
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty; leave it out to register the next version")
    return text


def _path_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a path or URI, got {value!r}")
    return value


class EntityModel(SpecModel):
    """Base of the Azure entities: keyword-only, validated on build and on assignment."""

    #: How error messages name an instance ("the deployment").
    _what: ClassVar[str] = "the entity"
    #: Keys Azure reads that mean nothing for a local workspace: accepted, kept, not used.
    _azure_only: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **data: Any) -> None:
        try:
            BaseModel.__init__(self, **data)
        except ValidationError as err:
            raise _entity_error(err, type(self), self._what) from None

    def azure_only(self) -> dict[str, Any]:
        """The Azure-only settings that were given (kept, but without effect locally)."""
        return {key: getattr(self, key) for key in self._azure_only
                if getattr(self, key) not in (None, False, {}, [])}

    def _to_dict(self) -> dict[str, Any]:
        """The entity as the mapping of its CLI v2 YAML file (unset values left out)."""
        return self._to_yaml_dict()

    def dump(self, dest: str | os.PathLike[str] | IO[str], **kwargs: Any) -> None:
        """Write the entity as a CLI v2 YAML file (a path or a text stream)."""
        write_yaml(self._to_dict(), Path(dest) if isinstance(dest, os.PathLike) else dest)


class Model(EntityModel):
    """A model asset (``azure.ai.ml.entities.Model``).

    ``type`` is ``mlflow_model`` or ``custom_model`` (Azure's default); ``path`` a local folder,
    a job output (``azureml://jobs/<job>/outputs/best_model``), a run's artifacts
    (``azureml://jobs/<run>/outputs/artifacts/<path>``, ``runs:/<run>/<path>``). ``version`` is
    left out to register the next version. A model returned by the registry has its
    ``version``, ``path`` (the local folder holding it), ``flavors``, ``job_name``, ``id``
    (``azureml:<name>:<version>``) and ``utc_time_created`` filled in.
    """

    _what: ClassVar[str] = "the model"
    _azure_only: ClassVar[tuple[str, ...]] = ("datastore", "system_metadata",
                                              "intellectual_property")

    schema_: String | None = Field(default=None, alias="$schema")
    name: str | None = None
    version: str | None = None
    type: str = "custom_model"
    path: str | None = None
    description: String | None = None
    tags: StringMap | None = None
    properties: StringMap | None = None
    stage: String | None = None
    flavors: dict[str, Any] | None = None
    utc_time_created: String | None = None
    job_name: String | None = None
    id: String | None = None
    latest_version: String | None = None
    creation_context: Any = None
    datastore: String | None = None
    system_metadata: dict[str, Any] | None = None
    intellectual_property: Any = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return check_asset_name(value, "a model")

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return _version_text(value)

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        return _path_text(value)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if value is None:
            return "custom_model"
        text = str(value.value if isinstance(value, Enum) else value).strip().lower()
        if text not in MODEL_TYPES:
            raise ValueError(
                f"'{value}' is not a model type; use mlflow_model or custom_model "
                "(AssetTypes.MLFLOW_MODEL, AssetTypes.CUSTOM_MODEL)"
                + suggestion(text, MODEL_TYPES))
        return text

    @field_validator("flavors", mode="before")
    @classmethod
    def _flavors(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"must map flavor names to their settings, got {value!r}")
        return value

    @property
    def reference(self) -> str | None:
        """``azureml:<name>:<version>`` once the model has both (what deployments name)."""
        if self.name and self.version:
            return f"azureml:{self.name}:{self.version}"
        return None


class Environment(EntityModel):
    """An environment (``azure.ai.ml.entities.Environment``).

    Kept as given: models run locally in the current Python environment, so the image and
    conda file are recorded, not built.
    """

    _what: ClassVar[str] = "the environment"
    _azure_only: ClassVar[tuple[str, ...]] = ("image", "build", "conda_file", "datastore",
                                              "inference_config", "os_type")

    schema_: String | None = Field(default=None, alias="$schema")
    name: str | None = None
    version: str | None = None
    description: String | None = None
    image: String | None = None
    build: Any = None
    conda_file: Any = None
    tags: StringMap | None = None
    properties: StringMap | None = None
    datastore: String | None = None
    inference_config: dict[str, Any] | None = None
    os_type: String | None = None
    id: String | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return check_asset_name(value, "an environment")

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return _version_text(value)

    @field_validator("conda_file", mode="before")
    @classmethod
    def _conda(cls, value: Any) -> Any:
        if value is None or isinstance(value, dict):
            return value
        return _path_text(value)


def parse_asset_reference(text: str) -> tuple[str, str | None, str | None]:
    """``(name, version, label)`` of ``azureml:<name>:<version>``, ``azureml:<name>@<label>``,
    ``<name>:<version>`` or ``<name>@<label>``; raises ``ValueError`` saying what is wrong."""
    body = text[len("azureml:"):] if text.startswith("azureml:") else text
    if body.startswith("//"):
        raise ValueError(f"'{text}' is a URI, not a model reference")
    if "@" in body:
        name, label = body.split("@", 1)
        version = None
        if not label:
            raise ValueError(f"'{text}' has no label after '@' (write {name}@latest)")
    elif ":" in body:
        name, version = body.split(":", 1)
        label = None
        if not version:
            raise ValueError(f"'{text}' has no version after ':' (write {name}:1)")
    else:
        name, version, label = body, None, None
    check_asset_name(name, "a model")
    return name, version, label


#: Path prefixes that name something other than a local file (left as written).
_NOT_LOCAL = ("runs:", "models:", "mlflow-artifacts:")


def _resolve_inline_path(mapping: Any, key: str, base: Path) -> None:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if isinstance(value, str) and "://" not in value and not value.startswith(_NOT_LOCAL):
        mapping[key] = resolve_local_path(value, base)


def load_entity(cls: builtins.type[E], source: str | os.PathLike[str], *,
                relative_origin: str | None, params_override: list[dict[str, Any]] | None,
                what: str, resolve: tuple[str, ...] = ()) -> E:
    """Build ``cls`` from a CLI v2 YAML file.

    Relative paths under the dotted keys ``resolve`` (``model.path``, ``code_configuration.code``)
    resolve against the file's folder (or ``relative_origin``); errors name the file.
    """
    path = Path(source)
    data = read_yaml(path, what)
    if not isinstance(data, dict):
        raise InvalidSpecError(
            f"a {what} must be a YAML mapping (key: value lines), got {type(data).__name__}.",
            source=str(source))
    apply_overrides(data, params_override)
    base = Path(relative_origin) if relative_origin else path.resolve().parent
    for dotted in resolve:
        *parents, key = dotted.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        _resolve_inline_path(node, key, base)
    try:
        return cls(**data)
    except InvalidSpecError as err:
        raise err.with_source(str(source)) from None


def load_model(source: str | os.PathLike[str], *, relative_origin: str | None = None,
               params_override: list[dict[str, Any]] | None = None, **kwargs: Any) -> Model:
    """Load a model YAML file (``azure.ai.ml.load_model``); a relative ``path`` resolves
    against the file's folder."""
    return load_entity(Model, source, relative_origin=relative_origin,
                       params_override=params_override, what="model file", resolve=("path",))
