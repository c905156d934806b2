"""Running a scoring server in this process (``python -m cirrusml.serving``).

The process binds the socket first (so that ``port=0`` becomes a real port, written to the
config's ``state_file`` before any model is loaded), then runs uvicorn: in this process when
``instance_count`` is 1, or as a supervisor of ``instance_count`` worker processes that share the
socket, each loading the model once at its start (uvicorn restarts a worker that dies).

With ``code_path`` and ``scoring_script`` set (a deployment with a ``code_configuration``), each
worker imports the scoring script and calls its ``init()`` instead of loading the MLflow model
(see :mod:`cirrusml.serving._script`); the app is the same.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from cirrusml.exceptions import DataError
from cirrusml.serving._app import create_app
from cirrusml.serving._config import ServerConfig
from cirrusml.serving._scorer import RequestScorer, Scorer
from cirrusml.serving._script import ScriptError, ScriptScorer, model_dir

__all__ = ["build_app", "local_url", "serve"]

#: The environment variable that hands the config to uvicorn's worker processes.
CONFIG_ENV = "CIRRUS_SERVING_CONFIG"

logger = logging.getLogger("cirrusml.serving")


def build_app() -> FastAPI:
    """The app of one worker: the config from :data:`CONFIG_ENV`, the model loaded once."""
    config = ServerConfig.model_validate_json(os.environ[CONFIG_ENV])
    logging.captureWarnings(True)
    scorer: RequestScorer
    if config.code_path is not None and config.scoring_script is not None:
        folder = model_dir(Path(config.code_path).parent, config.model_path, config.model_name,
                           config.model_version)
        scorer = ScriptScorer.load(config.code_path, config.scoring_script,
                                   model_folder=folder)
    else:
        scorer = Scorer.load(config.model_path)
    return create_app(scorer, config)


def local_url(host: str, port: int) -> str:
    """The URL to reach a server bound to ``host`` from this machine."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(config: ServerConfig) -> None:
    """Serve ``config.model_path`` until the process is told to stop (SIGTERM or SIGINT)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    scripted = config.code_path is not None and config.scoring_script is not None
    if scripted:
        _check_script(config)
    elif not (Path(config.model_path) / "MLmodel").is_file():
        raise DataError(f"model_path {config.model_path!r} is not an MLflow model folder (it has "
                        "no MLmodel file); give a job's best_model output folder.")
    os.environ[CONFIG_ENV] = config.model_dump_json()
    settings = uvicorn.Config(
        "cirrusml.serving._server:build_app", factory=True, host=config.host, port=config.port,
        workers=config.instance_count, log_config=_log_config(config.log_file),
        access_log=config.access_log, server_header=False, timeout_graceful_shutdown=5)
    if scripted:
        logger.info("scoring script %s in %s (the model is in AZUREML_MODEL_DIR)",
                    config.scoring_script, config.code_path)
        if config.environment:
            logger.warning("Environment %s is recorded, not built: the scoring script runs in "
                           "this Python environment (%s).", config.environment, sys.executable)
    sock = settings.bind_socket()
    port = int(sock.getsockname()[1])
    state = {"pid": os.getpid(), "host": config.host, "port": port,
             "url": local_url(config.host, port)}
    if config.state_file:
        _write_json(Path(config.state_file), state)
    # uvicorn hands a SIGTERM back to the process once it has shut down; as SystemExit, it lets
    # the state file be removed on the way out.
    signal.signal(signal.SIGTERM, _exit)
    try:
        if config.instance_count > 1:
            Multiprocess(settings, sockets=[sock]).run()
        else:
            uvicorn.Server(settings).run(sockets=[sock])
    finally:
        sock.close()
        if config.state_file:
            _forget(Path(config.state_file))


def _check_script(config: ServerConfig) -> None:
    """The script's folder and file exist, and the model's folder: one message naming the
    setting otherwise (``init()`` and ``run()`` are checked as each worker imports it)."""
    assert config.code_path is not None and config.scoring_script is not None
    code = Path(config.code_path)
    if not code.is_dir():
        raise ScriptError(f"code_path {config.code_path!r} is not a folder; give the folder "
                          "that holds the scoring script.")
    if not (code / config.scoring_script).is_file():
        raise ScriptError(f"scoring_script {config.scoring_script!r} is not a file in "
                          f"{config.code_path!r}; give the script's path inside code_path.")
    if not Path(config.model_path).exists():
        raise DataError(f"model_path {config.model_path!r} does not exist; give the model's "
                        "folder.")


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _log_config(log_file: str | None) -> dict[str, Any]:
    handler: dict[str, Any] = (
        {"class": "logging.FileHandler", "filename": log_file, "encoding": "utf-8"}
        if log_file else {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"})
    handler["formatter"] = "plain"
    quiet = {"handlers": ["log"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {
            "format": "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"log": handler},
        "loggers": {"uvicorn": quiet, "uvicorn.access": quiet, "cirrusml": quiet,
                    "py.warnings": {**quiet, "level": "WARNING"}},
    }


def _write_json(path: Path, values: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(values), encoding="utf-8")
    temporary.replace(path)


def _forget(path: Path) -> None:
    """Remove the state file if it is still this process's."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
