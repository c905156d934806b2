"""The local execution backend: worker processes, hard timeouts, crashes, data loaded once."""

from __future__ import annotations

import os
import signal
import time

import pytest

from cirrusml.execution import LocalBackend, cached_load, save_for_workers


def _square(x: int) -> int:
    return x * x


def _boom(message: str) -> None:
    raise ValueError(message)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _load_pid(path: str) -> tuple[int, int]:
    """(this worker's pid, the id of the object cached_load returns): equal ids = loaded once."""
    return os.getpid(), id(cached_load(path))


def _drain(backend: LocalBackend, n: int, **kwargs) -> dict:
    out = {}
    while len(out) < n:
        for outcome in backend.wait(0.5, **kwargs):
            out[outcome.key] = outcome
    return out


@pytest.fixture(scope="module")
def _shared_backend():
    with LocalBackend(n_workers=2) as b:
        yield b


@pytest.fixture()
def backend(_shared_backend):
    yield _shared_backend
    _shared_backend.cancel_all()  # each test leaves both workers free


def test_results_and_failures_come_back(backend):
    backend.submit("ok", _square, 7)
    backend.submit("bad", _boom, "no luck")
    out = _drain(backend, 2)
    assert out["ok"].status == "ok" and out["ok"].value == 49
    assert out["bad"].status == "failed" and out["bad"].error_type == "ValueError"
    assert "no luck" in out["bad"].error and "Traceback" in out["bad"].traceback


def test_a_crashed_worker_is_reported_and_replaced(backend):
    backend.submit("crash", _die)
    (outcome,) = _drain(backend, 1).values()
    assert outcome.status == "failed" and "SIGKILL" in outcome.error
    backend.submit("after", _square, 3)
    backend.submit("after2", _square, 4)
    out = _drain(backend, 2)
    assert out["after"].value == 9 and out["after2"].value == 16


def test_a_task_past_its_timeout_is_killed(backend):
    backend.submit("slow", _sleep, 60, timeout=1.0)
    backend.submit("fast", _sleep, 0.1)
    started = time.monotonic()
    out = _drain(backend, 2)
    assert out["slow"].status == "timeout" and out["fast"].status == "ok"
    assert time.monotonic() - started < 30  # the 60 s task did not run to its end
    assert not os.path.exists(f"/proc/{out['slow'].worker_pid}/status") or \
        "zombie" in open(f"/proc/{out['slow'].worker_pid}/status").read().lower()
    assert backend.free_slots == 2  # the killed worker was replaced


def test_hard_deadline_stops_everything(backend):
    backend.submit("a", _sleep, 60)
    out = _drain(backend, 1, hard_deadline=time.monotonic() + 1.0)
    assert out["a"].status == "timeout"


def test_cancel_all(backend):
    backend.submit("a", _sleep, 60)
    backend.submit("b", _sleep, 60)
    canceled = backend.cancel_all()
    assert sorted(o.key for o in canceled) == ["a", "b"]
    assert all(o.status == "canceled" for o in canceled)
    assert backend.running == []


def test_data_reaches_each_worker_once(tmp_path, backend):
    path = save_for_workers({"rows": list(range(1000))}, tmp_path / "data.pkl")
    seen: dict[int, set[int]] = {}
    for round_ in range(3):
        for i in range(2):
            backend.submit((round_, i), _load_pid, path)
        for outcome in _drain(backend, 2).values():
            pid, obj = outcome.value
            seen.setdefault(pid, set()).add(obj)
    assert len(seen) == 2
    assert all(len(ids) == 1 for ids in seen.values())  # one load per worker, reused after


def test_no_free_worker_is_an_error(backend):
    backend.submit("a", _sleep, 5)
    backend.submit("b", _sleep, 5)
    with pytest.raises(RuntimeError, match="no free worker"):
        backend.submit("c", _sleep, 1)
    backend.cancel_all()


def _label_all(fn, args):
    return "task"


def test_the_fault_wrapper_makes_labelled_tasks_raise_or_kill_their_worker(backend):
    from cirrusml.execution import FaultPlan, FaultyBackend

    faulty = FaultyBackend(backend, FaultPlan(crashes="task:raise"), _label_all)
    faulty.submit("a", _square, 3)
    outcome = _drain(faulty, 1)["a"]
    assert outcome.status == "failed" and "asked task to fail" in outcome.error
    faulty = FaultyBackend(backend, FaultPlan(crashes="task"), _label_all)
    faulty.submit("b", _square, 3)
    outcome = _drain(faulty, 1)["b"]
    assert outcome.status == "failed" and "SIGKILL" in outcome.error
    # Unlabelled tasks run untouched.
    faulty = FaultyBackend(backend, FaultPlan(crashes="task"), lambda fn, args: None)
    faulty.submit("c", _square, 3)
    outcome = _drain(faulty, 1)["c"]
    assert outcome.ok and outcome.value == 9


def test_a_second_backend_closing_leaves_the_first_working(backend):
    # The fork server is shared: closing one backend must not stop it under another.
    with LocalBackend(n_workers=1) as other:
        other.submit("x", _square, 2)
        assert _drain(other, 1)["x"].value == 4
    backend.submit("y", _square, 5)
    assert _drain(backend, 1)["y"].value == 25


class _Held:
    """A result whose worker-side copy can be watched after it was sent back."""


_WATCH: list = []


def _make_held() -> _Held:
    import weakref

    held = _Held()
    _WATCH.append(weakref.ref(held))
    return held


def _held_is_gone() -> bool:
    return bool(_WATCH) and all(ref() is None for ref in _WATCH)


def _imported(name: str) -> bool:
    import sys

    return name in sys.modules


def test_an_idle_worker_holds_no_reference_to_its_last_result():
    # One worker: the second task runs where the first one's result was made.
    with LocalBackend(n_workers=1) as b:
        b.submit("make", _make_held)
        assert isinstance(_drain(b, 1)["make"].value, _Held)
        b.submit("gone", _held_is_gone)
        assert _drain(b, 1)["gone"].value is True


def test_workers_are_forked_warm_from_a_server_that_imported_the_trial_module(backend):
    # The server imports the learner libraries once and the workers share its pages
    # (copy-on-write): less memory in all than each worker importing them for itself.
    backend.submit("trial", _imported, "cirrusml.engine._trial")
    assert _drain(backend, 1)["trial"].value is True
    from multiprocessing import forkserver

    pid = forkserver._forkserver._forkserver_pid
    assert pid is not None
    with open(f"/proc/{pid}/maps") as fh:
        mapped = fh.read()
    for library in ("sklearn", "scipy", "pandas"):
        assert f"/{library}/" in mapped, library
