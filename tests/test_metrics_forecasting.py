"""Tests for the forecasting metrics: macro and micro averaging over series, MAPE's zero rule,
MASE (checked against the bench harness), pinball loss, the fast PrimaryScorer path with groups,
the per-horizon errors and the forecast-horizon chart data."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.metrics import (
    MACRO_AVERAGED,
    METRICS,
    PrimaryScorer,
    forecast_horizon_chart,
    forecast_horizons,
    forecasting_metrics,
    horizon_metrics,
    metric_names,
    pinball_loss,
    regression_metrics,
    series_ranges,
)

# The bench harness lives beside the checkout, as check-house does (see test_house.py).
BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _two_scales(seed: int, weighted: bool):
    """Three series on very different scales, rows shuffled."""
    rng = np.random.default_rng(seed)
    ys, ps, ss = [], [], []
    for label, level, spread, n in (("small", 5.0, 1.0, 15), ("large", 5000.0, 800.0, 22),
                                    ("mid", 40.0, 9.0, 9)):
        y = rng.normal(level, spread, n)
        ys.append(y)
        ps.append(y + rng.normal(0.0, spread * 0.3, n))
        ss.append(np.full(n, label, dtype=object))
    y, p, s = np.concatenate(ys), np.concatenate(ps), np.concatenate(ss)
    order = rng.permutation(y.shape[0])
    w = rng.uniform(0.2, 3.0, y.shape[0]) if weighted else None
    return y[order], p[order], s[order], w


# ---------------------------------------------------------------------------------------------
# macro and micro averaging


def test_hand_computed_two_series():
    y = [0.0, 10.0, 100.0, 200.0, 300.0]
    p = [1.0, 10.0, 110.0, 190.0, 300.0]
    s = ["a", "a", "b", "b", "b"]
    got = forecasting_metrics(y, p, s)
    # a: range 10, |errors| 1, 0.  b: range 200, |errors| 10, 10, 0.
    assert close(got["normalized_mean_absolute_error"], (0.5 / 10 + (20 / 3) / 200) / 2)
    assert close(got["normalized_median_absolute_error"], (0.5 / 10 + 10 / 200) / 2)
    assert close(got["normalized_root_mean_squared_error"],
                 (math.sqrt(1 / 2) / 10 + math.sqrt(200 / 3) / 200) / 2)
    rmsle_a = math.sqrt((math.log(2) ** 2) / 2) / math.log(11)
    rmsle_b = math.sqrt((math.log(101 / 111) ** 2 + math.log(201 / 191) ** 2) / 3) / (
        math.log(301) - math.log(101))
    assert close(got["normalized_root_mean_squared_log_error"], (rmsle_a + rmsle_b) / 2)
    # Pooled over all five rows.
    assert close(got["mean_absolute_error"], 21 / 5)
    assert close(got["median_absolute_error"], 1.0)
    assert close(got["root_mean_squared_error"], math.sqrt(201 / 5))
    assert list(got) == metric_names("regression")
    assert all(type(v) is float for v in got.values())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_macro_matches_sklearn_per_series_and_micro_matches_pooled(seed, weighted):
    y, p, s, w = _two_scales(seed, weighted)
    got = forecasting_metrics(y, p, s, sample_weight=w)

    per = {name: [] for name in MACRO_AVERAGED}
    for label in np.unique(s):
        rows = s == label
        ys, ps = y[rows], p[rows]
        ws = None if w is None else w[rows]
        span = ys.max() - ys.min()
        log_span = np.log1p(ys.max()) - np.log1p(ys.min())
        per["normalized_mean_absolute_error"].append(
            skm.mean_absolute_error(ys, ps, sample_weight=ws) / span)
        per["normalized_median_absolute_error"].append(
            skm.median_absolute_error(ys, ps, sample_weight=ws) / span)
        per["normalized_root_mean_squared_error"].append(
            skm.root_mean_squared_error(ys, ps, sample_weight=ws) / span)
        per["normalized_root_mean_squared_log_error"].append(
            skm.root_mean_squared_log_error(ys, ps, sample_weight=ws) / log_span)
    for name, values in per.items():
        assert got[name] == pytest.approx(np.mean(values), rel=1e-9), name

    assert close(got["mean_absolute_error"], skm.mean_absolute_error(y, p, sample_weight=w))
    assert close(got["median_absolute_error"], skm.median_absolute_error(y, p, sample_weight=w))
    assert close(got["root_mean_squared_error"],
                 skm.root_mean_squared_error(y, p, sample_weight=w))
    assert close(got["root_mean_squared_log_error"],
                 skm.root_mean_squared_log_error(y, p, sample_weight=w))
    assert close(got["explained_variance"], skm.explained_variance_score(y, p, sample_weight=w))
    assert close(got["r2_score"], max(-1.0, skm.r2_score(y, p, sample_weight=w)))
    assert close(got["mean_absolute_percentage_error"],
                 100 * skm.mean_absolute_percentage_error(y, p, sample_weight=w))
    assert close(got["spearman_correlation"], float(stats.spearmanr(y, p).statistic))
    for name, value in got.items():
        assert METRICS[name].lower - 1e-12 <= value <= METRICS[name].upper + 1e-12, name


def test_macro_differs_from_micro_and_is_scale_free_per_series():
    # small: range 1, |errors| 0.5, 0.  large: range 1000, |errors| 10, 0.
    y = [0.0, 1.0, 0.0, 1000.0]
    p = [0.5, 1.0, 10.0, 1000.0]
    s = ["small", "small", "large", "large"]
    macro = forecasting_metrics(y, p, s)["normalized_mean_absolute_error"]
    pooled = regression_metrics(y, p)["normalized_mean_absolute_error"]
    assert close(macro, (0.25 / 1 + 5 / 1000) / 2)  # the small series' large relative error
    assert close(pooled, (10.5 / 4) / 1000)  # one range, the large series' errors dominate
    assert macro > 40 * pooled

    y, p, s, _ = _two_scales(5, False)
    got = forecasting_metrics(y, p, s)
    # Rescaling one series leaves its normalised errors, hence the macro average, unchanged ...
    large = s == "large"
    y2, p2 = y.copy(), p.copy()
    y2[large] /= 1000.0
    p2[large] /= 1000.0
    rescaled = forecasting_metrics(y2, p2, s)
    for name in ("normalized_mean_absolute_error", "normalized_median_absolute_error",
                 "normalized_root_mean_squared_error"):
        assert rescaled[name] == pytest.approx(got[name], rel=1e-9), name
    # ... but changes the pooled errors.
    assert rescaled["mean_absolute_error"] < got["mean_absolute_error"] / 10


def test_single_series_equals_regression_metrics():
    rng = np.random.default_rng(3)
    y = rng.normal(20.0, 4.0, 40)
    p = y + rng.normal(0.0, 1.0, 40)
    w = rng.uniform(0.5, 2.0, 40)
    expected = regression_metrics(y, p, sample_weight=w)
    for series in ("only", 7, np.full(40, "only")):
        got = forecasting_metrics(y, p, series, sample_weight=w)
        assert list(got) == list(expected)
        for name in expected:
            assert got[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


def test_multi_column_series_ids_are_one_series_per_row_tuple():
    y, p, s, _ = _two_scales(4, False)
    half = np.arange(y.shape[0]) % 2
    two_cols = np.column_stack([s, half])
    joined = np.array([f"{a}|{b}" for a, b in zip(s, half, strict=True)])
    assert forecasting_metrics(y, p, two_cols) == pytest.approx(forecasting_metrics(y, p, joined))
    assert forecasting_metrics(y, p, two_cols) != pytest.approx(forecasting_metrics(y, p, s))


def test_training_ranges_replace_evaluated_ranges():
    y = np.array([0.0, 10.0, 100.0, 200.0])
    p = np.array([1.0, 10.0, 110.0, 200.0])
    s = np.array(["a", "a", "b", "b"])
    got = forecasting_metrics(y, p, s, ranges={"a": (0.0, 20.0), "b": (0.0, 1000.0)})
    assert close(got["normalized_mean_absolute_error"], (0.5 / 20 + 5 / 1000) / 2)
    # A series the ranges do not name falls back to its own evaluated range (b: 100).
    partial = forecasting_metrics(y, p, s, ranges={"a": (0.0, 20.0), "z": (0.0, 1.0)})
    assert close(partial["normalized_mean_absolute_error"], (0.5 / 20 + 5 / 100) / 2)
    # series_ranges gives the ranges of a (training) window.
    train = series_ranges([3.0, 25.0, 50.0, 1050.0], ["a", "a", "b", "b"])
    assert train == {"a": (3.0, 25.0), "b": (50.0, 1050.0)}
    from_train = forecasting_metrics(y, p, s, ranges=train)
    assert close(from_train["normalized_mean_absolute_error"], (0.5 / 22 + 5 / 1000) / 2)
    # Pooled metrics do not depend on ranges.
    assert got["mean_absolute_error"] == partial["mean_absolute_error"]
    with pytest.raises(DataError, match=r"ranges\['a'\]"):
        forecasting_metrics(y, p, s, ranges={"a": (5.0, 1.0)})
    with pytest.raises(DataError, match=r"ranges\['b'\]"):
        forecasting_metrics(y, p, s, ranges={"b": "wide"})


def test_constant_series_is_left_out_of_the_macro_mean():
    y = np.array([5.0, 5.0, 5.0, 0.0, 10.0])
    p = np.array([6.0, 5.0, 9.0, 1.0, 10.0])
    s = np.array(["flat", "flat", "flat", "a", "a"])
    got = forecasting_metrics(y, p, s)
    for name, value in got.items():
        if name != "spearman_correlation":
            assert math.isfinite(value), name
    alone = regression_metrics([0.0, 10.0], [1.0, 10.0])
    for name in MACRO_AVERAGED:
        assert close(got[name], alone[name]), name
    # Every series constant: the mean of the un-normalised errors (the zero-range rule).
    flat = forecasting_metrics([5.0, 5.0, 2.0], [6.0, 5.0, 4.0], ["x", "x", "y"])
    assert close(flat["normalized_mean_absolute_error"], (0.5 + 2.0) / 2)
    assert close(flat["normalized_root_mean_squared_error"], (math.sqrt(0.5) + 2.0) / 2)


def test_series_with_zero_weight_is_left_out():
    y = np.array([0.0, 10.0, 0.0, 1.0])
    p = np.array([1.0, 10.0, 50.0, 60.0])
    s = np.array(["a", "a", "b", "b"])
    got = forecasting_metrics(y, p, s, sample_weight=[1.0, 1.0, 0.0, 0.0])
    alone = regression_metrics(y[:2], p[:2], sample_weight=[1.0, 1.0])
    assert close(got["normalized_mean_absolute_error"], 0.05)
    for name in MACRO_AVERAGED:
        assert close(got[name], alone[name]), name


def test_rmsle_undefined_below_minus_one():
    got = forecasting_metrics([-2.0, 1.0, 3.0, 4.0], [0.0, 1.0, 3.0, 5.0], ["a", "a", "b", "b"])
    assert math.isnan(got["normalized_root_mean_squared_log_error"])
    assert math.isnan(got["root_mean_squared_log_error"])
    assert math.isfinite(got["normalized_root_mean_squared_error"])


# ---------------------------------------------------------------------------------------------
# MAPE


def test_mape_is_pooled_percent_and_skips_zero_targets():
    y = [2.0, 0.0, 4.0, 0.0, 10.0]
    p = [1.0, 3.0, 5.0, 0.5, 12.0]
    s = ["a", "a", "b", "b", "b"]
    got = forecasting_metrics(y, p, s)
    # Rows with y == 0 have no percentage error; the other three are pooled.
    assert close(got["mean_absolute_percentage_error"], 100 * (0.5 + 0.25 + 0.2) / 3)
    weighted = forecasting_metrics(y, p, s, sample_weight=[1, 9, 2, 9, 1])
    assert close(weighted["mean_absolute_percentage_error"],
                 100 * (0.5 * 1 + 0.25 * 2 + 0.2 * 1) / 4)
    zeros = forecasting_metrics([0.0, 0.0], [1.0, 2.0], ["a", "b"])
    assert math.isnan(zeros["mean_absolute_percentage_error"])
    assert math.isfinite(zeros["mean_absolute_error"])


# ---------------------------------------------------------------------------------------------
# MASE, against the bench harness


def test_mase_hand_computed():
    history = {"a": [1.0, 3.0, 2.0, 6.0], "b": [10.0, 10.0, 30.0]}
    y = [5.0, 7.0, 20.0]
    p = [6.0, 4.0, 25.0]
    got = forecasting_metrics(y, p, ["a", "a", "b"], history=history)
    # Naive (lag 1) in-sample MAE: a = (2 + 1 + 4) / 3, b = (0 + 20) / 2.
    expected = ((1 + 3) / 2 / (7 / 3) + 5 / 10) / 2
    assert close(got["mean_absolute_scaled_error"], expected)
    seasonal = forecasting_metrics(y, p, ["a", "a", "b"], history=history, season_length=2)
    # Lag 2 for a (4 points > 2): (1 + 3) / 2; b has 3 points > 2: |30 - 10| / 1.
    assert close(seasonal["mean_absolute_scaled_error"], (2 / 2 + 5 / 20) / 2)
    assert "mean_absolute_scaled_error" not in forecasting_metrics(y, p, ["a", "a", "b"])


def _bench_scoring():
    if not (BENCH / "scoring.py").exists():
        pytest.skip("the bench harness (../shared/bench/scoring.py) is not beside this checkout")
    sys.path.insert(0, str(BENCH))
    try:
        import scoring
    finally:
        sys.path.remove(str(BENCH))
    return scoring


@pytest.mark.parametrize("season", [1, 7])
def test_mase_equals_the_bench_harness(season):
    scoring = _bench_scoring()
    rng = np.random.default_rng(season)
    train_parts, test_parts = [], []
    lengths = {"s1": 60, "s2": 35, "s3": 5, "short": 1, "flat": 30}
    for sid, n_train in lengths.items():
        level = {"s1": 10.0, "s2": 500.0, "s3": 3.0, "short": 8.0, "flat": 4.0}[sid]
        times = pd.date_range("2021-01-01", periods=n_train + 12, freq="D")
        t = np.arange(n_train + 12)
        values = level + level * 0.2 * np.sin(2 * np.pi * t / 7) + rng.normal(0, level * 0.05,
                                                                               t.shape[0])
        if sid == "flat":
            values[:] = level
        frame = pd.DataFrame({"store": sid, "date": times.strftime("%Y-%m-%d"), "sales": values})
        train_parts.append(frame.iloc[:n_train])
        test_parts.append(frame.iloc[n_train:])
    # A series that is only in the test window has no history and is left out by both.
    test_parts.append(pd.DataFrame({"store": "new", "date": ["2021-03-01", "2021-03-02"],
                                    "sales": [3.0, 4.0]}))
    # Shuffle the training rows: the harness sorts by time, history must be in time order.
    train = pd.concat(train_parts, ignore_index=True).sample(frac=1.0, random_state=0)
    test = pd.concat(test_parts, ignore_index=True)
    pred = test["sales"].to_numpy() + rng.normal(0, 1.0, len(test))
    meta = {"target": "sales", "time_column": "date", "series_id_columns": ["store"],
            "seasonality": season, "task": "forecasting", "metric": "mase"}
    harness = scoring.score_forecast(meta, test, pd.DataFrame({"predicted": pred}), train)

    ordered = train.sort_values(["store", "date"])
    history = {sid: g["sales"].to_numpy() for sid, g in ordered.groupby("store")}
    got = forecasting_metrics(test["sales"], pred, test["store"], history=history,
                              season_length=season)
    assert harness["series_scored"] == 3  # s1, s2, s3 (short, flat and new are left out)
    assert got["mean_absolute_scaled_error"] == pytest.approx(harness["mase"], rel=1e-12)
    assert got["mean_absolute_error"] == pytest.approx(harness["mae"], rel=1e-12)
    assert got["root_mean_squared_error"] == pytest.approx(harness["rmse"], rel=1e-12)


def test_mase_without_usable_history_is_nan_and_bad_season_raises():
    got = forecasting_metrics([1.0, 2.0], [1.5, 2.5], ["a", "a"], history={"a": [4.0, 4.0]})
    assert math.isnan(got["mean_absolute_scaled_error"])
    for bad in (0, 1.5, True, "7"):
        with pytest.raises(InvalidSpecError, match="season_length"):
            forecasting_metrics([1.0], [1.0], "a", history={"a": [1.0, 2.0]}, season_length=bad)
    with pytest.raises(DataError, match=r"history\['a'\]"):
        forecasting_metrics([1.0], [1.0], "a", history={"a": ["x", "y"]})


# ---------------------------------------------------------------------------------------------
# pinball loss


def test_pinball_loss_matches_its_definition():
    rng = np.random.default_rng(11)
    y = rng.normal(0.0, 1.0, 50)
    w = rng.uniform(0.1, 2.0, 50)
    quantiles = {0.9: y + 1.0, 0.1: y - 0.5 + rng.normal(0, 0.3, 50), 0.5: y + rng.normal(0, 1, 50)}
    for weights in (None, w):
        got = pinball_loss(y, quantiles, sample_weight=weights)
        assert list(got["per_quantile"]) == [0.1, 0.5, 0.9]
        expected = {}
        for q, pred in quantiles.items():
            d = y - pred
            loss = np.maximum(q * d, (q - 1) * d)
            expected[q] = np.average(loss, weights=weights)
            assert close(got["per_quantile"][q], expected[q])
        assert close(got["mean"], np.mean(list(expected.values())))
    # Every 0.9-quantile forecast sits 1 above the truth: loss (1 - 0.9) * 1 per row.
    assert close(pinball_loss(y, {0.9: y + 1.0})["per_quantile"][0.9], 0.1)
    assert pinball_loss(y, {0.5: y})["mean"] == 0.0
    json.dumps(pinball_loss(y, quantiles), allow_nan=False)


def test_pinball_loss_input_errors():
    with pytest.raises(InvalidSpecError, match="quantile level"):
        pinball_loss([1.0], {1.0: [1.0]})
    with pytest.raises(InvalidSpecError, match="quantile level"):
        pinball_loss([1.0], {"median": [1.0]})
    with pytest.raises(InvalidSpecError, match="quantile_predictions"):
        pinball_loss([1.0], {})
    with pytest.raises(DataError, match="rows"):
        pinball_loss([1.0, 2.0], {0.5: [1.0]})


# ---------------------------------------------------------------------------------------------
# PrimaryScorer with groups


@pytest.mark.parametrize("weighted", [False, True])
def test_primary_scorer_groups_equal_forecasting_metrics(weighted):
    y, p, s, w = _two_scales(8, weighted)
    ranges = {"small": (0.0, 12.0), "large": (1000.0, 9000.0)}
    for rng_arg in (None, ranges):
        full = forecasting_metrics(y, p, s, ranges=rng_arg, sample_weight=w)
        for metric in ("normalized_root_mean_squared_error", "normalized_mean_absolute_error",
                       "r2_score", "spearman_correlation"):
            scorer = PrimaryScorer(metric, y, sample_weight=w, groups=s, ranges=rng_arg)
            assert scorer(p) == full[metric], metric
    pooled = regression_metrics(y, p, sample_weight=w)
    plain = PrimaryScorer("normalized_root_mean_squared_error", y, sample_weight=w)(p)
    assert plain == pytest.approx(pooled["normalized_root_mean_squared_error"], rel=1e-12)
    grouped = PrimaryScorer("normalized_root_mean_squared_error", y, sample_weight=w, groups=s)
    assert grouped(p) != pytest.approx(plain)
    assert grouped.loss(p) == grouped(p)  # lower is better already


def test_primary_scorer_groups_rank_by_the_macro_metric():
    # Model A is good on the small series, B on the large one; pooled errors prefer B.
    y = np.array([1.0, 2.0, 3.0, 1000.0, 2000.0, 3000.0])
    s = np.array(["small"] * 3 + ["large"] * 3)
    a = y + np.array([0.1, -0.1, 0.1, 300.0, -300.0, 300.0])
    b = y + np.array([1.0, -1.0, 1.0, 200.0, -200.0, 200.0])
    pooled = PrimaryScorer("normalized_mean_absolute_error", y)
    grouped = PrimaryScorer("normalized_mean_absolute_error", y, groups=s)
    assert pooled.loss(b) < pooled.loss(a)
    assert grouped.loss(a) < grouped.loss(b)


def test_primary_scorer_groups_errors():
    with pytest.raises(InvalidSpecError, match="groups"):
        PrimaryScorer("accuracy", [0, 1], classes=[0, 1], groups=["a", "b"])
    with pytest.raises(InvalidSpecError, match="ranges"):
        PrimaryScorer("r2_score", [0.0, 1.0], groups=["a", "b"], y_min=0.0)
    with pytest.raises(InvalidSpecError, match="groups"):
        PrimaryScorer("r2_score", [0.0, 1.0], ranges={"a": (0.0, 1.0)})
    with pytest.raises(DataError, match="groups has 1 values"):
        PrimaryScorer("r2_score", [0.0, 1.0], groups=["a"])


# ---------------------------------------------------------------------------------------------
# horizons


def test_forecast_horizons_number_steps_per_series_and_fold():
    series = ["b", "a", "a", "b", "a", "a"]
    times = ["2024-01-03", "2024-01-02", "2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06"]
    fold = [0, 0, 0, 0, 1, 1]
    assert forecast_horizons(series, times, fold).tolist() == [2, 2, 1, 1, 1, 2]
    assert forecast_horizons(series, times).tolist() == [2, 2, 1, 1, 3, 4]
    with pytest.raises(DataError, match="more than once"):
        forecast_horizons(["a", "a"], ["2024-01-01", "2024-01-01"])
    with pytest.raises(DataError, match="ISO 8601"):
        forecast_horizons(["a"], ["yesterday"])
    with pytest.raises(DataError, match="fold"):
        forecast_horizons(["a"], ["2024-01-01"], fold=["first"])


def test_horizon_metrics_per_step():
    rng = np.random.default_rng(2)
    h = np.tile([1, 2, 3], 10)
    y = rng.uniform(1.0, 5.0, 30)
    y[0] = 0.0  # no percentage error for that row
    p = y + rng.normal(0.0, 1.0, 30) * h
    got = horizon_metrics(y, p, h)
    assert got["horizon"] == [1, 2, 3]
    assert got["count"] == [10, 10, 10]
    for k, step in enumerate(got["horizon"]):
        rows = h == step
        assert close(got["mean_absolute_error"][k], skm.mean_absolute_error(y[rows], p[rows]))
        assert close(got["root_mean_squared_error"][k],
                     skm.root_mean_squared_error(y[rows], p[rows]))
        keep = rows & (y != 0)
        assert close(got["mean_absolute_percentage_error"][k],
                     100 * skm.mean_absolute_percentage_error(y[keep], p[keep]))
    assert got["mean_absolute_error"][2] > got["mean_absolute_error"][0]
    json.dumps(got, allow_nan=False)

    undefined = horizon_metrics([0.0, 2.0, 3.0], [1.0, 2.0, 4.0], [1, 2, 2],
                                sample_weight=[1.0, 0.0, 0.0])
    assert undefined["mean_absolute_percentage_error"] == [None, None]
    assert undefined["mean_absolute_error"] == [1.0, None]
    for bad in ([0, 1, 2], [1.5, 1, 2]):
        with pytest.raises(DataError, match="horizon"):
            horizon_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], bad)


# ---------------------------------------------------------------------------------------------
# forecast-horizon chart


def _chart_input(n_folds=7, n_series=25, n_after=100, n_before=30):
    rows, hist = [], []
    for k in range(n_series):
        label = f"store_{k:02d}"
        days = pd.date_range("2023-01-01", periods=n_before + n_folds * 10 + n_after, freq="D")
        iso = days.strftime("%Y-%m-%dT%H:%M:%S")
        for i in range(n_before + n_folds * 10 + n_after - 1):
            hist.append((label, iso[i], float(k * 100 + i)))
        for f in range(n_folds):
            start = n_before + f * 10  # rolling origin: each fold starts 10 days later
            for i in range(start, start + n_after):
                rows.append((f, label, iso[i], float(k * 100 + i), float(k * 100 + i) + 0.5))
    rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    fold, series, times, y, p = (list(c) for c in zip(*rows, strict=True))
    hs, ht, hv = (list(c) for c in zip(*hist, strict=True))
    return fold, series, times, y, p, hs, ht, hv


def test_forecast_horizon_chart_shapes_and_limits():
    fold, series, times, y, p, hs, ht, hv = _chart_input()
    hv[12] = float("nan")  # a missing actual in store_00's history (day 12)
    chart = forecast_horizon_chart(series, times, y, p, fold=fold, history_series=hs,
                                   history_times=ht, history_values=hv)
    json.dumps(chart, allow_nan=False)
    assert chart["limits"] == {"folds": 5, "series": 20, "points_before": 20,
                               "points_after": 80}
    assert chart["n_folds"] == 7
    assert chart["n_series"] == 25
    assert chart["series_labels"] == [f"store_{k:02d}" for k in range(20)]
    assert [f["fold"] for f in chart["folds"]] == [0, 1, 2, 3, 4]
    for f in chart["folds"]:
        assert [e["series"] for e in f["series"]] == chart["series_labels"]
        for entry in f["series"]:
            fc, hist = entry["forecast"], entry["history"]
            assert len(fc["time"]) == len(fc["y_true"]) == len(fc["y_pred"]) == 80
            assert fc["horizon"] == list(range(1, 81))
            assert fc["time"] == sorted(fc["time"])
            assert len(hist["time"]) == len(hist["y_true"]) == 20
            assert max(hist["time"]) < fc["time"][0]
            # The history ends on the day just before the origin.
            gap = pd.Timestamp(fc["time"][0]) - pd.Timestamp(hist["time"][-1])
            assert gap == pd.Timedelta(days=1)
            assert all(b - a == 0.5 for a, b in zip(fc["y_true"], fc["y_pred"], strict=True))
    first = chart["folds"][0]["series"][0]
    # Fold 0 forecasts from day 30, so its history is days 10..29 and day 12 is missing.
    assert first["history"]["y_true"][2] is None
    assert first["history"]["y_true"][:2] == [10.0, 11.0]
    # The times come back as they were given.
    assert first["forecast"]["time"][0] == "2023-01-31T00:00:00"


def test_forecast_horizon_chart_without_history_or_folds():
    chart = forecast_horizon_chart(
        ["a", "a", "b"], ["2024-01-02", "2024-01-01", "2024-01-01"], [1.0, 2.0, 3.0],
        [1.5, 2.5, float(3)])
    assert chart["n_folds"] == 1
    (fold,) = chart["folds"]
    assert fold["fold"] == 0
    a, b = fold["series"]
    assert a["forecast"]["time"] == ["2024-01-01", "2024-01-02"]
    assert a["forecast"]["y_true"] == [2.0, 1.0]
    assert a["history"] == {"time": [], "y_true": []}
    assert b["forecast"]["horizon"] == [1]
    with pytest.raises(DataError, match="all three"):
        forecast_horizon_chart(["a"], ["2024-01-01"], [1.0], [1.0], history_series=["a"])


# ---------------------------------------------------------------------------------------------
# input errors


def test_forecasting_input_errors():
    with pytest.raises(DataError, match="series has 1 values"):
        forecasting_metrics([1.0, 2.0], [1.0, 2.0], ["a"])
    with pytest.raises(DataError, match="missing"):
        forecasting_metrics([1.0, 2.0], [1.0, 2.0], ["a", None])
    with pytest.raises(DataError, match="y_pred"):
        forecasting_metrics([1.0, 2.0], [1.0, float("nan")], ["a", "b"])
    with pytest.raises(DataError, match="one series code per row"):
        forecasting_metrics([1.0, 2.0], [1.0, 2.0], np.zeros((2, 2, 2)))
