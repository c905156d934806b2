"""Shared fixtures: the shared examples folder, small real datasets, temporary workspaces."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = SHARED / "azure-examples"
DATASETS = SHARED / "datasets"


def _require_shared() -> None:
    if not EXAMPLES.is_dir():
        pytest.fail(f"the shared folder is expected beside the checkout at {SHARED}")


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    _require_shared()
    return EXAMPLES


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    _require_shared()
    return DATASETS


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def breast_cancer_frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.copy()
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame


def write_mltable(frame: pd.DataFrame, folder: Path, name: str = "data.csv") -> Path:
    """Write ``frame`` as CSV plus an MLTable file in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / name, index=False)
    (folder / "MLTable").write_text(
        f"paths:\n  - file: ./{name}\ntransformations:\n  - read_delimited:\n"
        "      delimiter: ','\n      encoding: 'utf8'\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture()
def cancer_mltable(tmp_path: Path) -> Path:
    return write_mltable(breast_cancer_frame(), tmp_path / "cancer")


@pytest.fixture(scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session (its test processes share the basetemp's parent)."""
    return tmp_path_factory.getbasetemp().parent / "cirrus-cache"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _cache_dir: Path) -> None:
    """Tests never touch the user's ./.cirrus or ~/.cache: the default workspace and the cache
    folder are temporary."""
    monkeypatch.setenv("CIRRUS_WORKSPACE", str(tmp_path / "default-ws"))
    monkeypatch.setenv("CIRRUS_CACHE_DIR", str(_cache_dir))
    monkeypatch.delenv("CIRRUS_DEBUG_TRIAL_SECONDS", raising=False)
    monkeypatch.delenv("CIRRUS_DEBUG_TRIAL_CRASH", raising=False)
    os.environ.setdefault("PYTHONHASHSEED", "0")


def wait_for(predicate, timeout=90.0, step=0.1):
    """``predicate()``'s first truthy value, polled until ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


@contextlib.contextmanager
def dask_cluster(workers: int):
    """A real multi-process Dask ``LocalCluster`` on loopback (one thread per worker; a task
    whose worker dies fails at once instead of being retried) and a client of it."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                             dashboard_address=":0", host="127.0.0.1")
    client = Client(local.scheduler_address, set_as_default=False)
    try:
        yield local, client
    finally:
        client.close()
        local.close()


def worker_pids(client) -> dict[str, int]:
    """Each Dask worker's address and process id."""
    return dict(client.run(os.getpid))
