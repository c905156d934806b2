"""The pipeline decorator, as ``azure.ai.ml.dsl`` spells it: ``from cirrusml.dsl import pipeline``
(or ``from cirrusml import dsl`` and ``@dsl.pipeline(...)``)."""

from __future__ import annotations

from cirrusml.pipeline._dsl import pipeline

__all__ = ["pipeline"]
