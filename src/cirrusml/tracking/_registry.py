"""The model registry: named, versioned models on MLflow's model registry.

A registered model is an MLflow registered model; each of its versions an MLflow model version
whose ``source`` is the artifact folder holding the files, so the workspace's SQLite store (or
any MLflow tracking server) is the registry and MLflow counts the versions per name. What
Azure's ``Model`` carries beyond MLflow's fields lives in version tags: the asset ``type``, the
``stage``, the ``properties``, the job it came from, the path it was registered from, and
whether the version is archived (:data:`ARCHIVED_TAG`; on the registered model it archives every
version at once). A user's own tags are the other tags.

Where the files are:

* a local folder (or file) is copied into the artifacts of a run of the experiment
  :data:`REGISTRY_EXPERIMENT`, under the folder's own name, so later changes to the folder do not
  change the version;
* a job's output (``azureml://jobs/<job>/outputs/best_model``) is the best child run's
  ``outputs/mlflow-model`` artifacts, referenced where they are (no copy); another named output
  is copied like a local folder;
* a run's artifacts (``azureml://jobs/<run>/outputs/artifacts/<path>`` — ``<run>`` an MLflow run
  id, a job name or a child run name ``<job>_<index>`` — or ``runs:/<run_id>/<path>``) are
  referenced where they are.

:func:`resolve_model` turns any model reference (a ``Model``, ``name:version``,
``azureml:name:version``, ``name@latest``, a job output, a local folder) into a local MLflow
model folder: what serving and batch scoring load.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from cirrusml.exceptions import (
    CirrusMLError,
    InvalidSpecError,
    ModelNotFoundError,
)
from cirrusml.spec import ListViewType, Model, parse_asset_reference
from cirrusml.tracking._layout import RunArtifacts
from cirrusml.tracking._mlflow import JOB_NAME_TAG, PARENT_TAG, Tracker
from cirrusml.tracking._record import JobStatus
from cirrusml.tracking._store import JobStore
from cirrusml.tracking._workspace import Workspace
from cirrusml.utils import suggestion

__all__ = [
    "ARCHIVED_TAG",
    "REGISTRY_EXPERIMENT",
    "ModelRegistry",
    "resolve_model",
]

#: The experiment whose runs hold the files of models registered from local folders.
REGISTRY_EXPERIMENT = "cirrus-model-registry"
_PREFIX = "cirrus."
TYPE_TAG = "cirrus.type"
STAGE_TAG = "cirrus.stage"
PROPERTIES_TAG = "cirrus.properties"
JOB_TAG = "cirrus.job_name"
SOURCE_TAG = "cirrus.registered_from"
#: Set to ``"true"`` on a version (or a registered model) that is archived.
ARCHIVED_TAG = "cirrus.archived"
#: The asset types the registry takes.
REGISTRABLE_TYPES = ("mlflow_model", "custom_model")
_LATEST = "latest"

_JOB_OUTPUT = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<rest>.+?)/?$")
_RUNS_URI = re.compile(r"^runs:/(?P<run>[^/]+)/(?P<path>.*?)/?$")


@dataclass(frozen=True)
class _Source:
    """Where a version's files are: an artifact URI already in the store (``run_id`` set), or
    a local path to copy in."""

    artifact_uri: str | None = None
    run_id: str | None = None
    #: The path of the files inside the run's artifacts (with ``run_id``).
    artifact_path: str = ""
    local: Path | None = None
    job_name: str | None = None


def _is_true(value: str | None) -> bool:
    return str(value).lower() == "true"


def _local_path(uri: str) -> Path | None:
    """The local path of a ``file://`` URI or a plain path, else None."""
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    if "://" in uri or uri.startswith(("runs:", "models:", "mlflow-artifacts:")):
        return None
    return Path(uri)


def _not_mlflow(where: str, field: str = "path") -> InvalidSpecError:
    return InvalidSpecError(
        f"'{where}' is not an MLflow model folder (it has no MLmodel file). Register the "
        "folder that holds MLmodel (a job's outputs/best_model), or use type=custom_model for "
        "other files.", field=field)


class ModelRegistry:
    """The registered models of a workspace (or of any MLflow tracking URI)."""

    def __init__(self, workspace: Workspace, tracking_uri: str | None = None) -> None:
        self.workspace = workspace
        self.tracking_uri = tracking_uri or workspace.tracking_uri
        self._tracker: Tracker | None = None

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            if self.tracking_uri.startswith("sqlite:"):
                self.workspace.ensure()  # the SQLite file's folder must exist
            self._tracker = Tracker(self.tracking_uri, self.workspace.artifacts_dir)
        return self._tracker

    @property
    def client(self) -> Any:
        return self.tracker.client

    # ------------------------------------------------------------------------- register

    def register(self, model: Model) -> Model:
        """Register ``model`` as the next version of ``model.name``; the registered version.

        Raises ``InvalidSpecError`` naming the field for a model without a name or path, of a
        type other than mlflow_model / custom_model, whose path is not an MLflow model folder
        (for mlflow_model), or whose ``version`` is not the next one.
        """
        if not model.name:
            raise InvalidSpecError("is required: the name to register the model under.",
                                   field="name")
        if model.type not in REGISTRABLE_TYPES:
            raise InvalidSpecError(
                f"'{model.type}' models cannot be registered here; use mlflow_model (an MLflow "
                "model folder, such as a job's best_model) or custom_model.", field="type")
        if not model.path:
            raise InvalidSpecError(
                "is required: a local folder, azureml://jobs/<job>/outputs/best_model or a "
                "run's artifacts (runs:/<run_id>/<path>).", field="path")
        for key in model.tags or {}:
            if key.startswith(_PREFIX):
                raise InvalidSpecError(f"tag '{key}' starts with '{_PREFIX}', which cirrusml "
                                       "keeps for itself; rename it.", field="tags")
        source = self._source(model.path)
        if model.type == "mlflow_model":
            self._check_mlflow(source, model.path)
        self._check_version(model.name, model.version)
        self._ensure_registered_model(model.name)
        artifact_uri, run_id = self._store_files(model.name, source)
        tags = dict(model.tags or {})
        tags[TYPE_TAG] = model.type
        tags[SOURCE_TAG] = model.path
        if model.stage:
            tags[STAGE_TAG] = model.stage
        if model.properties:
            tags[PROPERTIES_TAG] = json.dumps(model.properties, sort_keys=True)
        if source.job_name:
            tags[JOB_TAG] = source.job_name
        from mlflow.exceptions import MlflowException

        try:
            created = self.client.create_model_version(
                model.name, artifact_uri, run_id=run_id, tags=tags,
                description=model.description)
        except MlflowException as err:
            raise InvalidSpecError(f"MLflow refused the version: {err.message}",
                                   field="tags" if model.tags else None) from None
        registered = self._entity(created)
        if model.flavors and not registered.flavors:
            registered.flavors = model.flavors
        return registered

    def _check_version(self, name: str, version: str | None) -> None:
        """A ``version`` given must be the next one (MLflow numbers the versions)."""
        if version is None:
            return
        versions = [int(v.version) for v in self._versions(name, missing_ok=True)]
        following = max(versions, default=0) + 1
        if not version.isdigit() or int(version) != following:
            exists = version.isdigit() and int(version) in versions
            why = (f"version {version} of model '{name}' already exists" if exists
                   else f"'{version}' is not the next version of model '{name}'")
            raise InvalidSpecError(
                f"{why}; versions are counted per name and the next is {following}. Leave "
                "version out to register it.", field="version")

    def _ensure_registered_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(name)
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    def _store_files(self, name: str, source: _Source) -> tuple[str, str | None]:
        """The artifact URI of the version's files (copied in first when local) and its run."""
        if source.artifact_uri is not None:
            return source.artifact_uri, source.run_id
        assert source.local is not None
        folder_name = source.local.name or "model"
        experiment_id = self.tracker.experiment_id(REGISTRY_EXPERIMENT)
        tags = {"cirrus.kind": "registration", "cirrus.model_name": name}
        if source.job_name:
            tags[JOB_TAG] = source.job_name
        run_id = self.tracker.start_run(experiment_id, f"register_{name}", tags=tags)
        try:
            if source.local.is_dir():
                self.client.log_artifacts(run_id, str(source.local), folder_name)
                artifact_path = folder_name
            else:
                self.client.log_artifact(run_id, str(source.local), "model")
                artifact_path = "model"
        except BaseException:
            self.tracker.end_run(run_id, "FAILED")
            raise
        self.tracker.end_run(run_id)
        base = str(self.tracker.get_run(run_id).info.artifact_uri).rstrip("/")
        return f"{base}/{artifact_path}", run_id

    # -------------------------------------------------------------------------- sources

    def _source(self, path: str) -> _Source:
        """Where the files named by ``path`` are (see the module docstring for the forms)."""
        match = _JOB_OUTPUT.match(path)
        if match:
            job, rest = match.group("job"), match.group("rest")
            if rest == "artifacts" or rest.startswith("artifacts/"):
                return self._run_source(job, rest[len("artifacts"):].strip("/"), path)
            return self._job_output_source(job, rest, path)
        match = _RUNS_URI.match(path)
        if match:
            return self._run_source(match.group("run"), match.group("path"), path)
        if path.startswith("azureml:"):
            raise InvalidSpecError(
                f"'{path}' is not a path cirrusml can register from: use a local folder, "
                "azureml://jobs/<job>/outputs/<output> or "
                "azureml://jobs/<run>/outputs/artifacts/<path>.", field="path")
        local = _local_path(path)
        if local is None:
            raise InvalidSpecError(
                f"'{path}' is not a path cirrusml can register from: use a local folder, a job "
                "output (azureml://jobs/<job>/outputs/best_model) or runs:/<run_id>/<path>.",
                field="path")
        local = local.expanduser().resolve()
        if not local.exists():
            raise InvalidSpecError(f"'{path}' does not exist; check the path.", field="path")
        return _Source(local=local)

    def _job_output_source(self, job: str, output: str, path: str) -> _Source:
        store = JobStore(self.workspace)
        record = store.read(job)  # JobNotFoundError names the job and the ones there are
        output_name, _, inner = output.partition("/")
        if output_name == "best_model" and not inner and record.best_child_run_id:
            with contextlib.suppress(CirrusMLError):
                found = self._run_source(record.best_child_run_id, RunArtifacts.MLFLOW_MODEL,
                                         path, job_name=job)
                return found
        outputs = store.layout(job).named_outputs()
        if output_name not in outputs:
            state = "" if record.status is JobStatus.COMPLETED else f" (it is {record.status})"
            raise InvalidSpecError(
                f"job '{job}' has no output '{output_name}'{state}; its outputs are "
                f"{', '.join(outputs) or 'none yet'}.", field="path")
        local = outputs[output_name] / inner if inner else outputs[output_name]
        if not local.exists():
            raise InvalidSpecError(f"'{path}': job '{job}''s output has no '{inner}'.",
                                   field="path")
        return _Source(local=local, job_name=job)

    def _run_source(self, run: str, artifact_path: str, path: str,
                    job_name: str | None = None) -> _Source:
        run_id, job = self._find_run(run)
        info = self.tracker.get_run(run_id).info
        artifact_path = artifact_path.strip("/")
        listed = self.client.list_artifacts(run_id, artifact_path or None)
        if not listed:
            raise InvalidSpecError(
                f"'{path}': run {run_id} has no artifacts at '{artifact_path}'.", field="path")
        base = str(info.artifact_uri).rstrip("/")
        uri = f"{base}/{artifact_path}" if artifact_path else base
        return _Source(artifact_uri=uri, run_id=run_id, artifact_path=artifact_path,
                       job_name=job_name or job)

    def _find_run(self, run: str) -> tuple[str, str | None]:
        """(MLflow run id, job name) of a run named by id, job name or ``<job>_<index>``."""
        from mlflow.exceptions import MlflowException

        store = JobStore(self.workspace)
        if self.workspace.has_job(run):
            record = store.read(run)
            if record.mlflow_run_id:
                return record.mlflow_run_id, run
        job, _, index = run.rpartition("_")
        if job and index.isdigit() and self.workspace.has_job(job):
            for trial in store.trial_runs(job):
                if trial.name == run or trial.iteration == int(index):
                    return trial.run_id, job
        try:
            found = self.tracker.get_run(run)
        except MlflowException:
            raise InvalidSpecError(
                f"no run or job named '{run}' in {self.tracking_uri}; name a job, a child run "
                "(<job>_<index>) or an MLflow run id.", field="path") from None
        tags = dict(found.data.tags)
        job_name = tags.get(JOB_NAME_TAG)
        if job_name is None and tags.get(PARENT_TAG):
            with contextlib.suppress(MlflowException):
                parent = self.tracker.get_run(tags[PARENT_TAG])
                job_name = dict(parent.data.tags).get(JOB_NAME_TAG)
        return str(found.info.run_id), job_name

    def _check_mlflow(self, source: _Source, path: str) -> None:
        if source.local is not None:
            if not (source.local / "MLmodel").is_file():
                raise _not_mlflow(path)
            return
        assert source.artifact_uri is not None
        local = _local_path(source.artifact_uri)
        if local is not None:
            if not (local / "MLmodel").is_file():
                raise _not_mlflow(path)
            return
        listed = {Path(a.path).name for a in
                  self.client.list_artifacts(source.run_id, source.artifact_path or None)}
        if "MLmodel" not in listed:
            raise _not_mlflow(path)

    # ------------------------------------------------------------------------------ read

    def _registered_models(self) -> builtins.list[Any]:
        out: builtins.list[Any] = []
        token = None
        while True:
            page = self.client.search_registered_models(max_results=1000, page_token=token)
            out.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return out

    def _names(self) -> builtins.list[str]:
        return sorted(str(m.name) for m in self._registered_models())

    def _registered(self, name: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        names = self._names()
        raise ModelNotFoundError(
            f"no model named '{name}' in the registry ({self.tracking_uri})."
            + suggestion(name, names)
            + (" List models with `cirrus model list`." if names else
               " It has no models yet; register one with `cirrus model create`."))

    def _versions(self, name: str, *, missing_ok: bool = False) -> builtins.list[Any]:
        """Every version of ``name``, newest first."""
        if not missing_ok:
            self._registered(name)
        out: builtins.list[Any] = []
        token = None
        while True:
            page = self.client.search_model_versions(f"name='{name}'", max_results=1000,
                                                     page_token=token)
            out.extend(page)
            token = getattr(page, "token", None)
            if not token:
                break
        return sorted(out, key=lambda v: int(v.version), reverse=True)

    def _container_archived(self, name: str) -> bool:
        return _is_true(dict(self._registered(name).tags).get(ARCHIVED_TAG))

    def _version(self, name: str, version: str | int) -> Any:
        from mlflow.exceptions import MlflowException

        text = str(version).strip()
        if not text.isdigit():
            raise InvalidSpecError(f"'{version}' is not a version; versions are whole numbers "
                                   "(1, 2, ...).", field="version")
        self._registered(name)
        try:
            return self.client.get_model_version(name, text)
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        versions = [str(v.version) for v in self._versions(name)]
        raise ModelNotFoundError(f"model '{name}' has no version {text}; its versions are "
                                 f"{', '.join(reversed(versions)) or 'none'}.")

    def get(self, name: str, version: str | int | None = None,
            label: str | None = None) -> Model:
        """Version ``version`` of ``name``, or its newest version that is not archived
        (``label="latest"``)."""
        if version is not None and label is not None:
            raise InvalidSpecError("give a version or a label, not both.", field="label")
        if version is None and label is None:
            raise InvalidSpecError("give a version, or label='latest' for the newest one.",
                                   field="version")
        if label is not None:
            if label != _LATEST:
                raise InvalidSpecError(f"'{label}' is not a label; the one label is 'latest'.",
                                       field="label")
            return self._entity(self._latest(name))
        assert version is not None
        return self._entity(self._version(name, version))

    def _latest(self, name: str) -> Any:
        if self._container_archived(name):
            raise ModelNotFoundError(
                f"model '{name}' is archived; restore it with `cirrus model restore -n {name}` "
                f"(models.restore('{name}')).")
        for candidate in self._versions(name):
            if not _is_true(dict(candidate.tags).get(ARCHIVED_TAG)):
                return candidate
        raise ModelNotFoundError(
            f"model '{name}' has no version that is not archived; restore one with "
            f"`cirrus model restore -n {name} -v <version>`.")

    def list(self, name: str | None = None, stage: str | None = None, *,
             list_view_type: ListViewType | str = ListViewType.ACTIVE_ONLY
             ) -> builtins.list[Model]:
        """With ``name``, its versions (newest first, filtered by ``stage``); without, one
        entry per model (``latest_version`` set). Archived ones only show with
        ``list_view_type`` ArchivedOnly or All."""
        view = ListViewType.parse(list_view_type)

        def shown(archived: bool) -> bool:
            return view is ListViewType.ALL or archived == (view is ListViewType.ARCHIVED_ONLY)

        if name is None:
            out = []
            for registered in self._registered_models():
                archived = _is_true(dict(registered.tags).get(ARCHIVED_TAG))
                if shown(archived):
                    out.append(self._container_entity(registered, archived))
            return sorted(out, key=lambda m: str(m.name))
        container_archived = self._container_archived(name)
        models = []
        for found in self._versions(name):
            tags = dict(found.tags)
            if stage is not None and tags.get(STAGE_TAG) != stage:
                continue
            if shown(container_archived or _is_true(tags.get(ARCHIVED_TAG))):
                models.append(self._entity(found))
        return models

    def _container_entity(self, registered: Any, archived: bool) -> Model:
        name = str(registered.name)
        latest = None
        if not archived:
            for candidate in self._versions(name, missing_ok=True):
                if not _is_true(dict(candidate.tags).get(ARCHIVED_TAG)):
                    latest = str(candidate.version)
                    break
        tags = {k: v for k, v in dict(registered.tags).items() if not k.startswith(_PREFIX)}
        return Model(name=name, description=registered.description or None,
                     tags=tags or None, latest_version=latest,
                     id=f"azureml:{name}@latest")

    def is_archived(self, name: str, version: str | int) -> bool:
        """Whether a version is archived (itself, or with its whole model)."""
        found = self._version(name, version)
        return self._container_archived(name) or _is_true(dict(found.tags).get(ARCHIVED_TAG))

    def _entity(self, found: Any) -> Model:
        tags = dict(found.tags)
        user_tags = {k: v for k, v in tags.items() if not k.startswith(_PREFIX)}
        source = str(found.source)
        local = _local_path(source)
        flavors = None
        if local is not None and (local / "MLmodel").is_file():
            flavors = _flavors(local)
        created = found.creation_timestamp
        name, version = str(found.name), str(found.version)
        # A version registered straight through MLflow (``mlflow.register_model`` in a
        # pipeline's script) carries no type tag: an MLflow model folder is an mlflow_model.
        kind = tags.get(TYPE_TAG) or ("mlflow_model" if flavors is not None else "custom_model")
        return Model(
            name=name, version=version, type=kind,
            path=str(local) if local is not None else source,
            description=found.description or None, tags=user_tags or None,
            properties=json.loads(tags[PROPERTIES_TAG]) if PROPERTIES_TAG in tags else None,
            stage=tags.get(STAGE_TAG), flavors=flavors, job_name=tags.get(JOB_TAG),
            id=f"azureml:{name}:{version}",
            utc_time_created=(datetime.fromtimestamp(created / 1000, UTC).isoformat()
                              if created else None))

    # ------------------------------------------------------------------------- download

    def download(self, name: str, version: str | int,
                 download_path: str | os.PathLike[str] = ".") -> Path:
        """Copy a version's files to ``<download_path>/<name>/<folder>`` (Azure's layout);
        returns that folder."""
        found = self._version(name, version)
        source = str(found.source)
        dest_parent = Path(download_path) / name
        dest_parent.mkdir(parents=True, exist_ok=True)
        local = _local_path(source)
        if local is not None:
            if not local.exists():
                raise CirrusMLError(f"the files of model '{name}' version {found.version} are "
                                    f"gone from {local}; register the model again.")
            dest = dest_parent / local.name
            if local.is_dir():
                shutil.copytree(local, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(local, dest)
            return dest
        import mlflow.artifacts

        return Path(mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=str(dest_parent), tracking_uri=self.tracking_uri))

    def local_folder(self, name: str, version: str | int) -> Path:
        """A local folder holding a version's files (downloaded once into the workspace when
        the store is remote)."""
        found = self._version(name, version)
        local = _local_path(str(found.source))
        if local is not None:
            return local
        cache = self.workspace.root / "model-cache" / name / str(found.version)
        existing = sorted(cache.iterdir()) if cache.is_dir() else []
        if existing:
            return existing[0]
        # Downloaded beside the cache, then moved in: a cached folder is always whole.
        partial = cache.with_name(f"{cache.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        got = self.download(name, found.version, partial)
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / got.name
        os.replace(got, target)
        shutil.rmtree(partial, ignore_errors=True)
        return target

    # ------------------------------------------------------------------ archive / restore

    def archive(self, name: str, version: str | int | None = None) -> None:
        """Archive one version, or (without ``version``) the whole model: archived versions
        are left out of ``list`` and ``latest`` but can still be fetched by number."""
        self._set_archived(name, version, True)

    def restore(self, name: str, version: str | int | None = None) -> None:
        """Undo :meth:`archive` for one version, or (without ``version``) the whole model."""
        self._set_archived(name, version, False)

    def _set_archived(self, name: str, version: str | int | None, archived: bool) -> None:
        if version is None:
            self._registered(name)
            if archived:
                self.client.set_registered_model_tag(name, ARCHIVED_TAG, "true")
            elif ARCHIVED_TAG in dict(self._registered(name).tags):
                self.client.delete_registered_model_tag(name, ARCHIVED_TAG)
            return
        found = self._version(name, version)
        if archived:
            self.client.set_model_version_tag(name, str(found.version), ARCHIVED_TAG, "true")
        elif ARCHIVED_TAG in dict(found.tags):
            self.client.delete_model_version_tag(name, str(found.version), ARCHIVED_TAG)

    # -------------------------------------------------------------------------- resolve

    def resolve(self, reference: Model | str | os.PathLike[str]) -> Path:
        """The local MLflow model folder of a model reference (see :func:`resolve_model`)."""
        if isinstance(reference, Model):
            return self._resolve_entity(reference)
        text = os.fspath(reference)
        if not isinstance(text, str) or not text.strip():
            raise InvalidSpecError(f"'{reference}' is not a model reference.", field="model")
        if text.startswith(("azureml://", "runs:/", "file://")):
            return self._folder_of(self._source(text), text)
        local = Path(text).expanduser()
        if local.exists():
            return self._checked_folder(local.resolve(), text)
        try:
            name, version, label = parse_asset_reference(text)
        except ValueError as err:
            raise InvalidSpecError(
                f"{err}; name a registered model (name:version, azureml:name:version, "
                "name@latest) or an MLflow model folder that exists.", field="model") from None
        if label is not None and label != _LATEST:
            raise InvalidSpecError(f"'{label}' is not a label; the one label is 'latest'.",
                                   field="model")
        found = self._version(name, version) if version else self._latest(name)
        return self._checked_folder(self.local_folder(name, found.version), text)

    def _resolve_entity(self, model: Model) -> Path:
        local = _local_path(model.path) if model.path else None
        if local is not None and local.is_dir():
            return self._checked_folder(local.expanduser().resolve(), str(model.path))
        if model.name and model.version:
            return self.resolve(f"{model.name}:{model.version}")
        if model.path:
            return self.resolve(model.path)
        if model.name:
            return self.resolve(f"{model.name}@latest")
        raise InvalidSpecError("a Model needs a name (registered) or a path.", field="model")

    def _folder_of(self, source: _Source, text: str) -> Path:
        if source.local is not None:
            return self._checked_folder(source.local, text)
        assert source.artifact_uri is not None
        local = _local_path(source.artifact_uri)
        if local is None:
            import mlflow.artifacts

            cache = self.workspace.root / "model-cache" / "runs" / str(source.run_id)
            local = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=source.artifact_uri, dst_path=str(cache),
                tracking_uri=self.tracking_uri))
        return self._checked_folder(local, text)

    @staticmethod
    def _checked_folder(folder: Path, text: str) -> Path:
        if not (folder / "MLmodel").is_file():
            raise _not_mlflow(text, field="model")
        return folder


def _flavors(folder: Path) -> dict[str, Any] | None:
    """The flavors of the MLflow model in ``folder`` (its MLmodel file), as plain data."""
    import yaml

    try:
        data = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    flavors = data.get("flavors") if isinstance(data, dict) else None
    return dict(flavors) if isinstance(flavors, dict) else None


def resolve_model(reference: Model | str | os.PathLike[str], *,
                  workspace: Workspace | str | os.PathLike[str] | None = None,
                  tracking_uri: str | None = None) -> Path:
    """The local MLflow model folder a model reference names.

    ``reference`` is a ``Model`` (registered: by name and version; else by path), a string
    ``name:version``, ``azureml:name:version``, ``name@latest`` / ``azureml:name@latest``, a job
    output or run artifacts (``azureml://jobs/...``, ``runs:/...``), or a local MLflow model
    folder. Raises ``ModelNotFoundError`` for an unknown name or version, ``JobNotFoundError``
    for an unknown job, ``InvalidSpecError`` for a folder that is not an MLflow model.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace,
                                                                       tracking_uri=tracking_uri)
    return ModelRegistry(ws, tracking_uri).resolve(reference)
