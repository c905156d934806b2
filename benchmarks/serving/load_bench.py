"""Load and reliability of the scoring server, side by side with ``mlflow models serve``.

    .venv/bin/python benchmarks/serving/load_bench.py --budget 60 \
        --out benchmarks/serving/RESULTS.md            # trains the bank-marketing job first
    .venv/bin/python benchmarks/serving/load_bench.py --model path/to/best_model ...

1. The model: ``--model`` (an MLflow model folder), or the best model of Azure's bank-marketing
   job file run for ``--budget`` seconds (an open search: the file's two-algorithm list and its
   exit score lifted).
2. Two servers on loopback, each with ``--workers`` worker processes, on the same model folder:
   ``python -m cirrusml.serving`` (key auth; ``max_concurrent_requests_per_instance`` set to the
   highest concurrency, so that Azure's queue rule does not turn load into 429s) and
   ``mlflow models serve --env-manager local`` (MLflow's own server, no auth).
3. ``wrk`` (``apt install wrk``) posts one body for ``--seconds`` at concurrency 1, 8 and 32, for a
   single row and for a 1,000-row batch of the job's test rows: requests per second, p50 and
   p99 latency, and every non-2xx answer or socket error counted. Our server gets Azure's MLflow
   payload (``{"input_data": {"columns", "index", "data"}}``), MLflow's gets its own
   (``{"dataframe_split": ...}``) — the same rows.
4. The malformed-request corpus, sent to our server: each request with the status it must get,
   and after each one a good request that must still answer 200.
5. A deployment killed mid-load: the model is registered and deployed behind an online endpoint
   (``ml_client.online_endpoints``), wrk loads its ``scoring_uri``, the deployment's server is
   killed (SIGKILL) a few seconds in; what ``online_deployments.get`` and
   ``online_endpoints.list`` say while it is down, how long ``online_endpoints.restart`` takes to
   bring it back, and the answers that failed meanwhile (the router answers 502 for a deployment
   that is down) are reported.

The load generator shares the machine's cores with the servers: run it on an otherwise idle
machine and read the figures as a side-by-side comparison, not as a server's ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared"
JOB = SHARED / "azure-examples" / "cli-automl-classification-task-bankmarketing" / \
    "cli-automl-classification-task-bankmarketing.yml"
TEST_CSV = JOB.parent / "test-mltable-folder" / "bank_marketing_test_data.csv"
KEY = "load-bench-primary-key"

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{auth}
local f = io.open("{body}", "r")
wrk.body = f:read("*a")
f:close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_model(work: Path, budget: float) -> Path:
    cirrus = str(Path(sys.executable).with_name("cirrus"))
    workspace = work / "ws"
    subprocess.run([cirrus, "job", "create", "--file", str(JOB), "--stream", "--workspace",
                    str(workspace), "--set", f"limits.timeout_minutes={budget / 60}",
                    "--set", "limits.exit_score=null",
                    "--set", "training.allowed_training_algorithms=null",
                    "--set", "training.enable_model_explainability=false"],
                   check=True, capture_output=True, text=True)
    (name,) = [p.name for p in (workspace / "jobs").iterdir()]
    return workspace / "jobs" / name / "outputs" / "best_model"


def wait_ready(url: str, seconds: float = 180) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s")


def start(args: list[str], log: Path) -> subprocess.Popen:
    # ``mlflow models serve`` runs ``uvicorn`` by name: the environment's scripts go first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    return subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(url: str, body: Path, connections: int, seconds: int, auth: bool,
            work: Path, key: str = KEY) -> dict:
    script = work / f"post-{body.stem}-{int(auth)}.lua"
    script.write_text(LUA.replace("{body}", str(body)).replace(
        "{auth}", f'wrk.headers["Authorization"] = "Bearer {key}"' if auth else ""))
    threads = max(1, min(connections, 2))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                          f"{seconds}s", "--latency", "--timeout", "30s", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (
        sum(int(g) for g in socket_errors.groups()) if socket_errors else 0)
    return {"p50_ms": p50, "p99_ms": p99, "rps": rps, "requests": total, "errors": errors}


def corpus(rows: pd.DataFrame) -> list[tuple[str, bytes, dict[str, str], int]]:
    """(name, body, headers, expected status) for each malformed request."""
    good = rows.head(1)
    columns = list(good.columns)
    record = json.loads(good.to_json(orient="records"))[0]
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def body(obj: object) -> bytes:
        return json.dumps(obj).encode()

    numeric = next(c for c in columns if pd.api.types.is_numeric_dtype(rows[c]))
    wrong_type = {**record, numeric: "not a number"}
    missing = {k: v for k, v in record.items() if k != numeric}
    huge = b'{"input_data": {"columns": ["a"], "data": [' + b"[1]," * 30_000_000 + b"[1]]}}"
    return [
        ("bad JSON", b'{"input_data": [', auth, 400),
        ("not an object", body([1, 2, 3]), auth, 400),
        ("unknown shape", body({"rows": [record]}), auth, 400),
        ("empty data", body({"input_data": {"columns": columns, "data": []}}), auth, 400),
        ("wrong type", body({"input_data": [wrong_type]}), auth, 422),
        ("missing column", body({"input_data": [missing]}), auth, 422),
        ("extra column (ignored)", body({"input_data": [{**record, "extra": 1}]}), auth, 200),
        ("unknown method", body({"Inputs": {"data": [record]},
                                 "GlobalParameters": {"method": "explode"}}), auth, 400),
        ("huge payload (120 MB)", huge, auth, 413),
        ("missing key", body({"input_data": [record]}), {"Content-Type": "application/json"},
         401),
        ("wrong key", body({"input_data": [record]}),
         {**auth, "Authorization": "Bearer wrong-key-123456"}, 401),
    ]


def run_corpus(url: str, rows: pd.DataFrame) -> list[dict]:
    good = json.dumps({"input_data": json.loads(rows.head(1).to_json(orient="split",
                                                                     index=False))})
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    out = []
    for name, data, hdrs, expected in corpus(rows):
        try:
            answer = requests.post(url, data=data, headers=hdrs, timeout=60)
            status, text = answer.status_code, answer.text
        except requests.RequestException as err:
            status, text = -1, str(err)
        after = requests.post(url, data=good, headers=headers, timeout=30).status_code
        out.append({"request": name, "expected": expected, "status": status,
                    "ok": status == expected and after == 200, "served_after": after,
                    "answer": text[:120].replace("|", "/").replace("\n", " ")})
    return out


def kill_mid_load(model: Path, body: Path, work: Path, workers: int, seconds: int) -> dict:
    """Deploy ``model`` behind an endpoint, load it, kill its server, watch and restart it."""
    from cirrusml import MLClient
    from cirrusml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, Model
    from cirrusml.tracking import EndpointStore

    client = MLClient(workspace=work / "endpoint-ws")
    registered = client.models.create_or_update(
        Model(path=str(model), name="load-bench", type="mlflow_model"))
    endpoint = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="load-ep", auth_mode="key")).result()
    client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="load-ep", model=f"azureml:load-bench:{registered.version}",
        instance_count=workers)).result()
    endpoint.traffic = {"blue": 100}
    endpoint = client.online_endpoints.begin_create_or_update(endpoint).result()
    key = client.online_endpoints.get_keys("load-ep").primary_key
    run_wrk(endpoint.scoring_uri, body, 1, 2, True, work, key)  # warm up
    through_router = run_wrk(endpoint.scoring_uri, body, 1, seconds, True, work, key)
    script = work / "endpoint.lua"
    script.write_text(LUA.replace("{body}", str(body)).replace(
        "{auth}", f'wrk.headers["Authorization"] = "Bearer {key}"'))
    out_file = work / "endpoint-wrk.txt"
    try:
        wrk = subprocess.Popen(["wrk", "-t", "2", "-c", "8", "-d", f"{seconds}s", "--latency",
                                "-s", str(script), endpoint.scoring_uri],
                               stdout=out_file.open("w"), stderr=subprocess.STDOUT)
        time.sleep(seconds / 4)
        process = EndpointStore(client._workspace).read("load-ep").deployments["blue"].process
        assert process is not None
        os.killpg(process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(0.5)
        state_down = client.online_deployments.get("blue", "load-ep").provisioning_state
        listed = {d.name: d.provisioning_state
                  for d in client.online_deployments.list("load-ep")}
        time.sleep(1.0)
        start = time.monotonic()
        client.online_endpoints.restart("load-ep")
        restart_seconds = time.monotonic() - start
        back_after = time.monotonic() - killed_at
        state_up = client.online_deployments.get("blue", "load-ep").provisioning_state
        wrk.wait(timeout=seconds + 60)
        text = out_file.read_text()
        total = int(re.search(r"(\d+) requests in", text).group(1))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        answer = client.online_endpoints.invoke("load-ep", request_file=str(body))
    finally:
        with contextlib.suppress(Exception):
            client.online_endpoints.begin_delete("load-ep").result()
    return {"router_p50_ms": through_router["p50_ms"], "router_p99_ms": through_router["p99_ms"],
            "router_errors": through_router["errors"], "state_after_kill": state_down,
            "listed_after_kill": listed,
            "restart_seconds": round(restart_seconds, 2),
            "down_seconds": round(back_after, 2), "state_after_restart": state_up,
            "requests": total, "failed": int(bad.group(1)) if bad else 0,
            "serves_after": answer[:60]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an MLflow model folder (default: train one)")
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="per load run")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt install wrk")
    levels = [int(c) for c in args.concurrency.split(",")]
    work = Path(tempfile.mkdtemp(prefix="cirrus-load-"))
    model = Path(args.model) if args.model else train_model(work, args.budget)
    rows = pd.read_csv(TEST_CSV).drop(columns=["y"])
    batch = pd.concat([rows] * (1000 // len(rows) + 1), ignore_index=True).head(1000)
    bodies = {}
    for label, frame in (("1 row", rows.head(1)), ("1,000 rows", batch)):
        split = json.loads(frame.to_json(orient="split", index=False))
        for server, wrapper in (("cirrusml", "input_data"), ("mlflow", "dataframe_split")):
            path = work / f"{server}-{len(frame)}.json"
            path.write_text(json.dumps({wrapper: split}))
            bodies[(server, label)] = path

    ours_port, mlflow_port = free_port(), free_port()
    ours = start([sys.executable, "-m", "cirrusml.serving", "--model-path", str(model),
                  "--port", str(ours_port), "--primary-key", KEY,
                  "--instance-count", str(args.workers),
                  "--max-concurrent-requests-per-instance", str(max(levels)),
                  "--request-timeout-ms", "60000"], work / "cirrusml.log")
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    theirs = start([mlflow_bin, "models", "serve", "-m", str(model), "-p", str(mlflow_port),
                    "-h", "127.0.0.1", "--env-manager", "local", "-w", str(args.workers)],
                   work / "mlflow.log")
    results = []
    try:
        wait_ready(f"http://127.0.0.1:{ours_port}/health")
        wait_ready(f"http://127.0.0.1:{mlflow_port}/ping")
        targets = {"cirrusml": (f"http://127.0.0.1:{ours_port}/score", True),
                   "mlflow": (f"http://127.0.0.1:{mlflow_port}/invocations", False)}
        for label in ("1 row", "1,000 rows"):
            for c in levels:
                for server, (url, auth) in targets.items():
                    run_wrk(url, bodies[(server, label)], c, 2, auth, work)  # warm up
                    figures = run_wrk(url, bodies[(server, label)], c, args.seconds, auth, work)
                    results.append({"server": server, "body": label, "concurrency": c,
                                    **figures})
                    print(results[-1], flush=True)
        checks = run_corpus(targets["cirrusml"][0], rows)
    finally:
        stop(ours)
        stop(theirs)
    killed = kill_mid_load(model, bodies[("cirrusml", "1 row")], work, args.workers,
                           max(12, args.seconds))
    print(killed, flush=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    lines = [f"Commit {commit}; `benchmarks/serving/load_bench.py {' '.join(sys.argv[1:])}`; "
             f"{args.workers} worker processes per server, wrk on the same 2 cores, "
             f"{args.seconds} s per run.", "",
             "| body | concurrency | server | requests/s | p50 ms | p99 ms | requests | errors |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['body']} | {r['concurrency']} | {r['server']} | {r['rps']:,.0f} | "
                     f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests']:,} | "
                     f"{r['errors']} |")
    lines += ["", "Malformed requests (cirrusml server; a good request follows each one):", "",
              "| request | expected | got | served after | ok | answer (start) |",
              "|---|---:|---:|---:|---|---|"]
    for c in checks:
        lines.append(f"| {c['request']} | {c['expected']} | {c['status']} | "
                     f"{c['served_after']} | {'yes' if c['ok'] else 'NO'} | {c['answer']} |")
    lines += ["", "A deployment killed mid-load (wrk at concurrency 8 on the endpoint's "
              "scoring_uri; SIGKILL to the deployment's server, then "
              "`online_endpoints.restart`):", "",
              f"- before the kill, one row at concurrency 1 through the endpoint (router, then "
              f"deployment): p50 {killed['router_p50_ms']:.2f} ms, p99 "
              f"{killed['router_p99_ms']:.2f} ms, {killed['router_errors']} errors",
              f"- `online_deployments.get` after the kill: **{killed['state_after_kill']}**; "
              f"`online_deployments.list`: {killed['listed_after_kill']}",
              f"- restart took {killed['restart_seconds']} s; the deployment was down "
              f"{killed['down_seconds']} s; then `{killed['state_after_restart']}`",
              f"- {killed['failed']:,} of {killed['requests']:,} requests failed (502 from the "
              f"router while the deployment was down); `invoke` afterwards answered "
              f"`{killed['serves_after']}`"]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(c["ok"] for c in checks) and not any(r["errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
