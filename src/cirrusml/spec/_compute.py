"""The compute entity: a Dask cluster registered in the workspace (``ml_client.compute``),
the counterpart of Azure's ``AmlCompute``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DaskCompute"]


@dataclass
class DaskCompute:
    """A Dask cluster as a workspace compute.

    Give ``address`` (an existing scheduler, ``tcp://HOST:PORT``) or ``local=True`` with
    ``workers`` (worker processes of a ``LocalCluster`` the workspace starts;
    ``threads_per_worker`` threads each). The other fields are filled in by ``get``/``list``.
    """

    name: str
    address: str | None = None
    local: bool = False
    workers: int = 2
    threads_per_worker: int = 1
    description: str | None = None
    type: str = "dask"
    #: ``Running`` (the scheduler answers) or ``Unreachable``; None until read back.
    state: str | None = None
    pid: int | None = None
    created: str | None = None
    #: Each worker: address, threads, memory_limit (bytes), pid; read from the scheduler.
    worker_details: list[dict[str, Any]] = field(default_factory=list)

    def _to_record(self) -> dict[str, Any]:
        return {"type": "dask", "address": self.address, "local": self.local,
                "workers": self.workers, "threads_per_worker": self.threads_per_worker,
                "description": self.description, "pid": self.pid, "created": self.created}

    @classmethod
    def _from_record(cls, record: dict[str, Any]) -> DaskCompute:
        return cls(name=str(record["name"]), address=record.get("address"),
                   local=bool(record.get("local")), workers=int(record.get("workers") or 0),
                   threads_per_worker=int(record.get("threads_per_worker") or 1),
                   description=record.get("description"), pid=record.get("pid"),
                   created=record.get("created"))

    def _as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "address": self.address,
                "local": self.local, "workers": self.workers,
                "threads_per_worker": self.threads_per_worker, "state": self.state,
                "pid": self.pid, "created": self.created, "description": self.description,
                "worker_details": self.worker_details}
