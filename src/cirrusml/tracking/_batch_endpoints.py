"""Batch endpoints and batch jobs' settings, as files in the workspace.

Layout, under ``<workspace>/batch-endpoints/<endpoint>/``::

    endpoint.json             the BatchEndpointRecord: the endpoint's settings, its default
                              deployment and its deployments (each with its settings, the
                              model as named and the local MLflow model folder it resolved to)
    .lock                     held while a writer reads, changes and writes endpoint.json

A batch scoring job is a job like any other (``jobs/<name>/``, ``type: batch`` in its record);
what it scores and how is its :class:`BatchJobSettings`, written at submission to the job
folder's ``batch.json`` and read by its runner (``python -m cirrusml.serving.batch``).

Every JSON file is replaced atomically (written beside, then renamed), so a reader never sees
half a file. The client is the only writer of ``endpoint.json``; it changes it only inside
:meth:`BatchEndpointStore.editing`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cirrusml.exceptions import BatchEndpointNotFoundError, WorkspaceError
from cirrusml.tracking._workspace import Workspace, now_iso
from cirrusml.utils import file_lock, suggestion, write_json_atomic

__all__ = ["BatchDeploymentRecord", "BatchEndpointRecord", "BatchEndpointStore",
           "BatchJobSettings", "read_json"]

_RECORD = "endpoint.json"


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise WorkspaceError(f"'{path}' is unreadable: {err}") from None


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class BatchJobSettings(_Record):
    """What a batch scoring job scores and how (``jobs/<name>/batch.json``)."""

    #: The model as it was named (``azureml:name:version``, ``name@latest``, a folder).
    model: str
    #: The local MLflow model folder it resolved to at submission.
    model_path: str
    #: ``uri_file``, ``uri_folder`` or ``mltable``, and the absolute local path.
    input_type: str
    input_path: str
    output_file_name: str = "predictions.csv"
    method: str = "predict"
    mini_batch_size: int = 10
    max_concurrency_per_instance: int = 1
    max_retries: int = 3
    timeout: float = 30
    logging_level: str = "info"
    environment_variables: dict[str, str] = Field(default_factory=dict)
    #: The endpoint and deployment that ran it (None for ``batch_scoring.create``).
    endpoint_name: str | None = None
    deployment_name: str | None = None
    #: A scoring script deployment: the working copy of its code, the script's path in it and
    #: the environment as named (recorded, not built); None when the MLflow model is scored.
    code_path: str | None = None
    scoring_script: str | None = None
    environment: str | None = None
    #: ``append_row`` (results to ``output_file_name``) or ``summary_only`` (scripts only).
    output_action: str = "append_row"
    #: Failed items tolerated before the job fails (-1: every one); None: the first failure
    #: fails the job (``batch_scoring.create``).
    error_threshold: int | None = None

    @classmethod
    def read(cls, path: Path) -> BatchJobSettings:
        try:
            return cls.model_validate(read_json(path))
        except ValidationError as err:
            raise WorkspaceError(f"the batch settings '{path}' are damaged: {err}") from None

    def write(self, path: Path) -> None:
        write_json_atomic(path, self.model_dump())


class BatchDeploymentRecord(_Record):
    """One deployment of a batch endpoint."""

    name: str
    #: The deployment as its YAML mapping (``BatchDeployment._to_dict()``).
    entity: dict[str, Any]
    #: The model as the deployment names it, and the model it resolved to: ``azureml:n:v`` for
    #: a registered model (``name@latest`` pinned to its version), else the folder.
    model: str
    model_id: str
    #: The local MLflow model folder of that model.
    model_path: str
    created: str = Field(default_factory=now_iso)
    updated: str = Field(default_factory=now_iso)


class BatchEndpointRecord(_Record):
    """One batch endpoint: its settings, default deployment and deployments."""

    name: str
    #: The endpoint's own settings as its YAML mapping (description, tags, auth_mode).
    entity: dict[str, Any]
    default_deployment: str | None = None
    deployments: dict[str, BatchDeploymentRecord] = Field(default_factory=dict)
    created: str = Field(default_factory=now_iso)
    updated: str = Field(default_factory=now_iso)

    def deployment(self, name: str) -> BatchDeploymentRecord:
        """Deployment ``name``; raises ``BatchEndpointNotFoundError`` listing the others."""
        if name not in self.deployments:
            names = sorted(self.deployments)
            raise BatchEndpointNotFoundError(
                f"batch endpoint '{self.name}' has no deployment named '{name}'."
                + suggestion(name, names)
                + (f" Its deployments: {', '.join(names)}." if names else
                   " It has no deployments yet; create one with `cirrus batch-deployment "
                   "create --file deployment.yml`."))
        return self.deployments[name]


class BatchEndpointStore:
    """The batch endpoints of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def root(self) -> Path:
        return self.workspace.root / "batch-endpoints"

    def folder(self, name: str) -> Path:
        return self.root / name

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / _RECORD).is_file())

    def exists(self, name: str) -> bool:
        return (self.folder(name) / _RECORD).is_file()

    def read(self, name: str) -> BatchEndpointRecord:
        """Endpoint ``name``; raises ``BatchEndpointNotFoundError`` naming the ones there are."""
        path = self.folder(name) / _RECORD
        if not path.is_file():
            names = self.names()
            raise BatchEndpointNotFoundError(
                f"no batch endpoint named '{name}' in the workspace {self.workspace.root}."
                + suggestion(name, names)
                + (f" Its batch endpoints: {', '.join(names)}." if names else
                   " Create one with `cirrus batch-endpoint create --file endpoint.yml`."))
        try:
            return BatchEndpointRecord.model_validate(read_json(path))
        except ValidationError as err:
            raise WorkspaceError(f"the record of batch endpoint '{name}' ({path}) is damaged: "
                                 f"{err}") from None

    def records(self) -> list[BatchEndpointRecord]:
        out = []
        for name in self.names():
            with contextlib.suppress(BatchEndpointNotFoundError, WorkspaceError):
                out.append(self.read(name))
        return out

    @contextlib.contextmanager
    def editing(self, name: str, *, create: dict[str, Any] | None = None
                ) -> Iterator[BatchEndpointRecord]:
        """Read endpoint ``name`` under its lock, let the caller change it, write it back.

        With ``create`` (the endpoint's entity mapping) a missing endpoint is made. Nothing is
        written when the block raises.
        """
        folder = self.folder(name)
        if create is not None:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            self.read(name)  # raises, naming the endpoints there are
        with file_lock(folder / ".lock"):
            if create is not None and not self.exists(name):
                record = BatchEndpointRecord(name=name, entity=create)
            else:
                record = self.read(name)
            yield record
            record.updated = now_iso()
            write_json_atomic(folder / _RECORD, record.model_dump())

    def delete(self, name: str) -> None:
        """Remove endpoint ``name`` and its deployments (its jobs stay)."""
        self.read(name)
        shutil.rmtree(self.folder(name))
