"""Train a peer (FLAML or AutoGluon) and time its predictions; run with the peer's own Python.

    python peer_predict.py {flaml|autogluon} TRAIN.csv TEST.csv TARGET BUDGET OUT.json

Needs only the peer's venv (numpy, pandas and the framework), made by
../shared/bench/install_peers.sh. Prints nothing; writes the timings as JSON.
"""

import json
import statistics
import sys
import tempfile
import time

import pandas as pd


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    framework, train_path, test_path, target, budget, out = sys.argv[1:7]
    budget = float(budget)
    train = pd.read_csv(train_path)
    labelled = pd.read_csv(test_path)
    test = labelled.drop(columns=[target])
    one = test.head(1)
    many = pd.concat([test] * (10_000 // len(test) + 1), ignore_index=True).head(10_000)
    start = time.perf_counter()
    if framework == "flaml":
        from flaml import AutoML

        model = AutoML()
        model.fit(train.drop(columns=[target]), train[target], task="classification",
                  time_budget=budget, metric="accuracy", n_jobs=2, verbose=0)
        best = str(model.best_estimator)
        predict = model.predict_proba
    else:
        from autogluon.tabular import TabularPredictor

        model = TabularPredictor(label=target, path=tempfile.mkdtemp(), verbosity=0,
                                 eval_metric="accuracy")
        model.fit(train, time_limit=budget, presets="medium_quality")
        best = str(model.model_best)
        predict = model.predict_proba
        model.persist()  # keep models in memory, as a served predictor would
    fit_seconds = time.perf_counter() - start
    predict(one)  # warm up
    from sklearn.metrics import accuracy_score, roc_auc_score

    positive = sorted(train[target].astype(str).unique())[-1]
    proba = pd.DataFrame(predict(test))
    if framework == "flaml":
        proba.columns = [str(c) for c in model.classes_]
    truth = labelled[target].astype(str)
    result = {"framework": framework, "best_model": best, "fit_seconds": round(fit_seconds, 1),
              "test_accuracy": accuracy_score(truth, pd.Series(model.predict(test)).astype(str)),
              "test_auc": roc_auc_score(truth == positive, proba[positive]),
              "one_row_ms": 1000 * timed(lambda: predict(one), 50),
              "rows_10k_ms": 1000 * timed(lambda: predict(many), 5)}
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
