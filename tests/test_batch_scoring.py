"""Batch scoring end to end: real models from tiny real jobs, real files, the real command."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import mlflow
import numpy as np
import pandas as pd
import pytest

from cirrusml import Input, MLClient, automl
from cirrusml.exceptions import DataError
from cirrusml.serving import BatchRetrySettings, BatchScoringError, score_file
from tests.conftest import breast_cancer_frame, write_mltable
from tests.test_cli import cirrus
from tests.test_forecast import panel

pytestmark = pytest.mark.slow

TARGET = "diagnosis"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One tiny classification job and one tiny forecasting job; their best model folders."""
    root = tmp_path_factory.mktemp("batch")
    client = MLClient(workspace=root / "ws")
    breast_cancer_frame().to_csv(root / "cancer.csv", index=False)
    job = automl.classification(training_data=Input(type="uri_file", path=str(root / "cancer.csv")),
                                target_column_name=TARGET, primary_metric="AUC_weighted")
    job.set_limits(max_trials=1, timeout_minutes=5)
    job.set_training(enable_vote_ensemble=False, enable_stack_ensemble=False)
    classifier = client.jobs.create_or_update(job).name
    assert client.jobs.wait(classifier, timeout=600) == "Completed", client.jobs.record(classifier)

    history = panel(n=60)
    history.to_csv(root / "sales.csv", index=False)
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(root / "sales.csv")),
                             target_column_name="sales", n_cross_validations=2, seed=0)
    job.set_forecast_settings(time_column_name="day", time_series_id_column_names=["store"],
                              forecast_horizon=7)
    job.set_training(allowed_training_algorithms=["Naive", "SeasonalNaive"])
    job.set_limits(max_trials=2, timeout_minutes=10)
    forecaster = client.jobs.create_or_update(job).name
    assert client.jobs.wait(forecaster, timeout=600) == "Completed", client.jobs.record(forecaster)
    return {"classifier": client.jobs.layout(classifier).best_model,
            "forecaster": client.jobs.layout(forecaster).best_model,
            "history": history, "workspace": root / "ws"}


@pytest.fixture(scope="module")
def rows():
    """Rows to score: the features of the cancer data, shuffled so that order matters."""
    frame = breast_cancer_frame().drop(columns=[TARGET])
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _expected(models, frame):
    model = mlflow.sklearn.load_model(str(models["classifier"]))
    return model, np.asarray(model.predict(frame))


def test_csv_in_chunks_that_do_not_divide_the_rows_keeps_every_row_in_order(models, rows,
                                                                             tmp_path):
    rows.to_csv(tmp_path / "in.csv", index=False)
    seen = []
    summary = score_file(models["classifier"], tmp_path / "in.csv", tmp_path / "predictions.csv",
                         mini_batch_size=100, progress=lambda done, total: seen.append(
                             (done, total)))
    assert len(rows) % 100 != 0
    assert (summary.rows, summary.mini_batches, summary.retries) == (len(rows), 6, 0)
    out = pd.read_csv(tmp_path / "predictions.csv")
    assert list(out.columns) == [*rows.columns, "prediction"]
    pd.testing.assert_frame_equal(out[rows.columns], rows, check_exact=False, rtol=1e-12)
    _, expected = _expected(models, rows)
    assert (out["prediction"].to_numpy() == expected).all()
    assert [done for done, _ in seen] == [100, 200, 300, 400, 500, len(rows)]
    assert {total for _, total in seen} == {None}  # a text file is not counted ahead


def test_parquet_in_and_out_with_concurrent_mini_batches_keeps_the_order(models, rows, tmp_path):
    rows.to_parquet(tmp_path / "in.parquet")
    seen = []
    summary = score_file(models["classifier"], tmp_path / "in.parquet",
                         tmp_path / "predictions.parquet", mini_batch_size=37,
                         max_concurrency_per_instance=3,
                         progress=lambda done, total: seen.append((done, total)))
    out = pd.read_parquet(tmp_path / "predictions.parquet")
    assert summary.mini_batches == -(-len(rows) // 37)
    pd.testing.assert_frame_equal(out[rows.columns], rows)
    _, expected = _expected(models, rows)
    assert (out["prediction"].to_numpy() == expected).all()
    assert seen[-1] == (len(rows), len(rows))
    assert {t for _, t in seen} == {len(rows)}


def test_probabilities_come_one_column_per_class(models, rows, tmp_path):
    rows.to_csv(tmp_path / "in.csv", index=False)
    score_file(models["classifier"], tmp_path / "in.csv", tmp_path / "p.csv",
               method="predict_proba", mini_batch_size=128)
    out = pd.read_csv(tmp_path / "p.csv")
    model, expected = _expected(models, rows)
    columns = [f"probability_{c}" for c in model.classes_]
    assert list(out.columns[-len(columns):]) == columns
    np.testing.assert_allclose(out[columns].to_numpy(), model.predict_proba(rows), atol=1e-9)
    np.testing.assert_allclose(out[columns].sum(axis=1), 1.0, atol=1e-9)
    assert (out["prediction"].to_numpy() == expected).all()


def test_an_mltable_folder_of_several_files_is_streamed_file_by_file(models, rows, tmp_path):
    folder = tmp_path / "table"
    (folder / "parts").mkdir(parents=True)
    rows.iloc[:250].assign(extra="x").to_csv(folder / "parts" / "a.csv", index=False)
    rows.iloc[250:].assign(extra="y").to_csv(folder / "parts" / "b.csv", index=False)
    (folder / "MLTable").write_text(textwrap.dedent("""\
        paths:
          - folder: ./parts
        transformations:
          - read_delimited: {delimiter: ',', encoding: utf8}
          - drop_columns: [extra]
        """), encoding="utf-8")
    summary = score_file(models["classifier"], folder, tmp_path / "out.csv", mini_batch_size=100)
    assert summary.mini_batches == 3 + 4  # 250 rows, then 319 rows; no chunk spans two files
    out = pd.read_csv(tmp_path / "out.csv")
    assert "extra" not in out.columns
    pd.testing.assert_frame_equal(out[rows.columns], rows, check_exact=False, rtol=1e-12)
    _, expected = _expected(models, rows)
    assert (out["prediction"].to_numpy() == expected).all()


def test_an_mltable_that_takes_rows_is_read_as_a_whole_table(models, rows, tmp_path):
    folder = write_mltable(rows, tmp_path / "table")
    text = (folder / "MLTable").read_text(encoding="utf-8")
    (folder / "MLTable").write_text(text + "  - skip: 20\n  - take: 50\n", encoding="utf-8")
    score_file(models["classifier"], folder, tmp_path / "out.csv", mini_batch_size=16)
    out = pd.read_csv(tmp_path / "out.csv")
    pd.testing.assert_frame_equal(out[rows.columns], rows.iloc[20:70].reset_index(drop=True),
                                  check_exact=False, rtol=1e-12)


def test_a_folder_of_csv_files_is_scored_in_file_order(models, rows, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, start in enumerate(range(0, len(rows), 200)):
        rows.iloc[start:start + 200].to_csv(folder / f"part-{i}.csv", index=False)
    score_file(models["classifier"], folder, tmp_path / "out.csv", mini_batch_size=64)
    out = pd.read_csv(tmp_path / "out.csv")
    pd.testing.assert_frame_equal(out[rows.columns], rows, check_exact=False, rtol=1e-12)


def _future(days=7, start="2021-03-05"):
    times = pd.date_range(start, periods=days, freq="D")
    frames = [pd.DataFrame({"store": s, "day": times, "promo": 0.0}) for s in ("a", "b")]
    return pd.concat(frames, ignore_index=True)


def test_forecasts_carry_their_origin_and_do_not_depend_on_the_chunk_size(models, tmp_path):
    future = _future().sample(frac=1.0, random_state=0).reset_index(drop=True)
    future.to_csv(tmp_path / "future.csv", index=False)
    summary = score_file(models["forecaster"], tmp_path / "future.csv", tmp_path / "f.csv",
                         mini_batch_size=3)
    assert summary.forecast
    assert summary.mini_batches == 1  # a forecast is scored whole
    out = pd.read_csv(tmp_path / "f.csv", parse_dates=["day", "forecast_origin"])
    assert list(out.columns) == ["store", "day", "promo", "prediction", "forecast_origin"]
    last = models["history"].groupby("store").day.max()
    assert (out["forecast_origin"] == out["store"].map(last)).all()
    pd.testing.assert_frame_equal(out[["store", "day"]], future[["store", "day"]])
    model = mlflow.sklearn.load_model(str(models["forecaster"]))
    np.testing.assert_allclose(out["prediction"], model.predict(future), rtol=1e-9)


def test_rows_with_the_target_extend_the_history_and_move_the_origin(models, tmp_path):
    frame = _future(days=10)
    known = frame["day"] <= pd.Timestamp("2021-03-07")
    frame["sales"] = np.where(known, 70.0, np.nan)
    frame.to_csv(tmp_path / "context.csv", index=False)
    score_file(models["forecaster"], tmp_path / "context.csv", tmp_path / "f.csv")
    out = pd.read_csv(tmp_path / "f.csv", parse_dates=["forecast_origin"])
    assert out.loc[known.to_numpy(), "forecast_origin"].isna().all()
    assert (out.loc[~known.to_numpy(), "forecast_origin"] == pd.Timestamp("2021-03-07")).all()
    np.testing.assert_allclose(out.loc[known.to_numpy(), "prediction"], 70.0)


def test_a_bad_row_names_file_row_and_column_and_leaves_no_partial_output(models, rows,
                                                                         tmp_path):
    bad = rows.astype({"mean_radius": object})
    bad.loc[450, "mean_radius"] = "twelve"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    target = tmp_path / "predictions.csv"
    target.write_text("an earlier run's predictions\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        score_file(models["classifier"], tmp_path / "bad.csv", target, mini_batch_size=100)
    message = str(caught.value)
    assert f"data row 451 of '{tmp_path / 'bad.csv'}'" in message
    assert "column 'mean_radius'" in message
    assert "'twelve' is not a number" in message
    assert target.read_text(encoding="utf-8") == "an earlier run's predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "predictions.csv"]


def test_a_mini_batch_that_always_times_out_is_retried_then_fails_by_name(models, rows, tmp_path,
                                                                          caplog):
    rows.to_csv(tmp_path / "in.csv", index=False)
    caplog.set_level(logging.WARNING, logger="cirrusml.serving.batch")
    with pytest.raises(BatchScoringError) as caught:
        score_file(models["classifier"], tmp_path / "in.csv", tmp_path / "out.csv",
                   mini_batch_size=len(rows),
                   retry_settings=BatchRetrySettings(max_retries=2, timeout=1e-6))
    message = str(caught.value)
    assert f"Mini-batch 0 (data rows 1-{len(rows)} of '{tmp_path / 'in.csv'}')" in message
    assert "all 3 attempt(s) (max_retries=2)" in message
    assert "timeout" in message
    retried = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


class FailsOnce:
    """A fitted model whose first call fails (a transient fault: the marker file it leaves
    makes every later call go through to the real model)."""

    def __init__(self, model, marker):
        self.model = model
        self.marker = str(marker)

    def __getattr__(self, name):  # everything else is the real model's
        if name in ("model", "marker"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def _once(self):
        from pathlib import Path

        if not Path(self.marker).exists():
            Path(self.marker).write_text("failed once\n", encoding="utf-8")
            raise RuntimeError("a transient fault")

    def predict(self, X):
        self._once()
        return self.model.predict(X)

    def predict_proba(self, X):
        self._once()
        return self.model.predict_proba(X)


def test_a_transient_failure_is_retried_and_then_succeeds(models, rows, tmp_path, caplog):
    real = mlflow.sklearn.load_model(str(models["classifier"]))
    signature = mlflow.models.Model.load(str(models["classifier"])).signature
    flaky = tmp_path / "flaky"
    mlflow.sklearn.save_model(FailsOnce(real, tmp_path / "marker"), str(flaky),
                              signature=signature, serialization_format="cloudpickle")
    rows.to_csv(tmp_path / "in.csv", index=False)
    caplog.set_level(logging.WARNING, logger="cirrusml.serving.batch")
    score_file(flaky, tmp_path / "in.csv", tmp_path / "out.csv", mini_batch_size=len(rows),
               retry_settings=BatchRetrySettings(max_retries=2))
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 1 and "a transient fault" in retried[0]
    assert (tmp_path / "marker").exists()
    score_file(models["classifier"], tmp_path / "in.csv", tmp_path / "expected.csv",
               mini_batch_size=len(rows))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"),
                                  pd.read_csv(tmp_path / "expected.csv"))


_MEASURE = """
import sys, tracemalloc
from cirrusml.serving import score_file
model, warm, source, target = sys.argv[1:]
score_file(model, warm, target, mini_batch_size=2000)  # imports and caches, measured out
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
score_file(model, source, target, mini_batch_size=2000)
print(tracemalloc.get_traced_memory()[1] - base)
"""


def test_peak_memory_does_not_grow_with_the_file(models, rows, tmp_path):
    rows.head(10).to_csv(tmp_path / "warm.csv", index=False)
    small = pd.concat([rows] * 20, ignore_index=True)  # 11,380 rows
    big = pd.concat([small] * 10, ignore_index=True)  # 113,800 rows
    peaks = {}
    for name, frame in (("small", small), ("big", big)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(models["classifier"]),
             str(tmp_path / "warm.csv"), str(tmp_path / f"{name}.csv"),
             str(tmp_path / f"{name}-out.csv")],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        peaks[name] = int(result.stdout.split()[-1])
        assert len(pd.read_csv(tmp_path / f"{name}-out.csv")) == len(frame)
    # The model's own load (a few MB) is the same for both; what grows with the file is what a
    # reader holds. Holding the big input alone would take `whole` bytes (27 MB), 10x the small.
    whole = big.memory_usage(deep=True).sum()
    assert peaks["big"] < 1.5 * peaks["small"] + 2_000_000, (peaks, whole)
    assert peaks["big"] - peaks["small"] < 0.1 * whole, (peaks, whole)


def test_the_cli_scores_a_file_in_a_batch_job_with_a_progress_bar(models, rows, tmp_path):
    rows.to_csv(tmp_path / "in.csv", index=False)
    result = cirrus("batch", "score", "--model", str(models["classifier"]), "--input",
                    str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.parquet"),
                    "--chunk-size", "200", "--method", "predict_proba",
                    workspace=models["workspace"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Scored {len(rows)} rows in 3 mini-batch(es)" in result.stdout
    assert "scoring" in result.stderr  # the progress bar
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == len(rows)
    assert "probability_benign" in out.columns
    # The scoring ran as a batch job of the workspace, its predictions its `score` output.
    job = result.stderr.split("Batch job", 1)[1].split()[0]
    batch = MLClient(workspace=models["workspace"]).jobs.get(job)
    assert batch.status == "Completed"
    pd.testing.assert_frame_equal(pd.read_parquet(batch.outputs["score"].path), out)


@pytest.mark.parametrize(("args", "needle"), [
    (["--output", "out.txt"], "must end in .csv or .parquet"),
    (["--model", "nowhere"], "no model named 'nowhere'"),
    (["--model", "nowhere:2"], "no model named 'nowhere'"),
    (["--method", "predict_log"], "method must be one of predict, predict_proba"),
    (["--input", "missing.csv"], "missing.csv' does not exist"),
])
def test_cli_errors_are_one_line_without_traceback(models, rows, tmp_path, args, needle):
    rows.head(20).to_csv(tmp_path / "in.csv", index=False)
    base = {"--model": str(models["classifier"]), "--input": str(tmp_path / "in.csv"),
            "--output": str(tmp_path / "out.csv")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in base.items() for item in pair]
    result = cirrus("batch", "score", *flat, workspace=models["workspace"])
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, result.stderr
    assert needle in result.stderr.replace("\n", " "), result.stderr


def test_a_forecasting_model_refuses_probabilities(models, tmp_path):
    _future().to_csv(tmp_path / "future.csv", index=False)
    with pytest.raises(DataError, match="predict_proba"):
        score_file(models["forecaster"], tmp_path / "future.csv", tmp_path / "f.csv",
                   method="predict_proba")
    assert not (tmp_path / "f.csv").exists()


def test_the_output_must_not_be_an_input_file(models, rows, tmp_path):
    rows.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError, match="is one of the input files"):
        score_file(models["classifier"], tmp_path / "in.csv", tmp_path / "in.csv")
    assert pd.read_csv(tmp_path / "in.csv").shape == rows.shape


def test_bad_settings_are_refused():
    with pytest.raises(DataError, match="max_retries"):
        BatchRetrySettings(max_retries=-1)
    with pytest.raises(DataError, match="timeout"):
        BatchRetrySettings(timeout=0)
