"""Scoring an exported model with onnxruntime: the input feed and predictions.

The feed follows the graph's input convention (see :mod:`cirrusml.onnx._convert`): one
``[N, 1]`` array per input, float64 for numbers and dates, text for categories. The kind of each
input (and the format of dates written as text) is read from the model's metadata, so a model
file is all that is needed; a graph made elsewhere is fed by its input types alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError
from cirrusml.featurize._input import as_frame
from cirrusml.featurize._onnx_compatible import onnx_column_values

__all__ = ["onnx_input_feed", "predict_onnx", "session"]

_META_INPUTS = "cirrusml.inputs"
_META_TASK = "cirrusml.task"


def session(path_or_session: Any) -> Any:
    """An ``onnxruntime.InferenceSession`` for a model file (a session passes through)."""
    import onnxruntime as ort

    if isinstance(path_or_session, ort.InferenceSession):
        return path_or_session
    path = Path(path_or_session)
    if path.is_dir():
        path = path / "model.onnx"
    if not path.is_file():
        raise DataError(f"no ONNX model at '{path}'.")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options,
                                providers=["CPUExecutionProvider"])


def _input_kinds(runtime: Any) -> list[tuple[str, str, str | None, str]]:
    """(name, kind, date format, ONNX type) of every graph input."""
    meta = runtime.get_modelmeta().custom_metadata_map
    recorded = {e["name"]: e for e in json.loads(meta[_META_INPUTS])} \
        if _META_INPUTS in meta else {}
    out = []
    for graph_input in runtime.get_inputs():
        entry = recorded.get(graph_input.name)
        if entry is not None:
            kind, fmt = entry["kind"], entry.get("format")
        else:
            kind = "categorical" if graph_input.type == "tensor(string)" else "numeric"
            fmt = None
        out.append((graph_input.name, kind, fmt, graph_input.type))
    return out


def onnx_input_feed(sample: pd.DataFrame, path_or_session: Any) -> dict[str, np.ndarray]:
    """The input dict for ``session.run`` from raw rows (a DataFrame or records).

    Each graph input takes the column of the same name: numbers as float64 (NaN for missing or
    unparseable values), dates as float64 seconds since 1970-01-01, categories as text with
    ``""`` for missing. Extra columns are ignored; a missing column raises ``DataError``.
    """
    runtime = session(path_or_session)
    frame = as_frame(sample)
    if any(not isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    kinds = _input_kinds(runtime)
    missing = [name for name, *_ in kinds if name not in frame.columns]
    if missing:
        raise DataError(
            f"the input lacks column(s) {', '.join(repr(c) for c in missing)} that the ONNX "
            f"model takes; its inputs are {', '.join(repr(n) for n, *_ in kinds)}."
        )
    feed: dict[str, np.ndarray] = {}
    for name, kind, fmt, onnx_type in kinds:
        values = onnx_column_values(frame[name], kind, fmt)
        if onnx_type == "tensor(float)":
            values = values.astype(np.float32)
        elif onnx_type == "tensor(int64)":
            values = np.nan_to_num(values.astype(np.float64)).astype(np.int64)
        feed[name] = values
    return feed


def predict_onnx(path: Any, X: Any) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """Score raw rows with an exported model through onnxruntime.

    Returns ``(labels, probabilities)`` for a classifier (probabilities ``[N, C]`` in the
    model's ``classes_`` order) and the predicted values ``[N]`` for a regressor.
    """
    runtime = session(path)
    outputs = runtime.run(None, onnx_input_feed(X, runtime))
    names = [o.name for o in runtime.get_outputs()]
    result = dict(zip(names, outputs, strict=True))
    if "probabilities" in result:
        labels = np.asarray(result["label"]).ravel()
        return labels, np.asarray(result["probabilities"], dtype=np.float64)
    return np.asarray(result[names[0]], dtype=np.float64).ravel()
