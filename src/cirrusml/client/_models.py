"""``ml_client.models``: register, get, list, download, archive and restore models
(``ModelOperations`` in Azure).

A thin façade over :class:`~cirrusml.tracking.ModelRegistry` (MLflow's model registry in the
workspace's store): it takes Azure's arguments and hands back ``Model`` entities.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

from cirrusml.spec import ListViewType, Model
from cirrusml.tracking import ModelRegistry, Workspace

__all__ = ["ModelOperations"]


class ModelOperations:
    """The registered models of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self._registry = ModelRegistry(workspace)

    @property
    def registry(self) -> ModelRegistry:
        return self._registry

    def create_or_update(self, model: Model, **kwargs: Any) -> Model:
        """Register ``model`` as the next version of its name; returns the registered version
        (its ``version``, ``id`` and the local ``path`` of its files filled in).

        ``model.path`` is a local MLflow model folder, a job output
        (``azureml://jobs/<job>/outputs/best_model``), a run's artifacts
        (``azureml://jobs/<run>/outputs/artifacts/outputs/mlflow-model``) or ``runs:/<id>/<path>``.
        """
        return self._registry.register(model)

    def get(self, name: str, version: str | int | None = None,
            label: str | None = None) -> Model:
        """Version ``version`` of model ``name``, or with ``label="latest"`` its newest version
        that is not archived."""
        return self._registry.get(name, version=version, label=label)

    def list(self, name: str | None = None, stage: str | None = None, *,
             list_view_type: ListViewType | str = ListViewType.ACTIVE_ONLY,
             include_archived: bool = False, archived_only: bool = False
             ) -> builtins.list[Model]:
        """Every model (one entry per name, ``latest_version`` set), or the versions of
        ``name`` newest first. Archived ones show with ``list_view_type`` ``ArchivedOnly`` /
        ``All`` (or ``archived_only`` / ``include_archived``)."""
        view = ListViewType.parse(list_view_type)
        if archived_only:
            view = ListViewType.ARCHIVED_ONLY
        elif include_archived:
            view = ListViewType.ALL
        return self._registry.list(name, stage, list_view_type=view)

    def download(self, name: str, version: str | int,
                 download_path: str | os.PathLike[str] = ".") -> Path:
        """Copy a version's files to ``<download_path>/<name>/<folder>``; returns that folder."""
        return self._registry.download(name, version, download_path)

    def archive(self, name: str, version: str | int | None = None,
                label: str | None = None, **kwargs: Any) -> None:
        """Archive a version (or the whole model): hidden from ``list`` and ``latest``."""
        self._registry.archive(name, self._version(name, version, label))

    def restore(self, name: str, version: str | int | None = None,
                label: str | None = None, **kwargs: Any) -> None:
        """Bring an archived version (or the whole model) back."""
        self._registry.restore(name, self._version(name, version, label))

    def _version(self, name: str, version: str | int | None, label: str | None
                 ) -> str | int | None:
        if label is None:
            return version
        return self._registry.get(name, version=version, label=label).version
