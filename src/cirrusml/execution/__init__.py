"""Execution backends (L2): where trials run. Local worker processes by default."""

from __future__ import annotations

from cirrusml.execution._cache import cached_load, save_for_workers
from cirrusml.execution._local import LocalBackend, TaskOutcome

__all__ = ["LocalBackend", "TaskOutcome", "cached_load", "save_for_workers"]
