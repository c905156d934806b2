"""The base of every specification model: pydantic, strict about keys, one error style."""

from __future__ import annotations

import ast
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec._enums import AzureEnum
from cirrusml.utils import suggestion


def _type_name(value: Any) -> str:
    return type(value).__name__


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {value!r} ({_type_name(value)})")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r} ({_type_name(value)})")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r} ({_type_name(value)})")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r} ({_type_name(value)})")
    return value


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"must be a list of strings, got {value!r}")
    return list(value)


def _column_names(value: Any) -> list[str]:
    """A list of column names; a single name is wrapped into a list.

    Azure's SDK writes these lists into YAML as the text of a Python list (``"['store']"``).
    Such text is read back as the list it spells, and only when it spells a list of strings;
    anything else stays a single name.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                parsed = None
            if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
                return parsed
        return [value]
    return _string_list(value)


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping of names to strings, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}


Number = Annotated[int | float, BeforeValidator(_number)]
Integer = Annotated[int, BeforeValidator(_integer)]
Boolean = Annotated[bool, BeforeValidator(_boolean)]
String = Annotated[str, BeforeValidator(_string)]
StringList = Annotated[list[str], BeforeValidator(_string_list)]
#: Column names: a list, a single name, or Azure's text form of a list (``"['a', 'b']"``).
ColumnNames = Annotated[list[str], BeforeValidator(_column_names)]
StringMap = Annotated[dict[str, str], BeforeValidator(_string_map)]


def unwrap_mode(value: Any, *, key: str = "value") -> Any:
    """The plain value of Azure's wire form ``{mode: Auto}`` / ``{mode: Custom, value: n}``.

    ``{mode: Auto}`` becomes ``"auto"``; ``{mode: Custom, <key>: x}`` becomes ``x``. Anything
    that is not a mapping is returned unchanged.
    """
    if not isinstance(value, dict):
        return value
    mode = value.get("mode")
    if not isinstance(mode, str) or mode.lower() not in ("auto", "custom"):
        raise ValueError(
            f"must be a value or the mapping {{mode: Auto}} / {{mode: Custom, {key}: ...}}, "
            f"got {value!r}"
        )
    extra = set(value) - {"mode", key}
    if extra:
        raise ValueError(
            f"unknown key(s) {', '.join(sorted(map(str, extra)))} in {value!r}; "
            f"the mapping takes mode and {key}"
        )
    if mode.lower() == "auto":
        if value.get(key) is not None:
            raise ValueError(f"mode Auto takes no {key}, got {value!r}")
        return "auto"
    if value.get(key) is None:
        raise ValueError(f"mode Custom needs a {key}, got {value!r}")
    return value[key]


def spec_error(err: ValidationError, model: type[BaseModel], prefix: str = "") -> InvalidSpecError:
    """Turn pydantic's first error into one sentence naming the field."""
    first = err.errors(include_url=False)[0]
    nested = (first.get("ctx") or {}).get("error")
    if isinstance(nested, InvalidSpecError) and nested.field:
        # A settings block built inside a validator already named its own field in full.
        return InvalidSpecError(nested.message, field=nested.field)
    loc = [str(p) for p in first.get("loc", ())]
    field = ".".join(([prefix] if prefix else []) + loc) or None
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        owner = _model_at(model, loc[:-1])
        keys = owner.yaml_keys() if owner is not None and issubclass(owner, SpecModel) else []
        where = ".".join(([prefix] if prefix else []) + loc[:-1]) or "the job"
        message = f"unknown key '{key}' in {where}." + suggestion(key, keys)
        if keys:
            message += f" Valid keys: {', '.join(keys)}."
        return InvalidSpecError(message, field=field)
    message = str(first.get("msg", "is invalid"))
    for noise in ("Value error, ", "Assertion failed, "):
        message = message.replace(noise, "")
    if kind == "missing":
        message = "is required."
    elif not message.endswith((".", "?", "!")):
        message += "."
    return InvalidSpecError(message, field=field)


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        annotation = info.annotation
        current = None
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
    return current


class SpecModel(BaseModel):
    """A validated settings block. Errors come out as ``InvalidSpecError`` naming the field."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        arbitrary_types_allowed=True,
        populate_by_name=True,
    )

    #: YAML key of this block inside a job (``limits``), for error messages.
    _block: ClassVar[str] = ""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise spec_error(err, type(self), self._block) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        if name not in type(self).model_fields:
            raise InvalidSpecError(
                f"unknown setting '{name}'." + suggestion(name, type(self).yaml_keys()),
                field=f"{self._block}.{name}" if self._block else name,
            )
        try:
            super().__setattr__(name, value)
        except ValidationError as err:
            raise spec_error(err, type(self), self._block) from None

    @classmethod
    def yaml_keys(cls) -> list[str]:
        """The keys this block accepts in YAML."""
        return [
            info.alias or name for name, info in cls.model_fields.items() if not info.exclude
        ]

    def _to_yaml_dict(self) -> dict[str, Any]:
        """The YAML mapping of the values that were set (``None`` values are left out)."""
        out: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None:
                continue
            out[info.alias or name] = to_yaml_value(value)
        return out


def to_yaml_value(value: Any) -> Any:
    """Plain YAML data for a spec value (enums as their YAML spelling)."""
    if isinstance(value, SpecModel):
        return value._to_yaml_dict()
    if isinstance(value, AzureEnum):
        return value.yaml
    if isinstance(value, dict):
        return {to_yaml_value(k): to_yaml_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_yaml_value(v) for v in value]
    if hasattr(value, "_to_dict"):
        return value._to_dict()
    return value
