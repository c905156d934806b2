"""Generated code: the training script of a trial rebuilds the trial's model and its score.

Two real jobs run once per module (a classification job on an MLTable folder, cross-validated;
a regression job on a CSV file with a holdout, a weight column, a test split and rows without a
target). Scripts are generated for their trials, run in a fresh interpreter, and must print the
score the job recorded and save a model MLflow can load.
"""

from __future__ import annotations

import ast
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.client._codegen import generate_code, read_trials
from cirrusml.codegen import generate_training_script, py_literal
from cirrusml.exceptions import CirrusMLError
from cirrusml.spec import load_job
from tests.conftest import breast_cancer_frame, write_mltable

pytestmark = pytest.mark.slow

#: Scripts print the primary metric as ``<name> = <repr of the float>``.
_METRIC_LINE = re.compile(r"^(?P<name>\w+) = (?P<value>\S+)$", re.MULTILINE)
#: How close the printed metric must be to the recorded one. Every learner tried here rebuilds
#: bit for bit (same data, folds, seed and thread count), so the match is exact in practice.
TOLERANCE = 1e-6


def _cancer_job(root: Path):
    frame = breast_cancer_frame()
    frame.loc[[3, 50], "diagnosis"] = None  # dropped by the job and by the script
    data = write_mltable(frame, root / "cancer")
    return automl.classification(training_data=Input(type="mltable", path=str(data)),
                                 target_column_name="diagnosis", primary_metric="AUC_weighted")


def _diabetes_job(root: Path):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame["weight"] = 1.0 + (np.arange(len(frame)) % 3)
    frame.loc[[7, 8, 200], "target"] = np.nan
    path = root / "diabetes.csv"
    frame.to_csv(path, index=False)
    return automl.regression(training_data=Input(type="uri_file", path=str(path)),
                             target_column_name="target", weight_column_name="weight",
                             primary_metric="normalized_root_mean_squared_error",
                             validation_data_size=0.2, test_data_size=0.1)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict[str, Path]:
    """Both jobs, run at the same time (one workspace each), as {"cancer": folder, ...}."""
    root = tmp_path_factory.mktemp("codegen")
    specs = {"cancer": _cancer_job(root), "diabetes": _diabetes_job(root)}
    clients = {key: MLClient(workspace=root / f"ws-{key}") for key in specs}
    for job in specs.values():
        # One thread per trial: OpenMP learners crawl when threads fight over a busy machine.
        job.set_limits(max_trials=3, timeout_minutes=5, max_concurrent_trials=2,
                       max_cores_per_trial=1)
    names = {key: clients[key].jobs.create_or_update(job).name for key, job in specs.items()}
    folders = {}
    for key, name in names.items():
        client = clients[key]
        status = client.jobs.wait(name, timeout=240)
        if status != "Completed":  # the engine may be mid-change elsewhere: one more try
            name = client.jobs.create_or_update(specs[key]).name
            status = client.jobs.wait(name, timeout=240)
        assert status == "Completed", client.jobs.record(name).get("error")
        folders[key] = root / f"ws-{key}" / "jobs" / name
    return folders


@pytest.fixture(scope="module")
def cancer_job(jobs) -> Path:
    return jobs["cancer"]


@pytest.fixture(scope="module")
def diabetes_job(jobs) -> Path:
    return jobs["diabetes"]


class ScriptRun:
    """A generated script that ran: its output, printed metric and saved model."""

    def __init__(self, folder: Path, trial: int, stdout: str, model_dir: Path) -> None:
        self.folder, self.trial, self.stdout, self.model_dir = folder, trial, stdout, model_dir
        metric = _recorded(folder, trial)["metric"]
        values = {m["name"]: m["value"] for m in _METRIC_LINE.finditer(stdout)}
        assert metric in values, stdout
        self.value = float(values[metric])


def _start_script(folder: Path, trial: int, where: Path, source: str | None = None):
    where.mkdir(parents=True, exist_ok=True)
    script = where / "script.py"
    script.write_text(source or generate_code(folder, trial), encoding="utf-8")
    output = where / "model"
    proc = subprocess.Popen([sys.executable, str(script), "--output", str(output)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=where)
    return folder, trial, proc, output


@pytest.fixture(scope="module")
def runs(jobs, tmp_path_factory) -> dict[str, ScriptRun]:
    """The scripts under test, run side by side in fresh interpreters."""
    root = tmp_path_factory.mktemp("scripts")
    cancer, diabetes = jobs["cancer"], jobs["diabetes"]
    best_cancer = _index(cancer, None)
    others = [i for i, t in read_trials(cancer).items() if t["status"] == "Completed"
              and i != best_cancer and t["learner"] not in ("VotingEnsemble", "StackEnsemble")]
    # A VotingEnsemble whose second member has weight 0 predicts exactly what the first one
    # does: its script must print the first member's recorded score, to the last bit.
    singles = [i for i, t in read_trials(diabetes).items() if t["status"] == "Completed"
               and t["learner"] not in ("VotingEnsemble", "StackEnsemble")]
    vote = {"index": 99, "learner": "VotingEnsemble", "members": singles[:2],
            "weights": [1.0, 0.0], "status": "Completed", "seed": 0,
            "score": _recorded(diabetes, singles[0])["score"],
            "metric": _recorded(diabetes, singles[0])["metric"]}
    vote_source = generate_training_script(
        load_job(diabetes / "job.yml"), vote, job_name=diabetes.name,
        members=[_recorded(diabetes, i) for i in singles[:2]])
    started = {
        "cancer_best": _start_script(cancer, best_cancer, root / "cancer-best"),
        "cancer_other": _start_script(cancer, others[0], root / "cancer-other"),
        "diabetes_best": _start_script(diabetes, _index(diabetes, None), root / "diabetes"),
        "diabetes_vote": _start_script(diabetes, singles[0], root / "vote", vote_source),
    }
    done = {}
    for key, (folder, trial, proc, output) in started.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{key}: {stderr[-3000:]}"
        done[key] = ScriptRun(folder, trial, stdout, output)
    return done


def _index(folder: Path, trial: int | None) -> int:
    if trial is not None:
        return trial
    return int(json.loads((folder / "record.json").read_text())["best_iteration"])


def _recorded(folder: Path, trial: int) -> dict:
    return json.loads((folder / "trials" / f"{trial}.json").read_text())


# ------------------------------------------------------------------------------ real jobs


def test_best_trial_script_reproduces_classification(cancer_job, runs):
    run = runs["cancer_best"]
    recorded = _recorded(cancer_job, run.trial)["score"]
    assert abs(run.value - recorded) <= TOLERANCE, (run.value, recorded)
    assert "Dropping 2 row(s) of training_data" in run.stdout
    assert "10-fold cross-validation" in run.stdout
    model = mlflow.sklearn.load_model(str(run.model_dir))
    frame = breast_cancer_frame()
    features = frame.drop(columns=["diagnosis"])
    assert sorted(model.classes_) == ["benign", "malignant"]
    assert (model.predict(features) == frame["diagnosis"]).mean() > 0.9
    # The job's best model, refit on every row, is rebuilt too: same probabilities.
    job_model = mlflow.sklearn.load_model(str(cancer_job / "outputs" / "best_model"))
    np.testing.assert_allclose(model.predict_proba(features), job_model.predict_proba(features),
                               rtol=0, atol=1e-12)


def test_other_trial_reproduces(cancer_job, runs):
    """A single trial that is not the best rebuilds exactly too."""
    run = runs["cancer_other"]
    assert abs(run.value - _recorded(cancer_job, run.trial)["score"]) <= TOLERANCE


def test_holdout_regression_with_weights_and_test_split(diabetes_job, runs):
    run = runs["diabetes_best"]
    out = run.stdout
    recorded = _recorded(diabetes_job, run.trial)["score"]
    assert abs(run.value - recorded) <= TOLERANCE, (run.value, recorded)
    assert "Dropping 3 row(s) of training_data" in out
    assert "validation_data_size=0.2" in out and "folds: 1." in out
    # The test rows are scored with the final model, as the job does.
    test_line = re.search(r"Test normalized_root_mean_squared_error \(\d+ rows\): (\S+)", out)
    assert test_line is not None
    job_test = json.loads((diabetes_job / "record.json").read_text())["test_metrics"]
    assert abs(float(test_line.group(1)) - job_test["normalized_root_mean_squared_error"]) \
        <= TOLERANCE
    model = mlflow.sklearn.load_model(str(run.model_dir))
    from sklearn.datasets import load_diabetes

    X = load_diabetes(as_frame=True).frame.drop(columns=["target"]).head(20)
    job_model = mlflow.sklearn.load_model(str(diabetes_job / "outputs" / "best_model"))
    np.testing.assert_allclose(model.predict(X), job_model.predict(X), rtol=0, atol=1e-9)


def test_voting_ensemble_script(diabetes_job, runs):
    run = runs["diabetes_vote"]
    first = _recorded(diabetes_job, run.trial)
    assert run.value == first["score"]
    model = mlflow.sklearn.load_model(str(run.model_dir))
    assert type(model).__name__ == "VotingRegressorEnsemble"
    assert len(model.names) == 2 and model.names[0].startswith(f"{run.trial}:")
    assert "Test normalized_root_mean_squared_error" in run.stdout


def test_voting_ensemble_built_by_the_job(cancer_job, diabetes_job, tmp_path):
    """When a job builds a VotingEnsemble, its script reproduces the ensemble's score."""
    found = [(folder, i) for folder in (cancer_job, diabetes_job)
             for i, t in read_trials(folder).items() if t["learner"] == "VotingEnsemble"]
    if not found:
        pytest.skip("ensemble selection kept a single trial in both jobs")
    folder, index = found[0]
    _folder, _trial, proc, output = _start_script(folder, index, tmp_path)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    run = ScriptRun(folder, index, stdout, output)
    assert abs(run.value - _recorded(folder, index)["score"]) <= TOLERANCE


@pytest.mark.parametrize("job_key", ["cancer", "diabetes"])
def test_stack_ensemble_script(jobs, job_key, tmp_path):
    """A StackEnsemble's script rebuilds members and meta-learner and reproduces its score:
    cross-validated (cancer) and train/validation with weights and a test split (diabetes)."""
    folder = jobs[job_key]
    stacks = [i for i, t in read_trials(folder).items() if t["learner"] == "StackEnsemble"]
    assert stacks, "every job with two completed trials records a StackEnsemble"
    _folder, _trial, proc, output = _start_script(folder, stacks[0], tmp_path)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    run = ScriptRun(folder, stacks[0], stdout, output)
    assert abs(run.value - _recorded(folder, stacks[0])["score"]) <= TOLERANCE
    model = mlflow.sklearn.load_model(str(run.model_dir))
    assert type(model).__name__.startswith("Stack") and model.meta_learner is not None
    assert len(model.estimators) == len(_recorded(folder, stacks[0])["members"]) >= 2


def test_script_shape(cancer_job):
    script = generate_code(cancer_job, 0)
    ast.parse(script)
    learner = _recorded(cancer_job, 0)["learner"]
    assert script.startswith("# Generated by cirrusml")
    assert f'"""Rebuild trial 0 ({learner}).' in script
    assert "from __future__ import annotations" in script
    assert "cirrusml.engine" not in script and "trials/" not in script
    assert f'LEARNER = "{learner}"' in script
    assert "get_learner" in script and "plan_splits(" in script and "mlflow.sklearn" in script
    params = _recorded(cancer_job, 0)["params"]
    namespace: dict = {}
    exec(compile(script.split("# The job gave each trial")[0], "script", "exec"), namespace)
    assert namespace["PARAMS"] == params  # literal hyperparameters, exact
    assert namespace["RECORDED_SCORE"] == _recorded(cancer_job, 0)["score"]
    assert generate_code(cancer_job, 0) == script  # deterministic


# ------------------------------------------------------- data preparation, every branch


def _load_script(source: str, path: Path):
    """The generated script as a module (its ``main`` does not run on import)."""
    import importlib.util

    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"generated_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def _frames(tmp_path: Path) -> dict:
    rng = np.random.default_rng(3)
    n = 160
    frame = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.choice(["red", "green", "blue"], size=n),
        "x3": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "w": rng.integers(1, 4, size=n).astype(float),
        "cv_a": (np.arange(n) % 4 != 0).astype(int),
        "cv_b": (np.arange(n) % 4 != 1).astype(int),
    })
    frame["label"] = np.where(frame["x1"] + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    frame["value"] = 3 * frame["x1"] + rng.normal(size=n)
    frame.loc[[5, 17], "label"] = "  "  # blank text: a missing target
    frame.loc[[9], "value"] = np.nan
    return {"train": frame.iloc[:120].reset_index(drop=True),
            "other": frame.iloc[120:].reset_index(drop=True)}


def _write(frame: pd.DataFrame, path: Path) -> Input:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    return Input(type="uri_file", path=str(path))


def _jobs_for_every_branch(tmp_path: Path) -> list:
    frames = _frames(tmp_path)
    train, other = frames["train"], frames["other"]
    no_value = ["value"]
    return [
        # CSV training data, weights, custom CV columns, test data from a Parquet file.
        automl.classification(
            training_data=_write(train.drop(columns=no_value), tmp_path / "a.csv"),
            test_data=_write(other.drop(columns=no_value), tmp_path / "a-test.parquet"),
            target_column_name="label", weight_column_name="w",
            cv_split_column_names=["cv_a", "cv_b"], primary_metric="accuracy"),
        # Parquet training data, TSV validation data, weights (regression).
        automl.regression(
            training_data=_write(train.drop(columns=["label", "cv_a", "cv_b"]),
                                 tmp_path / "b.parquet"),
            validation_data=_write(other.drop(columns=["label", "cv_a", "cv_b"]),
                                   tmp_path / "b-valid.tsv"),
            target_column_name="value", weight_column_name="w",
            primary_metric="r2_score"),
        # MLTable folders, a test split by size, n_cross_validations, featurization settings.
        automl.classification(
            training_data=Input(type="mltable", path=str(write_mltable(
                train.drop(columns=["value", "cv_a", "cv_b"]), tmp_path / "c"))),
            target_column_name="label", test_data_size=0.25, n_cross_validations=4,
            primary_metric="AUC_weighted", seed=11),
    ]


def test_data_preparation_matches_the_engine(tmp_path):
    from cirrusml.engine._data import prepare_data
    from cirrusml.featurize import profile_columns
    from cirrusml.tasks import task_for

    jobs = _jobs_for_every_branch(tmp_path)
    jobs[2].set_featurization(column_name_and_types={"x1": "Numeric", "x2": "Categorical"},
                              transformer_params={"imputer": [
                                  {"fields": ["x3"], "parameters": {"strategy": "median"}}]})
    for number, job in enumerate(jobs):
        seed = job.seed or 0
        trial = {"index": 0, "learner": "LightGBM", "params": {"num_leaves": 7},
                 "status": "Completed", "score": 0.5, "seed": seed}
        folder = tmp_path / f"script{number}"
        folder.mkdir()
        module = _load_script(generate_training_script(job, trial, job_name=f"job{number}"),
                              folder / "script.py")
        ours = module.prepare_data()
        engine = prepare_data(job, task_for(job.task_type), seed)
        pd.testing.assert_frame_equal(ours.X, engine.X)
        pd.testing.assert_series_equal(ours.y, engine.y)
        np.testing.assert_array_equal(ours.weights, engine.weights)
        assert ours.n_train_rows == engine.n_train_rows
        assert ours.classes == engine.classes and ours.is_cv == engine.plan.is_cv
        assert len(ours.folds) == len(engine.plan.folds) > 0
        for (t1, v1), (t2, v2) in zip(ours.folds, engine.plan.folds):
            np.testing.assert_array_equal(t1, t2)
            np.testing.assert_array_equal(v1, v2)
        if engine.X_test is None:
            assert ours.X_test is None
        else:
            pd.testing.assert_frame_equal(ours.X_test, engine.X_test)
            pd.testing.assert_series_equal(ours.y_test, engine.y_test)
            np.testing.assert_array_equal(ours.w_test, engine.w_test)
        train = ours.X.iloc[: ours.n_train_rows]
        assert (profile_columns(train, module.FEATURIZATION).purposes()
                == profile_columns(train, job.featurization).purposes())
        assert module.FEATURIZATION == job.featurization


# --------------------------------------------------------------------------------- errors


def _copy(folder: Path, tmp_path: Path) -> Path:
    dest = tmp_path / folder.name
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("work", "outputs", "*.lock"))
    return dest


def test_missing_trial_names_job_and_lists_trials(cancer_job):
    with pytest.raises(CirrusMLError, match=r"has no trial 99; its trials are 0 \(\w+, Completed\)"):
        generate_code(cancer_job, 99)


def test_failed_trial_and_unknown_members_are_refused(cancer_job, tmp_path):
    folder = _copy(cancer_job, tmp_path)
    trials = folder / "trials"
    failed = {**_recorded(cancer_job, 0), "index": 7, "status": "Failed", "score": None,
              "error": "out of memory"}
    (trials / "7.json").write_text(json.dumps(failed))
    with pytest.raises(CirrusMLError, match=r"trial 7 of job .* did not complete "
                                            r"\(Failed: out of memory\).*completed trials: 0"):
        generate_code(folder, 7)
    stack = {"index": 8, "learner": "StackEnsemble", "members": [0, 99], "weights": [0.5, 0.5],
             "status": "Completed", "score": 0.99, "seed": 0, "metric": "AUC_weighted"}
    (trials / "8.json").write_text(json.dumps(stack))
    with pytest.raises(CirrusMLError, match=r"trial\(s\) 99, members of the StackEnsemble "
                                            r"\(trial 8\)"):
        generate_code(folder, 8)
    record = json.loads((folder / "record.json").read_text())
    record.pop("best_iteration")
    (folder / "record.json").write_text(json.dumps(record))
    with pytest.raises(CirrusMLError, match="has no best trial yet"):
        generate_code(folder)
    with pytest.raises(CirrusMLError, match="has no job.yml"):
        generate_code(tmp_path / "nowhere", 0)


def test_voting_ensemble_script_from_members(cancer_job, tmp_path):
    """A VotingEnsemble record (members and weights) makes a script whose model is a vote."""
    folder = _copy(cancer_job, tmp_path / "copy")
    trials = read_trials(folder)
    members = [i for i, t in trials.items() if t["status"] == "Completed"
               and t["learner"] not in ("VotingEnsemble", "StackEnsemble")][:2]
    record = {"index": 9, "learner": "VotingEnsemble", "members": members,
              "weights": [0.6, 0.4], "status": "Completed", "score": 0.5, "seed": 0,
              "task": "Classification", "metric": "AUC_weighted"}
    (folder / "trials" / "9.json").write_text(json.dumps(record))
    script = generate_code(folder, 9)
    assert "VotingClassifierEnsemble" in script and '"weight": 0.6' in script
    with pytest.raises(CirrusMLError, match="were not given"):
        generate_training_script(load_job(folder / "job.yml"), record, job_name="x", members=[])


def test_in_memory_and_forecasting_jobs_are_refused():
    trial = {"index": 0, "learner": "LightGBM", "params": {}, "status": "Completed",
             "score": 0.9, "seed": 0}
    job = automl.classification(training_data=pd.DataFrame({"a": [1, 2], "y": [0, 1]}),
                                target_column_name="y", primary_metric="accuracy")
    with pytest.raises(CirrusMLError, match="in-memory DataFrame"):
        generate_training_script(job, trial, job_name="j")


def test_py_literal_round_trips():
    values = [0.1, 1 / 3, 1e-300, 5e-324, -0.0, 2**60, True, None, "a\"b\\c\n", "é",
              {"nested": [1, 2.5, {"k": (1,)}]}, list(range(40))]
    for value in values:
        source = py_literal(value, prefix=10)
        assert ast.literal_eval(source) == value and repr(ast.literal_eval(source)) == repr(value)
    assert py_literal(float("nan")) == 'float("nan")'
    assert eval(py_literal(float("-inf"))) == -math.inf  # noqa: S307 - our own literal
    long = {f"key_{i}": i * 0.1 for i in range(20)}
    text = py_literal(long, prefix=10)
    assert text.startswith("{\n    \"key_0\": 0.0,") and ast.literal_eval(text) == long
