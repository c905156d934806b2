"""The client (L4): ``MLClient`` and its operations (a façade over the job store)."""

from __future__ import annotations

from cirrusml.client._batch import (
    BatchDeploymentOperations,
    BatchEndpointOperations,
    BatchJob,
    BatchScoringOperations,
)
from cirrusml.client._client import MLClient
from cirrusml.client._jobs import CancelPoller, JobOperations, TrialRun
from cirrusml.client._models import ModelOperations

__all__ = ["BatchDeploymentOperations", "BatchEndpointOperations", "BatchJob",
           "BatchScoringOperations", "CancelPoller", "JobOperations", "MLClient",
           "ModelOperations", "TrialRun"]
