"""Scalar classification metrics, computed the way Azure ML AutoML defines them.

Everything is computed on integer class codes: ``y_true`` (and ``y_pred`` when given) are mapped
onto positions in ``classes``, the column order of ``proba``. That makes labels of any type work
(strings, integers, booleans) and keeps the probability columns and the labels aligned.

Choices worth knowing (the docstring of :func:`classification_metrics` lists them all):

* a class absent from ``y_true`` in the evaluated rows is left out of the one-vs-rest AUC and
  average-precision averages instead of turning them into NaN; a metric that cannot be defined at
  all is NaN, never an exception;
* precision, recall and F1 follow scikit-learn's defaults (the classes present in ``y_true`` or in
  the predictions, and 0 where a ratio is 0/0);
* ``_binary`` metrics are returned only for two-class problems.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.metrics._registry import metric_names
from cirrusml.metrics._quiet import quiet_scoring

__all__ = ["classification_metrics"]

_AVERAGES = ("macro", "micro", "weighted")


class _Prepared:
    """Inputs checked and converted once, shared by the scalar metrics and the charts."""

    __slots__ = ("codes", "labels", "proba", "sample_weight", "weights")

    def __init__(
        self,
        codes: np.ndarray,
        proba: np.ndarray,
        labels: list[Any],
        sample_weight: np.ndarray | None,
    ):
        self.codes = codes  # int array (n,), positions in ``labels``
        self.proba = proba  # float array (n, C)
        self.labels = labels  # the classes, in column order
        self.sample_weight = sample_weight  # None when the caller gave none
        # Always an array, for our own arithmetic.
        self.weights = np.ones(codes.shape[0]) if sample_weight is None else sample_weight

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    def indicator(self) -> np.ndarray:
        """One-hot (n, C) boolean matrix of the true classes."""
        return self.codes[:, None] == np.arange(self.n_classes)[None, :]


def _as_1d(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"{what} must be one-dimensional, got an array of shape {arr.shape}")
    return arr


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = _as_1d(sample_weight, "sample_weight").astype(float)
    if w.shape[0] != n:
        raise DataError(f"sample_weight has {w.shape[0]} values but there are {n} rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise DataError("sample_weight must hold finite, non-negative numbers")
    if w.sum() <= 0:
        raise DataError("sample_weight sums to 0; at least one row needs a positive weight")
    return w


def _encode(values: Any, index: pd.Index, what: str) -> np.ndarray:
    arr = _as_1d(values, what)
    codes = index.get_indexer(arr)
    if np.any(codes < 0):
        unknown = pd.unique(pd.Series(arr[codes < 0], dtype=object))[:5]
        raise DataError(
            f"{what} holds labels that are not among the classes "
            f"{list(index)}: {list(unknown)}; pass the full list of classes the model "
            "was trained on (its classes_)"
        )
    return codes.astype(np.intp)


def _labels(classes: Sequence[Any]) -> list[Any]:
    """The classes as a list of plain Python values (numpy scalars unwrapped)."""
    flat = np.asarray(classes, dtype=object).ravel()
    return [c.item() if isinstance(c, np.generic) else c for c in flat]


def _prepare(
    y_true: Any,
    proba: Any,
    classes: Sequence[Any],
    sample_weight: Any = None,
) -> _Prepared:
    labels = _labels(classes)
    if not labels:
        raise DataError("classes is empty; pass the model's classes_")
    index = pd.Index(labels)
    if not index.is_unique:
        raise DataError(f"classes must not repeat a label, got {labels}")

    codes = _encode(y_true, index, "y_true")
    n = codes.shape[0]
    if n == 0:
        raise DataError("y_true is empty; there is nothing to score")

    p = np.asarray(proba, dtype=float)
    if p.ndim == 1 and len(labels) == 2:
        # A single column of scores for a two-class problem is P(classes[1]).
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape != (n, len(labels)):
        raise DataError(
            f"proba must have shape (n_rows, n_classes) = ({n}, {len(labels)}), "
            f"got {p.shape}; its columns follow the order of classes"
        )
    if not np.all(np.isfinite(p)):
        raise DataError("proba contains NaN or infinite values")
    return _Prepared(codes, p, labels, _check_sample_weight(sample_weight, n))


def _positive_index(labels: list[Any], positive_label: Any) -> int:
    """Column of the positive class in a two-class problem.

    Without ``positive_label`` it is the second class in sorted order (``classes[1]`` for a
    scikit-learn ``classes_``, which is sorted). A ``positive_label`` is matched exactly first,
    then by its text, so ``"1"`` read from YAML finds the integer class ``1``.
    """
    if positive_label is None:
        try:
            return sorted(range(len(labels)), key=lambda i: labels[i])[1]
        except TypeError:  # labels of mixed, unorderable types
            return 1
    for i, label in enumerate(labels):
        if label == positive_label:
            return i
    for i, label in enumerate(labels):
        if str(label) == str(positive_label):
            return i
    raise InvalidSpecError(
        f"positive_label {positive_label!r} is not one of the classes {labels}",
        field="positive_label",
    )


def _one_vs_rest(
    score: Callable[..., float],
    prep: _Prepared,
    *,
    need_negatives: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class one-vs-rest scores (NaN where undefined) and the classes' weighted support."""
    y = prep.indicator()
    support = prep.weights @ y
    negatives = prep.weights.sum() - support
    out = np.full(prep.n_classes, np.nan)
    for k in range(prep.n_classes):
        if support[k] <= 0 or (need_negatives and negatives[k] <= 0):
            continue  # the class is absent (or alone) in y_true: the score is undefined
        try:
            out[k] = score(y[:, k], prep.proba[:, k], sample_weight=prep.sample_weight)
        except ValueError:
            pass
    return out, support


def _average(per_class: np.ndarray, support: np.ndarray, how: str) -> float:
    ok = ~np.isnan(per_class)
    if not ok.any():
        return float("nan")
    if how == "macro":
        return float(per_class[ok].mean())
    total = support[ok].sum()
    if total <= 0:
        return float("nan")
    return float((per_class[ok] * support[ok]).sum() / total)


def _micro(score: Callable[..., float], prep: _Prepared) -> float:
    """The score on all (row, class) pairs pooled, as in scikit-learn's micro average."""
    y = prep.indicator().ravel()
    p = prep.proba.ravel()
    w = None if prep.sample_weight is None else np.repeat(prep.sample_weight, prep.n_classes)
    try:
        return float(score(y, p, sample_weight=w))
    except ValueError:
        return float("nan")


def _log_loss(prep: _Prepared) -> float:
    from sklearn import metrics as skm

    if prep.n_classes < 2:
        return float("nan")
    # Negative scores are clipped to 0 and each row is rescaled to sum to 1 (a row of zeros
    # becomes uniform); scikit-learn then clips to [eps, 1 - eps] before taking logs.
    p = np.clip(prep.proba, 0.0, None)
    sums = p.sum(axis=1, keepdims=True)
    p = np.where(sums > 0, p / np.where(sums > 0, sums, 1.0), 1.0 / prep.n_classes)
    return float(
        skm.log_loss(
            prep.codes, p, labels=np.arange(prep.n_classes), sample_weight=prep.sample_weight
        )
    )


def classification_metrics(
    y_true: Any,
    proba: Any,
    classes: Sequence[Any],
    *,
    sample_weight: Any = None,
    positive_label: Any = None,
    y_pred: Any = None,
) -> dict[str, float]:
    """Every scalar classification metric Azure ML AutoML reports, as plain floats.

    Parameters
    ----------
    y_true:
        True labels, one per row; every label must be one of ``classes``.
    proba:
        ``(n_rows, n_classes)`` scores whose columns follow ``classes`` (a model's
        ``predict_proba`` and ``classes_``). For two classes a 1-D array is read as the
        probability of ``classes[1]``. Rows need not sum exactly to 1.
    classes:
        The labels the model knows, in column order. Classes missing from ``y_true`` are fine.
    sample_weight:
        Optional non-negative weight per row, honoured by every metric.
    positive_label:
        The class the ``_binary`` metrics treat as positive. Default: the second class in sorted
        order (``classes[1]`` for a scikit-learn ``classes_``). Matched exactly, then by its
        text. Ignored for problems with more than two classes.
    y_pred:
        Predicted labels; default the arg-max column of ``proba``.

    Definitions and choices
    -----------------------
    * ``AUC_*`` and ``average_precision_score_*``: one-vs-rest per class on the raw scores.
      ``_macro`` is the plain mean and ``_weighted`` the support-weighted mean over the classes
      where the score is defined: AUC needs the class present and absent among the evaluated
      rows, average precision needs it present. Other classes are skipped; if no class is
      left the metric is NaN. ``_micro`` pools every (row, class) pair, ``_binary`` is the
      positive class's own score.
    * ``precision_score_*``, ``recall_score_*``, ``f1_score_*``, ``accuracy``,
      ``matthews_correlation`` and ``balanced_accuracy`` are scikit-learn's, with its default
      label set (classes seen in ``y_true`` or the predictions) and 0 for a 0/0 ratio.
      ``balanced_accuracy`` uses scikit-learn's ``balanced_accuracy_score``, which averages
      recall over the classes present in ``y_true`` only.
    * ``norm_macro_recall`` = ``max(0, (recall_score_macro - R) / (1 - R))`` with
      ``R = 1 / len(classes)`` (0.5 for binary); NaN with a single class.
    * ``weighted_accuracy``: accuracy where a row's weight is the number of evaluated rows of
      its true class, multiplied by its ``sample_weight``.
    * ``log_loss``: scikit-learn's, with ``classes`` as the label set, after clipping negative
      scores to 0 and rescaling each row to sum to 1; NaN with a single class.
    * The ``_binary`` metrics appear only when there are exactly two classes.
    """
    from sklearn import metrics as skm

    prep = _prepare(y_true, proba, classes, sample_weight)
    n_classes = prep.n_classes
    if y_pred is None:
        pred = np.argmax(prep.proba, axis=1).astype(np.intp)
    else:
        pred = _encode(y_pred, pd.Index(prep.labels), "y_pred")
        if pred.shape[0] != prep.codes.shape[0]:
            raise DataError(
                f"y_pred has {pred.shape[0]} rows but y_true has {prep.codes.shape[0]}"
            )
    binary = n_classes == 2
    pos = _positive_index(prep.labels, positive_label) if binary else -1
    sw = prep.sample_weight
    codes = prep.codes

    out: dict[str, float] = {}
    with warnings.catch_warnings():
        # Undefined ratios and constant inputs are handled here; scikit-learn's warnings
        # about them would only be noise in a trial log.
        quiet_scoring()

        out["accuracy"] = skm.accuracy_score(codes, pred, sample_weight=sw)

        for stem, score, need_neg in (
            ("AUC", skm.roc_auc_score, True),
            ("average_precision_score", skm.average_precision_score, False),
        ):
            per_class, support = _one_vs_rest(score, prep, need_negatives=need_neg)
            out[f"{stem}_macro"] = _average(per_class, support, "macro")
            out[f"{stem}_micro"] = _micro(score, prep)
            out[f"{stem}_weighted"] = _average(per_class, support, "weighted")
            if binary:
                out[f"{stem}_binary"] = per_class[pos]

        out["balanced_accuracy"] = skm.balanced_accuracy_score(codes, pred, sample_weight=sw)

        prf = {
            "f1_score": skm.f1_score,
            "precision_score": skm.precision_score,
            "recall_score": skm.recall_score,
        }
        for stem, fn in prf.items():
            for avg in _AVERAGES:
                out[f"{stem}_{avg}"] = fn(
                    codes, pred, average=avg, sample_weight=sw, zero_division=0
                )
            if binary:
                out[f"{stem}_binary"] = fn(
                    codes == pos,
                    pred == pos,
                    average="binary",
                    pos_label=True,
                    sample_weight=sw,
                    zero_division=0,
                )

        out["log_loss"] = _log_loss(prep)

        if n_classes >= 2:
            chance = 1.0 / n_classes
            recall_macro = out["recall_score_macro"]
            out["norm_macro_recall"] = max(0.0, (recall_macro - chance) / (1.0 - chance))
        else:
            out["norm_macro_recall"] = float("nan")

        out["matthews_correlation"] = skm.matthews_corrcoef(codes, pred, sample_weight=sw)

        class_sizes = np.bincount(codes, minlength=n_classes).astype(float)
        out["weighted_accuracy"] = skm.accuracy_score(
            codes, pred, sample_weight=class_sizes[codes] * prep.weights
        )

    # Report in catalogue order, as plain Python floats.
    return {name: float(out[name]) for name in metric_names("classification") if name in out}
