"""Prediction speed of the bank-marketing job's best model, against FLAML and AutoGluon.

    .venv/bin/python benchmarks/inference/inference_bench.py --budget 120 \
        --peers ~/bench-peers --out benchmarks/inference/RESULTS.md

1. Runs Azure's bank-marketing job file (``cli-automl-classification-task-bankmarketing.yml``)
   with ``--budget`` seconds, as written (it allows GradientBoosting and LogisticRegression only
   and stops at ``exit_score: 0.92``) and as an open search (both lifted, as the peers have
   neither); each with VotingEnsemble and StackEnsemble on, and with both off
   (``training.enable_vote_ensemble=false``, ``enable_stack_ensemble=false``), the single-model
   option.
2. Trains FLAML and AutoGluon (medium_quality) on the same training rows, with the same budget,
   each in its own venv (``../shared/bench/install_peers.sh``).
3. Times ``predict_proba`` on one row (median of 200 calls) and on 10,000 rows (median of 5), on
   the job's test rows (repeated to 10,000). Run it on an otherwise idle machine.

``--quick`` trains no peers and runs two small jobs instead (trial counts, not a time budget):
the best single model (LightGBM only, ensembles off) and a VotingEnsemble (LightGBM, XGBoost,
LogisticRegression and RandomForest trials), and times each through ``mlflow.sklearn`` and
``mlflow.pyfunc`` (single row p50 of 200 calls; 10,000 rows p50 of 5)::

    PYTHONPATH=src .venv/bin/python benchmarks/inference/inference_bench.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared"
JOB = SHARED / "azure-examples" / "cli-automl-classification-task-bankmarketing" / \
    "cli-automl-classification-task-bankmarketing.yml"
DATA = JOB.parent


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_cirrus(workspace: Path, budget: float, ensembles: bool, open_search: bool) -> dict:
    cirrus = str(Path(sys.executable).with_name("cirrus"))
    args = [cirrus, "job", "create", "--file", str(JOB), "--stream", "--workspace",
            str(workspace), "--set", f"limits.timeout_minutes={budget / 60}",
            "--set", "limits.max_trials=1000",
            "--set", "training.enable_model_explainability=false"]
    if open_search:
        # The job file stops at accuracy 0.92 and allows two algorithms; the peers know no such
        # limits, so the open search lifts both.
        args += ["--set", "limits.exit_score=null",
                 "--set", "training.allowed_training_algorithms=null"]
    if not ensembles:
        args += ["--set", "training.enable_vote_ensemble=false",
                 "--set", "training.enable_stack_ensemble=false"]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, text=True)
    fit = time.perf_counter() - start
    (name,) = [p.name for p in (workspace / "jobs").iterdir()]
    record = json.loads((workspace / "jobs" / name / "record.json").read_text())
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(workspace / "jobs" / name / "outputs" / "best_model"))
    test = pd.read_csv(DATA / "test-mltable-folder" / "bank_marketing_test_data.csv")
    X = test.drop(columns=["y"])
    one = X.head(1)
    many = pd.concat([X] * (10_000 // len(X) + 1), ignore_index=True).head(10_000)
    model.predict_proba(one)
    from sklearn.metrics import accuracy_score, roc_auc_score

    classes = [str(c) for c in model.classes_]
    truth = test["y"].astype(str)
    proba = model.predict_proba(X)[:, classes.index(sorted(classes)[-1])]
    label = "cirrusml, open search" if open_search else "cirrusml, job as written"
    return {"framework": label + ("" if ensembles else ", single model"),
            "best_model": record.get("best_algorithm"), "fit_seconds": round(fit, 1),
            "test_accuracy": accuracy_score(truth, pd.Series(model.predict(X)).astype(str)),
            "test_auc": roc_auc_score(truth == sorted(classes)[-1], proba),
            "one_row_ms": 1000 * timed(lambda: model.predict_proba(one), 200),
            "rows_10k_ms": 1000 * timed(lambda: model.predict_proba(many), 5)}


def run_peer(framework: str, python: str, budget: float, work: Path) -> dict:
    train = pd.read_csv(DATA / "training-mltable-folder" / "bank_marketing_train_data.csv")
    train_path = work / "train.csv"
    train.to_csv(train_path, index=False)
    out = work / f"{framework}.json"
    subprocess.run([python, str(HERE / "peer_predict.py"), framework, str(train_path),
                    str(DATA / "test-mltable-folder" / "bank_marketing_test_data.csv"), "y",
                    str(budget), str(out)], check=True, capture_output=True, text=True,
                   env={**os.environ, "OMP_NUM_THREADS": "2"})
    return json.loads(out.read_text())


def quick_models(workspace: Path) -> dict[str, Path]:
    """Two small jobs on the bank-marketing training rows: their best models' folders."""
    from cirrusml import MLClient, automl

    train = pd.read_csv(DATA / "training-mltable-folder" / "bank_marketing_train_data.csv")
    valid = pd.read_csv(DATA / "validation-mltable-folder" / "bank_marketing_validation_data.csv")
    client = MLClient(workspace=workspace / "ws")
    runs = {"single model": (["LightGBM"], 3, False),
            "VotingEnsemble": (["LightGBM", "XGBoostClassifier", "LogisticRegression",
                                "RandomForest"], 6, True)}
    out = {}
    for label, (algorithms, trials, vote) in runs.items():
        job = automl.classification(training_data=train, validation_data=valid,
                                    target_column_name="y", primary_metric="AUC_weighted",
                                    seed=0)
        job.set_limits(max_trials=trials, max_concurrent_trials=1)
        job.set_training(allowed_training_algorithms=algorithms, enable_vote_ensemble=vote,
                         enable_stack_ensemble=False, enable_model_explainability=False)
        name = client.jobs.create_or_update(job).name
        status = client.jobs.wait(name, timeout=3600)
        if status != "Completed":
            raise SystemExit(f"job {name} ended {status}")
        dest = workspace / label.replace(" ", "_")
        client.jobs.download(name, download_path=dest, output_name="best_model")
        best = client.jobs.record(name).get("best_algorithm")
        out[f"{label} ({best})"] = dest / "named-outputs" / "best_model"
    return out


def time_model(path: Path) -> dict[str, float]:
    """p50 milliseconds of one row (200 calls) and 10,000 rows (5 calls), through
    ``mlflow.sklearn`` (``predict_proba``) and ``mlflow.pyfunc`` (``predict``)."""
    import mlflow.pyfunc
    import mlflow.sklearn

    test = pd.read_csv(DATA / "test-mltable-folder" / "bank_marketing_test_data.csv")
    X = test.drop(columns=["y"])
    many = pd.concat([X] * (10_000 // len(X) + 1), ignore_index=True).head(10_000)
    sk = mlflow.sklearn.load_model(str(path))
    py = mlflow.pyfunc.load_model(str(path))
    rows = [X.iloc[[i]] for i in range(200)]
    out = {}
    for key, fn in (("sklearn", sk.predict_proba), ("pyfunc", py.predict)):
        fn(rows[0])
        times = []
        for row in rows:
            start = time.perf_counter()
            fn(row)
            times.append(time.perf_counter() - start)
        out[f"{key}_one_row_ms"] = 1000 * statistics.median(times)
        out[f"{key}_10k_ms"] = 1000 * timed(lambda fn=fn: fn(many), 5)
    return out


def quick(out: str | None) -> int:
    lines = ["| model | `predict_proba`, 1 row p50 (ms) | `predict_proba`, 10,000 rows (ms) "
             "| pyfunc `predict`, 1 row p50 (ms) | pyfunc `predict`, 10,000 rows (ms) |",
             "|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in quick_models(Path(tmp)).items():
            r = time_model(path)
            lines.append(f"| {label} | {r['sklearn_one_row_ms']:.2f} | {r['sklearn_10k_ms']:.0f} "
                         f"| {r['pyfunc_one_row_ms']:.2f} | {r['pyfunc_10k_ms']:.0f} |")
    text = "\n".join(lines) + "\n"
    if out:
        Path(out).write_text(text)
    print(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds")
    parser.add_argument("--peers", default=os.path.expanduser("~/bench-peers"))
    parser.add_argument("--out", default=None,
                        help="markdown table to write (default: RESULTS.md; none with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="two small jobs, no peers: single-row and 10k-row latency only")
    args = parser.parse_args()
    if args.quick:
        return quick(args.out)
    args.out = args.out or str(HERE / "RESULTS.md")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for open_search in (False, True):
            for ensembles in (True, False):
                workspace = work / f"ws-{open_search}-{ensembles}"
                rows.append(run_cirrus(workspace, args.budget, ensembles, open_search))
        for framework in ("flaml", "autogluon"):
            python = os.path.join(args.peers, framework, "venv", "bin", "python")
            if os.path.exists(python):
                rows.append(run_peer(framework, python, args.budget, work))
    lines = ["| framework | best model | fit s | test accuracy | test AUC | 1 row (ms) | "
             "10,000 rows (ms) | rows/s (10k) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['framework']} | {r['best_model']} | {r['fit_seconds']} | "
                     f"{r['test_accuracy']:.4f} | {r['test_auc']:.4f} | "
                     f"{r['one_row_ms']:.1f} | {r['rows_10k_ms']:.0f} | "
                     f"{10_000 / (r['rows_10k_ms'] / 1000):,.0f} |")
    text = (f"Bank marketing (29,999 training rows, 20 columns), training budget "
            f"{args.budget:.0f} s, 2 cores; `predict_proba` medians.\n\n" + "\n".join(lines) + "\n")
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
