"""The typed job store: records, the folder layout, the recorder and its readers, the one check
of a job's columns, and resuming a job whose runner died."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.data._checks import check_frame, check_job_columns
from cirrusml.exceptions import CirrusMLError, DataError, JobNotFoundError, WorkspaceError
from cirrusml.tracking import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    BatchJobSettings,
    JobLayout,
    JobRecord,
    JobRecorder,
    JobStatus,
    JobStore,
    TrialStatus,
    Workspace,
    now_iso,
    process_start_time,
)
from tests.conftest import breast_cancer_frame, wait_for

# ------------------------------------------------------------------------------ the record


def test_statuses_are_their_azure_strings():
    assert JobStatus.COMPLETED == "Completed"
    assert f"{JobStatus.CANCEL_REQUESTED}" == "CancelRequested"
    assert json.dumps({"s": JobStatus.FAILED}) == '{"s": "Failed"}'
    assert set(ACTIVE_STATUSES) == {"NotStarted", "Queued", "Running", "Finalizing",
                                    "CancelRequested"}
    assert set(TERMINAL_STATUSES) == {"Completed", "Failed", "Canceled"}
    assert "Running" in ACTIVE_STATUSES
    assert "Failed" in TERMINAL_STATUSES
    assert {s.value for s in TrialStatus} == {"Running", "Completed", "Failed", "TimedOut",
                                              "Canceled"}
    assert TrialStatus.TIMED_OUT.mlflow_status == "FAILED"
    assert TrialStatus.CANCELED.mlflow_status == "KILLED"
    assert TrialStatus.from_mlflow("FINISHED") is TrialStatus.COMPLETED


def test_record_round_trips_and_keeps_unknown_keys():
    raw = {"name": "j", "status": "Running", "created": "2024-01-01T00:00:00+00:00",
           "notices": ["n"], "pid": 12, "best_score": 0.5, "test_metrics": {"accuracy": 0.9},
           "someday_field": {"x": 1}}
    record = JobRecord.from_dict(raw)
    assert record.status is JobStatus.RUNNING
    assert record.is_active
    assert not record.is_terminal
    assert record.extra == {"someday_field": {"x": 1}}
    assert record.to_dict() == raw
    assert json.loads(json.dumps(record.to_dict()))["status"] == "Running"
    assert not JobRecord(name="x", status=JobStatus.FAILED).resumable
    assert JobRecord(name="x", status=JobStatus.FAILED, runner_lost=True).resumable


def test_a_batch_job_record_carries_its_type_and_an_automl_one_leaves_it_out():
    assert "type" not in JobRecord(name="a").to_dict()
    assert JobRecord.from_dict({"name": "a"}).type == "automl"
    batch = JobRecord.from_dict({"name": "b", "type": "batch", "status": "Completed",
                                 "batch_summary": {"rows": 3}})
    assert batch.is_batch
    assert batch.to_dict()["type"] == "batch"
    assert JobRecord.from_dict(batch.to_dict()) == batch
    with pytest.raises(WorkspaceError, match="unknown type 'sweep'"):
        JobRecord.from_dict({"name": "c", "type": "sweep"})


def test_a_batch_job_keeps_its_settings_and_its_score_output(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    store = JobStore(ws)
    settings = BatchJobSettings(model="azureml:m:1", model_path=str(tmp_path / "m"),
                                input_type="uri_file", input_path=str(tmp_path / "in.csv"),
                                mini_batch_size=7, endpoint_name="ep")
    layout = store.create_batch("b", JobRecord(name="b", type="batch", created=now_iso()),
                                settings)
    assert layout.batch_settings == layout.root / "batch.json"
    assert store.batch_settings("b") == settings
    recorder = JobRecorder(ws, "b")
    path = recorder.score_output("predictions.csv")
    assert path == layout.root / "outputs" / "score" / "predictions.csv"
    path.write_text("prediction\n1\n", encoding="utf-8")
    recorder.save_batch_summary(rows=1, mini_batches=1)
    assert layout.named_outputs() == {"score": layout.score_dir}
    assert store.read("b").batch_summary == {"rows": 1, "mini_batches": 1}
    with pytest.raises(WorkspaceError, match="has type 'batch'"):
        store.create_batch("a", JobRecord(name="a"), settings)
    _fake_job(ws, "automl")
    with pytest.raises(CirrusMLError, match="not a batch scoring job"):
        store.batch_settings("automl")


def test_a_batch_jobs_runner_records_a_failure_with_its_reason(tmp_path):
    """The real runner process (python -m cirrusml.serving.batch), given no model."""
    from cirrusml.client._launcher import start_runner

    ws = Workspace(tmp_path / "ws").ensure()
    (tmp_path / "in.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    store = JobStore(ws)
    store.create_batch("b", JobRecord(name="b", type="batch", created=now_iso()),
                       BatchJobSettings(model="x", model_path=str(tmp_path / "empty"),
                                        input_type="uri_file",
                                        input_path=str(tmp_path / "in.csv")))
    start_runner(store, "b")
    assert MLClient(workspace=ws.root).jobs.wait("b", timeout=120) == "Failed"
    record = store.read("b")
    assert f"The model folder '{tmp_path / 'empty'}' holds no MLmodel file" in record.error
    assert "holds no MLmodel file" in store.read_log("b")[0]


def test_layout_names_every_file_of_a_job_folder(tmp_path):
    layout = JobLayout(tmp_path / "jobs" / "j")
    relative = {str(p.relative_to(layout.root)) for p in (
        layout.job_file, layout.record, layout.record_lock, layout.log, layout.events,
        layout.input_frame("training_data"), layout.worker_data, layout.trial(3),
        layout.trial_model(3), layout.guardrails, layout.featurization_summary,
        layout.best_model, layout.global_importance, layout.explanation_background,
        layout.onnx_model)}
    assert relative == {
        "job.yml", "record.json", "record.lock", "log.txt", "events.jsonl",
        "inputs/training_data.parquet", "work/data.pkl", "trials/3.json", "trials/3.model.pkl",
        "guardrails.json", "featurization_summary.json", "outputs/best_model",
        "outputs/explanation/global_importance.json", "outputs/explanation/background.pkl",
        "outputs/onnx_model/model.onnx"}
    assert not layout.root.exists()  # building a layout touches nothing


# ------------------------------------------------------------------------------ the checks


def test_one_check_of_a_jobs_columns_gives_the_clients_messages(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "y": [0, 1]})
    job = automl.classification(training_data=frame, target_column_name="label")
    with pytest.raises(DataError, match=r"target_column_name: column 'label' is not in "
                                        r"training_data; its columns are: a, y\."):
        check_job_columns(job)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    job = automl.classification(training_data=Input(type="uri_file", path=str(path)),
                                target_column_name="y", weight_column_name="w")
    with pytest.raises(DataError, match=rf"weight_column_name: column 'w' is not in "
                                        rf"training_data \({path}\)"):
        check_job_columns(job)
    with pytest.raises(DataError, match=r"training_data has no rows \(an empty DataFrame\)"):
        check_frame(frame.iloc[:0], "training_data")
    twice = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError, match=r"duplicate column names \['a'\]"):
        check_frame(twice, "validation_data")
    check_job_columns(automl.classification(training_data=frame, target_column_name="y"))


# --------------------------------------------------------------------------- the recorder


def test_recorder_writes_what_the_store_reads(tmp_path):
    ws = Workspace(tmp_path / "ws").ensure()
    store = JobStore(ws)
    store.create("j", JobRecord(name="j", created=now_iso(), task="classification",
                                experiment_name="exp", tracking_uri=ws.tracking_uri))
    recorder = JobRecorder(ws, "j")
    recorder.open_job("exp", {"task": "classification"}).result(timeout=120)
    assert store.read("j").mlflow_run_id == recorder.parent_run_id

    run_id = recorder.start_trial(0, "LightGBM", {"n_estimators": 10}, source="portfolio")
    recorder.finish_trial(run_id, TrialStatus.COMPLETED, metrics={"accuracy": 0.9},
                          score=0.9, featurization=[{"raw": "a"}])
    recorder.save_trial(0, {"index": 0, "run_id": run_id, "learner": "LightGBM",
                            "status": "Completed", "score": 0.9})
    failed = recorder.start_trial(1, "KNN", {}, class_weight="balanced")
    recorder.finish_trial(failed, TrialStatus.TIMED_OUT, error="too slow")
    ensemble = recorder.record_ensemble(2, "VotingEnsemble", params={"ensembled_iterations": [0]},
                                        metrics={"accuracy": 0.91}, score=0.91,
                                        info={"learner": "VotingEnsemble", "members": [0],
                                              "status": "Completed", "score": 0.91})
    recorder.save_guardrails([{"name": "Missing feature values imputation", "status": "Passed"}])
    recorder.save_featurization_summary([{"RawFeatureName": "a"}])
    recorder.record_best(ensemble, 2, "VotingEnsemble", "accuracy", 0.91)
    recorder.save_test_metrics({"accuracy": 0.8, "AUC_weighted": float("nan")},
                               source="test_data", rows=10)
    recorder.event("trial", index=0)
    recorder.close_job(JobStatus.COMPLETED)

    record = store.read("j")
    assert record.status is JobStatus.COMPLETED
    assert record.ended
    assert record.test_metrics == {"accuracy": 0.8}
    runs = store.trial_runs("j")
    assert [(r.iteration, r.algorithm, r.status) for r in runs] == [
        (0, "LightGBM", "Completed"), (1, "KNN", "TimedOut"), (2, "VotingEnsemble", "Completed")]
    assert runs[0].score == 0.9
    assert runs[0].params == {"n_estimators": "10"}
    assert runs[1].tags["error"] == "too slow"
    assert runs[1].params["class_weight"] == "balanced"
    assert sorted(store.trial_infos("j")) == [0, 2]
    assert store.trial_infos("j")[2]["run_id"] == ensemble
    assert store.guardrails("j")[0]["status"] == "Passed"
    assert store.featurization_summary("j") == [{"RawFeatureName": "a"}]
    assert store.job_metrics("j") == {"accuracy": 0.91, "test_accuracy": 0.8}  # NaN left out
    assert store.explanation("j") == {}
    assert store.read_events("j", 0)[0] == [{"event": "trial", "index": 0,
                                             "time": pytest.approx(time.time(), abs=60)}]
    with pytest.raises(CirrusMLError, match=r"has no trial 5; its trials are 0, 2"):
        store.trial_info("j", 5)
    with pytest.raises(JobNotFoundError):
        store.guardrails("nope")


# ------------------------------------------------------------------------------ resume


def _fake_job(ws: Workspace, name: str, **fields) -> None:
    JobStore(ws.ensure()).create(name, JobRecord(name=name, created=now_iso(), **fields))


def _dead_pid() -> tuple[int, float | None]:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start_time(proc.pid)
    proc.wait()
    return proc.pid, started


@pytest.mark.parametrize(("fields", "needle"), [
    ({"status": JobStatus.COMPLETED}, "cannot be resumed: it completed"),
    ({"status": JobStatus.CANCELED}, "cannot be resumed: it was canceled"),
    ({"status": JobStatus.FAILED,
      "error": "target_column_name: column 'label' is not in training_data"},
     "cannot be resumed: it failed on its own (target_column_name: column 'label'"),
    ({"status": JobStatus.RUNNING, "pid": os.getpid(),
      "pid_started": process_start_time(os.getpid())}, "is Running and its runner is alive"),
])
def test_resume_is_refused_unless_the_runner_died(tmp_path, fields, needle):
    ws = Workspace(tmp_path / "ws")
    _fake_job(ws, "j", **fields)
    with pytest.raises(CirrusMLError) as caught:
        MLClient(workspace=ws.root).jobs.resume("j")
    assert needle in str(caught.value)
    assert JobStore(ws).read("j").status == fields["status"]  # nothing changed
    with pytest.raises(JobNotFoundError, match="no job named 'k'"):
        MLClient(workspace=ws.root).jobs.resume("k")


def test_a_job_whose_runner_died_is_put_back_in_the_queue(tmp_path):
    ws = Workspace(tmp_path / "ws")
    pid, started = _dead_pid()
    _fake_job(ws, "j", status=JobStatus.RUNNING, pid=pid, pid_started=started,
              started=now_iso(), mlflow_run_id="r", mlflow_experiment_id="1")
    store = JobStore(ws)
    lost = store.refresh("j")
    assert lost.status is JobStatus.FAILED
    assert lost.resumable
    assert "killed or crashed" in (lost.error or "")
    resumed = store.prepare_resume("j")
    assert resumed.status is JobStatus.NOT_STARTED
    assert resumed.resumed == 1
    assert resumed.resumed_at
    assert resumed.error is None
    assert resumed.ended is None
    assert resumed.pid is None
    assert not resumed.resumable
    assert resumed.mlflow_run_id == "r"
    assert resumed.started == lost.started
    assert store.refresh("j").status is JobStatus.NOT_STARTED  # not "never started" at once


def test_cli_resume_refuses_with_one_clear_line(tmp_path):
    ws = Workspace(tmp_path / "ws")
    _fake_job(ws, "done", status=JobStatus.COMPLETED)
    cirrus = str(Path(sys.executable).with_name("cirrus"))
    for name, needle in (("done", "cannot be resumed: it completed"),
                         ("ghost", "no job named 'ghost'")):
        result = subprocess.run([cirrus, "job", "resume", "-n", name, "--workspace",
                                 str(ws.root)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result.stderr
        assert needle in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    shown = subprocess.run([cirrus, "job", "resume", "--help"], capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0
    assert "--stream" in shown.stdout


_wait_for = wait_for


def _kill_runner_mid_search(client: MLClient, workspace: Path, monkeypatch) -> str:
    monkeypatch.setenv("CIRRUS_DEBUG_TRIAL_SECONDS", "30")
    job = automl.classification(training_data=breast_cancer_frame(),
                                target_column_name="diagnosis", primary_metric="AUC_weighted")
    job.set_limits(max_trials=2, timeout_minutes=5)
    name = client.jobs.create_or_update(job).name
    events = workspace / "jobs" / name / "events.jsonl"
    _wait_for(lambda: "trial_started" in events.read_text())
    pid = client.jobs.record(name)["pid"]
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not psutil.pid_exists(pid) or
              psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    assert client.jobs.get(name).status == "Failed"
    assert client.jobs.job_record(name).resumable
    return name


@pytest.mark.slow
def test_a_killed_runner_is_resumed_by_a_new_runner(workspace, monkeypatch):
    client = MLClient(workspace=workspace)
    name = _kill_runner_mid_search(client, workspace, monkeypatch)
    old_pid = client.jobs.record(name)["pid"]
    returned = client.jobs.resume(name)
    assert returned.status in ("NotStarted", "Queued", "Running")
    record = client.jobs.record(name)
    assert record["resumed"] == 1
    assert record["pid"] != old_pid
    assert "error" not in record
    new_pid = record["pid"]
    assert new_pid in [p.pid for p in psutil.Process().children(recursive=True)]
    _wait_for(lambda: client.jobs.get(name).status == "Running")
    assert "--resume" in psutil.Process(new_pid).cmdline()
    with pytest.raises(CirrusMLError, match="is Running and its runner is alive"):
        client.jobs.resume(name)
    assert client.jobs.cancel(name) == "Canceled"
    with pytest.raises(CirrusMLError, match="it was canceled"):
        client.jobs.resume(name)


@pytest.mark.slow
def test_a_resumed_job_completes(workspace, monkeypatch):
    client = MLClient(workspace=workspace)
    name = _kill_runner_mid_search(client, workspace, monkeypatch)
    monkeypatch.delenv("CIRRUS_DEBUG_TRIAL_SECONDS")
    client.jobs.resume(name)
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    record = client.jobs.record(name)
    assert record["resumed"] == 1
    assert record["best_score"] > 0.9
    assert "Resuming job" in (workspace / "jobs" / name / "log.txt").read_text()
    with pytest.raises(CirrusMLError, match="it completed"):
        client.jobs.resume(name)


@pytest.mark.slow
def test_a_resumed_job_continues_from_its_recorded_trials(workspace, monkeypatch):
    # The runner is killed once a trial has completed (the next one is usually in flight). The
    # resumed job keeps the recorded trials as they were, records an interrupted one as Failed,
    # starts no index twice, and runs only the trials max_trials still allows.
    client = MLClient(workspace=workspace)
    job = automl.classification(training_data=breast_cancer_frame(),
                                target_column_name="diagnosis", primary_metric="AUC_weighted",
                                n_cross_validations=3)
    job.set_limits(max_trials=5, timeout_minutes=5)
    name = client.jobs.create_or_update(job).name
    folder = workspace / "jobs" / name
    events = folder / "events.jsonl"

    def finished() -> list[dict]:
        lines = events.read_text().splitlines() if events.exists() else []
        return [e for e in map(json.loads, lines) if e.get("event") == "trial"]

    _wait_for(lambda: len(finished()) >= 1, timeout=180)
    pid = client.jobs.record(name)["pid"]
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not psutil.pid_exists(pid) or
              psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    done = {e["index"]: e for e in finished()}
    before = {i: json.loads((folder / "trials" / f"{i}.json").read_text()) for i in done}
    assert client.jobs.get(name).status == "Failed"

    client.jobs.resume(name)
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    log = (folder / "log.txt").read_text()
    assert "trial(s) recorded" in log
    trials = [t for t in client.jobs.list_trials(name) if t.tags.get("cirrus.kind") == "trial"]
    assert len(trials) == 5  # max_trials holds across both runs
    for index, info in before.items():
        # A recorded trial is kept, not rerun: same MLflow run, same score.
        after = json.loads((folder / "trials" / f"{index}.json").read_text())
        assert after["run_id"] == info["run_id"] and after["score"] == info["score"]
    started = [json.loads(line) for line in events.read_text().splitlines()]
    starts = [e["index"] for e in started if e.get("event") == "trial_started"]
    assert len(starts) == len(set(starts))  # no index started twice
    # Each index started once: by its event, or (a runner killed between opening a trial's
    # MLflow run and writing its event) by the run alone, then recorded as interrupted.
    unannounced = {t.iteration for t in trials} - set(starts)
    assert {t.iteration for t in trials} == set(range(5))
    assert all(t.status == "Failed" for t in trials if t.iteration in unannounced)
