"""The learners the search may try, from one explicit list."""

from __future__ import annotations

from cirrusml.exceptions import InvalidSpecError
from cirrusml.models._base import Learner
from cirrusml.models._lightgbm import LightGBMLearner
from cirrusml.spec import TaskType
from cirrusml.utils import name_key, suggestion

_LEARNERS: tuple[Learner, ...] = (LightGBMLearner(),)


def learners_for(task: TaskType) -> list[Learner]:
    return [learner for learner in _LEARNERS if task in learner.tasks]


def get_learner(name: str, task: TaskType | None = None) -> Learner:
    key = name_key(name)
    pool = _LEARNERS if task is None else tuple(learners_for(task))
    for learner in pool:
        if name_key(learner.name) == key:
            return learner
    raise InvalidSpecError(
        f"no learner named '{name}'" + (f" for {task.yaml}" if task else "") + "."
        + suggestion(name, [learner.name for learner in pool])
    )
