"""Execution backends (L2): where trials, refits and final steps run.

:class:`Backend` is the protocol; :class:`LocalBackend` (local worker processes) is the default;
:class:`DaskBackend` runs them on a Dask cluster; :class:`InlineBackend` runs tasks that drive
the cluster from the runner (distributed training); a :class:`ClusterShare` is the part of a
cluster one distributed fit may use; :class:`FaultyBackend` wraps any backend to
inject faults in tests.
"""

from __future__ import annotations

from cirrusml.execution._backend import Backend, TaskOutcome, TaskStatus
from cirrusml.execution._cache import cached_load, save_for_workers
from cirrusml.execution._dask import ClusterShare, DaskBackend, cluster_info, connect
from cirrusml.execution._faults import FaultPlan, FaultyBackend, faults_from_env
from cirrusml.execution._inline import InlineBackend
from cirrusml.execution._local import LocalBackend

__all__ = [
    "Backend",
    "ClusterShare",
    "DaskBackend",
    "FaultPlan",
    "FaultyBackend",
    "InlineBackend",
    "LocalBackend",
    "TaskOutcome",
    "TaskStatus",
    "cached_load",
    "cluster_info",
    "connect",
    "faults_from_env",
    "save_for_workers",
]
