"""Pipeline jobs end to end from their two sources: Azure's bank-marketing pipeline file run
unchanged through ``cirrus job create`` (with our example's scripts), the seed's DSL snippet
with only its imports changed, and a pipeline whose AutoML node forecasts."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest

from cirrusml import MLClient
from tests.test_cli import cirrus
from tests.test_forecast import panel

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _prepare_example(dest: Path) -> Path:
    spec = importlib.util.spec_from_file_location(
        "bank_prepare", REPO / "examples" / "bankmarketing-pipeline" / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.prepare(dest))


@pytest.fixture(scope="module")
def bank(tmp_path_factory, examples_dir):
    """The prepared example folder and a workspace in which its pipeline.yml ran once from the
    command line."""
    root = tmp_path_factory.mktemp("bank-pipeline")
    folder = _prepare_example(root / "pipeline")
    workspace = root / "ws"
    result = cirrus("job", "create", "--file", str(folder / "pipeline.yml"), "--stream",
                    "--name", "bank-run", workspace=workspace)
    return folder, workspace, result


def test_the_bank_marketing_pipeline_runs_unchanged_and_registers_a_loadable_model(bank):
    folder, workspace, result = bank
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    client = MLClient(workspace=workspace)
    job = client.jobs.get("bank-run")
    assert job.status == "Completed"
    assert list(job.jobs) == ["preprocessing_node", "classification_node",
                              "register_model_node"]
    assert all(node.status == "Completed" for node in job.jobs.values())
    model = client.models.get("bankmarketing_example_model", label="latest")
    assert model.version == "1" and model.type == "mlflow_model"
    validation = pd.read_csv(folder / "validation-mltable-folder"
                             / "bank_marketing_validation_data.csv")
    predictions = mlflow.pyfunc.load_model(model.path).predict(
        validation.drop(columns=["y"]).head(5))
    assert set(map(str, predictions)) <= {"yes", "no"}
    automl = client.jobs.job_record(job.jobs["classification_node"].job_name)
    assert automl.parent_job_name == "bank-run" and automl.trials == 1


def test_a_second_run_reuses_the_preprocessing_and_force_rerun_runs_it(bank):
    folder, workspace, _ = bank
    client = MLClient(workspace=workspace)
    again = cirrus("job", "create", "--file", str(folder / "pipeline.yml"), "--stream",
                   "--name", "bank-again", "--set",
                   "jobs.classification_node.limits.max_trials=1", workspace=workspace)
    assert again.returncode == 0, again.stdout + again.stderr
    job = client.jobs.get("bank-again")
    assert job.jobs["preprocessing_node"].reused_from == \
        client.jobs.get("bank-run").jobs["preprocessing_node"].job_name
    assert client.models.get("bankmarketing_example_model", label="latest").version == "2"


def test_the_seed_snippet_runs_with_only_its_imports_changed(bank, monkeypatch, tmp_path):
    folder, _, _ = bank
    monkeypatch.chdir(folder)  # the snippet's data paths are relative to where it runs
    ml_client = MLClient(workspace=tmp_path / "ws")
    compute_name, experiment_name = "cpu-cluster", "seed-pipeline"
    # --- the seed's snippet; only the imports changed (azure.ai.ml -> cirrusml) ---
    from cirrusml import Input, Output, command, dsl
    from cirrusml.automl import classification

    @dsl.pipeline(description="AutoML Classification Pipeline")
    def automl_classification(classification_train_data, classification_validation_data):
        classification_node = classification(
            training_data=classification_train_data,
            validation_data=classification_validation_data,
            target_column_name="y",
            primary_metric="accuracy",
            outputs={"best_model": Output(type="mlflow_model")},
        )
        classification_node.set_limits(max_trials=1)
        classification_node.set_training(enable_stack_ensemble=False,
                                         enable_vote_ensemble=False)
        command_func = command(
            inputs=dict(automl_output=Input(type="mlflow_model")),
            command="ls ${{inputs.automl_output}}",
            environment="AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:latest",
        )
        show_output = command_func(automl_output=classification_node.outputs.best_model)  # noqa: F841

    pipeline_job = automl_classification(
        classification_train_data=Input(path="./training-mltable-folder/", type="mltable"),
        classification_validation_data=Input(path="./validation-mltable-folder/",
                                             type="mltable"),
    )
    pipeline_job.settings.default_compute = compute_name
    returned_pipeline_job = ml_client.jobs.create_or_update(
        pipeline_job, experiment_name=experiment_name)
    # --- end of the snippet ---
    ml_client.jobs.stream(returned_pipeline_job.name, printer=lambda line: None)
    job = ml_client.jobs.get(returned_pipeline_job.name)
    assert job.status == "Completed" and job.experiment_name == experiment_name
    listing = ml_client.jobs.layout(job.jobs["show_output"].job_name).log.read_text()
    assert "MLmodel" in listing  # `ls` of the best model folder the AutoML node passed on


def test_a_pipeline_with_a_forecasting_automl_node(tmp_path):
    panel(n=60).to_csv(tmp_path / "sales.csv", index=False)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "clip.py").write_text(textwrap.dedent("""
        import sys, pathlib
        import pandas as pd
        source, out = sys.argv[1], pathlib.Path(sys.argv[2])
        frame = pd.read_csv(source)
        frame["sales"] = frame["sales"].clip(lower=0)
        frame.to_csv(out / "sales.csv", index=False)
        (out / "MLTable").write_text("paths:\\n  - file: ./sales.csv\\ntransformations:\\n"
                                     "  - read_delimited:\\n      delimiter: ','\\n")
    """), encoding="utf-8")
    (tmp_path / "pipeline.yml").write_text(textwrap.dedent("""
        type: pipeline
        inputs:
          raw: {type: uri_file, path: ./sales.csv}
        outputs:
          model: {type: mlflow_model}
        jobs:
          clip:
            type: command
            code: ./src
            command: python clip.py ${{inputs.raw}} ${{outputs.clean}}
            inputs:
              raw: ${{parent.inputs.raw}}
            outputs: {clean: {type: mltable}}
          forecast:
            type: automl
            task: forecasting
            primary_metric: normalized_root_mean_squared_error
            target_column_name: sales
            n_cross_validations: 2
            training_data: ${{parent.jobs.clip.outputs.clean}}
            forecasting:
              time_column_name: day
              time_series_id_column_names: [store]
              forecast_horizon: 7
            training:
              allowed_training_algorithms: [Naive, SeasonalNaive]
              enable_vote_ensemble: false
              enable_stack_ensemble: false
            limits: {max_trials: 2}
            outputs:
              best_model: ${{parent.outputs.model}}
    """), encoding="utf-8")
    workspace = tmp_path / "ws"
    result = cirrus("job", "create", "--file", str(tmp_path / "pipeline.yml"), "--stream",
                    "--name", "fc", workspace=workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    client = MLClient(workspace=workspace)
    job = client.jobs.get("fc")
    assert job.status == "Completed"
    forecast = client.jobs.job_record(job.jobs["forecast"].job_name)
    assert forecast.task == "forecasting" and forecast.trials == 2
    model_folder = Path(job.outputs["model"].path)
    assert (model_folder / "MLmodel").is_file()
    full = panel(n=67)  # the same series, 7 days further: the horizon after the history
    future = full[full.day > full.day.max() - pd.Timedelta(days=7)].drop(columns=["sales"])
    values = mlflow.pyfunc.load_model(str(model_folder)).predict(future)
    assert len(values) == len(future) == 14
