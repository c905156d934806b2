"""Learners (L2): one module per algorithm family, each under Azure's model name.

A :class:`Learner` describes an algorithm (defaults, search space, cheapest configuration,
relative cost), builds unfitted scikit-learn estimators, and says how its fitted estimators
export to ONNX and are explained (:func:`learner_for_estimator` finds it from an estimator).
The estimator classes below are the wrappers some learners build: boosting with early stopping,
calibrated SVMs, weighted neighbours, non-negative multinomial naive Bayes, linear regressors on
a standardised target.
"""

from __future__ import annotations

from cirrusml.models._base import Learner, OnnxRecipe, SearchSpace, TreeModel, in_domain
from cirrusml.models._gradient_boosting import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)
from cirrusml.models._knn import WeightedKNeighborsClassifier, WeightedKNeighborsRegressor
from cirrusml.models._lightgbm import LightGBMClassifier, LightGBMRegressor
from cirrusml.models._linear import ScaledTargetRegressor
from cirrusml.models._naive_bayes import NonNegativeMultinomialNB
from cirrusml.models._registry import (
    LEARNERS,
    get_learner,
    learner_for_estimator,
    learner_names,
    learners_for,
)
from cirrusml.models._svm import CalibratedLinearSVC, SubsampledSVC
from cirrusml.models._xgboost import XGBoostClassifier, XGBoostRegressor

__all__ = [
    "LEARNERS",
    "CalibratedLinearSVC",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "Learner",
    "LightGBMClassifier",
    "LightGBMRegressor",
    "NonNegativeMultinomialNB",
    "OnnxRecipe",
    "ScaledTargetRegressor",
    "SearchSpace",
    "SubsampledSVC",
    "TreeModel",
    "WeightedKNeighborsClassifier",
    "WeightedKNeighborsRegressor",
    "XGBoostClassifier",
    "XGBoostRegressor",
    "get_learner",
    "in_domain",
    "learner_for_estimator",
    "learner_names",
    "learners_for",
]
