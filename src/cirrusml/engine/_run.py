"""The engine: runs one job from its specification to its best model.

This is the only module that composes the parts: data, task, featurization, learners, search,
execution and tracking.

Time: the job's clock starts when its runner gets a queue slot (``JobContext.started``). The
search stops early enough to leave room for the final steps (refitting the best model after
cross-validation, saving it), so the whole job ends within 1.1 × ``timeout_minutes``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from cirrusml.engine._context import JobContext
from cirrusml.engine._data import PreparedData, prepare_data
from cirrusml.engine._final import (
    CV_STACK_SECONDS,
    MAX_CANDIDATES,
    MAX_STACK_MEMBERS,
    MAX_STACK_SHARE,
    EnsembleRecord,
    FinalPhase,
    cv_refit_seconds,
    ensembles_enabled,
    holdout_stack_seconds,
)
from cirrusml.engine._model_io import save_mlflow_model
from cirrusml.engine._trial import (
    JobData,
    TrialOutput,
    TrialSpec,
    aligned_proba,
    run_trial,
    score,
)
from cirrusml.exceptions import CirrusMLError, DataError, InvalidSpecError
from cirrusml.execution import LocalBackend, TaskOutcome, save_for_workers
from cirrusml.featurize import (
    compute_guardrails,
    mark_class_balancing_done,
    profile_columns,
    render_featurization_summary,
)
from cirrusml.metrics import to_loss
from cirrusml.models import learners_for
from cirrusml.search import Planner, Proposal, StoppingRule
from cirrusml.spec import AutoMLTabular, FeaturizationMode, TaskType, resolved_limits
from cirrusml.tasks import task_for
from cirrusml.tracking import BEST_CHILD_TAG

DEFAULT_SEED = 0
_POLL_SECONDS = 0.25
#: Seconds kept back for saving the best model and recording the job, at the least.
_SAVE_RESERVE_SECONDS = 3.0
#: How fast a model is loaded, pickled and written when it is saved (bytes per second, with
#: margin), to reserve time for saving big models.
_SAVE_BYTES_PER_SECOND = 100e6
#: Past the timeout, the share of the budget the first trial may still use (the 1.1 x guarantee).
_FIRST_TRIAL_ALLOWANCE = 0.05
#: Share of the budget kept back besides, for the final steps.
_RESERVE_FRACTION = 0.03
#: The best trials whose refits the final steps budget for: ensemble selection seldom keeps
#: more distinct trials than this.
_LIKELY_MEMBERS = 8


@dataclass
class TrialRecord:
    """A trial as the runner knows it."""

    index: int
    proposal: Proposal
    run_id: str
    status: str = "Running"
    metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    loss: float = math.inf
    seconds: float = 0.0
    error: str | None = None
    output: TrialOutput | None = None

    @property
    def learner(self) -> str:
        return self.proposal.learner

    @property
    def params(self) -> dict[str, Any]:
        return self.proposal.params


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
                 seed: int, deadline: float, imbalanced: bool) -> None:
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
        exit_loss = (None if self.limits.exit_score is None
                     else to_loss(self.metric, self.limits.exit_score))
        self.stopping = StoppingRule(self.limits.enable_early_termination, exit_loss)
        self.stop_reason = ""
        self.workers = 1
        self.explain = explainability_enabled(job)
        _vote, self.stack = ensembles_enabled(job)
        self.imbalanced = imbalanced
        n_classes = len(data.classes or [])
        problem = ("regression" if self.task is TaskType.REGRESSION
                   else "binary" if n_classes <= 2 else "multiclass")
        self.planner = Planner(self.task, self.allowed_learners(), n_rows=data.n_train_rows,
                               n_features=len(data.feature_columns), seed=seed, problem=problem,
                               imbalanced=imbalanced)

    # ------------------------------------------------------------------------- resources

    def warn_about_concurrency(self) -> None:
        cores = os.cpu_count() or 1
        wanted = self.limits.max_concurrent_trials
        if wanted > cores:
            self.ctx.log.warning(
                "max_concurrent_trials=%d is more than the %d cores of this machine; running %d "
                "trials at a time.", wanted, cores, cores)

    def allowed_learners(self) -> list[Any]:
        pool = learners_for(self.task)
        training = self.job.training
        allowed = blocked = None
        if training is not None:
            allowed = {a.value for a in training.allowed_training_algorithms or []} or None
            blocked = {a.value for a in training.blocked_training_algorithms or []}
        chosen = [lr for lr in pool if (allowed is None or lr.name in allowed)
                  and lr.name not in (blocked or set())]
        if training is not None and training.enable_onnx_compatible_models:
            chosen = [lr for lr in chosen if lr.onnx_convertible]
        if not chosen:
            raise InvalidSpecError(
                "no algorithm is left to try once blocked_training_algorithms are removed.",
                field="training.blocked_training_algorithms")
        return chosen

    # ------------------------------------------------------------------------------ time

    def final_reserve(self) -> float:
        """Seconds the steps after the search need: ensembles, refits, saving, recording."""
        budget = self.limits.timeout_minutes * 60
        reserve = _SAVE_RESERVE_SECONDS + _RESERVE_FRACTION * budget
        done = sorted((t for t in self.trials if t.status == "Completed" and t.output),
                      key=lambda t: t.loss)[:_LIKELY_MEMBERS]
        if done:
            if self.data.plan.is_cv:
                reserve += 1.0 + cv_refit_seconds(done, self.data.plan.n_folds, self.workers)
                if self.stack:
                    reserve += CV_STACK_SECONDS
            else:
                # A train/validation StackEnsemble refits its members, when that is cheap.
                stack = holdout_stack_seconds(done[:MAX_STACK_MEMBERS], self.workers)
                reserve += 1.0 + (stack if stack <= MAX_STACK_SHARE * budget else 0.0)
        if self.explain:
            reserve += explanation_seconds(budget)
        # Saving the best model writes its members' bytes (deep forests reach hundreds of MB).
        sizes = [os.path.getsize(t.output.model_path) for t in done  # type: ignore[union-attr]
                 if t.output.model_path and os.path.exists(t.output.model_path)]
        reserve += sum(sizes) / _SAVE_BYTES_PER_SECOND
        return min(reserve, 0.4 * budget)

    def search_deadline(self) -> float:
        if not any(t.status == "Completed" for t in self.trials):
            # Until one trial has completed, the search may use the job's whole allowance
            # (1.1 x timeout): a job that spent its budget getting started still gets a model.
            return self.deadline + _FIRST_TRIAL_ALLOWANCE * self.limits.timeout_minutes * 60
        return self.deadline - self.final_reserve()

    # ----------------------------------------------------------------------------- loop

    def _should_stop(self) -> str:
        if len(self.trials) >= self.limits.max_trials:
            return f"max_trials ({self.limits.max_trials}) reached"
        if self.stopping.exit_score_reached:
            return f"exit_score ({self.limits.exit_score:g}) reached"
        if self.stopping.early_terminated:
            return "early termination: the best score did not improve in 10 trials"
        if time.monotonic() >= self.search_deadline():
            return "timeout_minutes reached"
        return ""

    def run(self, backend: LocalBackend, threads: int) -> None:
        self.workers = backend.n_workers
        trial_timeout = self.limits.trial_timeout_minutes * 60
        while True:
            while not self.stop_reason and backend.free_slots > 0:
                self.stop_reason = self._should_stop()
                if self.stop_reason:
                    break
                time_left = self.search_deadline() - time.monotonic()
                first = not self.trials
                proposal = self.planner.ask(time_left=None if first else time_left)
                if proposal is None:
                    break
                self._submit(backend, proposal, threads, min(trial_timeout, time_left + 5))
            if not self.running:
                if self.stop_reason:
                    break
                # Nothing fits in the time left and nothing is running.
                self.stop_reason = "no further configuration fits in the time left"
                break
            for outcome in backend.wait(_POLL_SECONDS, hard_deadline=self.search_deadline()):
                record = self.running.pop(outcome.key)
                self._finish(record, outcome)
                self.planner.tell(record.proposal,
                                  record.loss if record.status == "Completed" else None,
                                  record.seconds)
        if not self.stop_reason:
            self.stop_reason = self._should_stop() or "search finished"

    def _submit(self, backend: LocalBackend, proposal: Proposal, threads: int,
                timeout: float) -> None:
        index = len(self.trials)
        tags = {"iteration": index, "run_algorithm": proposal.learner, "cirrus.kind": "trial",
                "source": proposal.source}
        if proposal.class_weight:
            tags["class_weight"] = proposal.class_weight
        run_id = self.ctx.tracker.start_run(
            self.ctx.experiment_id, f"{self.ctx.name}_{index}",
            parent_run_id=self.ctx.parent_run_id, tags=tags)
        record = TrialRecord(index, proposal, run_id)
        params = dict(proposal.params)
        if proposal.class_weight:
            params["class_weight"] = proposal.class_weight
        self.ctx.tracker.log(run_id, params=params)
        folder = self.ctx.folder / "trials"
        folder.mkdir(exist_ok=True)
        spec = TrialSpec(index=index, learner=proposal.learner, params=proposal.params,
                         task=self.task.value, metric=self.metric, seed=self.seed,
                         n_jobs=threads, class_weight=proposal.class_weight,
                         positive_label=getattr(self.job, "positive_label", None),
                         model_path=str(folder / f"{index}.model.pkl"))
        self.trials.append(record)
        self.running[index] = record
        backend.submit(index, run_trial, spec, self.data_path, timeout=max(1.0, timeout))
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
            tracker.log(record.run_id,
                        metrics={**output.metrics, "training_time_seconds": output.fit_seconds,
                                 "engineered_features": output.n_features},
                        tags={"score": record.score, "status": record.status})
            if output.featurization:
                tracker.log_json(record.run_id, output.featurization,
                                 "outputs/featurization_summary.json")
            tracker.end_run(record.run_id,
                            "FINISHED" if record.status == "Completed" else "FAILED")
        else:
            record.status = {"timeout": "TimedOut", "canceled": "Canceled"}.get(
                outcome.status, "Failed")
            record.error = outcome.error
            if outcome.status == "timeout" and time.monotonic() >= self.search_deadline() - 0.5:
                record.error = "stopped at the job's time limit"
            tracker.log(record.run_id, tags={"status": record.status,
                                             "error": (record.error or "")[:5000]})
            if outcome.traceback:
                tracker.log_json(record.run_id, {"error": outcome.error,
                                                 "traceback": outcome.traceback},
                                 "outputs/error.json")
            tracker.end_run(record.run_id,
                            "KILLED" if record.status == "Canceled" else "FAILED")
        self.stopping.tell(record.loss if record.status == "Completed" else None)
        self._save_trial(record)
        self._prune_models()
        best = self.best()
        shown = "—" if record.score is None else f"{record.score:.4f}"
        extra = f"  [{record.status}: {record.error}]" if record.status != "Completed" else ""
        weight = " (class_weight=balanced)" if record.proposal.class_weight else ""
        self.ctx.log.info("Trial %d: %-20s %s=%s (%.1f s)%s%s", record.index, record.learner,
                          self.metric, shown, record.seconds, weight, extra)
        self.ctx.event("trial", index=record.index, algorithm=record.learner,
                       status=record.status, score=record.score,
                       seconds=round(record.seconds, 3), error=record.error,
                       class_weight=record.proposal.class_weight,
                       best_index=None if best is None else best.index,
                       best_score=None if best is None else best.score)

    def _prune_models(self) -> None:
        """Keep stored models only for the trials ensembles may use (it bounds the disk used)."""
        kept = sorted((t for t in self.trials if t.output is not None
                       and t.output.model_path is not None), key=lambda t: (t.loss, t.index))
        for trial in kept[MAX_CANDIDATES:]:
            path = trial.output.model_path  # type: ignore[union-attr]
            trial.output.model_path = None  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                os.remove(path)  # type: ignore[arg-type]
            self._save_trial(trial)

    def _save_trial(self, record: TrialRecord) -> None:
        """``trials/<index>.json``: what it takes to rebuild the trial (generated code reads it),
        and ``trials/<index>.model.pkl``: its fitted model, for download."""
        folder = self.ctx.folder / "trials"
        model_file = None
        if record.output is not None and record.output.model_path is not None:
            model_file = Path(record.output.model_path)
        info = {"index": record.index, "run_id": record.run_id, "learner": record.learner,
                "params": record.params, "class_weight": record.proposal.class_weight,
                "source": record.proposal.source, "seed": self.seed, "task": self.task.value,
                "metric": self.metric, "status": record.status, "score": record.score,
                "seconds": round(record.seconds, 3), "error": record.error,
                "model": model_file.name if model_file else None,
                "model_trained_on": None if model_file is None else (
                    "the training rows of the train/validation split"
                    if not self.data.plan.is_cv else
                    f"the training rows of fold {self.data.plan.n_folds} of "
                    f"{self.data.plan.n_folds} (cross-validation; the job refits only its best "
                    "model on every row)")}
        (folder / f"{record.index}.json").write_text(json.dumps(info, indent=2, default=str),
                                                     encoding="utf-8")

    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.status == "Completed"]
        return min(done, key=lambda t: (t.loss, t.index)) if done else None


def explainability_enabled(job: AutoMLTabular) -> bool:
    """``training.enable_model_explainability``; Azure's documented default is true."""
    value = job.training.enable_model_explainability if job.training else None
    return True if value is None else bool(value)


def explanation_seconds(budget: float) -> float:
    """Seconds the best model's explanation may take: 5% of the budget, 2 s to 60 s."""
    return min(60.0, max(2.0, 0.05 * budget))


def _explain(ctx: JobContext, job: AutoMLTabular, model: Any, best: Any, data: PreparedData,
             seed: int, budget: float, deadline: float) -> None:
    """Global importance of the best model (raw columns and engineered features), within its
    share of the budget and never past the job's allowance (1.1 x timeout)."""
    from cirrusml.explain import explain_global, render_importance

    allowed = min(explanation_seconds(budget),
                  deadline + 0.1 * budget - time.monotonic() - _SAVE_RESERVE_SECONDS)
    if allowed < 0.5:
        ctx.log.warning("No time is left to explain the best model; skipped.")
        return

    plan = data.plan
    rows = plan.folds[0][1] if not plan.is_cv else np.arange(data.n_train_rows)
    X, y = data.X.iloc[rows], data.y.iloc[rows]
    try:
        explanation = explain_global(model, X, y, task=job.task_type.value,
                                     metric=job.primary_metric_name, max_rows=1000, seed=seed,
                                     time_budget=allowed)
    except Exception as err:  # noqa: BLE001 - a failed explanation never fails the job
        ctx.log.warning("Explaining the best model failed: %s: %s", type(err).__name__, err)
        return
    folder = ctx.folder / "outputs" / "explanation"
    folder.mkdir(parents=True, exist_ok=True)
    payload = explanation.to_dict()
    (folder / "global_importance.json").write_text(json.dumps(payload, indent=2, default=str),
                                                   encoding="utf-8")
    background = data.X.iloc[: data.n_train_rows].sample(
        n=min(100, data.n_train_rows), random_state=seed)
    background.to_pickle(folder / "background.pkl")
    ctx.tracker.log_json(best.run_id, payload, "outputs/explanation/global_importance.json")
    ctx.tracker.log_json(ctx.parent_run_id, payload, "outputs/explanation/global_importance.json")
    ctx.log.info("Explanation of the best model (%s, %d rows, %.1f s):\n%s", explanation.method,
                 explanation.n_rows, explanation.seconds, render_importance(explanation, top=10))


def _prepare_featurization(job: AutoMLTabular, ctx: JobContext, data: PreparedData,
                           task_name: str) -> tuple[Any, list[Any]]:
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
            task=task_name, split_description=data.plan.describe(),
            dropped_target_rows=sum(n for where, n in data.dropped_target_rows.items()
                                    if where != "test_data"),
            memory_bytes_available=int(psutil.virtual_memory().available))
    return profile, guardrails


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
    payload = [g.to_dict() for g in guardrails]
    (ctx.folder / "guardrails.json").write_text(json.dumps(payload, indent=2, default=str),
                                               encoding="utf-8")
    ctx.tracker.log_json(ctx.parent_run_id, payload, "outputs/guardrails.json")


def run_job(job: AutoMLTabular, ctx: JobContext) -> JobResult:
    """Run ``job`` to its best model. Raises ``CirrusMLError`` for bad input."""
    start = ctx.started if ctx.started is not None else time.monotonic()
    limits = resolved_limits(job.limits)
    deadline = start + limits.timeout_minutes * 60
    seed = DEFAULT_SEED if job.seed is None else job.seed

    # Worker processes start now, importing their libraries while the data loads.
    cores = os.cpu_count() or 1
    workers = min(limits.max_concurrent_trials, cores)
    threads = (max(1, cores // workers) if limits.max_cores_per_trial == -1
               else min(limits.max_cores_per_trial, cores))
    backend = LocalBackend(n_workers=workers, threads_per_worker=threads)
    backend.start()
    try:
        return _run(job, ctx, backend, start, deadline, seed, threads)
    finally:
        backend.shutdown()


def _run(job: AutoMLTabular, ctx: JobContext, backend: LocalBackend, start: float,
         deadline: float, seed: int, threads: int) -> JobResult:
    limits = resolved_limits(job.limits)
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

    ctx.phase("Profiling columns and checking guardrails")
    profile, guardrails = _prepare_featurization(job, ctx, data, job.task_type.value)
    for guardrail in guardrails:
        ctx.log.info("Guardrail %-36s %s", guardrail.name, guardrail.status)
    _save_guardrails(ctx, guardrails)
    imbalanced = any(g.name == "Class balancing detection" and g.status == "Alerted"
                     for g in guardrails)
    ctx.tracker.log(ctx.parent_run_id, params={
        "task": job.task, "primary_metric": metric, "target_column_name": job.target_column_name,
        "validation": plan.rule, "n_folds": plan.n_folds, "training_rows": data.n_train_rows,
        "seed": seed})
    ctx.tracker.log_json(ctx.parent_run_id, plan.describe(), "outputs/validation_plan.json")
    ctx.tracker.log_json(ctx.parent_run_id,
                         {name: col.to_dict() for name, col in profile.columns.items()},
                         "outputs/column_profile.json")

    y_train = data.y.iloc[: data.n_train_rows]
    fitted_task = task.fit_target(y_train)
    y_min, y_max = fitted_task.y_min, fitted_task.y_max
    onnx_mode = bool(job.training and job.training.enable_onnx_compatible_models)
    job_data = JobData(X=data.X, y=data.y, weights=data.weights, folds=plan.folds,
                       classes=data.classes, profile=profile, featurization=job.featurization,
                       task=job.task_type.value, y_min=y_min, y_max=y_max,
                       onnx_compatible=onnx_mode)
    data_path = save_for_workers(job_data, ctx.folder / "work" / "data.pkl")

    search = _Search(job, ctx, data, data_path, seed, deadline, imbalanced)
    search.warn_about_concurrency()
    ctx.phase("Searching", timeout_seconds=limits.timeout_minutes * 60,
              max_trials=limits.max_trials, concurrent_trials=backend.n_workers,
              elapsed_seconds=round(time.monotonic() - start, 2))
    search.run(backend, threads)
    for outcome in backend.cancel_all():  # past the search's deadline
        record = search.running.pop(outcome.key, None)
        if record is not None:
            search._finish(record, outcome)
    ctx.log.info("Search stopped: %s (%d trials).", search.stop_reason, len(search.trials))
    if search.best() is None:
        failures = "; ".join(f"trial {t.index} ({t.learner}): {t.error}"
                             for t in search.trials[:3])
        raise CirrusMLError(f"no trial completed ({search.stop_reason}). {failures}")
    final = FinalPhase(search, backend, job_data, data_path, threads)
    ctx.phase("Building ensembles")
    # Ensembles and refits end early enough to leave room for saving and explaining.
    final_deadline = deadline - _SAVE_RESERVE_SECONDS - (
        explanation_seconds(limits.timeout_minutes * 60) if search.explain else 0.0)
    final.build_ensembles(final_deadline)
    best = final.best()
    ctx.phase("Building the best model", trial=best.index)
    model = final.fit_best(best, final_deadline)
    members = best.members if isinstance(best, EnsembleRecord) else [best]
    balanced = [m for m in members if m.proposal.class_weight == "balanced"]
    if balanced and guardrails:
        mark_class_balancing_done(guardrails, {
            "action": f"class_weight='balanced' ({', '.join(m.learner for m in balanced)}) is "
                      f"part of the best model ({metric} {best.score:.4f})"})
        _save_guardrails(ctx, guardrails)

    ctx.phase("Saving the best model")
    out_dir = ctx.folder / "outputs" / "best_model"
    save_mlflow_model(model, out_dir, data.X.iloc[: data.n_train_rows],
                      metadata_={"cirrusml_job": ctx.name, "algorithm": best.learner,
                                 "primary_metric": metric, "score": best.score})
    ctx.tracker.log_artifacts(best.run_id, out_dir, "outputs/mlflow-model")
    if onnx_mode:
        _export_onnx(ctx, model, best, data)
    if search.explain:
        ctx.phase("Explaining the best model")
        _explain(ctx, job, model, best, data, seed, limits.timeout_minutes * 60, deadline)
    # An ensemble's summary is that of its heaviest member.
    heaviest = (best.members[int(np.argmax(best.weights))] if isinstance(best, EnsembleRecord)
                else best)
    summary = heaviest.output.featurization if heaviest.output is not None else []
    (ctx.folder / "featurization_summary.json").write_text(
        json.dumps(summary, indent=2, default=str), encoding="utf-8")
    ctx.tracker.log_json(ctx.parent_run_id, summary, "outputs/featurization_summary.json")
    if summary:
        ctx.log.info("Featurization of the best model:\n%s", render_featurization_summary(summary))
    ctx.tracker.log(ctx.parent_run_id, metrics={metric: best.score},
                    tags={BEST_CHILD_TAG: best.run_id, "best_algorithm": best.learner,
                          "best_iteration": best.index})
    if data.X_test is not None and data.y_test is not None:
        _score_test(ctx, job, model, data, job_data)
    ctx.update_record(best_child_run_id=best.run_id, best_iteration=best.index,
                      best_algorithm=best.learner, best_score=best.score, primary_metric=metric,
                      stop_reason=search.stop_reason,
                      trials=len(search.trials) + len(final.ensembles),
                      search_seconds=round(time.monotonic() - start, 2))
    ctx.log.info("Best model: trial %d (%s), %s=%.4f. Saved to %s", best.index, best.learner,
                 metric, best.score, out_dir)
    ctx.event("best", index=best.index, algorithm=best.learner, score=best.score, metric=metric)
    return JobResult(best.index, best.score, metric, len(search.trials) + len(final.ensembles),
                     search.stop_reason)


def _export_onnx(ctx: JobContext, model: Any, best: Any, data: PreparedData) -> None:
    """``model.onnx`` for the best model, checked against the Python model on held-out rows."""
    from cirrusml.onnx import check_parity, export_onnx

    folder = ctx.folder / "outputs" / "onnx_model"
    folder.mkdir(parents=True, exist_ok=True)
    sample = data.X.iloc[: data.n_train_rows]
    try:
        path = export_onnx(model, sample.head(50), folder / "model.onnx")
        rows = data.plan.folds[0][1][:2000]
        task = "classification" if data.classes is not None else "regression"
        parity = check_parity(model, path, data.X.iloc[rows], task)
    except CirrusMLError as err:
        ctx.log.warning("ONNX export failed: %s", err)
        return
    ctx.tracker.log_artifacts(best.run_id, folder, "outputs")
    ctx.tracker.log(ctx.parent_run_id, metrics={"onnx_max_abs_diff": parity["max_abs_diff"]})
    ctx.update_record(onnx_model=str(path), onnx_parity=parity)
    ctx.log.info("ONNX model: %s (parity on %d rows: max abs diff %.2e)", path, parity["rows"],
                 parity["max_abs_diff"])


def _score_test(ctx: JobContext, job: AutoMLTabular, model: Any, data: PreparedData,
                job_data: JobData) -> None:
    X_test, y_test = data.X_test, data.y_test
    assert X_test is not None and y_test is not None
    if job.task_type is TaskType.CLASSIFICATION:
        proba = aligned_proba(model, X_test, job_data.classes or [])
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
