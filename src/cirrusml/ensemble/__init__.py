"""Ensembles (L2): Caruana selection (VotingEnsemble), checked against simpler rules where a
task asks, and stacking (StackEnsemble)."""

from __future__ import annotations

from cirrusml.ensemble._models import (
    StackClassifierEnsemble,
    StackEnsemble,
    StackRegressorEnsemble,
    VotingClassifierEnsemble,
    VotingEnsemble,
    VotingRegressorEnsemble,
    member_proba,
    stack_features,
)
from cirrusml.ensemble._selection import (
    ENSEMBLE_ITERATIONS,
    SELECTION_RULES,
    Selection,
    blend,
    caruana_selection,
    checked_selection,
)
from cirrusml.ensemble._stack import (
    DEFAULT_TRAIN_PERCENTAGE,
    cross_validated_meta_predictions,
    default_meta_learner_type,
    fit_meta,
    fit_stack_meta,
    make_meta_learner,
)

__all__ = [
    "DEFAULT_TRAIN_PERCENTAGE",
    "ENSEMBLE_ITERATIONS",
    "SELECTION_RULES",
    "Selection",
    "StackClassifierEnsemble",
    "StackEnsemble",
    "StackRegressorEnsemble",
    "VotingClassifierEnsemble",
    "VotingEnsemble",
    "VotingRegressorEnsemble",
    "blend",
    "caruana_selection",
    "checked_selection",
    "cross_validated_meta_predictions",
    "default_meta_learner_type",
    "fit_meta",
    "fit_stack_meta",
    "make_meta_learner",
    "member_proba",
    "stack_features",
]
