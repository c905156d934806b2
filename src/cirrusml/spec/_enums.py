"""Azure's enums, with exact value strings, and the parsing that accepts any spelling of them.

Azure accepts ``AUC_weighted``, ``auc_weighted`` and ``AUCWeighted`` alike; YAML files carry the
snake_case form (``light_gbm``, ``xg_boost_classifier``). Every enum here parses any casing, with
or without underscores, and knows its YAML spelling.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from cirrusml.exceptions import InvalidSpecError
from cirrusml.utils import camel_to_snake, name_key, suggestion

E = TypeVar("E", bound="AzureEnum")


class AzureEnum(str, Enum):
    """A string enum whose members parse from any of Azure's spellings."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        """Extra accepted spellings (key form) mapped to member values."""
        return {}

    @classmethod
    def parse(cls: type[E], value: Any, *, field: str | None = None) -> E:
        """Return the member spelled ``value`` in any casing, or raise ``InvalidSpecError``."""
        if isinstance(value, cls):
            return value
        if isinstance(value, Enum):
            value = value.value
        key = name_key(str(value))
        for member in cls:
            if name_key(member.value) == key or name_key(member.name) == key:
                return member
        alias = cls._aliases().get(key)
        if alias is not None:
            return cls(alias)
        valid = [m.yaml for m in cls]
        raise InvalidSpecError(
            f"'{value}' is not a valid {cls.__name__} value; valid values are "
            f"{', '.join(valid)}." + suggestion(str(value), valid + [m.value for m in cls]),
            field=field,
        )

    @property
    def yaml(self) -> str:
        """The snake_case spelling YAML job files use."""
        return camel_to_snake(self.value)

    def __str__(self) -> str:
        return self.value


class TaskType(AzureEnum):
    CLASSIFICATION = "Classification"
    REGRESSION = "Regression"
    FORECASTING = "Forecasting"


class ClassificationModels(AzureEnum):
    LOGISTIC_REGRESSION = "LogisticRegression"
    SGD = "SGD"
    MULTINOMIAL_NAIVE_BAYES = "MultinomialNaiveBayes"
    BERNOULLI_NAIVE_BAYES = "BernoulliNaiveBayes"
    SVM = "SVM"
    LINEAR_SVM = "LinearSVM"
    KNN = "KNN"
    DECISION_TREE = "DecisionTree"
    RANDOM_FOREST = "RandomForest"
    EXTREME_RANDOM_TREES = "ExtremeRandomTrees"
    LIGHT_GBM = "LightGBM"
    GRADIENT_BOOSTING = "GradientBoosting"
    XG_BOOST_CLASSIFIER = "XGBoostClassifier"


class RegressionModels(AzureEnum):
    ELASTIC_NET = "ElasticNet"
    GRADIENT_BOOSTING = "GradientBoosting"
    DECISION_TREE = "DecisionTree"
    KNN = "KNN"
    LASSO_LARS = "LassoLars"
    SGD = "SGD"
    RANDOM_FOREST = "RandomForest"
    EXTREME_RANDOM_TREES = "ExtremeRandomTrees"
    LIGHT_GBM = "LightGBM"
    XG_BOOST_REGRESSOR = "XGBoostRegressor"


class ForecastingModels(AzureEnum):
    """Learners a forecasting job may allow or block: Azure's time-series and regression models.

    Two members go beyond Azure's enum; they are cirrusml extensions, and a job file naming
    them does not load in Azure's SDK: ``Theta`` (YAML ``theta``, the Theta method) and ``MSTL``
    (YAML ``mstl``, seasonal-trend decomposition with several seasonal periods).
    """

    AUTO_ARIMA = "AutoArima"
    PROPHET = "Prophet"
    NAIVE = "Naive"
    SEASONAL_NAIVE = "SeasonalNaive"
    AVERAGE = "Average"
    SEASONAL_AVERAGE = "SeasonalAverage"
    EXPONENTIAL_SMOOTHING = "ExponentialSmoothing"
    ARIMAX = "Arimax"
    TCN_FORECASTER = "TCNForecaster"
    ELASTIC_NET = "ElasticNet"
    GRADIENT_BOOSTING = "GradientBoosting"
    DECISION_TREE = "DecisionTree"
    KNN = "KNN"
    LASSO_LARS = "LassoLars"
    SGD = "SGD"
    RANDOM_FOREST = "RandomForest"
    EXTREME_RANDOM_TREES = "ExtremeRandomTrees"
    LIGHT_GBM = "LightGBM"
    XG_BOOST_REGRESSOR = "XGBoostRegressor"
    # Extensions beyond Azure's enum (see the class docstring).
    THETA = "Theta"
    MSTL = "MSTL"


#: The members of :class:`ForecastingModels` that Azure's SDK does not know.
FORECASTING_EXTENSION_MODELS: frozenset[ForecastingModels] = frozenset(
    {ForecastingModels.THETA, ForecastingModels.MSTL}
)


class ClassificationPrimaryMetrics(AzureEnum):
    AUC_WEIGHTED = "AUCWeighted"
    ACCURACY = "Accuracy"
    NORM_MACRO_RECALL = "NormMacroRecall"
    AVERAGE_PRECISION_SCORE_WEIGHTED = "AveragePrecisionScoreWeighted"
    PRECISION_SCORE_WEIGHTED = "PrecisionScoreWeighted"
    # Extension beyond Azure: log loss as a primary metric (the benchmark's multiclass metric).
    LOG_LOSS = "LogLoss"


class RegressionPrimaryMetrics(AzureEnum):
    SPEARMAN_CORRELATION = "SpearmanCorrelation"
    NORMALIZED_ROOT_MEAN_SQUARED_ERROR = "NormalizedRootMeanSquaredError"
    R2_SCORE = "R2Score"
    NORMALIZED_MEAN_ABSOLUTE_ERROR = "NormalizedMeanAbsoluteError"


class ForecastingPrimaryMetrics(AzureEnum):
    SPEARMAN_CORRELATION = "SpearmanCorrelation"
    NORMALIZED_ROOT_MEAN_SQUARED_ERROR = "NormalizedRootMeanSquaredError"
    R2_SCORE = "R2Score"
    NORMALIZED_MEAN_ABSOLUTE_ERROR = "NormalizedMeanAbsoluteError"


def metric_report_name(metric: AzureEnum) -> str:
    """The name under which a primary metric is reported (``AUCWeighted`` -> ``AUC_weighted``)."""
    snake = metric.yaml
    return "AUC_" + snake[len("auc_"):] if snake.startswith("auc_") else snake


class BlockedTransformers(AzureEnum):
    TEXT_TARGET_ENCODER = "TextTargetEncoder"
    ONE_HOT_ENCODER = "OneHotEncoder"
    CAT_TARGET_ENCODER = "CatTargetEncoder"
    TF_IDF = "TfIdf"
    WO_E_TARGET_ENCODER = "WoETargetEncoder"
    LABEL_ENCODER = "LabelEncoder"
    WORD_EMBEDDING = "WordEmbedding"
    NAIVE_BAYES = "NaiveBayes"
    COUNT_VECTORIZER = "CountVectorizer"
    HASH_ONE_HOT_ENCODER = "HashOneHotEncoder"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        # Azure's own how-to guide writes "LabelEncoding"; its snippet must run unchanged.
        return {"labelencoding": "LabelEncoder", "onehotencoding": "OneHotEncoder"}


class FeaturizationMode(AzureEnum):
    AUTO = "Auto"
    CUSTOM = "Custom"
    OFF = "Off"

    @property
    def yaml(self) -> str:
        return self.value.lower()


class FeatureType(AzureEnum):
    """Column purposes accepted by ``column_name_and_types``."""

    NUMERIC = "Numeric"
    CATEGORICAL = "Categorical"
    DATE_TIME = "DateTime"
    CATEGORICAL_HASH = "CategoricalHash"
    TEXT = "Text"
    HASHES = "Hashes"
    IGNORE = "Ignore"
    ALL_NAN = "AllNan"

    @property
    def yaml(self) -> str:
        return self.value


class TransformerParameterKeys(AzureEnum):
    """Keys of ``transformer_params`` (``AutoMLTransformerParameterKeys``)."""

    IMPUTER = "Imputer"
    TF_IDF = "TfIdf"
    HASH_ONE_HOT_ENCODER = "HashOneHotEncoder"


class StackMetaLearnerType(AzureEnum):
    NONE = "None"
    LOGISTIC_REGRESSION = "LogisticRegression"
    LOGISTIC_REGRESSION_CV = "LogisticRegressionCV"
    LIGHT_GBM_CLASSIFIER = "LightGBMClassifier"
    ELASTIC_NET = "ElasticNet"
    ELASTIC_NET_CV = "ElasticNetCV"
    LIGHT_GBM_REGRESSOR = "LightGBMRegressor"
    LINEAR_REGRESSION = "LinearRegression"


class TabularTrainingMode(AzureEnum):
    AUTO = "Auto"
    DISTRIBUTED = "Distributed"
    NON_DISTRIBUTED = "NonDistributed"


class LogVerbosity(AzureEnum):
    NOT_SET = "NotSet"
    DEBUG = "Debug"
    INFO = "Info"
    WARNING = "Warning"
    ERROR = "Error"
    CRITICAL = "Critical"


class ShortSeriesHandlingConfiguration(AzureEnum):
    NONE = "None"
    AUTO = "Auto"
    PAD = "Pad"
    DROP = "Drop"

    @property
    def yaml(self) -> str:
        return self.value.lower()


class TargetAggregationFunction(AzureEnum):
    NONE = "None"
    SUM = "Sum"
    MAX = "Max"
    MIN = "Min"
    MEAN = "Mean"

    @property
    def yaml(self) -> str:
        return self.value.lower()


class UseStl(AzureEnum):
    """``forecasting.use_stl``: STL decomposition of the target into season (and trend) features.

    Accepted in any spelling, in YAML as well as from Python: ``season``, ``season_trend`` (the
    SDK's spelling), ``seasontrend``, ``seasonTrend``, ``none``. Azure's YAML loader rejects
    ``season_trend``, so a job file is always written with ``seasontrend``, which both load.
    """

    NONE = "None"
    SEASON = "Season"
    SEASON_TREND = "SeasonTrend"

    @property
    def yaml(self) -> str:
        return self.value.lower()


class FeatureLags(AzureEnum):
    NONE = "None"
    AUTO = "Auto"

    @property
    def yaml(self) -> str:
        return self.value.lower()


MODELS_BY_TASK: dict[TaskType, type[AzureEnum]] = {
    TaskType.CLASSIFICATION: ClassificationModels,
    TaskType.REGRESSION: RegressionModels,
    TaskType.FORECASTING: ForecastingModels,
}

METRICS_BY_TASK: dict[TaskType, type[AzureEnum]] = {
    TaskType.CLASSIFICATION: ClassificationPrimaryMetrics,
    TaskType.REGRESSION: RegressionPrimaryMetrics,
    TaskType.FORECASTING: ForecastingPrimaryMetrics,
}
