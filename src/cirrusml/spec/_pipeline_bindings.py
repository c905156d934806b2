"""The bindings of a pipeline job and the context in which ``@pipeline`` collects its nodes.

A binding names where a node's input comes from: a pipeline input (``PipelineInput``,
``${{parent.inputs.x}}``) or another node's output (``NodeOutput``,
``${{parent.jobs.n.outputs.y}}``). Inside a command string ``${{inputs.x}}`` and
``${{outputs.y}}`` name the command's own inputs and outputs. This module knows nothing of job
classes, so both the AutoML jobs (:mod:`cirrusml.spec._job`) and the pipeline entities
(:mod:`cirrusml.spec._pipeline`) build on it.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from typing import Any

from cirrusml.exceptions import InvalidSpecError

#: Literal input types and the data types a pipeline passes between nodes.
LITERAL_TYPES = ("string", "integer", "number", "boolean")
DATA_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model")
PORT_TYPES = LITERAL_TYPES + DATA_TYPES

_BINDING = re.compile(r"^\$\{\{\s*(?P<body>[^{}]*?)\s*\}\}$")
_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"
#: What a node (and an input or output) may be called.
NODE_NAME = re.compile(_NAME)
_PARENT_INPUT = re.compile(rf"^parent\.inputs\.(?P<name>{_NAME})$")
_PARENT_OUTPUT = re.compile(rf"^parent\.outputs\.(?P<name>{_NAME})$")
_NODE_OUTPUT = re.compile(rf"^parent\.jobs\.(?P<node>{_NAME})\.outputs\.(?P<name>{_NAME})$")
#: ``${{...}}`` anywhere inside a command line.
COMMAND_REFERENCE = re.compile(r"\$\{\{\s*(?P<body>[^{}]*?)\s*\}\}")
COMMAND_INPUT = re.compile(rf"^inputs\.(?P<name>{_NAME})$")
COMMAND_OUTPUT = re.compile(rf"^outputs\.(?P<name>{_NAME})$")
#: An optional group of a command line: ``$[[--n ${{inputs.n}}]]``.
OPTIONAL_GROUP = re.compile(r"\$\[\[(?P<body>.*?)\]\]", re.DOTALL)


class PortError(InvalidSpecError, AttributeError):
    """An input or output that a node does not declare (also an ``AttributeError``, so that
    ``hasattr(node.outputs, "x")`` is ``False``)."""


class Binding:
    """What every binding shares: its ``${{...}}`` text is its string form."""

    def _text(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._text()

    def __format__(self, spec: str) -> str:
        return format(self._text(), spec)


class PipelineInput(Binding):
    """A pipeline input (``${{parent.inputs.<name>}}``): a pipeline function's parameter."""

    def __init__(self, name: str, *, type: str | None = None) -> None:
        self.name = name
        self.type = type

    def _text(self) -> str:
        return f"${{{{parent.inputs.{self.name}}}}}"

    def __repr__(self) -> str:
        return f"PipelineInput(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PipelineInput) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("parent.inputs", self.name))


class PipelineOutputRef(Binding):
    """``${{parent.outputs.<name>}}`` in a node's outputs: that output is the pipeline's."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _text(self) -> str:
        return f"${{{{parent.outputs.{self.name}}}}}"

    def __repr__(self) -> str:
        return f"PipelineOutputRef(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PipelineOutputRef) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("parent.outputs", self.name))


class NodeOutput(Binding):
    """An output of a node (``${{parent.jobs.<node>.outputs.<name>}}``).

    ``node`` is the node object (from the DSL) or its name (from YAML).
    """

    def __init__(self, node: Any, name: str) -> None:
        self.node = node
        self.name = name

    @property
    def node_name(self) -> str | None:
        """The node's name, once it has one."""
        return self.node if isinstance(self.node, str) else node_name(self.node)

    def _text(self) -> str:
        return f"${{{{parent.jobs.{self.node_name or '<unnamed>'}.outputs.{self.name}}}}}"

    def __repr__(self) -> str:
        return f"NodeOutput(node={self.node_name!r}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NodeOutput) or other.name != self.name:
            return False
        if isinstance(self.node, str) or isinstance(other.node, str):
            return self.node_name == other.node_name
        return self.node is other.node

    def __hash__(self) -> int:
        return hash(("parent.jobs", self.name))


def node_name(node: Any) -> str | None:
    """The name a pipeline gave ``node`` (command nodes carry it as ``name``)."""
    name = node.__dict__.get("_node_name")
    return name if isinstance(name, str) else None


def is_binding_text(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("${{")


def parse_binding(text: str, *, where: str, allow_output: bool = False) -> Binding:
    """The binding a ``${{...}}`` string spells; ``where`` names the field for errors."""
    match = _BINDING.match(text.strip())
    body = match.group("body") if match else None
    if body is not None:
        if m := _PARENT_INPUT.match(body):
            return PipelineInput(m.group("name"))
        if m := _NODE_OUTPUT.match(body):
            return NodeOutput(m.group("node"), m.group("name"))
        if m := _PARENT_OUTPUT.match(body):
            if not allow_output:
                raise InvalidSpecError(
                    f"'{text}' binds a pipeline output, which only a node's outputs can do; an "
                    "input takes ${{parent.inputs.<name>}} or "
                    "${{parent.jobs.<node>.outputs.<name>}}.",
                    field=where,
                )
            return PipelineOutputRef(m.group("name"))
    forms = "${{parent.inputs.<name>}}, ${{parent.jobs.<node>.outputs.<name>}}"
    if allow_output:
        forms += ", ${{parent.outputs.<name>}}"
    raise InvalidSpecError(f"'{text}' is not a binding; use one of {forms}.", field=where)


class JobOutputs(dict[str, Any]):
    """An AutoML job's ``outputs``: a plain mapping, which in a pipeline node also answers
    ``job.outputs.best_model`` with a :class:`NodeOutput` binding."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        owner = self.__dict__.get("_owner")
        if name not in self:
            valid = ", ".join(sorted(self)) or "none"
            raise PortError(
                f"the AutoML job declares no output '{name}'; its outputs: {valid}. Declare it "
                "with outputs={'best_model': Output(type='mlflow_model')}.",
                field=f"outputs.{name}",
            )
        return NodeOutput(owner, name) if owner is not None else self[name]


# ------------------------------------------------------------------------ the DSL's context


@dataclass
class BuildContext:
    """The nodes a pipeline function made, in the order it made them."""

    function: str
    nodes: list[Any] = field(default_factory=list)


_CURRENT: contextvars.ContextVar[BuildContext | None] = contextvars.ContextVar(
    "cirrusml_pipeline_build", default=None)


def current_context() -> BuildContext | None:
    """The pipeline function being called, if any."""
    return _CURRENT.get()


def enter_context(function: str) -> tuple[BuildContext, contextvars.Token[Any]]:
    ctx = BuildContext(function)
    return ctx, _CURRENT.set(ctx)


def exit_context(token: contextvars.Token[Any]) -> None:
    _CURRENT.reset(token)


def register_node(node: Any) -> None:
    """Add ``node`` to the pipeline function being called (nothing happens outside one)."""
    ctx = _CURRENT.get()
    if ctx is not None and not any(n is node for n in ctx.nodes):
        ctx.nodes.append(node)


__all__ = [
    "COMMAND_INPUT",
    "COMMAND_OUTPUT",
    "COMMAND_REFERENCE",
    "DATA_TYPES",
    "LITERAL_TYPES",
    "NODE_NAME",
    "OPTIONAL_GROUP",
    "PORT_TYPES",
    "Binding",
    "BuildContext",
    "JobOutputs",
    "NodeOutput",
    "PipelineInput",
    "PipelineOutputRef",
    "PortError",
    "current_context",
    "enter_context",
    "exit_context",
    "is_binding_text",
    "node_name",
    "parse_binding",
    "register_node",
]
