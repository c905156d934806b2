"""Global feature importance of a fitted model: Azure's ``enable_model_explainability``.

:func:`explain_global` reports how much each raw input column (and, where it means something,
each engineered feature) matters to a model, on a sample of at most ``max_rows`` rows.

Method per model
----------------
``shap_tree`` — a single pipeline whose model's learner gives a tree model
    (:meth:`~cirrusml.models.Learner.tree_model`: LightGBM, XGBoost, RandomForest,
    ExtremeRandomTrees, DecisionTree, GradientBoosting). ``shap.TreeExplainer``
    (path-dependent Tree SHAP, no background data) runs on the featurized sample with the fitted
    library model: LightGBM and XGBoost use their own exact SHAP code, which reads pandas
    ``category`` columns and, for XGBoost, sparse matrices as they were trained. The importance
    of an engineered feature is its mean absolute SHAP value in the model's raw output units
    (log-odds for boosted classifiers, probability for forests and trees, target units for
    regressors); with several classes it is the mean over classes. A raw column's importance is
    the sum over its engineered features (``feature_map_``).
``forecaster_permutation`` — a forecaster that explains itself (a regression forecaster:
    :meth:`~cirrusml.models.Learner.own_importance`), or an ensemble of forecasters (the weighted
    mean of its members' importances; statistical members have no features and are left out):
    permutation importance of the engineered features on the latest samples of the fitted
    history, summed per raw column. The rows given are not used: a forecaster's features read
    the target's history, which shuffling raw rows cannot reach.
``permutation`` — everything else (linear models, SVMs, KNN, naive Bayes, ensembles, and any
    tree pipeline SHAP fails on: the reason is kept in ``notes``). scikit-learn's
    ``permutation_importance`` shuffles one raw column at a time on the sample, ``n_repeats``
    times, and records the mean drop of a score. The score (``scoring``) is, in order of
    preference: the job's ``metric`` (needs ``y``), the model's own ``score`` (accuracy or R²;
    needs ``y``), else ``prediction_change`` — how far the model's outputs move from its
    unshuffled outputs (mean total-variation distance between class probabilities, or mean
    absolute change of the prediction). A scoring that fails or is undefined on the sample
    (AUC with one class, say) gives way to the next one. Drops below zero (shuffling made the
    score better, i.e. noise) count as zero.
    Ensembles (VotingEnsemble, StackEnsemble) are explained this way as a whole on their raw
    columns — not by weighting their members' importances — so the importance describes the
    predictions the ensemble actually makes; their ``engineered_importance`` is empty (members
    featurize differently).
    For a linear pipeline (its learner gives :meth:`~cirrusml.models.Learner.coefficients`) the
    engineered
    importance is ``|coef| × std(feature)`` on the featurized sample (mean over classes): the
    typical change of the linear score caused by the feature. ``engineered_method`` says which
    engineered importance, if any, is given.

Units: both importance dicts are shares that sum to 1 (all zeros when nothing registers, e.g.
a constant model). Raw columns dropped by featurization (ids, constant columns) appear with 0.

Sampling and time
-----------------
The sample is the first ``max_rows`` rows of a seeded shuffle that is stratified by ``y`` for a
probabilistic task (otherwise, or without ``y``, a plain shuffle), so results repeat given
``seed``; every prefix of that order is itself stratified, so cutting rows keeps the balance.
With ``time_budget`` (seconds, counting everything the call does, featurization included):

* ``shap_tree`` explains the sample in doubling batches (one row first); the cost per row of
  each batch sizes the next, cut to what is left of the budget, and it stops when the budget
  is spent.
* ``permutation`` times one scoring of a 50-row pilot and one of a few rows, which give the
  cost of a scoring as a fixed part plus a part per row. Columns that are constant on the
  sample are not shuffled (shuffling them changes nothing: their importance is exactly 0).
  The estimated cost, ``(1 + columns × repeats)`` scorings, is then fitted to the budget by
  lowering ``n_repeats`` (5 down to 1), then the rows, then, when even that is too much (many
  columns, a model with a high cost per call), the columns shuffled: those that vary most on
  the sample first; the others get 0. Shuffling stops at the budget in any case, column by
  column.

At least :data:`MIN_ROWS` rows are used (unless one batch of them would take the whole
budget), so a tiny budget is overrun a little rather than giving nothing; ``n_rows`` and
``n_repeats`` report what was used and ``notes`` what was cut.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cirrusml.exceptions import CirrusMLError, DataError, InvalidSpecError, NotSupportedYetError
from cirrusml.explain._common import (
    TreeParts,
    as_outputs,
    chunks,
    engineered_names,
    linear_coefficients,
    ordered_sample,
    predict_output,
    quiet_libraries,
    raw_frame,
    shap_input,
    take,
    to_raw,
    tree_parts,
)
from cirrusml.metrics import PRIMARY_METRICS, get_metric
from cirrusml.models import learner_for_estimator
from cirrusml.spec import TaskType
from cirrusml.tasks import Task, as_task

__all__ = ["GlobalExplanation", "explain_global", "render_importance"]

#: Shuffles per column for permutation importance (before any time-budget cut).
N_REPEATS = 5
#: The fewest rows a time budget may cut the sample to.
MIN_ROWS = 20
#: Rows of the pilot that measures the cost per row (permutation: one scoring call).
PILOT_ROWS = 50
#: Rows of the pilot for Tree SHAP (one: a big multiclass booster costs ~0.1 s a row).
SHAP_PILOT_ROWS = 1
#: Rows of the second, small permutation pilot (with the first: fixed and per-row cost).
SMALL_PILOT_ROWS = 5


@dataclass
class GlobalExplanation:
    """Importance of a model's raw columns and engineered features (see the module notes).

    ``raw_importance`` has every raw input column; ``engineered_importance`` is empty where it is
    not meaningful. Both are shares summing to 1 (or all 0), sorted from most to least
    important. ``scoring`` is what permutation importance measured (a metric name,
    ``model.score`` or ``prediction_change``), or ``mean_abs_shap``.
    """

    method: str
    raw_importance: dict[str, float]
    engineered_importance: dict[str, float]
    n_rows: int
    seconds: float
    task: str = ""
    scoring: str | None = None
    n_repeats: int | None = None
    engineered_method: str | None = None
    notes: list[str] = field(default_factory=list)

    def top(self, n: int = 15, *, engineered: bool = False) -> list[tuple[str, float]]:
        """The ``n`` most important raw columns (or engineered features), best first."""
        source = self.engineered_importance if engineered else self.raw_importance
        return _sorted(source)[:max(0, n)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; importances keep their best-first order."""
        return {
            "method": self.method,
            "task": self.task,
            "scoring": self.scoring,
            "n_repeats": self.n_repeats,
            "n_rows": int(self.n_rows),
            "seconds": round(float(self.seconds), 4),
            "raw_importance": {k: float(v) for k, v in _sorted(self.raw_importance)},
            "engineered_method": self.engineered_method,
            "engineered_importance": {k: float(v)
                                      for k, v in _sorted(self.engineered_importance)},
            "notes": [str(n) for n in self.notes],
        }


def _sorted(values: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))


def _shares(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), np.maximum(values, 0.0), 0.0)
    total = float(values.sum())
    return values / total if total > 0 else np.zeros_like(values)


def _as_dict(names: list[str], values: np.ndarray) -> dict[str, float]:
    pairs = sorted(zip(names, (float(v) for v in values), strict=True),
                   key=lambda kv: (-kv[1], kv[0]))
    return dict(pairs)


class _Clock:
    """Wall time since the start, and what is left of an optional budget."""

    def __init__(self, budget: float | None) -> None:
        self.start = time.perf_counter()
        self.budget = None if budget is None else max(0.0, float(budget))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float | None:
        return None if self.budget is None else self.budget - self.elapsed()


# ------------------------------------------------------------------------------- public


def explain_global(model: Any, X: pd.DataFrame, y: Any = None, *,
                   task: Task | TaskType | str,
                   metric: str | None = None, max_rows: int = 1000, seed: int = 0,
                   time_budget: float | None = None) -> GlobalExplanation:
    """Raw-column and engineered-feature importance of a fitted model on a sample of ``X``.

    Parameters
    ----------
    model
        A fitted job model: a pipeline (``inputs`` → ``datatransformer`` → … → ``model``) or an
        ensemble of them; any fitted estimator with ``predict`` (``predict_proba``) works too.
    X, y
        Raw rows (and their targets, optional) to explain the model on; extra columns of ``X``
        are ignored.
    task
        The job's :class:`~cirrusml.tasks.Task`, or its name (``classification``,
        ``regression``).
    metric
        The job's primary metric, for permutation importance (any name Azure reports).
    max_rows, seed
        Sample size and the seed of every random choice.
    time_budget
        Seconds the call should take at most (roughly; see the module notes).
    """
    clock = _Clock(time_budget)
    kind = as_task(task)
    own = _self_explained(model, kind, seed, clock)
    if own is not None:
        return own
    frame, columns = raw_frame(model, X)
    if len(frame) == 0:
        raise DataError("explain_global needs at least one row of X.")
    target = None
    if y is not None:
        target = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
        target = target.ravel()
        if target.shape[0] != len(frame):
            raise DataError(f"y has {target.shape[0]} values for {len(frame)} rows of X.")
    order = ordered_sample(len(frame), target if kind.probabilistic else None, seed)
    order = order[:max(1, int(max_rows))]
    notes: list[str] = []

    parts = tree_parts(model)
    if parts is not None:
        try:
            with quiet_libraries():
                return _shap_global(parts, frame, columns, order, clock, kind.name, notes)
        except Exception as exc:  # any SHAP failure: fall back, and say why
            notes.append(f"TreeExplainer failed ({type(exc).__name__}: {_short(exc)}); "
                         "used permutation importance instead")
    with quiet_libraries():
        return _permutation_global(model, frame, target, columns, order, clock, kind, metric,
                                   seed, notes)


def _self_explained(model: Any, kind: Task, seed: int, clock: _Clock
                    ) -> GlobalExplanation | None:
    """The explanation of a model whose learners explain themselves (forecasters: see
    :meth:`~cirrusml.models.Learner.own_importance`); an ensemble of them gets the weighted mean
    of its members' importances. ``None`` for every other model."""
    members = list(getattr(model, "estimators", None) or [model])
    weights = list(getattr(model, "weights", None) or [1.0] * len(members))
    learners = [learner_for_estimator(m) for m in members]
    if not any(lr is not None and lr.featurizes_itself for lr in learners):
        return None
    parts = []
    for member, weight, learner in zip(members, weights, learners, strict=True):
        got = None if learner is None else learner.own_importance(
            member, seed=seed, time_budget=clock.left())
        if got is not None:
            parts.append((float(weight), got))
    names = ", ".join(sorted({lr.name for lr in learners if lr is not None}))
    if not parts:
        raise NotSupportedYetError(
            f"the model ({names}) is not explained: statistical forecasters have no features "
            "to weigh (Azure does not explain them either).")
    total = sum(w for w, _ in parts) or 1.0
    engineered: dict[str, float] = {}
    raw: dict[str, float] = {}
    for weight, (eng, rw, _n) in parts:
        for source, into in ((eng, engineered), (rw, raw)):
            for key, value in source.items():
                into[key] = into.get(key, 0.0) + weight / total * value
    notes = []
    if len(members) > 1:
        notes.append(f"the ensemble's importance is the weighted mean of its {len(parts)} "
                     f"member(s) with features; {len(members) - len(parts)} statistical "
                     "member(s) left out")
    return GlobalExplanation(
        method="forecaster_permutation", raw_importance=dict(_sorted(raw)),
        engineered_importance=dict(_sorted(engineered)),
        n_rows=max(n for _w, (_e, _r, n) in parts), seconds=clock.elapsed(), task=kind.name,
        scoring="mean_absolute_error", n_repeats=3, engineered_method="permutation",
        notes=notes)


def render_importance(explanation: GlobalExplanation, top: int = 15) -> str:
    """A plain-text table of the top raw columns and engineered features (for the CLI)."""
    e = explanation
    how = e.method if not e.scoring else f"{e.method}, {e.scoring}"
    if e.n_repeats:
        how += f", {e.n_repeats} repeat{'s' if e.n_repeats != 1 else ''}"
    lines = [f"Feature importance ({how}; {e.n_rows:,} rows, {e.seconds:.2f} s)"]
    lines += _table("raw column", e.top(top), len(e.raw_importance))
    if e.engineered_importance:
        lines.append("")
        label = {"shap_tree": "mean |SHAP|", "linear_coef_std": "|coef| x std"}.get(
            e.engineered_method or "", e.engineered_method or "")
        lines.append(f"Engineered features ({label})")
        lines += _table("engineered feature", e.top(top, engineered=True),
                        len(e.engineered_importance))
    for note in e.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _table(header: str, rows: list[tuple[str, float]], total: int) -> list[str]:
    width = max([len(header)] + [len(name) for name, _ in rows])
    width = min(width, 48)
    out = [f"  {'rank':>4}  {header:<{width}}  {'share':>7}"]
    for rank, (name, value) in enumerate(rows, start=1):
        shown = name if len(name) <= width else name[:width - 3] + "..."
        bar = "#" * int(round(value * 30))
        out.append(f"  {rank:>4}  {shown:<{width}}  {value:>7.1%}  {bar}")
    if total > len(rows):
        out.append(f"  ... {total - len(rows)} more")
    return out


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ------------------------------------------------------------------------------ SHAP path


def _abs_shap_sum(explainer: Any, parts: TreeParts, Z: Any) -> np.ndarray:
    """Sum over rows of |SHAP|, averaged over outputs: one value per engineered feature."""
    total = np.zeros(Z.shape[1])
    for rows in chunks(Z.shape[0], Z.shape[1]):
        values = as_outputs(explainer.shap_values(shap_input(parts.tree, take(Z, rows)),
                                                  check_additivity=False))
        total += np.abs(values).mean(axis=2).sum(axis=0)
    if not np.all(np.isfinite(total)):
        raise CirrusMLError("SHAP values are not finite")
    return total


def _budgeted_shap(explainer: Any, parts: TreeParts, Z: Any, clock: _Clock
                   ) -> tuple[np.ndarray, int]:
    """|SHAP| sums over a prefix of ``Z`` that fits the budget, and the prefix length.

    Rows go in doubling batches (a pilot of :data:`SHAP_PILOT_ROWS` first); each batch's cost
    per row sizes the next one, which is cut to what the remaining budget buys. At least
    :data:`MIN_ROWS` rows are explained, unless they alone would cost more than is left.
    """
    n = Z.shape[0]
    total = np.zeros(Z.shape[1])
    done, per_row = 0, 0.0
    while done < n:
        size = min(n - done, SHAP_PILOT_ROWS if done == 0 else done)
        if done > 0:
            affordable = int(max(clock.left() or 0.0, 0.0) / max(per_row, 1e-9))
            if done >= MIN_ROWS or affordable < MIN_ROWS - done:
                size = min(size, affordable)
            if size <= 0:
                break
        started = time.perf_counter()
        total += _abs_shap_sum(explainer, parts, take(Z, slice(done, done + size)))
        per_row = (time.perf_counter() - started) / size
        done += size
    return total, done


def _shap_global(parts: TreeParts, frame: pd.DataFrame, columns: list[str], order: np.ndarray,
                 clock: _Clock, task: str, notes: list[str]) -> GlobalExplanation:
    import shap

    sample = frame.iloc[order]
    Z = parts.prefix.transform(sample)
    names = engineered_names(parts.featurizer, Z.shape[1])
    explainer = shap.TreeExplainer(parts.library, feature_perturbation="tree_path_dependent")
    n = Z.shape[0]
    if clock.left() is None:
        total, used = _abs_shap_sum(explainer, parts, Z), n
    else:
        total, used = _budgeted_shap(explainer, parts, Z, clock)
        if used < n:
            notes.append(f"time budget: SHAP on {used} of {n} sampled rows")
    mean_abs = total / used
    engineered = _shares(mean_abs)
    raw = to_raw(engineered, names, parts.featurizer.feature_map_, columns)
    return GlobalExplanation(
        method="shap_tree", raw_importance=_as_dict(columns, raw),
        engineered_importance=_as_dict(names, engineered), n_rows=int(used),
        seconds=clock.elapsed(), task=task, scoring="mean_abs_shap", n_repeats=None,
        engineered_method="shap_tree", notes=notes)


# ----------------------------------------------------------------------- permutation path

Scorer = Callable[[Any, pd.DataFrame, Any], float]


def _output_task(task: Task, model: Any) -> Task:
    """``task`` able to predict and score ``model``: an unfitted probabilistic task takes the
    model's own classes (a fitted one keeps the job's)."""
    if task.probabilistic and task.classes is None:
        return task.fit_target(pd.Series(list(model.classes_), dtype=object))
    return task


def _metric_scorer(metric: str, task: Task) -> Scorer:
    info = get_metric(metric)
    if info.task != task.name:
        raise InvalidSpecError(f"{info.name} is a {info.task} metric")
    sign = 1.0 if info.greater_is_better else -1.0
    primary = info.name in PRIMARY_METRICS

    def score(estimator: Any, X: pd.DataFrame, y: Any) -> float:
        fitted = _output_task(task, estimator)
        predictions = fitted.predict(estimator, X)
        value = (fitted.primary_scorer(info.name, y)(predictions) if primary
                 else fitted.score(y, predictions)[info.name])
        return sign * float(value)

    return score


def _own_score(estimator: Any, X: pd.DataFrame, y: Any) -> float:
    return float(estimator.score(X, y))


def _change_scorer(probabilistic: bool) -> Scorer:
    """Minus how far outputs move from the reference outputs passed as ``y``."""

    def score(estimator: Any, X: pd.DataFrame, reference: Any) -> float:
        out = predict_output(estimator, X, probabilistic)
        if probabilistic:  # total-variation distance between class probabilities
            return -0.5 * float(np.abs(out - reference).sum(axis=1).mean())
        return -float(np.abs(out - reference).mean())

    return score


def _choose_scorer(model: Any, pilot_X: pd.DataFrame, pilot_y: Any, metric: str | None,
                   task: Task, notes: list[str]) -> tuple[str, Scorer, float]:
    """(name, scorer, seconds of one pilot call) of the first scoring that works on the pilot."""
    candidates: list[tuple[str, Scorer]] = []
    if pilot_y is not None:
        if metric:
            try:
                candidates.append((get_metric(metric).name, _metric_scorer(metric, task)))
            except Exception as exc:
                notes.append(f"metric {metric!r} cannot score this model ({_short(exc)}); "
                             "used the next scoring")
        candidates.append(("model.score", _own_score))
    for name, scorer in candidates:
        started = time.perf_counter()
        try:
            value = scorer(model, pilot_X, pilot_y)
        except Exception as exc:
            notes.append(f"scoring {name} failed ({type(exc).__name__}: {_short(exc)})")
            continue
        if np.isfinite(value):
            return name, scorer, time.perf_counter() - started
        notes.append(f"scoring {name} is undefined on the sample; used the next scoring")
    started = time.perf_counter()
    predict_output(model, pilot_X, task.probabilistic)
    return ("prediction_change", _change_scorer(task.probabilistic),
            time.perf_counter() - started)


@dataclass
class _CallCost:
    """Seconds of one scoring call on ``rows`` rows: ``fixed + per_row * rows``."""

    fixed: float
    per_row: float

    def __call__(self, rows: int) -> float:
        return self.fixed + self.per_row * rows

    @classmethod
    def measured(cls, big: tuple[int, float], small: tuple[int, float] | None) -> _CallCost:
        """From one timed call (``(rows, seconds)``), or two of different sizes."""
        rows, seconds = big
        if small is None or small[0] >= rows:
            return cls(0.0, max(seconds / max(rows, 1), 1e-7))
        per_row = max((seconds - small[1]) / (rows - small[0]), 1e-7)
        return cls(max(small[1] - per_row * small[0], 0.0), per_row)


def _varying(sample: pd.DataFrame) -> np.ndarray:
    """Positions of the columns that are not constant on ``sample``, those that vary most
    first (most rows away from the column's most common value; ties in column order)."""
    spread = np.zeros(sample.shape[1])
    for j in range(sample.shape[1]):
        counts = sample.iloc[:, j].value_counts(dropna=False)
        spread[j] = len(sample) - (int(counts.iloc[0]) if len(counts) else 0)
    varying = np.flatnonzero(spread > 0)
    return varying[np.argsort(-spread[varying], kind="stable")]


def _plan(cost: _CallCost, left: float, n: int, varying: Callable[[int], np.ndarray]
          ) -> tuple[int, int, int]:
    """(repeats, rows, columns shuffled) whose estimated cost fits ``left`` seconds."""
    def total(rows: int, reps: int, k: int) -> float:
        return (1 + k * reps) * cost(rows)

    repeats, rows = N_REPEATS, n
    k = len(varying(rows))
    while repeats > 1 and total(rows, repeats, k) > left:
        repeats -= 1
    if total(rows, repeats, k) > left:
        per_call = max(left, 0.0) / (1 + k * repeats)
        affordable = int((per_call - cost.fixed) / cost.per_row) if per_call > cost.fixed else 0
        rows = min(n, max(affordable, MIN_ROWS))
        k = len(varying(rows))
    if total(rows, repeats, k) > left:
        k = int(min(k, max(1.0, (max(left, 0.0) / cost(rows) - 1) / repeats)))
    return repeats, rows, k


def _permutation_global(model: Any, frame: pd.DataFrame, target: np.ndarray | None,
                        columns: list[str], order: np.ndarray, clock: _Clock, task: Task,
                        metric: str | None, seed: int, notes: list[str]) -> GlobalExplanation:
    n = len(order)
    pilot = min(n, PILOT_ROWS)
    pilot_y = None if target is None else target[order[:pilot]]
    name, scorer, pilot_seconds = _choose_scorer(model, frame.iloc[order[:pilot]], pilot_y,
                                                 metric, task, notes)
    reference = None
    if name == "prediction_change":
        def outputs(rows: np.ndarray) -> Any:
            return predict_output(model, frame.iloc[rows], task.probabilistic)
    else:
        assert target is not None

        def outputs(rows: np.ndarray) -> Any:
            return target[rows]

    def varying(rows: int) -> np.ndarray:
        return _varying(frame.iloc[order[:rows]])

    repeats, used, shuffled = N_REPEATS, n, None
    left = clock.left()
    if left is not None:
        small = None
        if pilot > SMALL_PILOT_ROWS:
            rows = order[:SMALL_PILOT_ROWS]
            started = time.perf_counter()
            try:
                scorer(model, frame.iloc[rows], outputs(rows))
                small = (SMALL_PILOT_ROWS, time.perf_counter() - started)
            except Exception:  # e.g. a metric undefined on five rows: one timing will do
                small = None
        cost = _CallCost.measured((pilot, pilot_seconds), small)
        repeats, used, shuffled = _plan(cost, clock.left() or 0.0, n, varying)
    rows = order[:used]
    sample = frame.iloc[rows]
    reference = outputs(rows)
    candidates = _varying(sample)
    if shuffled is not None and shuffled < len(candidates):
        candidates = candidates[:shuffled]
    importance, done = _permutation_importance(model, sample, reference, scorer, candidates,
                                               repeats, seed, clock)
    if left is not None and (repeats < N_REPEATS or used < n or done < len(candidates)
                             or (shuffled is not None and shuffled < len(_varying(sample)))):
        notes.append(f"time budget: {repeats} repeat(s) on {used} of {n} sampled rows"
                     + (f", {done} of {len(_varying(sample))} varying columns shuffled"
                        if done < len(_varying(sample)) else ""))
    raw = _shares(importance)
    engineered: dict[str, float] = {}
    engineered_method = None
    try:
        linear = _linear_importance(model, sample)
    except Exception as exc:
        linear = None
        notes.append(f"engineered importance skipped ({type(exc).__name__}: {_short(exc)})")
    if linear is not None:
        engineered, engineered_method = linear, "linear_coef_std"
    return GlobalExplanation(
        method="permutation", raw_importance=_as_dict(columns, raw),
        engineered_importance=engineered, n_rows=int(used), seconds=clock.elapsed(),
        task=task.name, scoring=name, n_repeats=repeats, engineered_method=engineered_method,
        notes=notes)


def _permutation_importance(model: Any, sample: pd.DataFrame, y: Any, scorer: Scorer,
                            columns: np.ndarray, repeats: int, seed: int, clock: _Clock
                            ) -> tuple[np.ndarray, int]:
    """Mean score drop when each of ``columns`` (positions) is shuffled, and how many columns
    were shuffled before the budget ran out; other columns get 0.

    The shuffles are scikit-learn's ``permutation_importance``'s (one seed drawn from ``seed``,
    the same for every column; ``repeats`` cumulative shuffles of the column), so the values are
    the same; columns left out are constant on the sample, whose importance is exactly 0. Unlike
    one ``permutation_importance`` call, this stops between columns when the budget is spent.
    """
    importance = np.zeros(sample.shape[1])
    baseline = scorer(model, sample, y)
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    work = sample.copy()
    done = 0
    for j in columns:
        if clock.budget is not None and done > 0 and (clock.left() or 0.0) <= 0:
            break
        rng = np.random.RandomState(column_seed)
        shuffle = np.arange(work.shape[0])
        name = work.columns[j]
        original = work[name]
        scores = []
        for _ in range(repeats):
            rng.shuffle(shuffle)
            column = work.iloc[shuffle, j]
            column.index = work.index
            work[name] = column
            scores.append(scorer(model, work, y))
        work[name] = original
        importance[j] = float(np.mean(baseline - np.asarray(scores)))
        done += 1
    return importance, done


def _linear_importance(model: Any, sample: pd.DataFrame) -> dict[str, float] | None:
    """``|coef| × std(feature)`` shares for a linear pipeline, else None."""
    found = linear_coefficients(model)
    if found is None:
        return None
    featurizer, coef = found
    Z = model[:-1].transform(sample)
    if sp.issparse(Z):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        _, variance = mean_variance_axis(sp.csr_matrix(Z, dtype=np.float64), axis=0)
        std = np.sqrt(np.asarray(variance, dtype=float))
    else:
        values = Z.to_numpy(dtype=float) if isinstance(Z, pd.DataFrame) else np.asarray(
            Z, dtype=float)
        std = np.nanstd(values, axis=0)
    names = engineered_names(featurizer, len(std))
    effect = (np.abs(coef) * std[None, :]).mean(axis=0)
    return _as_dict(names, _shares(effect))
