"""One AutoML job run locally and on a 4-worker Dask LocalCluster, side by side.

    PYTHONPATH=src .venv/bin/python benchmarks/dask/local_vs_dask.py \
        --dataset magic_telescope --trials 8 --concurrent 4 --out /tmp/local_vs_dask.md

1. Runs the job on this machine (``LocalBackend``: the runner and its worker processes).
2. Registers a Dask compute in the same workspace (``DaskCompute(local=True, workers=N)``, a
   ``distributed.LocalCluster`` started in the background) and runs the same job, with the same
   seed, on it (``compute="azureml:NAME"``). The compute is deleted (its cluster stopped) at the
   end, also when a job fails or the script is interrupted.

For each job it reports the wall time from submission to terminal status, the peak resident
memory of each process (sampled with psutil every 0.2 s over the runner's process tree and, for
the Dask job, over each Dask worker's tree and the cluster process holding the scheduler and
the nannies), the job record's count of child runs (the trials and the VotingEnsemble and
StackEnsemble) and the best score, and whether the two jobs agree on both. The budget is a
trial count (``--trials``), not seconds. Model explanations are off (a final step, not a
trial). Run it on an otherwise idle machine: the jobs run one after the other on its cores, and
the load average at start and end is recorded for that reason.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
COMPUTE = "bench-dask"
SAMPLE_SECONDS = 0.2


class Sampler:
    """Peak RSS of every process in the trees of a changing set of root pids.

    ``roots`` is called every ``refresh`` seconds (it may be slow, e.g. ask a scheduler) and
    returns ``{pid: role}``; each descendant of a root that is not a root itself is sampled
    under ``role + " child"``.
    """

    def __init__(self, roots: Any, refresh: float = 2.0) -> None:
        self._roots = roots
        self._refresh = refresh
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current: dict[int, str] = {}
        #: pid -> (role, peak rss bytes)
        self.peaks: dict[int, tuple[str, int]] = {}
        #: The largest sum of RSS over all sampled processes at one instant.
        self.peak_total = 0
        self._threads = [threading.Thread(target=self._watch_roots, daemon=True),
                         threading.Thread(target=self._sample, daemon=True)]

    def __enter__(self) -> Sampler:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _watch_roots(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                roots = self._roots()
                with self._lock:
                    self._current = dict(roots)
            self._stop.wait(self._refresh)

    def _sample(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                roots = dict(self._current)
            procs: dict[int, tuple[psutil.Process, str]] = {}
            for pid, role in roots.items():
                with contextlib.suppress(psutil.Error):
                    root = psutil.Process(pid)
                    procs.setdefault(pid, (root, role))
                    for child in root.children(recursive=True):
                        if child.pid not in roots:
                            procs.setdefault(child.pid, (child, f"{role} child"))
            total = 0
            for pid, (proc, role) in procs.items():
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                _, peak = self.peaks.get(pid, (role, 0))
                self.peaks[pid] = (role, max(peak, rss))
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(SAMPLE_SECONDS)


def load_job(dataset: Path, trials: int, concurrent: int, compute: str | None) -> Any:
    from cirrusml import automl

    meta = json.loads((dataset / "meta.json").read_text())
    data = pd.read_csv(dataset / meta.get("file", "data.csv"))
    task = meta["task"]
    if task in ("binary", "multiclass"):
        job = automl.classification(
            training_data=data, target_column_name=meta["target"],
            primary_metric="AUC_weighted", n_cross_validations=3, compute=compute, seed=0)
    elif task == "regression":
        job = automl.regression(
            training_data=data, target_column_name=meta["target"],
            primary_metric="normalized_root_mean_squared_error", compute=compute, seed=0)
    else:
        raise SystemExit(f"dataset {dataset.name}: task {task!r}; this benchmark runs binary, "
                         "multiclass and regression datasets only.")
    job.set_limits(max_trials=trials, max_concurrent_trials=concurrent)
    job.set_training(enable_model_explainability=False)
    return job


def run_job(client: Any, job: Any, label: str, dask_processes: Any = None) -> dict[str, Any]:
    """Submit ``job``, sample memory until it ends, return its figures."""
    start = time.perf_counter()
    name = client.jobs.create_or_update(job).name
    runner: dict[str, int | None] = {"pid": None}

    def roots() -> dict[int, str]:
        out: dict[int, str] = {}
        if runner["pid"] is None:
            runner["pid"] = client.jobs.job_record(name).pid
        if runner["pid"]:
            out[int(runner["pid"])] = "runner"
        if dask_processes is not None:
            out.update(dask_processes())
        return out

    with Sampler(roots, refresh=0.5 if dask_processes is None else 3.0) as sampler:
        status = client.jobs.wait(name, poll_seconds=0.2)
        wall = time.perf_counter() - start
    record = client.jobs.job_record(name)
    return {"label": label, "name": name, "status": status, "wall": wall,
            "trials": record.trials, "best_score": record.best_score,
            "best_algorithm": record.best_algorithm, "metric": record.primary_metric,
            "error": record.error, "peaks": sampler.peaks, "peak_total": sampler.peak_total}


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def memory_cells(result: dict[str, Any]) -> tuple[str, str, str]:
    """Runner peak, the other processes' peaks (largest first), and the tree total."""
    runner = [rss for role, rss in result["peaks"].values() if role == "runner"]
    others = sorted(((rss, role) for role, rss in result["peaks"].values() if role != "runner"),
                    reverse=True)
    parts = [f"{mb(rss)} ({role})" for rss, role in others]
    return (mb(max(runner)) if runner else "—", ", ".join(parts) or "—",
            mb(result["peak_total"]))


def report(results: list[dict[str, Any]], args: argparse.Namespace, commit: str,
           command: str, loads: tuple[Any, Any], cluster_seconds: float | None) -> str:
    lines = ["| job | status | wall s | child runs (trials + ensembles) | best score | best model "
             "| runner peak RSS MB | other processes' peak RSS MB | peak total RSS MB |",
             "|---|---|---:|---:|---:|---|---:|---|---:|"]
    for r in results:
        runner, others, total = memory_cells(r)
        score = "—" if r["best_score"] is None else f"{r['best_score']:.6f}"
        lines.append(f"| {r['label']} | {r['status']} | {r['wall']:.1f} | {r['trials']} | "
                     f"{score} | {r['best_algorithm']} | {runner} | {others} | {total} |")
    text = [f"Dataset `{args.dataset}`, {args.trials} trials, max_concurrent_trials "
            f"{args.concurrent}, Dask LocalCluster of {args.workers} workers (1 thread each), "
            f"seed 0, {os.cpu_count()} cores.", "", *lines, ""]
    if len(results) == 2:
        a, b = results
        same_trials = a["trials"] == b["trials"]
        same_score = (a["best_score"] is not None and b["best_score"] is not None
                      and abs(a["best_score"] - b["best_score"]) <= 1e-9)
        text.append(f"Child-run counts agree: {'yes' if same_trials else 'no'}; best scores agree: "
                    f"{'yes' if same_score else 'no'}.")
    for r in results:
        if r["error"]:
            text.append(f"{r['label']} error: {r['error']}")
    if cluster_seconds is not None:
        text.append(f"Starting the cluster (not in the Dask job's wall time): "
                    f"{cluster_seconds:.1f} s.")
    text += ["", f"Commit `{commit}`; load average (1, 5, 15 min) at start "
             f"{', '.join(f'{x:.2f}' for x in loads[0])}, at end "
             f"{', '.join(f'{x:.2f}' for x in loads[1])}.", "", "```", command, "```", ""]
    return "\n".join(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="magic_telescope",
                        help="a folder of ../shared/datasets with meta.json and data.csv "
                             "(default magic_telescope: 19,020 rows, binary)")
    parser.add_argument("--trials", type=int, default=8, help="max_trials of each job")
    parser.add_argument("--concurrent", type=int, default=4, help="max_concurrent_trials")
    parser.add_argument("--workers", type=int, default=4, help="Dask workers")
    parser.add_argument("--out", default=None, help="markdown file to write")
    args = parser.parse_args()
    dataset = Path(args.dataset)
    if not dataset.is_dir():
        dataset = DATASETS / args.dataset
    if not (dataset / "meta.json").is_file():
        raise SystemExit(f"--dataset {args.dataset}: no {dataset / 'meta.json'}; give a folder "
                         f"of {DATASETS} (with meta.json and data.csv) or its name.")

    from cirrusml import MLClient
    from cirrusml.entities import DaskCompute

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    load_start = os.getloadavg()
    results: list[dict[str, Any]] = []
    cluster_seconds = None
    with tempfile.TemporaryDirectory(prefix="local-vs-dask-") as tmp:
        client = MLClient(workspace=Path(tmp) / "ws")
        results.append(run_job(client, load_job(dataset, args.trials, args.concurrent, None),
                               "local"))
        try:
            begin = time.perf_counter()
            client.compute.begin_create_or_update(
                DaskCompute(name=COMPUTE, local=True, workers=args.workers)).result()
            cluster_seconds = time.perf_counter() - begin

            def dask_processes() -> dict[int, str]:
                compute = client.compute.get(COMPUTE)
                out = {int(w["pid"]): "dask worker" for w in compute.worker_details
                       if w.get("pid")}
                if compute.pid:
                    out[int(compute.pid)] = "dask scheduler + nannies"
                return out

            job = load_job(dataset, args.trials, args.concurrent, f"azureml:{COMPUTE}")
            results.append(run_job(client, job, f"Dask ({args.workers} workers)",
                                   dask_processes))
        finally:
            try:
                client.compute.begin_delete(COMPUTE).result()
            except Exception as err:  # noqa: BLE001 - reported; the cluster may need a kill
                print(f"could not delete compute {COMPUTE!r}: {err}", file=sys.stderr)
    text = report(results, args, commit, command, (load_start, os.getloadavg()),
                  cluster_seconds)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0 if all(r["status"] == "Completed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
