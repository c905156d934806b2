"""Forecasting: the series checks, the rolling-origin plan, the features (no look-ahead), the
forecasters and the forecasting task's scoring. Jobs end to end are in test_forecast_jobs.py."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from cirrusml import Input, automl
from cirrusml.engine._data import prepare_data
from cirrusml.exceptions import DataError, InvalidSpecError
from cirrusml.forecast import (
    STATISTICAL_MODELS,
    RegressionForecaster,
    StatisticalForecaster,
    auto_lags,
    pacf,
    rolling_forecast,
)
from cirrusml.forecast._features import (
    FeatureSpec,
    calendar_columns,
    make_features,
    seasonal_profiles,
)
from cirrusml.models import get_learner, learners_for
from cirrusml.tasks import (
    ForecastingTask,
    SeriesLayout,
    handle_short_series,
    prepare_series,
    rolling_origin_folds,
    series_codes,
    task_for,
)


def panel(n: int = 120, stores: tuple[str, ...] = ("a", "b"), seed: int = 0,
          freq: str = "D") -> pd.DataFrame:
    """Series with a weekly season, a trend and a known covariate (``promo``)."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2021-01-04", periods=n, freq=freq)
    frames = []
    for k, store in enumerate(stores):
        t = np.arange(n)
        promo = (rng.random(n) < 0.2).astype(float)
        y = 50 + 20 * k + 0.2 * t + 8 * np.sin(2 * np.pi * t / 7) + 6 * promo + \
            rng.normal(0, 1, n)
        frames.append(pd.DataFrame({"store": store, "day": times, "promo": promo, "sales": y}))
    return pd.concat(frames, ignore_index=True)


def layout(**kw: object) -> SeriesLayout:
    base = {"target": "sales", "time_column": "day", "id_columns": ("store",), "horizon": 7,
            "freq": "", "season_length": 0}
    base.update(kw)
    return SeriesLayout(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ checks


def test_frequency_and_season_are_inferred_and_the_grid_is_filled() -> None:
    frame = panel()
    holes = frame.drop(index=[5, 6, 40]).reset_index(drop=True)
    holes.loc[10, "promo"] = np.nan
    prepared = prepare_series(holes, layout(), where="training_data")
    assert prepared.layout.freq == "D"
    assert prepared.layout.season_length == 7
    out = prepared.frame
    assert len(out) == len(frame)  # the three missing days are back
    a = out[out.store == "a"].reset_index(drop=True)
    # A missing target takes the previous day's value; a missing covariate the median.
    assert a.loc[5, "sales"] == a.loc[4, "sales"] == a.loc[6, "sales"]
    assert not out["promo"].isna().any()
    names = {c.name: c.status for c in prepared.checks}
    assert names["Missing time steps imputation"] == "Done"
    assert names["Frequency detection"] == "Passed"


def test_coarser_frequency_aggregates_only_with_a_function() -> None:
    daily = panel(n=70)
    weekly = prepare_series(daily, layout(freq="W-MON"), where="training_data",
                            aggregate="sum")
    assert weekly.layout.freq == "W-MON"
    assert len(weekly.frame) == 2 * 10
    first = daily[(daily.store == "a")].sales.iloc[:7].sum()
    assert weekly.frame[weekly.frame.store == "a"].sales.iloc[0] == pytest.approx(first)
    assert any(c.name == "Time series aggregation" and c.status == "Fixed"
               for c in weekly.checks)
    with pytest.raises(DataError, match="target_aggregate_function"):
        prepare_series(daily, layout(freq="W-MON"), where="training_data")


def test_finer_frequency_than_the_data_is_refused() -> None:
    with pytest.raises(DataError, match="finer than the data's own frequency"):
        prepare_series(panel(), layout(freq="h"), where="training_data")


def test_bad_time_values_and_missing_columns_are_named() -> None:
    frame = panel().astype({"day": object})
    frame.loc[3, "day"] = "not a day"
    with pytest.raises(DataError, match=r"time column 'day'.*'not a day'.*row 3"):
        prepare_series(frame, layout(), where="training_data")
    with pytest.raises(DataError, match="forecasting.time_column_name: column 'when'"):
        prepare_series(panel(), layout(time_column="when"), where="training_data")
    with pytest.raises(DataError, match="features_unknown_at_forecast_time: column 'temp'"):
        prepare_series(panel(), layout(unknown_features=("temp",)), where="training_data")


def test_series_ids_are_detected_when_timestamps_repeat() -> None:
    prepared = prepare_series(panel(), layout(id_columns=()), where="training_data")
    assert prepared.layout.id_columns == ("store",)
    assert any(c.name == "Time Series ID detection" and c.status == "Fixed"
               for c in prepared.checks)


def test_duplicate_timestamps_within_a_series_are_refused() -> None:
    frame = panel()
    doubled = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataError, match=r"series store='a'.*duplicate timestamp"):
        prepare_series(doubled, layout(), where="training_data")


@pytest.mark.parametrize(("how", "kept"), [("drop", {"a"}), ("pad", {"a", "b"}),
                                           ("auto", {"a"})])
def test_short_series_handling(how: str, kept: set[str]) -> None:
    frame = pd.concat([panel(n=100, stores=("a",)), panel(n=12, stores=("b",))],
                      ignore_index=True)
    prepared = prepare_series(frame, layout(), where="training_data")
    out, check = handle_short_series(prepared.frame, prepared.layout, 30, how, seed=0)
    assert set(out.store) == kept
    assert check.status == "Fixed"
    if how == "pad":
        assert (out.store == "b").sum() == 30
        padded = out[out.store == "b"].reset_index(drop=True)
        assert (padded.loc[:17, "promo"] == 0).all()  # Azure pads numeric columns with 0
        assert padded.day.diff().dropna().eq(pd.Timedelta(days=1)).all()


def test_short_series_none_is_an_error_naming_the_series() -> None:
    frame = pd.concat([panel(n=100, stores=("a",)), panel(n=12, stores=("b",))],
                      ignore_index=True)
    prepared = prepare_series(frame, layout(), where="training_data")
    with pytest.raises(DataError, match="store='b'"):
        handle_short_series(prepared.frame, prepared.layout, 30, "none", seed=0)


def test_rolling_origin_folds_keep_time_order() -> None:
    frame = prepare_series(panel(n=60), layout(), where="training_data").frame
    codes = series_codes(frame, ("store",))
    folds = rolling_origin_folds(codes, horizon=7, n_folds=3, step=5)
    assert len(folds) == 3
    for k, (train, valid) in enumerate(folds):
        assert len(valid) == 2 * 7
        for store in ("a", "b"):
            t = frame.day.iloc[train][frame.store.iloc[train] == store]
            v = frame.day.iloc[valid][frame.store.iloc[valid] == store]
            assert t.max() < v.min()
            assert (v.max() - v.min()).days == 6
            # Fold k's window ends (2 - k) * 5 days before the series' end.
            assert v.max() == frame.day.max() - pd.Timedelta(days=(2 - k) * 5)


# ------------------------------------------------------------------------------ features


@pytest.mark.parametrize("cycle", [0, 5, 21])
def test_no_feature_looks_ahead_of_its_origin(cycle: int) -> None:
    """Change every value after an origin: no feature of that origin (or an earlier one)
    moves, for every step of the horizon (with a longer cycle shorter than the horizon too,
    whose value one cycle back can fall after the origin)."""
    rng = np.random.default_rng(1)
    n, horizon = 80, 7
    y = rng.normal(10, 3, n)
    starts = np.asarray([0, n])
    spec = FeatureSpec(lookback=10, target_lags=(1, 2, 7, 14), window=7, season=7,
                       calendar=calendar_columns("D"), holidays="US", known=[], unknown=["x"],
                       stl="seasontrend", cycle=cycle)
    # The decomposition is fitted on the history up to the origin, as a fold's model is.
    spec.profiles = seasonal_profiles(y[:51], np.asarray([0, 51]), np.asarray([1.0]), 7)
    times = pd.date_range("2022-01-01", periods=n, freq="D")
    covariates = pd.DataFrame({"x": rng.normal(size=n)})
    cut = 50
    origins = np.repeat(np.arange(20, cut + 1), horizon)
    steps = np.tile(np.arange(1, horizon + 1), len(origins) // horizon)
    codes = np.zeros(len(origins), dtype=np.int64)
    rows = np.minimum(origins + steps, n - 1)

    def features(values: np.ndarray, cov: pd.DataFrame) -> pd.DataFrame:
        frame, _base = make_features(spec, values, starts, np.asarray([1.0]), codes, origins,
                                     steps, pd.DatetimeIndex(times[rows]), cov.iloc[rows],
                                     cov.iloc[origins])
        return frame

    before = features(y, covariates)
    assert {"_automl_stl_season", "_automl_stl_trend", "_automl_holiday"} <= set(before)
    assert ("_automl_cycle_change" in before) == bool(cycle)
    changed = y.copy()
    changed[cut + 1:] = rng.normal(1000, 50, n - cut - 1)
    cov2 = covariates.copy()
    cov2.loc[cut + 1:, "x"] = 99.0
    after = features(changed, cov2)
    pd.testing.assert_frame_equal(before, after)
    # The features do read the past: changing a value at the origin moves them.
    moved = y.copy()
    moved[cut] += 100
    assert not features(moved, covariates).equals(before)


def test_forecasts_from_an_origin_ignore_what_comes_after() -> None:
    frame = prepare_series(panel(n=90), layout(), where="training_data").frame
    lay = prepare_series(panel(n=90), layout(), where="training_data").layout
    cut = frame.day.min() + pd.Timedelta(days=69)
    train = frame[frame.day <= cut]
    future = frame[(frame.day > cut) & (frame.day <= cut + pd.Timedelta(days=7))]
    from sklearn.linear_model import Ridge

    model = RegressionForecaster(regressor=Ridge(), layout=lay).fit(
        train.drop(columns=["sales"]), train.sales)
    first = model.predict(future.drop(columns=["sales"]))
    # The rows after the cut are given their target (context) but the rows to forecast are
    # the same: predictions of rows past the context change, those asked before do not.
    again = model.predict(future.drop(columns=["sales"]))
    np.testing.assert_allclose(first, again)
    assert np.isfinite(first).all()


@pytest.mark.parametrize(("freq", "season", "cycle"), [
    ("D", 7, 365), ("30min", 48, 336), ("h", 24, 168), ("B", 5, 260), ("MS", 12, 0),
    ("QS-OCT", 4, 0), ("W-SUN", 52, 0), ("D", 1, 7)])
def test_the_longer_cycle_of_a_frequency(freq: str, season: int, cycle: int) -> None:
    assert layout(freq=freq, season_length=season).longer_cycle() == cycle


def _daily(years: float, seed: int = 0) -> pd.DataFrame:
    """A daily series with a yearly swing, a weekly one and noise."""
    rng = np.random.default_rng(seed)
    n = int(365 * years)
    t = np.arange(n)
    y = 20 + 8 * np.sin(2 * np.pi * t / 365.25) + np.sin(2 * np.pi * t / 7) + \
        rng.normal(0, 1, n)
    return pd.DataFrame({"day": pd.date_range("2015-01-01", periods=n, freq="D"), "sales": y})


@pytest.mark.parametrize(("years", "step", "expected"), [
    (6, "auto", 73), (1.2, "auto", 30), (6, 30, 30)])
def test_auto_folds_spread_over_the_longer_cycle(tmp_path, years: float, step: object,
                                                   expected: int) -> None:
    """Five 30-day folds of six years of daily data sit 73 days apart (over one year); with
    too little history, or an explicit cv_step_size, they sit as asked."""
    path = tmp_path / "train.csv"
    _daily(years).to_csv(path, index=False)
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(path)),
                             target_column_name="sales")
    job.set_forecast_settings(time_column_name="day", forecast_horizon=30, cv_step_size=step)
    task = task_for("forecasting").configure(job)
    plan = prepare_data(job, task, seed=0).plan
    ends = [int(valid.max()) for _train, valid in plan.folds]
    assert np.diff(ends).tolist() == [expected] * (plan.n_folds - 1)
    assert f"origins {expected} step(s) apart" in plan.rule


def test_cycle_features_let_a_linear_forecaster_follow_the_year(monkeypatch) -> None:
    """With three years of daily history a linear forecaster reads last year's move between
    the base and the row; without the cycle features it cannot see the yearly swing, and on the
    steep part of the year it misses by more."""
    from sklearn.linear_model import Ridge

    frame = _daily(3.2, seed=3)
    lay = prepare_series(frame, layout(id_columns=(), horizon=30),
                         where="training_data").layout
    # The forecast window sits where the yearly swing climbs fastest.
    cut = frame.day.iloc[0] + pd.Timedelta(days=3 * 365 - 20)
    train, future = frame[frame.day <= cut], frame[frame.day > cut].head(30)

    def mae() -> float:
        model = RegressionForecaster(regressor=Ridge(), layout=lay).fit(
            train.drop(columns=["sales"]), train.sales)
        pred = model.predict(future.drop(columns=["sales"]))
        return float(np.mean(np.abs(pred - future.sales.to_numpy()))), model

    with_cycle, model = mae()
    assert model.spec_.cycle == 365 and "_automl_cycle_change" in model.spec_.names
    monkeypatch.setattr(RegressionForecaster, "_cycle", lambda self, history: 0)
    without, plain = mae()
    assert plain.spec_.cycle == 0 and "_automl_cycle_change" not in plain.spec_.names
    assert with_cycle < 0.8 * without


def test_calendar_features_finer_than_the_frequency_are_dropped() -> None:
    assert "_automl_hour" not in [f"_automl_{c}" for c in calendar_columns("D")]
    assert "hour" in calendar_columns("h")
    assert "day" not in calendar_columns("MS") and "month" in calendar_columns("MS")


def test_pacf_and_the_auto_lag_rule() -> None:
    rng = np.random.default_rng(0)
    e = rng.normal(size=3000)
    x = np.zeros(3000)
    for t in range(2, 3000):
        x[t] = 0.2 * x[t - 1] + 0.7 * x[t - 2] + e[t]
    values = pacf(x, 6)
    assert values[1] == pytest.approx(0.7, abs=0.05)  # an AR(2): lag 2 is its coefficient
    assert np.all(np.abs(values[2:]) < 0.06)
    # Daily data: orders up to 14, significant above 1.96 / sqrt(14) (the SDK's rule).
    lags, window = auto_lags([x], "D", 1)
    assert lags == (1, 2)
    assert window == 2
    assert auto_lags([e], "D", 1) == ((), 0)  # white noise: nothing to look back at


# ------------------------------------------------------------------------------ forecasters


@pytest.fixture(scope="module")
def split() -> tuple[SeriesLayout, pd.DataFrame, pd.DataFrame]:
    prepared = prepare_series(panel(n=120), layout(), where="training_data")
    frame = prepared.frame
    cut = frame.day.max() - pd.Timedelta(days=7)
    return prepared.layout, frame[frame.day <= cut], frame[frame.day > cut]


def _mae(pred: np.ndarray, test: pd.DataFrame) -> float:
    return float(np.mean(np.abs(pred - test.sales.to_numpy())))


@pytest.mark.parametrize("name", STATISTICAL_MODELS)
def test_statistical_forecasters_forecast_the_horizon(name: str, split) -> None:
    lay, train, test = split
    model = StatisticalForecaster(model=name, layout=lay).fit(train.drop(columns=["sales"]),
                                                              train.sales)
    pred = model.predict(test.drop(columns=["sales"]))
    assert pred.shape == (len(test),) and np.isfinite(pred).all()
    # Every model but the plain average follows the level of the series.
    if name != "Average":
        assert _mae(pred, test) < 15
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(test.drop(columns=["sales"])), pred)


def test_regression_forecaster_beats_seasonal_naive(split) -> None:
    lay, train, test = split
    learner = get_learner("LightGBM", "forecasting")
    model = learner.build("forecasting", {}, n_jobs=1, seed=0).set_params(layout=lay)
    model.fit(train.drop(columns=["sales"]), train.sales)
    pred = model.predict(test.drop(columns=["sales"]))
    naive = StatisticalForecaster(model="SeasonalNaive", layout=lay).fit(
        train.drop(columns=["sales"]), train.sales).predict(test.drop(columns=["sales"]))
    assert _mae(pred, test) < _mae(naive, test)
    quantiles = model.forecast_quantiles(test.drop(columns=["sales"]), [0.1, 0.5, 0.9])
    assert (quantiles[0.1] < quantiles[0.5]).all() and (quantiles[0.5] < quantiles[0.9]).all()
    np.testing.assert_allclose(quantiles[0.5], pred)


def test_context_rows_extend_the_history(split) -> None:
    lay, train, test = split
    early = train[train.day <= train.day.max() - pd.Timedelta(days=7)]
    model = StatisticalForecaster(model="Naive", layout=lay).fit(
        early.drop(columns=["sales"]), early.sales)
    gap = train[train.day > early.day.max()]
    rows = pd.concat([gap, test.assign(sales=np.nan)], ignore_index=True)
    out = model.predict(rows)
    np.testing.assert_allclose(out[: len(gap)], gap.sales)  # context comes back as given
    last = gap.groupby("store").sales.last()
    forecast = out[len(gap):]
    np.testing.assert_allclose(forecast, test.store.map(last).to_numpy())


def test_rolling_forecast_and_forecast(split) -> None:
    lay, train, test = split
    model = StatisticalForecaster(model="Naive", layout=lay).fit(
        train.drop(columns=["sales"]), train.sales)
    table = rolling_forecast(model, test.drop(columns=["sales"]), test.sales, lay, step=2)
    assert set(table.columns) >= {"origin", "horizon", "forecast", "actual"}
    # From origin k (every second day) the naive forecast is the last actual before it.
    later = table[table.horizon == 1].sort_values(["store", "day"])
    assert len(later) == 2 * 4
    y_past = np.r_[test.sales.to_numpy()[:3], np.full(len(test) - 3, np.nan)]
    values = model.forecast(test.drop(columns=["sales"]), y_past)
    np.testing.assert_allclose(values[:3], test.sales.to_numpy()[:3])


def test_unseen_series_and_rows_inside_the_history_are_refused(split) -> None:
    lay, train, test = split
    model = StatisticalForecaster(model="Naive", layout=lay).fit(
        train.drop(columns=["sales"]), train.sales)
    with pytest.raises(DataError, match="cannot forecast series 'z'"):
        model.predict(test.drop(columns=["sales"]).assign(store="z"))
    with pytest.raises(DataError, match="forecasts start after each series' history"):
        model.predict(train.drop(columns=["sales"]).iloc[:3])


def test_every_forecasting_learner_is_registered_under_azure_names() -> None:
    from cirrusml.spec import ForecastingModels

    names = {lr.name for lr in learners_for("forecasting")}
    azure = {m.value for m in ForecastingModels}
    assert names <= azure
    assert {"SeasonalNaive", "AutoArima", "ExponentialSmoothing", "LightGBM", "ElasticNet",
            "Theta", "MSTL", "Arimax", "XGBoostRegressor"} <= names


# ------------------------------------------------------------------------------ the task


def _job(frame: pd.DataFrame, tmp_path, **forecast: object):
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(path)),
                             target_column_name="sales", n_cross_validations=2)
    settings = {"time_column_name": "day", "time_series_id_column_names": ["store"],
                "forecast_horizon": 7, **forecast}
    job.set_forecast_settings(**settings)
    return job


def test_the_task_plans_rolling_origins_and_scores_by_series(tmp_path) -> None:
    job = _job(panel(n=80), tmp_path)
    task = task_for("forecasting").configure(job)
    data = prepare_data(job, task, seed=0)
    plan = data.plan
    assert plan.is_cv and plan.n_folds == 2
    assert "rolling-origin" in plan.rule
    fitted = data.task
    assert isinstance(fitted, ForecastingTask)
    y = data.y
    valid = plan.folds[1][1]
    # Macro-averaged: scaling one series' errors leaves the other's share alone.
    noisy = y.iloc[valid].to_numpy() + np.where(fitted.codes[valid] == 0, 5.0, 0.0)
    scores = fitted.score(y.iloc[valid], noisy)
    assert scores["normalized_root_mean_squared_error"] > 0
    assert scores["mean_absolute_error"] == pytest.approx(2.5)
    assert "mean_absolute_scaled_error" in scores


def test_bad_forecasting_input_is_named_before_training(tmp_path) -> None:
    job = _job(panel(n=80), tmp_path, forecast_horizon=60, short_series_handling_config="none")
    with pytest.raises(DataError, match="shorter than the 181 points"):
        prepare_data(job, task_for("forecasting").configure(job), seed=0)
    job = _job(panel(n=80), tmp_path, forecast_horizon=90)
    with pytest.raises(DataError, match=r"forecast_horizon=90 .* longest series \(80 points\)"):
        prepare_data(job, task_for("forecasting").configure(job), seed=0)
    job = _job(panel(n=80), tmp_path)
    job.validation_data_size = 0.2
    with pytest.raises(InvalidSpecError, match="validation_data_size"):
        task_for("forecasting").configure(job)


def test_test_rows_of_unseen_series_are_refused(tmp_path) -> None:
    job = _job(panel(n=80), tmp_path)
    test = panel(n=90).query("day > '2021-03-24' and store == 'a'").assign(store="new")
    path = tmp_path / "test.csv"
    test.to_csv(path, index=False)
    job.test_data = Input(type="uri_file", path=str(path))
    with pytest.raises(DataError, match="series that training_data does not"):
        prepare_data(job, task_for("forecasting").configure(job), seed=0)


def test_use_stl_adds_decomposition_features(split) -> None:
    from dataclasses import replace

    from sklearn.linear_model import Ridge

    lay, train, test = split
    plain = RegressionForecaster(regressor=Ridge(), layout=lay).fit(
        train.drop(columns=["sales"]), train.sales)
    stl = RegressionForecaster(regressor=Ridge(), layout=replace(lay, use_stl="seasontrend")).fit(
        train.drop(columns=["sales"]), train.sales)
    assert "_automl_stl_season" not in plain.spec_.names
    assert {"_automl_stl_season", "_automl_stl_season_change", "_automl_stl_trend"} <= set(
        stl.spec_.names)
    # The weekly profile of the synthetic series (a sine of amplitude 8) is found.
    profile = stl.spec_.profiles[0] * stl.scales_[0]
    assert 12 < profile.max() - profile.min() < 20
    assert np.isfinite(stl.predict(test.drop(columns=["sales"]))).all()


def test_regression_forecasters_explain_themselves(split) -> None:
    from sklearn.linear_model import Ridge

    from cirrusml.ensemble import VotingRegressorEnsemble
    from cirrusml.exceptions import NotSupportedYetError
    from cirrusml.explain import explain_global

    lay, train, _test = split
    X, y = train.drop(columns=["sales"]), train.sales
    learner = get_learner("LightGBM", "forecasting")
    booster = learner.build("forecasting", {}, n_jobs=1, seed=0).set_params(layout=lay).fit(X, y)
    explanation = explain_global(booster, X.head(5), task="forecasting", seed=0)
    assert explanation.method == "forecaster_permutation"
    raw = explanation.raw_importance
    assert set(raw) >= {"sales", "day", "store", "promo"}
    assert sum(raw.values()) == pytest.approx(1.0)
    # The series carry a weekly season and a promotion effect: history and promo matter.
    assert raw["sales"] > 0.2 and raw["promo"] > 0.02
    naive = StatisticalForecaster(model="SeasonalNaive", layout=lay).fit(X, y)
    ridge = RegressionForecaster(regressor=Ridge(), layout=lay).fit(X, y)
    with pytest.raises(NotSupportedYetError, match="statistical forecasters"):
        explain_global(naive, X.head(5), task="forecasting")
    ensemble = VotingRegressorEnsemble(estimators=[naive, booster], weights=[0.5, 0.5])
    mixed = explain_global(ensemble, X.head(5), task="forecasting", seed=0)
    assert mixed.raw_importance == pytest.approx(explanation.raw_importance)
    assert "left out" in mixed.notes[0]
    assert ridge.predict(_test.drop(columns=["sales"])).shape == (len(_test),)


def test_rows_missing_a_trained_column_are_named(split) -> None:
    lay, train, test = split
    model = StatisticalForecaster(model="Naive", layout=lay).fit(
        train.drop(columns=["sales"]), train.sales)
    future = test.drop(columns=["sales"])
    with pytest.raises(DataError, match=r"lack column\(s\) 'store'"):
        model.predict(future.drop(columns=["store"]))
    with pytest.raises(DataError, match=r"lack column\(s\) 'promo'"):
        model.predict(future.drop(columns=["promo"]))
    # Times as text, extra columns and any column order are fine.
    messy = future.assign(day=future.day.astype(str), extra=1)[::-1].iloc[:, ::-1]
    np.testing.assert_allclose(model.predict(messy)[::-1], model.predict(future))


def test_panels_with_several_id_columns(tmp_path) -> None:
    frame = pd.concat([panel(n=60, stores=("a", "b"), seed=1).assign(region="north"),
                       panel(n=60, stores=("a", "c"), seed=2).assign(region="south")],
                      ignore_index=True)
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    job = automl.forecasting(training_data=Input(type="uri_file", path=str(path)),
                             target_column_name="sales", n_cross_validations=2)
    job.set_forecast_settings(time_column_name="day",
                              time_series_id_column_names=["region", "store"],
                              forecast_horizon=7)
    data = prepare_data(job, task_for("forecasting").configure(job), seed=0)
    assert data.task.series == ["north / a", "north / b", "south / a", "south / c"]
    assert len(data.plan.folds[1][1]) == 4 * 7
    layout = data.task.layout
    cut = data.X.day.max() - pd.Timedelta(days=7)
    train = data.X.day <= cut
    for model in (StatisticalForecaster(model="SeasonalNaive", layout=layout),
                  get_learner("ElasticNet", "forecasting").build(
                      "forecasting", {}, n_jobs=1, seed=0).set_params(layout=layout)):
        model.fit(data.X[train], data.y[train])
        future = data.X[~train]
        forecast = model.predict(future)
        assert forecast.shape == (4 * 7,) and np.isfinite(forecast).all()


def test_tcn_is_searched_only_with_the_metrics_azure_allows(tmp_path) -> None:
    from cirrusml.engine._run import allowed_learners

    job = _job(panel(n=80), tmp_path)
    job.set_training(enable_dnn_training=True)
    task = task_for("forecasting")
    assert "TCNForecaster" in {lr.name for lr in allowed_learners(job, task)}
    job.primary_metric = "r2_score"
    names = {lr.name for lr in allowed_learners(job, task)}
    assert "TCNForecaster" not in names and "LightGBM" in names
    job.set_training(allowed_training_algorithms=["TCNForecaster"])
    with pytest.raises(InvalidSpecError, match="TCNForecaster cannot be searched with"):
        allowed_learners(job, task)


def test_missing_steps_are_counted_apart_from_missing_targets() -> None:
    frame = panel(n=30, stores=("a",))
    frame.loc[3, "sales"] = np.nan  # a row that is there, with no target
    holes = frame.drop(index=[10, 11]).reset_index(drop=True)  # two steps that are not
    prepared = prepare_series(holes, layout(id_columns=()), where="training_data")
    check = next(c for c in prepared.checks if c.name == "Missing time steps imputation")
    assert check.description.startswith("2 missing step(s)")
    assert len(prepared.frame) == 30 and not prepared.frame.sales.isna().any()
