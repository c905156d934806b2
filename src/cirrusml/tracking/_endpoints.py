"""The endpoint store: each online endpoint's record and keys, as files in the workspace.

Layout, under ``<workspace>/endpoints/<endpoint>/``::

    endpoint.json             the EndpointRecord: the endpoint's settings, traffic, mirror
                              traffic, router process and deployments (each with its model,
                              resolved model folder and server process)
    keys.json                 the EndpointKeys (owner-only, 0600): the primary and secondary
                              keys, and the key each deployment's server takes from the router
    .lock                     held while a writer reads, changes and writes endpoint.json
    router/                   the router's config, log and state file
    deployments/<name>/       a deployment server's config (0600, it holds a key), log and
                              state file

Both JSON files are replaced atomically (written beside, then renamed), so a reader (the
router, which rereads them when they change) never sees half a file. The client is the only
writer; it changes ``endpoint.json`` only inside :meth:`EndpointStore.editing`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cirrusml.exceptions import EndpointNotFoundError, WorkspaceError
from cirrusml.tracking._workspace import Workspace, now_iso
from cirrusml.utils import file_lock, suggestion, write_text_atomic

__all__ = ["DeploymentRecord", "EndpointKeys", "EndpointRecord", "EndpointStore",
           "ProcessRecord"]

_RECORD = "endpoint.json"
_KEYS = "keys.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class ProcessRecord(_Record):
    """A background process the client started (a router or a deployment server)."""

    pid: int
    #: Its start time, to tell it from a later process given the same pid.
    pid_started: float | None = None
    host: str = "127.0.0.1"
    port: int
    config_file: str
    log_file: str
    state_file: str


class DeploymentRecord(_Record):
    """One deployment of an endpoint."""

    name: str
    #: The deployment as its YAML mapping (``ManagedOnlineDeployment._to_dict()``).
    entity: dict[str, Any]
    #: The model as the deployment names it (``azureml:name:version``, a path, ...).
    model: str
    #: The local MLflow model folder that reference resolved to when the deployment was made.
    model_path: str
    process: ProcessRecord | None = None
    #: ``Succeeded`` once its server answered its readiness probe; ``Failed`` if it never did.
    status: str = "Creating"
    error: str | None = None
    created: str = Field(default_factory=now_iso)
    updated: str = Field(default_factory=now_iso)


class EndpointRecord(_Record):
    """One online endpoint: its settings, routing and processes."""

    name: str
    #: The endpoint's own settings as its YAML mapping (description, tags, auth_mode).
    entity: dict[str, Any]
    traffic: dict[str, int] = Field(default_factory=dict)
    mirror_traffic: dict[str, int] = Field(default_factory=dict)
    router: ProcessRecord | None = None
    deployments: dict[str, DeploymentRecord] = Field(default_factory=dict)
    created: str = Field(default_factory=now_iso)
    updated: str = Field(default_factory=now_iso)

    @property
    def scoring_uri(self) -> str | None:
        if self.router is None:
            return None
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1"}.get(self.router.host,
                                                              self.router.host)
        return f"http://{host}:{self.router.port}/score"


class EndpointKeys(_Record):
    """The keys of an endpoint (``keys.json``)."""

    primary_key: str
    secondary_key: str
    #: The key each deployment's server takes, known only to the router.
    deployment_keys: dict[str, str] = Field(default_factory=dict)


class EndpointStore:
    """The online endpoints of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def root(self) -> Path:
        return self.workspace.root / "endpoints"

    def folder(self, name: str) -> Path:
        return self.root / name

    def router_folder(self, name: str) -> Path:
        return self.folder(name) / "router"

    def deployment_folder(self, name: str, deployment: str) -> Path:
        return self.folder(name) / "deployments" / deployment

    # ---------------------------------------------------------------------------- reading

    def exists(self, name: str) -> bool:
        return (self.folder(name) / _RECORD).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / _RECORD).is_file())

    def read(self, name: str) -> EndpointRecord:
        """The endpoint's record. Raises ``EndpointNotFoundError`` for an unknown endpoint."""
        path = self.folder(name) / _RECORD
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise EndpointNotFoundError(
                f"no online endpoint '{name}' in workspace {self.workspace.root}."
                + suggestion(name, self.names())
                + " `cirrus online-endpoint list` shows the endpoints.") from None
        try:
            return EndpointRecord.model_validate_json(text)
        except ValueError as err:
            raise WorkspaceError(f"the endpoint record {path} is damaged ({err}); delete the "
                                 "endpoint and create it again.") from None

    def records(self) -> list[EndpointRecord]:
        found = []
        for name in self.names():
            with contextlib.suppress(EndpointNotFoundError):
                found.append(self.read(name))
        return found

    def read_keys(self, name: str) -> EndpointKeys:
        path = self.folder(name) / _KEYS
        try:
            return EndpointKeys.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.read(name)  # an unknown endpoint: say so
            raise WorkspaceError(f"the endpoint '{name}' has no keys file {path}; delete the "
                                 "endpoint and create it again.") from None

    def signature(self, name: str) -> tuple[int, ...]:
        """What changes when ``endpoint.json`` or ``keys.json`` is replaced (for readers that
        reload them); a missing file counts as a change too."""
        stamp: list[int] = []
        for file in (_RECORD, _KEYS):
            try:
                info = os.stat(self.folder(name) / file)
                stamp += [info.st_ino, info.st_mtime_ns, info.st_size]
            except FileNotFoundError:
                stamp += [0, 0, 0]
        return tuple(stamp)

    # ---------------------------------------------------------------------------- writing

    def create(self, record: EndpointRecord, keys: EndpointKeys) -> None:
        """Record a new endpoint (its folder must not hold one yet)."""
        if self.exists(record.name):
            raise WorkspaceError(f"online endpoint '{record.name}' already exists.")
        self.folder(record.name).mkdir(parents=True, exist_ok=True)
        self.write_keys(record.name, keys)
        self._write(record)

    @contextlib.contextmanager
    def editing(self, name: str) -> Iterator[EndpointRecord]:
        """The endpoint's record, to change in place; written back (with ``updated`` set) when
        the block ends without an error. Holds the endpoint's lock meanwhile: never nest."""
        folder = self.folder(name)
        if not folder.is_dir():
            self.read(name)
        with file_lock(folder / ".lock"):
            record = self.read(name)
            yield record
            record.updated = now_iso()
            self._write(record)

    def write_keys(self, name: str, keys: EndpointKeys) -> None:
        """Replace ``keys.json`` (readable and writable by its owner only)."""
        write_text_atomic(self.folder(name) / _KEYS, keys.model_dump_json(indent=2), mode=0o600)

    def delete(self, name: str) -> None:
        """Remove the endpoint's folder (its processes must be stopped first)."""
        shutil.rmtree(self.folder(name), ignore_errors=True)

    def _write(self, record: EndpointRecord) -> None:
        write_text_atomic(self.folder(record.name) / _RECORD, record.model_dump_json(indent=2),
                      mode=0o644)


