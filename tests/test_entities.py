"""Azure's entities (``cirrusml.entities``): constructors, defaults, YAML files, bad fields."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
import yaml

import cirrusml
import cirrusml.entities as entities
from cirrusml import (
    load_batch_deployment,
    load_batch_endpoint,
    load_model,
    load_online_deployment,
    load_online_endpoint,
)
from cirrusml.constants import AssetTypes
from cirrusml.entities import (
    BatchDeployment,
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    ProbeSettings,
)
from cirrusml.exceptions import InvalidSpecError

SCHEMAS = "https://azuremlschemas.azureedge.net/latest/"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_the_facade_exports_what_azure_ai_ml_entities_does():
    for name in ("Model", "Environment", "CodeConfiguration", "ProbeSettings",
                 "OnlineRequestSettings", "ManagedOnlineEndpoint", "ManagedOnlineDeployment",
                 "BatchEndpoint", "BatchDeployment", "BatchRetrySettings"):
        assert name in entities.__all__
        assert getattr(entities, name).__name__ == name
    for loader in ("load_model", "load_online_endpoint", "load_online_deployment",
                   "load_batch_endpoint", "load_batch_deployment"):
        assert callable(getattr(cirrusml, loader))


# -------------------------------------------------------------------------- defaults


def test_settings_take_azures_defaults():
    assert OnlineRequestSettings()._to_dict() == {
        "max_concurrent_requests_per_instance": 1, "request_timeout_ms": 5000,
        "max_queue_wait_ms": 500}
    assert ProbeSettings()._to_dict() == {"failure_threshold": 30, "success_threshold": 1,
                                          "timeout": 2, "period": 10, "initial_delay": 10}
    assert BatchRetrySettings()._to_dict() == {"max_retries": 3, "timeout": 30}
    # Azure's positional order for these two.
    assert OnlineRequestSettings(4, 2000).max_concurrent_requests_per_instance == 4
    assert OnlineRequestSettings(4, 2000).request_timeout_ms == 2000
    code = CodeConfiguration("./onlinescoring", "score.py")
    assert (code.code, code.scoring_script) == ("./onlinescoring", "score.py")


def test_model_defaults_and_reference():
    model = Model(name="bank", path="./best_model")
    assert model.type == "custom_model"  # Azure's default
    assert model.reference is None
    typed = Model(name="bank", version=3, type=AssetTypes.MLFLOW_MODEL, tags={"n": 1})
    assert typed.version == "3"
    assert typed.type == "mlflow_model"
    assert typed.tags == {"n": "1"}
    assert typed.reference == "azureml:bank:3"


def test_endpoints_and_deployments_defaults():
    endpoint = ManagedOnlineEndpoint(name="bank-endpoint")
    assert endpoint.auth_mode == "key"
    assert endpoint.traffic is None
    assert endpoint.scoring_uri is None
    endpoint.scoring_uri = "http://127.0.0.1:5001/score"  # filled in later
    assert BatchEndpoint(name="bank-batch").auth_mode == "aad_token"

    deployment = ManagedOnlineDeployment(name="blue", endpoint_name="bank-endpoint",
                                         model="azureml:bank:1")
    assert deployment.instance_count == 1
    assert deployment.request_settings == OnlineRequestSettings()
    assert deployment.liveness_probe == ProbeSettings()
    assert deployment.readiness_probe == ProbeSettings()
    assert deployment.code_configuration is None
    assert deployment.environment is None

    batch = BatchDeployment(name="bank-batch-dep", endpoint_name="bank-batch",
                            model="azureml:bank@latest")
    assert (batch.mini_batch_size, batch.max_concurrency_per_instance) == (10, 1)
    assert (batch.output_action, batch.output_file_name) == ("append_row", "predictions.csv")
    assert (batch.error_threshold, batch.logging_level) == (-1, "info")
    assert batch.retry_settings == BatchRetrySettings()
    assert batch.instance_count == 1


def test_azures_sdk_code_runs_with_only_its_imports_changed():
    # As in Azure's deployment guide, with `from azure.ai.ml.entities import ...` replaced.
    model = Model(path="./model", type=AssetTypes.MLFLOW_MODEL, name="credit-model",
                  description="Model created from local file.")
    endpoint = ManagedOnlineEndpoint(name="credit-endpoint", description="an online endpoint",
                                     auth_mode="key", tags={"foo": "bar"})
    blue = ManagedOnlineDeployment(
        name="blue", endpoint_name=endpoint.name, model=model,
        instance_type="Standard_DS3_v2", instance_count=1,
        request_settings=OnlineRequestSettings(request_timeout_ms=3000,
                                               max_concurrent_requests_per_instance=2),
        liveness_probe=ProbeSettings(failure_threshold=5, period=5, initial_delay=2),
        environment_variables={"MODE": "fast"})
    green = ManagedOnlineDeployment(
        name="green", endpoint_name=endpoint.name, model="azureml:credit-model:1",
        code_configuration=CodeConfiguration(code="./src", scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/base:latest",
                                conda_file="./conda.yml"),
        instance_count=2)
    endpoint.traffic = {"blue": 90, "green": 10}
    endpoint.mirror_traffic = {"green": 20}
    assert blue.model is model
    assert blue.request_settings.request_timeout_ms == 3000
    assert blue.liveness_probe.failure_threshold == 5
    assert blue.liveness_probe.timeout == 2  # the others keep Azure's defaults
    assert blue.azure_only() == {"instance_type": "Standard_DS3_v2"}
    assert green.code_path == "./src"
    assert green.scoring_script == "score.py"
    assert endpoint.traffic == {"blue": 90, "green": 10}

    promoted = ManagedOnlineDeployment(name="red", code_path="./src", scoring_script="s.py")
    assert promoted.code_configuration == CodeConfiguration("./src", "s.py")

    batch = BatchDeployment(name="batch-dep", endpoint_name="credit-batch", model=model,
                            code_path="./src", scoring_script="batch.py",
                            compute="cpu-cluster", instance_count=2,
                            max_concurrency_per_instance=2, mini_batch_size=100,
                            output_action="append_row", output_file_name="out.csv",
                            retry_settings=BatchRetrySettings(max_retries=1, timeout=60),
                            logging_level="debug", environment_variables={"A": "1"})
    assert batch.retry_settings.timeout == 60
    assert batch.azure_only() == {"compute": "cpu-cluster"}


# ------------------------------------------------------------------------------ YAML


def test_load_an_online_endpoint_file(tmp_path):
    path = _write(tmp_path, "endpoint.yml", f"""
        $schema: {SCHEMAS}managedOnlineEndpoint.schema.json
        name: my-endpoint
        auth_mode: key
        description: the bank model
        tags:
          owner: risk
        traffic:
          blue: 90
          green: 10
        """)
    endpoint = load_online_endpoint(path)
    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert endpoint.name == "my-endpoint"
    assert endpoint.traffic == {"blue": 90, "green": 10}
    assert endpoint.tags == {"owner": "risk"}
    overridden = load_online_endpoint(path, params_override=[{"auth_mode": "aml_token"}])
    assert overridden.auth_mode == "aml_token"


def test_load_an_online_deployment_file_with_an_inline_model(tmp_path):
    (tmp_path / "model").mkdir()
    path = _write(tmp_path, "blue-deployment.yml", f"""
        $schema: {SCHEMAS}managedOnlineDeployment.schema.json
        name: blue
        endpoint_name: my-endpoint
        model:
          name: credit-model
          version: 1
          path: ./model
          type: mlflow_model
        code_configuration:
          code: ./onlinescoring
          scoring_script: score.py
        environment:
          conda_file: ./environment/conda.yml
          image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
        instance_type: Standard_DS3_v2
        instance_count: 2
        app_insights_enabled: true
        scale_settings:
          type: default
        request_settings:
          request_timeout_ms: 3000
          max_concurrent_requests_per_instance: 4
        liveness_probe:
          initial_delay: 30
          period: 5
        readiness_probe:
          failure_threshold: 3
        environment_variables:
          WORKERS: "2"
        """)
    deployment = load_online_deployment(path)
    assert isinstance(deployment.model, Model)
    assert deployment.model.path == str((tmp_path / "model").resolve())
    assert deployment.model.version == "1"
    assert deployment.code_configuration.code == str((tmp_path / "onlinescoring").resolve())
    assert deployment.environment.conda_file == str(tmp_path / "environment" / "conda.yml")
    assert deployment.instance_count == 2
    assert deployment.request_settings.request_timeout_ms == 3000
    assert deployment.request_settings.max_queue_wait_ms == 500
    assert deployment.liveness_probe.initial_delay == 30
    assert deployment.liveness_probe.failure_threshold == 30
    assert deployment.readiness_probe.failure_threshold == 3
    assert deployment.environment_variables == {"WORKERS": "2"}
    assert deployment.azure_only() == {"instance_type": "Standard_DS3_v2",
                                       "scale_settings": {"type": "default"},
                                       "app_insights_enabled": True}


def test_load_a_deployment_naming_a_registered_model(tmp_path):
    path = _write(tmp_path, "green.yml", """
        name: green
        endpoint_name: my-endpoint
        model: azureml:credit-model:2
        instance_type: Standard_F2s_v2
        instance_count: 1
        """)
    deployment = load_online_deployment(path)
    assert deployment.model == "azureml:credit-model:2"
    assert deployment.azure_only() == {"instance_type": "Standard_F2s_v2"}


def test_load_a_model_file(tmp_path):
    path = _write(tmp_path, "model.yml", f"""
        $schema: {SCHEMAS}model.schema.json
        name: local-file-example
        path: mlflow-model
        type: mlflow_model
        description: Model created from local file.
        stage: Production
        """)
    model = load_model(path)
    assert model.path == str((tmp_path / "mlflow-model").resolve())
    assert model.stage == "Production"
    job_output = _write(tmp_path, "job-model.yml", """
        name: from-job
        path: azureml://jobs/brave_river_1234/outputs/artifacts/outputs/mlflow-model/
        type: mlflow_model
        """)
    assert load_model(job_output).path.startswith("azureml://jobs/brave_river_1234/")


def test_load_batch_endpoint_and_deployment_files(tmp_path):
    endpoint = load_batch_endpoint(_write(tmp_path, "batch-endpoint.yml", f"""
        $schema: {SCHEMAS}batchEndpoint.schema.json
        name: heart-batch
        description: batch scoring
        auth_mode: aad_token
        defaults:
          deployment_name: classifier
        """))
    assert endpoint.default_deployment_name == "classifier"
    # Azure's newer layout: a settings block and resources.instance_count.
    deployment = load_batch_deployment(_write(tmp_path, "batch-deployment.yml", f"""
        $schema: {SCHEMAS}modelBatchDeployment.schema.json
        endpoint_name: heart-batch
        name: classifier
        type: model
        model: azureml:heart-classifier@latest
        compute: azureml:batch-cluster
        resources:
          instance_count: 2
        settings:
          max_concurrency_per_instance: 2
          mini_batch_size: 5
          output_action: append_row
          output_file_name: scores.csv
          retry_settings:
            max_retries: 1
            timeout: 300
          logging_level: debug
        """))
    assert deployment.instance_count == 2
    assert (deployment.mini_batch_size, deployment.max_concurrency_per_instance) == (5, 2)
    assert deployment.output_file_name == "scores.csv"
    assert deployment.retry_settings == BatchRetrySettings(max_retries=1, timeout=300)
    assert deployment.logging_level == "debug"
    assert deployment.error_threshold == -1
    # The older flat layout, with code and a scoring script.
    flat = load_batch_deployment(_write(tmp_path, "flat.yml", """
        name: flat-deployment
        endpoint_name: heart-batch
        model:
          path: ./model
        code_configuration:
          code: ./code
          scoring_script: batch_driver.py
        mini_batch_size: 10
        output_action: summary_only
        """))
    assert flat.output_action == "summary_only"
    assert flat.code_path == str((tmp_path / "code").resolve())


def test_an_entity_round_trips_through_dump(tmp_path):
    deployment = ManagedOnlineDeployment(
        name="blue", endpoint_name="bank", model=Model(name="bank", version="1", path="/m"),
        request_settings=OnlineRequestSettings(request_timeout_ms=1500), instance_count=3)
    stream = io.StringIO()
    deployment.dump(stream)
    data = yaml.safe_load(stream.getvalue())
    assert data["request_settings"]["request_timeout_ms"] == 1500
    path = tmp_path / "dumped.yml"
    deployment.dump(path)
    assert load_online_deployment(path) == deployment


# ------------------------------------------------------------------------- bad fields


@pytest.mark.parametrize(("build", "field", "needle"), [
    pytest.param(lambda: ManagedOnlineEndpoint(name="x"), "name", "3 to 32 characters",
                 id="short-endpoint-name"),
    pytest.param(lambda: ManagedOnlineEndpoint(name="1-bad"), "name", "a letter first",
                 id="endpoint-name-starts-with-digit"),
    pytest.param(lambda: ManagedOnlineEndpoint(), "name", "is required", id="no-name"),
    pytest.param(lambda: ManagedOnlineEndpoint(name="good-name", auth_mode="keys"),
                 "auth_mode", "Did you mean 'key'", id="auth-mode"),
    pytest.param(lambda: ManagedOnlineEndpoint(name="good-name", traffic={"blue": 90}),
                 "traffic", "add up to 100", id="traffic-sum"),
    pytest.param(lambda: ManagedOnlineEndpoint(name="good-name", traffic={"blue": 120}),
                 "traffic", "from 0 to 100", id="traffic-share"),
    pytest.param(lambda: ManagedOnlineEndpoint(name="good-name", mirror_traffic={"g": 60}),
                 "mirror_traffic", "from 0 to 50", id="mirror-share"),
    pytest.param(lambda: ManagedOnlineDeployment(name="blue", instance_count=0),
                 "instance_count", "1 or more", id="instance-count"),
    pytest.param(lambda: ManagedOnlineDeployment(name="blue", instance_count="two"),
                 "instance_count", "whole number", id="instance-count-type"),
    pytest.param(lambda: ManagedOnlineDeployment(name="blue", instance_typ="x"),
                 "instance_typ", "Did you mean 'instance_type'", id="unknown-key"),
    pytest.param(lambda: ManagedOnlineDeployment(
        name="blue", request_settings={"request_timeout_ms": 999999}),
        "request_settings.request_timeout_ms", "180000", id="request-timeout"),
    pytest.param(lambda: ManagedOnlineDeployment(
        name="blue", liveness_probe={"period": 0}), "liveness_probe.period", "1 or more",
        id="probe-period"),
    pytest.param(lambda: ManagedOnlineDeployment(name="blue", model="azureml:credit:"),
                 "model", "no version after ':'", id="model-reference"),
    pytest.param(lambda: ManagedOnlineDeployment(name="blue", model={"paht": "./m"}),
                 "model.paht", "Did you mean 'path'", id="inline-model-key"),
    pytest.param(lambda: ManagedOnlineDeployment(name="blue", code_path="./a",
                                                 code_configuration=CodeConfiguration("./b")),
                 "code_path", "not both", id="code-twice"),
    pytest.param(lambda: ProbeSettings(initial_delay=-1), "initial_delay", "0 or more",
                 id="probe-delay"),
    pytest.param(lambda: Model(name="bad name"), "name", "not a valid name", id="model-name"),
    pytest.param(lambda: Model(type="triton"), "type", "not a model type", id="model-type"),
    pytest.param(lambda: Model(version=""), "version", "must not be empty", id="model-version"),
    pytest.param(lambda: BatchDeployment(name="dep", output_action="append"), "output_action",
                 "Did you mean 'append_row'", id="output-action"),
    pytest.param(lambda: BatchDeployment(name="dep", output_file_name="out/p.csv"),
                 "output_file_name", "without folders", id="output-file"),
    pytest.param(lambda: BatchDeployment(name="dep", mini_batch_size=0), "mini_batch_size",
                 "1 or more", id="mini-batch"),
    pytest.param(lambda: BatchDeployment(name="dep", error_threshold=-2), "error_threshold",
                 "-1 or more", id="error-threshold"),
    pytest.param(lambda: BatchDeployment(name="dep", logging_level="verbose"), "logging_level",
                 "warning, info, debug", id="logging-level"),
    pytest.param(lambda: BatchDeployment(name="dep", settings={"mini_batch_sise": 2}),
                 "settings.mini_batch_sise", "Did you mean 'mini_batch_size'",
                 id="settings-key"),
    pytest.param(lambda: BatchRetrySettings(max_retries=-1), "max_retries", "0 or more",
                 id="retries"),
])
def test_a_bad_field_gives_one_error_naming_it(build, field, needle):
    with pytest.raises(InvalidSpecError, match=needle) as caught:
        build()
    assert caught.value.field == field


def test_a_bad_assignment_is_refused_too():
    endpoint = ManagedOnlineEndpoint(name="good-name")
    with pytest.raises(InvalidSpecError, match="add up to 100") as caught:
        endpoint.traffic = {"blue": 50, "green": 10}
    assert caught.value.field == "traffic"
    deployment = ManagedOnlineDeployment(name="blue")
    with pytest.raises(InvalidSpecError, match="180000"):
        deployment.request_settings.request_timeout_ms = 10**6


def test_a_bad_yaml_file_names_the_file_and_the_field(tmp_path):
    path = _write(tmp_path, "bad.yml", """
        name: blue
        endpoint_name: my-endpoint
        request_settings:
          request_timeout_ms: -5
        """)
    with pytest.raises(InvalidSpecError) as caught:
        load_online_deployment(path)
    assert caught.value.field == "request_settings.request_timeout_ms"
    assert str(path) in str(caught.value)
    with pytest.raises(InvalidSpecError, match="does not exist"):
        load_online_endpoint(tmp_path / "missing.yml")
    not_a_mapping = _write(tmp_path, "list.yml", "- a\n- b\n")
    with pytest.raises(InvalidSpecError, match="must be a YAML mapping"):
        load_model(not_a_mapping)


def test_azures_own_loaders_read_the_same_files_the_same_way(tmp_path):
    from azure.ai.ml import load_model as azure_load_model
    from azure.ai.ml import load_online_deployment as azure_load_deployment
    from azure.ai.ml import load_online_endpoint as azure_load_endpoint

    for folder in ("model", "onlinescoring", "environment"):
        (tmp_path / folder).mkdir()
    (tmp_path / "environment" / "conda.yml").write_text("name: env\n")
    deployment = _write(tmp_path, "deployment.yml", f"""
        $schema: {SCHEMAS}managedOnlineDeployment.schema.json
        name: blue
        endpoint_name: my-endpoint
        model:
          name: credit-model
          version: 1
          path: ./model
          type: mlflow_model
        code_configuration:
          code: ./onlinescoring
          scoring_script: score.py
        environment:
          conda_file: ./environment/conda.yml
          image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
        instance_type: Standard_DS3_v2
        instance_count: 2
        request_settings:
          request_timeout_ms: 3000
          max_concurrent_requests_per_instance: 2
        liveness_probe:
          initial_delay: 30
          failure_threshold: 4
        """)
    ours, theirs = load_online_deployment(deployment), azure_load_deployment(deployment)
    for field in ("name", "endpoint_name", "instance_type", "instance_count"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.model.name == theirs.model.name
    assert ours.model.version == theirs.model.version
    assert Path(ours.model.path) == Path(theirs.model.path)
    assert ours.code_configuration.scoring_script == theirs.code_configuration.scoring_script
    for field in ("request_timeout_ms", "max_concurrent_requests_per_instance"):
        assert getattr(ours.request_settings, field) == getattr(theirs.request_settings, field)
    for field in ("initial_delay", "failure_threshold"):
        assert getattr(ours.liveness_probe, field) == getattr(theirs.liveness_probe, field)

    endpoint = _write(tmp_path, "endpoint.yml", f"""
        $schema: {SCHEMAS}managedOnlineEndpoint.schema.json
        name: my-endpoint
        auth_mode: key
        traffic:
          blue: 100
        """)
    ours_ep, theirs_ep = load_online_endpoint(endpoint), azure_load_endpoint(endpoint)
    assert (ours_ep.name, ours_ep.auth_mode) == (theirs_ep.name, theirs_ep.auth_mode)
    assert ours_ep.traffic == theirs_ep.traffic

    model = _write(tmp_path, "model.yml", f"""
        $schema: {SCHEMAS}model.schema.json
        name: credit-model
        version: 3
        path: ./model
        type: mlflow_model
        stage: Production
        tags:
          team: risk
        """)
    ours_model, theirs_model = load_model(model), azure_load_model(model)
    for field in ("name", "version", "type", "stage", "tags"):
        assert getattr(ours_model, field) == getattr(theirs_model, field), field
    assert Path(ours_model.path) == Path(theirs_model.path)
