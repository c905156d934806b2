"""Starting a scoring server as a background process, waiting for it, and stopping it.

A server is ``python -m cirrusml.serving --config CONFIG.json``, a child in a session of its own
(so that it outlives the caller, and stopping its process group stops its workers too), with its
output in its log file. The endpoint manager records the :class:`ServerProcess` it gets back.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
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

__all__ = ["ServerProcess", "start_server", "stop_server", "wait_until_ready"]

#: Servers started by this process, kept so that they are reaped when they end.
_CHILDREN: list[subprocess.Popen[bytes]] = []


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
    _reap()
    where = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="cirrus-serve-"))
    where.mkdir(parents=True, exist_ok=True)
    log_file = Path(config.log_file or where / "server.log")
    state_file = Path(config.state_file or where / "server.json")
    state_file.unlink(missing_ok=True)
    config = config.model_copy(update={"log_file": str(log_file), "state_file": str(state_file)})
    config_file = config.write(where / "config.json")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_file, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cirrusml.serving", "--config", str(config_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        log.close()
    _CHILDREN.append(proc)
    end = time.monotonic() + timeout
    while True:
        state = _read_state(state_file)
        if state is not None and state.get("pid") == proc.pid:
            return ServerProcess(pid=proc.pid, host=config.host, port=int(state["port"]),
                                 log_file=str(log_file), config_file=str(config_file))
        if proc.poll() is not None:
            raise ServingError(f"the scoring server exited (code {proc.returncode}) before it "
                               f"listened. Its log ({log_file}) ends:\n{_tail(log_file)}")
        if time.monotonic() > end:
            stop_server(proc.pid)
            raise ServingError(f"the scoring server did not listen within {timeout:g} s; its "
                               f"log ({log_file}) ends:\n{_tail(log_file)}")
        time.sleep(0.05)


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
                               f"{_tail(Path(server.log_file))}")
        if time.monotonic() > end:
            raise ServingError(f"the scoring server (pid {server.pid}) was not ready within "
                               f"{timeout:g} s; its log is {server.log_file}.")
        time.sleep(0.1)


def stop_server(pid: int, timeout: float = 15.0) -> bool:
    """Stop the server with process id ``pid`` and its workers; ``False`` if it had ended.

    Raises :class:`ServingError` when ``pid`` is a process but not a cirrusml server.
    """
    _reap()
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


def _reap() -> None:
    for proc in list(_CHILDREN):
        if proc.poll() is not None:
            _CHILDREN.remove(proc)


def _alive(pid: int) -> bool:
    _reap()
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
