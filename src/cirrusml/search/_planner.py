"""The planner: which configuration to try next, and roughly how long it will take.

Two phases:

1. **Portfolio warm start.** Configurations that were strong across many datasets (learned
   offline by ``benchmarks/portfolio/build_portfolio.py`` and shipped in ``portfolio.json``),
   restricted to the allowed learners and ordered by expected gain per second on this job's
   data (:mod:`cirrusml.search._portfolio`); then each allowed learner's default that the
   portfolio did not cover, cheapest first — or, when fewer than :data:`MIN_WARM_START`
   portfolio entries are left for the allowed learners, every allowed learner's default first
   (a LightGBM-only job starts from LightGBM's library default).
2. **Bayesian optimisation.** One Optuna TPE study per learner over its own search space, told
   every result of phase 1. Each proposal picks a learner among the best three so far, so that
   they share the tuning time 55 / 30 / 15 by rank (a learner's chance of a turn is its rank
   weight divided by what its trials take: gain per second), skipping learners whose trials
   would not fit in the time left — so time goes where it pays.

When classes are imbalanced, the best configurations are also tried with class weighting; a
learner keeps it only if it scored better.

:meth:`Planner.promising` tells the search loop whether a better trial is still affordable
(an untried warm-start configuration, or the best learner before :data:`TUNING_TRIALS` tuning
proposals, that fits in the time left): while one is, Azure's early-termination rule waits.

How long a configuration should take comes from the cost model (:mod:`cirrusml.search._cost`:
learned offline, corrected by the job's own trials). The planner proposes nothing that is not
expected to finish in the time left, and, while anything cheaper is on offer, nothing expected
to take more than :data:`MAX_SHARE` of the workers' remaining time (``time_left × workers``):
such a configuration stays in the queue and runs only when neither the portfolio nor the
Bayesian phase has a cheaper one — so on large data one slow configuration (a 500-leaf LightGBM
on 26 classes) cannot eat the budget that a handful of cheaper ones would have used.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution

from cirrusml.exceptions import InvalidSpecError
from cirrusml.models import Learner
from cirrusml.models._base import in_domain
from cirrusml.search._cost import CostModel, DataShape, TrialCosts
from cirrusml.search._portfolio import greedy_order, load_portfolio, portfolio_cost_power
from cirrusml.spec import TaskType
from cirrusml.tasks import task_for

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Shares of the tuning time the Bayesian phase gives the best three learners, by rank.
_RANK_WEIGHTS = (0.55, 0.3, 0.15)
#: Chance that the Bayesian phase gives a not-yet-strong learner a turn instead.
_EXPLORE = 0.1
#: Largest share of the workers' remaining time one trial may be expected to take while
#: cheaper configurations are on offer.
MAX_SHARE = 0.35
#: A warm start with fewer portfolio entries than this (the portfolio restricted to a few
#: allowed learners) starts from each allowed learner's library default.
MIN_WARM_START = 8
#: Tuning (Bayesian) trials the best learner so far gets before Azure's early-termination rule
#: may end a search that still has time for them (see :meth:`Planner.promising`).
TUNING_TRIALS = 10
#: Proposals the Bayesian phase draws before it gives up on finding one that fits.
_BAYES_ATTEMPTS = 8


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


class Planner:
    """Proposes configurations for one job."""

    def __init__(self, task: TaskType, learners: list[Learner], *, n_rows: int, n_features: int,
                 seed: int = 0, problem: str | None = None, imbalanced: bool = False,
                 portfolio: list[dict[str, Any]] | None = None, shape: DataShape | None = None,
                 cost_model: CostModel | None = None) -> None:
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
        # Set by ask(): whether a configuration was passed over because it would not fit in
        # the time left, so that a None from ask() tells time running out from a search
        # with nothing new left to try.
        self.out_of_time = False
        self.best: dict[str, float] = {}
        #: Bayesian proposals made per learner.
        self.tuning_trials: dict[str, int] = {}
        self.seconds: dict[str, list[float]] = {name: [] for name in self.learners}
        self.balanced_wins: dict[str, bool] = {}
        self._balanced_pending: dict[str, float] = {}
        #: What trials cost on this data: the offline model, corrected by the job's trials.
        self.costs = TrialCosts(cost_model if cost_model is not None else CostModel.shipped(),
                                task, shape or DataShape(rows=self.n_rows, width=self.n_features))
        problem = problem or task_for(task).problem_type
        if portfolio is None:
            portfolio = load_portfolio(problem)
        self.cost_power = portfolio_cost_power(problem)
        self.queue: list[Proposal] = self._warm_start(portfolio)

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
        scores: list[dict[str, float]] = []
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
                scores.append(dict(entry.get("scores") or {}))
                covered.add(name)
        queue = self._by_gain_per_second(queue, scores)
        # Learners the portfolio does not cover, in the registry's order (strong, cheap first).
        # A thin warm start (few learners allowed) starts from every learner's library default:
        # the configuration such a user compares the job with, and robust on any data.
        thin = len(queue) < MIN_WARM_START
        defaults: list[Proposal] = []
        for name, learner in self.learners.items():
            if name in covered and not thin:
                continue
            params = learner.default_params(self.task, self.n_rows, self.n_features)
            proposal = Proposal(learner.name, params, source="default")
            if proposal.key in keys:
                if not thin:
                    continue
                queue = [q for q in queue if q.key != proposal.key]  # it goes first instead
            keys.add(proposal.key)
            defaults.append(proposal)
        return defaults + queue if thin else queue + defaults

    def _by_gain_per_second(self, queue: list[Proposal], scores: list[dict[str, float]]
                            ) -> list[Proposal]:
        """The portfolio's entries ordered by what each adds to the development datasets'
        best scores per second it is expected to take on *this* data (the build's rule, with
        this job's cost model; see :mod:`cirrusml.search._portfolio`). Entries that add
        nothing follow in the portfolio's order; a portfolio without scores keeps its order."""
        if not queue or not all(scores):
            return queue
        seconds = [self.expected_seconds(q.learner, q.params) for q in queue]
        order = greedy_order(scores, seconds, self.cost_power)
        chosen = set(order)
        return [queue[i] for i in order] + [q for i, q in enumerate(queue) if i not in chosen]

    # ------------------------------------------------------------------------ estimates

    def expected_seconds(self, learner: str, params: dict[str, Any] | None = None) -> float:
        """How long a trial of ``learner`` with ``params`` (its default when None) should
        take: the cost model, corrected by what ran so far."""
        model = self.learners[learner]
        if params is None:
            params = model.default_params(self.task, self.n_rows, self.n_features)
        return self.costs.seconds(model, params)

    def _cheapest_seconds(self, learner: str) -> float:
        """The expected seconds of ``learner``'s low-cost configuration."""
        return self.expected_seconds(learner, self.learners[learner].low_cost_params(
            self.task, self.n_rows, self.n_features))

    # ------------------------------------------------------------------------ ask / tell

    def _untimed_in_flight(self) -> set[str]:
        """Learners with a trial running and none finished: their real cost is not known yet."""
        running = {json.loads(key)[0] for key, loss in self.seen.items() if loss is None}
        return {name for name in running if not self.seconds.get(name)}

    def ask(self, time_left: float | None = None, workers: int = 1) -> Proposal | None:
        """The next configuration, or None when nothing left fits in ``time_left`` seconds.

        Warm-start entries go in order, except that a learner whose first trial is still
        running waits for it: its real cost decides whether its other entries still fit.
        Meanwhile the next entries, and then the Bayesian phase, go on. While a cheaper
        configuration is on offer, none expected to take more than :data:`MAX_SHARE` of
        ``time_left × workers`` is proposed.
        """
        self.out_of_time = False
        if time_left is None:
            return self._next(None, None)
        share = MAX_SHARE * time_left * max(1, int(workers))
        if share < time_left:
            proposal = self._next(share, time_left)
            if proposal is not None:
                return proposal
        return self._next(time_left, time_left)

    def _next(self, limit: float | None, time_left: float | None) -> Proposal | None:
        """The next proposal expected to take at most ``limit`` seconds; queue entries that
        cannot finish in ``time_left`` are dropped."""
        proposal = self._from_queue(limit, time_left)
        if proposal is None:
            proposal = self._next_balanced(limit)
        if proposal is None:
            proposal = self._bayesian(limit)
        return proposal

    def _from_queue(self, limit: float | None, time_left: float | None) -> Proposal | None:
        waiting = self._untimed_in_flight()
        position = 0
        while position < len(self.queue):
            proposal = self.queue[position]
            if proposal.learner in waiting:
                position += 1
                continue
            if proposal.key in self.seen:
                self.queue.pop(position)
                continue
            seconds = self.expected_seconds(proposal.learner, proposal.params)
            if time_left is not None and seconds > time_left:
                self.queue.pop(position)  # it would not finish in time; later entries may
                self.out_of_time = True
                continue
            if limit is not None and seconds > limit:
                position += 1  # too large a share for now: cheaper entries first
                continue
            self.queue.pop(position)
            self.seen[proposal.key] = None
            return proposal
        return None

    def tell(self, proposal: Proposal, loss: float | None, seconds: float) -> None:
        """Record a finished trial: ``loss`` (lower is better) or None when it failed."""
        ok = loss is not None and math.isfinite(loss)
        self.seen[proposal.key] = loss if ok else math.inf
        if ok or seconds > 0:
            self.seconds.setdefault(proposal.learner, []).append(float(seconds))
        # A failure that came back quickly says nothing about the cost; one that ran longer
        # than expected (a time-out) is a lower bound worth knowing.
        if ok or seconds > self.expected_seconds(proposal.learner, proposal.params):
            self.costs.observe(self.learners[proposal.learner], proposal.params, seconds)
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
            params = self._best_params(name)
            if params is None:
                continue
            if time_left is not None and self.expected_seconds(name, params) > time_left:
                self.out_of_time = True
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
            return time_left is None or self._cheapest_seconds(name) <= time_left

        with_space = [n for n in self.learners if self.spaces[n]]
        searchable = [n for n in with_space if fits(n)]
        if not searchable:
            self.out_of_time = self.out_of_time or bool(with_space)
            return None
        ranked = sorted((n for n in searchable if n in self.best), key=self.best.__getitem__)
        if not ranked:
            return searchable[0]
        if self.rng.random() < _EXPLORE and len(ranked) > len(_RANK_WEIGHTS):
            return self.rng.choice(ranked[len(_RANK_WEIGHTS):])
        top = ranked[: len(_RANK_WEIGHTS)]
        # The rank weights share the tuning *time*: a learner whose trials take a tenth as
        # long gets ten turns for one of the other's at equal rank (gain per second).
        weights = [w / max(self._typical_seconds(n), 1e-3)
                   for w, n in zip(_RANK_WEIGHTS, top, strict=False)]
        return self.rng.choices(top, weights=weights, k=1)[0]

    def _typical_seconds(self, learner: str) -> float:
        """What a trial of ``learner`` takes here: the median of its trials so far, or the
        cost model's figure for its default before any has run."""
        measured = sorted(self.seconds.get(learner) or [])
        if measured:
            return measured[len(measured) // 2]
        return self.expected_seconds(learner)

    def _bayesian(self, time_left: float | None) -> Proposal | None:
        for _attempt in range(_BAYES_ATTEMPTS):
            name = self._choose_learner(time_left)
            if name is None:
                return None
            study = self._study(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
                trial = study.ask(self.spaces[name])
            params = dict(trial.params)
            if (time_left is not None
                    and self.expected_seconds(name, params) > time_left):
                # Too slow for the time it may take: the sampler forgets it (a failed trial
                # teaches TPE nothing) and draws again.
                study.tell(trial, None, state=optuna.trial.TrialState.FAIL)
                self.out_of_time = True
                continue
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
            self.tuning_trials[name] = self.tuning_trials.get(name, 0) + 1
            return proposal
        return None

    def promising(self, time_left: float | None) -> str:
        """What still promises a better trial that the cost model expects to finish in
        ``time_left`` seconds, or ``""`` when nothing does.

        Two things do: a warm-start configuration not yet tried (the portfolio ranks it
        among the likely winners on data like this), and the best learner so far while its
        own study has made fewer than :data:`TUNING_TRIALS` proposals (its neighbourhood is
        where a better score is likeliest). Both are bounded, so a job without a time limit
        still ends by Azure's rule.
        """
        untried = [p for p in self.queue if p.key not in self.seen and (
            time_left is None or self.expected_seconds(p.learner, p.params) <= time_left)]
        if untried:
            return f"{len(untried)} warm-start configurations not yet tried fit in the time left"
        tunable = [n for n in self.best if self.spaces.get(n)]
        if tunable:
            best = min(tunable, key=self.best.__getitem__)
            done = self.tuning_trials.get(best, 0)
            if done < TUNING_TRIALS and (time_left is None
                                         or self._cheapest_seconds(best) <= time_left):
                return (f"the best learner, {best}, has had {done} of {TUNING_TRIALS} "
                        "tuning trials and more fit in the time left")
        return ""

    @property
    def exhausted(self) -> bool:
        """True when no learner has a search space left to explore and the queue is empty."""
        return not self.queue and not any(self.spaces.values())


def _clamp(dist: BaseDistribution, value: Any) -> Any:
    from cirrusml.models._base import _clamp as clamp

    return clamp(dist, value)
