"""ONNX export (L2): a fitted model as one ONNX graph, scored by onnxruntime, checked for parity.

``export_onnx`` writes ``model.onnx`` for a trial pipeline built with the ONNX-compatible
featurizer (``training.enable_onnx_compatible_models``) or a VotingEnsemble of them;
``onnx_input_feed`` turns raw rows into the graph's inputs; ``predict_onnx`` scores with
onnxruntime; ``check_parity`` compares onnxruntime with the Python model. The input convention
(one ``[N, 1]`` input per raw column: double for numbers and dates, string for categories) is
described in :mod:`cirrusml.onnx._convert`.

Inside this package ``import onnx`` still means the ONNX library: imports are absolute, and the
package is reached only as ``cirrusml.onnx``.
"""

from __future__ import annotations

from cirrusml.onnx._convert import ONNX_FILE, export_onnx, input_spec, to_onnx_model
from cirrusml.onnx._parity import (
    PROBA_ATOL,
    VALUE_RTOL,
    OnnxParityError,
    check_parity,
)
from cirrusml.onnx._runtime import onnx_input_feed, predict_onnx

__all__ = [
    "ONNX_FILE",
    "PROBA_ATOL",
    "VALUE_RTOL",
    "OnnxParityError",
    "check_parity",
    "export_onnx",
    "input_spec",
    "onnx_input_feed",
    "predict_onnx",
    "to_onnx_model",
]
