"""A LightGBM-only job against one LightGBM at its library defaults, on the same split.

    .venv/bin/python benchmarks/lightgbm_only.py ../shared/datasets/soybean --budget 60
    .venv/bin/python benchmarks/lightgbm_only.py --generated-26-classes --budget 60

Issue 13's check: with only LightGBM allowed, the job's best model should be no worse on the
test split than ``lightgbm.LGBMClassifier()`` / ``LGBMRegressor()`` fitted on the same training
rows (pandas categories for text columns). The split is 80/20, seed 0 (stratified for
classification); the job runs through the public API at ``timeout_minutes = budget / 60`` and
``max_concurrent_trials=2``, with the dataset's benchmark metric as its primary metric.
``--generated-26-classes`` takes the 20,000-row, 26-class set of ``benchmarks/generated.py``.
Prints one JSON line: the job's test score, the library default's, the fit seconds, the job's
trial count (ensembles included) and how many timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from generated import generated_26_classes

METRICS = {"log_loss": "log_loss", "roc_auc": "AUC_weighted",
           "rmse": "normalized_root_mean_squared_error"}


def score(metric: str, y_true: pd.Series, output: np.ndarray, classes: list | None) -> float:
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if metric == "log_loss":
        return float(log_loss(y_true.astype(str), output, labels=[str(c) for c in classes]))
    if metric == "roc_auc":
        return float(roc_auc_score(y_true.astype(str) == str(classes[1]), output[:, 1]))
    return float(mean_squared_error(y_true, output) ** 0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", help="a folder with meta.json and its data")
    parser.add_argument("--generated-26-classes", action="store_true")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds")
    args = parser.parse_args()
    if args.generated_26_classes:
        meta, frame = generated_26_classes()
    else:
        folder = Path(args.dataset)
        meta = json.loads((folder / "meta.json").read_text())
        frame = pd.read_csv(folder / meta.get("file", "data.csv"), low_memory=False)
        frame = frame.drop(columns=[c for c in meta.get("ignore_columns", []) if c in frame])
    target = meta["target"]
    frame = frame[frame[target].notna()].reset_index(drop=True)
    classify = meta["task"] != "regression"
    if classify:
        frame[target] = frame[target].astype(str)

    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=0.2, random_state=0,
                                   stratify=frame[target] if classify else None)
    import lightgbm as lgb
    import mlflow.sklearn

    from cirrusml import Input, MLClient, automl

    work = tempfile.mkdtemp(prefix="cirrus-lgbm-only-")
    path = os.path.join(work, "train.csv")
    train.to_csv(path, index=False)
    client = MLClient(workspace=os.path.join(work, "workspace"))
    factory = automl.classification if classify else automl.regression
    job = factory(training_data=Input(type="uri_file", path=path), target_column_name=target,
                  primary_metric=METRICS[meta["metric"]])
    job.set_limits(timeout_minutes=args.budget / 60.0, max_concurrent_trials=2)
    job.set_training(allowed_training_algorithms=["LightGBM"])
    start = time.monotonic()
    returned = client.jobs.create_or_update(job)
    client.jobs.stream(returned.name)
    fit_seconds = time.monotonic() - start
    model = mlflow.sklearn.load_model(
        os.path.join(work, "workspace", "jobs", returned.name, "outputs", "best_model"))

    X_train, y_train = train.drop(columns=[target]), train[target]
    X_test, y_test = test.drop(columns=[target]), test[target]
    ours = score(meta["metric"], y_test,
                 model.predict_proba(X_test) if classify else model.predict(X_test),
                 list(getattr(model, "classes_", [])) or None)
    for column in X_train.columns:
        if X_train[column].dtype == object:
            categories = pd.CategoricalDtype(sorted(X_train[column].dropna().unique()))
            X_train[column] = X_train[column].astype(categories)
            X_test[column] = X_test[column].astype(categories)
    if classify:
        default = lgb.LGBMClassifier(verbose=-1).fit(X_train, y_train)
        reference = score(meta["metric"], y_test, default.predict_proba(X_test),
                          list(default.classes_))
    else:
        default = lgb.LGBMRegressor(verbose=-1).fit(X_train, y_train)
        reference = score(meta["metric"], y_test, default.predict(X_test), None)
    folder = Path(work, "workspace", "jobs", returned.name, "trials")
    statuses = [json.loads(p.read_text()).get("status") for p in folder.glob("*.json")]
    print(json.dumps({"dataset": meta["name"], "metric": meta["metric"], "job": round(ours, 5),
                      "lightgbm_default": round(reference, 5),
                      "fit_seconds": round(fit_seconds, 1), "trials": len(statuses),
                      "timed_out": statuses.count("TimedOut")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
