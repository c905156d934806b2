"""The workspace folder: settings, computes, queue slots, job names, and the file mechanics of
job records (atomic writes under a lock, appended event lines).

Layout (``./.cirrus`` by default, or ``$CIRRUS_WORKSPACE``)::

    mlflow.db                 the MLflow store (SQLite) unless a tracking URI is given
    artifacts/                MLflow artifacts, one folder per experiment
    settings.json             workspace settings (max_concurrent_jobs, computes, tracking_uri)
    settings.lock             held while the settings are read-modified-written
    slots/slot-<i>.lock       queue slots: a running job holds one (an OS file lock)
    jobs/<name>/              one job folder; every file in it is named by
                              :class:`~cirrusml.tracking.JobLayout` (see ``tracking/_layout.py``)

Only :class:`~cirrusml.tracking.JobStore` (the readers, and the client's writes: submission, a
runner found dead, a cancel, a resume) and :class:`~cirrusml.tracking.JobRecorder` (the runner's
writes) call the per-job methods here. ``record.json`` writers hold ``record.lock`` while they
read-modify-write.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import string
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from cirrusml.exceptions import JobNotFoundError, WorkspaceError
from cirrusml.tracking._layout import JobLayout
from cirrusml.tracking._record import ACTIVE, TERMINAL, JobStatus
from cirrusml.utils import file_lock, suggestion, write_json_atomic

#: Statuses of a job that has not ended, and of one that has (``JobStatus`` members, which
#: compare equal to their strings).
ACTIVE_STATUSES: tuple[JobStatus, ...] = ACTIVE
TERMINAL_STATUSES: tuple[JobStatus, ...] = TERMINAL

_ADJECTIVES = (
    "amber", "brave", "calm", "crisp", "eager", "fancy", "gentle", "happy", "jolly", "keen",
    "lively", "mellow", "nimble", "plucky", "quiet", "rapid", "sincere", "steady", "tidy",
    "witty", "bold", "bright", "clever", "frosty", "golden", "honest", "lucid", "polite",
)
_NOUNS = (
    "river", "cloud", "forest", "meadow", "harbor", "canyon", "island", "comet", "falcon",
    "garden", "lantern", "maple", "orchid", "pebble", "quartz", "rocket", "sparrow", "tulip",
    "valley", "willow", "anchor", "beacon", "cedar", "dune", "ember", "fjord", "glacier",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def default_workspace_path(workspace: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder: the argument, else ``$CIRRUS_WORKSPACE``, else ``./.cirrus``."""
    if workspace is not None:
        return Path(workspace).expanduser().resolve()
    env = os.environ.get("CIRRUS_WORKSPACE")
    if env:
        return Path(env).expanduser().resolve()
    return (Path.cwd() / ".cirrus").resolve()


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """Whether ``pid`` is a live process (not a zombie), and the same one that started then."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is not None and abs(proc.create_time() - started) > 1.0:
            return False  # the pid was reused by another process
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def process_start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


class Workspace:
    """A local workspace folder. Creating the object creates nothing on disk; ``ensure`` does."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 tracking_uri: str | None = None) -> None:
        self.root = default_workspace_path(root)
        self._tracking_uri = tracking_uri

    # ------------------------------------------------------------------------------ layout

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI: the one given, else the workspace's SQLite file."""
        if self._tracking_uri:
            return self._tracking_uri
        configured = self.settings().get("tracking_uri")
        if configured:
            return str(configured)
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def ensure(self) -> Workspace:
        try:
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            self.artifacts_dir.mkdir(parents=True, exist_ok=True)
            (self.root / "slots").mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise WorkspaceError(
                f"cannot create the workspace folder '{self.root}': {err.strerror}. Pass "
                "--workspace (or set CIRRUS_WORKSPACE) to a folder you can write to."
            ) from None
        return self

    def exists(self) -> bool:
        return self.jobs_dir.is_dir()

    # ---------------------------------------------------------------------------- settings

    def settings(self) -> dict[str, Any]:
        path = self.root / "settings.json"
        if not path.exists():
            return {}
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as err:
            raise WorkspaceError(f"cannot read '{path}': {err}; fix or delete the file.") from None

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        self.ensure()
        with file_lock(self.root / "settings.lock"):
            data = self.settings()
            data.update(changes)
            write_json_atomic(self.root / "settings.json", data)
        return data

    # ---------------------------------------------------------------------------- computes

    @staticmethod
    def compute_name(compute: str | None) -> str | None:
        """The compute a job names (``azureml:NAME`` or ``NAME``); None for the local machine."""
        if not compute or compute in ("local", "azureml:local"):
            return None
        return compute.split(":", 1)[1] if compute.startswith("azureml:") else compute

    def computes(self) -> dict[str, dict[str, Any]]:
        """The registered computes, by name (``settings.json``'s ``computes``)."""
        found = self.settings().get("computes", {})
        return {str(k): dict(v) if isinstance(v, dict) else {"type": str(v)}
                for k, v in (found.items() if isinstance(found, dict) else [])}

    def get_compute(self, name: str) -> dict[str, Any] | None:
        """The record of compute ``name``, or None."""
        return self.computes().get(name)

    def save_compute(self, name: str, record: dict[str, Any]) -> None:
        """Record (or replace) compute ``name``."""
        self.ensure()
        with file_lock(self.root / "settings.lock"):
            data = self.settings()
            computes = dict(data.get("computes") or {})
            computes[name] = {"name": name, **record}
            data["computes"] = computes
            write_json_atomic(self.root / "settings.json", data)

    def remove_compute(self, name: str) -> dict[str, Any] | None:
        """Forget compute ``name``; its record, or None if there was none."""
        self.ensure()
        with file_lock(self.root / "settings.lock"):
            data = self.settings()
            computes = dict(data.get("computes") or {})
            record = computes.pop(name, None)
            data["computes"] = computes
            write_json_atomic(self.root / "settings.json", data)
        return dict(record) if isinstance(record, dict) else None

    def dask_compute(self, compute: str | None) -> dict[str, Any] | None:
        """The record of the registered Dask compute a job names, or None (local)."""
        name = self.compute_name(compute)
        if name is None:
            return None
        record = self.get_compute(name)
        if record is None or record.get("type") != "dask":
            return None
        return record

    @property
    def computes_dir(self) -> Path:
        """Files of the computes the workspace runs itself (local Dask clusters' logs)."""
        return self.root / "computes"

    def compute_notices(self, compute: str | None) -> list[str]:
        """One notice when a job names a compute this workspace does not have."""
        name = self.compute_name(compute)
        if name is None or name in self.computes():
            return []
        return [f"compute '{name}' is not registered in this workspace; the job runs on the "
                "local machine."]

    # -------------------------------------------------------------------------------- jobs

    def new_job_name(self) -> str:
        rng = random.SystemRandom()
        while True:
            suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
            name = f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NOUNS)}_{suffix}"
            if not (self.jobs_dir / name).exists():
                return name

    def job_dir(self, name: str) -> Path:
        return self.jobs_dir / name

    def layout(self, name: str) -> JobLayout:
        """The paths of job ``name``'s folder."""
        return JobLayout(self.job_dir(name))

    def has_job(self, name: str) -> bool:
        return self.layout(name).record.exists()

    def create_job(self, name: str, record: dict[str, Any]) -> Path:
        self.ensure()
        layout = self.layout(name)
        try:
            layout.root.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise WorkspaceError(
                f"a job named '{name}' already exists in {self.root}; choose another name."
            ) from None
        layout.log.touch()
        layout.events.touch()
        write_json_atomic(layout.record, record)
        return layout.root

    def read_record(self, name: str) -> dict[str, Any]:
        path = self.layout(name).record
        for attempt in range(3):
            try:
                return dict(json.loads(path.read_text(encoding="utf-8")))
            except FileNotFoundError:
                names = self.job_names()
                raise JobNotFoundError(
                    f"no job named '{name}' in the workspace {self.root}."
                    + suggestion(name, names)
                    + (" List jobs with `cirrus job list`." if names else " It has no jobs yet.")
                ) from None
            except ValueError:
                time.sleep(0.05 * (attempt + 1))  # caught mid-replace on an odd filesystem
        raise WorkspaceError(f"the record of job '{name}' ({path}) is unreadable.")

    def update_record(self, name: str, **changes: Any) -> dict[str, Any]:
        """Read-modify-write a job's record under its lock; returns the new record."""
        layout = self.layout(name)
        with file_lock(layout.record_lock):
            record = self.read_record(name)
            record.update(changes)
            write_json_atomic(layout.record, record)
        return record

    def transition(self, name: str, status: str, *, only_from: tuple[str, ...] | None = None,
                   **changes: Any) -> dict[str, Any] | None:
        """Move a job to ``status`` if it is in one of ``only_from`` (any non-terminal status
        by default). Returns the new record, or ``None`` when the job was already elsewhere."""
        allowed = only_from if only_from is not None else ACTIVE_STATUSES
        layout = self.layout(name)
        with file_lock(layout.record_lock):
            record = self.read_record(name)
            if record.get("status") not in allowed:
                return None
            record.update(changes)
            record["status"] = str(status)
            if status in TERMINAL_STATUSES and not record.get("ended"):
                record["ended"] = now_iso()
            write_json_atomic(layout.record, record)
        return record

    def job_names(self) -> list[str]:
        if not self.jobs_dir.is_dir():
            return []
        return sorted(p.name for p in self.jobs_dir.iterdir()
                      if p.is_dir() and JobLayout(p).record.exists())

    def records(self) -> list[dict[str, Any]]:
        """Every job record, newest first."""
        out = []
        for name in self.job_names():
            with contextlib.suppress(JobNotFoundError, WorkspaceError):
                out.append(self.read_record(name))
        out.sort(key=lambda r: (r.get("created", ""), r.get("name", "")), reverse=True)
        return out

    # ------------------------------------------------------------------------------ events

    def append_event(self, name: str, event: dict[str, Any]) -> None:
        event = {"time": time.time(), **event}
        with open(self.layout(name).events, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=str) + "\n")

    def read_events(self, name: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Complete event lines from byte ``offset``; returns them and the next offset."""
        chunk, offset = self._complete_lines(self.layout(name).events, offset)
        events = []
        for line in chunk.splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
        return events, offset

    def read_log(self, name: str, offset: int = 0) -> tuple[str, int]:
        """Complete log lines from byte ``offset``; returns the text and the next offset."""
        chunk, offset = self._complete_lines(self.layout(name).log, offset)
        return chunk.decode("utf-8", errors="replace"), offset

    @staticmethod
    def _complete_lines(path: Path, offset: int) -> tuple[bytes, int]:
        """The whole lines written to ``path`` after byte ``offset``, and the offset after them
        (a line still being written waits for the next read)."""
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            return b"", offset
        end = chunk.rfind(b"\n") + 1
        return chunk[:end], offset + end

    # ------------------------------------------------------------------------------- slots

    def try_take_slot(self, slots: int) -> int | None:
        """Take a free queue slot; returns an open file descriptor that holds it, or ``None``.

        The slot is an OS lock on ``slots/slot-<i>.lock``: it is released when the descriptor
        is closed or the process ends, however it ends.
        """
        (self.root / "slots").mkdir(parents=True, exist_ok=True)
        for i in range(max(1, slots)):
            fd = os.open(self.root / "slots" / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            return fd
        return None

    # ------------------------------------------------------------------------------- locks

