"""Tasks on a Dask cluster (a :class:`~cirrusml.execution.Backend`), and the local clusters a
workspace starts for its ``--local`` computes.

The engine's tasks are submitted unchanged (``client.submit(fn, *args, pure=False)``), each
wrapped so that it reports its own failure, traceback and worker pid. Arguments that pickle to
more than :data:`SCATTER_BYTES` are scattered to the cluster once and the same future is passed
to every later task that gets the same object.

A task past its limit is cancelled and the worker running it is restarted through its nanny, so
it stops using CPU; it is reported ``timeout``. A task whose worker is lost mid-task is reported
``failed`` (``WorkerDied``): the clusters this module starts set the scheduler's
``allowed-failures`` to 0, so the task is never run a second time; on other clusters a task the
scheduler marked suspicious is cancelled and reported the same way. A scheduler that cannot be
reached raises :class:`~cirrusml.exceptions.CirrusMLError`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cirrusml.exceptions import CirrusMLError
from cirrusml.execution._backend import TaskOutcome, TaskStatus

__all__ = ["DaskBackend", "SCATTER_BYTES", "cluster_info", "connect", "serve_local_cluster"]

#: Arguments bigger than this (pickled) are scattered to the cluster once per object.
SCATTER_BYTES = 1_000_000
#: How long a scheduler has to answer when connecting.
CONNECT_SECONDS = 5.0
_POLL_SECONDS = 0.2
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _quiet_dask_logs() -> None:
    for name in ("distributed", "distributed.worker", "distributed.nanny",
                 "distributed.scheduler", "distributed.core", "distributed.client",
                 "distributed.comm", "distributed.batched"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def connect(address: str, timeout: float = CONNECT_SECONDS, *, what: str | None = None) -> Any:
    """A ``distributed.Client`` on ``address``; a clear error when it does not answer in time."""
    from distributed import Client

    _quiet_dask_logs()
    label = what or f"the Dask scheduler at {address}"
    try:
        return Client(  # type: ignore[no-untyped-call]
            address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise CirrusMLError(
            f"{label} does not answer at {address} within {timeout:g} s ({type(err).__name__}: "
            f"{err}). Start the scheduler (`dask scheduler`) or fix the address "
            "(tcp://HOST:PORT).") from None


@dataclass(frozen=True)
class ClusterShare:
    """A share of a Dask cluster one fit may train across (``training_mode: distributed``, for
    learners whose fits spread their own data: ``Learner.on_cluster``): ``workers`` of the
    workers of the scheduler at ``address``, for at most ``seconds``."""

    address: str
    workers: int = 2
    seconds: float = 3600.0


def cluster_info(client: Any) -> dict[str, Any]:
    """The scheduler's address and its workers: threads, memory limit and pid of each."""
    info = client.scheduler_info(n_workers=-1)
    pids: dict[str, int] = {}
    with contextlib.suppress(Exception):
        pids = dict(client.run(os.getpid))
    workers = []
    for address, worker in sorted(info.get("workers", {}).items()):
        workers.append({"address": address, "threads": int(worker.get("nthreads", 0)),
                        "memory_limit": int(worker.get("memory_limit", 0) or 0),
                        "pid": pids.get(address)})
    return {"scheduler": info.get("address"), "workers": workers,
            "threads": sum(w["threads"] for w in workers)}


def _run_task(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Run one task in a worker; its outcome as a tuple (never raises)."""
    for category in (UserWarning, RuntimeWarning, FutureWarning, DeprecationWarning):
        warnings.simplefilter("ignore", category=category)
    start = time.monotonic()
    try:
        value = fn(*args)
        return ("ok", value, None, None, None, time.monotonic() - start, os.getpid())
    except BaseException as err:  # noqa: BLE001 - reported to the runner, never swallowed
        return ("failed", None, f"{type(err).__name__}: {err}", type(err).__name__,
                traceback.format_exc(), time.monotonic() - start, os.getpid())


def _scheduler_view(dask_scheduler: Any, keys: list[str]) -> dict[str, tuple[str | None, int]]:
    """Run on the scheduler: for each key, the worker processing it and its suspicious count."""
    view: dict[str, tuple[str | None, int]] = {}
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is None:
            continue
        worker = ts.processing_on.address if ts.processing_on is not None else None
        view[key] = (worker, int(ts.suspicious))
    return view


class _Task:
    def __init__(self, key: Any, future: Any, timeout: float | None) -> None:
        self.key = key
        self.future = future
        self.started = time.monotonic()
        self.deadline = None if timeout is None else self.started + timeout
        self.worker: str | None = None


class DaskBackend:
    """Runs tasks on the Dask cluster at ``address`` (a :class:`~cirrusml.execution.Backend`).

    At most ``max_tasks`` tasks run at once, capped by the cluster's total worker threads when
    the backend starts. ``name`` names the compute in error messages.
    """

    def __init__(self, address: str, max_tasks: int = 1, *, name: str | None = None,
                 connect_timeout: float = CONNECT_SECONDS,
                 log: logging.Logger | None = None) -> None:
        self.address = address
        #: Each task's end (status, worker pid) is logged here at INFO when given.
        self.log = log
        self.name = name
        what = (f"compute '{name}' (the Dask scheduler at {address})" if name
                else f"the Dask scheduler at {address}")
        self._what = what
        self.client = connect(address, connect_timeout, what=what)
        info = cluster_info(self.client)
        threads = int(info["threads"])
        if threads < 1:
            self.client.close()
            raise CirrusMLError(f"{what} has no workers; start some (`dask worker {address}`).")
        self.cluster_threads = threads
        self._n_workers = max(1, min(int(max_tasks), threads))
        self._tasks: dict[Any, _Task] = {}
        self._scattered: dict[int, tuple[Any, Any]] = {}

    # ------------------------------------------------------------------------------ slots

    @property
    def n_workers(self) -> int:
        return self._n_workers

    @property
    def free_slots(self) -> int:
        return self._n_workers - len(self._tasks)

    @property
    def running(self) -> list[Any]:
        return list(self._tasks)

    # ------------------------------------------------------------------------------ tasks

    def _argument(self, arg: Any) -> Any:
        """``arg``, or the future of its scattered copy when it is big."""
        if arg is None or isinstance(arg, (str, int, float, bool, bytes)):
            return arg
        known = self._scattered.get(id(arg))
        if known is not None and known[0] is arg:
            return known[1]
        try:
            size = len(pickle.dumps(arg, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - let Dask pickle (and report) it
            return arg
        if size <= SCATTER_BYTES:
            return arg
        future = self.client.scatter(arg, hash=False)
        self._scattered[id(arg)] = (arg, future)
        return future

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any,
               timeout: float | None = None) -> None:
        """Start ``fn(*args)`` on the cluster. ``timeout`` is in seconds."""
        if self.free_slots <= 0:
            raise RuntimeError("no free slot; wait for a result before submitting more")
        if key in self._tasks:
            raise RuntimeError(f"task {key!r} is already running")
        args = tuple(self._argument(arg) for arg in args)
        try:
            future = self.client.submit(_run_task, fn, args, pure=False)
        except (OSError, TimeoutError) as err:
            raise self._gone(err) from None
        self._tasks[key] = _Task(key, future, timeout)

    def _gone(self, err: BaseException) -> CirrusMLError:
        return CirrusMLError(f"{self._what} went away during the job ({type(err).__name__}: "
                             f"{err}); the trials recorded so far are kept.")

    def _view(self) -> dict[str, tuple[str | None, int]]:
        keys = [task.future.key for task in self._tasks.values()]
        if not keys:
            return {}
        try:
            view = self.client.run_on_scheduler(_scheduler_view, keys=keys)
        except (OSError, TimeoutError) as err:
            raise self._gone(err) from None
        return dict(view)

    def wait(self, timeout: float | None = None, *, hard_deadline: float | None = None
             ) -> list[TaskOutcome]:
        """Wait up to ``timeout`` seconds for tasks to end; returns those that ended."""
        if not self._tasks:
            return []
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            outcomes = self._poll(hard_deadline)
            if outcomes:
                return outcomes
            now = time.monotonic()
            if end is not None and now >= end:
                return []
            limits = [t.deadline for t in self._tasks.values() if t.deadline is not None]
            if hard_deadline is not None:
                limits.append(hard_deadline)
            pause = _POLL_SECONDS
            if end is not None:
                pause = min(pause, end - now)
            if limits:
                pause = min(pause, max(0.0, min(limits) - now))
            self._sleep(max(0.01, pause))

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if any(t.future.done() for t in self._tasks.values()):
                return
            time.sleep(min(0.02, max(0.0, end - time.monotonic())))

    def _poll(self, hard_deadline: float | None) -> list[TaskOutcome]:
        if self.client.status not in ("running", "connecting"):
            raise self._gone(RuntimeError(f"client {self.client.status}"))
        outcomes: list[TaskOutcome] = []
        view = self._view()
        now = time.monotonic()
        restart: set[str] = set()
        for task in list(self._tasks.values()):
            worker, suspicious = view.get(task.future.key, (None, 0))
            if worker is not None:
                task.worker = worker
            if task.future.done():
                outcomes.append(self._collect(task))
                self._log_end(outcomes[-1], task.worker)
            elif suspicious > 0:
                outcomes.append(self._end(task, TaskStatus.FAILED, "WorkerDied",
                                          "the Dask worker running it was lost"))
                if worker is not None:
                    restart.add(worker)  # the scheduler ran it again: stop that run
            elif (task.deadline is not None and now >= task.deadline) or (
                    hard_deadline is not None and now >= hard_deadline):
                outcomes.append(self._end(task, TaskStatus.TIMEOUT, "TrialTimeoutError",
                                          "stopped at its time limit"))
                if worker is not None:
                    restart.add(worker)
        self._restart(restart)
        return outcomes

    def _log_end(self, outcome: TaskOutcome, worker: str | None) -> None:
        if self.log is not None:
            self.log.info("Dask task %s ended %s on worker %s (pid %s) in %.1f s.", outcome.key,
                          outcome.status, worker or "?", outcome.worker_pid or "?",
                          outcome.seconds)

    def _collect(self, task: _Task) -> TaskOutcome:
        del self._tasks[task.key]
        elapsed = time.monotonic() - task.started
        try:
            status, value, error, error_type, tb, seconds, pid = task.future.result(timeout=30)
        except Exception as err:  # noqa: BLE001 - the worker was lost, or the result was
            name = type(err).__name__
            if name == "KilledWorker":
                reason = f"the Dask worker running it was lost ({err})"
                name = "WorkerDied"
            elif name == "CancelledError":
                raise self._gone(err) from None
            else:
                reason = f"{name}: {err}"
            return TaskOutcome(key=task.key, status=TaskStatus.FAILED, error=reason,
                               error_type=name, seconds=elapsed)
        return TaskOutcome(key=task.key, status=status, value=value, error=error,
                           error_type=error_type, traceback=tb, seconds=seconds, worker_pid=pid)

    def _end(self, task: _Task, status: str, error_type: str, error: str) -> TaskOutcome:
        del self._tasks[task.key]
        with contextlib.suppress(Exception):
            task.future.cancel()
        return TaskOutcome(key=task.key, status=status, error=error, error_type=error_type,
                           seconds=time.monotonic() - task.started)

    def _restart(self, workers: set[str]) -> None:
        """Restart ``workers`` through their nannies, so the tasks they run stop."""
        if not workers:
            return
        with contextlib.suppress(Exception):
            self.client.restart_workers(sorted(workers), timeout=60, raise_for_error=False)

    def cancel(self, key: Any) -> TaskOutcome | None:
        """Stop the task ``key``; its outcome as ``canceled``, or None if it is not running."""
        task = self._tasks.get(key)
        if task is None:
            return None
        worker = self._worker_of(task)
        outcome = self._end(task, TaskStatus.CANCELED, "Canceled", "canceled")
        self._restart({worker} if worker else set())
        return outcome

    def _worker_of(self, task: _Task) -> str | None:
        with contextlib.suppress(CirrusMLError):
            worker, _ = self._view().get(task.future.key, (None, 0))
            if worker is not None:
                return worker
        return task.worker

    def cancel_all(self) -> list[TaskOutcome]:
        """Stop every running task; returns them as ``canceled``."""
        workers: set[str] = set()
        with contextlib.suppress(CirrusMLError):
            workers = {w for w, _ in self._view().values() if w is not None}
        outcomes = [self._end(task, TaskStatus.CANCELED, "Canceled", "canceled")
                    for task in list(self._tasks.values())]
        self._restart(workers)
        return outcomes

    def close(self) -> None:
        """Cancel what still runs and disconnect; the cluster itself keeps running."""
        if self._tasks:
            self.cancel_all()
        for _arg, future in self._scattered.values():
            with contextlib.suppress(Exception):
                future.release()
        self._scattered.clear()
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------- local clusters


def serve_local_cluster(workers: int, threads: int, address_file: str,
                        memory_limit: str = "auto") -> None:
    """Start a ``LocalCluster`` of ``workers`` processes, write its address to
    ``address_file`` and serve until SIGTERM (the workspace's ``--local`` computes)."""
    import dask
    from distributed import LocalCluster

    _quiet_dask_logs()
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # A lost worker fails its task at once instead of running it again elsewhere.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=threads, processes=True,
            dashboard_address=":0", memory_limit=memory_limit, host="127.0.0.1")
        path = Path(address_file)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(cluster.scheduler_address, encoding="utf-8")
        os.replace(tmp, path)
        try:
            while not stop:
                time.sleep(0.2)
        finally:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cirrusml-local-dask-cluster")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--address-file", required=True)
    parser.add_argument("--memory-limit", default="auto")
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    serve_local_cluster(ns.workers, ns.threads, ns.address_file, ns.memory_limit)


if __name__ == "__main__":
    _main()
