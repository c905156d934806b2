"""``training_mode: distributed``: each trial trains one model across a Dask cluster's workers.

The job's rows never gather in one process. The training input is read as a Dask DataFrame,
partition by partition, by the workers (:func:`~cirrusml.data.dask_frame`); a validation share
is split off (``validation_data``, else ``validation_data_size`` of the rows, 10% by default,
by a seeded random split of every partition); the featurization is fitted from statistics the
cluster computes; both parts are featurized and persisted in the memory of the training workers
(the first ``max_nodes``, or all) once, for every trial. Trials then run one at a time in the
runner (:class:`~cirrusml.execution.InlineBackend`): each fits its learner across those workers
(``fit_dask``: LightGBM through ``lightgbm.dask``),
predicts the validation partitions on the workers and scores them. The best trial's fitted model
(an ordinary model: raw columns in, predictions out) is the best model, saved as every job's.

Azure's restrictions of this mode, stated in the job's log: only learners that train distributed
(LightGBM), trials in sequence (``max_concurrent_trials`` ignored), no cross-validation, no
ensembles, no ONNX export, no generated code; the featurization is restricted
(:mod:`cirrusml.featurize._distributed`); the validation charts and the explanation are made on
samples of the validation rows (:data:`CHART_ROWS`, :data:`EXPLANATION_ROWS`). Test data, when
given, is scored on the workers too.

A task whose fits spread their own rows (``Task.reads_on_cluster`` false: forecasting) runs as
any job instead, with :func:`share_cluster`'s share of the cluster for every fit
(``Learner.on_cluster``: TCNForecaster trains data-parallel, the series split between the
share's workers), trials side by side on the cluster's groups of workers, and the job restricted
as Azure restricts this mode (:func:`restricted_job`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from cirrusml.data import dask_frame
from cirrusml.engine._book import JobResult, TrialBook, allowed_learners
from cirrusml.engine._context import JobContext
from cirrusml.engine._final import explainability_enabled, explanation_seconds
from cirrusml.engine._model_io import save_mlflow_model
from cirrusml.engine._search import SearchBudget, SearchLoop, TrialRecord
from cirrusml.engine._trial import TrialOutput, TrialSpec
from cirrusml.exceptions import CirrusMLError, DataError, InvalidSpecError
from cirrusml.execution import (
    ClusterShare,
    FaultyBackend,
    InlineBackend,
    cluster_info,
    connect,
    faults_from_env,
)
from cirrusml.featurize import DistributedFeaturization, fit_distributed_featurization
from cirrusml.models import get_learner
from cirrusml.search import Planner
from cirrusml.spec import AutoMLTabular, TabularTrainingMode, resolved_limits
from cirrusml.tasks import SplitPlan, Task, task_for

__all__ = ["DISTRIBUTED_VALIDATION_SIZE", "distributed_learners", "restricted_job",
           "run_distributed", "share_cluster"]

#: The validation share when the job gives neither validation_data nor validation_data_size.
DISTRIBUTED_VALIDATION_SIZE = 0.1
#: What the search leaves for saving the best model and scoring the test data.
_SAVING_SECONDS = 10.0
#: Validation rows the best model's charts are made from (a seeded sample of them).
CHART_ROWS = 100_000
#: Validation rows the best model is explained on (a seeded sample, gathered to the runner).
EXPLANATION_ROWS = 1000


def distributed_learners(job: AutoMLTabular, task: Task) -> list[Any]:
    """The learners this job may train distributed: those its settings allow that train across
    a cluster (``Learner.distributed``). Empty when the mode is not asked for."""
    training = job.training
    if training is None or training.training_mode is not TabularTrainingMode.DISTRIBUTED:
        return []
    return [lr for lr in allowed_learners(job, task) if lr.distributed]


def share_cluster(job: AutoMLTabular, ctx: JobContext, compute: dict[str, Any], task: Task
                  ) -> tuple[ClusterShare, int]:
    """For a task whose fits spread their own rows (``task``, configured for ``job``): the
    share of the Dask ``compute`` each fit trains across, and how many trials run at once.

    Each trial trains on max(2, floor(``max_nodes`` / ``max_concurrent_trials``)) workers, as
    Azure gives forecasting trials (``max_nodes`` defaults to the cluster's workers; a cluster
    with fewer gives all it has); as many trials run at once as the cluster holds such groups,
    up to ``max_concurrent_trials``. Raises ``CirrusMLError`` when the scheduler does not answer,
    before any training."""
    limits = resolved_limits(job.limits)
    address = str(compute.get("address"))
    name = compute.get("name")
    ctx.log.info("Compute '%s': connecting to the Dask scheduler at %s.", name, address)
    client = connect(address, what=f"compute '{name}' (the Dask scheduler at {address})")
    try:
        workers = len(cluster_info(client)["workers"])
    finally:
        client.close()
    if workers == 0:
        raise CirrusMLError(f"compute '{name}' (the Dask scheduler at {address}) has no "
                            "workers; start some (`dask worker " + address + "`).")
    concurrent_wanted = limits.max_concurrent_trials
    nodes = limits.max_nodes or workers
    per_trial = min(max(2, nodes // concurrent_wanted), workers)
    concurrent = max(1, min(concurrent_wanted, workers // per_trial))
    learners = distributed_learners(job, task)
    left_out = [lr.name for lr in allowed_learners(job, task) if not lr.distributed]
    if left_out:
        ctx.log.info("%s %s not train distributed: left out of the search.",
                     ", ".join(left_out), "does" if len(left_out) == 1 else "do")
    ctx.log.info(
        "training_mode: distributed on compute '%s' (%d worker(s); max_nodes=%s, "
        "max_concurrent_trials=%d): %s trained data-parallel across %d worker(s) per trial "
        "(max(2, max_nodes / max_concurrent_trials)), %d trial(s) at a time; the series are "
        "prepared here and split between each trial's workers; one validation fold instead of "
        "cross-validation; no ensembles, no ONNX export and no generated code (Azure's "
        "restrictions of this mode); TCNForecaster is not explained, as in Azure.",
        name, workers, limits.max_nodes,
        concurrent_wanted, ", ".join(lr.name for lr in learners), per_trial, concurrent)
    if concurrent < concurrent_wanted:
        ctx.log.warning("max_concurrent_trials=%d: the cluster's %d worker(s) hold %d group(s) "
                        "of %d; running %d trial(s) at a time.", concurrent_wanted, workers,
                        workers // per_trial, per_trial, concurrent)
    seconds = 60.0 * min(limits.trial_timeout_minutes, limits.timeout_minutes)
    return ClusterShare(address, per_trial, seconds), concurrent


def restricted_job(job: AutoMLTabular, ctx: JobContext) -> AutoMLTabular:
    """``job`` as Azure runs it in distributed mode: one validation fold (no cross-validation),
    no ensembles, no explanation, no ONNX-compatible models; what it asked for and loses is
    logged."""
    assert job.training is not None  # it names the training mode
    if job.n_cross_validations not in (None, "auto", 1):
        ctx.log.warning("training_mode: distributed validates on one fold; "
                        "n_cross_validations=%s is ignored.", job.n_cross_validations)
    if job.training.enable_onnx_compatible_models:
        ctx.log.warning("training_mode: distributed exports no ONNX model; "
                        "enable_onnx_compatible_models is ignored.")
    training = job.training.model_copy(update={
        "enable_vote_ensemble": False, "enable_stack_ensemble": False,
        "enable_model_explainability": False, "enable_onnx_compatible_models": False})
    return job.model_copy(update={"n_cross_validations": 1, "training": training})


@dataclass
class ClusterData:
    """The job's data on the cluster, featurized and persisted, and what scores it.

    ``lazy`` holds the featurized collections before persisting (training features, target and
    weights, validation features); :meth:`place` persists them on the training workers (again
    after the cluster's workers were restarted: their memory went with them)."""

    client: Any
    lazy: tuple[Any, Any, Any, Any]
    y_valid: pd.Series
    w_valid: np.ndarray | None
    featurization: DistributedFeaturization
    task: Task
    classes: list[Any] | None
    n_train: int
    time_out_minutes: int
    max_nodes: int | None
    workers: list[str] = field(default_factory=list)
    X_train: Any = None
    y_train: Any = None
    w_train: Any = None
    X_valid: Any = None
    #: The raw validation rows (target included), lazy: what the explanation samples.
    valid_frame: Any = None

    def place(self) -> None:
        """Persist the featurized partitions on the first ``max_nodes`` workers: LightGBM
        trains where its data is."""
        self.workers = _training_workers(cluster_info(self.client), self.max_nodes)
        X_train, y_train, w_train, X_valid = self.lazy
        self.X_train, self.y_train, self.X_valid = self.client.persist(
            [X_train, y_train, X_valid], workers=self.workers)
        self.w_train = (self.client.persist(w_train, workers=self.workers)
                        if w_train is not None else None)

    def restart(self) -> None:
        """Stop whatever runs on the cluster (its workers restart) and place the data again."""
        workers = len(self.workers) or 1
        self.client.restart(wait_for_workers=False)
        self.client.wait_for_workers(workers, timeout=120)
        self.place()


def distributed_trial(spec: TrialSpec, data: ClusterData) -> TrialOutput:
    """Fit ``spec``'s learner across the cluster, score it on the validation partitions."""
    learner = get_learner(spec.learner, spec.task)
    estimator = learner.build(spec.task, spec.params, n_jobs=spec.n_jobs, seed=spec.seed,
                              class_weight=spec.class_weight)
    start = time.perf_counter()
    # The job's client is the current one for whatever the library computes on its own.
    with warnings.catch_warnings(), data.client.as_current():
        warnings.simplefilter("ignore", category=UserWarning)
        estimator.fit_dask(data.client, data.X_train, data.y_train, data.w_train,
                           classes=data.classes, time_out_minutes=data.time_out_minutes)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    task = data.task
    predictions = _predict_partitions(data.client, task, estimator, data.X_valid)
    predict_seconds = time.perf_counter() - start
    metrics = task.score(data.y_valid, predictions, data.w_valid, spec.positive_label)
    f = data.featurization
    model = Pipeline([("inputs", f.inputs), ("datatransformer", f.categories),
                      ("model", estimator)])
    model_path = None
    if spec.model_path is not None:
        joblib.dump(model, spec.model_path)
        model, model_path = None, spec.model_path
    return TrialOutput(metrics=metrics, fold_scores=[metrics.get(spec.metric, float("nan"))],
                       predictions=predictions, validation_rows=np.arange(len(predictions)),
                       fit_seconds=fit_seconds, predict_seconds=predict_seconds, model=model,
                       params=dict(spec.params), featurization=f.summary,
                       n_features=len(f.kept), model_path=model_path)


def _input_frame(job: AutoMLTabular, field: str) -> Any:
    value = getattr(job, field)
    if isinstance(value, pd.DataFrame):
        raise InvalidSpecError(
            "training_mode: distributed reads its data from files on the cluster; give "
            f"{field} as a uri_file, uri_folder or mltable Input, not a DataFrame.", field=field)
    return dask_frame(value.type, value.path, field=field)


def _features_and_target(frame: Any, job: AutoMLTabular, field: str) -> tuple[Any, Any, Any]:
    target, weight = job.target_column_name, job.weight_column_name
    columns = [str(c) for c in frame.columns]
    for name, what in ((target, "target_column_name"), (weight, "weight_column_name")):
        if name is not None and name not in columns:
            raise DataError(f"{field} has no column '{name}' ({what}); its columns: "
                            f"{', '.join(columns[:20])}.")
    frame = frame.dropna(subset=[target])
    weights = frame[weight].astype("float64") if weight else None
    drop = [c for c in (target, weight) if c]
    return frame.drop(columns=drop), frame[target], weights


def _split(job: AutoMLTabular, seed: int, log: Any) -> tuple[Any, Any, str]:
    """(training part, validation part, the rule) as lazy Dask DataFrames."""
    train = _input_frame(job, "training_data")
    if job.validation_data is not None:
        return train, _input_frame(job, "validation_data"), "validation_data"
    share = float(job.validation_data_size or DISTRIBUTED_VALIDATION_SIZE)
    if job.n_cross_validations not in (None, "auto"):
        log.warning("training_mode: distributed validates on a holdout; n_cross_validations=%s "
                    "is ignored (Azure does not cross-validate in this mode).",
                    job.n_cross_validations)
    fit, valid = train.random_split([1.0 - share, share], random_state=seed)
    return fit, valid, f"a random {share:.0%} of the rows of every partition (seed {seed})"


def _training_workers(info: dict[str, Any], max_nodes: int | None) -> list[str]:
    """The workers a model trains on: the first ``max_nodes`` of the cluster's (by address),
    or all of them."""
    addresses = [str(w["address"]) for w in info["workers"]]
    return addresses[:max_nodes] if max_nodes and max_nodes < len(addresses) else addresses


def _prepare(job: AutoMLTabular, ctx: JobContext, client: Any, task: Task, seed: int,
             trial_minutes: float, max_nodes: int | None) -> tuple[ClusterData, str]:
    fit, valid, rule = _split(job, seed, ctx.log)
    X_fit, y_fit, w_fit = _features_and_target(fit, job, "training_data")
    X_val, y_val, w_val = _features_and_target(valid, job, "validation_data"
                                               if job.validation_data is not None
                                               else "training_data")
    featurization = fit_distributed_featurization(X_fit, client)
    for column, why in featurization.dropped.items():
        ctx.log.info("Featurization: column '%s' dropped: %s.", column, why)
    digest = client.compute(task.target_digest(y_fit), sync=True)
    task = task.fit_target(pd.Series(np.concatenate([np.ravel(np.asarray(d)) for d in digest])))
    data = ClusterData(client, (featurization.apply(X_fit), y_fit, w_fit,
                                featurization.apply(X_val)),
                       pd.Series(dtype=float), None, featurization, task, task.classes, 0,
                       max(1, int(np.ceil(trial_minutes)) + 1), max_nodes)
    data.valid_frame = valid
    data.place()
    n_train, y_valid, w_valid = client.compute(
        [data.y_train.size, y_val, w_val if w_val is not None else y_val.size], sync=True)
    data.n_train = int(n_train)
    data.y_valid = pd.Series(np.asarray(y_valid), name=job.target_column_name)
    data.w_valid = None if w_val is None else np.asarray(w_valid, dtype=float)
    return data, rule


def run_distributed(job: AutoMLTabular, ctx: JobContext, compute: dict[str, Any],
                    start: float, deadline: float, seed: int) -> JobResult:
    """Run ``job`` in distributed mode on the Dask ``compute``."""
    limits = resolved_limits(job.limits)
    budget = limits.timeout_minutes * 60
    metric = job.primary_metric_name
    recorder = ctx.recorder
    task = task_for(job.task_type).configure(job)
    learners = distributed_learners(job, task)
    address = str(compute.get("address"))
    ctx.log.info("Compute '%s': connecting to the Dask scheduler at %s.", compute.get("name"),
                 address)
    client = connect(address, what=f"compute '{compute.get('name')}' (the Dask scheduler at "
                                   f"{address})")
    try:
        info = cluster_info(client)
        workers = len(info["workers"])
        nodes = limits.max_nodes
        chosen = _training_workers(info, nodes)
        if len(chosen) < workers:
            ctx.log.info("max_nodes=%d: the model trains on %d of the cluster's %d workers "
                         "(%s).", nodes, len(chosen), workers, ", ".join(chosen))
        elif nodes and nodes > workers:
            ctx.log.info("max_nodes=%d is more than the cluster's %d worker(s): the model "
                         "trains on all of them.", nodes, workers)
        ctx.log.info(
            "training_mode: distributed on compute '%s' (%d worker(s); max_nodes=%s): %s "
            "trained across the workers; trials one at a time (max_concurrent_trials=%d "
            "ignored); a holdout instead of cross-validation; no ensembles, no ONNX export "
            "and no generated code (Azure's restrictions of this mode); numbers as they are "
            "and text columns as LightGBM categories; charts and the explanation on samples "
            "of the validation rows.",
            compute.get("name"), workers, nodes, ", ".join(lr.name for lr in learners),
            limits.max_concurrent_trials)
        recorder.update_record(training_mode="distributed")
        recorder.phase("Loading and checking data")
        data, rule = _prepare(job, ctx, client, task, seed,
                              min(limits.trial_timeout_minutes, limits.timeout_minutes),
                              nodes)
        plan = SplitPlan("holdout", [(np.arange(0), np.arange(len(data.y_valid)))],
                         f"{rule}: {len(data.y_valid):,} validation rows, "
                         f"{data.n_train:,} training rows")
        ctx.log.info("Training rows: %d, feature columns: %d; validation: %s", data.n_train,
                     len(data.featurization.kept), plan.rule)
        recorder.log_job(params={"task": job.task, "primary_metric": metric,
                                 "target_column_name": job.target_column_name,
                                 "validation": plan.rule, "n_folds": 1,
                                 "training_rows": data.n_train, "seed": seed,
                                 "training_mode": "distributed"})
        recorder.save_validation_plan(plan.describe())
        fitted = data.task
        planner = Planner(fitted.kind, learners, n_rows=data.n_train,
                          n_features=len(data.featurization.kept), seed=seed,
                          problem=fitted.problem_type)
        book = TrialBook(ctx, fitted, metric, seed, plan,
                         elapsed=lambda: time.monotonic() - start)

        def make_task(record: TrialRecord) -> tuple[Any, tuple[Any, ...]]:
            proposal = record.proposal
            spec = TrialSpec(index=record.index, learner=proposal.learner,
                             params=proposal.params, task=fitted.kind, metric=metric,
                             seed=seed, n_jobs=1, class_weight=proposal.class_weight,
                             positive_label=getattr(job, "positive_label", None),
                             model_path=str(recorder.trial_model_path(record.index)))
            return distributed_trial, (spec, data)

        backend: Any = InlineBackend(on_timeout=data.restart)
        faults = faults_from_env()
        if faults:  # the testing aids: distributed trials are labelled LEARNER-INDEX
            backend = FaultyBackend(backend, faults, _trial_label)
        explain = explainability_enabled(job)
        final_seconds = _SAVING_SECONDS + (explanation_seconds(budget) if explain else 0.0)
        loop = SearchLoop(planner, limits, metric,
                          SearchBudget(budget, deadline, first_trial_allowance=0.05),
                          make_task=make_task, events=book,
                          reserve=lambda _trials, _workers: final_seconds)
        recorder.phase("Searching", timeout_seconds=budget, max_trials=limits.max_trials,
                       concurrent_trials=1, elapsed_seconds=round(time.monotonic() - start, 2))
        loop.run(backend)
        ctx.log.info("%s", loop.summary())
        best = loop.best()
        if best is None or best.output is None:
            failures = "; ".join(f"trial {t.index} ({t.learner}): {t.error}"
                                 for t in loop.trials[:3])
            raise CirrusMLError(f"no trial completed ({loop.stop_reason}). {failures}")
        recorder.phase("Saving the best model")
        model = best.output.load_model()
        raw = _raw_sample(job)
        save_mlflow_model(model, recorder.best_model_path(), raw,
                          metadata_={"cirrusml_job": ctx.name, "algorithm": best.learner,
                                     "primary_metric": metric, "score": best.score,
                                     "training_mode": "distributed"})
        recorder.save_best_model(best.run_id)
        recorder.save_featurization_summary(data.featurization.summary)
        recorder.record_best(best.run_id, best.index, best.learner, metric, best.score)
        _save_validation_charts(ctx, data, best, seed)
        if job.test_data is not None:
            _score_test(job, ctx, client, model, fitted)
        if explain:
            recorder.phase("Explaining the best model")
            _explain_sample(job, ctx, model, data, best, seed,
                            min(explanation_seconds(budget),
                                max(1.0, deadline + 0.1 * budget - time.monotonic())))
        recorder.update_record(best_child_run_id=best.run_id, best_iteration=best.index,
                               best_algorithm=best.learner, best_score=best.score,
                               primary_metric=metric, stop_reason=loop.stop_reason,
                               trials=len(loop.trials),
                               search_seconds=round(time.monotonic() - start, 2))
        ctx.log.info("Best model: trial %d (%s), %s=%.4f. Saved to %s", best.index,
                     best.learner, metric, best.score, recorder.best_model_path())
        recorder.event("best", index=best.index, algorithm=best.learner, score=best.score,
                       metric=metric)
        return JobResult(best.index, best.score, metric, len(loop.trials), loop.stop_reason)
    finally:
        client.close()


def _save_validation_charts(ctx: JobContext, data: ClusterData, best: TrialRecord,
                            seed: int) -> None:
    """The best trial's validation charts, from a seeded sample of its validation rows."""
    assert best.output is not None
    n = len(data.y_valid)
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(n, CHART_ROWS),
                                                      replace=False))
    try:
        charts = data.task.charts(
            pd.DataFrame(index=pd.RangeIndex(len(rows))),
            data.y_valid.iloc[rows].reset_index(drop=True), best.output.predictions[rows],
            weights=None if data.w_valid is None else data.w_valid[rows])
    except (CirrusMLError, ValueError) as err:
        ctx.log.warning("The validation charts could not be made: %s", err)
        return
    ctx.recorder.save_charts("validation", charts, best.run_id)
    if len(rows) < n:
        ctx.log.info("Validation charts: a sample of %d of the %d validation rows.",
                     len(rows), n)


def _explain_sample(job: AutoMLTabular, ctx: JobContext, model: Any, data: ClusterData,
                    best: TrialRecord, seed: int, seconds: float) -> None:
    """Explain the best model on a seeded sample of the raw validation rows, gathered to the
    runner; a failure is logged, never fatal to the job."""
    from cirrusml.explain import explain_global, render_importance

    target, weight = job.target_column_name, job.weight_column_name
    try:
        share = min(1.0, 1.5 * EXPLANATION_ROWS / max(1, len(data.y_valid)))
        sample = data.valid_frame.sample(frac=share, random_state=seed).compute()
        sample = sample.dropna(subset=[target]).head(EXPLANATION_ROWS)
        X = sample.drop(columns=[c for c in (target, weight) if c])
        explanation = explain_global(model, X, sample[target], task=data.task,
                                     metric=job.primary_metric_name, max_rows=EXPLANATION_ROWS,
                                     seed=seed, time_budget=seconds)
        payload = explanation.to_dict()
        background = X.sample(n=min(100, len(X)), random_state=seed)
        ctx.recorder.save_explanation(payload, background, best.run_id)
    except Exception as err:  # noqa: BLE001 - a final step never fails the job
        ctx.log.warning("The explanation failed (%s: %s); skipped.", type(err).__name__, err)
        return
    ctx.log.info("Explanation of the best model (%s, a sample of %d validation rows, %.1f s):"
                 "\n%s", payload.get("method"), explanation.n_rows,
                 explanation.seconds, render_importance(explanation, top=10))


def _predict_partitions(client: Any, task: Task, model: Any, X: Any) -> np.ndarray:
    """``task.predict`` of ``model`` on every partition of the Dask DataFrame ``X``, computed
    on the workers, in partition order."""
    import dask

    parts = [dask.delayed(task.predict)(model, part) for part in X.to_delayed()]
    return np.concatenate(client.compute(parts, sync=True), axis=0)


def _trial_label(fn: Any, args: tuple[Any, ...]) -> str | None:
    """The fault plans' label of a distributed trial: ``LightGBM-0`` for trial 0."""
    return f"{args[0].learner}-{args[0].index}" if fn is distributed_trial else None


def _raw_sample(job: AutoMLTabular) -> pd.DataFrame:
    """Raw training rows (features only) for the model's signature and example."""
    frame = _input_frame(job, "training_data").head(1000, npartitions=-1)
    drop = [c for c in (job.target_column_name, job.weight_column_name) if c]
    return frame.drop(columns=drop)


def _score_test(job: AutoMLTabular, ctx: JobContext, client: Any, model: Any,
                task: Task) -> None:
    frame = _input_frame(job, "test_data")
    X, y, w = _features_and_target(frame, job, "test_data")
    predictions = _predict_partitions(client, task, model, X)
    y_true, weights = client.compute([y, w if w is not None else y.size], sync=True)
    weights = weights if w is not None else None
    y_true = pd.Series(np.asarray(y_true), name=job.target_column_name)
    scoring = task.for_scoring(y_true)
    metrics = scoring.score(y_true, predictions,
                            None if weights is None else np.asarray(weights, dtype=float),
                            getattr(job, "positive_label", None))
    ctx.recorder.save_test_metrics(metrics, source="test_data", rows=len(y_true))
    ctx.log.info("Test %s (%d rows): %.4f", job.primary_metric_name, len(y_true),
                 metrics.get(job.primary_metric_name, float("nan")))
