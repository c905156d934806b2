"""The planner: which configuration to try next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cirrusml.models import Learner
from cirrusml.spec import TaskType


@dataclass
class Proposal:
    learner: str
    params: dict[str, Any]


class DefaultsPlanner:
    """Each allowed learner once, with its default hyperparameters, in the given order."""

    def __init__(self, task: TaskType, learners: Sequence[Learner]) -> None:
        self._queue = [Proposal(learner.name, learner.default_params(task)) for learner in learners]

    def ask(self) -> Proposal | None:
        return self._queue.pop(0) if self._queue else None

    def tell(self, proposal: Proposal, loss: float | None, seconds: float) -> None:
        """Results do not change this plan."""

    @property
    def exhausted(self) -> bool:
        return not self._queue
