"""Caruana ensemble selection (VotingEnsemble's members and weights), as Azure documents it.

Sorted initialisation: start from up to ``init_size`` of the best models, keeping only those whose
score is within ``init_tolerance`` (relative) of the best. Then, for ``iterations`` rounds, add the
model (with replacement) whose addition gives the best ensemble score. The best ensemble seen is
returned — or the best single model, when no ensemble beats it; a model's weight is how often it
was chosen. (Caruana et al., 2004.)

A blend chosen on few validation windows can fit their accidents: on rolling-origin folds of a
short series, a member that only helps the one unusual period gets a large weight.
:func:`checked_selection` therefore compares selection *rules* (Caruana, the best single model,
the plain mean of the two or three best) by how each scores on a fold it did not choose with,
leave-one-fold-out, and applies the winner to every fold. A task asks for the check through
``Task.ensemble_rules``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cirrusml.exceptions import DataError

#: Azure v1's default number of selection rounds (not a v2 setting).
ENSEMBLE_ITERATIONS = 15
INIT_SIZE = 5
INIT_TOLERANCE = 0.05


def caruana_selection(predictions: Sequence[np.ndarray], loss: Callable[[np.ndarray], float], *,
                      iterations: int = ENSEMBLE_ITERATIONS, init_size: int = INIT_SIZE,
                      init_tolerance: float = INIT_TOLERANCE
                      ) -> tuple[dict[int, float], float]:
    """Choose members and weights from candidate out-of-fold predictions.

    ``predictions[i]`` is model i's predictions on the same rows (probabilities ``(n, C)`` or
    values ``(n,)``); ``loss`` scores an averaged prediction (lower is better). Returns
    ``({model index: weight}, ensemble loss)`` with weights summing to 1.
    """
    if not predictions:
        raise DataError("ensemble selection needs at least one model")
    single = [loss(p) for p in predictions]
    order = sorted(range(len(predictions)), key=lambda i: (single[i], i))
    best_single = single[order[0]]
    if not math.isfinite(best_single):
        raise DataError("no candidate model has a finite score")
    # "Within 5% of the best": relative to the best loss's magnitude (losses may be negative
    # scores, such as -AUC).
    slack = init_tolerance * max(abs(best_single), 1e-12)
    chosen = [i for i in order[:init_size] if single[i] <= best_single + slack]
    total = np.sum([predictions[i] for i in chosen], axis=0)
    current = loss(total / len(chosen))
    # The best single model stays a candidate answer: an ensemble must beat it to be chosen.
    best_members, best_loss = [order[0]], best_single
    if current < best_loss:
        best_members, best_loss = list(chosen), current
    for _ in range(iterations):
        k = len(chosen) + 1
        trial_losses = [loss((total + p) / k) for p in predictions]
        pick = int(np.argmin(trial_losses))
        chosen.append(pick)
        total = total + predictions[pick]
        current = trial_losses[pick]
        if current < best_loss:
            best_members, best_loss = list(chosen), current
    counts = Counter(best_members)
    size = sum(counts.values())
    return {i: c / size for i, c in sorted(counts.items())}, float(best_loss)


def blend(predictions: Sequence[np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """The weighted average of the chosen models' predictions."""
    return np.sum([w * predictions[i] for i, w in weights.items()], axis=0)


Loss = Callable[[np.ndarray], float]


def _caruana_rule(predictions: Sequence[np.ndarray], loss: Loss) -> dict[int, float]:
    return caruana_selection(predictions, loss)[0]


def _mean_of_best(k: int) -> Callable[[Sequence[np.ndarray], Loss], dict[int, float]]:
    def rule(predictions: Sequence[np.ndarray], loss: Loss) -> dict[int, float]:
        single = [loss(p) for p in predictions]
        best = sorted(range(len(predictions)), key=lambda i: (single[i], i))[:k]
        return {i: 1 / len(best) for i in sorted(best)}
    return rule


#: The selection rules :func:`checked_selection` can compare, by the names the job log shows.
SELECTION_RULES: dict[str, Callable[[Sequence[np.ndarray], Loss], dict[int, float]]] = {
    "Caruana": _caruana_rule,
    "best single": _mean_of_best(1),
    "mean of 2 best": _mean_of_best(2),
    "mean of 3 best": _mean_of_best(3),
}


def mean_loss(fold_losses: Sequence[Loss], folds: Sequence[int] | None = None) -> Loss:
    """The mean of per-fold losses over ``folds`` (all by default), skipping undefined ones
    (``+inf`` when none is defined): how trials are compared."""
    chosen = list(fold_losses) if folds is None else [fold_losses[j] for j in folds]

    def loss(predictions: np.ndarray) -> float:
        values = np.asarray([f(predictions) for f in chosen], dtype=float)
        finite = np.isfinite(values)
        return float(values[finite].mean()) if finite.any() else math.inf

    return loss


@dataclass
class Selection:
    """What :func:`checked_selection` chose."""

    weights: dict[int, float]
    loss: float
    rule: str
    #: Each compared rule's mean loss on the folds it did not choose with (empty: no check).
    held_out: dict[str, float] = field(default_factory=dict)


def checked_selection(predictions: Sequence[np.ndarray], fold_losses: Sequence[Loss],
                      rules: Sequence[str] = ("Caruana",)) -> Selection:
    """Members and weights by the rule of ``rules`` that generalises best across folds.

    ``fold_losses[j]`` scores predictions (on every validation row) by fold j's rows alone.
    With one rule, or fewer than two folds, the first rule chooses on every fold. Otherwise
    each rule chooses on all folds but j and is scored on fold j, for every j; the rule with
    the lowest mean held-out loss (ties to the earlier rule) then chooses on every fold.
    """
    if not predictions:
        raise DataError("ensemble selection needs at least one model")
    unknown = [r for r in rules if r not in SELECTION_RULES]
    if unknown or not rules:
        raise ValueError(f"unknown selection rule(s) {unknown}; use {list(SELECTION_RULES)}")
    whole = mean_loss(fold_losses)
    held_out: dict[str, float] = {}
    n = len(fold_losses)
    if len(rules) > 1 and n >= 2:
        for rule in rules:
            errors = []
            for j in range(n):
                others = [i for i in range(n) if i != j]
                try:
                    weights = SELECTION_RULES[rule](predictions, mean_loss(fold_losses, others))
                except DataError:  # no model has a finite score on the other folds
                    continue
                errors.append(fold_losses[j](blend(predictions, weights)))
            finite = [e for e in errors if math.isfinite(e)]
            held_out[rule] = float(np.mean(finite)) if finite else math.inf
        chosen = min(rules, key=lambda r: (held_out[r], rules.index(r)))
    else:
        chosen = rules[0]
    weights = SELECTION_RULES[chosen](predictions, whole)
    return Selection(weights, whole(blend(predictions, weights)), chosen, held_out)
