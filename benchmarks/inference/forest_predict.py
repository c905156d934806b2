"""Prediction time of scikit-learn forests: plain, compiled (``models/_forest_compiled``) and
onnxruntime, alone and inside a VotingEnsemble.

    PYTHONPATH=src .venv/bin/python benchmarks/inference/forest_predict.py

Synthetic binary classification (``make_classification``: 40 features, 15 informative; 10,000
training rows, predictions on 10,000 other rows). The forests are built by cirrusml's learners
with their defaults (fully grown trees) and the given tree counts: an ExtremeRandomTrees of 583
trees and a RandomForest of 100. The VotingEnsemble has the twelve members of ``ENSEMBLE`` (as
the ensemble measured in issue 10), each a pipeline of a shared ``StandardScaler`` and a model
built by cirrusml's learner.

"plain" is the estimator settled as before (``n_jobs=1``), "compiled" after
``settle_for_prediction`` (what a saved model holds), "onnx" an onnxruntime session of the
forest's skl2onnx conversion (one thread, float32 input). Times: ``predict_proba`` on one row
(median of 200 calls) and on 10,000 rows (median of 5 calls), and the largest difference from
the plain probabilities. ``--rows`` also times the given batch sizes (median of 20), to place
the crossover (``MAX_ROWS``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import time
from typing import Any

import numpy as np
from sklearn.datasets import make_classification
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from cirrusml.engine._model_io import settle_for_prediction
from cirrusml.ensemble import VotingClassifierEnsemble
from cirrusml.models import get_learner
from cirrusml.models._forest_compiled import uncompile
from cirrusml.spec import TaskType


def timed(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


#: The VotingEnsemble's members: learner, hyperparameters, seed (the 12 members of the
#: ensemble measured in issue 10: 3 XGBoost, 2 LightGBM, 4 forests, SGD, 2 naive Bayes).
ENSEMBLE = [
    ("XGBoostClassifier", {}, 0), ("XGBoostClassifier", {"max_depth": 8}, 1),
    ("XGBoostClassifier", {"n_estimators": 300}, 2), ("LightGBM", {}, 0),
    ("LightGBM", {"num_leaves": 63}, 1), ("RandomForest", {"n_estimators": 100}, 0),
    ("ExtremeRandomTrees", {"n_estimators": 9}, 0),
    ("ExtremeRandomTrees", {"n_estimators": 100}, 1),
    ("ExtremeRandomTrees", {"n_estimators": 583}, 2), ("SGD", {}, 0),
    ("BernoulliNaiveBayes", {}, 0), ("MultinomialNaiveBayes", {}, 0),
]


def build(name: str, params: dict[str, Any], seed: int, X: np.ndarray, y: np.ndarray,
          scaler: Any = None) -> Any:
    """A fitted estimator of learner ``name``, on scaled rows when ``scaler`` is given."""
    learner = get_learner(name, TaskType.CLASSIFICATION)
    estimator = learner.build(TaskType.CLASSIFICATION, params, n_jobs=2, seed=seed)
    return estimator.fit(X if scaler is None else scaler.transform(X), y)


def forest(name: str, trees: int, X: np.ndarray, y: np.ndarray) -> Any:
    return build(name, {"n_estimators": trees}, 0, X, y)


def plain(model: Any) -> None:
    """Settle ``model`` and route its forests back to scikit-learn (the path before)."""
    settle_for_prediction(model)
    estimators = model.estimators if hasattr(model, "estimators") else [model]
    for member in estimators:
        final = member.steps[-1][1] if isinstance(member, Pipeline) else member
        if hasattr(final, "estimators_"):
            uncompile(final)


def onnx_session(estimator: Any, width: int) -> Any:
    import onnxruntime as ort
    from skl2onnx import to_onnx

    onx = to_onnx(estimator, np.zeros((1, width), dtype=np.float32),
                  options={id(estimator): {"zipmap": False}}, target_opset=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(onx.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[])
    parser.add_argument("--no-onnx", action="store_true")
    args = parser.parse_args()
    X, y = make_classification(n_samples=20_000, n_features=40, n_informative=15,
                               random_state=0)
    X_train, y_train, X_test = X[:10_000], y[:10_000], X[10_000:]
    one = X_test[:1]
    print(f"load average {os.getloadavg()[0]:.2f}")
    rows = []
    forests = {"ExtremeRandomTrees 583": forest("ExtremeRandomTrees", 583, X_train, y_train),
               "RandomForest 100": forest("RandomForest", 100, X_train, y_train)}
    for label, estimator in forests.items():
        plain(estimator)
        expected = estimator.predict_proba(X_test)
        expected_one = estimator.predict_proba(one)
        base = (timed(lambda e=estimator: e.predict_proba(one), 200),
                timed(lambda e=estimator: e.predict_proba(X_test), 5))
        sizes = {n: timed(lambda e=estimator, n=n: e.predict_proba(X_test[:n]), 20)
                 for n in args.rows}
        rows.append((label, "plain", *base, 0.0, sizes))
        if not args.no_onnx:
            session = onnx_session(estimator, X.shape[1])
            name = session.get_inputs()[0].name
            X32, one32 = X_test.astype(np.float32), one.astype(np.float32)
            got = session.run(None, {name: X32})[1]
            got_one = session.run(None, {name: one32})[1]
            diff = max(np.abs(got - expected).max(), np.abs(got_one - expected_one).max())
            times = (timed(lambda s=session, k=name, v=one32: s.run(None, {k: v}), 200),
                     timed(lambda s=session, k=name, v=X32: s.run(None, {k: v}), 5))
            sizes = {n: timed(lambda s=session, k=name, v=X32[:n]: s.run(None, {k: v}), 20)
                     for n in args.rows}
            rows.append((label, "onnx", *times, float(diff), sizes))
        settle_for_prediction(estimator)
        estimator = pickle.loads(pickle.dumps(estimator))  # as a saved model holds it
        diff = max(np.abs(estimator.predict_proba(X_test) - expected).max(),
                   np.abs(estimator.predict_proba(one) - expected_one).max())
        times = (timed(lambda e=estimator: e.predict_proba(one), 200),
                 timed(lambda e=estimator: e.predict_proba(X_test), 5))
        sizes = {n: timed(lambda e=estimator, n=n: e.predict_proba(X_test[:n]), 20)
                 for n in args.rows}
        rows.append((label, "compiled", *times, float(diff), sizes))

    scaler = StandardScaler().fit(X_train)
    members = [build(name, params, seed, X_train, y_train, scaler)
               for name, params, seed in ENSEMBLE]
    pipelines = [Pipeline([("scale", scaler), ("model", member)]) for member in members]
    ensemble = VotingClassifierEnsemble(estimators=pipelines, weights=[1.0] * len(pipelines),
                                        classes=[0, 1])
    plain(ensemble)
    expected = ensemble.predict_proba(X_test)
    base = (timed(lambda: ensemble.predict_proba(one), 200),
            timed(lambda: ensemble.predict_proba(X_test), 5))
    rows.append((f"VotingEnsemble ({len(ENSEMBLE)} members)", "plain", *base, 0.0, {}))
    settle_for_prediction(ensemble)
    ensemble = pickle.loads(pickle.dumps(ensemble))
    diff = float(np.abs(ensemble.predict_proba(X_test) - expected).max())
    times = (timed(lambda: ensemble.predict_proba(one), 200),
             timed(lambda: ensemble.predict_proba(X_test), 5))
    rows.append((f"VotingEnsemble ({len(ENSEMBLE)} members)", "compiled", *times, diff, {}))

    extra = "".join(f" {n} rows (ms) |" for n in args.rows)
    print(f"| model | path | 1 row p50 (ms) | 10,000 rows (ms) | max abs diff |{extra}")
    print("|---|---|---:|---:|---:|" + "---:|" * len(args.rows))
    for label, path, single, batch, diff, sizes in rows:
        cells = "".join(f" {sizes[n]:.2f} |" if n in sizes else " — |" for n in args.rows)
        print(f"| {label} | {path} | {single:.2f} | {batch:.0f} | {diff:.1e} |{cells}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
