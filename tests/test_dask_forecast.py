"""Distributed TCNForecaster on a real multi-process LocalCluster: data-parallel fits (torch
gloo between the workers), a forecasting job in ``training_mode: distributed`` with trials side
by side on groups of workers, a fit past its time limit, and a worker lost during a fit.

Budgets are epochs and window counts, never seconds."""

from __future__ import annotations

import os
import signal
import threading
import time

import mlflow
import numpy as np
import pandas as pd
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.entities import DaskCompute
from cirrusml.exceptions import CirrusMLError
from cirrusml.execution import ClusterShare
from cirrusml.forecast._tcn import Samples, TCNForecaster
from cirrusml.forecast._tcn_cluster import _partition
from tests.conftest import dask_cluster, wait_for, worker_pids
from tests.test_forecast_deep import LAYOUT, SMALL, _fit, _naive_mae, _split

pytest.importorskip("torch")
pytestmark = pytest.mark.slow


def _stores(n: int = 140, stores: int = 4, seed: int = 0) -> pd.DataFrame:
    """Daily series with a weekly season at different levels, a slow trend and a covariate."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = np.array([0.0, 0.3, 0.5, 0.2, -0.1, -0.5, -0.4])[t % 7]
    pieces = []
    for k in range(stores):
        level = 20.0 + 30.0 * k
        y = level * (1 + season + 0.001 * t) + rng.normal(0, 0.03 * level, n)
        pieces.append(pd.DataFrame({"store": f"s{k}", "date": pd.date_range("2021-01-04",
                                                                             periods=n),
                                    "promo": rng.integers(0, 2, n).astype(float), "y": y}))
    return pd.concat(pieces, ignore_index=True)


@pytest.fixture(scope="module")
def cluster():
    """The module's cluster, for tests that leave it whole."""
    with dask_cluster(4) as both:
        yield both


@pytest.fixture
def own_cluster():
    """A cluster of the test's own, for tests that kill workers."""
    with dask_cluster(4) as both:
        yield both


# ----------------------------------------------------------------------------- the fits


def test_the_series_are_split_between_the_workers_by_their_windows():
    train, _test = _split(_stores(stores=5))
    model = TCNForecaster(layout=LAYOUT, **SMALL)
    history = model._history(train.drop(columns=["y"]), train["y"])
    samples, _rng = model._prepare(history)
    parts = _partition(model, history, samples, 2)
    assert len(parts) == 2
    labels = [set(p.history.labels) for p in parts]
    assert labels[0].isdisjoint(labels[1]) and labels[0] | labels[1] == set(history.labels)
    # Every window goes with its series, renumbered within the part, and none is lost.
    assert sum(len(p.samples.codes) for p in parts) == len(samples.codes)
    assert sum(len(p.samples.held_codes) for p in parts) == len(samples.held_codes)
    for part in parts:
        assert part.samples.codes.max() < len(part.history.labels)
        assert len(part.history.frame) < len(history.frame)
    loads = [len(p.samples.codes) + len(p.samples.held_codes) for p in parts]
    assert max(loads) < 0.75 * sum(loads)  # about even: five equal series over two workers
    # More workers than series: one part per series.
    assert len(_partition(model, history, samples, 9)) == 5
    # A series whose training windows were all sampled away still has its held-out windows
    # checked, by a part that trains on others: no part is left without training windows.
    keep = samples.codes != 0
    thinned = Samples(samples.codes[keep], samples.origins[keep], samples.held_codes,
                      samples.held_origins)
    parts = _partition(model, history, thinned, 9)
    assert len(parts) == 4 and all(len(p.samples.codes) for p in parts)
    assert sum(len(p.samples.held_codes) for p in parts) == len(samples.held_codes)


def test_a_fit_across_two_workers_forecasts_like_one_and_names_its_workers(cluster):
    local_cluster, dclient = cluster
    train, test = _split(_stores())
    alone = _fit(TCNForecaster(layout=LAYOUT, **SMALL), train)
    share = ClusterShare(local_cluster.scheduler_address, workers=2, seconds=300)
    spread = _fit(TCNForecaster(layout=LAYOUT, cluster=share, **SMALL), train)
    assert len(spread.workers_) == 2 and set(spread.workers_) <= set(worker_pids(dclient))
    assert alone.workers_ == []
    X = test.drop(columns=["y"])
    naive = _naive_mae(train, test)
    for model in (alone, spread):
        error = float(np.mean(np.abs(model.predict(X) - test["y"].to_numpy())))
        assert error < 0.6 * naive
    # The fitted model is an ordinary one: set free of its cluster, it forecasts the same.
    spread.cluster = None
    again = spread.predict(X)
    assert np.allclose(again, spread.predict(X))


def test_a_fit_on_one_worker_is_the_fit_in_one_process(cluster):
    """The data-parallel loop (DistributedDataParallel, agreed steps, summed validation loss)
    on a world of one trains exactly what the one-process loop trains."""
    local_cluster, _ = cluster
    train, test = _split(_stores(stores=2))
    alone = _fit(TCNForecaster(layout=LAYOUT, **SMALL), train)
    share = ClusterShare(local_cluster.scheduler_address, workers=1, seconds=300)
    one = _fit(TCNForecaster(layout=LAYOUT, cluster=share, **SMALL), train)
    assert len(one.workers_) == 1
    assert one.epochs_ == alone.epochs_
    assert one.validation_loss_ == pytest.approx(alone.validation_loss_, rel=1e-6)
    for key, value in alone.state_.items():
        assert np.allclose(one.state_[key], value, rtol=1e-5, atol=1e-6), key


def test_a_fit_past_its_time_limit_stops_on_every_worker(cluster):
    local_cluster, dclient = cluster
    train, _test = _split(_stores())
    share = ClusterShare(local_cluster.scheduler_address, workers=2, seconds=3)
    long = {**SMALL, "epochs": 10_000, "patience": 10_000}
    started = time.monotonic()
    with pytest.raises(CirrusMLError, match="time limit"):
        _fit(TCNForecaster(layout=LAYOUT, cluster=share, **long), train)
    assert time.monotonic() - started < 60
    # The workers are free again: the next fit trains.
    wait_for(lambda: not any(dclient.processing().values()), 60)
    share = ClusterShare(local_cluster.scheduler_address, workers=2, seconds=300)
    assert len(_fit(TCNForecaster(layout=LAYOUT, cluster=share, **SMALL), train).workers_) == 2


def test_a_worker_lost_during_a_fit_fails_it_with_the_workers_name(own_cluster):
    local_cluster, dclient = own_cluster
    wait_for(lambda: len(worker_pids(dclient)) == 4, 60)
    train, _test = _split(_stores())
    share = ClusterShare(local_cluster.scheduler_address, workers=2, seconds=300)
    long = {**SMALL, "epochs": 10_000, "patience": 10_000}
    failure: list[BaseException] = []

    def fit() -> None:
        try:
            _fit(TCNForecaster(layout=LAYOUT, cluster=share, **long), train)
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            failure.append(error)

    thread = threading.Thread(target=fit)
    thread.start()
    busy: list[str] = []
    wait_for(lambda: busy.extend(w for w, keys in dclient.processing().items()
                                 if any("_rank" in str(k) for k in keys)) or len(busy) >= 2,
             120, step=0.1)
    pids = worker_pids(dclient)
    time.sleep(1.0)  # into the training epochs
    os.kill(pids[busy[-1]], signal.SIGKILL)
    thread.join(180)
    assert not thread.is_alive()
    assert failure and isinstance(failure[0], CirrusMLError), failure
    assert "distributed TCNForecaster fit failed on worker" in str(failure[0])
    wait_for(lambda: len(worker_pids(dclient)) == 4, 120)  # the nanny brought a worker back


# ------------------------------------------------------------------------------- the job


@pytest.fixture(scope="module")
def distributed_forecast(cluster, tmp_path_factory):
    """A forecasting job in training_mode: distributed on the four-worker cluster: max_nodes=4
    and two concurrent trials, so two workers per trial."""
    local_cluster, _ = cluster
    root = tmp_path_factory.mktemp("tcn-job")
    frame = _stores(n=120, stores=4, seed=2)
    cut = frame.date.min() + pd.Timedelta(days=105)
    frame[frame.date <= cut].to_csv(root / "train.csv", index=False)
    frame[frame.date > cut].to_csv(root / "test.csv", index=False)
    client = MLClient(workspace=root / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cluster", address=local_cluster.scheduler_address)).result()
    job = automl.forecasting(
        training_data=Input(type="uri_file", path=str(root / "train.csv")),
        test_data=Input(type="uri_file", path=str(root / "test.csv")),
        target_column_name="y", compute="azureml:cluster", n_cross_validations=3, seed=1)
    job.set_forecast_settings(time_column_name="date", time_series_id_column_names=["store"],
                              forecast_horizon=7)
    job.set_training(enable_dnn_training=True, training_mode="distributed",
                     allowed_training_algorithms=["TCNForecaster", "SeasonalNaive"])
    job.set_limits(max_trials=3, max_concurrent_trials=2, max_nodes=4, timeout_minutes=10)
    name = client.jobs.create_or_update(job).name
    assert client.jobs.wait(name, timeout=600) in ("Completed", "Failed")
    return client, root, name


def test_a_distributed_forecasting_job_trains_tcn_across_groups_of_workers(
        distributed_forecast):
    client, root, name = distributed_forecast
    record = client.jobs.record(name)
    assert client.jobs.get(name).status == "Completed", record
    log = (root / "ws" / "jobs" / name / "log.txt").read_text()
    assert "TCNForecaster trained data-parallel across 2 worker(s) per trial" in log
    assert "2 trial(s) at a time" in log
    assert "n_cross_validations=3 is ignored" in log
    assert "SeasonalNaive does not train distributed" in log
    trials = client.jobs.list_trials(name)
    # Only the learner that trains distributed, and no ensembles.
    assert {t.algorithm for t in trials} == {"TCNForecaster"}
    assert len(trials) == 3 and all(t.status == "Completed" for t in trials)
    assert "(n_cross_validations=1): 1 fold(s)" in log
    assert record["training_mode"] == "distributed"
    assert record["test_metrics"], record


def test_the_distributed_best_model_is_an_ordinary_forecaster(distributed_forecast, tmp_path):
    client, root, name = distributed_forecast
    client.jobs.download(name, output_name="best_model", download_path=str(tmp_path))
    model = mlflow.sklearn.load_model(str(tmp_path / "named-outputs" / "best_model"))
    forecaster = model if isinstance(model, TCNForecaster) else model[-1]
    assert isinstance(forecaster, TCNForecaster)
    assert forecaster.cluster is None and len(forecaster.workers_) == 2
    test = pd.read_csv(root / "test.csv", parse_dates=["date"])
    values = model.predict(test.drop(columns=["y"]))
    assert np.isfinite(values).all() and len(values) == len(test)
    with pytest.raises(CirrusMLError, match="generates no training code"):
        client.jobs.generate_code(name)


def test_a_worker_lost_during_a_distributed_forecasting_trial_leaves_the_job_completed(
        own_cluster, tmp_path):
    """A worker training trial 0 dies: that trial is recorded failed, the next trains on the
    workers left (and the restarted one), the job completes."""
    local_cluster, dclient = own_cluster
    wait_for(lambda: len(worker_pids(dclient)) == 4, 120)
    _stores(n=120, stores=4, seed=3).to_csv(tmp_path / "train.csv", index=False)
    client = MLClient(workspace=tmp_path / "ws")
    client.compute.begin_create_or_update(
        DaskCompute(name="cluster", address=local_cluster.scheduler_address)).result()
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(tmp_path / "train.csv")),
                             target_column_name="y", compute="cluster", seed=2)
    job.set_forecast_settings(time_column_name="date", time_series_id_column_names=["store"],
                              forecast_horizon=7)
    job.set_training(enable_dnn_training=True, training_mode="distributed")
    job.set_limits(max_trials=2, max_concurrent_trials=1, max_nodes=2, timeout_minutes=10)
    name = client.jobs.create_or_update(job).name
    busy: list[str] = []
    wait_for(lambda: busy.extend(w for w, keys in dclient.processing().items()
                                 if any("_rank" in str(k) for k in keys)) or len(busy) >= 2,
             180, step=0.05)
    os.kill(worker_pids(dclient)[busy[0]], signal.SIGKILL)
    assert client.jobs.wait(name, timeout=600) == "Completed", client.jobs.record(name)
    statuses = {t.iteration: t.status for t in client.jobs.list_trials(name)}
    assert statuses == {0: "Failed", 1: "Completed"}, statuses
    assert client.jobs.record(name)["best_iteration"] == 1
    wait_for(lambda: len(worker_pids(dclient)) == 4, 120)
