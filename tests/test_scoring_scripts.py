"""Scoring scripts (Azure's init()/run() contract) behind real online and batch deployments,
and batch deployments' error_threshold: a tiny scikit-learn model saved as an MLflow model and
registered, scripts written here that import a sibling module and load the model from
AZUREML_MODEL_DIR, real servers on loopback ports and real batch jobs."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import requests
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from cirrusml import Input, MLClient
from cirrusml.constants import AssetTypes
from cirrusml.entities import (
    BatchDeployment,
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ProbeSettings,
)
from cirrusml.exceptions import EndpointError
from cirrusml.tracking import EndpointStore, Workspace
from tests.conftest import wait_for
from tests.test_endpoints import _all_pids, _kill_leftovers

ENDPOINT = "script-ep"
BATCH = "script-batch"

HELPER = """
import pandas as pd

def frame(rows):
    return pd.DataFrame(rows, columns=["a", "b"])
"""

SCORE = """
import json
import os

import mlflow.sklearn

from helper import frame

model = None


def init():
    global model
    model = mlflow.sklearn.load_model(os.path.join(os.environ["AZUREML_MODEL_DIR"], "tiny-model"))


def run(raw_data):
    data = json.loads(raw_data)
    if data.get("fail"):
        raise RuntimeError("asked to fail")
    predictions = model.predict(frame(data["data"])).tolist()
    if data.get("as_text"):
        return json.dumps(predictions)
    return {"predictions": predictions, "model_dir": os.environ["AZUREML_MODEL_DIR"]}
"""

SCHEMA = """
import os

import mlflow.sklearn

from helper import frame

model = None


def init():
    global model
    model = mlflow.sklearn.load_model(os.path.join(os.environ["AZUREML_MODEL_DIR"], "tiny-model"))


def run(Inputs, GlobalParameters=None):
    rows = frame(Inputs["data"])
    if (GlobalParameters or {}).get("method") == "predict_proba":
        return {"Results": model.predict_proba(rows)[:, 1].round(6).tolist()}
    return {"Results": model.predict(rows).tolist()}
"""

BROKEN = """
def init():
    raise ValueError("no model file here, check AZUREML_MODEL_DIR")


def run(raw_data):
    return raw_data
"""

DRIVER = """
import os

import mlflow.sklearn
import pandas as pd

from helper import frame

model = None


def init():
    global model
    model = mlflow.sklearn.load_model(os.path.join(os.environ["AZUREML_MODEL_DIR"], "tiny-model"))


def run(mini_batch):
    results = []
    for path in mini_batch:
        if os.path.basename(path).startswith("bad"):
            raise RuntimeError(f"cannot score {os.path.basename(path)}")
        data = pd.read_csv(path)
        data["prediction"] = model.predict(frame(data[["a", "b"]]))
        data["file"] = os.path.basename(path)
        results.append(data)
    return pd.concat(results)
"""


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3)})


def _probe():
    return ProbeSettings(initial_delay=1, period=1, failure_threshold=60)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A registered tiny model, a code folder with the scripts, and an online endpoint whose
    processes are all stopped at the end."""
    root = tmp_path_factory.mktemp("scripts")
    train = _rows(0, 60)
    target = (train["a"] + train["b"] > 0).astype(int)
    model = LogisticRegression().fit(train, target)
    mlflow.sklearn.save_model(model, str(root / "tiny-model"),
                              signature=infer_signature(train, target))
    client = MLClient(workspace=root / "ws")
    version = client.models.create_or_update(Model(path=str(root / "tiny-model"), name="tiny",
                                                   type=AssetTypes.MLFLOW_MODEL)).version
    code = root / "src"
    code.mkdir()
    for name, text in (("helper.py", HELPER), ("score.py", SCORE), ("schema.py", SCHEMA),
                       ("broken.py", BROKEN), ("batch_driver.py", DRIVER)):
        (code / name).write_text(textwrap.dedent(text), encoding="utf-8")
    try:
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT))
        yield {"client": client, "root": root, "code": code, "model": model,
               "version": version}
    finally:
        pids = _all_pids(client.workspace_path)
        for name in EndpointStore(Workspace(client.workspace_path)).names():
            client.online_endpoints.begin_delete(name)
        _kill_leftovers(pids)


def _deploy(setup, name: str, script: str, **extra):
    return setup["client"].online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name=name, endpoint_name=ENDPOINT, model=f"azureml:tiny:{setup['version']}",
        code_configuration=CodeConfiguration(code=str(setup["code"]), scoring_script=script),
        readiness_probe=_probe(), **extra)).result()


def _post(setup, deployment: str, body, *, key: bool = True) -> requests.Response:
    client = setup["client"]
    headers = {"azureml-model-deployment": deployment}
    if key:
        keys = client.online_endpoints.get_keys(ENDPOINT)
        headers["Authorization"] = f"Bearer {keys.primary_key}"
    return requests.post(client.online_endpoints.get(ENDPOINT).scoring_uri, json=body,
                         headers=headers, timeout=60)


def test_an_online_scoring_script_answers_with_its_model(setup):
    client, code = setup["client"], setup["code"]
    created = _deploy(setup, "raw", "score.py", environment="azureml:sklearn-env:3")
    assert created.provisioning_state == "Succeeded"
    rows = _rows(1, 5)
    expected = setup["model"].predict(rows).tolist()

    answer = _post(setup, "raw", {"data": rows.to_numpy().tolist()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == expected
    model_dir = Path(body["model_dir"])
    assert model_dir.parts[-3:] == ("azureml-models", "tiny", setup["version"])
    assert (model_dir / "tiny-model" / "MLmodel").is_file()
    # a str that run() returns is encoded as a JSON string, as Azure's server does
    text = _post(setup, "raw", {"data": rows.to_numpy().tolist(), "as_text": True})
    assert text.status_code == 200 and text.json() == json.dumps(expected)

    assert _post(setup, "raw", {"data": []}, key=False).status_code == 401

    failed = _post(setup, "raw", {"fail": True})
    assert failed.status_code == 500
    error = failed.json()["error"]
    assert error["code"] == "InternalServerError" and "error id" in error["message"]
    error_id = error["message"].split("error id ")[1].split(")")[0]
    assert _post(setup, "raw", {"data": rows.to_numpy().tolist()}).json()["predictions"] \
        == expected  # the server serves on
    logs = client.online_deployments.get_logs("raw", ENDPOINT)
    assert error_id in logs and "RuntimeError: asked to fail" in logs and "Traceback" in logs
    assert "Environment azureml:sklearn-env:3 is recorded, not built" in logs

    got = client.online_deployments.get("raw", ENDPOINT)
    assert got.scoring_script == "score.py"
    copy = Path(got.code_configuration.code)
    assert copy != code and copy.name == code.name and (copy / "helper.py").is_file()


def test_the_inputs_and_global_parameters_style(setup):
    _deploy(setup, "schema", "schema.py", instance_count=2)
    rows = _rows(2, 4)
    expected = setup["model"].predict_proba(rows)[:, 1].round(6).tolist()
    answer = _post(setup, "schema", {"Inputs": {"data": rows.to_numpy().tolist()},
                                     "GlobalParameters": {"method": "predict_proba"},
                                     "ignored": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"Results": expected}
    plain = _post(setup, "schema", {"Inputs": {"data": rows.to_numpy().tolist()}})
    assert plain.json() == {"Results": setup["model"].predict(rows).tolist()}
    missing = _post(setup, "schema", {"GlobalParameters": {}})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "MissingParameter"
    assert "'Inputs'" in missing.json()["error"]["message"]
    assert _post(setup, "schema", [1, 2]).status_code == 400


def test_a_failing_init_fails_the_deployment_with_its_error_in_the_log(setup):
    client = setup["client"]
    with pytest.raises(EndpointError, match=r"(?s)init\(\) of the scoring script .*ValueError"):
        _deploy(setup, "broken", "broken.py")
    assert client.online_deployments.get("broken", ENDPOINT).provisioning_state == "Failed"
    logs = client.online_deployments.get_logs("broken", ENDPOINT)
    assert "init() of the scoring script" in logs
    assert "ValueError: no model file here, check AZUREML_MODEL_DIR" in logs


# --------------------------------------------------------------------------------- batch


def _batch_deployment(setup, name: str, **settings):
    client = setup["client"]
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=BATCH))
    return client.batch_deployments.begin_create_or_update(BatchDeployment(
        name=name, endpoint_name=BATCH, model=f"azureml:tiny:{setup['version']}",
        code_configuration=CodeConfiguration(code=str(setup["code"]),
                                             scoring_script="batch_driver.py"),
        retry_settings=BatchRetrySettings(max_retries=0, timeout=60), **settings)).result()


def _finished(client, name: str):
    return wait_for(lambda: (lambda job: job if job.status in ("Completed", "Failed",
                                                                "Canceled") else None)(
        client.jobs.get(name)), timeout=120)


def _folder(root: Path, name: str, files: list[str]) -> Path:
    folder = root / name
    folder.mkdir()
    for i, file in enumerate(files):
        _rows(10 + i, 2).to_csv(folder / file, index=False)
    return folder


def test_a_batch_scoring_script_scores_mini_batches_of_files_in_order(setup):
    client, root = setup["client"], setup["root"]
    _batch_deployment(setup, "driver", mini_batch_size=2)
    folder = _folder(root, "parts", ["part-1.csv", "part-2.csv", "part-3.csv"])
    job = _finished(client, client.batch_endpoints.invoke(
        BATCH, deployment_name="driver", input=Input(type="uri_folder", path=str(folder))).name)
    assert job.status == "Completed", job.error
    assert (job.summary["mini_batches"], job.summary["rows"]) == (2, 6)
    out = pd.read_csv(job.outputs["score"].path)
    assert out["file"].tolist() == ["part-1.csv"] * 2 + ["part-2.csv"] * 2 + ["part-3.csv"] * 2
    inputs = pd.concat([pd.read_csv(folder / f) for f in sorted(os.listdir(folder))])
    assert out["prediction"].tolist() == setup["model"].predict(inputs[["a", "b"]]).tolist()

    _batch_deployment(setup, "summary", mini_batch_size=2, output_action="summary_only")
    job = _finished(client, client.batch_endpoints.invoke(
        BATCH, deployment_name="summary", input=Input(type="uri_file",
                                                      path=str(folder / "part-2.csv"))).name)
    assert job.status == "Completed", job.error
    assert (job.summary["mini_batches"], job.summary["rows"]) == (1, 2)
    assert not Path(job.outputs["score"].path).exists()  # summary_only writes no file


def test_error_threshold_fails_a_job_past_it_and_tolerates_within(setup):
    client, root = setup["client"], setup["root"]
    folder = _folder(root, "some-bad", ["a-1.csv", "bad-2.csv", "c-3.csv"])
    _batch_deployment(setup, "strict", mini_batch_size=1, error_threshold=0)
    job = _finished(client, client.batch_endpoints.invoke(
        BATCH, deployment_name="strict", input=Input(type="uri_folder", path=str(folder))).name)
    assert job.status == "Failed"
    assert "1 file(s) failed" in job.error and "error_threshold=0" in job.error
    assert "cannot score bad-2.csv" in job.error

    _batch_deployment(setup, "tolerant", mini_batch_size=1, error_threshold=1)
    job = _finished(client, client.batch_endpoints.invoke(
        BATCH, deployment_name="tolerant", input=Input(type="uri_folder", path=str(folder))).name)
    assert job.status == "Completed", job.error
    assert job.summary["failed_items"] == 1 and job.summary["rows"] == 4
    assert "bad-2.csv" in job.summary["failures"][0]
    assert pd.read_csv(job.outputs["score"].path)["file"].tolist() == \
        ["a-1.csv"] * 2 + ["c-3.csv"] * 2
