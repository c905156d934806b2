"""Dask computes: the backend on a real multi-process LocalCluster, jobs whose trials run on a
registered compute, lost workers, unreachable schedulers, and ``cirrus compute``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from cirrusml import MLClient, automl
from cirrusml.entities import DaskCompute
from cirrusml.exceptions import CirrusMLError
from cirrusml.execution import DaskBackend
from cirrusml.spec import TabularTrainingMode
from cirrusml.tracking import Workspace
from tests.conftest import breast_cancer_frame, wait_for

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
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             dashboard_address=":0", host="127.0.0.1")
    client = Client(local.scheduler_address, set_as_default=False)
    yield local, client
    client.close()
    local.close()


def _worker_pids(client) -> dict[str, int]:
    return dict(client.run(os.getpid))


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
    pids = set(_worker_pids(dclient).values())
    distributed = _job(frame, "azureml:cpu-cluster", seed=7)
    distributed.training.training_mode = TabularTrainingMode.DISTRIBUTED  # noticed, not built
    distributed.limits.max_nodes = 4
    on_dask = _run(client, distributed)
    local = _run(client, _job(frame, None, seed=7))
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
    assert "training_mode: distributed (max_nodes=4) is not built yet" in log
    trials = client.jobs.list(parent_job_name=on_dask)
    assert len(trials) == 2 and all(t.status == "Completed" for t in trials)


def test_seeded_job_scores_the_same_on_dask_and_locally(jobs):
    client, workspace, on_dask, local, _pids = jobs
    assert client.jobs.get(local).status == "Completed"
    assert "Dask" not in (workspace / "jobs" / local / "log.txt").read_text()
    dask_trials = sorted((t.algorithm, round(t.score, 9))
                         for t in client.jobs.list(parent_job_name=on_dask))
    local_trials = sorted((t.algorithm, round(t.score, 9))
                          for t in client.jobs.list(parent_job_name=local))
    assert dask_trials == local_trials
    assert client.jobs.record(on_dask)["best_score"] == pytest.approx(
        client.jobs.record(local)["best_score"])


def test_backend_ok_failed_timeout_and_cancel(cluster):
    local_cluster, dclient = cluster
    backend = DaskBackend(local_cluster.scheduler_address, max_tasks=8)
    try:
        assert backend.n_workers == 2  # capped by the cluster's two worker threads
        pids = set(_worker_pids(dclient).values())
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
        old_pid = _worker_pids(dclient)[busy[0]]
        ended = []
        wait_for(lambda: ended.extend(backend.wait(1)) or ended, 60)
        assert ended[0].key == "slow" and ended[0].status == "timeout"
        wait_for(lambda: len(_worker_pids(dclient)) == 2, 60)
        assert old_pid not in _worker_pids(dclient).values()
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
        cluster, tmp_path, monkeypatch):
    local_cluster, dclient = cluster
    wait_for(lambda: len(_worker_pids(dclient)) == 2, 60)
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "6")
    client = MLClient(workspace=tmp_path / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cpu-cluster", address=local_cluster.scheduler_address))
    name = client.jobs.create_or_update(
        _job(breast_cancer_frame(), "cpu-cluster", seed=3)).name
    busy: list[str] = []
    wait_for(lambda: busy.extend(a for a, k in dclient.processing().items() if k) or busy, 120,
             step=0.05)
    os.kill(_worker_pids(dclient)[busy[0]], signal.SIGKILL)
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
