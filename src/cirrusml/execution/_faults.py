"""Fault injection for tests: a backend wrapper that makes chosen tasks slow or crash.

Lifecycle and failure tests need trials that hang, raise or kill their worker on purpose. That
is a property of where tasks run, not of what a trial does, so it lives here, around any
:class:`~cirrusml.execution.Backend`, and the trial function stays free of it.

Two environment variables switch it on (read by :func:`faults_from_env` in the job's runner, so
end-to-end tests can set them for a job they submit):

* ``CIRRUS_DEBUG_TRIAL_SECONDS``: ``"2"`` (every labelled task sleeps 2 s first) or
  ``"LightGBM:30,KNN:1"`` (per label, case-insensitive);
* ``CIRRUS_DEBUG_TRIAL_CRASH``: ``"KNN"`` (the worker process kills itself with SIGKILL, as the
  out-of-memory killer would) or ``"KNN:raise"`` (the task raises ``RuntimeError``).

A task's label comes from the ``label_of(fn, args)`` callable given to the wrapper; tasks it
labels ``None`` (refits, final steps) run untouched.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cirrusml.execution._backend import Backend, TaskOutcome

__all__ = ["DEBUG_CRASH_ENV", "DEBUG_DELAY_ENV", "FaultPlan", "FaultyBackend", "faults_from_env"]

DEBUG_DELAY_ENV = "CIRRUS_DEBUG_TRIAL_SECONDS"
DEBUG_CRASH_ENV = "CIRRUS_DEBUG_TRIAL_CRASH"


def _setting(value: str, label: str) -> str | None:
    """The part of ``value`` that applies to ``label``: a bare value applies to every label."""
    if not value:
        return None
    if ":" not in value and "," not in value:
        try:
            float(value)
            return value
        except ValueError:
            pass
    for part in value.split(","):
        name, _, setting = part.partition(":")
        if name.strip().lower() == label.lower():
            return setting.strip() or "1"
    return None


@dataclass(frozen=True)
class FaultPlan:
    """Which labelled tasks sleep first, raise, or kill their worker."""

    delays: str = ""
    crashes: str = ""

    def __bool__(self) -> bool:
        return bool(self.delays or self.crashes)

    def apply(self, label: str) -> None:
        """Run in the worker before the task itself."""
        delay = _setting(self.delays, label)
        if delay:
            time.sleep(float(delay))
        crash = _setting(self.crashes, label)
        if crash == "raise":
            raise RuntimeError(f"{DEBUG_CRASH_ENV} asked {label} to fail")
        if crash:
            os.kill(os.getpid(), signal.SIGKILL)


def faults_from_env(environ: dict[str, str] | None = None) -> FaultPlan:
    env = os.environ if environ is None else environ
    return FaultPlan(env.get(DEBUG_DELAY_ENV, ""), env.get(DEBUG_CRASH_ENV, ""))


def _faulty_call(plan: FaultPlan, label: str, fn: Callable[..., Any], args: tuple[Any, ...]
                 ) -> Any:
    plan.apply(label)
    return fn(*args)


@dataclass
class FaultyBackend:
    """``inner`` with :class:`FaultPlan` faults injected into the tasks ``label_of`` labels."""

    inner: Backend
    plan: FaultPlan
    label_of: Callable[[Callable[..., Any], tuple[Any, ...]], str | None]

    @property
    def n_workers(self) -> int:
        return self.inner.n_workers

    @property
    def free_slots(self) -> int:
        return self.inner.free_slots

    @property
    def running(self) -> list[Any]:
        return self.inner.running

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any,
               timeout: float | None = None) -> None:
        label = self.label_of(fn, args)
        if label is None:
            self.inner.submit(key, fn, *args, timeout=timeout)
        else:
            self.inner.submit(key, _faulty_call, self.plan, label, fn, args, timeout=timeout)

    def wait(self, timeout: float | None = None, *, hard_deadline: float | None = None
             ) -> list[TaskOutcome]:
        return self.inner.wait(timeout, hard_deadline=hard_deadline)

    def cancel(self, key: Any) -> TaskOutcome | None:
        return self.inner.cancel(key)

    def cancel_all(self) -> list[TaskOutcome]:
        return self.inner.cancel_all()

    def close(self) -> None:
        self.inner.close()
