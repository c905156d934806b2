"""The `cirrus` command end to end, as a user runs it: real processes, a temporary workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from cirrusml import mltable

CIRRUS = str(Path(sys.executable).with_name("cirrus"))
HELLO = "hello-automl/hello-automl-job-basic.yml"


def cirrus(*args: str, workspace: Path | None = None, env: dict[str, str] | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command = [CIRRUS, *args]
    if workspace is not None:
        command += ["--workspace", str(workspace)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def _assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr, result.stderr


def _job_names(workspace: Path) -> list[str]:
    jobs = workspace / "jobs"
    return sorted(p.name for p in jobs.iterdir()) if jobs.is_dir() else []


@pytest.mark.slow
def test_hello_automl_runs_unchanged_and_its_model_predicts(examples_dir, workspace, tmp_path):
    result = cirrus("job", "create", "--file", str(examples_dir / HELLO),
                    "--set", "limits.timeout_minutes=1", "--set", "limits.max_trials=1",
                    "--stream", workspace=workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    (name,) = _job_names(workspace)
    assert "Completed" in result.stdout and "Trial 0" in result.stdout
    assert "best_model" in result.stdout

    shown = cirrus("job", "show", "-n", name, workspace=workspace)
    first = json.loads((workspace / "jobs" / name / "trials" / "0.json").read_text())
    assert shown.returncode == 0 and first["learner"] in shown.stdout
    assert "Completed" in shown.stdout and "Data guardrails" in shown.stdout
    listed = cirrus("job", "list", workspace=workspace)
    assert listed.returncode == 0 and name[:10] in listed.stdout

    download = tmp_path / "dl"
    got = cirrus("job", "download", "-n", name, "--output-name", "best_model",
                 "--download-path", str(download), workspace=workspace)
    assert got.returncode == 0, got.stderr
    model = mlflow.sklearn.load_model(str(download / "named-outputs" / "best_model"))
    test = mltable.load(str(examples_dir / "hello-automl" / "test-mltable-folder")
                        ).to_pandas_dataframe()
    accuracy = (model.predict(test.drop(columns=["y"])) == test["y"]).mean()
    assert accuracy > 0.85  # the majority class alone gives about 0.89 here; LightGBM beats it
    assert (model.predict(test.drop(columns=["y"])) == "yes").any()


@pytest.mark.slow
def test_stream_exits_nonzero_when_the_job_fails(tmp_path, workspace):
    folder = tmp_path / "one-class"
    folder.mkdir()
    (folder / "d.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},x\n" for i in range(50)))
    job = tmp_path / "job.yml"
    job.write_text(f"type: automl\ntask: classification\ntarget_column_name: y\n"
                   f"training_data: {{type: uri_file, path: {folder / 'd.csv'}}}\n")
    result = cirrus("job", "create", "--file", str(job), "--stream", workspace=workspace)
    _assert_clean_error(result, "single class")
    assert "Failed" in result.stdout


@pytest.mark.slow
def test_cancel_from_the_command_line(examples_dir, workspace):
    env = {"CIRRUS_DEBUG_TRIAL_SECONDS": "120"}
    created = cirrus("job", "create", "--file", str(examples_dir / HELLO), "--name", "to-cancel",
                     workspace=workspace, env=env)
    assert created.returncode == 0, created.stderr
    assert "cirrus job stream -n to-cancel" in created.stdout
    canceled = cirrus("job", "cancel", "-n", "to-cancel", workspace=workspace)
    assert canceled.returncode == 0 and "Canceled" in canceled.stdout
    streamed = cirrus("job", "stream", "-n", "to-cancel", workspace=workspace)
    assert streamed.returncode == 1


def test_unregistered_compute_runs_locally_with_one_notice(examples_dir, workspace):
    path = examples_dir / "cli-automl-regression-task-hardware-perf" / \
        "cli-automl-regression-task-hardware-perf.yml"
    result = cirrus("job", "create", "--file", str(path), "--name", "hw",
                    "--set", "limits.max_trials=1", workspace=workspace)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("compute 'cpu-cluster' is not registered") == 1
    cirrus("job", "cancel", "-n", "hw", workspace=workspace)


@pytest.mark.parametrize(("args", "needles"), [
    (["--set", "limits.timeout_minutes=0"], ["limits.timeout_minutes", "positive"]),
    (["--set", "limit.max_trials=2"], ["unknown key 'limit'", "Did you mean 'limits'"]),
    (["--set", "primary_metric=r2_score"], ["not a primary metric for classification"]),
    (["--set", "target_column_name=label"], ["column 'label' is not in training_data",
                                             "age"]),
    (["--set", "limits"], ["--set takes key=value"]),
    (["--set", "training.allowed_training_algorithms=[knn2]"], ["'knn2'", "Did you mean"]),
])
def test_bad_input_gives_one_clear_error(examples_dir, workspace, args, needles):
    result = cirrus("job", "create", "--file", str(examples_dir / HELLO), *args,
                    workspace=workspace)
    _assert_clean_error(result, *needles)
    assert _job_names(workspace) == []  # nothing was recorded


def test_files_that_cannot_run(examples_dir, tmp_path, workspace):
    serverless = examples_dir / "cli-automl-classification-task-bankmarketing" / \
        "cli-automl-classification-task-bankmarketing-serverless.yml"
    _assert_clean_error(cirrus("job", "create", "--file", str(serverless), workspace=workspace),
                        "resources: must be a mapping")
    broken = tmp_path / "broken.yml"
    broken.write_text("type: automl\ntask: classification\n  bad indent: [\n")
    _assert_clean_error(cirrus("job", "create", "--file", str(broken), workspace=workspace),
                        "broken.yml", "not valid YAML")
    _assert_clean_error(cirrus("job", "create", "--file", str(tmp_path / "none.yml"),
                               workspace=workspace), "does not exist")
    _assert_clean_error(cirrus("job", "show", "-n", "ghost", workspace=workspace),
                        "no job named 'ghost'")
    assert _job_names(workspace) == []


def test_empty_data_file_and_unknown_mltable_step(tmp_path, workspace):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "d.csv").write_text("")
    (empty / "MLTable").write_text("paths:\n  - file: ./d.csv\ntransformations:\n"
                                   "  - read_delimited: {delimiter: ','}\n")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "d.csv").write_text("a,y\n1,2\n")
    (odd / "MLTable").write_text("paths:\n  - file: ./d.csv\ntransformations:\n"
                                 "  - read_delimited: {delimiter: ','}\n  - shuffle_rows: {}\n")
    for folder, needle in ((empty, "d.csv"), (odd, "unknown transformation 'shuffle_rows'")):
        job = tmp_path / f"{folder.name}.yml"
        job.write_text(f"type: automl\ntask: regression\ntarget_column_name: y\n"
                       f"training_data: {{type: mltable, path: ./{folder.name}}}\n")
        _assert_clean_error(cirrus("job", "create", "--file", str(job), workspace=workspace),
                            needle)
    assert _job_names(workspace) == []


@pytest.mark.parametrize("command", [[], ["job"], ["job", "create"], ["job", "show"],
                                     ["job", "list"], ["job", "stream"], ["job", "cancel"],
                                     ["job", "download"]])
def test_help_everywhere(command):
    result = cirrus(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_version_and_usage_errors():
    assert cirrus("--version").stdout.startswith("cirrusml ")
    missing = cirrus("job", "create")
    assert missing.returncode == 2 and "--file" in missing.stderr
    assert "Traceback" not in missing.stderr
