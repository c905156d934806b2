"""The planner on its own: warm start from the shipped portfolio, the benchmarking override,
repeatability, time-aware proposals and the class-weighting retry."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from cirrusml.exceptions import CirrusMLError
from cirrusml.models import learners_for
from cirrusml.search import CostModel, Planner, Proposal, load_portfolio
from cirrusml.search._portfolio import PORTFOLIO_ENV, greedy_order
from cirrusml.spec import TaskType

REPO = Path(__file__).resolve().parents[1]


def planner(task=TaskType.CLASSIFICATION, names=None, **kw) -> Planner:
    learners = [lr for lr in learners_for(task) if names is None or lr.name in names]
    return Planner(task, learners, n_rows=kw.pop("n_rows", 2000), n_features=10, **kw)


def drain(p: Planner, n: int, loss=lambda i, prop: 1.0 / (i + 1)) -> list:
    out = []
    for i in range(n):
        prop = p.ask()
        if prop is None:
            break
        p.tell(prop, loss(i, prop), 0.1)
        out.append((prop.learner, json.dumps(prop.params, sort_keys=True, default=str),
                    prop.class_weight, prop.source))
    return out


@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
def test_the_warm_start_follows_the_shipped_portfolio(problem):
    task = TaskType.REGRESSION if problem == "regression" else TaskType.CLASSIFICATION
    portfolio = load_portfolio(problem)
    assert portfolio, "the package ships a portfolio for every tabular problem"
    p = planner(task, problem=problem)
    entries = [q for q in p.queue if q.source == "portfolio"]
    # Every entry is tried (minus entries that collapse to the same configuration here) ...
    assert {q.learner for q in entries} == {e["learner"] for e in portfolio}
    assert len(entries) >= len(portfolio) - 2
    # ... ordered by gain per second on this data: the shipped scores and the cost model.
    learners = {lr.name: lr for lr in learners_for(task)}
    scores = {json.dumps([e["learner"], p._fit_to_space(e["learner"], e["params"])],
                         sort_keys=True, default=str): e["scores"] for e in portfolio}
    ordered = [scores[json.dumps([q.learner, q.params], sort_keys=True, default=str)]
               for q in entries]
    seconds = [p.costs.seconds(learners[q.learner], q.params) for q in entries]
    order = greedy_order(ordered, seconds, p.cost_power)
    assert order == list(range(len(order)))
    assert order, "the first entries raise the development datasets' best scores"
    # Every allowed learner gets tried: those the portfolio does not cover at their defaults.
    assert {q.learner for q in p.queue} == {lr.name for lr in learners_for(task)}


def test_the_warm_start_puts_an_entry_that_is_slow_on_this_data_behind_cheaper_ones():
    # Three entries: a KNN that wins dataset a, a decision tree that wins b, and an SVM that is
    # nearly best on both.
    portfolio = [{"learner": "SVM", "params": {}, "scores": {"a": 0.9, "b": 0.9}},
                 {"learner": "KNN", "params": {}, "scores": {"a": 1.0, "b": 0.2}},
                 {"learner": "DecisionTree", "params": {}, "scores": {"a": 0.2, "b": 1.0}}]
    names = {"SVM", "KNN", "DecisionTree"}

    def first_three(svm_seconds: float) -> list[str]:
        costs = CostModel({f"Classification/{name}": {"const": math.log(seconds)} for name,
                           seconds in {"SVM": svm_seconds, "KNN": 1.0,
                                       "DecisionTree": 1.0}.items()})
        p = planner(names=names, portfolio=portfolio, cost_model=costs)
        return [q.learner for q in p.queue if q.source == "portfolio"]

    # At equal cost the SVM goes first: it raises the mean best score most.
    assert first_three(1.0) == ["SVM", "KNN", "DecisionTree"]
    # A hundred times dearer on this data, it goes last: the two cheap entries promise more
    # per second, and after them it adds nothing.
    assert first_three(100.0) == ["KNN", "DecisionTree", "SVM"]
    # Without scores (an older portfolio file) the file's order stands.
    plain = [{k: v for k, v in e.items() if k != "scores"} for e in portfolio[::-1]]
    p = planner(names=names, portfolio=plain, cost_model=CostModel())
    assert [q.learner for q in p.queue if q.source == "portfolio"] == [
        "DecisionTree", "KNN", "SVM"]


def test_the_warm_start_keeps_to_the_allowed_learners():
    p = planner(names={"LightGBM", "LogisticRegression"}, problem="binary")
    assert {q.learner for q in p.queue} == {"LightGBM", "LogisticRegression"}
    # Few entries are left for two learners: their library defaults go first.
    assert [q.source for q in p.queue[:2]] == ["default", "default"]
    assert p.queue[2].source == "portfolio"


def test_a_portfolio_file_can_replace_the_shipped_one(tmp_path, monkeypatch):
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps({"portfolios": {"binary": [
        {"learner": "KNN", "params": {}}, {"learner": "DecisionTree", "params": {}}]}}))
    monkeypatch.setenv(PORTFOLIO_ENV, str(path))
    assert [e["learner"] for e in load_portfolio("binary")] == ["KNN", "DecisionTree"]
    p = planner(problem="binary")
    # Two entries make a thin warm start: every learner's default, then the file's entries.
    portfolio = [q.learner for q in p.queue if q.source == "portfolio"]
    assert portfolio == ["KNN", "DecisionTree"]
    assert p.queue[0].source == "default"
    monkeypatch.setenv(PORTFOLIO_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(CirrusMLError, match=PORTFOLIO_ENV):
        load_portfolio("binary")


def test_a_seeded_planner_repeats_and_another_seed_differs():
    a = drain(planner(seed=3, problem="binary"), 45)
    b = drain(planner(seed=3, problem="binary"), 45)
    c = drain(planner(seed=4, problem="binary"), 45)
    assert a == b
    assert len(a) == 45
    assert a != c  # the Bayesian phase depends on the seed
    assert {s for *_rest, s in a} >= {"portfolio", "bayesian"}


def test_proposals_never_repeat_a_configuration():
    seen = drain(planner(names={"LightGBM", "RandomForest"}, problem="binary"), 40)
    keys = [(name, params, weight) for name, params, weight, _s in seen]
    assert len(keys) == len(set(keys))


def test_a_learner_too_slow_for_the_time_left_is_not_proposed():
    p = planner(names={"LightGBM", "SVM"}, problem="binary", n_rows=50_000)
    p.tell(p.ask(), 0.5, 1.0)  # learn how long a unit of work takes here
    svm = p.learners["SVM"]
    p.tell(Proposal("SVM", svm.default_params(p.task, 50_000, 20)), 0.45, 120.0)
    for _ in range(20):
        prop = p.ask(time_left=10.0)
        if prop is None:
            break
        assert prop.learner != "SVM"
        p.tell(prop, 0.4, 0.5)


def test_a_learner_waits_for_its_first_timing_before_its_next_warm_start_entry():
    p = planner(names={"SVM", "LightGBM", "XGBoostClassifier"}, problem="binary",
                n_rows=40_000)
    svm_entries = [q for q in p.queue if q.learner == "SVM"]
    assert len(svm_entries) >= 2, "the shipped portfolio has two SVM configurations"
    first = None
    asked = []
    while first is None:
        prop = p.ask(time_left=50.0)
        asked.append(prop)
        if prop.learner == "SVM":
            first = prop
        else:
            p.tell(prop, 0.3, 0.5)
    # While the first SVM runs, other learners' entries (and then the Bayesian phase) go on.
    for _ in range(6):
        prop = p.ask(time_left=50.0)
        assert prop is not None and prop.learner != "SVM"
        p.tell(prop, 0.3, 0.5)
    assert any(q.learner == "SVM" for q in p.queue)  # deferred, not dropped
    # It took 30 s: the other SVM entries no longer fit in 20 s and are passed over.
    p.tell(first, 0.35, 30.0)
    for _ in range(6):
        prop = p.ask(time_left=20.0)
        assert prop is not None and prop.learner != "SVM"
        p.tell(prop, 0.3, 0.5)
    assert not any(q.learner == "SVM" for q in p.queue)


def test_imbalanced_data_retries_the_best_learners_with_class_weighting():
    p = planner(names={"LightGBM", "LogisticRegression", "RandomForest"}, problem="binary",
                imbalanced=True)
    losses = {"LightGBM": 0.2, "LogisticRegression": 0.3, "RandomForest": 0.25}
    proposals = []
    for _ in range(12):
        prop = p.ask()
        proposals.append(prop)
        # Balanced versions of LightGBM win; the others do not.
        better = prop.class_weight == "balanced" and prop.learner == "LightGBM"
        p.tell(prop, losses[prop.learner] - (0.05 if better else -0.01 * (
            prop.class_weight == "balanced")), 0.1)
    balanced = [q.learner for q in proposals if q.source == "class_weight"]
    assert sorted(balanced) == ["LightGBM", "RandomForest"]  # the two best learners
    assert p.balanced_wins == {"LightGBM": True}
    later = [q for q in proposals if q.source == "bayesian" and q.learner == "LightGBM"]
    assert all(q.class_weight == "balanced" for q in later)


def test_a_failed_trial_counts_as_seen_and_the_search_goes_on():
    p = planner(names={"LightGBM"}, problem="binary")
    first = p.ask()
    p.tell(first, None, 0.0)
    assert math.isinf(p.seen[first.key])
    assert p.ask() is not None


def test_the_leave_one_out_portfolio_build_writes_a_usable_file(tmp_path, monkeypatch):
    out = tmp_path / "without-adult.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "portfolio" / "build_portfolio.py"),
                    "--leave-out", "adult", "--out", str(out)], check=True)
    built = json.loads(out.read_text())
    assert built["built_with"]["left_out"] == "adult"
    assert set(built["portfolios"]) == {"binary", "multiclass", "regression"}
    monkeypatch.setenv(PORTFOLIO_ENV, str(out))
    assert load_portfolio("binary") == built["portfolios"]["binary"]
