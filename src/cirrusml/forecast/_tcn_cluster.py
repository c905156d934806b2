"""TCNForecaster trained data-parallel across a Dask cluster's workers (``training_mode:
distributed``).

The fitting process (a trial's worker process) prepares the fit as for one process: the series'
scales, the covariates' statistics, the network's shape, the base, and the training and held-out
windows as (series, origin) pairs (:meth:`TCNForecaster._prepare`). It then

1. takes a **group** of ``ClusterShare.workers`` of the cluster's workers (the workers sorted
   by address and cut into groups; a Dask lock per group, so that trials running at the same
   time never share a worker);
2. splits the **series** between the group's workers, about as many windows each, and sends
   each worker the history of its series and their windows (``client.scatter``);
3. runs one **rank** per worker: the ranks join one ``torch.distributed`` process group (gloo
   over TCP, the rendezvous on rank 0's worker), build their windows and train replicas of the
   network with ``DistributedDataParallel`` — the same initial weights, gradients averaged every
   step, as many steps in every epoch (a rank with fewer windows goes round its own again), and
   the validation loss summed over every rank's held-out windows — so that every replica stops
   at the same epoch with the same weights;
4. takes rank 0's weights: the fitted forecaster is an ordinary ``TCNForecaster`` that forecasts
   in any process, without the cluster.

Time: every epoch the ranks agree whether the fit's deadline (``ClusterShare.seconds`` after
the fit began: the trial's time limit) has passed, and stop together, so a trial the engine stopped
leaves no training behind for long. A worker lost during a fit fails the fit with a message
naming the worker (the trial is recorded failed); the workers of the ranks still running, which
would wait for their lost peer, are restarted so that the next fit finds them free.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import numpy as np

from cirrusml.exceptions import CirrusMLError
from cirrusml.execution import ClusterShare, cluster_info, connect
from cirrusml.forecast._base import History

__all__ = ["GlooPeers", "train_on_cluster"]

#: Seconds a rank's result may come after the fit's deadline (the last epoch, the weights).
_GRACE_SECONDS = 30.0
#: How often the fitting process looks for a free group of workers, seconds.
_POLL_SECONDS = 0.25
#: One fit at a time per worker process: torch.distributed has one default group per process.
_BUSY = threading.Lock()


@dataclass
class _Part:
    """One rank's share: its series' history, their scales and their windows."""

    history: History
    scales: np.ndarray
    #: The rank's windows, renumbered to its series (a ``_tcn.Samples``).
    samples: Any


class GlooPeers:
    """The ranks of one fit, in a ``torch.distributed`` process group (see
    :class:`~cirrusml.forecast._tcn.Alone` for the one-process peers)."""

    def __init__(self, torch: Any, world: int, deadline: float) -> None:
        self.torch, self.world, self.deadline = torch, int(world), float(deadline)
        self.dist = torch.distributed

    def wrap(self, network: Any) -> Any:
        return self.torch.nn.parallel.DistributedDataParallel(network)

    def most(self, value: int) -> int:
        tensor = self.torch.tensor([int(value)], dtype=self.torch.int64)
        self.dist.all_reduce(tensor, op=self.dist.ReduceOp.MAX)
        return int(tensor.item())

    def total(self, values: list[float]) -> list[float]:
        tensor = self.torch.tensor(values, dtype=self.torch.float64)
        self.dist.all_reduce(tensor, op=self.dist.ReduceOp.SUM)
        return [float(v) for v in tensor.tolist()]

    def check_time(self) -> None:
        if self.most(int(time.time() > self.deadline)):
            raise TimeoutError("the distributed TCNForecaster fit reached its time limit")


def _partition(forecaster: Any, history: History, samples: Any, size: int) -> list[_Part]:
    """The series split into (at most) ``size`` parts of about as many windows each
    (``samples``: the fit's windows, a ``_tcn.Samples``)."""
    n_series = len(history.labels)
    training = np.bincount(samples.codes, minlength=n_series)
    windows = training + np.bincount(samples.held_codes, minlength=n_series)
    # Every part holds training windows: the series with some are dealt first (the largest
    # to the lightest part), then those with held-out windows only.
    used = np.flatnonzero(training > 0)
    size = max(1, min(int(size), len(used)))
    load = np.zeros(size)
    owner = np.full(n_series, -1)
    order = [*used[np.argsort(-windows[used], kind="stable")],
             *np.flatnonzero((training == 0) & (windows > 0))]
    for code in order:
        rank = int(np.argmin(load))
        owner[code] = rank
        load[rank] += windows[code]
    parts = []
    for rank in range(size):
        codes = np.flatnonzero(owner == rank)
        local = np.full(n_series, -1)
        local[codes] = np.arange(len(codes))
        train = owner[samples.codes] == rank
        held = owner[samples.held_codes] == rank
        parts.append(_Part(history.take(codes), forecaster.scales_[codes],
                           type(samples)(local[samples.codes[train]], samples.origins[train],
                                         local[samples.held_codes[held]],
                                         samples.held_origins[held])))
    return parts


def _free_port() -> int:
    """A TCP port free on this worker's host now (for the process group's rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _rank(template: Any, part: _Part, rng: np.random.Generator, rank: int, world: int,
          init_method: str, deadline: float, validate: bool
          ) -> tuple[dict[str, np.ndarray] | None, int, float | None]:
    """One rank of a fit, on a Dask worker, drawing its batches from ``rng``: (rank 0's
    weights, best epochs, validation loss)."""
    try:
        torch = importlib.import_module("torch")
    except ImportError as error:
        raise CirrusMLError('a distributed TCNForecaster needs PyTorch on every Dask worker: '
                            'pip install "cirrusml[dnn]" where the workers run.') from error
    dist = torch.distributed
    if not _BUSY.acquire(timeout=max(0.0, deadline - time.time())):
        raise CirrusMLError("this worker was busy with another TCNForecaster fit until the "
                            "deadline")
    try:
        dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world,
                                timeout=timedelta(seconds=max(30.0, deadline - time.time())))
        try:
            from distributed import get_worker

            # The rank's threads are its worker's.
            template.n_jobs = max(1, int(getattr(get_worker(), "nthreads", 1) or 1))
            peers = GlooPeers(torch, world, deadline)
            network, epochs, loss = template.train_windows(torch, peers, part.history,
                                                           part.scales, part.samples,
                                                           validate, rng)
            state = ({k: v.detach().cpu().numpy().copy()
                      for k, v in network.state_dict().items()} if rank == 0 else None)
            return state, epochs, loss
        finally:
            dist.destroy_process_group()
    finally:
        _BUSY.release()


def _take_group(client: Any, address: str, groups: list[list[str]], deadline: float
                ) -> tuple[Any, list[str]]:
    """A free group of workers, and the Dask lock that keeps it ours."""
    from distributed import Lock

    locks = [Lock(f"cirrusml-tcn:{address}:{','.join(g)}") for g in groups]
    while True:
        for lock, group in zip(locks, groups, strict=True):
            if lock.acquire(blocking=False):
                return lock, group
        if time.time() > deadline:
            raise CirrusMLError(f"no group of {len(groups[0])} free worker(s) of the Dask "
                                f"cluster at {address} before the fit's time limit")
        time.sleep(_POLL_SECONDS)


def _stop(client: Any, futures: list[Any], pending: list[Any], group: list[str]) -> None:
    """Stop the ranks still running: a rank left waiting in a collective for a peer that
    failed would hold its worker (and its process group) until the deadline, so their workers
    are restarted (a Dask cancel cannot stop a running task)."""
    client.cancel(pending)
    workers = [group[futures.index(f)] for f in pending]
    if workers:
        with contextlib.suppress(Exception):
            client.restart_workers(workers, timeout=120, raise_for_error=False)


def _results(client: Any, futures: list[Any], group: list[str], deadline: float) -> list[Any]:
    """The ranks' results; the first failure (or the deadline) stops the rest and raises."""
    from distributed import wait

    pending = list(futures)
    while pending:
        left = deadline + _GRACE_SECONDS - time.time()
        if left <= 0:
            _stop(client, futures, pending, group)
            raise CirrusMLError("the distributed TCNForecaster fit did not end by its time "
                                "limit")
        try:
            done, not_done = wait(pending, timeout=min(left, 5.0), return_when="FIRST_COMPLETED")
        except TimeoutError:
            continue
        pending = list(not_done)
        for future in done:
            if future.status == "error":
                _stop(client, futures, pending, group)
                worker = group[futures.index(future)]
                raise CirrusMLError(f"the distributed TCNForecaster fit failed on worker "
                                    f"{worker}: {future.exception()}")
    return [f.result() for f in futures]


def train_on_cluster(forecaster: Any, history: History, samples: Any, validate: bool,
                     rng: np.random.Generator
                     ) -> tuple[dict[str, np.ndarray], int, float | None, list[str]]:
    """Train ``forecaster``'s network (prepared by ``_prepare``) across its cluster's workers:
    (the weights, the best number of epochs, the validation loss, the workers). Rank 0 goes on
    drawing from ``rng``, as a fit in one process would (on one worker, the two fits are the
    same); the others from streams of their own. See the module's doc."""
    spec: ClusterShare = forecaster.cluster
    deadline = time.time() + float(spec.seconds)
    client = connect(spec.address, what=f"the Dask scheduler at {spec.address}")
    # The client is the current one for the lock and the waits.
    with client, client.as_current():
        addresses = sorted(str(w["address"]) for w in cluster_info(client)["workers"])
        if not addresses:
            raise CirrusMLError(f"the Dask cluster at {spec.address} has no workers")
        parts = _partition(forecaster, history, samples, min(spec.workers, len(addresses)))
        size = len(parts)
        groups = [addresses[i:i + size] for i in range(0, len(addresses) - size + 1, size)]
        lock, group = _take_group(client, spec.address, groups, deadline)
        try:
            port = client.submit(_free_port, workers=[group[0]], allow_other_workers=False,
                                 pure=False).result()
            init_method = f"tcp://{urlparse(group[0]).hostname}:{port}"
            # The ranks get their own series; the forecaster's whole history stays here.
            template = copy.copy(forecaster)
            template.cluster = None
            template.__dict__.pop("history_", None)
            streams = [rng, *(np.random.default_rng([int(forecaster.seed), r])
                              for r in range(1, size))]
            futures = []
            for rank, (worker, part) in enumerate(zip(group, parts, strict=True)):
                [shared] = client.scatter([part], workers=[worker])
                futures.append(client.submit(
                    _rank, template, shared, streams[rank], rank, size, init_method, deadline,
                    validate, workers=[worker], allow_other_workers=False, pure=False))
            results = _results(client, futures, group, deadline)
        finally:
            lock.release()
    state, epochs, loss = results[0]
    assert state is not None
    return state, int(epochs), loss, group
