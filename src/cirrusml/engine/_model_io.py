"""Saving a fitted model in MLflow format (sklearn and pyfunc flavours)."""

from __future__ import annotations

import shutil
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

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


def save_mlflow_model(model: Any, path: Path, input_example: pd.DataFrame,
                      metadata_: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` as an MLflow model with signature and input example."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    example = input_example.head(5).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = model.predict(example)
        signature = infer_signature(example, output)
        mlflow.sklearn.save_model(
            model,
            str(path),
            signature=signature,
            input_example=example,
            pip_requirements=pinned_requirements(),
            serialization_format="cloudpickle",
            metadata=metadata_,
        )
    return path
