"""Pipeline jobs: ``PipelineJob``, ``CommandComponent`` and its nodes (``Command``).

They mirror ``azure.ai.ml.entities``: a pipeline job holds named nodes (``jobs``), each a
command node (a component called with its inputs) or an AutoML job; nodes bind their inputs to
the pipeline's inputs (``${{parent.inputs.x}}``) or to other nodes' outputs
(``${{parent.jobs.n.outputs.y}}``). :meth:`PipelineJob._plan` checks all of it and gives the
plan the pipeline runner executes: plain JSON data, every local path absolute.

The YAML side (``type: pipeline`` files, component files) is :mod:`cirrusml.spec._pipeline_yaml`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import IO, Any

import pandas as pd
import yaml
from pydantic import field_validator

from cirrusml.data._io import Input, Output
from cirrusml.exceptions import CirrusMLError, InvalidSpecError
from cirrusml.spec._base import Boolean, Integer, SpecModel, String
from cirrusml.spec._dump import ORDER
from cirrusml.spec._job import AutoMLTabular
from cirrusml.spec._pipeline_bindings import (
    COMMAND_INPUT,
    COMMAND_OUTPUT,
    COMMAND_REFERENCE,
    DATA_TYPES,
    LITERAL_TYPES,
    NODE_NAME,
    OPTIONAL_GROUP,
    PORT_TYPES,
    Binding,
    NodeOutput,
    PipelineInput,
    PipelineOutputRef,
    PortError,
    is_binding_text,
    parse_binding,
    register_node,
)
from cirrusml.spec._yaml import resolve_local_path
from cirrusml.utils import suggestion

_AUTOML_DATA = ("training_data", "validation_data", "test_data")
_ANY_DATA = "<data>"  # the declared type of an AutoML data input: any data type


def _choices(names: Any) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


# ------------------------------------------------------------------------------- settings


class PipelineJobSettings(SpecModel):
    """A pipeline job's ``settings`` (``azure.ai.ml.entities.PipelineJobSettings``).

    ``default_compute`` is recorded (nodes run locally); ``max_parallel_nodes`` is ours: how
    many nodes run side by side (``None``: the executor's default).
    """

    _block = "settings"

    default_compute: String | None = None
    default_datastore: String | None = None
    force_rerun: Boolean | None = None
    continue_on_step_failure: Boolean | None = None
    max_parallel_nodes: Integer | None = None
    on_init: String | None = None
    on_finalize: String | None = None

    @field_validator("max_parallel_nodes")
    @classmethod
    def _parallel(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be 1 or more, got {value}")
        return value


# ------------------------------------------------------------------------------ components


def literal_type_of(value: Any) -> str | None:
    """The literal input type of a Python value (``None`` when it is not a literal)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def check_literal(value: Any, type_: str, where: str, decl: Input | None = None) -> Any:
    """``value`` as a literal of ``type_``; raises ``InvalidSpecError`` naming ``where``."""
    got = f"{value!r} ({type(value).__name__})"
    if type_ == "string":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidSpecError(f"expects a string, got {got}.", field=where)
        value = str(value)
    elif type_ == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidSpecError(f"expects an integer, got {got}.", field=where)
    elif type_ == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise InvalidSpecError(f"expects a number, got {got}.", field=where)
    elif type_ == "boolean":
        if not isinstance(value, bool):
            raise InvalidSpecError(f"expects a boolean (true or false), got {got}.", field=where)
    if decl is not None:
        if decl.enum is not None and value not in decl.enum:
            raise InvalidSpecError(
                f"{value!r} is not one of the allowed values {_choices(map(repr, decl.enum))}.",
                field=where)
        if decl.min is not None and value < decl.min:
            raise InvalidSpecError(f"{value!r} is below the minimum {decl.min}.", field=where)
        if decl.max is not None and value > decl.max:
            raise InvalidSpecError(f"{value!r} is above the maximum {decl.max}.", field=where)
    return value


def _check_port_type(type_: str, where: str) -> None:
    if type_ not in PORT_TYPES:
        raise InvalidSpecError(
            f"'{type_}' is not a type a pipeline can pass." + suggestion(type_, PORT_TYPES)
            + f" Use one of {_choices(PORT_TYPES)}.",
            field=where,
        )


class CommandComponent:
    """A command component (``azure.ai.ml.entities.CommandComponent``): a command line with
    declared inputs and outputs, run in a copy of its ``code`` folder.

    Built by :func:`command` or loaded from a component file (``load_component``). Call it with
    keyword inputs to make a node: ``node = component(x=upstream.outputs.y, n=3)``.

    ``inputs`` maps names to their declaration (an ``Input``: type, ``optional``, ``default``);
    a value given in place of a declaration (a literal, data, a binding) is the input's default
    binding, its type taken from the value.
    """

    type = "command"

    def __init__(
        self,
        *,
        name: str | None = None,
        version: str | int | None = None,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        command: str | None = None,
        environment: Any = None,
        environment_variables: dict[str, Any] | None = None,
        code: str | os.PathLike[str] | None = None,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        is_deterministic: bool = True,
        compute: str | None = None,
        base_path: str | os.PathLike[str] | None = None,
        source: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        where = f"component '{name}'" if name else "command()"
        if command is not None and not isinstance(command, str):
            raise InvalidSpecError(f"{where}: command must be a string, got {command!r}.",
                                   field="command")
        if not isinstance(is_deterministic, bool):
            raise InvalidSpecError(f"{where}: must be true or false, got {is_deterministic!r}.",
                                   field="is_deterministic")
        self.name = name
        self.version = None if version is None else str(version)
        self.display_name = display_name
        self.description = description
        self.tags = dict(tags or {})
        self.command = command
        self.environment = environment
        self.environment_variables = {str(k): str(v)
                                      for k, v in (environment_variables or {}).items()}
        self.is_deterministic = is_deterministic
        self.compute = compute
        self.source = None if source is None else str(Path(source).resolve())
        base = Path(base_path) if base_path is not None else (
            Path(self.source).parent if self.source else Path.cwd())
        self._base_path = str(base.resolve())
        self.code = None if code is None else resolve_local_path(os.fspath(code),
                                                                  Path(self._base_path))
        #: Azure's other command settings (instance_count, distribution, ...), recorded only.
        self.extra = dict(kwargs)
        #: Declared like the inline node they came from (YAML written back the same way).
        self._inline = False
        self.inputs: dict[str, Input] = {}
        self._defaults: dict[str, Any] = {}
        self._inferred: set[str] = set()
        for key, value in (inputs or {}).items():
            self._declare_input(str(key), value, where)
        self.outputs: dict[str, Output] = {}
        for key, value in (outputs or {}).items():
            if value is None:
                value = Output(type="uri_folder")
            if not isinstance(value, Output):
                raise InvalidSpecError(
                    f"{where}: outputs.{key} must be an Output(type=...), got {value!r}.",
                    field=f"outputs.{key}")
            _check_port_type(value.type, f"outputs.{key}")
            if value.type in LITERAL_TYPES:
                raise InvalidSpecError(
                    f"{where}: outputs.{key} is of type {value.type}; outputs are data "
                    f"({_choices(DATA_TYPES)}).", field=f"outputs.{key}")
            self.outputs[str(key)] = value

    def _declare_input(self, key: str, value: Any, where: str) -> None:
        field = f"inputs.{key}"
        if isinstance(value, Input):
            _check_port_type(value.type, field)
            self.inputs[key] = value
            if value.type in LITERAL_TYPES:
                if value.default is not None:
                    self._defaults[key] = check_literal(value.default, value.type,
                                                        f"{field}.default", value)
            elif value.path is not None:
                self._defaults[key] = value
            return
        literal = literal_type_of(value)
        if literal is not None and not is_binding_text(value):
            self.inputs[key] = Input(type=literal, default=value)
            self._defaults[key] = value
            return
        if isinstance(value, Binding) or is_binding_text(value):
            self.inputs[key] = Input(type="uri_folder")
            self._defaults[key] = value
            self._inferred.add(key)
            return
        raise InvalidSpecError(
            f"{where}: {field} must be an Input(type=...), a literal or a binding, got "
            f"{value!r}.", field=field)

    def __call__(self, *args: Any, **kwargs: Any) -> Command:
        """A node of this component with the given inputs bound (keyword arguments only)."""
        if args:
            raise InvalidSpecError(
                f"component '{self.name or 'command'}' takes its inputs by name "
                f"({_choices(self.inputs)}), not by position.")
        for key in kwargs:
            if key not in self.inputs:
                raise PortError(
                    f"component '{self.name or 'command'}' has no input '{key}'."
                    + suggestion(key, self.inputs) + f" Its inputs: {_choices(self.inputs)}.",
                    field=f"inputs.{key}")
        node = Command(component=self, inputs=kwargs, compute=self.compute)
        register_node(node)
        return node

    def _to_yaml_dict(self, input_types: dict[str, str] | None = None) -> dict[str, Any]:
        """The component as a component file's mapping (``input_types`` fills inferred types)."""
        out: dict[str, Any] = {"type": "command"}
        for key in ("name", "version", "display_name", "description"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.tags:
            out["tags"] = dict(self.tags)
        inputs: dict[str, Any] = {}
        for key, decl in self.inputs.items():
            type_ = (input_types or {}).get(key, decl.type) if key in self._inferred else decl.type
            entry: dict[str, Any] = {"type": type_}
            default = self._defaults.get(key)
            if key not in self._inferred and default is not None:
                if isinstance(default, Input):
                    entry["path"] = resolve_local_path(str(default.path), Path(self._base_path))
                else:
                    entry["default"] = default
            for attr in ("optional", "min", "max", "enum", "description"):
                if getattr(decl, attr, None) is not None:
                    entry[attr] = getattr(decl, attr)
            inputs[key] = entry
        if inputs:
            out["inputs"] = inputs
        if self.outputs:
            out["outputs"] = {k: {"type": v.type} for k, v in self.outputs.items()}
        if self.code is not None:
            out["code"] = self.code
        if self.environment is not None:
            out["environment"] = self.environment
        if self.environment_variables:
            out["environment_variables"] = dict(self.environment_variables)
        if not self.is_deterministic:
            out["is_deterministic"] = False
        if self.command is not None:
            out["command"] = self.command
        return out

    def __repr__(self) -> str:
        return (f"CommandComponent(name={self.name!r}, inputs={list(self.inputs)}, "
                f"outputs={list(self.outputs)})")


class _NodeInputs:
    """``node.inputs``: ``node.inputs.x`` is what ``x`` is bound to; assigning rebinds it."""

    _node: Command

    def __init__(self, node: Command) -> None:
        object.__setattr__(self, "_node", node)

    def _check(self, name: str) -> None:
        inputs = self._node.component.inputs
        if name not in inputs:
            raise PortError(
                f"node '{self._node.name or 'command'}' has no input '{name}'."
                + suggestion(name, inputs) + f" Its inputs: {_choices(inputs)}.",
                field=f"inputs.{name}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._check(name)
        node = self._node
        return node._inputs.get(name, node.component._defaults.get(name))

    def __setattr__(self, name: str, value: Any) -> None:
        self._check(name)
        self._node._inputs[name] = value

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.__setattr__(name, value)

    def __iter__(self) -> Any:
        return iter(self._node.component.inputs)

    def __contains__(self, name: object) -> bool:
        return name in self._node.component.inputs

    def keys(self) -> list[str]:
        return list(self._node.component.inputs)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]


class _NodeOutputs:
    """``node.outputs``: ``node.outputs.y`` is a binding to the node's output ``y``."""

    _node: Command

    def __init__(self, node: Command) -> None:
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name: str) -> NodeOutput:
        if name.startswith("_"):
            raise AttributeError(name)
        outputs = self._node._output_decls()
        if name not in outputs:
            raise PortError(
                f"node '{self._node.name or 'command'}' has no output '{name}'."
                + suggestion(name, outputs) + f" Its outputs: {_choices(outputs)}.",
                field=f"outputs.{name}")
        return NodeOutput(self._node, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if not isinstance(value, Output):
            raise InvalidSpecError(f"must be an Output(type=...), got {value!r}.",
                                   field=f"outputs.{name}")
        self._node._outputs[name] = value

    def __getitem__(self, name: str) -> NodeOutput:
        return self.__getattr__(name)

    def __iter__(self) -> Any:
        return iter(self._node._output_decls())

    def __contains__(self, name: object) -> bool:
        return name in self._node._output_decls()

    def keys(self) -> list[str]:
        return list(self._node._output_decls())


class Command:
    """A command node of a pipeline (``azure.ai.ml.entities.Command``): a component and the
    values its inputs are bound to. ``name`` is the node's name in its pipeline."""

    type = "command"

    def __init__(
        self,
        *,
        component: CommandComponent,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        name: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        compute: str | None = None,
        environment_variables: dict[str, Any] | None = None,
    ) -> None:
        self.component = component
        self._inputs: dict[str, Any] = dict(inputs or {})
        self._outputs: dict[str, Output] = dict(outputs or {})
        self.__dict__["_node_name"] = name
        self.display_name = display_name
        self.description = description
        self.tags = dict(tags or {})
        self.compute = compute
        self.environment_variables = {str(k): str(v)
                                      for k, v in (environment_variables or {}).items()}

    @property
    def name(self) -> str | None:
        return self.__dict__.get("_node_name")

    @name.setter
    def name(self, value: str | None) -> None:
        self.__dict__["_node_name"] = value

    @property
    def inputs(self) -> _NodeInputs:
        return _NodeInputs(self)

    @property
    def outputs(self) -> _NodeOutputs:
        return _NodeOutputs(self)

    @property
    def command(self) -> str | None:
        return self.component.command

    @property
    def code(self) -> str | None:
        return self.component.code

    @property
    def environment(self) -> Any:
        return self.component.environment

    @property
    def is_deterministic(self) -> bool:
        return self.component.is_deterministic

    def _output_decls(self) -> dict[str, Output]:
        decls = dict(self.component.outputs)
        if self.component._inline:
            decls.update(self._outputs)
        return decls

    def __repr__(self) -> str:
        return f"Command(name={self.name!r}, component={self.component.name!r})"


# ---------------------------------------------------------------------------- pipeline job


class _AttrDict(dict[str, Any]):
    """A mapping whose keys also read as attributes (``pipeline_job.inputs.x``)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise PortError(f"no '{name}'; the names are {_choices(self)}.") from None


_OUTPUT_ONLY = ("status", "services", "creation_context", "id", "studio_url")


class PipelineJob:
    """A pipeline job (``azure.ai.ml.entities.PipelineJob``, ``type: pipeline``).

    ``jobs`` maps node names to nodes (:class:`Command` or an AutoML job); ``inputs`` maps the
    pipeline's input names to values (``Input(...)`` or literals); ``outputs`` maps its output
    names to ``Output(...)`` declarations or to the node outputs they come from
    (``node.outputs.y``). Relative local paths resolve against ``base_path`` (the current folder
    when the job is built in Python, the file's folder when it is loaded from YAML).
    """

    type = "pipeline"

    def __init__(
        self,
        *,
        name: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        experiment_name: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        jobs: dict[str, Any] | None = None,
        settings: PipelineJobSettings | dict[str, Any] | None = None,
        compute: str | None = None,
        base_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.name = name
        self.display_name = display_name
        self.description = description
        self.experiment_name = experiment_name
        self.tags = dict(tags or {})
        self.properties = dict(properties or {})
        self.compute = compute
        self.inputs: dict[str, Any] = _AttrDict(inputs or {})
        self.jobs: dict[str, Any] = dict(jobs or {})
        self.outputs: dict[str, Any] = _AttrDict()
        self._output_sources: dict[str, NodeOutput] = {}
        for key, value in (outputs or {}).items():
            self._set_output(str(key), value)
        if isinstance(settings, dict):
            settings = PipelineJobSettings(**settings)
        self.settings = settings if settings is not None else PipelineJobSettings()
        self._base_path = str(Path(base_path if base_path is not None else Path.cwd()).resolve())
        # Set on jobs returned by the client; never written to YAML.
        self.status: str | None = None
        self.services: dict[str, Any] | None = None
        self.creation_context: dict[str, Any] | None = None
        self.id: str | None = None
        self.studio_url: str | None = None
        self._name_nodes()

    def _set_output(self, key: str, value: Any) -> None:
        if isinstance(value, NodeOutput):
            self._output_sources[key] = value
            self.outputs[key] = None
        elif value is None or isinstance(value, Output):
            self.outputs[key] = value
        else:
            raise InvalidSpecError(
                f"must be an Output(type=...) or a node output (node.outputs.<name>), got "
                f"{value!r}.", field=f"outputs.{key}")

    def _name_nodes(self) -> None:
        seen: dict[int, str] = {}
        for key, node in self.jobs.items():
            if id(node) in seen:
                raise InvalidSpecError(
                    f"the same node is in the pipeline twice, as '{seen[id(node)]}' and "
                    f"'{key}'; call the component again to make a second node.",
                    field=f"jobs.{key}")
            seen[id(node)] = key
            if isinstance(node, (Command, AutoMLTabular)):
                node.__dict__["_node_name"] = key

    # -------------------------------------------------------------------------- the plan

    def validate_spec(self) -> None:
        """Check the whole pipeline (bindings, types, cycles, every node); raises
        ``InvalidSpecError`` naming the node and the field."""
        self._plan()

    def _plan(self) -> dict[str, Any]:
        """The plan the pipeline runner executes (see the module docstring of the runner)."""
        return _Planner(self).plan()

    # ------------------------------------------------------------------------------ YAML

    def _to_yaml_dict(self) -> dict[str, Any]:
        """The job as a ``type: pipeline`` file's mapping (local paths absolute)."""
        plan = self._plan()
        out: dict[str, Any] = {"type": "pipeline"}
        for key in ("name", "display_name", "description", "experiment_name", "compute"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.properties:
            out["properties"] = dict(self.properties)
        settings = self.settings._to_yaml_dict()
        if settings:
            out["settings"] = settings
        inputs: dict[str, Any] = {}
        for key, raw in self.inputs.items():
            value = plan["inputs"].get(key)
            declared = raw.type if isinstance(raw, Input) else None
            if value is None:
                inputs[key] = {"type": declared} if declared else None
            elif value["kind"] == "data":
                inputs[key] = {"type": value["type"], "path": value["path"]}
            elif declared is not None:
                inputs[key] = {"type": declared, "default": value["value"]}
            else:
                inputs[key] = value["value"]
        if inputs:
            out["inputs"] = inputs
        if plan["outputs"]:
            out["outputs"] = {k: {"type": v["type"]} for k, v in plan["outputs"].items()}
        bound_to: dict[tuple[str, str], str] = {
            (v["node"], v["output"]): k for k, v in plan["outputs"].items()}
        jobs: dict[str, Any] = {}
        for key, node in self.jobs.items():
            step = plan["jobs"][key]
            node_out: dict[str, Any] = {}
            if isinstance(node, Command):
                entry = _command_yaml(node, step)
                for out_name, out_decl in step["outputs"].items():
                    if (key, out_name) in bound_to:
                        node_out[out_name] = f"${{{{parent.outputs.{bound_to[key, out_name]}}}}}"
                    elif node.component._inline or out_name in node._outputs:
                        node_out[out_name] = {"type": out_decl["type"]}
            else:
                entry = dict(step["job"])
                for data_key, value in step["inputs"].items():
                    entry[data_key] = _render(value)
                entry = {k: entry[k] for k in (*ORDER, *entry) if k in entry}
                for out_name, out_decl in step["outputs"].items():
                    if (key, out_name) in bound_to:
                        node_out[out_name] = f"${{{{parent.outputs.{bound_to[key, out_name]}}}}}"
                    else:
                        node_out[out_name] = {"type": out_decl["type"]}
            if node_out:
                entry["outputs"] = node_out
            jobs[key] = entry
        out["jobs"] = jobs
        return out

    def dump(self, dest: str | os.PathLike[str] | IO[str], **kwargs: Any) -> None:
        """Write the job as a ``type: pipeline`` YAML file to a path or an open stream."""
        text = yaml.safe_dump(self._to_yaml_dict(), sort_keys=False, default_flow_style=False,
                              allow_unicode=True)
        if isinstance(dest, (str, os.PathLike)):
            Path(dest).write_text(text, encoding="utf-8")
        elif hasattr(dest, "write"):
            dest.write(text)
        else:
            raise CirrusMLError(f"dump() takes a path or a text stream, got {type(dest).__name__}")

    def __repr__(self) -> str:
        status = f", status={self.status}" if self.status else ""
        return f"PipelineJob(name={self.name!r}, jobs={list(self.jobs)}{status})"

    __str__ = __repr__


def _render(value: dict[str, Any]) -> Any:
    """A plan VALUE as it is written in a pipeline file."""
    kind = value["kind"]
    if kind == "literal":
        return value["value"]
    if kind == "data":
        return {"type": value["type"], "path": value["path"]}
    if kind == "parent":
        return f"${{{{parent.inputs.{value['input']}}}}}"
    return f"${{{{parent.jobs.{value['node']}.outputs.{value['output']}}}}}"


def _command_yaml(node: Command, step: dict[str, Any]) -> dict[str, Any]:
    comp = node.component
    entry: dict[str, Any] = {"type": "command"}
    if comp._inline:
        entry["command"] = comp.command
        if comp.code is not None:
            entry["code"] = comp.code
        if comp.environment is not None:
            entry["environment"] = comp.environment
        if not comp.is_deterministic:
            entry["is_deterministic"] = False
        for key in ("name", "display_name", "description"):
            if getattr(comp, key) is not None:
                entry[key] = getattr(comp, key)
        env = {**comp.environment_variables, **node.environment_variables}
    elif comp.source is not None:
        entry["component"] = f"file:{comp.source}"
        env = dict(node.environment_variables)
    else:
        entry["component"] = comp._to_yaml_dict(step["input_types"])
        env = dict(node.environment_variables)
    for key in ("display_name", "description", "compute"):
        if getattr(node, key) is not None:
            entry[key] = getattr(node, key)
    if node.tags:
        entry["tags"] = dict(node.tags)
    if env:
        entry["environment_variables"] = env
    if step["inputs"]:
        entry["inputs"] = {k: _render(v) for k, v in step["inputs"].items()}
    return entry


class _Planner:
    """Builds a pipeline job's plan, checking every binding on the way."""

    def __init__(self, job: PipelineJob) -> None:
        self.job = job
        job._name_nodes()
        self.base = Path(job._base_path)
        self.names = {id(node): key for key, node in job.jobs.items()}
        self.input_values: dict[str, dict[str, Any] | None] = {}
        self.input_types: dict[str, str | None] = {}
        self.node_outputs: dict[str, dict[str, str]] = {}
        self.deps: dict[str, list[str]] = {}

    def plan(self) -> dict[str, Any]:
        job = self.job
        for key, raw in job.inputs.items():
            value, type_ = self._pipeline_input(str(key), raw)
            self.input_values[key] = value
            self.input_types[key] = type_
        for key, node in job.jobs.items():
            self._check_node_name(key)
            self.node_outputs[key] = self._declared_outputs(key, node)
        steps: dict[str, Any] = {}
        for key, node in job.jobs.items():
            self.deps[key] = []
            if isinstance(node, Command):
                steps[key] = self._command(key, node)
            else:
                steps[key] = self._automl(key, node)
        self._check_cycles()
        s = job.settings
        return {
            "name": job.name,
            "display_name": job.display_name,
            "experiment_name": job.experiment_name,
            "description": job.description,
            "tags": {str(k): str(v) for k, v in job.tags.items()},
            "settings": {
                "default_compute": s.default_compute or job.compute,
                "force_rerun": bool(s.force_rerun),
                "continue_on_step_failure": bool(s.continue_on_step_failure),
                "max_parallel_nodes": s.max_parallel_nodes,
            },
            "inputs": {k: v for k, v in self.input_values.items() if v is not None},
            "outputs": self._pipeline_outputs(),
            "jobs": steps,
        }

    # ---------------------------------------------------------------------------- checks

    @staticmethod
    def _check_node_name(key: str) -> None:
        if not NODE_NAME.fullmatch(key):
            raise InvalidSpecError(
                f"'{key}' is not a valid node name; use letters, digits, '_' and '-', starting "
                "with a letter or '_'.", field=f"jobs.{key}")

    def _declared_outputs(self, key: str, node: Any) -> dict[str, str]:
        if isinstance(node, Command):
            decls = node._output_decls()
            if not node.component._inline:
                for out_name, out in node._outputs.items():
                    if out_name not in node.component.outputs:
                        raise InvalidSpecError(
                            f"the component '{node.component.name or 'command'}' declares no "
                            f"output '{out_name}'." + suggestion(out_name, node.component.outputs)
                            + f" Its outputs: {_choices(node.component.outputs)}.",
                            field=f"jobs.{key}.outputs.{out_name}")
                    decls[out_name] = out
            for out_name, out in decls.items():
                if out.type in LITERAL_TYPES or out.type not in DATA_TYPES:
                    raise InvalidSpecError(
                        f"type '{out.type}' cannot be an output; use one of "
                        f"{_choices(DATA_TYPES)}.", field=f"jobs.{key}.outputs.{out_name}")
            return {k: v.type for k, v in decls.items()}
        if isinstance(node, AutoMLTabular):
            if not node._is_pipeline_node():
                node._as_pipeline_node()
            outputs = dict(node.outputs or {})
            for out_name, out in outputs.items():
                if out_name != "best_model":
                    raise InvalidSpecError(
                        f"an AutoML node has one output, best_model; '{out_name}' is not one.",
                        field=f"jobs.{key}.outputs.{out_name}")
                if not isinstance(out, Output) or out.type not in ("mlflow_model",
                                                                    "custom_model"):
                    raise InvalidSpecError(
                        f"must be Output(type='mlflow_model') (or custom_model), got {out!r}.",
                        field=f"jobs.{key}.outputs.{out_name}")
            return {k: v.type for k, v in outputs.items()}
        kind = getattr(node, "type", type(node).__name__)
        raise InvalidSpecError(
            f"node of type '{kind}' is not supported; a pipeline's nodes are command nodes "
            "(a component called with its inputs, or type: command) and AutoML jobs "
            "(type: automl).", field=f"jobs.{key}")

    def _pipeline_input(self, key: str, raw: Any) -> tuple[dict[str, Any] | None, str | None]:
        where = f"inputs.{key}"
        if raw is None:
            return None, None
        if isinstance(raw, Input):
            _check_port_type(raw.type, where)
            if raw.type in LITERAL_TYPES:
                if raw.default is None:
                    return None, raw.type
                value = check_literal(raw.default, raw.type, where, raw)
                return {"kind": "literal", "value": value}, raw.type
            if raw.path is None:
                return None, raw.type
            return self._data(raw.type, raw.path), raw.type
        if isinstance(raw, (Binding, pd.DataFrame)) or is_binding_text(raw):
            raise InvalidSpecError(
                "a pipeline input takes a value (Input(type=..., path=...) or a literal), not "
                f"{'a DataFrame' if isinstance(raw, pd.DataFrame) else repr(str(raw))}.",
                field=where)
        literal = literal_type_of(raw)
        if literal is None:
            raise InvalidSpecError(
                f"must be Input(type=..., path=...) or a literal (string, integer, number, "
                f"boolean), got {raw!r}.", field=where)
        return {"kind": "literal", "value": raw}, literal

    def _data(self, type_: str, path: Any) -> dict[str, Any]:
        return {"kind": "data", "type": type_,
                "path": resolve_local_path(os.fspath(path), self.base)}

    def _node_ref(self, binding: NodeOutput, node: str, where: str) -> str:
        if isinstance(binding.node, str):
            name = binding.node
            if name not in self.job.jobs:
                raise InvalidSpecError(
                    f"'{binding}' binds node '{name}', which is not in this pipeline."
                    + suggestion(name, self.job.jobs) + f" Its nodes: {_choices(self.job.jobs)}.",
                    field=where)
        else:
            found = self.names.get(id(binding.node))
            if found is None:
                raise InvalidSpecError(
                    f"binds an output of a node that is not part of this pipeline "
                    f"({binding.node!r}); make the node inside the pipeline function. Its "
                    f"nodes: {_choices(self.job.jobs)}.", field=where)
            name = found
        if name == node:
            raise InvalidSpecError(
                f"node '{node}' binds its own output '{binding.name}'; a node takes its inputs "
                "from other nodes (the pipeline's nodes form a cycle).", field=where)
        outputs = self.node_outputs[name]
        if binding.name not in outputs:
            raise InvalidSpecError(
                f"node '{name}' has no output '{binding.name}'." + suggestion(binding.name, outputs)
                + f" Its outputs: {_choices(outputs)}.", field=where)
        return name

    def _value(
        self, raw: Any, where: str, declared: str | None, node: str
    ) -> tuple[dict[str, Any] | None, str | None]:
        """A bound value as a plan VALUE, and its type; ``None`` for an input with no value."""
        if is_binding_text(raw):
            raw = parse_binding(raw, where=where)
        if isinstance(raw, PipelineInput):
            if raw.name not in self.job.inputs:
                raise InvalidSpecError(
                    f"'{raw}' binds pipeline input '{raw.name}', which the pipeline does not "
                    "declare." + suggestion(raw.name, self.job.inputs)
                    + f" Its inputs: {_choices(self.job.inputs)}.", field=where)
            type_ = self.input_types.get(raw.name)
            value = self.input_values.get(raw.name)
            if declared is not None and type_ is not None:
                self._check_kind(declared, type_, where, f"pipeline input '{raw.name}'")
            if value is not None and value["kind"] == "literal" and declared in LITERAL_TYPES:
                check_literal(value["value"], declared, where)
            if value is None:
                return None, type_
            return {"kind": "parent", "input": raw.name}, type_
        if isinstance(raw, NodeOutput):
            upstream = self._node_ref(raw, node, where)
            type_ = self.node_outputs[upstream][raw.name]
            if declared is not None:
                self._check_kind(declared, type_, where, f"output '{raw.name}' of node "
                                                          f"'{upstream}'")
            self.deps[node].append(upstream)
            return {"kind": "node", "node": upstream, "output": raw.name}, type_
        if isinstance(raw, PipelineOutputRef):
            raise InvalidSpecError(f"'{raw}' binds a pipeline output; an input takes "
                                   "${{parent.inputs.<name>}} or "
                                   "${{parent.jobs.<node>.outputs.<name>}}.", field=where)
        if isinstance(raw, pd.DataFrame):
            raise InvalidSpecError(
                "is an in-memory DataFrame, which a pipeline node cannot take; save it as CSV or "
                "Parquet and pass Input(type='uri_file', path=...) instead.", field=where)
        if isinstance(raw, Input):
            if raw.type in LITERAL_TYPES:
                if declared is not None:
                    self._check_kind(declared, raw.type, where, "the value")
                if raw.default is None:
                    return None, raw.type
                value = check_literal(raw.default, declared if declared in LITERAL_TYPES
                                      else raw.type, where)
                return {"kind": "literal", "value": value}, raw.type
            if declared is not None:
                self._check_kind(declared, raw.type, where, "the value")
            if raw.path is None:
                raise InvalidSpecError(f"Input(type='{raw.type}') needs a path.", field=where)
            return self._data(raw.type, raw.path), raw.type
        literal = literal_type_of(raw)
        if literal is None:
            raise InvalidSpecError(
                f"cannot bind {raw!r}; bind a literal, Input(type=..., path=...), a pipeline "
                "input or a node output (node.outputs.<name>).", field=where)
        if declared in DATA_TYPES or declared == _ANY_DATA:
            if not isinstance(raw, str):
                raise InvalidSpecError(
                    f"expects data ({'mltable' if declared == _ANY_DATA else declared}), got the "
                    f"literal {raw!r}; pass Input(type=..., path=...) or a binding.", field=where)
            type_ = "uri_folder" if declared == _ANY_DATA else declared
            return self._data(type_, raw), type_
        if declared in LITERAL_TYPES:
            return {"kind": "literal", "value": check_literal(raw, declared, where)}, declared
        return {"kind": "literal", "value": raw}, literal

    @staticmethod
    def _check_kind(declared: str, got: str, where: str, what: str) -> None:
        if declared == _ANY_DATA:
            if got not in DATA_TYPES:
                raise InvalidSpecError(f"expects data (mltable), but {what} is a {got}.",
                                       field=where)
            return
        if (declared in LITERAL_TYPES) != (got in LITERAL_TYPES):
            kind = "a literal" if declared in LITERAL_TYPES else "data"
            raise InvalidSpecError(
                f"expects {kind} of type {declared}, but {what} is of type {got}.", field=where)

    # ----------------------------------------------------------------------------- nodes

    def _command(self, key: str, node: Command) -> dict[str, Any]:
        comp = node.component
        where = f"jobs.{key}"
        label = f"component '{comp.name}'" if comp.name else "the command"
        if not comp.command or not comp.command.strip():
            raise InvalidSpecError("has no command; give the command line to run.",
                                   field=f"{where}.command")
        for name in node._inputs:
            if name not in comp.inputs:
                raise InvalidSpecError(
                    f"{label} has no input '{name}'." + suggestion(name, comp.inputs)
                    + f" Its inputs: {_choices(comp.inputs)}.", field=f"{where}.inputs.{name}")
        inputs: dict[str, Any] = {}
        types: dict[str, str] = {}
        optional: list[str] = []
        for name, decl in comp.inputs.items():
            field = f"{where}.inputs.{name}"
            raw = node._inputs.get(name, comp._defaults.get(name))
            declared = None if name in comp._inferred else decl.type
            value, type_ = (None, declared) if raw is None else self._value(raw, field, declared,
                                                                            key)
            types[name] = declared or type_ or "string"
            if value is None:
                if decl.optional:
                    optional.append(name)
                    continue
                why = "is not bound" if raw is None else f"is bound to '{raw}', which has no value"
                raise InvalidSpecError(
                    f"{label} requires input '{name}' ({types[name]}), which {why}; bind it "
                    f"(a value, a pipeline input or a node output) or declare it optional.",
                    field=field)
            if value["kind"] == "literal" and types[name] in LITERAL_TYPES:
                value["value"] = check_literal(value["value"], types[name], field, decl)
            inputs[name] = value
        outputs = {k: {"type": t} for k, t in self.node_outputs[key].items()}
        self._check_command_line(where, comp.command, comp.inputs, outputs, optional)
        return {
            "type": "command",
            "command": comp.command,
            "code": comp.code,
            "environment": comp.environment,
            "environment_variables": {**comp.environment_variables,
                                      **node.environment_variables},
            "is_deterministic": comp.is_deterministic,
            "inputs": inputs,
            "input_types": types,
            "optional_inputs": optional,
            "outputs": outputs,
            "component": {"name": comp.name, "version": comp.version, "source": comp.source},
        }

    @staticmethod
    def _check_command_line(where: str, command: str, inputs: dict[str, Any],
                            outputs: dict[str, Any], optional: list[str]) -> None:
        outside = OPTIONAL_GROUP.sub("", command)
        for ref in COMMAND_REFERENCE.finditer(command):
            body = ref.group("body")
            if m := COMMAND_INPUT.match(body):
                name = m.group("name")
                if name not in inputs:
                    raise InvalidSpecError(
                        f"'{ref.group(0)}' names no declared input." + suggestion(name, inputs)
                        + f" The inputs: {_choices(inputs)}.", field=f"{where}.command")
            elif m := COMMAND_OUTPUT.match(body):
                name = m.group("name")
                if name not in outputs:
                    raise InvalidSpecError(
                        f"'{ref.group(0)}' names no declared output." + suggestion(name, outputs)
                        + f" The outputs: {_choices(outputs)}.", field=f"{where}.command")
            else:
                raise InvalidSpecError(
                    f"'{ref.group(0)}' is not something a command line can use; use "
                    "${{inputs.<name>}} or ${{outputs.<name>}}.", field=f"{where}.command")
        for name in optional:
            used_outside = any(
                (m := COMMAND_INPUT.match(ref.group("body"))) and m.group("name") == name
                for ref in COMMAND_REFERENCE.finditer(outside))
            if used_outside:
                raise InvalidSpecError(
                    f"optional input '{name}' is not bound, but the command uses it outside an "
                    "optional group; write that part as $[[... ${{inputs." + name + "}}]] or "
                    "bind the input.", field=f"{where}.command")

    def _automl(self, key: str, job: AutoMLTabular) -> dict[str, Any]:
        where = f"jobs.{key}"
        try:
            job.validate_spec()
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=f"{where}.{err.field}" if err.field
                                   else where) from None
        inputs: dict[str, Any] = {}
        for data_key in _AUTOML_DATA:
            raw = getattr(job, data_key)
            if raw is None:
                continue
            value, _ = self._value(raw, f"{where}.{data_key}", _ANY_DATA, key)
            if value is None:
                if data_key == "training_data":
                    raise InvalidSpecError(f"is bound to '{raw}', which has no value.",
                                           field=f"{where}.{data_key}")
                continue
            inputs[data_key] = value
        try:
            data = job._to_yaml_dict()
        except InvalidSpecError as err:
            raise InvalidSpecError(err.message, field=f"{where}.{err.field}") from None
        for data_key in (*_AUTOML_DATA, "outputs"):
            data.pop(data_key, None)
        return {
            "type": "automl",
            "job": data,
            "inputs": inputs,
            "outputs": {k: {"type": t} for k, t in self.node_outputs[key].items()},
        }

    # --------------------------------------------------------------------------- the rest

    def _pipeline_outputs(self) -> dict[str, Any]:
        job = self.job
        out: dict[str, Any] = {}
        for name, source in job._output_sources.items():
            if name not in job.outputs:
                raise InvalidSpecError(
                    f"'${{{{parent.outputs.{name}}}}}' names a pipeline output the pipeline does "
                    "not declare." + suggestion(name, job.outputs)
                    + f" Its outputs: {_choices(job.outputs)}; declare it under outputs.",
                    field=f"outputs.{name}")
            node = self._node_ref(source, "", f"outputs.{name}")
            type_ = self.node_outputs[node][source.name]
            declared = job.outputs.get(name)
            out[name] = {"type": declared.type if isinstance(declared, Output) else type_,
                         "node": node, "output": source.name}
        for name in job.outputs:
            if name not in out:
                raise InvalidSpecError(
                    "is bound to no node output; bind it in a node's outputs with "
                    f"${{{{parent.outputs.{name}}}}} (or return it from the pipeline function).",
                    field=f"outputs.{name}")
        return {name: out[name] for name in job.outputs}

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for dep in self.deps.get(name, []):
                if state.get(dep) == 1:
                    cycle = path[path.index(dep):] + [dep]
                    raise InvalidSpecError(
                        "the nodes form a cycle: " + " -> ".join(cycle)
                        + "; a node cannot depend, directly or not, on its own outputs.",
                        field="jobs")
                if state.get(dep) is None:
                    visit(dep)
            path.pop()
            state[name] = 2

        for name in self.deps:
            if state.get(name) is None:
                visit(name)


__all__ = [
    "Command",
    "CommandComponent",
    "PipelineJob",
    "PipelineJobSettings",
    "check_literal",
    "literal_type_of",
]
