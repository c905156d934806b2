"""The log file of a job's background process (an AutoML runner, a pipeline runner, a batch
scoring run): one format, and the libraries' own housekeeping kept out."""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["job_log"]

_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


def job_log(path: Path, *names: str, level: int = logging.INFO) -> logging.Logger:
    """Send the loggers ``names`` (``cirrusml.job`` when none is given) to the file ``path``
    only, at ``level``; returns the first. MLflow and alembic narrate their housekeeping
    (database migrations, pickle advice) at INFO and WARNING: they are kept to errors."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
    for name in names or ("cirrusml.job",):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        logger.handlers[:] = [handler]
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    return logging.getLogger((names or ("cirrusml.job",))[0])
