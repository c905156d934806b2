"""Chart data for the run view: confusion matrix and curves for classification, residuals and
predicted-versus-true for regression.

Every function returns plain JSON-ready structures: dicts, lists, Python floats and ints,
strings and ``None``. Non-finite numbers never appear (an undefined value is ``None``), so the
result passes ``json.dumps(..., allow_nan=False)``. Class labels are given as strings.

With ``sample_weight``, "counts" in the classification charts are sums of weights (equal to row
counts when no weights are given).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from cirrusml.metrics._classification import _prepare as _prepare_classification
from cirrusml.metrics._classification import _Prepared
from cirrusml.metrics._regression import _prepare as _prepare_regression
from cirrusml.metrics._quiet import quiet_scoring

__all__ = ["classification_charts", "regression_charts"]

#: The most points a ROC or precision-recall curve keeps.
MAX_CURVE_POINTS = 200
#: Bins of the calibration curve, equal width on [0, 1].
CALIBRATION_BINS = 10
#: Bins of the residuals histogram.
RESIDUAL_BINS = 10
#: Most bins of the predicted-versus-true chart.
PREDICTED_TRUE_BINS = 10


# ---------------------------------------------------------------------------------------------
# small helpers


def _num(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _nums(values: Any) -> list[float | None]:
    return [_num(v) for v in np.asarray(values, dtype=float).ravel()]


def _thin(*arrays: np.ndarray, limit: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, ...]:
    """Keep at most ``limit`` evenly spaced points of aligned arrays, always both ends."""
    n = arrays[0].shape[0]
    if n <= limit:
        return arrays
    keep = np.unique(np.round(np.linspace(0, n - 1, limit)).astype(int))
    return tuple(a[keep] for a in arrays)


def _flat(prep: _Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Pool every (row, class) pair, for micro-averaged curves."""
    sw = prep.sample_weight
    return (
        prep.indicator().ravel(),
        prep.proba.ravel(),
        None if sw is None else np.repeat(sw, prep.n_classes),
    )


# ---------------------------------------------------------------------------------------------
# classification


def _confusion(prep: _Prepared, labels: list[str]) -> dict[str, Any]:
    from sklearn import metrics as skm

    pred = np.argmax(prep.proba, axis=1)
    matrix = skm.confusion_matrix(
        prep.codes,
        pred,
        labels=np.arange(prep.n_classes),
        sample_weight=prep.sample_weight,
    ).astype(float)
    totals = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    return {
        "class_labels": labels,
        "matrix": [_nums(row) for row in matrix],
        "normalized_matrix": [_nums(row) for row in normalised],
    }


def _roc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, ...] | None:
    """(fpr, tpr) of one one-vs-rest problem, or ``None`` when the curve is undefined."""
    from sklearn import metrics as skm

    if not y.any() or y.all():
        return None  # needs both positives and negatives
    fpr, tpr, _ = skm.roc_curve(y, p, sample_weight=w)
    if not (np.isfinite(fpr).all() and np.isfinite(tpr).all()):
        return None  # the positives or the negatives all carry zero weight
    return fpr, tpr


def _roc_macro(curves: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...] | None:
    """Mean TPR over the classes, on the union of their FPR points."""
    if not curves:
        return None
    grid = np.unique(np.concatenate([fpr for fpr, _ in curves]))
    tpr = np.mean([np.interp(grid, fpr, tpr) for fpr, tpr in curves], axis=0)
    if grid[0] == 0.0 and tpr[0] != 0.0:
        grid, tpr = np.r_[0.0, grid], np.r_[0.0, tpr]
    return grid, tpr


def _roc_json(curve: tuple[np.ndarray, ...] | None) -> dict[str, Any] | None:
    from sklearn import metrics as skm

    if curve is None:
        return None
    fpr, tpr = curve
    auc = skm.auc(fpr, tpr)
    fpr, tpr = _thin(fpr, tpr)
    return {"fpr": _nums(fpr), "tpr": _nums(tpr), "auc": _num(auc)}


def _pr(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, ...] | None:
    """(recall increasing, precision, average precision), or ``None`` without positives."""
    from sklearn import metrics as skm

    if not y.any():
        return None
    precision, recall, _ = skm.precision_recall_curve(y, p, sample_weight=w)
    if not (np.isfinite(precision).all() and np.isfinite(recall).all()):
        return None
    ap = np.asarray(skm.average_precision_score(y, p, sample_weight=w))
    # scikit-learn lists recall from 1 down to 0; present it increasing.
    return recall[::-1], precision[::-1], ap


_RECALL_GRID = np.linspace(0.0, 1.0, 101)


def _pr_macro(curves: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...] | None:
    """Mean over classes of the interpolated precision (the best precision at recall >= r)."""
    if not curves:
        return None
    rows = []
    for recall, precision, _ in curves:
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        at = np.clip(np.searchsorted(recall, _RECALL_GRID, side="left"), 0, len(recall) - 1)
        rows.append(envelope[at])
    mean_ap = np.asarray(np.mean([ap for _, _, ap in curves]))
    return _RECALL_GRID, np.mean(rows, axis=0), mean_ap


def _pr_json(curve: tuple[np.ndarray, ...] | None) -> dict[str, Any] | None:
    if curve is None:
        return None
    recall, precision, ap = curve
    recall, precision = _thin(recall, precision)
    return {"recall": _nums(recall), "precision": _nums(precision), "average_precision": _num(ap)}


_CALIBRATION_EDGES = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)


def _calibration(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """Per equal-width bin of predicted probability: mean prediction, observed rate, count.

    Every bin is listed; an empty bin has a count of 0 and ``None`` for its means.
    """
    bins = np.clip((p * CALIBRATION_BINS).astype(int), 0, CALIBRATION_BINS - 1)
    count = np.bincount(bins, weights=w, minlength=CALIBRATION_BINS)
    pred_sum = np.bincount(bins, weights=w * p, minlength=CALIBRATION_BINS)
    pos_sum = np.bincount(bins, weights=w * y, minlength=CALIBRATION_BINS)
    filled = count > 0
    mean_pred = np.divide(pred_sum, count, out=np.full(CALIBRATION_BINS, np.nan), where=filled)
    rate = np.divide(pos_sum, count, out=np.full(CALIBRATION_BINS, np.nan), where=filled)
    return {
        "mean_predicted": _nums(mean_pred),
        "observed_rate": _nums(rate),
        "counts": _nums(count),
    }


_TARGETED = np.arange(1, 101) / 100.0


def _gains(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """Share of the positives found when the top x of rows by score is targeted.

    Rows are taken in decreasing score; rows with equal scores form one block and are taken
    pro rata, so ties do not depend on row order.
    """
    total_pos = float((w * y).sum())
    total = float(w.sum())
    if total_pos <= 0 or total <= 0:
        return None
    order = np.argsort(-p, kind="stable")
    s, ww, yy = p[order], w[order], y[order]
    cum_w = np.cumsum(ww) / total
    cum_pos = np.cumsum(ww * yy) / total_pos
    block_end = np.r_[s[1:] != s[:-1], True]  # last row of each block of equal scores
    x = np.r_[0.0, cum_w[block_end]]
    g = np.r_[0.0, cum_pos[block_end]]
    x, keep = np.unique(x, return_index=True)  # zero-weight blocks add no width
    return np.interp(_TARGETED, x, g[keep])


def classification_charts(
    y_true: Any,
    proba: Any,
    classes: Sequence[Any],
    sample_weight: Any = None,
) -> dict[str, Any]:
    """Chart data for a classifier's predictions (same inputs as ``classification_metrics``).

    Returns a dict with:

    * ``class_labels``: the classes as strings, in column order;
    * ``confusion_matrix``: ``matrix[i][j]`` is the (weighted) count of rows of true class ``i``
      predicted as ``j`` (arg-max of ``proba``), and ``normalized_matrix`` divides each row by
      its total (a row with no rows stays 0);
    * ``roc_curve`` and ``precision_recall_curve``: ``per_class`` (keyed by label; ``None`` when
      the curve is undefined in these rows), ``micro`` (all (row, class) pairs pooled) and
      ``macro`` (ROC: mean TPR on the union of FPR points; PR: mean interpolated precision on
      101 recall points). ROC curves run from (0, 0) to (1, 1); PR curves list recall in
      increasing order. Each curve keeps at most ``MAX_CURVE_POINTS`` points;
    * ``calibration_curve``: 10 equal-width bins of predicted probability; per class and micro,
      the mean prediction, the observed share of the class and the count in each bin;
    * ``cumulative_gains`` and ``lift``: at ``x`` = 1%, 2%, ..., 100% of rows targeted in
      decreasing score, the share of the class found, and that share divided by ``x`` (1 is a
      random model); per class, micro and macro (the mean over classes).
    """
    prep = _prepare_classification(y_true, proba, classes, sample_weight)
    with warnings.catch_warnings():
        # Undefined curves are reported as None; scikit-learn's warnings about them are noise.
        quiet_scoring()
        return _classification_charts(prep)


def _classification_charts(prep: _Prepared) -> dict[str, Any]:
    labels = [str(label) for label in prep.labels]
    y = prep.indicator()
    sw = prep.sample_weight
    w = prep.weights
    yf, pf, wf = _flat(prep)
    wf_arr = np.repeat(w, prep.n_classes)

    roc = [_roc(y[:, k], prep.proba[:, k], sw) for k in range(prep.n_classes)]
    pr = [_pr(y[:, k], prep.proba[:, k], sw) for k in range(prep.n_classes)]
    roc_chart = {
        "per_class": dict(zip(labels, map(_roc_json, roc), strict=True)),
        "micro": _roc_json(_roc(yf, pf, wf)),
        "macro": _roc_json(_roc_macro([c for c in roc if c is not None])),
    }
    pr_chart = {
        "per_class": dict(zip(labels, map(_pr_json, pr), strict=True)),
        "micro": _pr_json(_pr(yf, pf, wf)),
        "macro": _pr_json(_pr_macro([c for c in pr if c is not None])),
    }

    calibration = {
        "bin_edges": _nums(_CALIBRATION_EDGES),
        "per_class": {
            labels[k]: _calibration(y[:, k], prep.proba[:, k], w) for k in range(prep.n_classes)
        },
        "micro": _calibration(yf, pf, wf_arr),
    }

    gains = {labels[k]: _gains(y[:, k], prep.proba[:, k], w) for k in range(prep.n_classes)}
    micro_gains = _gains(yf, pf, wf_arr)
    found = [g for g in gains.values() if g is not None]
    macro_gains = np.mean(found, axis=0) if found else None

    def series(g: np.ndarray | None, divide: bool) -> list[float | None] | None:
        if g is None:
            return None
        return _nums(g / _TARGETED if divide else g)

    def gains_chart(divide: bool) -> dict[str, Any]:
        return {
            "x": _nums(_TARGETED),
            "per_class": {label: series(g, divide) for label, g in gains.items()},
            "micro": series(micro_gains, divide),
            "macro": series(macro_gains, divide),
        }

    return {
        "class_labels": labels,
        "confusion_matrix": _confusion(prep, labels),
        "roc_curve": roc_chart,
        "precision_recall_curve": pr_chart,
        "calibration_curve": calibration,
        "cumulative_gains": gains_chart(divide=False),
        "lift": gains_chart(divide=True),
    }


# ---------------------------------------------------------------------------------------------
# regression


def _residuals(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Histogram of ``y_pred - y_true`` (Azure's sign: positive means over-prediction).

    The inner edges split [-2s, 2s] evenly, s being the standard deviation of ``y_true`` (1 when
    the targets are constant); the first and last bins stretch to the smallest and largest
    residual when those fall outside, so every residual is counted.
    """
    residuals = p - y
    spread = float(np.std(y))
    bound = 2.0 * (spread if spread > 0 else 1.0)
    edges = np.linspace(-bound, bound, RESIDUAL_BINS + 1)
    edges[0] = min(edges[0], float(residuals.min()))
    edges[-1] = max(edges[-1], float(residuals.max()))
    counts, _ = np.histogram(residuals, bins=edges)
    return {
        "bin_edges": _nums(edges),
        "counts": [int(c) for c in counts],
        "mean": _num(residuals.mean()),
        "std": _num(residuals.std()),
        "n": int(residuals.shape[0]),
    }


def _predicted_true(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Bins of the true values, with the mean and spread of the predictions in each.

    At most ``PREDICTED_TRUE_BINS`` equal-width bins (fewer when ``y_true`` has fewer distinct
    values). Empty bins have a count of 0 and ``None`` for the statistics.
    """
    n_bins = int(min(PREDICTED_TRUE_BINS, np.unique(y).shape[0]))
    edges = np.histogram_bin_edges(y, bins=n_bins)
    index = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    mean_pred = np.full(n_bins, np.nan)
    std_pred = np.full(n_bins, np.nan)
    mean_true = np.full(n_bins, np.nan)
    for b in np.flatnonzero(counts):
        inside = index == b
        mean_pred[b] = p[inside].mean()
        std_pred[b] = p[inside].std()
        mean_true[b] = y[inside].mean()
    return {
        "bin_edges": _nums(edges),
        "counts": [int(c) for c in counts],
        "mean_true": _nums(mean_true),
        "mean_predicted": _nums(mean_pred),
        "std_predicted": _nums(std_pred),
    }


def regression_charts(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Chart data for a regressor's predictions: ``residuals`` and ``predicted_true``."""
    y, p, _ = _prepare_regression(y_true, y_pred, None)
    return {"residuals": _residuals(y, p), "predicted_true": _predicted_true(y, p)}
