"""``ml_client.online_endpoints`` and ``ml_client.online_deployments`` (Azure's
``OnlineEndpointOperations`` and ``OnlineDeploymentOperations``).

An endpoint is a router process (``python -m cirrusml.serving._router``) on one loopback port,
its ``scoring_uri``; each deployment is a scoring server (``python -m cirrusml.serving``) with
``instance_count`` workers on a port of its own, which only the router calls (with a key of the
deployment's own). Every process is a child in a session of its own, so it outlives the caller;
the endpoint store (``cirrusml.tracking.EndpointStore``) records them.

The rules of the processes' lives:

* ``get`` and ``list`` only look: a deployment whose process has ended is ``Failed``, one that
  runs but does not answer its readiness probe ``Unhealthy``; an endpoint whose router has
  ended is ``Failed``.
* ``invoke``, ``online_endpoints.begin_create_or_update`` of an existing endpoint and
  ``restart`` bring back every process that has ended (a deployment on a new port, the router on
  its old port when it is free, so that ``scoring_uri`` stays), and record them.
* ``begin_delete`` stops the processes, then removes the record.

The ``begin_*`` methods do their work before they return, and hand back a poller that is
already done (``result()``, ``wait()``, ``done()``, ``status()``), so Azure's code runs as is.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import psutil

from cirrusml.exceptions import (
    EndpointError,
    EndpointNotFoundError,
    InvalidSpecError,
    NotSupportedYetError,
)
from cirrusml.spec import (
    CodeConfiguration,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    RouterConfig,
    ServerConfig,
    generate_key,
)
from cirrusml.spec._assets import parse_asset_reference
from cirrusml.tracking import (
    DeploymentRecord,
    EndpointKeys,
    EndpointRecord,
    EndpointStore,
    ModelRegistry,
    ProcessRecord,
    Workspace,
    process_alive,
    process_start_time,
    resolve_model,
)
from cirrusml.utils import (
    file_lock,
    log_tail,
    reap_children,
    spawn_module,
    suggestion,
)

__all__ = ["DEPLOYMENT_HEADER", "EndpointAuthKeys", "LROPoller", "OnlineDeploymentOperations",
           "OnlineEndpointOperations"]

#: The request header that picks a deployment (and the answer's header naming who answered).
DEPLOYMENT_HEADER = "azureml-model-deployment"
#: The module each kind of process runs.
_SERVER_MODULE = "cirrusml.serving"
_ROUTER_MODULE = "cirrusml.serving._router"
#: How long a process may take to bind its port, and the router to answer its liveness probe.
_START_SECONDS = 60.0
_KEY_TYPES = ("primary", "secondary")


T = TypeVar("T")


class LROPoller(Generic[T]):
    """The answer of a ``begin_*`` call, shaped like ``azure.core.polling.LROPoller``. The work is
    done when the call returns, so the poller is already done."""

    def __init__(self, value: T) -> None:
        self._value = value

    def result(self, timeout: float | None = None) -> T:
        return self._value

    def wait(self, timeout: float | None = None) -> None:
        return None

    def done(self) -> bool:
        return True

    def status(self) -> str:
        return "Succeeded"

    def add_done_callback(self, func: Callable[[Any], None]) -> None:
        func(self)


@dataclass(frozen=True)
class EndpointAuthKeys:
    """An endpoint's keys (``azure.ai.ml.entities.EndpointAuthKeys``)."""

    primary_key: str
    secondary_key: str


# ------------------------------------------------------------------------------ processes


def _alive(process: ProcessRecord | None) -> bool:
    reap_children()
    return process is not None and process_alive(process.pid, process.pid_started)


def _spawn(module: str, config_file: Path, log_file: Path, state_file: Path, host: str,
           what: str) -> ProcessRecord:
    """Start ``python -m module --config config_file`` in a session of its own; return once it
    has written its state file (it listens)."""
    proc, state = spawn_module(module, config_file, log_file, state_file,
                               timeout=_START_SECONDS, what=what, error=EndpointError)
    return ProcessRecord(pid=proc.pid, pid_started=process_start_time(proc.pid), host=host,
                         port=int(state["port"]), config_file=str(config_file),
                         log_file=str(log_file), state_file=str(state_file))


def _probe(process: ProcessRecord, route: str, timeout: float = 2.0) -> bool:
    """Whether ``GET route`` of the process answers 200."""
    url = f"http://{process.host}:{process.port}{route}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(process: ProcessRecord, route: str, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not _probe(process, route):
        if not _alive(process):
            raise EndpointError(f"{what} ended before it was ready. Its log "
                                f"({process.log_file}) ends:\n{log_tail(process.log_file)}")
        if time.monotonic() > end:
            raise EndpointError(f"{what} was not ready within {timeout:g} s; its log is "
                                f"{process.log_file}.")
        time.sleep(0.1)


def _ours(proc: psutil.Process) -> bool:
    try:
        return _SERVER_MODULE in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def _leftovers(group: int) -> list[psutil.Process]:
    """The cirrusml serving processes still in process group ``group`` (the workers of a
    server whose supervisor was killed)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(proc.pid) == group and _ours(proc):
                found.append(proc)
    return found


def _stop_pid(pid: int, started: float | None, timeout: float = 15.0) -> None:
    """Stop a server or router and its workers: SIGTERM, SIGKILL after ``timeout``."""
    reap_children()
    if process_alive(pid, started):
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            proc = None
        if proc is not None and _ours(proc):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
            end = time.monotonic() + timeout
            while process_alive(pid, started) and time.monotonic() < end:
                reap_children()
                time.sleep(0.05)
    for proc in _leftovers(pid):
        with contextlib.suppress(psutil.Error):
            proc.kill()
    reap_children()


def _stop(process: ProcessRecord | None) -> None:
    if process is not None:
        _stop_pid(process.pid, process.pid_started)


# ------------------------------------------------------------------------------ the manager


class _Endpoints:
    """What both operation groups share: the store, and starting and stopping processes."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.store = EndpointStore(workspace)

    # ------------------------------------------------------------------------------ entities

    def endpoint_entity(self, record: EndpointRecord) -> ManagedOnlineEndpoint:
        state = "Succeeded" if _alive(record.router) else "Failed"
        return ManagedOnlineEndpoint(**record.entity, traffic=dict(record.traffic),
                                     mirror_traffic=dict(record.mirror_traffic),
                                     scoring_uri=record.scoring_uri, provisioning_state=state)

    def deployment_entity(self, deployment: DeploymentRecord) -> ManagedOnlineDeployment:
        return ManagedOnlineDeployment(**deployment.entity,
                                       provisioning_state=self.deployment_state(deployment))

    @staticmethod
    def deployment_state(deployment: DeploymentRecord) -> str:
        if deployment.process is None:
            return deployment.status
        if not _alive(deployment.process):
            return "Failed"
        if deployment.status != "Succeeded":
            return deployment.status
        return "Succeeded" if _probe(deployment.process, "/health") else "Unhealthy"

    def deployment(self, record: EndpointRecord, name: str) -> DeploymentRecord:
        found = record.deployments.get(name)
        if found is None:
            raise EndpointNotFoundError(
                f"endpoint '{record.name}' has no deployment '{name}'."
                + suggestion(name, list(record.deployments))
                + f" Its deployments: {', '.join(record.deployments) or 'none yet'}.")
        return found

    # ------------------------------------------------------------------------------- routing

    @staticmethod
    def check_routing(record: EndpointRecord, traffic: dict[str, int],
                      mirror: dict[str, int]) -> None:
        """Traffic and mirror traffic name existing deployments; live shares add up to 0 or
        100, mirrored ones to at most 50, and no deployment takes both."""
        known = list(record.deployments)
        for field, shares in (("traffic", traffic), ("mirror_traffic", mirror)):
            for name in shares:
                if name not in record.deployments:
                    raise InvalidSpecError(
                        f"names deployment '{name}', which endpoint '{record.name}' does not "
                        f"have." + suggestion(name, known)
                        + f" Its deployments: {', '.join(known) or 'none yet'}; create it "
                        "first (cirrus online-deployment create).", field=field)
        if sum(traffic.values()) not in (0, 100):
            raise InvalidSpecError(f"the shares must add up to 100 (or all be 0), got "
                                   f"{sum(traffic.values())}: {traffic}.", field="traffic")
        if sum(mirror.values()) > 50:
            raise InvalidSpecError(f"the mirrored shares add up to {sum(mirror.values())}; "
                                   "at most 50 may be mirrored.", field="mirror_traffic")
        for name, share in mirror.items():
            if share > 0 and traffic.get(name, 0) > 0:
                raise InvalidSpecError(
                    f"deployment '{name}' takes live traffic ({traffic[name]}%); a deployment "
                    "takes live or mirrored traffic, not both.", field="mirror_traffic")

    # ------------------------------------------------------------------------------- router

    def start_router(self, record: EndpointRecord) -> ProcessRecord:
        folder = self.store.router_folder(record.name)
        ports = [record.router.port, 0] if record.router is not None else [0]
        last: EndpointError | None = None
        for port in ports:
            config = RouterConfig(workspace=str(self.workspace.root), endpoint_name=record.name,
                                  port=port, log_file=str(folder / "router.log"),
                                  state_file=str(folder / "state.json"))
            config_file = config.write(folder / "config.json")
            try:
                process = _spawn(_ROUTER_MODULE, config_file, folder / "router.log",
                                 folder / "state.json", config.host,
                                 f"the router of endpoint '{record.name}'")
            except EndpointError as error:
                last = error  # the old port may be taken: try a free one
                continue
            _wait_ready(process, "/", _START_SECONDS, f"the router of endpoint "
                        f"'{record.name}'")
            return process
        assert last is not None
        raise last

    # --------------------------------------------------------------------------- deployments

    def start_server(self, endpoint: str, deployment: DeploymentRecord, key: str
                     ) -> ProcessRecord:
        """Start a deployment's server and wait for its readiness probe (as long as Azure's
        readiness probe settings allow: ``initial_delay + period * failure_threshold``)."""
        entity = ManagedOnlineDeployment(**deployment.entity)
        folder = self.store.deployment_folder(endpoint, deployment.name)
        request = entity.request_settings
        script: dict[str, Any] = {}
        if entity.code_configuration is not None:  # the code is its working copy by now
            name, version = self.model_identity(deployment.model)
            script = {"code_path": entity.code_configuration.code,
                      "scoring_script": entity.code_configuration.scoring_script,
                      "model_name": name, "model_version": version,
                      "environment": _environment_name(entity.environment)}
        config = ServerConfig.make(
            model_path=deployment.model_path, primary_key=key,
            instance_count=entity.instance_count,
            request_timeout_ms=request.request_timeout_ms,
            max_concurrent_requests_per_instance=request.max_concurrent_requests_per_instance,
            log_file=str(folder / "server.log"), state_file=str(folder / "state.json"),
            access_log=True, **script)
        config_file = config.write(folder / "config.json")
        what = f"deployment '{deployment.name}' of endpoint '{endpoint}'"
        process = _spawn(_SERVER_MODULE, config_file, folder / "server.log",
                         folder / "state.json", config.host, what)
        probe = entity.readiness_probe
        try:
            _wait_ready(process, "/health",
                        probe.initial_delay + probe.period * probe.failure_threshold, what)
        except EndpointError:
            _stop(process)
            raise
        return process

    def model_identity(self, reference: str) -> tuple[str | None, str | None]:
        """The registered name and version of a deployment's model (``name@latest`` as the
        version it is at now), for ``AZUREML_MODEL_DIR``; ``(None, None)`` for a folder or a
        job output, which go by their folder's name, version 1."""
        if "://" in reference or reference.startswith("runs:/") or \
                Path(reference).expanduser().exists():
            return None, None
        try:
            name, version, label = parse_asset_reference(reference)
        except ValueError:
            return None, None
        if version is None:
            registry = ModelRegistry(self.workspace)
            version = str(registry.get(name, label=label or "latest").version)
        return name, version

    def working_copy(self, endpoint: str, name: str, code: CodeConfiguration) -> str:
        """Copy the deployment's ``code`` folder into its folder (``app/<stamp>/<code>``, the
        app root that ``AZUREML_MODEL_DIR`` lives in too); returns the copy's path. Later
        changes to the folder do not reach the deployment, as on Azure, which uploads it."""
        source = code.source_folder("score.py")
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
        target = self.store.deployment_folder(endpoint, name) / "app" / stamp / source.name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return str(target)

    # ------------------------------------------------------------------------------ healing

    def locked(self, name: str) -> contextlib.AbstractContextManager[None]:
        """One healer at a time per endpoint (a lock of its own, apart from the record's)."""
        return file_lock(self.store.folder(name) / ".heal.lock")

    def heal(self, name: str) -> EndpointRecord:
        """Bring back the endpoint's ended processes (deployments that once served, and the
        router); returns the record as it is afterwards."""
        record = self.store.read(name)
        if _alive(record.router) and all(
                _alive(d.process) for d in record.deployments.values() if d.process):
            return record
        with self.locked(name):
            record = self.store.read(name)
            keys = self.store.read_keys(name)
            for deployment in record.deployments.values():
                if deployment.process is None or _alive(deployment.process):
                    continue
                _stop(deployment.process)  # its workers may outlive it
                try:
                    process = self.start_server(name, deployment,
                                                keys.deployment_keys[deployment.name])
                    error = None
                except EndpointError as failure:
                    process, error = None, str(failure)
                with self.store.editing(name) as current:
                    if deployment.name in current.deployments:
                        entry = current.deployments[deployment.name]
                        entry.process = process if process is not None else entry.process
                        entry.status = "Succeeded" if error is None else "Failed"
                        entry.error = error
            if not _alive(record.router):
                _stop(record.router)
                router = self.start_router(record)
                with self.store.editing(name) as current:
                    current.router = router
            return self.store.read(name)


# ----------------------------------------------------------------------- online endpoints


class OnlineEndpointOperations:
    """The online endpoints of one workspace."""

    def __init__(self, workspace: Workspace, manager: _Endpoints | None = None) -> None:
        self._manager = manager or _Endpoints(workspace)
        self._store = self._manager.store

    def begin_create_or_update(self, endpoint: ManagedOnlineEndpoint, *, local: bool = False,
                               **kwargs: Any) -> LROPoller[ManagedOnlineEndpoint]:
        """Create the endpoint (its keys and its router), or update its description, tags,
        traffic and mirror traffic (``None`` keeps them) and bring back ended processes."""
        if not isinstance(endpoint, ManagedOnlineEndpoint):
            raise InvalidSpecError(f"expected a ManagedOnlineEndpoint, got "
                                   f"{type(endpoint).__name__}.", field="endpoint")
        if endpoint.auth_mode != "key":
            raise NotSupportedYetError(
                f"auth_mode '{endpoint.auth_mode}' is not supported by local endpoints; use "
                "auth_mode: key (requests carry 'Authorization: Bearer <key>').")
        name = endpoint.name
        settings = {k: v for k, v in endpoint._to_dict().items()
                    if k in ("name", "description", "tags", "properties", "auth_mode")}
        if not self._store.exists(name):
            record = EndpointRecord(name=name, entity=settings)
            self._manager.check_routing(record, endpoint.traffic or {},
                                        endpoint.mirror_traffic or {})
            self._store.create(record, EndpointKeys(primary_key=generate_key(),
                                                    secondary_key=generate_key()))
            try:
                router = self._manager.start_router(record)
            except EndpointError:
                self._store.delete(name)
                raise
            with self._store.editing(name) as record:
                record.router = router
            return LROPoller(self._manager.endpoint_entity(self._store.read(name)))
        with self._store.editing(name) as record:
            traffic = (_full_traffic(record, endpoint.traffic) if endpoint.traffic is not None
                       else record.traffic)
            mirror = (dict(endpoint.mirror_traffic) if endpoint.mirror_traffic is not None
                      else record.mirror_traffic)
            self._manager.check_routing(record, traffic, mirror)
            record.entity = {**record.entity, **settings}
            record.traffic, record.mirror_traffic = traffic, mirror
        return LROPoller(self._manager.endpoint_entity(self._manager.heal(name)))

    def get(self, name: str, *, local: bool = False) -> ManagedOnlineEndpoint:
        """The endpoint as it is: ``provisioning_state`` is ``Failed`` when its router has
        ended (``invoke`` or ``restart`` brings it back)."""
        return self._manager.endpoint_entity(self._store.read(name))

    def list(self, *, local: bool = False) -> builtins.list[ManagedOnlineEndpoint]:
        return [self._manager.endpoint_entity(r) for r in self._store.records()]

    def get_keys(self, name: str) -> EndpointAuthKeys:
        keys = self._store.read_keys(name)
        return EndpointAuthKeys(primary_key=keys.primary_key, secondary_key=keys.secondary_key)

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary",
                              **kwargs: Any) -> LROPoller[None]:
        """Replace the primary or the secondary key; the router takes the new one at its next
        request (the deployments go on as they were)."""
        self.regenerate_keys(name, key_type=key_type)
        return LROPoller(None)

    def regenerate_keys(self, name: str, key_type: str = "primary") -> EndpointAuthKeys:
        """Replace the primary or the secondary key; returns the keys as they are now."""
        kind = str(key_type).strip().lower().removesuffix("key").removesuffix("_")
        if kind not in _KEY_TYPES:
            raise InvalidSpecError(f"'{key_type}' is not a key type; use primary or "
                                   "secondary.", field="key_type")
        with self._manager.locked(name):  # no healer rewrites the keys meanwhile
            keys = self._store.read_keys(name)
            self._store.write_keys(name, keys.model_copy(update={f"{kind}_key": generate_key()}))
        return self.get_keys(name)

    def invoke(self, endpoint_name: str, *, request_file: str | os.PathLike[str] | None = None,
               deployment_name: str | None = None, input_data: Any = None,
               params_override: Any = None, local: bool = False, **kwargs: Any) -> str:
        """Send a scoring request (the JSON in ``request_file``, or ``input_data``: JSON text, a
        payload as Python data, or a DataFrame) to the endpoint with its primary key; returns
        the answer's text. ``deployment_name`` picks the deployment (the
        ``azureml-model-deployment`` header). Ended processes are brought back first."""
        import requests

        body = _request_body(request_file, input_data)
        record = self._store.read(endpoint_name)
        if deployment_name is not None:
            self._manager.deployment(record, deployment_name)
        record = self._manager.heal(endpoint_name)
        keys = self._store.read_keys(endpoint_name)
        headers = {"Authorization": f"Bearer {keys.primary_key}",
                   "Content-Type": "application/json"}
        if deployment_name is not None:
            headers[DEPLOYMENT_HEADER] = deployment_name
        timeouts = [(d.entity.get("request_settings") or {}).get("request_timeout_ms", 5000)
                    for d in record.deployments.values()]
        assert record.scoring_uri is not None
        try:
            answer = requests.post(record.scoring_uri, data=body, headers=headers,
                                   timeout=max(timeouts, default=5000) / 1000 + 10)
        except requests.RequestException as error:
            raise EndpointError(f"could not reach endpoint '{endpoint_name}' at "
                                f"{record.scoring_uri}: {error}") from None
        if answer.status_code >= 400:
            raise EndpointError(f"endpoint '{endpoint_name}' answered {answer.status_code}: "
                                f"{_error_message(answer.text)}",
                                status_code=answer.status_code)
        return str(answer.text)

    def restart(self, name: str) -> ManagedOnlineEndpoint:
        """Bring back the endpoint's ended processes now (cirrusml's own; ``invoke`` does it
        too)."""
        return self._manager.endpoint_entity(self._manager.heal(name))

    def begin_delete(self, name: str, *, local: bool = False,
                     **kwargs: Any) -> LROPoller[None]:
        """Stop the endpoint's deployments and router, and remove its record and keys."""
        record = self._store.read(name)
        for deployment in record.deployments.values():
            _stop(deployment.process)
        _stop(record.router)
        self._store.delete(name)
        return LROPoller(None)


def _full_traffic(record: EndpointRecord, traffic: dict[str, int]) -> dict[str, int]:
    """``traffic`` with every deployment it leaves out at 0."""
    return {**{name: 0 for name in record.deployments}, **traffic}


def _request_body(request_file: str | os.PathLike[str] | None, input_data: Any) -> bytes:
    if (request_file is None) == (input_data is None):
        raise InvalidSpecError("give exactly one of request_file (a JSON file) and input_data.",
                               field="request_file")
    if request_file is not None:
        path = Path(request_file)
        try:
            return path.read_bytes()
        except OSError as error:
            raise InvalidSpecError(f"cannot read the request file '{path}': "
                                   f"{error.strerror}.", field="request_file") from None
    if isinstance(input_data, bytes):
        return input_data
    if isinstance(input_data, str):
        return input_data.encode()
    if hasattr(input_data, "to_json") and hasattr(input_data, "columns"):  # a DataFrame
        split = json.loads(input_data.to_json(orient="split", date_format="iso"))
        return json.dumps({"input_data": split}).encode()
    try:
        return json.dumps(input_data).encode()
    except TypeError as error:
        raise InvalidSpecError(f"input_data must be JSON text, JSON-serialisable data or a "
                               f"DataFrame ({error}).", field="input_data") from None


def _error_message(text: str) -> str:
    try:
        error = json.loads(text)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return text[:500]


# ---------------------------------------------------------------------- online deployments


class OnlineDeploymentOperations:
    """The deployments of the online endpoints of one workspace."""

    def __init__(self, workspace: Workspace, manager: _Endpoints | None = None) -> None:
        self._manager = manager or _Endpoints(workspace)
        self._store = self._manager.store
        self._workspace = workspace

    def begin_create_or_update(self, deployment: ManagedOnlineDeployment, *,
                               local: bool = False, **kwargs: Any
                               ) -> LROPoller[ManagedOnlineDeployment]:
        """Start the deployment's server and record it (with 0% traffic when new). Updating a
        deployment starts the new server first and stops the old one once the router sends to
        the new one, so that the endpoint keeps answering."""
        if not isinstance(deployment, ManagedOnlineDeployment):
            raise InvalidSpecError(f"expected a ManagedOnlineDeployment, got "
                                   f"{type(deployment).__name__}.", field="deployment")
        if not deployment.endpoint_name:
            raise InvalidSpecError("is required: the endpoint the deployment belongs to.",
                                   field="endpoint_name")
        if deployment.model is None:
            raise InvalidSpecError("is required: a registered model (azureml:<name>:<version>) "
                                   "or a local MLflow model folder.", field="model")
        endpoint, name = deployment.endpoint_name, deployment.name
        record = self._store.read(endpoint)
        model_path = resolve_model(deployment.model, workspace=self._workspace)
        entity = deployment._to_dict()
        if deployment.code_configuration is not None:
            code = self._manager.working_copy(endpoint, name, deployment.code_configuration)
            entity["code_configuration"] = {
                "code": code, "scoring_script": deployment.code_configuration.scoring_script}
        with self._manager.locked(endpoint):
            keys = self._store.read_keys(endpoint)
            key = keys.deployment_keys.get(name) or generate_key()
            if name not in keys.deployment_keys:
                keys.deployment_keys[name] = key
                self._store.write_keys(endpoint, keys)
        entry = DeploymentRecord(name=name, entity=entity,
                                 model=_model_reference(deployment.model),
                                 model_path=str(model_path))
        old = record.deployments.get(name)
        try:
            process = self._manager.start_server(endpoint, entry, key)
        except EndpointError as error:
            if old is None:  # kept, Failed, so that its logs can be read
                entry.status, entry.error = "Failed", str(error)
                with self._store.editing(endpoint) as current:
                    current.deployments[name] = entry
                    current.traffic.setdefault(name, 0)
            raise
        entry.process, entry.status = process, "Succeeded"
        if old is not None:
            entry.created = old.created
        with self._store.editing(endpoint) as current:
            current.deployments[name] = entry
            current.traffic.setdefault(name, 0)
        if old is not None and old.process is not None:
            _stop(old.process)
        _forget_copies(self._store.deployment_folder(endpoint, name), entity)
        return LROPoller(self._manager.deployment_entity(entry))

    def get(self, name: str, endpoint_name: str, *, local: bool = False
            ) -> ManagedOnlineDeployment:
        """The deployment as it is: ``provisioning_state`` is ``Failed`` when its server has
        ended, ``Unhealthy`` when it runs but does not answer its readiness probe."""
        record = self._store.read(endpoint_name)
        return self._manager.deployment_entity(self._manager.deployment(record, name))

    def list(self, endpoint_name: str, *, local: bool = False
             ) -> builtins.list[ManagedOnlineDeployment]:
        record = self._store.read(endpoint_name)
        return [self._manager.deployment_entity(d) for d in record.deployments.values()]

    def get_logs(self, name: str, endpoint_name: str, lines: int | None = None, *,
                 container_type: str | None = None, local: bool = False) -> str:
        """The last ``lines`` lines (all without it) of the deployment server's log: startup,
        one line per request, refusals and errors."""
        record = self._store.read(endpoint_name)
        self._manager.deployment(record, name)
        log = self._store.deployment_folder(endpoint_name, name) / "server.log"
        try:
            text = log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        if lines is None:
            return text
        if isinstance(lines, bool) or int(lines) < 0:
            raise InvalidSpecError(f"must be 0 or more, got {lines!r}.", field="lines")
        kept = text.splitlines()[-int(lines):] if int(lines) else []
        return "\n".join(kept) + ("\n" if kept else "")

    def begin_delete(self, name: str, endpoint_name: str, *, local: bool = False,
                     **kwargs: Any) -> LROPoller[None]:
        """Stop the deployment's server and remove it. A deployment with live or mirrored
        traffic is refused, as Azure does: set its share to 0 first."""
        record = self._store.read(endpoint_name)
        deployment = self._manager.deployment(record, name)
        for field, shares in (("traffic", record.traffic),
                              ("mirror_traffic", record.mirror_traffic)):
            if shares.get(name, 0) > 0:
                raise InvalidSpecError(
                    f"deployment '{name}' still takes {shares[name]}% of endpoint "
                    f"'{endpoint_name}''s {field.replace('_', ' ')}; give it 0 first "
                    f"(cirrus online-endpoint update -n {endpoint_name} --traffic ...).",
                    field=field)
        with self._store.editing(endpoint_name) as current:
            current.deployments.pop(name, None)
            current.traffic.pop(name, None)
            current.mirror_traffic.pop(name, None)
        _stop(deployment.process)
        with self._manager.locked(endpoint_name):
            keys = self._store.read_keys(endpoint_name)
            keys.deployment_keys.pop(name, None)
            self._store.write_keys(endpoint_name, keys)
        shutil.rmtree(self._store.deployment_folder(endpoint_name, name), ignore_errors=True)
        return LROPoller(None)


def _forget_copies(folder: Path, entity: dict[str, Any]) -> None:
    """Remove the working copies of the code that the deployment no longer runs."""
    code = (entity.get("code_configuration") or {}).get("code")
    keep = Path(code).parent.name if code else None
    apps = folder / "app"
    if apps.is_dir():
        for stamp in apps.iterdir():
            if stamp.name != keep:
                shutil.rmtree(stamp, ignore_errors=True)


def _environment_name(environment: Any) -> str | None:
    """An environment as named (``azureml:name:version``, or the entity's name or image)."""
    if environment is None:
        return None
    if isinstance(environment, str):
        return environment
    for attribute in ("name", "image"):
        value = getattr(environment, attribute, None)
        if value:
            version = getattr(environment, "version", None)
            return f"{value}:{version}" if attribute == "name" and version else str(value)
    return "(unnamed environment)"


def _model_reference(model: Model | str) -> str:
    if isinstance(model, str):
        return model
    if model.name and model.version:
        return f"azureml:{model.name}:{model.version}"
    return str(model.path or model.name)
