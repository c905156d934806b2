"""TCNForecaster and Prophet: forecasts, repeatability, pickling, context rows, and the learners.

Budgets are epochs and sample counts, never seconds: the TCN here trains a narrow network for a
few epochs on a small synthetic panel (two weekly-seasonal daily series).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cirrusml.forecast._prophet import ProphetForecaster
from cirrusml.forecast._tcn import TCNForecaster
from cirrusml.models import Learner, get_learner, learners_for
from cirrusml.models._forecasters import forecasting_learners
from cirrusml.spec import TaskType
from cirrusml.tasks import SeriesLayout

pytest.importorskip("torch")
pytest.importorskip("prophet")

H = 7
LAYOUT = SeriesLayout(target="y", time_column="date", id_columns=("store",), horizon=H,
                      freq="D", season_length=7)
#: A small, quick network (the default is larger).
SMALL = {"channels": 8, "layers": 2, "epochs": 12, "max_samples": 600, "batch_size": 64,
         "n_jobs": 1}
SRC = Path(__file__).resolve().parents[1] / "src"


def _panel(n: int = 140, seed: int = 0) -> pd.DataFrame:
    """Two daily series with a weekly season, different levels and a slow trend."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    pieces = []
    for store, level in (("a", 100.0), ("b", 20.0)):
        season = np.array([0.0, 0.3, 0.5, 0.2, -0.1, -0.5, -0.4])[t % 7]
        y = level * (1 + season + 0.001 * t) + rng.normal(0, 0.03 * level, n)
        pieces.append(pd.DataFrame({"store": store, "date": pd.date_range("2021-01-04",
                                                                          periods=n),
                                    "promo": rng.integers(0, 2, n).astype(float), "y": y}))
    return pd.concat(pieces, ignore_index=True)


def _split(frame: pd.DataFrame, last: int = H) -> tuple[pd.DataFrame, pd.DataFrame]:
    position = frame.groupby("store").cumcount()
    size = frame.groupby("store")["y"].transform("size")
    test = position >= size - last
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def _naive_mae(train: pd.DataFrame, test: pd.DataFrame) -> float:
    last = train.groupby("store")["y"].last()
    return float(np.mean(np.abs(test["y"].to_numpy() - test["store"].map(last).to_numpy())))


def _fit(model, train: pd.DataFrame):  # noqa: ANN001, ANN202 - any forecaster
    return model.fit(train.drop(columns=["y"]), train["y"])


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _split(_panel())


@pytest.fixture(scope="module")
def tcn(data: tuple[pd.DataFrame, pd.DataFrame]) -> TCNForecaster:
    return _fit(TCNForecaster(layout=LAYOUT, **SMALL), data[0])


@pytest.fixture(scope="module")
def prophet(data: tuple[pd.DataFrame, pd.DataFrame]) -> ProphetForecaster:
    return _fit(ProphetForecaster(layout=LAYOUT), data[0])


# ------------------------------------------------------------------------------ forecasts


@pytest.mark.parametrize("name", ["tcn", "prophet"])
def test_beats_the_naive_forecast(name: str, data, request) -> None:  # noqa: ANN001
    train, test = data
    model = request.getfixturevalue(name)
    prediction = model.predict(test.drop(columns=["y"]))
    assert prediction.shape == (len(test),)
    assert np.isfinite(prediction).all()
    error = float(np.mean(np.abs(prediction - test["y"].to_numpy())))
    assert error < 0.6 * _naive_mae(train, test)


def test_tcn_outputs_the_whole_horizon_at_once(tcn: TCNForecaster, data) -> None:  # noqa: ANN001
    assert tcn.config_["horizon"] == H
    # The head's last layer has one output per step of the horizon.
    last_bias = [v for k, v in tcn.state_.items() if k.startswith("head.") and
                 k.endswith(".bias")][-1]
    assert last_bias.shape == (H,)
    # Steps past the horizon are forecast too (recursively), in every series.
    train, test = data
    ends = train.groupby("store")["date"].max()
    rows = pd.DataFrame([{"store": s, "date": ends[s] + pd.Timedelta(days=d), "promo": 0.0}
                         for s in ("a", "b") for d in range(1, 3 * H + 1)])
    values = tcn.predict(rows)
    assert values.shape == (len(rows),)
    assert np.isfinite(values).all()
    # Forecasts at the first H steps are those of a request for them alone.
    first = rows.groupby("store").cumcount() < H
    np.testing.assert_allclose(values[first.to_numpy()], tcn.predict(rows[first]), rtol=1e-6)


def test_tcn_is_repeatable_for_a_seed(data, tcn: TCNForecaster) -> None:  # noqa: ANN001
    train, test = data
    again = _fit(TCNForecaster(layout=LAYOUT, **SMALL), train)
    other = _fit(TCNForecaster(layout=LAYOUT, **{**SMALL, "seed": 1}), train)
    X = test.drop(columns=["y"])
    np.testing.assert_array_equal(tcn.predict(X), again.predict(X))
    assert not np.allclose(tcn.predict(X), other.predict(X))


# ------------------------------------------------------------------------------ pickling


@pytest.mark.parametrize("name", ["tcn", "prophet"])
def test_pickles_and_predicts_after_unpickling(name: str, data, request) -> None:  # noqa: ANN001
    model = request.getfixturevalue(name)
    X = data[1].drop(columns=["y"])
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(X), model.predict(X), rtol=1e-6)


def _without_torch(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter where ``import torch`` fails."""
    code = "import sys\nsys.modules['torch'] = None\n" + textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(SRC)},
                          timeout=120, check=False)


def test_without_torch_fitting_says_how_to_install_it(tcn: TCNForecaster, data,  # noqa: ANN001
                                                      tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(tcn))
    data[0].to_pickle(tmp_path / "train.pkl")
    result = _without_torch("""
        import pickle
        import pandas as pd
        import cirrusml.forecast, cirrusml.models
        from cirrusml.exceptions import CirrusMLError
        from cirrusml.forecast._tcn import TCNForecaster
        model = pickle.load(open("model.pkl", "rb"))   # a fitted model loads without torch
        print("loaded", type(model).__name__, model.config_["horizon"])
        train = pd.read_pickle("train.pkl")
        try:
            TCNForecaster(layout=model.layout).fit(train.drop(columns=["y"]), train["y"])
        except CirrusMLError as error:
            print("error", type(error).__name__, isinstance(error, ValueError), error)
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"loaded TCNForecaster {H}" in result.stdout
    assert 'TCNForecaster needs PyTorch: pip install "cirrusml[dnn]"' in result.stdout
    assert "DataError" not in result.stdout


# --------------------------------------------------------------------------- context rows


@pytest.mark.parametrize("name", ["tcn", "prophet"])
def test_context_rows_extend_their_series_only(name: str, data, request) -> None:  # noqa: ANN001
    """Rows with the target extend their series' history: they come back as given, the
    forecasts after them start from them, and other series' forecasts do not move."""
    model = request.getfixturevalue(name)
    train, test = data
    context = test[test["store"] == "a"].iloc[:3]
    future_a = test[test["store"] == "a"].iloc[3:].drop(columns=["y"])
    future_b = test[test["store"] == "b"].drop(columns=["y"])
    rows = pd.concat([context, future_a, future_b], ignore_index=True)
    out = model.predict(rows)
    np.testing.assert_array_equal(out[:3], context["y"].to_numpy())
    alone_b = model.predict(future_b)
    np.testing.assert_allclose(out[-len(future_b):], alone_b, rtol=1e-6)
    # Without the context, series a's rows lie further past its end; with other context values
    # its forecasts change.
    plain_a = model.predict(future_a)
    shifted = rows.assign(y=np.r_[context["y"].to_numpy() + 40.0,
                                  np.full(len(rows) - 3, np.nan)])
    moved = model.predict(shifted)
    a = slice(3, 3 + len(future_a))
    assert not np.allclose(out[a], plain_a)
    assert not np.allclose(moved[a], out[a])
    np.testing.assert_allclose(moved[-len(future_b):], alone_b, rtol=1e-6)


def test_tcn_context_is_the_same_as_a_longer_history(tcn: TCNForecaster, data) -> None:  # noqa: ANN001
    """The same network with its history extended by the context rows forecasts the same."""
    train, test = data
    context = test.groupby("store").head(2)
    future = test.drop(context.index).drop(columns=["y"])
    with_context = tcn.predict(pd.concat([context, future], ignore_index=True))
    longer = copy.copy(tcn)
    both = pd.concat([train, context], ignore_index=True)
    longer.history_ = tcn._history(both.drop(columns=["y"]), both["y"])
    np.testing.assert_allclose(with_context[len(context):], longer.predict(future), rtol=1e-6)


def test_prophet_context_equals_a_fit_on_the_longer_history(prophet: ProphetForecaster,
                                                            data) -> None:  # noqa: ANN001
    train, test = data
    context = test.groupby("store").head(3)
    future = test.drop(context.index).drop(columns=["y"])
    with_context = prophet.predict(pd.concat([context, future], ignore_index=True))
    longer = _fit(ProphetForecaster(layout=LAYOUT), pd.concat([train, context]))
    np.testing.assert_allclose(with_context[len(context):], longer.predict(future), rtol=1e-6)


def test_prophet_uses_known_covariates_from_the_rows_asked_for() -> None:
    frame = _panel(n=120, seed=3)
    frame["y"] = frame["y"] + 30.0 * frame["promo"]
    train, test = _split(frame, last=14)
    model = _fit(ProphetForecaster(layout=LAYOUT), train)
    assert model.regressors_ == ["promo"]
    X = test.drop(columns=["y"])
    on, off = model.predict(X.assign(promo=1.0)), model.predict(X.assign(promo=0.0))
    np.testing.assert_allclose(on - off, 30.0, atol=6.0)
    # Unknown-at-forecast-time covariates are not regressors.
    blind = ProphetForecaster(layout=dataclasses.replace(LAYOUT, unknown_features=("promo",)))
    assert _fit(blind, train.iloc[:40]).regressors_ == []


# ------------------------------------------------------------------------------ learners


def test_learners() -> None:
    tcn, prophet = get_learner("TCNForecaster"), get_learner("prophet", "forecasting")
    order = [lr.name for lr in forecasting_learners(learners_for("regression"))]
    assert order[-2:] == ["TCNForecaster", "Prophet"]
    assert [lr.name for lr in learners_for("forecasting")][-2:] == order[-2:]
    assert tcn.dnn
    assert not prophet.dnn
    assert not Learner.dnn
    assert not any(lr.dnn for lr in learners_for("forecasting") if lr.name != "TCNForecaster")
    for learner in (tcn, prophet):
        assert learner.tasks == (TaskType.FORECASTING,)
        assert learner.featurizes_itself
        assert not learner.explainable
        with pytest.raises(ValueError, match="does not serve"):
            learner.search_space(TaskType.REGRESSION, 100, 3)
    assert tcn.runtime_packages == ("torch",)
    assert prophet.runtime_packages == ("prophet",)
    point = tcn.low_cost_params(TaskType.FORECASTING, 1000, 3)
    model = tcn.build(TaskType.FORECASTING, {**point, "lookback": 16, "epochs": 3}, n_jobs=2,
                      seed=7)
    assert isinstance(model, TCNForecaster)
    assert tcn.owns(model)
    assert not prophet.owns(model)
    assert (model.lookback, model.epochs, model.n_jobs, model.seed) == (16, 3, 2, 7)
    assert model.channels == point["channels"]
    built = prophet.build(TaskType.FORECASTING, {"seasonality_mode": "multiplicative"},
                          n_jobs=1, seed=0)
    assert isinstance(built, ProphetForecaster)
    assert built.seasonality_mode == "multiplicative"
    assert prophet.owns(built)
