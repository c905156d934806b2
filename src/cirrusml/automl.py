"""The AutoML job API, as ``azure.ai.ml.automl`` spells it.

>>> from cirrusml import Input, automl
>>> job = automl.classification(
...     training_data=Input(type="mltable", path="./train"), target_column_name="y",
...     primary_metric="accuracy")
>>> job.set_limits(timeout_minutes=10, max_trials=20)
"""

from __future__ import annotations

from cirrusml.spec import (
    BlockedTransformers,
    ClassificationJob,
    ClassificationModels,
    ClassificationPrimaryMetrics,
    ClassificationTrainingSettings,
    ColumnTransformer,
    FeatureLags,
    FeaturizationMode,
    ForecastingJob,
    ForecastingModels,
    ForecastingPrimaryMetrics,
    ForecastingSettings,
    ForecastingTrainingSettings,
    LogVerbosity,
    RegressionJob,
    RegressionModels,
    RegressionPrimaryMetrics,
    RegressionTrainingSettings,
    ShortSeriesHandlingConfiguration,
    StackEnsembleSettings,
    StackMetaLearnerType,
    TabularFeaturizationSettings,
    TabularLimitSettings,
    TargetAggregationFunction,
    TrainingSettings,
    UseStl,
    classification,
    forecasting,
    regression,
)

__all__ = [
    "BlockedTransformers",
    "ClassificationJob",
    "ClassificationModels",
    "ClassificationPrimaryMetrics",
    "ClassificationTrainingSettings",
    "ColumnTransformer",
    "FeatureLags",
    "FeaturizationMode",
    "ForecastingJob",
    "ForecastingModels",
    "ForecastingPrimaryMetrics",
    "ForecastingSettings",
    "ForecastingTrainingSettings",
    "LogVerbosity",
    "RegressionJob",
    "RegressionModels",
    "RegressionPrimaryMetrics",
    "RegressionTrainingSettings",
    "ShortSeriesHandlingConfiguration",
    "StackEnsembleSettings",
    "StackMetaLearnerType",
    "TabularFeaturizationSettings",
    "TabularLimitSettings",
    "TargetAggregationFunction",
    "TrainingSettings",
    "UseStl",
    "classification",
    "forecasting",
    "regression",
]
