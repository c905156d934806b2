"""The loaded model and how it answers: one :class:`Scorer` per server process.

Everything that does not depend on a request is settled in :meth:`Scorer.load`: the model is
unpickled once, the input schema read once from the MLmodel file, and the methods the model
offers looked up once. A request then costs the schema check, the model call and the turning of
its output into JSON values.

Methods (``params.method`` / ``GlobalParameters.method``), each offered when the model has it:

* ``predict`` (default): one value per row, as a list. For a forecasting model these are the
  forecasts of the rows given (rows past each series' end; rows that carry the target are history
  and come back with their value).
* ``predict_proba``: one ``{class: probability}`` object per row (classes as text, in the
  model's order). Offered when the model has ``predict_proba`` and ``classes_``.
* ``forecast``: the forecasting model's ``forecast``; a list, like ``predict``.
* ``forecast_quantiles``: one ``{quantile: value}`` object per row; option ``quantiles``
  (a list of numbers between 0 and 1, ``[0.5]`` by default).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cirrusml.exceptions import DataError
from cirrusml.serving._errors import ScoringError
from cirrusml.serving._payload import ScoringRequest, parse_body
from cirrusml.serving._schema import InputSchema
from cirrusml.utils import release_memory

__all__ = ["METHODS", "RequestScorer", "Scorer"]

#: Every method a request may name, in the order the errors list them.
METHODS = ("predict", "predict_proba", "forecast", "forecast_quantiles")

#: The options each method takes (beside ``method``).
_OPTIONS: dict[str, frozenset[str]] = {"predict": frozenset(), "predict_proba": frozenset(),
                                       "forecast": frozenset(),
                                       "forecast_quantiles": frozenset({"quantiles"})}

_Handler = Callable[[pd.DataFrame, dict[str, Any]], list[Any]]


class RequestScorer(Protocol):
    """What the app serves: a name and methods for the readiness probe, and :meth:`answer`,
    which turns one request body into the JSON answer (raising :class:`ScoringError` for a bad
    request). :class:`Scorer` (an MLflow model) and the scoring scripts'
    :class:`~cirrusml.serving._script.ScriptScorer` are the two."""

    name: str

    @property
    def methods(self) -> tuple[str, ...]: ...

    def answer(self, body: bytes) -> bytes: ...


class Scorer:
    """A model with its input schema; :meth:`score` answers one parsed request."""

    def __init__(self, model: Any, schema: InputSchema, *, name: str = "model"):
        self.model = model
        self.schema = schema
        self.name = name
        handlers: dict[str, _Handler] = {"predict": self._predict}
        if callable(getattr(model, "predict_proba", None)) and hasattr(model, "classes_"):
            self.classes = [str(c) for c in np.asarray(model.classes_).tolist()]
            handlers["predict_proba"] = self._predict_proba
        else:
            self.classes = []
        if callable(getattr(model, "forecast", None)):
            handlers["forecast"] = self._forecast
        if callable(getattr(model, "forecast_quantiles", None)):
            handlers["forecast_quantiles"] = self._forecast_quantiles
        self._handlers = handlers

    @classmethod
    def load(cls, path: str | Path) -> Scorer:
        """Load the MLflow model folder ``path`` (a job's ``best_model`` output)."""
        import mlflow.sklearn

        folder = Path(path)
        if not (folder / "MLmodel").is_file():
            raise DataError(f"model_path {str(folder)!r} is not an MLflow model folder (it has no "
                            "MLmodel file); give a job's best_model output folder.")
        model = mlflow.sklearn.load_model(str(folder))
        release_memory(collect=False)  # a server keeps the model, not its unpickling's leftovers
        return cls(model, InputSchema.from_model_folder(folder), name=folder.name)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods this model answers."""
        return tuple(m for m in METHODS if m in self._handlers)

    def answer(self, body: bytes) -> bytes:
        """The JSON answer to one request body (parsed, checked and scored)."""
        return json.dumps(self.score(parse_body(body)), allow_nan=False).encode()

    def score(self, request: ScoringRequest) -> list[Any]:
        """The JSON-ready answer to ``request``; :class:`ScoringError` for a bad one."""
        handler = self._handlers.get(request.method)
        if handler is None:
            raise self._no_method(request.method)
        unknown = sorted(set(request.params) - _OPTIONS[request.method])
        if unknown:
            takes = ", ".join(sorted(_OPTIONS[request.method])) or "no options"
            raise ScoringError(400, "InvalidParameter",
                               f"unknown parameter(s) {', '.join(repr(k) for k in unknown)} for "
                               f"method {request.method!r}, which takes {takes}; remove them.")
        self.schema.check(request.frame)
        try:
            return handler(request.frame, request.params)
        except DataError as error:  # the model refuses these rows, and says why
            raise ScoringError(422, "InvalidInput", str(error)) from None

    def _no_method(self, method: str) -> ScoringError:
        offered = ", ".join(repr(m) for m in self.methods)
        if method in METHODS:
            reason = ("this model gives no class probabilities (it does not classify)"
                      if method == "predict_proba" else f"this model has no {method}")
            return ScoringError(400, "MethodNotSupported",
                                f"method {method!r} is not available: {reason}. Ask for one of "
                                f"{offered}.")
        return ScoringError(400, "InvalidParameter",
                            f"unknown method {method!r}; this model answers {offered}.")

    # ------------------------------------------------------------------------ methods

    def _predict(self, frame: pd.DataFrame, params: dict[str, Any]) -> list[Any]:
        return _values(self.model.predict(frame))

    def _predict_proba(self, frame: pd.DataFrame, params: dict[str, Any]) -> list[Any]:
        proba = np.asarray(self.model.predict_proba(frame), dtype=float)
        return _objects(self.classes, proba)

    def _forecast(self, frame: pd.DataFrame, params: dict[str, Any]) -> list[Any]:
        return _values(self.model.forecast(frame))

    def _forecast_quantiles(self, frame: pd.DataFrame, params: dict[str, Any]) -> list[Any]:
        quantiles = params.get("quantiles", [0.5])
        if isinstance(quantiles, (int, float)) and not isinstance(quantiles, bool):
            quantiles = [quantiles]
        if not (isinstance(quantiles, list) and quantiles and all(
                isinstance(q, (int, float)) and not isinstance(q, bool) and 0 < q < 1
                for q in quantiles)):
            raise ScoringError(400, "InvalidParameter",
                               f"quantiles must be a list of numbers between 0 and 1 (such as "
                               f"[0.1, 0.5, 0.9]), got {quantiles!r}.")
        table = pd.DataFrame(self.model.forecast_quantiles(frame, quantiles=list(quantiles)))
        return _objects([str(c) for c in table.columns], table.to_numpy(dtype=float))


def _values(output: Any) -> list[Any]:
    """One JSON value per row (``NaN`` and infinities as ``null``)."""
    array = np.asarray(output)
    if array.ndim > 1 and array.shape[1] == 1:
        array = array[:, 0]
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return [v if math.isfinite(v) else None for v in array.tolist()]
    return list(array.tolist())


def _objects(names: list[str], table: np.ndarray) -> list[dict[str, Any]]:
    """One ``{name: value}`` object per row of ``table`` (``NaN`` and infinities as ``null``)."""
    rows = table.tolist()
    if not np.isfinite(table).all():
        rows = [[v if math.isfinite(v) else None for v in row] for row in rows]
    return [dict(zip(names, row, strict=True)) for row in rows]
