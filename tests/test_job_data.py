"""A job's data through real jobs: validation rules, weights, test data, and bad input.

Each job is small and runs one trial in a runner process of its own; the jobs share one
temporary workspace, so that its tracking store is created once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from cirrusml import Input, MLClient, automl
from cirrusml.engine._data import prepare_data
from cirrusml.exceptions import DataError, JobFailedError
from cirrusml.tasks import task_for

CIRRUS = str(Path(sys.executable).with_name("cirrus"))


# ------------------------------------------------------------------------------------ helpers


def cirrus(*args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIRRUS, *args, "--workspace", str(workspace)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


def _frame(n_rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Two informative numbers, a category and a binary label."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_rows)
    x2 = rng.normal(size=n_rows)
    return pd.DataFrame({
        "x1": x1.round(4), "x2": x2.round(4),
        "color": rng.choice(["red", "green", "blue"], size=n_rows),
        "y": np.where(x1 + 0.3 * x2 > 0, "yes", "no"),
    })


def _csv(frame: pd.DataFrame, path: Path) -> Input:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return Input(type="uri_file", path=str(path))


def _mltable(folder: Path, csv_bytes: bytes, encoding: str = "utf8") -> Input:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_bytes(csv_bytes)
    (folder / "MLTable").write_text(
        "paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited:\n"
        f"      delimiter: ','\n      encoding: '{encoding}'\n", encoding="utf-8")
    return Input(type="mltable", path=str(folder))


def _classification(training, **kwargs):
    job = automl.classification(training_data=training, target_column_name="y",
                                primary_metric=kwargs.pop("primary_metric", "accuracy"),
                                **kwargs)
    job.set_limits(max_trials=1, timeout_minutes=5)
    # a quick learner: these tests are about the data, and the machine's 2 cores are shared
    job.set_training(allowed_training_algorithms=["logistic_regression"])
    return job


def _run(client: MLClient, job) -> str:
    """Submit ``job`` and wait for it to end; returns its name."""
    name = client.jobs.create_or_update(job).name
    client.jobs.wait(name, timeout=240)
    return name


def _completed(client: MLClient, job) -> str:
    name = _run(client, job)
    record = client.jobs.record(name)
    assert record["status"] == "Completed", record.get("error")
    return name


def _failed(client: MLClient, job) -> dict:
    """Run ``job``, which must fail with a clean (not internal) error; returns its record."""
    name = _run(client, job)
    record = client.jobs.record(name)
    assert record["status"] == "Failed", record
    assert "internal error" not in record["error"]
    assert "Traceback" not in client.jobs.read_log(name)[0]
    return record


def _log(workspace: Path, name: str) -> str:
    return (workspace / "jobs" / name / "log.txt").read_text(encoding="utf-8")


def _guardrail(client: MLClient, name: str, title: str) -> dict:
    found = [g for g in client.jobs.guardrails(name) if g["name"] == title]
    assert len(found) == 1, [g["name"] for g in client.jobs.guardrails(name)]
    return found[0]


def _notices(guardrail: dict) -> list[str]:
    return [row["notice"] for row in guardrail["details"] if "notice" in row]


def _trial_files(workspace: Path, name: str) -> list[Path]:
    folder = workspace / "jobs" / name / "trials"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> tuple[MLClient, Path]:
    """One workspace for the jobs of this module (its tracking store is created once)."""
    workspace = tmp_path_factory.mktemp("jobs") / "ws"
    return MLClient(workspace=workspace), workspace


# ------------------------------------------------------------------ refused at submission


def test_duplicate_column_names_are_refused_at_submission(tmp_path, workspace):
    path = tmp_path / "dup.csv"
    path.write_text("x1,x2,x1,y\n" + "".join(f"{i},{i % 7},{i % 3},{'ab'[i % 2]}\n"
                                              for i in range(60)))
    client = MLClient(workspace=workspace)
    for data in (Input(type="uri_file", path=str(path)),
                 _mltable(tmp_path / "dup-table", path.read_bytes())):
        with pytest.raises(DataError, match=r"duplicated column names in its header \('x1'\)"):
            client.jobs.create_or_update(_classification(data))
    assert not (workspace / "jobs").exists() or not any((workspace / "jobs").iterdir())

    spec = tmp_path / "dup.yml"
    spec.write_text(yaml.safe_dump({
        "type": "automl", "task": "classification", "target_column_name": "y",
        "training_data": {"type": "uri_file", "path": str(path)}}))
    result = cirrus("job", "create", "--file", str(spec), workspace=workspace)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "duplicated column names" in result.stderr and "'x1'" in result.stderr
    assert "dup.csv" in result.stderr


def test_duplicate_column_names_in_a_dataframe_are_a_clear_data_error(workspace):
    frame = _frame(60)
    frame.insert(2, "x1_again", frame["x2"])
    frame.columns = ["x1", "x2", "x1", "color", "y"]
    client = MLClient(workspace=workspace)
    with pytest.raises(DataError, match="duplicate.*'?x1'?"):
        client.jobs.create_or_update(_classification(frame))
    assert not (workspace / "jobs").exists() or not any((workspace / "jobs").iterdir())


def test_empty_data_is_refused_at_submission(tmp_path, workspace):
    client = MLClient(workspace=workspace)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("x1,x2,y\n")
    for path in (empty, header_only):
        with pytest.raises(DataError, match=rf"{path.name}' has no rows"):
            client.jobs.create_or_update(_classification(Input(type="uri_file", path=str(path))))
    assert not (workspace / "jobs").exists() or not any((workspace / "jobs").iterdir())


def test_a_header_only_csv_is_reported_as_such(tmp_path, workspace):
    header_only = tmp_path / "header.csv"
    header_only.write_text("x1,x2,y\n")
    with pytest.raises(DataError, match=r"has no rows \(only a header line\)"):
        MLClient(workspace=workspace).jobs.create_or_update(
            _classification(Input(type="uri_file", path=str(header_only))))


def test_an_empty_dataframe_is_refused_at_submission(workspace):
    with pytest.raises(DataError, match="training_data has no rows"):
        MLClient(workspace=workspace).jobs.create_or_update(_classification(_frame(0)))


def test_wrong_declared_encoding_names_the_file_and_suggests_the_encoding(tmp_path, workspace):
    rows = "".join(f"{city},{i},{'ab'[i % 2]}\n" for i, city in
                   enumerate(["Zürich", "Genève", "Bern", "Sankt Gallen"] * 15))
    data = _mltable(tmp_path / "latin", "city,x,y\n".encode() + rows.encode("latin-1"),
                    encoding="utf8")
    client = MLClient(workspace=workspace)
    # Refused at submission: the whole file is checked before the job is recorded.
    with pytest.raises(DataError) as caught:
        client.jobs.create_or_update(_classification(data))
    message = str(caught.value)
    assert str(tmp_path / "latin" / "data.csv") in message
    assert "does not decode as utf8" in message and "line 2" in message
    assert "set encoding: latin1 in the MLTable" in message
    assert not (workspace / "jobs").exists() or not any((workspace / "jobs").iterdir())

    spec = tmp_path / "latin.yml"
    spec.write_text(yaml.safe_dump({
        "type": "automl", "task": "classification", "target_column_name": "y",
        "training_data": {"type": "mltable", "path": str(tmp_path / "latin")}}))
    result = cirrus("job", "create", "--file", str(spec), workspace=workspace)
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    assert "encoding: latin1" in result.stderr and "data.csv" in result.stderr

    # Declared correctly, the same bytes train.
    fixed = _mltable(tmp_path / "latin-ok", "city,x,y\n".encode() + rows.encode("latin-1"),
                     encoding="latin1")
    assert client.jobs.validate(_classification(fixed)) == []


# ------------------------------------------- checks of prepare_data (what the runner runs)


def _prepare(job):
    return prepare_data(job, task_for(job.task_type), seed=0)


def test_prepare_data_drops_missing_targets_of_every_input_and_counts_them_apart():
    frame = _frame(60)
    frame.loc[[3, 4, 5], "y"] = None
    valid = _frame(20, seed=1)
    valid.loc[[0], "y"] = ""
    data = _prepare(automl.classification(training_data=frame, target_column_name="y",
                                          validation_data=valid))
    assert data.dropped_target_rows == {"training_data": 3, "validation_data": 1}
    assert data.n_train_rows == 57 and len(data.y) == 57 + 19
    assert data.plan.folds[0][1].tolist() == list(range(57, 76))
    assert data.feature_columns == ["x1", "x2", "color"]


def test_a_test_data_size_smaller_than_the_number_of_classes_is_handled():
    frame = pd.DataFrame({"x": np.arange(12.0), "y": ["a"] * 5 + ["b"] * 5 + ["c"] * 2})
    # expected: like the validation holdout, an unstratified split when stratifying cannot work
    data = _prepare(automl.classification(training_data=frame, target_column_name="y",
                                          test_data_size=0.1, n_cross_validations=2))
    assert len(data.y_test) == 2 and data.n_train_rows == 10


def test_a_single_numeric_class_is_named_plainly():
    frame = pd.DataFrame({"x": np.arange(20.0), "y": [1] * 20})
    with pytest.raises(DataError, match=r"target column 'y' has a single class \(1\)"):
        _prepare(automl.classification(training_data=frame, target_column_name="y"))


# -------------------------------------------------------------------- failed in the runner


@pytest.mark.slow
def test_a_target_missing_in_every_row_fails_the_job_naming_the_target(tmp_path, shared):
    frame = _frame(80).assign(y="")
    client, workspace = shared
    record = _failed(client, _classification(_csv(frame, tmp_path / "d.csv")))
    assert "target column 'y'" in record["error"]
    assert "missing in every row" in record["error"]


@pytest.mark.slow
def test_a_single_class_left_after_dropping_missing_targets_fails_naming_it(tmp_path,
                                                                          shared):
    frame = _frame(80)
    frame["y"] = np.where(np.arange(80) % 4 == 0, None, "yes")
    client, workspace = shared
    record = _failed(client, _classification(_csv(frame, tmp_path / "d.csv")))
    assert "target column 'y' has a single class ('yes')" in record["error"]
    assert "at least two classes" in record["error"]
    with pytest.raises(JobFailedError, match="single class"):
        client.jobs.stream(record["name"], printer=lambda _text: None)


@pytest.mark.slow
def test_custom_featurization_naming_a_missing_column_fails_before_any_trial(tmp_path, shared):
    job = _classification(_csv(_frame(80), tmp_path / "d.csv"))
    job.set_featurization(mode="custom", column_name_and_types={"colour": "Categorical"})
    client, workspace = shared
    record = _failed(client, job)
    assert "featurization.column_name_and_types names column 'colour'" in record["error"]
    assert "'x1'" in record["error"]  # the columns there are
    assert "Did you mean 'color'" in record["error"]
    assert _trial_files(workspace, record["name"]) == []
    assert client.jobs.list_trials(record["name"]) == []
    assert "Trial 0" not in _log(workspace, record["name"])


# ------------------------------------------------------------------------------- messy data


@pytest.fixture(scope="module")
def messy_job(tmp_path_factory, shared):
    """Missing targets, a class with fewer rows than folds and a mixed-type column, together."""
    root = tmp_path_factory.mktemp("messy")
    frame = _frame(150, seed=3)
    frame.loc[[5, 17, 29, 41, 53, 65, 77], "y"] = None  # 7 rows without a target
    frame.loc[[10, 20], "y"] = "maybe"  # two rows of a third class, with 3 folds
    frame["mixed"] = [str(i % 13) if i % 5 else f"code-{i % 4}" for i in range(150)]
    frame["mixed"] = frame["mixed"].astype(object)
    data = _csv(frame, root / "messy.csv")
    job = _classification(data, n_cross_validations=3)
    client, workspace = shared
    name = _completed(client, job)
    return client, workspace, name


@pytest.mark.slow
def test_rows_with_a_missing_target_are_dropped_and_counted(messy_job):
    client, workspace, name = messy_job
    guardrail = _guardrail(client, name, "Missing target values")
    assert guardrail["status"] == "Done"
    assert guardrail["details"] == [{"rows_removed": 7}]
    assert "7 row(s) with a missing target value were removed" in guardrail["description"]
    log = _log(workspace, name)
    assert "Dropped 7 row(s) of training_data whose target is missing." in log
    assert "Training rows: 143," in log


@pytest.mark.slow
def test_a_class_with_fewer_rows_than_folds_completes_with_unstratified_folds(messy_job):
    client, workspace, name = messy_job
    guardrail = _guardrail(client, name, "Validation split handling")
    assert guardrail["status"] == "Done"
    assert "3-fold cross-validation" in guardrail["description"]
    assert "stratified by class" not in guardrail["description"]
    (notice,) = _notices(guardrail)
    assert "class 'maybe' has only 2 row(s), fewer than the 3 folds" in notice
    assert "not stratified" in notice
    assert f"Validation: {notice}" in _log(workspace, name)
    # shown by the CLI too
    shown = cirrus("job", "show", "-n", name, workspace=workspace)
    assert shown.returncode == 0, shown.stderr
    assert "class 'maybe' has only 2 row(s)" in shown.stdout
    assert "Missing target values" in shown.stdout


@pytest.mark.slow
def test_a_column_of_mixed_numbers_and_strings_is_featurized(messy_job):
    client, _workspace, name = messy_job
    (trial,) = client.jobs.list_trials(name)
    assert trial.status == "Completed"
    summary = {e["raw_column"]: e for e in client.jobs.featurization_summary(name)}
    assert set(summary) == {"x1", "x2", "color", "mixed"}
    assert not summary["mixed"]["dropped"]
    assert summary["mixed"]["detected_type"] == "Categorical"
    assert summary["mixed"]["engineered_features"] >= 1


# ------------------------------------------------------------------------------------ weights


def _weighted_frame(n_rows: int = 400) -> pd.DataFrame:
    """Half the rows follow x1 > 0 and weigh 1; the other half have random labels and weigh
    almost nothing. Weighted accuracy is then close to 1, unweighted about 0.75."""
    rng = np.random.default_rng(7)
    x1 = rng.normal(size=n_rows)
    noisy = np.arange(n_rows) % 2 == 1
    label = np.where(x1 > 0, "yes", "no")
    label[noisy] = rng.choice(["yes", "no"], size=int(noisy.sum()))
    return pd.DataFrame({"x1": x1.round(4), "x2": rng.normal(size=n_rows).round(4),
                         "importance": np.where(noisy, 0.01, 1.0), "y": label})


@pytest.mark.slow
def test_weight_column_is_used_in_metrics_and_is_not_a_feature(tmp_path, shared):
    data = _csv(_weighted_frame(), tmp_path / "w.csv")
    client, workspace = shared
    weighted = _completed(client, _classification(data, weight_column_name="importance",
                                                  validation_data_size=0.3))
    plain = _completed(client, _classification(data, validation_data_size=0.3))

    w_score = client.jobs.record(weighted)["best_score"]
    p_score = client.jobs.record(plain)["best_score"]
    assert w_score > 0.9, w_score
    assert p_score < 0.85, p_score  # the importance column would not help: it is noise's mark
    assert w_score - p_score > 0.1

    raw = [e["raw_column"] for e in client.jobs.featurization_summary(weighted)]
    assert sorted(raw) == ["x1", "x2"]
    assert "importance" in [e["raw_column"] for e in client.jobs.featurization_summary(plain)]
    trial = json.loads(_trial_files(workspace, weighted)[0].read_text())
    assert trial["status"] == "Completed" and trial["score"] == pytest.approx(w_score)

    mlmodel = yaml.safe_load((workspace / "jobs" / weighted / "outputs" / "best_model" /
                              "MLmodel").read_text())
    inputs = [c["name"] for c in json.loads(mlmodel["signature"]["inputs"])]
    assert sorted(inputs) == ["x1", "x2"]


# ------------------------------------------------------------------- test and validation data


def _parent_metrics(client: MLClient, name: str) -> dict[str, float]:
    record = client.jobs.record(name)
    run = mlflow.MlflowClient(tracking_uri=client.tracking_uri).get_run(record["mlflow_run_id"])
    return dict(run.data.metrics)


@pytest.mark.slow
def test_test_data_size_scores_the_best_model_on_held_back_rows(tmp_path, shared):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.uniform(size=300)})
    frame["target"] = 3 * frame["a"] - 2 * frame["b"] + rng.normal(scale=0.1, size=300)
    job = automl.regression(training_data=_csv(frame, tmp_path / "r.csv"),
                            target_column_name="target", primary_metric="r2_score",
                            test_data_size=0.2, n_cross_validations=3)
    job.set_limits(max_trials=1, timeout_minutes=5)
    job.set_training(allowed_training_algorithms=["elastic_net"])
    client, workspace = shared
    name = _completed(client, job)

    record = client.jobs.record(name)
    assert "r2_score" in record["test_metrics"]
    assert 0.5 < record["test_metrics"]["r2_score"] <= 1.0
    metrics = _parent_metrics(client, name)
    assert metrics["test_r2_score"] == pytest.approx(record["test_metrics"]["r2_score"])
    assert metrics["r2_score"] == pytest.approx(record["best_score"])  # validation, apart
    assert metrics["test_r2_score"] != metrics["r2_score"]
    assert {k for k in metrics if k.startswith("test_")} >= {
        "test_r2_score", "test_root_mean_squared_error", "test_mean_absolute_error"}
    log = _log(workspace, name)
    assert "Training rows: 240," in log  # the 60 test rows are held back from training
    assert "Test r2_score (60 rows)" in log
    (trial,) = client.jobs.list_trials(name)
    assert not any(k.startswith("test_") for k in trial.metrics)


@pytest.mark.slow
def test_validation_data_and_test_data_are_used_as_given(tmp_path, shared):
    train = _csv(_frame(200, seed=1), tmp_path / "train.csv")
    valid = _csv(_frame(70, seed=2), tmp_path / "valid.csv")
    test = _csv(_frame(50, seed=3), tmp_path / "test.csv")
    client, workspace = shared
    name = _completed(client, _classification(train, validation_data=valid, test_data=test,
                                              primary_metric="AUC_weighted"))

    guardrail = _guardrail(client, name, "Validation split handling")
    assert guardrail["status"] == "Done"
    assert "validation_data was given" in guardrail["description"]
    assert guardrail["details"][0]["kind"] == "holdout"
    log = _log(workspace, name)
    assert "Training rows: 200," in log
    assert "Test AUC_weighted (50 rows)" in log

    record = client.jobs.record(name)
    assert set(record["test_metrics"]) >= {"AUC_weighted", "accuracy"}
    metrics = _parent_metrics(client, name)
    assert metrics["test_AUC_weighted"] == pytest.approx(record["test_metrics"]["AUC_weighted"])
    assert metrics["AUC_weighted"] == pytest.approx(record["best_score"])
    shown = cirrus("job", "show", "-n", name, workspace=workspace)
    assert shown.returncode == 0 and "test AUC_weighted" in shown.stdout
    assert "validation_data was given" in shown.stdout
