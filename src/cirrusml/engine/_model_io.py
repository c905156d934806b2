"""Saving a fitted model in MLflow format (sklearn and pyfunc flavours)."""

from __future__ import annotations

import logging
import shutil
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from cirrusml.models import learner_for_estimator

#: Libraries a saved model may need at load time, pinned to the versions that trained it.
_RUNTIME_PACKAGES = ("cirrusml", "scikit-learn", "pandas", "numpy", "scipy", "lightgbm",
                     "xgboost-cpu", "cloudpickle")


def pinned_requirements() -> list[str]:
    pins = []
    for package in _RUNTIME_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def input_schema(frame: pd.DataFrame) -> Any:
    """The model's input signature: every raw column by name, none required.

    Text columns are declared as strings. Number, boolean and date columns accept any type
    (MLflow's ``Any``): MLflow would otherwise refuse integers for a column declared double and
    floats (an integer column with a missing value) for one declared long, while the model
    itself coerces both. No column is required, so MLflow lets through what the model handles
    itself: missing values, and columns it ignores or reports by name.
    """
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    specs: list[ColSpec | TensorSpec] = []
    for column in frame.columns:
        series = frame[column]
        text = not (pd.api.types.is_numeric_dtype(series)
                    or pd.api.types.is_bool_dtype(series)
                    or pd.api.types.is_datetime64_any_dtype(series))
        specs.append(ColSpec("string" if text else AnyType(),  # type: ignore[no-untyped-call]
                             str(column), required=False))
    return Schema(specs)


def _example(frame: pd.DataFrame) -> pd.DataFrame:
    example = frame.head(5).copy()
    for column in example.columns:
        series = example[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series)):
            example[column] = series.astype(object).where(series.notna(), None)
            example[column] = example[column].map(lambda v: v if v is None else str(v))
    return example


def _final_estimators(model: Any) -> list[Any]:
    """The fitted estimators at the end of ``model``'s pipelines, an ensemble's members' too."""
    if isinstance(model, Pipeline):
        return _final_estimators(model.steps[-1][1])
    members = getattr(model, "estimators", None)
    if isinstance(members, (list, tuple)) and members and not isinstance(members[0], tuple):
        return [e for member in members for e in _final_estimators(member)]
    return [model]


def settle_for_prediction(model: Any) -> None:
    """Let each estimator's learner settle it for prediction (``Learner.for_prediction``:
    one thread per call), in place."""
    for estimator in _final_estimators(model):
        learner = learner_for_estimator(estimator)
        if learner is not None:
            learner.for_prediction(estimator)


def save_mlflow_model(model: Any, path: Path, input_example: pd.DataFrame,
                      metadata_: dict[str, Any] | None = None,
                      example: pd.DataFrame | None = None) -> Path:
    """Write ``model`` to ``path`` as an MLflow model with signature and input example.

    ``input_example`` (the training features) gives the input schema; ``example``, rows the
    model can predict, the saved example (the first rows of ``input_example`` by default).
    The model's estimators are settled for prediction first (:func:`settle_for_prediction`)."""
    import mlflow.sklearn
    from mlflow.models import ModelSignature
    from mlflow.models import infer_signature as infer

    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    settle_for_prediction(model)
    # MLflow advises against pickles at every save; cirrusml models are pickled by design (a
    # scikit-learn pipeline of cirrusml and library estimators), and the advice is noise here.
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    example = _example(input_example if example is None else example)
    with warnings.catch_warnings():
        # MLflow's schema inference and the members' predictions warn about dtypes and
        # feature names; the saved model is checked by loading it, not by these warnings.
        for category in (UserWarning, FutureWarning, DeprecationWarning):
            warnings.simplefilter("ignore", category=category)
        output = model.predict(example)
        signature = ModelSignature(inputs=input_schema(input_example),
                                   outputs=infer(example, output).outputs)
        # MLflow writes the folder around a stand-in, and the model's own pickle replaces the
        # stand-in's: mlflow.sklearn pickles with protocol 4 (for Pythons before 3.8), which
        # copies every array of the model into bytes that stay alive until the end of the dump,
        # so a 400 MB forest ensemble cost the runner 800 MB to save. Protocol 5 writes the
        # arrays from their own memory; the file loads with mlflow.sklearn.load_model as before.
        mlflow.sklearn.save_model(
            _StandIn(),
            str(path),
            signature=signature,
            input_example=example,
            pip_requirements=pinned_requirements(),
            serialization_format="cloudpickle",
            metadata=metadata_,
        )
    _write_pickle(model, path)
    return path


class _StandIn:
    """What MLflow pickles while it writes a model's folder (it reads no more of the model
    than that it has ``predict``, given a signature); replaced by :func:`_write_pickle`."""

    def predict(self, X: Any) -> Any:
        raise NotImplementedError("a stand-in replaced by the real model when saved")


def _write_pickle(model: Any, path: Path) -> None:
    """Pickle ``model`` over the sklearn flavour's model file in ``path`` (protocol 5), and
    set the folder's size in its MLmodel file again (MLflow measured the stand-in's)."""
    import cloudpickle
    from mlflow.models import Model

    info = Model.load(str(path))
    target = path / info.flavors["sklearn"]["pickled_model"]
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as fh:
        cloudpickle.dump(model, fh, protocol=5)
    partial.replace(target)
    info.model_size_bytes = sum(f.stat().st_size for f in path.rglob("*")
                                if f.is_file() and f.name != "MLmodel")
    info.save(str(path / "MLmodel"))
