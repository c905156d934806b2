"""Distributed TCNForecaster (data-parallel across a LocalCluster's workers, torch gloo) against
the same TCNForecaster in one process, on the same generated panel: fit time, peak memory per
process, and the holdout's error.

    .venv/bin/python benchmarks/dask/distributed_tcn.py --series 400 --days 730 --workers 2

1. The panel: ``--series`` daily series of ``--days`` days (levels from 10 to 1,000, a weekly
   and a yearly season, a trend, a promotion covariate, noise); the last ``--horizon`` days of
   every series are the holdout. Each measured process generates it from the same seed.
2. One process: a fresh Python process fits ``TCNForecaster`` on ``--threads`` threads.
3. Distributed: a fresh process starts a ``LocalCluster`` of ``--workers`` worker processes with
   one thread each and fits the same ``TCNForecaster`` with a ``ClusterShare`` of every worker
   (what each trial of a distributed forecasting job does: the series split between the
   workers, DistributedDataParallel over gloo).
4. Both train the same network (``--windows`` training windows, ``--epochs`` epochs at most,
   early stopping, refit) and forecast the holdout; the error is the mean absolute error over
   the seasonal-naive forecast's (a MASE-like ratio, lower is better). Peak memory is each
   process's own peak RSS, sampled every 0.1 s.

Run it on an otherwise idle machine; the figures go to RESULTS.md by hand, with the commit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distributed_lightgbm import run_measured  # noqa: E402 - the benchmark's own helper


def panel(series: int, days: int, seed: int = 0) -> pd.DataFrame:
    """The generated panel (see the module's doc)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    frames = []
    for k in range(series):
        level = 10.0 * 100 ** (k / max(1, series - 1))
        promo = (rng.random(days) < 0.15).astype(float)
        weekly = np.array([0.0, 0.1, 0.2, 0.15, 0.05, -0.3, -0.2])[(t + k) % 7]
        yearly = 0.3 * np.sin(2 * np.pi * (t + 11 * k) / 365.25)
        y = level * (1 + weekly + yearly + 0.0004 * t + 0.2 * promo
                     + rng.normal(0, 0.05, days))
        frames.append(pd.DataFrame({"store": f"s{k:04d}",
                                    "date": pd.date_range("2022-01-03", periods=days),
                                    "promo": promo, "sales": y}))
    return pd.concat(frames, ignore_index=True)


MEASURED = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[2])
from distributed_tcn import panel
from cirrusml.forecast import TCNForecaster
from cirrusml.tasks import SeriesLayout

def main():
    args = json.loads(sys.argv[1])
    frame = panel(args["series"], args["days"])
    h = args["horizon"]
    position = frame.groupby("store").cumcount()
    test = position >= args["days"] - h
    train, hold = frame[~test], frame[test]
    layout = SeriesLayout(target="sales", time_column="date", id_columns=("store",),
                          horizon=h, freq="D", season_length=7)
    cluster = share = None
    if args["workers"]:
        from distributed import Client, LocalCluster
        from cirrusml.execution import ClusterShare
        cluster = LocalCluster(n_workers=args["workers"], threads_per_worker=1, processes=True,
                               dashboard_address=":0", host="127.0.0.1", memory_limit=0)
        client = Client(cluster, set_as_default=False)
        print(json.dumps({"pids": list(client.run(__import__("os").getpid).values())}),
              flush=True)
        client.close()
        share = ClusterShare(cluster.scheduler_address, workers=args["workers"], seconds=7200)
    model = TCNForecaster(layout=layout, max_samples=args["windows"], epochs=args["epochs"],
                          n_jobs=args["threads"], seed=0, cluster=share)
    start = time.perf_counter()
    model.fit(train.drop(columns=["sales"]), train["sales"])
    fit = time.perf_counter() - start
    forecast = model.predict(hold.drop(columns=["sales"]))
    # The seasonal-naive forecast: the value one week before each holdout day.
    naive = frame.groupby("store")["sales"].shift(7)[test].to_numpy()
    actual = hold["sales"].to_numpy()
    ratio = float(np.mean(np.abs(forecast - actual)) / np.mean(np.abs(naive - actual)))
    print(json.dumps({"fit_s": fit, "error_over_seasonal_naive": ratio,
                      "epochs": int(model.epochs_), "workers": len(model.workers_)}),
          flush=True)
    if cluster is not None:
        cluster.close()

if __name__ == "__main__":
    main()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=400)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parent)
    common = {"series": args.series, "days": args.days, "horizon": args.horizon,
              "windows": args.windows, "epochs": args.epochs}
    code = MEASURED
    single, single_peaks = run_measured(code, {**common, "workers": 0,
                                               "threads": args.threads}, here)
    dist, dist_peaks = run_measured(code, {**common, "workers": args.workers, "threads": 1},
                                    here)
    workers = set(dist.get("pids", []))
    print(json.dumps({
        "one_process": single, "one_process_peak_mb": round(max(single_peaks.values())),
        "distributed": {k: v for k, v in dist.items() if k != "pids"},
        "worker_peaks_mb": sorted(round(v) for p, v in dist_peaks.items() if p in workers),
        "runner_and_nannies_peak_mb": round(max(v for p, v in dist_peaks.items()
                                                if p not in workers))}, indent=1))


if __name__ == "__main__":
    main()
