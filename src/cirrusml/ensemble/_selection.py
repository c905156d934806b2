"""Caruana ensemble selection (VotingEnsemble's members and weights), as Azure documents it.

Sorted initialisation: start from up to ``init_size`` of the best models, keeping only those whose
score is within ``init_tolerance`` (relative) of the best. Then, for ``iterations`` rounds, add the
model (with replacement) whose addition gives the best ensemble score. The best ensemble seen is
returned — or the best single model, when no ensemble beats it; a model's weight is how often it
was chosen. (Caruana et al., 2004.)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

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
