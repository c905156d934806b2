"""A new workspace's SQLite MLflow store, copied from a template rather than built by migrations.

MLflow builds an empty SQLite store by creating its tables and then running every Alembic
migration since its first release: about 1.3 s of a runner's start-up on two cores, paid by every
job of a new workspace (each benchmark run, each test). The empty store it ends with is the same
for one MLflow version, so it is built once per version into the user's cache folder
(``$CIRRUS_CACHE_DIR``, else ``$XDG_CACHE_HOME/cirrusml``, else ``~/.cache/cirrusml``) and a new
workspace's store starts as a copy of it (milliseconds). MLflow still checks the copy's schema
when it opens it, as it checks any existing store.

Nothing depends on the template: when the cache folder cannot be written, or anything else goes
wrong, the store is left for MLflow to build, as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from importlib import metadata
from pathlib import Path

__all__ = ["cache_dir", "seed_sqlite_store"]

#: MLflow's experiment 0 ("Default"), which every new store holds.
_DEFAULT_EXPERIMENT_ID = 0


def cache_dir() -> Path:
    """cirrusml's cache folder (``$CIRRUS_CACHE_DIR``, ``$XDG_CACHE_HOME/cirrusml`` or
    ``~/.cache/cirrusml``)."""
    configured = os.environ.get("CIRRUS_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cirrusml"


def _sqlite_path(tracking_uri: str) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI (``None`` for any other store)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    path = tracking_uri[len(prefix):]
    return None if not path or path == ":memory:" or "?" in path else Path(path)


def _template() -> Path:
    """The empty store of the installed MLflow version, built on first use."""
    folder = cache_dir()
    template = folder / f"mlflow-{metadata.version('mlflow')}-empty.db"
    if template.exists():
        return template
    from mlflow.tracking import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        built = Path(scratch) / "store.db"
        # Opening it creates the tables and runs the migrations.
        MlflowClient(tracking_uri=f"sqlite:///{built}").search_experiments()
        # Replace, not link: two builders racing leave one whole template.
        os.replace(built, template)
    return template


def _point_default_experiment(store: Path, artifacts: Path) -> None:
    """Give the copy's Default experiment its artifact folder in this workspace (MLflow would
    have put it under the working directory of whoever built the store)."""
    with contextlib.closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("UPDATE experiments SET artifact_location = ? "
                           "WHERE experiment_id = ?",
                           ((artifacts / "Default").as_uri(), _DEFAULT_EXPERIMENT_ID))


def seed_sqlite_store(tracking_uri: str, artifacts: Path) -> bool:
    """Start a SQLite tracking store that does not exist yet as a copy of the template.

    Returns whether it did. A store that exists is never touched, and a store another process
    creates meanwhile wins: the copy is linked into place, which fails if the file is there.
    """
    path = _sqlite_path(tracking_uri)
    if path is None or path.exists() or not path.parent.is_dir():
        return False
    staged = path.with_name(f".{path.name}.{os.getpid()}.seed")
    try:
        shutil.copyfile(_template(), staged)
        _point_default_experiment(staged, Path(artifacts).resolve())
        os.link(staged, path)
        return True
    except Exception:  # noqa: BLE001 - no template, no link: MLflow builds the store itself
        return False
    finally:
        staged.unlink(missing_ok=True)
