"""What the search records of each trial (:class:`TrialBook`), which learners a job may try
(:func:`allowed_learners`) and what a job run returns (:class:`JobResult`): shared by the job
runs of every training mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cirrusml.engine._context import JobContext
from cirrusml.engine._final import ensemble_candidates, ensemble_pool
from cirrusml.engine._search import SearchLoop, TrialRecord
from cirrusml.exceptions import InvalidSpecError
from cirrusml.models import learners_for
from cirrusml.spec import AutoMLTabular
from cirrusml.tasks import Task
from cirrusml.tracking import TrialStatus

__all__ = ["JobResult", "TrialBook", "allowed_learners"]


@dataclass
class JobResult:
    """How a job's run ended: its best trial and score, trial count and why the search stopped."""

    best_trial: int | None
    best_score: float | None
    metric: str
    trials: int
    stop_reason: str


def allowed_learners(job: AutoMLTabular, task: Task) -> list[Any]:
    """The learners of the job's task that its training settings allow."""
    pool = learners_for(task.kind)
    training = job.training
    allowed = blocked = None
    if training is not None:
        allowed = {a.value for a in training.allowed_training_algorithms or []} or None
        blocked = {a.value for a in training.blocked_training_algorithms or []}
    chosen = [lr for lr in pool if (allowed is None or lr.name in allowed)
              and lr.name not in (blocked or set())]
    if training is not None and training.enable_onnx_compatible_models:
        if chosen and not any(lr.onnx_convertible for lr in chosen):
            raise InvalidSpecError(
                f"none of the {task.name} learners left to try converts to ONNX; set "
                "enable_onnx_compatible_models to false or allow other algorithms.",
                field="training.enable_onnx_compatible_models")
        chosen = [lr for lr in chosen if lr.onnx_convertible]
    if training is None or not training.enable_dnn_training:
        # Deep learners (TCNForecaster) join the search only when enable_dnn_training asks.
        chosen = [lr for lr in chosen if not lr.dnn]
    metric = job.primary_metric_name
    fitting = [lr for lr in chosen if lr.primary_metrics is None or metric in lr.primary_metrics]
    if chosen and not fitting:
        raise InvalidSpecError(
            f"{', '.join(lr.name for lr in chosen)} cannot be searched with primary_metric "
            f"{metric}; use one of {', '.join(chosen[0].primary_metrics or ())}, or allow other "
            "algorithms.", field="primary_metric")
    chosen = fitting
    if not chosen:
        raise InvalidSpecError(
            "no algorithm is left to try once blocked_training_algorithms are removed.",
            field="training.blocked_training_algorithms")
    return chosen


class TrialBook:
    """The search's :class:`~cirrusml.engine._search.SearchEvents`: each trial's MLflow child run,
    its ``trials/<index>.json`` and stored model, the job log and progress events."""

    def __init__(self, ctx: JobContext, task: Task, metric: str, seed: int, plan: Any,
                 elapsed: Callable[[], float]) -> None:
        self.ctx = ctx
        self.task = task
        self.metric = metric
        self.seed = seed
        self.plan = plan
        self.elapsed = elapsed

    def trial_started(self, record: TrialRecord) -> None:
        proposal = record.proposal
        recorder = self.ctx.recorder
        record.run_id = recorder.start_trial(record.index, proposal.learner, proposal.params,
                                             source=proposal.source,
                                             class_weight=proposal.class_weight)
        recorder.event("trial_started", index=record.index, algorithm=proposal.learner,
                       run_id=record.run_id, elapsed_seconds=round(self.elapsed(), 2))

    def trial_finished(self, record: TrialRecord, loop: SearchLoop) -> None:
        recorder = self.ctx.recorder
        output = record.output
        status = TrialStatus(record.status)
        if output is not None:
            recorder.finish_trial(
                record.run_id, status,
                metrics={**output.metrics, "training_time_seconds": output.fit_seconds,
                         "engineered_features": output.n_features},
                score=record.score, featurization=output.featurization)
        else:
            recorder.finish_trial(record.run_id, status, error=record.error,
                                  traceback=record.traceback)
        self.save(record)
        self._prune_models(loop.trials)
        best = loop.best()
        shown = "—" if record.score is None else f"{record.score:.4f}"
        extra = f"  [{record.status}: {record.error}]" if not record.completed else ""
        weight = " (class_weight=balanced)" if record.proposal.class_weight else ""
        self.ctx.log.info("Trial %d: %-20s %s=%s (%.1f s)%s%s", record.index, record.learner,
                          self.metric, shown, record.seconds, weight, extra)
        recorder.event("trial", index=record.index, algorithm=record.learner,
                       status=record.status, score=record.score,
                       seconds=round(record.seconds, 3), error=record.error,
                       class_weight=record.proposal.class_weight,
                       best_index=None if best is None else best.index,
                       best_score=None if best is None else best.score,
                       elapsed_seconds=round(self.elapsed(), 2))

    def _prune_models(self, trials: list[TrialRecord]) -> None:
        """Keep stored models only for the trials ensembles may use (it bounds the disk used)."""
        stored = [t for t in trials if t.output is not None and t.output.model_path is not None]
        # The best trials (any of which may become the best model) and the ensembles' pool.
        kept = {t.index for t in ensemble_candidates(stored)}
        kept |= {t.index for t in ensemble_pool(stored, self.task)}
        for trial in (t for t in stored if t.index not in kept):
            trial.output.model_path = None
            self.ctx.recorder.discard_trial_model(trial.index)
            self.save(trial)

    def save(self, record: TrialRecord) -> None:
        """``trials/<index>.json``: what it takes to rebuild the trial (generated code reads it),
        and ``trials/<index>.model.pkl``: its fitted model, for download."""
        model_file = None
        output = record.output
        if output is not None and output.model_path is not None:
            model_file = Path(output.model_path)
            # What a resumed job needs to ensemble this trial without rerunning it.
            self.ctx.recorder.save_trial_predictions(record.index, output.predictions,
                                                     output.validation_rows)
        plan = self.plan
        info = {"index": record.index, "run_id": record.run_id, "learner": record.learner,
                "params": record.params, "class_weight": record.proposal.class_weight,
                "source": record.proposal.source, "seed": self.seed,
                "task": self.task.kind.value, "metric": self.metric, "status": record.status,
                "score": record.score, "seconds": round(record.seconds, 3),
                "error": record.error, "model": model_file.name if model_file else None,
                "model_trained_on": None if model_file is None else (
                    "the training rows of the train/validation split"
                    if not plan.is_cv else
                    f"the training rows of fold {plan.n_folds} of {plan.n_folds} "
                    "(cross-validation; the job refits only its best model on every row)")}
        if output is not None:
            info.update(metrics=output.metrics, fit_seconds=output.fit_seconds,
                        n_features=output.n_features, featurization=output.featurization)
        self.ctx.recorder.save_trial(record.index, info)
