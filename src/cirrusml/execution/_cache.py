"""Data that reaches a worker once in the worker's life, not once per task."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

_CACHE: dict[tuple[str, float], Any] = {}
_MAX_ENTRIES = 2


def cached_load(path: str | os.PathLike[str]) -> Any:
    """Unpickle ``path`` once per process; later calls return the same object.

    The key includes the file's modification time, so a rewritten file is read again. At most
    two files are kept (a job's data and, briefly, the next job's).
    """
    path = str(Path(path).resolve())
    key = (path, os.stat(path).st_mtime)
    if key not in _CACHE:
        while len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))
        with open(path, "rb") as fh:
            _CACHE[key] = pickle.load(fh)
    return _CACHE[key]


def save_for_workers(obj: Any, path: str | os.PathLike[str]) -> str:
    """Write ``obj`` where workers can :func:`cached_load` it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return str(path)
