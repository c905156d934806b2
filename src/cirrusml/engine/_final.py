"""After the search: VotingEnsemble and StackEnsemble, the choice of the best model, and its fit.

Ensembles are scored on the same out-of-fold (cross-validation) or validation predictions as the
trials, with the same metrics averaged over the same folds, so all compete on equal terms.

* **VotingEnsemble**: Caruana selection over the best trials' predictions (see
  :mod:`cirrusml.ensemble`); weighted soft voting or averaging.
* **StackEnsemble**: the voting ensemble's members feed a meta-learner. With cross-validation
  the meta-learner learns from the members' out-of-fold predictions, and its own score comes from
  cross-validating it on them. With a train/validation split (Azure's scheme) the members are
  refit on ``1 - stack_meta_learner_train_percentage`` of the training rows, the meta-learner
  learns from their predictions on the rest, and the stack is scored on the validation rows.

The chosen model is then fitted for good: a holdout model as it is; after cross-validation, its
configuration (or each ensemble member's) refit on every training row, as Azure does.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cirrusml.engine._context import JobContext
from cirrusml.engine._search import SearchLoop, TrialRecord
from cirrusml.engine._trial import JobData, TrialSpec, fit_on_rows, refit
from cirrusml.ensemble import (
    DEFAULT_TRAIN_PERCENTAGE,
    StackClassifierEnsemble,
    StackRegressorEnsemble,
    VotingClassifierEnsemble,
    VotingRegressorEnsemble,
    blend,
    checked_selection,
    fit_meta,
    fit_stack_meta,
    make_meta_learner,
    stack_features,
)
from cirrusml.exceptions import CirrusMLError
from cirrusml.execution import Backend
from cirrusml.metrics import get_metric, to_loss
from cirrusml.models import get_learner
from cirrusml.tasks import SplitPlan, Task
from cirrusml.tracking import TrialStatus

#: Trials considered for ensembling: this many best by validation score, and each learner's
#: best trial besides (see :meth:`FinalPhase.candidates`).
MAX_CANDIDATES = 20
#: StackEnsemble's members: the heaviest of the voting ensemble's.
MAX_STACK_MEMBERS = 5
#: A train/validation StackEnsemble refits its members; it is skipped when that would take more
#: than this share of the budget (the time is better spent searching).
MAX_STACK_SHARE = 0.15


#: A cross-validated StackEnsemble's meta-learner (fitted and cross-validated on the members'
#: out-of-fold predictions) takes about this long: kept back from the search.
CV_STACK_SECONDS = 2.0
#: Starting a refit in a worker and bringing its model back costs about this much besides.
REFIT_OVERHEAD_SECONDS = 0.3


def ensembles_enabled(job: Any, task: Task) -> tuple[bool, bool]:
    """(VotingEnsemble, StackEnsemble) as the job's training settings ask, Azure's defaults
    otherwise: both on, the stack off where the task says so and for ONNX-compatible jobs."""
    training = job.training
    vote = not (training and training.enable_vote_ensemble is False)
    onnx = bool(training and training.enable_onnx_compatible_models)
    stack_default = task.stack_by_default and not onnx
    stack = (stack_default if training is None or training.enable_stack_ensemble is None
             else bool(training.enable_stack_ensemble) and not onnx)
    return vote, stack


def refit_seconds_of(trial: Any, n_folds: int) -> float:
    """About how long refitting one cross-validated ``trial`` on every training row takes:
    one fold's fit scaled up to every row, plus the dispatch overhead."""
    if trial.output is None:
        return 0.0
    return 1.3 * float(trial.output.fit_seconds) / max(1, n_folds - 1) + REFIT_OVERHEAD_SECONDS


def _shared(seconds: list[float], workers: int) -> float:
    """How long tasks of ``seconds`` take on ``workers``: their sum shared by the workers, but
    never less than the longest, which one worker runs alone however many there are."""
    return max(sum(seconds) / max(1, workers), max(seconds, default=0.0))


def cv_refit_seconds(trials: list[Any], n_folds: int, workers: int) -> float:
    """About how long refitting ``trials`` on every training row takes after cross-validation,
    the refits shared by ``workers``."""
    return _shared([refit_seconds_of(t, n_folds) for t in trials], workers)


def holdout_stack_seconds(trials: list[Any], workers: int) -> float:
    """About how long a train/validation StackEnsemble's member refits take (on a share of
    the training rows), shared by ``workers``."""
    fits = sorted((float(t.output.fit_seconds) for t in trials if t.output is not None),
                  reverse=True)[:MAX_STACK_MEMBERS]
    return 0.9 * _shared(fits, workers)
_POLL_SECONDS = 0.2
#: Seconds kept back for saving the best model and recording the job, at the least.
SAVE_RESERVE_SECONDS = 3.0
#: How fast a model is loaded, pickled and written when it is saved (bytes per second, with
#: margin), to reserve time for saving big models.
SAVE_BYTES_PER_SECOND = 100e6
#: Share of the budget kept back besides, for the final steps.
RESERVE_FRACTION = 0.03
#: The best trials whose refits the final steps budget for: ensemble selection seldom keeps
#: more distinct trials than this.
LIKELY_MEMBERS = 8
#: The reserve never takes more than this share of the budget from the search.
MAX_RESERVE_SHARE = 0.4


def explainability_enabled(job: Any) -> bool:
    """``training.enable_model_explainability``; Azure's documented default is true."""
    value = job.training.enable_model_explainability if job.training else None
    return True if value is None else bool(value)


def explanation_seconds(budget: float) -> float:
    """Seconds the best model's explanation may take: 5% of the budget, 2 s to 60 s."""
    return min(60.0, max(2.0, 0.05 * budget))


@dataclass
class FinalReserve:
    """Seconds the steps after the search need (ensembles, refits, saving, explaining), given
    the trials so far: the search stops this long before the job's deadline."""

    budget: float
    cross_validated: bool
    n_folds: int
    stack: bool
    explain: bool

    def __call__(self, trials: list[TrialRecord], workers: int) -> float:
        reserve = SAVE_RESERVE_SECONDS + RESERVE_FRACTION * self.budget
        done = sorted((t for t in trials if t.completed and t.output),
                      key=lambda t: t.loss)[:LIKELY_MEMBERS]
        if done:
            if self.cross_validated:
                reserve += 1.0 + cv_refit_seconds(done, self.n_folds, workers)
                if self.stack:
                    reserve += CV_STACK_SECONDS
            else:
                # A train/validation StackEnsemble refits its members, when that is cheap.
                stack = holdout_stack_seconds(done[:MAX_STACK_MEMBERS], workers)
                reserve += 1.0 + (stack if stack <= MAX_STACK_SHARE * self.budget else 0.0)
        if self.explain:
            reserve += explanation_seconds(self.budget)
        # Saving the best model writes its members' bytes (deep forests reach hundreds of MB).
        sizes = [os.path.getsize(t.output.model_path) for t in done
                 if t.output.model_path and os.path.exists(t.output.model_path)]
        reserve += sum(sizes) / SAVE_BYTES_PER_SECOND
        return min(reserve, MAX_RESERVE_SHARE * self.budget)


def ensemble_candidates(trials: list[TrialRecord]) -> list[TrialRecord]:
    """The trials ensembles choose from, best first: the :data:`MAX_CANDIDATES` best and each
    learner's best trial besides.

    A long search fills the best twenty with one or two boosting learners' neighbours; the
    models that differ most are the ones a blend gains from (a logistic regression beside the
    boosted trees), so each learner's best stays a candidate.
    """
    ranked = sorted(trials, key=lambda t: (t.loss, t.index))
    chosen = {t.index for t in ranked[:MAX_CANDIDATES]}
    best_of_each: dict[str, TrialRecord] = {}
    for trial in ranked:
        best_of_each.setdefault(trial.learner, trial)
    chosen |= {t.index for t in best_of_each.values()}
    return [t for t in ranked if t.index in chosen]


def ensemble_pool(trials: list[TrialRecord], task: Task) -> list[TrialRecord]:
    """:func:`ensemble_candidates` among the trials that may join an ensemble: completed, with
    finite predictions, and not deep learners (TCNForecaster does not join ensembles, as in
    Azure)."""
    return ensemble_candidates([
        t for t in trials if t.completed and t.output is not None
        and np.all(np.isfinite(t.output.predictions))
        and not get_learner(t.learner, task.kind).dnn])


@dataclass
class EnsembleRecord:
    """A VotingEnsemble or StackEnsemble child run."""

    index: int
    kind: str  # "VotingEnsemble" | "StackEnsemble"
    members: list[TrialRecord]
    weights: list[float]
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    loss: float = math.inf
    predictions: Any = None
    #: The job rows ``predictions`` are of (the stack's holdout scores only the validation part).
    rows: Any = None
    meta_learner: Any = None
    holdout_members: list[Any] | None = None  # StackEnsemble's members in holdout mode

    @property
    def learner(self) -> str:
        return self.kind


def _fold_positions(plan: SplitPlan, rows: np.ndarray) -> list[np.ndarray]:
    """Positions, within the validation-row ordering, of each fold's validation rows."""
    where = {int(r): i for i, r in enumerate(rows)}
    return [np.asarray([where[int(r)] for r in valid]) for _train, valid in plan.folds]


def _fold_metrics(plan: SplitPlan, job_data: JobData, rows: np.ndarray,
                  predictions: np.ndarray, positive_label: Any) -> dict[str, float]:
    """Every metric, per fold then averaged: the same way trials are scored."""
    weights = job_data.weights
    per_fold = []
    for positions in _fold_positions(plan, rows):
        y = job_data.y.iloc[rows[positions]]
        w = None if weights is None else weights[rows[positions]]
        per_fold.append(job_data.task.score(y, predictions[positions], w, positive_label))
    out = {}
    for name in per_fold[0]:
        values = np.asarray([m[name] for m in per_fold], dtype=float)
        out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return out


def run_each(backend: Backend, tasks: list[tuple[Any, Any, tuple[Any, ...]]],
             deadline: float | None = None, *, stop_at_failure: bool = False,
             clock: Callable[[], float] = time.monotonic) -> tuple[dict[Any, Any], dict[Any, str]]:
    """Run ``(key, fn, args)`` tasks on the workers as they free up, in the order given.

    Returns the results by key and, by key, why the others have none: a task that fails, or
    is still running when ``deadline`` (a ``clock()`` value) passes, or is not started by
    then. With ``stop_at_failure``, the first failure cancels the rest.
    """
    pending = list(tasks)
    results: dict[Any, Any] = {}
    failures: dict[Any, str] = {}
    while len(results) + len(failures) < len(tasks):
        if pending and deadline is not None and clock() >= deadline:
            # Started now, a task would only be stopped at once (and its worker with it).
            failures.update((key, "it ran out of time") for key, _fn, _args in pending)
            pending = []
        while pending and backend.free_slots > 0:
            key, fn, args = pending.pop(0)
            backend.submit(key, fn, *args)
        if not backend.running:
            continue
        for outcome in backend.wait(_POLL_SECONDS, hard_deadline=deadline):
            if outcome.ok:
                results[outcome.key] = outcome.value
                continue
            failures[outcome.key] = ("it ran out of time" if outcome.status == "timeout"
                                     else str(outcome.error))
            if stop_at_failure:
                backend.cancel_all()
                return results, failures
    return results, failures


def run_all(backend: Backend, tasks: list[tuple[Any, Any, tuple[Any, ...]]],
            deadline: float | None = None) -> dict[Any, Any]:
    """Run ``(key, fn, args)`` tasks on the workers as they free up; results by key.

    Raises ``CirrusMLError`` if a task fails or ``deadline`` (``time.monotonic()``) passes.
    """
    results, failures = run_each(backend, tasks, deadline, stop_at_failure=True)
    if failures:
        key, reason = next(iter(failures.items()))
        raise CirrusMLError(f"{key}: {reason}")
    return results


class FinalPhase:
    """Ensembles and the best model's fit, for one job."""

    def __init__(self, job: Any, ctx: JobContext, loop: SearchLoop, plan: SplitPlan,
                 backend: Backend, job_data: JobData, data_path: str, threads: int,
                 seed: int) -> None:
        self.job = job
        self.ctx = ctx
        self.loop = loop
        self.plan = plan
        self.backend = backend
        self.job_data = job_data
        self.task = job_data.task
        self.data_path = data_path
        self.threads = threads
        self.seed = seed
        self.metric = loop.metric
        self.positive_label = getattr(job, "positive_label", None)
        training = job.training
        self.vote, self.stack = ensembles_enabled(job, self.task)
        settings = training.stack_ensemble_settings if training else None
        self.meta_type = (settings.stack_meta_learner_type.value
                          if settings and settings.stack_meta_learner_type else None)
        self.meta_kwargs = settings.stack_meta_learner_kwargs if settings else None
        self.train_percentage = (settings.stack_meta_learner_train_percentage
                                 if settings and settings.stack_meta_learner_train_percentage
                                 else DEFAULT_TRAIN_PERCENTAGE)
        self.ensembles: list[EnsembleRecord] = []

    # ------------------------------------------------------------------------ candidates

    def candidates(self) -> list[TrialRecord]:
        # Deep learners (TCNForecaster) do not join ensembles, as in Azure.
        return ensemble_pool(self.loop.trials, self.task)

    def _spec(self, trial: TrialRecord) -> TrialSpec:
        return TrialSpec(index=trial.index, learner=trial.learner, params=trial.params,
                         task=self.task.kind, metric=self.metric, seed=self.seed,
                         n_jobs=self.threads, class_weight=trial.proposal.class_weight)

    # ----------------------------------------------------------------------- ensembles

    def build_ensembles(self, deadline: float) -> None:
        candidates = self.candidates()
        if len(candidates) < 2 or not (self.vote or self.stack):
            return
        rows = candidates[0].output.validation_rows
        candidates, weights = self._select(candidates, rows, deadline)
        preds = [t.output.predictions for t in candidates]
        members = [candidates[i] for i in weights]
        if self.vote:
            # Recorded even when selection kept one trial (it then ties with that trial, and
            # ties go to the single trial): the leaderboard always shows what voting achieved.
            blended = blend(preds, weights)
            self._record(EnsembleRecord(0, "VotingEnsemble", members, list(weights.values()),
                                        predictions=blended), rows, blended)
        # The stack's members: the heaviest of the voting ensemble's; when voting kept a single
        # trial, the best trials (a meta-learner over one model would only recalibrate it).
        ranked = sorted(zip(members, weights.values(), strict=True), key=lambda mw: -mw[1])
        if len(ranked) < 2:
            self.ctx.log.info("Ensembles: voting kept a single trial (%d); the StackEnsemble "
                              "takes the %d best trials.", members[0].index,
                              min(MAX_STACK_MEMBERS, len(candidates)))
            ranked = [(t, 1.0) for t in candidates]
        ranked = ranked[:MAX_STACK_MEMBERS]
        stack_members = [m for m, _w in ranked]
        stack_weights = [w / sum(w for _m, w in ranked) for _m, w in ranked]
        # The stack must leave time to refit the members on every row afterwards.
        stack_deadline = deadline - self.refit_seconds(members)
        if self.stack and not self.plan.is_cv:
            needed = holdout_stack_seconds(stack_members, self.backend.n_workers)
            budget = self.loop.budget.timeout_seconds
            if needed > MAX_STACK_SHARE * budget or needed > stack_deadline - time.monotonic():
                self.ctx.log.info("StackEnsemble skipped: refitting its members would take "
                                  "about %.0f s.", needed)
                return
        if not self.stack:
            return
        if time.monotonic() >= stack_deadline - 1.0:
            self.ctx.log.info("StackEnsemble skipped: the time left is what refitting the "
                              "voting ensemble's members needs.")
            return
        try:
            self._stack(stack_members, stack_weights, rows, stack_deadline)
        except CirrusMLError as err:
            self.ctx.log.warning("StackEnsemble skipped: %s", err)

    def _select(self, candidates: list[TrialRecord], rows: np.ndarray, deadline: float
                ) -> tuple[list[TrialRecord], dict[int, float]]:
        """Selection over ``candidates`` by the task's rule (Caruana unless the task has others
        checked leave-one-fold-out) whose members can all be refit on every row by
        ``deadline``: while they cannot, the slowest member to refit leaves the candidates and
        selection runs again (a member that is not refit stays the model of one fold, trained
        on fewer rows than its score was earned with)."""
        fold_losses = self._fold_losses(rows)
        pool = list(candidates)
        while True:
            selection = checked_selection([t.output.predictions for t in pool], fold_losses,
                                          self.task.ensemble_rules)
            weights = selection.weights
            members = [pool[i] for i in weights]
            left = deadline - time.monotonic() - 1.0
            needed = self.refit_seconds(members)
            if len(members) < 2 or needed <= left:
                self._log_rule(selection.rule, selection.held_out)
                return pool, weights
            slowest = max(members, key=lambda t: refit_seconds_of(t, self.plan.n_folds))
            self.ctx.log.info(
                "Ensembles: trial %d (%s) left out: refitting its ensemble's members on every "
                "row would take about %.0f s of the %.0f s left.", slowest.index, slowest.learner,
                needed, max(0.0, left))
            pool = [t for t in pool if t is not slowest]

    def _log_rule(self, rule: str, held_out: dict[str, float]) -> None:
        if not held_out:
            return
        sign = -1.0 if get_metric(self.metric).greater_is_better else 1.0
        self.ctx.log.info(
            "Ensembles: selection rules scored on the fold each did not choose with (%s): %s; "
            "the VotingEnsemble uses %s.", self.metric,
            ", ".join(f"{name} {sign * value:.4f}" for name, value in held_out.items()), rule)

    def refit_seconds(self, trials: list[TrialRecord]) -> float:
        """About how long refitting ``trials`` on every row takes (0 without cross-validation)."""
        if not self.plan.is_cv:
            return 0.0
        return cv_refit_seconds(trials, self.plan.n_folds, self.backend.n_workers)

    def _fold_losses(self, rows: np.ndarray) -> list[Callable[[np.ndarray], float]]:
        """The primary metric as a loss on each fold's rows (their mean is how trials are
        compared)."""
        jd = self.job_data
        losses = []
        for positions in _fold_positions(self.plan, rows):
            fold_rows = rows[positions]
            scorer = jd.task.primary_scorer(
                self.metric, jd.y.iloc[fold_rows],
                None if jd.weights is None else jd.weights[fold_rows])
            losses.append(self._fold_loss(scorer, positions))
        return losses

    def _fold_loss(self, scorer: Any, positions: np.ndarray) -> Callable[[np.ndarray], float]:
        def loss(predictions: np.ndarray) -> float:
            return to_loss(self.metric, scorer(predictions[positions]))
        return loss

    def _stack(self, members: list[TrialRecord], weights: list[float], rows: np.ndarray,
               deadline: float) -> None:
        jd, task = self.job_data, self.task
        seed = self.seed
        plan = self.plan
        target = task.encode_target(jd.y.iloc[rows])
        sample_weight = None if jd.weights is None else jd.weights[rows]
        meta = make_meta_learner(self.meta_type, task, plan.is_cv, self.meta_kwargs, seed)
        if plan.is_cv:
            features = stack_features([m.output.predictions for m in members],
                                      task.probabilistic)
            # In a worker, so that the runner can stop it at the deadline.
            result = run_all(self.backend, [("stack-meta", fit_stack_meta, (
                meta, features, target, sample_weight, task.probabilistic, task.n_outputs,
                seed))], deadline)
            meta, meta_oof = result["stack-meta"]
            record = EnsembleRecord(0, "StackEnsemble", members, weights, meta_learner=meta,
                                    predictions=meta_oof)
            self._record(record, rows, meta_oof)
            return
        # Train/validation: members refit on part of the training rows, the meta-learner on
        # their predictions for the rest, the stack scored on the validation rows.
        train_rows = plan.folds[0][0]
        rng = np.random.default_rng(seed)
        shuffled = rng.permutation(train_rows)
        n_meta = max(1, int(round(len(shuffled) * self.train_percentage)))
        meta_rows, base_rows = np.sort(shuffled[:n_meta]), np.sort(shuffled[n_meta:])
        predict_rows = np.concatenate([meta_rows, rows])
        keys = [("stack", m.index) for m in members]
        fitted = run_all(self.backend, [
            (key, fit_on_rows, (self._spec(m), self.data_path, base_rows, predict_rows))
            for key, m in zip(keys, members, strict=True)], deadline)
        outputs = [fitted[k][1] for k in keys]
        meta_features = stack_features([o[:n_meta] for o in outputs], task.probabilistic)
        valid_features = stack_features([o[n_meta:] for o in outputs], task.probabilistic)
        fit_meta(meta, meta_features, task.encode_target(jd.y.iloc[meta_rows]),
                 None if jd.weights is None else jd.weights[meta_rows])
        predictions = task.meta_predict(meta, valid_features)
        record = EnsembleRecord(0, "StackEnsemble", members, weights, meta_learner=meta,
                                predictions=predictions,
                                holdout_members=[fitted[k][0] for k in keys])
        self._record(record, rows, predictions)

    def _record(self, record: EnsembleRecord, rows: np.ndarray, predictions: np.ndarray) -> None:
        record.index = len(self.loop.trials) + len(self.ensembles)
        record.rows = rows
        record.metrics = _fold_metrics(self.plan, self.job_data, rows, predictions,
                                       self.positive_label)
        record.score = record.metrics.get(self.metric)
        record.loss = (to_loss(self.metric, record.score)
                       if record.score is not None and math.isfinite(record.score) else math.inf)
        params = {"ensembled_iterations": [m.index for m in record.members],
                  "ensembled_algorithms": [m.learner for m in record.members],
                  "ensemble_weights": [round(w, 6) for w in record.weights]}
        if record.meta_learner is not None:
            params["meta_learner"] = type(record.meta_learner).__name__
        recorder = self.ctx.recorder
        record.run_id = recorder.record_ensemble(
            record.index, record.kind, params=params, metrics=record.metrics,
            score=record.score, info={
                "learner": record.kind, "members": [m.index for m in record.members],
                "weights": record.weights, "meta_learner": params.get("meta_learner"),
                "seed": self.seed, "task": self.task.kind.value, "metric": self.metric,
                "status": str(TrialStatus.COMPLETED), "score": record.score})
        self.ensembles.append(record)
        shown = "—" if record.score is None else f"{record.score:.4f}"
        self.ctx.log.info("Trial %d: %-20s %s=%s (members %s)", record.index, record.kind,
                          self.metric, shown, ", ".join(
                              f"{m.index}:{w:.2f}"
                              for m, w in zip(record.members, record.weights, strict=True)))
        recorder.event("trial", index=record.index, algorithm=record.kind, status="Completed",
                       score=record.score, seconds=0.0)

    def validation_charts(self, best: TrialRecord | EnsembleRecord) -> dict[str, Any]:
        """The task's chart data for ``best``'s validation predictions (out-of-fold after
        cross-validation), each row with its fold."""
        if isinstance(best, EnsembleRecord):
            rows, predictions = best.rows, best.predictions
        else:
            assert best.output is not None
            rows, predictions = best.output.validation_rows, best.output.predictions
        where = {int(r): i for i, r in enumerate(rows)}
        folds = np.zeros(len(rows), dtype=np.int64)
        for number, (_train, valid) in enumerate(self.plan.folds):
            positions = [where[int(r)] for r in valid if int(r) in where]
            folds[positions] = number
        jd = self.job_data
        return self.task.charts(jd.X.iloc[rows], jd.y.iloc[rows], predictions, folds=folds,
                                weights=None if jd.weights is None else jd.weights[rows],
                                history=(jd.X, jd.y))

    # ---------------------------------------------------------------------- the choice

    def best(self) -> TrialRecord | EnsembleRecord:
        best_trial = self.loop.best()
        if best_trial is None:
            raise CirrusMLError("no trial completed")
        pool: list[TrialRecord | EnsembleRecord] = [best_trial, *self.ensembles]
        # Ties go to the simpler model: a single trial, then the voting ensemble.
        return min(pool, key=lambda r: (r.loss, isinstance(r, EnsembleRecord),
                                        getattr(r, "kind", "") == "StackEnsemble"))

    def fit_best(self, best: TrialRecord | EnsembleRecord, deadline: float) -> Any:
        """The chosen model, fitted for good.

        After cross-validation the configuration is refit on every training row; if that cannot
        finish by ``deadline``, the model trained on the last fold is used instead (and the log
        says so).
        """
        is_cv = self.plan.is_cv
        members = best.members if isinstance(best, EnsembleRecord) else [best]
        if isinstance(best, EnsembleRecord) and best.holdout_members is not None:
            estimators = list(best.holdout_members)
        elif is_cv:
            fitted = self._refit(members, deadline)
            estimators = [fitted[m.index] if m.index in fitted else m.output.load_model()
                          for m in members]
        else:
            estimators = [m.output.load_model() for m in members]
        if any(e is None for e in estimators):
            raise CirrusMLError("a fitted model of the chosen trial was not kept")
        if not isinstance(best, EnsembleRecord):
            return estimators[0]
        classes = self.job_data.classes
        names = [f"{m.index}:{m.learner}" for m in best.members]
        probabilistic = self.task.probabilistic
        if best.kind == "VotingEnsemble":
            cls = VotingClassifierEnsemble if probabilistic else VotingRegressorEnsemble
            return cls(estimators=estimators, weights=best.weights, classes=classes, names=names)
        cls_s = StackClassifierEnsemble if probabilistic else StackRegressorEnsemble
        return cls_s(estimators=estimators, weights=best.weights, classes=classes, names=names,
                     meta_learner=best.meta_learner)

    def _refit(self, trials: list[TrialRecord], deadline: float) -> dict[int, Any]:
        """``trials`` refit on every row by ``deadline``, longest first (so that the longest
        does not start last), by index; a refit that fails or does not finish is logged and
        left out: its trial keeps the model trained on the last cross-validation fold."""
        ordered = sorted(trials, key=lambda t: -refit_seconds_of(t, self.plan.n_folds))
        results, failures = run_each(self.backend, [
            (("refit", t.index), refit, (self._spec(t), self.data_path)) for t in ordered],
            deadline)
        learners = {t.index: t.learner for t in trials}
        for (_refit, index), reason in failures.items():
            self.ctx.log.warning(
                "Refitting trial %d (%s) on every row did not finish (%s); the best model uses "
                "its model trained on the last cross-validation fold.", index, learners[index],
                reason)
        return {key[1]: model for key, model in results.items()}
