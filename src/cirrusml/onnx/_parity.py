"""Parity between an exported model (scored by onnxruntime) and the Python model it came from.

Tolerances: class probabilities within :data:`PROBA_ATOL` absolute; regression predictions
within :data:`VALUE_RTOL` relative to the Python prediction, or to the mean absolute prediction
when that is larger (so that a prediction near zero is held to the scale of the target rather
than to its own few digits). Predicted labels must agree wherever the Python
model's two most probable classes are further apart than the probability tolerance (where they
are not, either label is a fair reading of the probabilities).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cirrusml.exceptions import CirrusMLError
from cirrusml.onnx._runtime import predict_onnx
from cirrusml.spec import TaskType
from cirrusml.tasks import Task, as_task

__all__ = ["PROBA_ATOL", "VALUE_ATOL", "VALUE_RTOL", "OnnxParityError", "check_parity"]

PROBA_ATOL = 1e-4
VALUE_RTOL = 1e-4
VALUE_ATOL = 1e-8


class OnnxParityError(CirrusMLError, AssertionError):
    """The ONNX model's outputs differ from the Python model's beyond tolerance."""


def _same_label(python: np.ndarray, onnx_labels: np.ndarray) -> np.ndarray:
    if onnx_labels.dtype.kind in "iu" and python.dtype.kind in "iub":
        return python.astype(np.int64) == onnx_labels
    return np.asarray([str(a) for a in python], dtype=object) == \
        np.asarray([str(b) for b in onnx_labels], dtype=object)


def check_parity(model: Any, path: Any, X: Any, task: Task | TaskType | str, *,
                 atol: float = PROBA_ATOL, rtol: float = VALUE_RTOL) -> dict[str, Any]:
    """Score ``X`` with ``model`` and with the ONNX file at ``path``; compare.

    ``task`` is a :class:`~cirrusml.tasks.Task` or a task name. Returns ``{"task", "rows",
    "max_abs_diff", "max_rel_diff", "label_mismatches", "passed"}`` (differences of
    probabilities, in the model's ``classes_`` order, for a probabilistic task; of predictions
    otherwise; relative
    differences are taken against the Python output, no smaller than ``atol`` for
    probabilities and than the mean absolute prediction for regression). Raises
    :class:`OnnxParityError` when a probability differs by more than ``atol``, a prediction by
    more than ``rtol`` relative, or a clear-cut label differs.
    """
    kind = as_task(task)
    report: dict[str, Any] = {"task": kind.name}
    if kind.probabilistic:
        # The graph's probabilities follow the model's own classes_, not the job's class list.
        expected = np.asarray(model.predict_proba(X), dtype=np.float64)
        labels, got = predict_onnx(path, X)
        if got.shape != expected.shape:
            raise OnnxParityError(f"the ONNX probabilities have shape {got.shape}, the "
                                  f"model's {expected.shape}.")
        diff = np.abs(got - expected)
        rel = diff / np.maximum(np.abs(expected), atol)  # probabilities near 0: vs atol
        python_labels = np.asarray(model.predict(X))
        ordered = np.sort(expected, axis=1)
        clear = (ordered[:, -1] - ordered[:, -2] > atol) if expected.shape[1] > 1 \
            else np.ones(len(expected), dtype=bool)
        mismatches = int(np.sum(~_same_label(python_labels, labels) & clear))
        passed = bool(diff.max(initial=0.0) <= atol and mismatches == 0)
        report.update(rows=int(expected.shape[0]), max_abs_diff=float(diff.max(initial=0.0)),
                      max_rel_diff=float(rel.max(initial=0.0)), label_mismatches=mismatches,
                      passed=passed)
        if not passed:
            raise OnnxParityError(
                f"ONNX and Python disagree: largest probability difference "
                f"{report['max_abs_diff']:.3g} (tolerance {atol:g}), {mismatches} clear-cut "
                f"label(s) differ, over {report['rows']} rows."
            )
        return report
    expected = np.asarray(model.predict(X), dtype=np.float64).ravel()
    got = predict_onnx(path, X)
    if isinstance(got, tuple):
        raise OnnxParityError("the ONNX model gives class probabilities, but the task's models "
                              "predict values.")
    if got.shape != expected.shape:
        raise OnnxParityError(f"the ONNX predictions have shape {got.shape}, the model's "
                              f"{expected.shape}.")
    diff = np.abs(got - expected)
    # Relative to each prediction, but never to less than the typical prediction's size: a
    # prediction near zero would otherwise turn float rounding into a large relative error.
    typical = max(float(np.mean(np.abs(expected))) if expected.size else 0.0, VALUE_ATOL)
    rel = diff / np.maximum(np.abs(expected), typical)
    passed = bool(np.all(rel <= rtol))
    report.update(rows=int(expected.shape[0]), max_abs_diff=float(diff.max(initial=0.0)),
                  max_rel_diff=float(rel.max(initial=0.0)), label_mismatches=0, passed=passed)
    if not passed:
        raise OnnxParityError(
            f"ONNX and Python disagree: largest relative prediction difference "
            f"{report['max_rel_diff']:.3g} (tolerance {rtol:g}), largest absolute "
            f"{report['max_abs_diff']:.3g}, over {report['rows']} rows."
        )
    return report
