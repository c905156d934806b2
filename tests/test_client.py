"""MLClient and jobs: submission, the runner process, status lifecycle, queue, cancel, download."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import mlflow
import pandas as pd
import psutil
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.exceptions import (
    DataError,
    InvalidSpecError,
    JobFailedError,
    JobNotFoundError,
    WorkspaceError,
)
from tests.conftest import breast_cancer_frame, wait_for, write_mltable

pytestmark = pytest.mark.slow


_wait_for = wait_for


def _wait_status(client, name, status, timeout=60.0):
    """Wait until job ``name`` reaches ``status``; fail at once if it ends elsewhere."""
    def check():
        current = client.jobs.get(name).status
        if current in ("Completed", "Failed", "Canceled") and current != status:
            raise AssertionError(f"job ended {current}: {client.jobs.record(name).get('error')}")
        return current == status
    _wait_for(check, timeout)


def _one_trial_job(training, **kwargs):
    job = automl.classification(training_data=training, target_column_name="diagnosis",
                                primary_metric="AUC_weighted", **kwargs)
    job.set_limits(max_trials=1, timeout_minutes=5)
    return job


def test_dataframe_job_end_to_end(workspace, tmp_path, capsys):
    frame = breast_cancer_frame()
    client = MLClient(workspace=workspace)
    job = _one_trial_job(frame, experiment_name="e2e", validation_data_size=0.25)
    returned = client.jobs.create_or_update(job)
    assert returned.name and returned.status in ("NotStarted", "Queued", "Running")
    client.jobs.stream(returned.name)
    printed = capsys.readouterr().out
    assert f"RunId: {returned.name}" in printed and "Status: Completed" in printed
    final = client.jobs.get(returned.name)
    assert final.status == "Completed"
    assert final.services["Studio"].endpoint

    trials = client.jobs.list(parent_job_name=returned.name)
    assert len(trials) == 1
    (trial,) = trials
    first = json.loads((workspace / "jobs" / returned.name / "trials" / "0.json").read_text())
    assert trial.algorithm == first["learner"] and trial.status == "Completed"
    assert 0.9 < trial.score <= 1.0
    assert {"AUC_weighted", "accuracy", "log_loss"} <= set(trial.metrics)

    # Azure's layout: the parent names the best child, which holds outputs/mlflow-model.
    record = client.jobs.record(returned.name)
    mlflow_client = mlflow.MlflowClient(tracking_uri=client.tracking_uri)
    parent = mlflow_client.get_run(record["mlflow_run_id"])
    assert parent.data.tags["automl_best_child_run_id"] == trial.run_id
    artifacts = [a.path for a in mlflow_client.list_artifacts(trial.run_id, "outputs/mlflow-model")]
    assert "outputs/mlflow-model/MLmodel" in artifacts

    download = tmp_path / "download"
    client.jobs.download(returned.name, download_path=download, output_name="best_model")
    model = mlflow.sklearn.load_model(str(download / "named-outputs" / "best_model"))
    assert sorted(model.classes_) == ["benign", "malignant"]
    features = frame.drop(columns=["diagnosis"])
    shuffled = features[features.columns[::-1]].assign(unrelated=1.0)
    proba = model.predict_proba(shuffled)
    assert proba.shape == (len(frame), 2)
    assert (model.predict(shuffled) == frame["diagnosis"]).mean() > 0.9
    with pytest.raises(DataError, match="mean_radius"):
        model.predict(features.drop(columns=["mean_radius"]))


def test_download_all_and_unknown_output(workspace, cancer_mltable, tmp_path):
    client = MLClient(workspace=workspace)
    name = client.jobs.create_or_update(
        _one_trial_job(Input(type="mltable", path=str(cancer_mltable)))).name
    assert client.jobs.wait(name) == "Completed"
    client.jobs.download(name, download_path=tmp_path / "all", all=True)
    log = (tmp_path / "all" / "artifacts" / "logs" / "job_log.txt").read_text()
    assert "Trial 0" in log
    assert (tmp_path / "all" / "named-outputs" / "best_model" / "MLmodel").exists()
    with pytest.raises(Exception, match="no output named 'scores'.*best_model"):
        client.jobs.download(name, download_path=tmp_path / "x", output_name="scores")


def test_runner_killed_shows_failed_with_reason(workspace, cancer_mltable, monkeypatch):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "60")
    client = MLClient(workspace=workspace)
    name = client.jobs.create_or_update(
        _one_trial_job(Input(type="mltable", path=str(cancer_mltable)))).name
    _wait_status(client, name, "Running")
    pid = client.jobs.record(name)["pid"]
    # The runner is a descendant of this process (no double fork), in a session of its own.
    assert pid in [p.pid for p in psutil.Process().children(recursive=True)]
    assert os.getsid(pid) == pid
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not psutil.pid_exists(pid) or
              psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    job = client.jobs.get(name)
    assert job.status == "Failed"
    assert "killed or crashed" in client.jobs.record(name)["error"]
    assert client.jobs.get(name).status == "Failed"  # and it stays so


def test_jobs_queue_one_at_a_time(workspace, cancer_mltable, monkeypatch):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "3")
    client = MLClient(workspace=workspace)
    data = Input(type="mltable", path=str(cancer_mltable))
    first = client.jobs.create_or_update(_one_trial_job(data)).name
    _wait_status(client, first, "Running")
    second = client.jobs.create_or_update(_one_trial_job(data)).name
    _wait_status(client, second, "Queued")
    assert client.jobs.get(first).status == "Running"
    assert client.jobs.wait(first, timeout=120) == "Completed"
    assert client.jobs.wait(second, timeout=120) == "Completed"
    a, b = client.jobs.record(first), client.jobs.record(second)
    assert b["started"] >= a["ended"]
    names = [j.name for j in client.jobs.list()]
    assert set(names) == {first, second}


def test_cancel_stops_the_job_and_its_workers(workspace, cancer_mltable, monkeypatch):
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "120")
    client = MLClient(workspace=workspace)
    name = client.jobs.create_or_update(
        _one_trial_job(Input(type="mltable", path=str(cancer_mltable)))).name
    _wait_for(lambda: "trial_started" in
              (workspace / "jobs" / name / "events.jsonl").read_text())
    pid = client.jobs.record(name)["pid"]
    runner_tree = [pid] + [p.pid for p in psutil.Process(pid).children(recursive=True)]
    assert client.jobs.begin_cancel(name).result() == "Canceled"
    assert client.jobs.get(name).status == "Canceled"
    record = client.jobs.record(name)
    run = mlflow.MlflowClient(tracking_uri=client.tracking_uri).get_run(record["mlflow_run_id"])
    assert run.info.status == "KILLED"
    _wait_for(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status()
                              != psutil.STATUS_ZOMBIE for p in runner_tree), timeout=30)


def test_failure_inside_the_runner_is_recorded_and_stream_raises(workspace, tmp_path):
    frame = breast_cancer_frame()
    frame["diagnosis"] = "benign"  # a single class: only the runner, reading all rows, sees it
    folder = write_mltable(frame, tmp_path / "one-class")
    client = MLClient(workspace=workspace)
    name = client.jobs.create_or_update(_one_trial_job(Input(type="mltable", path=str(folder)))).name
    with pytest.raises(JobFailedError, match="single class"):
        client.jobs.stream(name)
    record = client.jobs.record(name)
    assert record["status"] == "Failed" and "diagnosis" in record["error"]


def test_bad_data_is_refused_before_anything_is_recorded(workspace, tmp_path, cancer_mltable):
    client = MLClient(workspace=workspace)
    job = automl.classification(training_data=Input(type="mltable", path=str(cancer_mltable)),
                                target_column_name="label")
    with pytest.raises(DataError, match=r"column 'label' is not in training_data.*mean_radius"):
        client.jobs.create_or_update(job)
    missing = automl.classification(
        training_data=Input(type="mltable", path=str(tmp_path / "nowhere")),
        target_column_name="y")
    with pytest.raises(DataError, match="nowhere"):
        client.jobs.create_or_update(missing)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv"):
        client.jobs.create_or_update(automl.regression(
            training_data=Input(type="uri_file", path=str(empty)), target_column_name="y"))
    assert not (workspace / "jobs").exists() or not any((workspace / "jobs").iterdir())


def test_forecasting_without_a_time_column_is_refused_before_recording(workspace,
                                                                       cancer_mltable):
    job = automl.forecasting(training_data=Input(type="mltable", path=str(cancer_mltable)),
                             target_column_name="mean_radius")
    with pytest.raises(InvalidSpecError, match="forecasting.time_column_name"):
        MLClient(workspace=workspace).jobs.create_or_update(job)
    job.set_forecast_settings(time_column_name="no_such_column", forecast_horizon=3)
    with pytest.raises(DataError, match="forecasting.time_column_name: column 'no_such_column'"):
        MLClient(workspace=workspace).jobs.create_or_update(job)
    assert not (workspace / "jobs").exists() or not any((workspace / "jobs").iterdir())


def test_names_and_lookups(workspace, cancer_mltable):
    client = MLClient(workspace=workspace)
    job = _one_trial_job(Input(type="mltable", path=str(cancer_mltable)), name="my-job")
    job.compute = "azureml:cpu-cluster"
    returned = client.jobs.create_or_update(job)
    assert returned.name == "my-job"
    record = client.jobs.record("my-job")
    assert record["notices"] == ["compute 'cpu-cluster' is not registered in this workspace; "
                                 "the job runs on the local machine."]
    with pytest.raises(WorkspaceError, match="already exists"):
        client.jobs.create_or_update(job)
    with pytest.raises(JobNotFoundError, match="no job named 'my-jbo'.*Did you mean 'my-job'"):
        client.jobs.get("my-jbo")
    assert client.jobs.wait("my-job") == "Completed"
    assert "not registered in this workspace" in (workspace / "jobs" / "my-job" / "log.txt").read_text()


def test_workspace_from_environment_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("CIRRUS_WORKSPACE", str(tmp_path / "env-ws"))
    assert MLClient().workspace_path == (tmp_path / "env-ws").resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="no workspace config.json"):
        MLClient.from_config(object())
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text(json.dumps({
        "subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws",
        "workspace": "../my-ws"}))
    client = MLClient.from_config(object())
    assert client.workspace_name == "ws" and client.subscription_id == "sub"
    assert client.workspace_path == (tmp_path / "my-ws").resolve()


def test_seed_snippets_run_with_only_their_imports_changed(tmp_path, monkeypatch):
    # The user's guide (Azure's "set up AutoML training for tabular data"), imports changed.
    monkeypatch.chdir(tmp_path)
    from cirrusml import MLClient as AzureMLClient  # azure.ai.ml
    from cirrusml import mltable  # mltable
    from cirrusml.identity import DefaultAzureCredential  # azure.identity

    credential = DefaultAzureCredential()
    ml_client = None
    try:
        ml_client = AzureMLClient.from_config(credential)
    except Exception as ex:  # noqa: BLE001 - the guide's own pattern
        print(ex)
        subscription_id = "<SUBSCRIPTION_ID>"
        resource_group = "<RESOURCE_GROUP>"
        workspace = "<AZUREML_WORKSPACE_NAME>"
        ml_client = AzureMLClient(credential, subscription_id, resource_group, workspace)
    assert ml_client.workspace_name == "<AZUREML_WORKSPACE_NAME>"

    Path("train_data").mkdir()
    breast_cancer_frame().to_csv("train_data/bank_marketing_train_data.csv", index=False)
    paths = [{"file": "./train_data/bank_marketing_train_data.csv"}]
    train_table = mltable.from_delimited_files(paths)
    train_table.save("./train_data")
    assert Path("train_data/MLTable").exists()
    frame = mltable.load("./train_data").to_pandas_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 569
