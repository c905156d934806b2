"""The final phase's time arithmetic: refits sized by the longest one, ensembles whose members
can all be refit in the time left, and refits that keep what finished."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cirrusml.engine._final import (
    FinalPhase,
    cv_refit_seconds,
    holdout_stack_seconds,
    refit_seconds_of,
    run_each,
)
from cirrusml.engine._search import TrialRecord
from cirrusml.engine._trial import JobData
from cirrusml.search import Proposal
from cirrusml.spec import TaskType
from cirrusml.tasks import task_for
from tests.test_search_loop import FakeClock, InMemoryBackend


def _trial(index: int, learner: str, fit_seconds: float, predictions=None) -> TrialRecord:
    output = SimpleNamespace(fit_seconds=fit_seconds, predictions=predictions,
                             validation_rows=None, model_path=None)
    return TrialRecord(index, Proposal(learner, {"i": index}), status="Completed", loss=1.0,
                       output=output)


def test_refit_time_is_at_least_the_longest_refit():
    slow, quick = _trial(0, "GradientBoosting", 30.0), _trial(1, "LightGBM", 1.0)
    # Three folds: a refit is about 1.3 x one fold's share of the trial, plus its dispatch.
    assert refit_seconds_of(slow, 3) > 19.0
    # Two workers share the refits, but one of them runs the slow refit alone.
    assert cv_refit_seconds([slow, quick, quick], 3, workers=2) == refit_seconds_of(slow, 3)
    # Many equal refits: the workers share them.
    many = [_trial(i, "LightGBM", 10.0) for i in range(8)]
    assert cv_refit_seconds(many, 3, workers=2) == pytest.approx(4 * refit_seconds_of(many[0], 3))
    # A train/validation stack refits its members on part of the rows: the same bound.
    assert holdout_stack_seconds([slow, quick, quick], workers=2) == pytest.approx(0.9 * 30.0)
    assert holdout_stack_seconds(many[:4], workers=2) == pytest.approx(0.9 * 20.0)


def test_run_each_keeps_what_finished_and_starts_nothing_after_the_deadline():
    clock = FakeClock()
    seconds = {"a": 5.0, "b": 50.0, "c": 3.0, "d": 1.0}
    backend = InMemoryBackend(clock, lambda fn, args: seconds[args[0]], workers=1)
    tasks = [(name, lambda name: name.upper(), (name,)) for name in seconds]
    results, failures = run_each(backend, tasks, deadline=20.0, clock=clock)
    assert results == {"a": "A"}
    assert failures == {"b": "it ran out of time", "c": "it ran out of time",
                        "d": "it ran out of time"}
    # "b" was stopped at the deadline; "c" and "d" were never started.
    assert [key for _t, key in backend.submitted] == ["a", "b"]
    assert clock.now == 20.0


def test_run_each_reports_a_failure_and_goes_on():
    clock = FakeClock()

    def work(name: str) -> str:
        if name == "bad":
            raise ValueError("no fit")
        return name

    backend = InMemoryBackend(clock, lambda fn, args: 1.0, workers=2)
    results, failures = run_each(backend, [(n, work, (n,)) for n in ("ok", "bad", "late")])
    assert results == {"ok": "ok", "late": "late"}
    assert "no fit" in failures["bad"]


def _final_phase(trials: list[TrialRecord], y: pd.Series, folds: list) -> FinalPhase:
    task = task_for(TaskType.REGRESSION).fit_target(y)
    job_data = JobData(X=pd.DataFrame({"x": np.arange(len(y))}), y=y, weights=None,
                       folds=folds, task=task)
    plan = SimpleNamespace(is_cv=True, n_folds=len(folds), folds=folds)
    job = SimpleNamespace(training=None, positive_label=None)
    ctx = SimpleNamespace(log=logging.getLogger("test-final"))
    loop = SimpleNamespace(metric="normalized_root_mean_squared_error", trials=trials)
    backend = SimpleNamespace(n_workers=2)
    return FinalPhase(job, ctx, loop, plan, backend, job_data, "", 1, 0)


def test_an_ensemble_leaves_out_a_member_it_could_not_refit_in_time(caplog):
    rng = np.random.default_rng(0)
    y = pd.Series(rng.normal(size=60))
    rows = np.arange(60)
    folds = [(np.setdiff1d(rows, part), part) for part in np.array_split(rows, 3)]
    # Two models with independent errors: their blend beats either alone.
    quick = _trial(0, "LightGBM", 1.0, (y + rng.normal(scale=0.5, size=60)).to_numpy())
    slow = _trial(1, "GradientBoosting", 60.0, (y + rng.normal(scale=0.5, size=60)).to_numpy())
    for t in (quick, slow):
        t.output.validation_rows = rows
    final = _final_phase([quick, slow], y, folds)

    pool, weights = final._select([quick, slow], rows, deadline=time.monotonic() + 1000)
    assert {pool[i].index for i in weights} == {0, 1}

    # The slow member's refit (about 40 s) does not fit in the 10 s left: it is left out.
    with caplog.at_level(logging.INFO, logger="test-final"):
        pool, weights = final._select([quick, slow], rows, deadline=time.monotonic() + 10)
    assert [pool[i].index for i in weights] == [0]
    assert "trial 1 (GradientBoosting) left out" in caplog.text
