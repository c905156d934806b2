"""The cost model: how long a trial of one configuration should take on this job's data.

A trial fits its configuration ``fits`` times (once per fold, or once on a holdout split), each
on about ``rows`` rows of the featurized data. One fit's seconds come from a log-linear model
per learner and task::

    log(seconds) = const + sum over terms of coefficient[term] * term

whose terms the learner names (:meth:`~cirrusml.models.Learner.cost_terms`: the logarithms of
rows, featurized width, its dense part (the columns that are not one-hot, hashed or text) and
classes, and what its hyperparameters do — LightGBM's leaves and
rounds, a forest's trees). The coefficients are learned offline by
``benchmarks/cost/build_cost_model.py`` from timed fits on the development datasets at several
sizes, and shipped in ``cost_model.json``. A learner (or a task) the file does not know is
estimated from its :meth:`~cirrusml.models.Learner.cost_hint` against default LightGBM.

:class:`TrialCosts` corrects the offline model with the job's own trials: a factor for the
machine (the median ratio of measured to predicted seconds over every finished trial — it also
absorbs the featurization and scoring around the fits) for learners that have not run yet, and
each learner's own median ratio once it has: the offline model then only says how its
configurations differ from each other.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cirrusml.models import Learner, get_learner
from cirrusml.search._shipped import read_shipped
from cirrusml.spec import TaskType

#: A cost model file to use instead of the shipped one (benchmarking and tests).
COST_MODEL_ENV = "CIRRUS_COST_MODEL"
#: Seconds of a default LightGBM fit on 10,000 rows when no cost model is available.
_BASE_SECONDS_PER_10K_ROWS = 0.5
#: Predictions are kept within these bounds (seconds of one fit).
_MIN_SECONDS, _MAX_SECONDS = 0.005, 1e5
#: The reference learner of the cost hints.
_REFERENCE = "LightGBM"
#: A trial is taken to cost at least this share of a default LightGBM trial (see
#: :attr:`TrialCosts.floor`).
_FLOOR_SHARE = 0.25


@dataclass(frozen=True)
class DataShape:
    """What the cost of a job's trials depends on, apart from the configuration.

    ``rows``: the rows one fit trains on; ``width``: the featurized columns of learners that
    one-hot encode categories, ``native_width`` of learners that take them natively;
    ``dense_width`` and ``native_dense_width``: how many of those are not one-hot, hashed or
    text columns (all of them when not given); ``classes``: the classes (1 for regression);
    ``fits``: fits per trial.
    """

    rows: int
    width: int
    native_width: int | None = None
    classes: int = 1
    fits: int = 1
    dense_width: int | None = None
    native_dense_width: int | None = None

    def width_for(self, learner: Learner) -> int:
        if learner.native_categorical and self.native_width is not None:
            return self.native_width
        return self.width

    def dense_width_for(self, learner: Learner) -> int | None:
        if learner.native_categorical and self.native_width is not None:
            return self.native_dense_width
        return self.dense_width


def _key(task: TaskType, learner: str) -> str:
    return f"{task.value}/{learner}"


class CostModel:
    """Seconds of one fit, from offline coefficients (``{"Classification/LightGBM":
    {"const": ..., "log_rows": ...}}``)."""

    def __init__(self, coefficients: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.coefficients = {k: dict(v) for k, v in (coefficients or {}).items()}

    @classmethod
    def shipped(cls) -> CostModel:
        """The model in ``cost_model.json`` (or the file ``$CIRRUS_COST_MODEL`` names)."""
        return _load(os.environ.get(COST_MODEL_ENV) or "")

    def knows(self, task: TaskType, learner: str) -> bool:
        return _key(task, learner) in self.coefficients

    def fit_seconds(self, learner: Learner, task: TaskType, params: Mapping[str, Any],
                    shape: DataShape) -> float:
        """Predicted seconds of one fit of ``params`` on ``shape``."""
        coefficients = self.coefficients.get(_key(task, learner.name))
        if coefficients is None:
            return self._from_hint(learner, task, shape)
        terms = learner.cost_terms(task, params, n_rows=shape.rows,
                                   n_features=shape.width_for(learner), n_classes=shape.classes,
                                   n_dense=shape.dense_width_for(learner))
        log_seconds = coefficients.get("const", 0.0) + sum(
            coefficients.get(name, 0.0) * value for name, value in terms.items())
        return float(min(_MAX_SECONDS, max(_MIN_SECONDS, math.exp(min(log_seconds, 12.0)))))

    def reference_seconds(self, task: TaskType, shape: DataShape) -> float:
        """Seconds of one fit of default LightGBM (the cost hints' unit) on ``shape``: from
        the coefficients when they know it, else a fixed guess."""
        if self.knows(task, _REFERENCE):
            lightgbm = get_learner(_REFERENCE, task)
            width = shape.width_for(lightgbm)
            return self.fit_seconds(
                lightgbm, task, lightgbm.default_params(task, shape.rows, width), shape)
        return _BASE_SECONDS_PER_10K_ROWS * max(0.05, shape.rows / 10_000)

    def _from_hint(self, learner: Learner, task: TaskType, shape: DataShape) -> float:
        hint = learner.cost_hint(shape.rows, shape.width_for(learner))
        return float(max(_MIN_SECONDS, self.reference_seconds(task, shape) * hint))


@functools.cache
def _load(override: str) -> CostModel:
    # ``override`` (the variable's value) keys the cache; read_shipped reads the variable.
    data = read_shipped("cost_model.json", COST_MODEL_ENV, "cost model") or {}
    return CostModel(data.get("coefficients", {}))


class TrialCosts:
    """Expected seconds of a job's trials: the offline model times what the job measured."""

    def __init__(self, model: CostModel, task: TaskType, shape: DataShape) -> None:
        self.model = model
        self.task = task
        self.shape = shape
        self._ratios: list[float] = []  # log(measured / offline), every finished trial
        self._by_learner: dict[str, list[float]] = {}

    def offline(self, learner: Learner, params: Mapping[str, Any]) -> float:
        """The offline model's seconds for one trial (every fit), at least :attr:`floor`."""
        seconds = self.shape.fits * self.model.fit_seconds(learner, self.task, params,
                                                           self.shape)
        return max(seconds, self.floor)

    @functools.cached_property
    def floor(self) -> float:
        """The least a trial is taken to cost: :data:`_FLOOR_SHARE` of a default LightGBM
        trial. A cheap learner's trial is mostly the featurization, scoring and process work
        around its fits, which the offline fits leave out: without a floor, the ratio of its
        measured to predicted seconds would scale every other learner's estimate by that
        overhead."""
        return _FLOOR_SHARE * self.shape.fits * self.model.reference_seconds(self.task,
                                                                             self.shape)

    @property
    def machine_factor(self) -> float:
        """Median ratio of measured to predicted trial seconds (1 before any trial)."""
        return _median_ratio(self._ratios)

    def learner_factor(self, learner: str) -> float:
        """The learner's own median ratio of measured to predicted seconds once it has run
        (the machine's before)."""
        own = self._by_learner.get(learner)
        return _median_ratio(own) if own else self.machine_factor

    def seconds(self, learner: Learner, params: Mapping[str, Any]) -> float:
        """Expected seconds of one trial of ``params``."""
        return self.offline(learner, params) * self.learner_factor(learner.name)

    def observe(self, learner: Learner, params: Mapping[str, Any], seconds: float) -> None:
        """A finished trial took ``seconds``."""
        predicted = self.offline(learner, params)
        if seconds <= 0 or predicted <= 0:
            return
        ratio = math.log(max(seconds, 0.01) / predicted)
        self._ratios.append(ratio)
        self._by_learner.setdefault(learner.name, []).append(ratio)


def _median_ratio(log_ratios: list[float]) -> float:
    if not log_ratios:
        return 1.0
    ordered = sorted(log_ratios)
    return math.exp(ordered[len(ordered) // 2])
