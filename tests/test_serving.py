"""The REST scoring server: payload parsing and value checks on their own, then the real server
(a background process on a free loopback port) serving the best models of two tiny jobs, and an
in-process uvicorn server around a controllable model for timeouts, 429s and 500s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import mlflow
import numpy as np
import pandas as pd
import psutil
import pytest
import requests

from cirrusml import Input, MLClient, automl
from cirrusml.exceptions import InvalidSpecError
from cirrusml.serving import (
    Scorer,
    ScoringError,
    ServerConfig,
    ServingError,
    create_app,
    generate_key,
    parse_body,
    parse_payload,
    start_server,
    stop_server,
    wait_until_ready,
)
from cirrusml.serving._app import Admission
from cirrusml.serving._schema import InputSchema
from tests.conftest import breast_cancer_frame, wait_for
from tests.test_forecast import panel

PRIMARY, SECONDARY = "primary-" + generate_key(), "secondary-" + generate_key()
LIMIT = 256 * 1024  # the keyed server's max_request_bytes


# ------------------------------------------------------------------------ payload parsing

ROWS = [{"a": 1.0, "b": "x"}, {"a": 2.5, "b": "y"}]
SPLIT = {"columns": ["a", "b"], "index": [10, 11], "data": [[1.0, "x"], [2.5, "y"]]}


@pytest.mark.parametrize(("payload", "method"), [
    ({"input_data": SPLIT}, "predict"),
    ({"input_data": ROWS}, "predict"),
    ({"input_data": {"data": ROWS}}, "predict"),
    ({"input_data": ROWS, "params": {"method": "predict_proba"}}, "predict_proba"),
    ({"Inputs": {"data": ROWS}, "GlobalParameters": {"method": "predict_proba"}},
     "predict_proba"),
    ({"Inputs": {"data": ROWS}}, "predict"),
    ({"dataframe_split": SPLIT}, "predict"),
    ({"dataframe_records": ROWS, "params": {"method": "predict"}}, "predict"),
    (SPLIT, "predict"),
    ({"columns": ["a", "b"], "data": [[1.0, "x"], [2.5, "y"]]}, "predict"),
    (ROWS, "predict"),
])
def test_every_accepted_shape_gives_the_same_rows(payload, method):
    request = parse_payload(payload)
    assert request.method == method
    assert list(request.frame.columns) == ["a", "b"]
    assert request.frame["a"].tolist() == [1.0, 2.5]
    assert request.frame["b"].tolist() == ["x", "y"]
    assert pd.api.types.is_float_dtype(request.frame["a"])


def test_split_keeps_its_index_and_options_pass_through():
    request = parse_payload({"input_data": SPLIT,
                             "params": {"method": "forecast_quantiles", "quantiles": [0.1]}})
    assert request.frame.index.tolist() == [10, 11]
    assert request.params == {"quantiles": [0.1]}


@pytest.mark.parametrize(("body", "code", "named"), [
    (b"{not json", "InvalidJson", "not valid JSON"),
    (b"", "EmptyBody", "empty"),
    (b'{"a": "\xff"}', "InvalidJson", "UTF-8"),
    (b'{"foo": [1]}', "UnknownPayloadShape", "'foo'"),
    (b'"text"', "UnknownPayloadShape", "string"),
    (b'{"input_data": []}', "EmptyData", "input_data"),
    (b'{"input_data": {"columns": ["a"], "data": []}}', "EmptyData", "input_data.data"),
    (b'{"Inputs": {"data": []}}', "EmptyData", "Inputs.data"),
    (b'[]', "EmptyData", "the body"),
    (b'{"input_data": [1, 2]}', "InvalidPayload", "input_data[0]"),
    (b'{"input_data": {"columns": ["a", "b"], "data": [[1]]}}', "InvalidPayload",
     "input_data.data[0] has 1 value(s)"),
    (b'{"input_data": {"data": [[1, 2]]}}', "InvalidPayload", '"columns"'),
    (b'{"input_data": {"columns": ["a", "a"], "data": [[1, 2]]}}', "InvalidPayload", "'a'"),
    (b'{"input_data": {"columns": ["a"], "index": [1, 2], "data": [[1]]}}', "InvalidPayload",
     "index"),
    (b'{"input_data": [{"a": 1}], "params": "predict_proba"}', "InvalidPayload", "params"),
    (b'{"input_data": [{"a": 1}], "params": {"method": 3}}', "InvalidPayload", "method"),
    (b'{"input_data": [{"a": 1}], "Inputs": {"data": [{"a": 1}]}}', "InvalidPayload",
     "'Inputs'"),
    (b'{"Inputs": {"rows": [{"a": 1}]}}', "InvalidPayload", '"data"'),
    (b'{"Inputs": {"data": [{"a": 1}], "other": []}}', "InvalidPayload", "'other'"),
    (b'{"input_data": [{"a": 1}], "extra": 1}', "InvalidPayload", "'extra'"),
])
def test_each_bad_body_is_one_400_naming_the_problem(body, code, named):
    with pytest.raises(ScoringError) as caught:
        parse_body(body)
    assert caught.value.status == 400
    assert caught.value.code == code
    assert named in caught.value.message


def test_an_unknown_shape_lists_the_accepted_ones():
    with pytest.raises(ScoringError) as caught:
        parse_payload({"instances": [[1, 2]]})
    for key in ("input_data", "Inputs", "dataframe_split", "dataframe_records"):
        assert key in caught.value.message


# --------------------------------------------------------------------------- value checks

SCHEMA = InputSchema(("n", "flag", "when", "label"), ("numeric", "boolean", "datetime", "text"))


def _frame(**overrides):
    row = {"n": 1.5, "flag": True, "when": "2024-01-31", "label": "x", "extra": object()}
    rows = [dict(row), dict(row), dict(row)]
    for column, value in overrides.items():
        rows[2][column] = value
    return pd.DataFrame.from_records(rows)


@pytest.mark.parametrize("overrides", [
    {}, {"n": "2.5"}, {"n": None}, {"n": ""}, {"n": "nan"}, {"flag": "yes"}, {"flag": 0},
    {"flag": None}, {"when": None}, {"when": "2024-02-01"}, {"label": 3}, {"label": None},
])
def test_values_the_model_can_take_pass(overrides):
    SCHEMA.check(_frame(**overrides))


@pytest.mark.parametrize(("overrides", "column"), [
    ({"n": "abc"}, "n"), ({"n": [1]}, "n"), ({"flag": "maybe"}, "flag"),
    ({"when": "not a date"}, "when"), ({"label": {"a": 1}}, "label"),
])
def test_a_wrong_value_is_a_422_naming_column_and_row(overrides, column):
    with pytest.raises(ScoringError) as caught:
        SCHEMA.check(_frame(**overrides))
    assert caught.value.status == 422
    assert caught.value.code == "InvalidValue"
    assert f"column {column!r}" in caught.value.message
    assert "row 2" in caught.value.message


_CORPUS = [1, 2.5, True, None, float("nan"), "", " ", "2.5", " 7 ", "1e3", "1_000", "nan", "inf",
           "-inf", "abc", "yes", "No", "TRUE", "0.0", "maybe", [1], {"a": 1}, object()]


@pytest.mark.parametrize("kind", ["numeric", "boolean", "text"])
def test_small_requests_are_checked_as_large_ones_are(kind):
    """A few rows are checked value by value, many by pandas: the same values pass and fail."""
    from cirrusml.serving._schema import _first_invalid, _first_invalid_small

    for value in _CORPUS:
        values = pd.Series([None, value], dtype=object)
        assert _first_invalid_small(values.to_numpy(), kind) == \
            _first_invalid(values, kind), (kind, value)


def test_missing_columns_are_all_named():
    with pytest.raises(ScoringError) as caught:
        SCHEMA.check(_frame().drop(columns=["n", "label"]))
    assert caught.value.status == 422
    assert caught.value.code == "MissingColumn"
    assert "'n', 'label'" in caught.value.message


def test_admission_refuses_past_its_limit_and_frees_places():
    gate = Admission(2)
    assert gate.enter()
    assert gate.enter()
    assert not gate.enter()
    gate.leave()
    assert gate.enter()


# ---------------------------------------------------------------------------------- config


def test_config_round_trips_through_json(tmp_path):
    config = ServerConfig(model_path="m", primary_key=PRIMARY, port=8123, instance_count=2)
    path = config.write(tmp_path / "c.json")
    assert ServerConfig.from_file(path) == config
    assert ServerConfig.from_file(path, port=9000).port == 9000
    assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize(("values", "field", "says"), [
    ({"model_path": "m"}, None, "primary_key"),
    ({"model_path": "m", "auth_mode": "none", "prot": 1}, "prot", "Did you mean 'port'"),
    ({"model_path": "m", "auth_mode": "none", "port": 70000}, "port", "65535"),
    ({"model_path": "m", "auth_mode": "aad_token", "primary_key": PRIMARY}, "auth_mode", "key"),
    ({"model_path": "m", "primary_key": "short"}, None, "8 printable"),
])
def test_a_bad_config_names_the_setting(values, field, says):
    with pytest.raises(InvalidSpecError) as caught:
        ServerConfig.make(**values)
    assert caught.value.field == field
    assert says in str(caught.value)


# ------------------------------------------------------------- the real server, two models


def _best_model(client, name, into):
    client.jobs.download(name, download_path=into, output_name="best_model")
    return str(into / "named-outputs" / "best_model")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The best models of a one-trial classification job and a one-trial forecasting job."""
    root = tmp_path_factory.mktemp("serving")
    client = MLClient(workspace=root / "ws")
    frame = breast_cancer_frame().head(240)
    frame["site"] = np.where(np.arange(len(frame)) % 3 == 0, "north", "south")
    job = automl.classification(training_data=frame.head(200), target_column_name="diagnosis",
                                primary_metric="AUC_weighted", validation_data_size=0.3, seed=0)
    job.set_training(enable_vote_ensemble=False, enable_stack_ensemble=False)
    job.set_limits(max_trials=1, timeout_minutes=5)
    classifier = client.jobs.create_or_update(job).name
    panel(n=80).to_csv(root / "sales.csv", index=False)
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(root / "sales.csv")),
                             target_column_name="sales", n_cross_validations=2, seed=0)
    job.set_forecast_settings(time_column_name="day", time_series_id_column_names=["store"],
                              forecast_horizon=7)
    job.set_training(allowed_training_algorithms=["Naive"], enable_vote_ensemble=False,
                     enable_stack_ensemble=False)
    job.set_limits(max_trials=1, timeout_minutes=5)
    forecaster = client.jobs.create_or_update(job).name
    for name in (classifier, forecaster):
        assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    rows = frame.tail(40).drop(columns=["diagnosis"]).reset_index(drop=True)
    return {"classifier": _best_model(client, classifier, root / "c"),
            "forecaster": _best_model(client, forecaster, root / "f"), "rows": rows,
            "root": root}


@pytest.fixture(scope="module")
def servers(models):
    """A keyed server of the classifier, and a keyless two-worker server of the forecaster."""
    root = models["root"]
    keyed = start_server(ServerConfig(model_path=models["classifier"], primary_key=PRIMARY,
                                      secondary_key=SECONDARY, max_request_bytes=LIMIT),
                         folder=root / "keyed")
    open_ = start_server(ServerConfig(model_path=models["forecaster"], auth_mode="none",
                                      instance_count=2), folder=root / "open")
    try:
        for server in (keyed, open_):
            wait_until_ready(server)
        yield {"keyed": keyed, "open": open_}
    finally:
        for server in (keyed, open_):
            stop_server(server.pid)


AUTH = {"Authorization": f"Bearer {PRIMARY}"}


def _score(server, body=None, *, data=None, headers=AUTH):
    return requests.post(server.scoring_uri, json=body, data=data, headers=headers, timeout=60)


def _records(rows):
    return json.loads(rows.to_json(orient="records"))


def _split(rows):
    return json.loads(rows.to_json(orient="split"))


@pytest.mark.slow
def test_probes_answer_without_a_key(servers):
    keyed = servers["keyed"]
    live = requests.get(keyed.url + "/", timeout=10)
    assert live.status_code == 200
    assert live.text == "Healthy"
    ready = requests.get(keyed.url + "/health", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["methods"] == ["predict", "predict_proba"]


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["input_data split", "input_data records",
                                   "input_data data records", "v2 Inputs", "pandas split",
                                   "pandas records", "dataframe_split", "dataframe_records"])
def test_every_payload_form_gets_the_models_predictions(servers, models, shape):
    rows = models["rows"].head(7)
    records, split = _records(rows), _split(rows)
    body = {"input_data split": {"input_data": split},
            "input_data records": {"input_data": records},
            "input_data data records": {"input_data": {"data": records}},
            "v2 Inputs": {"Inputs": {"data": records}, "GlobalParameters": {"method": "predict"}},
            "pandas split": split, "pandas records": records,
            "dataframe_split": {"dataframe_split": split},
            "dataframe_records": {"dataframe_records": records}}[shape]
    answer = _score(servers["keyed"], body)
    assert answer.status_code == 200, answer.text
    expected = mlflow.sklearn.load_model(models["classifier"]).predict(rows)
    assert answer.json() == expected.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["GlobalParameters", "params"])
def test_probabilities_on_request(servers, models, how):
    rows = models["rows"].head(5)
    body = ({"Inputs": {"data": _records(rows)}, "GlobalParameters": {"method": "predict_proba"}}
            if how == "GlobalParameters" else
            {"input_data": _split(rows), "params": {"method": "predict_proba"}})
    answer = _score(servers["keyed"], body)
    assert answer.status_code == 200, answer.text
    model = mlflow.sklearn.load_model(models["classifier"])
    expected = model.predict_proba(rows)
    got = answer.json()
    assert [list(row) for row in got] == [[str(c) for c in model.classes_]] * len(rows)
    assert np.allclose([list(row.values()) for row in got], expected, atol=1e-12)


@pytest.mark.slow
def test_extra_columns_are_ignored(servers, models):
    rows = models["rows"].head(4)
    plain = _score(servers["keyed"], {"input_data": _records(rows)})
    extra = _score(servers["keyed"], {"input_data": _records(rows.assign(unrelated="zzz"))})
    assert extra.status_code == 200
    assert extra.json() == plain.json()


@pytest.mark.slow
@pytest.mark.parametrize(("headers", "says"), [
    ({}, "needs a key"),
    ({"Authorization": "Bearer not-the-key-at-all"}, "not valid"),
    ({"Authorization": f"Basic {PRIMARY}"}, "Bearer <key>"),
    ({"Authorization": "Bearer"}, "Bearer <key>"),
])
def test_a_request_without_a_valid_key_is_refused(servers, models, headers, says):
    keyed = servers["keyed"]
    answer = _score(keyed, {"input_data": _records(models["rows"].head(1))}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["error"]["code"] == "Unauthorized"
    assert says in answer.json()["error"]["message"]
    assert _score(keyed, {"input_data": _records(models["rows"].head(1))}).status_code == 200


@pytest.mark.slow
def test_the_secondary_key_works_too(servers, models):
    answer = _score(servers["keyed"], {"input_data": _records(models["rows"].head(2))},
                    headers={"Authorization": f"Bearer {SECONDARY}"})
    assert answer.status_code == 200
    assert len(answer.json()) == 2


def _bad_requests(rows):
    records = _records(rows.head(3))
    text_in_number = [dict(r) for r in records]
    text_in_number[1]["mean_area"] = "large"
    missing = [{k: v for k, v in r.items() if k != "worst_radius"} for r in records]
    huge = json.dumps({"input_data": records * 400}).encode()
    assert len(huge) > LIMIT
    return {
        "bad json": (dict(data=b'{"input_data": [}'), 400, "InvalidJson", "not valid JSON"),
        "unknown shape": (dict(body={"rows": records}), 400, "UnknownPayloadShape",
                          "dataframe_split"),
        "empty data": (dict(body={"input_data": []}), 400, "EmptyData", "no rows"),
        "text in a number column": (dict(body={"input_data": text_in_number}), 422,
                                    "InvalidValue", "column 'mean_area'"),
        "missing column": (dict(body={"input_data": missing}), 422, "MissingColumn",
                           "'worst_radius'"),
        "huge payload": (dict(data=huge), 413, "PayloadTooLarge", str(LIMIT)),
        "huge chunked payload": (dict(data=(huge[i:i + 65536] for i in range(0, len(huge),
                                                                             65536))),
                                 413, "PayloadTooLarge", str(LIMIT)),
        "unknown method": (dict(body={"input_data": records, "params": {"method": "explain"}}),
                           400, "InvalidParameter", "'predict', 'predict_proba'"),
        "unknown option": (dict(body={"input_data": records,
                                      "params": {"method": "predict", "top": 3}}),
                           400, "InvalidParameter", "'top'"),
    }


BAD = ["bad json", "unknown shape", "empty data", "text in a number column", "missing column",
       "huge payload", "huge chunked payload", "unknown method", "unknown option"]


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD)
def test_each_malformed_request_gets_its_4xx_and_the_server_serves_on(servers, models, case):
    keyed = servers["keyed"]
    kwargs, status, code, says = _bad_requests(models["rows"])[case]
    headers = dict(AUTH)
    if "data" in kwargs:
        headers["Content-Type"] = "application/json"
    answer = _score(keyed, kwargs.get("body"), data=kwargs.get("data"), headers=headers)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert says in error["message"]
    assert "Traceback" not in answer.text
    again = _score(keyed, {"input_data": _records(models["rows"].head(2))})
    assert again.status_code == 200
    assert len(again.json()) == 2


@pytest.mark.slow
def test_a_wrong_row_is_named_with_its_position(servers, models):
    rows = _records(models["rows"].head(4))
    rows[3]["mean_texture"] = "n/a?"
    answer = _score(servers["keyed"], {"input_data": rows})
    assert answer.status_code == 422
    assert "row 3" in answer.json()["error"]["message"]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "route", "status", "code"), [
    ("GET", "/score", 405, "MethodNotAllowed"),
    ("PUT", "/score", 405, "MethodNotAllowed"),
    ("POST", "/predict", 404, "NotFound"),
])
def test_a_wrong_route_or_http_method_is_a_json_error(servers, method, route, status, code):
    keyed = servers["keyed"]
    answer = requests.request(method, keyed.url + route, headers=AUTH, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert "POST /score" in answer.json()["error"]["message"]


# --------------------------------------------------------------------- the forecasting model


FUTURE = [{"store": "a", "day": "2021-03-25", "promo": 0},
          {"store": "a", "day": "2021-03-27", "promo": 1},
          {"store": "b", "day": "2021-03-25", "promo": 0}]


@pytest.mark.slow
def test_a_forecasting_model_forecasts_the_rows_given_without_a_key(servers, models):
    answer = requests.post(servers["open"].scoring_uri, json={"input_data": FUTURE}, timeout=60)
    assert answer.status_code == 200, answer.text
    model = mlflow.sklearn.load_model(models["forecaster"])
    expected = model.predict(pd.DataFrame(FUTURE))
    assert np.allclose(answer.json(), expected)
    quantiles = requests.post(servers["open"].scoring_uri, timeout=60, json={
        "input_data": FUTURE, "params": {"method": "forecast_quantiles", "quantiles": [0.1, 0.9]}})
    assert quantiles.status_code == 200, quantiles.text
    assert all(row["0.1"] <= row["0.9"] for row in quantiles.json())


@pytest.mark.slow
def test_rows_with_the_target_are_history(servers):
    rows = [{"store": "a", "day": "2021-03-25", "promo": 0, "sales": 500.0},
            {"store": "a", "day": "2021-03-26", "promo": 0}]
    answer = requests.post(servers["open"].scoring_uri, json={"input_data": rows}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0] == 500.0  # history comes back as given
    assert answer.json()[1] == pytest.approx(500.0)  # the naive forecast carries it on


@pytest.mark.slow
@pytest.mark.parametrize(("body", "status", "code", "says"), [
    ({"input_data": [{"store": "zz", "day": "2021-03-25", "promo": 0}]}, 422, "InvalidInput",
     "'zz'"),
    ({"input_data": [{"store": "a", "day": "someday", "promo": 0}]}, 422, "InvalidValue",
     "column 'day'"),
    ({"input_data": [{"store": "a", "day": "2021-03-25"}]}, 422, "MissingColumn", "'promo'"),
    ({"input_data": FUTURE, "params": {"method": "predict_proba"}}, 400, "MethodNotSupported",
     "no class probabilities"),
])
def test_a_forecasting_request_the_model_cannot_answer_is_a_4xx(servers, body, status, code,
                                                                says):
    open_ = servers["open"]
    answer = requests.post(open_.scoring_uri, json=body, timeout=60)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert says in answer.json()["error"]["message"]
    assert requests.post(open_.scoring_uri, json={"input_data": FUTURE},
                         timeout=60).status_code == 200


@pytest.mark.slow
def test_instance_count_starts_that_many_workers(servers):
    workers = [p for p in psutil.Process(servers["open"].pid).children(recursive=True)
               if "multiprocessing.spawn" in " ".join(p.cmdline())
               and "resource_tracker" not in " ".join(p.cmdline())]
    assert len(workers) == 2


# --------------------------------------------------------- running it: flags, stop, refusal


@pytest.mark.slow
def test_the_module_runs_from_flags_and_stops(models, tmp_path):
    state = tmp_path / "state.json"
    log = open(tmp_path / "server.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "cirrusml.serving", "--model-path", models["classifier"],
         "--auth-mode", "none", "--port", "0", "--state-file", str(state)],
        stdout=log, stderr=log, start_new_session=True)
    log.close()
    try:
        port = wait_for(lambda: state.exists() and json.loads(state.read_text())["port"], 60)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ready(url), 120)
        rows = _records(models["rows"].head(3))
        assert requests.post(url + "/score", json=rows, timeout=30).status_code == 200
        assert stop_server(proc.pid) is True
        assert proc.wait(timeout=30) is not None
        assert not state.exists()  # the server removes its state file as it ends
        assert stop_server(proc.pid) is False
    finally:
        if proc.poll() is None:
            proc.kill()


def _ready(url):
    try:
        return requests.get(url + "/health", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def test_stop_server_refuses_a_process_that_is_not_a_server():
    with pytest.raises(ServingError, match="not a cirrusml scoring server"):
        stop_server(os.getpid())


def test_a_server_for_a_missing_model_fails_with_its_log(tmp_path):
    config = ServerConfig(model_path=str(tmp_path / "nothing"), auth_mode="none")
    with pytest.raises(ServingError, match="MLmodel"):
        start_server(config, folder=tmp_path / "srv")


# ------------------------------------- in-process server: timeouts, 429s and internal errors


class _Gated:
    """A model that answers once let go, or fails on purpose."""

    def __init__(self):
        self.go = threading.Event()

    def predict(self, X):
        if (X["x"] < 0).any():
            raise RuntimeError("secret detail of the failure")
        if (X["x"] == 1).any():  # held until let go
            self.go.wait(timeout=30)
        return np.zeros(len(X))


@pytest.fixture
def gated():
    import uvicorn

    model = _Gated()
    config = ServerConfig(model_path="unused", auth_mode="none", request_timeout_ms=300)
    app = create_app(Scorer(model, InputSchema(("x",), ("numeric",))), config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", model, app
    finally:
        model.go.set()
        server.should_exit = True
        thread.join(timeout=30)


def test_a_request_past_request_timeout_ms_is_a_408(gated):
    url, model, _app = gated
    answer = requests.post(url + "/score", json=[{"x": 1}], timeout=30)
    assert answer.status_code == 408
    assert "request_timeout_ms (300 ms)" in answer.json()["error"]["message"]
    model.go.set()
    assert requests.post(url + "/score", json=[{"x": 1}], timeout=30).json() == [0.0]


def test_requests_past_twice_the_concurrency_get_a_429(gated):
    url, model, app = gated
    answers = []
    callers = [threading.Thread(target=lambda: answers.append(
        requests.post(url + "/score", json=[{"x": 1}], timeout=30))) for _ in range(2)]
    for caller in callers:
        caller.start()
    wait_for(lambda: app.state.admission.inside == 2, 10, step=0.01)
    third = requests.post(url + "/score", json=[{"x": 1}], timeout=30)
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "TooManyRequests"
    model.go.set()
    for caller in callers:
        caller.join(timeout=30)
    wait_for(lambda: app.state.admission.inside == 0, 10, step=0.01)
    assert requests.post(url + "/score", json=[{"x": 1}], timeout=30).status_code == 200


def test_a_model_failure_is_a_generic_500_with_the_detail_only_in_the_log(gated, caplog):
    url, model, _app = gated
    model.go.set()
    with caplog.at_level("ERROR", logger="cirrusml.serving"):
        answer = requests.post(url + "/score", json=[{"x": -1}], timeout=30)
    assert answer.status_code == 500
    assert "secret detail" not in answer.text
    assert "Traceback" not in answer.text
    error_id = answer.json()["error"]["message"].split("error id ")[1].split(")")[0]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
    assert requests.post(url + "/score", json=[{"x": 1}], timeout=30).status_code == 200


def test_time_spent_waiting_counts_toward_the_timeout(gated):
    """A request queued behind a stuck one times out too, though the model would answer it at
    once."""
    url, model, app = gated
    first = threading.Thread(target=lambda: requests.post(url + "/score", json=[{"x": 1}],
                                                          timeout=30))
    first.start()
    wait_for(lambda: app.state.admission.inside == 1, 10, step=0.01)
    second = requests.post(url + "/score", json=[{"x": 2}], timeout=30)
    assert second.status_code == 408
    model.go.set()
    first.join(timeout=30)


def test_stop_server_of_an_ended_pid_is_false(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert stop_server(proc.pid) is False


def test_the_package_exports_what_it_lists():
    import cirrusml.serving as serving

    assert all(hasattr(serving, name) for name in serving.__all__)
