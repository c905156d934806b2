"""The DAG executor of a pipeline job: runs the plan's nodes as child jobs of the pipeline.

Rules it follows (``docs/pipelines.md`` tells them to users):

* **Order and parallelism.** A node starts once every node whose output it takes has completed;
  nodes that do not depend on each other run side by side, at most
  ``settings.max_parallel_nodes`` at a time (:data:`DEFAULT_MAX_PARALLEL_NODES` by default).
  Among the nodes ready at once, the plan's order decides.
* **Child jobs.** Every node is a job of the workspace named ``<pipeline>-<node>``, with
  ``parent_job_name`` and ``node_name`` in its record: a ``command`` job for a command node, an
  ordinary AutoML job (which waits for a queue slot like any other) for an AutoML node.
* **Command nodes** run their command with ``/bin/sh`` in a fresh working copy of their ``code``
  folder (the child job folder's ``code/``), in the current Python environment
  (``sys.executable``'s folder first on ``PATH``; the node's ``environment`` is recorded and not
  built), with ``MLFLOW_TRACKING_URI`` and ``CIRRUS_WORKSPACE`` pointing at the workspace, as
  Azure's compute points MLflow at its workspace. ``${{inputs.x}}`` becomes the input's path (or
  literal value) and ``${{outputs.y}}`` a fresh folder, the child's ``outputs/y``. An optional
  group ``$[[ ... ]]`` is kept when every input it names is bound and dropped otherwise. The
  command's output goes to the child's log; a non-zero exit fails the node with the code and
  the log's last lines.
* **Reuse.** A deterministic command node has a fingerprint: its code folder's contents, its
  command, environment and environment variables, its outputs' names and its inputs (literal
  values; data by content digest; an upstream node's output by that node's fingerprint). A node
  whose fingerprint matches an earlier completed node of the workspace takes that node's outputs
  and runs nothing (its record names the job in ``reused_from``), unless
  ``settings.force_rerun`` is set.
* **Failure.** A failing node fails the pipeline (its error names the node); the nodes that need
  its outputs never run and are recorded ``Canceled`` with a ``skipped`` reason. Nodes already
  running finish; without ``continue_on_step_failure`` no further node starts (those are
  recorded skipped too), with it independent nodes go on starting.
* **Cancel.** When :attr:`PipelineExecutor.cancel` is set (the runner's SIGTERM), running command
  nodes' process groups get SIGTERM (SIGKILL after a grace period), running AutoML nodes are
  canceled through ``jobs.cancel``, and every unfinished node is recorded ``Canceled``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrusml.client._pipelines import (
    DEFAULT_MAX_PARALLEL_NODES,
    dependencies,
    node_order,
)
from cirrusml.exceptions import CirrusMLError, InvalidSpecError
from cirrusml.tracking import (
    JOB_NAME_TAG,
    JobRecord,
    JobStatus,
    JobStore,
    Tracker,
    now_iso,
    process_start_time,
)
from cirrusml.utils import log_tail, write_json_atomic

__all__ = [
    "DEFAULT_MAX_PARALLEL_NODES",
    "NodeResult",
    "PipelineExecutor",
    "content_digest",
    "render_command",
]

#: How often the executor and its node threads look at their processes and the cancel flag.
_POLL_SECONDS = 0.2
#: How long a command node's process group has after SIGTERM before it gets SIGKILL.
_KILL_GRACE_SECONDS = 5.0
#: How many of a failed command's last log lines its error carries.
_ERROR_TAIL_LINES = 10
#: Folders left out of a code folder's digest and working copy.
_IGNORED = ("__pycache__", ".git", ".ipynb_checkpoints")

_BINDING = re.compile(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z_][\w.-]*?)\s*\}\}")
_OPTIONAL_GROUP = re.compile(r"\$\[\[(.*?)\]\]", re.S)


# ---------------------------------------------------------------------------- pure parts


def render_command(command: str, inputs: dict[str, str], outputs: dict[str, str], *,
                   node: str, optional: tuple[str, ...] | list[str] = ()) -> str:
    """``command`` with ``${{inputs.x}}`` and ``${{outputs.y}}`` replaced by the texts given.

    An optional group ``$[[ ... ]]`` is kept (without its brackets) when every input it names is
    in ``inputs``, and dropped otherwise. Raises ``InvalidSpecError`` naming the node for a
    binding to an input or output the node does not have, or to an optional input left unbound
    outside a group.
    """

    def group(match: re.Match[str]) -> str:
        body = match.group(1)
        named = [name for kind, name in _BINDING.findall(body) if kind == "inputs"]
        return body if all(name in inputs for name in named) else ""

    text = _OPTIONAL_GROUP.sub(group, command)

    def binding(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        table = inputs if kind == "inputs" else outputs
        if name in table:
            return table[name]
        if kind == "inputs" and name in optional:
            raise InvalidSpecError(
                f"node '{node}': the command uses ${{{{inputs.{name}}}}}, an optional input "
                "left unbound, outside an optional group; bind the input or write that part "
                f"as $[[ ... ${{{{inputs.{name}}}}} ]].", field=f"jobs.{node}.command")
        raise InvalidSpecError(
            f"node '{node}': the command uses ${{{{{kind}.{name}}}}}, but the node has no "
            f"{kind[:-1]} '{name}'; its {kind} are {', '.join(table) or 'none'}.",
            field=f"jobs.{node}.command")

    return _BINDING.sub(binding, text)


def content_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, or of a folder's file names and contents (``__pycache__``
    and ``.git`` left out): what reuse compares data inputs and code folders by."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    if not path.is_dir():
        raise CirrusMLError(f"'{path}' does not exist.")
    for file in sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part in _IGNORED for part in p.relative_to(path).parts)):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(content_digest(file).encode() + b"\0")
    return digest.hexdigest()


def _fingerprint(parts: dict[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------------- nodes


@dataclass
class NodeResult:
    """How a node ended: its status, error, outputs (name → folder) and fingerprint (what the
    nodes downstream of it fold into theirs)."""

    status: JobStatus
    error: str | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    fingerprint: str | None = None


@dataclass
class _Input:
    """A node input resolved: ``text`` for the command line, ``identity`` for reuse."""

    kind: str
    text: str
    identity: Any
    type: str | None = None
    path: str | None = None


class PipelineExecutor:
    """Runs pipeline ``name``'s plan; :meth:`run` returns its final status and error.

    ``cancel`` is the flag that stops it (set by the runner's SIGTERM handler). ``log`` is the
    pipeline's log, which gets a line when each node starts and ends.
    """

    def __init__(self, store: JobStore, name: str, plan: dict[str, Any], log: logging.Logger,
                 cancel: threading.Event | None = None) -> None:
        self.store = store
        self.name = name
        self.plan = plan
        self.log = log
        self.cancel = cancel or threading.Event()
        settings = plan.get("settings") or {}
        self.force_rerun = bool(settings.get("force_rerun"))
        self.continue_on_step_failure = bool(settings.get("continue_on_step_failure"))
        self.max_parallel = max(1, int(settings.get("max_parallel_nodes")
                                       or DEFAULT_MAX_PARALLEL_NODES))
        record = store.read(name)
        self.record = record
        self.child_names: dict[str, str] = dict(record.nodes) or {
            node: f"{name}-{node}" for node in plan["jobs"]}
        self.results: dict[str, NodeResult] = {}
        self._jobs: Any = None
        self._jobs_lock = threading.Lock()

    # --------------------------------------------------------------------------- the loop

    def run(self) -> tuple[JobStatus, str | None]:
        """Run the nodes; returns ``(status, error)`` for the pipeline's record."""
        order = node_order(self.plan)
        deps = dependencies(self.plan)
        state: dict[str, str] = {node: "pending" for node in order}
        failed: list[str] = []
        running: dict[Future[NodeResult], str] = {}
        self.log.info("Pipeline %s: %d node(s), at most %d at a time%s.", self.name, len(order),
                      self.max_parallel, "; force_rerun" if self.force_rerun else "")
        with ThreadPoolExecutor(max_workers=self.max_parallel,
                                thread_name_prefix="pipeline-node") as pool:
            while True:
                if self.cancel.is_set():
                    break
                for node in order:  # nodes whose upstream did not complete never run
                    if state[node] != "pending":
                        continue
                    blocked = [u for u in deps[node] if state.get(u) in ("failed", "skipped")]
                    if blocked:
                        why = ("failed" if state[blocked[0]] == "failed" else "did not run")
                        self._skip(node, f"node '{blocked[0]}', whose output it takes, {why}")
                        state[node] = "skipped"
                starting = not failed or self.continue_on_step_failure
                for node in order:
                    if not starting or len(running) >= self.max_parallel:
                        break
                    if state[node] == "pending" and all(state.get(u) == "completed"
                                                         for u in deps[node]):
                        state[node] = "running"
                        self.log.info("Node %s (%s) started: job %s", node,
                                      self.plan["jobs"][node]["type"], self.child_names[node])
                        running[pool.submit(self._run_node, node)] = node
                if not running:
                    break
                done, _ = wait(list(running), timeout=_POLL_SECONDS,
                               return_when=FIRST_COMPLETED)
                for future in done:
                    node = running.pop(future)
                    result = self._result_of(node, future)
                    self.results[node] = result
                    if result.status is JobStatus.COMPLETED:
                        state[node] = "completed"
                    elif result.status is JobStatus.CANCELED and not self.cancel.is_set():
                        state[node] = "failed"
                        failed.append(node)
                    else:
                        state[node] = "failed" if result.status is JobStatus.FAILED \
                            else "canceled"
                        if result.status is JobStatus.FAILED:
                            failed.append(node)
                    self.log.info("Node %s %s%s", node, str(result.status).lower(),
                                  f": {result.error}" if result.error else "")
            if self.cancel.is_set():
                self.log.warning("Canceling: stopping %d running node(s).", len(running))
                for future, node in running.items():
                    result = self._result_of(node, future)
                    self.results[node] = result
                    state[node] = "canceled"
        if self.cancel.is_set():
            for node in order:
                if state[node] == "pending":
                    self._skip(node, "the pipeline was canceled")
            self.log.warning("Canceled.")
            return JobStatus.CANCELED, None
        for node in order:
            if state[node] == "pending":
                self._skip(node, f"node '{failed[0]}' failed and continue_on_step_failure is "
                           "false")
        if failed:
            first = failed[0]
            error = self.results[first].error or "see its log"
            more = f" ({len(failed) - 1} other node(s) failed too)" if len(failed) > 1 else ""
            message = (f"node '{first}' (job {self.child_names[first]}) failed: {error}"
                       f"{more}")
            return JobStatus.FAILED, message
        return JobStatus.COMPLETED, None

    def _result_of(self, node: str, future: Future[NodeResult]) -> NodeResult:
        try:
            return future.result()
        except BaseException as err:  # noqa: BLE001 - a node's internal error fails the node
            message = f"internal error: {type(err).__name__}: {err}"
            self.log.error("Node %s: %s", node, message)
            with contextlib.suppress(Exception):
                self.store.transition(self.child_names[node], JobStatus.FAILED, error=message)
            return NodeResult(JobStatus.FAILED, error=message)

    def _run_node(self, node: str) -> NodeResult:
        spec = self.plan["jobs"][node]
        if spec["type"] == "automl":
            return self._run_automl(node, spec)
        return self._run_command(node, spec)

    # ----------------------------------------------------------------------- child records

    def _child_record(self, node: str, status: JobStatus, *, type: str = "command",
                      **fields: Any) -> JobRecord:
        name = self.child_names[node]
        record = JobRecord(
            name=name, type=type, status=status, created=now_iso(),
            experiment_name=self.record.experiment_name, display_name=node,
            compute=self.record.compute, tracking_uri=self.record.tracking_uri,
            parent_job_name=self.name, node_name=node, **fields)
        self.store.create(name, record)
        return record

    def _skip(self, node: str, reason: str) -> None:
        self.log.info("Node %s skipped: %s", node, reason)
        if self.store.workspace.has_job(self.child_names[node]):
            self.store.transition(self.child_names[node], JobStatus.CANCELED, skipped=reason)
            return
        self._child_record(node, JobStatus.CANCELED, type=self.plan["jobs"][node]["type"],
                           skipped=reason, ended=now_iso())

    # ------------------------------------------------------------------------------ inputs

    def _resolve(self, node: str, input_name: str, value: Any) -> _Input:
        where = f"node '{node}', input '{input_name}'"
        kind = value.get("kind")
        if kind == "parent":
            parent = (self.plan.get("inputs") or {}).get(value.get("input"))
            if parent is None:
                raise InvalidSpecError(f"{where}: the pipeline has no input "
                                       f"'{value.get('input')}'.")
            return self._resolve(node, input_name, parent)
        if kind == "literal":
            literal = value.get("value")
            return _Input("literal", str(literal), ["literal", literal])
        if kind == "data":
            path = str(value["path"])
            if not Path(path).exists():
                raise CirrusMLError(f"{where}: '{path}' does not exist; check the path.")
            return _Input("data", shlex.quote(path), ["data", content_digest(path)],
                          type=value.get("type"), path=path)
        if kind == "node":
            upstream, output = str(value["node"]), str(value["output"])
            result = self.results.get(upstream)
            if result is None or output not in result.outputs:
                raise CirrusMLError(f"{where}: node '{upstream}' made no output '{output}'.")
            path = str(result.outputs[output])
            declared = (self.plan["jobs"][upstream].get("outputs") or {}).get(output) or {}
            kind_of = value.get("type") or declared.get("type") or (
                "mlflow_model" if output == "best_model" else "uri_folder")
            return _Input("node", shlex.quote(path), ["node", result.fingerprint, output],
                          type=kind_of, path=path)
        raise InvalidSpecError(f"{where}: {value!r} is not a bound value.")

    # ---------------------------------------------------------------------- command nodes

    def _run_command(self, node: str, spec: dict[str, Any]) -> NodeResult:
        child = self.child_names[node]
        try:
            inputs = {k: self._resolve(node, k, v) for k, v in (spec.get("inputs") or {}).items()}
            code = spec.get("code")
            if code is not None and not Path(code).is_dir():
                raise CirrusMLError(
                    f"node '{node}': its code folder '{code}' does not exist; create it or fix "
                    "'code:' in the node's component.")
            fingerprint = self._command_fingerprint(spec, inputs)
        except CirrusMLError as err:
            self._child_record(node, JobStatus.FAILED, error=str(err), started=now_iso(),
                               ended=now_iso())
            return NodeResult(JobStatus.FAILED, error=str(err))
        outputs = list((spec.get("outputs") or {}))
        if spec.get("is_deterministic", True) and not self.force_rerun:
            earlier = self.store.reusable(fingerprint)
            if earlier is not None:
                return self._reuse(node, spec, earlier, fingerprint, outputs)
        own_fingerprint = fingerprint if spec.get("is_deterministic", True) else \
            _fingerprint({"job": child})
        self._child_record(node, JobStatus.RUNNING, started=now_iso(), pid=os.getpid(),
                           pid_started=process_start_time(os.getpid()),
                           fingerprint=own_fingerprint)
        layout = self.store.layout(child)
        try:
            if layout.code_dir.exists():
                shutil.rmtree(layout.code_dir)
            if code is not None:
                shutil.copytree(code, layout.code_dir,
                                ignore=shutil.ignore_patterns(*_IGNORED))
            else:
                layout.code_dir.mkdir(parents=True)
            output_paths = {}
            for output in outputs:
                folder = layout.output(output)
                folder.mkdir(parents=True, exist_ok=True)
                output_paths[output] = folder
            command = render_command(
                str(spec["command"]), {k: v.text for k, v in inputs.items()},
                {k: shlex.quote(str(v)) for k, v in output_paths.items()}, node=node,
                optional=tuple(spec.get("optional_inputs") or ()))
        except (CirrusMLError, OSError) as err:
            self.store.transition(child, JobStatus.FAILED, error=str(err))
            return NodeResult(JobStatus.FAILED, error=str(err))
        write_json_atomic(layout.node_spec, {
            "node": node, "command": command, "command_template": spec.get("command"),
            "code": code, "working_directory": str(layout.code_dir),
            "environment": spec.get("environment"),
            "environment_variables": spec.get("environment_variables") or {},
            "inputs": {k: {"kind": v.kind, "value": v.path if v.path else v.text,
                           "type": v.type} for k, v in inputs.items()},
            "outputs": {k: {"type": (spec["outputs"][k] or {}).get("type", "uri_folder"),
                            "path": str(p)} for k, p in output_paths.items()},
            "component": spec.get("component"), "fingerprint": own_fingerprint})
        run_id = self._open_run(child, node)
        status, error, exit_code = self._execute(node, child, spec, command, layout,
                                                 run_id=run_id)
        self._close_run(run_id, status)
        self.store.transition(child, status, error=error, exit_code=exit_code,
                              process_pid=None)
        if status is JobStatus.COMPLETED and spec.get("is_deterministic", True):
            self.store.remember_reusable(own_fingerprint, child, outputs)
        return NodeResult(status, error=error, outputs=dict(output_paths),
                          fingerprint=own_fingerprint)

    def _command_fingerprint(self, spec: dict[str, Any], inputs: dict[str, _Input]) -> str:
        code = spec.get("code")
        return _fingerprint({
            "code": content_digest(code) if code else None,
            "command": spec.get("command"), "environment": spec.get("environment"),
            "environment_variables": spec.get("environment_variables") or {},
            "inputs": {k: v.identity for k, v in inputs.items()},
            "outputs": sorted((spec.get("outputs") or {})),
        })

    def _reuse(self, node: str, spec: dict[str, Any], earlier: JobRecord, fingerprint: str,
               outputs: list[str]) -> NodeResult:
        origin = earlier.reused_from or earlier.name
        child = self.child_names[node]
        self._child_record(node, JobStatus.COMPLETED, started=now_iso(), ended=now_iso(),
                           fingerprint=fingerprint, reused_from=origin)
        origin_spec = self.store.node_spec(origin)
        paths = {o: self.store.output_path(origin, o) for o in outputs}
        write_json_atomic(self.store.layout(child).node_spec, {
            **origin_spec, "node": node, "reused_from": origin,
            "outputs": {o: {"type": (spec["outputs"][o] or {}).get("type", "uri_folder"),
                            "path": str(p)} for o, p in paths.items()}})
        with open(self.store.layout(child).log, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} INFO    Reused the outputs of job {origin}: "
                     "its code, command, environment and inputs are the same (nothing ran; "
                     "set settings.force_rerun to run it again).\n")
        self.log.info("Node %s reuses the outputs of job %s", node, origin)
        return NodeResult(JobStatus.COMPLETED, outputs=paths, fingerprint=fingerprint)

    def _tracker(self) -> Tracker:
        ws = self.store.workspace
        return Tracker(self.record.tracking_uri or ws.tracking_uri, ws.artifacts_dir)

    def _open_run(self, child: str, node: str) -> str | None:
        """The MLflow run of a command node (named after its job), which the script's
        ``mlflow.log_*`` calls land in through ``MLFLOW_RUN_ID``, as on Azure's compute; ``None``
        (and a warning) when the store cannot be written, and the command runs anyway."""
        try:
            tracker = self._tracker()
            experiment = tracker.experiment_id(self.record.experiment_name or "Default")
            run_id = tracker.start_run(experiment, child, tags={
                JOB_NAME_TAG: child, "cirrus.pipeline": self.name, "cirrus.node": node})
        except Exception as err:  # noqa: BLE001 - the node runs without a run of its own
            self.log.warning("Node %s: no MLflow run of its own (%s: %s).", node,
                             type(err).__name__, err)
            return None
        self.store.update(child, mlflow_run_id=run_id)
        return run_id

    def _close_run(self, run_id: str | None, status: JobStatus) -> None:
        if run_id is None:
            return
        with contextlib.suppress(Exception):  # the script may have ended the run itself
            self._tracker().end_run(run_id, status.mlflow_status)

    def _environment(self, spec: dict[str, Any], run_id: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (spec.get("environment_variables") or {}).items()})
        python_bin = str(Path(sys.executable).parent)
        env["PATH"] = python_bin + os.pathsep + env.get("PATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        env["MLFLOW_TRACKING_URI"] = self.record.tracking_uri or \
            self.store.workspace.tracking_uri
        env["MLFLOW_EXPERIMENT_NAME"] = self.record.experiment_name or "Default"
        env["CIRRUS_WORKSPACE"] = str(self.store.workspace.root)
        env.pop("MLFLOW_RUN_ID", None)
        if run_id is not None:
            env["MLFLOW_RUN_ID"] = run_id
        return env

    def _execute(self, node: str, child: str, spec: dict[str, Any], command: str,
                 layout: Any, run_id: str | None = None
                 ) -> tuple[JobStatus, str | None, int | None]:
        """Run the command; returns (status, error, exit code)."""
        stamp = time.strftime("%H:%M:%S")
        environment = spec.get("environment")
        with open(layout.log, "a", encoding="utf-8") as fh:
            fh.write(f"{stamp} INFO    Command node {node} of pipeline {self.name}\n")
            fh.write(f"{stamp} INFO    Working copy: {layout.code_dir}\n")
            if environment:
                fh.write(f"{stamp} WARNING Environment {_environment_name(environment)} is "
                         f"recorded, not built: the command runs in this Python environment "
                         f"({sys.executable}).\n")
            fh.write(f"{stamp} INFO    Command: {command}\n")
        log = open(layout.log, "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", command], cwd=layout.code_dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env=self._environment(spec, run_id))
        except OSError as err:
            return JobStatus.FAILED, f"could not start the command: {err}", None
        finally:
            log.close()
        self.store.update(child, process_pid=proc.pid)
        canceled = False
        while proc.poll() is None:
            if not canceled and (self.cancel.is_set()
                                 or self.store.read(child).cancel_requested):
                canceled = True
                _stop_group(proc)
                break
            time.sleep(_POLL_SECONDS)
        code = proc.wait()
        if canceled or self.store.read(child).cancel_requested:
            return JobStatus.CANCELED, None, code
        if code != 0:
            tail = log_tail(layout.log, _ERROR_TAIL_LINES)
            return (JobStatus.FAILED,
                    f"the command exited with code {code}. Last lines of its log "
                    f"({layout.log}):\n{tail}", code)
        return JobStatus.COMPLETED, None, code

    # ----------------------------------------------------------------------- AutoML nodes

    def _operations(self) -> Any:
        with self._jobs_lock:
            if self._jobs is None:
                from cirrusml.client._jobs import JobOperations

                self._jobs = JobOperations(self.store.workspace)
            return self._jobs

    def _run_automl(self, node: str, spec: dict[str, Any]) -> NodeResult:
        from cirrusml.spec._yaml import job_from_dict

        child = self.child_names[node]
        try:
            data: dict[str, Any] = {**spec["job"], "type": "automl"}
            data.pop("outputs", None)
            for key, value in (spec.get("inputs") or {}).items():
                resolved = self._resolve(node, key, value)
                if resolved.path is None:
                    raise InvalidSpecError(f"node '{node}': input '{key}' of an AutoML node is "
                                           "data (an MLTable folder or a file), not a literal.")
                data[key] = {"type": resolved.type or "mltable", "path": resolved.path}
            job = job_from_dict(data, base_path=self.store.layout(self.name).root,
                                source=f"node '{node}'")
            job.name = child
            job.experiment_name = self.record.experiment_name
            job.display_name = job.display_name or node
            jobs = self._operations()
            jobs.create_or_update(job, parent_job_name=self.name, node_name=node)
        except CirrusMLError as err:
            if not self.store.workspace.has_job(child):
                self._child_record(node, JobStatus.FAILED, type="automl", error=str(err),
                                   started=now_iso(), ended=now_iso())
            return NodeResult(JobStatus.FAILED, error=str(err))
        canceled = False
        while True:
            record = self.store.refresh(child)
            if record.is_terminal:
                break
            if self.cancel.is_set() and not canceled:
                canceled = True
                jobs.begin_cancel(child).result(timeout=30.0)
                continue
            time.sleep(_POLL_SECONDS * 2)
        fingerprint = _fingerprint({"job": child})
        if record.status is JobStatus.COMPLETED:
            best = self.store.layout(child).best_model
            return NodeResult(JobStatus.COMPLETED, outputs={"best_model": best},
                              fingerprint=fingerprint)
        return NodeResult(record.status, error=record.error, fingerprint=fingerprint)


def _environment_name(environment: Any) -> str:
    if isinstance(environment, dict):
        return repr(environment.get("name") or environment.get("image") or "(inline)")
    return repr(environment)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL if it is still there after the grace."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=_KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    # Children that left the group's leader behind still hold the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
