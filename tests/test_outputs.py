"""What a user takes away from a job: ensembles in the leaderboard, the MLflow best model,
predictions on messy rows, every trial's model, explanations, ONNX and generated code."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

from cirrusml import MLClient, automl
from tests.conftest import breast_cancer_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A classification job with ensembles and explanations, run once for the module."""
    root = tmp_path_factory.mktemp("outputs")
    frame = breast_cancer_frame()
    frame.loc[::7, "mean_radius"] = np.nan  # missing values the model must handle
    frame["site"] = np.where(np.arange(len(frame)) % 3 == 0, "north", "south")
    client = MLClient(workspace=root / "ws")
    job = automl.classification(training_data=frame, target_column_name="diagnosis",
                                primary_metric="AUC_weighted", validation_data_size=0.3, seed=0)
    job.set_limits(max_trials=8, max_concurrent_trials=2)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=900) == "Completed", client.jobs.record(name)
    return client, name, frame, root


def test_ensembles_are_child_runs_scored_like_trials(finished):
    client, name, _frame, _root = finished
    trials = client.jobs.list_trials(name)
    kinds = {t.algorithm for t in trials}
    assert {"VotingEnsemble", "StackEnsemble"} <= kinds
    voting = next(t for t in trials if t.algorithm == "VotingEnsemble")
    assert {"AUC_weighted", "accuracy", "log_loss"} <= set(voting.metrics)
    members = json.loads(voting.params["ensembled_iterations"])
    assert len(members) >= 1
    stack = next(t for t in trials if t.algorithm == "StackEnsemble")
    assert len(json.loads(stack.params["ensembled_iterations"])) >= 2
    singles = [t for t in trials if t.tags.get("cirrus.kind") == "trial" and t.score is not None]
    record = client.jobs.record(name)
    best = max(t.score for t in trials if t.score is not None)
    assert record["best_score"] == pytest.approx(best)
    assert voting.score >= max(t.score for t in singles if t.iteration in members) - 1e-12


def test_best_model_round_trips_and_handles_messy_rows(finished, tmp_path):
    client, name, frame, root = finished
    client.jobs.download(name, download_path=tmp_path, output_name="best_model")
    path = str(tmp_path / "named-outputs" / "best_model")
    sk = mlflow.sklearn.load_model(path)
    py = mlflow.pyfunc.load_model(path)
    X = frame.drop(columns=["diagnosis"])
    assert np.allclose(sk.predict_proba(X), sk.predict_proba(X.copy()))
    assert (py.predict(X) == sk.predict(X)).all()
    messy = X.head(6).copy()
    messy["site"] = ["north", "east", None, "south", "west", "north"]  # unseen and missing
    messy.loc[messy.index[0], "mean_texture"] = np.nan
    messy["mean_area"] = messy["mean_area"].astype(str)  # numbers as text
    messy["unrelated"] = 1  # an extra column
    messy = messy[messy.columns[::-1]]  # any column order
    proba = sk.predict_proba(messy)
    assert proba.shape == (6, 2) and np.allclose(proba.sum(axis=1), 1)
    assert (py.predict(messy) == sk.predict(messy)).all()
    with pytest.raises(Exception, match="mean_radius"):
        sk.predict(messy.drop(columns=["mean_radius"]))
    requirements = (tmp_path / "named-outputs" / "best_model" / "requirements.txt").read_text()
    assert "cirrusml==" in requirements and "scikit-learn==" in requirements


def test_the_best_models_validation_charts_are_kept(finished):
    client, name, frame, _root = finished
    charts = client.jobs.charts(name)
    matrix = np.asarray(charts["classification"]["confusion_matrix"]["matrix"])
    # The holdout is 30% of the rows; the matrix counts each validation row once.
    assert matrix.sum() == pytest.approx(round(0.3 * len(frame)), abs=1)
    assert charts["classification"]["class_labels"] == sorted(frame.diagnosis.astype(str).unique())
    roc = charts["classification"]["roc_curve"]["micro"]
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1
    assert client.jobs.charts(name, "test") == {}  # the job had no test data


def test_every_trial_model_downloads(finished, tmp_path):
    client, name, frame, root = finished
    trials = [t for t in client.jobs.list_trials(name) if t.tags.get("cirrus.kind") == "trial"
              and t.status == "Completed"]
    where = client.jobs.download_trial_model(name, trials[0].iteration, download_path=tmp_path)
    model = mlflow.sklearn.load_model(str(where))
    assert model.predict_proba(frame.drop(columns=["diagnosis"]).head(3)).shape == (3, 2)
    with pytest.raises(Exception, match="has no trial 999"):
        client.jobs.download_trial_model(name, 999, download_path=tmp_path)


def test_explanations_are_stored_and_rows_explained(finished):
    client, name, frame, _root = finished
    explanation = client.jobs.explanation(name)
    assert explanation["raw_importance"]
    assert set(explanation["raw_importance"]) >= {"mean_radius", "site"}
    assert abs(sum(explanation["raw_importance"].values()) - 1) < 1e-6
    rows = client.jobs.explain(name, frame.drop(columns=["diagnosis"]).head(3))
    assert "expected_value" in rows.columns and len(rows) == 3
    assert "mean_radius" in rows.columns


def test_generated_code_reproduces_the_best_trial(finished, tmp_path):
    client, name, _frame, root = finished
    record = client.jobs.record(name)
    trial = next(t for t in client.jobs.list_trials(name)
                 if t.tags.get("cirrus.kind") == "trial" and t.status == "Completed")
    script = tmp_path / "train.py"
    result = subprocess.run(
        [str(__import__("pathlib").Path(sys.executable).with_name("cirrus")), "job",
         "generate-code", "-n", name, "--trial", str(trial.iteration), "-o", str(script),
         "--workspace", str(root / "ws")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    run = subprocess.run([sys.executable, str(script), "--output", str(tmp_path / "model")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("AUC_weighted = "))
    assert float(line.split("=")[1]) == pytest.approx(trial.score, abs=1e-9)
    assert record["status"] == "Completed"


def test_onnx_compatible_job_exports_a_checked_model(tmp_path):
    client = MLClient(workspace=tmp_path / "ws")
    frame = breast_cancer_frame()
    job = automl.classification(training_data=frame, target_column_name="diagnosis",
                                validation_data_size=0.3)
    job.set_limits(max_trials=3)
    job.set_training(enable_onnx_compatible_models=True, enable_model_explainability=False)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed"
    record = client.jobs.record(name)
    assert record["onnx_parity"]["max_abs_diff"] <= 1e-4
    from cirrusml.onnx import predict_onnx

    labels, proba = predict_onnx(record["onnx_model"], frame.drop(columns=["diagnosis"]).head(5))
    assert proba.shape == (5, 2)
    kinds = {t.algorithm for t in client.jobs.list_trials(name)}
    assert "StackEnsemble" not in kinds  # Azure disables it for ONNX-compatible models
    frame_test = pd.DataFrame(frame.drop(columns=["diagnosis"]).head(5))
    model = mlflow.sklearn.load_model(
        str(tmp_path / "ws" / "jobs" / name / "outputs" / "best_model"))
    assert np.allclose(model.predict_proba(frame_test), proba, atol=1e-4)
