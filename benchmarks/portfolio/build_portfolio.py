"""Learn the planner's warm-start portfolio offline, and judge it leave-one-dataset-out.

    .venv/bin/python benchmarks/portfolio/build_portfolio.py --datasets ../shared/datasets

1. Candidates: for every learner, its default, its low-cost configuration and a few random
   points of its search space (more for the learners that usually win).
2. Each candidate is run on every development dataset of its problem type (binary, multiclass,
   regression) exactly as a job runs a trial (`cirrusml.engine._trial.run_trial`: featurization
   fitted per fold, the job's metric), on at most ``--max-rows`` rows with 3-fold CV. Results go to
   ``evaluations.jsonl`` (resumable).
3. Scores are normalised per dataset as the benchmark does: 0 = constant predictor, 1 = the best
   candidate.
4. Greedy selection: repeatedly add the candidate that most raises the mean (over datasets) of the
   best normalised score found so far, per second^p it costs (p chosen per problem type by the
   held-out figures below); stop when nothing raises it. Binary and multiclass datasets pool
   their evidence (the same classifiers, scores normalised per dataset).
5. Leave-one-dataset-out: for each dataset, the portfolio built without it is replayed on it; the
   report compares that with trying each learner's default in the registry order. The portfolio
   must generalise to data nobody has seen, so only these held-out figures count.

Writes ``src/cirrusml/search/portfolio.json`` and ``benchmarks/portfolio/REPORT.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.engine._trial import JobData, TrialSpec, run_trial
from cirrusml.execution import LocalBackend, save_for_workers
from cirrusml.featurize import profile_columns
from cirrusml.metrics import classification_metrics, regression_metrics
from cirrusml.models import learners_for
from cirrusml.search._portfolio import greedy_order
from cirrusml.spec import TaskType
from cirrusml.tasks import task_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
METRIC = {"binary": "AUC_weighted", "multiclass": "log_loss",
          "regression": "normalized_root_mean_squared_error"}
GREATER = {"binary": True, "multiclass": False, "regression": False}
#: Random samples per learner (the learners that usually win get more).
SAMPLES = {"LightGBM": 14, "XGBoostClassifier": 8, "XGBoostRegressor": 8, "RandomForest": 5,
           "ExtremeRandomTrees": 5, "LogisticRegression": 3, "ElasticNet": 3,
           "GradientBoosting": 2, "KNN": 2, "SVM": 1, "LinearSVM": 1, "SGD": 1, "LassoLars": 2,
           "DecisionTree": 1, "BernoulliNaiveBayes": 0, "MultinomialNaiveBayes": 0}
NOMINAL_ROWS, NOMINAL_FEATURES = 5000, 20
#: Exponents p of the greedy selection's "gain per second^p", chosen per problem type by LODO.
COST_POWERS = (0.0, 0.25, 0.5, 1.0)


def _sample(dist: Any, rng: random.Random) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return rng.choice(dist.choices)
    if isinstance(dist, IntDistribution):
        if dist.log:
            return int(round(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))))
        return rng.randrange(dist.low, dist.high + 1, dist.step)
    if isinstance(dist, FloatDistribution):
        if dist.log:
            return math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))
        return rng.uniform(dist.low, dist.high)
    raise TypeError(dist)


def candidates(problem: str, seed: int = 0) -> list[dict[str, Any]]:
    task = TaskType.REGRESSION if problem == "regression" else TaskType.CLASSIFICATION
    rng = random.Random(seed)
    out = []
    for learner in learners_for(task):
        space = learner.search_space(task, NOMINAL_ROWS, NOMINAL_FEATURES)
        points = [("default", learner.default_params(task, NOMINAL_ROWS, NOMINAL_FEATURES)),
                  ("low_cost", learner.low_cost_params(task, NOMINAL_ROWS, NOMINAL_FEATURES))]
        for i in range(SAMPLES.get(learner.name, 1)):
            points.append((f"random{i}", {k: _sample(d, rng) for k, d in space.items()}))
        seen = set()
        for tag, params in points:
            key = json.dumps(params, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            out.append({"id": f"{learner.name}:{tag}", "learner": learner.name,
                        "params": params})
    return out


def load_dataset(folder: Path, max_rows: int, seed: int) -> tuple[dict[str, Any], pd.DataFrame]:
    meta = json.loads((folder / "meta.json").read_text())
    frame = pd.read_csv(folder / meta.get("file", "data.csv"), low_memory=False)
    frame = frame.drop(columns=[c for c in meta.get("ignore_columns", []) if c in frame])
    frame = frame[frame[meta["target"]].notna()].reset_index(drop=True)
    if meta["task"] in ("binary", "multiclass"):
        frame[meta["target"]] = frame[meta["target"]].astype(str)
    if len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed).reset_index(drop=True)
    return meta, frame


def baseline_loss(problem: str, y: pd.Series, folds: list) -> float:
    """The constant predictor's loss (class priors / training mean), as the benchmark's."""
    losses = []
    for train, valid in folds:
        if problem == "regression":
            pred = np.full(len(valid), float(y.iloc[train].mean()))
            m = regression_metrics(y.iloc[valid].to_numpy(float), pred,
                                   y_min=float(y.min()), y_max=float(y.max()))
        else:
            classes = sorted(y.unique())
            priors = y.iloc[train].value_counts(normalize=True).reindex(classes).fillna(0)
            proba = np.tile(priors.to_numpy(), (len(valid), 1))
            m = classification_metrics(y.iloc[valid].to_numpy(), proba, classes)
        value = m[METRIC[problem]]
        losses.append(-value if GREATER[problem] else value)
    return float(np.mean(losses))


def evaluate(args: argparse.Namespace) -> list[dict[str, Any]]:
    cache = HERE / "evaluations.jsonl"
    done: dict[tuple[str, str], dict[str, Any]] = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            done[(row["dataset"], row["id"])] = row
    work = HERE / "work"
    folders = sorted(p for p in Path(args.datasets).iterdir() if (p / "meta.json").exists())
    backend = LocalBackend(n_workers=args.workers, threads_per_worker=1)
    backend.start()
    try:
        for folder in folders:
            meta, frame = load_dataset(folder, args.max_rows, args.seed)
            problem = meta["task"]
            if problem not in METRIC or (args.only and meta["name"] not in args.only):
                continue
            task = TaskType.REGRESSION if problem == "regression" else TaskType.CLASSIFICATION
            target = meta["target"]
            X, y = frame.drop(columns=[target]), frame[target]
            if problem == "regression":
                y = y.astype(float)
            job_task = task_for(task)
            plan = job_task.plan_splits(len(y), y, seed=args.seed, n_cross_validations=3)
            data = JobData(X=X, y=y, weights=None, folds=plan.folds,
                           task=job_task.fit_target(y), profile=profile_columns(X),
                           featurization=None)
            path = save_for_workers(data, work / f"{meta['name']}.pkl")
            base = baseline_loss(problem, y, plan.folds)
            todo = [c for c in candidates(problem, args.seed)
                    if (meta["name"], c["id"]) not in done]
            print(f"{meta['name']}: {problem}, {len(frame)} rows, {len(todo)} candidates to run",
                  flush=True)
            pending = list(todo)
            while pending or backend.running:
                while pending and backend.free_slots:
                    cand = pending.pop(0)
                    spec = TrialSpec(index=0, learner=cand["learner"], params=cand["params"],
                                     task=task, metric=METRIC[problem], seed=args.seed,
                                     n_jobs=1, keep_model=False)
                    backend.submit(cand["id"], run_trial, spec, path, timeout=args.trial_timeout)
                for outcome in backend.wait(1.0):
                    score = None
                    if outcome.status == "ok":
                        score = outcome.value.metrics.get(METRIC[problem])
                    loss = None if score is None or not math.isfinite(score) else (
                        -score if GREATER[problem] else score)
                    row = {"dataset": meta["name"], "problem": problem, "id": outcome.key,
                           "loss": loss, "baseline": base, "seconds": round(outcome.seconds, 3),
                           "status": outcome.status, "error": outcome.error}
                    done[(meta["name"], outcome.key)] = row
                    with cache.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
    finally:
        backend.shutdown()
    return list(done.values())


# ------------------------------------------------------------------------------- selection


def normalised(rows: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """dataset -> candidate id -> (normalised score, seconds)."""
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], []).append(row)
    out = {}
    for name, items in by_dataset.items():
        losses = [r["loss"] for r in items if r["loss"] is not None]
        if not losses:
            continue
        best, base = min(losses), items[0]["baseline"]
        span = base - best
        out[name] = {r["id"]: ((base - r["loss"]) / span if r["loss"] is not None and span > 0
                               else 0.0, max(r["seconds"], 0.05)) for r in items}
    return out


def greedy(norm: dict[str, dict[str, tuple[float, float]]], datasets: list[str], k: int,
           cost_power: float) -> list[str]:
    """At most ``k`` candidates by the job's own rule (``greedy_order``: gain in the mean best
    score per second^p), on ``datasets``, with each candidate's mean measured seconds; it
    stops when every dataset has its best configuration: the Bayesian phase takes over."""
    # Latest id first, so that ties go to it, as they always have here.
    pool = sorted(set().union(*(norm[d] for d in datasets)), reverse=True)
    scores = [{d: norm[d].get(c, (0.0, 0.0))[0] for d in datasets} for c in pool]
    seconds = [float(np.mean([norm[d].get(c, (0.0, 60.0))[1] for d in datasets])) for c in pool]
    return [pool[i] for i in greedy_order(scores, seconds, cost_power, limit=k)]


def entry(candidate: dict[str, Any], norm: dict[str, dict[str, tuple[float, float]]]
          ) -> dict[str, Any]:
    """A shipped portfolio entry: the candidate's learner and parameters, and its normalised
    score on every dataset it was built on (the job orders its warm start by them)."""
    return {"learner": candidate["learner"], "params": candidate["params"],
            "id": candidate["id"],
            "scores": {d: round(norm[d].get(candidate["id"], (0.0, 0.0))[0], 4)
                       for d in sorted(norm)}}


def replay(norm: dict[str, tuple[float, float]], order: list[str], ks: list[int]
           ) -> dict[int, float]:
    out, best = {}, 0.0
    for i, c in enumerate(order, 1):
        best = max(best, norm.get(c, (0.0, 0.0))[0])
        if i in ks:
            out[i] = best
    for k in ks:
        out.setdefault(k, best)
    return out


def held_out(norm_all: dict[str, dict[str, tuple[float, float]]],
             norm: dict[str, dict[str, tuple[float, float]]], size: int, power: float,
             ks: list[int]) -> dict[str, dict[int, float]]:
    """For each dataset of ``norm``, the best normalised score after each of ``ks``
    configurations of the portfolio built without it."""
    out = {}
    for held in sorted(norm):
        others = [d for d in norm_all if d != held]
        out[held] = replay(norm[held], greedy(norm_all, others, size, power), ks)
    return out


def write_leave_out(args: argparse.Namespace) -> int:
    """The shipped portfolio's construction, with one dataset's evaluations left out."""
    if args.out is None:
        raise SystemExit("--leave-out needs --out PATH")
    shipped = json.loads((REPO / "src" / "cirrusml" / "search" / "portfolio.json").read_text())
    rows = [json.loads(line) for line in (HERE / "evaluations.jsonl").read_text().splitlines()]
    if args.leave_out not in {r["dataset"] for r in rows}:
        raise SystemExit(f"{args.leave_out}: not among the evaluated datasets")
    rows = [r for r in rows if r["dataset"] != args.leave_out]
    portfolios = {}
    for problem, power in shipped["built_with"]["cost_power"].items():
        by_id = {c["id"]: c for c in candidates(problem)}
        pooled = ("binary", "multiclass") if problem != "regression" else ("regression",)
        norm_all = normalised([r for r in rows if r["problem"] in pooled])
        order = greedy(norm_all, sorted(norm_all), args.size, power)
        portfolios[problem] = [entry(by_id[c], norm_all) for c in order]
    args.out.write_text(json.dumps({"built_with": {**shipped["built_with"],
                                                   "left_out": args.leave_out},
                                    "portfolios": portfolios}, indent=1, default=str) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trial-timeout", type=float, default=120.0)
    parser.add_argument("--size", type=int, default=24, help="configurations per portfolio")
    parser.add_argument("--only", nargs="*", help="dataset names to (re)evaluate")
    parser.add_argument("--skip-eval", action="store_true", help="use evaluations.jsonl as is")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--leave-out", metavar="DATASET",
                        help="build the portfolio without DATASET and write it to --out only "
                             "(no report): for scoring DATASET on the benchmark honestly, with "
                             "CIRRUS_PORTFOLIO=<out>")
    parser.add_argument("--out", type=Path, help="with --leave-out: the portfolio file to write")
    args = parser.parse_args()
    if args.leave_out:
        return write_leave_out(args)

    started = time.time()
    rows = [json.loads(line) for line in (HERE / "evaluations.jsonl").read_text().splitlines()] \
        if args.skip_eval else evaluate(args)
    ks = [1, 3, 5, 10, args.size]
    portfolios: dict[str, list[dict[str, Any]]] = {}
    chosen_power: dict[str, float] = {}
    report = ["# Warm-start portfolio: leave-one-dataset-out evaluation", "",
              f"Command: `.venv/bin/python benchmarks/portfolio/build_portfolio.py "
              f"--max-rows {args.max_rows} --size {args.size}`", "",
              "Normalised score per dataset: 0 = constant predictor, 1 = best candidate. Each "
              "held-out row replays, on that dataset, the portfolio built from the *other* "
              "datasets (binary and multiclass datasets pool their evidence: the classifiers are "
              "the same); `defaults` tries each learner's default in the registry order. The "
              "greedy selection's cost exponent (gain per second^p) is chosen per problem type "
              f"among {COST_POWERS} by the held-out mean at 3, 5 and 10 configurations.", ""]
    by_id = {}
    for problem in ("binary", "multiclass", "regression"):
        for cand in candidates(problem):
            by_id[(problem, cand["id"])] = cand
        pooled = ("binary", "multiclass") if problem != "regression" else ("regression",)
        norm_all = normalised([r for r in rows if r["problem"] in pooled])
        norm = normalised([r for r in rows if r["problem"] == problem])
        datasets = sorted(norm)
        if not datasets:
            continue
        task = TaskType.REGRESSION if problem == "regression" else TaskType.CLASSIFICATION
        defaults = [f"{lr.name}:default" for lr in learners_for(task)]

        trials = {power: held_out(norm_all, norm, args.size, power, ks)
                  for power in COST_POWERS}

        def key(power: float, trials: dict = trials, datasets: list = datasets) -> float:
            return float(np.mean([trials[power][d][k] for d in datasets for k in (3, 5, 10)]))

        power = max(COST_POWERS, key=lambda p: (key(p), -p))
        chosen_power[problem] = power
        order = greedy(norm_all, sorted(norm_all), args.size, power)
        portfolios[problem] = [entry(by_id[(problem, c)], norm_all) for c in order]
        report += [f"## {problem} ({len(datasets)} datasets; cost exponent {power})", "",
                   "Held-out mean at 3/5/10 per exponent: "
                   + ", ".join(f"{p}: {key(p):.3f}" for p in COST_POWERS), "",
                   "| held-out dataset | " + " | ".join(f"portfolio@{k}" for k in ks)
                   + " | " + " | ".join(f"defaults@{k}" for k in ks[:-1]) + " |",
                   "|---|" + "---:|" * (2 * len(ks) - 1)]
        sums_p = {k: 0.0 for k in ks}
        sums_d = {k: 0.0 for k in ks}
        for held in datasets:
            p = trials[power][held]
            dflt = replay(norm[held], defaults, ks)
            for k in ks:
                sums_p[k] += p[k]
                sums_d[k] += dflt[k]
            report.append(f"| {held} | " + " | ".join(f"{p[k]:.3f}" for k in ks) + " | "
                          + " | ".join(f"{dflt[k]:.3f}" for k in ks[:-1]) + " |")
        n = len(datasets)
        report.append("| **mean** | " + " | ".join(f"**{sums_p[k] / n:.3f}**" for k in ks)
                      + " | " + " | ".join(f"{sums_d[k] / n:.3f}" for k in ks[:-1]) + " |")
        report += ["", f"Portfolio (built on every dataset; {len(order)} configurations, then "
                   "the Bayesian phase), in order: " + ", ".join(f"`{c}`" for c in order), ""]
    out = REPO / "src" / "cirrusml" / "search" / "portfolio.json"
    out.write_text(json.dumps({"built_with": {"max_rows": args.max_rows, "size": args.size,
                                              "cost_power": chosen_power,
                                              "datasets": sorted({r["dataset"] for r in rows})},
                               "portfolios": portfolios}, indent=1, default=str) + "\n")
    (HERE / "REPORT.md").write_text("\n".join(report) + "\n")
    print(f"wrote {out} and {HERE / 'REPORT.md'} in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
