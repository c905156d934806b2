"""The engine: runs one job from its specification to its best model.

This is the only module that composes the parts: data, task, featurization, learners, search,
execution and tracking.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cirrusml.engine._context import JobContext
from cirrusml.engine._data import PreparedData, prepare_data
from cirrusml.engine._model_io import save_mlflow_model
from cirrusml.engine._trial import JobData, TrialOutput, TrialSpec, refit, run_trial, score
from cirrusml.exceptions import CirrusMLError, InvalidSpecError
from cirrusml.execution import LocalBackend, TaskOutcome, save_for_workers
from cirrusml.metrics import to_loss
from cirrusml.models import learners_for
from cirrusml.search import DefaultsPlanner, Proposal, StoppingRule
from cirrusml.spec import AutoMLTabular, TaskType, resolved_limits
from cirrusml.tasks import task_for
from cirrusml.tracking import BEST_CHILD_TAG

DEFAULT_SEED = 0
_POLL_SECONDS = 0.5


@dataclass
class TrialRecord:
    """A trial as the runner knows it."""

    index: int
    learner: str
    params: dict[str, Any]
    run_id: str
    status: str = "Running"
    metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    loss: float = math.inf
    seconds: float = 0.0
    error: str | None = None
    output: TrialOutput | None = None

    @property
    def name(self) -> str:
        return f"{self.index}"


@dataclass
class JobResult:
    best_trial: int | None
    best_score: float | None
    metric: str
    trials: int
    stop_reason: str


class _Search:
    """The trial loop: ask the planner, run on the backend, record, stop when a limit says so."""

    def __init__(self, job: AutoMLTabular, ctx: JobContext, data: PreparedData, data_path: str,
                 seed: int, deadline: float) -> None:
        self.job = job
        self.ctx = ctx
        self.data = data
        self.data_path = data_path
        self.seed = seed
        self.deadline = deadline
        self.task = job.task_type
        self.metric = job.primary_metric_name
        self.limits = resolved_limits(job.limits)
        self.trials: list[TrialRecord] = []
        self.running: dict[int, TrialRecord] = {}
        exit_loss = None if self.limits.exit_score is None else to_loss(self.metric, self.limits.exit_score)
        self.stopping = StoppingRule(self.limits.enable_early_termination, exit_loss)
        self.stop_reason = ""

    # ------------------------------------------------------------------------- resources

    def concurrency(self) -> tuple[int, int]:
        cores = os.cpu_count() or 1
        wanted = self.limits.max_concurrent_trials
        workers = min(wanted, cores)
        if wanted > cores:
            self.ctx.log.warning(
                "max_concurrent_trials=%d is more than the %d cores of this machine; running %d "
                "trials at a time.", wanted, cores, workers)
        per_trial = self.limits.max_cores_per_trial
        threads = max(1, cores // workers) if per_trial == -1 else min(per_trial, cores)
        return workers, threads

    # ----------------------------------------------------------------------------- loop

    def allowed_learners(self) -> list[Any]:
        pool = learners_for(self.task)
        training = self.job.training
        allowed = blocked = None
        if training is not None:
            allowed = {a.value for a in training.allowed_training_algorithms or []} or None
            blocked = {a.value for a in training.blocked_training_algorithms or []}
        chosen = [lr for lr in pool if (allowed is None or lr.name in allowed)
                  and lr.name not in (blocked or set())]
        if not chosen:
            names = ", ".join(lr.name for lr in pool)
            raise InvalidSpecError(
                f"no learner this release supports is left to try (supported now: {names}).",
                field="training.allowed_training_algorithms")
        return chosen

    def _should_stop(self, planner: DefaultsPlanner) -> str:
        if len(self.trials) >= self.limits.max_trials:
            return f"max_trials ({self.limits.max_trials}) reached"
        if self.stopping.exit_score_reached:
            return f"exit_score ({self.limits.exit_score:g}) reached"
        if self.stopping.early_terminated:
            return "early termination: no improvement in the last 10 trials"
        if time.monotonic() >= self.deadline:
            return "timeout_minutes reached"
        if planner.exhausted:
            return "every configuration in the search space was tried"
        return ""

    def run(self, backend: LocalBackend, threads: int) -> None:
        planner = DefaultsPlanner(self.task, self.allowed_learners())
        trial_timeout = self.limits.trial_timeout_minutes * 60
        while True:
            while not self.stop_reason and backend.free_slots > 0:
                self.stop_reason = self._should_stop(planner)
                if self.stop_reason:
                    break
                proposal = planner.ask()
                if proposal is None:
                    break
                self._submit(backend, proposal, threads, trial_timeout)
            if not self.running:
                break
            for outcome in backend.wait(_POLL_SECONDS, hard_deadline=self.deadline):
                record = self.running.pop(outcome.key)
                self._finish(record, outcome)
                planner.tell(Proposal(record.learner, record.params), record.loss, record.seconds)
        if not self.stop_reason:
            self.stop_reason = self._should_stop(planner) or "search finished"

    def _submit(self, backend: LocalBackend, proposal: Proposal, threads: int,
                trial_timeout: float) -> None:
        index = len(self.trials)
        run_id = self.ctx.tracker.start_run(
            self.ctx.experiment_id, f"{self.ctx.name}_{index}", parent_run_id=self.ctx.parent_run_id,
            tags={"iteration": index, "run_algorithm": proposal.learner, "cirrus.kind": "trial"})
        record = TrialRecord(index, proposal.learner, dict(proposal.params), run_id)
        self.ctx.tracker.log(run_id, params=proposal.params)
        spec = TrialSpec(index=index, learner=proposal.learner, params=proposal.params,
                         task=self.task.value, metric=self.metric, seed=self.seed, n_jobs=threads,
                         positive_label=getattr(self.job, "positive_label", None))
        self.trials.append(record)
        self.running[index] = record
        backend.submit(index, run_trial, spec, self.data_path, timeout=trial_timeout)
        self.ctx.event("trial_started", index=index, algorithm=proposal.learner)

    def _finish(self, record: TrialRecord, outcome: TaskOutcome) -> None:
        record.seconds = outcome.seconds
        tracker = self.ctx.tracker
        if outcome.status == "ok":
            output: TrialOutput = outcome.value
            record.output = output
            record.metrics = output.metrics
            record.score = output.metrics.get(self.metric)
            if record.score is None or not math.isfinite(record.score):
                record.status = "Failed"
                record.error = f"the primary metric {self.metric} is undefined for this trial"
            else:
                record.status = "Completed"
                record.loss = to_loss(self.metric, record.score)
            tracker.log(record.run_id, metrics={**output.metrics,
                                                "training_time_seconds": output.fit_seconds},
                        tags={"score": record.score, "status": record.status})
            tracker.end_run(record.run_id, "FINISHED" if record.status == "Completed" else "FAILED")
        else:
            record.status = {"timeout": "TimedOut", "canceled": "Canceled"}.get(outcome.status, "Failed")
            record.error = outcome.error
            tracker.log(record.run_id, tags={"status": record.status,
                                             "error": (outcome.error or "")[:5000]})
            if outcome.traceback:
                tracker.log_json(record.run_id, {"error": outcome.error,
                                                 "traceback": outcome.traceback}, "outputs/error.json")
            tracker.end_run(record.run_id, "KILLED" if record.status == "Canceled" else "FAILED")
        self.stopping.tell(record.loss if record.status == "Completed" else None)
        best = self.best()
        shown = "—" if record.score is None else f"{record.score:.4f}"
        extra = f"  [{record.status}: {record.error}]" if record.status != "Completed" else ""
        self.ctx.log.info("Trial %d: %-22s %s=%s (%.1f s)%s", record.index, record.learner,
                          self.metric, shown, record.seconds, extra)
        self.ctx.event("trial", index=record.index, algorithm=record.learner, status=record.status,
                       score=record.score, seconds=round(record.seconds, 3), error=record.error,
                       best_index=None if best is None else best.index,
                       best_score=None if best is None else best.score)

    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.status == "Completed"]
        return min(done, key=lambda t: (t.loss, t.index)) if done else None


def run_job(job: AutoMLTabular, ctx: JobContext) -> JobResult:
    """Run ``job`` to its best model. Raises ``CirrusMLError`` for bad input."""
    start = time.monotonic()
    limits = resolved_limits(job.limits)
    deadline = start + limits.timeout_minutes * 60
    seed = DEFAULT_SEED if job.seed is None else job.seed
    task = task_for(job.task_type)
    metric = job.primary_metric_name

    ctx.phase("Loading and checking data")
    data = prepare_data(job, task, seed)
    plan = data.plan
    ctx.log.info("Training rows: %d, feature columns: %d; validation: %s", data.n_train_rows,
                 len(data.feature_columns), plan.rule)
    for notice in plan.notices:
        ctx.log.warning("Validation: %s", notice)
    for where, count in data.dropped_target_rows.items():
        ctx.log.warning("Dropped %d row(s) of %s whose target is missing.", count, where)
    ctx.tracker.log(ctx.parent_run_id, params={
        "task": job.task, "primary_metric": metric, "target_column_name": job.target_column_name,
        "validation": plan.rule, "n_folds": plan.n_folds, "training_rows": data.n_train_rows,
        "seed": seed})
    ctx.tracker.log_json(ctx.parent_run_id, plan.describe(), "outputs/validation_plan.json")

    y_train = data.y.iloc[: data.n_train_rows]
    y_min = y_max = None
    if not task.is_classification:
        y_min, y_max = float(np.min(y_train)), float(np.max(y_train))
    job_data = JobData(X=data.X, y=data.y, weights=data.weights, folds=plan.folds,
                       classes=data.classes, y_min=y_min, y_max=y_max)
    data_path = save_for_workers(job_data, ctx.folder / "work" / "data.pkl")

    search = _Search(job, ctx, data, data_path, seed, deadline)
    workers, threads = search.concurrency()
    ctx.phase("Searching", timeout_seconds=limits.timeout_minutes * 60,
              max_trials=limits.max_trials, concurrent_trials=workers)
    backend = LocalBackend(n_workers=workers, threads_per_worker=threads)
    try:
        backend.start()
        search.run(backend, threads)
        ctx.log.info("Search stopped: %s.", search.stop_reason)
        best = search.best()
        if best is None:
            failures = "; ".join(f"trial {t.index}: {t.error}" for t in search.trials[:3])
            raise CirrusMLError(f"no trial completed ({search.stop_reason}). {failures}")
        ctx.phase("Building the best model", trial=best.index)
        model = _final_model(best, search, backend, data_path, plan.is_cv, threads, deadline)
    finally:
        backend.shutdown()

    ctx.phase("Saving the best model")
    out_dir = ctx.folder / "outputs" / "best_model"
    save_mlflow_model(model, out_dir, data.X.iloc[: data.n_train_rows],
                      metadata_={"cirrusml_job": ctx.name, "algorithm": best.learner,
                                 "primary_metric": metric, "score": best.score})
    ctx.tracker.log_artifacts(best.run_id, out_dir, "outputs/mlflow-model")
    ctx.tracker.log(ctx.parent_run_id, metrics={metric: best.score},
                    tags={BEST_CHILD_TAG: best.run_id, "best_algorithm": best.learner,
                          "best_iteration": best.index})
    if data.X_test is not None and data.y_test is not None:
        _score_test(ctx, job, model, data, job_data)
    ctx.update_record(best_child_run_id=best.run_id, best_iteration=best.index,
                      best_algorithm=best.learner, best_score=best.score, primary_metric=metric,
                      stop_reason=search.stop_reason, trials=len(search.trials))
    ctx.log.info("Best model: trial %d (%s), %s=%.4f. Saved to %s", best.index, best.learner,
                 metric, best.score, out_dir)
    ctx.event("best", index=best.index, algorithm=best.learner, score=best.score, metric=metric)
    return JobResult(best.index, best.score, metric, len(search.trials), search.stop_reason)


def _final_model(best: TrialRecord, search: _Search, backend: LocalBackend, data_path: str,
                 is_cv: bool, threads: int, deadline: float) -> Any:
    """The best configuration's model: the holdout model as it is, or refit on every row."""
    assert best.output is not None
    if not is_cv and best.output.model is not None:
        return best.output.model
    spec = TrialSpec(index=best.index, learner=best.learner, params=best.params,
                     task=search.task.value, metric=search.metric, seed=search.seed,
                     n_jobs=threads)
    backend.submit("refit", refit, spec, data_path)
    while True:
        outcomes = backend.wait(_POLL_SECONDS)
        if outcomes:
            outcome = outcomes[0]
            if outcome.status != "ok":
                raise CirrusMLError(f"refitting the best model failed: {outcome.error}")
            return outcome.value


def _score_test(ctx: JobContext, job: AutoMLTabular, model: Any, data: PreparedData,
                job_data: JobData) -> None:
    X_test, y_test = data.X_test, data.y_test
    assert X_test is not None and y_test is not None
    if job.task_type is TaskType.CLASSIFICATION:
        proba = np.asarray(model.predict_proba(X_test), dtype=float)
        classes = list(model.classes_)
        if classes != list(job_data.classes or []):
            full = np.zeros((len(X_test), len(job_data.classes or [])))
            for j, c in enumerate(classes):
                full[:, (job_data.classes or []).index(c)] = proba[:, j]
            proba = full
        metrics = score(job.task_type, y_test, proba, job_data, data.w_test,
                        getattr(job, "positive_label", None))
    else:
        pred = np.asarray(model.predict(X_test), dtype=float)
        test_data = JobData(X=X_test, y=y_test, weights=None, folds=[], classes=None)
        metrics = score(job.task_type, y_test, pred, test_data, data.w_test)
    ctx.tracker.log(ctx.parent_run_id, metrics={f"test_{k}": v for k, v in metrics.items()})
    ctx.tracker.log_json(ctx.parent_run_id, {"source": data.test_source, "rows": len(y_test),
                                             "metrics": metrics}, "outputs/test_metrics.json")
    ctx.update_record(test_metrics={k: v for k, v in metrics.items() if v == v})
    ctx.log.info("Test %s (%d rows): %.4f", job.primary_metric_name, len(y_test),
                 metrics.get(job.primary_metric_name, float("nan")))
