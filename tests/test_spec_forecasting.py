"""The forecasting job spec: every setting of Azure's ``forecasting:`` block, SDK and YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cirrusml import Input, automl, load_job
from cirrusml.automl import (
    FeatureLags,
    ForecastingModels,
    ForecastingPrimaryMetrics,
    ForecastingSettings,
    RegressionModels,
    ShortSeriesHandlingConfiguration,
    TargetAggregationFunction,
    UseStl,
)
from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec import FORECASTING_EXTENSION_MODELS, TaskType, job_from_dict
from cirrusml.spec._enums import METRICS_BY_TASK, MODELS_BY_TASK

AZURE_FORECASTING_MODELS = [
    "AutoArima", "Prophet", "Naive", "SeasonalNaive", "Average", "SeasonalAverage",
    "ExponentialSmoothing", "Arimax", "TCNForecaster", "ElasticNet", "GradientBoosting",
    "DecisionTree", "KNN", "LassoLars", "SGD", "RandomForest", "ExtremeRandomTrees", "LightGBM",
    "XGBoostRegressor",
]


def _train() -> Input:
    return Input(type="mltable", path="/data/train")  # absolute: loads back unchanged


def _job(**forecast: Any):
    job = automl.forecasting(training_data=_train(), target_column_name="sales")
    job.set_forecast_settings(time_column_name="date", **forecast)
    return job


def _yaml_job(tmp_path: Path, forecasting: dict[str, Any] | None, **top: Any):
    data: dict[str, Any] = {"type": "automl", "task": "forecasting",
                            "target_column_name": "sales",
                            "training_data": {"type": "mltable", "path": "./train"}}
    data.update(top)
    if forecasting is not None:
        data["forecasting"] = forecasting
    path = tmp_path / "job.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_job(path)


def _settings(tmp_path: Path, **forecast: Any) -> ForecastingSettings:
    return _yaml_job(tmp_path, {"time_column_name": "date", **forecast}).forecasting_settings


def _round_trip(job, tmp_path: Path):
    path = tmp_path / "dumped.yml"
    job.dump(path)
    return load_job(path), yaml.safe_load(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------ every §6 setting


#: (key, value as given, value stored) for each setting, valid in the SDK call and in YAML alike.
SETTINGS = [
    ("forecast_horizon", 14, 14),
    ("forecast_horizon", "auto", "auto"),
    ("forecast_horizon", "Auto", "auto"),
    ("time_series_id_column_names", "store", ["store"]),
    ("time_series_id_column_names", ["store", "dept"], ["store", "dept"]),
    ("frequency", "W-THU", "W-THU"),
    ("frequency", "H", "H"),
    ("target_lags", 3, 3),
    ("target_lags", [1, 7, 14], [1, 7, 14]),
    ("target_lags", "auto", "auto"),
    ("feature_lags", "auto", FeatureLags.AUTO),
    ("feature_lags", "none", FeatureLags.NONE),
    ("target_rolling_window_size", 4, 4),
    ("target_rolling_window_size", "auto", "auto"),
    ("seasonality", 7, 7),
    ("seasonality", 1, 1),
    ("seasonality", "auto", "auto"),
    ("use_stl", "season", UseStl.SEASON),
    ("use_stl", "seasontrend", UseStl.SEASON_TREND),
    ("use_stl", "seasonTrend", UseStl.SEASON_TREND),
    ("use_stl", "season_trend", UseStl.SEASON_TREND),
    ("use_stl", "none", UseStl.NONE),
    ("short_series_handling_config", "auto", ShortSeriesHandlingConfiguration.AUTO),
    ("short_series_handling_config", "pad", ShortSeriesHandlingConfiguration.PAD),
    ("short_series_handling_config", "drop", ShortSeriesHandlingConfiguration.DROP),
    ("short_series_handling_config", "None", ShortSeriesHandlingConfiguration.NONE),
    ("country_or_region_for_holidays", "US", "US"),
    ("cv_step_size", 3, 3),
    ("cv_step_size", "auto", "auto"),
    ("features_unknown_at_forecast_time", "temp", ["temp"]),
    ("features_unknown_at_forecast_time", ["temp", "promo"], ["temp", "promo"]),
    ("features_unknown_at_forecast_time", [], []),
]


@pytest.mark.parametrize(("key", "given", "stored"), SETTINGS)
def test_each_setting_from_the_sdk_call(key, given, stored):
    job = _job(frequency="D", **{key: given}) if key != "frequency" else _job(**{key: given})
    assert getattr(job.forecasting_settings, key) == stored
    job.validate_spec()


@pytest.mark.parametrize(("key", "given", "stored"), SETTINGS)
def test_each_setting_from_yaml(tmp_path, key, given, stored):
    assert getattr(_settings(tmp_path, **{key: given}), key) == stored


@pytest.mark.parametrize(("key", "given", "stored"), SETTINGS)
def test_each_setting_survives_dump_and_load(tmp_path, key, given, stored):
    job = _job(**{key: given})
    again, _ = _round_trip(job, tmp_path)
    assert again == job
    assert getattr(again.forecasting_settings, key) == stored


def test_settings_object_passed_to_the_factory(tmp_path):
    fs = ForecastingSettings(time_column_name="date", forecast_horizon=7,
                             time_series_id_column_names="store", target_lags=[1, 2])
    job = automl.forecasting(training_data=_train(), target_column_name="sales",
                             forecasting_settings=fs)
    assert job.forecasting_settings.time_series_id_column_names == ["store"]
    job.validate_spec()
    again, _ = _round_trip(job, tmp_path)
    assert again.forecasting_settings == fs


@pytest.mark.parametrize("function", ["sum", "max", "min", "mean", "Mean"])
def test_target_aggregate_function_with_frequency(tmp_path, function):
    fs = _settings(tmp_path, target_aggregate_function=function, frequency="W")
    assert fs.target_aggregate_function is TargetAggregationFunction.parse(function.lower())


def test_target_aggregate_function_none_needs_no_frequency(tmp_path):
    assert _settings(tmp_path, target_aggregate_function="none").target_aggregate_function is (
        TargetAggregationFunction.NONE)


def test_set_forecast_settings_keeps_what_was_set_before():
    job = _job(forecast_horizon=7, frequency="D")
    job.set_forecast_settings(target_lags=[1, 2])
    fs = job.forecasting_settings
    assert (fs.time_column_name, fs.forecast_horizon, fs.frequency, fs.target_lags) == (
        "date", 7, "D", [1, 2])


def test_settings_can_be_built_over_several_calls_before_validation():
    # Azure checks the aggregation's frequency at submission, so the order of calls is free.
    job = automl.forecasting(training_data=_train(), target_column_name="sales")
    job.set_forecast_settings(target_aggregate_function="sum")
    job.set_forecast_settings(time_column_name="date", frequency="D")
    job.validate_spec()


# -------------------------------------------------------------------------- wire forms


@pytest.mark.parametrize(("key", "wire", "stored"), [
    ("forecast_horizon", {"mode": "Auto"}, "auto"),
    ("forecast_horizon", {"mode": "Custom", "value": 14}, 14),
    ("forecast_horizon", {"mode": "custom", "value": 3}, 3),
    ("target_lags", {"mode": "Auto"}, "auto"),
    ("target_lags", {"mode": "Custom", "values": [1, 2]}, [1, 2]),
    ("target_rolling_window_size", {"mode": "Auto"}, "auto"),
    ("target_rolling_window_size", {"mode": "Custom", "value": 5}, 5),
    ("seasonality", {"mode": "Auto"}, "auto"),
    ("seasonality", {"mode": "Custom", "value": 24}, 24),
])
def test_wire_forms_load_and_dump_in_the_plain_form(tmp_path, key, wire, stored):
    fs = _settings(tmp_path, **{key: wire})
    assert getattr(fs, key) == stored
    job = _job(**{key: wire})
    assert getattr(job.forecasting_settings, key) == stored
    again, written = _round_trip(job, tmp_path)
    # The plain form is what Azure's own YAML loader reads.
    assert written["forecasting"][key] == stored
    assert again == job


@pytest.mark.parametrize(("wire", "stored"), [
    ({"mode": "Auto"}, "auto"), ({"mode": "Custom", "value": 3}, 3), ("auto", "auto"), (5, 5),
])
def test_n_cross_validations_wire_forms(tmp_path, wire, stored):
    job = _yaml_job(tmp_path, {"time_column_name": "date"}, n_cross_validations=wire)
    assert job.n_cross_validations == stored
    again, written = _round_trip(job, tmp_path)
    assert written["n_cross_validations"] == stored
    assert again == job


@pytest.mark.parametrize(("key", "wire", "words"), [
    ("forecast_horizon", {"mode": "Custom"}, "needs a value"),
    ("forecast_horizon", {"mode": "Auto", "value": 3}, "takes no value"),
    ("forecast_horizon", {"mode": "Sometimes", "value": 3}, "mode: Auto"),
    ("target_lags", {"mode": "Custom", "value": [1]}, "takes mode and values"),
    ("seasonality", {"mode": "Custom", "value": 0}, "1 or more"),
])
def test_bad_wire_forms_name_the_field(tmp_path, key, wire, words):
    with pytest.raises(InvalidSpecError, match=rf"forecasting\.{key}: .*{words}") as info:
        _settings(tmp_path, **{key: wire})
    assert info.value.field == f"forecasting.{key}"


def test_bad_n_cross_validations_wire_form_names_the_field(tmp_path):
    with pytest.raises(InvalidSpecError, match="n_cross_validations: .*2 or more"):
        _yaml_job(tmp_path, {"time_column_name": "date"},
                  n_cross_validations={"mode": "Custom", "value": 1})


# --------------------------------------------------------------------- Azure's text lists


@pytest.mark.parametrize("key", ["time_series_id_column_names",
                                 "features_unknown_at_forecast_time"])
def test_azure_text_of_a_list_is_read_as_the_list(tmp_path, key):
    assert getattr(_settings(tmp_path, **{key: "['store', 'dept']"}), key) == ["store", "dept"]
    assert getattr(_settings(tmp_path, **{key: "[]"}), key) == []


@pytest.mark.parametrize("text", [
    "[__import__('os').system('echo hacked')]",  # not a literal: never evaluated
    "[1, 2]",  # a list, but not of names
    "[weekday]",  # a bare word in brackets is a column name
])
def test_other_bracketed_text_stays_one_column_name(tmp_path, text):
    assert _settings(tmp_path, time_series_id_column_names=text).time_series_id_column_names == [
        text]


# ---------------------------------------------------------------------- training settings


def test_enable_dnn_training_and_stack_ensemble_default_for_forecasting(tmp_path):
    job = _job()
    job.set_training(enable_dnn_training=True, allowed_training_algorithms=["TCNForecaster"])
    assert job.training.enable_dnn_training is True
    assert job.training.enable_stack_ensemble is False  # Azure's rule for forecasting
    job.set_training(enable_stack_ensemble=True)
    assert job.training.enable_stack_ensemble is True
    job.set_training(enable_vote_ensemble=False)
    assert job.training.enable_stack_ensemble is True  # kept, not reset to False
    again, written = _round_trip(job, tmp_path)
    assert written["training"]["enable_dnn_training"] is True
    assert again == job


@pytest.mark.parametrize("name", AZURE_FORECASTING_MODELS)
def test_every_azure_forecasting_model_is_accepted_in_any_spelling(tmp_path, name):
    member = ForecastingModels(name)
    job = _job()
    job.set_training(blocked_training_algorithms=[name])
    assert job.training.blocked_training_algorithms == [member]
    yaml_job = _yaml_job(tmp_path, {"time_column_name": "date"},
                         training={"allowed_training_algorithms": [member.yaml]})
    assert yaml_job.training.allowed_training_algorithms == [member]


def test_forecasting_models_are_azures_enum_plus_two_extensions():
    assert [m.value for m in ForecastingModels if m not in FORECASTING_EXTENSION_MODELS] == (
        AZURE_FORECASTING_MODELS)
    assert {m.value for m in FORECASTING_EXTENSION_MODELS} == {"Theta", "MSTL"}
    assert MODELS_BY_TASK[TaskType.FORECASTING] is ForecastingModels
    assert METRICS_BY_TASK[TaskType.FORECASTING] is ForecastingPrimaryMetrics
    assert set(MODELS_BY_TASK) == set(TaskType)


@pytest.mark.parametrize(("spelling", "member"), [
    ("Theta", ForecastingModels.THETA), ("theta", ForecastingModels.THETA),
    ("MSTL", ForecastingModels.MSTL), ("mstl", ForecastingModels.MSTL),
])
def test_extension_models_in_forecasting_training(tmp_path, spelling, member):
    job = _job()
    job.set_training(allowed_training_algorithms=[spelling, "AutoArima"])
    assert job.training.allowed_training_algorithms == [member, ForecastingModels.AUTO_ARIMA]
    again, written = _round_trip(job, tmp_path)
    assert written["training"]["allowed_training_algorithms"] == [member.yaml, "auto_arima"]
    assert again == job


def test_extension_models_stay_out_of_regression():
    assert "Theta" not in {m.value for m in RegressionModels}
    job = automl.regression(training_data=_train(), target_column_name="y")
    with pytest.raises(InvalidSpecError, match="'theta' is a forecasting algorithm") as info:
        job.set_training(allowed_training_algorithms=["theta"])
    assert info.value.field == "training.allowed_training_algorithms"


def test_classification_model_is_refused_for_forecasting():
    with pytest.raises(InvalidSpecError,
                       match="'xg_boost_classifier' is a classification algorithm") as info:
        _job().set_training(blocked_training_algorithms=["xg_boost_classifier"])
    assert info.value.field == "training.blocked_training_algorithms"


def test_misspelt_forecasting_model_gets_a_suggestion(tmp_path):
    with pytest.raises(InvalidSpecError, match=r"training\.allowed_training_algorithms: "
                                               r"'auto_arma' .*Did you mean 'auto_arima'"):
        _yaml_job(tmp_path, {"time_column_name": "date"},
                  training={"allowed_training_algorithms": ["auto_arma"]})


# ------------------------------------------------------------------------ primary metrics


@pytest.mark.parametrize(("spelling", "member"), [
    ("normalized_root_mean_squared_error", "NORMALIZED_ROOT_MEAN_SQUARED_ERROR"),
    ("NormalizedRootMeanSquaredError", "NORMALIZED_ROOT_MEAN_SQUARED_ERROR"),
    ("r2_score", "R2_SCORE"), ("R2Score", "R2_SCORE"),
    ("normalized_mean_absolute_error", "NORMALIZED_MEAN_ABSOLUTE_ERROR"),
    ("NORMALIZED_MEAN_ABSOLUTE_ERROR", "NORMALIZED_MEAN_ABSOLUTE_ERROR"),
    ("spearman_correlation", "SPEARMAN_CORRELATION"),
    ("SpearmanCorrelation", "SPEARMAN_CORRELATION"),
])
def test_forecasting_primary_metrics_in_any_casing(tmp_path, spelling, member):
    expected = ForecastingPrimaryMetrics[member]
    sdk = automl.forecasting(training_data=_train(), target_column_name="y",
                             primary_metric=spelling)
    assert sdk.primary_metric is expected
    loaded = _yaml_job(tmp_path, {"time_column_name": "date"}, primary_metric=spelling)
    assert loaded.primary_metric is expected


def test_default_primary_metric_is_nrmse_in_sdk_and_yaml(tmp_path):
    nrmse = ForecastingPrimaryMetrics.NORMALIZED_ROOT_MEAN_SQUARED_ERROR
    assert automl.forecasting(training_data=_train(), target_column_name="y").primary_metric is (
        nrmse)
    assert _yaml_job(tmp_path, {"time_column_name": "date"}).primary_metric is nrmse


def test_classification_metric_is_refused_for_forecasting(tmp_path):
    with pytest.raises(InvalidSpecError, match="primary_metric: 'accuracy' is not a primary "
                                               "metric for forecasting"):
        _yaml_job(tmp_path, {"time_column_name": "date"}, primary_metric="accuracy")


# ------------------------------------------------------------------ required and bad values


def test_missing_time_column_is_named_at_load(tmp_path):
    with pytest.raises(InvalidSpecError, match=r"job\.yml: forecasting\.time_column_name: is "
                                               "required for a forecasting job") as info:
        _yaml_job(tmp_path, None)
    assert info.value.field == "forecasting.time_column_name"
    with pytest.raises(InvalidSpecError, match=r"forecasting\.time_column_name: is required"):
        _yaml_job(tmp_path, {"forecast_horizon": 3})


def test_missing_time_column_is_named_at_validation():
    job = automl.forecasting(training_data=_train(), target_column_name="y")
    job.set_forecast_settings(forecast_horizon=3)
    with pytest.raises(InvalidSpecError, match=r"forecasting\.time_column_name: is required"):
        job.validate_spec()


def test_aggregation_without_frequency_is_named(tmp_path):
    with pytest.raises(InvalidSpecError,
                       match=r"forecasting\.target_aggregate_function: 'sum' needs "
                             r"forecasting\.frequency") as info:
        _settings(tmp_path, target_aggregate_function="sum")
    assert info.value.field == "forecasting.target_aggregate_function"


@pytest.mark.parametrize(("key", "value", "words"), [
    ("forecast_horizon", 0, "must be 1 or more, got 0"),
    ("forecast_horizon", "soon", "must be 'auto' or a whole number, got 'soon'"),
    ("forecast_horizon", 2.5, "must be 'auto' or a whole number, got 2.5"),
    ("forecast_horizon", True, "must be 'auto' or a whole number"),
    ("target_lags", [0, 1], "lags must be whole numbers of 1 or more, got 0"),
    ("target_lags", [], "at least one lag"),
    ("target_lags", "some", "must be 'auto' or a whole number"),
    ("target_rolling_window_size", 1, "must be 2 or more, got 1"),
    ("seasonality", 0, "must be 1 or more"),
    ("cv_step_size", 0, "must be 1 or more"),
    ("use_stl", "weekly", "'weekly' is not a valid UseStl value; valid values are none, "
                          "season, seasontrend"),
    ("short_series_handling_config", "pads", "not a valid ShortSeriesHandlingConfiguration.*"
                                             "Did you mean 'pad'"),
    ("target_aggregate_function", "median", "not a valid TargetAggregationFunction"),
    ("feature_lags", "yes", "not a valid FeatureLags value; valid values are none, auto"),
    ("frequency", "fortnightly", "not a pandas offset alias"),
    ("country_or_region_for_holidays", "USA", "two-letter ISO 3166"),
    ("time_series_id_column_names", [1, 2], "must be a list of strings"),
    ("features_unknown_at_forecast_time", {"a": 1}, "must be a list of strings"),
    ("time_column_name", "  ", "must name the datetime column"),
])
def test_bad_values_name_the_field(tmp_path, key, value, words):
    with pytest.raises(InvalidSpecError, match=rf"forecasting\.{key}: .*{words}") as info:
        _settings(tmp_path, **{key: value})
    assert info.value.field == f"forecasting.{key}"
    with pytest.raises(InvalidSpecError, match=rf"forecasting\.{key}: .*{words}"):
        _job().set_forecast_settings(**{key: value})


def test_unknown_forecasting_key_suggests_the_nearest(tmp_path):
    with pytest.raises(InvalidSpecError, match=r"unknown key 'forecast_horizn' in forecasting\. "
                                               r"Did you mean 'forecast_horizon'"):
        _settings(tmp_path, forecast_horizn=3)


def test_forecasting_block_is_refused_on_a_regression_job(tmp_path):
    path = tmp_path / "job.yml"
    path.write_text("type: automl\ntask: regression\ntarget_column_name: y\n"
                    "training_data: {type: mltable, path: ./t}\n"
                    "forecasting: {time_column_name: date}\n", encoding="utf-8")
    with pytest.raises(InvalidSpecError, match="unknown key 'forecasting'"):
        load_job(path)


@pytest.mark.parametrize(("top", "forecast", "field", "words"), [
    ({}, {"time_column_name": "sales"}, "forecasting.time_column_name", "also the target"),
    ({}, {"time_column_name": "date", "time_series_id_column_names": ["store", "date"]},
     "forecasting.time_series_id_column_names", "'date' is the time column"),
    ({"test_data_size": 0.1}, {"time_column_name": "date"}, "test_data_size",
     "not supported for forecasting"),
    ({"featurization": {"mode": "off"}}, {"time_column_name": "date"}, "featurization.mode",
     "'off' is not allowed for forecasting"),
])
def test_job_level_forecasting_rules(tmp_path, top, forecast, field, words):
    with pytest.raises(InvalidSpecError, match=words) as info:
        _yaml_job(tmp_path, forecast, **top)
    assert info.value.field == field


# --------------------------------------------------------------------------- round trips


def test_every_setting_at_once_round_trips(tmp_path):
    job = automl.forecasting(training_data=_train(), target_column_name="sales",
                             primary_metric="r2_score", n_cross_validations="auto",
                             test_data=Input(type="mltable", path="/data/test"))
    job.set_forecast_settings(
        time_column_name="date", forecast_horizon=14, time_series_id_column_names=["store"],
        frequency="D", target_aggregate_function="mean", target_lags=[1, 7],
        feature_lags="auto", target_rolling_window_size=3, seasonality=7,
        use_stl="season_trend", short_series_handling_config="drop",
        country_or_region_for_holidays="DE", cv_step_size=2,
        features_unknown_at_forecast_time=["temp"])
    job.set_training(enable_dnn_training=True, blocked_training_algorithms=["prophet"])
    job.validate_spec()
    again, written = _round_trip(job, tmp_path)
    assert again == job
    assert written["forecasting"] == {
        "time_column_name": "date", "forecast_horizon": 14,
        "time_series_id_column_names": ["store"], "frequency": "D",
        "target_aggregate_function": "mean", "target_lags": [1, 7], "feature_lags": "auto",
        "target_rolling_window_size": 3, "seasonality": 7, "use_stl": "seasontrend",
        "short_series_handling_config": "drop", "country_or_region_for_holidays": "DE",
        "cv_step_size": 2, "features_unknown_at_forecast_time": ["temp"],
    }


def test_job_from_dict_matches_the_sdk_job():
    data = {"type": "automl", "task": "forecasting", "target_column_name": "sales",
            "primary_metric": "normalized_root_mean_squared_error",
            "training_data": {"type": "mltable", "path": "/data/train"},
            "training": {"enable_stack_ensemble": False},
            "forecasting": {"time_column_name": "date", "forecast_horizon": {"mode": "Auto"},
                            "time_series_id_column_names": "store"}}
    sdk = automl.forecasting(training_data=Input(type="mltable", path="/data/train"),
                             target_column_name="sales")
    sdk.set_forecast_settings(time_column_name="date", forecast_horizon="auto",
                              time_series_id_column_names=["store"])
    assert job_from_dict(data) == sdk


_auto_or = st.one_of(st.just("auto"), st.integers(min_value=1, max_value=400))


@settings(max_examples=40, deadline=None)
@given(horizon=_auto_or, seasonality=_auto_or,
       lags=st.one_of(st.just("auto"), st.lists(st.integers(1, 60), min_size=1, max_size=5)),
       window=st.one_of(st.just("auto"), st.integers(2, 100)),
       ids=st.lists(st.text("abcxyz_", min_size=1, max_size=6), max_size=3, unique=True),
       stl=st.sampled_from(["season", "season_trend", "seasonTrend", "none", None]),
       short=st.sampled_from(["auto", "pad", "drop", "None", None]))
def test_round_trip_property(tmp_path_factory, horizon, seasonality, lags, window, ids, stl,
                             short):
    ids = [i for i in ids if i != "date"]
    job = _job(forecast_horizon=horizon, seasonality=seasonality, target_lags=lags,
               target_rolling_window_size=window, time_series_id_column_names=ids or None,
               use_stl=stl, short_series_handling_config=short)
    again, _ = _round_trip(job, tmp_path_factory.mktemp("rt"))
    assert again == job
