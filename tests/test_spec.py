"""Job specifications: Azure's names and defaults, YAML round trips, one error style."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cirrusml import Input, automl, load_job
from cirrusml.automl import (
    ClassificationModels,
    ClassificationPrimaryMetrics,
    ColumnTransformer,
    RegressionPrimaryMetrics,
)
from cirrusml.constants import AssetTypes, TabularTrainingMode
from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec import (
    BlockedTransformers,
    FeaturizationMode,
    FeatureType,
    resolved_limits,
)

STANDALONE = [
    "hello-automl/hello-automl-job-basic.yml",
    "cli-automl-classification-task-bankmarketing/cli-automl-classification-task-bankmarketing.yml",
    "cli-automl-regression-task-hardware-perf/cli-automl-regression-task-hardware-perf.yml",
    "cli-automl-forecasting-bike-share/cli-automl-forecasting-task-bike-share.yml",
]


def _train() -> Input:
    return Input(type=AssetTypes.MLTABLE, path="./train")


def _write(tmp_path: Path, text: str, name: str = "job.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _round_trip(job, tmp_path: Path):
    out = tmp_path / "dumped.yml"
    job.dump(out)
    return load_job(out), out


# ------------------------------------------------------------------------------- defaults


def test_factory_defaults_follow_the_sdk():
    job = automl.classification(training_data=_train(), target_column_name="y")
    assert job.primary_metric is ClassificationPrimaryMetrics.ACCURACY
    assert job.primary_metric_name == "accuracy"
    reg = automl.regression(training_data=_train(), target_column_name="y")
    assert reg.primary_metric is RegressionPrimaryMetrics.NORMALIZED_ROOT_MEAN_SQUARED_ERROR
    fc = automl.forecasting(training_data=_train(), target_column_name="y")
    assert fc.training.enable_stack_ensemble is False  # Azure turns it off for forecasting


def test_yaml_default_primary_metric_is_auc_weighted(tmp_path):
    path = _write(tmp_path, "type: automl\ntask: classification\ntarget_column_name: y\n"
                            "training_data: {type: mltable, path: ./train}\n")
    job = load_job(path)
    assert job.primary_metric_name == "AUC_weighted"
    # The dump always writes the metric out, so the SDK's different default cannot creep in.
    text = io.StringIO()
    job.dump(text)
    assert "primary_metric: auc_weighted" in text.getvalue()


def test_relative_paths_resolve_against_the_yaml_folder(tmp_path):
    sub = tmp_path / "jobs"
    sub.mkdir()
    path = _write(sub, "type: automl\ntask: regression\ntarget_column_name: y\n"
                       "training_data: {type: mltable, path: ../data/train}\n")
    job = load_job(path)
    assert Path(job.training_data.path) == (tmp_path / "data" / "train").resolve()


@pytest.mark.parametrize("spelling", ["logistic_regression", "LogisticRegression",
                                      "LOGISTICREGRESSION", "logisticregression"])
def test_algorithm_spellings(spelling):
    job = automl.classification(training_data=_train(), target_column_name="y")
    job.set_training(blocked_training_algorithms=[spelling])
    assert job.training.blocked_training_algorithms == [ClassificationModels.LOGISTIC_REGRESSION]


@pytest.mark.parametrize("spelling", ["AUC_weighted", "auc_weighted", "AUCWeighted",
                                      ClassificationPrimaryMetrics.AUC_WEIGHTED])
def test_metric_spellings(spelling):
    job = automl.classification(training_data=_train(), target_column_name="y",
                                primary_metric=spelling)
    assert job.primary_metric_name == "AUC_weighted"


def test_log_loss_is_an_accepted_classification_metric():
    job = automl.classification(training_data=_train(), target_column_name="y",
                                primary_metric="log_loss")
    assert job.primary_metric_name == "log_loss"


def test_set_methods_merge_like_the_sdk():
    job = automl.classification(training_data=_train(), target_column_name="y")
    job.set_limits(timeout_minutes=30, max_trials=5)
    job.set_limits(max_concurrent_trials=2)
    assert (job.limits.timeout_minutes, job.limits.max_trials, job.limits.max_concurrent_trials) \
        == (30, 5, 2)
    job.set_training(enable_onnx_compatible_models=True,
                     blocked_training_algorithms=[ClassificationModels.LOGISTIC_REGRESSION])
    job.set_training(training_mode=TabularTrainingMode.DISTRIBUTED)
    assert job.training.enable_onnx_compatible_models is True
    assert job.training.training_mode is TabularTrainingMode.DISTRIBUTED
    assert job.training.blocked_training_algorithms == [ClassificationModels.LOGISTIC_REGRESSION]


def test_fractional_timeouts_are_accepted_and_defaults_resolve():
    job = automl.regression(training_data=_train(), target_column_name="y")
    job.set_limits(timeout_minutes=0.5, trial_timeout_minutes=0.25)
    limits = resolved_limits(job.limits)
    assert limits.timeout_minutes == 0.5 and limits.trial_timeout_minutes == 0.25
    assert limits.max_trials == 1000 and limits.max_concurrent_trials == 1
    defaults = resolved_limits(None)
    assert defaults.timeout_minutes == 8640 and defaults.trial_timeout_minutes == 43200


def test_the_docs_featurization_snippet_runs():
    # Azure's how-to guide, with only the import changed (it writes "LabelEncoding").
    transformer_params = {
        "imputer": [
            ColumnTransformer(fields=["CACH"], parameters={"strategy": "most_frequent"}),
            ColumnTransformer(fields=["PRP"], parameters={"strategy": "most_frequent"}),
        ],
    }
    job = automl.regression(training_data=_train(), target_column_name="ERP")
    job.set_featurization(mode="custom", transformer_params=transformer_params,
                          blocked_transformers=["LabelEncoding"],
                          column_name_and_types={"CHMIN": "Categorical"})
    feat = job.featurization
    assert feat.mode is FeaturizationMode.CUSTOM
    assert feat.blocked_transformers == [BlockedTransformers.LABEL_ENCODER]
    assert feat.column_name_and_types == {"CHMIN": FeatureType.CATEGORICAL}


def test_stack_ensemble_kwargs_take_both_spellings(tmp_path):
    for key in ("stack_meta_learner_kwargs", "stack_meta_learner_k_wargs"):
        path = _write(tmp_path, f"""
type: automl
task: classification
target_column_name: y
training_data: {{type: mltable, path: ./t}}
training:
  stack_ensemble_settings:
    {key}: {{C: 0.5}}
    stack_meta_learner_type: logistic_regression
""")
        job = load_job(path)
        stack = job.training.stack_ensemble_settings
        assert stack.stack_meta_learner_kwargs == {"C": 0.5}
        assert stack.stack_meta_learner_k_wargs == {"C": 0.5}


def test_featurization_mode_off_from_bare_yaml(tmp_path):
    path = _write(tmp_path, "type: automl\ntask: regression\ntarget_column_name: y\n"
                            "training_data: {type: mltable, path: ./t}\n"
                            "featurization: {mode: off}\n")
    job = load_job(path)
    assert job.featurization.mode is FeaturizationMode.OFF
    again, out = _round_trip(job, tmp_path)
    assert again == job
    assert "mode: 'off'" in out.read_text()


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("relative", STANDALONE)
def test_every_standalone_example_loads_and_round_trips(examples_dir, tmp_path, relative):
    job = load_job(examples_dir / relative)
    again, _ = _round_trip(job, tmp_path)
    assert again == job
    assert Path(job.training_data.path).is_dir()


def test_bank_marketing_example_fields(examples_dir):
    job = load_job(examples_dir / STANDALONE[1])
    assert job.primary_metric_name == "accuracy"
    assert job.limits.exit_score == 0.92 and job.limits.trial_timeout_minutes == 20
    assert [a.value for a in job.training.allowed_training_algorithms] == [
        "GradientBoosting", "LogisticRegression"]
    imputer = job.featurization.transformer_params
    (entries,) = imputer.values()
    assert entries[0].fields == ["job"]
    assert entries[0].parameters == {"strategy": "most_frequent"}
    assert job.training.enable_model_explainability is True


def test_serverless_example_fails_naming_its_bad_field(examples_dir):
    path = (examples_dir / "cli-automl-classification-task-bankmarketing"
            / "cli-automl-classification-task-bankmarketing-serverless.yml")
    with pytest.raises(InvalidSpecError, match=r"resources: must be a mapping") as info:
        load_job(path)
    assert info.value.field == "resources"
    assert "serverless.yml" in str(info.value)


def test_pipeline_file_loads_as_a_pipeline_job(examples_dir):
    job = load_job(examples_dir / "cli-automl-classification-task-bankmarketing-pipeline"
                   / "pipeline.yml")
    assert job.type == "pipeline"
    assert list(job.jobs) == ["preprocessing_node", "classification_node", "register_model_node"]


def test_python_built_job_round_trips(tmp_path):
    job = automl.classification(
        training_data=Input(type="mltable", path=str(tmp_path / "train")),
        validation_data=Input(type="mltable", path=str(tmp_path / "valid")),
        target_column_name="y", primary_metric="norm_macro_recall", weight_column_name="w",
        experiment_name="exp", tags={"a": "b"}, positive_label="yes", seed=7)
    job.set_limits(timeout_minutes=12.5, max_trials=9, enable_early_termination=False,
                   exit_score=0.9, max_cores_per_trial=-1)
    job.set_training(allowed_training_algorithms=["light_gbm", "XGBoostClassifier"],
                     enable_stack_ensemble=False, ensemble_model_download_timeout=3)
    job.set_featurization(mode="custom", blocked_transformers=["tf_idf"],
                          column_name_and_types={"a": "Categorical", "b": "DateTime"},
                          transformer_params={"imputer": [
                              {"fields": ["a"], "parameters": {"strategy": "constant",
                                                               "fill_value": 0}}],
                              "hash_one_hot_encoder": [
                                  {"fields": ["c"], "parameters": {"number_of_bits": 8}}]})
    again, out = _round_trip(job, tmp_path)
    assert again == job
    data = yaml.safe_load(out.read_text())
    assert data["training"]["allowed_training_algorithms"] == ["light_gbm", "xg_boost_classifier"]
    assert data["training"]["ensemble_model_download_timeout_minutes"] == 3


@settings(max_examples=40, deadline=None)
@given(
    timeout=st.one_of(st.none(), st.floats(0.01, 1e5)),
    trials=st.one_of(st.none(), st.integers(1, 10_000)),
    concurrent=st.one_of(st.none(), st.integers(1, 64)),
    early=st.one_of(st.none(), st.booleans()),
    folds=st.one_of(st.none(), st.integers(2, 20), st.just("auto")),
    metric=st.sampled_from(["accuracy", "auc_weighted", "norm_macro_recall",
                            "average_precision_score_weighted", "precision_score_weighted"]),
)
def test_yaml_round_trip_property(tmp_path_factory, timeout, trials, concurrent, early, folds,
                                  metric):
    tmp = tmp_path_factory.mktemp("rt")
    job = automl.classification(training_data=Input(type="mltable", path=str(tmp / "t")),
                                target_column_name="label", primary_metric=metric,
                                n_cross_validations=folds)
    job.set_limits(timeout_minutes=timeout, max_trials=trials, max_concurrent_trials=concurrent,
                   enable_early_termination=early)
    again, _ = _round_trip(job, tmp)
    assert again == job


def test_forecast_settings_are_stored():
    job = automl.forecasting(training_data=_train(), target_column_name="cnt")
    job.set_forecast_settings(time_column_name="date", forecast_horizon=14, frequency="D",
                              target_lags="auto", country_or_region_for_holidays="US",
                              time_series_id_column_names="store", use_stl="season_trend")
    fs = job.forecasting_settings
    assert fs.forecast_horizon == 14 and fs.target_lags == "auto"
    assert fs.time_series_id_column_names == ["store"]
    assert fs.use_stl.value == "SeasonTrend"


# ------------------------------------------------------------------------------ bad input


def _job_yaml(**extra: str) -> str:
    base = {"type": "automl", "task": "classification", "target_column_name": "y",
            "training_data": "{type: mltable, path: ./t}"}
    base.update(extra)
    return "\n".join(f"{k}: {v}" for k, v in base.items()) + "\n"


def test_yaml_that_does_not_parse_names_file_and_line(tmp_path):
    path = _write(tmp_path, "type: automl\ntask: [classification\nlimits: {\n")
    with pytest.raises(InvalidSpecError, match=r"job.yml' is not valid YAML at line \d+"):
        load_job(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InvalidSpecError, match="does not exist"):
        load_job(tmp_path / "nope.yml")


@pytest.mark.parametrize(("key", "suggested"), [
    ("limit", "limits"), ("target_colum_name", "target_column_name"),
    ("primary_metrc", "primary_metric"),
])
def test_unknown_top_level_key_suggests_the_nearest(tmp_path, key, suggested):
    path = _write(tmp_path, _job_yaml(**{key: "1"}))
    with pytest.raises(InvalidSpecError, match=f"unknown key '{key}'.*Did you mean '{suggested}'"):
        load_job(path)


def test_unknown_nested_key_suggests_the_nearest(tmp_path):
    path = _write(tmp_path, _job_yaml(limits="{max_trails: 3}"))
    with pytest.raises(InvalidSpecError, match=r"limits\.max_trails: unknown key 'max_trails'.*"
                                               r"Did you mean 'max_trials'"):
        load_job(path)


def test_wrong_type_names_the_field(tmp_path):
    path = _write(tmp_path, _job_yaml(limits="{max_trials: many}"))
    with pytest.raises(InvalidSpecError, match=r"limits\.max_trials: must be a whole number"):
        load_job(path)


def test_metric_of_another_task(tmp_path):
    path = _write(tmp_path, _job_yaml(primary_metric="r2_score"))
    with pytest.raises(InvalidSpecError, match=r"primary_metric: 'r2_score' is not a primary "
                                               r"metric for classification"):
        load_job(path)


def test_unknown_algorithm_is_named_with_suggestion(tmp_path):
    path = _write(tmp_path, _job_yaml(training="{allowed_training_algorithms: [light_gmb]}"))
    with pytest.raises(InvalidSpecError, match=r"training\.allowed_training_algorithms: "
                                               r"'light_gmb' is not a valid.*Did you mean"):
        load_job(path)


def test_regression_algorithm_in_classification_job():
    job = automl.classification(training_data=_train(), target_column_name="y")
    with pytest.raises(InvalidSpecError, match=r"'ElasticNet' is a regression algorithm.*"
                                               r"light_gbm"):
        job.set_training(allowed_training_algorithms=["ElasticNet"])


@pytest.mark.parametrize(("limits", "field"), [
    ({"timeout_minutes": 0}, "limits.timeout_minutes"),
    ({"timeout_minutes": -5}, "limits.timeout_minutes"),
    ({"trial_timeout_minutes": 0}, "limits.trial_timeout_minutes"),
    ({"max_trials": 0}, "limits.max_trials"),
    ({"max_concurrent_trials": -1}, "limits.max_concurrent_trials"),
    ({"max_cores_per_trial": 0}, "limits.max_cores_per_trial"),
])
def test_zero_or_negative_limits(limits, field):
    job = automl.classification(training_data=_train(), target_column_name="y")
    with pytest.raises(InvalidSpecError) as info:
        job.set_limits(**limits)
    assert info.value.field == field


def test_exit_score_outside_the_metric_range():
    job = automl.classification(training_data=_train(), target_column_name="y",
                                primary_metric="accuracy")
    job.set_limits(exit_score=1.5)
    with pytest.raises(InvalidSpecError, match=r"limits\.exit_score: 1\.5 is outside the range "
                                               r"of accuracy"):
        job.validate_spec()


def test_allowed_list_empty_after_blocking():
    job = automl.classification(training_data=_train(), target_column_name="y")
    job.set_training(allowed_training_algorithms=["LightGBM"],
                     blocked_training_algorithms=["light_gbm"])
    with pytest.raises(InvalidSpecError, match="no algorithm is left"):
        job.validate_spec()


@pytest.mark.parametrize(("factory", "name", "task"), [
    (automl.regression, "LogisticRegression", "a classification algorithm"),
    (automl.classification, "elastic_net", "a regression algorithm"),
])
def test_allowed_names_of_another_task_are_refused(factory, name, task):
    job = factory(training_data=_train(), target_column_name="y")
    with pytest.raises(InvalidSpecError, match=f"'{name}' is {task}, not one this task can use"
                                               r"; valid values are "):
        job.set_training(allowed_training_algorithms=[name])


def test_unknown_factory_argument_is_named():
    with pytest.raises(InvalidSpecError, match=r"unknown argument 'experiment'.*Did you mean "
                                               r"'experiment_name'"):
        automl.classification(training_data=_train(), target_column_name="y", experiment="x")


def test_missing_required_fields(tmp_path):
    path = _write(tmp_path, "type: automl\ntask: classification\ntarget_column_name: y\n")
    with pytest.raises(InvalidSpecError, match="training_data: is required"):
        load_job(path)
    path = _write(tmp_path, "type: automl\ntarget_column_name: y\n")
    with pytest.raises(InvalidSpecError, match="task: is required"):
        load_job(path)


def test_bad_fractions_and_folds():
    with pytest.raises(InvalidSpecError, match="validation_data_size"):
        automl.classification(training_data=_train(), target_column_name="y",
                              validation_data_size=1.5)
    with pytest.raises(InvalidSpecError, match="n_cross_validations"):
        automl.classification(training_data=_train(), target_column_name="y",
                              n_cross_validations=1)


def test_imputer_needs_a_known_strategy():
    job = automl.regression(training_data=_train(), target_column_name="y")
    with pytest.raises(InvalidSpecError, match="imputer strategy 'avg'"):
        job.set_featurization(transformer_params={
            "imputer": [ColumnTransformer(fields=["a"], parameters={"strategy": "avg"})]})
