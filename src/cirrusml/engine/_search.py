"""The trial loop: ask the planner, run on a backend, record, stop when a limit says so.

The loop knows the limits and the clock, not what a trial does or where its results are
written: :class:`SearchLoop` takes a ``make_task`` callable (a trial record → the picklable
function and arguments that run it) and a :class:`SearchEvents` object (told when a trial starts
and ends; the engine's writes MLflow runs and trial files, a test's keeps a list), and runs on
any :class:`~cirrusml.execution.Backend`. With an in-memory backend and a fake clock its budget
arithmetic, stopping rules and failure handling are unit-testable in milliseconds.

Time rules
----------
* The search ends at ``deadline`` (when ``timeout_minutes`` is up) less the reserve the final
  steps need (``reserve(trials, workers)``, seconds). Until one trial has completed it may run to
  ``deadline`` plus ``first_trial_allowance`` of the budget: a job that spent its budget starting
  still gets a model, and the whole job stays within 1.1 x ``timeout_minutes``.
* A trial gets ``min(trial_timeout, time left + 5 s)``; the backend stops it there (TimedOut).
  Running trials are stopped at the search's deadline too ("stopped at the job's time limit").
* The first trial is asked for without a time limit (no learner's cost is known yet); later ones
  with the time left, so the planner proposes only what fits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cirrusml.execution import Backend, TaskOutcome, TaskStatus
from cirrusml.metrics import get_metric, to_loss
from cirrusml.search import Planner, Proposal, StoppingRule

__all__ = ["SearchBudget", "SearchEvents", "SearchLoop", "TrialRecord"]

_POLL_SECONDS = 0.25
#: A trial's time limit reaches this far past the time left (the backend kills it there).
_TRIAL_SLACK_SECONDS = 5.0


@dataclass
class TrialRecord:
    """A trial as the runner knows it."""

    index: int
    proposal: Proposal
    run_id: str = ""
    status: str = "Running"  # TrialStatus: Running, Completed, Failed, TimedOut, Canceled
    metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    loss: float = math.inf
    seconds: float = 0.0
    error: str | None = None
    output: Any = None  # the trial function's result (``TrialOutput``) when it completed
    traceback: str | None = None

    @property
    def learner(self) -> str:
        return self.proposal.learner

    @property
    def params(self) -> dict[str, Any]:
        return self.proposal.params

    @property
    def completed(self) -> bool:
        return self.status == "Completed"


class SearchEvents(Protocol):
    """What the loop tells the rest of the job."""

    def trial_started(self, record: TrialRecord) -> None:
        """``record`` is about to be submitted (set ``record.run_id`` here)."""

    def trial_finished(self, record: TrialRecord, loop: SearchLoop) -> None:
        """``record`` ended (its status, score and error are set)."""


@dataclass
class SearchBudget:
    """The search's share of the job's time, on the loop's clock."""

    timeout_seconds: float
    #: Clock value when ``timeout_minutes`` is up.
    deadline: float
    #: Past the deadline, the share of the budget the first trial may still use.
    first_trial_allowance: float = 0.05


class SearchLoop:
    """Trials from ``planner`` on a backend, within ``limits`` and ``budget``.

    ``limits`` is the job's resolved limits (``max_trials``, ``trial_timeout_minutes``,
    ``exit_score``, ``enable_early_termination``); ``metric`` the primary metric's name.
    """

    def __init__(self, planner: Planner, limits: Any, metric: str, budget: SearchBudget, *,
                 make_task: Callable[[TrialRecord], tuple[Callable[..., Any], tuple[Any, ...]]],
                 events: SearchEvents,
                 reserve: Callable[[list[TrialRecord], int], float] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.planner = planner
        self.limits = limits
        self.metric = metric
        self.budget = budget
        self.make_task = make_task
        self.events = events
        self.reserve = reserve or (lambda _trials, _workers: 0.0)
        self.clock = clock
        self.trials: list[TrialRecord] = []
        self.running: dict[int, TrialRecord] = {}
        exit_loss = None if limits.exit_score is None else to_loss(metric, limits.exit_score)
        self.stopping = StoppingRule(limits.enable_early_termination, exit_loss)
        self.stop_reason = ""
        #: When Azure's early-termination rule first held while a better trial was still
        #: affordable (and so did not stop the search), and why.
        self.termination_deferred = ""
        self.workers = 1
        info = get_metric(metric)
        self._best_possible = to_loss(metric, info.upper if info.greater_is_better
                                      else info.lower)

    # ------------------------------------------------------------------------------ time

    def search_deadline(self) -> float:
        if not any(t.completed for t in self.trials):
            return self.budget.deadline + (self.budget.first_trial_allowance
                                           * self.budget.timeout_seconds)
        return self.budget.deadline - self.reserve(self.trials, self.workers)

    def time_left(self) -> float:
        return self.search_deadline() - self.clock()

    # ----------------------------------------------------------------------------- state

    def restore(self, records: list[TrialRecord]) -> None:
        """Continue from trials recorded by an earlier run of this job (resume): they count
        towards ``max_trials``, the stopping rules and the planner's model."""
        for record in sorted(records, key=lambda r: r.index):
            self.trials.append(record)
            self.stopping.tell(record.loss if record.completed else None)
            self.planner.tell(record.proposal, record.loss if record.completed else None,
                              record.seconds)

    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.completed]
        return min(done, key=lambda t: (t.loss, t.index)) if done else None

    def should_stop(self) -> str:
        if len(self.trials) >= self.limits.max_trials:
            return f"max_trials ({self.limits.max_trials}) reached"
        if self.stopping.exit_score_reached:
            return f"exit_score ({self.limits.exit_score:g}) reached"
        if self.stopping.early_terminated:
            promise = self._promise()
            if not promise:
                return "early termination: the best score did not improve in 10 trials"
            if not self.termination_deferred:
                self.termination_deferred = f"at trial {len(self.trials)}: {promise}"
        if self.clock() >= self.search_deadline():
            return "timeout_minutes reached"
        return ""

    def _promise(self) -> str:
        """What still promises a better trial in the time left (the planner's word), or ""
        when nothing does or the best score cannot be beaten."""
        best = self.best()
        if best is None or best.loss <= self._best_possible:
            return ""
        return self.planner.promising(max(0.0, self.time_left()))

    def summary(self) -> str:
        """The log's line on how the search ended."""
        line = f"Search stopped: {self.stop_reason} ({len(self.trials)} trials)."
        if self.termination_deferred:
            line += (" Early termination was deferred "
                     f"{self.termination_deferred}.")
        return line

    # ------------------------------------------------------------------------------ loop

    def run(self, backend: Backend) -> None:
        """Trials until a limit is reached; running trials are stopped before returning."""
        self.workers = backend.n_workers
        trial_timeout = self.limits.trial_timeout_minutes * 60
        while True:
            while not self.stop_reason and backend.free_slots > 0:
                self.stop_reason = self.should_stop()
                if self.stop_reason:
                    break
                time_left = self.time_left()
                first = not self.trials
                proposal = self.planner.ask(time_left=None if first else time_left,
                                            workers=self.workers)
                if proposal is None:
                    break
                self._submit(backend, proposal,
                             min(trial_timeout, time_left + _TRIAL_SLACK_SECONDS))
            if not self.running:
                if not self.stop_reason:
                    self.stop_reason = self._nothing_to_propose()
                break
            for outcome in backend.wait(_POLL_SECONDS, hard_deadline=self.search_deadline()):
                self.finish(self.running.pop(outcome.key), outcome)
        if not self.stop_reason:
            self.stop_reason = self.should_stop() or "search finished"
        for outcome in backend.cancel_all():  # past the search's deadline
            record = self.running.pop(outcome.key, None)
            if record is not None:
                self.finish(record, outcome)

    def _nothing_to_propose(self) -> str:
        """Why the search ends when the planner proposes nothing and nothing is running."""
        if self.planner.out_of_time:
            # The budget is what stopped it: the time left is shorter than any
            # configuration still on offer is expected to take.
            return (f"timeout_minutes reached: no further configuration fits in the "
                    f"{max(0.0, self.time_left()):.0f} s left")
        return "search finished: no new configuration left to try"

    def _submit(self, backend: Backend, proposal: Proposal, timeout: float) -> None:
        record = TrialRecord(len(self.trials), proposal)
        self.events.trial_started(record)
        fn, args = self.make_task(record)
        self.trials.append(record)
        self.running[record.index] = record
        backend.submit(record.index, fn, *args, timeout=max(1.0, timeout))

    def finish(self, record: TrialRecord, outcome: TaskOutcome) -> None:
        """Record what became of ``record``, tell the planner and the stopping rules."""
        record.seconds = outcome.seconds
        if outcome.ok:
            output = outcome.value
            record.output = output
            record.metrics = dict(output.metrics)
            record.score = output.metrics.get(self.metric)
            if record.score is None or not math.isfinite(record.score):
                record.status = "Failed"
                record.error = f"the primary metric {self.metric} is undefined for this trial"
            else:
                record.status = "Completed"
                record.loss = to_loss(self.metric, record.score)
        else:
            record.status = {TaskStatus.TIMEOUT: "TimedOut",
                             TaskStatus.CANCELED: "Canceled"}.get(outcome.status, "Failed")
            record.error = outcome.error
            record.traceback = outcome.traceback
            if (outcome.status == TaskStatus.TIMEOUT
                    and self.clock() >= self.search_deadline() - 0.5):
                record.error = "stopped at the job's time limit"
        loss = record.loss if record.completed else None
        self.stopping.tell(loss)
        self.planner.tell(record.proposal, loss, record.seconds)
        self.events.trial_finished(record, self)
