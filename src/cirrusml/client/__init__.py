"""The client (L4): ``MLClient`` and its operations (a façade over the job store)."""

from __future__ import annotations

from cirrusml.client._client import MLClient
from cirrusml.client._jobs import CancelPoller, JobOperations, TrialRun
from cirrusml.client._models import ModelOperations

__all__ = ["CancelPoller", "JobOperations", "MLClient", "ModelOperations", "TrialRun"]
