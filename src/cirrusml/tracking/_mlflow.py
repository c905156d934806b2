"""A thin layer over MLflow: the job's parent run, its child runs, metrics and artifacts.

Only the job runner writes through this class, so a SQLite store never sees two writers from one
job. Readers (the client, the CLI) use the read methods.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cirrusml.exceptions import WorkspaceError
from cirrusml.tracking._store_template import seed_sqlite_store
from cirrusml.utils import link_or_copy

#: Parent-run tag naming the best child run (as Azure's AutoML sets it).
BEST_CHILD_TAG = "automl_best_child_run_id"
JOB_NAME_TAG = "cirrus.job_name"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"

_MAX_PARAM = 6000


def _mlflow_client(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "experiment"


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text[:_MAX_PARAM]


class Tracker:
    """Writes and reads a job's runs in an MLflow tracking store."""

    def __init__(self, tracking_uri: str, artifact_root: Path) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = Path(artifact_root)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            # A new workspace's SQLite store starts as a copy of an empty one (no migrations).
            seed_sqlite_store(self.tracking_uri, self.artifact_root)
            self._client = _mlflow_client(self.tracking_uri)
        return self._client

    # ------------------------------------------------------------------------------ writing

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``, created (with its artifacts in the workspace) if new."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = None
        if not self.tracking_uri.startswith(("http://", "https://", "databricks")):
            folder = self.artifact_root / _safe_name(name)
            folder.mkdir(parents=True, exist_ok=True)
            location = folder.as_uri()
        try:
            return str(self.client.create_experiment(name, artifact_location=location))
        except Exception as err:  # a concurrent creator won the race
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise WorkspaceError(f"cannot create MLflow experiment '{name}': {err}") from err
            return str(found.experiment_id)

    def start_run(self, experiment_id: str, name: str, *, parent_run_id: str | None = None,
                  tags: dict[str, Any] | None = None) -> str:
        all_tags = {k: str(v) for k, v in (tags or {}).items()}
        if parent_run_id:
            all_tags[PARENT_TAG] = parent_run_id
        run = self.client.create_run(experiment_id, run_name=name, tags=all_tags)
        return str(run.info.run_id)

    def log(self, run_id: str, *, metrics: dict[str, float] | None = None,
            params: dict[str, Any] | None = None, tags: dict[str, Any] | None = None) -> None:
        from mlflow.entities import Metric, Param, RunTag

        stamp = int(time.time() * 1000)
        metric_rows = [
            Metric(k, float(v), stamp, 0)
            for k, v in (metrics or {}).items()
            if v is not None and isinstance(v, (int, float)) and math.isfinite(float(v))
        ]
        param_rows = [Param(k, _param_text(v)) for k, v in (params or {}).items()]
        tag_rows = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        # MLflow caps one batch at 1000 metrics, 100 params and 100 tags.
        for i in range(0, len(metric_rows), 1000):
            self.client.log_batch(run_id, metrics=metric_rows[i:i + 1000])
        for i in range(0, len(param_rows), 100):
            self.client.log_batch(run_id, params=param_rows[i:i + 100])
        for i in range(0, len(tag_rows), 100):
            self.client.log_batch(run_id, tags=tag_rows[i:i + 100])

    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None = None) -> None:
        """Store a folder as the run's artifacts.

        With the workspace's local artifact store the files are hard-linked when they can be
        (a model of hundreds of MB costs no copy); otherwise MLflow copies or uploads them.
        """
        root = self._local_artifact_dir(run_id)
        if root is not None:
            dest = root / artifact_path if artifact_path else root
            try:
                shutil.copytree(local_dir, dest, copy_function=link_or_copy, dirs_exist_ok=True)
                return
            except OSError:
                pass
        self.client.log_artifacts(run_id, str(local_dir), artifact_path)

    def _local_artifact_dir(self, run_id: str) -> Path | None:
        uri = self.get_run(run_id).info.artifact_uri
        if uri.startswith("file://"):
            return Path(uri[len("file://"):])
        if uri.startswith("/"):
            return Path(uri)
        return None

    def log_json(self, run_id: str, data: Any, artifact_file: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(artifact_file).name
            path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
            parent = str(Path(artifact_file).parent)
            self.client.log_artifact(run_id, str(path), None if parent == "." else parent)

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # ------------------------------------------------------------------------------ reading

    def get_run(self, run_id: str) -> Any:
        return self.client.get_run(run_id)

    def child_runs(self, experiment_id: str, parent_run_id: str) -> list[Any]:
        runs = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{parent_run_id}'",
            max_results=5000,
        )
        return sorted(runs, key=lambda r: r.info.start_time or 0)

    def download(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        return Path(self.client.download_artifacts(run_id, artifact_path, str(dest)))
