"""The few ONNX operators cirrusml adds to skl2onnx's, with their shape calculators.

skl2onnx converts almost every part of a cirrusml model by itself. What it lacks is small glue:

* ``CirrusCast`` — cast the features to float32 right before a tree ensemble. Trees compare in
  float32 in scikit-learn, XGBoost and the ONNX tree operators alike, while the featurization
  before them runs in float64 (skl2onnx's documented remedy for float/double discrepancies:
  compute in double, cast just before the trees).
* ``CirrusDoubleImputer`` — ``SimpleImputer`` on float64 values (onnxruntime's ``Imputer`` kernel
  takes float32 only).
* ``CirrusMissingIndicator`` — ``MissingIndicator`` (``<col>_WASNULL``), which skl2onnx does not
  convert; NaN for numbers, a given string for text.
* ``CirrusClip`` — clip values into a range (the rescaling of ``NonNegativeMultinomialNB``).
* ``CirrusBlend`` — a VotingEnsemble: each member's probabilities (mapped onto the ensemble's
  classes) or predictions, weighted and summed.
* ``CirrusClassifierOutput`` / ``CirrusRegressorOutput`` — the graph's outputs: probabilities as
  a float64 tensor with the label of the most probable class, or float64 predictions.

Each operator's raw model is a small spec object below; :func:`register_operators` registers
them once with skl2onnx.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)

__all__ = [
    "Blend",
    "Cast",
    "ClassifierOutput",
    "Clip",
    "DoubleImputer",
    "MissingMask",
    "RegressorOutput",
    "register_operators",
]

#: Aliases of the operators, as skl2onnx knows them.
CAST = "CirrusCast"
DOUBLE_IMPUTER = "CirrusDoubleImputer"
MISSING_INDICATOR = "CirrusMissingIndicator"
CLIP = "CirrusClip"
BLEND = "CirrusBlend"
CLASSIFIER_OUTPUT = "CirrusClassifierOutput"
REGRESSOR_OUTPUT = "CirrusRegressorOutput"


# ---------------------------------------------------------------------------- the specs


class Cast:
    """Cast to ``dtype`` (``np.float32`` or ``np.float64``)."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)


class DoubleImputer:
    """A fitted ``SimpleImputer`` (NaN as missing) applied to float64 values."""

    def __init__(self, imputer: Any) -> None:
        self.imputer = imputer


class MissingMask:
    """A fitted ``MissingIndicator`` (NaN, or a string for text columns)."""

    def __init__(self, indicator: Any) -> None:
        self.indicator = indicator


class Clip:
    """Clip into ``[low, high]``."""

    def __init__(self, low: float, high: float) -> None:
        self.low = float(low)
        self.high = float(high)


class Blend:
    """Weighted sum of member outputs; ``maps[i]`` (or ``None``) maps member ``i``'s class
    columns onto the ensemble's."""

    def __init__(self, weights: list[float], maps: list[np.ndarray | None],
                 n_outputs: int) -> None:
        self.weights = weights
        self.maps = maps
        self.n_outputs = n_outputs


class ClassifierOutput:
    """Probabilities (float64) and the label of the most probable class."""

    def __init__(self, classes: np.ndarray) -> None:
        self.classes = classes

    @property
    def integer_labels(self) -> bool:
        return bool(self.classes.dtype.kind in "iub")


class RegressorOutput:
    """Predictions as a float64 column."""


# ---------------------------------------------------------------------------- helpers


def _rows(operator: Any) -> Any:
    return operator.inputs[0].get_first_dimension()


def _columns(variable: Any) -> Any:
    shape = getattr(variable.type, "shape", None)
    return shape[1] if shape is not None and len(shape) == 2 else None


def _cast_to(scope: Any, container: Any, name: str, source_type: Any, to: int,
             hint: str) -> str:
    """``name`` cast to ONNX type ``to`` (no node when it already has that type)."""
    current = source_type.to_onnx_type().tensor_type.elem_type
    if current == to:
        return name
    out = scope.get_unique_variable_name(hint)
    container.add_node("Cast", [name], [out], to=to,
                       name=scope.get_unique_operator_name("Cast"))
    return out


def _constant(scope: Any, container: Any, hint: str, values: np.ndarray) -> str:
    name = scope.get_unique_variable_name(hint)
    values = np.asarray(values)
    if values.dtype.kind in "OUS":
        content = [str(v).encode("utf-8") for v in values.ravel()]
        container.add_initializer(name, TensorProto.STRING, list(values.shape), content)
    elif values.dtype.kind in "iub":
        container.add_initializer(name, TensorProto.INT64, list(values.shape),
                                  values.astype(np.int64).ravel().tolist())
    else:
        container.add_initializer(name, TensorProto.DOUBLE, list(values.shape),
                                  values.astype(np.float64).ravel().tolist())
    return name


# ------------------------------------------------------------------------- shape calculators


def _shape_cast(operator: Any) -> None:
    spec: Cast = operator.raw_operator
    kind = FloatTensorType if spec.dtype == np.float32 else DoubleTensorType
    operator.outputs[0].type = kind([_rows(operator), _columns(operator.inputs[0])])


def _shape_same_width(operator: Any) -> None:
    operator.outputs[0].type = DoubleTensorType([_rows(operator), _columns(operator.inputs[0])])


def _shape_imputer(operator: Any) -> None:
    imputer = operator.raw_operator.imputer
    kept = int(np.sum(~np.isnan(np.asarray(imputer.statistics_, dtype=np.float64))))
    operator.outputs[0].type = DoubleTensorType([_rows(operator), kept])


def _shape_indicator(operator: Any) -> None:
    indicator = operator.raw_operator.indicator
    operator.outputs[0].type = DoubleTensorType([_rows(operator), len(indicator.features_)])


def _shape_blend(operator: Any) -> None:
    spec: Blend = operator.raw_operator
    operator.outputs[0].type = DoubleTensorType([_rows(operator), spec.n_outputs])


def _shape_classifier_output(operator: Any) -> None:
    spec: ClassifierOutput = operator.raw_operator
    rows = _rows(operator)
    label = Int64TensorType if spec.integer_labels else StringTensorType
    operator.outputs[0].type = label([rows])
    operator.outputs[1].type = DoubleTensorType([rows, len(spec.classes)])


def _shape_regressor_output(operator: Any) -> None:
    operator.outputs[0].type = DoubleTensorType([_rows(operator), 1])


# --------------------------------------------------------------------------------- converters


def _convert_cast(scope: Any, operator: Any, container: Any) -> None:
    spec: Cast = operator.raw_operator
    to = TensorProto.FLOAT if spec.dtype == np.float32 else TensorProto.DOUBLE
    container.add_node("Cast", [operator.inputs[0].full_name], [operator.outputs[0].full_name],
                       to=to, name=scope.get_unique_operator_name("Cast"))


def _convert_double_imputer(scope: Any, operator: Any, container: Any) -> None:
    imputer = operator.raw_operator.imputer
    statistics = np.asarray(imputer.statistics_, dtype=np.float64)
    source = _cast_to(scope, container, operator.inputs[0].full_name, operator.inputs[0].type,
                      TensorProto.DOUBLE, "imputer_input")
    kept = np.flatnonzero(~np.isnan(statistics))
    if kept.size < statistics.size:  # scikit-learn drops columns it could not fill
        gathered = scope.get_unique_variable_name("imputer_kept")
        container.add_node("Gather", [source, _constant(scope, container, "kept", kept)],
                           [gathered], axis=1, name=scope.get_unique_operator_name("Gather"))
        source = gathered
    mask = scope.get_unique_variable_name("imputer_mask")
    container.add_node("IsNaN", [source], [mask], name=scope.get_unique_operator_name("IsNaN"))
    fill = _constant(scope, container, "imputer_fill", statistics[kept].reshape(1, -1))
    container.add_node("Where", [mask, fill, source], [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Where"))


def _convert_indicator(scope: Any, operator: Any, container: Any) -> None:
    indicator = operator.raw_operator.indicator
    source = operator.inputs[0].full_name
    mask = scope.get_unique_variable_name("missing_mask")
    if isinstance(operator.inputs[0].type, StringTensorType):
        codes = scope.get_unique_variable_name("missing_codes")
        container.add_node("LabelEncoder", [source], [codes], op_domain="ai.onnx.ml",
                           op_version=2, keys_strings=[str(indicator.missing_values)],
                           values_int64s=[1], default_int64=0,
                           name=scope.get_unique_operator_name("LabelEncoder"))
        container.add_node("Cast", [codes], [mask], to=TensorProto.DOUBLE,
                           name=scope.get_unique_operator_name("Cast"))
    else:
        flags = scope.get_unique_variable_name("missing_flags")
        container.add_node("IsNaN", [source], [flags],
                           name=scope.get_unique_operator_name("IsNaN"))
        container.add_node("Cast", [flags], [mask], to=TensorProto.DOUBLE,
                           name=scope.get_unique_operator_name("Cast"))
    features = np.asarray(indicator.features_, dtype=np.int64)
    width = _columns(operator.inputs[0])
    if width is not None and features.size == width and np.all(features == np.arange(width)):
        container.add_node("Identity", [mask], [operator.outputs[0].full_name],
                           name=scope.get_unique_operator_name("Identity"))
    else:
        container.add_node("Gather", [mask, _constant(scope, container, "features", features)],
                           [operator.outputs[0].full_name], axis=1,
                           name=scope.get_unique_operator_name("Gather"))


def _convert_clip(scope: Any, operator: Any, container: Any) -> None:
    spec: Clip = operator.raw_operator
    source = _cast_to(scope, container, operator.inputs[0].full_name, operator.inputs[0].type,
                      TensorProto.DOUBLE, "clip_input")
    low = _constant(scope, container, "low", np.asarray(spec.low, dtype=np.float64))
    high = _constant(scope, container, "high", np.asarray(spec.high, dtype=np.float64))
    container.add_node("Clip", [source, low, high], [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Clip"))


def _convert_blend(scope: Any, operator: Any, container: Any) -> None:
    spec: Blend = operator.raw_operator
    terms = []
    members = zip(operator.inputs, spec.weights, spec.maps, strict=True)
    for variable, weight, mapping in members:
        value = _cast_to(scope, container, variable.full_name, variable.type,
                         TensorProto.DOUBLE, "member_output")
        if mapping is not None:
            mapped = scope.get_unique_variable_name("member_mapped")
            container.add_node("MatMul", [value, _constant(scope, container, "class_map",
                                                           mapping.astype(np.float64))],
                               [mapped], name=scope.get_unique_operator_name("MatMul"))
            value = mapped
        weighted = scope.get_unique_variable_name("member_weighted")
        container.add_node("Mul", [value, _constant(scope, container, "weight",
                                                    np.asarray([weight], dtype=np.float64))],
                           [weighted], name=scope.get_unique_operator_name("Mul"))
        terms.append(weighted)
    container.add_node("Sum", terms, [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Sum"))


def _convert_classifier_output(scope: Any, operator: Any, container: Any) -> None:
    spec: ClassifierOutput = operator.raw_operator
    source = operator.inputs[0]
    proba = operator.outputs[1].full_name
    if isinstance(source.type, DoubleTensorType):
        container.add_node("Identity", [source.full_name], [proba],
                           name=scope.get_unique_operator_name("Identity"))
    else:
        container.add_node("Cast", [source.full_name], [proba], to=TensorProto.DOUBLE,
                           name=scope.get_unique_operator_name("Cast"))
    best = scope.get_unique_variable_name("best_class")
    container.add_node("ArgMax", [proba], [best], axis=1, keepdims=0,
                       name=scope.get_unique_operator_name("ArgMax"))
    classes = (spec.classes.astype(np.int64) if spec.integer_labels
               else np.asarray([str(c) for c in spec.classes], dtype=object))
    container.add_node("Gather", [_constant(scope, container, "classes", classes), best],
                       [operator.outputs[0].full_name], axis=0,
                       name=scope.get_unique_operator_name("Gather"))


def _convert_regressor_output(scope: Any, operator: Any, container: Any) -> None:
    source = _cast_to(scope, container, operator.inputs[0].full_name, operator.inputs[0].type,
                      TensorProto.DOUBLE, "prediction")
    shape = _constant(scope, container, "shape", np.asarray([-1, 1], dtype=np.int64))
    container.add_node("Reshape", [source, shape], [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Reshape"))


# ------------------------------------------------------------------------------ registration

_REGISTERED = False


def register_operators() -> None:
    """Register cirrusml's operators, and LightGBM and XGBoost from onnxmltools, once."""
    global _REGISTERED
    if _REGISTERED:
        return
    update_registered_converter(Cast, CAST, _shape_cast, _convert_cast)
    update_registered_converter(DoubleImputer, DOUBLE_IMPUTER, _shape_imputer,
                                _convert_double_imputer)
    update_registered_converter(MissingMask, MISSING_INDICATOR, _shape_indicator,
                                _convert_indicator)
    update_registered_converter(Clip, CLIP, _shape_same_width, _convert_clip)
    update_registered_converter(Blend, BLEND, _shape_blend, _convert_blend)
    update_registered_converter(ClassifierOutput, CLASSIFIER_OUTPUT, _shape_classifier_output,
                                _convert_classifier_output)
    update_registered_converter(RegressorOutput, REGRESSOR_OUTPUT, _shape_regressor_output,
                                _convert_regressor_output)
    _register_boosting_libraries()
    _REGISTERED = True


def _register_boosting_libraries() -> None:
    """onnxmltools' LightGBM and XGBoost converters, registered with skl2onnx as its
    documentation shows."""
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        import lightgbm as lgb
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    except ImportError:  # pragma: no cover - both are dependencies
        pass
    else:
        update_registered_converter(lgb.LGBMClassifier, "LightGbmLGBMClassifier",
                                    calculate_linear_classifier_output_shapes, convert_lightgbm,
                                    options=classifier_options)
        update_registered_converter(lgb.LGBMRegressor, "LightGbmLGBMRegressor",
                                    calculate_linear_regressor_output_shapes, convert_lightgbm,
                                    options={"split": None})
    try:
        import xgboost as xgb
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    except ImportError:  # pragma: no cover
        pass
    else:
        update_registered_converter(xgb.XGBClassifier, "XGBoostXGBClassifier",
                                    calculate_linear_classifier_output_shapes, convert_xgboost,
                                    options=classifier_options)
        update_registered_converter(xgb.XGBRegressor, "XGBoostXGBRegressor",
                                    calculate_linear_regressor_output_shapes, convert_xgboost)
