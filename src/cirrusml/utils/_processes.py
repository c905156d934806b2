"""Starting a Python module as a detached background process that reports where it listens."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Processes started here, kept so that they are reaped (no zombies) once they end.
_CHILDREN: list[subprocess.Popen[bytes]] = []


def reap_children() -> None:
    """Collect the exit status of the started processes that have ended."""
    for proc in list(_CHILDREN):
        if proc.poll() is not None:
            _CHILDREN.remove(proc)


def log_tail(path: str | Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, or ``(no log)``."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def read_state(path: Path) -> dict[str, Any] | None:
    """The JSON object a started process wrote to ``path``, or None (not there yet)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def spawn_module(module: str, config_file: Path, log_file: Path, state_file: Path, *,
                 timeout: float, what: str, error: type[Exception]
                 ) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start ``python -m module --config config_file`` in a session of its own (so that it
    outlives the caller, and its process group holds its workers), output to ``log_file``;
    return once it has written ``state_file`` with its own ``pid`` (it listens): the process and
    that state. Raises ``error`` naming ``what`` with the end of its log if it exits first or
    takes longer than ``timeout`` seconds (then it is killed)."""
    reap_children()
    state_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_file, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--config", str(config_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        log.close()
    _CHILDREN.append(proc)
    end = time.monotonic() + timeout
    while True:
        state = read_state(state_file)
        if state is not None and state.get("pid") == proc.pid:
            return proc, state
        if proc.poll() is not None:
            raise error(f"{what} exited (code {proc.returncode}) before it listened. Its log "
                        f"({log_file}) ends:\n{log_tail(log_file)}")
        if time.monotonic() > end:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its session: the workers too
            raise error(f"{what} did not listen within {timeout:g} s; its log ({log_file}) "
                        f"ends:\n{log_tail(log_file)}")
        time.sleep(0.05)
