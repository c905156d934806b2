"""The model registry: real MLflow store, a real tiny job, every path form, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cirrusml import MLClient, automl, load_model
from cirrusml.cli.main import app
from cirrusml.constants import AssetTypes
from cirrusml.entities import Model
from cirrusml.exceptions import (
    InvalidSpecError,
    JobNotFoundError,
    ModelNotFoundError,
)
from cirrusml.tracking import ModelRegistry, Workspace, resolve_model
from tests.conftest import breast_cancer_frame

pytestmark = pytest.mark.slow

CIRRUS = str(Path(sys.executable).with_name("cirrus"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny real classification job (one logistic regression trial), shared by the tests."""
    workspace = tmp_path_factory.mktemp("registry") / "ws"
    client = MLClient(workspace=workspace)
    job = automl.classification(training_data=breast_cancer_frame(),
                                target_column_name="diagnosis", primary_metric="accuracy",
                                validation_data_size=0.25)
    job.set_limits(max_trials=1, timeout_minutes=5)
    job.set_training(allowed_training_algorithms=["LogisticRegression"],
                     enable_model_explainability=False, enable_vote_ensemble=False,
                     enable_stack_ensemble=False)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    return client, name


@pytest.fixture(scope="module")
def best_model_folder(trained, tmp_path_factory):
    """The job's best model, downloaded to a folder of its own (a user's local MLflow model)."""
    client, name = trained
    download = tmp_path_factory.mktemp("download")
    client.jobs.download(name, download_path=download, output_name="best_model")
    return download / "named-outputs" / "best_model"


def _rows(n=20):
    return breast_cancer_frame().drop(columns=["diagnosis"]).head(n)


def test_register_the_job_output_and_get_it_back(trained):
    client, job = trained
    model = Model(path=f"azureml://jobs/{job}/outputs/best_model", name="cancer",
                  type=AssetTypes.MLFLOW_MODEL, description="from the job",
                  tags={"team": "risk"}, properties={"source": "automl"})
    registered = client.models.create_or_update(model)
    assert registered.version == "1"
    assert registered.job_name == job
    assert registered.type == "mlflow_model"
    assert (Path(registered.path) / "MLmodel").is_file()
    assert "python_function" in registered.flavors
    # The job output is the best child run's outputs/mlflow-model, referenced, not copied.
    record = client.jobs.job_record(job)
    assert record.best_child_run_id in registered.path
    assert registered.path.rstrip("/").endswith("outputs/mlflow-model")
    got = client.models.get("cancer", version=1)
    assert got.description == "from the job"
    assert got.tags == {"team": "risk"}
    assert got.properties == {"source": "automl"}
    assert got.id == "azureml:cancer:1"
    assert client.models.get("cancer", label="latest").version == "1"
    # MLflow's registry holds it: a plain MLflow client sees the version and its run.
    mv = mlflow.MlflowClient(tracking_uri=client.tracking_uri).get_model_version("cancer", "1")
    assert mv.run_id == record.best_child_run_id


def test_register_the_child_run_path_forms(trained):
    client, job = trained
    record = client.jobs.job_record(job)
    best = record.best_child_run_id
    forms = [
        f"azureml://jobs/{best}/outputs/artifacts/outputs/mlflow-model/",
        f"azureml://jobs/{job}_{record.best_iteration}/outputs/artifacts/outputs/mlflow-model",
        f"runs:/{best}/outputs/mlflow-model",
    ]
    versions = []
    for path in forms:
        registered = client.models.create_or_update(
            Model(path=path, name="cancer-child", type="mlflow_model"))
        versions.append(registered.version)
        assert (Path(registered.path) / "MLmodel").is_file()
        assert registered.job_name == job
    assert versions == ["1", "2", "3"]


def test_local_folder_versions_latest_download_and_predict(trained, best_model_folder,
                                                           tmp_path):
    client, _ = trained
    first = client.models.create_or_update(
        Model(path=best_model_folder, name="local-cancer", type="mlflow_model"))
    second = client.models.create_or_update(
        Model(path=str(best_model_folder), name="local-cancer", type="mlflow_model",
              version="2", description="second"))
    assert (first.version, second.version) == ("1", "2")
    assert first.job_name is None
    # The files were copied in: a later change to the folder does not touch the version.
    (best_model_folder / "later.txt").write_text("added after registration")
    assert not (Path(first.path) / "later.txt").exists()
    (best_model_folder / "later.txt").unlink()
    assert client.models.get("local-cancer", label="latest").version == "2"
    assert [m.version for m in client.models.list("local-cancer")] == ["2", "1"]
    assert "local-cancer" in {m.name for m in client.models.list()}

    where = client.models.download("local-cancer", 1, download_path=tmp_path / "dl")
    assert where == tmp_path / "dl" / "local-cancer" / best_model_folder.name
    downloaded = mlflow.pyfunc.load_model(str(where))
    original = mlflow.pyfunc.load_model(str(best_model_folder))
    rows = _rows()
    predicted = np.asarray(downloaded.predict(rows))
    assert len(predicted) == len(rows)
    assert set(predicted) <= {"malignant", "benign"}
    assert (predicted == np.asarray(original.predict(rows))).all()


def test_archive_hides_a_version_and_restore_brings_it_back(trained, best_model_folder):
    client, _ = trained
    for _ in range(2):
        client.models.create_or_update(Model(path=best_model_folder, name="arch",
                                             type="mlflow_model"))
    client.models.archive("arch", version=2)
    assert [m.version for m in client.models.list("arch")] == ["1"]
    assert [m.version for m in client.models.list("arch", archived_only=True)] == ["2"]
    assert [m.version for m in client.models.list("arch", include_archived=True)] == ["2", "1"]
    assert client.models.get("arch", label="latest").version == "1"
    assert client.models.get("arch", version=2).version == "2"  # still fetched by number
    assert next(m for m in client.models.list() if m.name == "arch").latest_version == "1"

    client.models.archive("arch")  # the whole model
    assert "arch" not in {m.name for m in client.models.list()}
    assert "arch" in {m.name for m in client.models.list(list_view_type="ArchivedOnly")}
    assert client.models.list("arch") == []
    with pytest.raises(ModelNotFoundError, match="is archived"):
        client.models.get("arch", label="latest")

    client.models.restore("arch")
    assert client.models.get("arch", label="latest").version == "1"
    client.models.restore("arch", version=2)
    assert client.models.get("arch", label="latest").version == "2"
    assert [m.version for m in client.models.list("arch")] == ["2", "1"]


def test_resolve_model_reference_forms(trained, best_model_folder):
    client, job = trained
    registered = client.models.create_or_update(
        Model(path=best_model_folder, name="resolved", type="mlflow_model"))
    ws = Workspace(client.workspace_path)
    expected = Path(registered.path)
    for reference in ("resolved:1", "azureml:resolved:1", "resolved@latest",
                      "azureml:resolved@latest", registered, Model(name="resolved", version="1")):
        assert resolve_model(reference, workspace=ws) == expected
    assert resolve_model(str(best_model_folder), workspace=ws) == best_model_folder.resolve()
    from_job = resolve_model(f"azureml://jobs/{job}/outputs/best_model", workspace=ws)
    assert (from_job / "MLmodel").is_file()
    with pytest.raises(ModelNotFoundError, match="has no version 9"):
        resolve_model("resolved:9", workspace=ws)
    with pytest.raises(InvalidSpecError, match="not an MLflow model folder"):
        resolve_model(str(client.workspace_path / "jobs"), workspace=ws)


def test_any_tracking_uri_holds_its_own_registry(best_model_folder, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    registry = ModelRegistry(Workspace(tmp_path / "ws"), tracking_uri=other)
    registered = registry.register(Model(path=best_model_folder, name="elsewhere",
                                         type="mlflow_model"))
    assert registered.version == "1"
    seen = mlflow.MlflowClient(tracking_uri=other).get_registered_model("elsewhere")
    assert seen.name == "elsewhere"
    assert not (tmp_path / "ws" / "mlflow.db").exists()


def _not_a_model(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"not an mlflow model")
    return folder


@pytest.mark.parametrize(("make", "error", "needle"), [
    pytest.param(lambda c, j, t: c.models.get("no-such-model", version=1), ModelNotFoundError,
                 "no model named 'no-such-model'", id="unknown-name"),
    pytest.param(lambda c, j, t: c.models.get("cancer", version=42), ModelNotFoundError,
                 "has no version 42; its versions are 1", id="unknown-version"),
    pytest.param(lambda c, j, t: c.models.get("cancer", version="one"), InvalidSpecError,
                 "is not a version", id="non-numeric-version"),
    pytest.param(lambda c, j, t: c.models.get("cancer"), InvalidSpecError,
                 "give a version, or label='latest'", id="neither-version-nor-label"),
    pytest.param(lambda c, j, t: c.models.get("cancer", version=1, label="latest"),
                 InvalidSpecError, "not both", id="both-version-and-label"),
    pytest.param(lambda c, j, t: c.models.get("cancer", label="best"), InvalidSpecError,
                 "the one label is 'latest'", id="unknown-label"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path=_not_a_model(t), name="bad", type="mlflow_model")), InvalidSpecError,
        "is not an MLflow model folder", id="not-an-mlflow-folder"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path=t / "missing", name="bad", type="mlflow_model")), InvalidSpecError,
        "does not exist", id="missing-path"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path=t, name="bad", type="triton_model")), InvalidSpecError,
        "use mlflow_model", id="triton-type"),
    pytest.param(lambda c, j, t: Model(path=t, name="bad", type="uri_folder"), InvalidSpecError,
                 "not a model type", id="not-a-model-type"),
    pytest.param(lambda c, j, t: c.models.create_or_update(Model(path=t, type="mlflow_model")),
                 InvalidSpecError, "name: is required", id="no-name"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path="azureml://jobs/no_such_job/outputs/best_model", name="bad")),
        JobNotFoundError, "no job named 'no_such_job'", id="unknown-job"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path=f"azureml://jobs/{j}/outputs/nothing", name="bad")), InvalidSpecError,
        "has no output 'nothing'; its outputs are best_model", id="unknown-output"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path="runs:/0123456789abcdef/outputs/mlflow-model", name="bad")),
        InvalidSpecError, "no run or job named '0123456789abcdef'", id="unknown-run"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path=f"azureml://jobs/{j}/outputs/best_model", name="cancer",
              type="mlflow_model", version="7")), InvalidSpecError,
        "not the next version of model 'cancer'", id="version-not-next"),
    pytest.param(lambda c, j, t: c.models.create_or_update(
        Model(path="https://example.com/model", name="bad")), InvalidSpecError,
        "is not a path cirrusml can register from", id="remote-url"),
])
def test_bad_inputs_raise_one_clear_error(trained, tmp_path, make, error, needle):
    client, job = trained
    if not any(m.name == "cancer" for m in client.models.list()):
        client.models.create_or_update(Model(path=f"azureml://jobs/{job}/outputs/best_model",
                                             name="cancer", type="mlflow_model"))
    with pytest.raises(error, match=needle.replace("(", r"\(").replace(")", r"\)")):
        make(client, job, tmp_path)


# ----------------------------------------------------------------------------------- CLI


def _invoke(*args, workspace):
    result = CliRunner().invoke(app, [*args, "--workspace", str(workspace)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_create_show_list_download_archive_restore(trained, tmp_path):
    client, job = trained
    ws = client.workspace_path
    created = _invoke("model", "create", "--name", "cli-model", "--path",
                      f"azureml://jobs/{job}/outputs/best_model", "--type", "mlflow_model",
                      "--tag", "team=risk", "--description", "from the CLI", workspace=ws)
    assert created.exit_code == 0, created.output
    assert "azureml:cli-model:1" in created.output

    spec = tmp_path / "model.yml"
    spec.write_text(yaml.safe_dump({
        "$schema": "https://azuremlschemas.azureedge.net/latest/model.schema.json",
        "name": "cli-model", "type": "mlflow_model",
        "path": f"azureml://jobs/{job}/outputs/best_model", "description": "from a file",
        "tags": {"origin": "yaml"}}))
    from_file = _invoke("model", "create", "--file", str(spec), "--tag", "extra=1",
                        workspace=ws)
    assert from_file.exit_code == 0, from_file.output
    second = client.models.get("cli-model", version=2)
    assert second.description == "from a file"
    assert second.tags == {"origin": "yaml", "extra": "1"}
    assert load_model(spec).tags == {"origin": "yaml"}

    shown = _invoke("model", "show", "-n", "cli-model", "--label", "latest", workspace=ws)
    assert shown.exit_code == 0
    assert "from a file" in shown.output
    assert second.path in shown.output.replace("\n", "").replace(" ", "")
    first = _invoke("model", "show", "-n", "cli-model", "-v", "1", workspace=ws)
    assert "team" in first.output
    assert "from the CLI" in first.output

    listed = _invoke("model", "list", workspace=ws)
    assert "cli-model" in listed.output
    versions = _invoke("model", "list", "-n", "cli-model", workspace=ws)
    assert "from the CLI" in versions.output
    assert "from a file" in versions.output

    download = tmp_path / "dl"
    got = _invoke("model", "download", "-n", "cli-model", "-v", "1", "--download-path",
                  str(download), workspace=ws)
    assert got.exit_code == 0
    (folder,) = (download / "cli-model").iterdir()
    assert (folder / "MLmodel").is_file()

    assert _invoke("model", "archive", "-n", "cli-model", "-v", "2", workspace=ws).exit_code == 0
    assert [m.version for m in client.models.list("cli-model")] == ["1"]
    archived = _invoke("model", "list", "-n", "cli-model", "--include-archived", workspace=ws)
    assert "yes" in archived.output
    assert _invoke("model", "restore", "-n", "cli-model", "-v", "2", workspace=ws).exit_code == 0
    assert client.models.get("cli-model", label="latest").version == "2"


def test_cli_errors_are_one_line_without_traceback(trained):
    client, _ = trained
    result = subprocess.run(
        [CIRRUS, "model", "show", "-n", "no-such-model", "--workspace",
         str(client.workspace_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "no model named 'no-such-model'" in errors[0]


def test_model_yaml_relative_path_resolves_against_the_file(best_model_folder, tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    relative = os.path.relpath(best_model_folder, folder)
    (folder / "model.yml").write_text(json.dumps({"name": "rel", "path": relative,
                                                  "type": "mlflow_model", "version": 1}))
    model = load_model(folder / "model.yml")
    assert Path(model.path) == best_model_folder.resolve()
    assert model.version == "1"
