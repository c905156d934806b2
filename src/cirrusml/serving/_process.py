"""Starting a scoring server as a background process, waiting for it, and stopping it.

A server is ``python -m cirrusml.serving --config CONFIG.json``, a child in a session of its own
(so that it outlives the caller, and stopping its process group stops its workers too), with its
output in its log file. The endpoint manager records the :class:`ServerProcess` it gets back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from cirrusml.serving._config import ServerConfig
from cirrusml.serving._errors import ServingError
from cirrusml.serving._server import local_url
from cirrusml.utils import log_tail, reap_children, spawn_module

__all__ = ["ServerProcess", "start_server", "stop_server", "wait_until_ready"]



@dataclass(frozen=True)
class ServerProcess:
    """A running server: its process id, where it listens, and its files."""

    pid: int
    host: str
    port: int
    log_file: str
    config_file: str

    @property
    def url(self) -> str:
        return local_url(self.host, self.port)

    @property
    def scoring_uri(self) -> str:
        """Azure's name for the URL to POST requests to."""
        return self.url + "/score"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def is_running(self) -> bool:
        return _alive(self.pid)


def start_server(config: ServerConfig, *, folder: str | Path | None = None,
                 timeout: float = 60.0) -> ServerProcess:
    """Start a server for ``config`` in the background; return once it listens.

    Its config (keys included, readable by the owner only), log and state file go in
    ``folder`` (a new temporary folder by default) unless ``config`` names a ``log_file`` or
    ``state_file``. The model may still be loading: :func:`wait_until_ready` waits for it.
    """
    reap_children()
    where = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="cirrus-serve-"))
    where.mkdir(parents=True, exist_ok=True)
    log_file = Path(config.log_file or where / "server.log")
    state_file = Path(config.state_file or where / "server.json")
    config = config.model_copy(update={"log_file": str(log_file), "state_file": str(state_file)})
    config_file = config.write(where / "config.json")
    proc, state = spawn_module("cirrusml.serving", config_file, log_file, state_file,
                               timeout=timeout, what="the scoring server", error=ServingError)
    return ServerProcess(pid=proc.pid, host=config.host, port=int(state["port"]),
                         log_file=str(log_file), config_file=str(config_file))


def wait_until_ready(server: ServerProcess, timeout: float = 120.0) -> None:
    """Return once ``server`` answers its readiness probe (``GET /health``) with 200."""
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if not server.is_running():
            raise ServingError(f"the scoring server (pid {server.pid}) ended before it was "
                               f"ready. Its log ({server.log_file}) ends:\n"
                               f"{log_tail(Path(server.log_file))}")
        if time.monotonic() > end:
            raise ServingError(f"the scoring server (pid {server.pid}) was not ready within "
                               f"{timeout:g} s; its log is {server.log_file}.")
        time.sleep(0.1)


def stop_server(pid: int, timeout: float = 15.0) -> bool:
    """Stop the server with process id ``pid`` and its workers; ``False`` if it had ended.

    Raises :class:`ServingError` when ``pid`` is a process but not a cirrusml server.
    """
    reap_children()
    if not _alive(pid):
        return False
    try:
        command = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False
    if "cirrusml.serving" not in command:
        raise ServingError(f"process {pid} is not a cirrusml scoring server ({command[:80]!r}); "
                           "not stopping it.")
    group = os.getpgid(pid) == pid  # its own session: stop the workers with it
    _signal(pid, signal.SIGTERM, group)
    end = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > end:
            _signal(pid, signal.SIGKILL, group)
            end = time.monotonic() + timeout
        time.sleep(0.05)
    if group:  # workers left behind by a killed supervisor
        _signal(pid, signal.SIGKILL, group)
    return True


def _signal(pid: int, signum: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def _alive(pid: int) -> bool:
    reap_children()
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


