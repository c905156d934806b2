"""Learn the planner's cost model offline: timed fits of every learner at several data sizes.

    .venv/bin/python benchmarks/cost/build_cost_model.py --datasets ../shared/datasets
    .venv/bin/python benchmarks/cost/build_cost_model.py --fit-only   # refit from timings.jsonl

1. Fits: for every tabular development dataset (and the generated 26-class set of
   ``benchmarks/generated.py``, so that class counts beyond the development sets' 19 are
   measured; its fits timed before 2026-12-04 were on a version with float features of the
   same shape), rows are sampled at each of
   ``--sizes`` the dataset can give; the sample is featurized as a trial featurizes it (once for
   learners that take native categories, once for the others), and every learner of the task
   fits its default, its low-cost configuration and random points of its search space on two
   thirds of the rows (one fold's training part of 3-fold cross-validation), one thread, in a
   child process killed after ``--timeout`` seconds (a killed fit is recorded at the time-out,
   a lower bound; ``--retime-killed --timeout 120`` times the killed ones again for longer).
   Timings go to ``timings.jsonl`` (resumable: a rerun skips what is there);
   ``--max-minutes`` stops the timing early (small sizes are timed first). ``--only``,
   ``--learners`` and ``--random`` add timings where the model is thin (the shipped model
   also has 10 random LightGBM and XGBoost configurations on the 26-class set at 4,000 and
   16,000 rows: ``--only generated_26_classes --learners LightGBM,XGBoostClassifier
   --sizes 4000,16000 --random 10``).
2. Model: per task and learner, a ridge fit of log(seconds) on the learner's cost terms
   (``Learner.cost_terms``: log rows, log featurized width, log dense width (the columns
   that are not one-hot, hashed or text), log classes, and its hyperparameters' terms),
   censored where a fit was killed (see :func:`ridge`), the fits under a second weighted down
   (see :func:`fit_weights`).
3. Judged leave-one-dataset-out: each dataset's fits are predicted by the model fitted without
   it; the report gives the median and 90th-percentile factor between predicted and measured
   seconds, per learner, over every fit and over the fits of 1 s or more (those the planner's
   choices hinge on).

Writes ``src/cirrusml/search/cost_model.json`` and ``benchmarks/cost/REPORT.md``. Timings
depend on the machine; the job corrects the model online with its own trials
(``cirrusml.search._cost.TrialCosts``), so only the shape of the model matters.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.featurize import expected_width, make_featurizer, profile_columns
from cirrusml.models import get_learner, learners_for
from cirrusml.spec import TaskType
from cirrusml.tasks import task_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "portfolio"))
sys.path.insert(0, str(HERE.parent))
from build_portfolio import _sample, load_dataset  # noqa: E402
from generated import generated_26_classes  # noqa: E402

#: Ridge penalty on every coefficient but the constant.
RIDGE = 0.05
#: Fits of this many seconds or more count fully in the model's fit; shorter ones in proportion
#: to their seconds, down to :data:`MIN_WEIGHT` (see :func:`fit_weights`).
FULL_WEIGHT_SECONDS, MIN_WEIGHT = 1.0, 0.1
#: Random configurations per learner, by sample size (larger samples cost more to time).
RANDOM_CONFIGS = {1000: 4, 4000: 4, 16000: 2, 48000: 2}


def _fit_child(conn: Any, estimator: Any, X: Any, y: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        try:
            estimator.fit(X, y)
            conn.send(("ok", time.perf_counter() - start))
        except Exception as exc:  # a configuration that fails is not a timing
            conn.send(("error", repr(exc)[:200]))


def time_fit(estimator: Any, X: Any, y: Any, timeout: float) -> tuple[str, float | None]:
    """Seconds of ``estimator.fit(X, y)`` in a forked child, or ("timeout", timeout)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_fit_child, args=(child, estimator, X, y))
    proc.start()
    child.close()
    if parent.poll(timeout):
        status, value = parent.recv()
        proc.join()
        return (status, float(value)) if status == "ok" else (status, None)
    proc.kill()
    proc.join()
    return "timeout", float(timeout)


def configs(learner: Any, task: TaskType, rows: int, width: int, n_random: int,
            rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    points = [("default", learner.default_params(task, rows, width)),
              ("low_cost", learner.low_cost_params(task, rows, width))]
    space = learner.search_space(task, rows, width)
    points += [(f"random{i}", {k: _sample(d, rng) for k, d in space.items()})
               for i in range(n_random if space else 0)]
    seen, out = set(), []
    for tag, params in points:
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append((tag, params))
    return out


#: The generated set's name among the datasets' folder names.
GENERATED = "generated_26_classes"


def _folders(datasets: str) -> dict[str, Path]:
    """The tabular development datasets, by name."""
    out = {}
    for folder in sorted(Path(datasets).iterdir()):
        if (folder / "meta.json").exists():
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("task") in ("binary", "multiclass", "regression"):
                out[folder.name] = folder
    return out


def _load(name: str, folders: dict[str, Path], seed: int) -> tuple[dict[str, Any], pd.DataFrame]:
    return generated_26_classes() if name == GENERATED else load_dataset(folders[name], 10**9,
                                                                         seed)


def _rows(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """The sample of ``size`` rows (every row of a smaller dataset) the fits are timed on."""
    return frame.sample(n=min(size, len(frame)), random_state=seed).reset_index(drop=True)


def _append(out: Path, row: dict[str, Any]) -> None:
    with out.open("a") as fh:
        fh.write(json.dumps(row, default=str) + "\n")


def time_all(args: argparse.Namespace) -> None:
    out = HERE / "timings.jsonl"
    done = {_key(row) for row in load_timings()}
    folders = _folders(args.datasets)
    stop_at = time.monotonic() + args.max_minutes * 60
    for size in args.sizes:
        for name in [*folders, GENERATED]:
            if time.monotonic() > stop_at:
                print("time is up; rerun to continue", flush=True)
                return
            if args.only and name not in args.only:
                continue
            meta, frame = _load(name, folders, args.seed)
            if len(frame) < size and size != min(args.sizes):
                continue  # the smallest size takes every row of a small dataset
            _time_dataset(meta, _rows(frame, size, args.seed), size, args, done, out, stop_at)


def _split(meta: dict[str, Any], frame: pd.DataFrame
           ) -> tuple[TaskType, pd.DataFrame, pd.Series, Any]:
    """A dataset sample's task, features and target (as a job reads it), and its task fitted
    on that target."""
    regression = meta["task"] == "regression"
    task = TaskType.REGRESSION if regression else TaskType.CLASSIFICATION
    X, y = frame.drop(columns=[meta["target"]]), frame[meta["target"]]
    y = y.astype(float) if regression else y.astype(str)
    return task, X, y, task_for(task).fit_target(y)


class _Sample:
    """One dataset sample as a trial sees it: the training fold, featurized both ways."""

    def __init__(self, meta: dict[str, Any], frame: pd.DataFrame, seed: int) -> None:
        self.task, X, y, fitted = _split(meta, frame)
        self.classes = (len(fitted.classes or [])
                        if self.task is TaskType.CLASSIFICATION else 1)
        train = np.random.default_rng(seed).permutation(len(y))[: max(2, 2 * len(y) // 3)]
        self.rows = len(train)
        profile = profile_columns(X)
        self.dense_widths = {native: dense_width(profile, fitted, native)
                             for native in (True, False)}
        self.matrices = {}
        for native in (True, False):
            featurizer = make_featurizer(profile, None, native_categorical=native, scale=False,
                                         task=fitted, seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.matrices[native] = featurizer.fit_transform(X.iloc[train], y.iloc[train])
        self.y_train = y.iloc[train].reset_index(drop=True)

    def matrix(self, learner: Any) -> Any:
        Xf = self.matrices[learner.native_categorical]
        if hasattr(Xf, "toarray") and not learner.sparse_ok:
            Xf = Xf.toarray()
        return Xf

    def time(self, learner: Any, params: dict[str, Any], timeout: float,
             seed: int) -> tuple[str, float | None]:
        estimator = learner.build(self.task, params, n_jobs=1, seed=seed, class_weight=None)
        return time_fit(estimator, self.matrix(learner), self.y_train, timeout)


def _time_dataset(meta: dict[str, Any], frame: pd.DataFrame, size: int,
                  args: argparse.Namespace, done: set, out: Path, stop_at: float) -> None:
    sample = _Sample(meta, frame, args.seed)
    task = sample.task
    rng = random.Random(f"{meta['name']}/{size}/{args.seed}")
    n_random = args.random or RANDOM_CONFIGS.get(size, 2)
    print(f"{meta['name']} {size}: {sample.rows} training rows, {sample.classes} classes",
          flush=True)
    for learner in learners_for(task):
        if learner.featurizes_itself or (args.learners and learner.name not in args.learners):
            continue
        width = int(sample.matrix(learner).shape[1])
        for tag, params in configs(learner, task, sample.rows, width, n_random, rng):
            key = (meta["name"], size, learner.name, tag)
            if key in done:
                continue
            if time.monotonic() > stop_at:
                return
            status, seconds = sample.time(learner, params, args.timeout, args.seed)
            row = {"dataset": meta["name"], "size": size, "task": task.value,
                   "learner": learner.name, "config": tag, "params": params,
                   "rows": sample.rows, "width": width,
                   "dense_width": sample.dense_widths[learner.native_categorical],
                   "classes": sample.classes, "status": status, "seconds": seconds}
            done.add(key)
            _append(out, row)


def dense_width(profile: Any, task: Any, native: bool) -> int:
    """The featurized columns that are not one-hot, hashed or text, as a job counts them."""
    return expected_width(profile, native_categorical=native, task=task, dense_only=True)


def backfill_dense_widths(args: argparse.Namespace) -> None:
    """Give every timing in ``timings.jsonl`` its ``dense_width`` (timings before 2026-12-04
    lack it): from the profile of the same sample, so no fit is timed again."""
    path = HERE / "timings.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    missing = {(r["dataset"], r["size"]) for r in lines if "dense_width" not in r}
    if not missing:
        return
    folders = _folders(args.datasets)
    widths: dict[tuple[str, int], dict[bool, int]] = {}
    for name, size in sorted(missing):
        meta, frame = _load(name, folders, args.seed)
        _task, X, _y, fitted = _split(meta, _rows(frame, size, args.seed))
        profile = profile_columns(X)
        widths[name, size] = {native: dense_width(profile, fitted, native)
                              for native in (True, False)}
    for row in lines:
        if "dense_width" not in row:
            native = get_learner(row["learner"], TaskType(row["task"])).native_categorical
            row["dense_width"] = widths[row["dataset"], row["size"]][native]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(row, default=str) + "\n" for row in lines))
    tmp.replace(path)
    print(f"dense widths added to the timings of {len(missing)} samples", flush=True)


def _key(row: dict[str, Any]) -> tuple[str, int, str, str]:
    return row["dataset"], row["size"], row["learner"], row["config"]


def load_timings() -> list[dict[str, Any]]:
    """The recorded fits; a fit timed again (``--retime-killed``) counts by its last timing."""
    path = HERE / "timings.jsonl"
    latest: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        row = json.loads(line)
        latest[_key(row)] = row
    return list(latest.values())


def retime_killed(args: argparse.Namespace) -> None:
    """Time again, with the (longer) ``--timeout``, the fits killed at a shorter one."""
    killed: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in load_timings():
        if row["status"] == "timeout" and row["seconds"] < args.timeout:
            killed.setdefault((row["dataset"], row["size"]), []).append(row)
    folders = _folders(args.datasets)
    out = HERE / "timings.jsonl"
    stop_at = time.monotonic() + args.max_minutes * 60
    for (name, size), rows in sorted(killed.items(), key=lambda item: item[0][1]):
        meta, frame = _load(name, folders, args.seed)
        sample = _Sample(meta, _rows(frame, size, args.seed), args.seed)
        by_name = {lr.name: lr for lr in learners_for(sample.task)}
        for row in rows:
            if time.monotonic() > stop_at:
                print("time is up; rerun to continue", flush=True)
                return
            status, seconds = sample.time(by_name[row["learner"]], row["params"],
                                          args.timeout, args.seed)
            print(f"{name} {size} {row['learner']} {row['config']}: {status} "
                  f"{seconds if seconds is None else round(seconds, 1)}", flush=True)
            _append(out, {**row, "status": status, "seconds": seconds})


# ------------------------------------------------------------------------------- the model


def _design(rows: list[dict[str, Any]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    terms = []
    for row in rows:
        task = TaskType(row["task"])
        learner = next(lr for lr in learners_for(task) if lr.name == row["learner"])
        terms.append(learner.cost_terms(task, row["params"], n_rows=row["rows"],
                                        n_features=row["width"], n_classes=row["classes"],
                                        n_dense=row.get("dense_width")))
    names = sorted({k for t in terms for k in t})
    X = np.array([[1.0] + [t.get(k, 0.0) for k in names] for t in terms])
    y = np.log(np.array([max(0.002, row["seconds"]) for row in rows]))
    return ["const", *names], X, y


def _censored(rows: list[dict[str, Any]]) -> np.ndarray:
    """Which fits were killed: their seconds are the time-out, a lower bound."""
    return np.array([row["status"] == "timeout" for row in rows])


def fit_weights(y: np.ndarray) -> np.ndarray:
    """How much each fit counts, by its log seconds ``y``: fully from :data:`FULL_WEIGHT_SECONDS`
    up, in proportion to its seconds below (at least :data:`MIN_WEIGHT`). The planner's choices
    hinge on the long fits (a 20 s fit predicted at 5 s eats a budget); a 0.05 s fit is mostly
    process overhead that a log-linear model cannot follow, and left at full weight the many
    small fits flatten the slopes in rows and width that the long fits need."""
    return np.clip(np.exp(y) / FULL_WEIGHT_SECONDS, MIN_WEIGHT, 1.0)


def ridge(X: np.ndarray, y: np.ndarray, censored: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of log(seconds), each fit weighted by :func:`fit_weights`; a killed fit
    only says its log seconds exceed ``y``.

    Without killed fits this is the weighted ridge solution. With them, the fit is a censored
    (Tobit) regression: the exact fits enter by their squared error, a killed one by the
    probability that its fit would have taken longer than the time-out, under a normal error
    whose spread is fitted too. Counting a killed fit at the time-out instead would pull the
    most expensive configurations' predictions down to it.
    """
    w = fit_weights(y)
    penalty = np.eye(X.shape[1]) * RIDGE
    penalty[0, 0] = 0.0
    weighted = X * w[:, None]
    start = np.linalg.solve(X.T @ weighted + penalty * w.sum(), weighted.T @ y)
    if censored is None or not censored.any() or censored.all():
        return start
    from scipy.optimize import minimize
    from scipy.special import log_ndtr

    exact, cut = ~censored, censored
    lam = RIDGE * w.sum()

    def loss(theta: np.ndarray) -> float:
        coef, log_sigma = theta[:-1], theta[-1]
        sigma = np.exp(log_sigma)
        pred = X @ coef
        residual = y[exact] - pred[exact]
        value = ((w[exact] * residual) @ residual + lam * (coef[1:] @ coef[1:])) / (2 * sigma**2)
        value += w[exact].sum() * log_sigma
        value -= (w[cut] * log_ndtr((pred[cut] - y[cut]) / sigma)).sum()
        return float(value)

    spread = float(np.std(y[exact] - X[exact] @ start)) or 0.1
    result = minimize(loss, np.append(start, np.log(spread)), method="L-BFGS-B")
    return np.asarray(result.x[:-1]) if result.success else start


def fit_model(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(f"{row['task']}/{row['learner']}", []).append(row)
    out = {}
    for key, group in sorted(groups.items()):
        names, X, y = _design(group)
        coef = ridge(X, y, _censored(group))
        out[key] = {n: round(float(c), 5) for n, c in zip(names, coef, strict=True)
                    if abs(c) > 1e-6 or n == "const"}
    return out


def judge(rows: list[dict[str, Any]]) -> list[str]:
    """Leave-one-dataset-out factors between predicted and measured seconds."""
    lines = ["| task / learner | fits | datasets | median factor | 90th pct factor "
             "| fits of 1 s or more | their median factor | their 90th pct factor "
             "| killed fits predicted past the time-out |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    long_errors: list[float] = []
    all_errors: list[float] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(f"{row['task']}/{row['learner']}", []).append(row)
    for key, group in sorted(groups.items()):
        names, X, y = _design(group)
        censored = _censored(group)
        datasets = sorted({r["dataset"] for r in group})
        errors, long, killed, past = [], [], 0, 0
        for held in datasets:
            mask = np.array([r["dataset"] == held for r in group])
            if mask.all():
                continue
            coef = ridge(X[~mask], y[~mask], censored[~mask])
            predicted = X[mask] @ coef
            exact = ~censored[mask]
            error = np.abs(predicted[exact] - y[mask][exact])
            errors.extend(error.tolist())
            long.extend(error[y[mask][exact] >= 0.0].tolist())  # log(1 s) = 0
            killed += int((~exact).sum())
            past += int((predicted[~exact] >= y[mask][~exact]).sum())
        if not errors:
            continue
        factors, long_factors = np.exp(np.array(errors)), np.exp(np.array(long))
        all_errors.extend(errors)
        long_errors.extend(long)
        long_cells = (f"{len(long)} | {np.median(long_factors):.2f} | "
                      f"{np.quantile(long_factors, 0.9):.2f}" if long else "0 | - | -")
        lines.append(f"| {key} | {len(group)} | {len(datasets)} | "
                     f"{np.median(factors):.2f} | {np.quantile(factors, 0.9):.2f} | "
                     f"{long_cells} | {f'{past} of {killed}' if killed else '-'} |")
    every, longer = np.exp(np.array(all_errors)), np.exp(np.array(long_errors))
    lines.append(f"| **every learner** | {len(every)} | | **{np.median(every):.2f}** | "
                 f"**{np.quantile(every, 0.9):.2f}** | {len(longer)} | "
                 f"**{np.median(longer):.2f}** | **{np.quantile(longer, 0.9):.2f}** | |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")],
                        default=[1000, 4000, 16000, 48000])
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit-only", action="store_true")
    parser.add_argument("--only", type=lambda s: s.split(","), default=None,
                        help="time these datasets only (comma-separated)")
    parser.add_argument("--learners", type=lambda s: s.split(","), default=None,
                        help="time these learners only (comma-separated)")
    parser.add_argument("--random", type=int, default=0,
                        help="random configurations per learner (default: by size)")
    parser.add_argument("--retime-killed", action="store_true",
                        help="time again, with --timeout, the fits killed at a shorter one")
    args = parser.parse_args()
    if args.retime_killed:
        retime_killed(args)
    elif not args.fit_only:
        time_all(args)
    backfill_dense_widths(args)
    rows = [r for r in load_timings() if r["status"] in ("ok", "timeout")]
    model = fit_model(rows)
    caps = sorted({r["seconds"] for r in rows if r["status"] == "timeout"})
    (REPO / "src" / "cirrusml" / "search" / "cost_model.json").write_text(json.dumps({
        "built_with": {"fits": len(rows), "datasets": sorted({r["dataset"] for r in rows}),
                       "sizes": sorted({r["size"] for r in rows}), "timeouts": caps,
                       "ridge": RIDGE},
        "coefficients": model}, indent=1) + "\n")
    timed_out = sum(r["status"] == "timeout" for r in rows)
    report = ["# Cost model", "",
              "Built by `benchmarks/cost/build_cost_model.py` (see its docstring): "
              f"{len(rows)} timed fits ({timed_out} killed at a time-out of "
              f"{' or '.join(f'{t:g}' for t in caps) or '-'} s and fitted as censored: they "
              f"took at least that long), {len({r['dataset'] for r in rows})} datasets, sizes "
              f"{', '.join(str(s) for s in sorted({r['size'] for r in rows}))} rows.", "",
              "Leave-one-dataset-out: each dataset's fits predicted by the model fitted "
              "without it; the factor is max(predicted, measured) / min(predicted, measured).",
              "", *judge(rows), ""]
    (HERE / "REPORT.md").write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
