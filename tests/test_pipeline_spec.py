"""Pipeline jobs as specifications: the DSL, pipeline YAML, command components, the plan the
runner executes, and one clear error for each kind of bad input. Nothing here runs a job."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

import cirrusml
from cirrusml import Input, Output, automl, command, load_component, load_job
from cirrusml.exceptions import InvalidSpecError, NotSupportedYetError
from cirrusml.spec import PipelineJob

BANK = "cli-automl-classification-task-bankmarketing-pipeline"


@pytest.fixture()
def bank(examples_dir: Path, tmp_path: Path) -> Path:
    """A copy of Azure's bank-marketing pipeline folder (its components' code folder absent)."""
    dest = tmp_path / "bank"
    shutil.copytree(examples_dir / BANK, dest)
    return dest


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _seed_pipeline():
    """The seed's snippet (Azure's docs), with only its imports changed."""
    from cirrusml import Input, Output, command, dsl  # noqa: F811
    from cirrusml.automl import classification

    @dsl.pipeline(description="AutoML Classification Pipeline")
    def automl_classification(classification_train_data, classification_validation_data):
        # define the automl classification task with automl function
        classification_node = classification(
            training_data=classification_train_data,
            validation_data=classification_validation_data,
            target_column_name="y",
            primary_metric="accuracy",
            # currently need to specify outputs "mlflow_model" explictly to reference it in
            # following nodes
            outputs={"best_model": Output(type="mlflow_model")},
        )
        # set limits and training
        classification_node.set_limits(max_trials=1)
        classification_node.set_training(enable_stack_ensemble=False, enable_vote_ensemble=False)
        command_func = command(
            inputs=dict(automl_output=Input(type="mlflow_model")),
            command="ls ${{inputs.automl_output}}",
            environment="AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:latest",
        )
        show_output = command_func(automl_output=classification_node.outputs.best_model)  # noqa

    pipeline_job = automl_classification(
        classification_train_data=Input(path="./training-mltable-folder/", type="mltable"),
        classification_validation_data=Input(path="./validation-mltable-folder/", type="mltable"),
    )
    # set pipeline level compute
    pipeline_job.settings.default_compute = "cpu-cluster"
    return pipeline_job


# --------------------------------------------------------------------------------- the DSL


def test_the_seed_snippet_builds_the_pipeline_it_describes(bank, monkeypatch):
    monkeypatch.chdir(bank)
    job = _seed_pipeline()
    assert isinstance(job, PipelineJob)
    plan = job._plan()
    json.dumps(plan)  # plain data
    assert list(plan["jobs"]) == ["classification_node", "show_output"]
    assert plan["description"] == "AutoML Classification Pipeline"
    assert plan["settings"]["default_compute"] == "cpu-cluster"
    assert plan["inputs"]["classification_train_data"] == {
        "kind": "data", "type": "mltable", "path": str(bank / "training-mltable-folder")}
    automl_node = plan["jobs"]["classification_node"]
    assert automl_node["type"] == "automl"
    assert automl_node["inputs"] == {
        "training_data": {"kind": "parent", "input": "classification_train_data"},
        "validation_data": {"kind": "parent", "input": "classification_validation_data"},
    }
    assert automl_node["outputs"] == {"best_model": {"type": "mlflow_model"}}
    assert automl_node["job"]["limits"] == {"max_trials": 1}
    assert automl_node["job"]["primary_metric"] == "accuracy"
    assert automl_node["job"]["training"]["enable_stack_ensemble"] is False
    for removed in ("training_data", "validation_data", "outputs"):
        assert removed not in automl_node["job"]
    show = plan["jobs"]["show_output"]
    assert show["inputs"] == {"automl_output": {"kind": "node", "node": "classification_node",
                                                "output": "best_model"}}
    assert show["input_types"] == {"automl_output": "mlflow_model"}
    assert show["command"] == "ls ${{inputs.automl_output}}"
    assert show["environment"] == "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:latest"
    assert show["is_deterministic"] is True and show["code"] is None


def test_a_copied_pipeline_keeps_its_bindings(bank, monkeypatch):
    import copy

    monkeypatch.chdir(bank)
    job = _seed_pipeline()
    clone = copy.deepcopy(job)
    assert clone._plan() == job._plan()
    assert clone.jobs["classification_node"].outputs.best_model.node is \
        clone.jobs["classification_node"]


def test_the_dsl_is_importable_as_azures():
    from cirrusml import dsl
    from cirrusml.dsl import pipeline
    from cirrusml.pipeline import command as pipeline_command
    from cirrusml.pipeline import load_component as pipeline_load_component
    from cirrusml.pipeline import pipeline as pipeline_pipeline

    assert dsl.pipeline is pipeline is pipeline_pipeline
    assert cirrusml.command is pipeline_command
    assert cirrusml.load_component is pipeline_load_component


def test_a_dsl_pipeline_round_trips_through_yaml(bank, monkeypatch, tmp_path):
    monkeypatch.chdir(bank)
    job = _seed_pipeline()
    out = tmp_path / "dumped" / "pipeline.yml"
    out.parent.mkdir()
    job.dump(out)
    again = load_job(out)
    assert isinstance(again, PipelineJob)
    assert again._plan() == job._plan()


def test_node_names_come_from_local_variables_and_the_rest_are_generated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from cirrusml.dsl import pipeline

    echo = command(name="echo", inputs={"n": Input(type="integer")},
                   outputs={"out": Output(type="uri_folder")},
                   command="echo ${{inputs.n}} > ${{outputs.out}}/n.txt")

    @pipeline(default_compute="cpu", max_parallel_nodes=3, experiment_name="exp", tags={"a": "b"})
    def fan(n: int = 2):
        first = echo(n=n)
        for i in range(2):
            echo(n=i)  # held by no local variable when the function returns
        return {"result": first.outputs.out}

    job = fan()
    assert list(job.jobs) == ["first", "echo", "echo_2"]
    plan = job._plan()
    assert plan["settings"] == {"default_compute": "cpu", "force_rerun": False,
                                "continue_on_step_failure": False, "max_parallel_nodes": 3}
    assert plan["experiment_name"] == "exp" and plan["tags"] == {"a": "b"}
    assert plan["display_name"] == "fan"
    assert plan["inputs"] == {"n": {"kind": "literal", "value": 2}}
    assert plan["jobs"]["first"]["inputs"] == {"n": {"kind": "parent", "input": "n"}}
    assert plan["jobs"]["echo_2"]["inputs"] == {"n": {"kind": "literal", "value": 1}}
    assert plan["outputs"] == {"result": {"type": "uri_folder", "node": "first", "output": "out"}}
    assert plan["jobs"]["first"]["outputs"] == {"out": {"type": "uri_folder"}}
    again = tmp_path / "again.yml"
    job.dump(again)
    assert load_job(again)._plan() == plan


def test_bare_decorator_settings_and_node_ports():
    from cirrusml.dsl import pipeline

    comp = command(inputs={"x": Input(type="uri_folder"), "k": 3},
                   outputs={"y": Output(type="uri_folder")},
                   command="cp -r ${{inputs.x}} ${{outputs.y}} # ${{inputs.k}}")

    @pipeline
    def p(data):
        node = comp(x=data)
        assert node.inputs.k == 3 and isinstance(node.outputs.y, cirrusml.spec.NodeOutput)
        assert not hasattr(node.outputs, "nope")
        with pytest.raises(InvalidSpecError, match=r"no output 'z'.*Its outputs: y"):
            node.outputs.z  # noqa: B018
        node.inputs.k = 4

    job = p(data=Input(type="uri_folder", path="/tmp/data"))
    step = job._plan()["jobs"]["node"]
    assert step["inputs"]["k"] == {"kind": "literal", "value": 4}
    assert step["input_types"] == {"x": "uri_folder", "k": "integer"}
    job.settings.default_compute = "cpu"
    assert job._plan()["settings"]["default_compute"] == "cpu"
    with pytest.raises(InvalidSpecError, match="max_parallel_nodes"):
        job.settings.max_parallel_nodes = 0
    with pytest.raises(InvalidSpecError, match="unknown argument 'defualt_compute'"):
        pipeline(defualt_compute="cpu")


def test_dsl_errors_name_the_node_and_the_input():
    from cirrusml.dsl import pipeline

    comp = command(name="train", inputs={"n": Input(type="integer"), "d": Input(type="uri_folder")},
                   command="train ${{inputs.n}} ${{inputs.d}}")

    with pytest.raises(InvalidSpecError, match=r"component 'train' has no input 'm'.*n, d"):
        comp(m=1)

    @pipeline
    def wrong_type():
        train_node = comp(n="three", d="/tmp")  # noqa: F841

    with pytest.raises(InvalidSpecError, match=r"jobs\.train_node\.inputs\.n: expects an integer"):
        wrong_type()

    @pipeline
    def unbound():
        train_node = comp(n=3)  # noqa: F841

    with pytest.raises(InvalidSpecError,
                       match=r"jobs\.train_node\.inputs\.d: .*requires input 'd'.*not bound"):
        unbound()

    @pipeline
    def missing_input(data):
        node = comp(n=1, d=data)  # noqa: F841

    with pytest.raises(InvalidSpecError, match="pipeline input 'data' has no value"):
        missing_input()

    bad_line = command(inputs={"a": 1}, command="echo ${{inputs.b}}")

    @pipeline
    def undeclared():
        echo = bad_line()  # noqa: F841

    with pytest.raises(InvalidSpecError,
                       match=r"jobs\.echo\.command: '\$\{\{inputs\.b\}\}' names no declared input"):
        undeclared()


def test_an_automl_node_binds_an_upstream_output(tmp_path):
    from cirrusml.dsl import pipeline

    prep = command(name="prep", inputs={"raw": Input(type="uri_folder")},
                   outputs={"train": Output(type="mltable"), "test": Output(type="mltable")},
                   command="python prep.py ${{inputs.raw}} ${{outputs.train}} ${{outputs.test}}",
                   code=str(tmp_path / "src"))

    @pipeline(name="forecast_pipeline")
    def forecast(raw):
        prep_node = prep(raw=raw)
        forecast_node = automl.forecasting(
            training_data=prep_node.outputs.train, test_data=prep_node.outputs.test,
            target_column_name="demand", primary_metric="normalized_root_mean_squared_error")
        forecast_node.set_forecast_settings(time_column_name="date", forecast_horizon=7)
        forecast_node.set_limits(max_trials=2)
        return {"model": forecast_node.outputs.best_model}

    job = forecast(raw=Input(type="uri_folder", path=str(tmp_path)))
    plan = job._plan()
    assert list(plan["jobs"]) == ["prep_node", "forecast_node"]
    node = plan["jobs"]["forecast_node"]
    assert node["inputs"] == {
        "training_data": {"kind": "node", "node": "prep_node", "output": "train"},
        "test_data": {"kind": "node", "node": "prep_node", "output": "test"}}
    assert node["job"]["forecasting"]["time_column_name"] == "date"
    assert node["job"]["task"] == "forecasting"
    assert plan["outputs"] == {"model": {"type": "mlflow_model", "node": "forecast_node",
                                         "output": "best_model"}}
    assert plan["jobs"]["prep_node"]["code"] == str(tmp_path / "src")
    assert plan["jobs"]["prep_node"]["component"]["name"] == "prep"
    dumped = tmp_path / "forecast.yml"
    job.dump(dumped)
    assert "${{parent.outputs.model}}" in dumped.read_text()
    assert load_job(dumped)._plan() == plan


def test_standalone_jobs_keep_their_outputs_and_refuse_bindings(tmp_path):
    job = automl.classification(training_data=Input(type="mltable", path=str(tmp_path)),
                                target_column_name="y",
                                outputs={"best_model": Output(type="mlflow_model")})
    assert job.outputs == {"best_model": Output(type="mlflow_model")}
    assert job.outputs.best_model == Output(type="mlflow_model")  # the Output, not a binding
    job.validate_spec()
    data = job._to_yaml_dict()
    assert data["outputs"] == {"best_model": {"type": "mlflow_model"}}
    bound = automl.classification(training_data="${{parent.inputs.train}}",
                                  target_column_name="y")
    with pytest.raises(InvalidSpecError, match=r"training_data: .*pipeline binding"):
        bound.validate_spec()


# ------------------------------------------------------------------------------------ YAML


def test_the_bank_marketing_pipeline_loads_unchanged(bank):
    job = load_job(bank / "pipeline.yml")
    assert isinstance(job, PipelineJob)
    plan = job._plan()
    json.dumps(plan)
    assert list(plan["jobs"]) == ["preprocessing_node", "classification_node",
                                  "register_model_node"]
    assert plan["experiment_name"] == "pipeline-with-automl"
    assert plan["settings"]["default_compute"] == "azureml:cpu-cluster"
    prep = plan["jobs"]["preprocessing_node"]
    assert prep["code"] == str(bank / "components" / "src")  # need not exist
    assert not (bank / "components" / "src").exists()
    assert prep["component"] == {"name": "data_preprocessing", "version": "1",
                                 "source": str(bank / "components"
                                               / "component_preprocessing.yaml")}
    assert prep["inputs"]["train_data"] == {"kind": "parent", "input": "classification_train_data"}
    assert prep["outputs"] == {"preprocessed_train_data": {"type": "mltable"},
                               "preprocessed_validation_data": {"type": "mltable"}}
    assert prep["environment"]["name"] == "pipeline-custom-environment"
    automl_node = plan["jobs"]["classification_node"]
    assert automl_node["inputs"]["training_data"] == {
        "kind": "node", "node": "preprocessing_node", "output": "preprocessed_train_data"}
    assert automl_node["job"]["limits"] == {"max_trials": 1, "max_concurrent_trials": 1}
    assert automl_node["job"]["featurization"] == {"mode": "auto"}
    register = plan["jobs"]["register_model_node"]
    assert register["inputs"] == {
        "model_input_path": {"kind": "node", "node": "classification_node",
                             "output": "best_model"},
        "model_base_name": {"kind": "literal", "value": "bankmarketing_example_model"}}
    assert register["input_types"] == {"model_input_path": "uri_folder",
                                       "model_base_name": "string"}


def test_the_bank_marketing_pipeline_round_trips(bank, tmp_path):
    job = load_job(bank / "pipeline.yml")
    out = tmp_path / "elsewhere" / "dumped.yml"
    out.parent.mkdir()
    job.dump(out)
    again = load_job(out)
    assert again._plan() == job._plan()


def test_overrides_reach_into_nodes(bank):
    job = load_job(bank / "pipeline.yml", params_override=[
        {"jobs.classification_node.limits.max_trials": 2},
        {"settings.force_rerun": True},
        {"jobs.register_model_node.inputs.model_base_name": "other"}])
    plan = job._plan()
    assert plan["jobs"]["classification_node"]["job"]["limits"]["max_trials"] == 2
    assert plan["settings"]["force_rerun"] is True
    assert plan["jobs"]["register_model_node"]["inputs"]["model_base_name"]["value"] == "other"
    with pytest.raises(InvalidSpecError, match=r"jobs\.classification_node\.limits\.max_trials"):
        load_job(bank / "pipeline.yml",
                 params_override=[{"jobs.classification_node.limits.max_trials": "many"}])


INLINE = """\
    type: pipeline
    inputs:
      raw: {type: uri_folder, path: ./raw}
      rows: 5
      ratio: {type: number, default: 0.25}
    outputs:
      report: {type: uri_folder}
      model: {type: mlflow_model}
    settings: {continue_on_step_failure: true, max_parallel_nodes: 1}
    jobs:
      split:
        type: command
        code: ./src
        command: >-
          python split.py --raw ${{inputs.raw}} --rows ${{inputs.rows}}
          --ratio ${{inputs.ratio}} --train ${{outputs.train}}
        environment: {image: python:3.11}
        environment_variables: {MODE: fast}
        inputs:
          raw: ${{parent.inputs.raw}}
          rows: ${{parent.inputs.rows}}
          ratio:
            path: ${{parent.inputs.ratio}}
          flag: true
        outputs:
          train: {type: mltable}
      train:
        type: automl
        task: regression
        target_column_name: price
        training_data:
          type: mltable
          path: ${{parent.jobs.split.outputs.train}}
        limits: {max_trials: 1}
        outputs:
          best_model: ${{parent.outputs.model}}
      report:
        type: command
        component: file:components/report.yaml
        inputs:
          model: ${{parent.jobs.train.outputs.best_model}}
        outputs:
          out: ${{parent.outputs.report}}
    """

REPORT = """\
    $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
    name: report
    version: 2
    type: command
    is_deterministic: false
    inputs:
      model: {type: mlflow_model}
      top: {type: integer, default: 10}
      title: {type: string, optional: true}
    outputs:
      out: {type: uri_folder}
    code: ../report_src
    environment: azureml:sklearn@latest
    command: >-
      python report.py --model ${{inputs.model}} --top ${{inputs.top}}
      $[[--title ${{inputs.title}}]] --out ${{outputs.out}}
    """


def test_inline_nodes_components_and_pipeline_outputs(tmp_path):
    _write(tmp_path, "components/report.yaml", REPORT)
    path = _write(tmp_path, "pipeline.yml", INLINE)
    job = load_job(path)
    plan = job._plan()
    assert plan["settings"]["continue_on_step_failure"] is True
    assert plan["settings"]["max_parallel_nodes"] == 1
    assert plan["inputs"] == {
        "raw": {"kind": "data", "type": "uri_folder", "path": str(tmp_path / "raw")},
        "rows": {"kind": "literal", "value": 5},
        "ratio": {"kind": "literal", "value": 0.25}}
    split = plan["jobs"]["split"]
    assert split["code"] == str(tmp_path / "src")
    assert split["environment"] == {"image": "python:3.11"}
    assert split["environment_variables"] == {"MODE": "fast"}
    assert split["input_types"] == {"raw": "uri_folder", "rows": "integer", "ratio": "number",
                                    "flag": "boolean"}
    assert split["inputs"]["flag"] == {"kind": "literal", "value": True}
    assert split["inputs"]["ratio"] == {"kind": "parent", "input": "ratio"}
    assert split["outputs"] == {"train": {"type": "mltable"}}
    assert split["component"] == {"name": None, "version": None, "source": None}
    assert plan["jobs"]["train"]["inputs"]["training_data"] == {
        "kind": "node", "node": "split", "output": "train"}
    report = plan["jobs"]["report"]
    assert report["component"]["version"] == "2"
    assert report["code"] == str(tmp_path / "report_src")
    assert report["is_deterministic"] is False
    assert report["inputs"]["top"] == {"kind": "literal", "value": 10}  # the default
    assert report["optional_inputs"] == ["title"]
    assert plan["outputs"] == {
        "report": {"type": "uri_folder", "node": "report", "output": "out"},
        "model": {"type": "mlflow_model", "node": "train", "output": "best_model"},
    }
    # round trip
    out = tmp_path / "dumped.yml"
    job.dump(out)
    assert load_job(out)._plan() == plan


def test_load_component_resolves_code_against_its_file(tmp_path):
    path = _write(tmp_path, "components/report.yaml", REPORT)
    comp = load_component(source=str(path))
    assert comp.name == "report" and comp.version == "2"
    assert comp.code == str(tmp_path / "report_src")
    assert comp.inputs["top"].type == "integer" and comp.is_deterministic is False
    assert list(comp.outputs) == ["out"]
    assert load_component(source=f"file:{path}").source == str(path)


# ------------------------------------------------------------------------------ bad input


def _pipeline_with(tmp_path: Path, text: str) -> Path:
    _write(tmp_path, "components/report.yaml", REPORT)
    return _write(tmp_path, "pipeline.yml", text)


@pytest.mark.parametrize(("old", "new", "needles"), [
    ("${{parent.jobs.split.outputs.train}}", "${{parent.jobs.splitt.outputs.train}}",
     ["jobs.train.training_data", "node 'splitt'", "Did you mean 'split'", "split, train, report"]),
    ("${{parent.jobs.split.outputs.train}}", "${{parent.jobs.split.outputs.trian}}",
     ["jobs.train.training_data", "no output 'trian'", "Its outputs: train"]),
    ("raw: ${{parent.inputs.raw}}", "raw: ${{parent.inputs.rawr}}",
     ["jobs.split.inputs.raw", "pipeline input 'rawr'", "Its inputs: raw, rows, ratio"]),
    ("best_model: ${{parent.outputs.model}}", "best_model: ${{parent.outputs.modle}}",
     ["outputs.modle", "does not declare", "Its outputs: report, model"]),
    ("model: ${{parent.jobs.train.outputs.best_model}}",
     "model: ${{parent.jobs.train.outputs.best_model}}\n      top: ten",
     ["jobs.report.inputs.top", "expects an integer", "'ten'"]),
    ("ratio: {type: number, default: 0.25}", "ratio: {type: number, default: high}",
     ["inputs.ratio", "expects a number", "'high'"]),
    ("raw: ${{parent.inputs.raw}}", "raw: ${{parent.input.raw}}",
     ["jobs.split.inputs.raw", "is not a binding"]),
    ("--rows ${{inputs.rows}}", "--rows ${{inputs.rowz}}",
     ["jobs.split.command", "${{inputs.rowz}}", "Did you mean 'rows'"]),
    ("--train ${{outputs.train}}", "--train ${{outputs.tran}}",
     ["jobs.split.command", "${{outputs.tran}}", "The outputs: train"]),
    ("  report:\n    type: command", "  report:\n    type: sweep",
     ["jobs.report.type", "'sweep'", "command, automl"]),
    ("  report:\n    type: command", "  report:\n    type: comand",
     ["jobs.report.type", "Did you mean 'command'", "command, automl"]),
    ("file:components/report.yaml", "file:components/nothere.yaml",
     ["jobs.report.component", "nothere.yaml", "does not exist"]),
    ("model: ${{parent.jobs.train.outputs.best_model}}", "modle: 1",
     ["jobs.report.inputs.modle", "no input 'modle'", "model, top, title"]),
    ("    limits: {max_trials: 1}", "    limits: {max_trials: -1}",
     ["jobs.train.limits.max_trials"]),
    ("    task: regression", "    task: regresion",
     ["jobs.train.task", "regresion"]),
])
def test_bad_pipeline_files_fail_naming_the_culprit(tmp_path, old, new, needles):
    text = textwrap.dedent(INLINE)
    assert old in text, old
    path = _pipeline_with(tmp_path, text.replace(old, new))
    with pytest.raises(InvalidSpecError) as info:
        load_job(path)
    message = str(info.value)
    assert "pipeline.yml" in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_a_required_component_input_left_unbound(tmp_path):
    text = textwrap.dedent(INLINE).replace(
        "      model: ${{parent.jobs.train.outputs.best_model}}\n", "      top: 3\n")
    with pytest.raises(InvalidSpecError,
                       match=r"jobs\.report\.inputs\.model: component 'report' requires input "
                             r"'model' \(mlflow_model\), which is not bound"):
        load_job(_pipeline_with(tmp_path, text))


def test_an_optional_input_used_outside_its_group(tmp_path):
    _write(tmp_path, "components/report.yaml",
           REPORT.replace("$[[--title ${{inputs.title}}]]", "--title ${{inputs.title}}"))
    path = _write(tmp_path, "pipeline.yml", INLINE)
    with pytest.raises(InvalidSpecError, match=r"optional input 'title' is not bound"):
        load_job(path)


def test_a_cycle_names_its_nodes(tmp_path):
    path = _write(tmp_path, "pipeline.yml", """\
        type: pipeline
        jobs:
          a:
            type: command
            command: echo ${{inputs.x}} > ${{outputs.y}}/f
            inputs: {x: "${{parent.jobs.c.outputs.y}}"}
            outputs: {y: {type: uri_folder}}
          b:
            type: command
            command: echo ${{inputs.x}} > ${{outputs.y}}/f
            inputs: {x: "${{parent.jobs.a.outputs.y}}"}
            outputs: {y: {type: uri_folder}}
          c:
            type: command
            command: echo ${{inputs.x}} > ${{outputs.y}}/f
            inputs: {x: "${{parent.jobs.b.outputs.y}}"}
            outputs: {y: {type: uri_folder}}
        """)
    with pytest.raises(InvalidSpecError, match=r"cycle: a -> c -> b -> a"):
        load_job(path)


def test_a_component_file_that_does_not_parse(tmp_path):
    _write(tmp_path, "components/report.yaml", "name: report\ninputs: [\n  bad")
    path = _write(tmp_path, "pipeline.yml", INLINE)
    with pytest.raises(InvalidSpecError) as info:
        load_job(path)
    assert "jobs.report.component" in str(info.value)
    assert "report.yaml" in str(info.value) and "not valid YAML" in str(info.value)
    with pytest.raises(InvalidSpecError, match="component file .*nothere.yaml.* does not exist"):
        load_component(source=str(tmp_path / "nothere.yaml"))


def test_a_component_of_another_type_or_with_unknown_keys(tmp_path):
    path = _write(tmp_path, "c.yaml", "type: command\ncommand: ls\nimage: x\n")
    with pytest.raises(InvalidSpecError, match=r"unknown key 'image'.*c\.yaml"):
        load_component(source=str(path))
    path = _write(tmp_path, "p.yaml", "type: parallel\ncommand: ls\n")
    with pytest.raises(NotSupportedYetError, match="type 'parallel'"):
        load_component(source=str(path))
    path = _write(tmp_path, "t.yaml", "type: command\ncommand: ls\ninputs: {m: {type: model}}\n")
    with pytest.raises(InvalidSpecError, match=r"inputs\.m.*'model' is not a valid input type"):
        load_component(source=str(path))
