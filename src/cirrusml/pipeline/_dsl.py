"""The pipeline DSL, as ``azure.ai.ml.dsl`` and ``azure.ai.ml.command`` spell it.

>>> from cirrusml import Input, Output, command
>>> from cirrusml.automl import classification
>>> from cirrusml.dsl import pipeline
>>> @pipeline(description="AutoML, then a look at the model")
... def train(train_data):
...     node = classification(training_data=train_data, target_column_name="y",
...                           outputs={"best_model": Output(type="mlflow_model")})
...     show = command(inputs={"model": Input(type="mlflow_model")},
...                    command="ls ${{inputs.model}}")(model=node.outputs.best_model)
>>> job = train(train_data=Input(type="mltable", path="./train"))   # doctest: +SKIP

Calling a decorated function runs its body once, with each parameter standing for a pipeline
input (``${{parent.inputs.<name>}}``); the components it calls and the AutoML jobs it builds
become the pipeline's nodes. A node is named after the local variable that holds it when the
function returns (Azure's rule); a node held by no local variable gets a generated name. The
function may return a dict mapping pipeline output names to node outputs.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any, overload

from cirrusml.exceptions import InvalidSpecError, NotSupportedYetError
from cirrusml.spec._pipeline import Command, CommandComponent, PipelineJob, PipelineJobSettings
from cirrusml.spec._pipeline_bindings import (
    NodeOutput,
    PipelineInput,
    current_context,
    enter_context,
    exit_context,
    node_name,
)
from cirrusml.spec._pipeline_yaml import load_component
from cirrusml.utils import suggestion

_SETTINGS = tuple(PipelineJobSettings.model_fields)


@overload
def pipeline(func: Callable[..., Any]) -> Callable[..., PipelineJob]: ...


@overload
def pipeline(
    func: None = None,
    *,
    name: str | None = None,
    version: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    experiment_name: str | None = None,
    tags: dict[str, str] | None = None,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., PipelineJob]]: ...


def pipeline(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    version: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    experiment_name: str | None = None,
    tags: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """Make a function build a pipeline job (``azure.ai.ml.dsl.pipeline``); usable bare.

    ``kwargs`` take the pipeline's settings: ``default_compute``, ``default_datastore``,
    ``force_rerun``, ``continue_on_step_failure``, ``max_parallel_nodes``. ``name`` and
    ``version`` name the pipeline itself, as Azure's pipeline component: the job's
    ``display_name`` defaults to ``name``, then to the function's name, and the job's own name is
    given when it is submitted. ``description`` defaults to the function's docstring.
    """
    for key in kwargs:
        if key not in _SETTINGS:
            raise InvalidSpecError(
                f"unknown argument '{key}' of @pipeline." + suggestion(key, _SETTINGS)
                + f" It takes name, version, display_name, description, experiment_name, tags "
                f"and the settings {', '.join(_SETTINGS)}.", field=key)
    settings = dict(kwargs)

    def decorate(function: Callable[..., Any]) -> Callable[..., PipelineJob]:
        signature = inspect.signature(function)
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise InvalidSpecError(
                    f"pipeline function '{function.__name__}' takes *{param.name}; a pipeline's "
                    "inputs are named parameters.", field=param.name)

        @functools.wraps(function)
        def build(*args: Any, **call_kwargs: Any) -> PipelineJob:
            if current_context() is not None:
                raise NotSupportedYetError(
                    f"pipeline '{function.__name__}' was called inside another pipeline "
                    "function; pipelines inside pipelines are not supported yet: call its "
                    "components directly.")
            try:
                bound = signature.bind_partial(*args, **call_kwargs)
            except TypeError as err:
                raise InvalidSpecError(
                    f"{function.__name__}(): {err}; its inputs: "
                    f"{', '.join(signature.parameters) or 'none'}.") from None
            bound.apply_defaults()
            values: dict[str, Any] = {}
            bindings: dict[str, Any] = {}
            for key in signature.parameters:
                if key not in bound.arguments:
                    raise InvalidSpecError(
                        f"pipeline input '{key}' has no value; pass it: "
                        f"{function.__name__}({key}=Input(type=..., path=...)).", field=key)
                value = bound.arguments[key]
                values[key] = value
                bindings[key] = PipelineInput(key, type=getattr(value, "type", None))
            ctx, token = enter_context(function.__name__)
            captured: dict[str, Any] = {}
            previous = sys.getprofile()

            def profile(frame: Any, event: Any, arg: Any) -> None:
                if event == "return" and frame.f_code is function.__code__ \
                        and "locals" not in captured:
                    captured["locals"] = dict(frame.f_locals)
                if previous is not None:
                    previous(frame, event, arg)

            sys.setprofile(profile)
            try:
                result = function(**bindings)
            finally:
                sys.setprofile(previous)
                exit_context(token)
            jobs = _name_nodes(ctx.nodes, captured.get("locals", {}))
            outputs = _outputs(function.__name__, result, jobs)
            job = PipelineJob(
                display_name=display_name or name or function.__name__,
                description=description or inspect.getdoc(function),
                experiment_name=experiment_name,
                tags=tags,
                inputs=values,
                outputs=outputs,
                jobs=jobs,
                settings=PipelineJobSettings(**settings),
                base_path=os.getcwd(),
            )
            job.validate_spec()
            return job

        return build

    if func is not None:
        return decorate(func)
    return decorate


def _name_nodes(nodes: list[Any], local_vars: dict[str, Any]) -> dict[str, Any]:
    """Name each node after the local variable that holds it; the rest get generated names."""
    names: dict[int, str] = {}
    for var, value in local_vars.items():
        if any(value is node for node in nodes) and id(value) not in names:
            names[id(value)] = var
    taken = set(names.values())
    jobs: dict[str, Any] = {}
    for node in nodes:
        key = names.get(id(node))
        if key is None:
            explicit = node_name(node) if isinstance(node, Command) else None
            if explicit and explicit not in taken:
                key = explicit
            else:
                if isinstance(node, Command):
                    stem = node.component.name or "command"
                else:
                    stem = f"automl_{node.task}"
                key, n = stem, 1
                while key in taken:
                    n += 1
                    key = f"{stem}_{n}"
            taken.add(key)
        jobs[key] = node
    return jobs


def _outputs(function: str, result: Any, jobs: dict[str, Any]) -> dict[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise InvalidSpecError(
            f"pipeline function '{function}' returned {type(result).__name__}; return None or a "
            "dict mapping pipeline output names to node outputs "
            "({'model': node.outputs.best_model}).")
    outputs: dict[str, Any] = {}
    for key, value in result.items():
        if not isinstance(value, NodeOutput):
            raise InvalidSpecError(
                f"pipeline function '{function}' returned {value!r} for output '{key}'; a "
                "pipeline output is a node's output (node.outputs.<name>).", field=f"outputs.{key}")
        outputs[str(key)] = value
    return outputs


def command(
    *,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    properties: dict[str, str] | None = None,
    command: str | None = None,
    experiment_name: str | None = None,
    environment: Any = None,
    environment_variables: dict[str, Any] | None = None,
    distribution: Any = None,
    compute: str | None = None,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    instance_count: int | None = None,
    instance_type: str | None = None,
    locations: list[str] | None = None,
    docker_args: str | None = None,
    shm_size: str | None = None,
    timeout: int | None = None,
    code: str | os.PathLike[str] | None = None,
    identity: Any = None,
    is_deterministic: bool = True,
    services: dict[str, Any] | None = None,
    job_tier: str | None = None,
    priority: str | None = None,
    version: str | None = None,
    **kwargs: Any,
) -> CommandComponent:
    """A command component builder (``azure.ai.ml.command``); call it with keyword inputs to
    make a node: ``node = command(...)(x=upstream.outputs.y)``.

    ``inputs`` maps names to ``Input(type=...)`` declarations, or to values (a literal, data,
    a binding) that are the input's default. Relative ``code`` resolves against the current
    folder. The compute and resource settings are recorded; nodes run locally.
    """
    if kwargs:
        key = next(iter(kwargs))
        known = [p for p in _COMMAND_ARGS if p != "kwargs"]
        raise InvalidSpecError(f"unknown argument '{key}' of command()." + suggestion(key, known),
                               field=key)
    extra = {k: v for k, v in dict(
        properties=properties, experiment_name=experiment_name, distribution=distribution,
        instance_count=instance_count, instance_type=instance_type, locations=locations,
        docker_args=docker_args, shm_size=shm_size, timeout=timeout, identity=identity,
        services=services, job_tier=job_tier, priority=priority).items() if v is not None}
    return CommandComponent(
        name=name, version=version, display_name=display_name, description=description,
        tags=tags, command=command, environment=environment,
        environment_variables=environment_variables, code=code, inputs=inputs, outputs=outputs,
        is_deterministic=is_deterministic, compute=compute, base_path=os.getcwd(), **extra)


_COMMAND_ARGS = tuple(inspect.signature(command).parameters)

__all__ = ["command", "load_component", "pipeline"]
