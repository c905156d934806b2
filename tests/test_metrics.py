"""Tests for cirrusml.metrics: the registry, the scalar scorers and the chart data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm

from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.metrics import (
    METRICS,
    MetricInfo,
    classification_charts,
    classification_metrics,
    get_metric,
    is_better,
    metric_names,
    regression_charts,
    regression_metrics,
    to_loss,
)

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

CLASSIFICATION_NAMES = [
    "accuracy",
    "AUC_macro",
    "AUC_micro",
    "AUC_weighted",
    "AUC_binary",
    "average_precision_score_macro",
    "average_precision_score_micro",
    "average_precision_score_weighted",
    "average_precision_score_binary",
    "balanced_accuracy",
    "f1_score_macro",
    "f1_score_micro",
    "f1_score_weighted",
    "f1_score_binary",
    "log_loss",
    "norm_macro_recall",
    "matthews_correlation",
    "precision_score_macro",
    "precision_score_micro",
    "precision_score_weighted",
    "precision_score_binary",
    "recall_score_macro",
    "recall_score_micro",
    "recall_score_weighted",
    "recall_score_binary",
    "weighted_accuracy",
]
REGRESSION_NAMES = [
    "explained_variance",
    "mean_absolute_error",
    "normalized_mean_absolute_error",
    "mean_absolute_percentage_error",
    "median_absolute_error",
    "normalized_median_absolute_error",
    "r2_score",
    "root_mean_squared_error",
    "normalized_root_mean_squared_error",
    "root_mean_squared_log_error",
    "normalized_root_mean_squared_log_error",
    "spearman_correlation",
]

LABEL_SETS = {
    "int": [3, 7, 11, 20],
    "str": ["ant", "bee", "cat", "dog"],
    "bool": [False, True],
}


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


# ---------------------------------------------------------------------------------------------
# registry


def test_registry_has_exactly_azure_names():
    assert set(METRICS) == set(CLASSIFICATION_NAMES) | set(REGRESSION_NAMES)
    assert set(metric_names("classification")) == set(CLASSIFICATION_NAMES)
    assert set(metric_names("regression")) == set(REGRESSION_NAMES)
    assert metric_names() == list(METRICS)


def test_registry_entries_are_consistent():
    for name, info in METRICS.items():
        assert isinstance(info, MetricInfo)
        assert info.name == name
        assert info.task in ("classification", "regression")
        assert info.lower < info.upper
        assert info.description
    assert METRICS["log_loss"].greater_is_better is False
    assert (METRICS["log_loss"].lower, METRICS["log_loss"].upper) == (0.0, math.inf)
    assert (METRICS["r2_score"].lower, METRICS["r2_score"].upper) == (-1.0, 1.0)
    assert METRICS["explained_variance"].lower == -math.inf
    assert METRICS["matthews_correlation"].lower == -1.0
    assert METRICS["spearman_correlation"].greater_is_better
    assert not METRICS["normalized_root_mean_squared_error"].greater_is_better
    with pytest.raises(AttributeError):
        METRICS["accuracy"].name = "other"  # type: ignore[misc]


def test_normalised_spellings_are_unique():
    keys = {name.lower().replace("_", "") for name in METRICS}
    assert len(keys) == len(METRICS)


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("AUC_weighted", "AUC_weighted"),
        ("auc_weighted", "AUC_weighted"),
        ("AUCWeighted", "AUC_weighted"),
        ("  aucweighted ", "AUC_weighted"),
        ("Accuracy", "accuracy"),
        ("NormMacroRecall", "norm_macro_recall"),
        ("AveragePrecisionScoreWeighted", "average_precision_score_weighted"),
        ("PrecisionScoreWeighted", "precision_score_weighted"),
        ("SpearmanCorrelation", "spearman_correlation"),
        ("NormalizedRootMeanSquaredError", "normalized_root_mean_squared_error"),
        ("R2Score", "r2_score"),
        ("NormalizedMeanAbsoluteError", "normalized_mean_absolute_error"),
    ],
)
def test_get_metric_spellings(spelling, name):
    assert get_metric(spelling) is METRICS[name]


def test_get_metric_suggests_nearest_names():
    with pytest.raises(InvalidSpecError) as info:
        get_metric("auc_weigted")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "auc_weigted" in message
    assert "'AUC_weighted'" in message
    assert "did you mean" in message


def test_get_metric_without_close_match_lists_names():
    with pytest.raises(InvalidSpecError, match="valid names are: accuracy"):
        get_metric("zzzz")
    with pytest.raises(InvalidSpecError):
        get_metric(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError):
        metric_names("clustering")  # type: ignore[arg-type]


def test_to_loss_and_is_better():
    assert to_loss("accuracy", 0.8) == -0.8
    assert to_loss("log_loss", 0.3) == 0.3
    assert to_loss("AUCWeighted", 0.7) == -0.7
    assert to_loss("r2_score", float("nan")) == math.inf
    assert is_better("accuracy", 0.9, 0.8)
    assert not is_better("accuracy", 0.8, 0.8)
    assert is_better("normalized_root_mean_squared_error", 0.1, 0.2)
    assert not is_better("log_loss", 0.5, 0.4)
    assert is_better("accuracy", 0.1, float("nan"))
    assert not is_better("accuracy", float("nan"), 0.1)
    assert not is_better("accuracy", float("nan"), float("nan"))


# ---------------------------------------------------------------------------------------------
# classification against scikit-learn


def _classification_case(seed: int, n: int, n_classes: int, kind: str, weighted: bool):
    rng = np.random.default_rng(seed)
    classes = LABEL_SETS[kind][:n_classes]
    codes = np.r_[np.arange(n_classes), rng.integers(0, n_classes, n - n_classes)]
    rng.shuffle(codes)  # every class present at least once
    proba = rng.dirichlet(np.ones(n_classes), n)
    y = np.array(classes, dtype=object)[codes]
    if kind == "int":
        y = y.astype(int)
    elif kind == "bool":
        y = y.astype(bool)
    weights = rng.uniform(0.1, 3.0, n) if weighted else None
    return y, proba, classes, weights


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(4, 60),
    n_classes=st.integers(2, 4),
    kind=st.sampled_from(["int", "str", "bool"]),
    weighted=st.booleans(),
)
def test_classification_matches_sklearn(seed, n, n_classes, kind, weighted):
    if kind == "bool":
        n_classes = 2
    y, proba, classes, w = _classification_case(seed, n, n_classes, kind, weighted)
    got = classification_metrics(y, proba, classes, sample_weight=w)
    y_pred = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)].astype(y.dtype)
    onehot = (y[:, None] == np.asarray(classes, dtype=object)[None, :]).astype(int)

    expect = {
        "accuracy": skm.accuracy_score(y, y_pred, sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(y, y_pred, sample_weight=w),
        "matthews_correlation": skm.matthews_corrcoef(y, y_pred, sample_weight=w),
        "log_loss": skm.log_loss(y, proba, labels=classes, sample_weight=w),
    }
    for avg in ("macro", "micro", "weighted"):
        for stem, fn in (
            ("f1_score", skm.f1_score),
            ("precision_score", skm.precision_score),
            ("recall_score", skm.recall_score),
        ):
            expect[f"{stem}_{avg}"] = fn(
                y, y_pred, average=avg, sample_weight=w, zero_division=0
            )
        expect[f"AUC_{avg}"] = skm.roc_auc_score(onehot, proba, average=avg, sample_weight=w)
        expect[f"average_precision_score_{avg}"] = skm.average_precision_score(
            onehot, proba, average=avg, sample_weight=w
        )
    if n_classes > 2:
        for avg in ("macro", "weighted"):
            ovr = skm.roc_auc_score(
                y, proba, multi_class="ovr", average=avg, labels=classes, sample_weight=w
            )
            assert close(got[f"AUC_{avg}"], ovr)
        assert not any(name.endswith("_binary") for name in got)
    else:
        pos = classes[1]
        for stem, fn in (
            ("f1_score", skm.f1_score),
            ("precision_score", skm.precision_score),
            ("recall_score", skm.recall_score),
        ):
            expect[f"{stem}_binary"] = fn(
                y, y_pred, average="binary", pos_label=pos, sample_weight=w, zero_division=0
            )
        expect["AUC_binary"] = skm.roc_auc_score(y == pos, proba[:, 1], sample_weight=w)
        expect["average_precision_score_binary"] = skm.average_precision_score(
            y == pos, proba[:, 1], sample_weight=w
        )
        # With two classes and rows summing to 1, both one-vs-rest AUCs are the binary AUC.
        assert close(got["AUC_macro"], expect["AUC_binary"])

    for name, value in expect.items():
        assert close(got[name], float(value)), (name, got[name], value)

    # The Azure-only metrics, restated from their definitions.
    chance = 1.0 / n_classes
    nmr = max(0.0, (expect["recall_score_macro"] - chance) / (1 - chance))
    assert close(got["norm_macro_recall"], nmr)
    sizes = {c: int(np.sum(y == c)) for c in classes}
    row_w = np.array([sizes[c] for c in y], dtype=float) * (1.0 if w is None else w)
    assert close(got["weighted_accuracy"], float(np.sum(row_w * (y == y_pred)) / row_w.sum()))

    # Every value is a plain float inside the metric's documented range.
    expected_keys = metric_names("classification")
    if n_classes > 2:
        expected_keys = [m for m in expected_keys if not m.endswith("_binary")]
    assert list(got) == expected_keys
    for name, value in got.items():
        assert type(value) is float
        info = METRICS[name]
        assert info.lower - 1e-12 <= value <= info.upper + 1e-12, (name, value)


# ---------------------------------------------------------------------------------------------
# classification: Azure-specific definitions


def test_norm_macro_recall_exact():
    classes = [0, 1]
    y = np.array([0, 0, 1, 1])
    perfect = np.eye(2)[y]
    assert classification_metrics(y, perfect, classes)["norm_macro_recall"] == 1.0
    # recall 1.0 on class 0 and 0.5 on class 1 -> macro 0.75 -> (0.75 - 0.5) / 0.5
    proba = np.eye(2)[[0, 0, 0, 1]]
    assert close(classification_metrics(y, proba, classes)["norm_macro_recall"], 0.5)
    # all wrong: below chance is floored at 0
    assert classification_metrics(y, np.eye(2)[1 - y], classes)["norm_macro_recall"] == 0.0
    # three classes, recall macro 0.5, R = 1/3 -> (0.5 - 1/3) / (2/3) = 0.25
    y3 = np.array([0, 0, 1, 1, 2, 2])
    p3 = np.eye(3)[[0, 0, 1, 0, 0, 0]]  # recalls 1, 0.5, 0
    assert close(classification_metrics(y3, p3, [0, 1, 2])["norm_macro_recall"], 0.25)


def test_weighted_accuracy_exact():
    y = np.array(["a", "a", "a", "b"])
    proba = np.eye(2)[[0, 0, 0, 0]]
    got = classification_metrics(y, proba, ["a", "b"])
    assert close(got["accuracy"], 0.75)
    assert close(got["weighted_accuracy"], 9 / 10)  # weights 3, 3, 3, 1
    # user weights multiply the class sizes: 3*1, 3*1, 3*1, 1*3 -> 9 / 12
    got = classification_metrics(y, proba, ["a", "b"], sample_weight=[1, 1, 1, 3])
    assert close(got["weighted_accuracy"], 0.75)


def test_binary_positive_class_rule():
    y = np.array(["no", "no", "yes", "yes", "yes"])
    proba = np.eye(2)[[0, 1, 1, 1, 0]]  # predictions: no, yes, yes, yes, no
    default = classification_metrics(y, proba, ["no", "yes"])
    # positive = "yes": TP 2, FP 1, FN 1
    assert close(default["precision_score_binary"], 2 / 3)
    assert close(default["recall_score_binary"], 2 / 3)
    flipped = classification_metrics(y, proba, ["no", "yes"], positive_label="no")
    # positive = "no": TP 1, FP 1, FN 1
    assert close(flipped["precision_score_binary"], 1 / 2)
    assert close(flipped["recall_score_binary"], 1 / 2)
    # The default is the second class in sorted order, whatever the column order.
    reordered = classification_metrics(y, proba[:, ::-1], ["yes", "no"])
    assert close(reordered["precision_score_binary"], default["precision_score_binary"])
    assert close(reordered["AUC_binary"], default["AUC_binary"])
    assert close(reordered["average_precision_score_binary"],
                 default["average_precision_score_binary"])


def test_positive_label_matching_and_errors():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
    by_text = classification_metrics(y, proba, [0, 1], positive_label="0")
    by_value = classification_metrics(y, proba, [0, 1], positive_label=0)
    assert by_text == by_value
    assert close(by_value["recall_score_binary"], 1.0)
    with pytest.raises(InvalidSpecError, match="positive_label"):
        classification_metrics(y, proba, [0, 1], positive_label="maybe")
    # Ignored for more than two classes.
    y3 = np.array([0, 1, 2])
    got = classification_metrics(y3, np.eye(3), [0, 1, 2], positive_label="nope")
    assert "AUC_binary" not in got


def test_class_absent_from_fold():
    rng = np.random.default_rng(1)
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    proba = rng.dirichlet(np.ones(3), len(y))
    got = classification_metrics(y, proba, [0, 1, 2])
    per_class = [skm.roc_auc_score(y == k, proba[:, k]) for k in (0, 1)]
    assert close(got["AUC_macro"], float(np.mean(per_class)))
    support = [np.sum(y == 0), np.sum(y == 1)]
    assert close(got["AUC_weighted"], float(np.average(per_class, weights=support)))
    onehot = np.eye(3)[y]
    assert close(got["AUC_micro"], skm.roc_auc_score(onehot.ravel(), proba.ravel()))
    aps = [skm.average_precision_score(y == k, proba[:, k]) for k in (0, 1)]
    assert close(got["average_precision_score_macro"], float(np.mean(aps)))
    assert close(got["log_loss"], skm.log_loss(y, proba, labels=[0, 1, 2]))
    assert all(math.isfinite(v) for v in got.values())


def test_auc_undefined_is_nan_not_error():
    y = np.array(["a", "a", "a"])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    got = classification_metrics(y, proba, ["a", "b"])
    assert math.isnan(got["AUC_macro"])
    assert math.isnan(got["AUC_weighted"])
    assert math.isnan(got["AUC_binary"])
    assert math.isfinite(got["AUC_micro"])
    assert math.isnan(got["average_precision_score_binary"])  # no positives of "b"
    assert close(got["average_precision_score_macro"], 1.0)  # class "a" only
    assert close(got["accuracy"], 2 / 3)


def test_bool_and_numpy_string_labels():
    y = np.array([True, False, True, True])
    proba = np.array([[0.2, 0.8], [0.7, 0.3], [0.4, 0.6], [0.6, 0.4]])
    got = classification_metrics(y, proba, np.array([False, True]))
    assert close(got["accuracy"], 0.75)
    assert close(got["recall_score_binary"], 2 / 3)  # True is the positive class
    labels = np.array(["x", "y"])
    got_str = classification_metrics(labels[y.astype(int)], proba, labels)
    assert got_str == got


def test_single_row_classification():
    got = classification_metrics(["b"], [[0.1, 0.2, 0.7]], ["a", "b", "c"])
    assert got["accuracy"] == 0.0
    assert math.isnan(got["AUC_macro"])
    assert close(got["log_loss"], -math.log(0.2))
    assert set(got) == {m for m in metric_names("classification") if not m.endswith("_binary")}


def test_rows_not_summing_to_one():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 30)
    y[:3] = [0, 1, 2]
    proba = rng.dirichlet(np.ones(3), 30)
    base = classification_metrics(y, proba, [0, 1, 2])
    scaled = classification_metrics(y, proba * 1.7, [0, 1, 2])
    for name in ("AUC_macro", "AUC_weighted", "AUC_micro", "log_loss", "accuracy"):
        assert close(base[name], scaled[name], 1e-7), name


def test_one_dimensional_binary_scores_and_explicit_y_pred():
    y = np.array([0, 1, 1, 0, 1])
    p1 = np.array([0.2, 0.9, 0.4, 0.3, 0.6])
    got = classification_metrics(y, p1, [0, 1])
    assert close(got["AUC_binary"], skm.roc_auc_score(y, p1))
    forced = classification_metrics(y, p1, [0, 1], y_pred=[1, 1, 1, 1, 1])
    assert close(forced["accuracy"], 0.6)
    assert close(forced["AUC_binary"], got["AUC_binary"])  # scores are unchanged


def test_classification_input_errors():
    proba = np.array([[0.5, 0.5], [0.4, 0.6]])
    with pytest.raises(DataError, match="not among the classes"):
        classification_metrics(["a", "z"], proba, ["a", "b"])
    with pytest.raises(DataError, match="shape"):
        classification_metrics(["a", "b"], np.ones((2, 3)) / 3, ["a", "b"])
    with pytest.raises(DataError, match="sample_weight"):
        classification_metrics(["a", "b"], proba, ["a", "b"], sample_weight=[1.0])
    with pytest.raises(DataError, match="sample_weight"):
        classification_metrics(["a", "b"], proba, ["a", "b"], sample_weight=[-1.0, 2.0])
    with pytest.raises(DataError, match="empty"):
        classification_metrics([], np.zeros((0, 2)), ["a", "b"])
    with pytest.raises(DataError, match="y_pred"):
        classification_metrics(["a", "b"], proba, ["a", "b"], y_pred=["a", "q"])


# ---------------------------------------------------------------------------------------------
# regression against scikit-learn and the Azure definitions


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    noise=st.sampled_from([0.01, 0.5, 5.0]),
    weighted=st.booleans(),
)
def test_regression_matches_sklearn(seed, n, noise, weighted):
    rng = np.random.default_rng(seed)
    y = rng.normal(3.0, 2.0, n)
    p = y + rng.normal(0.0, noise, n)
    w = rng.uniform(0.1, 3.0, n) if weighted else None
    got = regression_metrics(y, p, sample_weight=w)
    span = float(np.ptp(y))

    mae = skm.mean_absolute_error(y, p, sample_weight=w)
    rmse = skm.root_mean_squared_error(y, p, sample_weight=w)
    medae = skm.median_absolute_error(y, p, sample_weight=w)
    r2 = skm.r2_score(y, p, sample_weight=w)
    assert close(got["mean_absolute_error"], mae)
    assert close(got["root_mean_squared_error"], rmse)
    assert close(got["median_absolute_error"], medae)
    assert close(got["explained_variance"], skm.explained_variance_score(y, p, sample_weight=w))
    assert close(got["r2_score"], max(r2, -1.0))
    if r2 >= -1:
        assert close(got["r2_score"], r2)
    assert close(got["normalized_mean_absolute_error"], mae / span)
    assert close(got["normalized_root_mean_squared_error"], rmse / span)
    assert close(got["normalized_median_absolute_error"], medae / span)
    assert close(
        got["mean_absolute_percentage_error"],
        100 * skm.mean_absolute_percentage_error(y, p, sample_weight=w),
    )
    if np.all(y > -1) and np.all(p > -1):
        rmsle = skm.root_mean_squared_log_error(y, p, sample_weight=w)
        assert close(got["root_mean_squared_log_error"], rmsle)
        log_span = np.log1p(y.max()) - np.log1p(y.min())
        assert close(got["normalized_root_mean_squared_log_error"], rmsle / log_span)
    else:
        assert math.isnan(got["root_mean_squared_log_error"])
    assert close(got["spearman_correlation"], float(stats.spearmanr(y, p).statistic))

    assert list(got) == metric_names("regression")
    for name, value in got.items():
        assert type(value) is float
        if not math.isnan(value):
            info = METRICS[name]
            assert info.lower - 1e-12 <= value <= info.upper + 1e-12, (name, value)


def test_normalisation_by_range():
    y = [0.0, 10.0]
    p = [1.0, 10.0]
    got = regression_metrics(y, p)
    assert close(got["mean_absolute_error"], 0.5)
    assert close(got["normalized_mean_absolute_error"], 0.05)
    assert close(got["normalized_median_absolute_error"], 0.05)
    assert close(got["normalized_root_mean_squared_error"], math.sqrt(0.5) / 10)
    # A caller-supplied (training) range replaces the range of y_true.
    wide = regression_metrics(y, p, y_min=0.0, y_max=100.0)
    assert close(wide["normalized_mean_absolute_error"], 0.005)
    assert close(wide["mean_absolute_error"], 0.5)
    only_max = regression_metrics(y, p, y_max=20.0)
    assert close(only_max["normalized_mean_absolute_error"], 0.025)
    with pytest.raises(DataError, match="y_min"):
        regression_metrics(y, p, y_min=5.0, y_max=1.0)


def test_zero_range_returns_unnormalised_error():
    got = regression_metrics([5.0, 5.0, 5.0], [5.0, 5.0, 6.0])
    assert close(got["normalized_mean_absolute_error"], got["mean_absolute_error"])
    assert close(got["normalized_root_mean_squared_error"], got["root_mean_squared_error"])
    assert close(got["normalized_median_absolute_error"], got["median_absolute_error"])
    assert close(
        got["normalized_root_mean_squared_log_error"], got["root_mean_squared_log_error"]
    )
    perfect = regression_metrics([5.0, 5.0], [5.0, 5.0])
    assert perfect["normalized_root_mean_squared_error"] == 0.0
    assert perfect["r2_score"] == 1.0
    assert got["r2_score"] == 0.0  # constant targets, imperfect predictions
    assert math.isnan(got["spearman_correlation"])


def test_r2_clipped_at_minus_one():
    got = regression_metrics([1.0, 2.0, 3.0], [10.0, -10.0, 10.0])
    assert skm.r2_score([1.0, 2.0, 3.0], [10.0, -10.0, 10.0]) < -1
    assert got["r2_score"] == -1.0
    assert got["explained_variance"] < -1  # not clipped


def test_mape_is_percent_and_skips_zero_targets():
    assert close(regression_metrics([2.0, 4.0], [1.0, 5.0])["mean_absolute_percentage_error"],
                 37.5)
    assert close(regression_metrics([0.0, 2.0], [5.0, 3.0])["mean_absolute_percentage_error"],
                 50.0)
    weighted = regression_metrics([2.0, 4.0, 0.0], [1.0, 5.0, 9.0], sample_weight=[1, 3, 5])
    assert close(weighted["mean_absolute_percentage_error"], (50 + 3 * 25) / 4)
    assert math.isnan(regression_metrics([0.0, 0.0], [1.0, 2.0])["mean_absolute_percentage_error"])


def test_rmsle_domain_and_log_range():
    assert math.isnan(regression_metrics([-1.0, 2.0], [0.0, 2.0])["root_mean_squared_log_error"])
    bad_pred = regression_metrics([0.0, 2.0], [-3.0, 2.0])
    assert math.isnan(bad_pred["root_mean_squared_log_error"])
    assert math.isnan(bad_pred["normalized_root_mean_squared_log_error"])
    assert math.isfinite(bad_pred["mean_absolute_error"])
    inside = regression_metrics([-0.5, 1.0], [-0.4, 1.5])
    assert math.isfinite(inside["root_mean_squared_log_error"])
    # log1p range of [0, e - 1] is exactly 1, so the normalised value equals the plain one.
    got = regression_metrics([0.0, math.e - 1], [0.5, 1.0])
    assert close(
        got["normalized_root_mean_squared_log_error"], got["root_mean_squared_log_error"]
    )
    # A training range reaching -1 leaves the normalised log error undefined.
    assert math.isnan(
        regression_metrics([0.0, 1.0], [0.0, 1.0], y_min=-2.0)[
            "normalized_root_mean_squared_log_error"
        ]
    )


def test_spearman_ignores_weights():
    y = [1.0, 2.0, 3.0, 4.0]
    p = [1.0, 3.0, 2.0, 4.0]
    plain = regression_metrics(y, p)["spearman_correlation"]
    weighted = regression_metrics(y, p, sample_weight=[1, 5, 1, 1])["spearman_correlation"]
    assert close(plain, 0.8)
    assert plain == weighted
    assert math.isnan(regression_metrics(y, [2.0] * 4)["spearman_correlation"])


def test_single_row_regression():
    got = regression_metrics([3.0], [3.0])
    assert got["r2_score"] == 1.0
    assert got["mean_absolute_error"] == 0.0
    assert math.isnan(got["spearman_correlation"])
    assert regression_metrics([3.0], [4.0])["r2_score"] == 0.0


def test_regression_input_errors():
    with pytest.raises(DataError, match="NaN"):
        regression_metrics([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(DataError, match="rows"):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(DataError, match="empty"):
        regression_metrics([], [])
    with pytest.raises(DataError, match="numeric"):
        regression_metrics(["a", "b"], [1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# charts


def _curve_ok(curve, x: str, y: str) -> None:
    assert len(curve[x]) == len(curve[y]) <= 200
    assert curve[x][0] == 0.0 and curve[y][0] == 0.0
    assert curve[x][-1] == pytest.approx(1.0) and curve[y][-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in zip(curve[x], curve[x][1:], strict=False))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(4, 400),
    n_classes=st.integers(2, 4),
    weighted=st.booleans(),
)
def test_classification_chart_invariants(seed, n, n_classes, weighted):
    y, proba, classes, w = _classification_case(seed, n, n_classes, "str", weighted)
    charts = classification_charts(y, proba, classes, sample_weight=w)
    json.dumps(charts, allow_nan=False)
    total = float(n if w is None else w.sum())
    labels = [str(c) for c in classes]
    assert charts["class_labels"] == labels

    cm = charts["confusion_matrix"]
    assert cm["class_labels"] == labels
    assert len(cm["matrix"]) == n_classes and all(len(r) == n_classes for r in cm["matrix"])
    assert sum(map(sum, cm["matrix"])) == pytest.approx(total)
    for row in cm["normalized_matrix"]:
        assert sum(row) == pytest.approx(1.0)
    for i, c in enumerate(classes):
        row_weight = float(np.sum(y == c) if w is None else w[y == c].sum())
        assert sum(cm["matrix"][i]) == pytest.approx(row_weight)

    roc = charts["roc_curve"]
    for curve in [*roc["per_class"].values(), roc["micro"], roc["macro"]]:
        _curve_ok(curve, "fpr", "tpr")
        assert 0.0 <= curve["auc"] <= 1.0
    # The per-class areas agree with the scalar metric.
    scalar = classification_metrics(y, proba, classes, sample_weight=w)
    areas = [roc["per_class"][label]["auc"] for label in labels]
    assert np.mean(areas) == pytest.approx(scalar["AUC_macro"])

    pr = charts["precision_recall_curve"]
    for curve in [*pr["per_class"].values(), pr["micro"], pr["macro"]]:
        assert len(curve["recall"]) == len(curve["precision"]) <= 200
        assert curve["recall"][0] == 0.0 and curve["recall"][-1] == pytest.approx(1.0)
        assert all(b >= a for a, b in zip(curve["recall"], curve["recall"][1:], strict=False))
        assert all(0.0 <= v <= 1.0 for v in curve["precision"])
    ap = [pr["per_class"][label]["average_precision"] for label in labels]
    assert np.mean(ap) == pytest.approx(scalar["average_precision_score_macro"])

    cal = charts["calibration_curve"]
    assert len(cal["bin_edges"]) == 11
    for curve in [*cal["per_class"].values(), cal["micro"]]:
        assert len(curve["counts"]) == 10
        for key in ("mean_predicted", "observed_rate"):
            assert len(curve[key]) == 10
            assert all((v is None) == (c == 0) for v, c in zip(curve[key], curve["counts"],
                                                                strict=True))
    for curve in cal["per_class"].values():
        assert sum(curve["counts"]) == pytest.approx(total)
    assert sum(cal["micro"]["counts"]) == pytest.approx(total * n_classes)

    gains, lift = charts["cumulative_gains"], charts["lift"]
    assert len(gains["x"]) == 100 and gains["x"][0] == 0.01 and gains["x"][-1] == 1.0
    for key in labels:
        g, li = gains["per_class"][key], lift["per_class"][key]
        assert g[-1] == pytest.approx(1.0)
        assert all(b >= a - 1e-12 for a, b in zip(g, g[1:], strict=False))
        assert li[-1] == pytest.approx(1.0)
        for x, gv, lv in zip(gains["x"], g, li, strict=True):
            assert lv == pytest.approx(gv / x)
    assert gains["micro"][-1] == pytest.approx(1.0)
    assert gains["macro"][-1] == pytest.approx(1.0)


def test_curves_are_downsampled():
    rng = np.random.default_rng(3)
    n = 3000
    y = rng.integers(0, 2, n)
    proba = rng.dirichlet(np.ones(2), n)
    charts = classification_charts(y, proba, [0, 1])
    for curve in charts["roc_curve"]["per_class"].values():
        assert len(curve["fpr"]) <= 200
        _curve_ok(curve, "fpr", "tpr")
    assert len(charts["roc_curve"]["micro"]["fpr"]) <= 200
    assert len(charts["precision_recall_curve"]["micro"]["recall"]) <= 200


def test_charts_with_absent_class_and_perfect_model():
    y = np.array(["a", "b", "a", "b"])
    proba = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0], [0, 1.0, 0]])
    charts = classification_charts(y, proba, ["a", "b", "c"])
    json.dumps(charts, allow_nan=False)
    assert charts["roc_curve"]["per_class"]["c"] is None
    assert charts["precision_recall_curve"]["per_class"]["c"] is None
    assert charts["cumulative_gains"]["per_class"]["c"] is None
    assert charts["lift"]["per_class"]["c"] is None
    assert charts["roc_curve"]["per_class"]["a"]["auc"] == 1.0
    assert charts["roc_curve"]["macro"]["auc"] == 1.0
    assert charts["confusion_matrix"]["matrix"] == [[2.0, 0, 0], [0, 2.0, 0], [0, 0, 0]]
    assert charts["confusion_matrix"]["normalized_matrix"][2] == [0.0, 0.0, 0.0]
    # A perfect model finds half the rows' worth of "a" in the top half.
    gains = charts["cumulative_gains"]["per_class"]["a"]
    assert gains[49] == pytest.approx(1.0)
    assert charts["lift"]["per_class"]["a"][49] == pytest.approx(2.0)
    assert charts["calibration_curve"]["per_class"]["c"]["observed_rate"][0] == 0.0


def test_gains_handle_ties_by_pro_rata():
    y = np.array([1, 0, 1, 0])
    proba = np.full((4, 2), 0.5)  # a model that cannot rank
    gains = classification_charts(y, proba, [0, 1])["cumulative_gains"]["per_class"]["1"]
    assert gains[49] == pytest.approx(0.5)
    assert gains[24] == pytest.approx(0.25)


def test_regression_chart_invariants():
    rng = np.random.default_rng(4)
    y = rng.normal(10.0, 3.0, 250)
    p = y + rng.normal(0.0, 1.0, 250)
    p[0] = y[0] + 100.0  # an outlier lands in the last bin
    charts = regression_charts(y, p)
    json.dumps(charts, allow_nan=False)

    res = charts["residuals"]
    assert sum(res["counts"]) == 250 == res["n"]
    assert len(res["bin_edges"]) == len(res["counts"]) + 1 == 11
    assert res["bin_edges"][-1] == pytest.approx(float(np.max(p - y)))
    assert res["counts"][-1] >= 1
    assert res["mean"] == pytest.approx(float(np.mean(p - y)))  # predicted minus true

    pt = charts["predicted_true"]
    assert sum(pt["counts"]) == 250
    assert len(pt["counts"]) <= 10
    assert len(pt["bin_edges"]) == len(pt["counts"]) + 1
    assert pt["bin_edges"][0] == pytest.approx(y.min())
    assert pt["bin_edges"][-1] == pytest.approx(y.max())
    for count, mean, std in zip(pt["counts"], pt["mean_predicted"], pt["std_predicted"],
                                strict=True):
        assert (mean is None) == (count == 0)
        assert std is None or std >= 0


def test_residual_sign_and_constant_targets():
    charts = regression_charts([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    json.dumps(charts, allow_nan=False)
    assert charts["residuals"]["mean"] == 1.0  # over-prediction is positive
    assert sum(charts["residuals"]["counts"]) == 3
    pt = charts["predicted_true"]
    assert pt["counts"] == [3]
    assert pt["mean_predicted"] == [2.0]
    few = regression_charts([1.0, 2.0, 1.0], [1.0, 2.0, 1.5])["predicted_true"]
    assert len(few["counts"]) == 2  # only two distinct true values


def test_scalar_results_are_json_ready():
    y, proba, classes, w = _classification_case(5, 40, 3, "int", True)
    json.dumps(classification_metrics(y, proba, classes, sample_weight=w))
    json.dumps(regression_metrics([1.0, 2.0, 3.0], [1.1, 1.9, 3.2]))
