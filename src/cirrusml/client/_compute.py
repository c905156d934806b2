"""``ml_client.compute``: the workspace's Dask computes, shaped like Azure's compute operations.

A compute is a Dask cluster that jobs naming it (``compute: azureml:NAME``) run their trials
on. :class:`DaskCompute` is either an existing scheduler (``address="tcp://HOST:PORT"``, checked
when it is created: it must answer within a few seconds) or a ``LocalCluster`` the workspace
starts itself as a detached background process (``local=True, workers=N``) and stops when the
compute is deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

from cirrusml.client._endpoints import LROPoller
from cirrusml.exceptions import CirrusMLError, InvalidSpecError, WorkspaceError
from cirrusml.execution import cluster_info, connect
from cirrusml.spec import DaskCompute
from cirrusml.tracking import Workspace, now_iso, process_alive, process_start_time

__all__ = ["ComputeOperations", "DaskCompute"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,31}$")
#: How long a local cluster has to start and write its address.
_START_SECONDS = 90.0


class ComputeOperations:
    """``ml_client.compute``: create, read and delete the workspace's Dask computes."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def begin_create_or_update(self, compute: DaskCompute) -> LROPoller[DaskCompute]:
        """Register ``compute``: check its scheduler answers, or start its local cluster.

        Nothing is recorded when the scheduler does not answer. Re-creating a local compute
        stops the cluster it had first.
        """
        _check(compute)
        if compute.local:
            old = self._workspace.get_compute(compute.name)
            if old is not None:
                _stop_local(old)
            compute.pid, compute.address = self._start_local(compute)
        else:
            assert compute.address is not None
            client = connect(compute.address, what=f"compute '{compute.name}'")
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        compute.created = now_iso()
        self._workspace.save_compute(compute.name, compute._to_record())
        return LROPoller(self.get(compute.name))

    def _start_local(self, compute: DaskCompute) -> tuple[int, str]:
        folder = self._workspace.computes_dir / compute.name
        folder.mkdir(parents=True, exist_ok=True)
        address_file = folder / "address"
        address_file.unlink(missing_ok=True)
        log = open(folder / "cluster.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", "from cirrusml.execution._dask import _main; _main()",
                 "--workers", str(compute.workers),
                 "--threads", str(compute.threads_per_worker),
                 "--address-file", str(address_file)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=str(folder))
        finally:
            log.close()
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            if address_file.exists():
                address = address_file.read_text(encoding="utf-8").strip()
                if address:
                    return process.pid, address
            if process.poll() is not None:
                break
            time.sleep(0.1)
        with contextlib.suppress(Exception):
            process.kill()
            process.wait(timeout=5)
        raise CirrusMLError(
            f"the local Dask cluster of compute '{compute.name}' did not start; see "
            f"{folder / 'cluster.log'}.")

    def get(self, name: str) -> DaskCompute:
        """Compute ``name``, with its state and workers read from its scheduler."""
        record = self._workspace.get_compute(name)
        if record is None:
            known = ", ".join(sorted(self._workspace.computes())) or "none"
            raise WorkspaceError(
                f"compute '{name}' is not registered in this workspace (registered: {known}). "
                "Create it with `cirrus compute create --name NAME --type dask ...`.")
        compute = DaskCompute._from_record(record)
        compute.state = "Unreachable"
        if compute.local and not process_alive(compute.pid):
            compute.state = "Stopped"
            return compute
        if compute.address:
            try:
                client = connect(compute.address, timeout=3, what=f"compute '{name}'")
            except CirrusMLError:
                return compute
            try:
                info = cluster_info(client)
                compute.worker_details = info["workers"]
                compute.state = "Running"
            finally:
                with contextlib.suppress(Exception):
                    client.close(timeout=5)
        return compute

    def list(self) -> list[DaskCompute]:
        """Every registered compute, with its state."""
        return [self.get(name) for name in sorted(self._workspace.computes())]

    def begin_delete(self, name: str) -> LROPoller[None]:
        """Forget compute ``name``; a local one's cluster is stopped."""
        record = self._workspace.get_compute(name)
        if record is None:
            self.get(name)  # raises the not-registered error
            return LROPoller(None)
        _stop_local(record)
        self._workspace.remove_compute(name)
        return LROPoller(None)


def _check(compute: DaskCompute) -> None:
    if not isinstance(compute.name, str) or not _NAME.match(compute.name):
        raise InvalidSpecError(
            f"compute name {compute.name!r} is not valid: 2-32 letters, digits, '-' or '_', "
            "starting with a letter.")
    if compute.type != "dask":
        raise InvalidSpecError(
            f"compute type {compute.type!r} is not supported; use type 'dask'.")
    if compute.local == bool(compute.address):
        raise InvalidSpecError(
            f"compute '{compute.name}': give either an address (tcp://HOST:PORT of a running "
            "scheduler) or local=True with workers=N, not both or neither.")
    if compute.address and "://" not in compute.address:
        raise InvalidSpecError(
            f"compute '{compute.name}': address {compute.address!r} must look like "
            "tcp://HOST:PORT.")
    if compute.local:
        for label, value in (("workers", compute.workers),
                             ("threads_per_worker", compute.threads_per_worker)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidSpecError(
                    f"compute '{compute.name}': {label} must be 1 or more, got {value!r}.")


def _stop_local(record: dict[str, Any]) -> None:
    """Stop the cluster process of a local compute's record (if it still runs)."""
    if not record.get("local"):
        return
    pid = record.get("pid")
    if not pid or not process_alive(int(pid)):
        return
    if process_start_time(int(pid)) is None:
        return
    with contextlib.suppress(OSError):
        os.kill(int(pid), signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process_alive(int(pid)):
        time.sleep(0.1)
    if process_alive(int(pid)):
        with contextlib.suppress(OSError):
            os.killpg(int(pid), signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(int(pid), os.WNOHANG)
