"""Batch scoring as jobs: ``ml_client.batch_endpoints``, ``ml_client.batch_deployments`` and
``ml_client.batch_scoring``.

A batch scoring job is a job of the workspace (``type: batch`` in its record, its settings in
``batch.json``): the client checks what it can at once (the model resolves to an MLflow model,
the input exists and is of its type, the settings are valid), records the job and starts its
runner, ``python -m cirrusml.serving.batch``, by module name (the client does not import
serving). ``ml_client.jobs`` then gets, streams, lists, cancels and downloads it like any job;
its predictions are its ``score`` output. Endpoints and deployments are kept by
:class:`~cirrusml.tracking.BatchEndpointStore`; models are resolved through the registry.
"""

from __future__ import annotations

import builtins
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrusml.client._endpoints import LROPoller, _environment_name
from cirrusml.client._launcher import start_runner
from cirrusml.data._files import local_path
from cirrusml.data._io import Input, Output
from cirrusml.exceptions import (
    CirrusMLError,
    DataError,
    InvalidSpecError,
    NotSupportedYetError,
    WorkspaceError,
)
from cirrusml.spec import BatchDeployment, BatchEndpoint, Model
from cirrusml.spec._assets import parse_asset_reference
from cirrusml.tracking import (
    BatchDeploymentRecord,
    BatchEndpointRecord,
    BatchEndpointStore,
    BatchJobSettings,
    JobRecord,
    JobStatus,
    JobStore,
    ModelRegistry,
    Workspace,
    now_iso,
)
from cirrusml.utils import suggestion

__all__ = [
    "BatchDeploymentOperations",
    "BatchEndpointOperations",
    "BatchJob",
    "BatchScoringOperations",
    "batch_job",
]

#: What a batch job may call on the model (the runner checks again).
METHODS: tuple[str, ...] = ("predict", "predict_proba")
#: What the predictions file may be.
OUTPUT_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")
INPUT_TYPES: tuple[str, ...] = ("uri_file", "uri_folder", "mltable")
#: ``params_override`` keys of ``invoke`` that are read (the others Azure takes are refused).
_OVERRIDES = ("mini_batch_size", "output_file_name", "max_concurrency_per_instance",
              "retry_settings.max_retries", "retry_settings.timeout", "logging_level",
              "method")
#: ``params_override`` keys that only size Azure's compute: accepted, without effect.
_COMPUTE_OVERRIDES = ("compute.instance_count", "instance_count", "resources.instance_count")


# --------------------------------------------------------------------------------- the job


@dataclass
class BatchJob:
    """A batch scoring job (what Azure's ``batch_endpoints.invoke`` returns): follow it with
    ``ml_client.jobs.stream(job.name)``, fetch its predictions with
    ``ml_client.jobs.download(job.name, output_name="score")``."""

    name: str
    status: str
    settings: BatchJobSettings
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    #: ``rows``, ``mini_batches``, ``retries``, ``output`` once the job completed.
    summary: dict[str, Any] | None = None
    creation_context: dict[str, Any] = field(default_factory=dict)
    #: ``{"score": Output(type="uri_file", path=<the predictions file>)}``.
    outputs: dict[str, Output] = field(default_factory=dict)
    studio_url: str | None = None
    type: str = "batch"

    @property
    def id(self) -> str:
        return self.name

    @property
    def endpoint_name(self) -> str | None:
        return self.settings.endpoint_name

    @property
    def deployment_name(self) -> str | None:
        return self.settings.deployment_name

    @property
    def inputs(self) -> dict[str, Input]:
        return {"input_data": Input(type=self.settings.input_type,
                                    path=self.settings.input_path)}

    @property
    def output_file_name(self) -> str:
        return self.settings.output_file_name


def batch_job(store: JobStore, record: JobRecord) -> BatchJob:
    """The :class:`BatchJob` of a batch job's record."""
    layout = store.layout(record.name)
    settings = store.batch_settings(record.name)
    output = layout.score_dir / settings.output_file_name
    return BatchJob(
        name=record.name, status=str(record.status), settings=settings,
        display_name=record.display_name, experiment_name=record.experiment_name,
        description=record.description, tags=dict(record.extra.get("tags") or {}),
        error=record.error, summary=record.batch_summary,
        creation_context={"created_at": record.created, "started_at": record.started,
                          "ended_at": record.ended},
        outputs={"score": Output(type="uri_file", path=str(output))},
        studio_url=layout.root.as_uri())


class _BatchJobs:
    """Submits and reads the batch jobs of a workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.store = JobStore(workspace)

    def submit(self, settings: BatchJobSettings, *, name: str | None = None,
               experiment_name: str | None = None, display_name: str | None = None,
               description: str | None = None, tags: dict[str, str] | None = None) -> BatchJob:
        ws = self.ws.ensure()
        name = name or ws.new_job_name()
        if ws.has_job(name):
            raise WorkspaceError(f"a job named '{name}' already exists in {ws.root}; choose "
                                 "another name (or leave it out to get a generated one).")
        record = JobRecord(
            name=name, type="batch", status=JobStatus.NOT_STARTED, created=now_iso(),
            experiment_name=experiment_name or settings.endpoint_name or "batch-scoring",
            display_name=display_name or name, description=description, compute="local",
            tracking_uri=ws.tracking_uri, extra={"tags": dict(tags)} if tags else {})
        self.store.create_batch(name, record, settings)
        try:
            start_runner(self.store, name)
        except BaseException as err:
            self.store.transition(name, JobStatus.FAILED,
                                  error=f"could not start the job: {err}")
            raise
        return self.get(name)

    def get(self, name: str) -> BatchJob:
        record = self.store.refresh(name)
        if not record.is_batch:
            raise CirrusMLError(f"job '{name}' is an {record.type} job, not a batch scoring "
                                "job; read it with ml_client.jobs.get.")
        return batch_job(self.store, record)

    def list(self, endpoint_name: str | None = None,
             deployment_name: str | None = None) -> builtins.list[BatchJob]:
        """Batch jobs, newest first; with names, those of that endpoint (and deployment)."""
        out = []
        for record in self.store.records():
            if not record.is_batch:
                continue
            try:
                settings = self.store.batch_settings(record.name)
            except CirrusMLError:
                continue
            if endpoint_name is not None and settings.endpoint_name != endpoint_name:
                continue
            if deployment_name is not None and settings.deployment_name != deployment_name:
                continue
            if record.is_active:
                record = self.store.refresh(record.name)
            out.append(batch_job(self.store, record))
        return out


# ------------------------------------------------------------------------------ checks


def _input_of(value: Any, input_type: str | None = None) -> tuple[str, str]:
    """``(type, absolute path)`` of a batch input: an ``Input``, a one-entry ``{name: Input}``
    mapping (Azure's ``inputs=``) or a path; a path's type is found from what it is."""
    if isinstance(value, dict):
        if len(value) != 1:
            raise InvalidSpecError(
                f"a batch job takes one input, got {len(value)} ({', '.join(map(str, value))}).",
                field="inputs")
        value = next(iter(value.values()))
    kind: str | None
    if isinstance(value, Input):
        kind, path = str(value.type), value.path
    elif isinstance(value, str | os.PathLike):
        kind, path = input_type, value
    else:
        raise InvalidSpecError(
            "give the data to score as Input(type='uri_file' | 'uri_folder' | 'mltable', "
            f"path=...), got {value!r}.", field="input")
    if path is None:
        raise InvalidSpecError("the input has no path.", field="input.path")
    try:
        resolved = Path(os.path.abspath(local_path(os.fspath(path))))
    except DataError as err:
        raise NotSupportedYetError(
            f"input.path: {err} Batch jobs read local files: download the data first."
        ) from None
    if not resolved.exists():
        raise DataError(f"input.path: '{resolved}' does not exist; check the path.")
    is_table = resolved.name == "MLTable" or (resolved / "MLTable").is_file()
    if kind is None:
        kind = "mltable" if is_table else "uri_file" if resolved.is_file() else "uri_folder"
    if kind not in INPUT_TYPES:
        raise InvalidSpecError(f"'{kind}' is not a batch input type." + suggestion(kind,
                               INPUT_TYPES) + f" Use one of {', '.join(INPUT_TYPES)}.",
                               field="input.type")
    wrong = {"uri_file": resolved.is_dir() and "a folder; use type uri_folder (or mltable)",
             "uri_folder": resolved.is_file() and "a file; use type uri_file",
             "mltable": not is_table and "not an MLTable folder (it has no MLTable file); use "
                                         "uri_file or uri_folder"}[kind]
    if wrong:
        raise DataError(f"input.path: '{resolved}' is {wrong}.")
    return kind, str(resolved)


def _check_output_name(value: str) -> str:
    if not isinstance(value, str) or not value.strip() or "/" in value or "\\" in value:
        raise InvalidSpecError(f"must be a file name without folders (predictions.csv), got "
                               f"{value!r}.", field="output_file_name")
    if Path(value).suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidSpecError(f"'{value}' must end in .csv or .parquet (for example "
                               "predictions.csv, Azure's default).", field="output_file_name")
    return value


def _check_settings(settings: BatchJobSettings) -> BatchJobSettings:
    _check_output_name(settings.output_file_name)
    if settings.method not in METHODS:
        raise InvalidSpecError(f"method must be one of {', '.join(METHODS)}, got "
                               f"{settings.method!r}.", field="method")
    for key in ("mini_batch_size", "max_concurrency_per_instance"):
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidSpecError(f"must be a whole number of 1 or more, got {value!r}.",
                                   field=key)
    if settings.max_retries < 0:
        raise InvalidSpecError(f"must be 0 or more, got {settings.max_retries}.",
                               field="retry_settings.max_retries")
    if not settings.timeout > 0:
        raise InvalidSpecError(f"must be a positive number of seconds, got {settings.timeout}.",
                               field="retry_settings.timeout")
    return settings


def _settings(**values: Any) -> BatchJobSettings:
    try:
        return _check_settings(BatchJobSettings(**values))
    except ValueError as err:  # pydantic's: a value of the wrong type
        if isinstance(err, CirrusMLError):
            raise
        raise InvalidSpecError(f"invalid batch settings: {err}") from None


class _Models:
    """Model references resolved through the registry."""

    def __init__(self, workspace: Workspace) -> None:
        self.registry = ModelRegistry(workspace)

    def resolve(self, model: Model | str | os.PathLike[str] | None) -> tuple[str, str, Path]:
        """``(as named, resolved id, local MLflow folder)``. A registered model's id is
        ``azureml:name:version`` (``@latest`` pinned to the version it is now); a folder's is
        the folder."""
        if model is None:
            raise InvalidSpecError("a batch deployment needs a model: azureml:<name>:<version>, "
                                   "<name>@latest, a Model or an MLflow model folder.",
                                   field="model")
        if isinstance(model, Model):
            text = _model_text(model)
        else:
            text = os.fspath(model)
        if not isinstance(text, str) or not text.strip():
            raise InvalidSpecError(f"'{model}' is not a model reference.", field="model")
        if text.startswith(("azureml://", "runs:/", "file://")) or \
                Path(text).expanduser().exists():
            folder = self.registry.resolve(text)
            return text, (text if "://" in text or text.startswith("runs:/")
                          else str(folder)), folder
        try:
            name, version, label = parse_asset_reference(text)
        except ValueError as err:
            raise InvalidSpecError(
                f"{err}; name a registered model (name:version, azureml:name:version, "
                "name@latest) or an MLflow model folder that exists.", field="model") from None
        if version is None:
            version = str(self.registry.get(name, label=label or "latest").version)
        return text, f"azureml:{name}:{version}", self.registry.resolve(f"{name}:{version}")


def _model_text(model: Model) -> str:
    if model.path and "://" not in model.path and Path(model.path).expanduser().is_dir():
        return model.path
    if model.name and model.version:
        return f"azureml:{model.name}:{model.version}"
    if model.path:
        return model.path
    if model.name:
        return f"{model.name}@latest"
    raise InvalidSpecError("a Model needs a name (registered) or a path.", field="model")


# --------------------------------------------------------------------------- batch scoring


class BatchScoringOperations:
    """``ml_client.batch_scoring``: a batch scoring job without an endpoint (what ``cirrus batch
    score`` runs)."""

    def __init__(self, workspace: Workspace) -> None:
        self._jobs = _BatchJobs(workspace)
        self._models = _Models(workspace)

    def create(self, *, model: Model | str | os.PathLike[str],
               input: Input | str | os.PathLike[str],  # noqa: A002 - Azure's name
               input_type: str | None = None, output_file_name: str = "predictions.csv",
               method: str = "predict", mini_batch_size: int = 10_000,
               max_concurrency_per_instance: int = 1, max_retries: int = 3,
               timeout: float = 30, name: str | None = None,
               experiment_name: str | None = None) -> BatchJob:
        """Score every row of ``input`` with ``model`` in a batch job; returns at once.

        ``model`` is ``name:version``, ``azureml:name:version``, ``name@latest``, a ``Model``
        or an MLflow model folder; ``input`` an ``Input`` or a path (a file, a folder, an
        MLTable folder). The predictions are the job's ``score`` output, ``output_file_name``.
        """
        kind, path = _input_of(input, input_type)
        named, model_id, folder = self._models.resolve(model)
        settings = _settings(
            model=model_id if model_id.startswith("azureml:") else named,
            model_path=str(folder), input_type=kind, input_path=path,
            output_file_name=output_file_name, method=method, mini_batch_size=mini_batch_size,
            max_concurrency_per_instance=max_concurrency_per_instance, max_retries=max_retries,
            timeout=timeout)
        return self._jobs.submit(settings, name=name, experiment_name=experiment_name)

    def get(self, name: str) -> BatchJob:
        return self._jobs.get(name)

    def list(self) -> builtins.list[BatchJob]:
        """Every batch scoring job of the workspace, newest first."""
        return self._jobs.list()


# ------------------------------------------------------------------------------- endpoints


def _endpoint_entity(record: BatchEndpointRecord) -> BatchEndpoint:
    defaults = {"deployment_name": record.default_deployment} \
        if record.default_deployment else None
    return BatchEndpoint(**{**record.entity, "defaults": defaults,
                            "default_deployment_name": record.default_deployment,
                            "provisioning_state": "Succeeded", "id": f"azureml:{record.name}"})


def _deployment_entity(endpoint: str, record: BatchDeploymentRecord) -> BatchDeployment:
    return BatchDeployment(**{**record.entity, "endpoint_name": endpoint,
                              "model": record.model_id, "provisioning_state": "Succeeded",
                              "id": f"azureml:{endpoint}/{record.name}"})


#: Fields of an endpoint that are its state, not its settings.
_ENDPOINT_STATE = ("defaults", "default_deployment_name", "provisioning_state", "scoring_uri",
                   "openapi_uri", "id")


def _wanted_default(endpoint: BatchEndpoint, current: str | None) -> str | None:
    """The default deployment ``endpoint`` asks for: ``defaults.deployment_name`` (Azure's
    field: a mapping, or an object with that attribute) if it changed, else
    ``default_deployment_name`` if that changed, else ``current``."""
    defaults = endpoint.defaults
    from_defaults = (defaults.get("deployment_name") if isinstance(defaults, dict)
                     else getattr(defaults, "deployment_name", None))
    for asked in (from_defaults, endpoint.default_deployment_name):
        if asked and asked != current:
            return str(asked)
    return current


class BatchEndpointOperations:
    """``ml_client.batch_endpoints`` (``BatchEndpointOperations`` in Azure)."""

    def __init__(self, workspace: Workspace) -> None:
        self._store = BatchEndpointStore(workspace)
        self._jobs = _BatchJobs(workspace)

    def begin_create_or_update(self, endpoint: BatchEndpoint, **kwargs: Any
                               ) -> LROPoller[BatchEndpoint]:
        """Create the endpoint, or update its description, tags and default deployment
        (``defaults.deployment_name``)."""
        if not isinstance(endpoint, BatchEndpoint):
            raise InvalidSpecError(f"batch_endpoints.begin_create_or_update takes a "
                                   f"BatchEndpoint, got {type(endpoint).__name__}.",
                                   field="endpoint")
        entity = {k: v for k, v in endpoint._to_dict().items() if k not in _ENDPOINT_STATE}
        self._store.workspace.ensure()
        with self._store.editing(endpoint.name, create=entity) as record:
            default = _wanted_default(endpoint, record.default_deployment)
            if default is not None and default not in record.deployments:
                record.deployment(default)  # raises, naming the deployments there are
            record.entity = entity
            record.default_deployment = default
        return LROPoller(self.get(endpoint.name))

    def get(self, name: str) -> BatchEndpoint:
        return _endpoint_entity(self._store.read(name))

    def list(self) -> builtins.list[BatchEndpoint]:
        return [_endpoint_entity(r) for r in self._store.records()]

    def begin_delete(self, name: str, **kwargs: Any) -> LROPoller[None]:
        """Delete the endpoint and its deployments; its jobs stay (running ones go on)."""
        self._store.delete(name)
        return LROPoller(None)

    def invoke(
        self,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        inputs: dict[str, Input] | None = None,
        input: Input | str | os.PathLike[str] | None = None,  # noqa: A002 - Azure's name
        input_type: str | None = None,
        params_override: Iterable[dict[str, Any]] | None = None,
        output_file_name: str | None = None,
        mini_batch_size: int | None = None,
        max_concurrency_per_instance: int | None = None,
        method: str | None = None,
        experiment_name: str | None = None,
        job_name: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Score ``input`` (or the one entry of ``inputs``) with the endpoint's deployment
        ``deployment_name`` (default: the endpoint's ``defaults.deployment_name``) in a batch
        job; returns the job at once. The deployment's settings apply; the keyword arguments
        and ``params_override`` (``[{"mini_batch_size": 100}, {"output_file_name": ...}]``)
        change them for this job."""
        endpoint = self._store.read(endpoint_name)
        chosen = deployment_name or endpoint.default_deployment
        if not chosen:
            raise InvalidSpecError(
                f"batch endpoint '{endpoint_name}' has no default deployment; name one with "
                "deployment_name=..., or set the endpoint's defaults.deployment_name.",
                field="deployment_name")
        deployment = _deployment_entity(endpoint_name, endpoint.deployment(chosen))
        record = endpoint.deployment(chosen)
        if (inputs is None) == (input is None):
            raise InvalidSpecError("give the data to score as input=Input(...) (or inputs="
                                   "{'name': Input(...)}), one of the two.", field="input")
        kind, path = _input_of(inputs if inputs is not None else input, input_type)
        values: dict[str, Any] = {
            "mini_batch_size": deployment.mini_batch_size,
            "output_file_name": deployment.output_file_name,
            "max_concurrency_per_instance": deployment.max_concurrency_per_instance,
            "retry_settings.max_retries": deployment.retry_settings.max_retries,
            "retry_settings.timeout": deployment.retry_settings.timeout,
            "logging_level": deployment.logging_level, "method": "predict"}
        for override in params_override or ():
            if not isinstance(override, dict):
                raise InvalidSpecError(f"params_override takes mappings, got {override!r}.",
                                       field="params_override")
            for key, value in override.items():
                if key in _COMPUTE_OVERRIDES:
                    continue
                if key not in _OVERRIDES:
                    raise InvalidSpecError(
                        f"unknown key '{key}'." + suggestion(str(key), _OVERRIDES)
                        + f" Valid keys: {', '.join(_OVERRIDES)}.", field="params_override")
                values[key] = _number(value) if key != "output_file_name" else value
        for key, value in (("output_file_name", output_file_name),
                           ("mini_batch_size", mini_batch_size),
                           ("max_concurrency_per_instance", max_concurrency_per_instance),
                           ("method", method)):
            if value is not None:
                values[key] = value
        if not Path(record.model_path, "MLmodel").is_file():
            raise WorkspaceError(
                f"the model of deployment '{chosen}' ({record.model_id}) is gone from "
                f"'{record.model_path}'; create the deployment again.")
        settings = _settings(
            model=record.model_id, model_path=record.model_path, input_type=kind,
            input_path=path, output_file_name=values["output_file_name"],
            method=values["method"], mini_batch_size=values["mini_batch_size"],
            max_concurrency_per_instance=values["max_concurrency_per_instance"],
            max_retries=values["retry_settings.max_retries"],
            timeout=values["retry_settings.timeout"], logging_level=values["logging_level"],
            environment_variables=dict(deployment.environment_variables or {}),
            endpoint_name=endpoint_name, deployment_name=chosen, **_script_settings(deployment))
        return self._jobs.submit(settings, name=job_name, experiment_name=experiment_name,
                                 display_name=display_name, description=description, tags=tags)

    def list_jobs(self, endpoint_name: str) -> builtins.list[BatchJob]:
        """The endpoint's batch jobs, newest first."""
        self._store.read(endpoint_name)
        return self._jobs.list(endpoint_name)


def _script_settings(deployment: BatchDeployment) -> dict[str, Any]:
    """A job's settings from its deployment's scoring script (its working copy), output action
    and error threshold."""
    values: dict[str, Any] = {"error_threshold": deployment.error_threshold,
                              "output_action": deployment.output_action}
    code = deployment.code_configuration
    if code is not None:
        if not code.code or not Path(code.code, code.scoring_script or "").is_file():
            raise WorkspaceError(f"the code of deployment '{deployment.name}' is gone from "
                                 f"'{code.code}'; create the deployment again.")
        values.update(code_path=code.code, scoring_script=code.scoring_script,
                      environment=_environment_name(deployment.environment))
    return values


def _number(value: Any) -> Any:
    """A ``params_override`` value given as text (Azure's examples quote them) as a number."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return value
    return value


class BatchDeploymentOperations:
    """``ml_client.batch_deployments`` (``BatchDeploymentOperations`` in Azure)."""

    def __init__(self, workspace: Workspace) -> None:
        self._store = BatchEndpointStore(workspace)
        self._models = _Models(workspace)
        self._jobs = _BatchJobs(workspace)

    def begin_create_or_update(self, deployment: BatchDeployment, **kwargs: Any
                               ) -> LROPoller[BatchDeployment]:
        """Create or replace a deployment of ``deployment.endpoint_name``. Its model is
        resolved through the registry now (``name@latest`` pinned to its current version).
        An endpoint's first deployment becomes its default."""
        if not isinstance(deployment, BatchDeployment):
            raise InvalidSpecError(f"batch_deployments.begin_create_or_update takes a "
                                   f"BatchDeployment, got {type(deployment).__name__}.",
                                   field="deployment")
        if not deployment.endpoint_name:
            raise InvalidSpecError("the deployment names no endpoint; set endpoint_name.",
                                   field="endpoint_name")
        if deployment.code_configuration is None and deployment.output_action != "append_row":
            raise InvalidSpecError(
                "'summary_only' is for scoring scripts that write their own outputs; give a "
                "code_configuration, or let the MLflow model's deployment append its "
                "predictions to output_file_name (output_action: append_row).",
                field="output_action")
        _check_output_name(deployment.output_file_name)
        self._store.read(deployment.endpoint_name)  # names the endpoints there are
        named, model_id, folder = self._models.resolve(deployment.model)
        entity = {k: v for k, v in deployment._to_dict().items()
                  if k not in ("model", "provisioning_state", "id", "endpoint_name")}
        if deployment.code_configuration is not None:
            entity["code_configuration"] = {
                "code": self._working_copy(deployment),
                "scoring_script": deployment.code_configuration.scoring_script}
        with self._store.editing(deployment.endpoint_name) as record:
            previous = record.deployments.get(deployment.name)
            record.deployments[deployment.name] = BatchDeploymentRecord(
                name=deployment.name, entity=entity, model=named, model_id=model_id,
                model_path=str(folder), **({"created": previous.created} if previous else {}))
            if record.default_deployment is None:
                record.default_deployment = deployment.name
        return LROPoller(self.get(deployment.name, deployment.endpoint_name))

    def _working_copy(self, deployment: BatchDeployment) -> str:
        """Check the deployment's code and scoring script and copy the code into the
        endpoint's folder (``deployments/<name>/<stamp>/<code>``), as Azure uploads it; each job
        copies that again. Returns the copy's path."""
        code = deployment.code_configuration
        assert code is not None and deployment.endpoint_name is not None
        source = code.source_folder("batch_driver.py")
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
        folder = self._store.folder(deployment.endpoint_name) / "deployments" / deployment.name
        target = folder / stamp / source.name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for older in folder.iterdir():  # jobs copy the code when they start: old ones may go
            if older.name != stamp:
                shutil.rmtree(older, ignore_errors=True)
        return str(target)

    def get(self, name: str, endpoint_name: str) -> BatchDeployment:
        record = self._store.read(endpoint_name)
        return _deployment_entity(endpoint_name, record.deployment(name))

    def list(self, endpoint_name: str) -> builtins.list[BatchDeployment]:
        record = self._store.read(endpoint_name)
        return [_deployment_entity(endpoint_name, d) for _, d in sorted(
            record.deployments.items())]

    def begin_delete(self, name: str, endpoint_name: str, **kwargs: Any) -> LROPoller[None]:
        """Delete a deployment. The default one can go only when it is the last."""
        with self._store.editing(endpoint_name) as record:
            record.deployment(name)
            if record.default_deployment == name and len(record.deployments) > 1:
                others = sorted(set(record.deployments) - {name})
                raise CirrusMLError(
                    f"deployment '{name}' is the default of batch endpoint '{endpoint_name}'; "
                    f"make another one the default first (cirrus batch-deployment create "
                    f"--set-default, or defaults.deployment_name; its others: "
                    f"{', '.join(others)}).")
            del record.deployments[name]
            if record.default_deployment == name:
                record.default_deployment = None
        return LROPoller(None)

    def list_jobs(self, endpoint_name: str, *, name: str | None = None
                  ) -> builtins.list[BatchJob]:
        """The batch jobs of the endpoint (of its deployment ``name`` if given)."""
        self._store.read(endpoint_name)
        return self._jobs.list(endpoint_name, name)
