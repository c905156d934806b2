"""Reading pipeline job files (``type: pipeline``) and command component files.

A pipeline file's ``jobs`` hold ``type: command`` nodes (inline, or ``component: file:x.yaml``)
and ``type: automl`` nodes (the keys of a standalone AutoML job, built by
:func:`cirrusml.spec._yaml.job_from_dict` so that every AutoML field is checked the same way).
Relative paths resolve against the file's folder; a component's ``code`` against the component
file's folder (it need not exist yet: the runner says so when it is missing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cirrusml.data._io import Input, Output, port_from_yaml
from cirrusml.exceptions import InvalidSpecError, NotSupportedYetError
from cirrusml.spec._pipeline import (
    Command,
    CommandComponent,
    PipelineJob,
    PipelineJobSettings,
    check_literal,
)
from cirrusml.spec._pipeline_bindings import (
    LITERAL_TYPES,
    PORT_TYPES,
    NodeOutput,
    PipelineOutputRef,
    is_binding_text,
    parse_binding,
)
from cirrusml.spec._yaml import job_from_dict, read_yaml, resolve_local_path
from cirrusml.utils import suggestion

_PIPELINE_KEYS = ("$schema", "type", "name", "display_name", "description", "experiment_name",
                  "tags", "properties", "compute", "settings", "inputs", "outputs", "jobs",
                  "identity", "services")
_COMPONENT_KEYS = ("$schema", "type", "name", "version", "display_name", "description", "tags",
                   "inputs", "outputs", "code", "environment", "environment_variables",
                   "command", "is_deterministic", "resources", "distribution", "properties",
                   "additional_includes", "instance_count")
_NODE_KEYS = ("type", "component", "name", "display_name", "description", "tags", "inputs",
              "outputs", "compute", "environment_variables", "resources", "distribution",
              "limits", "identity", "properties", "services", "queue_settings",
              "experiment_name")
_INLINE_KEYS = ("command", "code", "environment", "is_deterministic")
_NODE_TYPES = ("command", "automl")
_AZURE_NODE_TYPES = ("sweep", "parallel", "pipeline", "spark", "data_transfer", "import",
                     "flow_parallel")
_AUTOML_DATA = ("training_data", "validation_data", "test_data")


def _check_keys(data: dict[str, Any], allowed: tuple[str, ...], where: str, prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidSpecError(
                f"unknown key '{key}' in {where}." + suggestion(str(key), allowed)
                + f" Valid keys: {', '.join(allowed)}.",
                field=f"{prefix}{key}")


def _mapping(value: Any, field: str, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidSpecError(f"must be a mapping of {what}, got {value!r}.", field=field)
    return {str(k): v for k, v in value.items()}


def _prefixed(err: InvalidSpecError, prefix: str) -> InvalidSpecError:
    return InvalidSpecError(err.message, field=f"{prefix}.{err.field}" if err.field else prefix,
                            source=err.source)


# ------------------------------------------------------------------------------ components


def component_from_dict(
    data: Any, *, base_path: str | Path, source: str | None = None
) -> CommandComponent:
    """A command component from a component file's mapping (``code`` against ``base_path``)."""
    where = f"component file '{source}'" if source else "the component"
    if not isinstance(data, dict):
        raise InvalidSpecError(
            f"{where} must be a YAML mapping (name, inputs, outputs, command, ...), got "
            f"{type(data).__name__}.")
    data = {str(k): v for k, v in data.items()}
    _check_keys(data, _COMPONENT_KEYS, where, "")
    kind = data.get("type", "command")
    if kind != "command":
        raise NotSupportedYetError(
            f"{where}: components of type '{kind}' are not supported; cirrusml runs command "
            "components (type: command).")
    inputs: dict[str, Any] = {}
    for key, value in _mapping(data.get("inputs"), "inputs", "input declarations").items():
        field = f"inputs.{key}"
        if not isinstance(value, dict) or "type" not in value:
            raise InvalidSpecError(
                f"must declare the input's type, such as {{type: uri_folder}} or "
                f"{{type: integer, default: 3}}; types: {', '.join(PORT_TYPES)}. Got {value!r}.",
                field=field, source=source)
        try:
            port = port_from_yaml(value, Input, field)
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=field, source=source) from None
        if port.path is not None and port.type not in LITERAL_TYPES and isinstance(port.path, str):
            port.path = resolve_local_path(port.path, Path(base_path))
        inputs[key] = port
    outputs: dict[str, Any] = {}
    for key, value in _mapping(data.get("outputs"), "outputs", "output declarations").items():
        try:
            outputs[key] = port_from_yaml(value, Output, f"outputs.{key}") if value else None
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=f"outputs.{key}", source=source) from None
    extra = {k: data[k] for k in ("resources", "distribution", "properties",
                                  "additional_includes", "instance_count") if k in data}
    code = data.get("code")
    if code is not None and not isinstance(code, str):
        raise InvalidSpecError(f"must be the path of a folder, got {code!r}.", field="code",
                               source=source)
    try:
        return CommandComponent(
            name=_opt_str(data.get("name"), "name", source),
            version=data.get("version"),
            display_name=_opt_str(data.get("display_name"), "display_name", source),
            description=_opt_str(data.get("description"), "description", source),
            tags=_mapping(data.get("tags"), "tags", "tag names to values"),
            command=data.get("command"),
            environment=data.get("environment"),
            environment_variables=_mapping(data.get("environment_variables"),
                                           "environment_variables", "names to values"),
            code=code,
            inputs=inputs,
            outputs=outputs,
            is_deterministic=data.get("is_deterministic", True),
            base_path=base_path,
            source=None,
            **extra,
        )
    except InvalidSpecError as err:
        raise InvalidSpecError(err.message, field=err.field, source=source) from None


def _opt_str(value: Any, field: str, source: str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InvalidSpecError(f"must be a string, got {value!r}.", field=field, source=source)


def load_component(
    source: str | os.PathLike[str] | None = None, *, client: Any = None, **kwargs: Any
) -> CommandComponent:
    """Load a command component file (``azure.ai.ml.load_component``).

    ``code`` resolves against the file's folder; the folder need not exist yet.
    """
    if source is None:
        raise InvalidSpecError("load_component needs source='component.yaml'.", field="source")
    text = os.fspath(source)
    if text.startswith("file:"):
        text = text[len("file:"):]
    path = Path(text).expanduser().resolve()
    data = read_yaml(path, what="component file")
    component = component_from_dict(data, base_path=path.parent, source=str(path))
    component.source = str(path)
    return component


# -------------------------------------------------------------------------------- pipelines


def pipeline_from_dict(
    data: dict[str, Any], *, base_path: str | Path = ".", source: str | None = None
) -> PipelineJob:
    """Build a pipeline job from a parsed ``type: pipeline`` file and check it."""
    try:
        job = _pipeline(data, Path(base_path).resolve())
        job.validate_spec()
    except InvalidSpecError as err:
        raise (err.with_source(source) if source and not err.source else err) from None
    return job


def _pipeline(data: dict[str, Any], base: Path) -> PipelineJob:
    data = {str(k): v for k, v in data.items()}
    _check_keys(data, _PIPELINE_KEYS, "the pipeline job", "")
    inputs = {k: _pipeline_input(k, v, base)
              for k, v in _mapping(data.get("inputs"), "inputs", "input names to values").items()}
    outputs: dict[str, Any] = {}
    for key, value in _mapping(data.get("outputs"), "outputs", "output names").items():
        try:
            outputs[key] = port_from_yaml(value, Output, f"outputs.{key}") if value else None
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=f"outputs.{key}") from None
    settings = PipelineJobSettings(**_mapping(data.get("settings"), "settings", "settings"))
    for key in ("name", "display_name", "description", "experiment_name", "compute"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidSpecError(f"must be a string, got {data[key]!r}.", field=key)
    job = PipelineJob(
        name=data.get("name"),
        display_name=data.get("display_name"),
        description=data.get("description"),
        experiment_name=data.get("experiment_name"),
        tags={k: str(v) for k, v in _mapping(data.get("tags"), "tags", "tags").items()},
        properties={k: str(v) for k, v in
                    _mapping(data.get("properties"), "properties", "properties").items()},
        compute=data.get("compute"),
        inputs=inputs,
        outputs=outputs,
        settings=settings,
        base_path=base,
    )
    nodes = _mapping(data.get("jobs"), "jobs", "node names to nodes")
    if not nodes:
        raise InvalidSpecError("is required: a pipeline needs at least one node under jobs.",
                               field="jobs")
    for key, value in nodes.items():
        job.jobs[key] = _node(job, key, value, base)
    job._name_nodes()
    return job


def _pipeline_input(key: str, value: Any, base: Path) -> Any:
    field = f"inputs.{key}"
    if is_binding_text(value):
        raise InvalidSpecError(f"a pipeline input takes a value, not the binding {value!r}.",
                               field=field)
    if not isinstance(value, dict):
        return value  # a literal; checked by the plan
    kind = value.get("type")
    if kind in LITERAL_TYPES:
        extra = set(value) - {"type", "default", "value", "description", "optional", "min",
                              "max", "enum"}
        if extra:
            raise InvalidSpecError(
                f"unknown key(s) {', '.join(sorted(map(str, extra)))}; a {kind} input takes "
                "type and default.", field=field)
        default = value.get("default", value.get("value"))
        if default is not None:
            check_literal(default, kind, field)
        return Input(type=kind, default=default, optional=value.get("optional"),
                     description=value.get("description"), min=value.get("min"),
                     max=value.get("max"), enum=value.get("enum"))
    try:
        port = port_from_yaml(value, Input, field)
    except InvalidSpecError as err:
        raise InvalidSpecError(err.message, field=field) from None
    if isinstance(port.path, str):
        port.path = resolve_local_path(port.path, base)
    return port


def _node(job: PipelineJob, key: str, value: Any, base: Path) -> Any:
    where = f"jobs.{key}"
    if not isinstance(value, dict):
        raise InvalidSpecError(f"must be a mapping (type: command or type: automl, ...), got "
                               f"{value!r}.", field=where)
    value = {str(k): v for k, v in value.items()}
    kind = value.get("type")
    if kind is None:
        raise InvalidSpecError("is required; use one of command, automl.", field=f"{where}.type")
    if kind == "command":
        return _command_node(job, key, value, base)
    if kind == "automl":
        return _automl_node(job, key, value, base)
    hint = (f" Azure's '{kind}' nodes are not supported yet." if kind in _AZURE_NODE_TYPES
            else suggestion(str(kind), _NODE_TYPES))
    raise InvalidSpecError(f"'{kind}' is not a node type cirrusml runs." + hint
                           + " Use one of command, automl.", field=f"{where}.type")


def _node_input(value: Any, base: Path, field: str) -> Any:
    """A node's input value as written: a binding, data, or a literal."""
    if is_binding_text(value):
        return parse_binding(value, where=field)
    if isinstance(value, dict):
        path = value.get("path")
        if is_binding_text(path):
            extra = set(value) - {"path", "type", "mode"}
            if extra:
                raise InvalidSpecError(
                    f"unknown key(s) {', '.join(sorted(map(str, extra)))} beside a bound path.",
                    field=field)
            return parse_binding(str(path), where=field)
        try:
            port = port_from_yaml(value, Input, field)
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=field) from None
        if port.type in LITERAL_TYPES:
            return port
        if port.path is None:
            raise InvalidSpecError(f"Input of type {port.type} needs a path.", field=field)
        if isinstance(port.path, str):
            port.path = resolve_local_path(port.path, base)
        return port
    if isinstance(value, list):
        raise InvalidSpecError(f"must be a single value, got the list {value!r}.", field=field)
    return value


def _node_outputs(
    job: PipelineJob, key: str, value: Any, where: str
) -> dict[str, Output | None]:
    """A node's outputs; those bound to pipeline outputs are recorded on ``job``."""
    outputs: dict[str, Output | None] = {}
    for name, out in _mapping(value, f"{where}.outputs", "output names").items():
        field = f"{where}.outputs.{name}"
        ref = None
        if is_binding_text(out):
            ref = parse_binding(out, where=field, allow_output=True)
            out = None
        elif isinstance(out, dict) and is_binding_text(out.get("path")):
            ref = parse_binding(str(out["path"]), where=field, allow_output=True)
            out = {k: v for k, v in out.items() if k != "path"} or None
        if ref is not None:
            if not isinstance(ref, PipelineOutputRef):
                raise InvalidSpecError(
                    f"'{ref}' cannot bind an output; a node's output binds "
                    "${{parent.outputs.<name>}}.", field=field)
            job._output_sources[ref.name] = NodeOutput(key, name)
            if out is None:
                declared = job.outputs.get(ref.name)
                outputs[name] = Output(type=declared.type) if isinstance(declared, Output) \
                    else None
                continue
        try:
            outputs[name] = port_from_yaml(out, Output, field) if out else None
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=field) from None
    return outputs


def _command_node(job: PipelineJob, key: str, value: dict[str, Any], base: Path) -> Command:
    where = f"jobs.{key}"
    component_ref = value.get("component")
    allowed = _NODE_KEYS if component_ref is not None else _NODE_KEYS + _INLINE_KEYS
    if component_ref is not None:
        for inline in _INLINE_KEYS:
            if inline in value:
                raise InvalidSpecError(
                    f"a node with a component takes its {inline} from the component; remove it "
                    "here (or drop the component and write the command inline).",
                    field=f"{where}.{inline}")
    _check_keys(value, allowed, f"node '{key}'", f"{where}.")
    raw_inputs = {k: _node_input(v, base, f"{where}.inputs.{k}")
                  for k, v in _mapping(value.get("inputs"), f"{where}.inputs",
                                       "input names to values").items()}
    raw_outputs = _node_outputs(job, key, value.get("outputs"), where)
    env = _mapping(value.get("environment_variables"), f"{where}.environment_variables",
                   "names to values")
    if component_ref is None:
        if not value.get("command"):
            raise InvalidSpecError(
                "is required for a command node without a component; give the command line "
                "(or component: file:./component.yaml).", field=f"{where}.command")
        try:
            component = CommandComponent(
                command=value.get("command"), code=value.get("code"),
                environment=value.get("environment"),
                is_deterministic=value.get("is_deterministic", True),
                inputs=raw_inputs,
                outputs={k: v or Output(type="uri_folder") for k, v in raw_outputs.items()},
                base_path=base)
        except InvalidSpecError as err:
            raise _prefixed(err, where) from None
        component._inline = True
        node_inputs: dict[str, Any] = {}
        node_outputs: dict[str, Output] = {}
    else:
        component = _component(component_ref, base, f"{where}.component")
        node_inputs = raw_inputs
        node_outputs = {k: v for k, v in raw_outputs.items() if v is not None}
        for name in node_inputs:
            if name not in component.inputs:
                raise InvalidSpecError(
                    f"the component '{component.name or 'command'}' has no input '{name}'."
                    + suggestion(name, component.inputs)
                    + f" Its inputs: {', '.join(component.inputs) or 'none'}.",
                    field=f"{where}.inputs.{name}")
    for text_key in ("display_name", "description", "compute"):
        if value.get(text_key) is not None and not isinstance(value[text_key], str):
            raise InvalidSpecError(f"must be a string, got {value[text_key]!r}.",
                                   field=f"{where}.{text_key}")
    return Command(
        component=component, inputs=node_inputs, outputs=node_outputs, name=key,
        display_name=value.get("display_name"), description=value.get("description"),
        tags={k: str(v) for k, v in _mapping(value.get("tags"), f"{where}.tags", "tags").items()},
        compute=value.get("compute"), environment_variables=env)


def _component(ref: Any, base: Path, field: str) -> CommandComponent:
    if isinstance(ref, dict):
        try:
            return component_from_dict(ref, base_path=base)
        except InvalidSpecError as err:
            raise _prefixed(err, field) from None
    if not isinstance(ref, str):
        raise InvalidSpecError(f"must be file:<component.yaml> or a mapping, got {ref!r}.",
                               field=field)
    text = ref[len("file:"):] if ref.startswith("file:") else ref
    if text.startswith(("azureml:", "azureml://")) or ref.startswith("azureml"):
        raise InvalidSpecError(
            f"'{ref}' is a registered component; cirrusml loads components from files: write "
            "component: file:./component.yaml.", field=field)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    try:
        return load_component(path)
    except InvalidSpecError as err:
        raise InvalidSpecError(str(err), field=field) from None


def _automl_node(job: PipelineJob, key: str, value: dict[str, Any], base: Path) -> Any:
    where = f"jobs.{key}"
    data = dict(value)
    raw_outputs = data.pop("outputs", None)
    for data_key in _AUTOML_DATA:
        entry = data.get(data_key)
        if isinstance(entry, dict) and is_binding_text(entry.get("path")):
            data[data_key] = entry["path"]
    try:
        node = job_from_dict(data, base_path=base, pipeline_node=True)
    except InvalidSpecError as err:
        raise _prefixed(err, where) from None
    for data_key in _AUTOML_DATA:
        entry = getattr(node, data_key)
        if is_binding_text(entry):
            setattr(node, data_key, parse_binding(entry, where=f"{where}.{data_key}"))
    outputs = _node_outputs(job, key, raw_outputs, where)
    node.outputs = {k: v or Output(type="mlflow_model") for k, v in outputs.items()} or None
    node._as_pipeline_node()
    return node


__all__ = ["component_from_dict", "load_component", "pipeline_from_dict"]
