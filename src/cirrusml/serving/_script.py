"""Scoring scripts: Azure's ``init()`` / ``run()`` contract, for online and batch deployments.

A deployment with ``code_configuration=CodeConfiguration(code=FOLDER, scoring_script=FILE)``
runs the user's script instead of scoring the MLflow model itself, as Azure's inference server
does:

* the script is imported from a working copy of ``code`` (the copy's root and the script's own
  folder first on ``sys.path``, so that its sibling modules import);
* ``AZUREML_MODEL_DIR`` names ``<app root>/azureml-models/<name>/<version>``, which holds the
  model's folder under its own name (a registered model's files as registered, such as
  ``mlflow-model`` for an AutoML job's best model), as Azure lays out a registered model
  (hard links to the model's files, or copies);
  ``AML_APP_ROOT`` names the app root, which holds the code's working copy too;
* ``init()`` is called once per worker, before the worker answers its probes;
* online, ``run(raw_data)`` gets each ``POST /score`` body as text. A ``run`` with other
  parameters (the inference-schema style ``run(Inputs, GlobalParameters)`` of AutoML's scoring
  files) gets the JSON body's top-level keys that match its parameter names as keyword
  arguments. The return value is encoded with ``json.dumps``, as Azure's server encodes it
  (a ``str`` is sent as a JSON string);
* in batch, ``run(mini_batch)`` gets a list of file paths and returns a DataFrame or a list.

:class:`ScriptScorer` answers requests the way :class:`~cirrusml.serving.Scorer` does, so the
same app (keys, size limit, timeouts, probes, workers) serves both.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from cirrusml.exceptions import CirrusMLError
from cirrusml.serving._errors import ScoringError
from cirrusml.utils import link_or_copy

__all__ = ["MODEL_DIR_ENV", "ScriptError", "ScriptScorer", "load_script", "model_dir"]

logger = logging.getLogger("cirrusml.serving")

#: The variable naming the deployed model's folder, as on Azure.
MODEL_DIR_ENV = "AZUREML_MODEL_DIR"
#: The variable naming the app root (the code's working copy and ``azureml-models``).
APP_ROOT_ENV = "AML_APP_ROOT"
#: The folder of the app root that holds the models.
MODELS_FOLDER = "azureml-models"


class ScriptError(CirrusMLError, RuntimeError):
    """A scoring script that cannot be loaded: missing, not importable, without ``init`` or
    ``run``, or whose ``init()`` raised."""


def model_dir(app_root: str | os.PathLike[str], model_path: str | os.PathLike[str],
              name: str | None, version: str | None) -> Path:
    """``AZUREML_MODEL_DIR`` for ``model_path``: ``<app_root>/azureml-models/<name>/<version>``
    holding the model's folder under its own name, made here if missing. Without a name, the
    folder's name is the model's, and its version is ``1``.

    The files are hard links to the model's where the file system allows (no space taken),
    copies otherwise; not symbolic links, which MLflow refuses to load through."""
    source = Path(os.path.abspath(os.fspath(model_path)))
    folder = Path(app_root) / MODELS_FOLDER / (name or source.name) / (version or "1")
    target = folder / source.name
    if target.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{source.name}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, partial, copy_function=link_or_copy)
    else:
        link_or_copy(str(source), str(partial))
    try:
        partial.rename(target)
    except OSError:  # another worker made it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def load_script(code_path: str | os.PathLike[str], scoring_script: str,
                model_folder: str | os.PathLike[str] | None) -> ModuleType:
    """Import ``scoring_script`` from ``code_path`` with ``AZUREML_MODEL_DIR`` set to
    ``model_folder``, check it defines ``init`` and ``run``, and call ``init()`` once."""
    code = Path(os.path.abspath(os.fspath(code_path)))
    script = code / scoring_script
    if not code.is_dir():
        raise ScriptError(f"code_configuration.code: the folder '{code}' does not exist; give "
                          "the folder that holds the scoring script.")
    if not script.is_file() or script.suffix != ".py":
        raise ScriptError(f"code_configuration.scoring_script: '{scoring_script}' is not a "
                          f"Python file in '{code}'; give the script's path inside the code "
                          "folder, such as score.py.")
    if model_folder is not None:
        os.environ[MODEL_DIR_ENV] = os.fspath(model_folder)
    os.environ[APP_ROOT_ENV] = str(code.parent)
    for folder in dict.fromkeys((script.parent, code)):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    name = script.stem
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        logger.exception("the scoring script '%s' could not be imported", script)
        raise ScriptError(f"the scoring script '{script}' could not be imported: "
                          f"{type(err).__name__}: {err} (the log has the traceback).") from None
    missing = [f for f in ("init", "run") if not callable(getattr(module, f, None))]
    if missing:
        raise ScriptError(f"the scoring script '{script}' defines no {' and no '.join(missing)}"
                          "(); a scoring script defines init() (called once at start) and "
                          "run(data) (called for each request or mini-batch).")
    try:
        module.init()
    except Exception as err:
        logger.exception("init() of the scoring script '%s' failed", script)
        raise ScriptError(f"init() of the scoring script '{script}' failed: "
                          f"{type(err).__name__}: {err} (the log has the traceback).") from None
    logger.info("scoring script %s: init() done (%s=%s)", script, MODEL_DIR_ENV,
                os.environ.get(MODEL_DIR_ENV))
    return module


class ScriptScorer:
    """A loaded scoring script; :meth:`answer` calls its ``run`` with one request's body."""

    def __init__(self, run: Callable[..., Any], *, name: str = "score.py"):
        self.run = run
        self.name = name
        parameters = list(inspect.signature(run).parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        #: Whether ``run`` takes the raw body (one positional parameter).
        self.raw = len(parameters) == 1 and parameters[0].kind in positional
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        self.parameters = tuple(p.name for p in parameters if p.kind in named)
        self.required = tuple(p.name for p in parameters
                              if p.kind in named and p.default is inspect.Parameter.empty)
        self.any_keys = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)

    @classmethod
    def load(cls, code_path: str | os.PathLike[str], scoring_script: str, *,
             model_folder: str | os.PathLike[str] | None = None) -> ScriptScorer:
        """Import the script and run its ``init()`` (see :func:`load_script`)."""
        module = load_script(code_path, scoring_script, model_folder)
        return cls(module.run, name=Path(scoring_script).name)

    @property
    def methods(self) -> tuple[str, ...]:
        """What the readiness probe lists: the script's ``run``."""
        return ("run",)

    def answer(self, body: bytes) -> bytes:
        """The JSON answer of ``run`` to one request body; :class:`ScoringError` for a body
        that cannot be handed to it."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ScoringError(400, "InvalidJson", "the request body is not UTF-8 text; send "
                               "JSON encoded as UTF-8.") from None
        if self.raw:
            result = self.run(text)
        else:
            result = self.run(**self._arguments(text))
        return json.dumps(result, default=_plain).encode()

    def _arguments(self, text: str) -> dict[str, Any]:
        takes = ", ".join(self.parameters) or "no parameters"
        try:
            payload = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as err:
            raise ScoringError(400, "InvalidJson", f"the request body is not valid JSON: "
                               f"{err.msg} at line {err.lineno}, column {err.colno}.") from None
        if not isinstance(payload, dict):
            raise ScoringError(400, "InvalidPayload",
                               f"the body must be a JSON object whose keys are run()'s "
                               f"parameters ({takes}), got a JSON {type(payload).__name__}.")
        missing = [name for name in self.required if name not in payload]
        if missing:
            raise ScoringError(422, "MissingParameter",
                               f"the body has no {', '.join(repr(m) for m in missing)}: the "
                               f"scoring script's run() needs it (run takes {takes}); add it "
                               "as a top-level key of the JSON body.")
        if self.any_keys:
            return dict(payload)
        return {name: payload[name] for name in self.parameters if name in payload}


def _plain(value: Any) -> Any:
    """NumPy and pandas values as plain JSON values (``json.dumps``'s ``default``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict(orient="records") if hasattr(value, "columns") else value.to_dict()
    raise TypeError(f"run() returned a {type(value).__name__}, which JSON cannot encode; return "
                    "lists, dicts, numbers and text")
