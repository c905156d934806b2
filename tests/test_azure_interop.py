"""Interop with Azure's own SDK (``azure-ai-ml``), both ways, for every task.

(a) A job built with ``azure.ai.ml.automl`` and written by its ``job.dump`` loads here and equals
the job built with the same calls in cirrusml. (b) A job written by cirrusml's ``job.dump`` loads
in ``azure.ai.ml.load_job`` and gives the same entity, down to the REST body, as the job built
with the same calls in Azure's SDK.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

azure_ml = pytest.importorskip(
    "azure.ai.ml",
    reason="azure-ai-ml is not installed; it is in the 'test' extra (pip install -e .[test])",
)
from azure.ai.ml import automl as az_automl  # noqa: E402
from azure.ai.ml.entities import QueueSettings, ResourceConfiguration  # noqa: E402

from cirrusml import Input, Output, automl, load_job  # noqa: E402
from cirrusml.automl import ColumnTransformer, StackEnsembleSettings  # noqa: E402
from cirrusml.spec import ForecastingModels, UseStl  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")


def _azure_sdk() -> SimpleNamespace:
    return SimpleNamespace(
        automl=az_automl,
        Input=azure_ml.Input,
        ColumnTransformer=az_automl.ColumnTransformer,
        StackEnsembleSettings=az_automl.StackEnsembleSettings,
        resources=lambda **kw: ResourceConfiguration(**kw),
        queue_settings=lambda **kw: QueueSettings(**kw),
    )


def _cirrus_sdk() -> SimpleNamespace:
    return SimpleNamespace(
        automl=automl,
        Input=Input,
        ColumnTransformer=ColumnTransformer,
        StackEnsembleSettings=StackEnsembleSettings,
        resources=dict,
        queue_settings=dict,
    )


def _mltables(root: Path) -> dict[str, str]:
    paths = {}
    for name in ("train", "valid", "test"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "MLTable").write_text("paths:\n  - file: ./data.csv\n", encoding="utf-8")
        paths[name] = str(folder)
    return paths


# ------------------------------------------------------------------- jobs built with many settings
# Each builder makes the same job through either SDK: only the entry points differ.


def _classification(sdk: SimpleNamespace, data: dict[str, str]) -> Any:
    job = sdk.automl.classification(
        training_data=sdk.Input(type="mltable", path=data["train"]),
        validation_data=sdk.Input(type="mltable", path=data["valid"]),
        target_column_name="y", primary_metric="AUC_weighted", weight_column_name="w",
        enable_model_explainability=True, positive_label="yes", compute="cpu-cluster",
        experiment_name="interop", name="interop-cls", display_name="Interop classification",
        description="many settings", tags={"team": "ml"}, properties={"origin": "test"},
        log_verbosity="warning", environment_variables={"MY_FLAG": "1"},
        resources=sdk.resources(instance_type="Standard_E4s_v3", instance_count=2),
        queue_settings=sdk.queue_settings(job_tier="spot", priority="medium"),
    )
    job.set_limits(timeout_minutes=90, trial_timeout_minutes=20, max_trials=40,
                   max_concurrent_trials=4, max_cores_per_trial=-1, enable_early_termination=True,
                   exit_score=0.95, max_nodes=4)
    job.set_training(enable_onnx_compatible_models=True, enable_dnn_training=False,
                     blocked_training_algorithms=["KNN", "light_gbm"], enable_vote_ensemble=True,
                     enable_stack_ensemble=False, ensemble_model_download_timeout=10,
                     stack_ensemble_settings=sdk.StackEnsembleSettings(
                         stack_meta_learner_type="LogisticRegressionCV",
                         stack_meta_learner_train_percentage=0.3),
                     training_mode="non_distributed")
    job.set_featurization(
        mode="custom", blocked_transformers=["LabelEncoder", "TfIdf"],
        column_name_and_types={"colour": "Categorical", "size": "Numeric"},
        transformer_params={
            "imputer": [sdk.ColumnTransformer(fields=["size"], parameters={"strategy": "median"})],
            "hash_one_hot_encoder": [sdk.ColumnTransformer(fields=["colour"],
                                                           parameters={"number_of_bits": 3})],
        },
        dataset_language="eng", enable_dnn_featurization=False,
    )
    return job


def _classification_cv_split(sdk: SimpleNamespace, data: dict[str, str]) -> Any:
    job = sdk.automl.classification(
        training_data=sdk.Input(type="mltable", path=data["train"]), target_column_name="label",
        primary_metric="norm_macro_recall", cv_split_column_names=["fold_a", "fold_b"],
        compute="cpu-cluster", log_verbosity="debug",
    )
    job.set_training(allowed_training_algorithms=["LogisticRegression", "xg_boost_classifier"])
    job.set_featurization(mode="off")
    return job


def _regression(sdk: SimpleNamespace, data: dict[str, str]) -> Any:
    job = sdk.automl.regression(
        training_data=sdk.Input(type="mltable", path=data["train"]),
        test_data=sdk.Input(type="mltable", path=data["test"]),
        target_column_name="price", primary_metric="r2_score", n_cross_validations=5,
        compute="cpu-cluster", experiment_name="interop", tags={"kind": "reg"},
        log_verbosity="info",
    )
    job.set_limits(timeout_minutes=30, max_trials=10, max_concurrent_trials=2,
                   enable_early_termination=False)
    job.set_training(allowed_training_algorithms=["LightGBM", "random_forest", "XGBoostRegressor"],
                     enable_stack_ensemble=True, enable_vote_ensemble=False,
                     stack_ensemble_settings=sdk.StackEnsembleSettings(
                         stack_meta_learner_type="ElasticNetCV"))
    job.set_featurization(
        mode="custom", column_name_and_types={"rooms": "Categorical"},
        transformer_params={"imputer": [sdk.ColumnTransformer(fields=["area"],
                                                              parameters={"strategy": "mean"})]},
    )
    return job


def _forecasting(sdk: SimpleNamespace, data: dict[str, str]) -> Any:
    job = sdk.automl.forecasting(
        training_data=sdk.Input(type="mltable", path=data["train"]),
        test_data=sdk.Input(type="mltable", path=data["test"]),
        target_column_name="sales", primary_metric="NormalizedMeanAbsoluteError",
        n_cross_validations=3, weight_column_name="w", enable_model_explainability=False,
        compute="cpu-cluster", experiment_name="interop", tags={"kind": "fc"},
        properties={"p": "q"}, log_verbosity="debug",
    )
    job.set_forecast_settings(
        time_column_name="date", forecast_horizon=14, time_series_id_column_names=["store", "dept"],
        frequency="D", target_aggregate_function="sum", target_lags=[1, 7], feature_lags="auto",
        target_rolling_window_size=3, seasonality=7, use_stl="seasontrend",
        short_series_handling_config="pad", country_or_region_for_holidays="US", cv_step_size=2,
        features_unknown_at_forecast_time=["temperature", "promo"],
    )
    job.set_training(enable_dnn_training=True,
                     blocked_training_algorithms=["Prophet", "tcn_forecaster"],
                     enable_vote_ensemble=True, ensemble_model_download_timeout=5,
                     training_mode="non_distributed", enable_onnx_compatible_models=False)
    job.set_limits(timeout_minutes=60, trial_timeout_minutes=15, max_trials=20,
                   max_concurrent_trials=2, enable_early_termination=False, exit_score=0.1,
                   max_cores_per_trial=2, max_nodes=2)
    job.set_featurization(mode="custom", blocked_transformers=["LabelEncoder"],
                          column_name_and_types={"store": "Categorical"},
                          transformer_params={"imputer": [sdk.ColumnTransformer(
                              fields=["temperature"], parameters={"strategy": "ffill"})]})
    return job


def _forecasting_auto(sdk: SimpleNamespace, data: dict[str, str]) -> Any:
    job = sdk.automl.forecasting(
        training_data=sdk.Input(type="mltable", path=data["train"]), target_column_name="demand",
        n_cross_validations="auto", compute="cpu-cluster", log_verbosity="info",
    )
    job.set_forecast_settings(
        time_column_name="timeStamp", forecast_horizon="auto", time_series_id_column_names="site",
        target_lags="auto", target_rolling_window_size="auto", seasonality="auto",
        use_stl="season", short_series_handling_config="drop", feature_lags="none",
        features_unknown_at_forecast_time="temp", target_aggregate_function="max", frequency="H",
    )
    job.set_training(allowed_training_algorithms=["AutoArima", "ExponentialSmoothing", "Naive",
                                                  "SeasonalNaive", "Average", "SeasonalAverage",
                                                  "Arimax", "ElasticNet", "LassoLars"],
                     enable_stack_ensemble=True)
    return job


BUILDERS: dict[str, Callable[[SimpleNamespace, dict[str, str]], Any]] = {
    "classification": _classification,
    "classification_cv_split": _classification_cv_split,
    "regression": _regression,
    "forecasting": _forecasting,
    "forecasting_auto": _forecasting_auto,
}


def _prune(value: Any) -> Any:
    """``value`` without empty mappings or ``None`` entries, at any depth: both mean 'not set'."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v != {} and v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _meaningful(data: dict[str, Any]) -> dict[str, Any]:
    """A job's YAML data as far as it has meaning.

    Azure's dump writes ``outputs: {}`` (and ``resources.properties: {}``) for "none set", and
    writes the compute ``cpu-cluster`` as ``azureml:cpu-cluster``; both name the same compute.
    """
    out = _prune(data)
    if isinstance(out.get("compute"), str):
        out["compute"] = out["compute"].removeprefix("azureml:")
    return out


def _rest_body(job: Any) -> dict[str, Any]:
    """What Azure's SDK would send to the service for ``job``."""
    rest = job._to_rest_object()
    details = rest.properties.task_details
    # Azure's quirk (reference §17.4): classification/regression pass stack_ensemble_settings
    # through unconverted, as the Python object; compare its fields instead of its identity.
    stack = getattr(details.training_settings, "stack_ensemble_settings", None)
    body = copy.deepcopy(rest.as_dict())
    if stack is not None and not isinstance(stack, dict):
        body["properties"]["taskDetails"]["trainingSettings"]["stackEnsembleSettings"] = {
            k: getattr(stack, k) for k in ("stack_meta_learner_type",
                                           "stack_meta_learner_train_percentage",
                                           "stack_meta_learner_k_wargs")
        }
    return _prune(body)


# --------------------------------------------------------------------- (a) Azure's YAML loads here


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_yaml_written_by_azure_sdk_loads_with_its_meaning(tmp_path, case):
    data = _mltables(tmp_path)
    azure_job = BUILDERS[case](_azure_sdk(), data)
    path = tmp_path / "azure.yml"
    azure_job.dump(path)

    loaded = load_job(path)
    built = BUILDERS[case](_cirrus_sdk(), data)
    assert type(loaded) is type(built)
    assert _meaningful(loaded._to_yaml_dict()) == _meaningful(built._to_yaml_dict())


def test_azure_text_lists_and_prefixed_paths_are_read_back(tmp_path):
    data = _mltables(tmp_path)
    azure_job = _forecasting(_azure_sdk(), data)
    path = tmp_path / "azure.yml"
    azure_job.dump(path)
    text = path.read_text(encoding="utf-8")
    # The two quirks of Azure's dump this loader undoes: lists as text, local paths prefixed.
    assert "'[''store'', ''dept'']'" in text
    assert f"azureml:{data['train']}" in text

    fs = load_job(path).forecasting_settings
    assert fs.time_series_id_column_names == ["store", "dept"]
    assert fs.features_unknown_at_forecast_time == ["temperature", "promo"]
    assert load_job(path).training_data.path == data["train"]


def test_azure_relative_prefixed_path_resolves_against_the_file(tmp_path, monkeypatch):
    _mltables(tmp_path)
    monkeypatch.chdir(tmp_path)
    job = az_automl.regression(training_data=azure_ml.Input(type="mltable", path="./train"),
                               target_column_name="y")
    job.dump(tmp_path / "job.yml")
    assert "azureml:./train" in (tmp_path / "job.yml").read_text(encoding="utf-8")
    monkeypatch.chdir("/")
    assert load_job(tmp_path / "job.yml").training_data.path == str(tmp_path / "train")


# ------------------------------------------------------------ (b) our YAML loads in Azure's SDK


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_yaml_written_here_loads_in_azure_sdk_with_the_same_meaning(tmp_path, case):
    data = _mltables(tmp_path)
    ours = BUILDERS[case](_cirrus_sdk(), data)
    ours.validate_spec()
    path = tmp_path / "cirrus.yml"
    ours.dump(path)

    loaded = azure_ml.load_job(path)
    built = BUILDERS[case](_azure_sdk(), data)
    assert type(loaded).__name__ == type(ours).__name__
    # The REST body is what the service would receive: the job's meaning, in Azure's terms.
    assert _rest_body(loaded) == _rest_body(built)


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_azure_to_cirrus_to_azure_keeps_the_rest_body(tmp_path, case):
    data = _mltables(tmp_path)
    original = BUILDERS[case](_azure_sdk(), data)
    original.dump(tmp_path / "azure.yml")
    load_job(tmp_path / "azure.yml").dump(tmp_path / "cirrus.yml")
    assert _rest_body(azure_ml.load_job(tmp_path / "cirrus.yml")) == _rest_body(original)


def test_outputs_written_here_load_in_azure_sdk(tmp_path):
    # Azure's own dump cannot write a standalone AutoML job's outputs (its OutputSchema refuses
    # them), so this direction is checked alone.
    data = _mltables(tmp_path)
    job = automl.classification(training_data=Input(type="mltable", path=data["train"]),
                                target_column_name="y",
                                outputs={"best_model": Output(type="mlflow_model")})
    job.dump(tmp_path / "job.yml")
    written_for_azure = tmp_path / "azure.yml"
    written_for_azure.write_text(
        f"type: automl\ntask: classification\nprimary_metric: accuracy\n"
        f"target_column_name: y\ntraining_data: {{type: mltable, path: {data['train']}}}\n"
        "outputs:\n  best_model: {type: mlflow_model}\n", encoding="utf-8")
    ours, theirs = (azure_ml.load_job(p) for p in (tmp_path / "job.yml", written_for_azure))
    assert set(ours.outputs) == {"best_model"}
    assert _rest_body(ours) == _rest_body(theirs)


def test_extension_models_are_ours_alone(tmp_path):
    # Theta and MSTL are cirrusml extensions: they load here, and Azure's loader refuses them.
    data = _mltables(tmp_path)
    job = automl.forecasting(training_data=Input(type="mltable", path=data["train"]),
                             target_column_name="y")
    job.set_forecast_settings(time_column_name="date")
    job.set_training(allowed_training_algorithms=["Theta", "mstl"])
    job.dump(tmp_path / "job.yml")
    assert load_job(tmp_path / "job.yml").training.allowed_training_algorithms == [
        ForecastingModels.THETA, ForecastingModels.MSTL]
    with pytest.raises(Exception, match="(?i)theta"):
        azure_ml.load_job(tmp_path / "job.yml")


def test_use_stl_season_trend_is_written_as_azure_yaml_reads_it(tmp_path):
    data = _mltables(tmp_path)
    job = automl.forecasting(training_data=Input(type="mltable", path=data["train"]),
                             target_column_name="y")
    job.set_forecast_settings(time_column_name="date", use_stl="season_trend")
    job.dump(tmp_path / "job.yml")
    assert load_job(tmp_path / "job.yml").forecasting_settings.use_stl is UseStl.SEASON_TREND
    assert azure_ml.load_job(tmp_path / "job.yml").forecasting_settings.use_stl == "seasontrend"


# --------------------------------------------------------------------- the bike-share example


def test_bike_share_example_round_trips_through_both_sdks(tmp_path, examples_dir):
    example = (examples_dir / "cli-automl-forecasting-bike-share"
               / "cli-automl-forecasting-task-bike-share.yml")
    ours = load_job(example)
    dumped = tmp_path / "bike.yml"
    ours.dump(dumped)
    assert load_job(dumped) == ours

    theirs = azure_ml.load_job(dumped)
    reference = azure_ml.load_job(example)
    for key in ("training_data", "test_data"):
        # Azure keeps the example's relative path; ours is the same folder made absolute.
        assert Path(getattr(theirs, key).path) == (
            example.parent / getattr(reference, key).path.removeprefix("azureml:")).resolve()
        setattr(theirs, key, getattr(reference, key))
    assert theirs._to_dict() == reference._to_dict()
    assert theirs.forecasting_settings.time_column_name == "date"
    assert theirs.forecasting_settings.forecast_horizon == 14


@pytest.mark.parametrize(("written", "kept"), [
    ("azureml:bank-data:1", True),
    ("azureml:bank-data@latest", True),
    ("azureml://datastores/workspaceblobstore/paths/train/", True),
    ("azureml:not-here", True),  # no such folder under the file: an asset name, kept
    ("azureml:./train", False),
    ("azureml:train", False),  # the folder exists beside the file
])
def test_azureml_prefix_is_dropped_only_for_local_paths(tmp_path, written, kept):
    _mltables(tmp_path)
    (tmp_path / "job.yml").write_text(
        "type: automl\ntask: regression\ntarget_column_name: y\n"
        f"training_data: {{type: mltable, path: '{written}'}}\n", encoding="utf-8")
    path = load_job(tmp_path / "job.yml").training_data.path
    assert path == (written if kept else str(tmp_path / "train"))


# ------------------------------------------------------------------------------ pipelines


def _node_bindings(plan: dict[str, Any]) -> dict[str, Any]:
    return {name: node["inputs"] for name, node in plan["jobs"].items()}


def test_the_bank_marketing_pipeline_round_trips_through_both_sdks(tmp_path, examples_dir):
    from tests.test_pipeline_jobs import _prepare_example

    folder = _prepare_example(tmp_path / "pipeline")
    ours = load_job(folder / "pipeline.yml")
    expected = ours._plan()
    # Azure's SDK reads our dump with the same nodes, settings and literals.
    ours.dump(folder / "ours.yml")
    theirs = azure_ml.load_job(folder / "ours.yml")
    assert list(theirs.jobs) == list(expected["jobs"])
    assert theirs.jobs["classification_node"].limits.max_trials == 1
    assert theirs.jobs["classification_node"].target_column_name == "y"
    assert theirs.jobs["register_model_node"].inputs.model_base_name._data == \
        "bankmarketing_example_model"
    assert theirs.settings.default_compute == "cpu-cluster"  # Azure drops the prefix
    # What Azure's SDK dumps of the same file (outputs as `job_output_type`, environments and
    # components inlined) loads here with the same graph and AutoML settings.
    azure_ml.load_job(folder / "pipeline.yml").dump(folder / "theirs.yml")
    back = load_job(folder / "theirs.yml")._plan()
    assert back["inputs"] == expected["inputs"]
    assert _node_bindings(back) == _node_bindings(expected)
    assert back["outputs"] == expected["outputs"]
    for key in ("limits", "training", "featurization", "primary_metric", "target_column_name"):
        assert back["jobs"]["classification_node"]["job"][key] == \
            expected["jobs"]["classification_node"]["job"][key]
    for node in ("preprocessing_node", "register_model_node"):
        assert back["jobs"][node]["command"] == expected["jobs"][node]["command"]
        assert back["jobs"][node]["code"] == expected["jobs"][node]["code"]
