"""``ml_client.jobs``: submit, follow, cancel and download jobs (``JobOperations`` in Azure)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cirrusml.data import read_columns
from cirrusml.data._io import Input
from cirrusml.exceptions import (
    CirrusMLError,
    DataError,
    InvalidSpecError,
    JobFailedError,
    NotSupportedYetError,
    WorkspaceError,
)
from cirrusml.spec import AutoMLTabular, ForecastingJob, JobService, load_job
from cirrusml.tracking import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Tracker,
    now_iso,
    process_alive,
    process_start_time,
)

if TYPE_CHECKING:
    from cirrusml.client._client import MLClient

_CANCEL_GRACE_SECONDS = 20.0
#: Runner processes started by this process, kept so that they are reaped when they end.
_RUNNERS: list[subprocess.Popen[bytes]] = []


@dataclass
class TrialRun:
    """A child run (one trial, or an ensemble) of an AutoML job."""

    name: str
    run_id: str
    iteration: int | None
    algorithm: str | None
    status: str
    score: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def properties(self) -> dict[str, Any]:
        return {"run_algorithm": self.algorithm, "score": self.score, "iteration": self.iteration}


class CancelPoller:
    """What ``begin_cancel`` returns (Azure's ``LROPoller``): ``result()`` waits for the end."""

    def __init__(self, wait: Callable[[float | None], str]) -> None:
        self._wait = wait
        self._status: str | None = None

    def result(self, timeout: float | None = None) -> str:
        self._status = self._wait(timeout)
        return self._status

    def wait(self, timeout: float | None = None) -> None:
        self.result(timeout)

    def done(self) -> bool:
        return self._status in TERMINAL_STATUSES

    def status(self) -> str:
        return self._status or "InProgress"


def _reap() -> None:
    for proc in list(_RUNNERS):
        if proc.poll() is not None:
            _RUNNERS.remove(proc)


def _settle(pid: int | None, timeout: float = 15.0) -> None:
    """Wait for a finished job's runner to exit, if this process started it.

    Reaping it here puts its CPU time (and its workers') in this process's accounts before the
    caller moves on, so tools that measure a process tree see the whole job.
    """
    for proc in list(_RUNNERS):
        if proc.pid == pid:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
    _reap()


class JobOperations:
    """Jobs of one workspace."""

    def __init__(self, client: MLClient) -> None:
        self._client = client

    @property
    def _ws(self) -> Any:
        return self._client._workspace

    # ---------------------------------------------------------------------------- submit

    def validate(self, job: AutoMLTabular, *, raise_on_failure: bool = False) -> list[str]:
        """Check ``job`` and its data without starting it; returns the problems found."""
        try:
            self._check(job)
        except CirrusMLError as err:
            if raise_on_failure:
                raise
            return [str(err)]
        return []

    def _check(self, job: AutoMLTabular) -> None:
        if not isinstance(job, AutoMLTabular):
            raise InvalidSpecError(
                f"jobs.create_or_update takes an AutoML job (automl.classification(...) or "
                f"load_job(...)), got {type(job).__name__}."
            )
        if isinstance(job, ForecastingJob):
            raise NotSupportedYetError(
                "forecasting jobs are not supported yet; classification and regression are. "
                "Forecasting arrives in a later release."
            )
        job.validate_spec()
        needed = [c for c in [job.target_column_name, job.weight_column_name,
                              *(job.cv_split_column_names or [])] if c]
        for field_name in ("training_data", "validation_data", "test_data"):
            value = getattr(job, field_name)
            if value is None:
                continue
            if isinstance(value, str):
                raise InvalidSpecError(
                    f"is a pipeline binding ({value}); bindings are resolved inside pipeline "
                    "jobs, which are not supported yet.", field=field_name)
            if isinstance(value, pd.DataFrame):
                columns = list(map(str, value.columns))
                dupes = sorted({c for c in columns if columns.count(c) > 1})
                if dupes:
                    raise DataError(
                        f"{field_name} has duplicate column names {dupes}; give each column a "
                        "unique name.")
                if len(value) == 0:
                    raise DataError(f"{field_name} has no rows (an empty DataFrame).")
            else:
                columns = read_columns(value.type, value.path)
            wanted = needed if field_name == "training_data" else [job.target_column_name]
            for column in wanted:
                if column not in columns:
                    what = "target_column_name" if column == job.target_column_name else (
                        "weight_column_name" if column == job.weight_column_name
                        else "cv_split_column_names")
                    where = "" if isinstance(value, pd.DataFrame) else f" ({value.path})"
                    raise DataError(
                        f"{what}: column '{column}' is not in {field_name}{where}; its columns "
                        f"are: {', '.join(columns)}."
                    )

    def create_or_update(
        self,
        job: AutoMLTabular,
        *,
        description: str | None = None,
        compute: str | None = None,
        tags: dict[str, str] | None = None,
        experiment_name: str | None = None,
        skip_validation: bool = False,
        **kwargs: Any,
    ) -> AutoMLTabular:
        """Check ``job``, record it and start it in a runner process; returns at once.

        The returned job carries its ``name`` and ``status``. Follow it with :meth:`stream`.
        """
        if isinstance(job, (str, Path)):
            job = load_job(job)
        job = copy.deepcopy(job)
        for key, value in (("description", description), ("compute", compute),
                           ("experiment_name", experiment_name)):
            if value is not None:
                setattr(job, key, value)
        if tags:
            job.tags = {**(job.tags or {}), **tags}
        job = self._absolute_paths(job)
        # skip_validation is accepted for compatibility; the cheap checks always run, since a
        # job that cannot start should fail here rather than in the background.
        self._check(job)
        ws = self._ws.ensure()
        name = job.name or ws.new_job_name()
        if ws.has_job(name):
            raise WorkspaceError(
                f"a job named '{name}' already exists in {ws.root}; choose another name "
                "(or leave it out to get a generated one)."
            )
        notices = self._client._compute_notices(job.compute)
        experiment = job.experiment_name or Path.cwd().name or "Default"
        record = {
            "name": name, "status": "NotStarted", "created": now_iso(), "task": job.task,
            "experiment_name": experiment, "display_name": job.display_name or name,
            "description": job.description, "compute": job.compute or "local",
            "tracking_uri": ws.tracking_uri, "notices": notices,
        }
        folder = ws.create_job(name, record)
        try:
            job.name = name
            self._save_frames(job, folder)
            job.dump(folder / "job.yml")
            self._start_runner(name, folder)
        except BaseException as err:
            ws.transition(name, "Failed", error=f"could not start the job: {err}")
            raise
        return self.get(name)

    @staticmethod
    def _absolute_paths(job: AutoMLTabular) -> AutoMLTabular:
        """Local data paths made absolute (against the current folder) before the job moves."""
        from cirrusml.spec._yaml import resolve_local_path

        for field_name in ("training_data", "validation_data", "test_data"):
            value = getattr(job, field_name)
            if isinstance(value, Input) and isinstance(value.path, str):
                value.path = resolve_local_path(value.path, Path.cwd())
                setattr(job, field_name, value)
        return job

    @staticmethod
    def _save_frames(job: AutoMLTabular, folder: Path) -> None:
        for field_name in ("training_data", "validation_data", "test_data"):
            frame = getattr(job, field_name)
            if not isinstance(frame, pd.DataFrame):
                continue
            path = folder / "inputs" / f"{field_name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame = frame.copy()
            frame.columns = [str(c) for c in frame.columns]
            try:
                frame.to_parquet(path, index=False)
            except Exception:  # mixed types in an object column: store those columns as text
                for column in frame.columns:
                    if frame[column].dtype == object:
                        frame[column] = frame[column].where(frame[column].isna(),
                                                            frame[column].astype(str))
                frame.to_parquet(path, index=False)
            setattr(job, field_name, Input(type="uri_file", path=str(path)))

    def _start_runner(self, name: str, folder: Path) -> None:
        _reap()
        log = open(folder / "log.txt", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cirrusml.client._runner", str(self._ws.root), name],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                close_fds=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            log.close()
        _RUNNERS.append(proc)
        self._ws.update_record(name, pid=proc.pid, pid_started=process_start_time(proc.pid))

    # ------------------------------------------------------------------------------ read

    def _refresh(self, name: str) -> dict[str, Any]:
        """The job's record; a job whose runner died is marked Failed with the reason."""
        _reap()
        ws = self._ws
        record = ws.read_record(name)
        if record.get("status") in ACTIVE_STATUSES:
            pid = record.get("pid")
            if pid is None:
                created = record.get("created", "")
                # A record without a runner is only normal for the moment of submission.
                if _age_seconds(created) > 30:
                    updated = ws.transition(name, "Failed",
                                            error="the job's runner process was never started")
                    record = updated or ws.read_record(name)
            elif not process_alive(pid, record.get("pid_started")):
                if record.get("cancel_requested"):
                    # Canceled before the runner could record it (e.g. while it was starting).
                    updated = ws.transition(name, "Canceled")
                else:
                    updated = ws.transition(
                        name, "Failed",
                        error=(f"the runner process (pid {pid}) ended without recording a "
                               "result: it was killed or crashed. See the job log for its last "
                               "lines."))
                record = updated or ws.read_record(name)
        return record

    def _job_from_record(self, record: dict[str, Any]) -> AutoMLTabular:
        name = record["name"]
        folder = self._ws.job_dir(name)
        try:
            job = load_job(folder / "job.yml")
        except (CirrusMLError, OSError) as err:
            raise WorkspaceError(f"the stored specification of job '{name}' is unreadable: {err}") from None
        job.status = record.get("status")
        job.id = name
        job.creation_context = {"created_at": record.get("created"),
                                "started_at": record.get("started"),
                                "ended_at": record.get("ended")}
        job.services = {"Studio": JobService(endpoint=folder.as_uri(), job_service_type="Studio"),
                        "Tracking": JobService(endpoint=record.get("tracking_uri"),
                                               job_service_type="Tracking")}
        job.studio_url = folder.as_uri()
        return job

    def get(self, name: str) -> AutoMLTabular:
        """The job named ``name``, with its current ``status``."""
        return self._job_from_record(self._refresh(name))

    def record(self, name: str) -> dict[str, Any]:
        """The job's raw record: status, timings, error, best trial, notices."""
        return self._refresh(name)

    def guardrails(self, name: str) -> list[dict[str, Any]]:
        """The job's data guardrails (Azure's names, statuses and details); [] before profiling."""
        return self._read_json(name, "guardrails.json")

    def featurization_summary(self, name: str) -> list[dict[str, Any]]:
        """How the best model featurizes each raw column; [] until the job has a best model."""
        return self._read_json(name, "featurization_summary.json")

    def generate_code(self, name: str, trial: int | None = None) -> str:
        """A standalone Python script that rebuilds trial ``trial`` (default: the best model),
        trains it and prints its metric, as Azure's generated code does."""
        from cirrusml.client._codegen import generate_code

        self._ws.read_record(name)
        return generate_code(self._ws.job_dir(name), trial)

    def explanation(self, name: str) -> dict[str, Any]:
        """Global importance of the job's best model ({} when not explained)."""
        self._ws.read_record(name)
        path = self._ws.job_dir(name) / "outputs" / "explanation" / "global_importance.json"
        if not path.exists():
            return {}
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def explain(self, name: str, data: Any, *, max_evals: int = 500) -> pd.DataFrame:
        """Per-row explanations of the best model for the rows in ``data`` (a DataFrame).

        One column per raw input column with its contribution to the prediction (for
        classification, to the predicted class's probability), plus ``expected_value``.
        """
        import mlflow.sklearn

        from cirrusml.explain import explain_rows

        record = self._refresh(name)
        folder = self._ws.job_dir(name) / "outputs"
        if not (folder / "best_model" / "MLmodel").exists():
            raise CirrusMLError(f"job '{name}' has no best model yet (status "
                                f"{record.get('status')}).")
        background_path = folder / "explanation" / "background.pkl"
        model = mlflow.sklearn.load_model(str(folder / "best_model"))
        if background_path.exists():
            background = pd.read_pickle(background_path)
        else:
            background = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        rows = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        return explain_rows(model, rows, background, task=str(record.get("task")),
                            max_evals=max_evals)

    def _read_json(self, name: str, file: str) -> list[dict[str, Any]]:
        self._ws.read_record(name)  # raises JobNotFoundError for an unknown job
        path = self._ws.job_dir(name) / file
        if not path.exists():
            return []
        try:
            return list(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as err:
            raise WorkspaceError(f"'{path}' is unreadable: {err}") from None

    def list(self, *, parent_job_name: str | None = None, list_view_type: Any = None
             ) -> list[Any]:
        """Jobs of the workspace, newest first; with ``parent_job_name``, that job's trials."""
        if parent_job_name is not None:
            return self.list_trials(parent_job_name)
        out = []
        for record in self._ws.records():
            if record.get("status") in ACTIVE_STATUSES:
                record = self._refresh(record["name"])
            with contextlib.suppress(WorkspaceError):
                out.append(self._job_from_record(record))
        return out

    def list_trials(self, name: str) -> list[TrialRun]:
        """The child runs (trials) of job ``name``, in the order they started."""
        record = self._refresh(name)
        run_id = record.get("mlflow_run_id")
        if not run_id:
            return []
        tracker = Tracker(record.get("tracking_uri") or self._ws.tracking_uri,
                          self._ws.artifacts_dir)
        trials = []
        for run in tracker.child_runs(record["mlflow_experiment_id"], run_id):
            tags = dict(run.data.tags)
            score = tags.get("score")
            iteration = tags.get("iteration")
            status = tags.get("status") or {"RUNNING": "Running", "FINISHED": "Completed",
                                            "FAILED": "Failed", "KILLED": "Canceled"}.get(
                run.info.status, run.info.status)
            trials.append(TrialRun(
                name=tags.get("mlflow.runName", run.info.run_id), run_id=run.info.run_id,
                iteration=int(iteration) if iteration not in (None, "") else None,
                algorithm=tags.get("run_algorithm"), status=status,
                score=float(score) if score not in (None, "", "None") else None,
                metrics=dict(run.data.metrics), params=dict(run.data.params), tags=tags))
        return trials

    # ---------------------------------------------------------------------------- stream

    def read_log(self, name: str, offset: int = 0) -> tuple[str, int]:
        """Complete lines of the job's log from byte ``offset``, and the next offset."""
        return self._ws.read_log(name, offset)  # type: ignore[no-any-return]

    def read_events(self, name: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Progress events (phases, trials) from byte ``offset``, and the next offset."""
        return self._ws.read_events(name, offset)  # type: ignore[no-any-return]

    def stream(self, name: str, *, poll_seconds: float = 0.5,
               printer: Callable[[str], None] | None = None) -> None:
        """Print the job's log until it ends. Raises ``JobFailedError`` if it failed.

        It can attach at any time: it starts from the beginning of the log.
        """
        out = printer or (lambda text: print(text, flush=True))
        record = self._refresh(name)
        out(f"RunId: {name}")
        out(f"Web View: {self._ws.job_dir(name).as_uri()}")
        out("")
        offset = 0
        while True:
            text, offset = self._ws.read_log(name, offset)
            if text:
                out(text.rstrip("\n"))
            if record.get("status") in TERMINAL_STATUSES:
                text, offset = self._ws.read_log(name, offset)
                if text:
                    out(text.rstrip("\n"))
                break
            time.sleep(poll_seconds)
            record = self._refresh(name)
        _settle(record.get("pid"))
        out("")
        out("Execution Summary")
        out("=================")
        out(f"RunId: {name}")
        out(f"Status: {record.get('status')}")
        if record.get("error"):
            out(f"Error: {record['error']}")
        if record.get("status") == "Failed":
            raise JobFailedError(f"job '{name}' failed: {record.get('error', 'see its log')}")

    def wait(self, name: str, timeout: float | None = None, poll_seconds: float = 0.5) -> str:
        """Block until the job ends (or ``timeout`` seconds pass); returns its status."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self._refresh(name)
            status = str(record.get("status"))
            if status in TERMINAL_STATUSES:
                _settle(record.get("pid"))
                return status
            if end is not None and time.monotonic() >= end:
                return status
            time.sleep(poll_seconds)

    # ---------------------------------------------------------------------------- cancel

    def begin_cancel(self, name: str, **kwargs: Any) -> CancelPoller:
        """Ask the job to stop. ``result()`` on what it returns waits until it has stopped."""
        record = self._refresh(name)
        if record.get("status") in TERMINAL_STATUSES:
            return CancelPoller(lambda timeout: str(record.get("status")))
        self._ws.update_record(name, cancel_requested=now_iso())
        pid = record.get("pid")
        if pid and process_alive(pid, record.get("pid_started")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        else:
            self._ws.transition(name, "Canceled")

        def wait(timeout: float | None) -> str:
            grace = _CANCEL_GRACE_SECONDS if timeout is None else min(timeout, _CANCEL_GRACE_SECONDS)
            status = self.wait(name, timeout=grace, poll_seconds=0.2)
            if status in TERMINAL_STATUSES:
                return status
            # The runner did not stop in time: stop its whole process group.
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            self._ws.transition(name, "Canceled")
            return str(self._ws.read_record(name).get("status"))

        return CancelPoller(wait)

    def cancel(self, name: str) -> str:
        """Stop the job and wait until it has stopped; returns its final status."""
        return self.begin_cancel(name).result()

    # -------------------------------------------------------------------------- download

    def download(self, name: str, *, download_path: str | os.PathLike[str] = ".",
                 output_name: str | None = None, all: bool = False) -> None:
        """Download the job's outputs, as Azure lays them out.

        ``output_name="best_model"`` → ``<download_path>/named-outputs/best_model/`` (an MLflow
        model); no output name → ``<download_path>/artifacts/`` (log, specification, the parent
        run's artifacts); ``all=True`` → both, with every named output.
        """
        record = self._refresh(name)
        folder = self._ws.job_dir(name)
        dest = Path(download_path)
        outputs = self._named_outputs(folder)
        if output_name is not None and not all:
            if output_name not in outputs:
                status = record.get("status")
                hint = (f" The job is {status}; outputs appear when it completes."
                        if status != "Completed" else "")
                available = ", ".join(outputs) or "none yet"
                raise CirrusMLError(
                    f"job '{name}' has no output named '{output_name}' (available: "
                    f"{available}).{hint}")
            self._copy_tree(outputs[output_name], dest / "named-outputs" / output_name)
            return
        self._download_artifacts(name, record, folder, dest / "artifacts")
        if all:
            for key, path in outputs.items():
                self._copy_tree(path, dest / "named-outputs" / key)

    def download_trial_model(self, name: str, trial: int, *,
                             download_path: str | os.PathLike[str] = ".") -> Path:
        """Trial ``trial``'s fitted model as an MLflow model in
        ``<download_path>/named-outputs/trial_<trial>/``.

        A holdout trial's model is the one that was scored; after cross-validation it is the
        model of the last fold (the job refits only its best model on every row). An ensemble
        trial is downloadable when it is the job's best model (``output_name="best_model"``).
        """
        import joblib

        from cirrusml.engine._model_io import save_mlflow_model

        record = self._refresh(name)
        folder = self._ws.job_dir(name) / "trials"
        info_path = folder / f"{trial}.json"
        if not info_path.exists():
            known = sorted(int(p.stem) for p in folder.glob("*.json")) if folder.is_dir() else []
            raise CirrusMLError(f"job '{name}' has no trial {trial}; its trials are "
                                f"{', '.join(map(str, known)) or 'none yet'}.")
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if not info.get("model"):
            hint = (" It is the best model: download output_name='best_model'."
                    if record.get("best_iteration") == trial else "")
            raise CirrusMLError(f"trial {trial} of job '{name}' ({info.get('learner')}, "
                                f"{info.get('status')}) has no stored model.{hint}")
        model = joblib.load(folder / info["model"])
        example = self._training_example(name)
        dest = Path(download_path) / "named-outputs" / f"trial_{trial}"
        save_mlflow_model(model, dest, example, metadata_={
            "cirrusml_job": name, "trial": trial, "algorithm": info.get("learner"),
            "trained_on": info.get("model_trained_on")})
        return dest

    def _training_example(self, name: str) -> pd.DataFrame:
        """A few training rows (the input example of a downloaded model)."""
        import mlflow.models

        best = self._ws.job_dir(name) / "outputs" / "best_model"
        if (best / "MLmodel").exists():
            with contextlib.suppress(Exception):
                example = mlflow.models.Model.load(str(best)).load_input_example(str(best))
                if isinstance(example, pd.DataFrame):
                    return example
        data = self._ws.job_dir(name) / "work" / "data.pkl"
        import pickle

        with open(data, "rb") as fh:
            return pickle.load(fh).X.head(5)

    @staticmethod
    def _named_outputs(folder: Path) -> dict[str, Path]:
        root = folder / "outputs"
        if not root.is_dir():
            return {}
        return {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and any(p.iterdir())}

    @staticmethod
    def _copy_tree(src: Path, dst: Path) -> None:
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)

    def _download_artifacts(self, name: str, record: dict[str, Any], folder: Path,
                            dest: Path) -> None:
        logs = dest / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / "log.txt", logs / "job_log.txt")
        for file in ("job.yml", "record.json", "events.jsonl"):
            if (folder / file).exists():
                shutil.copy2(folder / file, dest / file)
        run_id = record.get("mlflow_run_id")
        if run_id:
            tracker = Tracker(record.get("tracking_uri") or self._ws.tracking_uri,
                              self._ws.artifacts_dir)
            with contextlib.suppress(Exception):
                tracker.download(run_id, "", dest / "mlflow")


def _age_seconds(iso: str) -> float:
    from datetime import datetime, timezone

    try:
        return (datetime.now(timezone.utc) - datetime.fromisoformat(iso)).total_seconds()
    except ValueError:
        return 0.0
