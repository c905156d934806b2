"""Export a fitted cirrusml model to ONNX: a trial pipeline or a VotingEnsemble of them.

What converts
-------------
A trial pipeline ``inputs (InputColumns) -> datatransformer -> [densify (ToDense)] -> model``
whose ``datatransformer`` is the ONNX-compatible featurizer
(:class:`~cirrusml.featurize._onnx_compatible.OnnxCompatibleFeaturizer`, used when
``training.enable_onnx_compatible_models`` is set) and whose model comes from a learner with
``onnx_convertible=True``; and ``VotingClassifierEnsemble`` / ``VotingRegressorEnsemble`` over
such pipelines. Anything else raises :class:`~cirrusml.exceptions.NotSupportedYetError` naming
the step and the learner.

skl2onnx does the conversion. cirrusml supplies parsers that tell it how the cirrusml parts map
onto parts it knows: ``InputColumns`` and ``ToDense`` are identities (the graph's inputs are
already the selected, typed columns, and its tensors are dense); the featurizer is its fitted
``ColumnTransformer``; the final estimator is converted as the learner that built it says
(:func:`~cirrusml.models.learner_for_estimator`, then the learner's
:meth:`~cirrusml.models.Learner.onnx_refusal` and :meth:`~cirrusml.models.Learner.onnx_recipe`):
usually the library model a wrapper holds in ``estimator_`` (LightGBM and XGBoost through
onnxmltools, cut to the ``best_iteration_`` rounds the wrapper predicts with). Nothing here
lists learner classes. Features are computed in float64 and cast to float32 right before tree
models (the recipe's ``float32``), which compare in float32 in their own libraries too.

The graph
---------
Inputs: one per raw column the model uses (columns the featurizer drops are not inputs), named
like the column, shaped ``[N, 1]``:

* ``tensor(double)`` for numeric columns (NaN for a missing value) and for date columns (seconds
  since 1970-01-01 UTC, NaN for a missing date);
* ``tensor(string)`` for categorical columns (the value as text, whole numbers without a decimal
  part, ``""`` for a missing value).

:func:`~cirrusml.onnx.onnx_input_feed` builds these from a DataFrame. The model's metadata
(``cirrusml.inputs``) records each input's kind and, for dates written as text, their format.

Outputs: classifiers give ``label`` (``[N]``; int64 for integer or boolean classes, else
string) and ``probabilities`` (``[N, C]`` float64, columns in ``classes_`` order, no ZipMap);
regressors give ``variable`` (``[N, 1]`` float64).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx._parse import _parse_sklearn, _parse_sklearn_simple_model
from skl2onnx._supported_operators import sklearn_operator_name_map
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)
from sklearn.base import is_classifier
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline

from cirrusml._version import __version__
from cirrusml.ensemble import (
    StackEnsemble,
    VotingClassifierEnsemble,
    VotingRegressorEnsemble,
)
from cirrusml.exceptions import DataError, NotSupportedYetError
from cirrusml.featurize import AutoFeaturizer, InputColumns, ToDense
from cirrusml.featurize._onnx_compatible import OnnxCompatibleFeaturizer
from cirrusml.models import LEARNERS, Learner, OnnxRecipe, learner_for_estimator
from cirrusml.onnx._operators import (
    BLEND,
    CAST,
    CLASSIFIER_OUTPUT,
    CLIP,
    DOUBLE_IMPUTER,
    MISSING_INDICATOR,
    REGRESSOR_OUTPUT,
    Blend,
    Cast,
    ClassifierOutput,
    Clip,
    DoubleImputer,
    MissingMask,
    RegressorOutput,
    register_operators,
)
from cirrusml.onnx._runtime import onnx_input_feed, session
from cirrusml.tasks import task_for_output

__all__ = ["ONNX_FILE", "TARGET_OPSET", "export_onnx", "input_spec"]

#: The file :func:`export_onnx` writes when given a folder.
ONNX_FILE = "model.onnx"
#: Operator sets of the graph: ONNX 18 (onnxruntime 1.14 and later), ONNX-ML 3.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
#: Metadata keys written into the model.
META_INPUTS = "cirrusml.inputs"
META_TASK = "cirrusml.task"
META_CLASSES = "cirrusml.classes"


def learner_name(estimator: Any) -> str:
    """The Azure learner name behind an estimator (its class name when no learner built it)."""
    learner = learner_for_estimator(estimator)
    return learner.name if learner is not None else type(estimator).__name__


def _convertible_learner(estimator: Any) -> Learner | None:
    learner = learner_for_estimator(estimator)
    return learner if learner is not None and learner.onnx_convertible else None


# ----------------------------------------------------------------------------- validation


def _unsupported(step: str, obj: Any, why: str) -> NotSupportedYetError:
    return NotSupportedYetError(
        f"cannot export to ONNX: step '{step}' ({type(obj).__name__}, learner "
        f"{learner_name(obj)}) {why}"
    )


def _check_estimator(step: str, estimator: Any) -> None:
    learner = _convertible_learner(estimator)
    if learner is None:
        names = sorted(lr.name for lr in LEARNERS if lr.onnx_convertible)
        raise NotSupportedYetError(
            f"cannot export to ONNX: step '{step}' holds {type(estimator).__name__}, which is "
            "not the estimator of an ONNX-convertible learner; convertible learners are "
            f"{', '.join(names[:-1])} and {names[-1]}."
        )
    if not hasattr(estimator, "n_features_in_") and not hasattr(estimator, "estimator_"):
        raise _unsupported(step, estimator, "is not fitted.")
    why = learner.onnx_refusal(estimator)
    if why is not None:
        raise _unsupported(step, estimator, why)


def _check_pipeline(pipeline: Any, where: str = "") -> OnnxCompatibleFeaturizer:
    """Raise ``NotSupportedYetError`` unless ``pipeline`` exports; return its featurizer."""
    prefix = f"{where}: " if where else ""
    if not isinstance(pipeline, Pipeline):
        raise NotSupportedYetError(
            f"cannot export to ONNX: {prefix}{type(pipeline).__name__} is not a trial pipeline "
            "(inputs -> datatransformer -> model) or a VotingEnsemble of them."
        )
    featurizer = None
    steps = list(pipeline.steps)
    for position, (name, step) in enumerate(steps):
        last = position == len(steps) - 1
        if last:
            _check_estimator(f"{prefix}{name}", step)
        elif isinstance(step, (InputColumns, ToDense)) or step == "passthrough" or step is None:
            continue
        elif isinstance(step, OnnxCompatibleFeaturizer):
            if featurizer is not None:
                raise NotSupportedYetError(
                    f"cannot export to ONNX: {prefix}the pipeline has two featurizers "
                    f"(step '{name}').")
            if not hasattr(step, "transformer_"):
                raise NotSupportedYetError(f"cannot export to ONNX: {prefix}step '{name}' "
                                           "is not fitted.")
            featurizer = step
        elif isinstance(step, AutoFeaturizer):
            raise NotSupportedYetError(
                f"cannot export to ONNX: {prefix}step '{name}' is the automatic featurization "
                f"(AutoFeaturizer{_auto_detail(step)}), which has no ONNX form; the model's "
                f"learner is {learner_name(steps[-1][1])}. Train with "
                "training.enable_onnx_compatible_models: true so that trials use the "
                "ONNX-compatible featurization."
            )
        else:
            raise NotSupportedYetError(
                f"cannot export to ONNX: {prefix}step '{name}' ({type(step).__name__}) has no "
                f"ONNX converter; the model's learner is {learner_name(steps[-1][1])}."
            )
    if featurizer is None:
        raise NotSupportedYetError(
            f"cannot export to ONNX: {prefix}the pipeline has no ONNX-compatible featurizer "
            "step, so its raw inputs are unknown.")
    return featurizer


def _auto_detail(featurizer: Any) -> str:
    """Why an AutoFeaturizer cannot convert: its text, date and encoded columns."""
    groups = getattr(featurizer, "groups_", {}) or {}
    parts = []
    for key, label in (("text", "text"), ("hash", "hashed"), ("target", "target-encoded"),
                       ("native", "native categories"), ("datetime", "date parts")):
        columns = groups.get(key) or []
        if columns:
            parts.append(f"{label}: {', '.join(repr(c) for c in columns)}")
    return f" with {'; '.join(parts)}" if parts else ""


def _members(model: Any) -> list[tuple[Any, float]]:
    weights = np.asarray(model.weights, dtype=float)
    if len(weights) != len(model.estimators):
        raise NotSupportedYetError(
            f"cannot export to ONNX: the ensemble has {len(model.estimators)} members but "
            f"{len(weights)} weights.")
    total = float(weights.sum())
    if not np.isfinite(total) or total <= 0:
        raise NotSupportedYetError("cannot export to ONNX: the ensemble's weights do not sum "
                                   "to a positive number.")
    return [(m, float(w) / total)
            for m, w in zip(model.estimators, weights, strict=True) if w > 0]


def input_spec(model: Any) -> list[dict[str, Any]]:
    """The graph inputs of ``model``: ``[{"name", "kind", "format"}]`` in column order.

    Raises ``NotSupportedYetError`` for a model that does not export.
    """
    if isinstance(model, StackEnsemble):
        raise NotSupportedYetError(
            "cannot export to ONNX: StackEnsemble is not exported (Azure disables it when "
            "ONNX-compatible models are asked for); export its members or a VotingEnsemble.")
    if isinstance(model, (VotingClassifierEnsemble, VotingRegressorEnsemble)):
        if not model.estimators:
            raise NotSupportedYetError("cannot export to ONNX: the ensemble has no members.")
        featurizers = [_check_pipeline(m, f"ensemble member {i}")
                       for i, (m, _) in enumerate(_members(model))]
    else:
        featurizers = [_check_pipeline(model)]
    spec: dict[str, dict[str, Any]] = {}
    for featurizer in featurizers:
        for column, kind in featurizer.input_kinds_.items():
            fmt = featurizer.input_formats_.get(column)
            known = spec.get(column)
            if known is not None and known["kind"] != kind:
                raise NotSupportedYetError(
                    f"cannot export to ONNX: ensemble members read column '{column}' both as "
                    f"{known['kind']} and as {kind}; one graph input cannot be both.")
            spec.setdefault(column, {"name": column, "kind": kind, "format": fmt})
    return list(spec.values())


# -------------------------------------------------------------------------------- parsing


class _Root:
    """What is handed to skl2onnx: the model and its output layout."""

    def __init__(self, model: Any, classes: np.ndarray | None) -> None:
        self.model = model
        self.classes = classes


class _Parsing:
    """The parsers of one export (they keep the objects they create alive until it ends)."""

    def __init__(self) -> None:
        self.keep: list[Any] = []

    # --------------------------------------------------------------- small helpers

    def _operator(self, scope: Any, alias: str, raw: Any, inputs: list[Any],
                  outputs: list[str], types: list[Any] | None = None) -> list[Any]:
        """Declare one of cirrusml's operators; outputs are float64 unless ``types`` say."""
        self.keep.append(raw)
        operator = scope.declare_local_operator(alias, raw)
        operator.inputs = list(inputs)
        made = []
        for i, name in enumerate(outputs):
            kind = types[i] if types is not None else DoubleTensorType
            variable = scope.declare_local_variable(name, kind())
            operator.outputs.append(variable)
            made.append(variable)
        return made

    def _float32(self, scope: Any, inputs: list[Any]) -> list[Any]:
        return self._operator(scope, CAST, Cast(np.float32), inputs, ["features32"],
                              [FloatTensorType])

    def _library(self, scope: Any, model: Any, inputs: list[Any]) -> Any:
        """Parse a library model skl2onnx (or onnxmltools) converts; return its probabilities
        (classifiers) or predictions (regressors)."""
        self.keep.append(model)
        outputs = _parse_sklearn_simple_model(scope, model, inputs)
        return outputs[1] if is_classifier(model) else outputs[0]

    def _grouped(self, scope: Any, model: Any, inputs: list[Any], groups: int) -> Any:
        """A tree regressor whose trees are summed in float32 groups of ``groups`` and the
        groups in float64 (onnxmltools' documented ``split`` option)."""
        self.keep.append(model)
        operator = scope.declare_local_operator(sklearn_operator_name_map[type(model)], model)
        operator.inputs = list(inputs)
        operator.split = groups
        output = scope.declare_local_variable("variable", FloatTensorType())
        operator.outputs.append(output)
        return output

    def _recipe(self, scope: Any, recipe: OnnxRecipe, inputs: list[Any]) -> Any:
        """The graph of one :class:`~cirrusml.models.OnnxRecipe`: its probabilities
        (classifiers) or predictions (regressors)."""
        if recipe.preprocess is not None:
            self.keep.append(recipe.preprocess)
            inputs = _parse_sklearn_simple_model(scope, recipe.preprocess, inputs)
        if recipe.clip is not None:
            low, high = recipe.clip
            inputs = self._operator(scope, CLIP, Clip(low, high), inputs, ["clipped"])
        if recipe.float32:
            inputs = self._float32(scope, inputs)
        if recipe.tree_groups is not None:
            return self._grouped(scope, recipe.model, inputs, recipe.tree_groups)
        return self._library(scope, recipe.model, inputs)

    # --------------------------------------------------------------------- parsers

    def parsers(self) -> dict[type, Any]:
        identity = self.identity
        table: dict[type, Any] = {
            _Root: self.root,
            InputColumns: identity,
            ToDense: identity,
            OnnxCompatibleFeaturizer: self.featurizer,
            SimpleImputer: self.imputer,
            MissingIndicator: self.indicator,
            VotingClassifierEnsemble: self.ensemble,
            VotingRegressorEnsemble: self.ensemble,
        }
        for learner in LEARNERS:
            if learner.onnx_convertible:
                for kind in learner.estimator_types():
                    table[kind] = self.estimator
        return table

    @staticmethod
    def identity(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
                 ) -> list[Any]:
        return inputs

    def root(self, scope: Any, root: _Root, inputs: list[Any], custom_parsers: Any = None
             ) -> list[Any]:
        outputs = _parse_sklearn(scope, root.model, inputs, custom_parsers=custom_parsers)
        if root.classes is not None:
            spec = ClassifierOutput(root.classes)
            label = Int64TensorType if spec.integer_labels else StringTensorType
            return self._operator(scope, CLASSIFIER_OUTPUT, spec, outputs[:1],
                                  ["label", "probabilities"], [label, DoubleTensorType])
        return self._operator(scope, REGRESSOR_OUTPUT, RegressorOutput(), outputs[:1],
                              ["variable"])

    def featurizer(self, scope: Any, model: OnnxCompatibleFeaturizer, inputs: list[Any],
                   custom_parsers: Any = None) -> list[Any]:
        by_name = {variable.raw_name: variable for variable in inputs}
        selected = [by_name[column] for column in model.input_kinds_]
        return _parse_sklearn(scope, model.transformer_, selected, custom_parsers=custom_parsers)

    def imputer(self, scope: Any, model: SimpleImputer, inputs: list[Any],
                custom_parsers: Any = None) -> list[Any]:
        missing = model.missing_values
        nan = isinstance(missing, float) and np.isnan(missing)
        if not isinstance(inputs[0].type, StringTensorType) and nan:
            return self._operator(scope, DOUBLE_IMPUTER, DoubleImputer(model), inputs[:1],
                                  ["imputed"])
        return _parse_sklearn_simple_model(scope, model, inputs, custom_parsers=custom_parsers)

    def indicator(self, scope: Any, model: MissingIndicator, inputs: list[Any],
                  custom_parsers: Any = None) -> list[Any]:
        return self._operator(scope, MISSING_INDICATOR, MissingMask(model), inputs[:1],
                              ["missing"])

    def ensemble(self, scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
                 ) -> list[Any]:
        members = _members(model)
        outputs, weights, maps = [], [], []
        classes = None if model.classes is None else list(model.classes)
        for member, weight in members:
            outputs.append(_parse_sklearn(scope, member, inputs,
                                          custom_parsers=custom_parsers)[0])
            weights.append(weight)
            maps.append(None if classes is None else _class_map(list(member.classes_), classes))
        width = 1 if classes is None else len(classes)
        return self._operator(scope, BLEND, Blend(weights, maps, width), outputs,
                              ["blended"])

    def estimator(self, scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
                  ) -> list[Any]:
        """Any final estimator, as its learner's recipe says: its probabilities (classifiers)
        or predictions."""
        learner = _convertible_learner(model)
        if learner is None:  # pragma: no cover - _check_pipeline refused it already
            raise _unsupported("model", model, "has no ONNX converter.")
        return [self._recipe(scope, learner.onnx_recipe(model), inputs)]


def _class_map(member: list[Any], ensemble: list[Any]) -> np.ndarray | None:
    """A 0/1 matrix moving a member's probability columns onto the ensemble's classes."""
    if member == ensemble:
        return None
    index = {c: i for i, c in enumerate(ensemble)}
    mapping = np.zeros((len(member), len(ensemble)))
    for row, label in enumerate(member):
        if label not in index:
            raise NotSupportedYetError(
                f"cannot export to ONNX: an ensemble member knows class {label!r}, which the "
                "ensemble does not list.")
        mapping[row, index[label]] = 1.0
    return mapping


# --------------------------------------------------------------------------------- export


def _classes(model: Any) -> np.ndarray | None:
    if isinstance(model, VotingRegressorEnsemble):
        return None
    if isinstance(model, VotingClassifierEnsemble):
        return np.asarray(model.classes_)
    return np.asarray(model.classes_) if is_classifier(model.steps[-1][1]) else None


def _rename_inputs(model: onnx.ModelProto, wanted: list[str]) -> None:
    """Give the graph inputs the column names (skl2onnx may have altered some)."""
    renames = {}
    for graph_input, name in zip(model.graph.input, wanted, strict=True):
        if graph_input.name != name:
            renames[graph_input.name] = name
    if not renames:
        return
    for graph_input in model.graph.input:
        graph_input.name = renames.get(graph_input.name, graph_input.name)
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]


def _target(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    path.mkdir(parents=True, exist_ok=True)
    return path / ONNX_FILE


def to_onnx_model(model: Any) -> onnx.ModelProto:
    """The ONNX model of a fitted cirrusml model (see the module notes), not yet saved."""
    register_operators()
    spec = input_spec(model)
    initial_types = [(entry["name"], StringTensorType([None, 1]) if entry["kind"] ==
                      "categorical" else DoubleTensorType([None, 1])) for entry in spec]
    classes = _classes(model)
    parsing = _Parsing()
    final = [("label", None), ("probabilities", None)] if classes is not None \
        else [("variable", None)]
    try:
        onx = convert_sklearn(_Root(model, classes), initial_types=initial_types,
                              target_opset=TARGET_OPSET, custom_parsers=parsing.parsers(),
                              final_types=final, name="cirrusml")
    except NotSupportedYetError:
        raise
    except Exception as exc:  # skl2onnx and onnxmltools raise many kinds
        learners = ", ".join(sorted({learner_name(p.steps[-1][1]) for p in _pipelines(model)}))
        raise NotSupportedYetError(
            f"cannot export to ONNX: the conversion of the model (learner {learners}) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    _rename_inputs(onx, [entry["name"] for entry in spec])
    meta = {
        META_INPUTS: json.dumps(spec),
        META_TASK: task_for_output(probabilistic=classes is not None).name,
        "cirrusml.version": __version__,
    }
    if classes is not None:
        meta[META_CLASSES] = json.dumps([c.item() if hasattr(c, "item") else c
                                         for c in classes], default=str)
    onnx.helper.set_model_props(onx, meta)
    onx.producer_name = "cirrusml"
    onx.producer_version = __version__
    onx.doc_string = (
        "cirrusml model. Inputs: one [N, 1] tensor per raw column, named like it: double for "
        "numbers (NaN = missing) and dates (seconds since 1970-01-01 UTC), string for "
        "categories ('' = missing). Outputs: " + (
            "label [N] and probabilities [N, C] (double, classes in metadata cirrusml.classes)."
            if classes is not None else "variable [N, 1] (double)."))
    return onx


def _pipelines(model: Any) -> list[Any]:
    if isinstance(model, (VotingClassifierEnsemble, VotingRegressorEnsemble)):
        return list(model.estimators)
    return [model]


def export_onnx(model: Any, sample: pd.DataFrame, path: str | Path) -> Path:
    """Write ``model`` as ONNX and return the file's path.

    ``model`` is a fitted trial pipeline built with the ONNX-compatible featurizer, or a
    VotingEnsemble of such pipelines. ``path`` is a ``.onnx`` file, or a folder that receives
    ``model.onnx``. ``sample`` (a few raw input rows) must hold every input column; the written
    model is loaded, checked with ``onnx.checker`` and run on it before this returns.

    Raises :class:`~cirrusml.exceptions.NotSupportedYetError` (naming the step and learner) for a
    model that does not export, and ``DataError`` when ``sample`` lacks an input column.
    """
    if not isinstance(sample, pd.DataFrame):
        raise DataError(f"export_onnx needs a pandas DataFrame as sample, got "
                        f"{type(sample).__name__}.")
    onx = to_onnx_model(model)
    onnx.checker.check_model(onx)
    target = _target(path)
    onnx.save_model(onx, str(target))
    try:
        runtime = session(target)
        if len(sample):
            runtime.run(None, onnx_input_feed(sample, runtime))
    except Exception:
        target.unlink(missing_ok=True)
        raise
    return target
