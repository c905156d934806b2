"""Online endpoints and deployments: the routing rules on their own, then one tiny real job's
model registered twice and deployed as blue and green behind a real router, called through the
SDK, the CLI and plain HTTP, with its processes killed for real and brought back."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests

from cirrusml import MLClient, automl
from cirrusml.constants import AssetTypes
from cirrusml.entities import ManagedOnlineEndpoint, Model
from cirrusml.exceptions import (
    EndpointError,
    EndpointNotFoundError,
    InvalidSpecError,
    NotSupportedYetError,
)
from cirrusml.serving._router import Routes
from cirrusml.spec import load_online_deployment, load_online_endpoint
from cirrusml.tracking import EndpointStore, Workspace, process_alive
from tests.conftest import breast_cancer_frame, wait_for

CIRRUS = str(Path(sys.executable).with_name("cirrus"))
ENDPOINT = "cancer-ep"
HEADER = "azureml-model-deployment"
SCORED = '"POST /score HTTP/1.1" 200'


def cirrus(*args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIRRUS, *args, "--workspace", str(workspace)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


# --------------------------------------------------------------------- routing, no process


def test_pick_follows_the_traffic_weights():
    routes = Routes(traffic={"blue": 90, "green": 10, "idle": 0})
    assert routes.pick(0.0) == "blue"
    assert routes.pick(0.8999) == "blue"
    assert routes.pick(0.9) == "green"
    assert routes.pick(0.9999) == "green"
    assert Routes(traffic={"blue": 0}).pick(0.5) is None
    assert Routes().pick(0.5) is None


def test_az_traffic_form_is_parsed_and_checked():
    from cirrusml.cli._endpoints import parse_traffic

    assert parse_traffic("blue=90 green=10") == {"blue": 90, "green": 10}
    assert parse_traffic("blue=90,green=10") == {"blue": 90, "green": 10}
    with pytest.raises(InvalidSpecError, match="traffic.*blue:90"):
        parse_traffic("blue:90")


def test_an_unknown_endpoint_is_named_with_a_suggestion(tmp_path):
    client = MLClient(workspace=tmp_path / "ws")
    with pytest.raises(EndpointNotFoundError, match="no online endpoint 'nope'"):
        client.online_endpoints.get("nope")
    with pytest.raises(NotSupportedYetError, match="aml_token"):
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="tok-ep", auth_mode="aml_token"))
    with pytest.raises(InvalidSpecError, match="traffic: names deployment 'blue'"):
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="new-ep", traffic={"blue": 100}))
    assert client.online_endpoints.list() == []
    with pytest.raises(InvalidSpecError, match="begin_create_or_update takes"):
        client.begin_create_or_update(Model(name="m", path=str(tmp_path)))
    with pytest.raises(InvalidSpecError, match="goes to begin_create_or_update"):
        client.create_or_update(ManagedOnlineEndpoint(name="new-ep"))


# ------------------------------------------------------------------------- the real thing


def _write_yaml(folder: Path) -> dict[str, Path]:
    """An endpoint file and two deployment files in Azure's CLI v2 layout."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"endpoint": folder / "endpoint.yml"}
    files["endpoint"].write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
        f"name: {ENDPOINT}\nauth_mode: key\ndescription: breast cancer diagnosis\n"
        "tags:\n  team: risk\n", encoding="utf-8")
    for name, version, count in (("blue", 1, 1), ("green", 2, 2)):
        files[name] = folder / f"{name}-deployment.yml"
        files[name].write_text(
            "$schema: https://azuremlschemas.azureedge.net/latest/"
            "managedOnlineDeployment.schema.json\n"
            f"name: {name}\nendpoint_name: {ENDPOINT}\nmodel: azureml:cancer:{version}\n"
            f"instance_type: Standard_DS3_v2\ninstance_count: {count}\n"
            "request_settings:\n  request_timeout_ms: 20000\n"
            "readiness_probe:\n  initial_delay: 1\n  period: 1\n  failure_threshold: 120\n",
            encoding="utf-8")
    return files


def _all_pids(workspace: Path) -> list[int]:
    store = EndpointStore(Workspace(workspace))
    pids = []
    for record in store.records():
        processes = [record.router] + [d.process for d in record.deployments.values()]
        pids += [p.pid for p in processes if p is not None]
    return pids


def _kill_leftovers(pids: list[int]) -> None:
    for pid in pids:
        if process_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny real classification job; its best model registered twice (versions 1, 2)."""
    root = tmp_path_factory.mktemp("endpoints")
    client = MLClient(workspace=root / "ws")
    job = automl.classification(training_data=breast_cancer_frame(),
                                target_column_name="diagnosis", primary_metric="accuracy",
                                validation_data_size=0.25)
    job.set_limits(max_trials=1, timeout_minutes=5)
    job.set_training(allowed_training_algorithms=["LogisticRegression"],
                     enable_model_explainability=False, enable_vote_ensemble=False,
                     enable_stack_ensemble=False)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    versions = [client.models.create_or_update(Model(
        path=f"azureml://jobs/{name}/outputs/best_model", name="cancer",
        type=AssetTypes.MLFLOW_MODEL)).version for _ in range(2)]
    assert versions == ["1", "2"]
    return client, root


@pytest.fixture(scope="module")
def endpoint(trained):
    """The endpoint made from Azure's YAML files: blue (model version 1, one worker) and green
    (version 2, two workers), traffic 90/10. Every process is stopped at the end."""
    client, root = trained
    files = _write_yaml(root / "yaml")
    workspace = client.workspace_path
    try:
        created = client.online_endpoints.begin_create_or_update(
            load_online_endpoint(files["endpoint"])).result()
        for name in ("blue", "green"):
            poller = client.begin_create_or_update(load_online_deployment(files[name]))
            assert poller.done()
            assert poller.status() == "Succeeded"
        created.traffic = {"blue": 90, "green": 10}
        client.online_endpoints.begin_create_or_update(created).wait()
        rows = breast_cancer_frame().drop(columns=["diagnosis"]).head(5)
        request = root / "request.json"
        request.write_text(json.dumps({"input_data": json.loads(rows.to_json(
            orient="split"))}), encoding="utf-8")
        yield {"client": client, "root": root, "files": files, "request": request,
               "payload": json.loads(request.read_text(encoding="utf-8"))}
    finally:
        pids = _all_pids(workspace)
        for name in EndpointStore(Workspace(workspace)).names():
            client.online_endpoints.begin_delete(name)
        _kill_leftovers(pids)


def _keys(client):
    return client.online_endpoints.get_keys(ENDPOINT)


def _post(client, payload, *, key=None, headers=None):
    scoring_uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    return requests.post(scoring_uri, json=payload, headers=sent, timeout=60)


def _scored(client, deployment):
    """How many requests the deployment's server has answered with 200 (its access log)."""
    return client.online_deployments.get_logs(deployment, ENDPOINT).count(SCORED)


def _record(client):
    return EndpointStore(Workspace(client.workspace_path)).read(ENDPOINT)


@pytest.mark.slow
def test_the_endpoint_and_its_deployments_are_recorded(endpoint):
    client = endpoint["client"]
    got = client.online_endpoints.get(ENDPOINT)
    assert got.scoring_uri.startswith("http://127.0.0.1:")
    assert got.scoring_uri.endswith("/score")
    assert got.traffic == {"blue": 90, "green": 10}
    assert got.provisioning_state == "Succeeded"
    assert got.description == "breast cancer diagnosis"
    assert got.tags == {"team": "risk"}
    assert [e.name for e in client.online_endpoints.list()] == [ENDPOINT]
    deployments = {d.name: d for d in client.online_deployments.list(ENDPOINT)}
    assert sorted(deployments) == ["blue", "green"]
    assert deployments["blue"].model == "azureml:cancer:1"
    assert deployments["green"].model == "azureml:cancer:2"
    assert deployments["green"].instance_count == 2
    assert deployments["blue"].instance_type == "Standard_DS3_v2"  # kept, not acted on
    assert all(d.provisioning_state == "Succeeded" for d in deployments.values())
    record = _record(client)
    registry = client.models.get("cancer", version=2)
    assert Path(record.deployments["green"].model_path) == Path(registry.path)
    folder = EndpointStore(Workspace(client.workspace_path)).folder(ENDPOINT)
    assert stat.S_IMODE((folder / "keys.json").stat().st_mode) == 0o600
    config = folder / "deployments" / "blue" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    # Every process binds the loopback interface.
    assert {record.router.host} | {d.process.host for d in record.deployments.values()} == {
        "127.0.0.1"}


@pytest.mark.slow
def test_invoke_through_the_sdk(endpoint):
    client = endpoint["client"]
    answer = json.loads(client.online_endpoints.invoke(ENDPOINT,
                                                        request_file=endpoint["request"]))
    assert len(answer) == 5
    assert set(answer) <= {"malignant", "benign"}
    before = _scored(client, "green")
    frame = breast_cancer_frame().drop(columns=["diagnosis"]).head(3)
    by_green = json.loads(client.online_endpoints.invoke(ENDPOINT, deployment_name="green",
                                                          input_data=frame))
    assert by_green == answer[:3]
    assert wait_for(lambda: _scored(client, "green") == before + 1, timeout=10)
    with pytest.raises(EndpointNotFoundError, match="no deployment 'grey'.*green"):
        client.online_endpoints.invoke(ENDPOINT, request_file=endpoint["request"],
                                       deployment_name="grey")
    with pytest.raises(EndpointError, match="422") as caught:
        client.online_endpoints.invoke(ENDPOINT, input_data={"input_data": [{"x": 1}]})
    assert caught.value.status_code == 422


@pytest.mark.slow
def test_plain_http_needs_a_key(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    keys = _keys(client)
    for key in (keys.primary_key, keys.secondary_key):
        answer = _post(client, payload, key=key)
        assert answer.status_code == 200, answer.text
        assert answer.headers[HEADER] in ("blue", "green")
        assert len(answer.json()) == 5
    for key in (None, "not-the-key-at-all"):
        refused = _post(client, payload, key=key)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "Unauthorized"
    # A deployment's own port takes only the router's key, not the endpoint's.
    blue = _record(client).deployments["blue"].process
    direct = requests.post(f"http://127.0.0.1:{blue.port}/score", json=payload, timeout=60,
                           headers={"Authorization": f"Bearer {keys.primary_key}"})
    assert direct.status_code == 401


@pytest.mark.slow
def test_the_header_picks_the_deployment(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    key = _keys(client).primary_key
    before = _scored(client, "green")
    for _ in range(8):
        answer = _post(client, payload, key=key, headers={HEADER: "green"})
        assert answer.status_code == 200
        assert answer.headers[HEADER] == "green"
    assert wait_for(lambda: _scored(client, "green") == before + 8, timeout=10)
    unknown = _post(client, payload, key=key, headers={HEADER: "grey"})
    assert unknown.status_code == 404
    assert "grey" in unknown.json()["error"]["message"]


@pytest.mark.slow
def test_traffic_is_split_by_weight(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    key = _keys(client).primary_key
    before = {name: _scored(client, name) for name in ("blue", "green")}
    answered = Counter()
    with requests.Session() as session:
        uri = client.online_endpoints.get(ENDPOINT).scoring_uri
        for _ in range(200):
            answer = session.post(uri, json=payload, timeout=60,
                                  headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200
            answered[answer.headers[HEADER]] += 1
    assert answered["blue"] + answered["green"] == 200
    assert 5 <= answered["green"] <= 45, answered  # 10% of 200 is 20 (sd 4.2)
    # The servers themselves saw what the router says it sent them.
    for name in ("blue", "green"):
        assert wait_for(lambda n=name: _scored(client, n) - before[n] == answered[n],
                        timeout=10), (name, answered)


@pytest.mark.slow
def test_the_cli(endpoint):
    client, root = endpoint["client"], endpoint["root"]
    workspace = client.workspace_path
    result = cirrus("online-endpoint", "invoke", "-n", ENDPOINT, "--request-file",
                    str(endpoint["request"]), "--deployment-name", "blue", workspace=workspace)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 5
    shown = cirrus("online-endpoint", "show", "-n", ENDPOINT, workspace=workspace)
    assert shown.returncode == 0, shown.stderr
    assert "blue=90 green=10" in shown.stdout
    assert "azureml:cancer:2" in shown.stdout
    listed = cirrus("online-endpoint", "list", workspace=workspace)
    assert ENDPOINT in listed.stdout
    assert "Succeeded" in listed.stdout
    credentials = json.loads(cirrus("online-endpoint", "get-credentials", "-n", ENDPOINT,
                                    workspace=workspace).stdout)
    assert credentials == {"primaryKey": _keys(client).primary_key,
                           "secondaryKey": _keys(client).secondary_key}
    deployments = cirrus("online-deployment", "list", "--endpoint-name", ENDPOINT,
                         workspace=workspace)
    assert "green" in deployments.stdout
    assert "10%" in deployments.stdout
    logs = cirrus("online-deployment", "get-logs", "-n", "blue", "--endpoint-name", ENDPOINT,
                  "--lines", "3", workspace=workspace)
    assert logs.returncode == 0
    assert len(logs.stdout.splitlines()) == 3
    bad = cirrus("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=90 grey=10",
                 workspace=workspace)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "grey" in bad.stderr
    assert "green" in bad.stderr
    moved = cirrus("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=80 green=20",
                   workspace=workspace)
    assert moved.returncode == 0, moved.stderr
    assert client.online_endpoints.get(ENDPOINT).traffic == {"blue": 80, "green": 20}
    assert cirrus("online-endpoint", "update", "-n", ENDPOINT, "--traffic", "blue=90 green=10",
                  workspace=workspace).returncode == 0

    # A second endpoint made and removed with the CLI alone.
    (root / "cli").mkdir()
    (root / "cli" / "endpoint.yml").write_text("name: cli-ep\nauth_mode: key\n",
                                               encoding="utf-8")
    (root / "cli" / "deployment.yml").write_text(
        "name: only\nendpoint_name: cli-ep\nmodel: azureml:cancer:1\n", encoding="utf-8")
    created = cirrus("online-endpoint", "create", "--file", str(root / "cli" / "endpoint.yml"),
                     workspace=workspace)
    assert created.returncode == 0, created.stderr
    deployed = cirrus("online-deployment", "create", "--file",
                      str(root / "cli" / "deployment.yml"), "--all-traffic", workspace=workspace)
    assert deployed.returncode == 0, deployed.stderr
    assert client.online_endpoints.get("cli-ep").traffic == {"only": 100}
    invoked = cirrus("online-endpoint", "invoke", "-n", "cli-ep", "--request-file",
                     str(endpoint["request"]), workspace=workspace)
    assert invoked.returncode == 0
    assert len(json.loads(invoked.stdout)) == 5
    pids = [p for p in _all_pids(workspace) if p not in _pids_of(client, ENDPOINT)]
    assert len(pids) == 2
    assert all(process_alive(p) for p in pids)
    removed = cirrus("online-endpoint", "delete", "-n", "cli-ep", "--yes", workspace=workspace)
    assert removed.returncode == 0, removed.stderr
    assert not any(process_alive(p) for p in pids)
    assert [e.name for e in client.online_endpoints.list()] == [ENDPOINT]


def _pids_of(client, name):
    record = EndpointStore(Workspace(client.workspace_path)).read(name)
    return [record.router.pid] + [d.process.pid for d in record.deployments.values()]


@pytest.mark.slow
def test_regenerated_keys_take_effect_without_restarts(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    old = _keys(client)
    pids = _pids_of(client, ENDPOINT)
    new = client.online_endpoints.regenerate_keys(ENDPOINT, key_type="primary")
    assert new.primary_key != old.primary_key
    assert new.secondary_key == old.secondary_key
    assert _keys(client) == new
    assert _post(client, payload, key=old.primary_key).status_code == 401
    assert _post(client, payload, key=new.primary_key).status_code == 200
    assert _post(client, payload, key=old.secondary_key).status_code == 200
    client.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="secondary").result()
    assert _post(client, payload, key=old.secondary_key).status_code == 401
    assert _post(client, payload, key=_keys(client).secondary_key).status_code == 200
    assert _pids_of(client, ENDPOINT) == pids
    with pytest.raises(InvalidSpecError, match="key_type"):
        client.online_endpoints.regenerate_keys(ENDPOINT, key_type="tertiary")


@pytest.mark.slow
def test_mirror_traffic_reaches_the_mirror_and_is_not_returned(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    key = _keys(client).primary_key
    got = client.online_endpoints.get(ENDPOINT)
    got.traffic, got.mirror_traffic = {"green": 10, "blue": 90}, {"blue": 10}
    with pytest.raises(InvalidSpecError, match="live or mirrored traffic, not both"):
        client.online_endpoints.begin_create_or_update(got)
    got.traffic, got.mirror_traffic = {"blue": 100, "green": 0}, {"green": 50}
    client.online_endpoints.begin_create_or_update(got).wait()
    before = _scored(client, "green")
    for _ in range(30):
        answer = _post(client, payload, key=key)
        assert answer.status_code == 200
        assert answer.headers[HEADER] == "blue"
    # Half the requests, on average, were copied to green: at least one was (1 - 2**-30).
    assert wait_for(lambda: _scored(client, "green") > before, timeout=20)
    got.traffic, got.mirror_traffic = {"blue": 90, "green": 10}, {}
    client.online_endpoints.begin_create_or_update(got).wait()
    assert client.online_endpoints.get(ENDPOINT).mirror_traffic == {}


@pytest.mark.slow
def test_traffic_rules(endpoint):
    client = endpoint["client"]
    got = client.online_endpoints.get(ENDPOINT)
    with pytest.raises(InvalidSpecError, match="add up to 100"):
        got.traffic = {"blue": 50, "green": 10}
    got.traffic = {"blue": 50, "grey": 50}
    with pytest.raises(InvalidSpecError, match="traffic: names deployment 'grey'"):
        client.online_endpoints.begin_create_or_update(got)
    with pytest.raises(InvalidSpecError, match="still takes 10%"):
        client.online_deployments.begin_delete("green", ENDPOINT)
    assert client.online_endpoints.get(ENDPOINT).traffic == {"blue": 90, "green": 10}


@pytest.mark.slow
def test_updating_a_deployment_replaces_its_server(endpoint):
    client, files = endpoint["client"], endpoint["files"]
    old = _record(client).deployments["blue"].process
    deployment = load_online_deployment(files["blue"])
    deployment.model = "azureml:cancer:2"
    updated = client.online_deployments.begin_create_or_update(deployment).result()
    assert updated.model == "azureml:cancer:2"
    new = _record(client).deployments["blue"].process
    assert new.pid != old.pid
    assert not process_alive(old.pid, old.pid_started)
    assert client.online_endpoints.get(ENDPOINT).traffic == {"blue": 90, "green": 10}
    answer = client.online_endpoints.invoke(ENDPOINT, request_file=endpoint["request"],
                                            deployment_name="blue")
    assert len(json.loads(answer)) == 5


@pytest.mark.slow
def test_a_killed_deployment_shows_and_comes_back(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    key = _keys(client).primary_key
    blue = _record(client).deployments["blue"].process
    os.kill(blue.pid, signal.SIGKILL)
    assert wait_for(lambda: not process_alive(blue.pid, blue.pid_started), timeout=10)
    assert client.online_deployments.get("blue", ENDPOINT).provisioning_state == "Failed"
    states = {d.name: d.provisioning_state for d in client.online_deployments.list(ENDPOINT)}
    assert states == {"blue": "Failed", "green": "Succeeded"}
    down = _post(client, payload, key=key, headers={HEADER: "blue"})
    assert down.status_code == 502
    assert down.json()["error"]["code"] == "DeploymentUnavailable"
    # invoke brings it back (on a new port), then serves through it.
    answer = client.online_endpoints.invoke(ENDPOINT, request_file=endpoint["request"],
                                            deployment_name="blue")
    assert len(json.loads(answer)) == 5
    again = _record(client).deployments["blue"].process
    assert again.pid != blue.pid
    assert process_alive(again.pid, again.pid_started)
    assert client.online_deployments.get("blue", ENDPOINT).provisioning_state == "Succeeded"
    assert _post(client, payload, key=key, headers={HEADER: "blue"}).status_code == 200


@pytest.mark.slow
def test_a_killed_router_comes_back_on_its_port(endpoint):
    client, payload = endpoint["client"], endpoint["payload"]
    before = client.online_endpoints.get(ENDPOINT)
    router = _record(client).router
    os.kill(router.pid, signal.SIGKILL)
    assert wait_for(lambda: not process_alive(router.pid, router.pid_started), timeout=10)
    assert client.online_endpoints.get(ENDPOINT).provisioning_state == "Failed"
    restarted = client.online_endpoints.restart(ENDPOINT)
    assert restarted.provisioning_state == "Succeeded"
    assert restarted.scoring_uri == before.scoring_uri
    assert _post(client, payload, key=_keys(client).primary_key).status_code == 200


@pytest.mark.slow
def test_delete_stops_every_process(endpoint):
    client = endpoint["client"]
    got = client.online_endpoints.get(ENDPOINT)
    got.traffic = {"blue": 100, "green": 0}
    client.online_endpoints.begin_create_or_update(got).wait()
    green = _record(client).deployments["green"].process
    client.online_deployments.begin_delete("green", ENDPOINT).wait()
    assert not process_alive(green.pid, green.pid_started)
    assert [d.name for d in client.online_deployments.list(ENDPOINT)] == ["blue"]
    pids = _pids_of(client, ENDPOINT)
    client.online_endpoints.begin_delete(ENDPOINT).wait()
    assert not any(process_alive(p) for p in pids)
    assert client.online_endpoints.list() == []
    with pytest.raises(EndpointNotFoundError):
        client.online_endpoints.get(ENDPOINT)
