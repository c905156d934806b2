"""Local worker processes that run trials, with hard per-trial timeouts.

Each worker is a long-lived process fed one task at a time through a pipe, so data loaded by a
task (see :func:`cirrusml.execution.cached_load`) stays in the worker for the next task. A task
past its deadline has its worker killed and replaced; a worker that dies (a crash, the kernel's
out-of-memory killer) is reported as a failed task and replaced. Nothing here knows what a trial
is: a task is any picklable module-level function and its arguments.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from cirrusml.execution._backend import TaskOutcome, TaskStatus
from cirrusml.utils import release_memory

#: Imported once by the fork server, so that each worker starts warm. The harness of
#: ../shared/bench sums resident memory over processes and counts the server's ~200 MB too; a
#: server importing nothing and workers importing for themselves measured 70 MB less that way
#: on a 2-worker job, but 60 MB *more* in proportional set size (the memory the machine really
#: gives the job: forked workers share the server's pages), and more by both measures from four
#: workers on (benchmarks/README.md, "Memory").
_PRELOAD = ["cirrusml.engine._trial"]


def _worker_main(conn: Connection, env: dict[str, str]) -> None:
    os.environ.update(env)
    # Library warnings (convergence, parallelism fallbacks) would only clutter the job log;
    # a task's failures come back as exceptions.
    for category in (UserWarning, RuntimeWarning, FutureWarning, DeprecationWarning):
        warnings.simplefilter("ignore", category=category)
    # The runner handles Ctrl-C and cancellation; a worker just dies with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        _answer(conn, *message)
        # The task, its arguments and its result go with _answer's frame: an idle worker does
        # not hold the last model it fitted until the next task replaces it, nor the pages the
        # C allocator kept of it.
        del message
        release_memory(collect=False)


def _answer(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Run one task and send its outcome back."""
    start = time.monotonic()
    reply: tuple[str, Any, str | None, str | None, str | None, float]
    try:
        reply = ("ok", fn(*args), None, None, None, time.monotonic() - start)
    except BaseException as err:  # noqa: BLE001 - reported to the runner, never swallowed
        reply = ("failed", None, f"{type(err).__name__}: {err}", type(err).__name__,
                 traceback.format_exc(), time.monotonic() - start)
    try:
        conn.send(reply)
    except Exception as err:  # the value could not be pickled
        conn.send(("failed", None, f"result could not be sent back: {err}",
                   type(err).__name__, traceback.format_exc(), time.monotonic() - start))


def _stop_forkserver() -> None:
    """Stop (and reap) this process's fork server once its workers are gone.

    Its workers' CPU time then reaches this process's own accounts (``RUSAGE_CHILDREN``), as it
    would with directly forked workers, so tools that measure a process tree see all of it. The
    next backend starts a new server.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()


#: The backends of this process that have workers (ids): the fork server outlives all but the
#: last of them.
_LIVE: set[int] = set()


@dataclass
class _Worker:
    process: Any
    conn: Connection
    key: Any = None
    started: float = 0.0
    deadline: float | None = None
    busy: bool = False
    tasks_done: int = 0


@dataclass
class LocalBackend:
    """Runs tasks in ``n_workers`` local processes (a :class:`~cirrusml.execution.Backend`).

    ``threads_per_worker`` is exported as ``OMP_NUM_THREADS`` (and friends) in each worker, so
    numeric libraries never use more cores than the job gave a trial.
    """

    n_workers: int = 1
    threads_per_worker: int = 1
    start_method: str = "forkserver"
    _ctx: Any = field(default=None, repr=False)
    _workers: list[_Worker] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.n_workers = max(1, int(self.n_workers))
        method = self.start_method if self.start_method in mp.get_all_start_methods() else "spawn"
        self._ctx = mp.get_context(method)
        if method == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)

    # ------------------------------------------------------------------------------ workers

    def _env(self) -> dict[str, str]:
        threads = str(max(1, int(self.threads_per_worker)))
        return {name: threads for name in (
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker_main, args=(child, self._env()), daemon=True)
        process.start()
        child.close()
        return _Worker(process=process, conn=parent)

    def start(self) -> None:
        if not self._workers:
            _LIVE.add(id(self))
        while len(self._workers) < self.n_workers:
            self._workers.append(self._spawn())

    def _replace(self, worker: _Worker) -> None:
        self._kill(worker)
        index = self._workers.index(worker)
        self._workers[index] = self._spawn()

    @staticmethod
    def _kill(worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.process.kill()
        with contextlib.suppress(Exception):
            worker.process.join(timeout=5)
        with contextlib.suppress(Exception):
            worker.conn.close()

    # -------------------------------------------------------------------------------- tasks

    @property
    def free_slots(self) -> int:
        self.start()
        return sum(1 for w in self._workers if not w.busy)

    @property
    def running(self) -> list[Any]:
        return [w.key for w in self._workers if w.busy]

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any,
               timeout: float | None = None) -> None:
        """Start ``fn(*args)`` on a free worker. ``timeout`` is in seconds."""
        self.start()
        for worker in self._workers:
            if not worker.busy:
                break
        else:
            raise RuntimeError("no free worker; wait for a result before submitting more")
        if not worker.process.is_alive():
            self._replace(worker)
            worker = next(w for w in self._workers if not w.busy and w.process.is_alive())
        worker.key = key
        worker.started = time.monotonic()
        worker.deadline = None if timeout is None else worker.started + timeout
        worker.busy = True
        worker.conn.send((fn, args))

    def wait(self, timeout: float | None = None, *, hard_deadline: float | None = None
             ) -> list[TaskOutcome]:
        """Wait up to ``timeout`` seconds for tasks to end; returns those that ended.

        A task past its own deadline, or past ``hard_deadline`` (a ``time.monotonic()`` value),
        is killed and reported as ``timeout``.
        """
        busy = [w for w in self._workers if w.busy]
        if not busy:
            return []
        now = time.monotonic()
        limits = [w.deadline for w in busy if w.deadline is not None]
        if hard_deadline is not None:
            limits.append(hard_deadline)
        wait_for = timeout
        if limits:
            until_first = max(0.0, min(limits) - now)
            wait_for = until_first if wait_for is None else min(wait_for, until_first)
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                     timeout=wait_for)
        outcomes: list[TaskOutcome] = []
        now = time.monotonic()
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                outcomes.append(self._collect(worker))
            elif (worker.deadline is not None and now >= worker.deadline) or (
                hard_deadline is not None and now >= hard_deadline
            ):
                outcomes.append(TaskOutcome(
                    key=worker.key, status="timeout", seconds=now - worker.started,
                    error="stopped at its time limit", error_type="TrialTimeoutError",
                    worker_pid=worker.process.pid))
                worker.busy = False
                self._replace(worker)
        return outcomes

    def _collect(self, worker: _Worker) -> TaskOutcome:
        elapsed = time.monotonic() - worker.started
        pid = worker.process.pid
        try:
            if not worker.conn.poll():
                raise EOFError
            status, value, error, error_type, tb, seconds = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=5)
            code = worker.process.exitcode
            reason = f"the worker process ended unexpectedly (exit code {code})"
            if code is not None and code < 0:
                name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
                reason = f"the worker process was killed by {name}"
                if -code == signal.SIGKILL:
                    reason += " (often the out-of-memory killer)"
            worker.busy = False
            self._replace(worker)
            return TaskOutcome(key=worker.key, status="failed", error=reason,
                               error_type="WorkerDied", seconds=elapsed, worker_pid=pid)
        worker.busy = False
        worker.tasks_done += 1
        return TaskOutcome(key=worker.key, status=status, value=value, error=error,
                           error_type=error_type, traceback=tb, seconds=seconds, worker_pid=pid)

    def cancel(self, key: Any) -> TaskOutcome | None:
        """Kill the task ``key``; its outcome as ``canceled``, or None if it is not running."""
        for worker in self._workers:
            if worker.busy and worker.key == key:
                outcome = self._canceled(worker)
                return outcome
        return None

    def _canceled(self, worker: _Worker) -> TaskOutcome:
        outcome = TaskOutcome(key=worker.key, status=TaskStatus.CANCELED,
                              seconds=time.monotonic() - worker.started, error="canceled",
                              error_type="Canceled", worker_pid=worker.process.pid)
        worker.busy = False
        self._replace(worker)
        return outcome

    def cancel_all(self) -> list[TaskOutcome]:
        """Kill every running task; returns them as ``canceled``."""
        return [self._canceled(worker) for worker in list(self._workers) if worker.busy]

    def close(self) -> None:
        """Stop every worker (the :class:`~cirrusml.execution.Backend` name of :meth:`shutdown`)."""
        self.shutdown()

    def shutdown(self) -> None:
        for worker in self._workers:
            if not worker.busy:
                with contextlib.suppress(Exception):
                    worker.conn.send(None)
        deadline = time.monotonic() + 2
        for worker in self._workers:
            if not worker.busy:
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            self._kill(worker)
        self._workers.clear()
        _LIVE.discard(id(self))
        # The fork server is shared by every backend of this process: the last one stops it.
        if self._ctx.get_start_method() == "forkserver" and not _LIVE:
            _stop_forkserver()

    def __enter__(self) -> LocalBackend:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
