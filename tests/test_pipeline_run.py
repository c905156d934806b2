"""Running pipeline jobs from hand-written plans: order, parallel nodes, bindings, failure and
skipped nodes, cancel, reuse, MLflow in command nodes, and an AutoML node between two command
nodes. Real workspaces, real runner processes."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cirrusml.client import MLClient
from cirrusml.client._pipelines import check_plan
from cirrusml.exceptions import InvalidSpecError, JobFailedError
from cirrusml.pipeline._executor import render_command

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SRC = REPO / "examples" / "bankmarketing-pipeline" / "src"


# ------------------------------------------------------------------------------- helpers


def _plan(jobs: dict[str, Any], *, inputs: dict[str, Any] | None = None,
          outputs: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    return {"name": None, "display_name": "test pipeline", "experiment_name": "pipeline-tests",
            "description": None, "tags": {},
            "settings": {"default_compute": None, "force_rerun": False,
                         "continue_on_step_failure": False, "max_parallel_nodes": None,
                         **settings},
            "inputs": inputs or {}, "outputs": outputs or {}, "jobs": jobs}


def _cmd(command: str, code: Path | None, *, inputs: dict[str, Any] | None = None,
         outputs: tuple[str, ...] = (), optional: tuple[str, ...] = (),
         deterministic: bool = True) -> dict[str, Any]:
    return {"type": "command", "command": command, "code": str(code) if code else None,
            "environment": "azureml:AzureML-sklearn-1.5@latest", "environment_variables": {},
            "is_deterministic": deterministic, "inputs": inputs or {}, "input_types": {},
            "optional_inputs": list(optional),
            "outputs": {name: {"type": "uri_folder"} for name in outputs},
            "component": {"name": None, "version": None, "source": None}}


def _node(node: str, output: str) -> dict[str, Any]:
    return {"kind": "node", "node": node, "output": output}


def _literal(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def _scripts(folder: Path, **scripts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


def _run(client: MLClient, plan: dict[str, Any]) -> Any:
    job = client.jobs._submit_pipeline(plan)
    client.jobs.wait(job.name, timeout=180, poll_seconds=0.2)
    return client.jobs.get(job.name)


WRITE = """
import sys, pathlib
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
(out / "value.txt").write_text(" ".join(sys.argv[2:]))
print("wrote", " ".join(sys.argv[2:]))
"""
COPY = """
import sys, pathlib
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(out / "value.txt").write_text("seen: " + (src / "value.txt").read_text())
"""
FAIL = """
import sys
print("about to fail: the data is bad")
sys.exit(3)
"""


@pytest.fixture()
def client(tmp_path: Path) -> MLClient:
    return MLClient(workspace=tmp_path / "ws")


# --------------------------------------------------------------------- pure parts, checks


def test_render_command_fills_bindings_and_keeps_or_drops_optional_groups() -> None:
    command = ("python run.py --a ${{inputs.a}} $[[--b ${{inputs.b}}]] $[[--c ${{inputs.c}}]] "
               "--out ${{outputs.out}}")
    text = render_command(command, {"a": "1", "b": "/data/b"}, {"out": "/o"}, node="n",
                          optional=("c",))
    assert text.split() == ["python", "run.py", "--a", "1", "--b", "/data/b", "--out", "/o"]
    with pytest.raises(InvalidSpecError, match="no input 'zz'"):
        render_command("python x.py ${{inputs.zz}}", {"a": "1"}, {}, node="n")
    with pytest.raises(InvalidSpecError, match="optional group"):
        render_command("python x.py ${{inputs.c}}", {}, {}, node="n", optional=("c",))


def test_check_plan_names_unknown_nodes_outputs_and_cycles(tmp_path: Path) -> None:
    bad_node = _plan({"a": _cmd("echo", None, inputs={"x": _node("prep", "out")})})
    with pytest.raises(InvalidSpecError, match="node 'prep'.*nodes are a"):
        check_plan(bad_node)
    bad_output = _plan({"a": _cmd("echo", None, outputs=("out",)),
                        "b": _cmd("echo", None, inputs={"x": _node("a", "outt")})})
    with pytest.raises(InvalidSpecError, match="output 'outt'.*outputs are out"):
        check_plan(bad_output)
    cycle = _plan({"a": _cmd("echo", None, inputs={"x": _node("b", "o")}, outputs=("o",)),
                   "b": _cmd("echo", None, inputs={"x": _node("a", "o")}, outputs=("o",))})
    with pytest.raises(InvalidSpecError, match="cycle: a -> b -> a"):
        check_plan(cycle)


# ------------------------------------------------------------------ order, bindings, views


def test_nodes_run_in_order_with_literals_and_optional_groups(client: MLClient,
                                                              tmp_path: Path) -> None:
    code = _scripts(tmp_path / "code", write=WRITE, copy=COPY)
    plan = _plan({
        # Declared first but downstream: it must wait for 'first'.
        "second": _cmd("python copy.py ${{inputs.src}} ${{outputs.out}}", code,
                       inputs={"src": _node("first", "out")}, outputs=("out",)),
        "first": _cmd("python write.py ${{outputs.out}} ${{inputs.n}} ${{inputs.flag}}"
                      " $[[--opt ${{inputs.opt}}]] $[[--missing ${{inputs.missing}}]]", code,
                      inputs={"n": {"kind": "parent", "input": "count"},
                              "flag": _literal(True), "opt": _literal("yes")},
                      outputs=("out",), optional=("missing",)),
    }, inputs={"count": _literal(7)},
        outputs={"final": {"type": "uri_folder", "node": "second", "output": "out"}})
    job = _run(client, plan)
    assert job.status == "Completed", job.error
    assert job.type == "pipeline" and list(job.jobs) == ["second", "first"]
    first = client.jobs.get(job.jobs["first"].job_name)
    assert first.type == "command" and first.parent_job_name == job.name
    assert first.command.split()[-4:] == ["7", "True", "--opt", "yes"]
    final = Path(job.outputs["final"].path)
    assert (final / "value.txt").read_text() == "seen: 7 True --opt yes"
    nodes = client.jobs.list(parent_job_name=job.name)
    assert [n.node_name for n in nodes] == ["second", "first"]
    assert all(n.status == "Completed" for n in nodes)
    assert [j.name for j in client.jobs.list()] == [job.name]  # node jobs left out
    lines: list[str] = []
    client.jobs.stream(job.name, printer=lines.append)
    assert any("Node first (command) started" in line for line in lines)
    client.jobs.download(job.name, output_name="final", download_path=tmp_path / "dl")
    assert (tmp_path / "dl" / "named-outputs" / "final" / "value.txt").exists()
    client.jobs.download(first.name, output_name="out", download_path=tmp_path / "dl2")
    assert (tmp_path / "dl2" / "named-outputs" / "out" / "value.txt").read_text().startswith("7")
    log = client.jobs.layout(first.name).log.read_text()
    assert "recorded, not built" in log and "wrote 7 True --opt yes" in log


LOG_METRIC = """
import mlflow
with mlflow.start_run() as run:  # resumes the node's run (MLFLOW_RUN_ID), as on Azure's compute
    mlflow.log_metric("rows_seen", 42)
print("run", run.info.run_id)
"""


def test_a_command_nodes_mlflow_calls_land_in_its_own_run(client: MLClient,
                                                          tmp_path: Path) -> None:
    code = _scripts(tmp_path / "code", log_metric=LOG_METRIC)
    job = _run(client, _plan({"measure": _cmd("python log_metric.py", code)}))
    assert job.status == "Completed", job.error
    record = client.jobs.job_record(job.jobs["measure"].job_name)
    assert record.mlflow_run_id
    from mlflow.tracking import MlflowClient

    run = MlflowClient(record.tracking_uri or client.jobs._ws.tracking_uri).get_run(
        record.mlflow_run_id)
    assert run.data.metrics["rows_seen"] == 42
    assert run.info.status == "FINISHED" and run.info.run_name == record.name
    assert f"run {record.mlflow_run_id}" in client.jobs.layout(record.name).log.read_text()


def test_independent_nodes_run_side_by_side(client: MLClient, tmp_path: Path) -> None:
    meet = tmp_path / "meet"
    meet.mkdir()
    script = """
import sys, time, pathlib, json
me, other, out = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
meet = pathlib.Path(sys.argv[4])
(meet / me).write_text(str(time.time()))
for _ in range(300):  # wait (up to 30 s) for the other node to have started too
    if (meet / other).exists():
        break
    time.sleep(0.1)
(out / "times.json").write_text(json.dumps({"start": float((meet / me).read_text()),
                                            "end": time.time()}))
"""
    code = _scripts(tmp_path / "code", meet=script)
    folder = {"kind": "literal", "value": str(meet)}
    plan = _plan({
        "left": _cmd("python meet.py left right ${{outputs.out}} ${{inputs.meet}}", code,
                     inputs={"meet": folder}, outputs=("out",)),
        "right": _cmd("python meet.py right left ${{outputs.out}} ${{inputs.meet}}", code,
                      inputs={"meet": folder}, outputs=("out",)),
    })
    job = _run(client, plan)
    assert job.status == "Completed", job.error
    times = [json.loads((client.jobs.layout(job.jobs[n].job_name).output("out")
                         / "times.json").read_text()) for n in ("left", "right")]
    assert max(t["start"] for t in times) < min(t["end"] for t in times)


# ----------------------------------------------------------------------- failure, cancel


def test_a_failing_node_fails_the_pipeline_and_skips_its_dependents(client: MLClient,
                                                                    tmp_path: Path) -> None:
    code = _scripts(tmp_path / "code", write=WRITE, copy=COPY, fail=FAIL)
    plan = _plan({
        "bad": _cmd("python fail.py ${{outputs.out}}", code, outputs=("out",)),
        "good": _cmd("python write.py ${{outputs.out}} fine", code, outputs=("out",)),
        "after_bad": _cmd("python copy.py ${{inputs.x}} ${{outputs.out}}", code,
                          inputs={"x": _node("bad", "out")}, outputs=("out",)),
        "after_good": _cmd("python copy.py ${{inputs.x}} ${{outputs.out}}", code,
                           inputs={"x": _node("good", "out")}, outputs=("out",)),
    }, continue_on_step_failure=True)
    job = _run(client, plan)
    assert job.status == "Failed"
    assert "node 'bad'" in job.error and "exited with code 3" in job.error
    assert "about to fail: the data is bad" in job.error
    assert job.jobs["good"].status == "Completed"
    assert job.jobs["after_good"].status == "Completed"  # continue_on_step_failure
    skipped = job.jobs["after_bad"]
    assert skipped.status == "Canceled" and "node 'bad'" in skipped.skipped
    with pytest.raises(JobFailedError, match="node 'bad'"):
        client.jobs.stream(job.name, printer=lambda text: None)
    from typer.testing import CliRunner

    from cirrusml.cli.main import app

    result = CliRunner().invoke(app, ["job", "stream", "-n", job.name, "-w",
                                      str(client.workspace_path)])
    assert result.exit_code == 1
    assert "node after_bad: Canceled" in result.output and "node 'bad'" in result.output
    shown = CliRunner().invoke(app, ["job", "show", "-n", job.name, "-w",
                                     str(client.workspace_path)])
    assert shown.exit_code == 0 and "after_good" in shown.output

    missing = _plan({"lost": _cmd("python x.py", tmp_path / "no-such-code")})
    job = _run(client, missing)
    assert job.status == "Failed" and "no-such-code" in job.error and "node 'lost'" in job.error


def test_cancel_stops_the_running_node_and_records_everything_canceled(
        client: MLClient, tmp_path: Path) -> None:
    import psutil

    script = """
import os, sys, time, pathlib
(pathlib.Path(sys.argv[1]) / "pid").write_text(str(os.getpid()))
time.sleep(120)
"""
    code = _scripts(tmp_path / "code", sleep=script, copy=COPY)
    plan = _plan({
        "sleeper": _cmd("python sleep.py ${{outputs.out}}", code, outputs=("out",)),
        "after": _cmd("python copy.py ${{inputs.x}} ${{outputs.out}}", code,
                      inputs={"x": _node("sleeper", "out")}, outputs=("out",)),
    })
    job = client.jobs._submit_pipeline(plan)
    pid_file = client.jobs._store.layout(f"{job.name}-sleeper").output("out") / "pid"
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    assert psutil.pid_exists(pid)
    assert client.jobs.cancel(job.name) == "Canceled"
    job = client.jobs.get(job.name)
    assert job.jobs["sleeper"].status == "Canceled"
    assert job.jobs["after"].status == "Canceled" and job.jobs["after"].skipped
    gone = not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert gone


# ----------------------------------------------------------------------------------- reuse


def test_an_unchanged_node_reuses_its_outputs_until_forced_or_changed(client: MLClient,
                                                                      tmp_path: Path) -> None:
    code = _scripts(tmp_path / "code", write=WRITE)
    code_b = _scripts(tmp_path / "code_b", copy=COPY)
    data = tmp_path / "data.txt"
    data.write_text("some data")
    plan = _plan({
        "first": _cmd("python write.py ${{outputs.out}} ${{inputs.d}}", code,
                      inputs={"d": {"kind": "data", "type": "uri_file", "path": str(data)}},
                      outputs=("out",)),
        "second": _cmd("python copy.py ${{inputs.x}} ${{outputs.out}}", code_b,
                       inputs={"x": _node("first", "out")}, outputs=("out",)),
    }, outputs={"final": {"type": "uri_folder", "node": "second", "output": "out"}})
    one = _run(client, plan)
    assert one.status == "Completed" and one.jobs["first"].reused_from is None
    two = _run(client, plan)
    assert two.status == "Completed"
    assert two.jobs["first"].reused_from == one.jobs["first"].job_name
    assert two.jobs["second"].reused_from == one.jobs["second"].job_name
    assert two.outputs["final"].path == one.outputs["final"].path
    assert not client.jobs.layout(two.jobs["first"].job_name).code_dir.exists()  # nothing ran

    forced = _run(client, {**plan, "settings": {**plan["settings"], "force_rerun": True}})
    assert forced.jobs["first"].reused_from is None and forced.jobs["second"].reused_from is None

    (code_b / "copy.py").write_text(COPY + "\n# changed\n")
    changed = _run(client, plan)
    assert changed.jobs["first"].reused_from is not None
    assert changed.jobs["second"].reused_from is None  # its code changed
    data.write_text("other data")
    new_data = _run(client, plan)
    assert new_data.jobs["first"].reused_from is None  # its data changed
    assert new_data.jobs["second"].reused_from is None  # and so did its input


# --------------------------------------------------------- an AutoML node, MLflow, register


@pytest.fixture(scope="module")
def automl_pipeline(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path
                    ) -> tuple[MLClient, Any]:
    """make_data → preprocess (our example script) → AutoML (1 trial) → register, in one
    workspace."""
    root = tmp_path_factory.mktemp("automl-pipeline")
    source = (examples_dir / "cli-automl-classification-task-bankmarketing-pipeline"
              / "training-mltable-folder" / "bank_marketing_train_data.csv")
    raw = pd.read_csv(source).head(600)
    raw.loc[raw.index[:5], "y"] = None  # rows the preprocessing drops
    raw.to_csv(root / "raw.csv", index=False)
    make = """
import sys, pathlib, shutil
src = pathlib.Path(sys.argv[1])
for out, rows in ((pathlib.Path(sys.argv[2]), slice(0, 450)), (pathlib.Path(sys.argv[3]),
                                                              slice(450, None))):
    lines = src.read_text().splitlines()
    body = lines[1:][rows]
    (out / "part.csv").write_text("\\n".join([lines[0]] + body) + "\\n")
    (out / "MLTable").write_text("paths:\\n  - file: ./part.csv\\ntransformations:\\n"
                                 "  - read_delimited:\\n      delimiter: ','\\n")
"""
    code = _scripts(root / "make", make=make)
    src = root / "src"
    shutil.copytree(EXAMPLE_SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    automl_job = {"type": "automl", "task": "classification", "primary_metric": "accuracy",
                  "target_column_name": "y", "limits": {"max_trials": 1},
                  "training": {"enable_stack_ensemble": False, "enable_vote_ensemble": False}}
    plan = _plan({
        "make_data": _cmd("python make.py ${{inputs.raw}} ${{outputs.train}} ${{outputs.valid}}",
                          code, inputs={"raw": {"kind": "data", "type": "uri_file",
                                                "path": str(root / "raw.csv")}},
                          outputs=("train", "valid")),
        "preprocess": _cmd(
            "python preprocess.py --train_data ${{inputs.train_data}} --validation_data "
            "${{inputs.validation_data}} --preprocessed_train_data "
            "${{outputs.preprocessed_train_data}} --preprocessed_validation_data "
            "${{outputs.preprocessed_validation_data}}", src,
            inputs={"train_data": _node("make_data", "train"),
                    "validation_data": _node("make_data", "valid")},
            outputs=("preprocessed_train_data", "preprocessed_validation_data")),
        "classify": {"type": "automl", "job": automl_job,
                     "inputs": {"training_data": _node("preprocess", "preprocessed_train_data"),
                                "validation_data": _node("preprocess",
                                                         "preprocessed_validation_data")},
                     "outputs": {"best_model": {"type": "mlflow_model"}}},
        "register": _cmd("python register.py --model_input_path ${{inputs.model_input_path}} "
                         "--model_base_name ${{inputs.model_base_name}}", src,
                         inputs={"model_input_path": _node("classify", "best_model"),
                                 "model_base_name": _literal("bankmarketing_test_model")}),
    }, outputs={"model": {"type": "mlflow_model", "node": "classify", "output": "best_model"}})
    for node in ("preprocess", "make_data"):
        plan["jobs"][node]["outputs"] = {k: {"type": "mltable"}
                                         for k in plan["jobs"][node]["outputs"]}
    client = MLClient(workspace=root / "ws")
    job = client.jobs._submit_pipeline(plan)
    client.jobs.wait(job.name, timeout=600, poll_seconds=0.5)
    return client, client.jobs.get(job.name)


def test_an_automl_node_trains_on_upstream_data_and_passes_its_best_model(automl_pipeline):
    client, job = automl_pipeline
    assert job.status == "Completed", job.error
    assert list(job.jobs) == ["make_data", "preprocess", "classify", "register"]
    automl = client.jobs.get(job.jobs["classify"].job_name)
    assert automl.status == "Completed" and automl.task == "classification"
    record = client.jobs.job_record(automl.name)
    assert record.parent_job_name == job.name and record.trials == 1
    assert Path(job.outputs["model"].path, "MLmodel").is_file()
    kinds = {n.node_name if hasattr(n, "node_name") else None: n.type
             for n in client.jobs.list(parent_job_name=job.name)}
    assert len(kinds) == 4
    assert automl.name not in [j.name for j in client.jobs.list()]
    prepared = Path(client.jobs.get(job.jobs["preprocess"].job_name)
                    .outputs["preprocessed_train_data"].path)
    frame = pd.read_csv(prepared / "train.csv")
    assert len(frame) == 445 and frame["y"].notna().all()  # 5 rows without a target dropped


def test_a_command_nodes_register_model_lands_in_the_workspace_registry(automl_pipeline):
    client, job = automl_pipeline
    model = client.models.get("bankmarketing_test_model", label="latest")
    assert model.version == "1"
    log = client.jobs.layout(job.jobs["register"].job_name).log.read_text()
    assert "Registered model bankmarketing_test_model version 1" in log
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(model.path)
    rows = pd.read_csv(Path(client.jobs.get(job.jobs["preprocess"].job_name)
                            .outputs["preprocessed_validation_data"].path) / "validation.csv")
    assert len(loaded.predict(rows.drop(columns=["y"]).head(3))) == 3
    assert os.environ.get("MLFLOW_TRACKING_URI") is None  # the test process is untouched
