"""``MLClient``: the entry point to a workspace, shaped like ``azure.ai.ml.MLClient``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cirrusml.client._batch import (
    BatchDeploymentOperations,
    BatchEndpointOperations,
    BatchScoringOperations,
)
from cirrusml.client._compute import ComputeOperations
from cirrusml.client._endpoints import (
    LROPoller,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
    _Endpoints,
)
from cirrusml.client._jobs import JobOperations
from cirrusml.client._models import ModelOperations
from cirrusml.exceptions import InvalidSpecError, WorkspaceError
from cirrusml.spec import (
    BatchDeployment,
    BatchEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from cirrusml.tracking import Workspace

_CONFIG_NAMES = ("config.json",)


class MLClient:
    """A handle to a local workspace.

    ``MLClient()`` uses ``./.cirrus`` (or ``$CIRRUS_WORKSPACE``); ``MLClient(workspace=path)``
    uses that folder. Azure's positional arguments (credential, subscription, resource group,
    workspace name) are accepted so that code written for Azure runs unchanged; no credential is
    needed. ``tracking_uri`` points runs at any MLflow tracking server instead of the workspace's
    SQLite file.
    """

    def __init__(
        self,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        registry_name: str | None = None,
        *,
        workspace: str | os.PathLike[str] | None = None,
        tracking_uri: str | None = None,
        max_concurrent_jobs: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.credential = credential
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self.workspace_name = workspace_name
        self.registry_name = registry_name
        self._workspace = Workspace(workspace, tracking_uri=tracking_uri)
        if max_concurrent_jobs is not None:
            if isinstance(max_concurrent_jobs, bool) or int(max_concurrent_jobs) < 1:
                raise WorkspaceError(
                    f"max_concurrent_jobs must be 1 or more, got {max_concurrent_jobs!r}.")
            self._workspace.update_settings(max_concurrent_jobs=int(max_concurrent_jobs))
        self.jobs = JobOperations(self._workspace, compute_notices=self._compute_notices)
        self.models = ModelOperations(self._workspace)
        # Dask computes that jobs naming them run their trials on (client/_compute.py).
        self.compute = ComputeOperations(self._workspace)
        endpoints = _Endpoints(self._workspace)
        self.online_endpoints = OnlineEndpointOperations(self._workspace, endpoints)
        self.online_deployments = OnlineDeploymentOperations(self._workspace, endpoints)
        # Batch scoring: endpoints, deployments and endpoint-less batch jobs (client/_batch.py).
        self.batch_endpoints = BatchEndpointOperations(self._workspace)
        self.batch_deployments = BatchDeploymentOperations(self._workspace)
        self.batch_scoring = BatchScoringOperations(self._workspace)

    @classmethod
    def from_config(
        cls,
        credential: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        file_name: str | None = None,
        **kwargs: Any,
    ) -> MLClient:
        """Build a client from a ``config.json``, found as Azure finds it.

        ``path`` is the file or a folder holding it; without it, the current folder and its
        parents are searched, each also in its ``.azureml`` subfolder. Azure's keys
        (``subscription_id``, ``resource_group``, ``workspace_name``) are read; our own keys
        ``workspace`` (the workspace folder, relative to the file) and ``tracking_uri`` are used
        when present.
        """
        found = _find_config(path, file_name)
        try:
            config = json.loads(found.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise WorkspaceError(f"cannot read workspace config '{found}': {err}") from None
        if not isinstance(config, dict):
            raise WorkspaceError(f"workspace config '{found}' must hold a JSON object.")
        folder = config.get("workspace")
        if folder is not None:
            folder = (found.parent / folder).resolve()
        return cls(
            credential,
            config.get("subscription_id"),
            config.get("resource_group") or config.get("resource_group_name"),
            config.get("workspace_name"),
            workspace=folder,
            tracking_uri=config.get("tracking_uri"),
            **kwargs,
        )

    def begin_create_or_update(self, entity: Any, **kwargs: Any) -> LROPoller[Any]:
        """Create or update an online or batch endpoint or deployment (Azure's generic entry
        point)."""
        if isinstance(entity, ManagedOnlineEndpoint):
            return self.online_endpoints.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, ManagedOnlineDeployment):
            return self.online_deployments.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, BatchEndpoint):
            return self.batch_endpoints.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, BatchDeployment):
            return self.batch_deployments.begin_create_or_update(entity, **kwargs)
        raise InvalidSpecError(
            f"begin_create_or_update takes an online or batch endpoint or deployment, got "
            f"{type(entity).__name__}; jobs and models go to create_or_update.",
            field="entity")

    def create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """Register a model, or submit a job (Azure's generic entry point)."""
        if isinstance(entity, Model):
            return self.models.create_or_update(entity, **kwargs)
        if isinstance(entity, ManagedOnlineEndpoint | ManagedOnlineDeployment | BatchEndpoint
                      | BatchDeployment):
            raise InvalidSpecError(f"a {type(entity).__name__} goes to begin_create_or_update.",
                                   field="entity")
        return self.jobs.create_or_update(entity, **kwargs)

    @property
    def workspace_path(self) -> Path:
        return self._workspace.root

    @property
    def tracking_uri(self) -> str:
        return self._workspace.tracking_uri

    def _compute_notices(self, compute: str | None) -> list[str]:
        """One notice when the job names a compute this workspace does not have."""
        return self._workspace.compute_notices(compute)

    def __repr__(self) -> str:
        return f"MLClient(workspace={str(self._workspace.root)!r})"


def _find_config(path: str | os.PathLike[str] | None, file_name: str | None) -> Path:
    names = (file_name,) if file_name else _CONFIG_NAMES
    if path is not None:
        candidate = Path(path)
        if candidate.is_file():
            return candidate
        folders = [candidate]
    else:
        here = Path.cwd()
        folders = [here, *here.parents]
    tried = []
    for folder in folders:
        for sub in (folder, folder / ".azureml"):
            for name in names:
                candidate = sub / name
                tried.append(str(candidate))
                if candidate.is_file():
                    return candidate
    raise WorkspaceError(
        "no workspace config.json found (looked in the current folder, its parents and their "
        ".azureml folders). Create one, or use MLClient() for the default local workspace "
        "(./.cirrus)."
    )
