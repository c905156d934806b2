"""A new workspace's SQLite MLflow store starts as a copy of an empty template store."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrusml.tracking import Tracker, Workspace
from cirrusml.tracking._store_template import cache_dir, seed_sqlite_store


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CIRRUS_CACHE_DIR", str(folder))
    return folder


def _open(root: Path) -> tuple[Workspace, Tracker]:
    ws = Workspace(root).ensure()
    return ws, Tracker(ws.tracking_uri, ws.artifacts_dir)


def test_a_new_store_is_a_copy_of_the_template_built_once(tmp_path: Path, cache: Path) -> None:
    _ws, first = _open(tmp_path / "a")
    first.start_run(first.experiment_id("Default"), "one")
    templates = list(cache.glob("mlflow-*-empty.db"))
    assert len(templates) == 1 and cache_dir() == cache
    built = templates[0].stat().st_mtime_ns

    ws = Workspace(tmp_path / "b").ensure()
    assert seed_sqlite_store(ws.tracking_uri, ws.artifacts_dir)
    tracker = Tracker(ws.tracking_uri, ws.artifacts_dir)
    default = tracker.experiment_id("Default")
    run = tracker.start_run(default, "two")
    tracker.log(run, metrics={"accuracy": 0.5})
    assert tracker.client.get_run(run).data.metrics == {"accuracy": 0.5}
    # The copy's Default experiment keeps its artifacts in its own workspace.
    location = tracker.client.get_experiment(default).artifact_location
    assert location == (ws.artifacts_dir.resolve() / "Default").as_uri()
    # Nothing of the first workspace came along, and the template was not rebuilt.
    assert [e.name for e in tracker.client.search_experiments()] == ["Default"]
    assert templates[0].stat().st_mtime_ns == built


def test_an_existing_store_is_never_replaced(tmp_path: Path, cache: Path) -> None:
    ws, tracker = _open(tmp_path / "a")
    tracker.experiment_id("mine")
    assert not seed_sqlite_store(ws.tracking_uri, ws.artifacts_dir)
    again = Tracker(ws.tracking_uri, ws.artifacts_dir)
    assert {e.name for e in again.client.search_experiments()} == {"Default", "mine"}


def test_without_a_usable_cache_mlflow_builds_the_store(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go", encoding="utf-8")
    monkeypatch.setenv("CIRRUS_CACHE_DIR", str(blocker / "cache"))
    ws, tracker = _open(tmp_path / "a")
    assert not seed_sqlite_store(ws.tracking_uri, ws.artifacts_dir)
    run = tracker.start_run(tracker.experiment_id("job"), "one")
    assert tracker.client.get_run(run).info.run_name == "one"
    assert not list(ws.root.glob(".*.seed"))  # no staged copy left behind
    # Other stores are not SQLite files: nothing to seed.
    assert not seed_sqlite_store("http://127.0.0.1:5000", ws.artifacts_dir)
    assert not seed_sqlite_store("sqlite:///:memory:", ws.artifacts_dir)
