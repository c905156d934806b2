"""Pipeline jobs as the client sees them: the plan's checks and graph, and the job entities that
``ml_client.jobs.get`` returns for a pipeline and for its command nodes.

A pipeline job is a job of the workspace (``type: pipeline`` in its record, its plan in the job
folder's ``plan.json``). The client checks the plan (:func:`check_plan`), records the job and
starts its runner, ``python -m cirrusml.pipeline._runner``, by module name (the client does not
import :mod:`cirrusml.pipeline`, which imports the client). The runner runs the nodes; each node
is a job of its own (``parent_job_name`` set): a ``command`` job, or an ordinary AutoML job for an
AutoML node. The plan's form is the contract between the pipeline's specification and its
execution; :func:`dependencies` and :func:`node_order` read its graph for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cirrusml.data._io import Output
from cirrusml.exceptions import InvalidSpecError
from cirrusml.tracking import JobRecord, JobStore
from cirrusml.utils import suggestion

__all__ = [
    "CommandJob",
    "PipelineJobRun",
    "PipelineNodeRun",
    "check_plan",
    "command_job",
    "dependencies",
    "node_order",
    "pipeline_job",
]

#: The node types a plan holds.
NODE_TYPES = ("command", "automl")
#: The kinds of a bound value.
VALUE_KINDS = ("literal", "data", "parent", "node")
#: The executor's default for ``settings.max_parallel_nodes``.
DEFAULT_MAX_PARALLEL_NODES = 2


# ------------------------------------------------------------------------------- the graph


def dependencies(plan: dict[str, Any]) -> dict[str, list[str]]:
    """Each node's upstream nodes (the nodes whose outputs it takes), in the plan's order."""
    out: dict[str, list[str]] = {}
    for node_name, node in plan.get("jobs", {}).items():
        upstream: list[str] = []
        for value in (node.get("inputs") or {}).values():
            if isinstance(value, dict) and value.get("kind") == "node" \
                    and value.get("node") not in upstream:
                upstream.append(str(value.get("node")))
        out[node_name] = upstream
    return out


def node_order(plan: dict[str, Any]) -> list[str]:
    """The nodes in an order that puts every node after its upstream nodes (declaration order
    where the graph leaves a choice). Raises ``InvalidSpecError`` naming a cycle."""
    deps = dependencies(plan)
    done: list[str] = []
    visiting: list[str] = []

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            cycle = visiting[visiting.index(node):] + [node]
            raise InvalidSpecError(
                f"the pipeline's nodes form a cycle: {' -> '.join(cycle)}; a node cannot take "
                "an output of itself or of a node downstream of it.", field="jobs")
        visiting.append(node)
        for upstream in deps.get(node, []):
            if upstream in deps:
                visit(upstream)
        visiting.pop()
        done.append(node)

    for node in deps:
        visit(node)
    return done


def check_plan(plan: Any) -> None:
    """Refuse a plan the runner cannot run, naming the node and input: no nodes, an unknown node
    type, a binding to a node, output or pipeline input that does not exist, a cycle, a
    pipeline output bound to nothing."""
    if not isinstance(plan, dict) or not isinstance(plan.get("jobs"), dict):
        raise InvalidSpecError("a pipeline plan is a mapping with 'jobs'.", field="jobs")
    jobs: dict[str, Any] = plan["jobs"]
    if not jobs:
        raise InvalidSpecError("a pipeline needs at least one node under 'jobs'.", field="jobs")
    parent_inputs = plan.get("inputs") or {}
    for node_name, node in jobs.items():
        where = f"jobs.{node_name}"
        if not isinstance(node, dict) or node.get("type") not in NODE_TYPES:
            kind = node.get("type") if isinstance(node, dict) else type(node).__name__
            raise InvalidSpecError(f"has type {kind!r}; a node is 'command' or 'automl'.",
                                   field=f"{where}.type")
        if node["type"] == "command" and not isinstance(node.get("command"), str):
            raise InvalidSpecError("is required: the command line the node runs.",
                                   field=f"{where}.command")
        if node["type"] == "automl":
            if not isinstance(node.get("job"), dict):
                raise InvalidSpecError("an AutoML node carries its job as a mapping.",
                                       field=f"{where}.job")
            if "training_data" not in (node.get("inputs") or {}):
                raise InvalidSpecError("is required: the AutoML node's training data.",
                                       field=f"{where}.training_data")
        for input_name, value in (node.get("inputs") or {}).items():
            _check_value(value, f"{where}.inputs.{input_name}", jobs, parent_inputs)
    for input_name, value in parent_inputs.items():
        if isinstance(value, dict) and value.get("kind") in ("parent", "node"):
            raise InvalidSpecError("a pipeline input is a literal or data, not a binding.",
                                   field=f"inputs.{input_name}")
        _check_value(value, f"inputs.{input_name}", jobs, parent_inputs)
    for output_name, bound in (plan.get("outputs") or {}).items():
        if not isinstance(bound, dict) or "node" not in bound:
            continue  # a pipeline output nothing writes: recorded, never resolved
        _check_value({"kind": "node", "node": bound.get("node"), "output": bound.get("output")},
                     f"outputs.{output_name}", jobs, parent_inputs)
    node_order(plan)


def _check_value(value: Any, where: str, jobs: dict[str, Any],
                 parent_inputs: dict[str, Any]) -> None:
    if not isinstance(value, dict) or value.get("kind") not in VALUE_KINDS:
        raise InvalidSpecError(f"is not a bound value ({value!r}); the kinds are "
                               f"{', '.join(VALUE_KINDS)}.", field=where)
    kind = value["kind"]
    if kind == "data" and not value.get("path"):
        raise InvalidSpecError("a data input needs a path.", field=where)
    if kind == "parent" and value.get("input") not in parent_inputs:
        names = list(parent_inputs)
        raise InvalidSpecError(
            f"binds the pipeline input '{value.get('input')}', which the pipeline does not "
            f"have; its inputs are {', '.join(names) or 'none'}."
            + suggestion(str(value.get("input")), names), field=where)
    if kind == "node":
        upstream = value.get("node")
        if upstream not in jobs:
            names = list(jobs)
            raise InvalidSpecError(
                f"binds an output of node '{upstream}', which the pipeline does not have; its "
                f"nodes are {', '.join(names)}." + suggestion(str(upstream), names), field=where)
        outputs = list((jobs[upstream].get("outputs") or {}))
        if jobs[upstream].get("type") == "automl" and "best_model" not in outputs:
            outputs.append("best_model")
        if value.get("output") not in outputs:
            raise InvalidSpecError(
                f"binds output '{value.get('output')}' of node '{upstream}', which has no such "
                f"output; its outputs are {', '.join(outputs) or 'none'}."
                + suggestion(str(value.get("output")), outputs), field=where)


# ------------------------------------------------------------------------------ entities


@dataclass
class PipelineNodeRun:
    """One node of a pipeline job as ``PipelineJobRun.jobs`` shows it: its job and status."""

    name: str
    type: str
    job_name: str | None
    status: str
    error: str | None = None
    reused_from: str | None = None
    skipped: str | None = None


@dataclass
class PipelineJobRun:
    """A submitted pipeline job (what ``ml_client.jobs.create_or_update`` and ``get`` return for
    one): follow it with ``ml_client.jobs.stream(job.name)``; its nodes' jobs are
    ``ml_client.jobs.list(parent_job_name=job.name)``."""

    name: str
    status: str
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    #: Node name → the node's job name and status, in the plan's order.
    jobs: dict[str, PipelineNodeRun] = field(default_factory=dict)
    #: The pipeline's outputs bound from node outputs, with their local paths.
    outputs: dict[str, Output] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    creation_context: dict[str, Any] = field(default_factory=dict)
    studio_url: str | None = None
    type: str = "pipeline"

    @property
    def id(self) -> str:
        return self.name


@dataclass
class CommandJob:
    """A pipeline's command node as a job (``ml_client.jobs.get`` of a node's job)."""

    name: str
    status: str
    node_name: str | None = None
    parent_job_name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    #: The command line as it ran (bindings replaced), once the node started.
    command: str | None = None
    environment: Any = None
    error: str | None = None
    exit_code: int | None = None
    reused_from: str | None = None
    skipped: str | None = None
    #: Output name → Output with its local folder.
    outputs: dict[str, Output] = field(default_factory=dict)
    creation_context: dict[str, Any] = field(default_factory=dict)
    studio_url: str | None = None
    type: str = "command"

    @property
    def id(self) -> str:
        return self.name


def _context(record: JobRecord) -> dict[str, Any]:
    return {"created_at": record.created, "started_at": record.started,
            "ended_at": record.ended}


def command_job(store: JobStore, record: JobRecord) -> CommandJob:
    """The :class:`CommandJob` of a command node's record."""
    spec = store.node_spec(record.name)
    outputs = {name: Output(type=str(out.get("type") or "uri_folder"),
                            path=str(store.output_path(record.name, name)))
               for name, out in (spec.get("outputs") or {}).items()}
    return CommandJob(
        name=record.name, status=str(record.status), node_name=record.node_name,
        parent_job_name=record.parent_job_name, display_name=record.display_name,
        experiment_name=record.experiment_name, command=spec.get("command"),
        environment=spec.get("environment"), error=record.error, exit_code=record.exit_code,
        reused_from=record.reused_from, skipped=record.skipped, outputs=outputs,
        creation_context=_context(record), studio_url=store.layout(record.name).root.as_uri())


def pipeline_output_paths(store: JobStore, record: JobRecord, plan: dict[str, Any]
                          ) -> dict[str, tuple[str, str | None]]:
    """The pipeline's outputs bound from node outputs: name → (type, local path or None while
    the node has not made it)."""
    out: dict[str, tuple[str, str | None]] = {}
    for name, bound in (plan.get("outputs") or {}).items():
        if not isinstance(bound, dict) or "node" not in bound:
            continue
        child = record.nodes.get(str(bound["node"]))
        path = None
        if child:
            try:
                folder = node_output_path(store, child, str(bound.get("output")))
            except Exception:  # noqa: BLE001 - the node's job is not there yet
                folder = None
            path = str(folder) if folder is not None and folder.exists() else None
        out[name] = (str(bound.get("type") or "uri_folder"), path)
    return out


def node_output_path(store: JobStore, job_name: str, output: str) -> Any:
    """Where output ``output`` of node job ``job_name`` is (an AutoML node's ``best_model`` is
    its job's best model folder)."""
    record = store.read(job_name)
    if record.is_command:
        return store.output_path(job_name, output)
    layout = store.layout(job_name)
    return layout.best_model if output == "best_model" else layout.output(output)


def pipeline_job(store: JobStore, record: JobRecord) -> PipelineJobRun:
    """The :class:`PipelineJobRun` of a pipeline's record."""
    plan = store.plan(record.name)
    children = {c.name: c for c in store.children(record.name)}
    nodes: dict[str, PipelineNodeRun] = {}
    for node_name, node in (plan.get("jobs") or {}).items():
        job_name = record.nodes.get(node_name)
        child = children.get(job_name) if job_name else None
        nodes[node_name] = PipelineNodeRun(
            name=node_name, type=str(node.get("type")),
            job_name=child.name if child else None,
            status=str(child.status) if child else "NotStarted",
            error=child.error if child else None,
            reused_from=child.reused_from if child else None,
            skipped=child.skipped if child else None)
    outputs = {name: Output(type=kind, path=path)
               for name, (kind, path) in pipeline_output_paths(store, record, plan).items()}
    return PipelineJobRun(
        name=record.name, status=str(record.status), display_name=record.display_name,
        experiment_name=record.experiment_name, description=record.description,
        tags=dict(record.extra.get("tags") or {}), error=record.error, jobs=nodes,
        outputs=outputs, settings=dict(plan.get("settings") or {}),
        creation_context=_context(record), studio_url=store.layout(record.name).root.as_uri())
