"""Dask computes: the backend on a real multi-process LocalCluster, jobs whose trials run on a
registered compute, lost workers, unreachable schedulers, and ``cirrus compute``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import psutil
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.entities import DaskCompute
from cirrusml.exceptions import CirrusMLError
from cirrusml.execution import DaskBackend
from cirrusml.spec import TabularTrainingMode
from cirrusml.tracking import Workspace
from tests.conftest import (
    breast_cancer_frame,
    dask_cluster,
    wait_for,
    worker_pids,
    write_mltable,
)

pytestmark = pytest.mark.slow


def _pid() -> int:
    return os.getpid()


def _double(x: int) -> tuple[int, int]:
    return 2 * x, os.getpid()


def _raise() -> None:
    raise ValueError("bad value on purpose")


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.fixture(scope="module")
def cluster():
    """The module's cluster, for tests that leave it whole."""
    with dask_cluster(2) as both:
        yield both


@pytest.fixture
def own_cluster():
    """A cluster of the test's own, for tests that kill or restart workers: a worker that does
    not come back on a loaded machine then costs no other test."""
    with dask_cluster(2) as both:
        yield both


def _job(frame, compute: str | None = None, trials: int = 2, **kwargs):
    job = automl.classification(training_data=frame, target_column_name="diagnosis",
                                primary_metric="accuracy", validation_data_size=0.25,
                                compute=compute, **kwargs)
    job.set_limits(max_trials=trials, max_concurrent_trials=1, timeout_minutes=5)
    job.set_training(allowed_training_algorithms=["LogisticRegression", "LightGBM"],
                     enable_model_explainability=False, enable_vote_ensemble=False,
                     enable_stack_ensemble=False)
    return job


def _run(client: MLClient, job) -> str:
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=300) in ("Completed", "Failed")
    return name


@pytest.fixture(scope="module")
def jobs(cluster, tmp_path_factory):
    """One job on the registered compute and the same job run locally."""
    _local, dclient = cluster
    workspace = tmp_path_factory.mktemp("dask-ws")
    client = MLClient(workspace=workspace)
    client.compute.begin_create_or_update(
        DaskCompute(name="cpu-cluster", address=_local.scheduler_address)).result()
    frame = breast_cancer_frame()
    pids = set(worker_pids(dclient).values())
    on_dask = _run(client, _job(frame, "azureml:cpu-cluster", seed=7))
    # Distributed training needs a Dask compute: without one the job trains as usual.
    local = _job(frame, None, seed=7)
    local.training.training_mode = TabularTrainingMode.DISTRIBUTED
    local.limits.max_nodes = 4
    local = _run(client, local)
    return client, workspace, on_dask, local, pids


def test_job_on_a_registered_compute_runs_its_trials_on_the_cluster(jobs, cluster):
    client, workspace, on_dask, _local, pids = jobs
    local_cluster, _ = cluster
    assert client.jobs.get(on_dask).status == "Completed", client.jobs.record(on_dask)
    log = (workspace / "jobs" / on_dask / "log.txt").read_text()
    assert f"Dask scheduler at {local_cluster.scheduler_address}" in log
    ran_on = {int(p) for p in re.findall(r"Dask task \S+ ended ok on worker \S+ \(pid (\d+)\)",
                                         log)}
    assert ran_on and ran_on <= pids
    assert os.getpid() not in ran_on
    trials = client.jobs.list(parent_job_name=on_dask)
    assert len(trials) == 2 and all(t.status == "Completed" for t in trials)


def test_seeded_job_scores_the_same_on_dask_and_locally(jobs):
    client, workspace, on_dask, local, _pids = jobs
    assert client.jobs.get(local).status == "Completed"
    local_log = (workspace / "jobs" / local / "log.txt").read_text()
    assert "Dask scheduler" not in local_log
    assert "training_mode: distributed (max_nodes=4) needs a Dask compute" in local_log
    dask_trials = sorted((t.algorithm, round(t.score, 9))
                         for t in client.jobs.list(parent_job_name=on_dask))
    local_trials = sorted((t.algorithm, round(t.score, 9))
                          for t in client.jobs.list(parent_job_name=local))
    assert dask_trials == local_trials
    assert client.jobs.record(on_dask)["best_score"] == pytest.approx(
        client.jobs.record(local)["best_score"])


def test_backend_ok_failed_timeout_and_cancel(own_cluster):
    local_cluster, dclient = own_cluster
    backend = DaskBackend(local_cluster.scheduler_address, max_tasks=8)
    try:
        assert backend.n_workers == 2  # capped by the cluster's two worker threads
        pids = set(worker_pids(dclient).values())
        backend.submit("ok", _double, 21)
        backend.submit("bad", _raise)
        assert backend.free_slots == 0
        out: dict = {}
        wait_for(lambda: out.update({o.key: o for o in backend.wait(1)}) or len(out) == 2, 60)
        assert out["ok"].ok and out["ok"].value[0] == 42 and out["ok"].worker_pid in pids
        assert out["bad"].status == "failed" and "bad value on purpose" in out["bad"].error
        assert "ValueError" in out["bad"].traceback and out["bad"].worker_pid in pids

        # A task past its limit: reported timeout, its worker restarted (a new process).
        backend.submit("slow", _sleep, 60, timeout=1)
        time.sleep(0.5)
        busy = [a for a, keys in dclient.processing().items() if keys]
        assert len(busy) == 1
        old_pid = worker_pids(dclient)[busy[0]]
        ended = []
        wait_for(lambda: ended.extend(backend.wait(1)) or ended, 60)
        assert ended[0].key == "slow" and ended[0].status == "timeout"
        wait_for(lambda: len(worker_pids(dclient)) == 2, 120)
        assert old_pid not in worker_pids(dclient).values()
        assert not psutil.pid_exists(old_pid) or \
            psutil.Process(old_pid).status() == psutil.STATUS_ZOMBIE
        # ... and the cluster still runs tasks.
        backend.submit("after", _double, 1)
        again = []
        wait_for(lambda: again.extend(backend.wait(1)) or again, 60)
        assert again[0].ok and again[0].value[0] == 2

        backend.submit("cancel-me", _sleep, 60)
        time.sleep(0.5)
        canceled = backend.cancel("cancel-me")
        assert canceled is not None and canceled.status == "canceled"
        assert backend.cancel("cancel-me") is None and backend.running == []
    finally:
        backend.close()


def test_a_worker_killed_mid_trial_fails_that_trial_and_the_job_goes_on(
        own_cluster, tmp_path, monkeypatch):
    local_cluster, dclient = own_cluster
    wait_for(lambda: len(worker_pids(dclient)) == 2, 120)
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "6")
    client = MLClient(workspace=tmp_path / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cpu-cluster", address=local_cluster.scheduler_address))
    name = client.jobs.create_or_update(
        _job(breast_cancer_frame(), "cpu-cluster", seed=3)).name
    busy: list[str] = []
    wait_for(lambda: busy.extend(a for a, k in dclient.processing().items() if k) or busy, 120,
             step=0.05)
    os.kill(worker_pids(dclient)[busy[0]], signal.SIGKILL)
    assert client.jobs.wait(name, timeout=300) == "Completed", client.jobs.record(name)
    trials = sorted(client.jobs.list(parent_job_name=name), key=lambda t: t.name)
    statuses = sorted(t.status for t in trials)
    assert statuses == ["Completed", "Failed"], statuses
    log = (tmp_path / "ws" / "jobs" / name / "log.txt").read_text()
    assert "worker running it was lost" in log


def test_an_unreachable_compute_fails_create_and_the_job_before_training(tmp_path):
    client = MLClient(workspace=tmp_path / "ws")
    with pytest.raises(CirrusMLError, match=r"compute 'gone'.*tcp://127\.0\.0\.1:9"):
        client.compute.begin_create_or_update(DaskCompute(name="gone",
                                                          address="tcp://127.0.0.1:9"))
    assert client.compute.list() == []
    # A compute recorded earlier whose scheduler went away since.
    Workspace(tmp_path / "ws").save_compute("gone", {"type": "dask",
                                                     "address": "tcp://127.0.0.1:9"})
    name = _run(client, _job(breast_cancer_frame(), "azureml:gone"))
    record = client.jobs.record(name)
    assert record["status"] == "Failed"
    assert "compute 'gone'" in record["error"] and "tcp://127.0.0.1:9" in record["error"]
    assert client.jobs.list(parent_job_name=name) == []


def _cirrus(*args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cirrusml.cli.main", *args,
                           "--workspace", str(workspace)], capture_output=True, text=True,
                          timeout=180, env={**os.environ, "COLUMNS": "200"})


def test_cli_compute_create_list_show_delete_local(tmp_path):
    ws = tmp_path / "ws"
    created = _cirrus("compute", "create", "--name", "local-dask", "--type", "dask", "--local",
                      "--workers", "2", workspace=ws)
    assert created.returncode == 0, created.stderr
    record = Workspace(ws).get_compute("local-dask")
    assert record is not None and record["local"] and record["address"].startswith("tcp://")
    pid = int(record["pid"])
    try:
        assert psutil.pid_exists(pid)
        listed = _cirrus("compute", "list", workspace=ws)
        assert listed.returncode == 0 and "local-dask" in listed.stdout
        assert "Running" in listed.stdout
        shown = _cirrus("compute", "show", "--name", "local-dask", workspace=ws)
        assert shown.returncode == 0, shown.stderr
        assert record["address"] in shown.stdout and "memory per worker" in shown.stdout
        assert len(re.findall(r"tcp://127\.0\.0\.1:\d+ +│ 1 ", shown.stdout)) == 2
        deleted = _cirrus("compute", "delete", "--name", "local-dask", workspace=ws)
        assert deleted.returncode == 0, deleted.stderr
        wait_for(lambda: not psutil.pid_exists(pid)
                 or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 30)
        assert Workspace(ws).get_compute("local-dask") is None
        missing = _cirrus("compute", "show", "--name", "local-dask", workspace=ws)
        assert missing.returncode != 0 and "not registered" in missing.stderr
        assert "Traceback" not in missing.stderr
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_scheduler_that_goes_away_mid_job_fails_the_job_cleanly(tmp_path, monkeypatch):
    client = MLClient(workspace=tmp_path / "ws")
    compute = client.compute.begin_create_or_update(
        DaskCompute(name="short-lived", local=True, workers=1)).result()
    assert compute.state == "Running" and len(compute.worker_details) == 1
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "60")
    name = client.jobs.create_or_update(_job(breast_cancer_frame(), "short-lived")).name
    events = tmp_path / "ws" / "jobs" / name / "events.jsonl"
    wait_for(lambda: events.exists() and "trial_started" in events.read_text(), 120)
    os.killpg(int(compute.pid), signal.SIGKILL)
    assert client.jobs.wait(name, timeout=120) == "Failed"
    error = client.jobs.record(name)["error"]
    assert "compute 'short-lived'" in error and "went away" in error
    assert client.compute.get("short-lived").state in ("Stopped", "Unreachable")
    client.compute.begin_delete("short-lived")
    assert client.compute.list() == []


# ------------------------------------------------------------------ training_mode: distributed


def _separable(n: int, seed: int) -> pd.DataFrame:
    """Rows whose label follows two numbers and a category, with an id column and gaps."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x0", "x1", "x2", "x3"])
    frame["color"] = rng.choice(["red", "green", "blue"], n)
    logit = 2 * frame.x0 - frame.x1 + 1.5 * (frame.color == "red")
    frame["label"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame["amount"] = 3 * frame.x0 + frame.x2 + rng.normal(0, 0.1, n)
    frame.loc[rng.random(n) < 0.05, "x2"] = np.nan
    frame["row_id"] = [f"r{i}" for i in range(n)]
    return frame


@pytest.fixture(scope="module")
def distributed_jobs(cluster, tmp_path_factory):
    """A classification job on CSV partitions and a regression job on Parquet files, each in
    training_mode: distributed on the module's two-worker cluster."""
    local_cluster, _ = cluster
    root = tmp_path_factory.mktemp("distributed")
    frame = _separable(12_000, seed=1)
    csv = root / "csv"
    csv.mkdir()
    for i, part in enumerate(np.array_split(frame.iloc[:10_000], 4)):
        part.drop(columns=["amount"]).to_csv(csv / f"part-{i}.csv", index=False)
    test = root / "test.csv"
    frame.iloc[10_000:].drop(columns=["amount"]).to_csv(test, index=False)
    parquet = root / "parquet"
    parquet.mkdir()
    for i, part in enumerate(np.array_split(frame.iloc[:10_000], 3)):
        part.drop(columns=["label"]).to_parquet(parquet / f"part-{i}.parquet")
    valid = root / "valid.parquet"
    frame.iloc[10_000:].drop(columns=["label"]).to_parquet(valid)
    client = MLClient(workspace=root / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cluster", address=local_cluster.scheduler_address)).result()
    classify = automl.classification(
        training_data=Input(type="uri_folder", path=str(csv)), target_column_name="label",
        test_data=Input(type="uri_file", path=str(test)), primary_metric="AUC_weighted",
        compute="azureml:cluster", seed=5)
    classify.set_limits(max_trials=3, timeout_minutes=5, max_nodes=4, max_concurrent_trials=2)
    classify.set_training(training_mode="distributed")
    regress = automl.regression(
        training_data=Input(type="uri_folder", path=str(parquet)), target_column_name="amount",
        validation_data=Input(type="uri_file", path=str(valid)), compute="cluster",
        primary_metric="r2_score")
    regress.set_limits(max_trials=2, timeout_minutes=5, max_nodes=1)
    regress.set_training(training_mode="distributed", allowed_training_algorithms=[
        "LightGBM", "ElasticNet"])
    return client, root, frame, _run(client, classify), _run(client, regress)


def test_distributed_lightgbm_classifies_from_csv_partitions(distributed_jobs):
    client, root, frame, name, _regression = distributed_jobs
    record = client.jobs.record(name)
    assert record["status"] == "Completed", record
    log = (root / "ws" / "jobs" / name / "log.txt").read_text()
    assert "training_mode: distributed on compute 'cluster' (2 worker(s); max_nodes=4)" in log
    assert "max_concurrent_trials=2 ignored" in log and "no ensembles" in log
    assert "max_nodes=4 is more than the cluster's 2 worker(s)" in log
    assert "column 'row_id' dropped" in log
    trials = client.jobs.list(parent_job_name=name)
    assert len(trials) == 3 and {t.algorithm for t in trials} == {"LightGBM"}
    assert record["best_score"] > 0.8  # the labels follow x0, x1 and color
    # The best model is an ordinary MLflow model: raw rows in, labels and probabilities out.
    model = mlflow.sklearn.load_model(str(root / "ws" / "jobs" / name / "outputs" /
                                          "best_model"))
    rows = frame.iloc[10_000:10_200].drop(columns=["label", "amount"])
    proba = model.predict_proba(rows)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(rows)) <= {"yes", "no"}
    assert "Test AUC_weighted (2000 rows)" in log
    # Charts and the explanation from samples of the validation rows.
    folder = root / "ws" / "jobs" / name
    assert (folder / "charts" / "validation.json").is_file()
    assert "a sample of 1000 validation rows" in log
    importance = json.loads((folder / "outputs" / "explanation" / "global_importance.json")
                            .read_text())
    raw = importance["raw_importance"]
    ranked = sorted(raw, key=raw.get, reverse=True)
    assert ranked[0] == "x0" and "color" in ranked[:3], raw  # the rule's own columns


def test_distributed_lightgbm_regresses_from_parquet_with_validation_data(distributed_jobs):
    client, root, frame, _classification, name = distributed_jobs
    record = client.jobs.record(name)
    assert record["status"] == "Completed", record
    log = (root / "ws" / "jobs" / name / "log.txt").read_text()
    assert "validation: validation_data: 2,000 validation rows, 10,000 training rows" in log
    assert "max_nodes=1: the model trains on 1 of the cluster's 2 workers" in log
    # ElasticNet does not train distributed: only LightGBM is searched.
    assert {t.algorithm for t in client.jobs.list(parent_job_name=name)} == {"LightGBM"}
    assert record["best_score"] > 0.9
    model = mlflow.sklearn.load_model(str(root / "ws" / "jobs" / name / "outputs" /
                                          "best_model"))
    rows = frame.iloc[10_000:].drop(columns=["label", "amount"])
    error = np.abs(model.predict(rows) - frame.amount.iloc[10_000:].to_numpy())
    assert error.mean() < 0.5 * frame.amount.std()


def test_distributed_mode_names_what_it_cannot_read(cluster, tmp_path):
    local_cluster, _ = cluster
    client = MLClient(workspace=tmp_path / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cluster", address=local_cluster.scheduler_address)).result()
    frame = _separable(500, seed=2)
    table = write_mltable(frame, tmp_path / "table")
    with open(table / "MLTable", "a", encoding="utf-8") as f:
        f.write("  - take: 100\n")  # defined on the whole table, not on partitions
    lines = frame.head(50).to_dict(orient="records")
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("\n".join(pd.Series([str(r) for r in lines]).str.replace("'", '"')))
    cases = [(Input(type="mltable", path=str(table)),
              "may only have its read step (read_delimited or read_parquet)"),
             (Input(type="uri_file", path=str(jsonl)), "reads CSV, TSV and Parquet files")]
    for data, says in cases:
        job = automl.classification(training_data=data, target_column_name="label",
                                    compute="cluster")
        job.set_limits(max_trials=1, timeout_minutes=2)
        job.set_training(training_mode="distributed")
        name = _run(client, job)
        record = client.jobs.record(name)
        assert record["status"] == "Failed", record
        assert says in record["error"] and "training_data" in record["error"], record["error"]
        assert client.jobs.list(parent_job_name=name) == []


def test_inline_backend_stops_a_task_past_its_limit():
    from cirrusml.execution import InlineBackend

    stopped: list[bool] = []
    backend = InlineBackend(on_timeout=lambda: stopped.append(True))
    backend.submit("quick", _double, 4)
    assert backend.free_slots == 0
    (outcome,) = backend.wait(5)
    assert outcome.ok and outcome.value[0] == 8 and backend.free_slots == 1
    backend.submit("slow", _sleep, 30, timeout=0.3)
    started = time.monotonic()
    outcomes: list = []
    while not outcomes:
        outcomes = backend.wait(1.0)
    assert outcomes[0].status == "timeout" and time.monotonic() - started < 5
    assert stopped == [True] and backend.free_slots == 1
    backend.submit("bad", _raise)
    (failed,) = backend.wait(5)
    assert failed.status == "failed" and "bad value on purpose" in failed.error


def _two_trial_job(local_cluster, tmp_path, *, parts: int, seed: int,
                   trial_timeout_minutes: float):
    """A workspace with the cluster as a compute, and a two-trial distributed classification
    job on 4,000 rows in ``parts`` CSV files."""
    client = MLClient(workspace=tmp_path / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cluster", address=local_cluster.scheduler_address)).result()
    folder = tmp_path / "rows"
    folder.mkdir()
    for i, part in enumerate(np.array_split(_separable(4_000, seed=seed), parts)):
        part.to_csv(folder / f"part-{i}.csv", index=False)
    job = automl.classification(training_data=Input(type="uri_folder", path=str(folder)),
                                target_column_name="label", compute="cluster")
    job.set_limits(max_trials=2, timeout_minutes=4, trial_timeout_minutes=trial_timeout_minutes)
    job.set_training(training_mode="distributed")
    return client, job


def test_a_distributed_trial_past_its_limit_is_stopped_and_the_job_goes_on(
        own_cluster, tmp_path, monkeypatch):
    """Trial 0 hangs (the testing aid's delay): it is recorded TimedOut, the cluster's workers
    are restarted to stop it, the data is placed on them again and trial 1 trains."""
    local_cluster, dclient = own_cluster
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "LightGBM-0:120")
    client, job = _two_trial_job(local_cluster, tmp_path, parts=2, seed=3,
                                 trial_timeout_minutes=0.2)
    name = _run(client, job)
    assert client.jobs.get(name).status == "Completed", client.jobs.record(name)
    statuses = {t.iteration: t.status for t in client.jobs.list_trials(name)}
    assert statuses == {0: "TimedOut", 1: "Completed"}, statuses
    assert client.jobs.record(name)["best_iteration"] == 1
    wait_for(lambda: len(worker_pids(dclient)) == 2, 120)  # the cluster is whole again


def test_a_worker_lost_during_a_distributed_trial_leaves_the_job_completed(
        own_cluster, tmp_path, monkeypatch):
    """A worker holding the job's partitions dies while trial 0 runs: the trial ends (failed,
    or completed on partitions Dask computed again), the job goes on and completes."""
    local_cluster, dclient = own_cluster
    wait_for(lambda: len(worker_pids(dclient)) == 2, 120)
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "LightGBM-0:4")
    client, job = _two_trial_job(local_cluster, tmp_path, parts=4, seed=4,
                                 trial_timeout_minutes=0.5)
    name = client.jobs.create_or_update(job).name
    events = tmp_path / "ws" / "jobs" / name / "events.jsonl"
    wait_for(lambda: events.exists() and '"trial_started"' in events.read_text(), 120,
             step=0.05)
    victim = sorted(worker_pids(dclient).items())[0][1]
    os.kill(victim, signal.SIGKILL)
    assert client.jobs.wait(name, timeout=300) == "Completed", client.jobs.record(name)
    statuses = {t.iteration: t.status for t in client.jobs.list_trials(name)}
    assert set(statuses) == {0, 1} and statuses[1] == "Completed", statuses
    assert statuses[0] in ("Completed", "Failed", "TimedOut")
    wait_for(lambda: len(worker_pids(dclient)) == 2, 120)
