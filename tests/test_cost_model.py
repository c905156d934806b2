"""The cost model (offline coefficients, online correction) and how the planner orders by it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cirrusml.featurize import expected_width, profile_columns
from cirrusml.models import get_learner, learners_for
from cirrusml.search import MAX_SHARE, CostModel, DataShape, Planner, TrialCosts
from cirrusml.spec import TaskType

CLS = TaskType.CLASSIFICATION


def _lightgbm_point(leaves: int) -> dict:
    return {"num_leaves": leaves, "learning_rate": 0.1, "min_child_samples": 20,
            "subsample": 1.0, "colsample_bytree": 1.0, "reg_alpha": 1e-3, "reg_lambda": 1e-3,
            "log_max_bin": 8}


#: A fake model: one LightGBM fit costs num_leaves / 10 seconds (on rows enough for them all).
LEAVES_COST = CostModel({"Classification/LightGBM": {"const": -math.log(10.0),
                                                     "log_leaves": 1.0}})


def _planner(portfolio, **kw) -> Planner:
    learners = [get_learner("LightGBM", CLS)]
    return Planner(CLS, learners, n_rows=50_000, n_features=10, problem="binary",
                   portfolio=portfolio, cost_model=kw.pop("cost_model", LEAVES_COST), **kw)


def test_a_configuration_costs_what_its_hyperparameters_say():
    p = _planner([])
    assert p.expected_seconds("LightGBM", _lightgbm_point(500)) == pytest.approx(50.0)
    assert p.expected_seconds("LightGBM", _lightgbm_point(20)) == pytest.approx(2.0)


def test_a_trial_too_large_a_share_of_the_time_left_waits_for_cheaper_ones():
    entries = [{"learner": "LightGBM", "params": _lightgbm_point(n)} for n in (500, 20, 1500)]
    p = _planner(entries)
    # A warm start this thin starts from the library default (31 leaves: 3.1 s).
    default = p.ask(time_left=100.0, workers=1)
    assert default.source == "default" and default.params["num_leaves"] == 31
    p.tell(default, 0.3, 3.1)
    # 100 s left on one worker: 500 leaves (50 s) is more than MAX_SHARE of it, 1500 leaves
    # (150 s) cannot finish at all; 20 leaves (2 s) goes first.
    assert MAX_SHARE * 100 < 50
    first = p.ask(time_left=100.0, workers=1)
    assert first.params["num_leaves"] == 20 and first.source == "portfolio"
    p.tell(first, 0.3, 2.0)
    # The Bayesian phase goes on with configurations that fit the share...
    for _ in range(5):
        prop = p.ask(time_left=100.0, workers=1)
        assert prop.source == "bayesian"
        assert p.expected_seconds("LightGBM", prop.params) <= MAX_SHARE * 100
        p.tell(prop, 0.3, p.expected_seconds("LightGBM", prop.params))
    # ...and the 500-leaf entry waits in the queue; the one that cannot finish is gone.
    assert [q.params["num_leaves"] for q in p.queue] == [500]


def test_more_workers_leave_room_for_a_larger_trial():
    entries = [{"learner": "LightGBM", "params": _lightgbm_point(n)} for n in (500, 20)]
    p = _planner(entries)
    p.tell(p.ask(), 0.3, 3.1)  # the library default (a thin warm start) goes first
    # Four workers: 50 s is less than MAX_SHARE of the 400 worker-seconds left; it goes in order.
    assert p.ask(time_left=100.0, workers=4).params["num_leaves"] == 500


def test_a_large_trial_runs_when_nothing_cheaper_is_on_offer():
    # A learner without a search space (nothing for the Bayesian phase): its only entry runs
    # even though it takes most of the time left.
    nb = get_learner("BernoulliNaiveBayes", CLS)
    model = CostModel({"Classification/BernoulliNaiveBayes": {"const": math.log(60.0)}})
    p = Planner(CLS, [nb], n_rows=5000, n_features=10, problem="binary",
                portfolio=[], cost_model=model)
    p.spaces["BernoulliNaiveBayes"] = {}
    prop = p.ask(time_left=100.0, workers=1)
    assert prop is not None and prop.learner == "BernoulliNaiveBayes"


def test_the_job_corrects_the_offline_model_per_learner():
    shape = DataShape(rows=50_000, width=10, fits=3)
    costs = TrialCosts(LEAVES_COST, CLS, shape)
    lgbm = get_learner("LightGBM", CLS)
    knn = get_learner("KNN", CLS)
    assert costs.seconds(lgbm, _lightgbm_point(20)) == pytest.approx(3 * 2.0)
    # This machine runs LightGBM twice as slow as the model says: every LightGBM configuration
    # is corrected, and the relative cost of two configurations stays the model's.
    costs.observe(lgbm, _lightgbm_point(20), 12.0)
    assert costs.learner_factor("LightGBM") == pytest.approx(2.0)
    assert costs.seconds(lgbm, _lightgbm_point(200)) == pytest.approx(3 * 20.0 * 2.0)
    # A learner that has not run yet takes the machine's factor.
    before = costs.offline(knn, {})
    assert costs.seconds(knn, {}) == pytest.approx(before * 2.0)


def test_a_quick_failure_does_not_teach_the_cost_model():
    p = _planner([])
    prop = p.ask()
    p.tell(prop, None, 0.01)  # failed at once
    assert p.costs.machine_factor == 1.0
    prop = p.ask()
    expected = p.expected_seconds("LightGBM", prop.params)
    p.tell(prop, None, expected * 4)  # ran long, then timed out: a lower bound worth keeping
    assert p.costs.machine_factor == pytest.approx(4.0)


def test_boosting_costs_grow_with_the_classes_and_the_leaves():
    lgbm = get_learner("LightGBM", CLS)
    point = _lightgbm_point(31)
    binary = lgbm.cost_terms(CLS, point, n_rows=10_000, n_features=16, n_classes=2)
    many = lgbm.cost_terms(CLS, point, n_rows=10_000, n_features=16, n_classes=26)
    # One tree per round for two classes, one per class and round beyond.
    assert binary["log_classes"] == 0.0
    assert many["log_classes"] == pytest.approx(math.log(26))
    assert lgbm.cost_terms(CLS, _lightgbm_point(500), n_rows=10_000, n_features=16,
                           n_classes=2)["log_leaves"] > binary["log_leaves"]
    # Every learner's terms are finite at its default and its low-cost point.
    for task in (CLS, TaskType.REGRESSION):
        for learner in learners_for(task):
            for params in (learner.default_params(task, 5000, 20),
                           learner.low_cost_params(task, 5000, 20)):
                terms = learner.cost_terms(task, params, n_rows=5000, n_features=20,
                                           n_classes=3 if task is CLS else 1)
                assert terms and all(math.isfinite(v) for v in terms.values()), learner.name


def test_the_shipped_model_prices_classes_and_leaves():
    model = CostModel.shipped()
    assert model.knows(CLS, "LightGBM") and model.knows(TaskType.REGRESSION, "LightGBM")
    lgbm = get_learner("LightGBM", CLS)
    binary = DataShape(rows=16_000, width=16, classes=2)
    many = DataShape(rows=16_000, width=16, classes=26)
    default, big = _lightgbm_point(31), {**_lightgbm_point(500), "learning_rate": 0.03}
    assert model.fit_seconds(lgbm, CLS, default, many) > model.fit_seconds(
        lgbm, CLS, default, binary)
    assert model.fit_seconds(lgbm, CLS, big, many) > 1.5 * model.fit_seconds(
        lgbm, CLS, default, many)
    assert model.fit_seconds(lgbm, CLS, default, DataShape(rows=64_000, width=16, classes=2)) \
        > model.fit_seconds(lgbm, CLS, default, binary)


def test_the_featurized_width_counts_one_hot_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400),
                          "colour": rng.choice([f"c{i}" for i in range(12)], size=400),
                          "when": pd.date_range("2024-01-01", periods=400, freq="h")})
    profile = profile_columns(frame)
    native = expected_width(profile, native_categorical=True, task=CLS)
    onehot = expected_width(profile, native_categorical=False, task=CLS)
    assert onehot - native == 12  # twelve one-hot columns (and one for missing) for one code
    assert native >= 3
    # The dense part leaves the one-hot columns out: the number, the date parts, and (native)
    # the category's code.
    dense = expected_width(profile, native_categorical=False, task=CLS, dense_only=True)
    assert dense == onehot - 13
    assert expected_width(profile, native_categorical=True, task=CLS, dense_only=True) == native


def test_a_forest_on_numbers_costs_more_than_on_as_many_one_hot_columns():
    # What the cost model learned from timed fits: an exact-split tree's time follows the
    # columns that hold a value in every row, not the one-hot ones.
    model = CostModel.shipped()
    for task, name in ((CLS, "RandomForest"), (TaskType.REGRESSION, "GradientBoosting"),
                       (TaskType.REGRESSION, "RandomForest")):
        learner = get_learner(name, task)
        params = learner.default_params(task, 10_000, 20)
        numbers = DataShape(rows=10_000, width=20, dense_width=20)
        one_hot = DataShape(rows=10_000, width=20, dense_width=4)
        assert model.fit_seconds(learner, task, params, numbers) > 1.3 * model.fit_seconds(
            learner, task, params, one_hot), name


def test_a_thin_warm_start_tries_the_library_defaults():
    lgbm = get_learner("LightGBM", CLS)
    default = lgbm.default_params(CLS, 20_000, 16)
    only = Planner(CLS, [lgbm], n_rows=20_000, n_features=16, problem="multiclass")
    assert any(q.params == default and q.source == "default" for q in only.queue)
    # With every learner allowed the portfolio is not thin: it runs as it was learned.
    full = Planner(CLS, learners_for(CLS), n_rows=20_000, n_features=16, problem="multiclass")
    assert not any(q.learner == "LightGBM" and q.source == "default" for q in full.queue)


def test_a_cheap_learners_overhead_does_not_scale_the_others():
    costs = TrialCosts(LEAVES_COST, CLS, DataShape(rows=50_000, width=10))
    nb = get_learner("BernoulliNaiveBayes", CLS)
    lgbm = get_learner("LightGBM", CLS)
    # A naive Bayes trial is almost all featurization and scoring: 1 s for microseconds of fit.
    costs.observe(nb, {}, 1.0)
    assert costs.offline(nb, {}) == pytest.approx(costs.floor)
    assert costs.floor == pytest.approx(0.25 * 3.1)  # a quarter of a default LightGBM trial
    assert costs.seconds(lgbm, _lightgbm_point(500)) < 2 * 50.0


def test_a_cost_model_file_can_replace_the_shipped_one(tmp_path, monkeypatch):
    from cirrusml.exceptions import CirrusMLError
    from cirrusml.search._cost import COST_MODEL_ENV

    path = tmp_path / "cost.json"
    path.write_text('{"coefficients": {"Classification/KNN": {"const": 1.5}}}')
    monkeypatch.setenv(COST_MODEL_ENV, str(path))
    model = CostModel.shipped()
    assert model.knows(CLS, "KNN") and not model.knows(CLS, "LightGBM")
    knn = get_learner("KNN", CLS)
    assert model.fit_seconds(knn, CLS, {}, DataShape(rows=100, width=3)) == pytest.approx(
        math.exp(1.5))
    monkeypatch.setenv(COST_MODEL_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(CirrusMLError, match=COST_MODEL_ENV):
        CostModel.shipped()


def test_what_still_promises_a_better_trial_is_what_fits_in_the_time_left():
    from cirrusml.search._planner import TUNING_TRIALS

    entries = [{"learner": "LightGBM", "params": _lightgbm_point(500)}]
    p = _planner(entries)
    p.tell(p.ask(time_left=1000.0), 0.3, 3.1)  # the library default
    # The 500-leaf entry (50 s) promises more while it fits, and only then.
    assert "warm-start" in p.promising(1000.0)
    assert "warm-start" not in p.promising(10.0)
    p.tell(p.ask(time_left=1000.0), 0.4, 50.0)
    # The warm start is used up: the best learner promises more until its study has made
    # TUNING_TRIALS proposals, while its cheapest configuration fits.
    for done in range(TUNING_TRIALS):
        assert f"{done} of {TUNING_TRIALS} tuning trials" in p.promising(1000.0)
        prop = p.ask(time_left=1000.0)
        assert prop.source == "bayesian"
        p.tell(prop, 0.35, p.expected_seconds("LightGBM", prop.params))
    assert p.promising(1000.0) == ""
    fresh = _planner([])
    fresh.tell(fresh.ask(time_left=1000.0), 0.3, 3.1)
    assert fresh.promising(1000.0) and fresh.promising(0.01) == ""


def test_the_best_learners_share_the_tuning_time_by_rank_not_the_trials():
    # Two learners: LightGBM ranks first and its trials take 10 s, ExtraTrees second at 1 s.
    learners = [get_learner("LightGBM", CLS), get_learner("ExtremeRandomTrees", CLS)]
    p = Planner(CLS, learners, n_rows=50_000, n_features=10, problem="binary",
                portfolio=[], cost_model=CostModel(), seed=0)
    p.tell(p.ask(), 0.30, 10.0)
    p.tell(p.ask(), 0.35, 1.0)
    assert p.best["LightGBM"] < p.best["ExtremeRandomTrees"]
    picks = [p._choose_learner(None) for _ in range(4000)]
    turns = {n: picks.count(n) / len(picks) for n in ("LightGBM", "ExtremeRandomTrees")}
    # By trials, the cheaper second learner gets most turns...
    assert turns["ExtremeRandomTrees"] > turns["LightGBM"]
    # ...and by time the shares follow the rank weights 0.55 : 0.3.
    time_share = turns["LightGBM"] * 10.0 / (turns["LightGBM"] * 10.0
                                             + turns["ExtremeRandomTrees"] * 1.0)
    assert time_share == pytest.approx(0.55 / 0.85, abs=0.05)
