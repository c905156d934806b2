"""The engine: runs one job from its specification to its best model.

This is the only module that composes the parts: data, task, featurization, learners, search,
execution and tracking. Everything that runs user-sized work — trials, refits, the stack's
meta-learner, the explanation, ONNX export and parity, test scoring — is a task on the job's
:class:`~cirrusml.execution.Backend` with a time limit; the runner itself only plans, records and
saves.

Time: the job's clock starts when its runner gets a queue slot (``JobContext.started``). The
search stops early enough to leave room for the final steps (:class:`FinalReserve`), so the whole
job ends within 1.1 x ``timeout_minutes``; each final step is stopped at its own limit, logged
and skipped.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from cirrusml.engine._book import JobResult, TrialBook, allowed_learners
from cirrusml.engine._context import JobContext
from cirrusml.engine._data import PreparedData, prepare_data
from cirrusml.engine._distributed import (
    distributed_learners,
    restricted_job,
    run_distributed,
    share_cluster,
)
from cirrusml.engine._final import (
    SAVE_BYTES_PER_SECOND,
    SAVE_RESERVE_SECONDS,
    EnsembleRecord,
    FinalPhase,
    FinalReserve,
    ensembles_enabled,
    explainability_enabled,
    explanation_seconds,
)
from cirrusml.engine._model_io import save_mlflow_model
from cirrusml.engine._search import SearchBudget, SearchLoop, TrialRecord
from cirrusml.engine._steps import explain_step, onnx_step, test_step
from cirrusml.engine._trial import JobData, TrialOutput, TrialSpec, run_trial
from cirrusml.exceptions import CirrusMLError, DataError
from cirrusml.execution import (
    Backend,
    ClusterShare,
    DaskBackend,
    FaultyBackend,
    LocalBackend,
    TaskOutcome,
    faults_from_env,
    save_for_workers,
)
from cirrusml.featurize import (
    Guardrail,
    compute_guardrails,
    expected_widths,
    mark_class_balancing_done,
    profile_columns,
    render_featurization_summary,
)
from cirrusml.metrics import to_loss
from cirrusml.search import DataShape, Planner, Proposal
from cirrusml.spec import AutoMLTabular, FeaturizationMode, TabularTrainingMode, resolved_limits
from cirrusml.tasks import Task, task_for
from cirrusml.tracking import JobStore, TrialStatus
from cirrusml.utils import release_memory

DEFAULT_SEED = 0
#: Past the timeout, the share of the budget the first trial may still use (the 1.1 x guarantee).
_FIRST_TRIAL_ALLOWANCE = 0.05
#: A final step's hard limit reaches this far past the time it is given (starting a worker and
#: importing its libraries), then the step is stopped.
_STEP_GRACE_SECONDS = 2.0
#: The least time a final step other than the explanation is given.
_MIN_STEP_SECONDS = 5.0
_POLL_SECONDS = 0.2


def _prepare_featurization(job: AutoMLTabular, ctx: JobContext, data: PreparedData
                           ) -> tuple[Any, list[Any]]:
    """Profile the training columns and compute Azure's data guardrails."""
    settings = job.featurization
    train_X = data.X.iloc[: data.n_train_rows]
    _check_named_columns(job)
    profile = profile_columns(train_X, settings)
    mode = settings.mode if settings is not None and settings.mode is not None \
        else FeaturizationMode.AUTO
    guardrails: list[Any] = []
    if mode is not FeaturizationMode.OFF:
        guardrails = compute_guardrails(
            profile, train_X, data.y.iloc[: data.n_train_rows] if data.classes else None,
            task=data.task, split_description=data.plan.describe(),
            dropped_target_rows=sum(n for where, n in data.dropped_target_rows.items()
                                    if where != "test_data"),
            memory_bytes_available=int(psutil.virtual_memory().available))
    # The task's own checks (a forecast's frequency, series ids, short series) come first.
    own = [Guardrail(c.name, c.status, c.description, list(c.details)) for c in data.task.checks]
    return profile, own + guardrails


def _cost_shape(job: AutoMLTabular, data: PreparedData, profile: Any, task: Task) -> DataShape:
    """What the cost model needs to know of this job's data: the rows one fit of a trial
    trains on, the featurized width (all of it and its dense part) with and without native
    categories, the classes and the fits per trial."""
    folds = data.plan.folds
    rows = int(np.mean([len(train) for train, _valid in folds])) if folds else data.n_train_rows
    widths = {}
    for native in (True, False):
        try:
            widths[native] = expected_widths(profile, job.featurization,
                                             native_categorical=native, task=task)
        except DataError:  # settings a trial would refuse: the trial says so
            widths[native] = (len(data.feature_columns),) * 2
    return DataShape(rows=max(1, rows), width=widths[False][0], native_width=widths[True][0],
                     dense_width=widths[False][1], native_dense_width=widths[True][1],
                     classes=len(task.classes) if task.classes else 1, fits=max(1, len(folds)))


def _save_charts(ctx: JobContext, kind: str, run_id: str,
                 make: Callable[..., dict[str, Any]], *args: Any) -> None:
    """Chart data are a report: one that cannot be made is logged, never fatal to the job."""
    try:
        charts = make(*args)
    except (CirrusMLError, ValueError) as err:
        ctx.log.warning("The %s charts could not be made: %s", kind, err)
        return
    ctx.recorder.save_charts(kind, charts, run_id)


def _check_named_columns(job: AutoMLTabular) -> None:
    """Featurization settings must not name the target or weight column."""
    settings = job.featurization
    if settings is None:
        return
    named = set(settings.column_name_and_types or {})
    for entries in (settings.transformer_params or {}).values():
        for entry in entries:
            named.update(entry.fields)
    for column, role in ((job.target_column_name, "target"), (job.weight_column_name, "weight")):
        if column and column in named:
            raise DataError(
                f"featurization names '{column}', the {role} column, which is not a feature; "
                "remove it from column_name_and_types and transformer_params.")


def _save_guardrails(ctx: JobContext, guardrails: list[Any]) -> None:
    ctx.recorder.save_guardrails([g.to_dict() for g in guardrails])


def _restore(ctx: JobContext, metric: str) -> tuple[list[TrialRecord], float]:
    """The trials an earlier runner of this job recorded, and the seconds of budget it used.

    A trial that was running when that runner stopped is recorded now as Failed (its MLflow run
    ended), so indices stay contiguous; a completed trial whose model and predictions were kept
    can be an ensemble member or the best model without being rerun.
    """
    recorder = ctx.recorder
    store = JobStore(recorder.workspace)
    events, _offset = store.read_events(ctx.name)
    used = max([float(e.get("elapsed_seconds", 0.0)) for e in events] or [0.0])
    started = {int(e["index"]): e for e in events if e.get("event") == "trial_started"}
    # A runner killed between opening a trial's MLflow run and writing its event leaves a run
    # with no event: it counts as started too, so its index is not given out twice.
    for run in store.trial_runs(ctx.name):
        if (run.tags.get("cirrus.kind") == "trial" and run.iteration is not None
                and run.iteration not in started):
            started[run.iteration] = {"index": run.iteration, "algorithm": run.algorithm,
                                      "run_id": run.run_id}
    infos = store.trial_infos(ctx.name)
    layout = recorder.layout
    records: list[TrialRecord] = []
    for index in sorted(started):
        info = infos.get(index)
        if info is None or "learner" not in info or info.get("members") is not None:
            run_id = str(started[index].get("run_id") or "")
            proposal = Proposal(learner=str(started[index].get("algorithm")), params={},
                                source="resumed")
            record = TrialRecord(index, proposal, run_id=run_id, status="Failed",
                                 error="the job's runner stopped while this trial ran")
            if run_id:
                with contextlib.suppress(Exception):
                    recorder.finish_trial(run_id, TrialStatus.FAILED, error=record.error)
            records.append(record)
            continue
        proposal = Proposal(learner=info["learner"], params=dict(info.get("params") or {}),
                            class_weight=info.get("class_weight"),
                            source=info.get("source") or "portfolio")
        record = TrialRecord(index, proposal, run_id=info.get("run_id", ""),
                             status=info.get("status", "Failed"), score=info.get("score"),
                             seconds=float(info.get("seconds") or 0.0), error=info.get("error"))
        if record.completed and record.score is not None:
            record.loss = to_loss(metric, float(record.score))
            record.metrics = dict(info.get("metrics") or {metric: record.score})
        model = info.get("model")
        oof = layout.trial_predictions(index)
        if record.completed and model and oof.exists():
            saved = np.load(oof)
            record.output = TrialOutput(
                metrics=record.metrics, fold_scores=[], predictions=saved["predictions"],
                validation_rows=saved["rows"], fit_seconds=float(info.get("fit_seconds", 0.0)),
                predict_seconds=0.0, featurization=list(info.get("featurization") or []),
                n_features=int(info.get("n_features") or 0),
                model_path=str(layout.trial_model(index)))
        records.append(record)
    return records, used


_STEP_LABELS: dict[Any, str] = {explain_step: "explanation", onnx_step: "onnx",
                                 test_step: "test"}


def _trial_label(fn: Callable[..., Any], args: tuple[Any, ...]) -> str | None:
    """What the testing aids' fault plans key on: a trial's learner, or a final step's name
    (``explanation``, ``onnx``, ``test``); refits and ensembles run untouched."""
    if fn is run_trial:
        return str(args[0].learner)
    return _STEP_LABELS.get(fn)


def make_backend(workers: int, threads: int, *, compute: dict[str, Any] | None = None,
                 max_tasks: int | None = None, log: Any = None) -> Backend:
    """The job's backend, with the testing aids' faults when the environment asks for them
    (:func:`~cirrusml.execution.faults_from_env`).

    Local worker processes, or, when ``compute`` is a registered Dask compute's record, its
    cluster (at most ``max_tasks`` trials at once, capped by the cluster's worker threads).
    Raises ``CirrusMLError`` when the compute's scheduler does not answer.
    """
    backend: Backend
    if compute is not None:
        backend = DaskBackend(str(compute.get("address")), max_tasks or workers,
                              name=str(compute.get("name")), log=log)
    else:
        local = LocalBackend(n_workers=workers, threads_per_worker=threads)
        local.start()
        backend = local
    faults = faults_from_env()
    if faults:
        return FaultyBackend(backend, faults, _trial_label)
    return backend


def run_job(job: AutoMLTabular, ctx: JobContext) -> JobResult:
    """Run ``job`` to its best model. Raises ``CirrusMLError`` for bad input."""
    start = ctx.started if ctx.started is not None else time.monotonic()
    limits = resolved_limits(job.limits)
    deadline = start + limits.timeout_minutes * 60
    seed = DEFAULT_SEED if job.seed is None else job.seed

    compute = ctx.recorder.workspace.dask_compute(job.compute)
    if job.training is not None and job.training.training_mode is TabularTrainingMode.DISTRIBUTED:
        task = task_for(job.task_type).configure(job)
        if compute is not None and distributed_learners(job, task):
            if task.reads_on_cluster:
                return run_distributed(job, ctx, compute, start, deadline, seed)
            # The fits spread the prepared rows over the cluster; trials are driven from
            # local processes, as many as there are groups of workers.
            share, concurrent = share_cluster(job, ctx, compute, task)
            ctx.recorder.update_record(training_mode="distributed")
            backend = make_backend(concurrent, 1)
            try:
                return _run(restricted_job(job, ctx), ctx, backend, start, deadline, seed, 1,
                            cluster=share)
            finally:
                backend.close()
        ctx.log.warning(
            "training_mode: distributed (max_nodes=%s) needs a Dask compute (the job's "
            "compute: %s) and a learner that trains distributed (LightGBM, for classification "
            "and regression; TCNForecaster with enable_dnn_training, for forecasting); each "
            "trial trains in one process instead; see docs/dask.md.",
            limits.max_nodes, job.compute or "none")
    # Worker processes start now, importing their libraries while the data loads.
    cores = os.cpu_count() or 1
    if compute is not None:
        # On a Dask compute, a trial gets one of the cluster's worker threads unless the job
        # asks for more cores per trial.
        threads = 1 if limits.max_cores_per_trial == -1 else limits.max_cores_per_trial
        ctx.log.info("Compute '%s': connecting to the Dask scheduler at %s.",
                     compute.get("name"), compute.get("address"))
        backend = make_backend(limits.max_concurrent_trials, threads, compute=compute,
                               log=ctx.log)
        ctx.log.info("Compute '%s': trials run on the Dask scheduler at %s (%d at a time).",
                     compute.get("name"), compute.get("address"), backend.n_workers)
    else:
        workers = min(limits.max_concurrent_trials, cores)
        threads = (max(1, cores // workers) if limits.max_cores_per_trial == -1
                   else min(limits.max_cores_per_trial, cores))
        backend = make_backend(workers, threads)
    try:
        return _run(job, ctx, backend, start, deadline, seed, threads)
    finally:
        backend.close()


def _warn_about_concurrency(ctx: JobContext, limits: Any, backend: Backend) -> None:
    """One warning when the backend runs fewer trials at once than the job asks for (the
    machine's cores, or a Dask cluster's worker threads)."""
    wanted, slots = limits.max_concurrent_trials, backend.n_workers
    inner = backend.inner if isinstance(backend, FaultyBackend) else backend
    what = "worker threads of the Dask cluster" if isinstance(inner, DaskBackend) \
        else "cores of this machine"
    if wanted > slots:
        ctx.log.warning("max_concurrent_trials=%d is more than the %d %s; running %d trials "
                        "at a time.", wanted, slots, what, slots)


def _run(job: AutoMLTabular, ctx: JobContext, backend: Backend, start: float,
         deadline: float, seed: int, threads: int, cluster: ClusterShare | None = None
         ) -> JobResult:
    """The job on ``backend``; with ``cluster``, only the learners that train distributed,
    each fit across that share of a Dask cluster (``training_mode: distributed``)."""
    limits = resolved_limits(job.limits)
    budget = limits.timeout_minutes * 60
    metric = job.primary_metric_name
    restored: list[TrialRecord] = []
    used_before = 0.0
    if ctx.resume:
        restored, used_before = _restore(ctx, metric)
        # What the earlier runs used is gone from the budget; the rest is this run's.
        deadline -= used_before
        ctx.log.info("Resuming: %d trial(s) recorded, %.1f s of the budget used; %.1f s left.",
                     len(restored), used_before, max(0.0, deadline - time.monotonic()))
    recorder = ctx.recorder
    recorder.phase("Loading and checking data")
    data = prepare_data(job, task_for(job.task_type).configure(job), seed)
    plan = data.plan
    ctx.log.info("Training rows: %d, feature columns: %d; validation: %s", data.n_train_rows,
                 len(data.feature_columns), plan.rule)
    for notice in plan.notices:
        ctx.log.warning("Validation: %s", notice)
    for where, count in data.dropped_target_rows.items():
        ctx.log.warning("Dropped %d row(s) of %s whose target is missing.", count, where)

    recorder.phase("Profiling columns and checking guardrails")
    profile, guardrails = _prepare_featurization(job, ctx, data)
    for guardrail in guardrails:
        ctx.log.info("Guardrail %-36s %s", guardrail.name, guardrail.status)
    _save_guardrails(ctx, guardrails)
    imbalanced = any(g.name == "Class balancing detection" and g.status == "Alerted"
                     for g in guardrails)
    recorder.log_job(params={
        "task": job.task, "primary_metric": metric, "target_column_name": job.target_column_name,
        "validation": plan.rule, "n_folds": plan.n_folds, "training_rows": data.n_train_rows,
        "seed": seed})
    recorder.save_validation_plan(plan.describe())
    recorder.save_column_profile({name: col.to_dict() for name, col in profile.columns.items()})

    # The task, fitted on the target: the class list, or the training target's range.
    task = data.task
    onnx_mode = bool(job.training and job.training.enable_onnx_compatible_models)
    job_data = JobData(X=data.X, y=data.y, weights=data.weights, folds=plan.folds, task=task,
                       profile=profile, featurization=job.featurization,
                       onnx_compatible=onnx_mode, cluster=cluster)
    data_path = save_for_workers(job_data, recorder.worker_data_path())

    explain = explainability_enabled(job)
    _vote, stack = ensembles_enabled(job, task)
    learners = allowed_learners(job, task) if cluster is None else \
        distributed_learners(job, task)
    planner = Planner(task.kind, learners, n_rows=data.n_train_rows,
                      n_features=len(data.feature_columns), seed=seed,
                      problem=task.problem_type, imbalanced=imbalanced,
                      shape=_cost_shape(job, data, profile, task))
    book = TrialBook(ctx, task, metric, seed, plan,
                      elapsed=lambda: used_before + time.monotonic() - start)
    positive_label = getattr(job, "positive_label", None)

    def make_task(record: TrialRecord) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        proposal = record.proposal
        spec = TrialSpec(index=record.index, learner=proposal.learner, params=proposal.params,
                         task=task.kind, metric=metric, seed=seed, n_jobs=threads,
                         class_weight=proposal.class_weight, positive_label=positive_label,
                         model_path=str(recorder.trial_model_path(record.index)))
        return run_trial, (spec, data_path)

    loop = SearchLoop(
        planner, limits, metric,
        SearchBudget(budget, deadline, first_trial_allowance=_FIRST_TRIAL_ALLOWANCE),
        make_task=make_task, events=book,
        reserve=FinalReserve(budget, plan.is_cv, plan.n_folds, stack, explain))
    if restored:
        loop.restore(restored)
    _warn_about_concurrency(ctx, limits, backend)
    recorder.phase("Searching", timeout_seconds=budget, max_trials=limits.max_trials,
                   concurrent_trials=backend.n_workers,
                   elapsed_seconds=round(time.monotonic() - start, 2))
    loop.run(backend)
    ctx.log.info("%s", loop.summary())
    if loop.best() is None:
        failures = "; ".join(f"trial {t.index} ({t.learner}): {t.error}"
                             for t in loop.trials[:3])
        raise CirrusMLError(f"no trial completed ({loop.stop_reason}). {failures}")
    final = FinalPhase(job, ctx, loop, plan, backend, job_data, data_path, threads, seed)
    recorder.phase("Building ensembles")
    # Ensembles and refits end early enough to leave room for saving and explaining.
    final_deadline = deadline - SAVE_RESERVE_SECONDS - (
        explanation_seconds(budget) if explain else 0.0)
    final.build_ensembles(final_deadline)
    best = final.best()
    best_score = best.score
    assert best_score is not None  # the best record is a completed one
    recorder.phase("Building the best model", trial=best.index)
    model = final.fit_best(best, final_deadline)
    release_memory(collect=False)  # what unpickling the refitted members left behind
    members = best.members if isinstance(best, EnsembleRecord) else [best]
    balanced = [m for m in members if m.proposal.class_weight == "balanced"]
    if balanced and guardrails:
        mark_class_balancing_done(guardrails, {
            "action": f"class_weight='balanced' ({', '.join(m.learner for m in balanced)}) is "
                      f"part of the best model ({metric} {best.score:.4f})"})
        _save_guardrails(ctx, guardrails)

    recorder.phase("Saving the best model")
    out_dir = recorder.best_model_path()
    save_mlflow_model(model, out_dir, data.X.iloc[: data.n_train_rows],
                      example=task.input_example(data.X),
                      metadata_={"cirrusml_job": ctx.name, "algorithm": best.learner,
                                 "primary_metric": metric, "score": best.score})
    recorder.save_best_model(best.run_id)
    # An ensemble's summary is that of its heaviest member.
    heaviest = (best.members[int(np.argmax(best.weights))] if isinstance(best, EnsembleRecord)
                else best)
    summary = heaviest.output.featurization if heaviest.output is not None else []
    recorder.save_featurization_summary(summary)
    if summary:
        ctx.log.info("Featurization of the best model:\n%s", render_featurization_summary(summary))
    recorder.record_best(best.run_id, best.index, best.learner, metric, best_score)
    _save_charts(ctx, "validation", best.run_id, final.validation_charts, best)

    steps = _FinalSteps(ctx, backend, job, data, data_path, task, best, seed, budget, deadline)
    n_ensembles = len(final.ensembles)
    # The steps' workers load their own copy of the model: the runner's goes back to the system.
    if isinstance(best, EnsembleRecord):
        best.holdout_members = None
    del model, final
    release_memory()
    steps.run(onnx=onnx_mode, explain=explain,
              test=data.X_test is not None and data.y_test is not None)
    recorder.update_record(best_child_run_id=best.run_id, best_iteration=best.index,
                           best_algorithm=best.learner, best_score=best.score,
                           primary_metric=metric, stop_reason=loop.stop_reason,
                           trials=len(loop.trials) + n_ensembles,
                           search_seconds=round(time.monotonic() - start, 2))
    ctx.log.info("Best model: trial %d (%s), %s=%.4f. Saved to %s", best.index, best.learner,
                 metric, best.score, out_dir)
    recorder.event("best", index=best.index, algorithm=best.learner, score=best.score,
                   metric=metric)
    return JobResult(best.index, best.score, metric, len(loop.trials) + n_ensembles,
                     loop.stop_reason)


class _FinalSteps:
    """Test scoring, ONNX export and parity, and the explanation: each a backend task on the
    saved best model, started as workers free up and stopped at its hard limit (then logged and
    skipped: a final step never fails the job or keeps it past its time)."""

    def __init__(self, ctx: JobContext, backend: Backend, job: AutoMLTabular,
                 data: PreparedData, data_path: str, task: Task, best: Any, seed: int,
                 budget: float, deadline: float) -> None:
        self.ctx, self.backend, self.job, self.data, self.task = ctx, backend, job, data, task
        #: The job's data as the workers hold it: steps get row positions, not copies of rows.
        self.data_path = data_path
        self.best, self.seed, self.budget, self.deadline = best, seed, budget, deadline
        self.recorder = ctx.recorder
        # The workers load the model the runner saved (its MLflow folder's pickle): no second
        # copy is written, and the runner lets go of its own copy while they work.
        self.model_path = str(self.recorder.layout.best_model_pickle)
        self.model_bytes = os.path.getsize(self.model_path)

    def allowance_left(self) -> float:
        """Seconds left of the job's allowance (1.1 x timeout), less what saving needs."""
        return self.deadline + 0.1 * self.budget - time.monotonic() - SAVE_RESERVE_SECONDS

    def run(self, *, onnx: bool, explain: bool, test: bool) -> None:
        wanted: list[tuple[str, Callable[[], tuple[Any, tuple[Any, ...], float] | None]]] = []
        if test:
            wanted.append(("test scoring", self._test_task))
        if onnx:
            wanted.append(("ONNX export", self._onnx_task))
        if explain:
            wanted.append(("explanation", self._explain_task))
        if not wanted:
            return
        pending = list(wanted)
        running: set[str] = set()
        while pending or running:
            while pending and self.backend.free_slots > 0:
                name, make = pending.pop(0)
                made = make()
                if made is None:
                    continue
                fn, args, limit = made
                if name == "explanation":
                    self.recorder.phase("Explaining the best model")
                self.backend.submit(name, fn, *args, timeout=limit)
                running.add(name)
            for outcome in self.backend.wait(_POLL_SECONDS):
                running.discard(str(outcome.key))
                self._done(outcome)

    def _limit(self, wanted: float | None = None) -> float:
        left = self.allowance_left()
        return max(_MIN_STEP_SECONDS, left if wanted is None else min(wanted, left))

    # ----------------------------------------------------------------------------- tasks

    def _test_task(self) -> tuple[Any, tuple[Any, ...], float]:
        d = self.data
        return test_step, (self.model_path, self.data_path, d.X_test, d.y_test, d.w_test,
                           self.task,
                           getattr(self.job, "positive_label", None)), self._limit()

    def _onnx_task(self) -> tuple[Any, tuple[Any, ...], float]:
        onnx_path = self.recorder.onnx_path()
        d = self.data
        sample = np.arange(min(50, d.n_train_rows))
        rows = d.plan.folds[0][1][:2000]
        return onnx_step, (self.model_path, self.data_path, sample, rows,
                           str(onnx_path)), self._limit()

    def _explain_task(self) -> tuple[Any, tuple[Any, ...], float] | None:
        allowed = min(explanation_seconds(self.budget), self.allowance_left())
        if allowed < 0.5:
            self.ctx.log.warning("No time is left to explain the best model; skipped.")
            return None
        d = self.data
        rows = self.task.explanation_rows(d.plan, d.n_train_rows)
        # The worker loads the model first (its clock for the explanation starts after that).
        loading = self.model_bytes / SAVE_BYTES_PER_SECOND
        return explain_step, (self.model_path, self.data_path, rows,
                              self.job.primary_metric_name, self.seed, allowed), \
            allowed + loading + _STEP_GRACE_SECONDS

    # --------------------------------------------------------------------------- results

    def _done(self, outcome: TaskOutcome) -> None:
        name = str(outcome.key)
        if not outcome.ok:
            how = ("was stopped at its time limit" if outcome.status == "timeout"
                   else f"failed: {outcome.error}")
            self.ctx.log.warning("The %s %s (%.1f s); skipped.", name, how, outcome.seconds)
            self.recorder.event("step", step=name, status=outcome.status, error=outcome.error)
            return
        record: dict[str, Callable[[Any], None]] = {
            "test scoring": self._record_test, "ONNX export": self._record_onnx,
            "explanation": self._record_explanation}
        record[name](outcome.value)

    def _record_test(self, value: tuple[dict[str, float], dict[str, Any] | str, float]
                     ) -> None:
        metrics, charts, _seconds = value
        ctx, d = self.ctx, self.data
        self.recorder.save_test_metrics(metrics, source=d.test_source,
                                        rows=len(d.y_test))  # type: ignore[arg-type]
        if isinstance(charts, str):
            ctx.log.warning("The test charts could not be made: %s", charts)
        else:
            self.recorder.save_charts("test", charts, self.recorder.parent_run_id)
        ctx.log.info("Test %s (%d rows): %.4f", self.job.primary_metric_name,
                     len(d.y_test),  # type: ignore[arg-type]
                     metrics.get(self.job.primary_metric_name, float("nan")))

    def _record_onnx(self, value: tuple[str, dict[str, Any]] | str) -> None:
        ctx = self.ctx
        if isinstance(value, str):
            ctx.log.warning("ONNX export failed: %s", value)
            return
        path, parity = value
        self.recorder.save_onnx(self.best.run_id, Path(path), parity)
        ctx.log.info("ONNX model: %s (parity on %d rows: max abs diff %.2e)", path,
                     parity["rows"], parity["max_abs_diff"])

    def _record_explanation(self, value: tuple[dict[str, Any], str, int, float]) -> None:
        payload, table, n_rows, seconds = value
        ctx, d = self.ctx, self.data
        background = d.X.iloc[: d.n_train_rows].sample(
            n=min(100, d.n_train_rows), random_state=self.seed)
        self.recorder.save_explanation(payload, background, self.best.run_id)
        ctx.log.info("Explanation of the best model (%s, %d rows, %.1f s):\n%s",
                     payload.get("method"), n_rows, seconds, table)
