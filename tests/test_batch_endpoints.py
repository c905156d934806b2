"""Batch endpoints, deployments and batch jobs end to end: a model from a tiny real job,
registered, deployed from Azure's YAML files and invoked; each job runs in its own process."""

from __future__ import annotations

import math
import textwrap

import mlflow
import numpy as np
import pandas as pd
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.entities import BatchDeployment, BatchEndpoint, Model
from cirrusml.exceptions import (
    BatchEndpointNotFoundError,
    CirrusMLError,
    InvalidSpecError,
    JobFailedError,
    ModelNotFoundError,
)
from cirrusml.spec import load_batch_deployment, load_batch_endpoint
from tests.conftest import breast_cancer_frame, wait_for
from tests.test_cli import cirrus

pytestmark = pytest.mark.slow

TARGET = "diagnosis"
ENDPOINT = "cancer-batch"

ENDPOINT_YAML = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: {ENDPOINT}
description: Scores breast cancer rows in batch.
auth_mode: aad_token
tags:
  team: risk
"""

# Azure's newer layout of a model deployment: a settings block, resources, compute.
DEPLOYMENT_YAML = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: classifier-mlflow
endpoint_name: {ENDPOINT}
type: model
description: The AutoML classifier, no-code.
model: azureml:cancer:1
compute: azureml:batch-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 150
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  logging_level: info
"""

# Azure's older flat layout, with a relative model folder.
DEPLOYMENT_FLAT_YAML = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
name: from-folder
endpoint_name: {ENDPOINT}
model:
  path: ./model
mini_batch_size: 64
output_file_name: scored.parquet
retry_settings:
  max_retries: 1
  timeout: 60
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A workspace with one tiny classification job, its model registered as cancer:1, and a
    batch endpoint with one deployment made from YAML files."""
    root = tmp_path_factory.mktemp("batch-endpoints")
    workspace = root / "ws"
    client = MLClient(workspace=workspace)
    breast_cancer_frame().to_csv(root / "cancer.csv", index=False)
    job = automl.classification(training_data=Input(type="uri_file", path=str(root / "cancer.csv")),
                                target_column_name=TARGET, primary_metric="AUC_weighted")
    job.set_limits(max_trials=1, timeout_minutes=5)
    job.set_training(enable_vote_ensemble=False, enable_stack_ensemble=False)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    registered = client.models.create_or_update(Model(
        path=f"azureml://jobs/{name}/outputs/best_model", name="cancer", type="mlflow_model"))
    assert registered.id == "azureml:cancer:1"

    (root / "endpoint.yml").write_text(ENDPOINT_YAML, encoding="utf-8")
    (root / "deployment.yml").write_text(DEPLOYMENT_YAML, encoding="utf-8")
    client.batch_endpoints.begin_create_or_update(
        load_batch_endpoint(root / "endpoint.yml")).result()
    client.batch_deployments.begin_create_or_update(
        load_batch_deployment(root / "deployment.yml")).result()
    model = mlflow.sklearn.load_model(str(client.jobs.layout(name).best_model))
    rows = breast_cancer_frame().drop(columns=[TARGET]).sample(frac=1.0, random_state=5)
    rows = rows.reset_index(drop=True)
    return {"root": root, "workspace": workspace, "client": client, "automl_job": name,
            "model": model, "rows": rows, "expected": np.asarray(model.predict(rows))}


def _stream(client, name):
    lines: list[str] = []
    client.jobs.stream(name, poll_seconds=0.2, printer=lines.append)
    return "\n".join(lines)


def _progress(client, name):
    events, _ = client.jobs.read_events(name)
    return [e for e in events if e.get("event") == "batch_progress"]


def test_the_endpoint_and_deployment_from_yaml_are_kept_with_their_settings(setup):
    client = setup["client"]
    endpoint = client.batch_endpoints.get(ENDPOINT)
    assert endpoint.description == "Scores breast cancer rows in batch."
    assert endpoint.tags == {"team": "risk"}
    # The first deployment of an endpoint becomes its default.
    assert endpoint.defaults == {"deployment_name": "classifier-mlflow"}
    assert endpoint.default_deployment_name == "classifier-mlflow"
    assert [e.name for e in client.batch_endpoints.list()] == [ENDPOINT]
    deployment = client.batch_deployments.get("classifier-mlflow", endpoint_name=ENDPOINT)
    assert deployment.model == "azureml:cancer:1"
    assert deployment.mini_batch_size == 150
    assert deployment.max_concurrency_per_instance == 2
    assert deployment.retry_settings.timeout == 300
    assert deployment.azure_only()["compute"] == "azureml:batch-cluster"
    assert [d.name for d in client.batch_deployments.list(ENDPOINT)] == ["classifier-mlflow"]


def test_invoke_on_a_csv_streams_to_completed_with_one_prediction_per_row_in_order(setup,
                                                                                   tmp_path):
    client, rows = setup["client"], setup["rows"]
    rows.to_csv(tmp_path / "rows.csv", index=False)
    job = client.batch_endpoints.invoke(
        endpoint_name=ENDPOINT, input=Input(type="uri_file", path=str(tmp_path / "rows.csv")))
    assert job.name
    assert job.status in ("NotStarted", "Running", "Completed")
    assert job.deployment_name == "classifier-mlflow"  # the endpoint's default
    log = _stream(client, job.name)
    assert "Completed: scored 569 rows in 4 mini-batch(es)" in log
    got = client.jobs.get(job.name)
    assert got.status == "Completed"
    assert got.summary["rows"] == len(rows)
    client.jobs.download(job.name, output_name="score", download_path=tmp_path / "dl")
    out = pd.read_csv(tmp_path / "dl" / "named-outputs" / "score" / "predictions.csv")
    assert len(out) == len(rows)
    assert (out["prediction"].to_numpy() == setup["expected"]).all()
    pd.testing.assert_frame_equal(out[rows.columns], rows, check_exact=False, rtol=1e-12)
    progress = _progress(client, job.name)
    assert progress[-1]["rows"] == len(rows)
    assert progress[-1]["mini_batches"] == math.ceil(len(rows) / 150)
    assert [p["rows"] for p in progress] == sorted(p["rows"] for p in progress)
    assert job.name in [j.name for j in client.batch_endpoints.list_jobs(ENDPOINT)]
    assert job.name in [j.name for j in client.jobs.list()]


def test_invoke_on_an_mltable_folder_with_overrides(setup, tmp_path):
    client, rows = setup["client"], setup["rows"]
    folder = tmp_path / "table"
    (folder / "parts").mkdir(parents=True)
    rows.iloc[:300].to_csv(folder / "parts" / "a.csv", index=False)
    rows.iloc[300:].to_csv(folder / "parts" / "b.csv", index=False)
    (folder / "MLTable").write_text(textwrap.dedent("""\
        paths:
          - folder: ./parts
        transformations:
          - read_delimited: {delimiter: ',', encoding: utf8}
        """), encoding="utf-8")
    job = client.batch_endpoints.invoke(
        ENDPOINT, deployment_name="classifier-mlflow",
        inputs={"cancer_rows": Input(type="mltable", path=str(folder))},
        params_override=[{"mini_batch_size": "100"}, {"output_file_name": "scores.parquet"}])
    _stream(client, job.name)
    assert client.jobs.get(job.name).status == "Completed"
    client.jobs.download(job.name, output_name="score", download_path=tmp_path / "dl")
    out = pd.read_parquet(tmp_path / "dl" / "named-outputs" / "score" / "scores.parquet")
    assert (out["prediction"].to_numpy() == setup["expected"]).all()
    # 300 rows then 269, in mini-batches of 100 that never span two files.
    assert _progress(client, job.name)[-1]["mini_batches"] == 3 + 3


def test_a_bad_value_fails_the_job_naming_file_row_and_column(setup, tmp_path):
    client, rows = setup["client"], setup["rows"]
    bad = rows.astype({"mean_radius": object})
    bad.loc[450, "mean_radius"] = "twelve"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    job = client.batch_endpoints.invoke(ENDPOINT, input=Input(type="uri_file",
                                                              path=str(tmp_path / "bad.csv")))
    with pytest.raises(JobFailedError):
        _stream(client, job.name)
    got = client.jobs.get(job.name)
    assert got.status == "Failed"
    assert f"data row 451 of '{tmp_path / 'bad.csv'}'" in got.error
    assert "column 'mean_radius'" in got.error
    assert "'twelve' is not a number" in got.error
    with pytest.raises(CirrusMLError, match="no output named 'score'"):
        client.jobs.download(job.name, output_name="score", download_path=tmp_path / "dl")


def test_a_canceled_batch_job_stops_and_leaves_no_output(setup, tmp_path):
    client = setup["client"]
    pd.concat([setup["rows"]] * 20, ignore_index=True).to_csv(tmp_path / "many.csv",
                                                              index=False)
    job = client.batch_endpoints.invoke(ENDPOINT, input=str(tmp_path / "many.csv"),
                                        mini_batch_size=1, max_concurrency_per_instance=1)
    wait_for(lambda: _progress(client, job.name), timeout=120)  # it is scoring
    assert client.jobs.cancel(job.name) == "Canceled"
    got = client.jobs.get(job.name)
    assert got.status == "Canceled"
    assert got.summary is None
    assert not client.jobs.layout(job.name).named_outputs()
    assert "Canceled." in client.jobs.read_log(job.name)[0]


def test_what_cannot_run_is_refused_at_once(setup, tmp_path):
    client, rows = setup["client"], setup["rows"]
    rows.head(5).to_csv(tmp_path / "few.csv", index=False)
    csv = Input(type="uri_file", path=str(tmp_path / "few.csv"))
    before = len(client.jobs.job_records())
    with pytest.raises(BatchEndpointNotFoundError, match="no batch endpoint named 'cancer-bach'"
                       ".*Did you mean 'cancer-batch'"):
        client.batch_endpoints.invoke("cancer-bach", input=csv)
    with pytest.raises(BatchEndpointNotFoundError, match="no deployment named 'green'"):
        client.batch_endpoints.invoke(ENDPOINT, deployment_name="green", input=csv)
    with pytest.raises(CirrusMLError, match="is a file; use type uri_file"):
        client.batch_endpoints.invoke(ENDPOINT, input=Input(type="uri_folder",
                                                            path=str(tmp_path / "few.csv")))
    with pytest.raises(CirrusMLError, match="does not exist"):
        client.batch_endpoints.invoke(ENDPOINT, input=Input(type="uri_file",
                                                            path=str(tmp_path / "no.csv")))
    with pytest.raises(InvalidSpecError, match="output_file_name.*must end in .csv or .parquet"):
        client.batch_endpoints.invoke(ENDPOINT, input=csv, output_file_name="out.txt")
    with pytest.raises(InvalidSpecError, match="unknown key 'mini_batch'"):
        client.batch_endpoints.invoke(ENDPOINT, input=csv,
                                      params_override=[{"mini_batch": 5}])
    with pytest.raises(InvalidSpecError, match="output_action: 'summary_only' is for scoring"):
        client.batch_deployments.begin_create_or_update(BatchDeployment(
            name="summary", endpoint_name=ENDPOINT, model="azureml:cancer:1",
            output_action="summary_only"))
    with pytest.raises(InvalidSpecError, match="scoring_script: 'score.py' is not a Python"):
        client.batch_deployments.begin_create_or_update(BatchDeployment(
            name="scripted", endpoint_name=ENDPOINT, model="azureml:cancer:1",
            code_path=str(tmp_path), scoring_script="score.py"))
    with pytest.raises(ModelNotFoundError, match="has no version 7"):
        client.batch_deployments.begin_create_or_update(BatchDeployment(
            name="missing", endpoint_name=ENDPOINT, model="azureml:cancer:7"))
    assert len(client.jobs.job_records()) == before  # nothing was recorded
    assert [d.name for d in client.batch_deployments.list(ENDPOINT)] == ["classifier-mlflow"]


def test_deployments_by_latest_and_by_folder_and_the_default_deployment(setup, tmp_path):
    client = setup["client"]
    client.begin_create_or_update(BatchEndpoint(name="second-ep")).result()  # the generic entry
    latest = client.batch_deployments.begin_create_or_update(BatchDeployment(
        name="latest", endpoint_name="second-ep", model="cancer@latest")).result()
    assert latest.model == "azureml:cancer:1"  # pinned to the version it resolved to
    client.jobs.download(setup["automl_job"], output_name="best_model", download_path=tmp_path)
    (tmp_path / "named-outputs" / "best_model").rename(tmp_path / "model")
    (tmp_path / "deployment.yml").write_text(
        DEPLOYMENT_FLAT_YAML.replace(ENDPOINT, "second-ep"), encoding="utf-8")
    folder = client.batch_deployments.begin_create_or_update(
        load_batch_deployment(tmp_path / "deployment.yml")).result()
    assert folder.model == str(tmp_path / "model")
    assert client.batch_endpoints.get("second-ep").default_deployment_name == "latest"
    with pytest.raises(CirrusMLError, match="is the default of batch endpoint 'second-ep'"):
        client.batch_deployments.begin_delete("latest", endpoint_name="second-ep")
    endpoint = client.batch_endpoints.get("second-ep")
    endpoint.defaults = {"deployment_name": "from-folder"}
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    assert client.batch_endpoints.get("second-ep").default_deployment_name == "from-folder"
    endpoint.defaults = {"deployment_name": "nowhere"}
    with pytest.raises(BatchEndpointNotFoundError, match="no deployment named 'nowhere'"):
        client.batch_endpoints.begin_create_or_update(endpoint)

    rows = setup["rows"].head(100)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    job = client.batch_endpoints.invoke("second-ep", input=str(tmp_path / "rows.csv"))
    assert job.deployment_name == "from-folder"
    _stream(client, job.name)
    client.jobs.download(job.name, output_name="score", download_path=tmp_path / "dl")
    out = pd.read_parquet(tmp_path / "dl" / "named-outputs" / "score" / "scored.parquet")
    assert (out["prediction"].to_numpy() == setup["expected"][:100]).all()
    assert _progress(client, job.name)[-1]["mini_batches"] == 2  # mini_batch_size 64

    client.batch_deployments.begin_delete("latest", endpoint_name="second-ep").result()
    assert [d.name for d in client.batch_deployments.list("second-ep")] == ["from-folder"]
    client.batch_endpoints.begin_delete("second-ep").result()
    assert [e.name for e in client.batch_endpoints.list()] == [ENDPOINT]
    assert client.jobs.get(job.name).status == "Completed"  # its jobs stay


def test_batch_score_on_the_command_line_with_a_registered_model(setup, tmp_path):
    rows = setup["rows"]
    rows.to_csv(tmp_path / "in.csv", index=False)
    result = cirrus("batch", "score", "--model", "cancer:1", "--input", str(tmp_path / "in.csv"),
                    "--output", str(tmp_path / "out" / "predictions.csv"), "--chunk-size", "250",
                    workspace=setup["workspace"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Scored {len(rows)} rows in 3 mini-batch(es)" in result.stdout
    assert "scoring" in result.stderr  # the progress bar
    out = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert (out["prediction"].to_numpy() == setup["expected"]).all()

    bad = rows.astype({"mean_radius": object})
    bad.loc[300, "mean_radius"] = "twelve"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = cirrus("batch", "score", "--model", "azureml:cancer@latest", "--input",
                    str(tmp_path / "bad.csv"), "--output", str(tmp_path / "bad-out.csv"),
                    workspace=setup["workspace"])
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "failed: data row 301" in errors[0]
    assert "column 'mean_radius'" in result.stderr.replace("\n", " ")
    assert not (tmp_path / "bad-out.csv").exists()


def test_batch_endpoint_commands_end_to_end(setup, tmp_path):
    ws = setup["workspace"]
    endpoint_file = tmp_path / "endpoint.yml"
    endpoint_file.write_text(ENDPOINT_YAML.replace(ENDPOINT, "cli-ep"), encoding="utf-8")
    result = cirrus("batch-endpoint", "create", "--file", str(endpoint_file), workspace=ws)
    assert result.returncode == 0, result.stderr
    deployment_file = tmp_path / "deployment.yml"
    deployment_file.write_text(DEPLOYMENT_YAML.replace(ENDPOINT, "cli-ep"), encoding="utf-8")
    for name in ("blue", "green"):
        result = cirrus("batch-deployment", "create", "--file", str(deployment_file), "--name",
                        name, *(["--set-default"] if name == "green" else []), workspace=ws)
        assert result.returncode == 0, result.stderr
    result = cirrus("batch-endpoint", "show", "-n", "cli-ep", workspace=ws)
    assert "default deployment  green" in result.stdout, result.stdout
    result = cirrus("batch-deployment", "list", "--endpoint-name", "cli-ep", workspace=ws)
    assert "blue" in result.stdout
    assert "green" in result.stdout

    setup["rows"].to_csv(tmp_path / "rows.csv", index=False)
    result = cirrus("batch-endpoint", "invoke", "-n", "cli-ep", "--input",
                    str(tmp_path / "rows.csv"), "--input-type", "uri_file", "--stream",
                    workspace=ws)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "green" in result.stdout
    assert "Completed: scored 569 rows" in result.stdout
    name = result.stdout.split("name", 1)[1].split()[0]
    result = cirrus("batch-endpoint", "list-jobs", "-n", "cli-ep", workspace=ws)
    assert name in result.stdout
    assert "Completed" in result.stdout
    result = cirrus("job", "download", "-n", name, "--output-name", "score",
                    "--download-path", str(tmp_path / "dl"), workspace=ws)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "dl" / "named-outputs" / "score" / "predictions.csv")
    assert (out["prediction"].to_numpy() == setup["expected"]).all()

    bad = setup["rows"].astype({"mean_radius": object})
    bad.loc[3, "mean_radius"] = "twelve"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = cirrus("batch-endpoint", "invoke", "-n", "cli-ep", "--input",
                    str(tmp_path / "bad.csv"), "--stream", workspace=ws)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "column 'mean_radius'" in result.stderr.replace("\n", " ")

    result = cirrus("batch-deployment", "delete", "-n", "blue", "--endpoint-name", "cli-ep",
                    workspace=ws)
    assert result.returncode == 0, result.stderr
    result = cirrus("batch-endpoint", "delete", "-n", "cli-ep", workspace=ws)
    assert result.returncode == 0, result.stderr
    result = cirrus("batch-endpoint", "show", "-n", "cli-ep", workspace=ws)
    assert result.returncode == 1
    assert "no batch endpoint named 'cli-ep'" in result.stderr
