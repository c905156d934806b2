"""Ensembles: Caruana selection, the voting and stacking estimators, the fast primary scorer."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression, Ridge

from cirrusml.ensemble import (
    StackClassifierEnsemble,
    VotingClassifierEnsemble,
    VotingRegressorEnsemble,
    blend,
    caruana_selection,
    checked_selection,
    make_meta_learner,
    stack_features,
)
from cirrusml.exceptions import InvalidSpecError
from cirrusml.metrics import PRIMARY_METRICS, PrimaryScorer, classification_metrics
from cirrusml.metrics import regression_metrics


def _mse(y):
    return lambda p: float(np.mean((p - y) ** 2))


def test_selection_finds_complementary_models():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    noise_a, noise_b = rng.normal(size=400), rng.normal(size=400)
    # Two equally good models with independent errors: their average halves the error.
    preds = [y + noise_a, y + noise_b, y + 3 * rng.normal(size=400)]
    weights, loss = caruana_selection(preds, _mse(y))
    assert set(weights) >= {0, 1} and weights.get(2, 0.0) < 0.15  # the noisy one barely counts
    assert abs(sum(weights.values()) - 1) < 1e-12
    assert loss < min(_mse(y)(p) for p in preds) * 0.7
    assert loss == pytest.approx(_mse(y)(blend(preds, weights)))


def test_selection_keeps_the_best_single_model_when_nothing_beats_it():
    y = np.linspace(0, 1, 50)
    preds = [y.copy(), y + 0.5, y - 0.5]
    weights, loss = caruana_selection(preds, _mse(y))
    assert weights == {0: 1.0} and loss == 0.0


def test_sorted_initialisation_keeps_models_within_5_percent():
    y = np.zeros(10)
    losses = [1.0, 1.04, 1.2]
    preds = [np.full(10, np.sqrt(v)) for v in losses]
    seen = []

    def loss(p):
        seen.append(p)
        return _mse(y)(p)

    caruana_selection(preds, loss, iterations=0)
    # singles (3 calls), then the initial ensemble of the two within 5% of the best
    assert np.allclose(seen[3], (preds[0] + preds[1]) / 2)


def _fold_maes(y, n_folds):
    """Per-fold mean absolute error, over consecutive equal blocks of rows."""
    blocks = np.array_split(np.arange(len(y)), n_folds)
    return [(lambda p, b=b: float(np.mean(np.abs(p[b] - y[b])))) for b in blocks]


def test_checked_selection_drops_a_blend_that_only_fits_one_fold():
    # Model 0 is close on folds 0 and 1 and far off on fold 2; model 1 is off everywhere, in
    # the other direction. On all folds a blend wins (it cancels fold 2's error), but a blend
    # chosen on any two folds loses on the third: the best single model generalises.
    y = np.zeros(30)
    a = np.r_[np.full(20, 0.1), np.full(10, 1.0)]
    b = np.full(30, -1.0)
    folds = _fold_maes(y, 3)
    caruana, _ = caruana_selection([a, b], lambda p: float(np.mean([f(p) for f in folds])))
    assert len(caruana) == 2  # the blend Caruana alone would keep
    chosen = checked_selection([a, b], folds, ("Caruana", "best single"))
    assert chosen.rule == "best single" and chosen.weights == {0: 1.0}
    assert chosen.held_out["best single"] < chosen.held_out["Caruana"]
    assert chosen.loss == pytest.approx(np.mean([f(a) for f in folds]))


def test_checked_selection_keeps_caruana_where_the_blend_generalises():
    rng = np.random.default_rng(0)
    y = rng.normal(size=600)
    preds = [y + rng.normal(size=600), y + rng.normal(size=600), y + 3 * rng.normal(size=600)]
    folds = _fold_maes(y, 3)
    rules = ("Caruana", "best single", "mean of 2 best", "mean of 3 best")
    chosen = checked_selection(preds, folds, rules)
    assert set(chosen.held_out) == set(rules)
    assert chosen.held_out[chosen.rule] == min(chosen.held_out.values())
    assert chosen.rule in ("Caruana", "mean of 2 best") and {0, 1} <= set(chosen.weights)
    assert chosen.held_out[chosen.rule] < chosen.held_out["best single"]


def test_checked_selection_with_one_rule_or_one_fold_is_plain_caruana():
    rng = np.random.default_rng(1)
    y = rng.normal(size=90)
    preds = [y + rng.normal(size=90), y + rng.normal(size=90)]
    expected, _ = caruana_selection(preds, _fold_maes(y, 1)[0])
    one_fold = checked_selection(preds, _fold_maes(y, 1), ("Caruana", "best single"))
    assert one_fold.weights == expected and one_fold.rule == "Caruana" and not one_fold.held_out
    assert not checked_selection(preds, _fold_maes(y, 3)).held_out
    with pytest.raises(ValueError, match="unknown selection rule"):
        checked_selection(preds, _fold_maes(y, 3), ("Bagging",))


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), st.integers(0, 1000))
def test_primary_scorer_matches_the_full_metrics(n_classes, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, 120)
    proba = rng.random((120, n_classes)) + 0.01
    proba /= proba.sum(axis=1, keepdims=True)
    weights = rng.random(120) + 0.1
    full = classification_metrics(y, proba, list(range(n_classes)))
    weighted = classification_metrics(y, proba, list(range(n_classes)), sample_weight=weights)
    for metric in PRIMARY_METRICS[:6]:
        fast = PrimaryScorer(metric, y, classes=list(range(n_classes)))(proba)
        assert fast == pytest.approx(full[metric], rel=1e-9, abs=1e-12), metric
        fast_w = PrimaryScorer(metric, y, classes=list(range(n_classes)),
                               sample_weight=weights)(proba)
        assert fast_w == pytest.approx(weighted[metric], rel=1e-9, abs=1e-12), metric
    target = rng.normal(size=120)
    pred = target + rng.normal(size=120)
    full_r = regression_metrics(target, pred, y_min=-3, y_max=3)
    for metric in PRIMARY_METRICS[6:]:
        fast = PrimaryScorer(metric, target, y_min=-3, y_max=3)(pred)
        assert fast == pytest.approx(full_r[metric], rel=1e-9, abs=1e-12), metric


def _fitted_classifiers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=200) > 0, "b", "a")
    first = LogisticRegression().fit(X, y)
    second = LogisticRegression(C=0.01).fit(X[:, :2], y)

    class TwoColumns:
        classes_ = second.classes_

        def predict_proba(self, X):
            return second.predict_proba(X[:, :2])

    return X, y, [first, TwoColumns()]


def test_voting_ensemble_averages_member_probabilities():
    X, y, members = _fitted_classifiers()
    ensemble = VotingClassifierEnsemble(estimators=members, weights=[0.75, 0.25],
                                        classes=["a", "b"])
    expected = 0.75 * members[0].predict_proba(X) + 0.25 * members[1].predict_proba(X)
    assert np.allclose(ensemble.predict_proba(X), expected)
    assert list(ensemble.predict(X[:5])) == list(np.array(["a", "b"])[expected[:5].argmax(1)])
    assert list(ensemble.classes_) == ["a", "b"]
    again = pickle.loads(pickle.dumps(VotingClassifierEnsemble(
        estimators=[members[0]], weights=[1.0], classes=["a", "b"])))
    assert np.allclose(again.predict_proba(X), members[0].predict_proba(X))


def test_voting_regressor_and_stack():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 2))
    y = X[:, 0] * 2 + rng.normal(size=100)
    a, b = Ridge().fit(X, y), Ridge(alpha=50).fit(X, y)
    voting = VotingRegressorEnsemble(estimators=[a, b], weights=[1, 3])
    assert np.allclose(voting.predict(X), 0.25 * a.predict(X) + 0.75 * b.predict(X))
    Xc, yc, members = _fitted_classifiers()
    features = stack_features([m.predict_proba(Xc) for m in members], True)
    assert features.shape == (len(Xc), 2)  # one column per member (the last class is implied)
    codes = (yc == "b").astype(int)
    meta = make_meta_learner(None, "classification", False, None, 0).fit(features, codes)
    stack = StackClassifierEnsemble(estimators=members, weights=[0.5, 0.5], classes=["a", "b"],
                                    meta_learner=meta)
    proba = stack.predict_proba(Xc)
    assert np.allclose(proba.sum(axis=1), 1.0) and proba.shape == (len(Xc), 2)
    assert (stack.predict(Xc) == yc).mean() > 0.8


def test_meta_learner_types_and_errors():
    assert type(make_meta_learner(None, "classification", True, None, 0)).__name__ == "LogisticRegressionCV"
    assert type(make_meta_learner(None, "regression", True, None, 0)).__name__ == "ElasticNetCV"
    assert type(make_meta_learner(None, "regression", False, None, 0)).__name__ == "ElasticNet"
    lgb = make_meta_learner("LightGBMClassifier", "classification", False, {"num_leaves": 4}, 0)
    assert lgb.get_params()["num_leaves"] == 4
    with pytest.raises(InvalidSpecError, match="ElasticNet' cannot be the meta-learner of a "
                                               "classification stack"):
        make_meta_learner("ElasticNet", "classification", False, None, 0)
    with pytest.raises(InvalidSpecError, match="stack_meta_learner_kwargs"):
        make_meta_learner("LogisticRegression", "classification", False, {"no_such": 1}, 0)


def test_each_learners_best_trial_stays_an_ensemble_candidate():
    from types import SimpleNamespace

    from cirrusml.engine._final import MAX_CANDIDATES, ensemble_pool
    from cirrusml.engine._search import TrialRecord
    from cirrusml.search import Proposal
    from cirrusml.spec import TaskType
    from cirrusml.tasks import task_for

    def trial(index: int, learner: str, loss: float) -> TrialRecord:
        output = SimpleNamespace(predictions=np.zeros((4, 2)), model_path=None)
        return TrialRecord(index, Proposal(learner, {"i": index}), status="Completed",
                           loss=loss, output=output)

    # A long search: 30 boosted trials, all better than the one logistic regression, which a
    # blend with the trees gains most from.
    trials = [trial(i, "LightGBM", 0.40 + 0.001 * i) for i in range(30)]
    trials.append(trial(30, "LogisticRegression", 0.52))
    trials.append(trial(31, "LogisticRegression", 0.50))
    pool = ensemble_pool(trials, task_for(TaskType.CLASSIFICATION))
    assert [t.index for t in pool[:MAX_CANDIDATES]] == list(range(MAX_CANDIDATES))
    assert [t.index for t in pool[MAX_CANDIDATES:]] == [31]  # that learner's best, once
    # A trial with non-finite predictions never joins.
    trials[31].output.predictions = np.full((4, 2), np.nan)
    assert [t.index for t in ensemble_pool(trials, task_for(TaskType.CLASSIFICATION))][-1] == 30
