"""Forecasting jobs end to end: every forecaster through one job, the best model's forecasts,
rolling test scoring, and Azure's bike-share job file run unchanged."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.forecast import rolling_forecast
from cirrusml.models import learners_for
from cirrusml.tasks import SeriesLayout
from tests.test_forecast import panel

pytestmark = pytest.mark.slow

#: Every forecaster a job can run without PyTorch.
FORECASTERS = [lr.name for lr in learners_for("forecasting") if not getattr(lr, "dnn", False)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A panel job (two stores, a known covariate) trying every forecaster once, with test
    data three horizons long."""
    root = tmp_path_factory.mktemp("forecast")
    frame = panel(n=110)
    cut = frame.day.min() + pd.Timedelta(days=89)
    train, test = frame[frame.day <= cut], frame[frame.day > cut]
    train.to_csv(root / "train.csv", index=False)
    test.to_csv(root / "test.csv", index=False)
    client = MLClient(workspace=root / "ws")
    job = automl.forecasting(
        training_data=Input(type="uri_file", path=str(root / "train.csv")),
        test_data=Input(type="uri_file", path=str(root / "test.csv")),
        target_column_name="sales", n_cross_validations=2, seed=0)
    job.set_forecast_settings(time_column_name="day", time_series_id_column_names=["store"],
                              forecast_horizon=7, target_lags=[1, 7],
                              country_or_region_for_holidays="US")
    job.set_training(allowed_training_algorithms=FORECASTERS)
    job.set_limits(max_trials=len(FORECASTERS), max_concurrent_trials=2, timeout_minutes=30,
                   enable_early_termination=False)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=900) == "Completed", client.jobs.record(name)
    return client, name, train, test, root


def test_every_forecaster_completes_a_trial(finished):
    client, name, _train, _test, _root = finished
    trials = client.jobs.list_trials(name)
    done = {t.algorithm for t in trials if t.status == "Completed"}
    assert set(FORECASTERS) <= done, {t.algorithm: t.status for t in trials}
    assert "VotingEnsemble" in done
    assert "StackEnsemble" not in done  # off by default for forecasting, as in Azure
    for trial in trials:
        if trial.status == "Completed":
            assert {"normalized_root_mean_squared_error", "r2_score",
                    "mean_absolute_scaled_error"} <= set(trial.metrics)


def test_guardrails_and_validation_are_recorded(finished):
    client, name, *_ = finished
    names = {g["name"]: g["status"] for g in client.jobs.guardrails(name)}
    assert names["Short series handling"] == "Passed"
    assert names["Frequency detection"] == "Passed"
    assert names["Time Series ID detection"] == "Passed"
    log, _ = client.jobs.read_log(name)
    assert "rolling-origin cross-validation (n_cross_validations=2): 2 fold(s)" in log
    # The VotingEnsemble's rule was chosen on the fold each candidate rule did not choose with.
    assert "Ensembles: selection rules scored on the fold each did not choose with" in log


def test_the_best_model_forecasts_and_scores_its_test_data(finished, tmp_path):
    client, name, train, test, _root = finished
    client.jobs.download(name, download_path=tmp_path, output_name="best_model")
    path = str(tmp_path / "named-outputs" / "best_model")
    model = mlflow.sklearn.load_model(path)
    future = test.drop(columns=["sales"])
    first = future[future.day <= future.day.min() + pd.Timedelta(days=6)]
    values = model.predict(first)
    assert values.shape == (14,) and np.isfinite(values).all()
    py = mlflow.pyfunc.load_model(path)
    np.testing.assert_allclose(np.asarray(py.predict(first), dtype=float), values)
    # The test data (20 days, a horizon of 7) was scored by a rolling forecast.
    log, _ = client.jobs.read_log(name)
    assert f"({len(test)} rows)" in log
    metrics = client.jobs.record(name)["test_metrics"]
    layout = SeriesLayout(target="sales", time_column="day", id_columns=("store",), horizon=7,
                          freq="D", season_length=7)
    table = rolling_forecast(model, future, test.sales.to_numpy(), layout, step=7)
    assert len(table) == len(test)
    mae = float(np.mean(np.abs(table.forecast - table.actual)))
    assert metrics["mean_absolute_error"] == pytest.approx(mae, rel=1e-6)
    # It beats the naive forecast of the last training value by a wide margin.
    last = train.groupby("store").sales.last()
    naive = float(np.mean(np.abs(test.store.map(last) - test.sales)))
    assert mae < 0.7 * naive


def test_the_forecast_horizon_charts_are_kept_per_fold_and_series(finished):
    client, name, train, test, _root = finished
    charts = client.jobs.charts(name)
    chart = charts["forecast_horizon"]
    assert chart["n_folds"] == 2 and chart["n_series"] == train.store.nunique()
    actual = train.set_index(["store", train.day.dt.strftime("%Y-%m-%d")]).sales
    for fold in chart["folds"]:
        assert {e["series"] for e in fold["series"]} == set(train.store.astype(str))
        for entry in fold["series"]:
            forecast = entry["forecast"]
            assert forecast["horizon"] == list(range(1, 8))  # each fold forecasts 7 steps
            days = [t[:10] for t in forecast["time"]]
            assert forecast["y_true"] == pytest.approx(
                actual.loc[[(entry["series"], d) for d in days]].tolist())
            # The history shown ends the day before the fold's origin.
            assert pd.Timestamp(entry["history"]["time"][-1]) + pd.Timedelta(days=1) == \
                pd.Timestamp(days[0])
    origins = [pd.Timestamp(f["series"][0]["forecast"]["time"][0]) for f in chart["folds"]]
    assert origins[0] < origins[1]  # rolling origins
    errors = charts["forecast_horizon_metrics"]
    assert errors["horizon"] == list(range(1, 8)) and sum(errors["count"]) == 2 * 2 * 7
    # The test data (20 days: a rolling forecast) has its own charts, one window of 20 steps.
    tested = client.jobs.charts(name, "test")["forecast_horizon"]
    assert [len(e["forecast"]["time"]) for e in tested["folds"][0]["series"]] == [20, 20]
    assert "regression" in client.jobs.charts(name, "test")


def test_the_bike_share_job_file_runs_unchanged(examples_dir, tmp_path):
    from tests.test_cli import _job_names, cirrus

    job_file = examples_dir / "cli-automl-forecasting-bike-share" / \
        "cli-automl-forecasting-task-bike-share.yml"
    workspace = tmp_path / "ws"
    result = cirrus("job", "create", "--file", str(job_file), "--set",
                    "limits.timeout_minutes=1", "--set", "limits.max_trials=4", "--stream",
                    workspace=workspace)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (name,) = _job_names(workspace)
    client = MLClient(workspace=workspace)
    assert client.jobs.record(name)["status"] == "Completed"
    log, _ = client.jobs.read_log(name)
    assert "Test normalized_root_mean_squared_error (122 rows)" in log  # rolling forecast
    assert np.isfinite(client.jobs.record(name)["test_metrics"][
        "normalized_root_mean_squared_error"])
    names = {g["name"] for g in client.jobs.guardrails(name)}
    assert {"Frequency detection", "Short series handling"} <= names


def test_the_best_model_is_explained_unless_it_is_statistical(finished):
    client, name, *_ = finished
    explanation = client.jobs.explanation(name)
    log, _ = client.jobs.read_log(name)
    if not explanation:
        # Azure does not explain statistical forecasters: the step says so and is skipped.
        assert "statistical forecasters have no features to weigh" in log
        return
    assert explanation["method"] == "forecaster_permutation"


@pytest.fixture(scope="module")
def elastic(tmp_path_factory):
    """A one-trial job whose best model is a regression forecaster (it has features)."""
    root = tmp_path_factory.mktemp("elastic")
    panel(n=80).to_csv(root / "train.csv", index=False)
    client = MLClient(workspace=root / "ws")
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(root / "train.csv")),
                             target_column_name="sales", n_cross_validations=2, seed=0)
    job.set_forecast_settings(time_column_name="day", time_series_id_column_names=["store"],
                              forecast_horizon=7, use_stl="season")
    job.set_training(allowed_training_algorithms=["ElasticNet"], enable_vote_ensemble=False)
    job.set_limits(max_trials=1, timeout_minutes=10)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    return client, name, root


def test_a_regression_forecaster_job_is_explained(elastic):
    client, name, _root = elastic
    explanation = client.jobs.explanation(name)
    assert explanation["method"] == "forecaster_permutation"
    raw = explanation["raw_importance"]
    assert set(raw) >= {"sales", "day", "store", "promo"}
    assert max(raw, key=raw.get) == "sales"  # the series' own history matters most


@pytest.mark.parametrize("which", ["elastic", "finished"])
def test_generated_code_reproduces_a_forecasting_trial(which, request, tmp_path):
    """The script of the best trial (a forecaster, or a VotingEnsemble of them) prints the
    score the job recorded."""
    client, name, *_ = request.getfixturevalue(which)
    record = client.jobs.record(name)
    trial = record["best_iteration"]
    script = tmp_path / "train.py"
    script.write_text(client.jobs.generate_code(name, trial=trial))
    result = subprocess.run([sys.executable, str(script), "--output", str(tmp_path / "model")],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines()
                if x.startswith(record["primary_metric"] + " = "))
    assert float(line.split(" = ")[1]) == pytest.approx(record["best_score"], rel=1e-6, abs=1e-9)
    model = mlflow.sklearn.load_model(str(tmp_path / "model"))
    assert hasattr(model, "predict")


def test_tcn_forecaster_trains_through_a_job_and_stays_out_of_ensembles(tmp_path):
    panel(n=80).to_csv(tmp_path / "train.csv", index=False)
    client = MLClient(workspace=tmp_path / "ws")
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(tmp_path / "train.csv")),
                             target_column_name="sales", n_cross_validations=2, seed=0)
    job.set_forecast_settings(time_column_name="day", time_series_id_column_names=["store"],
                              forecast_horizon=7)
    job.set_training(enable_dnn_training=True,
                     allowed_training_algorithms=["TCNForecaster", "SeasonalNaive", "Naive"])
    job.set_limits(max_trials=3, timeout_minutes=10, max_concurrent_trials=1)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    trials = {t.algorithm: t for t in client.jobs.list_trials(name)}
    assert trials["TCNForecaster"].status == "Completed"
    assert np.isfinite(trials["TCNForecaster"].score)
    voting = trials.get("VotingEnsemble")
    if voting is not None:  # Azure: TCNForecaster cannot join ensembles
        import json

        members = json.loads(voting.params["ensembled_iterations"])
        assert trials["TCNForecaster"].iteration not in members
