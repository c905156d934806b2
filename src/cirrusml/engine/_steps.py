"""The final steps as backend tasks: explanation, ONNX export and parity, test scoring.

Each is a plain function a worker runs on the best model, loaded from the pickle inside the
saved MLflow model (``JobLayout.best_model_pickle``), and on rows of the job's data file that
the workers already hold (steps get row positions, not copies of the rows). So a crash, an
out-of-memory kill or a hang inside SHAP or onnxruntime is a failed or timed-out task with a
hard limit, never a dead or stuck runner. They return plain data; the runner records it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from cirrusml.engine._trial import JobData
from cirrusml.exceptions import CirrusMLError
from cirrusml.execution import cached_load
from cirrusml.tasks import Task
from cirrusml.utils import release_memory

__all__ = ["explain_step", "load_model", "onnx_step", "test_step"]

_MODELS: dict[tuple[str, float], Any] = {}


def load_model(path: str) -> Any:
    """The model at ``path``, read once per worker (several steps may use it)."""
    key = (path, Path(path).stat().st_mtime)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = joblib.load(path)
        release_memory(collect=False)  # unpickling a forest leaves about its size freed but held
    return _MODELS[key]


def explain_step(model_path: str, data_path: str, rows: np.ndarray, metric: str, seed: int,
                 time_budget: float) -> tuple[dict[str, Any], str, int, float]:
    """Global importance of the model on ``rows`` of the job's data (the file its workers
    already hold): (payload, rendered table, rows, seconds)."""
    from cirrusml.explain import explain_global, render_importance

    model = load_model(model_path)
    data: JobData = cached_load(data_path)
    explanation = explain_global(model, data.X.iloc[rows], data.y.iloc[rows], task=data.task,
                                 metric=metric, max_rows=1000, seed=seed,
                                 time_budget=time_budget)
    return (explanation.to_dict(), render_importance(explanation, top=10),
            int(explanation.n_rows), float(explanation.seconds))


def onnx_step(model_path: str, data_path: str, sample_rows: np.ndarray,
              parity_rows: np.ndarray, out_path: str) -> tuple[str, dict[str, Any]] | str:
    """``model.onnx`` for the model (its input types from ``sample_rows`` of the job's data)
    and its parity report on ``parity_rows``, or the reason export failed."""
    from cirrusml.onnx import check_parity, export_onnx

    model = load_model(model_path)
    data: JobData = cached_load(data_path)
    try:
        path = export_onnx(model, data.X.iloc[sample_rows], out_path)
        parity = check_parity(model, path, data.X.iloc[parity_rows], data.task)
    except CirrusMLError as err:
        return str(err)
    return str(path), parity


def test_step(model_path: str, data_path: str, X_test: pd.DataFrame, y_test: pd.Series,
              w_test: np.ndarray | None, task: Task, positive_label: Any
              ) -> tuple[dict[str, float], dict[str, Any] | str, float]:
    """Every metric of the model on the test rows, their chart data (or why there is none:
    charts are a report, never a reason to lose the metrics), and the seconds it took."""
    start = time.perf_counter()
    model = load_model(model_path)
    predictions = task.predict_holdout(model, X_test, y_test)
    scoring = task.for_scoring(y_test)
    metrics = scoring.score(y_test, predictions, w_test, positive_label)
    data: JobData = cached_load(data_path)
    charts: dict[str, Any] | str
    try:
        charts = scoring.charts(X_test, y_test, predictions, weights=w_test,
                                history=(data.X, data.y))
    except (CirrusMLError, ValueError) as err:
        charts = str(err)
    return metrics, charts, time.perf_counter() - start
