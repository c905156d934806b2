"""``ml_client.jobs``: submit, follow, cancel, resume and download jobs (``JobOperations`` in
Azure).

A thin façade: it checks a job (:func:`cirrusml.data.check_job_columns` and the spec's own
checks), records it and starts its runner (:mod:`cirrusml.client._launcher`), and reads
everything else through the job store (:class:`~cirrusml.tracking.JobStore`, with paths from
:class:`~cirrusml.tracking.JobLayout`). It knows its workspace, not the ``MLClient``.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cirrusml.client._batch import BatchJob, batch_job
from cirrusml.client._launcher import settle, start_runner
from cirrusml.client._pipelines import (
    CommandJob,
    PipelineJobRun,
    check_plan,
    command_job,
    node_output_path,
    pipeline_job,
    pipeline_output_paths,
)
from cirrusml.data._checks import check_job_columns
from cirrusml.data._io import Input
from cirrusml.exceptions import (
    CirrusMLError,
    InvalidSpecError,
    JobFailedError,
    WorkspaceError,
)
from cirrusml.spec import AutoMLTabular, JobService, PipelineJob, load_job
from cirrusml.tasks import task_for
from cirrusml.tracking import (
    JobLayout,
    JobRecord,
    JobStatus,
    JobStore,
    TrialRun,
    Workspace,
    now_iso,
    process_alive,
)

__all__ = ["CancelPoller", "CommandJob", "JobOperations", "PipelineJobRun", "TrialRun"]

_CANCEL_GRACE_SECONDS = 20.0


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
        return self._status is not None and JobStatus(self._status).is_terminal

    def status(self) -> str:
        return self._status or "InProgress"


class JobOperations:
    """Jobs of one workspace.

    ``compute_notices`` gives the notices a job's compute earns at submission (by default the
    workspace's: one for a compute it has not registered).
    """

    def __init__(self, workspace: Workspace,
                 compute_notices: Callable[[str | None], list[str]] | None = None) -> None:
        self._ws = workspace
        self._store = JobStore(workspace)
        self._compute_notices = compute_notices or workspace.compute_notices

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

    @staticmethod
    def _check(job: AutoMLTabular) -> None:
        if not isinstance(job, AutoMLTabular):
            raise InvalidSpecError(
                f"jobs.create_or_update takes an AutoML job (automl.classification(...) or "
                f"load_job(...)), got {type(job).__name__}."
            )
        job.validate_spec()
        # The task reads its own settings (a forecast's time column and horizon) and refuses
        # what it cannot use, before anything is recorded.
        task_for(job.task_type).configure(job)
        check_job_columns(job)

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
        A :class:`~cirrusml.spec.PipelineJob` goes to :meth:`_submit_pipeline` and comes back
        as a :class:`PipelineJobRun`.
        """
        if isinstance(job, (str, Path)):
            job = load_job(job)
        if isinstance(job, PipelineJob):
            return self._submit_pipeline(
                job._plan(), name=job.name, experiment_name=experiment_name,
                description=description, tags=tags, compute=compute)
        # A pipeline runner submits its AutoML nodes as children of the pipeline.
        parent_job_name = kwargs.pop("parent_job_name", None)
        node_name = kwargs.pop("node_name", None)
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
        record = JobRecord(
            name=name, status=JobStatus.NOT_STARTED, created=now_iso(), task=job.task,
            experiment_name=job.experiment_name or Path.cwd().name or "Default",
            display_name=job.display_name or name, description=job.description,
            compute=job.compute or "local", tracking_uri=ws.tracking_uri,
            notices=self._compute_notices(job.compute), parent_job_name=parent_job_name,
            node_name=node_name)
        layout = self._store.create(name, record)
        try:
            job.name = name
            self._save_frames(job, layout)
            job.dump(layout.job_file)
            start_runner(self._store, name)
        except BaseException as err:
            self._store.transition(name, JobStatus.FAILED,
                                   error=f"could not start the job: {err}")
            raise
        submitted = self.get(name)
        assert isinstance(submitted, AutoMLTabular)
        return submitted

    def _submit_pipeline(
        self,
        plan: dict[str, Any],
        *,
        name: str | None = None,
        experiment_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        compute: str | None = None,
    ) -> PipelineJobRun:
        """Check ``plan`` (a pipeline's plan: ``PipelineJob._plan()``), record a pipeline job
        with it and start its runner; returns at once.

        The arguments override the plan's own ``name``, ``experiment_name``, ``description``,
        ``tags`` and ``settings.default_compute``. Raises ``InvalidSpecError`` naming the node
        and input of a binding that does not resolve, or a cycle.
        """
        plan = copy.deepcopy(plan)
        check_plan(plan)
        settings = dict(plan.get("settings") or {})
        if compute is not None:
            settings["default_compute"] = compute
        plan["settings"] = settings
        for key, value in (("name", name), ("experiment_name", experiment_name),
                           ("description", description)):
            if value is not None:
                plan[key] = value
        if tags:
            plan["tags"] = {**(plan.get("tags") or {}), **tags}
        ws = self._ws.ensure()
        job_name = plan.get("name") or ws.new_job_name()
        if ws.has_job(job_name):
            raise WorkspaceError(
                f"a job named '{job_name}' already exists in {ws.root}; choose another name "
                "(or leave it out to get a generated one).")
        plan["name"] = job_name
        default_compute = settings.get("default_compute")
        record = JobRecord(
            name=job_name, type="pipeline", status=JobStatus.NOT_STARTED, created=now_iso(),
            experiment_name=plan.get("experiment_name") or Path.cwd().name or "Default",
            display_name=plan.get("display_name") or job_name,
            description=plan.get("description"), compute=default_compute or "local",
            tracking_uri=ws.tracking_uri, notices=self._compute_notices(default_compute),
            nodes={node: f"{job_name}-{node}" for node in plan["jobs"]},
            extra={"tags": dict(plan["tags"])} if plan.get("tags") else {})
        self._store.create_pipeline(job_name, record, plan)
        try:
            start_runner(self._store, job_name)
        except BaseException as err:
            self._store.transition(job_name, JobStatus.FAILED,
                                   error=f"could not start the job: {err}")
            raise
        submitted = self.get(job_name)
        assert isinstance(submitted, PipelineJobRun)
        return submitted

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
    def _save_frames(job: AutoMLTabular, layout: JobLayout) -> None:
        for field_name in ("training_data", "validation_data", "test_data"):
            frame = getattr(job, field_name)
            if not isinstance(frame, pd.DataFrame):
                continue
            path = layout.input_frame(field_name)
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

    # ---------------------------------------------------------------------------- resume

    def resume(self, name: str) -> AutoMLTabular | BatchJob:
        """Start a job whose runner was killed or crashed again, from its recorded trials.

        Allowed for a job that failed because its runner died (or whose runner is gone while it
        was queued or running); refused with ``CirrusMLError`` for a job that is still running,
        completed, was canceled, or failed on its own (bad input). Returns at once, like
        :meth:`create_or_update`. A batch scoring job starts over. A pipeline job (or one of its
        nodes) is not resumed: submit the pipeline again, and the nodes that completed are
        reused.
        """
        record = self._store.read(name)
        if record.is_pipeline or record.is_child:
            raise CirrusMLError(
                f"job '{name}' is {'a pipeline job' if record.is_pipeline else 'a pipeline node'}"
                ", which is not resumed; submit the pipeline again: its deterministic command "
                "nodes that completed reuse their outputs.")
        self._store.prepare_resume(name)
        try:
            start_runner(self._store, name, resume=True)
        except BaseException as err:
            self._store.transition(name, JobStatus.FAILED, runner_lost=True,
                                   error=f"could not resume the job: {err}")
            raise
        return self.get(name)

    # ------------------------------------------------------------------------------ read

    def _job_from_record(self, record: JobRecord) -> Any:
        """The job entity of a record: an AutoML job, a :class:`BatchJob`, a
        :class:`PipelineJobRun` or a :class:`CommandJob` (a pipeline's command node)."""
        if record.is_batch:
            return batch_job(self._store, record)
        if record.is_pipeline:
            return pipeline_job(self._store, record)
        if record.is_command or (record.is_child
                                 and not self._store.layout(record.name).job_file.exists()):
            # A command node, or an AutoML node that never started (skipped, or refused).
            view = command_job(self._store, record)
            view.type = record.type
            return view
        name = record.name
        layout = self._store.layout(name)
        try:
            job = load_job(layout.job_file)
        except (CirrusMLError, OSError) as err:
            raise WorkspaceError(
                f"the stored specification of job '{name}' is unreadable: {err}") from None
        job.status = str(record.status)
        job.id = name
        job.creation_context = {"created_at": record.created, "started_at": record.started,
                                "ended_at": record.ended}
        studio = layout.root.as_uri()
        job.services = {"Studio": JobService(endpoint=studio, job_service_type="Studio"),
                        "Tracking": JobService(endpoint=record.tracking_uri,
                                               job_service_type="Tracking")}
        job.studio_url = studio
        return job

    def get(self, name: str) -> Any:
        """The job named ``name``, with its current ``status`` (a batch scoring job comes as a
        :class:`BatchJob`, a pipeline job as a :class:`PipelineJobRun`, a pipeline's command
        node as a :class:`CommandJob`)."""
        return self._job_from_record(self._store.refresh(name))

    def record(self, name: str) -> dict[str, Any]:
        """The job's raw record: status, timings, error, best trial, notices."""
        return self._store.refresh(name).to_dict()

    def job_record(self, name: str) -> JobRecord:
        """The job's record, typed (a runner found dead is marked first, as in :meth:`get`)."""
        return self._store.refresh(name)

    def job_records(self) -> builtins.list[JobRecord]:
        """Every job's record, typed, newest first (active ones refreshed)."""
        return [self._store.refresh(r.name) if r.is_active else r
                for r in self._store.records()]

    def layout(self, name: str) -> JobLayout:
        """The paths of the job's folder (raises ``JobNotFoundError`` for an unknown job)."""
        self._store.read(name)
        return self._store.layout(name)

    def guardrails(self, name: str) -> list[dict[str, Any]]:
        """The job's data guardrails (Azure's names, statuses and details); [] before profiling."""
        return self._store.guardrails(name)

    def charts(self, name: str, kind: str = "validation") -> dict[str, Any]:
        """The best model's chart data (Azure's run charts) on its ``validation`` rows (its
        out-of-fold or validation predictions) or its ``test`` rows, by chart family:
        ``classification`` (confusion matrix, ROC, precision-recall, calibration, gains, lift),
        ``regression`` (residuals, predicted vs true), and for forecasts
        ``forecast_horizon`` (actuals and forecasts per fold and series) and
        ``forecast_horizon_metrics`` (errors by horizon step). {} until the job made them."""
        return self._store.charts(name, kind)

    def featurization_summary(self, name: str) -> list[dict[str, Any]]:
        """How the best model featurizes each raw column; [] until the job has a best model."""
        return self._store.featurization_summary(name)

    def generate_code(self, name: str, trial: int | None = None) -> str:
        """A standalone Python script that rebuilds trial ``trial`` (default: the best model),
        trains it and prints its metric, as Azure's generated code does."""
        from cirrusml.client._codegen import generate_code

        return generate_code(self.layout(name).root, trial)

    def explanation(self, name: str) -> dict[str, Any]:
        """Global importance of the job's best model ({} when not explained)."""
        return self._store.explanation(name)

    def explain(self, name: str, data: Any, *, max_evals: int = 500) -> pd.DataFrame:
        """Per-row explanations of the best model for the rows in ``data`` (a DataFrame).

        One column per raw input column with its contribution to the prediction (for
        classification, to the predicted class's probability), plus ``expected_value``.
        """
        import mlflow.sklearn

        from cirrusml.explain import explain_rows

        record = self._store.refresh(name)
        layout = self._store.layout(name)
        if not layout.best_model_file.exists():
            raise CirrusMLError(f"job '{name}' has no best model yet (status {record.status}).")
        model = mlflow.sklearn.load_model(str(layout.best_model))
        rows = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        background = self._store.explanation_background(name)
        if background is None:
            background = rows
        return explain_rows(model, rows, background, task=str(record.task),
                            max_evals=max_evals)

    def list(self, *, parent_job_name: str | None = None, list_view_type: Any = None
             ) -> builtins.list[Any]:
        """Jobs of the workspace, newest first, without pipelines' node jobs; with
        ``parent_job_name``, that pipeline's node jobs in the plan's order, or that AutoML job's
        trials."""
        if parent_job_name is not None:
            if self._store.read(parent_job_name).is_pipeline:
                return self.list_nodes(parent_job_name)
            return self.list_trials(parent_job_name)
        out = []
        for record in self.job_records():
            if record.is_child:
                continue
            with contextlib.suppress(WorkspaceError):
                out.append(self._job_from_record(record))
        return out

    def list_nodes(self, name: str) -> builtins.list[Any]:
        """The node jobs of pipeline ``name`` that exist so far (command jobs and AutoML jobs),
        in the plan's order."""
        self._store.refresh(name)
        out = []
        for record in self._store.children(name):
            with contextlib.suppress(WorkspaceError):
                out.append(self._job_from_record(record))
        return out

    def pipeline_plan(self, name: str) -> dict[str, Any]:
        """Pipeline ``name``'s plan as it was submitted (``plan.json``)."""
        return self._store.plan(name)

    def list_trials(self, name: str) -> builtins.list[TrialRun]:
        """The child runs (trials) of job ``name``, in the order they started."""
        self._store.refresh(name)
        return self._store.trial_runs(name)

    # ---------------------------------------------------------------------------- stream

    def read_log(self, name: str, offset: int = 0) -> tuple[str, int]:
        """Complete lines of the job's log from byte ``offset``, and the next offset."""
        return self._store.read_log(name, offset)

    def read_events(self, name: str, offset: int = 0
                    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """Progress events (phases, trials) from byte ``offset``, and the next offset."""
        return self._store.read_events(name, offset)

    def stream(self, name: str, *, poll_seconds: float = 0.5,
               printer: Callable[[str], None] | None = None) -> None:
        """Print the job's log until it ends. Raises ``JobFailedError`` if it failed.

        It can attach at any time: it starts from the beginning of the log.
        """
        out = printer or (lambda text: print(text, flush=True))
        record = self._store.refresh(name)
        out(f"RunId: {name}")
        out(f"Web View: {self._store.layout(name).root.as_uri()}")
        out("")
        offset = 0
        while True:
            text, offset = self._store.read_log(name, offset)
            if text:
                out(text.rstrip("\n"))
            if record.is_terminal:
                text, offset = self._store.read_log(name, offset)
                if text:
                    out(text.rstrip("\n"))
                break
            time.sleep(poll_seconds)
            record = self._store.refresh(name)
        settle(record.pid)
        out("")
        out("Execution Summary")
        out("=================")
        out(f"RunId: {name}")
        out(f"Status: {record.status}")
        if record.error:
            out(f"Error: {record.error}")
        if record.status is JobStatus.FAILED:
            raise JobFailedError(f"job '{name}' failed: {record.error or 'see its log'}")

    def wait(self, name: str, timeout: float | None = None, poll_seconds: float = 0.5) -> str:
        """Block until the job ends (or ``timeout`` seconds pass); returns its status."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self._store.refresh(name)
            if record.is_terminal:
                settle(record.pid)
                return str(record.status)
            if end is not None and time.monotonic() >= end:
                return str(record.status)
            time.sleep(poll_seconds)

    # ---------------------------------------------------------------------------- cancel

    def begin_cancel(self, name: str, **kwargs: Any) -> CancelPoller:
        """Ask the job to stop. ``result()`` on what it returns waits until it has stopped."""
        record = self._store.refresh(name)
        if record.is_terminal:
            final = str(record.status)
            return CancelPoller(lambda timeout: final)
        self._store.request_cancel(name)
        pid = record.pid
        if record.is_command:
            # A command node runs in its pipeline's runner: stop only its command, whose process
            # group the runner started; the runner records the node Canceled.
            if record.process_pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(record.process_pid, signal.SIGTERM)
            return CancelPoller(lambda timeout: self.wait(name, timeout=timeout or 30.0,
                                                          poll_seconds=0.2))
        if pid and process_alive(pid, record.pid_started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        else:
            self._store.transition(name, JobStatus.CANCELED)

        def wait(timeout: float | None) -> str:
            grace = (_CANCEL_GRACE_SECONDS if timeout is None
                     else min(timeout, _CANCEL_GRACE_SECONDS))
            status = self.wait(name, timeout=grace, poll_seconds=0.2)
            if JobStatus(status).is_terminal:
                return status
            # The runner did not stop in time: stop its whole process group.
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            self._store.transition(name, JobStatus.CANCELED)
            return str(self._store.read(name).status)

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
        record = self._store.refresh(name)
        layout = self._store.layout(name)
        dest = Path(download_path)
        outputs = self._named_outputs(record, layout)
        if output_name is not None and not all:
            if output_name not in outputs:
                hint = (f" The job is {record.status}; outputs appear when it completes."
                        if record.status is not JobStatus.COMPLETED else "")
                available = ", ".join(outputs) or "none yet"
                raise CirrusMLError(
                    f"job '{name}' has no output named '{output_name}' (available: "
                    f"{available}).{hint}")
            self._copy_tree(outputs[output_name], dest / "named-outputs" / output_name)
            return
        self._download_artifacts(name, layout, dest / "artifacts")
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
        from cirrusml.engine._model_io import save_mlflow_model

        record = self._store.refresh(name)
        info = self._store.trial_info(name, trial)
        model = self._store.trial_model(name, trial)
        if model is None:
            hint = (" It is the best model: download output_name='best_model'."
                    if record.best_iteration == trial else "")
            raise CirrusMLError(f"trial {trial} of job '{name}' ({info.get('learner')}, "
                                f"{info.get('status')}) has no stored model.{hint}")
        example = self._store.input_example(name)
        dest = Path(download_path) / "named-outputs" / f"trial_{trial}"
        save_mlflow_model(model, dest, example, metadata_={
            "cirrusml_job": name, "trial": trial, "algorithm": info.get("learner"),
            "trained_on": info.get("model_trained_on")})
        return dest

    def _named_outputs(self, record: JobRecord, layout: JobLayout) -> dict[str, Path]:
        """The job's named outputs that exist: a pipeline's are its nodes' outputs it binds, a
        command node's that reused another's are that job's."""
        if record.is_pipeline:
            bound = pipeline_output_paths(self._store, record, self._store.plan(record.name))
            return {key: Path(path) for key, (_, path) in bound.items()
                    if path is not None and Path(path).exists()}
        if record.is_command and record.reused_from:
            spec = self._store.node_spec(record.name)
            found = {key: Path(node_output_path(self._store, record.name, key))
                     for key in spec.get("outputs") or {}}
            return {key: path for key, path in found.items() if path.is_dir()}
        return layout.named_outputs()

    @staticmethod
    def _copy_tree(src: Path, dst: Path) -> None:
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)

    def _download_artifacts(self, name: str, layout: JobLayout, dest: Path) -> None:
        logs = dest / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        shutil.copy2(layout.log, logs / "job_log.txt")
        for path in (layout.job_file, layout.batch_settings, layout.plan, layout.node_spec,
                     layout.record, layout.events):
            if path.exists():
                shutil.copy2(path, dest / path.name)
        self._store.download_run_artifacts(name, dest / "mlflow")
