"""Azure's limits, through real jobs: max_trials, exit_score, early termination, timeouts,
concurrency, failed trials, and repeatability. Budgets are trial counts; the one timeout test
uses deliberately slow trials and generous margins."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from cirrusml import MLClient, automl
from tests.conftest import breast_cancer_frame

pytestmark = pytest.mark.slow


def _separable(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A target every learner gets perfectly right: AUC 1.0 from the first trial on."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "noise": rng.normal(size=n),
                         "label": np.where(x > 0, "pos", "neg")})


def _run(workspace: Path, frame: pd.DataFrame, target: str, *, task: str = "classification",
         metric: str = "AUC_weighted", training: dict | None = None, **limits) -> dict:
    client = MLClient(workspace=workspace)
    factory = automl.classification if task == "classification" else automl.regression
    job = factory(training_data=frame, target_column_name=target, primary_metric=metric,
                  validation_data_size=0.3, seed=0)
    job.set_limits(**{"max_concurrent_trials": 1, "timeout_minutes": 10, **limits})
    if training:
        job.set_training(**training)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    record = client.jobs.record(name)
    record["trials_runs"] = client.jobs.list_trials(name)
    record["events"] = [json.loads(line) for line in
                        (workspace / "jobs" / name / "events.jsonl").read_text().splitlines()]
    record["log"] = (workspace / "jobs" / name / "log.txt").read_text()
    return record


def _searched(record: dict) -> list:
    return [t for t in record["trials_runs"] if t.tags.get("cirrus.kind") == "trial"]


def test_max_trials(workspace):
    record = _run(workspace, breast_cancer_frame(), "diagnosis", max_trials=3)
    assert len(_searched(record)) == 3
    assert record["stop_reason"] == "max_trials (3) reached"


def test_exit_score_stops_the_search(workspace):
    record = _run(workspace, breast_cancer_frame(), "diagnosis", exit_score=0.5, max_trials=50)
    assert len(_searched(record)) == 1
    assert record["stop_reason"].startswith("exit_score")


def test_early_termination_follows_azures_rule(workspace, tmp_path):
    record = _run(workspace, _separable(), "label", max_trials=200)
    # Trials 1-20 are landmarks; 10 more without improvement stop the search.
    assert len(_searched(record)) == 30
    assert "early termination" in record["stop_reason"]
    off = _run(tmp_path / "ws-off", _separable(), "label", max_trials=34,
               enable_early_termination=False)
    assert len(_searched(off)) == 34


def test_a_slow_trial_is_stopped_and_the_job_goes_on(workspace, monkeypatch):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "LightGBM:120")
    record = _run(workspace, breast_cancer_frame(), "diagnosis", max_trials=2,
                  trial_timeout_minutes=0.05,
                  training={"allowed_training_algorithms": ["LightGBM", "LogisticRegression"]})
    by_algorithm = {t.algorithm: t for t in _searched(record)}
    assert by_algorithm["LightGBM"].status == "TimedOut"
    assert by_algorithm["LogisticRegression"].status == "Completed"
    assert record["best_algorithm"] == "LogisticRegression"


@pytest.mark.parametrize(("crash", "message"), [("LightGBM", "killed by SIGKILL"),
                                                 ("LightGBM:raise", "asked LightGBM to fail")])
def test_a_crashing_trial_is_recorded_as_failed(workspace, monkeypatch, crash, message):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_CRASH", crash)
    record = _run(workspace, breast_cancer_frame(), "diagnosis", max_trials=3, training={
        "allowed_training_algorithms": ["LightGBM", "LogisticRegression"]})
    failed = [t for t in _searched(record) if t.algorithm == "LightGBM"]
    assert failed and all(t.status == "Failed" for t in failed)
    assert message in failed[0].tags["error"]
    assert any(t.status == "Completed" for t in _searched(record))
    run = mlflow.MlflowClient(tracking_uri=MLClient(workspace=workspace).tracking_uri) \
        .get_run(failed[0].run_id)
    assert run.info.status == "FAILED"


def test_the_job_timeout_holds_with_slow_trials(workspace, monkeypatch):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "2")
    budget = 0.5  # minutes
    record = _run(workspace, breast_cancer_frame(), "diagnosis", timeout_minutes=budget,
                  max_concurrent_trials=2)
    took = (datetime.fromisoformat(record["ended"])
            - datetime.fromisoformat(record["created"])).total_seconds()
    assert took <= 1.1 * budget * 60 + 10  # the guarantee, with a generous margin for CI
    # At the deadline, or when the few seconds left are shorter than any further trial.
    assert record["stop_reason"].startswith("timeout_minutes reached")
    assert len(_searched(record)) >= 3  # and it used its time
    # The log says where the time went, phase by phase, against the budget.
    line = re.search(r"Time: ([\d.]+) s of the 30 s budget \(timeout_minutes\): (.*)\.",
                     record["log"])
    assert line is not None, record["log"][-2000:]
    spans = dict(re.findall(r"([a-z][^;]*?) ([\d.]+) s", line.group(2)))
    assert {"start-up", "loading and checking data", "searching",
            "saving the best model"} <= set(spans)
    assert sum(map(float, spans.values())) == pytest.approx(float(line.group(1)), abs=0.5)


def test_concurrent_trials_overlap_and_are_capped(workspace, monkeypatch):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "1.5")
    record = _run(workspace, breast_cancer_frame(), "diagnosis", max_trials=4,
                  max_concurrent_trials=64)
    assert "more than the" in record["log"] and "cores of this machine" in record["log"]
    running = peak = 0
    for event in record["events"]:
        if event["event"] == "trial_started":
            running += 1
            peak = max(peak, running)
        elif event["event"] == "trial" and event.get("algorithm") not in (
                "VotingEnsemble", "StackEnsemble"):
            running -= 1
    assert peak >= 2


def test_a_seeded_job_with_one_worker_repeats(workspace, tmp_path):
    frame = breast_cancer_frame()
    first = _run(workspace, frame, "diagnosis", max_trials=6)
    second = _run(tmp_path / "again", frame, "diagnosis", max_trials=6)

    def summary(record: dict) -> list:
        return [(t.algorithm, t.params, round(t.score, 12)) for t in _searched(record)]

    assert summary(first) == summary(second)
    assert first["best_score"] == second["best_score"]


def test_allowed_algorithms_are_honoured(workspace):
    record = _run(workspace, breast_cancer_frame(), "diagnosis", max_trials=5,
                  training={"allowed_training_algorithms": ["random_forest", "KNN"],
                            "blocked_training_algorithms": ["knn"]})
    assert {t.algorithm for t in _searched(record)} == {"RandomForest"}


def test_a_hanging_final_step_is_stopped_at_its_limit_and_the_job_completes(workspace,
                                                                             monkeypatch):
    # The explanation hangs (the fault plan makes its task sleep for ten minutes): the job
    # must still complete, within its time, with the step logged as cut and skipped.
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "explanation:600")
    budget = 1  # minutes
    record = _run(workspace, breast_cancer_frame(), "diagnosis", timeout_minutes=budget,
                  max_trials=2)
    took = (datetime.fromisoformat(record["ended"])
            - datetime.fromisoformat(record["created"])).total_seconds()
    assert took <= 1.1 * budget * 60
    assert "The explanation was stopped at its time limit" in record["log"]
    assert not (workspace / "jobs" / record["name"] / "outputs" / "explanation"
                / "global_importance.json").exists()
    assert (workspace / "jobs" / record["name"] / "outputs" / "best_model" / "MLmodel").exists()
