"""The trial loop on an in-memory backend with a fake clock: budgets, limits and failures.

Nothing here starts a process or sleeps: each task runs when it is submitted, and the backend
reports it finished after the simulated seconds its learner costs, moving the fake clock to that
moment. So the loop's time arithmetic is checked exactly, in milliseconds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from cirrusml.engine._search import SearchBudget, SearchLoop, TrialRecord
from cirrusml.execution import Backend, TaskOutcome, TaskStatus
from cirrusml.models import learners_for
from cirrusml.search import CostModel, Planner, Proposal
from cirrusml.spec import TaskType, resolved_limits
from cirrusml.spec._settings import TabularLimitSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class _Running:
    key: Any
    started: float
    ends: float
    limit: float | None
    outcome: TaskOutcome


@dataclass
class InMemoryBackend:
    """Runs each task at submission; it ends ``seconds_of(fn, args)`` later on ``clock``."""

    clock: FakeClock
    seconds_of: Any
    workers: int = 1
    submitted: list[tuple[float, Any]] = field(default_factory=list)
    _running: list[_Running] = field(default_factory=list)

    @property
    def n_workers(self) -> int:
        return self.workers

    @property
    def free_slots(self) -> int:
        return self.workers - len(self._running)

    @property
    def running(self) -> list[Any]:
        return [r.key for r in self._running]

    def submit(self, key, fn, *args, timeout=None):
        assert self.free_slots > 0, "submitted without a free slot"
        now = self.clock.now
        self.submitted.append((now, key))
        seconds = float(self.seconds_of(fn, args))
        try:
            outcome = TaskOutcome(key, TaskStatus.OK, value=fn(*args), seconds=seconds)
        except Exception as err:  # the task's own failure, as a worker reports it
            outcome = TaskOutcome(key, TaskStatus.FAILED, error=f"{type(err).__name__}: {err}",
                                  error_type=type(err).__name__, seconds=seconds)
        self._running.append(_Running(key, now, now + seconds,
                                      None if timeout is None else now + timeout, outcome))

    def wait(self, timeout=None, *, hard_deadline=None):
        if not self._running:
            return []
        now = self.clock.now
        limits = [r.ends for r in self._running] + [r.limit for r in self._running
                                                    if r.limit is not None]
        if hard_deadline is not None:
            limits.append(max(now, hard_deadline))
        if timeout is not None:
            limits.append(now + timeout)
        self.clock.now = max(now, min(limits))
        now = self.clock.now
        done = []
        for r in list(self._running):
            cut = min([x for x in (r.limit, hard_deadline) if x is not None], default=math.inf)
            if r.ends <= now and r.ends <= cut:
                done.append(r.outcome)
            elif now >= cut:
                done.append(TaskOutcome(r.key, TaskStatus.TIMEOUT, seconds=now - r.started,
                                        error="stopped at its time limit"))
            else:
                continue
            self._running.remove(r)
        return done

    def cancel(self, key):
        for r in list(self._running):
            if r.key == key:
                self._running.remove(r)
                return TaskOutcome(key, TaskStatus.CANCELED, error="canceled")
        return None

    def cancel_all(self):
        return [self.cancel(r.key) for r in list(self._running)]

    def close(self):
        self._running.clear()


def fake_trial(learner: str, score: float | None, fail: bool = False) -> SimpleNamespace:
    if fail:
        raise RuntimeError(f"{learner} broke")
    return SimpleNamespace(metrics={"accuracy": score}, fit_seconds=1.0, model_path=None)


class Events:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[tuple[int, str]] = []

    def trial_started(self, record: TrialRecord) -> None:
        record.run_id = f"run-{record.index}"
        self.started.append(record.index)

    def trial_finished(self, record: TrialRecord, loop: SearchLoop) -> None:
        self.finished.append((record.index, record.status))


def make_loop(clock, *, budget=60.0, reserve=0.0, scores=None, fails=(), learners=None,
              **limits):
    task = TaskType.CLASSIFICATION
    pool = [lr for lr in learners_for(task) if learners is None or lr.name in learners]
    # No offline coefficients: each learner's trials cost the same whatever the configuration,
    # as the fake backend's do, so the planner's estimates are exact once a learner has run.
    planner = Planner(task, pool, n_rows=500, n_features=10, seed=0, cost_model=CostModel())
    # timeout_minutes is whole minutes in Azure's schema; the loop takes any budget.
    settings = dataclasses.replace(resolved_limits(TabularLimitSettings(**limits)),
                                   timeout_minutes=budget / 60)
    events = Events()
    scores = scores if scores is not None else (lambda i: 0.5 + 0.01 * (i % 7))

    def make_task(record: TrialRecord):
        return fake_trial, (record.learner, scores(record.index), record.index in fails)

    loop = SearchLoop(planner, settings, "accuracy", SearchBudget(budget, clock.now + budget),
                      make_task=make_task, events=events,
                      reserve=lambda trials, workers: reserve, clock=clock)
    return loop, events


def seconds_by_learner(table: dict[str, float], default: float = 1.0):
    return lambda fn, args: table.get(args[0], default)


def test_in_memory_backend_satisfies_the_protocol():
    assert isinstance(InMemoryBackend(FakeClock(), lambda fn, args: 1.0), Backend)


def test_max_trials_stops_the_search_at_exactly_that_many():
    clock = FakeClock()
    loop, events = make_loop(clock, max_trials=7)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert len(loop.trials) == 7
    assert loop.stop_reason == "max_trials (7) reached"
    assert events.started == list(range(7))
    assert sorted(i for i, _ in events.finished) == list(range(7))


def test_exit_score_stops_the_search_once_reached():
    clock = FakeClock()
    loop, _ = make_loop(clock, exit_score=0.9, scores=lambda i: 0.95 if i == 4 else 0.6)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert loop.stop_reason == "exit_score (0.9) reached"
    assert len(loop.trials) == 5
    assert loop.best().index == 4


def test_early_termination_after_landmarks_and_ten_trials_without_improvement():
    clock = FakeClock()
    # The first trial is perfect: no further trial can beat it, so Azure's rule applies as is.
    loop, _ = make_loop(clock, budget=10_000, max_trials=200,
                        scores=lambda i: 1.0 if i == 0 else 0.5)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert loop.stop_reason.startswith("early termination")
    assert len(loop.trials) == 30  # 20 landmark iterations, then 10 without improvement
    assert loop.termination_deferred == ""


def test_early_termination_waits_until_the_best_learner_is_tuned():
    from cirrusml.search._planner import TUNING_TRIALS

    clock = FakeClock()
    # The first trial stays the best; Azure's rule holds from trial 30 on, but the best
    # learner's own study has barely proposed anything: the search goes on until it has,
    # then ends by the rule (not by max_trials, and long before the budget).
    loop, _ = make_loop(clock, budget=10_000, max_trials=1000,
                        scores=lambda i: 0.9 if i == 0 else 0.5)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    best = loop.trials[0].learner
    assert loop.stop_reason.startswith("early termination")
    assert len(loop.trials) > 30
    assert loop.termination_deferred.startswith("at trial 30: ")
    assert loop.planner.tuning_trials[best] >= TUNING_TRIALS
    assert "Early termination was deferred at trial 30" in loop.summary()
    assert clock.now < 1000


def test_early_termination_can_be_turned_off():
    clock = FakeClock()
    loop, _ = make_loop(clock, budget=10_000, max_trials=40, enable_early_termination=False,
                        scores=lambda i: 0.9 if i == 0 else 0.5)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert loop.stop_reason == "max_trials (40) reached"


def test_no_trial_starts_after_the_deadline_less_the_final_reserve():
    clock = FakeClock()
    budget, reserve = 60.0, 15.0
    loop, _ = make_loop(clock, budget=budget, reserve=reserve, max_trials=1000)
    backend = InMemoryBackend(clock, seconds_by_learner({}, default=2.0))
    loop.run(backend)
    # Either the deadline came, or what is left of it is shorter than any trial: the budget.
    assert loop.stop_reason.startswith("timeout_minutes reached")
    assert len(loop.trials) > 5
    starts = [t for t, _key in backend.submitted]
    assert max(starts) < budget - reserve
    assert clock.now <= budget - reserve + 1e-9
    assert all(t.status == "Completed" for t in loop.trials)


def test_a_running_trial_is_stopped_at_the_search_deadline():
    clock = FakeClock()
    # The first trial is cheap; the next learner's trial would run past the deadline.
    loop, _ = make_loop(clock, budget=60.0, reserve=10.0, max_trials=2,
                        learners={"LightGBM", "LogisticRegression"})
    backend = InMemoryBackend(clock, lambda fn, args: 1.0 if fn is fake_trial and
                              len(backend.submitted) == 1 else 500.0)
    loop.run(backend)
    late = loop.trials[1]
    assert late.status == "TimedOut"
    assert late.error == "stopped at the job's time limit"
    assert clock.now == pytest.approx(50.0)


def test_the_first_trial_may_use_the_allowance_past_the_timeout():
    clock = FakeClock()
    budget = 100.0
    loop, _ = make_loop(clock, budget=budget, reserve=30.0, max_trials=1)
    backend = InMemoryBackend(clock, seconds_by_learner({}, default=103.0))
    loop.run(backend)
    # Until a trial completes the search may run to 1.05 x the budget: this one fits.
    assert loop.trials[0].status == "Completed"
    assert loop.best() is loop.trials[0]


def test_a_trial_past_trial_timeout_is_timed_out_and_the_search_goes_on():
    clock = FakeClock()
    loop, _ = make_loop(clock, budget=3600.0, max_trials=4, trial_timeout_minutes=1)
    backend = InMemoryBackend(clock, lambda fn, args: 300.0 if len(backend.submitted) == 2
                              else 1.0)
    loop.run(backend)
    statuses = [t.status for t in loop.trials]
    assert statuses.count("TimedOut") == 1
    timed_out = next(t for t in loop.trials if t.status == "TimedOut")
    assert timed_out.seconds == pytest.approx(60.0 + 5.0, abs=1e-6) or \
        timed_out.seconds == pytest.approx(60.0, abs=1e-6)
    assert len(loop.trials) == 4 and loop.stop_reason == "max_trials (4) reached"


def test_failed_trials_are_recorded_and_do_not_stop_the_search():
    clock = FakeClock()
    loop, events = make_loop(clock, max_trials=6, fails={1, 3})
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    failed = [t for t in loop.trials if t.status == "Failed"]
    assert [t.index for t in failed] == [1, 3]
    assert all("broke" in (t.error or "") for t in failed)
    assert all(math.isinf(t.loss) for t in failed)
    assert (1, "Failed") in events.finished and (3, "Failed") in events.finished
    assert loop.best() is not None and loop.best().index not in (1, 3)


def test_an_undefined_primary_metric_fails_the_trial():
    clock = FakeClock()
    loop, _ = make_loop(clock, max_trials=3, scores=lambda i: float("nan") if i == 0 else 0.7)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert loop.trials[0].status == "Failed"
    assert "undefined" in loop.trials[0].error


def test_nothing_fits_in_the_time_left_ends_the_search():
    clock = FakeClock()
    loop, _ = make_loop(clock, budget=60.0, max_trials=1000)
    # Every trial takes 40 s: after one, the planner has nothing that fits in the rest.
    loop.run(InMemoryBackend(clock, seconds_by_learner({}, default=40.0)))
    assert loop.stop_reason.startswith(
        "timeout_minutes reached: no further configuration fits in the")
    assert len(loop.trials) == 1
    assert clock.now <= 60.0 + 1e-9


def test_a_search_with_nothing_new_to_try_says_so_and_not_that_time_ran_out():
    clock = FakeClock()
    loop, _ = make_loop(clock, budget=3600.0, max_trials=1000,
                        learners=("LightGBM", "BernoulliNaiveBayes"))
    # Learners without hyperparameters to search: once their warm start has run, nothing is
    # left, with almost all the budget still there.
    for name in loop.planner.spaces:
        loop.planner.spaces[name] = {}
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert loop.stop_reason == "search finished: no new configuration left to try"
    assert clock.now < 60.0


def test_concurrent_trials_fill_every_slot():
    clock = FakeClock()
    loop, _ = make_loop(clock, max_trials=8)
    backend = InMemoryBackend(clock, seconds_by_learner({}), workers=2)
    loop.run(backend)
    starts = [t for t, _ in backend.submitted]
    assert starts[0] == starts[1] == 0.0  # two at a time from the start
    assert len(loop.trials) == 8


def test_restored_trials_count_towards_the_limits_and_are_not_repeated():
    clock = FakeClock()
    loop, events = make_loop(clock, max_trials=5)
    earlier = [TrialRecord(i, Proposal(learner="LightGBM", params={"n_estimators": 10 + i},
                                       source="portfolio"), run_id=f"old-{i}",
                           status="Completed", score=0.8, loss=-0.8, seconds=1.0)
               for i in range(3)]
    loop.restore(earlier)
    loop.run(InMemoryBackend(clock, seconds_by_learner({})))
    assert len(loop.trials) == 5
    assert events.started == [3, 4]  # only the trials the earlier run had not done
    assert loop.stop_reason == "max_trials (5) reached"
