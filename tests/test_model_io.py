"""Saving a best model in MLflow format (cirrusml.engine._model_io.save_mlflow_model)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import RandomForestClassifier

from cirrusml.engine._model_io import save_mlflow_model


def test_the_model_file_is_pickled_with_protocol_5_and_mlflow_loads_it(tmp_path: Path) -> None:
    # Protocol 5 writes a forest's arrays from their own memory; MLflow's own protocol 4 would
    # copy them all into bytes held until the end of the dump (twice the model while saving).
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = np.where(X["a"] + rng.normal(scale=0.5, size=300) > 0, "yes", "no")
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    expected = model.predict_proba(X)
    path = save_mlflow_model(model, tmp_path / "best_model", X, metadata_={"score": 0.5})
    with open(path / "model.pkl", "rb") as fh:
        assert fh.read(2) == b"\x80\x05"
    assert not list(path.glob("*.partial"))
    info = yaml.safe_load((path / "MLmodel").read_text())
    # The size is the saved model's, not that of the stand-in MLflow wrote around.
    files = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f.name != "MLmodel")
    assert info["model_size_bytes"] == files > (path / "model.pkl").stat().st_size
    assert info["metadata"] == {"score": 0.5} and info["signature"]["inputs"]
    assert info["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    loaded = mlflow.sklearn.load_model(str(path))
    assert isinstance(loaded, RandomForestClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    pyfunc = mlflow.pyfunc.load_model(str(path))
    assert list(pyfunc.predict(X.head(5))) == list(model.predict(X.head(5)))
