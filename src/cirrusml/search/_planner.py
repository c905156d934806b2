"""The planner: which configuration to try next, and roughly how long it will take.

Two phases:

1. **Portfolio warm start.** An ordered list of configurations that were strong across many
   datasets (learned offline by ``benchmarks/portfolio/build_portfolio.py`` and shipped in
   ``portfolio.json``), restricted to the allowed learners; then each allowed learner's default
   that the portfolio did not cover, cheapest first.
2. **Bayesian optimisation.** One Optuna TPE study per learner over its own search space, told
   every result of phase 1. Each proposal picks a learner among the best few so far, weighted by
   rank, skipping learners whose trials would not fit in the time left — so time goes where it
   pays, and cheap learners are tried before expensive ones.

When classes are imbalanced, the best configurations are also tried with class weighting; a
learner keeps it only if it scored better.
"""

from __future__ import annotations

import json
import math
import os
import random
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution

from cirrusml.exceptions import CirrusMLError, InvalidSpecError
from cirrusml.models import Learner
from cirrusml.models._base import in_domain
from cirrusml.spec import TaskType
from cirrusml.tasks import task_for

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Rank weights when choosing which learner the Bayesian phase works on next.
_RANK_WEIGHTS = (0.55, 0.3, 0.15)
#: Chance that the Bayesian phase gives a not-yet-strong learner a turn instead.
_EXPLORE = 0.1
#: Costs below this are treated as this when estimating seconds per unit of cost.
_COST_FLOOR = 0.25
#: Seconds a default LightGBM trial is assumed to take on 10,000 rows before anything ran.
_BASE_SECONDS_PER_10K_ROWS = 1.5


@dataclass
class Proposal:
    """A configuration to try."""

    learner: str
    params: dict[str, Any]
    class_weight: str | None = None
    source: str = "portfolio"
    _trial: Any = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return json.dumps([self.learner, self.params, self.class_weight], sort_keys=True,
                          default=str)


#: A portfolio file to use instead of the shipped one: a benchmarking aid, so that a dataset can
#: be scored with a portfolio built without it (``build_portfolio.py --leave-out``).
PORTFOLIO_ENV = "CIRRUS_PORTFOLIO"


def load_portfolio(problem: str) -> list[dict[str, Any]]:
    """The shipped portfolio for ``binary``, ``multiclass`` or ``regression`` (may be empty)."""
    override = os.environ.get(PORTFOLIO_ENV)
    try:
        text = (Path(override).read_text() if override else
                resources.files("cirrusml.search").joinpath("portfolio.json").read_text())
    except (FileNotFoundError, OSError):
        if override:
            raise CirrusMLError(f"{PORTFOLIO_ENV}={override}: no such portfolio file.") from None
        return []
    return list(json.loads(text).get("portfolios", {}).get(problem, []))


class Planner:
    """Proposes configurations for one job."""

    def __init__(self, task: TaskType, learners: list[Learner], *, n_rows: int, n_features: int,
                 seed: int = 0, problem: str | None = None, imbalanced: bool = False,
                 portfolio: list[dict[str, Any]] | None = None) -> None:
        if not learners:
            raise InvalidSpecError("the planner needs at least one learner")
        self.task = task
        self.learners = {lr.name: lr for lr in learners}
        self.n_rows = max(1, int(n_rows))
        self.n_features = max(1, int(n_features))
        self.rng = random.Random(seed)
        self.seed = seed
        # Only a classification job's class-balance guardrail can say the data is imbalanced.
        self.imbalanced = bool(imbalanced)
        self.spaces: dict[str, dict[str, BaseDistribution]] = {
            name: lr.search_space(task, self.n_rows, self.n_features)
            for name, lr in self.learners.items()}
        self.studies: dict[str, optuna.Study] = {}
        self.seen: dict[str, float | None] = {}
        self.best: dict[str, float] = {}
        self.seconds: dict[str, list[float]] = {name: [] for name in self.learners}
        self.balanced_wins: dict[str, bool] = {}
        self._balanced_pending: dict[str, float] = {}
        if portfolio is None:
            portfolio = load_portfolio(problem or task_for(task).problem_type)
        self.queue: list[Proposal] = self._warm_start(portfolio)
        self.base_seconds: float | None = None
        self._units: list[float] = []

    # ---------------------------------------------------------------------------- phase 1

    def _fit_to_space(self, learner: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """``params`` restricted to the learner's space for this data (None if unusable)."""
        space = self.spaces[learner]
        out: dict[str, Any] = {}
        for key, value in params.items():
            dist = space.get(key)
            if dist is None:
                if key in self.learners[learner].param_names(self.task):
                    out[key] = value  # a fixed setting the learner accepts
                    continue
                return None
            if not in_domain(dist, value):
                value = _clamp(dist, value)
                if not in_domain(dist, value):
                    return None
            out[key] = value
        return out

    def _warm_start(self, portfolio: list[dict[str, Any]]) -> list[Proposal]:
        queue: list[Proposal] = []
        keys: set[str] = set()
        covered: set[str] = set()
        for entry in portfolio:
            name = entry.get("learner")
            if name not in self.learners:
                continue
            params = self._fit_to_space(name, dict(entry.get("params", {})))
            if params is None:
                continue
            proposal = Proposal(name, params, source="portfolio")
            if proposal.key not in keys:
                keys.add(proposal.key)
                queue.append(proposal)
                covered.add(name)
        # Learners the portfolio does not cover, in the registry's order (strong, cheap first).
        rest = [lr for name, lr in self.learners.items() if name not in covered]
        for learner in rest:
            params = learner.default_params(self.task, self.n_rows, self.n_features)
            proposal = Proposal(learner.name, params, source="default")
            if proposal.key not in keys:
                keys.add(proposal.key)
                queue.append(proposal)
        return queue

    # ------------------------------------------------------------------------ estimates

    def expected_seconds(self, learner: str) -> float:
        """How long a trial of ``learner`` should take, from what ran so far."""
        done = self.seconds.get(learner) or []
        if done:
            return float(sorted(done)[len(done) // 2])
        base = self.base_seconds
        if base is None:
            base = _BASE_SECONDS_PER_10K_ROWS * max(0.05, self.n_rows / 10_000)
        return base * self.learners[learner].cost_hint(self.n_rows, self.n_features)

    # ------------------------------------------------------------------------ ask / tell

    def _untimed_in_flight(self) -> set[str]:
        """Learners with a trial running and none finished: their real cost is not known yet."""
        running = {json.loads(key)[0] for key, loss in self.seen.items() if loss is None}
        return {name for name in running if not self.seconds.get(name)}

    def ask(self, time_left: float | None = None) -> Proposal | None:
        """The next configuration, or None when nothing left fits in ``time_left`` seconds.

        Warm-start entries go in order, except that a learner whose first trial is still
        running waits for it: its real cost decides whether its other entries still fit (the
        cost hints come from small data; a kernel SVM on 40,000 rows can take half a minute).
        Meanwhile the next entries, and then the Bayesian phase, go on.
        """
        waiting = self._untimed_in_flight()
        position = 0
        while position < len(self.queue):
            if self.queue[position].learner in waiting:
                position += 1
                continue
            proposal = self.queue.pop(position)
            if time_left is not None and self.expected_seconds(proposal.learner) > time_left:
                continue  # it would not finish in time; later, cheaper entries may
            if proposal.key in self.seen:
                continue
            self.seen[proposal.key] = None
            return proposal
        balanced = self._next_balanced(time_left)
        if balanced is not None:
            return balanced
        return self._bayesian(time_left)

    def tell(self, proposal: Proposal, loss: float | None, seconds: float) -> None:
        """Record a finished trial: ``loss`` (lower is better) or None when it failed."""
        ok = loss is not None and math.isfinite(loss)
        self.seen[proposal.key] = loss if ok else math.inf
        if ok or seconds > 0:
            self.seconds.setdefault(proposal.learner, []).append(float(seconds))
        if ok:
            # Seconds per unit of cost. Cheap learners' times are mostly fixed overhead
            # (featurization, folds), so their cost is floored to keep the unit honest.
            cost = self.learners[proposal.learner].cost_hint(self.n_rows, self.n_features)
            self._units.append(max(0.01, seconds / max(cost, _COST_FLOOR)))
            self.base_seconds = float(sorted(self._units)[len(self._units) // 2])
        if ok:
            assert loss is not None
            previous = self.best.get(proposal.learner, math.inf)
            self.best[proposal.learner] = min(previous, loss)
            if proposal.class_weight == "balanced":
                plain = self._balanced_pending.pop(proposal.key, math.inf)
                if loss < plain:
                    self.balanced_wins[proposal.learner] = True
            elif self.imbalanced:
                self._balanced_pending.setdefault(
                    Proposal(proposal.learner, proposal.params, "balanced").key, loss)
        self._tell_study(proposal, loss if ok else None)

    # ------------------------------------------------------------------- class weighting

    def _next_balanced(self, time_left: float | None) -> Proposal | None:
        """After the warm start, the two best configurations again with class weighting."""
        if not self.imbalanced or not self.best:
            return None
        tried = {json.loads(k)[0] for k in self.seen if json.loads(k)[2] == "balanced"}
        ranked = sorted(self.best, key=self.best.get)  # type: ignore[arg-type]
        for name in ranked[:2]:
            learner = self.learners[name]
            if name in tried or not learner.supports_class_weight:
                continue
            if time_left is not None and self.expected_seconds(name) > time_left:
                continue
            params = self._best_params(name)
            if params is None:
                continue
            proposal = Proposal(name, params, "balanced", source="class_weight")
            if proposal.key in self.seen:
                continue
            self.seen[proposal.key] = None
            return proposal
        return None

    def _best_params(self, learner: str) -> dict[str, Any] | None:
        best_loss, best = math.inf, None
        for key, loss in self.seen.items():
            name, params, weight = json.loads(key)
            if name == learner and weight is None and loss is not None and loss < best_loss:
                best_loss, best = loss, params
        return best

    # --------------------------------------------------------------------- phase 2 (TPE)

    def _study(self, learner: str) -> optuna.Study:
        if learner not in self.studies:
            sampler = optuna.samplers.TPESampler(
                seed=self.seed + len(self.studies) + 1, multivariate=True, constant_liar=True,
                n_startup_trials=4)
            self.studies[learner] = optuna.create_study(direction="minimize", sampler=sampler)
        return self.studies[learner]

    def _tell_study(self, proposal: Proposal, loss: float | None) -> None:
        space = self.spaces[proposal.learner]
        if not space:
            return
        study = self._study(proposal.learner)
        if proposal._trial is not None:
            state = optuna.trial.TrialState.COMPLETE if loss is not None else \
                optuna.trial.TrialState.FAIL
            study.tell(proposal._trial, loss if loss is not None else None, state=state)
            return
        params = {k: v for k, v in proposal.params.items() if k in space}
        if set(params) != set(space) or not all(in_domain(space[k], v) for k, v in params.items()):
            return
        with warnings.catch_warnings():
            # Optuna flags create_trial and the TPE options as experimental.
            warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
            trial = optuna.trial.create_trial(
                params=params, distributions=space,
                value=loss if loss is not None else None,
                state=optuna.trial.TrialState.COMPLETE if loss is not None
                else optuna.trial.TrialState.FAIL)
            study.add_trial(trial)

    def _choose_learner(self, time_left: float | None) -> str | None:
        def fits(name: str) -> bool:
            return time_left is None or self.expected_seconds(name) <= time_left

        searchable = [n for n in self.learners if self.spaces[n] and fits(n)]
        if not searchable:
            return None
        ranked = sorted((n for n in searchable if n in self.best), key=self.best.__getitem__)
        if not ranked:
            return searchable[0]
        if self.rng.random() < _EXPLORE and len(ranked) > len(_RANK_WEIGHTS):
            return self.rng.choice(ranked[len(_RANK_WEIGHTS):])
        top = ranked[: len(_RANK_WEIGHTS)]
        weights = list(_RANK_WEIGHTS[: len(top)])
        return self.rng.choices(top, weights=weights, k=1)[0]

    def _bayesian(self, time_left: float | None) -> Proposal | None:
        for _attempt in range(8):
            name = self._choose_learner(time_left)
            if name is None:
                return None
            study = self._study(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
                trial = study.ask(self.spaces[name])
            params = dict(trial.params)
            weight = "balanced" if self.balanced_wins.get(name) else None
            proposal = Proposal(name, params, weight, source="bayesian", _trial=trial)
            if proposal.key in self.seen:
                known = self.seen[proposal.key]
                study.tell(trial, known if known is not None and math.isfinite(known) else None,
                           state=optuna.trial.TrialState.COMPLETE
                           if known is not None and math.isfinite(known)
                           else optuna.trial.TrialState.FAIL)
                continue
            self.seen[proposal.key] = None
            return proposal
        return None

    @property
    def exhausted(self) -> bool:
        """True when no learner has a search space left to explore and the queue is empty."""
        return not self.queue and not any(self.spaces.values())


def _clamp(dist: BaseDistribution, value: Any) -> Any:
    from cirrusml.models._base import _clamp as clamp

    return clamp(dist, value)
