"""The learners the search may try, from one explicit, ordered list.

The order is the order in which a planner without other information should try them: strong,
cheap learners first, slow or rarely winning ones last. :func:`learner_for_estimator` maps a
fitted estimator back to the learner that built it, for the parts (ONNX export, explanations)
that ask the learner how to treat it.
"""

from __future__ import annotations

from typing import Any

from cirrusml.exceptions import InvalidSpecError
from cirrusml.models._base import Learner
from cirrusml.models._forecasters import forecasting_learners
from cirrusml.models._gradient_boosting import GradientBoostingLearner
from cirrusml.models._knn import KNNLearner
from cirrusml.models._lightgbm import LightGBMLearner
from cirrusml.models._linear import (
    ElasticNetLearner,
    LassoLarsLearner,
    LogisticRegressionLearner,
    SGDLearner,
)
from cirrusml.models._naive_bayes import BernoulliNaiveBayesLearner, MultinomialNaiveBayesLearner
from cirrusml.models._svm import LinearSVMLearner, SVMLearner
from cirrusml.models._trees import (
    DecisionTreeLearner,
    ExtremeRandomTreesLearner,
    RandomForestLearner,
)
from cirrusml.models._xgboost import XGBoostClassifierLearner, XGBoostRegressorLearner
from cirrusml.spec import TaskType
from cirrusml.utils import name_key, suggestion

__all__ = ["LEARNERS", "get_learner", "learner_for_estimator", "learner_names", "learners_for"]

#: Every learner, in the order a planner should try them.
LEARNERS: tuple[Learner, ...] = (
    LightGBMLearner(),
    XGBoostClassifierLearner(),
    XGBoostRegressorLearner(),
    RandomForestLearner(),
    ExtremeRandomTreesLearner(),
    LogisticRegressionLearner(),
    ElasticNetLearner(),
    LassoLarsLearner(),
    GradientBoostingLearner(),
    SGDLearner(),
    LinearSVMLearner(),
    KNNLearner(),
    DecisionTreeLearner(),
    SVMLearner(),
    BernoulliNaiveBayesLearner(),
    MultinomialNaiveBayesLearner(),
)
#: Forecasting's learners come after: statistical models, and the regression learners as
#: direct forecasters (:mod:`cirrusml.models._forecasters`).
LEARNERS = (*LEARNERS, *forecasting_learners(
    [lr for lr in LEARNERS if TaskType.REGRESSION in lr.tasks]))


def _task(task: TaskType | str | None) -> TaskType | None:
    return None if task is None else TaskType.parse(task, field="task")


def learners_for(task: TaskType | str) -> list[Learner]:
    """The learners serving ``task``, in planning order."""
    parsed = TaskType.parse(task, field="task")
    return [learner for learner in LEARNERS if parsed in learner.tasks]


def learner_names(task: TaskType | str | None = None) -> list[str]:
    """Azure names of the learners serving ``task`` (of every learner when ``task`` is None)."""
    parsed = _task(task)
    pool = LEARNERS if parsed is None else learners_for(parsed)
    return [learner.name for learner in pool]


def get_learner(name: str, task: TaskType | str | None = None) -> Learner:
    """The learner called ``name`` in any spelling (``LightGBM``, ``light_gbm``, ``lightgbm``).

    With ``task``, the learner must serve it. A family name stands for its only learner on that
    task (``XGBoost`` with classification is ``XGBoostClassifier``).

    Raises
    ------
    InvalidSpecError
        When no learner has that name (for that task); the message lists the valid names and
        suggests the nearest one.
    """
    parsed = _task(task)
    key = name_key(str(name))
    named = [learner for learner in LEARNERS if name_key(learner.name) == key]
    for learner in named:
        if parsed is None or parsed in learner.tasks:
            return learner
    if parsed is not None:
        family = [learner for learner in learners_for(parsed)
                  if learner.family and name_key(learner.family) == key]
        if len(family) == 1:
            return family[0]
    valid = learner_names(parsed)
    where = f" for {parsed.yaml}" if parsed is not None else ""
    if named and parsed is not None:
        serves = ", ".join(t.yaml for t in named[0].tasks)
        raise InvalidSpecError(
            f"learner '{name}' ({named[0].name}) serves {serves}, not {parsed.yaml}; valid "
            f"learners{where} are {', '.join(valid)}." + suggestion(str(name), valid))
    raise InvalidSpecError(
        f"no learner named '{name}'{where}; valid learners{where} are {', '.join(valid)}."
        + suggestion(str(name), valid))


def learner_for_estimator(estimator: Any) -> Learner | None:
    """The learner whose :meth:`~Learner.build` made ``estimator`` (the model step of a trial
    pipeline), or ``None`` for an estimator no learner builds."""
    for learner in LEARNERS:
        if learner.owns(estimator):
            return learner
    return None
