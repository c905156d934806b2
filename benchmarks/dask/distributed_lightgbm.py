"""Distributed LightGBM (``lightgbm.dask`` across a LocalCluster) against single-process LightGBM
on the same generated rows: wall time, peak memory per process, and the holdout's AUC.

    .venv/bin/python benchmarks/dask/distributed_lightgbm.py --rows 5000000 --workers 2

1. Rows: ``--rows`` training rows (and a 10% holdout) of 10 numeric columns (2% missing) and two
   text columns (8 and 50 categories), a binary label from a fixed non-linear rule plus noise,
   written to Parquet files of 250,000 rows in a temporary folder (generated file by file, so the
   generator never holds them all).
2. Single process: a fresh Python process reads every training file into pandas, featurizes as
   the distributed job does (text columns as categories), and fits ``lightgbm.LGBMClassifier``
   on ``--threads`` threads.
3. Distributed: a fresh process starts a ``LocalCluster`` of ``--workers`` worker processes with
   one thread each, reads the files as a Dask DataFrame (``cirrusml.data.dask_frame``), fits the
   featurization from cluster statistics and trains cirrusml's LightGBM learner with
   ``fit_dask`` (what each trial of a ``training_mode: distributed`` job does).
4. Both fit the same 100 trees (learning rate 0.1, 31 leaves: ``fit_dask`` fits
   ``10 / learning_rate`` trees, having no early stopping) and are scored on the same holdout
   file. Peak memory is each process's own peak RSS, sampled every 0.1 s with
   psutil (the runner and, for Dask, every worker process and the nanny tree).

Run it on an otherwise idle machine; the figures go to RESULTS.md by hand, with the commit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROWS_PER_FILE = 250_000
TREES = 100


def _rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    X = rng.normal(size=(n, 10))
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(10)])
    frame["shop"] = rng.choice([f"s{j}" for j in range(8)], n)
    frame["city"] = rng.choice([f"c{j}" for j in range(50)], n)
    shop = frame.shop.str[1:].astype(int).to_numpy()
    logit = (X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * X[:, 3] ** 2 - 1
             + 0.3 * (shop % 3) + rng.normal(0, 0.5, n))
    frame["label"] = np.where(logit > 0, "yes", "no")
    for j in range(10):
        frame.loc[rng.random(n) < 0.02, f"x{j}"] = np.nan
    return frame


def generate(folder: Path, holdout: Path, rows: int, seed: int = 0) -> list[Path]:
    """``rows`` training rows in files of :data:`ROWS_PER_FILE` in ``folder``, and a holdout of
    ``rows // 10`` rows (at most 500,000) in the file ``holdout``."""
    rng = np.random.default_rng(seed)
    files = []
    for i, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        path = folder / f"part-{i:03d}.parquet"
        _rows(rng, min(ROWS_PER_FILE, rows - start)).to_parquet(path)
        files.append(path)
    _rows(rng, min(500_000, max(1, rows // 10))).to_parquet(holdout)
    return files


SINGLE = r"""
import json, sys, time
import numpy as np, pandas as pd, lightgbm as lgb
from sklearn.metrics import roc_auc_score
files, holdout, trees, threads = json.loads(sys.argv[1])
start = time.perf_counter()
frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
read = time.perf_counter() - start
y = (frame.pop("label") == "yes").astype(int).to_numpy()
cats = {c: sorted(frame[c].unique()) for c in ("shop", "city")}
for c, values in cats.items():
    frame[c] = pd.Categorical(frame[c], categories=values)
model = lgb.LGBMClassifier(n_estimators=trees, learning_rate=0.1, num_leaves=31,
                           n_jobs=threads, verbose=-1).fit(frame, y)
fit = time.perf_counter() - start - read
test = pd.read_parquet(holdout)
y_test = (test.pop("label") == "yes").astype(int).to_numpy()
for c, values in cats.items():
    test[c] = pd.Categorical(test[c], categories=values)
auc = roc_auc_score(y_test, model.predict_proba(test)[:, 1])
print(json.dumps({"rows": len(frame), "read_s": read, "fit_s": fit, "auc": auc}))
"""

DISTRIBUTED = r"""
import json, sys, time
import numpy as np, pandas as pd
from distributed import Client, LocalCluster
from sklearn.metrics import roc_auc_score
from cirrusml.data import dask_frame
from cirrusml.featurize import fit_distributed_featurization
from cirrusml.models import get_learner
from cirrusml.spec import TaskType

def main():
    folder, holdout, trees, workers = json.loads(sys.argv[1])
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", host="127.0.0.1", memory_limit=0)
    client = Client(cluster, set_as_default=False)
    print(json.dumps({"pids": [p for p in client.run(__import__("os").getpid).values()]}),
          flush=True)
    start = time.perf_counter()
    ddf = dask_frame("uri_folder", folder)
    X, y = ddf.drop(columns=["label"]), ddf["label"]
    featurization = fit_distributed_featurization(X, client)
    X = featurization.apply(X)
    X, y = client.persist([X, y])
    rows = int(client.compute(y.size, sync=True))
    read = time.perf_counter() - start
    learner = get_learner("LightGBM", TaskType.CLASSIFICATION)
    model = learner.build(TaskType.CLASSIFICATION, {"learning_rate": 0.1, "num_leaves": 31},
                          n_jobs=1, seed=0)
    model.n_estimators = trees  # fit_dask fits min(trees, 500, 10 / learning_rate) trees
    with client.as_current():
        model.fit_dask(client, X, y, classes=["no", "yes"], time_out_minutes=30)
    fit = time.perf_counter() - start - read
    test = pd.read_parquet(holdout)
    y_test = (test.pop("label") == "yes").astype(int).to_numpy()
    proba = model.predict_proba(featurization.transform(test))[:, 1]
    print(json.dumps({"rows": rows, "read_s": read, "fit_s": fit,
                      "auc": roc_auc_score(y_test, proba),
                      "trees": int(model.best_iteration_)}), flush=True)
    client.close()
    cluster.close()

if __name__ == "__main__":
    main()
"""


def run_measured(code: str, arg: object, *extra: str) -> tuple[dict, dict[int, float]]:
    """Run ``code`` in a fresh interpreter (``arg`` as JSON, then ``extra``, its arguments);
    its JSON lines merged, and every process's peak RSS in MB (the interpreter and its
    descendants, sampled every 0.1 s)."""
    process = subprocess.Popen([sys.executable, "-c", code, json.dumps(arg), *extra],
                               stdout=subprocess.PIPE, text=True)
    peaks: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        rss = proc.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    peaks[proc.pid] = max(peaks.get(proc.pid, 0.0), rss)
            except psutil.Error:
                pass
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = process.communicate()
    done.set()
    thread.join()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    result = {k: v for line in lines for k, v in line.items()}
    if process.returncode != 0:
        raise SystemExit(f"the measured process failed ({process.returncode}): {out[-2000:]}")
    return result, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cirrus-dlgbm-") as tmp:
        folder = Path(tmp) / "train"
        folder.mkdir()
        start = time.perf_counter()
        held = Path(tmp) / "holdout.parquet"
        files = generate(folder, held, args.rows)
        print(f"generated {args.rows:,} rows in {len(files)} files "
              f"({sum(f.stat().st_size for f in files) / 2**20:.0f} MB) in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        single, single_peaks = run_measured(
            SINGLE, [[str(f) for f in files], str(held), TREES, args.threads])
        dist, dist_peaks = run_measured(
            DISTRIBUTED, [str(folder), str(held), TREES, args.workers])
    workers = set(dist.get("pids", []))
    worker_peaks = [v for pid, v in dist_peaks.items() if pid in workers]
    others = [v for pid, v in dist_peaks.items() if pid not in workers]
    print(json.dumps({"single": single, "single_peak_mb": max(single_peaks.values()),
                      "distributed": {k: v for k, v in dist.items() if k != "pids"},
                      "worker_peaks_mb": sorted(worker_peaks),
                      "runner_and_nannies_peak_mb": max(others) if others else None},
                     indent=1))


if __name__ == "__main__":
    main()
