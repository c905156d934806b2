"""cirrusml forecasting through its public, Azure-shaped API, as a ``../shared/bench`` adapter.

    run.py --framework benchmarks/forecast/cirrusml_forecast_adapter.py --tasks forecasting \
        --python cirrusml_forecast=.venv/bin/python ...

The job is built from the dataset's meta only: ``automl.forecasting`` with the time column, the
series id columns, the horizon, the frequency (when meta gives one) and ``season_length`` as
``seasonality``; the training data holds the target, the keys and the known covariates (the
columns the harness also gives for the test rows; covariates known only in the past are left
out, as the peers leave them out). ``timeout_minutes = budget / 60`` (the spec takes a float and
the job keeps its final steps inside it), ``max_concurrent_trials = cores``, everything else at
Azure's defaults. The job runs in a local workspace under ``$TMPDIR``; the ``best_model`` output
(an MLflow model) is loaded with MLflow's scikit-learn flavour and forecasts the test rows.

* Primary metric: ``normalized_mean_absolute_error``, Azure's forecasting metric closest to the
  benchmark's MASE (a per-series scaled absolute error, averaged over series), as the
  AutoGluon-TimeSeries adapter asks for MASE; ``CIRRUS_FORECAST_METRIC`` names another
  (``normalized_root_mean_squared_error`` is Azure's default).
* ``CIRRUS_BENCH_CONCURRENCY`` overrides ``max_concurrent_trials`` (default: cores).
* The harness's ``adapters/_common.py`` is found in ``$BENCH_DIR/adapters`` (default: the
  harness next to the repository, ``../shared/bench``).
* A series the model cannot forecast (one the job dropped as too short, say) gets the training
  mean of its own history, else of all rows, as the peers' adapters do; the info file counts them.

Nothing here knows about particular datasets. ``fit_seconds`` runs from submission to the
downloaded best model; the sidecar also holds the best model, the trial count and the
leaderboard (algorithm, score) read from the job's child runs.
"""
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

BENCH_DIR = Path(os.environ.get("BENCH_DIR")
                 or Path(__file__).resolve().parents[3] / "shared" / "bench")
sys.path.insert(0, str(BENCH_DIR / "adapters"))

from _common import Timer, load, parse_args, write_info, write_predictions  # noqa: E402

import cirrusml  # noqa: E402
from cirrusml import Input, MLClient, automl  # noqa: E402
from cirrusml.exceptions import CirrusMLError  # noqa: E402

args = parse_args()
train, test, meta = load(args)
target, time_col, horizon = meta["target"], meta["time_column"], int(meta["horizon"])
ids = meta.get("series_id_columns") or []
ids = [ids] if isinstance(ids, str) else list(ids)
season = meta.get("season_length") or meta.get("seasonality")
known = [c for c in (meta.get("known_covariates") or [])
         if c in train.columns and c in test.columns]
metric = os.environ.get("CIRRUS_FORECAST_METRIC") or "normalized_mean_absolute_error"
concurrency = int(os.environ.get("CIRRUS_BENCH_CONCURRENCY", args.cores))

columns = ids + [time_col] + known
train = train[columns + [target]]
x_test = test[columns]

work = tempfile.mkdtemp(prefix="cirrus-forecast-")
train_path = os.path.join(work, "train.csv")
train.to_csv(train_path, index=False)

client = MLClient(workspace=os.path.join(work, "workspace"))
job = automl.forecasting(training_data=Input(type="uri_file", path=train_path),
                         target_column_name=target,
                         **({"primary_metric": metric} if metric else {}))
job.set_forecast_settings(time_column_name=time_col, time_series_id_column_names=ids or None,
                          forecast_horizon=horizon, frequency=meta.get("frequency") or None,
                          seasonality=int(season) if season else None)
job.set_limits(timeout_minutes=args.budget / 60.0, max_concurrent_trials=concurrency)

with Timer() as fit:
    returned = client.jobs.create_or_update(job)
    client.jobs.stream(returned.name)
    record = client.jobs.record(returned.name)
    model_dir = os.path.join(work, "best_model")
    client.jobs.download(returned.name, download_path=model_dir, output_name="best_model")

import mlflow.sklearn  # noqa: E402  (after the job: keeps the fit timing honest about imports)


def series_of(frame):
    """One hashable key per row: the id columns' values (one series: the same key for all)."""
    if not ids:
        return pd.Series([()] * len(frame), index=frame.index)
    keys = frame[ids].astype(str).itertuples(index=False, name=None)
    return pd.Series(list(keys), index=frame.index)


with Timer() as predict:
    model = mlflow.sklearn.load_model(next(
        root for root, _dirs, files in os.walk(model_dir) if "MLmodel" in files))
    unforecast = 0
    try:
        values = np.asarray(model.predict(x_test), dtype=float)
    except CirrusMLError as exc:  # a series the model has no history for: go series by series
        print(f"[cirrusml-forecast] predicting all rows at once failed ({exc}); "
              "one series at a time", flush=True)
        values = np.full(len(x_test), np.nan)
        keys = series_of(x_test)
        for key in pd.unique(keys):
            rows = np.flatnonzero((keys == key).to_numpy())
            try:
                values[rows] = np.asarray(model.predict(x_test.iloc[rows]), dtype=float)
            except CirrusMLError as exc_k:
                print(f"[cirrusml-forecast] series {key!r}: {exc_k}", flush=True)
    bad = ~np.isfinite(values)
    if bad.any():
        unforecast = int(bad.sum())
        means = train.assign(_key=series_of(train)).groupby("_key")[target].mean()
        fallback = series_of(x_test).map(means).fillna(float(train[target].mean())).to_numpy(float)
        values[bad] = fallback[bad]
    write_predictions(args.out, values)

trials = client.jobs.list(parent_job_name=returned.name)
scored = [t for t in trials if t.score is not None and math.isfinite(t.score)]
lower_is_better = "error" in str(record.get("primary_metric", "")).lower()
scored.sort(key=lambda t: t.score, reverse=not lower_is_better)
write_info(args.out, fit_seconds=fit.seconds, predict_seconds=predict.seconds,
           framework_version=cirrusml.__version__, job_name=returned.name,
           job_status=record.get("status"), stop_reason=record.get("stop_reason"),
           primary_metric=record.get("primary_metric"), best_model=record.get("best_algorithm"),
           best_score=record.get("best_score"), trials=record.get("trials", len(trials)),
           child_runs=len(trials), search_seconds=record.get("search_seconds"),
           leaderboard=[{"iteration": t.iteration, "algorithm": t.algorithm,
                         "score": round(float(t.score), 6)} for t in scored],
           season_length=season, known_covariates=known, dropped_columns=sorted(
               set(pd.read_csv(args.train, nrows=0).columns) - set(columns) - {target}),
           unforecast_rows=unforecast)
