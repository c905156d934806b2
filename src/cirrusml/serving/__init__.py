"""Serving (L5): the REST scoring server for one MLflow model folder, and batch scoring of files.

``POST /score`` takes Azure's MLflow and v2 scoring-script payloads and pandas' split and records
bodies, and answers predictions, probabilities or forecasts; ``GET /`` and ``GET /health`` are
the liveness and readiness probes. See ``docs/serving.md``. :func:`score_file` scores a file, a
folder or an MLTable in mini-batches; see ``docs/batch-scoring.md``.
"""

from __future__ import annotations

from cirrusml.serving._app import create_app
from cirrusml.serving._batch import (
    METHODS,
    BatchRetrySettings,
    BatchScoringError,
    BatchSummary,
    score_file,
)
from cirrusml.serving._config import ServerConfig, generate_key
from cirrusml.serving._errors import ScoringError, ServingError
from cirrusml.serving._payload import ScoringRequest, parse_body, parse_payload
from cirrusml.serving._process import ServerProcess, start_server, stop_server, wait_until_ready
from cirrusml.serving._scorer import Scorer
from cirrusml.serving._server import serve

__all__ = [
    "METHODS",
    "BatchRetrySettings",
    "BatchScoringError",
    "BatchSummary",
    "Scorer",
    "ScoringError",
    "ScoringRequest",
    "ServerConfig",
    "ServerProcess",
    "ServingError",
    "create_app",
    "generate_key",
    "parse_body",
    "parse_payload",
    "score_file",
    "serve",
    "start_server",
    "stop_server",
    "wait_until_ready",
]
