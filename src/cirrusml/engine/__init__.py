"""The engine (L3): the only composer; runs one job from its specification to its best model."""

from __future__ import annotations

from cirrusml.engine._book import JobResult
from cirrusml.engine._context import JobCanceled, JobContext
from cirrusml.engine._run import run_job

__all__ = ["JobCanceled", "JobContext", "JobResult", "run_job"]
